"""A burst of held actions larger than a queue socket's channel capacity still reaches the page whole."""

from __future__ import annotations

import re

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connections, transaction

from realtime.layers import DatabaseChannelLayer
from tests.conftest import require
from tests.factories import HIGH_ACTION, make_action, make_user
from tests.review.test_consumers import connect, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

BURST = 150
CAPACITY = 20
ROW = re.compile(r'id="action-([0-9a-f-]{36})"')


@pytest.fixture(autouse=True)
async def _close_thread_connections():
    yield
    await sync_to_async(connections.close_all)()


@pytest.fixture
def database_layer(settings):
    """The embedded database layer (whatever this run configured), its per-consumer capacity shrunk
    so the burst overflows it for sure."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "realtime.layers.DatabaseChannelLayer",
            "CONFIG": {"poll_interval": 0.02, "capacity": CAPACITY},
        }
    }
    return get_channel_layer()


def _burst(requester) -> list[str]:
    # One transaction: every broadcast commits at once, so one poll hands the socket the whole burst.
    with transaction.atomic():
        return [str(make_action(requester, HIGH_ACTION).id) for _ in range(BURST)]


async def _final_state_after_a_burst(layer) -> None:
    alice = await sync_to_async(make_user)("alice")
    bob = await sync_to_async(make_user)("bob", "reviewers")
    communicator, connected, _ = await connect(cookie=await sync_to_async(session_cookie)(bob))
    assert connected
    created = set(await sync_to_async(_burst)(alice))

    seen: set[str] = set()
    messages: list[str] = []
    while seen != created:
        message = await communicator.receive_from(timeout=20)
        messages.append(message)
        seen |= set(ROW.findall(message)) & created
    assert f"{BURST} high" in messages[-1]  # the counts that came with the last rows are the final ones
    if isinstance(layer, DatabaseChannelLayer):
        # Fewer messages than actions: the overflow was merged, not dropped (nor delivered one by one).
        assert len(messages) < BURST
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_it_brings_a_slow_queue_socket_every_row_of_a_burst_on_the_database_layer(db, database_layer):
    assert isinstance(database_layer, DatabaseChannelLayer)
    await _final_state_after_a_burst(database_layer)


async def test_it_brings_a_slow_queue_socket_every_row_of_a_burst_on_redis(db):
    require(bool(settings.REDIS_URL), "REDIS_URL for the Redis pub/sub channel layer")
    await _final_state_after_a_burst(get_channel_layer())
