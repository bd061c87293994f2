"""Ticket statistics for the API and the dashboard, aggregated in PostgreSQL.

The period is half-open, `[since, until)`, on the ticket's `timestamp` (when the failure
happened) and on the inbox row's `received_at`. MTTA is the mean time to acknowledge
(`ack_seconds`) over the tickets of the period acknowledged at some point; MTTR the mean time
to resolve (`resolve_seconds`: from opening, or from the last regression) over those resolved
now. Days are UTC days.

The counts and the daily series of the whole UTC days of the period come from the rollup
(`tickets.rollup`: per day and per value of each dimension, kept exact in the writers'
transactions), those of the partial first and last days from the tickets themselves (an
index-only scan of a covering index, migrations 0004 and 0010: one pass, GROUPING SETS), so
the answer is the same as counting every ticket of the period (`STATS_ROLLUP=false` does
that). The inbox counts are read the same way from the inbox rollup. The MTTA and MTTR
percentiles are one statement over two narrow partial indexes (migration 0018) of the
period's acknowledged and resolved tickets, and the remediation figures two or three queries
(`remediation_stats`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import (
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    Sum,
)
from django.db.models.functions import Coalesce

from integrations import inbox_stats
from integrations.models import (
    DeliveryStatus,
    Remediation,
    RemediationAction,
    RemediationStatus,
    WebhookDelivery,
)
from tickets import rollup
from tickets.models import Incident, Ticket
from tickets.vocabulary import ErrorClass, Outcome, Severity, SlaStatus, Status

# Answer key -> ticket column, each counted on its own.
DIMENSIONS = {
    "by_status": "status",
    "by_severity": "severity",
    "by_source": "source",
    "by_team": "finops_team",
    "by_sla_status": "sla_status",
}
INBOX_OUTCOMES = (*Outcome, DeliveryStatus.REJECTED.value)
_DAY = "(timestamp AT TIME ZONE 'UTC')::date"


@dataclass
class _Pass:
    """What the one pass over the period's tickets found."""

    dimensions: dict[str, dict[str, int]] = field(default_factory=dict)
    # (day, error_type) -> created, acknowledged, sum of ack_seconds, SLA met, SLA breached,
    # resolved, sum of resolve_seconds
    daily: dict[tuple[date, str], tuple[int, ...]] = field(default_factory=dict)


def _scan(since: datetime, until: datetime) -> _Pass:
    """The pass over the period: the rollup for its whole UTC days, the tickets for the rest."""
    whole = _whole_days(since, until) if getattr(settings, "STATS_ROLLUP", True) else None
    if whole is None:
        return _scan_tickets(since, until)
    first, last = whole
    found = _Pass(dimensions={name: {} for name in DIMENSIONS})
    for column, day, value, figures in rollup.day_rows(first, last):
        if column == "error_type":
            assert day is not None
            found.daily[(day, value)] = figures
        else:
            found.dimensions[_ANSWER_KEYS[column]][value] = figures[0]
    first_midnight, last_midnight = _midnight(first), _midnight(last)
    if since < first_midnight:
        _add(found, _scan_tickets(since, first_midnight))
    if last_midnight < until:
        _add(found, _scan_tickets(last_midnight, until))
    return found


def _whole_days(since: datetime, until: datetime) -> tuple[date, date] | None:
    """The UTC days lying wholly inside `[since, until)`, as `[first, last)`; None if none."""
    start, end = since.astimezone(UTC), until.astimezone(UTC)
    first = start.date() if start.time() == time() else start.date() + timedelta(days=1)
    last = end.date()
    return (first, last) if first < last else None


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


_ANSWER_KEYS = {column: name for name, column in DIMENSIONS.items()}


def _add(found: _Pass, more: _Pass) -> None:
    for name, counts in more.dimensions.items():
        into = found.dimensions[name]
        for value, count in counts.items():
            into[value] = into.get(value, 0) + count
    for key, figures in more.daily.items():
        before = found.daily.get(key)
        found.daily[key] = (
            figures
            if before is None
            else tuple(a + b for a, b in zip(before, figures, strict=True))
        )


