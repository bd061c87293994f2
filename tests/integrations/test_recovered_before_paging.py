"""A failure that is over before it pages (its Resolved came first, its pipeline succeeded in its
incident grace delay, a regression over before it was processed): a real Celery worker, or the
service's own processing and delivery in the test's thread, and the real jira and slack-sdk
clients against the local servers (tests/fakes)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from analysis.services import analyse_tickets
from integrations import fanout, processing
from integrations.models import OutboundDelivery, OutboundStatus, WebhookDelivery
from integrations.targets.base import RECOVERED_BEFORE_PAGING
from tests.conftest import local_payload, wait_for
from tests.fakes.jira_api import FakeJira
from tests.integrations.test_azure_alert_tickets import _alert, _health_step
from tests.integrations.test_incident_paging import post_success, settled, targets  # noqa: F401
from tests.tickets.test_incidents import post, storm_failure
from tickets.models import AuditLog, Ticket

pytestmark = pytest.mark.django_db(transaction=True)

AZURE = "/webhooks/azure-monitor/"
AIRFLOW = "/webhooks/airflow/"


def test_a_fired_landing_after_its_resolved_is_recorded_but_pages_nobody(
    celery_worker,
    targets,  # noqa: F811
):
    """Azure delivered the Resolved first: the Fired's ticket opened a JIRA issue (moved to
    Done) and posted a Slack alert, paging responders for something already over."""
    jira, slack = targets
    post(_alert("a", "Resolved", "2025-12-10T12:00:00.000Z"), AZURE)
    fired = post(_alert("a", "Fired", "2025-12-10T12:00:00.000Z"), AZURE)
    ticket = Ticket.objects.get(pk=fired["ticket_id"])
    pages = OutboundDelivery.objects.filter(ticket=ticket, action__in=["jira_create", "slack_post"])
    wait_for(lambda: pages.count() == 2, 30)
    settled()

    ticket.refresh_from_db()
    assert ticket.status == "resolved" and ticket.resolved_at_source_at is not None
    assert (ticket.itsm_ticket_id, ticket.slack_ts) == ("", "")
    assert jira.issue_requests("POST") == []
    assert slack.api_requests("chat.postMessage") == []
    assert set(pages.values_list("status", "last_error")) == {
        (OutboundStatus.SKIPPED, RECOVERED_BEFORE_PAGING)
    }
    assert not OutboundDelivery.objects.filter(ticket=ticket, status=OutboundStatus.DEAD).exists()

    # The failure back later (another instance of the rule) is a regression: it pages now.
    again = post(_alert("a", "Fired", "2025-12-10T15:00:00.000Z"), AZURE)
    assert (again["outcome"], again["ticket_id"]) == ("regressed", ticket.pk)
    wait_for(lambda: Ticket.objects.exclude(itsm_ticket_id="").exclude(slack_ts="").exists(), 30)
    settled()
    assert not OutboundDelivery.objects.filter(ticket=ticket, status=OutboundStatus.DEAD).exists()
    assert len(slack.api_requests("chat.postMessage")) >= 1


def test_a_health_step_delivered_after_the_resources_recovery_pages_nobody(
    celery_worker,
    targets,  # noqa: F811
):
    """Resource Health's Available was delivered before the Unavailable that preceded it: the
    Unavailable's ticket paged (JIRA issue, Slack alert) for a resource already back, and
    stayed open."""
    jira, slack = targets
    post(_health_step("-3", "Resolved", "Available", "Unavailable", "2025-01-01T10:10:00Z"), AZURE)
    opened = post(
        _health_step("-1", "Activated", "Unavailable", "Available", "2025-01-01T10:00:00Z"), AZURE
    )
    ticket = Ticket.objects.get(pk=opened["ticket_id"])
    pages = OutboundDelivery.objects.filter(ticket=ticket, action__in=["jira_create", "slack_post"])
    wait_for(lambda: pages.count() == 2, 30)
    settled()

    ticket.refresh_from_db()
    assert ticket.status == "resolved" and ticket.resolved_at_source_at is not None
    assert jira.issue_requests("POST") == []
    assert slack.api_requests("chat.postMessage") == []
    assert set(pages.values_list("status", "last_error")) == {
        (OutboundStatus.SKIPPED, RECOVERED_BEFORE_PAGING)
    }


def test_a_regression_committing_while_the_recovered_ticket_is_scheduled_still_pages(
    targets,  # noqa: F811
):
    """The regression reads the ticket's page deliveries (`page_if_left_unpaged`) inside its
    transaction, and the processing read the ticket resolved before that transaction
    committed: the processing's skipped pages landed after the regression looked for them, and
    a failing ticket paged nobody. Here the processing is a redelivery after a worker that died
    once the ticket was analysed (beat hands the delivery out again), and the regression holds
    the ticket's row while the processing runs."""
    post(_alert("a", "Resolved", "2025-12-10T12:00:00.000Z"), AZURE)
    fired = post(_alert("a", "Fired", "2025-12-10T12:00:00.000Z"), AZURE)
    ticket = Ticket.objects.get(pk=fired["ticket_id"])
    assert ticket.status == "resolved" and ticket.resolved_at_source_at is not None
    analyse_tickets([ticket.pk])
    delivery = WebhookDelivery.objects.get(tracking_id=fired["tracking_id"])

    regressing, commit = threading.Event(), threading.Event()
    answers: list[dict] = []

    def regress_and_hold_the_ticket() -> None:
        try:
            with transaction.atomic():
                answers.append(post(_alert("a", "Fired", "2025-12-10T15:00:00.000Z"), AZURE))
                regressing.set()
                # Until the processing is done, or 3 s (it may be waiting for this row).
                commit.wait(timeout=3)
        finally:
            regressing.set()
            connection.close()

    regression = threading.Thread(target=regress_and_hold_the_ticket)
    regression.start()
    assert regressing.wait(timeout=30)
    processing.process_delivery(delivery.pk)
    commit.set()
    regression.join(timeout=30)

    assert [(a["outcome"], a["ticket_id"]) for a in answers] == [("regressed", ticket.pk)]
    ticket.refresh_from_db()
    assert ticket.status == "open"
    for action in ("jira_create", "slack_post"):
        latest = OutboundDelivery.objects.filter(ticket=ticket, action=action).last()
        assert latest is not None and latest.status == OutboundStatus.PENDING, (
            action,
            list(
                OutboundDelivery.objects.filter(ticket=ticket, action=action).values_list(
                    "key", "status", "last_error"
                )
            ),
        )


