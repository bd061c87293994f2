"""`{"url": "databricks://runs/<id>"}` reads a run's output with the service's own Databricks
token, which reads every run of the workspace: only a run a Databricks ticket records (the
failure that opened it, the latest one counted on it, a task's own run) is read, and the job
belongs to that ticket. The job is not run here: what is refused is refused before any job,
so before any call to Databricks."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from analysis.models import LogAnalysisJob
from tests.api import jwt_client, make_ticket, make_user
from tickets.models import Ticket

pytestmark = pytest.mark.django_db
BASE = "/api/v1/log-analyses/"
WORKSPACE = "1234567890123456"


@pytest.fixture(autouse=True)
def databricks(settings, tmp_path):
    settings.DATABRICKS_HOST = "https://adb-1234567890123456.7.azuredatabricks.net"
    settings.LOG_ANALYSIS_DIR = tmp_path / "log-analyses"


def databricks_ticket(run_id: str, task: str = "", **entity: str) -> Ticket:
    key = f"databricks:{WORKSPACE}:{run_id}" + (f":{task}" if task else "")
    resource = {"workspace_id": WORKSPACE, "job_id": "11", "job_name": "nightly", "run_id": run_id}
    if task:
        resource["task_key"] = task
    resource.update(entity)
    return make_ticket(
        source="databricks",
        processing_mode="databricks",
        pipeline="nightly",
        run_id=key,
        affected_entity=resource,
    )


def post(body: dict[str, str]):
    return jwt_client(make_user("viewer")).post(BASE, body, format="json")


def said(answer) -> str:
    return json.dumps(answer.json())


def test_a_run_no_ticket_records_is_refused_naming_why():
    databricks_ticket("7001")
    # An ADF or Airflow ticket's run id is no Databricks run, whatever its digits.
    make_ticket(source="airflow", affected_entity={"dag_id": "d", "run_id": "9001"})
    for run in ("9001", "424242"):
        answer = post({"url": f"databricks://runs/{run}"})
        assert answer.status_code == 400, answer.content
        assert f"no ticket records Databricks run {run}" in said(answer)
    assert not LogAnalysisJob.objects.exists()


def test_a_run_of_another_ticket_is_refused_when_a_ticket_is_named():
    mine = databricks_ticket("7001")
    databricks_ticket("8001")
    answer = post({"url": "databricks://runs/8001", "ticket_id": mine.pk})
    assert answer.status_code == 400, answer.content
    assert f"Databricks run 8001 is not a run of ticket {mine.pk}" in said(answer)
    assert not LogAnalysisJob.objects.exists()


def test_the_tickets_runs_are_read_and_the_job_belongs_to_the_ticket():
    ticket = databricks_ticket("7001", task="load", task_run_id="7003")
    for run in ("7001", "7003", "0007001"):  # the job run, the task's run, the same run
        answer = post({"url": f"databricks://runs/{run}"})
        assert answer.status_code == 202, answer.content
        body = answer.json()
        assert (body["source"], body["source_ref"]) == ("databricks", run.lstrip("0"))
        assert body["ticket_id"] == ticket.pk
    named = post({"url": "databricks://runs/7001", "ticket_id": ticket.pk})
    assert named.status_code == 202 and named.json()["ticket_id"] == ticket.pk


def test_the_latest_run_counted_on_a_ticket_is_read_as_the_code_records_it():
    """A later run failing the same way is one more occurrence: `latest_run` (the run a
    remediation repairs) names it, and it may be read as the ticket's first run may."""
    ticket = databricks_ticket("7001")
    resource = {"workspace_id": WORKSPACE, "job_id": "11", "job_name": "nightly"}
    Ticket.objects.record_recurrence(
        ticket.pk, timezone.now(), f"databricks:{WORKSPACE}:7501", {**resource, "run_id": 7501}
    )
    for run in ("7501", "7001"):
        answer = post({"url": f"databricks://runs/{run}", "ticket_id": ticket.pk})
        assert answer.status_code == 202, answer.content
        assert answer.json()["source_ref"] == run
    # and the ticket alone reads its latest run, as before
    alone = post({"ticket_id": ticket.pk})
    assert alone.status_code == 202
    assert (alone.json()["source"], alone.json()["source_ref"]) == ("databricks", "7501")


@pytest.mark.parametrize("run", ["abc", "٣", "1" * 20, ""])
def test_a_run_id_that_is_no_databricks_run_id_is_refused(run):
    databricks_ticket("7001")
    answer = post({"url": f"databricks://runs/{run}"})
    assert answer.status_code == 400
    assert "databricks://runs/<numeric run id>" in said(answer)
    assert not LogAnalysisJob.objects.exists()
