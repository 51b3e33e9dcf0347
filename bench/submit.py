"""Durable submit against its references, side by side in one run, with the CPU each request costs.

One gunicorn server (3 uvicorn workers, DEBUG off) serves ActionHub and three reference views
(bench/submit_views.py): the insert floor (the action row and its chained audit row in one commit),
the statement floor (the same two rows in one statement, as a held submit writes them, without its
checks) and an in-memory submit (the same checks, nothing stored). wrk (16 connections) loads each
in turn, `--rounds` times, so the machine's noise falls on all four alike; each figure is the median of its
rounds (a ratio: the median of the rounds' ratios). CPU per request: the web workers' and the
Postgres backends' (of this database) from /proc, Redis's from INFO. Then the decision latency (one
approval through the API, p50 of 100) and the bulk decision of 200 HIGH actions in one POST (median
of 3 rounds).

Targets on this machine: submit >= 0.8x the insert floor, web CPU <= 5 ms per submit, bulk 200 <= 1 s.
`--profile FILE` also records the web workers with py-spy (`pip install py-spy`) during one extra
submit run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    Server,
    bench_database_url,
    environment,
    manage,
    percentiles,
    recreate_database,
    report,
)

HIGH = {"action_type": "file_operation", "parameters": {"operation": "delete", "path": "reports/old.csv"}}
TICKS = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


class Meters:
    """CPU seconds used so far by the web workers, this database's Postgres backends and Redis."""

    def __init__(self, server: Server, database_url: str, redis_url: str | None) -> None:
        import psycopg
        import redis

        self.server = server
        self.database = database_url.rsplit("/", 1)[1]
        self.admin = psycopg.connect(database_url.rsplit("/", 1)[0] + "/postgres", autocommit=True)
        self.redis = redis.Redis.from_url(redis_url) if redis_url else None

    def read(self) -> dict[str, float]:
        backends = self.admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'",
            [self.database],
        ).fetchall()
        redis_cpu = float("nan")
        if self.redis is not None:
            info = self.redis.info("cpu")
            redis_cpu = info["used_cpu_user"] + info["used_cpu_sys"]
        return {
            "web": sum(cpu_seconds(pid) for pid in self.server.worker_pids()),
            "postgres": {pid: cpu_seconds(pid) for (pid,) in backends},
            "redis": redis_cpu,
        }

    @staticmethod
    def per_request_ms(before: dict, after: dict, requests: int) -> dict[str, float]:
        postgres = sum(cpu - before["postgres"].get(pid, 0.0) for pid, cpu in after["postgres"].items())
        return {
            "web": (after["web"] - before["web"]) * 1000 / requests,
            "postgres": postgres * 1000 / requests,
            "redis": (after["redis"] - before["redis"]) * 1000 / requests,
        }


def wrk(url: str, token: str, *, seconds: int, connections: int) -> tuple[float, int, int]:
    """Requests per second, requests answered and non-2xx answers of a POST load on `url`."""
    script = Path(tempfile.mkdtemp()) / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(json.dumps(HIGH))}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
        "done = function(summary, latency, requests)\n"
        '  io.write(string.format("requests=%d non2xx=%d\\n", summary.requests, summary.errors.status))\n'
        "end\n"
    )
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests, errors = (int(n) for n in re.search(r"requests=(\d+) non2xx=(\d+)", out).groups())
    return rate, requests, errors


