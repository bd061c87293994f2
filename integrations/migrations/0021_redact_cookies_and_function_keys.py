"""Redact the inbox rows again with the current rules, as 0020 did: the rules of the releases
before kept cookie values, `x-functions-key:` headers and unlabelled AWS secret keys in the
stored bodies and events (tickets/0044 redacts the tickets opened from them)."""

import importlib

from django.db import migrations

redact_inbox_rows = importlib.import_module(
    "integrations.migrations.0015_redact_inbox_rows_again"
).redact_inbox_rows


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0020_redact_hadoop_storage_keys"),
    ]

    operations = [
        migrations.RunPython(redact_inbox_rows, migrations.RunPython.noop, elidable=True),
    ]
