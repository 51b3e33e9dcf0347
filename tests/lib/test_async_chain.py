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
