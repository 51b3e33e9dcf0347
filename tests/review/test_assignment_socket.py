"""/ws/approvals/ sends each queue row only to sockets allowed to see it, and a bulk decision as one message."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from tests.factories import CRITICAL_ACTION, make_action, make_token, make_user
from tests.review.test_consumers import connect, receive_until, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

DELETE = {"action_type": "file_operation", "parameters": {"operation": "delete", "path": "notes/old.txt"}}


@pytest.fixture(autouse=True)
async def _close_thread_connections():
    from django.db import connections

    yield
    await sync_to_async(connections.close_all)()


async def test_it_never_sends_an_assigned_row_to_an_unassigned_reviewer(settings):
    settings.ACTIONHUB_ROUTING = {"file_operation": ["ops"]}
    alice = await sync_to_async(make_user)("alice")
    bob = await sync_to_async(make_user)("bob", "reviewers")
    carol = await sync_to_async(make_user)("carol", "reviewers", "ops")
    bob_socket, connected, _ = await connect(cookie=await sync_to_async(session_cookie)(bob))
    assert connected
    carol_socket, connected, _ = await connect(cookie=await sync_to_async(session_cookie)(carol))
    assert connected
    carol_mine, connected, _ = await connect(
        "/ws/approvals/?assigned=me", cookie=await sync_to_async(session_cookie)(carol)
    )
    assert connected

    token = await sync_to_async(make_token)(alice)
    created = await sync_to_async(Client(HTTP_AUTHORIZATION=f"Bearer {token}").post)(
        "/api/actions", json.dumps(DELETE), content_type="application/json"
    )
    assigned_id = created.json()["id"]
    message = await receive_until(carol_socket, f'id="action-{assigned_id}" class="row')
    assert "→ ops" in message and "1 high" in message
    await receive_until(carol_mine, f'id="action-{assigned_id}" class="row')

    # bob hears nothing about it; the next unrouted action is the first thing his socket receives
    everyone = await sync_to_async(make_action)(alice, CRITICAL_ACTION)
    message = await bob_socket.receive_from(timeout=5)
    assert f'id="action-{everyone.id}" class="row' in message
    assert assigned_id not in message and "0 high" in message and "1 critical" in message
    # carol's "assigned to me" socket is told the unrouted one is not in her filtered list
    message = await receive_until(carol_mine, f"action-{everyone.id}")
    assert f'id="action-{everyone.id}" hx-swap-oob="delete"' in message

    # and when carol approves it, bob still hears nothing of it
    carol_token = await sync_to_async(make_token)(carol)
    await sync_to_async(Client(HTTP_AUTHORIZATION=f"Bearer {carol_token}").post)(
        f"/api/actions/{assigned_id}/approve", json.dumps({"approved": True}), content_type="application/json"
    )
    await receive_until(carol_socket, f'id="action-{assigned_id}" hx-swap-oob="delete"')
    assert await bob_socket.receive_nothing(timeout=0.5)
    for socket in (bob_socket, carol_socket, carol_mine):
        await socket.disconnect()


async def test_it_sends_a_bulk_decision_to_a_queue_as_one_message():
    alice = await sync_to_async(make_user)("alice")
    bob = await sync_to_async(make_user)("bob", "reviewers")
    carol = await sync_to_async(make_user)("carol", "reviewers")
    actions = [await sync_to_async(make_action)(alice, DELETE) for _ in range(5)]
    socket, connected, _ = await connect(cookie=await sync_to_async(session_cookie)(carol))
    assert connected
    detail, connected, _ = await connect(
        f"/ws/approvals/?action={actions[2].id}", cookie=await sync_to_async(session_cookie)(alice)
    )
    assert connected

    token = await sync_to_async(make_token)(bob)
    response = await sync_to_async(Client(HTTP_AUTHORIZATION=f"Bearer {token}").post)(
        "/api/actions/decide",
        json.dumps({"decisions": [{"id": str(action.id), "approved": True} for action in actions]}),
        content_type="application/json",
    )
    assert response.status_code == 200

    message = await receive_until(socket, "hx-swap-oob")
    for action in actions:
        assert f'id="action-{action.id}" hx-swap-oob="delete"' in message
    assert message.count('id="queue-counts"') == 1 and "0 high" in message
    assert await socket.receive_nothing(timeout=0.5)
    # a page open on one of them hears it too
    message = await receive_until(detail, 'id="detail-live"')
    assert "Approved by bob" in message
    await socket.disconnect()
    await detail.disconnect()
