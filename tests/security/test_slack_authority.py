"""A correctly signed Slack click carries only the authority of the account it maps to: an
active responder (by a SlackIdentity row, or by the e-mail on the Slack profile through
users.info against the fake Slack Web API). Anyone else changes nothing and is told so in an
ephemeral message, sent by a real Celery worker through slack-sdk."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest
from django.test import Client
from slack_sdk.signature import SignatureVerifier

from integrations.models import SlackIdentity
from tests.conftest import wait_for
from tests.dashboard import make_ticket, make_user
from tests.fakes.slack_api import FakeSlack
from tickets.models import AuditLog, Ticket

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "slack-signing-secret-for-authority-tests"
CHANNEL = "C0ALERTS001"


@pytest.fixture
def slack(settings):
    with FakeSlack() as fake:
        settings.SLACK_BOT_TOKEN = fake.token
        settings.SLACK_BASE_URL = fake.base_url
        settings.SLACK_SIGNING_SECRET = SECRET
        yield fake


def click(ticket_id: str, slack_user_id: str, *, username: str = "someone", action="rca_take"):
    payload = {
        "type": "block_actions",
        "user": {"id": slack_user_id, "username": username, "name": username},
        "container": {"type": "message", "message_ts": "1.0", "channel_id": CHANNEL},
        "actions": [
            {
                "action_id": action,
                "value": ticket_id,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
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


def assert_refused(
    slack: FakeSlack, ticket: Ticket, slack_user_id: str, response, reason: str, remedy: str = ""
):
    """`remedy`: what the ephemeral message tells the user to ask for, when the test names it;
    by default the link of a Slack account, which is the remedy for `NOT_LINKED` only."""
    assert response.status_code == 200  # Slack shows an error for anything else
    assert response.json()["result"] == [f"not allowed: {reason}"]
    assert Ticket.objects.get(pk=ticket.pk).status == "open"
    assert not AuditLog.objects.filter(ticket=ticket, actor_kind="slack").exists()
    told = wait_for(lambda: [m for m in slack.ephemeral if m["user"] == slack_user_id])
    assert told[0]["channel"] == CHANNEL
    assert "not allowed" in told[0]["text"] and reason in told[0]["text"]
    if remedy:
        assert remedy in told[0]["text"]
        assert "link your Slack account" not in told[0]["text"]
    elif reason == NOT_LINKED:
        assert "link your Slack account to an active account" in told[0]["text"]


def assert_taken_by(ticket: Ticket, response, username: str) -> None:
    assert response.status_code == 200
    assert response.json()["result"] == [f"start_progress by {username}"]
    assert Ticket.objects.get(pk=ticket.pk).status == "in_progress"
    entry = AuditLog.objects.get(ticket=ticket, action="start_progress")
    assert entry.user is not None
    assert (entry.user.username, entry.actor_kind) == (username, "slack")


def with_email(user, email: str):
    user.email = email
    user.save(update_fields=["email"])
    return user


NOT_LINKED = "your Slack account is not linked to an account here"


def test_a_slack_user_with_no_account_changes_nothing(celery_worker, slack):
    ticket = make_ticket()
    slack.add_user("U0STRANGER", email="stranger@elsewhere.example")

    assert_refused(slack, ticket, "U0STRANGER", click(ticket.pk, "U0STRANGER"), NOT_LINKED)


def test_a_slack_username_equal_to_a_responders_username_is_not_that_responder(
    celery_worker, slack
):
    """The Slack handle is the user's to choose; only the signed user id counts."""
    make_user("ana", "responder")
    ticket = make_ticket()
    slack.add_user("U0IMPOSTOR", email="impostor@elsewhere.example", name="ana")

    response = click(ticket.pk, "U0IMPOSTOR", username="ana")

    assert_refused(slack, ticket, "U0IMPOSTOR", response, NOT_LINKED)


def test_a_deactivated_account_changes_nothing(celery_worker, slack):
    gone = make_user("gone", "responder", is_active=False)
    SlackIdentity.objects.create(slack_user_id="U0GONE0001", user=gone)
    slack.add_user("U0GONE0001")
    slack.add_user("U0GONE0002", email=gone.email)
    ticket = make_ticket()

    response = click(ticket.pk, "U0GONE0001")
    reactivate = "Ask an administrator to reactivate your account"
    assert_refused(slack, ticket, "U0GONE0001", response, "your account is deactivated", reactivate)
    by_email = click(ticket.pk, "U0GONE0002")
    assert_refused(slack, ticket, "U0GONE0002", by_email, NOT_LINKED)


def test_a_viewer_changes_nothing_and_is_told_the_group_it_lacks(celery_worker, slack):
    """Her Slack account is linked (a Slack identity, or the profile's e-mail): she was told to
    "link your Slack account to an active account with the responder role", which it is
    already; what she lacks is the group, as the dashboard's 403 says."""
    viewer = make_user("vera", "viewer")
    SlackIdentity.objects.create(slack_user_id="U0VERA0001", user=viewer)
    slack.add_user("U0VERA0001")
    slack.add_user("U0VERA0002", email=viewer.email)
    ticket = make_ticket()
    reason = "your account does not have the responder role"
    remedy = "Ask an administrator to add your account to the responder group (or one above it)."

    for slack_user_id in ("U0VERA0001", "U0VERA0002"):
        response = click(ticket.pk, slack_user_id)
        assert_refused(slack, ticket, slack_user_id, response, reason, remedy)


