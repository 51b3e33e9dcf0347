"""Skill manifests: the built-in ones beside this module and any in ACTIONHUB_SKILLS_DIR.

A built-in skill's entrypoint lives in skills/entrypoints/; a user-added skill's entrypoint lives
beside its manifest in ACTIONHUB_SKILLS_DIR. Either is sent to the sandbox to run.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
from django.conf import settings

logger = logging.getLogger(__name__)

BUILTIN_DIR = Path(__file__).resolve().parent / "manifests"
BUILTIN_ENTRYPOINTS = Path(__file__).resolve().parent / "entrypoints"
ACCESS_LEVELS = ("none", "filesystem", "system")
_ENTRYPOINT_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\.py$")


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
    entrypoint_path: Path | None = None

    def validate(self, parameters: dict[str, Any]) -> list[str]:
        """Schema errors for `parameters`, as readable strings; empty when valid."""
        validator = jsonschema.Draft202012Validator(self.parameters)
        return [
            f"{'/'.join(str(p) for p in error.absolute_path) or '(parameters)'}: {error.message}"
            for error in sorted(validator.iter_errors(parameters), key=lambda e: list(e.absolute_path))
        ]


def _entrypoint_path(name: str, directory: Path) -> Path:
    if not _ENTRYPOINT_RE.match(name):
        raise ManifestError(f"entrypoint must be a file name such as skill.py, not {name!r}")
    path = directory / name
    if not path.is_file():
        raise ManifestError(f"entrypoint {name} is not a file in {directory}")
    return path


def _load(path: Path, entrypoints: Path) -> Skill:
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
            entrypoint_path=_entrypoint_path(str(raw["entrypoint"]), entrypoints),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ManifestError(f"{path.name}: {exc}") from exc
    if skill.access not in ACCESS_LEVELS:
        raise ManifestError(f"{path.name}: access must be one of {', '.join(ACCESS_LEVELS)}")
    if not re.fullmatch(r"\d+[kmg]", skill.memory):
        raise ManifestError(f"{path.name}: memory must be like 128m or 1g")
    if not 1 <= skill.timeout <= 3600:
        raise ManifestError(f"{path.name}: timeout must be 1 to 3600 seconds")
    jsonschema.Draft202012Validator.check_schema(skill.parameters)
    return skill


@lru_cache(maxsize=1)
def all_skills() -> dict[str, Skill]:
    directories = [(BUILTIN_DIR, BUILTIN_ENTRYPOINTS)]
    if settings.ACTIONHUB_SKILLS_DIR:
        user_dir = Path(settings.ACTIONHUB_SKILLS_DIR).resolve()
        directories.append((user_dir, user_dir))
    skills: dict[str, Skill] = {}
    for directory, entrypoints in directories:
        for path in sorted(directory.glob("*.json")):
            try:
                skill = _load(path, entrypoints)
            except (ManifestError, jsonschema.SchemaError) as exc:
                logger.error("skipping skill manifest %s: %s", path, exc)
                continue
            if skill.id in skills:
                # A user-added manifest must not replace a built-in skill (and with it, its declared access).
                logger.error("skipping skill manifest %s: skill id %r is already defined", path, skill.id)
                continue
            skills[skill.id] = skill
    return skills


def get_skill(skill_id: str | None) -> Skill | None:
    if not skill_id:
        return None
    return all_skills().get(skill_id)
