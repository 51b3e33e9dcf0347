"""What the running system looks like, for staff: the LLM server, workers, queue depth, sandbox and
who notifications reach.

Read by /api/status, /metrics and the /status/ page. Every outside check has a short timeout and the
two slow ones (LLM server, Docker) run side by side, so a dead dependency never hangs a page.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from approvals.kinds.registry import decide_only_names
from approvals.models import Action, SecurityLevel, Status
from approvals.runtime import runtime_get
from llm.client import LLMError, llm_probe_client
from notifications.selectors import notification_reach
from skills.sandbox import docker_status
from worker.models import WORKER_ALIVE_WITHIN, WorkerHeartbeat


def llm_probe() -> tuple[list[str] | None, str]:
    """The models the LLM server lists, or None and why it could not be asked."""
    try:
        with llm_probe_client() as client:
            return client.list_models(), ""
    except LLMError as exc:
        return None, str(exc)


def llm_health(*, active_model: str, probe: tuple[list[str] | None, str]) -> dict[str, Any]:
    models, error = probe
    info: dict[str, Any] = {
        "url": settings.ACTIONHUB_LLM_URL,
        "api": settings.ACTIONHUB_LLM_API,
        "active_model": active_model,
        "reachable": models is not None,
    }
    if models is None:
        info["error"] = error
    else:
        info["models"] = len(models)
        info["model_names"] = models
        info["active_model_available"] = active_model in models
    return info


def worker_list(*, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every worker that has reported, most recently seen first, with the silent ones marked stale."""
    now = now or timezone.now()
    return [
        {
            "id": beat.worker_id,
            "pid": beat.pid,
            "started_at": beat.started_at,
            "last_seen": beat.last_seen,
            "seconds_ago": max(0, int((now - beat.last_seen).total_seconds())),
            "stale": beat.last_seen < now - WORKER_ALIVE_WITHIN,
        }
        for beat in WorkerHeartbeat.objects.order_by("-last_seen", "worker_id")
    ]


def workers_alive() -> int:
    return WorkerHeartbeat.objects.filter(last_seen__gte=timezone.now() - WORKER_ALIVE_WITHIN).count()


def queue_depth() -> dict[str, int]:
    approved = Action.objects.filter(status=Status.APPROVED)
    decide_only = decide_only_names()
    return {
        "pending_review": Action.objects.filter(status=Status.PENDING).count(),
        # Ours to run: a number that stays up means the workers are not taking them.
        "approved_waiting": approved.exclude(action_type__in=decide_only).count(),
        # Agents run these themselves and report back; no worker is involved.
        "awaiting_report": approved.filter(action_type__in=decide_only).count(),
        "executing": Action.objects.filter(status=Status.EXECUTING).count(),
        "tasks_ready": DBTaskResult.objects.filter(status=TaskResultStatus.READY).count(),
    }


def pending_by_level() -> dict[str, int]:
    counts = dict.fromkeys(SecurityLevel.values, 0)
    rows = Action.objects.filter(status=Status.PENDING).values("security_level").annotate(n=Count("id")).order_by()
    for row in rows:
        counts[row["security_level"]] = row["n"]
    return counts


def system_health() -> dict[str, Any]:
    """Everything staff see about the system; the LLM server and Docker are asked in parallel."""
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="health") as pool:
        llm = pool.submit(llm_probe)
        docker = pool.submit(docker_status)
        workers = worker_list()
        queue = {**queue_depth(), "pending_by_level": pending_by_level()}
        active_model = runtime_get("default_model")
        return {
            "llm": llm_health(active_model=active_model, probe=llm.result()),
            "workers": {"alive": sum(not worker["stale"] for worker in workers), "list": workers},
            "queue": queue,
            "docker": docker.result(),
            "sandbox_setup": sandbox_setup_hint(docker.result()),
            "notifications": notification_reach(),
        }


SANDBOX_FIX = "sudo make sandbox"
SANDBOX_HINT_CACHE = "health.sandbox_setup_hint"
SANDBOX_HINT_SECONDS = 30


def sandbox_setup_hint(docker: dict[str, Any]) -> dict[str, str] | None:
    """What skill and file actions lack to run, and the one command that fixes it; None when ready."""
    if not docker.get("available"):
        return {
            "missing": "Docker (the engine does not answer)",
            "fix": f"sudo apt-get install docker.io && {SANDBOX_FIX}",
        }
    if docker.get("image", {}).get("present"):
        return None
    missing = "the sandbox image"
    if shutil.which("debootstrap") is None:
        missing += " and debootstrap, which builds it"
    return {"missing": missing, "fix": SANDBOX_FIX}


def sandbox_setup_hint_cached() -> dict[str, str] | None:
    """sandbox_setup_hint for pages other than /status/: Docker is asked at most every 30 s."""
    hint = cache.get(SANDBOX_HINT_CACHE)
    if hint is None:
        hint = {"hint": sandbox_setup_hint(docker_status())}
        cache.set(SANDBOX_HINT_CACHE, hint, SANDBOX_HINT_SECONDS)
    return hint["hint"]
