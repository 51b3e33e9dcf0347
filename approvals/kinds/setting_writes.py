"""The one way an action writes a runtime setting, shared by config_change and model_switch."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from approvals.kinds.base import HandlerError
from approvals.models import Action
from approvals.runtime import config_value_text, runtime_key_written, runtime_set
from audit.services import audit_append
from llm.client import LLMClient, LLMError


def model_require(model: str) -> None:
    """HandlerError unless the LLM server serves `model`: a switch to a missing model never lands."""
    try:
        with LLMClient.from_settings() as client:
            available = client.list_models()
    except LLMError as exc:
        raise HandlerError(str(exc)) from exc
    if model not in available and f"{model}:latest" not in available:
        shown = ", ".join(available[:20]) or "none"
        raise HandlerError(f"model {model!r} is not available on the LLM server (available: {shown})")


def runtime_setting_write(action: Action, value: Any) -> Any:
    """Set the runtime setting the policy classified this action by, and no other; the old value."""
    key = runtime_key_written(action_type=action.action_type, parameters=action.parameters)
    if key is None:
        raise HandlerError(f"{action.action_type} changes no runtime setting")
    actor = action.requested_by.get_username()
    with transaction.atomic():
        old = runtime_set(key=key, value=value, actor=actor)
        audit_append(
            actor=actor,
            event="config.changed",
            action_id=action.id,
            data={"key": key, "old": config_value_text(key, old), "new": config_value_text(key, value)},
        )
    return old
