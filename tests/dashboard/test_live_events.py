"""Publishing live events from sync code (requests, tasks) costs no new thread, event loop or
Redis connection per event, and still works in a process forked after the first event (a Celery
prefork child)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from redis.asyncio.connection import AbstractConnection

from tickets.broadcast import GROUP, broadcast_ticket_change, publisher
from tickets.lifecycle import Actor

EVENTS = 30


@pytest.fixture
def subscribed_channel() -> Iterator[str]:
    """A channel in the dashboard group, as a connected dashboard's consumer has."""
    layer = get_channel_layer()
    assert layer is not None
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(GROUP, channel)
    yield channel
    async_to_sync(layer.group_discard)(GROUP, channel)


def received(channel: str, count: int) -> list[dict[str, Any]]:
    layer = get_channel_layer()
    assert layer is not None

    async def receive_all() -> list[dict[str, Any]]:
        return [await layer.receive(channel) for _ in range(count)]

    return async_to_sync(receive_all)()


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

    pid = os.fork()
    if pid == 0:  # the child: the parent's publisher object, without its loop thread
        try:
            broadcast_ticket_change(None, "T-child", "created", Actor.system())
            os._exit(0 if publisher._pid == os.getpid() else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)

    assert os.waitstatus_to_exitcode(status) == 0
    events = received(subscribed_channel, 2)
    assert [event["ticket_id"] for event in events] == ["T-parent", "T-child"]
