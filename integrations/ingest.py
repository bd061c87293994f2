"""The ingest fast path shared by every failure webhook (and `manage.py ingest_file`).

Validate, store the raw delivery, decide the ticket, answer; no external call happens here,
and nothing is published to the task queue: a delivery that leaves work for the background is
committed `pending` with the ticket decision, and the inbox relay (integrations/relay.py) hands
it to the workers after the answer. It stays `pending` until a worker finishes it, so beat can
redeliver what a crash or a broker outage lost.
"""

from __future__ import annotations

import codecs
import dataclasses
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from analysis.redaction import redact, redact_data
from integrations import fanout
from integrations.events import FailureEvent, ParseError
from integrations.models import DeliveryStatus, RemediationStatus, WebhookDelivery
from integrations.parsers.adf import parse_adf_failure
from integrations.parsers.airflow import ends_retries, parse_airflow_failure, retried_by_airflow
from integrations.parsers.azure_monitor import parse_azure_monitor
from integrations.parsers.common import loads_json
from integrations.parsers.databricks import attempt_unnamed, parse_databricks_notification
from integrations.parsers.slack_actions import decode_form_payload
from rca_project import compiled_sql
from rca_project.observability import tracking
from tickets.databricks_workspace import error_fetchable
from tickets.models import Ticket
from tickets.services import EventOutcome, record_event
from tickets.vocabulary import Outcome, Source

logger = logging.getLogger(__name__)

PARSERS: dict[str, Callable[[Any], FailureEvent]] = {
    Source.AZURE_MONITOR: parse_azure_monitor,
    Source.ADF: parse_adf_failure,
    Source.DATABRICKS: parse_databricks_notification,
    Source.AIRFLOW: parse_airflow_failure,
}

# Outcomes that leave work for the background (integrations/processing.py): a new ticket's
# analysis, first pages and remediation proposal, and a regression's page (its follow-ups are
# scheduled held: `fanout.release_regression_pages`) and remediation proposal (the failure is
# back after it was fixed). A recurrence or a recovery, and the rest of a regression, is done
# when its transaction commits: its audit entry is written, and its live event and its
# JIRA/Slack follow-ups are scheduled by the ticket change itself. So is a recurrence, except
# one whose remediation proposal may be due (`needs_processing`).
NEEDS_PROCESSING = {Outcome.CREATED, Outcome.REGRESSED}


def needs_processing(event: FailureEvent, result: EventOutcome) -> bool:
    """Whether the delivery leaves work for the background: NEEDS_PROCESSING, a duplicate of a
    Databricks run's failure that may be a repair's failure (`attempt_to_be_read`), and a
    recurrence whose remediation proposal may be due: the final failure of an Airflow task
    counted on the ticket its earlier tries opened (those Airflow may have retried by itself
    got no proposal), and a newer run's failure counted on a ticket whose latest remediation
    failed (a newer run failing after the last attempt at an older one, a watch that timed
    out, is proposed; `remediation.propose` decides). The run that remediation acted on,
    reported again, is not: `propose` makes none for a run whose attempts ended, and a next
    attempt at one with attempts left is scheduled after its backoff."""
    if result.outcome in NEEDS_PROCESSING:
        return True
    if result.outcome == Outcome.DUPLICATE:
        return attempt_to_be_read(event)
    if result.outcome != Outcome.CORRELATED:
        return False
    if ends_retries(event):
        return True
    return (
        result.new_run
        and result.remediation_status == RemediationStatus.FAILED
        and not retried_by_airflow(event.source, event.details.get("state"))
    )


def attempt_to_be_read(event: FailureEvent) -> bool:
    """A Databricks job run's failure keyed by its run alone (`attempt_unnamed`) whose run can
    be read (`error_fetchable`): its duplicate may be the failure of a repair of the run, which
    the run's repair history tells (integrations/repaired_runs.py)."""
    return attempt_unnamed(event) and error_fetchable(event.resource)


class RejectedDelivery(Exception):
    """The delivery cannot be accepted; `reason` is safe to show to the sender."""

    def __init__(self, reason: str, *, status: int = 400, tracking_id: uuid.UUID | None = None):
        reason = redact(reason)  # it may quote the sender's fields
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.tracking_id = tracking_id

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.reason}
        if self.tracking_id:
            body["tracking_id"] = str(self.tracking_id)
        return body


