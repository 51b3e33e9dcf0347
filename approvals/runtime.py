"""Settings that change at run time (config_change, model_switch), persisted in the database.

Each process reads them from its own copy, kept under the configuration's version
(lib/versions.py), which every change moves in its own transaction: a change made anywhere holds
from the next read on, for one primary-key query per read instead of a query of the settings.
"""

from __future__ import annotations

import copy
import threading
from datetime import timedelta
from typing import Any

from django.conf import settings

from approvals.kinds.registry import find_kind
from approvals.models import ConfigVersion, RuntimeSetting
from lib.durations import duration_text
from lib.versions import version_bump, version_read, version_register

CONFIG_VERSION_TABLE = ConfigVersion._meta.db_table
version_register(CONFIG_VERSION_TABLE)
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


_stored: tuple[str, dict[str, Any]] | None = None
_stored_lock = threading.Lock()


def config_version() -> str:
    """The version runtime settings and routing are cached under."""
    return version_read(CONFIG_VERSION_TABLE)


def config_changed() -> None:
    """Runtime settings or routing changed: every process rereads them once the caller commits."""
    version_bump(CONFIG_VERSION_TABLE)


def _stored_values() -> dict[str, Any]:
    global _stored
    version = config_version()
    stored = _stored
    if stored is None or stored[0] != version:
        # Read after the version, so the copy is at least as new as the version it is kept under.
        stored = (version, dict(RuntimeSetting.objects.values_list("key", "value")))
        with _stored_lock:
            _stored = stored
    return stored[1]


def runtime_values(*keys: str) -> dict[str, Any]:
    """The current values of `keys` (all keys when none given)."""
    wanted = keys or CONFIG_KEYS
    stored = _stored_values()
    # Copies: a caller changing a list it was given must not change the process's copy.
    return {key: copy.deepcopy(stored.get(key, value)) for key, value in _defaults().items() if key in wanted}


def runtime_get(key: str) -> Any:
    return runtime_values(key)[key]


def runtime_set(*, key: str, value: Any, actor: str) -> Any:
    """Store `value` for `key` and return the old value; the caller holds the transaction."""
    if key not in CONFIG_KEYS:
        raise KeyError(key)
    old = runtime_get(key)
    RuntimeSetting.objects.update_or_create(key=key, defaults={"value": value, "updated_by": actor})
    config_changed()
    return old


def expiry_for(level: str, values: dict[str, Any]) -> timedelta | None:
    if level == "high":
        return timedelta(seconds=values["expiry_high"])
    if level == "critical":
        return timedelta(seconds=values["expiry_critical"])
    return None
