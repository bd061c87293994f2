"""Links stored before links were redacted at ingest (a log URL's SAS `sig=` or `token=`
parameter, a URL's user:password@): redact them in place, with the function ingest uses.

Runs with `manage.py migrate`, reading the tickets in batches; a ticket whose links hold no
secret is not written. A ticket's links are replaced only if they are still as read (a failure
counted meanwhile sets its own, redacted, log link)."""

from django.db import migrations

BATCH = 500


def redacted_links(links):
    from analysis.redaction import redact

    return {name: redact(url) if isinstance(url, str) else url for name, url in links.items()}


def redact_ticket_links(apps, schema_editor):
    Ticket = apps.get_model("tickets", "Ticket")
    stored = Ticket.objects.exclude(links={}).order_by("pk").values_list("pk", "links")
    for ticket_id, links in stored.iterator(chunk_size=BATCH):
        if not isinstance(links, dict):
            continue
        redacted = redacted_links(links)
        if redacted != links:
            Ticket.objects.filter(pk=ticket_id, links=links).update(links=redacted)


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0031_occurrence_regressed_index"),
    ]

    operations = [
        migrations.RunPython(redact_ticket_links, migrations.RunPython.noop, elidable=True),
    ]
