"""Incidents: failures of several pipelines naming one culprit are one outage, paged once.

Through the real webhook endpoint and the real database; the concurrency test posts a storm to
a live threaded server; the paging test runs a real Celery worker against the local JIRA and
Slack servers (tests/fakes)."""

from __future__ import annotations

import contextlib
import copy
import importlib
import json
import re
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TypeVar

import pytest
import requests
from django.apps import apps as django_apps
from django.conf import settings
from django.db.models import F
from django.test import Client
from django.utils import timezone

from integrations.models import DeliveryStatus, OutboundDelivery, OutboundStatus, WebhookDelivery
from integrations.targets.base import incident_page
from integrations.targets.jira import DESCRIPTION_LIMIT, incident_description, incident_summary
from integrations.targets.slack import slack_incident_message
from tests.conftest import (
    SessionThreads,
    local_payload,
    someone_waits_on,
    wait_for,
    while_held,
)
from tickets import incidents
from tickets.lifecycle import Actor
from tickets.models import Incident, IncidentEvent, OwnershipRule, Ticket

pytestmark = pytest.mark.django_db(transaction=True)

STORM_MESSAGE = (
    "ErrorCode=SqlFailedToConnect,'Type=Microsoft.DataTransfer.Common.Shared."
    "HybridDeliveryException,Message=Cannot connect to SQL Database. Please contact SQL server "
    "team for further support. Server: 'sql-prod-01', Database: 'dw', User: 'etl'. "
    "Password=NotForKeys123!"
)
SUBSCRIPTION = "/subscriptions/11111111-1111-1111-1111-111111111111"
CULPRIT = "sql-server:sql-prod-01.database.windows.net"

T = TypeVar("T")


def storm_failure(pipeline: str, *, factory: str = "adf-sales-prod", message: str = STORM_MESSAGE):
    body = copy.deepcopy(local_payload("adf_failure.json"))
    body.update(pipeline=pipeline, factory=factory, run_id=str(uuid.uuid4()), error_message=message)
    return body


def post(body: dict, path: str = "/webhooks/adf/") -> dict:
    response = Client().post(
        path,
        data=json.dumps(body),
        content_type="application/json",
        HTTP_X_WEBHOOK_TOKEN=settings.WEBHOOK_TOKEN,
    )
    assert response.status_code == 202, response.content
    return response.json()


def test_the_culprit_is_stored_redacted_and_one_pipeline_is_no_incident():
    answer = post(storm_failure("pl_orders"))
    ticket = Ticket.objects.get(pk=answer["ticket_id"])
    assert ticket.culprit == CULPRIT
    assert ticket.culprit_detail == "dw"
    assert ticket.group_key == f"{CULPRIT}|unavailable"  # DatabaseError: the server is down
    assert "NotForKeys123" not in ticket.group_key + ticket.error_message
    # The same pipeline failing again (another run) is still one pipeline: no incident.
    post(storm_failure("pl_orders"))
    assert Incident.objects.count() == 0


def _incident_of_two_pipelines() -> Incident:
    """The incident two ADF pipelines' failures on the storm's culprit form."""
    post(storm_failure("pl_orders"))
    post(storm_failure("pl_customers"))
    return Incident.objects.get()


def test_two_pipelines_form_an_incident_and_later_ones_join():
    first = post(storm_failure("pl_orders"))["ticket_id"]
    second = post(storm_failure("pl_customers", factory="adf-crm-prod"))["ticket_id"]
    incident = Incident.objects.get()
    assert incident.culprit == CULPRIT
    assert set(incident.members.values_list("pk", flat=True)) == {first, second}
    third = post(storm_failure("pl_invoices"))["ticket_id"]
    unrelated = post(storm_failure("pl_other", message="KeyError: 'amount'"))["ticket_id"]
    incident.refresh_from_db()
    assert incident.member_count == 3
    assert Ticket.objects.get(pk=third).incident_id == incident.pk
    assert Ticket.objects.get(pk=unrelated).incident_id is None
    kinds = list(IncidentEvent.objects.filter(incident=incident).values_list("kind", flat=True))
    assert kinds.count("failure") == 3 and "formed" in kinds


