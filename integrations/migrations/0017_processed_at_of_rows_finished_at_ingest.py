"""Inbox rows that ingest finished (a recurrence, a suppressed or ignored delivery, no
background work left) were stored processed without `processed_at`: their trace said
`processed_at: null` as if they waited. Ingest now stamps them; the ones stored before get the
time they were received, which is when ingest finished them (in the request)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("integrations", "0016_remediation_policy_max_attempts_help")]

    operations = [
        migrations.RunSQL(
            "UPDATE integrations_webhookdelivery SET processed_at = received_at"
            " WHERE status = 'processed' AND processed_at IS NULL",
            migrations.RunSQL.noop,
        )
    ]
