"""Redact the inbox rows again with the current rules, as 0025 did: the rules of the releases
before kept, in the stored bodies and events, a service principal's key named as Data Factory's
linked services name it (`servicePrincipalKey`) and the base64 private key of Airflow's
Snowflake connection (`private_key_content`) (tickets/0049 redacts the tickets opened from
them)."""

import importlib

from django.db import migrations

redact_inbox_rows = importlib.import_module(
    "integrations.migrations.0015_redact_inbox_rows_again"
).redact_inbox_rows


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0025_redact_oracle_logons_and_nested_json"),
    ]

    operations = [
        migrations.RunPython(redact_inbox_rows, migrations.RunPython.noop, elidable=True),
    ]
