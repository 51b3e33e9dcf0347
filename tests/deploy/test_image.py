"""The built image: non-root under tini, no build tools, static files inside, and one entrypoint
that runs any manage.py command."""

from __future__ import annotations

import json
import secrets

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
