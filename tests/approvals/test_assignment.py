"""Routing: a held action is seen, decided and announced only by reviewers of its groups (and superusers)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.test import Client

from approvals.models import Action, RoutingRule, Status
from notifications.services import reviewer_recipients
from tests.factories import MEDIUM_ACTION, make_action, make_user
from tests.notifications.test_delivery import run_notification_tasks

DELETE = {"action_type": "file_operation", "parameters": {"operation": "delete", "path": "notes/old.txt"}}
PYTHON = {"action_type": "skill_execution", "skill_id": "python", "parameters": {"script": "print(1)"}}
CONFIG = {"action_type": "config_change", "parameters": {"key": "quorum_critical", "value": 2}}


@pytest.fixture
def routed(settings, db):
    """file_operation goes to `ops`; carol is a reviewer in ops, bob a reviewer outside it."""
    settings.ACTIONHUB_ROUTING = {"file_operation": ["ops"]}


@pytest.fixture
def carol(db):
    return make_user("carol", "reviewers", "ops")


def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


pytestmark = pytest.mark.django_db


def test_it_stores_the_groups_when_the_action_is_held(routed, alice, carol):
    action = make_action(alice, DELETE)
    assert list(action.assigned_groups.values_list("name", flat=True)) == ["ops"]
    assert list(make_action(alice, CONFIG).assigned_groups.all()) == []  # not routed: every reviewer
    assert list(make_action(alice, MEDIUM_ACTION).assigned_groups.all()) == []  # not held


def test_it_prefers_an_admin_rule_for_the_skill_then_for_the_type_then_the_settings(settings, alice, db):
    settings.ACTIONHUB_ROUTING = {"skill_execution": ["from-settings"], "skill_execution:python": ["py-settings"]}
    assert make_action(alice, PYTHON).assigned_groups.get().name == "py-settings"
    type_rule = RoutingRule.objects.create(action_type="skill_execution")
    type_rule.groups.add(Group.objects.create(name="skills"))
    assert make_action(alice, PYTHON).assigned_groups.get().name == "skills"
    skill_rule = RoutingRule.objects.create(action_type="skill_execution", skill_id="python")
    skill_rule.groups.add(Group.objects.create(name="python-reviewers"), Group.objects.get(name="skills"))
    assert sorted(make_action(alice, PYTHON).assigned_groups.values_list("name", flat=True)) == [
        "python-reviewers",
        "skills",
    ]


def test_it_keeps_the_groups_of_a_waiting_action_when_the_routing_changes(routed, settings, alice, bob, carol, api_as):
    action = make_action(alice, DELETE)
    settings.ACTIONHUB_ROUTING = {}
    rule = RoutingRule.objects.create(action_type="file_operation")
    rule.groups.add(Group.objects.get(name="reviewers"))
    assert api_as(bob).get(f"/actions/{action.id}").status_code == 404
    assert api_as(carol).get(f"/actions/{action.id}").json()["assigned_groups"] == ["ops"]


def test_it_hides_and_refuses_an_assigned_action_to_an_unassigned_reviewer_in_the_api(
    routed, alice, bob, carol, api_as
):
    action = make_action(alice, DELETE)
    everyone = make_action(alice, CONFIG)
    bob_api, carol_api = api_as(bob), api_as(carol)

    assert [item["id"] for item in bob_api.get("/actions/pending").json()["results"]] == [str(everyone.id)]
    assert bob_api.get(f"/actions/{action.id}").status_code == 404
    for path, body in (
        (f"/actions/{action.id}/approve", {"approved": True}),
        (f"/actions/{action.id}/approve", {"approved": False, "reason": "no"}),
        (f"/actions/{action.id}/edit", {"parameters": {"operation": "delete", "path": "x.txt"}}),
    ):
        response = bob_api.post(path, body)
        assert (response.status_code, response.json()) == (403, {"detail": "not assigned to you"}), path
    response = bob_api.post("/actions/decide", {"decisions": [{"id": str(action.id), "approved": True}]})
    assert response.json()["results"][0] | {"id": ""} == {
        "id": "",
        "status": "refused",
        "detail": "not assigned to you",
        "code": "not_assigned",
    }
    assert Action.objects.get(id=action.id).status == Status.PENDING

    listed = carol_api.get("/actions/pending").json()["results"]
    assert {item["id"]: item["assigned_groups"] for item in listed} == {str(action.id): ["ops"], str(everyone.id): []}
    assert [item["id"] for item in carol_api.get("/actions/pending", assigned="me").json()["results"]] == [
        str(action.id)
    ]
    assert carol_api.get("/actions/pending", assigned="everyone").status_code == 400
    assert carol_api.post(f"/actions/{action.id}/approve", {"approved": True}).json()["status"] == "approved"


def test_it_lets_the_requester_auditors_and_superusers_see_an_assigned_action(routed, alice, dave, api_as):
    action = make_action(alice, DELETE)
    root = make_user("root", is_superuser=True)
    assert api_as(alice).get(f"/actions/{action.id}").status_code == 200
    assert api_as(dave).get(f"/actions/{action.id}").status_code == 200
    assert [item["id"] for item in api_as(root).get("/actions/pending").json()["results"]] == [str(action.id)]
    page = page_client(alice).get(f"/approvals/{action.id}/").content.decode()
    assert "You requested this action; a reviewer decides whether it runs" in page and "members of ops" in page


def test_it_hides_and_refuses_an_assigned_action_on_the_pages(routed, alice, bob, carol):
    action = make_action(alice, DELETE)
    everyone = make_action(alice, CONFIG)
    bob_page, carol_page = page_client(bob), page_client(carol)

    queue = bob_page.get("/approvals/").content.decode()
    assert f"action-{action.id}" not in queue and f"action-{everyone.id}" in queue
    assert "0 high" in queue and "1 critical" in queue
    assert bob_page.get(f"/approvals/{action.id}/").status_code == 404
    refused = bob_page.post(
        f"/approvals/{action.id}/decide/", {"decision": "approve", "payload_hash": action.payload_hash}
    )
    assert refused.status_code == 404
    assert Action.objects.get(id=action.id).status == Status.PENDING

    queue = carol_page.get("/approvals/").content.decode()
    assert f"action-{action.id}" in queue and "→ ops" in queue and "1 high" in queue
    mine = carol_page.get("/approvals/?assigned=me").content.decode()
    assert f"action-{action.id}" in mine and f"action-{everyone.id}" not in mine
    assert "members of ops" in carol_page.get(f"/approvals/{action.id}/").content.decode()


def test_it_tells_an_unassigned_reviewer_who_may_still_read_it_why_they_cannot_decide(routed, alice):
    action = make_action(alice, DELETE)
    auditing_reviewer = make_user("erin", "reviewers", "auditors")
    page = page_client(auditing_reviewer).get(f"/approvals/{action.id}/").content.decode()
    assert "This action is assigned to ops; you are not in those groups." in page
    assert 'name="decision" value="approve"' not in page


@pytest.mark.django_db(transaction=True)
def test_it_emails_only_the_reviewers_of_the_assigned_groups(routed, alice, bob, carol, dave, settings):
    for user in (alice, bob, carol, dave):
        user.email = f"{user.username}@example.org"
        user.save()
    make_user("root", email="root@example.org", is_superuser=True)
    make_user("opsonly", "ops", email="opsonly@example.org")  # in ops but not a reviewer
    action = make_action(alice, DELETE)
    assert reviewer_recipients(action) == [("carol", "carol@example.org"), ("root", "root@example.org")]
    assert [name for name, _ in reviewer_recipients(make_action(alice, CONFIG))] == ["bob", "carol", "root"]

    mail.outbox.clear()
    run_notification_tasks()
    recipients: dict[str, list[str]] = {}
    for message in mail.outbox:  # one message per reviewer
        recipients.setdefault(message.subject.split()[1], []).extend(message.to)
    assert {level: sorted(to) for level, to in recipients.items()} == {
        "HIGH": ["carol@example.org", "root@example.org"],
        "CRITICAL": ["bob@example.org", "carol@example.org", "root@example.org"],
    }


def test_it_lets_an_administrator_edit_routing_rules_in_the_admin(alice, db):
    root = make_user("root", is_superuser=True, is_staff=True)
    ops = Group.objects.create(name="ops")
    admin = page_client(root)
    assert admin.get("/admin/approvals/routingrule/").status_code == 200
    response = admin.post(
        "/admin/approvals/routingrule/add/",
        {"action_type": "file_operation", "skill_id": "", "groups": [ops.id], "note": "ops deletes files"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert make_action(alice, DELETE).assigned_groups.get() == ops
    action = Action.objects.get(status=Status.PENDING)
    assert "ops" in admin.get(f"/admin/approvals/action/{action.id}/change/").content.decode()
