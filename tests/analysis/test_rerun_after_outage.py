"""Tickets whose RCA fell back to the rules during a Gemini outage get Gemini's once it answers
again (analysis/outage_reruns.py): through the real worker, the real google-genai client
against the fake Gemini, and the JIRA and Slack fakes their issue and alert are followed on."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from analysis import services, tasks
from analysis.models import LlmCall
from analysis.services import RCA_OUTAGE_SINCE
from integrations.circuit import CircuitBreaker
from integrations.models import OutboundDelivery, OutboundStatus
from tests.conftest import local_payload, wait_for
from tests.fakes.gemini_api import GOOD_RCA, FakeGemini
from tests.fakes.jira_api import FakeJira
from tests.fakes.slack_api import FakeSlack
from tickets import lifecycle
from tickets.lifecycle import Actor
from tickets.models import AuditLog, Ticket

pytestmark = pytest.mark.django_db(transaction=True)

PAUSE_SECONDS = 4.0


@pytest.fixture
def services_up(settings):
    """JIRA, Slack and Gemini fakes; a worker process that pauses after two calls fail."""
    with FakeJira() as jira, FakeSlack() as slack, FakeGemini() as gemini:
        settings.JIRA_URL, settings.JIRA_USER = jira.url, jira.user
        settings.JIRA_API_TOKEN = jira.token
        settings.JIRA_DEFAULT_PROJECT = "OPS"
        settings.SLACK_BOT_TOKEN, settings.SLACK_BASE_URL = slack.token, slack.base_url
        settings.SLACK_DEFAULT_CHANNEL = "#data-platform-alerts"
        settings.AZURE_STORAGE_CONNECTION_STRING = ""
        settings.OUTBOUND_TIMEOUT_SECONDS = 2
        settings.OUTBOUND_BACKOFF_SECONDS = 0.05
        settings.OUTBOUND_BACKOFF_MAX_SECONDS = 0.4
        settings.GEMINI_API_KEY = "test-key-not-a-secret"
        settings.GEMINI_BASE_URL = gemini.url
        settings.GEMINI_TIMEOUT_SECONDS = 1.0
        settings.GEMINI_MAX_ATTEMPTS = 1
        settings.EMBEDDING_BACKEND = "local"
        settings.CIRCUIT_FAILURE_THRESHOLD, settings.CIRCUIT_OPEN_SECONDS = 2, PAUSE_SECONDS
        for target in ("jira", "slack", "blob"):
            CircuitBreaker(target).reset()
        yield jira, slack, gemini


def failure(number: int, message: str | None = "", alone: bool = True) -> str:
    """A new ticket of its own pipeline, analysed and fanned out by the worker; its id. By
    default with an error of its own too: in no incident, reusing no RCA (`message`: None for
    the payload's, which names a SQL server)."""
    body = local_payload("adf_failure.json")
    body["run_id"] = str(uuid.uuid4())
    body["pipeline"] = f"pl_orders_{number}_{uuid.uuid4().hex[:6]}"
    if message is not None:
        body["error_message"] = (
            message or f"Column 'amount_{number}' in table orders_{number} cannot be null."
        )
    response = Client().post(
        "/webhooks/adf/",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_X_WEBHOOK_TOKEN=settings_token(),
    )
    assert response.status_code == 202, response.content
    ticket_id = response.json()["ticket_id"]
    settled(ticket_id, deliveries=2 if alone else 0)
    if alone:
        assert Ticket.objects.get(pk=ticket_id).incident_id is None
    return ticket_id


def settings_token() -> str:
    from django.conf import settings

    return settings.WEBHOOK_TOKEN


def settled(ticket_id: str, deliveries: int = 2) -> None:
    """Analysed, its JIRA issue and Slack alert delivered (a member of an incident has none: the
    incident pages), and nothing pending half a second on (a change's follow-ups are scheduled
    just after the delivery that caused them)."""

    def idle() -> bool:
        rows = OutboundDelivery.objects.filter(ticket_id=ticket_id)
        return (
            rows.count() >= deliveries and not rows.filter(status=OutboundStatus.PENDING).exists()
        )

    wait_for(lambda: Ticket.objects.filter(pk=ticket_id).exclude(rca_source="pending").exists())
    wait_for(idle, timeout=30)
    time.sleep(0.5)
    wait_for(idle, timeout=30)


def slack_blocks(slack: FakeSlack, ticket: Ticket) -> str:
    return json.dumps(slack.messages[(ticket.slack_channel, ticket.slack_ts)]["blocks"])


def test_tickets_on_rules_during_an_outage_get_geminis_rca_once_it_answers(
    celery_worker, services_up
):
    jira, slack, gemini = services_up
    gemini.block_reason = "SAFETY"
    blocked = failure(1)
    gemini.block_reason = None
    gemini.fail(503, gemini.error_body(503, "The model is overloaded."), times=None)
    unavailable = failure(2)
    resolved = failure(3)
    paused_at = time.monotonic()
    not_asked = failure(4)
    lifecycle.resolve(resolved, Actor.system("test"))
    notes = dict(Ticket.objects.values_list("pk", "rca_note"))
    assert "blocked: prompt blocked (SAFETY)" in notes[blocked]
    assert "server_error" in notes[unavailable] and "server_error" in notes[resolved]
    assert "not asked: the last 2 attempts failed" in notes[not_asked]
    assert LlmCall.objects.filter(ticket_id=not_asked).count() == 0
    # Gemini is back, but nothing has shown it answering yet: nothing is asked.
    gemini.clear_faults()
    assert tasks.rerun_rca_after_outage() == 0
    asked = len(gemini.generate_requests())

    # The worker's pause ends; the next ticket's call is answered.
    time.sleep(max(0.0, paused_at + PAUSE_SECONDS + 0.2 - time.monotonic()))
    answered = failure(5)
    assert Ticket.objects.get(pk=answered).rca_source == "gemini"
    assert tasks.rerun_rca_after_outage() == 2
    assert tasks.rerun_rca_after_outage() == 0  # taken already, their runs under way
    for ticket_id in (unavailable, not_asked):
        gemini_rca = Ticket.objects.filter(pk=ticket_id, rca_source="gemini")
        wait_for(gemini_rca.exists, timeout=30)
        settled(ticket_id)

    assert len(gemini.generate_requests()) == asked + 3
    for ticket_id in (unavailable, not_asked):
        ticket = Ticket.objects.get(pk=ticket_id)
        assert ticket.rca_result == GOOD_RCA["root_cause"]
        assert ticket.rca_note.startswith("re-run once Gemini answered again; Gemini (")
        assert ticket.rca_outage == ""
        request = AuditLog.objects.get(ticket_id=ticket_id, action="rca requested")
        assert request.actor_name == "gemini recovery"
        assert "Gemini answers again" in request.details["note"]
        issue = jira.issues[ticket.itsm_ticket_id]
        assert GOOD_RCA["root_cause"] in issue["description"]
        assert "Root cause (Gemini)" in issue["description"]
        blocks = slack_blocks(slack, ticket)
        assert GOOD_RCA["root_cause"] in blocks and '"Root cause (Gemini)"' in blocks
    for ticket_id in (blocked, resolved):
        ticket = Ticket.objects.get(pk=ticket_id)
        assert ticket.rca_source == "rules"
        assert not AuditLog.objects.filter(ticket_id=ticket_id, action="rca requested").exists()
    # Later sweeps find nothing more to ask.
    assert tasks.rerun_rca_after_outage() == 0
    assert len(gemini.generate_requests()) == asked + 3


def test_a_rerun_that_meets_the_outage_again_waits_for_a_later_answer(
    celery_worker, services_up, settings
):
    """Asked again once Gemini answered, a ticket that meets the outage again is asked once
    more only after Gemini answers after that: never twice for one outage."""
    _, _, gemini = services_up
    settings.CIRCUIT_FAILURE_THRESHOLD = 100
    gemini.fail(503, gemini.error_body(503, "The model is overloaded."), times=None)
    ticket_id = failure(1)
    gemini.clear_faults()
    failure(2)  # answered
    gemini.fail(503, gemini.error_body(503, "The model is overloaded."), times=None)

    assert tasks.rerun_rca_after_outage() == 1
    wait_for(lambda: Ticket.objects.get(pk=ticket_id).rca_note.startswith("re-run once"))

    assert Ticket.objects.get(pk=ticket_id).rca_outage == "server_error"
    asked = len(gemini.generate_requests())
    assert tasks.rerun_rca_after_outage() == 0
    gemini.clear_faults()
    failure(3)  # answered again
    assert tasks.rerun_rca_after_outage() == 1
    wait_for(lambda: Ticket.objects.get(pk=ticket_id).rca_source == "gemini")
    assert len(gemini.generate_requests()) == asked + 2
    assert AuditLog.objects.filter(ticket_id=ticket_id, action="rca requested").count() == 2


def test_reruns_that_keep_meeting_the_outage_stop_at_the_window_from_the_first_fallback(
    celery_worker, services_up, settings
):
    """Each rerun that fails again writes a new analysis time: the window counts from the
    ticket's first fallback in the outage, or a ticket Gemini keeps failing on while it answers
    others would be asked every minute for ever."""
    _, _, gemini = services_up
    settings.CIRCUIT_FAILURE_THRESHOLD = 100
    gemini.fail(503, gemini.error_body(503, "The model is overloaded."), times=None)
    ticket_id = failure(1)
    time.sleep(1.0)
    after_first_fallback = timezone.now()
    gemini.clear_faults()
    failure(2)  # answered
    gemini.fail(503, gemini.error_body(503, "The model is overloaded."), times=None)
    assert tasks.rerun_rca_after_outage() == 1
    wait_for(lambda: Ticket.objects.get(pk=ticket_id).rca_note.startswith("re-run once"))
    assert Ticket.objects.get(pk=ticket_id).rca_outage == "server_error"
    gemini.clear_faults()
    failure(3)  # answered again, within the window of the rerun's own fallback
    settings.GEMINI_RERUN_WINDOW = timezone.now() - after_first_fallback

    assert tasks.rerun_rca_after_outage() == 0
    assert AuditLog.objects.filter(ticket_id=ticket_id, action="rca requested").count() == 1


def test_a_fallback_in_a_later_outage_starts_a_new_window(celery_worker, services_up, settings):
    """A ticket whose first fallback is older than the window, asked again by staff in a later
    outage, is swept once Gemini answers: its old fallback time does not bar it for good."""
    _, _, gemini = services_up
    settings.CIRCUIT_FAILURE_THRESHOLD = 100
    gemini.fail(503, gemini.error_body(503, "The model is overloaded."), times=None)
    ticket_id = failure(1)
    ticket = Ticket.objects.get(pk=ticket_id)
    long_ago = timezone.now() - settings.GEMINI_RERUN_WINDOW - timedelta(hours=1)
    Ticket.objects.filter(pk=ticket_id).update(
        details={**ticket.details, RCA_OUTAGE_SINCE: long_ago.isoformat(timespec="microseconds")}
    )

    services.analyse_ticket(ticket_id, force=True, reason="asked by staff")
    assert Ticket.objects.get(pk=ticket_id).rca_outage == "server_error"
    gemini.clear_faults()
    failure(2)  # answered

    assert tasks.rerun_rca_after_outage() == 1
    wait_for(lambda: Ticket.objects.get(pk=ticket_id).rca_source == "gemini")


def test_no_key_an_invalid_answer_and_an_incidents_analysis_are_not_asked_again(
    celery_worker, services_up, settings
):
    _, _, gemini = services_up
    settings.CIRCUIT_FAILURE_THRESHOLD = 100
    settings.GEMINI_API_KEY = ""
    without_key = failure(1)
    settings.GEMINI_API_KEY = "test-key-not-a-secret"
    gemini.raw_text = "not json"
    invalid = failure(2)
    gemini.raw_text = None
    # Two pipelines failing on one SQL server: an incident, its members sharing its analysis
    # (the rules' shared cause: Gemini is down).
    gemini.fail(503, gemini.error_body(503, "The model is overloaded."), times=None)
    members = [failure(number, message=None, alone=False) for number in (3, 4)]
    gemini.clear_faults()
    failure(5)  # answered
    sharing = list(
        Ticket.objects.filter(pk__in=members, incident__isnull=False, rca_outage="")
        .exclude(rca_note__startswith="rule-based")
        .values_list("pk", flat=True)
    )
    assert sharing, list(Ticket.objects.filter(pk__in=members).values("incident", "rca_note"))

    tasks.rerun_rca_after_outage()

    time.sleep(0.5)
    for ticket_id in (without_key, invalid, *sharing):
        ticket = Ticket.objects.get(pk=ticket_id)
        assert ticket.rca_source == "rules" and ticket.rca_outage == ""
        assert not AuditLog.objects.filter(ticket_id=ticket_id, action="rca requested").exists()


def test_the_release_before_can_still_insert_tickets_after_the_upgrade():
    """It does not know `rca_outage`: its INSERT leaves the column out, so the column keeps its
    blank default in the database (Django's own default is dropped after the column is added)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_default FROM information_schema.columns"
            " WHERE table_name = 'tickets_ticket' AND column_name = 'rca_outage'"
        )
        (default,) = cursor.fetchone()

    assert default is not None and default.startswith("''")


def test_tickets_the_release_before_left_on_the_rules_in_an_outage_are_asked_again(settings):
    """The release before tickets/0038 kept no `rca_outage`; its note names the failure. After
    `migrate` the sweep asks for those it would have marked: a ticket that fell back minutes
    before the upgrade, during an outage still going on, got Gemini's RCA once it answered."""
    from django.db import connection, connections
    from django.db.migrations.executor import MigrationExecutor

    from analysis import outage_reruns
    from tests.api import make_ticket

    settings.GEMINI_API_KEY = "test-key-not-a-secret"
    settings.GEMINI_RERUN_WINDOW = timedelta(hours=24)
    now = timezone.now()

    def fell_back(note: str, **fields) -> str:
        fields = {"analysed_at": now - timedelta(minutes=5), **fields}
        return make_ticket(rca_source="rules", rca_note=note, **fields).pk

    # Made before going back: the model has the column 0037 does not.
    down = {
        outcome: fell_back(f"rule-based: Gemini failed ({outcome}: {reason})")
        for outcome, reason in (
            ("server_error", "server error (503)"),
            ("timeout", "timed out after 20s"),
            ("connection_error", "could not connect"),
            ("rate_limited", "quota exceeded (429)"),
        )
    }
    not_for_an_outage = [
        fell_back("rule-based: Gemini failed (invalid_output: root_cause is missing)"),
        fell_back("rule-based: Gemini failed (blocked: SAFETY)"),
        fell_back("rule-based: no GEMINI_API_KEY configured"),
        fell_back("Shared with incident INC-1 (culprit sql-server:sql-prod-01)"),
        fell_back(
            "rule-based: Gemini failed (server_error: server error (503))", status="resolved"
        ),
        fell_back(
            "rule-based: Gemini failed (timeout: timed out after 20s)",
            analysed_at=now - timedelta(days=2),
        ),
        make_ticket(rca_source="gemini", rca_note="Gemini (gemini-2.5-flash)").pk,
    ]
    executor = MigrationExecutor(connection)
    executor.migrate([("tickets", "0037_folded_ticket")])
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    finally:
        connections.close_all()

    marks = dict(Ticket.objects.values_list("pk", "rca_outage"))
    assert {down[outcome]: marks[down[outcome]] for outcome in down} == {
        ticket_id: outcome for outcome, ticket_id in down.items()
    }
    assert {marks[ticket_id] for ticket_id in not_for_an_outage} == {""}

    LlmCall.objects.create(model="gemini", outcome="ok")  # Gemini answers again
    asked: list[str] = []

    def request(ticket_id: str, actor: Actor, **_: str) -> bool:
        asked.append(ticket_id)
        return True

    assert outage_reruns.rerun_after_outage(request=request) == len(down)
    assert sorted(asked) == sorted(down.values())


def _rows_removed_by_filter(plan: dict) -> int:
    return int(plan.get("Rows Removed by Filter", 0)) + sum(
        _rows_removed_by_filter(child) for child in plan.get("Plans", [])
    )


def test_a_sweep_reads_no_ticket_that_fell_back_before_the_window(settings):
    """Tickets resolved before they were asked again, or whose outage outlasted the window,
    keep their `rca_outage`: the sweep every minute read them all again, oldest first, before
    those it asks (a daily quota's 429s leave hundreds more each day). Its index scan starts at
    the window, which a ticket's first fallback, no later than its last analysis, is in."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from analysis import outage_reruns

    settings.GEMINI_API_KEY = "test-key-not-a-secret"
    settings.GEMINI_RERUN_BATCH = 5
    settings.GEMINI_RERUN_WINDOW = timedelta(hours=24)
    two_days_ago = timezone.now() - timedelta(days=2)
    for number in range(30):
        body = local_payload("adf_failure.json")
        body["run_id"] = str(uuid.uuid4())
        body["pipeline"] = f"pl_orders_{number}"
        response = Client().post(
            "/webhooks/adf/",
            data=json.dumps(body),
            content_type="application/json",
            HTTP_X_WEBHOOK_TOKEN=settings_token(),
        )
        assert response.status_code == 202, response.content
    # What an RCA that fell back two days ago, and a resolve since, left on them.
    Ticket.objects.update(
        rca_source="rules",
        rca_outage="rate_limited",
        analysed_at=two_days_ago,
        status="resolved",
        details={RCA_OUTAGE_SINCE: two_days_ago.isoformat(timespec="microseconds")},
    )
    LlmCall.objects.create(model="gemini", outcome="ok")  # Gemini answers again

    with CaptureQueriesContext(connection) as queries:
        assert outage_reruns.rerun_after_outage(request=tasks.request_fresh_rca) == 0
    sweep = next(q["sql"] for q in queries if "rca_outage" in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")  # as on a table of many tickets
        try:
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sweep}")
            (plan,) = cursor.fetchone()[0]
        finally:
            cursor.execute("RESET enable_seqscan")

    assert "ticket_rca_in_outage" in json.dumps(plan), plan
    assert _rows_removed_by_filter(plan["Plan"]) == 0, plan
