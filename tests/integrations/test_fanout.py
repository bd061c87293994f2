"""Fan-out and sync-back end to end: a real Celery worker, the real jira and slack-sdk clients
against local servers speaking their APIs, and Azure Blob on the real Azurite emulator."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import hmac
import html
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from asgiref.sync import async_to_sync
from azure.storage.blob import BlobServiceClient
from channels.layers import get_channel_layer
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from markdown_it import MarkdownIt
from slack_sdk.signature import SignatureVerifier

from analysis import services
from integrations import fanout, views
from integrations.circuit import CircuitBreaker
from integrations.models import (
    AttemptOutcome,
    DeliveryAttempt,
    OutboundDelivery,
    OutboundStatus,
    SlackIdentity,
    WebhookDelivery,
)
from tests.api import jwt_client
from tests.conftest import local_payload, wait_for
from tests.dashboard import make_user
from tests.fakes.azurite import Azurite
from tests.fakes.databricks_api import FakeDatabricks, job_run, task
from tests.fakes.gemini_api import GOOD_RCA, FakeGemini
from tests.fakes.jira_api import FakeJira, Transition
from tests.fakes.slack_api import FakeSlack
from tickets import incidents, jira_status, lifecycle
from tickets.broadcast import GROUP, publisher
from tickets.lifecycle import Actor
from tickets.models import (
    ActorKind,
    AuditLog,
    Incident,
    IncidentEvent,
    JiraStatusMapping,
    Occurrence,
    OwnershipRule,
    Resolution,
    Ticket,
)
from tickets.rules import clear_rule_cache

pytestmark = pytest.mark.django_db(transaction=True)

JIRA_SECRET = "jira-webhook-secret-for-tests"
SLACK_SECRET = "slack-signing-secret-for-tests"


@pytest.fixture(scope="module")
def azurite():
    with Azurite() as emulator:
        yield emulator


@pytest.fixture
def targets(settings, azurite):
    with FakeJira() as jira, FakeSlack() as slack:
        settings.JIRA_URL = jira.url
        settings.JIRA_USER = jira.user
        settings.JIRA_API_TOKEN = jira.token
        settings.JIRA_DEFAULT_PROJECT = "OPS"
        settings.JIRA_WEBHOOK_SECRET = JIRA_SECRET
        settings.SLACK_BOT_TOKEN = slack.token
        settings.SLACK_BASE_URL = slack.base_url
        settings.SLACK_SIGNING_SECRET = SLACK_SECRET
        settings.SLACK_DEFAULT_CHANNEL = "#data-platform-alerts"
        settings.AZURE_STORAGE_CONNECTION_STRING = azurite.connection_string
        settings.AZURE_STORAGE_CONTAINER = f"evidence-{uuid.uuid4().hex[:8]}"
        settings.OUTBOUND_TIMEOUT_SECONDS = 2
        settings.OUTBOUND_BACKOFF_SECONDS = 0.05
        settings.OUTBOUND_BACKOFF_MAX_SECONDS = 0.4
        settings.CIRCUIT_FAILURE_THRESHOLD = 100
        settings.GEMINI_API_KEY = ""
        for target in ("jira", "slack", "blob"):
            CircuitBreaker(target).reset()
        yield jira, slack, azurite


def post_failure(body: dict | None = None) -> dict:
    return post_failure_to("/webhooks/adf/", body or local_payload("adf_failure.json"))


def post_failure_to(path: str, body: dict) -> dict:
    from django.conf import settings

    response = Client().post(
        path,
        data=json.dumps(body),
        content_type="application/json",
        HTTP_X_WEBHOOK_TOKEN=settings.WEBHOOK_TOKEN,
    )
    assert response.status_code == 202, response.content
    return response.json()


def fanned_out(ticket_id: str) -> Ticket:
    def done():
        rows = OutboundDelivery.objects.filter(ticket_id=ticket_id)
        finished = rows.exclude(status=OutboundStatus.PENDING)
        return rows.count() >= 3 and finished.count() == rows.count()

    try:
        # Finished, and still so half a second on: a change's follow-ups (the Slack edit that
        # links the JIRA issue) are scheduled just after the delivery that caused them commits.
        seen = -1
        while seen != OutboundDelivery.objects.filter(ticket_id=ticket_id).count():
            wait_for(done, timeout=30)
            seen = OutboundDelivery.objects.filter(ticket_id=ticket_id).count()
            time.sleep(0.5)
            wait_for(done, timeout=30)
    except AssertionError:
        rows = OutboundDelivery.objects.filter(ticket_id=ticket_id)
        state = [(r.action, r.status, r.attempts, r.last_error) for r in rows]
        tries = list(
            DeliveryAttempt.objects.filter(outbound__in=rows).values_list("outcome", "error")
        )
        raise AssertionError(f"fan-out did not finish: {state} {tries}") from None
    return Ticket.objects.get(pk=ticket_id)


def settled(ticket_id: str) -> None:
    """Every delivery of the ticket finished (the follow-ups included: still none pending half
    a second on, as in `fanned_out`)."""

    def idle() -> bool:
        pending = OutboundDelivery.objects.filter(
            ticket_id=ticket_id, status=OutboundStatus.PENDING
        )
        return not pending.exists()

    wait_for(idle, timeout=30)
    time.sleep(0.5)
    wait_for(idle, timeout=30)


MARIA = {"accountId": "5c5f-maria", "displayName": "Maria Lopez", "name": "maria"}


def jira_webhook(
    issue_key: str,
    from_status: str,
    to_status: str,
    *,
    changelog_id: str = "",
    user: dict | None = None,
) -> dict:
    """An issue_updated webhook for a status change, by Maria unless `user` says (the fake
    JIRA's `myself()` for one the service made)."""
    return {
        "timestamp": int(time.time() * 1000),
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "user": user or MARIA,
        "issue": {"id": "10040", "key": issue_key, "fields": {"status": {"name": to_status}}},
        "changelog": {
            "id": changelog_id or uuid.uuid4().hex[:8],
            "items": [{"field": "status", "fromString": from_status, "toString": to_status}],
        },
    }


def post_jira(body: dict, *, secret: str = JIRA_SECRET):
    raw = json.dumps(body).encode()
    signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return Client().post(
        "/webhooks/jira/", data=raw, content_type="application/json", HTTP_X_HUB_SIGNATURE=signature
    )


SLACK_USER_ID = "UQEUMSA0K"


def slack_responder(username: str) -> User:
    """A responder the Slack user `SLACK_USER_ID` acts for (a SlackIdentity, kept in admin)."""
    user = make_user(username, "responder")
    SlackIdentity.objects.create(slack_user_id=SLACK_USER_ID, user=user)
    return user


def post_slack_click(
    ticket_id: str,
    action_id: str,
    *,
    username: str = "daan",
    age: int = 0,
    typed: str | None = None,
    bom: str = "",
    in_the_box: str | None = None,
    timestamp: str | None = None,
):
    action = {
        "action_id": action_id,
        "block_id": f"rca:{ticket_id}",
        "value": ticket_id,
        "type": "button",
        "action_ts": f"{time.time():.6f}",
    }
    if typed is not None:  # Enter pressed in the alert's "what fixed it" box
        action.update(type="plain_text_input", block_id=f"rca_fix:{ticket_id}", value=typed)
    payload = {
        "type": "block_actions",
        "user": {"id": SLACK_USER_ID, "username": username, "name": username},
        "container": {"type": "message", "message_ts": "1.0", "channel_id": "C0ALERTS001"},
        "actions": [action],
    }
    if in_the_box is not None:  # a button clicked with text in the "what fixed it" box
        box = {"type": "plain_text_input", "value": in_the_box}
        payload["state"] = {"values": {f"rca_fix:{ticket_id}": {"rca_resolve_with_fix": box}}}
    body = urlencode({"payload": json.dumps(payload)})
    if bom == "before the body":
        body = "\ufeff" + body
    elif bom == "before the JSON":
        body = urlencode({"payload": "\ufeff" + json.dumps(payload)})
    timestamp = timestamp or str(int(time.time()) - age)
    signature = SignatureVerifier(SLACK_SECRET).generate_signature(timestamp=timestamp, body=body)
    return Client().post(
        "/webhooks/slack/actions/",
        data=body,
        content_type="application/x-www-form-urlencoded",
        HTTP_X_SLACK_REQUEST_TIMESTAMP=timestamp,
        HTTP_X_SLACK_SIGNATURE=signature,
    )


def test_a_failure_becomes_a_jira_issue_a_slack_alert_and_evidence(celery_worker, targets):
    jira, slack, azurite = targets
    answer = post_failure()

    ticket = fanned_out(answer["ticket_id"])

    assert ticket.itsm_ticket_id == "OPS-1"
    issue = jira.issues["OPS-1"]
    assert f"rca-{ticket.pk}" in issue["labels"]
    assert ticket.pk in issue["summary"] and ticket.rca_result[:40] in issue["description"]
    assert ticket.slack_channel == "C0ALERTS001" and ticket.slack_ts
    message = slack.messages[(ticket.slack_channel, ticket.slack_ts)]
    actions = next(b for b in message["blocks"] if b["type"] == "actions")
    assert {e["action_id"] for e in actions["elements"]} == {
        "rca_acknowledge",
        "rca_take",
        "rca_resolve",
    }
    assert "OPS-1" in json.dumps(message["blocks"])  # the follow-up added the JIRA link
    container = BlobServiceClient.from_connection_string(azurite.connection_string)
    blobs = container.get_container_client(ticket_container()).list_blobs(
        name_starts_with=f"{ticket.pk}/"
    )
    names = {b.name.removeprefix(f"{ticket.pk}/") for b in blobs}
    assert names == {
        "rca.json",
        "rca.md",
        f"payloads/{answer['tracking_id']}.json",
        f"events/{answer['tracking_id']}.json",
    }
    assert ticket.blob_log_url.endswith(f"/{ticket.pk}/")
    assert DeliveryAttempt.objects.filter(outcome=AttemptOutcome.SUCCEEDED).count() >= 3


FRESH_RCA = "A fresher look: the SQL firewall rule for the integration runtime expired."


def analysed_again_by_gemini(ticket_id: str, settings) -> str:
    """A fresh RCA asked for, which Gemini answers with `FRESH_RCA`; returns it."""
    with FakeGemini() as gemini:
        settings.GEMINI_API_KEY, settings.GEMINI_BASE_URL = "test-key-not-a-secret", gemini.url
        settings.EMBEDDING_BACKEND = "local"
        gemini.rca_answer = {**GOOD_RCA, "root_cause": FRESH_RCA}
        services.analyse_ticket(ticket_id, force=True, reason="re-run requested")
    return FRESH_RCA


def test_issues_are_made_of_the_issue_type_configured(celery_worker, targets, settings):
    """A Jira Service Management project has no Task: JIRA refused every issue (a 400, a dead
    letter). JIRA_ISSUE_TYPE names the type its issues are made of."""
    jira, _, _ = targets
    jira.issue_types = ("Incident", "Service Request")
    settings.JIRA_ISSUE_TYPE = "Incident"

    ticket = fanned_out(post_failure()["ticket_id"])

    dead = OutboundDelivery.objects.filter(ticket=ticket, status=OutboundStatus.DEAD)
    assert [(row.action, row.last_error) for row in dead] == []
    assert jira.issues[ticket.itsm_ticket_id]["issuetype"] == "Incident"


TEAM = "customfield_10010"


def test_a_project_requiring_a_field_refuses_the_issue_naming_the_field_in_the_dead_letter(
    celery_worker, targets
):
    """A project whose create screen requires Team refuses an issue without it: the dead letter
    says which field, so whoever reads it knows what JIRA_ISSUE_FIELDS must give."""
    jira, _, _ = targets
    jira.required_fields = {"OPS": {TEAM: "Team"}}

    ticket = fanned_out(post_failure()["ticket_id"])

    create = OutboundDelivery.objects.get(ticket=ticket, action="jira_create")
    assert create.status == OutboundStatus.DEAD
    assert "(400)" in create.last_error and "Team is required." in create.last_error
    assert (ticket.itsm_ticket_id, jira.issues) == ("", {})


def test_issues_carry_the_fields_jira_issue_fields_gives_their_project(
    celery_worker, targets, settings
):
    """JIRA_ISSUE_FIELDS gives the fields a project requires (Team, Component/s): its "*" entry
    for every project, the project's own entry over it."""
    jira, _, _ = targets
    jira.required_fields = {"OPS": {TEAM: "Team", "components": "Component/s"}}
    settings.JIRA_ISSUE_FIELDS = {
        "*": {TEAM: {"id": "1"}, "components": [{"name": "data-platform"}]},
        "OPS": {TEAM: {"id": "42"}},
        "DATA": {"customfield_20000": "not for OPS"},
    }

    ticket = fanned_out(post_failure()["ticket_id"])

    dead = OutboundDelivery.objects.filter(ticket=ticket, status=OutboundStatus.DEAD)
    assert [(row.action, row.last_error) for row in dead] == []
    issue = jira.issues[ticket.itsm_ticket_id]
    assert issue["other_fields"] == {TEAM: {"id": "42"}, "components": [{"name": "data-platform"}]}
    assert (issue["project"], issue["issuetype"]) == ("OPS", "Task")


def test_a_fresh_rca_reaches_the_jira_issue_as_it_reaches_the_slack_alert(
    celery_worker, targets, settings
):
    """Analysed again (a fresh RCA asked for, its error fetched at last), the ticket's issue
    tells the RCA the API, the dashboard and the Slack alert tell (it used to keep the first)."""
    jira, slack, _ = targets
    ticket = fanned_out(post_failure()["ticket_id"])
    fresh = analysed_again_by_gemini(ticket.pk, settings)
    settled(ticket.pk)

    ticket.refresh_from_db()
    assert (ticket.rca_result, ticket.rca_source) == (fresh, "gemini")
    issue = jira.issues[ticket.itsm_ticket_id]
    assert fresh in issue["description"] and "Root cause (Gemini)" in issue["description"]
    assert not issue["comments"]  # the description changed: nothing to comment
    blocks = json.dumps(slack.messages[(ticket.slack_channel, ticket.slack_ts)]["blocks"])
    assert fresh in blocks and '"Root cause (Gemini)"' in blocks


def test_a_fresh_rca_made_before_the_issue_exists_is_not_written_twice(
    celery_worker, targets, settings
):
    """Analysed again while its issue's create was still being retried, the ticket's issue is
    created telling the fresh RCA: the re-analysis's rewrite of it sends nothing more."""
    jira, _, _ = targets
    settings.OUTBOUND_MAX_ATTEMPTS = 100
    jira.fail(503, times=None, path_contains="/rest/api/2/issue")
    ticket_id = post_failure()["ticket_id"]
    creates = OutboundDelivery.objects.filter(ticket_id=ticket_id, action="jira_create")
    wait_for(lambda: creates.filter(attempts__gte=1).exists(), timeout=30)
    fresh = analysed_again_by_gemini(ticket_id, settings)
    # An attempt in flight as the analysis committed may have read the earlier RCA: JIRA
    # recovers only once a whole attempt has run after it (it reads the fresh one).
    after = creates.get().attempts
    wait_for(lambda: creates.get().attempts >= after + 2, timeout=30)
    jira.clear_faults()
    settled(ticket_id)

    ticket = Ticket.objects.get(pk=ticket_id)
    assert fresh in jira.issues[ticket.itsm_ticket_id]["description"]
    syncs = OutboundDelivery.objects.filter(ticket_id=ticket_id, action="jira_sync")
    assert [row.status for row in syncs] == [OutboundStatus.SUCCEEDED]
    assert not jira.issue_requests("PUT")  # the create told it: no rewrite


def test_a_fresh_rca_rewrites_the_kept_evidence(celery_worker, targets, settings):
    """Analysed again after its evidence was kept, the ticket's `rca.json` and `rca.md` tell
    the new RCA (they kept the first one, as the JIRA issue did)."""
    _, _, azurite = targets
    ticket = fanned_out(post_failure()["ticket_id"])
    settled(ticket.pk)
    assert ticket.blob_log_url
    fresh = analysed_again_by_gemini(ticket.pk, settings)
    settled(ticket.pk)

    container = BlobServiceClient.from_connection_string(
        azurite.connection_string
    ).get_container_client(ticket_container())
    report = json.loads(container.download_blob(f"{ticket.pk}/rca.json").readall())
    assert (report["root_cause"], report["rca_source"]) == (fresh, "gemini")
    markdown = container.download_blob(f"{ticket.pk}/rca.md").readall().decode()
    assert "A fresher look" in markdown and "RCA by gemini" in markdown
    rewrite = OutboundDelivery.objects.get(ticket=ticket, action="blob_rca_rewrite")
    assert rewrite.status == OutboundStatus.SUCCEEDED


def ticket_container() -> str:
    from django.conf import settings

    return settings.AZURE_STORAGE_CONTAINER


def test_jira_done_resolves_with_its_comment_as_the_fix_and_the_slack_alert_follows(
    celery_worker, targets
):
    jira, slack, _ = targets
    ticket = fanned_out(post_failure()["ticket_id"])
    settled(ticket.pk)
    webhook = jira_webhook(ticket.itsm_ticket_id, "To Do", "Done", changelog_id="900")
    # JIRA sends the comment of a transition screen in the same issue_updated event.
    webhook["comment"] = {
        "id": "901",
        "body": "Rotated the SQL login password in Key Vault",
        "author": {"displayName": "Maria Lopez", "accountId": "5c5f-maria"},
    }

    first = post_jira(webhook)
    replay = post_jira(webhook)

    assert first.status_code == 200 and first.json()["result"] == "status set to resolved"
    assert replay.json()["result"] == "replay ignored"
    ticket.refresh_from_db()
    assert (ticket.status, ticket.resolved_by) == ("resolved", "Maria Lopez")
    assert ticket.resolve_seconds is not None and ticket.sla_status == "Met"
    assert AuditLog.objects.filter(ticket=ticket, action="resolve", actor_kind="jira").count() == 1
    fix = Resolution.objects.get(ticket=ticket)
    assert (fix.fix, fix.resolved_by, fix.actor_kind) == (
        "Rotated the SQL login password in Key Vault",
        "Maria Lopez",
        "jira",
    )
    settled(ticket.pk)
    message = slack.messages[(ticket.slack_channel, ticket.slack_ts)]
    assert "Resolved by Maria Lopez" in json.dumps(message["blocks"])
    assert not [b for b in message["blocks"] if b["type"] == "actions"]  # buttons gone
    assert "resolve" in slack.thread(ticket.slack_channel, ticket.slack_ts)[-1]["text"]
    # The change came from JIRA: nothing is sent back to JIRA.
    assert not OutboundDelivery.objects.filter(ticket=ticket, action="jira_sync").exists()
    assert jira.issues[ticket.itsm_ticket_id]["comments"] == []


def jira_move_webhook(old_key: str, new_key: str) -> dict:
    """What JIRA sends when Maria moves an issue to another project: `issue_moved`, the
    issue under its new key, the changelog naming the project and the key before and after."""
    return {
        "timestamp": int(time.time() * 1000),
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_moved",
        "user": MARIA,
        "issue": {"id": "10040", "key": new_key, "fields": {"status": {"name": "To Do"}}},
        "changelog": {
            "id": uuid.uuid4().hex[:8],
            "items": [
                {
                    "field": "project",
                    "fieldtype": "jira",
                    "fieldId": "project",
                    "from": "10000",
                    "fromString": "Operations",
                    "to": "10001",
                    "toString": "Data Platform",
                },
                {
                    "field": "Key",
                    "fieldtype": "jira",
                    "from": None,
                    "fromString": old_key,
                    "to": None,
                    "toString": new_key,
                },
            ],
        },
    }


def test_an_issue_moved_to_another_project_stays_linked_under_its_new_key(celery_worker, targets):
    """Moved to the owning team's project, the issue gets a new key, and JIRA's webhooks name
    that key alone: the ticket follows the move, so a resolve made there still reaches it."""
    jira, slack, _ = targets
    ticket = fanned_out(post_failure()["ticket_id"])
    settled(ticket.pk)
    new_key = jira.move_issue(ticket.itsm_ticket_id, "DATA")

    move = jira_move_webhook(ticket.itsm_ticket_id, new_key)
    moved = post_jira(move)
    replayed = post_jira(move)
    jira.issues[new_key]["status"] = "Done"  # Maria resolves it there
    resolved = post_jira(jira_webhook(new_key, "To Do", "Done"))

    assert moved.status_code == 200, moved.content
    assert moved.json() == {
        "ticket_id": ticket.pk,
        "result": f"linked to {new_key}, the key it was moved to from OPS-1; nothing to apply",
    }
    assert resolved.json() == {"ticket_id": ticket.pk, "result": "status set to resolved"}
    ticket.refresh_from_db()
    assert (ticket.itsm_ticket_id, ticket.status, ticket.resolved_by) == (
        new_key,
        "resolved",
        "Maria Lopez",
    )
    entry = AuditLog.objects.get(ticket=ticket, action="jira issue moved")
    assert (entry.actor_kind, entry.before, entry.after) == (
        "jira",
        {"itsm_ticket_id": "OPS-1"},
        {"itsm_ticket_id": new_key},
    )
    assert replayed.json() == {"ticket_id": ticket.pk, "result": "replay ignored"}
    # The Slack alert links the new key; a change made here moves the issue by its new key.
    settled(ticket.pk)
    message = json.dumps(slack.messages[(ticket.slack_channel, ticket.slack_ts)]["blocks"])
    assert f"/browse/{new_key}" in message and "/browse/OPS-1" not in message
    lifecycle.reopen(ticket.pk, Actor.for_user(make_user("ana", "responder"), "dashboard"))
    settled(ticket.pk)
    assert jira.issues[new_key]["status"] == "To Do"
    assert {r.path for r in jira.issue_requests("POST")} >= {
        f"/rest/api/2/issue/{new_key}/transitions",
        f"/rest/api/2/issue/{new_key}/comment",
    }


def test_an_incidents_issue_moved_to_another_project_stays_linked_under_its_new_key(
    transactional_db, targets
):
    lead = Ticket.objects.create(
        id="ADF-20251210T123456-abc123", pipeline="pl", run_id="adf:x", source="adf"
    )
    incident = Incident.objects.create(
        id="INC-20251210T123456-abc123",
        culprit="sql-server:x",
        lead_ticket=lead,
        itsm_ticket_id="OPS-9",
    )
    Ticket.objects.filter(pk=lead.pk).update(incident=incident)

    moved = post_jira(jira_move_webhook("OPS-9", "DATA-4"))
    taken = post_jira(jira_webhook("DATA-4", "To Do", "In Progress"))

    assert moved.json()["result"] == (
        f"incident {incident.pk} linked to DATA-4, the key it was moved to from OPS-9; "
        "nothing to apply"
    )
    assert taken.json()["result"] == f"incident {incident.pk} status set to in_progress"
    incident.refresh_from_db()
    assert (incident.itsm_ticket_id, incident.status) == ("DATA-4", "in_progress")
    event = IncidentEvent.objects.get(incident=incident, kind="jira_moved")
    assert (event.actor_name, event.details) == ("Maria Lopez", {"from": "OPS-9", "key": "DATA-4"})


def jira_delete_webhook(key: str) -> dict:
    """What JIRA sends when Maria deletes an issue."""
    return {
        "timestamp": int(time.time() * 1000),
        "webhookEvent": "jira:issue_deleted",
        "user": MARIA,
        "issue": {"id": "10040", "key": key, "fields": {"status": {"name": "To Do"}}},
    }


def test_an_issue_deleted_in_jira_is_unlinked_and_later_changes_skip_jira(celery_worker, targets):
    """Deleted in JIRA, the issue was still the ticket's: every later change failed against
    it (a dead letter "Issue Does Not Exist" each time) and the alert linked a dead issue."""
    jira, slack, _ = targets
    slack_responder("daan")
    ticket = fanned_out(post_failure()["ticket_id"])
    settled(ticket.pk)
    del jira.issues["OPS-1"]  # Maria deletes it

    deleted = post_jira(jira_delete_webhook("OPS-1"))
    replayed = post_jira(jira_delete_webhook("OPS-1"))
    post_slack_click(ticket.pk, "rca_resolve", in_the_box="restarted the gateway")

    assert deleted.json() == {
        "ticket_id": ticket.pk,
        "result": "unlinked: JIRA issue OPS-1 was deleted in JIRA; changes here are not sent to it",
    }
    assert replayed.json()["result"] == "ignored: no ticket is linked to JIRA issue OPS-1"
    entry = AuditLog.objects.get(ticket=ticket, action="jira issue deleted")
    assert (entry.actor_name, entry.before, entry.after) == (
        "Maria Lopez",
        {"itsm_ticket_id": "OPS-1"},
        {"itsm_ticket_id": ""},
    )
    settled(ticket.pk)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.itsm_ticket_id) == ("resolved", "")
    synced = OutboundDelivery.objects.get(ticket=ticket, action="jira_sync")
    assert (synced.status, synced.last_error) == (
        OutboundStatus.SKIPPED,
        "not sent: its JIRA issue OPS-1 was deleted in JIRA",
    )
    assert not OutboundDelivery.objects.filter(status=OutboundStatus.DEAD).exists()
    assert jira.issues == {}  # none made again
    message = slack.messages[(ticket.slack_channel, ticket.slack_ts)]
    assert "/browse/OPS-1" not in json.dumps(message["blocks"])
    assert "Resolved by daan" in json.dumps(message["blocks"])


