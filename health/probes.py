"""Liveness and readiness for orchestrators: /health/live and /health/ready.

Answered by a middleware ahead of every other, because a container's own probe reaches the
process by its internal address over plain HTTP: the host check and the HTTPS redirect that
guard every page would refuse it. Neither answer says more than which check failed.
"""

from __future__ import annotations

import json

from asgiref.sync import async_to_sync, iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse

from realtime.probe import channel_layer_problem

LIVE_PATH = "/health/live"
READY_PATH = "/health/ready"

# Migrations found applied stay applied for this process's code: asked until true, then never again.
_migrations_applied = False


def database_problem() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        connection.close()
        return f"unavailable: {type(exc).__name__}"
    return None


def migrations_problem() -> str | None:
    global _migrations_applied
    if _migrations_applied:
        return None
    try:
        executor = MigrationExecutor(connection)
        unapplied = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        connection.close()
        return f"cannot read the migration history: {type(exc).__name__}"
    if unapplied:
        return f"{len(unapplied)} migrations not applied (run the image's migrate)"
    _migrations_applied = True
    return None


def _database_checks() -> dict[str, str | None]:
    database = database_problem()
    return {"database": database, "migrations": migrations_problem() if database is None else "database unavailable"}


async def readiness() -> tuple[int, dict[str, object]]:
    checks = await sync_to_async(_database_checks)()
    checks["channel_layer"] = await channel_layer_problem()
    ready = not any(checks.values())
    body = {"status": "ready" if ready else "unavailable", "checks": {k: v or "ok" for k, v in checks.items()}}
    return (200 if ready else 503), body


async def liveness() -> tuple[int, dict[str, object]]:
    return 200, {"status": "alive"}


PROBES = {LIVE_PATH: liveness, READY_PATH: readiness}


def _response(status: int, body: dict[str, object]) -> HttpResponse:
    response = HttpResponse(json.dumps(body), status=status, content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response


class HealthProbeMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def _probe(self, request: HttpRequest):
        return PROBES.get(request.path_info) if request.method in ("GET", "HEAD") else None

    def __call__(self, request: HttpRequest):
        if self.is_async:
            return self.__acall__(request)
        probe = self._probe(request)
        if probe is None:
            return self.get_response(request)
        return _response(*async_to_sync(probe)())

    async def __acall__(self, request: HttpRequest):
        probe = self._probe(request)
        if probe is None:
            return await self.get_response(request)
        return _response(*await probe())
