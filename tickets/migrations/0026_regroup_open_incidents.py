"""Open incidents take the group key their new members are given (tickets/incidents.py
`group_key_for`): the error classes that say the culprit is unavailable group as one, and a
storage account is the culprit (its container the detail, no longer part of the key). An
incident open across the deploy kept its old key, which no new failure has: its next members
formed a second incident, paged again, and its storage account's Azure alert joined neither.

Only the incidents still open are rewritten (a small table); the few recent tickets not in an
incident keep their old key (the incident window is minutes long)."""

from django.db import migrations

UNAVAILABLE = "unavailable"
UNAVAILABLE_CLASSES = {"NetworkError", "TimeoutError", "DatabaseError", "ExternalServiceError"}


def regroup_open_incidents(apps, schema_editor):
    Incident = apps.get_model("tickets", "Incident")
    still_open = (
        Incident.objects.filter(merged_into__isnull=True, recovered_at__isnull=True)
        .exclude(status="resolved")
        .only("pk", "group_key", "culprit", "culprit_detail")
    )
    for incident in still_open.iterator():
        culprit, detail = incident.culprit, incident.culprit_detail
        if culprit.startswith("storage:") and not culprit.startswith("storage:s3:"):
            account, _, container = culprit.partition("/")
            culprit, detail = account, detail or container
        if incident.group_key == incident.culprit:  # an Azure alert's: the culprit alone
            group_key = culprit
        else:
            error_type = incident.group_key.rpartition("|")[2]
            family = UNAVAILABLE if error_type in UNAVAILABLE_CLASSES else error_type
            group_key = f"{culprit}|{family}"
        changed = (group_key, culprit, detail)
        if changed != (incident.group_key, incident.culprit, incident.culprit_detail):
            Incident.objects.filter(pk=incident.pk).update(
                group_key=group_key, culprit=culprit, culprit_detail=detail[:200]
            )


class Migration(migrations.Migration):
    dependencies = [("tickets", "0025_ticket_latest_run")]

    operations = [migrations.RunPython(regroup_open_incidents, migrations.RunPython.noop)]
