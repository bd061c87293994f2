"""Background processing of accepted deliveries, in batches of up to PROCESSING_BATCH: what the
webhook answered but did not do."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from django.conf import settings
from django.db import connection
from django.db.models import F, Q
from django.db.models.fields.json import KT
from django.utils import timezone

from analysis.services import (
    analyse_tickets,
    embed_tickets,
    enrich_tickets,
    share_incident_analysis,
)
from integrations import fanout, remediation, repaired_runs
from integrations.models import DeliveryStatus, WebhookDelivery
from integrations.parsers.airflow import final_try, retried_by_airflow
from rca_project.observability import tracking
from tickets.incidents import rule_group_key
from tickets.models import Ticket
from tickets.vocabulary import Outcome, Source, Status

logger = logging.getLogger(__name__)


# Namespace of the session-scoped advisory locks that claim deliveries for a batch (two-key
# form; tickets/services.py and tickets/incidents.py use 1 to 3).
_CLAIM_LOCK = 0x70726F63  # "proc"


def process_delivery(delivery_id: int) -> None:
    """Finish a pending delivery, and with it up to PROCESSING_BATCH - 1 other relayed ones
    (their tasks are on the queue; each finds its delivery done and stops), so the analysis of
    a burst is batched: one embedding call, its Gemini calls in flight together, one write.

    Idempotent: a processed delivery is left alone, and each step checks its own result, so a
    redelivery after a crash redoes only what was not done. A delivery is claimed by a
    session-scoped advisory lock for as long as it is processed: two workers never process it
    at once, and a worker that dies lets go of it with its connection (beat's redelivery then
    hands it out again)."""
    claimed = _claim(delivery_id, settings.PROCESSING_BATCH)
    if not claimed:
        return  # processed already, or in another worker's batch right now
    try:
        _process(claimed)
    finally:
        _release(claimed)


def _claim(delivery_id: int, limit: int) -> list[int]:
    """Lock `delivery_id` (when pending) and up to `limit` - 1 other pending deliveries the
    relay has queued, skipping any another worker holds; their ids, oldest first. The rows are
    picked under FOR UPDATE SKIP LOCKED, so that concurrent claims pick different ones."""
    table = WebhookDelivery._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH picked AS MATERIALIZED (SELECT id FROM {table}"
            "  WHERE status = %s AND (id = %s OR queued_at IS NOT NULL)"
            "  ORDER BY id = %s DESC, id LIMIT %s FOR UPDATE SKIP LOCKED)"
            " SELECT id FROM picked"
            " WHERE pg_try_advisory_lock(%s, (id %% 4294967296 - 2147483648)::int4)",
            [DeliveryStatus.PENDING, delivery_id, delivery_id, limit, _CLAIM_LOCK],
        )
        return sorted(row[0] for row in cursor.fetchall())


def _release(ids: list[int]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_unlock(%s, (id %% 4294967296 - 2147483648)::int4)"
            " FROM unnest(%s::bigint[]) AS id",
            [_CLAIM_LOCK, ids],
        )


def _process(ids: list[int]) -> None:
    deliveries = list(
        WebhookDelivery.objects.filter(pk__in=ids, status=DeliveryStatus.PENDING)
        .only("pk", "tracking_id", "ticket_id", "outcome", "source")
        .annotate(task_state=KT("event__details__state"), run_key=KT("event__run_key"))
        .order_by("pk")
    )
    if not deliveries:
        return
    WebhookDelivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
        attempts=F("attempts") + 1
    )
    # A Databricks run's failure ingest found a duplicate may be a repair's: counted, or
    # regressing its ticket, once the run's repair history says so.
    repaired_runs.record_repaired_attempts(deliveries)
    created = [d for d in deliveries if d.ticket_id is not None and d.outcome == Outcome.CREATED]
    created_ids = [d.ticket_id for d in created if d.ticket_id is not None]
    # A ticket whose alert carried no error text gets it first: when the text names a culprit,
    # the ticket is placed in its incident now, before anything pages it.
    enriched = enrich_tickets(created_ids) if created_ids else {}
    if any(d.source == Source.DATABRICKS for d in created):
        # One whose fetched error is an occurrence of another ticket was folded into it: its
        # delivery is that ticket's recurrence or regression now (`move_folded_deliveries`).
        _refresh_folded(created)
        created = [d for d in created if d.outcome == Outcome.CREATED]
        created_ids = [d.ticket_id for d in created if d.ticket_id is not None]
    in_incident = set(
        Ticket.objects.filter(pk__in=created_ids, incident_id__isnull=False).values_list(
            "pk", flat=True
        )
    )
    # A member of an incident shares its analysis and its page (the incident's own JIRA
    # issue and Slack message): it pages nothing of its own.
    for delivery in created:
        if delivery.ticket_id in in_incident:
            with tracking(delivery.tracking_id):
                if not share_incident_analysis(delivery.ticket_id):
                    in_incident.discard(delivery.ticket_id)  # it left its incident meanwhile
    if in_incident:
        embed_tickets(sorted(in_incident))
    alone = [ticket_id for ticket_id in created_ids if ticket_id not in in_incident]
    analysed = analyse_tickets(alone, enriched=enriched) if alone else {}
    # One over at its source already (its Resolved came first, say) pages nobody, should it
    # still be when its pages are scheduled (`fanout.schedule_initial_many` reads it again).
    recovered = set(
        Ticket.objects.filter(
            pk__in=alone, status=Status.RESOLVED, resolved_at_source_at__isnull=False
        ).values_list("pk", flat=True)
    )
    # One naming a culprit (or an alert of a rule that may fire on other resources at once, a
    # Service Health alert whose Azure incident other subscriptions' rules tell of) waits a
    # moment: should its storm form an incident meanwhile, the incident pages and this
    # ticket's own page is skipped.
    fanout.schedule_initial_many(
        [
            (
                ticket_id,
                settings.INCIDENT_GRACE_SECONDS
                if analysed.get(ticket_id)
                and (analysed[ticket_id].group_key or rule_group_key(analysed[ticket_id]))
                else None,
            )
            for ticket_id in alone
            if ticket_id in analysed  # not deleted meanwhile
        ],
        recovered=recovered,
    )
    # A regression's page, held until now as a new ticket's waits for its analysis: one over at
    # its source already (its Resolved came first, or landed meanwhile) pages nobody.
    # A late notification of a run that did not fail (a user cancelled it) ends it again first.
    repaired_runs.end_regressions_of_runs_that_did_not_fail(deliveries)
    regressed = {d.ticket_id for d in deliveries if d.outcome == Outcome.REGRESSED}
    fanout.release_regression_pages([ticket_id for ticket_id in regressed if ticket_id])
    # A new ticket, and one a regression reopened (the failure back after it was fixed: its
    # remediations so far do not decide for it, `remediation.this_episode`); not while Airflow
    # retries the task by itself: its final failure (a recurrence processed for this) is, once
    # the ticket is analysed (a proposal is decided on its analysis' confidence, and a decision
    # stands). A ticket analysed after its final failure arrived is proposed here, by its own
    # (that run's: a later run's try Airflow still retries is not).
    retried = {
        (d.ticket_id, d.run_key)
        for d in deliveries
        if d.ticket_id is not None and retried_by_airflow(d.source, d.task_state)
    }
    ended = _retries_ended(retried)
    finals = [d.ticket_id for d in deliveries if d.outcome == Outcome.CORRELATED]
    decidable = set(
        Ticket.objects.filter(pk__in=finals)
        .filter(Q(analysed_at__isnull=False) | Q(incident__isnull=False))
        .values_list("pk", flat=True)
        if finals
        else []
    )
    to_propose = [
        d
        for d in deliveries
        if d.ticket_id is not None
        and ((d.ticket_id, d.run_key) in ended or not retried_by_airflow(d.source, d.task_state))
        and (
            d.outcome in (Outcome.CREATED, Outcome.REGRESSED)
            or (d.outcome == Outcome.CORRELATED and d.ticket_id in decidable)
        )
    ]
    policies = remediation.enabled_policies() if to_propose else []
    if policies:  # none enabled: nothing to propose
        proposed = Ticket.objects.defer("embedding").in_bulk(
            [str(delivery.ticket_id) for delivery in to_propose]
        )
        for delivery in to_propose:
            # Members of an incident are proposed too: the incident hold check keeps them held
            # until the culprit recovers.
            ticket = proposed.get(str(delivery.ticket_id))
            if ticket is not None:  # not deleted meanwhile
                with tracking(delivery.tracking_id):
                    remediation.propose(ticket.pk, policies=policies, ticket=ticket)
    WebhookDelivery.objects.filter(
        pk__in=[d.pk for d in deliveries], status=DeliveryStatus.PENDING
    ).update(status=DeliveryStatus.PROCESSED, processed_at=timezone.now())
    for delivery in deliveries:
        with tracking(delivery.tracking_id):
            logger.info("processed delivery %s (%s)", delivery.pk, delivery.outcome)


def _refresh_folded(created: Sequence[WebhookDelivery]) -> None:
    folded = {
        pk: (ticket_id, outcome)
        for pk, ticket_id, outcome in WebhookDelivery.objects.filter(pk__in=[d.pk for d in created])
        .exclude(outcome=Outcome.CREATED)
        .values_list("pk", "ticket_id", "outcome")
    }
    for delivery in created:
        if delivery.pk in folded:
            delivery.ticket_id, delivery.outcome = folded[delivery.pk]


def _retries_ended(retried: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Of these (ticket, run) pairs, those whose Airflow task's final failure in that run has
    been counted on the ticket (`parsers.airflow.ends_retries`: a recurrence after the tries
    Airflow retried in the same run)."""
    if not retried:
        return set()
    recurrences = (
        WebhookDelivery.objects.filter(
            ticket_id__in={ticket_id for ticket_id, _ in retried}, outcome=Outcome.CORRELATED
        )
        .annotate(
            task_state=KT("event__details__state"),
            try_number=KT("event__details__try_number"),
            run_key=KT("event__run_key"),
        )
        .values_list("ticket_id", "run_key", "source", "task_state", "try_number")
    )
    return {
        (ticket_id, run_key)
        for ticket_id, run_key, source, state, try_number in recurrences
        if (ticket_id, run_key) in retried and final_try(source, state, try_number)
    }


def redeliver_unfinished(publish: Callable[[Sequence[int]], int]) -> int:
    """Hand deliveries whose processing was lost (worker killed, broker down, relay gone) to the
    queue again, up to 1,000 a run in one batch: `publish` (the relay's `publish_tasks`) returns
    how many the broker took; the rest go back to the relay. How many were handed over."""
    cutoff = timezone.now() - settings.REDELIVER_AFTER
    ids = WebhookDelivery.objects.requeue_unfinished(
        cutoff, settings.REDELIVER_MAX_ATTEMPTS, limit=1000
    )
    if not ids:
        return 0
    published = publish(ids)
    if published < len(ids):
        WebhookDelivery.objects.release(ids[published:])
    logger.warning("redelivered %d unfinished deliveries", published)
    return published


def apply_retention() -> int:
    """Drop processed and rejected inbox rows older than the retention period."""
    cutoff = timezone.now() - settings.INBOX_RETENTION
    deleted, _ = (
        WebhookDelivery.objects.filter(received_at__lt=cutoff)
        .exclude(status=DeliveryStatus.PENDING)
        .delete()
    )
    return deleted
