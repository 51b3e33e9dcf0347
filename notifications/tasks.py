"""The notification tasks, and the one module that queues them: the services say who is told and
whether to try again; these put each delivery on the queue. Tasks take ids, never model instances."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from approvals.services import held_notices_take
from notifications.channels import EMAIL, ESCALATION
from notifications.services import (
    RETRYING,
    SKIPPED,
    escalation_fan_out,
    notification_deliver,
    notification_fan_out,
    notification_split,
    retry_delay,
)
from worker.wakeup import wake_workers


def held_notices_send(*, limit: int = 50) -> int:
    """Queue the telling of reviewers of each held action that is still due (every worker calls it
    each round, and a held action's row wakes them): one delivery per reviewer and webhook, queued
    in the transaction that takes the action off the list. Returns how many actions it took."""
    with transaction.atomic():
        taken = held_notices_take(limit=limit)
        queued = sum(len(_enqueue_all(action_id, notification_fan_out(action_id=action_id))) for action_id in taken)
        if queued:
            wake_workers()
    return len(taken)


def enqueue_escalation_notification(*, action_id: UUID) -> None:
    """Called on commit when an action is escalated: one delivery per member of the escalation group."""
    targets = escalation_fan_out(action_id=action_id)
    if not targets:
        return
    _enqueue_all(action_id, targets)
    wake_workers()


@task()
def notify_action_held(action_id: str) -> list[str]:
    """Queued by releases before held actions carried their own notice (`held_notices_send`); kept
    so such tasks still run during and after an upgrade. Queue one delivery per reviewer and
    webhook. All are queued in one transaction, so a crash halfway leaves none queued and the
    task's own retry does not send twice.
    Returns the `channel:target` of each delivery."""
    return _enqueue_all(UUID(action_id), notification_fan_out(action_id=UUID(action_id)))


@task()
def deliver_notification(action_id: str, channel: str, target: str, attempt: int) -> str:
    if channel in (EMAIL, ESCALATION) and not target:
        # Queued before deliveries were per recipient: split it now, so each is retried alone.
        if _enqueue_all(UUID(action_id), notification_split(action_id=UUID(action_id), channel=channel)):
            wake_workers()
        return SKIPPED
    outcome = notification_deliver(action_id=UUID(action_id), channel=channel, target=target, attempt=attempt)
    if outcome == RETRYING:
        run_after = timezone.now() + retry_delay(attempt)
        _enqueue_delivery(
            action_id=UUID(action_id), channel=channel, target=target, attempt=attempt + 1, run_after=run_after
        )
    return outcome


def _enqueue_all(action_id: UUID, targets: list[tuple[str, str]]) -> list[str]:
    with transaction.atomic():
        for channel, target in targets:
            _enqueue_delivery(action_id=action_id, channel=channel, target=target, attempt=1)
    return [f"{channel}:{target}" for channel, target in targets]


def _enqueue_delivery(
    *, action_id: UUID, channel: str, target: str, attempt: int, run_after: datetime | None = None
) -> None:
    deliver = deliver_notification.using(run_after=run_after) if run_after else deliver_notification
    deliver.enqueue(action_id=str(action_id), channel=channel, target=target, attempt=attempt)
