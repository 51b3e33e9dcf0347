"""Foundation benchmarks: durable submit throughput, pending-queue page latency at 100k pending,
approve → execution-start latency, verify_audit speed and idle web RSS. Prints a Markdown table."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    PYTHON,
    ROOT,
    Server,
    approve_to_start_ms,
    bench_database_url,
    environment,
    manage,
    percentiles,
    recreate_database,
    report,
    rss_mb,
    setup_django,
)

PENDING = 100_000
AUDIT_ENTRIES = 1_000_000
HIGH = {"action_type": "file_operation", "parameters": {"operation": "delete", "path": "reports/old.csv"}}


def bench_submit(server: Server, token: str, *, seconds: int = 10, connections: int = 16) -> float:
    script = Path(tempfile.mkdtemp()) / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(json.dumps(HIGH))}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
        "done = function(summary, latency, requests)\n"
        '  io.write(string.format("non2xx=%d\\n", summary.errors.status))\n'
        "end\n"
    )
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(script), f"{server.url}/api/actions"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = int(re.search(r"non2xx=(\d+)", out).group(1))
    if errors:
        print(f"warning: {errors} non-2xx responses during the submit benchmark", file=sys.stderr)
    return rate


def seed_pending(user_id: int, count: int) -> None:
    from django.utils import timezone

    from approvals.models import Action
    from approvals.services import payload_hash

    now = timezone.now()
    digest = payload_hash(action_type=HIGH["action_type"], skill_id=None, parameters=HIGH["parameters"])
    batch = [
        Action(
            action_type=HIGH["action_type"],
            parameters=HIGH["parameters"],
            payload_hash=digest,
            security_level="high",
            classification_reasons=["file delete changes data"],
            status="pending",
            requested_by_id=user_id,
            approvals_required=1,
            created_at=now - timedelta(seconds=count - index),
            expires_at=now + timedelta(days=1),
        )
        for index in range(count)
    ]
    Action.objects.bulk_create(batch, batch_size=5000)


def bench_pending_page(server: Server, token: str, *, samples: int = 300) -> dict[str, float]:
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    timings = []
    with httpx.Client(base_url=server.url, headers=headers) as client:
        for _ in range(20):
            client.get("/api/actions/pending")
        for _ in range(samples):
            start = time.perf_counter()
            response = client.get("/api/actions/pending")
            timings.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200 and len(response.json()["results"]) == 50
    return percentiles(timings)


def bench_approve_to_start(server: Server, env: dict[str, str], alice_token: str, bob_token: str) -> dict[str, float]:
    import httpx

    worker = subprocess.Popen([PYTHON, "manage.py", "run_worker"], cwd=ROOT, env=env)
    latencies = []
    try:
        time.sleep(2)
        with httpx.Client(base_url=server.url) as client:
            for _ in range(60):
                created = client.post(
                    "/api/actions", json=HIGH, headers={"Authorization": f"Bearer {alice_token}"}
                ).json()
                client.post(
                    f"/api/actions/{created['id']}/approve",
                    json={"approved": True, "payload_hash": created["payload_hash"]},
                    headers={"Authorization": f"Bearer {bob_token}"},
                ).raise_for_status()
                latencies.append(approve_to_start_ms(created["id"]))
                time.sleep(0.05)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    return percentiles(latencies[5:])


def seed_audit(count: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from audit.chain import GENESIS_HASH, entry_hash
    from audit.models import AuditEntry, AuditHead

    with connection.cursor() as cursor:
        cursor.execute("SELECT seq, hash FROM audit_audithead WHERE id = 1")
        seq, prev = cursor.fetchone() or (0, GENESIS_HASH)
    batch = []
    now = timezone.now()
    for index in range(count):
        seq += 1
        data = {"reason": "routine", "n": index, "payload_hash": "ab" * 32}
        at = now + timedelta(microseconds=index)
        digest = entry_hash(prev_hash=prev, seq=seq, at=at, actor="bob", event="bench.event", action_id=None, data=data)
        batch.append(
            AuditEntry(seq=seq, at=at, actor="bob", event="bench.event", data=data, prev_hash=prev, hash=digest)
        )
        prev = digest
        if len(batch) == 10_000:
            AuditEntry.objects.bulk_create(batch)
            batch = []
    AuditEntry.objects.bulk_create(batch)
    AuditHead.objects.filter(id=1).update(seq=seq, hash=prev)


def bench_verify(env: dict[str, str]) -> tuple[float, float, int]:
    """The chain's streaming rate in-process, and the command's rate including its start-up."""
    from audit.verify import verify_chain

    start = time.perf_counter()
    verdict = verify_chain()
    streaming = verdict.entries / (time.perf_counter() - start)
    assert verdict.ok
    start = time.perf_counter()
    out = manage(env, "verify_audit")
    elapsed = time.perf_counter() - start
    entries = int(re.search(r"OK (\d+) entries", out).group(1))
    return streaming, entries / elapsed, entries


def bench_idle_rss(env: dict[str, str]) -> float:
    import httpx

    server = Server(env, workers=1)
    try:
        for _ in range(50):
            httpx.get(f"{server.url}/api/status")
        time.sleep(1)
        return max(rss_mb(pid) for pid in server.worker_pids())
    finally:
        server.stop()


def main() -> None:
    url = bench_database_url("actionhub_bench")
    recreate_database(url)
    env = environment(url)
    manage(env, "migrate", "--noinput")
    manage(env, "create_user", "alice")
    manage(env, "create_user", "bob", "--role", "reviewers")
    alice_token = manage(env, "issue_token", "alice")
    bob_token = manage(env, "issue_token", "bob")
    setup_django(env)
    from django.contrib.auth import get_user_model

    alice_id = get_user_model().objects.get(username="alice").pk

    print("| benchmark | result | target | met |")
    print("|---|---|---|---|")
    server = Server(env, workers=int(os.environ.get("BENCH_WEB_WORKERS", "3")))
    try:
        rate = bench_submit(server, alice_token)
        report("durable submit, HIGH action, 16 connections", f"{rate:,.0f} req/s", ">= 1,200 req/s", rate >= 1200)
        seed_pending(alice_id, PENDING)
        page = bench_pending_page(server, bob_token)
        report(
            "pending queue first page (50) at 100k+ pending",
            f"p50 {page['p50']:.1f} ms, p95 {page['p95']:.1f} ms",
            "p95 <= 20 ms",
            page["p95"] <= 20,
        )
        latency = bench_approve_to_start(server, env, alice_token, bob_token)
        report(
            "approve -> execution start (Postgres NOTIFY)",
            f"p50 {latency['p50']:.1f} ms, p95 {latency['p95']:.1f} ms",
            "p50 <= 50 ms",
            latency["p50"] <= 50,
        )
    finally:
        server.stop()
    seed_audit(AUDIT_ENTRIES)
    streaming, command, entries = bench_verify(env)
    report(
        f"verify_audit ({entries:,} entries)",
        f"{streaming:,.0f} entries/s streaming; {command:,.0f} entries/s for the whole command",
        ">= 100,000 entries/s",
        command >= 100_000,
    )
    rss = bench_idle_rss(env)
    report("idle web worker RSS", f"{rss:.0f} MB", "<= 100 MB", rss <= 100)


if __name__ == "__main__":
    main()
