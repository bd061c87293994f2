"""Run 0033's redaction of the tickets' failure text again, for every install: 0033 was
corrected after it shipped, and an install that had applied it (release 6e97434) never runs it
again. Its first version could skip a ticket changed while it ran (left unredacted) and
overwrite an analysis written meanwhile with the one it had read. The corrected pass
(`tickets.text_redaction`) writes only what the current rules still change, so on an install
that ran the corrected 0033 it reads the tickets and writes none."""

from django.db import migrations

from tickets.text_redaction import redact_ticket_text


class Migration(migrations.Migration):
    atomic = False  # each ticket it changes commits on its own (tickets/text_redaction.py)

    dependencies = [
        ("tickets", "0034_redact_stored_notes"),
    ]

    operations = [
        migrations.RunPython(redact_ticket_text, migrations.RunPython.noop, elidable=True),
    ]
