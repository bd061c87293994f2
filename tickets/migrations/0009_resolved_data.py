"""Existing data into the resolved state: the default JIRA status map, role permissions for the
new models, and the tickets that were already over.

- A ticket the source reported over ("resolved at source") was fixed: it becomes resolved, by
  the source, at that time.
- A ticket acknowledged by JIRA (the old map sent Done → acknowledged) was fixed in JIRA: it
  becomes resolved by that JIRA user at that time; its acknowledgement stays as it was.
"""

import importlib

from django.db import migrations

roles_migration = importlib.import_module("tickets.migrations.0002_groups_and_sla_policies")

ROLE_PERMISSIONS = {
    "viewer": {"view_resolution", "view_jirastatusmapping"},
    "responder": {"change_resolution"},
    "admin": {"add_jirastatusmapping", "change_jirastatusmapping", "delete_jirastatusmapping"},
}
DEFAULT_JIRA_MAP = (
    ("To Do", "open", 10),
    ("In Progress", "in_progress", 20),
    ("Done", "resolved", 30),
)


def grant_resolution_permissions(apps, schema_editor):
    roles_migration.grant_role_permissions(apps, ROLE_PERMISSIONS)


def create_default_jira_map(apps, schema_editor):
    JiraStatusMapping = apps.get_model("tickets", "JiraStatusMapping")
    for name, status, order in DEFAULT_JIRA_MAP:
        if not JiraStatusMapping.objects.filter(jira_status__iexact=name).exists():
            JiraStatusMapping.objects.create(jira_status=name, ticket_status=status, order=order)


def resolve_finished_tickets(apps, schema_editor):
    Ticket = apps.get_model("tickets", "Ticket")
    AuditLog = apps.get_model("tickets", "AuditLog")
    at_source = Ticket.objects.filter(resolved_at_source_at__isnull=False).exclude(
        status="resolved"
    )
    for ticket in at_source.only("pk", "timestamp", "source", "resolved_at_source_at", "status"):
        _resolve(AuditLog, ticket, ticket.resolved_at_source_at, "source", ticket.source)
    acknowledged = Ticket.objects.filter(status="acknowledged")
    for ticket in acknowledged.only("pk", "timestamp", "status"):
        last_ack = (
            AuditLog.objects.filter(ticket_id=ticket.pk, action="acknowledge")
            .order_by("-created_at", "-id")
            .first()
        )
        if last_ack is not None and last_ack.actor_kind == "jira":
            _resolve(AuditLog, ticket, last_ack.created_at, "jira", last_ack.actor_name)


def _resolve(AuditLog, ticket, at, actor_kind, actor_name):
    before = ticket.status
    seconds = max(0, int((at - ticket.timestamp).total_seconds()))
    type(ticket).objects.filter(pk=ticket.pk).update(
        status="resolved", resolved_at=at, resolved_by=actor_name, resolve_seconds=seconds
    )
    AuditLog.objects.create(
        ticket_id=ticket.pk,
        created_at=at,
        actor_kind=actor_kind,
        actor_name=actor_name,
        action="resolve",
        before={"status": before},
        after={"status": "resolved", "resolved_by": actor_name},
        details={"note": "migrated: the ticket was over before the resolved state existed"},
    )


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0008_resolved_state_and_resolutions"),
        ("integrations", "0005_outcome_regressed"),
    ]

    operations = [
        migrations.RunPython(grant_resolution_permissions, migrations.RunPython.noop),
        migrations.RunPython(create_default_jira_map, migrations.RunPython.noop),
        migrations.RunPython(resolve_finished_tickets, migrations.RunPython.noop),
    ]
