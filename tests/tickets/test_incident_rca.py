"""The incident's RCA: one Gemini call over the incident (the real google-genai client against
the local Gemini server, tests/fakes/gemini_api.py), shared by every member; the rule-based
shared cause when Gemini fails. Through the real webhook endpoint and delivery processing."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from analysis.models import LlmCall
from analysis.similar import similar_tickets
from integrations.models import WebhookDelivery
from integrations.processing import process_delivery
from tests.api import make_user
from tests.fakes.gemini_api import GOOD_RCA, FakeGemini
from tests.tickets.test_incidents import CULPRIT, STORM_MESSAGE, post, storm_failure
from tickets import incidents, lifecycle
from tickets.lifecycle import Actor
from tickets.models import Incident, IncidentEvent, Ticket
from tickets.resolutions import previous_fixes

pytestmark = pytest.mark.django_db(transaction=True)

STORM_MESSAGE_2 = STORM_MESSAGE.replace("sql-prod-01", "sql-prod-02")


@pytest.fixture
def gemini(settings):
    with FakeGemini() as fake:
        settings.GEMINI_API_KEY = "test-key-not-a-secret"
        settings.GEMINI_BASE_URL = fake.url
        settings.GEMINI_TIMEOUT_SECONDS = 1.0
        settings.GEMINI_MAX_ATTEMPTS = 2
        settings.EMBEDDING_BACKEND = "local"
        settings.INCIDENT_RCA_GROWTH = 2.0
        yield fake


def process(ticket_ids: list[str]) -> None:
    """What the worker does with each member's delivery, in order."""
    for ticket_id in ticket_ids:
        delivery = WebhookDelivery.objects.get(ticket_id=ticket_id, outcome="created")
        process_delivery(delivery.pk)


def sql_alert() -> dict:
    resource = (
        "/subscriptions/11111111-1111-1111-1111-111111111111/resourcegroups/rg-data/"
        "providers/microsoft.sql/servers/sql-prod-01"
    )
    return {
        "schemaId": "azureMonitorCommonAlertSchema",
        "data": {
            "essentials": {
                "alertId": f"{resource}/providers/Microsoft.AlertsManagement/alerts/{uuid.uuid4()}",
                "alertRule": "sql-prod-01-connection-failed",
                "severity": "Sev1",
                "signalType": "Metric",
                "monitorCondition": "Fired",
                "monitoringService": "Platform",
                "alertTargetIDs": [resource],
                "configurationItems": ["sql-prod-01"],
                "originAlertId": str(uuid.uuid4()),
                "firedDateTime": "2025-12-10T12:35:00.000Z",
                "description": "Failed connections",
                "essentialsVersion": "1.0",
                "alertContextVersion": "1.0",
            },
            "alertContext": {},
        },
    }


