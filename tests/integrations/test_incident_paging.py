"""Acting on an incident from Slack and JIRA, and how its members page: a real Celery worker, the
real jira and slack-sdk clients against the local servers (tests/fakes), signed Slack clicks and
JIRA webhooks posted at our endpoints."""

from __future__ import annotations

import io
import json
import time
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from integrations.circuit import CircuitBreaker
from integrations.models import OutboundDelivery, OutboundStatus, WebhookDelivery
from tests.conftest import SessionThreads, wait_for
from tests.fakes.jira_api import FakeJira
from tests.fakes.slack_api import FakeSlack
from tests.integrations.test_fanout import (
    JIRA_SECRET,
    SLACK_SECRET,
    SLACK_USER_ID,
    jira_webhook,
    post_jira,
    post_slack_click,
    slack_responder,
)
from tests.tickets.test_incidents import STORM_MESSAGE, post, storm_failure
from tickets import incidents
from tickets.models import AuditLog, Incident, IncidentEvent, Resolution, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def targets(settings):
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
        settings.AZURE_STORAGE_CONNECTION_STRING = ""
        settings.OUTBOUND_TIMEOUT_SECONDS = 2
        settings.OUTBOUND_BACKOFF_SECONDS = 0.05
        settings.OUTBOUND_BACKOFF_MAX_SECONDS = 0.4
        settings.CIRCUIT_FAILURE_THRESHOLD = 100
        settings.INCIDENT_UPDATE_SECONDS = 1.0
        settings.GEMINI_API_KEY = ""
        for target in ("jira", "slack", "blob"):
            CircuitBreaker(target).reset()
        yield jira, slack


def settled() -> None:
    pending = OutboundDelivery.objects.filter(status=OutboundStatus.PENDING)
    try:
        # Still none half a second on: follow-ups are scheduled just after a delivery commits.
        wait_for(lambda: not pending.exists(), 30)
        time.sleep(0.5)
        wait_for(lambda: not pending.exists(), 30)
    except AssertionError:
        state = list(pending.values_list("action", "attempts", "last_error", "next_attempt_at"))
        raise AssertionError(f"deliveries still pending: {state}") from None


def paged_outage_and_responder() -> tuple[Incident, Any]:
    """Two pipelines failing on one culprit: their paged incident, and a responder's API client."""
    from tests.api import clear_throttles, jwt_client, make_user

    clear_throttles()
    post(storm_failure("pl_orders"))
    post(storm_failure("pl_customers"))
    return paged_incident(), jwt_client(make_user("responder", "maria"))


def paged_incident() -> Incident:
    incident = wait_for(
        lambda: Incident.objects.exclude(itsm_ticket_id="").exclude(slack_ts="").first(), 30
    )
    settled()
    incident.refresh_from_db()
    return incident


def transitions(jira: FakeJira, key: str) -> int:
    return len(
        [r for r in jira.issue_requests("POST") if r.path.endswith(f"/issue/{key}/transitions")]
    )


def buttons(slack: FakeSlack, incident: Incident) -> dict[str, str]:
    blocks = slack.messages[(incident.slack_channel, incident.slack_ts)]["blocks"]
    return {
        element["action_id"]: element["value"]
        for block in blocks
        if block["type"] == "actions"
        for element in block["elements"]
    }


def test_slack_buttons_and_jira_act_on_the_incident_once(celery_worker, targets):
    jira, slack = targets
    slack_responder("daan")
    members = [post(storm_failure(f"pl_member_{n}"))["ticket_id"] for n in range(4)]
    incident = paged_incident()
    assert buttons(slack, incident) == {
        "rca_incident_acknowledge": incident.pk,
        "rca_incident_take": incident.pk,
        "rca_incident_resolve": incident.pk,
    }
    # The members paged nothing of their own: the incident's page is all there is.
    assert not Ticket.objects.filter(pk__in=members).exclude(itsm_ticket_id="").exists()
    key = incident.itsm_ticket_id
    updates_before = len(slack.api_requests("chat.update"))

    response = post_slack_click(incident.pk, "rca_incident_acknowledge")

    assert response.status_code == 200, response.content
    assert response.json()["result"] == [f"acknowledge of incident {incident.pk} by daan"]
    assert set(Ticket.objects.filter(pk__in=members).values_list("status", flat=True)) == {
        "acknowledged"
    }
    acks = AuditLog.objects.filter(ticket_id__in=members, action="acknowledge")
    assert acks.count() == 4
    assert {(a.actor_kind, a.user and a.user.username) for a in acks} == {("slack", "daan")}
    assert all(incident.pk in a.details["note"] for a in acks)
    settled()
    # One JIRA transition (to In Progress), one update of the Slack message.
    assert transitions(jira, key) == 1
    assert jira.issues[key]["status"] == "In Progress"
    assert len(slack.api_requests("chat.update")) == updates_before + 1
    assert set(buttons(slack, Incident.objects.get())) == {"rca_incident_resolve"}
    # JIRA tells us about the transition we made: nothing changes, nothing is audited.
    echo = post_jira(jira_webhook(key, "To Do", "In Progress", user=jira.myself()))
    assert echo.json()["result"] == "our own change ignored"
    assert acks.count() == 4
    # A second click on a stale message changes nothing, and the clicker is told why.
    slack.add_user(SLACK_USER_ID, name="daan")
    again = post_slack_click(incident.pk, "rca_incident_acknowledge").json()["result"][0]
    assert again.startswith("no change")
    told = (
        "Nothing was changed: cannot acknowledge an incident that is acknowledged "
        "(acknowledged by daan via Slack just now)."
    )
    wait_for(lambda: [note["text"] for note in slack.ephemeral] == [told])

    # Done in JIRA resolves the incident and every member, through the sync-back path.
    jira.issues[key]["status"] = "Done"  # a responder moved the issue in JIRA
    done = jira_webhook(key, "In Progress", "Done", changelog_id="done-1")
    answer = post_jira(done)
    assert answer.status_code == 200
    assert answer.json()["result"] == f"incident {incident.pk} status set to resolved"
    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert set(Ticket.objects.filter(pk__in=members).values_list("status", flat=True)) == {
        "resolved"
    }
    resolves = AuditLog.objects.filter(ticket_id__in=members, action="resolve")
    assert resolves.count() == 4
    assert all(key in r.details["note"] and incident.pk in r.details["note"] for r in resolves)
    assert post_jira(done).json()["result"] == "replay ignored"
    assert IncidentEvent.objects.filter(incident=incident, kind="resolved").count() == 1
    settled()
    assert transitions(jira, key) == 1  # the issue is Done already: no transition of ours
    assert buttons(slack, incident) == {}


def test_an_incident_click_needs_a_responder_and_an_incident(celery_worker, targets):
    post(storm_failure("pl_orders"))
    post(storm_failure("pl_customers"))
    incident = Incident.objects.get()
    # No SlackIdentity for the clicking user, and no e-mail on its profile.
    refused = post_slack_click(incident.pk, "rca_incident_resolve")
    assert refused.status_code == 200
    assert refused.json()["result"][0].startswith("not allowed")
    assert Incident.objects.get().status == "open"
    assert not AuditLog.objects.filter(actor_kind="slack").exists()
    # Authority first: the refused user learns nothing of which incidents exist.
    unknown = post_slack_click("INC-nope", "rca_incident_resolve")
    assert unknown.status_code == 200
    assert unknown.json()["result"] == refused.json()["result"]
    slack_responder("daan")
    unknown = post_slack_click("INC-nope", "rca_incident_resolve")
    assert unknown.status_code == 200
    assert unknown.json()["result"] == ["no change: there is no incident INC-nope here"]


def test_a_click_on_an_incident_merged_away_says_where_to_act_instead(
    celery_worker, targets, settings
):
    """The message of an incident merged into another, still open in Slack with its buttons:
    the click changes nothing, and the clicker is told which incident took its members, who
    merged it, when, and where to act."""
    from tests.dashboard import make_user
    from tests.tickets.test_incidents import two_incidents
    from tickets.lifecycle import Actor

    _, slack = targets
    settings.PUBLIC_BASE_URL = "https://rca.example.test"
    first, second = two_incidents()
    settled()
    maria = make_user("maria", "responder")
    incidents.merge(second.pk, first.pk, Actor.for_user(maria, via="api"))
    slack_responder("daan")
    slack.add_user(SLACK_USER_ID, name="daan")

    click = post_slack_click(second.pk, "rca_incident_acknowledge")

    assert click.status_code == 200
    assert click.json()["result"] == [f"no change: merged into {first.pk}"]
    assert Incident.objects.get(pk=first.pk).status == "open"
    told = (
        f"Nothing was changed: incident {second.pk} was merged into incident {first.pk} "
        f"(merged by maria just now); act on {first.pk}'s message or its page: "
        f"https://rca.example.test/incidents/{first.pk}/"
    )
    wait_for(lambda: [note["text"] for note in slack.ephemeral] == [told])


def incident_comments(jira: FakeJira, key: str, incident: Incident) -> int:
    return len([c for c in jira.issues[key]["comments"] if incident.pk in c["body"]])


def incident_replies(slack: FakeSlack, ticket: Ticket, incident: Incident) -> int:
    replies = slack.thread(ticket.slack_channel, ticket.slack_ts)
    return len([r for r in replies if incident.pk in r["text"]])


def test_an_early_member_that_paged_is_pointed_to_its_incident_once(
    celery_worker, targets, settings
):
    jira, slack = targets
    settings.INCIDENT_GRACE_SECONDS = 0.2
    first = post(storm_failure("pl_orders"))["ticket_id"]
    # Alone past its grace delay: it pages on its own.
    early = wait_for(
        lambda: (
            Ticket.objects.filter(pk=first).exclude(itsm_ticket_id="").exclude(slack_ts="").first()
        ),
        30,
    )
    [post(storm_failure(f"pl_member_{n}"))["ticket_id"] for n in range(3)]
    incident = paged_incident()
    wait_for(lambda: incident_comments(jira, early.itsm_ticket_id, incident) >= 1, 30)
    settled()

    assert incident_comments(jira, early.itsm_ticket_id, incident) == 1
    assert incident_replies(slack, early, incident) == 1
    links = OutboundDelivery.objects.filter(ticket_id=first, action__endswith="_inc_link")
    assert sorted(links.values_list("action", "status")) == [
        ("jira_inc_link", "succeeded"),
        ("slack_inc_link", "succeeded"),
    ]


def test_a_member_paging_while_its_incident_forms_is_pointed_to_it_once(targets, settings):
    """The race: the member's own issue and alert are being created (held at JIRA and Slack)
    while its incident forms and pages. Its create read the ticket before it joined; the
    incident's page looked for paged members before the member's key was saved. The member is
    still pointed to its incident, once."""
    import threading

    from django.db import connections

    from integrations import fanout
    from tests.tickets.test_incident_rca import process

    jira, slack = targets
    settings.INCIDENT_GRACE_SECONDS = 0
    settings.OUTBOUND_TIMEOUT_SECONDS = 15
    jira.stall(3, times=1, path_contains="/issue")
    slack.stall(3, times=1, path_contains="chat.postMessage")
    first = post(storm_failure("pl_orders"))["ticket_id"]
    process([first])
    own = dict(OutboundDelivery.objects.filter(ticket_id=first).values_list("action", "pk"))

    def deliver(outbound_id: int) -> None:
        try:
            fanout.deliver(outbound_id)
        finally:
            connections.close_all()

    held = [
        threading.Thread(target=deliver, args=(own[action],))
        for action in ("jira_create", "slack_post")
    ]
    for thread in held:
        thread.start()
    wait_for(lambda: jira.issue_requests("POST") and slack.api_requests("chat.postMessage"), 10)
    # Meanwhile the incident forms and pages.
    post(storm_failure("pl_customers"))
    incident = Incident.objects.get()
    for action in ("jira_inc_create", "slack_inc_post"):
        fanout.deliver(OutboundDelivery.objects.get(key=f"incident:{incident.pk}:{action}").pk)
    for thread in held:
        thread.join(30)
    early = Ticket.objects.get(pk=first)
    assert early.itsm_ticket_id and early.slack_ts
    incident.refresh_from_db()
    assert incident.itsm_ticket_id and incident.slack_ts
    for row in OutboundDelivery.objects.filter(action__endswith="_inc_link"):
        fanout.deliver(row.pk)

    assert incident_comments(jira, early.itsm_ticket_id, incident) == 1
    assert incident_replies(slack, early, incident) == 1


def post_success(pipeline: str) -> dict:
    from django.conf import settings
    from django.test import Client

    body = storm_failure(pipeline)
    body.update(status="Succeeded", error_message="")
    response = Client().post(
        "/webhooks/adf/",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_X_WEBHOOK_TOKEN=settings.WEBHOOK_TOKEN,
    )
    assert response.status_code in (200, 202), response.content
    return response.json()


def test_the_recovered_count_is_the_members_recovered_now():
    """A member that recovered, failed again and recovered again counts once; while it fails
    again it counts not at all (the remediation hold reads this count)."""
    pipelines = ["pl_orders", "pl_customers", "pl_invoices"]
    for pipeline in pipelines:
        post(storm_failure(pipeline))
    incident = Incident.objects.get()

    post_success("pl_orders")
    assert post(storm_failure("pl_orders"))["outcome"] == "regressed"
    incident.refresh_from_db()
    assert incident.recovered_count == 0
    post_success("pl_orders")
    post_success("pl_customers")
    incident.refresh_from_db()
    assert (incident.recovered_count, incident.member_count, incident.status) == (2, 3, "open")


def test_a_recovered_member_failing_again_counts_no_more_when_recovery_does_not_resolve(settings):
    """With RESOLVE_ON_SOURCE_RECOVERY off a recovered member stays open, so its next failure
    is a recurrence, not a regression: its recovery must not keep releasing held remediations."""
    settings.RESOLVE_ON_SOURCE_RECOVERY = False
    for pipeline in ("pl_orders", "pl_customers"):
        post(storm_failure(pipeline))
    incident = Incident.objects.get()
    post_success("pl_orders")
    incident.refresh_from_db()
    assert incident.recovered_count == 1

    again = post(storm_failure("pl_orders"))
    assert again["outcome"] == "correlated"
    incident.refresh_from_db()
    assert incident.recovered_count == 0
    ticket = Ticket.objects.get(pk=again["ticket_id"])
    assert ticket.resolved_at_source_at is None and ticket.remediation_status == ""

    # Every member recovered, so the incident ended; one failing again reopens it.
    post_success("pl_orders")
    post_success("pl_customers")
    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.recovered_at is not None
    assert post(storm_failure("pl_customers"))["outcome"] == "correlated"
    incident.refresh_from_db()
    assert (incident.status, incident.recovered_at, incident.recovered_count) == ("open", None, 1)


def test_the_incident_page_shows_how_many_members_recovered_as_its_board_card_does():
    from django.test import Client

    from tests.api import make_user

    for pipeline in ("pl_orders", "pl_customers", "pl_invoices"):
        post(storm_failure(pipeline))
    incident = Incident.objects.get()
    viewer = Client()
    viewer.force_login(make_user("viewer"))
    # The badge is there for the page's live updates, hidden while no member recovered.
    page = viewer.get(f"/incidents/{incident.pk}/").content.decode()
    assert 'data-live="recovered-count" hidden>0 recovered<' in page

    post_success("pl_orders")
    post_success("pl_customers")
    incident.refresh_from_db()
    assert incident.recovered_count == 2
    card = viewer.get("/").content.decode().split(f'data-incident="{incident.pk}"')[1]
    assert "2 recovered" in card.split("</article>")[0]
    page = viewer.get(f"/incidents/{incident.pk}/").content.decode()
    head = page.split('<header class="ticket-head"')[1].split("</header>")[0]
    assert "3 members" in head and "2 recovered" in head


