"""A submit, and a decision, cost one durable commit: the action, its audit entries and the tasks it
queues (the execution, the reviewers' notification) are written together."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from approvals import signals
from approvals.models import Action
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


def _held_submit(client) -> tuple[dict, dict, list[list[str]]]:
    """A held submit through the API: the row, its audit entry and the groups each send reached."""
    from audit.models import AuditEntry
    from realtime.broadcast import broadcasts_drain
    from realtime.layers import RedisPubSubLayer

    assert broadcasts_drain(), "what earlier requests sent has left"
    sent: list[list[str]] = []
    original = RedisPubSubLayer.publish_many

    def record(self, sends):
        sent.append([group.split(".")[0] for group, _ in sends])
        original(self, sends)

    RedisPubSubLayer.publish_many = record
    try:
        answer = client.post("/actions", {**HIGH_ACTION, "external_id": "tool-7"}).json()
        assert broadcasts_drain()
    finally:
        RedisPubSubLayer.publish_many = original
    row = Action.objects.filter(id=answer["id"]).values().get()
    entry = AuditEntry.objects.get(action_id=answer["id"])
    for moment in ("id", "created_at", "expires_at", "escalate_at"):
        row.pop(moment)
    return row, {"actor": entry.actor, "event": entry.event, "data": entry.data}, sent


def test_it_writes_a_held_action_in_one_statement_as_the_transaction_would(alice, api_as, transactional_db):
    require(
        connection.vendor == "postgresql"
        and settings.CHANNEL_LAYERS["default"]["BACKEND"].endswith("RedisPubSubLayer"),
        "the one statement is PostgreSQL's, with broadcasts sent after commit",
    )
    client = api_as(alice)
    assert client.post("/actions", HIGH_ACTION).status_code == 201  # the token's first use is recorded once
    with CaptureQueriesContext(connection) as one_statement:
        row, entry, sent = _held_submit(client)
    assert [query["sql"].split()[0] for query in one_statement.captured_queries if _writes(query["sql"])] == ["WITH"]

    def listening(**kwargs):  # a receiver of action_held: the submit takes the transaction again
        pass

    signals.action_held.connect(listening)
    try:
        with CaptureQueriesContext(connection) as transaction:
            row_then, entry_then, sent_then = _held_submit(client)
    finally:
        signals.action_held.disconnect(listening)
    assert [query["sql"].split()[0] for query in transaction.captured_queries if _writes(query["sql"])] == [
        "INSERT",
        "WITH",
    ]
    assert row == row_then
    assert entry == entry_then
    assert sent == [["audit", "requester", "approvals"]], "one round trip for all it announces"
    assert sorted(sent_then[0]) == sorted(sent[0])
