"""Ticket statistics for the API and the dashboard, aggregated in PostgreSQL.

The period is half-open, `[since, until)`, on the ticket's `timestamp` (when the failure
happened) and on the inbox row's `received_at`. MTTA is the mean time to acknowledge
(`ack_seconds`) over the tickets of the period acknowledged at some point; MTTR the mean time
to resolve (`resolve_seconds`: from opening, or from the last reopen of an answered ticket,
by people or a regression) over those resolved now. Days are UTC days.

The counts and the daily series of the whole UTC days of the period come from the rollup
(`tickets.rollup`: per day and per value of each dimension, kept exact in the writers'
transactions), those of the partial first and last days from the tickets themselves (an
index-only scan of a covering index, migrations 0004, 0010, 0055 and 0058: one pass, GROUPING
SETS), so the answer is the same as counting every ticket of the period (`STATS_ROLLUP=false` does
that). The inbox counts are read the same way from the inbox rollup. The MTTA and MTTR means
are the pass's sums over its counts; their percentiles one statement over two narrow partial
indexes (migration 0019) of the period's acknowledged and resolved tickets; the remediation
figures three statements (`remediation_stats`). All of them go to the database together, in
one round trip (`_Batch`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import psycopg
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from integrations import inbox_stats
from integrations.models import (
    LEFT_OPEN,
    RESOLVED_BEFORE,
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


Results = list[list[tuple[Any, ...]]]


class _Batch:
    """Statements sent to PostgreSQL together, in one round trip: each is bound on the client
    (as Django's psycopg cursor binds anyway) and their results come back in the order they
    were added. A cold stats request is one round trip, not one per figure."""

    def __init__(self) -> None:
        self._statements: list[tuple[str, Sequence[Any] | Mapping[str, Any]]] = []

    def add(self, sql: str, params: Sequence[Any] | Mapping[str, Any]) -> int:
        """Queue a statement; returns the index of its rows in `run()`'s answer."""
        self._statements.append((sql, params))
        return len(self._statements) - 1

    def run(self) -> Results:
        with connection.cursor() as cursor, psycopg.ClientCursor(cursor.connection) as binder:
            sql = ";\n".join(binder.mogrify(each, params) for each, params in self._statements)
            # No parameters left to bind: psycopg sends the statements as one simple query.
            cursor.execute(sql)
            results = [cursor.fetchall()]
            while cursor.nextset():
                results.append(cursor.fetchall())
        return results


@dataclass
class _Pass:
    """What the one pass over the period's tickets found."""

    dimensions: dict[str, dict[str, int]] = field(default_factory=dict)
    # (day, error_type) -> created, acknowledged, sum of ack_seconds, SLA met, SLA breached,
    # resolved, sum of resolve_seconds
    daily: dict[tuple[date, str], tuple[int, ...]] = field(default_factory=dict)


def _scan(batch: _Batch, since: datetime, until: datetime) -> Callable[[Results], _Pass]:
    """The pass over the period: the rollup for its whole UTC days, the tickets for the rest.
    Queues its statements; the returned function reads their rows."""
    whole = _whole_days(since, until) if settings.STATS_ROLLUP else None
    if whole is None:
        only = batch.add(*_tickets_query(since, until))
        return lambda results: _parse_tickets(results[only])
    first, last = whole
    days = batch.add(*rollup.day_rows_query(first, last))
    partial = [batch.add(*_tickets_query(a, b)) for a, b in _partial_days(since, until, whole)]

    def read(results: Results) -> _Pass:
        found = _Pass(dimensions={name: {} for name in DIMENSIONS})
        for column, day, value, figures in rollup.parse_day_rows(results[days]):
            if column == "error_type":
                assert day is not None
                found.daily[(day, value)] = figures
            else:
                found.dimensions[_ANSWER_KEYS[column]][value] = figures[0]
        for index in partial:
            _add(found, _parse_tickets(results[index]))
        return found

    return read


def _whole_days(since: datetime, until: datetime) -> tuple[date, date] | None:
    """The UTC days lying wholly inside `[since, until)`, as `[first, last)`; None if none."""
    start, end = since.astimezone(UTC), until.astimezone(UTC)
    first = start.date() if start.time() == time() else start.date() + timedelta(days=1)
    last = end.date()
    return (first, last) if first < last else None


def _partial_days(
    since: datetime, until: datetime, whole: tuple[date, date]
) -> list[tuple[datetime, datetime]]:
    """The parts of `[since, until)` before and after its whole days."""
    first_midnight, last_midnight = _midnight(whole[0]), _midnight(whole[1])
    parts = []
    if since < first_midnight:
        parts.append((since, first_midnight))
    if last_midnight < until:
        parts.append((last_midnight, until))
    return parts


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


_COLUMNS = [_DAY, "error_type", *DIMENSIONS.values()]
_SETS = [f"({_DAY}, error_type)", *(f"({c})" for c in DIMENSIONS.values())]
_TICKETS = f"""
    SELECT {", ".join(_COLUMNS)}, GROUPING({", ".join(_COLUMNS)}), COUNT(*),
           COUNT(ack_seconds), COALESCE(SUM(ack_seconds), 0),
           COUNT(*) FILTER (WHERE sla_status = %s), COUNT(*) FILTER (WHERE sla_status = %s),
           COUNT(resolve_seconds), COALESCE(SUM(resolve_seconds), 0)
      FROM {Ticket._meta.db_table}
     WHERE timestamp >= %s AND timestamp < %s
     GROUP BY GROUPING SETS ({", ".join(_SETS)})
"""
# GROUPING() sets a bit, first column highest, for each column a row is NOT grouped by.
_WIDTH = len(_COLUMNS)
_DAY_SET = (1 << _WIDTH) - 1 - (1 << (_WIDTH - 1)) - (1 << (_WIDTH - 2))
_SINGLE = {
    (1 << _WIDTH) - 1 - (1 << (_WIDTH - 3 - i)): (name, 2 + i) for i, name in enumerate(DIMENSIONS)
}


def _tickets_query(since: datetime, until: datetime) -> tuple[str, list[Any]]:
    return _TICKETS, [SlaStatus.MET, SlaStatus.BREACHED, since, until]


def _parse_tickets(rows: list[tuple[Any, ...]]) -> _Pass:
    found = _Pass(dimensions={name: {} for name in DIMENSIONS})
    for row in rows:
        grouping, figures = row[_WIDTH], row[_WIDTH + 1 :]
        if grouping == _DAY_SET:
            found.daily[(row[0], row[1])] = tuple(int(v) for v in figures)
        else:
            name, index = _SINGLE[grouping]
            found.dimensions[name][row[index]] = figures[0]
    return found


DURATIONS = {"mtta": "ack_seconds", "mttr": "resolve_seconds"}
# Median and 90th percentile of the times to acknowledge and to resolve over the period's
# tickets that have one: each read from its own narrow partial index (migration 0019) and
# sorted once for both percentiles. The means come from the pass's sums.
_DURATIONS = "SELECT " + ", ".join(
    f"""(SELECT percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY {column})
         FROM {Ticket._meta.db_table}
        WHERE timestamp >= %(since)s AND timestamp < %(until)s
          AND {column} IS NOT NULL)"""
    for column in DURATIONS.values()
)


def _durations(
    batch: _Batch, since: datetime, until: datetime
) -> Callable[[Results, _Pass], dict[str, dict[str, float | None]]]:
    index = batch.add(_DURATIONS, {"since": since, "until": until})

    def read(results: Results, scan: _Pass) -> dict[str, dict[str, float | None]]:
        # Tickets that have the duration and its sum: figures 1 and 2 (acknowledged), 5 and 6
        # (resolved) of each day.
        sums = {"mtta": [0, 0], "mttr": [0, 0]}
        for figures in scan.daily.values():
            sums["mtta"][0] += figures[1]
            sums["mtta"][1] += figures[2]
            sums["mttr"][0] += figures[5]
            sums["mttr"][1] += figures[6]
        (row,) = results[index]
        answer: dict[str, dict[str, float | None]] = {}
        for name, percentiles in zip(DURATIONS, row, strict=True):
            count, total = sums[name]
            p50, p90 = percentiles or (None, None)
            answer[name] = {
                "mean_seconds": _rounded(total / count) if count else None,
                "p50_seconds": _rounded(p50),
                "p90_seconds": _rounded(p90),
            }
        return answer

    return read


_INBOX = f"""
    SELECT status, outcome, COUNT(*) FROM {WebhookDelivery._meta.db_table}
     WHERE received_at >= %s AND received_at < %s
     GROUP BY 1, 2
"""


def _inbox_rows(
    batch: _Batch, since: datetime, until: datetime
) -> Callable[[Results], list[tuple[str, str, int]]]:
    """(status, outcome, rows) of the inbox rows received in the period: its whole UTC days
    from the inbox rollup, the rest from the inbox (several rows may name one pair)."""
    whole = _whole_days(since, until) if settings.STATS_ROLLUP else None
    if whole is None:
        indexes = [batch.add(_INBOX, [since, until])]
    else:
        indexes = [batch.add(*inbox_stats.day_counts_query(*whole))]
        indexes += [batch.add(_INBOX, [a, b]) for a, b in _partial_days(since, until, whole)]
    return lambda results: [
        (status, outcome, int(n)) for index in indexes for status, outcome, n in results[index]
    ]


def _inbox_counts(
    batch: _Batch, since: datetime, until: datetime
) -> Callable[[Results], dict[str, int]]:
    rows = _inbox_rows(batch, since, until)

    def read(results: Results) -> dict[str, int]:
        counts = {name: 0 for name in INBOX_OUTCOMES}
        for status, outcome, n in rows(results):
            rejected = status == DeliveryStatus.REJECTED
            key = DeliveryStatus.REJECTED.value if rejected else outcome
            if key in counts:
                counts[key] += n
        counts["total"] = sum(counts.values())
        return counts

    return read


def _ticket_stats(
    scan: _Pass,
    since: datetime,
    until: datetime,
    durations: dict[str, dict[str, float | None]],
    inbox: dict[str, int],
    remediation: dict[str, Any],
) -> dict[str, Any]:
    dims = scan.dimensions
    by_error_type: dict[str, int] = {name: 0 for name in ErrorClass}
    acknowledged = resolved = 0
    for (_, error_type), figures in scan.daily.items():
        by_error_type[error_type] = by_error_type.get(error_type, 0) + figures[0]
        acknowledged += figures[1]
        resolved += figures[5]
    by_sla: dict[str, int] = {**{key: 0 for key in SlaStatus}, **dims["by_sla_status"]}
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
        "inbox": inbox,
        "remediation": remediation,
    }


