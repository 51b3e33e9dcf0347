"""What every page socket shares: session login, a periodic re-check, logout, and one render per event.

A subclass says who may listen (`allowed`, run in a thread with database access) and which groups
it joins; this base closes the socket with 4003 when that stops being true (checked at most every
`RECHECK_SECONDS`, when an event arrives) and with 4001 as soon as its session logs out.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.contrib.auth import get_user_model

from realtime.broadcast import session_group

CLOSE_FORBIDDEN = 4003
CLOSE_LOGGED_OUT = 4001
RECHECK_SECONDS = 30.0


class SessionConsumer(AsyncWebsocketConsumer):
    """A logged-in page's socket. Subclasses implement `allowed` and `groups`."""

    def allowed(self) -> bool:
        """Whether `self.user` may have this socket (reads `self.query`); runs with database access.

        Fails closed: a subclass that does not say who may listen lets nobody in.
        """
        return False

    def groups_to_join(self) -> list[str]:
        """Groups besides the session's, joined once `allowed` said yes."""
        return []

    async def accepted(self) -> None:
        """Called once the socket is open, e.g. to send the current state."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        session = self.scope.get("session")
        if user is None or not user.is_authenticated or session is None or not session.session_key:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.user = user
        self.query = parse_qs(self.scope.get("query_string", b"").decode(errors="replace"))
        self.recheck_at = time.monotonic() + RECHECK_SECONDS
        self.groups_joined: list[str] = []
        if not await database_sync_to_async(self.allowed)():
            await self.close(code=CLOSE_FORBIDDEN)
            return
        for group in [session_group(session.session_key), *self.groups_to_join()]:
            await self.join(group)
        await self.accept()
        await self.accepted()

    def query_value(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    async def join(self, group: str) -> None:
        if group not in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.append(group)

    async def leave(self, group: str) -> None:
        if group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
            self.groups_joined.remove(group)

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Pages only listen unless a subclass says otherwise."""

    def _still_allowed(self) -> bool:
        session = self.scope["session"]
        if not session.exists(session.session_key):
            return False
        self.user = get_user_model().objects.filter(pk=self.user.pk, is_active=True).first()
        return self.user is not None and self.allowed()

    async def allowed_now(self) -> bool:
        """Re-check the session and permission if it is time; close the socket if they are gone."""
        if time.monotonic() < self.recheck_at:
            return True
        self.recheck_at = time.monotonic() + RECHECK_SECONDS
        if await database_sync_to_async(self._still_allowed)():
            return True
        await self.close(code=CLOSE_FORBIDDEN)
        return False

    async def session_ended(self, event: dict[str, Any]) -> None:
        await self.close(code=CLOSE_LOGGED_OUT)


class SharedRenders:
    """One render per key per process, awaited by every socket that needs it (same bytes for all)."""

    def __init__(self, kept: int = 256) -> None:
        self._futures: OrderedDict[Hashable, asyncio.Future] = OrderedDict()
        self._kept = kept

    async def get(self, key: Hashable, render: Callable[..., Any], **kwargs: Any) -> Any:
        future = self._futures.get(key)
        if future is None or future.get_loop() is not asyncio.get_running_loop():
            future = asyncio.get_running_loop().create_future()
            self._futures[key] = future
            while len(self._futures) > self._kept:
                self._futures.popitem(last=False)
            try:
                future.set_result(await database_sync_to_async(render)(**kwargs))
            except Exception as exc:
                future.set_exception(exc)
                self._futures.pop(key, None)
                raise
        return await asyncio.shield(future)
