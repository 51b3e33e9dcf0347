"""An approved action is queued for a worker in the transaction that approves it, unless its kind is
decide-only (its requester runs it): the task commits with the approval, or neither does."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.dispatch import receiver

from approvals.kinds.registry import decide_only_names
from approvals.signals import action_approved
from worker.tasks import enqueue_execution


@receiver(action_approved)
def queue_approved_action(sender: Any, action_id: UUID, action_type: str, **kwargs: Any) -> None:
    if action_type not in decide_only_names():
        enqueue_execution(action_id=action_id)
