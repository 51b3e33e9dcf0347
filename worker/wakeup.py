"""Wake idle workers the moment a task is enqueued (Postgres LISTEN/NOTIFY).

On SQLite there is no notification channel; workers poll at ACTIONHUB_WORKER_POLL instead.
"""

from __future__ import annotations

import logging
import select
from collections.abc import Callable
from typing import Any

from django.db import connection

from lib.once import run_once

logger = logging.getLogger(__name__)

CHANNEL = "actionhub_tasks"


def wake_workers() -> None:
    """Wake the idle workers; inside a transaction Postgres delivers the notification at its commit,
    so a worker woken finds the task the transaction queued. Inside `lib.once.once_at_end()` (a bulk
    decision, one transaction per action) they are woken once, at its end, after every commit."""
    if connection.vendor != "postgresql":
        return
    run_once("wake_workers", _notify)


def _notify() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"NOTIFY {CHANNEL}")
    except Exception:  # the workers' poll picks the task up anyway
        logger.warning("could not notify workers", exc_info=True)


def waiter() -> Callable[[float], None]:
    """A function that sleeps up to `timeout` seconds, returning early on a wake-up."""
    if connection.vendor != "postgresql":
        import time

        return time.sleep
    listener = listen()

    def wait(timeout: float) -> None:
        ready, _, _ = select.select([listener.fileno()], [], [], timeout)
        if ready:
            # Drain everything pending so one burst of enqueues is one wake-up.
            for _ in listener.notifies(timeout=0):
                pass

    return wait


def listen() -> Any:
    """A Postgres connection of its own (a psycopg one, outside Django's), LISTENing on the
    workers' channel."""
    import psycopg

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    listener = psycopg.connect(**params, autocommit=True)
    listener.execute(f"LISTEN {CHANNEL}")
    return listener
