"""Create the group whose members may write standing rules."""

from __future__ import annotations

from django.db import migrations


def forwards(apps, schema_editor) -> None:
    apps.get_model("auth", "Group").objects.get_or_create(name="rule_admins")


class Migration(migrations.Migration):
    dependencies = [("rules", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
