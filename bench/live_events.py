"""Cost of one live "ticket changed" event, published from sync code as requests and tasks do.

Compares, in one process against the real Redis (a key prefix of its own), the per-call way
(`async_to_sync(layer.group_send)`: a thread, an event loop and a Redis connection per event),
`tickets.broadcast.publisher` made to send each event before the next (one loop and connection
for the life of the process, as it was before it batched) and the publisher as it is (events
queued, sent in batches), for a group nobody is in and for a group with one member (one
connected dashboard). CPU counts every thread of the process, the sender's included.

    .venv/bin/python bench/live_events.py [events] [seconds between events]
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

from tickets.broadcast import GROUP, LiveEventPublisher, publisher  # noqa: E402


def measure(label: str, send: Callable[[dict], None], events: int, pace: float) -> None:
    send({"type": "ticket.changed", "ticket_id": "warm-up", "action": "created"})
    walls = []
    cpu_start = time.process_time()
    for n in range(events):
        started = time.perf_counter()
        send({"type": "ticket.changed", "ticket_id": f"T-{n}", "action": "created"})
        walls.append(time.perf_counter() - started)
        if pace:
            time.sleep(pace)
    publisher.flush()  # the batched publisher's sends are part of its cost
    cpu = time.process_time() - cpu_start
    walls.sort()
    print(
        f"  {label:<34} CPU {cpu / events * 1000:6.2f} ms/event   caller waits median "
        f"{statistics.median(walls) * 1000:6.3f} ms, p95 {walls[int(events * 0.95)] * 1000:6.3f}"
        f" ms"
    )


def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    # One event every `pace` seconds (300 a second by default, an ingest storm's rate); 0: as
    # fast as the caller can.
    pace = float(sys.argv[2]) if len(sys.argv) > 2 else 1 / 300
    layer = get_channel_layer()
    assert layer is not None

    def per_call(message: dict) -> None:
        async_to_sync(layer.group_send)(GROUP, message)

    def batched(message: dict) -> None:
        publisher.group_send(GROUP, message)

    unbatched = LiveEventPublisher(linger_seconds=0)

    def one_by_one(message: dict) -> None:
        unbatched.group_send(GROUP, message)
        unbatched.flush()

    print(
        f"{events} events each, one every {pace * 1000:.1f} ms, CPU of this process (all threads)"
    )
    print("group with no member")
    measure("async_to_sync per event (first)", per_call, events, pace)
    measure("publisher, sent one by one", one_by_one, events, pace)
    measure("publisher, batched (now)", batched, events, pace)
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(GROUP, channel)
    try:
        print("group with one member")
        measure("async_to_sync per event (first)", per_call, events, pace)
        measure("publisher, sent one by one", one_by_one, events, pace)
        measure("publisher, batched (now)", batched, events, pace)
    finally:
        async_to_sync(layer.group_discard)(GROUP, channel)
        async_to_sync(layer.flush)()


if __name__ == "__main__":
    main()
