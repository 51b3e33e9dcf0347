"""Keyset pagination: pages of a query ordered by a key of fields (a field, then id), never OFFSET,
and the opaque cursors that name where the next page starts.

An opaque cursor is the last row's key as a JSON list, base64url without padding: `[seq]`, or
`["<ISO date-time>", "<uuid>"]`. Decoding checks every value against the kind the page expects, so
a cursor this code did not write is a BadCursor, never a query on nonsense. Pages keyed by one
integer (the audit history, the rule list) show it as it is, `?before=<seq>`, read by PageLinkField.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from django import forms
from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime

T = TypeVar("T")
Key = tuple[Any, ...]

MAX_LIMIT = 200
DEFAULT_LIMIT = 50
NOT_VALID = "cursor is not valid"
PAGE_LINK_NOT_VALID = "this page link is not valid; start from the first page"
# The largest key a bigint column holds: past it, a page link is junk rather than a database error.
MAX_INTEGER_KEY = 2**63 - 1


class BadCursor(ValueError):
    """A cursor (or page size) that no page of ours would have written."""


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    # The last item's key when more items follow it; what the next page starts after.
    next_key: Key | None

    @property
    def has_next(self) -> bool:
        return self.next_key is not None


def keyset_order(fields: Sequence[str], *, descending: bool = False) -> list[str]:
    return [f"-{name}" if descending else name for name in fields]


def keyset_after(queryset: QuerySet, *, fields: Sequence[str], key: Key | None, descending: bool = False) -> QuerySet:
    """The rows of `queryset` that come after `key` in the order of `fields` (all ascending, or all
    descending): for (created_at, id), `created_at > c OR (created_at = c AND id > i)`."""
    if key is None:
        return queryset
    if len(key) != len(fields):
        raise ValueError(f"a key of {len(fields)} values is needed, got {len(key)}")
    beyond = "lt" if descending else "gt"
    condition = Q()
    for index, name in enumerate(fields):
        equal = {field: value for field, value in zip(fields[:index], key[:index], strict=True)}
        condition |= Q(**equal, **{f"{name}__{beyond}": key[index]})
    return queryset.filter(condition)


def page_split(rows: list[T], *, size: int, key: Callable[[T], Key]) -> Page[T]:
    """A page from `rows` fetched with one more than `size`: that extra row only says more follow."""
    items = rows[:size]
    more = len(rows) > size and bool(items)
    return Page(items=items, next_key=key(items[-1]) if more else None)


def keyset_page(
    queryset: QuerySet, *, fields: Sequence[str], after: Key | None, size: int, descending: bool = False
) -> Page:
    """Up to `size` rows after `after`, ordered by `fields`, and whether another page follows."""
    rows = keyset_after(queryset, fields=fields, key=after, descending=descending)
    rows = list(rows.order_by(*keyset_order(fields, descending=descending))[: size + 1])
    return page_split(rows, size=size, key=lambda row: tuple(getattr(row, name) for name in fields))


def encode_cursor(key: Key) -> str:
    values = [value.isoformat() if isinstance(value, datetime) else _plain(value) for value in key]
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, UUID) else value


def decode_cursor(cursor: str | None, *, kinds: Sequence[type]) -> Key | None:
    """The key `cursor` names, each value of the kind given (int, str, datetime, UUID); None for no
    cursor; BadCursor for anything else, whatever it holds."""
    if not cursor:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError as exc:
        raise BadCursor(NOT_VALID) from exc
    if not isinstance(values, list) or len(values) != len(kinds):
        raise BadCursor(NOT_VALID)
    return tuple(_value(value, kind) for value, kind in zip(values, kinds, strict=True))


def _value(value: Any, kind: type) -> Any:
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is str and isinstance(value, str):
        return value
    if kind is UUID and isinstance(value, str):
        try:
            return UUID(value)
        except ValueError as exc:
            raise BadCursor(NOT_VALID) from exc
    if kind is datetime and isinstance(value, str):
        try:
            moment = parse_datetime(value)
        except ValueError as exc:
            raise BadCursor(NOT_VALID) from exc
        # Every cursor written here carries its UTC offset; a naive time would be read in some zone.
        if moment is not None and moment.tzinfo is not None:
            return moment
    raise BadCursor(NOT_VALID)


def clamp_limit(limit: int | None) -> int:
    """The page size asked for, DEFAULT_LIMIT if none; BadCursor outside 1..MAX_LIMIT."""
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise BadCursor(f"limit must be between 1 and {MAX_LIMIT}")
    return limit


class PageLinkField(forms.IntegerField):
    """A page link's integer key (`?before=<seq>`): anything but a key the column can hold is a form
    error, never a query on it (or a database error)."""

    def __init__(self, **kwargs: Any) -> None:
        messages = {"invalid": PAGE_LINK_NOT_VALID}
        super().__init__(min_value=1, max_value=MAX_INTEGER_KEY, error_messages=messages, **kwargs)
