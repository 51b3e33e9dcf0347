"""What ActionHub's decision on one call means to an adapter: run it, run it as edited, or refuse."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from actionhub_client.models import Action


@dataclass(frozen=True)
class Verdict:
    """`kind` is approve, edit (run `args`, the reviewer's) or refuse. `message` says why not, for a
    refusal; for an edit, it is the refusal to give where the edited call cannot be run."""

    kind: str
    name: str
    args: dict[str, Any]
    message: str = ""


def verdict(
    name: str,
    args: dict[str, Any],
    action: Action,
    *,
    timeout: float | None = None,
    unapplied: str = "which this request does not allow",
) -> Verdict:
    """What `action`, ActionHub's decision on the call `name(args)`, means. `timeout` is how long
    the wait was (for the message when nobody decided in time); `unapplied` ends the refusal of an
    edit that cannot be applied."""
    if not action.approved:
        if action.status == "cancelled" and timeout is not None:
            return Verdict("refuse", name, args, f"denied by ActionHub: no reviewer decided within {timeout:g} s")
        return Verdict("refuse", name, args, action.denial())
    by = ", ".join(action.decision.by) or "ActionHub"
    approved_name = action.parameters.get("tool", name)
    approved_args = action.parameters.get("input")
    if not isinstance(approved_args, dict):
        approved_args = args
    if approved_name != name:
        return Verdict("refuse", name, args, f"denied by {by}: approved only as a call to {approved_name}, not {name}")
    if approved_args != args:
        changed = json.dumps(approved_args, sort_keys=True)
        refusal = f"denied by {by}: approved only with changed arguments {changed}, {unapplied}"
        return Verdict("edit", name, approved_args, f"{refusal}; the call as made was not approved")
    return Verdict("approve", name, args)
