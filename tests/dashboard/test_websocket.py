"""The dashboard's websocket `/ws/tickets/` through the real ASGI application and Redis layer."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client
from django.utils import timezone

from integrations.ingest import ingest_delivery
from integrations.parsers.jira import parse_jira_event
from integrations.syncback import apply_jira_event
from rca_project.asgi import application
from tests.conftest import local_payload, shared_payload
from tests.dashboard import make_ticket, make_user
from tickets import incidents, lifecycle
from tickets.lifecycle import Actor
from tickets.models import AuditLog, Incident, OwnershipRule, Ticket
from tickets.timestamps import utc_text

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://127.0.0.1")


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def session_headers(role: str | None = "viewer", username: str = "watcher") -> list:
    client = Client()
    client.force_login(make_user(username, role))
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    return [ORIGIN, (b"cookie", cookie.encode())]


async def receive_for(
    communicator: WebsocketCommunicator, ticket_id: str, timeout: float = 10
) -> dict[str, Any]:
    """The next event about `ticket_id` (the layer is shared with other tests' leftovers)."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no event for {ticket_id}"
        message = await communicator.receive_json_from(timeout=remaining)
        if message.get("ticket", {}).get("id") == ticket_id:
            return message


async def receive_until(
    communicator: WebsocketCommunicator, done: Any, timeout: float = 10
) -> list[dict[str, Any]]:
    """Every message until `done(messages)` holds."""
    deadline = time.monotonic() + timeout
    messages: list[dict[str, Any]] = []
    while not done(messages):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"gave up after {messages}"
        messages.append(await communicator.receive_json_from(timeout=remaining))
    return messages


def incident_event(messages: list[dict[str, Any]], action: str) -> dict[str, Any] | None:
    return next(
        (m for m in messages if m["type"] == "incident.changed" and m["action"] == action), None
    )


def test_signed_in_viewer_gets_the_ticket_created_by_a_webhook():
    headers = session_headers()
    body = local_payload("adf_failure.json")
    body["run_id"] = f"ws-created-{time.time_ns()}"
    body["error_message"] = "<script>alert(1)</script> connection refused"

    async def scenario() -> tuple[Any, dict[str, Any]]:
        communicator = WebsocketCommunicator(application, "/ws/tickets/", headers=headers)
        connected, _ = await communicator.connect(timeout=10)
        assert connected
        try:
            # The real ingest path; its transaction commits, then the change is broadcast.
            result = await sync_to_async(ingest_delivery)("adf", json.dumps(body).encode())
            assert result.ticket_id is not None
            message = await receive_for(communicator, result.ticket_id)
        finally:
            await communicator.disconnect()
        return result, message

    result, message = async_to_sync(scenario)()

    assert result.outcome == "created"
    assert message["type"] == "ticket.changed"
    assert message["action"] == "created"
    assert message["actor"] == "adf"
    assert message["words"] == "created, reported by adf"
    card = message["ticket"]
    assert card["status"] == "open"
    assert card["pipeline"] == "pl_copy_sales_orders"
    assert card["sla_deadline"] and card["severity"] in {"Critical", "High", "Medium", "Low"}
    # Times as the API and this message's `moved` write them (they read `+00:00`).
    assert card["timestamp"].endswith("Z") and card["sla_deadline"].endswith("Z")
    # New: the board counts it in the column it entered.
    assert message["moved"] == {"from": None, "to": "open", "from_resolved_at": None}


def test_jira_resolving_reaches_the_dashboard():
    ticket = make_ticket(itsm_ticket_id="OPS-4242")
    headers = session_headers()
    payload = shared_payload("jira_issue_updated_status_todo_to_inprogress.json")
    payload["issue"]["key"] = "OPS-4242"
    payload["timestamp"] = int(time.time() * 1000)
    payload["changelog"]["id"] = str(time.time_ns())
    payload["changelog"]["items"][0].update(fromString="To Do", toString="Done")
    event = parse_jira_event(payload)

    async def scenario() -> dict[str, Any]:
        communicator = WebsocketCommunicator(application, "/ws/tickets/", headers=headers)
        connected, _ = await communicator.connect(timeout=10)
        assert connected
        try:
            outcome = await sync_to_async(apply_jira_event)(event)
            assert outcome == (ticket.pk, "status set to resolved")
            return await receive_for(communicator, ticket.pk)
        finally:
            await communicator.disconnect()

    message = async_to_sync(scenario)()

    assert (message["action"], message["actor"]) == ("resolve", "Test User")
    assert message["ticket"]["status"] == "resolved"
    assert message["ticket"]["sla_status"] == "Met"
    assert message["ticket"]["resolved_at"] is not None
    assert AuditLog.objects.get(ticket=ticket, action="resolve").actor_kind == "jira"


def test_lifecycle_changes_by_any_actor_are_pushed():
    ticket = make_ticket()
    headers = session_headers()

    async def scenario() -> list[dict[str, Any]]:
        communicator = WebsocketCommunicator(application, "/ws/tickets/", headers=headers)
        assert (await communicator.connect(timeout=10))[0]
        try:
            await sync_to_async(lifecycle.transition)(
                ticket.pk, "start_progress", Actor("jira", "jira-bot")
            )
            first = await receive_for(communicator, ticket.pk)
            await sync_to_async(lifecycle.transition)(ticket.pk, "reopen", Actor.system())
            second = await receive_for(communicator, ticket.pk)
        finally:
            await communicator.disconnect()
        return [first, second]

    first, second = async_to_sync(scenario)()

    assert (first["action"], first["actor"], first["ticket"]["status"]) == (
        "start_progress",
        "jira-bot",
        "in_progress",
    )
    assert (second["action"], second["ticket"]["status"]) == ("reopen", "open")
    # The ticket page's live banner says it as the audit trail does; this service goes unnamed.
    assert (first["words"], second["words"]) == ("jira-bot took it", "reopened")
    assert Ticket.objects.get(pk=ticket.pk).status == "open"


def test_a_change_says_which_statuses_it_moved_the_ticket_between():
    """The board counts columns it shows only part of: each event says, as of the change,
    whether the ticket moved and from where, even when the card it carries was read after a
    later change (one batch)."""
    ticket = make_ticket()
    resolved_at = timezone.now() - timedelta(days=2)
    long_resolved = make_ticket(status="resolved", sla_status="Met", resolved_at=resolved_at)
    headers = session_headers()

    async def scenario() -> list[dict[str, Any]]:
        communicator = WebsocketCommunicator(application, "/ws/tickets/", headers=headers)
        assert (await communicator.connect(timeout=10))[0]

        def changes() -> None:
            with transaction.atomic():  # one commit: the two events go in one batch
                lifecycle.transition(ticket.pk, "start_progress", Actor.system())
                lifecycle.transition(ticket.pk, "acknowledge", Actor.system())
            lifecycle.announce(ticket.pk, "recurred", Actor.source("adf"))  # not a move
            lifecycle.transition(long_resolved.pk, "reopen", Actor.system())

        try:
            await sync_to_async(changes)()
            messages = [await receive_for(communicator, ticket.pk) for _ in range(3)]
            messages.append(await receive_for(communicator, long_resolved.pk))
        finally:
            await communicator.disconnect()
        return messages

    taken, acknowledged, recurred, reopened = async_to_sync(scenario)()

    # Both cards are read when their batch reaches the consumer: most likely both acknowledged.
    assert taken["ticket"]["status"] in ("in_progress", "acknowledged")
    assert taken["moved"] == {"from": "open", "to": "in_progress", "from_resolved_at": None}
    assert acknowledged["moved"] == {
        "from": "in_progress",
        "to": "acknowledged",
        "from_resolved_at": None,
    }
    assert "moved" not in recurred
    assert reopened["moved"] == {
        "from": "resolved",
        "to": "open",
        "from_resolved_at": resolved_at.isoformat()[:-6] + "Z",
    }


@pytest.mark.parametrize("who", ["anonymous", "no role", "inactive"])
def test_socket_refuses_who_may_not_read(who):
    if who == "anonymous":
        headers = [ORIGIN]
    elif who == "no role":
        headers = session_headers(role=None, username="norole")
    else:
        headers = session_headers(username="gone")
        User.objects.filter(username="gone").update(is_active=False)

    async def scenario() -> tuple[bool, Any]:
        communicator = WebsocketCommunicator(application, "/ws/tickets/", headers=headers)
        connected, code = await communicator.connect(timeout=10)
        await communicator.disconnect()
        return connected, code

    assert async_to_sync(scenario)() == (False, 4401)


def test_socket_refuses_a_foreign_origin():
    headers = [(b"origin", b"https://evil.example.com"), session_headers()[1]]

    async def scenario() -> bool:
        communicator = WebsocketCommunicator(application, "/ws/tickets/", headers=headers)
        connected, _ = await communicator.connect(timeout=10)
        await communicator.disconnect()
        return connected

    assert not async_to_sync(scenario)()


def test_an_incident_forming_and_growing_is_pushed_with_its_card_and_members(settings):
    settings.INCIDENT_MIN_PIPELINES = 2
    headers = session_headers()
    culprit_error = (
        "ErrorCode=SqlFailedToConnect,'Type=Microsoft.DataTransfer.Common.Shared."
        "HybridDeliveryException,Message=Cannot connect to SQL Database. Please contact SQL server "
        "team for further support. Server: 'sql-ws-01', Database: 'dw', User: 'etl'."
    )

    def failure(pipeline: str) -> bytes:
        body = local_payload("adf_failure.json")
        body.update(
            pipeline=pipeline, run_id=f"ws-inc-{time.time_ns()}", error_message=culprit_error
        )
        return json.dumps(body).encode()

    async def scenario() -> tuple[list[Any], Any, Any, dict[str, Any]]:
        communicator = WebsocketCommunicator(application, "/ws/tickets/", headers=headers)
        assert (await communicator.connect(timeout=10))[0]
        try:
            ids = []
            for pipeline in ("pl_ws_a", "pl_ws_b"):
                ids.append(
                    (await sync_to_async(ingest_delivery)("adf", failure(pipeline))).ticket_id
                )
            seen = await receive_until(communicator, lambda m: incident_event(m, "formed"))
            formed = incident_event(seen, "formed")
            third = await sync_to_async(ingest_delivery)("adf", failure("pl_ws_<b>c</b>"))
            ids.append(third.ticket_id)

            def both(messages: list[dict[str, Any]]) -> bool:
                return bool(incident_event(messages, "joined")) and any(
                    m.get("ticket", {}).get("id") == third.ticket_id for m in messages
                )

            seen = await receive_until(communicator, both)
            joined = incident_event(seen, "joined")
            member = next(m for m in seen if m.get("ticket", {}).get("id") == third.ticket_id)
        finally:
            await communicator.disconnect()
        return ids, formed, joined, member

    OwnershipRule.objects.create(pipeline_pattern="pl_ws_a", finops_team="data-platform")
    OwnershipRule.objects.create(pipeline_pattern="pl_ws_b", finops_team="finance")
    ids, formed, joined, member = async_to_sync(scenario)()

    incident = formed["incident"]
    assert incident["member_count"] == 2 and incident["status"] == "open"
    assert incident["culprit"].startswith("sql-server:sql-ws-01")
    assert [m["id"] for m in incident["members"]] == ids[:2]
    assert joined["ticket_id"] == ids[2]
    assert joined["incident"]["member_count"] == 3
    assert joined["incident"]["members"][-1]["pipeline"] == "pl_ws_<b>c</b>"
    assert joined["incident"]["more_members"] == 0
    # The card names its members' teams, as the board's does (a team filter matches any of them).
    assert incident["team"] == "data-platform, finance"
    # The member's own event names its incident, so the board shows it in the incident's card.
    assert member["ticket"]["incident"] == incident["id"]


def test_a_member_reopened_on_its_own_ticket_pushes_its_incidents_recovered_count(settings):
    """Two of three members recovered; a responder reopens one on its own ticket (the API). Its
    incident counts it recovered no more: the board's card and the incident's page are told
    (they showed "2 recovered" until a reload)."""
    from tests.api import clear_throttles, jwt_client
    from tests.api import make_user as make_api_user

    settings.INCIDENT_MIN_PIPELINES = 2
    headers = session_headers()
    culprit_error = (
        "ErrorCode=SqlFailedToConnect,'Type=Microsoft.DataTransfer.Common.Shared."
        "HybridDeliveryException,Message=Cannot connect to SQL Database. Please contact SQL server "
        "team for further support. Server: 'sql-ws-02', Database: 'dw', User: 'etl'."
    )
    runs = {pipeline: f"ws-rec-{pipeline}-{time.time_ns()}" for pipeline in ("a", "b", "c")}

    def alert(pipeline: str, status: str = "Failed") -> bytes:
        body = local_payload("adf_failure.json")
        body.update(pipeline=f"pl_rec_{pipeline}", run_id=runs[pipeline], status=status)
        body["error_message"] = culprit_error if status == "Failed" else ""
        return json.dumps(body).encode()

    ids = [ingest_delivery("adf", alert(pipeline)).ticket_id for pipeline in runs]
    for pipeline in ("a", "b"):
        ingest_delivery("adf", alert(pipeline, status="Succeeded"))
    clear_throttles()
    responder = jwt_client(make_api_user("responder"))

    async def scenario() -> dict[str, Any]:
        communicator = WebsocketCommunicator(application, "/ws/tickets/", headers=headers)
        assert (await communicator.connect(timeout=10))[0]
        try:
            answer = await sync_to_async(responder.post)(f"/api/v1/tickets/{ids[0]}/reopen/")
            assert answer.status_code == 200, answer.content

            def told(messages: list[dict[str, Any]]) -> dict[str, Any] | None:
                return next(
                    (
                        m
                        for m in messages
                        # Its recovery's own event may be delivered late (live events go
                        # out in batches): the reopen's is the one looked for.
                        if m["type"] == "incident.changed"
                        and m["ticket_id"] == ids[0]
                        and m["action"] == "member_reopened"
                    ),
                    None,
                )

            seen = await receive_until(communicator, told, timeout=30)
        finally:
            await communicator.disconnect()
        event = told(seen)
        assert event is not None
        return event

    event = async_to_sync(scenario)()

    assert event["action"] == "member_reopened"
    assert event["incident"]["recovered_count"] == 1
    assert (event["incident"]["status"], event["incident"]["member_count"]) == ("open", 3)


def test_a_remediation_awaiting_approval_reads_naturally_on_the_live_banner(settings):
    """The ticket page's banner read "remediation playbook #10 remediation awaiting approval"."""
    from integrations import remediation
    from integrations.models import RemediationPolicy
    from tests.remediation.conftest import configure_remediation_targets, make_policy
    from tests.remediation.conftest import make_ticket as remediable_ticket

    RemediationPolicy.objects.all().delete()
    configure_remediation_targets(settings, "http://127.0.0.1:9")
    settings.SLACK_BOT_TOKEN = ""
    settings.JIRA_URL = ""
    make_policy(action="playbook", mode="approval", signals=[])
    ticket = remediable_ticket()
    headers = session_headers()

    async def scenario() -> tuple[Any, dict[str, Any]]:
        communicator = WebsocketCommunicator(application, "/ws/tickets/", headers=headers)
        assert (await communicator.connect(timeout=10))[0]
        try:
            pending = await sync_to_async(remediation.propose)(ticket.pk)
            return pending, await receive_for(communicator, ticket.pk)
        finally:
            await communicator.disconnect()

    pending, message = async_to_sync(scenario)()

    assert pending is not None and pending.status == "awaiting_approval"
    assert message["action"] == "remediation_awaiting_approval"
    assert message["words"] == f"remediation playbook (id {pending.pk}) awaiting approval"


def test_a_person_approving_or_declining_a_remediation_reads_naturally_on_the_live_banner(
    settings,
):
    """The banner read "ana remediation running" (the announcement's name) when ana approved,
    then "ana remediation approved"."""
    from integrations import remediation
    from integrations.models import RemediationPolicy
    from tests.remediation.conftest import configure_remediation_targets, make_policy
    from tests.remediation.conftest import make_ticket as remediable_ticket

    RemediationPolicy.objects.all().delete()
    configure_remediation_targets(settings, "http://127.0.0.1:9")
    settings.SLACK_BOT_TOKEN = ""
    settings.JIRA_URL = ""
    make_policy(action="playbook", mode="approval", signals=[])
    approved_ticket, declined_ticket = remediable_ticket(), remediable_ticket()
    ana = Actor(kind="user", name="ana")
    headers = session_headers()

    async def decided(ticket: Ticket, approved: bool) -> dict[str, Any]:
        pending = await sync_to_async(remediation.propose)(ticket.pk)
        assert pending is not None
        decide = remediation.approve if approved else remediation.decline
        communicator = WebsocketCommunicator(application, "/ws/tickets/", headers=headers)
        assert (await communicator.connect(timeout=10))[0]
        try:
            await sync_to_async(decide)(pending.pk, ana, via="dashboard")
            while True:  # the proposal's own event may still be on its way
                message = await receive_for(communicator, ticket.pk)
                if message["actor"] == "ana":
                    return message
        finally:
            await communicator.disconnect()

    approval = async_to_sync(decided)(approved_ticket, True)
    decline = async_to_sync(decided)(declined_ticket, False)

    assert approval["words"] == "ana approved the remediation"
    assert decline["words"] == "ana declined the remediation"


def test_an_incident_and_its_members_changes_carry_its_sla_clock():
    """The board's incident card shows the clock of the open member due first: the incident's
    card carries it, and so does each member's change (a member acknowledged on its own moves
    it, and no incident.changed follows)."""
    now = timezone.now()
    first_due, second_due = now + timedelta(minutes=30), now + timedelta(minutes=50)
    incident = Incident.objects.create(
        id="INC-WS-SLA", group_key="sql-server:sql-ws-sla|DatabaseError", culprit="sql-ws-sla"
    )
    first = make_ticket(incident=incident, sla_deadline=first_due)
    second = make_ticket(incident=incident, sla_deadline=second_due)
    headers = session_headers()

    async def scenario() -> list[dict[str, Any]]:
        communicator = WebsocketCommunicator(application, "/ws/tickets/", headers=headers)
        assert (await communicator.connect(timeout=10))[0]
        try:
            await sync_to_async(incidents.announce)(incident.pk, "updated", Actor.system("test"))
            updated = await receive_until(communicator, lambda m: incident_event(m, "updated"))
            await sync_to_async(lifecycle.transition)(
                first.pk, "acknowledge", Actor("user", "maria")
            )
            acknowledged = await receive_for(communicator, first.pk)
        finally:
            await communicator.disconnect()
        return [incident_event(updated, "updated") or {}, acknowledged]

    updated, acknowledged = async_to_sync(scenario)()

    clock = updated["incident"]["sla"]
    assert (clock["ticket"], clock["status"]) == (first.pk, "open")
    assert clock["sla_deadline"] == utc_text(first_due)
    assert 29 * 60 < clock["sla_remaining_seconds"] <= 30 * 60
    moved = acknowledged["incident_sla"]
    assert (moved["ticket"], moved["pipeline"]) == (second.pk, second.pipeline)
    assert moved["sla_deadline"] == utc_text(second_due)
