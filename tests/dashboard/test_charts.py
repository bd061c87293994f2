"""Server-side SVG charts (tickets/dashboard/charts.py)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from tests.dashboard import make_ticket
from tickets.dashboard import charts
from tickets.stats import daily_series

SVG = "{http://www.w3.org/2000/svg}"


def day_row(day: date, **fields) -> dict:
    """One entry shaped like tickets.stats.daily_series."""
    return {
        "date": day,
        "created": 0,
        "by_error_type": {},
        "acknowledged": 0,
        "sla_met": 0,
        "sla_breached": 0,
        "mean_ack_seconds": None,
        **fields,
    }


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # well-formed XML, or this raises


def test_normalize_day_reads_the_stats_service_shape():
    point = charts.normalize_day(
        day_row(
            date(2025, 12, 10),
            created=5,
            by_error_type={"NetworkError": 3, "DataError": 2},
            acknowledged=4,
            sla_met=3,
            sla_breached=1,
            mean_ack_seconds=900.0,
        )
    )
    assert point == charts.DayPoint(
        day=date(2025, 12, 10),
        total=5,
        by_error_type={"NetworkError": 3, "DataError": 2},
        mttr_seconds=900.0,
        acknowledged=4,
        sla_met=3,
        sla_breached=1,
    )


@pytest.mark.parametrize(
    "value, integer, expected",
    [(1, True, (1, 1)), (7, True, (8, 2)), (23, True, (25, 5)), (0.4, False, (0.4, 0.1))],
)
def test_nice_scale(value, integer, expected):
    assert charts.nice_scale(value, integer=integer) == pytest.approx(expected)


def test_build_charts_draws_the_three_charts():
    start = date(2025, 12, 1)
    rows = [
        day_row(
            start + timedelta(days=i),
            created=i + 1,
            by_error_type={"NetworkError": i, "DatabaseError": 1},
            acknowledged=1,
            sla_met=1,
            sla_breached=i % 2,
            mean_ack_seconds=600.0 * (i + 1) if i != 2 else None,
        )
        for i in range(5)
    ]

    result = charts.build_charts(rows)

    volume = parse(result["volume"])
    bars = volume.findall(f"{SVG}rect[@height]")
    titles = [rect.findtext(f"{SVG}title") for rect in bars if rect.find(f"{SVG}title") is not None]
    assert "Dec 5 · NetworkError: 4" in titles
    assert "Dec 1 · DatabaseError: 1" in titles
    assert {"NetworkError", "DatabaseError"} <= {t.text for t in volume.iter(f"{SVG}text")}
    mttr = parse(result["mttr"])
    assert len(mttr.findall(f"{SVG}polyline")) == 2  # the day without data breaks the line
    assert len(mttr.findall(f"{SVG}circle")) == 4
    sla = parse(result["sla"])
    assert "Dec 2 · Breached: 1" in [t.text for t in sla.iter(f"{SVG}title")]
    assert result["total"] == 15
    assert (result["sla_met"], result["sla_breached"], result["sla_compliance"]) == (5, 2, 71.4)
    assert result["mttr_unit"] == "min"
    assert result["mttr_overall"] == pytest.approx((10 + 20 + 40 + 50) / 4)
    for svg in (result["volume"], result["mttr"], result["sla"]):
        assert "style=" not in svg and "<script" not in svg


def test_chart_text_is_escaped():
    rows = [day_row(date(2025, 12, 1), created=1, by_error_type={"<script>x</script>": 1})]
    svg = charts.build_charts(rows)["volume"]
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    parse(svg)


def test_empty_period_says_so():
    rows = [day_row(date(2025, 12, 1) + timedelta(days=i)) for i in range(3)]
    result = charts.build_charts(rows)
    assert "No data in this period" in result["volume"]
    assert "No acknowledged tickets" in result["mttr"]
    assert result["sla_compliance"] is None and result["mttr_overall"] is None


def test_last_day_is_always_labelled():
    rows = [day_row(date(2025, 11, 1) + timedelta(days=i), created=1) for i in range(30)]
    svg = charts.build_charts(rows)["volume"]
    labels = re.findall(r'class="axis">([A-Z][a-z]{2} \d+)<', svg)
    assert labels[-1] == "Nov 30"
    assert 5 <= len(labels) <= 20


@pytest.mark.django_db
def test_charts_from_the_stats_service():
    now = timezone.now()
    today = now.astimezone(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    make_ticket(error_type="NetworkError", timestamp=today - timedelta(days=1))
    make_ticket(
        error_type="DataError",
        timestamp=today - timedelta(days=1),
        status="acknowledged",
        ack_seconds=1200,
        sla_status="Met",
    )
    since = (today - timedelta(days=2)).replace(hour=0)
    rows = daily_series(since, datetime.combine(today.date(), datetime.min.time(), UTC))

    result = charts.build_charts(rows)

    assert result["total"] == 2
    assert result["sla_met"] == 1
    assert result["mttr_overall"] == 20.0 and result["mttr_unit"] == "min"
    assert "DataError: 1" in result["volume"]


# --- incidents: the noise funnel and response times ----------------------------------------


def incident_figures(**noise) -> dict:
    return {
        "noise": {
            "alerts_received": 2000,
            "tickets": 500,
            "tickets_in_incidents": 400,
            "incidents": 8,
            "pages_sent": 216,
            "alerts_per_page": 9.26,
            **noise,
        },
        "by_team": [
            {"key": "data", "tickets": 3, "mtta_seconds": 90.0, "mttr_seconds": 900.0},
            {"key": "finance", "tickets": 2, "mtta_seconds": 450.0, "mttr_seconds": None},
        ],
        "by_source": [],
        "by_culprit": [
            {
                "key": f"api-host:<b>{n}</b>",
                "tickets": 20 - n,
                "mtta_seconds": 60.0 * n,
                "mttr_seconds": 7200.0,
            }
            for n in range(12)
        ],
    }


def test_the_funnel_has_one_bar_per_stage_with_its_count():
    svg = parse(charts.build_incident_charts(incident_figures())["funnel"])
    bars = svg.findall(f"{SVG}rect")
    assert bar_tips(svg) == [
        "Alerts received · Count: 2,000",
        "Tickets · Count: 500",
        "Incidents · Count: 8",
        "Pages sent · Count: 216",
    ]
    widths = [float(bar.get("width") or 0) for bar in bars]
    assert widths[0] > widths[1] > widths[3] > widths[2] > 0
    assert len({bar.get("fill") for bar in bars}) == 4


def bar_tips(svg: ET.Element) -> list[str]:
    """The tooltips of the bars (legend swatches have none)."""
    return [
        title.text or ""
        for rect in svg.findall(f"{SVG}rect")
        if (title := rect.find(f"{SVG}title")) is not None
    ]


def test_response_times_show_mtta_and_mttr_per_key_in_one_unit():
    built = charts.build_incident_charts(incident_figures())
    team = parse(built["by_team"])
    tips = bar_tips(team)
    # 900 s is the longest: minutes. A missing MTTR draws no bar.
    assert "data (3) · MTTA (min): 1.5 min" in tips
    assert "data (3) · MTTR (min): 15 min" in tips
    assert "finance (2) · MTTA (min): 7.5 min" in tips
    assert not any(tip.startswith("finance (2) · MTTR") for tip in tips)
    assert "—" in "".join(team.itertext())
    # The 8 culprits with the most tickets, their names escaped.
    culprit_svg = str(built["by_culprit"])
    culprit = parse(culprit_svg)
    assert len(bar_tips(culprit)) == 2 * charts.BREAKDOWN_ROWS
    assert "<b>" not in culprit_svg and "api-host:&lt;b&gt;0&lt;/b&gt; (20)" in culprit_svg
    assert "(h)" in culprit_svg  # 7200 s: hours
    # Nothing at all: says so.
    assert "No acknowledged or recovered tickets in this period" in "".join(
        parse(built["by_source"]).itertext()
    )


def test_an_empty_period_draws_an_empty_funnel():
    empty = {key: 0 for key in ("alerts_received", "tickets", "tickets_in_incidents")}
    svg = charts.build_incident_charts(
        incident_figures(**empty, incidents=0, pages_sent=0, alerts_per_page=None)
    )["funnel"]
    assert "No alerts in this period" in "".join(parse(svg).itertext())
