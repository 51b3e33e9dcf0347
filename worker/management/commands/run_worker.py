"""The executor worker: runs approved actions and the periodic upkeep (expiry, recovery)."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import OperationalError, close_old_connections, connection, transaction
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from approvals.idempotency import idempotency_keys_prune
from approvals.models import Action, Status
from audit.services import audit_full_pass_step
from notifications.tasks import held_notices_send
from realtime.broadcast import broadcasts_drain
from skills.runner import sandbox_prepare, sandbox_shutdown
from worker.maintenance import TASK_PATH, prune_finished_tasks, run_maintenance
from worker.models import WorkerHeartbeat
from worker.wakeup import waiter

logger = logging.getLogger("worker")

PRUNE_INTERVAL = 3600.0


class _Liveness(threading.Thread):
    """Renews the worker's heartbeat row while the process lives, however long the task it runs.

    Other workers reclaim the tasks of a worker whose row goes silent (worker/maintenance.py), so
    the row must not wait for the main loop, which is busy for as long as an action runs.
    """

    def __init__(self, *, worker_id: str) -> None:
        super().__init__(name="liveness", daemon=True)
        self.worker_id = worker_id
        self.stopped = threading.Event()

    def beat(self) -> None:
        now = timezone.now()
        WorkerHeartbeat.objects.update_or_create(
            worker_id=self.worker_id,
            defaults={"pid": os.getpid(), "last_seen": now},
            create_defaults={"pid": os.getpid(), "last_seen": now, "started_at": now},
        )
        if settings.ACTIONHUB_WORKER_HEARTBEAT_FILE:
            # Only after the row is written: a worker cut off from the database looks unhealthy.
            Path(settings.ACTIONHUB_WORKER_HEARTBEAT_FILE).touch()

    def run(self) -> None:
        try:
            while not self.stopped.wait(settings.ACTIONHUB_MAINTENANCE_INTERVAL):
                try:
                    self.beat()
                except Exception:
                    logger.exception("heartbeat of worker %s failed", self.worker_id)
                    # A fresh connection at the next beat, once the database is back.
                    connection.close()
        finally:
            connection.close()


class ActionWorker(Worker):
    """django-tasks-db's worker with a fast wake-up, periodic upkeep and a bounded shutdown."""

    def __init__(self, *, grace: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.grace = grace
        self.current_action_id: str | None = None
        self.wait = waiter()
        self.next_maintenance = 0.0
        self.next_prune = 0.0

    def shutdown(self, signum: int, frame: FrameType | None) -> None:
        if not self.running and not self.running_task:
            # Already on the way out with nothing running: let the clean-up (the warm pool) finish.
            return
        if self.running and self.running_task:
            logger.warning("stopping: finishing the running action (at most %.0fs)", self.grace)
            self.running = False
            threading.Thread(target=self._release_after_grace, daemon=True).start()
            return
        super().shutdown(signum, frame)

    def _release_after_grace(self) -> None:
        time.sleep(self.grace)
        if self.current_action_id:
            # Expire our lease now so another worker recovers the action at once.
            Action.objects.filter(id=self.current_action_id, status=Status.EXECUTING, worker_id=self.worker_id).update(
                lease_expires_at=timezone.now()
            )
            logger.warning("grace period over: released action %s", self.current_action_id)
        sandbox_shutdown()
        broadcasts_drain(timeout=1.0)  # os._exit skips the publisher's own drain at exit
        os._exit(1)

    def maintain(self) -> None:
        now = time.monotonic()
        if now < self.next_maintenance:
            return
        self.next_maintenance = now + settings.ACTIONHUB_MAINTENANCE_INTERVAL
        try:
            counts = run_maintenance()
            # The audit chain's full pass, a bounded slice per round; the lease keeps it to one worker.
            counts["audit_pass"] = int(
                audit_full_pass_step(owner=str(self.worker_id)) in {"progress", "verified", "broken"}
            )
            if now >= self.next_prune:
                self.next_prune = now + PRUNE_INTERVAL
                counts["pruned_tasks"] = prune_finished_tasks()
                counts["pruned_idempotency_keys"] = idempotency_keys_prune()
        except Exception:
            logger.exception("maintenance failed")
            return
        if any(counts.values()):
            logger.info("maintenance: %s", counts)

    def queue_held_notices(self) -> None:
        """Queue the telling of reviewers of newly held actions; their deliveries are tasks like any other."""
        try:
            held_notices_send()
        except OperationalError as exc:
            if not is_locked_database_exception(exc):  # SQLite: another process holds the write lock
                logger.exception("could not queue the notices of held actions")
        except Exception:
            logger.exception("could not queue the notices of held actions")

    def claim(self) -> DBTaskResult | None:
        tasks = DBTaskResult.objects.ready().filter(backend_name=self.backend_name, queue_name__in=self.queue_names)
        try:
            with exclusive_transaction(tasks.db):
                task_result = tasks.get_locked()
                if task_result is not None:
                    task_result.claim(self.worker_id)
                return task_result
        except OperationalError as exc:
            if is_locked_database_exception(exc):  # SQLite: another process holds the write lock
                return None
            raise

    def run_task(self, db_task_result: DBTaskResult) -> None:
        # Only an execution holds its action under this worker's lease; notification tasks merely name one.
        action_id = db_task_result.args_kwargs.get("kwargs", {}).get("action_id")
        self.current_action_id = action_id if db_task_result.task_path == TASK_PATH else None
        try:
            super().run_task(db_task_result)
        finally:
            self.current_action_id = None

    def run(self) -> None:
        logger.info("worker %s started (queues %s)", self.worker_id, ",".join(self.queue_names))
        liveness = _Liveness(worker_id=str(self.worker_id))
        # Reported before the first claim: a claimed task whose worker has no fresh row is reclaimed.
        liveness.beat()
        liveness.start()
        sandbox_prepare()
        try:
            while self.running:
                close_old_connections()
                self.maintain()
                self.queue_held_notices()
                task_result = self.claim()
                if task_result is not None:
                    self.run_task(task_result)
                elif self.running:
                    self.wait(min(self.interval, settings.ACTIONHUB_MAINTENANCE_INTERVAL))
                if self.max_tasks is not None and self._run_tasks >= self.max_tasks:
                    return
        finally:
            # Exiting anyway: a second Ctrl-C or SIGTERM (make run sends both) must not cut the
            # removal of the warm pool short.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            sandbox_shutdown()
            liveness.stopped.set()
            liveness.join()
            WorkerHeartbeat.objects.filter(worker_id=self.worker_id).delete()
            logger.info("worker %s stopped", self.worker_id)


class Command(BaseCommand):
    help = "Run an executor worker: approved actions, expiry and recovery of dead workers' actions."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--queue-name", default="default", help="comma-separated queues (default: default)")
        parser.add_argument(
            "--interval",
            type=float,
            default=None,
            help="seconds between polls when idle (default: ACTIONHUB_WORKER_POLL on SQLite, 1 on Postgres, "
            "where NOTIFY wakes the worker at once)",
        )
        parser.add_argument(
            "--grace", type=float, default=None, help="seconds to finish a running action on SIGTERM (default 30)"
        )
        parser.add_argument("--max-tasks", type=int, default=None, help="exit after this many tasks")

    def handle(self, *args: Any, **options: Any) -> None:
        interval = options["interval"]
        if interval is None:
            interval = 1.0 if transaction.get_connection().vendor == "postgresql" else settings.ACTIONHUB_WORKER_POLL
        worker_id = f"{socket.gethostname()[:30]}-{os.getpid()}-{get_random_string(6)}"
        worker = ActionWorker(
            queue_names=options["queue_name"].split(","),
            interval=interval,
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=options["max_tasks"],
            worker_id=worker_id,
            excluded_queue_names=[],
            grace=options["grace"] if options["grace"] is not None else settings.ACTIONHUB_WORKER_GRACE,
        )
        worker.configure_signals()
        signal.signal(signal.SIGHUP, worker.shutdown)
        worker.run()
