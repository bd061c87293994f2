"""A job that runs another job (a Run Job task) fails when the run it triggered fails: when both
jobs notify their failures, the child's failure and the parent's it caused are one ticket and
one page, in whichever order they land, naming both jobs. A real Celery worker and inbox relay,
the real databricks-sdk (against the local Databricks server), jira and slack-sdk clients
(against the local JIRA and Slack servers)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from analysis import tasks
from analysis.enrichment_service import REFETCH
from integrations.models import DeliveryStatus, RemediationPolicy, WebhookDelivery
from integrations.targets.jira import jira_summary
from tests.analysis import test_databricks_runs_that_did_not_fail
from tests.api import jwt_client, make_user
from tests.conftest import wait_for
from tests.fakes.databricks_api import FakeDatabricks, job_run, task
from tests.integrations import test_incident_paging
from tests.integrations.test_incident_paging import settled
from tests.tickets.test_incidents import post
from tickets.models import AuditLog, FoldedTicket, Ticket

pytestmark = pytest.mark.django_db(transaction=True)

targets = test_incident_paging.targets  # the local JIRA and Slack servers (a fixture)
databricks = test_databricks_runs_that_did_not_fail.databricks  # the local Databricks (a fixture)

DATABRICKS = "/webhooks/databricks/"
WORKSPACE = "1234567890123456"
PARENT = {"job_id": "5100", "name": "orders_orchestrator"}
CHILD = {"job_id": "5200", "name": "orders_child"}
OTHER_CHILD = {"job_id": "5300", "name": "orders_returns"}
PARENT_RUN, CHILD_RUN, OTHER_CHILD_RUN = 8500, 8600, 8700
# Errors that name no dependency: no culprit groups the two jobs' tickets into an incident.
CODE_ERROR = "ZeroDivisionError: division by zero"
OTHER_ERROR = "KeyError: 'customer_id'"
PARENT_OWN_ERROR = "NameError: name 'spark_conf' is not defined"


def run_job_task(task_key: str, run_id: int, job: dict[str, str], state: str) -> dict[str, Any]:
    """A `tasks[]` entry of a Run Job task: it names the job it runs, no cluster."""
    message = f"Run of job {job['job_id']} failed." if state == "FAILED" else ""
    entry = task(task_key, run_id, state, message)
    del entry["notebook_task"], entry["existing_cluster_id"]
    entry["run_job_task"] = {"job_id": int(job["job_id"])}
    return entry


def child_run(fake: FakeDatabricks, run_id: int, job: dict[str, str], error: str) -> None:
    """Job run `run_id` of `job`, a Run Job task started, failing in its task `load` with
    `error` ("" succeeding)."""
    state = "FAILED" if error else "SUCCESS"
    run = job_run(
        run_id,
        [task("load", run_id + 1, state, "Workload failed" if error else "")],
        job_id=int(job["job_id"]),
        run_name=job["name"],
    )
    fake.add_run({**run, "trigger": "RUN_JOB_TASK"})  # started by the parent's Run Job task
    if error:
        fake.outputs[run_id + 1] = {"error": error, "error_trace": f"Traceback …\n{error}"}


def parent_run(
    fake: FakeDatabricks,
    children: dict[str, tuple[int, dict[str, str], str]],
    parent_run_id: int = PARENT_RUN,
) -> None:
    """The parent job's run: a task `prepare` (failing with its own error when `children` has
    "prepare"), then a Run Job task per child, triggering that child's run."""
    own = children.get("prepare")
    tasks_ = [task("prepare", parent_run_id + 1, "FAILED" if own else "SUCCESS")]
    if own:
        fake.outputs[parent_run_id + 1] = {"error": own[2]}
    for index, (task_key, (run_id, job, error)) in enumerate(children.items()):
        if task_key == "prepare":
            continue
        task_run = parent_run_id + 10 + index
        state = "FAILED" if error else "SUCCESS"
        tasks_.append(run_job_task(task_key, task_run, job, state))
        fake.outputs[task_run] = {"run_job_output": {"run_id": run_id}}
        child_run(fake, run_id, job, error)
    fake.add_run(job_run(parent_run_id, tasks_, job_id=int(PARENT["job_id"])))


