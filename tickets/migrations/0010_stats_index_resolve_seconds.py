"""The stats' covering index carries `resolve_seconds` too, so MTTR is read from the index
alone like MTTA. Raw SQL, built concurrently (no write lock on the live table)."""

from django.db import migrations

TICKET_STATS = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS ticket_stats_period_v2 ON tickets_ticket (timestamp)"
    " INCLUDE (status, severity, error_type, source, finops_team, sla_status, ack_seconds,"
    " resolve_seconds)"
)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("tickets", "0009_resolved_data")]

    operations = [
        migrations.RunSQL(
            TICKET_STATS, reverse_sql="DROP INDEX CONCURRENTLY IF EXISTS ticket_stats_period_v2"
        ),
        migrations.RunSQL(
            "DROP INDEX CONCURRENTLY IF EXISTS ticket_stats_period",
            reverse_sql=(
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS ticket_stats_period ON tickets_ticket"
                " (timestamp) INCLUDE (status, severity, error_type, source, finops_team,"
                " sla_status, ack_seconds)"
            ),
        ),
    ]
