"""Settings that change at run time (config_change, model_switch), persisted in the database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings

from approvals.kinds.registry import find_kind
from approvals.models import RuntimeSetting
from lib.durations import duration_text

CONFIG_KEYS = ("default_model", "expiry_high", "expiry_critical", "quorum_critical", "webhook_urls")
DURATION_KEYS = ("expiry_high", "expiry_critical")


def config_value_text(key: str, value: Any) -> Any:
    """A setting's value as people read it: a duration in the unit it was written in (`8h` stays
    `8h`; a stored number of seconds reads in its largest exact unit), anything else unchanged."""
    if key not in DURATION_KEYS or isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip()
        return f"{text}s" if text.replace(".", "", 1).isdigit() else text
    if isinstance(value, (int, float)):
        return duration_text(value)
    return value


def runtime_key_written(*, action_type: str, parameters: dict[str, Any]) -> str | None:
    """The runtime setting an action sets when it runs, or None: the policy classifies the action
    by this key and the handler writes exactly this key, so the two cannot drift apart."""
    kind = find_kind(action_type)
    return kind.setting_written(parameters) if kind is not None else None


def _defaults() -> dict[str, Any]:
    return {
        "default_model": settings.ACTIONHUB_DEFAULT_MODEL,
        "expiry_high": int(settings.ACTIONHUB_EXPIRY_HIGH.total_seconds()),
        "expiry_critical": int(settings.ACTIONHUB_EXPIRY_CRITICAL.total_seconds()),
        "quorum_critical": settings.ACTIONHUB_QUORUM_CRITICAL,
        "webhook_urls": list(settings.ACTIONHUB_WEBHOOK_URLS),
    }


def runtime_values(*keys: str) -> dict[str, Any]:
    """The current values of `keys` (all keys when none given), in one query."""
    wanted = keys or CONFIG_KEYS
    values = {key: value for key, value in _defaults().items() if key in wanted}
    for key, value in RuntimeSetting.objects.filter(key__in=wanted).values_list("key", "value"):
        values[key] = value
    return values


def runtime_get(key: str) -> Any:
    return runtime_values(key)[key]


def runtime_set(*, key: str, value: Any, actor: str) -> Any:
    """Store `value` for `key` and return the old value; the caller holds the transaction."""
    if key not in CONFIG_KEYS:
        raise KeyError(key)
    old = runtime_get(key)
    RuntimeSetting.objects.update_or_create(key=key, defaults={"value": value, "updated_by": actor})
    return old


def expiry_for(level: str, values: dict[str, Any]) -> timedelta | None:
    if level == "high":
        return timedelta(seconds=values["expiry_high"])
    if level == "critical":
        return timedelta(seconds=values["expiry_critical"])
    return None
