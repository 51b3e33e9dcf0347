"""Whether an action's effect can be undone: reversible, partial or irreversible.

Action types declare it here (file operations by operation, api_call by method); a skill declares
it in its manifest. What is not known is irreversible, so a badge never understates the stakes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from approvals.models import Action, ActionType
from skills.registry import REVERSIBLE, get_skill

REVERSIBILITY_LABELS = {
    "reversible": "reversible",
    "partial": "partly reversible",
    "irreversible": "irreversible",
}

FILE_OPERATIONS = {
    "read": ("reversible", "reading a file changes nothing"),
    "list": ("reversible", "listing a directory changes nothing"),
    "mkdir": ("reversible", "an empty directory can be removed again"),
    "write": ("partial", "a new file can be deleted, but an overwritten file's old content is gone"),
    "delete": ("irreversible", "a deleted file cannot be brought back"),
}
API_METHODS = {
    "GET": ("reversible", "a GET only reads"),
    "HEAD": ("reversible", "a HEAD only reads"),
    "PUT": ("partial", "a PUT replaces a resource; the server may or may not keep the old one"),
    "PATCH": ("partial", "a PATCH changes part of a resource; undoing it needs the old values"),
    "POST": ("irreversible", "a POST may create or trigger something the remote side cannot take back"),
    "DELETE": ("irreversible", "a DELETE removes a resource on the remote side"),
}
FIXED_TYPES = {
    ActionType.CHAT: ("reversible", "a chat only produces an answer"),
    ActionType.MODEL_SWITCH: ("reversible", "the previous model can be switched back"),
    ActionType.CONFIG_CHANGE: ("reversible", "the old value is recorded and can be set again"),
}


@dataclass(frozen=True)
class Reversibility:
    value: str
    reason: str

    @property
    def label(self) -> str:
        return REVERSIBILITY_LABELS[self.value]


def reversibility_of(*, action_type: str, skill_id: str | None, parameters: dict[str, Any]) -> Reversibility:
    override = settings.ACTIONHUB_REVERSIBILITY_OVERRIDES.get(action_type)
    if override in REVERSIBLE:
        return Reversibility(override, f"settings declare {action_type} {override}")
    parameters = parameters if isinstance(parameters, dict) else {}
    if action_type in FIXED_TYPES:
        return Reversibility(*FIXED_TYPES[action_type])
    if action_type == ActionType.FILE_OPERATION:
        operation = parameters.get("operation")
        return Reversibility(*FILE_OPERATIONS.get(operation, ("irreversible", f"unknown file operation {operation!r}")))
    if action_type == ActionType.API_CALL:
        method = str(parameters.get("method", "")).upper()
        return Reversibility(*API_METHODS.get(method, ("irreversible", f"unknown method {method!r}")))
    if action_type == ActionType.SKILL_EXECUTION:
        skill = get_skill(skill_id)
        if skill is None:
            return Reversibility("irreversible", f"unknown skill {skill_id!r}")
        value = skill.reversibility_for(parameters)
        return Reversibility(value, f"skill {skill.id!r} declares it {value}")
    return Reversibility("irreversible", f"nothing declares whether {action_type!r} can be undone")


def action_reversibility(action: Action) -> Reversibility:
    return reversibility_of(action_type=action.action_type, skill_id=action.skill_id, parameters=action.parameters)
