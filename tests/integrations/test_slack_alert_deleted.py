"""A ticket's Slack alert (or an incident's message, a member's approval request) deleted in
Slack by someone, or its channel archived or left by the bot: the later changes are not sent to
it, and are not dead letters either (staff would retry them from admin for ever). A real
Celery worker, the real slack-sdk client against the local Slack (tests/fakes)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from integrations import fanout
from integrations.models import (
    OutboundDelivery,
    OutboundStatus,
    Remediation,
    RemediationAction,
    RemediationStatus,
)
from integrations.targets import slack as slack_target
from integrations.targets.base import member_approval_key
from tests.conftest import wait_for
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
from tickets.models import AuditLog, Incident, IncidentEvent, OwnershipRule, Ticket

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


def _incident_told_after(incident: Incident, responder: Any, since: datetime) -> QuerySet:
    """A third member and an acknowledge change the incident: its lead's Slack updates and
    thread replies since `since`, none of them a dead letter."""
    post(storm_failure("pl_payments"))  # a third member: the message is updated
    settled()
    answer = responder.post(f"/api/v1/incidents/{incident.pk}/acknowledge/", {}, format="json")
    assert answer.status_code == 200
    settled()
    lead = OutboundDelivery.objects.filter(ticket_id=incident.lead_ticket_id)
    assert not lead.filter(target="slack", status=OutboundStatus.DEAD).exists()
    return lead.filter(
        action__in=[slack_target.INCIDENT_UPDATE, slack_target.INCIDENT_REPLY],
        created_at__gt=since,
    )


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

    told = _incident_told_after(incident, responder, deleted_at)
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


def test_the_link_under_a_members_alert_deleted_in_slack_is_skipped_not_dead(
    celery_worker,
    targets,  # noqa: F811 (fixture)
    settings,
):
    """A failure alone past its grace delay alerted on its own; someone deleted that alert;
    its incident formed later: the reply pointing from the alert to the incident found no
    thread (`thread_not_found`) and was a dead letter."""
    _jira, slack = targets
    settings.INCIDENT_GRACE_SECONDS = 0.2
    first = post(storm_failure("pl_orders"))["ticket_id"]
    early = wait_for(
        lambda: Ticket.objects.filter(pk=first).exclude(slack_ts="").first(),
        30,
    )
    settled()
    channel, ts = early.slack_channel, early.slack_ts
    with slack._state_lock:
        del slack.messages[(channel, ts)]

    for n in range(3):
        post(storm_failure(f"pl_member_{n}"))
    wait_for(lambda: Ticket.objects.filter(pk=first).exclude(incident=None).exists(), 30)
    wait_for(lambda: Incident.objects.exclude(slack_ts="").exists(), 30)
    settled()

    link = OutboundDelivery.objects.get(ticket_id=first, action=slack_target.INCIDENT_LINK)
    said = f"not sent: its Slack alert (channel {channel}, ts {ts}) was deleted in Slack"
    assert (link.status, link.last_error) == (OutboundStatus.SKIPPED, said)
    own = OutboundDelivery.objects.filter(ticket_id=first, target="slack")
    assert not own.filter(status=OutboundStatus.DEAD).exists()
    (entry,) = AuditLog.objects.filter(ticket_id=first, action=slack_target.ALERT_DELETED)
    assert entry.details == {"channel": channel, "ts": ts}


def _member_awaiting_approval(incident: Incident) -> tuple[Ticket, Remediation]:
    """A member of the incident without an alert of its own, its remediation awaiting approval,
    asked for in the incident's thread as the fan-out asks for it."""
    member = Ticket.objects.filter(incident=incident, slack_ts="").first()
    assert member is not None, "a member that joined in its grace delay has no alert"
    remediation = Remediation.objects.create(
        ticket=member,
        run_key=member.run_id,
        action=RemediationAction.PLAYBOOK,
        status=RemediationStatus.AWAITING_APPROVAL,
    )
    fanout.schedule_member_remediation(member.pk, incident.pk, "remediation_awaiting_approval")
    return member, remediation


