"""Every write to conversations and messages. A message is a chat action made by action_create,
so it is classified, screened, audited and run like any other action."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from approvals.exceptions import ActionNotPending
from approvals.models import Status
from approvals.services import action_create
from audit.services import audit_append
from chat import events
from chat.kind import CHAT
from chat.models import Conversation, Message

TITLE_LENGTH = 60
STOPPABLE = (Status.APPROVED, Status.EXECUTING)


def _title_from(text: str) -> str:
    title = " ".join(text.split())
    return title if len(title) <= TITLE_LENGTH else title[: TITLE_LENGTH - 1].rstrip() + "…"


def conversation_create(*, user: AbstractBaseUser, title: str = "") -> Conversation:
    now = timezone.now()
    with transaction.atomic():
        conversation = Conversation.objects.create(
            owner=user, title=_title_from(title) or "New conversation", created_at=now, updated_at=now
        )
        audit_append(
            actor=user.get_username(),
            event="chat.conversation_created",
            data={"conversation_id": str(conversation.id), "title": conversation.title},
        )
    return conversation


def conversation_rename(*, conversation: Conversation, user: AbstractBaseUser, title: str) -> Conversation:
    old = conversation.title
    with transaction.atomic():
        Conversation.objects.filter(id=conversation.id).update(title=title, updated_at=timezone.now())
        audit_append(
            actor=user.get_username(),
            event="chat.conversation_renamed",
            data={"conversation_id": str(conversation.id), "old": old, "new": title},
        )
    conversation.refresh_from_db()
    return conversation


def conversation_delete(*, conversation: Conversation, user: AbstractBaseUser) -> None:
    """Hide the conversation from its owner and stop any reply still being written.

    Its chat actions and their audit entries stay: they are the record of what was asked and answered.
    """
    now = timezone.now()
    with transaction.atomic():
        Conversation.objects.filter(id=conversation.id, deleted_at__isnull=True).update(deleted_at=now)
        running = Message.objects.filter(
            conversation=conversation, action__status__in=STOPPABLE, stop_requested_at__isnull=True
        )
        stopped = [str(action_id) for action_id in running.values_list("action_id", flat=True)]
        running.update(stop_requested_at=now)
        audit_append(
            actor=user.get_username(),
            event="chat.conversation_deleted",
            data={"conversation_id": str(conversation.id), "title": conversation.title, "stopped": stopped},
        )
        events.conversation_closed(conversation_id=conversation.id)


def message_send(*, conversation: Conversation, user: AbstractBaseUser, text: str, model: str = "") -> Message:
    """Create the chat action and its message together; the worker starts only after both commit."""
    parameters = {"message": text, "conversation_id": str(conversation.id)}
    if model:
        parameters["model"] = model
    now = timezone.now()
    with transaction.atomic():
        action = action_create(user=user, action_type=CHAT, parameters=parameters)
        message = Message.objects.create(conversation=conversation, action=action, created_at=now)
        Conversation.objects.filter(id=conversation.id).update(updated_at=now)
        events.message_added(conversation_id=conversation.id, action_id=action.id)
    return message


def message_stop(*, message: Message, user: AbstractBaseUser) -> None:
    """Ask the worker to stop writing the reply; it keeps what it has and completes with `stopped`."""
    with transaction.atomic():
        updated = Message.objects.filter(
            id=message.id, action__status__in=STOPPABLE, stop_requested_at__isnull=True
        ).update(stop_requested_at=timezone.now())
        if not updated:
            raise ActionNotPending("this reply is not being written any more")
        audit_append(actor=user.get_username(), event="chat.stop_requested", action_id=message.action_id)
