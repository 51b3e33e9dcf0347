"""Shared set-up for benchmarks: a throwaway Postgres database, users, tokens and an ASGI server.

Production-like: DEBUG off, PostgreSQL, gunicorn with uvicorn workers. Needs DATABASE_URL
pointing at a PostgreSQL server whose role may create databases (`bash bench/run.sh` starts one).
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def bench_database_url(name: str) -> str:
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        sys.exit("benchmarks need DATABASE_URL=postgres://… (run them with: bash bench/run.sh)")
    parts = urlsplit(base)
    # On a server shared with other work, BENCH_DATABASE_PREFIX keeps the throwaway databases apart.
    return urlunsplit(parts._replace(path=f"/{os.environ.get('BENCH_DATABASE_PREFIX', '')}{name}"))


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    name = parts.path.lstrip("/")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def environment(database_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-" + secrets.token_hex(24),
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "ACTIONHUB_RATE_LIMIT": "1000000/s",
        "ACTIONHUB_LOG_LEVEL": "WARNING",
        **extra,
    }


def manage(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def django_output(env: dict[str, str], script: str) -> list[str]:
    """Run a short script with Django set up against `env`'s database; its printed words."""
    return subprocess.run(
        [PYTHON, "-c", "import django; django.setup();" + script],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "actionhub.settings"},
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()


def embedded_then_redis(measure: Callable[[str, dict[str, str]], None], *, database: str) -> None:
    """`measure` on the embedded default (SQLite + database layer), then on Postgres + Redis when
    REDIS_URL is set (the Postgres database `database` is made afresh)."""
    embedded = environment(f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3")
    embedded.pop("REDIS_URL", None)
    measure("embedded: SQLite + database layer", embedded)
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        print("REDIS_URL is not set: skipping the Redis run", file=sys.stderr)
        return
    database_url = bench_database_url(database)
    recreate_database(database_url)
    measure("Postgres + Redis", environment(database_url, REDIS_URL=redis_url))


def setup_django(env: dict[str, str]) -> None:
    """Configure Django in this process against the benchmark database."""
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "actionhub.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn + uvicorn workers serving the ASGI app (HTTP and websockets)."""

    def __init__(self, env: dict[str, str], *, workers: int = 2) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                PYTHON, "-m", "gunicorn", "actionhub.asgi:application",
                "-k", "uvicorn_worker.UvicornWorker", "-w", str(workers),
                "-b", f"127.0.0.1:{self.port}", "--log-level", "warning", "--no-control-socket",
            ],
            cwd=ROOT,
            env=env,
        )  # fmt: skip
        self._wait_ready()

    def _wait_ready(self) -> None:
        import httpx

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/status", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("server did not start")

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))],
        "max": ordered[-1],
    }


def report(name: str, value: str, target: str, ok: bool) -> str:
    line = f"| {name} | {value} | {target} | {'yes' if ok else 'no'} |"
    print(line, flush=True)
    return line


def approve_to_start_ms(action_id: object, *, timeout: float = 10.0) -> float:
    """Wait until a worker starts the action; the delay between its approval and start, in ms."""
    from approvals.models import Action

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        action = Action.objects.get(id=action_id)
        if action.started_at:
            return (action.started_at - action.approved_at).total_seconds() * 1000
        time.sleep(0.005)
    raise RuntimeError(f"action {action_id} did not start within {timeout}s")
