"""Approve → execution-start latency on the embedded SQLite default (workers poll every
ACTIONHUB_WORKER_POLL seconds, 0.05 by default; there is no NOTIFY on SQLite)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PYTHON, ROOT, approve_to_start_ms, environment, manage, percentiles, report, setup_django

HIGH = {"action_type": "file_operation", "parameters": {"operation": "delete", "path": "reports/old.csv"}}


def main() -> None:
    url = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    env = environment(url)
    manage(env, "migrate", "--noinput")
    manage(env, "create_user", "alice")
    manage(env, "create_user", "bob", "--role", "reviewers")
    setup_django(env)
    from django.contrib.auth import get_user_model

    from approvals.services import action_create, action_decide

    users = get_user_model().objects
    alice, bob = users.get(username="alice"), users.get(username="bob")
    worker = subprocess.Popen([PYTHON, "manage.py", "run_worker"], cwd=ROOT, env=env)
    latencies = []
    try:
        time.sleep(2)
        for _ in range(60):
            action = action_create(user=alice, **HIGH)
            action_decide(action_id=action.id, user=bob, approved=True)
            latencies.append(approve_to_start_ms(action.id))
            time.sleep(0.03)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    stats = percentiles(latencies[5:])
    report(
        "approve -> execution start (SQLite, 50 ms poll)",
        f"p50 {stats['p50']:.1f} ms, p95 {stats['p95']:.1f} ms",
        "p50 <= 50 ms",
        stats["p50"] <= 50,
    )


if __name__ == "__main__":
    main()
