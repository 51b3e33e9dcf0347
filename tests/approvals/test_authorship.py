"""Four eyes after an edit: whoever edited an action is a co-author of it, so they may reject it
but never approve it or count toward its quorum, through every door that decides."""

from __future__ import annotations

import html
import importlib
import json
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals.authorship import diff_in_words
from approvals.exceptions import EditedByYou
from approvals.models import Action, ActionEdit, Approval, Status
from approvals.services import action_decide, action_edit
from notifications.channels import EMAIL
from review.links import decision_links
from rules.models import Rule
from tests.factories import CRITICAL_ACTION, HIGH_ACTION, make_action, make_user

HTMX = {"HTTP_HX_REQUEST": "true"}
EDITED = {"operation": "delete", "path": "notes/older.txt"}


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def edited_by(editor, *, requester) -> Action:
    action = make_action(requester, HIGH_ACTION)
    return action_edit(action_id=action.id, user=editor, parameters=EDITED)


def live_approvals(action: Action) -> list[tuple[str | None, str]]:
    rows = Approval.objects.filter(action=action, voided_at__isnull=True).order_by("at")
    return [(row.user.username if row.user else None, row.decision) for row in rows]


@pytest.fixture
def frank(db):
    """A fourth reviewer, for a CRITICAL quorum without bob."""
    return make_user("frank", "reviewers")


# The rule, in the one service every door calls


def test_it_records_each_edit_with_its_author_diff_and_hashes(alice, bob):
    action = make_action(alice, HIGH_ACTION)
    edited = action_edit(action_id=action.id, user=bob, parameters=EDITED)
    edit = ActionEdit.objects.get(action=action)
    assert edit.user == bob
    assert (edit.payload_hash_before, edit.payload_hash_after) == (action.payload_hash, edited.payload_hash)
    assert edit.diff["changed"] == {"path": {"old": "notes/old.txt", "new": "notes/older.txt"}}
    assert edit.approvals_voided == 0


def test_it_refuses_the_editors_approval_with_a_403_that_says_why(alice, bob):
    action = edited_by(bob, requester=alice)
    with pytest.raises(EditedByYou) as refused:
        action_decide(action_id=action.id, user=bob, approved=True)
    assert refused.value.status_code == 403
    assert "you edited this action" in refused.value.detail and "another reviewer must decide" in refused.value.detail
    assert live_approvals(action) == [] and Action.objects.get(id=action.id).status == Status.PENDING


def test_it_lets_the_editor_reject(alice, bob):
    action = edited_by(bob, requester=alice)
    outcome = action_decide(action_id=action.id, user=bob, approved=False, reason="my edit was wrong too")
    assert outcome.status == Status.REJECTED


def test_it_keeps_an_editor_a_co_author_after_someone_else_edits_again(alice, bob, carol):
    action = edited_by(bob, requester=alice)
    action_edit(action_id=action.id, user=carol, parameters={"operation": "delete", "path": "notes/oldest.txt"})
    for editor in (bob, carol):
        with pytest.raises(EditedByYou):
            action_decide(action_id=action.id, user=editor, approved=True)
    # An editor may still edit again (it stays their work), and still not approve.
    action_edit(action_id=action.id, user=bob, parameters={"operation": "delete", "path": "notes/a.txt"})
    with pytest.raises(EditedByYou):
        action_decide(action_id=action.id, user=bob, approved=True)


def test_it_needs_two_reviewers_other_than_the_editor_and_the_requester_for_a_critical_action(
    alice, bob, carol, frank, api_as
):
    action = make_action(alice, CRITICAL_ACTION)
    action_decide(action_id=action.id, user=carol, approved=True)  # voided by the edit below
    edited = api_as(bob).post(f"/actions/{action.id}/edit", {"parameters": {"key": "quorum_critical", "value": 3}})
    assert edited.status_code == 200, edited.content
    body = edited.json()
    assert (body["security_level"], body["approvals_required"], body["approvals"]) == ("critical", 2, [])

    refused = api_as(bob).post(f"/actions/{action.id}/approve", {"approved": True})
    assert refused.status_code == 403
    assert "you edited this action" in refused.json()["detail"]
    assert api_as(alice).post(f"/actions/{action.id}/approve", {"approved": True}).status_code == 403

    first = api_as(carol).post(f"/actions/{action.id}/approve", {"approved": True}).json()
    assert (first["status"], [a["user"] for a in first["approvals"]]) == ("pending", ["carol"])
    # bob once more, after carol: still refused, still not counted.
    assert api_as(bob).post(f"/actions/{action.id}/approve", {"approved": True}).status_code == 403
    assert Action.objects.get(id=action.id).status == Status.PENDING

    second = api_as(frank).post(f"/actions/{action.id}/approve", {"approved": True}).json()
    assert second["status"] in (Status.APPROVED, Status.EXECUTING, Status.COMPLETED, Status.FAILED)
    assert [a["user"] for a in second["approvals"]] == ["carol", "frank"]
    assert live_approvals(action) == [("carol", "approve"), ("frank", "approve")]