def test_an_incidents_issue_deleted_in_jira_is_unlinked_and_its_comments_skip_jira(
    celery_worker, targets
):
    lead = Ticket.objects.create(
        id="ADF-20251210T123456-abc123", pipeline="pl", run_id="adf:x", source="adf"
    )
    incident = Incident.objects.create(
        id="INC-20251210T123456-abc123",
        culprit="sql-server:x",
        lead_ticket=lead,
        itsm_ticket_id="OPS-9",
    )
    Ticket.objects.filter(pk=lead.pk).update(incident=incident)

    deleted = post_jira(jira_delete_webhook("OPS-9"))
    incidents.act(incident.pk, "acknowledge", Actor.for_user(make_user("ana", "responder")))

    assert deleted.json() == {
        "ticket_id": lead.pk,
        "result": f"incident {incident.pk} unlinked: JIRA issue OPS-9 was deleted in JIRA; "
        "changes here are not sent to it",
    }
    incident.refresh_from_db()
    assert incident.itsm_ticket_id == ""
    event = IncidentEvent.objects.get(incident=incident, kind="jira_deleted")
    assert (event.actor_name, event.details) == ("Maria Lopez", {"issue": "OPS-9"})
    comment = wait_for(
        lambda: OutboundDelivery.objects.filter(
            action="jira_inc_comment", status=OutboundStatus.SKIPPED
        ).first()
    )
    assert comment.last_error == "not sent: its JIRA issue OPS-9 was deleted in JIRA"


def test_an_issue_labelled_for_a_ticket_whose_issue_was_deleted_does_not_move_it(
    celery_worker, targets
):
    """A clone of the deleted issue (JIRA copies its labels), or any issue someone labels
    `rca-<ticket id>`, was taken for the ticket's issue once the deleted one was unlinked: its
    status changes resolved the ticket, though nothing here is sent to it. The label stands for
    an issue whose key was not saved yet, never for one deleted."""
    jira, _, _ = targets
    ticket = fanned_out(post_failure()["ticket_id"])
    settled(ticket.pk)
    del jira.issues["OPS-1"]  # Maria clones it into OPS-2, then deletes it
    assert post_jira(jira_delete_webhook("OPS-1")).json()["ticket_id"] == ticket.pk

    clone = jira_webhook("OPS-2", "To Do", "Done")
    clone["issue"]["fields"]["labels"] = [f"rca-{ticket.pk}", "rca-service"]
    answer = post_jira(clone)

    assert answer.json() == {
        "ticket_id": None,
        "result": "ignored: no ticket is linked to JIRA issue OPS-2",
    }
    ticket.refresh_from_db()
    assert (ticket.status, ticket.itsm_ticket_id) == ("open", "")


def test_a_member_whose_issue_was_deleted_in_jira_makes_none_again_when_detached(
    celery_worker, targets
):
    """Its own issue deleted in JIRA (the incident's issue covers it), the member detached from
    its incident paged on its own again: a new issue was made for it, against what was said
    when it was unlinked."""
    jira, _, _ = targets
    ticket = fanned_out(post_failure()["ticket_id"])
    settled(ticket.pk)
    lead = Ticket.objects.create(
        id="ADF-20251210T123456-abc123", pipeline="pl", run_id="adf:x", source="adf"
    )
    incident = Incident.objects.create(
        id="INC-20251210T123456-abc123", culprit="sql-server:x", lead_ticket=lead, member_count=2
    )
    Ticket.objects.filter(pk__in=[lead.pk, ticket.pk]).update(incident=incident)
    del jira.issues["OPS-1"]
    assert post_jira(jira_delete_webhook("OPS-1")).json()["ticket_id"] == ticket.pk

    incidents.detach(incident.pk, ticket.pk, Actor.system("test"))
    detached = wait_for(
        lambda: (
            OutboundDelivery.objects.filter(
                ticket=ticket, action="jira_create", key__endswith=":detached"
            )
            .exclude(status=OutboundStatus.PENDING)
            .first()
        )
    )
    settled(ticket.pk)

    assert jira.issues == {}  # none made again
    assert (detached.status, detached.last_error) == (
        OutboundStatus.SKIPPED,
        "not sent: its JIRA issue OPS-1 was deleted in JIRA",
    )
    ticket.refresh_from_db()
    assert ticket.itsm_ticket_id == ""


def test_a_slack_click_acknowledges_and_transitions_jira_without_echo(celery_worker, targets):
    jira, slack, _ = targets
    slack_responder("daan")
    slack.add_user(SLACK_USER_ID, name="daan")
    ticket = fanned_out(post_failure()["ticket_id"])
    settled(ticket.pk)

    response = post_slack_click(ticket.pk, "rca_acknowledge")

    assert response.status_code == 200
    ticket.refresh_from_db()
    assert ticket.status == "acknowledged"
    assert AuditLog.objects.get(ticket=ticket, action="acknowledge").actor_kind == "slack"
    settled(ticket.pk)
    issue = jira.issues[ticket.itsm_ticket_id]
    # Acknowledged has no JIRA status of its own: someone owns it, so In Progress.
    assert issue["status"] == "In Progress"
    assert (
        "daan acknowledged the ticket via Slack in the RCA service."
        in (issue["comments"][-1]["body"])
    )
    # JIRA tells us about the transition we made: it changes nothing and audits nothing.
    echo = post_jira(
        jira_webhook(ticket.itsm_ticket_id, "To Do", "In Progress", user=jira.myself())
    )
    assert echo.json()["result"] == "our own change ignored"
    assert AuditLog.objects.filter(ticket=ticket, action="acknowledge").count() == 1
    # The click's and JIRA's dedup keys are kept as occurrences of the ticket; its API detail
    # lists the deliveries of its failure alone.
    assert Occurrence.objects.filter(ticket=ticket, outcome__in=("slack", "jira")).count() == 2
    viewer = make_user("vera", "viewer")
    detail = jwt_client(viewer).get(f"/api/v1/tickets/{ticket.pk}/").json()
    assert [o["outcome"] for o in detail["recent_occurrences"]] == ["created"]
    # A second click (a double click) changes nothing, and the clicker is told why: it was
    # acknowledged already, by whom and when (not "Nothing was changed" alone, which reads as
    # if the first click had failed).
    assert "no change" in post_slack_click(ticket.pk, "rca_acknowledge").json()["result"][0]
    told = (
        "Nothing was changed: cannot acknowledge a ticket that is acknowledged "
        "(acknowledged by daan via Slack just now)."
    )
    wait_for(lambda: [note["text"] for note in slack.ephemeral] == [told])
    assert slack.ephemeral[0]["user"] == SLACK_USER_ID


def test_a_click_on_a_ticket_someone_changed_elsewhere_says_who_and_when(celery_worker, targets):
    """The alert open in Slack while ana took the ticket on the dashboard two minutes ago:
    daan's Acknowledge is refused naming who changed it last, and when."""
    _, slack, _ = targets
    slack_responder("daan")
    slack.add_user(SLACK_USER_ID, name="daan")
    ticket = fanned_out(post_failure()["ticket_id"])
    lifecycle.start_progress(ticket.pk, Actor.for_user(make_user("ana", "responder"), "dashboard"))
    lifecycle.resolve(ticket.pk, Actor(ActorKind.JIRA, "Maria Lopez"))
    AuditLog.objects.filter(ticket=ticket, action="resolve").update(
        created_at=timezone.now() - timedelta(minutes=2, seconds=5)
    )

    post_slack_click(ticket.pk, "rca_acknowledge")

    told = (
        "Nothing was changed: cannot acknowledge a ticket that is resolved "
        "(resolved by Maria Lopez in JIRA 2 minutes ago)."
    )
    wait_for(lambda: [note["text"] for note in slack.ephemeral] == [told])


