"""A fix remembers the JIRA comment it was told in (`Resolution.told_in`), so an edit or a
deletion of that comment edits or withdraws it. A database default of "": no table rewrite,
and the release before still inserts."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0061_ticket_triggered_job_run_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="resolution",
            name="told_in",
            field=models.CharField(
                blank=True,
                db_default="",
                help_text="The JIRA comment the fix was told in: `jira:<comment id>` (a resolving transition's), `jira-fix:<comment id>` (a `Fix:` comment). Its edit edits the fix.",
                max_length=80,
            ),
        ),
    ]
