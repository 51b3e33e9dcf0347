"""Create the role groups the lifecycle checks (reviewers, auditors)."""

from __future__ import annotations

from django.db import migrations


def forwards(apps, schema_editor) -> None:
    group = apps.get_model("auth", "Group")
    for name in ("reviewers", "auditors"):
        group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("approvals", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
