"""insert_new writes exactly the row save(force_insert=True) would, in the statement built once."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import signals
from django.db.models.functions import Now
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals.models import Action, SecurityLevel, Status
from lib.inserts import insert_new, insert_statement
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


def test_it_leaves_to_save_a_row_only_save_writes_as_it_should(db):
    group = Group(name="no key yet")  # its key comes from the database
    insert_new(group)
    assert Group.objects.get(pk=group.pk).name == "no key yet"

    heard = []

    def receiver(sender, instance, created, **kwargs):
        heard.append((instance.pk, created))

    action = _action(make_user("alice"))
    signals.post_save.connect(receiver, sender=Action)
    try:
        assert insert_statement(action) is None
        insert_new(action)
    finally:
        signals.post_save.disconnect(receiver, sender=Action)
    assert heard == [(action.pk, True)], "save() ran, and with it its receivers"
    assert Action.objects.filter(pk=action.pk).exists()
