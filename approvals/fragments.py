"""Rendered HTML fragments pushed over /ws/approvals/ for htmx's websocket extension.

The queue row of an action looks the same to every reviewer, so a web process renders it once
per broadcast and sends the same bytes to all its sockets; the detail panel depends on who
looks (their own action, their own vote), so it is rendered per socket.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser
from django.template.loader import render_to_string

from approvals.models import Action, Status
from approvals.selectors import approvals_by_action, queue_counts
from approvals.views import detail_context


@dataclass(frozen=True)
class QueueFragment:
    action_id: str
    pending: bool
    security_level: str
    action_type: str
    row_html: str
    remove_html: str
    counts_html: str

    def for_filters(self, *, level: str | None, action_type: str | None) -> str:
        """The message one socket receives: the row (or its removal) plus fresh counts."""
        matches = (level in (None, self.security_level)) and (action_type in (None, self.action_type))
        return (self.row_html if self.pending and matches else self.remove_html) + self.counts_html


def queue_fragment(*, action_id: str) -> QueueFragment | None:
    action = Action.objects.select_related("requested_by").filter(id=action_id).first()
    if action is None:
        return None
    pending = action.status == Status.PENDING
    row_html = ""
    if pending:
        approvals = approvals_by_action([action.id])[action.id]
        row_html = render_to_string(
            "approvals/queue.html#queue-row", {"action": action, "approvals": approvals, "oob": True}
        )
    return QueueFragment(
        action_id=str(action.id),
        pending=pending,
        security_level=action.security_level,
        action_type=action.action_type,
        row_html=row_html,
        remove_html=f'<li id="action-{action.id}" hx-swap-oob="delete"></li>',
        counts_html=render_to_string("approvals/queue.html#queue-counts", {"counts": queue_counts(), "oob": True}),
    )


def detail_fragment(*, action_id: UUID | str, user: AbstractBaseUser, seen_hash: str | None) -> str:
    """The live part of the detail page (status, quorum, outcome, timeline), as `user` sees it.

    Once the action is no longer pending, the decision panel is replaced too, saying what happened.
    """
    context = detail_context(action_id=action_id, user=user, seen_hash=seen_hash)
    if context is None:
        return ""
    return render_to_string("approvals/detail.html#detail-live", {**context, "oob": True, "push": True})
