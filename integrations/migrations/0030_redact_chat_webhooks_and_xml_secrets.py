"""Redact the inbox rows again with the current rules, as 0026 did: the rules of the releases
before kept, in the stored bodies and events, a Teams, Discord or Slack Workflow Builder
webhook's URL, a Telegram bot's token, Airflow's `fernet_key` and a secret written in XML
(`<password>…</password>`, a Hadoop/Hive property's value)
(tickets/0057 redacts the tickets opened from them)."""

import importlib

from django.db import migrations

redact_inbox_rows = importlib.import_module(
    "integrations.migrations.0015_redact_inbox_rows_again"
).redact_inbox_rows


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0029_remediation_policy_validation"),
    ]

    operations = [
        migrations.RunPython(redact_inbox_rows, migrations.RunPython.noop, elidable=True),
    ]
