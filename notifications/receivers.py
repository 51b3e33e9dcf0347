"""Reviewers are told of a held action as soon as its hold (or an edit that keeps it held) commits:
the action row carries the notice (approvals.services.held_notices_take), and the hold wakes the
workers, which queue the deliveries (notifications.tasks.held_notices_send)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from approvals.signals import action_held
from worker.wakeup import wake_workers


@receiver(action_held)
def wake_workers_for_held_action(sender: Any, action_id: Any, **kwargs: Any) -> None:
    wake_workers()
