"""Recovery keys that name what a success must be the success of (see `FailureEvent.resolve_key`):
a Databricks task failure is keyed by its job and task (no longer by the job alone, which let any
task's success end it), an Airflow failure by its DAG and task (no longer by one run)."""

from django.db import migrations

TASK_PART = "/task:"


def rekey(apps, schema_editor):
    Ticket = apps.get_model("tickets", "Ticket")
    databricks = Ticket.objects.filter(source="databricks", affected_entity__has_key="task_key")
    for ticket in databricks.only("pk", "resolve_key", "affected_entity"):
        task_key = ticket.affected_entity.get("task_key")
        if task_key and TASK_PART not in ticket.resolve_key:
            Ticket.objects.filter(pk=ticket.pk).update(
                resolve_key=f"{ticket.resolve_key}{TASK_PART}{task_key}"
            )
    for ticket in Ticket.objects.filter(source="airflow").only("pk", "affected_entity"):
        entity = ticket.affected_entity or {}
        dag_id, task_id = entity.get("dag_id"), entity.get("task_id")
        if not dag_id or not task_id:
            continue
        map_index = str(entity.get("map_index") or "-1")
        task_ref = task_id if map_index in ("", "-1") else f"{task_id}[{map_index}]"
        Ticket.objects.filter(pk=ticket.pk).update(resolve_key=f"airflow:{dag_id}/{task_ref}")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0010_stats_index_resolve_seconds")]

    operations = [migrations.RunPython(rekey, migrations.RunPython.noop)]
