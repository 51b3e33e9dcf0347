"""What /api/status reports: liveness for anyone, internals for authenticated staff."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from api.services import token_authenticate
from health.checks import system_health


def request_user(request: HttpRequest) -> Any:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return token_authenticate(header[7:].strip())
    return request.user if request.user.is_authenticated else None


def status_payload(request: HttpRequest) -> dict[str, Any]:
    payload: dict[str, Any] = {"status": "ok", "version": settings.ACTIONHUB_VERSION}
    user = request_user(request)
    if user is None or not (user.is_staff or user.is_superuser):
        return payload
    health = system_health()
    llm = {key: value for key, value in health["llm"].items() if key != "model_names"}
    workers = {"alive": health["workers"]["alive"]}
    return {**payload, "llm": llm, "workers": workers, "docker": health["docker"], "queue": health["queue"]}
