"""The staff status page: LLM server, workers, queue depth and sandbox, refreshed by htmx polling."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django_htmx.http import HttpResponseClientRefresh

from health.checks import WORKER_ALIVE_WITHIN, system_health
from lib.htmx import HtmxHttpRequest

NOT_STAFF = "The status page is for staff. Ask an administrator if you need it."
REFRESH_SECONDS = 5


@require_GET
def status_page(request: HtmxHttpRequest) -> HttpResponse:
    allowed = request.user.is_authenticated and (request.user.is_staff or request.user.is_superuser)
    if not allowed and request.htmx:
        # A poll after logging out or losing staff: reload the whole page rather than swap a login form in.
        return HttpResponseClientRefresh()
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not allowed:
        return render(request, "403.html", {"reason": NOT_STAFF}, status=403)
    context = {
        "health": system_health(),
        "refresh_seconds": REFRESH_SECONDS,
        "stale_after": int(WORKER_ALIVE_WITHIN.total_seconds()),
    }
    template = "status/status.html#status-panel" if request.htmx else "status/status.html"
    return render(request, template, context)
