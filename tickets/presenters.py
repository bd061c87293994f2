"""A ticket as the board shows it: shared by the dashboard, the websocket and the API."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from tickets.models import Ticket

CARD_FIELDS = (
    "id",
    "timestamp",
    "pipeline",
    "severity",
    "priority",
    "error_type",
    "status",
    "source",
    "sla_status",
    "sla_deadline",
    "occurrence_count",
    "finops_team",
    "itsm_ticket_id",
    "rca_source",
    "resolved_at_source_at",
    "resolved_at",
    "regression_count",
)


def ticket_card(ticket: Ticket) -> dict[str, Any]:
    remaining = ticket.sla_remaining(timezone.now())
    return {
        "id": ticket.pk,
        "timestamp": ticket.timestamp.isoformat(),
        "pipeline": ticket.pipeline,
        "severity": ticket.severity,
        "priority": ticket.priority,
        "error_type": ticket.error_type,
        "status": ticket.status,
        "source": ticket.source,
        "sla_status": ticket.sla_status,
        "sla_deadline": ticket.sla_deadline.isoformat() if ticket.sla_deadline else None,
        "sla_remaining_seconds": int(remaining.total_seconds()) if remaining is not None else None,
        "occurrence_count": ticket.occurrence_count,
        "team": ticket.finops_team,
        "jira_key": ticket.itsm_ticket_id,
        "rca_source": ticket.rca_source,
        "resolved_at_source": ticket.resolved_at_source_at is not None,
        "resolved_at": ticket.resolved_at.isoformat() if ticket.resolved_at else None,
        "regression_count": ticket.regression_count,
    }
