"""The evidence folder's URL stored on a ticket (`blob_log_url`, shown to every viewer) no longer
carries the shared access signature of a connection string that holds one
(integrations/targets/blob.py `container_url`); those stored before kept it, the signature
followed by the folder (`<container>?sv=...&sig=.../<ticket id>/`). They are rewritten as
the upload writes them now: `<container>/<ticket id>/`."""

from django.db import migrations


def drop_signatures(apps, schema_editor):
    Ticket = apps.get_model("tickets", "Ticket")
    signed = Ticket.objects.filter(blob_log_url__contains="?").values_list("pk", "blob_log_url")
    for ticket_id, url in signed.iterator():
        container = url.partition("?")[0].rstrip("/")
        Ticket.objects.filter(pk=ticket_id).update(blob_log_url=f"{container}/{ticket_id}/")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0026_regroup_open_incidents")]

    operations = [migrations.RunPython(drop_signatures, migrations.RunPython.noop)]
