"""Standing rules deciding actions at submit time, through action_create like every door."""

from __future__ import annotations

import threading
from datetime import UTC, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from approvals.exceptions import InvalidRule
from approvals.models import Action, Approval, Status
from audit.models import AuditEntry
from audit.verify import verify_chain
from rules import evaluation
from rules.models import Rule
from rules.services import rule_create, rule_disable, rule_edit
from tests.factories import CRITICAL_ACTION, HIGH_ACTION, make_action, make_user
from worker.maintenance import run_maintenance

NOTES_GLOB = [{"parameter": "path", "kind": "glob", "value": "notes/*.txt"}]


@pytest.fixture
def erin(db):
    """A rule admin who is also a reviewer."""
    return make_user("erin", "rule_admins", "reviewers")


def make_rule(user, *, effect="allow", matchers=None, action_type="file_operation", **extra):
    return rule_create(
        user=user,
        action_type=action_type,
        skill_id=extra.pop("skill_id", None),
        matchers=matchers or NOTES_GLOB,
        effect=effect,
        expires_at=extra.pop("expires_at", None),
        note=extra.pop("note", ""),
    )


def timeline(action) -> list[tuple[str, str]]:
    return list(AuditEntry.objects.filter(action_id=action.id).order_by("seq").values_list("event", "actor"))


def test_it_approves_a_matching_high_action_as_the_rule_with_the_hit_on_its_timeline(alice, erin):
    rule = make_rule(erin, note="routine clean-up of notes")
    action = make_action(alice, HIGH_ACTION)

    assert action.status == Status.APPROVED
    assert Action.objects.get(id=action.id).status == Status.APPROVED
    assert timeline(action) == [
        ("action.created", "alice"),
        ("rule.matched", f"rule:{rule.id}"),
        ("action.approved", f"rule:{rule.id}"),
    ]
    matched = AuditEntry.objects.get(action_id=action.id, event="rule.matched")
    assert matched.data == {"rule_id": rule.id, "effect": "allow", "reason": "routine clean-up of notes"}
    rule.refresh_from_db()
    assert rule.hit_count == 1 and rule.last_hit_at is not None
    approval = Approval.objects.get(action=action)
    assert (approval.user, approval.rule_id, approval.reason) == (None, rule.id, "routine clean-up of notes")
    assert verify_chain().ok


def test_it_never_lets_an_allow_rule_decide_a_critical_action(alice, erin):
    make_rule(
        erin, action_type="config_change", matchers=[{"parameter": "key", "kind": "exact", "value": "quorum_critical"}]
    )
    action = make_action(alice, CRITICAL_ACTION)
    assert action.status == Status.PENDING
    assert "rule.matched" not in [event for event, _ in timeline(action)]
    assert Rule.objects.get().hit_count == 0


def test_it_leaves_low_and_medium_actions_to_policy_under_an_allow_rule(alice, erin):
    make_rule(erin, matchers=[{"parameter": "path", "kind": "glob", "value": "notes/**"}])
    action = make_action(alice, {"action_type": "file_operation", "parameters": {"operation": "list", "path": "notes"}})
    assert action.status == Status.APPROVED
    assert timeline(action) == [("action.created", "alice"), ("action.approved", "system")]


@pytest.mark.parametrize(
    "spec",
    [
        HIGH_ACTION,
        {"action_type": "file_operation", "parameters": {"operation": "read", "path": "notes/old.txt"}},  # medium
    ],
)
def test_it_rejects_a_matching_action_of_any_level_with_the_deny_rules_note(alice, erin, spec):
    rule = make_rule(erin, effect="deny", note="notes are archived, never touch them")
    action = make_action(alice, spec)
    assert action.status == Status.REJECTED
    rejected = AuditEntry.objects.get(action_id=action.id, event="action.rejected")
    assert rejected.actor == f"rule:{rule.id}"
    assert rejected.data["reason"] == "notes are archived, never touch them"
    assert not AuditEntry.objects.filter(action_id=action.id, event="action.approved").exists()


def test_it_rejects_a_critical_action_with_a_deny_rule(alice, erin):
    make_rule(
        erin,
        effect="deny",
        action_type="config_change",
        matchers=[{"parameter": "key", "kind": "exact", "value": "quorum_critical"}],
    )
    assert make_action(alice, CRITICAL_ACTION).status == Status.REJECTED


def test_it_lets_a_deny_rule_win_over_an_allow_rule(alice, erin):
    make_rule(erin, effect="allow")
    deny = make_rule(erin, effect="deny", matchers=[{"parameter": "operation", "kind": "exact", "value": "delete"}])
    action = make_action(alice, HIGH_ACTION)
    assert action.status == Status.REJECTED
    assert ("action.rejected", f"rule:{deny.id}") in timeline(action)
    assert [rule.hit_count for rule in Rule.objects.order_by("id")] == [0, 1]


def test_it_stops_matching_once_a_rule_is_disabled(alice, erin):
    rule = make_rule(erin)
    assert make_action(alice, HIGH_ACTION).status == Status.APPROVED
    rule_disable(rule_id=rule.id, user=erin)
    assert make_action(alice, HIGH_ACTION).status == Status.PENDING
    entry = AuditEntry.objects.get(event="rule.disabled")
    assert entry.actor == "erin" and entry.data["rule_id"] == rule.id


