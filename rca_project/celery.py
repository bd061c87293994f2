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
def _task_started(task_id: str, **kwargs) -> None:
    _started[task_id] = time.perf_counter()


@task_postrun.connect
def _task_finished(task_id: str, task, state: str | None = None, **kwargs) -> None:
    TASKS.labels(task.name, (state or "unknown").lower()).inc()
    started = _started.pop(task_id, None)
    if started is not None:
        TASK_SECONDS.labels(task.name).observe(time.perf_counter() - started)
