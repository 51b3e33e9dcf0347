"""Fixtures for skill tests against the real Docker engine and the built sandbox image."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from approvals.models import Action
from approvals.services import action_decide
from skills import sandbox
from skills.registry import BUILTIN_ENTRYPOINTS, all_skills
from tests.conftest import require
from tests.factories import make_action
from worker.executor import run_action


@pytest.fixture
def docker_sandbox(settings):
    """Docker answers and the sandbox image is built (a failure under CI); no pool in this process."""
    status = sandbox.docker_status()
    require(status["available"], "no Docker engine answers")
    require(status["image"]["present"], "sandbox image missing: run python manage.py build_sandbox_image")
    sandbox.pool_stop()
    yield
    sandbox.pool_stop()
    assert sandbox.containers_owned() == [], "a sandbox container was left behind"


def write_skill(directory: Path, manifest: dict[str, Any], source: str | None = None) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{manifest['id']}.json").write_text(json.dumps(manifest))
    if source is not None:
        (directory / manifest["entrypoint"]).write_text(source)


@pytest.fixture
def skills_dir(settings, tmp_path):
    """An ACTIONHUB_SKILLS_DIR for user-added skills; the registry re-reads it."""
    directory = tmp_path / "user-skills"
    directory.mkdir()
    settings.ACTIONHUB_SKILLS_DIR = str(directory)
    all_skills.cache_clear()
    yield directory
    all_skills.cache_clear()


TIGHT_PYTHON = {
    "id": "python-tight",
    "name": "Python with tight limits",
    "description": "The python skill with a short timeout and little memory, for abuse tests.",
    "version": "1",
    "entrypoint": "python_tight.py",
    "access": "system",
    "timeout": 2,
    "memory": "64m",
    "parameters": {
        "type": "object",
        "additionalProperties": False,
        "required": ["script"],
        "properties": {"script": {"type": "string"}, "stdin": {"type": "string"}},
    },
}


@pytest.fixture
def tight_python(skills_dir):
    """A user-added copy of the python skill with a 2 s timeout and 64 MB of memory."""
    write_skill(skills_dir, TIGHT_PYTHON, (BUILTIN_ENTRYPOINTS / "python.py").read_text())
    return TIGHT_PYTHON["id"]


def run_approved(requester, reviewer, spec: dict[str, Any]) -> Action:
    """Submit as `requester`, approve as `reviewer` if held, run it in this process, return it."""
    action = make_action(requester, spec)
    if action.status == "pending":
        action_decide(action_id=action.id, user=reviewer, approved=True)
    run_action(action_id=action.id, worker_id="test-worker")
    return Action.objects.get(id=action.id)


@pytest.fixture
def workspace(settings, tmp_path):
    """A fresh workspaces root; returns the path the `default` workspace will have."""
    root = tmp_path / "workspaces"
    settings.ACTIONHUB_WORKSPACES_DIR = root
    yield root / "default"
    shutil.rmtree(root, ignore_errors=True)
