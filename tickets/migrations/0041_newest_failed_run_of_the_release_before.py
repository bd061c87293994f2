"""Airflow tickets the release before kept open get the `details.newest_failed_run` that release
did not write: the run it counted last (`latest_run`), when that is not the run that opened the
ticket and its logical date is known. Without it the first failure counted after the upgrade
became the newest failed run whatever its date, and overwrote `latest_run`: a backfill of an
older date failing after the upgrade, then succeeding, resolved the ticket while the newer run
the release before had counted still failed (`tickets.services._newer_failed_run` compares a
success with the runs a ticket keeps)."""

import json
from datetime import UTC, datetime

from django.db import migrations, models
from django.db.models.expressions import RawSQL

NEWEST_FAILED_RUN = "newest_failed_run"  # tickets.vocabulary.NEWEST_FAILED_RUN


def _logical_date(value):
    """As `tickets.services._logical_date` reads it; None when it is not a date."""
    try:
        parsed = datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
    if parsed is not None and parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed


def keep_newest_failed_run(apps, schema_editor):
    Ticket = apps.get_model("tickets", "Ticket")
    tickets = (
        Ticket.objects.filter(source="airflow")
        .exclude(status="resolved")
        .exclude(details__has_key=NEWEST_FAILED_RUN)
        .order_by("pk")
        .values_list("pk", "run_id", "latest_run", "details")
    )
    for pk, run_id, latest, details in tickets.iterator(chunk_size=500):
        if not isinstance(latest, dict) or not isinstance(details, dict):
            continue
        run_key = str(latest.get("run_key") or "")
        entity = latest.get("entity") if isinstance(latest.get("entity"), dict) else {}
        logical = _logical_date(entity.get("logical_date"))
        if not run_key or run_key == run_id or logical is None:
            continue
        newest = {
            "run_key": run_key,
            "run_id": str(entity.get("run_id") or run_key),
            "logical_date": logical.isoformat(),
        }
        # Only where no failure counted since wrote one (a release running beside this one),
        # and added to the details as they are now: what the release before wrote there since
        # they were read (a try's facts) stays.
        Ticket.objects.filter(pk=pk).exclude(details__has_key=NEWEST_FAILED_RUN).update(
            details=RawSQL(
                "details || %s::jsonb",
                (json.dumps({NEWEST_FAILED_RUN: newest}),),
                output_field=models.JSONField(),
            )
        )


class Migration(migrations.Migration):
    # Each ticket it changes commits on its own: the release before, running beside it, counts
    # failures on those tickets meanwhile (it waited for the whole migration, the rows locked).
    atomic = False

    dependencies = [("tickets", "0040_mark_outage_fallbacks_of_the_release_before")]

    operations = [migrations.RunPython(keep_newest_failed_run, migrations.RunPython.noop)]
