"""The default order of ticket lists (`ticket_urgency`, 0007) built again as
`ticket_urgency_v2`: an open or in-progress ticket with no SLA deadline (a Service Health
notice that pages nobody has no clock: `lifecycle.runs_sla_clock`) was keyed as due at its
creation, before every ticket whose deadline is later, so each notice led the board; it comes
after the tickets whose clock runs now, oldest first (`tickets.models.urgency_expression`).
Built concurrently (no write lock on the live table), an invalid one left by an interrupted
build dropped first; the old index is dropped concurrently once the new one is there (as 0043).
Migrating back builds `ticket_urgency` again, concurrently, an invalid one an interrupted build
of it left dropped first, a valid one kept (as 0058)."""

from django.db import migrations, models

import tickets.models
from rca_project.database.index_builds import (
    AddIndexConcurrentlyUnlessBuilt,
    RemoveIndexConcurrentlyRebuiltUnlessBuilt,
    dropping_an_interrupted_build,
)

NAME = "ticket_urgency_v2"
OLD_NAME = "ticket_urgency"
RUNNING = ("open", "in_progress")


drop_an_interrupted_build = dropping_an_interrupted_build(NAME)
drop_an_interrupted_build_of_the_old_index = dropping_an_interrupted_build(OLD_NAME)


def severity_rank() -> models.Case:
    return models.Case(
        models.When(severity="Critical", then=models.Value(0)),
        models.When(severity="High", then=models.Value(1)),
        models.When(severity="Medium", then=models.Value(2)),
        models.When(severity="Low", then=models.Value(3)),
        default=models.Value(4),
        output_field=models.IntegerField(),
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("tickets", "0058_stats_index_ordering_columns")]

    operations = [
        migrations.RunPython(drop_an_interrupted_build, migrations.RunPython.noop),
        AddIndexConcurrentlyUnlessBuilt(
            model_name="ticket",
            index=models.Index(
                models.Case(
                    models.When(
                        status__in=RUNNING,
                        sla_deadline__isnull=False,
                        then=tickets.models.IntervalSinceOrigin(models.F("sla_deadline")),
                    ),
                    models.When(
                        status__in=RUNNING,
                        then=tickets.models.IntervalAfterEveryDeadline(models.F("timestamp")),
                    ),
                    default=tickets.models.IntervalUntilFarFuture(models.F("timestamp")),
                    output_field=models.DurationField(),
                ),
                severity_rank(),
                models.F("id"),
                name=NAME,
            ),
        ),
        RemoveIndexConcurrentlyRebuiltUnlessBuilt(model_name="ticket", name=OLD_NAME),
        migrations.RunPython(migrations.RunPython.noop, drop_an_interrupted_build_of_the_old_index),
    ]
