"""Bulk decisions: through the API and the queue page, each action decided on its own."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals.models import Action, Status
from approvals.services import action_decide, action_edit
from audit.models import AuditEntry
from tests.factories import CRITICAL_ACTION, make_action

pytestmark = pytest.mark.django_db


def delete(path: str) -> dict:
    return {"action_type": "file_operation", "parameters": {"operation": "delete", "path": path}}


@pytest.fixture
def ten_actions(alice, bob, carol):
    """Ten held actions bob sees: seven of alice's, two of his own, one carol edits after bob saw it."""
    theirs = [make_action(alice, delete(f"notes/{index}.txt")) for index in range(7)]
    own = [make_action(bob, delete(f"bob/{index}.txt")) for index in range(2)]
    edited = make_action(alice, delete("notes/edited.txt"))
    seen = {action.id: action.payload_hash for action in [*theirs, *own, edited]}
    action_edit(action_id=edited.id, user=carol, parameters={"operation": "delete", "path": "notes/other.txt"})
    return {"theirs": theirs, "own": own, "edited": edited, "seen": seen}


def decisions(actions, seen, *, approved: bool = True, reason: str = "") -> list[dict]:
    return [
        {"id": str(action.id), "approved": approved, "reason": reason, "payload_hash": seen[action.id]}
        for action in actions
    ]


def test_it_approves_seven_of_ten_and_says_why_three_were_refused(api_as, bob, ten_actions):
    everything = [*ten_actions["theirs"], *ten_actions["own"], ten_actions["edited"]]
    response = api_as(bob).post("/actions/decide", {"decisions": decisions(everything, ten_actions["seen"])})

    assert response.status_code == 200, response.content
    results = {item["id"]: item for item in response.json()["results"]}
    assert [item["id"] for item in response.json()["results"]] == [str(action.id) for action in everything]
    for action in ten_actions["theirs"]:
        assert results[str(action.id)] == {
            "id": str(action.id),
            "status": "approved",
            "detail": "approved; it runs now",
            "code": "",
        }
        assert Action.objects.get(id=action.id).status in (Status.APPROVED, Status.EXECUTING, Status.COMPLETED)
        # each one has its own audit entry, by bob
        assert AuditEntry.objects.filter(action_id=action.id, event="action.approved", actor="bob").count() == 1
    for action in ten_actions["own"]:
        assert results[str(action.id)]["status"] == "refused"
        assert results[str(action.id)]["code"] == "own_action"
        assert "your own action" in results[str(action.id)]["detail"]
    edited = results[str(ten_actions["edited"].id)]
    assert (edited["status"], edited["code"]) == ("refused", "changed")
    assert "changed since you saw it" in edited["detail"]
    for action in [*ten_actions["own"], ten_actions["edited"]]:
        assert Action.objects.get(id=action.id).status == Status.PENDING
        assert not AuditEntry.objects.filter(
            action_id=action.id, actor="bob", event__startswith="action.appro"
        ).exists()