def test_a_pipeline_name_over_lines_makes_a_jira_issue_of_one_line(celery_worker, targets):
    """JIRA refuses a summary holding a line break (a 400, so the issue was never made and
    the delivery was a dead letter): the sender's name is given on one line."""
    jira, _, _ = targets
    body = local_payload("adf_failure.json")
    body["pipeline"] = "pl_orders\r\nnightly\tload"

    ticket = fanned_out(post_failure(body)["ticket_id"])

    assert ticket.pipeline == "pl_orders\r\nnightly\tload"  # kept as the sender named it
    assert ticket.itsm_ticket_id, OutboundDelivery.objects.filter(ticket=ticket).values_list(
        "action", "status", "last_error"
    )
    summary = jira.issues[ticket.itsm_ticket_id]["summary"]
    assert summary.startswith(f"[{ticket.severity}] pl_orders nightly load: ")


def test_a_jira_display_name_is_quoted_in_a_refused_clicks_answer_as_text(celery_worker, targets):
    """A JIRA user names themselves: a display name written as mrkdwn (a link under words of
    its own, a channel mention) resolves the ticket in JIRA, and the answer to a click
    refused after it quotes the name as text, never as a link in the bot's own message."""
    _, slack, _ = targets
    slack_responder("daan")
    slack.add_user(SLACK_USER_ID, name="daan")
    ticket = fanned_out(post_failure()["ticket_id"])
    settled(ticket.pk)
    phisher = {**MARIA, "displayName": "<https://evil.example/sso|IT: sign in again> <!here>"}

    synced = post_jira(jira_webhook(ticket.itsm_ticket_id, "To Do", "Done", user=phisher))
    assert synced.status_code == 200, synced.content
    ticket.refresh_from_db()
    assert ticket.status == "resolved"
    post_slack_click(ticket.pk, "rca_acknowledge")

    told = (
        "Nothing was changed: cannot acknowledge a ticket that is resolved (resolved by "
        "&lt;https://evil.example/sso|IT: sign in again&gt; &lt;!here&gt; in JIRA just now)."
    )
    wait_for(lambda: slack.ephemeral)
    assert [note["text"] for note in slack.ephemeral] == [told]


@pytest.mark.parametrize(
    ("button", "step", "status", "words"),
    [
        ("rca_acknowledge", "acknowledge", "acknowledged", "acknowledged the ticket"),
        ("rca_take", "start_progress", "in_progress", "took the ticket (in progress)"),
        ("rca_resolve", "resolve", "resolved", "resolved the ticket"),
    ],
)
def test_a_slack_button_is_told_as_the_persons_action_with_no_note(
    celery_worker, targets, button, step, status, words
):
    """A click on the alert's Acknowledge, Take or Resolve button was given the note "Slack
    button" (or "Slack"), which the JIRA comment quoted under the change as if the responder
    had typed it, and the audit entry kept. A button carries no note: the comment and the
    thread say who acted and where, and nothing more."""
    jira, slack, _ = targets
    ticket = paged_and_clicked(button)

    ticket.refresh_from_db()
    assert ticket.status == status
    entry = AuditLog.objects.get(ticket=ticket, action=step)
    assert (entry.actor_kind, entry.actor_name, entry.details) == ("slack", "daan", {})
    comment = jira.issues[ticket.itsm_ticket_id]["comments"][-1]["body"]
    assert comment == f"daan {words} via Slack in the RCA service."
    reply = slack.thread(ticket.slack_channel, ticket.slack_ts)[-1]["text"]
    assert reply == f"daan — {step.replace('_', ' ')} (via slack)"
    assert not Resolution.objects.filter(ticket=ticket).exists()  # no fix was typed


@pytest.mark.parametrize(
    ("button", "shown"),
    [
        ("rca_acknowledge", ":eyes: Acknowledged by daan"),
        ("rca_take", ":hammer_and_wrench: In progress: taken by daan"),
    ],
)
def test_the_alert_says_who_acknowledged_or_took_the_ticket(celery_worker, targets, button, shown):
    """The alert's status line named who acknowledged or resolved a ticket, but a ticket taken
    (Take it, in progress) said only "In progress": who was on it was left to the thread."""
    _jira, slack, _ = targets
    ticket = paged_and_clicked(button)

    ticket.refresh_from_db()
    blocks = slack.messages[(ticket.slack_channel, ticket.slack_ts)]["blocks"]
    fields = [f["text"] for b in blocks if b["type"] == "section" for f in b.get("fields", [])]
    assert f"*Status*\n{shown}" in fields


@pytest.mark.parametrize(
    ("action", "step", "status", "words", "typed"),
    [
        ("acknowledge", "acknowledge", "acknowledged", "acknowledged the ticket", {}),
        ("take", "start_progress", "in_progress", "took the ticket (in progress)", {}),
        ("resolve", "resolve", "resolved", "resolved the ticket", {"apply": "1"}),
    ],
)
def test_an_admin_action_is_told_as_the_persons_action_with_no_note(
    celery_worker, targets, migration_data, action, step, status, words, typed
):
    """The ticket list's Acknowledge, Take and Resolve (its page left blank) gave the note
    "Django admin", which the JIRA comment quoted under the change as if the responder had
    typed it, and the audit entry (and a resolve's fix record) kept. The comment and the
    thread say who acted and where, and nothing more."""
    jira, slack, _ = targets
    ticket = fanned_out(post_failure()["ticket_id"])
    settled(ticket.pk)
    client = Client()
    client.force_login(make_user("ana", "responder", is_staff=True))

    changelist = reverse("admin:tickets_ticket_changelist")
    client.post(changelist, {"action": action, "_selected_action": [ticket.pk], **typed})
    settled(ticket.pk)

    ticket.refresh_from_db()
    assert ticket.status == status
    entry = AuditLog.objects.get(ticket=ticket, action=step)
    assert (entry.actor_kind, entry.actor_name, entry.details) == ("user", "ana", {})
    comment = jira.issues[ticket.itsm_ticket_id]["comments"][-1]["body"]
    assert comment == f"ana {words} via Django admin in the RCA service."
    reply = slack.thread(ticket.slack_channel, ticket.slack_ts)[-1]["text"]
    assert reply == f"ana — {step.replace('_', ' ')} (via admin)"


@pytest.mark.parametrize("note", ["after the deploy", ""])
def test_what_an_admin_typed_resolving_is_kept_and_told(
    celery_worker, targets, migration_data, note
):
    """The resolve page's fix and note are the responder's words: kept on the audit entry and
    the fix record, and quoted under the JIRA comment; a note left blank stays blank (it was
    "Django admin" on the fix record and in the comment)."""
    jira, _slack, _ = targets
    ticket = fanned_out(post_failure()["ticket_id"])
    settled(ticket.pk)
    client = Client()
    client.force_login(make_user("ana", "responder", is_staff=True))
    typed = {"apply": "1", "note": note, "fix": "Rotated the SQL password"}

    changelist = reverse("admin:tickets_ticket_changelist")
    client.post(changelist, {"action": "resolve", "_selected_action": [ticket.pk], **typed})
    settled(ticket.pk)

    entry = AuditLog.objects.get(ticket=ticket, action="resolve")
    noted = {"note": note} if note else {}
    assert entry.details == {**noted, "fix": "Rotated the SQL password"}
    fix = Resolution.objects.get(ticket=ticket)
    assert (fix.fix, fix.note, fix.resolved_by) == ("Rotated the SQL password", note, "ana")
    comment = jira.issues[ticket.itsm_ticket_id]["comments"][-1]["body"]
    quoted = f"\n{{noformat}}\n{note}\n{{noformat}}" if note else ""
    assert comment == (
        f"ana resolved the ticket via Django admin in the RCA service.{quoted}\n"
        "*What fixed it:*\n{noformat}\nRotated the SQL password\n{noformat}"
    )


def test_the_slack_resolve_button_resolves_and_jira_follows_to_done(celery_worker, targets):
    jira, slack, _ = targets
    slack_responder("daan")
    ticket = fanned_out(post_failure()["ticket_id"])
    settled(ticket.pk)

    response = post_slack_click(ticket.pk, "rca_resolve")

    assert response.status_code == 200
    ticket.refresh_from_db()
    assert (ticket.status, ticket.resolved_by) == ("resolved", "daan")
    settled(ticket.pk)
    assert jira.issues[ticket.itsm_ticket_id]["status"] == "Done"
    echo = post_jira(jira_webhook(ticket.itsm_ticket_id, "To Do", "Done", user=jira.myself()))
    assert echo.json()["result"] == "our own change ignored"
    assert "Resolved by daan" in json.dumps(
        slack.messages[(ticket.slack_channel, ticket.slack_ts)]["blocks"]
    )


def paged_and_clicked(*clicks: str) -> Ticket:
    """A failure paged in JIRA and Slack, then Slack clicks by the responder daan, each
    delivered (so the service has moved the issue for each) before the next."""
    slack_responder("daan")
    ticket = fanned_out(post_failure()["ticket_id"])
    settled(ticket.pk)
    for click in clicks:
        post_slack_click(ticket.pk, click)
        settled(ticket.pk)
    return ticket


def test_late_jira_echoes_of_our_own_moves_undo_nothing(celery_worker, targets):
    """Acknowledged, then resolved here: the issue moves to In Progress, then Done, and JIRA's
    webhooks for both land after the resolve. Applied, the first would reopen the ticket (its
    acknowledgement lost) and the second resolve it again as someone else."""
    jira, _slack, _ = targets
    ticket = paged_and_clicked("rca_acknowledge", "rca_resolve")
    key = ticket.itsm_ticket_id
    assert jira.issues[key]["status"] == "Done"
    facts = ("status", "ack_user", "ack_seconds", "resolved_by", "resolve_seconds", "sla_status")
    before = Ticket.objects.values(*facts).get(pk=ticket.pk)

    for moved_from, moved_to in (("To Do", "In Progress"), ("In Progress", "Done")):
        echo = post_jira(jira_webhook(key, moved_from, moved_to, user=jira.myself()))
        assert echo.json()["result"] == "our own change ignored"

    assert Ticket.objects.values(*facts).get(pk=ticket.pk) == before
    assert not AuditLog.objects.filter(ticket=ticket, actor_kind="jira").exists()
    # Each move is recognised once: someone taking the issue back to To Do later is applied.
    assert post_jira(jira_webhook(key, "Done", "To Do")).json()["result"] == "status set to open"


def test_a_persons_move_to_a_status_the_service_moved_it_to_is_never_taken_for_its_echo(
    celery_worker, targets
):
    """The service moved the issue to Done and JIRA never sent that webhook (an automation
    rule that skips the service's account): Maria moving it to Done later is her change."""
    jira, _slack, _ = targets
    ticket = paged_and_clicked("rca_resolve")
    key = ticket.itsm_ticket_id
    assert jira.issues[key]["status"] == "Done"  # moved by the service; its echo never comes

    assert post_jira(jira_webhook(key, "Done", "To Do")).json()["result"] == "status set to open"
    assert post_jira(jira_webhook(key, "To Do", "Done")).json()["result"] == (
        "status set to resolved"
    )
    assert Ticket.objects.get(pk=ticket.pk).resolved_by == "Maria Lopez"
    # Nor is a webhook that names no one (a JIRA Automation body without `user`), once the
    # service knows its account.
    assert post_jira(jira_webhook(key, "Done", "To Do")).json()["result"] == "status set to open"
    jira.issues[key]["status"] = "To Do"
    post_slack_click(ticket.pk, "rca_resolve")  # the service moves it to Done again
    settled(ticket.pk)
    post_jira(jira_webhook(key, "Done", "To Do"))  # someone reopens it, then
    anonymous = jira_webhook(key, "To Do", "Done")
    del anonymous["user"]
    assert post_jira(anonymous).json()["result"] == "status set to resolved"


def test_until_the_service_knows_its_jira_account_the_note_alone_recognises_its_echo(
    celery_worker, targets
):
    """Jira Cloud's webhooks name the account id only, and /myself failed: the late echo of
    the service's own move must still not undo the resolve made after it."""
    jira, _slack, _ = targets
    jira.fail(500, jira.error_body(500, "boom"), path_contains="/myself", times=None)
    ticket = paged_and_clicked("rca_acknowledge", "rca_resolve")

    echo = jira_webhook(ticket.itsm_ticket_id, "To Do", "In Progress", user=jira.myself())
    assert post_jira(echo).json()["result"] == "our own change ignored"
    assert Ticket.objects.get(pk=ticket.pk).status == "resolved"


def test_typing_what_fixed_it_in_the_slack_alert_resolves_with_that_fix(celery_worker, targets):
    _, slack, _ = targets
    slack_responder("daan")
    ticket = fanned_out(post_failure()["ticket_id"])
    settled(ticket.pk)
    message = slack.messages[(ticket.slack_channel, ticket.slack_ts)]
    box = next(b for b in message["blocks"] if b["type"] == "input")
    assert box["dispatch_action"] is True and box["block_id"] == f"rca_fix:{ticket.pk}"

    answer = post_slack_click(
        ticket.pk, box["element"]["action_id"], typed="Whitelisted the IR's IP on the SQL firewall"
    )

    assert answer.status_code == 200
    ticket.refresh_from_db()
    assert (ticket.status, ticket.resolved_by) == ("resolved", "daan")
    fix = Resolution.objects.get(ticket=ticket)
    assert (fix.fix, fix.actor_kind) == ("Whitelisted the IR's IP on the SQL firewall", "slack")
    settled(ticket.pk)
    blocks = slack.messages[(ticket.slack_channel, ticket.slack_ts)]["blocks"]
    assert not [b for b in blocks if b["type"] in ("actions", "input")]


def test_resolve_clicked_with_what_fixed_it_typed_in_the_slack_alert_keeps_that_fix(
    celery_worker, targets
):
    """Typed in the box, then the Resolve button clicked instead of Enter: Slack sends the
    box's text in the click's `state`, and the fix is kept as Enter would keep it, not lost."""
    _, slack, _ = targets
    slack_responder("daan")
    ticket = fanned_out(post_failure()["ticket_id"])
    settled(ticket.pk)

    answer = post_slack_click(ticket.pk, "rca_resolve", in_the_box=" Rotated the SQL password ")

    assert answer.status_code == 200
    ticket.refresh_from_db()
    assert (ticket.status, ticket.resolved_by) == ("resolved", "daan")
    fix = Resolution.objects.get(ticket=ticket)
    assert (fix.fix, fix.actor_kind) == ("Rotated the SQL password", "slack")
    settled(ticket.pk)
    assert fix.note == ""  # the button gave none
    thread = slack.thread(ticket.slack_channel, ticket.slack_ts)
    assert (
        thread[-1]["text"] == "daan — resolve (via slack). What fixed it: Rotated the SQL password"
    )


def test_a_regression_reopens_the_jira_issue_and_replies_in_the_slack_thread(
    celery_worker, targets
):
    jira, slack, _ = targets
    slack_responder("daan")
    ticket = fanned_out(post_failure()["ticket_id"])
    settled(ticket.pk)
    post_slack_click(ticket.pk, "rca_resolve")
    settled(ticket.pk)
    assert jira.issues[ticket.itsm_ticket_id]["status"] == "Done"

    again = local_payload("adf_failure.json")
    again["run_id"] = "a-later-run-of-the-same-pipeline"
    answer = post_failure(again)

    assert (answer["outcome"], answer["ticket_id"]) == ("regressed", ticket.pk)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.regression_count, ticket.occurrence_count) == ("open", 1, 2)
    settled(ticket.pk)
    issue = jira.issues[ticket.itsm_ticket_id]
    assert issue["status"] == "To Do"
    assert "reported the failure again: the ticket is open again" in (issue["comments"][-1]["body"])
    assert "regressed" in slack.thread(ticket.slack_channel, ticket.slack_ts)[-1]["text"]
    assert Ticket.objects.count() == 1 and len(jira.issues) == 1


def test_a_regression_tells_jira_slack_and_the_api_that_the_fix_recorded_did_not_hold(
    celery_worker, targets
):
    """The failure came back after a fix: the page read "Last time: <that fix>" as if to try it,
    while the Slack alert (its analysis, before the fix, found none), the thread reply and the
    JIRA comment said only that it regressed. Each now says the fix recorded did not hold."""
    jira, slack, _ = targets
    user = make_user("noor", role="responder")
    ticket = fanned_out(post_failure()["ticket_id"])
    settled(ticket.pk)
    fix = "Added the IR's outbound IP to the SQL firewall"
    resolved = jwt_client(user).post(
        f"/api/v1/tickets/{ticket.pk}/resolve/", {"fix": fix}, format="json"
    )
    assert resolved.status_code == 200, resolved.content
    settled(ticket.pk)

    again = local_payload("adf_failure.json")
    again["run_id"] = "a-later-run-of-the-same-pipeline"
    assert post_failure(again)["outcome"] == "regressed"
    settled(ticket.pk)

    ticket.refresh_from_db()
    day = timezone.now().date().isoformat()
    (shown,) = jwt_client(user).get(f"/api/v1/tickets/{ticket.pk}/").json()["previous_fixes"]
    when = datetime.fromisoformat(shown["resolved_at"]).astimezone(UTC)
    headline = (
        f"Last time ({ticket.pk}, {when:%Y-%m-%d %H:%M} UTC, noor): {fix}"
        f" (did not hold: it failed again on {day})"
    )
    assert (shown["held"], shown["headline"]) == (False, headline)
    told = f"The fix recorded then did not hold (noor, {day}): {fix}"
    assert told in jira.issues[ticket.itsm_ticket_id]["comments"][-1]["body"]
    assert told in html.unescape(slack.thread(ticket.slack_channel, ticket.slack_ts)[-1]["text"])
    blocks = slack.messages[(ticket.slack_channel, ticket.slack_ts)]["blocks"]
    assert html.unescape(blocks[1]["text"]["text"]) == headline


