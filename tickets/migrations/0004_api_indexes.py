"""Covering indexes for the stats (API and dashboard): a period's counts, MTTR and daily series
are read from the index alone (index-only scans) instead of the wide ticket and inbox rows.

Raw SQL, built concurrently: no model state changes, and no write lock on live tables.
"""

from django.db import migrations

TICKET_STATS = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS ticket_stats_period ON tickets_ticket (timestamp)"
    " INCLUDE (status, severity, error_type, source, finops_team, sla_status, ack_seconds)"
)
DELIVERY_STATS = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS delivery_stats_period"
    " ON integrations_webhookdelivery (received_at) INCLUDE (status, outcome)"
)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tickets", "0003_outbound_deliveries"),
        ("integrations", "0002_outbound_deliveries"),
    ]

    operations = [
        migrations.RunSQL(
            TICKET_STATS, reverse_sql="DROP INDEX CONCURRENTLY IF EXISTS ticket_stats_period"
        ),
        migrations.RunSQL(
            DELIVERY_STATS, reverse_sql="DROP INDEX CONCURRENTLY IF EXISTS delivery_stats_period"
        ),
    ]