@dataclass(frozen=True)
class IngestResult:
    ticket_id: str | None
    outcome: str
    tracking_id: uuid.UUID

    def as_dict(self) -> dict[str, Any]:
        return {
            "ticket_id": self.ticket_id,
            "outcome": self.outcome,
            "tracking_id": str(self.tracking_id),
        }


def decode_json(raw_body: bytes) -> tuple[str, Any]:
    """The body as text and as parsed JSON, or RejectedDelivery naming what is wrong. A leading
    UTF-8 byte order mark, which some senders write, is dropped (RFC 8259 lets a parser ignore
    it); the signature of a signed body is checked on the bytes as received."""
    if not raw_body.removeprefix(codecs.BOM_UTF8).strip():
        raise RejectedDelivery("body is empty: POST the JSON payload")
    try:
        raw_text = raw_body.removeprefix(codecs.BOM_UTF8).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RejectedDelivery("body is not UTF-8 encoded JSON") from exc
    try:
        payload = loads_json(raw_text)
    except ParseError as exc:
        reason = str(exc)
        raise RejectedDelivery(
            f"body is {reason}"
            if reason.startswith("not valid JSON")
            else f"body refused: {reason}"
        ) from exc
    if "\\u0000" in raw_text:
        # PostgreSQL text and jsonb cannot hold NUL characters.
        payload = _without_nul(payload)
    return raw_text, payload


def redacted_body(payload: Any) -> str:
    """What the inbox keeps of a body: the parsed JSON with every secret redacted (values of
    secret-named keys wiped, connection strings, passwords, tokens and SAS signatures masked in
    every string). Nothing reads the original back: processing works from the ticket, and a
    replay of the redacted body (`manage.py ingest_file`) yields the same event, because the
    event is redacted the same way at ingest."""
    return json.dumps(redact_data(payload), ensure_ascii=False)


def redacted_inbound_body(source: str, body: bytes) -> str:
    """The inbox copy of any body as received (a JSON webhook, Slack's form-encoded payload),
    redacted like a failure webhook's; text that does not parse is redacted as text."""
    try:
        payload = decode_form_payload(body) if source == "slack" else decode_json(body)[1]
    except (ParseError, RejectedDelivery):
        return redact(body.decode("utf-8", "replace"))
    return redacted_body(payload)


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    return value


def stored_event(source: str, raw_body: str) -> FailureEvent:
    """The event of an accepted delivery, parsed again from its inbox body (the redacted body
    yields the same event: `redacted_body`)."""
    return _redacted(PARSERS[source](loads_json(raw_body)))


def ingest_delivery(
    source: str,
    raw_body: bytes,
    *,
    headers: Mapping[str, str] | None = None,
    remote_addr: str = "",
) -> IngestResult:
    """Run one delivery through the pipeline; raises RejectedDelivery for bad input."""
    if source not in PARSERS:
        raise RejectedDelivery(f"unknown source '{source}'", status=404)
    _, payload = decode_json(raw_body)
    tracking_id = uuid.uuid4()

    def inbox_row() -> WebhookDelivery:
        return WebhookDelivery(
            tracking_id=tracking_id,
            source=source,
            raw_body=redacted_body(payload),
            headers=dict(headers or {}),
            remote_addr=remote_addr,
        )

    try:
        event = _redacted(PARSERS[source](payload))
    except ParseError as exc:
        delivery = inbox_row()
        delivery.status = DeliveryStatus.REJECTED
        delivery.reason = str(exc)
        delivery.save()
        raise RejectedDelivery(str(exc), tracking_id=tracking_id) from exc

    with tracking(tracking_id):
        # Run again once when PostgreSQL aborted it to settle a deadlock or a serialization
        # failure (the other side went on), when the new ticket's id was taken, or when the
        # ticket its inbox row names was deleted as it committed (folded into another:
        # `_inbox_row_orphaned`): the transaction is all-or-nothing, its rows, locks and
        # after-commit hooks went with it, so the second run decides as if the first never
        # ran. Not inside a caller's transaction: there only the savepoint was rolled back.
        retries = 0 if connection.in_atomic_block else INGEST_RETRIES
        while True:
            try:
                result = _record(event, inbox_row())
                break
            except OperationalError as exc:
                if retries == 0 or _sqlstate(exc) not in RETRYABLE_SQLSTATES:
                    raise
                retries -= 1
                logger.warning("ingest of a %s delivery aborted (%s); run again", source, exc)
            except IntegrityError as exc:
                # The new ticket's id (its second and 24 random bits: `new_ticket_id`) was
                # taken by a ticket created in the same second; run again, with another id.
                taken = _constraint(exc) == TICKET_ID_CONSTRAINT
                if retries == 0 or not (taken or _inbox_row_orphaned(exc)):
                    raise
                retries -= 1
                logger.warning(
                    "%s while ingesting a %s delivery; run again",
                    "ticket id taken" if taken else "its ticket deleted",
                    source,
                )
    return IngestResult(
        ticket_id=result.ticket_id,
        outcome=result.outcome,
        tracking_id=tracking_id,
    )


