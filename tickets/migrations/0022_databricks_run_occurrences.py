"""A Databricks job's failure finds its run's task failures among the failure instances
(`TicketQuerySet.task_of_run`), not the tickets' run ids (a ticket keeps its first run's):
a pattern-ops index over Databricks occurrence keys only, so other sources' inserts never
write to it, replaces the one over Databricks tickets' run ids. Both built and dropped
concurrently (no write lock on the live tables)."""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("tickets", "0021_databricks_run_prefix_index")]

    operations = [
        AddIndexConcurrently(
            model_name="occurrence",
            index=models.Index(
                condition=models.Q(key__startswith="databricks:"),
                fields=["key"],
                name="occurrence_databricks_key",
                opclasses=["varchar_pattern_ops"],
            ),
        ),
        RemoveIndexConcurrently(model_name="ticket", name="ticket_databricks_run"),
    ]