def notification(job: dict[str, str], run_id: int, event: str = "jobs.on_failure") -> dict:
    return {
        "event_type": event,
        "workspace_id": WORKSPACE,
        "run": {"run_id": str(run_id)},
        "job": job,
    }


def delivered(job: dict[str, str], run_id: int, event: str = "jobs.on_failure") -> dict:
    """Post the job's notification, wait for its processing and for what it paged."""
    answer = post(notification(job, run_id, event), DATABRICKS)
    wait_for(
        lambda: WebhookDelivery.objects.filter(
            tracking_id=answer["tracking_id"], status=DeliveryStatus.PROCESSED
        ).exists(),
        30,
    )
    settled()
    return answer


def alerts_posted(slack: Any) -> int:
    """The Slack alerts posted: chat.postMessage calls that are no thread reply."""
    posts = slack.api_requests("chat.postMessage")
    return sum(1 for post_ in posts if not (post_.body or {}).get("thread_ts"))


def alert_text(slack: Any, ticket: Ticket) -> str:
    """The Slack alert of the ticket as it stands (after its updates)."""
    return json.dumps(slack.messages[(ticket.slack_channel, ticket.slack_ts)])


@pytest.fixture(autouse=True)
def no_remediation(db) -> None:
    RemediationPolicy.objects.update(enabled=False)


@pytest.mark.parametrize("first", ["child", "parent"])
def test_a_parent_failing_because_its_child_failed_is_one_ticket_and_one_page(
    celery_worker, targets, databricks, first
):
    jira, slack = targets
    parent_run(databricks, {"run_child": (CHILD_RUN, CHILD, CODE_ERROR)})
    order = [(CHILD, CHILD_RUN), (PARENT, PARENT_RUN)]
    order = order if first == "child" else order[::-1]

    answers = [delivered(job, run_id) for job, run_id in order]

    (ticket,) = Ticket.objects.all()
    assert ticket.pk == answers[0]["ticket_id"]
    assert answers[1]["ticket_id"] in FoldedTicket.objects.values_list("ticket_id", flat=True)
    assert ticket.occurrence_count == 2
    assert len(jira.issues) == 1 and alerts_posted(slack) == 1
    how = "run it triggered" if first == "child" else "run that triggered it"
    recurred = AuditLog.objects.get(ticket=ticket, action="recurred")
    assert recurred.details["how"] == how
    assert recurred.details["folded_from"] == answers[1]["ticket_id"]
    # Both jobs are named wherever the on-call looks.
    both = "orders_orchestrator failed with orders_child (its Run Job task run_child ran it)"
    assert ticket.failed_parts == both
    assert both in alert_text(slack, ticket)
    assert both in jira_summary(ticket)
    issue = jira.issues[ticket.itsm_ticket_id]
    assert both in issue["summary"]
    assert both in json.dumps(issue["comments"])
    replies = slack.thread(ticket.slack_channel, ticket.slack_ts)
    assert any(both in json.dumps(reply) for reply in replies)
    detail = jwt_client(make_user("viewer")).get(f"/api/v1/tickets/{ticket.pk}/").json()
    assert detail["pipeline"] in ("orders_child", "orders_orchestrator")
    assert detail["details"]["jobs_failed_together"] == [
        {"job": "orders_orchestrator", "task": "run_child", "ran": "orders_child"}
    ]
    page = Client()
    page.force_login(make_user("viewer"))
    assert both in page.get(f"/tickets/{ticket.pk}/").content.decode()

    # A redelivery of either is a duplicate of the one ticket, paging nobody.
    for job, run_id in order:
        assert delivered(job, run_id)["ticket_id"] == ticket.pk
    assert Ticket.objects.get().occurrence_count == 2
    assert len(jira.issues) == 1 and alerts_posted(slack) == 1


