"""Reads of the skill registry joined with each skill's enabled state."""

from __future__ import annotations

from typing import Any

from skills.models import SkillState
from skills.registry import all_skills


def skill_is_enabled(skill_id: str) -> bool:
    state = SkillState.objects.filter(skill_id=skill_id).values_list("enabled", flat=True).first()
    return True if state is None else state


def skills_list() -> list[dict[str, Any]]:
    states = dict(SkillState.objects.values_list("skill_id", "enabled"))
    return [
        {
            "id": skill.id,
            "name": skill.name,
            "description": skill.description,
            "version": skill.version,
            "access": skill.access,
            "timeout": skill.timeout,
            "memory": skill.memory,
            "reversibility": skill.reversibility,
            "parameters": skill.parameters,
            "enabled": states.get(skill.id, True),
        }
        for skill in sorted(all_skills().values(), key=lambda s: s.id)
    ]
