"""An Azure alert's Resolved asks when its ticket last regressed (`alerts_counted_on`): an
index over regressions only, so that is one index probe however many alerts the ticket
counts, and the inserts of other occurrences never write to it. Built concurrently (no write
lock on the live table).

A concurrent build that was interrupted (cancelled, a statement timeout, the migrate stopped)
leaves its index behind, invalid, and the migration unapplied: the next migrate would fail on
the name taken. So an invalid index of that name is dropped (concurrently too) first."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

NAME = "occurrence_regressed"


def drop_an_interrupted_build(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_index WHERE indexrelid = to_regclass(%s) AND NOT indisvalid", [NAME]
        )
        invalid = cursor.fetchone() is not None
    if invalid:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(NAME)}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("tickets", "0030_ticket_reopened_at")]

    operations = [
        migrations.RunPython(drop_an_interrupted_build, migrations.RunPython.noop),
        AddIndexConcurrently(
            model_name="occurrence",
            index=models.Index(
                condition=models.Q(outcome="regressed"),
                fields=["ticket", "seen_at"],
                name=NAME,
            ),
        ),
    ]
