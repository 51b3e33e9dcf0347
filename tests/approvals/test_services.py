from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from approvals.exceptions import (
    ActionExpired,
    ActionNotPending,
    AlreadyDecided,
    InvalidParameters,
    InvalidTransition,
    NotAReviewer,
    PayloadChanged,
    SelfApprovalForbidden,
)
from approvals.models import Action, Status
from approvals.services import (
    ALLOWED_TRANSITIONS,
    _transition,
    action_decide,
    action_edit,
    action_expire,
    actions_expire_due,
)
from audit.models import AuditEntry
from tests.factories import CRITICAL_ACTION, HIGH_ACTION, MEDIUM_ACTION, make_action

STATUSES = [status.value for status in Status]


def _events(action: Action) -> list[str]:
    return list(AuditEntry.objects.filter(action_id=action.id).order_by("seq").values_list("event", flat=True))


@pytest.mark.parametrize("source", STATUSES)
@pytest.mark.parametrize("target", STATUSES)
def test_it_allows_exactly_the_transitions_in_the_map(alice, source, target):
    action = make_action(alice)
    Action.objects.filter(id=action.id).update(status=source)
    allowed = target in ALLOWED_TRANSITIONS[source]
    before = AuditEntry.objects.count()
    with transaction.atomic():
        if allowed:
            changed = _transition(action, source=source, target=target, actor="system", event="t")
            assert changed
            assert action.status == target, "the instance holds what was written"
        else:
            with pytest.raises(InvalidTransition):
                _transition(action, source=source, target=target, actor="system", event="t")
    action.refresh_from_db()
    assert action.status == (target if allowed else source)
    assert AuditEntry.objects.count() == before + (1 if allowed else 0)


def test_it_refuses_a_transition_from_a_stale_status(alice):
    action = make_action(alice)
    with transaction.atomic():
        assert not _transition(action, source=Status.APPROVED, target=Status.EXECUTING, actor="system", event="t")
    assert action.status == Status.PENDING, "a refused transition leaves the instance as it was"
    action.refresh_from_db()
    assert action.status == Status.PENDING


