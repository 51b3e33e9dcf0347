"""One channel-layer subscription per event loop, fanned out to the local waiters of each key.

Thousands of requests of one process may each wait for news of one object. They share one group
membership and one reader task per event loop; a message names the keys it concerns (`keys`), and
each concerned key is loaded once (`load`) for all its waiters, not once per waiter. Nothing here
polls: a waiter sleeps until its key's next value is loaded, or its own deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

RETRY_DELAY = 1.0


class Topic:
    """The latest value loaded for one key, numbered, and the event of the next one."""

    def __init__(self) -> None:
        self.version = 0
        self.value: Any = None
        self.watchers = 0
        self.changed = asyncio.Event()
        self.loading: asyncio.Task | None = None
        self.stale = False

    def publish(self, value: Any) -> None:
        self.version += 1
        self.value = value
        changed, self.changed = self.changed, asyncio.Event()
        changed.set()


class Watch:
    """What one waiter sees of its key: every value loaded after it started watching."""

    def __init__(self, topic: Topic, refresh: Callable[[], Awaitable[None]]) -> None:
        self._topic = topic
        self._refresh = refresh
        self._seen = topic.version

    async def current(self) -> Any:
        """The key's value as of now: the one loaded since it last changed, or one loaded for every
        waiter that asks before anything else does (500 waiters on one key: one read)."""
        topic = self._topic
        if topic.version == 0:
            if topic.loading is None or topic.loading.done():
                topic.loading = asyncio.get_running_loop().create_task(self._refresh())
            await asyncio.shield(topic.loading)
        self._seen = topic.version
        return topic.value

    async def next_value(self) -> Any:
        """The first value loaded after the last one this watch returned (waits for it)."""
        while self._topic.version == self._seen:
            await self._topic.changed.wait()
        self._seen = self._topic.version
        return self._topic.value


class _LoopHub:
    def __init__(self) -> None:
        self.topics: dict[str, Topic] = {}
        self.ready = asyncio.Event()
        self.reader: asyncio.Task | None = None


class Hub:
    """Waiters on keys of one group; `keys` names the keys a message concerns, `load` reads one."""

    def __init__(
        self,
        *,
        group: str,
        keys: Callable[[dict[str, Any]], Iterable[str]],
        load: Callable[[str], Awaitable[Any]],
    ) -> None:
        self.group = group
        self.keys = keys
        self.load = load
        self._loops: dict[asyncio.AbstractEventLoop, _LoopHub] = {}

    @contextlib.asynccontextmanager
    async def watch(self, key: str) -> AsyncIterator[Watch]:
        """Watch `key`. The group is joined before this yields, so a change committed after it
        (read the current state inside) is never missed."""
        local = await self._joined()
        topic = local.topics.get(key)
        if topic is None:
            topic = local.topics[key] = Topic()
        topic.watchers += 1
        try:
            yield Watch(topic, lambda: self._refresh(key, topic))
        finally:
            topic.watchers -= 1
            if topic.watchers == 0 and local.topics.get(key) is topic:
                del local.topics[key]

    def watchers(self) -> int:
        """Waiters watching in the running event loop."""
        local = self._loops.get(asyncio.get_running_loop())
        return sum(topic.watchers for topic in local.topics.values()) if local else 0

    async def _joined(self) -> _LoopHub:
        loop = asyncio.get_running_loop()
        for other in [other for other in self._loops if other.is_closed()]:
            del self._loops[other]
        local = self._loops.get(loop)
        if local is None or (local.reader is not None and local.reader.done()):
            local = self._loops[loop] = _LoopHub()
            local.reader = loop.create_task(self._read(local), name=f"hub-{self.group}")
        await local.ready.wait()
        return local

    async def _read(self, local: _LoopHub) -> None:
        layer = get_channel_layer()
        while True:
            try:
                channel = await layer.new_channel()
                await layer.group_add(self.group, channel)
                local.ready.set()
                while True:
                    self._dispatch(local, await layer.receive(channel))
            except asyncio.CancelledError:
                raise
            except Exception:  # the reader must outlive a restarting Redis or database
                logger.exception("hub for %s lost its subscription; joining again", self.group)
                await asyncio.sleep(RETRY_DELAY)

    def _dispatch(self, local: _LoopHub, message: dict[str, Any]) -> None:
        for key in self.keys(message):
            topic = local.topics.get(key)
            if topic is None:
                continue
            if topic.loading is not None and not topic.loading.done():
                topic.stale = True  # loaded again when the load under way ends
                continue
            topic.loading = asyncio.get_running_loop().create_task(self._refresh(key, topic))

    async def _refresh(self, key: str, topic: Topic) -> None:
        while True:
            topic.stale = False
            try:
                topic.publish(await self.load(key))
            except Exception:  # waiters keep waiting; each reads the state again at its deadline
                logger.exception("hub for %s could not load %s", self.group, key)
            if not topic.stale:
                return
