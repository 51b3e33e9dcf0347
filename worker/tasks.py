"""Background tasks: they take ids, never model instances, and call one service each."""

from __future__ import annotations

from uuid import UUID

from django_tasks import TaskContext, task

from worker.executor import run_action
from worker.wakeup import wake_workers


def enqueue_execution(*, action_id: UUID) -> None:
    execute_action.enqueue(action_id=str(action_id))
    wake_workers()


@task(takes_context=True)
def execute_action(context: TaskContext, action_id: str) -> str:
    worker_ids = context.task_result.worker_ids
    return run_action(action_id=action_id, worker_id=worker_ids[-1] if worker_ids else "unknown")
