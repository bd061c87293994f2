"""From a normalized failure event to a ticket: dedup → correlate → suppress → create.

Runs inside the caller's transaction (the ingest request). Concurrency is settled by the
database: the unique occurrence key decides duplicates, and transaction-scoped advisory locks
on the run key and the fingerprint serialize the few events that race for the same ticket (and
one on the culprit, the new tickets that race for the same incident: tickets/incidents.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import zlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Exists, F, Func, OuterRef, Q, TextField, Value
from django.db.models.functions import Concat
from django.dispatch import Signal
from django.utils import timezone

from analysis.classifier import Classification, classify_error
from analysis.culprits import Culprit, extract_culprit
from analysis.redaction import redact
from integrations.events import (
    FIRED_BY_ALERT_ID,
    HEALTH_EVENT_AT,
    OCCURRENCE_KEY_LIMIT,
    SERVICE_HEALTH_NOTICE,
    TASK_PART,
    EventKind,
    FailureEvent,
    bounded_key,
)
from integrations.parsers.adf import adf_resolve_key, adf_run_key, adf_studio_run_url
from integrations.parsers.airflow import (
    instance_resolve_key,
    map_index_of,
    retried_by_airflow,
    try_details,
)
from integrations.parsers.databricks import (
    FAILURE_EVENT,
    REPAIR_ID,
    UNKNOWN_WORKSPACE,
    run_failure_key,
)
from rca_project.compiled_sql import (
    inserted,
    prepared_cursor,
    row_insert_returning_pk_sql,
    row_insert_sql,
    row_json,
)
from tickets import incidents, lifecycle, rules
from tickets.databricks_workspace import error_fetchable, run_page_link
from tickets.fingerprints import failure_fingerprint
from tickets.lifecycle import Actor
from tickets.models import (
    SLA_RUNNING,
    ActorKind,
    AttachTarget,
    AuditLog,
    FoldedTicket,
    Occurrence,
    SuppressionRule,
    Ticket,
    jobs_failed_together_words,
    new_ticket_id,
)
from tickets.timestamps import utc_text
from tickets.vocabulary import (
    ADF_ALERT_ERROR,
    FAILED_MAP_INDEXES,
    FAILED_TASKS,
    FAILING_MAP_INDEXES,
    FAILING_TASKS,
    JOBS_FAILED_TOGETHER,
    NEWEST_FAILED_RUN,
    TRIGGERED_JOB_RUN,
    ErrorClass,
    Outcome,
    SlaStatus,
    Source,
    Status,
)

# The first keys of ingest's advisory locks; 3 is the culprit's (tickets.incidents), 5 a
# ticket's RCA requests' (analysis.services). One class each: a job's notifications would
# otherwise wait for the RCA request of a ticket whose id hashes as the job's key does.
_RUN_LOCK, _FINGERPRINT_LOCK, _OCCURRENCE_LOCK, _JOB_LOCK = 1, 2, 4, 6

# In the details of a ticket opened by a Databricks notification without error text, until its
# analysis fetched the error: the fingerprint it settles on if the fetch gives none (the
# job's: `settle_fingerprint`).
FINGERPRINT_PENDING = "fingerprint_pending"

# Sent inside the transaction of `settle_fingerprint` (and `settle_run`), before the folded
# ticket is deleted, with ticket_id (the folded ticket), into (the ticket its failure is an
# occurrence of) and outcome (correlated or regressed; duplicate for an alert folded into the
# ticket of a run whose failure is over, `settle_run`): the inbox rows of the folded ticket
# follow it, and the dashboard is told once the fold commits
# (`broadcast.broadcast_ticket_folded`).
ticket_folded = Signal()

# The outcome of the Fired of an alert that named no ADF run, once its ticket was folded into
# the ticket of the run its analysis found (`settle_run`).
FOLDED_ALERT = "folded alert"

# What an ADF rerun reads of the run it acts on (integrations/targets/adf_rerun.py): the names
# an ADF webhook's affected entity gives it, and its pipeline (an alert split by activity names
# none: its ticket's pipeline is the alert rule's name). An alert's ticket takes them from the
# run its analysis found (`settle_run`).
_RUN_NAMES = ("factory", "resource_group", "subscription_id", "run_id", "pipeline")
# In the run an alert's analysis found (`settle_run`): the id of a later run of its pipeline
# that succeeded, as the factory told when the run was read.
SUCCEEDED_SINCE = "succeeded_since"


@dataclass(frozen=True)
class EventOutcome:
    outcome: str
    ticket_id: str | None = None
    suppressed_by: SuppressionRule | None = None
    # A recurrence's: the ticket's `remediation_status` as the failure was counted on it (a
    # failed last attempt at an older run leaves a newer run's failure to be proposed), and
    # whether the failure is of another run than the ticket's latest before it.
    remediation_status: str = ""
    new_run: bool = False
    # A recurrence's: it was counted on an open member of an incident that had recovered at its
    # source (left open: RESOLVE_ON_SOURCE_RECOVERY off), which reopens an incident every
    # member's recovery ended with no regression of the ticket (`incidents.record_recurrence`).
    reopens_incident: bool = False


def _hash32(key: str) -> int:
    return zlib.crc32(key.encode()) - 2**31


def _record_recurrence(
    ticket_id: str,
    event: FailureEvent,
    how: str,
    now: datetime,
    folded_from: str = "",
    other_error: str = "",
    count_tasks: Sequence[str] = (),
) -> tuple[int, bool, str, bool, bool]:
    """The new occurrence count, whether the ticket is resolved, its remediation status,
    whether the failure is of a newer run (read under its lock) and whether it is counted on
    an open member that had recovered at its source (`EventOutcome.reopens_incident`).
    `count_tasks`: the failure is of these other Databricks tasks than the ticket's, of a run
    the ticket counts, failing alike (`settle_fingerprint`): the ticket keeps the tasks it
    counts from then on."""
    if _escalates(event):
        # Before the ticket's own lock: escalating, it may form its Azure incident with others.
        incidents.lock_notice_with_candidates(ticket_id, _rule_key(event))
    count, incident_id, was_recovered, resolved, remediation_status, new_run = (
        Ticket.objects.record_recurrence(
            ticket_id,
            now,
            event.run_key,
            event.resource,
            log_link=event.links.get("log", ""),
            run_link=event.links.get("run", ""),
            retried=retried_by_airflow(event.source, event.details.get("state")),
            try_details=try_details(event),
            dated_run=_dated_failed_run(event),
        )
    )
    if how == "regression" and not resolved:
        # Reopened (by people, JIRA, an incident) while this waited for its lock: one more
        # occurrence of an open ticket.
        how = "same fingerprint"
    map_index = map_index_of(event)
    if map_index is not None:
        _count_failed_instance(ticket_id, map_index, anew=resolved or was_recovered)
    tasks = list(count_tasks) or [task for task in [_databricks_task(event)] if task]
    if tasks:
        _count_failed_tasks(
            ticket_id, tasks, anew=resolved or was_recovered, start=bool(count_tasks)
        )
    actor = Actor.source(event.source)
    _escalate_notice(ticket_id, event, actor)
    _page_notice_left_quiet(ticket_id, event, actor)
    details = {"how": how, "occurrence_key": event.occurrence_key, "occurrence_count": count}
    if folded_from:
        details["folded_from"] = folded_from
    if other_error:
        details["error_type"], details["error_message"] = other_error, event.error_message
    lifecycle.write_audit(Ticket(pk=ticket_id), actor, "recurred", details=details)
    lifecycle.announce(ticket_id, "recurred", actor)
    incidents.record_recurrence(
        ticket_id, now, incident_id, was_recovered=was_recovered, actor=actor
    )
    reopens = was_recovered and not resolved and incident_id is not None
    return count, resolved, remediation_status, new_run, reopens


def _escalates(event: FailureEvent) -> bool:
    """Whether the event is a Service Health update that is no notice: it escalates the
    notice's ticket it is counted on (`_escalate_notice`)."""
    return event.details.get("alert_kind") == "service_health" and not event.details.get(
        SERVICE_HEALTH_NOTICE
    )


def _escalate_notice(ticket_id: str, event: FailureEvent, actor: Actor) -> None:
    """An update of a Service Health notice's ticket (a planned maintenance, an action
    required: `SERVICE_HEALTH_NOTICE`) that is no notice (an `Incident`, a `Security`
    advisory, a maintenance at level Warning or above: the parser's `_is_notice`): the ticket
    is a notice no more (its flag cleared, its severity raised to the update's, never
    lowered), audited and announced `escalated`, which pages it once if it was left unpaged as
    a notice (integrations/fanout.py `page_escalated_notice`; a resolved one pages as its
    regression is processed, `page_if_left_unpaged`). Its SLA time becomes its (raised)
    priority's, and its clock starts at this update (a quiet notice had none:
    `lifecycle.runs_sla_clock`), or restarts there when one ran (a notice that paged): the
    outage pages now, and a notice announced days before would have been Breached as it
    paged; an ended notice's regression (`lifecycle.regress`, after this) starts its clock
    with that time, not the notice's 24 hours; an acknowledged one, answered, starts none
    until it is reopened. Under the ticket's lock (`record_recurrence` took it, after
    `incidents.lock_notice_with_candidates`): a redelivered update finds it a notice no more."""
    if not _escalates(event):
        return
    ticket = (
        Ticket.objects.select_for_update(no_key=True)
        .only(
            "pk",
            "details",
            "severity",
            "priority",
            "status",
            "sla_status",
            "sla_deadline",
            "sla_seconds",
            "timestamp",
        )
        .filter(pk=ticket_id)
        .first()
    )
    if ticket is None or not (ticket.details or {}).get(SERVICE_HEALTH_NOTICE):
        return
    details = {key: value for key, value in ticket.details.items() if key != SERVICE_HEALTH_NOTICE}
    raised = rules.severity_raised_to(ticket, event.severity_hint) if event.severity_hint else {}
    sla_seconds = rules.sla_seconds_for(raised.get("priority", ticket.priority))
    clock: dict[str, Any] = {"sla_seconds": sla_seconds}
    if ticket.sla_status == SlaStatus.PENDING and ticket.status in SLA_RUNNING:
        clock["sla_deadline"] = timezone.now() + timedelta(seconds=sla_seconds)
    Ticket.objects.filter(pk=ticket_id).update(details=details, **{**raised, **clock})
    if ticket.status != Status.RESOLVED:
        # An outage's alert now: with the other subscriptions' of its Azure incident.
        incidents.place_escalated(ticket_id, _rule_key(event))
    audit = {
        "occurrence_key": event.occurrence_key,
        "incident_type": str(event.details.get("incident_type", "")),
        "level": str(event.details.get("level", "")),
    }
    before = {"severity": ticket.severity}
    after = {"severity": raised.get("severity", ticket.severity)}
    lifecycle.write_audit(
        ticket, actor, lifecycle.ESCALATED, before=before, after=after, details=audit
    )
    lifecycle.announce(ticket_id, lifecycle.ESCALATED, actor, before=before, after=after)


