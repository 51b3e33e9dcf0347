"""A channel layer for the embedded default: cross-process through the database, no extra server.

Each `group_send` is one row in `realtime_broadcast`, written by whichever process sends it (a web
request, a worker); `group_send_in_transaction` writes it inside the caller's transaction, so an
event commits or rolls back with the change it announces. Every process that has consumers runs
one poller per event loop that reads new rows every `poll_interval` seconds and fans them out to
its local groups in memory. Cost is one indexed read per interval per web process, whatever the
number of connected clients (a per-consumer polling layer does one per client). Group membership
never leaves the process.

A consumer slower than a burst never silently misses state: when its channel is full, the
`action.changed`/`actions.changed` messages waiting in it are merged into one `actions.changed`
naming every action, so it renders each changed row once, from the database, as it is now.

With REDIS_URL set, settings use channels-redis (pub/sub) instead, whose per-channel queues have
no bound, so nothing is dropped there either; `RedisPubSubLayer` adds to it the sending of many
group messages in one round trip, from a publisher thread per process.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import redis
from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer
from channels_redis.utils import _consistent_hash, decode_hosts
from django.db import DatabaseError, connection
from django.utils import timezone

from realtime.publisher import Publisher

logger = logging.getLogger(__name__)

# Messages that only say "these actions changed; render them from the database": several of them
# waiting for one consumer say no more than one naming all their actions.
COALESCED_TYPES = ("action.changed", "actions.changed")
# A Redis that does not answer within this fails the broadcast (logged), never the request after it.
SEND_TIMEOUT = 5.0
GROUP_PREFIX = "g:"
CHANNEL_PREFIX = "c:"


class DatabaseChannelLayer(InMemoryChannelLayer):
    extensions = ["groups", "flush"]

    def __init__(
        self,
        poll_interval: float = 0.02,
        retention: float = 120.0,
        gap_wait: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.poll_interval = poll_interval
        self.retention = retention
        self.gap_wait = gap_wait
        self._pollers: dict[asyncio.AbstractEventLoop, tuple[asyncio.Task, asyncio.Event]] = {}
        self._local_channels: set[str] = set()
        # One thread keeps one database connection for all reads of this layer.
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="channel-layer")

    # Sending: always through the table, so every process (this one included) sees it once.

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_group_name(group)
        await asyncio.to_thread(_insert, GROUP_PREFIX + group, message)

    def group_send_in_transaction(self, groups: list[str], message: dict[str, Any]) -> None:
        """Write the broadcast on the caller's connection, inside its transaction (if any).

        Readers see it only once that transaction commits, and never if it rolls back.
        """
        for group in groups:
            self.require_valid_group_name(group)
        _write([GROUP_PREFIX + group for group in groups], message)

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        if channel in self._local_channels or channel in self.channels:
            await super().send(channel, message)
            return
        self.require_valid_channel_name(channel)
        await asyncio.to_thread(_insert, CHANNEL_PREFIX + channel, message)

    # Receiving: make sure this loop polls before anyone waits.

    async def new_channel(self, prefix: str = "specific.") -> str:
        name = await super().new_channel(prefix)
        self._local_channels.add(name)
        await self._ensure_poller()
        return name

    async def receive(self, channel: str) -> dict[str, Any]:
        await self._ensure_poller()
        return await super().receive(channel)

    async def group_add(self, group: str, channel: str) -> None:
        await super().group_add(group, channel)
        # Joined before the poller knows where the table ends: nothing sent after this returns is missed.
        await self._ensure_poller()

    async def group_discard(self, group: str, channel: str) -> None:
        await super().group_discard(group, channel)
        # A consumer leaves its groups when it disconnects: forget its channel then, not never.
        if not any(channel in members for members in self.groups.values()):
            self._local_channels.discard(channel)

    async def flush(self) -> None:
        await super().flush()
        self._local_channels.clear()

    async def close(self) -> None:
        for task, _ready in self._pollers.values():
            task.cancel()
        self._pollers.clear()

    async def _ensure_poller(self) -> None:
        loop = asyncio.get_running_loop()
        for other in [other for other in self._pollers if other.is_closed()]:
            del self._pollers[other]
        poller = self._pollers.get(loop)
        if poller is None or poller[0].done():
            ready = asyncio.Event()
            poller = (loop.create_task(self._poll(ready), name="channel-layer-poller"), ready)
            self._pollers[loop] = poller
        try:
            await asyncio.wait_for(poller[1].wait(), timeout=5)
        except TimeoutError:
            logger.warning("channel layer poller is not ready; live updates may be late")

    async def _poll(self, ready: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        cursor: int | None = None
        gaps: dict[int, float] = {}
        next_prune = time.monotonic() + self.retention / 4
        while True:
            try:
                if cursor is None:
                    cursor = await loop.run_in_executor(self._reader, _newest_id)
                    ready.set()
                rows = await loop.run_in_executor(self._reader, _read_since, cursor, tuple(gaps))
                now = time.monotonic()
                for row_id, target, payload in rows:
                    if row_id in gaps:
                        del gaps[row_id]
                    elif row_id > cursor:
                        # Ids are handed out before commit on Postgres: a smaller one may still appear.
                        for missing in range(cursor + 1, min(row_id, cursor + 1000)):
                            gaps[missing] = now + self.gap_wait
                        cursor = row_id
                    await self._deliver(target, payload)
                for missing, deadline in list(gaps.items()):
                    if deadline < now:
                        del gaps[missing]
                if now >= next_prune:
                    next_prune = now + self.retention / 4
                    await loop.run_in_executor(self._reader, _prune, self.retention)
            except asyncio.CancelledError:
                raise
            except Exception:  # the relay must outlive a locked or restarting database
                logger.exception("channel layer poll failed")
                await loop.run_in_executor(self._reader, connection.close)
                await asyncio.sleep(1)
            await asyncio.sleep(self.poll_interval)

    async def _deliver(self, target: str, payload: str) -> None:
        message = json.loads(payload)
        if target.startswith(GROUP_PREFIX):
            channels = list(self.groups.get(target[len(GROUP_PREFIX) :], {}))
        else:
            channel = target[len(CHANNEL_PREFIX) :]
            channels = [channel] if channel in self._local_channels or channel in self.channels else []
        for channel in channels:
            try:
                await InMemoryChannelLayer.send(self, channel, message)
            except ChannelFull:
                if not self._coalesce(channel, message):
                    logger.warning("channel %s is full; dropped a %s message", channel, message.get("type"))

    def _coalesce(self, channel: str, message: dict[str, Any]) -> bool:
        """Make room in a full channel by merging its waiting change messages with `message`.

        Runs without awaiting, so the consumer cannot take from the queue halfway. Other messages
        keep their order, ahead of the merged one. False if nothing could be merged.
        """
        queue = self.channels.get(channel)
        if queue is None or message.get("type") not in COALESCED_TYPES:
            return False
        waiting = [queue.get_nowait() for _ in range(queue.qsize())]
        kept = [(expiry, queued) for expiry, queued in waiting if queued.get("type") not in COALESCED_TYPES]
        if len(kept) == len(waiting):
            for item in waiting:
                queue.put_nowait(item)
            return False
        changes = [queued for _, queued in waiting if queued.get("type") in COALESCED_TYPES] + [message]
        action_ids = [
            action_id
            for change in changes
            for action_id in (change.get("action_ids") or [change.get("action_id")])
            if action_id
        ]
        merged = {
            "type": "actions.changed",
            "action_ids": list(dict.fromkeys(action_ids)),
            "sent": max(change.get("sent", 0.0) for change in changes),
        }
        for item in [*kept, (time.time() + self.expiry, merged)]:
            queue.put_nowait(item)
        return True


def _write(targets: list[str], message: dict[str, Any]) -> None:
    from realtime.models import Broadcast

    payload = json.dumps(message, separators=(",", ":"))
    now = timezone.now()
    Broadcast.objects.bulk_create([Broadcast(at=now, target=target, payload=payload) for target in targets])


def _insert(target: str, message: dict[str, Any]) -> None:
    """`_write` on a worker thread's own connection, outside any transaction."""
    try:
        _write([target], message)
    except DatabaseError:
        connection.close()  # a broken connection must not poison this thread's next send
        raise


