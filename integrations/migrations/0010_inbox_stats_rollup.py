"""The inbox side of the stats rollup: inbox rows per UTC day (of `received_at`), status and
outcome (`InboxStatsDay`), kept exact by a trigger that appends each change to
`InboxStatsChange` in the writer's transaction; beat folds them (`integrations.inbox_stats`).
Filled here from the rows already stored, under the lock the trigger creation takes."""

from django.db import migrations, models

TRIGGER = """
CREATE FUNCTION integrations_inbox_stats_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO integrations_inboxstatschange (day, status, outcome, n)
        VALUES ((OLD.received_at AT TIME ZONE 'UTC')::date, OLD.status, OLD.outcome, -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO integrations_inboxstatschange (day, status, outcome, n)
        VALUES ((NEW.received_at AT TIME ZONE 'UTC')::date, NEW.status, NEW.outcome, 1);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER inbox_stats_insert_delete AFTER INSERT OR DELETE
    ON integrations_webhookdelivery
    FOR EACH ROW EXECUTE FUNCTION integrations_inbox_stats_change();
CREATE TRIGGER inbox_stats_update AFTER UPDATE ON integrations_webhookdelivery
    FOR EACH ROW WHEN (OLD.received_at IS DISTINCT FROM NEW.received_at
        OR OLD.status IS DISTINCT FROM NEW.status OR OLD.outcome IS DISTINCT FROM NEW.outcome)
    EXECUTE FUNCTION integrations_inbox_stats_change();
"""

UNTRIGGER = """
DROP TRIGGER inbox_stats_update ON integrations_webhookdelivery;
DROP TRIGGER inbox_stats_insert_delete ON integrations_webhookdelivery;
DROP FUNCTION integrations_inbox_stats_change();
"""

BACKFILL = """
INSERT INTO integrations_inboxstatsday (day, status, outcome, n)
SELECT (received_at AT TIME ZONE 'UTC')::date, status, outcome, COUNT(*)
  FROM integrations_webhookdelivery
 GROUP BY 1, 2, 3
"""


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0009_default_remediation_policies"),
    ]

    operations = [
        migrations.CreateModel(
            name="InboxStatsChange",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("day", models.DateField()),
                ("status", models.CharField(max_length=16)),
                ("outcome", models.CharField(max_length=16)),
                ("n", models.IntegerField()),
            ],
            options={
                "indexes": [models.Index(fields=["day"], name="inbox_stats_change_day")],
            },
        ),
        migrations.CreateModel(
            name="InboxStatsDay",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("day", models.DateField()),
                ("status", models.CharField(max_length=16)),
                ("outcome", models.CharField(max_length=16)),
                ("n", models.IntegerField()),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("day", "status", "outcome"), name="inbox_stats_day_unique"
                    )
                ],
            },
        ),
        migrations.RunSQL(TRIGGER, UNTRIGGER),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
