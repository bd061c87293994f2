"""Tasks of one Databricks job run failing on one cause (the same library failing to install on
the job's cluster, the same table missing) are one ticket and one page, which lists them and
recovers once each has succeeded; a task failing otherwise in that run is a ticket of its own.
A real Celery worker and inbox relay, the real databricks-sdk (against the local Databricks
server), jira and slack-sdk clients (against the local JIRA and Slack servers)."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.utils import timezone

from integrations import fanout, processing, remediation
from integrations.models import (
    DeliveryStatus,
    OutboundDelivery,
    OutboundStatus,
    Remediation,
    RemediationPolicy,
    WebhookDelivery,
)
from integrations.targets.jira import jira_summary
from tests.analysis import test_databricks_runs_that_did_not_fail
from tests.api import make_user
from tests.conftest import wait_for
from tests.dashboard import test_live_events
from tests.fakes.databricks_api import job_run, task
from tests.integrations import test_incident_paging
from tests.integrations.test_incident_paging import settled
from tests.remediation.conftest import make_policy, run_pending
from tests.tickets.test_incidents import post
from tickets.broadcast import BATCH
from tickets.lifecycle import Actor
from tickets.models import AuditLog, FoldedTicket, Status, Ticket

pytestmark = pytest.mark.django_db(transaction=True)

targets = test_incident_paging.targets  # the local JIRA and Slack servers (a fixture)
databricks = test_databricks_runs_that_did_not_fail.databricks  # the local Databricks (a fixture)
# A channel in the dashboard's group, as a connected dashboard's consumer has (a fixture).
subscribed_channel = test_live_events.subscribed_channel

DATABRICKS = "/webhooks/databricks/"
WORKSPACE = "1234567890123456"
JOB = {"job_id": "4455", "name": "nightly_sales_load"}
RUN = 7000
LIBRARY = (
    "Library installation failed for library due to user error for pypi "
    '{package: "acme-utils==2.1"}. Error messages: ERROR: Could not find a version that '
    "satisfies the requirement acme-utils==2.1 (from versions: none)"
)
TABLE = "[TABLE_OR_VIEW_NOT_FOUND] The table or view `sales`.`orders` cannot be found."


def task_run(index: int) -> int:
    return RUN + 1 + index


def notification(key: str, event_type: str = "jobs.on_failure") -> dict[str, Any]:
    """A task's notification (its own run; its job's run as its parent), or the job's own."""
    if not key:
        return {
            "event_type": event_type,
            "workspace_id": WORKSPACE,
            "run": {"run_id": str(RUN)},
            "job": JOB,
        }
    index = int(key.removeprefix("t"))
    return {
        "event_type": event_type,
        "workspace_id": WORKSPACE,
        "task": {"task_key": key},
        "run": {"run_id": str(task_run(index)), "parent_run_id": str(RUN)},
        "job": JOB,
    }


def twelve_tasks(failed: dict[int, str]) -> dict[str, Any]:
    """The job run: twelve tasks, those of `failed` failing with their message."""
    tasks = [
        task(f"t{i:02d}", task_run(i), "FAILED" if i in failed else "SUCCESS", failed.get(i, ""))
        for i in range(12)
    ]
    return job_run(run_id=RUN, job_id=int(JOB["job_id"]), tasks=tasks)


def delivered(*keys: str) -> list[dict[str, Any]]:
    """Post the failures of these tasks ("" for the job's own) and wait for their processing."""
    answers = [post(notification(key), DATABRICKS) for key in keys]
    tracking = [answer["tracking_id"] for answer in answers]
    processed = WebhookDelivery.objects.filter(
        tracking_id__in=tracking, status=DeliveryStatus.PROCESSED
    )
    wait_for(lambda: processed.count() == len(tracking), 30)
    settled()
    return answers


