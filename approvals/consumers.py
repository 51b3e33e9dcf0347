"""/ws/approvals/: pushes rendered fragments to open queue and detail pages.

Queue sockets (reviewers only) get the changed rows their reviewer may decide (routing:
approvals/assignment.py), or their removal, plus fresh counts; a socket opened with
`?action=<id>` (anyone who may see that action) gets its live detail panel. Sockets close when
their session logs out.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs
from uuid import UUID

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.contrib.auth import get_user_model

from approvals import events
from approvals.assignment import viewer_for
from approvals.fragments import detail_fragment, queue_counts_html, queue_rows
from approvals.models import ActionType
from approvals.roles import is_reviewer
from approvals.selectors import QUEUE_LEVELS, action_get_for

logger = logging.getLogger(__name__)

CLOSE_FORBIDDEN = 4003
CLOSE_LOGGED_OUT = 4001
RECHECK_SECONDS = 30.0

# One render per broadcast per process, shared by every queue socket of this process: the rows
# under (sent, ids), the counts under (sent, viewer key).
_renders: OrderedDict[tuple[Any, ...], asyncio.Future] = OrderedDict()
_RENDERS_KEPT = 256


async def _shared(key: tuple[Any, ...], render: Callable[..., Any], **kwargs: Any) -> Any:
    future = _renders.get(key)
    if future is None or future.get_loop() is not asyncio.get_running_loop():
        future = asyncio.get_running_loop().create_future()
        _renders[key] = future
        while len(_renders) > _RENDERS_KEPT:
            _renders.popitem(last=False)
        try:
            future.set_result(await database_sync_to_async(render)(**kwargs))
        except Exception as exc:
            future.set_exception(exc)
            _renders.pop(key, None)
            raise
    return await asyncio.shield(future)


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


class ApprovalsConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        session = self.scope.get("session")
        if user is None or not user.is_authenticated or session is None or not session.session_key:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode(errors="replace"))
        self.user = user
        self.recheck_at = time.monotonic() + RECHECK_SECONDS
        self.action_id = _one(query, "action")
        self.seen_hash = _one(query, "seen")
        self.level = _one(query, "level") or None
        self.action_type = _one(query, "type") or None
        self.assigned_only = _one(query, "assigned") == "me"
        if not await database_sync_to_async(self._allowed)():
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.groups_joined = [
            events.session_group(session.session_key),
            events.action_group(self.action_id) if self.action_id else events.APPROVALS_GROUP,
        ]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    def _still_allowed(self) -> bool:
        """A long-lived socket re-checks its session and role now and then (logout is immediate)."""
        session = self.scope["session"]
        if not session.exists(session.session_key):
            return False
        self.user = get_user_model().objects.filter(pk=self.user.pk, is_active=True).first()
        return self.user is not None and self._allowed()

    def _allowed(self) -> bool:
        if self.action_id is not None:
            try:
                action_id = UUID(self.action_id)
            except ValueError:
                return False
            return action_get_for(action_id=action_id, user=self.user) is not None
        if self.level not in (None, *QUEUE_LEVELS) or self.action_type not in (None, *ActionType.values):
            return False
        self.viewer = viewer_for(self.user)
        return is_reviewer(self.user)

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Pages only listen; anything they send is ignored."""

    async def action_changed(self, event: dict[str, Any]) -> None:
        await self._changed([event["action_id"]], event.get("sent", 0.0))

    async def actions_changed(self, event: dict[str, Any]) -> None:
        """Many actions changed at once (a bulk decision): one message with every row."""
        await self._changed(event["action_ids"], event.get("sent", 0.0))

    async def _changed(self, action_ids: list[str], sent: float) -> None:
        if time.monotonic() >= self.recheck_at:
            self.recheck_at = time.monotonic() + RECHECK_SECONDS
            if not await database_sync_to_async(self._still_allowed)():
                await self.close(code=CLOSE_FORBIDDEN)
                return
        if self.action_id is not None:
            html = await database_sync_to_async(detail_fragment)(
                action_id=self.action_id, user=self.user, seen_hash=self.seen_hash
            )
        else:
            html = await self._queue_html(action_ids, sent)
        if html:
            await self.send(text_data=html)

    async def _queue_html(self, action_ids: list[str], sent: float) -> str:
        rows = await _shared(("rows", sent, tuple(action_ids)), queue_rows, action_ids=action_ids)
        parts = [
            row.for_socket(
                viewer=self.viewer, level=self.level, action_type=self.action_type, assigned_only=self.assigned_only
            )
            for row in rows
        ]
        if not any(parts):  # nothing this reviewer may see changed, so neither did their counts
            return ""
        counts = await _shared(("counts", sent, self.viewer.key), queue_counts_html, viewer=self.viewer)
        return "".join(parts) + counts

    async def session_ended(self, event: dict[str, Any]) -> None:
        await self.close(code=CLOSE_LOGGED_OUT)
