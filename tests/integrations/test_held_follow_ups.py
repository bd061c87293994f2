"""The follow-ups a regression holds until it is processed (`fanout.HELD`): every change of a
ticket that paged asks whether it holds any (`fanout.schedule_follow_up`), and beat releases the
overdue ones (`fanout.redeliver_stale`). PostgreSQL's own plan of the change's query, on a
table where the ticket has 5,000 deliveries and a target that is down keeps 5,000 others
pending."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations import fanout
from integrations.models import OutboundDelivery, OutboundStatus
from tests.api import make_ticket
from tickets.lifecycle import Actor
from tickets.models import Ticket
from tickets.vocabulary import Source

pytestmark = pytest.mark.django_db


def deliveries(ticket: Ticket, count: int, status: str, due: datetime) -> list[OutboundDelivery]:
    return [
        OutboundDelivery(
            key=f"{ticket.pk}:jira_comment:{n}",
            ticket=ticket,
            target="jira",
            action="jira_comment",
            payload={"action": "recurred"},
            status=status,
            next_attempt_at=due,
        )
        for n in range(count)
    ]


def test_whether_a_ticket_holds_follow_ups_is_read_from_the_held_ones_alone():
    """The check read the ticket's deliveries (`outbound_ticket`) or every pending one
    (`outbound_pending`), whichever PostgreSQL found fewer: a cost growing with the ticket's
    history, or with a target's backlog."""
    ticket = make_ticket(itsm_ticket_id="OPS-1", slack_ts="1700000000.000100")
    backlog = make_ticket()
    now = timezone.now()
    OutboundDelivery.objects.bulk_create(
        deliveries(ticket, 5000, OutboundStatus.SUCCEEDED, now)
        + deliveries(backlog, 5000, OutboundStatus.PENDING, now + timedelta(minutes=5)),
        batch_size=2000,
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {OutboundDelivery._meta.db_table}")

    with CaptureQueriesContext(connection) as queries:
        fanout.schedule_follow_up(ticket.pk, "recurred", Actor.source(Source.ADF))
    (check,) = [query["sql"] for query in queries if "EXISTS" in query["sql"]]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {check}")
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "using outbound_held" in plan, plan
    assert "outbound_pending" not in plan, plan


def test_beat_counts_the_held_follow_ups_it_releases_among_those_it_redelivered():
    """Beat's task returned (and its log line said) only the other overdue deliveries it handed
    out: a regression whose processing was lost had its follow-ups sent uncounted."""
    ticket = make_ticket(itsm_ticket_id="OPS-1", slack_ts="1700000000.000100")
    long_ago = timezone.now() - timedelta(minutes=10)
    OutboundDelivery.objects.bulk_create(deliveries(ticket, 1, OutboundStatus.SUCCEEDED, long_ago))
    fanout.schedule_follow_up(ticket.pk, "regressed", Actor.source(Source.ADF))
    held = OutboundDelivery.objects.filter(ticket=ticket, payload__has_key=fanout.HELD)
    released = list(held.values_list("pk", flat=True))
    assert released
    held.update(next_attempt_at=long_ago)  # its processing lost
    (lost,) = OutboundDelivery.objects.bulk_create(
        deliveries(make_ticket(), 1, OutboundStatus.PENDING, long_ago)
    )

    redelivered = fanout.redeliver_stale(grace_seconds=300)

    assert redelivered == len(released) + 1
    assert not held.exists()
    due = OutboundDelivery.objects.filter(pk__in=[*released, lost.pk], next_attempt_at__gt=long_ago)
    assert due.count() == redelivered


def test_whether_a_ticket_paged_is_read_from_its_own_deliveries_whatever_their_number():
    """The "has it paged" half was planned from the average history of a ticket: with few
    tickets and long histories PostgreSQL scanned the table for the ticket's first row, which
    for a ticket that paged lately sits at its end (every change of the ticket read the whole
    table)."""
    earlier = make_ticket(itsm_ticket_id="OPS-1", slack_ts="1700000000.000100")
    ticket = make_ticket(itsm_ticket_id="OPS-2", slack_ts="1700000000.000200")
    now = timezone.now()
    OutboundDelivery.objects.bulk_create(
        deliveries(earlier, 20000, OutboundStatus.SUCCEEDED, now)
        + deliveries(ticket, 100, OutboundStatus.SUCCEEDED, now),
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {OutboundDelivery._meta.db_table}")

    with CaptureQueriesContext(connection) as queries:
        fanout.schedule_follow_up(ticket.pk, "recurred", Actor.source(Source.ADF))
    (check,) = [query["sql"] for query in queries if '"paged"' in query["sql"]]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {check}")
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "Seq Scan on integrations_outbounddelivery" not in plan, plan
    assert "using outbound_ticket" in plan, plan
    assert OutboundDelivery.objects.filter(ticket=ticket).count() > 100  # it paged: followed


def test_whether_an_incident_reopening_holds_changes_is_read_from_the_held_ones_alone():
    """Ingest asks it of a member left open at its recovery failing again, in its transaction
    (`fanout.release_incident_reopenings`): one probe of the held deliveries, never of every
    pending one."""
    ticket = make_ticket(itsm_ticket_id="OPS-1", slack_ts="1700000000.000100")
    backlog = make_ticket()
    now = timezone.now()
    OutboundDelivery.objects.bulk_create(
        deliveries(ticket, 5000, OutboundStatus.SUCCEEDED, now)
        + deliveries(backlog, 5000, OutboundStatus.PENDING, now + timedelta(minutes=5)),
        batch_size=2000,
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {OutboundDelivery._meta.db_table}")

    with CaptureQueriesContext(connection) as queries:
        assert fanout.release_incident_reopenings([ticket.pk]) == 0
    (check,) = [query["sql"] for query in queries]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {check}")
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "using outbound_held" in plan, plan
    assert "outbound_pending" not in plan, plan
