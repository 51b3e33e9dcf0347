"""skill_execution and file_operation: actions that run in the sandbox.

A skill_execution runs the skill its skill_id names, with parameters its manifest's schema checks;
a file_operation runs the built-in filesystem skill on one workspace file.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from django.conf import settings

from approvals.exceptions import InvalidParameters
from approvals.kinds.base import (
    ActionKind,
    Classification,
    Errors,
    FileChange,
    HandlerError,
    Reversibility,
    check_keys,
    clip,
)
from approvals.models import Action, SecurityLevel
from skills.registry import get_skill
from skills.runner import DEFAULT_WORKSPACE, FILESYSTEM_SKILL, run_skill_action, workspace_file_read
from skills.sandbox import sandbox_unavailable_reason
from skills.selectors import skill_is_enabled

FILE_OPERATIONS = ("read", "write", "list", "delete", "mkdir")
MUTATING_FILE_OPERATIONS = ("delete", "write", "modify")
_WORKSPACE_PATTERN = "^[A-Za-z0-9_-]{1,64}$"
_WORKSPACE_RE = re.compile(_WORKSPACE_PATTERN)
DIFF_LINE_LIMIT = 5_000
OPERATION_REVERSIBILITY = {
    "read": ("reversible", "reading a file changes nothing"),
    "list": ("reversible", "listing a directory changes nothing"),
    "mkdir": ("reversible", "an empty directory can be removed again"),
    "write": ("partial", "a new file can be deleted, but an overwritten file's old content is gone"),
    "delete": ("irreversible", "a deleted file cannot be brought back"),
}


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


class SkillExecutionKind(ActionKind):
    name = "skill_execution"
    label = "Skill execution"
    names_skill = True
    screens_parameters = True

    def schema(self, *, skill_id: str | None = None) -> dict[str, Any] | None:
        skill = get_skill(skill_id) if skill_id else None
        if skill is None:
            return None
        schema = dict(skill.parameters)
        properties = {}
        for name, spec in (schema.get("properties") or {}).items():
            if isinstance(spec, dict):
                # Nothing fills in a manifest's defaults before the skill runs, so no rule may assume
                # them; and a manifest's `format` says nothing to rules (jsonschema does not check it).
                spec = {key: value for key, value in spec.items() if key not in ("default", "format")}
                if name == "path":
                    # A skill's `path` parameter names a workspace file, whatever else its manifest says.
                    spec["format"] = "path"
            properties[name] = spec
        schema["properties"] = properties
        return schema

    def validate(self, parameters: dict[str, Any], errors: Errors, *, skill_id: str | None = None) -> None:
        skill = get_skill(skill_id)
        if skill is None:
            return  # classified HIGH as an unknown skill, and refused when it runs
        for message in skill.validate(parameters):
            field_name, _, text = message.partition(": ")
            errors.add(field_name, text)

    def admit(self, *, skill_id: str | None) -> None:
        skill = get_skill(skill_id)
        if skill is not None and not skill_is_enabled(skill.id):
            raise InvalidParameters(f"skill {skill.id!r} is disabled", errors={"skill_id": "disabled"})

    def classify(self, parameters: dict[str, Any], *, skill_id: str | None = None) -> Classification:
        skill = get_skill(skill_id)
        if skill is None:
            return Classification(SecurityLevel.HIGH, [f"unknown skill {skill_id!r}"])
        if skill.access in ("filesystem", "system"):
            return Classification(SecurityLevel.HIGH, [f"skill {skill.id!r} declares {skill.access} access"])
        return Classification(SecurityLevel.MEDIUM, [f"skill {skill.id!r} declares no filesystem or system access"])

    def reversibility(self, parameters: dict[str, Any], *, skill_id: str | None = None) -> Reversibility:
        skill = get_skill(skill_id)
        if skill is None:
            return Reversibility("irreversible", f"unknown skill {skill_id!r}")
        value = skill.reversibility_for(parameters)
        return Reversibility(value, f"skill {skill.id!r} declares it {value}")

    def known_failure(self, action: Action) -> str | None:
        skill = get_skill(action.skill_id)
        if skill is None:
            return f"No skill is called {action.skill_id!r}, so there is nothing to run."
        if not skill_is_enabled(skill.id):
            return f"The skill {skill.id!r} is disabled, so it would not run."
        return sandbox_unavailable_reason()

    def run(self, action: Action) -> dict[str, Any]:
        return run_skill_action(action, skill_id=action.skill_id)


class FileOperationKind(ActionKind):
    name = "file_operation"
    label = "File operation"

    def schema(self, *, skill_id: str | None = None) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                "operation": {"enum": list(FILE_OPERATIONS)},
                "path": {"type": "string", "minLength": 1, "format": "path"},
                "content": {"type": "string"},
                "workspace": {"type": "string", "pattern": _WORKSPACE_PATTERN, "default": DEFAULT_WORKSPACE},
            },
            "required": ["operation", "path"],
            "additionalProperties": False,
        }

    def validate(self, parameters: dict[str, Any], errors: Errors, *, skill_id: str | None = None) -> None:
        operation = parameters.get("operation")
        required = ("operation", "path", "content") if operation == "write" else ("operation", "path")
        check_keys(parameters, errors, required=required, optional=("workspace",))
        if "operation" in parameters and operation not in FILE_OPERATIONS:
            errors["operation"] = f"must be one of {', '.join(FILE_OPERATIONS)}"
        path = parameters.get("path")
        if "path" in parameters:
            if not isinstance(path, str) or not path or len(path) > 1024:
                errors["path"] = "must be a non-empty string of at most 1024 characters"
            elif message := relative_path_error(path) or (
                extension_error(path) if operation in ("read", "write") else None
            ):
                errors["path"] = message
        if "content" in parameters and not isinstance(parameters["content"], str):
            errors["content"] = "must be a string"
        workspace = parameters.get("workspace")
        if "workspace" in parameters and not (isinstance(workspace, str) and _WORKSPACE_RE.match(workspace)):
            errors["workspace"] = "must be 1-64 letters, digits, '-' or '_'"

    def classify(self, parameters: dict[str, Any], *, skill_id: str | None = None) -> Classification:
        operation = parameters.get("operation")
        if operation in MUTATING_FILE_OPERATIONS:
            return Classification(SecurityLevel.HIGH, [f"file {operation} changes data"])
        return Classification(SecurityLevel.MEDIUM, [f"file {operation} only reads"])

    def reversibility(self, parameters: dict[str, Any], *, skill_id: str | None = None) -> Reversibility:
        operation = parameters.get("operation")
        unknown = ("irreversible", f"unknown file operation {operation!r}")
        return Reversibility(*OPERATION_REVERSIBILITY.get(operation, unknown))

    def idempotent(self, parameters: dict[str, Any]) -> bool:
        return parameters.get("operation") in ("read", "list", "mkdir")

    def summary(self, action: Action) -> str:
        parameters = action.parameters or {}
        workspace = parameters.get("workspace") or DEFAULT_WORKSPACE
        return clip(f"{parameters.get('operation', '')} {parameters.get('path', '')} in workspace {workspace}")

    def known_failure(self, action: Action) -> str | None:
        return sandbox_unavailable_reason()

    def changes(self, action: Action) -> dict[str, Any]:
        return {"file_write": _is_write(action)}

    def diff(self, action: Action) -> FileChange | None:
        """Diff the file as it is now in the workspace (read in the sandbox, read-only) against the write."""
        if not _is_write(action):
            return None
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

    def run(self, action: Action) -> dict[str, Any]:
        return run_skill_action(action, skill_id=FILESYSTEM_SKILL)


def _is_write(action: Action) -> bool:
    return (action.parameters or {}).get("operation") == "write"


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
