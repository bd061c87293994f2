"""Redact the inbox rows again with the current rules, as 0026 did: the rules of the releases
before kept, in the stored bodies and events, a Teams, Discord or Slack Workflow Builder
webhook's URL, a Telegram bot's token, Airflow's `fernet_key` and a secret written in XML
(`<password>…</password>`, a Hadoop/Hive property's value)
(tickets/0057 redacts the tickets opened from them).

Not atomic, unlike 0015 to 0028: a row it changes is written in a transaction of its own (as
tickets/text_redaction.py writes a ticket), so the pass holds one row's lock at a time. In one
transaction it held every changed row's lock until it ended, and the release still serving
waited that long to mark such a row queued or processed (its relay skipped the row). A row
is read again under its lock and only its body and event are written; a pass that stops part
way leaves what it wrote redacted, and runs again whole."""

import importlib

from django.db import migrations, transaction

BATCH = 500

_redacted_event = importlib.import_module(
    "integrations.migrations.0015_redact_inbox_rows_again"
)._redacted_event


def _redacted_row(source, raw_body, event):
    from integrations.ingest import redacted_inbound_body

    body = redacted_inbound_body(source, raw_body.encode()) if raw_body else ""
    return body, _redacted_event(event)


def _redact_locked(WebhookDelivery, row_id):
    with transaction.atomic():
        locked = WebhookDelivery.objects.select_for_update(no_key=True).filter(pk=row_id)
        current = locked.values_list("source", "raw_body", "event").first()
        if current is None:  # deleted meanwhile (purged)
            return
        source, raw_body, event = current
        body, redacted_event = _redacted_row(source, raw_body, event)
        changed = {}
        if body != raw_body:
            changed["raw_body"] = body
        if redacted_event != event:
            changed["event"] = redacted_event
        if changed:
            WebhookDelivery.objects.filter(pk=row_id).update(**changed)


def redact_inbox_rows(apps, schema_editor):
    WebhookDelivery = apps.get_model("integrations", "WebhookDelivery")
    last_id = None
    while True:
        batch = WebhookDelivery.objects.order_by("pk")
        if last_id is not None:
            batch = batch.filter(pk__gt=last_id)
        stored = list(batch.values_list("pk", "source", "raw_body", "event")[:BATCH])
        if not stored:
            return
        last_id = stored[-1][0]
        for row_id, source, raw_body, event in stored:
            if _redacted_row(source, raw_body, event) != (raw_body, event):
                _redact_locked(WebhookDelivery, row_id)


class Migration(migrations.Migration):
    atomic = False  # each row it changes commits on its own

    dependencies = [
        ("integrations", "0029_remediation_policy_validation"),
    ]

    operations = [
        migrations.RunPython(redact_inbox_rows, migrations.RunPython.noop, elidable=True),
    ]
