"""A Databricks job's failure finds the tickets of its run's tasks by run-id prefix
(`TicketQuerySet.task_of_run`): a pattern-ops index over Databricks tickets only, so other
sources' inserts never write to it. Built concurrently (no write lock on the live table)."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("tickets", "0020_pipeline_rule_source_choices")]

    operations = [
        AddIndexConcurrently(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(source="databricks"),
                fields=["run_id"],
                name="ticket_databricks_run",
                opclasses=["varchar_pattern_ops"],
            ),
        ),
    ]
