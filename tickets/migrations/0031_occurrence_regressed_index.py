"""An Azure alert's Resolved asks when its ticket last regressed (`alerts_counted_on`): an
index over regressions only, so that is one index probe however many alerts the ticket
counts, and the inserts of other occurrences never write to it. Built concurrently (no write
lock on the live table).

A concurrent build that was interrupted (cancelled, a statement timeout, the migrate stopped)
leaves its index behind, invalid, and the migration unapplied: the next migrate would fail on
the name taken. So an invalid index of that name is dropped (concurrently too) first."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

from rca_project.database.index_builds import dropping_an_interrupted_build

NAME = "occurrence_regressed"


drop_an_interrupted_build = dropping_an_interrupted_build(NAME)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("tickets", "0030_ticket_reopened_at")]

    operations = [
        migrations.RunPython(drop_an_interrupted_build, migrations.RunPython.noop),
        AddIndexConcurrently(
            model_name="occurrence",
            index=models.Index(
                condition=models.Q(outcome="regressed"),
                fields=["ticket", "seen_at"],
                name=NAME,
            ),
        ),
    ]