def test_it_reports_already_decided_expired_and_unknown_actions_per_item(api_as, alice, bob, carol):
    decided = make_action(alice, delete("notes/a.txt"))
    action_decide(action_id=decided.id, user=carol, approved=False, reason="no")
    expired = make_action(alice, delete("notes/b.txt"))
    Action.objects.filter(id=expired.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    quorum = make_action(alice, CRITICAL_ACTION)
    unknown = uuid.uuid4()

    response = api_as(bob).post(
        "/actions/decide",
        {
            "decisions": [
                {"id": str(decided.id), "approved": True},
                {"id": str(expired.id), "approved": True},
                {"id": str(quorum.id), "approved": True},
                {"id": str(unknown), "approved": True},
            ]
        },
    )

    assert response.status_code == 200
    results = [(item["status"], item["code"], item["detail"]) for item in response.json()["results"]]
    assert results == [
        ("refused", "already_decided", "already decided: it is rejected"),
        ("refused", "expired", "expired, nobody decided; it will not run"),
        ("pending", "", "approval recorded (1 of 2); it waits for another reviewer"),
        ("refused", "not_found", "no such action"),
    ]
    # expiry stays its own state: expired, never approved or rejected
    assert Action.objects.get(id=expired.id).status == Status.EXPIRED
    assert api_as(alice).get(f"/actions/{expired.id}").json()["status"] == "expired"


def test_it_refuses_a_reject_without_a_reason_per_item_and_rejects_with_one(api_as, alice, bob):
    first, second = make_action(alice, delete("notes/a.txt")), make_action(alice, delete("notes/b.txt"))
    response = api_as(bob).post(
        "/actions/decide",
        {
            "decisions": [
                {"id": str(first.id), "approved": False},
                {"id": str(second.id), "approved": False, "reason": "  keep it  "},
            ]
        },
    )
    assert response.status_code == 200
    first_result, second_result = response.json()["results"]
    assert (first_result["status"], first_result["code"]) == ("refused", "reason_required")
    assert (second_result["status"], second_result["code"]) == ("rejected", "")
    assert Action.objects.get(id=first.id).status == Status.PENDING
    assert Action.objects.get(id=second.id).status == Status.REJECTED
    assert AuditEntry.objects.get(action_id=second.id, event="action.rejected").data["reason"] == "keep it"


@pytest.mark.parametrize(
    ("build", "needle"),
    [
        (lambda ids: [{"id": str(ids[0]), "approved": True}] * 201, "too many decisions: 201"),
        (lambda ids: [{"id": str(ids[0]), "approved": True}, {"id": str(ids[0]), "approved": True}], "repeated"),
        (lambda ids: [], "no decisions"),
        (lambda ids: [{"id": "not-a-uuid", "approved": True}], "invalid request"),
        (lambda ids: [{"id": str(ids[0])}], "invalid request"),
    ],
)
def test_it_decides_nothing_for_a_request_over_the_limit_or_with_duplicates(api_as, alice, bob, build, needle):
    action = make_action(alice, delete("notes/a.txt"))
    client = api_as(bob)
    before = AuditEntry.objects.count()

    response = client.post("/actions/decide", {"decisions": build([action.id])})

    assert response.status_code == 400
    assert needle in response.json()["detail"]
    assert Action.objects.get(id=action.id).status == Status.PENDING
    assert AuditEntry.objects.count() == before


def test_it_accepts_exactly_two_hundred_decisions(api_as, alice, bob):
    actions = [make_action(alice, delete(f"notes/{index}.txt")) for index in range(200)]
    response = api_as(bob).post(
        "/actions/decide", {"decisions": [{"id": str(action.id), "approved": True} for action in actions]}
    )
    assert response.status_code == 200
    assert {item["status"] for item in response.json()["results"]} == {"approved"}


def test_it_refuses_bulk_decisions_to_non_reviewers(api_as, alice, dave):
    action = make_action(alice, delete("notes/a.txt"))
    response = api_as(dave).post("/actions/decide", {"decisions": [{"id": str(action.id), "approved": True}]})
    assert response.status_code == 403
    assert Action.objects.get(id=action.id).status == Status.PENDING


# The queue page


def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def items(actions, seen) -> list[str]:
    return [f"{action.id}:{seen[action.id]}" for action in actions]


def test_it_shows_per_row_what_happened_after_a_bulk_approve_on_the_page(bob, ten_actions):
    everything = [*ten_actions["theirs"], *ten_actions["own"], ten_actions["edited"]]
    response = page_client(bob).post(
        "/approvals/decide/",
        {"decision": "approve", "reason": "", "item": items(everything, ten_actions["seen"])},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "7 approved" in html and "0 rejected" in html and "3 refused" in html
    for action in ten_actions["theirs"]:
        assert f'data-result-for="{action.id}" data-status="approved"' in html
    for action in ten_actions["own"]:
        assert f'data-result-for="{action.id}" data-status="refused"' in html
    assert html.count("your own action: another reviewer must decide it") >= 2
    assert "changed since you saw it: review the new version" in html
    assert Action.objects.filter(id__in=[a.id for a in ten_actions["theirs"]], status=Status.PENDING).count() == 0


def test_it_renders_the_results_on_the_queue_page_without_javascript(alice, bob):
    action = make_action(alice, delete("notes/a.txt"))
    response = page_client(bob).post(
        "/approvals/decide/",
        {"decision": "reject", "reason": "not now", "item": [f"{action.id}:{action.payload_hash}"]},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Approval queue" in html and "1 rejected" in html and "rejected; it will not run" in html
    assert Action.objects.get(id=action.id).status == Status.REJECTED


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"decision": "reject", "reason": " "}, "say why you reject them"),
        ({"decision": "approve", "repeat": True}, "each action may appear once"),
        ({"decision": "approve", "bad": True}, "is not a queue row"),
        ({"decision": "approve", "none": True}, "no decisions"),
    ],
)
def test_it_answers_bad_bulk_forms_with_a_form_error_and_decides_nothing(alice, bob, data, needle):
    action = make_action(alice, delete("notes/a.txt"))
    row = f"{action.id}:{action.payload_hash}"
    form = {"decision": data["decision"], "reason": data.get("reason", ""), "item": [row]}
    if data.get("repeat"):
        form["item"] = [row, row]
    if data.get("bad"):
        form["item"] = ["../etc/passwd"]
    if data.get("none"):
        form["item"] = []
    before = AuditEntry.objects.count()

    response = page_client(bob).post("/approvals/decide/", form, HTTP_HX_REQUEST="true")

    assert response.status_code == 400
    assert "Nothing was decided" in response.content.decode()
    assert needle in response.content.decode()
    assert Action.objects.get(id=action.id).status == Status.PENDING
    assert AuditEntry.objects.count() == before


def test_it_offers_a_checkbox_carrying_the_payload_hash_on_every_queue_row(alice, bob):
    action = make_action(alice, delete("notes/a.txt"))
    html = page_client(bob).get("/approvals/").content.decode()
    assert f'name="item" value="{action.id}:{action.payload_hash}" form="bulk-form"' in html
    assert 'id="bulk-form"' in html and 'id="pick-all"' in html


@pytest.mark.skipif(connection.vendor != "postgresql", reason="workers are woken by Postgres NOTIFY")
def test_it_wakes_the_workers_once_for_a_whole_bulk_decision(api_as, alice, bob):
    actions = [make_action(alice, delete(f"notes/{index}.txt")) for index in range(5)]
    with CaptureQueriesContext(connection) as queries:
        response = api_as(bob).post(
            "/actions/decide", {"decisions": decisions(actions, {a.id: a.payload_hash for a in actions})}
        )
    assert [item["status"] for item in response.json()["results"]] == [Status.APPROVED] * 5
    assert Action.objects.filter(id__in=[a.id for a in actions], status=Status.APPROVED).count() == 5
    notifies = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("NOTIFY")]
    assert len(notifies) == 1
