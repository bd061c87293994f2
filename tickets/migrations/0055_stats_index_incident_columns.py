"""The stats' covering index of the tickets by `timestamp` (`ticket_stats_period_v2`, 0010)
replaced by one that also holds the columns the incident stats read (`ticket_stats_period_v3`:
culprit, incident, JIRA key, Slack ts, regression and recovery times) and the RCA source:
those read the heap of every ticket of the period (170-250 ms for a month at 100,000 tickets;
`tickets.stats.incident_stats`), and the admin ticket list's `?rca_source=` count every
ticket's (about 300 ms); both read the index alone now. A new ticket enters one index as
before, a wider one. Built concurrently (no write lock on the live table), an invalid one left
by an interrupted build dropped first (as in 0051); the old index is dropped concurrently once
the new one is there, and a migrate interrupted as it dropped it keeps the new one (as 0043).
Migrating back builds the old index again, concurrently too: an invalid one an interrupted
build of it left is dropped first, so the release before is never left without a valid one."""

from django.db import migrations

from rca_project.database.index_builds import dropping_an_interrupted_build

NAME = "ticket_stats_period_v3"
OLD_NAME = "ticket_stats_period_v2"
COLUMNS = (
    "status, severity, error_type, source, finops_team, sla_status, ack_seconds, resolve_seconds"
)
INCIDENT_COLUMNS = (
    "culprit, incident_id, itsm_ticket_id, slack_ts, regressed_at, resolved_at_source_at"
)
# The admin ticket list's RCA source filter: its count (and the date hierarchy's bounds) read
# every ticket row.
RCA_COLUMNS = "rca_source"


drop_an_interrupted_build = dropping_an_interrupted_build(NAME)
drop_an_interrupted_build_of_the_old_index = dropping_an_interrupted_build(OLD_NAME)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("tickets", "0054_unsigned_stored_refresh_tokens")]

    operations = [
        migrations.RunPython(drop_an_interrupted_build, migrations.RunPython.noop),
        migrations.RunSQL(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {NAME} ON tickets_ticket (timestamp)"
            f" INCLUDE ({COLUMNS}, {INCIDENT_COLUMNS}, {RCA_COLUMNS})",
            reverse_sql=f"DROP INDEX CONCURRENTLY IF EXISTS {NAME}",
        ),
        migrations.RunSQL(
            f"DROP INDEX CONCURRENTLY IF EXISTS {OLD_NAME}",
            reverse_sql=(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {OLD_NAME} ON tickets_ticket"
                f" (timestamp) INCLUDE ({COLUMNS})"
            ),
        ),
        # Last, so that migrating back runs it first, before the old index is built again.
        migrations.RunPython(migrations.RunPython.noop, drop_an_interrupted_build_of_the_old_index),
    ]
