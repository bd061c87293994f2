"""A failure's history follows it: what a source's recovery ends (per source), regressions and
"seen before", one severity per failure. Through the real webhooks and the real database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from integrations.targets import jira, slack
from tests.conftest import local_payload
from tests.dashboard import make_user
from tickets import lifecycle
from tickets.lifecycle import Actor
from tickets.models import AuditLog, Ticket

pytestmark = pytest.mark.django_db

ADF = "/webhooks/adf/"
DATABRICKS = "/webhooks/databricks/"
AIRFLOW = "/webhooks/airflow/"


def databricks(event: str, job: str, run: str, task: str = "", message: str = "") -> dict:
    body: dict[str, Any] = {
        "event_type": event,
        "workspace_id": "1234567890",
        "job": {"job_id": job, "name": f"job_{job}"},
        "run": {"run_id": run, "state": {"state_message": message}},
    }
    if task:
        body["task"] = {"task_key": task}
    return body


def adf(pipeline: str, run_id: str, *, factory: str = "adf-sales-prod", status: str = "Failed"):
    body = local_payload("adf_failure.json")
    body.update(pipeline=pipeline, run_id=run_id, factory=factory, status=status)
    return body


def airflow(dag: str, task: str, run: str, *, state: str = "failed", try_number: int = 1):
    body = local_payload("airflow_failure.json")
    body.update(dag_id=dag, task_id=task, run_id=run, state=state, try_number=try_number)
    return body


def status_of(ticket_id: str) -> str:
    return Ticket.objects.get(pk=ticket_id).status


# --- 4. a success resolves only the failure it is the success of -----------------------------


def test_a_databricks_task_success_of_another_run_does_not_resolve_a_job_failure(webhook_client):
    job_failure = webhook_client(
        DATABRICKS, databricks("jobs.on_failure", "42", "run-1", message="Job failed: OOM")
    ).json()

    answer = webhook_client(
        DATABRICKS, databricks("jobs.on_success", "42", "run-2", task="ingest")
    ).json()

    assert (answer["outcome"], answer["ticket_id"]) == ("ignored", None)
    assert status_of(job_failure["ticket_id"]) == "open"


def test_a_databricks_task_success_resolves_that_tasks_failure_only(webhook_client):
    ingest = webhook_client(
        DATABRICKS,
        databricks("jobs.on_failure", "42", "run-1", task="ingest", message="ingest: timeout"),
    ).json()
    publish = webhook_client(
        DATABRICKS,
        databricks("jobs.on_failure", "42", "run-1", task="publish", message="publish: 403"),
    ).json()
    other_job = webhook_client(
        DATABRICKS,
        databricks("jobs.on_failure", "43", "run-9", task="ingest", message="ingest: timeout"),
    ).json()

    answer = webhook_client(
        DATABRICKS, databricks("jobs.on_success", "42", "run-2", task="ingest")
    ).json()

    assert (answer["outcome"], answer["ticket_id"]) == ("resolved", ingest["ticket_id"])
    assert status_of(ingest["ticket_id"]) == "resolved"
    assert status_of(publish["ticket_id"]) == "open"
    assert status_of(other_job["ticket_id"]) == "open"


def test_two_tasks_failing_alike_are_two_failures_each_ended_by_its_own_success(
    webhook_client,
):
    """The same message from two tasks of one job (a notification without error text reads
    alike for every task) must not merge: one task's success would end the other's failure."""
    first = webhook_client(DATABRICKS, databricks("jobs.on_failure", "42", "run-1", task="a"))
    second = webhook_client(DATABRICKS, databricks("jobs.on_failure", "42", "run-1", task="b"))
    assert first.json()["outcome"] == second.json()["outcome"] == "created"
    assert first.json()["ticket_id"] != second.json()["ticket_id"]

    webhook_client(DATABRICKS, databricks("jobs.on_success", "42", "run-2", task="a"))
    assert status_of(first.json()["ticket_id"]) == "resolved"
    assert status_of(second.json()["ticket_id"]) == "open"


def test_a_databricks_jobs_failure_after_its_tasks_is_one_more_occurrence_of_the_task(
    webhook_client,
):
    """Task and job notifications of one run: one failure, one ticket (one page)."""
    task = webhook_client(
        DATABRICKS, databricks("jobs.on_failure", "42", "run-7", task="ingest", message="OOM")
    ).json()
    job = webhook_client(
        DATABRICKS, databricks("jobs.on_failure", "42", "run-7", message="Job failed: OOM")
    ).json()
    assert task["outcome"] == "created"
    assert (job["outcome"], job["ticket_id"]) == ("correlated", task["ticket_id"])
    # The next run's task fails alike (one more occurrence of the ticket), then its job: the
    # ticket keeps run-7's id, and the job's failure still finds its task's.
    webhook_client(
        DATABRICKS, databricks("jobs.on_failure", "42", "run-8", task="ingest", message="OOM")
    )
    again = webhook_client(
        DATABRICKS, databricks("jobs.on_failure", "42", "run-8", message="Job failed: OOM")
    ).json()
    assert (again["outcome"], again["ticket_id"]) == ("correlated", task["ticket_id"])
    assert Ticket.objects.count() == 1
    # another run's job failure is its own
    other = webhook_client(
        DATABRICKS, databricks("jobs.on_failure", "42", "run-70", message="Job failed: disk")
    ).json()
    assert other["outcome"] == "created"


def test_a_databricks_tasks_failure_after_its_jobs_is_one_more_occurrence_of_the_job(
    webhook_client,
):
    """The same run, its notifications the other way round: still one failure, one ticket."""

    def post(body: dict) -> dict:
        return webhook_client(DATABRICKS, body).json()

    job = post(databricks("jobs.on_failure", "42", "run-7", message="Failed"))
    task = post(databricks("jobs.on_failure", "42", "run-7", task="ingest", message="OOM"))
    assert job["outcome"] == "created"
    assert (task["outcome"], task["ticket_id"]) == ("correlated", job["ticket_id"])
    # a task of another run is not part of it
    other = post(databricks("jobs.on_failure", "42", "run-9", task="ingest", message="disk"))
    assert other["outcome"] == "created"


@pytest.mark.parametrize("job_first", [True, False])
def test_two_different_task_failures_of_one_run_are_two_tickets_in_either_order(
    webhook_client, job_first
):
    """The job's notification joins the first of its run's task failures to land, whichever
    comes first; a second task failing in the run is a failure of its own."""
    job = databricks("jobs.on_failure", "42", "run-7", message="Job failed")
    oom = databricks("jobs.on_failure", "42", "run-7", task="ingest", message="OutOfMemoryError")
    table = databricks(
        "jobs.on_failure", "42", "run-7", task="publish", message="Table not found: sales.v2"
    )
    order = (job, oom, table) if job_first else (oom, table, job)

    answers = [webhook_client(DATABRICKS, body).json() for body in order]

    assert len({answer["ticket_id"] for answer in answers}) == 2, answers
    assert Ticket.objects.count() == 2


def test_a_runs_failure_after_its_task_recovered_on_a_retry_pages_again(webhook_client):
    """The task failed, its retry succeeded (its ticket ends), then the run failed after all:
    the job's notification reopens the task's ticket (a regression, paged), never a silent
    occurrence of a resolved ticket."""
    task = webhook_client(
        DATABRICKS, databricks("jobs.on_failure", "42", "run-7", task="ingest", message="OOM")
    ).json()
    webhook_client(DATABRICKS, databricks("jobs.on_success", "42", "run-7", task="ingest"))
    assert status_of(task["ticket_id"]) == "resolved"

    job = webhook_client(
        DATABRICKS, databricks("jobs.on_failure", "42", "run-7", message="Job failed")
    ).json()

    assert (job["outcome"], job["ticket_id"]) == ("regressed", task["ticket_id"])
    assert status_of(task["ticket_id"]) == "open"


def test_a_runs_failure_is_not_taken_for_a_task_that_succeeded_in_that_run(webhook_client):
    """The ingest task's failure of run-6 ended with its success in run-7, then run-7 failed
    (another task, without notifications of its own): the success is no failure of run-7, so
    the job's failure does not reopen the ingest ticket as a regression."""
    task = webhook_client(
        DATABRICKS, databricks("jobs.on_failure", "42", "run-6", task="ingest", message="OOM")
    ).json()
    webhook_client(DATABRICKS, databricks("jobs.on_success", "42", "run-7", task="ingest"))
    assert status_of(task["ticket_id"]) == "resolved"

    job = webhook_client(
        DATABRICKS, databricks("jobs.on_failure", "42", "run-7", message="Job failed")
    ).json()

    assert job["outcome"] == "created" and job["ticket_id"] != task["ticket_id"]
    assert status_of(task["ticket_id"]) == "resolved"


