"""Whether the channel layer relays messages between processes now: what readiness asks of it."""

from __future__ import annotations

import asyncio
import weakref

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import DatabaseError

from realtime.layers import DatabaseChannelLayer, _newest_id

PROBE_TIMEOUT = 2.0
PROBE_MESSAGE = {"type": "health.probe"}

# One probe channel per event loop, reused: a channel layer keeps every channel it has subscribed.
_probe_channels: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, str] = weakref.WeakKeyDictionary()


async def channel_layer_problem() -> str | None:
    """None when a message sent through the layer comes back; otherwise why it does not."""
    layer = get_channel_layer()
    if layer is None:
        return "no channel layer configured"
    if isinstance(layer, DatabaseChannelLayer):
        # Its relay is a table in the default database: reading the table is the round trip.
        try:
            await sync_to_async(_newest_id)()
        except DatabaseError as exc:
            return f"relay table unreadable: {type(exc).__name__}"
        return None
    loop = asyncio.get_running_loop()
    try:
        channel = _probe_channels.get(loop)
        if channel is None:
            channel = _probe_channels[loop] = await asyncio.wait_for(layer.new_channel("health."), PROBE_TIMEOUT)
        await asyncio.wait_for(layer.send(channel, PROBE_MESSAGE), PROBE_TIMEOUT)
        await asyncio.wait_for(layer.receive(channel), PROBE_TIMEOUT)
    except Exception as exc:  # a probe answers "not ready", whatever the layer raised
        # A timed-out receive drops the layer's subscription, so the next probe starts afresh.
        _probe_channels.pop(loop, None)
        return f"no round trip through the channel layer: {type(exc).__name__}"
    return None
