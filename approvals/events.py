"""Outbound events about actions: group names and payload shapes live here only.

Payloads carry ids and JSON primitives; consumers re-read the database to render. Services call
these from inside the transaction that made the change: on the database channel layer the event
is written in that same transaction (it commits or rolls back with the change); on any other
layer it is sent by `transaction.on_commit`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any
from uuid import UUID

from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

APPROVALS_GROUP = "approvals"
SEND_TIMEOUT = 5.0

_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()
# Inside `queue_changes_coalesced()`: the ids whose queue rows changed, announced together at its end.
_coalesced: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("coalesced_queue_changes", default=None)


def action_group(action_id: UUID | str) -> str:
    return f"action.{action_id}"


def session_group(session_key: str) -> str:
    """A group per login session (hashed: group names travel through the channel layer's storage)."""
    return "session." + hashlib.sha256(session_key.encode()).hexdigest()[:40]


def _publish(groups: list[str], message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    if hasattr(type(layer), "group_send_in_transaction"):  # class lookup: some layers proxy attributes per loop
        layer.group_send_in_transaction(groups, message)
    else:
        transaction.on_commit(lambda: _send(layer, groups, message))


def _sender_loop() -> asyncio.AbstractEventLoop:
    """One event loop per process for after-commit sends, so layers keep their connections warm
    (a fresh loop per send would open a new Redis connection every time)."""
    global _loop
    with _loop_lock:
        if _loop is None or _loop.is_closed():
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="channel-layer-sender", daemon=True).start()
        return _loop


def _send(layer: Any, groups: list[str], message: dict[str, Any]) -> None:
    async def send() -> None:
        for group in groups:
            await layer.group_send(group, message)

    try:
        asyncio.run_coroutine_threadsafe(send(), _sender_loop()).result(timeout=SEND_TIMEOUT)
    except Exception:  # a broadcast failure after commit must not fail the request
        logger.exception("broadcast %s to %s failed", message.get("type"), groups[0])


def action_changed(*, action_id: UUID | str, status: str) -> None:
    """Announce a change to an action. `sent` identifies this one broadcast, so a web process
    renders it once for all its clients."""
    message = {"type": "action.changed", "action_id": str(action_id), "status": status, "sent": time.time()}
    batch = _coalesced.get()
    if batch is None:
        _publish([APPROVALS_GROUP, action_group(action_id)], message)
    elif str(action_id) not in batch:
        batch.append(str(action_id))


@contextlib.contextmanager
def queue_changes_coalesced() -> Iterator[None]:
    """Changes to many actions (a bulk decision) are announced as one `actions.changed` broadcast
    at the end, so each web process renders the rows and counts once, each queue socket gets one
    message, not one per action, and the request sends once instead of once per action. Use it
    outside the per-action transactions: the broadcast follows their commits."""
    if _coalesced.get() is not None:  # already inside a batch: the outer one announces
        yield
        return
    batch: list[str] = []
    token = _coalesced.set(batch)
    try:
        yield
    finally:
        _coalesced.reset(token)
        if batch:
            actions_changed(action_ids=batch)


def actions_changed(*, action_ids: list[str]) -> None:
    """Announce that these actions changed, to the queues and to each action's own pages
    (see queue_changes_coalesced)."""
    message = {"type": "actions.changed", "action_ids": action_ids, "sent": time.time()}
    _publish([APPROVALS_GROUP, *(action_group(action_id) for action_id in action_ids)], message)


def session_ended(*, session_key: str) -> None:
    """Close the sockets a session opened (on logout)."""
    _publish([session_group(session_key)], {"type": "session.ended"})


AUDIT_GROUP = "audit"


def audit_appended(*, seq: int) -> None:
    """Announce a new audit entry to open audit pages (auditors' sockets only join this group)."""
    _publish([AUDIT_GROUP], {"type": "audit.appended", "seq": seq})
