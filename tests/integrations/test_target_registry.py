"""The target registry: a target defined here, in the test suite, is one module's worth of code
plus one `register` call, and the real engine delivers to it on its own Celery queue: retries,
dead letters, and a target that stalls holding up no other (real workers, real Redis)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from celery.contrib.testing.worker import TestWorkController, start_worker
from django.db import transaction

from integrations import fanout, targets
from integrations.circuit import CircuitBreaker
from integrations.models import AttemptOutcome, OutboundDelivery, OutboundStatus
from integrations.targets.base import Action, Target, TransportError
from rca_project.celery import app as celery_app
from tests.api import make_ticket
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


class ProbeTransport:
    """A stand-in for a vendor client: fails `row.payload["failures"]` times, then succeeds;
    stalls `stall_seconds` on each call when told to."""

    def __init__(self, stall_seconds: float = 0.0) -> None:
        self.stall_seconds = stall_seconds
        self.calls: list[str] = []
        self.release = threading.Event()

    def send(self, row: OutboundDelivery) -> None:
        self.calls.append(row.key)
        if self.stall_seconds:
            self.release.wait(self.stall_seconds)  # a target that stalls for its whole timeout
            raise TransportError("probe timed out", permanent=False)
        if row.attempts < row.payload.get("failures", 0):
            raise TransportError("probe answered 503", permanent=False, status=503)


def probe_target(name: str, transport: ProbeTransport) -> Target:
    def send(probe: ProbeTransport, row: OutboundDelivery) -> None:
        probe.send(row)

    return Target(
        name=name,
        label=f"Probe {name}",
        connect=lambda: transport,
        settings=("OUTBOUND_TIMEOUT_SECONDS",),
        not_configured=f"{name} is not configured",
        actions={f"{name}_send": Action(send, f"Send to {name}")},
    )


@pytest.fixture
def fast_retries(settings) -> None:
    settings.OUTBOUND_MAX_ATTEMPTS = 3
    settings.OUTBOUND_BACKOFF_SECONDS = 0.05
    settings.OUTBOUND_BACKOFF_MAX_SECONDS = 0.2
    settings.CIRCUIT_FAILURE_THRESHOLD = 100
    settings.OUTBOUND_TIMEOUT_SECONDS = 5


@pytest.fixture
def registered() -> Iterator[list[str]]:
    """Register targets for one test; they are gone (and their queues emptied) after it."""
    names: list[str] = []
    yield names
    client = redis.Redis.from_url(celery_app.conf.broker_url.replace("socket://", "unix://"))
    for name in names:
        client.delete(targets.queue_for(name))
        CircuitBreaker(name).reset()
        targets.unregister(name)


def schedule(ticket_id: str, action: str, **payload: Any) -> OutboundDelivery:
    key = f"{ticket_id}:{action}:{uuid.uuid4().hex}"
    with transaction.atomic():
        fanout.schedule(ticket_id, action, key, payload)
    return OutboundDelivery.objects.get(key=key)


def finished(row: OutboundDelivery, timeout: float = 30) -> OutboundDelivery:
    def done() -> OutboundDelivery | None:
        row.refresh_from_db()
        return row if row.status != OutboundStatus.PENDING else None

    return wait_for(done, timeout=timeout)


def test_a_registered_target_is_retried_then_dead_lettered_by_the_engine(
    fast_retries, registered, transactional_db
):
    transport = ProbeTransport()
    name = f"probe{uuid.uuid4().hex[:4]}"
    targets.register(probe_target(name, transport))
    registered.append(name)
    ticket = make_ticket()

    queues = [celery_app.conf.task_default_queue, targets.queue_for(name)]
    with start_worker(
        celery_app, pool="threads", concurrency=2, perform_ping_check=False, queues=queues
    ):
        flaky = schedule(ticket.pk, f"{name}_send", failures=2)
        down = schedule(ticket.pk, f"{name}_send", failures=99)
        flaky, down = finished(flaky), finished(down)

    assert flaky.target == name and flaky.status == OutboundStatus.SUCCEEDED
    assert list(flaky.tries.values_list("outcome", flat=True)) == [
        AttemptOutcome.TRANSIENT_ERROR,
        AttemptOutcome.TRANSIENT_ERROR,
        AttemptOutcome.SUCCEEDED,
    ]
    assert down.status == OutboundStatus.DEAD and down.attempts == 3
    assert down.last_error == "gave up after 3 attempts: probe answered 503"
    assert [t.http_status for t in down.tries.all()] == [503, 503, 503]
    assert transport.calls.count(down.key) == 3

    # Staff retry of the dead letter: a fresh budget, on the target's queue again.
    transport_calls = len(transport.calls)
    assert fanout.retry_dead([down.pk]) == 1
    with start_worker(
        celery_app, pool="threads", concurrency=2, perform_ping_check=False, queues=queues
    ):
        down = finished(down)
    assert down.status == OutboundStatus.DEAD and len(transport.calls) == transport_calls + 3


class OwnLoopWorker(TestWorkController):
    """An in-process worker that polls its own connection instead of the event loop.

    Celery's worker takes kombu's process-wide event loop if one exists, so a second worker
    started in the same process would drive the first one's loop from another thread (each
    then reads the other's sockets: "I/O operation on closed file", a dead consumer). Two
    separate worker processes, as `make run` runs them, each have their own."""

    def should_use_eventloop(self) -> bool:
        return False


def test_a_target_that_stalls_for_its_whole_timeout_delays_no_other(
    fast_retries, registered, transactional_db
):
    """One worker per target queue, as `make run` and docker-compose.yml run them: while every
    thread of the stalled target's worker waits out its timeout, the other target's deliveries
    go through at once."""
    stalled = ProbeTransport(stall_seconds=20.0)
    quick = ProbeTransport()
    slow_name, quick_name = (f"{kind}{uuid.uuid4().hex[:4]}" for kind in ("slow", "quick"))
    targets.register(probe_target(slow_name, stalled))
    targets.register(probe_target(quick_name, quick))
    registered.extend([slow_name, quick_name])
    ticket = make_ticket()

    with (
        start_worker(
            celery_app,
            pool="threads",
            concurrency=2,
            perform_ping_check=False,
            queues=[targets.queue_for(slow_name)],
            hostname=f"{slow_name}@test",
            shutdown_timeout=60,
            WorkController=OwnLoopWorker,
        ),
        start_worker(
            celery_app,
            pool="threads",
            concurrency=2,
            perform_ping_check=False,
            queues=[targets.queue_for(quick_name)],
            hostname=f"{quick_name}@test",
            shutdown_timeout=60,
            WorkController=OwnLoopWorker,
        ),
    ):
        # More stalled deliveries than the stalled worker has threads: its queue backs up.
        slow_rows = [schedule(ticket.pk, f"{slow_name}_send") for _ in range(4)]
        wait_for(lambda: len(stalled.calls) >= 2, timeout=10)
        started = time.monotonic()
        rows = [schedule(ticket.pk, f"{quick_name}_send") for _ in range(5)]
        done = [finished(row, timeout=15.0) for row in rows]
        elapsed = time.monotonic() - started
        still_stalled = len(stalled.calls) == 2  # both threads still inside their first call
        stalled.release.set()  # let the stalled worker stop without waiting out every call
        # Both workers idle before they stop: the released deliveries run out their (fast)
        # retries to a dead letter, so no retry is in flight while the workers shut down.
        for row in slow_rows:
            finished(row, timeout=30)

    assert all(row.status == OutboundStatus.SUCCEEDED for row in done)
    assert still_stalled and elapsed < 15.0  # well inside the 20 s the stalled calls take


def test_a_process_that_never_imported_the_task_module_still_enqueues(monkeypatch, caplog):
    """The web server and the inbox relay never import integrations.tasks; a delivery they
    schedule after a commit must still reach its target's queue (it was once logged as "broker
    unavailable" and left to beat's redelivery)."""
    monkeypatch.delitem(celery_app.tasks, targets.DELIVER_TASK, raising=False)
    assert targets.DELIVER_TASK not in celery_app.tasks
    queue = targets.queue_for("jira")
    broker = redis.Redis.from_url(celery_app.conf.broker_url)
    broker.delete(queue)
    try:
        fanout.enqueue(424242, "jira")
        assert "broker unavailable" not in caplog.text
        sent = [json.loads(raw) for raw in broker.lrange(queue, 0, -1)]
        assert [m["headers"]["task"] for m in sent] == [targets.DELIVER_TASK]
        assert [m["headers"]["argsrepr"] for m in sent] == ["(424242, 'jira')"]
    finally:
        broker.delete(queue)