def test_a_runs_failure_joins_its_failed_task_rather_than_one_that_recovered(webhook_client):
    """In run-7 the ingest task failed and succeeded on its retry, then the publish task
    failed: the run's own failure is one more occurrence of publish's open ticket, and the
    recovered ingest ticket is left resolved."""
    ingest = webhook_client(
        DATABRICKS, databricks("jobs.on_failure", "42", "run-7", task="ingest", message="OOM")
    ).json()
    webhook_client(DATABRICKS, databricks("jobs.on_success", "42", "run-7", task="ingest"))
    publish = webhook_client(
        DATABRICKS,
        databricks("jobs.on_failure", "42", "run-7", task="publish", message="Table not found"),
    ).json()

    job = webhook_client(
        DATABRICKS, databricks("jobs.on_failure", "42", "run-7", message="Job failed")
    ).json()

    assert (job["outcome"], job["ticket_id"]) == ("correlated", publish["ticket_id"])
    assert status_of(ingest["ticket_id"]) == "resolved"


def test_a_runs_task_failures_are_found_through_the_databricks_occurrence_index(webhook_client):
    """The planner is told not to scan the table, so a plan without the index fails here. The
    table holds a history of other sources' occurrences, analysed: on an empty one the planner
    costs every index alike and may walk another (`occurrence_ticket_seen`) for `ticket_id IS
    NOT NULL`, which says nothing about this query on a real history."""
    from django.db import connection

    from tickets.models import Occurrence

    ticket_id = webhook_client(
        DATABRICKS, databricks("jobs.on_failure", "42", "run-1", task="load", message="boom")
    ).json()["ticket_id"]
    Occurrence.objects.bulk_create(
        Occurrence(key=f"adf:factory:pipeline:run-{n}", ticket_id=ticket_id, outcome="correlated")
        for n in range(2_000)
    )
    queryset = Occurrence.objects.counted_in_run("databricks:1234567890:run-7")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tickets_occurrence")
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = queryset.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "occurrence_databricks_key" in plan, plan