def test_the_next_runs_of_both_jobs_failing_alike_are_counted_on_the_one_ticket(
    celery_worker, targets, databricks
):
    """The parent notified first, again the next day: its new run is counted on its ticket
    (the same failure), and so is the new child run that run's Run Job task triggered."""
    jira, slack = targets
    parent_run(databricks, {"run_child": (CHILD_RUN, CHILD, CODE_ERROR)})
    first = delivered(PARENT, PARENT_RUN)
    delivered(CHILD, CHILD_RUN)
    parent_run(databricks, {"run_child": (CHILD_RUN + 1000, CHILD, CODE_ERROR)}, PARENT_RUN + 1000)

    delivered(PARENT, PARENT_RUN + 1000)
    delivered(CHILD, CHILD_RUN + 1000)

    (ticket,) = Ticket.objects.all()
    assert ticket.pk == first["ticket_id"] and ticket.occurrence_count == 4
    assert len(jira.issues) == 1 and alerts_posted(slack) == 1


@pytest.mark.parametrize("first", ["children", "parent"])
def test_a_parent_whose_two_run_job_tasks_failed_pages_once_per_child_failure(
    celery_worker, targets, databricks, first
):
    """The parent's failure is its first failed task's (`run_a`): one with the failure of the
    run that task triggered; the other child's failure is a ticket of its own."""
    jira, slack = targets
    parent_run(
        databricks,
        {
            "run_a": (CHILD_RUN, CHILD, CODE_ERROR),
            "run_b": (OTHER_CHILD_RUN, OTHER_CHILD, OTHER_ERROR),
        },
    )
    children = [(CHILD, CHILD_RUN), (OTHER_CHILD, OTHER_CHILD_RUN)]
    order = [*children, (PARENT, PARENT_RUN)]
    order = order if first == "children" else order[::-1]

    for job, run_id in order:
        delivered(job, run_id)

    tickets = {ticket.pipeline: ticket for ticket in Ticket.objects.all()}
    assert len(tickets) == 2
    assert len(jira.issues) == 2 and alerts_posted(slack) == 2
    together = next(t for t in tickets.values() if t.occurrence_count == 2)
    assert together.failed_parts == (
        "orders_orchestrator failed with orders_child (its Run Job task run_a ran it)"
    )
    assert tickets["orders_returns"].occurrence_count == 1
    assert tickets["orders_returns"].failed_parts == ""


def test_a_parent_failing_for_its_own_reason_stays_apart_from_its_childs_failure(
    celery_worker, targets, databricks
):
    """The parent's first failed task is its own (`prepare`); the job its Run Job task ran
    succeeded that time, after an earlier run of it had failed: two failures, two tickets."""
    jira, slack = targets
    child_run(databricks, CHILD_RUN - 50, CHILD, CODE_ERROR)
    parent_run(
        databricks,
        {"prepare": (0, PARENT, PARENT_OWN_ERROR), "run_child": (CHILD_RUN, CHILD, "")},
    )

    child = delivered(CHILD, CHILD_RUN - 50)
    parent = delivered(PARENT, PARENT_RUN)

    assert child["ticket_id"] != parent["ticket_id"]
    assert Ticket.objects.count() == 2
    assert len(jira.issues) == 2 and alerts_posted(slack) == 2
    assert PARENT_OWN_ERROR in Ticket.objects.get(pk=parent["ticket_id"]).error_message
    assert not FoldedTicket.objects.exists()