def test_three_tasks_failing_alike_in_a_run_are_one_ticket_and_one_page(
    celery_worker, targets, databricks
):
    jira, slack = targets
    RemediationPolicy.objects.update(enabled=False)
    databricks.add_run(twelve_tasks({3: LIBRARY, 5: LIBRARY, 8: LIBRARY}))

    answers = delivered("t03", "t05", "t08", "")

    (ticket,) = Ticket.objects.all()
    assert ticket.occurrence_count == 4
    assert ticket.details["tasks_failed_alike"] == ["t03", "t05", "t08"]
    assert ticket.details["tasks_still_failing"] == ["t03", "t05", "t08"]
    # Ingest answered a ticket for each task; those folded into the one lead to it.
    folded = {answer["ticket_id"] for answer in answers} - {ticket.pk}
    assert set(FoldedTicket.objects.values_list("ticket_id", flat=True)) == folded
    assert len(jira.issues) == 1 and len(slack.api_requests("chat.postMessage")) == 1
    assert "3 tasks failed alike: t03, t05, t08" in jira_summary(ticket)
    assert ticket.itsm_ticket_id in jira.issues


def test_with_the_jobs_own_notification_first_the_run_is_one_ticket_too(
    celery_worker, targets, databricks
):
    """The job's notification opens the run's ticket, its first task's is counted there, and
    the tasks after it, each a ticket of its own at ingest, are one with it once their errors
    are known, in whichever order their tickets are settled."""
    jira, slack = targets
    RemediationPolicy.objects.update(enabled=False)
    databricks.add_run(twelve_tasks({3: LIBRARY, 5: LIBRARY, 8: LIBRARY}))

    answers = delivered("", "t03", "t05", "t08")

    (ticket,) = Ticket.objects.all()
    assert [answer["outcome"] for answer in answers[:2]] == ["created", "correlated"]
    assert ticket.occurrence_count == 4
    assert len(jira.issues) == 1 and len(slack.api_requests("chat.postMessage")) == 1


def test_the_ticket_recovers_when_the_last_of_its_tasks_succeeds(
    celery_worker, targets, databricks
):
    RemediationPolicy.objects.update(enabled=False)
    databricks.add_run(twelve_tasks({3: LIBRARY, 5: LIBRARY}))
    delivered("t03", "t05")
    (ticket,) = Ticket.objects.all()

    first = post(notification("t05", "jobs.on_success"), DATABRICKS)
    other = post(notification("t07", "jobs.on_success"), DATABRICKS)  # it never failed

    assert (first["outcome"], first["ticket_id"]) == ("ignored", ticket.pk)
    assert other["outcome"] == "ignored"
    ticket.refresh_from_db()
    assert ticket.resolved_at_source_at is None
    assert ticket.details["tasks_still_failing"] == ["t03"]
    kept = AuditLog.objects.get(ticket_id=ticket.pk, action="task recovered")
    assert kept.details["task_key"] == "t05"

    last = post(notification("t03", "jobs.on_success"), DATABRICKS)

    assert (last["outcome"], last["ticket_id"]) == ("resolved", ticket.pk)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.details["tasks_still_failing"]) == (Status.RESOLVED, [])


def dashboard_actions(channel: str, ticket_id: str, action: str) -> list[str]:
    """The actions told to the dashboard about the ticket until `action` (5 s at most)."""
    layer = get_channel_layer()
    assert layer is not None

    async def receive() -> list[str]:
        told: list[str] = []
        while action not in told:
            message = await asyncio.wait_for(layer.receive(channel), 5)
            assert message["type"] == BATCH
            told += [e["action"] for e in message["events"] if e.get("ticket_id") == ticket_id]
        return told

    return async_to_sync(receive)()


