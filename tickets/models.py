"""The ticket domain's tables: Ticket, Occurrence, AuditLog, Resolution (what fixed a failure),
the rules staff edit in admin (OwnershipRule, SuppressionRule, SlaPolicy, JiraStatusMapping),
Incident and IncidentEvent (an outage and its timeline, tickets/incidents.py), and the stats
rollup (TicketStatsChange, TicketStatsDay).

A Ticket's fields by concern (the model lists the replaced product's schema first, then what the
flow adds; this is the same set grouped by what it is for):

- identity: `id` (readable, `ADF-20251210T123456-abc123`), `timestamp` (created), `run_id`
  (the dedup key, unique: one ticket per run), `tracking_id` (the inbox delivery that opened it),
  `fingerprint` (source + pipeline + error class + normalized message: what correlates repeats).
- source and failure: `source`, `processing_mode` (adf/databricks/airflow/...), `pipeline`,
  `error_message` (redacted), `error_type` (error class), `affected_entity` (the resource),
  `logic_app_run_id`, `links` (to the run in its own tool), `details` (source extras).
- recurrence: `occurrence_count`, `first_seen`, `last_seen` (each instance is an Occurrence row),
  `latest_run` (the run key and resource of the latest failure counted on it, which a
  remediation acts on; empty, meaning the ticket's own run and resource, until another run
  fails the same way; a try Airflow retries by itself keeps the run a remediation acts on
  meanwhile in its `rerun`),
  `regressed_at` and `regression_count` (repeats after resolve that reopened it),
  `reopened_at` (the last reopen of an acknowledged or resolved ticket, by people or a
  regression: where its times to acknowledge and to resolve count from),
  `previous_ticket` (the earlier, resolved ticket of the same failure: seen before).
- analysis: `severity`, `priority`, `rca_result`, `recommendations`, `confidence`, `rca_source`
  and `rca_note` (which RCA made it and why), `analysed_at`, `rca_outage` (the Gemini outage
  its own rule-based RCA was made in, until it is asked again: analysis/outage_reruns.py),
  `embedding` and `embedding_model` (for similar-ticket search).
- ownership: `finops_team`, `finops_owner`, `finops_cost_center` (from OwnershipRule),
  `slack_channel` and `jira_project` (where its alerts go).
- lifecycle: `status`, `ack_ts`, `ack_user`, `ack_seconds` (time to acknowledge),
  `resolved_at`, `resolved_by`, `resolve_seconds` (time to resolve), `remediation_status`,
  `resolve_key` (what the source's recovery names) and `resolved_at_source_at` (the source
  reported the failure over), `updated_at`.
- SLA: `sla_seconds`, `sla_deadline`, `sla_status` (Pending/Met/Breached).
- outbound links: `itsm_ticket_id` (JIRA key) and `jira_status_at` (the last JIRA change applied,
  so older webhooks never win), `slack_ts` (the Slack message that follows the ticket),
  `slack_permalink` (Slack's link to it, when Slack gave one), `blob_log_url` (the evidence
  in Blob Storage).
- incidents: `culprit` and `culprit_detail` (the dependency the failure names,
  analysis/culprits.py), `group_key` (what incidents group on), `incident` (the one it joined).
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import logging
import re
import secrets
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import connection, models, transaction
from django.db.models import (
    BooleanField,
    Case,
    DurationField,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.utils import timezone
from pgvector.django import CosineDistance, HnswIndex, VectorField

from analysis.culprits import KIND_WORDS, CulpritKind, readable_culprit
from integrations.events import TASK_PART
from integrations.parsers.azure_monitor import alert_event_title, alert_resource_name
from integrations.parsers.databricks import UNKNOWN_WORKSPACE
from rca_project.compiled_sql import prepared_cursor
from tickets.vocabulary import (
    FAILED_MAP_INDEXES,
    FAILED_TASKS,
    FAILING_MAP_INDEXES,
    FAILING_TASKS,
    JOBS_FAILED_TOGETHER,
    NEWEST_FAILED_RUN,
    TRIGGERED_JOB_RUN,
    TRY_DETAILS,
    ErrorClass,
    Outcome,
    Priority,
    Severity,
    SlaStatus,
    Source,
    Status,
    choices,
)

# What `ticket_title` reads: a query listing tickets by their titles reads these.
TITLE_FIELDS = ("pipeline", "processing_mode", "affected_entity")


def ticket_title(pipeline: str, processing_mode: str, affected_entity: Any) -> str:
    """A ticket's name where it is listed and at its head: its pipeline, and for an Azure
    Monitor alert (whose `pipeline` is its rule's name) the resource it is about, "vm-cpu-high
    on vm-web-03" (`alert_resource_name`): one rule firing on five VMs is five tickets in one
    incident, each read as its rule's name alone. The rule's name comes first, so a list
    sorted by name keeps a rule's alerts together; a name already ending with the resource's
    ("Failure Anomalies - app-x") is not told it twice. A Service Health alert is named by
    the event Azure titled ("Azure Data Factory - East US": `alert_event_title`), not by its
    rule, which often tells of every incident under one name ("sh-all"); one opened before its
    event's title was kept is still named by its rule. `pipeline` stays the rule's name: it
    keys dedup, grouping and the rules matching pipelines."""
    if processing_mode != Source.AZURE_MONITOR:
        return pipeline
    if event := alert_event_title(affected_entity):
        return event
    about = alert_resource_name(affected_entity)
    if not about or pipeline.lower().endswith(about.lower()):
        return pipeline
    return f"{pipeline} on {about}"


class AttachTarget(NamedTuple):
    """The ticket a new failure is one more occurrence of, why, whether it is resolved, and
    whether it has the failure's fingerprint (a ticket of the same run may not: a later try
    failing otherwise)."""

    ticket_id: str
    how: str  # "same run" or "same fingerprint"
    resolved: bool
    same_fingerprint: bool = True


class LastResolved(NamedTuple):
    ticket_id: str
    resolved_at: datetime | None


class FailureCandidates(NamedTuple):
    attach: AttachTarget | None
    last_resolved: LastResolved | None


# One size for every embedding backend (the local model and Gemini's, truncated), so one
# HNSW index serves; vectors of different models are still never compared (`embedding_model`).
EMBEDDING_DIMENSIONS = 256


class RcaSource(models.TextChoices):
    PENDING = "pending", "Not analysed yet"
    RULES = "rules", "Rule-based"
    GEMINI = "gemini", "Gemini"
    LOG_ANALYSIS = "log-analysis", "Log analysis"


# Most severe first when ascending, like priority (P1 first).
SEVERITY_RANK = {
    Severity.CRITICAL: 0,
    Severity.HIGH: 1,
    Severity.MEDIUM: 2,
    Severity.LOW: 3,
}
# Statuses whose SLA clock runs (acknowledging or resolving stops it): these tickets are ordered
# by their deadline.
SLA_RUNNING = (Status.OPEN, Status.IN_PROGRESS)
# How a failure instance counted on a ticket was recorded (a recovery's is RESOLVED).
FAILURE_OUTCOMES = (Outcome.CREATED, Outcome.CORRELATED, Outcome.REGRESSED)
# The outcomes JIRA's and Slack's callbacks assign their dedup keys under
# (`integrations/syncback.py`): a redelivered callback is then a duplicate, as a webhook is.
CALLBACK_OUTCOMES = ("jira", "slack")
# The outcome of an occurrence claimed and not assigned yet (`OccurrenceQuerySet.claim`).
CLAIMED_OUTCOME = "pending"
_LOCK_ORDER_MARGIN = timedelta(minutes=1)
URGENCY_ORDERING = ("urgency", "severity_rank", "id")
# The same order for tickets whose SLA clock stopped (`TicketQuerySet.by_urgency_in_status`).
CLOCK_STOPPED_ORDERING = ("-timestamp", "severity_rank", "id")


class IntervalSinceOrigin(Func):
    """A moment as the interval since 2000-01-01: later moments give longer intervals."""

    template = "(%(expressions)s - TIMESTAMPTZ '2000-01-01 00:00:00+00')"
    output_field = DurationField()


class IntervalAfterEveryDeadline(Func):
    """A moment as the interval since 2000-01-01 plus a million days (2,737 years): later
    moments give longer intervals, every one longer than any `IntervalSinceOrigin` of a real
    deadline and shorter than any `IntervalUntilFarFuture` (of moments before the year 4600).
    In days, not years: an interval of months comes back to Python as days, and the API's
    cursor, which holds it, would name another value."""

    template = (
        "((%(expressions)s - TIMESTAMPTZ '2000-01-01 00:00:00+00') + INTERVAL '1000000 days')"
    )
    output_field = DurationField()


class IntervalUntilFarFuture(Func):
    """A moment as the interval until the year 9999: later moments give shorter intervals,
    and every one is longer than any `IntervalSinceOrigin` of a real deadline."""

    template = "(TIMESTAMPTZ '9999-01-01 00:00:00+00' - %(expressions)s)"
    output_field = DurationField()


def severity_rank_expression() -> Case:
    """0 for Critical to 3 for Low (4 for anything else)."""
    return Case(
        *(When(severity=name, then=Value(rank)) for name, rank in SEVERITY_RANK.items()),
        default=Value(len(SEVERITY_RANK)),
        output_field=IntegerField(),
    )


def urgency_expression() -> Case:
    """Ascending is most urgent first. A ticket whose SLA clock runs is keyed by its deadline,
    so breached tickets (deadline passed) come first, the most overdue first, then the least
    time left; an open or in-progress ticket with no clock (no deadline: a quiet Service Health
    notice, `lifecycle.runs_sla_clock`) after those, oldest first; a ticket whose clock
    stopped (any other status) after all of them, newest first. Built from immutable SQL only
    (a timestamptz minus a timestamptz literal is an interval; EXTRACT on a timestamptz would
    not be), so the `ticket_urgency_v2` index holds it."""
    return Case(
        When(
            status__in=SLA_RUNNING,
            sla_deadline__isnull=False,
            then=IntervalSinceOrigin(F("sla_deadline")),
        ),
        When(status__in=SLA_RUNNING, then=IntervalAfterEveryDeadline(F("timestamp"))),
        default=IntervalUntilFarFuture(F("timestamp")),
        output_field=DurationField(),
    )


TICKET_PREFIXES: dict[str, str] = {
    Source.ADF: "ADF",
    Source.DATABRICKS: "DBX",
    Source.AIRFLOW: "AIRFLOW",
    Source.AZURE_MONITOR: "AZMON",
}


def new_ticket_id(processing_mode: str, at: datetime | None = None) -> str:
    """A readable id like `ADF-20251210T123456-abc123`."""
    prefix = TICKET_PREFIXES.get(processing_mode, "RCA")
    stamp = (at or timezone.now()).astimezone(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{prefix}-{stamp}-{secrets.token_hex(3)}"


# integrations.parsers.databricks.recovery_key: databricks:<workspace>:job:<job>[/task:<task>]
logger = logging.getLogger(__name__)

_DATABRICKS_RECOVERY_KEY = re.compile(r"databricks:(?P<workspace>[^:]+):(?P<job>job:.+)")


# Whether the server's pgvector has iterative index scans (0.8.0 and later), read once.
_iterative_scans: bool | None = None


def iterative_scans_supported(version: str) -> bool:
    """Whether pgvector `version` (its `extversion`) has iterative index scans (0.8.0)."""
    parts = re.findall(r"\d+", version)[:2]
    return len(parts) == 2 and (int(parts[0]), int(parts[1])) >= (0, 8)


@contextlib.contextmanager
def hnsw_scans_until_found() -> Iterator[None]:
    """Within it, an HNSW index scan goes on past its `hnsw.ef_search` (40) nearest entries
    until the query has its rows (pgvector's iterative scan, in exact order). Those entries
    count rows the query then drops: another model's vectors, the ticket itself, and rows
    deleted or rolled back and not yet vacuumed, whose entries stay in the graph. With 40 of
    those nearer, a stored ticket of the same model was not found at all. The caller's own
    setting is put back after. On a pgvector before 0.8 the setting does not exist (setting it
    is an error once the library is loaded): the scans are left as they are, with a warning."""
    global _iterative_scans
    with transaction.atomic(), connection.cursor() as cursor:
        if _iterative_scans is None:
            cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            row = cursor.fetchone()
            _iterative_scans = row is not None and iterative_scans_supported(row[0])
            if not _iterative_scans:
                logger.warning(
                    "pgvector %s has no iterative index scans (0.8.0 has them): similar-ticket "
                    "searches may miss tickets behind deleted ones",
                    row[0] if row else "(not installed)",
                )
        if not _iterative_scans:
            yield
            return
        cursor.execute(
            "SELECT current_setting('hnsw.iterative_scan', true), "
            "set_config('hnsw.iterative_scan', 'strict_order', true)"
        )
        previous = cursor.fetchone()[0] or "off"
        yield
        cursor.execute("SELECT set_config('hnsw.iterative_scan', %s, true)", [previous])


# The orderings whose pages are read in two halves (`TicketQuerySet.in_halves`): by the
# ordering's field, which tickets hold the value every new ticket is given (none of them is in
# the field's partial index, so a new ticket's INSERT enters none), and the field that orders
# those tickets in its place (None: the value is the same for all of them).
HALVED_ORDERINGS: dict[str, tuple[Q, str | None]] = {
    # `ticket_last_seen_moved`; the others' `last_seen` is their `timestamp`.
    "last_seen": (Q(last_seen=F("timestamp")), "timestamp"),
    # `ticket_counted_again`; the others were counted once.
    "occurrence_count": (Q(occurrence_count=1), None),
}


# A Databricks ticket's details key: its run's read failed for a reason that may pass (a
# throttle, a 5xx, a timeout): {"failed_at": when, "tries": reads failed so far, "reason": why
# the latest failed}, and "taken" once a re-read is queued
# (`analysis.outage_reruns.refetch_databricks_errors`); None once read, given up, or the
# ticket resolved (`TicketQuerySet.drop_databricks_refetch`: a resolved ticket's run read later
# changes nothing anyone acts on). A lost read that spent the last try leaves "given_up"
# instead of "failed_at" until the last read it queued writes None.
DATABRICKS_REFETCH = "databricks_refetch"

# `TicketQuerySet.awaiting_databricks_refetch`, and the condition of its partial index.
AWAITING_DATABRICKS_REFETCH = Q(
    source=Source.DATABRICKS, **{f"details__{DATABRICKS_REFETCH}__failed_at__isnull": False}
)


def triggered_run_key_expression() -> Func:
    """The key of the job run a Databricks ticket's Run Job task triggered
    (`TRIGGERED_JOB_RUN`'s `run_key`), NULL for none: the expression of the
    `ticket_triggered_job_run` index and of `TicketQuerySet.that_triggered`."""
    return Func(
        F("details"),
        Value(TRIGGERED_JOB_RUN),
        Value("run_key"),
        function="jsonb_extract_path_text",
        output_field=models.CharField(),
    )


class TicketQuerySet(models.QuerySet["Ticket"]):
    # Set by `in_halves` and `ids_first`; every clone (a filter, an ordering) keeps them.
    _in_halves = False
    _ids_first = False

    def _clone(self) -> TicketQuerySet:
        clone: TicketQuerySet = super()._clone()  # type: ignore[misc]
        clone._in_halves = self._in_halves
        clone._ids_first = self._ids_first
        return clone

    def ids_first(self) -> TicketQuerySet:
        """This queryset, a slice of it (a page) read in two steps: the slice's ids, by the
        same filters and ordering, then those rows, in that ordering. The first step reads only
        the columns it filters and sorts on, so PostgreSQL may answer it from an index alone
        (an index-only scan of `ticket_stats_period_v4`, tickets/0058, which holds the
        severity, priority, SLA deadline, status, RCA source and id of every ticket, sorted
        there) where one query read and sorted, or walked, every ticket row (the error text and
        the embedding: 25,000 buffers at 100,000 tickets), and the table is read for the
        page's rows only. The same rows in the same order as one query. A DISTINCT query (a
        search across a relation) or a union is read as one query, as is an item or an
        unbounded slice."""
        clone = self.all()
        clone._ids_first = True
        return clone

    def in_halves(self) -> TicketQuerySet:
        """This queryset, ordered by a field of HALVED_ORDERINGS first (either way), its pages
        read in two halves merged: the tickets whose value is no longer the one a new ticket
        is given, from the field's partial index in that order, and the others in the order of
        the field that stands for it there (`last_seen`: `timestamp`, from its index) or, their
        value being one, of the rest of the ordering (`occurrence_count`: the id, from the
        primary key); each half up to the slice's end, then the two sorted together and sliced.
        The same rows in the same order as one query; that one sorted every ticket (no index
        holds them all by either field: it would be one more write in every new ticket's
        INSERT)."""
        clone = self.all()
        clone._in_halves = True
        return clone

    def __getitem__(self, k: Any) -> Any:
        if self._ids_first and not self._in_halves:
            return self._ids_first_slice(k)
        if not (self._in_halves and isinstance(k, slice)) or self._result_cache is not None:
            return super().__getitem__(k)
        ordering = [str(term) for term in self.query.order_by]
        field = ordering[0].lstrip("-") if ordering else ""
        if (
            field not in HALVED_ORDERINGS
            or len(ordering) < 2
            or self.query.is_sliced
            or k.stop is None
            or k.step is not None
        ):
            return super().__getitem__(k)
        unmoved_test, stand_in = HALVED_ORDERINGS[field]
        whole = self.all()
        whole._in_halves = False
        moved = whole.exclude(unmoved_test).order_by(*ordering)[: k.stop]
        # Where the value is the stand-in's, or the same for all, the orders are one.
        rest = [ordering[0].replace(field, stand_in)] if stand_in else []
        unmoved = whole.filter(unmoved_test).order_by(*rest, *ordering[1:])[: k.stop]
        return moved.union(unmoved, all=True).order_by(*ordering)[k]

    def _ids_first_slice(self, k: Any) -> Any:
        if (
            not isinstance(k, slice)
            or self._result_cache is not None
            or self.query.is_sliced
            or self.query.distinct
            or self.query.combinator
            or k.stop is None
            or k.step is not None
        ):
            return super().__getitem__(k)
        whole = self.all()
        whole._ids_first = False
        page = whole.values_list("pk", flat=True)[k]
        return whole.filter(pk__in=page)

    def awaiting_databricks_refetch(self) -> TicketQuerySet:
        """Databricks tickets whose run's read failed for a reason that may pass, to be read
        again (`analysis.outage_reruns.refetch_databricks_errors`, every 30 s), from the
        `ticket_databricks_refetch` partial index: without it each sweep read every ticket."""
        return self.filter(AWAITING_DATABRICKS_REFETCH)

    def that_triggered(self, run_key: str) -> TicketQuerySet:
        """Databricks tickets whose Run Job task triggered the job run `run_key`, from the
        `ticket_triggered_job_run` index: every Databricks failure's settling looks, and
        without it each look read every ticket's details."""
        return self.alias(triggered_run_key=triggered_run_key_expression()).filter(
            source=Source.DATABRICKS, details__has_key=TRIGGERED_JOB_RUN, triggered_run_key=run_key
        )

    def drop_databricks_refetch(self) -> int:
        """Set these tickets' re-read mark to None (they leave `ticket_databricks_refetch`);
        how many had one."""
        marked = self.filter(details__has_key=DATABRICKS_REFETCH).exclude(
            **{f"details__{DATABRICKS_REFETCH}": None}
        )
        return marked.update(
            details=RawSQL(
                "jsonb_set(details, %s::text[], 'null'::jsonb)",
                ([DATABRICKS_REFETCH],),
                output_field=models.JSONField(),
            )
        )

    def with_severity_rank(self) -> TicketQuerySet:
        """Annotate `severity_rank`: 0 for Critical to 3 for Low."""
        return self.annotate(severity_rank=severity_rank_expression())

    def with_urgency(self) -> TicketQuerySet:
        """Annotate `urgency` (see `urgency_expression`) and `severity_rank`. One value, so the
        API's cursor pagination can page on it (`URGENCY_ORDERING` adds severity and the id
        for ties), and an indexed one, so the most urgent page is read without a sort."""
        return self.with_severity_rank().annotate(urgency=urgency_expression())

    def by_urgency(self) -> TicketQuerySet:
        """Most urgent first: breached, then least SLA time left, then severity; open tickets
        with no SLA clock after those, then the others (`urgency_expression`; the board, the
        API's default ordering and admin all use this)."""
        return self.with_urgency().order_by(*URGENCY_ORDERING)

    def by_urgency_in_status(self, status: str) -> TicketQuerySet:
        """`by_urgency` for tickets of one status. Where the status's SLA clock is stopped, the
        urgency is the time from the timestamp to the year 9999, so the same order is newest
        first: read that way, from `ticket_status_recent`, not from `ticket_urgency_v2`, where the
        tickets whose clock runs (every open and in-progress one) come first and were walked
        past, one by one, to reach the first acknowledged ticket."""
        if status in SLA_RUNNING:
            return self.by_urgency()
        return self.with_urgency().order_by(*CLOCK_STOPPED_ORDERING)

    def candidates_for(self, run_key: str, fingerprint: str) -> FailureCandidates:
        """What a new failure may belong to, in one indexed query (this runs inside every
        webhook request): the ticket of the same run, else the unresolved one with the same
        fingerprint, however old (`attach`, with why, its status and whether its fingerprint
        is this one); and the most recently resolved ticket of the fingerprint
        (`last_resolved`, a repeat's predecessor)."""
        table = self.model._meta.db_table
        with prepared_cursor() as cursor:
            cursor.execute(
                f"""
                (SELECT 0, id, status, resolved_at, fingerprint = %s FROM {table}
                  WHERE run_id = %s LIMIT 1)
                UNION ALL
                (SELECT 1, id, status, resolved_at, TRUE FROM {table}
                  WHERE fingerprint = %s AND status <> %s ORDER BY last_seen DESC LIMIT 1)
                UNION ALL
                (SELECT 2, id, status, resolved_at, TRUE FROM {table}
                  WHERE fingerprint = %s AND status = %s ORDER BY resolved_at DESC LIMIT 1)
                """,
                [fingerprint, run_key, fingerprint, Status.RESOLVED, fingerprint, Status.RESOLVED],
            )
            rows = {row[0]: row[1:] for row in cursor.fetchall()}
        attach = None
        for branch, how in ((0, "same run"), (1, "same fingerprint")):
            if branch in rows:
                ticket_id, status, _, same_fingerprint = rows[branch]
                attach = AttachTarget(ticket_id, how, status == Status.RESOLVED, same_fingerprint)
                break
        resolved = rows.get(2)
        last_resolved = LastResolved(resolved[0], resolved[2]) if resolved else None
        return FailureCandidates(attach, last_resolved)

    def task_of_run(self, run_key: str) -> AttachTarget | None:
        """The first ticket a failure of a task of the run `run_key` was counted on (a
        Databricks task's run key is its run's and `:<task key>`), for the run's own failure:
        the job failed because its task did. Read from the run's failure instances, not the
        tickets' run ids: a ticket keeps its first run's id, and a later run's task failure is
        counted on it. An unresolved one comes first: a task that failed and recovered on a
        retry did not fail the run when another task's failure is still open."""
        instances = Occurrence.objects.counted_in_run(run_key).values("ticket_id")
        resolved = ExpressionWrapper(Q(status=Status.RESOLVED), output_field=BooleanField())
        row = (
            self.filter(pk__in=instances, source=Source.DATABRICKS)
            .order_by(resolved, "timestamp")
            .values_list("pk", "status")
            .first()
        )
        return AttachTarget(row[0], "same run", row[1] == Status.RESOLVED) if row else None

    def counting_run_failure(
        self, occurrence_key: str, run_key: str, part_key: str = ""
    ) -> AttachTarget | None:
        """The ticket the run `run_key`'s own failure `occurrence_key` was counted on, for the
        first of its parts' failures to land after it: a second part failing in the same run
        is a failure of its own, as it is when the parts' notifications come first. Another
        attempt of the part `part_key` (its run key: a retried Databricks task) is that part."""
        row = (
            Occurrence.objects.filter(key=occurrence_key, ticket__isnull=False)
            .values_list("ticket_id", "ticket__status")
            .first()
        )
        if row is None:
            return None
        parts = Occurrence.objects.counted_in_run(run_key).filter(ticket_id=row[0])
        parts = parts.exclude(key=occurrence_key)
        if part_key:
            parts = parts.exclude(key__startswith=f"{part_key}:")
        if parts.exists():
            return None
        return AttachTarget(row[0], "same run", row[1] == Status.RESOLVED)

    def recovered_by(self, resolve_key: str, occurrence_key: str = "") -> TicketQuerySet:
        """Tickets a source's recovery under `resolve_key` ends and has not reported yet: those
        with that key, those whose key is a part of it (`<key>/task:<task>`: a Databricks
        job success covers its tasks), and the one the failure instance `occurrence_key` was
        counted on (an Azure alert correlated into another alert's ticket). See
        `FailureEvent.resolve_key` and `recovers_occurrence`. A Databricks job's recovery
        also ends its failures recorded without a workspace ("unknown": their notification
        named none, nor did its run page; or recorded before the run page was read for it),
        and one without a workspace those of the same job in any workspace."""
        ends = Q(resolve_key=resolve_key) | Q(resolve_key__startswith=f"{resolve_key}{TASK_PART}")
        databricks = _DATABRICKS_RECOVERY_KEY.fullmatch(resolve_key)
        if databricks is not None and databricks["workspace"] == UNKNOWN_WORKSPACE:
            job = re.escape(databricks["job"])
            ends |= Q(resolve_key__startswith="databricks:") & Q(
                resolve_key__regex=rf"^databricks:[^:]+:{job}($|{re.escape(TASK_PART)})"
            )
        elif databricks is not None:
            unnamed = f"databricks:{UNKNOWN_WORKSPACE}:{databricks['job']}"
            ends |= Q(resolve_key=unnamed) | Q(resolve_key__startswith=f"{unnamed}{TASK_PART}")
        if occurrence_key:
            instance = Occurrence.objects.filter(key=occurrence_key, ticket__isnull=False)
            ends |= Q(pk__in=instance.values("ticket_id"))
        return self.filter(resolved_at_source_at__isnull=True).filter(ends)

    def record_recurrence(
        self,
        ticket_id: str,
        at: datetime,
        run_key: str,
        resource: dict[str, Any],
        *,
        log_link: str = "",
        run_link: str = "",
        retried: bool = False,
        try_details: dict[str, Any] | None = None,
        dated_run: dict[str, str] | None = None,
    ) -> tuple[int, str | None, bool, bool, str, bool]:
        """Count one more occurrence, of the run `run_key` (`resource`: the source's names for
        it), which becomes the ticket's `latest_run` unless it is the run that already is (the
        same run reported again, e.g. by an Azure alert naming the workspace it queried: the
        first report's names for it stay). `retried`: a try its source retries by itself (an
        Airflow task `up_for_retry`), which has nothing failed to rerun yet: the run a
        remediation would act on until then is kept in `latest_run["rerun"]`, until that run's
        final failure comes; null when the try regresses the ticket (resolved, or recovered at
        its source): the runs counted before it were resolved, and nothing is failed to rerun
        until its final failure. Returns the new count, the ticket's incident,
        whether it had recovered at its source (it fails again: that recovery no longer
        holds), and whether it is resolved as this locked it (a resolve or a recovery that
        committed after the caller read it open: this failure then regresses it), its
        `remediation_status` as this left it, and whether `run_key` is another run than the
        ticket's latest before it. `log_link`, the occurrence's own
        log (an Airflow try's), becomes the ticket's `links["log"]`: the log a ticket's analysis
        reads is its latest failure's. `run_link`, the page of its run (an ADF or Databricks
        run page), becomes the ticket's `links["run"]` when `run_key` is another run than its
        latest (none when it has none): the run page shown is the run a remediation acts on.
        `try_details`, the facts of the failed try (an Airflow try's state and number), replace
        the ticket's `details` under `TRY_DETAILS` (those it lacks removed), unless the ticket's
        latest run is this run and its details name a later try (an earlier try delivered
        late): the details say what the latest failure's try is. `dated_run`, the run of an
        Airflow failure whose logical date is known (`run_key`, `run_id`, `logical_date`),
        becomes the ticket's `details[NEWEST_FAILED_RUN]` when its date is later than the one
        there, or when the ticket was resolved (this failure regresses it: the runs before it
        are over; without a `dated_run` the key is removed then)."""
        table = self.model._meta.db_table
        latest = json.dumps({"run_key": run_key, "entity": resource})
        dated = json.dumps(dated_run) if dated_run else None
        with connection.cursor() as cursor:
            cursor.execute(
                # Waiting for a change that holds the row, FOR NO KEY UPDATE reads the row as
                # that change committed it.
                f"WITH before AS (SELECT id, resolved_at_source_at, status, latest_run, run_id"
                f"  FROM {table}"
                "  WHERE id = %s FOR NO KEY UPDATE)"
                f" UPDATE {table} AS t SET occurrence_count = t.occurrence_count + 1,"
                " last_seen = %s, updated_at = %s, resolved_at_source_at = NULL,"
                " latest_run = CASE WHEN %s AND (before.status = %s"
                "   OR before.resolved_at_source_at IS NOT NULL)"
                "  THEN (CASE WHEN COALESCE(NULLIF(t.latest_run ->> 'run_key', ''), t.run_id) = %s"
                "   THEN t.latest_run ELSE %s::jsonb END) || '{\"rerun\": null}'::jsonb"
                "  WHEN COALESCE(NULLIF(t.latest_run ->> 'run_key', ''), t.run_id)"
                "  = %s THEN (CASE WHEN %s THEN t.latest_run ELSE t.latest_run - 'rerun' END)"
                "  WHEN %s THEN %s::jsonb || jsonb_build_object('rerun', COALESCE("
                "   t.latest_run -> 'rerun',"
                "   CASE WHEN COALESCE(t.latest_run ->> 'run_key', '') <> '' THEN t.latest_run END,"
                "   jsonb_build_object('run_key', t.run_id, 'entity', t.affected_entity)))"
                "  ELSE %s::jsonb END,"
                " links = (CASE WHEN COALESCE(NULLIF(t.latest_run ->> 'run_key', ''), t.run_id)"
                "   = %s THEN COALESCE(t.links, '{}'::jsonb)"
                "  WHEN %s = '' THEN COALESCE(t.links, '{}'::jsonb) - 'run'"
                "  ELSE COALESCE(t.links, '{}'::jsonb) || jsonb_build_object('run', %s::text) END)"
                "  || CASE WHEN %s = '' THEN '{}'::jsonb"
                "   ELSE jsonb_build_object('log', %s::text) END,"
                " details = ((CASE WHEN %s AND ("
                "   COALESCE(NULLIF(before.latest_run ->> 'run_key', ''), before.run_id) <> %s"
                "   OR CASE WHEN t.details ->> 'try_number' ~ '^[0-9]{1,9}$'"
                "    THEN (t.details ->> 'try_number')::integer <= %s ELSE true END)"
                "  THEN (COALESCE(t.details, '{}'::jsonb) - %s::text[]) || %s::jsonb"
                "  ELSE COALESCE(t.details, '{}'::jsonb) END)"
                "  - (CASE WHEN before.status = %s THEN %s ELSE '' END)::text)"
                "  || CASE WHEN %s::jsonb IS NOT NULL AND (before.status = %s"
                "   OR (t.details -> %s ->> 'logical_date') IS NULL"
                "   OR (t.details -> %s ->> 'logical_date')::timestamptz"
                "    < (%s::jsonb ->> 'logical_date')::timestamptz)"
                "  THEN jsonb_build_object(%s::text, %s::jsonb) ELSE '{}'::jsonb END,"
                " remediation_status = CASE WHEN t.remediation_status = 'resolved_at_source'"
                "  THEN '' ELSE t.remediation_status END"
                " FROM before WHERE t.id = before.id"
                " RETURNING t.occurrence_count, t.incident_id,"
                "  before.resolved_at_source_at IS NOT NULL, before.status = %s,"
                "  t.remediation_status,"
                "  COALESCE(NULLIF(before.latest_run ->> 'run_key', ''), before.run_id) <> %s",
                [
                    ticket_id,
                    at,
                    at,
                    retried,
                    Status.RESOLVED,
                    run_key,
                    latest,
                    run_key,
                    retried,
                    retried,
                    latest,
                    latest,
                    run_key,
                    run_link,
                    run_link,
                    log_link,
                    log_link,
                    bool(try_details),
                    run_key,
                    int(try_details.get("try_number", 0)) if try_details else 0,
                    list(TRY_DETAILS),
                    json.dumps(try_details or {}),
                    Status.RESOLVED,
                    NEWEST_FAILED_RUN,
                    dated,
                    Status.RESOLVED,
                    NEWEST_FAILED_RUN,
                    NEWEST_FAILED_RUN,
                    dated,
                    NEWEST_FAILED_RUN,
                    dated,
                    Status.RESOLVED,
                    run_key,
                ],
            )
            count, incident_id, was_recovered, resolved, remediation_status, new_run = (
                cursor.fetchone()
            )
            return count, incident_id, was_recovered, resolved, remediation_status, new_run

    def nearest(
        self, vector: list[float], model: str, *, k: int, min_similarity: float
    ) -> list[tuple[Ticket, float]]:
        """The k tickets whose embedding (of the same model) is closest by cosine similarity,
        at least `min_similarity`; served by the HNSW index."""
        # Through a plainly typed name: on `Self` the stubs' plugin loses the annotated row type.
        queryset: TicketQuerySet = self
        candidates = (
            queryset.filter(embedding_model=model)
            .annotate(distance=CosineDistance("embedding", vector))
            .order_by("distance")
            .defer("embedding")[: k * 2]
        )
        with hnsw_scans_until_found():
            # Filter the distance after the index scan: a WHERE on it would bypass the index.
            close: list[tuple[Ticket, float]] = [
                (ticket, 1.0 - ticket.distance)
                for ticket in candidates
                if 1.0 - ticket.distance >= min_similarity
            ]
        return close[:k]

    def sla_overdue(self, now: datetime) -> TicketQuerySet:
        return self.filter(
            sla_status=SlaStatus.PENDING, sla_deadline__lt=now, status__in=SLA_RUNNING
        )


class Ticket(models.Model):
    # The schema of the product this replaces, every field kept.
    id = models.CharField(primary_key=True, max_length=64, editable=False)
    timestamp = models.DateTimeField(default=timezone.now, db_index=True)
    pipeline = models.CharField(max_length=500)
    run_id = models.CharField(
        max_length=600, help_text="Dedup key: one ticket per run (source-scoped)."
    )
    rca_result = models.TextField(blank=True)
    recommendations = models.JSONField(default=list, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    severity = models.CharField(max_length=10, choices=choices(Severity), default=Severity.MEDIUM)
    priority = models.CharField(max_length=2, choices=choices(Priority), default=Priority.P3)
    error_type = models.CharField(
        max_length=32, choices=choices(ErrorClass), default=ErrorClass.UNKNOWN
    )
    affected_entity = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=choices(Status), default=Status.OPEN)
    sla_seconds = models.PositiveIntegerField(default=0)
    sla_status = models.CharField(
        max_length=10, choices=choices(SlaStatus), default=SlaStatus.PENDING
    )
    finops_team = models.CharField(max_length=200, blank=True)
    finops_owner = models.CharField(max_length=200, blank=True)
    finops_cost_center = models.CharField(max_length=200, blank=True)
    blob_log_url = models.URLField(max_length=1000, blank=True)
    itsm_ticket_id = models.CharField("JIRA key", max_length=64, blank=True)
    ack_ts = models.DateTimeField(null=True, blank=True)
    ack_user = models.CharField(max_length=200, blank=True)
    ack_seconds = models.PositiveIntegerField(null=True, blank=True)
    slack_ts = models.CharField(max_length=64, blank=True)
    slack_channel = models.CharField(max_length=200, blank=True)
    # Slack's link to the alert (`chat.getPermalink`), asked once after it is posted; blank
    # when Slack did not give one then (down, throttled, refused): the page names channel/ts.
    slack_permalink = models.URLField(max_length=500, blank=True)
    logic_app_run_id = models.CharField(max_length=200, blank=True)
    processing_mode = models.CharField(max_length=32, blank=True)
    remediation_status = models.CharField(max_length=64, blank=True)

    # What the flow needs on top.
    source = models.CharField(max_length=32)
    fingerprint = models.CharField(max_length=64)
    occurrence_count = models.PositiveIntegerField(default=1)
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    error_message = models.TextField(blank=True)
    latest_run = models.JSONField(
        default=dict,
        blank=True,
        help_text="The latest failure counted on it: its run key and resource (a remediation "
        "acts on this run). Empty: the ticket's own run.",
    )
    links = models.JSONField(default=dict, blank=True)
    details = models.JSONField(default=dict, blank=True)
    rca_source = models.CharField(
        max_length=16, choices=RcaSource.choices, default=RcaSource.PENDING
    )
    rca_note = models.TextField(blank=True, help_text="Why this RCA source was used.")
    analysed_at = models.DateTimeField(null=True, blank=True)
    rca_outage = models.CharField(
        max_length=20,
        blank=True,
        help_text="Its rule-based RCA was made because Gemini was down (the failure: timeout, "
        "server_error, connection_error, rate_limited); blank once Gemini is asked again.",
    )
    tracking_id = models.UUIDField(null=True, blank=True, db_index=True)
    resolve_key = models.CharField(max_length=600, blank=True)
    resolved_at_source_at = models.DateTimeField(
        null=True, blank=True, help_text="When the source last reported the failure over."
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=200, blank=True)
    resolve_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="Time to resolve, from opening (or its last reopen)."
    )
    regressed_at = models.DateTimeField(
        null=True, blank=True, help_text="When a repeat after resolve last reopened it."
    )
    reopened_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When it was last reopened after it was acknowledged or resolved (by people "
        "or a regression): its times to acknowledge and to resolve count from there.",
    )
    regression_count = models.PositiveIntegerField(default=0)
    previous_ticket = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="later_tickets",
        help_text="The earlier, resolved ticket of the same failure (seen before).",
    )
    sla_deadline = models.DateTimeField(null=True, blank=True)
    jira_project = models.CharField(max_length=64, blank=True)
    jira_status_at = models.DateTimeField(
        null=True, blank=True, help_text="When the last JIRA status change we applied happened."
    )
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS, null=True, blank=True)
    embedding_model = models.CharField(max_length=100, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The dependency the failure names (analysis/culprits.py), e.g.
    # "sql-server:sql-prod-01.database.windows.net"; blank when it names none.
    culprit = models.CharField(max_length=300, blank=True)
    culprit_detail = models.CharField(
        max_length=200, blank=True, help_text="What else the error names about it (a database)."
    )
    # What incidents group on: the culprit and the error class (an Azure alert: the culprit).
    group_key = models.CharField(max_length=400, blank=True)
    incident = models.ForeignKey(
        "Incident",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
        db_index=False,
    )

    objects = TicketQuerySet.as_manager()

    class Meta:
        ordering = ["-timestamp"]
        # Explicit indexes only: `db_index` on a CharField adds a second, pattern-ops index
        # that nothing here uses, and every index costs on the ingest path.
        constraints = [models.UniqueConstraint(fields=["run_id"], name="ticket_unique_run")]
        indexes = [
            models.Index(fields=["status", "-timestamp"], name="ticket_status_recent"),
            models.Index(fields=["fingerprint", "-last_seen"], name="ticket_fingerprint_recent"),
            models.Index(fields=["pipeline", "-timestamp"], name="ticket_pipeline_recent"),
            models.Index(
                fields=["itsm_ticket_id"],
                condition=~Q(itsm_ticket_id=""),
                name="ticket_jira_key",
            ),
            models.Index(
                fields=["resolve_key"],
                condition=Q(resolved_at_source_at__isnull=True),
                name="ticket_unrecovered_by_key",
                # Pattern ops serve both `=` and the prefix match of `recovered_by`.
                opclasses=["varchar_pattern_ops"],
            ),
            # The open Azure alerts in no incident, by the rule their keys start with
            # (`azure:<rule>|`): what an alert of a rule forms its incident with
            # (tickets/incidents.py `_same_rule`); the tickets over or grouped are not in it.
            models.Index(
                fields=["resolve_key"],
                condition=Q(
                    source="azure-monitor",
                    processing_mode="azure-monitor",
                    incident__isnull=True,
                    resolved_at_source_at__isnull=True,
                )
                & ~Q(status="resolved"),
                name="ticket_azure_ungrouped_alert",
                opclasses=["varchar_pattern_ops"],
            ),
            models.Index(
                fields=["fingerprint", "-resolved_at"],
                condition=Q(status="resolved"),
                name="ticket_resolved_fingerprint",
            ),
            models.Index(
                fields=["sla_deadline"],
                condition=Q(sla_status="Pending"),
                name="ticket_sla_pending",
            ),
            # The default order of every ticket list (`TicketQuerySet.by_urgency`).
            models.Index(
                urgency_expression(),
                severity_rank_expression(),
                F("id"),
                name="ticket_urgency_v2",
            ),
            models.Index(
                fields=["group_key", "-last_seen"],
                condition=~Q(group_key=""),
                name="ticket_group_recent",
            ),
            models.Index(
                fields=["incident", "timestamp"],
                condition=Q(incident__isnull=False),
                name="ticket_incident_members",
            ),
            models.Index(
                fields=["analysed_at"],
                condition=~Q(rca_outage=""),
                name="ticket_rca_in_outage",
            ),
            # The tickets seen again since they were opened, by when last, and those counted
            # more than once, by how many times (`TicketQuerySet.in_halves`); a new ticket's
            # INSERT enters neither.
            models.Index(
                fields=["last_seen", "id"],
                condition=~Q(last_seen=F("timestamp")),
                name="ticket_last_seen_moved",
            ),
            models.Index(
                fields=["occurrence_count", "id"],
                condition=~Q(occurrence_count=1),
                name="ticket_counted_again",
            ),
            # Databricks tickets whose run is to be read again; a new ticket's INSERT enters
            # none (an analysis whose read failed so puts its ticket in).
            models.Index(
                fields=["updated_at"],
                condition=AWAITING_DATABRICKS_REFETCH,
                name="ticket_databricks_refetch",
            ),
            # The ticket whose Run Job task triggered a job run (`that_triggered`); only the
            # tickets that name one are in it.
            models.Index(
                triggered_run_key_expression(),
                condition=Q(source=Source.DATABRICKS, details__has_key=TRIGGERED_JOB_RUN),
                name="ticket_triggered_job_run",
            ),
            HnswIndex(
                name="ticket_embedding_hnsw",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
        ]

    def __str__(self) -> str:
        return self.id

    @property
    def title(self) -> str:
        """Its name as people read it (`ticket_title`): "vm-cpu-high on vm-web-03"."""
        return ticket_title(self.pipeline, self.processing_mode, self.affected_entity)

    @property
    def is_open(self) -> bool:
        return self.status in SLA_RUNNING

    @property
    def has_run_log(self) -> bool:
        """A pipeline failure has a run whose log can be analysed ("Analyse the run's log"); an
        Azure Monitor alert that is no pipeline failure (processing mode azure-monitor) has
        no run."""
        return self.processing_mode != Source.AZURE_MONITOR

    @property
    def mapped_instances(self) -> str:
        """How many instances of a mapped Airflow task the ticket counts, in words ("30 mapped
        instances failed, 12 still failing"); "" for a ticket of no mapped task."""
        details = self.details or {}
        failed = details.get(FAILED_MAP_INDEXES)
        if not isinstance(failed, list) or not failed:
            return ""
        words = f"{len(failed)} mapped instance{'s' if len(failed) != 1 else ''} failed"
        failing = details.get(FAILING_MAP_INDEXES)
        if isinstance(failing, list) and 0 < len(failing) < len(failed):
            words += f", {len(failing)} still failing"
        return words

    @property
    def tasks_failed_alike(self) -> str:
        """How many tasks of a Databricks job run the ticket counts failing alike, in words,
        naming the first five ("3 tasks failed alike: ingest, load, publish; 1 still failing");
        "" for a ticket counting one task's failures (or none)."""
        details = self.details or {}
        failed = [key for key in details.get(FAILED_TASKS) or [] if isinstance(key, str)]
        if len(failed) < 2:
            return ""
        named = ", ".join(key[:60] for key in failed[:5]) + (", …" if len(failed) > 5 else "")
        words = f"{len(failed)} tasks failed alike: {named}"
        failing = details.get(FAILING_TASKS)
        if isinstance(failing, list) and 0 < len(failing) < len(failed):
            words += f"; {len(failing)} still failing"
        return words

    @property
    def jobs_failed_together(self) -> str:
        """The Databricks jobs the ticket counts failing as one, one having run the other (a Run
        Job task: `JOBS_FAILED_TOGETHER`), in words (`jobs_failed_together_words`); "" for
        none."""
        return jobs_failed_together_words((self.details or {}).get(JOBS_FAILED_TOGETHER))

    @property
    def failed_parts(self) -> str:
        """The parts of the pipeline the ticket counts failing, in words, when it counts several
        (`mapped_instances`, `tasks_failed_alike`), and the jobs failing with it
        (`jobs_failed_together`); "" otherwise."""
        parts = [self.mapped_instances or self.tasks_failed_alike, self.jobs_failed_together]
        return "; ".join(part for part in parts if part)

    def sla_remaining(self, now: datetime | None = None) -> timedelta | None:
        if self.sla_deadline is None or self.status not in SLA_RUNNING:
            return None
        return self.sla_deadline - (now or timezone.now())


def jobs_failed_together_words(entries: object) -> str:
    """`JOBS_FAILED_TOGETHER` entries in words: "orders_orchestrator failed with orders_child
    (its Run Job task run_child ran it)", "; " between two."""
    said = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("job") and entry.get("ran"):
            task = str(entry.get("task") or "")[:60]
            how = f"its Run Job task {task} ran it" if task else "it ran it"
            said.append(f"{str(entry['job'])[:120]} failed with {str(entry['ran'])[:120]} ({how})")
    return "; ".join(said)


class OccurrenceQuerySet(models.QuerySet["Occurrence"]):
    def claim(self, key: str) -> bool:
        """Insert the occurrence; False when it already exists (a duplicate delivery).

        ON CONFLICT DO NOTHING waits for a concurrent insert of the same key to commit, so of
        fifty simultaneous deliveries exactly one claims it.
        """
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {self.model._meta.db_table} (key, outcome, seen_at)"
                f" VALUES (%s, '{CLAIMED_OUTCOME}', %s) ON CONFLICT (key) DO NOTHING RETURNING id",
                [key, timezone.now()],
            )
            return cursor.fetchone() is not None

    def claim_or_find(
        self, key: str, locks: Sequence[tuple[int, int]] = ()
    ) -> tuple[bool, str | None]:
        """`claim` in the same statement as what follows it: when claimed, take the
        transaction-scoped advisory `locks` (in order); when not (a duplicate), the ticket the
        first copy was assigned to. (True, None) or (False, ticket id or None).

        The statement reads with the snapshot it started with: a first copy committed while
        it waited on the conflict is not visible to it, so then the ticket is read again."""
        table = self.model._meta.db_table
        lock_columns = "".join(
            ", CASE WHEN claimed.id IS NOT NULL THEN pg_advisory_xact_lock(%s, %s)::text END"
            for _ in locks
        )
        with prepared_cursor() as cursor:
            cursor.execute(
                f"WITH inserted AS (INSERT INTO {table} (key, outcome, seen_at)"
                f"  VALUES (%s, '{CLAIMED_OUTCOME}', %s) ON CONFLICT (key) DO NOTHING RETURNING id)"
                " SELECT claimed.id IS NOT NULL,"
                f"  CASE WHEN claimed.id IS NULL THEN (SELECT ticket_id FROM {table}"
                f"   WHERE key = %s) END{lock_columns}"
                " FROM (SELECT (SELECT id FROM inserted) AS id) AS claimed",
                [key, timezone.now(), key, *(part for lock in locks for part in lock)],
            )
            row = cursor.fetchone()
        if row[0]:
            return True, None
        return False, row[1] if row[1] is not None else self.ticket_id_of(key)

    def assign(self, key: str, ticket_id: str | None, outcome: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {self.model._meta.db_table} SET ticket_id = %s, outcome = %s"
                " WHERE key = %s",
                [ticket_id, outcome, key],
            )

    def ticket_id_of(self, key: str) -> str | None:
        return self.filter(key=key).values_list("ticket_id", flat=True).first()

    def deliveries_of_failure(self, ticket_id: str) -> OccurrenceQuerySet:
        """The ticket's occurrences that are deliveries of its failure: not the keys JIRA's
        and Slack's callbacks are assigned to it under (`CALLBACK_OUTCOMES`), which only make
        a redelivered callback a duplicate."""
        return self.filter(ticket_id=ticket_id).exclude(outcome__in=CALLBACK_OUTCOMES)

    def alerts_counted_on(self, ticket_id: str) -> OccurrenceQuerySet:
        """The Azure alerts of the common alert schema (their Fired occurrences) counted on
        the ticket since it last regressed (all, when it never did): the alerts of its current
        failure whose Resolved names them. A legacy alert's key has more `|`-separated parts
        (integrations/parsers/azure_monitor.py; Azure allows no `|` in a rule's name), and its
        Resolved names its resource, not its Fired: it leaves no mark to wait for.

        One statement: when it last regressed is read by a subquery of it, not by a query of
        its own (PostgreSQL runs it before it reads the alerts, not per alert: an index probe
        of `occurrence_regressed`)."""
        counted = self.filter(ticket_id=ticket_id)
        since = counted.filter(outcome=Outcome.REGRESSED).order_by("-seen_at").values("seen_at")
        alerts = counted.filter(key__startswith="azure:", outcome__in=FAILURE_OUTCOMES)
        alerts = alerts.exclude(key__regex=r"^azure:[^|]*\|[^|]*\|")
        # Two alerts firing at once may take the fingerprint lock in the other order than
        # their claims read the clock: one claimed a moment before the regression may land
        # after it, on this failure.
        return alerts.alias(since=Subquery(since[:1])).filter(
            Q(since__isnull=True) | Q(seen_at__gte=F("since") - _LOCK_ORDER_MARGIN)
        )

    def counted_in_run(self, run_key: str) -> OccurrenceQuerySet:
        """The failure instances of the Databricks run `run_key`'s tasks (their keys extend
        the run's) counted on a ticket; not a task's success, which is assigned the ticket it
        ended. Served by `occurrence_databricks_key`."""
        return (
            self.filter(key__startswith=f"{run_key}:", ticket__isnull=False)
            .filter(key__startswith="databricks:")  # the index's condition, as written there
            .filter(outcome__in=FAILURE_OUTCOMES)
        )


class Occurrence(models.Model):
    """One physical failure instance; its unique key is what makes redeliveries duplicates."""

    key = models.CharField(max_length=700)
    ticket = models.ForeignKey(
        Ticket,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="occurrences",
        db_index=False,
    )
    outcome = models.CharField(max_length=16)
    seen_at = models.DateTimeField(default=timezone.now)

    objects = OccurrenceQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key"], name="occurrence_unique_key")]
        indexes = [
            # A ticket's occurrences, latest first (its API detail, its page): read from the
            # index's end instead of sorting the ticket's whole history.
            models.Index(fields=["ticket", "seen_at"], name="occurrence_ticket_seen"),
            models.Index(
                fields=["key"],
                condition=Q(key__startswith="databricks:"),
                name="occurrence_databricks_key",
                # A job's failure finds its run's task failures by prefix (`task_of_run`).
                opclasses=["varchar_pattern_ops"],
            ),
            models.Index(
                fields=["ticket", "seen_at"],
                condition=Q(outcome=Outcome.REGRESSED),
                # When a ticket last regressed (`alerts_counted_on`), without reading its
                # other occurrences; only regressions are written to it.
                name="occurrence_regressed",
            ),
        ]

    def __str__(self) -> str:
        return self.key


class FoldedTicket(models.Model):
    """A ticket folded into the one its failure is an occurrence of (`services
    .settle_fingerprint`, `services.settle_run`) and deleted: the id ingest's answer gave
    leads there (the API's 404 for it names `into`)."""

    ticket_id = models.CharField(primary_key=True, max_length=64)
    into = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    folded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.ticket_id} -> {self.into_id}"


