"""A Databricks job run repaired and failing again keeps its run id, and its notification names
no attempt: the run's repair history (runs/get, read through the real databricks-sdk from the
fake Databricks API) tells the failure of a repair from a redelivery. Through the real webhook
view, the real database and the background processing of the delivery."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient

from integrations import processing
from integrations.models import WebhookDelivery
from tests.fakes.databricks_api import FakeDatabricks, job_run, task
from tickets import lifecycle
from tickets.lifecycle import Actor
from tickets.models import AuditLog, Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("migration_data")]

DATABRICKS = "/webhooks/databricks/"
WORKSPACE = "42"
RUN = 7001


@pytest.fixture
def databricks(settings: Any) -> Iterator[FakeDatabricks]:
    with FakeDatabricks() as fake:
        settings.DATABRICKS_HOST, settings.DATABRICKS_TOKEN = fake.url, fake.token
        settings.DATABRICKS_WORKSPACE_ID = WORKSPACE
        fake.add_run(
            job_run(run_id=RUN, tasks=[task("transform", 7003, "FAILED", "Spark driver died")])
        )
        yield fake


def notification(event_type: str = "jobs.on_failure") -> dict[str, Any]:
    return {
        "event_type": event_type,
        "workspace_id": WORKSPACE,
        "run": {"run_id": str(RUN)},
        "job": {"job_id": "11223344", "name": "nightly-etl"},
    }


def deliver(
    webhook_client: Any, event_type: str = "jobs.on_failure"
) -> tuple[str, WebhookDelivery]:
    """Post the run's notification and process its delivery: ingest's answer, and the inbox
    row as the background left it."""
    answer = webhook_client(DATABRICKS, notification(event_type))
    assert answer.status_code == 202, answer.content
    tracking_id = answer.json()["tracking_id"]
    delivery = WebhookDelivery.objects.get(tracking_id=tracking_id)
    processing.process_delivery(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "processed"
    return answer.json()["outcome"], delivery


def repair_by_hand(fake: FakeDatabricks, result_state: str) -> int:
    """What Repair run in the Databricks UI does: a repair of the run's task (by a client of
    its own, not the service's), which ends in `result_state`."""
    client = WorkspaceClient(host=fake.url, token=fake.token, auth_type="pat")
    history = client.jobs.get_run(RUN, include_history=True).repair_history or []
    latest = next((item.id for item in reversed(history) if item.id is not None), None)
    waiter = client.jobs.repair_run(RUN, rerun_tasks=["transform"], latest_repair_id=latest)
    fake.finish_repair(RUN, result_state, "Spark driver died again")
    assert waiter.response is not None and waiter.response.repair_id is not None
    return waiter.response.repair_id


def resolved_by_people(ticket_id: str) -> None:
    lifecycle.resolve(ticket_id, Actor.system("on-call"), fix="restarted the cluster")
    assert Ticket.objects.get(pk=ticket_id).status == "resolved"


def test_a_run_repaired_by_hand_failing_again_regresses_its_resolved_ticket(
    webhook_client, databricks
):
    _, first = deliver(webhook_client)
    assert first.outcome == "created"
    ticket_id = str(first.ticket_id)
    resolved_by_people(ticket_id)

    # The notification delivered again, the run not repaired: a duplicate.
    _, again = deliver(webhook_client)
    assert (again.outcome, again.ticket_id) == ("duplicate", ticket_id)
    assert Ticket.objects.get(pk=ticket_id).status == "resolved"

    repair_id = repair_by_hand(databricks, "FAILED")
    answered, repaired = deliver(webhook_client)

    # Ingest cannot tell it from a redelivery (no external call there); its processing can.
    assert answered == "duplicate"
    assert (repaired.outcome, repaired.ticket_id) == ("regressed", ticket_id)
    assert repaired.event["occurrence_key"].endswith(f"#repair:{repair_id}")
    assert repaired.event["details"]["repair_id"] == repair_id
    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.status == "open" and ticket.regressed_at is not None
    assert ticket.occurrence_count == 2
    regressed = AuditLog.objects.get(ticket_id=ticket_id, action="regressed")
    assert regressed.details["occurrence_key"].endswith(f"#repair:{repair_id}")

    # The repair's failure delivered again: a duplicate, counted once.
    _, redelivered = deliver(webhook_client)
    assert (redelivered.outcome, redelivered.ticket_id) == ("duplicate", ticket_id)
    assert Ticket.objects.get(pk=ticket_id).occurrence_count == 2


