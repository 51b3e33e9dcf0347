"""Reads of actions for the API and pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Prefetch, Q, QuerySet

from approvals.models import Action, Approval, Status
from approvals.roles import is_auditor, is_reviewer


def _with_approvals(queryset: QuerySet[Action]) -> QuerySet[Action]:
    return queryset.select_related("requested_by").prefetch_related(
        Prefetch("approvals", queryset=Approval.objects.filter(voided_at__isnull=True).select_related("user"))
    )


def action_get_for(*, action_id: UUID, user: AbstractBaseUser) -> Action | None:
    """The action if `user` may see it (its requester, a reviewer or an auditor)."""
    action = _with_approvals(Action.objects.filter(id=action_id)).first()
    if action is None:
        return None
    if action.requested_by_id == user.pk or is_reviewer(user) or is_auditor(user):
        return action
    return None


def pending_actions(*, after: tuple[datetime, UUID] | None, limit: int) -> list[Action]:
    """Pending actions, oldest first, by keyset (created_at, id); served by action_status_created."""
    queryset = Action.objects.filter(status=Status.PENDING)
    if after is not None:
        created_at, action_id = after
        queryset = queryset.filter(Q(created_at__gt=created_at) | Q(created_at=created_at, id__gt=action_id))
    return list(_with_approvals(queryset.order_by("created_at", "id"))[:limit])


def action_approvals(action: Action) -> list[dict[str, Any]]:
    return [
        {
            "user": approval.user.get_username() if approval.user else "system",
            "decision": approval.decision,
            "reason": approval.reason,
            "at": approval.at,
        }
        for approval in action.approvals.all()
    ]
