"""The site's one way of showing a point in time: `2026-12-07 14:05:09 UTC`, in the viewer's zone
(the one they chose, else UTC), always labelled with that zone.

The zone a signed-in person chose travels in their session (written when they save it and when they
log in), so pages and sockets read it without a query. `moment` is a template builtin.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django import template
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

SESSION_KEY = "time_zone"
DEFAULT_ZONE = "UTC"
MOMENT_FORMAT = "%Y-%m-%d %H:%M:%S"


@lru_cache(maxsize=1)
def zone_names() -> frozenset[str]:
    """Every IANA zone name this machine knows (`Europe/Berlin`, `UTC`, …)."""
    return frozenset(available_timezones() | {DEFAULT_ZONE})


def zone_known(name: object) -> bool:
    return isinstance(name, str) and name in zone_names()


def zone_of_session(session: Any) -> str:
    """The zone stored in a session, or UTC when none (or no longer a known one) is stored."""
    name = session.get(SESSION_KEY) if session is not None else None
    return name if zone_known(name) else DEFAULT_ZONE


def zone_label(local: datetime, name: str) -> str:
    """`UTC`, or the zone's abbreviation and name: `CET (Europe/Berlin)`."""
    if name == DEFAULT_ZONE:
        return DEFAULT_ZONE
    abbreviation = local.strftime("%Z")
    return name if abbreviation in ("", name) else f"{abbreviation} ({name})"


def moment_text(value: datetime) -> str:
    """`value` in the current zone (see `TimeZoneMiddleware`), labelled with it."""
    local = timezone.localtime(value)
    return f"{local.strftime(MOMENT_FORMAT)} {zone_label(local, timezone.get_current_timezone_name())}"


@register.filter
def moment(value: datetime | None) -> SafeString | str:
    """A point in time as the whole site shows it, in a <time> element carrying the instant (UTC)."""
    if value is None:
        return ""
    instant = value.astimezone(UTC).isoformat()
    return format_html('<time datetime="{}" title="{}">{}</time>', instant, instant, moment_text(value))


class TimeZoneMiddleware:
    """Show each request's times in the zone its session carries (UTC without one)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        if iscoroutinefunction(self.get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if iscoroutinefunction(self):
            return self.__acall__(request)
        with timezone.override(ZoneInfo(zone_of_session(getattr(request, "session", None)))):
            return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        name = await session.aget(SESSION_KEY) if session is not None and session.session_key else None
        with timezone.override(ZoneInfo(name if zone_known(name) else DEFAULT_ZONE)):
            return await self.get_response(request)
