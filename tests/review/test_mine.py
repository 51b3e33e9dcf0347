"""My requests: a requester's own actions, the nav and breadcrumbs by role, and edits in words."""

from __future__ import annotations

import re

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.test import Client

from approvals.models import Status
from approvals.services import action_decide, action_edit
from review import views
from tests.factories import CRITICAL_ACTION, HIGH_ACTION, MEDIUM_ACTION, make_action, make_user
from tests.review.test_consumers import connect, receive_until, session_cookie

HTMX = {"HTTP_HX_REQUEST": "true"}


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def row_ids(html: str) -> list[str]:
    return re.findall(r'id="mine-([0-9a-f-]{36})"', html)


def test_it_lists_the_requesters_own_actions_newest_first_like_the_api(alice, bob, api_as):
    first = make_action(alice, HIGH_ACTION)
    make_action(bob, HIGH_ACTION)
    second = make_action(alice, MEDIUM_ACTION)

    response = logged_in(alice).get("/approvals/mine/")

    assert response.status_code == 200
    html = response.content.decode()
    assert row_ids(html) == [str(second.id), str(first.id)]
    api_ids = [item["id"] for item in api_as(alice).get("/actions", mine=1).json()["results"]]
    assert row_ids(html) == api_ids
    assert f'href="/approvals/{first.id}/"' in html
    assert 'data-status="pending"' in html


def test_it_filters_by_status_and_type(alice):
    held = make_action(alice, HIGH_ACTION)
    config = make_action(alice, CRITICAL_ACTION)
    client = logged_in(alice)
    assert row_ids(client.get("/approvals/mine/", {"type": "config_change"}).content.decode()) == [str(config.id)]
    listed = make_action(alice, MEDIUM_ACTION)
    assert str(listed.id) not in row_ids(client.get("/approvals/mine/", {"status": "pending"}).content.decode())
    assert set(row_ids(client.get("/approvals/mine/", {"status": "pending"}).content.decode())) == {
        str(held.id),
        str(config.id),
    }
    empty = client.get("/approvals/mine/", {"status": "rejected"}).content.decode()
    assert "None of your actions match these filters." in empty


@pytest.mark.parametrize("query", [{"status": "nonsense"}, {"type": "teleport"}, {"before": "not-a-cursor"}])
def test_it_answers_bad_filters_with_a_form_error(alice, query):
    response = logged_in(alice).get("/approvals/mine/", query)
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()


def test_it_pages_by_keyset_with_load_more(alice, monkeypatch):
    monkeypatch.setattr(views, "MINE_PAGE", 2)
    actions = [make_action(alice, HIGH_ACTION) for _ in range(5)]
    newest_first = [str(action.id) for action in reversed(actions)]
    client = logged_in(alice)
    seen: list[str] = []
    html = client.get("/approvals/mine/").content.decode()
    while True:
        seen += row_ids(html)
        more = re.search(r'hx-get="(/approvals/mine/\?[^"]+)"', html)
        if not more:
            break
        html = client.get(more.group(1).replace("&amp;", "&"), **HTMX).content.decode()
        assert "<html" not in html
    assert seen == newest_first


def test_it_links_no_page_that_answers_403_in_a_requesters_nav(alice):
    action = make_action(alice, HIGH_ACTION)
    client = logged_in(alice)
    for page in ("/", "/approvals/mine/", f"/approvals/{action.id}/", "/chat/"):
        html = client.get(page, follow=True).content.decode()
        nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', html, re.S).group(1)
        links = re.findall(r'href="([^"]+)"', nav)
        assert "/approvals/mine/" in links
        assert "/approvals/" not in links
        for link in links:
            assert client.get(link).status_code in (200, 302), (page, link)
            assert client.get(link, follow=True).status_code == 200, (page, link)


def test_it_links_the_queue_for_reviewers(bob):
    nav = logged_in(bob).get("/approvals/").content.decode()
    assert 'href="/approvals/"' in nav and 'href="/approvals/mine/"' in nav


def test_it_shows_the_requester_their_action_read_only_with_a_crumb_to_my_requests(alice, bob):
    action = make_action(alice, HIGH_ACTION)
    client = logged_in(alice)

    html = client.get(f"/approvals/{action.id}/").content.decode()

    assert re.search(r'class="crumbs"><a href="/approvals/mine/">My requests</a>', html)
    assert "You requested this action; a reviewer decides whether it runs" in html
    assert 'name="decision"' not in html and "Edit parameters" not in html and '<button type="button"' not in html
    assert client.post(f"/approvals/{action.id}/decide/", {"decision": "approve"}).status_code == 400
    refused = client.post(
        f"/approvals/{action.id}/decide/", {"decision": "approve", "payload_hash": action.payload_hash}
    )
    assert refused.status_code == 403
    assert client.get(f"/approvals/{action.id}/").status_code == 200
    action.refresh_from_db()
    assert action.status == Status.PENDING
    reviewer_html = logged_in(bob).get(f"/approvals/{action.id}/").content.decode()
    assert re.search(r'class="crumbs"><a href="/approvals/">Approval queue</a>', reviewer_html)


