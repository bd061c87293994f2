"""Root-cause analysis of a ticket: enrich, classify, embed, find similar incidents, ask Gemini
(grounded on them) and fall back to the rule-based RCA on any failure. A ticket is never left
without an RCA, and the rca_note says where it came from and why.

The slow parts (enrichment, the LLM) run outside any transaction; the result is written in one
short transaction at the end.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from analysis import enrichment_service
from analysis.alert_rca import build_alert_rca
from analysis.classifier import classify_error
from analysis.embeddings import EmbeddingError, configured_backend, failure_text, local_backend
from analysis.gemini import Attempt, LlmFailure, gemini_configured, generate_rca
from analysis.models import LlmCall, LlmOutcome
from analysis.prompt import INCIDENT_SAMPLE_ALERTS, build_incident_prompt, build_rca_prompt
from analysis.redaction import redact
from analysis.rules import build_rule_rca
from analysis.similar import similar_tickets
from rca_project.observability import LLM_CALLS, LLM_SECONDS, LLM_TOKENS, RCA_FALLBACKS
from tickets import incidents, lifecycle
from tickets.lifecycle import Actor
from tickets.models import Incident, RcaSource, Ticket
from tickets.resolutions import PastFix, previous_fixes
from tickets.vocabulary import Source

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


def analyse_ticket(ticket_id: str, *, force: bool = False, reason: str = "") -> Ticket | None:
    """Write the ticket's RCA. Idempotent: an analysed ticket is left alone unless `force`."""
    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is None or (ticket.rca_source != RcaSource.PENDING and not force):
        return ticket

    enriched = enrichment_service.enrich(ticket)
    if enriched.error_message:
        ticket.error_message = redact(enriched.error_message)
    ticket.details = {**ticket.details, **enriched.details}
    classification = classify_error(ticket.error_message)
    _embed(ticket, classification.error_type)
    similar = similar_tickets(ticket)
    fixes = previous_fixes(ticket)
    analysis = _analyse(ticket, classification.error_type, similar, enriched.missing, force, fixes)
    if fixes:
        analysis.details["previous_fixes"] = [fix.as_dict() for fix in fixes]
    if reason:
        analysis.rca_note = f"{reason}; {analysis.rca_note}"
    return _save(ticket, analysis, similar, classification.signals, force)


def record_rca_request(ticket_id: str, actor: Actor) -> None:
    """Staff asked for a new RCA: audit it (analysis.tasks.request_fresh_rca runs it)."""
    ticket = Ticket.objects.get(pk=ticket_id)
    lifecycle.write_audit(ticket, actor, "rca requested")


def _embed(ticket: Ticket, error_type: str) -> None:
    text = failure_text(error_type, ticket.error_message)
    backend = configured_backend()
    try:
        vector = backend.embed([text])[0]
    except EmbeddingError as exc:
        logger.warning("embedding with %s failed (%s); using the local model", backend.name, exc)
        backend = local_backend()
        vector = backend.embed([text])[0]
    ticket.embedding = vector
    ticket.embedding_model = backend.name


