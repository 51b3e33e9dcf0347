"""Rules never approve their authors' own actions: an allow rule leaves its creator's and editors'
actions to a human, only reviewers may write allow rules, and the preview shows only what the
viewer may see."""

from __future__ import annotations

import html
import importlib
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from approvals.exceptions import AllowRuleForbidden
from approvals.models import Action, Status
from audit.models import AuditEntry
from rules.models import Rule
from rules.services import rule_create, rule_edit
from tests.factories import HIGH_ACTION, make_action, make_user

NOTES = [{"parameter": "path", "kind": "glob", "value": "notes/*.txt"}]
HTMX = {"HTTP_HX_REQUEST": "true"}


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def join(user, *groups: str):
    for name in groups:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    return user


def make_rule(user, *, effect: str = "allow", matchers=None, note: str = "") -> Rule:
    return rule_create(
        user=user,
        action_type="file_operation",
        skill_id=None,
        matchers=matchers or NOTES,
        effect=effect,
        expires_at=None,
        note=note,
    )


def events_of(action: Action) -> list[str]:
    return list(AuditEntry.objects.filter(action_id=action.id).order_by("seq").values_list("event", flat=True))


def rule_page_form(rule: Rule, **overrides: str) -> dict[str, str]:
    data = {
        "kind_operation": "any",
        "value_operation": "",
        "kind_path": "glob",
        "value_path": "notes/*.txt",
        "kind_content": "any",
        "value_content": "",
        "kind_workspace": "any",
        "value_workspace": "",
        "effect": rule.effect,
        "expires_at": (timezone.now() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%S"),
        "note": rule.note,
    }
    return {**data, **overrides}


# At submit time


def test_it_never_lets_an_allow_rule_decide_its_creators_own_action(alice, dave, api_as):
    join(dave, "reviewers", "rule_admins")
    created = api_as(dave).post(
        "/rules", {"action_type": "file_operation", "matchers": NOTES, "effect": "allow", "note": "routine"}
    )
    assert created.status_code == 201, created.content

    own = api_as(dave).post("/actions", HIGH_ACTION).json()
    assert own["status"] == Status.PENDING and own["approvals"] == []
    assert events_of(Action.objects.get(id=own["id"])) == ["action.created"]
    assert Rule.objects.get().hit_count == 0

    theirs = api_as(alice).post("/actions", HIGH_ACTION).json()
    assert theirs["status"] == Status.APPROVED
    assert [approval["user"] for approval in theirs["approvals"]] == [f"rule:{created.json()['id']}"]


def test_it_lets_a_deny_rule_reject_its_creators_own_action(dave):
    join(dave, "rule_admins")
    rule = make_rule(dave, effect="deny", note="nobody deletes notes")
    action = make_action(dave, HIGH_ACTION)
    assert action.status == Status.REJECTED
    assert AuditEntry.objects.get(action_id=action.id, event="action.rejected").actor == f"rule:{rule.id}"


def test_it_counts_whoever_edited_an_allow_rule_as_its_author(alice, db):
    erin = make_user("erin", "reviewers", "rule_admins")
    frank = make_user("frank", "reviewers", "rule_admins")
    rule = make_rule(erin)
    # frank widens erin's rule to cover his own next action: it must not approve it.
    wider = [{"parameter": "path", "kind": "glob", "value": "**"}]
    rule_edit(rule_id=rule.id, user=frank, matchers=wider, effect="allow", expires_at=rule.expires_at, note="")
    assert set(Rule.objects.get(id=rule.id).authors.values_list("username", flat=True)) == {"erin", "frank"}

    for author in (erin, frank):
        assert make_action(author, HIGH_ACTION).status == Status.PENDING
    assert make_action(alice, HIGH_ACTION).status == Status.APPROVED


# At creation


def test_it_refuses_an_allow_rule_from_a_rule_admin_who_is_not_a_reviewer(dave, api_as):
    join(dave, "rule_admins")
    refused = api_as(dave).post("/rules", {"action_type": "file_operation", "matchers": NOTES, "effect": "allow"})
    assert refused.status_code == 403
    assert "only reviewers may write allow rules" in refused.json()["detail"]
    assert not Rule.objects.exists()
    assert not AuditEntry.objects.filter(event="rule.created").exists()

    deny = api_as(dave).post("/rules", {"action_type": "file_operation", "matchers": NOTES, "effect": "deny"})
    assert deny.status_code == 201 and deny.json()["effect"] == "deny"


def test_it_refuses_a_non_reviewer_turning_a_deny_rule_into_an_allow_rule(dave):
    join(dave, "rule_admins")
    rule = make_rule(dave, effect="deny", note="first")
    with pytest.raises(AllowRuleForbidden):
        rule_edit(rule_id=rule.id, user=dave, matchers=NOTES, effect="allow", expires_at=rule.expires_at, note="")
    assert Rule.objects.get(id=rule.id).effect == "deny"
    # A deny rule stays theirs to change.
    rule_edit(rule_id=rule.id, user=dave, matchers=NOTES, effect="deny", expires_at=rule.expires_at, note="second")
    assert Rule.objects.get(id=rule.id).note == "second"


def test_it_puts_the_refusal_on_the_effect_field_of_the_rule_page(dave):
    join(dave, "rule_admins")
    rule = make_rule(dave, effect="deny")
    response = logged_in(dave).post(f"/approvals/rules/{rule.id}/edit/", rule_page_form(rule, effect="allow"))
    assert response.status_code == 403
    page = html.unescape(response.content.decode())
    assert "Not saved" in page and "only reviewers may write allow rules" in page
    assert Rule.objects.get(id=rule.id).effect == "deny"


# The preview


def test_it_previews_nothing_of_a_routed_action_to_a_reviewer_outside_its_group(alice, settings, db):
    settings.ACTIONHUB_ROUTING = {"file_operation": ["ops"]}
    erin = make_user("erin", "reviewers", "rule_admins")
    oscar = make_user("oscar", "reviewers", "rule_admins", "ops")
    routed = make_action(alice, HIGH_ACTION)
    assert logged_in(erin).get(f"/approvals/{routed.id}/").status_code == 404  # as everywhere else
    rule = make_rule(oscar, effect="deny")

    outside = logged_in(erin).post(f"/approvals/rules/{rule.id}/preview/", rule_page_form(rule), **HTMX)
    assert outside.status_code == 200
    page = outside.content.decode()
    assert "<strong data-preview-count>0</strong>" in page
    assert str(routed.id) not in page and "alice" not in page

    inside = logged_in(oscar).post(f"/approvals/rules/{rule.id}/preview/", rule_page_form(rule), **HTMX)
    assert "<strong data-preview-count>1</strong>" in inside.content.decode()
    assert str(routed.id) in inside.content.decode()


def test_it_previews_only_their_own_actions_to_a_rule_admin_who_is_not_a_reviewer(alice, dave, db):
    join(dave, "rule_admins")
    dave.groups.remove(Group.objects.get(name="auditors"))
    theirs = make_action(alice, HIGH_ACTION)
    rule = make_rule(dave, effect="deny")  # rejects dave's own action below
    own = make_action(dave, HIGH_ACTION)
    page = logged_in(dave).post(f"/approvals/rules/{rule.id}/preview/", rule_page_form(rule), **HTMX)
    body = page.content.decode()
    assert "<strong data-preview-count>1</strong>" in body
    assert str(own.id) in body and str(theirs.id) not in body


def test_it_previews_an_authors_own_actions_as_left_to_a_human(alice, db):
    erin = make_user("erin", "reviewers", "rule_admins")
    own = make_action(erin, HIGH_ACTION)
    theirs = make_action(alice, HIGH_ACTION)
    page = logged_in(erin).get(f"/approvals/rules/new/{theirs.id}/")
    body = html.unescape(page.content.decode())
    assert "<strong data-preview-count>1</strong>" in body
    assert str(theirs.id) in body.split("preview-list")[1] and str(own.id) not in body
    assert "1 more matches but was requested by an author of this rule" in body


def test_it_recovers_the_authors_of_existing_rules_from_the_audit_history(db):
    from django.apps import apps

    backfill = importlib.import_module("rules.migrations.0003_rule_authors").backfill
    erin = make_user("erin", "reviewers", "rule_admins")
    frank = make_user("frank", "reviewers", "rule_admins")
    rule = make_rule(erin)
    rule_edit(rule_id=rule.id, user=frank, matchers=NOTES, effect="allow", expires_at=rule.expires_at, note="edited")
    Rule.authors.through.objects.all().delete()

    backfill(apps, None)

    assert set(Rule.objects.get(id=rule.id).authors.values_list("username", flat=True)) == {"erin", "frank"}
