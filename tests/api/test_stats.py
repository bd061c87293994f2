"""Stats against figures computed by hand on a small, known set of tickets and deliveries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from integrations.models import WebhookDelivery
from tests.api import clear_throttles, jwt_client, make_ticket, make_user
from tickets import stats

pytestmark = pytest.mark.django_db

SINCE = datetime(2025, 1, 1, tzinfo=UTC)
UNTIL = datetime(2025, 1, 4, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_throttles():
    clear_throttles()


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2025, 1, day, hour, minute, second, tzinfo=UTC)


@pytest.fixture
def known_set() -> None:
    def ticket(when, status, ack, sla, severity, error_type, source, team, resolve=None):
        make_ticket(
            resolve_seconds=resolve,
            resolved_at=when + timedelta(seconds=resolve) if resolve is not None else None,
            timestamp=when,
            status=status,
            ack_seconds=ack,
            ack_ts=when + timedelta(seconds=ack) if ack is not None else None,
            sla_status=sla,
            severity=severity,
            error_type=error_type,
            source=source,
            finops_team=team,
        )

    ticket(at(1, 10), "resolved", 60, "Met", "High", "NetworkError", "adf", "sales", resolve=600)
    ticket(at(1, 12), "resolved", 120, "Met", "Critical", "DatabaseError", "airflow", "sales",
           resolve=1800)  # fmt: skip
    ticket(at(2, 9), "acknowledged", 600, "Breached", "High", "NetworkError", "adf", "finance")
    ticket(at(2, 10), "open", None, "Pending", "Low", "Unknown", "databricks", "finance")
    ticket(
        at(3, 23, 59, 59),
        "in_progress",
        None,
        "Breached",
        "Medium",
        "NetworkError",
        "azure-monitor",
        "sales",
    )
    # Outside the period: just before, and exactly at `until` (excluded).
    ticket(at(1, 0) - timedelta(seconds=1), "acknowledged", 9999, "Met", "Low", "DataError",
           "adf", "x")  # fmt: skip
    ticket(UNTIL, "acknowledged", 9999, "Breached", "Low", "DataError", "adf", "x")

    def delivery(when, outcome="", status="processed", source="adf"):
        WebhookDelivery.objects.create(
            source=source, received_at=when, raw_body="{}", status=status, outcome=outcome
        )

    for outcome, count in (
        ("created", 5),
        ("duplicate", 3),
        ("correlated", 2),
        ("suppressed", 1),
        ("resolved", 1),
        ("ignored", 1),
    ):
        for _ in range(count):
            delivery(at(2, 8), outcome)
    delivery(at(2, 8), status="rejected")
    delivery(at(2, 8), status="rejected")
    delivery(at(2, 8), "created", status="pending")
    delivery(at(2, 8), source="jira")  # a sync-back row: no outcome, not counted
    delivery(at(1, 0) - timedelta(seconds=1), "duplicate")  # outside


def test_ticket_stats_match_the_hand_computed_figures(known_set):
    figures = stats.ticket_stats(SINCE, UNTIL)

    assert figures["total"] == 5
    assert figures["by_status"] == {
        "open": 1,
        "in_progress": 1,
        "acknowledged": 1,
        "resolved": 2,
    }
    assert figures["by_severity"] == {"Critical": 1, "High": 2, "Medium": 1, "Low": 1}
    assert figures["by_error_type"]["NetworkError"] == 3
    assert figures["by_error_type"]["DatabaseError"] == 1
    assert figures["by_error_type"]["Unknown"] == 1
    assert figures["by_error_type"]["DataError"] == 0
    assert sum(figures["by_error_type"].values()) == 5
    assert figures["by_source"] == {"adf": 2, "airflow": 1, "databricks": 1, "azure-monitor": 1}
    assert figures["by_team"] == {"sales": 3, "finance": 2}
    # ack_seconds 60, 120, 600: mean 260; p50 120; p90 = 120 + 0.8 * (600 - 120) = 504.
    assert figures["mtta"] == {
        "acknowledged": 3,
        "mean_seconds": 260.0,
        "p50_seconds": 120.0,
        "p90_seconds": 504.0,
    }
    # resolve_seconds 600, 1800: mean and p50 1200; p90 = 600 + 0.9 * 1200 = 1680.
    assert figures["mttr"] == {
        "resolved": 2,
        "mean_seconds": 1200.0,
        "p50_seconds": 1200.0,
        "p90_seconds": 1680.0,
    }
    # Met 2, Breached 2 (Pending 1 is not decided yet).
    assert figures["sla"] == {
        "compliance": 0.5,
        "by_status": {"Pending": 1, "Met": 2, "Breached": 2},
    }
    assert figures["inbox"] == {
        "created": 6,
        "duplicate": 3,
        "correlated": 2,
        "regressed": 0,
        "suppressed": 1,
        "resolved": 1,
        "ignored": 1,
        "rejected": 2,
        "total": 16,
    }


def test_daily_series_matches_the_hand_computed_figures(known_set):
    series = stats.daily_series(SINCE, UNTIL)

    assert [point["date"] for point in series] == [date(2025, 1, d) for d in (1, 2, 3)]
    day1, day2, day3 = series
    assert day1 == {
        "date": date(2025, 1, 1),
        "created": 2,
        "by_error_type": {"NetworkError": 1, "DatabaseError": 1},
        "acknowledged": 2,
        "mean_ack_seconds": 90.0,
        "resolved": 2,
        "mean_resolve_seconds": 1200.0,
        "sla_met": 2,
        "sla_breached": 0,
    }
    assert (day2["created"], day2["acknowledged"], day2["mean_ack_seconds"]) == (2, 1, 600.0)
    assert day2["by_error_type"] == {"NetworkError": 1, "Unknown": 1}
    assert (day2["sla_met"], day2["sla_breached"]) == (0, 1)
    assert (day3["created"], day3["acknowledged"], day3["mean_ack_seconds"]) == (1, 0, None)
    assert day3["sla_breached"] == 1
    assert (day2["resolved"], day2["mean_resolve_seconds"]) == (0, None)


def test_empty_period_gives_zeros_not_errors():
    figures = stats.ticket_stats(SINCE, UNTIL)
    assert figures["total"] == 0
    assert figures["mttr"]["mean_seconds"] is None and figures["mtta"]["mean_seconds"] is None
    assert figures["sla"]["compliance"] is None
    assert all(point["created"] == 0 for point in stats.daily_series(SINCE, UNTIL))


def test_stats_endpoint(known_set):
    api = jwt_client(make_user("viewer"))

    response = api.get("/api/v1/stats/?since=2025-01-01T00:00:00Z&until=2025-01-04T00:00:00Z")

    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 5
    assert body["mtta"]["p90_seconds"] == 504.0
    assert body["mttr"]["p90_seconds"] == 1680.0
    assert body["sla"]["compliance"] == 0.5
    assert body["inbox"]["duplicate"] == 3
    assert [p["date"] for p in body["daily"]] == ["2025-01-01", "2025-01-02", "2025-01-03"]
    assert body["daily"][0]["mean_ack_seconds"] == 90.0


def test_stats_default_to_the_last_30_days():
    make_ticket(timestamp=timezone.now() - timedelta(days=29))
    make_ticket(timestamp=timezone.now() - timedelta(days=31))

    body = jwt_client(make_user("viewer")).get("/api/v1/stats/").json()

    assert body["total"] == 1
    assert len(body["daily"]) in (30, 31)  # 30 days span 31 calendar days unless at midnight


@pytest.mark.parametrize(
    "query, parameter",
    [
        ("since=yesterday", "since"),
        ("until=2025-13-01T00:00:00Z", "until"),
        ("since=2025-01-04T00:00:00Z&until=2025-01-01T00:00:00Z", "since"),
        ("since=2020-01-01T00:00:00Z&until=2025-01-01T00:00:00Z", "since"),
    ],
)
def test_a_bad_period_is_a_400_naming_the_parameter(query, parameter):
    response = jwt_client(make_user("viewer")).get(f"/api/v1/stats/?{query}")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid request"
    assert parameter in body["detail"]


@pytest.mark.parametrize("path", ["/api/v1/stats/", "/api/v1/stats/incidents/"])
def test_a_filter_the_stats_do_not_take_is_a_400_not_the_whole_periods_figures(path):
    """`?team=nobody` answered the figures of every team, read by the caller as that team's."""
    make_ticket(timestamp=timezone.now() - timedelta(hours=1), finops_team="data-platform")
    client = jwt_client(make_user("viewer"))

    response = client.get(f"{path}?team=nobody&since=2025-01-01T00:00:00Z")

    assert response.status_code == 400
    assert "team" in response.json()["detail"]
    assert client.get(f"{path}?format=json").status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/stats/", "/api/v1/stats/incidents/"])
