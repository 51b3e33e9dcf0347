"""What /api/status reports: liveness for anyone, internals for authenticated staff."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from api.services import token_authenticate
from approvals.models import Action, Status, WorkerHeartbeat
from approvals.runtime import runtime_get
from llm.client import LLMClient, LLMError
from skills.sandbox import docker_status

WORKER_ALIVE_WITHIN = timedelta(seconds=15)


def request_user(request: HttpRequest) -> Any:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return token_authenticate(header[7:].strip())
    return request.user if request.user.is_authenticated else None


def _llm() -> dict[str, Any]:
    info: dict[str, Any] = {"url": settings.ACTIONHUB_LLM_URL, "api": settings.ACTIONHUB_LLM_API}
    info["active_model"] = runtime_get("default_model")
    try:
        with LLMClient(
            base_url=settings.ACTIONHUB_LLM_URL,
            api=settings.ACTIONHUB_LLM_API,
            api_key=settings.ACTIONHUB_LLM_API_KEY,
            timeout=3,
            connect_timeout=2,
            retries=0,
        ) as client:
            info["models"] = len(client.list_models())
        info["reachable"] = True
    except LLMError as exc:
        info["reachable"] = False
        info["error"] = str(exc)
    return info


def workers_alive() -> int:
    return WorkerHeartbeat.objects.filter(last_seen__gte=timezone.now() - WORKER_ALIVE_WITHIN).count()


def queue_depth() -> dict[str, int]:
    return {
        "pending_review": Action.objects.filter(status=Status.PENDING).count(),
        "approved_waiting": Action.objects.filter(status=Status.APPROVED).count(),
        "executing": Action.objects.filter(status=Status.EXECUTING).count(),
        "tasks_ready": DBTaskResult.objects.filter(status=TaskResultStatus.READY).count(),
    }


def status_payload(request: HttpRequest) -> dict[str, Any]:
    payload: dict[str, Any] = {"status": "ok", "version": settings.ACTIONHUB_VERSION}
    user = request_user(request)
    if user is None or not (user.is_staff or user.is_superuser):
        return payload
    payload["llm"] = _llm()
    payload["workers"] = {"alive": workers_alive()}
    payload["docker"] = docker_status()
    payload["queue"] = queue_depth()
    return payload
