"""A rule's authors (its creator and everyone who edited it): an allow rule never decides their actions.

Existing rules get their creator, and every editor named by a `rule.edited` audit entry.
"""

from __future__ import annotations

from django.conf import settings
from django.db import migrations, models


def backfill(apps, schema_editor) -> None:
    rule_model = apps.get_model("rules", "Rule")
    through = rule_model.authors.through
    users = dict(apps.get_model(*settings.AUTH_USER_MODEL.split(".")).objects.values_list("username", "id"))
    pairs = set(rule_model.objects.values_list("id", "created_by_id"))
    rule_ids = {rule_id for rule_id, _ in pairs}
    edits = apps.get_model("audit", "AuditEntry").objects.filter(event="rule.edited")
    for actor, data in edits.values_list("actor", "data").iterator():
        rule_id = (data or {}).get("rule_id")
        if rule_id in rule_ids and actor in users:
            pairs.add((rule_id, users[actor]))
    through.objects.bulk_create([through(rule_id=rule_id, user_id=user_id) for rule_id, user_id in sorted(pairs)])


class Migration(migrations.Migration):
    dependencies = [
        ("rules", "0002_rule_admins_group"),
        ("audit", "0005_verification_in_background"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="rule",
            name="authors",
            field=models.ManyToManyField(related_name="rules_authored", to=settings.AUTH_USER_MODEL),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
