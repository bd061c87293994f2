"""Times in hand-built JSON (audit snapshots, recorded fixes, the normalized event, a log
analysis's report) written as the API's serializers write theirs: DRF's `DateTimeField`
renders UTC (TIME_ZONE) as ISO 8601 ending in `Z`, and a client comparing or parsing times
reads one format throughout."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_text(value: datetime) -> str:
    """`2026-12-06T05:43:36.151642Z`: ISO 8601 in UTC, `Z` for `+00:00`; a time without a zone
    is taken as UTC (not the machine's local time)."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().removesuffix("+00:00") + "Z"
