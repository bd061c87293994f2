"""The inbox relay: what the webhook commits reaches the queue once, after the answer, whatever
the broker does and however many relays run."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Sequence

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from integrations import relay
from integrations.ingest import ingest_delivery
from integrations.models import DeliveryStatus, WebhookDelivery
from tests.conftest import local_payload, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("migration_data")]


def _failure(index: int | str) -> bytes:
    body = local_payload("adf_failure.json")
    body.update(run_id=f"relay-{index}-{uuid.uuid4().hex[:6]}", pipeline=f"pl_relay_{index}")
    return json.dumps(body).encode()


class Recorder:
    """A publisher that records what it was given; `refuse_after` imitates a broker that goes
    away in the middle of a batch."""

    def __init__(self, refuse_after: int | None = None) -> None:
        self.published: list[int] = []
        self.refuse_after = refuse_after
        self.lock = threading.Lock()

    def __call__(self, ids: Sequence[int]) -> int:
        taken = list(ids) if self.refuse_after is None else list(ids)[: self.refuse_after]
        with self.lock:
            self.published.extend(taken)
        return len(taken)


def _unqueued() -> set[int]:
    return set(
        WebhookDelivery.objects.filter(
            status=DeliveryStatus.PENDING, queued_at__isnull=True
        ).values_list("pk", flat=True)
    )


def test_the_webhook_publishes_nothing_and_the_relay_hands_each_delivery_over_once():
    results = [ingest_delivery("adf", _failure(i)) for i in range(3)]
    pending = set(
        WebhookDelivery.objects.filter(
            tracking_id__in=[r.tracking_id for r in results]
        ).values_list("pk", flat=True)
    )
    assert _unqueued() == pending  # committed, answered, not on the queue yet

    recorder = Recorder()
    assert relay.relay_once(recorder) == (3, True)
    assert relay.relay_once(recorder) == (0, True)

    assert sorted(recorder.published) == sorted(pending)
    assert not _unqueued()
    # Still pending: a worker finishes them; the relay only put them on the queue.
    assert (
        WebhookDelivery.objects.filter(pk__in=pending, status=DeliveryStatus.PENDING).count() == 3
    )


def test_a_duplicate_or_a_processed_delivery_is_not_relayed():
    body = _failure("dup")
    ingest_delivery("adf", body)
    again = ingest_delivery("adf", body)
    assert again.outcome == "duplicate"

    recorder = Recorder()
    relay.relay_once(recorder)

    assert len(recorder.published) == 1


def test_what_the_broker_refused_waits_in_the_inbox_and_goes_out_later():
    for i in range(3):
        ingest_delivery("adf", _failure(i))

    first = Recorder(refuse_after=1)
    assert relay.relay_once(first) == (1, False)
    assert len(_unqueued()) == 2  # put back

    second = Recorder()
    assert relay.relay_once(second) == (2, True)
    assert not set(first.published) & set(second.published)
    assert not _unqueued()


def test_several_relays_at_once_hand_each_delivery_over_exactly_once():
    ids = {ingest_delivery("adf", _failure(i)).tracking_id for i in range(60)}
    assert len(_unqueued()) == len(ids)
    recorder = Recorder()
    start = threading.Barrier(4)

    def relay_until_empty() -> None:
        try:
            start.wait(timeout=10)
            while relay.relay_once(recorder, limit=5)[0]:
                pass
        finally:
            connections.close_all()

    threads = [threading.Thread(target=relay_until_empty) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(recorder.published) == len(set(recorder.published)) == 60
    assert not _unqueued()


def test_a_committed_webhook_wakes_the_relay_at_once():
    """The trigger's NOTIFY wakes the loop: with polling set to a minute, only it can."""
    recorder = Recorder()
    loop = relay.InboxRelay(recorder, poll_seconds=60, linger_seconds=0).start_thread()
    try:
        time.sleep(0.5)  # listening
        started = time.monotonic()
        result = ingest_delivery("adf", _failure("wake"))
        delivery_id = WebhookDelivery.objects.get(tracking_id=result.tracking_id).pk
        wait_for(lambda: delivery_id in recorder.published, timeout=10)
        print(f"relayed {time.monotonic() - started:.3f} s after the ingest")
        assert time.monotonic() - started < 5
    finally:
        loop.stop()


