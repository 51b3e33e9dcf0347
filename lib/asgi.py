"""Django's ASGI handler with the synchronous parts of requests on a few shared threads.

Django gives each request its own ThreadSensitiveContext: the middleware hooks, signal receivers
and `sync_to_async` calls of one request run on a thread of its own, which lives (with any
database connection it opened) until the response is sent. A request that waits 30 s for an
event would hold a thread for 30 s. Here each request is pinned to one of `SHARED_THREADS`
contexts instead: its synchronous code still runs on one thread, in order, and the process holds
that many threads whatever the number of requests in flight.
"""

from __future__ import annotations

import itertools
from typing import Any

import django
from asgiref.sync import SyncToAsync, ThreadSensitiveContext
from django.core.handlers.asgi import ASGIHandler

SHARED_THREADS = 4


class SharedThreadsASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        super().__init__()
        # Kept for the life of the handler: each context's executor (and thread) is reused.
        self._contexts = [ThreadSensitiveContext() for _ in range(SHARED_THREADS)]
        self._next_context = itertools.cycle(self._contexts)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        # Set, not entered: entering a ThreadSensitiveContext shuts its executor down on exit.
        token = SyncToAsync.thread_sensitive_context.set(next(self._next_context))
        try:
            await self.handle(scope, receive, send)
        finally:
            SyncToAsync.thread_sensitive_context.reset(token)


def get_shared_threads_asgi_application() -> SharedThreadsASGIHandler:
    django.setup(set_prefix=False)
    return SharedThreadsASGIHandler()
