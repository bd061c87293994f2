"""Cost of one live "ticket changed" event, published from sync code as requests and tasks do.

Compares, in one process against the real Redis (a key prefix of its own), the per-call way
(`async_to_sync(layer.group_send)`: a thread, an event loop and a Redis connection per event)
with `tickets.broadcast.publisher` (one loop and connection for the life of the process), for
a group nobody is in and for a group with one member (one connected dashboard).

    .venv/bin/python bench/live_events.py [events]
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rca_project.settings")
os.environ["REDIS_KEY_PREFIX"] = "bench-live-events"
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from asgiref.sync import async_to_sync  # noqa: E402
from channels.layers import get_channel_layer  # noqa: E402

from tickets.broadcast import GROUP, publisher  # noqa: E402


def measure(label: str, send: Callable[[dict], None], events: int) -> None:
    send({"type": "ticket.changed", "ticket_id": "warm-up", "action": "created"})
    walls = []
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    for n in range(events):
        started = time.perf_counter()
        send({"type": "ticket.changed", "ticket_id": f"T-{n}", "action": "created"})
        walls.append(time.perf_counter() - started)
    cpu, wall = time.process_time() - cpu_start, time.perf_counter() - wall_start
    walls.sort()
    print(
        f"  {label:<34} CPU {cpu / events * 1000:6.2f} ms/event   wall median "
        f"{statistics.median(walls) * 1000:6.2f} ms, p95 {walls[int(events * 0.95)] * 1000:6.2f}"
        f" ms   {events / wall:5.0f} events/s"
    )


def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    layer = get_channel_layer()
    assert layer is not None

    def per_call(message: dict) -> None:
        async_to_sync(layer.group_send)(GROUP, message)

    def long_lived(message: dict) -> None:
        publisher.group_send(GROUP, message)

    print(f"{events} events each, CPU of this process (both threads)")
    print("group with no member")
    measure("async_to_sync per event (before)", per_call, events)
    measure("long-lived publisher (now)", long_lived, events)
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(GROUP, channel)
    try:
        print("group with one member")
        measure("async_to_sync per event (before)", per_call, events)
        measure("long-lived publisher (now)", long_lived, events)
    finally:
        async_to_sync(layer.group_discard)(GROUP, channel)
        async_to_sync(layer.flush)()


if __name__ == "__main__":
    main()
