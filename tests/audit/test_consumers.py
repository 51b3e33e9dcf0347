"""/ws/audit/ through a websocket communicator on the full ASGI application (Origin check included)."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.test import Client

from audit.services import audit_append
from tests.factories import HIGH_ACTION, MEDIUM_ACTION, make_action, make_user
from tests.review.test_consumers import connect, receive_until, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def _close_thread_connections():
    yield
    await sync_to_async(connections.close_all)()


async def test_it_pushes_new_entries_to_an_auditor(db):
    dave = await sync_to_async(make_user)("dave", "auditors")
    alice = await sync_to_async(make_user)("alice")
    communicator, connected, _ = await connect("/ws/audit/", cookie=await sync_to_async(session_cookie)(dave))
    assert connected
    action = await sync_to_async(make_action)(alice, HIGH_ACTION)
    message = await receive_until(communicator, "action.created")
    assert message.startswith('<ol id="audit-list" hx-swap-oob="afterbegin">') and '<li id="entry-' in message
    assert f"/audit/actions/{action.id}/" in message and "badge-high" in message
    await communicator.disconnect()


async def test_it_sends_only_entries_matching_the_sockets_filters(db):
    dave = await sync_to_async(make_user)("dave", "auditors")
    alice = await sync_to_async(make_user)("alice")
    communicator, connected, _ = await connect(
        "/ws/audit/?level=high&event=action.created", cookie=await sync_to_async(session_cookie)(dave)
    )
    assert connected
    await sync_to_async(make_action)(alice, MEDIUM_ACTION)  # medium: not for this socket
    await sync_to_async(audit_append)(actor="bot", event="action.created", data={})  # no action: no level
    high = await sync_to_async(make_action)(alice, HIGH_ACTION)
    message = await communicator.receive_from(timeout=5)
    assert f"/audit/actions/{high.id}/" in message and "action.created" in message
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_it_refuses_reviewers_anonymous_foreign_origins_and_bad_filters(db):
    bob = await sync_to_async(make_user)("bob", "reviewers")
    dave = await sync_to_async(make_user)("dave", "auditors")
    _communicator, connected, _ = await connect("/ws/audit/", cookie=await sync_to_async(session_cookie)(bob))
    assert not connected
    _communicator, connected, _ = await connect("/ws/audit/")
    assert not connected
    dave_cookie = await sync_to_async(session_cookie)(dave)
    _communicator, connected, _ = await connect("/ws/audit/", cookie=dave_cookie, origin=b"http://evil.example")
    assert not connected
    _communicator, connected, _ = await connect("/ws/audit/?level=extreme", cookie=dave_cookie)
    assert not connected


async def test_it_keeps_audit_entries_off_reviewer_queue_sockets(db):
    bob = await sync_to_async(make_user)("bob", "reviewers")
    communicator, connected, _ = await connect("/ws/approvals/", cookie=await sync_to_async(session_cookie)(bob))
    assert connected
    await sync_to_async(audit_append)(actor="bot", event="test.secret", data={"x": 1})
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_it_closes_an_auditors_socket_on_logout(db):
    dave = await sync_to_async(make_user)("dave", "auditors")
    client = Client()
    await sync_to_async(client.force_login)(dave)
    from django.conf import settings

    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    communicator, connected, _ = await connect("/ws/audit/", cookie=cookie)
    assert connected
    await sync_to_async(client.post)("/accounts/logout/")
    output = await asyncio.wait_for(communicator.receive_output(timeout=5), 6)
    assert output["type"] == "websocket.close" and output["code"] == 4001
