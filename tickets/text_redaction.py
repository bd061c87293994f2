"""The tickets' failure text redacted again with the current rules, by the data migrations
tickets/0033 and tickets/0035 (Django runs a shipped migration once, so a correction of its pass
ships as a new migration that runs it again; both call this, which must stay importable).

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


def _redacted(values: list[Any]) -> list[Any]:
    return [redact(value) if isinstance(value, str) else redact_data(value) for value in values]


def redact_ticket_text(apps: Apps, schema_editor: BaseDatabaseSchemaEditor | None) -> None:
    """A migration's `RunPython` step (`apps` holds the models as of that migration)."""
    Ticket = apps.get_model("tickets", "Ticket")
    last_id = None
    while True:
        batch = Ticket.objects.order_by("pk")
        if last_id is not None:
            batch = batch.filter(pk__gt=last_id)
        stored = list(batch.values_list("pk", *FIELDS)[:BATCH])
        if not stored:
            return
        last_id = stored[-1][0]
        for ticket_id, *values in stored:
            if _redacted(values) != values:
                _redact_locked(Ticket, ticket_id)


@transaction.atomic
def _redact_locked(Ticket: Any, ticket_id: str) -> None:
    locked = Ticket.objects.select_for_update(no_key=True).filter(pk=ticket_id)
    current = locked.values_list(*FIELDS).first()
    if current is None:  # deleted meanwhile
        return
    changed = {
        name: new
        for name, old, new in zip(FIELDS, current, _redacted(list(current)), strict=True)
        if new != old
    }
    if changed:
        Ticket.objects.filter(pk=ticket_id).update(**changed)
