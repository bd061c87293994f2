"""One failed ADF pipeline run posted both ways, as the ADF webhook (a Web activity in the
pipeline's failure path) and as a `PipelineFailedRuns` metric alert, which names no run: the
alert's analysis finds the run with the real azure-mgmt-datafactory client (against the local
ARM server), and the run is one ticket and one page whichever lands first. The pages are
checked through a real Celery worker and inbox relay, with the real jira and slack-sdk clients
against the local servers (tests/fakes); the races and the cases left alone call the
analysis' enrichment step directly."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connections

from analysis.services import enrich_tickets
from integrations.ingest import ingest_delivery
from integrations.models import DeliveryStatus, OutboundDelivery, WebhookDelivery
from tests.analysis.test_enrichment_incidents import targets
from tests.conftest import local_payload, wait_for, while_held
from tests.fakes.azure_management_api import (
    FakeAzureManagement,
    adf_activity_run,
    adf_pipeline_run,
)
from tests.integrations.test_incident_paging import settled
from tests.integrations.test_webhooks import adf_api
from tests.tickets.test_incidents import post
from tickets import lifecycle
from tickets.lifecycle import Actor
from tickets.models import AuditLog, FoldedTicket, Occurrence, Ticket
from tickets.vocabulary import Source, Status

pytestmark = pytest.mark.django_db(transaction=True)

__all__ = ["adf_api", "targets"]  # fixtures

AZURE = "/webhooks/azure-monitor/"
ADF = "/webhooks/adf/"
RUN_ID = "5b8e2c41-7d3a-4f19-a6c2-9e0d1f3b7a55"
WHERE = ("rg-data-platform", "adf-sales-prod")
PIPELINE = "pl_sales_daily_load"
ERROR = "The value of the column 'amount' cannot be null in the sink table 'dbo.orders'."


def metric_alert(condition: str = "Fired") -> dict[str, Any]:
    """The `PipelineFailedRuns` alert of the factory's pipeline (tests/payloads/azure)."""
    body = copy.deepcopy(local_payload("azure/adf_metric_pipeline_failed_runs.json"))
    if condition == "Resolved":
        essentials = body["data"]["essentials"]
        essentials["monitorCondition"] = "Resolved"
        essentials["resolvedDateTime"] = "2025-03-04T06:27:42.1284531Z"
    return body


def failed_run(arm: FakeAzureManagement) -> dict[str, Any]:
    """The run the alert counted, as the ARM API tells about it: it failed 20 minutes before
    the alert fired."""
    fired = datetime.fromisoformat(metric_alert()["data"]["essentials"]["firedDateTime"][:26])
    run = adf_pipeline_run(
        RUN_ID,
        PIPELINE,
        run_start=fired.replace(tzinfo=UTC) - timedelta(minutes=20),
        subscription_id="aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e",
        resource_group=WHERE[0],
        factory=WHERE[1],
    )
    arm.add_pipeline_run(*WHERE, run)
    arm.add_activity_runs(
        *WHERE,
        RUN_ID,
        [adf_activity_run(run, "Copy_Orders", "Failed", error_code="2200", message=ERROR)],
    )
    return run


def adf_webhook() -> dict[str, Any]:
    """The pipeline's own failure webhook of the same run."""
    return {
        "factory": WHERE[1],
        "pipeline": PIPELINE,
        "run_id": RUN_ID,
        "activity": "Copy_Orders",
        "error_code": "2200",
        "error_message": ERROR,
        "failure_type": "UserError",
        "status": "Failed",
        "subscription_id": "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e",
        "resource_group": WHERE[0],
    }


def processed(answer: dict[str, Any]) -> WebhookDelivery:
    """The delivery once processed (its ticket and outcome as processing left them)."""
    return wait_for(
        lambda: WebhookDelivery.objects.filter(
            tracking_id=answer["tracking_id"], status=DeliveryStatus.PROCESSED
        ).first(),
        30,
    )


def pages(ticket_id: str) -> list[str]:
    return list(
        OutboundDelivery.objects.filter(ticket_id=ticket_id, action="create").values_list(
            "target", flat=True
        )
    )


