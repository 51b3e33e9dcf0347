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
from collections.abc import Callable
from types import MethodType
from typing import Any

import django
from asgiref.sync import SyncToAsync, ThreadSensitiveContext, sync_to_async
from django.core.exceptions import SynchronousOnlyOperation
from django.core.handlers.asgi import ASGIHandler
from django.utils.deprecation import MiddlewareMixin

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


async def _inline_acall(middleware: MiddlewareMixin, request: Any) -> Any:
    """MiddlewareMixin.__acall__ with its hooks called on the event loop instead of a thread.

    A hook that does touch the database (SynchronousOnlyOperation) runs again on the request's
    thread: the hooks of Django's own middleware do that only at the very end (saving a session),
    so the part already done is repeated harmlessly.
    """
    response = None
    if hasattr(middleware, "process_request"):
        response = await _inline(middleware.process_request, request)
    response = response or await middleware.get_response(request)
    if hasattr(middleware, "process_response"):
        response = await _inline(middleware.process_response, request, response)
    return response


async def _inline(hook: Callable[..., Any], *args: Any) -> Any:
    try:
        return hook(*args)
    except SynchronousOnlyOperation:
        return await sync_to_async(hook, thread_sensitive=True)(*args)


def _inline_coroutine(hook: Callable[..., Any]) -> Callable[..., Any]:
    async def call(*args: Any) -> Any:
        return await _inline(hook, *args)

    return call


class InlineHooksASGIHandler(SharedThreadsASGIHandler):
    """For views that wait on the event loop: the request and response hooks of the middleware run
    inline instead of hopping to a thread one by one.

    Django runs every MiddlewareMixin hook (security headers, session, CSRF, messages, CSP, …)
    through `sync_to_async`: ~15 thread hops per request. For one request that is a few
    milliseconds; for 500 waiters woken by one decision it is 7,500 hops queued on the shared
    threads, seconds before the last answer. The hooks only look at the request and set headers.
    """

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=is_async)
        if not is_async:
            return
        node: Any = self._middleware_chain
        while node is not None:
            target = getattr(node, "__wrapped__", node)  # convert_exception_to_response's wrapper
            if isinstance(target, MiddlewareMixin) and target.async_mode:
                # The instance attribute shadows the class's __acall__ (MiddlewareMixin.__call__ calls self.__acall__).
                target.__acall__ = MethodType(_inline_acall, target)
            node = getattr(target, "get_response", None)
        self._view_middleware = [
            _inline_coroutine(hook.func) if isinstance(hook, SyncToAsync) else hook for hook in self._view_middleware
        ]
        self._template_response_middleware = [
            _inline_coroutine(hook.func) if isinstance(hook, SyncToAsync) else hook
            for hook in self._template_response_middleware
        ]


def get_waiting_asgi_application() -> InlineHooksASGIHandler:
    django.setup(set_prefix=False)
    return InlineHooksASGIHandler()
