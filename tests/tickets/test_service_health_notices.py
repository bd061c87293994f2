"""The SLA clock of a Service Health notice that escalates, through the webhook and the beat's
breach pass against the real database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.tickets.test_incidents import SUBSCRIPTIONS, post, service_health_alert
from tickets import lifecycle
from tickets.models import AuditLog, Ticket
from tickets.vocabulary import SlaStatus

pytestmark = pytest.mark.django_db(transaction=True)

AZURE = "/webhooks/azure-monitor/"
TITLE = "Planned maintenance: Azure SQL Database - West Europe"


def update(tracking: str, n: str, incident_type: str, level: str = "Informational") -> dict:
    body = service_health_alert(SUBSCRIPTIONS[0], tracking, update=n, title=TITLE)
    body["data"]["essentials"].update(alertRule="sh-all", severity="Sev4")
    context = body["data"]["alertContext"]
    context.update(level=level)
    if incident_type == "Maintenance":
        context.update(operationName="Microsoft.ServiceHealth/maintenance/action")
    context["properties"].update(incidentType=incident_type)
    return body


@pytest.mark.parametrize("notices_page", [False, True])
def test_a_notice_announced_long_ago_that_escalates_gets_its_outages_response_time(
    settings, notices_page
):
    """A planned maintenance announced 20 hours ago (its P4 clock of 24 hours with 4 left)
    whose update is now an `Incident`: High, P2, and its page goes out now. Its deadline was
    counted from the notice's creation (created + 1 hour, 19 hours past), so the beat marked
    the outage Breached as it paged, before anyone could answer. Its clock starts at the
    update that made it an outage."""
    settings.SERVICE_HEALTH_NOTICES_PAGE = notices_page
    settings.INCIDENT_GRACE_SECONDS = 60
    ticket_id = post(update("MNT-910", "1", "Maintenance"), AZURE)["ticket_id"]
    notice = Ticket.objects.get(pk=ticket_id)
    assert (notice.severity, notice.priority, notice.sla_seconds) == ("Low", "P4", 24 * 3600)
    announced = timezone.now() - timedelta(hours=20)
    Ticket.objects.filter(pk=ticket_id).update(
        timestamp=announced, sla_deadline=announced + timedelta(seconds=notice.sla_seconds)
    )

    before = timezone.now()
    got = post(update("MNT-910", "2", "Incident"), AZURE)
    assert (got["outcome"], got["ticket_id"]) == ("correlated", ticket_id)
    outage = Ticket.objects.get(pk=ticket_id)
    assert (outage.severity, outage.priority, outage.sla_seconds) == ("High", "P2", 3600)
    assert outage.sla_deadline is not None
    assert before + timedelta(hours=1) <= outage.sla_deadline <= timezone.now() + timedelta(hours=1)
    lifecycle.mark_sla_breaches()
    assert Ticket.objects.get(pk=ticket_id).sla_status == SlaStatus.PENDING
    assert not AuditLog.objects.filter(ticket_id=ticket_id, action="sla breached").exists()
    # Unanswered an hour on, it is late.
    lifecycle.mark_sla_breaches(timezone.now() + timedelta(hours=1, minutes=1))
    assert Ticket.objects.get(pk=ticket_id).sla_status == SlaStatus.BREACHED


def test_a_notice_ended_and_back_as_an_outage_gets_its_outages_response_time(settings):
    """A planned maintenance, completed, then published again as an `Incident` (its ticket
    reopened as a regression, escalated): High, P2, but its fresh SLA clock was the notice's
    P4 24 hours (its time was kept while its clock had stopped, Met). Its clock is the
    outage's hour from the update."""
    settings.SERVICE_HEALTH_NOTICES_PAGE = False
    settings.INCIDENT_GRACE_SECONDS = 60
    at = timezone.now()

    def published(body: dict, minutes: int) -> dict:
        moment = at + timedelta(minutes=minutes)
        body["data"]["alertContext"]["eventTimestamp"] = moment.isoformat()
        return body

    ticket_id = post(published(update("MNT-920", "1", "Maintenance"), 0), AZURE)["ticket_id"]
    complete = update("MNT-920", "2", "Maintenance")
    complete["data"]["alertContext"]["properties"]["stage"] = "Complete"
    assert post(published(complete, 1), AZURE)["outcome"] == "resolved"
    before = timezone.now()
    back = post(published(update("MNT-920", "3", "Incident"), 2), AZURE)
    assert (back["outcome"], back["ticket_id"]) == ("regressed", ticket_id)
    outage = Ticket.objects.get(pk=ticket_id)
    assert (outage.status, outage.severity, outage.priority) == ("open", "High", "P2")
    assert (outage.sla_status, outage.sla_seconds) == (SlaStatus.PENDING, 3600)
    assert outage.sla_deadline is not None
    assert before + timedelta(hours=1) <= outage.sla_deadline <= timezone.now() + timedelta(hours=1)
    lifecycle.mark_sla_breaches(timezone.now() + timedelta(hours=1, minutes=1))
    assert Ticket.objects.get(pk=ticket_id).sla_status == SlaStatus.BREACHED
