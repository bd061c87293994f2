"""The SLA clock of a Service Health notice (none while it pages nobody) and of one that
escalates, through the webhook and the beat's breach pass against the real database."""

from __future__ import annotations

import importlib
import threading
import time
from datetime import timedelta

import pytest
from django.db import OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from integrations.events import SERVICE_HEALTH_NOTICE
from tests.api import jwt_client, make_ticket, make_user
from tests.tickets.test_incidents import SUBSCRIPTIONS, post, service_health_alert
from tickets import lifecycle
from tickets import tasks as tickets_tasks
from tickets.lifecycle import Actor
from tickets.models import AuditLog, Ticket
from tickets.vocabulary import SlaStatus

pytestmark = pytest.mark.django_db(transaction=True)

AZURE = "/webhooks/azure-monitor/"
TITLE = "Planned maintenance: Azure SQL Database - West Europe"


def update(tracking: str, n: str, incident_type: str, level: str = "Informational") -> dict:
    body = service_health_alert(SUBSCRIPTIONS[0], tracking, update=n, title=TITLE)
    body["data"]["essentials"].update(alertRule="sh-all", severity="Sev4")
    context = body["data"]["alertContext"]
    context.update(level=level)
    if incident_type == "Maintenance":
        context.update(operationName="Microsoft.ServiceHealth/maintenance/action")
    context["properties"].update(incidentType=incident_type)
    return body


@pytest.mark.parametrize("notices_page", [False, True])
def test_a_notice_announced_long_ago_that_escalates_gets_its_outages_response_time(
    settings, notices_page
):
    """A planned maintenance announced 20 hours ago (its P4 clock of 24 hours with 4 left)
    whose update is now an `Incident`: High, P2, and its page goes out now. Its deadline was
    counted from the notice's creation (created + 1 hour, 19 hours past), so the beat marked
    the outage Breached as it paged, before anyone could answer. Its clock starts at the
    update that made it an outage."""
    settings.SERVICE_HEALTH_NOTICES_PAGE = notices_page
    settings.INCIDENT_GRACE_SECONDS = 60
    ticket_id = post(update("MNT-910", "1", "Maintenance"), AZURE)["ticket_id"]
    notice = Ticket.objects.get(pk=ticket_id)
    assert (notice.severity, notice.priority, notice.sla_seconds) == ("Low", "P4", 24 * 3600)
    announced = timezone.now() - timedelta(hours=20)
    Ticket.objects.filter(pk=ticket_id).update(
        timestamp=announced, sla_deadline=announced + timedelta(seconds=notice.sla_seconds)
    )

    before = timezone.now()
    got = post(update("MNT-910", "2", "Incident"), AZURE)
    assert (got["outcome"], got["ticket_id"]) == ("correlated", ticket_id)
    outage = Ticket.objects.get(pk=ticket_id)
    assert (outage.severity, outage.priority, outage.sla_seconds) == ("High", "P2", 3600)
    assert outage.sla_deadline is not None
    assert before + timedelta(hours=1) <= outage.sla_deadline <= timezone.now() + timedelta(hours=1)
    lifecycle.mark_sla_breaches()
    assert Ticket.objects.get(pk=ticket_id).sla_status == SlaStatus.PENDING
    assert not AuditLog.objects.filter(ticket_id=ticket_id, action="sla breached").exists()
    # Unanswered an hour on, it is late.
    lifecycle.mark_sla_breaches(timezone.now() + timedelta(hours=1, minutes=1))
    assert Ticket.objects.get(pk=ticket_id).sla_status == SlaStatus.BREACHED


