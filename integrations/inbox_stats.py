"""The inbox side of the stats rollup: inbox rows per UTC day of `received_at`, status and
outcome. A trigger (migration 0010) appends each counted change to `InboxStatsChange` in the
writer's transaction; `fold()` (beat, with the ticket rollup's fold) moves them into
`InboxStatsDay`; `day_counts_query()`'s statement reads both, so it is exact whether folded
or not."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import connection, transaction

from integrations.models import InboxStatsChange, InboxStatsDay

_CHANGES = InboxStatsChange._meta.db_table
_DAYS = InboxStatsDay._meta.db_table
_FOLD_LOCK = 0x696E6278  # "inbx": folds take turns

_FOLD = f"""
WITH moved AS (DELETE FROM {_CHANGES} RETURNING *), folded AS (
INSERT INTO {_DAYS} AS r (day, status, outcome, n)
SELECT day, status, outcome, SUM(n) FROM moved GROUP BY 1, 2, 3
ON CONFLICT (day, status, outcome) DO UPDATE SET n = r.n + EXCLUDED.n
RETURNING 1)
SELECT COUNT(*) FROM moved
"""

_READ = f"""
SELECT status, outcome, SUM(n)
  FROM (SELECT status, outcome, n FROM {_DAYS} WHERE day >= %(first)s AND day < %(end)s
        UNION ALL
        SELECT status, outcome, n FROM {_CHANGES} WHERE day >= %(first)s AND day < %(end)s
       ) AS counted
 GROUP BY 1, 2
HAVING SUM(n) <> 0
"""


def day_counts_query(first: date, end: date) -> tuple[str, dict[str, Any]]:
    """The statement reading (status, outcome, rows) of the inbox rows received on the UTC days
    `[first, end)`, and its parameters, for a caller that sends it with others in one round
    trip."""
    return _READ, {"first": first, "end": end}


def fold() -> int:
    """Move the pending changes into the day rows; returns how many changes were folded."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_FOLD_LOCK])
        cursor.execute(_FOLD)
        folded = int(cursor.fetchone()[0])
        cursor.execute(f"DELETE FROM {_DAYS} WHERE n = 0")
        return folded