class ActorKind(models.TextChoices):
    USER = "user"
    JIRA = "jira"
    SLACK = "slack"
    SYSTEM = "system"
    SOURCE = "source"
    REMEDIATION = "remediation"  # an automatic fix (integrations/remediation.py)


class AuditLog(models.Model):
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="audit_entries", db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now)
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor_name = models.CharField(max_length=200, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    action = models.CharField(max_length=64)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="audit_ticket_time")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.action} by {self.actor_kind}:{self.actor_name}"


class PipelineRule(models.Model):
    """Shared matching for rules keyed on a pipeline glob (`sales_*`) and optionally a source."""

    pipeline_pattern = models.CharField(
        max_length=300, help_text="Glob on the pipeline name, e.g. 'sales_*' or '*'."
    )
    source = models.CharField(
        max_length=32,
        blank=True,
        choices=choices(Source),
        help_text="Only events from this source (blank: any). A value outside the list would "
        "match nothing, so forms refuse it.",
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        abstract = True

    def matches(self, source: str, pipeline: str) -> bool:
        if self.source and self.source != source:
            return False
        return fnmatch.fnmatchcase(pipeline.lower(), self.pipeline_pattern.lower())


# Where a rule sends a ticket's alerts. A value Slack or JIRA cannot resolve fails every
# matching ticket's paging permanently (channel_not_found, 400 "project is required"), so
# forms refuse what cannot be a channel or a project key.
# A name: lowercase letters (any script), digits, hyphens, underscores and periods.
SLACK_CHANNEL_NAME = re.compile(r"#?[\w.-]{1,80}")
SLACK_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{8,}")  # a public, private or direct channel's id
JIRA_PROJECT_KEY = re.compile(r"[A-Z][A-Z0-9_]+")  # Atlassian's default project key pattern


def validate_slack_channel(value: str) -> None:
    if (SLACK_CHANNEL_NAME.fullmatch(value) and value == value.lower()) or (
        SLACK_CHANNEL_ID.fullmatch(value)
    ):
        return
    raise ValidationError(
        "Slack channel: expected a channel name such as #data-alerts (lowercase letters, "
        "digits, hyphens, underscores and periods, at most 80 characters, the # optional) "
        "or a channel id such as C024BE91L, not “%(value)s”.",
        code="invalid_slack_channel",
        params={"value": value},
    )


def validate_jira_project_key(value: str) -> None:
    if JIRA_PROJECT_KEY.fullmatch(value):
        return
    raise ValidationError(
        "JIRA project: expected a project key such as OPS (an uppercase letter, then "
        "uppercase letters, digits or underscores), not “%(value)s”.",
        code="invalid_jira_project",
        params={"value": value},
    )


class OwnershipRule(PipelineRule):
    order = models.PositiveIntegerField(default=100, help_text="Lower wins.")
    finops_team = models.CharField(max_length=200)
    finops_owner = models.CharField(max_length=200, blank=True)
    finops_cost_center = models.CharField(max_length=200, blank=True)
    slack_channel = models.CharField(
        max_length=200,
        blank=True,
        validators=[validate_slack_channel],
        help_text="A channel name (#data-alerts) or id (C024BE91L); blank: the default channel.",
    )
    jira_project = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_jira_project_key],
        help_text="A JIRA project key (OPS); blank: the default project.",
    )

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return f"{self.pipeline_pattern} → {self.finops_team}"


