"""Runs of one Databricks job are told apart by their errors, which their notifications do not
carry: a real Celery worker and inbox relay, the real databricks-sdk, jira and slack-sdk clients
against the local servers (tests/fakes)."""

from __future__ import annotations

from typing import Any

import pytest

from integrations.models import DeliveryStatus, WebhookDelivery
from tests.analysis.test_enrichment_incidents import (
    SQL_DOWN,
    SQL_DOWN_ELSEWHERE,
    TABLE_MISSING,
    WORKSPACE,
    databricks,
    targets,
)
from tests.conftest import wait_for
from tests.fakes.databricks_api import FakeDatabricks, job_run, task
from tests.integrations.test_incident_paging import paged_incident, settled
from tests.tickets.test_incidents import CULPRIT, post, storm_failure
from tickets import lifecycle
from tickets.lifecycle import Actor
from tickets.models import AuditLog, Ticket
from tickets.vocabulary import Status

pytestmark = pytest.mark.django_db(transaction=True)

__all__ = ["databricks", "targets"]  # fixtures

JOB_ID = 4242


def run_failure(fake: FakeDatabricks, run_id: int, error: str) -> dict[str, Any]:
    """Run `run_id` of one job failed with `error`; its notification carries ids only."""
    task_run = run_id + 1
    fake.add_run(job_run(run_id=run_id, job_id=JOB_ID, tasks=[task("load", task_run, "FAILED")]))
    fake.outputs[task_run] = {"error": error}
    return {
        "event_type": "jobs.on_failure",
        "workspace_id": WORKSPACE,
        "run": {"run_id": str(run_id)},
        "job": {"job_id": str(JOB_ID), "name": "nightly_orders_load"},
    }


def processed(answer: dict[str, Any]) -> WebhookDelivery:
    """The delivery once processed (its ticket and outcome as processing left them)."""
    return wait_for(
        lambda: WebhookDelivery.objects.filter(
            tracking_id=answer["tracking_id"], status=DeliveryStatus.PROCESSED
        ).first(),
        30,
    )


def test_runs_of_one_job_are_one_ticket_per_error(celery_worker, targets, databricks):
    jira, _ = targets
    first = processed(post(run_failure(databricks, 100, TABLE_MISSING), "/webhooks/databricks/"))
    assert first.outcome == "created"

    # Another run failing for another reason is a failure of its own.
    other = processed(
        post(run_failure(databricks, 200, SQL_DOWN_ELSEWHERE), "/webhooks/databricks/")
    )
    assert other.outcome == "created"
    assert other.ticket_id != first.ticket_id

    # A third failing as the first did is one more occurrence of the first's ticket: the
    # ticket it opened until its error was known is gone, its delivery counted on the first.
    body = run_failure(databricks, 300, TABLE_MISSING)
    again = processed(post(body, "/webhooks/databricks/"))
    assert (again.ticket_id, again.outcome) == (first.ticket_id, "correlated")
    settled()

    assert Ticket.objects.count() == 2
    ticket = Ticket.objects.get(pk=first.ticket_id)
    assert ticket.occurrence_count == 2
    assert TABLE_MISSING in ticket.error_message
    assert ticket.latest_run["run_key"] == f"databricks:{WORKSPACE}:300"
    recurred = AuditLog.objects.get(ticket_id=ticket.pk, action="recurred")
    assert recurred.details["how"] == "same fingerprint"
    assert SQL_DOWN_ELSEWHERE in Ticket.objects.get(pk=other.ticket_id).error_message
    # Nothing paged for the folded one: one issue per ticket.
    assert len(jira.issues) == 2

    # Its notification delivered again is a duplicate of the ticket it was counted on.
    assert post(body, "/webhooks/databricks/")["outcome"] == "duplicate"
    assert post(body, "/webhooks/databricks/")["ticket_id"] == first.ticket_id
    assert Ticket.objects.get(pk=first.ticket_id).occurrence_count == 2


def test_a_regression_known_by_its_fetched_error_joins_its_culprits_incident(
    celery_worker, targets, databricks
):
    """The job failed on the storm's server, alone, and was resolved; the storm's incident
    formed since. The job failing on that server again regresses its ticket into the
    incident, as any member's regression would: its culprit is the fetched error's."""
    first = processed(post(run_failure(databricks, 100, SQL_DOWN), "/webhooks/databricks/"))
    ticket = Ticket.objects.get(pk=first.ticket_id)
    assert (ticket.culprit, ticket.incident_id) == (CULPRIT, None)
    settled()
    lifecycle.resolve(ticket.pk, Actor.system("test"))
    [post(storm_failure(f"pl_member_{n}")) for n in range(2)]
    incident = paged_incident()

    again = processed(post(run_failure(databricks, 200, SQL_DOWN), "/webhooks/databricks/"))
    assert (again.ticket_id, again.outcome) == (ticket.pk, "regressed")
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.incident_id == incident.pk
    assert Ticket.objects.filter(source="databricks").count() == 1


def test_runs_whose_errors_could_not_be_fetched_are_one_ticket_of_their_job(
    celery_worker, databricks
):
    """The API knows neither run (it failed to answer): their errors stay unknown, and the
    job's failures are one ticket, as before the errors were fetched."""
    body = run_failure(databricks, 100, TABLE_MISSING)
    databricks.runs.clear()
    first = processed(post(body, "/webhooks/databricks/"))
    body["run"]["run_id"] = "200"
    again = processed(post(body, "/webhooks/databricks/"))

    assert (again.ticket_id, again.outcome) == (first.ticket_id, "correlated")
    ticket = Ticket.objects.get(pk=first.ticket_id)
    assert ticket.occurrence_count == 2
    assert "fingerprint_pending" not in ticket.details
