"""The normalized event an inbox row keeps (`event`) held its links unredacted before links
were redacted at ingest: redact them in place, as tickets/0032_redact_stored_links does the
tickets' links. In batches; rows whose links hold no secret are not written."""

from django.db import migrations

BATCH = 500


def redact_event_links(apps, schema_editor):
    from analysis.redaction import redact

    WebhookDelivery = apps.get_model("integrations", "WebhookDelivery")
    rows = (
        WebhookDelivery.objects.filter(event__has_key="links")
        .exclude(event__links={})
        .only("pk", "event")
        .order_by("pk")
    )
    changed = []
    for row in rows.iterator(chunk_size=BATCH):
        links = row.event["links"]
        if not isinstance(links, dict):
            continue
        redacted = {k: redact(v) if isinstance(v, str) else v for k, v in links.items()}
        if redacted != links:
            row.event = {**row.event, "links": redacted}
            changed.append(row)
        if len(changed) >= BATCH:
            WebhookDelivery.objects.bulk_update(changed, ["event"])
            changed = []
    if changed:
        WebhookDelivery.objects.bulk_update(changed, ["event"])


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0013_remediation_release_group_index"),
    ]

    operations = [
        migrations.RunPython(redact_event_links, migrations.RunPython.noop, elidable=True),
    ]
