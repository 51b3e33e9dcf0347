"""Reads of actions for the API and pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, F, Prefetch, Q, QuerySet

from approvals.assignment import Viewer, assigned_to, reviewable_by, viewer_for, visible_to
from approvals.authorship import edits_prefetch
from approvals.models import Action, Approval, Status, decider_name
from audit.models import AuditEntry
from lib.pagination import Page, keyset_page
from lib.roles import is_auditor, is_reviewer

# The orders of the two pending lists, and so the keys their cursors hold.
PENDING_KEY = ("created_at", "id")
QUEUE_KEY = ("expires_at", "id")


def _with_approvals(queryset: QuerySet[Action]) -> QuerySet[Action]:
    return queryset.select_related("requested_by").prefetch_related(
        Prefetch("approvals", queryset=Approval.objects.filter(voided_at__isnull=True).select_related("user")),
        edits_prefetch(),
    )


def actions_visible_to(queryset: QuerySet[Action], *, user: AbstractBaseUser) -> QuerySet[Action]:
    """The actions of `queryset` that `user` may see: their own, every one for an auditor, and for a
    reviewer those they may review (routing). The one visibility rule of every page and endpoint."""
    if is_auditor(user):
        return queryset
    own = Q(requested_by_id=user.pk)
    if is_reviewer(user):
        return queryset.filter(own | reviewable_by(viewer_for(user)))
    return queryset.filter(own)


def action_visible_to(*, action_id: UUID, user: AbstractBaseUser) -> bool:
    return actions_visible_to(Action.objects.filter(id=action_id), user=user).exists()


def action_get_for(*, action_id: UUID, user: AbstractBaseUser) -> Action | None:
    """The action if `user` may see it: its requester, an auditor, or a reviewer it is assigned to."""
    return _with_approvals(actions_visible_to(Action.objects.filter(id=action_id), user=user)).first()


def action_get(*, action_id: UUID) -> Action | None:
    """The action with its live approvals, whoever asks: for callers that checked visibility."""
    return _with_approvals(Action.objects.filter(id=action_id)).first()


def pending_actions(
    *, viewer: Viewer, after: tuple[datetime, UUID] | None, limit: int, assigned_only: bool = False
) -> Page[Action]:
    """A page of `limit` pending actions `viewer` may review, oldest first, by keyset (created_at, id);
    served by action_status_created.

    Their approvals come separately from approvals_by_action (one flat query, no per-row prefetch).
    """
    queryset = visible_to(Action.objects.filter(status=Status.PENDING), viewer)
    if assigned_only:
        queryset = assigned_to(queryset, viewer)
    queryset = queryset.annotate(requester_name=F("requested_by__username")).prefetch_related(edits_prefetch())
    return keyset_page(queryset, fields=PENDING_KEY, after=after, size=limit)


def actions_list(
    *,
    user: AbstractBaseUser,
    mine: bool,
    status: str | None = None,
    action_type: str | None = None,
    external_id: str | None = None,
    before: tuple[datetime, UUID] | None,
    limit: int,
) -> Page[Action]:
    """A page of the actions `user` may see (only their own with `mine`), newest first, by keyset
    (created_at, id) descending; served by action_requester_created / action_requester_external."""
    queryset = Action.objects.filter(requested_by_id=user.pk) if mine else actions_visible_to(Action.objects, user=user)
    if status:
        queryset = queryset.filter(status=status)
    if action_type:
        queryset = queryset.filter(action_type=action_type)
    if external_id is not None:
        queryset = queryset.filter(external_id=external_id)
    queryset = queryset.annotate(requester_name=F("requested_by__username")).prefetch_related(edits_prefetch())
    return keyset_page(queryset, fields=PENDING_KEY, after=before, size=limit, descending=True)


def approvals_by_action(action_ids: list[UUID]) -> dict[UUID, list[dict[str, Any]]]:
    """The live approvals of many actions, grouped by action id, oldest first."""
    grouped: dict[UUID, list[dict[str, Any]]] = {action_id: [] for action_id in action_ids}
    rows = (
        Approval.objects.filter(action_id__in=action_ids, voided_at__isnull=True)
        .order_by("at")
        .values_list("action_id", "user__username", "rule_id", "decision", "reason", "at")
    )
    for action_id, username, rule_id, decision, reason, at in rows:
        name = username or (f"rule:{rule_id}" if rule_id is not None else "system")
        grouped[action_id].append({"user": name, "decision": decision, "reason": reason, "at": at})
    return grouped


def requester_name(action: Action) -> str:
    """The requester's username, from the list query's annotation when present (saves a User per row)."""
    return getattr(action, "requester_name", None) or action.requested_by.get_username()


def action_approvals(action: Action) -> list[dict[str, Any]]:
    return [
        {
            "user": decider_name(approval),
            "decision": approval.decision,
            "reason": approval.reason,
            "at": approval.at,
        }
        for approval in action.approvals.all()
    ]


QUEUE_LEVELS = ("critical", "high")


def queue_actions(
    *,
    viewer: Viewer,
    level: str | None = None,
    action_type: str | None = None,
    assigned_only: bool = False,
    after: tuple[datetime, UUID] | None = None,
    limit: int,
) -> Page[Action]:
    """A page of `limit` pending actions `viewer` may review, soonest to expire first, keyset-paged on
    (expires_at, id)."""
    queryset = visible_to(Action.objects.filter(status=Status.PENDING), viewer).select_related("requested_by")
    if assigned_only:
        queryset = assigned_to(queryset, viewer)
    if level:
        queryset = queryset.filter(security_level=level)
    if action_type:
        queryset = queryset.filter(action_type=action_type)
    return keyset_page(queryset, fields=QUEUE_KEY, after=after, size=limit)


def queue_counts(*, viewer: Viewer) -> dict[str, int]:
    """Pending actions `viewer` may review per security level, every level present."""
    counts = dict.fromkeys(QUEUE_LEVELS, 0)
    rows = (
        visible_to(Action.objects.filter(status=Status.PENDING), viewer)
        .values("security_level")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        counts[row["security_level"]] = row["n"]
    return counts


def action_timeline(*, action_id: UUID) -> list[AuditEntry]:
    """The action's audit entries, oldest first."""
    return list(AuditEntry.objects.filter(action_id=action_id).order_by("seq"))
