"""Skill manifests: the built-in ones beside this module and any in ACTIONHUB_SKILLS_DIR."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
from django.conf import settings

logger = logging.getLogger(__name__)

BUILTIN_DIR = Path(__file__).resolve().parent / "manifests"
ACCESS_LEVELS = ("none", "filesystem", "system")


class ManifestError(ValueError):
    pass


@dataclass(frozen=True)
class Skill:
    id: str
    name: str
    description: str
    version: str
    entrypoint: str
    access: str
    timeout: int
    memory: str
    parameters: dict[str, Any] = field(default_factory=dict)

    def validate(self, parameters: dict[str, Any]) -> list[str]:
        """Schema errors for `parameters`, as readable strings; empty when valid."""
        validator = jsonschema.Draft202012Validator(self.parameters)
        return [
            f"{'/'.join(str(p) for p in error.absolute_path) or '(parameters)'}: {error.message}"
            for error in sorted(validator.iter_errors(parameters), key=lambda e: list(e.absolute_path))
        ]


def _load(path: Path) -> Skill:
    try:
        raw = json.loads(path.read_text())
        skill = Skill(
            id=raw["id"],
            name=raw["name"],
            description=raw.get("description", ""),
            version=raw.get("version", "0"),
            entrypoint=raw["entrypoint"],
            access=raw.get("access", "none"),
            timeout=int(raw.get("timeout", 30)),
            memory=str(raw.get("memory", "256m")),
            parameters=raw.get("parameters", {"type": "object"}),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ManifestError(f"{path.name}: {exc}") from exc
    if skill.access not in ACCESS_LEVELS:
        raise ManifestError(f"{path.name}: access must be one of {', '.join(ACCESS_LEVELS)}")
    jsonschema.Draft202012Validator.check_schema(skill.parameters)
    return skill


@lru_cache(maxsize=1)
def all_skills() -> dict[str, Skill]:
    directories = [BUILTIN_DIR]
    if settings.ACTIONHUB_SKILLS_DIR:
        directories.append(Path(settings.ACTIONHUB_SKILLS_DIR))
    skills: dict[str, Skill] = {}
    for directory in directories:
        for path in sorted(directory.glob("*.json")):
            try:
                skill = _load(path)
            except (ManifestError, jsonschema.SchemaError) as exc:
                logger.error("skipping skill manifest %s: %s", path, exc)
                continue
            skills[skill.id] = skill
    return skills


def get_skill(skill_id: str | None) -> Skill | None:
    if not skill_id:
        return None
    return all_skills().get(skill_id)
