"""Resolutions as knowledge: the fixes recorded on past tickets, found again for a new failure.

A fix is found for a ticket when it was recorded on a ticket of the same fingerprint (the same
failure), or when its failure's embedding is close to the ticket's (cosine similarity at least
`SIMILARITY_FLOOR`, same embedding model only); a ticket's own fixes count only once it came
back after them (a regression), and a resolved ticket is offered only the fixes recorded before
it was resolved (what it leads with reads "Last time"). Fixes staff marked wrong are never shown.
A fix that did not hold (its ticket regressed after it: the same failure came back and
reopened it) is still shown, saying so and when it failed again, below every fix that held;
then a verified fix (the pipeline succeeded again after it) ranks above an unverified one, then
the same failure above a similar one, then the closest and the latest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F, OuterRef, QuerySet, Subquery
from django.utils import timezone
from pgvector.django import CosineDistance

from tickets import lifecycle
from tickets.lifecycle import Actor
from tickets.models import AuditLog, Resolution, Status, Ticket, hnsw_scans_until_found
from tickets.timestamps import utc_text

MAX_FIXES = 3


@dataclass(frozen=True)
class PastFix:
    resolution_id: int
    ticket_id: str
    fix: str
    resolved_by: str
    resolved_at: datetime
    verified: bool
    same_failure: bool
    similarity: float
    # When its ticket regressed after it (the first time since): the fix did not hold.
    failed_again_at: datetime | None = None

    @property
    def held(self) -> bool:
        return self.failed_again_at is None

    @property
    def headline(self) -> str:
        """What a ticket leads with, its Slack alert and JIRA issue included:
        `Last time (ticket, 2026-12-07 14:05 UTC, who): <fix>`, the time as the ticket's page
        gives it, and for a fix that did not hold `... (did not hold: it failed again on
        <date>)`."""
        when = self.resolved_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        line = f"Last time ({self.ticket_id}, {when}, {self.resolved_by}): {self.fix}"
        if self.failed_again_at is not None:
            line += f" (did not hold: it failed again on {self.failed_again_at.date().isoformat()})"
        return line

    def as_dict(self) -> dict[str, object]:
        return {
            "resolution_id": self.resolution_id,
            "ticket_id": self.ticket_id,
            "fix": self.fix,
            "resolved_by": self.resolved_by,
            "resolved_at": utc_text(self.resolved_at),
            "verified": self.verified,
            "same_failure": self.same_failure,
            "similarity": round(self.similarity, 4),
            "held": self.held,
            "failed_again_at": utc_text(self.failed_again_at) if self.failed_again_at else None,
            "headline": self.headline,
        }


def _past_fix(resolution: Resolution, same_failure: bool, similarity: float) -> PastFix:
    return PastFix(
        resolution_id=resolution.pk,
        ticket_id=resolution.ticket_id,
        fix=resolution.fix,
        resolved_by=resolution.resolved_by,
        resolved_at=resolution.created_at,
        verified=resolution.verified,
        same_failure=same_failure,
        similarity=similarity,
        failed_again_at=getattr(resolution, "failed_again_at", None),
    )


def _with_failed_again(resolutions: QuerySet[Resolution]) -> QuerySet[Resolution]:
    """Each fix with `failed_again_at`: its ticket's first regression after it was recorded."""
    regressions = AuditLog.objects.filter(
        ticket_id=OuterRef("ticket_id"), action="regressed", created_at__gt=OuterRef("created_at")
    ).order_by("created_at")
    return resolutions.annotate(failed_again_at=Subquery(regressions.values("created_at")[:1]))


