from django.db import connection as default_connection
from django.db import migrations

# tickets/services.py `_alert_resolved_key`, as it was when this migration was written.
MARK_PREFIX = "recovered-early:"


def mark_alerts_resolved_before(apps, schema_editor):
    """Until now only an Azure Resolved delivered ahead of its Fired left a mark; a ticket now
    ends when every alert counted on it is marked (`_alerts_still_firing`). The alerts resolved
    before are marked from the inbox's events (kept INBOX_RETENTION_DAYS): without, an open
    ticket holding one (reopened by people, or kept open with RESOLVE_ON_SOURCE_RECOVERY off)
    would never end at its source."""
    delivery = apps.get_model("integrations", "WebhookDelivery")._meta.db_table
    occurrence = apps.get_model("tickets", "Occurrence")._meta.db_table
    connection = schema_editor.connection if schema_editor else default_connection
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {occurrence} (key, outcome, seen_at)"
            " SELECT DISTINCT %s || encode(sha256(convert_to("
            "   event ->> 'recovers_occurrence', 'UTF8')), 'hex'), 'pending', now()"
            f" FROM {delivery} WHERE COALESCE(event ->> 'recovers_occurrence', '') <> ''"
            " ON CONFLICT (key) DO NOTHING",
            [MARK_PREFIX],
        )


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0028_incident_jira_priority"),
        ("integrations", "0013_remediation_release_group_index"),
    ]

    operations = [migrations.RunPython(mark_alerts_resolved_before, migrations.RunPython.noop)]