def test_a_second_regression_does_not_blame_the_fix_of_an_earlier_resolve_again(
    celery_worker, targets
):
    """Resolved with a fix, back (the fix did not hold: said so), resolved again with none,
    back again: the second regression's JIRA comment and Slack reply named the first fix as
    "the fix recorded then" once more, a fix already told as failed and not what was done
    for the resolve it undid."""
    jira, slack, _ = targets
    user = make_user("noor", role="responder")
    ticket = fanned_out(post_failure()["ticket_id"])
    settled(ticket.pk)
    fix = "Added the IR's outbound IP to the SQL firewall"
    api = jwt_client(user)
    resolved = api.post(f"/api/v1/tickets/{ticket.pk}/resolve/", {"fix": fix}, format="json")
    assert resolved.status_code == 200, resolved.content
    settled(ticket.pk)
    for run in ("a-later-run", "a-run-later-still"):
        again = local_payload("adf_failure.json")
        again["run_id"] = run
        assert post_failure(again)["outcome"] == "regressed"
        settled(ticket.pk)
        if run == "a-later-run":
            assert api.post(f"/api/v1/tickets/{ticket.pk}/resolve/").status_code == 200
            settled(ticket.pk)

    ticket.refresh_from_db()
    comments = [c["body"] for c in jira.issues[ticket.itsm_ticket_id]["comments"]]
    replies = [
        html.unescape(r["text"]) for r in slack.thread(ticket.slack_channel, ticket.slack_ts)
    ]
    told = "The fix recorded then did not hold"
    assert [told in body for body in comments if "came back" in body] == [True, False]
    assert [told in text for text in replies if "came back" in text] == [True, False]


def test_a_persons_change_says_in_the_slack_thread_and_jira_where_it_was_made(
    celery_worker, targets
):
    """A change made in the API or on the dashboard said "(via user)", where a Slack click says
    "(via slack)": the thread and the issue's comment name the place."""
    jira, slack, _ = targets
    user = make_user("maria", role="responder")
    ticket = fanned_out(post_failure()["ticket_id"])
    settled(ticket.pk)

    assert jwt_client(user).post(f"/api/v1/tickets/{ticket.pk}/acknowledge/").status_code == 200
    settled(ticket.pk)
    page = Client()
    page.force_login(user)
    page.post(f"/tickets/{ticket.pk}/action/", {"action": "resolve", "fix": "restarted the IR"})
    settled(ticket.pk)

    lines = [m["text"] for m in slack.thread(ticket.slack_channel, ticket.slack_ts)]
    assert lines[-2:] == [
        "maria — acknowledge (via api)",
        "maria — resolve (via dashboard). What fixed it: restarted the IR",
    ]
    comments = [c["body"] for c in jira.issues[ticket.itsm_ticket_id]["comments"]]
    assert any("via the API" in c for c in comments), comments
    assert any("via the dashboard" in c for c in comments), comments