def _page_notice_left_quiet(ticket_id: str, event: FailureEvent, actor: Actor) -> None:
    """An update of an open (or in progress) Service Health notice recorded while notices
    paged nobody (no SLA clock, its pages recorded skipped), delivered once
    SERVICE_HEALTH_NOTICES_PAGE is on: the notice pages now, as it would have had the setting
    been on when it was opened. Its clock starts at this update, and it is announced
    `NOTICE_PAGED`, which sends the pages it was left without (integrations/fanout.py
    `page_escalated_notice`). Turning the setting on pages nothing by itself: a notice is
    paged by its next update (an acknowledged one, owned already, is not; an ended one
    pages if Azure publishes it again, as its regression). Under the ticket's lock
    (`record_recurrence` took it): its deadline set, a redelivered update finds it paged."""
    if not settings.SERVICE_HEALTH_NOTICES_PAGE or not event.details.get(SERVICE_HEALTH_NOTICE):
        return
    ticket = (
        Ticket.objects.select_for_update(no_key=True)
        .only("pk", "sla_seconds", "sla_deadline")
        .filter(
            pk=ticket_id,
            status__in=SLA_RUNNING,
            sla_status=SlaStatus.PENDING,
            sla_deadline__isnull=True,
            **{f"details__{SERVICE_HEALTH_NOTICE}": True},
        )
        .first()
    )
    if ticket is None:
        return
    deadline = timezone.now() + timedelta(seconds=ticket.sla_seconds)
    Ticket.objects.filter(pk=ticket_id).update(sla_deadline=deadline)
    after = {"sla_deadline": deadline.isoformat()}
    lifecycle.write_audit(ticket, actor, lifecycle.NOTICE_PAGED, after=after)
    lifecycle.announce(ticket_id, lifecycle.NOTICE_PAGED, actor, after=after)


@dataclass(frozen=True)
class _Classified:
    error_type: str
    fingerprint: str
    culprit: Culprit | None


def classify_failure(
    message: str, details: Mapping[str, Any], processing_mode: str
) -> Classification:
    """A failure's error class. A message standing in for an error its alert did not carry
    (`needs_enrichment`: a Databricks notification names only its job, an ADF metric alert its
    rule and pipeline) states no error: Unknown, whatever the names in it say ("api_timeout_watch"
    is no timeout), until the error is fetched. An Azure alert that is no pipeline failure
    states none either: signals only."""
    if details.get("needs_enrichment"):
        return Classification(ErrorClass.UNKNOWN.value, 0.0, ())
    return classify_error(message, plain_words=processing_mode != Source.AZURE_MONITOR)


def classify_and_fingerprint(event: FailureEvent) -> tuple[str, str]:
    """A failure's error class and the fingerprint it is correlated on (bench/fix_recall.py
    replays its failures through this too, so its figures are the service's)."""
    error_type = classify_failure(
        event.error_message, event.details, event.processing_mode
    ).error_type
    fingerprint = failure_fingerprint(
        event.source,
        event.pipeline,
        error_type,
        event.correlation_text or event.error_message,
        event.deployment,
        event.unit,
        f"run:{event.run_key}" if event.details.get(FINGERPRINT_PENDING) else event.subject,
    )
    return error_type, fingerprint


def _error_to_be_fetched(event: FailureEvent) -> bool:
    """A Databricks notification without error text whose run's error the analysis can fetch
    (`error_fetchable`): its failure is told apart from the job's others once the error is
    known (`settle_fingerprint`), so until then it is correlated with no other run's."""
    return (
        event.source == Source.DATABRICKS
        and bool(event.details.get("needs_enrichment"))
        and error_fetchable(event.resource)
    )


def _unnamed_run_page(event: FailureEvent) -> str:
    """The page DATABRICKS_HOST shows for the run of a Databricks failure whose notification
    names none (`run_page_link`); "" otherwise."""
    if event.source != Source.DATABRICKS or "run" in event.links:
        return ""
    return run_page_link(event.resource)


@dataclass(frozen=True)
class Folded:
    """A ticket whose fetched error made it an occurrence of `ticket_id` (`outcome`)."""

    ticket_id: str
    outcome: str


def settle_fingerprint(
    ticket: Ticket,
    message: str,
    culprit: str = "",
    links: Mapping[str, str] | None = None,
    *,
    triggered_run: Mapping[str, str] | None = None,
) -> Folded | None:
    """A ticket opened by a Databricks notification without error text (`FINGERPRINT_PENDING` in
    its details) was correlated at ingest with no other run's failure: its fingerprint named its
    run. Its analysis fetched the run's error (`message`, without the error's trace, which one
    fetch gets and another may not; "" when the fetch gave none). Its fingerprint is now the one
    a notification carrying that error would have (the job's, as before this fetch existed, when
    there is none), and its failure is decided as ingest decides a failure of that fingerprint:
    one more occurrence of an unresolved ticket of it, or a regression of one resolved within
    the regression window (`culprit`, the one the error names, places it in its incident as a
    regression at ingest would: joined, or formed with its recent failures), else the ticket
    stays, linked to an earlier one of it (so does
    one resolved meanwhile: its job's success came first, and one people acted on meanwhile:
    `_acted_on`). A task's failure is decided so also with the tickets of other tasks failing
    alike (`_tasks_failing_alike`: of the same job run, or that counted this task before): the
    tasks of one run failing on one cause are one ticket, which keeps the tasks it counts
    (`_count_failed_tasks`). A ticket that is an occurrence of another is folded into it: its
    occurrences and inbox rows move there (`ticket_folded`) and it is deleted, its id leading to
    that ticket (`FoldedTicket`). This runs before the ticket is analysed or paged
    (`analysis.services.enrich_tickets`): it paged nothing, though ingest's answer and the
    board's live event named it. `links`: the ticket's links with those its run's read gave
    (the run's page, which Databricks' notifications do not name; the ticket's own when
    None): a run counted on another ticket makes its page that ticket's `run` link, as
    ingest counting a notification that named the page would.

    A job that failed because the job run its Run Job task triggered failed (`triggered_run`,
    `TRIGGERED_JOB_RUN`: the run's key and the task) and that run are one failure, whichever
    was notified first: the ticket is decided also with the ticket counting that run's failure
    ("run it triggered"), and also with the ticket whose Run Job task triggered the ticket's
    own run ("run that triggered it": that ticket names the run, so it is found also for a run
    whose own runs/get failed, its `trigger` unknown), each folded as above into the other,
    which then names both jobs (`JOBS_FAILED_TOGETHER`). Tickets still waiting to be settled
    are not among them: the later of the two to settle finds the other.

    Call inside a transaction. The locks are ingest's, in its order: the run's, the
    fingerprint's and the culprit's advisory locks (a ticket whose error was fetched: then its
    job run's failure's and its job's), then the ticket rows (by id). None when
    the ticket stays (or another copy of this work settled it)."""
    job_fingerprint = ticket.details.get(FINGERPRINT_PENDING)
    if not job_fingerprint:
        return None
    entity = ticket.affected_entity
    workspace = str(entity.get("workspace_id", ""))
    event = FailureEvent(
        source=Source(ticket.source),
        processing_mode=ticket.processing_mode,
        kind=EventKind.FAILURE,
        pipeline=ticket.pipeline,
        run_key=ticket.run_id,
        occurrence_key="",
        deployment="" if workspace == "unknown" else workspace,
        unit=str(entity.get("task_key", "")),
        error_message=message,
        resource=entity,
        links=dict(ticket.links if links is None else links),
    )
    fingerprint = classify_and_fingerprint(event)[1] if message else str(job_fingerprint)
    locks = [(_RUN_LOCK, _hash32(ticket.run_id)), (_FINGERPRINT_LOCK, _hash32(fingerprint))]
    if culprit:
        locks.append(incidents.culprit_lock(culprit))
    own_run = _job_run_of(ticket)
    job_run = own_run if message else ""
    if own_run:
        # The lock ingest takes for the run's notifications (`FailureEvent.part_of`): the
        # tickets of two tasks of the run (or of a task and of the job, or of the job that
        # triggered the run: below) settling at once are settled one after the other, so the
        # second finds the first's fingerprint.
        part_of = bounded_key(run_failure_key(own_run), OCCURRENCE_KEY_LIMIT)
        locks.append((_OCCURRENCE_LOCK, _hash32(part_of)))
    triggered_key = str((triggered_run or {}).get("run_key", ""))
    if triggered_key:
        # The lock of the triggered run's notifications and of its ticket's settling (above):
        # that ticket and this one are settled one after the other.
        triggered_of = bounded_key(run_failure_key(triggered_key), OCCURRENCE_KEY_LIMIT)
        locks.append((_OCCURRENCE_LOCK, _hash32(triggered_of)))
    if job_run or triggered_key:
        # Last, as ingest takes it: a task's success of the job (`_resolve`, which takes it
        # before it reads the tickets it ends) landing during a fold of that task's ticket into
        # another task's reads that ticket once it counts the task, not the one deleted; a
        # success of a job whose Run Job task's ticket is folded into its child's, once that
        # ticket ends on it (`_fold_run_failing_together`).
        locks.append((_JOB_LOCK, _hash32(_job_key(ticket.resolve_key))))
    with connection.cursor() as cursor:
        for lock in locks:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", list(lock))
    alike = _tasks_failing_alike(ticket, event, job_run) if job_run else {}
    together = _runs_failing_together(ticket, own_run, triggered_key)
    locked = _lock_with_fold_targets(ticket.pk, fingerprint, {**alike, **together})
    if locked is None:
        return None
    details, status, unresolved, resolved = locked
    now = timezone.now()
    # One resolved already (its job's success came first) stays: folded, its failure would
    # be counted as failing still. So does one people acted on (`_acted_on`, or no longer
    # open): what they did is on it, not on the other ticket.
    foldable = status == Status.OPEN and not _acted_on(ticket.pk)
    if unresolved is not None and foldable:
        if unresolved in together:
            return _fold_run_failing_together(
                ticket, unresolved, together[unresolved], event, culprit, now, triggered_run
            )
        how = alike.get(unresolved, "same fingerprint")
        tasks = _tasks_counted(ticket.pk, job_run, event) if unresolved in alike else []
        folded = _fold(ticket.pk, unresolved, how, event, culprit, now, count_tasks=tasks)
        _mark_triggered_run(unresolved, triggered_run)
        return folded
    if (
        resolved is not None
        and foldable
        and resolved[1] is not None
        and now - resolved[1] <= settings.REGRESSION_WINDOW
    ):
        target = resolved[0]
        if target in together:
            return _fold_run_failing_together(
                ticket,
                target,
                together[target],
                event,
                culprit,
                now,
                triggered_run,
                regression=True,
            )
        tasks = _tasks_counted(ticket.pk, job_run, event) if target in alike else []
        folded = _fold(ticket.pk, target, "regression", event, culprit, now, count_tasks=tasks)
        _end_on_the_regressing_job(target, ticket.resolve_key)
        _mark_triggered_run(target, triggered_run)
        return folded
    details = {name: value for name, value in details.items() if name != FINGERPRINT_PENDING}
    previous = ticket.previous_ticket_id or (resolved[0] if resolved else None)
    Ticket.objects.filter(pk=ticket.pk).update(
        fingerprint=fingerprint, details=details, previous_ticket_id=previous
    )
    ticket.fingerprint, ticket.details, ticket.previous_ticket_id = fingerprint, details, previous
    return None