WINDOW_ORDER_MESSAGE = (
    "The maintenance window must end after it starts: set “Ends at” later than “Starts at”."
)


class SuppressionRule(PipelineRule):
    """A silence or maintenance window: matching failures are recorded, but open no ticket."""

    reason = models.CharField(max_length=300)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    hit_count = models.PositiveIntegerField(default=0, editable=False)
    created_by = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True)
                | Q(ends_at__isnull=True)
                | Q(ends_at__gt=models.F("starts_at")),
                name="suppression_window_ends_after_start",
                violation_error_message=WINDOW_ORDER_MESSAGE,
            )
        ]

    def __str__(self) -> str:
        return f"{self.pipeline_pattern}: {self.reason}"

    def clean(self) -> None:
        # Said on the field (the constraint's own check then skips it, and says the same).
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": WINDOW_ORDER_MESSAGE})

    def active_at(self, at: datetime) -> bool:
        if not self.enabled:
            return False
        if self.starts_at and at < self.starts_at:
            return False
        return not (self.ends_at and at >= self.ends_at)


class SlaPolicy(models.Model):
    priority = models.CharField(max_length=2, choices=choices(Priority), unique=True)
    seconds = models.PositiveIntegerField(
        help_text="Time allowed to acknowledge, in seconds (at least 60).",
        validators=[
            MinValueValidator(
                60,
                "The SLA must be at least 1 minute (60 seconds): a shorter one makes every new "
                "ticket of this priority breached at once.",
            )
        ],
    )

    class Meta:
        ordering = ["priority"]
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        return f"{self.priority}: {timedelta(seconds=self.seconds)}"