def test_a_period_bound_given_twice_is_a_400_naming_it_not_the_last_ones_period(path):
    """`?since=a&since=b` answered the figures from `b`, read by a caller that built its query
    from a default and an override as the period from `a`: as a list's filter given twice."""
    client = jwt_client(make_user("viewer"))

    response = client.get(
        f"{path}?since=2025-01-01T00:00:00Z&since=2025-01-20T00:00:00Z&until=2025-02-01T00:00:00Z"
    )

    assert response.status_code == 400
    assert response.json()["detail"] == {"since": "takes one value, given 2 times"}


def test_overview_is_both_in_one_round_trip(known_set, django_assert_num_queries):
    # The period is whole days: the ticket rollup (counts and days), the MTTA and MTTR
    # percentiles, the inbox rollup, the remediations by action and outcome, their time to
    # recover and the resolved tickets they fixed: sent together, one round trip.
    with django_assert_num_queries(1) as captured:
        overview = stats.overview(SINCE, UNTIL)
    assert captured.captured_queries[0]["sql"].count("SELECT ") >= 6
    daily = overview.pop("daily")
    assert overview == stats.ticket_stats(SINCE, UNTIL)
    assert daily == stats.daily_series(SINCE, UNTIL)


def test_figures_are_cached_briefly_per_period(settings):
    api = jwt_client(make_user("viewer"))
    url = "/api/v1/stats/?since=2025-01-01T00:00:00Z&until=2025-01-04T00:00:00Z"
    make_ticket(timestamp=at(2, 12))
    assert api.get(url).json()["total"] == 1

    make_ticket(timestamp=at(2, 13))
    assert api.get(url).json()["total"] == 1  # the cached figures
    other_period = url.replace("2025-01-01T00", "2025-01-01T01")
    assert api.get(other_period).json()["total"] == 2

    settings.API_STATS_CACHE_SECONDS = 0
    assert api.get(url).json()["total"] == 2


