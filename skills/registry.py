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
REVERSIBLE = ("reversible", "partial", "irreversible")
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
    # Either one of REVERSIBLE, or {"parameter": name, "values": {value: one of REVERSIBLE}, "default": ...}.
    reversibility: str | dict[str, Any] = "irreversible"

    def reversibility_for(self, parameters: dict[str, Any]) -> str:
        """What running the skill with `parameters` can be undone to, as the manifest declares."""
        if isinstance(self.reversibility, str):
            return self.reversibility
        chosen = parameters.get(self.reversibility["parameter"]) if isinstance(parameters, dict) else None
        values = self.reversibility["values"]
        return values[chosen] if isinstance(chosen, str) and chosen in values else self.reversibility["default"]

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


def _reversibility(declared: Any) -> str | dict[str, Any]:
    choices = ", ".join(REVERSIBLE)
    if isinstance(declared, str):
        if declared not in REVERSIBLE:
            raise ManifestError(f"reversibility must be one of {choices}, not {declared!r}")
        return declared
    if not isinstance(declared, dict) or set(declared) != {"parameter", "values", "default"}:
        raise ManifestError(f"reversibility must be one of {choices}, or an object with parameter, values and default")
    values = declared["values"]
    if not isinstance(declared["parameter"], str) or not isinstance(values, dict) or not values:
        raise ManifestError("reversibility needs a parameter name and a non-empty values object")
    declared_values = [*values.items(), ("default", declared["default"])]
    bad = sorted(str(key) for key, value in declared_values if value not in REVERSIBLE)
    if bad:
        raise ManifestError(f"reversibility of {', '.join(bad)} must be one of {choices}")
    return {"parameter": declared["parameter"], "values": dict(values), "default": declared["default"]}


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
            # Undeclared means nobody promised it can be undone.
            reversibility=_reversibility(raw.get("reversibility", "irreversible")),
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