def test_a_task_recovering_while_others_still_fail_is_told_to_the_dashboard(
    celery_worker, targets, databricks, subscribed_channel
):
    """The ticket page's "2 tasks failed alike: t03, t05; 1 still failing" is read again when
    a task's success keeps the ticket open (it was told to no open page, which kept the line
    it loaded until a reload); JIRA and Slack hear nothing of it."""
    jira, slack = targets
    RemediationPolicy.objects.update(enabled=False)
    databricks.add_run(twelve_tasks({3: LIBRARY, 5: LIBRARY}))
    delivered("t03", "t05")
    (ticket,) = Ticket.objects.all()
    slack_calls, jira_calls = len(slack.requests), len(jira.requests)

    post(notification("t05", "jobs.on_success"), DATABRICKS)
    # Told once the recovery commits: waiting for it here keeps a slow worker (a loaded CI
    # machine) out of the 5 s the dashboard's message is given.
    recovered = AuditLog.objects.filter(ticket=ticket, action="task recovered")
    wait_for(recovered.exists, 30)

    assert "task recovered" in dashboard_actions(subscribed_channel, ticket.pk, "task recovered")
    ticket.refresh_from_db()
    assert ticket.tasks_failed_alike == "2 tasks failed alike: t03, t05; 1 still failing"
    settled()
    assert (len(slack.requests), len(jira.requests)) == (slack_calls, jira_calls)


def test_a_task_failing_otherwise_in_the_same_run_is_a_ticket_of_its_own(
    celery_worker, targets, databricks
):
    jira, _slack = targets
    RemediationPolicy.objects.update(enabled=False)
    databricks.add_run(twelve_tasks({3: LIBRARY, 5: LIBRARY, 8: TABLE}))

    delivered("t03", "t05", "t08")

    tickets = {
        ticket.details.get("task_key"): ticket for ticket in Ticket.objects.order_by("timestamp")
    }
    assert len(tickets) == 2 and len(jira.issues) == 2
    library = next(t for t in tickets.values() if t.occurrence_count == 2)
    table = next(t for t in tickets.values() if t.occurrence_count == 1)
    assert library.details["tasks_failed_alike"] == ["t03", "t05"]
    assert table.affected_entity["task_key"] == "t08"
    assert "tasks_failed_alike" not in table.details


KEY_ERROR = "KeyError: 'customer_id'"
LOGIN = "java.sql.SQLException: Login failed for user 'etl_reader'."


def test_a_ticket_is_classed_and_explained_by_its_own_tasks_error_not_the_others_listed(
    celery_worker, targets, databricks
):
    """The job's ticket leads with the first failed task's error and lists the others after it
    ("Also FAILED: task 't08': ..."): its class and rule RCA are that first task's, not those
    of a task listed there, which fails otherwise (and is a ticket of its own)."""
    RemediationPolicy.objects.update(enabled=False)
    databricks.add_run(twelve_tasks({3: KEY_ERROR, 8: LOGIN}))

    delivered("", "t03", "t08")  # t03's counted on the job's ticket (its first task's)

    job = Ticket.objects.get(run_id=f"databricks:{WORKSPACE}:{RUN}")
    login = Ticket.objects.get(run_id=f"databricks:{WORKSPACE}:{RUN}:t08")
    assert "Also FAILED: task 't08': java.sql.SQLException: Login failed" in job.error_message
    assert job.error_type == "CodeError"
    assert "key 'customer_id'" in job.rca_result and "credentials" not in job.rca_result
    assert login.error_type == "AuthenticationError"
    assert "credentials of user 'etl_reader'" in login.rca_result


