"""An index over a ticket's deliveries other than its changes' follow-ups, by action
(`outbound_not_follow_up`): a delivery that updates a ticket's JIRA issue or Slack alert first
reads the ticket's latest page (`targets.base.latest_page`), which read every delivery of the
ticket (its follow-ups are most of them) before. Built concurrently (no write lock on the live
table), an invalid one left by an interrupted build dropped first (as in 0019)."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

from rca_project.database.index_builds import dropping_an_interrupted_build

NAME = "outbound_not_follow_up"


drop_an_interrupted_build = dropping_an_interrupted_build(NAME)


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
