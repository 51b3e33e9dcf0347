"""A submit, and a decision, cost one durable commit: the action, its audit entries and the tasks it
queues (the execution, the reviewers' notification) are written together."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from tests.factories import HIGH_ACTION, MEDIUM_ACTION

WRITES = ("INSERT", "UPDATE", "DELETE", "NOTIFY")


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
        if sql.lstrip().split(None, 1)[0].upper() in WRITES:
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
