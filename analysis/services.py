"""Root-cause analysis of a ticket: enrich, classify, embed, find similar incidents, ask Gemini
(grounded on them) and fall back to the rule-based RCA on any failure. A ticket is never left
without an RCA, and the rca_note says where it came from and why.

The slow parts (enrichment, the LLM) run outside any transaction; the result is written in one
short transaction at the end.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, JSONField, Q, Window
from django.db.models.expressions import RawSQL
from django.db.models.functions import RowNumber
from django.utils import timezone

from analysis import enrichment, enrichment_service
from analysis.alert_rca import build_alert_rca
from analysis.classifier import classify_error
from analysis.culprits import extract_culprit
from analysis.embeddings import EmbeddingError, configured_backend, failure_text, local_backend
from analysis.gemini import (
    UNAVAILABLE_OUTCOMES,
    Attempt,
    LlmFailure,
    RcaAnswer,
    gemini_configured,
    generate_rca,
)
from analysis.models import LlmCall, LlmOutcome
from analysis.prompt import (
    INCIDENT_SAMPLE_ALERTS,
    RcaPrompt,
    build_incident_prompt,
    build_rca_prompt,
)
from analysis.redaction import redact
from analysis.rules import build_rule_rca
from analysis.similar import similar_tickets_many
from rca_project.observability import LLM_CALLS, LLM_SECONDS, LLM_TOKENS, RCA_FALLBACKS
from tickets import incidents, lifecycle, rules
from tickets import services as ticket_services
from tickets.lifecycle import Actor
from tickets.models import AuditLog, Incident, RcaSource, Resolution, Ticket
from tickets.resolutions import PastFix, previous_fixes
from tickets.vocabulary import ADF_ALERT_ERROR, COUNTED_DETAILS, TRIGGERED_JOB_RUN, Source

logger = logging.getLogger(__name__)

HISTORY_SIZE = 5


@dataclass
class Analysis:
    error_type: str
    rca_result: str
    recommendations: list[str]
    confidence: float
    rca_source: str
    rca_note: str
    details: dict[str, Any] = field(default_factory=dict)
    # The rule-based RCA was made because Gemini was down: the failure's outcome.
    outage: str = ""
    # The ticket's earlier Gemini RCA was kept because Gemini was down: the failure's outcome.
    kept: str = ""


# In a ticket's details while its RCA keeps falling back for a Gemini outage: when it first
# did (ISO 8601, UTC, to the microsecond: compared as text). A rerun that meets the outage
# again within GEMINI_RERUN_WINDOW keeps it, so the window bounds a ticket's reruns
# (analysis/outage_reruns.py); a fallback after the window (a staff rerun in a later outage)
# starts it again; any other RCA of its own drops it.
RCA_OUTAGE_SINCE = "rca_outage_since"


def _outage_since(kept: object, now: datetime) -> str:
    """The ticket's RCA_OUTAGE_SINCE for a fallback at `now`: `kept` while its window runs."""
    window_start = (now - settings.GEMINI_RERUN_WINDOW).isoformat(timespec="microseconds")
    if isinstance(kept, str) and kept >= window_start:
        return kept
    return now.isoformat(timespec="microseconds")


def analyse_ticket(ticket_id: str, *, force: bool = False, reason: str = "") -> Ticket | None:
    """Write the ticket's RCA. Idempotent: an analysed ticket is left alone unless `force`."""
    return analyse_tickets([ticket_id], force=force, reason=reason).get(ticket_id)


@dataclass
class _Work:
    """One ticket on its way through a batch's analysis."""

    ticket: Ticket
    error_type: str
    signals: tuple[str, ...]
    missing: list[str]
    similar: list[tuple[Ticket, float]] = field(default_factory=list)
    fixes: list[PastFix] = field(default_factory=list)
    prompt: RcaPrompt | None = None
    attempts: list[Attempt] = field(default_factory=list)
    answer: RcaAnswer | LlmFailure | None = None
    analysis: Analysis | None = None
    # A forced analysis of a ticket whose own Gemini RCA read this same error text: kept
    # rather than replaced by the rules' when Gemini cannot be reached (`_answered`). Not when
    # the failure's error text is still unread: the rules' RCA says what is missing and why.
    keeps_gemini_rca: bool = False


def enrich_tickets(ticket_ids: Sequence[str]) -> dict[str, enrichment_service.Enriched]:
    """Fetch the error text of the tickets whose alert carried none (a Databricks job
    notification, an ADF metric alert) and that still wait for their analysis, before anything
    else is decided for them: the text is stored, and a ticket that named no culprit at ingest
    but whose text names one is placed in its incident now (`_store_enriched`), so that it
    pages through the incident like any member. A Databricks ticket's failure is decided by
    its fetched error first (`services.settle_fingerprint`), an ADF alert's that named no run
    by the run found (`services.settle_run`): one that is an occurrence of another ticket is
    folded into it (and is not among those returned). What each fetch gave,
    by ticket, for `analyse_tickets` (`enriched`) to use instead of fetching again."""
    tickets = Ticket.objects.defer("embedding").filter(
        pk__in=ticket_ids, rca_source=RcaSource.PENDING, details__needs_enrichment=True
    )
    fetched: dict[str, enrichment_service.Enriched] = {}
    databricks_down = ""  # once a read meets the API down, the batch's others are not tried
    for ticket in tickets:
        enriched = enrichment_service.enrich(ticket, databricks_down=databricks_down)
        databricks_down = databricks_down or enrichment_service.unread_for_now(ticket, enriched)
        if _store_enriched(ticket, enriched) is None:
            fetched[ticket.pk] = enriched
    return fetched


