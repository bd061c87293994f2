"""The noise and speed figures (`tickets.stats.incident_stats`) on seeded data: the funnel
alerts received -> tickets -> incidents -> pages sent, and MTTA/MTTR by team, source, culprit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.models import WebhookDelivery
from tests.conftest import columns_read, indexed_columns
from tests.dashboard import make_ticket
from tickets.models import Incident, new_incident_id
from tickets.stats import incident_stats

pytestmark = pytest.mark.django_db

VAULT = "key-vault:kv-prod"


def incident(culprit: str, **fields) -> Incident:
    return Incident.objects.create(
        id=new_incident_id(), group_key=f"{culprit}|AuthenticationError", culprit=culprit, **fields
    )


def seed() -> tuple:
    now = timezone.now()
    since, until = now - timedelta(days=7), now + timedelta(minutes=1)
    grouped = incident(VAULT, itsm_ticket_id="OPS-10", slack_ts="10.1", member_count=3)
    # Three members: acknowledged after 60 s, 120 s and not yet; recovered at their source
    # after 600 s and 1200 s, one not yet.
    for n, (ack, recovered) in enumerate([(60, 600), (120, 1200), (None, None)]):
        failed = now - timedelta(hours=n + 1)
        make_ticket(
            pipeline=f"pl_vault_{n}",
            timestamp=failed,
            culprit=VAULT,
            incident=grouped,
            finops_team="data",
            source="adf",
            ack_seconds=ack,
            resolved_at_source_at=failed + timedelta(seconds=recovered) if recovered else None,
        )
    # Two tickets of their own, each paged: JIRA and Slack, JIRA only.
    make_ticket(
        timestamp=now - timedelta(hours=5),
        finops_team="finance",
        source="airflow",
        itsm_ticket_id="OPS-11",
        slack_ts="11.1",
        ack_seconds=300,
    )
    alone = now - timedelta(hours=6)
    make_ticket(
        timestamp=alone,
        finops_team="finance",
        source="airflow",
        itsm_ticket_id="OPS-12",
        ack_seconds=600,
        resolved_at_source_at=alone + timedelta(seconds=3600),
    )
    # Before the period: its ticket, its incident and its alert are not counted.
    earlier = incident("sql-server:old", itsm_ticket_id="OPS-1", slack_ts="1.1", member_count=1)
    make_ticket(timestamp=since - timedelta(hours=1), incident=earlier, culprit="sql-server:old")
    for _ in range(7):
        WebhookDelivery.objects.create(source="adf", raw_body="{}", status="processed")
    WebhookDelivery.objects.create(
        source="adf", raw_body="{}", status="processed", received_at=since - timedelta(hours=1)
    )
    return since, until


def test_the_noise_funnel_counts_the_period():
    since, until = seed()
    assert incident_stats(since, until)["noise"] == {
        "alerts_received": 7,
        "tickets": 5,
        "tickets_in_incidents": 3,
        "incidents": 1,
        # The incident's JIRA issue and Slack message, then 2 + 1 of the single tickets.
        "pages_sent": 5,
        "alerts_per_page": 1.4,
    }


def test_response_times_by_team_source_and_culprit():
    since, until = seed()
    figures = incident_stats(since, until)
    data = {"tickets": 3, "mtta_seconds": 90.0, "mttr_seconds": 900.0}
    finance = {"tickets": 2, "mtta_seconds": 450.0, "mttr_seconds": 3600.0}
    assert figures["by_team"] == [{"key": "data", **data}, {"key": "finance", **finance}]
    assert figures["by_source"] == [{"key": "adf", **data}, {"key": "airflow", **finance}]
    # Tickets naming no culprit are in no culprit's row.
    assert figures["by_culprit"] == [{"key": VAULT, **data}]


def test_a_period_without_anything_is_zeros_not_an_error():
    now = timezone.now()
    figures = incident_stats(now - timedelta(days=1), now)
    assert figures["noise"]["pages_sent"] == 0 and figures["noise"]["alerts_per_page"] is None
    assert figures["by_team"] == figures["by_source"] == figures["by_culprit"] == []


def test_one_round_trip_every_statement_bounded_by_the_period(django_assert_num_queries):
    since, until = seed()
    with django_assert_num_queries(1) as captured:
        incident_stats(since, until)
    statements = captured.captured_queries[0]["sql"].split(";")
    assert len(statements) >= 3
    for sql in statements:
        # The tickets' time, the inbox's, or the inbox rollup's day.
        assert '"timestamp" >= ' in sql or "received_at >= " in sql or "day >= " in sql, sql


def test_a_period_of_whole_days_reads_the_same_from_the_inbox_rollup(settings):
    seed()
    now = timezone.now()
    start = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=3)
    for since, until in [(start, start + timedelta(days=4)), (start, now + timedelta(hours=1))]:
        settings.STATS_ROLLUP = False
        direct = incident_stats(since, until)
        settings.STATS_ROLLUP = True
        assert incident_stats(since, until) == direct
        assert direct["noise"]["alerts_received"] == 7


def test_each_breakdown_is_its_50_largest_keys_largest_first_then_by_name():
    now = timezone.now()
    # Team t00 has three tickets, t01 two, the 51 others one each.
    for n, count in enumerate([3, 2, *([1] * 51)]):
        for k in range(count):
            make_ticket(
                pipeline=f"pl_{n}_{k}",
                timestamp=now - timedelta(minutes=n + 1),
                finops_team=f"t{n:02d}",
            )
    teams = incident_stats(now - timedelta(days=1), now)["by_team"]
    assert [t["key"] for t in teams] == [f"t{n:02d}" for n in range(50)]
    assert [t["tickets"] for t in teams[:3]] == [3, 2, 1]


def test_the_time_to_recover_of_a_regression_counts_from_the_regression():
    """It counted from the first failure, as the time to acknowledge and to resolve do not: a
    ticket that failed again a day later and recovered 10 minutes after that counted a day."""
    now = timezone.now()
    regressed = now - timedelta(minutes=20)
    make_ticket(
        timestamp=now - timedelta(days=1),
        regressed_at=regressed,
        resolved_at_source_at=regressed + timedelta(minutes=10),
        finops_team="data",
    )
    figures = incident_stats(now - timedelta(days=2), now)
    assert figures["by_team"] == [
        {"key": "data", "tickets": 1, "mtta_seconds": None, "mttr_seconds": 600.0}
    ]


def test_a_merged_incidents_pages_count_among_the_pages_sent():
    """Its JIRA issue and Slack message were sent before it was merged: they are pages, counted
    with the incident it was merged into (its members are that incident's now), once; the
    merged incident is no incident of its own."""
    now = timezone.now()
    since, until = now - timedelta(days=1), now + timedelta(minutes=1)
    into = incident(VAULT, itsm_ticket_id="OPS-20", slack_ts="20.1", member_count=2)
    merged = incident(VAULT, itsm_ticket_id="OPS-21", slack_ts="21.1", merged_into=into)
    # Merged into the first, itself merged since: its pages count too.
    earlier = incident(VAULT, slack_ts="22.1", merged_into=merged)
    for n in range(2):
        make_ticket(timestamp=now - timedelta(hours=n + 1), culprit=VAULT, incident=into)
    # An incident merged into one the period's tickets are not members of is not counted.
    other = incident("sql-server:old", itsm_ticket_id="OPS-1")
    incident("sql-server:old", slack_ts="1.1", merged_into=other)

    noise = incident_stats(since, until)["noise"]
    assert (noise["incidents"], noise["pages_sent"]) == (1, 5)
    assert Incident.objects.filter(pk=earlier.pk, merged_into=merged).exists()


@pytest.mark.django_db(transaction=True)
def test_the_period_s_tickets_are_read_from_the_stats_index_alone():
    """The breakdowns' pass read the heap of every ticket of the period (170-250 ms for a month
    at 100,000 tickets): every column it reads is in `ticket_stats_period_v4` (tickets/0055,
    0057) now, so a vacuumed table's tickets are read by an index-only scan. Checked on the columns
    the plan reads, not on the plan's choice: of the few rows here the planner may as well
    read them through the timestamp index."""
    since, until = seed()
    with CaptureQueriesContext(connection) as queries:
        incident_stats(since, until)
    (batch,) = [q["sql"] for q in queries]
    (tickets_pass,) = [sql for sql in batch.split(";\n") if "GROUPING SETS" in sql]
    read = columns_read(tickets_pass, "tickets_ticket")
    assert {"timestamp", "culprit", "incident_id"} <= read, read
    assert read <= indexed_columns("ticket_stats_period_v4"), read
