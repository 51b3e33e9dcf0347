"""Junk at every endpoint: always a 4xx with a JSON detail, never a 5xx, nothing changed."""

from __future__ import annotations

import json
import uuid

import pytest
from django.contrib.auth.models import Group

from approvals.models import Action
from audit.models import AuditEntry
from tests.factories import HIGH_ACTION, make_action

JUNK_BODIES = [
    "",
    "null",
    "[]",
    "7",
    '"text"',
    "{",
    '{"approved": "maybe"}',
    '{"parameters": []}',
    '{"action_type": null, "parameters": null}',
    '{"message": 12}',
    '{"model": ["x"]}',
    '{"wait": -1, "message": "x"}',
    '{"wait": 10000, "message": "x"}',
    '{"approved": true, "payload_hash": 5}',
    '{"approved": true, "reason": "' + "r" * 6000 + '"}',
    b"\xff\xfe\x00garbage",
]


@pytest.fixture
def endpoints(alice):
    action = make_action(alice)
    return [
        "/actions",
        f"/actions/{action.id}/approve",
        f"/actions/{action.id}/edit",
        f"/actions/{uuid.uuid4()}/approve",
        "/actions/not-a-uuid/approve",
        "/models/switch",
        "/skills/python/enable",
    ]


@pytest.mark.parametrize("body", JUNK_BODIES)
def test_it_never_answers_junk_with_a_server_error(alice, bob, api_as, endpoints, body):
    clients = (api_as(alice), api_as(bob))
    before = (Action.objects.count(), AuditEntry.objects.count())
    for client in clients:
        for path in endpoints:
            response = client.post(path, body)
            assert 400 <= response.status_code < 500, (path, body, response.status_code, response.content[:200])
            assert response.json()["detail"]
    assert (Action.objects.count(), AuditEntry.objects.count()) == before


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "abc"},
        {"limit": 0},
        {"limit": -5},
        {"cursor": "%%%"},
        {"cursor": "WyJ4Il0"},
        {"cursor": "WyIyMDI2LTEzLTQ1VDAwOjAwOjAwKzAwOjAwIiwgIngiXQ"},
        {"cursor": "WyIyMDI2LTAxLTAxVDAwOjAwOjAwIiwgIjEyMzQ1Njc4LTEyMzQtMTIzNC0xMjM0LTEyMzQ1Njc4OTAxMiJd"},
        {"since": "not-a-date"},
        {"until": "2026-13-45T00:00:00Z"},
        {"action": "nope"},
    ],
)
def test_it_never_answers_bad_query_strings_with_a_server_error(dave, bob, api_as, query):
    for client, path in ((api_as(dave), "/audit-logs"), (api_as(bob), "/actions/pending")):
        response = client.get(path, **query)
        assert 400 <= response.status_code < 500 or response.status_code == 200, (path, query, response.status_code)
        if response.status_code != 200:
            assert response.json()["detail"]


API = "http://127.0.0.1:9/api"
LONE = "<lone surrogate>"


def _json(body: object) -> str:
    """`body` as JSON text with each LONE written as the escape of a lone surrogate, which Python's
    decoder accepts and no Unicode encoder can write."""
    return json.dumps(body).replace(json.dumps(LONE), '"\\ud800"')


def _api_call(json_value: object) -> dict:
    return {"action_type": "api_call", "parameters": {"method": "POST", "url": API, "json": json_value}}


@pytest.fixture
def staff_reviewer(bob):
    bob.is_staff = True
    bob.save(update_fields=["is_staff"])
    bob.groups.add(Group.objects.get_or_create(name="rule_admins")[0])
    return bob


def _surrogate_bodies(action_id: uuid.UUID) -> list[tuple[str, object]]:
    rule = {"action_type": "file_operation", "effect": "deny"}
    return [
        ("/actions", {"action_type": "chat", "parameters": {"message": LONE}}),
        ("/actions", {"action_type": "model_switch", "parameters": {"model": LONE}}),
        ("/actions", {"action_type": "config_change", "parameters": {"key": "default_model", "value": LONE}}),
        ("/actions", {"action_type": "file_operation", "parameters": {"operation": "list", "path": LONE}}),
        ("/actions", _api_call({"nested": [1, {"deep": LONE}]})),
        ("/actions", _api_call({LONE: 1})),
        ("/actions", {"action_type": "skill_execution", "skill_id": "python", "parameters": {"script": LONE}}),
        ("/actions", {"action_type": LONE, "parameters": {}}),
        (f"/actions/{action_id}/approve", {"approved": False, "reason": LONE}),
        (f"/actions/{action_id}/edit", {"parameters": {"operation": "delete", "path": LONE}}),
        ("/actions/decide", {"decisions": [{"id": str(action_id), "approved": False, "reason": LONE}]}),
        ("/chat", {"message": LONE, "wait": 0}),
        ("/models/switch", {"model": LONE}),
        ("/rules", {**rule, "note": LONE, "matchers": [{"parameter": "path", "kind": "exact", "value": "a.txt"}]}),
        ("/rules", {**rule, "matchers": [{"parameter": "path", "kind": "exact", "value": LONE}]}),
    ]


