"""The inbox relay: hands accepted deliveries to the task queue, off the webhook's request path.

A webhook request commits its inbox row (status `pending`, `queued_at` empty) with the ticket
decision and answers; it publishes nothing. The relay, a long-running loop of its own
(`manage.py relay_inbox`, which `make run` and docker-compose.yml start), claims such rows in
batches and publishes one `process_delivery` task for each:

- Claiming is one statement, `UPDATE … SET queued_at = now() WHERE id IN (SELECT … FOR UPDATE
  SKIP LOCKED)`: several relays may run, and each row goes to one of them.
- A row is marked queued before its task is published, and put back (`queued_at` emptied) when
  the broker refuses it, so a broker outage only delays it: the relay tries again with backoff.
  Should the relay die between the two, beat's redelivery finds the row still pending
  (`processing.redeliver_unfinished`), as it finds any delivery whose task was lost. A task
  published twice is harmless: processing is idempotent.
- It sleeps on PostgreSQL's LISTEN: the inbox INSERT of a pending row notifies `rca_inbox`
  (a trigger, delivered when the webhook's transaction commits), so a delivery is usually on the
  queue within milliseconds of its 202. It also looks every `INBOX_RELAY_POLL_SECONDS`
  without a notification, which covers one missed while it was reconnecting.
- Given a heartbeat file, it touches it after each claim that the broker took (at most every
  few seconds): compose's health check reads the file's age, so a relay stuck or failing on
  the database or the broker shows as unhealthy.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psycopg
from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from integrations.models import DeliveryStatus, WebhookDelivery
from rca_project.celery import publish_many

logger = logging.getLogger(__name__)

CHANNEL = "rca_inbox"
HEARTBEAT_EVERY_SECONDS = 5.0

# Publishes tasks for `ids` in order; returns how many are known to have reached the broker.
Publisher = Callable[[Sequence[int]], int]


def publish_tasks(ids: Sequence[int]) -> int:
    """One `process_delivery` task per id, in one batch: all of them, or none when the broker
    failed (those it may have taken are relayed again, and processing twice is harmless)."""
    from integrations.tasks import process_delivery

    if publish_many([(process_delivery.name, (delivery_id,), None) for delivery_id in ids]):
        return len(ids)
    logger.warning("%d deliveries wait in the inbox", len(ids))
    return 0


def claim(limit: int) -> list[int]:
    """Mark up to `limit` unqueued pending deliveries queued; their ids, oldest first."""
    table = WebhookDelivery._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET queued_at = %s WHERE id IN ("
            f" SELECT id FROM {table} WHERE status = %s AND queued_at IS NULL"
            "  ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED)"
            " RETURNING id",
            [timezone.now(), DeliveryStatus.PENDING, limit],
        )
        return sorted(row[0] for row in cursor.fetchall())


def relay_once(publish: Publisher = publish_tasks, limit: int | None = None) -> tuple[int, bool]:
    """Move one batch from the inbox to the queue: (how many were published, whether the broker
    took all of them)."""
    ids = claim(limit or settings.INBOX_RELAY_BATCH)
    if not ids:
        return 0, True
    published = publish(ids)
    if published < len(ids):
        WebhookDelivery.objects.release(ids[published:])
        return published, False
    return published, True


STOP_CHECK_SECONDS = 0.5


class InboxRelay:
    """The relay's loop; `run()` until `stop()` (from a signal handler or another thread)."""

    def __init__(
        self,
        publish: Publisher = publish_tasks,
        *,
        poll_seconds: float | None = None,
        linger_seconds: float | None = None,
        max_backoff_seconds: float = 10.0,
        heartbeat_path: Path | None = None,
    ) -> None:
        self.publish = publish
        self.poll_seconds = (
            settings.INBOX_RELAY_POLL_SECONDS if poll_seconds is None else poll_seconds
        )
        self.linger_seconds = (
            settings.INBOX_RELAY_LINGER_SECONDS if linger_seconds is None else linger_seconds
        )
        self.max_backoff_seconds = max_backoff_seconds
        self.heartbeat_path = heartbeat_path
        self._last_heartbeat = float("-inf")
        self.relayed = 0
        self._stopping = threading.Event()
        self._listener: psycopg.Connection[Any] | None = None
        self._thread: threading.Thread | None = None

    def start_thread(self) -> InboxRelay:
        """Run on a daemon thread of this process (the test suite's worker fixture does)."""
        self._thread = threading.Thread(target=self.run, name="inbox-relay", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the loop to end; when it runs on its own thread, wait for that thread."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        backoff = 0.5
        try:
            while not self._stopping.is_set():
                try:
                    self._listen()
                    moved, complete = relay_once(self.publish)
                    self.relayed += moved
                    if not complete:  # the broker refused: wait before trying again
                        self._stopping.wait(backoff)
                        backoff = min(backoff * 2, self.max_backoff_seconds)
                        continue
                    backoff = 0.5
                    self._beat()
                    if moved < settings.INBOX_RELAY_BATCH:
                        self._wait_for_work()
                except (DatabaseError, psycopg.Error, OSError):
                    logger.warning("inbox relay: database unavailable; retrying", exc_info=True)
                    self._disconnect()
                    self._stopping.wait(backoff)
                    backoff = min(backoff * 2, self.max_backoff_seconds)
        finally:
            self._disconnect()

    def _beat(self) -> None:
        now = time.monotonic()
        if self.heartbeat_path is None or now - self._last_heartbeat < HEARTBEAT_EVERY_SECONDS:
            return
        self.heartbeat_path.touch()
        self._last_heartbeat = now

    def _listen(self) -> None:
        if self._listener is not None and not self._listener.closed:
            return
        params = dict(connection.get_connection_params())
        for django_only in ("cursor_factory", "context", "prepare_threshold"):
            params.pop(django_only, None)
        self._listener = psycopg.connect(**params, autocommit=True)
        self._listener.execute(f"LISTEN {CHANNEL}")

    def _wait_for_work(self) -> None:
        """Until a pending delivery is committed (or the poll interval passes). After a wake-up,
        a short linger lets the deliveries of a burst arrive, so they go out as one batch."""
        assert self._listener is not None
        deadline = time.monotonic() + self.poll_seconds
        woken = False
        while not woken and not self._stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            # In slices, so that `stop()` (a signal handler's) is heeded within one.
            slice_seconds = min(left, STOP_CHECK_SECONDS)
            woken = any(True for _ in self._listener.notifies(timeout=slice_seconds, stop_after=1))
        if woken and self.linger_seconds:
            time.sleep(self.linger_seconds)
        # Notifications already received are covered by the claim that follows.
        for _ in self._listener.notifies(timeout=0):
            pass

    def _disconnect(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(psycopg.Error):
                self._listener.close()
            self._listener = None
        connection.close()