def test_it_approves_low_and_medium_actions_by_system_and_enqueues_them(alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        action = make_action(alice, MEDIUM_ACTION)
    assert action.status == Status.APPROVED
    assert action.approvals.get().user is None
    assert _events(action) == ["action.created", "action.approved"]
    assert DBTaskResult.objects.filter(args_kwargs__kwargs__action_id=str(action.id)).count() == 1


def test_it_holds_high_actions_and_marks_them_for_the_reviewers_notice(alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        action = make_action(alice, HIGH_ACTION)
    assert action.status == Status.PENDING
    assert action.approvals_required == 1
    assert action.expires_at is not None
    assert Action.objects.get(id=action.id).notice_due
    assert not DBTaskResult.objects.exists(), "the row is the notice: nothing to run, nothing queued"


def test_it_ignores_a_security_level_claimed_by_the_requester(alice):
    action = make_action(alice, HIGH_ACTION, parameters={"operation": "delete", "path": "x"})
    assert action.security_level == "high"


def test_it_forbids_deciding_on_your_own_action(bob):
    action = make_action(bob)
    with pytest.raises(SelfApprovalForbidden):
        action_decide(action_id=action.id, user=bob, approved=True)
    assert Action.objects.get(id=action.id).status == Status.PENDING


def test_it_forbids_non_reviewers_to_decide(alice, dave):
    action = make_action(alice)
    with pytest.raises(NotAReviewer):
        action_decide(action_id=action.id, user=dave, approved=True)


def test_it_approves_a_high_action_with_one_reviewer(alice, bob, django_capture_on_commit_callbacks):
    action = make_action(alice)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = action_decide(action_id=action.id, user=bob, approved=True, payload_hash=action.payload_hash)
    assert outcome.status == Status.APPROVED
    assert outcome.action.approved_at is not None
    assert _events(action) == ["action.created", "action.approved"]
    assert DBTaskResult.objects.filter(task_path="worker.tasks.execute_action").count() == 1


def test_it_needs_a_quorum_of_distinct_reviewers_for_critical(alice, bob, carol):
    action = make_action(alice, CRITICAL_ACTION)
    assert action.security_level == "critical"
    assert action.approvals_required == 2
    first = action_decide(action_id=action.id, user=bob, approved=True)
    assert (first.status, first.approvals) == (Status.PENDING, 1)
    with pytest.raises(AlreadyDecided):
        action_decide(action_id=action.id, user=bob, approved=True)
    second = action_decide(action_id=action.id, user=carol, approved=True)
    assert (second.status, second.approvals) == (Status.APPROVED, 2)
    assert _events(action) == ["action.created", "action.approval_added", "action.approved"]


def test_it_follows_the_configured_quorum(alice, bob, settings):
    settings.ACTIONHUB_QUORUM_CRITICAL = 1
    action = make_action(alice, CRITICAL_ACTION)
    assert action_decide(action_id=action.id, user=bob, approved=True).status == Status.APPROVED


def test_it_rejects_on_one_reviewer_saying_no(alice, bob, carol):
    action = make_action(alice, CRITICAL_ACTION)
    action_decide(action_id=action.id, user=bob, approved=True)
    outcome = action_decide(action_id=action.id, user=carol, approved=False, reason="not now")
    assert outcome.status == Status.REJECTED
    entry = AuditEntry.objects.filter(action_id=action.id, event="action.rejected").get()
    assert entry.actor == "carol"
    assert entry.data["reason"] == "not now"


def test_it_refuses_a_decision_on_a_changed_payload(alice, bob):
    action = make_action(alice)
    with pytest.raises(PayloadChanged):
        action_decide(action_id=action.id, user=bob, approved=True, payload_hash="0" * 64)
    assert Action.objects.get(id=action.id).status == Status.PENDING


def test_it_refuses_a_decision_on_a_decided_action(alice, bob, carol):
    action = make_action(alice)
    action_decide(action_id=action.id, user=bob, approved=False, reason="no")
    with pytest.raises(ActionNotPending):
        action_decide(action_id=action.id, user=carol, approved=True)


def test_it_expires_instead_of_approving_a_decision_after_expiry(alice, bob, django_capture_on_commit_callbacks):
    action = make_action(alice)
    Action.objects.filter(id=action.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ActionExpired):
        action_decide(action_id=action.id, user=bob, approved=True)
    action.refresh_from_db()
    assert action.status == Status.EXPIRED
    assert action.approved_at is None
    assert not DBTaskResult.objects.filter(task_path="worker.tasks.execute_action").exists()
    assert _events(action) == ["action.created", "action.expired"]


def test_it_expires_due_actions_per_level(alice, settings):
    high = make_action(alice)
    critical = make_action(alice, CRITICAL_ACTION)
    assert critical.expires_at - critical.created_at == timedelta(hours=1)
    assert high.expires_at - high.created_at == timedelta(hours=24)
    assert actions_expire_due(now=timezone.now() + timedelta(hours=2)) == 1
    assert Action.objects.get(id=critical.id).status == Status.EXPIRED
    assert Action.objects.get(id=high.id).status == Status.PENDING
    assert not action_expire(action_id=high.id)


def test_it_never_expires_a_decided_action(alice, bob):
    action = make_action(alice)
    action_decide(action_id=action.id, user=bob, approved=False, reason="no")
    assert not action_expire(action_id=action.id, now=timezone.now() + timedelta(days=2))
    assert Action.objects.get(id=action.id).status == Status.REJECTED


def test_it_voids_approvals_and_reclassifies_on_edit(alice, bob, carol):
    action = make_action(alice, CRITICAL_ACTION)
    action_decide(action_id=action.id, user=bob, approved=True)
    edited = action_edit(action_id=action.id, user=carol, parameters={"key": "quorum_critical", "value": 3})
    assert edited.payload_hash != action.payload_hash
    assert edited.approvals.filter(voided_at__isnull=True).count() == 0
    entry = AuditEntry.objects.get(action_id=action.id, event="action.edited")
    assert entry.data["diff"]["changed"] == {"value": {"old": 2, "new": 3}}
    assert entry.data["approvals_voided"] == 1
    # Bob's earlier approval no longer counts: he may decide again, on the new payload.
    with pytest.raises(PayloadChanged):
        action_decide(action_id=action.id, user=bob, approved=True, payload_hash=action.payload_hash)
    assert action_decide(action_id=action.id, user=bob, approved=True).approvals == 1


def test_it_approves_by_policy_an_action_edited_down_to_medium(alice, bob):
    action = make_action(alice)
    edited = action_edit(action_id=action.id, user=bob, parameters={"operation": "read", "path": "notes/old.txt"})
    assert (edited.security_level, edited.status) == ("medium", Status.APPROVED)


def test_it_rejects_invalid_edits_without_changing_anything(alice, bob):
    action = make_action(alice)
    with pytest.raises(InvalidParameters):
        action_edit(action_id=action.id, user=bob, parameters={"operation": "delete", "path": "../etc/passwd"})
    with pytest.raises(InvalidParameters):
        action_edit(action_id=action.id, user=bob, parameters=action.parameters)
    assert Action.objects.get(id=action.id).payload_hash == action.payload_hash