def test_a_failure_recovered_in_its_grace_delay_pages_nobody(
    celery_worker,
    targets,  # noqa: F811
    settings,
):
    """A failure naming a culprit waits its incident grace delay before paging on its own;
    its pipeline succeeding meanwhile resolved it, and its JIRA issue (created in Done) and
    Slack alert went out anyway, paging about something over before anybody was paged."""
    jira, slack = targets
    settings.INCIDENT_GRACE_SECONDS = 3
    ticket_id = post(storm_failure("pl_alone"))["ticket_id"]
    pages = OutboundDelivery.objects.filter(
        ticket_id=ticket_id, action__in=["jira_create", "slack_post"]
    )
    wait_for(lambda: pages.count() == 2, 30)  # analysed: its page waits out the delay

    assert post_success("pl_alone")["outcome"] == "resolved"
    settled()

    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.status == "resolved" and ticket.resolved_at_source_at is not None
    assert (ticket.itsm_ticket_id, ticket.slack_ts) == ("", "")
    assert jira.issue_requests("POST") == []
    assert slack.api_requests("chat.postMessage") == []
    assert set(pages.values_list("status", "last_error")) == {
        (OutboundStatus.SKIPPED, RECOVERED_BEFORE_PAGING)
    }
    assert not OutboundDelivery.objects.filter(ticket=ticket, status=OutboundStatus.DEAD).exists()


