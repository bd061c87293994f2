"""Ticket changes are broadcast to the live dashboard (Channels group on the Redis layer).

Publishing happens on the web and worker processes' request and task paths, so it must be cheap.
`async_to_sync(layer.group_send)` from sync code started a new thread and event loop for every
event, and the channel layer keeps its Redis connections per event loop, so every event also
opened (and set up) a new Redis connection. Instead each process runs one event loop, in a
daemon thread started on its first event, with a channel layer of its own whose connections live
as long as the process; an event is one `run_coroutine_threadsafe` onto that loop. (Its own
layer instance, not the shared `get_channel_layer()` one, so nothing else using the shared one,
a consumer or a `flush()`, ever touches connections that belong to this loop.)
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from typing import Any

from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers

from tickets.lifecycle import Actor

logger = logging.getLogger(__name__)

GROUP = "tickets"
# How long a request or task waits for Redis to take an event before it gives up on it.
PUBLISH_TIMEOUT_SECONDS = 2.0


class LiveEventPublisher:
    """One event loop and channel layer per process for sending to groups from sync code.

    Both are made on first use, from the settings of that moment, and again after a fork: a
    forked child (a Celery pool process) has the parent's objects but not its threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._layer: Any = None

    def _started(self) -> tuple[asyncio.AbstractEventLoop, Any] | None:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                if DEFAULT_CHANNEL_LAYER not in channel_layers.configs:
                    return None
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="live-events", daemon=True).start()
                self._layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
                self._loop, self._pid = loop, os.getpid()
            return self._loop, self._layer

    def group_send(self, group: str, message: dict[str, Any]) -> None:
        """Send `message` to `group`; returns once Redis has it, raises what the layer raised."""
        started = self._started()
        if started is None:  # no channel layer configured: nobody to tell
            return
        loop, layer = started
        future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), loop)
        try:
            future.result(timeout=PUBLISH_TIMEOUT_SECONDS)
        except TimeoutError:
            future.cancel()
            raise


publisher = LiveEventPublisher()


def broadcast_ticket_change(
    sender: Any, ticket_id: str, action: str, actor: Actor, **kwargs: Any
) -> None:
    event = {
        "type": "ticket.changed",
        "ticket_id": ticket_id,
        "action": action,
        "actor": actor.name,
        "via": str(actor.kind),
    }
    try:
        publisher.group_send(GROUP, event)
    except Exception:
        logger.warning("could not broadcast %s of %s", action, ticket_id, exc_info=True)


def broadcast_incident_change(
    sender: Any, incident_id: str, action: str, actor: Actor, ticket_id: str = "", **kwargs: Any
) -> None:
    event = {
        "type": "incident.changed",
        "incident_id": incident_id,
        "action": action,
        "ticket_id": ticket_id,
        "actor": actor.name,
    }
    try:
        publisher.group_send(GROUP, event)
    except Exception:
        logger.warning("could not broadcast %s of %s", action, incident_id, exc_info=True)
