"""Redact the inbox rows again with the current rules, as 0021 did: the rules of the releases
before kept, in the stored bodies and events, a password or token a failed command printed as
its argument list, curl's `-u user:password`, the password of sqlcmd's and bcp's `-P`, mysql's
`-pPASSWORD`, sshpass's and a login's `-p`, SQL's `IDENTIFIED BY '…'`, `PASSWORD('…')` and
`PASSWORD = N'…'`, a Python HTTP client's `auth=('user', '…')` or `HTTPBasicAuth('user', '…')`,
and the password or query secrets of a URL percent-encoded in another's query (tickets/0045
redacts the tickets opened from them)."""

import importlib

from django.db import migrations

redact_inbox_rows = importlib.import_module(
    "integrations.migrations.0015_redact_inbox_rows_again"
).redact_inbox_rows


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0022_outbound_mergeable_index"),
    ]

    operations = [
        migrations.RunPython(redact_inbox_rows, migrations.RunPython.noop, elidable=True),
    ]
