"""An approved action is queued for a worker as soon as its approval commits."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.dispatch import receiver

from approvals.signals import action_approved
from worker.tasks import enqueue_execution


@receiver(action_approved)
def queue_approved_action(sender: Any, action_id: UUID, **kwargs: Any) -> None:
    enqueue_execution(action_id=action_id)