def profile(server: Server, token: str, path: str, seconds: int) -> None:
    """py-spy on every web worker during one submit run; raw (collapsed) stacks, one file per worker."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    spies = [
        subprocess.Popen(
            [
                spy,
                "record",
                "-p",
                str(pid),
                "-d",
                str(seconds),
                "-r",
                "200",
                "-f",
                "raw",
                "--gil",  # CPU: only the thread holding the GIL, not those waiting on Postgres
                "-o",
                f"{path}.{pid}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in server.worker_pids()
    ]
    time.sleep(1)
    wrk(f"{server.url}/api/actions", token, seconds=seconds - 2, connections=16)
    for spy in spies:
        spy.wait()


def decision_latency(server: Server, tokens: dict[str, str], samples: int = 100) -> dict[str, float]:
    alice = {"Authorization": f"Bearer {tokens['alice']}"}
    bob = {"Authorization": f"Bearer {tokens['bob']}"}
    timings = []
    with httpx.Client(base_url=f"{server.url}/api", timeout=30) as client:
        for index in range(samples + 10):
            created = client.post("/actions", json=HIGH, headers=alice).json()
            start = time.perf_counter()
            response = client.post(
                f"/actions/{created['id']}/approve",
                json={"approved": True, "payload_hash": created["payload_hash"]},
                headers=bob,
            )
            elapsed = (time.perf_counter() - start) * 1000
            assert response.status_code == 200, response.text
            if index >= 10:
                timings.append(elapsed)
    return percentiles(timings)


def bulk_latency(server: Server, tokens: dict[str, str], rounds: int = 3, size: int = 200) -> list[float]:
    alice = {"Authorization": f"Bearer {tokens['alice']}"}
    bob = {"Authorization": f"Bearer {tokens['bob']}"}
    timings = []
    with httpx.Client(base_url=f"{server.url}/api", timeout=120) as client:
        for round_number in range(rounds):
            created = []
            for index in range(size):
                body = {
                    "action_type": "file_operation",
                    "parameters": {"operation": "delete", "path": f"bulk/{round_number}/{index}.csv"},
                }
                created.append(client.post("/actions", json=body, headers=alice).json())
            items = [{"id": a["id"], "approved": True, "payload_hash": a["payload_hash"]} for a in created]
            start = time.perf_counter()
            response = client.post("/actions/decide", json={"decisions": items}, headers=bob)
            timings.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.text
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=8, help="length of each wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument(
        "--profile",
        default=os.environ.get("BENCH_PROFILE"),
        help="write py-spy raw stacks of the web workers to FILE.<pid> (default: BENCH_PROFILE)",
    )
    args = parser.parse_args()

    url = bench_database_url("actionhub_submit")
    recreate_database(url)
    redis_url = os.environ.get("REDIS_URL")
    env = environment(url, DJANGO_SETTINGS_MODULE="bench.submit_settings", ACTIONHUB_SANDBOX_POOL_SIZE="0")
    if redis_url:
        env["REDIS_URL"] = redis_url
    manage(env, "migrate", "--noinput")
    manage(env, "create_user", "alice")
    manage(env, "create_user", "bob", "--role", "reviewers")
    tokens = {name: manage(env, "issue_token", name) for name in ("alice", "bob")}

    server = Server(env, workers=args.web_workers)
    meters = Meters(server, url, redis_url)
    targets = {
        "submit": f"{server.url}/api/actions",
        "floor": f"{server.url}/bench/insert-floor",
        "statement": f"{server.url}/bench/statement-floor",
        "memory": f"{server.url}/bench/memory-submit",
    }
    rates: dict[str, list[float]] = {name: [] for name in targets}
    cpu: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
    try:
        for target in targets.values():  # warm-up: connections, caches, compiled rules
            wrk(target, tokens["alice"], seconds=2, connections=args.connections)
        for _ in range(args.rounds):
            for name, target in targets.items():
                before = meters.read()
                rate, requests, errors = wrk(
                    target, tokens["alice"], seconds=args.seconds, connections=args.connections
                )
                after = meters.read()
                if errors:
                    print(f"warning: {errors} non-2xx answers from {name}", file=sys.stderr)
                rates[name].append(rate)
                cpu[name].append(Meters.per_request_ms(before, after, requests))
        if args.profile:
            profile(server, tokens["alice"], args.profile, seconds=12)
        decision = decision_latency(server, tokens)
        bulk = bulk_latency(server, tokens)
    finally:
        server.stop()

    median = {name: statistics.median(values) for name, values in rates.items()}
    cost = {name: {part: statistics.median(c[part] for c in cpu[name]) for part in cpu[name][0]} for name in cpu}
    print(
        f"submit: {args.web_workers} web workers, wrk {args.connections} connections, "
        f"{args.rounds} rounds of {args.seconds} s; rounds: "
        + "; ".join(f"{name} {', '.join(f'{r:.0f}' for r in values)}" for name, values in rates.items())
    )
    print("| benchmark | result | target | met |")
    print("|---|---|---|---|")
    # Each round's submit against the same round's floor: the machine's load moves both alike.
    ratio = statistics.median(s / f for s, f in zip(rates["submit"], rates["floor"], strict=True))
    memory_ratio = statistics.median(s / m for s, m in zip(rates["submit"], rates["memory"], strict=True))
    statement_ratio = statistics.median(s / m for s, m in zip(rates["submit"], rates["statement"], strict=True))
    report(
        "durable submit, HIGH action, 16 connections",
        f"{median['submit']:,.0f} req/s: {ratio:.2f}x the insert floor ({median['floor']:,.0f} req/s), "
        f"{memory_ratio:.2f}x the in-memory submit ({median['memory']:,.0f} req/s)",
        ">= 0.8x the insert floor",
        ratio >= 0.8,
    )
    report(
        "durable submit against the same two rows written as it writes them (one statement, no checks)",
        f"{statement_ratio:.2f}x the statement floor ({median['statement']:,.0f} req/s)",
        "-",
        True,
    )
    for name, label in (
        ("submit", "durable submit"),
        ("floor", "insert floor"),
        ("statement", "statement floor"),
        ("memory", "in-memory submit"),
    ):
        c = cost[name]
        report(
            f"CPU per request, {label} (web / Postgres / Redis)",
            f"{c['web']:.2f} / {c['postgres']:.2f} / {c['redis']:.2f} ms",
            "web <= 5 ms" if name == "submit" else "-",
            c["web"] <= 5 if name == "submit" else True,
        )
    per_core = 1000 / (cost["submit"]["web"] + cost["submit"]["postgres"] + max(cost["submit"]["redis"], 0.0))
    report("durable submits per second per core (web + Postgres + Redis CPU)", f"{per_core:,.0f}", "-", True)
    report(
        "decision, one approval through the API",
        f"p50 {decision['p50']:.1f} ms, p95 {decision['p95']:.1f} ms",
        "-",
        True,
    )
    bulk_median = statistics.median(bulk)
    report(
        "bulk decision of 200 HIGH actions, one POST (Postgres)",
        f"median {bulk_median:,.0f} ms (rounds {', '.join(f'{t:,.0f}' for t in bulk)})",
        "<= 1 s",
        bulk_median <= 1000,
    )


if __name__ == "__main__":
    main()
