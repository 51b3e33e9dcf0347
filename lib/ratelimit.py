"""The per-user limit on state-changing requests, shared by the API and the pages.

A fixed window per user in the cache, so with Redis every process counts against one budget; a
request's count is one Redis round trip.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from typing import Any

import redis
from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smh])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}
# The API counts its own POSTs; signing in and out are never refused here (the lockout guards login).
_EXEMPT_PREFIXES = ("/api/", "/accounts/login/", "/accounts/logout/")


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__("too many requests")
        self.retry_after = retry_after


def _parse_rate(rate: str) -> tuple[int, int]:
    match = _RATE_RE.match(rate)
    if not match:
        raise ImproperlyConfigured(f"ACTIONHUB_RATE_LIMIT must look like 120/m, got {rate!r}")
    count, multiplier, unit = match.groups()
    return int(count), int(multiplier or 1) * _UNIT_SECONDS[unit]


def check_rate_limit(request: HttpRequest) -> None:
    """Count one POST of the request's user; RateLimited once the window's budget is spent."""
    limit, window = _parse_rate(settings.ACTIONHUB_RATE_LIMIT)
    now = int(time.time())
    bucket = now // window
    count = _count(f"ratelimit:{request.user.pk}:{bucket}", timeout=window + 1)
    if count > limit:
        raise RateLimited(retry_after=(bucket + 1) * window - now)


@functools.cache
def _redis(url: str) -> redis.Redis:
    """One client (and connection pool) per process: Django builds its cache backend anew in each
    request's context, and with it a new connection to Redis every request."""
    return redis.Redis.from_url(url)


def _count(key: str, *, timeout: int) -> int:
    """Add one to the window's counter and return it: on Redis in one round trip (create with its
    expiry if missing, then increment, pipelined); on any other cache with add + incr."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(backend, RedisCache):
        name = backend.make_and_validate_key(key)
        pipeline = _redis(backend._servers[0]).pipeline(transaction=False)
        pipeline.set(name, 0, ex=timeout, nx=True)
        pipeline.incr(name)
        return pipeline.execute()[1]
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between the two
        cache.set(key, 1, timeout=timeout)
        return 1


class PagePostRateLimitMiddleware:
    """Page POSTs of a signed-in user draw on the same budget as their API POSTs: 429 past it.

    Async-capable: in an async chain anything but a page POST passes through without a thread hop.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        if iscoroutinefunction(self.get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if iscoroutinefunction(self):
            return self.__acall__(request)
        if _counted(request):
            refusal = _refusal(request)
            if refusal is not None:
                return refusal
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        if _counted(request):
            # The user and the cache are read synchronously (session, database, Redis).
            refusal = await sync_to_async(_refusal)(request)
            if refusal is not None:
                return refusal
        return await self.get_response(request)


def _counted(request: HttpRequest) -> bool:
    return request.method == "POST" and not request.path.startswith(_EXEMPT_PREFIXES)


def _refusal(request: HttpRequest) -> HttpResponse | None:
    """A 429 page when a signed-in user's budget is spent, else None (and one POST counted)."""
    if not request.user.is_authenticated:
        return None
    try:
        check_rate_limit(request)
    except RateLimited as exc:
        response = render(request, "429.html", {"retry_after": exc.retry_after}, status=429)
        response["Retry-After"] = str(exc.retry_after)
        return response
    return None
