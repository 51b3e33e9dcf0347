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
from tests.factories import CRITICAL_ACTION, HIGH_ACTION, make_action

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
        {"decision": "approve", "reason": "", "item": items(everything, ten_actions["seen"]), "confirm": "on"},
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


# The second step of a bulk approval

WRITE = {"action_type": "file_operation", "parameters": {"operation": "write", "path": "notes/w.txt", "content": "x"}}
API = "https://api.example.org/v1/"
PUT_CALL = {"action_type": "api_call", "parameters": {"method": "PUT", "url": f"{API}items/1", "json": {"n": 1}}}


@pytest.fixture
def sandbox_answers(monkeypatch):
    """The sandbox answers, whatever this machine's Docker says: a file write is not known to fail."""
    monkeypatch.setattr("skills.kinds.sandbox_unavailable_reason", lambda: None)


@pytest.fixture
def mixed(alice, settings, sandbox_answers):
    """A reversible HIGH write, an irreversible delete, a CRITICAL config change and a reversible
    call whose URL has since left the allowlist (known to fail)."""
    settings.ACTIONHUB_API_ALLOWLIST = [API]
    settings.ACTIONHUB_POLICY_OVERRIDES = {"api_call": "high"}
    actions = {
        "write": make_action(alice, WRITE),
        "delete": make_action(alice, HIGH_ACTION),
        "critical": make_action(alice, CRITICAL_ACTION),
        "failing": make_action(alice, PUT_CALL),
    }
    settings.ACTIONHUB_API_ALLOWLIST = ["https://other.example.org/"]
    return actions


def bulk_approve(user, actions, **extra):
    form = {"decision": "approve", "reason": "", "item": [f"{a.id}:{a.payload_hash}" for a in actions], **extra}
    return page_client(user).post("/approvals/decide/", form, HTTP_HX_REQUEST="true")


def test_it_refuses_an_unconfirmed_bulk_approval_of_rows_that_take_a_second_step(bob, mixed):
    response = bulk_approve(bob, mixed.values())

    assert response.status_code == 200
    html = response.content.decode()
    assert "1 approved" in html and "3 refused" in html
    assert f'data-result-for="{mixed["write"].id}" data-status="approved"' in html
    for name in ("delete", "critical", "failing"):
        action = mixed[name]
        assert f'data-result-for="{action.id}" data-status="refused" data-code="confirmation_required"' in html
        assert Action.objects.get(id=action.id).status == Status.PENDING
        assert not AuditEntry.objects.filter(action_id=action.id, event="action.approved").exists()
    assert Action.objects.get(id=mixed["write"].id).status != Status.PENDING


def test_it_approves_every_row_once_the_second_step_confirms_the_selection(bob, mixed):
    response = bulk_approve(bob, mixed.values(), confirm="on")

    html = response.content.decode()
    assert response.status_code == 200
    assert "confirmation_required" not in html
    # the CRITICAL one needs a second reviewer: bob's approval is recorded
    assert "3 approved, 1 approval recorded" in html
    assert Action.objects.filter(id__in=[a.id for a in mixed.values()], status=Status.PENDING).count() == 1


def test_it_approves_reversible_high_rows_in_one_step(bob, alice, sandbox_answers):
    writes = [make_action(alice, WRITE) for _ in range(3)]
    response = bulk_approve(bob, writes)
    assert "3 approved" in response.content.decode()
    assert Action.objects.filter(id__in=[a.id for a in writes], status=Status.PENDING).count() == 0


def test_it_lists_the_rows_that_take_a_second_step_with_what_they_do(bob, mixed):
    rows = [f"{a.id}:{a.payload_hash}" for a in mixed.values()]
    response = page_client(bob).post(
        "/approvals/decide/confirm/", {"item": rows, "reason": "weekly"}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    html = response.content.decode()
    listed = [part.split('"')[0] for part in html.split('data-confirm-for="')[1:]]
    assert listed == [str(mixed["delete"].id), str(mixed["critical"].id), str(mixed["failing"].id)]
    assert "This cannot be undone: a deleted file cannot be brought back." in html
    assert "delete notes/old.txt" in html
    assert "quorum_critical" in html  # the setting it changes, old → new
    assert "no longer under ACTIONHUB_API_ALLOWLIST" in html
    assert "1 other selected is approved with them" in html
    # the form sends the whole selection again, confirmed, and decides nothing until then
    assert html.count('name="item"') == 4 and 'name="confirm" value="on"' in html and "weekly" in html
    assert Action.objects.filter(status=Status.PENDING).count() == 4
    assert not AuditEntry.objects.filter(event="action.approved").exists()


def test_it_leaves_own_actions_out_of_the_second_step(alice, bob):
    own = make_action(bob, HIGH_ACTION)
    theirs = make_action(alice, HIGH_ACTION)
    rows = [f"{a.id}:{a.payload_hash}" for a in (own, theirs)]
    html = page_client(bob).post("/approvals/decide/confirm/", {"item": rows}, HTTP_HX_REQUEST="true").content.decode()
    assert f'data-confirm-for="{theirs.id}"' in html and f'data-confirm-for="{own.id}"' not in html


@pytest.mark.parametrize("user", ["alice", "bob"])
def test_it_answers_a_bad_second_step_request_without_deciding(request, alice, user):
    action = make_action(alice, HIGH_ACTION)
    client = page_client(request.getfixturevalue(user))
    response = client.post("/approvals/decide/confirm/", {"item": ["nope"]}, HTTP_HX_REQUEST="true")
    assert response.status_code == (400 if user == "bob" else 403)
    assert Action.objects.get(id=action.id).status == Status.PENDING


def test_it_keeps_the_api_bulk_decision_in_one_step(api_as, bob, mixed):
    body = {"decisions": [{"id": str(mixed["delete"].id), "approved": True}]}
    response = api_as(bob).post("/actions/decide", body)
    assert response.json()["results"][0]["status"] == "approved"


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
