"""How Service Health notices page and follow: a real Celery worker, the real jira and
slack-sdk clients against the local servers (tests/fakes), alerts posted at the webhook."""

from __future__ import annotations

import pytest

from integrations.events import SERVICE_HEALTH_NOTICE
from integrations.models import OutboundDelivery, OutboundStatus
from integrations.targets.base import NOTICE_NOT_PAGED
from tests.conftest import wait_for
from tests.integrations.test_incident_paging import settled, targets
from tests.tickets.test_incidents import SUBSCRIPTIONS, post, service_health_alert
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)

__all__ = ["targets"]  # the fixture, shared with the incident paging tests

AZURE = "/webhooks/azure-monitor/"


def service_health(
    tracking: str,
    n: str,
    incident_type: str,
    level: str = "Informational",
    *,
    subscription: str = SUBSCRIPTIONS[0],
    title: str = "Planned maintenance: Azure SQL Database - West Europe",
    stage: str = "Active",
) -> dict:
    body = service_health_alert(subscription, tracking, update=n, title=title, stage=stage)
    body["data"]["essentials"].update(alertRule="sh-all", severity="Sev4")
    context = body["data"]["alertContext"]
    context.update(level=level)
    if incident_type == "Maintenance":
        context.update(operationName="Microsoft.ServiceHealth/maintenance/action")
    context["properties"].update(incidentType=incident_type)
    return body


def created_issues(jira) -> list:
    return [r for r in jira.issue_requests("POST") if r.path.endswith("/issue")]


@pytest.mark.parametrize("level", ["Informational", "Warning"])
def test_a_billing_update_is_a_quiet_notice_not_an_outage(celery_worker, targets, settings, level):
    """Microsoft Learn names `Billing` among Service Health's incident types (billing updates
    for the subscription's owners). Read as an unknown type, it was an outage: a ticket with a
    running SLA clock whose JIRA issue and Slack alert paged the on-call (Medium at Warning).
    It is a notice: Low, no SLA clock, its pages recorded skipped."""
    jira, slack = targets
    settings.INCIDENT_GRACE_SECONDS = 0.5
    settings.SERVICE_HEALTH_NOTICES_PAGE = False
    title = "Your Azure invoice for November is available"
    ticket_id = post(service_health("BIL-100", "1", "Billing", level, title=title), AZURE)[
        "ticket_id"
    ]
    wait_for(Ticket.objects.filter(pk=ticket_id).exclude(rca_source="pending").exists, 30)
    settled()
    ticket = Ticket.objects.get(pk=ticket_id)
    assert (ticket.severity, ticket.priority, ticket.sla_deadline) == ("Low", "P4", None)
    assert ticket.details.get(SERVICE_HEALTH_NOTICE) is True
    pages = OutboundDelivery.objects.filter(ticket_id=ticket_id, target__in=("jira", "slack"))
    assert set(pages.values_list("status", "last_error")) == {
        (OutboundStatus.SKIPPED, NOTICE_NOT_PAGED)
    }
    assert created_issues(jira) == [] and slack.top_level() == []
    ended = post(
        service_health("BIL-100", "2", "Billing", level, title=title, stage="Resolved"), AZURE
    )
    assert (ended["outcome"], ended["ticket_id"]) == ("resolved", ticket_id)


def slack_alert_text(slack, ticket: Ticket) -> str:
    (alert,) = [m for m in slack.top_level() if m["ts"] == ticket.slack_ts]
    return str(alert)


@pytest.mark.parametrize(
    ("incident_type", "level", "severity", "priority"),
    [("Incident", "Informational", "High", "High"), ("Maintenance", "Warning", "Medium", "Medium")],
)
def test_a_paged_notice_that_escalates_raises_its_issue_and_alert(
    celery_worker, targets, settings, incident_type, level, severity, priority
):
    """With SERVICE_HEALTH_NOTICES_PAGE on, a planned maintenance pages (Low: a Low JIRA issue,
    a Slack alert saying Low / P4). Its update as an outage made the ticket graver, but the
    issue and the alert it had paged with kept saying Low: the on-call read a planned
    maintenance. Both follow the escalation, once (no second issue or alert)."""
    jira, slack = targets
    settings.INCIDENT_GRACE_SECONDS = 0.5
    settings.SERVICE_HEALTH_NOTICES_PAGE = True
    ticket_id = post(service_health("MNT-950", "1", "Maintenance"), AZURE)["ticket_id"]
    paged = wait_for(
        Ticket.objects.filter(pk=ticket_id).exclude(itsm_ticket_id="").exclude(slack_ts="").first,
        30,
    )
    settled()
    assert jira.issues[paged.itsm_ticket_id]["priority"] == "Low"
    assert "Low / P4" in slack_alert_text(slack, paged)

    got = post(service_health("MNT-950", "2", incident_type, level), AZURE)
    assert (got["outcome"], got["ticket_id"]) == ("correlated", ticket_id)
    settled()
    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.severity == severity
    issue = jira.issues[ticket.itsm_ticket_id]
    assert issue["priority"] == priority
    assert issue["summary"].startswith(f"[{severity}] ")
    assert f"{severity} / {ticket.priority}" in slack_alert_text(slack, ticket)
    assert len(created_issues(jira)) == 1 and len(slack.top_level()) == 1
    assert not OutboundDelivery.objects.filter(ticket_id=ticket_id, status=OutboundStatus.DEAD)


