"""Redact the inbox rows again with the current rules, as 0026 did: the releases before kept
the keys of a body's objects as they came, so a secret a sender used as a key (a connection
string naming what it saw on it) stayed in the stored body."""

import importlib

from django.db import migrations

redact_inbox_rows = importlib.import_module(
    "integrations.migrations.0015_redact_inbox_rows_again"
).redact_inbox_rows


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0027_default_policies_read_timeouts"),
    ]

    operations = [
        migrations.RunPython(redact_inbox_rows, migrations.RunPython.noop, elidable=True),
    ]
