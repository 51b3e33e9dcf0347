"""A held action wakes the workers from the database (notifications migration 0002): the submit
sends no NOTIFY of its own, the wake-up arrives at the commit, never for a rollback, again for an
edit that keeps the action held, and not when a worker takes the notice."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from approvals.services import action_edit
from notifications.tasks import held_notices_send
from tests.conftest import require
from tests.factories import HIGH_ACTION, make_action
from worker.wakeup import listen


class Listener:
    """A worker's view of the wake-up channel: its own connection, LISTENing (worker.wakeup.listen)."""

    def __init__(self) -> None:
        self.connection = listen()

    def woken(self, timeout: float = 2.0) -> int:
        """How many wake-ups arrive within `timeout`, and within 0.3 s of the first."""
        if not list(self.connection.notifies(timeout=timeout, stop_after=1)):
            return 0
        return 1 + len(list(self.connection.notifies(timeout=0.3)))

    def close(self) -> None:
        self.connection.close()


@pytest.fixture
def listener(transactional_db):
    require(connection.vendor == "postgresql", "the wake-up channel needs PostgreSQL")
    listening = Listener()
    yield listening
    listening.close()


def test_it_wakes_the_workers_when_a_held_submit_commits_without_sending_a_notify(alice, api_as, listener):
    client = api_as(alice)
    with CaptureQueriesContext(connection) as queries:
        assert client.post("/actions", HIGH_ACTION).status_code == 201
    assert not [query["sql"] for query in queries.captured_queries if query["sql"].startswith("NOTIFY")]
    assert listener.woken() == 1


def test_it_wakes_them_at_the_commit_and_never_for_a_rollback(alice, listener):
    with transaction.atomic():
        make_action(alice)
        assert listener.woken(timeout=0.3) == 0, "not before the commit"
    assert listener.woken() == 1

    with pytest.raises(RuntimeError), transaction.atomic():
        make_action(alice)
        raise RuntimeError("the submit fails after the insert")
    assert listener.woken(timeout=0.5) == 0


def test_it_wakes_them_again_for_an_edit_that_keeps_the_action_held_but_not_for_taking_the_notice(alice, bob, listener):
    action = make_action(alice)
    assert listener.woken() == 1
    assert held_notices_send() == 1  # taken, though nobody has an address to be told at
    assert listener.woken(timeout=0.5) == 0, "taking a notice wakes nobody"

    action_edit(action_id=action.id, user=bob, parameters={"operation": "delete", "path": "notes/older.txt"})
    assert listener.woken() == 1
