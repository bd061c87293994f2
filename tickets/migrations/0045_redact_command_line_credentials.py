"""Redact the tickets' failure text and the incidents' analysis again with the current rules,
as 0044 did: the rules of the releases before kept a password or token a failed command printed
as its argument list (`'--password', '…'`, subprocess.CalledProcessError's message), curl's
`-u user:password`, the password of sqlcmd's and bcp's `-P`, mysql's `-pPASSWORD`, sshpass's
and a login's `-p` (`az login`, `docker login`), SQL's `IDENTIFIED BY '…'`, `PASSWORD('…')` and
`PASSWORD = N'…'`, a Python HTTP client's `auth=('user', '…')` or `HTTPBasicAuth('user', '…')`,
and the password or query secrets (`sig%3D…`) of a URL percent-encoded in another's query.
`tickets.text_redaction`."""

from django.db import migrations

from tickets.text_redaction import redact_incident_text, redact_ticket_text


class Migration(migrations.Migration):
    atomic = False  # each row it changes commits on its own (tickets/text_redaction.py)

    dependencies = [
        ("tickets", "0044_redact_cookies_and_function_keys"),
    ]

    operations = [
        migrations.RunPython(redact_ticket_text, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(redact_incident_text, migrations.RunPython.noop, elidable=True),
    ]
