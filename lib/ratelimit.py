"""The per-user limit on state-changing requests, shared by the API and the pages.

A fixed window per user in the cache, so with Redis every process counts against one budget. A
process takes its part of a window's budget from that counter in slices of 1% (at least one
request): a busy process asks Redis once a slice instead of once a POST, and with the default
120/m a slice is one request, counted as exactly as ever. What a process took and did not use by
the window's end is lost to the user: about a slice per process and window (one per thread when
several find none left at the same moment; all of them when 10,000 users hold slices in one
window), never more than the budget admitted.
"""

from __future__ import annotations

import functools
import re
import threading
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


# Each budget slice a process took and has not used: (user, limit, window, window number) -> POSTs.
_slices: dict[tuple[Any, int, int, int], int] = {}
_slices_lock = threading.Lock()
SLICE_SHARE = 100  # a slice is this share of the budget
SLICES_KEPT = 10_000  # past this many, slices of ended windows are dropped


def check_rate_limit(request: HttpRequest) -> None:
    """Count one POST of the request's user; RateLimited once the window's budget is spent."""
    limit, window = _parse_rate(settings.ACTIONHUB_RATE_LIMIT)
    now = int(time.time())
    bucket = now // window
    if not _admitted(request.user.pk, limit, window, bucket):
        raise RateLimited(retry_after=(bucket + 1) * window - now)


def _admitted(user_pk: Any, limit: int, window: int, bucket: int) -> bool:
    slot = (user_pk, limit, window, bucket)
    with _slices_lock:
        left = _slices.get(slot, 0)
        if left:
            _slices[slot] = left - 1
            return True
    size = max(1, limit // SLICE_SHARE)
    count = _count(f"ratelimit:{user_pk}:{bucket}", amount=size, timeout=window + 1)
    granted = min(size, limit - (count - size))  # the part of this slice still within the budget
    if granted <= 0:
        return False
    if granted > 1:
        with _slices_lock:
            if len(_slices) >= SLICES_KEPT:
                _drop_ended(int(time.time()))
            _slices[slot] = _slices.get(slot, 0) + granted - 1
    return True


def _drop_ended(now: int) -> None:
    for key in [key for key in _slices if key[3] < now // key[2]]:
        del _slices[key]
    if len(_slices) >= SLICES_KEPT:  # that many users inside one window: forget, and ask again
        _slices.clear()


@functools.cache
def _redis(url: str) -> redis.Redis:
    """One client (and connection pool) per process: Django builds its cache backend anew in each
    request's context, and with it a new connection to Redis every request."""
    return redis.Redis.from_url(url)


def _count(key: str, *, amount: int, timeout: int) -> int:
    """Add `amount` to the window's counter and return it: on Redis in one round trip (create with
    its expiry if missing, then increment, pipelined); on any other cache with add + incr."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(backend, RedisCache):
        name = backend.make_and_validate_key(key)
        pipeline = _redis(backend._servers[0]).pipeline(transaction=False)
        pipeline.set(name, 0, ex=timeout, nx=True)
        pipeline.incrby(name, amount)
        return pipeline.execute()[1]
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key, amount)
    except ValueError:  # expired between the two
        cache.set(key, amount, timeout=timeout)
        return amount


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