def paged_then_resolved(jira: FakeJira) -> Ticket:
    """Alert a fired (its ticket paged: JIRA issue, Slack alert) and was resolved (the issue
    moved to Done)."""
    fired = post(_alert("a", "Fired", "2025-12-10T12:00:00.000Z"), AZURE)
    ticket = wait_for(
        lambda: (
            Ticket.objects.filter(pk=fired["ticket_id"])
            .exclude(itsm_ticket_id="")
            .exclude(slack_ts="")
            .first()
        ),
        30,
    )
    settled()
    assert post(_alert("a", "Resolved", "2025-12-10T12:00:00.000Z"), AZURE)["outcome"] == (
        "resolved"
    )
    settled()
    assert jira.issues[ticket.itsm_ticket_id]["status"] == "Done"
    return ticket


def test_a_regression_over_at_its_source_before_it_pages_pages_nobody(
    celery_worker,
    targets,  # noqa: F811
):
    """The failure back (another alert of the rule) whose Resolved came first: the regression
    reopened the JIRA issue with a comment and replied in the Slack thread, then the recovery
    moved the issue back to Done with another comment and reply, for a failure over before
    anybody was paged."""
    jira, slack = targets
    ticket = paged_then_resolved(jira)
    jira_posts = len(jira.issue_requests("POST"))
    slack_posts = len(slack.api_requests("chat.postMessage"))

    post(_alert("b", "Resolved", "2025-12-10T15:00:00.000Z"), AZURE)
    again = post(_alert("b", "Fired", "2025-12-10T15:00:00.000Z"), AZURE)
    assert (again["outcome"], again["ticket_id"]) == ("regressed", ticket.pk)
    wait_for(lambda: not WebhookDelivery.objects.filter(status="pending").exists(), 30)
    settled()

    ticket.refresh_from_db()
    assert (ticket.status, ticket.regression_count) == ("resolved", 1)
    assert AuditLog.objects.filter(ticket=ticket, action="regressed").count() == 1
    assert jira.issues[ticket.itsm_ticket_id]["status"] == "Done"
    assert len(jira.issue_requests("POST")) == jira_posts  # no transition, no comment
    assert len(slack.api_requests("chat.postMessage")) == slack_posts  # no thread reply
    regressed = OutboundDelivery.objects.filter(ticket=ticket, payload__action="regressed")
    assert regressed.count() == 2
    assert set(regressed.values_list("status", "last_error")) == {
        (OutboundStatus.SKIPPED, RECOVERED_BEFORE_PAGING)
    }
    assert not OutboundDelivery.objects.filter(ticket=ticket, status=OutboundStatus.DEAD).exists()


def test_a_regression_still_failing_when_processed_pages_as_before(
    celery_worker,
    targets,  # noqa: F811
):
    jira, slack = targets
    ticket = paged_then_resolved(jira)

    again = post(_alert("b", "Fired", "2025-12-10T15:00:00.000Z"), AZURE)
    assert (again["outcome"], again["ticket_id"]) == ("regressed", ticket.pk)
    wait_for(lambda: jira.issues[ticket.itsm_ticket_id]["status"] == "To Do", 30)
    settled()

    assert "the ticket is open again" in jira.issues[ticket.itsm_ticket_id]["comments"][-1]["body"]
    assert "regressed" in slack.thread(ticket.slack_channel, ticket.slack_ts)[-1]["text"]
    regressed = OutboundDelivery.objects.filter(ticket=ticket, payload__action="regressed")
    assert set(regressed.values_list("status", flat=True)) == {OutboundStatus.SUCCEEDED}
    assert not regressed.filter(payload__has_key="held").exists()


