"""The review app takes over LinkUse and ReviewerPreference from approvals: their tables (created by
approvals 0003) keep their names and rows, so nothing is done to the database."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("approvals", "0009_move_models_to_review_and_worker"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="LinkUse",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("nonce", models.CharField(max_length=32)),
                        (
                            "decision",
                            models.CharField(choices=[("approve", "Approve"), ("reject", "Reject")], max_length=8),
                        ),
                        ("channel", models.CharField(max_length=16)),
                        ("used_at", models.DateTimeField()),
                        (
                            "action",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="link_uses",
                                to="approvals.action",
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="link_uses",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "approvals_linkuse",
                        "constraints": [
                            models.UniqueConstraint(fields=("nonce", "user"), name="link_used_once_per_reviewer")
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="ReviewerPreference",
                    fields=[
                        (
                            "user",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                primary_key=True,
                                related_name="reviewer_preference",
                                serialize=False,
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        ("alert_sound", models.BooleanField(default=False)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                    ],
                    options={"db_table": "approvals_reviewerpreference"},
                ),
            ]
        )
    ]