def test_an_approval_asked_under_an_incident_message_deleted_in_slack_is_skipped_not_dead(
    celery_worker,
    targets,  # noqa: F811 (fixture)
):
    _jira, slack = targets
    incident, _responder = paged_outage_and_responder()
    settled()
    channel, ts = incident.slack_channel, incident.slack_ts
    with slack._state_lock:
        del slack.messages[(channel, ts)]

    member, remediation = _member_awaiting_approval(incident)
    settled()

    key = member_approval_key(member.pk, slack_target.INCIDENT_APPROVAL, remediation.pk)
    ask = OutboundDelivery.objects.get(key=key)
    said = (
        f"not sent: the incident's Slack message (channel {channel}, ts {ts}) was deleted in Slack"
    )
    assert (ask.status, ask.last_error) == (OutboundStatus.SKIPPED, said)
    (entry,) = IncidentEvent.objects.filter(
        incident=incident, kind=slack_target.INCIDENT_MESSAGE_DELETED
    )
    assert entry.details == {"channel": channel, "ts": ts}
    assert not slack.top_level(channel)  # not posted out of its thread


def test_updates_of_an_approval_request_deleted_in_slack_are_skipped_not_dead(
    celery_worker,
    targets,  # noqa: F811 (fixture)
):
    """The request (a reply in the incident's thread) deleted by someone: each update of it
    (the remediation decided, then expired) answered `message_not_found`, a dead letter each."""
    _jira, slack = targets
    incident, _responder = paged_outage_and_responder()
    settled()
    member, remediation = _member_awaiting_approval(incident)
    settled()
    key = member_approval_key(member.pk, slack_target.INCIDENT_APPROVAL, remediation.pk)
    ask = OutboundDelivery.objects.get(key=key, status=OutboundStatus.SUCCEEDED)
    channel, ts = ask.payload["channel"], ask.payload["ts"]
    with slack._state_lock:
        del slack.messages[(channel, ts)]
    updates_before = len(slack.api_requests("chat.update"))

    for status in (RemediationStatus.DECLINED, RemediationStatus.EXPIRED):
        Remediation.objects.filter(pk=remediation.pk).update(status=status)
        fanout.schedule_member_remediation(member.pk, incident.pk, f"remediation_{status}")
        settled()

    updates = OutboundDelivery.objects.filter(
        action=slack_target.INCIDENT_APPROVAL, key__startswith=f"{key}:"
    )
    said = (
        f"not sent: its approval request in the incident's Slack thread (channel {channel}, "
        f"ts {ts}) was deleted in Slack"
    )
    assert updates.count() == 2
    assert {(row.status, row.last_error) for row in updates} == {(OutboundStatus.SKIPPED, said)}
    (entry,) = AuditLog.objects.filter(ticket=member, action=slack_target.APPROVAL_REQUEST_DELETED)
    assert entry.details == {"channel": channel, "ts": ts}
    # Slack was asked once; the later update knew the request was gone.
    assert len(slack.api_requests("chat.update")) <= updates_before + 1


def test_changes_of_a_ticket_whose_alert_channel_was_archived_are_skipped_not_dead(
    celery_worker,
    targets,  # noqa: F811 (fixture)
):
    """Slack answers an update of a message in an archived channel `is_inactive` (chat.update
    has no `is_archived`): each was a dead letter. The alert is not posted anew elsewhere; once
    the channel is back, the next change updates it."""
    _jira, slack = targets
    ticket = paged("pl_orders")
    channel, ts = ticket.slack_channel, ticket.slack_ts
    slack.archive(channel)
    changed_at = timezone.now()

    lifecycle.acknowledge(ticket.pk, Actor.for_user(make_user("ana", "responder")))
    settled()
    lifecycle.resolve(ticket.pk, Actor.for_user(make_user("bo", "responder")))
    settled()

    syncs = OutboundDelivery.objects.filter(
        ticket=ticket, action=slack_target.SYNC, created_at__gt=changed_at
    )
    assert syncs.count() == 2
    said = (
        f"not sent: Slack refused its alert's channel {channel} (is_inactive: the channel was "
        "archived, frozen or deleted)"
    )
    assert {(row.status, row.last_error) for row in syncs} == {(OutboundStatus.SKIPPED, said)}
    (entry,) = AuditLog.objects.filter(ticket=ticket, action=slack_target.ALERT_CHANNEL_REFUSED)
    assert entry.details == {"channel": channel, "ts": ts, "error": "is_inactive"}
    assert len(slack.top_level(channel)) == 1  # the alert only: nothing posted anew

    with slack._state_lock:
        slack.archived.discard(channel)
    updates_before = len(slack.api_requests("chat.update"))
    lifecycle.reopen(ticket.pk, Actor.for_user(make_user("cy", "responder")))
    settled()
    last = OutboundDelivery.objects.filter(ticket=ticket, action=slack_target.SYNC).latest("pk")
    assert last.status == OutboundStatus.SUCCEEDED
    assert len(slack.api_requests("chat.update")) == updates_before + 1


