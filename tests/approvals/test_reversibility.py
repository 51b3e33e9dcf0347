"""Reversibility: declared by action types and skill manifests, shown in the queue, on the detail
page and in notifications; a manifest that declares it wrongly is refused by the registry."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from approvals.models import Action
from approvals.reversibility import reversibility_of
from notifications.messages import email_body, slack_body
from skills.registry import all_skills
from tests.factories import CRITICAL_ACTION, HIGH_ACTION, make_action
from tests.skills.conftest import write_skill


@pytest.mark.parametrize(
    ("action_type", "skill_id", "parameters", "expected"),
    [
        ("file_operation", None, {"operation": "read", "path": "a.txt"}, "reversible"),
        ("file_operation", None, {"operation": "list", "path": "."}, "reversible"),
        ("file_operation", None, {"operation": "write", "path": "a.txt", "content": ""}, "partial"),
        ("file_operation", None, {"operation": "delete", "path": "a.txt"}, "irreversible"),
        ("api_call", None, {"method": "GET", "url": "https://x"}, "reversible"),
        ("api_call", None, {"method": "PATCH", "url": "https://x"}, "partial"),
        ("api_call", None, {"method": "POST", "url": "https://x"}, "irreversible"),
        ("config_change", None, {"key": "expiry_high", "value": "2h"}, "reversible"),
        ("model_switch", None, {"model": "m"}, "reversible"),
        ("chat", None, {"message": "hi"}, "reversible"),
        ("skill_execution", "python", {"script": "print(1)"}, "reversible"),
        ("skill_execution", "filesystem", {"operation": "delete", "path": "a.txt"}, "irreversible"),
        ("skill_execution", "filesystem", {"operation": "write", "path": "a.txt"}, "partial"),
        ("skill_execution", "nosuchskill", {}, "irreversible"),
    ],
)
def test_it_declares_reversibility_by_type_and_manifest(action_type, skill_id, parameters, expected):
    assert reversibility_of(action_type=action_type, skill_id=skill_id, parameters=parameters).value == expected


def test_it_applies_a_settings_override(settings):
    settings.ACTIONHUB_REVERSIBILITY_OVERRIDES = {"config_change": "irreversible"}
    result = reversibility_of(action_type="config_change", skill_id=None, parameters={"key": "x", "value": 1})
    assert result.value == "irreversible"


@pytest.fixture
def skills_dir(settings, tmp_path):
    directory = tmp_path / "user-skills"
    directory.mkdir()
    settings.ACTIONHUB_SKILLS_DIR = str(directory)
    all_skills.cache_clear()
    yield directory
    all_skills.cache_clear()


def _manifest(skill_id: str, **extra):
    return {
        "id": skill_id,
        "name": skill_id,
        "entrypoint": f"{skill_id.replace('-', '_')}.py",
        "access": "none",
        "parameters": {"type": "object"},
        **extra,
    }


def test_it_reads_a_manifest_declaration_and_refuses_a_wrong_one(skills_dir, caplog):
    write_skill(skills_dir, _manifest("undo-able", reversibility="reversible"), "print(1)")
    write_skill(skills_dir, _manifest("silent"), "print(1)")
    write_skill(skills_dir, _manifest("typo", reversibility="maybe"), "print(1)")
    write_skill(
        skills_dir,
        _manifest("half", reversibility={"parameter": "mode", "values": {"dry": "reversible"}, "default": "sometimes"}),
        "print(1)",
    )
    with caplog.at_level(logging.ERROR, logger="skills.registry"):
        skills = all_skills()
    assert skills["undo-able"].reversibility == "reversible"
    assert skills["silent"].reversibility == "irreversible"  # undeclared: nobody promised an undo
    assert "typo" not in skills and "half" not in skills
    assert "reversibility must be one of reversible, partial, irreversible, not 'maybe'" in caplog.text
    assert "reversibility of default must be one of" in caplog.text


def test_it_lists_reversibility_with_each_skill(alice, api_as):
    skills = {skill["id"]: skill for skill in api_as(alice).get("/skills").json()}
    assert skills["python"]["reversibility"] == "reversible"
    assert skills["filesystem"]["reversibility"]["values"]["delete"] == "irreversible"


def test_it_shows_reversibility_in_the_queue_the_detail_page_and_notifications(alice, bob):
    delete = make_action(alice, HIGH_ACTION)
    config = make_action(alice, CRITICAL_ACTION)
    client = Client()
    client.force_login(bob)

    queue = client.get("/approvals/").content.decode()
    row = queue.split(f'id="action-{delete.id}"', 1)[1].split("</li>", 1)[0]
    assert 'class="badge rev rev-irreversible"' in row and ">irreversible<" in row
    row = queue.split(f'id="action-{config.id}"', 1)[1].split("</li>", 1)[0]
    assert 'class="badge rev rev-reversible"' in row

    detail = client.get(f"/approvals/{delete.id}/").content.decode()
    assert 'class="badge rev rev-irreversible"' in detail
    assert "a deleted file cannot be brought back" in detail

    action = Action.objects.select_related("requested_by").get(id=delete.id)
    assert "Reversibility:    irreversible (a deleted file cannot be brought back)" in email_body(action)
    assert "*Reversibility:* irreversible" in slack_body(action)["text"]