def test_what_fixed_it_is_told_in_the_jira_comment_and_the_slack_thread(celery_worker, targets):
    """Resolving with a fix kept it here only: the issue's comment said "resolved" (with the
    note) and the thread "resolve", so people following JIRA or Slack never learnt what fixed
    it. A resolve without a fix says nothing of one."""
    jira, slack, _ = targets
    user = make_user("noor", role="responder")
    ticket = fanned_out(post_failure()["ticket_id"])
    settled(ticket.pk)

    answer = jwt_client(user).post(
        f"/api/v1/tickets/{ticket.pk}/resolve/",
        {"fix": "Added the IR's outbound IP <10.1.2.3> to the SQL firewall", "note": "checked"},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    settled(ticket.pk)

    comment = jira.issues[ticket.itsm_ticket_id]["comments"][-1]["body"]
    assert comment == (
        "noor resolved the ticket via the API in the RCA service.\n"
        "{noformat}\nchecked\n{noformat}\n"
        "*What fixed it:*\n"
        "{noformat}\nAdded the IR's outbound IP <10.1.2.3> to the SQL firewall\n{noformat}"
    )
    reply = slack.thread(ticket.slack_channel, ticket.slack_ts)[-1]["text"]
    assert reply == (
        "noor — resolve (via api). What fixed it: "
        "Added the IR's outbound IP &lt;10.1.2.3&gt; to the SQL firewall"
    )

    client = jwt_client(user)
    assert client.post(f"/api/v1/tickets/{ticket.pk}/reopen/").status_code == 200
    assert client.post(f"/api/v1/tickets/{ticket.pk}/resolve/").status_code == 200
    settled(ticket.pk)
    # (The reopen's and the resolve's follow-ups are separate deliveries, in either order.)
    comments = [c["body"] for c in jira.issues[ticket.itsm_ticket_id]["comments"]]
    assert "noor resolved the ticket via the API in the RCA service." in comments
    replies = [m["text"] for m in slack.thread(ticket.slack_channel, ticket.slack_ts)]
    assert "noor — resolve (via api)" in replies


CONNECTION_NOTE = "DB login failed; tried Server=x;Password=hunter2; by hand"
SAS_NOTE = "log: https://acct.blob.core.windows.net/logs/r.txt?sv=2022-11-02&sp=r&sig=S3cr3tSig"
NOTE_SECRETS = ("hunter2", "S3cr3tSig")


def test_a_secret_in_a_note_is_redacted_in_the_audit_log_jira_and_slack(celery_worker, targets):
    """A responder pasting a connection string or a SAS URL into a note leaked it: the note
    went into the audit log, the issue's comment and the thread unredacted."""
    jira, slack, _ = targets
    client = jwt_client(make_user("noor", role="responder"))
    ticket = fanned_out(post_failure()["ticket_id"])
    settled(ticket.pk)

    acked = client.post(
        f"/api/v1/tickets/{ticket.pk}/acknowledge/", {"note": CONNECTION_NOTE}, format="json"
    )
    assert acked.status_code == 200, acked.content
    resolved = client.post(
        f"/api/v1/tickets/{ticket.pk}/resolve/",
        {"note": SAS_NOTE, "fix": "rotated the password"},
        format="json",
    )
    assert resolved.status_code == 200, resolved.content
    settled(ticket.pk)

    notes = {
        a.action: a.details.get("note")
        for a in AuditLog.objects.filter(ticket_id=ticket.pk, action__in=["acknowledge", "resolve"])
    }
    assert notes == {
        "acknowledge": "DB login failed; tried Server=x;Password=[REDACTED]; by hand",
        "resolve": "log: https://acct.blob.core.windows.net/logs/r.txt?sv=2022-11-02&sp=r&sig=[REDACTED]",
    }
    assert Resolution.objects.get(ticket_id=ticket.pk).note == notes["resolve"]
    comments = [c["body"] for c in jira.issues[ticket.itsm_ticket_id]["comments"]]
    assert any(notes["acknowledge"] in c for c in comments), comments
    assert any(notes["resolve"] in c for c in comments), comments
    replies = [m["text"] for m in slack.thread(ticket.slack_channel, ticket.slack_ts)]
    stored = json.dumps(
        list(OutboundDelivery.objects.filter(ticket_id=ticket.pk).values_list("payload", flat=True))
    )
    for told in [*comments, *replies, stored]:
        assert not any(secret in told for secret in NOTE_SECRETS), told


@pytest.mark.parametrize(
    ("username", "shown"),
    [("{color:red}x{color}", "color:red x color"), ("[link|http://evil]", "link http://evil")],
)
def test_a_username_makes_no_markup_in_the_jira_comment(celery_worker, targets, username, shown):
    """The ticket's comment put the actor's name into JIRA's wiki markup as it was (the
    incident's comment escaped it): a name made colours or links on the issue."""
    jira, _, _ = targets
    ticket = fanned_out(post_failure()["ticket_id"])
    settled(ticket.pk)

    acked = jwt_client(make_user(username, role="responder")).post(
        f"/api/v1/tickets/{ticket.pk}/acknowledge/"
    )
    assert acked.status_code == 200, acked.content
    settled(ticket.pk)

    comment = jira.issues[ticket.itsm_ticket_id]["comments"][-1]["body"]
    assert comment == f"{shown} acknowledged the ticket via the API in the RCA service."


# A value an error message quotes that is markup in JIRA's wiki and in Slack's mrkdwn: bold,
# a link, a macro, a line break (two backslashes in JIRA), a forged Slack link.
HOSTILE_USER = "*bold* [link|http://evil] {code} <http://evil|click> \\\\ line _x_ ~y~ `z`"
_NOFORMAT_BLOCK = re.compile(r"\{noformat\}\n(.*?)\n\{noformat\}", re.DOTALL)


def test_a_rule_rca_quoting_markup_shows_it_literally_in_jira_and_slack(celery_worker, targets):
    """The rule RCA dropped `*`, brackets, braces and backslashes from what it quoted (a
    Windows path lost its backslashes) so that no markup reached a ticket; it keeps them now,
    and JIRA and Slack show them as text: in JIRA the RCA and its recommendations sit in
    {noformat} blocks, in Slack the RCA sits in rich_text, which is not mrkdwn, and the
    evidence's rca.md escapes it for Markdown."""
    jira, slack, azurite = targets
    body = local_payload("adf_failure.json")
    body["error_message"] = f"Login failed for user '{HOSTILE_USER}'."
    ticket = fanned_out(post_failure(body)["ticket_id"])

    assert "*bold* [link" in ticket.rca_result and "\\\\ line" in ticket.rca_result
    assert any("{code}" in r for r in ticket.recommendations), ticket.recommendations
    description = jira.issues[ticket.itsm_ticket_id]["description"]
    literal = _NOFORMAT_BLOCK.findall(description)
    assert ticket.rca_result in literal
    numbered = "\n".join(f"{n}. {r}" for n, r in enumerate(ticket.recommendations, 1))
    assert numbered in literal
    outside = _NOFORMAT_BLOCK.sub("", description)
    for markup in ("*bold*", "[link", "{code}", "\\\\", "http://evil"):
        assert markup not in outside, outside

    blocks = slack.messages[(ticket.slack_channel, ticket.slack_ts)]["blocks"]
    rich = next(b for b in blocks if b["type"] == "rich_text")
    heading, text = rich["elements"][0]["elements"]
    # Which RCA it is, as the JIRA issue says it ("Root cause (Rule-based)").
    assert heading == {"type": "text", "text": "Root cause (Rule-based)", "style": {"bold": True}}
    assert "h3. Root cause (Rule-based)" in description
    assert text == {"type": "text", "text": f"\n{ticket.rca_result}"}
    mrkdwn = json.dumps([b for b in blocks if b["type"] != "rich_text"])
    for markup in ("*bold*", "{code}", "http://evil", "_x_", "~y~", "`z`"):
        assert markup not in mrkdwn, mrkdwn

    blob = BlobServiceClient.from_connection_string(azurite.connection_string).get_blob_client(
        ticket_container(), f"{ticket.pk}/rca.md"
    )
    rendered = MarkdownIt("commonmark").render(blob.download_blob().readall().decode())
    shown = html.unescape(re.sub(r"<[^>]+>", "", rendered))
    assert ticket.rca_result in shown
    assert all(r in shown for r in ticket.recommendations)
    assert not re.search(r"<(a|em|img)\b|<code>", rendered), rendered  # the error: a block


def test_a_gemini_rca_with_links_and_mentions_stays_text_in_slack_and_jira():
    """Gemini's text is untrusted too, and keeps its `<`, `>` and `|`: in mrkdwn those made a
    link or a channel mention (escaped, they showed as text); in rich_text they are text."""
    from integrations.targets.jira import jira_description
    from integrations.targets.slack import slack_alert

    rca = "The sink refused <http://evil|click> for <!channel>: see *bold* `D:\\x\\y.csv`."
    ticket = Ticket(id="ADF-20261205T000000-abc123", pipeline="pl_x", rca_result=rca)
    ticket.recommendations = [f"Check {rca}"]

    _, blocks = slack_alert(ticket)
    rich = next(b for b in blocks if b["type"] == "rich_text")
    assert rich["elements"][0]["elements"][1]["text"] == f"\n{rca}"
    assert "evil" not in json.dumps([b for b in blocks if b["type"] != "rich_text"])
    description = jira_description(ticket)
    assert f"{{noformat}}\n{rca}\n{{noformat}}" in description
    assert f"{{noformat}}\n1. Check {rca}\n{{noformat}}" in description


def slack_links(blocks: list[dict]) -> list[tuple[str, str]]:
    """The (text, url) of each link element in the alert's "Links:" rich_text block."""
    for block in blocks:
        if block["type"] != "rich_text":
            continue
        elements = block["elements"][0]["elements"]
        if elements[0].get("text") == "Links: ":
            return [(e["text"], e["url"]) for e in elements if e["type"] == "link"]
    return []


def test_the_run_page_is_linked_in_the_slack_alert_and_jira_issue_and_edits_keep_it(
    celery_worker, targets
):
    """The run page (ADF's monitoring page here) was shown in the API and on the dashboard,
    not in the Slack alert nor the JIRA issue the on-call reads first."""
    jira, slack, _ = targets
    slack_responder("daan")
    body = local_payload("adf_failure.json")
    run_url = body["run_url"] + "?factory=%2Fsubscriptions%2F1%2Fadf-sales-prod&tab=activities"
    body["run_url"] = run_url
    ticket = fanned_out(post_failure(body)["ticket_id"])
    settled(ticket.pk)

    assert ticket.links == {"run": run_url}
    message = slack.messages[(ticket.slack_channel, ticket.slack_ts)]
    assert slack_links(message["blocks"]) == [("Run", run_url)]
    assert f"*Links:* [Run|{run_url}]" in jira.issues[ticket.itsm_ticket_id]["description"]

    post_slack_click(ticket.pk, "rca_acknowledge")  # the alert is edited to follow the ticket
    settled(ticket.pk)
    message = slack.messages[(ticket.slack_channel, ticket.slack_ts)]
    assert "Acknowledged" in json.dumps(message["blocks"])
    assert slack_links(message["blocks"]) == [("Run", run_url)]


def test_only_http_links_reach_slack_and_jira_exactly_and_within_their_limits(settings):
    """A `javascript:` (or any other scheme's) link is never rendered; a URL with `|`, `>`,
    `&` or `]` cannot end a link or make markup: in Slack a link element carries it as it
    is, in JIRA's wiki markup (which has no escape for `|`, `[`, `]` there) it is left to
    the ticket's page; an oversized one is too, within Slack's 3,000 characters a block."""
    from integrations.targets.jira import jira_description
    from integrations.targets.slack import slack_alert

    settings.PUBLIC_BASE_URL = "https://rca.example.test"
    pipes = "https://logs.example.test/x?q=a|b>c&d=<e>"
    brackets = "https://portal.example.test/#blade/x]y[z"
    long = "https://search.example.test/?q=" + "a" * 3100
    plain = "https://portal.example.test/#view/alert?a=1&b=_x_*y*"
    ticket = Ticket(
        id="ADF-20261205T000000-abc123",
        pipeline="pl_x",
        links={
            "run": "javascript:alert(document.cookie)//https://x",
            "log": pipes,
            "portal": brackets,
            "investigation": plain,
            "search_results_ui": long,
            "run_page": "JAVASCRIPT://evil.example.test/%0Aalert(1)",
            "filtered_search_results_ui": "https://evil.example.test/ x",
            "data_page": "data:text/html,<script>alert(1)</script>",
        },
    )

    _, blocks = slack_alert(ticket)
    assert slack_links(blocks) == [("Investigation", plain), ("Log", pipes), ("Portal", brackets)]
    source = next(b for b in blocks if slack_links([b]))
    texts = source["elements"][0]["elements"]
    assert texts[-1]["text"] == " (+1 more on the ticket)"
    assert sum(len(e["text"]) + len(e.get("url", "")) for e in texts) <= 3000
    shown = json.dumps(blocks).lower()
    assert "javascript" not in shown and "data:" not in shown and "evil" not in shown

    description = jira_description(ticket)
    source_line = next(line for line in description.splitlines() if line.startswith("*Links:*"))
    ticket_page = f"{settings.PUBLIC_BASE_URL}/tickets/{ticket.pk}/"
    assert source_line == f"*Links:* [Investigation|{plain}] · 3 more on [the ticket|{ticket_page}]"

    ticket.links = {"search_results_ui": long, "run": "javascript:alert(1)"}
    _, blocks = slack_alert(ticket)
    source = next(b for b in blocks if "Links: " in json.dumps(b))
    assert source["elements"][0]["elements"][1:] == [
        {"type": "text", "text": "1 "},
        {"type": "link", "url": ticket_page, "text": "on the ticket"},
    ]
    assert f"*Links:* 1 on [the ticket|{ticket_page}]" in jira_description(ticket)
    ticket.links = {"run": "javascript:alert(1)"}
    assert "Links: " not in json.dumps(slack_alert(ticket)[1])
    assert "*Links:*" not in jira_description(ticket)
    lowered = description.lower()
    assert "javascript" not in lowered and "data:" not in lowered and "evil" not in lowered
    assert brackets not in description and long not in description


def test_a_link_whose_host_is_not_the_one_it_starts_with_reaches_neither_slack_nor_jira(settings):
    """Behind the label "Run", `https://adb-1.azuredatabricks.net@evil.example.test/` would
    pass for the workspace's run page while it opens evil.example.test (so would a `\\`
    before the `@`): a URL with a user part is left out, as one with credentials in it."""
    from integrations.targets.jira import jira_description
    from integrations.targets.slack import slack_alert

    settings.PUBLIC_BASE_URL = "https://rca.example.test"
    plain = "https://adb-1.azuredatabricks.net/?o=1#job/2/run/3"
    ticket = Ticket(
        id="DBX-20261205T000000-abc123",
        pipeline="job_x",
        links={
            "run": "https://adb-1.azuredatabricks.net@evil.example.test/?o=1#job/2/run/3",
            "log": "https://evil.example.test\\@airflow.example.test/log",
            "portal": "https://user:[REDACTED]@evil.example.test/",
            "investigation": plain,
        },
    )

    _, blocks = slack_alert(ticket)
    assert slack_links(blocks) == [("Investigation", plain)]
    assert "evil" not in json.dumps(blocks)
    description = jira_description(ticket)
    ticket_page = f"{settings.PUBLIC_BASE_URL}/tickets/{ticket.pk}/"
    assert f"*Links:* [Investigation|{plain}]\n" in description
    assert "evil" not in description and ticket_page in description


def test_a_long_rca_shows_in_slack_up_to_its_block_limit_cut_at_a_word_with_a_link(settings):
    """Slack showed the first 1,500 characters of an RCA JIRA and the API show whole (up to
    4,000): it shows as much as a block's 3,000 characters take, cut between words and marked
    as cut, with a link to the ticket that shows the rest. A short one is shown whole."""
    from integrations.targets.slack import slack_alert

    settings.PUBLIC_BASE_URL = "https://rca.example.test"
    words = " ".join(f"word{n:04d}" for n in range(450))  # 4,049 characters, no sentence end
    ticket = Ticket(id="ADF-20261205T000000-abc123", pipeline="pl_x", rca_result=words)

    _, blocks = slack_alert(ticket)
    rich = next(b for b in blocks if b["type"] == "rich_text")
    heading, text, *marker = rich["elements"][0]["elements"]
    shown = text["text"].removeprefix("\n")
    assert shown.endswith("…") and words.startswith(shown.removesuffix("…"))
    assert words[len(shown) - 1] == " "  # the last word shown is whole
    assert marker == [
        {"type": "text", "text": " [cut: read it whole on "},
        {
            "type": "link",
            "url": f"{settings.PUBLIC_BASE_URL}/tickets/{ticket.pk}/",
            "text": "the ticket",
        },
        {"type": "text", "text": "]"},
    ]
    total = sum(len(e["text"]) for e in (heading, text, *marker))
    assert 3000 - 12 <= total <= 3000  # Slack's limit on a block's text

    ticket.rca_result = words[:2900]
    _, blocks = slack_alert(ticket)
    rich = next(b for b in blocks if b["type"] == "rich_text")
    assert rich["elements"][0]["elements"][1:] == [{"type": "text", "text": f"\n{words[:2900]}"}]


def test_the_slack_alert_says_when_the_response_is_due_while_the_sla_clock_runs(
    celery_worker, targets
):
    """The alert's SLA field said "Pending" while the clock ran (the board says how long is
    left): the on-call reading Slack did not learn when the response was due."""
    _, slack, _ = targets
    slack_responder("daan")
    ticket = fanned_out(post_failure()["ticket_id"])
    settled(ticket.pk)

    def sla_field() -> str:
        blocks = slack.messages[(ticket.slack_channel, ticket.slack_ts)]["blocks"]
        fields = [f["text"] for b in blocks for f in b.get("fields", [])]
        return next(f for f in fields if f.startswith("*SLA*"))

    due = ticket.sla_deadline
    assert due is not None
    assert sla_field() == (
        f"*SLA*\nDue <!date^{int(due.timestamp())}^{{date_short_pretty}} {{time}}"
        f"|{due.astimezone(UTC):%Y-%m-%d %H:%M} UTC>"
    )
    post_slack_click(ticket.pk, "rca_acknowledge")
    settled(ticket.pk)
    assert sla_field() == "*SLA*\nMet"


def test_jira_down_does_not_hold_up_slack_or_blob_and_catches_up(celery_worker, targets):
    jira, _slack, _ = targets
    jira.fail(503, jira.error_body(503, "JIRA is down for maintenance"), times=None)

    ticket_id = post_failure()["ticket_id"]

    wait_for(
        lambda: (
            OutboundDelivery.objects.filter(
                ticket_id=ticket_id, status=OutboundStatus.SUCCEEDED, target__in=["slack", "blob"]
            ).count()
            == 2
        ),
        timeout=30,
    )
    wait_for(
        lambda: (
            DeliveryAttempt.objects.filter(
                outbound__ticket_id=ticket_id, outcome=AttemptOutcome.TRANSIENT_ERROR
            ).count()
            >= 2
        )
    )
    assert Ticket.objects.get(pk=ticket_id).itsm_ticket_id == ""
    jira.clear_faults()
    ticket = fanned_out(ticket_id)
    assert ticket.itsm_ticket_id == "OPS-1" and len(jira.issues) == 1


def test_duplicates_and_a_lost_jira_answer_create_nothing_twice(celery_worker, targets):
    jira, slack, _ = targets
    jira.lose_create_response(status=500)
    body = local_payload("adf_failure.json")

    answers = [post_failure(copy.deepcopy(body)) for _ in range(3)]

    ticket = fanned_out(answers[0]["ticket_id"])
    settled(ticket.pk)
    assert [a["outcome"] for a in answers] == ["created", "duplicate", "duplicate"]
    assert list(jira.issues) == ["OPS-1"] and ticket.itsm_ticket_id == "OPS-1"
    assert len(slack.api_requests("chat.postMessage")) == 1
    assert OutboundDelivery.objects.filter(ticket=ticket, action="blob_upload").count() == 1


def test_recurrences_update_the_alert_without_pinging_the_channel(celery_worker, targets):
    _, slack, _ = targets
    body = local_payload("airflow_failure.json")
    client = Client()
    from django.conf import settings

    def post(try_number: int) -> dict:
        return client.post(
            "/webhooks/airflow/",
            data=json.dumps({**body, "try_number": try_number}),
            content_type="application/json",
            HTTP_X_WEBHOOK_TOKEN=settings.WEBHOOK_TOKEN,
        ).json()

    ticket = fanned_out(post(1)["ticket_id"])
    settled(ticket.pk)
    posts_before = len(slack.api_requests("chat.postMessage"))
    assert post(2)["outcome"] == "correlated"
    settled(ticket.pk)

    assert len(slack.api_requests("chat.postMessage")) == posts_before
    blocks = json.dumps(slack.messages[(ticket.slack_channel, ticket.slack_ts)]["blocks"])
    assert "*Occurrences*\\n2" in blocks


def test_unconfigured_target_is_skipped_and_says_so(celery_worker, targets, settings):
    settings.SLACK_BOT_TOKEN = ""
    ticket = fanned_out(post_failure()["ticket_id"])

    slack_row = OutboundDelivery.objects.get(ticket=ticket, action="slack_post")
    assert slack_row.status == OutboundStatus.SKIPPED
    assert "Slack is not configured" in slack_row.last_error
    assert ticket.itsm_ticket_id and ticket.blob_log_url


def test_a_permanent_error_is_a_dead_letter_that_staff_can_retry(celery_worker, targets):
    _, _slack, _ = targets
    OwnershipRule.objects.create(pipeline_pattern="*", finops_team="x", slack_channel="#no-such")
    ticket = fanned_out(post_failure()["ticket_id"])
    row = OutboundDelivery.objects.get(ticket=ticket, action="slack_post")
    assert row.status == OutboundStatus.DEAD and "channel_not_found" in row.last_error
    assert row.tries.get().outcome == AttemptOutcome.PERMANENT_ERROR

    Ticket.objects.filter(pk=ticket.pk).update(slack_channel="#alerts")
    assert fanout.retry_dead([row.pk]) == 1

    wait_for(lambda: OutboundDelivery.objects.get(pk=row.pk).status == OutboundStatus.SUCCEEDED)
    assert Ticket.objects.get(pk=ticket.pk).slack_channel == "C0ALERTS002"


def test_a_refused_channel_or_project_is_named_with_the_rule_or_setting_that_chose_it(
    celery_worker, targets, settings
):
    """A dead letter said only "channel_not_found" or "project is required": with several
    teams' rules, staff could not tell which channel or project, nor which rule, to correct."""
    OwnershipRule.objects.create(
        pipeline_pattern="pl_hr_*", finops_team="hr", slack_channel="#hr-alerts", jira_project="HR"
    )
    settings.SLACK_DEFAULT_CHANNEL = "#no-such-default"
    settings.JIRA_DEFAULT_PROJECT = "NOPE"
    hr_failure = {
        **local_payload("adf_failure.json"),
        "pipeline": "pl_hr_pay",
        "run_id": "hr-1",
        "error_message": "Timeout expired while executing the copy",  # no shared culprit
    }
    routed = fanned_out(post_failure(hr_failure)["ticket_id"])
    unrouted = fanned_out(post_failure()["ticket_id"])

    def dead_letter(ticket: Ticket, action: str) -> str:
        row = OutboundDelivery.objects.get(ticket=ticket, action=action)
        assert row.status == OutboundStatus.DEAD
        return row.last_error

    assert dead_letter(routed, "slack_post") == (
        "Slack chat.postMessage failed: channel_not_found "
        "(sent to #hr-alerts, from the ownership rule)"
    )
    assert dead_letter(routed, "jira_create") == (
        "JIRA create issue failed (400): project is required (sent to HR, from the ownership rule)"
    )
    assert dead_letter(unrouted, "slack_post").endswith(
        "channel_not_found (sent to #no-such-default, SLACK_DEFAULT_CHANNEL)"
    )
    assert dead_letter(unrouted, "jira_create").endswith(
        "project is required (sent to NOPE, JIRA_DEFAULT_PROJECT)"
    )


def test_an_open_circuit_makes_deliveries_wait_instead_of_failing(celery_worker, targets, settings):
    jira, _, _ = targets
    settings.CIRCUIT_FAILURE_THRESHOLD = 2
    settings.CIRCUIT_OPEN_SECONDS = 1
    jira.fail(500, jira.error_body(500, "boom"), times=None)

    ticket_id = post_failure()["ticket_id"]

    wait_for(
        lambda: DeliveryAttempt.objects.filter(
            outbound__ticket_id=ticket_id, outcome=AttemptOutcome.CIRCUIT_OPEN
        ).exists(),
        timeout=30,
    )
    jira.clear_faults()
    assert fanned_out(ticket_id).itsm_ticket_id == "OPS-1"


# --- bad input --------------------------------------------------------------------------------


@pytest.fixture
def linked_ticket(targets, transactional_db):
    ticket = Ticket.objects.create(
        id="ADF-20251210T123456-abc123",
        pipeline="pl",
        run_id="adf:x",
        source="adf",
        fingerprint="f",
        itsm_ticket_id="OPS-7",
    )
    return ticket


def test_jira_webhook_with_a_bad_signature_is_refused(linked_ticket):
    response = post_jira(jira_webhook("OPS-7", "To Do", "Done"), secret="wrong")
    assert response.status_code == 401
    assert Ticket.objects.get(pk=linked_ticket.pk).status == "open"


def test_jira_automation_can_authenticate_with_the_token_parameter(linked_ticket):
    body = json.dumps(jira_webhook("OPS-7", "To Do", "In Progress"))
    response = Client().post(
        f"/webhooks/jira/?token={JIRA_SECRET}", data=body, content_type="application/json"
    )
    assert response.status_code == 200
    assert Ticket.objects.get(pk=linked_ticket.pk).status == "in_progress"


def test_jira_events_out_of_order_keep_the_latest_state(linked_ticket):
    later = jira_webhook("OPS-7", "To Do", "Done")
    earlier = jira_webhook("OPS-7", "To Do", "In Progress")
    earlier["timestamp"] = later["timestamp"] - 60_000

    assert post_jira(later).json()["result"] == "status set to resolved"
    assert "older" in post_jira(earlier).json()["result"]
    assert Ticket.objects.get(pk=linked_ticket.pk).status == "resolved"


def test_a_jira_change_made_before_a_change_here_and_delivered_after_it_is_ignored(
    linked_ticket,
):
    """Someone took the issue in JIRA, then someone resolved the ticket here; JIRA's webhook
    arrives last. Applied, it would reopen the resolved ticket."""
    taken = jira_webhook("OPS-7", "To Do", "In Progress")
    taken["timestamp"] -= 19_000
    lifecycle.resolve(linked_ticket.pk, Actor.system("test"))

    assert "older than the ticket's last status change" in post_jira(taken).json()["result"]
    assert Ticket.objects.get(pk=linked_ticket.pk).status == "resolved"
    # A change made in JIRA after it is applied.
    assert post_jira(jira_webhook("OPS-7", "Done", "To Do")).json()["result"] == (
        "status set to open"
    )


def test_jira_done_to_do_reopens_and_comments_are_audited(linked_ticket):
    post_jira(jira_webhook("OPS-7", "To Do", "Done"))
    reopened = post_jira(jira_webhook("OPS-7", "Done", "To Do"))
    comment = {
        "timestamp": int(time.time() * 1000),
        "webhookEvent": "comment_created",
        "issue": {"key": "OPS-7", "fields": {}},
        "comment": {
            "id": "555",
            "body": "Restarted the IR node",
            "author": {"displayName": "Maria", "accountId": "m"},
        },
    }

    assert reopened.json()["result"] == "status set to open"
    assert post_jira(comment).json()["result"] == "comment recorded"
    entry = AuditLog.objects.get(ticket=linked_ticket, action="jira comment")
    assert entry.details["comment"] == "Restarted the IR node"
    assert not Resolution.objects.exists()  # a comment on an open ticket is not a fix


def test_a_fix_comment_on_a_resolved_issue_records_the_fix_once(linked_ticket):
    post_jira(jira_webhook("OPS-7", "To Do", "Done"))

    def comment(comment_id: str, body: str) -> dict:
        return {
            "timestamp": int(time.time() * 1000),
            "webhookEvent": "comment_created",
            "issue": {"key": "OPS-7", "fields": {}},
            "comment": {"id": comment_id, "body": body, "author": {"displayName": "Maria"}},
        }

    assert post_jira(comment("560", "Fix: restarted the IR node")).json()["result"] == (
        "comment recorded as the fix"
    )
    assert post_jira(comment("561", "Fix: something else")).json()["result"] == ("comment recorded")
    assert [r.fix for r in Resolution.objects.all()] == ["restarted the IR node"]


def test_a_long_fix_comment_cut_inside_a_url_password_keeps_none_of_it(linked_ticket):
    """A JIRA comment is read to its first 8,000 characters. Cut before it was redacted, a
    URL's password cut before its `@host` was kept in the fix as it came: no rule knows
    `postgresql://etl:<start of a password>` as one."""
    post_jira(jira_webhook("OPS-7", "To Do", "Done"))
    password = f"Pw{uuid.uuid4().hex[:8]}Planted"
    url = f"postgresql://etl:{password}@db01.example.com:5432/sales"
    start = "Fix: " + "rotated the loader's credentials and reran; " * 200
    body = start[: 8000 - len("postgresql://etl:") - 6] + " " + url
    assert body[:8000].endswith(password[:5])
    comment = {
        "timestamp": int(time.time() * 1000),
        "webhookEvent": "comment_created",
        "issue": {"key": "OPS-7", "fields": {}},
        "comment": {"id": "590", "body": body, "author": {"displayName": "Maria"}},
    }

    assert post_jira(comment).json()["result"] == "comment recorded as the fix"
    [fix] = [r.fix for r in Resolution.objects.all()]
    assert fix.startswith("rotated the loader's credentials")
    audit = json.dumps(list(AuditLog.objects.filter(ticket=linked_ticket).values()), default=str)
    for text in (fix, audit):
        assert password[:5] not in text


def test_a_fix_comment_after_a_reopen_or_a_fix_marked_wrong_is_kept(linked_ticket):
    """`Fix: ...` on a resolved issue was dropped whenever the ticket had any fix recorded: one
    from before it was reopened (which did not hold), or one staff marked wrong. The fix of
    the latest resolve was lost, and the next failure like it was shown none or the old one."""
    from tickets.resolutions import mark_wrong, previous_fixes

    def comment(comment_id: str, body: str) -> dict:
        return {
            "timestamp": int(time.time() * 1000),
            "webhookEvent": "comment_created",
            "issue": {"key": "OPS-7", "fields": {}},
            "comment": {"id": comment_id, "body": body, "author": {"displayName": "Maria"}},
        }

    post_jira(jira_webhook("OPS-7", "To Do", "Done"))
    assert post_jira(comment("570", "Fix: restarted the IR node")).json()["result"] == (
        "comment recorded as the fix"
    )
    post_jira(jira_webhook("OPS-7", "Done", "To Do"))
    post_jira(jira_webhook("OPS-7", "To Do", "Done"))

    assert post_jira(comment("571", "Fix: raised the IR's concurrent jobs limit")).json()[
        "result"
    ] == ("comment recorded as the fix")
    assert post_jira(comment("572", "Fix: something else")).json()["result"] == "comment recorded"
    latest = Resolution.objects.get(fix="raised the IR's concurrent jobs limit")
    mark_wrong(latest.pk, Actor.system("staff"))
    assert post_jira(comment("573", "Fix: moved the IR to a bigger VM")).json()["result"] == (
        "comment recorded as the fix"
    )

    later = Ticket.objects.create(
        id="ADF-20251211T000000-def456",
        pipeline="pl",
        run_id="adf:y",
        source="adf",
        fingerprint="f",
    )
    assert [fix.fix for fix in previous_fixes(later)] == [
        "moved the IR to a bigger VM",
        "restarted the IR node",
    ]


# What JIRA sends when someone comments (hosts and ids are the publishers' placeholders).
MARIA_ON_SERVER = {
    "self": "https://jira.example.org/rest/api/2/user?username=maria",
    "name": "maria",
    "key": "maria",
    "displayName": "Maria Lopez",
    "active": True,
    "timeZone": "Europe/Amsterdam",
}


def jira_comment(comment_id: str, body: str, author: dict, *, issue_id: str = "10040") -> dict:
    return {
        "self": f"https://jira.example.org/rest/api/2/issue/{issue_id}/comment/{comment_id}",
        "id": comment_id,
        "author": author,
        "body": body,
        "updateAuthor": author,
        "created": "2026-12-06T10:14:22.002+0100",
        "updated": "2026-12-06T10:14:22.002+0100",
    }


def issue_commented(issue_key: str, comment: dict) -> dict:
    """`jira:issue_updated` with `issue_event_type_name` `issue_commented`, the issue and the
    comment: the shape of a Jira Server capture (pastebin.com/9LSSdvj4) and of zulip/zulip's
    fixture `zerver/webhooks/jira/fixtures/commented_v2.json`; what a webhook subscribed to
    "Issue: updated" gets for a comment, and the only comment event it gets."""
    return {
        "timestamp": int(time.time() * 1000),
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_commented",
        "user": comment["author"],
        "issue": {
            "id": "10040",
            "self": "https://jira.example.org/rest/api/2/issue/10040",
            "key": issue_key,
            "fields": {"labels": ["rca-service"], "status": {"name": "Done"}},
        },
        "comment": comment,
    }


def cloud_comment_created(issue_key: str, comment: dict) -> dict:
    """`comment_created` as Jira Cloud sends it: the comment and the issue's id, key and a few
    fields (github.com/mattermost/mattermost-plugin-jira/pull/953)."""
    return {
        "timestamp": int(time.time() * 1000),
        "webhookEvent": "comment_created",
        "comment": comment,
        "issue": {"id": "10040", "key": issue_key, "fields": {"summary": "pl failed"}},
    }


def server_comment_created(comment: dict) -> dict:
    """`comment_created` as Jira Server/Data Center sends it: no `issue` at all; the comment's
    `self` names the issue by its id (captures from Jira 8.13 in
    github.com/Commit451/skyhook/issues/152 and from Jira Server in
    github.com/DefectDojo/django-DefectDojo/pull/3217; Jira Cloud has sent the same, zulip/zulip's
    `zerver/webhooks/jira/fixtures/comment_created_no_issue_details.json`)."""
    return {
        "timestamp": int(time.time() * 1000),
        "webhookEvent": "comment_created",
        "comment": comment,
    }


def test_a_fix_commented_on_jira_reaches_the_ticket_by_issue_updated_alone_and_once(linked_ticket):
    """A webhook subscribed to "Issue: updated" only got `issue_commented`, which was "nothing to
    apply": the README's `Fix:` comment on a resolved ticket was lost. Subscribed to "Comment:
    created" too, the same comment's `comment_created` is not recorded a second time."""
    post_jira(jira_webhook("OPS-7", "To Do", "Done"))
    comment = jira_comment("10200", "Fix: restarted the IR node", MARIA_ON_SERVER)

    first = post_jira(issue_commented("OPS-7", comment))
    again = post_jira(cloud_comment_created("OPS-7", comment))

    assert first.json() == {"ticket_id": linked_ticket.pk, "result": "comment recorded as the fix"}
    assert again.json()["result"] == "replay ignored"
    entry = AuditLog.objects.get(ticket=linked_ticket, action="jira comment")
    assert (entry.actor_name, entry.details["comment"]) == ("Maria Lopez", comment["body"])
    assert [r.fix for r in Resolution.objects.all()] == ["restarted the IR node"]


def test_the_services_own_comment_told_by_issue_updated_is_not_taken_for_a_persons(targets):
    """The comment the service posts on a resolve comes back as `issue_commented` made by its
    own account: neither a person's comment nor a fix."""
    jira, _, _ = targets
    ticket = Ticket.objects.create(
        id="ADF-20251210T123456-own001",
        pipeline="pl",
        run_id="adf:own",
        source="adf",
        fingerprint="f",
        itsm_ticket_id="OPS-8",
    )
    lifecycle.resolve(ticket.pk, Actor.system("test"))
    ours = {"name": jira.user, "emailAddress": jira.user, "displayName": "RCA bot"}

    response = post_jira(issue_commented("OPS-8", jira_comment("10300", "Fix: said by us", ours)))
    # As Jira Server's `comment_created` tells it: JIRA is not even asked which issue it is on.
    by_id = post_jira(server_comment_created(jira_comment("10301", "Fix: said by us", ours)))

    assert response.json()["result"] == "our own comment ignored"
    assert by_id.json()["result"] == "our own comment ignored"
    assert not jira.issue_requests("GET")
    assert not AuditLog.objects.filter(ticket=ticket, action="jira comment").exists()
    assert not Resolution.objects.exists()


def test_a_jira_server_comment_event_naming_its_issue_by_id_reaches_the_ticket(targets):
    """Jira Server/Data Center's `comment_created` has no `issue`: it was a 400. The issue's
    key is asked of JIRA by the id in the comment's URL."""
    jira, _, _ = targets
    key = jira.add_issue("OPS", "pl_orders failed")
    issue_id = jira.issues[key]["id"]
    ticket = Ticket.objects.create(
        id="ADF-20251210T123456-srv001",
        pipeline="pl",
        run_id="adf:srv",
        source="adf",
        fingerprint="f",
        itsm_ticket_id=key,
    )
    comment = jira_comment("10400", "Restarted the IR node", MARIA_ON_SERVER, issue_id=issue_id)

    response = post_jira(server_comment_created(comment))
    # The same comment's `issue_commented`, as Jira Server sends it too.
    again = post_jira(issue_commented(key, comment))

    assert response.status_code == 200, response.content
    assert response.json() == {"ticket_id": ticket.pk, "result": "comment recorded"}
    assert again.json()["result"] == "replay ignored"
    entry = AuditLog.objects.get(ticket=ticket, action="jira comment")
    assert entry.details == {"issue": key, "comment": "Restarted the IR node"}
    asked = [r for r in jira.issue_requests("GET") if r.path.endswith(f"/issue/{issue_id}")]
    assert len(asked) == 1


def test_a_jira_server_comment_on_an_issue_jira_does_not_show_is_ignored_and_jira_down_is_a_503(
    targets,
):
    jira, _, _ = targets
    key = jira.add_issue("OPS", "pl_orders failed")
    issue_id = jira.issues[key]["id"]
    ticket = Ticket.objects.create(
        id="ADF-20251210T123456-srv002",
        pipeline="pl",
        run_id="adf:srv2",
        source="adf",
        fingerprint="f",
        itsm_ticket_id=key,
    )
    unknown = server_comment_created(jira_comment("10500", "hi", MARIA_ON_SERVER, issue_id="99999"))
    comment = server_comment_created(
        jira_comment("10501", "Restarted it", MARIA_ON_SERVER, issue_id=issue_id)
    )

    ignored = post_jira(unknown)
    jira.fail(503, path_contains=f"/issue/{issue_id}")
    down = post_jira(comment)
    retried = post_jira(comment)

    assert (ignored.status_code, ignored.json()["ticket_id"]) == (200, None)
    assert ignored.json()["result"].startswith("ignored: JIRA issue 99999")
    assert down.status_code == 503
    assert "retry later" in down.json()["error"]
    assert retried.json() == {"ticket_id": ticket.pk, "result": "comment recorded"}
    assert AuditLog.objects.filter(ticket=ticket, action="jira comment").count() == 1


def test_comment_events_naming_one_issue_by_id_ask_jira_once(targets):
    """Each comment event named by id asked JIRA for its issue, a replay too (the replay check
    needs the key): whoever holds the webhook token could make the service call JIRA once per
    delivery. JIRA's answer is kept a while, the answer that it has no such issue too."""
    jira, _, _ = targets
    key = jira.add_issue("OPS", "pl_orders failed")
    issue_id = jira.issues[key]["id"]
    ticket = Ticket.objects.create(
        id="ADF-20251210T123456-srv003",
        pipeline="pl",
        run_id="adf:srv3",
        source="adf",
        fingerprint="f",
        itsm_ticket_id=key,
    )
    first = server_comment_created(jira_comment("10600", "one", MARIA_ON_SERVER, issue_id=issue_id))
    second = server_comment_created(
        jira_comment("10601", "two", MARIA_ON_SERVER, issue_id=issue_id)
    )
    unknown = server_comment_created(jira_comment("10602", "x", MARIA_ON_SERVER, issue_id="99998"))

    answers = [post_jira(body).json()["result"] for body in (first, first, first, second)]
    unknown_answers = [post_jira(unknown).json()["result"] for _ in range(3)]

    assert answers == ["comment recorded", "replay ignored", "replay ignored", "comment recorded"]
    assert AuditLog.objects.filter(ticket=ticket, action="jira comment").count() == 2
    assert len(unknown_answers) == 3 and unknown_answers[0].startswith("ignored: JIRA issue 99998")
    asked = [r.path for r in jira.issue_requests("GET")]
    assert asked.count(f"/rest/api/2/issue/{issue_id}") == 1, asked
    assert asked.count("/rest/api/2/issue/99998") == 1, asked


def test_comment_events_named_by_id_do_not_ask_a_failing_jira_again_and_again(targets, settings):
    """JIRA failing, every comment event named by id waited on it (a web worker held for up to
    OUTBOUND_TIMEOUT_SECONDS each): its failures open the JIRA target's circuit, and while it
    is open the event is a 503 at once, JIRA not asked."""
    jira, _, _ = targets
    settings.CIRCUIT_FAILURE_THRESHOLD = 2
    settings.CIRCUIT_OPEN_SECONDS = 60
    jira.fail(503, times=None, path_contains="/issue/")

    statuses = [
        post_jira(
            server_comment_created(
                jira_comment(f"107{n:02}", "hi", MARIA_ON_SERVER, issue_id=f"{20000 + n}")
            )
        ).status_code
        for n in range(6)
    ]

    assert statuses == [503] * 6
    assert len(jira.issue_requests("GET")) == 2
    assert CircuitBreaker("jira").state() == "open"


def test_a_comment_event_named_by_id_is_recorded_with_redis_down(targets, settings):
    """JIRA's answers are kept in Redis, and the circuit is there: Redis down, JIRA is asked."""
    jira, _, _ = targets
    key = jira.add_issue("OPS", "pl_orders failed")
    issue_id = jira.issues[key]["id"]
    ticket = Ticket.objects.create(
        id="ADF-20251210T123456-srv004",
        pipeline="pl",
        run_id="adf:srv4",
        source="adf",
        fingerprint="f",
        itsm_ticket_id=key,
    )
    nowhere = "redis://127.0.0.1:1/0"
    settings.REDIS_URL = nowhere
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": nowhere}
    }
    comment = jira_comment("10650", "Restarted it", MARIA_ON_SERVER, issue_id=issue_id)

    response = post_jira(server_comment_created(comment))

    assert response.json() == {"ticket_id": ticket.pk, "result": "comment recorded"}