def _resolved(scan: _Pass) -> tuple[int, int]:
    """The period's resolved tickets and the sum of their `resolve_seconds`."""
    count = total = 0
    for figures in scan.daily.values():
        count += figures[5]
        total += figures[6]
    return count, total


def remediation_stats(since: datetime, until: datetime) -> dict[str, Any]:
    """Remediations of the period's tickets by action and outcome, and the time they saved.

    `succeeded`: the successful remediations that fixed their ticket (not one that left it
    open, nor one that ended after people had resolved it: they fixed it);
    `mttr_with_seconds`: mean time from the failure to the end of those;
    `mttr_without_seconds`: mean time to resolve (`resolve_seconds`, the MTTR above) of the
    period's resolved tickets whose resolution no remediation made, whoever made it: people,
    JIRA, or their source reporting the failure over (a rerun that succeeded, an alert
    resolved), as a failure ends without a remediation (a ticket a remediation fixed before it
    failed again, or whose rerun succeeded after people resolved it, is one);
    `time_saved_seconds` estimates the difference over the remediated tickets:
    (without - with) x succeeded, when both are known."""
    batch = _Batch()
    resolved = batch.add(_RESOLVED, [since, until])
    read = _remediation_stats(batch, since, until)
    results = batch.run()
    count, total = results[resolved][0]
    return read(results, (int(count), int(total)))