def test_a_notice_ended_and_back_as_an_outage_gets_its_outages_response_time(settings):
    """A planned maintenance, completed, then published again as an `Incident` (its ticket
    reopened as a regression, escalated): High, P2, but its fresh SLA clock was the notice's
    P4 24 hours (its time was kept while its clock had stopped, Met). Its clock is the
    outage's hour from the update."""
    settings.SERVICE_HEALTH_NOTICES_PAGE = False
    settings.INCIDENT_GRACE_SECONDS = 60
    at = timezone.now()

    def published(body: dict, minutes: int) -> dict:
        moment = at + timedelta(minutes=minutes)
        body["data"]["alertContext"]["eventTimestamp"] = moment.isoformat()
        return body

    ticket_id = post(published(update("MNT-920", "1", "Maintenance"), 0), AZURE)["ticket_id"]
    complete = update("MNT-920", "2", "Maintenance")
    complete["data"]["alertContext"]["properties"]["stage"] = "Complete"
    assert post(published(complete, 1), AZURE)["outcome"] == "resolved"
    before = timezone.now()
    back = post(published(update("MNT-920", "3", "Incident"), 2), AZURE)
    assert (back["outcome"], back["ticket_id"]) == ("regressed", ticket_id)
    outage = Ticket.objects.get(pk=ticket_id)
    assert (outage.status, outage.severity, outage.priority) == ("open", "High", "P2")
    assert (outage.sla_status, outage.sla_seconds) == (SlaStatus.PENDING, 3600)
    assert outage.sla_deadline is not None
    assert before + timedelta(hours=1) <= outage.sla_deadline <= timezone.now() + timedelta(hours=1)
    lifecycle.mark_sla_breaches(timezone.now() + timedelta(hours=1, minutes=1))
    assert Ticket.objects.get(pk=ticket_id).sla_status == SlaStatus.BREACHED


def _pass_hours(ticket_id: str, hours: int) -> None:
    """As if the ticket was opened `hours` ago: its creation and deadline (if any) moved back."""
    Ticket.objects.filter(pk=ticket_id).update(
        timestamp=F("timestamp") - timedelta(hours=hours),
        sla_deadline=F("sla_deadline") - timedelta(hours=hours),
    )


def _sla_stats() -> dict:
    api = jwt_client(make_user("viewer", username="sla-reader"))
    return api.get("/api/v1/stats/").json()["sla"]


@pytest.mark.parametrize("notices_page", [False, True])
def test_a_quiet_notice_has_no_sla_clock_and_is_neither_met_nor_breached(settings, notices_page):
    """A planned maintenance that pages nobody asks no response of anyone: it had a P4 clock
    of 24 hours all the same, so left alone a day the beat marked it Breached, and the
    `Complete` that ended it counted it Met in the SLA compliance. With notices paging, it
    keeps its clock as any page does."""
    settings.SERVICE_HEALTH_NOTICES_PAGE = notices_page
    ticket_id = post(update("MNT-930", "1", "Maintenance"), AZURE)["ticket_id"]
    notice = Ticket.objects.get(pk=ticket_id)
    assert (notice.severity, notice.priority, notice.sla_status) == ("Low", "P4", "Pending")
    assert (notice.sla_deadline is None) is not notices_page

    _pass_hours(ticket_id, 25)
    assert tickets_tasks.mark_sla_breaches() == int(notices_page)  # the beat's task
    left = Ticket.objects.get(pk=ticket_id)
    assert left.sla_status == (SlaStatus.BREACHED if notices_page else SlaStatus.PENDING)
    assert AuditLog.objects.filter(ticket_id=ticket_id, action="sla breached").exists() is (
        notices_page
    )

    complete = update("MNT-930", "2", "Maintenance")
    complete["data"]["alertContext"]["properties"]["stage"] = "Complete"
    assert post(complete, AZURE)["outcome"] == "resolved"
    ended = Ticket.objects.get(pk=ticket_id)
    assert ended.status == "resolved"
    assert ended.sla_status == (SlaStatus.BREACHED if notices_page else SlaStatus.PENDING)
    assert ended.sla_deadline is None or notices_page

    tickets_tasks.fold_ticket_stats()
    sla = _sla_stats()
    assert (sla["by_status"]["Met"], sla["by_status"]["Breached"]) == (0, int(notices_page))
    assert sla["compliance"] == (0.0 if notices_page else None)


def test_a_quiet_notice_answered_or_back_as_a_notice_starts_no_clock(settings):
    """Acknowledged, a notice with no clock was Met (an answer in time to nothing asked); back
    after its end as a notice again (a regression), it got a fresh 24 hours."""
    settings.SERVICE_HEALTH_NOTICES_PAGE = False
    at = timezone.now()

    def published(body: dict, minutes: int) -> dict:
        body["data"]["alertContext"]["eventTimestamp"] = (
            at + timedelta(minutes=minutes)
        ).isoformat()
        return body

    ticket_id = post(published(update("MNT-940", "1", "Maintenance"), 0), AZURE)["ticket_id"]
    lifecycle.transition(ticket_id, "acknowledge", Actor.system("test"))
    answered = Ticket.objects.get(pk=ticket_id)
    assert (answered.sla_status, answered.sla_deadline) == (SlaStatus.PENDING, None)
    lifecycle.transition(ticket_id, "reopen", Actor.system("test"))
    assert Ticket.objects.get(pk=ticket_id).sla_deadline is None

    complete = update("MNT-940", "2", "Maintenance")
    complete["data"]["alertContext"]["properties"]["stage"] = "Complete"
    assert post(published(complete, 1), AZURE)["outcome"] == "resolved"
    back = post(published(update("MNT-940", "3", "Maintenance"), 2), AZURE)
    assert (back["outcome"], back["ticket_id"]) == ("regressed", ticket_id)
    returned = Ticket.objects.get(pk=ticket_id)
    assert (returned.status, returned.sla_status, returned.sla_deadline) == (
        "open",
        SlaStatus.PENDING,
        None,
    )


