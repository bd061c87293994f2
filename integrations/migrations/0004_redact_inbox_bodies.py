"""Inbox rows stored before bodies were redacted at ingest: redact them in place.

Runs with `manage.py migrate` (so `make run` and the compose `migrate` service apply it), in
batches; rows already redacted are left as they are.
"""

from django.db import migrations

BATCH = 500


def redact_stored_bodies(apps, schema_editor):
    from integrations.ingest import redacted_inbound_body

    WebhookDelivery = apps.get_model("integrations", "WebhookDelivery")
    rows = WebhookDelivery.objects.only("pk", "source", "raw_body").order_by("pk")
    changed = []
    for row in rows.iterator(chunk_size=BATCH):
        redacted = redacted_inbound_body(row.source, row.raw_body.encode())
        if redacted != row.raw_body:
            row.raw_body = redacted
            changed.append(row)
        if len(changed) >= BATCH:
            WebhookDelivery.objects.bulk_update(changed, ["raw_body"])
            changed = []
    if changed:
        WebhookDelivery.objects.bulk_update(changed, ["raw_body"])


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0003_outbound_reconcile_actions"),
    ]

    operations = [
        migrations.RunPython(redact_stored_bodies, migrations.RunPython.noop, elidable=True),
    ]
