"""Create the escalation group, and schedule the escalation of actions already waiting."""

from __future__ import annotations

from django.conf import settings
from django.db import migrations


def forwards(apps, schema_editor) -> None:
    apps.get_model("auth", "Group").objects.get_or_create(name=settings.ACTIONHUB_ESCALATION_GROUP)
    action_model = apps.get_model("approvals", "Action")
    waiting = action_model.objects.filter(status="pending", expires_at__isnull=False, escalate_at__isnull=True)
    for action in waiting.only("id", "created_at", "expires_at").iterator():
        moment = action.created_at + (settings.ACTIONHUB_ESCALATE_AFTER or (action.expires_at - action.created_at) / 2)
        if moment < action.expires_at:
            action_model.objects.filter(id=action.id).update(escalate_at=moment)


class Migration(migrations.Migration):
    dependencies = [("approvals", "0004_routing_and_escalation")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
