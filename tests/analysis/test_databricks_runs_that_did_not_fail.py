"""Databricks sends a job's `jobs.on_failure` for a run a user cancelled and for a run it
skipped (the job's maximum concurrent runs reached, its queue full, the job disabled) unless
the job mutes them, and the notification does not say which: the run read for its error does.
A real Celery worker and inbox relay, the real databricks-sdk, jira and slack-sdk clients
against the local servers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient

from integrations.models import (
    DeliveryStatus,
    OutboundDelivery,
    OutboundStatus,
    RemediationPolicy,
    WebhookDelivery,
)
from tests.analysis.test_enrichment_incidents import processed
from tests.conftest import wait_for
from tests.fakes.databricks_api import FakeDatabricks, job_run, task
from tests.integrations import test_incident_paging
from tests.integrations.test_incident_paging import settled
from tests.tickets.test_incidents import post
from tickets.models import AuditLog, Status

pytestmark = pytest.mark.django_db(transaction=True)

targets = test_incident_paging.targets  # the local JIRA and Slack servers (a fixture)

WORKSPACE = "1234567890123456"
JOB_ID = 4455


@pytest.fixture
def databricks(settings) -> Iterator[FakeDatabricks]:
    with FakeDatabricks() as fake:
        settings.DATABRICKS_HOST, settings.DATABRICKS_TOKEN = fake.url, fake.token
        settings.ENRICHMENT_TIMEOUT_SECONDS = 5
        yield fake


def notification(run_id: int) -> dict[str, Any]:
    return {
        "event_type": "jobs.on_failure",
        "workspace_id": WORKSPACE,
        "run": {"run_id": str(run_id)},
        "job": {"job_id": str(JOB_ID), "name": "hourly_orders_load"},
    }


def ended_run(run_id: int, result_state: str, code: str, message: str) -> dict[str, Any]:
    """A run of the job whose tasks and run ended `result_state` with termination `code`."""
    run = job_run(
        run_id=run_id,
        job_id=JOB_ID,
        tasks=[task("load", run_id + 1, result_state, message)],
        result_state=result_state,
        state_message=message,
    )
    run["status"]["termination_details"]["code"] = code
    return run


def cancelled_by_a_user(fake: FakeDatabricks, run_id: int) -> dict[str, Any]:
    fake.add_run(ended_run(run_id, "CANCELED", "USER_CANCELED", "Run cancelled."))
    fake.outputs[run_id + 1] = {"logs": "cancelled\n"}
    return notification(run_id)


def paged_nothing(ticket_id: str, jira: Any, slack: Any) -> bool:
    """No JIRA issue nor Slack message: its pages were recorded skipped, or never made."""
    pages = OutboundDelivery.objects.filter(ticket_id=ticket_id, target__in=("jira", "slack"))
    return (
        not pages.exclude(status=OutboundStatus.SKIPPED).exists()
        and jira.issues == {}
        and slack.api_requests("chat.postMessage") == []
    )


def test_a_run_a_user_cancelled_is_over_at_its_source_and_pages_nobody(
    celery_worker, targets, databricks
):
    jira, slack = targets
    RemediationPolicy.objects.update(enabled=False)

    first = post(cancelled_by_a_user(databricks, 7001), "/webhooks/databricks/")
    ticket = processed(first["ticket_id"])
    # The job's next run, cancelled too: no regression of the first (nor a page).
    second = post(cancelled_by_a_user(databricks, 7101), "/webhooks/databricks/")
    again = processed(second["ticket_id"])
    settled()

    for each in (ticket, again):
        assert each.status == Status.RESOLVED
        assert each.resolved_at_source_at is not None
        audit = AuditLog.objects.get(ticket_id=each.pk, action="resolved at source")
        assert audit.details["why"] == "a user cancelled the run"
    assert (first["outcome"], second["outcome"]) == ("created", "created")
    assert ticket.pk != again.pk
    assert not AuditLog.objects.filter(ticket_id=ticket.pk, action="regressed").exists()
    assert paged_nothing(ticket.pk, jira, slack) and paged_nothing(again.pk, jira, slack)


def test_a_run_skipped_at_the_jobs_maximum_concurrent_runs_pages_nobody(
    celery_worker, targets, databricks
):
    jira, slack = targets
    RemediationPolicy.objects.update(enabled=False)
    run = job_run(run_id=7201, job_id=JOB_ID, tasks=[], result_state="SUCCESS")
    run["state"] = {
        "life_cycle_state": "SKIPPED",
        "result_state": "MAXIMUM_CONCURRENT_RUNS_REACHED",
        "state_message": "Skipping this run: the job already has 1 active run (the maximum).",
    }
    run["status"] = {
        "state": "TERMINATED",
        "termination_details": {
            "code": "MAX_CONCURRENT_RUNS_EXCEEDED",
            "type": "CLIENT_ERROR",
            "message": run["state"]["state_message"],
        },
    }
    databricks.add_run(run)

    answer = post(notification(7201), "/webhooks/databricks/")
    ticket = processed(answer["ticket_id"])
    settled()

    assert (ticket.status, ticket.resolved_at_source_at is not None) == (Status.RESOLVED, True)
    audit = AuditLog.objects.get(ticket_id=ticket.pk, action="resolved at source")
    assert "maximum concurrent runs" in audit.details["why"]
    assert paged_nothing(ticket.pk, jira, slack)


@pytest.mark.parametrize(
    ("run_id", "result_state", "code", "message", "why"),
    [
        (
            7211,
            None,
            "MAX_JOB_QUEUE_SIZE_EXCEEDED",
            "Skipping this run: the job's queue is full.",
            "the run was skipped: the job's queue was full",
        ),
        (
            7231,
            None,
            "DISABLED",
            "Skipping this run: the job is disabled.",
            "the run was skipped: the job is disabled",
        ),
        (
            7221,
            "DISABLED",
            "DISABLED",
            "Skipping this run: the job is disabled.",
            "the run was skipped: the job is disabled",
        ),
    ],
)
def test_a_run_skipped_as_its_jobs_queue_was_full_or_the_job_disabled_pages_nobody(
    celery_worker, targets, databricks, run_id, result_state, code, message, why
):
    """Never executed, as a run skipped at the job's maximum concurrent runs: no failure."""
    jira, slack = targets
    RemediationPolicy.objects.update(enabled=False)
    run = job_run(run_id=run_id, job_id=JOB_ID, tasks=[], result_state="SUCCESS")
    run["state"] = {"life_cycle_state": "SKIPPED", "state_message": message}
    if result_state:
        run["state"]["result_state"] = result_state
    run["status"] = {
        "state": "TERMINATED",
        "termination_details": {"code": code, "type": "CLIENT_ERROR", "message": message},
    }
    databricks.add_run(run)

    ticket = processed(post(notification(run_id), "/webhooks/databricks/")["ticket_id"])
    settled()

    assert (ticket.status, ticket.resolved_at_source_at is not None) == (Status.RESOLVED, True)
    audit = AuditLog.objects.get(ticket_id=ticket.pk, action="resolved at source")
    assert audit.details["why"] == why
    assert paged_nothing(ticket.pk, jira, slack)