def test_a_databricks_job_success_resolves_the_jobs_failure_and_its_tasks(webhook_client):
    job = webhook_client(
        DATABRICKS, databricks("jobs.on_failure", "42", "run-1", message="Job failed: OOM")
    ).json()
    task = webhook_client(
        DATABRICKS,
        databricks("jobs.on_failure", "42", "run-1", task="ingest", message="ingest: timeout"),
    ).json()
    other_job = webhook_client(
        DATABRICKS, databricks("jobs.on_failure", "420", "run-3", message="Job failed: OOM")
    ).json()

    answer = webhook_client(DATABRICKS, databricks("jobs.on_success", "42", "run-2")).json()

    assert answer["outcome"] == "resolved"
    assert status_of(job["ticket_id"]) == status_of(task["ticket_id"]) == "resolved"
    assert status_of(other_job["ticket_id"]) == "open"  # job 420 is not job 42
    entry = AuditLog.objects.get(ticket_id=job["ticket_id"], action="resolved at source")
    assert (entry.actor_kind, entry.actor_name) == ("source", "databricks")


def test_an_adf_success_resolves_the_same_pipeline_of_the_same_factory_only(webhook_client):
    sales = webhook_client(ADF, adf("pl_copy_sales", "run-1")).json()
    elsewhere = adf("pl_copy_sales", "run-2", factory="adf-hr")
    elsewhere["error_message"] = "ErrorCode=UserErrorSqlTimeout, the query timed out"
    other_factory = webhook_client(ADF, elsewhere).json()
    assert other_factory["outcome"] == "created"
    other_pipeline = webhook_client(ADF, adf("pl_copy_hr", "run-3")).json()

    answer = webhook_client(ADF, adf("pl_copy_sales", "run-4", status="Succeeded")).json()

    assert (answer["outcome"], answer["ticket_id"]) == ("resolved", sales["ticket_id"])
    assert status_of(sales["ticket_id"]) == "resolved"
    assert status_of(other_factory["ticket_id"]) == "open"
    assert status_of(other_pipeline["ticket_id"]) == "open"


