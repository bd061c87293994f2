"""A ticket's occurrences by time (`occurrence_ticket_seen`) in place of the index on the ticket
alone: its API detail and its page show its latest occurrences, which read and sorted every
occurrence of the ticket (a flaky pipeline's ticket holds tens of thousands); by time, they
are read from the index's end. The ticket's other look-ups use it as they used the old one, and
an occurrence's insert still writes one index for the ticket. Built concurrently (no write lock
on the live table), an invalid one left by an interrupted build dropped first (as in 0031);
the old index is dropped concurrently once the new one is there. A migrate interrupted as it
dropped the old one (that drop waits for every transaction that has read the table) left the
new one built and valid: the next one keeps it and drops the old one."""

from django.contrib.postgres.operations import RemoveIndexConcurrently
from django.db import migrations, models

from rca_project.database.index_builds import (
    AddIndexConcurrentlyUnlessBuilt,
    dropping_an_interrupted_build,
)

NAME = "occurrence_ticket_seen"


drop_an_interrupted_build = dropping_an_interrupted_build(NAME)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("tickets", "0042_redact_hadoop_storage_keys")]

    operations = [
        migrations.RunPython(drop_an_interrupted_build, migrations.RunPython.noop),
        AddIndexConcurrentlyUnlessBuilt(
            model_name="occurrence",
            index=models.Index(fields=["ticket", "seen_at"], name=NAME),
        ),
        RemoveIndexConcurrently(model_name="occurrence", name="occurrence_ticket"),
    ]
