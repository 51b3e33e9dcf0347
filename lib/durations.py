"""Durations written the short way (`90s`, `15m`, `24h`, `7d`), for settings and stored config alike."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
# Far beyond any expiry or interval here, and far inside what timedelta and datetime arithmetic hold.
MAX_DURATION_DAYS = 3650


def parse_duration(text: str) -> timedelta:
    """`90`, `90s`, `15m`, `24h`, `7d` → timedelta up to MAX_DURATION_DAYS; ValueError otherwise."""
    match = _DURATION_RE.match(str(text))
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 15m, 24h, 7d)")
    seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"duration must be positive: {text!r}")
    if seconds > MAX_DURATION_DAYS * 86400:
        raise ValueError(f"duration must be at most {MAX_DURATION_DAYS} days: {str(text)[:40]!r}")
    return timedelta(seconds=seconds)


def duration_text(seconds: float) -> str:
    """A number of seconds in the largest unit that holds it exactly: 43200 → `12h`, 90 → `90s`."""
    whole = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole >= size and whole % size == 0:
            return f"{whole // size}{unit}"
    return f"{whole}s"