def test_an_airflow_success_resolves_the_same_task_whatever_the_run_and_nothing_else(
    webhook_client,
):
    load = webhook_client(AIRFLOW, airflow("sales_daily", "load_orders", "run-1")).json()
    other_task = webhook_client(AIRFLOW, airflow("sales_daily", "load_customers", "run-1")).json()
    other_dag = webhook_client(AIRFLOW, airflow("hr_daily", "load_orders", "run-1")).json()

    answer = webhook_client(
        AIRFLOW, airflow("sales_daily", "load_orders", "run-2", state="success")
    ).json()

    assert (answer["outcome"], answer["ticket_id"]) == ("resolved", load["ticket_id"])
    assert status_of(other_task["ticket_id"]) == "open"
    assert status_of(other_dag["ticket_id"]) == "open"


def test_migration_rekeys_databricks_task_and_airflow_failures():
    import importlib

    from django.apps import apps

    from tests.api import make_ticket

    task = make_ticket(
        source="databricks",
        resolve_key="databricks:1:job:42",
        affected_entity={"job_id": "42", "task_key": "ingest"},
    )
    job = make_ticket(source="databricks", resolve_key="databricks:1:job:42")
    dag = make_ticket(
        source="airflow",
        resolve_key="airflow:sales/load/run-1",
        affected_entity={"dag_id": "sales", "task_id": "load", "map_index": "3"},
    )

    importlib.import_module("tickets.migrations.0011_recovery_keys").rekey(apps, None)

    keys = dict(Ticket.objects.values_list("pk", "resolve_key"))
    assert keys == {
        task.pk: "databricks:1:job:42/task:ingest",
        job.pk: "databricks:1:job:42",
        dag.pk: "airflow:sales/load[3]",
    }


# --- 2. open tickets absorb their repeats; a repeat after resolve is a regression -----------


def _failure(run_id: str) -> dict:
    return adf("pl_copy_sales", run_id)


@pytest.mark.parametrize("status", ["open", "in_progress", "acknowledged"])
def test_an_active_ticket_absorbs_its_repeats_however_old(webhook_client, status):
    first = webhook_client(ADF, _failure("run-1")).json()
    Ticket.objects.filter(pk=first["ticket_id"]).update(
        status=status, last_seen=timezone.now() - timedelta(days=40)
    )

    again = webhook_client(ADF, _failure("run-2")).json()

    assert (again["outcome"], again["ticket_id"]) == ("correlated", first["ticket_id"])
    assert Ticket.objects.get().occurrence_count == 2


