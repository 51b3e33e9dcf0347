"""GET/POST /api/rules and POST /api/rules/{id}/disable: roles, bad input, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals.models import Status
from audit.models import AuditEntry
from rules.models import Rule
from tests.factories import HIGH_ACTION, make_action, make_user

GOOD = {
    "action_type": "file_operation",
    "matchers": [{"parameter": "path", "kind": "glob", "value": "notes/*.txt"}],
    "effect": "allow",
    "note": "routine",
}


@pytest.fixture
def erin(db):
    """A reviewer who may also write rules (allow rules need both)."""
    return make_user("erin", "rule_admins", "reviewers")


def in_days(days: float) -> str:
    return (timezone.now() + timedelta(days=days)).isoformat()


def test_it_creates_a_rule_that_then_decides_and_lists_it(api_as, alice, erin):
    response = api_as(erin).post("/rules", GOOD)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "active" and body["created_by"] == "erin" and body["hit_count"] == 0
    expires = timezone.datetime.fromisoformat(body["expires_at"])
    assert timedelta(days=6, hours=23) < expires - timezone.now() <= timedelta(days=7)  # the default
    created = AuditEntry.objects.get(event="rule.created")
    assert (
        created.actor == "erin"
        and created.data["rule_id"] == body["id"]
        and created.data["matchers"] == GOOD["matchers"]
    )

    submitted = api_as(alice).post("/actions", HIGH_ACTION).json()
    assert submitted["status"] == Status.APPROVED

    listed = api_as(erin).get("/rules").json()
    assert [rule["id"] for rule in listed["results"]] == [body["id"]]
    assert listed["results"][0]["hit_count"] == 1 and listed["results"][0]["last_hit_at"]


def test_it_pages_the_rule_list_by_cursor(api_as, erin):
    client = api_as(erin)
    ids = [client.post("/rules", {**GOOD, "note": str(n)}).json()["id"] for n in range(5)]
    first = client.get("/rules", limit=2).json()
    assert [rule["id"] for rule in first["results"]] == ids[::-1][:2]
    second = client.get("/rules", limit=2, cursor=first["next"].split("cursor=")[1]).json()
    assert [rule["id"] for rule in second["results"]] == ids[::-1][2:4]
    assert client.get("/rules", cursor="junk").status_code == 400


def test_it_disables_a_rule_once(api_as, alice, erin):
    rule_id = api_as(erin).post("/rules", GOOD).json()["id"]
    response = api_as(erin).post(f"/rules/{rule_id}/disable")
    assert response.status_code == 200
    assert response.json()["state"] == "disabled" and response.json()["disabled_by"] == "erin"
    again = api_as(erin).post(f"/rules/{rule_id}/disable")
    assert again.status_code == 409 and "already disabled" in again.json()["detail"]
    assert api_as(erin).post("/rules/999999/disable").status_code == 404
    assert api_as(alice).post("/actions", HIGH_ACTION).json()["status"] == Status.PENDING
    assert AuditEntry.objects.filter(event="rule.disabled").count() == 1


def test_it_refuses_writes_to_users_outside_rule_admins(api_as, alice, bob, dave, erin):
    rule_id = api_as(erin).post("/rules", GOOD).json()["id"]
    for user in (alice, bob, dave):
        created = api_as(user).post("/rules", GOOD)
        assert created.status_code == 403 and "rule admins" in created.json()["detail"]
        assert api_as(user).post(f"/rules/{rule_id}/disable").status_code == 403
    assert Rule.objects.count() == 1 and Rule.objects.get().disabled_at is None
    assert api_as(alice).get("/rules").status_code == 403  # a plain requester may not read them
    assert api_as(bob).get("/rules").status_code == 200 and api_as(dave).get("/rules").status_code == 200
    staff = make_user("sam", is_staff=True)
    assert api_as(staff).post("/rules", {**GOOD, "effect": "deny"}).status_code == 201
    assert api_as(staff).post("/rules", GOOD).status_code == 403  # staff, but not a reviewer: deny rules only


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"matchers": []}, "at least one matcher"),
        ({"matchers": [{"parameter": "operation", "kind": "glob", "value": "d*"}]}, "only fits a path"),
        (
            {"matchers": [{"parameter": "path", "kind": "url_prefix", "value": "https://a"}]},
            "only fits an api_call url",
        ),
        ({"matchers": [{"parameter": "owner", "kind": "exact", "value": "x"}]}, "unknown parameter 'owner'"),
        ({"matchers": [{"parameter": "operation", "kind": "exact", "value": 3}]}, "not a valid value"),
        (
            {
                "matchers": [
                    {"parameter": "path", "kind": "exact", "value": "a"},
                    {"parameter": "path", "kind": "exact", "value": "b"},
                ]
            },
            "one matcher per parameter",
        ),
        ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at: must be in the future"),
        ({"expires_at": in_days(91)}, "expires_at: must be at most 90 days"),
        ({"expires_at": "2099-01-01T00:00:00"}, "time zone"),
        ({"expires_at": "next week"}, "expires_at"),
        ({"effect": "maybe"}, "effect: must be allow or deny"),
        ({"action_type": "teleport"}, "unknown action type"),
        ({"action_type": "skill_execution"}, "names its skill"),
        ({"skill_id": "python"}, "only skill_execution rules name a skill"),
        ({"matchers": "path"}, "matchers"),
        ({"matchers": [{"parameter": "path", "kind": "exact"}]}, "value"),
        ({"note": "x" * 2001}, "note"),
    ],
)
def test_it_answers_bad_rules_with_400_and_the_reason_and_saves_nothing(api_as, erin, change, reason):
    client = api_as(erin)
    before = AuditEntry.objects.count()
    response = client.post("/rules", {**GOOD, **change})
    assert response.status_code == 400, response.content
    assert reason in response.json()["detail"]
    assert Rule.objects.count() == 0
    assert AuditEntry.objects.count() == before


def test_it_accepts_an_expiry_of_exactly_90_days_less_a_moment(api_as, erin):
    response = api_as(erin).post("/rules", {**GOOD, "expires_at": in_days(89.99)})
    assert response.status_code == 201


def test_it_records_a_rule_hit_that_rejects_an_action_through_the_api(api_as, alice, erin):
    rule = api_as(erin).post("/rules", {**GOOD, "effect": "deny", "note": "notes are read-only"}).json()
    action = make_action(alice, HIGH_ACTION)
    body = api_as(alice).get(f"/actions/{action.id}").json()
    assert body["status"] == Status.REJECTED
    assert body["approvals"][0]["decision"] == "reject"
    assert body["approvals"][0]["user"] == f"rule:{rule['id']}"
    assert body["approvals"][0]["reason"] == "notes are read-only"


@pytest.mark.parametrize("kind", ["url_prefix", "exact"])
@pytest.mark.parametrize("port", ["+443", "443.evil", "70000"])
def test_it_refuses_a_url_matcher_with_a_malformed_port_with_400(api_as, erin, kind, port):
    body = {
        "action_type": "api_call",
        "effect": "deny",
        "matchers": [{"parameter": "url", "kind": kind, "value": f"https://api.example.org:{port}/v1"}],
    }
    response = api_as(erin).post("/rules", body)
    assert response.status_code == 400, response.content
    assert "port must be a number from 1 to 65535" in response.json()["detail"]
    assert not Rule.objects.exists()
