"""Liveness of the executor workers.

The table was created by the approvals app and keeps its name (see migrations/0002_worker_heartbeat.py).
"""

from __future__ import annotations

from datetime import timedelta

from django.db import models

# Each worker renews its heartbeat every ACTIONHUB_MAINTENANCE_INTERVAL, busy or idle; one silent for
# longer than this is presumed dead, and the tasks it had claimed are reclaimed (worker/maintenance.py).
WORKER_ALIVE_WITHIN = timedelta(seconds=15)


class WorkerHeartbeat(models.Model):
    """Liveness of executor workers, for /api/status and /metrics."""

    worker_id = models.CharField(max_length=100, primary_key=True)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "approvals_workerheartbeat"

    def __str__(self) -> str:
        return self.worker_id