def _job_run_of(ticket: Ticket) -> str:
    """The key of the job run a Databricks ticket was opened for: a task's run key without its
    `:<task key>`, a job's own notification's run key."""
    if ticket.source != Source.DATABRICKS:
        return ""
    task = str((ticket.affected_entity or {}).get("task_key", ""))
    if not task:
        return ticket.run_id
    return ticket.run_id.removesuffix(f":{task}") if ticket.run_id.endswith(f":{task}") else ""


_RAN_BY_IT, _RAN_IT = "run it triggered", "run that triggered it"


def _runs_failing_together(ticket: Ticket, own_run: str, triggered_key: str) -> dict[str, str]:
    """The settled Databricks tickets whose failure is this one's by a Run Job task, by id, each
    with how: the ticket counting a failure of the job run `triggered_key` this ticket's Run Job
    task triggered (`_RAN_BY_IT`), and a ticket whose Run Job task triggered this ticket's job
    run `own_run` (`_RAN_IT`, its `TRIGGERED_JOB_RUN`)."""
    together: dict[str, str] = {}
    if triggered_key:
        counting = Occurrence.objects.counted_in_run(triggered_key).exclude(ticket_id=ticket.pk)
        for pk in counting.values_list("ticket_id", flat=True).distinct():
            together[pk] = _RAN_BY_IT
    if own_run:
        triggering = Ticket.objects.that_triggered(own_run)
        for pk in triggering.exclude(pk=ticket.pk).values_list("pk", flat=True):
            together[pk] = _RAN_IT
    pending = Ticket.objects.filter(pk__in=list(together), details__has_key=FINGERPRINT_PENDING)
    for pk in pending.values_list("pk", flat=True):
        del together[pk]
    return together


def _fold_run_failing_together(
    ticket: Ticket,
    into: str,
    how: str,
    event: FailureEvent,
    culprit: str,
    now: datetime,
    triggered_run: Mapping[str, str] | None,
    *,
    regression: bool = False,
) -> Folded:
    """The fold of a ticket into the ticket of the job run its Run Job task triggered, or of
    the job run whose Run Job task triggered its run (`_runs_failing_together`): counted there
    as the job's failure (none of the other job's tasks), and that ticket names both jobs
    (`JOBS_FAILED_TOGETHER`). The ticket ends on the success of the job that ran the other,
    whichever was notified first (its run ran the other job's clean), not on that other job's
    success alone: a ticket the child's failure opened takes the recovery key of the parent's
    ticket folded into it."""
    other = Ticket.objects.values("pipeline", "details").get(pk=into)
    if how == _RAN_IT:
        task = (other["details"].get(TRIGGERED_JOB_RUN) or {}).get("task_key", "")
        jobs = {"job": other["pipeline"], "task": task, "ran": ticket.pipeline}
    else:
        task = (triggered_run or {}).get("task_key", "")
        jobs = {"job": ticket.pipeline, "task": task, "ran": other["pipeline"]}
    as_job = dataclasses.replace(event, unit="")
    folded = _fold(ticket.pk, into, "regression" if regression else how, as_job, culprit, now)
    details = Ticket.objects.values_list("details", flat=True).get(pk=into)
    named = [entry for entry in details.get(JOBS_FAILED_TOGETHER) or [] if entry != jobs]
    details[JOBS_FAILED_TOGETHER] = [*named, jobs][-_JOBS_NAMED:]
    ends_on = {"resolve_key": ticket.resolve_key} if how == _RAN_BY_IT else {}
    Ticket.objects.filter(pk=into).update(details=details, **ends_on)
    words = jobs_failed_together_words([jobs])
    lifecycle.announce(into, lifecycle.JOBS_FAILED_TOGETHER, Actor.source(event.source), words)
    return folded


_JOBS_NAMED = 5  # the pairs of jobs failing together a ticket keeps, the latest


def _end_on_the_regressing_job(ticket_id: str, resolve_key: str) -> None:
    """A ticket that ends on another job's success than the one regressing it (a child's
    ticket that took its parent's recovery key, `_fold_run_failing_together`, reopened by a
    run of the child that no run of the parent failed with) ends on the success of the job
    regressing it: the parent, which did not fail this time, may not run again for as long as
    the child fails."""
    Ticket.objects.filter(pk=ticket_id).exclude(
        resolve_key__startswith=f"{_job_key(resolve_key)}{TASK_PART}"
    ).exclude(resolve_key=_job_key(resolve_key)).update(resolve_key=resolve_key)


def _mark_triggered_run(ticket_id: str, triggered_run: Mapping[str, str] | None) -> None:
    """A failure whose Run Job task triggered `triggered_run`, counted on `ticket_id` (another
    run of its job failing alike): the ticket keeps that run as its `TRIGGERED_JOB_RUN`, so
    that run's failure, landing later, is found to be this one."""
    if triggered_run:
        details = Ticket.objects.values_list("details", flat=True).get(pk=ticket_id)
        details[TRIGGERED_JOB_RUN] = dict(triggered_run)
        Ticket.objects.filter(pk=ticket_id).update(details=details)


# After its run key, a task's failure's occurrence key: `<task>[:<task run>]:jobs.on_failure`.
_TASK_FAILURE = re.compile(r"(?P<task>.+?)(?::\d+)?:" + re.escape(FAILURE_EVENT))


def _tasks_counted(ticket_id: str, job_run: str, event: FailureEvent) -> list[str]:
    """The Databricks tasks whose failures of the job run `job_run` the ticket counts (read off
    their occurrence keys, `<run key>:<task>[:<task run>]:jobs.on_failure`; the job's own key,
    `<run key>:jobs.on_failure`, names none), else the task `event` is of."""
    prefix = f"{job_run}:"
    keys = Occurrence.objects.filter(ticket_id=ticket_id, key__startswith=prefix)
    tasks = set()
    for key in keys.values_list("key", flat=True):
        if match := _TASK_FAILURE.fullmatch(key.removeprefix(prefix)):
            tasks.add(match["task"])
    return sorted(tasks) or [task for task in [_databricks_task(event)] if task]


def _tasks_failing_alike(ticket: Ticket, event: FailureEvent, job_run: str) -> dict[str, str]:
    """The settled tickets the failure of the Databricks task `event.unit` (the job's own
    failure when it names none) of the job run `job_run`, its error fetched, fails alike with,
    by id, each with how it is related: a ticket counting a failure of the same run ("same
    run": another task's, or the job's own) or, of a task, one that counted this task failing
    alike before ("same fingerprint"). Alike: the
    fingerprint the failure would have as that ticket's task (its error class and masked
    message the same; a task's fetched message names its task quoted, and quoted text is
    masked) is that ticket's."""
    task = event.unit
    same_run = set(
        Occurrence.objects.counted_in_run(job_run)
        .exclude(ticket_id=ticket.pk)
        .values_list("ticket_id", flat=True)
    )
    related = Q(pk__in=same_run)
    if task:  # the tickets of its job's other tasks that counted it
        related |= Q(
            pk__in=Ticket.objects.filter(
                resolve_key__startswith=f"{_job_key(ticket.resolve_key)}{TASK_PART}",
                details__contains={FAILED_TASKS: [task]},
            ).values("pk")
        )
    candidates = (
        Ticket.objects.filter(related)
        .filter(source=Source.DATABRICKS)
        .exclude(pk=ticket.pk)
        .exclude(details__has_key=FINGERPRINT_PENDING)
        .values_list("pk", "fingerprint", "resolve_key")
    )
    alike = {}
    for pk, fingerprint, resolve_key in candidates:
        own_task = resolve_key.split(TASK_PART, 1)[1] if TASK_PART in resolve_key else ""
        as_its_task = dataclasses.replace(event, unit=own_task)
        if classify_and_fingerprint(as_its_task)[1] == fingerprint:
            alike[pk] = "same run" if pk in same_run else "same fingerprint"
    return alike


_SETTLE_LOCK_ATTEMPTS = 10


class FoldTargetsKeptChanging(RuntimeError):
    """`settle_fingerprint` found its fold targets changed under it on every attempt."""


def _lock_with_fold_targets(
    ticket_id: str, fingerprint: str, alike: Collection[str] = ()
) -> tuple[dict[str, Any], str, str | None, tuple[str, datetime | None] | None] | None:
    """Lock the ticket and those it may be folded into (the latest unresolved ticket of
    `fingerprint` or among `alike`, the latest resolved one), by id: the order every
    multi-ticket lock takes (a job's success ending the job's tickets, `_resolve`), as the
    fold locks both. The
    targets are read again under the locks: one resolved or reopened while this waited (a
    job's success, people) leaves another ticket the target, which this does not hold. Then
    the locks are given back (a savepoint's rollback) and taken again with the new targets,
    not taken out of order. Its details, status and targets; None when it no longer waits
    to be settled (another copy of this work settled it)."""
    others = Ticket.objects.filter(Q(fingerprint=fingerprint) | Q(pk__in=list(alike)))
    others = others.exclude(pk=ticket_id)
    unresolved_of = others.exclude(status=Status.RESOLVED).order_by("-last_seen")
    resolved_of = others.filter(status=Status.RESOLVED).order_by("-resolved_at")
    for _ in range(_SETTLE_LOCK_ATTEMPTS):
        unresolved = unresolved_of.values_list("pk", flat=True).first()
        resolved = resolved_of.values_list("pk", "resolved_at").first()
        targets = {pk for pk in (unresolved, resolved[0] if resolved else None) if pk}
        savepoint = transaction.savepoint()
        rows = {
            pk: (details, status)
            for pk, details, status in Ticket.objects.select_for_update(no_key=True)
            .filter(pk__in=[ticket_id, *targets])
            .order_by("pk")
            .values_list("pk", "details", "status")
        }
        row = rows.get(ticket_id)
        if row is None or FINGERPRINT_PENDING not in row[0]:
            transaction.savepoint_commit(savepoint)
            return None
        unresolved = unresolved_of.values_list("pk", flat=True).first()
        resolved = resolved_of.values_list("pk", "resolved_at").first()
        if {pk for pk in (unresolved, resolved[0] if resolved else None) if pk} <= set(rows):
            transaction.savepoint_commit(savepoint)
            return row[0], row[1], unresolved, resolved
        transaction.savepoint_rollback(savepoint)
    raise FoldTargetsKeptChanging(
        f"ticket {ticket_id}: the tickets of its fingerprint changed under it"
        f" {_SETTLE_LOCK_ATTEMPTS} times while it was settled"
    )


