"""config_change: set one runtime setting (default model, expiry times, quorum, webhook URLs)."""

from __future__ import annotations

from typing import Any

from approvals.kinds.base import (
    ActionKind,
    Classification,
    Errors,
    HandlerError,
    Reversibility,
    check_keys,
    clip,
    scalar,
)
from approvals.kinds.setting_writes import model_require, runtime_setting_write
from approvals.models import Action, SecurityLevel
from approvals.runtime import CONFIG_KEYS, config_value_text, runtime_get
from lib.durations import parse_duration
from lib.urlnorm import InvalidURL, normalize_url

EXPIRY_ERROR = "must be a duration between 1 minute and 30 days, such as 90s, 15m, 24h or 7d, or a number of seconds"


def normalize_config_value(key: str, value: Any) -> Any:
    """The stored form of a config value; ValueError with a readable message if invalid."""
    if key == "default_model":
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            raise ValueError("must be a model name")
        return value.strip()
    if key in ("expiry_high", "expiry_critical"):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError(EXPIRY_ERROR)
        try:
            seconds = int(parse_duration(str(value)).total_seconds())
        except ValueError as exc:
            raise ValueError(EXPIRY_ERROR) from exc
        if not 60 <= seconds <= 30 * 86400:
            raise ValueError(EXPIRY_ERROR)
        return seconds
    if key == "quorum_critical":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10:
            raise ValueError("must be an integer from 1 to 10")
        return value
    if key == "webhook_urls":
        if not isinstance(value, list) or len(value) > 20:
            raise ValueError("must be a list of at most 20 URLs")
        normal: list[str] = []
        for position, url in enumerate(value):
            try:
                normal.append(normalize_url(url).text)
            except InvalidURL as exc:
                # Never quote the URL: webhook URLs carry their secret in the path.
                raise ValueError(f"URL {position + 1} {exc}") from None
        return normal
    raise ValueError(f"unknown key; allowed: {', '.join(CONFIG_KEYS)}")


class ConfigChangeKind(ActionKind):
    name = "config_change"
    label = "Config change"

    def schema(self, *, skill_id: str | None = None) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {"key": {"enum": list(CONFIG_KEYS)}, "value": {}},
            "required": ["key", "value"],
            "additionalProperties": False,
        }

    def validate(self, parameters: dict[str, Any], errors: Errors, *, skill_id: str | None = None) -> None:
        check_keys(parameters, errors, required=("key", "value"))
        key = parameters.get("key")
        if "key" in parameters and key not in CONFIG_KEYS:
            errors["key"] = f"must be one of {', '.join(CONFIG_KEYS)}"
        elif "value" in parameters and key is not None:
            try:
                normalize_config_value(key, parameters["value"])
            except ValueError as exc:
                errors["value"] = str(exc)

    def classify(self, parameters: dict[str, Any], *, skill_id: str | None = None) -> Classification:
        # A known key is classified by the runtime settings table before the kind is asked.
        return Classification(SecurityLevel.CRITICAL, ["config_change of an unknown setting"])

    def setting_written(self, parameters: dict[str, Any]) -> str | None:
        key = parameters.get("key")
        return key if key in CONFIG_KEYS else None

    def reversibility(self, parameters: dict[str, Any], *, skill_id: str | None = None) -> Reversibility:
        return Reversibility("reversible", "the old value is recorded and can be set again")

    def idempotent(self, parameters: dict[str, Any]) -> bool:
        return True

    def summary(self, action: Action) -> str:
        parameters = action.parameters or {}
        return clip(f"set {parameters.get('key', '')} = {scalar(parameters.get('value'))}")

    def changes(self, action: Action) -> dict[str, Any]:
        key = (action.parameters or {}).get("key")
        if key not in CONFIG_KEYS:
            return {}
        return {"config": {"key": key, "old": runtime_get(key), "new": action.parameters.get("value")}}

    def run(self, action: Action) -> dict[str, Any]:
        key = action.parameters["key"]
        try:
            new = normalize_config_value(key, action.parameters["value"])
        except ValueError as exc:
            raise HandlerError(f"invalid value for {key}: {exc}") from exc
        if key == "default_model":
            model_require(new)
        old = runtime_setting_write(action, new)
        # Durations as written (`8h`), not the seconds they are stored in.
        return {
            "key": key,
            "old": config_value_text(key, old),
            "new": config_value_text(key, action.parameters["value"]),
        }
