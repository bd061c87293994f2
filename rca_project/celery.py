import contextlib
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from celery import Celery
from celery.signals import (
    task_postrun,
    task_prerun,
    worker_init,
    worker_process_shutdown,
    worker_shutdown,
)
from django.db import InterfaceError, OperationalError

from rca_project.observability import TASK_SECONDS, TASKS

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rca_project.settings")

app = Celery("rca_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

_started: dict[str, float] = {}

# The database could not be reached: what a task retries on and a webhook answers 503 to. Any
# other database error is a bug a retry would repeat; the task fails (beat's redelivery, bounded
# by attempts, tries again) and a webhook answers 500.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)

logger = logging.getLogger(__name__)


def publish_many(tasks: Sequence[tuple[str, tuple[Any, ...], float | None]]) -> bool:
    """Publish each (task name, arguments, countdown) over one broker connection, as one
    pipeline of Redis commands (kombu's publish batch) rather than a round trip each: 0.3 ms a
    task against 0.8-1.4 (bench/publish.py). Routed as `send_task` routes any task.

    True when the broker took them all. False when it failed: which of them reached it is then
    unknown, so a caller treats none as sent and relies on publishing twice being harmless."""
    try:
        with app.producer_or_acquire() as producer, producer.batch():
            for name, args, countdown in tasks:
                app.send_task(name, args, countdown=countdown, producer=producer)
    except Exception as exc:
        logger.warning(
            "broker unavailable (%s); %d tasks not published", type(exc).__name__, len(tasks)
        )
        return False
    return True


@worker_init.connect
def _yield_cpu_when_outbound(sender, **kwargs) -> None:
    """A worker that consumes only targets' queues (`<default queue>.<target>`: `make run`'s
    and compose's outbound workers) lowers its CPU priority to OUTBOUND_WORKER_NICE, before its
    pool starts a thread (threads inherit it from the thread that starts them). When a storm
    has the analysis and the fan-out on the same cores, the analysis goes first: the fan-out is
    mostly HTTP waits and is held to the targets' rate limits anyway, while every page waits
    for its RCA."""
    from django.conf import settings

    prefix = f"{settings.CELERY_TASK_DEFAULT_QUEUE}."
    consumed = list(sender.app.amqp.queues.consume_from or ())
    if consumed and all(name.startswith(prefix) for name in consumed):
        niceness = max(os.nice(0), settings.OUTBOUND_WORKER_NICE)
        # Linux's niceness is per thread: the threads already started (this one included).
        threads = Path("/proc/self/task")
        for tid in [int(t.name) for t in threads.iterdir()] if threads.is_dir() else [0]:
            with contextlib.suppress(ProcessLookupError):  # a thread that has just ended
                os.setpriority(os.PRIO_PROCESS, tid, niceness)


@task_prerun.connect
def _task_started(task_id: str, task, **kwargs) -> None:
    _started[task_id] = time.perf_counter()
    _close_unusable_connections(task)


def _close_unusable_connections(task) -> None:
    """A worker keeps its database connections across tasks, as a web process keeps them across
    requests: Celery's Django fix-up would close them around every task (CELERY_DB_REUSE_MAX in
    settings stops that), which cost a new PostgreSQL session, 4-5 ms of CPU on each side,
    per task. Here, before and after each task, Django's own rule applies: a connection that
    errored and fails its health check, or is older than CONN_MAX_AGE, is closed."""
    from django.db import close_old_connections

    if not getattr(task.request, "is_eager", False):
        close_old_connections()


@task_postrun.connect
def _task_finished(task_id: str, task, state: str | None = None, **kwargs) -> None:
    _close_unusable_connections(task)
    TASKS.labels(task.name, (state or "unknown").lower()).inc()
    started = _started.pop(task_id, None)
    if started is not None:
        TASK_SECONDS.labels(task.name).observe(time.perf_counter() - started)


@worker_process_shutdown.connect
@worker_shutdown.connect
def _send_queued_live_events(**kwargs) -> None:
    """Live events are sent by a thread in batches (tickets/broadcast.py); a worker process that
    ends sends what it queued in its last moments first."""
    from tickets.broadcast import publisher

    publisher.flush()
