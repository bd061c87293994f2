"""Redact the tickets' failure text again with the current rules: a rule added since a ticket
was stored (an Azure Functions key or OAuth code in a URL's query, `?code=`) left that secret in
the error text, the affected entity and the details, and in the analysis written from them. The
pass is `tickets.text_redaction.redact_ticket_text` (0035 runs it again: this one shipped at
first without reading a ticket again under its lock)."""

from django.db import migrations

from tickets.text_redaction import redact_ticket_text


class Migration(migrations.Migration):
    atomic = False  # each ticket it changes commits on its own (tickets/text_redaction.py)

    dependencies = [
        ("tickets", "0032_redact_stored_links"),
    ]

    operations = [
        migrations.RunPython(redact_ticket_text, migrations.RunPython.noop, elidable=True),
    ]
