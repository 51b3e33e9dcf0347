"""What standing rules add to POST /api/actions: p95 with 0 and with 1,000 active rules.

One gunicorn + uvicorn worker, one keep-alive connection, sequential requests of a HIGH
file_operation that 100 rules of its type are tried against and none matches (the other 900 are
for other types and skills). The two states alternate in blocks, so drift on a shared machine
hits both alike. Runs on SQLite and, when DATABASE_URL is a PostgreSQL URL, on PostgreSQL.
Also times the in-process lookup alone (version read + matching).

    .venv/bin/python bench/rules.py            # SQLite only
    DATABASE_URL=postgres://… .venv/bin/python bench/rules.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    Server,
    bench_database_url,
    environment,
    manage,
    percentiles,
    recreate_database,
    report,
    setup_django,
)

RULES = 1000
SAME_TYPE = 100
BLOCKS = 3
PER_BLOCK = int(os.environ.get("BENCH_RULES_PER_BLOCK", "400"))
WARMUP = 50
ACTION = {"action_type": "file_operation", "parameters": {"operation": "delete", "path": "reports/old.csv"}}


def _rule_specs() -> list[dict]:
    """1,000 rules: 100 for file_operation that do not match ACTION, the rest for other kinds."""
    specs = []
    for n in range(SAME_TYPE):
        specs.append(
            {
                "action_type": "file_operation",
                "matchers": [
                    {"parameter": "operation", "kind": "exact", "value": "delete"},
                    {"parameter": "path", "kind": "glob", "value": f"archive/{n}/**/*.csv"},
                ],
                "effect": "allow" if n % 2 else "deny",
            }
        )
    others = [
        ("chat", None, {"parameter": "model", "kind": "exact", "value": "model-{n}"}),
        ("api_call", None, {"parameter": "url", "kind": "url_prefix", "value": "https://api{n}.example.org/v1"}),
        ("model_switch", None, {"parameter": "model", "kind": "exact", "value": "model-{n}"}),
        ("skill_execution", "python", {"parameter": "stdin", "kind": "exact", "value": "input {n}"}),
        ("skill_execution", "filesystem", {"parameter": "path", "kind": "glob", "value": "data/{n}/*.json"}),
    ]
    for n in range(RULES - SAME_TYPE):
        action_type, skill_id, matcher = others[n % len(others)]
        value = matcher["value"].format(n=n)
        specs.append(
            {
                "action_type": action_type,
                "skill_id": skill_id,
                "matchers": [{**matcher, "value": value}],
                "effect": "deny" if n % 3 == 0 else "allow",
            }
        )
    return specs


def _set_rules(active: bool, admin) -> None:
    """Create the 1,000 rules, or disable every live one (a disabled rule is never loaded)."""
    from rules.models import Rule
    from rules.services import rule_create, rule_disable

    if active:
        for spec in _rule_specs():
            rule_create(user=admin, skill_id=spec.pop("skill_id", None), expires_at=None, note="bench", **spec)
        return
    for rule_id in Rule.objects.filter(disabled_at__isnull=True).values_list("id", flat=True):
        rule_disable(rule_id=rule_id, user=admin)


def _post_latencies(server: Server, token: str, count: int) -> list[float]:
    import httpx

    body = json.dumps(ACTION)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    samples = []
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
        for index in range(WARMUP + count):
            started = time.perf_counter()
            response = client.post("/api/actions", content=body)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 201 or response.json()["status"] != "pending":
                raise RuntimeError(f"unexpected answer {response.status_code}: {response.text[:200]}")
            if index >= WARMUP:
                samples.append(elapsed)
    return samples


def _lookup_microseconds(samples: int = 5000) -> dict[str, float]:
    """The lookup alone, in this process: the version read plus matching 100 compiled rules."""
    from django.utils import timezone

    from rules.evaluation import rules_deciding

    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        rules_deciding(
            action_type=ACTION["action_type"],
            skill_id=None,
            parameters=ACTION["parameters"],
            level="high",
            now=timezone.now(),
        )
        timings.append((time.perf_counter() - started) * 1_000_000)
    return percentiles(timings)


def bench(label: str, env: dict[str, str]) -> None:
    manage(env, "migrate", "--noinput")
    manage(env, "create_user", "alice")
    manage(env, "create_user", "erin", "--role", "rule_admins")
    token = manage(env, "issue_token", "alice")
    setup_django(env)
    from django.contrib.auth import get_user_model
    from django.db import connection

    admin = get_user_model().objects.get(username="erin")
    results: dict[bool, list[float]] = {False: [], True: []}
    server = Server(env, workers=1)
    try:
        for _ in range(BLOCKS):
            for active in (False, True):
                _set_rules(active, admin)
                results[active] += _post_latencies(server, token, PER_BLOCK)
        _set_rules(True, admin)
        lookup = _lookup_microseconds()
    finally:
        server.stop()
        connection.close()
    without, with_rules = percentiles(results[False]), percentiles(results[True])
    added = with_rules["p95"] - without["p95"]
    report(
        f"POST /api/actions, 0 active rules ({label})",
        f"p50 {without['p50']:.2f} ms, p95 {without['p95']:.2f} ms",
        "-",
        True,
    )
    report(
        f"POST /api/actions, 1,000 active rules ({label})",
        f"p50 {with_rules['p50']:.2f} ms, p95 {with_rules['p95']:.2f} ms",
        "-",
        True,
    )
    report(f"p95 added by 1,000 active rules ({label})", f"{added:+.2f} ms", "<= 1 ms", added <= 1.0)
    report(
        f"rule lookup alone, 1,000 rules, 100 of the action's type ({label})",
        f"p50 {lookup['p50']:.0f} µs, p95 {lookup['p95']:.0f} µs",
        "-",
        True,
    )


def _run(label: str, database_url: str) -> None:
    """Each database in its own process: Django is set up once per process."""
    import subprocess

    env = {**os.environ, "BENCH_RULES_ONE": label, "BENCH_RULES_URL": database_url}
    subprocess.run([sys.executable, __file__], env=env, check=True)


def main() -> None:
    one = os.environ.get("BENCH_RULES_ONE")
    if one:
        bench(one, environment(os.environ["BENCH_RULES_URL"], ACTIONHUB_RULES_ENABLED="1"))
        return
    print("| benchmark | result | target | met |")
    print("|---|---|---|---|", flush=True)
    sqlite = Path(tempfile.mkdtemp()) / "bench.sqlite3"
    _run("SQLite", f"sqlite:///{sqlite}")
    if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        url = bench_database_url(os.environ.get("BENCH_DATABASE_NAME", "actionhub_rules_bench"))
        recreate_database(url)
        _run("PostgreSQL", url)


if __name__ == "__main__":
    main()
