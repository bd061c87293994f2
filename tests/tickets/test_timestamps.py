"""Times in hand-built JSON read as the API's serializers write theirs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from tickets.timestamps import utc_text


def test_a_time_is_written_in_utc_ending_in_z():
    at = datetime(2026, 12, 6, 5, 43, 36, 151642, tzinfo=UTC)

    assert utc_text(at) == "2026-12-06T05:43:36.151642Z"
    assert utc_text(at.astimezone(timezone(timedelta(hours=2)))) == "2026-12-06T05:43:36.151642Z"
    # Without a zone: UTC, whatever the machine's local time.
    assert utc_text(at.replace(tzinfo=None)) == "2026-12-06T05:43:36.151642Z"
