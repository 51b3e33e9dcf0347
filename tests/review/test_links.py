"""One-tap links from notifications: a GET only shows the action, a POST from that page decides once,
for the reviewer the link was sent to and the version it was signed for."""

from __future__ import annotations

import html
import io
import logging
import re
import threading
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.utils import timezone

from approvals.exceptions import ActionError
from approvals.models import Action, Approval, Status
from approvals.services import action_decide, action_edit
from audit.models import AuditEntry
from audit.verify import verify_chain
from notifications.services import EMAIL, WEBHOOK, notification_deliver
from review.links import decision_links, link_decide, link_load
from review.log_filters import RedactLinkTokens
from review.models import LinkUse
from tests.factories import CRITICAL_ACTION, HIGH_ACTION, make_action

WRITE = {
    "action_type": "file_operation",
    "parameters": {"operation": "write", "path": "notes/plan.md", "content": "x" * 5_000 + " the end"},
}


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def path_of(url: str) -> str:
    return urlsplit(url).path


def links_for(action: Action, user, channel: str = EMAIL) -> dict[str, str]:
    return {
        decision: path_of(url)
        for decision, url in decision_links(action=action, channel=channel, user_id=user.pk if user else None).items()
    }


def nothing_decided(action: Action) -> bool:
    action.refresh_from_db()
    return action.status == Status.PENDING and not Approval.objects.filter(action=action).exists()


def test_it_emails_each_reviewer_links_that_work_only_for_them(alice, bob, carol, settings):
    settings.ACTIONHUB_BASE_URL = "https://actionhub.example.org"
    for user in (bob, carol):
        user.email = f"{user.username}@example.org"
        user.save()
    action = make_action(alice, HIGH_ACTION)
    for user in (bob, carol):
        assert notification_deliver(action_id=action.id, channel=EMAIL, target=user.username, attempt=1) == "sent"

    found = {}
    for message in mail.outbox:
        (address,) = message.to
        urls = re.findall(r"^(?:Approve|Reject): +(\S+)$", message.body, re.M)
        assert len(urls) == 2 and all(url.startswith("https://actionhub.example.org/approvals/link/") for url in urls)
        found[address] = [path_of(url) for url in urls]
    assert sorted(found) == ["bob@example.org", "carol@example.org"]

    bobs_approve = found["bob@example.org"][0]
    refused = logged_in(carol).get(bobs_approve)
    assert refused.status_code == 403
    assert "This link is not for you" in refused.content.decode()
    assert logged_in(bob).get(bobs_approve).status_code == 200
    assert nothing_decided(action)


def test_it_shows_the_whole_action_on_get_and_decides_nothing(alice, bob):
    action = make_action(alice, WRITE)
    page = logged_in(bob).get(links_for(action, bob)["approve"])

    assert page.status_code == 200
    text = html.unescape(page.content.decode())
    assert "x" * 5_000 + " the end" in text  # never cut
    assert "Approve this action?" in text
    assert action.payload_hash in text
    assert "partly reversible" in text
    assert "file write changes data" in text
    assert nothing_decided(action)
    assert not LinkUse.objects.exists()


def test_it_sends_a_logged_out_reviewer_to_log_in_and_back(alice, bob):
    action = make_action(alice, HIGH_ACTION)
    link = links_for(action, bob)["approve"]
    response = Client().get(link)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/approvals/link/")
    assert nothing_decided(action)


