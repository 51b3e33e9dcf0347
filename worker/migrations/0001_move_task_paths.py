"""Tasks queued before the worker had an app of its own name their function by its old path."""

from django.db import migrations

RENAMED = {
    "approvals.tasks.execute_action": "worker.tasks.execute_action",
    "approvals.tasks.notify_action_held": "worker.tasks.notify_action_held",
    "approvals.tasks.deliver_notification": "worker.tasks.deliver_notification",
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
    dependencies = [("django_tasks_database", "0021_conditional_partial_index_ordering")]

    operations = [migrations.RunPython(forwards, backwards)]