def _scan_tickets(since: datetime, until: datetime) -> _Pass:
    columns = [_DAY, "error_type", *DIMENSIONS.values()]
    sets = [f"({_DAY}, error_type)", *(f"({c})" for c in DIMENSIONS.values())]
    sql = f"""
        SELECT {", ".join(columns)}, GROUPING({", ".join(columns)}), COUNT(*),
               COUNT(ack_seconds), COALESCE(SUM(ack_seconds), 0),
               COUNT(*) FILTER (WHERE sla_status = %s), COUNT(*) FILTER (WHERE sla_status = %s),
               COUNT(resolve_seconds), COALESCE(SUM(resolve_seconds), 0)
          FROM {Ticket._meta.db_table}
         WHERE timestamp >= %s AND timestamp < %s
         GROUP BY GROUPING SETS ({", ".join(sets)})
    """
    found = _Pass(dimensions={name: {} for name in DIMENSIONS})
    # GROUPING() sets a bit, first column highest, for each column a row is NOT grouped by.
    width = len(columns)
    day_set = (1 << width) - 1 - (1 << (width - 1)) - (1 << (width - 2))
    single = {
        (1 << width) - 1 - (1 << (width - 3 - i)): (name, 2 + i)
        for i, name in enumerate(DIMENSIONS)
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, [SlaStatus.MET, SlaStatus.BREACHED, since, until])
        for row in cursor.fetchall():
            grouping, figures = row[width], row[width + 1 :]
            if grouping == day_set:
                found.daily[(row[0], row[1])] = tuple(int(v) for v in figures)
            else:
                name, index = single[grouping]
                found.dimensions[name][row[index]] = figures[0]
    return found


DURATIONS = {"mtta": "ack_seconds", "mttr": "resolve_seconds"}


def _durations(since: datetime, until: datetime) -> dict[str, dict[str, float | None]]:
    """Mean, median and 90th percentile of the times to acknowledge and to resolve over the
    period's tickets that have one; each read from its own narrow partial index (migration
    0018), in one statement."""
    parts = [
        f"""(SELECT ARRAY[AVG({column}), percentile_cont(0.5) WITHIN GROUP (ORDER BY {column}),
                  percentile_cont(0.9) WITHIN GROUP (ORDER BY {column})]
             FROM {Ticket._meta.db_table}
            WHERE timestamp >= %(since)s AND timestamp < %(until)s
              AND {column} IS NOT NULL)"""
        for column in DURATIONS.values()
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(parts)}", {"since": since, "until": until})
        row = cursor.fetchone()
    return {
        name: {
            f"{figure}_seconds": _rounded(value)
            for figure, value in zip(("mean", "p50", "p90"), figures, strict=True)
        }
        for name, figures in zip(DURATIONS, row, strict=True)
    }


def inbox_counts(since: datetime, until: datetime) -> dict[str, int]:
    """Deliveries received in the period by what became of them (dedup, correlation,
    suppression...); `rejected` is valid JSON the parser refused. Whole UTC days are read from
    the inbox rollup (`integrations.inbox_stats`), the partial first and last days from the
    inbox."""
    rows: list[tuple[str, str, int]] = []
    whole = _whole_days(since, until) if getattr(settings, "STATS_ROLLUP", True) else None
    if whole is None:
        rows = _inbox_rows(since, until)
    else:
        first, last = whole
        rows = inbox_stats.day_counts(first, last)
        first_midnight, last_midnight = _midnight(first), _midnight(last)
        if since < first_midnight:
            rows += _inbox_rows(since, first_midnight)
        if last_midnight < until:
            rows += _inbox_rows(last_midnight, until)
    counts = {name: 0 for name in INBOX_OUTCOMES}
    for status, outcome, n in rows:
        rejected = status == DeliveryStatus.REJECTED
        key = DeliveryStatus.REJECTED.value if rejected else outcome
        if key in counts:
            counts[key] += n
    counts["total"] = sum(counts.values())
    return counts


def _inbox_rows(since: datetime, until: datetime) -> list[tuple[str, str, int]]:
    rows = (
        WebhookDelivery.objects.filter(received_at__gte=since, received_at__lt=until)
        .values_list("status", "outcome")
        .annotate(n=Count("*"))
        .order_by()
    )
    return list(rows)


def _ticket_stats(scan: _Pass, since: datetime, until: datetime) -> dict[str, Any]:
    dims = scan.dimensions
    by_error_type: dict[str, int] = {name: 0 for name in ErrorClass}
    acknowledged = resolved = resolve_total = 0
    for (_, error_type), figures in scan.daily.items():
        by_error_type[error_type] = by_error_type.get(error_type, 0) + figures[0]
        acknowledged += figures[1]
        resolved += figures[5]
        resolve_total += figures[6]
    by_sla: dict[str, int] = {**{key: 0 for key in SlaStatus}, **dims["by_sla_status"]}
    durations = _durations(since, until)
    met, breached = by_sla[SlaStatus.MET], by_sla[SlaStatus.BREACHED]
    return {
        "since": since,
        "until": until,
        "total": sum(by_error_type.values()),
        "by_status": {**{key: 0 for key in Status}, **dims["by_status"]},
        "by_severity": {**{key: 0 for key in Severity}, **dims["by_severity"]},
        "by_error_type": by_error_type,
        "by_source": dims["by_source"],
        "by_team": dims["by_team"],
        "mtta": {"acknowledged": acknowledged, **durations["mtta"]},
        "mttr": {"resolved": resolved, **durations["mttr"]},
        "sla": {
            "compliance": round(met / (met + breached), 4) if met + breached else None,
            "by_status": by_sla,
        },
        "inbox": inbox_counts(since, until),
        "remediation": remediation_stats(since, until, resolved=(resolved, resolve_total)),
    }


