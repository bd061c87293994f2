"""Redact the tickets' failure text and the incidents' analysis again with the current rules,
as 0045 did: the rules of the releases before kept the password of an Oracle tool's logon
(`sqlplus -s etl/…@db`, `sqlldr userid=etl/…`, `expdp`, `impdp`, `exp`, `imp`, `rman target`),
an `IDENTIFIED BY` whose password is on the next line, a requests auth tuple or a key/value pair
in JSON kept as a string in JSON (its quotes escaped: `auth=(\"u\", \"…\")`,
`\\\"password\\\": \\\"…\\\"`), a Databricks OAuth secret or refresh token (`dose…`, `doau…`),
an Authorization header's credential after a vendor's own scheme (`Splunk …`, `SSWS …`), S3A's
secret key and session token in Spark's configuration, a secret-named Spark option or Java
property (`.option("password", "…")`), a .netrc password, a kubeconfig's `client-key-data`,
Schema Registry's `basic.auth.user.info`, the passwords of `redis-cli -a`, the MongoDB
tools', beeline's and hdbsql's `-p` and Db2's `CONNECT … USING`, vendors' tokens with no label
(GitLab `glpat-…`, OpenAI and Anthropic `sk-proj-…`/`sk-ant-…`, npm `npm_…`, SendGrid `SG.…`,
Stripe `sk_live_…`/`rk_live_…`/`whsec_…`, Vault `hvs.…`, Grafana `glsa_…`/`glc_…`, Atlassian
`ATATT…`) and a Digest Authorization's `response="…"`. `tickets.text_redaction`."""

from django.db import migrations

from tickets.text_redaction import redact_incident_text, redact_ticket_text


class Migration(migrations.Migration):
    atomic = False  # each row it changes commits on its own (tickets/text_redaction.py)

    dependencies = [
        ("tickets", "0046_ticket_azure_ungrouped_alert"),
    ]

    operations = [
        migrations.RunPython(redact_ticket_text, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(redact_incident_text, migrations.RunPython.noop, elidable=True),
    ]