_PERIOD_REMEDIATIONS = f"""
      FROM {Remediation._meta.db_table} r
      JOIN {Ticket._meta.db_table} t ON t.id = r.ticket_id
     WHERE t."timestamp" >= %(since)s AND t."timestamp" < %(until)s
"""
# A policy that says never records its decision as a skipped remediation of the policy's action:
# counted apart (`never`), not as that action skipped.
_BY_ACTION = f"""
    SELECT CASE WHEN r.details->>'mode' = 'never' THEN 'never' ELSE r.action END, r.status,
           COUNT(*) {_PERIOD_REMEDIATIONS} GROUP BY 1, 2
"""
# A success counts as a fix unless it left its ticket open (a newer run had failed since) or
# ended after people had resolved its ticket (as `finish` found it: a regression since clears
# that resolution, which `_AFTER_PEOPLE` reads for the remediations that ended before the flag).
_A_FIX = (
    f"r.status = %(succeeded)s AND r.finished_at IS NOT NULL AND r.details->>'{LEFT_OPEN}' IS NULL"
    f" AND r.details->>'{RESOLVED_BEFORE}' IS NULL"
)
# A success after people's resolution of its ticket (still the ticket's resolution, not the
# source's report of the rerun's success) fixed nothing: people had; the ticket counts among
# those no remediation fixed (`_FIXED`).
_AFTER_PEOPLE = (
    "COALESCE(t.resolved_at < r.finished_at "
    "AND t.resolved_at IS DISTINCT FROM t.resolved_at_source_at, FALSE)"
)
# From the failure it remedied: its ticket's last regression when it came after it (an
# earlier remediation's failure is taken as the first one). A success that ended after the
# ticket's current resolution (the failure it remedied being the current one: it ended after
# the last reopen) fixed nothing, unless that resolution is the source's report of the rerun's
# success: people had resolved the ticket before it, as `_FIXED` counts it.
_SUCCEEDED = f"""
    SELECT EXTRACT(EPOCH FROM AVG(r.finished_at - CASE WHEN t.regressed_at <= r.created_at
                                                       THEN t.regressed_at
                                                       ELSE t."timestamp" END)), COUNT(*)
    {_PERIOD_REMEDIATIONS} AND {_A_FIX}
       AND NOT (t.resolved_at IS NOT NULL AND r.finished_at > t.resolved_at
                AND t.resolved_at IS DISTINCT FROM t.resolved_at_source_at
                AND r.finished_at >= COALESCE(t.reopened_at, t."timestamp"))
"""
# The period's resolved tickets whose current resolution a successful remediation made: few,
# found from the remediations (by primary key), not by a pass over the period's resolved
# tickets. Its fix ended after the ticket's last reopen (a fix before the ticket failed again
# fixed an earlier failure), and no later than the resolution, unless the resolution is the
# source's report of the rerun's success (people who resolved it before the rerun succeeded
# resolved it).
_FIXED = f"""
    SELECT COUNT(*), COALESCE(SUM(resolve_seconds), 0) FROM {Ticket._meta.db_table}
     WHERE id IN (
            SELECT r.ticket_id FROM {Remediation._meta.db_table} r
              JOIN {Ticket._meta.db_table} t ON t.id = r.ticket_id
             WHERE {_A_FIX}
               AND r.finished_at >= COALESCE(t.reopened_at, t."timestamp")
               AND NOT ({_AFTER_PEOPLE}))
       AND "timestamp" >= %(since)s AND "timestamp" < %(until)s
       AND resolve_seconds IS NOT NULL
"""
# For `remediation_stats` alone: every resolved ticket of the period (migration 0019's index).
_RESOLVED = f"""
    SELECT COUNT(*), COALESCE(SUM(resolve_seconds), 0) FROM {Ticket._meta.db_table}
     WHERE "timestamp" >= %s AND "timestamp" < %s AND resolve_seconds IS NOT NULL
"""


