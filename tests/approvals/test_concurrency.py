"""Races against a real database: many reviewers, one action."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django_tasks_db.models import DBTaskResult

from approvals.exceptions import ActionError
from approvals.models import Action, Status
from approvals.services import action_decide, action_expire
from audit.models import AuditEntry
from audit.verify import verify_chain
from tests.factories import make_action, make_user
from worker.maintenance import TASK_PATH

pytestmark = pytest.mark.django_db(transaction=True)


def _race(n: int, work) -> list[object]:
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except ActionError as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_it_lets_exactly_one_of_50_concurrent_decisions_win(alice):
    reviewers = [make_user(f"reviewer{i}", "reviewers") for i in range(50)]
    action = make_action(alice)

    results = _race(50, lambda i: action_decide(action_id=action.id, user=reviewers[i], approved=True))

    winners = [result for result in results if not isinstance(result, Exception)]
    losers = [result for result in results if isinstance(result, ActionError)]
    assert len(winners) == 1
    assert len(losers) == 49
    assert {loser.status_code for loser in losers} == {409}
    assert Action.objects.get(id=action.id).status == Status.APPROVED
    assert AuditEntry.objects.filter(action_id=action.id, event="action.approved").count() == 1
    assert DBTaskResult.objects.filter(task_path=TASK_PATH, args_kwargs__kwargs__action_id=str(action.id)).count() == 1
    assert verify_chain().ok


def test_it_never_approves_an_action_that_a_racing_expiry_expired(alice):
    from datetime import timedelta

    from django.utils import timezone

    reviewers = [make_user(f"reviewer{i}", "reviewers") for i in range(10)]
    for _ in range(5):
        action = make_action(alice)
        deadline = timezone.now() + timedelta(milliseconds=30)
        Action.objects.filter(id=action.id).update(expires_at=deadline)

        def work(i: int, action=action, deadline=deadline):
            if i == 0:
                while timezone.now() < deadline:
                    pass
                return action_expire(action_id=action.id)
            return action_decide(action_id=action.id, user=reviewers[i], approved=True)

        _race(10, work)
        action.refresh_from_db()
        assert action.status in (Status.APPROVED, Status.EXPIRED)
        if action.status == Status.EXPIRED:
            assert action.approved_at is None
            assert not DBTaskResult.objects.filter(
                task_path=TASK_PATH, args_kwargs__kwargs__action_id=str(action.id)
            ).exists()
        else:
            assert action.approved_at < action.expires_at
    assert verify_chain().ok


def test_it_keeps_the_audit_chain_gapless_under_concurrent_appends(db):
    from audit.services import audit_append

    _race(20, lambda i: [audit_append(actor=f"u{i}", event="race", data={"i": i, "j": j}) for j in range(10)])
    assert list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True)) == list(range(1, 201))
    assert verify_chain().ok
