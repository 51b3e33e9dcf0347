"""The audit history page and its exports at 1,000,000 entries, on SQLite and on PostgreSQL.

Seeds 1M chained entries (with ~190k actions behind them, spread over a year) once per backend
and keeps the result: SQLite as a file under var/bench/, PostgreSQL as a template database;
reruns copy it in seconds. Then, against a production-like server (DEBUG off, one uvicorn
worker under gunicorn), it measures the page's p95 for the first page, filtered pages and deep
cursor pages, streams the whole CSV and JSONL exports (rows/s, the server's peak RSS), and the
cost of the live-arrival hook on an append.

    python bench/audit_page.py                    # SQLite, and PostgreSQL when DATABASE_URL is postgres://…
    python bench/audit_page.py --pages-only       # the page timings alone
    BENCH_AUDIT_DB=auditdev python bench/audit_page.py   # names of the PostgreSQL databases used
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, Server, django_output, environment, manage, percentiles, report, setup_django

ENTRIES = 1_000_000
SEED_VERSION = "1"  # bump when the seeded shape changes, so cached seeds are rebuilt
CACHE = ROOT / "var" / "bench"
SAMPLES = 100
TARGET_MS = 50.0
FULL_PASS = (
    "from audit.services import audit_full_pass_step\n"
    "while audit_full_pass_step(owner='bench', budget=3600) == 'progress':\n    pass\n"
)

# Outcomes of the seeded actions and the entries each one leaves, in order.
OUTCOMES = [
    ("completed", 0.72, ["action.created", "action.approved", "action.started", "action.completed"]),
    ("failed", 0.10, ["action.created", "action.approved", "action.started", "action.failed"]),
    ("rejected", 0.09, ["action.created", "action.rejected"]),
    ("expired", 0.07, ["action.created", "action.expired"]),
    ("pending", 0.02, ["action.created"]),
]
LEVELS = [
    ("low", "chat", 0.40),
    ("medium", "api_call", 0.33),
    ("high", "file_operation", 0.22),
    ("critical", "config_change", 0.05),
]


def _parameters(action_type: str, n: int) -> dict:
    match action_type:
        case "chat":
            return {"message": f"Summarise ticket #{n} for the weekly report, in three bullet points."}
        case "api_call":
            return {"method": "GET", "url": f"https://api.example.org/v1/orders/{n}"}
        case "file_operation":
            return {"operation": "delete", "path": f"reports/{n % 997}/draft-{n}.md"}
        case _:
            return {"key": "expiry_high", "value": f"{12 + n % 12}h"}


def seed(connection_vendor: str) -> None:
    """Write ENTRIES chained entries and their actions into the configured (empty, migrated) database."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from approvals.models import Action
    from audit.chain import GENESIS_HASH, canonical_json, entry_hash
    from audit.models import AuditHead

    users = {name: get_user_model().objects.get(username=name) for name in ("alice", "bob", "carol")}
    rng = random.Random(6)
    start = datetime.now(UTC) - timedelta(days=365)
    span = timedelta(days=365).total_seconds()
    mean_entries = sum(share * len(events) for _, share, events in OUTCOMES)
    action_count = int((ENTRIES - 2_000) / mean_entries)
    step = span / (action_count + 2_000)
    seq, prev, head_prev = 0, GENESIS_HASH, ""
    rows: list[tuple] = []
    actions: list[Action] = []
    ops = connection.ops
    sqlite = connection_vendor == "sqlite"

    def add(at: datetime, actor: str, event: str, action_id: uuid.UUID | None, data: dict) -> None:
        nonlocal seq, prev, head_prev
        seq += 1
        head_prev = prev
        data = {} if data is None else data
        digest = entry_hash(prev_hash=prev, seq=seq, at=at, actor=actor, event=event, action_id=action_id, data=data)
        at_db = ops.adapt_datetimefield_value(at) if sqlite else at
        action_db = (action_id.hex if sqlite else str(action_id)) if action_id else None
        rows.append((seq, at_db, actor, event, action_db, canonical_json(data), prev, digest))
        prev = digest

    moment = start.timestamp()
    extra_every = max(1, action_count // 2_000)
    for n in range(action_count):
        moment += step
        at = datetime.fromtimestamp(moment, UTC)
        level, action_type, _ = rng.choices(LEVELS, weights=[w for *_, w in LEVELS])[0]
        status, _, events = rng.choices(OUTCOMES, weights=[w for _, w, _ in OUTCOMES])[0]
        requester = users["alice"]
        action_id = uuid.uuid4()
        parameters = _parameters(action_type, n)
        reviewer = "bob" if n % 3 else "carol"
        held = level in ("high", "critical")
        actions.append(
            Action(
                id=action_id,
                action_type=action_type,
                parameters=parameters,
                payload_hash=f"{n:064x}",
                security_level=level,
                status=status,
                requested_by=requester,
                approvals_required=(2 if level == "critical" else 1) if held else 0,
                created_at=at,
            )
        )
        for index, event in enumerate(events):
            when = at + timedelta(milliseconds=40 * index)
            if event == "action.created":
                data = {
                    "action_type": action_type,
                    "parameters": parameters,
                    "security_level": level,
                    "payload_hash": f"{n:064x}",
                }
                add(when, "alice", event, action_id, data)
            elif event in ("action.approved", "action.rejected"):
                actor = reviewer if held else "system"
                add(
                    when,
                    actor,
                    event,
                    action_id,
                    {
                        "from": "pending",
                        "to": event.split(".")[1],
                        "reason": "" if event == "action.approved" else "not during the freeze",
                    },
                )
            elif event == "action.expired":
                add(when, "system", event, action_id, {"from": "pending", "to": "expired"})
            elif event == "action.started":
                add(
                    when,
                    "system",
                    event,
                    action_id,
                    {"from": "approved", "to": "executing", "worker": f"w{n % 4}", "attempt": 1},
                )
            else:
                outcome = (
                    {"error": "upstream answered 503"} if event == "action.failed" else {"result_bytes": 200 + n % 900}
                )
                add(when, "system", event, action_id, {"from": "executing", "to": event.split(".")[1], **outcome})
        if n % extra_every == 0 and seq < ENTRIES:
            add(
                at + timedelta(milliseconds=500),
                "admin",
                "auth.token_issued",
                None,
                {"user": "alice", "name": f"agent-{n}"},
            )
        if len(actions) >= 5_000:
            _flush(connection, actions, rows, sqlite)
    while seq < ENTRIES:
        moment += step
        add(
            datetime.fromtimestamp(moment, UTC), "system", "notification.sent", None, {"channel": "email", "attempt": 1}
        )
    _flush(connection, actions, rows, sqlite)
    with transaction.atomic():
        AuditHead.objects.update_or_create(id=1, defaults={"seq": seq, "hash": prev, "prev_hash": head_prev})


def _flush(connection, actions: list, rows: list[tuple], sqlite: bool) -> None:
    from django.db import transaction

    from approvals.models import Action

    with transaction.atomic():
        Action.objects.bulk_create(actions, batch_size=1_000)
        with connection.cursor() as cursor:
            if sqlite:
                cursor.executemany(
                    "INSERT INTO audit_auditentry (seq, at, actor, event, action_id, data, prev_hash, hash) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    rows,
                )
            else:
                with cursor.cursor.copy(
                    "COPY audit_auditentry (seq, at, actor, event, action_id, data, prev_hash, hash) FROM STDIN"
                ) as copy:
                    for row in rows:
                        copy.write_row(row)
    actions.clear()
    rows.clear()


def _users(env: dict[str, str]) -> None:
    manage(env, "create_user", "alice")
    manage(env, "create_user", "bob", "--role", "reviewers")
    manage(env, "create_user", "carol", "--role", "reviewers")
    manage(env, "create_user", "dave", "--role", "auditors")


def _seed_in_subprocess(env: dict[str, str]) -> None:
    subprocess.run([sys.executable, __file__, "--seed-only"], cwd=ROOT, env=env, check=True)


def prepare_sqlite() -> dict[str, str]:
    CACHE.mkdir(parents=True, exist_ok=True)
    seeded = CACHE / f"audit-1m-v{SEED_VERSION}.sqlite3"
    work = CACHE / "audit-1m-work.sqlite3"
    if not seeded.exists():
        partial = seeded.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        env = environment(f"sqlite:///{partial}")
        started = time.perf_counter()
        manage(env, "migrate", "--noinput")
        _users(env)
        _seed_in_subprocess(env)
        subprocess.run(["sqlite3", str(partial), "PRAGMA wal_checkpoint(TRUNCATE); VACUUM; ANALYZE;"], check=False)
        partial.rename(seeded)
        print(f"seeded SQLite in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(seeded, work)
    env = environment(f"sqlite:///{work}")
    manage(env, "migrate", "--noinput")  # migrations added since the seed
    return env


def prepare_postgres(base_url: str) -> dict[str, str]:
    import psycopg

    prefix = os.environ.get("BENCH_AUDIT_DB", "actionhub_audit")
    parts = urlsplit(base_url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    seed_name, work_name = f"{prefix}_seed1m_v{SEED_VERSION}", f"{prefix}_bench"
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [seed_name]).fetchone()
        if not exists:
            started = time.perf_counter()
            conn.execute(f'DROP DATABASE IF EXISTS "{seed_name}_partial" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{seed_name}_partial"')
            env = environment(urlunsplit(parts._replace(path=f"/{seed_name}_partial")))
            manage(env, "migrate", "--noinput")
            _users(env)
            _seed_in_subprocess(env)
            with psycopg.connect(env["DATABASE_URL"], autocommit=True) as seeded:
                seeded.execute("VACUUM ANALYZE")
            conn.execute(f'ALTER DATABASE "{seed_name}_partial" RENAME TO "{seed_name}"')
            print(f"seeded PostgreSQL in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        conn.execute(f'DROP DATABASE IF EXISTS "{work_name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{work_name}" TEMPLATE "{seed_name}"')
    env = environment(urlunsplit(parts._replace(path=f"/{work_name}")))
    manage(env, "migrate", "--noinput")
    return env


def session_cookie(env: dict[str, str]) -> dict[str, str]:
    """Log dave in through the session store the server reads (same database, same secret)."""
    out = django_output(
        env,
        "from django.test import Client; from django.conf import settings;"
        "from django.contrib.auth import get_user_model;"
        "c = Client(); c.force_login(get_user_model().objects.get(username='dave'));"
        "print(settings.SESSION_COOKIE_NAME, c.cookies[settings.SESSION_COOKIE_NAME].value)",
    )
    return {out[0]: out[1]}


def facts(env: dict[str, str]) -> dict[str, str]:
    """Values to filter on, read from the seeded data: an action, a week in the middle, a deep seq."""
    out = django_output(
        env,
        "from audit.models import AuditEntry;"
        "mid = AuditEntry.objects.get(seq=500000);"
        "crit = AuditEntry.objects.filter(event='action.rejected', seq__lt=300000).order_by('-seq').first();"
        "print(crit.action_id, mid.at.date().isoformat())",
    )
    return {"action": out[0], "mid_day": out[1]}


def time_page(client, path: str, params: dict[str, str], *, samples: int = SAMPLES) -> dict[str, float]:
    for _ in range(5):
        response = client.get(path, params=params)
        assert response.status_code == 200, (path, params, response.status_code, response.text[:500])
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        response = client.get(path, params=params)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return percentiles(timings)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def current_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def time_export(client, server: Server, kind: str) -> tuple[int, float, float, float]:
    """Stream one whole export; (rows, rows/s, RSS before, peak RSS of the worker meanwhile)."""
    pid = server.worker_pids()[0]
    before = current_rss_mb(pid)
    peak = before
    rows = 0
    started = time.perf_counter()
    with client.stream("GET", f"/audit/export.{kind}", timeout=600) as response:
        assert response.status_code == 200
        for index, chunk in enumerate(response.iter_bytes(1 << 16)):
            rows += chunk.count(b"\n")
            if index % 50 == 0:
                peak = max(peak, current_rss_mb(pid))
    elapsed = time.perf_counter() - started
    if kind == "csv":
        rows -= 1  # the header (no data cell spans lines in this seed)
    return rows, rows / elapsed, before, max(peak, current_rss_mb(pid))


def bench_backend(label: str, env: dict[str, str]) -> list[str]:
    import httpx

    lines = []
    cookie = session_cookie(env)
    known = facts(env)
    server = Server({**env, "ACTIONHUB_HTTP_THREADS": "4"}, workers=1)
    try:
        with httpx.Client(base_url=server.url, cookies=cookie, timeout=120) as client:
            started = time.perf_counter()
            first = client.get("/audit/")
            first_look = time.perf_counter() - started
            assert first.status_code == 200 and "Chain not yet verified." in first.text, first.text[:2000]
            # What a worker's maintenance does in ~2 s slices, here in one go: the first full pass.
            started = time.perf_counter()
            manage(env, "shell", "-c", FULL_PASS)
            full_pass = time.perf_counter() - started
            verified = client.get("/audit/")
            assert "Chain verified up to seq 1000000</strong>" in verified.text, verified.text[:2000]
            mid = datetime.fromisoformat(known["mid_day"]).date()
            cases = [
                ("first page", {}),
                ("actor=bob", {"actor": "bob"}),
                ("event=action.failed", {"event": "action.failed"}),
                ("risk=critical", {"level": "critical"}),
                ("one action", {"action": known["action"]}),
                (
                    "a week half a year ago",
                    {"since": str(mid - timedelta(days=3)), "until": str(mid + timedelta(days=3))},
                ),
                ("deep cursor (before=1,000)", {"before": "1000"}),
                ("deep cursor, event=action.expired", {"event": "action.expired", "before": "5000"}),
                ("deep cursor, risk=critical", {"level": "critical", "before": "5000"}),
            ]
            results = {name: time_page(client, "/audit/", params) for name, params in cases}
            worst = max(result["p95"] for result in results.values())
            detail = "; ".join(f"{name} {r['p95']:.1f}" for name, r in results.items())
            lines.append(
                report(
                    f"/audit/ page p95 at 1,000,000 entries ({label}, 50 per page)",
                    f"worst p95 {worst:.1f} ms ({detail} ms)",
                    "p95 <= 50 ms",
                    worst <= TARGET_MS,
                )
            )
            print(
                f"# {label}: first look (before any full pass) {first_look * 1000:.0f} ms; "
                f"the worker's full pass of 1M entries {full_pass:.1f} s",
                flush=True,
            )
            p50s = "; ".join(f"{name} {r['p50']:.1f}" for name, r in results.items())
            print(f"# {label} p50 ms: {p50s}", flush=True)
            for kind in () if "--pages-only" in sys.argv else ("csv", "jsonl"):
                rows, rate, before, peak = time_export(client, server, kind)
                assert rows == ENTRIES, rows
                lines.append(
                    report(
                        f"{kind.upper()} export of all 1,000,000 entries ({label})",
                        f"{rate:,.0f} rows/s; server RSS {before:.0f} MB before, peak {peak:.0f} MB",
                        "bounded memory",
                        peak - before < 100,
                    )
                )
    finally:
        server.stop()
    return lines


def bench_append_hook(env: dict[str, str], label: str) -> str:
    """Appends per second with and without the live-arrival announcement, in one process."""
    out = subprocess.run(
        [sys.executable, __file__, "--append-only"], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
    with_hook, without = (float(value) for value in out.split())
    return report(
        f"audit_append, one per transaction ({label})",
        f"{with_hook:.0f} µs with the live announcement, {without:.0f} µs without",
        "-",
        True,
    )


def _append_timing() -> None:
    from unittest import mock

    from django.db import transaction

    from audit.services import audit_append

    def run(count: int = 1_000) -> float:
        started = time.perf_counter()
        for n in range(count):
            with transaction.atomic():
                audit_append(actor="bench", event="bench.append", data={"n": n})
        return (time.perf_counter() - started) / count * 1e6

    run(100)
    with_hook = min(run() for _ in range(3))
    with mock.patch("audit.events.audit_appended"):
        without = min(run() for _ in range(3))
    print(with_hook, without)


def main() -> None:
    if "--seed-only" in sys.argv:
        setup_django(dict(os.environ))
        from django.db import connection

        seed(connection.vendor)
        return
    if "--append-only" in sys.argv:
        setup_django(dict(os.environ))
        _append_timing()
        return
    print(f"# load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    print("| benchmark | result | target | met |")
    print("|---|---|---|---|")
    sqlite_env = prepare_sqlite()
    bench_backend("SQLite", sqlite_env)
    if "--pages-only" not in sys.argv:
        bench_append_hook(sqlite_env, "SQLite, database relay")
    base = os.environ.get("DATABASE_URL", "")
    if base.startswith(("postgres://", "postgresql://")):
        pg_env = prepare_postgres(base)
        bench_backend("PostgreSQL", pg_env)
        if "--pages-only" not in sys.argv:
            bench_append_hook(pg_env, "PostgreSQL" + (", Redis" if pg_env.get("REDIS_URL") else ", database relay"))


if __name__ == "__main__":
    main()
