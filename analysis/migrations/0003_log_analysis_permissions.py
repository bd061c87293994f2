"""Staff roles may see log-analysis jobs in admin (viewer and up, like LLM calls)."""

import importlib

from django.db import migrations

roles_migration = importlib.import_module("tickets.migrations.0002_groups_and_sla_policies")

ROLE_PERMISSIONS = {"viewer": {"view_loganalysisjob"}}


def grant_log_analysis_permissions(apps, schema_editor):
    roles_migration.grant_role_permissions(apps, ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("analysis", "0002_log_analysis_jobs"),
        ("tickets", "0005_delivery_permissions"),
    ]

    operations = [migrations.RunPython(grant_log_analysis_permissions, migrations.RunPython.noop)]