def test_a_repeat_within_the_regression_window_reopens_the_ticket(webhook_client, settings):
    settings.REGRESSION_WINDOW = timedelta(days=14)
    first = webhook_client(ADF, _failure("run-1")).json()
    lifecycle.resolve(first["ticket_id"], Actor.system("maria"), fix="Rotated the password")
    Ticket.objects.filter(pk=first["ticket_id"]).update(
        resolved_at=timezone.now() - timedelta(days=13)
    )

    again = webhook_client(ADF, _failure("run-2")).json()

    assert (again["outcome"], again["ticket_id"]) == ("regressed", first["ticket_id"])
    ticket = Ticket.objects.get()
    assert (ticket.status, ticket.occurrence_count, ticket.regression_count) == ("open", 2, 1)
    assert (ticket.resolved_at, ticket.sla_status) == (None, "Pending")
    assert ticket.sla_deadline is not None and ticket.sla_deadline > timezone.now()
    entry = AuditLog.objects.get(ticket=ticket, action="regressed")
    assert (entry.actor_kind, entry.before["status"], entry.after["status"]) == (
        "source",
        "resolved",
        "open",
    )
    assert entry.details["occurrence_count"] == 2
    # Resolved again, it measures its time to resolve from the regression.
    resolved = lifecycle.resolve(ticket.pk, Actor.system("maria"))
    assert resolved.resolve_seconds is not None and resolved.resolve_seconds < 60


def test_after_the_regression_window_a_new_ticket_links_to_the_earlier_one(
    webhook_client, settings
):
    settings.REGRESSION_WINDOW = timedelta(days=14)
    first = webhook_client(ADF, _failure("run-1")).json()
    lifecycle.resolve(first["ticket_id"], Actor.system("maria"))
    Ticket.objects.filter(pk=first["ticket_id"]).update(
        resolved_at=timezone.now() - timedelta(days=15)
    )

    later = webhook_client(ADF, _failure("run-2")).json()

    assert later["outcome"] == "created" and later["ticket_id"] != first["ticket_id"]
    ticket = Ticket.objects.get(pk=later["ticket_id"])
    assert ticket.previous_ticket_id == first["ticket_id"]
    assert (
        AuditLog.objects.get(ticket=ticket, action="created").details["seen_before"]
        == (first["ticket_id"])
    )
    assert status_of(first["ticket_id"]) == "resolved"


def test_the_same_run_failing_after_resolve_is_a_regression_whatever_the_window(
    webhook_client, settings
):
    settings.REGRESSION_WINDOW = timedelta(0)
    first = webhook_client(AIRFLOW, airflow("sales_daily", "load_orders", "run-1")).json()
    lifecycle.resolve(first["ticket_id"], Actor.system("maria"))

    retry = webhook_client(
        AIRFLOW, airflow("sales_daily", "load_orders", "run-1", try_number=2)
    ).json()

    assert (retry["outcome"], retry["ticket_id"]) == ("regressed", first["ticket_id"])


# --- 5. one severity for one failure --------------------------------------------------------


def _azure_log_alert(severity: str, run_id: str) -> dict:
    body = local_payload("azure/adf_log_v2_pipeline_run.json")
    body["data"]["essentials"]["severity"] = severity
    body["data"]["essentials"]["alertId"] += run_id
    for dimension in body["data"]["alertContext"]["condition"]["allOf"][0]["dimensions"]:
        if dimension["name"] == "PipelineRunId":
            dimension["value"] = run_id
    return body


def test_an_adf_failure_has_one_severity_through_a_sev3_log_alert_or_the_adf_webhook(
    webhook_client,
):
    alert = _azure_log_alert("Sev3", "run-by-alert")
    error = next(
        d["value"]
        for d in alert["data"]["alertContext"]["condition"]["allOf"][0]["dimensions"]
        if d["name"] == "ErrorMessage"
    )
    webhook = adf("pl_sales_daily_load", "run-by-webhook")
    webhook.pop("severity", None)
    webhook["error_message"] = error

    by_alert = Ticket.objects.get(
        pk=webhook_client("/webhooks/azure-monitor/", alert).json()["ticket_id"]
    )
    by_webhook = Ticket.objects.get(pk=webhook_client(ADF, webhook).json()["ticket_id"])

    assert by_alert.pk != by_webhook.pk and by_alert.error_type == by_webhook.error_type
    assert (by_alert.severity, by_alert.priority) == (by_webhook.severity, by_webhook.priority)
    assert (by_alert.severity, by_alert.priority) == ("High", "P2")  # a failed login