def _acted_on(ticket_id: str) -> bool:
    """Whether people did anything to the ticket (its audit trail names a person, JIRA or
    Slack; a log analysis or a remediation is attached to it)."""
    people = Q(audit_entries__actor_kind__in=[ActorKind.USER, ActorKind.JIRA, ActorKind.SLACK])
    attached = Q(log_analyses__isnull=False) | Q(remediations__isnull=False)
    return Ticket.objects.filter(pk=ticket_id).filter(people | attached).exists()


def _fold(
    ticket_id: str,
    into: str,
    how: str,
    event: FailureEvent,
    culprit: str,
    now: datetime,
    *,
    count_tasks: Sequence[str] = (),
) -> Folded:
    """The fold of `settle_fingerprint` and `settle_run`: the failures counted on `ticket_id`
    (its run's, one per notification or alert of it) are counted on `into`, as ingest would
    have counted them (`count_tasks`: see `_record_recurrence`)."""
    _lock_to_delete(ticket_id)
    instances = Occurrence.objects.filter(ticket_id=ticket_id)
    keys = list(instances.order_by("pk").values_list("key", flat=True))
    event = dataclasses.replace(event, occurrence_key=keys[0] if keys else "")
    count, resolved, _, _, _ = _record_recurrence(
        into, event, how, now, folded_from=ticket_id, count_tasks=count_tasks
    )
    if len(keys) > 1:
        Ticket.objects.filter(pk=into).update(
            occurrence_count=F("occurrence_count") + len(keys) - 1
        )
        count += len(keys) - 1
    outcome = Outcome.CORRELATED
    if resolved:
        incidents.regress(
            into,
            Actor.source(event.source),
            culprit_held=culprit,
            occurrence_key=event.occurrence_key,
            occurrence_count=count,
        )
        outcome = Outcome.REGRESSED
    instances.update(ticket_id=into, outcome=Outcome.CORRELATED)
    if keys:
        Occurrence.objects.assign(keys[0], into, outcome)
    ticket_folded.send(sender=Ticket, ticket_id=ticket_id, into=into, outcome=outcome)
    Ticket.objects.filter(pk=ticket_id).delete()
    FoldedTicket.objects.create(ticket_id=ticket_id, into_id=into, folded_at=now)
    return Folded(into, outcome)


def _lock_to_delete(ticket_id: str) -> None:
    """The lock a fold's delete of the ticket takes, taken before the fold moves its rows: a
    duplicate of its failure whose claim read the ticket (its inbox row naming it) commits
    before the fold moves the ticket's inbox rows, or, its foreign key checked at its commit,
    waits for the fold and finds the ticket gone (ingest runs it again: `_inbox_row_orphaned`
    in integrations/ingest.py). Without it, one committing after the move and before the
    delete had its row unlinked by the delete (`SET_NULL`)."""
    list(Ticket.objects.select_for_update().filter(pk=ticket_id).values_list("pk", flat=True))


def folded_into(ticket_id: str) -> str | None:
    """The ticket `ticket_id` was folded into (`settle_fingerprint`, `settle_run`), if it
    was."""
    return (
        FoldedTicket.objects.filter(ticket_id=ticket_id).values_list("into_id", flat=True).first()
    )


def settle_run(ticket: Ticket, run: Mapping[str, str], culprit: str = "") -> Folded | None:
    """An ADF alert that named no pipeline run (a `PipelineFailedRuns` metric alert counts
    them) opened `ticket` under its own run key; its analysis found the run it reports
    (`run`: its factory, resource group and subscription as they were read, its `run_id` and
    `pipeline`; before the ticket is analysed or paged: `analysis.services.enrich_tickets`).
    When a ticket of that run exists (the ADF webhook's, a log alert's naming the run: its run
    key is the run's; or the ticket of an older run of the pipeline that counted the run's
    failure last, `_ticket_counting_run`), the ticket is folded into it as `settle_fingerprint`
    folds, as one more occurrence of the same run: it pages nothing, its inbox rows and
    occurrences move there (a redelivery of the alert is a duplicate of that ticket), and the
    run it counts there is named as it was read (a rerun of that ticket acting on it names
    it). Into a ticket of the run whose failure is over (resolved: a rerun succeeded, people
    resolved it; or recovered at its source) it is folded as counting nothing
    (`_fold_into_ended_run`): counted, it would reopen that ticket for a failure that is over,
    and left a ticket of its own, it would page for it a second time. A ticket already
    analysed (a forced re-analysis) or acted on (`_acted_on`, or no longer open) is not
    folded. Otherwise, when there is no ticket of the run, the ticket becomes the run's, as
    the ADF webhook's ticket would be: it takes the run's key (the ADF webhook or a log alert
    naming the run that lands later is one more occurrence of it, `candidates_for`'s same run,
    not a ticket of its own; one landing at this moment waits for the run's lock, or this for
    its), its affected entity names the run (what an ADF rerun acts on), it links to the run's
    page in ADF Studio (when it links to no run yet) and its recovery key
    is the run's pipeline's (the pipeline's `Succeeded` webhook ends it). A later run of the
    pipeline that had succeeded when the run was read (`SUCCEEDED_SINCE`) ends it at once,
    resolved at its source as that `Succeeded` would have ended it: landing before the
    ticket took the key, it ended nothing, and the ticket, not paged yet, pages nobody.

    Call inside a transaction. The locks are ingest's, in its order: the run's advisory lock
    (the one a failure naming the run takes with its claim) and the culprit's, then the
    ticket rows (by id). None when the ticket stays."""
    run_key = adf_run_key(run["run_id"]) if run.get("run_id") else ""
    if (
        not run_key
        or ticket.source != Source.AZURE_MONITOR
        or ticket.processing_mode != Source.ADF
        or ticket.run_id == run_key
    ):
        return None
    locks = [(_RUN_LOCK, _hash32(run_key))]
    if culprit:
        locks.append(incidents.culprit_lock(culprit))
    with connection.cursor() as cursor:
        for lock in locks:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", list(lock))
    held = Ticket.objects.filter(run_id=run_key).values_list("pk", flat=True).first()
    if held is None:
        held = _ticket_counting_run(ticket.pipeline, run_key, other_than=ticket.pk)
    rows = {
        pk: (current_run, status, analysed_at, recovered_at)
        for pk, current_run, status, analysed_at, recovered_at in Ticket.objects.select_for_update(
            no_key=True
        )
        .filter(pk__in=[ticket.pk, *([held] if held else [])])
        .order_by("pk")
        .values_list("pk", "run_id", "status", "analysed_at", "resolved_at_source_at")
    }
    row = rows.get(ticket.pk)
    if row is None or row[0] == run_key:
        return None  # another copy of this work folded or keyed it
    # The alert's names stay beside the run's.
    entity = {**ticket.affected_entity, **{name: run[name] for name in _RUN_NAMES if run.get(name)}}
    if held is None:
        taken = {
            "run_id": run_key,
            "affected_entity": entity,
            # Redacted as ingest redacts the webhook's (`integrations.ingest._redacted`).
            "resolve_key": redact(adf_resolve_key(run["factory"], run["pipeline"])),
        }
        studio = adf_studio_run_url(
            run.get("subscription_id", ""),
            run.get("resource_group", ""),
            run["factory"],
            run["run_id"],
        )
        if studio and "run" not in ticket.links:
            taken["links"] = {**ticket.links, "run": redact(studio)}
        Ticket.objects.filter(pk=ticket.pk).update(**taken)
        lifecycle.write_audit(
            ticket,
            Actor.system("analysis"),
            "run found",
            before={name: getattr(ticket, name) for name in taken},
            after=taken,
        )
        for name, value in taken.items():
            setattr(ticket, name, value)
        succeeded = run.get(SUCCEEDED_SINCE, "")
        if succeeded and row[1] != Status.RESOLVED and row[3] is None:
            _end_as_run_succeeded_since(ticket, succeeded)
        return None
    _, status, analysed_at, _ = row
    foldable = status == Status.OPEN and analysed_at is None and not _acted_on(ticket.pk)
    if held not in rows or not foldable:
        return None
    alerts = list(Occurrence.objects.filter(ticket_id=ticket.pk).values_list("key", flat=True))
    _, held_status, _, held_recovered_at = rows[held]
    if held_status == Status.RESOLVED or held_recovered_at is not None:
        return _fold_into_ended_run(ticket.pk, held, alerts, timezone.now())
    event = FailureEvent(
        source=Source.AZURE_MONITOR,
        processing_mode=ticket.processing_mode,
        kind=EventKind.FAILURE,
        pipeline=ticket.pipeline,
        run_key=run_key,
        occurrence_key="",
        resource=entity,
        links=ticket.links,
    )
    folded = _fold(ticket.pk, held, "same run", event, "", timezone.now())
    # Counted on the run's ticket, as no alert of its own: its Resolved ends nothing there
    # (`_folded_into_a_run`), nor is it waited for (`alerts_counted_on`).
    Occurrence.objects.filter(key__in=alerts).update(outcome=FOLDED_ALERT)
    return folded


def _end_as_run_succeeded_since(ticket: Ticket, succeeded: str) -> None:
    """`settle_run`'s alert ticket (locked), whose run's pipeline succeeded again since."""
    _end_at_source_before_paging(
        ticket,
        Source.ADF,
        f"run {succeeded[:200]} of its pipeline succeeded after this run failed, "
        "before the run was found",
    )


def end_as_run_that_did_not_fail(ticket: Ticket, why: str) -> None:
    """A Databricks ticket whose run, read for its error, did not fail (`why`: a user cancelled
    it, or it was skipped): over at its source before anything paged it."""
    _end_at_source_before_paging(ticket, Source.DATABRICKS, why)


def _end_at_source_before_paging(ticket: Ticket, source: str, why: str) -> None:
    """The ticket (its analysis's copy, kept in step) resolved at its source by `source`
    saying `why`, under its row lock, before anything paged it; left alone when it is gone or
    over at its source already."""
    locked = (
        Ticket.objects.select_for_update(no_key=True)
        .defer("embedding")
        .filter(pk=ticket.pk)
        .first()
    )
    if locked is None or locked.resolved_at_source_at is not None:
        return
    actor = Actor.source(source)
    lifecycle.resolve_at_source(locked, actor, details={"pipeline": locked.pipeline, "why": why})
    incidents.record_recovery(locked, actor)
    for name in ("status", "resolved_at", "resolved_by", "resolved_at_source_at"):
        setattr(ticket, name, getattr(locked, name))
    ticket.remediation_status = locked.remediation_status


