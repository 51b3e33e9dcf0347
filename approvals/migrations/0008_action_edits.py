"""Who edited which action, kept durably: editors are co-authors and may not approve what they edited.

Edits made before this table existed are read back from their `action.edited` audit entries, so
an action edited then is still guarded against its editors.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def backfill(apps, schema_editor) -> None:
    edit_model = apps.get_model("approvals", "ActionEdit")
    action_ids = set(apps.get_model("approvals", "Action").objects.values_list("id", flat=True))
    users = dict(apps.get_model(*settings.AUTH_USER_MODEL.split(".")).objects.values_list("username", "id"))
    entries = apps.get_model("audit", "AuditEntry").objects.filter(event="action.edited").order_by("seq")
    for entry in entries.iterator():
        hashes = entry.data.get("payload_hash") or {}
        if entry.action_id not in action_ids or entry.actor not in users:
            continue
        edit_model.objects.create(
            action_id=entry.action_id,
            user_id=users[entry.actor],
            at=entry.at,
            diff=entry.data.get("diff") or {},
            payload_hash_before=hashes.get("old", ""),
            payload_hash_after=hashes.get("new", ""),
            approvals_voided=entry.data.get("approvals_voided") or 0,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0007_approval_decided_by_rule"),
        ("audit", "0005_verification_in_background"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ActionEdit",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("at", models.DateTimeField()),
                ("diff", models.JSONField()),
                ("payload_hash_before", models.CharField(max_length=64)),
                ("payload_hash_after", models.CharField(max_length=64)),
                ("approvals_voided", models.PositiveIntegerField(default=0)),
                (
                    "action",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="edits", to="approvals.action"
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="action_edits",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["at", "id"],
                "indexes": [models.Index(fields=["action", "user"], name="action_edit_action_user")],
            },
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
