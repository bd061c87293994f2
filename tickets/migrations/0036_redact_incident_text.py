"""Redact the incidents' analysis with the current rules, as 0033 and 0035 redact the tickets'
failure text: Gemini wrote an incident's shared cause and recommendations from its members' text
as ingest had redacted it by the rules of then (an Azure Functions key in a URL's query,
`?code=`, was kept), and 0033 left them as they were. Its page, the API and each update of its
Slack message and JIRA issue showed the secret still. `tickets.text_redaction`."""

from django.db import migrations

from tickets.text_redaction import redact_incident_text


class Migration(migrations.Migration):
    atomic = False  # each incident it changes commits on its own (tickets/text_redaction.py)

    dependencies = [
        ("tickets", "0035_redact_ticket_text_once_more"),
    ]

    operations = [
        migrations.RunPython(redact_incident_text, migrations.RunPython.noop, elidable=True),
    ]
