"""A Service Health notice (a planned maintenance, an action required) that pages nobody has no
SLA clock from this release on (`lifecycle.runs_sla_clock`): the notices the release before
opened whose clock still runs (Pending, open or in progress) lose their deadline, so none is
marked Breached at its 24 hours, nor Met as its maintenance completes, and none leads the
board. Left as they are while SERVICE_HEALTH_NOTICES_PAGE is on (notices page, and keep their
clock). A notice already Met or Breached keeps that. Migrating back gives each notice with no
deadline its clock from its creation (the old release's: a null deadline was due at creation
and Met on any answer)."""

from typing import Any

from django.conf import settings
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

NOTICE = "service_health_notice"


def clear_quiet_notice_deadlines(apps: Any, schema_editor: BaseDatabaseSchemaEditor | None) -> int:
    """How many notices lost their deadline."""
    if settings.SERVICE_HEALTH_NOTICES_PAGE:
        return 0
    ticket = apps.get_model("tickets", "Ticket")
    return ticket.objects.filter(
        **{f"details__{NOTICE}": True},
        sla_status="Pending",
        status__in=("open", "in_progress"),
        sla_deadline__isnull=False,
    ).update(sla_deadline=None)


def restore_deadlines_from_creation(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
    schema_editor.execute(
        "UPDATE tickets_ticket SET sla_deadline = timestamp + make_interval(secs => sla_seconds)"
        " WHERE details @> %s::jsonb AND sla_status = 'Pending' AND sla_deadline IS NULL",
        params=[f'{{"{NOTICE}": true}}'],
    )


class Migration(migrations.Migration):
    dependencies = [("tickets", "0059_urgency_index_tickets_without_a_deadline_last")]

    operations = [
        migrations.RunPython(clear_quiet_notice_deadlines, restore_deadlines_from_creation),
    ]
