"""The open Azure alerts in no incident, by their recovery keys (`ticket_azure_ungrouped_alert`):
an alert of a rule on several resources forms its rule's incident with the rule's other recent
alerts in none (tickets/incidents.py `_same_rule`), which were read through an index of every
ticket. Built concurrently (no write lock on the live table), an invalid one left by an
interrupted build dropped first (as in 0043)."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

from rca_project.database.index_builds import dropping_an_interrupted_build

NAME = "ticket_azure_ungrouped_alert"


drop_an_interrupted_build = dropping_an_interrupted_build(NAME)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("tickets", "0045_redact_command_line_credentials")]

    operations = [
        migrations.RunPython(drop_an_interrupted_build, migrations.RunPython.noop),
        AddIndexConcurrently(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(
                    ("incident__isnull", True),
                    ("processing_mode", "azure-monitor"),
                    ("resolved_at_source_at__isnull", True),
                    ("source", "azure-monitor"),
                    models.Q(("status", "resolved"), _negated=True),
                ),
                fields=["resolve_key"],
                name=NAME,
                opclasses=["varchar_pattern_ops"],
            ),
        ),
    ]