def test_reopening_an_incident_from_jira_leaves_no_reopened_member_counted_recovered(targets):
    """A member that recovered at its source is resolved; reopening the incident from JIRA
    reopens it as a ticket's reopen does (its recovery cleared), but the incident still
    counted it recovered: an open member beside "1 recovered"."""
    key = "OPS-78"
    for pipeline in ("pl_orders", "pl_customers", "pl_invoices"):
        post(storm_failure(pipeline))
    incident = Incident.objects.get()
    Incident.objects.filter(pk=incident.pk).update(itsm_ticket_id=key)
    post_success("pl_orders")
    incident.refresh_from_db()
    assert incident.recovered_count == 1

    done = post_jira(jira_webhook(key, "In Progress", "Done", changelog_id="inc-done-2"))
    assert done.json()["result"] == f"incident {incident.pk} status set to resolved"
    reopen = jira_webhook(key, "Done", "To Do", changelog_id="inc-reopen-2")
    reopen["timestamp"] += 1000  # after the Done
    answer = post_jira(reopen)

    assert answer.json()["result"] == f"incident {incident.pk} status set to open"
    incident.refresh_from_db()
    members = incident.members.all()
    recovered = members.filter(resolved_at_source_at__isnull=False).count()
    assert incident.recovered_count == recovered
    assert (incident.status, incident.recovered_at, incident.recovered_count) == ("open", None, 0)
    assert set(members.values_list("status", flat=True)) == {"open"}
    # Its pipeline recovering again counts it again.
    post_success("pl_orders")
    incident.refresh_from_db()
    assert incident.recovered_count == 1


def test_reopening_a_recovered_member_from_its_own_ticket_counts_it_recovered_no_more():
    """Its reopen clears its recovery at the source, as the incident's reopen does; the
    incident's count (which the remediation hold reads) follows at once, not at the next
    recovery, recurrence or regression."""
    from tests.api import clear_throttles, jwt_client, make_user

    clear_throttles()
    for pipeline in ("pl_orders", "pl_customers", "pl_invoices"):
        post(storm_failure(pipeline))
    incident = Incident.objects.get()
    post_success("pl_orders")
    post_success("pl_customers")
    incident.refresh_from_db()
    assert incident.recovered_count == 2
    member = Ticket.objects.get(pipeline="pl_orders")

    responder = jwt_client(make_user("responder"))
    assert responder.post(f"/api/v1/tickets/{member.pk}/reopen/").status_code == 200

    incident.refresh_from_db()
    assert Ticket.objects.get(pk=member.pk).resolved_at_source_at is None
    assert incident.recovered_count == 1
    post_success("pl_orders")  # its pipeline recovering again counts it again
    incident.refresh_from_db()
    assert incident.recovered_count == 2


def test_handing_back_an_acknowledged_member_leaves_its_recovered_incident_resolved(settings):
    """With RESOLVE_ON_SOURCE_RECOVERY off a recovered member stays acknowledged; its reopen
    (handing it back) clears no recovery, so the incident every member's recovery resolved
    stays resolved (it was reopened with every member recovered: nothing left to end it)."""
    from tests.api import clear_throttles, jwt_client, make_user

    settings.RESOLVE_ON_SOURCE_RECOVERY = False
    clear_throttles()
    for pipeline in ("pl_orders", "pl_customers"):
        post(storm_failure(pipeline))
    incident = Incident.objects.get()
    member = Ticket.objects.get(pipeline="pl_orders")
    responder = jwt_client(make_user("responder"))
    assert responder.post(f"/api/v1/tickets/{member.pk}/acknowledge/").status_code == 200
    post_success("pl_orders")
    post_success("pl_customers")
    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.recovered_at is not None

    assert responder.post(f"/api/v1/tickets/{member.pk}/reopen/").status_code == 200

    assert Ticket.objects.get(pk=member.pk).status == "open"
    incident.refresh_from_db()
    assert (incident.status, incident.recovered_count) == ("resolved", 2)
    assert incident.recovered_at is not None


def test_a_failure_joining_an_incident_acknowledged_in_slack_is_the_clickers_too(targets):
    """The members acknowledged by the click name its responder's account; a failure joining
    after it took the same action by the same responder, but its audit entry named no account
    (only a user acting from the API or the dashboard was looked up)."""
    responder = slack_responder("daan")
    first = post(storm_failure("pl_orders"))["ticket_id"]
    post(storm_failure("pl_customers"))
    incident = Incident.objects.get()
    assert post_slack_click(incident.pk, "rca_incident_acknowledge").status_code == 200

    joined = post(storm_failure("pl_invoices"))["ticket_id"]

    member = AuditLog.objects.get(ticket_id=first, action="acknowledge")
    entry = AuditLog.objects.get(ticket_id=joined, action="acknowledge")
    assert (member.actor_kind, member.user_id) == ("slack", responder.pk)
    assert (entry.actor_kind, entry.actor_name, entry.user_id) == ("slack", "daan", responder.pk)
    assert entry.details["note"] == f"via incident {incident.pk} in slack: joined it acknowledged"


def test_a_member_failing_again_in_an_acknowledged_incident_is_acknowledged_again():
    """A member recovered (and was resolved) while the rest of its incident still failed and
    people owned it; its pipeline failing again reopened it as a regression, open with a fresh
    SLA clock in an acknowledged incident that was not reopened: no one was told, and beat
    breached it though the outage was owned. It takes the incident's status as a joining
    failure does."""
    from datetime import timedelta

    from django.utils import timezone

    from tests.api import clear_throttles, jwt_client, make_user
    from tickets.lifecycle import mark_sla_breaches

    clear_throttles()
    for pipeline in ("pl_orders", "pl_customers", "pl_invoices"):
        post(storm_failure(pipeline))
    incident = Incident.objects.get()
    user = make_user("responder")
    answer = jwt_client(user).post(f"/api/v1/incidents/{incident.pk}/acknowledge/")
    assert answer.status_code == 200, answer.content
    post_success("pl_orders")

    again = post(storm_failure("pl_orders"))

    assert again["outcome"] == "regressed"
    incident.refresh_from_db()
    assert incident.status == "acknowledged"
    ticket = Ticket.objects.get(pk=again["ticket_id"])
    assert (ticket.status, ticket.sla_status, ticket.ack_user) == (
        "acknowledged",
        "Met",
        user.username,
    )
    entry = AuditLog.objects.filter(ticket=ticket, action="acknowledge").latest("pk")
    assert (entry.actor_name, entry.user_id) == (user.username, user.pk)
    assert entry.details["note"] == (
        f"via incident {incident.pk} in api: failed again while it was acknowledged"
    )
    mark_sla_breaches(timezone.now() + timedelta(days=30))
    ticket.refresh_from_db()
    assert ticket.sla_status == "Met"


@pytest.mark.parametrize("auto_resolve", [True, False])
def test_the_incident_resolves_itself_when_every_member_has_recovered(settings, auto_resolve):
    settings.INCIDENT_AUTO_RESOLVE = auto_resolve
    pipelines = ["pl_orders", "pl_customers", "pl_invoices"]
    for pipeline in pipelines:
        post(storm_failure(pipeline))
    incident = Incident.objects.get()

    for pipeline in pipelines[:2]:
        assert post_success(pipeline)["outcome"] == "resolved"
    incident.refresh_from_db()
    assert (incident.recovered_count, incident.status, incident.recovered_at) == (2, "open", None)

    post_success(pipelines[2])

    incident.refresh_from_db()
    assert incident.recovered_count == 3
    kinds = list(IncidentEvent.objects.filter(incident=incident).values_list("kind", flat=True))
    assert kinds.count("recovered") == 3
    if auto_resolve:
        assert incident.status == "resolved" and incident.recovered_at is not None
        assert kinds.count("resolved") == 1
    else:
        assert incident.status == "open" and incident.recovered_at is None
        assert "resolved" not in kinds


def test_a_lone_failure_pages_after_its_grace_delay(celery_worker, targets, settings):
    _jira, slack = targets
    settings.INCIDENT_GRACE_SECONDS = 1.5
    lone = post(storm_failure("pl_alone"))["ticket_id"]
    ticket = wait_for(
        lambda: (
            Ticket.objects.filter(pk=lone).exclude(itsm_ticket_id="").exclude(slack_ts="").first()
        ),
        30,
    )
    for action in ("jira_create", "slack_post"):
        row = OutboundDelivery.objects.get(ticket_id=lone, action=action)
        sent = row.tries.get().started_at
        assert (sent - row.created_at).total_seconds() >= 1.5
    assert len(slack.top_level()) == 1 and ticket.incident_id is None
    assert Incident.objects.count() == 0


def test_a_failure_that_joins_an_incident_in_its_grace_delay_skips_its_own_page(
    celery_worker, targets, settings
):
    jira, slack = targets
    settings.INCIDENT_GRACE_SECONDS = 3
    first = post(storm_failure("pl_orders"))["ticket_id"]
    # The second failure arrives while the first waits out its grace delay: once the first is
    # analysed and its own page scheduled (not before, or both would just share the incident).
    wait_for(lambda: OutboundDelivery.objects.filter(ticket_id=first).exists(), 30)
    post(storm_failure("pl_customers"))
    incident = paged_incident()

    own = OutboundDelivery.objects.filter(ticket_id=first).exclude(payload__has_key="incident_id")
    # Its own deliveries ran after the delay and found it in an incident: nothing sent.
    assert set(own.values_list("action", "status")) >= {
        ("jira_create", "succeeded"),
        ("slack_post", "succeeded"),
    }
    assert Ticket.objects.get(pk=first).itsm_ticket_id == ""
    creates = [r for r in jira.issue_requests("POST") if r.path.endswith("/issue")]
    assert len(creates) == 1 and len(slack.top_level()) == 1
    assert incident.itsm_ticket_id and incident.lead_ticket_id == first


def test_a_member_detached_after_its_grace_delay_skipped_its_page_pages_on_its_own_once(
    celery_worker, targets, settings
):
    """Its own creates ran in the incident's grace delay and skipped it: their keys exist, yet
    detached it must page like any lone failure, once however often its detach is followed."""
    from integrations import fanout
    from tickets.lifecycle import Actor

    jira, slack = targets
    incident, waiting = incident_whose_members_skipped_their_pages(settings)
    second = waiting[1]
    own = OutboundDelivery.objects.filter(
        ticket_id=second, action__in=["jira_create", "slack_post"]
    )
    assert set(own.values_list("status", flat=True)) == {"succeeded"}
    assert Ticket.objects.get(pk=second).itsm_ticket_id == ""

    incidents.detach(incident.pk, second, Actor.system("test"))
    detached = wait_for(
        lambda: (
            Ticket.objects.filter(pk=second).exclude(itsm_ticket_id="").exclude(slack_ts="").first()
        ),
        30,
    )
    settled()
    fanout.schedule_own_page(second)  # its detach followed twice
    settled()

    creates = [r for r in jira.issue_requests("POST") if r.path.endswith("/issue")]
    assert len(creates) == 2 and len(slack.top_level()) == 2  # the incident's, and its own
    assert detached.incident_id is None
    assert Ticket.objects.get(pk=waiting[0]).itsm_ticket_id == ""  # still a member


def test_a_detached_members_issue_that_cannot_be_created_leaves_its_syncs_dead_not_waiting(
    celery_worker, targets, settings
):
    """Its own create skipped it in the grace delay; its create after the detach is refused
    (its project is gone): a change of it then has no issue to update and says so, as any
    ticket's whose create died, instead of waiting for the skipped create for ever."""
    from tickets import lifecycle
    from tickets.lifecycle import Actor

    incident, waiting = incident_whose_members_skipped_their_pages(settings)
    second = waiting[1]
    Ticket.objects.filter(pk=second).update(jira_project="GONE")

    incidents.detach(incident.pk, second, Actor.system("test"))
    wait_for(lambda: Ticket.objects.filter(pk=second).exclude(slack_ts="").exists(), 30)
    settled()
    creates = OutboundDelivery.objects.filter(ticket_id=second, action="jira_create")
    assert list(creates.values_list("status", flat=True)) == ["succeeded", "dead"]

    lifecycle.acknowledge(second, Actor.system("test"))
    sync = OutboundDelivery.objects.filter(ticket_id=second, action="jira_sync")
    dead = wait_for(lambda: sync.filter(status=OutboundStatus.DEAD).first(), 15)
    assert dead.last_error == "no JIRA issue to update (dead letter)"


def test_an_incidents_issue_carries_the_fields_jira_issue_fields_gives_its_project(
    celery_worker, targets, settings
):
    """A project requiring Team refused the incident's issue too: JIRA_ISSUE_FIELDS gives it."""
    jira, _ = targets
    team = {"customfield_10010": {"id": "42"}}
    jira.required_fields = {"OPS": {"customfield_10010": "Team"}}
    settings.JIRA_ISSUE_FIELDS = {"OPS": team}

    post(storm_failure("pl_orders"))
    post(storm_failure("pl_customers"))
    incident = paged_incident()

    assert not OutboundDelivery.objects.filter(status=OutboundStatus.DEAD).exists()
    issue = jira.issues[incident.itsm_ticket_id]
    assert issue["other_fields"] == team
    assert "rca-incident" in issue["labels"]


REFUSED = "java.net.ConnectException: Connection refused: sql-prod-01.database.windows.net:1433"


@pytest.mark.parametrize("graver", ["member_joins", "member_raised_by_its_fetched_text"])
def test_an_incident_grown_graver_after_it_paged_shows_it_on_its_message_and_issue(
    celery_worker, targets, graver
):
    """The on-call engineer reads the page's severity and priority: a graver member joining,
    or a member its fetched error text raised (`rules.severity_raised_by_class`), raises
    the incident, and its Slack message and JIRA issue (its priority too) follow."""
    from analysis.enrichment_service import Enriched
    from analysis.services import _store_enriched

    jira, slack = targets
    message = STORM_MESSAGE if graver == "member_joins" else REFUSED
    members = [post(storm_failure(p, message=message))["ticket_id"] for p in ("pl_a", "pl_b")]
    incident = paged_incident()
    before = incident.severity
    assert jira.issues[incident.itsm_ticket_id]["priority"] in ("High", "Medium")

    if graver == "member_joins":
        post({**storm_failure("pl_c"), "severity": "Critical"})
        severity, priority, emoji = "Critical", "Highest", ":red_circle:"
    else:
        _store_enriched(Ticket.objects.get(pk=members[0]), Enriched(error_message=STORM_MESSAGE))
        severity, priority, emoji = "High", "High", ":large_orange_circle:"
    incident.refresh_from_db()
    assert (before, incident.severity) != (severity, severity)
    assert incident.severity == severity

    issue = wait_for(
        lambda: (
            jira.issues[incident.itsm_ticket_id]
            if jira.issues[incident.itsm_ticket_id]["priority"] == priority
            else None
        ),
        15,
    )
    settled()
    assert issue["summary"].startswith(f"[{severity}]")
    assert slack.messages[(incident.slack_channel, incident.slack_ts)]["text"].startswith(emoji)


def test_every_team_whose_pipelines_are_members_is_told_once_in_its_channel(celery_worker, targets):
    from tickets.models import OwnershipRule

    _jira, slack = targets
    for team in ("a", "b", "c"):
        slack.channels[f"team-{team}"] = f"C0TEAM{team.upper()}0001"
        OwnershipRule.objects.create(
            pipeline_pattern=f"pl_{team}_*",
            finops_team=f"team-{team}",
            slack_channel=f"#team-{team}",
        )
    for n in range(2):
        post(storm_failure(f"pl_a_{n}"))
        post(storm_failure(f"pl_b_{n}"))
    incident = paged_incident()
    assert incident.slack_channel == "C0TEAMA0001"  # the first member's team is paged
    # Team b's pipelines are members too: its channel is told where the incident is followed
    # (it was told nothing: its on-call never heard its pipelines were down).
    told = wait_for(lambda: slack.top_level("C0TEAMB0001"), 30)
    assert len(told) == 1
    assert incident.pk in told[0]["text"] and "pl_b_0" in told[0]["text"]
    assert not any(block["type"] == "actions" for block in told[0].get("blocks") or [])
    # Later members: a new team is told when it joins, a team told already is not told again.
    post(storm_failure("pl_b_2"))
    post(storm_failure("pl_c_0"))
    wait_for(lambda: slack.top_level("C0TEAMC0001"), 30)
    settled()
    assert [len(slack.top_level(f"C0TEAM{t}0001")) for t in "ABC"] == [1, 1, 1]