def test_a_source_severity_above_the_error_class_raises_it():
    from tickets.rules import severity_for

    assert severity_for("Critical", "AuthenticationError") == "Critical"
    assert severity_for("Low", "AuthenticationError") == "High"
    assert severity_for("Low", "DataError") == "Medium"
    assert severity_for(None, "DataError") == "Medium"


# --- 3. resolutions as knowledge --------------------------------------------------------------


def _unit(*head: float) -> list[float]:
    vector = [*head, *([0.0] * (256 - len(head)))]
    norm = sum(v * v for v in vector) ** 0.5
    return [v / norm for v in vector]


def test_previous_fixes_rank_verified_first_and_never_show_a_wrong_one():
    from tests.api import make_ticket
    from tickets.models import Resolution
    from tickets.resolutions import mark_wrong, previous_fixes

    ticket = make_ticket(fingerprint="fp-now", embedding=_unit(1.0), embedding_model="m")

    def fix(text: str, fingerprint: str, vector: list[float], **fields: Any) -> Resolution:
        past = make_ticket(fingerprint=fingerprint)
        return Resolution.objects.create(
            ticket=past,
            fix=text,
            resolved_by="maria",
            actor_kind="user",
            fingerprint=fingerprint,
            embedding=vector,
            **{"embedding_model": "m", **fields},
        )

    same = fix("same failure, unverified", "fp-now", _unit(0.0, 1.0))
    verified = fix("similar, verified", "fp-other", _unit(1.0, 0.3), verified_at=timezone.now())
    similar = fix("similar, unverified", "fp-other2", _unit(1.0, 0.2))
    fix("unlike it", "fp-far", _unit(0.0, 0.0, 1.0))
    fix("another model", "fp-model", _unit(1.0), embedding_model="other")
    wrong = fix("wrong", "fp-now", _unit(1.0))
    mark_wrong(wrong.pk, Actor.system("staff"))

    found = previous_fixes(ticket, k=5)

    assert [f.fix for f in found] == [verified.fix, same.fix, similar.fix]
    assert [f.same_failure for f in found] == [False, True, False]
    assert found[1].similarity == 1.0 and 0.7 <= found[2].similarity < 1.0


def test_a_fix_is_verified_when_the_pipeline_succeeds_again_after_it(webhook_client):
    from tickets.models import Resolution

    failure = webhook_client(ADF, adf("pl_copy_sales", "run-1")).json()
    lifecycle.resolve(failure["ticket_id"], Actor.system("maria"), fix="Rotated the password")
    assert not Resolution.objects.get().verified

    webhook_client(ADF, adf("pl_copy_sales", "run-2", status="Succeeded"))

    assert Resolution.objects.get().verified
    assert Ticket.objects.get(pk=failure["ticket_id"]).resolved_by == "maria"


def test_the_slack_alert_and_the_jira_issue_lead_with_last_time():
    ticket = Ticket(
        id="ADF-20251210T123456-abc123",
        pipeline="pl_copy_sales",
        details={
            "previous_fixes": [{"headline": "Last time (ADF-1, 2025-12-01 09:30 UTC, maria): <b>x"}]
        },
    )

    _, blocks = slack.slack_alert(ticket)
    description = jira.jira_description(ticket)

    assert blocks[1]["text"]["text"] == "Last time (ADF-1, 2025-12-01 09:30 UTC, maria): &lt;b&gt;x"
    assert description.startswith("h3. Seen before\n{noformat}\nLast time (ADF-1, ")