def _remediation_stats(
    batch: _Batch, since: datetime, until: datetime
) -> Callable[[Results, tuple[int, int]], dict[str, Any]]:
    """Queues the remediation figures' statements; the returned function takes their rows and
    the period's resolved tickets with the sum of their `resolve_seconds`."""
    params = {"since": since, "until": until, "succeeded": RemediationStatus.SUCCEEDED}
    by_action_index = batch.add(_BY_ACTION, params)
    succeeded_index = batch.add(_SUCCEEDED, params)
    fixed_index = batch.add(_FIXED, params)

    def read(results: Results, resolved: tuple[int, int]) -> dict[str, Any]:
        by_action: dict[str, dict[str, int]] = {
            action.value: {status.value: 0 for status in RemediationStatus}
            for action in RemediationAction
        }
        never = 0
        for action, status, n in results[by_action_index]:
            if action == "never":
                never += int(n)
            else:
                by_action.setdefault(action, {})[status] = int(n)
        (mean, succeeded), (fixed, fixed_total) = (
            results[succeeded_index][0],
            results[fixed_index][0],
        )
        with_seconds = float(mean) if mean is not None else None
        # All resolved tickets of the period less the few a remediation fixed.
        count, total = resolved[0] - int(fixed), resolved[1] - int(fixed_total)
        without = total / count if count else None
        saved = None
        if with_seconds is not None and without is not None:
            saved = max(0.0, (without - with_seconds) * succeeded)
        return {
            "by_action": by_action,
            "never": never,
            "succeeded": int(succeeded),
            "mttr_with_seconds": _rounded(with_seconds),
            "mttr_without_seconds": _rounded(without),
            "time_saved_seconds": _rounded(saved),
        }

    return read


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


