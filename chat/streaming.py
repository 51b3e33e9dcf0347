"""The worker's side of a streaming reply: tokens out to the page as they arrive, stop requests in.

The LLM loop only appends to a queue; one publisher thread drains it, so tokens that arrive while a
publish is under way go out together in the next one (coalescing costs nothing when the stream is
slow, and bounds the publishes when it is fast). Each publish writes the reply so far to the
message row before (database layer: in the same transaction as) the broadcast, so a page that
loads or reconnects mid-stream starts from the row and never misses a token.
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
        self._closing = threading.Event()
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def __enter__(self) -> ReplyStream:
        if self.message_id is None:
            return self  # a chat from the API without a conversation: nobody is watching it stream
        for target, name in ((self._publish_loop, "publish"), (self._watch_stop, "stop-watch")):
            thread = threading.Thread(target=target, name=f"chat-{name}-{self.action_id}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._closing.set()
        self._queue.put(_DONE)
        for thread in self._threads:
            thread.join()

    def push(self, delta: str) -> None:
        self.parts.append(delta)
        if self.message_id is not None:
            self._queue.put((delta, time.time()))

    # Threads

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

    def _publish_loop(self) -> None:
        layer = get_channel_layer()
        loop = asyncio.new_event_loop()  # one per stream: the layer's connections stay warm across publishes
        text, offset, done = "", 0, False
        try:
            while not done:
                batch = [self._queue.get()]
                while True:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                done = batch[-1] is _DONE
                items = [item for item in batch if item is not _DONE]
                if not items:
                    continue
                chunk = "".join(delta for delta, _sent in items)
                text += chunk
                message = events.tokens_message(action_id=self.action_id, offset=offset, text=chunk, sent=items[0][1])
                self._publish(layer, loop, text, message)
                offset += utf16_length(chunk)
        except Exception:
            logger.exception("chat %s: publishing the reply failed", self.action_id)
        finally:
            loop.close()
            connection.close()

    def _publish(self, layer: Any, loop: asyncio.AbstractEventLoop, text: str, message: dict[str, Any]) -> None:
        group = events.conversation_group(self.conversation_id)
        in_transaction = layer is not None and hasattr(type(layer), "group_send_in_transaction")
        with transaction.atomic():
            Message.objects.filter(id=self.message_id).update(reply=text)
            if in_transaction:
                layer.group_send_in_transaction([group], message)
        if layer is not None and not in_transaction:
            loop.run_until_complete(layer.group_send(group, message))