class JiraStatusMapping(models.Model):
    """One JIRA workflow status and the ticket status it means (the sync-back map, both ways).

    Inbound, a JIRA status change moves the ticket to the mapped status; outbound, a ticket
    status change moves the JIRA issue to the first JIRA status mapped to it that its workflow
    offers a transition to, and leaves it in any of them (acknowledged, unmapped by default,
    goes to the status mapped to in progress)."""

    jira_status = models.CharField(
        max_length=100, help_text="The JIRA status name, as the workflow spells it (any case)."
    )
    ticket_status = models.CharField(max_length=16, choices=choices(Status))
    order = models.PositiveIntegerField(
        default=100, help_text="Lower wins when several JIRA statuses map to one ticket status."
    )

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(
                Lower("jira_status"),
                name="jira_status_mapping_unique_name",
                violation_error_message="This JIRA status is already mapped (JIRA status names "
                "are compared ignoring case and surrounding spaces): edit that mapping instead.",
            )
        ]
        verbose_name = "JIRA status mapping"

    def __str__(self) -> str:
        return f"{self.jira_status} → {self.ticket_status}"

    def clean(self) -> None:
        # "  done  " is the JIRA status Done: compared (and stored) without surrounding spaces.
        self.jira_status = self.jira_status.strip()


class ResolutionQuerySet(models.QuerySet["Resolution"]):
    def usable(self) -> ResolutionQuerySet:
        """Fixes worth showing again: not marked wrong by staff."""
        return self.filter(marked_wrong_at__isnull=True)