def _store_enriched(
    ticket: Ticket, enriched: enrichment_service.Enriched
) -> ticket_services.Folded | None:
    """Store a fetched error text (redacted) on its ticket, and the links the fetched run
    gives that the ticket lacks (a Databricks run page, also when the fetch gave no text),
    with the severity its class calls for when that is higher than the one the ticket got
    without it (a Databricks login failure was Medium, P3, for want of its text), and when
    the ticket named no culprit and the text names one, its culprit, group key and incident
    (`incidents.place_enriched`), in one transaction: a crash leaves both undone, and the
    redelivered work fetches again. The culprit's lock and the rows come before this UPDATE
    of the ticket, in the order ingest takes them. First, a Databricks ticket's failure is
    decided by the text (`settle_fingerprint`, also when the fetch gave none), and an ADF
    alert's that named no run by the run the fetch found (`settle_run`): folded into the
    ticket it is an occurrence of, it is stored nowhere (that ticket's own analysis
    stands)."""
    message = redact(enriched.error_message)
    # A Databricks error without its trace: whether the trace was read is no part of which
    # failure it is.
    correlated_on = redact(enriched.correlation_text) if message else ""
    correlated_on = correlated_on or message
    # A link the notification gave stays: the fetched one is the same run's.
    links = {**enriched.links, **(ticket.links or {})}
    linked = {"links": links} if links != ticket.links else {}
    kept: dict[str, Any] = {rules.RUN_OWNER: enriched.owner} if enriched.owner else {}
    # Kept whether or not the run's error was read: a notification of the run its Run Job task
    # triggered, landing later, is this failure (`settle_fingerprint`).
    kept |= {TRIGGERED_JOB_RUN: enriched.triggered_run} if enriched.triggered_run else {}
    if (
        not message
        and not linked
        and not kept
        and not enriched.run
        and ticket_services.FINGERPRINT_PENDING not in ticket.details
    ):
        return None
    # A run that did not fail (cancelled by a user, skipped) is no occurrence of a failure: it
    # joins no ticket nor incident, and ends here, paging nobody.
    did_not_fail = (
        enrichment.run_did_not_fail(enriched.details) if ticket.source == Source.DATABRICKS else ""
    )
    found = (
        None
        if ticket.culprit or not message or did_not_fail
        else extract_culprit(message, ticket.affected_entity, source=ticket.processing_mode)
    )
    culprit = found.label if found is not None else ""
    error_type = classify_error(message).error_type
    raised = (
        rules.severity_raised_by_class(ticket, error_type) if message and not did_not_fail else {}
    )
    with transaction.atomic():
        if did_not_fail:
            ticket_services.end_as_run_that_did_not_fail(ticket, did_not_fail)
            folded = None
        else:
            folded = ticket_services.settle_fingerprint(
                ticket,
                correlated_on,
                culprit,
                links,
                triggered_run=enriched.triggered_run,
            )
            if folded is None:
                folded = ticket_services.settle_run(ticket, enriched.run, culprit)
        if folded is not None:
            return folded
        if not message:
            if linked or kept:
                ticket.details = {**ticket.details, **kept}
                Ticket.objects.filter(pk=ticket.pk).update(
                    **linked, details=_keeping_counted_details(ticket.details)
                )
                ticket.links = links
                _route_to_run_owner(ticket, enriched)
            return None
        details = {**ticket.details, **enriched.details, **kept}
        details.pop(ticket_services.FINGERPRINT_PENDING, None)  # settled, here or by a copy
        if found is not None and found.label:
            incidents.place_enriched(
                ticket.pk, culprit=found.label, culprit_detail=found.detail, error_type=error_type
            )
        Ticket.objects.filter(pk=ticket.pk).update(
            error_message=message, details=_keeping_counted_details(details), **linked, **raised
        )
        if raised:  # its incident (joined at ingest or just now) is as grave as its members
            incidents.raise_to_member(ticket.pk)
        ticket.error_message, ticket.details, ticket.links = message, details, links
        _route_to_run_owner(ticket, enriched)
    for name, value in raised.items():
        setattr(ticket, name, value)
    return None


def _keeping_counted_details(details: dict[str, Any]) -> RawSQL:
    """`details` for an UPDATE of a ticket read before the run's (slow) read: the failures
    counted on the row meanwhile (a fold into it, a try: `COUNTED_DETAILS`) wrote theirs there,
    and they stay as the row has them; those it lacks are taken from `details`."""
    return RawSQL(
        "%s::jsonb || COALESCE((SELECT jsonb_object_agg(key, value) FROM jsonb_each(details)"
        " WHERE key = ANY(%s::text[])), '{}'::jsonb)",
        (json.dumps(details), list(COUNTED_DETAILS)),
        output_field=JSONField(),
    )


