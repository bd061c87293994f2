"""Redact the notes people typed before notes were redacted where they enter: an audit entry's
and an incident timeline entry's `details.note` (a connection string or a SAS URL pasted into a
resolve note was kept as typed). In batches; an entry whose note holds no secret is not
written. (`Resolution.note` was redacted from the start.)"""

from django.db import migrations

BATCH = 500


def redact_notes(apps, schema_editor):
    from analysis.redaction import redact

    for model_name in ("AuditLog", "IncidentEvent"):
        model = apps.get_model("tickets", model_name)
        noted = model.objects.filter(details__has_key="note").order_by("pk")
        changed = []
        for entry in noted.only("pk", "details").iterator(chunk_size=BATCH):
            note = entry.details.get("note")
            if isinstance(note, str) and redact(note) != note:
                entry.details = {**entry.details, "note": redact(note)}
                changed.append(entry)
            if len(changed) >= BATCH:
                model.objects.bulk_update(changed, ["details"])
                changed = []
        model.objects.bulk_update(changed, ["details"])


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0033_redact_ticket_text_again"),
    ]

    operations = [
        migrations.RunPython(redact_notes, migrations.RunPython.noop, elidable=True),
    ]
