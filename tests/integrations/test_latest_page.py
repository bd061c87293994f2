"""A ticket's latest page (`targets.base.latest_page`): what a delivery that updates the
ticket's JIRA issue or Slack alert reads first (`left_unpaged`, `wait_for`), and a regression
(`fanout.page_if_left_unpaged`). Its changes' follow-ups are most of a ticket's deliveries:
PostgreSQL's own plan of the read, on a ticket with 5,000 of them after its page."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.models import OutboundDelivery, OutboundStatus
from integrations.targets import jira, slack
from integrations.targets.base import (
    RECOVERED_BEFORE_PAGING,
    TransportError,
    Waiting,
    latest_page,
    left_unpaged,
    wait_for,
)
from tests.api import make_ticket
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def follow_ups(ticket: Ticket, count: int) -> list[OutboundDelivery]:
    """As `fanout.schedule_follow_up` keys them."""
    return [
        OutboundDelivery(
            key=f"{ticket.pk}:{jira.SYNC}:{uuid.uuid4().hex}",
            ticket=ticket,
            target="jira",
            action=jira.SYNC,
            payload={"action": "recurred"},
            status=OutboundStatus.SUCCEEDED,
        )
        for _ in range(count)
    ]


def page(ticket: Ticket, action: str, key: str, status: str, error: str = "") -> OutboundDelivery:
    target = "jira" if action == jira.CREATE else "slack"
    return OutboundDelivery.objects.create(
        key=key, ticket=ticket, target=target, action=action, status=status, last_error=error
    )


def test_the_latest_page_is_read_from_the_pages_alone_whatever_the_follow_ups():
    """It read every delivery of the ticket (`outbound_ticket`), filtered by action and sorted:
    a cost growing with the ticket's history, paid by every update of its issue or alert."""
    ticket = make_ticket(itsm_ticket_id="OPS-1", slack_ts="1700000000.000100")
    other = make_ticket(itsm_ticket_id="OPS-2", slack_ts="1700000000.000200")
    page(ticket, jira.CREATE, f"{ticket.pk}:{jira.CREATE}", OutboundStatus.SUCCEEDED)
    OutboundDelivery.objects.bulk_create(
        follow_ups(ticket, 5000) + follow_ups(other, 5000), batch_size=2000
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {OutboundDelivery._meta.db_table}")

    with CaptureQueriesContext(connection) as queries:
        assert not left_unpaged(ticket.pk, jira.CREATE)
    (read,) = [query["sql"] for query in queries]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {read}")
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "using outbound_not_follow_up" in plan, plan
    assert "Rows Removed by Filter" not in plan, plan
    assert "Sort" not in plan, plan


def test_the_latest_page_of_the_action_counts_and_follow_ups_never_do():
    """Its answers: the latest of the ticket's pages of that action (a regression's second
    page after the first was left out), never another action's or another ticket's, and the
    ticket's follow-ups after them change nothing."""
    ticket = make_ticket()
    other = make_ticket()
    assert latest_page(ticket.pk, jira.CREATE) is None
    with pytest.raises(TransportError, match="missing"):
        wait_for(ticket, jira.CREATE, "JIRA issue")

    page(
        ticket,
        jira.CREATE,
        f"{ticket.pk}:{jira.CREATE}",
        OutboundStatus.SKIPPED,
        RECOVERED_BEFORE_PAGING,
    )
    page(other, jira.CREATE, f"{other.pk}:{jira.CREATE}", OutboundStatus.PENDING)
    page(ticket, slack.POST, f"{ticket.pk}:{slack.POST}", OutboundStatus.PENDING)
    OutboundDelivery.objects.bulk_create(follow_ups(ticket, 50))
    assert left_unpaged(ticket.pk, jira.CREATE)
    assert not left_unpaged(ticket.pk, slack.POST)
    with pytest.raises(TransportError, match="skipped"):
        wait_for(ticket, jira.CREATE, "JIRA issue")

    again = page(
        ticket, jira.CREATE, f"{ticket.pk}:{jira.CREATE}:regressed", OutboundStatus.PENDING
    )
    OutboundDelivery.objects.bulk_create(follow_ups(ticket, 50))
    assert latest_page(ticket.pk, jira.CREATE) == again
    assert not left_unpaged(ticket.pk, jira.CREATE)
    with pytest.raises(Waiting):
        wait_for(ticket, jira.CREATE, "JIRA issue")

    # Written in the same instant, the later row is the latest.
    OutboundDelivery.objects.filter(ticket=ticket, action=jira.CREATE).update(
        created_at=timezone.now()
    )
    assert latest_page(ticket.pk, jira.CREATE) == again
