"""An index over the follow-ups held for their regression's processing only (`fanout.HELD`):
every change of a ticket asks whether it holds any (`fanout.schedule_follow_up`), which read
the ticket's whole delivery history or every pending delivery before, and beat looks for the
overdue ones. Built concurrently (no write lock on the live table), an invalid one left by an
interrupted build dropped first (as in tickets/0031)."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

from rca_project.database.index_builds import dropping_an_interrupted_build

NAME = "outbound_held"


drop_an_interrupted_build = dropping_an_interrupted_build(NAME)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("integrations", "0018_outbound_skipped_label")]

    operations = [
        migrations.RunPython(drop_an_interrupted_build, migrations.RunPython.noop),
        AddIndexConcurrently(
            model_name="outbounddelivery",
            index=models.Index(
                condition=models.Q(status="pending", payload__has_key="held"),
                fields=["ticket", "next_attempt_at"],
                name=NAME,
            ),
        ),
    ]
