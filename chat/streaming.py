"""The worker's side of a streaming reply: tokens out to the page as they arrive, stop requests in.

The LLM loop only appends to a queue; one publisher thread per process drains it, so tokens that
arrive while a publish is under way go out together in the next one (coalescing costs nothing when
the stream is slow, and bounds the publishes when it is fast). The thread lives as long as the
process, so its database connection and channel-layer connection stay open between replies. Each
publish writes the reply so far to the message row before (database layer: in the same
transaction as) the broadcast, so a page that loads or reconnects mid-stream misses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from typing import Any

from channels.layers import get_channel_layer
from django.db import connection, transaction

from approvals.models import Action
from chat import events
from chat.models import Message

logger = logging.getLogger(__name__)

STOP_POLL = 0.1  # seconds between checks for the user's stop request
FLUSH_TIMEOUT = 10.0  # seconds a finished reply waits for its last tokens to be published
IDLE_CLOSE = 5.0  # seconds without tokens after which the publisher closes its database connection
_DONE = object()


def utf16_length(text: str) -> int:
    """Offsets count UTF-16 code units, as the browser's string length does."""
    return len(text.encode("utf-16-le")) // 2


class ReplyStream:
    """Use as a context manager around the LLM loop: `push` each delta, check `stopped`."""

    def __init__(self, *, action: Action) -> None:
        row = (
            Message.objects.filter(action_id=action.id, conversation__owner_id=action.requested_by_id)
            .values_list("id", "conversation_id")
            .first()
        )
        self.action_id = action.id
        self.message_id, self.conversation_id = row if row else (None, None)
        self.parts: list[str] = []
        self.stopped = threading.Event()
        self.published = ""  # the text the page has been sent, and its UTF-16 length: kept by the publisher
        self.published_length = 0
        self.flushed = threading.Event()
        self._closing = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def __enter__(self) -> ReplyStream:
        if self.message_id is None:
            return self  # a chat from the API without a conversation: nobody is watching it stream
        self._watcher = threading.Thread(target=self._watch_stop, name=f"chat-stop-{self.action_id}", daemon=True)
        self._watcher.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.message_id is None:
            return
        self._closing.set()
        _publisher.submit(self, _DONE)
        if not self.flushed.wait(FLUSH_TIMEOUT):
            logger.warning("chat %s: the last tokens were not published in time", self.action_id)
        self._watcher.join()

    def push(self, delta: str) -> None:
        self.parts.append(delta)
        if self.message_id is not None:
            _publisher.submit(self, (delta, time.time()))

    def _watch_stop(self) -> None:
        try:
            while not self._closing.wait(STOP_POLL):
                if Message.objects.filter(id=self.message_id, stop_requested_at__isnull=False).exists():
                    self.stopped.set()
                    return
        except Exception:
            logger.exception("chat %s: checking for a stop request failed", self.action_id)
        finally:
            connection.close()


class _Publisher:
    """The process's publisher thread, started on first use."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[ReplyStream, Any]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, stream: ReplyStream, item: Any) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="chat-publisher", daemon=True)
                self._thread.start()
        self._queue.put((stream, item))

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        layer = get_channel_layer()
        while True:
            try:
                batch = [self._queue.get(timeout=IDLE_CLOSE)]
            except queue.Empty:
                connection.close()  # reopened on the next reply; an idle one must not pin the database
                batch = [self._queue.get()]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            by_stream: dict[ReplyStream, list[Any]] = {}
            for stream, item in batch:
                by_stream.setdefault(stream, []).append(item)
            for stream, items in by_stream.items():
                deltas = [item for item in items if item is not _DONE]
                try:
                    if deltas:
                        _publish(layer, loop, stream, deltas)
                except Exception:
                    logger.exception("chat %s: publishing the reply failed", stream.action_id)
                    connection.close()  # a broken connection must not fail the next publish too
                if len(deltas) < len(items):
                    # A reply ends like a request: the connection is kept only as long as CONN_MAX_AGE allows.
                    connection.close_if_unusable_or_obsolete()
                    stream.flushed.set()


_publisher = _Publisher()


def _publish(layer: Any, loop: asyncio.AbstractEventLoop, stream: ReplyStream, deltas: list[tuple[str, float]]) -> None:
    chunk = "".join(delta for delta, _sent in deltas)
    offset = stream.published_length
    stream.published += chunk
    stream.published_length += utf16_length(chunk)
    message = events.tokens_message(action_id=stream.action_id, offset=offset, text=chunk, sent=deltas[0][1])
    group = events.conversation_group(stream.conversation_id)
    in_transaction = layer is not None and hasattr(type(layer), "group_send_in_transaction")
    with transaction.atomic():
        Message.objects.filter(id=stream.message_id).update(reply=stream.published)
        if in_transaction:
            layer.group_send_in_transaction([group], message)
    if layer is not None and not in_transaction:
        loop.run_until_complete(layer.group_send(group, message))