@pytest.mark.parametrize("first", ["child", "parent"])
def test_a_parent_read_while_its_childs_run_could_not_be_is_still_one_page(
    celery_worker, targets, databricks, settings, first
):
    """The parent's Run Job task's output names the run it triggered, but reading that run met
    the API failing (503): the parent is one with that run's failure all the same, and once
    the API answers its read again gives it the child's error."""
    jira, slack = targets
    settings.DATABRICKS_WORKSPACE_ID = WORKSPACE
    settings.DATABRICKS_REFETCH_DELAY_SECONDS = 0
    settings.GEMINI_API_KEY = ""
    parent_run(databricks, {"run_child": (CHILD_RUN, CHILD, CODE_ERROR)})
    body = databricks.error_body(503, "temporarily unavailable")

    def child_unreadable() -> None:
        databricks.fail(
            503, body, times=None, path_contains="/jobs/runs/get", query={"run_id": str(CHILD_RUN)}
        )

    if first == "child":
        child = delivered(CHILD, CHILD_RUN)
        child_unreadable()
        parent = delivered(PARENT, PARENT_RUN)
        databricks.clear_faults()
        kept = child["ticket_id"]
    else:
        child_unreadable()
        parent = delivered(PARENT, PARENT_RUN)
        ticket = Ticket.objects.get(pk=parent["ticket_id"])
        assert ticket.details[REFETCH]["tries"] == 1
        databricks.clear_faults()
        child = delivered(CHILD, CHILD_RUN)
        kept = parent["ticket_id"]
        assert tasks.refetch_databricks_errors() == 1
        wait_for(lambda: CODE_ERROR in Ticket.objects.get(pk=kept).error_message, 30)
        settled()

    (ticket,) = Ticket.objects.all()
    assert ticket.pk == kept and ticket.occurrence_count == 2
    assert len(jira.issues) == 1 and alerts_posted(slack) == 1
    assert ticket.failed_parts == (
        "orders_orchestrator failed with orders_child (its Run Job task run_child ran it)"
    )


def test_the_jobs_named_together_stay_when_the_parents_read_again_ends_after_the_fold(
    celery_worker, targets, databricks, settings
):
    """The parent's read again (its child's run could not be read at first) is under way, the
    parent's ticket read, when the child's failure lands and is folded into that ticket, naming
    both jobs: what the read again stores keeps them (it wrote the details it had read before)."""
    settings.DATABRICKS_WORKSPACE_ID = WORKSPACE
    settings.DATABRICKS_REFETCH_DELAY_SECONDS = 0
    settings.GEMINI_API_KEY = ""
    parent_run(databricks, {"run_child": (CHILD_RUN, CHILD, CODE_ERROR)})
    body = databricks.error_body(503, "temporarily unavailable")
    get_run = {"path_contains": "/jobs/runs/get", "query": {"run_id": str(CHILD_RUN)}}
    databricks.fail(503, body, times=None, **get_run)
    parent = delivered(PARENT, PARENT_RUN)
    databricks.clear_faults()

    # The read again holds on the parent's run (the ticket already read) until released.
    def parent_reads() -> int:
        gets = databricks.requests_to("/jobs/runs/get")
        return sum(1 for r in gets if r.param("run_id") == str(PARENT_RUN))

    reads_before = parent_reads()
    databricks.fail(
        0, stall=25, times=1, path_contains="/jobs/runs/get", query={"run_id": str(PARENT_RUN)}
    )
    assert tasks.refetch_databricks_errors() == 1
    wait_for(lambda: parent_reads() > reads_before, 30)

    post(notification(CHILD, CHILD_RUN), DATABRICKS)
    wait_for(lambda: Ticket.objects.count() == 1, 30)
    databricks.release_stalled()
    wait_for(lambda: CODE_ERROR in Ticket.objects.get(pk=parent["ticket_id"]).error_message, 30)
    settled()

    (ticket,) = Ticket.objects.all()
    assert ticket.pk == parent["ticket_id"] and ticket.occurrence_count == 2
    assert ticket.failed_parts == (
        "orders_orchestrator failed with orders_child (its Run Job task run_child ran it)"
    )
    assert ticket.details["triggered_job_run"]["task_key"] == "run_child"
    assert ticket.links["run"].endswith(f"/run/{CHILD_RUN}"), ticket.links


