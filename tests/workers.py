"""Start real worker processes against the test database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def test_database_url() -> str:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user = quote(settings["USER"] or "", safe="")
    password = quote(settings["PASSWORD"] or "", safe="")
    return (
        f"postgres://{user}:{password}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}"
    )


def in_process_worker(worker_id: str) -> Any:
    """The worker `run_worker` runs, built in this process (it sees the test's settings)."""
    from worker.management.commands.run_worker import ActionWorker

    return ActionWorker(
        grace=1.0,
        queue_names=["default"],
        interval=0,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    )


def start_worker(**env: str) -> subprocess.Popen:
    full_env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "ACTIONHUB_LEASE_SECONDS": "1",
        "ACTIONHUB_MAINTENANCE_INTERVAL": "0.2",
        "ACTIONHUB_LOG_LEVEL": "WARNING",
        # Warm containers cost a second of start-up per worker; tests that want the pool ask for it.
        "ACTIONHUB_SANDBOX_POOL_SIZE": "0",
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_worker", "--interval", "0.05"],
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for(
    predicate: Callable[[], object], *, timeout: float = 20.0, interval: float = 0.05, what: str = "condition"
) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what} not met within {timeout}s")


def stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.stdout.read() if process.stdout else ""
