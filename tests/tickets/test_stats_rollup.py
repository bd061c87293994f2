"""The stats read from the rollup are the stats counted ticket by ticket.

Tickets created, acknowledged, taken, resolved, reopened, breached in bulk by the SLA check,
moved to another team and deleted; inbox rows received and processed; a remediation that fixed
one ticket. After each round of changes, folded or not, `stats.overview` with the rollup
(`STATS_ROLLUP`, the default) must equal `stats.overview` counting every row
(`STATS_ROLLUP=false`) for periods with and without whole days, edges inside a day, and one
inside a single day; and the API must answer the same."""

from __future__ import annotations

import contextlib
import random
from datetime import UTC, datetime, timedelta

import pytest

from integrations import inbox_stats
from integrations.models import InboxStatsChange, Remediation, WebhookDelivery
from tests.api import clear_throttles, jwt_client, make_ticket, make_user
from tickets import lifecycle, rollup, stats
from tickets.models import Ticket, TicketStatsChange, TicketStatsDay
from tickets.vocabulary import ErrorClass

pytestmark = pytest.mark.django_db

START = datetime(2025, 3, 1, tzinfo=UTC)
ACTOR = lifecycle.Actor.system("test")
PERIODS = [
    (START, START + timedelta(days=12)),  # whole days only
    (START - timedelta(days=2), START + timedelta(days=20)),  # more than the data
    (START + timedelta(hours=7, minutes=13), START + timedelta(days=9, hours=5, seconds=1)),
    (START + timedelta(days=1, hours=23), START + timedelta(days=3, hours=1)),  # short edges
    (START + timedelta(days=2, hours=3), START + timedelta(days=2, hours=20)),  # inside a day
    (START + timedelta(days=4, hours=12), START + timedelta(days=5, hours=12)),  # no whole day
]


def both_ways(settings, since: datetime, until: datetime) -> tuple[dict, dict]:
    settings.STATS_ROLLUP = False
    direct = stats.overview(since, until)
    settings.STATS_ROLLUP = True
    return direct, stats.overview(since, until)


def assert_same_everywhere(settings) -> None:
    for since, until in PERIODS:
        direct, from_rollup = both_ways(settings, since, until)
        assert from_rollup == direct, (since, until)
        assert direct["total"] or since >= START + timedelta(days=2), "the data is in range"


def seed(rng: random.Random, count: int) -> list[Ticket]:
    classes = [
        ErrorClass.NETWORK,
        ErrorClass.DATABASE,
        ErrorClass.AUTHENTICATION,
        ErrorClass.UNKNOWN,
    ]
    tickets = []
    for _ in range(count):
        at = START + timedelta(seconds=rng.randint(0, 10 * 86400))
        tickets.append(
            make_ticket(
                timestamp=at,
                sla_deadline=at + timedelta(hours=1),
                severity=rng.choice(["Critical", "High", "Medium", "Low"]),
                error_type=rng.choice(classes),
                source=rng.choice(["adf", "airflow", "databricks", "azure-monitor"]),
                finops_team=rng.choice(["sales", "finance", "ops", ""]),
            )
        )
    for _ in range(count * 2):
        received = START + timedelta(seconds=rng.randint(0, 10 * 86400))
        WebhookDelivery.objects.create(
            source="adf", received_at=received, raw_body="{}", status="pending", outcome=""
        )
    return tickets


def change(rng: random.Random, tickets: list[Ticket]) -> None:
    """Every kind of write the counted columns see."""
    steps = [(3, lifecycle.acknowledge), (5, lifecycle.resolve), (10, lifecycle.start_progress)]
    steps.append((10, lifecycle.reopen))
    for share, step in steps:
        for ticket in rng.sample(tickets, len(tickets) // share):
            with contextlib.suppress(lifecycle.TransitionError):  # not from its status
                step(ticket.id, ACTOR)
    lifecycle.mark_sla_breaches(START + timedelta(days=30))  # one bulk UPDATE
    moved = rng.sample(tickets, 3)
    Ticket.objects.filter(pk__in=[t.pk for t in moved]).update(finops_team="platform")
    Ticket.objects.filter(pk=rng.choice(tickets).pk).update(timestamp=START + timedelta(days=3))
    for delivery in WebhookDelivery.objects.filter(status="pending").order_by("?")[:40]:
        delivery.status = rng.choice(["processed", "rejected"])
        delivery.outcome = rng.choice(["created", "duplicate", "correlated", "suppressed"])
        delivery.save()


def test_rollup_answers_match_the_direct_count(settings):
    rng = random.Random(17)
    tickets = seed(rng, 60)
    assert TicketStatsChange.objects.count() == 60  # one change per new ticket
    assert_same_everywhere(settings)  # nothing folded yet: all from the changes

    assert rollup.fold() == 60
    inbox_stats.fold()
    assert not TicketStatsChange.objects.exists() and not InboxStatsChange.objects.exists()
    assert_same_everywhere(settings)

    change(rng, tickets)  # pending changes on top of folded days
    assert_same_everywhere(settings)
    rollup.fold()
    inbox_stats.fold()
    assert_same_everywhere(settings)

    # A remediation fixed one resolved ticket: its time is left out of MTTR without one.
    fixed = Ticket.objects.filter(status="resolved").order_by("timestamp").first()
    assert fixed is not None
    Remediation.objects.create(
        ticket=fixed,
        run_key="adf:fixed",
        action="adf_rerun",
        status="succeeded",
        finished_at=fixed.timestamp + timedelta(minutes=5),
    )
    # Deleted tickets (retention) and deliveries leave the counts.
    Ticket.objects.filter(
        pk__in=[t.pk for t in rng.sample(tickets, 5) if t.pk != fixed.pk]
    ).delete()
    WebhookDelivery.objects.filter(pk__in=WebhookDelivery.objects.values("pk")[:7]).delete()
    change(rng, list(Ticket.objects.all()))
    assert_same_everywhere(settings)
    rollup.fold()
    inbox_stats.fold()
    assert_same_everywhere(settings)
    direct, _ = both_ways(settings, *PERIODS[0])
    assert direct["remediation"]["succeeded"] == 1
    assert direct["mttr"]["resolved"] > 0 and direct["inbox"]["total"] > 0
    # No day row is left counting nothing.
    assert not TicketStatsDay.objects.filter(n=0).exists()


def test_the_api_answers_the_same_either_way(settings):
    clear_throttles()
    settings.API_STATS_CACHE_SECONDS = 0
    rng = random.Random(3)
    change(rng, seed(rng, 30))
    api = jwt_client(make_user("viewer"))
    url = "/api/v1/stats/?since=2025-03-01T06:30:00Z&until=2025-03-09T18:00:00Z"
    settings.STATS_ROLLUP = False
    direct = api.get(url).json()
    settings.STATS_ROLLUP = True
    assert api.get(url).json() == direct
    assert direct["total"] > 0


def test_a_ticket_update_that_changes_no_counted_column_writes_no_change():
    ticket = make_ticket(timestamp=START)
    rollup.fold()
    Ticket.objects.filter(pk=ticket.pk).update(rca_result="a root cause", occurrence_count=5)
    ticket.refresh_from_db()
    ticket.save()  # every column written, none changed
    assert not TicketStatsChange.objects.exists()