def test_a_quiet_notice_that_escalates_starts_its_clock_at_the_update(settings):
    """No clock ran while it was a notice; the outage's starts at the update that made it one,
    with its raised priority's time. An acknowledged notice, answered before it was an outage,
    starts none until it is reopened."""
    settings.SERVICE_HEALTH_NOTICES_PAGE = False
    settings.INCIDENT_GRACE_SECONDS = 60
    ticket_id = post(update("MNT-950", "1", "Maintenance"), AZURE)["ticket_id"]
    assert Ticket.objects.get(pk=ticket_id).sla_deadline is None
    before = timezone.now()
    assert post(update("MNT-950", "2", "Incident"), AZURE)["outcome"] == "correlated"
    outage = Ticket.objects.get(pk=ticket_id)
    assert (outage.priority, outage.sla_seconds, outage.sla_status) == ("P2", 3600, "Pending")
    assert outage.sla_deadline is not None
    assert before + timedelta(hours=1) <= outage.sla_deadline <= timezone.now() + timedelta(hours=1)

    answered_id = post(update("MNT-960", "1", "Maintenance"), AZURE)["ticket_id"]
    lifecycle.transition(answered_id, "acknowledge", Actor.system("test"))
    assert post(update("MNT-960", "2", "Incident"), AZURE)["outcome"] == "correlated"
    answered = Ticket.objects.get(pk=answered_id)
    assert (answered.priority, answered.sla_status, answered.sla_deadline) == (
        "P2",
        "Pending",
        None,
    )
    before = timezone.now()
    lifecycle.transition(answered_id, "reopen", Actor.system("test"))
    reopened = Ticket.objects.get(pk=answered_id)
    assert reopened.sla_deadline is not None
    assert (
        before + timedelta(hours=1) <= reopened.sla_deadline <= timezone.now() + timedelta(hours=1)
    )


@pytest.mark.parametrize("notices_page", [False, True])
def test_the_upgrade_stops_the_clock_of_the_quiet_notices_the_release_before_opened(
    settings, notices_page
):
    """tickets/0060: a notice still open with a running clock loses its deadline (it would be
    Breached at its 24 hours, or Met at its end); one already Breached or Met keeps that, as
    do other tickets, and with notices paging every notice keeps its clock."""
    from django.apps import apps

    migration = importlib.import_module("tickets.migrations.0060_quiet_notices_without_a_sla_clock")
    settings.SERVICE_HEALTH_NOTICES_PAGE = notices_page
    now = timezone.now()
    notice = {"details": {SERVICE_HEALTH_NOTICE: True}, "sla_deadline": now + timedelta(hours=3)}
    running = make_ticket(**notice)
    taken = make_ticket(status="in_progress", **notice)
    breached = make_ticket(sla_status="Breached", **notice)
    met = make_ticket(status="resolved", sla_status="Met", **notice)
    outage = make_ticket(sla_deadline=now + timedelta(hours=1))

    cleared = migration.clear_quiet_notice_deadlines(apps, None)

    deadlines = dict(Ticket.objects.values_list("pk", "sla_deadline"))
    assert cleared == (0 if notices_page else 2)
    for ticket in (running, taken):
        assert (deadlines[ticket.pk] is None) is not notices_page
    for ticket in (breached, met, outage):
        assert deadlines[ticket.pk] == ticket.sla_deadline
    assert migration.clear_quiet_notice_deadlines(apps, None) == 0

    # Migrated back: the old release's clock, from creation.
    with connection.schema_editor() as schema_editor:
        migration.restore_deadlines_from_creation(apps, schema_editor)
    restored = Ticket.objects.get(pk=running.pk)
    from_creation = restored.timestamp + timedelta(seconds=restored.sla_seconds)
    assert restored.sla_deadline == (running.sla_deadline if notices_page else from_creation)