def run_in_background(timeout: float = 30) -> None:
    """What the inbox relay and the workers would do, in the test's thread: process the
    pending inbox rows, then deliver what is due, until nothing is left pending."""
    deadline = time.monotonic() + timeout
    while True:
        for delivery_id in WebhookDelivery.objects.filter(status="pending").values_list(
            "pk", flat=True
        ):
            processing.process_delivery(delivery_id)
        pending = OutboundDelivery.objects.filter(status=OutboundStatus.PENDING)
        if not pending.exists():
            return
        assert time.monotonic() < deadline, list(pending.values_list("action", "last_error"))
        for outbound_id in pending.filter(next_attempt_at__lte=timezone.now()).values_list(
            "pk", flat=True
        ):
            fanout.deliver(outbound_id)
        time.sleep(0.05)


def test_an_airflow_retry_succeeding_before_its_regression_paged_pages_nobody(
    targets,  # noqa: F811
    settings,
):
    """The same run's task failed again after its ticket was resolved (a regression, Airflow
    retrying it) and the retry succeeded before the regression was processed: it paged as if
    it were failing (JIRA reopened and commented, a Slack thread reply)."""
    jira, slack = targets
    settings.INCIDENT_GRACE_SECONDS = 0
    failed = {**local_payload("airflow_failure.json"), "state": "failed", "try_number": 3}
    ticket_id = post(failed, AIRFLOW)["ticket_id"]
    run_in_background()
    succeeded = {**failed, "state": "success", "try_number": 4, "exception": None}
    assert post(succeeded, AIRFLOW)["outcome"] == "resolved"
    run_in_background()
    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.itsm_ticket_id and ticket.slack_ts
    assert jira.issues[ticket.itsm_ticket_id]["status"] == "Done"
    jira_posts = len(jira.issue_requests("POST"))
    slack_posts = len(slack.api_requests("chat.postMessage"))
    slack_updates = len(slack.api_requests("chat.update"))
    before = timezone.now()

    retried = {**failed, "state": "up_for_retry", "try_number": 5, "max_tries": 6}
    assert post(retried, AIRFLOW)["outcome"] == "regressed"
    fixed = {**retried, "state": "success", "try_number": 6, "exception": None}
    assert post(fixed, AIRFLOW)["outcome"] == "resolved"
    run_in_background()

    ticket.refresh_from_db()
    assert (ticket.status, ticket.regression_count) == ("resolved", 1)
    assert jira.issues[ticket.itsm_ticket_id]["status"] == "Done"
    assert len(jira.issue_requests("POST")) == jira_posts
    assert len(slack.api_requests("chat.postMessage")) == slack_posts
    # Nor is its alert shown failing again for a moment and left so (its count's update).
    assert len(slack.api_requests("chat.update")) == slack_updates
    skipped = OutboundDelivery.objects.filter(ticket=ticket, created_at__gte=before)
    assert skipped.filter(payload__action="regressed").count() == 2
    assert skipped.filter(payload__action="recurred").exists()
    assert set(skipped.values_list("status", "last_error")) == {
        (OutboundStatus.SKIPPED, RECOVERED_BEFORE_PAGING)
    }