def test_a_responder_mapped_in_admin_takes_the_ticket(celery_worker, slack):
    responder = make_user("rui", "responder")
    SlackIdentity.objects.create(slack_user_id="U0RUI00001", user=responder)
    ticket = make_ticket()

    assert_taken_by(ticket, click(ticket.pk, "U0RUI00001", username="whatever"), "rui")
    assert not slack.api_requests("users.info")  # the mapping needs no lookup


def test_a_responder_found_by_the_slack_profile_email_takes_the_ticket(celery_worker, slack):
    with_email(make_user("maria", "responder"), "Maria.Lopez@example.com")
    slack.add_user("U0MARIA001", email="maria.lopez@example.com")
    ticket = make_ticket()

    assert_taken_by(ticket, click(ticket.pk, "U0MARIA001"), "maria")
    assert not slack.ephemeral


@pytest.mark.parametrize(
    "profile, reason",
    [
        ({"deleted": True}, "deleted in Slack"),
        ({"email_confirmed": False}, "e-mail not confirmed"),
    ],
)
def test_an_unreliable_slack_profile_email_is_not_trusted(celery_worker, slack, profile, reason):
    with_email(make_user("maria", "responder"), "maria@example.com")
    slack.add_user("U0MARIA001", email="maria@example.com", **profile)
    ticket = make_ticket()

    assert_refused(slack, ticket, "U0MARIA001", click(ticket.pk, "U0MARIA001"), NOT_LINKED)


def test_another_organizations_member_with_a_responders_email_changes_nothing(celery_worker, slack):
    """In a Slack Connect channel, a member of another organization clicks our buttons too;
    the e-mail on that profile is the other organization's to set."""
    with_email(make_user("maria", "responder"), "maria@example.com")
    slack.add_user("U0OUTSIDE1", email="maria@example.com", team_id="T0OTHERORG")
    ticket = make_ticket()

    assert_refused(slack, ticket, "U0OUTSIDE1", click(ticket.pk, "U0OUTSIDE1"), NOT_LINKED)


def test_an_email_shared_by_two_accounts_maps_to_neither(celery_worker, slack):
    with_email(make_user("maria", "responder"), "ops@example.com")
    with_email(make_user("mario", "responder"), "ops@example.com")
    slack.add_user("U0OPS00001", email="ops@example.com")
    ticket = make_ticket()

    assert_refused(slack, ticket, "U0OPS00001", click(ticket.pk, "U0OPS00001"), NOT_LINKED)


def test_without_the_email_scope_only_the_mapping_counts(celery_worker, slack):
    with_email(make_user("maria", "responder"), "maria@example.com")
    slack.add_user("U0MARIA001", email="maria@example.com")
    slack.scopes.discard("users:read.email")
    ticket = make_ticket()

    assert_refused(slack, ticket, "U0MARIA001", click(ticket.pk, "U0MARIA001"), NOT_LINKED)


def test_authority_is_read_at_the_click_not_remembered(celery_worker, slack):
    """The profile e-mail is cached briefly; the account's state and role are not."""
    maria = with_email(make_user("maria", "responder"), "maria@example.com")
    slack.add_user("U0MARIA001", email="maria@example.com")
    first, second = make_ticket(), make_ticket()
    assert_taken_by(first, click(first.pk, "U0MARIA001"), "maria")

    maria.is_active = False
    maria.save()

    assert_refused(slack, second, "U0MARIA001", click(second.pk, "U0MARIA001"), NOT_LINKED)


# Slack shows the clicker an error when its request is not answered within 3 seconds.
SLACK_ACK_SECONDS = 3.0


def test_a_first_email_mapped_click_is_answered_within_slacks_three_seconds(celery_worker, slack):
    """The first click of a user found by e-mail asks Slack twice (users.info, and auth.test
    for the bot's own workspace); each answering slowly, within its own timeout, used to add
    up to more than the 3 seconds Slack waits for the click's answer."""
    with_email(make_user("maria", "responder"), "maria@example.com")
    slack.add_user("U0MARIA001", email="maria@example.com")
    slack.stall(1.7, path_contains="users.info")
    slack.stall(1.7, path_contains="auth.test")
    ticket = make_ticket()

    started = time.monotonic()
    response = click(ticket.pk, "U0MARIA001")
    answered_in = time.monotonic() - started

    assert answered_in < SLACK_ACK_SECONDS
    assert_taken_by(ticket, response, "maria")


def test_a_click_is_answered_within_slacks_three_seconds_when_slack_does_not_answer(
    celery_worker, slack
):
    """users.info answering slowly and auth.test not at all (held for longer than its
    timeout): the click is still answered in time, changes nothing, and the clicker is told
    Slack did not say who they are (not that their account is not linked), and to try again."""
    with_email(make_user("maria", "responder"), "maria@example.com")
    slack.add_user("U0MARIA001", email="maria@example.com")
    slack.stall(1.5, path_contains="users.info")
    slack.stall(8, path_contains="auth.test")
    ticket = make_ticket()

    started = time.monotonic()
    response = click(ticket.pk, "U0MARIA001")
    answered_in = time.monotonic() - started
    slack.release_stalled()

    assert answered_in < SLACK_ACK_SECONDS
    reason = "Slack did not say in time who you are"
    remedy = "Try again in a moment"
    assert_refused(slack, ticket, "U0MARIA001", response, reason, remedy)
