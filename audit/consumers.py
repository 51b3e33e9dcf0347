"""/ws/audit/: pushes new audit entries to open history pages, auditors and staff only.

A socket carries the page's filters in its query string (the same form as the page); each new
entry is rendered once per web process and sent to the sockets whose filters it matches.
Sockets close when their session logs out, and re-check the user's role now and then.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.contrib.auth import get_user_model

from approvals import events
from approvals.roles import is_auditor
from audit.forms import AuditFilterForm
from audit.models import AuditEntry
from audit.presentation import entry_html
from audit.selectors import action_levels, audit_entry_get

CLOSE_FORBIDDEN = 4003
CLOSE_LOGGED_OUT = 4001
RECHECK_SECONDS = 30.0

_renders: OrderedDict[int, asyncio.Future] = OrderedDict()
_RENDERS_KEPT = 256


@dataclass(frozen=True)
class RenderedEntry:
    entry: AuditEntry
    level: str | None
    html: str


def render_entry(*, seq: int) -> RenderedEntry | None:
    entry = audit_entry_get(seq=seq)
    if entry is None:
        return None
    level = action_levels([entry.action_id]).get(str(entry.action_id)) if entry.action_id else None
    html = entry_html(entry=entry, level=level)
    return RenderedEntry(entry=entry, level=level, html=f'<ol id="audit-list" hx-swap-oob="afterbegin">{html}</ol>')


async def _shared_render(seq: int) -> RenderedEntry | None:
    """One render per entry per process, shared by every audit socket of this process."""
    future = _renders.get(seq)
    if future is None or future.get_loop() is not asyncio.get_running_loop():
        future = asyncio.get_running_loop().create_future()
        _renders[seq] = future
        while len(_renders) > _RENDERS_KEPT:
            _renders.popitem(last=False)
        try:
            future.set_result(await database_sync_to_async(render_entry)(seq=seq))
        except Exception as exc:
            future.set_exception(exc)
            _renders.pop(seq, None)
            raise
    return await asyncio.shield(future)


class AuditConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        session = self.scope.get("session")
        if user is None or not user.is_authenticated or session is None or not session.session_key:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode(errors="replace"))
        form = AuditFilterForm({name: values[0] for name, values in query.items() if values})
        self.user = user
        self.recheck_at = time.monotonic() + RECHECK_SECONDS
        if not form.is_valid() or not await database_sync_to_async(is_auditor)(user):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.filters = form.filters()
        self.groups_joined = [events.session_group(session.session_key), events.AUDIT_GROUP]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    def _still_allowed(self) -> bool:
        session = self.scope["session"]
        if not session.exists(session.session_key):
            return False
        self.user = get_user_model().objects.filter(pk=self.user.pk, is_active=True).first()
        return self.user is not None and is_auditor(self.user)

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Pages only listen; anything they send is ignored."""

    async def audit_appended(self, event: dict[str, Any]) -> None:
        if time.monotonic() >= self.recheck_at:
            self.recheck_at = time.monotonic() + RECHECK_SECONDS
            if not await database_sync_to_async(self._still_allowed)():
                await self.close(code=CLOSE_FORBIDDEN)
                return
        rendered = await _shared_render(int(event["seq"]))
        if rendered is not None and self.filters.matches(entry=rendered.entry, security_level=rendered.level):
            await self.send(text_data=rendered.html)

    async def session_ended(self, event: dict[str, Any]) -> None:
        await self.close(code=CLOSE_LOGGED_OUT)
