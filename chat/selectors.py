"""Reads of conversations and messages; a conversation exists only for its owner."""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Prefetch

from approvals.models import Approval
from chat.models import Conversation, Message

CONVERSATIONS_SHOWN = 100


def conversation_list(*, user: AbstractBaseUser) -> list[Conversation]:
    queryset = Conversation.objects.filter(owner_id=user.pk, deleted_at__isnull=True).order_by("-updated_at")
    return list(queryset[:CONVERSATIONS_SHOWN])


def conversation_get_for(*, conversation_id: UUID | str, user: AbstractBaseUser) -> Conversation | None:
    return Conversation.objects.filter(id=conversation_id, owner_id=user.pk, deleted_at__isnull=True).first()


def _messages():
    decisions = Approval.objects.filter(voided_at__isnull=True, user__isnull=False).select_related("user")
    return Message.objects.select_related("action").prefetch_related(
        Prefetch("action__approvals", queryset=decisions, to_attr="decisions")
    )


def conversation_messages(*, conversation: Conversation) -> list[Message]:
    return list(_messages().filter(conversation=conversation).order_by("created_at", "id"))


def message_get_for(*, action_id: UUID | str, user: AbstractBaseUser) -> Message | None:
    """The message of the action `action_id`, if `user` owns its (undeleted) conversation."""
    return (
        _messages()
        .filter(action_id=action_id, conversation__owner_id=user.pk, conversation__deleted_at__isnull=True)
        .first()
    )
