"""Soak: web processes and workers on Postgres + Redis while a random worker is SIGKILLed every few seconds.

Clients submit `api_call` actions (MEDIUM: approved by policy at once) against a loopback recorder
in this process, half of them GET (idempotent: a retry after a crash is allowed) and half POST (not
idempotent: it must never run twice). Each action calls its own recorder path, so what ran, and how
often, is seen outside the database. The recorder holds each request a random 0-300 ms so that
kills land in the middle of executions as well as between claim and start. A supervisor restarts a
killed worker, as `make run` does. After the load stops (and the kills with it) the workers get a
drain: it lasts while they make progress. Then every action is read back.

Reported: submitted, completed, failed (of which `interrupted`), stuck (not completed or failed
once nothing has finished for `--stall` seconds after the load), double-executed (a POST that
reached the recorder more than once, or a completed action that never reached it), GET retries,
the audit chain's verdict and the completed throughput.
Target: 0 stuck and 0 double-executed, every run.

`bash bench/run.sh` runs it with the defaults (about two minutes); `python bench/soak.py --help`
lists the flags for longer runs (`--seconds 480 --kill-every 5` is the 8-minute soak).
"""

from __future__ import annotations

import argparse
import collections
import http.server
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    PYTHON,
    ROOT,
    Server,
    bench_database_url,
    environment,
    free_port,
    manage,
    recreate_database,
    report,
    setup_django,
)

FINAL = {"completed", "failed", "rejected", "expired", "cancelled"}


class Recorder(http.server.ThreadingHTTPServer):
    """Counts the requests each path receives; answers after a random pause."""

    daemon_threads = True

    def __init__(self, port: int) -> None:
        self.hits: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _RecorderHandler)


class _RecorderHandler(http.server.BaseHTTPRequestHandler):
    server: Recorder

    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        with self.server.lock:
            self.server.hits[self.path] += 1
        time.sleep(random.uniform(0, 0.3))
        body = b'{"ok": true}'
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the worker that sent it was killed meanwhile

    do_GET = do_POST = _record

    def log_message(self, format: str, *args: object) -> None:
        pass


class Workers:
    """M `run_worker` processes; a killed one is started again, as `make run` does."""

    def __init__(self, env: dict[str, str], count: int) -> None:
        self.env = env
        self.processes = [self._start() for _ in range(count)]
        self.kills = 0
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.supervisor = threading.Thread(target=self._supervise, daemon=True)
        self.supervisor.start()

    def _start(self) -> subprocess.Popen:
        return subprocess.Popen([PYTHON, "manage.py", "run_worker"], cwd=ROOT, env=self.env)

    def _supervise(self) -> None:
        while not self.stopped.wait(0.2):
            with self.lock:
                for index, process in enumerate(self.processes):
                    if process.poll() is not None:
                        self.processes[index] = self._start()

    def kill_one(self) -> None:
        with self.lock:
            victim = random.choice(self.processes)
            if victim.poll() is None:
                victim.send_signal(signal.SIGKILL)
                self.kills += 1

    def stop(self) -> None:
        self.stopped.set()
        self.supervisor.join()
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()


