"""The agent's side of the API: cancel, outcome reports, the decision block, idempotent submit and
the requester's own list. A decide-only toy kind stands for any kind its requester runs itself."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from approvals.kinds.base import Classification, DecideOnlyKind, Errors, check_keys
from approvals.models import Action, IdempotencyKey, SecurityLevel, Status
from audit.models import AuditEntry
from audit.verify import verify_chain
from tests.factories import HIGH_ACTION, make_action, make_token
from tests.workers import in_process_worker


class PingKind(DecideOnlyKind):
    """An agent's own tool: `host` is pinged by the agent; loud pings are held."""

    name = "ping"
    label = "Ping"

    def schema(self, *, skill_id: str | None = None) -> dict[str, Any]:
        return {"type": "object", "properties": {"host": {"type": "string"}, "loud": {"type": "boolean"}}}

    def validate(self, parameters: dict[str, Any], errors: Errors, *, skill_id: str | None = None) -> None:
        check_keys(parameters, errors, required=("host",), optional=("loud",))

    def classify(self, parameters: dict[str, Any], *, skill_id: str | None = None) -> Classification:
        level = SecurityLevel.HIGH if parameters.get("loud") else SecurityLevel.LOW
        return Classification(level, ["loud pings wake people"] if parameters.get("loud") else ["a quiet ping"])


@pytest.fixture(autouse=True)
def ping_kind(settings):
    settings.ACTIONHUB_ACTION_KINDS = [*settings.ACTIONHUB_ACTION_KINDS, f"{__name__}.PingKind"]


HELD_PING = {"action_type": "ping", "parameters": {"host": "example.org", "loud": True}}
QUIET_PING = {"action_type": "ping", "parameters": {"host": "example.org"}}


def _events(action_id: str) -> list[str]:
    return list(AuditEntry.objects.filter(action_id=action_id).order_by("seq").values_list("event", flat=True))


# Cancel


def test_it_cancels_a_pending_action_for_its_requester_only(alice, bob, dave, api_as):
    action_id = api_as(alice).post("/actions", HELD_PING).json()["id"]

    assert api_as(bob).post(f"/actions/{action_id}/cancel").status_code == 403
    assert api_as(dave).post(f"/actions/{action_id}/cancel").status_code == 403
    cancelled = api_as(alice).post(f"/actions/{action_id}/cancel", {"reason": "the agent stopped waiting"})
    assert cancelled.status_code == 200, cancelled.content
    body = cancelled.json()
    assert body["status"] == "cancelled"
    assert body["decision"] == {
        "outcome": "cancelled",
        "by": ["alice"],
        "reason": "cancelled by its requester",
        "edited": False,
    }
    assert _events(action_id) == ["action.created", "action.cancelled"]
    entry = AuditEntry.objects.get(action_id=action_id, event="action.cancelled")
    assert (entry.actor, entry.data["reason"]) == ("alice", "the agent stopped waiting")

    again = api_as(alice).post(f"/actions/{action_id}/cancel")
    assert again.status_code == 409 and "not pending" in again.json()["detail"]
    decided = api_as(bob).post(f"/actions/{action_id}/approve", {"approved": True})
    assert decided.status_code == 409
    assert api_as(bob).get("/actions/pending").json()["results"] == []


def test_it_hides_an_action_from_a_canceller_who_may_not_see_it(alice, api_as):
    from tests.factories import make_user

    mallory = make_user("mallory")
    action_id = api_as(alice).post("/actions", HELD_PING).json()["id"]
    assert api_as(mallory).post(f"/actions/{action_id}/cancel").status_code == 404
    assert api_as(alice).post("/actions/00000000-0000-0000-0000-000000000000/cancel").status_code == 404
    assert Action.objects.get(id=action_id).status == Status.PENDING


def test_it_refuses_to_cancel_a_decided_action(alice, bob, api_as):
    action_id = api_as(alice).post("/actions", HELD_PING).json()["id"]
    api_as(bob).post(f"/actions/{action_id}/approve", {"approved": False, "reason": "no"})
    response = api_as(alice).post(f"/actions/{action_id}/cancel")
    assert response.status_code == 409
    assert Action.objects.get(id=action_id).status == Status.REJECTED


