"""Runs one approved action under a lease that a heartbeat thread keeps renewed."""

from __future__ import annotations

import logging
import threading
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import close_old_connections, connection

from approvals.kinds.base import HandlerError
from approvals.kinds.registry import find_kind
from approvals.models import Action
from approvals.services import action_finish, action_heartbeat, action_start

logger = logging.getLogger(__name__)
INTERNAL_ERROR = "ActionHub hit an internal error while running the action; the worker log has the details"


class _Heartbeat(threading.Thread):
    def __init__(self, *, action_id: UUID, worker_id: str, attempt: int) -> None:
        super().__init__(name=f"heartbeat-{action_id}", daemon=True)
        self.action_id, self.worker_id, self.attempt = action_id, worker_id, attempt
        self.stopped = threading.Event()
        self.lost = threading.Event()

    def run(self) -> None:
        interval = settings.ACTIONHUB_LEASE_SECONDS / 3
        try:
            while not self.stopped.wait(interval):
                if not action_heartbeat(action_id=self.action_id, worker_id=self.worker_id, attempt=self.attempt):
                    self.lost.set()
                    return
        except Exception:
            logger.exception("heartbeat for action %s failed", self.action_id)
        finally:
            connection.close()


def kind_run(action: Action) -> dict[str, Any]:
    """Run `action` as its kind says; HandlerError when no kind of that name is configured any more."""
    kind = find_kind(action.action_type)
    if kind is None:
        raise HandlerError(f"no handler for action type {action.action_type!r}")
    return kind.run(action)


def run_action(*, action_id: UUID | str, worker_id: str) -> str:
    """Claim, run and record one action; returns the final status (or `skipped`)."""
    action_id = UUID(str(action_id))
    action = action_start(action_id=action_id, worker_id=worker_id)
    if action is None:
        return "skipped"
    heartbeat = _Heartbeat(action_id=action_id, worker_id=worker_id, attempt=action.attempt)
    heartbeat.start()
    try:
        result = kind_run(action)
    except HandlerError as exc:
        return _finish(action, heartbeat, error=str(exc), error_detail=exc.detail)
    except Exception as exc:
        logger.exception("action %s crashed in its handler", action_id)
        detail = f"{type(exc).__name__}: {str(exc)[:300]}" if str(exc) else type(exc).__name__
        return _finish(action, heartbeat, error=INTERNAL_ERROR, error_detail=detail)
    return _finish(action, heartbeat, result=result)


def _finish(
    action: Action, heartbeat: _Heartbeat, *, result: Any = None, error: str | None = None, error_detail: str = ""
) -> str:
    heartbeat.stopped.set()
    heartbeat.join()
    close_old_connections()
    status = "failed" if error is not None else "completed"
    recorded = action_finish(action=action, result=result, error=error, error_detail=error_detail)
    if not recorded:
        logger.warning("action %s: lease lost before the %s result was recorded", action.id, status)
        return "lost"
    return status
