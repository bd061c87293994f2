"""An Azure alert's Resolved asks when its ticket last regressed (`alerts_counted_on`): an
index over regressions only, so that is one index probe however many alerts the ticket
counts, and the inserts of other occurrences never write to it. Built concurrently (no write
lock on the live table)."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("tickets", "0030_ticket_reopened_at")]

    operations = [
        AddIndexConcurrently(
            model_name="occurrence",
            index=models.Index(
                condition=models.Q(outcome="regressed"),
                fields=["ticket", "seen_at"],
                name="occurrence_regressed",
            ),
        ),
    ]