def test_changes_of_an_incident_whose_channel_the_bot_was_removed_from_are_skipped_not_dead(
    celery_worker,
    targets,  # noqa: F811 (fixture)
):
    """Its updates and thread replies answered `not_in_channel`: each was a dead letter."""
    _jira, slack = targets
    incident, responder = paged_outage_and_responder()
    settled()
    channel, ts = incident.slack_channel, incident.slack_ts
    with slack._state_lock:
        slack.not_member.add(channel)
    removed_at = timezone.now()

    told = _incident_told_after(incident, responder, removed_at)
    said = (
        f"not sent: Slack refused the incident's channel {channel} (not_in_channel: the bot is "
        "no longer in the channel)"
    )
    assert told.filter(action=slack_target.INCIDENT_REPLY).exists()
    assert told.filter(action=slack_target.INCIDENT_UPDATE).exists()
    assert {(row.status, row.last_error) for row in told} == {(OutboundStatus.SKIPPED, said)}
    (entry,) = IncidentEvent.objects.filter(
        incident=incident, kind=slack_target.INCIDENT_CHANNEL_REFUSED
    )
    assert entry.details == {"channel": channel, "ts": ts, "error": "not_in_channel"}


def test_changes_of_an_incident_whose_channel_was_archived_are_skipped_not_dead(
    celery_worker,
    targets,  # noqa: F811 (fixture)
):
    """Slack answers its message's updates `is_inactive` and the replies under it `is_archived`:
    each update was a dead letter. Each refusal is on the timeline once."""
    _jira, slack = targets
    incident, responder = paged_outage_and_responder()
    settled()
    channel, ts = incident.slack_channel, incident.slack_ts
    slack.archive(channel)
    archived_at = timezone.now()

    told = _incident_told_after(incident, responder, archived_at)
    updates = told.filter(action=slack_target.INCIDENT_UPDATE)
    replies = told.filter(action=slack_target.INCIDENT_REPLY)
    refused = f"not sent: Slack refused the incident's channel {channel}"
    inactive = f"{refused} (is_inactive: the channel was archived, frozen or deleted)"
    archived = f"{refused} (is_archived: the channel was archived)"
    assert updates.exists() and replies.exists()
    assert {(row.status, row.last_error) for row in updates} == {(OutboundStatus.SKIPPED, inactive)}
    assert {(row.status, row.last_error) for row in replies} == {(OutboundStatus.SKIPPED, archived)}
    entries = IncidentEvent.objects.filter(
        incident=incident, kind=slack_target.INCIDENT_CHANNEL_REFUSED
    )
    assert sorted(entry.details["error"] for entry in entries) == ["is_archived", "is_inactive"]
    assert all(entry.details["ts"] == ts for entry in entries)


def test_an_approval_asked_in_an_archived_incident_channel_is_skipped_not_dead(
    celery_worker,
    targets,  # noqa: F811 (fixture)
):
    _jira, slack = targets
    incident, _responder = paged_outage_and_responder()
    settled()
    channel, ts = incident.slack_channel, incident.slack_ts
    slack.archive(channel)

    member, remediation = _member_awaiting_approval(incident)
    settled()

    key = member_approval_key(member.pk, slack_target.INCIDENT_APPROVAL, remediation.pk)
    ask = OutboundDelivery.objects.get(key=key)
    said = (
        f"not sent: Slack refused the incident's channel {channel} (is_archived: the channel "
        "was archived)"
    )
    assert (ask.status, ask.last_error) == (OutboundStatus.SKIPPED, said)
    (entry,) = IncidentEvent.objects.filter(
        incident=incident, kind=slack_target.INCIDENT_CHANNEL_REFUSED
    )
    assert entry.details == {"channel": channel, "ts": ts, "error": "is_archived"}


