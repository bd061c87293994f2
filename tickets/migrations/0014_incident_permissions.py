"""Viewers see incidents and their timelines; responders act on them (admin actions)."""

import importlib

from django.db import migrations

roles_migration = importlib.import_module("tickets.migrations.0002_groups_and_sla_policies")

ROLE_PERMISSIONS = {
    "viewer": {"view_incident", "view_incidentevent"},
    "responder": {"change_incident"},
}


def grant_incident_permissions(apps, schema_editor):
    roles_migration.grant_role_permissions(apps, ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0013_incidents")]

    operations = [migrations.RunPython(grant_incident_permissions, migrations.RunPython.noop)]
