"""/ws/chat/?conversation=<id>: the owner's open conversation page, live.

Pushes each message's rendered state when its action changes (held, approved, streaming, done,
failed, rejected, expired), new messages from other tabs, and reply tokens as JSON
`{"tokens": {"action", "offset", "text"}}` that the page appends as text. On connect, and when the
page reports a gap, it sends the current state of unfinished messages, so nothing is missed.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from channels.db import database_sync_to_async

from approvals import events as action_events
from approvals.models import Status
from chat import events
from chat.fragments import message_fragment
from chat.models import Message
from chat.selectors import conversation_get_for
from realtime.consumers import CLOSE_FORBIDDEN, SessionConsumer

FINAL = (Status.COMPLETED, Status.FAILED, Status.REJECTED, Status.EXPIRED, Status.CANCELLED)


class ChatConsumer(SessionConsumer):
    def allowed(self) -> bool:
        self.conversation_id = self._uuid(self.query_value("conversation") or "")
        return self.conversation_id is not None and self._owns_conversation()

    def groups_to_join(self) -> list[str]:
        return [events.conversation_group(self.conversation_id)]

    async def accepted(self) -> None:
        unfinished = await database_sync_to_async(self._unfinished)()
        for action_id in unfinished:
            await self.join(action_events.action_group(action_id))
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

    async def _send_message(self, action_id: str) -> None:
        html = await database_sync_to_async(message_fragment)(
            action_id=action_id, user=self.user, conversation_id=self.conversation_id
        )
        if html:
            await self.send(text_data=html)

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

    async def chat_tokens(self, event: dict[str, Any]) -> None:
        tokens = {"action": event["action_id"], "offset": event["offset"], "text": event["text"]}
        await self.send(text_data=json.dumps({"tokens": tokens, "sent": event.get("sent")}))

    async def chat_message_added(self, event: dict[str, Any]) -> None:
        if not await self.allowed_now():
            return
        await self.join(action_events.action_group(event["action_id"]))
        await self._send_message(event["action_id"])

    async def action_changed(self, event: dict[str, Any]) -> None:
        if not await self.allowed_now():
            return
        await self._send_message(event["action_id"])
        if event.get("status") in FINAL:
            await self.leave(action_events.action_group(event["action_id"]))

    async def chat_closed(self, event: dict[str, Any]) -> None:
        await self.close(code=CLOSE_FORBIDDEN)