def _route_to_run_owner(ticket: Ticket, enriched: enrichment_service.Enriched) -> None:
    """The person the fetched run names (its job's run-as user, else its creator:
    `enrichment_service.databricks_owner`) owns the ticket where no ownership rule names an
    owner, as an Airflow task's `owner` does from its creation
    (`rules.route_to_declared_owner`)."""
    if enriched.owner:
        rules.route_to_declared_owner(
            ticket,
            Actor.system("enrichment"),
            via="databricks run",
            run_id=enriched.details.get("run_id", ""),
        )


def analyse_tickets(
    ticket_ids: Sequence[str],
    *,
    force: bool = False,
    reason: str = "",
    enriched: dict[str, enrichment_service.Enriched] | None = None,
) -> dict[str, Ticket]:
    """`analyse_ticket` for several tickets at once, each as if analysed alone, in order: one
    read of the tickets, one embedding call, the batch's Gemini calls in flight together (at
    most GEMINI_CONCURRENCY), and one transaction writing every RCA and its audit record.

    What one ticket of the batch sees of an earlier one is what it would see had that one been
    analysed first: it is among its similar tickets (compared here, not in the database, where
    its vector is not yet), and a Gemini RCA of the same fingerprint is reused. Unlike a ticket
    analysed before, such a similar ticket carries no RCA into the prompt yet.

    `enriched`: what `enrich_tickets` fetched for some of them (not fetched again). A ticket
    fetched here whose text names a culprit it lacked is placed as `enrich_tickets` places it
    (a forced re-analysis after the credentials were set: it joins as a member that paged)."""
    by_id = {
        ticket.pk: ticket for ticket in Ticket.objects.defer("embedding").filter(pk__in=ticket_ids)
    }
    found = [by_id[ticket_id] for ticket_id in dict.fromkeys(ticket_ids) if ticket_id in by_id]
    work: list[_Work] = []
    done: dict[str, Ticket] = {}
    for ticket in found:
        if ticket.rca_source != RcaSource.PENDING and not force:
            done[ticket.pk] = ticket
            continue
        read_before = ticket.error_message
        fetched = (enriched or {}).get(ticket.pk)
        if fetched is None:
            fetched = enrichment_service.enrich(ticket)
            if _store_enriched(ticket, fetched) is not None:
                continue  # an occurrence of another ticket: folded into it
        if fetched.error_message:
            ticket.error_message = redact(fetched.error_message)
        ticket.details = {**ticket.details, **fetched.details}
        classification = ticket_services.classify_failure(
            ticket.error_message, ticket.details, ticket.processing_mode
        )
        work.append(
            _Work(
                ticket,
                classification.error_type,
                classification.signals,
                fetched.missing,
                keeps_gemini_rca=force
                and _own_gemini_rca(ticket)
                and ticket.error_message == read_before
                and not ticket.details.get("needs_enrichment"),
            )
        )
    if not work:
        return done
    _embed([(item.ticket, item.error_type) for item in work])
    # Most installations start with no recorded fix: one query says so for the whole batch.
    any_fixes = Resolution.objects.usable().exists()
    stored = similar_tickets_many([item.ticket for item in work])
    for index, item in enumerate(work):
        item.similar = _with_earlier(
            item.ticket, stored[item.ticket.pk], [w.ticket for w in work[:index]]
        )
        item.fixes = previous_fixes(item.ticket) if any_fixes else []
    _analyse(work, force)
    for item in work:
        assert item.analysis is not None
        if item.fixes:
            item.analysis.details["previous_fixes"] = [fix.as_dict() for fix in item.fixes]
        if reason:
            item.analysis.rca_note = f"{reason}; {item.analysis.rca_note}"
    done.update(_save(work, force))
    return done


RCA_REQUESTED = "rca requested"
# In the audit details of a request a run asked for earlier answers (nothing more queued).
ANSWERED_BY_EARLIER = "answered_by_earlier"
# In the audit details of a request whose run the broker refused.
NOT_QUEUED = "not_queued"
_RCA_REQUEST_LOCK = 5


def request_rca(
    ticket_id: str, actor: Actor, *, publish: Callable[[], object], note: str = ""
) -> bool:
    """Staff asked for a new RCA: `publish` its run (analysis.tasks.request_fresh_rca) and
    audit it. False when a fresh RCA asked for earlier is still under way (a double click): it
    answers this request too (`rca_request_under_way`); it is audited as answered by that one,
    so clicks that keep coming while a run that died is still in its window do not keep it
    shut. A run the broker refused is audited `not_queued` (it answers no later request) and
    the refusal is raised once that is committed.

    The ticket's requests take turns until the run is published or refused: two requests at
    the same instant are one run, and a request is never answered by one whose run the broker
    is about to refuse. They take turns on an advisory lock, not the ticket's row lock, which
    a webhook's recurrence, the analysis and every lifecycle change wait for: the broker may
    hang for seconds (its socket timeouts, the publish retry). The request's time is taken
    before its run is published, so an analysis that comes before the commit is still later."""
    refusal: Exception | None = None
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", list(_rca_request_lock(ticket_id))
            )
        ticket = Ticket.objects.defer("embedding").get(pk=ticket_id)
        under_way = rca_request_under_way(ticket)
        details: dict[str, Any] = {}
        if note := redact(note.strip()):
            details["note"] = note
        request = lifecycle.audit_entry(ticket, actor, RCA_REQUESTED)  # made before its run
        if under_way:
            details[ANSWERED_BY_EARLIER] = True
        else:
            try:
                publish()
            except Exception as exc:
                details[NOT_QUEUED] = True
                refusal = exc
        request.details = details
        request.save()
    if refusal is not None:
        raise refusal
    return not under_way