@pytest.mark.django_db(transaction=True)
def test_it_lets_exactly_one_of_a_cancel_and_an_approval_win(alice, bob):
    tokens = {"alice": make_token(alice, "race-a"), "bob": make_token(bob, "race-b")}
    for _ in range(5):
        action = make_action(alice, HELD_PING)
        barrier = threading.Barrier(2)
        codes: dict[str, int] = {}

        def call(who: str, path: str, body: str, action_id=action.id, barrier=barrier, codes=codes) -> None:
            client = Client(HTTP_AUTHORIZATION=f"Bearer {tokens[who]}")
            barrier.wait()
            codes[who] = client.post(
                f"/api/actions/{action_id}/{path}", data=body, content_type="application/json"
            ).status_code
            connection.close()

        threads = [
            threading.Thread(target=call, args=("alice", "cancel", "{}")),
            threading.Thread(target=call, args=("bob", "approve", '{"approved": true}')),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        final = Action.objects.get(id=action.id).status
        assert sorted(codes.values()) == [200, 409], codes
        assert final == (Status.CANCELLED if codes["alice"] == 200 else Status.APPROVED)
        assert len([e for e in _events(str(action.id)) if e in ("action.cancelled", "action.approved")]) == 1
    assert verify_chain().ok


# Outcome


def test_it_records_the_requesters_outcome_once(alice, bob, api_as):
    action_id = api_as(alice).post("/actions", HELD_PING).json()["id"]
    early = api_as(alice).post(f"/actions/{action_id}/outcome", {"ok": True})
    assert early.status_code == 409 and "not approved" in early.json()["detail"]
    api_as(bob).post(f"/actions/{action_id}/approve", {"approved": True, "reason": "fine"})

    assert api_as(bob).post(f"/actions/{action_id}/outcome", {"ok": True}).status_code == 403
    reported = api_as(alice).post(f"/actions/{action_id}/outcome", {"ok": True, "output": "64 bytes from example.org"})
    assert reported.status_code == 200, reported.content
    body = reported.json()
    assert body["status"] == "completed"
    assert body["result"] == {"output": "64 bytes from example.org"}
    assert body["decision"] == {"outcome": "approved", "by": ["bob"], "reason": "fine", "edited": False}
    assert _events(action_id) == ["action.created", "action.approved", "action.completed"]

    twice = api_as(alice).post(f"/actions/{action_id}/outcome", {"ok": False, "error": "oops"})
    assert twice.status_code == 409 and "already reported" in twice.json()["detail"]
    assert Action.objects.get(id=action_id).status == Status.COMPLETED


def test_it_records_a_reported_failure_and_never_queues_a_worker(alice, api_as):
    created = api_as(alice).post("/actions", QUIET_PING).json()
    assert (created["status"], created["decision"]["outcome"], created["decision"]["by"]) == (
        "approved",
        "approved",
        ["system"],
    )
    worker = in_process_worker("worker-ping")
    assert worker.claim() is None  # a decide-only action is never queued for a worker

    failed = api_as(alice).post(f"/actions/{created['id']}/outcome", {"ok": False, "error": "host unreachable"})
    assert failed.status_code == 200
    assert (failed.json()["status"], failed.json()["error"]) == ("failed", "host unreachable")
    entry = AuditEntry.objects.get(action_id=created["id"], event="action.failed")
    assert (entry.actor, entry.data["error"], entry.data["reported"]) == ("alice", "host unreachable", True)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "ok"),
        ({"ok": "yes please"}, "ok"),
        ({"ok": True, "error": "x"}, "error goes with ok=false"),
        ({"ok": False, "output": "x"}, "output goes with ok=true"),
        ({"ok": True, "output": "x" * 100_001}, "output"),
    ],
)
def test_it_refuses_a_malformed_outcome(alice, bob, api_as, body, fragment):
    action_id = api_as(alice).post("/actions", QUIET_PING).json()["id"]
    response = api_as(alice).post(f"/actions/{action_id}/outcome", body)
    assert response.status_code == 400
    assert fragment in response.json()["detail"]
    assert Action.objects.get(id=action_id).status == Status.APPROVED


def test_it_refuses_an_outcome_for_a_kind_actionhub_runs(alice, bob, api_as):
    action_id = api_as(alice).post("/actions", HIGH_ACTION).json()["id"]
    api_as(bob).post(f"/actions/{action_id}/approve", {"approved": True})
    response = api_as(alice).post(f"/actions/{action_id}/outcome", {"ok": True})
    assert response.status_code == 409
    assert "run by ActionHub" in response.json()["detail"]