def _team_rules(**channels: str) -> None:
    """An ownership rule per team: its pipelines `pl_<team>_*` are routed to its channel."""
    from tickets.models import OwnershipRule

    for team, channel in channels.items():
        OwnershipRule.objects.create(
            pipeline_pattern=f"pl_{team}_*", finops_team=f"team-{team}", slack_channel=channel
        )


def _deliver_slack_incident(incident: Incident) -> None:
    from integrations import fanout

    fanout.deliver(OutboundDelivery.objects.get(key=f"incident:{incident.pk}:slack_inc_post").pk)


def _posted_incident_of_two_teams(slack: FakeSlack, *pipelines: str, **rules: str) -> Incident:
    """Team a's and team b's channels, an ownership rule per team (`rules`, team a's and b's
    by default), the `pipelines`' failures posted and their incident's Slack message out."""
    slack.channels["team-a"], slack.channels["team-b"] = "C0TEAMA0001", "C0TEAMB0001"
    _team_rules(**(rules or {"a": "#team-a", "b": "#team-b"}))
    for pipeline in pipelines:
        post(storm_failure(pipeline))
    incident = Incident.objects.get()
    _deliver_slack_incident(incident)
    return incident


def test_a_channel_routed_with_and_without_its_hash_is_told_once(targets):
    """Ownership rules may name a channel with or without its '#' (both are valid): it is one
    channel, told once (it got a notice per spelling)."""
    from integrations import fanout

    _jira, slack = targets
    _posted_incident_of_two_teams(
        slack, "pl_a_0", "pl_a_1", "pl_b_0", "pl_bb_0", a="#team-a", b="#team-b", bb="team-b"
    )
    for row in OutboundDelivery.objects.filter(action="slack_inc_notice"):
        fanout.deliver(row.pk)

    told = slack.top_level("C0TEAMB0001")
    assert len(told) == 1, [m["text"] for m in told]
    assert "pl_b_0" in told[0]["text"] and "pl_bb_0" in told[0]["text"]


def test_a_notice_left_with_no_member_in_its_channel_is_not_sent(targets):
    """The member routed to another team's channel was detached (or its incident merged into
    another) before the notice went out: that channel has nothing to be told (it was told
    its pipelines were members, naming none)."""
    from integrations import fanout
    from tickets.lifecycle import Actor

    _jira, slack = targets
    incident = _posted_incident_of_two_teams(slack, "pl_a_0", "pl_a_1", "pl_b_0")
    notice = OutboundDelivery.objects.get(action="slack_inc_notice")
    member = Ticket.objects.get(pipeline="pl_b_0")
    incidents.detach(incident.pk, member.pk, Actor.system("test"))

    fanout.deliver(notice.pk)

    assert slack.top_level("C0TEAMB0001") == []


def test_the_incidents_own_channel_gets_no_notice_when_its_id_is_not_known_here(targets):
    """Another worker thread (or process) updating the incident may not know which id the
    lead's routed channel name has (nor Redis, after its entry expired): the lead's channel is
    still the one the incident is posted in, and gets no notice there."""
    from django.core.cache import cache
    from django.utils import timezone

    from integrations import fanout
    from integrations.targets.slack import _channel_key

    _jira, slack = targets
    _posted_incident_of_two_teams(slack, "pl_a_0", "pl_a_1", "pl_b_0")
    fanout._transport.cache_clear()  # a thread that never posted to '#team-a'
    cache.delete(_channel_key("#team-a"))  # and Redis's entry expired

    post(storm_failure("pl_a_2"))
    # The joins' updates (one per INCIDENT_UPDATE_SECONDS window: the posts may span two).
    updates = OutboundDelivery.objects.filter(
        action="slack_inc_update", status=OutboundStatus.PENDING
    )
    assert updates.exists()
    for update in updates:
        OutboundDelivery.objects.filter(pk=update.pk).update(next_attempt_at=timezone.now())
        fanout.deliver(update.pk)
        assert OutboundDelivery.objects.get(pk=update.pk).status == OutboundStatus.SUCCEEDED
    for row in OutboundDelivery.objects.filter(
        action="slack_inc_notice", status=OutboundStatus.PENDING
    ):
        fanout.deliver(row.pk)

    assert len(slack.top_level("C0TEAMA0001")) == 1  # the incident's message alone
    assert len(slack.top_level("C0TEAMB0001")) == 1


# --- status changes are told where the incident is followed -------------------------------------


def incident_thread(slack: FakeSlack, incident: Incident) -> list[dict]:
    return slack.thread(incident.slack_channel, incident.slack_ts)


def status_field(slack: FakeSlack, incident: Incident) -> str:
    blocks = slack.messages[(incident.slack_channel, incident.slack_ts)]["blocks"]
    fields = [f["text"] for b in blocks if b["type"] == "section" for f in b.get("fields", [])]
    return next(text for text in fields if text.startswith("*Status*"))


def comments(jira: FakeJira, key: str) -> list[str]:
    return [comment["body"] for comment in jira.issues[key]["comments"]]


def test_each_status_change_of_an_incident_is_told_in_its_thread_and_on_its_issue(
    celery_worker, targets
):
    """Taken from the API, acknowledged from Slack, resolved in JIRA, reopened on the
    dashboard: each is a reply under the incident's message saying who did what and where,
    the message says who has it, and the issue gets a comment for each change made outside
    JIRA (none for JIRA's own, which is not echoed back)."""
    from django.test import Client

    from tests.api import clear_throttles, jwt_client, make_user

    jira, slack = targets
    clear_throttles()
    slack_responder("daan")
    for n in range(3):
        post(storm_failure(f"pl_member_{n}"))
    incident = paged_incident()
    key = incident.itsm_ticket_id
    assert incident_thread(slack, incident) == [] and comments(jira, key) == []

    maria = make_user("responder", "maria")
    taken = jwt_client(maria).post(f"/api/v1/incidents/{incident.pk}/take/", {"note": "on it"})
    assert taken.status_code == 200, taken.content
    wait_for(lambda: len(incident_thread(slack, incident)) == 1, 30)
    settled()
    reply = incident_thread(slack, incident)[0]["text"]
    assert "maria" in reply and "took the incident" in reply and "via the API" in reply
    assert "on it" in reply
    assert status_field(slack, incident) == "*Status*\nIn progress: taken by maria via the API"
    assert comments(jira, key) == [
        "maria took the incident (in progress) via the API in the "
        "RCA service.\n{noformat}\non it\n{noformat}"
    ]

    assert post_slack_click(incident.pk, "rca_incident_acknowledge").status_code == 200
    wait_for(lambda: len(incident_thread(slack, incident)) == 2, 30)
    settled()
    reply = incident_thread(slack, incident)[1]["text"]
    assert "daan" in reply and "acknowledged the incident via Slack" in reply
    assert status_field(slack, incident) == "*Status*\nAcknowledged by daan via Slack"
    assert comments(jira, key)[-1] == "daan acknowledged the incident via Slack in the RCA service."
    assert "Acknowledged by daan via Slack" in jira.issues[key]["description"]

    # Resolved in JIRA: told in Slack, not commented back on the issue it came from.
    jira.issues[key]["status"] = "Done"
    resolved = post_jira(jira_webhook(key, "In Progress", "Done", changelog_id="done-1"))
    assert resolved.json()["result"] == f"incident {incident.pk} status set to resolved"
    wait_for(lambda: len(incident_thread(slack, incident)) == 3, 30)
    settled()
    reply = incident_thread(slack, incident)[2]["text"]
    assert "resolved the incident via JIRA" in reply and key in reply
    assert "Resolved by" in status_field(slack, incident) and "via JIRA" in status_field(
        slack, incident
    )
    assert len(comments(jira, key)) == 2

    board = Client()
    board.force_login(make_user("responder", "sam"))
    board.post(f"/incidents/{incident.pk}/action/", {"action": "reopen"})
    wait_for(lambda: len(incident_thread(slack, incident)) == 4, 30)
    settled()
    reply = incident_thread(slack, incident)[3]["text"]
    assert "sam" in reply and "reopened the incident via the dashboard" in reply
    assert status_field(slack, incident) == "*Status*\nReopened by sam via the dashboard"
    assert (
        comments(jira, key)[-1] == "sam reopened the incident via the dashboard in the RCA service."
    )
    assert jira.issues[key]["status"] == "To Do"
    # Nothing broadcast: the people following the incident are in its thread.
    assert not any(r.get("reply_broadcast") for r in incident_thread(slack, incident))
    assert len(incident_thread(slack, incident)) == 4 and len(comments(jira, key)) == 3


def test_what_fixed_the_incident_is_told_in_its_thread_and_on_its_issue(celery_worker, targets):
    """Resolving an incident with what fixed it kept the fix on its members only: its thread
    and its issue said "resolved the incident" with no word of the fix."""
    jira, slack = targets
    incident, responder = paged_outage_and_responder()

    resolved = responder.post(
        f"/api/v1/incidents/{incident.pk}/resolve/",
        {"fix": "Failed the SQL server over to its secondary"},
        format="json",
    )

    assert resolved.status_code == 200, resolved.content
    wait_for(lambda: len(incident_thread(slack, incident)) == 1, 30)
    settled()
    assert incident_thread(slack, incident)[0]["text"].endswith(
        "via the API. What fixed it: Failed the SQL server over to its secondary"
    )
    assert comments(jira, incident.itsm_ticket_id)[-1] == (
        "maria resolved the incident via the API in the RCA service.\n*What fixed it:*\n"
        "{noformat}\nFailed the SQL server over to its secondary\n{noformat}"
    )


def test_a_secret_in_a_note_on_an_incident_is_redacted_on_its_timeline_issue_and_thread(
    celery_worker, targets
):
    """A note given with an incident's change went unredacted into its timeline, every
    member's audit entry, the issue's comment and the thread reply."""
    jira, slack = targets
    incident, responder = paged_outage_and_responder()

    acked = responder.post(
        f"/api/v1/incidents/{incident.pk}/acknowledge/",
        {"note": "tried Server=x;Password=hunter2; by hand"},
        format="json",
    )
    assert acked.status_code == 200, acked.content
    resolved = responder.post(
        f"/api/v1/incidents/{incident.pk}/resolve/",
        {"note": "see https://acct.blob.core.windows.net/l/r.txt?sv=2022-11-02&sig=S3cr3tSig"},
        format="json",
    )
    assert resolved.status_code == 200, resolved.content
    wait_for(lambda: len(incident_thread(slack, incident)) == 2, 30)
    settled()

    timeline = {
        e.kind: e.details.get("note")
        for e in IncidentEvent.objects.filter(
            incident=incident, kind__in=["acknowledge", "resolved"]
        )
    }
    assert timeline == {
        "acknowledge": "tried Server=x;Password=[REDACTED]; by hand",
        "resolved": "see https://acct.blob.core.windows.net/l/r.txt?sv=2022-11-02&sig=[REDACTED]",
    }
    members = AuditLog.objects.filter(
        ticket__incident=incident, action__in=["acknowledge", "resolve"]
    )
    assert members.count() == 4
    assert all("[REDACTED]" in a.details["note"] for a in members)
    issue = comments(jira, incident.itsm_ticket_id)
    thread = [reply["text"] for reply in incident_thread(slack, incident)]
    assert any(timeline["acknowledge"] in comment for comment in issue), issue
    assert any(timeline["resolved"] in comment for comment in issue), issue
    assert any("Password=[REDACTED]" in reply for reply in thread), thread
    deliveries = json.dumps(list(OutboundDelivery.objects.values_list("payload", flat=True)))
    for text in [*issue, *thread, *[a.details["note"] for a in members], deliveries]:
        assert "hunter2" not in text and "S3cr3tSig" not in text, text


def test_the_outage_coming_back_reopens_the_incident_in_the_channel(celery_worker, targets):
    """A member failing again after the incident was resolved: the reply under its message is
    broadcast to the channel, the issue says so, once however many members fail again."""
    from tests.api import clear_throttles, jwt_client, make_user

    jira, slack = targets
    clear_throttles()
    first = post(storm_failure("pl_orders"))["ticket_id"]
    post(storm_failure("pl_customers"))
    incident = paged_incident()
    key = incident.itsm_ticket_id
    responder = jwt_client(make_user("responder", "maria"))
    assert responder.post(f"/api/v1/incidents/{incident.pk}/resolve/").status_code == 200
    wait_for(lambda: len(incident_thread(slack, incident)) == 1, 30)

    assert post(storm_failure("pl_orders"))["outcome"] == "regressed"
    assert post(storm_failure("pl_customers"))["outcome"] == "regressed"
    wait_for(lambda: len(incident_thread(slack, incident)) == 2, 30)
    settled()

    replies = incident_thread(slack, incident)
    assert len(replies) == 2
    back = replies[1]
    assert back.get("reply_broadcast") is True
    assert back["text"].startswith(":rotating_light: The outage is back: pl_orders")
    assert first in back["text"] and incident.pk in back["text"]
    assert not replies[0].get("reply_broadcast")
    assert (
        status_field(slack, incident) == f"*Status*\nOpen again: pl_orders ({first}) failed again"
    )
    assert comments(jira, key)[-1].startswith(f"The outage is back: pl_orders ({first}) failed")
    assert len(comments(jira, key)) == 2
    assert jira.issues[key]["status"] == "To Do"

    # Every member recovers at its source: the incident resolves itself, and says so.
    post_success("pl_orders")
    post_success("pl_customers")
    wait_for(lambda: len(incident_thread(slack, incident)) == 3, 30)
    settled()
    assert "Every member recovered" in incident_thread(slack, incident)[2]["text"]
    assert comments(jira, key)[-1].startswith("Every member recovered at its source")
    assert status_field(slack, incident) == "*Status*\nResolved (every member recovered)"


def test_the_outage_coming_back_names_the_fix_recorded_when_the_incident_was_resolved(
    celery_worker, targets
):
    """The incident was resolved with what fixed it, then a member failed again: a ticket's
    regression says that its fix did not hold, but the incident's broadcast reply and its
    issue's comment said only that the outage is back."""
    from tests.api import clear_throttles, jwt_client, make_user

    jira, slack = targets
    clear_throttles()
    first = post(storm_failure("pl_orders"))["ticket_id"]
    post(storm_failure("pl_customers"))
    incident = paged_incident()
    key = incident.itsm_ticket_id
    responder = jwt_client(make_user("responder", "maria"))
    fix = "Failed the SQL server over to its secondary & back"
    resolved = responder.post(
        f"/api/v1/incidents/{incident.pk}/resolve/", {"fix": fix}, format="json"
    )
    assert resolved.status_code == 200, resolved.content
    wait_for(lambda: len(incident_thread(slack, incident)) == 1, 30)

    assert post(storm_failure("pl_orders"))["outcome"] == "regressed"
    wait_for(lambda: len(incident_thread(slack, incident)) == 2, 30)
    settled()

    day = Resolution.objects.get(ticket_id=first).created_at.date().isoformat()
    back = incident_thread(slack, incident)[1]
    assert back.get("reply_broadcast") is True
    assert back["text"] == (
        f":rotating_light: The outage is back: pl_orders ({first}) failed again "
        f"(reported by adf). Incident {incident.pk} is open again. "
        f"The fix recorded then did not hold (maria, {day}): "
        "Failed the SQL server over to its secondary &amp; back"
    )
    assert comments(jira, key)[-1] == (
        f"The outage is back: pl_orders ({first}) failed again (reported by adf); "
        "the incident is open again in the RCA service.\n"
        f"{{noformat}}\nThe fix recorded then did not hold (maria, {day}): {fix}\n{{noformat}}"
    )

    # Every member recovers at its source (no fix recorded), then the outage is back again:
    # the fix of the first resolve was told when it did not hold, and is not blamed again.
    post_success("pl_orders")
    post_success("pl_customers")
    wait_for(lambda: len(incident_thread(slack, incident)) == 3, 30)
    assert post(storm_failure("pl_customers"))["outcome"] == "regressed"
    wait_for(lambda: len(incident_thread(slack, incident)) == 4, 30)
    settled()
    again = incident_thread(slack, incident)[3]["text"]
    assert again.startswith(":rotating_light: The outage is back: pl_customers"), again
    assert again.endswith(f"Incident {incident.pk} is open again."), again
    assert comments(jira, key)[-1].endswith("the incident is open again in the RCA service.")