def test_it_decides_on_the_post_from_its_page_once_and_audits_the_link(alice, bob):
    action = make_action(alice, HIGH_ACTION)
    link = links_for(action, bob)["approve"]
    client = logged_in(bob)

    response = client.post(link, {"reason": "looks right"})

    assert response.status_code == 302
    assert response["Location"] == f"/approvals/{action.id}/"
    action.refresh_from_db()
    assert action.status == Status.APPROVED
    approved = AuditEntry.objects.get(action_id=action.id, event="action.approved")
    assert approved.actor == "bob"
    assert approved.data["reason"] == "looks right"
    assert approved.data["payload_hash"] == action.payload_hash
    assert approved.data["via_link"]["channel"] == "email"
    assert approved.data["via_link"]["bound_to"] == "recipient"
    use = LinkUse.objects.get()
    assert (use.user, use.decision, use.action_id) == (bob, "approve", action.id)

    for again in (client.get(link), client.post(link, {"reason": "again"})):
        assert again.status_code == 409
        assert "This link was already used" in again.content.decode()
    assert Approval.objects.filter(action=action, user=bob).count() == 1


def test_it_spends_both_links_of_a_message_with_one_use(alice, bob, carol):
    action = make_action(alice, CRITICAL_ACTION)
    links = links_for(action, bob)
    client = logged_in(bob)
    assert client.post(links["approve"]).status_code == 302
    assert client.get(links["reject"]).status_code == 409
    action.refresh_from_db()
    assert action.status == Status.PENDING  # one of two approvals


def test_it_needs_a_reason_to_reject_and_then_rejects(alice, bob):
    action = make_action(alice, HIGH_ACTION)
    link = links_for(action, bob)["reject"]
    client = logged_in(bob)

    missing = client.post(link, {"reason": "  "})
    assert missing.status_code == 400
    assert "say why you reject it" in missing.content.decode()
    assert nothing_decided(action)
    assert not LinkUse.objects.exists()

    assert client.post(link, {"reason": "wrong file"}).status_code == 302
    action.refresh_from_db()
    assert action.status == Status.REJECTED
    assert AuditEntry.objects.get(action_id=action.id, event="action.rejected").data["via_link"]["nonce"]


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_refuses_a_tampered_link(alice, bob, method):
    action = make_action(alice, HIGH_ACTION)
    link = links_for(action, bob)["approve"]
    token = link.split("/")[-2]
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for path in (f"/approvals/link/{forged}/", f"/approvals/link/{token[:20]}/", "/approvals/link/not-a-token/"):
        response = getattr(logged_in(bob), method)(path)
        assert response.status_code == 400
        assert "This link is not valid" in response.content.decode()
    assert nothing_decided(action)


def test_it_refuses_a_link_past_its_max_age(alice, bob, settings):
    action = make_action(alice, HIGH_ACTION)
    link = links_for(action, bob)["approve"]
    settings.ACTIONHUB_LINK_MAX_AGE = timedelta(seconds=-1)
    for response in (logged_in(bob).get(link), logged_in(bob).post(link)):
        assert response.status_code == 400
        assert "This link has expired" in response.content.decode()
    assert nothing_decided(action)


def test_it_refuses_a_link_to_an_action_that_changed(alice, bob, carol):
    action = make_action(alice, HIGH_ACTION)
    link = links_for(action, bob)["approve"]
    action_edit(action_id=action.id, user=carol, parameters={"operation": "delete", "path": "notes/other.txt"})
    for response in (logged_in(bob).get(link), logged_in(bob).post(link)):
        assert response.status_code == 409
        assert "This action changed" in response.content.decode()
    assert nothing_decided(action)


def test_it_refuses_a_link_to_an_action_someone_decided(alice, bob, carol):
    action = make_action(alice, HIGH_ACTION)
    link = links_for(action, bob)["approve"]
    action_decide(action_id=action.id, user=carol, approved=False, reason="no")
    response = logged_in(bob).post(link)
    assert response.status_code == 409
    assert "This action was already decided" in response.content.decode()
    assert not Approval.objects.filter(action=action, user=bob).exists()
    assert not LinkUse.objects.exists()


