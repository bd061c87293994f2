"""Staff see outbound deliveries (with their attempts) and LLM calls; responders retry dead
letters. 0002 ran before these models existed, so it could not grant them."""

import importlib

from django.db import migrations

roles_migration = importlib.import_module("tickets.migrations.0002_groups_and_sla_policies")

ROLE_PERMISSIONS = {
    "viewer": {"view_outbounddelivery", "view_deliveryattempt", "view_llmcall"},
    "responder": {"change_outbounddelivery"},
}


def grant_delivery_permissions(apps, schema_editor):
    roles_migration.grant_role_permissions(apps, ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0004_api_indexes"),
        ("integrations", "0002_outbound_deliveries"),
        ("analysis", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant_delivery_permissions, migrations.RunPython.noop)]
