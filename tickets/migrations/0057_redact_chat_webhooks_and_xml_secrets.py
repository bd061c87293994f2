"""Redact the tickets' failure text and the incidents' analysis again with the current rules,
as 0049 did: the rules of the releases before kept a Teams, Discord or Slack Workflow Builder
webhook's URL (the URL is the credential: an ADF Web activity's error quotes it whole), a
Telegram bot's token, Airflow's `fernet_key` and a secret written in XML
(`<password>…</password>`, a Hadoop/Hive property's `<name>…Password</name><value>…`).
`tickets.text_redaction`."""

from django.db import migrations

from tickets.text_redaction import redact_incident_text, redact_ticket_text


class Migration(migrations.Migration):
    atomic = False  # each row it changes commits on its own (tickets/text_redaction.py)

    dependencies = [
        ("tickets", "0056_incident_slack_permalink"),
    ]

    operations = [
        migrations.RunPython(redact_ticket_text, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(redact_incident_text, migrations.RunPython.noop, elidable=True),
    ]
