from __future__ import annotations

import io
import json
import uuid

import pytest
from django.core.management import call_command
from django.test import Client

from api.api import api
from api.schemas import ActionOut
from approvals.models import Action, Status
from audit.models import AuditEntry
from tests.factories import CRITICAL_ACTION, HIGH_ACTION, MEDIUM_ACTION, PASSWORD, make_action, make_token


def test_it_creates_a_held_action_and_ignores_the_claimed_level(alice, api_as):
    response = api_as(alice).post("/actions", {**HIGH_ACTION, "security_level": "low"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["security_level"] == "high"
    assert body["status"] == "pending"
    assert body["requires_approval"] is True
    assert body["approvals_required"] == 1
    assert body["requested_by"] == "alice"
    assert len(body["payload_hash"]) == 64
    for field in ("id", "skill_id", "created_at", "approved_at", "completed_at", "expires_at", "result", "error"):
        assert field in body


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"action_type": "teleport", "parameters": {}}, "unknown action_type"),
        ({"action_type": "chat", "parameters": ["not", "an", "object"]}, "parameters must be a JSON object"),
        ({"action_type": "chat", "parameters": "hello"}, "parameters must be a JSON object"),
        ({"action_type": "chat", "parameters": {"message": "hi", "extra": 1}}, "extra: unknown field"),
        ({"action_type": "chat", "parameters": {}}, "message: this field is required"),
        ({"action_type": "file_operation", "parameters": {"operation": "read", "path": "../x"}}, "'..'"),
        ({"action_type": "file_operation", "parameters": {"operation": "read", "path": "/etc/passwd"}}, "relative"),
        ({"action_type": "file_operation", "parameters": {"operation": "write", "path": "a"}}, "content"),
        ({"action_type": "config_change", "parameters": {"key": "debug", "value": 1}}, "key: must be one of"),
        ({"action_type": "config_change", "parameters": {"key": "quorum_critical", "value": 0}}, "1 to 10"),
        ({"action_type": "config_change", "parameters": {"key": "expiry_high", "value": "soon"}}, "duration"),
        ({"action_type": "api_call", "parameters": {"method": "GET", "url": "https://evil.test/"}}, "ALLOWLIST"),
        ({"action_type": "model_switch", "parameters": {"model": ""}}, "model"),
        ({"action_type": "skill_execution", "parameters": {}}, "skill_id is required"),
        ({"action_type": "skill_execution", "skill_id": "python", "parameters": {"scrip": "x"}}, "script"),
        ({"parameters": {}}, "action_type"),
        ({"action_type": 7, "parameters": {}}, "action_type"),
    ],
)
def test_it_answers_bad_input_with_400_and_a_detail(alice, api_as, body, fragment):
    response = api_as(alice).post("/actions", body)
    assert response.status_code == 400, response.content
    assert fragment in response.json()["detail"]
    assert not Action.objects.exists()


def test_it_answers_malformed_json_with_400(alice, api_as):
    response = api_as(alice).post("/actions", "{not json")
    assert response.status_code == 400
    assert "detail" in response.json()


def test_it_answers_a_json_array_body_with_400(alice, api_as):
    response = api_as(alice).post("/actions", "[1, 2]")
    assert response.status_code == 400
    assert "detail" in response.json()


