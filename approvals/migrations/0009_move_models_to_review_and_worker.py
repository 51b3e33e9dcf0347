"""LinkUse and ReviewerPreference now belong to the review app, WorkerHeartbeat to the worker app.

Only Django's view of the models moves: the tables keep their names and rows, and review's and
worker's first migrations take the models over.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("approvals", "0008_action_edits")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="LinkUse"),
                migrations.DeleteModel(name="ReviewerPreference"),
                migrations.DeleteModel(name="WorkerHeartbeat"),
            ]
        )
    ]
