from django.db import connection as default_connection
from django.db import migrations, models

ANSWERED_REOPEN = "a.action = 'reopen' AND a.before ->> 'status' IN ('acknowledged', 'resolved')"
# Each ticket's last reopen (by people, an incident or JIRA) of an acknowledged or resolved
# ticket (its audit entry's `before` status), read before the column is added: adding it holds
# the tickets table's ACCESS EXCLUSIVE lock until the migration commits (no webhook, board or
# API read gets through), and the audit log (an entry per recurrence too) is a large table.
COLLECT_REOPENS = """
CREATE TEMPORARY TABLE answered_reopens ON COMMIT DROP AS
SELECT a.ticket_id, MAX(a.created_at) AS reopened_at FROM {audit} a
 WHERE {answered_reopen} GROUP BY a.ticket_id
"""
# The last reopen of an answered ticket: its last regression, or its last reopen of an
# acknowledged or resolved ticket, whichever came last.
SET_REOPENED_AT = """
UPDATE {ticket} t SET reopened_at = GREATEST(t.regressed_at, r.reopened_at)
  FROM answered_reopens r WHERE r.ticket_id = t.id
"""
SET_REGRESSED_AT = """
UPDATE {ticket} SET reopened_at = regressed_at
 WHERE regressed_at IS NOT NULL AND reopened_at IS NULL
"""
# An acknowledgement or resolve made since counts from it (a regression's did already).
RECOUNT = """
UPDATE {ticket}
   SET ack_seconds = CASE WHEN ack_ts >= reopened_at
                          THEN FLOOR(EXTRACT(EPOCH FROM ack_ts - reopened_at))
                          ELSE ack_seconds END,
       resolve_seconds = CASE WHEN resolved_at >= reopened_at
                              THEN FLOOR(EXTRACT(EPOCH FROM resolved_at - reopened_at))
                              ELSE resolve_seconds END
 WHERE reopened_at IS NOT NULL AND (ack_ts >= reopened_at OR resolved_at >= reopened_at)
"""


def _tables(apps):
    return {
        "ticket": apps.get_model("tickets", "Ticket")._meta.db_table,
        "audit": apps.get_model("tickets", "AuditLog")._meta.db_table,
        "answered_reopen": ANSWERED_REOPEN,
    }


def collect_reopens(apps, schema_editor):
    """The answered reopens from the audit log, into a table of this transaction's own."""
    connection = schema_editor.connection if schema_editor else default_connection
    with connection.cursor() as cursor:
        cursor.execute(COLLECT_REOPENS.format(**_tables(apps)))


def set_reopened_at(apps, schema_editor):
    """A ticket reopened by people counted its next times to acknowledge and to resolve from
    its first failure (or last regression): they now count from the reopen, recorded here from
    the audit log (`collect_reopens`, run first), and the ones made since the reopen are
    counted again from it (the stats' day rows follow, through their trigger)."""
    connection = schema_editor.connection if schema_editor else default_connection
    with connection.cursor() as cursor:
        for statement in (SET_REOPENED_AT, SET_REGRESSED_AT, RECOUNT):
            cursor.execute(statement.format(**_tables(apps)))


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0029_mark_alerts_resolved_before"),
    ]

    operations = [
        migrations.RunPython(collect_reopens, migrations.RunPython.noop),
        migrations.AddField(
            model_name="ticket",
            name="reopened_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When it was last reopened after it was acknowledged or resolved (by "
                "people or a regression): its times to acknowledge and to resolve count from "
                "there.",
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="ticket",
            name="resolve_seconds",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="Time to resolve, from opening (or its last reopen).",
                null=True,
            ),
        ),
        migrations.RunPython(set_reopened_at, migrations.RunPython.noop),
    ]