def _newest_id() -> int:
    from realtime.models import Broadcast

    newest = Broadcast.objects.order_by("-id").values_list("id", flat=True).first()
    return newest or 0


def _read_since(cursor: int, gaps: tuple[int, ...]) -> list[tuple[int, str, str]]:
    from django.db.models import Q

    from realtime.models import Broadcast

    condition = Q(id__gt=cursor)
    if gaps:
        condition |= Q(id__in=gaps)
    return list(Broadcast.objects.filter(condition).order_by("id").values_list("id", "target", "payload")[:1000])


def _prune(retention: float) -> None:
    from realtime.models import Broadcast

    Broadcast.objects.filter(at__lt=timezone.now() - timedelta(seconds=retention)).delete()


class RedisPubSubLayer(RedisPubSubChannelLayer):
    """channels-redis pub/sub, plus `publish_many`: messages published in one pipelined round trip
    per Redis shard from a plain thread, with no hand-off to an event loop (which cost a submit
    more CPU than the round trip itself). `publish_soon` queues them for this process's publisher
    thread (realtime.publisher), so a request never waits on Redis and what several requests queued
    at once leaves in one round trip.

    It uses the layer's own group naming, shard choice and serializer (channels-redis 4.3, pinned),
    so the subscribers of every process receive exactly what `group_send` would have sent them.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._hosts = decode_hosts(kwargs.get("hosts"))
        self._prefix = kwargs.get("prefix", "asgi")
        self._clients: dict[int, redis.Redis] = {}
        self._clients_lock = threading.Lock()
        # Through the class, so a test that replaces `publish_many` sees what the publisher sends.
        self._publisher = Publisher(lambda sends: type(self).publish_many(self, sends))

    def publish_soon(self, sends: list[tuple[str, dict[str, Any]]]) -> None:
        self._publisher.put(sends)

    def publish_drain(self, timeout: float) -> bool:
        """Wait until what was queued so far is published; False on timeout."""
        return self._publisher.drain(timeout)

    def publish_many(self, sends: list[tuple[str, dict[str, Any]]]) -> None:
        by_shard: dict[int, list[tuple[str, bytes]]] = {}
        for group, message in sends:
            channel = f"{self._prefix}__group__{group}"  # RedisPubSubLoopLayer._get_group_channel_name
            shard = _consistent_hash(channel, len(self._hosts))
            by_shard.setdefault(shard, []).append((channel, self.serialize(message)))
        for shard, messages in by_shard.items():
            pipeline = self._client(shard).pipeline(transaction=False)
            for channel, data in messages:
                pipeline.publish(channel, data)
            pipeline.execute()

    def _client(self, shard: int) -> redis.Redis:
        """One synchronous client (and connection pool, safe across threads) per shard and process."""
        with self._clients_lock:
            client = self._clients.get(shard)
            if client is None:
                host = {"socket_timeout": SEND_TIMEOUT, "socket_connect_timeout": SEND_TIMEOUT, **self._hosts[shard]}
                address = host.pop("address", None)
                client = redis.Redis.from_url(address, **host) if address else redis.Redis(**host)
                self._clients[shard] = client
            return client
