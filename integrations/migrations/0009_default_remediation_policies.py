"""The default remediation policy: transient failures are rerun automatically (confidence
permitting), deterministic ones never. Admins edit or disable these rows; this migration only
adds the ones missing by name."""

from django.db import migrations

# What the error message of a transient failure says (matched case-insensitively).
THROTTLING = ["throttl", "too many requests", "toomanyrequests", "rate limit", "serverbusy"]
TRANSIENT_NETWORK = [
    "connection reset",
    "connection refused",
    "connection timed out",
    "temporarily unavailable",
    "transient network",
    "network is unreachable",
    "name resolution",
    "econnreset",
]
CLUSTER_LAUNCH = [
    "cluster launch",
    "failed to launch",
    "cluster_launch",
    "bootstrap",
    "cloud provider launch failure",
]
DRIVER_UNREACHABLE = ["driver is unreachable", "driver unreachable", "driver not responding"]
LIBRARY_TIMEOUT = ["library installation timed out", "library install timed out"]
LOST_EXECUTORS = ["executorlostfailure", "lost executor", "executor lost"]
TRANSIENT = (
    THROTTLING
    + TRANSIENT_NETWORK
    + CLUSTER_LAUNCH
    + DRIVER_UNREACHABLE
    + LIBRARY_TIMEOUT
    + LOST_EXECUTORS
)

POLICIES = [
    {
        "name": "Deterministic failures: never",
        "order": 10,
        "error_classes": [
            "AuthenticationError",
            "ConfigurationError",
            "CodeError",
            "DataError",
        ],
        "action": "playbook",
        "mode": "never",
    },
    {
        "name": "Transient ADF failures: rerun from the failed activity",
        "order": 100,
        "sources": ["adf", "azure-monitor"],
        "signals": TRANSIENT,
        "action": "adf_rerun",
        "mode": "auto",
    },
    {
        "name": "Transient Databricks failures: repair the run",
        "order": 100,
        "sources": ["databricks"],
        "signals": TRANSIENT,
        "action": "databricks_repair",
        "mode": "auto",
    },
    {
        "name": "Transient Airflow failures: clear the task",
        "order": 100,
        "sources": ["airflow"],
        "signals": TRANSIENT,
        "action": "airflow_clear",
        "mode": "auto",
    },
]


def add_defaults(apps, schema_editor):
    policy = apps.get_model("integrations", "RemediationPolicy")
    for fields in POLICIES:
        policy.objects.get_or_create(name=fields["name"], defaults=fields)


def remove_defaults(apps, schema_editor):
    apps.get_model("integrations", "RemediationPolicy").objects.filter(
        name__in=[fields["name"] for fields in POLICIES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("integrations", "0008_remediation")]

    operations = [migrations.RunPython(add_defaults, remove_defaults)]