def _ticket_counting_run(pipeline: str, run_key: str, *, other_than: str) -> str | None:
    """The ticket of the pipeline whose latest failure is the ADF run `run_key`, though it
    holds an older run's key: the run's webhook (or a log alert naming the run) was counted on
    that run's ticket of the same failure while it was open (`candidates_for`'s same
    fingerprint). Served by the ticket's pipeline index."""
    return (
        Ticket.objects.filter(
            pipeline=pipeline, processing_mode=Source.ADF, latest_run__run_key=run_key
        )
        .exclude(pk=other_than)
        .order_by("-timestamp")
        .values_list("pk", flat=True)
        .first()
    )


def _fold_into_ended_run(ticket_id: str, into: str, alerts: list[str], now: datetime) -> Folded:
    """`settle_run`'s fold into a run's ticket whose failure is over (resolved, or recovered
    at its source): the alert reported that failure, which is that ticket's. Its occurrences and
    inbox rows move there, counted as nothing (its delivery a duplicate of that ticket), and the
    ticket is left as it is: neither reopened nor marked failing again."""
    _lock_to_delete(ticket_id)
    Occurrence.objects.filter(key__in=alerts).update(ticket_id=into, outcome=FOLDED_ALERT)
    lifecycle.write_audit(
        Ticket(pk=into),
        Actor.source(Source.AZURE_MONITOR),
        "alert folded",
        details={"how": "same run", "folded_from": ticket_id, "occurrence_keys": alerts[:10]},
    )
    ticket_folded.send(sender=Ticket, ticket_id=ticket_id, into=into, outcome=Outcome.DUPLICATE)
    Ticket.objects.filter(pk=ticket_id).delete()
    FoldedTicket.objects.create(ticket_id=ticket_id, into_id=into, folded_at=now)
    return Folded(into, Outcome.DUPLICATE)


def _keyed_as_stored_before_run_pages(event: FailureEvent) -> FailureEvent:
    """A Databricks notification without `workspace_id` is keyed by the workspace its run page
    names; the release before this one keyed it by workspace "unknown" whatever its page named.
    A run it recorded so keeps its keys: its redelivery after an upgrade is a duplicate (not a
    regression of its resolved ticket, not one more occurrence of its open one), and its tasks'
    failures are counted on it."""
    workspace = event.resource.get("workspace_id", UNKNOWN_WORKSPACE)
    if event.source != Source.DATABRICKS or event.deployment or workspace == UNKNOWN_WORKSPACE:
        return event
    named, unnamed = f"databricks:{workspace}:", f"databricks:{UNKNOWN_WORKSPACE}:"

    def stored_as(key: str) -> str:
        return unnamed + key.removeprefix(named) if key.startswith(named) else key

    keys = {stored_as(key) for key in (event.occurrence_key, event.part_of) if key}
    if not Occurrence.objects.filter(key__in=keys).exists():
        return event
    return dataclasses.replace(
        event,
        run_key=stored_as(event.run_key),
        occurrence_key=stored_as(event.occurrence_key),
        part_of=stored_as(event.part_of),
    )


def record_event(
    event: FailureEvent,
    tracking_id: UUID,
    created_with: Callable[[EventOutcome], models.Model] | None = None,
) -> EventOutcome:
    """Decide what one event does to the tickets. Call inside a transaction.

    `created_with`: for a new ticket, given its outcome, a new row (ingest's inbox row) to
    insert in the ticket's own statement, and saved by it; for any other outcome not called.

    The occurrence claim also takes the advisory locks of a failure's run, fingerprint and
    culprit (in that order) in the same statement, and a duplicate's ticket comes back with it:
    one round trip for the dedup, one for what the failure belongs to (`candidates_for`), and
    for a new ticket one more for the ticket, its audit entry, its occurrence's assignment,
    `created_with`'s row and what its incident placement decides on (a Databricks notification
    whose workspace only its run page names takes one more first:
    `_keyed_as_stored_before_run_pages`)."""
    if event.kind == EventKind.IGNORED:
        return EventOutcome(Outcome.IGNORED)
    event = _keyed_as_stored_before_run_pages(event)
    if event.kind == EventKind.FAILURE and _error_to_be_fetched(event):
        # The job's fingerprint, had its error not been fetchable: what it settles on should
        # the fetch fail (`settle_fingerprint`).
        job_fingerprint = classify_and_fingerprint(event)[1]
        event = dataclasses.replace(
            event, details={**event.details, FINGERPRINT_PENDING: job_fingerprint}
        )
    elif event.kind == EventKind.FAILURE and (page := _unnamed_run_page(event)):
        # A run no read will link (no DATABRICKS_TOKEN, or its notification stated its error):
        # the page DATABRICKS_HOST shows for it, as an analysis that could not read the run
        # links it, so that a run counted on a ticket links its own.
        event = dataclasses.replace(event, links={**event.links, "run": page})
    classified = None
    locks: list[tuple[int, int]] = []
    if event.kind != EventKind.RESOLVED:
        error_type, fingerprint = classify_and_fingerprint(event)
        # The event is redacted (integrations/ingest.py): no culprit key carries a secret.
        # By how it is processed: an ADF failure an alert carried is read as an ADF failure
        # (its culprit is in its error alone, not the Log Analytics workspace the alert
        # queried nor the factory its rows name).
        # A message standing in for an error the alert did not carry (a Databricks notification
        # names only its job, whose name may look like a host) names no culprit: the error the
        # analysis fetches does (`incidents.place_enriched`).
        culprit = (
            None
            if event.details.get("needs_enrichment")
            else extract_culprit(
                event.details.get(ADF_ALERT_ERROR) or event.error_message,
                event.resource,
                source=event.processing_mode,
            )
        )
        classified = _Classified(error_type, fingerprint, culprit)
        # Serialize events racing for the same run or fingerprint, and a new ticket's incident
        # placement on its culprit (always in this order).
        locks = [(_RUN_LOCK, _hash32(event.run_key)), (_FINGERPRINT_LOCK, _hash32(fingerprint))]
        if culprit is not None and culprit.label:
            locks.append(incidents.culprit_lock(culprit.label))
        if rule_key := _rule_key(event):
            # An alert rule's alerts on several resources: placed on the rule after the
            # culprit (`incidents.place`), a regression joining or forming its incident too.
            locks.append(incidents.culprit_lock(rule_key))
        if event.source == Source.AZURE_MONITOR:
            # Its Resolved may be landing at this moment (`_resolve`, `_end_if_recovered_early`).
            locks.append((_OCCURRENCE_LOCK, _hash32(event.occurrence_key)))
        elif event.source == Source.DATABRICKS:
            # A run's own failure and its tasks' may be landing at this moment: serialized on
            # the run's own failure (`FailureEvent.part_of`), so the second finds the first.
            locks.append((_OCCURRENCE_LOCK, _hash32(event.part_of or event.occurrence_key)))
    elif event.recovers_occurrence:
        # Serialized with its Fired, on the Fired's occurrence (their run keys may differ: an
        # ADF failure an alert carries is keyed by its pipeline run).
        locks = [(_OCCURRENCE_LOCK, _hash32(event.recovers_occurrence))]
    if _health_event_at(event) is not None:
        # A health failure and its recovery (a resource's, a Service Health incident's:
        # `_mark_health_recovered`, `_end_if_health_recovered_since`) are serialized on the
        # mark of what they are about.
        locks.append((_OCCURRENCE_LOCK, _hash32(event.resolve_key + _HEALTH_RECOVERED)))
    if _databricks_run_number(event) is not None:
        # Last: a success of the job marking its run (`_resolve`) and a failure of it reading
        # that mark (`_end_if_a_later_run_succeeded`) are serialized.
        locks.append((_JOB_LOCK, _hash32(_job_key(event.resolve_key))))
    claimed, first_ticket_id = Occurrence.objects.claim_or_find(event.occurrence_key, locks)
    if not claimed:
        return EventOutcome(Outcome.DUPLICATE, first_ticket_id)
    # Read once, under the claim's occurrence lock, which an alert's Resolved takes too.
    resolved_first = classified is not None and _resolved_first(event)
    if classified is None:
        outcome = _resolve(event)
    else:
        outcome = _record_failure(event, classified, tracking_id, created_with, resolved_first)
    if outcome.outcome != Outcome.CREATED:  # a created ticket's INSERT assigned it
        Occurrence.objects.assign(event.occurrence_key, outcome.ticket_id, outcome.outcome)
    if resolved_first and outcome.ticket_id:
        # Once assigned: a Fired that regressed the ticket starts the failure whose alerts
        # are waited for (`alerts_counted_on`), not the one before it.
        _end_if_recovered_early(event, outcome.ticket_id)
    if classified is not None and outcome.outcome in (Outcome.CREATED, Outcome.REGRESSED):
        _end_if_a_later_run_succeeded(event, outcome.ticket_id)
        _end_if_health_recovered_since(event, outcome.ticket_id)
    return outcome


