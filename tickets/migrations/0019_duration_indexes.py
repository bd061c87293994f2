"""Narrow partial indexes for the MTTA and MTTR percentiles: only the acknowledged (resolved)
tickets, only their time and duration, so the percentiles read a fraction of the wide stats
index. A new ticket has neither duration, so ingest never writes to them. Raw SQL, built
concurrently (no write lock on the live table)."""

from django.db import migrations

INDEXES = {
    "ticket_ack_period": "ack_seconds",
    "ticket_resolve_period": "resolve_seconds",
}


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("tickets", "0018_stats_rollup")]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON tickets_ticket (timestamp)"
            f" INCLUDE ({column}) WHERE {column} IS NOT NULL",
            reverse_sql=f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
        )
        for name, column in INDEXES.items()
    ]