def test_a_metric_alert_of_a_run_with_a_ticket_is_folded_into_it_and_pages_nothing(
    celery_worker, targets, adf_api
):
    jira, slack = targets
    failed_run(adf_api)
    run_ticket = processed(post(adf_webhook(), ADF))
    assert run_ticket.outcome == "created"
    settled()
    assert len(jira.issues) == 1
    assert len(slack.top_level()) == 1

    answer = post(metric_alert(), AZURE)
    alert = processed(answer)
    settled()

    # Its delivery is one more occurrence of the run's ticket; its own ticket is gone, its id
    # leading there, and nothing paged for it.
    assert (alert.ticket_id, alert.outcome) == (run_ticket.ticket_id, "correlated")
    assert Ticket.objects.count() == 1
    assert FoldedTicket.objects.get(ticket_id=answer["ticket_id"]).into_id == alert.ticket_id
    assert pages(answer["ticket_id"]) == []
    assert len(jira.issues) == 1
    assert len(slack.top_level()) == 1
    ticket = Ticket.objects.get(pk=run_ticket.ticket_id)
    assert ticket.occurrence_count == 2
    recurred = AuditLog.objects.get(ticket_id=ticket.pk, action="recurred")
    assert recurred.details["how"] == "same run"
    assert recurred.details["folded_from"] == answer["ticket_id"]

    # The alert delivered again is a duplicate of the run's ticket.
    again = post(metric_alert(), AZURE)
    assert (again["outcome"], again["ticket_id"]) == ("duplicate", ticket.pk)

    # Its Resolved says its count fell, not that the run recovered: the run's ticket stays.
    resolved = post(metric_alert("Resolved"), AZURE)
    assert (resolved["outcome"], resolved["ticket_id"]) == ("ignored", ticket.pk)
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN and ticket.resolved_at_source_at is None
    kept = AuditLog.objects.get(ticket_id=ticket.pk, action="alert resolved")
    assert kept.details["run_not_recovered"] == f"adf:{RUN_ID}"


def test_the_webhook_of_a_run_an_alert_found_first_is_one_more_occurrence_of_its_ticket(
    celery_worker, targets, adf_api
):
    jira, _ = targets
    failed_run(adf_api)
    alert = processed(post(metric_alert(), AZURE))
    settled()
    ticket = Ticket.objects.get(pk=alert.ticket_id)
    assert ticket.run_id == f"adf:{RUN_ID}"
    assert ERROR in ticket.error_message
    found = AuditLog.objects.get(ticket_id=ticket.pk, action="run found")
    assert found.after == {"run_id": f"adf:{RUN_ID}"}
    assert len(jira.issues) == 1

    answer = post(adf_webhook(), ADF)
    assert (answer["outcome"], answer["ticket_id"]) == ("correlated", ticket.pk)
    processed(answer)
    settled()
    assert Ticket.objects.count() == 1
    assert Ticket.objects.get(pk=ticket.pk).occurrence_count == 2
    assert len(jira.issues) == 1

    again = post(adf_webhook(), ADF)
    assert (again["outcome"], again["ticket_id"]) == ("duplicate", ticket.pk)

    # It stays the alert's ticket: the pipeline's success does not end it, its Resolved does.
    succeeded = post({**adf_webhook(), "run_id": "rerun-1", "status": "Succeeded"}, ADF)
    assert (succeeded["outcome"], succeeded["ticket_id"]) == ("ignored", None)
    resolved = post(metric_alert("Resolved"), AZURE)
    assert (resolved["outcome"], resolved["ticket_id"]) == ("resolved", ticket.pk)


def test_a_webhook_landing_while_the_alerts_run_is_settled_is_one_ticket(adf_api):
    """The run's webhook ingested while the alert's analysis finds the run: settling waits for
    the run's lock the webhook's claim holds, and folds the alert into the webhook's ticket."""
    failed_run(adf_api)
    alert = post(metric_alert(), AZURE)["ticket_id"]
    body = json.dumps(adf_webhook()).encode()

    def settling() -> dict[str, Any]:
        try:
            return enrich_tickets([alert])
        finally:
            connections.close_all()

    fetched, waited = while_held(lambda: ingest_delivery(Source.ADF, body), settling)

    assert waited
    assert fetched == {}  # folded
    run_ticket = Ticket.objects.get()
    assert run_ticket.run_id == f"adf:{RUN_ID}" and run_ticket.source == Source.ADF
    assert run_ticket.occurrence_count == 2
    assert Occurrence.objects.filter(ticket_id=run_ticket.pk).count() == 2