def test_it_refuses_an_oversized_body(alice, api_as, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = {"action_type": "chat", "parameters": {"message": "x" * 20_000}}
    response = api_as(alice).post("/actions", body)
    assert response.status_code == 400
    assert "larger than" in response.json()["detail"]


def test_it_answers_a_bad_uuid_with_400(alice, api_as):
    response = api_as(alice).get("/actions/not-a-uuid")
    assert response.status_code == 400
    assert "detail" in response.json()


def test_it_answers_an_unknown_action_with_404(alice, api_as):
    response = api_as(alice).get(f"/actions/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json() == {"detail": "action not found"}


def test_it_requires_authentication(db):
    response = Client().post("/api/actions", data=json.dumps(HIGH_ACTION), content_type="application/json")
    assert response.status_code == 401
    assert "detail" in response.json()
    assert Client(HTTP_AUTHORIZATION="Bearer ahk_wrong").get("/api/actions/pending").status_code == 401


def test_it_answers_a_wrong_token_on_a_post_with_401_not_a_csrf_refusal(alice, db):
    client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION="Bearer ahk_wrong")
    for path in ("/api/actions", f"/api/actions/{uuid.uuid4()}/cancel"):
        response = client.post(path, data=json.dumps(HIGH_ACTION), content_type="application/json")
        assert response.status_code == 401, (path, response.content)
        assert response["WWW-Authenticate"] == "Bearer"
        assert "token" in response.json()["detail"]


def test_it_enforces_csrf_for_session_posts(alice):
    client = Client(enforce_csrf_checks=True)
    client.get("/accounts/login/")
    login = {"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": client.cookies["csrftoken"].value}
    assert client.post("/accounts/login/", login).status_code == 302
    token = client.cookies["csrftoken"].value  # rotated at login
    response = client.post("/api/actions", data=json.dumps(HIGH_ACTION), content_type="application/json")
    assert response.status_code == 403
    response = client.post(
        "/api/actions", data=json.dumps(HIGH_ACTION), content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 201


def test_it_rate_limits_posts_per_user(alice, bob, api_as, settings):
    # An hour-long window: a minute one can roll over between the four posts on a slow machine.
    settings.ACTIONHUB_RATE_LIMIT = "3/h"
    client = api_as(alice)
    codes = [client.post("/actions", HIGH_ACTION).status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    limited = client.post("/actions", HIGH_ACTION)
    assert "Retry-After" in limited.headers
    assert api_as(bob).post("/actions", HIGH_ACTION).status_code == 201


def test_it_lets_only_the_requester_reviewers_and_auditors_read_an_action(alice, bob, dave, api_as):
    action = make_action(alice)
    mallory = api_as(type(alice).objects.create_user("mallory"))
    assert mallory.get(f"/actions/{action.id}").status_code == 404
    for user in (alice, bob, dave):
        assert api_as(user).get(f"/actions/{action.id}").json()["id"] == str(action.id)


def test_it_approves_through_the_api_with_the_payload_hash(alice, bob, api_as):
    action = make_action(alice)
    response = api_as(bob).post(
        f"/actions/{action.id}/approve", {"approved": True, "payload_hash": action.payload_hash}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "approved"
    assert body["approvals"][0]["user"] == "bob"
    assert body["approvals"][0]["decision"] == "approve"


def test_it_ignores_a_user_id_in_the_decision_body(alice, bob, api_as):
    action = make_action(alice)
    response = api_as(alice).post(f"/actions/{action.id}/approve", {"approved": True, "user_id": bob.pk})
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("setup", "status", "fragment"),
    [
        ("own", 403, "you requested"),
        ("not_reviewer", 403, "only reviewers"),
        ("hash", 409, "changed"),
        ("twice", 409, "already decided"),
        ("decided", 409, "not pending"),
    ],
)
def test_it_maps_decision_conflicts_to_status_codes(alice, bob, carol, dave, api_as, setup, status, fragment):
    action = make_action(bob if setup == "own" else alice, CRITICAL_ACTION)
    decider = {"own": bob, "not_reviewer": dave}.get(setup, carol)
    body = {"approved": True}
    if setup == "hash":
        body["payload_hash"] = "f" * 64
    if setup == "twice":
        api_as(carol).post(f"/actions/{action.id}/approve", body)
    if setup == "decided":
        api_as(bob).post(f"/actions/{action.id}/approve", {"approved": False, "reason": "no"})
    response = api_as(decider).post(f"/actions/{action.id}/approve", body)
    assert response.status_code == status
    assert fragment in response.json()["detail"]


def test_it_edits_through_the_api(alice, bob, api_as):
    action = make_action(alice)
    response = api_as(bob).post(
        f"/actions/{action.id}/edit", {"parameters": {"operation": "delete", "path": "notes/older.txt"}}
    )
    assert response.status_code == 200, response.content
    assert response.json()["parameters"]["path"] == "notes/older.txt"
    assert AuditEntry.objects.filter(action_id=action.id, event="action.edited").exists()
    bad = api_as(bob).post(f"/actions/{action.id}/edit", {"parameters": "nope"})
    assert bad.status_code == 400


def test_it_pages_the_pending_queue_oldest_first(alice, bob, api_as):
    ids = [str(make_action(alice).id) for _ in range(5)]
    make_action(alice, {"action_type": "file_operation", "parameters": {"operation": "list", "path": "."}})
    client = api_as(bob)
    seen: list[str] = []
    url = "/actions/pending"
    params = {"limit": 2}
    while True:
        body = client.get(url, **params).json()
        seen += [item["id"] for item in body["results"]]
        if not body["next"]:
            break
        params = {"limit": 2, "cursor": body["next"].split("cursor=")[1]}
    assert seen == ids


def test_it_refuses_the_pending_queue_to_non_reviewers_and_bad_cursors(alice, bob, api_as):
    assert api_as(alice).get("/actions/pending").status_code == 403
    assert api_as(bob).get("/actions/pending", cursor="garbage!").status_code == 400
    assert api_as(bob).get("/actions/pending", limit=500).status_code == 400


def test_it_lists_audit_entries_for_auditors_with_filters(alice, bob, dave, api_as):
    action = make_action(alice)
    api_as(bob).post(f"/actions/{action.id}/approve", {"approved": False, "reason": "nope"})
    client = api_as(dave)
    body = client.get("/audit-logs", action=str(action.id)).json()
    assert [entry["event"] for entry in body["results"]] == ["action.rejected", "action.created"]
    assert client.get("/audit-logs", actor="bob", event="action.rejected").json()["results"][0]["actor"] == "bob"
    first = client.get("/audit-logs", limit=1).json()
    second = client.get("/audit-logs", limit=1, cursor=first["next"].split("cursor=")[1]).json()
    assert second["results"][0]["seq"] == first["results"][0]["seq"] - 1
    assert client.get("/audit-logs", since="yesterday").status_code == 400
    assert api_as(alice).get("/audit-logs").status_code == 403


def test_it_lists_and_toggles_skills_for_staff_only(alice, api_as):
    skills = api_as(alice).get("/skills").json()
    assert {"filesystem", "python"} <= {skill["id"] for skill in skills}
    assert api_as(alice).post("/skills/python/disable").status_code == 403
    staff = type(alice).objects.create_user("sam", is_staff=True)
    client = api_as(staff)
    assert client.post("/skills/python/disable").json()["enabled"] is False
    assert client.post("/skills/nope/disable").status_code == 404
    refused = api_as(alice).post(
        "/actions", {"action_type": "skill_execution", "skill_id": "python", "parameters": {"script": "print(1)"}}
    )
    assert refused.status_code == 400
    assert "disabled" in refused.json()["detail"]
    assert AuditEntry.objects.filter(event="skill.disabled", actor="sam").exists()


def test_it_holds_an_unknown_skill_as_high(alice, api_as):
    response = api_as(alice).post(
        "/actions", {"action_type": "skill_execution", "skill_id": "mystery", "parameters": {"a": 1}}
    )
    assert response.status_code == 201
    assert response.json()["security_level"] == "high"


def test_it_shows_status_to_anyone_and_internals_to_staff(alice, api_as, db):
    public = Client().get("/api/status").json()
    assert set(public) == {"status", "version"}
    assert set(api_as(alice).get("/status").json()) == {"status", "version"}
    staff = type(alice).objects.create_user("sam", is_staff=True)
    detailed = api_as(staff).get("/status").json()
    assert {"llm", "workers", "docker", "queue"} <= set(detailed)


def test_it_serves_the_openapi_document_to_logged_in_users_only(alice):
    browser = Client(HTTP_ACCEPT="text/html,application/xhtml+xml")
    assert browser.get("/api/openapi.json").status_code == 302
    assert browser.get("/api/docs").status_code == 302
    client = Client()
    client.force_login(alice)
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert "/api/actions" in response.json()["paths"]
    assert client.get("/api/docs").status_code == 200


def test_it_serves_the_openapi_document_and_docs_to_a_bearer_token(alice):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {make_token(alice)}")
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert "/api/actions" in response.json()["paths"]
    docs = client.get("/api/docs", HTTP_ACCEPT="text/html")
    assert docs.status_code == 200
    assert b"openapi.json" in docs.content


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_ACCEPT": "application/json"},
        {"HTTP_AUTHORIZATION": "Bearer not-a-token"},
        {"HTTP_AUTHORIZATION": "Bearer not-a-token", "HTTP_ACCEPT": "text/html"},
        {"HTTP_AUTHORIZATION": "Basic YWxpY2U6eA=="},
    ],
)
def test_it_answers_an_api_client_without_a_valid_token_with_a_401_not_the_login_page(alice, headers):
    response = Client(**headers).get("/api/openapi.json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert "Bearer" in response.json()["detail"]


def test_it_refuses_the_schema_to_a_revoked_token(alice):
    token = make_token(alice)
    call_command("revoke_token", "alice", stdout=io.StringIO())
    assert Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/openapi.json").status_code == 401


def test_it_keeps_a_pending_action_after_a_failed_decision(alice, bob, api_as):
    action = make_action(alice)
    api_as(bob).post(f"/actions/{action.id}/approve", {"approved": "maybe"})
    assert Action.objects.get(id=action.id).status == Status.PENDING


def test_it_labels_each_action_with_its_reversibility(alice, bob, api_as):
    held = make_action(alice, HIGH_ACTION)
    client = api_as(bob)
    assert client.get(f"/actions/{held.id}").json()["reversibility"] == {
        "value": "irreversible",
        "label": "irreversible",
        "reason": "a deleted file cannot be brought back",
    }
    listed = {item["id"]: item["reversibility"] for item in client.get("/actions/pending").json()["results"]}
    assert listed[str(held.id)]["label"] == "irreversible"
    switch = make_action(alice, {"action_type": "model_switch", "parameters": {"model": "other"}})
    assert client.get(f"/actions/{switch.id}").json()["reversibility"]["label"] == "reversible"


@pytest.mark.parametrize("port", ["+80", "80.evil", "99999", "0", "8a", "80:81"])
def test_it_refuses_a_malformed_port_with_400_naming_the_url(alice, api_as, settings, port):
    settings.ACTIONHUB_API_ALLOWLIST = ["http://127.0.0.1:80/api"]
    url = f"http://127.0.0.1:{port}/api/x"
    client = api_as(alice)
    call = client.post("/actions", {"action_type": "api_call", "parameters": {"method": "GET", "url": url}})
    assert call.status_code == 400, call.content
    assert "port must be a number from 1 to 65535" in call.json()["errors"]["url"]
    hooks = client.post(
        "/actions", {"action_type": "config_change", "parameters": {"key": "webhook_urls", "value": [url]}}
    )
    assert hooks.status_code == 400, hooks.content
    assert "port" in hooks.json()["errors"]["value"]
    assert not Action.objects.exists()


def test_it_stores_an_api_call_url_and_an_edited_one_in_normal_form(alice, bob, api_as, settings):
    settings.ACTIONHUB_API_ALLOWLIST = ["https://api.example.org/v1"]
    settings.ACTIONHUB_POLICY_OVERRIDES = {"api_call": "high"}  # held, so bob can edit it
    body = {"action_type": "api_call", "parameters": {"method": "DELETE", "url": "https://API.example.org:443/v1/./x"}}
    created = api_as(alice).post("/actions", body).json()
    assert created["parameters"]["url"] == "https://api.example.org/v1/x"
    edited = api_as(bob).post(
        f"/actions/{created['id']}/edit", {"parameters": {"method": "DELETE", "url": "https://api.example.org/v1/%79"}}
    )
    assert edited.status_code == 200, edited.content
    assert edited.json()["parameters"]["url"] == "https://api.example.org/v1/y"
    edit = AuditEntry.objects.get(event="action.edited")
    assert edit.data["diff"]["changed"]["url"]["new"] == "https://api.example.org/v1/y"


def test_it_refuses_a_webhook_url_with_a_user_and_password_without_quoting_it(alice, api_as):
    url = "https://hook:s3cret-path@hooks.example.org/services/T0"
    response = api_as(alice).post(
        "/actions", {"action_type": "config_change", "parameters": {"key": "webhook_urls", "value": [url]}}
    )
    assert response.status_code == 400
    assert "s3cret" not in response.content.decode()


@pytest.mark.parametrize("spec", [HIGH_ACTION, MEDIUM_ACTION], ids=["held", "approved by policy"])
def test_it_answers_a_submit_with_exactly_the_documented_action(alice, api_as, spec):
    body = api_as(alice).post("/actions", spec).json()
    assert set(body) == set(ActionOut.model_fields)
    # What the answer was when ninja validated it against ActionOut before rendering it:
    validated = api.renderer.render(None, ActionOut.model_validate(body).model_dump(), response_status=201)
    assert json.loads(validated) == body
