"""A Databricks notification's run page: the workspace it names when the notification names
none (or another), the recovery keyed by it, and the ticket's run link following its latest
run. Through the real webhook view, the real database and the fake Databricks API."""

from __future__ import annotations

from typing import Any

import pytest

from analysis import enrichment_service, services
from tests.fakes.databricks_api import FakeDatabricks, job_run, task
from tickets.models import Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("migration_data")]

DATABRICKS = "/webhooks/databricks/"
JOB = "893517204661283"


def notification(
    run_id: int,
    *,
    workspace_id: str = "",
    run_page_url: str = "",
    event_type: str = "jobs.on_failure",
) -> dict[str, Any]:
    run: dict[str, Any] = {"run_id": str(run_id)}
    if run_page_url:
        run["run_page_url"] = run_page_url
    body: dict[str, Any] = {
        "event_type": event_type,
        "run": run,
        "job": {"job_id": JOB, "name": "nightly_sales_load"},
    }
    if workspace_id:
        body["workspace_id"] = workspace_id
    return body


def azure_page(workspace: str, run_id: int) -> str:
    return f"https://adb-{workspace}.7.azuredatabricks.net/?o={workspace}#job/{JOB}/run/{run_id}"


@pytest.fixture
def databricks(settings):
    with FakeDatabricks() as fake:
        settings.DATABRICKS_HOST, settings.DATABRICKS_TOKEN = fake.url, fake.token
        settings.DATABRICKS_WORKSPACE_ID = "42"
        yield fake


def _enriched_where_its_run_id_is_another_run(
    databricks: FakeDatabricks, ticket: Ticket
) -> enrichment_service.Enriched:
    """`enrich(ticket)`, DATABRICKS_HOST's workspace holding another run under the ticket's
    run id 5001, which must not be asked for."""
    databricks.add_run(job_run(run_id=5001, tasks=[task("t", 5002, "FAILED", "Other run")]))
    found = enrichment_service.enrich(ticket)
    assert not databricks.requests
    return found


@pytest.mark.parametrize(
    "page",
    [
        f"https://adb-7771234.3.azuredatabricks.net/#job/{JOB}/run/5001",
        f"https://dbc-1a2b3c4d-5e6f.cloud.databricks.com/?o=7771234#job/{JOB}/run/5001",
    ],
)
def test_a_notification_naming_no_workspace_is_of_the_one_its_run_page_names(
    webhook_client, databricks, page
):
    """Its error is not fetched from DATABRICKS_HOST's workspace (42): the run page says the
    run is of workspace 7771234, where the same run id is another run."""
    webhook_client(DATABRICKS, notification(5001, run_page_url=page))
    ticket = Ticket.objects.get()
    assert ticket.affected_entity["workspace_id"] == "7771234"

    found = _enriched_where_its_run_id_is_another_run(databricks, ticket)

    assert found.missing == [
        "the run's error was not fetched: the run is of Databricks workspace 7771234, and "
        "DATABRICKS_HOST reads workspace 42 (DATABRICKS_WORKSPACE_ID, else its Azure host name): "
        "the same run id there is another run"
    ]


def test_a_notification_whose_run_page_names_another_workspace_is_not_read(
    webhook_client, databricks
):
    """It names DATABRICKS_HOST's workspace, its run page another: which one the run is of is
    unclear, so its error is not fetched, naming both."""
    body = notification(5001, workspace_id="42", run_page_url=azure_page("7771234", 5001))
    webhook_client(DATABRICKS, body)
    ticket = Ticket.objects.get()
    assert ticket.affected_entity["run_page_workspace_id"] == "7771234"

    found = _enriched_where_its_run_id_is_another_run(databricks, ticket)

    assert found.missing == [
        "the run's error was not fetched: the notification named Databricks workspace 42 but "
        "its run page (run_page_url) is of workspace 7771234: which workspace the run is of is "
        "unclear, and the same run id in the other one is another run"
    ]


@pytest.mark.parametrize(
    ("failure", "success"),
    [
        ({"run_page_url": azure_page("7771234", 5001)}, {"workspace_id": "7771234"}),
        ({}, {"workspace_id": "7771234"}),
        ({"workspace_id": "7771234"}, {}),
    ],
    ids=["failure-named-by-its-run-page", "failure-names-none", "success-names-none"],
)
def test_a_jobs_success_resolves_its_failure_whichever_of_them_names_the_workspace(
    webhook_client, failure, success
):
    ticket_id = webhook_client(DATABRICKS, notification(5001, **failure)).json()["ticket_id"]

    answer = webhook_client(
        DATABRICKS, notification(5003, event_type="jobs.on_success", **success)
    ).json()

    assert (answer["outcome"], answer["ticket_id"]) == ("resolved", ticket_id)
    assert Ticket.objects.get(pk=ticket_id).status == "resolved"


def test_a_success_of_a_named_workspace_leaves_the_same_job_of_another(webhook_client):
    webhook_client(DATABRICKS, notification(5001, workspace_id="7771234"))

    answer = webhook_client(
        DATABRICKS, notification(5003, workspace_id="42", event_type="jobs.on_success")
    ).json()

    assert answer["outcome"] == "ignored"
    assert Ticket.objects.get().status == "open"