def test_an_incident_change_is_told_once_when_delivered_twice_and_after_an_outage(
    targets, settings
):
    """The same change scheduled again, its delivery handed out twice, the Slack click
    replayed: one reply, one comment. Slack and JIRA down at first: the engine retries and
    nothing is lost."""
    from django.utils import timezone

    from integrations import fanout
    from tickets.lifecycle import Actor

    jira, slack = targets
    settings.INCIDENT_GRACE_SECONDS = 0
    slack_responder("daan")
    for n in range(2):
        post(storm_failure(f"pl_member_{n}"))
    incident = Incident.objects.get()
    for action in ("jira_inc_create", "slack_inc_post"):
        fanout.deliver(OutboundDelivery.objects.get(key=f"incident:{incident.pk}:{action}").pk)
    incident.refresh_from_db()

    click = post_slack_click(incident.pk, "rca_incident_acknowledge")
    assert click.status_code == 200
    told = OutboundDelivery.objects.filter(action__in=["slack_inc_reply", "jira_inc_comment"])
    assert sorted(told.values_list("action", flat=True)) == ["jira_inc_comment", "slack_inc_reply"]
    event = IncidentEvent.objects.get(incident=incident, kind="acknowledge")
    assert all(key.endswith(f":{event.pk}") for key in told.values_list("key", flat=True))
    # The same change scheduled again is the same deliveries.
    from integrations.targets.base import IncidentChange

    fanout.schedule_incident_status(
        IncidentChange(incident.pk, "acknowledge", Actor("slack", "daan"), event.pk, "slack")
    )
    assert told.count() == 2

    # Both targets are down for the first attempt: recorded, left to retry.
    slack.fail(503, slack.error_body(503, "service_unavailable"), path_contains="postMessage")
    jira.fail(503, "JIRA is down", path_contains="/comment")
    for row in told:
        assert fanout.deliver(row.pk).status == OutboundStatus.PENDING
        assert row.tries.filter(outcome="transient_error").count() == 1
    assert incident_thread(slack, incident) == [] and comments(jira, incident.itsm_ticket_id) == []
    # Back up: each is delivered, and handed out once more, sends nothing again.
    told.update(next_attempt_at=timezone.now())
    for _ in range(2):
        for row in told:
            fanout.deliver(row.pk)
    assert set(told.values_list("status", flat=True)) == {OutboundStatus.SUCCEEDED}
    # The click delivered again by Slack is a replay.
    again = post_slack_click(incident.pk, "rca_incident_acknowledge")
    assert again.json()["result"][0].startswith(("replay", "no change"))
    assert told.count() == 2

    replies = incident_thread(slack, incident)
    assert [r["text"] for r in replies] == [":eyes: *daan* acknowledged the incident via Slack."]
    assert comments(jira, incident.itsm_ticket_id) == [
        "daan acknowledged the incident via Slack in the RCA service."
    ]


def test_incident_changes_held_up_by_an_outage_are_told_in_their_order(targets, settings):
    """JIRA and Slack down when the incident was acknowledged: its comment and reply were
    retried with backoff, and the resolve a moment later, JIRA and Slack back, was told at
    once, the acknowledgement after it. The issue's last comment and the thread's last reply
    said "acknowledged" on a resolved incident."""
    from integrations import fanout

    jira, slack = targets
    settings.INCIDENT_GRACE_SECONDS = 0
    slack_responder("daan")
    for n in range(2):
        post(storm_failure(f"pl_member_{n}"))
    incident = Incident.objects.get()
    for action in ("jira_inc_create", "slack_inc_post"):
        fanout.deliver(OutboundDelivery.objects.get(key=f"incident:{incident.pk}:{action}").pk)
    incident.refresh_from_db()
    told = OutboundDelivery.objects.filter(
        action__in=["slack_inc_reply", "jira_inc_comment"]
    ).order_by("pk")

    assert post_slack_click(incident.pk, "rca_incident_acknowledge").status_code == 200
    slack.fail(503, slack.error_body(503, "service_unavailable"), path_contains="postMessage")
    jira.fail(503, "JIRA is down", path_contains="/comment")
    for row in told:
        assert fanout.deliver(row.pk).status == OutboundStatus.PENDING
    acknowledged = set(told.values_list("pk", flat=True))

    assert post_slack_click(incident.pk, "rca_incident_resolve").status_code == 200
    for row in told.exclude(pk__in=acknowledged):  # handed out first, JIRA and Slack back
        fanout.deliver(row.pk)
    for _ in range(3):  # each round hands out every one pending, in the order they were made
        told.update(next_attempt_at=timezone.now())
        for row in told.filter(status=OutboundStatus.PENDING):
            fanout.deliver(row.pk)

    assert set(told.values_list("status", flat=True)) == {OutboundStatus.SUCCEEDED}
    assert [c.split(" via ")[0] for c in comments(jira, incident.itsm_ticket_id)] == [
        "daan acknowledged the incident",
        "daan resolved the incident",
    ]
    replies = [r["text"] for r in incident_thread(slack, incident)]
    assert len(replies) == 2
    assert "acknowledged the incident" in replies[0] and "resolved the incident" in replies[1]


def test_jira_done_on_the_incidents_issue_keeps_its_comment_as_every_members_fix(targets):
    """The comment of the transition to Done is the fix, on an incident's issue as on a
    ticket's: it is kept on every member the resolve reaches."""
    from tickets.models import Resolution

    key = "OPS-77"
    members = [post(storm_failure(f"pl_member_{n}"))["ticket_id"] for n in range(3)]
    incident = Incident.objects.get()
    Incident.objects.filter(pk=incident.pk).update(itsm_ticket_id=key)
    webhook = jira_webhook(key, "In Progress", "Done", changelog_id="inc-done-1")
    webhook["comment"] = {
        "id": "inc-901",
        "body": "Failed the SQL server over to its secondary",
        "author": {"displayName": "Maria Lopez", "accountId": "5c5f-maria"},
    }

    answer = post_jira(webhook)

    assert answer.json()["result"] == f"incident {incident.pk} status set to resolved"
    fixes = Resolution.objects.filter(ticket_id__in=members)
    assert sorted(fixes.values_list("ticket_id", flat=True)) == sorted(members)
    assert {(f.fix, f.resolved_by, f.actor_kind) for f in fixes} == {
        ("Failed the SQL server over to its secondary", "Maria Lopez", "jira")
    }


def test_the_outage_coming_back_after_every_member_recovered_names_its_source(targets):
    """Every member recovered, so the incident resolved itself; a member failing again is
    reported by its source (adf), as when people had resolved it, not by 'incidents'."""
    from integrations.targets.jira import jira_incident_comment
    from integrations.targets.slack import slack_incident_thread_text

    first = post(storm_failure("pl_orders"))["ticket_id"]
    post(storm_failure("pl_customers"))
    post_success("pl_orders")
    post_success("pl_customers")
    incident = Incident.objects.get()
    assert incident.status == "resolved" and incident.recovered_at is not None

    assert post(storm_failure("pl_orders"))["outcome"] == "regressed"

    reopen = IncidentEvent.objects.get(incident=incident, kind="reopen")
    assert reopen.details["via"] == "source"
    told = OutboundDelivery.objects.get(action="slack_inc_reply", key__endswith=f":{reopen.pk}")
    assert slack_incident_thread_text(told.payload) == (
        f":rotating_light: The outage is back: pl_orders ({first}) failed again "
        f"(reported by adf). Incident {incident.pk} is open again."
    )
    comment = OutboundDelivery.objects.get(action="jira_inc_comment", key__endswith=f":{reopen.pk}")
    assert "(reported by adf)" in jira_incident_comment(comment.payload)


def test_every_member_recovering_after_people_resolved_the_incident_is_no_second_resolve(
    settings,
):
    """People resolved the incident; then every member recovers at its source. Its status
    does not change: its thread and its issue are not told a second time that it is resolved,
    nor does its timeline show a second resolve."""
    from tickets.lifecycle import Actor

    settings.INCIDENT_AUTO_RESOLVE = True
    post(storm_failure("pl_orders"))
    post(storm_failure("pl_customers"))
    incident = Incident.objects.get()
    incidents.act(incident.pk, "resolve", Actor("user", "maria"), via="api")
    told = OutboundDelivery.objects.filter(action__in=["slack_inc_reply", "jira_inc_comment"])
    assert sorted(told.values_list("payload__action", flat=True)) == ["resolve", "resolve"]

    post_success("pl_orders")
    post_success("pl_customers")
    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.recovered_at is not None
    assert sorted(told.values_list("payload__action", flat=True)) == ["resolve", "resolve"]
    kinds = list(IncidentEvent.objects.filter(incident=incident).values_list("kind", flat=True))
    assert kinds.count("resolved") == 1 and kinds.count("recovered") == 2


def incident_whose_members_skipped_their_pages(settings) -> tuple[Incident, list[str]]:
    """An incident formed by its third pipeline's failure after the first two's own pages ran
    in its grace delay (and skipped, the incident paging for them); the first two ids."""
    settings.INCIDENT_GRACE_SECONDS = 1
    settings.INCIDENT_MIN_PIPELINES = 3
    waiting: list[str] = []
    for pipeline in ("pl_orders", "pl_customers"):
        waiting.append(post(storm_failure(pipeline))["ticket_id"])
        wait_for(lambda: OutboundDelivery.objects.filter(ticket_id=waiting[-1]).exists(), 30)
    post(storm_failure("pl_invoices"))
    return paged_incident(), waiting


def deliver_pending() -> None:
    """Every pending delivery, oldest first, and what they schedule, once due (the incident's
    page updates wait for the end of their INCIDENT_UPDATE_SECONDS window)."""
    from django.utils import timezone

    from integrations import fanout

    pending = OutboundDelivery.objects.filter(status=OutboundStatus.PENDING)
    for _ in range(5):
        time.sleep(0.1)
        due = pending.filter(next_attempt_at__lte=timezone.now()).order_by("pk")
        rows = list(due.values_list("pk", flat=True))
        if not rows:
            return
        for pk in rows:
            fanout.deliver(pk)


def act_on_member(action: str, where: str, ticket_id: str, username: str, note: str) -> None:
    """A responder reopens or resolves one member on its own ticket, from the API, the
    dashboard or admin (whose resolve asks to confirm: `apply`)."""
    from django.test import Client
    from django.urls import reverse

    from tests.api import clear_throttles, jwt_client, make_user

    user = make_user("responder", username, is_staff=where == "admin")
    if where == "api":
        clear_throttles()
        answer = jwt_client(user).post(f"/api/v1/tickets/{ticket_id}/{action}/", {"note": note})
        assert answer.status_code == 200, answer.content
        return
    client = Client()
    client.force_login(user)
    if where == "dashboard":
        client.post(f"/tickets/{ticket_id}/action/", {"action": action, "note": note})
    else:
        confirmed = {"apply": "1", "note": note} if action == "resolve" else {}
        changelist = reverse("admin:tickets_ticket_changelist")
        client.post(changelist, {"action": action, "_selected_action": [ticket_id], **confirmed})


def reopen_member(where: str, ticket_id: str, username: str) -> None:
    """A responder reopens one member on its own ticket, from the API, the dashboard or admin."""
    act_on_member("reopen", where, ticket_id, username, "no")


@pytest.mark.parametrize(
    ("where", "via", "note"),
    [
        ("api", "the API", "no"),
        ("dashboard", "the dashboard", "no"),
        ("admin", "Django admin", ""),  # its Reopen offers no note
    ],
)
def test_reopening_one_member_of_a_resolved_incident_reopens_the_incident(
    targets, settings, migration_data, where, via, note
):
    """Every member recovered and the incident resolved itself; a responder reopens one member
    on its own ticket. It stayed an open ticket inside a resolved incident, which took no new
    failure beside it, and the board, the thread and the issue still said resolved. The
    incident reopens (the other members stay resolved), its timeline names who reopened which
    member via where, it is told in its thread and on its issue, and both follow."""
    from integrations.targets.base import incident_status_line

    jira, slack = targets
    settings.INCIDENT_UPDATE_SECONDS = 0.05
    first = post(storm_failure("pl_orders"))["ticket_id"]
    second = post(storm_failure("pl_customers"))["ticket_id"]
    post_success("pl_orders")
    post_success("pl_customers")
    deliver_pending()
    incident = Incident.objects.get()
    assert (incident.status, incident.recovered_count) == ("resolved", 2)
    assert jira.issues[incident.itsm_ticket_id]["status"] == "Done"
    told = OutboundDelivery.objects.filter(action__in=["slack_inc_reply", "jira_inc_comment"])
    told_before = list(told.values_list("pk", flat=True))

    reopen_member(where, first, "ana")

    incident.refresh_from_db()
    assert (incident.status, incident.recovered_at, incident.recovered_count) == ("open", None, 1)
    assert Ticket.objects.get(pk=second).status == "resolved"
    reopen = IncidentEvent.objects.get(incident=incident, kind="reopen")
    assert (reopen.ticket_id, reopen.actor_name, reopen.details["via"]) == (first, "ana", where)
    line = incident_status_line(incident)
    assert line == f"Open again: pl_orders ({first}) reopened by ana via {via}"
    new = told.exclude(pk__in=told_before)
    assert sorted(new.values_list("action", flat=True)) == ["jira_inc_comment", "slack_inc_reply"]
    assert all(key.endswith(f":{reopen.pk}") for key in new.values_list("key", flat=True))
    deliver_pending()
    said = f"reopened pl_orders ({first}) via {via}"
    thread = incident_thread(slack, incident)[-1]["text"]
    told_note = f": {note}" if note else "."
    assert (
        thread == f":rotating_light: *ana* {said}: incident {incident.pk} is open again{told_note}"
    )
    comment = comments(jira, incident.itsm_ticket_id)[-1]
    assert comment.startswith(f"ana {said}: the incident is open again in the RCA service.")
    # Its issue and its message follow: open again, with an open incident's buttons.
    assert jira.issues[incident.itsm_ticket_id]["status"] == "To Do"
    assert "rca_incident_acknowledge" in buttons(slack, incident)
    # The culprit failing for another pipeline joins it.
    joined = post(storm_failure("pl_invoices"))["ticket_id"]
    assert Ticket.objects.get(pk=joined).incident_id == incident.pk


def test_a_priority_people_lowered_in_jira_is_raised_only_when_the_incident_gets_graver(
    targets, settings
):
    """The on-call engineer lowered the incident's issue priority in JIRA: each update of the
    issue (a member joining) raised it back to the incident's. It is kept until the incident
    itself gets graver, then raised once to the new priority, and a later lowering is kept."""
    jira, _slack = targets
    settings.INCIDENT_UPDATE_SECONDS = 0.05
    post(storm_failure("pl_a"))
    post(storm_failure("pl_b"))
    deliver_pending()
    incident = Incident.objects.get()
    issue = jira.issues[incident.itsm_ticket_id]
    assert issue["priority"] in ("High", "Medium")
    issue["priority"] = "Low"  # lowered by hand in JIRA

    post(storm_failure("pl_c"))
    deliver_pending()
    assert "3 tickets" in issue["summary"]  # the issue was updated
    assert issue["priority"] == "Low"

    post({**storm_failure("pl_d"), "severity": "Critical"})
    deliver_pending()
    assert "4 tickets" in issue["summary"] and issue["priority"] == "Highest"

    issue["priority"] = "Medium"  # lowered again
    post({**storm_failure("pl_e"), "severity": "Critical"})
    deliver_pending()
    assert "5 tickets" in issue["summary"] and issue["priority"] == "Medium"


