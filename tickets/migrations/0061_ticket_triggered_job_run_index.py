"""The Databricks tickets whose Run Job task triggered a job run, by that run's key
(`ticket_triggered_job_run`): each Databricks failure's settling looks for the ticket whose Run
Job task triggered its run (`TicketQuerySet.that_triggered`), and without an index each look
read every ticket's details. Only the tickets naming such a run are in it. Built concurrently
(no write lock on the live table), an invalid one left by an interrupted build dropped first
(as in 0052)."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

from rca_project.database.index_builds import dropping_an_interrupted_build

NAME = "ticket_triggered_job_run"


drop_an_interrupted_build = dropping_an_interrupted_build(NAME)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("tickets", "0060_quiet_notices_without_a_sla_clock")]

    operations = [
        migrations.RunPython(drop_an_interrupted_build, migrations.RunPython.noop),
        AddIndexConcurrently(
            model_name="ticket",
            index=models.Index(
                models.Func(
                    models.F("details"),
                    models.Value("triggered_job_run"),
                    models.Value("run_key"),
                    function="jsonb_extract_path_text",
                    output_field=models.CharField(),
                ),
                condition=models.Q(
                    ("details__has_key", "triggered_job_run"), ("source", "databricks")
                ),
                name=NAME,
            ),
        ),
    ]