def test_a_run_that_timed_out_or_the_platform_cancelled_still_pages(
    celery_worker, targets, databricks
):
    """A timeout (TIMEDOUT), and a run Databricks cancelled at its maximum duration (`CANCELED`,
    not `USER_CANCELED`), are failures."""
    jira, _slack = targets
    RemediationPolicy.objects.update(enabled=False)
    databricks.add_run(ended_run(7301, "TIMEDOUT", "RUN_EXECUTION_ERROR", "Timed out."))
    databricks.add_run(ended_run(7401, "CANCELED", "CANCELED", "Run exceeded its maximum."))

    tickets = [
        processed(post(notification(run_id), "/webhooks/databricks/")["ticket_id"])
        for run_id in (7301, 7401)
    ]
    settled()

    for ticket in tickets:
        ticket.refresh_from_db()
        assert ticket.status == Status.OPEN
        assert ticket.resolved_at_source_at is None
        assert ticket.itsm_ticket_id in jira.issues


def task_notification(run_id: int, task_run_id: int, task_key: str = "load") -> dict[str, Any]:
    """A task's `jobs.on_failure`: the task's own run, and its job's run as its parent."""
    return {
        **notification(run_id),
        "task": {"task_key": task_key},
        "run": {"run_id": str(task_run_id), "parent_run_id": str(run_id)},
    }