def test_a_child_whose_own_run_could_not_be_read_is_folded_into_its_parents_ticket(
    celery_worker, targets, databricks, settings
):
    """The parent's ticket names the run its Run Job task triggered; that run's own runs/get
    then fails (503), so its trigger is not known: the parent's ticket naming its run is
    enough, and the child's failure is counted there, paging nobody again."""
    jira, slack = targets
    settings.DATABRICKS_WORKSPACE_ID = WORKSPACE
    settings.GEMINI_API_KEY = ""
    parent_run(databricks, {"run_child": (CHILD_RUN, CHILD, CODE_ERROR)})
    parent = delivered(PARENT, PARENT_RUN)
    body = databricks.error_body(503, "temporarily unavailable")
    databricks.fail(
        503, body, times=None, path_contains="/jobs/runs/get", query={"run_id": str(CHILD_RUN)}
    )

    child = delivered(CHILD, CHILD_RUN)

    (ticket,) = Ticket.objects.all()
    assert ticket.pk == parent["ticket_id"] and ticket.occurrence_count == 2
    assert child["ticket_id"] in FoldedTicket.objects.values_list("ticket_id", flat=True)
    assert len(jira.issues) == 1 and alerts_posted(slack) == 1
    assert AuditLog.objects.get(ticket=ticket, action="recurred").details["how"] == (
        "run that triggered it"
    )
    assert ticket.failed_parts == (
        "orders_orchestrator failed with orders_child (its Run Job task run_child ran it)"
    )


@pytest.mark.parametrize("first", ["child", "parent"])
def test_the_one_ticket_ends_on_the_parents_success_whichever_job_opened_it(
    celery_worker, targets, databricks, first
):
    """The child's success alone leaves the ticket open (the parent's run still failed); the
    parent's success ends it (its run ran the child's clean), whichever job's failure opened
    it: before, a ticket the child opened ended on the child's success and not the parent's."""
    parent_run(databricks, {"run_child": (CHILD_RUN, CHILD, CODE_ERROR)})
    order = [(CHILD, CHILD_RUN), (PARENT, PARENT_RUN)]
    for job, run_id in order if first == "child" else order[::-1]:
        delivered(job, run_id)
    (ticket,) = Ticket.objects.all()

    delivered(CHILD, CHILD_RUN + 2000, "jobs.on_success")
    ticket.refresh_from_db()
    assert ticket.resolved_at_source_at is None and ticket.status == "open"

    delivered(PARENT, PARENT_RUN + 2000, "jobs.on_success")
    ticket.refresh_from_db()
    assert ticket.resolved_at_source_at is not None and ticket.status == "resolved"


def test_the_ticket_that_triggered_a_run_is_looked_up_in_its_index():
    """Each Databricks failure's settling looks for the ticket whose Run Job task triggered its
    run: read from the `ticket_triggered_job_run` index (the planner is told not to scan the
    table, so a plan without the index fails here)."""
    run_key = f"databricks:{WORKSPACE}:{CHILD_RUN}"
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        try:
            sql, params = (
                Ticket.objects.that_triggered(run_key).values("pk").query.sql_with_params()
            )
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("RESET enable_seqscan")
    assert "ticket_triggered_job_run" in plan, plan


def test_a_childs_own_failure_reopening_the_one_ticket_ends_on_the_childs_success(
    celery_worker, targets, databricks
):
    """The one ticket, opened by the child and ended by the parent's success, is reopened by
    a run of the child alone failing alike (no run of the parent failed with it): that
    failure is the child's, and the child's success ends it. Before, the ticket kept the
    parent's recovery key and waited for a success of a parent that had not failed."""
    parent_run(databricks, {"run_child": (CHILD_RUN, CHILD, CODE_ERROR)})
    delivered(CHILD, CHILD_RUN)
    delivered(PARENT, PARENT_RUN)
    delivered(PARENT, PARENT_RUN + 2000, "jobs.on_success")
    (ticket,) = Ticket.objects.all()
    assert ticket.status == "resolved"

    child_run(databricks, CHILD_RUN + 3000, CHILD, CODE_ERROR)
    delivered(CHILD, CHILD_RUN + 3000)
    ticket.refresh_from_db()
    assert Ticket.objects.count() == 1 and ticket.status == "open", ticket.status

    delivered(CHILD, CHILD_RUN + 4000, "jobs.on_success")
    ticket.refresh_from_db()
    assert ticket.resolved_at_source_at is not None and ticket.status == "resolved"
