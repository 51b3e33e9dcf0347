"""Outbound events about actions: group names and payload shapes live here only.

Payloads carry ids and JSON primitives; consumers re-read the database to render.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any
from uuid import UUID

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

APPROVALS_GROUP = "approvals"


def action_group(action_id: UUID | str) -> str:
    return f"action.{action_id}"


def session_group(session_key: str) -> str:
    """A group per login session (hashed: group names travel through the channel layer's storage)."""
    return "session." + hashlib.sha256(session_key.encode()).hexdigest()[:40]


def _send(groups: list[str], message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return

    async def send() -> None:
        for group in groups:
            await layer.group_send(group, message)

    try:
        async_to_sync(send)()
    except Exception:  # a broadcast failure must not fail the request that committed
        logger.exception("broadcast %s to %s failed", message.get("type"), groups[0])


def action_changed(*, action_id: UUID | str, status: str) -> None:
    """Broadcast a change to an action; never raises, since it runs after the commit.

    `sent` identifies this one broadcast, so a process renders it once for all its clients.
    """
    message = {"type": "action.changed", "action_id": str(action_id), "status": status, "sent": time.time()}
    _send([APPROVALS_GROUP, action_group(action_id)], message)


def session_ended(*, session_key: str) -> None:
    """Close the sockets a session opened (on logout)."""
    _send([session_group(session_key)], {"type": "session.ended"})