def test_notices_recorded_unpaged_page_from_their_next_update_once_notices_page(
    celery_worker, targets, settings
):
    """Two planned maintenances recorded while notices paged nobody (their pages skipped, no
    SLA clock); then SERVICE_HEALTH_NOTICES_PAGE is turned on. Their next updates were counted
    and paged nobody: an operator who asked for notices to page heard nothing of the ones open.
    The open one pages at its next update (its JIRA issue and Slack alert, once, its clock
    started there); the one that had ended pages as Azure publishes it again."""
    jira, slack = targets
    settings.INCIDENT_GRACE_SECONDS = 0.5
    settings.SERVICE_HEALTH_NOTICES_PAGE = False
    open_id = post(service_health("MNT-960", "1", "Maintenance"), AZURE)["ticket_id"]
    ended_id = post(
        service_health("MNT-961", "1", "Maintenance", subscription=SUBSCRIPTIONS[1]), AZURE
    )["ticket_id"]
    complete = service_health(
        "MNT-961", "2", "Maintenance", subscription=SUBSCRIPTIONS[1], stage="Complete"
    )
    assert post(complete, AZURE)["outcome"] == "resolved"
    wait_for(lambda: not Ticket.objects.filter(rca_source="pending").exists(), 30)
    settled()
    assert created_issues(jira) == [] and slack.top_level() == []

    settings.SERVICE_HEALTH_NOTICES_PAGE = True
    got = post(service_health("MNT-960", "2", "Maintenance"), AZURE)
    assert (got["outcome"], got["ticket_id"]) == ("correlated", open_id)
    paged = wait_for(
        Ticket.objects.filter(pk=open_id).exclude(itsm_ticket_id="").exclude(slack_ts="").first,
        30,
    )
    assert paged.severity == "Low" and paged.sla_deadline is not None
    post(service_health("MNT-960", "3", "Maintenance"), AZURE)
    back = post(service_health("MNT-961", "3", "Maintenance", subscription=SUBSCRIPTIONS[1]), AZURE)
    assert (back["outcome"], back["ticket_id"]) == ("regressed", ended_id)
    wait_for(
        Ticket.objects.filter(pk=ended_id).exclude(itsm_ticket_id="").exclude(slack_ts="").exists,
        30,
    )
    settled()
    assert len(created_issues(jira)) == 2 and len(slack.top_level()) == 2
    assert not OutboundDelivery.objects.filter(status=OutboundStatus.DEAD).exists()


def test_a_paged_notice_updated_ten_times_is_one_ticket_one_page_its_alert_following(
    celery_worker, targets, settings
):
    jira, slack = targets
    settings.INCIDENT_GRACE_SECONDS = 0.5
    settings.SERVICE_HEALTH_NOTICES_PAGE = True
    answers = [post(service_health("MNT-970", str(n), "Maintenance"), AZURE) for n in range(1, 11)]
    ticket_id = answers[0]["ticket_id"]
    assert {a["ticket_id"] for a in answers} == {ticket_id}
    wait_for(
        Ticket.objects.filter(pk=ticket_id).exclude(itsm_ticket_id="").exclude(slack_ts="").exists,
        30,
    )
    settled()
    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.occurrence_count == 10
    assert len(created_issues(jira)) == 1 and len(slack.top_level()) == 1
    done = service_health("MNT-970", "11", "Maintenance", stage="Complete")
    assert post(done, AZURE)["outcome"] == "resolved"
    settled()
    assert "Resolved" in slack_alert_text(slack, Ticket.objects.get(pk=ticket_id))
    assert not OutboundDelivery.objects.filter(ticket_id=ticket_id, status=OutboundStatus.DEAD)


def test_an_outage_resolved_in_one_subscription_then_active_again_stays_one_incident(
    celery_worker, targets, settings
):
    """One Azure incident told to three subscriptions pages once; the Resolved of one ends
    its member alone, and that subscription's later Active (Azure reopening it) brings the
    member back into the same incident, paging nothing more."""
    from tests.integrations.test_incident_paging import paged_incident

    jira, slack = targets
    settings.INCIDENT_GRACE_SECONDS = 1
    title = "Azure Data Factory - East US"
    members = [
        post(service_health("ZQ1-OUT", "1", "Incident", subscription=sub, title=title), AZURE)[
            "ticket_id"
        ]
        for sub in SUBSCRIPTIONS
    ]
    incident = paged_incident()
    wait_for(lambda: not Ticket.objects.filter(pk__in=members, rca_source="pending"), 30)
    settled()
    resolved = service_health(
        "ZQ1-OUT", "2", "Incident", subscription=SUBSCRIPTIONS[0], title=title, stage="Resolved"
    )
    assert post(resolved, AZURE)["outcome"] == "resolved"
    incident.refresh_from_db()
    assert incident.status != "resolved"
    assert Ticket.objects.get(pk=members[0]).status == "resolved"
    again = service_health("ZQ1-OUT", "3", "Incident", subscription=SUBSCRIPTIONS[0], title=title)
    back = post(again, AZURE)
    assert (back["outcome"], back["ticket_id"]) == ("regressed", members[0])
    settled()
    reopened = Ticket.objects.get(pk=members[0])
    assert reopened.status == "open" and reopened.incident_id == incident.pk
    assert len(created_issues(jira)) == 1 and len(slack.top_level()) == 1
    assert not OutboundDelivery.objects.filter(status=OutboundStatus.DEAD).exists()
