"""Redact the inbox rows again with the current rules: a rule added since a row was stored (an
Azure Functions key or OAuth code in a URL's query, `?code=`) left that secret in the bodies
(`raw_body`) and events stored by the release before it, which 0004 and 0014 had already been
applied to. Each row's body is redacted as ingest redacts a body, and its event's error text,
resource, details and links as ingest redacts an event. In batches; a row the current rules
leave as it is, is not written."""

from django.db import migrations

BATCH = 500


def _redacted_event(event):
    from analysis.redaction import redact, redact_data

    if not isinstance(event, dict) or not event:
        return event
    redacted = dict(event)
    if isinstance(event.get("error_message"), str):
        redacted["error_message"] = redact(event["error_message"])
    for key in ("resource", "details"):
        if key in event:
            redacted[key] = redact_data(event[key])
    if isinstance(event.get("links"), dict):
        redacted["links"] = {
            name: redact(url) if isinstance(url, str) else url
            for name, url in event["links"].items()
        }
    return redacted


def redact_inbox_rows(apps, schema_editor):
    from integrations.ingest import redacted_inbound_body

    WebhookDelivery = apps.get_model("integrations", "WebhookDelivery")
    rows = WebhookDelivery.objects.only("pk", "source", "raw_body", "event").order_by("pk")
    changed = []
    for row in rows.iterator(chunk_size=BATCH):
        body = redacted_inbound_body(row.source, row.raw_body.encode()) if row.raw_body else ""
        event = _redacted_event(row.event)
        if body != row.raw_body or event != row.event:
            row.raw_body, row.event = body, event
            changed.append(row)
        if len(changed) >= BATCH:
            WebhookDelivery.objects.bulk_update(changed, ["raw_body", "event"])
            changed = []
    if changed:
        WebhookDelivery.objects.bulk_update(changed, ["raw_body", "event"])


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0014_redact_inbox_event_links"),
    ]

    operations = [
        migrations.RunPython(redact_inbox_rows, migrations.RunPython.noop, elidable=True),
    ]
