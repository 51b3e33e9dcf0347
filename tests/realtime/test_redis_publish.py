"""On Redis, what one transaction broadcasts goes out after its commit in one pipelined round trip,
and reaches every group's subscribers as separate sends would."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import transaction

from realtime.broadcast import broadcasts_held, publish
from realtime.layers import RedisPubSubLayer
from tests.conftest import require


@pytest.fixture
def redis_layer(settings):
    require(bool(settings.REDIS_URL), "REDIS_URL for the Redis pub/sub channel layer")
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "realtime.layers.RedisPubSubLayer", "CONFIG": {"hosts": [settings.REDIS_URL]}}
    }
    from channels.layers import channel_layers

    channel_layers.backends.pop("default", None)
    yield channel_layers["default"]
    channel_layers.backends.pop("default", None)


def test_it_sends_a_transactions_broadcasts_in_one_pipelined_round_trip_after_commit(
    transactional_db, redis_layer, monkeypatch
):
    round_trips = []
    original = RedisPubSubLayer.publish_many

    def counted(self, sends):
        round_trips.append([group for group, _ in sends])
        original(self, sends)

    monkeypatch.setattr(RedisPubSubLayer, "publish_many", counted)
    listener = RedisPubSubLayer(hosts=[settings.REDIS_URL])
    # Pub/sub channels are one namespace for the whole server, whatever the database number.
    queue, entry, audit = (f"{name}-{uuid.uuid4().hex}" for name in ("approvals", "action", "audit"))

    async def listen_then_publish() -> list[dict]:
        channel = await listener.new_channel()
        for group in (queue, audit):
            await listener.group_add(group, channel)
        await asyncio.sleep(0.2)  # subscribed before anything is published

        def change() -> None:
            with transaction.atomic():
                publish([queue, entry], {"type": "action.changed", "n": 1})
                publish([audit], {"type": "audit.appended", "n": 2})
                assert round_trips == [], "nothing leaves before the commit"

        await asyncio.get_running_loop().run_in_executor(None, change)
        received = [await asyncio.wait_for(listener.receive(channel), 5) for _ in range(2)]
        await listener.flush()
        return received

    received = async_to_sync(listen_then_publish)()
    assert round_trips == [[queue, entry, audit]]
    assert sorted(message["n"] for message in received) == [1, 2]


def test_it_sends_nothing_for_a_transaction_that_rolled_back(transactional_db, redis_layer, monkeypatch):
    sent = []

    def record(self, sends):
        sent.append([group for group, _ in sends])

    monkeypatch.setattr(RedisPubSubLayer, "publish_many", record)
    with pytest.raises(RuntimeError), transaction.atomic():
        publish(["approvals"], {"type": "action.changed"})
        raise RuntimeError
    with transaction.atomic():
        publish(["audit"], {"type": "audit.appended"})
    assert sent == [["audit"]], "the rolled-back change is not announced, nor carried into the next batch"


def test_it_holds_the_broadcasts_of_many_transactions_to_one_send_at_the_end(
    transactional_db, redis_layer, monkeypatch
):
    sent = []

    def record(self, sends):
        sent.append([group for group, _ in sends])

    monkeypatch.setattr(RedisPubSubLayer, "publish_many", record)
    with broadcasts_held():
        for number in range(3):
            with transaction.atomic():
                publish([f"action.{number}"], {"type": "action.changed"})
        with pytest.raises(RuntimeError), transaction.atomic():
            publish(["action.rolled-back"], {"type": "action.changed"})
            raise RuntimeError
        publish(["approvals"], {"type": "actions.changed"})
        assert sent == []
    assert sent == [["action.0", "action.1", "action.2", "approvals"]]
