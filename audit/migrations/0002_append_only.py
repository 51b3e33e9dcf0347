"""Seed the chain's head row and make audit entries append-only in the database itself."""

from __future__ import annotations

from django.db import migrations

from audit import triggers
from audit.chain import GENESIS_HASH


def forwards(apps, schema_editor) -> None:
    apps.get_model("audit", "AuditHead").objects.get_or_create(id=1, defaults={"seq": 0, "hash": GENESIS_HASH})
    triggers.install(schema_editor.connection)


def backwards(apps, schema_editor) -> None:
    triggers.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