def test_a_comment_event_named_by_id_does_not_tell_the_sender_the_issues_key(targets):
    """The answer to a comment event naming an issue no ticket is linked to named the key JIRA
    gave for the id (and said apart one JIRA has from one it has not): a webhook token was
    enough to learn the keys of any issue the service's account may see, id by id."""
    jira, _, _ = targets
    key = jira.add_issue("OPS", "payroll restructuring")
    issue_id = jira.issues[key]["id"]

    known = post_jira(
        server_comment_created(jira_comment("10800", "hi", MARIA_ON_SERVER, issue_id=issue_id))
    )
    unknown = post_jira(
        server_comment_created(jira_comment("10801", "hi", MARIA_ON_SERVER, issue_id="99997"))
    )

    assert known.status_code == 200
    assert key not in known.content.decode()
    assert known.json()["result"] == unknown.json()["result"].replace("99997", issue_id)


def test_a_comment_url_naming_an_issue_id_jira_could_not_have_is_refused_unasked(targets):
    jira, _, _ = targets
    comment = jira_comment("10900", "hi", MARIA_ON_SERVER, issue_id="1" * 400)

    response = post_jira(server_comment_created(comment))

    assert response.status_code == 400
    assert "at most 19 digits" in response.json()["error"]
    assert not jira.issue_requests("GET")


def test_a_comment_url_naming_an_issue_id_past_a_java_long_is_refused_unasked(targets):
    """An id of 19 digits above 2^63-1 was asked of JIRA, whose ids are Java longs: a JIRA
    failing to read it (a 500) made the event a 503, which the sender retries for ever. No
    JIRA issue has such an id: the event is a 400, as one past 19 digits is."""
    jira, _, _ = targets
    jira.fail(500, times=None, path_contains=str(2**63))
    comment = jira_comment("10901", "hi", MARIA_ON_SERVER, issue_id=str(2**63))

    response = post_jira(server_comment_created(comment))

    assert response.status_code == 400
    assert str(2**63 - 1) in response.json()["error"]
    assert not jira.issue_requests("GET")


def test_a_fix_given_with_the_resolving_transition_is_kept_without_its_fix_prefix(linked_ticket):
    done = jira_webhook("OPS-7", "To Do", "Done")
    done["comment"] = {"id": "570", "body": "Fix: rotated the key", "author": {"displayName": "M"}}

    assert post_jira(done).json()["result"] == "status set to resolved"
    assert [r.fix for r in Resolution.objects.all()] == ["rotated the key"]


def resolved_with(resolution: str, comment: str, key: str = "OPS-7") -> dict:
    """Jira's `jira:issue_updated` for a move to Done through a transition screen that set the
    resolution, with the comment typed on that screen (the changelog lists the resolution's
    item first, as Jira does)."""
    done = jira_webhook(key, "In Progress", "Done")
    done["issue_event_type_name"] = "issue_resolved"
    done["changelog"]["items"].insert(
        0,
        {
            "field": "resolution",
            "fieldtype": "jira",
            "fieldId": "resolution",
            "from": None,
            "fromString": None,
            "to": "10001",
            "toString": resolution,
        },
    )
    done["comment"] = {"id": uuid.uuid4().hex[:6], "body": comment, "author": MARIA}
    return done


