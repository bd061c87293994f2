"""Slack's link to a ticket's alert (`chat.getPermalink`, asked once after the post). A blank
default: PostgreSQL adds the column without rewriting the table, and keeps that default so the
release before, whose INSERT leaves the column out, still writes tickets (as in 0038)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0052_ticket_databricks_refetch_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="slack_permalink",
            field=models.URLField(blank=True, max_length=500),
        ),
        # Django drops the default it added the column with; the database keeps one here
        # (not `db_default`: tickets are inserted through compiled SQL naming every column).
        migrations.RunSQL(
            "ALTER TABLE tickets_ticket ALTER COLUMN slack_permalink SET DEFAULT ''",
            "ALTER TABLE tickets_ticket ALTER COLUMN slack_permalink DROP DEFAULT",
        ),
    ]
