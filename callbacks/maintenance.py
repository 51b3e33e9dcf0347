"""Deliveries whose task was lost (the process died between commit and enqueue, or mid-attempt):
the workers' periodic upkeep queues them again."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from callbacks.models import CallbackDelivery, DeliveryStatus
from callbacks.tasks import enqueue_callbacks

logger = logging.getLogger(__name__)

TASK_PATH = "callbacks.tasks.deliver_callbacks"
LOST_AFTER = timedelta(seconds=10)


def requeue_lost_callbacks(*, limit: int = 100) -> int:
    """Actions with a delivery overdue by LOST_AFTER and no queued task. A running task does not
    count: one that was alive would have claimed the delivery, which moves its due time ahead."""
    cutoff = timezone.now() - LOST_AFTER
    overdue = (
        CallbackDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lt=cutoff)
        .order_by()
        .values_list("action_id", flat=True)
        .distinct()
    )
    requeued = 0
    for action_id in overdue[:limit]:
        queued = DBTaskResult.objects.filter(
            task_path=TASK_PATH, args_kwargs__kwargs__action_id=str(action_id), status=TaskResultStatus.READY
        )
        if not queued.exists():
            logger.warning("re-enqueueing callbacks for action %s that had no task", action_id)
            enqueue_callbacks(action_id=action_id)
            requeued += 1
    return requeued