def test_the_tickets_run_link_is_its_latest_failed_runs_page(webhook_client):
    """A later run failing the same way is counted on the ticket: its page is the ticket's run
    page (the run a repair acts on), and a later run whose notification names no page leaves
    none (not an older run's)."""
    from tests.api import jwt_client, make_user

    first = webhook_client(DATABRICKS, notification(5001, run_page_url=azure_page("77", 5001)))
    ticket_id = first.json()["ticket_id"]
    again = webhook_client(DATABRICKS, notification(5005, run_page_url=azure_page("77", 5005)))
    assert again.json()["ticket_id"] == ticket_id

    assert Ticket.objects.get(pk=ticket_id).links == {"run": azure_page("77", 5005)}
    detail = jwt_client(make_user("viewer")).get(f"/api/v1/tickets/{ticket_id}/").json()
    assert detail["links"] == {"run": azure_page("77", 5005)}

    webhook_client(DATABRICKS, notification(5009))
    assert Ticket.objects.get(pk=ticket_id).occurrence_count == 3
    assert Ticket.objects.get(pk=ticket_id).links == {}


def test_a_forced_reanalysis_fetches_the_latest_runs_error(webhook_client, settings):
    """The error was not fetched while the credentials were unset; runs 5001 then 5005 failed.
    Asked again once they are set, the error read is run 5005's, the run a repair acts on."""
    ticket_id = webhook_client(DATABRICKS, notification(5001)).json()["ticket_id"]
    webhook_client(DATABRICKS, notification(5005))
    assert Ticket.objects.get(pk=ticket_id).occurrence_count == 2

    with FakeDatabricks() as databricks:
        settings.DATABRICKS_HOST, settings.DATABRICKS_TOKEN = databricks.url, databricks.token
        for run, error in ((5001, "FileNotFoundException"), (5005, "OutOfMemoryError")):
            databricks.add_run(job_run(run_id=run, tasks=[task("t", run + 1, "FAILED", error)]))
            databricks.outputs[run + 1] = {"error": f"java.lang.{error}: in run {run}"}
        services.analyse_ticket(ticket_id, force=True)

    ticket = Ticket.objects.get(pk=ticket_id)
    assert "OutOfMemoryError" in ticket.error_message
    assert "FileNotFoundException" not in ticket.error_message


def _task_notification(run_page_url: str = "") -> dict[str, Any]:
    body = notification(618272946372915, run_page_url=run_page_url)
    body["run"]["parent_run_id"] = "5001"
    body["task"] = {"task_key": "ingest_orders"}
    return body


@pytest.mark.parametrize(
    ("before", "redelivered"),
    [
        (notification(5001), notification(5001, run_page_url=azure_page("7771234", 5001))),
        (_task_notification(), _task_notification(azure_page("7771234", 5001))),
    ],
    ids=["job", "task"],
)
def test_a_failure_stored_before_the_run_page_named_its_workspace_is_redelivered_as_a_duplicate(
    webhook_client, before, redelivered
):
    """The release before f216631 keyed a notification without workspace_id by workspace
    "unknown" whatever its run page named: stored then, the first post stands for that
    release's row (its keys are the ones a notification without a run page gets now). Its
    redelivery after the upgrade is the same run's failure: a duplicate, not a regression of
    the resolved ticket nor one more occurrence of the open one."""
    ticket_id = webhook_client(DATABRICKS, before).json()["ticket_id"]
    assert Ticket.objects.get(pk=ticket_id).run_id.startswith("databricks:unknown:5001")

    again = webhook_client(DATABRICKS, redelivered).json()
    assert (again["outcome"], again["ticket_id"]) == ("duplicate", ticket_id)

    Ticket.objects.filter(pk=ticket_id).update(status="resolved")
    once_more = webhook_client(DATABRICKS, redelivered).json()
    assert (once_more["outcome"], once_more["ticket_id"]) == ("duplicate", ticket_id)
    ticket = Ticket.objects.get(pk=ticket_id)
    assert (ticket.status, ticket.occurrence_count) == ("resolved", 1)


def test_a_new_run_of_a_job_failing_before_the_upgrade_is_keyed_by_its_run_pages_workspace(
    webhook_client,
):
    webhook_client(DATABRICKS, notification(5001))

    webhook_client(DATABRICKS, notification(5002, run_page_url=azure_page("7771234", 5002)))

    assert Ticket.objects.get().latest_run["run_key"] == "databricks:7771234:5002"


def test_a_task_failure_of_a_run_failing_before_the_upgrade_is_counted_on_its_ticket(
    webhook_client,
):
    ticket_id = webhook_client(DATABRICKS, notification(5001)).json()["ticket_id"]

    answer = webhook_client(DATABRICKS, _task_notification(azure_page("7771234", 5001))).json()

    assert (answer["outcome"], answer["ticket_id"]) == ("correlated", ticket_id)
    assert Ticket.objects.count() == 1
