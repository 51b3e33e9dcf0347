from __future__ import annotations

from django.contrib import admin

from worker.models import WorkerHeartbeat


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ("worker_id", "pid", "started_at", "last_seen")
