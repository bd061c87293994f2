"""One failed ADF pipeline run posted both ways, as the ADF webhook (a Web activity in the
pipeline's failure path) and as a `PipelineFailedRuns` metric alert, which names no run: the
alert's analysis finds the run with the real azure-mgmt-datafactory client (against the local
ARM server), and the run is one ticket and one page whichever lands first. The pages are
checked through a real Celery worker and inbox relay, with the real jira and slack-sdk clients
against the local servers (tests/fakes); the races and the cases left alone call the
analysis' enrichment step directly. An alert's ticket that became its run's is rerun (the
ADF rerun through the delivery engine, against the same ARM server) and ended by the
pipeline's success as the webhook's ticket is."""

from __future__ import annotations

import copy
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection, connections

from analysis.services import enrich_tickets
from integrations import remediation
from integrations.ingest import ingest_delivery
from integrations.models import (
    DeliveryStatus,
    OutboundDelivery,
    RemediationPolicy,
    WebhookDelivery,
)
from tests.analysis.test_enrichment_incidents import targets
from tests.conftest import local_payload, someone_waits_on, wait_for, while_held
from tests.fakes.azure_management_api import (
    FakeAzureManagement,
    adf_activity_run,
    adf_pipeline_run,
)
from tests.integrations.test_incident_paging import settled
from tests.integrations.test_webhooks import adf_api
from tests.remediation.conftest import run_pending
from tests.tickets.test_incidents import post
from tickets import lifecycle
from tickets.lifecycle import Actor
from tickets.models import AuditLog, FoldedTicket, Occurrence, Ticket
from tickets.services import ticket_folded
from tickets.vocabulary import Source, Status

pytestmark = pytest.mark.django_db(transaction=True)

__all__ = ["adf_api", "targets"]  # fixtures

AZURE = "/webhooks/azure-monitor/"
ADF = "/webhooks/adf/"
RUN_ID = "5b8e2c41-7d3a-4f19-a6c2-9e0d1f3b7a55"
WHERE = ("rg-data-platform", "adf-sales-prod")
PIPELINE = "pl_sales_daily_load"
# What an ADF rerun reads of the ticket's run (integrations/targets/adf_rerun.py).
RUN_NAMES = ("factory", "resource_group", "subscription_id", "run_id")
ERROR = "The value of the column 'amount' cannot be null in the sink table 'dbo.orders'."


def metric_alert(condition: str = "Fired") -> dict[str, Any]:
    """The `PipelineFailedRuns` alert of the factory's pipeline (tests/payloads/azure)."""
    body = copy.deepcopy(local_payload("azure/adf_metric_pipeline_failed_runs.json"))
    if condition == "Resolved":
        essentials = body["data"]["essentials"]
        essentials["monitorCondition"] = "Resolved"
        essentials["resolvedDateTime"] = "2025-03-04T06:27:42.1284531Z"
    return body