def test_a_tasks_success_landing_while_its_ticket_is_folded_is_counted_where_it_went(
    targets, databricks
):
    """Task t05's success lands while its ticket is being folded into t03's (its error just
    fetched): it waits for the fold, then takes t05 off the ticket it was folded into. (Its
    ticket's row, locked by the fold, was gone once the success read on, and the ticket it
    went into did not count t05 yet when the success began reading: t05 stayed failing, and
    the ticket never recovered at its source.)"""
    import threading

    from django.db import connection, connections, transaction
    from django.test import Client
    from django.utils import timezone

    from analysis import enrichment_service
    from analysis.services import _store_enriched, enrich_tickets

    databricks.add_run(twelve_tasks({3: LIBRARY, 5: LIBRARY}))
    first = post(notification("t03"), DATABRICKS)["ticket_id"]
    second = post(notification("t05"), DATABRICKS)["ticket_id"]
    enrich_tickets([first])  # t03's ticket is settled; t05's waits for its error
    ticket = Ticket.objects.defer("embedding").get(pk=second)
    enriched = enrichment_service.enrich(ticket)
    answers: list[dict[str, Any]] = []

    def succeed() -> None:
        try:
            response = Client().post(
                DATABRICKS,
                data=json.dumps(notification("t05", "jobs.on_success")),
                content_type="application/json",
                HTTP_X_WEBHOOK_TOKEN=settings.WEBHOOK_TOKEN,
            )
            answers.append(response.json())
        finally:
            connections.close_all()

    succeeding = threading.Thread(target=succeed)
    with transaction.atomic():
        assert _store_enriched(ticket, enriched) is not None  # folded, not committed yet
        succeeding.start()
        deadline = timezone.now() + timedelta(seconds=10)
        with connection.cursor() as cursor:
            while timezone.now() < deadline:
                cursor.execute("SELECT pg_stat_clear_snapshot()")  # read anew each time
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
                if cursor.fetchone()[0]:
                    break
    succeeding.join(timeout=10)

    (kept,) = Ticket.objects.all()
    assert kept.pk == first
    assert (answers[0]["outcome"], answers[0]["ticket_id"]) == ("ignored", first)
    assert kept.details["tasks_still_failing"] == ["t03"]
    assert AuditLog.objects.get(ticket_id=first, action="task recovered").details["task_key"] == (
        "t05"
    )


def test_the_alerts_header_keeps_its_pipeline_when_the_tasks_named_are_long(databricks):
    """Five task keys named in full are longer than a Slack header (150 characters): the
    header keeps the severity and pipeline, and what fits of the tasks. (It was the tasks'
    words alone, cut, the pipeline dropped.)"""
    from integrations.targets.slack import slack_alert

    ticket = Ticket.objects.get(pk=post(notification("t03"), DATABRICKS)["ticket_id"])
    keys = [f"{layer}_ingest_orders_from_the_sales_database" for layer in "abcdef"]
    ticket.details = {**ticket.details, "tasks_failed_alike": keys, "tasks_still_failing": keys}

    _text, blocks = slack_alert(ticket)

    header = blocks[0]["text"]["text"]
    assert len(header) <= 150
    assert f"{ticket.severity} · {ticket.pipeline} (6 tasks failed alike: a_ingest" in header
    assert header.endswith("…)")


def test_the_jira_summary_keeps_its_error_class_and_ticket_id_when_the_tasks_named_are_long(
    databricks,
):
    """Five long task keys named in full fill JIRA's summary (250 characters here): its
    error class and ticket id stay, the tasks' words are cut short. (They were cut off.)"""
    ticket = Ticket.objects.get(pk=post(notification("t03"), DATABRICKS)["ticket_id"])
    keys = [f"{layer}_ingest_orders_from_the_sales_database" for layer in "abcdef"]
    ticket.details = {**ticket.details, "tasks_failed_alike": keys, "tasks_still_failing": keys}

    summary = jira_summary(ticket)

    assert len(summary) <= 250
    assert summary.startswith(f"[{ticket.severity}] {ticket.pipeline} (6 tasks failed alike: ")
    assert summary.endswith(f"…): {ticket.error_type} ({ticket.pk})")


# A policy covering both the library failures and the missing table.
BOTH_ERRORS = ["could not find a version", "table or view not found"]


