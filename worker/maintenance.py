"""Periodic upkeep run by every worker: expiry, escalation, what dead workers left behind, lost enqueues
(of actions and of callbacks)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from approvals.kinds.registry import decide_only_names
from approvals.models import Action, Status
from approvals.services import action_recover, actions_expire_due
from callbacks.maintenance import requeue_lost_callbacks
from review.escalation import actions_escalate_due
from rules.services import rules_expire_due
from worker.models import WORKER_ALIVE_WITHIN, WorkerHeartbeat
from worker.tasks import enqueue_execution
from worker.wakeup import wake_workers

logger = logging.getLogger(__name__)

TASK_PATH = "worker.tasks.execute_action"
LOST_AFTER = timedelta(seconds=10)
# Finished task rows only mirror what the action and its audit entries already record.
KEEP_FINISHED_TASKS = timedelta(days=1)


def _tasks_for(action_id: str):
    return DBTaskResult.objects.filter(task_path=TASK_PATH, args_kwargs__kwargs__action_id=action_id)


def recover_stale_actions(*, limit: int = 100) -> int:
    now = timezone.now()
    recovered = 0
    for action in Action.objects.filter(status=Status.EXECUTING, lease_expires_at__lt=now)[:limit]:
        if action_recover(action=action, reason="lease expired", now=now) is None:
            continue
        recovered += 1
        _tasks_for(str(action.id)).filter(status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.FAILED,
            finished_at=now,
            exception_class_path="worker.maintenance.WorkerLost",
            traceback="the worker running this task stopped renewing its lease",
        )
    return recovered


def reclaim_orphaned_tasks(*, limit: int = 100) -> int:
    """Tasks claimed by a worker that is no longer alive: back on the queue, or closed when nothing is left to do.

    An execution task goes back on the queue only while its action is still approved: its worker
    died between claiming the task and starting the action, so nothing ran, and action_start's
    compare-and-set lets exactly one worker start it. Once the action has started its lease decides
    (recover_stale_actions); once it has finished the task is closed. A notification task goes back
    on the queue as it is: a worker killed during a send may have sent it, so a delivery is at least once.
    """
    running = list(
        DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING)
        .order_by("started_at")
        .values("id", "task_path", "args_kwargs", "worker_ids", "started_at")[:limit]
    )
    if not running:
        return 0
    # Read after the tasks: a worker reports before its first claim, so the claimer of any task read
    # above is here unless it has been silent too long.
    alive = set(
        WorkerHeartbeat.objects.filter(last_seen__gte=timezone.now() - WORKER_ALIVE_WITHIN).values_list(
            "worker_id", flat=True
        )
    )
    reclaimed = 0
    for task in running:
        if task["worker_ids"] and task["worker_ids"][-1] in alive:
            continue
        # Compare-and-set on the claim: another worker may have reclaimed, and claimed, the task since.
        claim = DBTaskResult.objects.filter(
            id=task["id"], status=TaskResultStatus.RUNNING, started_at=task["started_at"]
        )
        if task["task_path"] != TASK_PATH:
            reclaimed += claim.update(status=TaskResultStatus.READY, started_at=None)
            continue
        action_id = task["args_kwargs"]["kwargs"]["action_id"]
        status = Action.objects.filter(id=action_id).values_list("status", flat=True).first()
        if status == Status.APPROVED:
            logger.warning("re-queueing approved action %s: the worker that claimed its task died", action_id)
            reclaimed += claim.update(status=TaskResultStatus.READY, started_at=None)
        elif status != Status.EXECUTING:
            claim.update(
                status=TaskResultStatus.FAILED,
                finished_at=timezone.now(),
                exception_class_path="worker.maintenance.WorkerLost",
                traceback="the worker running this task died after the action had finished",
            )
    if reclaimed:
        wake_workers()
    return reclaimed


def requeue_lost_actions(*, limit: int = 100) -> int:
    """Approved actions with no live task (the process died between commit and enqueue); a
    decide-only action waits for its requester, not for a worker."""
    cutoff = timezone.now() - LOST_AFTER
    requeued = 0
    waiting = Action.objects.filter(status=Status.APPROVED, approved_at__lt=cutoff).exclude(
        action_type__in=decide_only_names()
    )
    for action_id in waiting.values_list("id", flat=True)[:limit]:
        live = _tasks_for(str(action_id)).filter(status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING])
        if not live.exists():
            logger.warning("re-enqueueing approved action %s that had no task", action_id)
            enqueue_execution(action_id=action_id)
            requeued += 1
    return requeued


def prune_finished_tasks(*, limit: int = 5000) -> int:
    cutoff = timezone.now() - KEEP_FINISHED_TASKS
    finished = DBTaskResult.objects.filter(
        status__in=[TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED], finished_at__lt=cutoff
    ).values_list("id", flat=True)[:limit]
    deleted, _ = DBTaskResult.objects.filter(id__in=list(finished)).delete()
    return deleted


def run_maintenance() -> dict[str, int]:
    return {
        "expired": actions_expire_due(),
        "escalated": actions_escalate_due(),
        "recovered": recover_stale_actions(),
        "reclaimed": reclaim_orphaned_tasks(),
        "requeued": requeue_lost_actions(),
        "rules_expired": rules_expire_due(),
        "callbacks_requeued": requeue_lost_callbacks(),
    }