def _resolve(event: FailureEvent) -> EventOutcome:
    """The source says it is over: end every failure this recovery is the recovery of. An
    Azure alert's Resolved ends its ticket only once no other alert counted on it still fires
    (`_alerts_still_firing`), and never the ticket of an ADF run it was folded into
    (`_folded_into_a_run`); an Airflow task's success, only when its run is not older than
    a failed run of the ticket's it knows (`_newer_failed_run`), and a mapped task's, only
    when it is of the last instance counted on the ticket still failing
    (`_instances_still_failing`)."""
    run = _databricks_run_number(event)
    if run is not None:
        _mark_run_succeeded(event.resolve_key, run)
    if (recovered_at := _health_event_at(event)) is not None:
        _mark_health_recovered(event.resolve_key, recovered_at)
    # An ADF alert's Fired counted before an upgrade keyed it by the run's failure: the key
    # it was counted by then.
    fired = event.details.get(FIRED_BY_ALERT_ID) if event.recovers_occurrence else None
    fired_by_alert_id = fired if isinstance(fired, str) else ""
    if event.recovers_occurrence:
        # Marked before the tickets are locked: the Resolved of another alert of the same
        # ticket, waiting for its lock, reads this mark once it has it. Azure does not promise
        # order either: a Fired landing after its own Resolved ends the moment it lands
        # (`_end_if_recovered_early`).
        Occurrence.objects.claim(_alert_resolved_key(event.recovers_occurrence))
        if fired_by_alert_id:
            Occurrence.objects.claim(_alert_resolved_key(fired_by_alert_id))
    recovered = Ticket.objects.recovered_by(event.resolve_key, event.recovers_occurrence)
    if fired_by_alert_id:
        # The ticket that Fired was counted on: its own, or another alert's of the same run.
        recovered |= Ticket.objects.recovered_by(event.resolve_key, fired_by_alert_id)
    if legacy_key := instance_resolve_key(event):
        # The ticket a release before this one opened for this mapped instance alone.
        recovered |= Ticket.objects.recovered_by(legacy_key)
    task = _databricks_task(event)
    if task:
        # The ticket of another task of its job that counts this task failing alike.
        recovered |= Ticket.objects.recovered_by(_job_key(event.resolve_key)).filter(
            details__contains={FAILING_TASKS: [task]}
        )
    # Locked by id, the order every multi-ticket lock takes (`incidents.lock_with_members`): a
    # job's success can end several members of one incident at once.
    tickets = sorted(
        recovered.order_by("pk").select_for_update(no_key=True).defer("embedding"),
        key=lambda ticket: ticket.timestamp,
        reverse=True,
    )
    # Each member's recovery updates its incident: tickets of several incidents take those
    # by id first, as their tickets were (a timestamp order would cross another recovery's).
    incidents.lock_incidents(ticket.incident_id for ticket in tickets if ticket.incident_id)
    if not tickets:
        return EventOutcome(Outcome.IGNORED, _record_update_of_an_ended_incident(event))
    actor = Actor.source(event.source)
    folded_alert = _folded_into_a_run(event, tickets)
    map_index = map_index_of(event)
    ended = []
    # The tickets the recovery changed without ending them (audited as kept open): the answer
    # names the first, not a ticket of the same recovery key it did not touch (a mapped
    # task's instances failing with another error are a ticket of their own).
    kept_open = []
    for ticket in tickets:
        # What keeps the ticket open after this recovery, audited as such.
        kept: tuple[str, dict[str, Any]] | None = None
        was_failing = _map_indexes((ticket.details or {}).get(FAILING_MAP_INDEXES))
        tasks_were_failing = _task_keys((ticket.details or {}).get(FAILING_TASKS))
        if newer_run := _newer_failed_run(event, ticket):
            kept = ("older run recovered", {"still_failed": newer_run})
        elif firing := _alerts_still_firing(ticket.pk, event.recovers_occurrence):
            kept = ("alert resolved", {"alerts_still_firing": firing})
        elif folded_alert:
            kept = ("alert resolved", {"run_not_recovered": ticket.run_id})
        elif failing := _instances_still_failing(ticket, map_index):
            if map_index not in was_failing:
                continue  # an instance that was not failing: nothing of the ticket changed
            kept = (
                "mapped instance recovered",
                {"map_index": map_index, "instances_still_failing": len(failing)},
            )
        elif tasks_failing := _tasks_still_failing(ticket, task):
            if task not in tasks_were_failing:
                continue  # a task whose failure is not counted as failing: nothing changed
            kept = (
                "task recovered",
                {"task_key": task, "tasks_still_failing": tasks_failing},
            )
        if kept is not None:
            action, details = kept
            lifecycle.write_audit(
                ticket, actor, action, details={"occurrence_key": event.occurrence_key, **details}
            )
            # An open ticket page reads its parts still failing again (ticket.js).
            lifecycle.tell(ticket.pk, action, actor)
            kept_open.append(ticket)
            continue
        lifecycle.resolve_at_source(
            ticket,
            actor,
            details={"occurrence_key": event.occurrence_key, "pipeline": event.pipeline},
        )
        incidents.record_recovery(ticket, actor)
        ended.append(ticket)
    if not ended:
        # Nothing changed (a success of an instance or task no ticket counts as failing):
        # no ticket is named.
        return EventOutcome(Outcome.IGNORED, kept_open[0].pk if kept_open else None)
    return EventOutcome(Outcome.RESOLVED, ended[0].pk)


# How much of a Service Health update's account a `source update` audit entry keeps.
_UPDATE_LIMIT = 4_000


def _record_update_of_an_ended_incident(event: FailureEvent) -> str | None:
    """A Service Health update in a closing stage delivered once its incident's ticket was
    ended at its source (Azure's post-incident review, stage RCA, published days after the
    Resolved; a second Resolved): recorded on that ticket (audit `source update`, its stage
    and what it says), whose id the answer names. None for any other recovery that ends
    nothing."""
    details = event.details
    if (
        event.source != Source.AZURE_MONITOR
        or details.get("alert_kind") != "service_health"
        or not details.get("tracking_id")
    ):
        return None
    ticket = Ticket.objects.defer("embedding").filter(run_id=event.run_key).first()
    if ticket is None:
        return None
    actor = Actor.source(event.source)
    lifecycle.write_audit(
        ticket,
        actor,
        "source update",
        details={
            "occurrence_key": event.occurrence_key,
            "stage": str(details.get("stage", "")),
            "update": event.error_message[:_UPDATE_LIMIT],
        },
    )
    lifecycle.tell(ticket.pk, "source update", actor)
    return ticket.pk


# A part of a pipeline a ticket counts failing: a mapped instance's index, a task's key.
_Part = TypeVar("_Part", int, str)


def _map_indexes(value: object) -> list[int]:
    """A `FAILED_MAP_INDEXES` or `FAILING_MAP_INDEXES` list as stored; [] for none."""
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, int) and not isinstance(item, bool)]


def _mapped_instance_details(map_index: int) -> dict[str, list[int]]:
    return {FAILED_MAP_INDEXES: [map_index], FAILING_MAP_INDEXES: [map_index]}


def _count_failed_instance(ticket_id: str, map_index: int, *, anew: bool) -> None:
    """Count the mapped instance `map_index` as failed on the ticket (locked by
    `record_recurrence`, in this transaction), and as failing until its success comes.
    `anew`: the failure reopens the ticket (it was resolved, or recovered at its source), whose
    instances counted before it are over."""
    tickets = Ticket.objects.filter(pk=ticket_id)
    details = tickets.values_list("details", flat=True).get() or {}
    if anew:
        counted = _mapped_instance_details(map_index)
    else:
        counted = {
            key: sorted({*_map_indexes(details.get(key)), map_index})
            for key in (FAILED_MAP_INDEXES, FAILING_MAP_INDEXES)
        }
    tickets.update(details={**details, **counted})


def _instances_still_failing(ticket: Ticket, map_index: int | None) -> list[int] | None:
    """The mapped instances counted on the ticket whose success has not come, once the success
    of instance `map_index` is counted (kept on the ticket, which `_resolve` holds locked);
    None when the ticket keeps no such list (one opened before mapped instances shared a
    ticket, or by a task that is not mapped) or the success is not a mapped instance's: the
    success then ends the ticket as any task's does."""
    if map_index is None:
        return None
    return _take_off_failing(ticket, FAILING_MAP_INDEXES, map_index, _map_indexes)


def _take_off_failing(
    ticket: Ticket, key: str, part: _Part, read: Callable[[object], list[_Part]]
) -> list[_Part] | None:
    """The parts (mapped instances, tasks) listed under `key` in the ticket's details, `part`
    taken off them and stored when it was there; None when the ticket keeps no such list."""
    details = ticket.details or {}
    if key not in details:
        return None
    failing = read(details.get(key))
    if part in failing:
        failing.remove(part)
        ticket.details = {**details, key: failing}
        Ticket.objects.filter(pk=ticket.pk).update(details=ticket.details)
    return failing


def _databricks_task(event: FailureEvent) -> str:
    """The task key of a Databricks task's notification; '' for a job's, or another source."""
    return event.unit if event.source == Source.DATABRICKS else ""


def _task_keys(value: object) -> list[str]:
    """A `FAILED_TASKS` or `FAILING_TASKS` list as stored; [] for none."""
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str)]


def _count_failed_tasks(ticket_id: str, tasks: list[str], *, anew: bool, start: bool) -> None:
    """Count the Databricks `tasks` as failed on the ticket of a task (locked by
    `record_recurrence`, in this transaction), and as failing until their success comes, when
    the ticket keeps the tasks it counts, or is to from now on (`start`: other tasks of a run
    it counts failed alike, `settle_fingerprint`), its own task among them. The ticket of a
    job's own notification keeps none: the job's success ends it. `anew`: the failure reopens
    the ticket, whose failures counted before it are over."""
    tickets = Ticket.objects.filter(pk=ticket_id)
    details, resolve_key = tickets.values_list("details", "resolve_key").get()
    details = details or {}
    if TASK_PART not in resolve_key or (not start and FAILED_TASKS not in details):
        return
    own = [resolve_key.split(TASK_PART, 1)[1]] if FAILED_TASKS not in details else []
    counted = {
        key: sorted({*([] if anew else [*own, *_task_keys(details.get(key))]), *tasks})
        for key in (FAILED_TASKS, FAILING_TASKS)
    }
    tickets.update(details={**details, **counted})


def _tasks_still_failing(ticket: Ticket, task: str) -> list[str] | None:
    """The Databricks tasks counted on the ticket whose success has not come, once the success
    of task `task` is counted (kept on the ticket, which `_resolve` holds locked); None when the
    ticket keeps no such list (one task's ticket, or a job's) or the success is a job's: the
    success then ends the ticket as before."""
    if not task:
        return None
    return _take_off_failing(ticket, FAILING_TASKS, task, _task_keys)


def _newer_failed_run(event: FailureEvent, ticket: Ticket) -> str:
    """The run id of a failed Airflow run of the ticket with a later logical date than the
    succeeded run's (a backfill, or an old run cleared while today's still fails), whose
    success recovers nothing of it; '' otherwise, also when a date is unknown. The failed
    runs it knows: the latest counted, the one that opened the ticket unless the ticket
    regressed since (a backfill failing after today's run is the latest), and the one with the
    latest logical date of the others (`NEWEST_FAILED_RUN`: a run neither first nor latest,
    today's between two backfills)."""
    if event.source != Source.AIRFLOW:
        return ""
    succeeded = _logical_date(event.resource.get("logical_date"))
    if succeeded is None:
        return ""
    failed_runs = [(ticket.run_id, ticket.affected_entity or {})]
    latest = ticket.latest_run or {}
    if latest.get("run_key") and latest["run_key"] != ticket.run_id:
        latest_run = (str(latest["run_key"]), latest.get("entity") or {})
        failed_runs = [latest_run] if ticket.regressed_at else [latest_run, *failed_runs]
    newest = (ticket.details or {}).get(NEWEST_FAILED_RUN)
    if isinstance(newest, dict) and newest.get("run_key"):
        failed_runs.append((str(newest["run_key"]), newest))
    for run_key, entity in failed_runs:
        failed = _logical_date(entity.get("logical_date"))
        if run_key != event.run_key and failed is not None and succeeded < failed:
            return str(entity.get("run_id") or run_key)
    return ""


