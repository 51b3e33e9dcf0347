"""What `make run` does for the sandbox image (skills/sandbox-setup.sh), run with stand-in commands on
PATH: a fake manage.py answer, a fake `id`, a fake apt-get that records what it was asked."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "skills" / "sandbox-setup.sh"
UP_TO_DATE = "actionhub-sandbox:latest is up to date (actionhub-sandbox:abc)"
WOULD_BUILD = "would build actionhub-sandbox:abc and tag actionhub-sandbox:latest; base x: debootstrap from http://m"
NO_DOCKER = "CommandError: docker unavailable: Error while fetching server API version"


def stand_in(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


@pytest.fixture
def machine(tmp_path):
    """Run the script on a machine described by `plan` (what the dry run says), `uid` and `tools`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"

    def run(*, plan: str, plan_status: int = 0, uid: int = 0, tools: tuple[str, ...] = (), apt_status: int = 0):
        stand_in(
            bin_dir,
            "python",
            f'echo "python $*" >> {log}\n'
            f'case "$*" in *--dry-run*) echo "{plan}"; exit {plan_status};; esac\necho built',
        )
        stand_in(bin_dir, "id", f"echo {uid}")
        stand_in(bin_dir, "apt-get", f'echo "apt-get $*" >> {log}\nexit {apt_status}')
        for tool in tools:
            stand_in(bin_dir, tool, "exit 0")
        log.write_text("")
        done = subprocess.run(
            ["/bin/bash", str(SCRIPT)],
            cwd=ROOT,
            env={"PATH": str(bin_dir), "PYTHON": str(bin_dir / "python")},
            capture_output=True,
            text=True,
            timeout=30,
        )
        return done, log.read_text().splitlines()

    return run


def test_it_installs_debootstrap_as_root_and_builds_the_image(machine):
    done, calls = machine(plan=WOULD_BUILD, uid=0)
    assert done.returncode == 0, done.stderr
    assert calls[0] == "python manage.py build_sandbox_image --dry-run"
    assert calls[1] == "apt-get install -y -q --no-install-recommends debootstrap"
    assert calls[2] == "python manage.py build_sandbox_image"
    assert "installing debootstrap" in done.stdout


def test_it_updates_the_package_lists_once_when_the_first_install_fails(machine):
    done, calls = machine(plan=WOULD_BUILD, uid=0, apt_status=100)
    assert done.returncode == 0
    assert [call for call in calls if call.startswith("apt-get")] == [
        "apt-get install -y -q --no-install-recommends debootstrap",
        "apt-get update -q",
    ]
    assert "python manage.py build_sandbox_image" not in calls
    assert "could not install debootstrap; run: sudo make sandbox" in done.stdout


def test_it_installs_nothing_when_debootstrap_is_there(machine):
    done, calls = machine(plan=WOULD_BUILD, uid=0, tools=("debootstrap",))
    assert calls == ["python manage.py build_sandbox_image --dry-run", "python manage.py build_sandbox_image"]
    assert done.returncode == 0


def test_it_names_the_fix_without_root_and_installs_nothing(machine):
    done, calls = machine(plan=WOULD_BUILD, uid=1000)
    assert calls == ["python manage.py build_sandbox_image --dry-run"]
    assert "building the image needs root and debootstrap; run: sudo make sandbox" in done.stdout
    assert done.returncode == 0


def test_it_says_docker_does_not_answer_and_touches_nothing(machine):
    done, calls = machine(plan=NO_DOCKER, plan_status=1, uid=0)
    assert calls == ["python manage.py build_sandbox_image --dry-run"]
    assert "Docker does not answer" in done.stdout and "sudo make sandbox" in done.stdout
    assert done.returncode == 0


def test_it_only_retags_an_image_that_is_up_to_date(machine):
    done, calls = machine(plan=UP_TO_DATE, uid=1000)
    assert calls == ["python manage.py build_sandbox_image --dry-run", "python manage.py build_sandbox_image"]
    assert "needs root" not in done.stdout
