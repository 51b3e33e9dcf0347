"""What deploy/ promises, read from its files: pinned requirements that agree with pyproject.toml,
a Dockerfile that others can build from public images, and a compose file that is valid and keeps
the Docker socket and plain-text secrets where they belong."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib

import pytest
import yaml
from packaging.requirements import Requirement

from tests.conftest import require
from tests.deploy.conftest import ROOT

DEPLOY = ROOT / "deploy"


def pins() -> dict[str, Requirement]:
    lines = (DEPLOY / "requirements.txt").read_text().splitlines()
    found = [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
    return {re.sub(r"[-_.]+", "-", req.name).lower(): req for req in found}


def test_it_pins_every_dependency_to_a_version_pyproject_allows():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pinned = pins()
    for line in project["dependencies"]:
        wanted = Requirement(line)
        pin = pinned.get(re.sub(r"[-_.]+", "-", wanted.name).lower())
        assert pin is not None, f"{wanted.name} is not in deploy/requirements.txt"
        (version,) = [spec.version for spec in pin.specifier if spec.operator == "=="]
        assert wanted.specifier.contains(version, prereleases=True), f"{pin} does not satisfy {wanted}"
    assert all(len(req.specifier) == 1 for req in pinned.values())


def test_it_builds_for_everyone_from_a_public_base_as_a_non_root_user_under_tini():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "ARG BASE=python:3.11-slim-bookworm" in dockerfile
    final = dockerfile.rsplit("\nFROM ", 1)[1]
    assert "apt-get" not in final and "pip install" not in final
    assert "USER 10000:10000" in final
    assert 'ENTRYPOINT ["/usr/bin/tini", "--", "/app/deploy/entrypoint.sh"]' in final
    assert "HEALTHCHECK" in final


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_it_gives_the_docker_socket_to_workers_only():
    services = compose()["services"]
    with_socket = sorted(name for name, service in services.items() if "docker.sock" in str(service.get("volumes")))
    assert with_socket == ["worker-1", "worker-2"]
    assert sorted(name for name, service in services.items() if service.get("command") == ["web"]) == ["web-1", "web-2"]


def test_it_passes_secrets_as_files_only():
    services = compose()["services"]
    for name, service in services.items():
        environment = service.get("environment") or {}
        for key, value in environment.items():
            assert not re.search(r"SECRET_KEY$|PASSWORD$|API_KEY$", key), f"{name}: {key} in plain text"
            assert not re.search(r"://[^/@:]+:[^/@]+@", str(value)), f"{name}: a password inside {key}"
    app = services["web-1"]["environment"]
    assert app["DJANGO_SECRET_KEY_FILE"] == "/run/secrets/django_secret_key"
    assert app["DATABASE_PASSWORD_FILE"] == "/run/secrets/postgres_password"
    assert services["migrate"]["environment"]["ACTIONHUB_ADMIN_PASSWORD_FILE"] == "/run/secrets/admin_password"


def compose_command() -> list[str] | None:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_it_is_a_valid_compose_file(tmp_path):
    command = compose_command()
    require(command is not None, "docker compose or docker-compose, to validate deploy/compose.yaml")
    # The secret files are the operator's to create; config only needs them to exist.
    work = tmp_path / "deploy"
    (work / "secrets").mkdir(parents=True)
    for name in ("django_secret_key", "postgres_password", "admin_password"):
        (work / "secrets" / name).write_text("not-a-secret\n")
    shutil.copy(DEPLOY / "compose.yaml", work / "compose.yaml")
    shutil.copy(DEPLOY / "nginx.conf", work / "nginx.conf")
    done = subprocess.run([*command, "-f", str(work / "compose.yaml"), "config"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load(done.stdout)["services"]
    assert resolved["web-1"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert resolved["proxy"]["depends_on"]["web-2"]["condition"] == "service_healthy"


@pytest.mark.parametrize("service", ["web-1", "worker-1"])
def test_it_stops_containers_later_than_their_own_grace_period(service):
    grace = compose()["services"][service]["stop_grace_period"]
    assert int(grace.removesuffix("s")) > 30
