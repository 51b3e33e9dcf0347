"""/ws/approvals/ through a websocket communicator on the full ASGI application (Origin check included)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.testing import HttpCommunicator, WebsocketCommunicator
from django.conf import settings
from django.db import connections
from django.test import Client

from actionhub.asgi import application
from approvals.models import Action
from approvals.services import actions_expire_due
from tests import workers
from tests.factories import CRITICAL_ACTION, HIGH_ACTION, make_action, make_token, make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def _close_thread_connections():
    """sync_to_async runs these tests' database calls on a helper thread; close its connection."""
    yield
    await sync_to_async(connections.close_all)()


ORIGIN = b"http://testserver"


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


async def connect(path: str = "/ws/approvals/", *, cookie: str | None = None, origin: bytes | None = ORIGIN):
    headers = [(b"host", b"testserver")]
    if origin is not None:
        headers.append((b"origin", origin))
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


async def receive_until(communicator: WebsocketCommunicator, needle: str, timeout: float = 5.0) -> str:
    while True:
        message = await communicator.receive_from(timeout=timeout)
        if needle in message:
            return message


async def test_it_refuses_anonymous_sockets():
    _communicator, connected, _ = await connect()
    assert not connected


async def test_it_refuses_a_foreign_origin(db):
    bob = await sync_to_async(make_user)("bob", "reviewers")
    cookie = await sync_to_async(session_cookie)(bob)
    for origin in (b"http://evil.example", b"http://testserver:8001", None):
        _communicator, connected, _ = await connect(cookie=cookie, origin=origin)
        assert not connected, origin


async def test_it_refuses_the_queue_socket_to_non_reviewers(db):
    alice = await sync_to_async(make_user)("alice")
    cookie = await sync_to_async(session_cookie)(alice)
    _communicator, connected, _ = await connect(cookie=cookie)
    assert not connected


async def test_it_lets_a_requester_follow_their_own_action_but_no_other(db):
    alice = await sync_to_async(make_user)("alice")
    frank = await sync_to_async(make_user)("frank")
    action = await sync_to_async(make_action)(alice, HIGH_ACTION)
    communicator, connected, _ = await connect(
        f"/ws/approvals/?action={action.id}", cookie=await sync_to_async(session_cookie)(alice)
    )
    assert connected
    await communicator.disconnect()
    communicator, connected, _ = await connect(
        f"/ws/approvals/?action={action.id}", cookie=await sync_to_async(session_cookie)(frank)
    )
    assert not connected


async def test_it_pushes_a_decision_made_through_the_api_to_a_connected_reviewer(db):
    alice = await sync_to_async(make_user)("alice")
    bob = await sync_to_async(make_user)("bob", "reviewers")
    carol = await sync_to_async(make_user)("carol", "reviewers")
    communicator, connected, _ = await connect(cookie=await sync_to_async(session_cookie)(bob))
    assert connected

    alice_token = await sync_to_async(make_token)(alice)
    carol_token = await sync_to_async(make_token)(carol)
    created = await sync_to_async(Client(HTTP_AUTHORIZATION=f"Bearer {alice_token}").post)(
        "/api/actions", json.dumps(CRITICAL_ACTION), content_type="application/json"
    )
    action_id = created.json()["id"]
    message = await receive_until(communicator, f'id="action-{action_id}"')
    assert 'hx-swap-oob="true"' in message and "0/2" in message and "1 critical" in message

    await sync_to_async(Client(HTTP_AUTHORIZATION=f"Bearer {carol_token}").post)(
        f"/api/actions/{action_id}/approve", json.dumps({"approved": True}), content_type="application/json"
    )
    message = await receive_until(communicator, "1/2")
    assert "carol" in message
    await communicator.disconnect()


async def test_it_removes_a_decided_action_from_a_filtered_queue_and_skips_other_levels(db):
    alice = await sync_to_async(make_user)("alice")
    bob = await sync_to_async(make_user)("bob", "reviewers")
    communicator, connected, _ = await connect(
        "/ws/approvals/?level=high", cookie=await sync_to_async(session_cookie)(bob)
    )
    assert connected
    critical = await sync_to_async(make_action)(alice, CRITICAL_ACTION)
    message = await receive_until(communicator, "queue-counts")
    assert f'id="action-{critical.id}" hx-swap-oob="delete"' in message  # not shown under ?level=high
    high = await sync_to_async(make_action)(alice, HIGH_ACTION)
    await receive_until(communicator, f'id="action-{high.id}" class="row')
    await sync_to_async(Client(HTTP_AUTHORIZATION=f"Bearer {await sync_to_async(make_token)(bob)}").post)(
        f"/api/actions/{high.id}/approve",
        json.dumps({"approved": False, "reason": "no"}),
        content_type="application/json",
    )
    await receive_until(communicator, f'id="action-{high.id}" hx-swap-oob="delete"')
    await communicator.disconnect()


