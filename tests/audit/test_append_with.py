"""audit_append_with: a change and the entry recording it are one SQL statement, written together or
not at all; alone (outside a transaction, on PostgreSQL) it commits by itself."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals.models import Action, SecurityLevel, Status
from audit.models import AuditEntry, AuditHead
from audit.services import audit_append, audit_append_with
from audit.verify import verify_chain
from lib.inserts import insert_statement
from realtime.broadcast import written_in_transaction
from tests.factories import make_user


def _new_action(user, action_id=None) -> Action:
    now = timezone.now()
    return Action(
        id=action_id or uuid.uuid4(),
        action_type="file_operation",
        parameters={"operation": "delete", "path": "a.txt"},
        payload_hash="f" * 64,
        security_level=SecurityLevel.HIGH,
        status=Status.PENDING,
        requested_by=user,
        approvals_required=1,
        created_at=now,
        expires_at=now + timedelta(hours=1),
    )


def _one_statement() -> bool:
    return connection.vendor == "postgresql" and not written_in_transaction()


def _record(action: Action):
    return audit_append_with(
        change=insert_statement(action), actor="alice", event="action.created", action_id=action.id, data={"é": 1}
    )


def test_it_writes_the_change_and_its_entry_in_one_statement_that_commits_alone(transactional_db):
    alice = make_user("alice")
    audit_append(actor="alice", event="before")
    action = _new_action(alice)
    with CaptureQueriesContext(connection) as queries:
        entry = _record(action)
    if _one_statement():  # elsewhere: the insert, then audit_append, in one transaction
        assert [query["sql"].split()[:3] for query in queries.captured_queries] == [["WITH", "change", "AS"]]
    assert Action.objects.filter(id=action.id).exists()
    stored = AuditEntry.objects.get(seq=entry.seq)
    assert (stored.event, stored.action_id, stored.data, stored.hash) == (
        "action.created",
        action.id,
        {"é": 1},
        entry.hash,
    )
    assert verify_chain().ok


def test_it_joins_the_callers_transaction(db):
    alice = make_user("alice")
    with pytest.raises(RuntimeError), transaction.atomic():
        entry = _record(_new_action(alice))
        raise RuntimeError
    assert not Action.objects.exists()
    assert not AuditEntry.objects.filter(seq=entry.seq).exists()


def test_it_writes_neither_when_the_change_fails(transactional_db):
    alice = make_user("alice")
    first = _new_action(alice)
    head = _record(first).seq
    with pytest.raises(IntegrityError):
        _record(_new_action(alice, action_id=first.id))  # the same primary key
    assert AuditEntry.objects.count() == 1
    assert AuditHead.objects.get(id=1).seq == head
    assert verify_chain().ok


@pytest.mark.parametrize("alone", [True, False], ids=["alone", "in a transaction"])
def test_it_starts_the_chain_again_when_its_head_row_is_gone(transactional_db, alone):
    alice = make_user("alice")
    AuditHead.objects.all().delete()  # what a flush between tests leaves
    action = _new_action(alice)
    if alone:
        entry = _record(action)
    else:
        with transaction.atomic():
            entry = _record(action)
    assert entry.seq == 1
    assert Action.objects.filter(id=action.id).exists()
    assert AuditEntry.objects.filter(seq=1, action_id=action.id).exists()
    assert verify_chain().ok


def test_it_makes_no_change_alone_while_the_head_row_is_missing(transactional_db, monkeypatch):
    from audit import services
    from tests.conftest import require

    require(_one_statement(), "one statement alone: PostgreSQL with broadcasts sent after commit")

    class HeadNotMade(Exception):
        pass

    def refuse() -> None:
        raise HeadNotMade

    AuditHead.objects.all().delete()
    monkeypatch.setattr(services, "_head_create", refuse)
    with pytest.raises(HeadNotMade):
        _record(_new_action(make_user("alice")))
    assert not Action.objects.exists(), "the change did not commit without its entry"


def test_it_records_an_insert_only(db):
    with pytest.raises(ValueError, match="an INSERT"):
        audit_append_with(change=("DELETE FROM approvals_action", []), actor="alice", event="action.deleted")
    assert not AuditEntry.objects.exists()
