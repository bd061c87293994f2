"""An index over the pending follow-ups a later change's may be merged into (`fanout.MERGES`:
edits of the Slack alert with no thread reply): every change of a ticket that such a target
follows looks for its ticket's (`fanout._merge_edits`), which would read the ticket's whole
delivery history otherwise. Built concurrently (no write lock on the live table), an invalid
one left by an interrupted build dropped first (as in 0019)."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

from rca_project.database.index_builds import dropping_an_interrupted_build

NAME = "outbound_mergeable"


drop_an_interrupted_build = dropping_an_interrupted_build(NAME)


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
