"""Blocking database work of async views, on a few shared threads however many requests wait.

`sync_to_async` would run it on the request's own thread, which (with its database connection)
lives as long as the request: a thousand requests waiting for an event would hold a thousand of
each. Here every call runs on one of `THREADS` threads, so at most that many connections exist
for this work in a process.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from django.db import connection, connections

THREADS = 4

Result = TypeVar("Result")

_executor = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="async-db")


async def db_run(function: Callable[..., Result], /, *args: Any, **kwargs: Any) -> Result:
    """`function(*args, **kwargs)` on a shared database thread, with the caller's context variables."""
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(
        _executor, context.run, _with_fresh_connection, function, args, kwargs
    )


def _with_fresh_connection(function: Callable[..., Result], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Result:
    _drop_broken_or_old_connection()
    try:
        return function(*args, **kwargs)
    finally:
        _drop_broken_or_old_connection()


def _drop_broken_or_old_connection() -> None:
    """A thread shared by every request must never hand one a broken connection, nor keep one past
    a positive CONN_MAX_AGE. A CONN_MAX_AGE of 0 means "one per request" and these threads serve
    no request: they keep theirs (opening a SQLite connection per call cost more than the reads)."""
    if connection.settings_dict.get("CONN_MAX_AGE") == 0:
        connection.close_at = None  # never obsolete; Django still drops it when it is unusable
    connection.close_if_unusable_or_obsolete()


def db_threads_close(timeout: float = 5.0) -> None:
    """Close the connections the shared threads keep (a test run, before its database is dropped).

    One call per thread: the calls wait for each other, so the pool runs each on a thread of its own.
    """
    barrier = threading.Barrier(THREADS, timeout=timeout)

    def close() -> None:
        with contextlib.suppress(threading.BrokenBarrierError):  # a thread still busy: the others close
            barrier.wait()
        connections.close_all()

    for future in [_executor.submit(close) for _ in range(THREADS)]:
        future.result(timeout=timeout + 1)
