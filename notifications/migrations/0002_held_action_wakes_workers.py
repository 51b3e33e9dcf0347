"""A held action wakes the workers from the database itself: a trigger on the action row notifies
the workers' channel whenever a notice falls due (a held insert, or an update that sets
`notice_due`), so the submit sends no NOTIFY of its own. Postgres delivers it at the commit, as
before; SQLite has no channel, and its workers poll.

Additive: the release still running sends its own NOTIFY as well, and a second wake-up in one
transaction is folded into the first by Postgres."""

from django.db import migrations

# worker.wakeup.CHANNEL, spelled out so that this migration means the same whatever the code says
# later (tests/notifications/test_held_wakeup.py listens on the code's channel).
CHANNEL = "actionhub_tasks"

CREATE = f"""
CREATE FUNCTION notifications_notice_due_wake() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER notifications_held_insert_wakes AFTER INSERT ON approvals_action
    FOR EACH ROW WHEN (NEW.notice_due) EXECUTE FUNCTION notifications_notice_due_wake();
CREATE TRIGGER notifications_held_update_wakes AFTER UPDATE OF notice_due ON approvals_action
    FOR EACH ROW WHEN (NEW.notice_due AND NOT OLD.notice_due) EXECUTE FUNCTION notifications_notice_due_wake();
"""

DROP = """
DROP TRIGGER IF EXISTS notifications_held_update_wakes ON approvals_action;
DROP TRIGGER IF EXISTS notifications_held_insert_wakes ON approvals_action;
DROP FUNCTION IF EXISTS notifications_notice_due_wake();
"""


def _on_postgres(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_move_task_paths"),
        ("approvals", "0014_action_notice_due"),
    ]

    operations = [migrations.RunPython(_on_postgres(CREATE), _on_postgres(DROP), elidable=False)]
