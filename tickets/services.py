"""From a normalized failure event to a ticket: dedup → correlate → suppress → create.

Runs inside the caller's transaction (the ingest request). Concurrency is settled by the
database: the unique occurrence key decides duplicates, and transaction-scoped advisory locks
on the run key and the fingerprint serialize the few events that race for the same ticket.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone

from analysis.classifier import classify_error
from integrations.events import EventKind, FailureEvent
from integrations.models import Outcome
from tickets import lifecycle, rules
from tickets.fingerprints import failure_fingerprint
from tickets.lifecycle import Actor
from tickets.models import Occurrence, SuppressionRule, Ticket, new_ticket_id

_RUN_LOCK, _FINGERPRINT_LOCK = 1, 2


@dataclass(frozen=True)
class EventOutcome:
    outcome: str
    ticket: Ticket | None = None
    suppressed_by: SuppressionRule | None = None


def _claim_occurrence(key: str, outcome: str) -> bool:
    """Insert the occurrence row; False when it already exists (a duplicate delivery).

    ON CONFLICT DO NOTHING waits for a concurrent insert of the same key to commit, so of
    fifty simultaneous deliveries exactly one claims it.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Occurrence._meta.db_table} (key, outcome, seen_at) VALUES (%s, %s, %s)"
            " ON CONFLICT (key) DO NOTHING RETURNING id",
            [key, outcome, timezone.now()],
        )
        return cursor.fetchone() is not None


def _lock(space: int, key: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [space, _hash32(key)])


def _hash32(key: str) -> int:
    return zlib.crc32(key.encode()) - 2**31


def _set_occurrence(key: str, ticket: Ticket | None, outcome: str) -> None:
    Occurrence.objects.filter(key=key).update(ticket=ticket, outcome=outcome)


def _record_recurrence(ticket: Ticket, event: FailureEvent, how: str) -> None:
    now = timezone.now()
    Ticket.objects.filter(pk=ticket.pk).update(
        occurrence_count=F("occurrence_count") + 1, last_seen=now, updated_at=now
    )
    ticket.refresh_from_db(fields=["occurrence_count", "last_seen"])
    lifecycle.write_audit(
        ticket,
        Actor.source(event.source),
        "recurred",
        details={
            "how": how,
            "occurrence_key": event.occurrence_key,
            "occurrence_count": ticket.occurrence_count,
        },
    )
    lifecycle.announce(ticket.pk, "recurred", Actor.source(event.source))


def record_event(event: FailureEvent, tracking_id: UUID) -> EventOutcome:
    """Decide what one event does to the tickets. Call inside a transaction."""
    if event.kind == EventKind.IGNORED:
        return EventOutcome(Outcome.IGNORED)
    if not _claim_occurrence(event.occurrence_key, "pending"):
        existing = Occurrence.objects.filter(key=event.occurrence_key).select_related("ticket")
        occurrence = existing.first()
        return EventOutcome(Outcome.DUPLICATE, occurrence.ticket if occurrence else None)
    if event.kind == EventKind.RESOLVED:
        return _resolve(event)
    return _record_failure(event, tracking_id)


def _resolve(event: FailureEvent) -> EventOutcome:
    ticket = (
        Ticket.objects.filter(resolve_key=event.resolve_key, resolved_at_source_at__isnull=True)
        .order_by("-timestamp")
        .select_for_update()
        .first()
    )
    if ticket is None:
        _set_occurrence(event.occurrence_key, None, Outcome.IGNORED)
        return EventOutcome(Outcome.IGNORED)
    lifecycle.resolve_at_source(
        ticket,
        Actor.source(event.source),
        details={"occurrence_key": event.occurrence_key, "pipeline": event.pipeline},
    )
    _set_occurrence(event.occurrence_key, ticket, Outcome.RESOLVED)
    return EventOutcome(Outcome.RESOLVED, ticket)


def _record_failure(event: FailureEvent, tracking_id: UUID) -> EventOutcome:
    now = timezone.now()
    error_type = classify_error(event.error_message).error_type
    fingerprint = failure_fingerprint(event.source, event.pipeline, error_type, event.error_message)

    _lock(_RUN_LOCK, event.run_key)
    same_run = Ticket.objects.filter(run_id=event.run_key).first()
    if same_run is not None:
        # A new occurrence of a run we already have: an Airflow retry, a re-fired alert.
        _record_recurrence(same_run, event, "same run")
        _set_occurrence(event.occurrence_key, same_run, Outcome.CORRELATED)
        return EventOutcome(Outcome.CORRELATED, same_run)

    _lock(_FINGERPRINT_LOCK, fingerprint)
    window_start = now - settings.CORRELATION_WINDOW
    open_ticket = Ticket.objects.correlation_candidate(fingerprint, window_start)
    if open_ticket is not None:
        _record_recurrence(open_ticket, event, "same fingerprint")
        _set_occurrence(event.occurrence_key, open_ticket, Outcome.CORRELATED)
        return EventOutcome(Outcome.CORRELATED, open_ticket)

    rule = rules.matching_suppression(event.source, event.pipeline, now)
    if rule is not None:
        SuppressionRule.objects.filter(pk=rule.pk).update(hit_count=F("hit_count") + 1)
        _set_occurrence(event.occurrence_key, None, Outcome.SUPPRESSED)
        return EventOutcome(Outcome.SUPPRESSED, suppressed_by=rule)

    ticket = _create_ticket(event, error_type, fingerprint, tracking_id, now)
    _set_occurrence(event.occurrence_key, ticket, Outcome.CREATED)
    return EventOutcome(Outcome.CREATED, ticket)


def _create_ticket(
    event: FailureEvent, error_type: str, fingerprint: str, tracking_id: UUID, now
) -> Ticket:
    severity = rules.severity_for(event.severity_hint, error_type)
    priority = rules.priority_for(severity)
    sla_seconds = rules.sla_seconds_for(priority)
    owner = rules.resolve_ownership(event.source, event.pipeline)
    ticket = Ticket.objects.create(
        id=new_ticket_id(event.processing_mode, now),
        timestamp=now,
        pipeline=event.pipeline,
        run_id=event.run_key,
        severity=severity,
        priority=priority,
        error_type=error_type,
        affected_entity=event.resource,
        sla_seconds=sla_seconds,
        sla_deadline=now + timedelta(seconds=sla_seconds),
        finops_team=owner.finops_team,
        finops_owner=owner.finops_owner,
        finops_cost_center=owner.finops_cost_center,
        slack_channel=owner.slack_channel,
        jira_project=owner.jira_project,
        logic_app_run_id=event.logic_app_run_id,
        processing_mode=event.processing_mode,
        source=event.source,
        fingerprint=fingerprint,
        first_seen=event.occurred_at or now,
        last_seen=now,
        error_message=event.error_message,
        links=event.links,
        details=event.details,
        tracking_id=tracking_id,
        resolve_key=event.resolve_key,
    )
    lifecycle.write_audit(
        ticket,
        Actor.source(event.source),
        "created",
        after={"status": ticket.status, "severity": severity, "priority": priority},
        details={"tracking_id": str(tracking_id), "error_type": error_type},
    )
    lifecycle.announce(ticket.pk, "created", Actor.source(event.source))
    return ticket
