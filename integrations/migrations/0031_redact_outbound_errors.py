"""Redact the errors kept of outbound deliveries (a delivery's `last_error`, each attempt's
`error`) and the remediations' `reason`. A target's error may quote what its client library
saw (a connection string, a URL with its SAS signature, a header), and a remediation's reason
what its action or playbook answered; the releases before stored them as they came (admin's
dead-letter pages, the API, a ticket's page and the dashboard show them).

Not atomic, as 0030: a delivery or a remediation it changes is written in a transaction of its
own, read again under its lock (a worker still retrying it, or finishing it, writes the
field), so the pass holds one row's lock at a time. An attempt is never changed once written,
so the attempts of a batch that it changes are written by one UPDATE statement, committed as it
ends: one commit a batch, where one a row took most of the pass's time (about 4 ms a row on 2
busy cores, and a long-lived install's attempts outnumber its deliveries and tickets). A pass
that stops part way leaves what it wrote redacted, and runs again whole."""

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
    """For each batch of rows of `model` read in id order, the (id, redacted text) of those
    whose `field` redaction changes (an empty list when none does)."""
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
        yield [(row_id, redacted) for row_id, text in stored if (redacted := redact(text)) != text]


def redact_outbound_errors(apps, schema_editor):
    OutboundDelivery = apps.get_model("integrations", "OutboundDelivery")
    DeliveryAttempt = apps.get_model("integrations", "DeliveryAttempt")
    Remediation = apps.get_model("integrations", "Remediation")
    for model, field in ((OutboundDelivery, "last_error"), (Remediation, "reason")):
        for changed in _changed_in_batches(model, field):
            for row_id, _ in changed:
                _redact_locked(model, field, row_id)
    for changed in _changed_in_batches(DeliveryAttempt, "error"):
        if changed:
            DeliveryAttempt.objects.bulk_update(
                [DeliveryAttempt(pk=row_id, error=redacted) for row_id, redacted in changed],
                ["error"],
            )


class Migration(migrations.Migration):
    atomic = False  # each row it changes commits on its own

    dependencies = [
        ("integrations", "0030_redact_chat_webhooks_and_xml_secrets"),
    ]

    operations = [
        migrations.RunPython(redact_outbound_errors, migrations.RunPython.noop, elidable=True),
    ]
