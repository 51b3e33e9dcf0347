"""The built image: non-root under tini, no build tools, static files inside, and one entrypoint
that runs any manage.py command."""

from __future__ import annotations

import json
import os
import secrets
import time

import psycopg

from tests.conftest import require

INSPECT = """
import json, os, shutil
from pathlib import Path
from django.conf import settings
print(json.dumps({
    "pid1": Path("/proc/1/cmdline").read_bytes().split(b"\\0")[0].decode(),
    "uid": os.getuid(),
    "tools": [tool for tool in ("gcc", "cc", "make", "pip", "pip3") if shutil.which(tool)],
    "static": sorted(p.name for p in Path(settings.STATIC_ROOT).iterdir()),
    "writable_app": os.access("/app", os.W_OK),
}))
"""


def test_it_runs_commands_as_a_non_root_user_under_tini_with_no_build_tools(containers):
    done = containers.run("shell", "-c", INSPECT, env={"DJANGO_SECRET_KEY": secrets.token_urlsafe(50)})
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["pid1"] == "/usr/bin/tini"
    assert found["uid"] == 10000
    assert found["tools"] == []
    assert {"admin", "js", "vendor"} <= set(found["static"])
    assert found["writable_app"] is False


def test_it_refuses_to_start_without_a_secret_key(containers):
    done = containers.run("check", env={})
    assert done.returncode != 0
    assert "DJANGO_SECRET_KEY" in done.stderr


SUBMIT_APPROVED_WRITE = """
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from approvals.services import action_create, action_decide
users = get_user_model().objects
alice = users.create_user("alice")
bob = users.create_user("bob")
bob.groups.add(Group.objects.get_or_create(name="reviewers")[0])
action = action_create(user=alice, action_type="file_operation",
                       parameters={"operation": "write", "path": "hello.txt", "content": "from a container"})
action_decide(action_id=action.id, user=bob, approved=True)
print(action.id)
"""


def test_it_runs_a_skill_from_a_worker_container_through_the_docker_socket(scratch_database, containers, tmp_path):
    """What compose gives a worker: the engine's socket in the socket's group, and the workspaces at
    the path the engine sees, so the sandbox the worker starts writes where the worker looks."""
    from skills.sandbox import image_present

    require(image_present(), "the sandbox image (manage.py build_sandbox_image)")
    workspaces = tmp_path / "workspaces"
    workspaces.mkdir()
    if os.geteuid() == 0:
        os.chown(workspaces, 10000, 10000)  # the image's user, as README's install -d -o 10000 does
    else:
        workspaces.chmod(0o777)
    env = {
        "DATABASE_URL": scratch_database,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "ACTIONHUB_WORKSPACES_DIR": str(workspaces),
        "ACTIONHUB_SANDBOX_POOL_SIZE": "0",
    }
    assert containers.run("migrate", env=env, timeout=180).returncode == 0
    submitted = containers.run("shell", "-c", SUBMIT_APPROVED_WRITE, env=env)
    assert submitted.returncode == 0, submitted.stderr
    action_id = submitted.stdout.strip().splitlines()[-1]
    socket_group = str(os.stat("/var/run/docker.sock").st_gid)
    worker = containers.run(
        "worker",
        env=env,
        detach=True,
        options=["--group-add", socket_group, "--volume", "/var/run/docker.sock:/var/run/docker.sock",
                 "--volume", f"{workspaces}:{workspaces}"],
    )  # fmt: skip
    assert worker.returncode == 0, worker.stderr
    with psycopg.connect(scratch_database) as conn:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status, result = conn.execute(
                "SELECT status, result FROM approvals_action WHERE id = %s", (action_id,)
            ).fetchone()
            conn.commit()
            if status in ("completed", "failed"):
                break
            time.sleep(0.3)
    assert (status, result) == ("completed", {"path": "hello.txt", "size": 16})
    assert (workspaces / "default" / "hello.txt").read_text() == "from a container"