@pytest.mark.parametrize(
    "resolution", ["Won't Do", "Duplicate", "Cannot Reproduce", "Won\u2019t Fix"]
)
def test_an_issue_closed_as_not_fixed_resolves_the_ticket_but_records_no_fix(
    linked_ticket, resolution
):
    """Done with the resolution Won't Do or Duplicate: its comment ("duplicate of OPS-3") was
    kept as what fixed the failure, and offered as a previous fix for the next one like it."""
    closed = resolved_with(resolution, "Duplicate of OPS-3, handled there")

    assert post_jira(closed).json()["result"] == "status set to resolved"
    assert Ticket.objects.get(pk=linked_ticket.pk).status == "resolved"
    assert not Resolution.objects.exists()
    entry = AuditLog.objects.get(ticket=linked_ticket, action="resolve")
    assert entry.details["note"] == f"JIRA OPS-7 (resolution: {resolution})"


def test_an_issue_closed_as_fixed_keeps_its_comment_as_the_fix(linked_ticket):
    assert post_jira(resolved_with("Fixed", "Fix: rotated the key")).json()["result"] == (
        "status set to resolved"
    )
    assert [r.fix for r in Resolution.objects.all()] == ["rotated the key"]


def test_an_incidents_issue_closed_as_a_duplicate_records_no_fix_on_its_members(targets):
    incident = Incident.objects.create(
        id="INC-20251210T120000-dup001", itsm_ticket_id="OPS-90", member_count=2
    )
    for n in range(2):
        member = Ticket.objects.create(
            id=f"ADF-20251210T12000{n}-dup00{n}",
            pipeline=f"pl{n}",
            run_id=f"adf:{n}",
            source="adf",
            fingerprint=f"f{n}",
            incident=incident,
        )
    Incident.objects.filter(pk=incident.pk).update(lead_ticket=member)

    closed = resolved_with("Duplicate", "Same as INC-1", key="OPS-90")

    assert "status set to resolved" in post_jira(closed).json()["result"]
    assert set(Ticket.objects.values_list("status", flat=True)) == {"resolved"}
    assert not Resolution.objects.exists()


def test_a_long_fix_typed_in_jira_is_kept_as_long_as_one_typed_elsewhere(linked_ticket):
    """A fix pasted on JIRA's resolve screen was cut at 4,000 characters, silently, where one
    given through the API, admin, the dashboard or Slack keeps 8,000."""
    steps = " ".join(
        f"step {n}: restarted node {n} of the integration runtime." for n in range(120)
    )
    assert 4000 < len(steps) < 7990

    assert post_jira(resolved_with("Done", f"Fix: {steps}")).json()["result"] == (
        "status set to resolved"
    )
    assert [r.fix for r in Resolution.objects.all()] == [steps]


def test_the_jira_status_map_is_editable(linked_ticket):
    for name, status in (("To Do", "open"), ("Done", "acknowledged"), ("Closed", "resolved")):
        # The migration seeds the default map (gone when an earlier test flushed the database).
        JiraStatusMapping.objects.update_or_create(
            jira_status__iexact=name, defaults={"jira_status": name, "ticket_status": status}
        )
    clear_rule_cache()

    assert post_jira(jira_webhook("OPS-7", "To Do", "Done")).json()["result"] == (
        "status set to acknowledged"
    )
    assert post_jira(jira_webhook("OPS-7", "Done", "Closed")).json()["result"] == (
        "status set to resolved"
    )
    assert jira_status.jira_status_for("resolved") == "Closed"


def test_a_workflow_with_its_own_status_names_says_to_map_them_and_works_once_mapped(
    celery_worker, targets
):
    """A project whose workflow is Triage / Investigating / Closed: the dead letter and the
    webhook's answer name the fix (the status map in admin), not only the mismatch."""
    jira, _, _ = targets
    jira.workflow = (
        Transition("11", "Back to triage", "Triage"),
        Transition("21", "Investigate", "Investigating"),
        Transition("31", "Close", "Closed"),
    )
    slack_responder("daan")
    ticket = fanned_out(post_failure()["ticket_id"])
    settled(ticket.pk)

    post_slack_click(ticket.pk, "rca_take")
    closed = post_jira(jira_webhook(ticket.itsm_ticket_id, "Investigating", "Closed"))

    settled(ticket.pk)
    dead = OutboundDelivery.objects.get(ticket=ticket, action="jira_sync")
    assert dead.status == OutboundStatus.DEAD
    assert dead.last_error == (
        "JIRA OPS-1: no transition leads to 'In Progress' (available: Back to triage -> Triage,"
        " Investigate -> Investigating, Close -> Closed); map the workflow's statuses to the "
        "ticket's in admin (JIRA status mappings), then retry this delivery"
    )
    assert closed.json()["result"] == (
        "status 'Closed' not mapped: map the workflow's statuses to the ticket's in admin "
        "(JIRA status mappings)"
    )
    # Mapped, the dead letter retried moves the issue and tells who took it.
    JiraStatusMapping.objects.all().delete()
    for name, status in (
        ("Triage", "open"),
        ("Investigating", "in_progress"),
        ("Closed", "resolved"),
    ):
        JiraStatusMapping.objects.create(jira_status=name, ticket_status=status)
    clear_rule_cache()
    assert fanout.retry_dead([dead.pk]) == 1
    settled(ticket.pk)
    issue = jira.issues["OPS-1"]
    assert issue["status"] == "Investigating"
    assert [c["body"] for c in issue["comments"]] == [
        "daan took the ticket (in progress) via Slack in the RCA service."
    ]
    closed_again = jira_webhook(ticket.itsm_ticket_id, "Investigating", "Closed")
    assert post_jira(closed_again).json()["result"] == "status set to resolved"


def test_a_map_with_no_status_for_resolved_says_so_in_a_dead_letter_not_silently(
    celery_worker, targets
):
    """The admin's map lost its Done row (deleted, or its ticket status changed in the list):
    resolved here, the issue stayed In Progress with no error anywhere, while the comment said
    the ticket was resolved. The delivery is a dead letter naming the remedy; retried once
    the map has the row, the issue moves."""
    jira, _, _ = targets
    JiraStatusMapping.objects.all().delete()
    for name, status in (("To Do", "open"), ("In Progress", "in_progress")):
        JiraStatusMapping.objects.create(jira_status=name, ticket_status=status)
    clear_rule_cache()
    ticket = fanned_out(post_failure()["ticket_id"])
    settled(ticket.pk)
    ana = Actor.for_user(make_user("ana", "responder"), "dashboard")

    lifecycle.resolve(ticket.pk, ana, fix="rotated the key")
    settled(ticket.pk)

    dead = OutboundDelivery.objects.get(ticket=ticket, action="jira_sync")
    assert dead.status == OutboundStatus.DEAD
    assert dead.last_error == (
        "JIRA OPS-1: no JIRA status is mapped to resolved; map one in admin (JIRA status "
        "mappings), then retry this delivery"
    )
    assert jira_status.unmapped_statuses() == ["resolved"]
    JiraStatusMapping.objects.create(jira_status="Done", ticket_status="resolved")
    clear_rule_cache()
    assert fanout.retry_dead([dead.pk]) == 1
    settled(ticket.pk)
    assert jira.issues["OPS-1"]["status"] == "Done"


# Jira Server/Data Center's classic workflow: Reopen only from Resolved and Closed, which it
# offers no way back to Open from.
CLASSIC_WORKFLOW = (
    Transition("4", "Start Progress", "In Progress", ("Open", "Reopened")),
    Transition("5", "Resolve Issue", "Resolved", ("Open", "In Progress", "Reopened")),
    Transition("2", "Close Issue", "Closed", ("Open", "In Progress", "Resolved", "Reopened")),
    Transition("3", "Reopen Issue", "Reopened", ("Resolved", "Closed")),
)


def test_a_ticket_reopened_here_reopens_its_issue_in_a_classic_workflow(celery_worker, targets):
    """Open and Reopened both mapped to open (and Resolved and Closed to resolved): reopened
    here, the ticket's issue was sent to Open, the first mapped, which no transition from
    Resolved leads to: a dead letter, and the issue stayed Resolved. It goes to Reopened, and
    JIRA's echo of that move changes nothing."""
    jira, _, _ = targets
    jira.workflow, jira.initial_status = CLASSIC_WORKFLOW, "Open"
    JiraStatusMapping.objects.all().delete()
    for order, (name, status) in enumerate(
        (
            ("Open", "open"),
            ("Reopened", "open"),
            ("In Progress", "in_progress"),
            ("Resolved", "resolved"),
            ("Closed", "resolved"),
        )
    ):
        JiraStatusMapping.objects.create(jira_status=name, ticket_status=status, order=order)
    clear_rule_cache()
    ticket = fanned_out(post_failure()["ticket_id"])
    settled(ticket.pk)
    ana = Actor.for_user(make_user("ana", "responder"), "dashboard")

    lifecycle.resolve(ticket.pk, ana, fix="rotated the key")
    settled(ticket.pk)
    issue = jira.issues[ticket.itsm_ticket_id]
    assert issue["status"] == "Resolved"
    lifecycle.reopen(ticket.pk, ana)
    settled(ticket.pk)

    dead = OutboundDelivery.objects.filter(ticket=ticket, status=OutboundStatus.DEAD)
    assert [(row.action, row.last_error) for row in dead] == []
    assert [(t["from"], t["to"]) for t in issue["transitions"]] == [
        ("Open", "Resolved"),
        ("Resolved", "Reopened"),
    ]
    echo = post_jira(
        jira_webhook(ticket.itsm_ticket_id, "Resolved", "Reopened", user=jira.myself())
    )
    assert echo.json()["result"] == "our own change ignored"
    ticket.refresh_from_db()
    assert ticket.status == "open"


def test_a_done_transition_whose_screen_requires_a_resolution_gets_one_that_says_fixed(
    celery_worker, targets
):
    """A workflow whose Done transition shows the Resolution screen (JIRA then refuses the
    move without one: "Field Resolution is required."): every resolve here was a dead letter
    and the issue stayed open. It is moved with the resolution that says fixed, not the first
    the site lists (Won't Fix), and a transition without a screen is sent no field."""
    jira, _, _ = targets
    jira.workflow = (
        Transition("11", "Reopen", "To Do"),
        Transition("21", "Start Progress", "In Progress"),
        Transition("31", "Resolve", "Done", screen=("resolution",)),
    )
    jira.resolutions = ("Won't Fix", "Duplicate", "Fixed", "Done")
    ticket = fanned_out(post_failure()["ticket_id"])
    settled(ticket.pk)
    ana = Actor.for_user(make_user("ana", "responder"), "dashboard")

    lifecycle.resolve(ticket.pk, ana, fix="rotated the key")
    settled(ticket.pk)
    lifecycle.reopen(ticket.pk, ana)
    settled(ticket.pk)

    dead = OutboundDelivery.objects.filter(ticket=ticket, status=OutboundStatus.DEAD)
    assert [(row.action, row.last_error) for row in dead] == []
    issue = jira.issues[ticket.itsm_ticket_id]
    assert [(t["from"], t["to"]) for t in issue["transitions"]] == [
        ("To Do", "Done"),
        ("Done", "To Do"),
    ]
    assert issue["resolution"] == "Fixed"


@pytest.mark.django_db
def test_a_mapping_saved_with_surrounding_spaces_is_still_found():
    """Rows saved before the admin stripped names ("Done ") must still map both ways."""
    JiraStatusMapping.objects.all().delete()
    JiraStatusMapping.objects.create(jira_status=" Done ", ticket_status="resolved")
    clear_rule_cache()

    assert jira_status.ticket_status_for("done") == "resolved"
    assert jira_status.jira_status_for("resolved") == "Done"


@pytest.mark.parametrize(
    "body, status, reason",
    [
        ({"webhookEvent": "jira:issue_updated"}, 400, "issue"),
        # A comment event naming its issue neither by `issue` nor in the comment's URL.
        (
            {"webhookEvent": "comment_created", "comment": {"id": "1", "self": "https://x/y/1"}},
            400,
            "comment.self",
        ),
        ({"webhookEvent": "comment_created"}, 400, "comment"),
        ([1, 2], 400, "JSON object"),
    ],
)
def test_bad_jira_bodies_get_a_clear_4xx_and_change_nothing(linked_ticket, body, status, reason):
    response = post_jira(body)
    assert response.status_code == status
    assert reason in response.json()["error"]
    assert Ticket.objects.get(pk=linked_ticket.pk).status == "open"


def test_stale_or_unsigned_slack_clicks_are_refused(linked_ticket):
    stale = post_slack_click(linked_ticket.pk, "rca_acknowledge", age=600)
    unsigned = Client().post(
        "/webhooks/slack/actions/",
        data="payload=%7B%7D",
        content_type="application/x-www-form-urlencoded",
    )
    assert (stale.status_code, unsigned.status_code) == (401, 401)
    assert Ticket.objects.get(pk=linked_ticket.pk).status == "open"


def test_a_refused_slack_click_says_why_a_stale_one_by_how_far_off(
    linked_ticket, caplog, monkeypatch
):
    """Every click refused with one vague "missing, wrong or stale" left an operator whose
    server clock is off guessing at the secret: a rightly signed click from too far ago (or
    ahead) says that, and how far; a wrong signature says that."""
    monkeypatch.setattr(views, "_REFUSAL_WARNED_AT", {})
    slack_responder("daan")
    old = post_slack_click(linked_ticket.pk, "rca_acknowledge", age=600)
    ahead = post_slack_click(linked_ticket.pk, "rca_acknowledge", age=-420)
    with override_settings(SLACK_SIGNING_SECRET="another-apps-secret"):
        wrong = post_slack_click(linked_ticket.pk, "rca_acknowledge")
    # Signed rightly, past the 4,300 digits int() reads: it was a 500.
    huge = post_slack_click(linked_ticket.pk, "rca_acknowledge", timestamp="9" * 5000)

    assert (old.status_code, ahead.status_code, wrong.status_code) == (401, 401, 401)
    assert (huge.status_code, huge.json()["error"]) == (
        401,
        "missing or malformed Slack request timestamp (X-Slack-Request-Timestamp)",
    )
    stale = re.compile(
        r"stale Slack request: signed rightly, but its timestamp is (\d+) s (old|ahead of this "
        r"server's clock) \(more than 5 minutes either way\): a replay, or this server's "
        r"clock is off"
    )
    said_old = stale.fullmatch(old.json()["error"])
    said_ahead = stale.fullmatch(ahead.json()["error"])
    assert said_old and said_old[2] == "old" and 600 <= int(said_old[1]) <= 605
    assert said_ahead and said_ahead[2] != "old" and 415 <= int(said_ahead[1]) <= 420
    assert wrong.json()["error"] == ("wrong Slack signature (not signed with SLACK_SIGNING_SECRET)")
    assert Ticket.objects.get(pk=linked_ticket.pk).status == "open"
    # Logged for the operator, once a minute: the first refusal only.
    refused = [r.getMessage() for r in caplog.records if "webhook refused" in r.getMessage()]
    assert refused == [f"slack webhook refused: {old.json()['error']}"]


@pytest.mark.parametrize("bom", ["before the body", "before the JSON"])
def test_a_slack_click_with_a_utf8_byte_order_mark_is_applied(linked_ticket, bom):
    """As a JSON webhook body with one is: it was a 400 (no form field 'payload', or the
    payload's JSON refused for its BOM)."""
    slack_responder("daan")
    response = post_slack_click(linked_ticket.pk, "rca_take", bom=bom)
    assert response.status_code == 200, response.content
    assert Ticket.objects.get(pk=linked_ticket.pk).status == "in_progress"


def test_a_jira_event_about_an_issue_no_ticket_is_linked_to_is_ignored(linked_ticket):
    """Any other issue of the project (jira:issue_created included) reaches the webhook unless
    its JQL filters it out: a 4xx would show as a failed delivery in JIRA."""
    created = jira_webhook("NOPE-1", "", "To Do")
    created.update(webhookEvent="jira:issue_created", issue_event_type_name="issue_created")
    del created["changelog"]

    response = post_jira(created)

    assert response.status_code == 200, response.content
    assert response.json() == {
        "ticket_id": None,
        "result": "ignored: no ticket is linked to JIRA issue NOPE-1",
    }
    assert Ticket.objects.get(pk=linked_ticket.pk).status == "open"
    kept = WebhookDelivery.objects.get(source="jira")
    assert (kept.ticket_id, kept.reason) == (None, response.json()["result"])


