"""500 agents waiting at once on one web process (uvicorn, as `serve` starts it): all wake with
the decision, while the process keeps a bounded number of threads and database connections."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.db import connection

from approvals.models import Status
from approvals.services import action_decide
from tests.factories import HIGH_ACTION, make_action, make_token, make_user
from worker.management.commands.serve import uvicorn_options

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
WAITERS = 500
ACTIONS = 5
MAX_THREADS = 40
MAX_CONNECTIONS = 12


def _database_url() -> str:
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{database['NAME']}"
    return (
        f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    )


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def web(tmp_path: Path):
    """The ASGI app under uvicorn in a process of its own, on the test database."""
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if key != "PYTEST_CURRENT_TEST"}
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        DJANGO_DEBUG="0",
        DATABASE_URL=_database_url(),
        ACTIONHUB_VAR_DIR=str(tmp_path),
        ACTIONHUB_LOG_LEVEL="WARNING",
    )
    command = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port), *uvicorn_options()]
    log = open(tmp_path / "web.log", "w")  # noqa: SIM115 - the child keeps it open
    process = subprocess.Popen([*command, "actionhub.asgi:application"], cwd=ROOT, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{url}/api/status", timeout=1)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError((tmp_path / "web.log").read_text()) from None
            time.sleep(0.1)
    yield process, url
    process.terminate()
    process.wait(timeout=15)
    log.close()


def _threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise RuntimeError("no thread count")


def _server_connections() -> int:
    """Connections to the test database other than this process's own (Postgres only)."""
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_it_wakes_500_concurrent_waiters_with_bounded_threads_and_connections(web):
    process, url = web
    port = int(url.rsplit(":", 1)[1])
    alice = make_user("alice")
    bob = make_user("bob", "reviewers")
    token = make_token(alice)
    actions = [make_action(alice, HIGH_ACTION) for _ in range(ACTIONS)]
    samples: dict[str, list[int]] = {"threads": [], "connections": []}
    decided_at: list[float] = []

    def sample() -> None:
        samples["threads"].append(_threads(process.pid))
        samples["connections"].append(_server_connections())

    async def wait(action_id: Any) -> tuple[int, str, float]:
        # A connection each, as 500 separate agents would open (httpx's pool slows down at 500).
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        path = f"/api/actions/{action_id}/wait?until=decided&timeout=30"
        headers = f"Host: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nConnection: close"
        writer.write(f"GET {path} HTTP/1.0\r\n{headers}\r\n\r\n".encode())
        raw = await reader.read()
        head, _, body = raw.partition(b"\r\n\r\n")
        if not body.startswith(b"{"):
            raise AssertionError(raw[:300])
        writer.close()
        return int(head.split()[1]), json.loads(body)["status"], time.monotonic()

    async def run() -> list[tuple[int, str, float]]:
        waits = [asyncio.create_task(wait(actions[i % ACTIONS].id)) for i in range(WAITERS)]
        for _ in range(12):  # let every request arrive and settle into waiting
            await asyncio.sleep(0.25)
            await asyncio.to_thread(sample)
        early = [task for task in waits if task.done()]
        assert not early, [task.exception() or task.result() for task in early[:3]]
        decided_at.append(time.monotonic())
        for action in actions:
            await asyncio.to_thread(action_decide, action_id=action.id, user=bob, approved=True, reason="")
        results = await asyncio.gather(*waits)
        await asyncio.to_thread(sample)
        return results

    started = time.monotonic()
    results = asyncio.run(run())
    connection.close()
    assert [(status, state) for status, state, _ in results] == [(200, Status.APPROVED)] * WAITERS
    assert max(samples["threads"]) < MAX_THREADS, samples["threads"]
    assert max(samples["connections"]) <= MAX_CONNECTIONS, samples["connections"]
    # A liveness bound on a loaded 2-core machine; the latency itself is bench/wait_latency.py's.
    assert max(answered for _, _, answered in results) - decided_at[0] < 25
    assert time.monotonic() - started < 45