# The action JSON


def test_it_lists_the_editors_in_edit_order_once_each(alice, bob, carol, api_as):
    action = make_action(alice, HIGH_ACTION)
    assert api_as(alice).get(f"/actions/{action.id}").json()["editors"] == []
    for user, path in ((bob, "notes/1.txt"), (carol, "notes/2.txt"), (bob, "notes/3.txt")):
        action_edit(action_id=action.id, user=user, parameters={"operation": "delete", "path": path})
    assert api_as(alice).get(f"/actions/{action.id}").json()["editors"] == ["bob", "carol"]
    pending = api_as(carol).get("/actions/pending").json()["results"]
    assert [item["editors"] for item in pending] == [["bob", "carol"]]
    created = api_as(alice).post("/actions", HIGH_ACTION).json()
    assert created["editors"] == []


def test_it_reads_the_editors_of_a_pending_page_in_a_fixed_number_of_queries(alice, bob, carol, api_as):
    client = api_as(carol)

    def queries_for_page_of(count: int) -> int:
        while Action.objects.filter(status=Status.PENDING).count() < count:
            action = make_action(alice, HIGH_ACTION)
            action_edit(action_id=action.id, user=bob, parameters=EDITED)
        with CaptureQueriesContext(connection) as queries:
            page = client.get("/actions/pending", limit=50).json()["results"]
        assert len(page) == count and all(item["editors"] == ["bob"] for item in page)
        return len(queries)

    client.get("/actions/pending")  # the token's first use writes its last-use time once
    assert queries_for_page_of(3) == queries_for_page_of(9)


# Pages


def test_it_shows_who_changed_what_on_the_detail_page(alice, bob, carol):
    action = edited_by(bob, requester=alice)
    page = html.unescape(logged_in(carol).get(f"/approvals/{action.id}/").content.decode())
    assert "Edits by reviewers" in page
    history = page.split("Edits by reviewers", 1)[1]
    assert "bob" in history and "notes/old.txt" in history and "notes/older.txt" in history


def test_it_tells_the_requester_that_a_reviewer_edited_their_action(alice, bob, carol):
    action = make_action(alice, CRITICAL_ACTION)
    action_decide(action_id=action.id, user=carol, approved=True)
    action_edit(action_id=action.id, user=bob, parameters={"key": "quorum_critical", "value": 3})
    page = html.unescape(logged_in(alice).get(f"/approvals/{action.id}/").content.decode())
    assert "bob edited your action" in page
    assert "1 approval given before the edit no longer counts" in page
    # Nobody else is addressed as the requester.
    assert "edited your action" not in logged_in(carol).get(f"/approvals/{action.id}/").content.decode()


def test_it_disables_approve_for_the_editor_on_the_detail_page_and_refuses_it(alice, bob):
    action = make_action(alice, HIGH_ACTION)
    client = logged_in(bob)
    data = {"parameters": json.dumps(EDITED), "payload_hash": action.payload_hash, "confirm": "on"}
    saved = client.post(f"/approvals/{action.id}/edit/", data, follow=True)
    assert "as its editor you may reject it but another reviewer must approve it" in saved.content.decode()
    action.refresh_from_db()
    page = html.unescape(client.get(f"/approvals/{action.id}/").content.decode())
    assert re.search(r'<button type="button" class="primary" disabled title="You edited this action', page)
    assert 'name="decision" value="reject"' in page  # rejecting stays open
    assert "Approve and allow similar" not in page

    data = {"decision": "approve", "reason": "", "payload_hash": action.payload_hash}
    refused = client.post(f"/approvals/{action.id}/decide/", data, **HTMX)
    assert refused.status_code == 403
    assert "You edited this action" in html.unescape(refused.content.decode())
    assert live_approvals(action) == []

    rejected = client.post(f"/approvals/{action.id}/decide/", {**data, "decision": "reject", "reason": "no"})
    assert rejected.status_code == 302
    assert Action.objects.get(id=action.id).status == Status.REJECTED


