"""Approval POST → update on every open queue: 100 websocket clients on one web process.

For each of 40 rounds: alice submits a HIGH action (all clients see its row), then the clock
starts, carol approves it through the API, and each client stops its clock when the row's
removal arrives. The samples are every client's delay in every round (4,000), POST included.

Run for the embedded default (SQLite + the database channel layer) and, when REDIS_URL is set,
for Postgres + Redis (DATABASE_URL must point at Postgres, as `bash bench/run.sh` does).
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    PYTHON,
    ROOT,
    embedded_then_redis,
    free_port,
    manage,
    percentiles,
    report,
)

CLIENTS = int(os.environ.get("BENCH_WS_CLIENTS", "100"))
ROUNDS = 40
HIGH = {"action_type": "file_operation", "parameters": {"operation": "delete", "path": "reports/old.csv"}}


def start_web(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    if os.environ.get("BENCH_WS_SERVER") == "daphne":
        command = [PYTHON, "-m", "daphne", "-v", "0", "-b", "127.0.0.1", "-p", str(port), "actionhub.asgi:application"]
    else:  # what `make run` starts
        command = [PYTHON, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port), "--lifespan", "off"]
        command += ["--no-access-log", "actionhub.asgi:application"]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/api/status", timeout=1)
            return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("web server did not start")


def session_cookie(url: str, username: str, password: str) -> str:
    with httpx.Client(base_url=url) as client:
        client.get("/accounts/login/")
        response = client.post(
            "/accounts/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": client.cookies["csrftoken"]},
        )
        assert response.status_code == 302, response.text[:300]
        return f"sessionid={client.cookies['sessionid']}"


async def run_rounds(url: str, cookie: str, tokens: dict[str, str]) -> list[float]:
    host = url.removeprefix("http://")
    headers = {"Origin": url, "Cookie": cookie}
    sockets = [
        await websockets.connect(f"ws://{host}/ws/approvals/", additional_headers=headers, max_size=None)
        for _ in range(CLIENTS)
    ]
    samples: list[float] = []
    post_ms: list[float] = []
    api = httpx.AsyncClient(base_url=f"{url}/api", timeout=30)

    async def wait_for(socket, pattern: re.Pattern[str]) -> float:
        while True:
            message = await socket.recv()
            if pattern.search(message):
                return time.perf_counter()

    try:
        for round_number in range(ROUNDS):
            created = await api.post("/actions", json=HIGH, headers={"Authorization": f"Bearer {tokens['alice']}"})
            action_id = created.json()["id"]
            shown = re.compile(f'id="action-{action_id}" class="row')
            await asyncio.gather(*(wait_for(socket, shown) for socket in sockets))
            gone = re.compile(f'id="action-{action_id}" hx-swap-oob="delete"')
            waiters = [asyncio.create_task(wait_for(socket, gone)) for socket in sockets]
            started = time.perf_counter()
            response = await api.post(
                f"/actions/{action_id}/approve",
                json={"approved": True},
                headers={"Authorization": f"Bearer {tokens['carol']}"},
            )
            assert response.status_code == 200, response.text
            post_ms.append((time.perf_counter() - started) * 1000)
            arrived = await asyncio.gather(*waiters)
            if round_number >= 2:  # the first rounds warm caches and connections
                samples += [(moment - started) * 1000 for moment in arrived]
        print(f"approval POST alone: p50 {sorted(post_ms)[len(post_ms) // 2]:.1f} ms", file=sys.stderr)
    finally:
        await api.aclose()
        for socket in sockets:
            await socket.close()
    return samples


def measure(label: str, env: dict[str, str]) -> None:
    manage(env, "migrate", "--noinput")
    manage(env, "create_user", "alice")
    manage(env, "create_user", "carol", "--role", "reviewers")
    bob_password = manage(env, "create_user", "bob", "--role", "reviewers").split()[-1]  # "…; password: X"
    tokens = {name: manage(env, "issue_token", name).split()[-1] for name in ("alice", "carol")}
    web, url = start_web(env)
    try:
        cookie = session_cookie(url, "bob", bob_password)
        samples = asyncio.run(run_rounds(url, cookie, tokens))
    finally:
        web.terminate()
        web.wait(timeout=20)
    stats = percentiles(samples)
    report(
        f"approval POST -> update at all {CLIENTS} websocket clients ({label})",
        f"p50 {stats['p50']:.1f} ms, p95 {stats['p95']:.1f} ms, max {stats['max']:.1f} ms",
        "p95 <= 100 ms",
        stats["p95"] <= 100,
    )


def main() -> None:
    embedded_then_redis(measure, database="actionhub_bench_ws")


if __name__ == "__main__":
    main()
