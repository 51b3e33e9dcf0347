"""A submit, and a decision, cost one durable commit: the action, its audit entries and the tasks it
queues (the execution, the reviewers' notification) are written together."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import require
from tests.factories import HIGH_ACTION, MEDIUM_ACTION

WRITES = ("INSERT", "UPDATE", "DELETE", "NOTIFY")


def _writes(sql: str) -> bool:
    """A write, or a WITH statement with one (a data-modifying CTE)."""
    first = sql.lstrip().split(None, 1)[0].upper()
    return first in WRITES or (first == "WITH" and re.search(r"\b(INSERT|UPDATE|DELETE)\b", sql) is not None)


def _written(sql: str) -> list[str]:
    """The tables a write inserts into, or what it is (NOTIFY)."""
    return re.findall(r'INSERT INTO "?(\w+)"?', sql) or [sql.split(None, 1)[0]]


class DurableCommits:
    """Counts the commits that wrote something: each transaction with a write, and each write made
    outside a transaction (autocommit)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        self.writing = False
        original = connection.commit

        def commit() -> None:
            original()
            if self.writing:
                self.count += 1
                self.writing = False

        monkeypatch.setattr(connection, "commit", commit)

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if _writes(sql):
            if connection.in_atomic_block:
                self.writing = True
            else:
                self.count += 1
        return execute(sql, params, many, context)


@pytest.fixture
def commits(transactional_db, monkeypatch):
    def count(call):
        counter = DurableCommits(monkeypatch)
        with connection.execute_wrapper(counter):
            result = call()
        return result, counter.count

    return count


@pytest.mark.parametrize("spec", [HIGH_ACTION, MEDIUM_ACTION], ids=["held", "approved by policy"])
def test_it_submits_an_action_in_one_durable_commit(alice, api_as, commits, spec):
    client = api_as(alice)
    assert client.post("/actions", spec).status_code == 201  # the token's first use is recorded once
    response, count = commits(lambda: client.post("/actions", spec))
    assert response.status_code == 201
    assert count == 1


def test_it_decides_an_action_in_one_durable_commit(alice, bob, api_as, commits):
    reviewer = api_as(bob)
    assert reviewer.get("/actions/pending").status_code == 200
    created = api_as(alice).post("/actions", HIGH_ACTION).json()
    response, count = commits(
        lambda: reviewer.post(
            f"/actions/{created['id']}/approve", {"approved": True, "payload_hash": created["payload_hash"]}
        )
    )
    assert response.status_code == 200
    assert count == 1


@pytest.mark.parametrize(
    ("spec", "statements"),
    [
        # The row is the reviewers' notice; the row and its audit entry are one statement.
        (HIGH_ACTION, [["approvals_action", "audit_auditentry"]]),
        (
            MEDIUM_ACTION,
            [
                ["approvals_action"],
                ["approvals_approval"],
                ["django_tasks_database_dbtaskresult"],
                ["NOTIFY"],  # the workers are woken for the task
                ["audit_auditentry"],
                ["audit_auditentry"],
            ],
        ),
    ],
    ids=["held", "approved by policy"],
)
def test_it_submits_with_one_read_of_the_version_tokens_and_no_row_it_can_do_without(alice, api_as, spec, statements):
    require(
        connection.vendor == "postgresql"
        and settings.CHANNEL_LAYERS["default"]["BACKEND"].endswith("RedisPubSubLayer"),
        "the statements counted are those of PostgreSQL with Redis",
    )
    client = api_as(alice)
    assert client.post("/actions", spec).status_code == 201  # warms this process's caches
    with CaptureQueriesContext(connection) as queries:
        assert client.post("/actions", spec).status_code == 201
    version_reads = [query["sql"] for query in queries.captured_queries if "SELECT version FROM" in query["sql"]]
    assert len(version_reads) == 1, version_reads
    assert all(table in version_reads[0] for table in ("api_tokensetversion", "rules_", "approvals_configversion"))
    written = [_written(query["sql"]) for query in queries.captured_queries if _writes(query["sql"])]
    assert written == statements
    if spec is HIGH_ACTION:  # (one approved by policy reads its approval back to answer)
        reads = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("SELECT")]
        assert reads == version_reads, "a held submit reads nothing but the version tokens"
