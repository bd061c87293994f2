"""Background processing of one accepted delivery: what the webhook answered but did not do."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from analysis.services import analyse_ticket, share_incident_analysis
from integrations import fanout, remediation
from integrations.models import DeliveryStatus, WebhookDelivery
from rca_project.observability import tracking
from tickets.vocabulary import Outcome

logger = logging.getLogger(__name__)


def process_delivery(delivery_id: int) -> None:
    """Finish a pending delivery. Idempotent: a processed delivery is left alone, and each step
    checks its own result, so a redelivery after a crash redoes only what was not done."""
    delivery = WebhookDelivery.objects.filter(pk=delivery_id).first()
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return
    with tracking(delivery.tracking_id):
        WebhookDelivery.objects.filter(pk=delivery_id).update(attempts=F("attempts") + 1)
        # A member of an incident shares its analysis and its page (the incident's own JIRA
        # issue and Slack message): it pages nothing of its own.
        ticket_id = delivery.ticket_id
        created = ticket_id is not None and delivery.outcome == Outcome.CREATED
        if ticket_id is not None and created:
            if not share_incident_analysis(ticket_id):
                ticket = analyse_ticket(ticket_id)
                # One naming a culprit waits a moment: should its storm form an incident
                # meanwhile, the incident pages and this ticket's own page is skipped.
                grace = settings.INCIDENT_GRACE_SECONDS if ticket and ticket.group_key else None
                fanout.schedule_initial(ticket_id, delay=grace or None)
            # Members of an incident are proposed too: the incident hold check keeps them
            # held until the culprit recovers.
            remediation.propose(ticket_id)
        WebhookDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.PROCESSED, processed_at=timezone.now()
        )
        logger.info("processed delivery %s (%s)", delivery_id, delivery.outcome)


def redeliver_unfinished(enqueue) -> int:
    """Re-enqueue deliveries whose processing was lost (worker killed, broker down)."""
    cutoff = timezone.now() - settings.REDELIVER_AFTER
    stale = WebhookDelivery.objects.unfinished(cutoff, settings.REDELIVER_MAX_ATTEMPTS)
    ids = list(stale.values_list("pk", flat=True)[:1000])
    for delivery_id in ids:
        enqueue(delivery_id)
    if ids:
        logger.warning("redelivered %d unfinished deliveries", len(ids))
    return len(ids)


def apply_retention() -> int:
    """Drop processed and rejected inbox rows older than the retention period."""
    cutoff = timezone.now() - settings.INBOX_RETENTION
    deleted, _ = (
        WebhookDelivery.objects.filter(received_at__lt=cutoff)
        .exclude(status=DeliveryStatus.PENDING)
        .delete()
    )
    return deleted
