"""Publishing live events from sync code (requests, tasks) costs no new thread, event loop or
Redis connection per event and never waits for Redis: events are queued and sent in batches by
one sender per process, which still works in a process forked after the first event (a Celery
prefork child)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from redis.asyncio.connection import AbstractConnection

from analysis.services import enrich_tickets
from tests.analysis.test_databricks_runs import pending_pair
from tests.analysis.test_enrichment_incidents import databricks
from tickets.broadcast import BATCH, GROUP, broadcast_ticket_change, publisher
from tickets.lifecycle import Actor
from tickets.models import Ticket

EVENTS = 30

__all__ = ["databricks"]  # fixture


@pytest.fixture
def subscribed_channel() -> Iterator[str]:
    """A channel in the dashboard group, as a connected dashboard's consumer has. Events an
    earlier test of this process queued are sent before it joins the group."""
    publisher.flush()
    layer = get_channel_layer()
    assert layer is not None
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(GROUP, channel)
    yield channel
    async_to_sync(layer.group_discard)(GROUP, channel)


def ours(event: dict[str, Any]) -> bool:
    """An event of these tests (their ticket ids start with T-), not a late one of an earlier
    test's (an incident's, a real ticket's) that its worker threads sent while this one ran."""
    return str(event.get("ticket_id", "")).startswith("T-")


def received_batches(channel: str, count: int) -> list[list[dict[str, Any]]]:
    """These tests' events of the layer messages on `channel`, batch by batch, until `count`
    events."""
    layer = get_channel_layer()
    assert layer is not None

    async def receive_all() -> list[list[dict[str, Any]]]:
        batches: list[list[dict[str, Any]]] = []
        while sum(map(len, batches)) < count:
            message = await asyncio.wait_for(layer.receive(channel), 5)
            assert message["type"] == BATCH
            batch = [event for event in message["events"] if ours(event)]
            if batch:
                batches.append(batch)
        return batches

    return async_to_sync(receive_all)()


def received(channel: str, count: int) -> list[dict[str, Any]]:
    return [event for batch in received_batches(channel, count) for event in batch]


def test_many_events_share_one_redis_connection(subscribed_channel, monkeypatch):
    broadcast_ticket_change(None, "T-first", "created", Actor.system())
    # The handshake redis-py runs once on each new connection (a spy: it still runs).
    connects = []
    handshake = AbstractConnection.on_connect_check_health

    async def counted_handshake(self: AbstractConnection, *args: Any, **kwargs: Any) -> None:
        connects.append(self)
        await handshake(self, *args, **kwargs)

    monkeypatch.setattr(AbstractConnection, "on_connect_check_health", counted_handshake)

    for n in range(EVENTS):
        broadcast_ticket_change(None, f"T-{n}", "updated", Actor.system("jira"))

    assert len(connects) == 0  # every event went over the connection the first one opened
    events = received(subscribed_channel, EVENTS + 1)
    assert [event["ticket_id"] for event in events] == ["T-first"] + [
        f"T-{n}" for n in range(EVENTS)
    ]
    assert events[-1] == {
        "type": "ticket.changed",
        "ticket_id": f"T-{EVENTS - 1}",
        "action": "updated",
        "actor": "jira",
        "via": "system",
    }


def test_a_process_forked_after_publishing_publishes_on_its_own_loop(subscribed_channel):
    broadcast_ticket_change(None, "T-parent", "created", Actor.system())
    # Sent before the fork (its loop thread started): else the child's, flushed at once, could
    # reach the channel first (seen once in a CI run).
    assert publisher.flush()

    pid = os.fork()
    if pid == 0:  # the child: the parent's publisher object, without its loop thread
        try:
            broadcast_ticket_change(None, "T-child", "created", Actor.system())
            sent = publisher.flush()
            os._exit(0 if sent and publisher._pid == os.getpid() else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)

    assert os.waitstatus_to_exitcode(status) == 0
    events = received(subscribed_channel, 2)
    assert [event["ticket_id"] for event in events] == ["T-parent", "T-child"]


def test_a_burst_of_events_is_sent_as_few_batches_without_waiting_for_redis(subscribed_channel):
    started = time.perf_counter()
    for n in range(EVENTS):
        broadcast_ticket_change(None, f"T-{n}", "updated", Actor.system("jira"))
    queued_in = time.perf_counter() - started
    assert publisher.flush()

    batches = received_batches(subscribed_channel, EVENTS)
    assert [event["ticket_id"] for batch in batches for event in batch] == [
        f"T-{n}" for n in range(EVENTS)
    ]
    # One layer message for the burst, or a few if the sender was mid-send as it began.
    assert len(batches) <= 3
    # Queuing thirty events took less than one Redis round trip's worth per event.
    assert queued_in < 0.05


def test_an_unreachable_redis_drops_live_events_without_holding_the_caller(settings, caplog):
    from tickets.broadcast import LiveEventPublisher

    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": "redis://127.0.0.1:9/0", "socket_timeout": 0.5}]},
        }
    }
    offline = LiveEventPublisher()
    started = time.perf_counter()
    offline.group_send(GROUP, {"type": "ticket.changed", "ticket_id": "T-lost"})
    assert time.perf_counter() - started < 0.05
    assert offline.flush(timeout=5)
    assert "could not broadcast 1 live events" in caplog.text


def folds_received(channel: str, wait_seconds: float) -> list[dict[str, Any]]:
    """The ticket.folded events on `channel` until none came for `wait_seconds`."""
    layer = get_channel_layer()
    assert layer is not None

    async def receive_all() -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        while True:
            try:
                message = await asyncio.wait_for(layer.receive(channel), wait_seconds)
            except TimeoutError:
                return events
            events += [e for e in message["events"] if e.get("type") == "ticket.folded"]

    return async_to_sync(receive_all)()


@pytest.mark.django_db(transaction=True)
def test_a_fold_is_told_once_it_commits(databricks):
    first, later = pending_pair(databricks)
    publisher.flush()
    # A plain channel name (no "!"): received from one event loop per phase.
    channel = f"folds.{os.getpid()}.{time.monotonic_ns()}"
    layer = get_channel_layer()
    assert layer is not None
    async_to_sync(layer.group_add)(GROUP, channel)
    try:
        with transaction.atomic():
            enrich_tickets([later])
            assert not Ticket.objects.filter(pk=later).exists()
            publisher.flush()
            assert folds_received(channel, 1.0) == []

        publisher.flush()
        assert folds_received(channel, 1.0) == [
            {"type": "ticket.folded", "ticket_id": later, "into": first}
        ]
    finally:
        async_to_sync(layer.group_discard)(GROUP, channel)
