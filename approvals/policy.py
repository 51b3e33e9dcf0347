"""Risk classification: a pure function of the action, never of what the requester claims."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from approvals.models import ActionType, SecurityLevel
from approvals.runtime import runtime_key_written
from screening.screen import screen_text
from skills.registry import Skill

_LEVEL_ORDER = [SecurityLevel.LOW, SecurityLevel.MEDIUM, SecurityLevel.HIGH, SecurityLevel.CRITICAL]
MUTATING_FILE_OPERATIONS = ("delete", "write", "modify")
# The level of changing each runtime setting, whichever action type changes it: a model_switch
# sets default_model, so it weighs exactly what a config_change of default_model weighs.
RUNTIME_SETTING_LEVELS: dict[str, str] = {
    "default_model": SecurityLevel.CRITICAL,
    "expiry_high": SecurityLevel.CRITICAL,
    "expiry_critical": SecurityLevel.CRITICAL,
    "quorum_critical": SecurityLevel.CRITICAL,
    "webhook_urls": SecurityLevel.CRITICAL,
}


@dataclass(frozen=True)
class Classification:
    level: str
    reasons: list[str] = field(default_factory=list)


def _screen_parameters(parameters: Any) -> list[str]:
    """Injection-screen every string inside `parameters`; the reasons if the screen flags them."""
    texts: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(key)
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(parameters)
    result = screen_text("\n".join(texts))
    return result.reasons if result.flagged else []


def _base(action_type: str, parameters: dict[str, Any], skill: Skill | None, skill_id: str | None) -> Classification:
    setting = runtime_key_written(action_type=action_type, parameters=parameters)
    if setting is not None:
        level = RUNTIME_SETTING_LEVELS[setting]
        return Classification(level, [f"changes the runtime setting {setting}, which is {level} by policy"])
    if action_type == ActionType.CONFIG_CHANGE:
        return Classification(SecurityLevel.CRITICAL, ["config_change of an unknown setting"])
    if action_type == ActionType.FILE_OPERATION:
        operation = parameters.get("operation")
        if operation in MUTATING_FILE_OPERATIONS:
            return Classification(SecurityLevel.HIGH, [f"file {operation} changes data"])
        return Classification(SecurityLevel.MEDIUM, [f"file {operation} only reads"])
    if action_type == ActionType.SKILL_EXECUTION:
        if skill is None:
            return Classification(SecurityLevel.HIGH, [f"unknown skill {skill_id!r}"])
        if skill.access in ("filesystem", "system"):
            return Classification(SecurityLevel.HIGH, [f"skill {skill.id!r} declares {skill.access} access"])
        return Classification(SecurityLevel.MEDIUM, [f"skill {skill.id!r} declares no filesystem or system access"])
    if action_type == ActionType.CHAT:
        screened = screen_text(str(parameters.get("message", "")))
        if screened.flagged:
            return Classification(SecurityLevel.HIGH, [f"injection screen: {reason}" for reason in screened.reasons])
        return Classification(SecurityLevel.LOW, ["chat message"])
    if action_type == ActionType.API_CALL:
        return Classification(SecurityLevel.MEDIUM, [f"{action_type} is medium by policy"])
    return Classification(SecurityLevel.HIGH, [f"unclassifiable action type {action_type!r}"])


def classify(
    *, action_type: str, parameters: dict[str, Any], skill: Skill | None, skill_id: str | None = None
) -> Classification:
    result = _base(action_type, parameters, skill, skill_id or (skill.id if skill else None))
    level, reasons = result.level, list(result.reasons)
    if action_type in (ActionType.SKILL_EXECUTION, ActionType.API_CALL):
        flags = _screen_parameters(parameters)
        if flags and _LEVEL_ORDER.index(level) < _LEVEL_ORDER.index(SecurityLevel.HIGH):
            level = SecurityLevel.HIGH
            reasons += [f"injection screen: {reason}" for reason in flags]
    override = settings.ACTIONHUB_POLICY_OVERRIDES.get(action_type)
    if override and override != level:
        reasons.append(f"settings override: {action_type} is {override}")
        level = override
    return Classification(str(level), reasons)
