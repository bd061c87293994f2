"""Roles as groups (viewer reads, responder acts, admin edits rules) and default SLA policies."""

from django.db import migrations

ROLE_PERMISSIONS = {
    "viewer": {
        "view_ticket",
        "view_auditlog",
        "view_occurrence",
        "view_ownershiprule",
        "view_suppressionrule",
        "view_slapolicy",
        "view_webhookdelivery",
    },
    "responder": {"change_ticket"},
    "admin": {
        "add_ownershiprule",
        "change_ownershiprule",
        "delete_ownershiprule",
        "add_suppressionrule",
        "change_suppressionrule",
        "delete_suppressionrule",
        "add_slapolicy",
        "change_slapolicy",
        "delete_slapolicy",
    },
}
# Each role includes the one before it.
ROLE_ORDER = ("viewer", "responder", "admin")
DEFAULT_SLA_SECONDS = {"P1": 15 * 60, "P2": 60 * 60, "P3": 4 * 60 * 60, "P4": 24 * 60 * 60}


def grant_role_permissions(apps, role_permissions: dict[str, set[str]]) -> None:
    """Give each role its permissions and those of the roles below it (creating the role's
    group and any permissions Django has not created yet)."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    granted: set[str] = set()
    for role in ROLE_ORDER:
        granted |= role_permissions.get(role, set())
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(*Permission.objects.filter(codename__in=granted))


def create_groups(apps, schema_editor):
    grant_role_permissions(apps, ROLE_PERMISSIONS)


def create_sla_policies(apps, schema_editor):
    SlaPolicy = apps.get_model("tickets", "SlaPolicy")
    for priority, seconds in DEFAULT_SLA_SECONDS.items():
        SlaPolicy.objects.get_or_create(priority=priority, defaults={"seconds": seconds})


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0001_initial"),
        ("integrations", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(create_groups, migrations.RunPython.noop),
        migrations.RunPython(create_sla_policies, migrations.RunPython.noop),
    ]