def test_a_regression_whose_processing_is_lost_still_pages_a_ticket_left_unpaged(
    targets,  # noqa: F811
    settings,
):
    """A failure over before it paged (its pages skipped) fails again: the regression's
    follow-ups are held for its processing, which was lost (or ran later than beat's
    redelivery). Beat handed the held follow-ups out as they were: each found no issue or
    alert to update and succeeded, and the processing that came later found nothing held, so
    the ticket's own page was never sent: a failing ticket that paged nobody."""
    jira, slack = targets
    settings.INCIDENT_GRACE_SECONDS = 0
    failed = {**local_payload("airflow_failure.json"), "state": "failed", "try_number": 3}
    ticket_id = post(failed, AIRFLOW)["ticket_id"]
    succeeded = {**failed, "state": "success", "try_number": 4, "exception": None}
    assert post(succeeded, AIRFLOW)["outcome"] == "resolved"
    run_in_background()
    ticket = Ticket.objects.get(pk=ticket_id)
    assert (ticket.status, ticket.itsm_ticket_id, ticket.slack_ts) == ("resolved", "", "")
    assert jira.issue_requests("POST") == []
    assert slack.api_requests("chat.postMessage") == []

    again = {**failed, "try_number": 5}
    assert post(again, AIRFLOW)["outcome"] == "regressed"
    held = OutboundDelivery.objects.filter(ticket_id=ticket_id, payload__has_key="held")
    assert held.exists()
    # Its processing lost: beat finds the held follow-ups overdue and hands them out.
    held.update(next_attempt_at=timezone.now() - timedelta(minutes=10))
    fanout.redeliver_stale(grace_seconds=300)
    for outbound_id in OutboundDelivery.objects.filter(
        status=OutboundStatus.PENDING, next_attempt_at__lte=timezone.now()
    ).values_list("pk", flat=True):
        fanout.deliver(outbound_id)
    run_in_background()  # the processing, redelivered later

    ticket.refresh_from_db()
    assert ticket.status == "open"
    assert ticket.itsm_ticket_id and ticket.slack_ts
    assert jira.issues[ticket.itsm_ticket_id]["status"] != "Done"
    assert not OutboundDelivery.objects.filter(ticket=ticket, payload__has_key="held").exists()


def process_inbox() -> None:
    """What the inbox relay and the workers would do with the pending inbox rows, in the test's
    thread (their deliveries left pending)."""
    for delivery_id in WebhookDelivery.objects.filter(status="pending").values_list(
        "pk", flat=True
    ):
        processing.process_delivery(delivery_id)


def test_a_regression_committing_while_its_skipped_page_commits_still_pages(
    targets,  # noqa: F811
    settings,
):
    """A failure over in its grace delay: its JIRA create, due, reads the ticket recovered and
    skips it. The failure came back in between that read and the skip's commit: its regression
    committed, and its processing looked for a page left out (`page_if_left_unpaged`) while the
    skip was not committed yet, so it found the create pending and scheduled no page; the skip
    then committed, and a failing ticket paged nobody. Here the skip's commit is held up (its
    attempt's row waits for a lock on the attempts table)."""
    jira, _ = targets
    settings.INCIDENT_GRACE_SECONDS = 3600
    ticket_id = post(storm_failure("pl_alone"))["ticket_id"]
    process_inbox()  # analysed: its page waits out the delay
    assert post_success("pl_alone")["outcome"] == "resolved"
    create = OutboundDelivery.objects.get(ticket_id=ticket_id, action="jira_create")
    OutboundDelivery.objects.filter(pk=create.pk).update(next_attempt_at=timezone.now())

    holding, release = threading.Event(), threading.Event()
    pids: list[int] = []
    answers: list[dict] = []

    def hold_the_attempts_table() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("LOCK TABLE integrations_deliveryattempt IN SHARE MODE")
                cursor.execute("SELECT pg_backend_pid()")
                pids.append(cursor.fetchone()[0])
                holding.set()
                release.wait(20)
        finally:
            connection.close()

    def deliver_the_create() -> None:
        try:
            fanout.deliver(create.pk)
        finally:
            connection.close()

    def regress() -> None:
        try:
            answers.append(post(storm_failure("pl_alone")))
        finally:
            connection.close()

    def blocked_by(pid: int) -> int | None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", [pid]
            )
            row = cursor.fetchone()
        return row[0] if row else None

    holder = threading.Thread(target=hold_the_attempts_table)
    deliverer = threading.Thread(target=deliver_the_create)
    regression = threading.Thread(target=regress)
    try:
        holder.start()
        assert holding.wait(10)
        deliverer.start()
        delivering = wait_for(lambda: blocked_by(pids[0]), 10, 0.02)  # its skip not committed
        regression.start()
        # The regression commits now, or waits for the delivery's transaction.
        wait_for(lambda: not regression.is_alive() or blocked_by(delivering), 10, 0.02)
        if not regression.is_alive():
            processing.process_delivery(
                WebhookDelivery.objects.get(tracking_id=answers[0]["tracking_id"]).pk
            )
    finally:
        release.set()
        holder.join(20)
        deliverer.join(20)
        regression.join(20)
    process_inbox()

    assert [(a["outcome"], a["ticket_id"]) for a in answers] == [("regressed", ticket_id)]
    creates = OutboundDelivery.objects.filter(ticket_id=ticket_id, action="jira_create")
    assert list(creates.order_by("pk").values_list("status", "last_error")) == [
        (OutboundStatus.SKIPPED, RECOVERED_BEFORE_PAGING),
        (OutboundStatus.PENDING, ""),
    ]
    assert jira.issue_requests("POST") == []