def regression_processed(answer: dict[str, Any]) -> None:
    assert answer["outcome"] == "regressed"
    wait_for(
        lambda: WebhookDelivery.objects.filter(
            tracking_id=answer["tracking_id"], status=DeliveryStatus.PROCESSED
        ).exists(),
        30,
    )
    settled()


def test_a_tasks_notification_of_the_cancelled_run_arriving_late_pages_nobody(
    celery_worker, targets, databricks
):
    """The task's notification lands on the run's ticket, ended as cancelled, and reopens it
    at ingest (which reads nothing); the run read again ends it before the reopening pages."""
    jira, slack = targets
    RemediationPolicy.objects.update(enabled=False)
    first = post(cancelled_by_a_user(databricks, 7501), "/webhooks/databricks/")
    ticket = processed(first["ticket_id"])
    assert ticket.resolved_at_source_at is not None

    late = post(task_notification(7501, 7502), "/webhooks/databricks/")
    assert late["ticket_id"] == ticket.pk
    regression_processed(late)

    ticket.refresh_from_db()
    assert (ticket.status, ticket.resolved_at_source_at is not None) == (Status.RESOLVED, True)
    ends = AuditLog.objects.filter(ticket_id=ticket.pk, action="resolved at source")
    assert [entry.details["why"] for entry in ends] == ["a user cancelled the run"] * 2
    assert paged_nothing(ticket.pk, jira, slack)


def test_a_repair_of_the_cancelled_run_that_failed_still_pages(celery_worker, targets, databricks):
    """Repaired after it was cancelled, the run failed: its task's notification is a failure."""
    jira, _slack = targets
    RemediationPolicy.objects.update(enabled=False)
    first = post(cancelled_by_a_user(databricks, 7601), "/webhooks/databricks/")
    ticket = processed(first["ticket_id"])
    client = WorkspaceClient(host=databricks.url, token=databricks.token, auth_type="pat")
    client.jobs.repair_run(7601, rerun_tasks=["load"])
    databricks.finish_repair(7601, "FAILED", "Spark driver died")

    regression_processed(post(task_notification(7601, 7603), "/webhooks/databricks/"))

    ticket.refresh_from_db()
    assert (ticket.status, ticket.resolved_at_source_at) == (Status.OPEN, None)
    assert ticket.itsm_ticket_id in jira.issues


def test_a_run_a_user_cancelled_after_one_of_its_tasks_failed_still_pages(
    celery_worker, targets, databricks
):
    """A task failed, and a user then cancelled the run's other tasks (still running): the run
    ends `USER_CANCELED`, but a task of it failed. It was resolved at its source, paging
    nobody for a failure."""
    jira, _slack = targets
    RemediationPolicy.objects.update(enabled=False)
    run = job_run(
        run_id=7501,
        job_id=JOB_ID,
        tasks=[
            task("extract", 7502, "FAILED", "Py4JJavaError: Connection refused: orders-db:5432"),
            task("load", 7503, "CANCELED", "Run cancelled."),
        ],
        result_state="CANCELED",
        state_message="Run cancelled.",
    )
    run["status"]["termination_details"]["code"] = "USER_CANCELED"
    databricks.add_run(run)
    databricks.outputs[7502] = {"error": "Py4JJavaError: Connection refused: orders-db:5432"}

    ticket = processed(post(notification(7501), "/webhooks/databricks/")["ticket_id"])
    settled()

    ticket.refresh_from_db()
    assert (ticket.status, ticket.resolved_at_source_at) == (Status.OPEN, None)
    assert not AuditLog.objects.filter(ticket_id=ticket.pk, action="resolved at source").exists()
    assert ticket.itsm_ticket_id in jira.issues


def runs_read(fake: FakeDatabricks, run_id: int) -> int:
    """How many times runs/get read the run."""
    return sum(
        1
        for request in fake.requests
        if request.path.endswith("/jobs/runs/get") and request.param("run_id") == str(run_id)
    )


