"""What standing rules add to POST /api/actions: p95 with 0 and with 1,000 active rules.

One web server (gunicorn + one uvicorn worker), one keep-alive connection, sequential requests
of a HIGH file_operation that 100 rules of its type could apply to and none matches (the other
900 are for other types and skills). The 1,000 rules are switched between active and disabled
every 50 requests (the version moves, so the server reloads; the first 3 requests after each
switch are not counted), so bursts of load on a shared machine hit both states alike. Runs on
SQLite and, when DATABASE_URL is a PostgreSQL URL, on PostgreSQL. Also times the in-process
lookup alone (version read + index + matching).

    .venv/bin/python bench/rules.py            # SQLite only
    DATABASE_URL=postgres://… .venv/bin/python bench/rules.py
"""

from __future__ import annotations

import json
import os
import random
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
SAMPLES = int(os.environ.get("BENCH_RULES_SAMPLES", "4000"))
BLOCK = 50
SKIP_AFTER_SWITCH = 3
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


def _create_rules(admin) -> None:
    from rules.services import rule_create

    for spec in _rule_specs():
        rule_create(user=admin, skill_id=spec.pop("skill_id", None), expires_at=None, note="bench", **spec)


def _switch_rules(active: bool) -> None:
    """Benchmark harness only: flip every rule between live and disabled in one statement."""
    from django.utils import timezone

    from rules.models import Rule
    from rules.services import _bump_version

    Rule.objects.update(disabled_at=None if active else timezone.now())
    _bump_version()


def _alternating_latencies(server: Server, token: str, count: int) -> dict[bool, list[float]]:
    """`count` counted requests per state, in blocks of BLOCK that alternate; ms per request."""
    import httpx

    body = json.dumps(ACTION)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    samples: dict[bool, list[float]] = {False: [], True: []}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
        for _ in range(WARMUP):
            client.post("/api/actions", content=body)
        active = True
        while min(len(samples[False]), len(samples[True])) < count:
            active = not active
            _switch_rules(active)
            for index in range(BLOCK):
                started = time.perf_counter()
                response = client.post("/api/actions", content=body)
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 201 or response.json()["status"] != "pending":
                    raise RuntimeError(f"unexpected answer {response.status_code}: {response.text[:200]}")
                if index >= SKIP_AFTER_SWITCH:
                    samples[active].append(elapsed)
    return {state: values[:count] for state, values in samples.items()}


def _p95_difference_interval(off: list[float], on: list[float], rounds: int = 1000) -> tuple[float, float]:
    """A bootstrap 95% interval for p95(on) - p95(off): how far noise alone moves the difference."""
    rng = random.Random(8)
    differences = sorted(
        percentiles(rng.choices(on, k=len(on)))["p95"] - percentiles(rng.choices(off, k=len(off)))["p95"]
        for _ in range(rounds)
    )
    return differences[int(rounds * 0.025)], differences[int(rounds * 0.975)]


def _lookup_microseconds(requester_id: int, samples: int = 5000) -> dict[str, float]:
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
            requester_id=requester_id,
        )
        timings.append((time.perf_counter() - started) * 1_000_000)
    return percentiles(timings)


def bench(label: str, env: dict[str, str]) -> None:
    manage(env, "migrate", "--noinput")
    manage(env, "create_user", "alice")
    manage(env, "create_user", "erin", "--role", "reviewers", "--role", "rule_admins")
    token = manage(env, "issue_token", "alice")
    setup_django(env)
    from django.contrib.auth import get_user_model
    from django.db import connection

    _create_rules(get_user_model().objects.get(username="erin"))
    lookup = _lookup_microseconds(get_user_model().objects.get(username="alice").pk)
    server = Server(env, workers=1)
    try:
        samples = _alternating_latencies(server, token, SAMPLES)
    finally:
        server.stop()
        connection.close()
    off, on = percentiles(samples[False]), percentiles(samples[True])
    added = on["p95"] - off["p95"]
    low, high = _p95_difference_interval(samples[False], samples[True])
    report(
        f"POST /api/actions, 0 active rules ({label})",
        f"p50 {off['p50']:.2f} ms, p95 {off['p95']:.2f} ms",
        "-",
        True,
    )
    report(
        f"POST /api/actions, 1,000 active rules ({label})",
        f"p50 {on['p50']:.2f} ms, p95 {on['p95']:.2f} ms",
        "-",
        True,
    )
    report(
        f"p95 added by 1,000 active rules ({label})",
        f"{added:+.2f} ms (95% interval {low:+.2f} to {high:+.2f} ms)",
        "<= 1 ms",
        added <= 1.0,
    )
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
        bench(one, environment(os.environ["BENCH_RULES_URL"]))
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
