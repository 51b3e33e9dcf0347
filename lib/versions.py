"""Version tokens: one row per cached set of data, whose random token changes with every change to it.

A process keeps its copy of rarely changing data (API tokens, runtime settings, routing, rules)
with the token it was read under, and reads only the token before each use: a change committed in
any process is seen by every process on its next request. The token is random, not a counter, so a
database restored from a backup never presents an old number with other data.

Inside `versions_pinned()` (an API request, a submit) every registered token is read at the first
use of any, in one query, and kept until the block ends (a change made inside it drops what was
kept); elsewhere each read goes to the database.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator

from django.db import connection

_tables: list[str] = []
_pinned = threading.local()  # .depth: how many versions_pinned blocks this thread is in; .versions


def version_register(table: str) -> None:
    """Read `table`'s token with the others, once per request."""
    if table not in _tables:
        _tables.append(table)


def version_read(table: str) -> str:
    """The current token of the version row in `table` ('' before the first change)."""
    if not getattr(_pinned, "depth", 0):
        return _read([table])[table]
    versions: dict[str, str] | None = getattr(_pinned, "versions", None)
    if versions is None or table not in versions:
        versions = _read(list(dict.fromkeys([*_tables, table])))
        _pinned.versions = versions
    return versions[table]


@contextlib.contextmanager
def versions_pinned() -> Iterator[None]:
    """Read every registered token once, at the first use of any, for the length of the block: one
    query where a submit would read three."""
    _pinned.depth = getattr(_pinned, "depth", 0) + 1
    try:
        yield
    finally:
        _pinned.depth -= 1
        if not _pinned.depth:
            _pinned.versions = None


def version_bump(table: str) -> None:
    """Give the version row a new token; call it in the transaction that changes the data."""
    _pinned.versions = None
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (id, version) VALUES (1, %s) "  # noqa: S608 - a model's own table name
            "ON CONFLICT (id) DO UPDATE SET version = excluded.version",
            [uuid.uuid4().hex],
        )


def _read(tables: list[str]) -> dict[str, str]:
    # Raw SQL, one statement: it runs on every submit, where the ORM would cost several times the query.
    columns = ", ".join(f"(SELECT version FROM {table} WHERE id = 1)" for table in tables)  # noqa: S608 - models' own tables
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns}")
        row = cursor.fetchone()
    return {table: value or "" for table, value in zip(tables, row, strict=True)}
