"""Enabling and disabling skills (staff only), audited."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from audit.services import audit_append
from skills.models import SkillState
from skills.registry import get_skill


class UnknownSkill(LookupError):
    pass


def skill_set_enabled(*, skill_id: str, enabled: bool, user: AbstractBaseUser) -> bool:
    """Enable or disable a skill; returns whether anything changed."""
    if get_skill(skill_id) is None:
        raise UnknownSkill(skill_id)
    actor = user.get_username()
    with transaction.atomic():
        state, created = SkillState.objects.select_for_update().get_or_create(skill_id=skill_id)
        if state.enabled == enabled and not created:
            return False
        state.enabled = enabled
        state.updated_by = actor
        state.save()
        audit_append(actor=actor, event="skill.enabled" if enabled else "skill.disabled", data={"skill_id": skill_id})
    return True
