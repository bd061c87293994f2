"""A job that runs another job (a Run Job task, `run_job_task`) fails when the job run it
triggered fails: that task's runs/get-output holds no error, only `run_job_output.run_id`, the
triggered run, whose failed task's output holds the error. The real databricks-sdk against the
local Databricks API; the end-to-end case with a real Celery worker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from analysis import tasks
from analysis.enrichment import DatabricksConfig, enrich_databricks_run
from analysis.enrichment_service import REFETCH
from tests.analysis.test_enrichment_incidents import SQL_DOWN, WORKSPACE, processed
from tests.conftest import wait_for
from tests.fakes.databricks_api import FakeDatabricks, job_run, task
from tests.tickets.test_incidents import post
from tickets.models import Ticket

PARENT_JOB, CHILD_JOB = 5100, 5200
PARENT_STATE = "Run failed with error message\n Run of job 5200 failed."


@pytest.fixture
def fake() -> Iterator[FakeDatabricks]:
    with FakeDatabricks() as server:
        yield server


def run_job_task(task_key: str, run_id: int, state_message: str) -> dict[str, Any]:
    """A `tasks[]` entry of a Run Job task that failed: it names the job it runs, no cluster."""
    entry = task(task_key, run_id, "FAILED", state_message)
    del entry["notebook_task"], entry["existing_cluster_id"]
    entry["run_job_task"] = {"job_id": CHILD_JOB}
    return entry


def parent_failing_on(fake: FakeDatabricks, run_id: int, child_run_id: int, error: str) -> None:
    """Job run `run_id` whose task `run_child` triggered job run `child_run_id`, which failed
    in its task `load` with `error`."""
    fake.add_run(
        job_run(
            run_id,
            [task("prepare", run_id + 1), run_job_task("run_child", run_id + 2, PARENT_STATE)],
            job_id=PARENT_JOB,
        )
    )
    fake.outputs[run_id + 2] = {"run_job_output": {"run_id": child_run_id}}
    fake.add_run(
        job_run(
            child_run_id,
            [task("load", child_run_id + 1, "FAILED", "Workload failed, see run output")],
            job_id=CHILD_JOB,
            run_name="orders_child",
        )
    )
    fake.outputs[child_run_id + 1] = {"error": error, "error_trace": f"Traceback …\n{error}"}


def test_a_run_job_tasks_error_is_the_error_of_the_run_it_triggered(fake) -> None:
    parent_failing_on(fake, 8100, 8200, SQL_DOWN)

    found = enrich_databricks_run(DatabricksConfig(fake.url, fake.token, 5), "8100")

    assert found.details["task_key"] == "run_child"
    assert found.details["error"] == SQL_DOWN
    assert SQL_DOWN in found.error_message
    assert found.details["failed_tasks"][0]["triggered_run"] == {
        "run_id": 8200,
        "job_id": CHILD_JOB,
        "run_page_url": fake.runs[8200]["run_page_url"],
        "task_key": "load",
        "result_state": "FAILED",
    }


def test_a_triggered_run_that_cannot_be_read_leaves_the_tasks_own_state(fake) -> None:
    parent_failing_on(fake, 8300, 8400, SQL_DOWN)
    del fake.runs[8400]  # deleted since, or of a job the token may not view

    found = enrich_databricks_run(DatabricksConfig(fake.url, fake.token, 5), "8300")

    assert found.details["error"] == ""
    assert "Run 8400 does not exist" in found.details["output_error"]
    assert found.error_message.startswith(f"Databricks task 'run_child' FAILED: {PARENT_STATE}")


@pytest.mark.django_db(transaction=True)
def test_a_job_failing_in_the_job_it_runs_is_ticketed_with_that_jobs_error(
    celery_worker, settings, fake
) -> None:
    settings.DATABRICKS_HOST, settings.DATABRICKS_TOKEN = fake.url, fake.token
    settings.ENRICHMENT_TIMEOUT_SECONDS = 5
    parent_failing_on(fake, 8500, 8600, SQL_DOWN)

    answer = post(
        {
            "event_type": "jobs.on_failure",
            "workspace_id": WORKSPACE,
            "run": {"run_id": "8500"},
            "job": {"job_id": str(PARENT_JOB), "name": "orders_orchestrator"},
        },
        "/webhooks/databricks/",
    )
    ticket = processed(answer["ticket_id"])

    assert SQL_DOWN in ticket.error_message
    assert ticket.culprit == "sql-server:sql-prod-01.database.windows.net"
    assert ticket.error_type == "DatabaseError"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "unread", ["the triggered run", "the triggered run's task output", "the run job task's output"]
)
def test_a_part_of_the_run_the_api_failed_to_give_is_read_again_once_it_answers(
    celery_worker, settings, fake, unread
) -> None:
    """runs/get of the job run answered, but a read its error needs (the Run Job task's
    output, the run it triggered, that run's failed task's output) met the API failing (5xx):
    the ticket is read again later, as one whose runs/get failed so, and gets the error."""
    settings.DATABRICKS_HOST, settings.DATABRICKS_TOKEN = fake.url, fake.token
    settings.DATABRICKS_WORKSPACE_ID = WORKSPACE
    settings.ENRICHMENT_TIMEOUT_SECONDS = 1
    settings.DATABRICKS_REFETCH_DELAY_SECONDS = 0
    settings.GEMINI_API_KEY = ""
    parent_failing_on(fake, 8700, 8800, SQL_DOWN)
    path, run_id = {
        "the triggered run": ("/jobs/runs/get", "8800"),
        "the triggered run's task output": ("/jobs/runs/get-output", "8801"),
        "the run job task's output": ("/jobs/runs/get-output", "8702"),
    }[unread]
    body = fake.error_body(503, "temporarily unavailable")
    fake.fail(503, body, times=None, path_contains=path, query={"run_id": run_id})

    answer = post(
        {
            "event_type": "jobs.on_failure",
            "workspace_id": WORKSPACE,
            "run": {"run_id": "8700"},
            "job": {"job_id": str(PARENT_JOB), "name": "orders_orchestrator"},
        },
        "/webhooks/databricks/",
    )
    ticket = processed(answer["ticket_id"])
    assert SQL_DOWN not in ticket.error_message
    assert ticket.details[REFETCH]["tries"] == 1
    assert "503" in ticket.details[REFETCH]["reason"]

    fake.clear_faults()
    assert tasks.refetch_databricks_errors() == 1

    ticket = wait_for(
        lambda: (
            (t := Ticket.objects.get(pk=answer["ticket_id"])).error_type == "DatabaseError" and t
        ),
        30,
    )
    assert SQL_DOWN in ticket.error_message
    assert ticket.details[REFETCH] is None
    assert ticket.details["failed_tasks"][0]["triggered_run"]["run_id"] == 8800
    assert "output_error" not in ticket.details


@pytest.mark.django_db(transaction=True)
def test_without_re_reads_a_run_job_task_whose_run_the_api_failed_to_give_keeps_its_state(
    celery_worker, settings, fake
) -> None:
    settings.DATABRICKS_HOST, settings.DATABRICKS_TOKEN = fake.url, fake.token
    settings.DATABRICKS_WORKSPACE_ID = WORKSPACE
    settings.ENRICHMENT_TIMEOUT_SECONDS = 1
    settings.DATABRICKS_REFETCH_TRIES = 0
    settings.GEMINI_API_KEY = ""
    parent_failing_on(fake, 8900, 9000, SQL_DOWN)
    body = fake.error_body(503, "temporarily unavailable")
    fake.fail(503, body, times=None, path_contains="/jobs/runs/get", query={"run_id": "9000"})

    answer = post(
        {
            "event_type": "jobs.on_failure",
            "workspace_id": WORKSPACE,
            "run": {"run_id": "8900"},
            "job": {"job_id": str(PARENT_JOB), "name": "orders_orchestrator"},
        },
        "/webhooks/databricks/",
    )
    ticket = processed(answer["ticket_id"])

    assert ticket.error_message.startswith(f"Databricks task 'run_child' FAILED: {PARENT_STATE}")
    assert REFETCH not in ticket.details
    assert ticket.details["output_error"]