def test_a_member_reopened_on_its_own_jira_issue_reopens_its_resolved_incident(targets):
    """A member that paged on its own before its incident formed has its own issue; moved back
    to To Do there, the member reopens and so does its resolved incident, told on the
    incident's issue (another issue than the one it was made on) and in its thread."""
    from integrations.targets.jira import jira_incident_comment

    first = post(storm_failure("pl_orders"))["ticket_id"]
    post(storm_failure("pl_customers"))
    Ticket.objects.filter(pk=first).update(itsm_ticket_id="OPS-90")
    post_success("pl_orders")
    post_success("pl_customers")
    incident = Incident.objects.get()
    assert incident.status == "resolved"

    answer = post_jira(jira_webhook("OPS-90", "Done", "To Do", changelog_id="member-reopen-1"))

    assert answer.status_code == 200, answer.content
    assert Ticket.objects.get(pk=first).status == "open"
    incident.refresh_from_db()
    assert (incident.status, incident.recovered_count) == ("open", 1)
    reopen = IncidentEvent.objects.get(incident=incident, kind="reopen")
    assert (reopen.ticket_id, reopen.actor_kind, reopen.details["via"]) == (first, "jira", "jira")
    told = OutboundDelivery.objects.filter(key__endswith=f":{reopen.pk}")
    assert sorted(told.values_list("action", flat=True)) == ["jira_inc_comment", "slack_inc_reply"]
    comment = jira_incident_comment(told.get(action="jira_inc_comment").payload)
    assert comment.startswith(f"{reopen.actor_name} reopened pl_orders ({first}) via JIRA")


def test_an_incident_paged_before_its_pushed_priority_was_kept_takes_its_priority_as_pushed():
    """The migration adding `jira_priority`: an incident whose issue exists was raised to its
    priority at each update, so that is taken as pushed (a priority people lowered since is not
    raised back at its next update); one not paged yet remembers none."""
    import importlib

    from django.apps import apps
    from django.utils import timezone

    migration = importlib.import_module("tickets.migrations.0028_incident_jira_priority")
    now = timezone.now()
    fields = {"group_key": "k", "culprit": "c", "first_seen": now, "last_member_at": now}
    Incident.objects.create(id="INC-M-1", priority="P2", itsm_ticket_id="OPS-1", **fields)
    Incident.objects.create(id="INC-M-2", priority="P1", itsm_ticket_id="OPS-2", **fields)
    Incident.objects.create(id="INC-M-3", priority="P2", **fields)

    migration.remember_the_priority_pushed(apps, None)

    pushed = dict(Incident.objects.values_list("pk", "jira_priority"))
    assert pushed == {"INC-M-1": "High", "INC-M-2": "Highest", "INC-M-3": ""}


def test_a_member_of_an_incident_merged_away_failing_again_reopens_the_one_it_was_merged_into(
    targets,
):
    """A merge moves every member: one of the incident merged away that fails again after
    both were resolved reopens the incident it was merged into, and that is told in its thread
    and on its issue; the merged-away incident takes nothing."""
    from tests.api import clear_throttles, jwt_client, make_user
    from tests.tickets.test_incidents import two_incidents

    clear_throttles()
    into, away = two_incidents()
    responder = jwt_client(make_user("responder"))
    for incident in (into, away):
        assert responder.post(f"/api/v1/incidents/{incident.pk}/resolve/").status_code == 200
    merged = responder.post(f"/api/v1/incidents/{away.pk}/merge/", {"into": into.pk})
    assert merged.status_code == 200, merged.content
    member = Ticket.objects.get(pipeline="pl_c")
    assert member.incident_id == into.pk

    other = storm_failure("pl_c")
    other["error_message"] = other["error_message"].replace("sql-prod-01", "sql-prod-02")
    assert post(other)["outcome"] == "regressed"

    into.refresh_from_db()
    assert into.status == "open"
    reopen = IncidentEvent.objects.get(incident=into, kind="reopen")
    assert reopen.ticket_id == member.pk
    for action in ("slack_inc_reply", "jira_inc_comment"):
        assert OutboundDelivery.objects.filter(
            action=action, key__endswith=f":{reopen.pk}"
        ).exists()
    away.refresh_from_db()
    assert (away.status, away.merged_into_id) == ("resolved", into.pk)
    assert not away.events.filter(kind__in=["recurred", "reopen"]).exists()


def _blocked_by(pid: int, holder: int) -> bool:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE pid = %s AND %s = ANY(pg_blocking_pids(pid))",
            [pid, holder],
        )
        return bool(cursor.fetchone()[0])


def test_the_incident_paging_while_its_analysis_is_stored_does_not_deadlock(targets, settings):
    """The incident's first page stores its issue key on the incident (its row lock held), then
    schedules the link of a member that paged on its own (a row that references the member).
    An analysis being stored holds the members (by id) and waits for the incident meanwhile.
    The member's reference waits for no member's lock: both finish, no deadlock (an ingest
    queued for the incident between them was its victim)."""
    import threading

    from django.db import connection

    from integrations import fanout
    from tests.tickets.test_incident_rca import process
    from tickets.models import RcaSource

    settings.INCIDENT_GRACE_SECONDS = 0
    first = post(storm_failure("pl_orders"))["ticket_id"]
    process([first])
    fanout.deliver(OutboundDelivery.objects.get(key=f"{first}:jira_create").pk)
    assert Ticket.objects.get(pk=first).itsm_ticket_id
    post(storm_failure("pl_customers"))
    incident = Incident.objects.get()
    assert incident.lead_ticket_id == first
    n = 0
    # A member locked after the early one (members are locked by id): held below.
    while max(incident.members.values_list("pk", flat=True)) == first:
        post(storm_failure(f"pl_member_{n}"))
        n += 1
    held_member = max(incident.members.values_list("pk", flat=True))
    create = OutboundDelivery.objects.get(key=f"incident:{incident.pk}:jira_inc_create")

    holding, release = threading.Event(), threading.Event()
    sessions = SessionThreads()
    run, pids, errors = sessions.start, sessions.pids, sessions.errors

    def hold() -> None:
        from django.db import transaction

        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT 1 FROM {Ticket._meta.db_table} WHERE id = %s FOR NO KEY UPDATE",
                [held_member],
            )
            holding.set()
            release.wait(20)

    def store() -> None:
        incidents.store_analysis(
            incident.pk,
            rca_result="sql-prod-01 is down",
            recommendations=[],
            rca_source=RcaSource.RULES,
            rca_note="rule-based",
            confidence=None,
            members=incident.member_count,
        )

    threads = [run("holder", hold)]
    assert holding.wait(10)
    threads.append(run("analysis", store))
    # The analysis holds the members before the held one, the early member among them.
    wait_for(lambda: "analysis" in pids and _blocked_by(pids["analysis"], pids["holder"]), 10)
    paging = run("paging", lambda: fanout.deliver(create.pk))
    threads.append(paging)
    # Before the fix the page's link of the early member waited for the analysis here.
    wait_for(
        lambda: (
            not paging.is_alive()
            or ("paging" in pids and _blocked_by(pids["paging"], pids["analysis"]))
        ),
        10,
    )
    release.set()
    for thread in threads:
        thread.join(30)

    assert errors == []
    incident.refresh_from_db()
    assert incident.itsm_ticket_id
    assert incident.rca_result == "sql-prod-01 is down"
    assert OutboundDelivery.objects.filter(key=f"{first}:jira_inc_link").exists()


def test_a_failure_resolved_before_its_outage_became_an_incident_joins_it_when_it_fails_again(
    celery_worker, targets, settings
):
    """A lone failure that paged and was resolved stayed out of the incident its culprit's
    outage formed later; failing again while that incident is open, it is the same outage: it
    joins it (the incident's page tells it, its own issue and alert point there), and its
    regression reopens nothing of its own, so the outage pages once."""
    from tests.api import clear_throttles, jwt_client, make_user

    jira, slack = targets
    clear_throttles()
    settings.INCIDENT_GRACE_SECONDS = 0
    lone = post(storm_failure("pl_orders"))["ticket_id"]
    paged = wait_for(
        lambda: (
            Ticket.objects.filter(pk=lone).exclude(itsm_ticket_id="").exclude(slack_ts="").first()
        ),
        30,
    )
    settled()
    responder = jwt_client(make_user("responder", "maria"))
    assert responder.post(f"/api/v1/tickets/{lone}/resolve/").status_code == 200
    settled()
    post(storm_failure("pl_customers"))
    post(storm_failure("pl_billing"))
    incident = paged_incident()
    assert Ticket.objects.get(pk=lone).incident_id is None  # over when the incident formed
    own_issue = dict(jira.issues[paged.itsm_ticket_id])
    own_thread = len(slack.thread(paged.slack_channel, paged.slack_ts))

    assert post(storm_failure("pl_orders"))["outcome"] == "regressed"
    settled()

    regressed = Ticket.objects.get(pk=lone)
    assert regressed.incident_id == incident.pk
    assert regressed.status == "open" and regressed.regressed_at is not None
    incident.refresh_from_db()
    assert incident.member_count == 3 and incident.status == "open"
    assert incident.first_seen <= regressed.regressed_at
    events = IncidentEvent.objects.filter(incident=incident, ticket_id=lone)
    assert list(events.values_list("kind", flat=True)) == ["failure"]
    # No page of its own: its resolved issue is not reopened, nothing is broadcast under its
    # alert; the one reply there points to the incident.
    assert jira.issues[paged.itsm_ticket_id]["status"] == own_issue["status"]
    replies = slack.thread(paged.slack_channel, paged.slack_ts)[own_thread:]
    assert len(replies) == 1 and incident.pk in replies[0]["text"]
    assert not any(reply.get("reply_broadcast") for reply in replies)
    creates = [r for r in jira.issue_requests("POST") if r.path.endswith("/issue")]
    assert len(creates) == 2 and len(slack.top_level()) == 2  # its own (before), the incident's


def resolve_member(where: str, ticket_id: str, username: str) -> None:
    """A responder resolves one member on its own ticket: from the API, the dashboard, admin,
    the member's own JIRA issue (the ticket must have one) or its Slack alert's button."""
    if where == "jira":
        key = Ticket.objects.get(pk=ticket_id).itsm_ticket_id
        answer = post_jira(jira_webhook(key, "To Do", "Done", changelog_id=f"resolve-{ticket_id}"))
        assert answer.status_code == 200, answer.content
        return
    if where == "slack":
        slack_responder(username)
        assert post_slack_click(ticket_id, "rca_resolve", username=username).status_code == 200
        return
    act_on_member("resolve", where, ticket_id, username, "done")


def _told_since(before: list[int]) -> Any:
    told = OutboundDelivery.objects.filter(action__in=["slack_inc_reply", "jira_inc_comment"])
    return told.exclude(pk__in=before)


def _told_ids() -> list[int]:
    return list(_told_since([]).values_list("pk", flat=True))


@pytest.mark.parametrize(
    ("where", "who", "via", "note"),
    [
        ("api", "ana", "the API", "done"),
        ("dashboard", "ana", "the dashboard", "done"),
        ("admin", "ana", "Django admin", "done"),
        ("jira", "maria", "JIRA", "JIRA OPS-90"),
        ("slack", "daan", "Slack", ""),  # a button carries no note
    ],
)
def test_resolving_the_last_open_member_on_its_own_ticket_resolves_the_incident(
    targets, settings, migration_data, where, who, via, note
):
    """Every member resolved one by one on its own ticket: the incident stayed open (it could
    then be acknowledged with no open member). Resolving the last open one resolves it,
    its timeline names who resolved which member via where, it is told once in its thread
    and on its issue, both follow, and reopening a member reopens it again."""
    from integrations.targets.base import incident_status_line
    from tests.api import clear_throttles, jwt_client, make_user

    jira, slack = targets
    settings.INCIDENT_UPDATE_SECONDS = 0.05
    first = post(storm_failure("pl_orders"))["ticket_id"]
    second = post(storm_failure("pl_customers"))["ticket_id"]
    deliver_pending()
    incident = Incident.objects.get()
    if where == "jira":
        Ticket.objects.filter(pk=second).update(itsm_ticket_id="OPS-90")
    resolve_member("api", first, "sam")
    incident.refresh_from_db()
    assert incident.status == "open"  # pl_customers still fails
    assert not incident.events.filter(kind="resolved").exists()
    before = _told_ids()

    resolve_member(where, second, who)

    assert Ticket.objects.get(pk=second).status == "resolved"
    incident.refresh_from_db()
    assert (incident.status, incident.recovered_at) == ("resolved", None)
    resolved = IncidentEvent.objects.get(incident=incident, kind="resolved")
    actor_name = resolved.actor_name
    assert resolved.ticket_id == second and resolved.details["via"] == where
    if where != "jira":  # JIRA's actor is the webhook's author
        assert actor_name == who
    line = incident_status_line(incident)
    member = f"pl_customers ({second})"
    assert line == f"Resolved: {member}, the last open member, resolved by {actor_name} via {via}"
    new = _told_since(before)
    assert sorted(new.values_list("action", flat=True)) == ["jira_inc_comment", "slack_inc_reply"]
    assert all(key.endswith(f":{resolved.pk}") for key in new.values_list("key", flat=True))
    deliver_pending()
    said = f"resolved {member}, the last open member, via {via}"
    thread = incident_thread(slack, incident)[-1]["text"]
    told_note = f": {note}" if note else "."
    assert thread == (
        f":white_check_mark: *{actor_name}* {said}: incident {incident.pk} is resolved{told_note}"
    )
    comment = comments(jira, incident.itsm_ticket_id)[-1]
    assert comment.startswith(f"{actor_name} {said}: the incident is resolved in the RCA service.")
    assert jira.issues[incident.itsm_ticket_id]["status"] == "Done"
    assert "rca_incident_acknowledge" not in buttons(slack, incident)

    clear_throttles()
    responder = jwt_client(make_user("responder", "lee"))
    assert responder.post(f"/api/v1/incidents/{incident.pk}/acknowledge/").status_code == 409
    assert responder.post(f"/api/v1/tickets/{first}/reopen/").status_code == 200
    incident.refresh_from_db()
    assert incident.status == "open"


@pytest.mark.parametrize("last", ["recovered", "resolved_by_people"])
def test_a_mix_of_recoveries_and_people_resolving_members_resolves_the_incident(
    targets, settings, last
):
    """One member resolved by people, the other recovering at its source (in either order):
    no member is left open, so the incident resolves, once, told by the last one's change."""
    jira, slack = targets
    settings.INCIDENT_UPDATE_SECONDS = 0.05
    first = post(storm_failure("pl_orders"))["ticket_id"]
    second = post(storm_failure("pl_customers"))["ticket_id"]
    deliver_pending()
    incident = Incident.objects.get()
    if last == "recovered":
        resolve_member("api", first, "ana")
        before = _told_ids()
        post_success("pl_customers")
    else:
        post_success("pl_orders")
        incident.refresh_from_db()
        assert (incident.status, incident.recovered_count) == ("open", 1)
        before = _told_ids()
        resolve_member("api", second, "ana")

    incident.refresh_from_db()
    assert (incident.status, incident.recovered_at) == ("resolved", None)
    resolved = IncidentEvent.objects.get(incident=incident, kind="resolved")
    assert resolved.ticket_id == second
    new = _told_since(before)
    assert sorted(new.values_list("action", flat=True)) == ["jira_inc_comment", "slack_inc_reply"]
    deliver_pending()
    thread = incident_thread(slack, incident)[-1]["text"]
    comment = comments(jira, incident.itsm_ticket_id)[-1]
    member = f"pl_customers ({second})"
    if last == "recovered":
        assert thread == (
            f":white_check_mark: {member}, the last open member, recovered at its source "
            f"(reported by adf): incident {incident.pk} is resolved."
        )
        assert comment.startswith(f"{member}, the last open member, recovered at its source")
    else:
        assert thread.startswith(f":white_check_mark: *ana* resolved {member}, the last open")
        assert comment.startswith(f"ana resolved {member}, the last open member, via the API")
    assert jira.issues[incident.itsm_ticket_id]["status"] == "Done"

    # The other member recovering later changes nothing more: resolved already, told once.
    told = _told_ids()
    post_success("pl_orders" if last == "recovered" else "pl_customers")
    assert _told_ids() == told
    assert IncidentEvent.objects.filter(incident=incident, kind="resolved").count() == 1


