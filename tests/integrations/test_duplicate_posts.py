"""Exactly one JIRA issue and one Slack alert per ticket when a create's answer is lost.

Neither JIRA's issue create nor Slack's chat.postMessage takes an idempotency key. These tests
lose answers the two ways it happens (the client times out while the target carries the request
out late; the worker is killed after sending, before anything is committed) and check that the
retry adopts what landed, and that the delayed reconcile removes what landed after the retry,
keeping the issue/message the ticket is linked to. They drive the real `jira` and `slack_sdk`
clients against FakeJira and FakeSlack; the fan-out tests call `fanout.deliver()` directly
(what the Celery task does), so each step happens when the test says.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from django.utils import timezone
from slack_sdk import WebClient

from integrations import fanout
from integrations.circuit import CircuitBreaker
from integrations.models import OutboundDelivery, OutboundStatus
from integrations.targets import base
from integrations.targets.base import TransportError
from integrations.targets.jira import JiraTransport
from integrations.targets.slack import SLACK_EVENT_TYPE, SlackTransport
from tests.api import make_ticket
from tests.conftest import wait_for
from tests.fakes.jira_api import FakeJira
from tests.fakes.slack_api import FakeSlack
from tickets.models import AuditLog, Ticket

TIMEOUT = 1.0  # the clients' timeout; the fakes hold requests longer than this
EVENT = SLACK_EVENT_TYPE
BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*P2* ADF failure"}}]


@pytest.fixture
def fake_jira() -> Iterator[FakeJira]:
    with FakeJira() as fake:
        yield fake


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def jira(fake_jira: FakeJira) -> JiraTransport:
    return JiraTransport(fake_jira.url, fake_jira.user, fake_jira.token, timeout=TIMEOUT)


@pytest.fixture
def slack(fake_slack: FakeSlack) -> SlackTransport:
    return SlackTransport(fake_slack.token, base_url=fake_slack.base_url, timeout=TIMEOUT)


# ---------------------------------------------------------------------------------------------
# The transports and the fakes
# ---------------------------------------------------------------------------------------------


def new_issue(jira: JiraTransport, label: str) -> str:
    return jira.create_issue(
        project="OPS",
        summary="[High] pl_copy: NetworkError",
        description="Root cause: the firewall.",
        priority="High",
        labels=[label, "rca-service"],
    )


def test_jira_issues_with_label_oldest_first_and_deleting_only_untouched_ones(
    jira: JiraTransport, fake_jira: FakeJira
) -> None:
    keys = [new_issue(jira, "rca-T1") for _ in range(3)]
    new_issue(jira, "rca-T2")
    assert jira.issues_with_label("rca-T1") == keys == ["OPS-1", "OPS-2", "OPS-3"]
    assert fake_jira.issues["OPS-1"]["created_at"].endswith("+0000")

    jira.add_comment("OPS-2", "looking at it")
    jira.transition_to("OPS-3", "In Progress")
    assert jira.delete_issue_if_untouched("OPS-1") == "deleted"
    assert jira.delete_issue_if_untouched("OPS-1") == "gone"
    assert jira.delete_issue_if_untouched("OPS-2") == "touched"  # commented
    assert jira.delete_issue_if_untouched("OPS-3") == "touched"  # moved on
    assert fake_jira.deleted == ["OPS-1"]
    delete = fake_jira.issue_requests("DELETE")[0]
    assert delete.path == f"/rest/api/2/issue/{10001}"  # the issue's `self` URL (its id)
    assert jira.issues_with_label("rca-T1") == ["OPS-2", "OPS-3"]

    assert jira.mark_duplicate("OPS-2", label="rca-T1", duplicate_of="OPS-3", note="Dup of OPS-3")
    issue = fake_jira.issues["OPS-2"]
    assert issue["labels"] == ["rca-service", "rca-duplicate"]
    assert issue["comments"][-1]["body"] == "Dup of OPS-3"
    assert jira.issues_with_label("rca-T1") == ["OPS-3"]
    assert jira.mark_duplicate("OPS-1", label="rca-T1", duplicate_of="OPS-3", note="x") is False


def test_jira_delete_without_the_permission_is_a_permanent_403(
    jira: JiraTransport, fake_jira: FakeJira
) -> None:
    key = new_issue(jira, "rca-T1")
    fake_jira.can_delete = False
    with pytest.raises(TransportError) as caught:
        jira.delete_issue_if_untouched(key)
    assert (caught.value.permanent, caught.value.status) == (True, 403)
    assert key in fake_jira.issues


def test_jira_create_held_past_the_timeout_lands_late(
    jira: JiraTransport, fake_jira: FakeJira
) -> None:
    fake_jira.stall(2.5, times=1, path_contains="/rest/api/2/issue")
    with pytest.raises(TransportError) as caught:
        new_issue(jira, "rca-T1")
    assert not caught.value.permanent
    assert jira.issues_with_label("rca-T1") == []  # not there yet...
    wait_for(lambda: jira.issues_with_label("rca-T1"), timeout=5)  # ...but it comes


def post(slack: SlackTransport, ticket_id: str | None, channel: str = "C0ALERTS001") -> str:
    metadata = {"event_type": EVENT, "event_payload": {"ticket_id": ticket_id}}
    _, ts = slack.post_message(
        channel,
        text=f"alert ({ticket_id})",
        blocks=BLOCKS,
        metadata=metadata if ticket_id else None,
    )
    return ts


def test_slack_tagged_messages_page_through_history_and_delete(
    slack: SlackTransport, fake_slack: FakeSlack
) -> None:
    since = time.time() - 1
    mine = [post(slack, "T1") for _ in range(3)]
    post(slack, "T2")
    post(slack, None)
    post(slack, "T1", channel="C0DATAENG01")  # another channel

    found = slack.tagged_messages(
        "C0ALERTS001", event_type=EVENT, payload={"ticket_id": "T1"}, oldest=since, page_size=2
    )
    assert found == mine
    history = fake_slack.api_requests("conversations.history")
    assert len(history) == 3  # 5 messages, 2 a page
    first, second = (parse_qs(r.body) for r in history[:2])  # slack_sdk posts a form
    assert (first["channel"], first["include_all_metadata"]) == (["C0ALERTS001"], ["1"])
    assert "cursor" not in first and second["cursor"]
    assert (
        slack.tagged_messages(
            "C0ALERTS001", event_type=EVENT, payload={"ticket_id": "T1"}, oldest=time.time() + 60
        )
        == []
    )

    assert slack.delete_message("C0ALERTS001", mine[1]) is True
    assert slack.delete_message("C0ALERTS001", mine[1]) is False  # already gone
    assert fake_slack.deleted == [("C0ALERTS001", mine[1])]
    assert slack.tagged_messages(
        "C0ALERTS001", event_type=EVENT, payload={"ticket_id": "T1"}, oldest=since
    ) == [mine[0], mine[2]]


def test_slack_history_without_its_scope_is_permanent(
    slack: SlackTransport, fake_slack: FakeSlack
) -> None:
    fake_slack.scopes.discard("channels:history")
    with pytest.raises(TransportError) as caught:
        slack.tagged_messages("C0ALERTS001", event_type=EVENT, payload={}, oldest=0)
    assert caught.value.permanent
    assert "missing_scope" in str(caught.value)


def test_slack_channel_ids_are_learned_from_answers(slack: SlackTransport) -> None:
    assert slack.channel_id("C0ALERTS001") == "C0ALERTS001"
    assert slack.channel_id("#alerts") is None  # history wants an id; names are not resolved
    post(slack, "T1", channel="#alerts")
    assert slack.channel_id("#alerts") == slack.channel_id("alerts") == "C0ALERTS002"


def test_slack_post_held_past_the_timeout_lands_late_and_shows_in_history(
    slack: SlackTransport, fake_slack: FakeSlack
) -> None:
    fake_slack.stall(2.5, times=1, path_contains="chat.postMessage")
    with pytest.raises(TransportError) as caught:
        post(slack, "T1")
    assert not caught.value.permanent

    def landed() -> list[str]:
        return slack.tagged_messages(
            "C0ALERTS001", event_type=EVENT, payload={"ticket_id": "T1"}, oldest=0
        )

    assert landed() == []
    wait_for(landed, timeout=5)


def test_fake_slack_history_is_slacks(fake_slack: FakeSlack) -> None:
    client = WebClient(token=fake_slack.token, base_url=fake_slack.base_url)
    metadata = {"event_type": EVENT, "event_payload": {"ticket_id": "T1"}}
    parent = client.chat_postMessage(channel="#alerts", text="alert", metadata=metadata)["ts"]
    client.chat_postMessage(channel="C0ALERTS002", thread_ts=parent, text="a reply")
    lone = client.chat_postMessage(channel="C0ALERTS002", text="another")["ts"]
    assert float(parent) == pytest.approx(time.time(), abs=60)  # Slack's ts: the clock

    plain = client.conversations_history(channel="C0ALERTS002")["messages"]
    assert [m["ts"] for m in plain] == [lone, parent]  # newest first, no thread replies
    assert "metadata" not in plain[1] and plain[1]["reply_count"] == 1
    full = client.conversations_history(channel="C0ALERTS002", include_all_metadata=True)
    assert full["messages"][1]["metadata"] == metadata
    after = client.conversations_history(channel="C0ALERTS002", oldest=parent)["messages"]
    assert [m["ts"] for m in after] == [lone]  # `oldest` is exclusive unless `inclusive`

    client.chat_delete(channel="C0ALERTS002", ts=parent)  # it has a reply: a tombstone stays
    tombstone = client.conversations_history(channel="C0ALERTS002")["messages"][1]
    assert (tombstone["subtype"], tombstone["text"]) == ("tombstone", "This message was deleted.")
    client.chat_delete(channel="C0ALERTS002", ts=lone)
    assert len(client.conversations_history(channel="C0ALERTS002")["messages"]) == 1


# ---------------------------------------------------------------------------------------------
# The fan-out: create, retry, reconcile
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def targets(settings: Any, fake_jira: FakeJira, fake_slack: FakeSlack) -> Any:
    settings.JIRA_URL = fake_jira.url
    settings.JIRA_USER = fake_jira.user
    settings.JIRA_API_TOKEN = fake_jira.token
    settings.JIRA_DEFAULT_PROJECT = "OPS"
    settings.SLACK_BOT_TOKEN = fake_slack.token
    settings.SLACK_BASE_URL = fake_slack.base_url
    settings.SLACK_DEFAULT_CHANNEL = "#data-platform-alerts"
    settings.OUTBOUND_TIMEOUT_SECONDS = TIMEOUT
    settings.CIRCUIT_FAILURE_THRESHOLD = 100
    for target in ("jira", "slack"):
        CircuitBreaker(target).reset()
    return fake_jira, fake_slack


def outbound(ticket: Ticket, action: str, **fields: Any) -> OutboundDelivery:
    return OutboundDelivery.objects.create(
        key=f"{ticket.pk}:{action}",
        ticket=ticket,
        target=action.split("_")[0],
        action=action,
        **fields,
    )


def reconcile_row(ticket: Ticket, target: str) -> OutboundDelivery:
    return OutboundDelivery.objects.get(ticket=ticket, action=f"{target}_reconcile")


def deliver_when_due(row: OutboundDelivery) -> str:
    """Deliver a reconcile as its time has come (the tests do not wait five timeouts)."""
    OutboundDelivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    return fanout.deliver(row.pk).status


def ticket_issues(fake: FakeJira, ticket: Ticket) -> list[str]:
    return [key for key, issue in fake.issues.items() if f"rca-{ticket.pk}" in issue["labels"]]


def ticket_alerts(fake: FakeSlack, ticket: Ticket) -> list[str]:
    return [
        m["ts"]
        for m in fake.top_level()
        if (m.get("metadata") or {}).get("event_payload", {}).get("ticket_id") == ticket.pk
    ]


def audit_details(ticket: Ticket, action: str) -> list[dict]:
    return list(
        AuditLog.objects.filter(ticket=ticket, action=action).values_list("details", flat=True)
    )


@pytest.mark.django_db
def test_jira_create_landing_after_the_retry_is_deleted_by_the_reconcile(targets: Any) -> None:
    fake_jira, _ = targets
    ticket = make_ticket()
    row = outbound(ticket, "jira_create")
    fake_jira.stall(3, times=1, path_contains="/rest/api/2/issue")  # held 3 s, then created

    assert fanout.deliver(row.pk).status == OutboundStatus.PENDING  # timed out after 1 s
    assert fake_jira.issues == {}
    # The retry looks, finds nothing (the held request has not landed) and creates.
    assert fanout.deliver(row.pk).status == OutboundStatus.SUCCEEDED
    ticket.refresh_from_db()
    assert ticket.itsm_ticket_id == "OPS-1"

    reconcile = reconcile_row(ticket, "jira")
    wait = (reconcile.next_attempt_at - timezone.now()).total_seconds()
    assert base.RECONCILE_AFTER_TIMEOUTS * TIMEOUT - 1 < wait <= 5 * TIMEOUT
    result = fanout.deliver(reconcile.pk)  # handed out early: put back, nothing done
    assert result.status == OutboundStatus.PENDING and 0 < (result.retry_in or 0) <= 5
    wait_for(lambda: len(fake_jira.issues) == 2, timeout=5)  # the held request lands late

    assert deliver_when_due(reconcile) == OutboundStatus.SUCCEEDED
    assert ticket_issues(fake_jira, ticket) == ["OPS-1"]
    assert fake_jira.deleted == ["OPS-2"]
    ticket.refresh_from_db()
    assert ticket.itsm_ticket_id == "OPS-1"
    assert audit_details(ticket, "jira duplicates removed") == [
        {"kept": "OPS-1", "removed": {"OPS-2": "deleted"}}
    ]
    assert AuditLog.objects.filter(ticket=ticket, action="jira issue linked").count() == 1
    assert deliver_when_due(reconcile) == OutboundStatus.SUCCEEDED  # done: nothing more


@pytest.mark.django_db
def test_slack_post_landing_after_the_retry_is_deleted_by_the_reconcile(targets: Any) -> None:
    _, fake_slack = targets
    ticket = make_ticket()
    row = outbound(ticket, "slack_post")
    fake_slack.stall(3, times=1, path_contains="chat.postMessage")

    assert fanout.deliver(row.pk).status == OutboundStatus.PENDING
    # The channel is given by name, unknown to this client yet: it cannot look, so it posts.
    assert fanout.deliver(row.pk).status == OutboundStatus.SUCCEEDED
    ticket.refresh_from_db()
    kept = ticket.slack_ts
    assert ticket.slack_channel == "C0ALERTS001" and ticket_alerts(fake_slack, ticket) == [kept]
    wait_for(lambda: len(ticket_alerts(fake_slack, ticket)) == 2, timeout=5)

    assert deliver_when_due(reconcile_row(ticket, "slack")) == OutboundStatus.SUCCEEDED
    assert ticket_alerts(fake_slack, ticket) == [kept]  # the oldest, the one linked
    assert len(fake_slack.deleted) == 1 and fake_slack.deleted[0][1] != kept
    ticket.refresh_from_db()
    assert ticket.slack_ts == kept
    [details] = audit_details(ticket, "slack duplicates removed")
    assert details["kept"] == kept and list(details["removed"].values()) == ["deleted"]


@pytest.mark.django_db
def test_slack_retry_adopts_the_alert_that_landed_and_posts_nothing(
    targets: Any, settings: Any
) -> None:
    _, fake_slack = targets
    settings.SLACK_DEFAULT_CHANNEL = "C0ALERTS001"  # by id: the retry can read its history
    ticket = make_ticket()
    row = outbound(ticket, "slack_post")
    fake_slack.stall(1.5, times=1, path_contains="chat.postMessage")

    assert fanout.deliver(row.pk).status == OutboundStatus.PENDING
    [landed] = wait_for(lambda: ticket_alerts(fake_slack, ticket), timeout=5)
    assert fanout.deliver(row.pk).status == OutboundStatus.SUCCEEDED

    ticket.refresh_from_db()
    assert (ticket.slack_channel, ticket.slack_ts) == ("C0ALERTS001", landed)
    assert len(fake_slack.api_requests("chat.postMessage")) == 1
    # The one post sent is accounted for: no reconcile is needed.
    assert not OutboundDelivery.objects.filter(ticket=ticket, action="slack_reconcile").exists()


@pytest.mark.django_db
def test_worker_killed_after_sending_the_retry_adopts_what_landed(
    targets: Any, settings: Any
) -> None:
    """SIGKILL after the request went out: the attempt was never recorded (rolled back), only
    the count of sends, which is kept outside the transaction."""
    fake_jira, fake_slack = targets
    settings.SLACK_DEFAULT_CHANNEL = "C0ALERTS001"
    ticket = make_ticket()
    jira_row, slack_row = outbound(ticket, "jira_create"), outbound(ticket, "slack_post")
    # What the killed attempts did: count the send, send, die.
    base.count_send(jira_row)
    new_issue(fanout.transport_for("jira"), f"rca-{ticket.pk}")
    base.count_send(slack_row)
    base.count_send(slack_row)  # a second post was lost too, and has not landed yet
    post(fanout.transport_for("slack"), ticket.pk)

    assert fanout.deliver(jira_row.pk).status == OutboundStatus.SUCCEEDED
    assert fanout.deliver(slack_row.pk).status == OutboundStatus.SUCCEEDED
    ticket.refresh_from_db()
    assert ticket.itsm_ticket_id == "OPS-1" and list(fake_jira.issues) == ["OPS-1"]
    assert len(fake_jira.issue_requests("POST")) == 1  # the killed attempt's only
    assert ticket.slack_ts == ticket_alerts(fake_slack, ticket)[0]
    assert len(fake_slack.api_requests("chat.postMessage")) == 1
    # JIRA: one sent, one found. Slack: two sent, one found, so one may still land.
    assert not OutboundDelivery.objects.filter(ticket=ticket, action="jira_reconcile").exists()
    assert reconcile_row(ticket, "slack").status == OutboundStatus.PENDING


@pytest.mark.django_db
def test_jira_retry_finds_the_issue_even_when_the_count_of_sends_was_lost(targets: Any) -> None:
    fake_jira, _ = targets
    ticket = make_ticket()
    row = outbound(ticket, "jira_create")
    new_issue(fanout.transport_for("jira"), f"rca-{ticket.pk}")  # sent, not counted (Redis lost)

    assert fanout.deliver(row.pk).status == OutboundStatus.SUCCEEDED
    ticket.refresh_from_db()
    assert ticket.itsm_ticket_id == "OPS-1" and len(fake_jira.issues) == 1


@pytest.mark.django_db
def test_a_recorded_lost_answer_counts_as_a_send_when_redis_forgot(targets: Any) -> None:
    fake_jira, _ = targets
    ticket = make_ticket()
    row = outbound(ticket, "jira_create")
    fake_jira.fail(500, fake_jira.error_body(500, "boom"), path_contains="/rest/api/2/issue")
    assert fanout.deliver(row.pk).status == OutboundStatus.PENDING
    fanout.redis_client().delete(base.sends_key(row))

    assert fanout.deliver(row.pk).status == OutboundStatus.SUCCEEDED
    assert reconcile_row(ticket, "jira").status == OutboundStatus.PENDING


@pytest.mark.django_db
def test_the_create_keeps_the_oldest_of_several_and_deletes_the_others(targets: Any) -> None:
    fake_jira, _ = targets
    ticket = make_ticket()
    for _ in range(3):
        new_issue(fanout.transport_for("jira"), f"rca-{ticket.pk}")
    row = outbound(ticket, "jira_create")

    assert fanout.deliver(row.pk).status == OutboundStatus.SUCCEEDED
    ticket.refresh_from_db()
    assert ticket.itsm_ticket_id == "OPS-1"
    assert list(fake_jira.issues) == ["OPS-1"] and fake_jira.deleted == ["OPS-2", "OPS-3"]
    assert len(fake_jira.issue_requests("POST")) == 3  # the delivery created nothing


def linked_with_an_extra(fake_jira: FakeJira) -> tuple[Ticket, str]:
    ticket = make_ticket()
    jira = fanout.transport_for("jira")
    key = new_issue(jira, f"rca-{ticket.pk}")
    extra = new_issue(jira, f"rca-{ticket.pk}")
    Ticket.objects.filter(pk=ticket.pk).update(itsm_ticket_id=key)
    ticket.refresh_from_db()
    return ticket, extra


@pytest.mark.django_db
@pytest.mark.parametrize("touch", ["comment", "status", "no delete permission"])
def test_a_duplicate_someone_worked_on_is_marked_not_deleted(targets: Any, touch: str) -> None:
    fake_jira, _ = targets
    ticket, extra = linked_with_an_extra(fake_jira)
    jira = fanout.transport_for("jira")
    if touch == "comment":
        jira.add_comment(extra, "I am on it")
    elif touch == "status":
        jira.transition_to(extra, "In Progress")
    else:
        fake_jira.can_delete = False
    row = outbound(ticket, "jira_reconcile")

    assert deliver_when_due(row) == OutboundStatus.SUCCEEDED
    issue = fake_jira.issues[extra]
    assert fake_jira.deleted == []
    assert f"rca-{ticket.pk}" not in issue["labels"] and "rca-duplicate" in issue["labels"]
    assert issue["comments"][-1]["body"].startswith(f"Duplicate of {ticket.itsm_ticket_id}")
    assert ticket_issues(fake_jira, ticket) == [ticket.itsm_ticket_id]
    assert audit_details(ticket, "jira duplicates removed") == [
        {"kept": ticket.itsm_ticket_id, "removed": {extra: "marked duplicate"}}
    ]


@pytest.mark.django_db
def test_nothing_is_removed_when_the_linked_issue_is_not_among_those_found(targets: Any) -> None:
    fake_jira, _ = targets
    ticket, _ = linked_with_an_extra(fake_jira)
    Ticket.objects.filter(pk=ticket.pk).update(itsm_ticket_id="OPS-99")

    assert deliver_when_due(outbound(ticket, "jira_reconcile")) == OutboundStatus.SUCCEEDED
    assert fake_jira.deleted == [] and len(ticket_issues(fake_jira, ticket)) == 2


@pytest.mark.django_db
def test_a_later_sync_removes_a_duplicate_landing_after_the_reconcile(targets: Any) -> None:
    fake_jira, _ = targets
    ticket, extra = linked_with_an_extra(fake_jira)
    outbound(ticket, "jira_reconcile", status=OutboundStatus.SUCCEEDED)
    Ticket.objects.filter(pk=ticket.pk).update(status="acknowledged", ack_user="alice")
    change = {"action": "acknowledge", "actor": "alice", "note": ""}
    sync = outbound(ticket, "jira_sync", payload=change)

    assert fanout.deliver(sync.pk).status == OutboundStatus.SUCCEEDED
    assert fake_jira.deleted == [extra]
    assert fake_jira.issues[ticket.itsm_ticket_id]["status"] == "In Progress"


@pytest.mark.django_db
def test_without_the_history_scope_the_alert_is_posted_and_the_reconcile_says_why(
    targets: Any, settings: Any
) -> None:
    _, fake_slack = targets
    settings.SLACK_DEFAULT_CHANNEL = "C0ALERTS001"
    fake_slack.scopes.discard("channels:history")
    ticket = make_ticket()
    row = outbound(ticket, "slack_post")
    base.count_send(row)  # an earlier post was lost

    assert fanout.deliver(row.pk).status == OutboundStatus.SUCCEEDED
    assert len(ticket_alerts(fake_slack, ticket)) == 1
    reconcile = reconcile_row(ticket, "slack")
    assert deliver_when_due(reconcile) == OutboundStatus.DEAD
    reconcile.refresh_from_db()
    assert "missing_scope" in reconcile.last_error


@pytest.mark.django_db
def test_a_first_attempt_reads_no_history_and_schedules_no_reconcile(targets: Any) -> None:
    fake_jira, fake_slack = targets
    ticket = make_ticket()
    assert fanout.deliver(outbound(ticket, "jira_create").pk).status == OutboundStatus.SUCCEEDED
    assert fanout.deliver(outbound(ticket, "slack_post").pk).status == OutboundStatus.SUCCEEDED

    # The post, then its permalink (asked once, fetched after the post): no history read.
    assert [(r.method, r.path) for r in fake_slack.requests] == [
        ("POST", "/api/chat.postMessage"),
        ("POST", "/api/chat.getPermalink"),
    ]
    message = fake_slack.top_level()[0]
    assert message["metadata"] == {"event_type": EVENT, "event_payload": {"ticket_id": ticket.pk}}
    assert len(fake_jira.requests_to("/search")) == 1  # JIRA always looks first: one search
    assert not OutboundDelivery.objects.filter(action__endswith="_reconcile").exists()
