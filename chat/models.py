"""Conversations and their messages; each message is one chat action, its reply kept as it streams."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Conversation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="conversations")
    title = models.CharField(max_length=120)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    # Deleting hides a conversation from its owner; its actions and their audit entries stay.
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["owner", "deleted_at", "-updated_at"], name="conversation_owner_recent")]

    def __str__(self) -> str:
        return self.title


class Message(models.Model):
    """One user message (its chat action's parameters) and the reply as far as it has streamed."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    action = models.OneToOneField("approvals.Action", on_delete=models.PROTECT, related_name="chat_message")
    created_at = models.DateTimeField()
    # Written through as tokens are published, so a page loaded mid-stream starts from here.
    reply = models.TextField(blank=True, default="")
    stop_requested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"message {self.action_id}"
