"""Refresh tokens stored before this release keep their signature (whoever read the table could
refresh as their user until they run out): stored without it, as `tickets.api_token_storage`
stores new ones. Not reversed: a signature dropped is not recovered, and nothing needs it."""

from django.db import migrations

from tickets.api_token_storage import drop_stored_signatures


def drop_signatures(apps, schema_editor) -> None:
    drop_stored_signatures(apps.get_model("token_blacklist", "OutstandingToken").objects.all())


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0053_ticket_slack_permalink"),
        ("token_blacklist", "0013_alter_blacklistedtoken_options_and_more"),
    ]

    operations = [
        migrations.RunPython(drop_signatures, migrations.RunPython.noop, elidable=True),
    ]
