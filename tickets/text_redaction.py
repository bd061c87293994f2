"""The tickets' failure text redacted again with the current rules, by the data migrations
tickets/0033 and tickets/0035 (Django runs a shipped migration once, so a correction of its pass
ships as a new migration that runs it again; both call this, which must stay importable), and
the incidents' analysis written from their members' text, by tickets/0036; both again by
tickets/0042 (a rule added since: Hadoop's `fs.azure.account.key.<account>...` in Spark's
configuration).

A rule added since a ticket was stored (an Azure Functions key or OAuth code in a URL's query,
`?code=`) left that secret in the error text, the affected entity and the details ingest had
redacted by the rules of then, and in the analysis written from them. In batches; a ticket the
current rules leave as it is, is not written, so a second run changes nothing. One they change
is read again under its row lock and only the fields they change are written: what a worker
still running wrote meanwhile (an analysis shared from its incident, a fetched error text:
writes that leave `updated_at` as it was) is redacted, not overwritten with what was read
before it.

The migrations running it are not atomic: a ticket it changes is written in a transaction of
its own, so the pass holds one ticket's lock at a time, not the lock of every ticket it changed
until it ends (ingest and the workers updating those tickets would wait that long). A pass that
stops part way leaves what it wrote redacted, and runs again whole."""

from __future__ import annotations

from typing import Any

from django.apps.registry import Apps
from django.db import transaction
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

from analysis.redaction import redact, redact_data

BATCH = 500
FIELDS = ("error_message", "affected_entity", "details", "rca_result", "recommendations")
# An incident's analysis by Gemini quotes its members' failure text as it was sent (redacted by
# the rules of then), and is shown and sent on (its page, the API, Slack, JIRA) as it is.
INCIDENT_FIELDS = ("rca_result", "recommendations")


def _redacted(values: list[Any]) -> list[Any]:
    return [redact(value) if isinstance(value, str) else redact_data(value) for value in values]


def redact_ticket_text(apps: Apps, schema_editor: BaseDatabaseSchemaEditor | None) -> None:
    """A migration's `RunPython` step (`apps` holds the models as of that migration)."""
    _redact_rows(apps.get_model("tickets", "Ticket"), FIELDS)


def redact_incident_text(apps: Apps, schema_editor: BaseDatabaseSchemaEditor | None) -> None:
    """A migration's `RunPython` step: `redact_ticket_text` for the incidents' analysis."""
    _redact_rows(apps.get_model("tickets", "Incident"), INCIDENT_FIELDS)


def _redact_rows(model: Any, fields: tuple[str, ...]) -> None:
    last_id = None
    while True:
        batch = model.objects.order_by("pk")
        if last_id is not None:
            batch = batch.filter(pk__gt=last_id)
        stored = list(batch.values_list("pk", *fields)[:BATCH])
        if not stored:
            return
        last_id = stored[-1][0]
        for row_id, *values in stored:
            if _redacted(values) != values:
                _redact_locked(model, row_id, fields)


@transaction.atomic
def _redact_locked(model: Any, row_id: str, fields: tuple[str, ...]) -> None:
    locked = model.objects.select_for_update(no_key=True).filter(pk=row_id)
    current = locked.values_list(*fields).first()
    if current is None:  # deleted meanwhile
        return
    changed = {
        name: new
        for name, old, new in zip(fields, current, _redacted(list(current)), strict=True)
        if new != old
    }
    if changed:
        model.objects.filter(pk=row_id).update(**changed)
