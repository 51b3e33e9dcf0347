"""insert_new writes exactly the row save(force_insert=True) would, in the statement built once."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import signals
from django.db.models.functions import Now
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals.models import Action, SecurityLevel, Status
from lib.inserts import insert_new
from tests.factories import make_user


def _action(user, **fields) -> Action:
    now = timezone.now()
    return Action(
        action_type="file_operation",
        parameters={"operation": "delete", "path": "notes/ü.txt", "nested": {"b": [1, None], "a": True}},
        payload_hash="f" * 64,
        security_level=SecurityLevel.HIGH,
        classification_reasons=["deletes a file"],
        status=Status.PENDING,
        requested_by=user,
        approvals_required=1,
        created_at=now,
        expires_at=now + timedelta(hours=1),
        callback_state={"turn": 3},
        **fields,
    )


def _row(action_id) -> dict:
    row = Action.objects.filter(id=action_id).values().get()
    row.pop("id")
    return row


def test_it_writes_the_row_the_orm_would(db):
    alice = make_user("alice")
    by_orm, by_insert = _action(alice), _action(alice, external_id="tool-1", notice_due=True)
    by_orm.external_id, by_orm.notice_due = "tool-1", True
    by_orm.created_at = by_insert.created_at
    by_orm.expires_at = by_insert.expires_at
    by_orm.save(force_insert=True)
    with CaptureQueriesContext(connection) as queries:
        insert_new(by_insert)
    assert [query["sql"].split()[0] for query in queries.captured_queries] == ["INSERT"]
    assert _row(by_insert.id) == _row(by_orm.id)
    assert not by_insert._state.adding
    by_insert.assigned_groups.add(Group.objects.create(name="ops"))  # a saved instance, usable as one
    assert Action.objects.get(id=by_insert.id).assigned_groups.count() == 1


def test_it_leaves_a_database_expression_to_save(db):
    action = _action(make_user("alice"))
    action.created_at = Now()
    insert_new(action)
    stored = Action.objects.get(id=action.id)
    assert abs(stored.created_at - timezone.now()) < timedelta(minutes=1)


def test_it_refuses_a_model_it_cannot_write_as_save_would(db):
    alice = make_user("alice")
    with pytest.raises(ValueError, match="primary key"):
        insert_new(Group(name="no-pk"))

    def receiver(**kwargs):
        pass

    signals.post_save.connect(receiver, sender=Action)
    try:
        with pytest.raises(ValueError, match="receivers"):
            insert_new(_action(alice, id=uuid.uuid4()))
    finally:
        signals.post_save.disconnect(receiver, sender=Action)
    assert not Action.objects.exists()
