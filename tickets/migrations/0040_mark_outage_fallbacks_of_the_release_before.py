"""Tickets whose own RCA the release before tickets/0038 made with the rules because Gemini was
down get the `rca_outage` that release could not write, read from the note it wrote ("rule-based:
Gemini failed (server_error: …)", the same words as now), so the sweep (analysis/outage_reruns.py)
asks them again once Gemini answers, as it does tickets analysed since: 0038 left them blank,
and an outage going on at the upgrade never brought them Gemini's RCA. Only those the sweep
would ask are written: not resolved, analysed within GEMINI_RERUN_WINDOW_SECONDS (their first
fallback, which that release did not keep, is read as their analysis, as the sweep reads it)."""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

# analysis.gemini.UNAVAILABLE_OUTCOMES: a Gemini timed out, answering 5xx, unreachable, or 429.
UNAVAILABLE_OUTCOMES = ("timeout", "server_error", "connection_error", "rate_limited")


# The note's start, its outcome captured (POSIX regex: `substring ... from` returns the group).
NOTE = r"^rule-based: Gemini failed \((" + "|".join(UNAVAILABLE_OUTCOMES) + r"): "


def mark_outage_fallbacks(apps, schema_editor):
    """One pass over the tickets (a scan per outcome would read the table four times)."""
    Ticket = apps.get_model("tickets", "Ticket")
    table = schema_editor.quote_name(Ticket._meta.db_table)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET rca_outage = substring(rca_note from %s)"
            " WHERE rca_source = 'rules' AND rca_outage = '' AND status <> 'resolved'"
            " AND analysed_at >= %s AND rca_note ~ %s",
            [NOTE, timezone.now() - settings.GEMINI_RERUN_WINDOW, NOTE],
        )


class Migration(migrations.Migration):
    dependencies = [("tickets", "0039_resolution_through_incident")]

    operations = [migrations.RunPython(mark_outage_fallbacks, migrations.RunPython.noop)]