def test_a_policy_is_matched_on_a_tasks_own_error_not_the_runs_other_tasks(
    celery_worker, targets, databricks
):
    """A task's fetched error lists the run's other failed tasks after its own ("Also FAILED:
    task 't03': ..."): a policy for the library failure covers the ticket counting them, not
    the missing table's ticket (it proposed that one a repair too, for the library's words in
    its list, and, automatic, repaired the run for a table still missing)."""
    RemediationPolicy.objects.update(enabled=False)
    make_policy(action="databricks_repair", mode="approval", signals=["could not find a version"])
    databricks.add_run(twelve_tasks({3: LIBRARY, 5: LIBRARY, 8: LIBRARY, 9: TABLE}))
    delivered("t03", "t05", "t08", "t09")
    library = Ticket.objects.get(details__has_key="tasks_failed_alike")
    table = Ticket.objects.exclude(pk=library.pk).get()
    assert "Also FAILED: task 't03': Library installation failed" in table.error_message
    wait_for(lambda: Remediation.objects.filter(ticket=library).exists(), 20)
    settled()

    assert not Remediation.objects.filter(ticket=table).exists()
    assert remediation.mismatch(RemediationPolicy.objects.get(enabled=True), table) == (
        "its error message contains none of the policy's signals"
    )


def test_a_repair_of_the_run_by_another_tickets_remediation_is_not_sent_again(
    celery_worker, targets, databricks
):
    """The ticket counting the run's library failures (t03, t05, t08) and the ticket of its
    task failing otherwise (t09), each proposed a repair of the run: the first one approved
    reruns every failed task of the run, t09's too, and they succeed. The second, approved
    then, has nothing failed to rerun: it is not sent (Databricks refuses a repair of no
    task: "At least one task must be rerun"), and ends skipped saying so, no next attempt
    proposed. (It was sent, failed with the 400 and was tried again after the backoff.)"""
    RemediationPolicy.objects.update(enabled=False)
    make_policy(action="databricks_repair", mode="approval", signals=BOTH_ERRORS)
    databricks.add_run(twelve_tasks({3: LIBRARY, 5: LIBRARY, 8: LIBRARY, 9: TABLE}))
    delivered("t03", "t05", "t08", "t09")
    wait_for(lambda: Remediation.objects.filter(status="awaiting_approval").count() == 2, 20)
    library = Ticket.objects.get(details__has_key="tasks_failed_alike")
    table = Ticket.objects.exclude(pk=library.pk).get()
    responder = Actor.for_user(make_user("responder"))

    first = remediation.approve(Remediation.objects.get(ticket=library).pk, responder, via="api")
    run_pending(library.pk)
    (repair,) = databricks.requests_to("/jobs/runs/repair")
    assert repair.body["rerun_tasks"] == ["t03", "t05", "t08", "t09"]
    databricks.finish_repair(RUN, "SUCCESS")
    run_pending(library.pk)
    first.refresh_from_db()
    assert first.status == "succeeded"

    second = remediation.approve(Remediation.objects.get(ticket=table).pk, responder, via="api")
    run_pending(table.pk)

    assert len(databricks.requests_to("/jobs/runs/repair")) == 1  # the first one only
    second.refresh_from_db()
    assert second.status == "skipped"
    assert f"run {RUN} has no failed task to repair since its repair 5000" in second.reason
    assert Remediation.objects.filter(ticket=table).count() == 1  # no next attempt
    table.refresh_from_db()
    assert (table.status, table.remediation_status) == (Status.OPEN, "skipped")
    settled()
    _jira, slack = targets
    told = json.dumps([request.body for request in slack.api_requests("chat.postMessage")])
    assert "has no failed task to repair since its repair 5000" in told


