"""The application image, built once per definition (deploy/build_image.py caches it by a hash of
its inputs), and containers started from it that are removed again after each test."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.conftest import require

ROOT = Path(__file__).resolve().parent.parent.parent


def docker_answers() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def app_image() -> str:
    """The image's tag, built on the Debian root filesystem the sandbox image uses, with wheels
    downloaded on this machine (no registry or package index is needed inside the build)."""
    require(docker_answers(), "a Docker engine (the application image is built and run)")
    done = subprocess.run(
        [sys.executable, "deploy/build_image.py", "--debian-base", "--offline"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


class Containers:
    """docker run with a label, so every container a test started is removed, whatever happens."""

    def __init__(self, image: str) -> None:
        self.image = image
        self.label = f"actionhub-test={secrets.token_hex(6)}"

    def run(
        self,
        *args: str,
        env: dict[str, str],
        detach: bool = False,
        name: str = "",
        options: tuple[str, ...] | list[str] = (),
        timeout: float = 120,
    ) -> subprocess.CompletedProcess:
        command = ["docker", "run", "--label", self.label, "--network", "host", *options]
        command += ["--detach"] if detach else ["--rm"]
        if name:
            command += ["--name", f"{name}-{self.label.split('=')[1]}"]
        for key, value in env.items():
            command += ["--env", f"{key}={value}"]
        done = subprocess.run([*command, self.image, *args], capture_output=True, text=True, timeout=timeout)
        return done

    def remove_all(self) -> None:
        ids = subprocess.run(
            ["docker", "ps", "-aq", "--filter", f"label={self.label}"], capture_output=True, text=True
        ).stdout.split()
        if ids:
            subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)


@pytest.fixture
def containers(app_image):
    started = Containers(app_image)
    yield started
    started.remove_all()


@pytest.fixture
def scratch_database():
    """A database of its own on the suite's PostgreSQL server, dropped afterwards. Ask for it before
    `containers`, so that the containers using it are removed first."""
    url = os.environ.get("DATABASE_URL", "")
    require(url.startswith("postgres"), "PostgreSQL (DATABASE_URL=postgres://...) for the containers")
    import psycopg

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'actionhub'}_deploy_{secrets.token_hex(3)}"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