def test_detaching_the_last_open_member_resolves_an_incident_left_with_resolved_members(
    targets, settings
):
    """A wrongly grouped member is the only one still open: once it is detached every member
    left is resolved, so the incident resolves (told as such); detaching a member while
    another is still open leaves the incident open."""
    from tests.api import clear_throttles, jwt_client, make_user

    _jira, slack = targets
    settings.INCIDENT_UPDATE_SECONDS = 0.05
    first = post(storm_failure("pl_orders"))["ticket_id"]
    second = post(storm_failure("pl_customers"))["ticket_id"]
    third = post(storm_failure("pl_invoices"))["ticket_id"]
    deliver_pending()
    incident = Incident.objects.get()
    clear_throttles()
    responder = jwt_client(make_user("responder", "ana"))
    detach = f"/api/v1/incidents/{incident.pk}/detach/"
    assert responder.post(detach, {"ticket": third}).status_code == 200
    incident.refresh_from_db()
    assert incident.status == "open"  # pl_orders and pl_customers still fail
    resolve_member("api", first, "sam")
    before = _told_ids()

    assert responder.post(detach, {"ticket": second}).status_code == 200

    incident.refresh_from_db()
    assert incident.status == "resolved"
    resolved = IncidentEvent.objects.get(incident=incident, kind="resolved")
    assert (resolved.ticket_id, resolved.actor_name, resolved.details["how"]) == (
        second,
        "ana",
        "detached",
    )
    assert _told_since(before).count() == 2
    deliver_pending()
    assert incident_thread(slack, incident)[-1]["text"] == (
        f":white_check_mark: *ana* detached pl_customers ({second}) via the API: every member "
        f"left is resolved or recovered, so incident {incident.pk} is resolved."
    )
    assert Ticket.objects.get(pk=second).status == "open"  # a ticket of its own now


def test_an_incident_page_refused_names_the_lead_teams_channel_and_project(targets):
    """The incident pages its first ticket's team: when that team's rule names a channel or
    project the target refuses, the dead letter says which, and that the rule chose it."""
    from integrations import fanout
    from tickets.models import OwnershipRule

    OwnershipRule.objects.create(
        pipeline_pattern="pl_a_*", finops_team="team-a", slack_channel="#gone", jira_project="GONE"
    )
    for pipeline in ("pl_a_0", "pl_b_0"):
        post(storm_failure(pipeline))
    for action in ("slack_inc_post", "jira_inc_create"):
        fanout.deliver(OutboundDelivery.objects.get(action=action).pk)

    errors = dict(OutboundDelivery.objects.values_list("action", "last_error"))
    assert errors["slack_inc_post"].endswith("(sent to #gone, from the ownership rule)")
    assert errors["jira_inc_create"].endswith("(sent to GONE, from the ownership rule)")


def test_an_incident_page_refused_where_its_lead_alerted_names_that_alert_not_a_rule(
    celery_worker, targets
):
    """The lead alerted on its own before the incident formed (no rule: the default channel);
    its channel is then the id the alert went to, which no ownership rule chose."""
    _, slack = targets
    post(storm_failure("pl_a_0"))
    # Its alert is made once it is analysed: until then no delivery is pending to wait for.
    lead = wait_for(lambda: Ticket.objects.exclude(slack_ts="").first(), 30)
    settled()
    slack.not_member.add(lead.slack_channel)
    post(storm_failure("pl_b_0"))
    settled()

    error = OutboundDelivery.objects.get(action="slack_inc_post").last_error
    assert error.endswith(f"(sent to {lead.slack_channel}, from its first ticket's alert)")


def shared_cause_heading(slack: FakeSlack, incident: Incident) -> str:
    blocks = slack.messages[(incident.slack_channel, incident.slack_ts)]["blocks"]
    rich = next(b for b in blocks if b["type"] == "rich_text")
    return rich["elements"][0]["elements"][0]["text"]


@pytest.mark.parametrize("analysed_by", ["Gemini", "Rule-based"])
def test_the_incidents_message_and_issue_say_which_analysis_wrote_its_cause(
    celery_worker, targets, settings, analysed_by
):
    """A ticket's alert and issue head its RCA "Root cause (Gemini)" or "(Rule-based)"; the
    incident's said "Shared cause" either way."""
    from tests.fakes.gemini_api import GOOD_RCA, FakeGemini

    jira, slack = targets
    with FakeGemini() as gemini:
        if analysed_by == "Gemini":
            settings.GEMINI_API_KEY = "test-key-not-a-secret"
            settings.GEMINI_BASE_URL = gemini.url
            settings.EMBEDDING_BACKEND = "local"
        for pipeline in ("pl_orders", "pl_customers"):
            post(storm_failure(pipeline))
        incident = paged_incident()
        wait_for(lambda: Incident.objects.get(pk=incident.pk).rca_result, 30)
        settled()

    incident.refresh_from_db()
    heading = f"Shared cause ({analysed_by})"
    assert incident.get_rca_source_display() == analysed_by
    if analysed_by == "Gemini":
        assert incident.rca_result == GOOD_RCA["root_cause"]
    assert shared_cause_heading(slack, incident) == heading
    assert f"h3. {heading}\n" in jira.issues[incident.itsm_ticket_id]["description"]


def test_an_incident_the_release_before_left_open_with_every_member_over_is_resolved(
    targets, settings
):
    """Releases up to 52148c8 left an incident open once its members were resolved one by one
    (no member change resolved it); after the upgrade no member change comes to do it. The
    upgrade's command resolves it as its last member's resolve would have: named on its
    timeline, told in its thread and on its issue. An incident with a member still failing,
    and one resolved already, are left alone; a second run resolves nothing."""
    from django.core.management import call_command
    from django.utils import timezone

    jira, slack = targets
    settings.INCIDENT_UPDATE_SECONDS = 0.05
    first = post(storm_failure("pl_orders"))["ticket_id"]
    second = post(storm_failure("pl_customers"))["ticket_id"]
    other_message = STORM_MESSAGE.replace("sql-prod-01", "sql-prod-02")
    failing = [post(storm_failure(p, message=other_message))["ticket_id"] for p in ("pl_a", "pl_b")]
    deliver_pending()
    left_open = Incident.objects.get(members=first)
    still_failing = Incident.objects.get(members=failing[0])
    assert left_open.pk != still_failing.pk
    # What the release before wrote resolving each member: the ticket only.
    earlier = timezone.now() - timedelta(minutes=5)
    Ticket.objects.filter(pk=first).update(
        status="resolved", resolved_at=earlier, resolved_by="sam"
    )
    Ticket.objects.filter(pk__in=[second, failing[0]]).update(
        status="resolved", resolved_at=timezone.now(), resolved_by="ana"
    )
    before = _told_ids()

    call_command("resolve_incidents_left_open", stdout=io.StringIO())

    left_open.refresh_from_db()
    still_failing.refresh_from_db()
    assert (left_open.status, still_failing.status) == ("resolved", "open")
    resolved = IncidentEvent.objects.get(incident=left_open, kind="resolved")
    assert (resolved.ticket_id, resolved.actor_name) == (second, "ana")
    new = _told_since(before)
    assert sorted(new.values_list("action", flat=True)) == ["jira_inc_comment", "slack_inc_reply"]
    deliver_pending()
    member = f"pl_customers ({second})"
    thread = incident_thread(slack, left_open)[-1]["text"]
    assert thread.startswith(f":white_check_mark: *ana* resolved {member}, the last open member")
    assert "before this release" in thread
    assert jira.issues[left_open.itsm_ticket_id]["status"] == "Done"

    told = _told_ids()
    output = io.StringIO()
    call_command("resolve_incidents_left_open", stdout=output)
    assert output.getvalue().startswith("resolved 0 incident(s)")
    assert _told_ids() == told


@pytest.mark.parametrize("auto_resolve", [True, False])
def test_an_incident_left_open_whose_last_member_recovered_follows_incident_auto_resolve(
    targets, settings, auto_resolve
):
    """Its last member over recovered at its source: resolved as that recovery would have,
    which with INCIDENT_AUTO_RESOLVE off only counts it."""
    from django.core.management import call_command
    from django.utils import timezone

    settings.INCIDENT_AUTO_RESOLVE = auto_resolve
    first = post(storm_failure("pl_orders"))["ticket_id"]
    second = post(storm_failure("pl_customers"))["ticket_id"]
    incident = Incident.objects.get()
    now = timezone.now()
    Ticket.objects.filter(pk=first).update(
        status="resolved", resolved_at=now - timedelta(minutes=5), resolved_by="sam"
    )
    Ticket.objects.filter(pk=second).update(
        status="resolved", resolved_at=now, resolved_at_source_at=now, resolved_by="adf"
    )

    call_command("resolve_incidents_left_open", stdout=io.StringIO())

    incident.refresh_from_db()
    if not auto_resolve:
        assert incident.status == "open"
        return
    assert incident.status == "resolved"
    resolved = IncidentEvent.objects.get(incident=incident, kind="resolved")
    assert (resolved.ticket_id, resolved.actor_kind, resolved.details["how"]) == (
        second,
        "source",
        "recovered",
    )


def test_a_members_own_issue_follows_its_incident_resolved_and_reopened_in_jira(
    celery_worker, targets, settings
):
    """A member that paged on its own before its incident formed keeps its own issue. The
    incident resolved, then reopened, on the incident's issue in JIRA: the member's ticket
    follows, and so must its own issue, which JIRA did not touch (it stayed To Do while its
    ticket was resolved)."""
    jira, _slack = targets
    settings.INCIDENT_GRACE_SECONDS = 0
    first = post(storm_failure("pl_orders"))["ticket_id"]
    own_key = wait_for(
        lambda: Ticket.objects.filter(pk=first).values_list("itsm_ticket_id", flat=True).first(),
        30,
    )
    post(storm_failure("pl_customers"))
    incident = paged_incident()
    assert Ticket.objects.get(pk=first).incident_id == incident.pk
    key = incident.itsm_ticket_id
    assert key != own_key and jira.issues[own_key]["status"] == "To Do"

    jira.issues[key]["status"] = "Done"  # Maria moves the incident's issue in JIRA
    answer = post_jira(jira_webhook(key, "To Do", "Done"))

    assert answer.status_code == 200, answer.content
    assert answer.json()["result"] == f"incident {incident.pk} status set to resolved"
    assert Ticket.objects.get(pk=first).status == "resolved"
    settled()
    assert jira.issues[own_key]["status"] == "Done"
    told = jira.issues[own_key]["comments"][-1]["body"]
    assert told.startswith("Maria Lopez resolved the ticket via JIRA in the RCA service.")
    assert f"via incident {incident.pk} in jira: JIRA {key}" in told
    # The incident's own issue, which JIRA moved, is not moved again.
    assert transitions(jira, key) == 0

    jira.issues[key]["status"] = "To Do"
    answer = post_jira(jira_webhook(key, "Done", "To Do"))

    assert answer.json()["result"] == f"incident {incident.pk} status set to open"
    assert Ticket.objects.get(pk=first).status == "open"
    settled()
    assert jira.issues[own_key]["status"] == "To Do"
    assert transitions(jira, key) == 0


def test_one_rule_firing_on_five_vms_at_once_pages_once_and_recovers_per_vm(
    celery_worker, targets, settings
):
    """A multi-resource metric alert rule sends one alert per VM: five tickets, five JIRA
    issues and five Slack alerts, and no incident (each VM its own culprit, one rule its one
    "pipeline"). Now one incident of the rule pages once; each VM's Resolved ends its own
    member, and the last one the incident."""
    from tests.tickets.test_incidents import FIVE_VMS, rule_alert

    jira, slack = targets
    settings.INCIDENT_GRACE_SECONDS = 2
    fired = timezone.now().isoformat().replace("+00:00", "Z")
    members = {
        vm: post(rule_alert(vm, alert=f"a-{vm}", fired=fired), "/webhooks/azure-monitor/")[
            "ticket_id"
        ]
        for vm in FIVE_VMS
    }
    incident = paged_incident()
    wait_for(lambda: not Ticket.objects.filter(pk__in=members.values(), rca_source="pending"), 30)
    settled()
    creates = [r for r in jira.issue_requests("POST") if r.path.endswith("/issue")]
    assert len(creates) == 1 and len(slack.top_level()) == 1
    assert "5 tickets from 1 alert rule" in jira.issues[incident.itsm_ticket_id]["summary"]
    for ticket in Ticket.objects.filter(pk__in=members.values()):
        assert ticket.incident_id == incident.pk
        assert ticket.itsm_ticket_id == "" and ticket.slack_ts == ""

    for vm in FIVE_VMS:
        post(
            rule_alert(vm, alert=f"a-{vm}", condition="Resolved", fired=fired),
            "/webhooks/azure-monitor/",
        )
        incident.refresh_from_db()
        assert (incident.recovered_at is not None) == (vm == FIVE_VMS[-1])
    assert Ticket.objects.filter(pk__in=members.values(), status="resolved").count() == 5
    settled()
    # Still one page: the recovery is told in the incident's thread, no member paged.
    assert len(slack.top_level()) == 1
    assert len([r for r in jira.issue_requests("POST") if r.path.endswith("/issue")]) == 1


def test_the_members_of_one_rules_incident_are_named_by_their_resources_in_slack_and_jira(
    targets, settings
):
    """One alert rule firing on three VMs is one incident whose members were each listed as
    "vm-cpu-high" (the rule, their pipeline) in its Slack message and JIRA issue, and so was
    the member whose resolve ended it in the thread reply and comment: on-call could not tell
    which VM each was about. Each is now named by its rule and its VM, rule first."""
    from integrations.targets.base import incident_status_line
    from tests.tickets.test_incidents import FIVE_VMS, rule_alert

    jira, slack = targets
    settings.INCIDENT_UPDATE_SECONDS = 0.05
    vms = FIVE_VMS[:3]
    fired = timezone.now().isoformat().replace("+00:00", "Z")
    ids = {
        vm: post(rule_alert(vm, alert=f"n-{vm}", fired=fired), "/webhooks/azure-monitor/")[
            "ticket_id"
        ]
        for vm in vms
    }
    deliver_pending()
    incident = Incident.objects.get()
    assert incident.member_count == 3
    message = json.dumps(
        slack.messages[(incident.slack_channel, incident.slack_ts)]["blocks"], ensure_ascii=False
    )
    description = jira.issues[incident.itsm_ticket_id]["description"]
    for vm in vms:
        assert f"• vm-cpu-high on {vm} ({ids[vm]})" in message, message
        assert f"* {ids[vm]}: vm-cpu-high on {vm}" in description, description
    # Their pipeline is still the rule's name: it keys dedup, grouping and routing.
    assert set(Ticket.objects.filter(pk__in=ids.values()).values_list("pipeline", flat=True)) == {
        "vm-cpu-high"
    }

    for vm in vms[:2]:
        post(
            rule_alert(vm, alert=f"n-{vm}", condition="Resolved", fired=fired),
            "/webhooks/azure-monitor/",
        )
    before = _told_ids()
    last = vms[2]
    resolve_member("api", ids[last], "ana")
    assert sorted(_told_since(before).values_list("action", flat=True)) == [
        "jira_inc_comment",
        "slack_inc_reply",
    ]
    deliver_pending()
    member = f"vm-cpu-high on {last} ({ids[last]})"
    assert incident_thread(slack, incident)[-1]["text"].startswith(
        f":white_check_mark: *ana* resolved {member}, the last open member"
    )
    assert comments(jira, incident.itsm_ticket_id)[-1].startswith(f"ana resolved {member}")
    incident.refresh_from_db()
    assert incident_status_line(incident).startswith(f"Resolved: {member}, the last open member")