# Decision block


def test_it_tells_the_agent_the_edited_parameters_and_who_decided(alice, bob, carol, api_as):
    action_id = api_as(alice).post("/actions", {**HELD_PING, "external_id": "toolu_01"}).json()["id"]
    assert api_as(alice).get(f"/actions/{action_id}").json()["decision"] == {
        "outcome": None,
        "by": [],
        "reason": "",
        "edited": False,
    }
    edited = api_as(bob).post(f"/actions/{action_id}/edit", {"parameters": {"host": "example.com", "loud": True}})
    assert edited.status_code == 200, edited.content
    api_as(carol).post(f"/actions/{action_id}/approve", {"approved": True, "reason": "host fixed"})
    body = api_as(alice).get(f"/actions/{action_id}").json()
    assert body["parameters"] == {"host": "example.com", "loud": True}
    assert body["external_id"] == "toolu_01"
    assert body["decision"] == {"outcome": "approved", "by": ["carol"], "reason": "host fixed", "edited": True}


def test_it_says_a_rejection_and_an_expiry_in_the_decision(alice, bob, api_as, settings):
    rejected = api_as(alice).post("/actions", HELD_PING).json()["id"]
    api_as(bob).post(f"/actions/{rejected}/approve", {"approved": False, "reason": "not that host"})
    assert api_as(alice).get(f"/actions/{rejected}").json()["decision"] == {
        "outcome": "rejected",
        "by": ["bob"],
        "reason": "not that host",
        "edited": False,
    }
    from django.utils import timezone

    from approvals.services import actions_expire_due

    expiring = api_as(alice).post("/actions", HELD_PING).json()["id"]
    actions_expire_due(now=timezone.now() + settings.ACTIONHUB_EXPIRY_HIGH)
    decision = api_as(alice).get(f"/actions/{expiring}").json()["decision"]
    assert (decision["outcome"], decision["by"]) == ("expired", [])


# Idempotency


def test_it_answers_a_retried_submit_with_the_first_action(alice, api_as):
    client = api_as(alice)
    first = client.post("/actions", HELD_PING, HTTP_IDEMPOTENCY_KEY="retry-1")
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    # Same body with its keys in another order: the same request.
    again = client.post(
        "/actions",
        {"parameters": {"loud": True, "host": "example.org"}, "action_type": "ping"},
        HTTP_IDEMPOTENCY_KEY="retry-1",
    )
    assert again.status_code == 200, again.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert Action.objects.filter(requested_by=alice).count() == 1
    assert _events(first.json()["id"]) == ["action.created"]

    other = client.post("/actions", QUIET_PING, HTTP_IDEMPOTENCY_KEY="retry-1")
    assert other.status_code == 422
    assert "different request body" in other.json()["detail"]
    assert Action.objects.filter(requested_by=alice).count() == 1


def test_it_scopes_idempotency_keys_to_their_user(alice, bob, api_as):
    mine = api_as(alice).post("/actions", HELD_PING, HTTP_IDEMPOTENCY_KEY="shared")
    theirs = api_as(bob).post("/actions", HELD_PING, HTTP_IDEMPOTENCY_KEY="shared")
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]


def test_it_forgets_a_key_after_its_time(alice, api_as, settings):
    from datetime import timedelta

    client = api_as(alice)
    first = client.post("/actions", HELD_PING, HTTP_IDEMPOTENCY_KEY="old")
    IdempotencyKey.objects.update(created_at=IdempotencyKey.objects.get().created_at - timedelta(hours=25))
    later = client.post("/actions", QUIET_PING, HTTP_IDEMPOTENCY_KEY="old")
    assert later.status_code == 201
    assert later.json()["id"] != first.json()["id"]

    from approvals.idempotency import idempotency_keys_prune

    IdempotencyKey.objects.update(created_at=IdempotencyKey.objects.get().created_at - timedelta(hours=25))
    assert idempotency_keys_prune() == 1
    assert not IdempotencyKey.objects.exists()