def test_an_incident_reopening_over_at_its_source_before_it_pages_pages_nobody(
    celery_worker,
    targets,  # noqa: F811
):
    """A member of a recovered incident failed again and its pipeline succeeded before the
    regression was processed: the member's own follow-ups were held and skipped, but its
    incident told the outage back (a reply broadcast to the channel, a comment on its issue)
    and then every member recovered again, for an outage over before anybody was paged."""
    from tests.integrations.test_incident_paging import (
        comments,
        incident_thread,
        paged_incident,
        transitions,
    )

    jira, slack = targets
    member = post(storm_failure("pl_orders"))["ticket_id"]
    post(storm_failure("pl_customers"))
    incident = paged_incident()
    key = incident.itsm_ticket_id
    post_success("pl_orders")
    post_success("pl_customers")
    wait_for(lambda: len(incident_thread(slack, incident)) == 1, 30)
    settled()
    told, moved = len(comments(jira, key)), transitions(jira, key)

    # Its success lands before the worker processes the failure.
    with transaction.atomic():
        assert post(storm_failure("pl_orders"))["outcome"] == "regressed"
        assert post_success("pl_orders")["outcome"] == "resolved"
    wait_for(lambda: not WebhookDelivery.objects.filter(status="pending").exists(), 30)
    settled()

    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.recovered_at is not None
    assert AuditLog.objects.filter(ticket_id=member, action="regressed").count() == 1
    assert len(incident_thread(slack, incident)) == 1
    assert (len(comments(jira, key)), transitions(jira, key)) == (told, moved)
    assert jira.issues[key]["status"] == "Done"
    skipped = OutboundDelivery.objects.filter(
        payload__incident_id=incident.pk, action__in=["jira_inc_comment", "slack_inc_reply"]
    ).exclude(status=OutboundStatus.SUCCEEDED)
    assert sorted(skipped.values_list("payload__action", flat=True)) == [
        "recovered",
        "recovered",
        "regressed",
        "regressed",
    ]
    assert set(skipped.values_list("status", "last_error")) == {
        (OutboundStatus.SKIPPED, RECOVERED_BEFORE_PAGING)
    }


