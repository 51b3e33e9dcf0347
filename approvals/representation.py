"""An action as the API, the wait endpoint and callbacks show it: one JSON shape everywhere.

`decision` tells an agent what became of its request in one place: the outcome, who decided it,
why, and whether a reviewer edited it (then `parameters` is what they approved, not what was asked).
"""

from __future__ import annotations

from typing import Any

from approvals.assignment import assigned_names
from approvals.authorship import action_editors
from approvals.models import Action, Decision, Status
from approvals.reversibility import action_reversibility
from approvals.selectors import action_approvals, requester_name

APPROVED_STATES = (Status.APPROVED, Status.EXECUTING, Status.COMPLETED, Status.FAILED)


def action_payload(
    action: Action, *, approvals: list[dict[str, Any]] | None = None, groups: list[str] | None = None
) -> dict[str, Any]:
    approvals = action_approvals(action) if approvals is None else approvals
    editors = action_editors(action)
    reversibility = action_reversibility(action)
    return {
        "id": action.id,
        "action_type": action.action_type,
        "skill_id": action.skill_id,
        "parameters": action.parameters,
        "security_level": action.security_level,
        "classification_reasons": action.classification_reasons,
        "status": action.status,
        "requested_by": requester_name(action),
        "created_at": action.created_at,
        "approved_at": action.approved_at,
        "completed_at": action.completed_at,
        "expires_at": action.expires_at,
        "result": action.result,
        "error": action.error,
        "payload_hash": action.payload_hash,
        "approvals": approvals,
        "approvals_required": action.approvals_required,
        "requires_approval": action.requires_approval,
        "editors": editors,
        "attempt": action.attempt,
        "needs_review": action.needs_review,
        "assigned_groups": assigned_names(action) if groups is None else groups,
        "escalated_at": action.escalated_at,
        "reversibility": {"value": reversibility.value, "label": reversibility.label, "reason": reversibility.reason},
        "external_id": action.external_id,
        "decision": action_decision(action, approvals=approvals, edited=bool(editors)),
    }


def action_decision(action: Action, *, approvals: list[dict[str, Any]], edited: bool) -> dict[str, Any]:
    """{outcome, by, reason, edited} from the live decisions; outcome is None while it is pending."""
    if action.status in APPROVED_STATES:
        approvers = [a for a in approvals if a["decision"] == Decision.APPROVE]
        return {
            "outcome": "approved",
            "by": [a["user"] for a in approvers],
            "reason": "; ".join(a["reason"] for a in approvers if a["reason"]),
            "edited": edited,
        }
    if action.status == Status.REJECTED:
        rejecter = next((a for a in approvals if a["decision"] == Decision.REJECT), None)
        return {
            "outcome": "rejected",
            "by": [rejecter["user"]] if rejecter else [],
            "reason": rejecter["reason"] if rejecter else "",
            "edited": edited,
        }
    if action.status == Status.EXPIRED:
        return {"outcome": "expired", "by": [], "reason": "nobody decided before it expired", "edited": edited}
    if action.status == Status.CANCELLED:
        return {
            "outcome": "cancelled",
            "by": [requester_name(action)],
            "reason": "cancelled by its requester",
            "edited": edited,
        }
    return {"outcome": None, "by": [], "reason": "", "edited": edited}
