"""The stats rollup: ticket counts per UTC day and per value of each counted dimension.

A trigger on the ticket table (migration 0018) appends every counted change to
`TicketStatsChange` in the writer's own transaction: +1 row for a new ticket, -1 for a
deleted one, -1 for the old and +1 for the new values when an update changes a counted column
(status, SLA status, severity, error class, source, team, day, times to acknowledge and to
resolve). Appending never waits on another writer. `fold()` (beat, every
`TICKET_STATS_FOLD_SECONDS`) moves the changes into `TicketStatsDay` in one transaction.
`day_rows_query()`'s statement reads both, so its answer is exact at any moment, folded or
not; the fold only keeps the change table short.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from django.db import connection, transaction

from tickets.models import TicketStatsChange, TicketStatsDay
from tickets.vocabulary import SlaStatus

# The dimensions, named by their ticket column.
DIMENSIONS = ("error_type", "status", "severity", "source", "finops_team", "sla_status")
_UNPIVOT = "CROSS JOIN LATERAL (VALUES {}) AS d (dimension, value)".format(
    ", ".join(f"('{name}', c.{name})" for name in DIMENSIONS)
)
_CHANGES = TicketStatsChange._meta.db_table
_DAYS = TicketStatsDay._meta.db_table
# Any constant of our own: folds take turns.
_FOLD_LOCK = 0x7469636B  # "tick"

_FOLD = f"""
WITH moved AS (DELETE FROM {_CHANGES} RETURNING *), folded AS (
INSERT INTO {_DAYS} AS r (day, dimension, value, n, acknowledged, ack_total, sla_met,
    sla_breached, resolved, resolve_total)
SELECT c.day, d.dimension, d.value, SUM(c.n), SUM(c.acknowledged), SUM(c.ack_total),
       COALESCE(SUM(c.n) FILTER (WHERE c.sla_status = %(met)s), 0),
       COALESCE(SUM(c.n) FILTER (WHERE c.sla_status = %(breached)s), 0),
       SUM(c.resolved), SUM(c.resolve_total)
  FROM moved c {_UNPIVOT}
 GROUP BY 1, 2, 3
ON CONFLICT (day, dimension, value) DO UPDATE SET
    n = r.n + EXCLUDED.n,
    acknowledged = r.acknowledged + EXCLUDED.acknowledged,
    ack_total = r.ack_total + EXCLUDED.ack_total,
    sla_met = r.sla_met + EXCLUDED.sla_met,
    sla_breached = r.sla_breached + EXCLUDED.sla_breached,
    resolved = r.resolved + EXCLUDED.resolved,
    resolve_total = r.resolve_total + EXCLUDED.resolve_total
RETURNING 1)
SELECT COUNT(*) FROM moved
"""

# Per dimension and value: the error class per day (the daily series), the others over the
# whole range. Figures: tickets, acknowledged, sum of ack_seconds, SLA met, SLA breached,
# resolved, sum of resolve_seconds.
_READ = f"""
SELECT dimension, CASE WHEN dimension = 'error_type' THEN day END, value,
       SUM(n), SUM(acknowledged), SUM(ack_total), SUM(sla_met), SUM(sla_breached),
       SUM(resolved), SUM(resolve_total)
  FROM (
        SELECT day, dimension, value, n, acknowledged, ack_total, sla_met, sla_breached,
               resolved, resolve_total
          FROM {_DAYS}
         WHERE day >= %(first)s AND day < %(end)s
        UNION ALL
        SELECT c.day, d.dimension, d.value, c.n, c.acknowledged, c.ack_total,
               CASE WHEN c.sla_status = %(met)s THEN c.n ELSE 0 END,
               CASE WHEN c.sla_status = %(breached)s THEN c.n ELSE 0 END,
               c.resolved, c.resolve_total
          FROM {_CHANGES} c {_UNPIVOT}
         WHERE c.day >= %(first)s AND c.day < %(end)s
       ) AS counted
 GROUP BY 1, 2, 3
HAVING SUM(n) <> 0
"""

Row = tuple[str, date | None, str, tuple[int, ...]]


def day_rows_query(first: date, end: date) -> tuple[str, dict[str, Any]]:
    """The statement reading the counts of the tickets whose UTC day is in `[first, end)`, and
    its parameters, for a caller that sends it with others in one round trip; `parse_day_rows`
    reads its result: (dimension, day, value, figures), the day given for `error_type` only
    (None for the other dimensions, summed over the range); values without a ticket left out."""
    return _READ, {"first": first, "end": end, "met": SlaStatus.MET, "breached": SlaStatus.BREACHED}


def parse_day_rows(rows: Iterable[Sequence[Any]]) -> list[Row]:
    return [
        (dimension, day, value, tuple(int(v) for v in figures))
        for dimension, day, value, *figures in rows
    ]


# A dimension's values with a ticket on the days from `first` on: the day rows and the changes
# not folded yet, summed (a value can be counted on a day row and taken back by a change).
_VALUES_SINCE = f"""
SELECT value FROM (
        SELECT value, n FROM {_DAYS} WHERE day >= %(first)s AND dimension = %(dimension)s
        UNION ALL
        SELECT {{column}}, n FROM {_CHANGES} WHERE day >= %(first)s
       ) AS counted
 WHERE value <> ''
 GROUP BY value
HAVING SUM(n) > 0
 ORDER BY value
 LIMIT %(limit)s
"""


def values_since(dimension: str, first: date, limit: int) -> list[str]:
    """The non-blank values of `dimension` (one of DIMENSIONS) that tickets of the UTC days from
    `first` on hold now, sorted, `limit` at most: read from the rollup, a row per day and value,
    however many tickets those days hold."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"not a counted dimension: {dimension!r} (one of {DIMENSIONS})")
    with connection.cursor() as cursor:
        cursor.execute(
            _VALUES_SINCE.format(column=dimension),
            {"first": first, "dimension": dimension, "limit": limit},
        )
        return [row[0] for row in cursor.fetchall()]


# How many tickets hold a value of a dimension now, whatever their day: the day rows and the
# changes not folded yet, summed.
_HOLDING = f"""
SELECT COALESCE(SUM(n), 0) FROM (
        SELECT n FROM {_DAYS} WHERE dimension = %(dimension)s AND value = %(value)s
        UNION ALL
        SELECT n FROM {_CHANGES} WHERE {{column}} = %(value)s
       ) AS counted
"""


def tickets_holding(dimension: str, value: str) -> int:
    """How many tickets hold `value` in `dimension` (one of DIMENSIONS) now, exactly: read from
    the rollup, a row per day, however many tickets hold it (a COUNT of the tickets read every
    one of them)."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"not a counted dimension: {dimension!r} (one of {DIMENSIONS})")
    with connection.cursor() as cursor:
        cursor.execute(_HOLDING.format(column=dimension), {"dimension": dimension, "value": value})
        return int(cursor.fetchone()[0])


def fold() -> int:
    """Move the pending changes into the day rows; returns how many changes were folded."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_FOLD_LOCK])
        cursor.execute(_FOLD, {"met": SlaStatus.MET, "breached": SlaStatus.BREACHED})
        folded = int(cursor.fetchone()[0])
        # A value whose last ticket moved away (acknowledged, resolved, deleted) counts nothing.
        cursor.execute(f"DELETE FROM {_DAYS} WHERE n = 0")
        return folded
