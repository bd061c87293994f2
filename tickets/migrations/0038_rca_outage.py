"""`Ticket.rca_outage`: the Gemini outage a ticket's own rule-based RCA was made in, until it
is asked again (analysis/outage_reruns.py), and an index over those tickets only (a sweep
every minute reads them by `analysed_at`; no other ticket is written to it). The column comes
blank on every row at once (a constant default is not written row by row) and keeps that
default in the database, so the release before can still insert tickets; the index is built
concurrently (no write lock on the live table), an invalid one left by an interrupted build
dropped first (as in 0031)."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

from rca_project.database.index_builds import dropping_an_interrupted_build

NAME = "ticket_rca_in_outage"


drop_an_interrupted_build = dropping_an_interrupted_build(NAME)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("tickets", "0037_folded_ticket")]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="rca_outage",
            field=models.CharField(
                blank=True,
                help_text="Its rule-based RCA was made because Gemini was down (the failure: "
                "timeout, server_error, connection_error, rate_limited); blank once Gemini is "
                "asked again.",
                max_length=20,
            ),
        ),
        # Django drops the default it added the column with; the database keeps one here
        # (not `db_default`: tickets are inserted through compiled SQL naming every column).
        migrations.RunSQL(
            "ALTER TABLE tickets_ticket ALTER COLUMN rca_outage SET DEFAULT ''",
            "ALTER TABLE tickets_ticket ALTER COLUMN rca_outage DROP DEFAULT",
        ),
        migrations.RunPython(drop_an_interrupted_build, migrations.RunPython.noop),
        AddIndexConcurrently(
            model_name="ticket",
            index=models.Index(
                condition=~models.Q(rca_outage=""), fields=["analysed_at"], name=NAME
            ),
        ),
    ]
