"""The tickets seen again since they were opened, by when last (`ticket_last_seen_moved`): the
API's `?ordering=-last_seen` sorted every ticket, since no index holds them all by `last_seen`
(one would be one more write in every new ticket's INSERT). A new ticket's `last_seen` is its
`timestamp` and enters this one at its first recurrence, whose UPDATE writes every index of the
row anyway (`last_seen` is in two); the others are read from the `timestamp` index
(`TicketQuerySet.in_halves`). Built concurrently (no write lock on the live
table), an invalid one left by an interrupted build dropped first (as in 0046)."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

from rca_project.database.index_builds import dropping_an_interrupted_build

NAME = "ticket_last_seen_moved"


drop_an_interrupted_build = dropping_an_interrupted_build(NAME)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("tickets", "0049_redact_principal_keys_and_private_key_content")]

    operations = [
        migrations.RunPython(drop_an_interrupted_build, migrations.RunPython.noop),
        AddIndexConcurrently(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("last_seen", models.F("timestamp")), _negated=True),
                fields=["last_seen", "id"],
                name=NAME,
            ),
        ),
    ]
