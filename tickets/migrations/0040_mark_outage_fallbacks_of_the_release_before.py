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


def mark_outage_fallbacks(apps, schema_editor):
    Ticket = apps.get_model("tickets", "Ticket")
    window_start = timezone.now() - settings.GEMINI_RERUN_WINDOW
    for outcome in UNAVAILABLE_OUTCOMES:
        (
            Ticket.objects.filter(
                rca_source="rules",
                rca_outage="",
                analysed_at__gte=window_start,
                rca_note__startswith=f"rule-based: Gemini failed ({outcome}: ",
            )
            .exclude(status="resolved")
            .update(rca_outage=outcome)
        )


class Migration(migrations.Migration):
    dependencies = [("tickets", "0039_resolution_through_incident")]

    operations = [migrations.RunPython(mark_outage_fallbacks, migrations.RunPython.noop)]
