"""Redact the inbox rows again with the current rules, as 0023 did: the rules of the releases
before kept, in the stored bodies and events, the password of an Oracle tool's logon (`sqlplus
-s etl/…@db`, `sqlldr userid=etl/…`), an `IDENTIFIED BY` whose password is on the next line, a
requests auth tuple or a key/value pair in JSON kept as a string in JSON (its quotes escaped), a
Databricks OAuth secret (`dose…`), an Authorization header's credential after a vendor's own
scheme, S3A's credentials in Spark's configuration, a secret-named Spark option or Java
property, a .netrc password, a kubeconfig's `client-key-data`, Schema Registry's user info,
the passwords of `redis-cli -a`, the MongoDB tools', beeline's and hdbsql's `-p` and Db2's
`CONNECT … USING`, vendors' tokens with no label (GitLab, OpenAI, Anthropic, npm, SendGrid,
Stripe, Vault, Grafana, Atlassian) and a Digest Authorization's `response="…"` (tickets/0047
redacts the tickets opened from them)."""

import importlib

from django.db import migrations

redact_inbox_rows = importlib.import_module(
    "integrations.migrations.0015_redact_inbox_rows_again"
).redact_inbox_rows


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0024_outbound_not_follow_up_index"),
    ]

    operations = [
        migrations.RunPython(redact_inbox_rows, migrations.RunPython.noop, elidable=True),
    ]
