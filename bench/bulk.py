"""Bulk decision of 200 actions in one POST /api/actions/decide, with reviewers watching the queue.

For each of 5 rounds: alice submits 200 HIGH actions through the API, 20 reviewers open the queue
(websocket clients on the one web process); then the clock starts, bob approves
all 200 in one request (each with the payload hash he saw), and each client stops its clock once
every row's removal has arrived. Reported: the request's wall time, the time until every client
shows the result, and how many messages each client received for the batch (coalescing: 1).

Run for the embedded default (SQLite + the database channel layer) and, with DATABASE_URL on
Postgres (as `bash bench/run.sh` does), for Postgres (+ Redis when REDIS_URL is set). No worker
runs: the figure is the decision, not the execution of 200 file deletions.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_database_url, environment, manage, percentiles, recreate_database, report
from bench.ws_fanout import session_cookie, start_web

BATCH = 200
ROUNDS = 5
CLIENTS = int(os.environ.get("BENCH_BULK_CLIENTS", "20"))
GONE = re.compile(r'id="action-([0-9a-f-]{36})" hx-swap-oob="delete"')


def delete(round_number: int, index: int) -> dict:
    path = f"reports/{round_number}/{index}.csv"
    return {"action_type": "file_operation", "parameters": {"operation": "delete", "path": path}}


async def drain_until(socket, pattern: re.Pattern[str], ids: set[str]) -> tuple[float, int]:
    """Read until every id in `ids` matched `pattern`; the moment it happened and the messages read."""
    waiting = set(ids)
    messages = 0
    while waiting:
        message = await socket.recv()
        messages += 1
        waiting.difference_update(pattern.findall(message))
    return time.perf_counter(), messages


async def open_queues(url: str, cookie: str) -> list:
    host = url.removeprefix("http://")
    headers = {"Origin": url, "Cookie": cookie}
    return [
        await websockets.connect(f"ws://{host}/ws/approvals/", additional_headers=headers, max_size=None)
        for _ in range(CLIENTS)
    ]


async def run_rounds(url: str, cookie: str, tokens: dict[str, str]) -> dict[str, list[float]]:
    api = httpx.AsyncClient(base_url=f"{url}/api", timeout=60, limits=httpx.Limits(max_connections=8))
    alice = {"Authorization": f"Bearer {tokens['alice']}"}
    bob = {"Authorization": f"Bearer {tokens['bob']}"}
    measured: dict[str, list[float]] = {"post": [], "all_clients": [], "messages": []}
    try:
        gate = asyncio.Semaphore(8)
        for round_number in range(ROUNDS):

            async def submit(index: int, round_number: int = round_number) -> dict:
                async with gate:
                    response = await api.post("/actions", json=delete(round_number, index), headers=alice)
                    assert response.status_code == 201, response.text
                    return response.json()

            created = await asyncio.gather(*(submit(index) for index in range(BATCH)))
            ids = {action["id"] for action in created}
            # Opened after the submissions: the clients hold the queue the bulk decision empties.
            await asyncio.sleep(0.5)
            sockets = await open_queues(url, cookie)
            waiters = [asyncio.create_task(drain_until(socket, GONE, ids)) for socket in sockets]
            body = {
                "decisions": [
                    {"id": action["id"], "approved": True, "payload_hash": action["payload_hash"]} for action in created
                ]
            }
            started = time.perf_counter()
            response = await api.post("/actions/decide", json=body, headers=bob)
            post_done = time.perf_counter()
            assert response.status_code == 200, response.text
            statuses = {item["status"] for item in response.json()["results"]}
            assert statuses == {"approved"}, statuses
            arrived = await asyncio.gather(*waiters)
            measured["post"].append((post_done - started) * 1000)
            measured["all_clients"].append((max(moment for moment, _ in arrived) - started) * 1000)
            measured["messages"] += [float(count) for _, count in arrived]
            for socket in sockets:
                await socket.close()
    finally:
        await api.aclose()
    return measured


def measure(label: str, env: dict[str, str]) -> None:
    manage(env, "migrate", "--noinput")
    manage(env, "create_user", "alice")
    manage(env, "create_user", "bob", "--role", "reviewers")
    carol_password = manage(env, "create_user", "carol", "--role", "reviewers").split()[-1]
    tokens = {name: manage(env, "issue_token", name).split()[-1] for name in ("alice", "bob")}
    web, url = start_web(env)
    try:
        cookie = session_cookie(url, "carol", carol_password)
        measured = asyncio.run(run_rounds(url, cookie, tokens))
    finally:
        web.terminate()
        web.wait(timeout=20)
    post = percentiles(measured["post"])
    everywhere = percentiles(measured["all_clients"])
    messages = percentiles(measured["messages"])
    report(
        f"bulk decision of {BATCH} actions, one POST ({label})",
        f"p50 {post['p50']:.0f} ms, max {post['max']:.0f} ms ({ROUNDS} rounds)",
        "<= 2 s",
        post["max"] <= 2000,
    )
    report(
        f"bulk decision -> all {BATCH} rows gone at {CLIENTS} websocket clients ({label})",
        f"p50 {everywhere['p50']:.0f} ms, max {everywhere['max']:.0f} ms; "
        f"{messages['max']:.0f} message(s) per client per batch",
        "-",
        True,
    )


def main() -> None:
    embedded = environment(f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3")
    embedded.pop("REDIS_URL", None)
    measure("SQLite + database layer", embedded)
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        print("DATABASE_URL is not Postgres: skipping the Postgres run", file=sys.stderr)
        return
    database_url = bench_database_url(os.environ.get("BENCH_BULK_DATABASE", "actionhub_bench_bulk"))
    recreate_database(database_url)
    redis_url = os.environ.get("REDIS_URL")
    env = environment(database_url)
    if redis_url:
        measure("Postgres + Redis", env)
    else:
        env.pop("REDIS_URL", None)
        measure("Postgres + database layer", env)


if __name__ == "__main__":
    main()