def submit_loop(url: str, token: str, recorder_url: str, rate: float, until: float, out: list, lock) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        next_at = time.monotonic()
        while time.monotonic() < until:
            method = random.choice(("GET", "POST"))
            path = f"/rec/{uuid.uuid4().hex}"
            parameters = {"method": method, "url": recorder_url + path}
            if method == "POST":
                parameters["json"] = {"n": path}
            try:
                response = client.post("/api/actions", json={"action_type": "api_call", "parameters": parameters})
            except httpx.HTTPError:
                continue
            if response.status_code == 201:
                with lock:
                    out.append((response.json()["id"], method, path))
            next_at += 1 / rate
            time.sleep(max(0.0, next_at - time.monotonic()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--web", type=int, default=2, help="web processes (gunicorn + uvicorn workers)")
    parser.add_argument("--workers", type=int, default=3, help="executor workers")
    parser.add_argument("--seconds", type=float, default=60, help="how long clients submit and workers are killed")
    parser.add_argument("--kill-every", type=float, default=5, help="seconds between SIGKILLs of a random worker")
    parser.add_argument("--rate", type=float, default=10, help="submits per second, all clients together")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument(
        "--stall", type=float, default=30, help="after the load: stuck means nothing finished for this many seconds"
    )
    args = parser.parse_args()

    recorder_port = free_port()
    recorder = Recorder(recorder_port)
    threading.Thread(target=recorder.serve_forever, daemon=True).start()
    recorder_url = f"http://127.0.0.1:{recorder_port}"

    url = bench_database_url("actionhub_soak")
    recreate_database(url)
    extra = {
        "ACTIONHUB_API_ALLOWLIST": f"{recorder_url}/rec/",
        "ACTIONHUB_SANDBOX_POOL_SIZE": "0",
        # Short leases so recovery of a killed execution happens within the run.
        "ACTIONHUB_LEASE_SECONDS": "3",
        "ACTIONHUB_MAINTENANCE_INTERVAL": "0.5",
    }
    if os.environ.get("REDIS_URL"):
        extra["REDIS_URL"] = os.environ["REDIS_URL"]
    env = environment(url, **extra)
    manage(env, "migrate", "--noinput")
    manage(env, "create_user", "alice")
    token = manage(env, "issue_token", "alice")

    server = Server(env, workers=args.web)
    workers = Workers(env, args.workers)
    submitted: list[tuple[str, str, str]] = []
    lock = threading.Lock()
    try:
        time.sleep(2)
        start = time.monotonic()
        until = start + args.seconds
        clients = [
            threading.Thread(
                target=submit_loop,
                args=(server.url, token, recorder_url, args.rate / args.clients, until, submitted, lock),
            )
            for _ in range(args.clients)
        ]
        for client in clients:
            client.start()
        while time.monotonic() < until:
            time.sleep(min(args.kill_every, max(0.0, until - time.monotonic())))
            if time.monotonic() < until:
                workers.kill_one()
        for client in clients:
            client.join()

        setup_django(env)
        from approvals.models import Action

        ids = [action_id for action_id, _, _ in submitted]
        # A backlog is not stuck: the drain lasts while the workers make progress, and ends once every
        # action is finished or none has finished for `--stall` seconds (longer than a dead worker's
        # heartbeat takes to go stale plus its reclaim).
        open_count, progress_at = len(ids), time.monotonic()
        while open_count and time.monotonic() - progress_at < args.stall:
            time.sleep(0.5)
            still_open = Action.objects.filter(id__in=ids).exclude(status__in=FINAL).count()
            if still_open < open_count:
                open_count, progress_at = still_open, time.monotonic()
        finished = Action.objects.filter(id__in=ids, status__in=("completed", "failed"))
        last = max((a.completed_at for a in finished if a.completed_at), default=None)
        first = Action.objects.filter(id__in=ids).order_by("created_at").values_list("created_at", flat=True).first()
    finally:
        workers.stop()
        server.stop()

    rows = {str(a.id): a for a in Action.objects.filter(id__in=ids)}
    with recorder.lock:
        hits = dict(recorder.hits)
    statuses = collections.Counter(a.status for a in rows.values())
    interrupted = sum(1 for a in rows.values() if a.status == "failed" and a.error == "interrupted")
    stuck = [i for i, a in rows.items() if a.status not in FINAL]
    double, retries = [], 0
    for action_id, method, path in submitted:
        count = hits.get(path, 0)
        action = rows[action_id]
        if method == "POST" and count > 1:
            double.append(action_id)
        elif action.status == "completed" and count == 0:
            double.append(action_id)  # recorded as done without having run: as wrong as running twice
        elif method == "GET" and count > 1:
            retries += count - 1
    audit = subprocess.run(
        [PYTHON, "manage.py", "verify_audit"], cwd=ROOT, env=env, capture_output=True, text=True
    ).stdout.strip()
    seconds = (last - first).total_seconds() if last and first else float("nan")
    throughput = statuses["completed"] / seconds if seconds else 0.0

    print(
        f"soak: {args.web} web, {args.workers} workers, {args.seconds:g} s, SIGKILL every {args.kill_every:g} s "
        f"({workers.kills} kills), {args.rate:g} submits/s offered"
    )
    print("| benchmark | result | target | met |")
    print("|---|---|---|---|")
    report("soak: submitted", f"{len(submitted):,}", "-", True)
    report(
        "soak: completed / failed (interrupted)",
        f"{statuses['completed']:,} / {statuses['failed']:,} ({interrupted:,})",
        "-",
        True,
    )
    report("soak: stuck (nothing left moving)", f"{len(stuck)}", "0", not stuck)
    report("soak: double-executed", f"{len(double)}", "0", not double)
    report("soak: GET re-runs after a kill (idempotent, allowed)", f"{retries}", "-", True)
    report("soak: audit chain", audit or "verify_audit printed nothing", "OK", audit.startswith("OK"))
    report("soak: completed throughput", f"{throughput:.1f} actions/s", "-", True)
    for action_id in stuck[:10]:
        print(f"stuck: {action_id} {rows[action_id].status}", file=sys.stderr)
    for action_id in double[:10]:
        print(f"double: {action_id} {rows[action_id].status}", file=sys.stderr)
    if stuck or double:
        sys.exit(1)


if __name__ == "__main__":
    main()