def remediation_stats(
    since: datetime, until: datetime, *, resolved: tuple[int, int] | None = None
) -> dict[str, Any]:
    """Remediations of the period's tickets by action and outcome, and the time they saved.

    `mttr_with_seconds`: mean time from the failure to the end of a successful remediation;
    `mttr_without_seconds`: mean time to resolve (`resolve_seconds`, the MTTR above) of the
    period's resolved tickets that no remediation fixed, i.e. what people took;
    `time_saved_seconds` estimates the difference over the remediated tickets:
    (without - with) x succeeded, when both are known.

    `resolved`: the period's resolved tickets and the sum of their `resolve_seconds`, when the
    caller counted them already; then only the remediated ones are read here."""
    period = Remediation.objects.filter(ticket__timestamp__gte=since, ticket__timestamp__lt=until)
    by_action: dict[str, dict[str, int]] = {
        action.value: {status.value: 0 for status in RemediationStatus}
        for action in RemediationAction
    }
    for row in period.values("action", "status").annotate(n=Count("*")).order_by():
        by_action.setdefault(row["action"], {})[row["status"]] = row["n"]
    succeeded = period.filter(status=RemediationStatus.SUCCEEDED, finished_at__isnull=False)
    took = succeeded.annotate(
        took=ExpressionWrapper(F("finished_at") - F("ticket__timestamp"), DurationField())
    ).aggregate(mean=Avg("took"), n=Count("id"))
    with_seconds = took["mean"].total_seconds() if took["mean"] is not None else None
    fixed = succeeded.values("ticket_id")
    period_resolved = Ticket.objects.filter(
        timestamp__gte=since, timestamp__lt=until, resolve_seconds__isnull=False
    )
    without: float | None
    if resolved is None:
        without = period_resolved.exclude(pk__in=fixed).aggregate(mean=Avg("resolve_seconds"))[
            "mean"
        ]
    else:
        # All resolved tickets of the period less the few a remediation fixed: no pass over
        # the period's tickets.
        count, total = resolved
        fixed_ids = list(fixed.distinct()) if took["n"] else []
        if fixed_ids:
            by_remediation = period_resolved.filter(pk__in=fixed_ids).aggregate(
                n=Count("id"), total=Coalesce(Sum("resolve_seconds"), 0)
            )
            count, total = count - by_remediation["n"], total - by_remediation["total"]
        without = total / count if count else None
    saved = None
    if with_seconds is not None and without is not None:
        saved = max(0.0, (float(without) - with_seconds) * took["n"])
    return {
        "by_action": by_action,
        "succeeded": took["n"],
        "mttr_with_seconds": _rounded(with_seconds),
        "mttr_without_seconds": _rounded(without),
        "time_saved_seconds": _rounded(saved),
    }


def _daily_series(scan: _Pass, since: datetime, until: datetime) -> list[dict[str, Any]]:
    days: dict[date, dict[str, Any]] = {}
    day = since.astimezone(UTC).date()
    last = (until - timedelta(microseconds=1)).astimezone(UTC).date()
    while day <= last:
        days[day] = {"date": day, "created": 0, "by_error_type": {}, "acknowledged": 0}
        days[day].update(sla_met=0, sla_breached=0, _ack_total=0, resolved=0, _resolve_total=0)
        day += timedelta(days=1)
    for (day, error_type), figures in scan.daily.items():
        created, acked, ack_total, met, breached, resolved, resolve_total = figures
        entry = days[day]
        entry["created"] += created
        entry["by_error_type"][error_type] = created
        entry["acknowledged"] += acked
        entry["_ack_total"] += ack_total
        entry["sla_met"] += met
        entry["sla_breached"] += breached
        entry["resolved"] += resolved
        entry["_resolve_total"] += resolve_total
    for entry in days.values():
        ack_total = entry.pop("_ack_total")
        count = entry["acknowledged"]
        entry["mean_ack_seconds"] = _rounded(ack_total / count) if count else None
        resolve_total = entry.pop("_resolve_total")
        count = entry["resolved"]
        entry["mean_resolve_seconds"] = _rounded(resolve_total / count) if count else None
    return list(days.values())