def test_detaching_the_earliest_member_moves_the_incidents_start():
    """The incident starts when its earliest remaining member failed, as when it formed."""
    now = timezone.now().replace(microsecond=0)
    members = []
    for pipeline, minutes_ago in (("pl_orders", 8), ("pl_customers", 3), ("pl_invoices", 1)):
        body = storm_failure(pipeline)
        failed = (now - timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z")
        body.update(run_start=failed, run_end=failed)
        members.append(post(body)["ticket_id"])
    incident = Incident.objects.get()
    assert incident.member_count == 3
    assert incident.first_seen == now - timedelta(minutes=8)

    incidents.detach(incident.pk, members[0], Actor.system("test"))

    incident.refresh_from_db()
    assert incident.member_count == 2
    assert incident.first_seen == now - timedelta(minutes=3)
    # A later member's detach leaves the start to the earliest one still there.
    incidents.detach(incident.pk, members[2], Actor.system("test"))
    incident.refresh_from_db()
    assert incident.first_seen == now - timedelta(minutes=3)


def test_one_outage_worded_as_another_error_class_by_another_client_is_one_incident():
    # The SQL server is down: ADF cannot connect (DatabaseError), an Airflow task's ODBC
    # driver times out logging in (TimeoutError), another gets its connection refused
    # (NetworkError). One outage: one incident, one page (it was two, and two pages).
    post(storm_failure("pl_orders"))
    post(storm_failure("pl_customers"))
    for dag, error in (
        (
            "sales_daily",
            "pyodbc.OperationalError: ('HYT00', '[HYT00] [Microsoft][ODBC Driver 18 for SQL "
            "Server]Login timeout expired (0) (SQLDriverConnect)') server "
            "sql-prod-01.database.windows.net",
        ),
        (
            "orders_hourly",
            "requests.exceptions.ConnectionError: Failed to connect to "
            "sql-prod-01.database.windows.net port 1433: Connection refused",
        ),
    ):
        body = {**local_payload("airflow_failure.json"), "dag_id": dag, "exception": error}
        post(body, "/webhooks/airflow/")
    classes = set(Ticket.objects.values_list("error_type", flat=True))
    assert len(classes) > 1, classes  # the clients worded it differently
    incident = Incident.objects.get()
    assert incident.member_count == 4
    # A different kind of failure against the same server is not the outage: a login refused
    # to one pipeline (a wrong password) stays out of it.
    refused = post(
        storm_failure(
            "pl_ledger",
            message="ErrorCode=SqlFailedToConnect,Message=Cannot connect to SQL Database. "
            "Server: 'sql-prod-01', Database: 'dw', User: 'etl'. Login failed for user 'etl'.",
        )
    )["ticket_id"]
    ticket = Ticket.objects.get(pk=refused)
    assert ticket.error_type == "AuthenticationError" and ticket.incident_id is None


def test_a_storage_account_outage_is_one_incident_whichever_containers_its_pipelines_use():
    # Databricks jobs reading two containers of one storage account while it is down (it was
    # one incident per container, and the account's own Azure alert joined neither).
    for pipeline, container in (("pl_orders", "raw"), ("pl_customers", "curated")):
        message = (
            'Operation failed: "The server is currently unable to receive requests.", 503, GET, '
            f"abfss://{container}@dlsprod.dfs.core.windows.net/sales/2025/12/10/"
        )
        post(storm_failure(pipeline, message=message))
    incident = Incident.objects.get()
    assert incident.culprit == "storage:dlsprod"
    assert incident.member_count == 2
    assert set(Ticket.objects.values_list("culprit_detail", flat=True)) == {"raw", "curated"}
    alert = {
        "schemaId": "azureMonitorCommonAlertSchema",
        "data": {
            "essentials": {
                "alertId": f"{SUBSCRIPTION}/providers/Microsoft.AlertsManagement/alerts/"
                f"{uuid.uuid4()}",
                "alertRule": "dlsprod-availability",
                "severity": "Sev1",
                "signalType": "Metric",
                "monitorCondition": "Fired",
                "monitoringService": "Platform",
                "alertTargetIDs": [
                    f"{SUBSCRIPTION}/resourcegroups/rg-data/providers/"
                    "microsoft.storage/storageaccounts/dlsprod"
                ],
                "originAlertId": str(uuid.uuid4()),
                "firedDateTime": "2025-12-10T12:35:00.000Z",
                "essentialsVersion": "1.0",
                "alertContextVersion": "1.0",
            },
            "alertContext": {},
        },
    }
    joined = post(alert, "/webhooks/azure-monitor/")["ticket_id"]
    assert Ticket.objects.get(pk=joined).incident_id == incident.pk


def test_outside_the_window_a_failure_starts_afresh(settings):
    settings.INCIDENT_WINDOW = __import__("datetime").timedelta(seconds=600)
    post(storm_failure("pl_orders"))
    Ticket.objects.update(last_seen="2000-01-01T00:00:00Z")
    post(storm_failure("pl_customers"))
    assert Incident.objects.count() == 0


def test_an_azure_alert_on_the_culprit_joins_its_timeline():
    incident = _incident_of_two_pipelines()
    body = {
        "schemaId": "azureMonitorCommonAlertSchema",
        "data": {
            "essentials": {
                "alertId": f"{SUBSCRIPTION}/providers/Microsoft.AlertsManagement/alerts/"
                f"{uuid.uuid4()}",
                "alertRule": "sql-prod-01-connection-failed",
                "severity": "Sev1",
                "signalType": "Metric",
                "monitorCondition": "Fired",
                "monitoringService": "Platform",
                "alertTargetIDs": [
                    "/subscriptions/11111111-1111-1111-1111-111111111111/resourcegroups/rg-data/providers/microsoft.sql/servers/sql-prod-01"
                ],
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
    response = Client().post(
        "/webhooks/azure-monitor/",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_X_WEBHOOK_TOKEN=settings.WEBHOOK_TOKEN,
    )
    assert response.status_code == 202, response.content
    ticket = Ticket.objects.get(pk=response.json()["ticket_id"])
    assert ticket.culprit == CULPRIT
    assert ticket.incident_id == incident.pk
    assert IncidentEvent.objects.filter(incident=incident, kind="alert").exists()


def test_two_hundred_concurrent_posts_of_one_storm_make_exactly_one_incident(
    live_server, monkeypatch
):
    from django.db import connections

    # The live server serves each request on a new thread: a connection kept for reuse would
    # outlive it, and 200 of them exceed the embedded PostgreSQL's 100.
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    bodies = [storm_failure(f"pl_storm_{n:03d}") for n in range(200)]
    headers = {"X-Webhook-Token": settings.WEBHOOK_TOKEN, "Content-Type": "application/json"}
    responses: list[requests.Response] = []
    for wave in range(0, 200, 40):
        with ThreadPoolExecutor(max_workers=40) as pool:
            responses += pool.map(
                lambda body: requests.post(
                    f"{live_server.url}/webhooks/adf/",
                    data=json.dumps(body),
                    headers=headers,
                    timeout=60,
                ),
                bodies[wave : wave + 40],
            )
    assert [r.status_code for r in responses] == [202] * 200
    incident = Incident.objects.get()
    assert incident.member_count == 200
    assert Ticket.objects.filter(incident=incident).count() == 200


def test_the_page_stays_within_slack_and_jira_limits_for_ten_thousand_members():
    post(storm_failure("pl_a"))
    post(storm_failure("pl_b"))
    incident = Incident.objects.get()
    lead = Ticket.objects.get(pk=incident.lead_ticket_id)
    fields = {
        f.attname: getattr(lead, f.attname)
        for f in Ticket._meta.concrete_fields
        if f.attname not in ("id", "run_id", "embedding")
    }
    Ticket.objects.bulk_create(
        [
            Ticket(**{**fields, "id": f"ADF-X-{n}", "run_id": f"bulk-{n}", "pipeline": f"pl_{n}"})
            for n in range(10_000)
        ],
        batch_size=2000,
    )
    _text, blocks = slack_incident_message(incident)
    assert len(blocks) <= 50
    for block in blocks:
        for part in [block.get("text", {}), *block.get("fields", [])]:
            assert len(part.get("text", "")) <= 3000
    assert "10002" in json.dumps(blocks)  # the count, not the list
    assert len(incident_description(incident, incident_page(incident))) <= DESCRIPTION_LIMIT


@pytest.fixture
def targets(settings):
    from integrations.circuit import CircuitBreaker
    from tests.fakes.jira_api import FakeJira
    from tests.fakes.slack_api import FakeSlack

    with FakeJira() as jira, FakeSlack() as slack:
        settings.JIRA_URL = jira.url
        settings.JIRA_USER = jira.user
        settings.JIRA_API_TOKEN = jira.token
        settings.JIRA_DEFAULT_PROJECT = "OPS"
        settings.SLACK_BOT_TOKEN = slack.token
        settings.SLACK_BASE_URL = slack.base_url
        settings.SLACK_DEFAULT_CHANNEL = "#data-platform-alerts"
        settings.AZURE_STORAGE_CONNECTION_STRING = ""
        settings.OUTBOUND_TIMEOUT_SECONDS = 2
        settings.OUTBOUND_BACKOFF_SECONDS = 0.05
        settings.OUTBOUND_BACKOFF_MAX_SECONDS = 0.4
        settings.INCIDENT_UPDATE_SECONDS = 1.0
        settings.GEMINI_API_KEY = ""
        for target in ("jira", "slack", "blob"):
            CircuitBreaker(target).reset()
        yield jira, slack


def test_an_incident_pages_once_and_its_members_page_nothing_of_their_own(celery_worker, targets):
    jira, slack = targets
    first = post(storm_failure("pl_orders"))["ticket_id"]
    # The first failure is alone: it pages as today.
    wait_for(lambda: Ticket.objects.filter(pk=first).exclude(itsm_ticket_id="").exists(), 30)
    wait_for(lambda: Ticket.objects.filter(pk=first).exclude(slack_ts="").exists(), 30)
    others = [post(storm_failure(f"pl_member_{n}"))["ticket_id"] for n in range(5)]

    incident = wait_for(
        lambda: Incident.objects.exclude(itsm_ticket_id="").exclude(slack_ts="").first(), 30
    )
    # Every member processed (the relay hands each over after its webhook's answer), and every
    # page delivered.
    wait_for(lambda: not WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).exists(), 30)
    wait_for(
        lambda: not OutboundDelivery.objects.filter(status=OutboundStatus.PENDING).exists(), 30
    )
    # Every member's delivery processed (the page may be out before the last one is).
    wait_for(lambda: not Ticket.objects.filter(pk__in=others, rca_source="pending").exists(), 30)
    incident.refresh_from_db()
    creates = [r for r in jira.issue_requests("POST") if r.path.endswith("/issue")]
    assert len(creates) == 2  # the lone first failure's, then the incident's
    assert incident.member_count == 6
    issue = jira.issues[incident.itsm_ticket_id]
    assert "6 tickets in 6 pipelines" in issue["summary"]
    # The first member, which paged before the incident formed, is pointed at it.
    first_key = Ticket.objects.get(pk=first).itsm_ticket_id
    assert any(incident.pk in c["body"] for c in jira.issues[first_key]["comments"])
    top_level = [m for key, m in slack.messages.items() if not m.get("thread_ts")]
    assert len(top_level) == 2
    message = slack.messages[(incident.slack_channel, incident.slack_ts)]
    assert "*Members*\n6" in json.dumps(message["blocks"]).replace("\\n", "\n")
    for ticket_id in others:
        ticket = Ticket.objects.get(pk=ticket_id)
        assert ticket.itsm_ticket_id == "" and ticket.slack_ts == ""
        assert ticket.rca_note.startswith(f"Shared with incident {incident.pk}")


def test_the_incidents_of_a_team_are_those_its_pipelines_are_members_of():
    """`?team=` listed only incidents whose first member was the team's: a team whose pipeline
    failed a second later in a shared outage did not find it (the board, filtered to the team,
    showed it)."""
    from tests.api import clear_throttles, jwt_client, make_user

    clear_throttles()
    for team in ("sales", "finance"):
        OwnershipRule.objects.create(pipeline_pattern=f"pl_{team}_*", finops_team=team)
    post(storm_failure("pl_finance_budget"))
    post(storm_failure("pl_sales_daily"))
    post(storm_failure("pl_sales_orders"))
    incident = Incident.objects.get()
    api = jwt_client(make_user("viewer"))

    def listed(team: str) -> list[str]:
        return [i["id"] for i in api.get("/api/v1/incidents/", {"team": team}).json()["results"]]

    assert listed("finance") == [incident.pk]
    assert listed("sales") == [incident.pk]  # once, though two of its pipelines are members
    assert listed("marketing") == []


def test_the_api_lists_incidents_their_members_and_timeline():
    from tests.api import clear_throttles, jwt_client, make_user

    clear_throttles()
    post(storm_failure("pl_orders"))
    post(storm_failure("pl_customers"))
    unrelated = post(storm_failure("pl_other", message="KeyError: 'amount'"))["ticket_id"]
    api = jwt_client(make_user("viewer"))
    incident = Incident.objects.get()

    listed = api.get("/api/v1/incidents/").json()["results"]
    assert [(i["id"], i["culprit"], i["member_count"], i["status"]) for i in listed] == [
        (incident.pk, CULPRIT, 2, "open")
    ]
    assert api.get("/api/v1/incidents/", {"culprit": "sql-server:other"}).json()["results"] == []
    assert len(api.get("/api/v1/incidents/", {"source": "adf"}).json()["results"]) == 1
    assert api.get("/api/v1/incidents/", {"since": "yesterday"}).status_code == 400
    # Every filter narrows the list as it says, and a value it cannot take is a 400 naming it.
    found = {
        (name, value): [
            i["id"] for i in api.get("/api/v1/incidents/", {name: value}).json()["results"]
        ]
        for name, value in (
            ("status", "open"),
            ("status", "acknowledged"),
            ("resolved", "false"),
            ("resolved", "true"),
            ("culprit_kind", "sql-server"),
            ("culprit_kind", "storage-account"),
            ("source", "databricks"),
            ("since", "2000-01-01T00:00:00Z"),
            ("until", "2000-01-01T00:00:00Z"),
        )
    }
    assert found == {
        ("status", "open"): [incident.pk],
        ("status", "acknowledged"): [],
        ("resolved", "false"): [incident.pk],
        ("resolved", "true"): [],
        ("culprit_kind", "sql-server"): [incident.pk],
        ("culprit_kind", "storage-account"): [],
        ("source", "databricks"): [],
        ("since", "2000-01-01T00:00:00Z"): [incident.pk],
        ("until", "2000-01-01T00:00:00Z"): [],
    }
    for name, value in (("status", "bogus"), ("resolved", "maybe"), ("source", "ftp")):
        refused = api.get("/api/v1/incidents/", {name: value})
        assert refused.status_code == 400 and name in refused.json()["detail"], refused.content
    members = api.get(f"/api/v1/incidents/{incident.pk}/members/").json()["results"]
    assert [m["pipeline"] for m in members] == ["pl_orders", "pl_customers"]
    timeline = api.get(f"/api/v1/incidents/{incident.pk}/timeline/").json()["results"]
    assert [e["kind"] for e in timeline].count("failure") == 2
    # A storm's timeline comes in pages, in order, every event once (it was cut at 5,000,
    # silently, in a bare list its schema did not describe).
    start = timezone.now()
    IncidentEvent.objects.bulk_create(
        IncidentEvent(incident=incident, kind="recurrence", at=start + timedelta(seconds=n))
        for n in range(600)
    )
    walked, url = [], f"/api/v1/incidents/{incident.pk}/timeline/"
    while url:
        page = api.get(url).json()
        walked += [event["at"] for event in page["results"]]
        url = page["next"]
    assert len(walked) == IncidentEvent.objects.filter(incident=incident).count() > 600
    assert walked == sorted(walked)
    forged = api.get(f"/api/v1/incidents/{incident.pk}/timeline/", {"cursor": "abc"})
    assert forged.status_code == 404
    detail = api.get(f"/api/v1/tickets/{members[0]['id']}/").json()
    assert detail["incident"] == incident.pk and detail["culprit"] == CULPRIT
    assert api.get(f"/api/v1/tickets/{unrelated}/").json()["incident"] is None
    missing = api.get("/api/v1/incidents/INC-nope/")
    assert (missing.status_code, missing.json()) == (404, {"error": "no incident with this id"})
    assert api.get("/api/v1/incidents/INC%00/timeline/").status_code == 404


def test_acting_on_the_incident_acts_on_every_member_once():
    from tests.api import clear_throttles, jwt_client, make_user
    from tickets.models import AuditLog

    clear_throttles()
    members = [post(storm_failure(f"pl_{n}"))["ticket_id"] for n in range(4)]
    incident = Incident.objects.get()
    viewer = jwt_client(make_user("viewer"))
    responder = jwt_client(make_user("responder", "lee"))

    assert viewer.post(f"/api/v1/incidents/{incident.pk}/acknowledge/").status_code == 403
    answer = responder.post(
        f"/api/v1/incidents/{incident.pk}/acknowledge/", {"note": "failover started"}
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "acknowledged"
    assert set(Ticket.objects.filter(pk__in=members).values_list("status", flat=True)) == {
        "acknowledged"
    }
    acks = AuditLog.objects.filter(ticket_id__in=members, action="acknowledge")
    assert acks.count() == 4
    assert all(incident.pk in entry.details["note"] for entry in acks)
    again = responder.post(f"/api/v1/incidents/{incident.pk}/acknowledge/")
    assert again.status_code == 409
    assert again.json() == {  # who acted first, as a refused Slack click says
        "error": "cannot acknowledge an incident that is acknowledged "
        "(acknowledged by lee just now)"
    }
    assert IncidentEvent.objects.filter(incident=incident, kind="acknowledge").count() == 1

    detached = responder.post(f"/api/v1/incidents/{incident.pk}/detach/", {"ticket": members[3]})
    assert detached.status_code == 200 and detached.json()["member_count"] == 3
    assert Ticket.objects.get(pk=members[3]).incident_id is None
    not_member = responder.post(f"/api/v1/incidents/{incident.pk}/detach/", {"ticket": members[3]})
    assert not_member.status_code == 409

    resolved = responder.post(f"/api/v1/incidents/{incident.pk}/resolve/")
    assert resolved.status_code == 200 and resolved.json()["resolved"] is True


@pytest.mark.parametrize(
    ("endpoint", "action", "status"),
    [("acknowledge", "acknowledge", "acknowledged"), ("take", "start_progress", "in_progress")],
)
def test_a_failure_joining_an_owned_incident_is_owned_like_its_members(endpoint, action, status):
    """A failure joining an incident someone acknowledged (or took) stayed open with its SLA
    clock running: beat marked it Breached though the outage was owned, and the board showed
    an acknowledged incident with an open member. It takes the incident's status as the
    members did, by the same responder, its audit entry naming the incident."""
    from tests.api import clear_throttles, jwt_client, make_user
    from tickets.lifecycle import mark_sla_breaches
    from tickets.models import AuditLog

    clear_throttles()
    first = post(storm_failure("pl_orders"))["ticket_id"]
    post(storm_failure("pl_customers"))
    incident = Incident.objects.get()
    user = make_user("responder")
    answer = jwt_client(user).post(f"/api/v1/incidents/{incident.pk}/{endpoint}/")
    assert answer.status_code == 200, answer.content

    joined = post(storm_failure("pl_invoices"))
    assert joined["outcome"] == "created"
    ticket = Ticket.objects.get(pk=joined["ticket_id"])
    owned = Ticket.objects.get(pk=first)
    assert ticket.incident_id == incident.pk
    assert (ticket.status, ticket.sla_status) == (status, owned.sla_status)
    assert ticket.ack_user == owned.ack_user
    entry = AuditLog.objects.get(ticket=ticket, action=action)
    assert (entry.actor_name, entry.user_id) == (user.username, user.pk)
    words = status.replace("_", " ")
    assert entry.details["note"] == f"via incident {incident.pk} in api: joined it {words}"
    assert entry.after["status"] == status
    if status == "acknowledged":
        assert ticket.sla_status == "Met" and ticket.ack_ts is not None
        # Past its SLA, beat breaches none of the acknowledged members.
        mark_sla_breaches(timezone.now() + timedelta(days=30))
        ticket.refresh_from_db()
        assert ticket.sla_status == "Met"
    # The incident itself says the same: one status, every member in it.
    incident.refresh_from_db()
    assert incident.status == status
    assert set(incident.members.values_list("status", flat=True)) == {status}


def test_a_failure_joining_an_open_incident_stays_open():
    post(storm_failure("pl_orders"))
    post(storm_failure("pl_customers"))
    joined = post(storm_failure("pl_invoices"))["ticket_id"]
    ticket = Ticket.objects.get(pk=joined)
    assert ticket.incident_id and (ticket.status, ticket.sla_status) == ("open", "Pending")
    assert list(ticket.audit_entries.values_list("action", flat=True)) == ["created"]


def test_the_incidents_title_counts_its_tickets_not_their_failures():
    """The Slack message and the JIRA issue's title said "4 failures in 4 pipelines", still 4
    after two members failed again: it counts the members, so it says tickets."""
    members = [post(storm_failure(f"pl_{n}"))["ticket_id"] for n in range(4)]
    assert post(storm_failure("pl_0"))["outcome"] == "correlated"
    assert post(storm_failure("pl_1"))["outcome"] == "correlated"
    incident = Incident.objects.get()
    counts = Ticket.objects.filter(pk__in=members).values_list("occurrence_count", flat=True)
    assert sum(counts) == 6
    page = incident_page(incident)
    summary = incident_summary(incident, page)
    text, _blocks = slack_incident_message(incident)
    for title in (summary, text):
        assert "4 tickets in 4 pipelines" in title, title
        assert "failures" not in title


def test_the_incidents_title_names_its_culprit_in_words():
    """The JIRA summary and the Slack title read "sql-server:sql-prod-01…", the label incidents
    group on; the culprit field keeps it as it is."""
    post(storm_failure("pl_orders"))
    post(storm_failure("pl_customers"))
    incident = Incident.objects.get()
    page = incident_page(incident)
    summary = incident_summary(incident, page)
    text, blocks = slack_incident_message(incident)
    readable = "Incident: SQL server sql-prod-01.database.windows.net"
    assert readable in summary
    assert f"Incident {incident.pk}: SQL server sql-prod-01.database.windows.net" in text
    assert blocks[0]["text"]["text"].endswith(readable)
    assert page.culprit == f"{CULPRIT} (dw)"
    # The dashboard titles it so too: its page's heading and its board card (it read the label).
    from tests.api import make_user

    viewer = Client()
    viewer.force_login(make_user("viewer"))
    heading = viewer.get(f"/incidents/{incident.pk}/").content.decode()
    assert f'<h1 class="ticket-title">{readable}</h1>' in heading
    board = viewer.get("/").content.decode()
    assert 'data-field="culprit">SQL server sql-prod-01.database.windows.net' in board


def two_incidents() -> tuple[Incident, Incident]:
    """Two pipelines failing on sql-prod-01, then two on sql-prod-02: two incidents."""
    post(storm_failure("pl_a"))
    post(storm_failure("pl_b"))
    other_message = STORM_MESSAGE.replace("sql-prod-01", "sql-prod-02")
    post(storm_failure("pl_c", message=other_message))
    post(storm_failure("pl_d", message=other_message))
    first, second = Incident.objects.order_by("created_at")
    return first, second


def test_two_incidents_merge_into_one():
    from tests.api import clear_throttles, jwt_client, make_user

    clear_throttles()
    first, second = two_incidents()
    responder = jwt_client(make_user("responder"))
    recovered = second.members.order_by("timestamp")[0]
    Ticket.objects.filter(pk=recovered.pk).update(resolved_at_source_at=timezone.now())

    merged = responder.post(f"/api/v1/incidents/{second.pk}/merge/", {"into": first.pk})
    assert merged.status_code == 200, merged.content
    assert merged.json()["member_count"] == 4
    # The answer is the row as the merge left it: its recount included (it said 0).
    first.refresh_from_db()
    assert merged.json()["recovered_count"] == first.recovered_count == 1
    second.refresh_from_db()
    assert second.merged_into_id == first.pk and second.member_count == 0
    # A merged incident has no members left: its own team still finds it.
    team_of_merged = responder.get(
        "/api/v1/incidents/", {"team": second.finops_team, "merged": "true"}
    ).json()["results"]
    assert [i["id"] for i in team_of_merged] == [second.pk]
    itself = responder.post(f"/api/v1/incidents/{first.pk}/merge/", {"into": first.pk})
    assert itself.status_code == 409
    unknown = responder.post(f"/api/v1/incidents/{first.pk}/merge/", {"into": "nope"})
    assert unknown.status_code == 404


def test_a_merge_carries_the_graver_severity_and_the_owned_status_to_the_moved_members():
    """The incident merged into is as grave as its worst member, and the open members moved
    into an incident people acknowledged are theirs too (they stayed open, their SLA running,
    under an incident of a lower severity)."""
    from tests.api import clear_throttles, jwt_client, make_user

    clear_throttles()
    first, second = two_incidents()
    Incident.objects.filter(pk=second.pk).update(severity="Critical", priority="P1")
    moving = list(second.members.values_list("pk", flat=True))
    user = make_user("responder")
    responder = jwt_client(user)
    assert responder.post(f"/api/v1/incidents/{first.pk}/acknowledge/").status_code == 200

    merged = responder.post(f"/api/v1/incidents/{second.pk}/merge/", {"into": first.pk})

    assert merged.status_code == 200, merged.content
    first.refresh_from_db()
    assert (first.severity, first.priority, first.status) == ("Critical", "P1", "acknowledged")
    for ticket in Ticket.objects.filter(pk__in=moving):
        assert ticket.status == "acknowledged" and ticket.ack_user == user.username
        entry = ticket.audit_entries.get(action="acknowledge")
        assert "was merged into it while it was acknowledged" in str(entry.details)


def test_a_merge_takes_the_graver_priority_of_the_two():
    """As an incident formed of both sets of members would (the gravest member's priority):
    the source's graver priority was dropped when its severity was not graver too."""
    first, second = two_incidents()
    Incident.objects.filter(pk=first.pk).update(severity="High", priority="P2")
    Incident.objects.filter(pk=second.pk).update(severity="High", priority="P1")

    incidents.merge(second.pk, first.pk, Actor.system("test"))

    first.refresh_from_db()
    assert (first.severity, first.priority) == ("High", "P1")


def test_a_resolved_incident_takes_no_open_member_by_a_merge():
    from tests.api import clear_throttles, jwt_client, make_user

    clear_throttles()
    first, second = two_incidents()
    responder = jwt_client(make_user("responder"))
    assert responder.post(f"/api/v1/incidents/{first.pk}/resolve/").status_code == 200

    refused = responder.post(f"/api/v1/incidents/{second.pk}/merge/", {"into": first.pk})

    assert refused.status_code == 409
    assert f"reopen {first.pk} before merging into it" in refused.json()["error"]
    assert not Ticket.objects.filter(incident=first).exclude(status="resolved").exists()
    second.refresh_from_db()
    assert second.merged_into_id is None and second.member_count == 2


def test_stats_show_the_noise_funnel_and_response_times_by_culprit():
    from tests.api import clear_throttles, jwt_client, make_user

    clear_throttles()
    for n in range(3):
        post(storm_failure(f"pl_{n}"))
    post(storm_failure("pl_0"))  # the same pipeline again: one more alert, no new ticket
    post(storm_failure("pl_other", message="KeyError: 'amount'"))
    Incident.objects.update(itsm_ticket_id="OPS-1", slack_ts="1.0")
    Ticket.objects.filter(incident__isnull=True).update(itsm_ticket_id="OPS-2", slack_ts="2.0")
    Ticket.objects.filter(pipeline="pl_1").update(ack_seconds=60)

    body = jwt_client(make_user("viewer")).get("/api/v1/stats/incidents/").json()
    assert body["noise"] == {
        "alerts_received": 5,
        "tickets": 4,
        "tickets_in_incidents": 3,
        "incidents": 1,
        "pages_sent": 4,
        "alerts_per_page": 1.25,
    }
    culprit = next(row for row in body["by_culprit"] if row["key"] == CULPRIT)
    assert culprit["tickets"] == 3 and culprit["mtta_seconds"] == 60.0


def test_the_dashboard_shows_the_incident_page_and_a_responder_acts_once():
    from tests.api import make_user

    members = [post(storm_failure(f"pl_<b>{n}</b>"))["ticket_id"] for n in range(3)]
    incident = Incident.objects.get()
    viewer, responder = Client(), Client()
    viewer.force_login(make_user("viewer"))
    responder.force_login(make_user("responder", "omar"))

    page = viewer.get(f"/incidents/{incident.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert CULPRIT in html and "3 members" in html
    assert "pl_&lt;b&gt;0&lt;/b&gt;" in html and "<b>0</b>" not in html  # escaped
    assert 'id="incident-actions"' not in html  # viewers read
    ticket_page = viewer.get(f"/tickets/{members[0]}/").content.decode()
    assert f"/incidents/{incident.pk}/" in ticket_page and CULPRIT in ticket_page

    assert (
        viewer.post(f"/incidents/{incident.pk}/action/", {"action": "acknowledge"}).status_code
        == 403
    )
    responder.post(f"/incidents/{incident.pk}/action/", {"action": "acknowledge"})
    assert set(Ticket.objects.values_list("status", flat=True)) == {"acknowledged"}
    assert viewer.get("/incidents/INC-nope/").status_code == 404
    # A second responder's page, out of date: the refusal says who acted first, and when.
    second = Client()
    second.force_login(make_user("responder"))
    again = second.post(
        f"/incidents/{incident.pk}/action/", {"action": "acknowledge"}, follow=True
    ).content.decode()
    assert (
        "Not done: cannot acknowledge an incident that is acknowledged (acknowledged by omar "
        "just now)."
    ) in again


def test_an_incident_of_runs_reported_long_past_starts_when_they_were_seen():
    """The sample payloads (`make demo`) name runs of 2025-12-10: an incident formed of them
    said "Age 359d" on the board and "since 2025-12-10" in its cause, then "Age 11m" and
    "since" a time ten minutes (INCIDENT_WINDOW) before anything was seen. It starts when the
    service saw them; each ticket keeps the time its source gave."""
    seen_from = timezone.now()
    first = post(storm_failure("pl_orders"))["ticket_id"]
    post(storm_failure("pl_customers"))

    incident = Incident.objects.get()
    assert incident.first_seen == Ticket.objects.get(pk=first).timestamp
    assert seen_from <= incident.first_seen <= timezone.now()
    assert "since 2025" not in incidents.shared_cause(incident)
    ran = datetime.fromisoformat(local_payload("adf_failure.json")["run_end"])
    assert Ticket.objects.get(pk=first).first_seen == ran


def test_an_incident_starts_when_its_first_member_failed_minutes_before_it_was_seen():
    ended = timezone.now() - timedelta(minutes=3)
    for pipeline in ("pl_orders", "pl_customers"):
        post({**storm_failure(pipeline), "run_end": ended.isoformat()})

    assert Incident.objects.get().first_seen == ended


def test_an_incident_starts_when_a_member_that_joins_it_failed_earlier():
    """A failure reported late (a Logic App polling its factory) joins an incident formed
    since: the incident started when it failed, not when the others did."""
    for pipeline in ("pl_orders", "pl_customers"):
        post({**storm_failure(pipeline), "run_end": timezone.now().isoformat()})
    earlier = timezone.now() - timedelta(minutes=4)

    joined = post({**storm_failure("pl_stock"), "run_end": earlier.isoformat()})["ticket_id"]

    incident = Incident.objects.get()
    assert Ticket.objects.get(pk=joined).incident_id == incident.pk
    assert incident.first_seen == earlier


def test_the_shared_cause_names_airflow_places_as_dags():
    for dag in ("sales_daily", "orders_hourly"):
        body = {
            **local_payload("airflow_failure.json"),
            "dag_id": dag,
            "exception": "psycopg2.OperationalError: could not connect to server: Connection "
            'refused\n\tIs the server running on host "pg-prod-01.internal" and accepting TCP/IP '
            "connections on port 5432?",
        }
        post(body, "/webhooks/airflow/")
    cause = incidents.shared_cause(Incident.objects.get())
    assert cause.startswith("2 pipelines in 2 DAGs "), cause


def test_the_shared_cause_gives_the_day_a_storm_began_unless_it_is_today():
    incident = _incident_of_two_pipelines()
    incident.first_seen = timezone.now()
    cause = incidents.shared_cause(incident)
    assert cause.startswith("2 pipelines in 1 factory could not connect to "), cause
    assert f"since {timezone.localtime(incident.first_seen):%H:%M} UTC;" in cause

    incident.first_seen -= timedelta(days=2)
    began = timezone.localtime(incident.first_seen)
    assert f"since {began:%Y-%m-%d %H:%M} UTC;" in incidents.shared_cause(incident)


def test_a_member_failing_again_after_the_incident_was_resolved_reopens_it():
    """The outage is not over: the incident comes back among the open ones, with its member,
    and a new pipeline failing on the same culprit joins it."""
    from tests.api import clear_throttles, jwt_client, make_user

    clear_throttles()
    first = post(storm_failure("pl_orders"))["ticket_id"]
    post(storm_failure("pl_customers"))
    incident = Incident.objects.get()
    responder = jwt_client(make_user("responder"))
    assert responder.post(f"/api/v1/incidents/{incident.pk}/resolve/").status_code == 200
    assert set(Ticket.objects.values_list("status", flat=True)) == {"resolved"}

    again = post(storm_failure("pl_orders"))
    assert again["outcome"] == "regressed" and again["ticket_id"] == first
    incident.refresh_from_db()
    assert incident.status == "open" and incident.recovered_at is None
    kinds = list(incident.events.values_list("kind", flat=True))
    assert kinds[-2:] == ["recurred", "reopen"]
    assert incident.recovered_count == 0  # held again: the culprit fails
    listed = responder.get("/api/v1/incidents/", {"resolved": "false"}).json()["results"]
    assert [row["id"] for row in listed] == [incident.pk]

    board = Client()
    board.force_login(make_user("viewer"))
    html = board.get("/").content.decode()
    open_column = html.split('data-incidents="open"')[1].split('data-incidents="')[0]
    assert incident.pk in open_column

    joined = post(storm_failure("pl_invoices"))["ticket_id"]
    assert Ticket.objects.get(pk=joined).incident_id == incident.pk


def test_a_failure_resolved_before_its_incident_formed_joins_it_acknowledged_when_it_fails_again():
    """Resolved while alone, it stayed out of the incident its outage formed; failing again
    while that incident is open and acknowledged, it joins it, from its regression on, and is
    acknowledged with its members, not left open paging on its own."""
    from tests.api import clear_throttles, jwt_client, make_user
    from tickets.models import AuditLog

    clear_throttles()
    responder = jwt_client(make_user("responder"))
    lone = post(storm_failure("pl_orders"))["ticket_id"]
    assert responder.post(f"/api/v1/tickets/{lone}/resolve/").status_code == 200
    post(storm_failure("pl_customers"))
    post(storm_failure("pl_invoices"))
    incident = Incident.objects.get()
    assert incident.member_count == 2 and Ticket.objects.get(pk=lone).incident_id is None
    assert responder.post(f"/api/v1/incidents/{incident.pk}/acknowledge/").status_code == 200
    formed = incident.first_seen

    again = post(storm_failure("pl_orders"))
    assert again["outcome"] == "regressed" and again["ticket_id"] == lone
    ticket = Ticket.objects.get(pk=lone)
    incident.refresh_from_db()
    assert ticket.incident_id == incident.pk and incident.member_count == 3
    assert ticket.status == "acknowledged" and incident.status == "acknowledged"
    assert incident.last_member_at == ticket.regressed_at and incident.first_seen == formed
    actions = list(ticket.audit_entries.order_by("pk").values_list("action", flat=True))
    assert actions[-2:] == ["regressed", "acknowledge"]
    entry = AuditLog.objects.filter(ticket=ticket, action="acknowledge").get()
    assert entry.details["note"].startswith(f"via incident {incident.pk}")
    kinds = list(incident.events.filter(ticket_id=lone).values_list("kind", flat=True))
    assert kinds == ["failure"]


@pytest.mark.parametrize(("action", "path"), [("acknowledge", "acknowledge"), ("take", "take")])
def test_a_member_reopened_on_its_own_ticket_reopens_the_incident_people_own(action, path):
    """A responder hands one member of an acknowledged (or taken) incident back: it was left
    an open member inside an incident the board showed owned. The incident follows (open,
    nobody's), its timeline names who reopened which member; the other member stays theirs."""
    from tests.api import clear_throttles, jwt_client, make_user

    clear_throttles()
    first = post(storm_failure("pl_orders"))["ticket_id"]
    second = post(storm_failure("pl_customers"))["ticket_id"]
    incident = Incident.objects.get()
    user = make_user("responder")
    responder = jwt_client(user)
    assert responder.post(f"/api/v1/incidents/{incident.pk}/{path}/").status_code == 200
    owned = Ticket.objects.get(pk=second).status
    assert owned in ("acknowledged", "in_progress")

    answer = responder.post(f"/api/v1/tickets/{first}/reopen/", {"note": "not mine"})

    assert answer.status_code == 200, answer.content
    incident.refresh_from_db()
    assert (incident.status, incident.ack_ts, incident.ack_user) == ("open", None, "")
    reopen = incident.events.get(kind="reopen")
    assert (reopen.ticket_id, reopen.actor_name, reopen.details["via"]) == (
        first,
        user.username,
        "api",
    )
    assert Ticket.objects.get(pk=first).status == "open"
    assert Ticket.objects.get(pk=second).status == owned


@pytest.mark.parametrize("placed", ["at_ingest", "by_its_fetched_error"])
def test_a_failure_placed_while_its_incident_is_resolved_is_placed_as_one_after_it(placed):
    """The new failure reads the incident open while a responder's resolve of it is still
    to commit, and waits for it: it must not join the incident resolved (an open member
    nobody is told about); it is placed as a failure after the resolve is, on its own. So is
    one whose culprit its fetched error text names (`place_enriched`)."""

    from django.db import connections, transaction

    from tests.api import make_ticket

    incident = _incident_of_two_pipelines()
    textless = make_ticket(pipeline="pl_invoices", source="databricks")

    def ingest() -> str:
        try:
            if placed == "at_ingest":
                return post(storm_failure("pl_invoices"))["ticket_id"]
            with transaction.atomic():
                incidents.place_enriched(
                    textless.pk, culprit=CULPRIT, culprit_detail="dw", error_type="DatabaseError"
                )
            return textless.pk
        finally:
            connections.close_all()

    ticket_id, waited = placed_while_a_resolve_is_held(incident.pk, ingest)

    assert waited
    incident.refresh_from_db()
    assert (incident.status, incident.member_count) == ("resolved", 2)
    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.incident_id is None and ticket.status == "open" and ticket.culprit == CULPRIT
    assert not incident.events.filter(ticket_id=ticket_id).exists()


def test_a_paged_failure_placed_again_into_another_incident_points_its_page_there():
    """Its fetched error names the culprit of an incident being resolved while another one of
    its group key is open: it joins the open one as a failure that paged on its own joins
    (`place_enriched`): its issue and alert are pointed to the incident, and the board counts
    it in its column no more."""

    from django.db import connections, transaction

    from integrations.targets import jira, slack
    from tests.api import make_ticket

    resolving_one = _incident_of_two_pipelines()
    incidents.act(resolving_one.pk, "resolve", Actor.system("test"))
    post(storm_failure("pl_payments"))
    post(storm_failure("pl_refunds"))
    still_open = Incident.objects.exclude(pk=resolving_one.pk).get()
    incidents.act(resolving_one.pk, "reopen", Actor.system("test"))
    # The one reopened failed last: a placement reads it first.
    Incident.objects.filter(pk=resolving_one.pk).update(last_member_at=timezone.now())
    textless = make_ticket(pipeline="pl_invoices", source="databricks", itsm_ticket_id="OPS-7")
    joined: list[dict] = []

    def on_change(sender, **change) -> None:
        if change["action"] == "joined" and change["ticket_id"] == textless.pk:
            joined.append(change)

    def enrich() -> None:
        try:
            with transaction.atomic():
                incidents.place_enriched(
                    textless.pk, culprit=CULPRIT, culprit_detail="dw", error_type="DatabaseError"
                )
        finally:
            connections.close_all()

    incidents.incident_changed.connect(on_change, dispatch_uid="test-joined-again")
    try:
        _, waited = placed_while_a_resolve_is_held(resolving_one.pk, enrich)
    finally:
        incidents.incident_changed.disconnect(dispatch_uid="test-joined-again")

    assert waited
    assert Ticket.objects.get(pk=textless.pk).incident_id == still_open.pk
    assert [(c["incident_id"], c["paged"], c["left"]) for c in joined] == [
        (still_open.pk, True, "open")
    ]
    links = OutboundDelivery.objects.filter(ticket_id=textless.pk, payload__has_key="incident_id")
    assert set(links.values_list("action", flat=True)) == {
        jira.INCIDENT_LINK,
        slack.INCIDENT_LINK,
    }


def test_the_resolved_filter_counts_a_responders_resolve_and_merged_incidents_leave_the_list():
    from tests.api import clear_throttles, jwt_client, make_user

    clear_throttles()
    first, second = two_incidents()
    third_message = STORM_MESSAGE.replace("sql-prod-01", "sql-prod-03")
    post(storm_failure("pl_e", message=third_message))
    post(storm_failure("pl_f", message=third_message))
    third = Incident.objects.latest("created_at")
    responder = jwt_client(make_user("responder"))
    assert responder.post(f"/api/v1/incidents/{first.pk}/resolve/").status_code == 200
    merged = responder.post(f"/api/v1/incidents/{third.pk}/merge/", {"into": second.pk})
    assert merged.status_code == 200, merged.content

    def listed(**filters: str) -> list[str]:
        answer = responder.get("/api/v1/incidents/", filters)
        assert answer.status_code == 200, answer.content
        return [row["id"] for row in answer.json()["results"]]

    assert listed(resolved="true") == [first.pk]
    assert listed(resolved="false") == [second.pk]
    assert set(listed()) == {first.pk, second.pk}
    assert listed(status="open") == [second.pk]
    assert listed(merged="true") == [third.pk]
    assert responder.get(f"/api/v1/incidents/{third.pk}/").json()["merged_into"] == second.pk


def test_resolving_an_incident_keeps_its_fix_on_every_member():
    from tests.api import clear_throttles, jwt_client, make_user
    from tickets.models import Resolution

    clear_throttles()
    members = [post(storm_failure(f"pl_{n}"))["ticket_id"] for n in range(3)]
    incident = Incident.objects.get()
    responder = jwt_client(make_user("responder"))
    answer = responder.post(
        f"/api/v1/incidents/{incident.pk}/resolve/",
        {"fix": "failed over sql-prod-01 to its secondary", "note": "bridge call"},
    )
    assert answer.status_code == 200, answer.content
    fixes = Resolution.objects.filter(ticket_id__in=members)
    assert sorted(fixes.values_list("ticket_id", flat=True)) == sorted(members)
    assert {fix.fix for fix in fixes} == {"failed over sql-prod-01 to its secondary"}
    event = incident.events.get(kind="resolved")
    assert event.details["fix"] == "failed over sql-prod-01 to its secondary"
    too_long = responder.post(f"/api/v1/incidents/{incident.pk}/reopen/", {"note": "x" * 2001})
    assert too_long.status_code == 400


def test_an_incident_action_with_a_nul_in_its_note_or_fix_is_refused_naming_it():
    """PostgreSQL text cannot hold a NUL: one in the note or in what fixed it was a 500."""
    from tests.api import make_user

    incident = _incident_of_two_pipelines()
    responder = Client()
    responder.force_login(make_user("responder"))

    for action, field in (("acknowledge", "note"), ("resolve", "fix")):
        page = responder.post(
            f"/incidents/{incident.pk}/action/",
            {"action": action, field: "re\x00started"},
            follow=True,
        )
        assert page.status_code == 200
        assert "cannot hold a NUL character" in page.content.decode()

    assert set(incident.members.values_list("status", flat=True)) == {"open"}


def test_the_incident_page_offers_only_what_its_status_allows():
    from tests.api import make_user

    incident = _incident_of_two_pipelines()
    responder = Client()
    responder.force_login(make_user("responder"))

    def buttons() -> set[str]:
        html = responder.get(f"/incidents/{incident.pk}/").content.decode()
        form = html.split('id="incident-actions"')[1].split("</form>")[0]
        return {part.split('"')[0] for part in form.split('name="action" value="')[1:]}

    assert buttons() == {"acknowledge", "start_progress", "resolve"}
    responder.post(f"/incidents/{incident.pk}/action/", {"action": "resolve", "fix": "restarted"})
    assert buttons() == {"reopen"}
    responder.post(f"/incidents/{incident.pk}/action/", {"action": "reopen"})
    incident.refresh_from_db()
    assert incident.status == "open"
    assert set(Ticket.objects.values_list("status", flat=True)) == {"open"}
    assert set(incident.members.values_list("resolutions__fix", flat=True)) == {"restarted"}


def test_a_fix_typed_with_acknowledge_on_the_incident_page_is_not_dropped_in_silence():
    """The fix is kept only when resolving: with another action nothing is done, a message
    says why, and the form shows the typed text again."""
    from tests.api import make_user

    incident = _incident_of_two_pipelines()
    responder = Client()
    responder.force_login(make_user("responder"))

    answer = responder.post(
        f"/incidents/{incident.pk}/action/",
        {"action": "acknowledge", "fix": "failed over"},
        follow=True,
    )

    html = answer.content.decode()
    assert "&quot;What fixed it&quot; is kept only when resolving" in html
    assert 'value="failed over"' in html
    incident.refresh_from_db()
    assert incident.status == "open"
    assert set(Ticket.objects.values_list("status", flat=True)) == {"open"}


def test_the_incident_members_show_the_day_they_failed():
    """Members failing on different days are not ambiguous: the page and its live part show
    each failure's date and time."""
    from tests.api import make_user

    first = post(storm_failure("pl_orders"))["ticket_id"]
    post(storm_failure("pl_customers"))
    incident = Incident.objects.get()
    yesterday = timezone.now() - timedelta(days=1)
    Ticket.objects.filter(pk=first).update(timestamp=yesterday)
    viewer = Client()
    viewer.force_login(make_user("viewer"))
    shown = timezone.localtime(yesterday).strftime("%Y-%m-%d %H:%M:%S")

    for url in (f"/incidents/{incident.pk}/", f"/incidents/{incident.pk}/live/"):
        html = viewer.get(url).content.decode()
        members = html.split('id="incident-members"')[1].split("</table>")[0]
        assert f"<td>{shown} UTC</td>" in members


def test_the_incident_page_reads_its_changing_parts_alone_from_its_live_address():
    """What the page's script reads again after a change (incident.js): the head, the buttons
    the status allows (for responders), the shared cause once analysed (a new analysis
    lands), the members and the timeline; not the panels' headings or the form around the
    buttons."""
    from analysis.services import analyse_incident
    from tests.api import make_user

    members = [post(storm_failure(f"pl_<b>{n}</b>"))["ticket_id"] for n in range(2)]
    incident = Incident.objects.get()
    assert analyse_incident(incident.pk)
    viewer, responder = Client(), Client()
    viewer.force_login(make_user("viewer"))
    responder.force_login(make_user("responder"))
    live_url = f"/incidents/{incident.pk}/live/"
    page = viewer.get(f"/incidents/{incident.pk}/").content.decode()
    assert f'"live_url": "{live_url}"' in page

    parts = responder.get(live_url)
    assert parts.status_code == 200 and "Content-Security-Policy" in parts.headers
    html = parts.content.decode()
    assert html.count("data-live-part=") == 5
    assert "could not connect to sql-prod-01" in html
    assert "2 members" in html and ">Open</span>" in html
    assert all(f'data-member="{member}"' in html for member in members)
    assert "pl_&lt;b&gt;0&lt;/b&gt;" in html and "<b>0</b>" not in html
    assert "<strong>formed</strong>" in html
    assert 'value="acknowledge"' in html and 'value="reopen"' not in html
    assert "Shared cause" not in html and "csrfmiddlewaretoken" not in html
    assert 'data-live-part="actions"' not in viewer.get(live_url).content.decode()

    incidents.act(incident.pk, "resolve", Actor("user", "maria"))
    html = responder.get(live_url).content.decode()
    assert ">Resolved</span>" in html and "<strong>resolved</strong>" in html
    assert 'value="reopen"' in html and 'value="acknowledge"' not in html
    # Merged into another outage's incident: nothing is left to act on here.
    elsewhere = STORM_MESSAGE.replace("sql-prod-01", "sql-b")
    post(storm_failure("pl_other", message=elsewhere))
    post(storm_failure("pl_other_too", message=elsewhere))
    into = Incident.objects.exclude(pk=incident.pk).get().pk
    incidents.merge(incident.pk, into, Actor("user", "maria"))
    html = responder.get(live_url).content.decode()
    assert f"Merged into {into}" in html and 'name="action"' not in html
    assert viewer.get("/incidents/INC-nope/live/").status_code == 404


def _store_rule_analysis(incident: Incident, members: list[str]) -> None:
    incidents.store_analysis(
        incident.pk,
        rca_result="sql-prod-01 is down",
        recommendations=[],
        rca_source="rules",
        rca_note="test",
        confidence=None,
        members=len(members),
    )


def _detach_first(incident: Incident, members: list[str]) -> None:
    incidents.detach(incident.pk, members[0], Actor.system("test"))


def _merge_into_the_other(incident: Incident, members: list[str]) -> None:
    other = Incident.objects.exclude(pk=incident.pk).get()
    incidents.merge(incident.pk, other.pk, Actor.system("test"))


def _resolve(incident: Incident, members: list[str]) -> None:
    incidents.act(incident.pk, "resolve", Actor.system("test"), fix="failed over")


def _resolve_from_jira(incident: Incident, members: list[str]) -> None:
    from integrations.parsers.jira import JiraEvent
    from integrations.syncback import apply_jira_event

    Incident.objects.filter(pk=incident.pk).update(itsm_ticket_id="OPS-7")
    event = JiraEvent(
        webhook_event="jira:issue_updated",
        issue_key="OPS-7",
        labels=(),
        happened_at=timezone.now(),
        author="Ana",
        author_ids=frozenset({"ana"}),
        status_to="Done",
        changelog_id="1001",
    )
    assert apply_jira_event(event)[1] == f"incident {incident.pk} status set to resolved"


@pytest.mark.parametrize(
    "operation",
    [_store_rule_analysis, _resolve, _resolve_from_jira, _detach_first, _merge_into_the_other],
)
def test_acting_on_an_incident_beside_a_members_recurrence_does_not_deadlock(operation):
    """Ingest locks a member (its recurrence), then extends the incident; storing the
    incident's analysis, a responder's action, a detach and a merge must take them in the
    same order (a storm hit a deadlock, a 503; PostgreSQL aborts one side). So must a status
    change on the incident's JIRA issue."""
    import threading

    from django.db import connection, transaction

    first, _other = two_incidents()
    members = list(first.members.order_by("pk").values_list("pk", flat=True))
    for member in members:
        incidents.share_analysis(member)
    member_locked, errors = threading.Event(), []

    def recurrence() -> None:
        try:
            with transaction.atomic():
                Ticket.objects.filter(pk=members[0]).update(occurrence_count=5)
                member_locked.set()
                time.sleep(0.5)  # the operation runs meanwhile
                Incident.objects.filter(pk=first.pk).update(last_member_at=timezone.now())
        except Exception as exc:  # a deadlock victim
            errors.append(exc)
        finally:
            connection.close()

    worker = threading.Thread(target=recurrence)
    worker.start()
    member_locked.wait(5)
    try:
        operation(first, members)
    except Exception as exc:
        errors.append(exc)
    worker.join(10)
    assert errors == []
    assert Ticket.objects.get(pk=members[0]).occurrence_count == 5


def test_two_job_successes_ending_members_of_the_same_two_incidents_do_not_deadlock(
    monkeypatch,
):
    """Job x's success ends a member of each of two incidents, and so does job z's; their
    members' ages are crossed, so ending them newest first would take the incidents in
    opposite orders (PostgreSQL aborts one side: a 5xx to the source). They are taken by id."""
    import threading

    from integrations.parsers.databricks import recovery_key
    from tests.api import make_ticket
    from tests.tickets.test_memory import DATABRICKS, databricks

    start = timezone.now() - timedelta(hours=1)
    first = Incident.objects.create(id="INC-1", group_key="g1", culprit="c1", member_count=2)
    second = Incident.objects.create(id="INC-2", group_key="g2", culprit="c2", member_count=2)
    for job, ages in (("x", (0, 1)), ("z", (1, 0))):
        for n, (incident, age) in enumerate(zip((first, second), ages, strict=True)):
            make_ticket(
                id=f"DBX-{job}{n}",
                incident=incident,
                source="databricks",
                resolve_key=recovery_key("1234567890", job, f"t{n}"),
                timestamp=start + timedelta(seconds=age),
            )
    # Each recovery pauses after its first member's incident, until the other has one too
    # (or, once they wait on each other's locks instead, for a second).
    both_in, waited = threading.Barrier(2, timeout=1), threading.local()
    record_recovery = incidents.record_recovery

    def record_then_wait(ticket: Ticket, actor: Actor) -> None:
        record_recovery(ticket, actor)
        if not getattr(waited, "once", False):
            waited.once = True
            with contextlib.suppress(threading.BrokenBarrierError):
                both_in.wait()

    monkeypatch.setattr(incidents, "record_recovery", record_then_wait)
    with ThreadPoolExecutor(2) as pool:
        answers = list(
            pool.map(
                lambda job: Client().post(
                    DATABRICKS,
                    data=json.dumps(databricks("jobs.on_success", job, f"run-{job}")),
                    content_type="application/json",
                    HTTP_X_WEBHOOK_TOKEN=settings.WEBHOOK_TOKEN,
                ),
                ("x", "z"),
            )
        )
    assert [answer.status_code for answer in answers] == [202, 202], answers
    assert set(Ticket.objects.values_list("status", flat=True)) == {"resolved"}
    assert set(Incident.objects.values_list("recovered_count", flat=True)) == {2}


def test_a_jira_change_to_an_incident_made_before_its_resolve_here_and_delivered_after_is_ignored():
    """Someone took the incident's issue in JIRA, then a responder resolved the incident here;
    JIRA's webhook arrives last. Applied, it would reopen the resolved incident."""
    from integrations.parsers.jira import JiraEvent
    from integrations.syncback import apply_jira_event

    incident, _other = two_incidents()
    Incident.objects.filter(pk=incident.pk).update(itsm_ticket_id="OPS-7")
    incidents.act(incident.pk, "resolve", Actor.system("test"), fix="failed over")

    def jira_change(status_to: str, seconds_ago: float, changelog_id: str) -> str:
        event = JiraEvent(
            webhook_event="jira:issue_updated",
            issue_key="OPS-7",
            labels=(),
            happened_at=timezone.now() - timedelta(seconds=seconds_ago),
            author="Ana",
            author_ids=frozenset({"ana"}),
            status_to=status_to,
            changelog_id=changelog_id,
        )
        return apply_jira_event(event)[1]

    assert jira_change("In Progress", 19, "2001") == (
        "older than the incident's last status change; ignored"
    )
    assert Incident.objects.get(pk=incident.pk).status == "resolved"
    # One made after it is applied.
    assert jira_change("To Do", 0, "2002") == f"incident {incident.pk} status set to open"


def test_jira_events_of_an_incident_out_of_order_keep_the_latest_state():
    """JIRA's Done lands, then its earlier In Progress: the incident stays resolved (tickets
    already compared with the last change applied; incidents did not, and reopened)."""
    from integrations.parsers.jira import JiraEvent
    from integrations.syncback import apply_jira_event

    incident, _other = two_incidents()
    Incident.objects.filter(pk=incident.pk).update(itsm_ticket_id="OPS-9")
    now = timezone.now()

    def jira_change(status_to: str, at: datetime, changelog_id: str) -> str:
        event = JiraEvent(
            webhook_event="jira:issue_updated",
            issue_key="OPS-9",
            labels=(),
            happened_at=at,
            author="Ana",
            author_ids=frozenset({"ana"}),
            status_to=status_to,
            changelog_id=changelog_id,
        )
        return apply_jira_event(event)[1]

    assert jira_change("Done", now, "3001") == f"incident {incident.pk} status set to resolved"
    assert jira_change("In Progress", now - timedelta(seconds=30), "3002") == (
        "older than the last status applied; ignored"
    )
    assert Incident.objects.get(pk=incident.pk).status == "resolved"


def test_a_jira_change_made_before_a_resolve_here_and_applied_during_it_is_ignored():
    """Ana took the incident's issue in JIRA; a responder's resolve here had begun when her
    webhook landed, and was still committing. The webhook waits for the incident, then must
    see the resolve (made after Ana's change), as a ticket's event does: not reopen it."""
    import threading

    from django.db import connection, transaction

    from integrations.parsers.jira import JiraEvent
    from integrations.syncback import apply_jira_event

    incident, _other = two_incidents()
    Incident.objects.filter(pk=incident.pk).update(itsm_ticket_id="OPS-8")
    ana_moved = timezone.now() - timedelta(seconds=5)
    resolving, release, errors = threading.Event(), threading.Event(), []

    def resolve_here() -> None:
        try:
            with transaction.atomic():
                incidents.act(incident.pk, "resolve", Actor.system("test"), fix="failed over")
                resolving.set()
                release.wait(5)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    responder = threading.Thread(target=resolve_here)
    responder.start()
    assert resolving.wait(5)
    event = JiraEvent(
        webhook_event="jira:issue_updated",
        issue_key="OPS-8",
        labels=(),
        happened_at=ana_moved,
        author="Ana",
        author_ids=frozenset({"ana"}),
        status_to="In Progress",
        changelog_id="4001",
    )
    # The resolve commits while the webhook waits for the incident's lock.
    threading.Timer(0.5, release.set).start()
    result = apply_jira_event(event)[1]
    responder.join(10)

    assert errors == []
    assert result == "older than the incident's last status change; ignored"
    assert Incident.objects.get(pk=incident.pk).status == "resolved"


def test_an_incident_open_across_the_regrouping_deploy_keeps_its_members_and_its_alert():
    """Incidents formed before 'unavailable' classes grouped as one and before a storage
    account was the culprit carry the old group key and culprit; new failures of the same
    outage get the new key. Migrated, the open incidents take the new one: the outage's next
    failures join them (they formed a second incident, paged twice) and the account's Azure
    alert joins too."""
    import importlib

    from django.apps import apps

    sql = _incident_of_two_pipelines()
    message = (
        'Operation failed: "The server is currently unable to receive requests.", 503, GET, '
        "abfss://raw@dlsprod.dfs.core.windows.net/sales/2025/12/10/"
    )
    post(storm_failure("pl_sales", message=message))
    post(storm_failure("pl_stock", message=message))
    storage = Incident.objects.exclude(pk=sql.pk).get()
    # As they were stored before the deploy.
    Incident.objects.filter(pk=sql.pk).update(group_key=f"{CULPRIT}|DatabaseError")
    Ticket.objects.filter(incident=sql).update(group_key=f"{CULPRIT}|DatabaseError")
    old_storage_key = f"storage:dlsprod/raw|{storage.error_type}"
    Incident.objects.filter(pk=storage.pk).update(
        group_key=old_storage_key, culprit="storage:dlsprod/raw", culprit_detail=""
    )
    Ticket.objects.filter(incident=storage).update(
        group_key=old_storage_key, culprit="storage:dlsprod/raw", culprit_detail=""
    )

    migration = importlib.import_module("tickets.migrations.0026_regroup_open_incidents")
    migration.regroup_open_incidents(apps, None)

    joined = post(storm_failure("pl_ledger"))["ticket_id"]
    assert Ticket.objects.get(pk=joined).incident_id == sql.pk
    joined = post(storm_failure("pl_returns", message=message))["ticket_id"]
    assert Ticket.objects.get(pk=joined).incident_id == storage.pk
    storage.refresh_from_db()
    assert (storage.culprit, storage.culprit_detail) == ("storage:dlsprod", "raw")
    assert Incident.objects.count() == 2


def placed_while_a_resolve_is_held(incident_id: str, place: Callable[[], T]) -> tuple[T, bool]:
    """Run `place` while a responder's resolve of the incident is held uncommitted, release the
    resolve once `place` waits for it; `place`'s answer, and whether it waited."""
    return while_held(lambda: incidents.act(incident_id, "resolve", Actor.system("test")), place)


def _resolved_by_people(pipeline: str) -> str:
    from tests.api import clear_throttles, jwt_client, make_user

    clear_throttles()
    ticket_id = post(storm_failure(pipeline))["ticket_id"]
    responder = jwt_client(make_user("responder"))
    answer = responder.post(
        f"/api/v1/tickets/{ticket_id}/resolve/", {"fix": "restarted the integration runtime"}
    )
    assert answer.status_code == 200, answer.content
    return ticket_id


def test_a_ticket_people_resolved_stays_out_of_an_incident_forming_after_it():
    """A failure people resolved (with a fix) before any incident formed is over: a failure
    of another pipeline on the same culprit 30 s later forms no incident with it (it formed
    one shown open with a resolved member); the next one forms one without it."""
    resolved = _resolved_by_people("pl_orders")

    alone = post(storm_failure("pl_customers"))["ticket_id"]
    assert not Incident.objects.exists()
    assert Ticket.objects.get(pk=alone).incident_id is None

    joined = post(storm_failure("pl_invoices"))["ticket_id"]
    incident = Incident.objects.get()
    assert sorted(incident.members.values_list("pk", flat=True)) == sorted([alone, joined])
    assert incident.member_count == 2
    assert Ticket.objects.get(pk=resolved).incident_id is None


def test_a_ticket_people_resolved_that_fails_again_forms_an_incident_with_the_next():
    """Failing again (a regression) it is a recent failure once more."""
    resolved = _resolved_by_people("pl_orders")
    again = post(storm_failure("pl_orders"))
    assert again["outcome"] == "regressed" and again["ticket_id"] == resolved

    joined = post(storm_failure("pl_customers"))["ticket_id"]
    incident = Incident.objects.get()
    assert sorted(incident.members.values_list("pk", flat=True)) == sorted([resolved, joined])


def test_a_ticket_people_resolved_before_its_error_was_fetched_is_placed_nowhere():
    """Its fetched error names the culprit of an open incident: it stores the culprit, and
    stays out of the incident, as a resolved ticket does at ingest."""
    from django.db import transaction

    from tests.api import make_ticket
    from tickets import lifecycle

    incident = _incident_of_two_pipelines()
    textless = make_ticket(pipeline="pl_invoices", source="databricks")
    lifecycle.resolve(textless.pk, Actor.system("test"), fix="restarted the cluster")

    with transaction.atomic():
        placed = incidents.place_enriched(
            textless.pk, culprit=CULPRIT, culprit_detail="dw", error_type="DatabaseError"
        )

    assert placed is None
    ticket = Ticket.objects.get(pk=textless.pk)
    assert (ticket.incident_id, ticket.culprit, ticket.status) == (None, CULPRIT, "resolved")
    incident.refresh_from_db()
    assert incident.member_count == 2


def test_the_incident_timeline_shows_what_fixed_it_beside_who_resolved_it():
    """The resolve's fix is recorded on its timeline entry: the page (and its live read) show
    it beside who resolved it, as text."""
    from tests.api import make_user

    incident = _incident_of_two_pipelines()
    user = make_user("responder")
    responder = Client()
    responder.force_login(user)
    fix = "failed over sql-prod-01 to <b>its secondary</b>"
    responder.post(f"/incidents/{incident.pk}/action/", {"action": "resolve", "fix": fix})

    for path in (f"/incidents/{incident.pk}/", f"/incidents/{incident.pk}/live/"):
        html = responder.get(path).content.decode()
        timeline = html.split('id="incident-timeline"')[1].split("</ol>")[0]
        resolved = next(row for row in timeline.split("<li>") if "<strong>resolved</strong>" in row)
        assert f"{user.username} <strong>resolved</strong>" in resolved
        assert "what fixed it: failed over sql-prod-01 to &lt;b&gt;its secondary&lt;/b&gt;" in (
            resolved
        ), resolved


def test_the_incident_timeline_says_who_did_what_as_the_audit_trail_does():
    """The timeline showed action names ("start_progress") where the members' audit trails say
    "took it", and named this service's parts as actors ("formed … by incidents", "analysed
    by analysis")."""
    from django.db import transaction

    from analysis.services import analyse_incident
    from tests.api import make_user

    first = post(storm_failure("pl_orders"))["ticket_id"]
    second = post(storm_failure("pl_customers"))["ticket_id"]
    incident = Incident.objects.get()
    analyse_incident(incident.pk)
    incidents.act(incident.pk, "start_progress", Actor("user", "maria"))
    with transaction.atomic():
        _recover_at_source(first)
    viewer = Client()
    viewer.force_login(make_user("viewer"))

    html = viewer.get(f"/incidents/{incident.pk}/").content.decode()

    timeline = html.split('id="incident-timeline"')[1].split("</ol>")[0]
    rows = [
        re.sub(r"<time>.*?</time>\s*|<[^>]+>", "", row).strip()
        for row in timeline.split("<li>")[1:]
    ]
    assert f"formed pl_customers ({second})" in rows
    assert "analysed" in rows
    assert "maria took it" in rows
    assert f"recovered pl_orders ({first}), reported by adf" in rows
    assert not [row for row in rows if " by incidents" in row or " by analysis" in row], rows


def test_the_incident_timeline_names_each_member_by_its_pipeline_the_last_one_too():
    """The last open member's resolve named its ticket id alone, where the incident's Slack
    thread, JIRA comments and status line say "pl_customers (id)"; a regression's reason does
    not name the member its entry names already."""
    from django.db import transaction

    from tests.api import clear_throttles, jwt_client, make_user

    clear_throttles()
    first = post(storm_failure("pl_orders"))["ticket_id"]
    second = post(storm_failure("pl_customers"))["ticket_id"]
    incident = Incident.objects.get()
    with transaction.atomic():
        _recover_at_source(first)
    user = make_user("responder")
    assert jwt_client(user).post(f"/api/v1/tickets/{second}/resolve/").status_code == 200
    assert post(storm_failure("pl_customers"))["outcome"] == "regressed"
    viewer = Client()
    viewer.force_login(user)

    for path in (f"/incidents/{incident.pk}/", f"/incidents/{incident.pk}/live/"):
        html = viewer.get(path).content.decode()
        timeline = html.split('id="incident-timeline"')[1].split("</ol>")[0]
        rows = [
            re.sub(r"<time>.*?</time>\s*|<[^>]+>", "", row).strip()
            for row in timeline.split("<li>")[1:]
        ]
        assert (
            f"{user.username} resolved pl_customers ({second}) — no member is left open" in rows
        ), rows
        assert f"reopened pl_customers ({second}) — failed again" in rows, rows
        assert f"recovered pl_orders ({first}), reported by adf" in rows, rows


def test_the_incident_timeline_shows_the_note_given_with_a_change():
    """A note typed with an incident's change ("Note for every member's audit trail") shows on
    its timeline entry, redacted and as text, as its members' audit trails show it."""
    from tests.api import make_user

    incident = _incident_of_two_pipelines()
    responder = Client()
    responder.force_login(make_user("responder"))
    note = "firewall rule <b>restored</b>, password is hunter2"
    responder.post(f"/incidents/{incident.pk}/action/", {"action": "acknowledge", "note": note})

    for path in (f"/incidents/{incident.pk}/", f"/incidents/{incident.pk}/live/"):
        html = responder.get(path).content.decode()
        timeline = html.split('id="incident-timeline"')[1].split("</ol>")[0]
        acknowledged = next(row for row in timeline.split("<li>") if "acknowledge" in row)
        assert "firewall rule &lt;b&gt;restored&lt;/b&gt;, password is [REDACTED]" in (
            acknowledged
        ), acknowledged
        assert "hunter2" not in html


def test_the_incident_page_says_when_its_shared_cause_covers_fewer_members_than_it_has():
    """The shared cause is analysed again only at INCIDENT_RCA_GROWTH-fold growth, so its count
    of pipelines falls behind while members join: the page (and its live read, which now holds
    the cause) says how many members it covered and when it is analysed next."""
    from analysis.services import analyse_incident
    from tests.api import make_user

    incident = _incident_of_two_pipelines()
    assert analyse_incident(incident.pk)
    post(storm_failure("pl_invoices"))
    viewer = Client()
    viewer.force_login(make_user("viewer"))

    for path in (f"/incidents/{incident.pk}/", f"/incidents/{incident.pk}/live/"):
        html = viewer.get(path).content.decode()
        cause = html.split('data-live-part="cause"')[1].split("</div>")[0]
        assert "2 pipelines in 1 factory could not connect to" in cause, cause
        assert (
            "Analysed when the incident had 2 members; it has 3 now. "
            "It is analysed again once it has 4."
        ) in cause, cause

    post(storm_failure("pl_returns"))
    assert analyse_incident(incident.pk)
    html = viewer.get(f"/incidents/{incident.pk}/live/").content.decode()
    assert "4 pipelines in 1 factory" in html
    assert "Analysed when the incident had" not in html


def test_a_live_read_of_an_incident_costs_the_same_however_many_members_and_events_it_has(
    django_assert_max_num_queries,
):
    """incident.js reads the live parts again after every change of a member: in a storm, many
    times a second per open page. The read works out no rule-based cause over every member
    while the incident is not analysed yet (the page keeps the one it was rendered with), and
    reads its timeline's entries in one query."""
    from tests.api import make_user

    incident = _incident_of_two_pipelines()
    viewer = Client()
    viewer.force_login(make_user("viewer"))
    live_url = f"/incidents/{incident.pk}/live/"
    viewer.get(live_url)
    with django_assert_max_num_queries(30) as few:
        html = viewer.get(live_url).content.decode()
    queries = len(few.captured_queries)
    assert 'data-live-part="cause"' not in html
    assert "could not connect to" in viewer.get(f"/incidents/{incident.pk}/").content.decode()

    for n in range(6):
        post(storm_failure(f"pl_more_{n}"))
    with django_assert_max_num_queries(queries):
        assert "8 members" in viewer.get(live_url).content.decode()


def test_the_incident_page_names_no_next_analysis_it_will_not_get(settings):
    """The next analysis comes when the incident reaches INCIDENT_RCA_GROWTH times the members
    the last one covered: once it has that many (due, under way), or once it takes no members
    (resolved), the page says how many the cause covered, not a size it is to be analysed at."""
    from analysis.services import analyse_incident
    from tests.api import make_user

    incident = _incident_of_two_pipelines()
    assert analyse_incident(incident.pk)
    post(storm_failure("pl_invoices"))
    responder = Client()
    responder.force_login(make_user("responder"))
    covered = "Analysed when the incident had 2 members; it has 3 now."

    def cause() -> str:
        html = responder.get(f"/incidents/{incident.pk}/live/").content.decode()
        return html.split('data-live-part="cause"')[1].split("</div>")[0]

    settings.INCIDENT_RCA_GROWTH = 1.5  # due at 3 members: it has them
    assert covered in cause() and "analysed again" not in cause(), cause()
    settings.INCIDENT_RCA_GROWTH = 2.0
    assert f"{covered} It is analysed again once it has 4." in cause(), cause()
    responder.post(f"/incidents/{incident.pk}/action/", {"action": "resolve"})
    assert Incident.objects.get().status == "resolved"
    assert covered in cause() and "analysed again" not in cause(), cause()


def test_an_incident_formed_with_a_regressed_ticket_starts_at_its_regression():
    """A ticket that failed days ago, was resolved and failed again now is one of the recent
    failures an incident forms with: the outage started with its regression, not days ago."""
    from tickets import lifecycle

    first = post(storm_failure("pl_orders"))["ticket_id"]
    days_ago = timezone.now() - timedelta(days=3)
    Ticket.objects.filter(pk=first).update(timestamp=days_ago, first_seen=days_ago)
    lifecycle.resolve(first, Actor.system("test"))
    regressed_from = timezone.now()
    post(storm_failure("pl_orders"))
    regressed_at = Ticket.objects.get(pk=first).regressed_at
    assert regressed_at is not None and regressed_at >= regressed_from

    post(storm_failure("pl_customers"))

    incident = Incident.objects.get()
    assert incident.first_seen == regressed_at
    assert Ticket.objects.get(pk=first).first_seen == days_ago  # the ticket keeps its own


def test_an_ingest_a_deadlock_aborted_runs_again_and_joins_its_incident(caplog):
    """PostgreSQL settles a deadlock by aborting one side: when that is a failure joining its
    incident, its transaction (all-or-nothing) runs once more and the failure is accepted, not
    answered 503. The other side here holds the incident's row, then asks for the culprit's
    lock the ingest holds: the ingest waited first, so it is the one aborted."""
    import threading

    from django.db import connection, connections, transaction

    post(storm_failure("pl_a"))
    post(storm_failure("pl_b"))
    incident = Incident.objects.get()
    holding, go, holder, errors = threading.Event(), threading.Event(), [], []

    def hold_incident_then_culprit() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                holder.append(cursor.fetchone()[0])
                cursor.execute(
                    f"SELECT 1 FROM {Incident._meta.db_table} WHERE id = %s FOR UPDATE",
                    [incident.pk],
                )
                holding.set()
                assert go.wait(10)
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s, %s)",
                    list(incidents.culprit_lock(incident.culprit)),
                )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    other = threading.Thread(target=hold_incident_then_culprit)
    other.start()
    assert holding.wait(10)
    answers: list[dict] = []

    def ingest() -> None:
        try:
            answers.append(post(storm_failure("pl_c")))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    joining = threading.Thread(target=ingest)
    joining.start()
    wait_for(
        lambda: someone_waits_on(holder[0]), 10, 0.02
    )  # the ingest waits for the incident's row
    go.set()  # and now the incident's holder waits for the ingest's culprit lock
    joining.join(30)
    other.join(30)

    assert errors == []
    assert any("deadlock detected" in r.getMessage() for r in caplog.records)
    [answer] = answers
    assert answer["outcome"] == "created"
    assert Ticket.objects.get(pk=answer["ticket_id"]).incident_id == incident.pk
    incident.refresh_from_db()
    assert incident.member_count == 3


def test_acting_on_an_incident_while_members_join_and_take_its_analysis_does_not_deadlock():
    """Members that joined after an action locked the incident's members, but before it locked
    the incident, are locked too, and before the incident (the order every path takes): a
    worker giving such a member the incident's analysis (its ticket, then the incident) waits
    for the action or goes first, never holds the member while the action waits for it."""
    import threading

    from django.db import connection, transaction

    post(storm_failure("pl_a"))
    post(storm_failure("pl_b"))
    incident = Incident.objects.get()
    first = incident.members.order_by("pk").values_list("pk", flat=True)[0]
    sessions = SessionThreads()
    thread, pids, errors = sessions.start, sessions.pids, sessions.errors
    events = {name: threading.Event() for name in ("held", "release", "held_c", "release_c")}

    def hold(ticket_id: Callable[[], str], held: str, release: str) -> Callable[[], None]:
        def work() -> None:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT 1 FROM {Ticket._meta.db_table} WHERE id = %s FOR NO KEY UPDATE",
                    [ticket_id()],
                )
                events[held].set()
                events[release].wait(20)

        return work

    threads = [thread("holder", hold(lambda: first, "held", "release"))]
    assert events["held"].wait(10)
    acting = thread("act", lambda: incidents.act(incident.pk, "acknowledge", Actor.system("t")))
    threads.append(acting)
    wait_for(lambda: "act" in pids and someone_waits_on(pids["holder"]), 10, 0.02)
    # Meanwhile two more join (committed), after the action read the members it locks.
    c = post(storm_failure("pl_c"))["ticket_id"]
    n = post(storm_failure("pl_n"))["ticket_id"]
    threads.append(thread("holder_c", hold(lambda: c, "held_c", "release_c")))
    assert events["held_c"].wait(10)
    events["release"].set()
    wait_for(lambda: someone_waits_on(pids["holder_c"]), 10, 0.02)  # the action, at the member held
    sharing = thread("share", lambda: incidents.share_analysis(n))
    threads.append(sharing)
    wait_for(
        lambda: not sharing.is_alive() or ("share" in pids and someone_waits_on(pids["act"])),
        10,
        0.02,
    )
    events["release_c"].set()
    for started in threads:
        started.join(30)

    assert errors == []
    assert set(incident.members.values_list("status", flat=True)) == {"acknowledged"}
    assert Ticket.objects.get(pk=n).rca_note.startswith(f"Shared with incident {incident.pk}")


def _resolve_by_people(ticket_id: str) -> None:
    from tickets import lifecycle

    lifecycle.resolve(ticket_id, Actor.system("responder"), fix="restarted the runtime")


def _recover_at_source(ticket_id: str) -> None:
    from tickets import lifecycle

    ticket = Ticket.objects.select_for_update(no_key=True).get(pk=ticket_id)
    lifecycle.resolve_at_source(ticket, Actor.source("adf"), details={})
    incidents.record_recovery(ticket, Actor.source("adf"))


@pytest.mark.parametrize("over", [_resolve_by_people, _recover_at_source])
def test_a_ticket_over_while_an_incident_forms_with_it_is_left_out(over, settings):
    """A responder's resolve (or the source's recovery, left open) of the one earlier failure
    commits while a failure of another pipeline forms an incident with it: the forming waits
    for it and, reading it over, forms none (it formed one with a member over, shown open,
    that its members' recoveries never resolved)."""
    from django.db import connections

    settings.RESOLVE_ON_SOURCE_RECOVERY = False
    earlier = post(storm_failure("pl_orders"))["ticket_id"]

    def ingest() -> dict:
        try:
            return post(storm_failure("pl_customers"))
        finally:
            connections.close_all()

    answer, waited = while_held(lambda: over(earlier), ingest)

    assert waited
    assert Ticket.objects.get(pk=earlier).incident_id is None
    assert Ticket.objects.get(pk=answer["ticket_id"]).incident_id is None
    assert not Incident.objects.exists()


def test_a_note_typed_with_an_incident_action_that_was_not_done_is_shown_again():
    """Another responder acknowledged the incident first: "Not done", and the note typed
    with the action was gone."""
    from tests.api import make_user

    incident = _incident_of_two_pipelines()
    first, responder = Client(), Client()
    first.force_login(make_user("responder", "first-responder"))
    responder.force_login(make_user("responder"))
    url = f"/incidents/{incident.pk}/action/"
    first.post(url, {"action": "resolve"})

    answer = responder.post(url, {"action": "resolve", "note": "sql-01 <down>"}, follow=True)

    html = answer.content.decode()
    assert "Not done:" in html
    assert 'value="sql-01 &lt;down&gt;"' in html
    assert 'value="sql-01' not in responder.get(f"/incidents/{incident.pk}/").content.decode()


def test_the_last_two_members_resolved_at_once_resolve_the_incident_once():
    """Two responders resolve the last two open members at the same moment: each locks its
    member, then the incident (ingest's order: no deadlock). The first to hold the incident
    still sees the other member open; the second, reading once the first committed, finds
    none left open and resolves the incident, once."""
    import threading

    from django.db import connection, transaction

    from tickets import lifecycle
    from tickets.models import ActorKind

    first = post(storm_failure("pl_orders"))["ticket_id"]
    second = post(storm_failure("pl_customers"))["ticket_id"]
    incident = Incident.objects.get()
    first_resolved, errors = threading.Event(), []

    def resolve_first() -> None:
        try:
            with transaction.atomic():
                lifecycle.resolve(first, Actor(ActorKind.USER, "ana", via="api"))
                first_resolved.set()
                time.sleep(0.5)  # the other resolve runs meanwhile, waiting for the incident
        except Exception as exc:  # a deadlock victim
            errors.append(exc)
        finally:
            connection.close()

    worker = threading.Thread(target=resolve_first)
    worker.start()
    assert first_resolved.wait(5)
    lifecycle.resolve(second, Actor(ActorKind.USER, "sam", via="dashboard"))
    worker.join(10)

    assert errors == []
    incident.refresh_from_db()
    assert incident.status == "resolved"
    resolved = incident.events.get(kind="resolved")
    assert (resolved.ticket_id, resolved.actor_name, resolved.details["via"]) == (
        second,
        "sam",
        "dashboard",
    )


# --- one Azure alert rule firing on several resources at once ---------------------------------

RULE_ID = (
    "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-compute/providers/"
    "microsoft.insights/metricAlerts/vm-cpu-high"
)
RULE_CULPRIT = f"alert-rule:{RULE_ID.lower()}"


def vm_id(name: str) -> str:
    return (
        "/subscriptions/11111111-1111-1111-1111-111111111111/resourcegroups/rg-compute/"
        f"providers/microsoft.compute/virtualmachines/{name}"
    )


def rule_alert(
    *targets: str,
    alert: str,
    condition: str = "Fired",
    fired: str = "",
    rule: str = "vm-cpu-high",
    rule_id: str = RULE_ID,
) -> dict:
    """A metric alert of a multi-resource rule (Microsoft Learn's sample, its context a
    `MultipleResourceMultipleMetricCriteria`): Azure sends one alert per resource, each with
    its own alert id and the one resource in `alertTargetIDs`; a body listing several targets
    is the shape an alert on several resources takes."""
    body = copy.deepcopy(local_payload("azure/common_metric_static_resolved.json"))
    essentials = body["data"]["essentials"]
    fired = fired or timezone.now().isoformat().replace("+00:00", "Z")
    essentials.update(
        alertId=f"{SUBSCRIPTION}/providers/Microsoft.AlertsManagement/alerts/{alert}",
        alertRule=rule,
        alertRuleID=rule_id,
        monitorCondition=condition,
        alertTargetIDs=[vm_id(target) for target in targets],
        configurationItems=list(targets),
        firedDateTime=fired,
    )
    if condition == "Fired":
        essentials.pop("resolvedDateTime", None)
    else:
        essentials["resolvedDateTime"] = timezone.now().isoformat().replace("+00:00", "Z")
    context = body["data"]["alertContext"]
    context["conditionType"] = "MultipleResourceMultipleMetricCriteria"
    criterion = context["condition"]["allOf"][0]
    criterion.update(threshold="80", metricValue=97.5, dimensions=[])
    return body


FIVE_VMS = [f"vm-batch-{n:02d}" for n in range(1, 6)]


def test_one_rule_firing_on_five_vms_at_once_is_one_incident_each_recovery_ending_its_own():
    fired = timezone.now().isoformat().replace("+00:00", "Z")
    ids = {
        vm: post(rule_alert(vm, alert=f"a-{vm}", fired=fired), "/webhooks/azure-monitor/")[
            "ticket_id"
        ]
        for vm in FIVE_VMS
    }
    assert len(set(ids.values())) == 5  # one ticket per resource, as before
    members = Ticket.objects.filter(pk__in=ids.values())
    assert {ticket.culprit for ticket in members} == {
        f"azure-resource:{vm_id(vm)}" for vm in FIVE_VMS
    }
    incident = Incident.objects.get()
    assert incident.culprit == RULE_CULPRIT and incident.group_key == RULE_CULPRIT
    assert incident.culprit_detail == "vm-cpu-high"
    assert incident.member_count == 5
    assert set(members.values_list("incident_id", flat=True)) == {incident.pk}
    cause = incidents.shared_cause(incident)
    assert cause.startswith("Azure alert rule 'vm-cpu-high' fired on 5 resources at once since")
    assert all(f"'{vm}'" in cause for vm in FIVE_VMS)
    summary = incident_summary(incident, incident_page(incident))
    assert "Incident: Azure alert rule vm-cpu-high: 5 tickets from 1 alert rule" in summary

    # Each resource's Resolved ends its own ticket; the incident lasts until the last one.
    for vm in FIVE_VMS[:4]:
        answer = post(
            rule_alert(vm, alert=f"a-{vm}", condition="Resolved", fired=fired),
            "/webhooks/azure-monitor/",
        )
        assert answer["outcome"] == "resolved" and answer["ticket_id"] == ids[vm]
    assert set(
        Ticket.objects.filter(resolved_at_source_at__isnull=False).values_list("pk", flat=True)
    ) == {ids[vm] for vm in FIVE_VMS[:4]}
    incident.refresh_from_db()
    assert incident.recovered_at is None and incident.status != "resolved"
    last = FIVE_VMS[-1]
    post(
        rule_alert(last, alert=f"a-{last}", condition="Resolved", fired=fired),
        "/webhooks/azure-monitor/",
    )
    incident.refresh_from_db()
    assert incident.recovered_at is not None and incident.status == "resolved"


SUBSCRIPTIONS = [
    f"/subscriptions/{n}{n}{n}{n}0000-0000-0000-0000-000000000000" for n in range(1, 4)
]


def service_health_alert(
    subscription: str,
    tracking_id: str,
    *,
    stage: str = "Active",
    update: str = "1",
    title: str = "Azure Data Factory - East US",
) -> dict:
    """Update `update` of Azure incident `tracking_id` as the Service Health rule of
    `subscription` tells it: activity log alerts are scoped to one subscription, so a company
    has one such rule per subscription (deployed by Azure Policy, each of one name), each
    sending its own alert of the same Azure incident."""
    body = copy.deepcopy(local_payload("azure/common_service_health.json"))
    essentials = body["data"]["essentials"]
    now = timezone.now().isoformat().replace("+00:00", "Z")
    essentials.update(
        alertId=f"{subscription}/providers/Microsoft.AlertsManagement/alerts/{tracking_id}-{update}",
        alertRule="ServiceHealthAlert",
        alertRuleID=(
            f"{subscription}/resourceGroups/rg-policy/providers/microsoft.insights/"
            "activityLogAlerts/ServiceHealthAlert"
        ),
        alertTargetIDs=[subscription],
        firedDateTime=now,
    )
    context = body["data"]["alertContext"]
    context.update(eventTimestamp=now, status="Resolved" if stage == "Resolved" else "Active")
    context["properties"].update(
        stage=stage, trackingId=tracking_id, title=title, defaultLanguageTitle=title
    )
    return body


def test_one_azure_incident_told_to_three_subscriptions_is_one_incident_each_resolved_ending_it():
    """Each subscription's Service Health rule sent its own alert of one Azure incident: three
    tickets, three pages, no incident (Service Health was grouped on nothing). Now they are
    one incident named for the Azure incident; each subscription's Resolved ends its member,
    and the last one the incident."""
    ids = [
        post(service_health_alert(sub, "ZX9K-TQ8"), "/webhooks/azure-monitor/")["ticket_id"]
        for sub in SUBSCRIPTIONS
    ]
    assert len(set(ids)) == 3
    incident = Incident.objects.get()
    assert incident.culprit == incident.group_key == "service-health:ZX9K-TQ8"
    assert incident.culprit_detail == "Azure Data Factory - East US (Data Factory in East US)"
    assert set(incident.members.values_list("pk", flat=True)) == set(ids)
    assert incident.culprit_words == (
        "Azure Service Health incident ZX9K-TQ8: Azure Data Factory - East US "
        "(Data Factory in East US)"
    )
    cause = incidents.shared_cause(incident)
    assert cause.startswith(
        "Azure Service Health incident ZX9K-TQ8 (Azure Data Factory - East US (Data Factory in "
        "East US)) reached the Service Health alert rules of 3 subscriptions since"
    ), cause
    assert all(f"'{sub.rsplit('/', 1)[-1]}'" in cause for sub in SUBSCRIPTIONS)
    summary = incident_summary(incident, incident_page(incident))
    assert "(Data Factory in East US): 3 tickets from 3 subscriptions" in summary, summary

    # A later update of the Azure incident is an occurrence of each subscription's member.
    again = post(
        service_health_alert(SUBSCRIPTIONS[0], "ZX9K-TQ8", update="2"), "/webhooks/azure-monitor/"
    )
    assert (again["outcome"], again["ticket_id"]) == ("correlated", ids[0])

    for n, sub in enumerate(SUBSCRIPTIONS):
        ended = post(
            service_health_alert(sub, "ZX9K-TQ8", stage="Resolved", update="3"),
            "/webhooks/azure-monitor/",
        )
        assert (ended["outcome"], ended["ticket_id"]) == ("resolved", ids[n])
        incident.refresh_from_db()
        assert (incident.recovered_at is not None) == (n == 2)
    assert incident.status == "resolved"

    # Azure reopening its incident (an update published after its Resolved) is the outage back.
    back = post(
        service_health_alert(SUBSCRIPTIONS[1], "ZX9K-TQ8", update="4"), "/webhooks/azure-monitor/"
    )
    assert (back["outcome"], back["ticket_id"]) == ("regressed", ids[1])
    incident.refresh_from_db()
    assert incident.status == "open" and incident.recovered_at is None


@pytest.mark.parametrize(
    "source_recovery, auto_resolve, advice",
    [
        (True, True, "its Resolved notification closes it, and the last one the incident."),
        (True, False, "its Resolved notification closes it, and the incident is resolved by"),
        (False, True, "recovered at source, people here resolve the tickets, and the last one"),
        (False, False, "resolve the tickets, and people here resolve the incident."),
    ],
)
def test_a_service_health_incidents_advice_says_what_resolved_does_as_configured(
    settings, source_recovery, auto_resolve, advice
):
    """The advice said each subscription's Resolved closes its ticket and the last one the
    incident, which is so only with RESOLVE_ON_SOURCE_RECOVERY and INCIDENT_AUTO_RESOLVE on."""
    settings.RESOLVE_ON_SOURCE_RECOVERY = source_recovery
    settings.INCIDENT_AUTO_RESOLVE = auto_resolve
    for sub in SUBSCRIPTIONS[:2]:
        post(service_health_alert(sub, "ADV1-234"), "/webhooks/azure-monitor/")
    incident = Incident.objects.get()

    told = incidents.shared_recommendations(incident)[-1]

    assert advice in told, told


def test_an_azure_incidents_members_are_named_by_its_event_not_by_their_rule():
    """Each subscription's Service Health rule was one name ("sh-all"), so the incident's
    members (its page, its board card, its JIRA issue and Slack message) read "sh-all",
    "sh-all", "sh-all": the event Azure titled names each now, the rule staying its pipeline."""
    from tickets.presenters import incident_members

    title = "Azure Data Factory - East US"
    azure = "/webhooks/azure-monitor/"
    for sub in SUBSCRIPTIONS[:2]:
        body = service_health_alert(sub, "NAME-001", title=title)
        body["data"]["essentials"]["alertRule"] = "sh-all"
        post(body, azure)
    incident = Incident.objects.get()
    page = incident_page(incident)
    assert [named for _, named in page.inline_members] == [title, title]
    listed = incident_members([incident.pk])[incident.pk]
    assert [(member["title"], member["pipeline"]) for member in listed] == [
        (title, "sh-all"),
        (title, "sh-all"),
    ]
    # Its Slack message lists them so (each member's link, named by its title).
    blocks = json.dumps(slack_incident_message(incident)[1])
    assert "sh-all" not in blocks


def _service_health_notice(subscription: str, tracking_id: str) -> dict:
    """A planned maintenance (Azure sends it at level Informational) told to `subscription`."""
    body = service_health_alert(subscription, tracking_id, title="Planned maintenance: SQL")
    body["data"]["essentials"]["severity"] = "Sev4"
    context = body["data"]["alertContext"]
    context.update(
        level="Informational", operationName="Microsoft.ServiceHealth/maintenance/action"
    )
    context["properties"].update(incidentType="Maintenance", stage="Planned")
    return body


def test_a_maintenance_told_to_several_subscriptions_forms_no_incident_while_notices_do_not_page(
    settings,
):
    """An incident pages: a planned maintenance told to three subscriptions formed one, and
    paged, where a notice pages nobody (SERVICE_HEALTH_NOTICES_PAGE off). Each is its own Low
    ticket then; with notices paging, they are one incident, paged once, as an outage's."""
    azure = "/webhooks/azure-monitor/"
    settings.SERVICE_HEALTH_NOTICES_PAGE = False
    quiet = [
        post(_service_health_notice(sub, "MNT-Q1"), azure)["ticket_id"] for sub in SUBSCRIPTIONS
    ]
    assert len(set(quiet)) == 3
    assert not Incident.objects.exists()
    assert set(Ticket.objects.filter(pk__in=quiet).values_list("severity", flat=True)) == {"Low"}

    settings.SERVICE_HEALTH_NOTICES_PAGE = True
    paged = [
        post(_service_health_notice(sub, "MNT-P2"), azure)["ticket_id"] for sub in SUBSCRIPTIONS
    ]
    incident = Incident.objects.get()
    assert incident.group_key == "service-health:MNT-P2"
    assert set(incident.members.values_list("pk", flat=True)) == set(paged)


def test_with_tickets_left_open_at_recovery_every_subscriptions_resolved_ends_the_incident(
    settings,
):
    """RESOLVE_ON_SOURCE_RECOVERY off, INCIDENT_AUTO_RESOLVE on: the advice said people resolve
    the incident, but every subscription's Resolved (each ticket left open, recovered at its
    source) resolves it; it says so."""
    settings.RESOLVE_ON_SOURCE_RECOVERY = False
    settings.INCIDENT_AUTO_RESOLVE = True
    ids = [
        post(service_health_alert(sub, "ADV2-345"), "/webhooks/azure-monitor/")["ticket_id"]
        for sub in SUBSCRIPTIONS[:2]
    ]
    incident = Incident.objects.get()
    told = incidents.shared_recommendations(incident)[-1]

    for sub in SUBSCRIPTIONS[:2]:
        post(
            service_health_alert(sub, "ADV2-345", stage="Resolved", update="2"),
            "/webhooks/azure-monitor/",
        )

    assert set(Ticket.objects.filter(pk__in=ids).values_list("status", flat=True)) != {"resolved"}
    assert Incident.objects.get().status == "resolved"
    assert "the last one resolves the incident" in told, told


def test_an_azure_incidents_alerts_hours_apart_are_still_its_one_incident():
    """A tracking id is one Azure incident's alone, which may last hours: a subscription told
    of it later (another rule's alert delayed, an update first reaching it) joins its incident,
    or forms one with the first subscription's open ticket, past INCIDENT_WINDOW."""
    azure = "/webhooks/azure-monitor/"
    hours_ago = timezone.now() - timedelta(hours=3)
    first = post(service_health_alert(SUBSCRIPTIONS[0], "LONG-001"), azure)["ticket_id"]
    Ticket.objects.filter(pk=first).update(last_seen=hours_ago)
    second = post(service_health_alert(SUBSCRIPTIONS[1], "LONG-001"), azure)["ticket_id"]
    incident = Incident.objects.get()
    assert set(incident.members.values_list("pk", flat=True)) == {first, second}

    Incident.objects.filter(pk=incident.pk).update(last_member_at=hours_ago)
    Ticket.objects.filter(pk__in=[first, second]).update(last_seen=hours_ago)
    third = post(service_health_alert(SUBSCRIPTIONS[2], "LONG-001"), azure)["ticket_id"]
    assert Ticket.objects.get(pk=third).incident_id == incident.pk
    assert Incident.objects.count() == 1


def test_two_azure_incidents_never_group_and_one_subscription_is_no_incident():
    """Tracking ids are one Azure incident's each: alerts of two never join, however alike
    their words and however close in time; one subscription's alert alone stays one ticket."""
    first = post(service_health_alert(SUBSCRIPTIONS[0], "AAA1-111"), "/webhooks/azure-monitor/")
    second = post(service_health_alert(SUBSCRIPTIONS[1], "BBB2-222"), "/webhooks/azure-monitor/")
    assert first["ticket_id"] != second["ticket_id"]
    assert not Incident.objects.exists()
    assert not Ticket.objects.filter(incident__isnull=False).exists()

    # The second Azure incident reaching another subscription is its own incident.
    third = post(service_health_alert(SUBSCRIPTIONS[2], "BBB2-222"), "/webhooks/azure-monitor/")
    incident = Incident.objects.get()
    assert incident.culprit == "service-health:BBB2-222"
    assert set(incident.members.values_list("pk", flat=True)) == {
        second["ticket_id"],
        third["ticket_id"],
    }
    assert Ticket.objects.get(pk=first["ticket_id"]).incident_id is None


def test_alerts_of_one_rule_join_its_open_incident_and_two_rules_never_group():
    for vm in FIVE_VMS[:2]:
        post(rule_alert(vm, alert=f"a-{vm}"), "/webhooks/azure-monitor/")
    incident = Incident.objects.get()
    joined = post(rule_alert(FIVE_VMS[2], alert="a-late"), "/webhooks/azure-monitor/")
    assert Ticket.objects.get(pk=joined["ticket_id"]).incident_id == incident.pk
    # Another rule of the same name in another resource group is another rule.
    other_id = RULE_ID.replace("rg-compute", "rg-other")
    lone = post(
        rule_alert(FIVE_VMS[3], alert="a-other", rule_id=other_id), "/webhooks/azure-monitor/"
    )
    assert Ticket.objects.get(pk=lone["ticket_id"]).incident_id is None
    incident.refresh_from_db()
    assert incident.member_count == 3


@pytest.mark.parametrize(
    ("quiet_minutes", "recovers", "joins"),
    [(20, False, True), (130, False, False), (20, True, False), (5, True, True)],
)
def test_an_alert_of_a_rule_joins_its_open_incident_after_a_quiet_spell(
    quiet_minutes, recovers, joins
):
    """A rule's incident still open takes an alert of it on another resource past
    INCIDENT_WINDOW, while its last member is within INCIDENT_OPEN_JOIN (2 hours by default)
    and no member recovered since (an alert of its resolved after the quiet spell: the next
    one is another episode), as a culprit's incident takes a straggler failure."""
    fired = timezone.now().isoformat().replace("+00:00", "Z")
    for vm in FIVE_VMS[:3]:
        post(rule_alert(vm, alert=f"a-{vm}", fired=fired), "/webhooks/azure-monitor/")
    incident = Incident.objects.get()
    quiet = timedelta(minutes=quiet_minutes)
    Incident.objects.update(last_member_at=F("last_member_at") - quiet)
    Ticket.objects.update(last_seen=F("last_seen") - quiet, timestamp=F("timestamp") - quiet)
    if recovers:
        vm = FIVE_VMS[0]
        resolved = rule_alert(vm, alert=f"a-{vm}", condition="Resolved", fired=fired)
        assert post(resolved, "/webhooks/azure-monitor/")["outcome"] == "resolved"

    late = post(rule_alert(FIVE_VMS[3], alert="a-late"), "/webhooks/azure-monitor/")

    placed = Ticket.objects.get(pk=late["ticket_id"]).incident_id
    assert placed == (incident.pk if joins else None)
    incident.refresh_from_db()
    assert incident.member_count == (4 if joins else 3)


def test_an_alert_naming_several_resources_is_not_blamed_on_the_first():
    # Two rules firing on vm-batch-01: an incident of that resource.
    post(
        rule_alert("vm-batch-01", alert="a1", rule="disk-full", rule_id=RULE_ID + "-disk"),
        "/webhooks/azure-monitor/",
    )
    post(
        rule_alert("vm-batch-01", alert="a2", rule="mem-high", rule_id=RULE_ID + "-mem"),
        "/webhooks/azure-monitor/",
    )
    incident = Incident.objects.get()
    assert incident.culprit == f"azure-resource:{vm_id('vm-batch-01')}"
    # One alert naming all five VMs is about each of them, not its first.
    several = post(rule_alert(*FIVE_VMS, alert="a-all"), "/webhooks/azure-monitor/")
    ticket = Ticket.objects.get(pk=several["ticket_id"])
    assert ticket.culprit == "" and ticket.group_key == ""
    assert ticket.incident_id is None
    assert "on 5 resources: 'vm-batch-01', 'vm-batch-02'" in ticket.error_message


def test_a_resource_of_the_rule_failing_again_joins_the_rules_open_incident():
    """vm-batch-01 fired and recovered; the rule then fires on two other VMs (an incident) and
    on vm-batch-01 again: a regression of its ticket, which joins the rule's incident rather
    than page on its own."""
    fired = timezone.now().isoformat().replace("+00:00", "Z")
    first = post(
        rule_alert("vm-batch-01", alert="a-first", fired=fired), "/webhooks/azure-monitor/"
    )
    post(
        rule_alert("vm-batch-01", alert="a-first", condition="Resolved", fired=fired),
        "/webhooks/azure-monitor/",
    )
    for vm in FIVE_VMS[1:3]:
        post(rule_alert(vm, alert=f"a-{vm}"), "/webhooks/azure-monitor/")
    incident = Incident.objects.get()
    assert incident.member_count == 2
    again = post(rule_alert("vm-batch-01", alert="a-again"), "/webhooks/azure-monitor/")
    assert again["outcome"] == "regressed" and again["ticket_id"] == first["ticket_id"]
    assert Ticket.objects.get(pk=first["ticket_id"]).incident_id == incident.pk
    incident.refresh_from_db()
    assert incident.member_count == 3


def test_two_resources_of_a_rule_each_over_firing_again_together_form_one_incident():
    """vm-batch-01 and vm-batch-02 each fired, paged and recovered on their own (no incident:
    never firing at once). The rule then fires on both together: each alert regresses its
    VM's ticket, and a regression only joined an open incident, so the two formed none and
    each reopened its own issue and alert, where two new alerts of the rule are its one
    incident, paged once. Now the second regression forms the rule's incident with the
    first, and the first's own follow-ups, held until its regression is processed, are not
    sent: the incident's page tells it."""
    first = {}
    for vm in FIVE_VMS[:2]:
        fired = timezone.now().isoformat().replace("+00:00", "Z")
        first[vm] = post(rule_alert(vm, alert=f"a-{vm}", fired=fired), "/webhooks/azure-monitor/")
        # Its page went out (the worker's fan-out, which this test runs without).
        OutboundDelivery.objects.create(
            key=f"{first[vm]['ticket_id']}:jira_create",
            ticket_id=first[vm]["ticket_id"],
            target="jira",
            action="jira_create",
            status=OutboundStatus.SUCCEEDED,
        )
        over = post(
            rule_alert(vm, alert=f"a-{vm}", condition="Resolved", fired=fired),
            "/webhooks/azure-monitor/",
        )
        assert over["outcome"] == "resolved"
    assert Incident.objects.count() == 0

    again = {
        vm: post(rule_alert(vm, alert=f"b-{vm}"), "/webhooks/azure-monitor/") for vm in FIVE_VMS[:2]
    }

    assert {vm: (answer["ticket_id"], answer["outcome"]) for vm, answer in again.items()} == {
        vm: (first[vm]["ticket_id"], "regressed") for vm in FIVE_VMS[:2]
    }
    incident = Incident.objects.get()
    assert incident.culprit == RULE_CULPRIT and incident.member_count == 2
    assert incident.status == "open"
    assert set(incident.members.values_list("pk", flat=True)) == {
        answer["ticket_id"] for answer in first.values()
    }
    # The first's reopen (held for its processing) is told by the incident's page; the
    # second, regressing into the incident, scheduled none of its own.
    reopens = OutboundDelivery.objects.filter(action="jira_sync", payload__action="regressed")
    assert list(reopens.values_list("ticket_id", "status")) == [
        (first[FIVE_VMS[0]]["ticket_id"], OutboundStatus.SKIPPED)
    ]
    assert f"failed again into incident {incident.pk}" in reopens.get().last_error


def test_two_pipelines_each_over_failing_again_on_one_culprit_form_one_incident():
    """pl_orders and pl_customers each failed on sql-prod-01 and were resolved before the
    other failed (no incident). The server goes down again and both fail: each is a
    regression of its ticket, and together they are one incident of the culprit, as two new
    failures of it are."""
    from tickets import lifecycle

    first = {}
    for pipeline in ("pl_orders", "pl_customers"):
        first[pipeline] = post(storm_failure(pipeline))["ticket_id"]
        lifecycle.resolve(first[pipeline], Actor.system("responder"))
    assert Incident.objects.count() == 0

    again = {pipeline: post(storm_failure(pipeline)) for pipeline in first}

    assert {pipeline: (a["ticket_id"], a["outcome"]) for pipeline, a in again.items()} == {
        pipeline: (ticket_id, "regressed") for pipeline, ticket_id in first.items()
    }
    incident = Incident.objects.get()
    assert incident.culprit == CULPRIT and incident.member_count == 2
    assert set(incident.members.values_list("pk", flat=True)) == set(first.values())


def test_a_rule_whose_name_holds_a_bar_is_not_grouped_with_another_rule_of_its_prefix():
    """Keys separate their parts with '|': the rule "cpu|prod" was read as "cpu" (the part of
    its key before the first '|'), and an alert of the rule "cpu|test" joined its incident."""
    prod, test = (
        RULE_ID.replace("vm-cpu-high", "cpu|prod"),
        RULE_ID.replace("vm-cpu-high", "cpu|test"),
    )
    for vm in FIVE_VMS[:2]:
        post(
            rule_alert(vm, alert=f"p-{vm}", rule="cpu|prod", rule_id=prod),
            "/webhooks/azure-monitor/",
        )
    incident = Incident.objects.get()
    assert incident.culprit == incident.group_key == f"alert-rule:{prod.lower()}"
    assert incident.culprit_words == "Azure alert rule cpu|prod"
    other = post(
        rule_alert(FIVE_VMS[2], alert="t-1", rule="cpu|test", rule_id=test),
        "/webhooks/azure-monitor/",
    )
    assert Ticket.objects.get(pk=other["ticket_id"]).incident_id is None
    # Its own rule's next alert forms an incident of that rule.
    post(
        rule_alert(FIVE_VMS[3], alert="t-2", rule="cpu|test", rule_id=test),
        "/webhooks/azure-monitor/",
    )
    assert set(Incident.objects.values_list("culprit", "member_count")) == {
        (f"alert-rule:{prod.lower()}", 2),
        (f"alert-rule:{test.lower()}", 2),
    }


def test_the_alerts_of_a_rule_are_read_through_an_index_at_100k_tickets():
    """Forming an incident of a rule reads the rule's recent alerts in none: by the prefix of
    their recovery keys, through the index of the open Azure alerts in no incident
    (`ticket_azure_ungrouped_alert`), whatever the rule's history. It filtered run keys with
    a LIKE no index here serves, read through an index of every ticket (the whole of
    `ticket_fingerprint_recent`, or every ticket of the rule's name): a rule firing for months
    (20,000 alerts, each ended by its Resolved) was thousands of rows read for each of its
    alerts, under the rule's lock."""
    from django.db import connection, transaction

    seed = Ticket.objects.get(
        pk=post(rule_alert(FIVE_VMS[0], alert="seed"), "/webhooks/azure-monitor/")["ticket_id"]
    )
    written = {
        "id",
        "run_id",
        "resolve_key",
        "fingerprint",
        "pipeline",
        "last_seen",
        "status",
        "resolved_at_source_at",
    }
    copied = [f.column for f in Ticket._meta.concrete_fields if f.column not in written]
    columns = ", ".join(f'"{column}"' for column in copied)
    rule = f"azure:{RULE_ID}|"
    with connection.cursor() as cursor:
        # 100k tickets over the last 30 days: a fifth of them the rule's own (recovered at
        # their source), the others of 500 other rules, a tenth of those still open.
        cursor.execute(
            f"INSERT INTO {Ticket._meta.db_table} (id, run_id, resolve_key, fingerprint,"
            f" pipeline, last_seen, status, resolved_at_source_at, {columns})"
            " SELECT 'BULK-' || g, key || g, key || g, md5(g::text), name, seen,"
            " CASE WHEN own OR g %% 10 <> 0 THEN 'resolved' ELSE 'open' END,"
            " CASE WHEN own THEN seen END,"
            f" {columns} FROM {Ticket._meta.db_table}, generate_series(1, 100000) AS g,"
            " LATERAL (SELECT g %% 5 = 0 AS own,"
            "  now() - (g %% 43200) * interval '1 minute' AS seen) AS kind,"
            " LATERAL (SELECT CASE WHEN own THEN %s ELSE 'azure:/rules/' || (g %% 500) || '|' END"
            "  AS key, CASE WHEN own THEN %s ELSE 'rule-' || (g %% 500) END AS name) AS named"
            " WHERE id = %s",
            [rule, seed.pipeline, seed.pk],
        )
        cursor.execute(f"ANALYZE {Ticket._meta.db_table}")
    read = incidents._same_rule(seed, timezone.now()).exclude(pk=seed.pk).only("id").order_by("pk")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = read.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "ticket_azure_ungrouped_alert" in plan, plan
    assert "resolve_key" in plan.split("Index Cond", 1)[-1], plan


def test_a_rule_incident_is_titled_with_the_rules_name_as_spelled():
    """The incident's key is the rule's id lower-cased (alerts group whatever its case): its
    title in JIRA, Slack and on the board named "vm-cpu-high" a rule called "VM-CPU-High"."""
    rule_id = RULE_ID.replace("vm-cpu-high", "VM-CPU-High")
    for vm in FIVE_VMS[:2]:
        post(
            rule_alert(vm, alert=f"c-{vm}", rule="VM-CPU-High", rule_id=rule_id),
            "/webhooks/azure-monitor/",
        )
    incident = Incident.objects.get()
    assert incident.culprit == f"alert-rule:{rule_id.lower()}"
    assert incident.culprit_words == "Azure alert rule VM-CPU-High"
    summary = incident_summary(incident, incident_page(incident))
    assert "Incident: Azure alert rule VM-CPU-High: 2 tickets" in summary, summary
    text, _blocks = slack_incident_message(incident)
    assert "Azure alert rule VM-CPU-High" in text, text
    assert "vm-cpu-high" not in summary + text


DEV_SUBSCRIPTION = "/subscriptions/44444444-4444-4444-4444-444444444444"


def rule_alert_by_name(vm: str, subscription: str, alert_id: str, rule: str = "disk-full") -> dict:
    """`rule_alert` of a body without `alertRuleID` (Microsoft Learn's samples, older action
    groups): it names its rule by name alone."""
    body = rule_alert(vm, alert=alert_id, rule=rule)
    essentials = body["data"]["essentials"]
    essentials.pop("alertRuleID")
    essentials["alertId"] = f"{subscription}/providers/Microsoft.AlertsManagement/alerts/{alert_id}"
    essentials["alertTargetIDs"] = [
        target.replace(SUBSCRIPTION, subscription) for target in essentials["alertTargetIDs"]
    ]
    return body


def test_one_rule_name_in_two_subscriptions_never_groups_when_the_body_names_no_rule_id():
    """A body without `alertRuleID` (Microsoft Learn's samples, older action groups) names its
    rule by name alone: "disk-full" deployed in the prod and the dev subscription was one rule,
    and a dev VM's alert formed one incident, paged once, with a prod VM's."""
    prod, dev = SUBSCRIPTION, DEV_SUBSCRIPTION
    alert = rule_alert_by_name

    first = post(alert("vm-prod-1", prod, "a-prod-1"), "/webhooks/azure-monitor/")
    other = post(alert("vm-dev-1", dev, "a-dev-1"), "/webhooks/azure-monitor/")
    assert Incident.objects.count() == 0
    assert Ticket.objects.get(pk=other["ticket_id"]).incident_id is None
    # The rule's own alerts, in its subscription, are one incident of it.
    post(alert("vm-prod-2", prod, "a-prod-2"), "/webhooks/azure-monitor/")
    incident = Incident.objects.get()
    assert incident.culprit_words == "Azure alert rule disk-full"
    assert set(incident.members.values_list("pk", flat=True)) >= {first["ticket_id"]}
    assert incident.member_count == 2


def test_a_rule_incident_the_release_before_keyed_by_name_alone_receives_its_rules_alerts():
    """An upgrade from 8e08079: it keyed the incident of a rule named by name alone
    `alert-rule:<name>`, the subscription left out. Its open incident kept that key, and the
    rule's next alert on another VM joined none and paged on its own (tickets/0048 keys it as
    the rule's alerts are keyed now). One whose alerts were in two subscriptions keeps its key;
    a rule named by its id, and a resolved incident, are left as they are."""
    migration = importlib.import_module(
        "tickets.migrations.0048_rule_incidents_keyed_by_subscription"
    )

    def keyed_as_before(incident: Incident, key: str) -> None:
        Incident.objects.filter(pk=incident.pk).update(group_key=key, culprit=key)

    path = "/webhooks/azure-monitor/"
    first = post(rule_alert_by_name("vm-prod-1", SUBSCRIPTION, "a-prod-1"), path)["ticket_id"]
    post(rule_alert_by_name("vm-prod-2", SUBSCRIPTION, "a-prod-2"), path)
    incident = Incident.objects.get()
    keyed_as_before(incident, "alert-rule:disk-full")
    mixed_first = post(rule_alert_by_name("vm-a", SUBSCRIPTION, "m-1", "mem-low"), path)
    post(rule_alert_by_name("vm-b", SUBSCRIPTION, "m-2", "mem-low"), path)
    mixed = Incident.objects.get(members=mixed_first["ticket_id"])
    keyed_as_before(mixed, "alert-rule:mem-low")
    dev_alert = post(rule_alert_by_name("vm-b", DEV_SUBSCRIPTION, "m-3", "mem-low"), path)
    Ticket.objects.filter(pk=dev_alert["ticket_id"]).update(incident=mixed)
    post(rule_alert("vm-x", alert="r-1"), path)
    post(rule_alert("vm-y", alert="r-2"), path)
    by_id = Incident.objects.get(group_key=RULE_CULPRIT)
    over = post(rule_alert_by_name("vm-c", SUBSCRIPTION, "o-1", "io-wait"), path)
    post(rule_alert_by_name("vm-d", SUBSCRIPTION, "o-2", "io-wait"), path)
    resolved = Incident.objects.get(members=over["ticket_id"])
    keyed_as_before(resolved, "alert-rule:io-wait")
    Incident.objects.filter(pk=resolved.pk).update(status="resolved")
    untouched = {
        row["id"]: row for row in Incident.objects.exclude(pk__in=[incident.pk, mixed.pk]).values()
    }

    migration.key_rule_incidents_by_subscription(django_apps, None)
    migration.key_rule_incidents_by_subscription(django_apps, None)  # a second run: the same

    new_key = f"alert-rule:{SUBSCRIPTION}/disk-full"
    incident.refresh_from_db()
    assert (incident.group_key, incident.culprit) == (new_key, new_key)
    assert incident.culprit_words == "Azure alert rule disk-full"
    mixed.refresh_from_db()
    assert (mixed.group_key, mixed.culprit) == ("alert-rule:mem-low", "alert-rule:mem-low")
    assert {
        row["id"]: row for row in Incident.objects.exclude(pk__in=[incident.pk, mixed.pk]).values()
    } == untouched
    assert by_id.pk in untouched and untouched[resolved.pk]["group_key"] == "alert-rule:io-wait"

    third = post(rule_alert_by_name("vm-prod-3", SUBSCRIPTION, "a-prod-3"), path)["ticket_id"]
    assert Ticket.objects.get(pk=third).incident_id == incident.pk
    assert Incident.objects.filter(culprit_detail="disk-full").count() == 1
    assert set(incident.members.values_list("pk", flat=True)) >= {first, third}


def test_prometheus_alerts_of_two_clusters_are_not_blamed_on_their_azure_monitor_workspace():
    """A Prometheus alert targets the Azure Monitor workspace its rule group queries (a store
    of metrics most clusters of a platform send to), as a log search alert targets its Log
    Analytics workspace: a pod crash looping in one cluster and a node not ready in another
    were one incident, paged once, of "Azure resource prom007"."""
    workspace = f"{SUBSCRIPTION}/resourcegroups/mon/providers/microsoft.monitor/accounts/prom007"

    def prometheus(rule: str, cluster: str, labels: dict) -> dict:
        body = copy.deepcopy(local_payload("azure/common_smart_detector.json"))
        body["data"]["essentials"].update(
            alertId=f"{SUBSCRIPTION}/providers/Microsoft.AlertsManagement/alerts/{uuid.uuid4()}",
            alertRule=rule,
            signalType="Metric",
            monitoringService="Prometheus",
            alertTargetIDs=[workspace],
            configurationItems=[cluster],
            firedDateTime=timezone.now().isoformat().replace("+00:00", "Z"),
        )
        body["data"]["alertContext"] = {
            "interval": "PT5M",
            "expression": "kube_pod_status_ready{condition='false'} > 0",
            "expressionValue": "1",
            "for": "PT5M",
            "labels": {"cluster": cluster, **labels},
            "annotations": {"summary": f"{rule} in {cluster}."},
            "ruleGroup": f"{SUBSCRIPTION}/resourceGroups/mon/providers/"
            f"Microsoft.AlertsManagement/prometheusRuleGroups/recommended-{cluster}",
        }
        return body

    crash = post(
        prometheus("Pod-level-aks-a/KubePodCrashLooping", "aks-a", {"pod": "api-7d9f"}),
        "/webhooks/azure-monitor/",
    )
    node = post(
        prometheus("Node-level-aks-b/KubeNodeNotReady", "aks-b", {"node": "aks-np1-0001"}),
        "/webhooks/azure-monitor/",
    )
    assert Incident.objects.count() == 0
    for answer in (crash, node):
        ticket = Ticket.objects.get(pk=answer["ticket_id"])
        assert ticket.culprit == "" and ticket.incident_id is None


def test_an_alert_whose_resolved_came_first_forms_no_incident_of_its_rule():
    """Azure delivered vm-batch-02's Resolved before its Fired: the Fired's ticket is over at
    once, yet it formed an incident with vm-batch-01's open alert, paged as the rule "fired on
    2 resources at once" where one alert was still firing."""
    fired = timezone.now().isoformat().replace("+00:00", "Z")
    open_one = post(rule_alert("vm-batch-01", alert="a-1", fired=fired), "/webhooks/azure-monitor/")
    post(
        rule_alert("vm-batch-02", alert="a-2", condition="Resolved", fired=fired),
        "/webhooks/azure-monitor/",
    )
    over = post(rule_alert("vm-batch-02", alert="a-2", fired=fired), "/webhooks/azure-monitor/")
    ended = Ticket.objects.get(pk=over["ticket_id"])
    assert ended.status == "resolved" and ended.resolved_at_source_at is not None
    assert Incident.objects.count() == 0
    assert Ticket.objects.get(pk=open_one["ticket_id"]).incident_id is None
    # An alert of the rule firing on another resource still forms the rule's incident with
    # the one firing.
    post(rule_alert("vm-batch-03", alert="a-3", fired=fired), "/webhooks/azure-monitor/")
    incident = Incident.objects.get()
    assert set(incident.members.values_list("pk", flat=True)) == {
        open_one["ticket_id"],
        Ticket.objects.get(run_id__endswith="/a-3").pk,
    }


def test_an_alert_whose_resolved_came_first_regressing_its_ticket_joins_no_incident():
    """vm-batch-02's ticket was resolved; its next alert's Resolved came before its Fired: the
    Fired reopened the ticket, which joined the rule's open incident (vm-batch-01 and 03),
    and was over at once, a member of an outage it was no longer part of."""
    from tickets import lifecycle
    from tickets.models import Occurrence

    fired = timezone.now().isoformat().replace("+00:00", "Z")
    earlier = post(rule_alert("vm-batch-02", alert="a-2", fired=fired), "/webhooks/azure-monitor/")
    lifecycle.resolve(earlier["ticket_id"], Actor.system("responder"))
    # Its alert fired well before this failure (not one landing with its regression).
    Occurrence.objects.filter(ticket_id=earlier["ticket_id"]).update(
        seen_at=timezone.now() - timedelta(minutes=10)
    )
    for vm, alert in (("vm-batch-01", "a-1"), ("vm-batch-03", "a-3")):
        post(rule_alert(vm, alert=alert, fired=fired), "/webhooks/azure-monitor/")
    incident = Incident.objects.get()
    post(
        rule_alert("vm-batch-02", alert="a-2b", condition="Resolved", fired=fired),
        "/webhooks/azure-monitor/",
    )

    again = post(rule_alert("vm-batch-02", alert="a-2b", fired=fired), "/webhooks/azure-monitor/")

    assert (again["ticket_id"], again["outcome"]) == (earlier["ticket_id"], "regressed")
    ended = Ticket.objects.get(pk=earlier["ticket_id"])
    assert ended.status == "resolved" and ended.resolved_at_source_at is not None
    assert ended.incident_id is None
    incident.refresh_from_db()
    assert incident.member_count == 2


def test_each_member_of_one_rules_incident_is_named_by_its_resource_wherever_it_is_listed():
    """Every member of one rule's incident read "vm-cpu-high" (its pipeline, the rule's name)
    on the board's card, the incident's page and timeline, the API's members and the
    websocket's cards: on-call could not tell which VM each was about. Each is now its rule
    on its resource, the rule first; its pipeline, fingerprint and dedup are as they were."""
    from integrations.targets.jira import jira_summary
    from integrations.targets.slack import slack_alert
    from tests.api import clear_throttles, jwt_client, make_user
    from tickets.presenters import incident_members, incident_sla_clocks, ticket_card

    fired = timezone.now().isoformat().replace("+00:00", "Z")
    vms = FIVE_VMS[:3]
    ids = {
        vm: post(rule_alert(vm, alert=f"t-{vm}", fired=fired), "/webhooks/azure-monitor/")[
            "ticket_id"
        ]
        for vm in vms
    }
    titles = {ids[vm]: f"vm-cpu-high on {vm}" for vm in vms}
    incident = Incident.objects.get()
    members = Ticket.objects.filter(pk__in=ids.values())
    assert {ticket.pipeline for ticket in members} == {"vm-cpu-high"}
    assert {ticket.pk: ticket.title for ticket in members} == titles
    # A redelivery is still a duplicate of its own ticket: the keys and fingerprint are as before.
    again = post(rule_alert(vms[0], alert=f"t-{vms[0]}", fired=fired), "/webhooks/azure-monitor/")
    assert again["ticket_id"] == ids[vms[0]] and again["outcome"] != "created"

    # The board's card and the websocket's incident card (the same presenters).
    listed = incident_members([incident.pk])[incident.pk]
    assert [(m["id"], m["title"]) for m in listed] == [(ids[vm], titles[ids[vm]]) for vm in vms]
    assert {m["pipeline"] for m in listed} == {"vm-cpu-high"}
    clock = incident_sla_clocks([incident.pk])[incident.pk]
    assert clock is not None and clock["title"] in titles.values()
    assert ticket_card(members.get(pk=ids[vms[1]]))["title"] == "vm-cpu-high on vm-batch-02"
    viewer = Client()
    viewer.force_login(make_user("viewer"))
    board = viewer.get("/").content.decode()
    for vm in vms:
        assert f'/tickets/{ids[vm]}/">vm-cpu-high on {vm}</a>' in board

    # The incident's page: its members and its timeline.
    page = viewer.get(f"/incidents/{incident.pk}/").content.decode()
    for vm in vms:
        assert re.search(rf"<td[^>]*>vm-cpu-high on {vm}</td>", page)
        assert f'vm-cpu-high on {vm} (<a href="/tickets/{ids[vm]}/">' in page

    # The API's members, and a ticket's own detail.
    clear_throttles()
    api = jwt_client(make_user("viewer"))
    answer = api.get(f"/api/v1/incidents/{incident.pk}/members/").json()
    assert {item["id"]: item["title"] for item in answer["results"]} == titles
    assert {item["pipeline"] for item in answer["results"]} == {"vm-cpu-high"}
    detail = api.get(f"/api/v1/tickets/{ids[vms[2]]}/").json()
    assert (detail["pipeline"], detail["title"]) == ("vm-cpu-high", "vm-cpu-high on vm-batch-03")

    # The ticket's own page, Slack alert and JIRA issue are headed so too.
    ticket = members.get(pk=ids[vms[2]])
    heading = viewer.get(f"/tickets/{ticket.pk}/").content.decode()
    assert '<h1 class="ticket-title">vm-cpu-high on vm-batch-03</h1>' in heading
    assert "vm-cpu-high on vm-batch-03" in slack_alert(ticket)[1][0]["text"]["text"]
    assert jira_summary(ticket).startswith("[") and "vm-cpu-high on vm-batch-03:" in (
        jira_summary(ticket)
    )

    # A member failing again names it so in the timeline ("… (id) failed again").
    post(
        rule_alert(vms[0], alert=f"t-{vms[0]}", condition="Resolved", fired=fired),
        "/webhooks/azure-monitor/",
    )
    incidents.act(incident.pk, "resolve", Actor("user", "sam"), via="api")
    resolved = IncidentEvent.objects.filter(incident=incident, kind="resolved").count()
    assert resolved == 1
    member_reopened = post(rule_alert(vms[1], alert="t-again"), "/webhooks/azure-monitor/")
    assert member_reopened["ticket_id"] == ids[vms[1]]
    why = IncidentEvent.objects.filter(incident=incident, kind="reopen").get().details["why"]
    assert why == f"vm-cpu-high on vm-batch-02 ({ids[vms[1]]}) failed again"
    page = viewer.get(f"/incidents/{incident.pk}/").content.decode()
    assert f'vm-cpu-high on vm-batch-02 (<a href="/tickets/{ids[vms[1]]}/">' in page
    assert f"({ids[vms[1]]}) failed again" not in page  # named once, not twice


def test_a_regression_forming_its_rules_incident_never_deadlocks_with_a_release_of_pages():
    """A regression forming an incident locks the other alerts of its rule, and held the
    reopened ticket first: a release of held pages (`fanout.release_regression_pages`, the
    processing of a batch or the relay's sweep), which locks both by id, held the lower one and
    waited for the regressed one while the regression waited for the lower one (a deadlock, the
    release aborted). vm-01 and vm-02 each fired and recovered alone; vm-01 fires again alone;
    two other rules on vm-02 are its VM's incident, which a responder is resolving while vm-02
    fires again: the regression waits for that, then forms the rule's incident."""
    import threading

    from django.db import connection, transaction

    from integrations import fanout

    azure = "/webhooks/azure-monitor/"
    tickets = {}
    for vm in FIVE_VMS[:2]:
        fired = timezone.now().isoformat().replace("+00:00", "Z")
        tickets[vm] = post(rule_alert(vm, alert=f"a-{vm}", fired=fired), azure)["ticket_id"]
        over = post(rule_alert(vm, alert=f"a-{vm}", condition="Resolved", fired=fired), azure)
        assert over["outcome"] == "resolved"
    lower, higher = sorted(tickets.values())
    vm_of = {ticket_id: vm for vm, ticket_id in tickets.items()}
    assert post(rule_alert(vm_of[lower], alert="b-lower"), azure)["outcome"] == "regressed"
    for rule in ("vm-disk-full", "vm-mem-high"):
        post(
            rule_alert(
                vm_of[higher], alert=rule, rule=rule, rule_id=RULE_ID.replace("vm-cpu-high", rule)
            ),
            azure,
        )
    vm_incident = Incident.objects.get()
    assert Ticket.objects.get(pk=higher).incident_id is None
    assert Ticket.objects.get(pk=lower).incident_id is None

    sessions = SessionThreads()
    pids, errors = sessions.pids, sessions.errors
    held, resolve = threading.Event(), threading.Event()
    answers: list[dict] = []

    def responder_resolving_the_vms_incident() -> None:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT 1 FROM {Incident._meta.db_table} WHERE id = %s FOR NO KEY UPDATE",
                    [vm_incident.pk],
                )
            held.set()
            assert resolve.wait(20)
            incidents.act(vm_incident.pk, "resolve", Actor.system("responder"))

    threads = [sessions.start("responder", responder_resolving_the_vms_incident)]
    assert held.wait(10)
    threads.append(
        sessions.start(
            "regression",
            lambda: answers.append(post(rule_alert(vm_of[higher], alert="b-higher"), azure)),
        )
    )
    wait_for(lambda: "regression" in pids and someone_waits_on(pids["responder"]), 10, 0.02)
    threads.append(
        sessions.start("release", lambda: fanout.release_regression_pages([lower, higher]))
    )
    wait_for(lambda: "release" in pids and someone_waits_on(pids["regression"]), 10, 0.02)
    resolve.set()
    for thread in threads:
        thread.join(30)

    assert errors == []
    [answer] = answers
    assert (answer["ticket_id"], answer["outcome"]) == (higher, "regressed")
    formed = Incident.objects.exclude(pk=vm_incident.pk).get()
    assert formed.culprit == RULE_CULPRIT
    assert set(formed.members.values_list("pk", flat=True)) == {lower, higher}


ON_PREMISES_SQL_DOWN = (
    "ErrorCode=SqlFailedToConnect,'Type=Microsoft.DataTransfer.Common.Shared."
    "HybridDeliveryException,Message=Cannot connect to SQL Server: 'onprem-sql01', Database: "
    "'ERP', User: 'adf_reader'. Check the linked service configuration is correct, and make "
    "sure the SQL Server firewall allows the integration runtime to access."
)


def test_an_on_premises_sql_server_outage_is_titled_by_that_server_not_an_azure_one():
    """ADF's SQL Server connector (a server on premises or on a VM, reached through a
    self-hosted integration runtime) names the server as its linked service does: it is no
    Azure SQL server, and the on-call must not be sent looking for one."""
    first = post(storm_failure("pl_erp_orders", message=ON_PREMISES_SQL_DOWN))["ticket_id"]
    second = post(storm_failure("pl_erp_stock", message=ON_PREMISES_SQL_DOWN))["ticket_id"]
    incident = Incident.objects.get()

    assert set(incident.members.values_list("pk", flat=True)) == {first, second}
    assert (incident.culprit, incident.culprit_detail) == ("sql-server:onprem-sql01", "erp")
    assert incident.culprit_words == "SQL server onprem-sql01"
