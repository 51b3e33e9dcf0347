"""How actions read to people: one-line summaries, plain-language outcomes, durations."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from approvals.models import Action, ActionType, Decision, Status

SUMMARY_LENGTH = 140


def _clip(text: str, length: int = SUMMARY_LENGTH) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= length else text[: length - 1] + "…"


def _scalar(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), sort_keys=True)


def action_summary(action: Action) -> str:
    """One readable line for the queue; the detail page always shows the full parameters."""
    parameters: dict[str, Any] = action.parameters or {}
    match action.action_type:
        case ActionType.CHAT:
            return _clip(f"“{parameters.get('message', '')}”")
        case ActionType.MODEL_SWITCH:
            return _clip(f"switch the active model to {parameters.get('model', '')}")
        case ActionType.CONFIG_CHANGE:
            return _clip(f"set {parameters.get('key', '')} = {_scalar(parameters.get('value'))}")
        case ActionType.API_CALL:
            return _clip(f"{parameters.get('method', '').upper()} {parameters.get('url', '')}")
        case ActionType.FILE_OPERATION:
            workspace = parameters.get("workspace") or "default"
            return _clip(f"{parameters.get('operation', '')} {parameters.get('path', '')} in workspace {workspace}")
        case _:
            pairs = ", ".join(f"{key}={_scalar(value)}" for key, value in sorted(parameters.items()))
            return _clip(f"{action.skill_id or 'skill'}: {pairs}")


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
    if approvers:
        decided = f"Approved by {' and '.join(approvers)}"
    elif by_policy:
        decided = f"Approved by policy ({action.security_level} risk)"
    else:
        decided = "Approved"
    tail = {
        Status.APPROVED: "waiting for a worker.",
        Status.EXECUTING: "running now.",
        Status.COMPLETED: "completed.",
        Status.FAILED: f"failed: {action.error}" if action.error else "failed.",
    }.get(action.status, f"{action.status}.")
    return f"{decided}; {tail}"
