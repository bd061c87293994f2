"""`Resolution.through_incident`: the incident whose resolve wrote a fix on each of its members,
so marking the copy shown wrong marks them all (tickets/resolutions.py). The column comes blank
on every row at once (a constant default is not written row by row) and keeps that default in
the database, so the release before can still record fixes."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tickets", "0038_rca_outage")]

    operations = [
        migrations.AddField(
            model_name="resolution",
            name="through_incident",
            field=models.CharField(
                blank=True,
                help_text="The incident whose resolve wrote this fix on each of its members.",
                max_length=64,
            ),
        ),
        # Django drops the default it added the column with; the database keeps one here.
        migrations.RunSQL(
            "ALTER TABLE tickets_resolution ALTER COLUMN through_incident SET DEFAULT ''",
            "ALTER TABLE tickets_resolution ALTER COLUMN through_incident DROP DEFAULT",
        ),
    ]
