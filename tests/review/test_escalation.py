"""Escalation: a held action nobody decides is announced once to the escalation group; expiry stays its own state."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client

from approvals.models import Action, Status
from approvals.services import actions_expire_due
from audit.models import AuditEntry
from review.escalation import actions_escalate_due
from tests.factories import make_action, make_user
from tests.notifications.test_delivery import FlakyBackend, run_notification_tasks
from tests.workers import start_worker, stop, wait_for
from worker.maintenance import run_maintenance

pytestmark = pytest.mark.django_db(transaction=True)

DELETE = {"action_type": "file_operation", "parameters": {"operation": "delete", "path": "notes/old.txt"}}


@pytest.fixture
def erin(db):
    """A reviewer in the escalation group (created by a migration)."""
    return make_user("erin", "reviewers", "escalation", email="erin@example.org")


def escalations(action_id) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action_id=action_id, event="action.escalated"))


def escalation_mails(action_id) -> list[dict]:
    entries = AuditEntry.objects.filter(action_id=action_id, event="notification.sent").order_by("seq")
    return [entry.data for entry in entries if entry.data["channel"] == "escalation"]


def test_it_escalates_after_half_the_expiry_window_once_and_audits_it(alice, bob, erin):
    bob.email = "bob@example.org"
    bob.save()
    action = make_action(alice, DELETE)
    assert action.escalate_at == action.created_at + (action.expires_at - action.created_at) / 2

    assert actions_escalate_due(now=action.escalate_at - timedelta(seconds=1)) == 0
    assert actions_escalate_due(now=action.escalate_at) == 1
    assert actions_escalate_due(now=action.escalate_at + timedelta(minutes=5)) == 0
    assert run_maintenance()["escalated"] == 0

    (entry,) = escalations(action.id)
    assert entry.actor == "system"
    assert entry.data["group"] == "escalation" and entry.data["waited_seconds"] == 12 * 3600
    assert Action.objects.get(id=action.id).status == Status.PENDING  # escalation never decides

    mail.outbox.clear()
    run_notification_tasks()
    escalated = [message for message in mail.outbox if message.subject.startswith("[ActionHub] Escalated:")]
    assert [message.to for message in escalated] == [["erin@example.org"]]
    assert "nobody has decided this action in 12h 0m" in escalated[0].body
    assert f"/approvals/{action.id}/" in escalated[0].body
    assert escalation_mails(action.id) == [{"channel": "escalation", "target": "erin", "attempt": 1}]


def test_it_emails_each_escalation_member_in_a_delivery_of_their_own(alice, erin, settings):
    settings.ACTIONHUB_NOTIFY_BACKOFF = timedelta(seconds=0.05)
    make_user("frank", "escalation", email="frank@example.org")
    settings.EMAIL_BACKEND = "tests.notifications.test_delivery.FlakyBackend"
    FlakyBackend.refuse = {"frank@example.org": 1}
    action = make_action(alice, DELETE)
    assert actions_escalate_due(now=action.escalate_at) == 1
    mail.outbox.clear()
    run_notification_tasks()

    escalated = [message for message in mail.outbox if message.subject.startswith("[ActionHub] Escalated:")]
    assert sorted(message.to[0] for message in escalated) == ["erin@example.org", "frank@example.org"]
    assert all(len(message.to) == 1 for message in escalated)
    entries = AuditEntry.objects.filter(action_id=action.id, event__startswith="notification.").order_by("seq")
    escalation_entries = [
        (e.event, e.data["target"], e.data["attempt"]) for e in entries if e.data["channel"] == "escalation"
    ]
    assert sorted(escalation_entries) == [
        ("notification.failed", "frank", 1),
        ("notification.sent", "erin", 1),
        ("notification.sent", "frank", 2),
    ]


def test_it_lets_the_escalation_group_decide_a_routed_action_once_escalated(settings, alice, erin, api_as):
    settings.ACTIONHUB_ROUTING = {"file_operation": ["ops"]}
    action = make_action(alice, DELETE)
    client = api_as(erin)
    assert client.post(f"/actions/{action.id}/approve", {"approved": True}).status_code == 403

    assert actions_escalate_due(now=action.escalate_at) == 1

    assert escalations(action.id)[0].data["assigned_groups"] == ["ops"]
    assert client.get(f"/actions/{action.id}").json()["assigned_groups"] == ["escalation", "ops"]
    page = Client()
    page.force_login(erin)
    assert "escalated" in page.get("/approvals/").content.decode()
    assert client.post(f"/actions/{action.id}/approve", {"approved": True}).json()["status"] == "approved"


def test_it_escalates_once_with_two_workers_running_maintenance(settings, alice, erin):
    settings.ACTIONHUB_ESCALATE_AFTER = timedelta(seconds=1)
    action = make_action(alice, DELETE)
    assert action.escalate_at == action.created_at + timedelta(seconds=1)
    email = "django.core.mail.backends.locmem.EmailBackend"
    workers = [start_worker(DJANGO_EMAIL_BACKEND=email), start_worker(DJANGO_EMAIL_BACKEND=email)]
    try:
        wait_for(lambda: escalation_mails(action.id))
        time.sleep(1.5)  # several more maintenance ticks of both workers (every 0.2 s)
    finally:
        logs = [stop(worker) for worker in workers]
    assert len(escalations(action.id)) == 1, logs
    assert len(escalation_mails(action.id)) == 1
    assert Action.objects.get(id=action.id).escalated_at is not None


def test_it_never_escalates_an_expired_or_decided_action(settings, alice, bob, erin):
    expired = make_action(alice, DELETE)
    decided = make_action(alice, DELETE)
    Action.objects.filter(id=decided.id).update(escalate_at=decided.created_at)
    api = Client()
    api.force_login(bob)
    api.post(
        f"/approvals/{decided.id}/decide/",
        {"decision": "approve", "payload_hash": decided.payload_hash, "confirm": "on"},
    )
    assert Action.objects.get(id=decided.id).status == Status.APPROVED

    assert actions_expire_due(now=expired.expires_at) == 1
    assert actions_escalate_due(now=expired.expires_at + timedelta(hours=1)) == 0
    assert escalations(expired.id) == [] and escalations(decided.id) == []

    # an expired action reads as expired everywhere, never as approved or rejected
    page = Client()
    page.force_login(alice)
    html = page.get(f"/approvals/{expired.id}/").content.decode()
    assert "Expired: nobody decided in time, so it will not run." in html
    assert "Approved" not in html and "Rejected" not in html


def test_it_never_escalates_when_the_wait_is_not_shorter_than_the_expiry(settings, alice, erin):
    settings.ACTIONHUB_ESCALATE_AFTER = timedelta(days=2)
    action = make_action(alice, DELETE)
    assert action.escalate_at is None
    assert actions_escalate_due(now=action.expires_at - timedelta(seconds=1)) == 0