def test_it_refuses_a_link_to_an_expired_action(alice, bob):
    action = make_action(alice, HIGH_ACTION)
    link = links_for(action, bob)["approve"]
    Action.objects.filter(id=action.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    for response in (logged_in(bob).get(link), logged_in(bob).post(link)):
        assert response.status_code == 409
        assert "This action expired" in response.content.decode()
    assert not Approval.objects.filter(action=action).exists()


def test_it_lets_each_reviewer_use_a_shared_channel_link_once(alice, bob, carol, dave):
    action = make_action(alice, CRITICAL_ACTION)
    link = links_for(action, None, channel=WEBHOOK)["approve"]

    assert logged_in(alice).get(link).status_code == 403  # the requester
    assert logged_in(dave).get(link).status_code == 403  # not a reviewer
    assert logged_in(bob).post(link).status_code == 302
    assert logged_in(bob).post(link).status_code == 409
    assert logged_in(carol).post(link).status_code == 302
    action.refresh_from_db()
    assert action.status == Status.APPROVED
    entries = AuditEntry.objects.filter(action_id=action.id, event__in=["action.approval_added", "action.approved"])
    assert [entry.data["via_link"]["bound_to"] for entry in entries.order_by("seq")] == ["any reviewer"] * 2


def test_it_records_a_link_use_only_once_per_reviewer_in_the_database(alice, bob):
    action = make_action(alice, HIGH_ACTION)
    fields = {"nonce": "n1", "action": action, "user": bob, "decision": "approve", "channel": "email"}
    LinkUse.objects.create(**fields, used_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        LinkUse.objects.create(**fields, used_at=timezone.now())


def test_it_never_decides_for_a_reviewer_removed_since_the_email(alice, bob):
    action = make_action(alice, HIGH_ACTION)
    link = links_for(action, bob)["approve"]
    bob.groups.clear()
    bob = type(bob).objects.get(pk=bob.pk)
    assert logged_in(bob).post(link).status_code == 403
    assert nothing_decided(action)


@pytest.mark.django_db(transaction=True)
def test_it_decides_once_when_one_link_is_posted_many_times_at_once(alice, bob):
    """The same confirmation posted from several tabs at once: one decision, one link use, the rest 409."""
    action = make_action(alice, CRITICAL_ACTION)
    link = load_link(links_for(action, bob)["approve"])
    barrier = threading.Barrier(8)
    results: list[object] = [None] * 8

    def post(index: int) -> None:
        barrier.wait()
        try:
            results[index] = link_decide(link=link, user=bob)
        except ActionError as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    refused = [result for result in results if isinstance(result, ActionError)]
    assert len(refused) == 7 and {error.status_code for error in refused} == {409}
    assert LinkUse.objects.filter(user=bob).count() == 1
    assert Approval.objects.filter(action=action, user=bob).count() == 1
    assert verify_chain().ok


def load_link(path: str):
    return link_load(path.rstrip("/").rsplit("/", 1)[1])


def test_it_refuses_a_link_to_a_reviewer_who_already_approved_elsewhere(alice, bob):
    action = make_action(alice, CRITICAL_ACTION)
    link = links_for(action, bob)["approve"]
    action_decide(action_id=action.id, user=bob, approved=True)  # from the queue, 1 of 2
    response = logged_in(bob).get(link)
    assert response.status_code == 409
    assert "You already decided on this action" in response.content.decode()
    assert not LinkUse.objects.exists()


def test_it_keeps_link_tokens_out_of_the_log(alice, bob, carol):
    action = make_action(alice, HIGH_ACTION)
    link = links_for(action, bob)["approve"]
    token = link.split("/")[-2]
    console = next(h for h in logging.getLogger().handlers if any(isinstance(f, RedactLinkTokens) for f in h.filters))
    captured = io.StringIO()
    previous = console.setStream(captured)
    try:
        assert logged_in(carol).get(link).status_code == 403
    finally:
        console.setStream(previous)
    logged = captured.getvalue()
    assert "/approvals/link/…/" in logged
    assert token not in logged
    assert nothing_decided(action)
