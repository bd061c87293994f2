"""The webhook path's INSERTs (rca_project/compiled_sql.py) store what the ORM's `save()` stores:
one JSON parameter per row, converted by PostgreSQL to each column's type."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.models import Model
from django.utils import timezone

from integrations.models import DeliveryStatus, WebhookDelivery
from rca_project import compiled_sql
from tests.api import make_ticket, ticket_fields
from tickets.lifecycle import Actor, audit_entry
from tickets.models import AuditLog, Ticket
from tickets.vocabulary import Outcome, Source

# Text PostgreSQL and JSON both escape: quotes, backslashes, a JSON body's own escapes,
# newlines, tabs, non-ASCII (one outside the BMP), a percent sign (psycopg's placeholder).
AWKWARD = 'it\'s "quoted" \\ back\\slash \\"escaped\\" %s 100% \n\ttab é 你好 😀 \u2028'


def _delivery(**fields: object) -> WebhookDelivery:
    return WebhookDelivery(
        source=Source.ADF,
        raw_body='{"error_message": "' + AWKWARD.replace("\\", "\\\\").replace('"', '\\"') + '"}',
        headers={"Content-Type": "application/json", "User-Agent": AWKWARD},
        remote_addr="203.0.113.7",
        status=DeliveryStatus.PENDING,
        outcome=Outcome.CREATED,
        event={"error_message": AWKWARD, "nested": {"n": [1, 2.5, None, True]}, "empty": {}},
        **fields,
    )


def _stored(model: type[Model], pk: object) -> dict[str, Any]:
    values = model._default_manager.filter(pk=pk).values().get()
    values.pop("id")
    return values


@pytest.mark.django_db
def test_an_inbox_row_inserted_is_the_row_save_stores():
    received = timezone.now() - timedelta(seconds=3)
    by_orm = _delivery(tracking_id=uuid.uuid4(), received_at=received)
    by_orm.save()
    compiled = _delivery(tracking_id=uuid.uuid4(), received_at=received)
    compiled_sql.insert(compiled)

    assert compiled.pk is not None and compiled.pk != by_orm.pk
    assert not compiled._state.adding
    orm_row, compiled_row = (
        _stored(WebhookDelivery, by_orm.pk),
        _stored(WebhookDelivery, compiled.pk),
    )
    assert compiled_row.pop("tracking_id") == compiled.tracking_id
    orm_row.pop("tracking_id")
    assert compiled_row == orm_row
    assert compiled_row["event"]["error_message"] == AWKWARD
    assert compiled_row["received_at"] == received


@pytest.mark.django_db
def test_an_audit_entry_inserted_is_the_entry_write_audit_stores():
    ticket = make_ticket()
    actor = Actor.source(Source.ADF)
    entries = []
    for write in (lambda entry: entry.save(), compiled_sql.insert):
        entry = audit_entry(
            ticket,
            actor,
            "created",
            after={"status": "open", "note": AWKWARD},
            details={"tracking_id": str(uuid.uuid4()), "count": 3},
        )
        write(entry)
        entries.append(entry)
    orm_row, compiled_row = (_stored(AuditLog, entry.pk) for entry in entries)
    assert orm_row.pop("details")["tracking_id"] != compiled_row.pop("details")["tracking_id"]
    orm_at, compiled_at = orm_row.pop("created_at"), compiled_row.pop("created_at")
    assert compiled_at >= orm_at
    assert compiled_row == orm_row
    assert compiled_row["after"]["note"] == AWKWARD


@pytest.mark.django_db
def test_a_ticket_row_as_json_is_the_row_save_stores():
    earlier = make_ticket()
    fields = {
        "timestamp": timezone.now(),
        "error_message": AWKWARD,
        "confidence": 0.625,
        "affected_entity": {"server": AWKWARD, "port": 1433, "ok": False, "none": None},
        "links": {"run": "https://adf.azure.com/runs/1?x=1&y=%20"},
        "previous_ticket_id": earlier.pk,
        "tracking_id": uuid.uuid4(),
        "resolved_at": timezone.now() - timedelta(hours=2),
        "ack_seconds": 0,
    }
    by_orm = Ticket(**ticket_fields(**fields))
    by_orm.save()
    as_json = Ticket(**ticket_fields(**fields))
    with connection.cursor() as cursor:
        cursor.execute(compiled_sql.row_insert_sql(Ticket), [compiled_sql.row_json(as_json)])
    orm_row, json_row = _stored(Ticket, by_orm.pk), _stored(Ticket, as_json.pk)
    for varies in ("run_id", "fingerprint", "updated_at"):
        orm_row.pop(varies), json_row.pop(varies)
    assert json_row == orm_row
    assert json_row["error_message"] == AWKWARD
