"""tool_call: one call a coding agent wants to make (Bash, Edit, an MCP tool…). ActionHub classifies
it by the tool-call policy, holds or approves it and records it; the agent runs it."""

from __future__ import annotations

import posixpath
from typing import Any

from approvals.kinds.base import (
    Classification,
    DecideOnlyKind,
    Errors,
    Reversibility,
    check_keys,
    check_string,
    clip,
    scalar,
)
from approvals.models import Action
from lib.shell import read_only, simple_words
from toolcalls.policy import PATH_KEYS, READ_ONLY_TOOLS, edited_path, tool_call_classify

MAX_TOOL = 200
MAX_SHORT = 200
MAX_CWD = 4096
# MCP's ToolAnnotations, by MCP's own (camelCase) names.
HINTS = ("readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint")
# What the summary line shows of each tool's input.
_SUMMARY_KEYS = ("command", "file_path", "notebook_path", "path", "pattern", "url", "query")


class ToolCallKind(DecideOnlyKind):
    name = "tool_call"
    label = "Tool call"
    screens_parameters = True

    def schema(self, *, skill_id: str | None = None) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                "tool": {"type": "string", "minLength": 1, "maxLength": MAX_TOOL},
                "input": {
                    "type": "object",
                    "properties": {
                        "command": {"type": "string", "format": "command"},
                        "file_path": {"type": "string", "format": "absolute-path"},
                        "url": {"type": "string", "format": "uri"},
                    },
                },
                "agent": {"type": "string", "maxLength": MAX_SHORT},
                "session_id": {"type": "string", "maxLength": MAX_SHORT},
                "cwd": {"type": "string", "maxLength": MAX_CWD},
                # One field to rules: listing the hints as properties would make each a matcher row.
                "hints": {"type": "object", "additionalProperties": {"type": "boolean"}},
            },
            "required": ["tool", "input"],
            "additionalProperties": False,
        }

    def validate(self, parameters: dict[str, Any], errors: Errors, *, skill_id: str | None = None) -> None:
        check_keys(parameters, errors, required=("tool", "input"), optional=("agent", "session_id", "cwd", "hints"))
        check_string(parameters, "tool", errors, max_length=MAX_TOOL)
        check_string(parameters, "agent", errors, max_length=MAX_SHORT)
        check_string(parameters, "session_id", errors, max_length=MAX_SHORT)
        check_string(parameters, "cwd", errors, max_length=MAX_CWD)
        if "input" in parameters and not isinstance(parameters["input"], dict):
            errors["input"] = "must be a JSON object (the tool's input)"
        if "cwd" not in errors and "cwd" in parameters and not parameters["cwd"].startswith("/"):
            errors["cwd"] = "must be an absolute path"
        hints = parameters.get("hints")
        if "hints" in parameters:
            if not isinstance(hints, dict):
                errors["hints"] = f"must be an object of {', '.join(HINTS)}"
            elif unknown := sorted(str(key) for key in hints if key not in HINTS):
                errors["hints"] = f"unknown hint {', '.join(unknown)}; known: {', '.join(HINTS)}"
            elif not all(isinstance(value, bool) for value in hints.values()):
                errors["hints"] = "each hint is true or false"

    def classify(self, parameters: dict[str, Any], *, skill_id: str | None = None) -> Classification:
        return tool_call_classify(parameters)

    def rule_parameters(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """Rules see `input.file_path` as the absolute normal path the tool writes (a NotebookEdit's
        notebook_path, a relative path against cwd), or not at all when it cannot be resolved: so a
        deny rule on `/etc/**` also catches `../../etc/passwd`."""
        tool_input = parameters.get("input")
        if not isinstance(tool_input, dict):
            return parameters
        path, _ = edited_path(str(parameters.get("tool")), parameters)
        seen = {key: value for key, value in tool_input.items() if key != "file_path"}
        if path is not None:
            seen["file_path"] = path
        return {**parameters, "input": seen}

    def reversibility(self, parameters: dict[str, Any], *, skill_id: str | None = None) -> Reversibility:
        tool = parameters.get("tool")
        if tool in READ_ONLY_TOOLS:
            return Reversibility("reversible", f"{tool} only reads")
        if tool in ("Edit", "MultiEdit"):
            return Reversibility("partial", "the replaced text is in the input, so the edit can be put back by hand")
        if tool in ("Write", *PATH_KEYS):
            return Reversibility("irreversible", "it replaces the file's content, which ActionHub does not keep")
        if tool == "Bash":
            words = simple_words(str((parameters.get("input") or {}).get("command", "")))
            if words is not None and read_only(words):
                return Reversibility("reversible", "a read-only command")
            return Reversibility("irreversible", "a shell command may change anything")
        hints = parameters.get("hints") if isinstance(parameters.get("hints"), dict) else {}
        if hints.get("readOnlyHint") is True:
            # A hint from the tool's own server: shown, never trusted to skip the deliberate step.
            return Reversibility(
                "irreversible", f"{tool}'s server says it only reads (readOnlyHint), but ActionHub cannot check that"
            )
        return Reversibility("irreversible", f"ActionHub does not know what {tool} does, so it may not be undone")

    def summary(self, action: Action) -> str:
        parameters = action.parameters or {}
        tool = str(parameters.get("tool", ""))
        tool_input = parameters.get("input") if isinstance(parameters.get("input"), dict) else {}
        key = next((key for key in _SUMMARY_KEYS if isinstance(tool_input.get(key), str)), None)
        if key is None:
            pairs = ", ".join(f"{name}={scalar(value)}" for name, value in sorted(tool_input.items()))
            return clip(f"{tool}: {pairs}" if pairs else tool)
        value = tool_input[key]
        cwd = parameters.get("cwd")
        if key in ("file_path", "notebook_path") and isinstance(cwd, str) and value.startswith(cwd.rstrip("/") + "/"):
            value = posixpath.relpath(value, cwd)
        return clip(f"{tool}: {value}" if key == "command" else f"{tool} {value}")
