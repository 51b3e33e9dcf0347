"""What an action will change, shown before anyone decides: the diff a file write makes, the exact
HTTP request an api_call sends, and a setting's old and new value."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from approvals.handlers import HandlerError
from approvals.models import Action, ActionType
from approvals.outbound import OutboundError, request_preview
from approvals.runtime import CONFIG_KEYS, runtime_get
from lib.urlnorm import InvalidURL, normalize_url

# A header whose name contains one of these carries a credential: its value is never shown.
SECRET_HEADER = re.compile(r"auth|cookie|token|secret|password|passwd|api[-_]?key|session|signature|credential", re.I)
DIFF_LINE_LIMIT = 5_000
DEFAULT_WORKSPACE = "default"


@dataclass(frozen=True)
class FileChange:
    """The effect of a file write: `kind` is diff, new, same or unknown (then `note` says why)."""

    kind: str
    note: str = ""
    # (css class, text): "add", "del", "hunk", "file" or "" for context lines.
    lines: list[tuple[str, str]] = field(default_factory=list)
    added: int = 0
    removed: int = 0
    omitted: int = 0


def is_file_write(action: Action) -> bool:
    return action.action_type == ActionType.FILE_OPERATION and (action.parameters or {}).get("operation") == "write"


def file_write_change(*, action: Action) -> FileChange:
    """Diff the file as it is now in the workspace (read in the sandbox, read-only) against the write."""
    from skills.runner import workspace_file_read

    parameters = action.parameters or {}
    path, new = str(parameters.get("path", "")), str(parameters.get("content", ""))
    workspace = parameters.get("workspace") or DEFAULT_WORKSPACE
    try:
        current = workspace_file_read(workspace=workspace, path=path, timeout=settings.ACTIONHUB_PREVIEW_TIMEOUT)
    except HandlerError as exc:
        return _unreadable(str(exc))
    if current is None:
        return FileChange("new", f"new file: workspace {workspace!r} does not exist yet")
    old = current.get("content", "")
    if old == new:
        return FileChange("same", "the file already has exactly this content; writing it changes nothing")
    lines = [
        line.rstrip("\n")
        for line in difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{path}", f"b/{path}"
        )
    ]
    body = lines[2:]
    added = sum(1 for line in body if line.startswith("+"))
    removed = sum(1 for line in body if line.startswith("-"))
    omitted = max(0, len(lines) - DIFF_LINE_LIMIT)
    shown = [(_line_class(index, line), line) for index, line in enumerate(lines[:DIFF_LINE_LIMIT])]
    return FileChange("diff", "", shown, added, removed, omitted)


def _line_class(index: int, line: str) -> str:
    if index < 2:
        return "file"
    return {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "")


def _unreadable(reason: str) -> FileChange:
    if reason.startswith("no such file or directory"):
        return FileChange("new", "new file: nothing exists at this path yet")
    if reason.startswith("not a UTF-8 text file"):
        return FileChange("unknown", "the current file is binary (not UTF-8 text), so no diff can be shown")
    if "read limit" in reason:
        return FileChange("unknown", f"the current file is too large to diff ({reason})")
    return FileChange("unknown", f"the current file could not be read: {reason}")


def mask_header(name: str, value: str) -> str:
    if not SECRET_HEADER.search(name):
        return value
    scheme = value.split(" ", 1)[0] if " " in value else ""
    return f"{scheme + ' ' if scheme else ''}•••••• (hidden, {len(value)} characters)"


def api_request(*, action: Action) -> dict[str, Any]:
    """The api_call request exactly as it will be sent (to the normal form of its URL, as
    run_api_call sends it), credentials masked."""
    parameters = action.parameters or {}
    try:
        request = request_preview(
            method=parameters.get("method", "GET"),
            url=normalize_url(parameters.get("url")).text,
            headers=parameters.get("headers") or {},
            body=parameters.get("json"),
        )
    except InvalidURL as exc:
        return {"error": f"the request cannot be built: its url {exc}"}
    except OutboundError as exc:
        return {"error": str(exc)}
    headers = [(name, mask_header(name, value)) for name, value in request["headers"]]
    body = request["body"]
    if "json" in parameters:
        body = json.dumps(parameters["json"], indent=2, sort_keys=True, ensure_ascii=False)
    return {**request, "headers": headers, "body": body}


def config_values(*, action: Action) -> dict[str, Any] | None:
    """A config change's key with its value now and the value it sets."""
    parameters = action.parameters or {}
    key = parameters.get("key")
    if action.action_type != ActionType.CONFIG_CHANGE or key not in CONFIG_KEYS:
        return None
    return {"key": key, "old": runtime_get(key), "new": parameters.get("value")}


def action_changes(*, action: Action) -> dict[str, Any]:
    """What the detail and confirmation pages show beside the parameters (the file diff loads lazily)."""
    changes: dict[str, Any] = {"file_write": is_file_write(action)}
    if action.action_type == ActionType.API_CALL:
        changes["request"] = api_request(action=action)
    config = config_values(action=action)
    if config is not None:
        changes["config"] = config
    return changes