class Resolution(models.Model):
    """What fixed a failure, as the responder who resolved it said, kept as knowledge: stored
    with the failure's fingerprint and embedding so the next failure like it can show it."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="resolutions")
    fix = models.TextField()
    note = models.TextField(blank=True)
    resolved_by = models.CharField(max_length=200)
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    created_at = models.DateTimeField(default=timezone.now)
    fingerprint = models.CharField(max_length=64)
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS, null=True, blank=True)
    embedding_model = models.CharField(max_length=100, blank=True)
    verified_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the pipeline succeeded again after this fix (the source's recovery).",
    )
    marked_wrong_at = models.DateTimeField(null=True, blank=True)
    marked_wrong_by = models.CharField(max_length=200, blank=True)
    through_incident = models.CharField(
        max_length=64,
        blank=True,
        help_text="The incident whose resolve wrote this fix on each of its members.",
    )
    told_in = models.CharField(
        max_length=80,
        blank=True,
        db_default="",
        help_text=(
            "The JIRA comment the fix was told in: `jira:<comment id>` (a resolving "
            "transition's), `jira-fix:<comment id>` (a `Fix:` comment). Its edit edits the fix."
        ),
    )

    objects = ResolutionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["fingerprint", "-created_at"], name="resolution_fingerprint"),
            HnswIndex(
                name="resolution_embedding_hnsw",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.fix[:60]}"

    @property
    def verified(self) -> bool:
        return self.verified_at is not None


def new_incident_id(at: datetime | None = None) -> str:
    """A readable id like `INC-20251210T123456-abc123`."""
    stamp = (at or timezone.now()).astimezone(UTC).strftime("%Y%m%dT%H%M%S")
    return f"INC-{stamp}-{secrets.token_hex(3)}"


class Incident(models.Model):
    """One outage: failures of several pipelines that name the same culprit within a window
    (tickets/incidents.py). Paged once (one JIRA issue, one Slack message) and acted on once."""

    id = models.CharField(primary_key=True, max_length=64, editable=False)
    group_key = models.CharField(max_length=400)
    culprit = models.CharField(max_length=300)
    culprit_detail = models.CharField(max_length=200, blank=True)
    error_type = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=16, choices=choices(Status), default=Status.OPEN)
    severity = models.CharField(max_length=10, choices=choices(Severity), default=Severity.MEDIUM)
    priority = models.CharField(max_length=2, choices=choices(Priority), default=Priority.P3)
    first_seen = models.DateTimeField(default=timezone.now)
    last_member_at = models.DateTimeField(default=timezone.now)
    member_count = models.PositiveIntegerField(default=0)
    recovered_count = models.PositiveIntegerField(default=0)
    # The first member: the incident's JIRA project, Slack channel and owner come from it.
    lead_ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    finops_team = models.CharField(max_length=200, blank=True)
    itsm_ticket_id = models.CharField("JIRA key", max_length=64, blank=True)
    slack_channel = models.CharField(max_length=200, blank=True)
    slack_ts = models.CharField(max_length=64, blank=True)
    # Slack's link to the incident's message, as a ticket's `slack_permalink` (asked once).
    slack_permalink = models.URLField(max_length=500, blank=True)
    paged_at = models.DateTimeField(null=True, blank=True)
    rca_result = models.TextField(blank=True)
    recommendations = models.JSONField(default=list, blank=True)
    rca_source = models.CharField(
        max_length=16, choices=RcaSource.choices, default=RcaSource.PENDING
    )
    rca_note = models.TextField(blank=True)
    rca_confidence = models.FloatField(null=True, blank=True)
    # How many members the last analysis covered, and when one was claimed (analysis/services.py
    # `analyse_incident`: one Gemini call when it forms, another only when it has grown).
    rca_members = models.PositiveIntegerField(default=0)
    rca_claimed_at = models.DateTimeField(null=True, blank=True)
    jira_status_at = models.DateTimeField(
        null=True, blank=True, help_text="When the last JIRA status change we applied happened."
    )
    jira_priority = models.CharField(
        max_length=32,
        blank=True,
        help_text="The incident's priority (JIRA's name) when we last created or updated its "
        "issue: the issue is raised only when the incident's gets graver than this.",
    )
    ack_ts = models.DateTimeField(null=True, blank=True)
    ack_user = models.CharField(max_length=200, blank=True)
    recovered_at = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-last_member_at"]
        indexes = [
            models.Index(fields=["group_key", "-last_member_at"], name="incident_group_recent"),
            models.Index(fields=["culprit", "-last_member_at"], name="incident_culprit_recent"),
            models.Index(fields=["status", "-last_member_at"], name="incident_status_recent"),
        ]

    def __str__(self) -> str:
        return self.id

    @property
    def is_open(self) -> bool:
        return self.merged_into_id is None and self.recovered_at is None

    @property
    def culprit_words(self) -> str:
        """The culprit as people say it ("SQL server sql-prod-01"): its titles everywhere. An
        alert rule's by its name as its alerts spell it (`culprit_detail`: "Azure alert rule
        VM-CPU-High"), which its key, lower-cased, does not keep; an Azure incident's by its
        tracking id and title ("Azure Service Health incident ABC1-DEF: Azure Data Factory -
        East US")."""
        if self.culprit.startswith(f"{CulpritKind.ALERT_RULE}:") and self.culprit_detail:
            return f"{KIND_WORDS[CulpritKind.ALERT_RULE]} {self.culprit_detail}"
        if self.culprit.startswith(f"{CulpritKind.SERVICE_HEALTH}:") and self.culprit_detail:
            return f"{readable_culprit(self.culprit)}: {self.culprit_detail}"
        return readable_culprit(self.culprit)


class IncidentEvent(models.Model):
    """One line of an incident's timeline: a member failure or recurrence, a related alert,
    an action by a responder, a JIRA/Slack delivery, a recovery."""

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=32)
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices, blank=True)
    actor_name = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["incident", "at"], name="incident_event_time")]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.kind}"