def failed_run(
    arm: FakeAzureManagement, run_id: str = RUN_ID, before_the_alert: int = 20
) -> dict[str, Any]:
    """The run the alert counted, as the ARM API tells about it: it started 20 minutes (or
    `before_the_alert`) before the alert fired."""
    fired = datetime.fromisoformat(metric_alert()["data"]["essentials"]["firedDateTime"][:26])
    run = adf_pipeline_run(
        run_id,
        PIPELINE,
        run_start=fired.replace(tzinfo=UTC) - timedelta(minutes=before_the_alert),
        subscription_id="aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e",
        resource_group=WHERE[0],
        factory=WHERE[1],
    )
    arm.add_pipeline_run(*WHERE, run)
    arm.add_activity_runs(
        *WHERE,
        run_id,
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
    assert found.before["run_id"].startswith("azure:")
    assert found.after["run_id"] == f"adf:{RUN_ID}"
    assert found.after["resolve_key"] == ticket.resolve_key == f"adf:{WHERE[1]}:{PIPELINE}"
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

    # It is the run's ticket now: the pipeline's success (its rerun's) ends it, as it ends
    # the webhook's ticket.
    succeeded = post({**adf_webhook(), "run_id": "rerun-1", "status": "Succeeded"}, ADF)
    assert (succeeded["outcome"], succeeded["ticket_id"]) == ("resolved", ticket.pk)
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED and ticket.resolved_at_source_at is not None


def test_the_alerts_resolved_still_ends_its_ticket_that_took_the_runs_key(adf_api):
    """Its Resolved names its Fired, counted on the ticket: it ends it, as any alert's ends
    its own ticket, though the ticket's recovery key is the run's pipeline's now."""
    failed_run(adf_api)
    alert = post(metric_alert(), AZURE)["ticket_id"]
    enrich_tickets([alert])
    assert Ticket.objects.get(pk=alert).resolve_key == f"adf:{WHERE[1]}:{PIPELINE}"

    resolved = post(metric_alert("Resolved"), AZURE)

    assert (resolved["outcome"], resolved["ticket_id"]) == ("resolved", alert)


def rerun_policy() -> None:
    """The only policy: the shipped default's ADF rerun (its sources: the ADF webhook and
    Azure Monitor), whatever the failure and the confidence."""
    RemediationPolicy.objects.all().delete()
    RemediationPolicy.objects.create(
        name="rerun ADF failures",
        sources=[Source.ADF, Source.AZURE_MONITOR],
        action="adf_rerun",
        mode="auto",
        auto_min_confidence=0.0,
        approval_min_confidence=0.0,
    )


def reruns_started(arm: FakeAzureManagement) -> list[tuple[str, str | None]]:
    """(the path, the run it reruns) of each createRun the ARM API was sent."""
    return [(r.path, r.param("referencePipelineRunId")) for r in arm.requests_to("/createRun")]


RUN_PATH = (
    f"/subscriptions/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e/resourceGroups/{WHERE[0]}/providers"
    f"/Microsoft.DataFactory/factories/{WHERE[1]}/pipelines/{PIPELINE}/createRun"
)


def test_the_rerun_of_an_alerts_ticket_that_found_its_run_reruns_that_run(adf_api):
    """The alert named no run; its analysis found it in the factory: the ticket names that run
    (and the factory, group and subscription it was read in), and the ADF rerun acts on it as
    on the webhook's ticket."""
    failed_run(adf_api)
    rerun_policy()
    alert = post(metric_alert(), AZURE)["ticket_id"]
    enrich_tickets([alert])
    ticket = Ticket.objects.get(pk=alert)
    assert ticket.source == Source.AZURE_MONITOR
    assert {key: ticket.affected_entity.get(key) for key in RUN_NAMES} == {
        "factory": WHERE[1],
        "resource_group": WHERE[0],
        "subscription_id": "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e",
        "run_id": RUN_ID,
    }
    found = AuditLog.objects.get(ticket_id=alert, action="run found")
    assert found.after["affected_entity"]["run_id"] == RUN_ID

    rerun = remediation.propose(alert)
    assert rerun is not None and rerun.run_key == f"adf:{RUN_ID}"
    run_pending(alert)

    assert reruns_started(adf_api) == [(RUN_PATH, RUN_ID)]
    rerun.refresh_from_db()
    assert rerun.status == "running" and rerun.details["reference_run_id"] == RUN_ID


def test_the_runs_webhook_landing_later_keeps_the_rerun_on_the_run_found(adf_api):
    failed_run(adf_api)
    rerun_policy()
    alert = post(metric_alert(), AZURE)["ticket_id"]
    enrich_tickets([alert])
    named = Ticket.objects.get(pk=alert).affected_entity

    counted = post(adf_webhook(), ADF)
    assert (counted["outcome"], counted["ticket_id"]) == ("correlated", alert)

    ticket = Ticket.objects.get(pk=alert)
    assert ticket.affected_entity == named
    rerun = remediation.propose(alert)
    assert rerun is not None and rerun.run_key == f"adf:{RUN_ID}"
    run_pending(alert)
    assert reruns_started(adf_api) == [(RUN_PATH, RUN_ID)]


def test_a_metric_alert_whose_run_is_not_found_is_not_proposed_for_a_rerun(
    celery_worker, targets, adf_api
):
    """No failed run of the pipeline around the alert: the ticket names none, and a rerun
    policy that covers it is skipped at its proposal saying what the alert lacks, as an action
    that cannot reach its run is; nothing is started, and neither the Slack thread nor the JIRA
    issue tells of a rerun that failed."""
    jira, slack = targets
    succeeded = {**failed_run(adf_api), "status": "Succeeded"}  # the only run, and it succeeded
    adf_api.add_pipeline_run(*WHERE, succeeded)
    rerun_policy()
    answer = post(metric_alert(), AZURE)
    alert = answer["ticket_id"]
    processed(answer)
    settled()
    ticket = Ticket.objects.get(pk=alert)
    assert ticket.run_id.startswith("azure:") and "run_id" not in ticket.affected_entity

    (skipped,) = ticket.remediations.all()
    assert skipped.status == "skipped"
    assert skipped.reason.startswith("cannot run here: the alert does not name the ADF run_id")
    assert ticket.remediation_status == "skipped"
    assert remediation.propose(alert) is None  # the decision stands
    assert not OutboundDelivery.objects.filter(ticket_id=alert, target="adf_rerun").exists()
    assert reruns_started(adf_api) == []
    (issue,) = jira.issues.values()
    assert not issue["comments"]
    (top,) = slack.top_level()
    assert top["replies"] == []


def test_a_metric_alert_folded_into_its_runs_ticket_names_the_run_it_counts(adf_api):
    """The run's ticket counted a newer run of the same failure since; the alert of the first
    run, folded into it, is the ticket's latest failure: a rerun then acts on the run found,
    named as the enrichment read it (it was counted with the alert's names, no run id)."""
    failed_run(adf_api)
    rerun_policy()
    run_ticket = post(adf_webhook(), ADF)["ticket_id"]
    newer = post({**adf_webhook(), "run_id": "6c9f3d52-8e4b-4a2a-b7d3-0f1e2a4c8b66"}, ADF)
    assert (newer["outcome"], newer["ticket_id"]) == ("correlated", run_ticket)
    alert = post(metric_alert(), AZURE)["ticket_id"]
    assert enrich_tickets([alert]) == {}  # folded

    ticket = Ticket.objects.get(pk=run_ticket)
    assert remediation.run_key(ticket) == f"adf:{RUN_ID}"
    assert remediation.run_entity(ticket)["run_id"] == RUN_ID
    assert remediation.propose(run_ticket) is not None
    run_pending(run_ticket)
    assert reruns_started(adf_api) == [(RUN_PATH, RUN_ID)]


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


def test_the_alert_delivered_again_while_settling_folds_it_is_a_duplicate_of_the_runs_ticket(
    adf_api,
):
    """A redelivery of the alert while its analysis folds its ticket into the run's: the
    duplicate read the alert's ticket (the fold not committed), and its inbox row, naming that
    ticket, failed its foreign key once the fold deleted it: the webhook answered 500."""
    failed_run(adf_api)
    run_ticket = post(adf_webhook(), ADF)["ticket_id"]
    alert = post(metric_alert(), AZURE)["ticket_id"]

    def the_redelivery() -> dict[str, Any]:
        try:
            return post(metric_alert(), AZURE)
        finally:
            connections.close_all()

    answer, waited = while_held(lambda: enrich_tickets([alert]), the_redelivery)

    assert waited
    assert (answer["outcome"], answer["ticket_id"]) == ("duplicate", run_ticket)
    assert FoldedTicket.objects.get(ticket_id=alert).into_id == run_ticket
    redelivery = WebhookDelivery.objects.get(tracking_id=answer["tracking_id"])
    assert (redelivery.ticket_id, redelivery.outcome) == (run_ticket, "duplicate")
    assert set(WebhookDelivery.objects.values_list("ticket_id", flat=True)) == {run_ticket}
    assert Ticket.objects.get().occurrence_count == 2


def test_the_alert_delivered_again_committing_while_settling_folds_it_follows_the_fold(
    adf_api, caplog
):
    """The redelivery's claim read the alert's ticket before the fold moved the alert's
    occurrences, and it committed once the fold had moved the ticket's inbox rows (its own not
    among them: not committed yet) and before the fold deleted the ticket: the delete unlinked
    its inbox row from every ticket. Paused here by its own log line (written before its
    commit) and by a receiver of `ticket_folded` (sent after the inbox rows moved)."""
    caplog.set_level(logging.INFO, logger="integrations.ingest")
    failed_run(adf_api)
    run_ticket = post(adf_webhook(), ADF)["ticket_id"]
    alert = post(metric_alert(), AZURE)["ticket_id"]
    claimed, moved, go_on = threading.Event(), threading.Event(), threading.Event()
    folding: list[int] = []

    class PauseOnceClaimed(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "duplicate" in record.getMessage() and not claimed.is_set():
                claimed.set()
                moved.wait(10)

    def pause_once_moved(**kwargs: Any) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            folding.append(cursor.fetchone()[0])
        moved.set()
        go_on.wait(10)

    def the_redelivery() -> dict[str, Any]:
        try:
            return post(metric_alert(), AZURE)
        finally:
            connections.close_all()

    def settling() -> dict[str, Any]:
        try:
            return enrich_tickets([alert])
        finally:
            connections.close_all()

    pause = PauseOnceClaimed()
    logging.getLogger("integrations.ingest").addHandler(pause)
    ticket_folded.connect(pause_once_moved, weak=False, dispatch_uid="pause_once_moved")
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            redelivery = pool.submit(the_redelivery)
            assert claimed.wait(10)
            fold = pool.submit(settling)
            assert moved.wait(10)
            wait_for(lambda: redelivery.done() or someone_waits_on(folding[0]), 10)
            go_on.set()
            assert fold.result(10) == {}
            answer = redelivery.result(10)
    finally:
        go_on.set()
        ticket_folded.disconnect(dispatch_uid="pause_once_moved")
        logging.getLogger("integrations.ingest").removeHandler(pause)

    assert (answer["outcome"], answer["ticket_id"]) == ("duplicate", run_ticket)
    assert FoldedTicket.objects.get(ticket_id=alert).into_id == run_ticket
    redelivery_row = WebhookDelivery.objects.get(tracking_id=answer["tracking_id"])
    assert (redelivery_row.ticket_id, redelivery_row.outcome) == (run_ticket, "duplicate")
    assert set(WebhookDelivery.objects.values_list("ticket_id", flat=True)) == {run_ticket}


def test_a_metric_alert_of_a_run_whose_ticket_is_resolved_pages_nothing_and_reopens_nothing(
    celery_worker, targets, adf_api
):
    """The run's ticket paged and was resolved before the alert's analysis (its rerun
    succeeded): the failure the alert counted is over and was paged for. The alert's ticket is
    folded into the run's without reopening it, and nobody is paged a second time."""
    jira, slack = targets
    failed_run(adf_api)
    run_ticket = processed(post(adf_webhook(), ADF)).ticket_id
    settled()
    post({**adf_webhook(), "run_id": "rerun-1", "status": "Succeeded"}, ADF)
    assert Ticket.objects.get(pk=run_ticket).status == Status.RESOLVED
    assert (len(jira.issues), len(slack.top_level())) == (1, 1)

    answer = post(metric_alert(), AZURE)
    alert = processed(answer)
    settled()

    assert (alert.ticket_id, alert.outcome) == (run_ticket, "duplicate")
    assert Ticket.objects.count() == 1
    assert FoldedTicket.objects.get(ticket_id=answer["ticket_id"]).into_id == run_ticket
    assert pages(answer["ticket_id"]) == []
    assert (len(jira.issues), len(slack.top_level())) == (1, 1)
    ticket = Ticket.objects.get(pk=run_ticket)
    assert ticket.status == Status.RESOLVED and ticket.resolved_at_source_at is not None
    assert ticket.occurrence_count == 1
    folded = AuditLog.objects.get(ticket_id=run_ticket, action="alert folded")
    assert folded.details["folded_from"] == answer["ticket_id"]

    # Its Resolved ends nothing (the run's ticket is over already).
    resolved = post(metric_alert("Resolved"), AZURE)
    assert resolved["outcome"] == "ignored"
    assert Ticket.objects.get(pk=run_ticket).status == Status.RESOLVED


def succeeded_later(arm: FakeAzureManagement, run_id: str = "rerun-1") -> dict[str, Any]:
    """A later run of the pipeline (its rerun, its next schedule) that succeeded."""
    failed = arm.pipeline_runs[(WHERE[0], WHERE[1])][RUN_ID]
    started = datetime.fromisoformat(failed["runEnd"][:26]).replace(tzinfo=UTC)
    run = adf_pipeline_run(
        run_id,
        PIPELINE,
        "Succeeded",
        run_start=started + timedelta(minutes=2),
        subscription_id="aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e",
        resource_group=WHERE[0],
        factory=WHERE[1],
    )
    arm.add_pipeline_run(*WHERE, run)
    return run


def test_a_metric_alert_whose_pipeline_succeeded_before_its_run_was_found_pages_nobody(
    celery_worker, targets, adf_api
):
    """The pipeline's `Succeeded` (its rerun's) landed before the alert's analysis found the
    run: the alert's ticket had not taken the run's recovery key, so it ended nothing, and
    the ticket then paged (a JIRA issue, a Slack alert) as failing, for a pipeline that had
    succeeded again. The analysis reads the pipeline's later runs from the factory: one that
    succeeded ends the ticket at its source, as that `Succeeded` would have, and nobody is
    paged."""
    jira, slack = targets
    failed_run(adf_api)
    succeeded_later(adf_api)
    early = post({**adf_webhook(), "run_id": "rerun-1", "status": "Succeeded"}, ADF)
    assert early["outcome"] == "ignored"

    alert = processed(post(metric_alert(), AZURE))
    settled()

    ticket = Ticket.objects.get(pk=alert.ticket_id)
    assert ticket.run_id == f"adf:{RUN_ID}"
    assert ticket.status == Status.RESOLVED and ticket.resolved_at_source_at is not None
    assert ERROR in ticket.error_message
    ended = AuditLog.objects.get(ticket_id=ticket.pk, action="resolved at source")
    assert (ended.actor_kind, ended.actor_name) == ("source", "adf")
    assert "run rerun-1 of its pipeline succeeded" in ended.details["why"]
    assert (len(jira.issues), len(slack.top_level())) == (0, 0)


def test_a_metric_alerts_run_whose_pipeline_has_not_succeeded_since_still_pages(
    celery_worker, targets, adf_api
):
    """A success of the pipeline before the run failed ends nothing: the ticket pages."""
    jira, slack = targets
    run = failed_run(adf_api)
    earlier = adf_pipeline_run(
        "earlier-1",
        PIPELINE,
        "Succeeded",
        run_start=datetime.fromisoformat(run["runStart"][:26]).replace(tzinfo=UTC)
        - timedelta(hours=1),
        subscription_id="aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e",
        resource_group=WHERE[0],
        factory=WHERE[1],
    )
    adf_api.add_pipeline_run(*WHERE, earlier)

    alert = processed(post(metric_alert(), AZURE))
    settled()

    ticket = Ticket.objects.get(pk=alert.ticket_id)
    assert ticket.status == Status.OPEN and ticket.resolved_at_source_at is None
    assert (len(jira.issues), len(slack.top_level())) == (1, 1)


def test_a_run_that_succeeded_while_the_alerts_run_ran_ends_nothing(
    celery_worker, targets, adf_api
):
    """Two runs of the pipeline at once (a trigger's overlapping windows, a manual run): one
    that started after the alert's run started but succeeded before that run failed is no
    success after the failure, as its `Succeeded` webhook, landing before the failure, would
    have ended nothing. It ended the ticket at its source and nobody was paged."""
    jira, slack = targets
    run = failed_run(adf_api)  # five minutes long
    overlapping = adf_pipeline_run(
        "overlapping-1",
        PIPELINE,
        "Succeeded",
        run_start=datetime.fromisoformat(run["runStart"][:26]).replace(tzinfo=UTC)
        + timedelta(minutes=1),
        duration=timedelta(minutes=2),
        subscription_id="aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e",
        resource_group=WHERE[0],
        factory=WHERE[1],
    )
    adf_api.add_pipeline_run(*WHERE, overlapping)

    alert = processed(post(metric_alert(), AZURE))
    settled()

    ticket = Ticket.objects.get(pk=alert.ticket_id)
    assert ticket.status == Status.OPEN and ticket.resolved_at_source_at is None
    assert not AuditLog.objects.filter(ticket_id=ticket.pk, action="resolved at source").exists()
    assert (len(jira.issues), len(slack.top_level())) == (1, 1)


def test_a_metric_alert_of_a_run_recovered_at_its_source_leaves_it_recovered(adf_api, settings):
    """With RESOLVE_ON_SOURCE_RECOVERY off the run's ticket stays open once its rerun
    succeeded, recovered at its source: the alert of that failure is no failure again (counted,
    it would clear the recovery, and the ticket would read as failing again)."""
    settings.RESOLVE_ON_SOURCE_RECOVERY = False
    failed_run(adf_api)
    run_ticket = post(adf_webhook(), ADF)["ticket_id"]
    post({**adf_webhook(), "run_id": "rerun-1", "status": "Succeeded"}, ADF)
    recovered_at = Ticket.objects.get(pk=run_ticket).resolved_at_source_at
    assert recovered_at is not None
    alert = post(metric_alert(), AZURE)["ticket_id"]

    assert enrich_tickets([alert]) == {}

    ticket = Ticket.objects.get(pk=run_ticket)
    assert ticket.resolved_at_source_at == recovered_at
    assert ticket.occurrence_count == 1
    assert not AuditLog.objects.filter(ticket_id=run_ticket, action="recurred").exists()
    assert FoldedTicket.objects.get(ticket_id=alert).into_id == run_ticket


def test_a_metric_alert_of_a_run_counted_on_an_older_runs_open_ticket_is_folded_into_it(adf_api):
    """The pipeline failed again, alike, while the ticket of its first failure is open: the new
    run's webhook is one more occurrence of that ticket (the same fingerprint), which keeps the
    first run's key. The alert of the new run is folded into that ticket too, not a ticket and
    a page of its own for a failure that ticket counts."""
    failed_run(adf_api)
    run_ticket = post(adf_webhook(), ADF)["ticket_id"]
    second_run = "9c41d7e2-3b8a-4f6d-b1e0-7a2c5d9f8e13"
    failed_run(adf_api, second_run, before_the_alert=8)
    again = post({**adf_webhook(), "run_id": second_run}, ADF)
    assert (again["outcome"], again["ticket_id"]) == ("correlated", run_ticket)
    alert = post(metric_alert(), AZURE)["ticket_id"]

    assert enrich_tickets([alert]) == {}

    assert list(Ticket.objects.values_list("pk", flat=True)) == [run_ticket]
    assert FoldedTicket.objects.get(ticket_id=alert).into_id == run_ticket
    ticket = Ticket.objects.get(pk=run_ticket)
    assert ticket.occurrence_count == 3
    assert ticket.run_id == f"adf:{RUN_ID}"
    # The run's webhook delivered again is still a duplicate of it.
    redelivered = post({**adf_webhook(), "run_id": second_run}, ADF)
    assert (redelivered["outcome"], redelivered["ticket_id"]) == ("duplicate", run_ticket)


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


def test_a_log_alert_naming_the_run_opens_a_ticket_whose_rerun_reruns_that_run(adf_api):
    """The log alert queried the workspace and named the run in its PipelineRunId dimension:
    its ticket alone names the run (and the factory, group and subscription its configuration
    item gives) as the ADF webhook's would, and the ADF rerun acts on it."""
    failed_run(adf_api)
    rerun_policy()
    alert = post(log_alert(), AZURE)["ticket_id"]
    ticket = Ticket.objects.get(pk=alert)
    assert ticket.source == Source.AZURE_MONITOR and ticket.run_id == f"adf:{RUN_ID}"
    assert {key: ticket.affected_entity.get(key) for key in RUN_NAMES} == {
        "factory": WHERE[1],
        "resource_group": WHERE[0],
        "subscription_id": "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e",
        "run_id": RUN_ID,
    }

    rerun = remediation.propose(alert)
    assert rerun is not None and rerun.run_key == f"adf:{RUN_ID}"
    run_pending(alert)

    assert reruns_started(adf_api) == [(RUN_PATH, RUN_ID)]
    rerun.refresh_from_db()
    assert rerun.status == "running" and rerun.details["reference_run_id"] == RUN_ID


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


def test_an_activity_alerts_ticket_reruns_and_recovers_as_the_pipeline_of_the_run_found(adf_api):
    """`ActivityFailedRuns` split by the activity alone names no pipeline: the ticket carries
    the rule's name, and the run found names the pipeline its rerun starts and whose success
    ends the ticket."""
    failed_run(adf_api)
    rerun_policy()
    body = metric_alert()
    criterion = body["data"]["alertContext"]["condition"]["allOf"][0]
    criterion["metricName"] = "ActivityFailedRuns"
    criterion["dimensions"] = [{"name": "Name", "value": "Copy_Orders"}]
    alert = post(body, AZURE)["ticket_id"]
    enrich_tickets([alert])
    ticket = Ticket.objects.get(pk=alert)
    assert ticket.pipeline != PIPELINE
    assert ticket.run_id == f"adf:{RUN_ID}" and ticket.affected_entity["pipeline"] == PIPELINE

    assert remediation.propose(alert) is not None
    run_pending(alert)
    assert reruns_started(adf_api) == [(RUN_PATH, RUN_ID)]

    succeeded = post({**adf_webhook(), "run_id": "rerun-1", "status": "Succeeded"}, ADF)
    assert (succeeded["outcome"], succeeded["ticket_id"]) == ("resolved", alert)


def older_schema_metric_alert(status: str) -> dict[str, Any]:
    """The same `PipelineFailedRuns` alert in the older metric alert body, whose Resolved names
    the rule and the factory, not its Fired (tests/payloads/azure)."""
    body = copy.deepcopy(local_payload("azure/noncommon_metric_alert_resolved.json"))
    fired = datetime.fromisoformat(metric_alert()["data"]["essentials"]["firedDateTime"][:26])
    factory = metric_alert()["data"]["essentials"]["alertTargetIDs"][0]
    criterion = metric_alert()["data"]["alertContext"]["condition"]["allOf"][0]
    context = body["data"]["context"]
    body["data"]["status"] = status
    context["condition"]["allOf"] = [criterion]
    context.update(
        timestamp=(fired + timedelta(minutes=10 if status == "Resolved" else 0)).isoformat() + "Z",
        subscriptionId="aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e",
        resourceGroupName=WHERE[0],
        resourceName=WHERE[1],
        resourceType="Microsoft.DataFactory/factories",
        resourceId=factory,
        portalLink=f"https://portal.azure.com/#resource{factory}",
    )
    return body


def test_an_older_schema_alerts_resolved_no_longer_ends_the_runs_ticket_its_success_does(adf_api):
    """That Resolved names the recovery key the ticket had as the alert's: once the ticket is
    the run's, it is ended as the webhook's ticket is, by the pipeline's success."""
    failed_run(adf_api)
    alert = post(older_schema_metric_alert("Activated"), AZURE)["ticket_id"]
    enrich_tickets([alert])
    assert Ticket.objects.get(pk=alert).run_id == f"adf:{RUN_ID}"

    resolved = post(older_schema_metric_alert("Resolved"), AZURE)
    assert resolved["outcome"] == "ignored"
    assert Ticket.objects.get(pk=alert).status == Status.OPEN

    succeeded = post({**adf_webhook(), "run_id": "rerun-1", "status": "Succeeded"}, ADF)
    assert (succeeded["outcome"], succeeded["ticket_id"]) == ("resolved", alert)


COLUMN = (
    "ErrorCode=UserErrorInvalidColumnMappingColumnNotFound,'Type=Microsoft.DataTransfer.Common."
    "Shared.HybridDeliveryException,Message=Column 'customer_id' specified in column mapping "
    "cannot be found in 'Source' side.,Source=Microsoft.DataTransfer.ClientLibrary,'"
)
LOGIN = (
    "ErrorCode=SqlFailedToConnect,'Type=Microsoft.DataTransfer.Common.Shared."
    "HybridDeliveryException,Message=Cannot connect to SQL Database. Login failed for user "
    "'etl_reader'.,Source=.Net SqlClient Data Provider,'"
)


def test_a_run_is_classed_and_explained_by_the_activity_it_leads_with_not_those_listed_after(
    celery_worker, adf_api
):
    """A ForEach of ten tables, three failing: the first on a column mapping, the next two on a
    login, and the run's message naming yet another failure. The ticket leads with the first
    activity's error and lists the others after it ("Also failed: activity ...", "Pipeline run
    message: ..."): its class and rule RCA are that first activity's, not those of a failure
    listed there (it was an AuthenticationError explained as the login's)."""
    run = failed_run(adf_api)
    copies = [
        adf_activity_run(
            run,
            "Copy table",
            "Failed" if i in (2, 5, 7) else "Succeeded",
            error_code="2200" if i in (2, 5, 7) else "",
            message={2: COLUMN, 5: LOGIN, 7: LOGIN}.get(i, ""),
            failure_type="UserError" if i in (2, 5, 7) else "",
            offset=timedelta(seconds=10 * i),
        )
        for i in range(10)
    ]
    foreach = adf_activity_run(
        run,
        "ForEach tables",
        "Failed",
        activity_type="ForEach",
        error_code="ActivityFailed",
        message="Activity failed because an inner activity failed",
        failure_type="UserError",
    )
    adf_api.activity_runs[(*WHERE, RUN_ID)] = [foreach, *copies]
    adf_api.add_pipeline_run(
        *WHERE, {**run, "message": "Operation on target Load watermark failed: Login failed"}
    )

    alert = processed(post(metric_alert(), AZURE))

    ticket = Ticket.objects.get(pk=alert.ticket_id)
    lines = ticket.error_message.splitlines()
    assert "Column 'customer_id' specified in column mapping cannot be found" in lines[0]
    assert lines[1].startswith("Also failed: activity 'Copy table' (Copy): [2200]")
    assert "Login failed for user 'etl_reader'" in lines[1]
    assert lines[-1].startswith("Pipeline run message: Operation on target Load watermark")
    assert ticket.error_type == "DataError"
    assert "customer_id" in ticket.rca_result
    assert "etl_reader" not in ticket.rca_result and "credentials" not in ticket.rca_result


def test_an_alerts_ticket_that_found_its_run_links_to_the_run_in_adf_studio(adf_api):
    """A metric alert names no run, nor links to one: the run its analysis found is linked to
    as the webhook's is, by its page in ADF Studio."""
    failed_run(adf_api)
    alert = post(metric_alert(), AZURE)["ticket_id"]
    enrich_tickets([alert])

    ticket = Ticket.objects.get(pk=alert)
    assert ticket.links["run"] == (
        f"https://adf.azure.com/en/monitoring/pipelineruns/{RUN_ID}?factory=%2Fsubscriptions%2F"
        "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e%2FresourceGroups%2Frg-data-platform%2Fproviders"
        "%2FMicrosoft.DataFactory%2Ffactories%2Fadf-sales-prod"
    )
