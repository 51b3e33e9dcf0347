"""lib.durations: the short duration syntax of settings and stored config."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lib.durations import parse_duration


@pytest.mark.parametrize(
    "text, expected",
    [
        ("90", timedelta(seconds=90)),
        ("90s", timedelta(seconds=90)),
        (" 15m ", timedelta(minutes=15)),
        ("1.5h", timedelta(minutes=90)),
        ("7d", timedelta(days=7)),
        ("3650d", timedelta(days=3650)),
    ],
)
def test_it_reads_a_number_and_a_unit(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "not a duration"),
        ("soon", "not a duration"),
        ("5w", "not a duration"),
        ("-5m", "not a duration"),
        ("0s", "must be positive"),
        ("3651d", "at most 3650 days"),
        ("9" * 400, "at most 3650 days"),
    ],
)
def test_it_refuses_anything_else_with_a_readable_message(text, message):
    with pytest.raises(ValueError, match=message):
        parse_duration(text)