def test_it_refuses_a_lone_surrogate_in_any_string_of_any_body(alice, staff_reviewer, api_as, settings):
    settings.ACTIONHUB_API_ALLOWLIST = [API]
    action = make_action(alice)
    client = api_as(staff_reviewer)
    for path, body in _surrogate_bodies(action.id):
        before = (Action.objects.count(), AuditEntry.objects.count())
        response = client.post(path, _json(body))
        assert response.status_code == 400, (path, body, response.status_code, response.content[:300])
        assert "\\ud800 is a lone surrogate" in response.json()["detail"], (path, response.json())
        assert (Action.objects.count(), AuditEntry.objects.count()) == before, path
    assert Action.objects.get(id=action.id).parameters == HIGH_ACTION["parameters"]


def test_it_names_where_the_lone_surrogate_is(alice, api_as):
    response = api_as(alice).post("/actions", '{"action_type": "chat", "parameters": {"message": "a\\udc00b"}}')
    assert response.status_code == 400
    assert response.json() == {
        "detail": "request body is not valid JSON: parameters.message: \\udc00 is a lone surrogate, not a character; "
        "send valid Unicode text"
    }


def test_it_accepts_a_surrogate_pair_that_makes_one_character(alice, api_as):
    response = api_as(alice).post("/actions", '{"action_type": "chat", "parameters": {"message": "\\ud83d\\ude00"}}')
    assert response.status_code == 201, response.content
    assert response.json()["parameters"]["message"] == "\U0001f600"


@pytest.mark.parametrize(
    ("json_text", "fragment"),
    [
        ("NaN", "NaN is not a JSON number"),
        ("Infinity", "Infinity is not a JSON number"),
        ("-Infinity", "-Infinity is not a JSON number"),
        ('{"limit": [1, NaN]}', "NaN is not a JSON number"),
        ("1e999", "the number 1e999 is too large"),
        ("-1e999", "the number -1e999 is too large"),
    ],
)
def test_it_refuses_numbers_that_json_has_not(alice, api_as, settings, json_text, fragment):
    settings.ACTIONHUB_API_ALLOWLIST = [API]
    body = json.dumps(_api_call("JSON")).replace('"JSON"', json_text)
    response = api_as(alice).post("/actions", body)
    assert response.status_code == 400, response.content
    assert fragment in response.json()["detail"]
    assert not Action.objects.exists()


def test_it_refuses_non_finite_numbers_in_any_parameter(alice, bob, api_as):
    action = make_action(alice)
    for path, body in [
        ("/actions", '{"action_type": "config_change", "parameters": {"key": "quorum_critical", "value": NaN}}'),
        (f"/actions/{action.id}/edit", '{"parameters": {"operation": "delete", "path": "x.txt", "n": Infinity}}'),
    ]:
        response = api_as(bob).post(path, body)
        assert response.status_code == 400, (path, response.content)
        assert "is not a JSON number" in response.json()["detail"]
    assert Action.objects.get(id=action.id).parameters == HIGH_ACTION["parameters"]


@pytest.mark.parametrize("value", ["99999999999999999999d", "1" * 400, 10**30, "9" * 20 + ".5h"])
def test_it_bounds_durations_and_says_the_allowed_range(alice, api_as, value):
    body = {"action_type": "config_change", "parameters": {"key": "expiry_high", "value": value}}
    response = api_as(alice).post("/actions", body)
    assert response.status_code == 400, response.content
    assert response.json()["errors"] == {
        "value": "must be a duration between 1 minute and 30 days, such as 90s, 15m, 24h or 7d, or a number of seconds"
    }
    assert not Action.objects.exists()


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59.999999-00:01",
    ],
)
@pytest.mark.parametrize("name", ["since", "until"])
def test_it_answers_audit_times_out_of_range_with_400(dave, api_as, name, value):
    response = api_as(dave).get("/audit-logs", **{name: value})
    assert response.status_code == 400, response.content
    assert response.json() == {"detail": f"{name} is out of range: use a date-time between year 1 and 9999 in UTC"}


def test_it_still_reads_the_audit_up_to_the_last_day_there_is(dave, api_as):
    response = api_as(dave).get("/audit-logs", until="9999-12-31T23:59:59Z")
    assert response.status_code == 200
    assert response.json()["results"]
