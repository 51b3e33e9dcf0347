"""How actions read to people: one-line summaries, what they will change, plain-language outcomes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from approvals.kinds.base import FileChange, parameters_summary
from approvals.kinds.registry import find_kind
from approvals.models import Action, Decision, SecurityLevel, Status
from approvals.reversibility import action_reversibility


def action_summary(action: Action) -> str:
    """One readable line for the queue; the detail page always shows the full parameters."""
    kind = find_kind(action.action_type)
    return kind.summary(action) if kind is not None else parameters_summary(action)


def action_kind_label(action: Action) -> str:
    kind = find_kind(action.action_type)
    return kind.label if kind is not None else action.action_type


def action_known_failure(action: Action) -> str | None:
    """Why the action would fail if it ran now, when that is already known; None otherwise."""
    kind = find_kind(action.action_type)
    if kind is None:
        return f"No kind of action is called {action.action_type!r} any more, so nothing would run it."
    return kind.known_failure(action) if kind.executes else None


def approval_needs_confirmation(action: Action) -> bool:
    """Whether approving takes a second, deliberate step: the effect cannot be undone, the action
    is CRITICAL, or it is already known to fail. A reversible HIGH action is approved in one."""
    return (
        action_reversibility(action).value == "irreversible"
        or action.security_level == SecurityLevel.CRITICAL
        or action_known_failure(action) is not None
    )


def action_changes(*, action: Action) -> dict[str, Any]:
    """What the detail and confirmation pages show beside the parameters (a file diff loads later)."""
    kind = find_kind(action.action_type)
    return kind.changes(action) if kind is not None else {}


def action_diff(*, action: Action) -> FileChange | None:
    """The preview part that loads after the page; None when the action has none."""
    kind = find_kind(action.action_type)
    return kind.diff(action) if kind is not None else None


def duration_words(delta: timedelta) -> str:
    """'3d 4h', '12m 5s', '40s': two units at most, never negative."""
    seconds = max(0, int(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {seconds}s"
    return f"{seconds}s"


def outcome_sentence(action: Action, approvals: list[dict[str, Any]], now: datetime) -> str:
    """What happened to an action that is no longer waiting, in plain words."""
    people = [a for a in approvals if a["user"] != "system"]
    rejecter = next((a for a in people if a["decision"] == Decision.REJECT), None)
    approvers = [a["user"] for a in people if a["decision"] == Decision.APPROVE]
    by_policy = any(a["user"] == "system" for a in approvals)
    if action.status == Status.REJECTED and rejecter:
        reason = f": “{rejecter['reason']}”" if rejecter["reason"] else ""
        return f"Rejected by {rejecter['user']}{reason}."
    if action.status == Status.EXPIRED:
        return "Expired: nobody decided in time, so it will not run."
    if action.status == Status.CANCELLED:
        return "Cancelled by its requester before anyone decided; it will not run."
    if approvers:
        decided = f"Approved by {' and '.join(approvers)}"
    elif by_policy:
        decided = f"Approved by policy ({action.security_level} risk)"
    else:
        decided = "Approved"
    kind = find_kind(action.action_type)
    runs_here = kind is None or kind.executes
    tail = {
        Status.APPROVED: "waiting for a worker." if runs_here else "its requester runs it and has not reported yet.",
        Status.EXECUTING: "running now.",
        Status.COMPLETED: "completed.",
        # The error itself is shown once, beside the result, not in every sentence about the action.
        Status.FAILED: "failed; the error is shown below." if action.error else "failed.",
    }.get(action.status, f"{action.status}.")
    return f"{decided}; {tail}"
