"""Redact the inbox rows again with the current rules, as 0015 did: the rules of the releases
before kept a storage account key or OAuth client secret that Spark is given as Hadoop's
`fs.azure.account.key.<account>...`, in the stored bodies and events (tickets/0042 redacts the
tickets opened from them)."""

import importlib

from django.db import migrations

redact_inbox_rows = importlib.import_module(
    "integrations.migrations.0015_redact_inbox_rows_again"
).redact_inbox_rows


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0019_outbound_held_index"),
    ]

    operations = [
        migrations.RunPython(redact_inbox_rows, migrations.RunPython.noop, elidable=True),
    ]