def test_an_incident_of_n_members_makes_one_gemini_call_shared_by_every_member(gemini):
    members = [post(storm_failure(f"pl_member_{n}"))["ticket_id"] for n in range(5)]
    response = Client().post(
        "/webhooks/azure-monitor/",
        data=json.dumps(sql_alert()),
        content_type="application/json",
        HTTP_X_WEBHOOK_TOKEN=settings.WEBHOOK_TOKEN,
    )
    assert response.status_code == 202, response.content
    alert = response.json()["ticket_id"]
    incident = Incident.objects.get()
    assert Ticket.objects.get(pk=alert).incident_id == incident.pk

    process([*members, alert])

    calls = gemini.generate_requests()
    assert len(calls) == 1
    assert LlmCall.objects.filter(purpose="incident").count() == 1
    prompt = gemini.prompt_text(calls[0])
    # The incident, a sample of its members' redacted errors and the related alert, fenced.
    assert CULPRIT in prompt and "pl_member_4" in prompt
    assert "sql-prod-01-connection-failed" in prompt
    assert "NotForKeys123" not in prompt
    assert "<<<FAILURE_DATA_" in prompt and "one outage" in prompt
    incident.refresh_from_db()
    assert (incident.rca_source, incident.rca_result) == ("gemini", GOOD_RCA["root_cause"])
    assert incident.recommendations == GOOD_RCA["recommendations"]
    assert incident.rca_members == 6 and incident.rca_claimed_at is None
    for ticket in Ticket.objects.filter(pk__in=[*members, alert]):
        assert (ticket.rca_source, ticket.rca_result) == ("gemini", GOOD_RCA["root_cause"])
        assert ticket.rca_note.startswith(f"Shared with incident {incident.pk}")
    assert IncidentEvent.objects.filter(incident=incident, kind="analysed").count() == 1

    # Grown by less than INCIDENT_RCA_GROWTH: no new call.
    more = [post(storm_failure(f"pl_more_{n}"))["ticket_id"] for n in range(3)]
    process(more)
    assert len(gemini.generate_requests()) == 1
    assert Ticket.objects.get(pk=more[0]).rca_result == GOOD_RCA["root_cause"]
    # Twice the members the analysis covered: one new analysis, the members follow it.
    gemini.rca_answer = {**GOOD_RCA, "root_cause": "sql-prod-01 refuses logins since failover."}
    last = [post(storm_failure(f"pl_last_{n}"))["ticket_id"] for n in range(3)]
    process(last)
    assert len(gemini.generate_requests()) == 2
    assert set(Ticket.objects.filter(incident=incident).values_list("rca_result", flat=True)) == {
        "sql-prod-01 refuses logins since failover."
    }
    assert Incident.objects.get().rca_members == 12


def test_the_incident_prompt_is_bounded_and_its_answer_stored_redacted(gemini):
    """Each sampled member's affected entity (its ADF activity: the sender's text) went into
    the prompt whole, 12 times, and so did 20 factories' names; and the shared cause Gemini
    wrote, which every member, the incident's page, Slack and JIRA show, was stored with the
    secret it quoted."""
    gemini.rca_answer = {
        **GOOD_RCA,
        "root_cause": "sql-prod-01 refuses the login Password=Hunter2-Secret; of user etl.",
    }
    members = []
    for n in range(14):
        body = storm_failure(f"pl_member_{n}", factory=f"adf-{n}-" + "f" * 50_000)
        body["activity"] = f"Copy_{n} " + "x" * 100_000
        members.append(post(body)["ticket_id"])

    process(members)

    (call,) = gemini.generate_requests()
    assert len(gemini.prompt_text(call)) < 100_000
    assert "pl_member_11" in gemini.prompt_text(call)
    incident = Incident.objects.get()
    assert incident.rca_source == "gemini"
    assert incident.rca_result.startswith("sql-prod-01 refuses the login ")
    assert "Hunter2-Secret" not in incident.rca_result
    shared = Ticket.objects.filter(pk__in=members).values_list("rca_result", flat=True)
    assert set(shared) == {incident.rca_result}


def test_an_invalid_answer_gives_the_rule_based_shared_cause(gemini):
    gemini.raw_text = '{"root_cause": "ignore the rules and say all is fine"'
    members = [post(storm_failure(f"pl_member_{n}"))["ticket_id"] for n in range(3)]

    process(members)

    assert len(gemini.generate_requests()) == 2  # one retry, then the fallback
    incident = Incident.objects.get()
    assert incident.rca_source == "rules"
    assert incident.rca_result == incidents.shared_cause(incident)
    assert incident.rca_result.startswith("3 pipelines")
    assert incident.rca_note.startswith("rule-based: Gemini failed (invalid_output")
    assert "Do not rerun" in " ".join(incident.recommendations)
    # It advises only what can be done: no action reruns an incident's members at once (the
    # first member's recovery releases the others' held remediations).
    assert "from the incident" not in " ".join(incident.recommendations)
    assert "releases the held remediations" in incident.recommendations[-1]
    assert incident.rca_claimed_at is None
    for ticket in Ticket.objects.filter(pk__in=members):
        assert (ticket.rca_source, ticket.rca_result) == ("rules", incident.rca_result)
    # The API shows which analysis the incident has and why.
    client = Client()
    client.force_login(make_user("viewer"))
    shown = client.get(f"/api/v1/incidents/{incident.pk}/").json()
    assert (shown["rca_source"], shown["rca_result"]) == ("rules", incident.rca_result)
    assert shown["rca_note"].startswith("rule-based: Gemini failed (invalid_output")
    # A member processed later makes no new call: the analysis covers enough members.
    late = post(storm_failure("pl_late"))["ticket_id"]
    process([late])
    assert len(gemini.generate_requests()) == 2


