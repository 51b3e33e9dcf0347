"""Reviewers are told of a held action as soon as its hold (or an edit that keeps it held) commits:
the task that tells them is queued in that transaction."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.dispatch import receiver

from approvals.signals import action_held
from notifications.tasks import enqueue_held_notification


@receiver(action_held)
def notify_reviewers_of_held_action(sender: Any, action_id: UUID, **kwargs: Any) -> None:
    enqueue_held_notification(action_id=action_id)