@pytest.mark.parametrize(
    "setting, post",
    [
        ("JIRA_WEBHOOK_SECRET", lambda: post_jira(jira_webhook("OPS-7", "To Do", "Done"))),
        (
            "SLACK_SIGNING_SECRET",
            lambda: post_slack_click("ADF-20251210T123456-abc123", "rca_take"),
        ),
    ],
)
def test_a_sync_back_webhook_without_its_secret_says_the_secret_is_not_set(
    linked_ticket, settings, caplog, monkeypatch, setting, post
):
    """Not "wrong signature": the operator must see that this service lacks the secret. Every
    request is answered so, but logged once a minute: an unauthenticated sender cannot flood
    the log."""
    slack_responder("daan")
    setattr(settings, setting, "")
    monkeypatch.setattr(views, "_SECRET_UNSET_WARNED_AT", {})

    responses = [post(), post()]

    for response in responses:
        assert response.status_code == 401
        assert f"{setting} is not configured on this service" in response.json()["error"]
    warnings = [
        r
        for r in caplog.records
        if f"{setting} is not configured on this service" in r.getMessage()
    ]
    assert len(warnings) == 1 and warnings[0].levelname == "WARNING"
    assert Ticket.objects.get(pk=linked_ticket.pk).status == "open"
    assert not WebhookDelivery.objects.exists()


def test_a_slack_click_on_an_unknown_ticket_is_answered_and_explained(celery_worker, targets):
    """Deleted, or a button of another installation's message: Slack shows its generic error
    for anything but a 200, so the click is answered and the clicker told why."""
    _, slack, _ = targets
    slack_responder("daan")
    slack.add_user(SLACK_USER_ID, name="daan")

    response = post_slack_click("ADF-20990101T000000-ffffff", "rca_take")

    assert response.status_code == 200, response.content
    refusal = "there is no ticket ADF-20990101T000000-ffffff here"
    assert response.json() == {"result": [f"no change: {refusal}"]}
    told = f"Nothing was changed: {refusal}."
    wait_for(lambda: [note["text"] for note in slack.ephemeral] == [told])
    assert slack.ephemeral[0]["user"] == SLACK_USER_ID
    kept = WebhookDelivery.objects.get(source="slack")
    assert (kept.ticket_id, kept.reason) == (None, f"no change: {refusal}")


def test_an_unauthorised_slack_click_learns_nothing_of_which_tickets_exist(
    celery_worker, targets, linked_ticket
):
    """A clicker without authority is answered "not allowed", whether the ticket exists or not,
    before the ticket is looked up."""
    _, slack, _ = targets
    slack.add_user(SLACK_USER_ID, name="daan")  # no SlackIdentity: no responder's authority

    unknown = post_slack_click("ADF-20990101T000000-ffffff", "rca_take")
    known = post_slack_click(linked_ticket.pk, "rca_take")

    assert (unknown.status_code, known.status_code) == (200, 200)
    [result] = unknown.json()["result"]
    assert result.startswith("not allowed: ")
    assert known.json()["result"] == [result]
    wait_for(lambda: len(slack.ephemeral) == 2)
    told = [note["text"] for note in slack.ephemeral]
    assert told[0] == told[1] and told[0].startswith("You are not allowed to act on RCA tickets")
    assert Ticket.objects.get(pk=linked_ticket.pk).status == "open"


def test_a_slack_user_maps_to_the_django_user(linked_ticket):
    """By the Slack user id (the Slack username is the user's to choose); who else may act
    from Slack: tests/security/test_slack_authority.py."""
    user = slack_responder("daan")
    assert post_slack_click(linked_ticket.pk, "rca_take", username="someone").status_code == 200
    entry = AuditLog.objects.get(ticket=linked_ticket, action="start_progress")
    assert (entry.user, entry.actor_kind) == (user, "slack")


@pytest.mark.django_db
def test_a_delivery_is_logged_under_its_tickets_tracking_id(settings, caplog):
    from rca_project.observability import TrackingIdFilter

    settings.SLACK_BOT_TOKEN = ""
    ticket = Ticket.objects.get(pk=post_failure()["ticket_id"])
    fanout.schedule(ticket.pk, "slack_post", f"{ticket.pk}:slack_post")
    row = OutboundDelivery.objects.get(ticket=ticket, action="slack_post")
    caplog.handler.addFilter(TrackingIdFilter())

    with caplog.at_level("INFO", logger="integrations.fanout"):
        assert fanout.deliver(row.pk).status == OutboundStatus.SKIPPED

    line = next(r for r in caplog.records if r.getMessage() == f"outbound {row.pk}: skipped")
    assert line.tracking_id == str(ticket.tracking_id)


def test_a_tickets_follow_ups_commit_with_its_change_or_not_at_all(linked_ticket, monkeypatch):
    """Written inside the change's transaction: a process dying just after the commit loses
    no follow-up, and a change rolled back leaves none behind."""
    from django.db import transaction

    from tickets import lifecycle

    OutboundDelivery.objects.create(
        ticket=linked_ticket,
        key=f"{linked_ticket.pk}:jira_create",
        action="jira_create",
        target="jira",
        status=OutboundStatus.SUCCEEDED,
    )
    follow_ups = OutboundDelivery.objects.filter(
        ticket=linked_ticket, status=OutboundStatus.PENDING
    )

    class RolledBack(Exception):
        """Raised inside the change's transaction to roll it back."""

    with pytest.raises(RolledBack), transaction.atomic():
        lifecycle.acknowledge(linked_ticket.pk, lifecycle.Actor.system("ana"))
        assert "jira_sync" in set(follow_ups.values_list("action", flat=True))
        raise RolledBack
    assert not follow_ups.exists()

    # A target whose `follow` fails is skipped and logged; the change and the others' go on.
    import dataclasses

    from integrations import targets as registry

    def broken(change):
        raise RuntimeError("a bug in a target")

    real = registry.targets()
    monkeypatch.setattr(
        registry, "targets", lambda: [dataclasses.replace(real[0], follow=broken), *real[1:]]
    )
    acknowledged = lifecycle.acknowledge(linked_ticket.pk, lifecycle.Actor.system("ana"))
    assert acknowledged.status == "acknowledged"
    assert real[0].name not in set(follow_ups.values_list("target", flat=True))
    assert follow_ups.exists()


@contextlib.contextmanager
def dashboard_events() -> Iterator[Callable[[str, str], dict]]:
    """What a connected dashboard receives: a channel in its group, and a function that waits
    for a ticket's change of an action."""
    publisher.flush()  # an earlier test's events go before this channel joins
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(GROUP, channel)

    async def change_of(ticket_id: str, action: str) -> dict:
        while True:
            message = await asyncio.wait_for(layer.receive(channel), 5)
            for event in message["events"]:
                if (event.get("ticket_id"), event.get("action")) == (ticket_id, action):
                    return event

    try:
        yield async_to_sync(change_of)
    finally:
        async_to_sync(layer.group_discard)(GROUP, channel)


def reroute_in_admin(ticket: Ticket, username: str) -> None:
    OwnershipRule.objects.create(
        pipeline_pattern="pl_copy_sales_*",
        finops_team="sales-data",
        finops_owner="ana",
        slack_channel="#data-platform-alerts",
        jira_project="SALES",
    )
    clear_rule_cache()
    staff = Client()
    staff.force_login(make_user(username, is_staff=True, is_superuser=True))
    staff.post(
        reverse("admin:tickets_ticket_changelist"),
        {"action": "reroute", "_selected_action": [ticket.pk]},
    )


def test_a_ticket_rerouted_after_its_slack_alert_failed_gets_its_new_owner_in_jira_and_live(
    celery_worker, targets, settings
):
    """Its Slack channel was refused, so staff re-route it in admin: the team and owner
    change with the channel. The JIRA issue, made already, kept naming the old team and owner
    in its description, and the dashboard was not told (it showed the old team until
    reloaded)."""
    jira, slack, _ = targets
    settings.SLACK_DEFAULT_CHANNEL = "#no-such-default"
    ticket = fanned_out(post_failure()["ticket_id"])
    assert OutboundDelivery.objects.get(ticket=ticket, action="slack_post").status == "dead"

    with dashboard_events() as change_of:
        reroute_in_admin(ticket, "ana-admin")
        assert change_of(ticket.pk, "re-routed")["actor"] == "ana-admin"

    settled(ticket.pk)
    ticket.refresh_from_db()
    description = jira.issues[ticket.itsm_ticket_id]["description"]
    assert "*Team:* sales-data" in description and "*Owner:* ana" in description
    assert ticket.itsm_ticket_id.startswith("OPS-")  # the issue stays where it was made
    # Its follow-up for the alert not posted yet waits for nothing: the post, retried, shows
    # the ticket as it is then.
    assert not OutboundDelivery.objects.dead().filter(ticket=ticket).exists()
    message = json.dumps(slack.messages[(ticket.slack_channel, ticket.slack_ts)]["blocks"])
    assert "*Team*\\nsales-data" in message and "*Owner*\\nana" in message


def test_a_ticket_rerouted_after_its_jira_issue_failed_gets_its_new_owner_in_slack(
    celery_worker, targets, settings
):
    """Its JIRA project was refused, and the corrected rule's is refused too: the Slack alert,
    posted already, kept showing the old team and owner (only the JIRA issue's creation, once
    it succeeds, edits the alert), as the dashboard did."""
    jira, slack, _ = targets
    settings.JIRA_DEFAULT_PROJECT = "NOPE"
    ticket = fanned_out(post_failure()["ticket_id"])
    assert OutboundDelivery.objects.get(ticket=ticket, action="jira_create").status == "dead"
    jira.fail(400, jira.error_body(400, "project is required"), times=None, path_contains="issue")

    with dashboard_events() as change_of:
        reroute_in_admin(ticket, "ana-admin")
        assert change_of(ticket.pk, "re-routed")["actor"] == "ana-admin"

    settled(ticket.pk)
    ticket.refresh_from_db()
    message = json.dumps(slack.messages[(ticket.slack_channel, ticket.slack_ts)]["blocks"])
    assert "*Team*\\nsales-data" in message and "*Owner*\\nana" in message
    assert ticket.itsm_ticket_id == "" and not jira.issues
    # Nothing waits on the issue that was not made: the re-route's JIRA follow-up is done.
    assert (
        not OutboundDelivery.objects.filter(ticket=ticket, action="jira_sync")
        .exclude(status=OutboundStatus.SUCCEEDED)
        .exists()
    )


def reroute_to_ana(ticket_id: str) -> None:
    """Staff re-route the ticket in admin by a rule naming its team and owner (its Slack
    channel and JIRA project left as they are)."""
    OwnershipRule.objects.create(
        pipeline_pattern="pl_copy_sales_*", finops_team="sales-data", finops_owner="ana"
    )
    clear_rule_cache()
    staff = Client()
    staff.force_login(make_user("ana-admin", is_staff=True, is_superuser=True))
    staff.post(
        reverse("admin:tickets_ticket_changelist"),
        {"action": "reroute", "_selected_action": [ticket_id]},
    )


def rerouted_follow_up_tried(ticket_id: str, action: str) -> bool:
    """The re-route's follow-up of `action` was handed to a worker at least once."""
    rows = OutboundDelivery.objects.filter(
        ticket_id=ticket_id, action=action, payload__action=lifecycle.REROUTED
    )
    return DeliveryAttempt.objects.filter(outbound__in=rows).exists()


def test_a_ticket_rerouted_while_its_jira_issue_is_being_made_gets_its_new_owner_there(
    celery_worker, targets, settings
):
    """The issue was being made (JIRA slow to answer) when staff re-routed the ticket: the
    request had named the old team and owner, and the re-route's follow-up, finding no issue
    yet, took the issue to come as showing the new ones. The issue named the old owner."""
    jira, _slack, _ = targets
    settings.OUTBOUND_TIMEOUT_SECONDS = 10
    jira.stall(8, times=1, path_contains="/rest/api/2/issue")
    ticket_id = post_failure()["ticket_id"]
    wait_for(lambda: any(r.method == "POST" for r in jira.requests_to("/rest/api/2/issue")))

    reroute_to_ana(ticket_id)
    wait_for(lambda: rerouted_follow_up_tried(ticket_id, "jira_sync"))
    jira.release_stalled()

    settled(ticket_id)
    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.finops_owner == "ana"
    description = jira.issues[ticket.itsm_ticket_id]["description"]
    assert "*Team:* sales-data" in description and "*Owner:* ana" in description
    assert not OutboundDelivery.objects.dead().filter(ticket_id=ticket_id).exists()


def test_a_ticket_rerouted_while_its_slack_alert_is_being_posted_gets_its_new_owner_there(
    celery_worker, targets, settings
):
    """As for the JIRA issue: the alert being posted when staff re-routed the ticket showed
    the old team and owner (no JIRA here, whose issue's link edits the alert again)."""
    _jira, slack, _ = targets
    settings.JIRA_URL = ""
    settings.OUTBOUND_TIMEOUT_SECONDS = 10
    slack.stall(8, times=1, path_contains="chat.postMessage")
    ticket_id = post_failure()["ticket_id"]
    wait_for(lambda: bool(slack.requests_to("chat.postMessage")))

    reroute_to_ana(ticket_id)
    wait_for(lambda: rerouted_follow_up_tried(ticket_id, "slack_sync"))
    slack.release_stalled()

    settled(ticket_id)
    ticket = Ticket.objects.get(pk=ticket_id)
    message = json.dumps(slack.messages[(ticket.slack_channel, ticket.slack_ts)]["blocks"])
    assert "*Team*\\nsales-data" in message and "*Owner*\\nana" in message
    assert not OutboundDelivery.objects.dead().filter(ticket_id=ticket_id).exists()


def test_changes_held_up_by_a_throttled_target_are_told_in_their_order(celery_worker, targets):
    """JIRA and Slack throttle the acknowledgement's follow-ups (429, Retry-After 2 s); the
    resolve a moment later was told at once and the acknowledgement after it: the issue's last
    comment and the thread's last reply said "acknowledged" on a resolved ticket."""
    jira, slack, _ = targets
    ticket = paged_and_clicked()
    jira.throttle(2, times=1)
    slack.throttle(2, times=1, path_contains="chat.update")

    post_slack_click(ticket.pk, "rca_acknowledge")
    throttled = DeliveryAttempt.objects.filter(
        outbound__ticket=ticket, outcome=AttemptOutcome.TRANSIENT_ERROR
    )
    wait_for(lambda: throttled.count() == 2)  # the acknowledgement's, in JIRA and Slack
    post_slack_click(ticket.pk, "rca_resolve")

    settled(ticket.pk)
    comments = [c["body"] for c in jira.issues[ticket.itsm_ticket_id]["comments"]]
    assert [c.split(" via ")[0] for c in comments] == [
        "daan acknowledged the ticket",
        "daan resolved the ticket",
    ]
    assert jira.issues[ticket.itsm_ticket_id]["status"] == "Done"
    replies = [r["text"] for r in slack.thread(ticket.slack_channel, ticket.slack_ts)]
    assert replies == ["daan — acknowledge (via slack)", "daan — resolve (via slack)"]
    assert "Resolved by daan" in json.dumps(
        slack.messages[(ticket.slack_channel, ticket.slack_ts)]["blocks"]
    )


def test_a_paged_databricks_tickets_run_read_later_gives_its_jira_issue_and_alert_its_creator(
    celery_worker, targets, settings
):
    """Its run could not be read when it paged (no Databricks credentials yet), so the issue
    and the alert name the default owner; the RCA re-run once the credentials are set reads
    the run, whose creator owns the ticket from then on (no ownership rule matches): the issue's
    description, the alert and the dashboard show the new owner."""
    jira, slack, _ = targets
    settings.DEFAULT_FINOPS_OWNER = "on-call"
    settings.DATABRICKS_HOST = settings.DATABRICKS_TOKEN = ""
    payload = local_payload("databricks_task_run_on_failure.json")
    parent, attempt = (int(payload["run"][key]) for key in ("parent_run_id", "run_id"))
    ticket = fanned_out(post_failure_to("/webhooks/databricks/", payload)["ticket_id"])
    assert "*Owner:* on-call" in jira.issues[ticket.itsm_ticket_id]["description"]

    with FakeDatabricks() as databricks, dashboard_events() as change_of:
        settings.DATABRICKS_HOST, settings.DATABRICKS_TOKEN = databricks.url, databricks.token
        run = job_run(run_id=parent, tasks=[task("ingest_orders", attempt, "FAILED", "Failed")])
        databricks.add_run({**run, "creator_user_name": "alice.smith@example.com"})
        databricks.outputs[attempt] = {"error": "java.io.FileNotFoundException: /mnt/raw/x.csv"}
        services.analyse_ticket(ticket.pk, force=True)
        assert change_of(ticket.pk, "re-routed")["actor"] == "enrichment"

    settled(ticket.pk)
    ticket.refresh_from_db()
    assert ticket.finops_owner == "alice.smith"
    assert "*Owner:* alice.smith" in jira.issues[ticket.itsm_ticket_id]["description"]
    message = json.dumps(slack.messages[(ticket.slack_channel, ticket.slack_ts)]["blocks"])
    assert "*Owner*\\nalice.smith" in message
    assert not OutboundDelivery.objects.dead().filter(ticket=ticket).exists()
