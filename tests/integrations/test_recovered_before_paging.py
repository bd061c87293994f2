"""A failure that is over when it lands (its Resolved came first): a real Celery worker, the real
jira and slack-sdk clients against the local servers (tests/fakes)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from analysis.services import analyse_tickets
from integrations import processing
from integrations.models import OutboundDelivery, OutboundStatus, WebhookDelivery
from integrations.targets.base import RECOVERED_BEFORE_PAGING
from tests.conftest import wait_for
from tests.integrations.test_azure_alert_tickets import _alert
from tests.integrations.test_incident_paging import settled, targets  # noqa: F401
from tests.tickets.test_incidents import post
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)

AZURE = "/webhooks/azure-monitor/"


def test_a_fired_landing_after_its_resolved_is_recorded_but_pages_nobody(
    celery_worker,
    targets,  # noqa: F811
):
    """Azure delivered the Resolved first: the Fired's ticket opened a JIRA issue (moved to
    Done) and posted a Slack alert, paging responders for something already over."""
    jira, slack = targets
    post(_alert("a", "Resolved", "2025-12-10T12:00:00.000Z"), AZURE)
    fired = post(_alert("a", "Fired", "2025-12-10T12:00:00.000Z"), AZURE)
    ticket = Ticket.objects.get(pk=fired["ticket_id"])
    pages = OutboundDelivery.objects.filter(ticket=ticket, action__in=["jira_create", "slack_post"])
    wait_for(lambda: pages.count() == 2, 30)
    settled()

    ticket.refresh_from_db()
    assert ticket.status == "resolved" and ticket.resolved_at_source_at is not None
    assert (ticket.itsm_ticket_id, ticket.slack_ts) == ("", "")
    assert jira.issue_requests("POST") == []
    assert slack.api_requests("chat.postMessage") == []
    assert set(pages.values_list("status", "last_error")) == {
        (OutboundStatus.SKIPPED, RECOVERED_BEFORE_PAGING)
    }
    assert not OutboundDelivery.objects.filter(ticket=ticket, status=OutboundStatus.DEAD).exists()

    # The failure back later (another instance of the rule) is a regression: it pages now.
    again = post(_alert("a", "Fired", "2025-12-10T15:00:00.000Z"), AZURE)
    assert (again["outcome"], again["ticket_id"]) == ("regressed", ticket.pk)
    wait_for(lambda: Ticket.objects.exclude(itsm_ticket_id="").exclude(slack_ts="").exists(), 30)
    settled()
    assert not OutboundDelivery.objects.filter(ticket=ticket, status=OutboundStatus.DEAD).exists()
    assert len(slack.api_requests("chat.postMessage")) >= 1


def test_a_regression_committing_while_the_recovered_ticket_is_scheduled_still_pages(
    targets,  # noqa: F811
):
    """The regression reads the ticket's page deliveries (`page_if_left_unpaged`) inside its
    transaction, and the processing read the ticket resolved before that transaction
    committed: the processing's skipped pages landed after the regression looked for them, and
    a failing ticket paged nobody. Here the processing is a redelivery after a worker that died
    once the ticket was analysed (beat hands the delivery out again), and the regression holds
    the ticket's row while the processing runs."""
    post(_alert("a", "Resolved", "2025-12-10T12:00:00.000Z"), AZURE)
    fired = post(_alert("a", "Fired", "2025-12-10T12:00:00.000Z"), AZURE)
    ticket = Ticket.objects.get(pk=fired["ticket_id"])
    assert ticket.status == "resolved" and ticket.resolved_at_source_at is not None
    analyse_tickets([ticket.pk])
    delivery = WebhookDelivery.objects.get(tracking_id=fired["tracking_id"])

    regressing, commit = threading.Event(), threading.Event()
    answers: list[dict] = []

    def regress_and_hold_the_ticket() -> None:
        try:
            with transaction.atomic():
                answers.append(post(_alert("a", "Fired", "2025-12-10T15:00:00.000Z"), AZURE))
                regressing.set()
                # Until the processing is done, or 3 s (it may be waiting for this row).
                commit.wait(timeout=3)
        finally:
            regressing.set()
            connection.close()

    regression = threading.Thread(target=regress_and_hold_the_ticket)
    regression.start()
    assert regressing.wait(timeout=30)
    processing.process_delivery(delivery.pk)
    commit.set()
    regression.join(timeout=30)

    assert [(a["outcome"], a["ticket_id"]) for a in answers] == [("regressed", ticket.pk)]
    ticket.refresh_from_db()
    assert ticket.status == "open"
    for action in ("jira_create", "slack_post"):
        latest = OutboundDelivery.objects.filter(ticket=ticket, action=action).last()
        assert latest is not None and latest.status == OutboundStatus.PENDING, (
            action,
            list(
                OutboundDelivery.objects.filter(ticket=ticket, action=action).values_list(
                    "key", "status", "last_error"
                )
            ),
        )
