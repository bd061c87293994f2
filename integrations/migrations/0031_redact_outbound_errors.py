"""Redact the errors kept of outbound deliveries (a delivery's `last_error`, each attempt's
`error`) and the remediations' `reason`. A target's error may quote what its client library
saw (a connection string, a URL with its SAS signature, a header), and a remediation's reason
what its action or playbook answered; the releases before stored them as they came (admin's
dead-letter pages, the API, a ticket's page and the dashboard show them).

Not atomic, as 0030: a delivery or a remediation it changes is written in a transaction of its
own, read again under its lock (a worker still retrying it, or finishing it, writes the
field), so the pass holds one row's lock at a time. An attempt is never changed once written: each batch of them is one update
statement per changed row, outside any transaction of the pass's own. A pass that stops part
way leaves what it wrote redacted, and runs again whole."""

from django.db import migrations, transaction

BATCH = 500


def _redact_locked(model, field, row_id):
    from analysis.redaction import redact

    with transaction.atomic():
        locked = model.objects.select_for_update(no_key=True).filter(pk=row_id)
        current = locked.values_list(field, flat=True).first()
        if current is None:  # deleted meanwhile (retention)
            return
        redacted = redact(current)
        if redacted != current:
            model.objects.filter(pk=row_id).update(**{field: redacted})


def _changed_in_batches(model, field):
    """(id, redacted text) of each row of `model` whose `field` redaction changes, a batch of
    rows read at a time, in id order."""
    from analysis.redaction import redact

    last_id = 0
    while True:
        stored = list(
            model.objects.filter(pk__gt=last_id)
            .exclude(**{field: ""})
            .order_by("pk")
            .values_list("pk", field)[:BATCH]
        )
        if not stored:
            return
        last_id = stored[-1][0]
        for row_id, text in stored:
            if (redacted := redact(text)) != text:
                yield row_id, redacted


def redact_outbound_errors(apps, schema_editor):
    OutboundDelivery = apps.get_model("integrations", "OutboundDelivery")
    DeliveryAttempt = apps.get_model("integrations", "DeliveryAttempt")
    Remediation = apps.get_model("integrations", "Remediation")
    for row_id, _ in _changed_in_batches(OutboundDelivery, "last_error"):
        _redact_locked(OutboundDelivery, "last_error", row_id)
    for row_id, _ in _changed_in_batches(Remediation, "reason"):
        _redact_locked(Remediation, "reason", row_id)
    for row_id, redacted in _changed_in_batches(DeliveryAttempt, "error"):
        DeliveryAttempt.objects.filter(pk=row_id).update(error=redacted)


class Migration(migrations.Migration):
    atomic = False  # each row it changes commits on its own

    dependencies = [
        ("integrations", "0030_redact_chat_webhooks_and_xml_secrets"),
    ]

    operations = [
        migrations.RunPython(redact_outbound_errors, migrations.RunPython.noop, elidable=True),
    ]
