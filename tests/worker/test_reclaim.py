"""Tasks claimed by a worker that died before it finished them: real worker processes reclaim them."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection, connections
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from approvals.models import Action, Status
from approvals.runtime import runtime_set
from audit.models import AuditEntry
from notifications.tasks import held_notices_send
from tests.factories import make_action
from tests.workers import start_worker, stop, wait_for
from worker.maintenance import TASK_PATH
from worker.models import WORKER_ALIVE_WITHIN, WorkerHeartbeat

pytestmark = pytest.mark.django_db(transaction=True)

DEAD = "host-1-dead"
LIVE = "host-2-live"
HELD_DELETE = {"action_type": "file_operation", "parameters": {"operation": "delete", "path": "notes/old.txt"}}


class CountingServer:
    """An upstream API on loopback that counts the POSTs it answers, each once `release` is set."""

    def __init__(self) -> None:
        self.hits = 0
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.release.set()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                outer.hits += 1
                outer.arrived.set()
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.release.wait(30)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def upstream(settings) -> Iterator[CountingServer]:
    server = CountingServer()
    settings.ACTIONHUB_API_ALLOWLIST = [server.url]
    yield server
    server.close()


def _post(alice, upstream: CountingServer, name: str) -> Action:
    """A non-idempotent action, approved at once; its execution task is queued when the approval commits."""
    action = make_action(
        alice, {"action_type": "api_call", "parameters": {"method": "POST", "url": f"{upstream.url}/{name}"}}
    )
    assert action.status == Status.APPROVED
    return action


def _task(action: Action) -> DBTaskResult:
    return DBTaskResult.objects.get(task_path=TASK_PATH, args_kwargs__kwargs__action_id=str(action.id))


def _claim(task: DBTaskResult, *, worker_id: str, seen_ago: timedelta) -> None:
    """Leave `task` as a worker does on claiming it (RUNNING under its id), its heartbeat last seen `seen_ago`."""
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id, defaults={"pid": 4242, "started_at": now - seen_ago, "last_seen": now - seen_ago}
    )
    task.claim(worker_id)


def _events(action: Action) -> list[str]:
    return list(AuditEntry.objects.filter(action_id=action.id).order_by("seq").values_list("event", flat=True))


def _status(action: Action) -> str:
    return Action.objects.values_list("status", flat=True).get(id=action.id)


def test_it_runs_once_an_action_whose_task_a_dead_worker_claimed_before_starting_it(alice, upstream):
    orphan, held = _post(alice, upstream, "orphan"), _post(alice, upstream, "held")
    _claim(_task(orphan), worker_id=DEAD, seen_ago=WORKER_ALIVE_WITHIN * 2)
    _claim(_task(held), worker_id=LIVE, seen_ago=timedelta(0))
    worker = start_worker(ACTIONHUB_API_ALLOWLIST=upstream.url)
    try:
        assert wait_for(lambda: _status(orphan) == Status.COMPLETED)
    finally:
        stop(worker)
    assert upstream.hits == 1
    assert _events(orphan) == ["action.created", "action.approved", "action.started", "action.completed"]
    task = _task(orphan)
    assert task.status == TaskResultStatus.SUCCESSFUL and task.worker_ids[0] == DEAD and len(task.worker_ids) == 2
    # A task whose worker is alive stays with it, however many maintenance rounds pass.
    held_task = _task(held)
    assert (held_task.status, held_task.worker_ids) == (TaskResultStatus.RUNNING, [LIVE])
    assert _status(held) == Status.APPROVED
    assert _events(held) == ["action.created", "action.approved"]


def test_it_keeps_a_busy_worker_alive_while_its_action_runs(alice, upstream):
    upstream.release.clear()
    worker = start_worker(ACTIONHUB_API_ALLOWLIST=upstream.url)
    try:
        action = _post(alice, upstream, "slow")
        assert upstream.arrived.wait(20)
        (beat,) = WorkerHeartbeat.objects.all()
        # The worker's main loop is inside the handler; its heartbeat still moves on.
        assert wait_for(lambda: WorkerHeartbeat.objects.get(worker_id=beat.worker_id).last_seen > beat.last_seen)
        assert _status(action) == Status.EXECUTING
        upstream.release.set()
        assert wait_for(lambda: _status(action) == Status.COMPLETED)
    finally:
        stop(worker)
    assert upstream.hits == 1


def test_it_delivers_a_notification_whose_task_a_dead_worker_claimed(alice, upstream):
    runtime_set(key="webhook_urls", value=[f"{upstream.url}/hook"], actor="test")
    action = make_action(alice, HELD_DELETE)
    assert action.status == Status.PENDING
    assert held_notices_send() == 1
    (delivery,) = DBTaskResult.objects.filter(task_path="notifications.tasks.deliver_notification")
    _claim(delivery, worker_id=DEAD, seen_ago=WORKER_ALIVE_WITHIN * 2)
    worker = start_worker()
    try:
        wait_for(lambda: AuditEntry.objects.filter(action_id=action.id, event="notification.sent").exists())
    finally:
        stop(worker)
    assert upstream.hits == 1
    assert AuditEntry.objects.filter(action_id=action.id, event="notification.sent").count() == 1
    assert not DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).exists()
    assert _status(action) == Status.PENDING


@pytest.mark.skipif(connection.vendor != "postgresql", reason="holds a row lock that SQLite has no way to take")
def test_it_runs_once_an_action_whose_worker_was_killed_between_claiming_and_starting_it(alice, upstream):
    action = _post(alice, upstream, "killed")
    lock = connections.create_connection("default")
    first = second = None
    try:
        # Hold the action's row: the worker claims the task, then waits inside action_start until it is killed.
        lock.set_autocommit(False)
        with lock.cursor() as cursor:
            cursor.execute("SELECT id FROM approvals_action WHERE id = %s FOR UPDATE", [str(action.id)])
        first = start_worker(ACTIONHUB_API_ALLOWLIST=upstream.url)
        wait_for(lambda: _task(action).status == TaskResultStatus.RUNNING)
        first.send_signal(signal.SIGKILL)
        first.wait()
        lock.rollback()
        assert _status(action) == Status.APPROVED and _task(action).status == TaskResultStatus.RUNNING
        second = start_worker(ACTIONHUB_API_ALLOWLIST=upstream.url)
        # The killed worker is presumed dead once its heartbeat is older than WORKER_ALIVE_WITHIN.
        assert wait_for(lambda: _status(action) == Status.COMPLETED, timeout=WORKER_ALIVE_WITHIN.total_seconds() + 20)
    finally:
        lock.close()
        for process in (first, second):
            if process:
                stop(process)
    assert upstream.hits == 1
    assert _events(action) == ["action.created", "action.approved", "action.started", "action.completed"]
    assert len(_task(action).worker_ids) == 2