def _folded_into_a_run(event: FailureEvent, tickets: list[Ticket]) -> bool:
    """The Resolved of an Azure alert whose ticket was folded into the ticket of the ADF
    pipeline run its analysis found (`settle_run`): the alert named no run (a
    `PipelineFailedRuns` metric alert), and its Resolved says its count fell back under its
    threshold, nothing of that run, whose ticket ends as it would have without the alert
    (the pipeline's success, a Resolved of a log alert naming the run, people). Asked only
    when one of the `tickets` it found is a run's (keyed by its ADF run)."""
    runs = adf_run_key("")
    return (
        bool(event.recovers_occurrence)
        and any(ticket.run_id.startswith(runs) for ticket in tickets)
        and Occurrence.objects.filter(key=event.recovers_occurrence, outcome=FOLDED_ALERT).exists()
    )


def _dated_failed_run(event: FailureEvent) -> dict[str, str] | None:
    """An Airflow failure's run as `NEWEST_FAILED_RUN` keeps it; None without a logical date."""
    if event.source != Source.AIRFLOW:
        return None
    logical = _logical_date(event.resource.get("logical_date"))
    if logical is None:
        return None
    run_id = str(event.resource.get("run_id") or event.run_key)
    return {"run_key": event.run_key, "run_id": run_id, "logical_date": logical.isoformat()}


def _logical_date(value: object) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
    if parsed is not None and parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed


_MARK_PREFIX = "recovered-early:"


def _alert_resolved_key(occurrence_key: str) -> str:
    """The mark an Azure alert's Resolved leaves for its Fired's occurrence (the prefix is
    from when only a Resolved that came first left one). `_alert_resolved_key_sql` is the
    same, in SQL."""
    return _MARK_PREFIX + hashlib.sha256(occurrence_key.encode()).hexdigest()


def _alert_resolved_key_sql(occurrence_key: F) -> Func:
    """`_alert_resolved_key` of a column, in SQL: the SHA-256 of its UTF-8 bytes, in lower-case
    hex (PostgreSQL's built-in `sha256()`, as migration tickets/0029 marks them)."""
    digest = Func(
        occurrence_key,
        template="encode(sha256(convert_to(%(expressions)s, 'UTF8')), 'hex')",
        output_field=TextField(),
    )
    return Concat(Value(_MARK_PREFIX), digest, output_field=TextField())


def _alerts_still_firing(ticket_id: str, resolved_occurrence: str) -> int:
    """How many Azure alerts counted on the ticket since it last regressed, other than the
    one whose Resolved is at hand, have had no Resolved. One rule split by a dimension the
    fingerprint leaves out (a pod, a container: `FailureEvent.subject`) fires an alert per
    value onto one ticket, and the first pod's Resolved must not end it while the others
    still fail. Only a recovery naming its Fired (the common alert schema's) asks, and only
    those alerts are waited for (`alerts_counted_on`); 0 for any other. A Resolved that never
    comes (Azure gave up delivering it) keeps the ticket open until people resolve it.

    One statement whatever the number of alerts: each alert's mark is looked up by the
    unique key index (an anti-join in the database), none is read into Python."""
    if not resolved_occurrence:
        return 0
    marked = Occurrence.objects.filter(key=_alert_resolved_key_sql(OuterRef("key")))
    alerts = Occurrence.objects.alerts_counted_on(ticket_id).exclude(key=resolved_occurrence)
    return alerts.filter(~Exists(marked)).count()


def _resolved_first(event: FailureEvent) -> bool:
    """Whether an alert's Resolved came before this Fired (`_resolve` left its mark)."""
    return (
        event.source == Source.AZURE_MONITOR
        and Occurrence.objects.filter(key=_alert_resolved_key(event.occurrence_key)).exists()
    )


def _end_if_recovered_early(event: FailureEvent, ticket_id: str) -> None:
    """An alert whose Resolved came first (`_resolve`, `_resolved_first`) ends the ticket it
    was recorded on, unless another alert counted on it still fires."""
    if _alerts_still_firing(ticket_id, event.occurrence_key):
        return
    ticket = Ticket.objects.select_for_update(no_key=True).defer("embedding").get(pk=ticket_id)
    lifecycle.resolve_at_source(
        ticket,
        Actor.source(event.source),
        details={"occurrence_key": event.occurrence_key, "why": "its Resolved arrived first"},
    )
    incidents.record_recovery(ticket, Actor.source(event.source))


# A Databricks job's (or task's) latest run that succeeded: one Occurrence row per recovery
# key, `<resolve key>#succeeded-run:<run id>` (a recovery key starts with "databricks:", so
# `occurrence_databricks_key` finds it by its prefix).
_SUCCEEDED_RUN = "#succeeded-run:"


def _databricks_run_number(event: FailureEvent) -> int | None:
    """A Databricks notification's job run id as a number (Databricks numbers its runs as it
    creates them: a higher id is a later run), None for another source, an id that is not
    a number, or a notification naming no workspace (nothing to order the job's runs by: the
    ids of two workspaces' runs, both keyed by workspace "unknown", are not of one sequence)."""
    if event.source != Source.DATABRICKS or event.kind == EventKind.IGNORED:
        return None
    if event.resource.get("workspace_id", UNKNOWN_WORKSPACE) == UNKNOWN_WORKSPACE:
        return None
    run_id = str(event.resource.get("run_id", ""))
    return int(run_id) if run_id.isascii() and run_id.isdigit() and len(run_id) <= 20 else None


def _job_key(resolve_key: str) -> str:
    return resolve_key.split(TASK_PART, 1)[0]


def _succeeded_runs(resolve_key: str) -> dict[str, int]:
    """The marks of `resolve_key`'s latest successful run: key -> run id (one, or a few while
    a success replaces them)."""
    prefix = f"{resolve_key}{_SUCCEEDED_RUN}"
    marks = Occurrence.objects.filter(key__startswith=prefix)
    # The condition of the index that serves the prefix (`occurrence_databricks_key`).
    keys = marks.filter(key__startswith="databricks:").values_list("key", flat=True)
    # A task key or job id is the sender's text: one that extends `resolve_key` past the
    # prefix (task "t#succeeded-run:1" of task "t") marks runs of its own.
    runs = {key: key.removeprefix(prefix) for key in keys}
    return {key: int(run) for key, run in runs.items() if run.isascii() and run.isdigit()}


def _mark_run_succeeded(resolve_key: str, run: int) -> None:
    """Remember the latest run of the job (or task) that succeeded, so that a failure of an
    older run delivered after it ends as it lands (`_end_if_a_later_run_succeeded`). Under the
    job's advisory lock (`record_event`): one mark per key, replaced by a later run's."""
    marks = _succeeded_runs(resolve_key)
    latest = max([run, *marks.values()])
    Occurrence.objects.claim(f"{resolve_key}{_SUCCEEDED_RUN}{latest}")
    stale = [key for key, marked in marks.items() if marked != latest]
    if stale:
        Occurrence.objects.filter(key__in=stale).delete()


def _end_if_a_later_run_succeeded(event: FailureEvent, ticket_id: str | None) -> None:
    """A Databricks failure of a run older than (or the same as: a repaired run) one of its
    job whose success was recorded first (Databricks does not promise order): the success
    found nothing to resolve, so the ticket this failure opened, or reopened as a regression,
    is resolved at its source as it lands, as an Azure alert's Fired landing after its
    Resolved is. A task's failure is ended by its task's success or its job's; a job's only by
    the job's. Only a ticket this failure alone made open: one it was counted on while open
    fails for other runs too. The failure of a repair of the run (`REPAIR_ID`) was the run's
    attempt that ended last when it was read (`integrations/repaired_runs.py`): a success of
    the same run was an earlier attempt's, and only a later run's ends it."""
    run = _databricks_run_number(event)
    if run is None or ticket_id is None:
        return
    succeeded = {
        **_succeeded_runs(event.resolve_key),
        **_succeeded_runs(_job_key(event.resolve_key)),
    }
    later = max(succeeded.values(), default=None)
    if later is None or later < run or (later == run and REPAIR_ID in event.details):
        return
    ticket = Ticket.objects.select_for_update(no_key=True).defer("embedding").get(pk=ticket_id)
    if ticket.resolved_at_source_at is not None:
        return
    actor = Actor.source(event.source)
    lifecycle.resolve_at_source(
        ticket,
        actor,
        details={
            "occurrence_key": event.occurrence_key,
            "why": f"run {later} of its job succeeded, delivered before this failure of run {run}",
        },
    )
    incidents.record_recovery(ticket, actor)


# A resource's latest health recovery (Resource Health `Available`, or its health event
# resolved), or a Service Health incident's latest update in a closing stage (Resolved, RCA...):
# one Occurrence row per health recovery key, `<resolve key>#available`, whose `seen_at` is when
# the health event that reported it happened, not when it was delivered.
_HEALTH_RECOVERED = "#available"


def _health_event_at(event: FailureEvent) -> datetime | None:
    """When a Resource Health or Service Health event happened (`HEALTH_EVENT_AT`, set by the
    Azure Monitor parser); None for any other event, or one whose time was not given."""
    if event.source != Source.AZURE_MONITOR or event.kind == EventKind.IGNORED:
        return None
    stated = event.details.get(HEALTH_EVENT_AT)
    if not isinstance(stated, str):
        return None
    try:
        return datetime.fromisoformat(stated)
    except ValueError:
        return None


def _mark_health_recovered(resolve_key: str, recovered_at: datetime) -> None:
    """Remember the time of the latest recovery under `resolve_key` (a resource's, a Service
    Health incident's), so that a health failure that happened before it and is delivered
    after it ends as it lands (`_end_if_health_recovered_since`). Under the mark's advisory
    lock (`record_event`)."""
    mark = resolve_key + _HEALTH_RECOVERED
    if Occurrence.objects.claim(mark):
        Occurrence.objects.filter(key=mark).update(seen_at=recovered_at)
    else:
        Occurrence.objects.filter(key=mark, seen_at__lt=recovered_at).update(seen_at=recovered_at)


