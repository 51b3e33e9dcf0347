"""Version tokens: one row per cached set of data, whose random token changes with every change to it.

A process keeps its copy of rarely changing data (API tokens, runtime settings, routing) with the
token it was read under, and reads only the token (one primary-key query) before each use: a
change committed in any process is seen by every process on its next request. The token is random,
not a counter, so a database restored from a backup never presents an old number with other data.
"""

from __future__ import annotations

import uuid

from django.db import connection


def version_read(table: str) -> str:
    """The current token of the version row in `table` ('' before the first change)."""
    # Raw SQL: it runs on every request, where the ORM would cost several times the query.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT version FROM {table} WHERE id = 1")  # noqa: S608 - a model's own table name
        row = cursor.fetchone()
    return row[0] if row else ""


def version_bump(table: str) -> None:
    """Give the version row a new token; call it in the transaction that changes the data."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (id, version) VALUES (1, %s) "  # noqa: S608 - a model's own table name
            "ON CONFLICT (id) DO UPDATE SET version = excluded.version",
            [uuid.uuid4().hex],
        )
