"""Signed callbacks end to end: submitted through the API, sent by an in-process worker to a real
HTTP receiver on loopback, verified with the scheme the README documents."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db import transaction

from approvals.kinds.base import ActionKind, Classification, Errors, Reversibility, check_keys, clip
from approvals.models import Action, SecurityLevel
from approvals.services import action_decide
from audit.models import AuditEntry
from callbacks.maintenance import requeue_lost_callbacks
from callbacks.models import CallbackDelivery
from tests.workers import in_process_worker

SECRET = "test-callback-secret"


class PingKind(ActionKind):
    """Answers `pong`; a `loud` ping is HIGH, so a reviewer decides it first."""

    name = "ping"
    label = "Ping"

    def schema(self, *, skill_id: str | None = None) -> dict[str, Any]:
        return {"type": "object", "properties": {"loud": {"type": "boolean"}}}

    def validate(self, parameters: dict[str, Any], errors: Errors, *, skill_id: str | None = None) -> None:
        check_keys(parameters, errors, required=(), optional=("loud",))

    def classify(self, parameters: dict[str, Any], *, skill_id: str | None = None) -> Classification:
        if parameters.get("loud"):
            return Classification(SecurityLevel.HIGH, ["a loud ping"])
        return Classification(SecurityLevel.LOW, ["a quiet ping"])

    def reversibility(self, parameters: dict[str, Any], *, skill_id: str | None = None) -> Reversibility:
        return Reversibility("reversible", "a ping changes nothing")

    def idempotent(self, parameters: dict[str, Any]) -> bool:
        return True

    def summary(self, action: Action) -> str:
        return clip("ping")

    def changes(self, action: Action) -> dict[str, Any]:
        return {}

    def run(self, action: Action) -> dict[str, Any]:
        return {"pong": True}


class Receiver:
    """A threaded HTTP server that records every request and answers from a script (then 200)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body, "at": time.monotonic()}
                )
                status = receiver.script.pop(0) if receiver.script else 200
                self.send_response(status)
                if status == 302:
                    self.send_header("Location", "/followed")
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[str]:
        return [json.loads(request["body"])["event"] for request in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture(autouse=True)
def callbacks_on(settings, receiver):
    settings.ACTIONHUB_ACTION_KINDS = [*settings.ACTIONHUB_ACTION_KINDS, f"{__name__}.PingKind"]
    settings.ACTIONHUB_CALLBACK_SECRET = SECRET
    settings.ACTIONHUB_CALLBACK_ALLOWLIST = [f"{receiver.url}/hooks"]
    settings.ACTIONHUB_CALLBACK_BACKOFF = timedelta(milliseconds=300)
    settings.ACTIONHUB_CALLBACK_TIMEOUT = 2.0


def verify(secret: str, header: str, body: bytes, *, tolerance: int = 300) -> bool:
    """The README's receiver check, written from its text."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    timestamp = int(fields["t"])
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"])


def run_worker_until(condition: Callable[[], object], *, timeout: float = 15.0) -> None:
    worker = in_process_worker("worker-callbacks")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = worker.claim()
        if task is not None:
            worker.run_task(task)
        elif condition():
            return
        else:
            time.sleep(0.02)
    raise AssertionError(f"condition not met within {timeout}s")


def submit(client, receiver: Receiver, *, parameters: dict[str, Any] | None = None, **extra: Any):
    body = {
        "action_type": "ping",
        "parameters": parameters or {},
        "callback_url": f"{receiver.url}/hooks/agent",
        "callback_state": {"thread": "t-1", "step": 3},
        **extra,
    }
    return client.post("/actions", body)


def audited(event: str, action_id: str) -> list[dict[str, Any]]:
    return list(
        AuditEntry.objects.filter(event=event, action_id=action_id).order_by("seq").values_list("data", flat=True)
    )


@pytest.mark.django_db(transaction=True)
def test_it_sends_a_signed_callback_a_receiver_verifies_and_a_tampered_body_fails(alice, api_as, receiver):
    created = submit(api_as(alice), receiver)
    assert created.status_code == 201, created.content
    action_id = created.json()["id"]

    run_worker_until(lambda: len(receiver.requests) == 2)

    first = receiver.requests[0]
    headers = first["headers"]
    assert first["path"] == "/hooks/agent"
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("ActionHub/")
    assert verify(SECRET, headers["ActionHub-Signature"], first["body"])
    assert not verify(SECRET, headers["ActionHub-Signature"], first["body"].replace(b"ping", b"pong"))
    assert not verify("another-secret", headers["ActionHub-Signature"], first["body"])
    body = json.loads(first["body"])
    assert body["event"] == "action.decided"
    assert body["state"] == {"thread": "t-1", "step": 3}
    assert (body["action"]["id"], body["action"]["status"]) == (action_id, "approved")
    assert body["action"]["decision"]["outcome"] == "approved"

    finished = json.loads(receiver.requests[1]["body"])
    assert finished["event"] == "action.finished"
    assert finished["action"] == api_as(alice).get(f"/actions/{action_id}").json()
    assert finished["action"]["result"] == {"pong": True}
    deliveries = {request["headers"]["ActionHub-Delivery"] for request in receiver.requests}
    assert deliveries == {str(d) for d in CallbackDelivery.objects.values_list("delivery_id", flat=True)}
    assert len(deliveries) == 2


@pytest.mark.django_db(transaction=True)
def test_it_retries_after_a_receiver_500_with_the_same_delivery_id_and_audits_each_attempt(
    alice, api_as, receiver, settings
):
    receiver.script = [500, 500]
    action_id = submit(api_as(alice), receiver).json()["id"]

    run_worker_until(lambda: len(receiver.requests) == 4)

    assert receiver.events() == ["action.decided"] * 3 + ["action.finished"]
    decided = receiver.requests[:3]
    assert len({request["headers"]["ActionHub-Delivery"] for request in decided}) == 1
    assert all(verify(SECRET, request["headers"]["ActionHub-Signature"], request["body"]) for request in decided)
    # Backoff doubles from the base delay: 0.3 s, then 0.6 s.
    assert decided[1]["at"] - decided[0]["at"] >= 0.3
    assert decided[2]["at"] - decided[1]["at"] >= 0.6
    failed = audited("callback.failed", action_id)
    assert [(d["attempt"], d["status_code"], d["will_retry"]) for d in failed] == [(1, 500, True), (2, 500, True)]
    delivered = audited("callback.delivered", action_id)
    assert [(d["event"], d["attempt"], d["status_code"]) for d in delivered] == [
        ("action.decided", 3, 200),
        ("action.finished", 1, 200),
    ]
    assert all(d["target"] == receiver.url for d in failed + delivered)
    text = json.dumps(failed + delivered)
    assert SECRET not in text and "v1=" not in text and "/hooks" not in text
    assert CallbackDelivery.objects.get(event="action.decided").attempts == 3


@pytest.mark.django_db(transaction=True)
def test_it_gives_up_after_the_last_attempt(alice, api_as, receiver, settings):
    settings.ACTIONHUB_CALLBACK_ATTEMPTS = 2
    receiver.script = [503, 503]
    action_id = submit(api_as(alice), receiver).json()["id"]

    run_worker_until(lambda: len(receiver.requests) == 3)

    assert receiver.events() == ["action.decided", "action.decided", "action.finished"]
    failed = audited("callback.failed", action_id)
    assert [(d["attempt"], d["will_retry"]) for d in failed] == [(1, True), (2, False)]
    assert CallbackDelivery.objects.get(event="action.decided").status == "failed"


@pytest.mark.django_db(transaction=True)
def test_it_does_not_follow_a_redirect(alice, api_as, receiver, settings):
    settings.ACTIONHUB_CALLBACK_ATTEMPTS = 1
    receiver.script = [302]
    action_id = submit(api_as(alice), receiver).json()["id"]

    run_worker_until(lambda: len(receiver.requests) == 2)
    time.sleep(0.2)

    assert [request["path"] for request in receiver.requests] == ["/hooks/agent", "/hooks/agent"]
    assert audited("callback.failed", action_id)[0]["status_code"] == 302
    assert CallbackDelivery.objects.get(event="action.decided").last_status_code == 302


@pytest.mark.django_db(transaction=True)
def test_it_sends_decided_then_finished_for_a_held_action_and_only_decided_for_a_rejected_one(
    alice, bob, api_as, receiver
):
    held = submit(api_as(alice), receiver, parameters={"loud": True}).json()
    assert held["status"] == "pending"
    rejected = submit(api_as(alice), receiver, parameters={"loud": True}).json()
    run_worker_until(lambda: True)
    assert receiver.requests == []

    approve = {"approved": True, "payload_hash": held["payload_hash"]}
    assert api_as(bob).post(f"/actions/{held['id']}/approve", approve).status_code == 200
    assert api_as(bob).post(f"/actions/{rejected['id']}/approve", {"approved": False}).status_code == 200
    run_worker_until(lambda: len(receiver.requests) == 3)

    by_action: dict[str, list[tuple[str, str]]] = {}
    for request in receiver.requests:
        body = json.loads(request["body"])
        by_action.setdefault(body["action"]["id"], []).append((body["event"], body["action"]["status"]))
    assert by_action[held["id"]] == [("action.decided", "approved"), ("action.finished", "completed")]
    assert by_action[rejected["id"]] == [("action.decided", "rejected")]


@pytest.mark.django_db(transaction=True)
def test_it_holds_a_finished_callback_behind_a_decided_one_still_being_retried(alice, api_as, receiver, settings):
    settings.ACTIONHUB_CALLBACK_BACKOFF = timedelta(seconds=1)
    receiver.script = [500]

    submit(api_as(alice), receiver)
    run_worker_until(lambda: len(receiver.requests) == 3, timeout=20)

    assert receiver.events() == ["action.decided", "action.decided", "action.finished"]


@pytest.mark.django_db(transaction=True)
def test_it_sends_nothing_for_a_transaction_that_rolled_back(alice, bob, api_as, receiver):
    held = submit(api_as(alice), receiver, parameters={"loud": True}).json()

    with pytest.raises(RuntimeError), transaction.atomic():
        action_decide(action_id=held["id"], user=bob, approved=False, reason="no")
        assert CallbackDelivery.objects.count() == 1
        raise RuntimeError("the deciding transaction fails after the decision")

    run_worker_until(lambda: True)
    time.sleep(0.2)
    assert CallbackDelivery.objects.count() == 0
    assert receiver.requests == []


@pytest.mark.django_db(transaction=True)
def test_it_requeues_a_delivery_whose_task_was_lost(alice, api_as, receiver):
    from django_tasks_db.models import DBTaskResult

    submit(api_as(alice), receiver)
    DBTaskResult.objects.filter(task_path="callbacks.tasks.deliver_callbacks").delete()
    CallbackDelivery.objects.update(next_attempt_at=CallbackDelivery.objects.get().created_at - timedelta(minutes=1))
    assert requeue_lost_callbacks() == 1
    assert requeue_lost_callbacks() == 0  # its task is queued now

    run_worker_until(lambda: len(receiver.requests) == 2)
    assert receiver.events() == ["action.decided", "action.finished"]


@pytest.mark.django_db(transaction=True)
def test_it_refuses_at_send_time_a_url_the_allowlist_no_longer_holds(alice, api_as, receiver, settings):
    created = submit(api_as(alice), receiver)
    settings.ACTIONHUB_CALLBACK_ALLOWLIST = ["https://elsewhere.example/hooks"]

    run_worker_until(lambda: CallbackDelivery.objects.filter(status="pending").count() == 0)

    assert receiver.requests == []
    failed = audited("callback.failed", created.json()["id"])
    assert {(d["event"], d["error"], d["will_retry"]) for d in failed} == {
        ("action.decided", "not under any ACTIONHUB_CALLBACK_ALLOWLIST entry", False),
        ("action.finished", "not under any ACTIONHUB_CALLBACK_ALLOWLIST entry", False),
    }
