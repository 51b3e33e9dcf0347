"""Background tasks: they take ids, never model instances, and call one service each."""

from __future__ import annotations

from django_tasks import TaskContext, task

from approvals.executor import run_action


@task(takes_context=True)
def execute_action(context: TaskContext, action_id: str) -> str:
    worker_ids = context.task_result.worker_ids
    return run_action(action_id=action_id, worker_id=worker_ids[-1] if worker_ids else "unknown")
