"""Factories for users, tokens and actions, built through the same services users go through."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from api.services import token_issue
from approvals.models import Action
from approvals.services import action_create

PASSWORD = "correct-horse-battery-staple"


def make_user(username: str, *groups: str, **extra: Any):
    user = get_user_model().objects.create_user(username=username, password=PASSWORD, **extra)
    for name in groups:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    return user


def make_token(user, name: str = "default") -> str:
    return token_issue(user=user, name=name)[1]


HIGH_ACTION = {"action_type": "file_operation", "parameters": {"operation": "delete", "path": "notes/old.txt"}}
CRITICAL_ACTION = {"action_type": "config_change", "parameters": {"key": "quorum_critical", "value": 2}}
MEDIUM_ACTION = {"action_type": "file_operation", "parameters": {"operation": "list", "path": "notes"}}


def make_action(user, spec: dict[str, Any] | None = None, **overrides: Any) -> Action:
    spec = {**(spec or HIGH_ACTION), **overrides}
    return action_create(
        user=user,
        action_type=spec["action_type"],
        parameters=spec["parameters"],
        skill_id=spec.get("skill_id"),
    )
