"""Deciding on the detail page: approving what cannot be undone takes a second step that shows what
it does, and the page says before anyone decides when it already knows the action would fail."""

from __future__ import annotations

import html

import pytest
from django.core.cache import cache
from django.test import Client

from approvals.models import Action, Status
from approvals.services import action_decide, action_finish, action_start
from skills.sandbox import DOCKER_SILENT
from skills.services import skill_set_enabled
from tests.factories import CRITICAL_ACTION, HIGH_ACTION, make_action

API = "https://api.example.org/v1/"
PUT_CALL = {"action_type": "api_call", "parameters": {"method": "PUT", "url": f"{API}items/1", "json": {"n": 1}}}
DELETE_CALL = {"action_type": "api_call", "parameters": {"method": "DELETE", "url": f"{API}items/1"}}


@pytest.fixture(autouse=True)
def allowlist(settings):
    settings.ACTIONHUB_API_ALLOWLIST = [API]
    # HIGH, so api_calls wait for a reviewer; a PUT is then the reversible HIGH case (partly reversible).
    settings.ACTIONHUB_POLICY_OVERRIDES = {"api_call": "high"}
    cache.clear()
    yield
    cache.clear()


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def approve(client: Client, action: Action, **extra: str):
    data = {"decision": "approve", "reason": "", "payload_hash": action.payload_hash, **extra}
    return client.post(f"/approvals/{action.id}/decide/", data, HTTP_HX_REQUEST="true")


def test_it_asks_a_second_time_before_approving_an_irreversible_action(alice, bob):
    action = make_action(alice, DELETE_CALL)
    first = approve(logged_in(bob), action)
    page = html.unescape(first.content.decode())
    assert first.status_code == 200
    assert Action.objects.get(id=action.id).status == Status.PENDING
    assert "Confirm approval: API call" in page
    assert "This cannot be undone: a DELETE removes a resource on the remote side." in page
    assert f"Sends DELETE {API}items/1" in page.replace("<code>", "").replace("</code>", "")
    assert 'name="confirm" value="on"' in page

    approve(logged_in(bob), action, confirm="on")
    assert Action.objects.get(id=action.id).status == Status.APPROVED


def test_it_asks_a_second_time_before_approving_a_critical_action(alice, bob):
    action = make_action(alice, CRITICAL_ACTION)  # reversible, but CRITICAL
    page = html.unescape(approve(logged_in(bob), action).content.decode())
    assert "Confirm approval: Config change" in page
    assert "quorum_critical:" in page and "→" in page
    assert not Action.objects.get(id=action.id).approvals.exists()


def test_it_approves_a_reversible_action_in_one_step(alice, bob):
    action = make_action(alice, PUT_CALL)
    detail = logged_in(bob).get(f"/approvals/{action.id}/").content.decode()
    assert "data-two-step" not in detail
    response = approve(logged_in(bob), action)
    assert "Approved: it runs now." in response.content.decode()
    assert Action.objects.get(id=action.id).status == Status.APPROVED


def test_it_marks_the_approve_button_of_an_irreversible_action_as_two_steps(alice, bob):
    action = make_action(alice, HIGH_ACTION)  # a file delete
    detail = logged_in(bob).get(f"/approvals/{action.id}/").content.decode()
    assert "data-two-step>Approve…" in detail


def test_it_refuses_a_one_step_approval_from_the_queue_keyboard(alice, bob):
    action = make_action(alice, DELETE_CALL)
    response = approve(logged_in(bob), action, **{"from": "queue"})
    assert response.status_code == 409
    assert "takes a second step" in response.content.decode()
    assert Action.objects.get(id=action.id).status == Status.PENDING


def test_it_serves_the_second_step_alone_for_the_queue_dialog(alice, bob):
    action = make_action(alice, DELETE_CALL)
    response = logged_in(bob).get(f"/approvals/{action.id}/confirm/", HTTP_HX_REQUEST="true")
    body = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert "<html" not in body and "Approve: it cannot be undone" in body
    assert 'name="from" value="queue"' in body


def test_it_refuses_the_second_step_to_the_requester(alice):
    action = make_action(alice, DELETE_CALL)
    response = logged_in(alice).get(f"/approvals/{action.id}/confirm/", HTTP_HX_REQUEST="true")
    assert response.status_code == 403


def test_it_says_before_deciding_that_the_url_left_the_allowlist(alice, bob, settings):
    action = make_action(alice, PUT_CALL)
    settings.ACTIONHUB_API_ALLOWLIST = ["https://other.example.org/"]
    detail = html.unescape(logged_in(bob).get(f"/approvals/{action.id}/").content.decode())
    assert "Its URL is no longer under ACTIONHUB_API_ALLOWLIST, so the request would be refused." in detail
    # Known to fail: approving it anyway is deliberate, even for a reversible action.
    assert "data-two-step" in detail
    assert Action.objects.get(id=action.id).status == Status.PENDING


def test_it_says_before_deciding_that_the_skill_is_disabled(alice, bob, carol, db):
    action = make_action(alice, {"action_type": "skill_execution", "skill_id": "python", "parameters": {"script": "1"}})
    skill_set_enabled(skill_id="python", enabled=False, user=carol)
    detail = html.unescape(logged_in(bob).get(f"/approvals/{action.id}/").content.decode())
    assert "The skill 'python' is disabled, so it would not run." in detail


def test_it_says_before_deciding_that_the_sandbox_is_unavailable(alice, bob, monkeypatch):
    monkeypatch.setattr("skills.sandbox.docker_status", lambda: {"available": False, "sandbox": "unavailable"})
    action = make_action(alice, HIGH_ACTION)
    detail = html.unescape(logged_in(bob).get(f"/approvals/{action.id}/").content.decode())
    assert "The sandbox is unavailable: the Docker engine does not answer." in detail


def test_it_says_before_deciding_that_the_llm_server_does_not_answer(alice, bob, settings):
    settings.ACTIONHUB_LLM_URL = "http://127.0.0.1:9"
    action = make_action(alice, {"action_type": "model_switch", "parameters": {"model": "other"}})
    detail = html.unescape(logged_in(bob).get(f"/approvals/{action.id}/").content.decode())
    assert "The LLM server at http://127.0.0.1:9 does not answer." in detail


def test_it_shows_no_warning_when_nothing_is_known_against_the_action(alice, bob):
    action = make_action(alice, PUT_CALL)
    detail = logged_in(bob).get(f"/approvals/{action.id}/").content.decode()
    assert "known-failure" not in detail


def test_it_shows_a_failure_once_as_a_sentence_with_the_cause_folded(alice, bob):
    cause = "ConnectionError: ('Connection aborted.', FileNotFoundError(2, 'No such file or directory'))"
    action = make_action(alice, HIGH_ACTION)
    action_decide(action_id=action.id, user=bob, approved=True)
    running = action_start(action_id=action.id, worker_id="test-worker")
    # What the worker records when the sandbox does not answer (skills.runner passes the cause on).
    action_finish(action=running, error=DOCKER_SILENT, error_detail=cause)
    assert Action.objects.get(id=action.id).error == DOCKER_SILENT

    page = html.unescape(logged_in(bob).get(f"/approvals/{action.id}/").content.decode())
    assert page.count("Sandbox unavailable: the Docker engine does not answer.") == 1
    assert page.count("Connection aborted") == 1
    folded = page.split('<details class="error-detail">', 1)[1].split("</details>", 1)[0]
    assert "<summary>Technical detail</summary>" in folded and cause in folded
    assert "failed; the error is shown below." in page