def test_two_vms_of_a_rule_each_over_firing_again_together_page_once(
    celery_worker, targets, settings
):
    """Two VMs of one rule each fired and recovered on their own (each paged alone: never
    firing at once). The rule then fired on both together: each alert regressed its VM's
    ticket, and a regression only joined an open incident, so each reopened its own issue and
    alert, where two new alerts of the rule are its one incident, paged once."""
    from tests.tickets.test_incidents import FIVE_VMS, rule_alert

    jira, slack = targets
    settings.INCIDENT_GRACE_SECONDS = 0
    vms = FIVE_VMS[:2]
    own: dict[str, str] = {}
    for vm in vms:
        fired = timezone.now().isoformat().replace("+00:00", "Z")
        ticket_id = post(rule_alert(vm, alert=f"a-{vm}", fired=fired), "/webhooks/azure-monitor/")[
            "ticket_id"
        ]
        paged = Ticket.objects.filter(pk=ticket_id).values_list("itsm_ticket_id", flat=True)
        own[vm] = wait_for(paged.first, 30)
        post(
            rule_alert(vm, alert=f"a-{vm}", condition="Resolved", fired=fired),
            "/webhooks/azure-monitor/",
        )
        settled()
    assert not Incident.objects.exists() and len(slack.top_level()) == 2
    moved = {key: transitions(jira, key) for key in own.values()}

    again = [post(rule_alert(vm, alert=f"b-{vm}"), "/webhooks/azure-monitor/") for vm in vms]

    assert [answer["outcome"] for answer in again] == ["regressed", "regressed"]
    incident = paged_incident()
    wait_for(lambda: not Ticket.objects.filter(rca_source="pending"), 30)
    settled()
    assert set(incident.members.values_list("pk", flat=True)) == {a["ticket_id"] for a in again}
    assert "2 tickets from 1 alert rule" in jira.issues[incident.itsm_ticket_id]["summary"]
    creates = [r for r in jira.issue_requests("POST") if r.path.endswith("/issue")]
    assert len(creates) == 3 and len(slack.top_level()) == 3
    # The VM whose alert formed the incident is pointed to it, its own issue left Done.
    second = own[vms[1]]
    assert transitions(jira, second) == moved[second]
    assert jira.issues[second]["status"] == "Done"
    for key in own.values():
        linked = [c for c in jira.issues[key]["comments"] if incident.pk in c["body"]]
        assert len(linked) == 1


def test_a_service_health_maintenance_is_recorded_without_paging_and_an_outage_pages_by_its_title(
    celery_worker, targets, settings
):
    """A planned maintenance opened a Low ticket that went to JIRA and Slack, as an outage
    does, and every Service Health page of a rule named "sh-all" read "sh-all". The
    maintenance is recorded (a ticket, Low; its evidence kept) and pages nobody: its JIRA and
    Slack pages are recorded skipped, saying why, and its updates and its end follow nothing.
    An outage pages, named by the event Azure titled; with SERVICE_HEALTH_NOTICES_PAGE on, a
    maintenance pages too."""
    from integrations.targets.base import NOTICE_NOT_PAGED
    from tests.tickets.test_incidents import SUBSCRIPTIONS, service_health_alert

    jira, slack = targets
    settings.INCIDENT_GRACE_SECONDS = 0.5
    settings.SERVICE_HEALTH_NOTICES_PAGE = False
    azure = "/webhooks/azure-monitor/"

    def from_sh_all(body: dict, maintenance: bool, stage: str = "Planned") -> dict:
        body["data"]["essentials"].update(alertRule="sh-all", severity="Sev4")
        if maintenance:
            context = body["data"]["alertContext"]
            context.update(
                level="Informational", operationName="Microsoft.ServiceHealth/maintenance/action"
            )
            context["properties"].update(incidentType="Maintenance", stage=stage)
        return body

    notice = "Planned maintenance: Azure SQL Database - West Europe"
    quiet = post(
        from_sh_all(service_health_alert(SUBSCRIPTIONS[0], "MNT-100", title=notice), True), azure
    )["ticket_id"]
    analysed = Ticket.objects.filter(pk=quiet).exclude(rca_source="pending")
    wait_for(analysed.exists, 30)
    settled()
    ticket = Ticket.objects.get(pk=quiet)
    assert (ticket.severity, ticket.title, ticket.pipeline) == ("Low", notice, "sh-all")
    assert ticket.itsm_ticket_id == "" and ticket.slack_ts == ""
    pages = OutboundDelivery.objects.filter(ticket_id=quiet, target__in=("jira", "slack"))
    assert pages.exists()
    assert set(pages.values_list("status", "last_error")) == {
        (OutboundStatus.SKIPPED, NOTICE_NOT_PAGED)
    }
    # Its next update and its end: counted and ended, nothing paged, no dead letter.
    post(
        from_sh_all(
            service_health_alert(SUBSCRIPTIONS[0], "MNT-100", update="2", title=notice), True
        ),
        azure,
    )
    post(
        from_sh_all(
            service_health_alert(SUBSCRIPTIONS[0], "MNT-100", update="3", title=notice),
            True,
            stage="Complete",
        ),
        azure,
    )
    settled()
    assert Ticket.objects.get(pk=quiet).status == "resolved"
    # Azure publishing it again (an update after its end) reopens it: a notice still.
    back = post(
        from_sh_all(
            service_health_alert(SUBSCRIPTIONS[0], "MNT-100", update="4", title=notice), True
        ),
        azure,
    )
    assert (back["outcome"], back["ticket_id"]) == ("regressed", quiet)
    wait_for(
        lambda: (
            not WebhookDelivery.objects.filter(tracking_id=back["tracking_id"], status="pending")
        ),
        30,
    )
    settled()
    assert not OutboundDelivery.objects.filter(ticket_id=quiet, status=OutboundStatus.DEAD)
    assert not [r for r in jira.issue_requests("POST") if r.path.endswith("/issue")]
    assert slack.top_level() == []

    outage = "Azure Data Factory - East US"
    paged = post(
        from_sh_all(service_health_alert(SUBSCRIPTIONS[0], "OUT-200", title=outage), False), azure
    )["ticket_id"]
    key = wait_for(
        Ticket.objects.filter(pk=paged).exclude(itsm_ticket_id="").exclude(slack_ts="").first, 30
    ).itsm_ticket_id
    settled()
    assert jira.issues[key]["summary"].startswith(f"[High] {outage}: ")
    (alert,) = slack.top_level()
    assert outage in alert["text"] and "sh-all" not in alert["text"]

    settings.SERVICE_HEALTH_NOTICES_PAGE = True
    loud = post(
        from_sh_all(service_health_alert(SUBSCRIPTIONS[1], "MNT-300", title=notice), True), azure
    )["ticket_id"]
    assert wait_for(
        Ticket.objects.filter(pk=loud).exclude(itsm_ticket_id="").exclude(slack_ts="").exists, 30
    )
    settled()
    assert len(slack.top_level()) == 2


def test_a_service_health_notice_that_escalates_pages_once(celery_worker, targets, settings):
    """A planned maintenance (a quiet notice: Low, its JIRA issue and Slack alert recorded
    skipped) whose later update of the same tracking id was an `Incident` stayed that Low
    ticket, unpaged: nobody was paged for what became an outage. Now the update makes it an
    outage: High, a notice no more, its JIRA issue and Slack alert sent once (its redelivery
    and its next update page nothing more). A notice that paged (SERVICE_HEALTH_NOTICES_PAGE
    on) and then escalates (an emergency maintenance, level Warning) is not paged again."""
    from integrations.events import SERVICE_HEALTH_NOTICE
    from integrations.targets.base import NOTICE_NOT_PAGED
    from tests.tickets.test_incidents import SUBSCRIPTIONS, service_health_alert

    jira, slack = targets
    settings.INCIDENT_GRACE_SECONDS = 0.5
    settings.SERVICE_HEALTH_NOTICES_PAGE = False
    azure = "/webhooks/azure-monitor/"
    title = "Planned maintenance: Azure SQL Database - West Europe"

    def update(subscription: str, tracking: str, n: str, kind: str, level: str) -> dict:
        body = service_health_alert(subscription, tracking, update=n, title=title)
        body["data"]["essentials"].update(alertRule="sh-all", severity="Sev4")
        context = body["data"]["alertContext"]
        context.update(level=level)
        if kind == "Maintenance":
            context.update(operationName="Microsoft.ServiceHealth/maintenance/action")
        context["properties"].update(incidentType=kind)
        return body

    def created_issues() -> list:
        return [r for r in jira.issue_requests("POST") if r.path.endswith("/issue")]

    quiet = post(update(SUBSCRIPTIONS[0], "MNT-500", "1", "Maintenance", "Informational"), azure)
    ticket_id = quiet["ticket_id"]
    wait_for(Ticket.objects.filter(pk=ticket_id).exclude(rca_source="pending").exists, 30)
    settled()
    pages = OutboundDelivery.objects.filter(ticket_id=ticket_id, target__in=("jira", "slack"))
    assert set(pages.values_list("status", "last_error")) == {
        (OutboundStatus.SKIPPED, NOTICE_NOT_PAGED)
    }
    assert Ticket.objects.get(pk=ticket_id).severity == "Low"

    outage = update(SUBSCRIPTIONS[0], "MNT-500", "2", "Incident", "Informational")
    got = post(outage, azure)
    assert (got["outcome"], got["ticket_id"]) == ("correlated", ticket_id)
    paged = wait_for(
        Ticket.objects.filter(pk=ticket_id).exclude(itsm_ticket_id="").exclude(slack_ts="").first,
        30,
    )
    assert paged.severity == "High" and SERVICE_HEALTH_NOTICE not in paged.details
    post(outage, azure)  # redelivered
    again = post(update(SUBSCRIPTIONS[0], "MNT-500", "3", "Incident", "Error"), azure)
    assert again["ticket_id"] == ticket_id
    settled()
    assert len(created_issues()) == 1 and len(slack.top_level()) == 1
    assert jira.issues[paged.itsm_ticket_id]["summary"].startswith(f"[High] {title}")
    assert not OutboundDelivery.objects.filter(ticket_id=ticket_id, status=OutboundStatus.DEAD)

    settings.SERVICE_HEALTH_NOTICES_PAGE = True
    loud = post(update(SUBSCRIPTIONS[1], "MNT-600", "1", "Maintenance", "Informational"), azure)
    wait_for(
        Ticket.objects.filter(pk=loud["ticket_id"])
        .exclude(itsm_ticket_id="")
        .exclude(slack_ts="")
        .exists,
        30,
    )
    settled()
    emergency = update(SUBSCRIPTIONS[1], "MNT-600", "2", "Maintenance", "Warning")
    assert post(emergency, azure)["ticket_id"] == loud["ticket_id"]
    settled()
    escalated = Ticket.objects.get(pk=loud["ticket_id"])
    assert escalated.severity == "Medium" and SERVICE_HEALTH_NOTICE not in escalated.details
    assert len(created_issues()) == 2 and len(slack.top_level()) == 2


def test_one_notice_told_to_three_subscriptions_that_escalates_pages_once(
    celery_worker, targets, settings
):
    """A planned maintenance told to three subscriptions (three quiet notices: no incident,
    none paged) whose next update, in each, is an `Incident`: each ticket escalated on its
    own and paged on its own, three JIRA issues and three Slack alerts for one Azure incident.
    Now they are one incident of its tracking id, paged once; each subscription's Resolved
    ends its member, and the last one the incident."""
    from tests.tickets.test_incidents import SUBSCRIPTIONS, service_health_alert

    jira, slack = targets
    settings.INCIDENT_GRACE_SECONDS = 2
    settings.SERVICE_HEALTH_NOTICES_PAGE = False
    azure = "/webhooks/azure-monitor/"
    title = "Planned maintenance: Azure SQL Database - West Europe"

    def update(subscription: str, n: str, kind: str, stage: str = "Active") -> dict:
        body = service_health_alert(subscription, "MNT-800", update=n, title=title, stage=stage)
        body["data"]["essentials"].update(alertRule="sh-all", severity="Sev4")
        body["data"]["alertContext"].update(level="Informational")
        body["data"]["alertContext"]["properties"].update(incidentType=kind)
        return body

    members = [post(update(sub, "1", "Maintenance"), azure)["ticket_id"] for sub in SUBSCRIPTIONS]
    wait_for(lambda: not Ticket.objects.filter(pk__in=members, rca_source="pending"), 30)
    settled()
    assert not Incident.objects.exists()
    for sub, member in zip(SUBSCRIPTIONS, members, strict=True):
        got = post(update(sub, "2", "Incident"), azure)
        assert (got["outcome"], got["ticket_id"]) == ("correlated", member)
    incident = paged_incident()
    assert incident.group_key == "service-health:MNT-800"
    assert set(incident.members.values_list("pk", flat=True)) == set(members)
    time.sleep(settings.INCIDENT_GRACE_SECONDS + 1)
    settled()
    assert len([r for r in jira.issue_requests("POST") if r.path.endswith("/issue")]) == 1
    assert len(slack.top_level()) == 1
    for ticket in Ticket.objects.filter(pk__in=members):
        assert ticket.severity == "High" and ticket.itsm_ticket_id == ticket.slack_ts == ""
    for sub in SUBSCRIPTIONS:
        post(update(sub, "9", "Incident", stage="Resolved"), azure)
    incident.refresh_from_db()
    assert incident.status == "resolved"
    settled()
    assert len(slack.top_level()) == 1
    assert not OutboundDelivery.objects.filter(ticket_id__in=members, status=OutboundStatus.DEAD)


def test_a_service_health_notice_ended_and_back_as_an_outage_pages_once(
    celery_worker, targets, settings
):
    """A planned maintenance (a quiet notice), completed, then published again as an
    `Incident` (the update reopening its ticket, `regressed`): an outage now, it pages once,
    as its regression is processed."""
    from tests.tickets.test_incidents import SUBSCRIPTIONS, service_health_alert

    jira, slack = targets
    settings.INCIDENT_GRACE_SECONDS = 0.5
    settings.SERVICE_HEALTH_NOTICES_PAGE = False
    azure = "/webhooks/azure-monitor/"

    def update(n: str, kind: str, stage: str = "Active") -> dict:
        body = service_health_alert(SUBSCRIPTIONS[2], "MNT-700", update=n, stage=stage)
        body["data"]["essentials"].update(alertRule="sh-all", severity="Sev4")
        body["data"]["alertContext"].update(level="Informational")
        body["data"]["alertContext"]["properties"].update(incidentType=kind)
        return body

    ticket_id = post(update("1", "Maintenance"), azure)["ticket_id"]
    wait_for(Ticket.objects.filter(pk=ticket_id).exclude(rca_source="pending").exists, 30)
    post(update("2", "Maintenance", stage="Complete"), azure)
    settled()
    assert Ticket.objects.get(pk=ticket_id).status == "resolved"
    back = post(update("3", "Incident"), azure)
    assert (back["outcome"], back["ticket_id"]) == ("regressed", ticket_id)
    paged = wait_for(
        Ticket.objects.filter(pk=ticket_id).exclude(itsm_ticket_id="").exclude(slack_ts="").first,
        30,
    )
    settled()
    assert paged.severity == "High" and paged.status != "resolved"
    assert len([r for r in jira.issue_requests("POST") if r.path.endswith("/issue")]) == 1
    assert len(slack.top_level()) == 1
    assert not OutboundDelivery.objects.filter(ticket_id=ticket_id, status=OutboundStatus.DEAD)