def _rca_request_lock(ticket_id: str) -> tuple[int, int]:
    """The advisory lock a ticket's rerun requests take turns on (key pair; the classes 1-4
    and 6 are ingest's and placement's: tickets.services, tickets.incidents)."""
    return _RCA_REQUEST_LOCK, zlib.crc32(ticket_id.encode()) - 2**31


def rca_request_lapse() -> timedelta:
    """How long a fresh RCA's run may take (its run and Gemini's attempts): one asked for
    longer ago than this that has not ended died."""
    return timedelta(
        seconds=settings.GEMINI_TIMEOUT_SECONDS * settings.GEMINI_MAX_ATTEMPTS
        + settings.ENRICHMENT_TIMEOUT_SECONDS
        + 30
    )


def rca_request_under_way(ticket: Ticket) -> bool:
    """A fresh RCA was asked for after the ticket's last analysis, recently enough that its run
    may not have ended (a run that died lets the next request through), and was queued."""
    since = timezone.now() - rca_request_lapse()
    if ticket.analysed_at is not None and ticket.analysed_at > since:
        since = ticket.analysed_at
    return (
        AuditLog.objects.filter(ticket_id=ticket.pk, action=RCA_REQUESTED, created_at__gt=since)
        .exclude(details__has_key=ANSWERED_BY_EARLIER)
        .exclude(details__has_key=NOT_QUEUED)
        .exists()
    )


def _embed(tickets: list[tuple[Ticket, str]]) -> None:
    """Embed the tickets' failures in one call to the backend."""
    texts = [failure_text(error_type, ticket.error_message) for ticket, error_type in tickets]
    backend = configured_backend()
    try:
        vectors = backend.embed(texts)
    except EmbeddingError as exc:
        logger.warning("embedding with %s failed (%s); using the local model", backend.name, exc)
        backend = local_backend()
        vectors = backend.embed(texts)
    for (ticket, _), vector in zip(tickets, vectors, strict=True):
        ticket.embedding = vector
        ticket.embedding_model = backend.name


def embed_tickets(ticket_ids: Sequence[str]) -> None:
    """Embed tickets that take an incident's shared analysis instead of their own (analysed
    alone, a ticket is embedded with its RCA), so similar-ticket search and the previous fixes
    find them, and find for them, as for any ticket. One embedding call and one UPDATE for the
    batch; a ticket embedded already is left alone."""
    tickets = list(
        Ticket.objects.filter(pk__in=ticket_ids, embedding__isnull=True).only(
            "pk", "error_type", "error_message"
        )
    )
    if not tickets:
        return
    _embed([(ticket, ticket.error_type) for ticket in tickets])
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Ticket._meta.db_table} AS t SET embedding = v.embedding,"
            " embedding_model = v.model"
            " FROM unnest(%s::text[], %s::vector[], %s::text[]) AS v(id, embedding, model)"
            " WHERE t.id = v.id AND t.embedding IS NULL",
            [
                [t.pk for t in tickets],
                [_vector_text(t.embedding) for t in tickets],
                [t.embedding_model for t in tickets],
            ],
        )


def _with_earlier(
    ticket: Ticket, found: list[tuple[Ticket, float]], earlier: list[Ticket], k: int = 5
) -> list[tuple[Ticket, float]]:
    """The ticket's similar tickets from the database, and the batch's earlier tickets that
    are at least as close (their vectors are not stored yet); the k closest."""
    found = list(found)
    if not earlier or ticket.embedding is None:
        return found
    others = [
        other
        for other in earlier
        if other.embedding_model == ticket.embedding_model and other.embedding is not None
    ]
    if not others:
        return found
    # Unit vectors: the cosine similarity is their dot product.
    scores = numpy.asarray([o.embedding for o in others]) @ numpy.asarray(ticket.embedding)
    floor = settings.SIMILARITY_FLOOR
    found.extend((other, float(score)) for other, score in zip(others, scores, strict=True))
    found = [(other, score) for other, score in found if score >= floor]
    found.sort(key=lambda pair: -pair[1])
    return found[:k]


def _analyse(work: list[_Work], force: bool) -> None:
    """Set each item's analysis: Gemini's (or a reused one), the rules' otherwise."""
    if not gemini_configured():
        RCA_FALLBACKS.labels("not_configured").inc(len(work))
        for item in work:
            note = "rule-based: no GEMINI_API_KEY configured"
            item.analysis = _rules(item, note)
        return
    cached = {} if force else _recent_gemini_rcas(work)
    calls: list[LlmCall] = []
    pending = list(work)
    while pending:
        # Of several tickets with one fingerprint, the first asks Gemini; the others reuse its
        # answer, as they would had it been analysed before them (or ask in turn if it failed).
        asking: list[_Work] = []
        later: list[_Work] = []
        fingerprints: set[str] = set()
        for item in pending:
            fingerprint = item.ticket.fingerprint
            reuse = cached.get(fingerprint)
            if reuse is not None and not force:
                item.analysis = _reused(item, reuse)
                calls.append(
                    LlmCall(
                        ticket=item.ticket,
                        model=settings.GEMINI_MODEL,
                        outcome=LlmOutcome.CACHE_HIT,
                    )
                )
            elif fingerprint in fingerprints and not force:
                later.append(item)
            else:
                fingerprints.add(fingerprint)
                asking.append(item)
        _ask_gemini(asking, force)
        for item in asking:
            calls.extend(_recorded(item.ticket.pk, "rca", item.attempts))
            item.analysis = _answered(item)
            if isinstance(item.answer, RcaAnswer):
                cached.setdefault(item.ticket.fingerprint, item.ticket)
        pending = later
    LlmCall.objects.bulk_create(calls)