def test_two_repairs_of_the_run_approved_at_once_run_once(celery_worker, targets, databricks):
    """Both tickets' repairs of the run approved before the first ended: the second finds the
    run being repaired, its tasks running, and sends no repair beside it (it sent one of "all
    failed tasks", none, refused with a 400: failed, and tried again after the backoff)."""
    RemediationPolicy.objects.update(enabled=False)
    make_policy(action="databricks_repair", mode="approval", signals=BOTH_ERRORS)
    databricks.add_run(twelve_tasks({3: LIBRARY, 5: LIBRARY, 8: LIBRARY, 9: TABLE}))
    delivered("t03", "t05", "t08", "t09")
    wait_for(lambda: Remediation.objects.filter(status="awaiting_approval").count() == 2, 20)
    library = Ticket.objects.get(details__has_key="tasks_failed_alike")
    table = Ticket.objects.exclude(pk=library.pk).get()
    responder = Actor.for_user(make_user("responder"))

    first = remediation.approve(Remediation.objects.get(ticket=library).pk, responder, via="api")
    second = remediation.approve(Remediation.objects.get(ticket=table).pk, responder, via="api")
    run_pending(library.pk)
    run_pending(table.pk)

    (repair,) = databricks.requests_to("/jobs/runs/repair")
    assert repair.body["rerun_tasks"] == ["t03", "t05", "t08", "t09"]
    second.refresh_from_db()
    assert second.status == "skipped"
    assert f"run {RUN} is being repaired (repair 5000), none of its tasks" in second.reason
    databricks.finish_repair(RUN, "SUCCESS")
    run_pending(library.pk)
    first.refresh_from_db()
    library.refresh_from_db()
    assert (first.status, library.status) == ("succeeded", Status.RESOLVED)
    assert Remediation.objects.count() == 2  # no next attempt of either
    settled()


def test_two_repairs_of_the_run_sent_at_the_same_moment_send_one(targets, databricks):
    """Both tickets' repairs approved at once and handed to two workers together: each read
    the run (runs/get) before the other's repair reached Databricks, found its tasks failed,
    and sent a repair of them beside the other's (the later refused with a 400, its repair id
    no longer the run's latest: a dead letter, its remediation failed). The repair of a run is
    sent by one delivery at a time: the second waits while the first is sent, then finds the
    run being repaired and sends nothing. Driven in the test's threads (the inbox processed,
    then the two deliveries), the first one's repair held at the Databricks server a moment."""
    RemediationPolicy.objects.update(enabled=False)
    make_policy(action="databricks_repair", mode="approval", signals=BOTH_ERRORS)
    databricks.add_run(twelve_tasks({3: LIBRARY, 5: LIBRARY, 8: LIBRARY, 9: TABLE}))
    for key in ("t03", "t05", "t08", "t09"):
        post(notification(key), DATABRICKS)
    for delivery_id in WebhookDelivery.objects.filter(status="pending").values_list(
        "pk", flat=True
    ):
        processing.process_delivery(delivery_id)
    assert Remediation.objects.filter(status="awaiting_approval").count() == 2
    library = Ticket.objects.get(details__has_key="tasks_failed_alike")
    table = Ticket.objects.exclude(pk=library.pk).get()
    responder = Actor.for_user(make_user("responder"))
    first = remediation.approve(Remediation.objects.get(ticket=library).pk, responder, via="api")
    second = remediation.approve(Remediation.objects.get(ticket=table).pk, responder, via="api")
    first_row, second_row = (
        OutboundDelivery.objects.get(
            ticket=ticket, target="databricks_repair", status=OutboundStatus.PENDING
        )
        for ticket in (library, table)
    )
    databricks.stall(1.2, times=1, path_contains="/jobs/runs/repair")

    def deliver_first() -> None:
        try:
            fanout.deliver(first_row.pk)
        finally:
            connection.close()

    sending = threading.Thread(target=deliver_first)
    sending.start()
    wait_for(lambda: len(databricks.requests_to("/jobs/runs/repair")) == 1, 10)
    meanwhile = fanout.deliver(second_row.pk)  # the first one's repair still on its way
    sending.join(15)
    assert not sending.is_alive()
    assert len(databricks.requests_to("/jobs/runs/repair")) == 1
    assert meanwhile.status == OutboundStatus.PENDING  # not sent: it waits for the first
    OutboundDelivery.objects.filter(pk=second_row.pk).update(next_attempt_at=timezone.now())
    fanout.deliver(second_row.pk)

    (repair,) = databricks.requests_to("/jobs/runs/repair")
    assert repair.body["rerun_tasks"] == ["t03", "t05", "t08", "t09"]
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.external_run_id) == ("running", "5000")
    assert second.status == "skipped"
    assert f"run {RUN} is being repaired (repair 5000), none of its tasks" in second.reason
