"""Slack refusals a user meets: a pipeline's own Slack edit refused in an archived channel (its
ticket's RCA), and the workspace blocking the bot (an admin's setting, not a channel's): a real
Celery worker, the real slack-sdk client against the local Slack (tests/fakes)."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from integrations import fanout
from integrations.models import OutboundDelivery, OutboundStatus
from integrations.targets import slack as slack_target
from tests.conftest import wait_for
from tests.dashboard import make_user
from tests.fakes.slack_api import FakeSlack
from tests.integrations.test_incident_paging import (  # noqa: F401 (fixture)
    settled,
    targets,
)
from tests.tickets.test_incidents import post, storm_failure
from tickets import lifecycle
from tickets.lifecycle import Actor
from tickets.models import RcaSource, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_pipelines_slack_edit_refused_in_an_archived_channel_is_explained_as_that(
    celery_worker,
    targets,  # noqa: F811 (fixture)
):
    """chat.update answers `is_inactive` for a message in an archived channel (it has no
    `is_archived`): the task that edits its status message fails with that, and its ticket's
    RCA read it as nothing known."""
    with FakeSlack() as workspace:
        client = WebClient(token=workspace.token, base_url=workspace.base_url, retry_handlers=[])
        status = client.chat_postMessage(channel="#data-eng", text="Nightly load started")
        workspace.archive(status["channel"])
        with pytest.raises(SlackApiError) as refused:
            client.chat_update(channel=status["channel"], ts=status["ts"], text="Load done")
    message = f"slack_sdk.errors.SlackApiError: {refused.value}"
    assert "'error': 'is_inactive'" in message

    ticket_id = post(storm_failure("pl_notify_load", message=message))["ticket_id"]
    ticket = wait_for(
        lambda: Ticket.objects.exclude(rca_source=RcaSource.PENDING).filter(pk=ticket_id).first(),
        30,
    )

    assert ticket.error_type == "ConfigurationError"
    assert "Slack refused the edit of a message in the channel it posts to (is_inactive)" in (
        ticket.rca_result
    )
    assert "archived, frozen or deleted" in ticket.rca_result
    assert ticket.recommendations[0].startswith("Unarchive the channel it posts to")


@pytest.mark.parametrize(
    ("block", "remedy"),
    [
        ("restricted_action", "a Slack admin must let the app post"),
        ("ekm_access_denied", "a Slack admin must restore the EKM key's access"),
        (
            "team_access_not_granted",
            "an Enterprise Grid org admin must add the app to the workspace",
        ),
    ],
)
def test_a_workspace_that_blocks_the_bot_is_a_dead_letter_at_once_naming_what_to_fix(
    celery_worker,
    targets,  # noqa: F811 (fixture)
    block,
    remedy,
):
    """An admin's block of the whole workspace, not a channel's: the alert is a dead letter
    after one call, saying what to fix (it said only Slack's code); once fixed, the staff's
    retry from admin posts it, and an update refused so later says the same."""
    _jira, slack = targets
    slack.block_workspace(block)

    ticket_id = post(storm_failure("pl_orders"))["ticket_id"]
    settled()

    alert = OutboundDelivery.objects.get(ticket_id=ticket_id, action=slack_target.POST)
    assert (alert.status, alert.attempts) == (OutboundStatus.DEAD, 1)
    assert alert.last_error.startswith(f"Slack chat.postMessage failed: {block} (")
    assert f"{remedy}, then retry this delivery from admin" in alert.last_error
    assert len(slack.api_requests("chat.postMessage")) == 1

    slack.block_workspace("")
    assert fanout.retry_dead([alert.pk]) == 1
    settled()
    alert.refresh_from_db()
    assert alert.status == OutboundStatus.SUCCEEDED
    assert Ticket.objects.get(pk=ticket_id).slack_ts

    slack.block_workspace(block)
    calls_before = len(slack.requests)
    lifecycle.acknowledge(ticket_id, Actor.for_user(make_user("ana", "responder")))
    settled()
    (update,) = OutboundDelivery.objects.filter(
        ticket_id=ticket_id, action=slack_target.SYNC, payload__action="acknowledge"
    )
    assert (update.status, update.attempts) == (OutboundStatus.DEAD, 1)
    # Its first call (the look for late duplicates the retried post asks for) says so.
    assert update.last_error.startswith("Slack ")
    assert f" failed: {block} (" in update.last_error
    assert remedy in update.last_error
    assert len(slack.requests) == calls_before + 1
