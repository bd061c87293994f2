"""Key the open incidents of Azure alert rules named by their name alone as the rules' alerts
are keyed now. The release before grouped such a rule's alerts (a body without `alertRuleID`)
on `alert-rule:<name>`; they group on `alert-rule:/subscriptions/<id>/<name>` since
(`tickets.incidents.rule_group_key`: one name deployed in two subscriptions is two rules). An
incident that release opened kept the old key, so the next alert of its rule on another
resource joined none: it paged on its own, and with another such alert formed a second
incident of the rule, paged again. Each open incident whose members all name one subscription
gets that subscription's key (its group key and culprit); one whose members are in two keeps
its key and receives no more alerts: each subscription's next alerts form their own."""

from django.db import migrations

from tickets.incidents import rule_group_key_of

RULE_PREFIX = "alert-rule:"  # analysis.culprits.CulpritKind.ALERT_RULE's label


def key_rule_incidents_by_subscription(apps, schema_editor):
    Incident = apps.get_model("tickets", "Incident")
    Ticket = apps.get_model("tickets", "Ticket")
    named_alone = (
        Incident.objects.filter(group_key__startswith=RULE_PREFIX, merged_into__isnull=True)
        .exclude(group_key__startswith=f"{RULE_PREFIX}/subscriptions/")
        .exclude(status="resolved")
        .order_by("pk")
        .values_list("pk", "group_key")
    )
    for pk, old_key in named_alone.iterator(chunk_size=500):
        members = Ticket.objects.filter(incident_id=pk).values_list(
            "source", "processing_mode", "run_id", "details", "affected_entity"
        )
        keys = {rule_group_key_of(*member) for member in members.iterator(chunk_size=500)} - {""}
        if len(keys) != 1:
            continue  # no alert of the rule among its members, or alerts of two subscriptions
        (new_key,) = keys
        if new_key == old_key or not new_key.endswith(f"/{old_key.removeprefix(RULE_PREFIX)}"):
            continue
        Incident.objects.filter(pk=pk, group_key=old_key).update(group_key=new_key)
        Incident.objects.filter(pk=pk, culprit=old_key).update(culprit=new_key)


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0047_redact_oracle_logons_and_nested_json"),
    ]

    operations = [
        migrations.RunPython(
            key_rule_incidents_by_subscription, migrations.RunPython.noop, elidable=True
        ),
    ]
