"""Server-side SVG charts for the dashboard (no JS charting library, no CDN).

Every chart is plain SVG built here; colours are presentation attributes (not `style`), so the
page's Content-Security-Policy (`style-src 'self'`) holds. All text is escaped.

The data comes from `tickets.stats.daily_series(since, until)`: one dict per UTC day with
`date`, `created`, `by_error_type`, `acknowledged`, `mean_ack_seconds` (MTTA of that day's
cohort), `resolved`, `mean_resolve_seconds` (MTTR), `sla_met` and `sla_breached`;
`normalize_day` turns each into a `DayPoint`. (`mttr_seconds` on a `DayPoint` is the time to
acknowledge, the trend line; `resolve_seconds` the time to resolve.) The noise and speed charts
(`build_incident_charts`) take `tickets.stats.incident_stats(since, until)` as it is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from tickets.vocabulary import ErrorClass

WIDTH, HEIGHT = 1000, 300  # the full-width chart; the half-width ones are narrower
HALF_WIDTH = 480
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 14, 34
LEGEND_ROW = 20
FONT = 11

# One colour per error class (colour-blind friendly, Tableau 10 order).
ERROR_CLASS_COLORS: dict[str, str] = dict(
    zip(
        ErrorClass,
        (
            "#4e79a7",
            "#f28e2b",
            "#e15759",
            "#76b7b2",
            "#59a14f",
            "#edc948",
            "#b07aa1",
            "#ff9da7",
            "#9c755f",
            "#bab0ac",
        ),
        strict=True,
    )
)
OTHER_COLOR = "#8c8c8c"
MET_COLOR, BREACHED_COLOR, LINE_COLOR = "#2f9e44", "#d9480f", "#1c7ed6"


@dataclass(frozen=True)
class DayPoint:
    day: date
    total: int = 0
    by_error_type: dict[str, int] = field(default_factory=dict)
    mttr_seconds: float | None = None
    acknowledged: int = 0
    resolve_seconds: float | None = None
    resolved: int = 0
    sla_met: int = 0
    sla_breached: int = 0


def _first(row: Mapping[str, Any], *names: str, default: Any = None) -> Any:
    for name in names:
        if name in row and row[name] is not None:
            return row[name]
    return default


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _optional_float(value: Any) -> float | None:
    return float(value) if value is not None else None


def normalize_day(row: Mapping[str, Any]) -> DayPoint:
    """One day of `daily_series` as a DayPoint, whichever of the usual key names it uses."""
    by_type = _first(row, "by_error_type", "by_error_class", "error_types", "by_type", default={})
    if isinstance(by_type, list):  # [{"error_type": ..., "count": ...}]
        by_type = {
            str(_first(item, "error_type", "name", "key", default="Unknown")): int(
                _first(item, "count", "value", default=0)
            )
            for item in by_type
        }
    by_type = {str(k): int(v or 0) for k, v in dict(by_type).items()}
    sla = _first(row, "sla", default={}) or {}
    met = _first(row, "sla_met", "met", default=None)
    breached = _first(row, "sla_breached", "breached", default=None)
    if met is None and isinstance(sla, Mapping):
        met = _first(sla, "met", "Met", default=0)
    if breached is None and isinstance(sla, Mapping):
        breached = _first(sla, "breached", "Breached", default=0)
    mttr = _first(row, "mean_ack_seconds", "mttr_seconds", "mttr")
    if isinstance(mttr, Mapping):
        mttr = _first(mttr, "seconds", "mean_seconds", "value")
    total = _first(row, "created", "total", "count", "tickets", default=None)
    return DayPoint(
        day=_as_date(_first(row, "date", "day", "bucket")),
        total=int(total) if total is not None else sum(by_type.values()),
        by_error_type=by_type,
        mttr_seconds=float(mttr) if mttr is not None else None,
        acknowledged=int(_first(row, "acknowledged", default=0)),
        resolve_seconds=_optional_float(_first(row, "mean_resolve_seconds")),
        resolved=int(_first(row, "resolved", default=0)),
        sla_met=int(met or 0),
        sla_breached=int(breached or 0),
    )


def nice_scale(value: float, *, integer: bool = True, ticks: int = 5) -> tuple[float, float]:
    """(axis maximum, tick step) with a round step and at most `ticks` steps above zero;
    integer steps for counts."""
    value = max(float(value), 1.0 if integer else 1e-9)
    exponent = math.floor(math.log10(value / ticks)) if value / ticks > 0 else 0
    while True:
        for base in (1, 2, 2.5, 5):
            step = base * 10.0**exponent
            if integer and (step < 1 or not float(step).is_integer()):
                continue
            if math.ceil(value / step - 1e-9) <= ticks:
                return step * math.ceil(value / step - 1e-9), step
        exponent += 1


def _fmt(number: float) -> str:
    return f"{number:.0f}" if float(number).is_integer() else f"{number:.1f}"


def _day_label(day: date) -> str:
    return f"{day:%b} {day.day}"


class _Svg:
    def __init__(self, title: str, width: int = WIDTH, height: int = HEIGHT, legend_rows: int = 0):
        self.title = title
        self.width = width
        self.height = height
        self.legend_rows = legend_rows
        self.parts: list[str] = []

    @property
    def plot_w(self) -> float:
        return self.width - LEFT - RIGHT

    @property
    def plot_h(self) -> float:
        return self.height - TOP - BOTTOM - self.legend_rows * LEGEND_ROW

    def add(self, markup: str) -> None:
        self.parts.append(markup)

    def text(self, x: float, y: float, value: str, cls: str = "", anchor: str = "start") -> None:
        klass = f' class="{cls}"' if cls else ""
        self.add(
            f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{FONT}"{klass}>'
            f"{escape(value)}</text>"
        )

    def render(self) -> SafeString:
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.width} {self.height}" '
            f'class="chart" role="img" aria-label="{escape(self.title)}">'
            f"<title>{escape(self.title)}</title>"
        )
        return mark_safe(head + "".join(self.parts) + "</svg>")  # every text part was escaped


def _axes(
    svg: _Svg,
    days: Sequence[Any],
    y_max: float,
    step: float,
    y_format: Callable[[float], str],
    x_label: Callable[[Any], str] = _day_label,
) -> None:
    plot_h = svg.plot_h
    for i in range(round(y_max / step) + 1):
        value = step * i
        y = TOP + plot_h - plot_h * value / y_max
        color = "#9aa5b1" if i == 0 else "#e3e7ed"
        svg.add(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + svg.plot_w:.1f}" y2="{y:.1f}" '
            f'stroke="{color}" stroke-width="1"/>'
        )
        svg.text(LEFT - 6, y + 4, y_format(value), "axis", "end")
    if not days:
        return
    slot = svg.plot_w / len(days)
    every = max(1, math.ceil(len(days) / max(2, int(svg.plot_w // 56))))
    for i, day in enumerate(days):
        if (len(days) - 1 - i) % every == 0:  # always label the last (most recent) day
            svg.text(LEFT + slot * (i + 0.5), TOP + plot_h + 16, x_label(day), "axis", "middle")


def _legend_layout(svg: _Svg, names: Sequence[str]) -> list[tuple[float, int]]:
    """(x, row) of each legend item, wrapping at the chart's width."""
    places, x, row = [], float(LEFT), 0
    for name in names:
        width = 22 + 6.4 * len(name)
        if x + width > svg.width - RIGHT and x > LEFT:
            x, row = float(LEFT), row + 1
        places.append((x, row))
        x += width + 10
    return places


