"""Runs skill_execution and file_operation actions.

Skills run only inside the hardened Docker sandbox. Until the sandbox runner ships, every
run fails with a clear error instead of pretending to succeed.
"""

from __future__ import annotations

from typing import Any

from approvals.handlers import HandlerError
from approvals.models import Action, ActionType
from skills.registry import get_skill

SANDBOX_UNAVAILABLE = "sandbox unavailable: the skill sandbox runner is not installed on this server"


def run_skill_action(action: Action) -> dict[str, Any]:
    skill_id = "filesystem" if action.action_type == ActionType.FILE_OPERATION else action.skill_id
    if get_skill(skill_id) is None:
        raise HandlerError(f"unknown skill {skill_id!r}")
    raise HandlerError(SANDBOX_UNAVAILABLE)