def _end_if_health_recovered_since(event: FailureEvent, ticket_id: str | None) -> None:
    """A Resource Health failure (Unavailable, Degraded, Unknown) that happened before the
    resource's recovery (`Available`) delivered first, or a Service Health update (Active)
    published before its incident's closing update (Resolved, RCA...) delivered first: that
    recovery found nothing to resolve, or resolved the ticket this older step now reopened.
    The ticket this failure opened, or reopened as a regression, is resolved at its source as
    it lands, before anything pages it. A failure that happened after the recovery is a new
    outage and stays; so does one whose time is not given, or the same as the recovery's
    (their order is not known)."""
    happened = _health_event_at(event)
    if happened is None or ticket_id is None:
        return
    recovered_at = (
        Occurrence.objects.filter(key=event.resolve_key + _HEALTH_RECOVERED)
        .values_list("seen_at", flat=True)
        .first()
    )
    if recovered_at is None or recovered_at <= happened:
        return
    ticket = Ticket.objects.select_for_update(no_key=True).defer("embedding").get(pk=ticket_id)
    if ticket.resolved_at_source_at is not None:
        return
    actor = Actor.source(event.source)
    lifecycle.resolve_at_source(
        ticket,
        actor,
        details={
            "occurrence_key": event.occurrence_key,
            "why": (
                f"{_recovered_as(event)} at {utc_text(recovered_at)}, after this "
                f"health event of {utc_text(happened)}, and that report was delivered first"
            ),
        },
    )
    incidents.record_recovery(ticket, actor)


def _recovered_as(event: FailureEvent) -> str:
    if event.details.get("alert_kind") == "service_health":
        return "the Service Health incident was reported over"
    return "the resource was reported available"


def _ticket_of_the_same_run(event: FailureEvent) -> AttachTarget | None:
    """A Databricks task's notification after its job run's own, or the job's after its
    task's: the ticket the other one was counted on."""
    if event.part_of:
        whole_run = event.run_key.removesuffix(f":{event.unit}")
        return Ticket.objects.counting_run_failure(event.part_of, whole_run, event.run_key)
    if event.source == Source.DATABRICKS and not event.unit:
        return Ticket.objects.task_of_run(event.run_key)
    return None


def _other_error_of_the_same_task(
    event: FailureEvent, target: AttachTarget, classified: _Classified
) -> str:
    """The error class of a later try of an Airflow task that failed otherwise than the try
    its ticket keeps (a rerun after a fix failing on something else), or of another activity
    (or ForEach iteration) of an ADF pipeline run failing otherwise than the one its ticket
    keeps; '' when it failed alike: the ticket keeps its first error and analysis, and the
    audit entry of the failure names its own error. Read off `candidates_for`'s row, not asked
    again."""
    if (
        event.source not in (Source.AIRFLOW, Source.ADF)
        or target.how != "same run"
        or target.same_fingerprint
    ):
        return ""
    return classified.error_type


def _rule_key(event: FailureEvent) -> str:
    """The alert rule an Azure alert's incident placement groups on (`incidents.rule_group_key`)."""
    return incidents.rule_group_key_of(
        event.source, event.processing_mode, event.run_key, event.details, event.resource
    )


def _culprit_label(classified: _Classified) -> str:
    """The culprit whose advisory lock `record_event` took with the claim ('' for none)."""
    return classified.culprit.label if classified.culprit is not None else ""


def _joinable(
    event: FailureEvent, classified: _Classified, resolved_first: bool
) -> tuple[str, str]:
    """The culprit and the alert rule whose incident a regression may join or form
    (`incidents.regress`: those whose locks `record_event` took); neither for an alert whose
    Resolved came first (`_resolved_first`): it is over at once (`_end_if_recovered_early`)
    and joins no incident, as a new ticket of it forms none."""
    if resolved_first:
        return "", ""
    return _culprit_label(classified), _rule_key(event)


def _record_failure(
    event: FailureEvent,
    classified: _Classified,
    tracking_id: UUID,
    created_with: Callable[[EventOutcome], models.Model] | None,
    resolved_first: bool,
) -> EventOutcome:
    """Under the run, fingerprint and culprit locks `record_event` took with the claim;
    `resolved_first`: an alert whose Resolved came before it (`_resolved_first`)."""
    now = timezone.now()
    fingerprint = classified.fingerprint
    target, earlier = Ticket.objects.candidates_for(event.run_key, fingerprint)
    if target is None or target.how != "same run":
        # One run, one ticket, ahead of the same fingerprint (another run's ticket).
        target = _ticket_of_the_same_run(event) or target
    if target is not None:
        # The same run again (an Airflow retry, a re-fired alert), or the same failure while
        # its ticket is open, in progress or acknowledged, however long ago it started.
        count, resolved, remediation_status, new_run, reopens = _record_recurrence(
            target.ticket_id,
            event,
            target.how,
            now,
            other_error=_other_error_of_the_same_task(event, target, classified),
        )
        # Its status as the recurrence locked it, not as `candidates_for` read it: a resolve
        # (an Azure ticket's last alert's Resolved, a responder's) committing in between
        # would leave this failure counted on a resolved ticket, paging nobody.
        if resolved:
            # The same run failing again after its ticket was resolved, or the same failure
            # after its ticket was resolved while this one was being recorded.
            culprit_held, rule_held = _joinable(event, classified, resolved_first)
            incidents.regress(
                target.ticket_id,
                Actor.source(event.source),
                culprit_held=culprit_held,
                occurrence_key=event.occurrence_key,
                occurrence_count=count,
                rule_held=rule_held,
            )
            return EventOutcome(Outcome.REGRESSED, target.ticket_id)
        return EventOutcome(
            Outcome.CORRELATED,
            target.ticket_id,
            remediation_status=remediation_status,
            new_run=new_run,
            reopens_incident=reopens,
        )

    if (
        earlier is not None
        and earlier.resolved_at is not None
        and now - earlier.resolved_at <= settings.REGRESSION_WINDOW
    ):
        count, resolved, remediation_status, new_run, reopens = _record_recurrence(
            earlier.ticket_id, event, "regression", now
        )
        if not resolved:
            # Read resolved, reopened before this had its lock: regressing it again would
            # undo what people did since (an acknowledgement, its SLA clock).
            return EventOutcome(
                Outcome.CORRELATED,
                earlier.ticket_id,
                remediation_status=remediation_status,
                new_run=new_run,
                reopens_incident=reopens,
            )
        culprit_held, rule_held = _joinable(event, classified, resolved_first)
        incidents.regress(
            earlier.ticket_id,
            Actor.source(event.source),
            culprit_held=culprit_held,
            occurrence_key=event.occurrence_key,
            occurrence_count=count,
            rule_held=rule_held,
        )
        return EventOutcome(Outcome.REGRESSED, earlier.ticket_id)

    rule = rules.matching_suppression(event.source, event.pipeline, now)
    if rule is not None:
        SuppressionRule.objects.filter(pk=rule.pk).update(hit_count=F("hit_count") + 1)
        return EventOutcome(Outcome.SUPPRESSED, suppressed_by=rule)

    ticket, placement = _create_ticket(
        event, classified, tracking_id, now, earlier.ticket_id if earlier else None, created_with
    )
    if not resolved_first:
        # One whose Resolved came first is over at once (`_end_if_recovered_early`): it joins
        # or forms no incident, as a ticket over before is left out of one.
        incidents.place(ticket, now, placement=placement)
    return EventOutcome(Outcome.CREATED, ticket.pk)


def _create_ticket(
    event: FailureEvent,
    classified: _Classified,
    tracking_id: UUID,
    now: datetime,
    earlier_id: str | None,
    created_with: Callable[[EventOutcome], models.Model] | None,
) -> tuple[Ticket, tuple[str | None, int] | None]:
    """The ticket, its first audit entry, its occurrence's assignment and `created_with`'s row
    in one statement, which also reads what `incidents.place` decides on when the ticket has a
    group key (the culprit's lock was taken with the claim, so that read sees every committed
    placement)."""
    error_type, fingerprint, culprit = (
        classified.error_type,
        classified.fingerprint,
        classified.culprit,
    )
    severity = rules.severity_for(
        event.severity_hint,
        error_type,
        # An Azure alert that is no pipeline failure (an ADF one's mode is "adf").
        stated_is_final=event.processing_mode == Source.AZURE_MONITOR,
    )
    priority = rules.priority_for(severity)
    sla_seconds = rules.sla_seconds_for(priority)
    owner = rules.resolve_ownership(
        event.source, event.pipeline, rules.declared_owner(event.source, event.details)
    )
    culprit_label = culprit.label if culprit else ""
    ticket = Ticket(
        id=new_ticket_id(event.processing_mode, now),
        timestamp=now,
        pipeline=event.pipeline,
        run_id=event.run_key,
        severity=severity,
        priority=priority,
        error_type=error_type,
        affected_entity=event.resource,
        sla_seconds=sla_seconds,
        sla_deadline=(
            now + timedelta(seconds=sla_seconds)
            if lifecycle.runs_sla_clock(event.details)
            else None
        ),
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
        details=(
            event.details
            if (map_index := map_index_of(event)) is None
            else {**event.details, **_mapped_instance_details(map_index)}
        ),
        tracking_id=tracking_id,
        resolve_key=event.resolve_key,
        previous_ticket_id=earlier_id,
        culprit=culprit_label,
        culprit_detail=culprit.detail[:200] if culprit else "",
        group_key=incidents.group_key_for(culprit_label, error_type, event.source),
    )
    created_details = {"tracking_id": str(tracking_id), "error_type": error_type}
    if earlier_id is not None:
        created_details["seen_before"] = earlier_id
    audit = lifecycle.audit_entry(
        ticket,
        Actor.source(event.source),
        "created",
        after={"status": ticket.status, "severity": severity, "priority": priority},
        details=created_details,
    )
    if ticket.group_key:
        select, select_params = incidents.placement_query(ticket, now)
    else:
        select, select_params = "SELECT NULL, 0", []
    created_row = created_with(EventOutcome(Outcome.CREATED, ticket.pk)) if created_with else None
    if created_row is not None:
        row_insert, row_params = (
            f", created_row AS ({row_insert_returning_pk_sql(type(created_row))})",
            [row_json(created_row)],
        )
        row_pk_sql = "(SELECT pk FROM created_row)"
    else:
        row_insert, row_params, row_pk_sql = "", [], "NULL"
    # Data-modifying WITH parts all run to completion; the SELECT does not see their rows
    # (one snapshot), and it needs none of them (the created row's key comes by RETURNING).
    with prepared_cursor() as cursor:
        cursor.execute(
            f"WITH ticket AS ({row_insert_sql(Ticket)}), audit AS ({row_insert_sql(AuditLog)}),"
            f" occurrence AS (UPDATE {Occurrence._meta.db_table} SET ticket_id = %s,"
            f" outcome = %s WHERE key = %s){row_insert}"
            f" SELECT placement.*, {row_pk_sql} FROM ({select}) AS placement(incident, pipelines)",
            [
                row_json(ticket),
                row_json(audit),
                *(ticket.pk, Outcome.CREATED, event.occurrence_key),
                *row_params,
                *select_params,
            ],
        )
        incident_id, pipelines, row_pk = cursor.fetchone()
    placement = (incident_id, pipelines) if ticket.group_key else None
    inserted(ticket)
    inserted(audit)
    if created_row is not None:
        inserted(created_row, row_pk)
    lifecycle.announce(ticket.pk, "created", Actor.source(event.source))
    return ticket, placement
