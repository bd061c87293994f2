"""Ticket changes are broadcast to the live dashboard (Channels group on the Redis layer).

Publishing happens on the web and worker processes' request and task paths, so it must cost
them next to nothing. `group_send` only queues the event; one sender thread per process, with
one event loop and a channel layer of its own whose Redis connections live as long as the
process, sends what has queued up within `LIVE_EVENTS_LINGER_SECONDS` as one `live.batch`
message per group, which the dashboard's consumer unpacks (tickets/consumers.py). A channel
layer's `group_send` is two to four Redis round trips whatever the message, so a storm of
changes costs Redis (and the publishing process's CPU) that per batch rather than per event, and
a connected dashboard's channel, which holds at most a hundred messages, is not flooded.

Live events are best effort, as before: an event that cannot be sent (Redis down, the queue
full) is logged and dropped; the ticket and its audit trail are the record. (Its own layer
instance, not the shared `get_channel_layer()` one, so nothing else using the shared one, a
consumer or a `flush()`, ever touches connections that belong to this loop.)
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
import time
from typing import Any

from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers
from django.conf import settings
from django.db import transaction

from tickets.lifecycle import Actor
from tickets.vocabulary import Status

logger = logging.getLogger(__name__)

GROUP = "tickets"
BATCH = "live.batch"
# How long the sender waits for Redis to take one batch before it drops it.
PUBLISH_TIMEOUT_SECONDS = 2.0
MAX_BATCH = 200
MAX_QUEUED = 10_000


class LiveEventPublisher:
    """Queues events for groups from sync code; a sender thread per process sends them in
    batches.

    The queue, the thread and the layer are made on first use, from the settings of that
    moment, and again after a fork: a forked child (a Celery pool process) has the parent's
    objects but not its threads.
    """

    def __init__(self, linger_seconds: float | None = None) -> None:
        """`linger_seconds`: how long the sender gathers events after the first of a batch
        (`LIVE_EVENTS_LINGER_SECONDS` when not given)."""
        self.linger_seconds = linger_seconds
        self._lock = threading.Lock()
        self._pid = 0
        self._queue: queue.Queue[tuple[str, dict[str, Any]]] | None = None
        self.dropped = 0

    def _started(self) -> queue.Queue[tuple[str, dict[str, Any]]] | None:
        with self._lock:
            if self._queue is None or self._pid != os.getpid():
                if DEFAULT_CHANNEL_LAYER not in channel_layers.configs:
                    return None
                events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue(MAX_QUEUED)
                layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
                linger = (
                    settings.LIVE_EVENTS_LINGER_SECONDS
                    if self.linger_seconds is None
                    else self.linger_seconds
                )
                threading.Thread(
                    target=self._send_forever,
                    args=(events, layer, float(linger)),
                    name="live-events",
                    daemon=True,
                ).start()
                self._queue, self._pid = events, os.getpid()
            return self._queue

    def group_send(self, group: str, message: dict[str, Any]) -> None:
        """Queue `message` for `group`; never waits for Redis."""
        events = self._started()
        if events is None:  # no channel layer configured: nobody to tell
            return
        try:
            events.put_nowait((group, message))
        except queue.Full:
            self.dropped += 1
            if self.dropped % 1000 == 1:  # the first, then one line per thousand
                logger.warning(
                    "live events: %d queued, Redis not taking them; %d dropped so far",
                    MAX_QUEUED,
                    self.dropped,
                )

    def flush(self, timeout: float = PUBLISH_TIMEOUT_SECONDS) -> bool:
        """Wait until every event queued so far was sent (or dropped); False on timeout."""
        events = self._queue
        if events is None or self._pid != os.getpid():
            return True
        with events.all_tasks_done:
            return events.all_tasks_done.wait_for(lambda: events.unfinished_tasks == 0, timeout)

    @staticmethod
    def _send_forever(
        events: queue.Queue[tuple[str, dict[str, Any]]], layer: Any, linger: float
    ) -> None:
        loop = asyncio.new_event_loop()
        while True:
            batch = [events.get()]
            if events.qsize() < MAX_BATCH - 1:
                # Asleep while the batch gathers: a thread waiting in `get` would be woken by
                # every event queued, costing the publishing requests a thread switch each.
                time.sleep(linger)
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(events.get_nowait())
                except queue.Empty:
                    break
            try:
                loop.run_until_complete(_send_batch(layer, batch))
            except Exception:
                logger.warning("could not broadcast %d live events", len(batch), exc_info=True)
            finally:
                for _ in batch:
                    events.task_done()


async def _send_batch(layer: Any, batch: list[tuple[str, dict[str, Any]]]) -> None:
    by_group: dict[str, list[dict[str, Any]]] = {}
    for group, message in batch:
        by_group.setdefault(group, []).append(message)
    for group, messages in by_group.items():
        await asyncio.wait_for(
            layer.group_send(group, {"type": BATCH, "events": messages}),
            PUBLISH_TIMEOUT_SECONDS,
        )


publisher = LiveEventPublisher()


def moved(
    action: str, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The statuses a change moved the ticket between, as of the change (the card a dashboard
    gets is read when the event is sent, maybe after later changes): a new ticket comes in open
    (from None); a transition moves it from `before`'s status to `after`'s, `from_resolved_at`
    saying when it had been resolved (the board's Resolved column holds the recent ones only).
    The board counts its columns by these, also for tickets it does not show."""
    if action == "created":
        return {"from": None, "to": str(Status.OPEN), "from_resolved_at": None}
    if before and after and before.get("status") != after.get("status"):
        return {
            "from": str(before["status"]),
            "to": str(after["status"]),
            "from_resolved_at": before.get("resolved_at"),
        }
    return None


def broadcast_ticket_change(
    sender: Any,
    ticket_id: str,
    action: str,
    actor: Actor,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    **kwargs: Any,
) -> None:
    event: dict[str, Any] = {
        "type": "ticket.changed",
        "ticket_id": ticket_id,
        "action": action,
        "actor": actor.name,
        "via": str(actor.kind),
    }
    movement = moved(action, before, after)
    if movement is not None:
        event["moved"] = movement
    try:
        publisher.group_send(GROUP, event)
    except Exception:
        logger.warning("could not broadcast %s of %s", action, ticket_id, exc_info=True)


def broadcast_incident_change(
    sender: Any,
    incident_id: str,
    action: str,
    actor: Actor,
    ticket_id: str = "",
    left: str = "",
    **kwargs: Any,
) -> None:
    event = {
        "type": "incident.changed",
        "incident_id": incident_id,
        "action": action,
        "ticket_id": ticket_id,
        "actor": actor.name,
    }
    if left:  # a ticket that was on its own joined: the board counted it in this status
        event["left"] = left
    try:
        publisher.group_send(GROUP, event)
    except Exception:
        logger.warning("could not broadcast %s of %s", action, incident_id, exc_info=True)


def broadcast_ticket_folded(sender: Any, ticket_id: str, into: str, **kwargs: Any) -> None:
    """A ticket folded into another (`tickets.services.settle_fingerprint`, `settle_run`), told
    once the fold commits: the board drops its card (the other's comes with its `recurred`
    change, when the fold counted on it), its page says where it went."""
    event = {"type": "ticket.folded", "ticket_id": ticket_id, "into": into}

    def send() -> None:
        try:
            publisher.group_send(GROUP, event)
        except Exception:
            logger.warning("could not broadcast the fold of %s", ticket_id, exc_info=True)

    transaction.on_commit(send)