def _ask_gemini(work: list[_Work], force: bool) -> None:
    """Each item's Gemini call (its prompt built here), several in flight at once; the attempts
    are kept on the item, to be recorded by the caller's thread. A forced analysis (a fresh
    RCA staff asked for, a ticket detached from its incident) asks even while Gemini is held
    to be down."""
    if not work:
        return
    histories = _histories([item.ticket for item in work])
    for item in work:
        item.prompt = build_rca_prompt(
            item.ticket,
            item.error_type,
            history=histories.get(item.ticket.pk, []),
            similar=item.similar,
            missing=item.missing,
            fixes=item.fixes,
        )

    def ask(item: _Work) -> None:
        assert item.prompt is not None
        try:
            item.answer = generate_rca(
                item.prompt.system_instruction,
                item.prompt.contents,
                on_attempt=item.attempts.append,
                despite_outage=force,
            )
        except LlmFailure as failure:
            item.answer = failure

    if len(work) == 1:
        ask(work[0])
        return
    list(_gemini_threads().map(ask, work))


_gemini_pool: tuple[int, int, ThreadPoolExecutor] | None = None
_gemini_pool_lock = threading.Lock()


def _gemini_threads() -> ThreadPoolExecutor:
    """The process's GEMINI_CONCURRENCY threads for Gemini calls, kept for its life: a pool per
    batch started a thread per call. A forked child (a Celery pool process) starts its own, as
    threads do not survive a fork."""
    global _gemini_pool
    key = (os.getpid(), settings.GEMINI_CONCURRENCY)
    with _gemini_pool_lock:
        if _gemini_pool is None or _gemini_pool[:2] != key:
            if _gemini_pool is not None and _gemini_pool[0] == key[0]:
                _gemini_pool[2].shutdown(wait=False)  # the setting changed: its threads end
            pool = ThreadPoolExecutor(settings.GEMINI_CONCURRENCY, thread_name_prefix="gemini")
            _gemini_pool = (*key, pool)
        return _gemini_pool[2]


def _histories(tickets: list[Ticket]) -> dict[str, list[Ticket]]:
    """Each ticket's pipeline's latest tickets (itself excluded), newest first, in one query."""
    pipelines = {ticket.pipeline for ticket in tickets}
    ranked = (
        Ticket.objects.filter(pipeline__in=pipelines)
        .defer("embedding")
        .annotate(
            rank=Window(RowNumber(), partition_by=[F("pipeline")], order_by=F("timestamp").desc())
        )
        .filter(rank__lte=HISTORY_SIZE + 1)  # each leaves itself out
        .order_by("pipeline", "rank")
    )
    by_pipeline: dict[str, list[Ticket]] = {}
    for row in ranked:
        by_pipeline.setdefault(row.pipeline, []).append(row)
    return {
        ticket.pk: [t for t in by_pipeline.get(ticket.pipeline, []) if t.pk != ticket.pk][
            :HISTORY_SIZE
        ]
        for ticket in tickets
    }


def _own_gemini_rca(ticket: Ticket) -> bool:
    """The ticket carries a Gemini RCA of its own, not its incident's."""
    return ticket.rca_source == RcaSource.GEMINI and not ticket.rca_note.startswith(
        (incidents.SHARED_NOTE, incidents.DETACHED_NOTE)
    )


def _kept(item: _Work, failure: LlmFailure) -> Analysis:
    """The ticket's Gemini RCA as it was: a re-run that could not reach Gemini has nothing
    better (the rules' RCA is a guess from the text), and says so in its note."""
    note = (
        f"earlier Gemini RCA kept: the re-run could not reach Gemini"
        f" ({failure.outcome}: {failure.reason}); ask again later"
    )
    return _stored_gemini_rca(item, item.ticket, note, kept=failure.outcome)


def _answered(item: _Work) -> Analysis:
    answer = item.answer
    if isinstance(answer, LlmFailure):
        RCA_FALLBACKS.labels(answer.outcome).inc()
        if item.keeps_gemini_rca and answer.outcome in UNAVAILABLE_OUTCOMES:
            return _kept(item, answer)
        note = f"rule-based: Gemini failed ({answer.outcome}: {answer.reason})"
        analysis = _rules(item, note)
        if answer.outcome in UNAVAILABLE_OUTCOMES:
            analysis.outage = answer.outcome
        return analysis
    assert isinstance(answer, RcaAnswer) and item.prompt is not None
    grounded_on = [tid for tid in answer.similar_ticket_ids if tid in item.prompt.similar_ids]
    return Analysis(
        error_type=_reconcile(item, answer.error_class),
        rca_result=answer.root_cause,
        recommendations=answer.recommendations,
        confidence=answer.confidence,
        rca_source=RcaSource.GEMINI,
        rca_note=f"Gemini ({settings.GEMINI_MODEL})",
        details={
            "llm_error_class": answer.error_class,
            "llm_severity": answer.severity,
            "grounded_on": grounded_on,
        },
    )