def _analyse(
    ticket: Ticket,
    error_type: str,
    similar: list[tuple[Ticket, float]],
    missing: list[str],
    force: bool,
    fixes: list[PastFix],
) -> Analysis:
    if not gemini_configured():
        note = "rule-based: no GEMINI_API_KEY configured"
        return _rules(ticket, error_type, note, missing, fixes)
    if not force:
        cached = _recent_gemini_rca(ticket)
        if cached is not None:
            LlmCall.objects.create(
                ticket=ticket, model=settings.GEMINI_MODEL, outcome=LlmOutcome.CACHE_HIT
            )
            return Analysis(
                error_type=_reconcile(error_type, cached.details.get("llm_error_class", "")),
                rca_result=cached.rca_result,
                recommendations=list(cached.recommendations),
                confidence=cached.confidence or 0.0,
                rca_source=RcaSource.GEMINI,
                rca_note=f"Gemini RCA reused from {cached.id} (same failure fingerprint)",
                details={"llm_error_class": cached.details.get("llm_error_class", "")},
            )
    history = list(
        Ticket.objects.filter(pipeline=ticket.pipeline)
        .exclude(pk=ticket.pk)
        .defer("embedding")
        .order_by("-timestamp")[:HISTORY_SIZE]
    )
    prompt = build_rca_prompt(
        ticket, error_type, history=history, similar=similar, missing=missing, fixes=fixes
    )

    try:
        answer = generate_rca(
            prompt.system_instruction, prompt.contents, on_attempt=_recorder(ticket.pk, "rca")
        )
    except LlmFailure as failure:
        RCA_FALLBACKS.labels(failure.outcome).inc()
        note = f"rule-based: Gemini failed ({failure.outcome}: {failure.reason})"
        return _rules(ticket, error_type, note, missing, fixes)
    grounded_on = [tid for tid in answer.similar_ticket_ids if tid in prompt.similar_ids]
    return Analysis(
        error_type=_reconcile(error_type, answer.error_class),
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


def _recorder(ticket_id: str | None, purpose: str) -> Callable[[Attempt], None]:
    """Each attempt at a Gemini call: metrics and an LlmCall row (model, latency, tokens)."""

    def record(attempt: Attempt) -> None:
        LLM_CALLS.labels(attempt.outcome).inc()
        LLM_SECONDS.observe(attempt.latency_ms / 1000)
        LLM_TOKENS.labels("prompt").inc(attempt.prompt_tokens or 0)
        LLM_TOKENS.labels("output").inc(attempt.output_tokens or 0)
        LlmCall.objects.create(
            ticket_id=ticket_id,
            purpose=purpose,
            model=settings.GEMINI_MODEL,
            attempt=attempt.number,
            outcome=attempt.outcome,
            latency_ms=attempt.latency_ms,
            prompt_tokens=attempt.prompt_tokens,
            output_tokens=attempt.output_tokens,
            total_tokens=attempt.total_tokens,
            error=attempt.error[:2000],
        )

    return record


def _reconcile(classifier_class: str, llm_class: str) -> str:
    """The rule classifier decides the ticket's class (it drives fingerprints, severity and
    stats, and cannot be talked into anything); the LLM's class only fills in for Unknown."""
    if classifier_class == "Unknown" and llm_class:
        return llm_class
    return classifier_class


def _recent_gemini_rca(ticket: Ticket) -> Ticket | None:
    since = timezone.now() - timedelta(seconds=settings.RCA_CACHE_SECONDS)
    return (
        Ticket.objects.filter(
            fingerprint=ticket.fingerprint, rca_source=RcaSource.GEMINI, analysed_at__gte=since
        )
        .exclude(pk=ticket.pk)
        .defer("embedding")
        .order_by("-analysed_at")
        .first()
    )


def _rules(
    ticket: Ticket, error_type: str, note: str, missing: list[str], fixes: list[PastFix]
) -> Analysis:
    """The rule-based RCA; a fix recorded for this failure (or one like it) comes first."""
    # An Azure alert that is not a pipeline failure is explained as the alert it is.
    alert_rca = (
        build_alert_rca(ticket.pipeline, ticket.details, ticket.affected_entity, ticket.links)
        if ticket.processing_mode == "azure-monitor"
        else None
    )
    rca = alert_rca or build_rule_rca(
        error_type,
        ticket.error_message,
        pipeline=ticket.pipeline,
        source=ticket.source,
        details=ticket.details,
    )
    if missing:
        note = f"{note}; missing: {'; '.join(missing)}"
    recommendations = list(rca.recommendations)
    if fixes:
        recommendations.insert(0, fixes[0].headline)
    return Analysis(
        error_type=error_type,
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
    "details",
    "embedding",
    "embedding_model",
    "updated_at",
)


def _save(
    ticket: Ticket,
    analysis: Analysis,
    similar: list[tuple[Ticket, float]],
    signals: tuple[str, ...],
    force: bool,
) -> Ticket:
    before = {"error_type": ticket.error_type, "rca_source": ticket.rca_source}
    ticket.error_type = analysis.error_type
    ticket.rca_result = analysis.rca_result
    ticket.recommendations = analysis.recommendations
    ticket.confidence = analysis.confidence
    ticket.rca_source = analysis.rca_source
    ticket.rca_note = analysis.rca_note
    ticket.analysed_at = ticket.updated_at = timezone.now()
    ticket.details = {
        **ticket.details,
        **analysis.details,
        "similar": [{"id": t.id, "similarity": round(s, 3)} for t, s in similar],
    }
    with transaction.atomic():
        # One conditional UPDATE instead of a locked re-read and a save: it writes only while
        # the ticket still waits for its RCA (unless forced), so a redelivered copy of this task
        # that finished first is never overwritten.
        rows = Ticket.objects.filter(pk=ticket.pk)
        if not force:
            rows = rows.filter(rca_source=RcaSource.PENDING)
        written = rows.update(**{name: getattr(ticket, name) for name in _ANALYSIS_FIELDS})
        if not written:
            # analysed meanwhile by a redelivered copy of this task (or deleted)
            return Ticket.objects.defer("embedding").filter(pk=ticket.pk).first() or ticket
        lifecycle.write_audit(
            ticket,
            Actor.system("analysis"),
            "analysed",
            before=before,
            after={"error_type": ticket.error_type, "rca_source": ticket.rca_source},
            details={"signals": list(signals), "note": analysis.rca_note},
        )
        lifecycle.announce(ticket.pk, "analysed", Actor.system("analysis"))
    return ticket


# --- incidents: one analysis for all members -----------------------------------------------------

# Members read for the prompt's sample: the distinct error messages among the first ones.
INCIDENT_SAMPLE_SCAN = 500
PAST_INCIDENTS = 3


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
    """One Gemini RCA over the incident, when it needs one: it has none yet, or it has
    INCIDENT_RCA_GROWTH times the members the last one covered. Concurrent callers are
    coalesced by a claim on the incident (one conditional UPDATE): only the one that takes
    it calls Gemini; a claim left by a killed worker lapses after the longest call can take.
    Any Gemini failure or invalid answer gives the rule-based shared cause. True when it
    analysed."""
    if not gemini_configured():
        return False  # share_analysis writes the rule-based shared cause
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
            on_attempt=_recorder(incident.lead_ticket_id, "incident"),
        )
    except LlmFailure as failure:
        RCA_FALLBACKS.labels(failure.outcome).inc()
        incidents.store_analysis(
            incident_id,
            rca_result=incidents.shared_cause(incident),
            recommendations=incidents.shared_recommendations(incident),
            rca_source=RcaSource.RULES,
            rca_note=f"rule-based: Gemini failed ({failure.outcome}: {failure.reason})",
            confidence=None,
            members=incident.member_count,
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
