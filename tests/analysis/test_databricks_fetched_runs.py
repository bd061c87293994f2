"""What a Databricks job run read for its error tells beyond the error: which failure it is
whether or not runs/get-output gave the error's trace, the run's page when the read failed,
and who owns the failure (the user the job runs as, jobs/get, else the run's creator). Through
the real webhook view, the real database and the real databricks-sdk against the local
Databricks API (tests/fakes/databricks_api.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from analysis.services import analyse_tickets, enrich_tickets
from tests.fakes.databricks_api import FakeDatabricks, job, job_run, task
from tests.tickets.test_incidents import post
from tickets import lifecycle
from tickets.models import AuditLog, RcaSource, Ticket
from tickets.services import folded_into

pytestmark = pytest.mark.django_db

DATABRICKS = "/webhooks/databricks/"
WORKSPACE = "1234567890123456"
JOB_ID = 4242
TABLE_MISSING = (
    "AnalysisException: [TABLE_OR_VIEW_NOT_FOUND] The table or view `sales`.`orders` cannot "
    "be found."
)
# The notebook's traceback, as runs/get-output gives it beside the error for some reads.
TRACE = (
    "---------------------------------------------------------------------------\n"
    "AnalysisException                         Traceback (most recent call last)\n"
    "File <command-2718281828>, line 3\n"
    "      1 from pyspark.sql import functions as F\n"
    "----> 3 orders = spark.table('sales.orders').where(F.col('day') == run_day)\n"
    "File /databricks/spark/python/pyspark/sql/session.py:1695, in SparkSession.table\n"
    "-> 1695     return DataFrame(self._jsparkSession.table(tableName), self)\n" + TABLE_MISSING
)
TRACE_LINE = "----> 3 orders = spark.table('sales.orders')"
CREATOR = "etl@example.com"
RUN_AS = "maria.garcia@example.com"
SERVICE_PRINCIPAL = "5f2c1a9e-8b3d-4c6e-9f1a-2b3c4d5e6f70"  # its user name: an application id


@pytest.fixture
def databricks(settings) -> Iterator[FakeDatabricks]:
    """DATABRICKS_HOST's workspace is WORKSPACE, which the notifications name."""
    with FakeDatabricks() as fake:
        settings.DATABRICKS_HOST, settings.DATABRICKS_TOKEN = fake.url, fake.token
        settings.DATABRICKS_WORKSPACE_ID = WORKSPACE
        settings.ENRICHMENT_TIMEOUT_SECONDS = 5
        settings.DEFAULT_FINOPS_OWNER = "on-call"
        yield fake


def failed_run(
    fake: FakeDatabricks, run_id: int, *, trace: str = "", creator: str = CREATOR
) -> None:
    """Run `run_id` of the job, started by `creator`, failed on TABLE_MISSING; its error read
    with `trace` ("": runs/get-output gives none)."""
    task_run = run_id + 1
    run = job_run(run_id=run_id, job_id=JOB_ID, tasks=[task("load", task_run, "FAILED")])
    fake.add_run({**run, "creator_user_name": creator})
    fake.outputs[task_run] = {"error": TABLE_MISSING, **({"error_trace": trace} if trace else {})}


def notification(run_id: int, workspace_id: str = WORKSPACE) -> dict[str, Any]:
    """The job's failure notification: ids only, no error text and no `run_page_url`."""
    body: dict[str, Any] = {
        "event_type": "jobs.on_failure",
        "run": {"run_id": str(run_id)},
        "job": {"job_id": str(JOB_ID), "name": "nightly_orders_load"},
    }
    if workspace_id:
        body["workspace_id"] = workspace_id
    return body


def notified_and_read(run_id: int, workspace_id: str = WORKSPACE) -> str:
    """The id of the ticket the run's notification opened, once its analysis read the run
    (`enrich_tickets`, as the analysis task does first)."""
    ticket_id = str(post(notification(run_id, workspace_id), DATABRICKS)["ticket_id"])
    enrich_tickets([ticket_id])
    return ticket_id