def ticket_stats(since: datetime, until: datetime) -> dict[str, Any]:
    """Counts by status, severity, error class, source and team; MTTA and MTTR; SLA compliance;
    what became of the inbox's deliveries."""
    return _ticket_stats(_scan(since, until), since, until)


def daily_series(since: datetime, until: datetime) -> list[dict[str, Any]]:
    """One entry per UTC day of the period, days without tickets included (zeros), for charts.
    A day's tickets are those created that day; `acknowledged`, `resolved` and the mean times
    to acknowledge and to resolve are about that cohort."""
    return _daily_series(_scan(since, until), since, until)


def overview(since: datetime, until: datetime) -> dict[str, Any]:
    """`ticket_stats` with the `daily` series, from a single pass over the tickets."""
    scan = _scan(since, until)
    return {**_ticket_stats(scan, since, until), "daily": _daily_series(scan, since, until)}


def cached_overview(since: datetime, until: datetime) -> dict[str, Any]:
    """`overview`, kept in the cache for a few seconds (`API_STATS_CACHE_SECONDS`, default 30):
    dashboards and scripts poll the same period, and a 30-day pass costs tens of milliseconds
    of database time."""
    seconds = getattr(settings, "API_STATS_CACHE_SECONDS", 30)
    if seconds <= 0:
        return overview(since, until)
    key = f"tickets.stats.overview:{since.isoformat()}:{until.isoformat()}"
    figures = cache.get(key)
    if figures is None:
        figures = overview(since, until)
        cache.set(key, figures, seconds)
    return figures


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)


# --- incidents: the noise funnel and time to acknowledge/recover by team, source, culprit --------

_BREAKDOWNS = {"by_team": "finops_team", "by_source": "source", "by_culprit": "culprit"}


def incident_stats(since: datetime, until: datetime) -> dict[str, Any]:
    """Alerts received -> tickets -> incidents -> pages sent over the period (the noise
    reduction), and per team, source and culprit the mean time to acknowledge (MTTA,
    `ack_seconds`) and to recover at the source (MTTR, until the source reported the failure
    over) of the period's tickets. The incidents are those the period's tickets are members of
    (found by primary key from the tickets, so no query scans the incidents table). Pages are
    JIRA issues plus Slack messages: each ticket's own and each incident's. Every query is
    bounded by the period on an indexed column (`timestamp`, `received_at`) and each breakdown
    by its 50 largest keys."""
    tickets = Ticket.objects.filter(timestamp__gte=since, timestamp__lt=until)
    incidents = Incident.objects.filter(
        pk__in=tickets.filter(incident__isnull=False).values("incident_id")
    )
    ticket_pages = tickets.aggregate(
        n=Count("id"),
        jira=Count("id", filter=~Q(itsm_ticket_id="")),
        slack=Count("id", filter=~Q(slack_ts="")),
        grouped=Count("id", filter=Q(incident__isnull=False)),
    )
    incident_pages = incidents.filter(merged_into__isnull=True).aggregate(
        n=Count("id"),
        jira=Count("id", filter=~Q(itsm_ticket_id="")),
        slack=Count("id", filter=~Q(slack_ts="")),
    )
    received = WebhookDelivery.objects.filter(received_at__gte=since, received_at__lt=until)
    pages = (
        ticket_pages["jira"]
        + ticket_pages["slack"]
        + incident_pages["jira"]
        + incident_pages["slack"]
    )
    alerts = received.count()
    recovery = ExpressionWrapper(
        F("resolved_at_source_at") - F("timestamp"), output_field=DurationField()
    )
    breakdowns: dict[str, list[dict[str, Any]]] = {}
    for name, column in _BREAKDOWNS.items():
        rows = (
            tickets.exclude(**{column: ""})
            .values(column)
            .annotate(
                tickets=Count("id"),
                mtta=Avg("ack_seconds"),
                mttr=Avg(recovery, filter=Q(resolved_at_source_at__isnull=False)),
            )
            .order_by("-tickets", column)[:50]
        )
        breakdowns[name] = [
            {
                "key": row[column],
                "tickets": row["tickets"],
                "mtta_seconds": _rounded(row["mtta"]),
                "mttr_seconds": _rounded(row["mttr"].total_seconds()) if row["mttr"] else None,
            }
            for row in rows
        ]
    return {
        "since": since,
        "until": until,
        "noise": {
            "alerts_received": alerts,
            "tickets": ticket_pages["n"],
            "tickets_in_incidents": ticket_pages["grouped"],
            "incidents": incident_pages["n"],
            "pages_sent": pages,
            "alerts_per_page": round(alerts / pages, 2) if pages else None,
        },
        **breakdowns,
    }
