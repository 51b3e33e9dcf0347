"""The warm pool and the reaper against the real Docker engine."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from skills import sandbox
from skills.registry import get_skill
from skills.runner import pool_profiles, run_skill
from tests.workers import wait_for

pytestmark = pytest.mark.usefixtures("docker_sandbox")


def _warm_ids() -> set[str]:
    return set(sandbox.containers_owned())


def test_it_serves_each_run_from_a_fresh_warm_container_and_refills(db, workspace):
    pool = sandbox.pool_start(size=1, profiles=pool_profiles())
    wait_for(lambda: pool.idle() == len(pool.profiles), timeout=30)
    first = run_skill(skill=get_skill("python"), parameters={"script": "print('one')"})
    assert first.warm is True
    assert first.output["stdout"] == "one\n"
    assert first.container_id not in _warm_ids()
    wait_for(lambda: pool.idle() == len(pool.profiles), timeout=30)
    second = run_skill(skill=get_skill("python"), parameters={"script": "print('two')"})
    assert second.warm is True
    assert second.container_id != first.container_id
    fs = run_skill(skill=get_skill("filesystem"), parameters={"operation": "list", "path": "."})
    assert fs.warm is True
    sandbox.pool_stop()
    assert _warm_ids() == set()


def test_it_runs_cold_when_the_pool_is_empty_or_disabled(db):
    assert sandbox.pool_start(size=0, profiles=pool_profiles()) is None
    run = run_skill(skill=get_skill("python"), parameters={"script": "print('cold')"})
    assert (run.warm, run.output["stdout"]) == (False, "cold\n")


def test_it_never_lets_a_warm_container_keep_state_between_actions(db):
    pool = sandbox.pool_start(size=2, profiles=[sandbox.Profile(memory="256m")])
    wait_for(lambda: pool.idle() == 2, timeout=30)
    script = "import os\nprint(os.path.exists('/tmp/mark'))\nopen('/tmp/mark', 'w').write('x')"
    outputs = [run_skill(skill=get_skill("python"), parameters={"script": script}) for _ in range(3)]
    assert [run.output["stdout"] for run in outputs] == ["False\n"] * 3
    assert len({run.container_id for run in outputs}) == 3


def test_it_reaps_containers_whose_process_is_gone():
    # A process that starts a warm container and dies without cleaning up, as a SIGKILLed worker would.
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'tests.settings'); django.setup()\n"
            "from skills import sandbox\n"
            "started = sandbox._start(sandbox.Profile(memory='64m'), warm=True)\n"
            "print(sandbox.owner_id())\n"
            "os._exit(0)\n",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    owner = child.stdout.strip()
    assert len(sandbox.containers_owned(owner)) == 1
    assert sandbox.reap_leftovers() >= 1
    assert sandbox.containers_owned(owner) == []


def test_it_keeps_the_round_trip_fast_when_warm(db):
    pool = sandbox.pool_start(size=1, profiles=[sandbox.Profile(memory="256m")])
    timings = []
    for _ in range(5):
        wait_for(lambda: pool.idle() == 1, timeout=30)
        began = time.monotonic()
        run = run_skill(skill=get_skill("python"), parameters={"script": "print(1)"})
        timings.append(time.monotonic() - began)
        assert run.warm
    # Generous bound for a loaded CI machine; bench/sandbox.py measures the real figures.
    assert sorted(timings)[2] < 0.5, timings
