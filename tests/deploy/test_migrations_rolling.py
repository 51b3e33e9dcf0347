"""The rule for migrations (README, "Deploy"): each one must work while workers and web processes of
the release before it still run, because an upgrade migrates first and replaces containers after.

So a migration only adds: new models, nullable fields or fields with a database default, indexes,
data steps the old code does not mind. Removing or renaming a field or model, or a new NOT NULL
column the old code would not fill, is split over two releases: the first stops using it, the next
removes it and says so with `contracts = True` on its Migration class.
"""

from __future__ import annotations

from pathlib import Path

from django.apps import apps
from django.db import models
from django.db.migrations import operations
from django.db.migrations.loader import MigrationLoader

from tests.test_layering import ROOT

DESTRUCTIVE = (
    operations.RemoveField,
    operations.DeleteModel,
    operations.RenameField,
    operations.RenameModel,
    operations.AlterModelTable,
)
# Written before rolling upgrades were supported; each adds a NOT NULL column with a Python default.
BEFORE_THE_RULE = {
    ("approvals", "0011_action_cancelled_external_callback"),
    ("audit", "0005_verification_in_background"),
    ("review", "0002_reviewerpreference_time_zone"),
}


def unsafe_operations(migration) -> list[str]:
    found = []
    for operation in migration.operations:
        if isinstance(operation, DESTRUCTIVE):
            found.append(operation.describe())
        elif (
            isinstance(operation, operations.AddField)
            and not operation.field.null
            and not operation.field.many_to_many
            and operation.field.db_default is models.NOT_PROVIDED
        ):
            found.append(f"{operation.describe()}: NOT NULL without db_default")
    return found


def test_it_keeps_every_migration_safe_for_the_release_still_running():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    ours_apps = {config.label for config in apps.get_app_configs() if Path(config.path).parent == ROOT}
    ours = {key: migration for key, migration in loader.disk_migrations.items() if key[0] in ours_apps}
    assert len(ours) > 20
    unsafe = {
        key: problems
        for key, migration in sorted(ours.items())
        if key not in BEFORE_THE_RULE
        and not getattr(migration, "contracts", False)
        and (problems := unsafe_operations(migration))
    }
    assert unsafe == {}


def test_it_finds_what_old_code_would_trip_over():
    class Migration:
        operations = [
            operations.RemoveField("action", "error"),
            operations.AddField("action", "tag", models.CharField(max_length=10, default="")),
            operations.AddField("action", "note", models.TextField(null=True)),
            operations.AddField("action", "rank", models.IntegerField(db_default=0)),
        ]

    assert unsafe_operations(Migration) == [
        "Remove field error from action",
        "Add field tag to action: NOT NULL without db_default",
    ]