def test_a_notice_escalating_beside_a_change_locking_its_tickets_by_id_deadlocks_nobody(
    settings, caplog
):
    """Two subscriptions' notices of one maintenance; the one of the higher id escalates while
    a change holds the other (a release of held pages locks tickets by id, the lower first,
    then the next). The escalation locked its own ticket, then, forming the incident of its
    tracking id, the other: against every other change's order, a deadlock PostgreSQL settled
    by aborting one side (the ingest, run again; or the other change). It locks them together,
    by id, before either."""
    settings.SERVICE_HEALTH_NOTICES_PAGE = False
    settings.INCIDENT_GRACE_SECONDS = 60

    def notice_update(subscription: str, n: str, incident_type: str) -> dict:
        body = service_health_alert(subscription, "MNT-930", update=n, title=TITLE)
        body["data"]["essentials"].update(alertRule="sh-all", severity="Sev4")
        body["data"]["alertContext"].update(level="Informational")
        body["data"]["alertContext"]["properties"].update(incidentType=incident_type)
        return body

    by_id = sorted(
        (post(notice_update(sub, "1", "Maintenance"), AZURE)["ticket_id"], sub)
        for sub in SUBSCRIPTIONS[:2]
    )
    (lower, _), (higher, escalating) = by_id
    answers: list[dict] = []

    def escalate() -> None:
        try:
            answers.append(post(notice_update(escalating, "2", "Incident"), AZURE))
        finally:
            connection.close()

    refused: list[Exception] = []
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '20s'")
        Ticket.objects.select_for_update(no_key=True).filter(pk=lower).values_list("pk").get()
        worker = threading.Thread(target=escalate)
        worker.start()
        deadline = time.monotonic() + 20
        while not _waiting_on_a_lock() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _waiting_on_a_lock(), "the escalation never waited for this session's lock"
        try:
            with transaction.atomic():
                locked = Ticket.objects.select_for_update(no_key=True).filter(pk=higher)
                locked.values_list("pk").get()
        except OperationalError as exc:  # deadlock detected
            refused.append(exc)
    worker.join(30)
    assert not refused
    aborted = [r for r in caplog.records if "aborted" in r.getMessage()]
    assert not aborted, aborted[0].getMessage()
    assert len(answers) == 1 and answers[0]["outcome"] == "correlated"
    outage = Ticket.objects.get(pk=higher)
    assert outage.severity == "High" and outage.incident_id is not None


def _waiting_on_a_lock() -> bool:
    """Whether another session waits for a lock this one holds."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks"
            " WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid))"
        )
        return bool(cursor.fetchone()[0])


def test_an_outage_answered_while_it_was_a_notice_and_a_ticket_without_a_deadline_are_met(
    settings,
):
    """A notice acknowledged, then escalated, is an outage with no deadline (its answer came
    before any clock): resolved, it stayed Pending for ever, counted in no SLA compliance.
    So did any other ticket without a deadline (one of an earlier release's, or edited), which
    was Met on its answer before quiet notices had no clock."""
    settings.SERVICE_HEALTH_NOTICES_PAGE = False
    answered_id = post(update("MNT-970", "1", "Maintenance"), AZURE)["ticket_id"]
    lifecycle.transition(answered_id, "acknowledge", Actor.system("test"))
    assert post(update("MNT-970", "2", "Incident"), AZURE)["outcome"] == "correlated"
    assert Ticket.objects.get(pk=answered_id).sla_deadline is None
    lifecycle.transition(answered_id, "resolve", Actor.system("test"))
    assert Ticket.objects.get(pk=answered_id).sla_status == SlaStatus.MET

    older_id = make_ticket(sla_deadline=None).pk
    lifecycle.transition(older_id, "acknowledge", Actor.system("test"))
    assert Ticket.objects.get(pk=older_id).sla_status == SlaStatus.MET

    quiet_id = post(update("MNT-980", "1", "Maintenance"), AZURE)["ticket_id"]
    lifecycle.transition(quiet_id, "acknowledge", Actor.system("test"))
    lifecycle.transition(quiet_id, "resolve", Actor.system("test"))
    assert Ticket.objects.get(pk=quiet_id).sla_status == SlaStatus.PENDING

    tickets_tasks.fold_ticket_stats()
    sla = _sla_stats()
    assert (sla["by_status"]["Met"], sla["by_status"]["Breached"]) == (2, 0)
