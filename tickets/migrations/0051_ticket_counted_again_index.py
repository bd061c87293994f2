"""The tickets counted more than once, by how many times (`ticket_counted_again`): the API's
`?ordering=occurrence_count` (either way) sorted every ticket, since no index holds them all by
the count (one would be one more write in every new ticket's INSERT). A new ticket is counted
once and enters this one at its first recurrence, whose UPDATE writes every index of the row
anyway (`last_seen` is in two); the others are read from the primary key
(`TicketQuerySet.in_halves`). Built concurrently (no write lock on the live table), an invalid
one left by an interrupted build dropped first (as in 0050)."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

NAME = "ticket_counted_again"


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

    dependencies = [("tickets", "0050_ticket_last_seen_moved_index")]

    operations = [
        migrations.RunPython(drop_an_interrupted_build, migrations.RunPython.noop),
        AddIndexConcurrently(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("occurrence_count", 1), _negated=True),
                fields=["occurrence_count", "id"],
                name=NAME,
            ),
        ),
    ]
