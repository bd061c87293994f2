"""Redact the tickets' failure text again with the current rules: a rule added since a ticket
was stored (an Azure Functions key or OAuth code in a URL's query, `?code=`) left that secret in
the error text, the affected entity and the details ingest had redacted by the rules of then,
and in the analysis written from them. In batches; a ticket the current rules leave as it is, is
not written, and one changed meanwhile (a failure counted, an analysis written) is not
overwritten."""

from django.db import migrations

BATCH = 500
FIELDS = ("error_message", "affected_entity", "details", "rca_result", "recommendations")


def redact_ticket_text(apps, schema_editor):
    from analysis.redaction import redact, redact_data

    Ticket = apps.get_model("tickets", "Ticket")
    stored = Ticket.objects.order_by("pk").values_list("pk", "updated_at", *FIELDS)
    for ticket_id, updated_at, *values in stored.iterator(chunk_size=BATCH):
        redacted = {
            name: redact(value) if isinstance(value, str) else redact_data(value)
            for name, value in zip(FIELDS, values, strict=True)
        }
        if list(redacted.values()) != values:
            Ticket.objects.filter(pk=ticket_id, updated_at=updated_at).update(**redacted)


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0032_redact_stored_links"),
    ]

    operations = [
        migrations.RunPython(redact_ticket_text, migrations.RunPython.noop, elidable=True),
    ]