def test_a_failed_repair_while_the_ticket_is_open_is_counted_on_it(webhook_client, databricks):
    _, first = deliver(webhook_client)
    ticket_id = str(first.ticket_id)

    first_repair = repair_by_hand(databricks, "FAILED")
    _, counted = deliver(webhook_client)
    second_repair = repair_by_hand(databricks, "FAILED")
    _, counted_again = deliver(webhook_client)

    assert second_repair != first_repair
    assert (counted.outcome, counted.ticket_id) == ("correlated", ticket_id)
    assert (counted_again.outcome, counted_again.ticket_id) == ("correlated", ticket_id)
    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.status == "open" and ticket.occurrence_count == 3
    recurred = AuditLog.objects.filter(ticket_id=ticket_id, action="recurred").order_by("pk")
    assert [entry.details["occurrence_key"].rsplit("#", 1)[1] for entry in recurred] == [
        f"repair:{first_repair}",
        f"repair:{second_repair}",
    ]


def test_a_repair_failing_after_the_runs_success_ended_its_ticket_regresses_it(
    webhook_client, databricks
):
    """A repair succeeded and the run's success resolved its ticket at its source (as it
    does after a repair by the service's remediation); a later repair fails. The run's success
    was the earlier attempt's: the regression stays open."""
    _, first = deliver(webhook_client)
    ticket_id = str(first.ticket_id)
    repair_by_hand(databricks, "SUCCESS")
    _, success = deliver(webhook_client, "jobs.on_success")
    assert (success.outcome, success.ticket_id) == ("resolved", ticket_id)

    repair_by_hand(databricks, "FAILED")
    _, repaired = deliver(webhook_client)

    assert (repaired.outcome, repaired.ticket_id) == ("regressed", ticket_id)
    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.status == "open" and ticket.resolved_at_source_at is None


def test_the_failure_of_a_succeeded_runs_earlier_attempt_delivered_again_is_a_duplicate(
    webhook_client, databricks
):
    _, first = deliver(webhook_client)
    ticket_id = str(first.ticket_id)
    repair_by_hand(databricks, "SUCCESS")

    _, again = deliver(webhook_client)

    assert (again.outcome, again.ticket_id) == ("duplicate", ticket_id)
    assert Ticket.objects.get(pk=ticket_id).occurrence_count == 1


def test_a_repairs_failure_that_opened_the_ticket_delivered_again_is_a_duplicate(
    webhook_client, databricks
):
    """The repair failed before the service heard of the run (the run's first failure was
    never delivered): the failure that opened the ticket was the repair's."""
    repair_by_hand(databricks, "FAILED")
    _, first = deliver(webhook_client)
    ticket_id = str(first.ticket_id)

    _, again = deliver(webhook_client)

    assert (again.outcome, again.ticket_id) == ("duplicate", ticket_id)
    assert Ticket.objects.get(pk=ticket_id).occurrence_count == 1


def test_a_repair_history_that_cannot_be_read_leaves_a_duplicate_saying_so(
    webhook_client, databricks
):
    _, first = deliver(webhook_client)
    ticket_id = str(first.ticket_id)
    resolved_by_people(ticket_id)
    repair_by_hand(databricks, "FAILED")
    databricks.fail(403, databricks.error_body(403, "Invalid access token."))

    _, again = deliver(webhook_client)

    assert (again.outcome, again.ticket_id) == ("duplicate", ticket_id)
    assert again.reason.startswith("a duplicate: the run's repair history was not read")
    assert "403" in again.reason
    assert Ticket.objects.get(pk=ticket_id).status == "resolved"