def test_a_relay_waiting_for_work_stops_within_a_second():
    """SIGTERM (`relay_inbox`'s handler calls `stop()`) while the loop waits out a long poll
    interval for a notification: it ends at once, not when the interval is over (compose kills
    what has not stopped after 10 s)."""
    loop = relay.InboxRelay(Recorder(), poll_seconds=60, linger_seconds=0).start_thread()
    time.sleep(1)  # waiting for work
    started = time.monotonic()
    loop.stop(timeout=10)
    assert loop._thread is not None and not loop._thread.is_alive()
    assert time.monotonic() - started < 2


def test_a_running_relay_touches_its_heartbeat_file(tmp_path):
    """compose's health check of the relay reads this file's age."""
    heartbeat = tmp_path / "relay-heartbeat"
    loop = relay.InboxRelay(
        Recorder(), poll_seconds=0.1, linger_seconds=0, heartbeat_path=heartbeat
    ).start_thread()
    try:
        wait_for(heartbeat.exists, timeout=10)
        stale = time.time() - 90
        os.utime(heartbeat, (stale, stale))
        wait_for(lambda: time.time() - heartbeat.stat().st_mtime < 30, timeout=15)
    finally:
        loop.stop()


def _statements(body: bytes) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        ingest_delivery("adf", body)
    return [query["sql"].split()[0] for query in captured.captured_queries]


def test_the_ingest_round_trips(settings):
    """What one webhook costs in statements (BEGIN and COMMIT included, and what runs after the
    commit in the request), with no publish: a new failure, the same failure in a new run
    (correlated), and a copy (duplicate). Before the relay: 13 + 1 (and a publish), 11 + 1
    (and a publish), 5; with the relay: 11, 8 + 1, 4. A new failure is now the claim, the
    candidates query, and one statement for the ticket, its audit entry, its occurrence, its
    incident placement and the inbox row."""
    settings.INCIDENT_MIN_PIPELINES = 1000  # one failure here, not the incident's formation
    ingest_delivery("adf", _failure("warm"))  # rule caches filled
    body = local_payload("adf_failure.json")
    body.update(run_id="relay-count-run", pipeline="pl_relay_count")
    new = _statements(json.dumps(body).encode())
    duplicate = _statements(json.dumps(body).encode())
    body["run_id"] = "relay-count-run-2"
    correlated = _statements(json.dumps(body).encode())
    print(f"\nnew {len(new)} {new}\ncorrelated {len(correlated)} {correlated}")
    print(f"duplicate {len(duplicate)} {duplicate}")
    assert len(new) <= 5 and new[-1] == "COMMIT"
    assert len(correlated) <= 9
    assert len(duplicate) <= 4


def test_a_new_tickets_inbox_row_is_written_by_the_tickets_statement():
    """The row is what a statement of its own wrote before: pending, the ticket's id and
    outcome, the event's summary; the other outcomes still write theirs apart."""
    body = _failure("inbox-merged")
    with CaptureQueriesContext(connection) as captured:
        created = ingest_delivery("adf", body)
    statements = [query["sql"] for query in captured.captured_queries]
    inbox_table = WebhookDelivery._meta.db_table
    assert not [sql for sql in statements if sql.startswith(f'INSERT INTO "{inbox_table}"')]
    row = WebhookDelivery.objects.get(tracking_id=created.tracking_id)
    assert (row.outcome, row.ticket_id, row.status) == (
        "created",
        created.ticket_id,
        DeliveryStatus.PENDING,
    )
    assert row.event["pipeline"] == "pl_relay_inbox-merged"
    assert (
        row.processed_at is None and json.loads(row.raw_body)["pipeline"] == row.event["pipeline"]
    )

    duplicate = ingest_delivery("adf", body)
    copy = WebhookDelivery.objects.get(tracking_id=duplicate.tracking_id)
    assert (copy.outcome, copy.ticket_id, copy.status) == (
        "duplicate",
        created.ticket_id,
        DeliveryStatus.PROCESSED,
    )
    assert copy.pk > row.pk
