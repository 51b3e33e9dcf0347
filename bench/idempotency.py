"""What an Idempotency-Key costs on POST /api/actions: a plain submit, a submit with a new key, and
a replay of a key already used, measured side by side in one run.

One web server (gunicorn + one uvicorn worker), one keep-alive connection, sequential requests
of a HIGH file_operation. The three kinds of request take turns one by one, so bursts of load
on a shared machine hit all of them alike. Runs on SQLite and, when DATABASE_URL is a PostgreSQL
URL, on PostgreSQL.

    .venv/bin/python bench/idempotency.py            # SQLite only
    DATABASE_URL=postgres://… .venv/bin/python bench/idempotency.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Server, bench_database_url, environment, manage, percentiles, recreate_database, report

SAMPLES = int(os.environ.get("BENCH_IDEMPOTENCY_SAMPLES", "1500"))
WARMUP = 50
ACTION = {"action_type": "file_operation", "parameters": {"operation": "delete", "path": "reports/old.csv"}}


def _latencies(server: Server, token: str) -> dict[str, list[float]]:
    import httpx

    body = json.dumps(ACTION)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    samples: dict[str, list[float]] = {"plain": [], "new key": [], "replay": []}
    expected = {"plain": 201, "new key": 201, "replay": 200}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
        client.post("/api/actions", content=body, headers={"Idempotency-Key": "replayed"})
        for _ in range(WARMUP):
            client.post("/api/actions", content=body)
        for _ in range(SAMPLES):
            for name in samples:
                extra = {"plain": {}, "new key": {"Idempotency-Key": uuid.uuid4().hex}}.get(
                    name, {"Idempotency-Key": "replayed"}
                )
                started = time.perf_counter()
                response = client.post("/api/actions", content=body, headers=extra)
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != expected[name]:
                    raise RuntimeError(f"{name}: unexpected answer {response.status_code}: {response.text[:200]}")
                samples[name].append(elapsed)
    return samples


def bench(label: str, env: dict[str, str]) -> None:
    manage(env, "migrate", "--noinput")
    manage(env, "create_user", "alice")
    token = manage(env, "issue_token", "alice")
    server = Server(env, workers=1)
    try:
        samples = _latencies(server, token)
    finally:
        server.stop()
    plain = percentiles(samples["plain"])
    for name in ("new key", "replay"):
        measured = percentiles(samples[name])
        report(
            f"POST /api/actions, {name} vs no key ({label})",
            f"p50 {measured['p50']:.2f} vs {plain['p50']:.2f} ms ({measured['p50'] / plain['p50']:.2f}×), "
            f"p95 {measured['p95']:.2f} vs {plain['p95']:.2f} ms",
            "-",
            True,
        )


def _run(label: str, database_url: str) -> None:
    """Each database in its own process, like the other benchmarks."""
    env = {**os.environ, "BENCH_IDEMPOTENCY_ONE": label, "BENCH_IDEMPOTENCY_URL": database_url}
    subprocess.run([sys.executable, __file__], env=env, check=True)


def main() -> None:
    one = os.environ.get("BENCH_IDEMPOTENCY_ONE")
    if one:
        bench(one, environment(os.environ["BENCH_IDEMPOTENCY_URL"]))
        return
    print("| benchmark | result | target | met |")
    print("|---|---|---|---|", flush=True)
    _run("SQLite", f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}")
    if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        url = bench_database_url(os.environ.get("BENCH_DATABASE_NAME", "actionhub_idempotency_bench"))
        recreate_database(url)
        _run("PostgreSQL", url)


if __name__ == "__main__":
    main()
