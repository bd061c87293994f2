"""`{"url": "databricks://runs/<id>"}` reads a run's output with the service's own Databricks
token, which reads every run of the workspace: only a run a Databricks ticket records (the
failure that opened it, the latest one counted on it, a task's own run) is read, and the job
belongs to that ticket. A run id is unique within a workspace only: a run a ticket records for
another workspace than DATABRICKS_HOST's is not read. The job is not run here: what is refused
is refused before any job, so before any call to Databricks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

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


def databricks_ticket(
    run_id: str, task: str = "", workspace: str = WORKSPACE, last_seen: Any = None, **entity: str
) -> Ticket:
    key = f"databricks:{workspace}:{run_id}" + (f":{task}" if task else "")
    resource = {"workspace_id": workspace, "job_id": "11", "job_name": "nightly", "run_id": run_id}
    if task:
        resource["task_key"] = task
    resource.update(entity)
    return make_ticket(
        source="databricks",
        processing_mode="databricks",
        pipeline="nightly",
        run_id=key,
        affected_entity=resource,
        **({"last_seen": last_seen} if last_seen else {}),
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


OTHER_WORKSPACE = "9876543210987654"


def _run_7001_refused(ticket: Ticket) -> Iterator[str]:
    """What is said refusing run 7001 (a 400), asked for by its URL alone and with `ticket`."""
    for body in (
        {"url": "databricks://runs/7001"},
        {"url": "databricks://runs/7001", "ticket_id": ticket.pk},
    ):
        answer = post(body)
        assert answer.status_code == 400, answer.content
        yield said(answer)


@pytest.mark.parametrize(
    "host",
    [
        "https://adb-1234567890123456.7.azuredatabricks.net",
        "adb-1234567890123456.7.azuredatabricks.net",  # no scheme: the SDK reads it as https
    ],
)
def test_a_run_a_ticket_records_for_another_workspace_is_refused_naming_both(settings, host):
    """The service reads runs of DATABRICKS_HOST's workspace (its id in the Azure host name):
    run 7001 of another workspace is not the run 7001 it would read."""
    settings.DATABRICKS_HOST = host
    foreign = databricks_ticket("7001", workspace=OTHER_WORKSPACE)
    for refusal in _run_7001_refused(foreign):
        assert f"Databricks run 7001 is a run of workspace {OTHER_WORKSPACE}" in refusal
        assert f"DATABRICKS_HOST reads ({WORKSPACE})" in refusal
    # The ticket alone reads no run of another workspace: its own error text instead.
    alone = post({"ticket_id": foreign.pk})
    assert alone.status_code == 202
    assert alone.json()["source"] == "ticket"
    assert list(LogAnalysisJob.objects.values_list("source", flat=True)) == ["ticket"]


def test_a_run_whose_run_page_names_another_workspace_is_refused_naming_both():
    """Its notification named this workspace, its run page another (kept by the parser as
    `run_page_workspace_id`): run 7001 may be the other workspace's."""
    unclear = databricks_ticket("7001", run_page_workspace_id=OTHER_WORKSPACE)
    for refusal in _run_7001_refused(unclear):
        assert (
            f"the notification named Databricks workspace {WORKSPACE} but its run page "
            f"(run_page_url) is of workspace {OTHER_WORKSPACE}"
        ) in refusal
    alone = post({"ticket_id": unclear.pk})
    assert alone.status_code == 202
    assert alone.json()["source"] == "ticket"


def test_of_two_tickets_recording_the_same_run_id_the_one_of_this_workspace_is_read():
    ours = databricks_ticket("7001")
    databricks_ticket(
        "7001", workspace=OTHER_WORKSPACE, last_seen=timezone.now() + timedelta(hours=1)
    )
    answer = post({"url": "databricks://runs/7001"})
    assert answer.status_code == 202, answer.content
    assert answer.json()["ticket_id"] == ours.pk


def test_the_workspace_is_compared_only_where_both_ids_are_known(settings):
    unnamed = databricks_ticket("7001", workspace="unknown")  # the notification named none
    answer = post({"url": "databricks://runs/7001"})
    assert answer.status_code == 202 and answer.json()["ticket_id"] == unnamed.pk
    foreign = databricks_ticket("8001", workspace=OTHER_WORKSPACE)
    # Another cloud's host names no workspace id: nothing to compare without the setting ...
    settings.DATABRICKS_HOST = "https://dbc-a1b2c3d4-e5f6.cloud.databricks.com"
    settings.DATABRICKS_WORKSPACE_ID = ""
    answer = post({"url": "databricks://runs/8001"})
    assert answer.status_code == 202 and answer.json()["ticket_id"] == foreign.pk
    # ... which says which workspace the host is, on any cloud.
    settings.DATABRICKS_WORKSPACE_ID = WORKSPACE
    answer = post({"url": "databricks://runs/8001"})
    assert answer.status_code == 400
    assert f"is a run of workspace {OTHER_WORKSPACE}" in said(answer)
    settings.DATABRICKS_WORKSPACE_ID = OTHER_WORKSPACE
    assert post({"url": "databricks://runs/8001"}).status_code == 202
