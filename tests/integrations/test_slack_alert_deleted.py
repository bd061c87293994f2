"""A ticket's Slack alert (or an incident's message) deleted in Slack by someone: the later
changes are not sent to it, and are not dead letters either (staff would retry them from admin
for ever). A real Celery worker, the real slack-sdk client against the local Slack
(tests/fakes)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from integrations.models import OutboundDelivery, OutboundStatus
from integrations.targets import slack as slack_target
from tests.dashboard import make_user
from tests.integrations.test_incident_paging import (  # noqa: F401 (fixture)
    paged_outage_and_responder,
    settled,
    targets,
)
from tests.integrations.test_slack_edits import paged
from tests.tickets.test_incidents import post, storm_failure
from tickets import lifecycle
from tickets.lifecycle import Actor
from tickets.models import AuditLog, IncidentEvent

pytestmark = pytest.mark.django_db(transaction=True)


def test_changes_of_a_ticket_whose_alert_was_deleted_in_slack_are_skipped_not_dead(
    celery_worker,
    targets,  # noqa: F811 (fixture)
):
    _jira, slack = targets
    ticket = paged("pl_orders")
    channel, ts = ticket.slack_channel, ticket.slack_ts
    updates_before = len(slack.api_requests("chat.update"))
    with slack._state_lock:  # a workspace admin deletes the bot's alert
        del slack.messages[(channel, ts)]

    lifecycle.acknowledge(ticket.pk, Actor.for_user(make_user("ana", "responder")))
    settled()
    lifecycle.resolve(ticket.pk, Actor.for_user(make_user("bo", "responder")))
    settled()

    syncs = OutboundDelivery.objects.filter(ticket=ticket, action=slack_target.SYNC)
    told = syncs.filter(payload__action__in=["acknowledge", "resolve"])
    assert told.count() == 2
    assert not syncs.filter(status=OutboundStatus.DEAD).exists()
    said = f"not sent: its Slack alert (channel {channel}, ts {ts}) was deleted in Slack"
    assert {(row.status, row.last_error) for row in told} == {(OutboundStatus.SKIPPED, said)}
    (entry,) = AuditLog.objects.filter(ticket=ticket, action=slack_target.ALERT_DELETED)
    assert entry.details == {"channel": channel, "ts": ts}
    # Slack was asked once; the later change knew the alert was gone.
    assert len(slack.api_requests("chat.update")) == updates_before + 1
    assert not slack.top_level(channel)  # nothing posted instead of it


def test_changes_of_an_incident_whose_message_was_deleted_in_slack_are_skipped_not_dead(
    celery_worker,
    targets,  # noqa: F811 (fixture)
):
    """Its updates found the message gone (message_not_found), its thread replies the thread
    (thread_not_found): each was a dead letter."""
    _jira, slack = targets
    incident, responder = paged_outage_and_responder()
    settled()
    channel, ts = incident.slack_channel, incident.slack_ts
    with slack._state_lock:
        del slack.messages[(channel, ts)]
    deleted_at = timezone.now()

    post(storm_failure("pl_payments"))  # a third member: the message is updated
    settled()
    answer = responder.post(f"/api/v1/incidents/{incident.pk}/acknowledge/", {}, format="json")
    assert answer.status_code == 200
    settled()

    lead = OutboundDelivery.objects.filter(ticket_id=incident.lead_ticket_id)
    told = lead.filter(
        action__in=[slack_target.INCIDENT_UPDATE, slack_target.INCIDENT_REPLY],
        created_at__gt=deleted_at,
    )
    assert not lead.filter(target="slack", status=OutboundStatus.DEAD).exists()
    said = (
        f"not sent: the incident's Slack message (channel {channel}, ts {ts}) was deleted in Slack"
    )
    assert told.filter(action=slack_target.INCIDENT_REPLY).exists()
    assert {(row.status, row.last_error) for row in told} == {(OutboundStatus.SKIPPED, said)}
    (entry,) = IncidentEvent.objects.filter(
        incident=incident, kind=slack_target.INCIDENT_MESSAGE_DELETED
    )
    assert entry.details == {"channel": channel, "ts": ts}
    assert not slack.top_level(channel)  # nothing posted instead of it, nor out of its thread