def test_it_lets_a_failed_submit_be_retried_with_its_key(alice, api_as):
    client = api_as(alice)
    bad = client.post("/actions", {"action_type": "ping", "parameters": {}}, HTTP_IDEMPOTENCY_KEY="k")
    assert bad.status_code == 400
    good = client.post("/actions", HELD_PING, HTTP_IDEMPOTENCY_KEY="k")
    assert good.status_code == 201


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\tin", "é"])
def test_it_refuses_a_malformed_idempotency_key(alice, api_as, key):
    client = api_as(alice)
    response = client.post("/actions", HELD_PING, HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["detail"]
    assert not Action.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_it_creates_one_action_for_twenty_concurrent_submits_with_one_key(alice):
    token = make_token(alice, "burst")
    barrier = threading.Barrier(20)
    answers: list[tuple[int, str, str]] = []
    lock = threading.Lock()

    def submit() -> None:
        client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
        barrier.wait()
        response = client.post(
            "/api/actions", data=HELD_PING, content_type="application/json", HTTP_IDEMPOTENCY_KEY="burst-1"
        )
        with lock:
            answers.append(
                (response.status_code, response.json().get("id", ""), response.headers.get("Idempotent-Replayed", ""))
            )
        connection.close()

    threads = [threading.Thread(target=submit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Action.objects.count() == 1
    action_id = str(Action.objects.get().id)
    assert sorted(code for code, _, _ in answers) == [200] * 19 + [201], answers
    assert {answer_id for _, answer_id, _ in answers} == {action_id}
    assert sum(replayed == "true" for _, _, replayed in answers) == 19
    assert _events(action_id) == ["action.created"]
    assert verify_chain().ok


# The requester's own list


def test_it_lists_the_requesters_own_actions_with_filters(alice, bob, api_as):
    client = api_as(alice)
    ids = [client.post("/actions", {**HELD_PING, "external_id": f"toolu_{n}"}).json()["id"] for n in range(3)]
    quiet = client.post("/actions", QUIET_PING).json()["id"]
    api_as(bob).post("/actions", HELD_PING)  # someone else's
    client.post(f"/actions/{ids[0]}/cancel")

    mine = client.get("/actions", mine=1, limit=2).json()
    assert [a["id"] for a in mine["results"]] == [quiet, ids[2]]
    rest = Client(HTTP_AUTHORIZATION=client.client.defaults["HTTP_AUTHORIZATION"]).get(mine["next"]).json()
    assert [a["id"] for a in rest["results"]] == [ids[1], ids[0]] and rest["next"] is None

    assert [a["id"] for a in client.get("/actions", mine=1, status="cancelled").json()["results"]] == [ids[0]]
    assert [a["id"] for a in client.get("/actions", mine=1, external_id="toolu_1").json()["results"]] == [ids[1]]
    assert len(client.get("/actions", mine=1, action_type="ping", status="pending").json()["results"]) == 2
    # A requester sees only their own, with or without mine=1.
    assert len(client.get("/actions").json()["results"]) == 4


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"status": "done"}, "status must be one of"),
        ({"action_type": "teleport"}, "action_type must be one of"),
        ({"cursor": "nonsense"}, "cursor"),
        ({"mine": "perhaps"}, "mine"),
    ],
)
def test_it_refuses_bad_list_filters(alice, api_as, params, fragment):
    response = api_as(alice).get("/actions", **params)
    assert response.status_code == 400
    assert fragment in response.json()["detail"]


def test_it_refuses_an_overlong_external_id(alice, api_as):
    response = api_as(alice).post("/actions", {**HELD_PING, "external_id": "x" * 256})
    assert response.status_code == 400
    assert "external_id" in response.json()["detail"]


def test_it_shows_reviewers_a_cancelled_action_and_one_waiting_for_its_requester(alice, bob, api_as):
    page = Client()
    page.force_login(bob)
    cancelled = api_as(alice).post("/actions", HELD_PING).json()["id"]
    assert 'value="approve"' in page.get(f"/approvals/{cancelled}/").text
    api_as(alice).post(f"/actions/{cancelled}/cancel")
    detail = page.get(f"/approvals/{cancelled}/")
    assert detail.status_code == 200
    assert "Cancelled by its requester before anyone decided; it will not run." in detail.text
    assert 'value="approve"' not in detail.text

    waiting = api_as(alice).post("/actions", HELD_PING).json()["id"]
    api_as(bob).post(f"/actions/{waiting}/approve", {"approved": True})
    detail = page.get(f"/approvals/{waiting}/")
    assert "its requester runs it and has not reported yet" in detail.text