def _overview(since: datetime, until: datetime) -> tuple[dict[str, Any], _Pass]:
    """`ticket_stats` and the pass it came from, every statement in one round trip."""
    batch = _Batch()
    scan = _scan(batch, since, until)
    durations = _durations(batch, since, until)
    inbox = _inbox_counts(batch, since, until)
    remediation = _remediation_stats(batch, since, until)
    results = batch.run()
    found = scan(results)
    figures = _ticket_stats(
        found,
        since,
        until,
        durations(results, found),
        inbox(results),
        remediation(results, _resolved(found)),
    )
    return figures, found


def ticket_stats(since: datetime, until: datetime) -> dict[str, Any]:
    """Counts by status, severity, error class, source and team; MTTA and MTTR; SLA compliance;
    what became of the inbox's deliveries."""
    return _overview(since, until)[0]


def daily_series(since: datetime, until: datetime) -> list[dict[str, Any]]:
    """One entry per UTC day of the period, days without tickets included (zeros), for charts.
    A day's tickets are those created that day; `acknowledged`, `resolved` and the mean times
    to acknowledge and to resolve are about that cohort."""
    batch = _Batch()
    scan = _scan(batch, since, until)
    return _daily_series(scan(batch.run()), since, until)


def overview(since: datetime, until: datetime) -> dict[str, Any]:
    """`ticket_stats` with the `daily` series, from a single pass over the tickets, in one
    round trip to the database."""
    figures, found = _overview(since, until)
    return {**figures, "daily": _daily_series(found, since, until)}


def cached_overview(since: datetime, until: datetime) -> dict[str, Any]:
    """`overview`, kept in the cache for a few seconds (`API_STATS_CACHE_SECONDS`, default 30):
    dashboards and scripts poll the same period, and a 30-day pass costs tens of milliseconds
    of database time."""
    seconds = settings.API_STATS_CACHE_SECONDS
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
_KEYS = ", ".join(_BREAKDOWNS.values())
_ALL = (1 << len(_BREAKDOWNS)) - 1  # GROUPING() of the () set: grouped by none of them
# The breakdowns and the ticket side of the funnel in one pass over the period's tickets
# (GROUPING SETS), each breakdown's 50 largest keys picked in the database.
_INCIDENT_TICKETS = f"""
WITH figures AS (
    SELECT {_KEYS}, GROUPING({_KEYS}) AS grouping, COUNT(*) AS tickets,
           AVG(ack_seconds) AS mtta,
           EXTRACT(EPOCH FROM AVG(resolved_at_source_at - COALESCE(regressed_at, "timestamp")))
               AS mttr,
           COUNT(*) FILTER (WHERE itsm_ticket_id <> '') AS jira,
           COUNT(*) FILTER (WHERE slack_ts <> '') AS slack,
           COUNT(incident_id) AS grouped
      FROM {Ticket._meta.db_table}
     WHERE "timestamp" >= %(since)s AND "timestamp" < %(until)s
     GROUP BY GROUPING SETS ((), {", ".join(f"({c})" for c in _BREAKDOWNS.values())})
)
SELECT grouping, COALESCE({_KEYS}), tickets, mtta, mttr, jira, slack, grouped
  FROM (SELECT *, ROW_NUMBER() OVER (
                PARTITION BY grouping ORDER BY tickets DESC, COALESCE({_KEYS})) AS rank
          FROM figures
         WHERE grouping = {_ALL} OR COALESCE({_KEYS}) <> '') AS ranked
 WHERE rank <= 50
 ORDER BY grouping, rank
"""
# GROUPING() of the set grouped by the i-th breakdown's column alone.
_BREAKDOWN_SETS = {
    _ALL - (1 << (len(_BREAKDOWNS) - 1 - i)): name for i, name in enumerate(_BREAKDOWNS)
}
# The incidents the period's tickets are members of, found from the tickets by primary key,
# and those merged into them (at any depth, by the `merged_into` foreign key's index): a merge
# moves every member, but the merged one's issue and message were sent. Counted as incidents:
# those not merged.
_INCIDENT_PAGES = f"""
    WITH RECURSIVE paged (id, merged) AS (
        SELECT id, FALSE FROM {Incident._meta.db_table}
         WHERE merged_into_id IS NULL
           AND id IN (SELECT incident_id FROM {Ticket._meta.db_table}
                       WHERE "timestamp" >= %(since)s AND "timestamp" < %(until)s
                         AND incident_id IS NOT NULL)
        UNION
        SELECT i.id, TRUE FROM {Incident._meta.db_table} i JOIN paged p ON i.merged_into_id = p.id
    )
    SELECT COUNT(*) FILTER (WHERE NOT paged.merged),
           COUNT(*) FILTER (WHERE i.itsm_ticket_id <> ''), COUNT(*) FILTER (WHERE i.slack_ts <> '')
      FROM paged JOIN {Incident._meta.db_table} i ON i.id = paged.id
"""


