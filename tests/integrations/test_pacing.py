"""Pacing: deliveries leave at their target's published rate, shared by every worker through
Redis; a storm's Slack posts drain at the channel's rate, each posted once, and another
channel is not held up behind them (a real worker, real Redis, the real slack_sdk against the
local Slack)."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

import pytest
from django.db import transaction

from integrations import fanout, pacing
from integrations.models import AttemptOutcome, OutboundDelivery, OutboundStatus
from integrations.pacing import Pace
from integrations.targets import jira, slack
from tests.api import make_ticket
from tests.conftest import wait_for
from tests.fakes.slack_api import FakeSlack

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_delivery_over_the_rate_reserves_the_next_free_slot(settings):
    settings.PROBE_PER_SECOND, settings.PROBE_BURST = 4.0, 2
    pace = Pace("PROBE_PER_SECOND", "PROBE_BURST")
    rows = [OutboundDelivery(pk=index) for index in range(1, 7)]
    try:
        waits = [pacing.wait_seconds("probe", pace, row) for row in rows[:5]]
        # A burst of two goes at once, then one every quarter second.
        assert waits[:2] == [0.0, 0.0]
        assert waits[2:] == pytest.approx([0.25, 0.5, 0.75], abs=0.05)
        # Asking again before its slot: the same slot, not a new one behind the others.
        assert pacing.wait_seconds("probe", pace, rows[2]) <= waits[2]
        assert pacing.wait_seconds("probe", pace, rows[5]) == pytest.approx(1.0, abs=0.05)
        time.sleep(waits[2] + 0.01)
        assert pacing.wait_seconds("probe", pace, rows[2]) == 0.0  # its slot has come
        # A rate of 0 turns pacing off.
        settings.PROBE_PER_SECOND = 0
        assert pacing.wait_seconds("probe", pace, OutboundDelivery(pk=99)) == 0.0
    finally:
        pacing.reset("probe")


def test_slack_is_paced_per_channel_and_jira_per_tenant():
    assert slack.TARGET.pace is not None and jira.TARGET.pace is not None
    assert slack.TARGET.pace.rate() == (1.0, 5)  # Slack: about a message a second per channel
    storm, quiet = make_ticket(slack_channel="#alerts"), make_ticket(slack_channel="")
    assert slack.TARGET.pace.scope(OutboundDelivery(ticket_id=storm.pk)) == "#alerts"
    assert slack.TARGET.pace.scope(OutboundDelivery(ticket_id=quiet.pk)) == "#data-platform-alerts"
    assert jira.TARGET.pace.scope(OutboundDelivery(ticket_id=storm.pk)) == ""


def post_time(ts: str) -> float:
    return float(Decimal(ts))


def test_a_storm_of_posts_drains_at_the_channels_rate_each_once(settings, celery_worker):
    settings.SLACK_CHANNEL_POSTS_PER_SECOND, settings.SLACK_CHANNEL_BURST = 4.0, 2
    with FakeSlack() as fake:
        settings.SLACK_BOT_TOKEN, settings.SLACK_BASE_URL = fake.token, fake.base_url
        storm = [make_ticket(slack_channel="#alerts") for _ in range(10)]
        quiet = make_ticket(slack_channel="#data-eng")
        rows = []
        for ticket in [*storm, quiet]:
            key = f"{ticket.pk}:{slack.POST}:{uuid.uuid4().hex}"
            with transaction.atomic():
                fanout.schedule(ticket.pk, slack.POST, key, {})
            rows.append(OutboundDelivery.objects.get(key=key))

        def all_posted() -> bool:
            return not OutboundDelivery.objects.filter(
                pk__in=[row.pk for row in rows], status=OutboundStatus.PENDING
            ).exists()

        wait_for(all_posted, timeout=30)
        posted = {
            channel: sorted(post_time(ts) for (c, ts) in fake.messages if c == channel)
            for channel in ("C0ALERTS002", "C0DATAENG01")
        }

    for row in rows:
        row.refresh_from_db()
        assert row.status == OutboundStatus.SUCCEEDED and row.attempts == 1
        assert list(row.tries.values_list("outcome", flat=True)) == [AttemptOutcome.SUCCEEDED]
    times = posted["C0ALERTS002"]
    assert len(times) == 10 and len(posted["C0DATAENG01"]) == 1  # each posted once
    # Two at once, then four a second: eight more take at least two seconds (unpaced, the
    # two worker threads post all ten within a fraction of that).
    assert times[-1] - times[0] >= 2.0 - 0.1
    # The other channel's post did not wait behind the storm's backlog.
    assert posted["C0DATAENG01"][0] < times[-1] - 0.5
