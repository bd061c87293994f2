"""Publishing many Celery tasks: one `send_task` round trip each (how the inbox relay and the
fan-out published before) against `rca_project.celery.publish_many` (one pipeline of Redis
commands), interleaved in one run, to a queue no worker reads.

    .venv/bin/python bench/publish.py [--tasks 3000] [--rounds 3]

Uses Redis database 12 (`--redis-db`), emptied.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import setup_django

TASK = "integrations.tasks.ping"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--redis-db", type=int, default=12)
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from rca_project import local_services

    redis_url = local_services.default_redis_url().rsplit("/", 1)[0] + f"/{args.redis_db}"
    setup_django(
        {
            "REDIS_URL": redis_url,
            "DJANGO_SETTINGS_MODULE": "rca_project.settings",
            "LOG_LEVEL": "WARNING",
            "CELERY_QUEUE": "bench-publish",
            # No database is used: a URL stops the settings from starting the embedded server.
            "DATABASE_URL": os.environ.get("DATABASE_URL", "postgresql://unused/none"),
        }
    )
    import redis

    from rca_project.celery import app, publish_many

    broker = redis.Redis.from_url(redis_url)
    broker.flushdb()
    queue = app.conf.task_default_queue
    tasks = [(TASK, (f"bench:{i}",), None) for i in range(args.tasks)]

    def one_by_one() -> None:
        with app.producer_or_acquire() as producer:
            for name, task_args, countdown in tasks:
                app.send_task(name, task_args, countdown=countdown, producer=producer)

    def batched() -> None:
        assert publish_many(tasks)

    seconds: dict[str, list[float]] = {"one by one": [], "publish_many": []}
    one_by_one()  # warm: connections, routes
    for _ in range(args.rounds):
        for label, publish in (("one by one", one_by_one), ("publish_many", batched)):
            broker.delete(queue)
            started = time.perf_counter()
            publish()
            seconds[label].append(time.perf_counter() - started)
            assert broker.llen(queue) == args.tasks, label
    broker.flushdb()

    per_task = {label: statistics.median(s) / args.tasks * 1000 for label, s in seconds.items()}
    print(f"tasks         {args.tasks} per round, {args.rounds} rounds, median round")
    for label, ms in per_task.items():
        print(f"{label:14s}{ms:.3f} ms a task ({1000 / ms:,.0f} tasks/s)")
    print(
        f"ratio         publish_many costs {per_task['publish_many'] / per_task['one by one']:.2f}"
    )


if __name__ == "__main__":
    main()
