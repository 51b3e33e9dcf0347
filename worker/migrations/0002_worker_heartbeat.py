"""The worker app takes over WorkerHeartbeat from approvals: its table (created by approvals 0001)
keeps its name and rows, so nothing is done to the database."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("worker", "0001_move_task_paths"),
        ("approvals", "0009_move_models_to_review_and_worker"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="WorkerHeartbeat",
                    fields=[
                        ("worker_id", models.CharField(max_length=100, primary_key=True, serialize=False)),
                        ("pid", models.PositiveIntegerField()),
                        ("started_at", models.DateTimeField()),
                        ("last_seen", models.DateTimeField(db_index=True)),
                    ],
                    options={"db_table": "approvals_workerheartbeat"},
                ),
            ]
        )
    ]
