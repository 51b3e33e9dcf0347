"""Validation of an action's parameters: the kind of its type checks them; errors name the field."""

from __future__ import annotations

from typing import Any

from approvals.exceptions import InvalidParameters
from approvals.kinds.base import Errors
from approvals.kinds.registry import find_kind, kind_names, skill_kinds_named


def validate_parameters(*, action_type: str, parameters: Any, skill_id: str | None) -> dict[str, Any]:
    """The parameters in their stored form (an api_call url normalised), or InvalidParameters (a
    400) unless `parameters` fit `action_type`."""
    kind = find_kind(action_type) if isinstance(action_type, str) else None
    if kind is None:
        raise InvalidParameters(
            f"unknown action_type {action_type!r}; expected one of {', '.join(kind_names())}",
            errors={"action_type": "unknown action type"},
        )
    if not isinstance(parameters, dict):
        raise InvalidParameters("parameters must be a JSON object", errors={"parameters": "must be an object"})
    cleaned = dict(parameters)
    errors = Errors()
    if kind.names_skill:
        if not isinstance(skill_id, str) or not skill_id.strip():
            raise InvalidParameters(f"skill_id is required for {kind.name}", errors={"skill_id": "required"})
    elif skill_id is not None:
        errors["skill_id"] = f"only {skill_kinds_named()} actions name a skill, not {action_type}"
    kind.validate(cleaned, errors, skill_id=skill_id)
    if errors:
        summary = "; ".join(f"{key}: {message}" for key, message in errors.items())
        raise InvalidParameters(f"invalid parameters: {summary}", errors=dict(errors))
    return cleaned