async def test_it_pushes_the_live_detail_panel_with_the_outcome(db):
    alice = await sync_to_async(make_user)("alice")
    bob = await sync_to_async(make_user)("bob", "reviewers")
    action = await sync_to_async(make_action)(alice, HIGH_ACTION)
    communicator, connected, _ = await connect(
        f"/ws/approvals/?action={action.id}&seen={action.payload_hash}",
        cookie=await sync_to_async(session_cookie)(alice),
    )
    assert connected
    token = await sync_to_async(make_token)(bob)
    await sync_to_async(Client(HTTP_AUTHORIZATION=f"Bearer {token}").post)(
        f"/api/actions/{action.id}/approve",
        json.dumps({"approved": False, "reason": "wrong file"}),
        content_type="application/json",
    )
    message = await receive_until(communicator, 'id="detail-live"')
    assert "Rejected by bob: “wrong file”." in message
    assert 'id="decision"' in message  # the decision panel says what happened instead of offering buttons
    await communicator.disconnect()


async def test_it_closes_the_socket_when_its_session_logs_out(db):
    bob = await sync_to_async(make_user)("bob", "reviewers")
    client = Client()
    await sync_to_async(client.force_login)(bob)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    communicator, connected, _ = await connect(cookie=cookie)
    assert connected
    await sync_to_async(client.post)("/accounts/logout/")
    closed = await communicator.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4001}
    communicator, connected, _ = await connect(cookie=cookie)
    assert not connected


def test_it_deletes_the_session_before_it_tells_the_session_s_sockets(db, monkeypatch):
    """A page whose socket closes checks its session at once: by then the session must be gone."""
    from django.contrib.sessions.models import Session

    from realtime import receivers

    bob = make_user("bob", "reviewers")
    client = Client()
    client.force_login(bob)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    told = []
    monkeypatch.setattr(
        receivers,
        "session_ended",
        lambda *, session_key: told.append((session_key, Session.objects.filter(session_key=session_key).exists())),
    )
    client.post("/accounts/logout/")
    assert told == [(key, False)]


async def test_it_relays_a_broadcast_from_another_process(db):
    """A status change made in a separate process (a worker) reaches this process's sockets."""
    alice = await sync_to_async(make_user)("alice")
    bob = await sync_to_async(make_user)("bob", "reviewers")
    action = await sync_to_async(make_action)(alice, HIGH_ACTION)
    communicator, connected, _ = await connect(cookie=await sync_to_async(session_cookie)(bob))
    assert connected
    script = textwrap.dedent(
        f"""
        import django
        django.setup()
        from approvals import services
        from django.contrib.auth import get_user_model
        bob = get_user_model().objects.get(username="bob")
        services.action_decide(action_id="{action.id}", user=bob, approved=False, reason="far away")
        """
    )
    env = {"DATABASE_URL": workers.test_database_url(), "DJANGO_SETTINGS_MODULE": "tests.settings"}
    completed = await sync_to_async(subprocess.run)(
        [sys.executable, "-c", script],
        cwd=workers.ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stderr
    await receive_until(communicator, f'id="action-{action.id}" hx-swap-oob="delete"')
    assert (await sync_to_async(Action.objects.get)(id=action.id)).status == "rejected"
    await communicator.disconnect()


async def test_it_closes_a_queue_socket_once_its_user_is_no_longer_a_reviewer(db, monkeypatch):
    monkeypatch.setattr("realtime.consumers.RECHECK_SECONDS", 0.0)
    alice = await sync_to_async(make_user)("alice")
    bob = await sync_to_async(make_user)("bob", "reviewers")
    communicator, connected, _ = await connect(cookie=await sync_to_async(session_cookie)(bob))
    assert connected
    await sync_to_async(bob.groups.clear)()
    await sync_to_async(make_action)(alice, HIGH_ACTION)
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4003}


async def test_it_removes_an_expired_action_from_open_queues(db):
    alice = await sync_to_async(make_user)("alice")
    bob = await sync_to_async(make_user)("bob", "reviewers")
    action = await sync_to_async(make_action)(alice, HIGH_ACTION)
    communicator, connected, _ = await connect(cookie=await sync_to_async(session_cookie)(bob))
    assert connected
    later = action.expires_at + timedelta(seconds=1)
    assert await sync_to_async(actions_expire_due)(now=later) == 1
    message = await receive_until(communicator, f'id="action-{action.id}" hx-swap-oob="delete"')
    assert "0 high" in message
    await communicator.disconnect()


@pytest.mark.parametrize("path", ["/ws/nope/", "/ws/", "/ws/approvals/extra/", "/nothing"])
async def test_it_closes_a_socket_to_an_unknown_path_cleanly(db, path):
    bob = await sync_to_async(make_user)("bob", "reviewers")
    communicator, connected, _ = await connect(path, cookie=await sync_to_async(session_cookie)(bob))
    assert not connected
    await communicator.wait(timeout=1)  # the application ended without raising


async def test_it_keeps_an_unknown_path_a_404_over_http(db):
    communicator = HttpCommunicator(application, "GET", "/ws/nope/", headers=[(b"host", b"testserver")])
    response = await communicator.get_response(timeout=5)
    assert response["status"] == 404