def test_the_link_under_a_members_alert_in_an_archived_channel_is_skipped_not_dead(
    celery_worker,
    targets,  # noqa: F811 (fixture)
    settings,
):
    """A member alerted on its own in its team's channel, which was archived since; its
    incident formed later, led and paged in another channel: the reply pointing from the
    member's alert to the incident was refused `is_archived` and was a dead letter."""
    _jira, slack = targets
    settings.INCIDENT_GRACE_SECONDS = 0.2
    settings.INCIDENT_MIN_PIPELINES = 3
    OwnershipRule.objects.create(
        pipeline_pattern="pl_team_b_*", finops_team="team-b", slack_channel="#alerts"
    )
    lead = post(storm_failure("pl_orders"))["ticket_id"]
    member = post(storm_failure("pl_team_b_loads"))["ticket_id"]
    alerted = Ticket.objects.filter(pk__in=[lead, member]).exclude(slack_ts="")
    wait_for(lambda: alerted.count() == 2, 30)
    settled()
    own = Ticket.objects.get(pk=member)
    channel, ts = own.slack_channel, own.slack_ts
    assert channel == slack.channels["alerts"]
    slack.archive(channel)

    post(storm_failure("pl_customers"))
    incident = wait_for(lambda: Incident.objects.exclude(slack_ts="").first(), 30)
    settled()

    assert incident.lead_ticket_id == lead and incident.slack_channel != channel
    link = OutboundDelivery.objects.get(ticket_id=member, action=slack_target.INCIDENT_LINK)
    said = (
        f"not sent: Slack refused its alert's channel {channel} (is_archived: the channel was "
        "archived)"
    )
    assert (link.status, link.last_error) == (OutboundStatus.SKIPPED, said)
    (entry,) = AuditLog.objects.filter(ticket_id=member, action=slack_target.ALERT_CHANNEL_REFUSED)
    assert entry.details == {"channel": channel, "ts": ts, "error": "is_archived"}
    assert not slack.thread(channel, ts)  # nothing posted under it, nor anywhere instead
    lead_link = OutboundDelivery.objects.get(ticket_id=lead, action=slack_target.INCIDENT_LINK)
    assert lead_link.status == OutboundStatus.SUCCEEDED


def test_updates_of_an_approval_request_in_an_archived_incident_channel_are_skipped_not_dead(
    celery_worker,
    targets,  # noqa: F811 (fixture)
):
    """The request (a reply in the incident's thread) asked, then the channel archived: each
    update of it (the remediation declined, then expired) answered `is_inactive`, a dead letter
    each."""
    _jira, slack = targets
    incident, _responder = paged_outage_and_responder()
    settled()
    member, remediation = _member_awaiting_approval(incident)
    settled()
    key = member_approval_key(member.pk, slack_target.INCIDENT_APPROVAL, remediation.pk)
    OutboundDelivery.objects.get(key=key, status=OutboundStatus.SUCCEEDED)
    channel, ts = incident.slack_channel, incident.slack_ts
    slack.archive(channel)

    for status in (RemediationStatus.DECLINED, RemediationStatus.EXPIRED):
        Remediation.objects.filter(pk=remediation.pk).update(status=status)
        fanout.schedule_member_remediation(member.pk, incident.pk, f"remediation_{status}")
        settled()

    updates = OutboundDelivery.objects.filter(
        action=slack_target.INCIDENT_APPROVAL, key__startswith=f"{key}:"
    )
    said = (
        f"not sent: Slack refused the incident's channel {channel} (is_inactive: the channel "
        "was archived, frozen or deleted)"
    )
    assert updates.count() == 2
    assert {(row.status, row.last_error) for row in updates} == {(OutboundStatus.SKIPPED, said)}
    (entry,) = IncidentEvent.objects.filter(
        incident=incident, kind=slack_target.INCIDENT_CHANNEL_REFUSED
    )
    assert entry.details == {"channel": channel, "ts": ts, "error": "is_inactive"}


def _found_by_two_workers(find: Callable[[], object]) -> None:
    """`find` run by a delivery whose transaction is still open while a second worker's
    delivery runs it too (a plain edit and a thread reply, say, both finding the alert gone)."""

    def second_worker() -> None:
        try:
            find()
        finally:
            connection.close()

    with transaction.atomic():
        find()
        other = threading.Thread(target=second_worker)
        other.start()
        other.join(timeout=1.0)  # it waits for this transaction, or went ahead without it
    other.join(timeout=30)
    assert not other.is_alive()


def test_an_alert_two_workers_find_deleted_at_once_is_recorded_once(
    celery_worker,
    targets,  # noqa: F811 (fixture)
):
    ticket = paged("pl_orders")
    _found_by_two_workers(
        lambda: slack_target._alert_found_deleted(Ticket.objects.get(pk=ticket.pk))
    )
    found = AuditLog.objects.filter(ticket=ticket, action=slack_target.ALERT_DELETED)
    assert found.count() == 1


def test_an_incident_message_two_workers_find_refused_at_once_is_recorded_once(
    celery_worker,
    targets,  # noqa: F811 (fixture)
):
    incident, _responder = paged_outage_and_responder()
    settled()
    _found_by_two_workers(
        lambda: slack_target._incident_channel_refused(
            Incident.objects.get(pk=incident.pk), "is_archived"
        )
    )
    found = IncidentEvent.objects.filter(
        incident=incident, kind=slack_target.INCIDENT_CHANNEL_REFUSED
    )
    assert found.count() == 1