def test_an_incident_reopening_whose_processing_is_lost_is_still_told(
    targets,  # noqa: F811
    settings,
):
    """The outage back is held for its member's regression; that processing lost, beat's
    redelivery releases it as the processing would: the member still failing, the incident's
    thread and issue say the outage is back."""
    from tests.integrations.test_incident_paging import comments, incident_thread

    jira, slack = targets
    settings.INCIDENT_GRACE_SECONDS = 0
    member = post(storm_failure("pl_orders"))["ticket_id"]
    post(storm_failure("pl_customers"))
    run_in_background()
    post_success("pl_orders")
    post_success("pl_customers")
    run_in_background()
    incident = Ticket.objects.get(pk=member).incident
    assert incident is not None and incident.status == "resolved"
    told = len(comments(jira, incident.itsm_ticket_id))

    assert post(storm_failure("pl_orders"))["outcome"] == "regressed"
    held = OutboundDelivery.objects.filter(payload__incident_id=incident.pk, payload__held=member)
    assert sorted(held.values_list("action", flat=True)) == ["jira_inc_comment", "slack_inc_reply"]
    # Its processing lost: beat finds the held announcements overdue and releases them.
    held.update(next_attempt_at=timezone.now() - timedelta(minutes=10))
    assert fanout.redeliver_stale(grace_seconds=300) == 2
    for outbound_id in OutboundDelivery.objects.filter(
        status=OutboundStatus.PENDING, next_attempt_at__lte=timezone.now()
    ).values_list("pk", flat=True):
        fanout.deliver(outbound_id)

    assert incident_thread(slack, incident)[-1]["text"].startswith(
        ":rotating_light: The outage is back: pl_orders"
    )
    assert len(comments(jira, incident.itsm_ticket_id)) == told + 1
    assert not OutboundDelivery.objects.filter(payload__has_key="held").exists()


def test_an_incident_reopened_by_a_member_left_open_at_its_recovery_is_told_at_once(
    celery_worker,
    targets,  # noqa: F811
    settings,
):
    """With RESOLVE_ON_SOURCE_RECOVERY off a member's recovery leaves it open: its failure
    again is one more occurrence (`correlated`, no regression), which reopens its incident
    all the same. The outage back was held for a regression that never comes, until beat
    released it minutes later."""
    from tests.integrations.test_incident_paging import comments, incident_thread, paged_incident

    jira, slack = targets
    settings.RESOLVE_ON_SOURCE_RECOVERY = False
    member = post(storm_failure("pl_orders"))["ticket_id"]
    post(storm_failure("pl_customers"))
    incident = paged_incident()
    post_success("pl_orders")
    post_success("pl_customers")
    wait_for(lambda: len(incident_thread(slack, incident)) == 1, 30)
    settled()
    incident.refresh_from_db()
    assert incident.recovered_at is not None
    assert Ticket.objects.get(pk=member).status == "open"
    told = len(comments(jira, incident.itsm_ticket_id))

    assert post(storm_failure("pl_orders"))["outcome"] == "correlated"

    wait_for(lambda: len(incident_thread(slack, incident)) == 2, 20)
    settled()
    incident.refresh_from_db()
    assert incident.recovered_at is None
    assert incident_thread(slack, incident)[-1]["text"].startswith(
        ":rotating_light: The outage is back: pl_orders"
    )
    assert len(comments(jira, incident.itsm_ticket_id)) == told + 1
    assert not OutboundDelivery.objects.filter(payload__has_key="held").exists()


def test_an_incident_reopening_held_for_a_regression_stays_held_through_a_later_recurrence(
    targets,  # noqa: F811
    settings,
):
    """A member's regression reopened its incident; the member's next failure, counted while
    that regression waits to be processed, releases nothing: the outage back still waits for
    the regression's processing."""
    settings.INCIDENT_GRACE_SECONDS = 0
    member = post(storm_failure("pl_orders"))["ticket_id"]
    post(storm_failure("pl_customers"))
    run_in_background()
    post_success("pl_orders")
    post_success("pl_customers")
    run_in_background()
    incident = Ticket.objects.get(pk=member).incident
    assert incident is not None and incident.status == "resolved"

    assert post(storm_failure("pl_orders"))["outcome"] == "regressed"
    assert post(storm_failure("pl_orders"))["outcome"] == "correlated"

    held = OutboundDelivery.objects.filter(payload__incident_id=incident.pk, payload__held=member)
    assert sorted(held.values_list("action", flat=True)) == ["jira_inc_comment", "slack_inc_reply"]
    run_in_background()
    assert not OutboundDelivery.objects.filter(payload__has_key="held").exists()
