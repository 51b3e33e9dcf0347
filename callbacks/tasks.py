"""The callback task, and the one module that queues it: one task per action sends its deliveries
in order; the services say whether to try again and when. Tasks take ids, never model instances."""

from __future__ import annotations

from uuid import UUID

from django_tasks import task

from callbacks.services import callbacks_deliver
from worker.wakeup import wake_workers


def enqueue_callbacks(*, action_id: UUID) -> None:
    """Called on commit once a delivery was recorded for the action (and by the lost-task sweep)."""
    deliver_callbacks.enqueue(action_id=str(action_id))
    wake_workers()


@task()
def deliver_callbacks(action_id: str) -> str:
    retry_at = callbacks_deliver(action_id=UUID(action_id))
    if retry_at is None:
        return "done"
    deliver_callbacks.using(run_after=retry_at).enqueue(action_id=action_id)
    return "retrying"
