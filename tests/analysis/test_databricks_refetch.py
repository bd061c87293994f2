"""A Databricks run whose read for its error met the Databricks API throttling (429) or down
(5xx, no answer) is read again later, with a back-off, and its ticket gets the run's error
(analysis/outage_reruns.py, `refetch_databricks_errors`): through the real webhook view, the
real worker, the real databricks-sdk against the local Databricks API."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from analysis import outage_reruns, tasks
from analysis.enrichment_service import REFETCH
from analysis.services import analyse_ticket, analyse_tickets, enrich_tickets, rca_request_lapse
from tests.conftest import wait_for
from tests.fakes.databricks_api import FakeDatabricks, job_run, task
from tickets import lifecycle
from tickets.models import AuditLog, RcaSource, Ticket

WORKSPACE = "1234567890123456"
JOB_ID = 4242
QUOTA = (
    "Cluster '0923-164208-abcd1234' was terminated. Reason: CLOUD_PROVIDER_LAUNCH_FAILURE "
    "(CLOUD_FAILURE). Parameters: azure_error_code:OperationNotAllowed, azure_error_message:"
    "Operation could not be completed as it results in exceeding approved standardDSv3Family "
    "Cores quota."
)


@pytest.fixture
def databricks(settings):
    with FakeDatabricks() as fake:
        settings.DATABRICKS_HOST, settings.DATABRICKS_TOKEN = fake.url, fake.token
        settings.DATABRICKS_WORKSPACE_ID = WORKSPACE
        settings.ENRICHMENT_TIMEOUT_SECONDS = 1
        settings.DATABRICKS_REFETCH_DELAY_SECONDS = 0
        settings.GEMINI_API_KEY = ""
        settings.JIRA_URL = settings.SLACK_BOT_TOKEN = ""
        settings.AZURE_STORAGE_CONNECTION_STRING = ""
        run = job_run(100, [task("load", 101, "FAILED", QUOTA)], job_id=JOB_ID)
        fake.add_run(run)
        yield fake


def notify(run_id: int = 100, job_id: int = JOB_ID) -> str:
    body: dict[str, Any] = {
        "event_type": "jobs.on_failure",
        "workspace_id": WORKSPACE,
        "run": {"run_id": str(run_id)},
        "job": {"job_id": str(job_id), "name": f"nightly_load_{job_id}"},
    }
    response = Client().post(
        "/webhooks/databricks/",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_X_WEBHOOK_TOKEN=django_settings.WEBHOOK_TOKEN,
    )
    assert response.status_code == 202, response.content
    return str(response.json()["ticket_id"])


def analysed(ticket_id: str) -> Ticket | None:
    ticket = Ticket.objects.get(pk=ticket_id)
    return ticket if ticket.rca_source != RcaSource.PENDING else None


@pytest.mark.django_db(transaction=True)
def test_a_run_read_during_a_throttle_is_read_again_once_the_api_answers(celery_worker, databricks):
    databricks.throttle(retry_after=120, times=None, path_contains="/jobs/runs/get")
    ticket_id = notify()

    ticket = wait_for(lambda: analysed(ticket_id))
    assert QUOTA not in ticket.error_message
    assert ticket.details[REFETCH]["tries"] == 1
    assert "read again once the Databricks API answers" in ticket.rca_note

    databricks.clear_faults()
    assert tasks.refetch_databricks_errors() == 1

    ticket = wait_for(
        lambda: (t := Ticket.objects.get(pk=ticket_id)) and QUOTA in t.error_message and t
    )
    wait_for(lambda: analysed(ticket_id) and Ticket.objects.get(pk=ticket_id).error_type)
    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.details[REFETCH] is None
    assert ticket.error_type == "ResourceExhaustion"
    assert AuditLog.objects.filter(ticket_id=ticket_id, action="rca requested").exists()
    # Read: nothing more to queue.
    assert tasks.refetch_databricks_errors() == 0


@pytest.mark.django_db
def test_reads_failing_again_back_off_and_stop_at_the_tries(databricks, settings):
    settings.DATABRICKS_REFETCH_DELAY_SECONDS = 60
    settings.DATABRICKS_REFETCH_TRIES = 2
    databricks.fail(503, databricks.error_body(503, "down"), times=None)
    ticket_id = notify()
    analyse_ticket(ticket_id)
    assert Ticket.objects.get(pk=ticket_id).details[REFETCH]["tries"] == 1
    queued: list[str] = []

    def request(ticket_id: str, actor: Any, **kwargs: Any) -> bool:
        queued.append(ticket_id)
        return True

    # Not before its delay.
    assert outage_reruns.refetch_databricks_errors(request) == 0
    earlier = (timezone.now() - timedelta(seconds=61)).isoformat()
    Ticket.objects.filter(pk=ticket_id).update(
        details={
            **Ticket.objects.get(pk=ticket_id).details,
            REFETCH: {"failed_at": earlier, "tries": 1},
        }
    )
    assert outage_reruns.refetch_databricks_errors(request) == 1
    assert outage_reruns.refetch_databricks_errors(request) == 0  # taken: queued once
    assert queued == [ticket_id]

    analyse_ticket(ticket_id, force=True)  # the read queued, failing again
    mark = Ticket.objects.get(pk=ticket_id).details[REFETCH]
    assert mark["tries"] == 2 and "taken" not in mark
    # The second wait is twice the first.
    Ticket.objects.filter(pk=ticket_id).update(
        details={
            **Ticket.objects.get(pk=ticket_id).details,
            REFETCH: {**mark, "failed_at": earlier},
        }
    )
    assert outage_reruns.refetch_databricks_errors(request) == 0

    analyse_ticket(ticket_id, force=True)  # the last try spent: given up
    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.details[REFETCH] is None
    # Its RCA no longer says it is read again: it says how staff have it read.
    for text in (ticket.rca_note, ticket.rca_result):
        assert "read again once" not in text, text
        assert "it is not read again: ask for a fresh RCA" in text, text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "body"),
    [
        (502, "<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>"),
        (502, {"error_code": "BAD_GATEWAY", "message": "upstream connect error"}),
        (504, "<html><body>504 Gateway Time-out</body></html>"),
    ],
)
def test_a_gateway_error_is_read_again(databricks, status, body):
    """A 5xx the SDK has no class for (a 502 from the gateway in front of the workspace, as an
    outage answers) is a server error too: the run is read again, as after a 503."""
    databricks.fail(status, body, times=None)
    ticket_id = notify()
    analyse_ticket(ticket_id)

    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.details[REFETCH]["tries"] == 1, ticket.rca_note
    assert "read again once the Databricks API answers" in ticket.rca_note


@pytest.mark.django_db
def test_a_refused_token_is_not_read_again(databricks):
    databricks.fail(403, databricks.error_body(403, "Invalid access token."), times=None)
    ticket_id = notify()
    enrich_tickets([ticket_id])
    analyse_ticket(ticket_id)

    assert REFETCH not in Ticket.objects.get(pk=ticket_id).details


@pytest.mark.django_db
def test_a_burst_during_an_outage_waits_on_one_read_not_on_each(databricks):
    """A batch's first read meets the API down (every attempt 503 until the budget is spent):
    the batch's other runs (of other jobs) are not read, each waiting its budget in vain
    before anything pages, but marked to be read again. As the processing of a batch does."""
    for run_id, job_id in ((200, 2), (300, 3)):
        run = job_run(run_id, [task("load", run_id + 1, "FAILED", QUOTA)], job_id=job_id)
        databricks.add_run(run)
    databricks.fail(503, databricks.error_body(503, "down"), times=None)
    ticket_ids = [notify(100), notify(200, 2), notify(300, 3)]

    analyse_tickets(ticket_ids, enriched=enrich_tickets(ticket_ids))

    read = {r.param("run_id") for r in databricks.requests_to("/jobs/runs/get")}
    assert len(read) == 1  # one run read; the others waited on no read
    for ticket_id in ticket_ids:
        ticket = Ticket.objects.get(pk=ticket_id)
        assert ticket.rca_source != RcaSource.PENDING
        assert ticket.details[REFETCH]["tries"] == 1
        assert "503 down" in ticket.details[REFETCH]["reason"]


@pytest.mark.django_db
def test_with_re_reads_off_a_burst_during_an_outage_still_waits_on_one_read(databricks, settings):
    """`DATABRICKS_REFETCH_TRIES=0` turns the re-reads off, not the batch's short cut: the
    batch's other runs are not read each in turn, waiting its budget in vain before anything
    pages; nothing is marked to be read again."""
    settings.DATABRICKS_REFETCH_TRIES = 0
    for run_id, job_id in ((200, 2), (300, 3)):
        run = job_run(run_id, [task("load", run_id + 1, "FAILED", QUOTA)], job_id=job_id)
        databricks.add_run(run)
    databricks.fail(503, databricks.error_body(503, "down"), times=None)
    ticket_ids = [notify(100), notify(200, 2), notify(300, 3)]

    analyse_tickets(ticket_ids, enriched=enrich_tickets(ticket_ids))

    read = {r.param("run_id") for r in databricks.requests_to("/jobs/runs/get")}
    assert len(read) == 1
    for ticket_id in ticket_ids:
        ticket = Ticket.objects.get(pk=ticket_id)
        assert ticket.rca_source != RcaSource.PENDING
        assert REFETCH not in ticket.details
        assert "read again once the Databricks API answers" not in ticket.rca_note


@pytest.mark.django_db
def test_the_sweep_reads_its_tickets_from_their_partial_index(databricks):
    """Beat runs the sweep every 30 s: its look for tickets to read again is served by
    `ticket_databricks_refetch` (the planner is told not to scan the table, so a plan reading
    every ticket fails here), whichever tickets are stored."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        outage_reruns.refetch_databricks_errors(lambda *args, **kwargs: True)
    (look,) = [q["sql"] for q in queries if 'FROM "tickets_ticket"' in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN {look}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "ticket_databricks_refetch" in plan, plan


@pytest.mark.django_db
def test_a_resolved_ticket_leaves_the_re_reads(databricks):
    """Resolving drops the run's re-read mark, so the ticket leaves the sweep's partial index
    (it kept it for good: each sweep walked past it, and the index grew with every resolved
    ticket); a mark written on a resolved ticket anyway (an analysis across the resolve, an
    earlier release) is dropped by the next sweep, which reads no resolved ticket's run."""
    databricks.fail(503, databricks.error_body(503, "down"), times=None)
    ticket_id = notify()
    analyse_ticket(ticket_id)
    awaiting = Ticket.objects.awaiting_databricks_refetch()
    assert awaiting.filter(pk=ticket_id).exists()

    lifecycle.resolve(ticket_id, lifecycle.Actor.system("on-call"))

    assert Ticket.objects.get(pk=ticket_id).details[REFETCH] is None
    assert not awaiting.filter(pk=ticket_id).exists()

    mark = {"failed_at": (timezone.now() - timedelta(hours=1)).isoformat(), "tries": 1}
    Ticket.objects.filter(pk=ticket_id).update(
        details={**Ticket.objects.get(pk=ticket_id).details, REFETCH: mark}
    )
    queued: list[str] = []

    def request(ticket_id: str, actor: Any, **kwargs: Any) -> bool:
        queued.append(ticket_id)
        return True

    assert outage_reruns.refetch_databricks_errors(request) == 0
    assert queued == []
    assert Ticket.objects.get(pk=ticket_id).details[REFETCH] is None
    assert not awaiting.filter(pk=ticket_id).exists()


@pytest.mark.django_db
def test_a_take_whose_read_never_came_is_taken_again_after_the_lapse(databricks, settings):
    """A sweep takes the ticket and queues its read, and the worker dies (or the request is
    answered by a run already past its read): nothing writes the mark again. A later sweep,
    once a fresh RCA's run would have ended (`rca_request_lapse`), takes it again; it was read
    again never. The lost read counts as a try: reads lost again and again end at the tries."""
    settings.DATABRICKS_REFETCH_TRIES = 2
    databricks.fail(503, databricks.error_body(503, "down"), times=None)
    ticket_id = notify()
    analyse_ticket(ticket_id)
    queued: list[str] = []
    reasons: list[str] = []

    def request(ticket_id: str, actor: Any, **kwargs: Any) -> bool:
        queued.append(ticket_id)  # queued, and lost with its worker
        reasons.append(kwargs["reason"])
        return True

    assert outage_reruns.refetch_databricks_errors(request) == 1
    assert outage_reruns.refetch_databricks_errors(request) == 0  # its read may be under way

    def lose_the_read() -> None:
        mark = Ticket.objects.get(pk=ticket_id).details[REFETCH]
        assert "taken" in mark
        lapsed = timezone.now() - rca_request_lapse() - timedelta(seconds=1)
        Ticket.objects.filter(pk=ticket_id).update(
            details={
                **Ticket.objects.get(pk=ticket_id).details,
                REFETCH: {**mark, "taken": lapsed.isoformat()},
            }
        )

    lose_the_read()
    assert outage_reruns.refetch_databricks_errors(request) == 1
    assert queued == [ticket_id, ticket_id]
    assert Ticket.objects.get(pk=ticket_id).details[REFETCH]["tries"] == 2
    assert outage_reruns.refetch_databricks_errors(request) == 0  # taken anew

    assert "read again once the Databricks API answers" in (
        Ticket.objects.get(pk=ticket_id).rca_note
    )
    lose_the_read()  # the second lost read spends the last try: read once more, not again
    assert outage_reruns.refetch_databricks_errors(request) == 1
    assert queued == [ticket_id, ticket_id, ticket_id]
    assert reasons[-1] == outage_reruns.REFETCH_LAST_REASON
    mark = Ticket.objects.get(pk=ticket_id).details[REFETCH]
    assert "failed_at" not in mark and "given_up" in mark
    assert outage_reruns.refetch_databricks_errors(request) == 0  # out of the sweep
    assert not Ticket.objects.awaiting_databricks_refetch().filter(pk=ticket_id).exists()

    # That last read (the API still down) says the run is not read again, and how to ask.
    analyse_ticket(ticket_id, force=True, reason=reasons[-1])
    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.details[REFETCH] is None
    for text in (ticket.rca_note, ticket.rca_result):
        assert "read again once" not in text, text
        assert "it is not read again: ask for a fresh RCA" in text, text
    assert ticket.rca_note.startswith(outage_reruns.REFETCH_LAST_REASON)
    assert outage_reruns.refetch_databricks_errors(request) == 0
    assert queued == [ticket_id, ticket_id, ticket_id]