def test_a_tickets_own_fix_is_previous_only_once_it_regressed(webhook_client):
    from tickets.resolutions import previous_fixes

    first = webhook_client(ADF, adf("pl_copy_sales", "run-1")).json()
    lifecycle.resolve(first["ticket_id"], Actor.system("maria"), fix="Rotated the password")
    assert previous_fixes(Ticket.objects.get(pk=first["ticket_id"])) == []

    webhook_client(ADF, adf("pl_copy_sales", "run-2"))  # a regression

    (fix,) = previous_fixes(Ticket.objects.get(pk=first["ticket_id"]))
    assert fix.fix == "Rotated the password" and fix.ticket_id == first["ticket_id"]


def test_a_resolved_ticket_is_not_offered_a_fix_recorded_after_it_was_resolved():
    """A resolved ticket's page (and a re-analysis) reads "Last time": a fix of the same
    failure recorded on a later ticket is not one."""
    from tests.api import make_ticket
    from tickets.resolutions import previous_fixes

    responder = Actor.system("tests")
    first = make_ticket(fingerprint="f" * 16)
    lifecycle.resolve(first.pk, responder, fix="Rotated the password")
    resolved = make_ticket(fingerprint="f" * 16)
    lifecycle.resolve(resolved.pk, responder, fix="Raised the pool size to 50")
    later = make_ticket(fingerprint="f" * 16)
    lifecycle.resolve(later.pk, responder, fix="Failed over sql-prod-01 to its secondary")

    fixes = previous_fixes(Ticket.objects.get(pk=resolved.pk))
    assert [(fix.ticket_id, fix.fix) for fix in fixes] == [(first.pk, "Rotated the password")]
    assert [fix.fix for fix in previous_fixes(make_ticket(fingerprint="f" * 16))] == [
        "Failed over sql-prod-01 to its secondary",
        "Raised the pool size to 50",
        "Rotated the password",
    ]


def test_one_fix_recorded_on_many_tickets_is_offered_once():
    """An incident resolved with a fix writes it on every member: the next failure like them
    is shown it once, leaving room for other fixes."""
    from tests.api import make_ticket
    from tickets.resolutions import previous_fixes

    responder = Actor.system("tests")
    earlier = [make_ticket(fingerprint="f" * 16) for _ in range(3)]
    for ticket in earlier:
        lifecycle.resolve(ticket.pk, responder, fix="Failed over sql-prod-01 to its secondary")
    other = make_ticket(fingerprint="f" * 16)
    lifecycle.resolve(other.pk, responder, fix="Raised the pool size to 50")
    fixes = previous_fixes(make_ticket(fingerprint="f" * 16))
    assert sorted(fix.fix for fix in fixes) == [
        "Failed over sql-prod-01 to its secondary",
        "Raised the pool size to 50",
    ]


def test_a_regression_clears_recovered_at_source_from_the_remediation_status(webhook_client):
    failed = webhook_client(AIRFLOW, airflow("sales", "load", "run-1")).json()
    webhook_client(AIRFLOW, airflow("sales", "load", "run-2", state="success"))
    ticket = Ticket.objects.get(pk=failed["ticket_id"])
    assert ticket.remediation_status == "resolved_at_source"
    again = webhook_client(AIRFLOW, airflow("sales", "load", "run-1", try_number=2)).json()
    assert again["outcome"] == "regressed"
    ticket.refresh_from_db()
    assert ticket.resolved_at_source_at is None and ticket.remediation_status == ""


def test_the_jira_issue_keeps_identifiers_whole_and_makes_no_links_from_untrusted_text():
    """Run ids, hostnames and pipeline names are copied and searched in JIRA: their '-' and
    '_' stay. What would make a link, a mention, an image or a macro does not."""
    ticket = Ticket(
        id="ADF-20251210T123456-abc123",
        pipeline="pl_copy_sales-orders [click|https://evil.example] !https://evil.example/x.png!",
        run_id="adf:6f1d3c9a-2b7e-4a51-9c1e-0d2f4b8a7e31",
        finops_team="data_platform [~admin]",
        culprit="sql-server:sqlsrv-sales.database.windows.net {html}<script>{html}",
    )

    description = jira.jira_description(ticket)

    assert "*Run:* adf:6f1d3c9a-2b7e-4a51-9c1e-0d2f4b8a7e31" in description
    assert "*Pipeline:* pl_copy_sales-orders click https://evil.example" in description
    assert "*Team:* data_platform ~admin" in description
    assert "*Culprit:* sql-server:sqlsrv-sales.database.windows.net html <script> html" in (
        description
    )
    facts = [line for line in description.splitlines() if line.startswith("*")]
    assert len(facts) == 4
    for markup in ("[", "]", "|", "!", "{"):
        assert not any(markup in line for line in facts)


