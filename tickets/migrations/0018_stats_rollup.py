"""The stats rollup: per UTC day and per value of each counted dimension, the tickets' counts
and sums (`TicketStatsDay`), kept exact by a trigger that appends each ticket's change to
`TicketStatsChange` in the writer's transaction; beat folds the changes into the days
(`tickets.rollup.fold`). The days are filled here from the tickets already stored: creating
the triggers locks the ticket table against writes until this migration commits, so no change
is counted twice or missed."""

from django.db import migrations, models

# The counted columns; a change to any other column of a ticket does not fire the trigger.
COUNTED = (
    "timestamp",
    "error_type",
    "status",
    "severity",
    "source",
    "finops_team",
    "sla_status",
    "ack_seconds",
    "resolve_seconds",
)

TRIGGER = """
CREATE FUNCTION tickets_stats_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO tickets_ticketstatschange (day, error_type, status, severity, source,
            finops_team, sla_status, n, acknowledged, ack_total, resolved, resolve_total)
        VALUES ((OLD."timestamp" AT TIME ZONE 'UTC')::date, OLD.error_type, OLD.status,
            OLD.severity, OLD.source, OLD.finops_team, OLD.sla_status, -1,
            -(OLD.ack_seconds IS NOT NULL)::int, -COALESCE(OLD.ack_seconds, 0),
            -(OLD.resolve_seconds IS NOT NULL)::int, -COALESCE(OLD.resolve_seconds, 0));
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO tickets_ticketstatschange (day, error_type, status, severity, source,
            finops_team, sla_status, n, acknowledged, ack_total, resolved, resolve_total)
        VALUES ((NEW."timestamp" AT TIME ZONE 'UTC')::date, NEW.error_type, NEW.status,
            NEW.severity, NEW.source, NEW.finops_team, NEW.sla_status, 1,
            (NEW.ack_seconds IS NOT NULL)::int, COALESCE(NEW.ack_seconds, 0),
            (NEW.resolve_seconds IS NOT NULL)::int, COALESCE(NEW.resolve_seconds, 0));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER ticket_stats_insert_delete AFTER INSERT OR DELETE ON tickets_ticket
    FOR EACH ROW EXECUTE FUNCTION tickets_stats_change();
CREATE TRIGGER ticket_stats_update AFTER UPDATE ON tickets_ticket
    FOR EACH ROW WHEN ({})
    EXECUTE FUNCTION tickets_stats_change();
""".format(" OR ".join(f'OLD."{c}" IS DISTINCT FROM NEW."{c}"' for c in COUNTED))

UNTRIGGER = """
DROP TRIGGER ticket_stats_update ON tickets_ticket;
DROP TRIGGER ticket_stats_insert_delete ON tickets_ticket;
DROP FUNCTION tickets_stats_change();
"""

BACKFILL = """
INSERT INTO tickets_ticketstatsday (day, dimension, value, n, acknowledged, ack_total, sla_met,
    sla_breached, resolved, resolve_total)
SELECT (t."timestamp" AT TIME ZONE 'UTC')::date, d.dimension, d.value, COUNT(*),
       COUNT(t.ack_seconds), COALESCE(SUM(t.ack_seconds), 0),
       COUNT(*) FILTER (WHERE t.sla_status = 'Met'),
       COUNT(*) FILTER (WHERE t.sla_status = 'Breached'),
       COUNT(t.resolve_seconds), COALESCE(SUM(t.resolve_seconds), 0)
  FROM tickets_ticket t
 CROSS JOIN LATERAL (VALUES ('error_type', t.error_type), ('status', t.status),
       ('severity', t.severity), ('source', t.source), ('finops_team', t.finops_team),
       ('sla_status', t.sla_status)) AS d (dimension, value)
 GROUP BY 1, 2, 3
"""


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0017_incident_rca"),
    ]

    operations = [
        migrations.CreateModel(
            name="TicketStatsChange",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("day", models.DateField()),
                ("error_type", models.CharField(max_length=32)),
                ("status", models.CharField(max_length=16)),
                ("severity", models.CharField(max_length=10)),
                ("source", models.CharField(max_length=32)),
                ("finops_team", models.CharField(max_length=200)),
                ("sla_status", models.CharField(max_length=10)),
                ("n", models.IntegerField()),
                ("acknowledged", models.IntegerField()),
                ("ack_total", models.BigIntegerField()),
                ("resolved", models.IntegerField()),
                ("resolve_total", models.BigIntegerField()),
            ],
            options={
                "indexes": [models.Index(fields=["day"], name="ticket_stats_change_day")],
            },
        ),
        migrations.CreateModel(
            name="TicketStatsDay",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("day", models.DateField()),
                ("dimension", models.CharField(max_length=16)),
                ("value", models.CharField(max_length=200)),
                ("n", models.IntegerField()),
                ("acknowledged", models.IntegerField()),
                ("ack_total", models.BigIntegerField()),
                ("sla_met", models.IntegerField()),
                ("sla_breached", models.IntegerField()),
                ("resolved", models.IntegerField()),
                ("resolve_total", models.BigIntegerField()),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("day", "dimension", "value"), name="ticket_stats_day_unique"
                    )
                ],
            },
        ),
        migrations.RunSQL(TRIGGER, UNTRIGGER),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