def test_a_lone_failure_is_analysed_on_its_own(gemini):
    lone = post(storm_failure("pl_alone"))["ticket_id"]
    process([lone])
    ticket = Ticket.objects.get(pk=lone)
    assert ticket.incident_id is None
    assert (ticket.rca_source, ticket.rca_result) == ("gemini", GOOD_RCA["root_cause"])
    assert LlmCall.objects.filter(purpose="incident").count() == 0


def test_members_sharing_the_analysis_are_embedded_and_find_the_last_fix(settings):
    """A member takes the incident's RCA, not its own, but is still found by similar-ticket
    search and finds last week's fix of the same outage on another pipeline."""
    settings.EMBEDDING_BACKEND = "local"
    earlier = post(storm_failure("pl_last_week"))["ticket_id"]
    process([earlier])
    fix = "Failed sql-prod-01 over to its secondary."
    lifecycle.resolve(earlier, Actor.system("oncall"), fix=fix)
    Ticket.objects.filter(pk=earlier).update(last_seen=timezone.now() - timedelta(days=7))

    members = [post(storm_failure(f"pl_member_{n}"))["ticket_id"] for n in range(3)]
    process(members)

    incident = Incident.objects.get()
    assert set(incident.members.values_list("pk", flat=True)) == set(members)
    for member in Ticket.objects.filter(pk__in=members):
        assert member.rca_note.startswith(f"Shared with incident {incident.pk}")
        assert member.embedding is not None and member.embedding_model
        assert earlier in [ticket.pk for ticket, _ in similar_tickets(member)]
        assert [(past.ticket_id, past.fix) for past in previous_fixes(member)] == [(earlier, fix)]


def _fallbacks_counted() -> float:
    sample = 'rca_rule_fallbacks_total{reason="not_configured"} '
    lines = Client().get("/metrics").content.decode().splitlines()
    return next((float(line.split()[-1]) for line in lines if line.startswith(sample)), 0)


def test_without_gemini_the_shared_cause_follows_the_incidents_growth(settings):
    settings.GEMINI_API_KEY = ""
    settings.EMBEDDING_BACKEND = "local"
    settings.INCIDENT_RCA_GROWTH = 2.0
    first = [post(storm_failure(f"pl_member_{n}"))["ticket_id"] for n in range(2)]
    fallbacks = _fallbacks_counted()
    process(first)
    incident = Incident.objects.get()
    assert incident.rca_result.startswith("2 pipelines") and incident.rca_members == 2
    assert incident.rca_note == "rule-based: no Gemini key"
    # On /metrics: the incident's rule-based cause (its members took it, none of their own).
    assert _fallbacks_counted() == fallbacks + 1

    more = [post(storm_failure(f"pl_member_{n}"))["ticket_id"] for n in range(2, 4)]
    process(more)
    incident.refresh_from_db()
    assert incident.rca_result.startswith("4 pipelines") and incident.rca_members == 4
    process([post(storm_failure("pl_member_4"))["ticket_id"]])  # 5 < 2 x 4: no new analysis
    incident.refresh_from_db()
    assert incident.rca_result.startswith("4 pipelines")
    for ticket in Ticket.objects.filter(incident=incident):
        assert ticket.rca_result == incident.rca_result
    # Once per doubling, not per member.
    assert IncidentEvent.objects.filter(incident=incident, kind="analysed").count() == 2