def test_an_alerts_run_settled_while_the_webhook_lands_is_one_ticket(adf_api):
    """The other way round: the webhook waits for the run's lock settling holds, and finds the
    alert's ticket by the run's key it took."""
    failed_run(adf_api)
    alert = post(metric_alert(), AZURE)["ticket_id"]

    def the_webhook() -> dict[str, Any]:
        try:
            return post(adf_webhook(), ADF)
        finally:
            connections.close_all()

    answer, waited = while_held(lambda: enrich_tickets([alert]), the_webhook)

    assert waited
    assert (answer["outcome"], answer["ticket_id"]) == ("correlated", alert)
    assert Ticket.objects.get().occurrence_count == 2


def test_a_metric_alert_whose_run_ticket_is_resolved_stays_a_ticket_of_its_own(adf_api):
    """The run's ticket was resolved before the alert's analysis (its rerun succeeded): the
    failure the alert counted is over, and folding would reopen the ticket. The alert's ticket
    stays as it was."""
    failed_run(adf_api)
    run_ticket = post(adf_webhook(), ADF)["ticket_id"]
    post({**adf_webhook(), "run_id": "rerun-1", "status": "Succeeded"}, ADF)
    assert Ticket.objects.get(pk=run_ticket).status == Status.RESOLVED
    alert = post(metric_alert(), AZURE)["ticket_id"]

    assert list(enrich_tickets([alert])) == [alert]

    assert Ticket.objects.get(pk=run_ticket).status == Status.RESOLVED
    assert Ticket.objects.get(pk=alert).run_id.startswith("azure:")


def log_alert(condition: str = "Fired") -> dict[str, Any]:
    """A log alert over ADFActivityRun naming the run (tests/payloads/azure)."""
    body = copy.deepcopy(local_payload("azure/adf_log_v2_pipeline_run.json"))
    criterion = body["data"]["alertContext"]["condition"]["allOf"][0]
    for dimension in criterion["dimensions"]:
        if dimension["name"] == "PipelineRunId":
            dimension["value"] = RUN_ID
    if condition == "Resolved":
        essentials = body["data"]["essentials"]
        essentials["monitorCondition"] = "Resolved"
        essentials["resolvedDateTime"] = "2025-03-04T06:40:11.8830122Z"
    return body


def test_a_log_alert_naming_the_run_ends_its_ticket_without_waiting_for_a_folded_alert(adf_api):
    """A log alert naming the run opened its ticket, and the metric alert of the run was folded
    into it: the log alert's Resolved ends the ticket as it would have alone (the metric alert
    is no alert of the ticket's to wait for)."""
    failed_run(adf_api)
    run_ticket = post(log_alert(), AZURE)["ticket_id"]
    assert Ticket.objects.get(pk=run_ticket).run_id == f"adf:{RUN_ID}"
    alert = post(metric_alert(), AZURE)["ticket_id"]
    assert enrich_tickets([alert]) == {}
    assert FoldedTicket.objects.get(ticket_id=alert).into_id == run_ticket

    ended = post(log_alert("Resolved"), AZURE)

    assert (ended["outcome"], ended["ticket_id"]) == ("resolved", run_ticket)


def test_a_metric_alert_someone_acted_on_before_its_run_was_found_is_not_folded(
    adf_api, django_user_model
):
    """Open again, but its audit trail names the person: what they did stays on it."""
    failed_run(adf_api)
    run_ticket = post(adf_webhook(), ADF)["ticket_id"]
    alert = post(metric_alert(), AZURE)["ticket_id"]
    actor = Actor.for_user(django_user_model.objects.create_user("oncall"))
    lifecycle.start_progress(alert, actor)
    lifecycle.reopen(alert, actor)

    assert list(enrich_tickets([alert])) == [alert]

    assert ERROR in Ticket.objects.get(pk=alert).error_message
    assert Ticket.objects.get(pk=run_ticket).occurrence_count == 1
