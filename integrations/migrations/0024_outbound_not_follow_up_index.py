"""An index over a ticket's deliveries other than its changes' follow-ups, by action
(`outbound_not_follow_up`): a delivery that updates a ticket's JIRA issue or Slack alert first
reads the ticket's latest page (`targets.base.latest_page`), which read every delivery of the
ticket (its follow-ups are most of them) before. Built concurrently (no write lock on the live
table), an invalid one left by an interrupted build dropped first (as in 0019)."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

NAME = "outbound_not_follow_up"


def drop_an_interrupted_build(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_index WHERE indexrelid = to_regclass(%s) AND NOT indisvalid", [NAME]
        )
        invalid = cursor.fetchone() is not None
    if invalid:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(NAME)}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("integrations", "0023_redact_command_line_credentials")]

    operations = [
        migrations.RunPython(drop_an_interrupted_build, migrations.RunPython.noop),
        AddIndexConcurrently(
            model_name="outbounddelivery",
            index=models.Index(
                condition=models.Q(("key__regex", "^[^:]+:[^:]+:[0-9a-f]{32}$"), _negated=True),
                fields=["ticket", "action", "created_at", "id"],
                name=NAME,
            ),
        ),
    ]