def test_a_regression_of_a_ticket_no_run_that_did_not_fail_ended_reads_its_run_once(
    celery_worker, targets, databricks
):
    """The job failing again after its success regresses its ticket once its error is
    fetched: that read is the run's only one. Only the regression of a ticket ended as a run
    that did not fail reads its run again (a runs/get for every Databricks regression, up to
    its time budget each while the API is down, held up its batch's pages)."""
    jira, _slack = targets
    RemediationPolicy.objects.update(enabled=False)
    databricks.add_run(ended_run(7701, "FAILED", "RUN_EXECUTION_ERROR", "Spark driver died"))
    ticket = processed(post(notification(7701), "/webhooks/databricks/")["ticket_id"])
    ended = post({**notification(7701), "event_type": "jobs.on_success"}, "/webhooks/databricks/")
    assert (ended["outcome"], ended["ticket_id"]) == ("resolved", ticket.pk)
    databricks.add_run(ended_run(7702, "FAILED", "RUN_EXECUTION_ERROR", "Spark driver died"))

    again = post(notification(7702), "/webhooks/databricks/")
    wait_for(
        lambda: WebhookDelivery.objects.filter(
            tracking_id=again["tracking_id"], status=DeliveryStatus.PROCESSED
        ).exists(),
        30,
    )
    settled()

    delivery = WebhookDelivery.objects.get(tracking_id=again["tracking_id"])
    assert (delivery.outcome, delivery.ticket_id) == ("regressed", ticket.pk)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.resolved_at_source_at) == (Status.OPEN, None)
    assert ticket.itsm_ticket_id in jira.issues
    assert runs_read(databricks, 7702) == 1


def test_a_repair_a_user_cancelled_after_one_of_its_tasks_failed_still_pages(
    celery_worker, targets, databricks
):
    """Cancelled by a user, the run was repaired; a task of the repair failed, and a user then
    cancelled the rest: the failed task's notification regresses the run's ticket, and the run
    read again before its pages go (`run_ended`) told the repair's `USER_CANCELED` and not the
    failed task, so it was ended again as cancelled, paging nobody for a failure."""
    jira, _slack = targets
    RemediationPolicy.objects.update(enabled=False)
    run = job_run(
        run_id=7701,
        job_id=JOB_ID,
        tasks=[
            task("load", 7702, "CANCELED", "Run cancelled."),
            task("publish", 7703, "CANCELED", "Run cancelled."),
        ],
        result_state="CANCELED",
        state_message="Run cancelled.",
    )
    run["status"]["termination_details"]["code"] = "USER_CANCELED"
    databricks.add_run(run)
    ticket = processed(post(notification(7701), "/webhooks/databricks/")["ticket_id"])
    assert ticket.resolved_at_source_at is not None
    client = WorkspaceClient(host=databricks.url, token=databricks.token, auth_type="pat")
    client.jobs.repair_run(7701, rerun_tasks=["load", "publish"])
    repaired = databricks.runs[7701]
    load, publish = (
        max(
            (t for t in repaired["tasks"] if t["task_key"] == key),
            key=lambda t: t["attempt_number"],
        )
        for key in ("load", "publish")
    )
    load["state"]["life_cycle_state"] = "TERMINATED"  # it failed; publish still runs
    databricks.finish_repair(7701, "CANCELED", "Run cancelled.")  # the user cancels the rest
    load["state"] = {**publish["state"], "result_state": "FAILED", "state_message": REFUSED}
    load["status"] = {
        "state": "TERMINATED",
        "termination_details": {"code": "RUN_EXECUTION_ERROR", "type": "CLIENT_ERROR"},
    }
    repaired["status"]["termination_details"]["code"] = "USER_CANCELED"
    databricks.outputs[load["run_id"]] = {"error": REFUSED}

    regression_processed(post(task_notification(7701, load["run_id"]), "/webhooks/databricks/"))

    ticket.refresh_from_db()
    assert (ticket.status, ticket.resolved_at_source_at) == (Status.OPEN, None)
    assert ticket.itsm_ticket_id in jira.issues


REFUSED = "Py4JJavaError: Connection refused: orders-db:5432"
