"""Request and response shapes of the JSON API (also the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from ninja import Field, Schema
from pydantic import ConfigDict

from approvals.kinds.registry import kind_names
from rules.matching import KINDS
from rules.models import Effect


def _one_of(values: list[str] | tuple[str, ...], description: str) -> Any:
    """A string field documented with the values the server accepts; any other is a 400 naming them."""
    return Field(..., description=description, json_schema_extra={"enum": list(values)})


def _one_kind(description: str) -> Any:
    """An action type, documented with the kinds configured when the schema is generated."""
    return Field(..., description=description, json_schema_extra=lambda schema: schema.update(enum=kind_names()))


class ActionIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {"action_type": "file_operation", "parameters": {"operation": "list", "path": "notes"}}
        }
    )

    action_type: str = _one_kind("what kind of action; parameters depend on it")
    parameters: Any = Field(default_factory=dict)
    skill_id: str | None = None
    external_id: str = Field(
        "", max_length=255, description="your own id for it (e.g. the agent's tool_use_id); filter by it later"
    )
    callback_url: str | None = Field(None, description="POSTed a signed callback when decided and when finished")
    callback_state: Any = Field(None, description="any JSON up to 4 KB, sent back as `state` in each callback")


class CancelIn(Schema):
    reason: str = Field("", max_length=2000, description="why it is withdrawn, for the audit history")


class OutcomeIn(Schema):
    ok: bool = Field(description="true: it ran and succeeded (completed); false: it failed")
    output: str = Field("", max_length=100_000, description="what it produced, when ok")
    error: str = Field("", max_length=100_000, description="why it failed, when not ok")


class ApprovalOut(Schema):
    user: str
    decision: str
    reason: str
    at: datetime


class ReversibilityOut(Schema):
    value: str = Field(description="reversible, partial or irreversible")
    label: str = Field(description="what the pages and notifications show, e.g. 'partly reversible'")
    reason: str


class DecisionOut(Schema):
    outcome: str | None = Field(
        description="approved, rejected, expired or cancelled; null while nobody has decided (pending)"
    )
    by: list[str] = Field(
        description="who decided: reviewers' usernames, rule:<id> for a standing rule, system for the risk "
        "policy (LOW/MEDIUM), the requester for a cancellation; empty for an expiry"
    )
    reason: str = Field(description="the reviewers' reasons, the rule's note, or why it expired or was cancelled")
    edited: bool = Field(description="a reviewer changed the parameters: `parameters` is what they approved")


class ActionOut(Schema):
    id: UUID
    action_type: str
    skill_id: str | None
    parameters: dict[str, Any]
    security_level: str
    classification_reasons: list[str]
    status: str
    requested_by: str
    created_at: datetime
    approved_at: datetime | None
    completed_at: datetime | None
    expires_at: datetime | None
    result: Any
    error: str
    payload_hash: str
    approvals: list[ApprovalOut]
    approvals_required: int
    requires_approval: bool
    editors: list[str] = Field(
        default_factory=list,
        description="who edited it, in the order of their first edit; none of them may approve it",
    )
    attempt: int
    needs_review: bool
    assigned_groups: list[str] = Field(
        default_factory=list, description="reviewer groups it is routed to; empty: every reviewer"
    )
    escalated_at: datetime | None = None
    reversibility: ReversibilityOut | None = Field(None, description="whether its effect can be undone")
    external_id: str = Field("", description="the requester's own id for it (an agent's tool-use id), as submitted")
    decision: DecisionOut = Field(description="what became of the request: run what `parameters` says now")


class ActionPage(Schema):
    results: list[ActionOut]
    next: str | None


class DecisionIn(Schema):
    approved: bool
    reason: str = Field("", max_length=5000)
    payload_hash: str | None = None


class BulkDecisionItem(Schema):
    id: UUID
    approved: bool
    reason: str = Field("", max_length=5000)
    payload_hash: str | None = None


class BulkDecisionIn(Schema):
    decisions: list[BulkDecisionItem]


class BulkResultOut(Schema):
    id: UUID
    status: str = Field(description="approved, rejected, pending (your approval recorded, more needed) or refused")
    detail: str
    code: str = Field(
        description="why it was refused: own_action, edited_by_you, changed, already_decided, expired, "
        "not_assigned, not_found, reason_required; empty otherwise"
    )


class BulkDecisionOut(Schema):
    results: list[BulkResultOut]


class EditIn(Schema):
    parameters: Any


class AuditEntryOut(Schema):
    seq: int
    at: datetime
    actor: str
    event: str
    action_id: UUID | None
    data: Any
    prev_hash: str
    hash: str


class AuditPage(Schema):
    results: list[AuditEntryOut]
    next: str | None


class ChatIn(Schema):
    message: str
    model: str | None = None
    conversation_id: str | None = None
    wait: float = Field(30, ge=0, le=120)


class ChatOut(Schema):
    action_id: UUID
    status: str
    response: str | None
    model: str | None
    error: str | None = None
    security_level: str


class ModelsOut(Schema):
    models: list[str]
    active: str


class ModelSwitchIn(Schema):
    model: str


class SkillOut(Schema):
    id: str
    name: str
    description: str
    version: str
    access: str
    timeout: int
    memory: str
    # "reversible", "partial", "irreversible", or {"parameter", "values", "default"} to decide by a parameter.
    reversibility: str | dict[str, Any]
    parameters: dict[str, Any]
    enabled: bool


class FieldError(Schema):
    field: str = Field(description="the field, dotted for nested ones, e.g. body.parameters or limit")
    message: str


class Error(Schema):
    detail: str
    errors: list[FieldError] | dict[str, str] | list[str] | None = Field(
        None, description="what is wrong with each field, when the request is at fault (absent otherwise)"
    )


class MatcherIn(Schema):
    parameter: str
    kind: str = _one_of(KINDS, "exact, glob (path fields) or url_prefix (api_call url)")
    value: Any


class RuleIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "action_type": "file_operation",
                "matchers": [{"parameter": "path", "kind": "glob", "value": "secrets/**"}],
                "effect": "deny",
                "note": "nothing touches secrets/",
            }
        }
    )

    action_type: str = _one_kind("the kind of action the rule decides")
    skill_id: str | None = None
    matchers: list[MatcherIn]
    effect: str = _one_of(Effect.values, "allow or deny")
    expires_at: datetime | None = Field(None, description="default: 7 days from now; at most 90 days")
    note: str = Field("", max_length=2000)


class MatcherOut(Schema):
    parameter: str
    kind: str
    value: Any


class RuleOut(Schema):
    id: int
    action_type: str
    skill_id: str | None
    matchers: list[MatcherOut]
    effect: str
    note: str
    expires_at: datetime
    state: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    disabled_at: datetime | None
    disabled_by: str | None
    hit_count: int
    last_hit_at: datetime | None


class RulePage(Schema):
    results: list[RuleOut]
    next: str | None
