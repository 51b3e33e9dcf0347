"""Runs skill_execution and file_operation actions in the sandbox.

file_operation actions run through the filesystem skill; every filesystem operation, whether it
succeeded or not, gets an audit entry on the action's timeline.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

from django.conf import settings

from approvals.kinds.base import HandlerError
from approvals.models import Action
from audit.services import audit_append
from skills import sandbox
from skills.registry import Skill, all_skills, get_skill
from skills.selectors import skill_is_enabled

logger = logging.getLogger(__name__)

FILESYSTEM_SKILL = "filesystem"
DEFAULT_WORKSPACE = "default"
READ_LIMIT = 1024 * 1024
WRITE_LIMIT = 10 * 1024 * 1024
_WORKSPACE_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def workspace_dir(name: str) -> Path:
    """The host directory of workspace `name`, created so the sandbox user can write in it.

    Only the sandbox ever looks inside a workspace; the host never follows anything in it, and a
    workspace that is itself a symbolic link is refused.
    """
    if not _WORKSPACE_RE.match(name):
        raise HandlerError(f"invalid workspace name {name!r}")
    root = Path(settings.ACTIONHUB_WORKSPACES_DIR)
    root.mkdir(parents=True, exist_ok=True)
    path = root / name
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise HandlerError(f"workspace {name!r} is not a directory")
    if not path.exists():
        path.mkdir(mode=0o750)
        uid, gid = (int(part) for part in settings.ACTIONHUB_SANDBOX_USER.split(":"))
        if os.geteuid() == 0:
            os.chown(path, uid, gid)
        else:
            # Without root we cannot hand the directory to the sandbox uid, so it must be open to it.
            path.chmod(0o777)
            logger.warning("workspace %s is world-writable: run workers as root to give it to %s", path, uid)
    return path.resolve()


def profile_for(skill: Skill, parameters: dict[str, Any]) -> sandbox.Profile:
    if skill.access == "filesystem":
        return sandbox.Profile(
            memory=skill.memory, workspace=str(workspace_dir(parameters.get("workspace") or DEFAULT_WORKSPACE))
        )
    return sandbox.Profile(memory=skill.memory)


def pool_profiles() -> list[sandbox.Profile]:
    """What the warm pool keeps ready: every skill, the filesystem ones on the default workspace."""
    return [profile_for(skill, {}) for skill in all_skills().values()]


def _limits() -> dict[str, Any]:
    return {
        "output_bytes": settings.ACTIONHUB_SANDBOX_OUTPUT_BYTES,
        "read_bytes": READ_LIMIT,
        "write_bytes": WRITE_LIMIT,
        "extensions": settings.ACTIONHUB_FILESYSTEM_EXTENSIONS,
    }


def run_skill(*, skill: Skill, parameters: dict[str, Any]) -> sandbox.SandboxRun:
    """Run `skill` with `parameters` in a fresh sandbox container; HandlerError when it fails."""
    if skill.entrypoint_path is None:
        raise HandlerError(f"skill {skill.id!r} has no entrypoint")
    job = sandbox.SandboxJob(
        name=f"{skill.id}/{skill.entrypoint}",
        source=skill.entrypoint_path.read_text(),
        job={"params": parameters, "limits": _limits()},
        profile=profile_for(skill, parameters),
        timeout=skill.timeout,
    )
    try:
        return sandbox.run(job)
    except (sandbox.SandboxUnavailable, sandbox.SandboxError) as exc:
        raise HandlerError(str(exc), detail=getattr(exc, "detail", "")) from exc


def workspace_file_read(*, workspace: str, path: str, timeout: float) -> dict[str, Any] | None:
    """Read one file through the filesystem skill with the workspace mounted read-only, for previews.

    None when the workspace does not exist (it is not created for a look); HandlerError with the
    skill's reason when the file cannot be read (missing, not text, too large, a link...).
    """
    skill = get_skill(FILESYSTEM_SKILL)
    if skill is None or skill.entrypoint_path is None:
        raise HandlerError("the filesystem skill is not available")
    if not _WORKSPACE_RE.match(workspace):
        raise HandlerError(f"invalid workspace name {workspace!r}")
    root = Path(settings.ACTIONHUB_WORKSPACES_DIR) / workspace
    if root.is_symlink() or not root.is_dir():
        return None
    job = sandbox.SandboxJob(
        name=f"{skill.id}/{skill.entrypoint} (preview)",
        source=skill.entrypoint_path.read_text(),
        job={"params": {"operation": "read", "path": path, "workspace": workspace}, "limits": _limits()},
        profile=sandbox.Profile(memory=skill.memory, workspace=str(root.resolve()), read_only=True),
        timeout=timeout,
    )
    try:
        return sandbox.run(job).output
    except (sandbox.SandboxUnavailable, sandbox.SandboxError) as exc:
        raise HandlerError(str(exc), detail=getattr(exc, "detail", "")) from exc


def _audit_file_operation(action: Action, parameters: dict[str, Any], *, output: Any, error: str | None) -> None:
    data: dict[str, Any] = {
        "workspace": parameters.get("workspace") or DEFAULT_WORKSPACE,
        "operation": parameters.get("operation"),
        "path": parameters.get("path"),
        "ok": error is None,
    }
    if error is not None:
        data["error"] = error
    elif isinstance(output, dict) and "size" in output:
        data["bytes"] = output["size"]
    audit_append(
        actor=action.requested_by.get_username(),
        event=f"file.{parameters.get('operation')}",
        action_id=action.id,
        data=data,
    )


def run_skill_action(action: Action, *, skill_id: str | None) -> dict[str, Any]:
    """Run `action` with skill `skill_id` (file operations name the filesystem skill)."""
    skill = get_skill(skill_id)
    if skill is None:
        raise HandlerError(f"unknown skill {skill_id!r}")
    if not skill_is_enabled(skill.id):
        raise HandlerError(f"skill {skill.id!r} is disabled")
    parameters = action.parameters
    if skill.id != FILESYSTEM_SKILL:
        return run_skill(skill=skill, parameters=parameters).output
    try:
        output = run_skill(skill=skill, parameters=parameters).output
    except HandlerError as exc:
        _audit_file_operation(action, parameters, output=None, error=str(exc))
        raise
    _audit_file_operation(action, parameters, output=output, error=None)
    return output


def sandbox_prepare() -> None:
    """At worker start: remove containers dead workers left behind, then fill the warm pool."""
    sandbox.reap_leftovers()
    sandbox.pool_start(size=settings.ACTIONHUB_SANDBOX_POOL_SIZE, profiles=pool_profiles())


def sandbox_shutdown() -> None:
    sandbox.pool_stop()
