"""Redact the tickets' failure text and the incidents' analysis again with the current rules,
as 0047 did: the rules of the releases before kept a service principal's key named as Data
Factory's linked services name it (`"servicePrincipalKey": "…"`, `servicePrincipalKey=…`) and
the base64 private key of Airflow's Snowflake connection (`"private_key_content": "…"`).
`tickets.text_redaction`."""

from django.db import migrations

from tickets.text_redaction import redact_incident_text, redact_ticket_text


class Migration(migrations.Migration):
    atomic = False  # each row it changes commits on its own (tickets/text_redaction.py)

    dependencies = [
        ("tickets", "0048_rule_incidents_keyed_by_subscription"),
    ]

    operations = [
        migrations.RunPython(redact_ticket_text, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(redact_incident_text, migrations.RunPython.noop, elidable=True),
    ]
