"""Junk at every endpoint: always a 4xx with a JSON detail, never a 5xx, nothing changed."""

from __future__ import annotations

import uuid

import pytest

from approvals.models import Action
from audit.models import AuditEntry
from tests.factories import make_action

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
