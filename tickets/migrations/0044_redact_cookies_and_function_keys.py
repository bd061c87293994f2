"""Redact the tickets' failure text and the incidents' analysis again with the current rules,
as 0042 did: the rules of the releases before kept the values of a `Cookie:`/`Set-Cookie:`
header a client library printed, an `x-functions-key:` header's Azure Functions key, and an
AWS secret key printed beside its access key id with no label. `tickets.text_redaction`."""

from django.db import migrations

from tickets.text_redaction import redact_incident_text, redact_ticket_text


class Migration(migrations.Migration):
    atomic = False  # each row it changes commits on its own (tickets/text_redaction.py)

    dependencies = [
        ("tickets", "0043_occurrence_ticket_seen_index"),
    ]

    operations = [
        migrations.RunPython(redact_ticket_text, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(redact_incident_text, migrations.RunPython.noop, elidable=True),
    ]
