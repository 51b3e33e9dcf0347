"""The image at scale: 2 web and 3 worker containers on one PostgreSQL and Redis.

1,000 HIGH actions are submitted through one web container and decided through the other while a
worker container is killed; each action is a POST to a counting receiver here, a kind that is not
safe to repeat, so a second execution would show as a second request. A live update crosses web
containers, and stopping a web container closes its websockets as a restart (1012).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import psycopg
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.conftest import require
from tests.workers import wait_for

N_ACTIONS = 1000
BATCH = 200  # the most one bulk decision takes
PASSWORD = "scale-" + secrets.token_hex(8)
FINAL = ("completed", "failed")

SETUP = f"""
import io
from django.contrib.auth import get_user_model
from django.core.management import call_command
call_command("create_user", "alice", stdout=io.StringIO())
call_command("create_user", "bob", "--role", "reviewers", stdout=io.StringIO())
for user in get_user_model().objects.filter(username__in=["alice", "bob"]):
    user.set_password({PASSWORD!r})
    user.save()
for name in ("alice", "bob"):
    out = io.StringIO()
    call_command("issue_token", name, stdout=out)
    print("token", name, out.getvalue().strip())
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Receiver:
    """Counts the requests each action sends (POST /sink/<n>)."""

    def __init__(self) -> None:
        self.hits: Counter[int] = Counter()
        lock = threading.Lock()
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    hits[int(self.path.rsplit("/", 1)[1])] += 1
                body = b'{"ok": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sink/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def started(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def session_cookie(base: str, username: str) -> str:
    with httpx.Client(base_url=base, timeout=10) as client:
        client.get("/accounts/login/")
        csrf = client.cookies["csrftoken"]
        answer = client.post(
            "/accounts/login/", data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": csrf}
        )
        assert answer.status_code == 302, answer.text[:500]
        return f"sessionid={client.cookies['sessionid']}"


def live_socket(port: int, cookie: str, action_id: str):
    return connect(
        f"ws://127.0.0.1:{port}/ws/approvals/?action={action_id}",
        additional_headers={"Cookie": cookie, "Origin": f"http://127.0.0.1:{port}"},
        open_timeout=10,
    )


@pytest.fixture
def receiver():
    sink = Receiver()
    yield sink
    sink.close()


@pytest.fixture
def sql(scratch_database):
    with psycopg.connect(scratch_database, autocommit=True) as conn:
        yield conn


