"""Outbound events of the chat app: group names and payload shapes live here only.

Status changes of a message's action arrive through approvals.events (the action's group); this
module adds a group per conversation for new messages and reply tokens. Tokens carry their text
(JSON primitives, escaped by the page) and their offset in the reply, so a page can drop what it
already shows and notice what it missed.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from realtime.broadcast import publish


def conversation_group(conversation_id: UUID | str) -> str:
    return f"chat.{conversation_id}"


def message_added(*, conversation_id: UUID | str, action_id: UUID | str) -> None:
    publish([conversation_group(conversation_id)], {"type": "chat.message_added", "action_id": str(action_id)})


def conversation_closed(*, conversation_id: UUID | str) -> None:
    """The conversation was deleted: its open pages close their sockets."""
    publish([conversation_group(conversation_id)], {"type": "chat.closed"})


def tokens_message(*, action_id: UUID | str, offset: int, text: str, sent: float) -> dict[str, Any]:
    """`sent` is when the first of these tokens left the LLM server's stream, for the benchmark."""
    return {"type": "chat.tokens", "action_id": str(action_id), "offset": offset, "text": text, "sent": sent}
