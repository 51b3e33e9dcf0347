"""/ws/chat/?conversation=<id>: the owner's open conversation page, live.

Pushes each message's rendered state when its action changes (held, approved, streaming, done,
failed, rejected, expired), new messages from other tabs, and reply tokens as JSON
`{"tokens": {"action", "offset", "text"}}` that the page appends as text. On connect, and when the
page reports a gap, it sends the current state of unfinished messages, so nothing is missed.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs
from uuid import UUID

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.contrib.auth import get_user_model

from approvals import events as action_events
from approvals.consumers import CLOSE_FORBIDDEN, CLOSE_LOGGED_OUT, RECHECK_SECONDS
from approvals.models import Status
from chat import events
from chat.fragments import message_fragment
from chat.models import Message
from chat.selectors import conversation_get_for

FINAL = (Status.COMPLETED, Status.FAILED, Status.REJECTED, Status.EXPIRED)


class ChatConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        session = self.scope.get("session")
        if user is None or not user.is_authenticated or session is None or not session.session_key:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.user = user
        query = parse_qs(self.scope.get("query_string", b"").decode(errors="replace"))
        self.conversation_id = self._uuid((query.get("conversation") or [""])[0])
        if self.conversation_id is None or not await database_sync_to_async(self._owns_conversation)():
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.recheck_at = time.monotonic() + RECHECK_SECONDS
        self.groups_joined: list[str] = []
        for group in (
            action_events.session_group(session.session_key),
            events.conversation_group(self.conversation_id),
        ):
            await self._join(group)
        unfinished = await database_sync_to_async(self._unfinished)()
        for action_id in unfinished:
            await self._join(action_events.action_group(action_id))
        await self.accept()
        # Joined before reading: whatever changed before this read is in it, anything later arrives.
        for action_id in unfinished:
            await self._send_message(action_id)

    @staticmethod
    def _uuid(value: str) -> UUID | None:
        try:
            return UUID(value)
        except ValueError:
            return None

    def _owns_conversation(self) -> bool:
        return conversation_get_for(conversation_id=self.conversation_id, user=self.user) is not None

    def _unfinished(self) -> list[str]:
        rows = Message.objects.filter(conversation_id=self.conversation_id).exclude(action__status__in=FINAL)
        return [str(action_id) for action_id in rows.values_list("action_id", flat=True)]

    def _still_allowed(self) -> bool:
        session = self.scope["session"]
        if not session.exists(session.session_key):
            return False
        self.user = get_user_model().objects.filter(pk=self.user.pk, is_active=True).first()
        return self.user is not None and self._owns_conversation()

    async def _join(self, group: str) -> None:
        if group not in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.append(group)

    async def _send_message(self, action_id: str) -> None:
        html = await database_sync_to_async(message_fragment)(
            action_id=action_id, user=self.user, conversation_id=self.conversation_id
        )
        if html:
            await self.send(text_data=html)

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """The page may ask for one message again (`{"resync": "<action id>"}`) after a gap."""
        try:
            request = json.loads(text_data or "")
        except ValueError:
            return
        action_id = self._uuid(str(request.get("resync", ""))) if isinstance(request, dict) else None
        if action_id is not None:
            await self._send_message(str(action_id))

    # Events

    async def _allowed_now(self) -> bool:
        if time.monotonic() < self.recheck_at:
            return True
        self.recheck_at = time.monotonic() + RECHECK_SECONDS
        if await database_sync_to_async(self._still_allowed)():
            return True
        await self.close(code=CLOSE_FORBIDDEN)
        return False

    async def chat_tokens(self, event: dict[str, Any]) -> None:
        tokens = {"action": event["action_id"], "offset": event["offset"], "text": event["text"]}
        await self.send(text_data=json.dumps({"tokens": tokens, "sent": event.get("sent")}))

    async def chat_message_added(self, event: dict[str, Any]) -> None:
        if not await self._allowed_now():
            return
        await self._join(action_events.action_group(event["action_id"]))
        await self._send_message(event["action_id"])

    async def action_changed(self, event: dict[str, Any]) -> None:
        if not await self._allowed_now():
            return
        await self._send_message(event["action_id"])
        if event.get("status") in FINAL:
            group = action_events.action_group(event["action_id"])
            if group in self.groups_joined:
                await self.channel_layer.group_discard(group, self.channel_name)
                self.groups_joined.remove(group)

    async def chat_closed(self, event: dict[str, Any]) -> None:
        await self.close(code=CLOSE_FORBIDDEN)

    async def session_ended(self, event: dict[str, Any]) -> None:
        await self.close(code=CLOSE_LOGGED_OUT)