@pytest.mark.parametrize("first_with_trace", [True, False], ids=["trace-first", "trace-second"])
def test_one_error_read_with_and_without_its_trace_is_one_ticket(databricks, first_with_trace):
    failed_run(databricks, 100, trace=TRACE if first_with_trace else "")
    first = notified_and_read(100)
    failed_run(databricks, 200, trace="" if first_with_trace else TRACE)
    second = notified_and_read(200)

    assert folded_into(second) == first
    ticket = Ticket.objects.get()
    assert ticket.pk == first
    assert ticket.occurrence_count == 2
    # The ticket keeps the text its own read gave, trace and all.
    assert TABLE_MISSING in ticket.error_message
    assert (TRACE_LINE in ticket.error_message) is first_with_trace


@pytest.mark.parametrize("status", [403, 500])
def test_a_runs_page_is_linked_when_its_fetch_fails(databricks, status):
    databricks.fail(status, databricks.error_body(status, "no"), times=None, path_contains="/get")

    ticket = Ticket.objects.get(pk=notified_and_read(100))

    assert databricks.requests_to("/jobs/runs/get")  # the read was tried, and failed
    page = f"{databricks.url}/?o={WORKSPACE}#job/{JOB_ID}/run/100"
    assert ticket.links == {"run": page}


def test_a_runs_page_is_linked_on_the_azure_host_when_no_token_may_read_it(settings):
    """No DATABRICKS_TOKEN: the run is not read. DATABRICKS_HOST, a bare Azure host name, is
    an https one, and names the workspace's id."""
    settings.DATABRICKS_HOST = f"adb-{WORKSPACE}.7.azuredatabricks.net"
    settings.DATABRICKS_TOKEN = settings.DATABRICKS_WORKSPACE_ID = ""

    ticket = Ticket.objects.get(pk=notified_and_read(100))

    host = f"https://adb-{WORKSPACE}.7.azuredatabricks.net"
    assert ticket.links == {"run": f"{host}/?o={WORKSPACE}#job/{JOB_ID}/run/100"}


@pytest.mark.parametrize(
    ("named", "configured"),
    [
        pytest.param("", WORKSPACE, id="notification-names-no-workspace"),
        pytest.param("9876543210987654", WORKSPACE, id="another-workspace"),
        pytest.param(WORKSPACE, "", id="host-workspace-unknown"),
    ],
)
def test_no_runs_page_is_made_up_for_a_run_of_a_workspace_not_known_to_be_the_hosts(
    databricks, settings, named, configured
):
    """A guard (passes with and without 199a73b): the same run id in another workspace is
    another run, so its page on DATABRICKS_HOST would be another run's page."""
    settings.DATABRICKS_WORKSPACE_ID = configured
    databricks.fail(403, databricks.error_body(403, "no"), times=None, path_contains="/get")

    ticket = Ticket.objects.get(pk=notified_and_read(100, workspace_id=named))

    assert ticket.links == {}


@pytest.mark.parametrize(
    ("run_as", "owner"),
    [
        pytest.param(RUN_AS, "maria.garcia", id="a-user"),
        # A guard (passes with and without 199a73b): an application id names nobody to call.
        pytest.param(SERVICE_PRINCIPAL, "etl", id="a-service-principal-falls-back-to-creator"),
    ],
)
def test_the_user_a_databricks_job_runs_as_owns_its_failure(databricks, run_as, owner):
    """No ownership rule matches the job: its ticket had DEFAULT_FINOPS_OWNER until its run was
    read. The person the job runs as answers for what it does, whoever started this run."""
    databricks.jobs[JOB_ID] = job(JOB_ID, run_as=run_as)
    failed_run(databricks, 100, creator=CREATOR)

    ticket = Ticket.objects.get(pk=notified_and_read(100))

    assert ticket.finops_owner == owner
    rerouted = AuditLog.objects.get(ticket=ticket, action=lifecycle.REROUTED)
    assert (rerouted.before, rerouted.after) == (
        {"finops_owner": "on-call"},
        {"finops_owner": owner},
    )


