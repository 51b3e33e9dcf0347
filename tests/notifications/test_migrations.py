from __future__ import annotations

import importlib

from django.apps import apps
from django_tasks_db.models import DBTaskResult

from notifications.tasks import deliver_notification, notify_action_held

move = importlib.import_module("notifications.migrations.0001_move_task_paths")
ACTION_ID = "00000000-0000-0000-0000-000000000001"


def test_it_points_notification_tasks_queued_under_the_worker_paths_at_the_notifications_app(db):
    held = notify_action_held.enqueue(action_id=ACTION_ID)
    delivery = deliver_notification.enqueue(action_id=ACTION_ID, channel="email", target="bob", attempt=2)
    DBTaskResult.objects.filter(id=held.id).update(task_path="worker.tasks.notify_action_held")
    DBTaskResult.objects.filter(id=delivery.id).update(task_path="worker.tasks.deliver_notification")

    move.forwards(apps, None)

    assert DBTaskResult.objects.get(id=held.id).task.func is notify_action_held.func
    assert DBTaskResult.objects.get(id=delivery.id).task.func is deliver_notification.func
    assert DBTaskResult.objects.get(id=delivery.id).args_kwargs["kwargs"]["attempt"] == 2
