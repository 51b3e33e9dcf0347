"""The tool-call policy: one table from tool name to a level or an analysis, overridable by
ACTIONHUB_TOOL_POLICY, and the analyses of file edits and shell commands.

A table key is a tool name, or a prefix ending in `*` (`mcp__*`, `mcp__github__*`): the exact
name wins, then the longest prefix, then `*`. A value is a level, `file_edit` or `bash`.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from django.conf import settings

from approvals.kinds.base import Classification
from approvals.models import SecurityLevel
from lib.shell import destructive_patterns, read_only, simple_words

FILE_EDIT = "file_edit"
FILE_READ = "file_read"
BASH = "bash"
LEVELS = (SecurityLevel.LOW, SecurityLevel.MEDIUM, SecurityLevel.HIGH, SecurityLevel.CRITICAL)
ANALYSES = (FILE_EDIT, FILE_READ, BASH)

DEFAULT_TOOL_POLICY: dict[str, str] = {
    "Read": FILE_READ,
    "Grep": FILE_READ,
    "Glob": FILE_READ,
    "LS": FILE_READ,
    "WebSearch": SecurityLevel.LOW,
    "TodoWrite": SecurityLevel.LOW,
    "Edit": FILE_EDIT,
    "Write": FILE_EDIT,
    "MultiEdit": FILE_EDIT,
    "NotebookEdit": FILE_EDIT,
    "Bash": BASH,
    "WebFetch": SecurityLevel.MEDIUM,
    "mcp__*": SecurityLevel.HIGH,
    "*": SecurityLevel.HIGH,
}
# The input key naming the file a tool writes; any other file_edit tool uses file_path.
PATH_KEYS = {"NotebookEdit": "notebook_path"}
# The input keys that can name what a file_read tool reads: agents disagree (Claude Code's Grep
# takes `path`, Cursor's `file_path`), so every one present is judged.
READ_PATH_KEYS = ("file_path", "path", "notebook_path")
# Where reading alone gives secrets away (to the agent and its model provider), wherever they are.
_SECRET_DIRECTORIES = {".ssh", ".gnupg", ".aws", ".kube", ".docker", ".password-store"}
_SECRET_FILES = ("/etc/shadow", "/etc/gshadow", "/etc/sudoers")
# Tools that only read: their calls are reversible, whatever level the table gives them.
READ_ONLY_TOOLS = {"Read", "Grep", "Glob", "LS", "WebSearch", "WebFetch", "TodoWrite"}

# Sensitive locations: an edit there is HIGH even inside cwd.
_HOME_DOT = re.compile(r"^/(root|home/[^/]+|Users/[^/]+)/\.[^/]")
_SYSTEM = ("/etc", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/boot", "/sys", "/proc", "/dev", "/var/lib")
# Directories whose files run code or hold agent permissions, wherever they are.
_RISKY_DIRECTORIES = {".git", ".ssh", ".gnupg", ".aws", ".kube", ".docker", ".claude", ".codex", ".gemini", ".cursor"}
_KEY_FILE = re.compile(r"^(id_(rsa|dsa|ecdsa|ed25519)\S*|.+\.(pem|key|p12|pfx|keystore|jks)|\.env(\..+)?|\.netrc)$")


def tool_policy() -> dict[str, str]:
    return {**DEFAULT_TOOL_POLICY, **settings.ACTIONHUB_TOOL_POLICY}


def policy_errors(table: Any) -> list[str]:
    """What is wrong with an ACTIONHUB_TOOL_POLICY value, for the system check."""
    if not isinstance(table, dict):
        return ["must be a dict of tool name -> level or analysis"]
    allowed = ", ".join((*LEVELS, *ANALYSES))
    errors = []
    for key, value in table.items():
        if not isinstance(key, str) or not key or "*" in key[:-1]:
            errors.append(f"{key!r}: a key is a tool name, or a prefix ending in a single '*'")
        elif value not in LEVELS and value not in ANALYSES:
            errors.append(f"{key!r}: {value!r} is not one of {allowed}")
    return errors


def policy_entry(tool: str, table: dict[str, str]) -> tuple[str, str]:
    """(the key that applies to `tool`, its value)."""
    if tool in table:
        return tool, table[tool]
    prefixes = [key for key in table if key.endswith("*") and tool.startswith(key[:-1])]
    key = max(prefixes, key=len)  # "*" is always there: DEFAULT_TOOL_POLICY has it
    return key, table[key]


def resolved_path(path: Any, cwd: str | None) -> str | None:
    """The absolute normal form of a file path (relative ones against cwd), or None."""
    if not isinstance(path, str) or not path or path.startswith("~"):
        return None
    if not path.startswith("/"):
        if not cwd:
            return None
        path = posixpath.join(cwd, path)
    # normpath keeps a leading "//"; one slash is what the path names.
    return "/" + posixpath.normpath(path).lstrip("/")


def sensitive_reason(path: str) -> str | None:
    if _HOME_DOT.match(path):
        return "is in a home directory's dot-files"
    for root in _SYSTEM:
        if path == root or path.startswith(root + "/"):
            return f"is under {root}"
    parts = path.split("/")
    if risky := next((part for part in parts[:-1] if part in _RISKY_DIRECTORIES), None):
        return f"is inside a {risky} directory"
    if _KEY_FILE.match(parts[-1]):
        return "is a key, credential or .env file"
    return None


def secret_reason(path: str) -> str | None:
    """Why reading `path` (absolute, or starting with ~) gives a secret away, or None."""
    if path in _SECRET_FILES:
        return "holds the system's secrets"
    parts = path.split("/")
    if secret := next((part for part in parts[:-1] if part in _SECRET_DIRECTORIES), None):
        return f"is inside a {secret} directory"
    if parts[-1] in _SECRET_DIRECTORIES:
        return f"is a {parts[-1]} directory"
    if _KEY_FILE.match(parts[-1]):
        return "is a key, credential or .env file"
    return None


def _file_read(tool: str, parameters: dict[str, Any]) -> Classification:
    tool_input = parameters.get("input") or {}
    for key in READ_PATH_KEYS:
        raw = tool_input.get(key)
        if not isinstance(raw, str) or not raw:
            continue
        path = resolved_path(raw, parameters.get("cwd")) or posixpath.normpath(raw)
        if reason := secret_reason(path):
            return Classification(SecurityLevel.HIGH, [f"{tool}: {path} {reason}: reading it gives it away"])
    return Classification(SecurityLevel.LOW, [f"{tool} only reads"])


def edited_path(tool: str, parameters: dict[str, Any]) -> tuple[str | None, str]:
    """(the resolved path the tool writes or None, the input key it came from)."""
    key = PATH_KEYS.get(tool, "file_path")
    tool_input = parameters.get("input") or {}
    return resolved_path(tool_input.get(key), parameters.get("cwd")), key


def _file_edit(tool: str, parameters: dict[str, Any]) -> Classification:
    path, key = edited_path(tool, parameters)
    raw = (parameters.get("input") or {}).get(key)
    if path is None:
        if not isinstance(raw, str) or not raw:
            return Classification(SecurityLevel.HIGH, [f"{tool}: input.{key} names no file"])
        where = "a home directory (~)" if raw.startswith("~") else "a relative path and no cwd"
        return Classification(SecurityLevel.HIGH, [f"{tool}: {raw} is {where}, so it counts as outside cwd"])
    if reason := sensitive_reason(path):
        return Classification(SecurityLevel.HIGH, [f"{tool}: {path} {reason}"])
    cwd = resolved_path(parameters.get("cwd"), None)
    if cwd is None:
        return Classification(SecurityLevel.HIGH, [f"{tool}: no cwd, so {path} counts as outside it"])
    if path != cwd and path.startswith(cwd.rstrip("/") + "/"):
        return Classification(SecurityLevel.MEDIUM, [f"{tool}: {path} is inside cwd"])
    return Classification(SecurityLevel.HIGH, [f"{tool}: {path} is outside cwd {cwd}"])


def _bash(parameters: dict[str, Any]) -> Classification:
    command = (parameters.get("input") or {}).get("command")
    if not isinstance(command, str) or not command.strip():
        return Classification(SecurityLevel.HIGH, ["Bash: input.command names no command"])
    if found := destructive_patterns(command):
        return Classification(SecurityLevel.CRITICAL, [f"Bash: `{name}` is destructive" for name in found])
    words = simple_words(command)
    if words is None:
        return Classification(
            SecurityLevel.HIGH, ["Bash: the command chains, redirects, substitutes or expands, or cannot be parsed"]
        )
    if not read_only(words):
        return Classification(SecurityLevel.HIGH, [f"Bash: `{words[0]}` is not on the read-only list"])
    # A read-only command still gives away what it reads: `cat ~/.ssh/id_rsa` is a Read of it.
    for word in words[1:]:
        raw = word.partition("=")[2] if word.startswith("-") else word
        if not raw:
            continue
        path = resolved_path(raw, parameters.get("cwd")) or posixpath.normpath(raw)
        if reason := secret_reason(path):
            return Classification(SecurityLevel.HIGH, [f"Bash: `{words[0]}` reads {path}, which {reason}"])
    return Classification(SecurityLevel.LOW, [f"Bash: `{words[0]}` is a read-only command"])


def _raised_by_hints(level: str, hints: dict[str, Any]) -> tuple[str, list[str]]:
    """Hints raise, never lower: a destructive tool is at least HIGH, an open-world one at least MEDIUM."""
    reasons = []
    for hint, floor in (("destructiveHint", SecurityLevel.HIGH), ("openWorldHint", SecurityLevel.MEDIUM)):
        if hints.get(hint) is True and LEVELS.index(floor) > LEVELS.index(level):
            level = floor
            reasons.append(f"the agent's {hint} raises it to {floor}")
    return level, reasons


def tool_call_classify(parameters: dict[str, Any]) -> Classification:
    tool = parameters.get("tool")
    if not isinstance(tool, str):
        return Classification(SecurityLevel.HIGH, ["the tool is unclassifiable"])
    key, value = policy_entry(tool, tool_policy())
    if value == FILE_EDIT:
        result = _file_edit(tool, parameters)
    elif value == FILE_READ:
        result = _file_read(tool, parameters)
    elif value == BASH:
        result = _bash(parameters)
    elif key == "*":
        result = Classification(value, [f"{tool} is an unknown tool, {value} by policy"])
    else:
        result = Classification(value, [f"{tool} is {value} by the tool policy ({key})"])
    level, raised = _raised_by_hints(str(result.level), parameters.get("hints") or {})
    return Classification(level, [*result.reasons, *raised])
