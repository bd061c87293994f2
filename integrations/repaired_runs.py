"""A Databricks job run repaired (in Databricks, or by a remediation) keeps its run id, and the
notification of the repair's failure names no attempt: ingest answers it `duplicate` of the
run's failure and leaves it to the background (`ingest.attempt_to_be_read`). Here the run's
repair history (runs/get) tells a redelivery from the failure of a repair, which is recorded as
one more failure of the run, keyed by its repair (`parsers.databricks.of_repair`): counted on
the run's ticket while it is open, a regression of it once resolved.

A notification of a run that did not fail (a user cancelled it, it was skipped) landing after
its run's ticket was ended so (a task's, late, after the job's) regresses that ticket at ingest,
which reads nothing: here the run is read again (`end_regressions_of_runs_that_did_not_fail`),
and when it still did not fail the ticket is ended again before the regression pages anyone.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.db import transaction

from analysis import enrichment
from analysis.enrichment_service import databricks_config
from integrations.ingest import attempt_to_be_read, stored_event
from integrations.models import WebhookDelivery
from integrations.parsers.databricks import of_repair
from rca_project.observability import tracking
from tickets.databricks_workspace import error_fetchable
from tickets.models import AuditLog, Occurrence, Ticket
from tickets.services import end_as_run_that_did_not_fail, record_event
from tickets.vocabulary import Outcome, Source

logger = logging.getLogger(__name__)


def record_repaired_attempts(deliveries: Sequence[WebhookDelivery]) -> None:
    """Of these pending deliveries, record the Databricks duplicates that were a repair's
    failure; each delivery given takes its new outcome and ticket."""
    for delivery in deliveries:
        if delivery.outcome == Outcome.DUPLICATE and delivery.source == Source.DATABRICKS:
            with tracking(delivery.tracking_id):
                _record_repaired_attempt(delivery)


def _record_repaired_attempt(delivery: WebhookDelivery) -> None:
    raw_body = WebhookDelivery.objects.values_list("raw_body", flat=True).get(pk=delivery.pk)
    event = stored_event(delivery.source, raw_body)
    if not attempt_to_be_read(event):  # DATABRICKS_HOST or its workspace changed meanwhile
        return
    run_id = str(event.resource.get("run_id", ""))
    try:
        attempt = enrichment.latest_ended_attempt(databricks_config(), run_id)
    except enrichment.EnrichmentError as exc:
        logger.warning("the repair history of Databricks run %s was not read: %s", run_id, exc)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            reason=f"a duplicate: the run's repair history was not read ({exc})"
        )
        return
    # A redelivery when the run was never repaired, or the attempt that ended last succeeded
    # (the failure was an earlier attempt's) or is the run as it first ran.
    if attempt is None or attempt.repair_id is None or attempt.succeeded:
        return
    first_recorded = (
        Occurrence.objects.filter(key=event.occurrence_key)
        .values_list("seen_at", flat=True)
        .first()
    )
    if first_recorded and attempt.started_at and attempt.started_at < first_recorded:
        return  # the failure first recorded was this repair's already
    repaired = of_repair(event, attempt.repair_id)
    # The delivery is claimed by this worker (`processing._claim`), and its outcome was read
    # under that claim: a copy of this work that committed left it a duplicate no longer.
    with transaction.atomic():
        result = record_event(repaired, delivery.tracking_id)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            outcome=result.outcome,
            ticket_id=result.ticket_id,
            suppressed_by=result.suppressed_by,
            event=repaired.summary(),
        )
    delivery.outcome, delivery.ticket_id = result.outcome, result.ticket_id
    logger.info(
        "Databricks run %s, repair %s failed: %s %s",
        run_id,
        attempt.repair_id,
        result.outcome,
        result.ticket_id or "",
    )


def end_regressions_of_runs_that_did_not_fail(deliveries: Sequence[WebhookDelivery]) -> None:
    """Of these pending deliveries, the Databricks failures that regressed their ticket, whose
    job run (read now: runs/get) did not fail: a user cancelled it, or it was skipped
    (`enrichment.run_did_not_fail`; the ticket of its first notification was ended so before it
    paged, `analysis.services._store_enriched`). The ticket is over at its source again before
    its regression's pages are released (`fanout.release_regression_pages`: they are recorded
    skipped). A run repaired since that failed reads as failed, and its regression stands.
    Only the run of a regression of a ticket ended before as a run that did not fail (its
    audit's `resolved at source` says why) is read, found in one query for the batch: any
    other regression (the job failing again after its success) reads nothing here."""
    regressed = [
        delivery
        for delivery in deliveries
        if delivery.outcome == Outcome.REGRESSED
        and delivery.source == Source.DATABRICKS
        and delivery.ticket_id
    ]
    if not regressed:
        return
    ended_so = set(
        AuditLog.objects.filter(
            ticket_id__in={delivery.ticket_id for delivery in regressed},
            action="resolved at source",
            details__why__in=enrichment.RUN_DID_NOT_FAIL_REASONS,
        ).values_list("ticket_id", flat=True)
    )
    for delivery in regressed:
        if delivery.ticket_id in ended_so:
            with tracking(delivery.tracking_id):
                _end_if_run_did_not_fail(delivery)


def _end_if_run_did_not_fail(delivery: WebhookDelivery) -> None:
    event = WebhookDelivery.objects.values_list("event", flat=True).get(pk=delivery.pk) or {}
    resource = event.get("resource") or {}
    if not error_fetchable(resource):
        return
    run_id = str(resource.get("run_id", ""))
    try:
        why = enrichment.run_did_not_fail(enrichment.run_ended(databricks_config(), run_id))
    except enrichment.EnrichmentError as exc:
        logger.warning("Databricks run %s was not read again: %s", run_id, exc)
        return
    if not why:
        return
    with transaction.atomic():
        ticket = Ticket.objects.defer("embedding").filter(pk=delivery.ticket_id).first()
        if ticket is not None:
            end_as_run_that_did_not_fail(ticket, why)
    logger.info(
        "Databricks run %s did not fail (%s): %s ended again", run_id, why, delivery.ticket_id
    )