def test_it_refuses_the_editors_item_in_a_bulk_decision_with_its_own_code(alice, bob, api_as):
    edited = edited_by(bob, requester=alice)
    other = make_action(
        alice, {"action_type": "file_operation", "parameters": {"operation": "delete", "path": "x.txt"}}
    )
    items = [{"id": str(action.id), "approved": True} for action in (edited, other)]
    results = api_as(bob).post("/actions/decide", {"decisions": items}).json()["results"]
    assert [(result["status"], result["code"]) for result in results] == [
        ("refused", "edited_by_you"),
        ("approved", ""),
    ]
    assert results[0]["detail"] == "you edited it: another reviewer must decide it"
    assert live_approvals(edited) == []


def test_it_words_the_editors_refusal_on_the_bulk_page(alice, bob):
    edited = edited_by(bob, requester=alice)
    data = {"decision": "approve", "reason": "", "item": [f"{edited.id}:{edited.payload_hash}"]}
    response = logged_in(bob).post("/approvals/decide/", data, **HTMX)
    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert "you edited it: another reviewer must decide it" in page and "1 refused" in page
    assert Action.objects.get(id=edited.id).status == Status.PENDING


def test_it_refuses_the_editors_one_tap_approve_link_but_not_reject(alice, bob):
    edited = edited_by(bob, requester=alice)
    links = {
        decision: urlsplit(url).path
        for decision, url in decision_links(action=edited, channel=EMAIL, user_id=bob.pk).items()
    }
    client = logged_in(bob)
    page = client.get(links["approve"])
    assert page.status_code == 403
    assert "You edited this action" in html.unescape(page.content.decode())
    assert client.post(links["approve"], {"reason": ""}).status_code == 403
    assert live_approvals(edited) == []

    assert client.get(links["reject"]).status_code == 200
    assert client.post(links["reject"], {"reason": "not like this"}).status_code == 302
    assert Action.objects.get(id=edited.id).status == Status.REJECTED


def test_it_refuses_approve_and_allow_similar_to_the_editor(alice, db):
    editor = make_user("erin", "reviewers", "rule_admins")
    edited = edited_by(editor, requester=alice)
    client = logged_in(editor)
    page = client.get(f"/approvals/rules/new/{edited.id}/")
    assert page.status_code == 403
    assert "You edited this action" in html.unescape(page.content.decode())
    form = {
        "payload_hash": edited.payload_hash,
        "kind_operation": "exact",
        "value_operation": "delete",
        "kind_path": "glob",
        "value_path": "notes/*.txt",
        "kind_content": "any",
        "value_content": "",
        "kind_workspace": "any",
        "value_workspace": "",
        "effect": "allow",
        "expires_at": (timezone.now() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%S"),
        "note": "",
    }
    assert client.post(f"/approvals/rules/new/{edited.id}/", form).status_code == 403
    assert not Rule.objects.exists() and live_approvals(edited) == []


def test_it_shows_the_edit_history_to_reviewers_who_did_not_edit(alice, bob, carol):
    edited = edited_by(bob, requester=alice)
    page = html.unescape(logged_in(carol).get(f"/approvals/{edited.id}/").content.decode())
    assert 'name="decision" value="approve"' in page
    assert json.dumps(EDITED["path"]) in page


def test_it_recovers_edits_made_before_they_were_recorded_from_the_audit_history(alice, bob, carol):
    from django.apps import apps

    backfill = importlib.import_module("approvals.migrations.0008_action_edits").backfill
    action = edited_by(bob, requester=alice)
    action_edit(action_id=action.id, user=carol, parameters={"operation": "delete", "path": "notes/c.txt"})
    recorded = list(
        ActionEdit.objects.values_list("user__username", "diff", "payload_hash_before", "payload_hash_after")
    )
    ActionEdit.objects.all().delete()

    backfill(apps, None)

    recovered = ActionEdit.objects.values_list("user__username", "diff", "payload_hash_before", "payload_hash_after")
    assert list(recovered) == recorded and [row[0] for row in recorded] == ["bob", "carol"]
    with pytest.raises(EditedByYou):
        action_decide(action_id=action.id, user=bob, approved=True)


def test_it_writes_a_diff_in_words_one_parameter_a_line():
    diff = {
        "added": {"workspace": "archive"},
        "removed": {"content": "old text"},
        "changed": {"path": {"old": "a.txt", "new": "b.txt"}, "n": {"old": 1, "new": [1, 2]}},
    }
    assert diff_in_words(diff) == [
        'content: "old text" → (not set)',
        "n: 1 → [1, 2]",
        'path: "a.txt" → "b.txt"',
        'workspace: (not set) → "archive"',
    ]
    long = diff_in_words({"changed": {"content": {"old": "", "new": "x" * 500}}})[0]
    assert long.startswith('content: "" → "xxx') and long.endswith("… (502 characters)")
