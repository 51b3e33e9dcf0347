"""The per-user limit on state-changing requests, shared by the API and the pages.

A fixed window per user in the cache, so with Redis every process counts against one budget.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
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
    key = f"ratelimit:{request.user.pk}:{bucket}"
    cache.add(key, 0, timeout=window + 1)
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=window + 1)
        count = 1
    if count > limit:
        raise RateLimited(retry_after=(bucket + 1) * window - now)


class PagePostRateLimitMiddleware:
    """Page POSTs of a signed-in user draw on the same budget as their API POSTs: 429 past it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.user.is_authenticated and not request.path.startswith(_EXEMPT_PREFIXES):
            try:
                check_rate_limit(request)
            except RateLimited as exc:
                response = render(request, "429.html", {"retry_after": exc.retry_after}, status=429)
                response["Retry-After"] = str(exc.retry_after)
                return response
        return self.get_response(request)