def test_it_leads_an_auditor_back_to_the_audit_history(alice, dave):
    action = make_action(alice, HIGH_ACTION)
    html = logged_in(dave).get(f"/approvals/{action.id}/").content.decode()
    assert re.search(r'class="crumbs"><a href="/audit/">Audit history</a>', html)


def test_it_tells_the_requester_who_edited_their_action_and_what_changed_in_words(alice, bob):
    action = make_action(alice, HIGH_ACTION)
    action_edit(
        action_id=action.id,
        user=bob,
        parameters={"operation": "delete", "path": "notes/older.txt", "workspace": "archive"},
        payload_hash=action.payload_hash,
    )
    client = logged_in(alice)

    row = client.get("/approvals/mine/").content.decode()
    assert "edited by bob" in row
    html = client.get(f"/approvals/{action.id}/").content.decode()
    assert "bob edited your action after you submitted it" in html
    assert "path: &quot;notes/old.txt&quot; → &quot;notes/older.txt&quot;" in html
    assert "workspace: (not set) → &quot;archive&quot;" in html


@pytest.mark.django_db(transaction=True)
async def test_it_updates_a_row_live_when_a_reviewer_decides():
    try:
        alice = await sync_to_async(make_user)("alice")
        bob = await sync_to_async(make_user)("bob", "reviewers")
        action = await sync_to_async(make_action)(alice, HIGH_ACTION)
        finished = await sync_to_async(make_action)(alice, MEDIUM_ACTION)
        other = await sync_to_async(make_action)(bob, HIGH_ACTION)
        communicator, connected, _ = await connect(
            "/ws/approvals/?mine=1", cookie=await sync_to_async(session_cookie)(alice)
        )
        assert connected

        await sync_to_async(action_decide)(
            action_id=other.id, user=(await sync_to_async(make_user)("carol", "reviewers")), approved=False, reason="no"
        )
        await sync_to_async(action_decide)(action_id=action.id, user=bob, approved=False, reason="not today")

        message = await receive_until(communicator, f'id="mine-{action.id}"')
        assert 'hx-swap-oob="true"' in message and 'data-status="rejected"' in message
        assert f"mine-{other.id}" not in message and f"mine-{finished.id}" not in message
        await communicator.disconnect()
    finally:
        await sync_to_async(connections.close_all)()


@pytest.mark.django_db(transaction=True)
async def test_it_adds_a_row_live_for_each_new_action_of_the_requesters_own():
    try:
        alice = await sync_to_async(make_user)("alice")
        bob = await sync_to_async(make_user)("bob", "reviewers")
        carol = await sync_to_async(make_user)("carol", "reviewers")
        communicator, connected, _ = await connect(
            "/ws/approvals/?mine=1", cookie=await sync_to_async(session_cookie)(alice)
        )
        assert connected

        theirs = await sync_to_async(make_action)(bob, HIGH_ACTION)
        held = await sync_to_async(make_action)(alice, HIGH_ACTION)
        message = await communicator.receive_from(timeout=5)  # the first: nothing came of bob's
        assert f'id="mine-{held.id}"' in message
        # on top of the list, as a new row (not a swap of one the page lacks)
        assert message.startswith('<ol id="mine-list" hx-swap-oob="afterbegin">')
        assert 'data-status="pending"' in message and f"mine-{theirs.id}" not in message

        # and it is followed from then on, like the rows the page loaded with
        await sync_to_async(action_decide)(action_id=held.id, user=carol, approved=False, reason="not today")
        message = await receive_until(communicator, f'id="mine-{held.id}"')
        assert 'hx-swap-oob="true"' in message and 'data-status="rejected"' in message

        ran_at_once = await sync_to_async(make_action)(alice, MEDIUM_ACTION)
        message = await receive_until(communicator, f'id="mine-{ran_at_once.id}"')
        assert "afterbegin" in message
        await communicator.disconnect()
    finally:
        await sync_to_async(connections.close_all)()


@pytest.mark.django_db(transaction=True)
async def test_it_adds_only_new_rows_that_match_the_pages_filters():
    try:
        alice = await sync_to_async(make_user)("alice")
        cookie = await sync_to_async(session_cookie)(alice)
        communicator, connected, _ = await connect("/ws/approvals/?mine=1&type=config_change", cookie=cookie)
        assert connected
        skipped = await sync_to_async(make_action)(alice, HIGH_ACTION)
        shown = await sync_to_async(make_action)(alice, CRITICAL_ACTION)
        message = await receive_until(communicator, f'id="mine-{shown.id}"')
        assert f"mine-{skipped.id}" not in message
        await communicator.disconnect()
        _communicator, connected, _ = await connect("/ws/approvals/?mine=1&status=nonsense", cookie=cookie)
        assert not connected
    finally:
        await sync_to_async(connections.close_all)()


def test_it_connects_the_my_requests_socket_with_the_pages_filters(alice):
    page = logged_in(alice).get("/approvals/mine/?status=pending&type=file_operation").content.decode()
    assert 'ws-connect="/ws/approvals/?mine=1&amp;status=pending&amp;type=file_operation"' in page