def incident_stats(since: datetime, until: datetime) -> dict[str, Any]:
    """Alerts received -> tickets -> incidents -> pages sent over the period (the noise
    reduction), and per team, source and culprit the mean time to acknowledge (MTTA,
    `ack_seconds`) and to recover at the source (MTTR, from the failure or its last regression
    until the source reported the failure over) of the period's tickets. The incidents are
    those the period's tickets are members of (found by primary key from the tickets, so no
    query scans the incidents table). Pages are
    JIRA issues plus Slack messages: each ticket's own and each incident's, a merged
    incident's included (counted with the one it was merged into, not as an incident). One
    round trip: one pass over the period's tickets for the breakdowns (each its 50 largest
    keys) and the tickets' pages (an index-only scan of `ticket_stats_period_v4`, tickets/0055
    and 0058, which holds every column it reads), the incidents by primary key, and the alerts
    from the inbox rollup (its whole UTC days; the partial ones from the inbox, by
    `received_at`)."""
    batch = _Batch()
    period = {"since": since, "until": until}
    tickets_index = batch.add(_INCIDENT_TICKETS, period)
    incidents_index = batch.add(_INCIDENT_PAGES, period)
    inbox = _inbox_rows(batch, since, until)
    results = batch.run()

    breakdowns: dict[str, list[dict[str, Any]]] = {name: [] for name in _BREAKDOWNS}
    ticket_pages = {"n": 0, "jira": 0, "slack": 0, "grouped": 0}
    for grouping, key, tickets, mtta, mttr, jira, slack, grouped in results[tickets_index]:
        if grouping == _ALL:
            ticket_pages = {"n": tickets, "jira": jira, "slack": slack, "grouped": grouped}
        else:
            breakdowns[_BREAKDOWN_SETS[grouping]].append(
                {
                    "key": key,
                    "tickets": tickets,
                    "mtta_seconds": _rounded(mtta),
                    "mttr_seconds": _rounded(mttr),
                }
            )
    incidents, incident_jira, incident_slack = results[incidents_index][0]
    alerts = sum(n for _, _, n in inbox(results))
    pages = ticket_pages["jira"] + ticket_pages["slack"] + incident_jira + incident_slack
    return {
        "since": since,
        "until": until,
        "noise": {
            "alerts_received": alerts,
            "tickets": ticket_pages["n"],
            "tickets_in_incidents": ticket_pages["grouped"],
            "incidents": incidents,
            "pages_sent": pages,
            "alerts_per_page": round(alerts / pages, 2) if pages else None,
        },
        **breakdowns,
    }
