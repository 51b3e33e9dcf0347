"""On Redis, what one transaction broadcasts goes out after its commit in one pipelined round trip,
from the process's publisher thread, and reaches every group's subscribers as separate sends would."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import transaction

from realtime.broadcast import broadcasts_drain, broadcasts_held, publish
from realtime.layers import RedisPubSubLayer
from realtime.publisher import Publisher
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
    assert broadcasts_drain()
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
        assert broadcasts_drain()
        assert sent == []
    assert broadcasts_drain()
    assert sent == [["action.0", "action.1", "action.2", "approvals"]]


def test_it_answers_without_waiting_for_redis_and_sends_what_queued_meanwhile_in_one_round_trip(
    transactional_db, redis_layer, monkeypatch
):
    sent, first_send_started, redis_answers = [], threading.Event(), threading.Event()

    def slow(self, sends):
        sent.append([group for group, _ in sends])
        first_send_started.set()
        assert redis_answers.wait(5)

    monkeypatch.setattr(RedisPubSubLayer, "publish_many", slow)
    with transaction.atomic():
        publish(["action.0"], {"type": "action.changed"})
    assert first_send_started.wait(5)
    started = time.monotonic()
    for number in (1, 2, 3):  # committed while Redis has not answered the first send
        with transaction.atomic():
            publish([f"action.{number}"], {"type": "action.changed"})
            publish(["approvals"], {"type": "action.changed"})
    assert time.monotonic() - started < 3, "the commits did not wait for Redis (5 s each if they had)"
    assert not broadcasts_drain(timeout=0.1), "the first send is still waiting for Redis"
    redis_answers.set()
    assert broadcasts_drain()
    assert sent == [["action.0"], ["action.1", "approvals", "action.2", "approvals", "action.3", "approvals"]]


def test_it_logs_a_failed_send_and_goes_on_with_the_next(transactional_db, redis_layer, monkeypatch, caplog):
    sent = []

    def flaky(self, sends):
        if not sent:
            sent.append("failed")
            raise ConnectionError("Redis is away")
        sent.append([group for group, _ in sends])

    monkeypatch.setattr(RedisPubSubLayer, "publish_many", flaky)
    for group in ("approvals", "audit"):
        with transaction.atomic():
            publish([group], {"type": "action.changed"})
        assert broadcasts_drain()
    assert sent == ["failed", ["audit"]]
    assert "broadcast of 1 messages (action.changed to approvals first) failed" in caplog.text


def test_it_counts_and_logs_what_it_drops_while_the_layer_is_not_keeping_up(caplog):
    sent, release = [], threading.Event()

    def send(sends):
        sent.append([group for group, _ in sends])
        release.wait(5)

    publisher = Publisher(send, limit=2)
    publisher.put([("a", {"type": "t"})])
    deadline = time.monotonic() + 5
    while not sent and time.monotonic() < deadline:
        time.sleep(0.01)
    publisher.put([("b", {"type": "t"}), ("c", {"type": "t"})])  # waits: two of two
    publisher.put([("d", {"type": "t"})])  # dropped
    release.set()
    assert publisher.drain(5)
    publisher.put([("e", {"type": "t"})])
    assert publisher.drain(5)
    assert sent == [["a"], ["b", "c"], ["e"]]
    assert "1 broadcasts dropped" in caplog.text


def test_it_starts_another_thread_when_its_thread_died_or_the_process_forked():
    sent = []
    publisher = Publisher(lambda sends: sent.append([group for group, _ in sends]))
    publisher.put([("a", {"type": "t"})])
    assert publisher.drain(5)
    dead = threading.Thread(target=lambda: None)
    dead.start()
    dead.join()
    publisher._thread = dead  # as if it had died without clearing itself
    publisher.put([("b", {"type": "t"})])
    assert publisher.drain(5)
    from realtime.publisher import _restart_in_child

    _restart_in_child()  # what a forked child runs: the parent's thread is not in it
    assert publisher._thread is None
    publisher.put([("c", {"type": "t"})])
    assert publisher.drain(5)
    assert sent == [["a"], ["b"], ["c"]]