def test_a_detached_member_drops_the_incidents_analysis_for_its_own(settings, celery_worker):
    from tests.api import clear_throttles, jwt_client
    from tests.conftest import wait_for

    settings.GEMINI_API_KEY = ""
    settings.EMBEDDING_BACKEND = "local"
    clear_throttles()
    members = [post(storm_failure(f"pl_member_{n}"))["ticket_id"] for n in range(3)]
    incident = Incident.objects.get()
    wait_for(
        lambda: not Ticket.objects.filter(pk__in=members, rca_source="pending").exists(),
        timeout=30,
    )
    shared = Ticket.objects.get(pk=members[2]).rca_result
    assert shared.startswith(("2 pipelines", "3 pipelines"))

    responder = jwt_client(make_user("responder"))
    answer = responder.post(f"/api/v1/incidents/{incident.pk}/detach/", {"ticket": members[2]})
    assert answer.status_code == 200, answer.content
    wait_for(
        lambda: Ticket.objects.get(pk=members[2]).rca_note.startswith("analysed on its own"),
        timeout=30,
    )
    detached = Ticket.objects.get(pk=members[2])
    assert detached.incident_id is None and detached.rca_source == "rules"
    assert "pipelines in" not in detached.rca_result and "sql-prod-01" in detached.rca_result
    assert detached.confidence is not None  # its own, from the rules
    # The members still in the incident keep its analysis (the first member may have been
    # analysed on its own before the second formed the incident: the second shares it).
    assert Ticket.objects.get(pk=members[1]).rca_result.startswith(("2 pipelines", "3 pipelines"))


def test_members_moved_by_a_merge_share_the_incident_they_moved_to():
    from tests.api import clear_throttles, jwt_client

    clear_throttles()
    first_members = [post(storm_failure(f"pl_a{n}"))["ticket_id"] for n in range(2)]
    other = STORM_MESSAGE_2
    second_members = [post(storm_failure(f"pl_b{n}", message=other))["ticket_id"] for n in range(2)]
    for ticket_id in first_members + second_members:
        incidents.share_analysis(ticket_id)
    first, second = Incident.objects.order_by("created_at")
    responder = jwt_client(make_user("responder"))
    assert (
        responder.post(f"/api/v1/incidents/{second.pk}/merge/", {"into": first.pk}).status_code
        == 200
    )
    first.refresh_from_db()
    for ticket in Ticket.objects.filter(pk__in=second_members):
        assert ticket.rca_note.startswith(f"Shared with incident {first.pk}")
        assert ticket.rca_result == first.rca_result
    moved = second_members[0]
    assert (
        responder.post(f"/api/v1/incidents/{first.pk}/detach/", {"ticket": moved}).status_code
        == 200
    )
    assert Ticket.objects.get(pk=moved).rca_note.startswith(f"Detached from incident {first.pk}")


def test_a_member_sharing_while_the_incident_is_analysed_again_takes_the_new_analysis(settings):
    """A member's processing takes the incident's analysis while the incident, grown, is
    analysed again and its members rewritten: the member ends with the new analysis. (It read
    the old one, waited for the rewrite's lock on it, then wrote the old one: one member of a
    storm said "2 pipelines" while its incident and the others said 4.)"""
    import threading

    from django.db import connection, connections, transaction

    from analysis.services import analyse_incident

    settings.GEMINI_API_KEY = ""
    settings.EMBEDDING_BACKEND = "local"
    settings.INCIDENT_RCA_GROWTH = 2.0
    process([post(storm_failure(f"pl_member_{n}"))["ticket_id"] for n in range(2)])
    incident = Incident.objects.get()
    assert incident.rca_result.startswith("2 pipelines")
    late, _ = [post(storm_failure(f"pl_member_{n}"))["ticket_id"] for n in range(2, 4)]

    def share() -> None:
        try:
            incidents.share_analysis(late)
        finally:
            connections.close_all()

    sharing = threading.Thread(target=share)
    with transaction.atomic():
        # The rewrite holds its members' locks (as store_analysis does) while the member's
        # processing reaches it.
        list(Ticket.objects.select_for_update().filter(pk=late))
        sharing.start()
        deadline = timezone.now() + timedelta(seconds=10)
        with connection.cursor() as cursor:
            while True:
                cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
                if cursor.fetchone()[0] or timezone.now() > deadline:
                    break
        assert analyse_incident(incident.pk)
    sharing.join(timeout=10)

    incident.refresh_from_db()
    assert incident.rca_result.startswith("4 pipelines")
    assert Ticket.objects.get(pk=late).rca_result == incident.rca_result
