"""A kind added from settings alone runs through every door: submit, review, execution, rules and
the pages. Nothing outside this file knows it."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client

from approvals.kinds.base import ActionKind, Classification, Errors, Reversibility, check_keys, check_string, clip
from approvals.models import Action, SecurityLevel, Status
from tests.factories import make_user
from tests.workers import in_process_worker


class EchoKind(ActionKind):
    """Says `text` back; loud echoes are HIGH, and a `target` names a file path rules may glob."""

    name = "echo"
    label = "Echo"

    def schema(self, *, skill_id: str | None = None) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                "text": {"type": "string"},
                "loud": {"type": "boolean"},
                "target": {"type": "string", "format": "path", "default": "inbox/echo.txt"},
            },
            "required": ["text"],
        }

    def validate(self, parameters: dict[str, Any], errors: Errors, *, skill_id: str | None = None) -> None:
        check_keys(parameters, errors, required=("text",), optional=("loud", "target"))
        check_string(parameters, "text", errors, max_length=50)
        if "loud" in parameters and not isinstance(parameters["loud"], bool):
            errors["loud"] = "must be true or false"

    def classify(self, parameters: dict[str, Any], *, skill_id: str | None = None) -> Classification:
        if parameters.get("loud"):
            return Classification(SecurityLevel.HIGH, ["a loud echo wakes everyone"])
        return Classification(SecurityLevel.LOW, ["a quiet echo"])

    def reversibility(self, parameters: dict[str, Any], *, skill_id: str | None = None) -> Reversibility:
        return Reversibility("reversible", "an echo fades")

    def idempotent(self, parameters: dict[str, Any]) -> bool:
        return True

    def summary(self, action: Action) -> str:
        return clip(f"echo {action.parameters['text']!r}")

    def changes(self, action: Action) -> dict[str, Any]:
        return {"config": {"key": "echo", "old": None, "new": action.parameters["text"]}}

    def run(self, action: Action) -> dict[str, Any]:
        return {
            "echo": action.parameters["text"].upper() if action.parameters.get("loud") else action.parameters["text"]
        }


@pytest.fixture(autouse=True)
def echo_kind(settings):
    settings.ACTIONHUB_ACTION_KINDS = [*settings.ACTIONHUB_ACTION_KINDS, f"{__name__}.EchoKind"]


def _worker_runs_the_queue() -> list[str]:
    """Run every queued task in this process (a worker started elsewhere would not see the kind)."""
    worker = in_process_worker("worker-echo")
    ran = []
    while (task := worker.claim()) is not None:
        worker.run_task(task)
        ran.append(task.task_path)
    return ran


def _page(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db(transaction=True)
def test_it_runs_a_kind_from_settings_through_submit_review_and_execution(alice, bob, api_as):
    bad = api_as(alice).post("/actions", {"action_type": "echo", "parameters": {"text": "hi", "loud": "yes"}})
    assert bad.status_code == 400
    assert bad.json()["errors"] == {"loud": "must be true or false"}

    created = api_as(alice).post("/actions", {"action_type": "echo", "parameters": {"text": "hello", "loud": True}})
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["status"], body["security_level"], body["approvals_required"]) == ("pending", "high", 1)
    assert body["reversibility"] == {"value": "reversible", "label": "reversible", "reason": "an echo fades"}

    queue = _page(bob).get("/approvals/", {"type": "echo"})
    assert queue.status_code == 200
    assert "echo &#x27;hello&#x27;" in queue.text and '<option value="echo" selected>Echo</option>' in queue.text
    detail = _page(bob).get(f"/approvals/{body['id']}/")
    assert detail.status_code == 200
    assert "Echo" in detail.text and "a loud echo wakes everyone" in detail.text and "an echo fades" in detail.text

    approved = api_as(bob).post(
        f"/actions/{body['id']}/approve", {"approved": True, "payload_hash": body["payload_hash"]}
    )
    assert approved.json()["status"] == "approved", approved.content
    assert "worker.tasks.execute_action" in _worker_runs_the_queue()
    action = Action.objects.get(id=body["id"])
    assert (action.status, action.result) == (Status.COMPLETED, {"echo": "HELLO"})

    quiet = api_as(alice).post("/actions", {"action_type": "echo", "parameters": {"text": "psst"}}).json()
    assert (quiet["status"], quiet["security_level"]) == ("approved", "low")


@pytest.mark.django_db(transaction=True)
def test_it_lets_rules_match_a_kind_by_its_schema(alice, api_as):
    admin = make_user("erin", "reviewers", "rule_admins")
    unknown = api_as(admin).post(
        "/rules",
        {"action_type": "echo", "matchers": [{"parameter": "volume", "kind": "exact", "value": 1}], "effect": "deny"},
    )
    assert unknown.status_code == 400
    assert "known: text, loud, target" in unknown.content.decode()

    rule = api_as(admin).post(
        "/rules",
        {
            "action_type": "echo",
            "matchers": [{"parameter": "target", "kind": "glob", "value": "inbox/**"}],
            "effect": "deny",
            "note": "nothing echoes into the inbox",
        },
    )
    assert rule.status_code == 201, rule.content

    # The target is left out: the schema's default puts it in the inbox, so the deny rule decides.
    denied = api_as(alice).post("/actions", {"action_type": "echo", "parameters": {"text": "x", "loud": True}}).json()
    assert denied["status"] == "rejected"
    elsewhere = {"text": "x", "loud": True, "target": "./outbox//x.txt"}
    held = api_as(alice).post("/actions", {"action_type": "echo", "parameters": elsewhere}).json()
    assert held["status"] == "pending"

    # The glob compares the normal form of the path: `./inbox//a` is under inbox/.
    sneaky = {"text": "x", "loud": True, "target": "./inbox//a.txt"}
    assert api_as(alice).post("/actions", {"action_type": "echo", "parameters": sneaky}).json()["status"] == "rejected"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (f"{__name__}.NoSuchKind", "NoSuchKind"),
        (f"{__name__}._worker_runs_the_queue", "is not an ActionKind"),
        (f"{__name__}.EchoKind", "two kinds are named 'echo'"),
    ],
)
def test_it_refuses_to_start_with_a_bad_kind_setting(settings, entry, message):
    settings.ACTIONHUB_ACTION_KINDS = [*settings.ACTIONHUB_ACTION_KINDS, entry]
    with pytest.raises(SystemCheckError, match=message):
        call_command("check")
