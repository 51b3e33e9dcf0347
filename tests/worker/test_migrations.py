from __future__ import annotations

import importlib

from django.apps import apps
from django_tasks_db.models import DBTaskResult

from tests.factories import make_user
from worker.tasks import execute_action

move = importlib.import_module("worker.migrations.0001_move_task_paths")


def test_it_points_tasks_queued_under_the_old_paths_at_the_worker_app(db):
    make_user("alice")
    queued = execute_action.enqueue(action_id="00000000-0000-0000-0000-000000000001")
    DBTaskResult.objects.filter(id=queued.id).update(task_path="approvals.tasks.execute_action")
    move.forwards(apps, None)
    assert DBTaskResult.objects.get(id=queued.id).task_path == "worker.tasks.execute_action"
    assert DBTaskResult.objects.get(id=queued.id).task.func is execute_action.func