def test_later_runs_started_by_others_are_counted_on_the_job_owners_ticket(databricks):
    databricks.jobs[JOB_ID] = job(JOB_ID, run_as=RUN_AS)
    failed_run(databricks, 100, creator=CREATOR)
    first = notified_and_read(100)
    for run_id, creator in [(200, "bob.jones@example.com"), (300, "ana.lima@example.com")]:
        failed_run(databricks, run_id, creator=creator)
        assert folded_into(notified_and_read(run_id)) == first

    ticket = Ticket.objects.get()
    assert (ticket.pk, ticket.occurrence_count) == (first, 3)
    assert ticket.finops_owner == "maria.garcia"
    assert AuditLog.objects.filter(ticket=ticket, action=lifecycle.REROUTED).count() == 1


def test_a_ticket_its_runs_creator_owns_keeps_that_owner_and_counts_later_runs(databricks):
    """The upgrade: the release before gave the ticket its run's creator (it asked no jobs/get;
    here jobs/get cannot tell of the job at first, which leaves the same ticket). The job's
    runs failing alike later are counted on it, and its owner stays: one re-route stands.
    A guard (passes with and without 199a73b)."""
    failed_run(databricks, 100, creator=CREATOR)
    first = notified_and_read(100)
    assert Ticket.objects.get(pk=first).finops_owner == "etl"

    databricks.jobs[JOB_ID] = job(JOB_ID, run_as=RUN_AS)
    failed_run(databricks, 200, creator="bob.jones@example.com")
    assert folded_into(notified_and_read(200)) == first

    ticket = Ticket.objects.get()
    assert (ticket.pk, ticket.occurrence_count) == (first, 2)
    assert ticket.finops_owner == "etl"
    assert AuditLog.objects.filter(ticket=ticket, action=lifecycle.REROUTED).count() == 1


def test_no_email_address_is_left_in_the_tickets_details(databricks):
    """The job's run-as user and the run's creator are e-mail addresses; what is kept of them
    is the owner's name. A guard (passes with and without 199a73b)."""
    databricks.jobs[JOB_ID] = job(JOB_ID, run_as=RUN_AS)
    failed_run(databricks, 100, creator=CREATOR)

    ticket = Ticket.objects.get(pk=notified_and_read(100))

    assert ticket.details["run_owner"] == ticket.finops_owner
    stored = json.dumps(
        [ticket.details, list(AuditLog.objects.filter(ticket=ticket).values("details", "after"))]
    )
    assert "@" not in stored


@pytest.mark.parametrize("read", [True, False], ids=["page-read", "page-made-up"])
def test_a_later_run_counted_on_the_ticket_links_its_own_page(databricks, read):
    """Databricks' notifications name no run page: a ticket's `run` link is the one its run's
    read gave (runs/get's `run_page_url`), else the page DATABRICKS_HOST shows for it. A later
    run failing alike is counted on the ticket (its own ticket folded into it): the link
    follows it, to its page, as a notification naming its page would make it."""
    if not read:
        databricks.fail(403, databricks.error_body(403, "no"), times=None, path_contains="/get")
    failed_run(databricks, 100)
    first = notified_and_read(100)
    failed_run(databricks, 200)
    assert folded_into(notified_and_read(200)) == first

    ticket = Ticket.objects.get()
    page = (
        f"https://example.cloud.databricks.com/?o=1#job/{JOB_ID}/run/200"
        if read
        else f"{databricks.url}/?o={WORKSPACE}#job/{JOB_ID}/run/200"
    )
    assert ticket.links == {"run": page}


def test_a_later_run_counted_at_ingest_links_its_own_page_when_no_token_may_read_it(settings):
    """No DATABRICKS_TOKEN: no run is read, and a run failing again is counted on the job's
    ticket as its notification lands. The ticket's `run` link is the latest run's page
    DATABRICKS_HOST shows (its notification names none), as its first run's was."""
    settings.DATABRICKS_HOST = f"adb-{WORKSPACE}.7.azuredatabricks.net"
    settings.DATABRICKS_TOKEN = settings.DATABRICKS_WORKSPACE_ID = ""
    first = notified_and_read(100)
    analyse_tickets([first])  # its analysis done before the next run fails
    assert Ticket.objects.get().rca_source != RcaSource.PENDING
    assert notified_and_read(200) == first

    ticket = Ticket.objects.get()
    assert ticket.occurrence_count == 2
    host = f"https://adb-{WORKSPACE}.7.azuredatabricks.net"
    assert ticket.links == {"run": f"{host}/?o={WORKSPACE}#job/{JOB_ID}/run/200"}