# PostgreSQL's deadlock_detected and serialization_failure: it aborted the transaction so that
# another could go on, and the same transaction run again may well succeed.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
INGEST_RETRIES = 1


# PostgreSQL's name for the tickets' primary key.
TICKET_ID_CONSTRAINT = f"{Ticket._meta.db_table}_pkey"


def _sqlstate(exc: OperationalError) -> str | None:
    return getattr(exc.__cause__, "sqlstate", None)


def _constraint(exc: IntegrityError) -> str | None:
    diagnostic = getattr(exc.__cause__, "diag", None)
    return getattr(diagnostic, "constraint_name", None)


# PostgreSQL's foreign_key_violation.
FOREIGN_KEY_VIOLATION = "23503"


def _inbox_row_orphaned(exc: IntegrityError) -> bool:
    """The inbox row named a row deleted before it committed (its foreign keys are checked at
    commit): a duplicate's claim read its first copy's ticket while an analysis was folding
    that ticket into another (`tickets.services.settle_run`, `settle_fingerprint`), and the
    fold's delete committed first. Run again, the duplicate names the ticket the first copy's
    occurrence was moved to."""
    diagnostic = getattr(exc.__cause__, "diag", None)
    return (
        getattr(exc.__cause__, "sqlstate", None) == FOREIGN_KEY_VIOLATION
        and getattr(diagnostic, "table_name", None) == WebhookDelivery._meta.db_table
    )


def _record(event: FailureEvent, delivery: WebhookDelivery) -> EventOutcome:
    """What the event does to the tickets, and its inbox row, in one transaction (a new
    ticket's inbox row in the ticket's own statement)."""

    def finished(result: EventOutcome) -> WebhookDelivery:
        delivery.event = event.summary()
        delivery.outcome = result.outcome
        delivery.ticket_id = result.ticket_id
        delivery.suppressed_by = result.suppressed_by
        if needs_processing(event, result):
            delivery.status = DeliveryStatus.PENDING
        else:  # finished here: nothing is left for the background
            delivery.status, delivery.processed_at = DeliveryStatus.PROCESSED, timezone.now()
        return delivery

    with transaction.atomic():
        result = record_event(event, delivery.tracking_id, created_with=finished)
        # A pending row wakes the inbox relay when this transaction commits (a trigger's NOTIFY).
        if delivery._state.adding:
            compiled_sql.insert(finished(result))
        if result.reopens_incident and result.ticket_id:
            # A member left open at its recovery (RESOLVE_ON_SOURCE_RECOVERY off) failing again
            # is no regression, which nothing processes later, but it reopened its incident: the
            # outage back, held for its regression (`schedule_incident_status`), goes out now.
            fanout.release_incident_reopenings([result.ticket_id])
        logger.info(
            "ingested %s delivery: %s %s", delivery.source, result.outcome, result.ticket_id or ""
        )
    return result


def _redacted(event: FailureEvent) -> FailureEvent:
    """Secrets in error text, payload fields, links (a SAS `sig=`, a `token=` query
    parameter, a URL's user:password@) and the sender's free-text names (a Databricks job's,
    kept as the pipeline and in the key its recovery names) never reach a ticket, a log or the
    LLM."""
    return dataclasses.replace(
        event,
        pipeline=redact(event.pipeline),
        resolve_key=redact(event.resolve_key),
        error_message=redact(event.error_message),
        correlation_text=redact(event.correlation_text),
        resource=redact_data(event.resource),
        details=redact_data(event.details),
        links={name: redact(url) for name, url in event.links.items()},
    )