# --- the stats rollup (tickets/rollup.py; migration 0017) -----------------------------------------


class TicketStatsChange(models.Model):
    """One ticket's contribution to the counts, added (+1) or taken back (-1): written by a
    trigger on every ticket INSERT, DELETE and UPDATE that changes a counted column, in the same
    transaction, and folded into `TicketStatsDay` by beat (`tickets.tasks.fold_ticket_stats`).
    Append-only, so concurrent writers never wait for each other here."""

    id = models.BigAutoField(primary_key=True)
    day = models.DateField()
    error_type = models.CharField(max_length=32)
    status = models.CharField(max_length=16)
    severity = models.CharField(max_length=10)
    source = models.CharField(max_length=32)
    finops_team = models.CharField(max_length=200)
    sla_status = models.CharField(max_length=10)
    n = models.IntegerField()
    acknowledged = models.IntegerField()
    ack_total = models.BigIntegerField()
    resolved = models.IntegerField()
    resolve_total = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["day"], name="ticket_stats_change_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.n:+d}"


class TicketStatsDay(models.Model):
    """The tickets of one UTC day (by `timestamp`) counted by one value of one dimension
    (`error_type`, `status`, `severity`, `source`, `finops_team` or `sla_status`), with the
    sums the stats need. Rows are never left at zero tickets."""

    id = models.BigAutoField(primary_key=True)
    day = models.DateField()
    dimension = models.CharField(max_length=16)
    value = models.CharField(max_length=200)
    n = models.IntegerField()
    acknowledged = models.IntegerField()
    ack_total = models.BigIntegerField()
    sla_met = models.IntegerField()
    sla_breached = models.IntegerField()
    resolved = models.IntegerField()
    resolve_total = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "dimension", "value"], name="ticket_stats_day_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.dimension}={self.value}: {self.n}"