def previous_fixes(
    ticket: Ticket, *, k: int = MAX_FIXES, min_similarity: float | None = None
) -> list[PastFix]:
    """The fixes recorded for failures like this ticket's, best first (see the module doc)."""
    floor = settings.SIMILARITY_FLOOR if min_similarity is None else min_similarity
    found: dict[int, PastFix] = {}
    # The ticket's own fixes count once it came back after them (a regression), not before.
    episode_start = ticket.regressed_at or ticket.timestamp
    usable: QuerySet[Resolution] = Resolution.objects.usable().exclude(
        ticket_id=ticket.pk, created_at__gte=episode_start
    )
    if ticket.status == Status.RESOLVED and ticket.resolved_at is not None:
        usable = usable.filter(created_at__lt=ticket.resolved_at)  # not the fixes since then
    usable = _with_failed_again(usable)
    # Held first, as they rank: the latest k * 4 alone could all be a flapping failure's
    # fixes that did not hold, leaving out an older one that held.
    same = (
        usable.filter(fingerprint=ticket.fingerprint)
        .order_by(
            F("failed_again_at").desc(nulls_first=True),
            F("verified_at").desc(nulls_last=True),
            "-created_at",
            "-id",
        )
        .defer("embedding")
    )
    for resolution in same[: k * 4]:
        found[resolution.pk] = _past_fix(resolution, True, 1.0)
    # The ticket's own vector: the analysis calls this before saving the one it just made.
    if ticket.embedding is not None and ticket.embedding_model:
        vector = [float(v) for v in ticket.embedding]
        nearest = (
            usable.filter(embedding_model=ticket.embedding_model, embedding__isnull=False)
            .annotate(distance=CosineDistance("embedding", vector))
            .order_by("distance")
            .defer("embedding")[: k * 4]
        )
        with hnsw_scans_until_found():
            nearest_found = list(nearest)
        for resolution in nearest_found:
            similarity = 1.0 - resolution.distance
            if similarity >= floor and resolution.pk not in found:
                found[resolution.pk] = _past_fix(resolution, False, similarity)
    ranked = sorted(
        found.values(),
        key=lambda fix: (
            not fix.held,
            not fix.verified,
            not fix.same_failure,
            -fix.similarity,
            -fix.resolved_at.timestamp(),
        ),
    )
    # One fix written on many tickets at once (an incident resolved with it) counts once.
    distinct: dict[str, PastFix] = {}
    for fix in ranked:
        distinct.setdefault(" ".join(fix.fix.lower().split()), fix)
    return list(distinct.values())[:k]


def fix_recorded_for_last_resolve(ticket: Ticket) -> bool:
    """Whether the ticket's latest resolve has its fix: one recorded since the ticket was last
    reopened (by people or a regression), not marked wrong. A fix from before a regression (it
    did not hold) or one staff marked wrong leaves room for the fix given after the resolve (a
    JIRA comment `Fix: ...`, the Slack alert's box)."""
    since = ticket.reopened_at or ticket.timestamp
    return Resolution.objects.usable().filter(ticket_id=ticket.pk, created_at__gte=since).exists()


def mark_wrong(resolution_id: int, actor: Actor) -> Resolution:
    """Staff say this fix did not fix it: it is never shown again (the record stays, audited
    on its ticket). A fix an incident's resolve wrote on each of its members goes with every
    copy of it that incident's resolves wrote: `previous_fixes` shows them as one, so marking
    the one shown would otherwise let the next copy take its place. Marking it twice changes
    nothing."""
    asked = Resolution.objects.only("through_incident", "fix").get(pk=resolution_id)
    copies = Resolution.objects.filter(pk=resolution_id)
    if asked.through_incident:
        copies = Resolution.objects.filter(through_incident=asked.through_incident, fix=asked.fix)
    with transaction.atomic():
        now = timezone.now()
        # Their tickets first, by id, as a source recovery locks them before verifying their
        # fixes (`lifecycle.resolve_at_source`, several members newest first): copies taken
        # first could be the ones such a recovery holds and the ones it verifies next. Then
        # the copies, in one order, so two staff marking two copies at once never deadlock.
        list(
            Ticket.objects.select_for_update(no_key=True)
            .filter(pk__in=copies.values("ticket_id"))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        for copy in copies.defer("embedding").select_for_update().order_by("pk"):
            if copy.marked_wrong_at is not None:
                continue
            copy.marked_wrong_at = now
            copy.marked_wrong_by = actor.name[:200]
            copy.save(update_fields=["marked_wrong_at", "marked_wrong_by"])
            lifecycle.write_audit(
                Ticket(pk=copy.ticket_id),
                actor,
                "fix marked wrong",
                details={"resolution_id": copy.pk, "fix": copy.fix[:2000]},
            )
        return Resolution.objects.get(pk=resolution_id)
