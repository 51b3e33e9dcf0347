"""Whether an action's effect can be undone: reversible, partial or irreversible.

The kind of the action's type says (a skill through its manifest); settings may override a type.
What is not known is irreversible, so a badge never understates the stakes.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from approvals.kinds.base import REVERSIBILITY_LABELS, Reversibility
from approvals.kinds.registry import find_kind
from approvals.models import Action


def reversibility_of(*, action_type: str, skill_id: str | None, parameters: dict[str, Any]) -> Reversibility:
    override = settings.ACTIONHUB_REVERSIBILITY_OVERRIDES.get(action_type)
    if override in REVERSIBILITY_LABELS:
        return Reversibility(override, f"settings declare {action_type} {override}")
    kind = find_kind(action_type)
    if kind is None:
        return Reversibility("irreversible", f"nothing declares whether {action_type!r} can be undone")
    return kind.reversibility(parameters if isinstance(parameters, dict) else {}, skill_id=skill_id)


def action_reversibility(action: Action) -> Reversibility:
    return reversibility_of(action_type=action.action_type, skill_id=action.skill_id, parameters=action.parameters)
