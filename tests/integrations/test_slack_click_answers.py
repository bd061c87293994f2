"""A click that changes nothing is answered to the clicker where the click was made: through
the click's `response_url` (Slack's reply to that click), which works in a channel the bot
was removed from, and otherwise by chat.postEphemeral in the click's thread. Signed clicks of
Slack's own shape (block_actions with `response_url`, `container`, `state`...) against the
real view, a real Celery worker and slack-sdk talking to the local Slack stand-in."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import transaction
from django.test import Client
from slack_sdk.signature import SignatureVerifier

from integrations.models import SlackIdentity
from tests.conftest import wait_for
from tests.dashboard import make_ticket, make_user
from tests.fakes.slack_api import FakeSlack
from tests.integrations.test_fanout import dashboard_events
from tickets import lifecycle
from tickets.lifecycle import Actor
from tickets.models import AuditLog, Resolution, Ticket

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "slack-signing-secret-for-click-answers"
ALERTS = "C0ALERTS001"
RESPONDER_SLACK_ID = "U0RUI00001"


@pytest.fixture
def slack(settings):
    with FakeSlack() as fake:
        settings.SLACK_BOT_TOKEN = fake.token
        settings.SLACK_BASE_URL = fake.base_url
        settings.SLACK_SIGNING_SECRET = SECRET
        settings.OUTBOUND_TIMEOUT_SECONDS = 2
        yield fake


def click(
    ticket_id: str,
    slack_user_id: str,
    *,
    channel: str = ALERTS,
    action: str = "rca_take",
    response_url: str | None = None,
    message_ts: str = "1712345678.000100",
    thread_ts: str | None = None,
    typed: str | None = None,
) -> Any:
    """A button click as Slack posts it (block_actions, form-encoded, signed); `typed`: Enter
    pressed in the alert's "what fixed it" box with that text in it."""
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel,
        "is_ephemeral": False,
    }
    if thread_ts is not None:
        container["thread_ts"] = thread_ts
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": slack_user_id, "username": "rui", "name": "rui", "team_id": "T0FAKE0001"},
        "api_app_id": "A0RCAAPP01",
        "token": "deprecated-verification-token",
        "container": container,
        "trigger_id": "1234567890123.1234567890123.0123456789abcdef0123456789abcdef",
        "team": {"id": "T0FAKE0001", "domain": "fake-workspace"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": "alerts"},
        "message": {"type": "message", "ts": message_ts, "bot_id": "B0RCABOT01"},
        "state": {"values": {}},
        "actions": [
            {
                "action_id": action,
                "block_id": f"rca:{ticket_id}",
                "text": {"type": "plain_text", "text": "Take it", "emoji": True},
                "value": ticket_id,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    if typed is not None:
        payload["actions"] = [
            {
                "type": "plain_text_input",
                "block_id": f"rca_fix:{ticket_id}",
                "action_id": "rca_resolve_with_fix",
                "value": typed,
                "action_ts": f"{time.time():.6f}",
            }
        ]
        box = {"rca_resolve_with_fix": {"type": "plain_text_input", "value": typed}}
        payload["state"] = {"values": {f"rca_fix:{ticket_id}": box}}
    if response_url is not None:
        payload["response_url"] = response_url
    body = urlencode({"payload": json.dumps(payload)})
    stamp = str(int(time.time()))
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=stamp, body=body)
    return Client().post(
        "/webhooks/slack/actions/",
        data=body,
        content_type="application/x-www-form-urlencoded",
        HTTP_X_SLACK_REQUEST_TIMESTAMP=stamp,
        HTTP_X_SLACK_SIGNATURE=signature,
    )


def taken_ticket(slack: FakeSlack) -> Ticket:
    """A ticket someone took on the dashboard, and a responder who clicks "Take it" on its
    alert still showing the button."""
    slack.add_user(RESPONDER_SLACK_ID, name="rui")
    responder = make_user("rui", "responder")
    SlackIdentity.objects.create(slack_user_id=RESPONDER_SLACK_ID, user=responder)
    ticket = make_ticket()
    lifecycle.start_progress(ticket.pk, Actor.for_user(make_user("ana", "responder"), "dashboard"))
    return ticket


REFUSED_TAKE = (
    "Nothing was changed: cannot take a ticket that is in progress (taken by ana just now)."
)


def test_a_refused_click_in_a_channel_the_bot_was_removed_from_is_still_explained(
    celery_worker, slack
):
    """chat.postEphemeral there is refused `not_in_channel`: the clicker was told nothing.
    The click's response_url answers it, ephemeral, the alert left as it is."""
    ticket = taken_ticket(slack)
    slack.not_member.add(ALERTS)  # the bot was removed from the alert's channel
    response_url = slack.response_url()

    response = click(ticket.pk, RESPONDER_SLACK_ID, response_url=response_url)

    assert response.status_code == 200, response.content
    assert response.json()["result"][0].startswith("no change: cannot take")
    answered = wait_for(lambda: slack.responded)
    assert answered == [
        {
            "url": response_url,
            "text": REFUSED_TAKE,
            "response_type": "ephemeral",
            "replace_original": False,
        }
    ]
    assert not slack.ephemeral


def test_a_click_without_authority_in_a_channel_the_bot_left_is_told_why(celery_worker, slack):
    ticket = make_ticket()
    slack.add_user("U0STRANGER", email="stranger@elsewhere.example")
    slack.not_member.add(ALERTS)

    response = click(ticket.pk, "U0STRANGER", response_url=slack.response_url())

    assert response.json()["result"] == [
        "not allowed: your Slack account is not linked to an account here"
    ]
    [answer] = wait_for(lambda: slack.responded)
    assert answer["text"].startswith("You are not allowed to act on RCA tickets from Slack")
    assert answer["response_type"] == "ephemeral"
    assert Ticket.objects.get(pk=ticket.pk).status == "open"


def test_a_click_in_a_thread_whose_response_url_expired_is_answered_in_that_thread(
    celery_worker, slack
):
    """An approval asked in an incident's thread is clicked there; the response_url refused
    (expired), chat.postEphemeral answers in the thread the clicker is looking at, not in the
    channel behind it."""
    ticket = taken_ticket(slack)
    slack.expire_response_urls()

    click(
        ticket.pk,
        RESPONDER_SLACK_ID,
        response_url=slack.response_url(),
        message_ts="1712345699.000300",
        thread_ts="1712345678.000100",
    )

    [told] = wait_for(lambda: slack.ephemeral)
    assert told == {
        "channel": ALERTS,
        "user": RESPONDER_SLACK_ID,
        "text": REFUSED_TAKE,
        "thread_ts": "1712345678.000100",
    }
    assert not slack.responded


def test_an_answer_whose_response_url_timed_out_after_it_was_sent_is_not_posted_twice(
    celery_worker, slack
):
    """Slack took the answer but its reply came after our timeout: the fallback posted it a
    second time by chat.postEphemeral, and the clicker read it twice. A request sent in full
    that got no answer may have been shown: it is not answered again."""
    ticket = taken_ticket(slack)
    response_url = slack.response_url()
    slack.stall(4, times=1, path_contains="/actions/")  # past OUTBOUND_TIMEOUT_SECONDS (2)

    click(ticket.pk, RESPONDER_SLACK_ID, response_url=response_url)

    # Taken once the stall ends; a fallback would have been posted at the timeout, before it.
    [answered] = wait_for(lambda: slack.responded, timeout=20)
    assert answered["text"] == REFUSED_TAKE
    assert slack.ephemeral == []


def test_a_click_on_a_thread_parent_is_answered_in_the_channel(celery_worker, slack):
    """Slack names the thread of an alert that has replies: the alert itself is in the
    channel, and so is its answer."""
    ticket = taken_ticket(slack)

    click(ticket.pk, RESPONDER_SLACK_ID, thread_ts="1712345678.000100")

    [told] = wait_for(lambda: slack.ephemeral)
    assert (told["text"], told["thread_ts"]) == (REFUSED_TAKE, "")


def test_a_response_url_on_another_host_is_not_posted_to(celery_worker, slack):
    """Signed by Slack, but never a reason to post elsewhere than Slack (here, the stand-in
    SLACK_BASE_URL names): the answer goes by chat.postEphemeral."""
    ticket = taken_ticket(slack)
    with FakeSlack() as elsewhere:
        click(ticket.pk, RESPONDER_SLACK_ID, response_url=elsewhere.response_url())

        [told] = wait_for(lambda: slack.ephemeral)
        assert told["text"] == REFUSED_TAKE
        assert not elsewhere.requests


def test_what_fixed_it_typed_as_the_ticket_recovered_at_its_source_is_kept(celery_worker, slack):
    """The pipeline's rerun succeeded (the ticket resolved at its source) while the responder
    typed what he did: his Enter was refused, and the fix he typed dropped, so the next
    failure like it showed no "Last time" fix. It is kept, as a JIRA comment `Fix: ...` on
    the resolved ticket would be, and he is told so."""
    slack.add_user(RESPONDER_SLACK_ID, name="rui")
    SlackIdentity.objects.create(
        slack_user_id=RESPONDER_SLACK_ID, user=make_user("rui", "responder")
    )
    ticket = make_ticket()
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        lifecycle.resolve_at_source(locked, Actor.source("adf"), details={"run": "r-2"})

    with dashboard_events() as change_of:
        response = click(
            ticket.pk,
            RESPONDER_SLACK_ID,
            response_url=slack.response_url(),
            typed="restarted the SHIR node shir-prod-02",
        )
        assert change_of(ticket.pk, "fix_recorded")["actor"] == "rui"  # its page shows it

    assert response.json()["result"] == ["fix recorded: cannot resolve a ticket that is resolved"]
    fix = Resolution.objects.get(ticket=ticket)
    assert (fix.fix, fix.resolved_by, fix.actor_kind) == (
        "restarted the SHIR node shir-prod-02",
        "rui",
        "slack",
    )
    entry = AuditLog.objects.get(ticket=ticket, action="fix recorded")
    assert entry.user is not None
    assert (entry.actor_kind, entry.user.username) == ("slack", "rui")
    assert entry.details == {"fix": "restarted the SHIR node shir-prod-02"}
    [answer] = wait_for(lambda: slack.responded)
    assert answer["text"] == (
        "Not resolved again: cannot resolve a ticket that is resolved (recovered at its "
        "source by adf just now). What you typed is kept as what fixed it."
    )
    assert Ticket.objects.get(pk=ticket.pk).resolved_by == "adf"


def test_a_fix_typed_on_a_ticket_resolved_with_one_changes_nothing(celery_worker, slack):
    """Its fix was given with the resolve: the one typed late is not a second one."""
    slack.add_user(RESPONDER_SLACK_ID, name="rui")
    SlackIdentity.objects.create(
        slack_user_id=RESPONDER_SLACK_ID, user=make_user("rui", "responder")
    )
    ticket = make_ticket()
    lifecycle.resolve(ticket.pk, Actor.for_user(make_user("ana", "responder")), fix="rotated key")

    response = click(ticket.pk, RESPONDER_SLACK_ID, typed="restarted the SHIR node")

    assert response.json()["result"] == ["no change: cannot resolve a ticket that is resolved"]
    assert list(Resolution.objects.values_list("fix", flat=True)) == ["rotated key"]
    assert not AuditLog.objects.filter(ticket=ticket, action="fix recorded").exists()
    [told] = wait_for(lambda: slack.ephemeral)
    assert told["text"].startswith("Nothing was changed: cannot resolve a ticket that is resolved")
