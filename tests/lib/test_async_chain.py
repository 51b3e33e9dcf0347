"""The middleware chain runs async views without a thread hop, and still serves static files and
limits page POSTs in both modes."""

from __future__ import annotations

import logging

import pytest
from django.test import AsyncClient, override_settings

from lib.asgi import SharedThreadsASGIHandler


def test_it_builds_the_async_chain_without_adapting_any_middleware(caplog):
    with override_settings(DEBUG=True), caplog.at_level(logging.DEBUG, logger="django.request"):
        handler = SharedThreadsASGIHandler()
    adapted = [record.getMessage() for record in caplog.records if "adapted" in record.getMessage()]
    assert adapted == []
    assert handler._middleware_chain is not None


async def test_it_runs_the_middleware_hooks_of_a_waiting_request_without_thread_hops(monkeypatch):
    """Only the request_started signal, the response's close (and, for an error, Django's log line)
    hop to a thread: the ~15 hooks of the middleware run on the event loop (500 woken waiters would
    otherwise queue 7,500 hops)."""
    from asgiref import sync
    from asgiref.testing import ApplicationCommunicator

    from lib.asgi import InlineHooksASGIHandler

    hops: list[str] = []
    original = sync.SyncToAsync.__call__

    def counting(self, *args, **kwargs):
        hops.append(getattr(self.func, "__qualname__", repr(self.func)))
        return original(self, *args, **kwargs)

    handler = InlineHooksASGIHandler()
    monkeypatch.setattr(sync.SyncToAsync, "__call__", counting)
    scope = {
        "type": "http", "method": "GET", "path": "/api/actions/00000000-0000-0000-0000-000000000000/wait",
        "query_string": b"timeout=0", "headers": [(b"host", b"testserver")], "http_version": "1.1",
        "scheme": "http", "server": ("testserver", 80), "client": ("127.0.0.1", 1),
    }  # fmt: skip
    communicator = ApplicationCommunicator(handler, scope)
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(5)
    body = await communicator.receive_output(5)
    await communicator.wait(5)
    assert start["status"] == 401 and b"authentication required" in body["body"]
    assert sorted(hops) == ["HttpResponseBase.close", "Signal.asend.<locals>.sync_send", "log_response"]


async def test_it_serves_static_files_through_the_async_chain():
    response = await AsyncClient().get("/static/css/actionhub.css")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/css")


@pytest.mark.django_db(transaction=True)
async def test_it_limits_page_posts_in_an_async_chain(settings):
    from asgiref.sync import sync_to_async

    from tests.factories import make_user

    settings.ACTIONHUB_RATE_LIMIT = "1/m"
    alice = await sync_to_async(make_user)("alice")
    client = AsyncClient()
    await client.aforce_login(alice)
    await client.post("/approvals/")
    response = await client.post("/approvals/")
    assert response.status_code == 429 and response["Retry-After"]