# The database first: its teardown, which needs every container gone, then runs last.
def test_it_loses_and_repeats_nothing_across_two_webs_and_three_workers(scratch_database, containers, sql, receiver):
    redis_url = os.environ.get("REDIS_URL", "")
    require(redis_url.startswith("redis"), "Redis (REDIS_URL) for the containers' channel layer")
    began = time.monotonic()
    env = {
        "DATABASE_URL": scratch_database,
        "REDIS_URL": redis_url,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        # Plain HTTP on loopback: no proxy terminates TLS in this test.
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "ACTIONHUB_API_ALLOWLIST": receiver.url,
        # Held, so that every action is decided by a reviewer, and never safe to repeat (a POST).
        "ACTIONHUB_POLICY_OVERRIDES": json.dumps({"api_call": "high"}),
        "ACTIONHUB_RATE_LIMIT": "1000000/m",
        "ACTIONHUB_LEASE_SECONDS": "3",
        "ACTIONHUB_SANDBOX_POOL_SIZE": "0",
        "ACTIONHUB_LOG_LEVEL": "WARNING",
    }
    migrated = containers.run("migrate", env=env, timeout=180)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    assert "Created the first user: admin" in migrated.stdout
    port_a, port_b = free_port(), free_port()
    for name, port in (("web-a", port_a), ("web-b", port_b)):
        web_env = {**env, "ACTIONHUB_WEB_PORT": str(port), "ACTIONHUB_WEB_WORKERS": "2"}
        started(containers.run("web", env=web_env, detach=True, name=name))
    workers = [started(containers.run("worker", env=env, detach=True, name=f"worker-{n}")) for n in (1, 2, 3)]
    output = started(containers.run("shell", "-c", SETUP, env=env)).splitlines()
    tokens = dict(line.split()[1:] for line in output if line.startswith("token "))
    db = sql

    def scalar(sql: str, *params):
        return db.execute(sql, params).fetchone()[0]

    wait_for(lambda: ready(port_a) and ready(port_b), timeout=90, interval=0.25, what="both web containers ready")
    wait_for(
        lambda: scalar("SELECT count(*) FROM approvals_workerheartbeat") == 3,
        timeout=60,
        interval=0.25,
        what="three workers beating",
    )
    up = time.monotonic() - began

    web_a = httpx.Client(
        base_url=f"http://127.0.0.1:{port_a}/api", headers={"Authorization": f"Bearer {tokens['alice']}"}
    )
    web_b = httpx.Client(
        base_url=f"http://127.0.0.1:{port_b}/api", headers={"Authorization": f"Bearer {tokens['bob']}"}
    )

    # A live update across web containers: the page's socket on A, the decision on B.
    probe = web_a.post(
        "/actions", json={"action_type": "api_call", "parameters": {"method": "POST", "url": receiver.url + "0"}}
    )
    assert probe.status_code == 201, probe.text
    probe_id = probe.json()["id"]
    assert probe.json()["status"] == "pending"
    alice_cookie = session_cookie(f"http://127.0.0.1:{port_a}", "alice")
    with live_socket(port_a, alice_cookie, probe_id) as ws:
        time.sleep(0.5)  # the socket has joined its group
        decided = time.monotonic()
        assert web_b.post(f"/actions/{probe_id}/approve", json={"approved": True}).status_code == 200
        first = ws.recv(timeout=10)
        live_update_ms = (time.monotonic() - decided) * 1000
        assert probe_id in first or "approved" in first.lower() or "executing" in first.lower(), first[:300]
        while "completed" not in first.lower():
            first = ws.recv(timeout=20)

    # 1,000 submissions through A.
    def submit(index: int) -> tuple[int, str, str]:
        body = {
            "action_type": "api_call",
            "parameters": {"method": "POST", "url": f"{receiver.url}{index}", "json": {"n": index}},
        }
        answer = submitter.post("/actions", json=body)
        assert answer.status_code == 201, answer.text
        return index, answer.json()["id"], answer.json()["payload_hash"]

    submitter = httpx.Client(
        base_url=f"http://127.0.0.1:{port_a}/api",
        headers={"Authorization": f"Bearer {tokens['alice']}"},
        limits=httpx.Limits(max_connections=8),
        timeout=30,
    )
    t = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        submitted = list(pool.map(submit, range(1, N_ACTIONS + 1)))
    submit_seconds = time.monotonic() - t
    ids = {action_id: index for index, action_id, _ in submitted}
    assert scalar("SELECT count(*) FROM approvals_action WHERE status = 'pending'") == N_ACTIONS

    # Decided through B, 200 at a time; worker 1 is killed once executions are well under way.
    def decide(batch) -> None:
        decisions = [{"id": action_id, "approved": True, "payload_hash": digest} for _, action_id, digest in batch]
        answer = web_b.post("/actions/decide", json={"decisions": decisions}, timeout=120)
        assert answer.status_code == 200, answer.text
        assert Counter(item["status"] for item in answer.json()["results"]) == {"approved": len(batch)}

    def finished() -> int:
        return scalar("SELECT count(*) FROM approvals_action WHERE status IN ('completed', 'failed')")

    t = time.monotonic()
    batches = [submitted[start : start + BATCH] for start in range(0, N_ACTIONS, BATCH)]
    for batch in batches[:2]:
        decide(batch)
    wait_for(lambda: finished() >= 150, timeout=60, interval=0.25, what="150 executions")
    in_flight = scalar("SELECT count(*) FROM approvals_action WHERE status IN ('approved', 'executing')")
    killed = subprocess.run(["docker", "kill", "--signal", "KILL", workers[0]], capture_output=True, text=True)
    assert killed.returncode == 0, killed.stderr
    for batch in batches[2:]:
        decide(batch)
    decide_seconds = time.monotonic() - t
    wait_for(lambda: finished() == N_ACTIONS + 1, timeout=150, interval=0.5, what="every action final")
    run_seconds = time.monotonic() - t

    rows = db.execute("SELECT id::text, status, error FROM approvals_action").fetchall()
    status = {action_id: (state, error) for action_id, state, error in rows if action_id in ids}
    hits = receiver.hits
    lost = [action_id for action_id in ids if action_id not in status or status[action_id][0] not in FINAL]
    repeated = sorted(index for index, count in hits.items() if count > 1)
    completed_unsent = [a for a, (state, _) in status.items() if state == "completed" and hits[ids[a]] != 1]
    failures = Counter(error for state, error in status.values() if state == "failed")
    twice_finished = scalar(
        "SELECT count(*) FROM (SELECT action_id FROM audit_auditentry WHERE event IN "
        "('action.completed', 'action.failed') GROUP BY action_id HAVING count(*) > 1) AS repeated"
    )
    twice_started = scalar(
        "SELECT count(*) FROM (SELECT action_id FROM audit_auditentry WHERE event = 'action.started' "
        "GROUP BY action_id HAVING count(*) > 1) AS repeated"
    )
    verified = containers.run("verify_audit", env=env)
    # The image's own HEALTHCHECK, as compose's depends_on reads it: web-b and worker 3 ran throughout.
    health = {
        name: subprocess.run(
            ["docker", "inspect", "--format", "{{.State.Health.Status}}", name], capture_output=True, text=True
        ).stdout.strip()
        for name in (f"web-b-{containers.label.split('=')[1]}", workers[2])
    }

    # Stopping a web container: its websockets close as a restart, a request in flight (a long poll
    # on a held action) is still answered, and it exits cleanly.
    held = web_a.post(
        "/actions", json={"action_type": "api_call", "parameters": {"method": "POST", "url": receiver.url + "0"}}
    )
    assert held.status_code == 201, held.text
    waited: dict[str, object] = {}

    def long_poll() -> None:
        try:
            waited["answer"] = web_a.get(f"/actions/{held.json()['id']}/wait", params={"timeout": 3}, timeout=30)
        except httpx.HTTPError as exc:
            waited["error"] = exc

    poller = threading.Thread(target=long_poll)
    with live_socket(port_a, alice_cookie, probe_id) as ws:
        poller.start()
        time.sleep(0.5)
        t = time.monotonic()
        stopper = subprocess.Popen(["docker", "stop", "-t", "40", f"web-a-{containers.label.split('=')[1]}"])
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=30)
        close_code = closed.value.rcvd.code if closed.value.rcvd else None
        stopper.wait(timeout=60)
        web_stop_seconds = time.monotonic() - t
        poller.join(timeout=30)
    # A worker stopped the same way takes no new work, finishes and leaves its heartbeat behind it.
    stopped_worker = subprocess.run(["docker", "stop", "-t", "40", workers[1]], capture_output=True, text=True)
    assert stopped_worker.returncode == 0, stopped_worker.stderr
    worker_exit = subprocess.run(
        ["docker", "inspect", "--format", "{{.State.ExitCode}}", workers[1]], capture_output=True, text=True
    ).stdout.strip()
    beating = scalar("SELECT count(*) FROM approvals_workerheartbeat")
    fresh = scalar("SELECT count(*) FROM approvals_workerheartbeat WHERE last_seen > now() - interval '15 seconds'")
    web_exit = subprocess.run(
        ["docker", "inspect", "--format", "{{.State.ExitCode}}", f"web-a-{containers.label.split('=')[1]}"],
        capture_output=True,
        text=True,
    ).stdout.strip()

    print(
        f"\nscale: up {up:.1f}s; submit {N_ACTIONS} in {submit_seconds:.1f}s ({N_ACTIONS / submit_seconds:.0f}/s); "
        f"decided in {decide_seconds:.1f}s; all final {run_seconds:.1f}s after the first decision; "
        f"in flight when worker 1 was killed: {in_flight}; completed {N_ACTIONS - sum(failures.values())}, "
        f"failed {dict(failures)}; live update A<-B {live_update_ms:.0f} ms; web stop {web_stop_seconds:.1f}s "
        f"(close {close_code}); total {time.monotonic() - began:.1f}s"
    )
    assert lost == []
    assert repeated == []
    assert completed_unsent == []
    assert set(failures) <= {"interrupted"}, failures
    assert twice_finished == 0
    assert twice_started == 0
    assert in_flight > 0
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("OK"), verified.stdout
    assert set(health.values()) == {"healthy"}, health
    assert close_code == 1012
    assert "error" not in waited, waited
    assert waited["answer"].status_code == 200
    assert waited["answer"].json()["status"] == "pending"
    assert web_exit == "0"
    assert worker_exit == "0"
    # Worker 1 was killed: its row stays, silent. Worker 2 removed its own on the way out.
    assert (beating, fresh) == (2, 1)
    assert live_update_ms < 5000
