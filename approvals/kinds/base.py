"""The interface every action kind implements, and the values its methods return.

A kind is a plain object: the lifecycle asks it what parameters mean (schema, validate), how risky
they are (classify), whether their effect can be undone or repeated (reversibility, idempotent),
how to show them (summary, changes, diff) and how to run them (run). Nothing here knows a kind.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from approvals.models import Action

SUMMARY_LENGTH = 140
REVERSIBILITY_LABELS = {
    "reversible": "reversible",
    "partial": "partly reversible",
    "irreversible": "irreversible",
}


class HandlerError(Exception):
    """A readable reason an action failed when it ran; stored as the action's error. `detail` is
    the technical cause (an exception's text), kept in the audit entry and folded on the page."""

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


@dataclass(frozen=True)
class Classification:
    level: str
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Reversibility:
    value: str
    reason: str

    @property
    def label(self) -> str:
        return REVERSIBILITY_LABELS[self.value]


@dataclass(frozen=True)
class FileChange:
    """The effect of writing a text file: `kind` is diff, new, same or unknown (then `note` says why)."""

    kind: str
    note: str = ""
    # (css class, text): "add", "del", "hunk", "file" or "" for context lines.
    lines: list[tuple[str, str]] = field(default_factory=list)
    added: int = 0
    removed: int = 0
    omitted: int = 0


class Errors(dict[str, str]):
    """Field name -> why it is wrong; a kind's `validate` fills one."""

    def add(self, key: str, message: str) -> None:
        self[key] = f"{self[key]}; {message}" if key in self else message


def clip(text: str, length: int = SUMMARY_LENGTH) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= length else text[: length - 1] + "…"


def scalar(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), sort_keys=True)


def parameters_summary(action: Action) -> str:
    """`skill: key=value, ...`: the line of a kind that says nothing more specific."""
    pairs = ", ".join(f"{key}={scalar(value)}" for key, value in sorted((action.parameters or {}).items()))
    return clip(f"{action.skill_id or action.action_type}: {pairs}")


def check_keys(
    parameters: dict[str, Any], errors: Errors, *, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> None:
    for key in required:
        if key not in parameters:
            errors[key] = "this field is required"
    for key in parameters:
        if key not in required and key not in optional:
            errors[key] = "unknown field"


def check_string(parameters: dict[str, Any], key: str, errors: Errors, *, max_length: int = 100_000) -> None:
    if key not in parameters:
        return
    value = parameters[key]
    if not isinstance(value, str) or not value.strip():
        errors[key] = "must be a non-empty string"
    elif len(value) > max_length:
        errors[key] = f"must be at most {max_length} characters"


class ActionKind(ABC):
    """One action type. Subclasses set `name` and `label` and implement what their type needs;
    the defaults are the cautious answers (irreversible, not idempotent, no preview)."""

    name: ClassVar[str]
    label: ClassVar[str]
    # Whether actions of this kind name a skill (skill_id); the schema then depends on it.
    names_skill: ClassVar[bool] = False
    # Whether the injection screen reads every string in the parameters (raising the level to HIGH).
    screens_parameters: ClassVar[bool] = False
    # Whether ActionHub runs an approved action of this kind (a worker calls `run`); a decide-only
    # kind is run by its requester, who reports the outcome (see DecideOnlyKind).
    executes: ClassVar[bool] = True

    @abstractmethod
    def schema(self, *, skill_id: str | None = None) -> dict[str, Any] | None:
        """The parameters as a JSON Schema object, or None when `skill_id` names no skill.

        Rules read it: a property with `format: path` takes path globs, one with `format: uri`
        URL prefixes, and a `default` is what the action uses when the parameter is left out.
        """

    @abstractmethod
    def validate(self, parameters: dict[str, Any], errors: Errors, *, skill_id: str | None = None) -> None:
        """Record in `errors` what is wrong with `parameters`; may rewrite a value into its stored
        form (parameters is the caller's copy)."""

    def admit(self, *, skill_id: str | None) -> None:
        """Raise InvalidParameters if a new action of this kind may not be submitted now (its skill
        is disabled, say); edits of actions already waiting are not refused for it."""
        return None

    @abstractmethod
    def classify(self, parameters: dict[str, Any], *, skill_id: str | None = None) -> Classification:
        """The level and the reasons for it, from the parameters alone."""

    def setting_written(self, parameters: dict[str, Any]) -> str | None:
        """The runtime setting running the action writes, if any: the policy then classifies it by
        the settings table, whichever kind writes it."""
        return None

    def rule_parameters(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """The parameters as standing rules match them: a kind may resolve a value to the one form
        its effect depends on (a relative path against a directory), so a rule cannot be dodged."""
        return parameters

    def reversibility(self, parameters: dict[str, Any], *, skill_id: str | None = None) -> Reversibility:
        return Reversibility("irreversible", f"nothing declares whether {self.name} can be undone")

    def idempotent(self, parameters: dict[str, Any]) -> bool:
        """Whether running it twice has the effect of running it once (then a retry is safe)."""
        return False

    def summary(self, action: Action) -> str:
        """One readable line for the queue; the detail page always shows the full parameters."""
        return parameters_summary(action)

    def known_failure(self, action: Action) -> str | None:
        """Why running `action` now would fail, when that is already known (its skill is disabled,
        the sandbox or the LLM server is down, its URL left the allowlist): one plain sentence the
        decision panel shows before anyone decides. None when nothing is known against it."""
        return None

    def changes(self, action: Action) -> dict[str, Any]:
        """What the detail page shows beside the parameters: `request` (an HTTP request as it will
        be sent), `config` (a setting's old and new value) or `file_write` (a diff loads later)."""
        return {}

    def diff(self, action: Action) -> FileChange | None:
        """The slow part of the preview, loaded after the page: what a file write changes."""
        return None

    @abstractmethod
    def run(self, action: Action) -> dict[str, Any]:
        """Do what the action asks; the result, or HandlerError with a readable reason."""


class DecideOnlyKind(ActionKind):
    """A kind ActionHub decides and records but never runs: the requester runs an approved action
    itself and reports what happened (approved -> completed or failed). No worker takes one."""

    executes = False

    def run(self, action: Action) -> dict[str, Any]:
        raise HandlerError(f"{self.name} actions are run by their requester, never by ActionHub")
