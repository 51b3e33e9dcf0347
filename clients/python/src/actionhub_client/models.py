"""An action as ActionHub returns it, typed for the fields an agent acts on (the rest in `raw`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

PENDING = "pending"
# States an action never leaves.
FINISHED = frozenset({"completed", "failed", "rejected", "expired", "cancelled"})
DENIED = frozenset({"rejected", "expired", "cancelled"})


@dataclass(frozen=True)
class Decision:
    """What became of the request: `outcome` is approved, rejected, expired, cancelled, or None while pending."""

    outcome: str | None
    by: tuple[str, ...]
    reason: str
    edited: bool

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Decision:
        data = data or {}
        return cls(
            outcome=data.get("outcome"),
            by=tuple(data.get("by") or ()),
            reason=data.get("reason") or "",
            edited=bool(data.get("edited")),
        )


@dataclass(frozen=True)
class Action:
    id: str
    action_type: str
    status: str
    security_level: str
    parameters: dict[str, Any]
    decision: Decision
    requested_by: str
    external_id: str
    requires_approval: bool
    result: Any
    error: str
    created_at: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Action:
        created = data.get("created_at")
        return cls(
            id=str(data["id"]),
            action_type=data.get("action_type", ""),
            status=data.get("status", ""),
            security_level=data.get("security_level", ""),
            parameters=data.get("parameters") or {},
            decision=Decision.from_json(data.get("decision")),
            requested_by=data.get("requested_by", ""),
            external_id=data.get("external_id") or "",
            requires_approval=bool(data.get("requires_approval")),
            result=data.get("result"),
            error=data.get("error") or "",
            created_at=datetime.fromisoformat(created) if created else None,
            raw=data,
        )

    @property
    def pending(self) -> bool:
        return self.status == PENDING

    @property
    def approved(self) -> bool:
        return self.decision.outcome == "approved"

    @property
    def denied(self) -> bool:
        """Rejected, expired or cancelled: it must not run."""
        return self.status in DENIED

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def denial(self) -> str:
        """`denied by <who>: <reason>`, the sentence a model reads when it may not go ahead."""
        if self.status == "cancelled":
            # Withdrawn by the requester's own side (a timeout, an interrupt): nobody said no.
            return "not run: the request was withdrawn before a reviewer decided"
        who = ", ".join(self.decision.by) or "ActionHub"
        reason = self.decision.reason or self.status
        return f"denied by {who}: {reason}"
