"""Staff see remediations and their policies; responders approve or decline remediations (the
admin actions need the change permission); admins edit the policies."""

import importlib

from django.db import migrations

roles_migration = importlib.import_module("tickets.migrations.0002_groups_and_sla_policies")

ROLE_PERMISSIONS = {
    "viewer": {"view_remediation", "view_remediationpolicy"},
    "responder": {"change_remediation"},
    "admin": {"add_remediationpolicy", "change_remediationpolicy", "delete_remediationpolicy"},
}


def grant_remediation_permissions(apps, schema_editor):
    roles_migration.grant_role_permissions(apps, ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0015_remediation_actor"),
        ("integrations", "0009_default_remediation_policies"),
    ]

    operations = [migrations.RunPython(grant_remediation_permissions, migrations.RunPython.noop)]
