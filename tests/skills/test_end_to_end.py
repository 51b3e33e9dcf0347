"""A python skill action from submission to output: the HTTP API, a reviewer and a real worker."""

from __future__ import annotations

import signal

import pytest

from approvals.models import Action
from skills import sandbox
from tests.workers import start_worker, stop, wait_for

pytestmark = [pytest.mark.usefixtures("docker_sandbox"), pytest.mark.django_db(transaction=True)]


def test_it_holds_a_python_action_runs_it_once_approved_and_returns_its_output(alice, bob, api_as):
    worker = start_worker(ACTIONHUB_SANDBOX_POOL_SIZE="1")
    try:
        submitted = api_as(alice).post(
            "/actions",
            {
                "action_type": "skill_execution",
                "skill_id": "python",
                "parameters": {
                    "script": "import sys\nprint(sum(int(n) for n in sys.stdin.read().split()))",
                    "stdin": "1 2 3",
                },
            },
        )
        assert submitted.status_code == 201, submitted.content
        body = submitted.json()
        assert (body["security_level"], body["status"], body["requires_approval"]) == ("high", "pending", True)
        assert [a["id"] for a in api_as(bob).get("/actions/pending").json()["results"]] == [body["id"]]

        decided = api_as(bob).post(
            f"/actions/{body['id']}/approve", {"approved": True, "payload_hash": body["payload_hash"]}
        )
        assert decided.status_code == 200, decided.content
        wait_for(lambda: Action.objects.get(id=body["id"]).status in ("completed", "failed"), timeout=30)
        action = api_as(alice).get(f"/actions/{body['id']}").json()
        assert action["status"] == "completed", action["error"]
        assert action["result"] == {"stdout": "6\n", "stderr": "", "exit_code": 0, "truncated": False}
    finally:
        output = stop(worker)
    owner = f"{sandbox.socket.gethostname()}:{worker.pid}"
    assert sandbox.containers_owned(owner) == [], output


def test_it_removes_the_warm_pool_when_a_worker_is_interrupted_twice():
    # Ctrl-C under make run: the worker gets SIGINT from the terminal and SIGTERM from serve.
    worker = start_worker(ACTIONHUB_SANDBOX_POOL_SIZE="1")
    owner = f"{sandbox.socket.gethostname()}:{worker.pid}"
    try:
        wait_for(lambda: len(sandbox.containers_owned(owner)) >= 2, timeout=30)
        worker.send_signal(signal.SIGINT)
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    finally:
        output = stop(worker)
    assert sandbox.containers_owned(owner) == [], output
