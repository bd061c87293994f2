import os
import time

from celery import Celery
from celery.signals import task_postrun, task_prerun

from rca_project.observability import TASK_SECONDS, TASKS

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rca_project.settings")

app = Celery("rca_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

_started: dict[str, float] = {}


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
