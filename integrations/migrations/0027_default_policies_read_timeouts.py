"""The default remediation policies' transient signals gain read timeouts: a request whose
answer did not come in time (`Read timed out. (read timeout=30)` of requests and urllib3,
urllib3's `ReadTimeoutError`, requests' and httpx's `ReadTimeout`, Java's
`SocketTimeoutException: Read timed out`) is a transient network failure, as a reset or
timed-out connection (already among them) is. Added to each default policy (by name) whose
signals still hold every signal it shipped with: one an admin narrowed is left as it is."""

from importlib import import_module

from django.db import migrations

READ_TIMEOUTS = ["read timed out", "readtimeout"]


def _shipped() -> dict[str, list[str]]:
    defaults = import_module("integrations.migrations.0009_default_remediation_policies")
    return {
        fields["name"]: fields["signals"] for fields in defaults.POLICIES if "signals" in fields
    }


def add_read_timeouts(apps, schema_editor):
    policy_model = apps.get_model("integrations", "RemediationPolicy")
    for name, shipped in _shipped().items():
        for policy in policy_model.objects.filter(name=name):
            signals = list(policy.signals or [])
            if not set(shipped) <= set(signals):
                continue
            missing = [signal for signal in READ_TIMEOUTS if signal not in signals]
            if missing:
                policy.signals = signals + missing
                policy.save(update_fields=["signals"])


def remove_read_timeouts(apps, schema_editor):
    policy_model = apps.get_model("integrations", "RemediationPolicy")
    for policy in policy_model.objects.filter(name__in=list(_shipped())):
        kept = [signal for signal in policy.signals or [] if signal not in READ_TIMEOUTS]
        if kept != list(policy.signals or []):
            policy.signals = kept
            policy.save(update_fields=["signals"])


class Migration(migrations.Migration):
    dependencies = [("integrations", "0026_redact_principal_keys_and_private_key_content")]

    operations = [migrations.RunPython(add_read_timeouts, remove_read_timeouts)]
