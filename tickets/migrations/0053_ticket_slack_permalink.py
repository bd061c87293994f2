"""Slack's link to a ticket's alert (`chat.getPermalink`, asked once after the post). A blank
default: PostgreSQL adds the column without rewriting the table."""

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
    ]