def test_it_stops_matching_at_expiry_and_audits_it_once_when_maintenance_notices(alice, erin):
    rule = make_rule(erin)
    Rule.objects.filter(id=rule.id).update(expires_at=timezone.now() - timedelta(seconds=1))  # time passes
    assert make_action(alice, HIGH_ACTION).status == Status.PENDING
    assert run_maintenance()["rules_expired"] == 1
    assert run_maintenance()["rules_expired"] == 0
    entry = AuditEntry.objects.get(event="rule.expired")
    assert entry.actor == "system" and entry.data["rule_id"] == rule.id


def test_it_refuses_a_hit_for_a_rule_disabled_after_this_process_compiled_it(alice, erin):
    rule = make_rule(erin)
    evaluation.rules_deciding(
        action_type="file_operation",
        skill_id=None,
        parameters={},
        level="high",
        now=timezone.now(),
        requester_id=alice.pk,
    )
    # Another process disables it without this one noticing the version yet.
    Rule.objects.filter(id=rule.id).update(disabled_at=timezone.now())
    action = make_action(alice, HIGH_ACTION)
    assert action.status == Status.PENDING
    low = make_action(
        alice, {"action_type": "file_operation", "parameters": {"operation": "read", "path": "notes/a.txt"}}
    )
    assert Rule.objects.get().hit_count == 0
    assert low.status == Status.APPROVED  # still approved by policy, through a transition


def test_it_sees_rules_changed_by_other_processes_through_the_version(alice, erin):
    make_rule(erin)
    assert make_action(alice, HIGH_ACTION).status == Status.APPROVED
    version = evaluation.rules_version()
    narrowed = Rule.objects.get()
    rule_edit(
        rule_id=narrowed.id,
        user=erin,
        matchers=[{"parameter": "path", "kind": "exact", "value": "notes/other.txt"}],
        effect="allow",
        expires_at=narrowed.expires_at,
        note="",
    )
    assert evaluation.rules_version() != version
    assert make_action(alice, HIGH_ACTION).status == Status.PENDING
    edited = AuditEntry.objects.get(event="rule.edited")
    assert edited.data["diff"] == {
        "matchers": {"old": NOTES_GLOB, "new": [{"parameter": "path", "kind": "exact", "value": "notes/other.txt"}]}
    }


def test_it_switches_every_rule_off_with_the_setting(alice, erin, settings):
    make_rule(erin, effect="deny")
    settings.ACTIONHUB_RULES_ENABLED = False
    assert make_action(alice, HIGH_ACTION).status == Status.PENDING
    assert Rule.objects.get().hit_count == 0


@pytest.mark.django_db(transaction=True)
def test_it_counts_every_hit_of_concurrent_submissions():
    alice = make_user("alice")
    erin = make_user("erin", "rule_admins", "reviewers")
    rule = make_rule(erin)
    barrier = threading.Barrier(8)

    def submit() -> None:
        barrier.wait()
        try:
            for _ in range(5):
                make_action(alice, HIGH_ACTION)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rule.refresh_from_db()
    assert rule.hit_count == 40
    assert Action.objects.filter(status=Status.APPROVED).count() == 40
    assert AuditEntry.objects.filter(event="rule.matched").count() == 40
    assert verify_chain().ok


def test_it_records_only_real_changes_in_an_edit_diff(erin):
    from datetime import timezone as tz

    moment = (timezone.now() + timedelta(days=3)).astimezone(tz(timedelta(hours=2)))
    rule = make_rule(erin, expires_at=moment, note="first")
    rule_edit(
        rule_id=rule.id,
        user=erin,
        matchers=NOTES_GLOB,
        effect="allow",
        expires_at=moment.astimezone(UTC).replace(microsecond=0),  # as the edit form shows it
        note="second",
    )
    diff = AuditEntry.objects.get(event="rule.edited").data["diff"]
    assert diff == {"note": {"old": "first", "new": "second"}}
    with pytest.raises(InvalidRule, match="nothing changed"):
        rule_edit(rule_id=rule.id, user=erin, matchers=NOTES_GLOB, effect="allow", expires_at=moment, note="second")


def test_it_never_lets_an_allow_win_over_a_deny_that_changed_in_another_process(alice, erin):
    make_rule(erin, effect="allow")
    deny = make_rule(erin, effect="deny", note="old note")
    evaluation.rules_deciding(
        action_type="file_operation",
        skill_id=None,
        parameters={},
        level="high",
        now=timezone.now(),
        requester_id=alice.pk,
    )
    # Another process edits the deny (still matching); this process has not seen the new version yet.
    rule_edit(
        rule_id=deny.id, user=erin, matchers=NOTES_GLOB, effect="deny", expires_at=deny.expires_at, note="new note"
    )
    action = make_action(alice, HIGH_ACTION)
    assert action.status == Status.REJECTED
    assert AuditEntry.objects.get(action_id=action.id, event="action.rejected").data["reason"] == "new note"