def _reused(item: _Work, cached: Ticket) -> Analysis:
    note = f"Gemini RCA reused from {cached.id} (same failure fingerprint)"
    details = {"llm_error_class": cached.details.get("llm_error_class", "")}
    return _stored_gemini_rca(item, cached, note, details=details)


def _stored_gemini_rca(item: _Work, source: Ticket, note: str, **extra: Any) -> Analysis:
    """The Gemini RCA stored on `source` (the item's own ticket, or another of its
    fingerprint), as this item's analysis."""
    return Analysis(
        error_type=_reconcile(item, source.details.get("llm_error_class", "")),
        rca_result=source.rca_result,
        recommendations=list(source.recommendations),
        confidence=source.confidence or 0.0,
        rca_source=RcaSource.GEMINI,
        rca_note=note,
        **extra,
    )


def _observe(attempt: Attempt) -> None:
    LLM_CALLS.labels(attempt.outcome).inc()
    LLM_SECONDS.observe(attempt.latency_ms / 1000)
    LLM_TOKENS.labels("prompt").inc(attempt.prompt_tokens or 0)
    LLM_TOKENS.labels("output").inc(attempt.output_tokens or 0)


def apply_llm_call_retention() -> int:
    """Delete the records of LLM calls older than LLM_CALL_RETENTION_DAYS; how many went."""
    cutoff = timezone.now() - settings.LLM_CALL_RETENTION
    deleted, _ = LlmCall.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def _recorded(ticket_id: str | None, purpose: str, attempts: list[Attempt]) -> list[LlmCall]:
    """Metrics for each attempt, and its LlmCall row (unsaved)."""
    for attempt in attempts:
        _observe(attempt)
    return [LlmCall.of_attempt(ticket_id, purpose, attempt) for attempt in attempts]


def llm_call_recorder(ticket_id: str | None, purpose: str) -> Callable[[Attempt], None]:
    """Each attempt at a Gemini call: metrics and an LlmCall row (model, latency, tokens)."""

    def record(attempt: Attempt) -> None:
        _observe(attempt)
        LlmCall.of_attempt(ticket_id, purpose, attempt).save()

    return record


def _reconcile(item: _Work, llm_class: str) -> str:
    """The rule classifier decides the ticket's class (it drives fingerprints, severity and
    stats, and cannot be talked into anything); the LLM's class only fills in for Unknown, and
    not while the failure's error text is unread (`needs_enrichment`): its message names only
    a job or a rule, and a class read from names is a guess (`classify_failure`)."""
    if (
        item.error_type == "Unknown"
        and llm_class
        and not item.ticket.details.get("needs_enrichment")
    ):
        return llm_class
    return item.error_type


def _recent_gemini_rcas(work: list[_Work]) -> dict[str, Ticket]:
    """The latest recent Gemini RCA of each fingerprint in the batch, from outside it."""
    since = timezone.now() - timedelta(seconds=settings.RCA_CACHE_SECONDS)
    latest: dict[str, Ticket] = {}
    rows = (
        Ticket.objects.filter(
            fingerprint__in={item.ticket.fingerprint for item in work},
            rca_source=RcaSource.GEMINI,
            analysed_at__gte=since,
        )
        .exclude(pk__in=[item.ticket.pk for item in work])
        .defer("embedding")
        .order_by("fingerprint", "-analysed_at")
        .distinct("fingerprint")
    )
    for row in rows:
        latest[row.fingerprint] = row
    return latest


def _rules(item: _Work, note: str) -> Analysis:
    """The rule-based RCA; a fix recorded for this failure (or one like it) comes first."""
    ticket = item.ticket
    # An Azure alert that is not a pipeline failure is explained as the alert it is.
    alert_rca = (
        build_alert_rca(ticket.pipeline, ticket.details, ticket.affected_entity, ticket.links)
        if ticket.processing_mode == "azure-monitor"
        else None
    )
    rca = alert_rca or build_rule_rca(
        item.error_type,
        ticket.error_message,
        pipeline="" if ticket.details.get("named_after_alert_rule") else ticket.pipeline,
        source=ticket.source,
        details=ticket.details,
        # Its alert carried no error text and none was fetched: say why, quote nothing.
        unread="; ".join(item.missing) if ticket.details.get("needs_enrichment") else "",
        errors=[ticket.details[ADF_ALERT_ERROR]] if ticket.details.get(ADF_ALERT_ERROR) else (),
    )
    if item.missing:
        note = f"{note}; missing: {'; '.join(item.missing)}"
    recommendations = list(rca.recommendations)
    if item.fixes:
        recommendations.insert(0, item.fixes[0].headline)
    return Analysis(
        error_type=item.error_type,
        rca_result=rca.root_cause,
        recommendations=recommendations,
        confidence=rca.confidence,
        rca_source=RcaSource.RULES,
        rca_note=note,
    )


# What an analysis writes on the ticket.
_ANALYSIS_FIELDS = (
    "error_type",
    "error_message",
    "rca_result",
    "recommendations",
    "confidence",
    "rca_source",
    "rca_note",
    "analysed_at",
    "rca_outage",
    "details",
    "embedding",
    "embedding_model",
    "updated_at",
)


