"""Root-cause analysis of a ticket. This version is rule-based; the LLM path slots in here."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from analysis.classifier import classify_error
from analysis.rule_rca import build_rule_rca
from tickets import lifecycle
from tickets.lifecycle import Actor
from tickets.models import RcaSource, Ticket

logger = logging.getLogger(__name__)


def analyse_ticket(ticket_id: str, *, force: bool = False, reason: str = "") -> Ticket | None:
    """Classify the ticket's error and write its RCA.

    Idempotent: an analysed ticket is left alone unless `force` (staff asked for a fresh RCA).
    """
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
        if ticket is None or (ticket.rca_source != RcaSource.PENDING and not force):
            return ticket
        classification = classify_error(ticket.error_message)
        rca = build_rule_rca(
            classification.error_type,
            ticket.error_message,
            pipeline=ticket.pipeline,
            source=ticket.source,
            details=ticket.details,
        )
        before = {"error_type": ticket.error_type, "rca_source": ticket.rca_source}
        ticket.error_type = classification.error_type
        ticket.rca_result = rca.root_cause
        ticket.recommendations = rca.recommendations
        ticket.confidence = rca.confidence
        ticket.rca_source = RcaSource.RULES
        ticket.rca_note = reason or "rule-based analysis (no LLM configured)"
        ticket.analysed_at = timezone.now()
        ticket.save(
            update_fields=[
                "error_type",
                "rca_result",
                "recommendations",
                "confidence",
                "rca_source",
                "rca_note",
                "analysed_at",
                "updated_at",
            ]
        )
        lifecycle.write_audit(
            ticket,
            Actor.system("analysis"),
            "analysed",
            before=before,
            after={"error_type": ticket.error_type, "rca_source": ticket.rca_source},
            details={"signals": list(classification.signals), "confidence": rca.confidence},
        )
        lifecycle.announce(ticket.pk, "analysed", Actor.system("analysis"))
    return ticket
