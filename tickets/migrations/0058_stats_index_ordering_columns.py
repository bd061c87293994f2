"""The stats' covering index of the tickets by `timestamp` (`ticket_stats_period_v3`, 0055)
replaced by one that also holds the priority, the SLA deadline and the id
(`ticket_stats_period_v4`): with them a page's ids of the API's `?ordering=severity`,
`priority` and `sla_deadline` (either way), and of the admin ticket list filtered by a value
few tickets hold (`?rca_source=gemini`), are read by an index-only scan of it, sorted there,
and only the page's rows read from the table (`TicketQuerySet.ids_first`). Those sorted or
walked the table's rows (the error text and the embedding: 25,000 buffers at 100,000
tickets), 130-380 ms. A new ticket enters one index as before, a wider one; no index of its
own for each ordering (each would be one more write in every new ticket's INSERT). Built
concurrently (no write lock on the live table), an invalid one left by an interrupted build
dropped first; the old index is dropped concurrently once the new one is there; migrating back
builds the old one again, concurrently too, an invalid one an interrupted build of it left
dropped first (as 0055)."""

from django.db import migrations

from rca_project.database.index_builds import dropping_an_interrupted_build

NAME = "ticket_stats_period_v4"
OLD_NAME = "ticket_stats_period_v3"
# 0055's columns, in its order.
OLD_COLUMNS = (
    "status, severity, error_type, source, finops_team, sla_status, ack_seconds,"
    " resolve_seconds, culprit, incident_id, itsm_ticket_id, slack_ts, regressed_at,"
    " resolved_at_source_at, rca_source"
)
ORDERING_COLUMNS = "priority, sla_deadline, id"


drop_an_interrupted_build = dropping_an_interrupted_build(NAME)
drop_an_interrupted_build_of_the_old_index = dropping_an_interrupted_build(OLD_NAME)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("tickets", "0057_redact_chat_webhooks_and_xml_secrets")]

    operations = [
        migrations.RunPython(drop_an_interrupted_build, migrations.RunPython.noop),
        migrations.RunSQL(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {NAME} ON tickets_ticket (timestamp)"
            f" INCLUDE ({OLD_COLUMNS}, {ORDERING_COLUMNS})",
            reverse_sql=f"DROP INDEX CONCURRENTLY IF EXISTS {NAME}",
        ),
        migrations.RunSQL(
            f"DROP INDEX CONCURRENTLY IF EXISTS {OLD_NAME}",
            reverse_sql=(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {OLD_NAME} ON tickets_ticket"
                f" (timestamp) INCLUDE ({OLD_COLUMNS})"
            ),
        ),
        # Last, so that migrating back runs it first, before the old index is built again.
        migrations.RunPython(migrations.RunPython.noop, drop_an_interrupted_build_of_the_old_index),
    ]
