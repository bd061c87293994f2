"""Slack's link to an incident's message (`chat.getPermalink`, asked once after the post), as
0053 gave tickets theirs. A blank default the database keeps, so the release before, whose
INSERT leaves the column out, still writes incidents."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0055_stats_index_incident_columns"),
    ]

    operations = [
        migrations.AddField(
            model_name="incident",
            name="slack_permalink",
            field=models.URLField(blank=True, max_length=500),
        ),
        migrations.RunSQL(
            "ALTER TABLE tickets_incident ALTER COLUMN slack_permalink SET DEFAULT ''",
            "ALTER TABLE tickets_incident ALTER COLUMN slack_permalink DROP DEFAULT",
        ),
    ]
