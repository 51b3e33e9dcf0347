"""The broadcast API every app publishes through: group names shared by all sockets, and one
`publish` that writes in the caller's transaction or sends on commit.

Payloads carry ids and JSON primitives; consumers re-read the database to render. On the database
channel layer the message is written in the caller's transaction (it commits or rolls back with
the change); on any other layer it is sent by `transaction.on_commit` (on Redis: queued for the
process's publisher thread, so it may leave just after the HTTP answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import logging
import threading
from collections.abc import Iterator
from typing import Any

from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

SEND_TIMEOUT = 5.0

_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()


def session_group(session_key: str) -> str:
    """A group per login session (hashed: group names travel through the channel layer's storage)."""
    return "session." + hashlib.sha256(session_key.encode()).hexdigest()[:40]


def written_in_transaction() -> bool:
    """Whether a broadcast is written in the caller's transaction (the database layer), rather than
    sent after its commit: a change made outside any transaction then writes its broadcasts apart."""
    return _writes_in_transaction(get_channel_layer())


def _writes_in_transaction(layer: Any) -> bool:
    # A class lookup: some layers proxy attributes per event loop.
    return layer is not None and hasattr(type(layer), "group_send_in_transaction")


def publish(groups: list[str], message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    if _writes_in_transaction(layer):
        layer.group_send_in_transaction(groups, message)
        return
    sends = [(group, message) for group in groups]
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        _Batch(layer, sends).send()
        return
    # Everything one transaction publishes goes out together after its commit: on Redis one
    # pipelined round trip, from this process's publisher thread.
    batch = _open_batch(connection)
    if batch is None:
        batch = _Batch(layer, [])
        connection.actionhub_broadcasts = batch
        transaction.on_commit(batch.send)
    batch.sends.extend(sends)


class _Batch:
    def __init__(self, layer: Any, sends: list[tuple[str, dict[str, Any]]]) -> None:
        self.layer = layer
        self.sends = sends

    def send(self) -> None:
        held = _held.get()
        if held is not None:  # inside broadcasts_held(): sent with everything else the block commits
            held.append((self.layer, self.sends))
            return
        _send(self.layer, self.sends)


# Inside `broadcasts_held()`: what each committed transaction would have sent, sent together at its end.
_held: contextvars.ContextVar[list[tuple[Any, list[tuple[str, dict[str, Any]]]]] | None] = contextvars.ContextVar(
    "held_broadcasts", default=None
)


@contextlib.contextmanager
def broadcasts_held() -> Iterator[None]:
    """Hold what the transactions inside the block broadcast until the block ends, then send it all
    in one round trip (a bulk decision: one transaction per action, one send per
    request). Only what committed is sent; on the database layer messages still commit with their
    transactions, so nothing is held there."""
    if _held.get() is not None:
        yield
        return
    held: list[tuple[Any, list[tuple[str, dict[str, Any]]]]] = []
    token = _held.set(held)
    try:
        yield
    finally:
        _held.reset(token)
        if held:
            _send(held[0][0], [send for _, sends in held for send in sends])


def _open_batch(connection: Any) -> _Batch | None:
    """The batch of the transaction under way, if it is still to be sent on its commit (a batch
    whose transaction rolled back has lost its callback: the next transaction starts anew)."""
    batch = getattr(connection, "actionhub_broadcasts", None)
    if batch is None:
        return None
    if any(callback == batch.send for _, callback, _ in connection.run_on_commit):
        return batch
    return None


def _sender_loop() -> asyncio.AbstractEventLoop:
    """One event loop per process for after-commit sends, so layers keep their connections warm
    (a fresh loop per send would open a new Redis connection every time)."""
    global _loop
    with _loop_lock:
        if _loop is None or _loop.is_closed():
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="channel-layer-sender", daemon=True).start()
        return _loop


def _send(layer: Any, sends: list[tuple[str, dict[str, Any]]]) -> None:
    try:
        if hasattr(layer, "publish_soon"):  # Redis: queued for the publisher thread, never waited for
            layer.publish_soon(sends)
            return

        async def send() -> None:
            for group, message in sends:
                await layer.group_send(group, message)

        asyncio.run_coroutine_threadsafe(send(), _sender_loop()).result(timeout=SEND_TIMEOUT)
    except Exception:  # a broadcast failure after commit must not fail the request
        group, message = sends[0]
        logger.exception("broadcast %s to %s failed", message.get("type"), group)


def broadcasts_drain(timeout: float = SEND_TIMEOUT) -> bool:
    """Wait until what this process queued for a publisher thread is sent (tests, and anything that
    must know its broadcasts left); True at once on layers that send as they go."""
    layer = get_channel_layer()
    if layer is None or not hasattr(layer, "publish_drain"):
        return True
    return layer.publish_drain(timeout)


def session_ended(*, session_key: str) -> None:
    """Close the sockets a session opened (on logout)."""
    publish([session_group(session_key)], {"type": "session.ended"})
