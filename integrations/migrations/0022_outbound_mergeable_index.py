"""An index over the pending follow-ups a later change's may be merged into (`fanout.MERGES`:
edits of the Slack alert with no thread reply): every change of a ticket that such a target
follows looks for its ticket's (`fanout._merge_edits`), which would read the ticket's whole
delivery history otherwise. Built concurrently (no write lock on the live table), an invalid
one left by an interrupted build dropped first (as in 0019)."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

NAME = "outbound_mergeable"


def drop_an_interrupted_build(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_index WHERE indexrelid = to_regclass(%s) AND NOT indisvalid", [NAME]
        )
        invalid = cursor.fetchone() is not None
    if invalid:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(NAME)}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("integrations", "0021_redact_cookies_and_function_keys")]

    operations = [
        migrations.RunPython(drop_an_interrupted_build, migrations.RunPython.noop),
        AddIndexConcurrently(
            model_name="outbounddelivery",
            index=models.Index(
                condition=models.Q(status="pending", payload__has_key="merges"),
                fields=["ticket", "created_at"],
                name=NAME,
            ),
        ),
    ]