def _legend(svg: _Svg, items: Sequence[tuple[str, str]]) -> None:
    top = svg.height - svg.legend_rows * LEGEND_ROW + 4
    for (name, color), (x, row) in zip(
        items, _legend_layout(svg, [n for n, _ in items]), strict=True
    ):
        y = top + row * LEGEND_ROW
        svg.add(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" rx="2" fill="{color}"/>')
        svg.text(x + 14, y, name, "legend")


def _with_legend(title: str, names: Sequence[str], width: int, height: int) -> _Svg:
    probe = _Svg(title, width, height)
    rows = (_legend_layout(probe, names)[-1][1] + 1) if names else 0
    return _Svg(title, width, height, legend_rows=rows)


def _empty(svg: _Svg, message: str) -> SafeString:
    svg.text(svg.width / 2, TOP + svg.plot_h / 2, message, "empty", "middle")
    return svg.render()


def stacked_bar_chart(
    title: str,
    days: Sequence[date],
    series: Sequence[tuple[str, Sequence[int], str]],
    *,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> SafeString:
    """Bars per day, one stacked segment per series (name, values per day, colour)."""
    svg = _with_legend(title, [name for name, _, _ in series], width, height)
    totals = [sum(values[i] for _, values, _ in series) for i in range(len(days))]
    if not days or not any(totals):
        _axes(svg, days, 4, 1, _fmt)
        return _empty(svg, "No data in this period")
    y_max, step = nice_scale(max(totals), integer=True)
    _axes(svg, days, y_max, step, _fmt)
    slot = svg.plot_w / len(days)
    bar_w = max(2.0, min(40.0, slot * 0.68))
    for i, day in enumerate(days):
        x = LEFT + slot * i + (slot - bar_w) / 2
        y = TOP + svg.plot_h
        for name, values, color in series:
            value = values[i]
            if not value:
                continue
            h = svg.plot_h * value / y_max
            y -= h
            label = f"{_day_label(day)} · {name}: {value}"
            svg.add(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{color}"><title>{escape(label)}</title></rect>'
            )
    _legend(svg, [(name, color) for name, _, color in series])
    return svg.render()


def line_chart(
    title: str,
    days: Sequence[date],
    values: Sequence[float | None],
    *,
    name: str,
    color: str = LINE_COLOR,
    scale: float = 1.0,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> SafeString:
    """A line over the days; None leaves a gap. Values are divided by `scale` for the axis."""
    svg = _with_legend(title, [name], width, height)
    scaled = [v / scale if v is not None else None for v in values]
    present = [v for v in scaled if v is not None]
    if not days or not present:
        _axes(svg, days, 4, 1, _fmt)
        return _empty(svg, "No acknowledged tickets in this period")
    y_max, step = nice_scale(max(present), integer=False)
    _axes(svg, days, y_max, step, _fmt)
    slot = svg.plot_w / len(days)
    segments: list[list[tuple[float, float]]] = [[]]
    points = []
    for i, value in enumerate(scaled):
        if value is None:
            if segments[-1]:
                segments.append([])
            continue
        x = LEFT + slot * (i + 0.5)
        y = TOP + svg.plot_h - svg.plot_h * value / y_max
        segments[-1].append((x, y))
        points.append((x, y, days[i], value))
    for segment in segments:
        if len(segment) > 1:
            coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in segment)
            svg.add(
                f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="2.5" '
                f'stroke-linejoin="round" stroke-linecap="round"/>'
            )
    for x, y, day, value in points:
        label = f"{_day_label(day)} · {name}: {_fmt(round(value, 1))}"
        svg.add(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="#fff" stroke="{color}" '
            f'stroke-width="2"><title>{escape(label)}</title></circle>'
        )
    _legend(svg, [(name, color)])
    return svg.render()


def _duration_unit(max_seconds: float) -> tuple[float, str]:
    if max_seconds >= 2 * 3600:
        return 3600.0, "h"
    if max_seconds >= 120:
        return 60.0, "min"
    return 1.0, "s"


def build_charts(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The three dashboard charts and their headline figures from `daily_series` rows."""
    points = sorted((normalize_day(row) for row in rows), key=lambda p: p.day)
    days = [p.day for p in points]
    seen = {name for p in points for name, count in p.by_error_type.items() if count}
    ordered = [name for name in ErrorClass if name in seen] + sorted(seen - set(ErrorClass))
    volume_series = [
        (
            name,
            [p.by_error_type.get(name, 0) for p in points],
            ERROR_CLASS_COLORS.get(name, OTHER_COLOR),
        )
        for name in ordered
    ]
    unaccounted = [max(0, p.total - sum(p.by_error_type.values())) for p in points]
    if any(unaccounted):
        volume_series.append(("Unclassified", unaccounted, OTHER_COLOR))
    mttr_values = [p.mttr_seconds for p in points]
    present = [v for v in mttr_values if v is not None]
    scale, unit = _duration_unit(max(present) if present else 0)
    met = sum(p.sla_met for p in points)
    breached = sum(p.sla_breached for p in points)
    resolved_mttr = [(p.mttr_seconds, p.acknowledged) for p in points if p.mttr_seconds is not None]
    return {
        "volume": stacked_bar_chart("Tickets per day by error class", days, volume_series),
        "mttr": line_chart(
            f"Mean time to acknowledge of each day's tickets ({unit})",
            days,
            mttr_values,
            name=f"MTTA ({unit})",
            scale=scale,
            width=HALF_WIDTH,
        ),
        "sla": stacked_bar_chart(
            "SLA met vs breached, by the day the tickets were created",
            days,
            [
                ("Met", [p.sla_met for p in points], MET_COLOR),
                ("Breached", [p.sla_breached for p in points], BREACHED_COLOR),
            ],
            width=HALF_WIDTH,
        ),
        "total": sum(p.total for p in points),
        "sla_met": met,
        "sla_breached": breached,
        "sla_compliance": round(100 * met / (met + breached), 1) if met + breached else None,
        "mttr_unit": unit,
        "mttr_scale": scale,
        "mttr_overall": _weighted_mean(resolved_mttr, scale),
        **_resolve_kpi(points),
        "days": len(days),
    }


def _resolve_kpi(points: Sequence[DayPoint]) -> dict[str, Any]:
    """The mean time to resolve (MTTR) over the period, in a unit that suits it."""
    values = [(p.resolve_seconds, p.resolved) for p in points if p.resolve_seconds is not None]
    scale, unit = _duration_unit(max((v for v, _ in values), default=0))
    return {"resolve_overall": _weighted_mean(values, scale), "resolve_unit": unit}


def _weighted_mean(values: list[tuple[float, int]], scale: float) -> float | None:
    """The mean over all acknowledged tickets from the per-day means and counts."""
    if not values:
        return None
    weights = sum(max(1, w) for _, w in values)
    return round(sum(v * max(1, w) for v, w in values) / weights / scale, 1)


# Log levels, from quiet to loud (a log-analysis timeline).
LEVEL_COLORS = {
    "TRACE": "#bab0ac",
    "DEBUG": "#9c755f",
    "INFO": "#4e79a7",
    "WARN": "#edc948",
    "ERROR": "#e15759",
    "FATAL": "#b07aa1",
    "OTHER": "#76b7b2",
}


def level_timeline_chart(timeline: Mapping[str, Any], *, width: int = WIDTH) -> SafeString:
    """Log lines per time bucket, stacked by level: a log-analysis report's ``timeline``
    (``bucket_seconds``, ``levels``, ``buckets`` of ``{"start", "counts"}``)."""
    levels = [lv for lv in timeline.get("levels", []) if lv in LEVEL_COLORS]
    buckets = list(timeline.get("buckets", []))
    svg = _with_legend("Log lines per level over time", levels, width, HEIGHT)
    starts = [datetime.fromisoformat(b["start"]) for b in buckets]
    totals = [sum(int(b["counts"].get(lv, 0)) for lv in levels) for b in buckets]
    span = (starts[-1] - starts[0]).total_seconds() if len(starts) > 1 else 0

    def label(moment: datetime) -> str:
        return f"{moment:%b} {moment.day}" if span > 2 * 86400 else f"{moment:%H:%M}"

    if not buckets or not any(totals):
        _axes(svg, [], 4, 1, _fmt)
        return _empty(svg, "No timestamped lines")
    y_max, step = nice_scale(max(totals), integer=True)
    _axes(svg, starts, y_max, step, _fmt, label)
    slot = svg.plot_w / len(buckets)
    bar_w = max(2.0, min(40.0, slot * 0.8))
    for i, (start, bucket) in enumerate(zip(starts, buckets, strict=True)):
        x = LEFT + slot * i + (slot - bar_w) / 2
        y = TOP + svg.plot_h
        for level in levels:
            value = int(bucket["counts"].get(level, 0))
            if not value:
                continue
            h = svg.plot_h * value / y_max
            y -= h
            tip = f"{start:%Y-%m-%d %H:%M:%S} UTC · {level}: {value:,}"
            svg.add(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{LEVEL_COLORS[level]}"><title>{escape(tip)}</title></rect>'
            )
    _legend(svg, [(level, LEVEL_COLORS[level]) for level in levels])
    return svg.render()


# --- incidents: the noise funnel and response times (`tickets.stats.incident_stats`) -------------

LABEL_WIDTH = 170
BAR_ROW = 16
FUNNEL_STAGES = (
    ("alerts_received", "Alerts received", "#4e79a7"),
    ("tickets", "Tickets", "#76b7b2"),
    ("incidents", "Incidents", "#b07aa1"),
    ("pages_sent", "Pages sent", "#f28e2b"),
)
MTTA_COLOR, MTTR_COLOR = "#1c7ed6", "#2f9e44"
BREAKDOWN_ROWS = 8


def _short(label: str, limit: int = 26) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def horizontal_bar_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None], str]],
    *,
    row_colors: Sequence[str] | None = None,
    value_text: Callable[[float], str] = _fmt,
    empty: str = "No data in this period",
    width: int = HALF_WIDTH,
) -> SafeString:
    """One row per label with a bar per series (name, values per label, colour; `row_colors`
    colours a single series row by row); a None value draws no bar and says "—". Each bar
    carries its value as text and as a tooltip."""
    group = BAR_ROW * len(series) + 10
    legend = [name for name, _, _ in series] if len(series) > 1 and not row_colors else []
    probe = _Svg(title, width, 100)
    rows = (_legend_layout(probe, legend)[-1][1] + 1) if legend else 0
    plot_h = max(1, len(labels)) * group
    svg = _Svg(title, width, TOP + plot_h + 8 + rows * LEGEND_ROW + 6, legend_rows=rows)
    present = [v for _, values, _ in series for v in values if v is not None]
    if not labels or not any(present):
        svg.text(svg.width / 2, TOP + plot_h / 2 + 4, empty, "empty", "middle")
        return svg.render()
    left, right = LABEL_WIDTH, width - RIGHT - 60
    top_value = max(present)
    for row, label in enumerate(labels):
        y0 = TOP + row * group
        svg.add(f"<g><title>{escape(label)}</title>")
        svg.text(left - 8, y0 + group / 2 + 2, _short(label), "axis", "end")
        svg.add("</g>")
        for i, (name, values, color) in enumerate(series):
            value = values[row]
            y = y0 + 4 + i * BAR_ROW
            if value is None:
                svg.text(left + 4, y + BAR_ROW - 5, "—", "axis")
                continue
            w = (right - left) * value / top_value if top_value else 0
            if row_colors:
                color = row_colors[row]
            tip = f"{label} · {name}: {value_text(value)}"
            svg.add(
                f'<rect x="{left}" y="{y:.1f}" width="{max(w, 1.0):.1f}" '
                f'height="{BAR_ROW - 3}" rx="2" fill="{color}"><title>{escape(tip)}</title></rect>'
            )
            svg.text(left + max(w, 1.0) + 4, y + BAR_ROW - 5, value_text(value), "axis")
    svg.add(
        f'<line x1="{left}" y1="{TOP}" x2="{left}" y2="{TOP + plot_h:.1f}" '
        'stroke="#9aa5b1" stroke-width="1"/>'
    )
    if legend:
        _legend(svg, [(name, color) for name, _, color in series])
    return svg.render()


def funnel_chart(noise: Mapping[str, Any], *, width: int = HALF_WIDTH) -> SafeString:
    """Alerts received -> tickets -> incidents -> pages sent, one bar each."""
    return horizontal_bar_chart(
        "Alerts received, tickets, incidents and pages sent",
        [label for _, label, _ in FUNNEL_STAGES],
        [("Count", [int(noise.get(key) or 0) for key, _, _ in FUNNEL_STAGES], "")],
        row_colors=[color for _, _, color in FUNNEL_STAGES],
        value_text=lambda v: f"{v:,.0f}",
        empty="No alerts in this period",
        width=width,
    )


def response_times_chart(
    title: str, rows: Sequence[Mapping[str, Any]], *, width: int = HALF_WIDTH
) -> tuple[SafeString, str]:
    """MTTA and MTTR bars for the BREAKDOWN_ROWS keys with the most tickets (the rows of one
    `incident_stats` breakdown, largest first), in the unit that suits the longest; and that
    unit."""
    shown = list(rows)[:BREAKDOWN_ROWS]
    longest = max(
        (v for row in shown for v in (row["mtta_seconds"], row["mttr_seconds"]) if v is not None),
        default=0,
    )
    scale, unit = _duration_unit(longest)

    def scaled(value: float | None) -> float | None:
        return None if value is None else value / scale

    chart = horizontal_bar_chart(
        title,
        [f"{row['key']} ({row['tickets']})" for row in shown],
        [
            (f"MTTA ({unit})", [scaled(row["mtta_seconds"]) for row in shown], MTTA_COLOR),
            (f"MTTR ({unit})", [scaled(row["mttr_seconds"]) for row in shown], MTTR_COLOR),
        ],
        value_text=lambda v: f"{_fmt(round(v, 1))} {unit}",
        empty="No acknowledged or recovered tickets in this period",
        width=width,
    )
    return chart, unit


def build_incident_charts(figures: Mapping[str, Any]) -> dict[str, Any]:
    """The noise funnel and the response times by team, source and culprit from
    `incident_stats`, with the headline figures."""
    noise = figures["noise"]
    charts: dict[str, Any] = {"funnel": funnel_chart(noise), "noise": noise}
    for name, label in (("by_team", "team"), ("by_source", "source"), ("by_culprit", "culprit")):
        charts[name], _ = response_times_chart(
            f"Mean time to acknowledge and to recover, by {label}", figures[name]
        )
    return charts
