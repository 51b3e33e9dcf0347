"""Risk classification: a pure function of the action, never of what the requester claims.

The kind of the action's type classifies it, except that an action writing a runtime setting
weighs what the table below says that setting weighs, whichever kind writes it. The injection
screen then reads every string of the kinds that ask for it, and settings may override a type.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from approvals.kinds.base import Classification
from approvals.kinds.registry import find_kind
from approvals.models import SecurityLevel
from screening.screen import screen_text

_LEVEL_ORDER = [SecurityLevel.LOW, SecurityLevel.MEDIUM, SecurityLevel.HIGH, SecurityLevel.CRITICAL]
# The level of changing each runtime setting, whichever action type changes it: a model_switch
# sets default_model, so it weighs exactly what a config_change of default_model weighs.
RUNTIME_SETTING_LEVELS: dict[str, str] = {
    "default_model": SecurityLevel.CRITICAL,
    "expiry_high": SecurityLevel.CRITICAL,
    "expiry_critical": SecurityLevel.CRITICAL,
    "quorum_critical": SecurityLevel.CRITICAL,
    "webhook_urls": SecurityLevel.CRITICAL,
}


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


def classify(*, action_type: str, parameters: dict[str, Any], skill_id: str | None = None) -> Classification:
    kind = find_kind(action_type)
    setting = kind.setting_written(parameters) if kind is not None else None
    if kind is None:
        level, reasons = SecurityLevel.HIGH, [f"unclassifiable action type {action_type!r}"]
    elif setting is not None:
        # A setting the table does not know weighs the most, never nothing.
        level = RUNTIME_SETTING_LEVELS.get(setting, SecurityLevel.CRITICAL)
        reasons = [f"changes the runtime setting {setting}, which is {level} by policy"]
    else:
        result = kind.classify(parameters, skill_id=skill_id)
        level, reasons = result.level, list(result.reasons)
    if kind is not None and kind.screens_parameters:
        flags = _screen_parameters(parameters)
        if flags and _LEVEL_ORDER.index(level) < _LEVEL_ORDER.index(SecurityLevel.HIGH):
            level = SecurityLevel.HIGH
            reasons += [f"injection screen: {reason}" for reason in flags]
    override = settings.ACTIONHUB_POLICY_OVERRIDES.get(action_type)
    if override and override != level:
        reasons.append(f"settings override: {action_type} is {override}")
        level = override
    return Classification(str(level), reasons)
