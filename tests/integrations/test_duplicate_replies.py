"""One Slack thread reply per delivery when chat.postMessage's answer is lost.

A reply (a ticket's status line, an incident's status change or "the outage is back", a
member's pointer to its incident, a member's approval request) carries message metadata naming
its delivery; a retry after an attempt that may have posted it looks it up in the thread
(conversations.replies) and adopts it; an incident's notice to another team's channel, tagged
alike, is looked up in that channel's history (conversations.history). Real `slack_sdk` against
FakeSlack; `fanout.deliver()` is called directly (what the Celery task does), so each step
happens when the test says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from integrations import fanout
from integrations.circuit import CircuitBreaker
from integrations.models import (
    OutboundDelivery,
    OutboundStatus,
    Remediation,
    RemediationAction,
    RemediationStatus,
)
from integrations.targets import base
from integrations.targets.slack import (
    SLACK_NOTICE_EVENT_TYPE,
    SLACK_REPLY_EVENT_TYPE,
    SlackTransport,
)
from tests.api import make_ticket
from tests.conftest import wait_for
from tests.fakes.slack_api import FakeSlack
from tickets.models import Incident, Ticket, new_incident_id

TIMEOUT = 1.0  # the client's timeout; the fake holds a post longer than this
CHANNEL = "C0ALERTS001"


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def slack(fake_slack: FakeSlack) -> SlackTransport:
    return SlackTransport(fake_slack.token, base_url=fake_slack.base_url, timeout=TIMEOUT)


def client(fake: FakeSlack) -> WebClient:
    return WebClient(token=fake.token, base_url=fake.base_url)


def tag(key: str) -> dict[str, Any]:
    return {"event_type": SLACK_REPLY_EVENT_TYPE, "event_payload": {"delivery": key}}


# ---------------------------------------------------------------------------------------------
# The transport and the fake
# ---------------------------------------------------------------------------------------------


def test_fake_slack_replies_are_slacks(fake_slack: FakeSlack) -> None:
    slack_client = client(fake_slack)
    parent = slack_client.chat_postMessage(channel=CHANNEL, text="alert")["ts"]
    first = slack_client.chat_postMessage(
        channel=CHANNEL, thread_ts=parent, text="one", metadata=tag("K1")
    )["ts"]
    second = slack_client.chat_postMessage(channel=CHANNEL, thread_ts=parent, text="two")["ts"]
    lone = slack_client.chat_postMessage(channel=CHANNEL, text="lone")["ts"]

    plain = slack_client.conversations_replies(channel=CHANNEL, ts=parent)
    assert [m["ts"] for m in plain["messages"]] == [parent, first, second]  # parent first
    assert not plain["has_more"] and all("metadata" not in m for m in plain["messages"])
    assert plain["messages"][1]["thread_ts"] == parent
    full = slack_client.conversations_replies(channel=CHANNEL, ts=second, include_all_metadata=True)
    assert [m["ts"] for m in full["messages"]] == [
        parent,
        first,
        second,
    ]  # a reply's ts: its thread
    assert full["messages"][1]["metadata"] == tag("K1")
    after = slack_client.conversations_replies(channel=CHANNEL, ts=parent, oldest=first)
    assert [m["ts"] for m in after["messages"]] == [parent, second]  # `oldest` is exclusive
    assert [
        m["ts"] for m in slack_client.conversations_replies(channel=CHANNEL, ts=lone)["messages"]
    ] == [lone]

    pages, cursor = [], None
    while True:
        page = slack_client.conversations_replies(
            channel=CHANNEL, ts=parent, limit=1, cursor=cursor
        )
        pages.append([m["ts"] for m in page["messages"]])
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not page["has_more"]:
            break
    assert pages == [[parent], [first], [second]]

    with pytest.raises(SlackApiError) as caught:
        slack_client.conversations_replies(channel=CHANNEL, ts="1.000001")
    assert caught.value.response["error"] == "thread_not_found"
    fake_slack.scopes.discard("channels:history")
    with pytest.raises(SlackApiError) as caught:
        slack_client.conversations_replies(channel=CHANNEL, ts=parent)
    assert caught.value.response["error"] == "missing_scope"


def test_slack_tagged_replies_page_through_the_thread(
    slack: SlackTransport, fake_slack: FakeSlack
) -> None:
    _, parent = slack.post_message(CHANNEL, text="alert", blocks=[], metadata=tag("K1"))
    mine = [
        slack.reply_in_thread(CHANNEL, parent, text="mine", metadata=tag("K1")) for _ in range(3)
    ]
    slack.reply_in_thread(CHANNEL, parent, text="another's", metadata=tag("K2"))
    slack.reply_in_thread(CHANNEL, parent, text="untagged")

    found = slack.tagged_replies(
        CHANNEL,
        parent,
        event_type=SLACK_REPLY_EVENT_TYPE,
        payload={"delivery": "K1"},
        oldest=0,
        page_size=2,
    )
    assert found == mine  # the parent, tagged alike, is no reply
    requests = fake_slack.api_requests("conversations.replies")
    assert len(requests) == 3  # the parent and 5 replies, 2 a page
    first, second = (parse_qs(r.body) for r in requests[:2])  # slack_sdk posts a form
    assert (first["channel"], first["ts"], first["include_all_metadata"]) == (
        [CHANNEL],
        [parent],
        ["1"],
    )
    assert "cursor" not in first and second["cursor"]


# ---------------------------------------------------------------------------------------------
# The fan-out: each kind of thread reply, retried
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def targets(settings: Any, fake_slack: FakeSlack) -> FakeSlack:
    settings.SLACK_BOT_TOKEN = fake_slack.token
    settings.SLACK_BASE_URL = fake_slack.base_url
    settings.SLACK_DEFAULT_CHANNEL = CHANNEL
    settings.OUTBOUND_TIMEOUT_SECONDS = TIMEOUT
    settings.CIRCUIT_FAILURE_THRESHOLD = 100
    CircuitBreaker("slack").reset()
    return fake_slack


Thread = tuple[OutboundDelivery, str]  # the delivery, the ts of the message it replies under


def alerted_ticket(fake: FakeSlack, **fields: Any) -> Ticket:
    ts = client(fake).chat_postMessage(channel=CHANNEL, text="alert")["ts"]
    return make_ticket(slack_channel=CHANNEL, slack_ts=ts, **fields)


def paged_incident(fake: FakeSlack) -> Incident:
    lead = make_ticket(slack_ts="", slack_channel="")
    ts = client(fake).chat_postMessage(channel=CHANNEL, text="incident")["ts"]
    incident = Incident.objects.create(
        id=new_incident_id(),
        group_key="ir:shir-prod",
        culprit="ir:shir-prod",
        lead_ticket=lead,
        slack_channel=CHANNEL,
        slack_ts=ts,
    )
    Ticket.objects.filter(pk=lead.pk).update(incident=incident)
    return incident


def delivery(ticket: Ticket, action: str, key: str, payload: dict[str, Any]) -> OutboundDelivery:
    return OutboundDelivery.objects.create(
        key=key, ticket=ticket, target="slack", action=action, payload=payload
    )


def status_reply(fake: FakeSlack) -> Thread:
    ticket = alerted_ticket(fake)
    change = {"action": "acknowledge", "actor": "alice", "via": "slack", "note": "", "thread": True}
    row = delivery(ticket, "slack_sync", f"{ticket.pk}:slack_sync:1", change)
    return row, ticket.slack_ts


def outage_back(fake: FakeSlack) -> Thread:
    incident = paged_incident(fake)
    change = {
        "incident_id": incident.pk,
        "action": "regressed",
        "actor": "adf",
        "ticket_id": incident.lead_ticket_id,
        "pipeline": "pl_orders",
        "broadcast": True,
    }
    key = f"incident:{incident.pk}:slack_inc_reply:1"
    lead = Ticket.objects.get(pk=incident.lead_ticket_id)
    return delivery(lead, "slack_inc_reply", key, change), incident.slack_ts


def member_link(fake: FakeSlack) -> Thread:
    incident = paged_incident(fake)
    member = alerted_ticket(fake, incident=incident)
    payload = {"incident_id": incident.pk}
    return delivery(
        member, "slack_inc_link", f"{member.pk}:slack_inc_link", payload
    ), member.slack_ts


def approval_request(fake: FakeSlack) -> Thread:
    incident = paged_incident(fake)
    member = make_ticket(slack_ts="", slack_channel="", incident=incident)
    remediation = Remediation.objects.create(
        ticket=member,
        run_key=member.run_id,
        action=RemediationAction.PLAYBOOK,
        status=RemediationStatus.AWAITING_APPROVAL,
    )
    key = base.member_approval_key(member.pk, "slack_inc_approval", remediation.pk)
    payload = {"incident_id": incident.pk, "remediation": remediation.pk, "ask": True}
    return delivery(member, "slack_inc_approval", key, payload), incident.slack_ts


REPLIES: dict[str, Callable[[FakeSlack], Thread]] = {
    "a ticket's status line": status_reply,
    "the outage is back": outage_back,
    "a member's pointer to its incident": member_link,
    "a member's approval request": approval_request,
}


def replies(fake: FakeSlack, thread_ts: str) -> list[dict[str, Any]]:
    return fake.thread(CHANNEL, thread_ts)


def posts(fake: FakeSlack) -> int:
    return len(fake.api_requests("chat.postMessage"))


@pytest.mark.django_db
@pytest.mark.parametrize("kind", list(REPLIES))
def test_a_reply_whose_answer_was_lost_is_adopted_by_the_retry_not_posted_again(
    targets: FakeSlack, kind: str
) -> None:
    fake = targets
    row, thread_ts = REPLIES[kind](fake)
    sent_before = posts(fake)
    fake.stall(1.5, times=1, path_contains="chat.postMessage")  # held past the timeout, then posted

    assert fanout.deliver(row.pk).status == OutboundStatus.PENDING
    [landed] = wait_for(lambda: replies(fake, thread_ts), timeout=5)
    assert fanout.deliver(row.pk).status == OutboundStatus.SUCCEEDED

    assert [r["ts"] for r in replies(fake, thread_ts)] == [landed["ts"]]
    assert landed["metadata"] == tag(row.key)
    assert posts(fake) == sent_before + 1
    assert len(fake.api_requests("conversations.replies")) == 1
    row.refresh_from_db()
    if row.payload.get("ask"):  # the request's later updates go to the reply adopted
        assert row.payload["ts"] == landed["ts"]


@pytest.mark.django_db
@pytest.mark.parametrize("kind", list(REPLIES))
def test_a_first_attempt_tags_its_reply_and_makes_no_extra_call(
    targets: FakeSlack, kind: str
) -> None:
    fake = targets
    row, thread_ts = REPLIES[kind](fake)
    fake.requests.clear()

    assert fanout.deliver(row.pk).status == OutboundStatus.SUCCEEDED
    [reply] = replies(fake, thread_ts)
    assert reply["metadata"] == tag(row.key)
    assert {r.path for r in fake.requests} <= {"/api/chat.postMessage", "/api/chat.update"}
    assert posts(fake) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("kind", list(REPLIES))
def test_a_reply_slack_refused_is_posted_by_the_retry(targets: FakeSlack, kind: str) -> None:
    fake = targets
    row, thread_ts = REPLIES[kind](fake)
    fake.fail(503, fake.error_body(503, "service_unavailable"), path_contains="chat.postMessage")

    assert fanout.deliver(row.pk).status == OutboundStatus.PENDING
    assert replies(fake, thread_ts) == []
    assert fanout.deliver(row.pk).status == OutboundStatus.SUCCEEDED

    [reply] = replies(fake, thread_ts)
    assert reply["metadata"] == tag(row.key)
    assert len(fake.api_requests("conversations.replies")) == 1  # looked, found none, posted


@pytest.mark.django_db
def test_a_reply_sent_by_a_killed_worker_is_adopted(targets: FakeSlack) -> None:
    """SIGKILL after the request went out: no attempt recorded, only the count of sends."""
    fake = targets
    row, thread_ts = outage_back(fake)
    base.count_send(row)
    sent = fanout.transport_for("slack").reply_in_thread(
        CHANNEL, thread_ts, text="the outage is back", metadata=tag(row.key)
    )

    assert fanout.deliver(row.pk).status == OutboundStatus.SUCCEEDED
    assert [r["ts"] for r in replies(fake, thread_ts)] == [sent]


@pytest.mark.django_db
def test_without_the_history_scope_a_retry_posts_its_reply(targets: FakeSlack) -> None:
    fake = targets
    row, thread_ts = status_reply(fake)
    base.count_send(row)  # an earlier post was lost
    fake.scopes.discard("channels:history")

    assert fanout.deliver(row.pk).status == OutboundStatus.SUCCEEDED
    assert len(replies(fake, thread_ts)) == 1


# ---------------------------------------------------------------------------------------------
# An incident's notice to another team's channel: top-level, found in the channel's history
# ---------------------------------------------------------------------------------------------

TEAM_CHANNEL = "C0DATAENG01"


def notice_tag(key: str) -> dict[str, Any]:
    return {"event_type": SLACK_NOTICE_EVENT_TYPE, "event_payload": {"delivery": key}}


def team_notice(fake: FakeSlack) -> OutboundDelivery:
    """A paged incident with a member routed (by id) to another team's channel, and the
    notice telling that channel."""
    incident = paged_incident(fake)
    make_ticket(pipeline="pl_team_b", slack_channel=TEAM_CHANNEL, slack_ts="", incident=incident)
    key = f"incident:{incident.pk}:slack_inc_notice:{TEAM_CHANNEL}"
    payload = {"incident_id": incident.pk, "channel": TEAM_CHANNEL}
    lead = Ticket.objects.get(pk=incident.lead_ticket_id)
    return delivery(lead, "slack_inc_notice", key, payload)


@pytest.mark.django_db
def test_a_notice_whose_answer_was_lost_is_adopted_by_the_retry_not_posted_again(
    targets: FakeSlack,
) -> None:
    fake = targets
    row = team_notice(fake)
    sent_before = posts(fake)
    fake.stall(1.5, times=1, path_contains="chat.postMessage")  # held past the timeout, then posted

    assert fanout.deliver(row.pk).status == OutboundStatus.PENDING
    [landed] = wait_for(lambda: fake.top_level(TEAM_CHANNEL), timeout=5)
    assert fanout.deliver(row.pk).status == OutboundStatus.SUCCEEDED

    assert [m["ts"] for m in fake.top_level(TEAM_CHANNEL)] == [landed["ts"]]
    assert landed["metadata"] == notice_tag(row.key) and "pl_team_b" in landed["text"]
    assert posts(fake) == sent_before + 1
    assert len(fake.api_requests("conversations.history")) == 1


@pytest.mark.django_db
def test_a_first_notice_is_tagged_and_makes_no_history_call(targets: FakeSlack) -> None:
    fake = targets
    row = team_notice(fake)
    fake.requests.clear()

    assert fanout.deliver(row.pk).status == OutboundStatus.SUCCEEDED
    [notice] = fake.top_level(TEAM_CHANNEL)
    assert notice["metadata"] == notice_tag(row.key)
    assert {r.path for r in fake.requests} == {"/api/chat.postMessage"}
    assert posts(fake) == 1


@pytest.mark.django_db
def test_a_notice_slack_refused_is_posted_by_the_retry(targets: FakeSlack) -> None:
    fake = targets
    row = team_notice(fake)
    fake.fail(503, fake.error_body(503, "service_unavailable"), path_contains="chat.postMessage")

    assert fanout.deliver(row.pk).status == OutboundStatus.PENDING
    assert fake.top_level(TEAM_CHANNEL) == []
    assert fanout.deliver(row.pk).status == OutboundStatus.SUCCEEDED

    [notice] = fake.top_level(TEAM_CHANNEL)
    assert notice["metadata"] == notice_tag(row.key)
    assert len(fake.api_requests("conversations.history")) == 1  # looked, found none, posted