def _write_analyses(tickets: list[Ticket]) -> None:
    """One UPDATE of `_ANALYSIS_FIELDS` for every ticket (from arrays, row by row: the ORM's
    bulk_update builds a CASE per field and ticket, and compiling it cost more than the
    writes)."""
    if not tickets:
        return
    table = Ticket._meta.db_table
    # An Airflow try counted while the analysis ran wrote its facts (and its run, when its
    # logical date is the latest) on the row, and a Databricks task failing alike the tasks it
    # counts: they are kept, not those the analysis read before it.
    columns = ", ".join(
        f"{name} = v.{name}"
        if name != "details"
        else "details = CASE WHEN t.source <> ALL(%s::text[]) THEN v.details"
        " ELSE (v.details - %s::text[]) || COALESCE((SELECT jsonb_object_agg(key, value)"
        " FROM jsonb_each(t.details) WHERE key = ANY(%s::text[])), '{}'::jsonb) END"
        for name in _ANALYSIS_FIELDS
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS t SET {columns} FROM ("
            " SELECT id, error_type, error_message, rca_result, recommendations::jsonb,"
            "  confidence, rca_source, rca_note, analysed_at, rca_outage, details::jsonb,"
            "  embedding::vector, embedding_model, updated_at"
            " FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[],"
            "  %s::float8[], %s::text[], %s::text[], %s::timestamptz[], %s::text[], %s::text[],"
            "  %s::text[], %s::text[], %s::timestamptz[])"
            " AS r(id, error_type, error_message, rca_result, recommendations, confidence,"
            "  rca_source, rca_note, analysed_at, rca_outage, details, embedding,"
            "  embedding_model, updated_at)) AS v WHERE t.id = v.id",
            [
                [Source.AIRFLOW, Source.DATABRICKS],
                list(COUNTED_DETAILS),
                list(COUNTED_DETAILS),
                [t.pk for t in tickets],
                [t.error_type for t in tickets],
                [t.error_message for t in tickets],
                [t.rca_result for t in tickets],
                [json.dumps(t.recommendations) for t in tickets],
                [t.confidence for t in tickets],
                [t.rca_source for t in tickets],
                [t.rca_note for t in tickets],
                [t.analysed_at for t in tickets],
                [t.rca_outage for t in tickets],
                [json.dumps(t.details) for t in tickets],
                [_vector_text(t.embedding) for t in tickets],
                [t.embedding_model for t in tickets],
                [t.updated_at for t in tickets],
            ],
        )


def _vector_text(vector: Sequence[float] | None) -> str | None:
    return None if vector is None else "[" + ",".join(repr(float(v)) for v in vector) + "]"


def _save(work: list[_Work], force: bool) -> dict[str, Ticket]:
    """Write the batch's RCAs in one transaction: only on tickets that still wait for theirs
    (unless forced), so a redelivered copy of this work that finished first is never
    overwritten; one audit record each, and the live event after the commit."""
    now = timezone.now()
    befores: dict[str, dict[str, Any]] = {}
    for item in work:
        ticket, analysis = item.ticket, item.analysis
        assert analysis is not None
        befores[ticket.pk] = {"error_type": ticket.error_type, "rca_source": ticket.rca_source}
        ticket.error_type = analysis.error_type
        ticket.rca_result = analysis.rca_result
        ticket.recommendations = analysis.recommendations
        ticket.confidence = analysis.confidence
        ticket.rca_source = analysis.rca_source
        ticket.rca_note = analysis.rca_note
        ticket.rca_outage = analysis.outage
        ticket.analysed_at = ticket.updated_at = now
        outage_since = _outage_since(ticket.details.get(RCA_OUTAGE_SINCE), now)
        ticket.details = {
            **{k: v for k, v in ticket.details.items() if k != RCA_OUTAGE_SINCE},
            **analysis.details,
            "similar": [{"id": t.id, "similarity": round(s, 3)} for t, s in item.similar],
        }
        if analysis.outage:
            ticket.details[RCA_OUTAGE_SINCE] = outage_since
    ids = [item.ticket.pk for item in work]
    saved: dict[str, Ticket] = {}
    with transaction.atomic():
        # One locking read and one UPDATE instead of a locked re-read and a save per ticket.
        rows = Ticket.objects.filter(pk__in=ids)
        if not force:
            rows = rows.filter(rca_source=RcaSource.PENDING)
        # By id, the order every multi-ticket lock takes (`incidents.lock_with_members`).
        locked = rows.select_for_update(no_key=True, of=("self",)).order_by("pk")
        writable = set(locked.values_list("pk", flat=True))
        written = [item for item in work if item.ticket.pk in writable]
        _write_analyses([item.ticket for item in written])
        actor = Actor.system("analysis")
        AuditLog.objects.bulk_create(
            [
                lifecycle.audit_entry(
                    item.ticket,
                    actor,
                    "analysed",
                    before=befores[item.ticket.pk],
                    after={
                        "error_type": item.ticket.error_type,
                        "rca_source": item.ticket.rca_source,
                    },
                    details=_audit_details(item),
                )
                for item in written
            ]
        )
        for item in written:
            lifecycle.announce(item.ticket.pk, "analysed", actor)
            saved[item.ticket.pk] = item.ticket
    others = [ticket_id for ticket_id in ids if ticket_id not in writable]
    if others:
        # analysed meanwhile by a redelivered copy of this work (or deleted)
        saved.update({t.pk: t for t in Ticket.objects.defer("embedding").filter(pk__in=others)})
    return saved


def _audit_details(item: _Work) -> dict[str, Any]:
    assert item.analysis is not None
    details: dict[str, Any] = {"signals": list(item.signals), "note": item.ticket.rca_note}
    if item.analysis.kept:
        details["kept_earlier_rca"] = item.analysis.kept
    return details


# --- incidents: one analysis for all members -----------------------------------------------------

# Members read for the prompt's sample: the distinct error messages among the first ones.
INCIDENT_SAMPLE_SCAN = 500
PAST_INCIDENTS = 3


def _store_shared_cause(incident: Incident, note: str) -> None:
    incidents.store_analysis(
        incident.pk,
        rca_result=incidents.shared_cause(incident),
        recommendations=incidents.shared_recommendations(incident),
        rca_source=RcaSource.RULES,
        rca_note=note,
        confidence=None,
        members=incident.member_count,
    )


def share_incident_analysis(ticket_id: str) -> bool:
    """A member of an incident takes the incident's analysis, not its own: no Gemini call per
    member. The incident itself is analysed by Gemini once when it forms and again when it
    has grown materially (`analyse_incident`); a member processed meanwhile takes what the
    incident has (the rule-based shared cause at first) and gets the new analysis when it is
    stored. False when the ticket is in no incident."""
    incident_id = Ticket.objects.filter(pk=ticket_id).values_list("incident_id", flat=True).first()
    if not incident_id:
        return False
    analyse_incident(incident_id)
    return incidents.share_analysis(ticket_id)


def analyse_incident(incident_id: str) -> bool:
    """One RCA over the incident, when it needs one: it has none yet, or it has
    INCIDENT_RCA_GROWTH times the members the last one covered. Concurrent callers are
    coalesced by a claim on the incident (one conditional UPDATE): only the one that takes
    it calls Gemini; a claim left by a killed worker lapses after the longest call can take.
    Without a Gemini key, and on any Gemini failure or invalid answer, the rule-based shared
    cause is written (so its counts follow the incident's growth too). True when it analysed."""
    now = timezone.now()
    lapse = settings.GEMINI_TIMEOUT_SECONDS * settings.GEMINI_MAX_ATTEMPTS + 30
    claimed = (
        Incident.objects.filter(pk=incident_id, merged_into__isnull=True)
        .filter(
            Q(rca_claimed_at__isnull=True) | Q(rca_claimed_at__lt=now - timedelta(seconds=lapse))
        )
        .filter(
            Q(rca_members=0) | Q(member_count__gte=F("rca_members") * settings.INCIDENT_RCA_GROWTH)
        )
        .update(rca_claimed_at=now)
    )
    if not claimed:
        return False
    incident = Incident.objects.get(pk=incident_id)
    if not gemini_configured():
        RCA_FALLBACKS.labels("not_configured").inc()
        _store_shared_cause(incident, "rule-based: no Gemini key")
        return True
    members = incident.members.defer("embedding")
    failures = list(
        members.exclude(source=Source.AZURE_MONITOR).order_by("timestamp")[:INCIDENT_SAMPLE_SCAN]
    )
    alerts = list(
        members.filter(source=Source.AZURE_MONITOR).order_by("timestamp")[:INCIDENT_SAMPLE_ALERTS]
    )
    seen = incidents.affected(incident)
    past = list(
        Incident.objects.filter(culprit=incident.culprit, merged_into__isnull=True)
        .exclude(pk=incident.pk)
        .exclude(rca_result="")
        .order_by("-first_seen")[:PAST_INCIDENTS]
    )
    prompt = build_incident_prompt(
        incident,
        members=_distinct_first(failures),
        alerts=alerts,
        places=seen["places"],
        pipeline_count=len(seen["pipelines"]),
        past=past,
    )
    try:
        answer = generate_rca(
            prompt.system_instruction,
            prompt.contents,
            on_attempt=llm_call_recorder(incident.lead_ticket_id, "incident"),
        )
    except LlmFailure as failure:
        RCA_FALLBACKS.labels(failure.outcome).inc()
        _store_shared_cause(
            incident, f"rule-based: Gemini failed ({failure.outcome}: {failure.reason})"
        )
        return True
    grounded_on = [i for i in answer.similar_ticket_ids if i in prompt.similar_ids]
    note = f"Gemini ({settings.GEMINI_MODEL}) over {incident.member_count} members"
    incidents.store_analysis(
        incident_id,
        rca_result=answer.root_cause,
        recommendations=answer.recommendations,
        rca_source=RcaSource.GEMINI,
        rca_note=note + (f"; grounded on {', '.join(grounded_on)}" if grounded_on else ""),
        confidence=answer.confidence,
        members=incident.member_count,
    )
    return True


def _distinct_first(members: list[Ticket]) -> list[Ticket]:
    """Members with an error message not seen before first (in time order), then the rest."""
    seen: set[str] = set()
    first: list[Ticket] = []
    rest: list[Ticket] = []
    for member in members:
        key = member.error_message[:500]
        (rest if key in seen else first).append(member)
        seen.add(key)
    return first + rest
