"""Redact the tickets' failure text and the incidents' analysis again with the current rules,
as 0035 and 0036 did: the rules of the releases before kept a storage account key or OAuth
client secret that Spark is given as Hadoop's `fs.azure.account.key.<account>...` (a notebook's
`spark.conf.set(...)` line quoted in its traceback, a listed Spark configuration), and the
analysis written from that text quoted it. `tickets.text_redaction`."""

from django.db import migrations

from tickets.text_redaction import redact_incident_text, redact_ticket_text


class Migration(migrations.Migration):
    atomic = False  # each row it changes commits on its own (tickets/text_redaction.py)

    dependencies = [
        ("tickets", "0041_newest_failed_run_of_the_release_before"),
    ]

    operations = [
        migrations.RunPython(redact_ticket_text, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(redact_incident_text, migrations.RunPython.noop, elidable=True),
    ]
