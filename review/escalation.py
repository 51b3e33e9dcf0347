"""Escalation: a held action nobody decided for long is announced, once, to the escalation group.

Workers run `actions_escalate_due` on their maintenance tick. Each escalation is a compare-and-set
on `escalated_at`, so however many workers look at the same action, exactly one escalates it; the
`action.escalated` audit entry commits with it and the email goes out on commit through the
notification delivery (retries and audit included). Escalation never changes the action's status:
if nobody decides before `expires_at`, it expires as before.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from approvals import events
from approvals.assignment import assigned_group_ids, assigned_names
from approvals.models import Action, Status
from audit.services import SYSTEM_ACTOR, audit_append
from notifications.tasks import enqueue_escalation_notification


def action_escalate(*, action_id: UUID, now: datetime | None = None) -> bool:
    """Escalate one held action whose escalation time has come; False if it was decided, expired or
    escalated already (by this or another worker)."""
    now = now or timezone.now()
    with transaction.atomic():
        claimed = Action.objects.filter(
            id=action_id, status=Status.PENDING, escalated_at__isnull=True, escalate_at__lte=now, expires_at__gt=now
        ).update(escalated_at=now)
        if not claimed:
            return False
        action = Action.objects.get(id=action_id)
        group, _ = Group.objects.get_or_create(name=settings.ACTIONHUB_ESCALATION_GROUP)
        routed_to = assigned_names(action)
        if assigned_group_ids(action):
            # A routed action becomes decidable by escalation reviewers too; an unrouted one
            # already is. Recorded in the audit entry, so the reassignment is never silent.
            action.assigned_groups.add(group)
        audit_append(
            actor=SYSTEM_ACTOR,
            event="action.escalated",
            action_id=action.id,
            data={
                "group": group.name,
                "waited_seconds": int((now - action.created_at).total_seconds()),
                "assigned_groups": routed_to,
                "expires_at": action.expires_at.isoformat() if action.expires_at else None,
            },
        )
        events.action_changed(action_id=action.id, status=Status.PENDING)
        transaction.on_commit(lambda: enqueue_escalation_notification(action_id=action.id))
    return True


def actions_escalate_due(*, now: datetime | None = None, limit: int = 100) -> int:
    """Escalate held actions whose escalation time has come (served by action_status_escalate)."""
    now = now or timezone.now()
    due = Action.objects.filter(
        status=Status.PENDING, escalate_at__lte=now, escalated_at__isnull=True, expires_at__gt=now
    ).values_list("id", flat=True)[:limit]
    return sum(action_escalate(action_id=action_id, now=now) for action_id in list(due))