def test_a_fix_that_did_not_hold_is_said_so_and_ranks_below_one_that_held(webhook_client, settings):
    """The same failure back after a fix (its ticket regressed) showed that fix as "Last time"
    like any other, first when it was the latest: the next failure was led to the fix that had
    just failed. It now says it did not hold, and ranks below a fix that held."""
    from tickets.resolutions import previous_fixes

    settings.REGRESSION_WINDOW = timedelta(days=14)
    responder = Actor.system("maria")
    held = webhook_client(ADF, _failure("run-1")).json()["ticket_id"]
    lifecycle.resolve(held, responder, fix="Failed over sql-prod-01 to its secondary")
    Ticket.objects.filter(pk=held).update(resolved_at=timezone.now() - timedelta(days=30))
    later = webhook_client(ADF, _failure("run-2")).json()["ticket_id"]
    lifecycle.resolve(later, responder, fix="Restarted the integration runtime")
    assert webhook_client(ADF, _failure("run-3")).json()["outcome"] == "regressed"

    regressed = previous_fixes(Ticket.objects.get(pk=later))
    day = timezone.now().date().isoformat()
    assert [(fix.fix, fix.held) for fix in regressed] == [
        ("Failed over sql-prod-01 to its secondary", True),
        ("Restarted the integration runtime", False),
    ]
    assert regressed[1].headline.endswith(
        f"Restarted the integration runtime (did not hold: it failed again on {day})"
    )
    page = Client()
    page.force_login(make_user("vera", role="viewer"))
    shown_on_page = page.get(f"/tickets/{later}/").content.decode()
    assert f"did not hold: it failed again on {day}" in shown_on_page
    lifecycle.resolve(later, responder)
    Ticket.objects.filter(pk=later).update(resolved_at=timezone.now() - timedelta(days=30))
    following = webhook_client(ADF, _failure("run-4")).json()
    assert following["outcome"] == "created"
    shown = previous_fixes(Ticket.objects.get(pk=following["ticket_id"]))
    assert [fix.held for fix in shown] == [True, False]


def test_a_fix_that_held_is_found_behind_many_fixes_of_a_flapping_failure_that_did_not(
    webhook_client, settings
):
    """Of the fixes of the same failure only the latest twelve were read before ranking: a
    ticket resolved and back again twelve times, each with a fix that did not hold, hid the
    older fix that held, which ranks first."""
    from tickets.resolutions import previous_fixes

    settings.REGRESSION_WINDOW = timedelta(days=14)
    responder = Actor.system("maria")
    held = webhook_client(ADF, _failure("run-0")).json()["ticket_id"]
    lifecycle.resolve(held, responder, fix="Failed over sql-prod-01 to its secondary")
    Ticket.objects.filter(pk=held).update(resolved_at=timezone.now() - timedelta(days=30))
    flapping = webhook_client(ADF, _failure("run-1")).json()["ticket_id"]
    for run in range(2, 14):
        lifecycle.resolve(flapping, responder, fix="Restarted the integration runtime")
        assert webhook_client(ADF, _failure(f"run-{run}")).json()["outcome"] == "regressed"

    shown = previous_fixes(Ticket.objects.get(pk=flapping))
    assert [(fix.fix, fix.held) for fix in shown] == [
        ("Failed over sql-prod-01 to its secondary", True),
        ("Restarted the integration runtime", False),
    ]
