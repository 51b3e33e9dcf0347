"""Decision commit → waiting agent answered: GET /api/actions/{id}/wait on one web process.

Each round alice submits a HIGH action, N clients (1, then 500) wait on it with `until=decided`,
and once the server reports every request waiting (/metrics) this process decides the action
through the service; the clock starts in the decision's first on-commit callback and stops as
each wait answers. Run for the embedded default (SQLite + the database channel layer) and, when
REDIS_URL is set, for Postgres + Redis (DATABASE_URL must point at Postgres, as `bash bench/run.sh`
does); each environment runs in a process of its own (Django is set up once per process).

A third case keeps 500 requests waiting, each on an action of its own, and decides 20 of them one
by one: the latency one agent sees while 499 others wait in the same process.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    PYTHON,
    ROOT,
    bench_database_url,
    environment,
    manage,
    percentiles,
    recreate_database,
    report,
    setup_django,
)
from bench.ws_fanout import start_web

ROUNDS = {1: 30, 500: 4}
# "500 apart": 500 requests wait, each on an action of its own, and DECIDED_APART of them are
# decided one by one: what one agent sees while 499 others wait in the same process.
APART = "500 apart"
APART_ROUNDS = 2
DECIDED_APART = 20
SETTLE_TIMEOUT = 60.0
HIGH = {"action_type": "file_operation", "parameters": {"operation": "delete", "path": "reports/old.csv"}}


async def raw_get(url: str, path: str, token: str) -> tuple[int, bytes]:
    """One GET on a connection of its own, answered once its Content-Length is in, as a client
    sees it (the server may still be tidying up the request). Not httpx: its pool's bookkeeping
    grows with the square of the requests in flight and, at 500, takes seconds to hand out answers
    the server has sent."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    writer.write(request.encode())
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
    )
    body = await reader.readexactly(length)
    writer.close()
    return int(head.split()[1]), body


def measure(env: dict[str, str]) -> dict[int, list[float]]:
    manage(env, "migrate", "--noinput")
    manage(env, "create_user", "alice")
    manage(env, "create_user", "carol", "--role", "reviewers")
    manage(env, "create_user", "olga", "--staff")
    token = manage(env, "issue_token", "alice").split()[-1]
    staff_token = manage(env, "issue_token", "olga").split()[-1]
    setup_django(env)
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from approvals.services import action_create, action_decide

    alice, carol = (get_user_model().objects.get(username=name) for name in ("alice", "carol"))
    web, url = start_web(env)

    def decide(action_id: object, committed: list[float]) -> None:
        with transaction.atomic():
            transaction.on_commit(lambda: committed.append(time.perf_counter()))  # first: runs at commit
            action_decide(action_id=action_id, user=carol, approved=True, reason="")

    async def wait(action_id: object) -> float:
        status, body = await raw_get(url, f"/api/actions/{action_id}/wait?until=decided", token)
        assert status == 200 and json.loads(body)["status"] == "approved", body
        return time.perf_counter()

    async def settled(waiters: int) -> None:
        """Until the server says every request is past its first read and waiting (/metrics), so
        the clock measures waking, not the requests still arriving."""
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while time.monotonic() < deadline:
            status, body = await raw_get(url, "/metrics", staff_token)
            if status == 200 and f"actionhub_waiting_requests {waiters}\n".encode() in body:
                return
            await asyncio.sleep(0.05)
        raise RuntimeError(f"{waiters} waiters were not all waiting after {SETTLE_TIMEOUT:.0f} s")

    async def rounds(waiters: int) -> list[float]:
        samples: list[float] = []
        for _ in range(ROUNDS[waiters] + 1):  # the first round warms connections and caches
            action = await asyncio.to_thread(action_create, user=alice, action_type=HIGH["action_type"],
                                             parameters=HIGH["parameters"])  # fmt: skip
            tasks = [asyncio.create_task(wait(action.id)) for _ in range(waiters)]
            await settled(waiters)
            committed: list[float] = []
            await asyncio.to_thread(decide, action.id, committed)
            answered = await asyncio.gather(*tasks)
            if _ > 0:
                samples += [(moment - committed[0]) * 1000 for moment in answered]
        return samples

    async def apart() -> list[float]:
        samples: list[float] = []
        for round_ in range(APART_ROUNDS + 1):
            actions = [
                await asyncio.to_thread(
                    action_create, user=alice, action_type=HIGH["action_type"], parameters=HIGH["parameters"]
                )
                for _ in range(500)
            ]
            tasks = {action.id: asyncio.create_task(wait(action.id)) for action in actions}
            await settled(500)
            for action in actions[:DECIDED_APART]:
                committed: list[float] = []
                await asyncio.to_thread(decide, action.id, committed)
                answered = await tasks.pop(action.id)
                if round_ > 0:
                    samples.append((answered - committed[0]) * 1000)
            for action in actions[DECIDED_APART:]:
                await asyncio.to_thread(decide, action.id, [])
            await asyncio.gather(*tasks.values())
        return samples

    try:
        results: dict[int | str, list[float]] = {waiters: asyncio.run(rounds(waiters)) for waiters in ROUNDS}
        results[APART] = asyncio.run(apart())
        return results
    finally:
        web.terminate()
        web.wait(timeout=20)


def run_one(label: str, env: dict[str, str]) -> dict[str, list[float]]:
    done = subprocess.run([PYTHON, __file__, "--one"], cwd=ROOT, env=env, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    if sys.argv[1:] == ["--one"]:
        print(json.dumps({str(waiters): samples for waiters, samples in measure(dict(os.environ)).items()}))
        return
    embedded = environment(f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3")
    embedded.pop("REDIS_URL", None)
    results = {"embedded: SQLite + database layer": run_one("embedded", embedded)}
    redis_url = os.environ.get("REDIS_URL")
    if redis_url and os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        database_url = bench_database_url("actionhub_bench_wait")
        recreate_database(database_url)
        results["Postgres + Redis"] = run_one("redis", environment(database_url, REDIS_URL=redis_url))
    else:
        print("DATABASE_URL (Postgres) and REDIS_URL are not both set: skipping Postgres + Redis", file=sys.stderr)
    for waiters in [*ROUNDS, APART]:
        stats = {label: percentiles(samples[str(waiters)]) for label, samples in results.items()}
        for label, value in stats.items():
            name = (
                f"{waiters} waiter(s) on one action" if waiters != APART else "1 of 500 waiters, each on its own action"
            )
            report(
                f"decision commit -> wait answered, {name} ({label})",
                f"p50 {value['p50']:.1f} ms, p95 {value['p95']:.1f} ms",
                "p50 <= 50 ms",
                value["p50"] <= 50,
            )
        if len(stats) == 2:
            (_, first), (_, second) = stats.items()
            print(f"  {waiters} waiter(s): Postgres + Redis / embedded p50 ratio {second['p50'] / first['p50']:.2f}")


if __name__ == "__main__":
    main()
