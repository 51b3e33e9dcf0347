"""Rendered HTML fragments pushed over /ws/approvals/ for htmx's websocket extension: queue rows,
the detail panel and a requester's My requests rows.

The queue row of an action looks the same to every reviewer who may see it, so a web process
renders it once per broadcast and sends the same bytes to each socket allowed to see it (counts
once per set of groups); the detail panel depends on who looks (their own action, their own
vote), so it is rendered per socket.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser
from django.template.loader import render_to_string
from django.utils import timezone

from approvals.assignment import Viewer, assigned_ids_by_action, assigned_names_by_action
from approvals.authorship import edits_prefetch
from approvals.models import Action, Status
from approvals.selectors import approvals_by_action, queue_counts
from approvals.services import ALLOWED_TRANSITIONS
from review.views import detail_context


@dataclass(frozen=True)
class QueueRow:
    action_id: str
    pending: bool
    security_level: str
    action_type: str
    assigned: frozenset[int]
    row_html: str
    remove_html: str

    def for_socket(self, *, viewer: Viewer, level: str | None, action_type: str | None, assigned_only: bool) -> str:
        """What one queue socket receives for this action: the row, its removal, or nothing at all
        when the action is routed to groups the socket's reviewer is not in."""
        if not viewer.sees(self.assigned):
            return ""
        matches = (
            level in (None, self.security_level)
            and action_type in (None, self.action_type)
            and (not assigned_only or viewer.assigned_to(self.assigned))
        )
        return self.row_html if self.pending and matches else self.remove_html


def queue_rows(*, action_ids: list[str]) -> list[QueueRow]:
    """The queue rows of changed actions, rendered once for every socket of this process."""
    actions = list(Action.objects.select_related("requested_by").filter(id__in=action_ids))
    pending_ids = [action.id for action in actions if action.status == Status.PENDING]
    approvals = approvals_by_action(pending_ids)
    names = assigned_names_by_action([action.id for action in actions])
    group_ids = assigned_ids_by_action([action.id for action in actions])
    order = {str(action_id): index for index, action_id in enumerate(action_ids)}
    rows = []
    for action in sorted(actions, key=lambda action: order.get(str(action.id), 0)):
        pending = action.status == Status.PENDING
        row_html = ""
        if pending:
            context = {"action": action, "approvals": approvals[action.id], "assigned": names[action.id], "oob": True}
            row_html = render_to_string("review/queue.html#queue-row", context)
        rows.append(
            QueueRow(
                action_id=str(action.id),
                pending=pending,
                security_level=action.security_level,
                action_type=action.action_type,
                assigned=group_ids[action.id],
                row_html=row_html,
                remove_html=f'<li id="action-{action.id}" hx-swap-oob="delete"></li>',
            )
        )
    return rows


def queue_counts_html(*, viewer: Viewer) -> str:
    """Fresh counts as `viewer` (and every reviewer with the same groups) sees them."""
    return render_to_string("review/queue.html#queue-counts", {"counts": queue_counts(viewer=viewer), "oob": True})


def detail_fragment(*, action_id: UUID | str, user: AbstractBaseUser, seen_hash: str | None, zone: str) -> str:
    """The live part of the detail page (status, quorum, outcome, timeline), as `user` sees it,
    times in their `zone`.

    Once the action is no longer pending, the decision panel is replaced too, saying what happened.
    """
    context = detail_context(action_id=action_id, user=user, seen_hash=seen_hash)
    if context is None:
        return ""
    with timezone.override(ZoneInfo(zone)):
        return render_to_string("review/detail.html#detail-live", {**context, "oob": True, "push": True})


# How many of a requester's unfinished actions one My requests socket follows, newest first.
MINE_WATCHED = 500
FINISHED = tuple(status for status, targets in ALLOWED_TRANSITIONS.items() if not targets)


def mine_open_ids(*, user: AbstractBaseUser, limit: int) -> set[str]:
    """The ids of `user`'s own actions that may still change status."""
    rows = (
        Action.objects.filter(requested_by_id=user.pk)
        .exclude(status__in=FINISHED)
        .order_by("-created_at")
        .values_list("id", flat=True)[:limit]
    )
    return {str(action_id) for action_id in rows}


def mine_rows(*, action_ids: list[str], user: AbstractBaseUser) -> tuple[str, list[str]]:
    """The My requests rows of `user`'s actions among `action_ids`, and the ids of those now finished."""
    actions = Action.objects.filter(id__in=action_ids, requested_by_id=user.pk).prefetch_related(edits_prefetch())
    html = []
    finished = []
    for action in actions:
        html.append(render_to_string("review/mine.html#mine-row", {"action": action, "oob": True}))
        if action.status in FINISHED:
            finished.append(str(action.id))
    return "".join(html), finished


def mine_new_row(
    *, action_id: str, user: AbstractBaseUser, status: str | None, action_type: str | None
) -> tuple[str, bool]:
    """A new action of `user`'s at the top of their My requests list (when it matches the page's
    filters), and whether it may still change."""
    actions = Action.objects.filter(id=action_id, requested_by_id=user.pk).prefetch_related(edits_prefetch())
    action = actions.first()
    if action is None:
        return "", False
    open_ = action.status not in FINISHED
    if status not in (None, action.status) or action_type not in (None, action.action_type):
        return "", open_
    row = render_to_string("review/mine.html#mine-row", {"action": action})
    return f'<ol id="mine-list" hx-swap-oob="afterbegin">{row}</ol>', open_
