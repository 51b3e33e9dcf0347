"""Notification tasks queued before notifications had an app of their own name their function by its old path."""

from django.db import migrations

RENAMED = {
    "worker.tasks.notify_action_held": "notifications.tasks.notify_action_held",
    "worker.tasks.deliver_notification": "notifications.tasks.deliver_notification",
}


def forwards(apps, schema_editor):
    task_results = apps.get_model("django_tasks_database", "DBTaskResult")
    for old, new in RENAMED.items():
        task_results.objects.filter(task_path=old).update(task_path=new)


def backwards(apps, schema_editor):
    task_results = apps.get_model("django_tasks_database", "DBTaskResult")
    for old, new in RENAMED.items():
        task_results.objects.filter(task_path=new).update(task_path=old)


class Migration(migrations.Migration):
    # After worker's rename, which brings tasks queued under approvals.tasks to worker.tasks first.
    dependencies = [("worker", "0001_move_task_paths")]

    operations = [migrations.RunPython(forwards, backwards)]
