"""The Databricks tickets whose run is to be read again (`ticket_databricks_refetch`): beat's
`refetch_databricks_errors` looks for them every 30 s, and without an index each look read
every ticket (190 ms and 25,000 buffers at 100,000 tickets, measured at load 11). A new ticket's INSERT enters none;
an analysis whose read of the run met a throttle, a 5xx or a timeout puts its ticket in. Built
concurrently (no write lock on the live table), an invalid one left by an interrupted build
dropped first (as in 0050)."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

from rca_project.database.index_builds import dropping_an_interrupted_build

NAME = "ticket_databricks_refetch"


drop_an_interrupted_build = dropping_an_interrupted_build(NAME)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("tickets", "0051_ticket_counted_again_index")]

    operations = [
        migrations.RunPython(drop_an_interrupted_build, migrations.RunPython.noop),
        AddIndexConcurrently(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(
                    ("details__databricks_refetch__failed_at__isnull", False),
                    ("source", "databricks"),
                ),
                fields=["updated_at"],
                name=NAME,
            ),
        ),
    ]
