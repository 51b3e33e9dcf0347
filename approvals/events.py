"""Outbound events about actions: group names and payload shapes live here only.

Payloads carry ids and JSON primitives; consumers re-read the database to render.
"""

from __future__ import annotations

import logging
from uuid import UUID

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

APPROVALS_GROUP = "approvals"


def action_group(action_id: UUID | str) -> str:
    return f"action.{action_id}"


def action_changed(*, action_id: UUID | str, status: str) -> None:
    """Broadcast a status change; never raises, since it runs after the commit."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "action.changed", "action_id": str(action_id), "status": status}

    async def send() -> None:
        await layer.group_send(APPROVALS_GROUP, message)
        await layer.group_send(action_group(action_id), message)

    try:
        async_to_sync(send)()
    except Exception:  # a broadcast failure must not fail the request that committed
        logger.exception("broadcast of action %s failed", action_id)
