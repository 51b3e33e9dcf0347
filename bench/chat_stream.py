"""LLM server's token → the token at a /ws/chat/ client: the overhead the worker and web add.

A loopback LLM server (Ollama wire) streams a reply one word every 30 ms and notes when each word
leaves; a live web server and worker (what `make run` starts) carry it to a websocket client on
the conversation, which notes when the word arrives. Samples are every word of 20 replies, the
first two replies left out as warm-up. Also reported: the first word of each reply alone.

Run for the embedded default (SQLite + the database channel layer, polled every 20 ms) and, when
REDIS_URL is set, for Postgres + Redis (DATABASE_URL must point at Postgres).
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PYTHON, ROOT, embedded_then_redis, manage, percentiles, report
from bench.ws_fanout import session_cookie, start_web
from tests.llm.fake_llm import FakeLLMServer

ROUNDS = 20
WARM_UP = 2
WORDS = 40
DELAY = 0.03


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _send(client: httpx.Client, path: str, text: str, *, htmx: bool = True) -> httpx.Response:
    """Send as the page does (htmx: the answer carries the new message's fragment)."""
    data = {"text": text, "model": "", "csrfmiddlewaretoken": client.cookies["csrftoken"]}
    headers = {"Referer": str(client.base_url), **({"HX-Request": "true"} if htmx else {})}
    return client.post(path, data=data, headers=headers)


async def _one_reply(socket, action_marker: str, reply_length: int) -> list[tuple[float, int]]:
    """(arrival time, end offset) of each token frame, until the whole reply has arrived."""
    arrivals: list[tuple[float, int]] = []
    end = 0
    while end < reply_length:
        frame = await asyncio.wait_for(socket.recv(), timeout=30)
        now = time.time()
        if not frame.startswith("{"):
            continue
        tokens = json.loads(frame)["tokens"]
        if tokens["action"] != action_marker:
            continue
        end = tokens["offset"] + _utf16(tokens["text"])
        arrivals.append((now, end))
    return arrivals


async def run_rounds(url: str, cookie: str, llm: FakeLLMServer) -> tuple[list[float], list[float]]:
    name, value = cookie.split("=", 1)
    client = httpx.Client(base_url=url, cookies={name: value}, timeout=30, follow_redirects=False)
    client.get("/chat/")
    started = _send(client, "/chat/new/", "Tell me something", htmx=False)
    conversation_path = started.headers["location"]
    conversation_id = conversation_path.strip("/").split("/")[-1]
    headers = {"Origin": url, "Cookie": f"{cookie}; csrftoken={client.cookies['csrftoken']}"}
    host = url.removeprefix("http://")
    samples: list[float] = []
    firsts: list[float] = []
    reply = llm.reply
    async with websockets.connect(
        f"ws://{host}/ws/chat/?conversation={conversation_id}", additional_headers=headers
    ) as socket:
        # The first message (sent above) warms up too; wait for it to finish.
        await _drain_until_done(socket)
        for round_number in range(ROUNDS):
            llm.sent.clear()
            response = await asyncio.to_thread(_send, client, f"{conversation_path}send/", f"Question {round_number}")
            action_id = re.search(r'id="msg-([0-9a-f-]{36})"', response.text).group(1)
            arrivals = await _one_reply(socket, action_id, _utf16(reply))
            await _drain_until_done(socket)
            if round_number < WARM_UP:
                continue
            end = 0
            for index, (sent_at, text) in enumerate(list(llm.sent)):
                end += _utf16(text)
                arrived = next(moment for moment, covered in arrivals if covered >= end)
                samples.append((arrived - sent_at) * 1000)
                if index == 0:
                    firsts.append((arrived - sent_at) * 1000)
    client.close()
    return samples, firsts


async def _drain_until_done(socket) -> None:
    while True:
        frame = await asyncio.wait_for(socket.recv(), timeout=30)
        if 'data-state="done"' in frame or 'data-state="failed"' in frame:
            return


def measure(label: str, env: dict[str, str]) -> None:
    with FakeLLMServer() as llm:
        llm.reply = " ".join(f"word{number}" for number in range(WORDS))
        llm.mode, llm.delay = "slow", DELAY
        env = {**env, "ACTIONHUB_LLM_URL": llm.url, "ACTIONHUB_LLM_API": "ollama"}
        manage(env, "migrate", "--noinput")
        password = manage(env, "create_user", "alice").split()[-1]
        worker = subprocess.Popen([PYTHON, "manage.py", "run_worker", "--interval", "0.05"], cwd=ROOT, env=env)
        web, url = start_web(env)
        try:
            cookie = session_cookie(url, "alice", password)
            samples, firsts = asyncio.run(run_rounds(url, cookie, llm))
        finally:
            for process in (web, worker):
                process.terminate()
                process.wait(timeout=20)
    stats, first = percentiles(samples), percentiles(firsts)
    print(f"first token of a reply ({label}): p50 {first['p50']:.1f} ms, p95 {first['p95']:.1f} ms", file=sys.stderr)
    report(
        f"LLM server's token -> token at a /ws/chat/ client, {len(samples)} tokens ({label})",
        f"p50 {stats['p50']:.1f} ms, p95 {stats['p95']:.1f} ms, max {stats['max']:.1f} ms",
        "p50 <= 20 ms",
        stats["p50"] <= 20,
    )


def main() -> None:
    embedded_then_redis(measure, database="actionhub_bench_chat")


if __name__ == "__main__":
    main()
