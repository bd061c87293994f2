"""The tickets counted more than once, by how many times (`ticket_counted_again`): the API's
`?ordering=occurrence_count` (either way) sorted every ticket, since no index holds them all by
the count (one would be one more write in every new ticket's INSERT). A new ticket is counted
once and enters this one at its first recurrence, whose UPDATE writes every index of the row
anyway (`last_seen` is in two); the others are read from the primary key
(`TicketQuerySet.in_halves`). Built concurrently (no write lock on the live table), an invalid
one left by an interrupted build dropped first (as in 0050)."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

from rca_project.database.index_builds import dropping_an_interrupted_build

NAME = "ticket_counted_again"


drop_an_interrupted_build = dropping_an_interrupted_build(NAME)


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
