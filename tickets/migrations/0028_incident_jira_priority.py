from django.db import migrations, models

# integrations/targets/jira.py's JIRA_PRIORITY, as it was when this migration was written (a
# migration of the tickets domain imports no integration).
JIRA_PRIORITY = {"P1": "Highest", "P2": "High", "P3": "Medium", "P4": "Low"}


def remember_the_priority_pushed(apps, schema_editor):
    """An incident paged before this field existed had its issue raised to its priority at each
    update: that priority is taken as the one last pushed, so a priority people lowered in JIRA
    since is not raised again (only a graver one of the incident's is pushed)."""
    incident_model = apps.get_model("tickets", "Incident")
    for priority, name in JIRA_PRIORITY.items():
        incident_model.objects.exclude(itsm_ticket_id="").filter(priority=priority).update(
            jira_priority=name
        )


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0027_evidence_url_without_signature"),
    ]

    operations = [
        migrations.AddField(
            model_name="incident",
            name="jira_priority",
            field=models.CharField(
                blank=True,
                help_text="The incident's priority (JIRA's name) when we last created or updated "
                "its issue: the issue is raised only when the incident's gets graver than this.",
                max_length=32,
            ),
        ),
        migrations.RunPython(remember_the_priority_pushed, migrations.RunPython.noop),
    ]
