"""Validation of an action's parameters by type; errors name the offending field."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings

from approvals.exceptions import InvalidParameters
from approvals.models import ActionType
from approvals.runtime import CONFIG_KEYS
from lib.durations import parse_duration
from lib.urlnorm import InvalidURL, NormalURL, normalize_url
from skills.registry import get_skill

MAX_TEXT = 100_000
FILE_OPERATIONS = ("read", "write", "list", "delete", "mkdir")
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
_WORKSPACE_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
EXPIRY_ERROR = "must be a duration between 1 minute and 30 days, such as 90s, 15m, 24h or 7d, or a number of seconds"
_FORBIDDEN_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "upgrade"}


class _Errors(dict):
    def raise_if_any(self) -> None:
        if self:
            summary = "; ".join(f"{key}: {message}" for key, message in self.items())
            raise InvalidParameters(f"invalid parameters: {summary}", errors=dict(self))


def _check_keys(
    params: dict[str, Any], errors: _Errors, *, required: tuple[str, ...], optional: tuple[str, ...]
) -> None:
    for key in required:
        if key not in params:
            errors[key] = "this field is required"
    for key in params:
        if key not in required and key not in optional:
            errors[key] = "unknown field"


def _string(params: dict[str, Any], key: str, errors: _Errors, *, max_length: int = MAX_TEXT) -> None:
    if key not in params:
        return
    value = params[key]
    if not isinstance(value, str) or not value.strip():
        errors[key] = "must be a non-empty string"
    elif len(value) > max_length:
        errors[key] = f"must be at most {max_length} characters"


def url_allowed(url: str, allowlist: list[str]) -> bool:
    """True when the normal form of `url` is under an allowlist entry: same scheme, host and port,
    and a path prefix that ends at a segment boundary (so `https://api.x` never admits
    `https://api.x.evil`, and `/api/../outside` is judged as the `/outside` it is sent as)."""
    try:
        target = normalize_url(url)
    except InvalidURL:
        return False
    return any(_under(target, entry) for entry in allowlist)


def _under(target: NormalURL, entry: str) -> bool:
    try:
        base = normalize_url(entry)
    except InvalidURL:
        return False  # a malformed entry admits nothing
    if (base.scheme, base.host, base.port) != (target.scheme, target.host, target.port):
        return False
    prefix = base.path.rstrip("/")
    return not prefix or target.path == prefix or target.path.startswith(prefix + "/")


def relative_path_error(path: str) -> str | None:
    if "\x00" in path:
        return "must not contain NUL bytes"
    if path.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", path):
        return "must be relative to the workspace"
    if any(part == ".." for part in re.split(r"[\\/]", path)):
        return "must not contain '..'"
    return None


def extension_error(path: str) -> str | None:
    """Files the filesystem skill reads or writes must have an allowed extension (checked again in the sandbox)."""
    name = path.rstrip("/").rsplit("/", 1)[-1]
    extension = name.rsplit(".", 1)[1].lower() if "." in name.lstrip(".") else ""
    allowed = settings.ACTIONHUB_FILESYSTEM_EXTENSIONS
    if extension in allowed:
        return None
    return f"files of this type are not allowed; allowed extensions: {', '.join(allowed)}"


def _read_write_extension_error(operation: Any, path: str) -> str | None:
    return extension_error(path) if operation in ("read", "write") else None


def _validate_chat(params: dict[str, Any], errors: _Errors) -> None:
    _check_keys(params, errors, required=("message",), optional=("model", "conversation_id"))
    _string(params, "message", errors)
    _string(params, "model", errors, max_length=200)
    _string(params, "conversation_id", errors, max_length=100)


def _validate_model_switch(params: dict[str, Any], errors: _Errors) -> None:
    _check_keys(params, errors, required=("model",), optional=())
    _string(params, "model", errors, max_length=200)


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


def _validate_config_change(params: dict[str, Any], errors: _Errors) -> None:
    _check_keys(params, errors, required=("key", "value"), optional=())
    key = params.get("key")
    if "key" in params and key not in CONFIG_KEYS:
        errors["key"] = f"must be one of {', '.join(CONFIG_KEYS)}"
    elif "value" in params and key is not None:
        try:
            normalize_config_value(key, params["value"])
        except ValueError as exc:
            errors["value"] = str(exc)


def _api_url(params: dict[str, Any], errors: _Errors) -> None:
    """Check the url and store it in its normal form, so what reviewers approve, the payload hash
    and the request sent all name the same URL."""
    url = params["url"]
    if not isinstance(url, str) or len(url) > 4096:
        errors["url"] = "must be a URL string"
        return
    try:
        normal = normalize_url(url).text
    except InvalidURL as exc:
        errors["url"] = str(exc)
        return
    if not url_allowed(normal, settings.ACTIONHUB_API_ALLOWLIST):
        errors["url"] = "is not under any ACTIONHUB_API_ALLOWLIST entry"
    params["url"] = normal


def _validate_api_call(params: dict[str, Any], errors: _Errors) -> None:
    _check_keys(params, errors, required=("method", "url"), optional=("headers", "json"))
    if "method" in params and params["method"] not in HTTP_METHODS:
        errors["method"] = f"must be one of {', '.join(HTTP_METHODS)}"
    if "url" in params:
        _api_url(params, errors)
    headers = params.get("headers")
    if "headers" in params:
        if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
        ):
            errors["headers"] = "must be an object of string values"
        elif forbidden := sorted(k for k in headers if k.lower() in _FORBIDDEN_HEADERS):
            errors["headers"] = f"may not set {', '.join(forbidden)}"
    if "json" in params and params.get("method") in ("GET", "HEAD"):
        errors["json"] = "a GET or HEAD request has no body"


def _validate_file_operation(params: dict[str, Any], errors: _Errors) -> None:
    operation = params.get("operation")
    required = ("operation", "path", "content") if operation == "write" else ("operation", "path")
    _check_keys(params, errors, required=required, optional=("workspace",))
    if "operation" in params and operation not in FILE_OPERATIONS:
        errors["operation"] = f"must be one of {', '.join(FILE_OPERATIONS)}"
    path = params.get("path")
    if "path" in params:
        if not isinstance(path, str) or not path or len(path) > 1024:
            errors["path"] = "must be a non-empty string of at most 1024 characters"
        elif message := relative_path_error(path) or _read_write_extension_error(operation, path):
            errors["path"] = message
    if "content" in params and not isinstance(params["content"], str):
        errors["content"] = "must be a string"
    workspace = params.get("workspace")
    if "workspace" in params and not (isinstance(workspace, str) and _WORKSPACE_RE.match(workspace)):
        errors["workspace"] = "must be 1-64 letters, digits, '-' or '_'"


_VALIDATORS = {
    ActionType.CHAT: _validate_chat,
    ActionType.MODEL_SWITCH: _validate_model_switch,
    ActionType.CONFIG_CHANGE: _validate_config_change,
    ActionType.API_CALL: _validate_api_call,
    ActionType.FILE_OPERATION: _validate_file_operation,
}


def validate_parameters(*, action_type: str, parameters: Any, skill_id: str | None) -> dict[str, Any]:
    """The parameters in their stored form (an api_call url normalised), or InvalidParameters (a
    400) unless `parameters` fit `action_type`."""
    if action_type not in ActionType.values:
        raise InvalidParameters(
            f"unknown action_type {action_type!r}; expected one of {', '.join(ActionType.values)}",
            errors={"action_type": "unknown action type"},
        )
    if not isinstance(parameters, dict):
        raise InvalidParameters("parameters must be a JSON object", errors={"parameters": "must be an object"})
    cleaned = dict(parameters)
    errors = _Errors()
    if action_type == ActionType.SKILL_EXECUTION:
        if not isinstance(skill_id, str) or not skill_id.strip():
            raise InvalidParameters("skill_id is required for skill_execution", errors={"skill_id": "required"})
        skill = get_skill(skill_id)
        if skill is not None:
            for message in skill.validate(cleaned):
                field_name, _, text = message.partition(": ")
                errors[field_name] = f"{errors[field_name]}; {text}" if field_name in errors else text
    else:
        if skill_id is not None:
            errors["skill_id"] = f"only skill_execution actions name a skill, not {action_type}"
        _VALIDATORS[ActionType(action_type)](cleaned, errors)
    errors.raise_if_any()
    return cleaned
