"""Prometheus text metrics for staff sessions or a staff API token."""

from __future__ import annotations

from django.db.models import Count
from django.http import HttpResponse
from django.views.decorators.http import require_GET

from api.status import request_user
from approvals.models import Action
from approvals.waiting import waiting_requests
from audit.models import AuditHead
from health.checks import queue_depth, workers_alive
from lib.htmx import HtmxHttpRequest


@require_GET
def metrics(request: HtmxHttpRequest) -> HttpResponse:
    user = request_user(request)
    if user is None:
        return HttpResponse("authentication required\n", status=401, content_type="text/plain")
    if not (user.is_staff or user.is_superuser):
        return HttpResponse("staff only\n", status=403, content_type="text/plain")
    lines = ["# TYPE actionhub_actions gauge"]
    for row in Action.objects.values("status", "security_level").annotate(n=Count("id")).order_by():
        lines.append(f'actionhub_actions{{status="{row["status"]}",level="{row["security_level"]}"}} {row["n"]}')
    lines.append("# TYPE actionhub_queue gauge")
    for name, value in queue_depth().items():
        lines.append(f'actionhub_queue{{queue="{name}"}} {value}')
    lines += ["# TYPE actionhub_workers_alive gauge", f"actionhub_workers_alive {workers_alive()}"]
    # Per web process: the requests of this process waiting in GET /api/actions/{id}/wait.
    lines += ["# TYPE actionhub_waiting_requests gauge", f"actionhub_waiting_requests {waiting_requests()}"]
    head = AuditHead.objects.filter(id=1).first()
    lines += ["# TYPE actionhub_audit_entries gauge", f"actionhub_audit_entries {head.seq if head else 0}"]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; version=0.0.4")
