"""The skill registry through the HTTP API: listing, schema validation, user-added skills, toggling."""

from __future__ import annotations

import pytest

from approvals.models import Action, Status
from approvals.services import action_decide
from audit.models import AuditEntry
from skills.registry import all_skills, get_skill
from skills.services import skill_set_enabled
from tests.factories import make_action, make_user
from tests.skills.conftest import TIGHT_PYTHON, run_approved, write_skill
from worker.executor import run_action


def _submit(client, skill_id, parameters):
    return client.post("/actions", {"action_type": "skill_execution", "skill_id": skill_id, "parameters": parameters})


def test_it_lists_each_skill_with_its_manifest(alice, api_as):
    skills = {skill["id"]: skill for skill in api_as(alice).get("/skills").json()}
    python = skills["python"]
    assert python["access"] == "system"
    assert python["enabled"] is True
    assert python["parameters"]["required"] == ["script"]
    assert {"name", "description", "version", "timeout", "memory"} <= python.keys()
    assert skills["filesystem"]["access"] == "filesystem"


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({}, "(parameters)"),
        ({"script": 42}, "script"),
        ({"script": "print(1)", "stdin": ["a"]}, "stdin"),
        ({"script": "print(1)", "shell": True}, "(parameters)"),
        ({"script": ""}, "script"),
    ],
)
def test_it_answers_parameters_outside_the_schema_with_400_and_the_errors(alice, api_as, parameters, field):
    response = _submit(api_as(alice), "python", parameters)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["detail"].startswith("invalid parameters")
    assert field in body["errors"]
    assert not Action.objects.exists()


def test_it_reports_every_schema_error_of_a_field(alice, api_as):
    errors = _submit(api_as(alice), "python", {"scrip": "print(1)"}).json()["errors"]
    assert "'script' is a required property" in errors["(parameters)"]
    assert "'scrip' was unexpected" in errors["(parameters)"]


def test_it_holds_skills_by_their_declared_access(alice, api_as, skills_dir):
    write_skill(skills_dir, {"id": "echo", "name": "Echo", "entrypoint": "echo.py", "access": "none"}, "print('{}')")
    held = _submit(api_as(alice), "python", {"script": "print(1)"}).json()
    assert (held["security_level"], held["status"]) == ("high", "pending")
    runs = _submit(api_as(alice), "echo", {}).json()
    assert (runs["security_level"], runs["status"]) == ("medium", "approved")


def test_it_runs_a_user_added_skill_from_its_own_directory(alice, skills_dir, docker_sandbox, transactional_db):
    source = "import json, sys\njob = json.load(sys.stdin)\nprint(json.dumps({'twice': job['params']['n'] * 2}))\n"
    manifest = {
        "id": "doubler",
        "name": "Doubler",
        "entrypoint": "doubler.py",
        "access": "none",
        "parameters": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
    }
    write_skill(skills_dir, manifest, source)
    action = run_approved(
        alice, None, {"action_type": "skill_execution", "skill_id": "doubler", "parameters": {"n": 21}}
    )
    assert action.status == Status.COMPLETED, action.error
    assert action.result == {"twice": 42}


def test_it_skips_manifests_that_would_replace_a_builtin_or_reach_outside(skills_dir):
    write_skill(skills_dir, {**TIGHT_PYTHON, "id": "python", "access": "none"}, "print('{}')")
    write_skill(skills_dir, {**TIGHT_PYTHON, "id": "sneaky", "entrypoint": "../outside.py"})
    write_skill(skills_dir, {**TIGHT_PYTHON, "id": "absent", "entrypoint": "absent.py"})
    write_skill(skills_dir, {**TIGHT_PYTHON, "id": "greedy", "memory": "lots"}, "print('{}')")
    all_skills.cache_clear()
    assert get_skill("python").access == "system"
    assert get_skill("python").entrypoint_path.parent.name == "entrypoints"
    assert {"sneaky", "absent", "greedy"}.isdisjoint(all_skills())


def test_it_lets_only_staff_toggle_skills_and_audits_it(alice, api_as):
    staff = make_user("sam", is_staff=True)
    assert api_as(alice).post("/skills/python/disable").status_code == 403
    assert api_as(staff).post("/skills/python/disable").json()["enabled"] is False
    refused = _submit(api_as(alice), "python", {"script": "print(1)"})
    assert refused.status_code == 400
    assert refused.json()["errors"] == {"skill_id": "disabled"}
    assert api_as(staff).post("/skills/python/enable").json()["enabled"] is True
    entries = AuditEntry.objects.filter(event__startswith="skill.").order_by("seq")
    assert [(entry.event, entry.actor, entry.data) for entry in entries] == [
        ("skill.disabled", "sam", {"skill_id": "python"}),
        ("skill.enabled", "sam", {"skill_id": "python"}),
    ]


def test_it_fails_an_approved_action_whose_skill_was_disabled_since(alice, bob, transactional_db):
    staff = make_user("sam", is_staff=True)
    spec = {"action_type": "skill_execution", "skill_id": "python", "parameters": {"script": "print(1)"}}
    action = make_action(alice, spec)
    action_decide(action_id=action.id, user=bob, approved=True)
    skill_set_enabled(skill_id="python", enabled=False, user=staff)
    run_action(action_id=action.id, worker_id="test-worker")
    action.refresh_from_db()
    assert (action.status, action.error) == (Status.FAILED, "skill 'python' is disabled")