def test_the_default_period_ends_at_the_next_whole_minute():
    body = jwt_client(make_user("viewer")).get("/api/v1/stats/").json()
    until = datetime.fromisoformat(body["until"])
    assert until.second == 0 and until.microsecond == 0
    assert timedelta(0) < until - timezone.now() <= timedelta(minutes=1)
    assert until - datetime.fromisoformat(body["since"]) == timedelta(days=30)


@pytest.mark.parametrize("path", ["/api/v1/stats/", "/api/v1/stats/incidents/"])
@pytest.mark.parametrize(
    "query",
    [
        "until=0001-01-01T00:00:00Z",  # the default 30 days before it: before year 1
        "since=9999-12-30T00:00:00Z&until=9999-12-31T23:59:59Z",  # the day after: past 9999
    ],
)
def test_a_period_at_the_ends_of_the_calendar_is_a_400_naming_until(path, query):
    """Both were a 500 (OverflowError computing the default start or the daily series)."""
    response = jwt_client(make_user("viewer")).get(f"{path}?{query}")

    assert response.status_code == 400, response.content
    assert "until" in response.json()["detail"]


def test_a_period_ending_on_the_last_day_the_stats_take_is_answered():
    client = jwt_client(make_user("viewer"))

    response = client.get("/api/v1/stats/?since=9999-12-30T00:00:01Z&until=9999-12-31T00:00:00Z")

    assert response.status_code == 200, response.content
    assert [day["date"] for day in response.json()["daily"]] == ["9999-12-30"]