def test_one_azure_incident_told_to_three_subscriptions_pages_once_and_recovers_per_subscription(
    celery_worker, targets, settings
):
    """One Service Health rule per subscription (activity log alerts are scoped to one): one
    Azure incident sent three alerts, three tickets, three JIRA issues and three Slack alerts.
    Now they are one incident, paged once; each subscription's Resolved ends its own member,
    and the last one the incident. Another Azure incident (another tracking id) pages alone."""
    from tests.tickets.test_incidents import SUBSCRIPTIONS, service_health_alert

    jira, slack = targets
    settings.INCIDENT_GRACE_SECONDS = 2
    azure = "/webhooks/azure-monitor/"
    members = [
        post(service_health_alert(sub, "ZX9K-TQ8"), azure)["ticket_id"] for sub in SUBSCRIPTIONS
    ]
    incident = paged_incident()
    wait_for(lambda: not Ticket.objects.filter(pk__in=members, rca_source="pending"), 30)
    settled()
    creates = [r for r in jira.issue_requests("POST") if r.path.endswith("/issue")]
    assert len(creates) == 1 and len(slack.top_level()) == 1
    summary = jira.issues[incident.itsm_ticket_id]["summary"]
    assert "Azure Service Health incident ZX9K-TQ8: Azure Data Factory - East US" in summary
    assert "3 tickets from 3 subscriptions" in summary
    for ticket in Ticket.objects.filter(pk__in=members):
        assert ticket.incident_id == incident.pk
        assert ticket.itsm_ticket_id == "" and ticket.slack_ts == ""

    other = post(service_health_alert(SUBSCRIPTIONS[0], "QQ77-RR1"), azure)["ticket_id"]
    paged = Ticket.objects.filter(pk=other).values_list("itsm_ticket_id", flat=True)
    assert wait_for(paged.first, 30)
    settled()
    assert Ticket.objects.get(pk=other).incident_id is None
    assert len(slack.top_level()) == 2

    for n, sub in enumerate(SUBSCRIPTIONS):
        post(service_health_alert(sub, "ZX9K-TQ8", stage="Resolved", update="9"), azure)
        incident.refresh_from_db()
        assert (incident.recovered_at is not None) == (n == len(SUBSCRIPTIONS) - 1)
    assert incident.status == "resolved"
    assert Ticket.objects.filter(pk__in=members, status="resolved").count() == 3
    settled()
    # Still one page for the Azure incident: its recovery is told in the incident's thread.
    assert len(slack.top_level()) == 2
    assert len([r for r in jira.issue_requests("POST") if r.path.endswith("/issue")]) == 2


def test_the_incident_messages_permalink_is_asked_once_and_shown(celery_worker, targets, client):
    """The incident's own Slack message gets its permalink as a ticket's alert does: asked once
    after the post, in the API and on the incident page."""
    from tests.api import clear_throttles, jwt_client, make_user

    _, slack = targets
    clear_throttles()
    post(storm_failure("pl_orders"))
    post(storm_failure("pl_customers"))
    incident = paged_incident()

    expected = (
        f"https://fake-workspace.slack.com/archives/{incident.slack_channel}/"
        f"p{incident.slack_ts.replace('.', '')}"
    )
    assert incident.slack_permalink == expected
    asked = [r.body for r in slack.api_requests("chat.getPermalink") if incident.slack_ts in r.body]
    assert len(asked) == 1
    viewer = make_user("viewer", "vera")
    detail = jwt_client(viewer).get(f"/api/v1/incidents/{incident.pk}/").json()
    assert detail["slack_permalink"] == expected
    client.force_login(viewer)
    html = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert f'href="{expected}"' in html


def _quiet_for(quiet: timedelta) -> None:
    """The storm went quiet `quiet` ago: its incident's and its tickets' times move back."""
    from django.db.models import F

    Incident.objects.update(
        first_seen=F("first_seen") - quiet,
        last_member_at=F("last_member_at") - quiet,
        created_at=F("created_at") - quiet,
    )
    Ticket.objects.update(
        timestamp=F("timestamp") - quiet,
        first_seen=F("first_seen") - quiet,
        last_seen=F("last_seen") - quiet,
    )


def _pages(jira: FakeJira, slack: FakeSlack) -> tuple[int, int]:
    """(JIRA issues created, Slack alerts posted): the pages sent so far."""
    creates = [r for r in jira.issue_requests("POST") if r.path.endswith("/issue")]
    return len(creates), len(slack.top_level())


OTHER_SERVER_MESSAGE = STORM_MESSAGE.replace("sql-prod-01", "sql-prod-02")


@pytest.mark.parametrize(
    ("quiet_minutes", "open_join_minutes", "resolved", "message", "joins"),
    [
        pytest.param(20, None, False, STORM_MESSAGE, True, id="open-incident-after-a-quiet-spell"),
        pytest.param(110, None, False, STORM_MESSAGE, True, id="within-the-default-bound"),
        pytest.param(130, None, False, STORM_MESSAGE, False, id="past-the-default-bound"),
        pytest.param(40, 30, False, STORM_MESSAGE, False, id="past-a-configured-bound"),
        pytest.param(20, None, True, STORM_MESSAGE, False, id="incident-resolved"),
        pytest.param(20, None, False, OTHER_SERVER_MESSAGE, False, id="unrelated-culprit"),
    ],
)
def test_a_straggler_of_an_outage_still_open_joins_its_incident_after_a_quiet_spell(
    celery_worker, targets, settings, quiet_minutes, open_join_minutes, resolved, message, joins
):
    """Pipelines on hourly schedules hit the same dead server after the storm went quiet for
    longer than INCIDENT_WINDOW_SECONDS: while its incident is open (and its last member within
    INCIDENT_OPEN_JOIN_SECONDS, 2 hours by default), the straggler joins it and pages nothing
    of its own; past that bound, once the incident is resolved, or naming another culprit, it
    is a ticket of its own and pages."""
    from tests.api import clear_throttles, jwt_client, make_user

    jira, slack = targets
    clear_throttles()
    settings.INCIDENT_GRACE_SECONDS = 0
    if open_join_minutes is not None:
        settings.INCIDENT_OPEN_JOIN = timedelta(minutes=open_join_minutes)
    post(storm_failure("pl_orders"))
    post(storm_failure("pl_customers"))
    incident = paged_incident()
    assert _pages(jira, slack) == (1, 1)
    if resolved:
        responder = jwt_client(make_user("responder", "maria"))
        assert responder.post(f"/api/v1/incidents/{incident.pk}/resolve/").status_code == 200
        settled()
    _quiet_for(timedelta(minutes=quiet_minutes))

    straggler = post(storm_failure("pl_hourly_export", message=message))
    assert straggler["outcome"] == "created"

    ticket = Ticket.objects.get(pk=straggler["ticket_id"])
    incident.refresh_from_db()
    if joins:
        assert ticket.incident_id == incident.pk
        assert incident.member_count == 3 and incident.status == "open"
        settled()
        assert _pages(jira, slack) == (1, 1)  # the outage paged once
        assert ticket.itsm_ticket_id == "" and ticket.slack_ts == ""
    else:
        assert ticket.incident_id is None
        assert incident.member_count == 2
        assert incident.status == ("resolved" if resolved else "open")
        wait_for(
            lambda: (
                Ticket.objects.filter(pk=ticket.pk)
                .exclude(itsm_ticket_id="")
                .exclude(slack_ts="")
                .exists()
            ),
            30,
        )
        settled()
        assert _pages(jira, slack) == (2, 2)  # its own page besides the incident's


@pytest.mark.parametrize(
    ("recovers", "quiet_minutes", "joins"),
    [
        pytest.param(True, 40, False, id="a-member-recovered-since-the-storm"),
        pytest.param(False, 40, True, id="no-member-recovered"),
        pytest.param(True, 5, True, id="recovered-within-the-window"),
    ],
)
def test_a_failure_after_a_member_recovered_is_another_outage_past_the_window(
    celery_worker, targets, settings, recovers, quiet_minutes, joins
):
    """A member of the still-open incident (another is left open) recovered at its source after
    the storm went quiet: its culprit worked then, so a failure of it past
    INCIDENT_WINDOW_SECONDS after the incident's last member is a new outage, which pages on
    its own, not a straggler the old incident takes without a page. Within the window it
    joins, as before INCIDENT_OPEN_JOIN_SECONDS."""
    from tests.api import clear_throttles

    jira, slack = targets
    clear_throttles()
    settings.INCIDENT_GRACE_SECONDS = 0
    post(storm_failure("pl_orders"))
    post(storm_failure("pl_customers"))
    incident = paged_incident()
    _quiet_for(timedelta(minutes=quiet_minutes))
    if recovers:
        post_success("pl_orders")
        incident.refresh_from_db()
        assert (incident.status, incident.recovered_count) == ("open", 1)

    later = post(storm_failure("pl_hourly_export"))

    ticket = Ticket.objects.get(pk=later["ticket_id"])
    incident.refresh_from_db()
    if joins:
        assert ticket.incident_id == incident.pk
        settled()
        assert _pages(jira, slack) == (1, 1)
    else:
        assert ticket.incident_id is None
        assert incident.member_count == 2
        wait_for(
            lambda: (
                Ticket.objects.filter(pk=ticket.pk)
                .exclude(itsm_ticket_id="")
                .exclude(slack_ts="")
                .exists()
            ),
            30,
        )
        settled()
        assert _pages(jira, slack) == (2, 2)


WORKSPACE_RUN_PAGE = (
    "https://adb-2718281828459045.5.azuredatabricks.net/?o=2718281828459045#job/{job}/run/{run}"
)
WORKSPACE_API_HOST = "adb-2718281828459045.5.azuredatabricks.net"


def adf_notebook_error(error: str, job: int) -> str:
    """An ADF Databricks notebook activity's error as ADF writes it: the run's own error, then
    the link to the run's page in its workspace."""
    return (
        "Operation on target Run notebook failed: Databricks execution failed with error state: "
        f"Terminated, error message: {error}. For more details please check the run page url: "
        f"{WORKSPACE_RUN_PAGE.format(job=job, run=job * 7)}."
    )


def _paged_each(*bodies: dict) -> list[Ticket]:
    """Post the failures and wait until each is processed and its pages are sent or skipped."""
    ids = [post(body)["ticket_id"] for body in bodies]
    wait_for(
        lambda: (
            WebhookDelivery.objects.filter(ticket_id__in=ids, status="processed").count()
            == len(ids)
        ),
        30,
    )
    settled()
    return list(Ticket.objects.filter(pk__in=ids))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # Two notebooks' own bugs in one workspace: the run page links named the workspace as
        # the culprit of both, one incident and one page for two problems.
        (
            adf_notebook_error("ZeroDivisionError: division by zero", 101),
            adf_notebook_error("ZeroDivisionError: float division by zero", 202),
        ),
        (
            adf_notebook_error(
                "AnalysisException: [TABLE_OR_VIEW_NOT_FOUND] The table or view "
                "`sales`.`orders` cannot be found",
                101,
            ),
            adf_notebook_error(
                "AnalysisException: [TABLE_OR_VIEW_NOT_FOUND] The table or view "
                "`crm`.`customers` cannot be found",
                202,
            ),
        ),
        # A documentation link (tests/analysis/audit_errors.jsonl audit-029, thread_errors_30
        # r31-024): api-host:sqlalche.me for any two SQLAlchemy errors.
        (
            "sqlalchemy.exc.OperationalError: (MySQLdb._exceptions.OperationalError) (2013, "
            "'Lost connection to MySQL server during query') (Background on this error at: "
            "https://sqlalche.me/e/14/e3q8)",
            "Failed to log action with (psycopg2.DatabaseError) error with status "
            "PGRES_TUPLES_OK and no message from the libpq (Background on this error at: "
            "http://sqlalche.me/e/13/4xp6)",
        ),
        # Files of one storage account whose data is wrong (thread_errors_46 r47-011, r47-030):
        # the account worked.
        (
            "org.apache.spark.SparkException: [FAILED_READ_FILE.PARQUET_COLUMN_DATA_TYPE_MISMATCH] "
            "Encountered error while reading file abfss://raw@stlakeprod.dfs.core.windows.net/"
            "sales/orders/part-00003-6f1c2a9e.c000.snappy.parquet. Data type mismatches when "
            'reading Parquet column amount. Expected Spark type "DECIMAL(18,2)", actual Parquet '
            "type DOUBLE. SQLSTATE: KD001",
            "org.apache.spark.sql.delta.DeltaAnalysisException: [DELTA_EMPTY_DIRECTORY] No file "
            "found in the directory: abfss://landing@stlakeprod.dfs.core.windows.net/orders/"
            "2024-06-01. SQLSTATE: 42K03",
        ),
        # Two Snowflake resource monitors (audit-065, audit-261): `cloud-quota:its-quota`.
        (
            "snowflake.connector.errors.ProgrammingError: Warehouse 'ETL_WH' cannot be resumed "
            "because resource monitor 'RM_MONTHLY_ETL' has exceeded its quota.",
            "snowflake.connector.errors.ProgrammingError: 090064 (22000): Warehouse 'LOAD_WH' "
            "cannot be resumed because resource monitor 'MONTHLY_LIMIT' has exceeded its quota.",
        ),
    ],
    ids=["zero-divisions", "missing-tables", "doc-link", "data-on-one-account", "two-monitors"],
)
def test_failures_naming_a_dependency_only_as_a_link_or_a_path_page_apart(
    celery_worker, targets, first, second
):
    jira, slack = targets
    tickets = _paged_each(
        storm_failure("pl_orders", message=first), storm_failure("pl_customers", message=second)
    )

    assert Incident.objects.count() == 0
    assert [ticket.incident_id for ticket in tickets] == [None, None]
    assert _pages(jira, slack) == (2, 2)


@pytest.mark.parametrize(
    "error",
    [
        # The platform lost each run's job cluster: the run page link says which workspace.
        adf_notebook_error(
            "Cluster {cluster} is in unexpected state Terminated: "
            "DRIVER_UNREACHABLE(SERVICE_FAULT): Driver is unreachable",
            101,
        ),
        # The workspace's API host refusing connections.
        "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='"
        + WORKSPACE_API_HOST
        + "', port=443): Max retries exceeded with url: /api/2.1/jobs/runs/get?run_id=4711 "
        "(Caused by NewConnectionError('<urllib3.connection.HTTPSConnection object>: Failed to "
        "establish a new connection: [Errno 111] Connection refused'))",
    ],
    ids=["platform-terminated-cluster", "api-host-refusing"],
)
def test_a_databricks_workspace_outage_reported_by_adf_still_pages_once(
    celery_worker, targets, error
):
    jira, slack = targets
    tickets = _paged_each(
        storm_failure("pl_orders", message=error.format(cluster="1207-145501-abcd1234")),
        storm_failure("pl_customers", message=error.format(cluster="1207-145502-efgh5678")),
    )

    incident = Incident.objects.get()
    assert incident.culprit == "databricks-workspace:2718281828459045"
    assert {ticket.incident_id for ticket in tickets} == {incident.pk}
    assert _pages(jira, slack) == (1, 1)


def test_a_recovery_committing_while_a_failure_is_placed_is_seen_before_it_joins(
    celery_worker, targets, settings
):
    """Past INCIDENT_WINDOW_SECONDS, a failure joins the open incident only if no member
    recovered since its last member. A member's recovery committing between the failure's
    placement read (in the statement that created its ticket) and its join went unseen: the
    new outage's first failure joined the old incident, paged nothing, and kept it alive for
    the rest of the outage. The recovery holds the incident (counting itself recovered) while
    the failure is placed, and commits while the failure waits to join."""
    import threading

    from django.db import transaction

    from tests.api import clear_throttles

    jira, slack = targets
    clear_throttles()
    settings.INCIDENT_GRACE_SECONDS = 0
    post(storm_failure("pl_orders"))
    post(storm_failure("pl_customers"))
    incident = paged_incident()
    _quiet_for(timedelta(minutes=40))

    holding, release = threading.Event(), threading.Event()
    sessions = SessionThreads()
    run, pids, errors = sessions.start, sessions.pids, sessions.errors
    answers: list[dict] = []

    def recover() -> None:
        with transaction.atomic():
            post_success("pl_orders")
            holding.set()
            release.wait(20)

    threads = [run("recovery", recover)]
    assert holding.wait(20)
    threads.append(run("failure", lambda: answers.append(post(storm_failure("pl_hourly")))))
    wait_for(lambda: "failure" in pids and _blocked_by(pids["failure"], pids["recovery"]), 20)
    release.set()
    for thread in threads:
        thread.join(30)

    assert errors == []
    ticket = Ticket.objects.get(pk=answers[0]["ticket_id"])
    incident.refresh_from_db()
    assert ticket.incident_id is None
    assert (incident.member_count, incident.recovered_count) == (2, 1)
    wait_for(lambda: Ticket.objects.filter(pk=ticket.pk).exclude(itsm_ticket_id="").exists(), 30)
    settled()
    assert _pages(jira, slack) == (2, 2)  # its own page besides the incident's
