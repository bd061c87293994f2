"""Ticket changes reach the outbound targets (the fan-out follows the ticket; each target's
module says which changes it shows)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from integrations import fanout, remediation
from integrations.models import RemediationPolicy, RemediationStatus, WebhookDelivery
from integrations.targets.base import IncidentChange
from tickets import lifecycle
from tickets.lifecycle import Actor
from tickets.models import ActorKind, Ticket
from tickets.vocabulary import Outcome

logger = logging.getLogger(__name__)


def follow_incident_change(
    sender: Any,
    incident_id: str,
    action: str,
    actor: Actor,
    ticket_id: str = "",
    paged: bool = False,
    **kwargs: Any,
) -> None:
    try:
        fanout.schedule_incident_change(incident_id, action)
        if action == "detached" and ticket_id:
            fanout.schedule_own_page(ticket_id)
        if action == "joined" and paged and ticket_id:
            # It paged on its own before its error text named the culprit, or before it was
            # resolved and failed again into the incident (tickets.incidents `place_enriched`,
            # `regress`): its issue and alert point to the incident, once.
            fanout.schedule_member_links(ticket_id, incident_id)
    except Exception:
        logger.exception("could not schedule the page of %s on %s", action, incident_id)


def point_regressions_to_formed_incident(
    sender: Any, incident_id: str, members: list[str], **kwargs: Any
) -> None:
    """Inside the forming transaction: a member's regression not paged yet is told by the
    incident's page, not by reopening its own (`fanout.skip_regressions_gone_into`)."""
    fanout.skip_regressions_gone_into(incident_id, members)


def follow_incident_status(
    sender: Any,
    incident_id: str,
    action: str,
    actor: Actor,
    event_id: int,
    via: str = "",
    note: str = "",
    ticket_id: str = "",
    title: str = "",
    fix: str = "",
    **kwargs: Any,
) -> None:
    """Inside the incident's transaction: what the targets tell about the status change (a
    Slack thread reply, a JIRA comment) commits with it or not at all."""
    fanout.schedule_incident_status(
        IncidentChange(incident_id, action, actor, event_id, via, note, ticket_id, title, fix)
    )


def follow_ticket_change(
    sender: Any,
    ticket_id: str,
    action: str,
    actor: Actor,
    note: str = "",
    fix: str = "",
    **kwargs: Any,
) -> None:
    """Inside the ticket's transaction (`ticket_changing`): its follow-ups commit with the
    change or not at all (a target that cannot build its follow-up is logged and skipped,
    `fanout.schedule_follow_up`; a database error fails the change, nothing half-written).
    People resolving it say there that it skips its remediation not started
    (`close_remediation_loop` skips it after the commit)."""
    if action == lifecycle.NOTICE_PAGED:
        # A notice left unpaged, updated once SERVICE_HEALTH_NOTICES_PAGE was turned on
        # (tickets/services.py `_page_notice_left_quiet`): its pages are sent now.
        fanout.page_escalated_notice(ticket_id)
        return
    if action == lifecycle.ESCALATED:
        # A Service Health notice's update made it an outage (tickets/services.py
        # `_escalate_notice`): it pages now, if it was left unpaged as a notice; one that
        # paged has its issue and alert brought up to its graver severity.
        if fanout.page_escalated_notice(ticket_id):
            fanout.schedule_follow_up(ticket_id, action, actor, note, fix)
        return
    if action == "regressed" and kwargs.get("through_incident"):
        # It failed again into an open incident of its outage, which it joined
        # (tickets.incidents `regress`): the incident's page tells it, and its own issue and
        # alert are pointed there (`follow_incident_change`); they are not reopened apart.
        return
    skips_remediation = _resolved_by_people(action, actor) and remediation.skips_on_resolve(
        ticket_id
    )
    fanout.schedule_follow_up(
        ticket_id,
        action,
        actor,
        note,
        fix,
        skips_remediation=skips_remediation,
        through_incident=kwargs.get("through_incident", ""),
    )


def _resolved_by_people(action: str, actor: Actor) -> bool:
    return action == "resolve" and actor.kind not in (ActorKind.SOURCE, ActorKind.REMEDIATION)


def close_remediation_loop(
    sender: Any, ticket_id: str, action: str, actor: Actor, note: str = "", **kwargs: Any
) -> None:
    """The source's own success webhook (which resolves the ticket, or only marks it recovered
    at the source when it was resolved already): a remediation running on it succeeded.
    People resolving the ticket (or its incident): one that has not started is skipped."""
    if action not in ("resolve", "resolved_at_source"):
        return
    try:
        if actor.kind == ActorKind.SOURCE:
            remediation.source_recovered(ticket_id)
        elif _resolved_by_people(action, actor):
            remediation.ticket_resolved(ticket_id, actor)
    except Exception:
        logger.exception("could not close the remediation of %s", ticket_id)


def release_remediations_on_recovery(
    sender: Any, incident_id: str, action: str, actor: Actor, ticket_id: str = "", **kwargs: Any
) -> None:
    """A member of the incident recovered at its source: the culprit is back, so the members'
    held remediations run, in batches. A member taken out of it (`detached`) is held by it no
    more, and no recovery of it would release it: its held remediation runs. So do those of
    the members another incident's merge moved into it (`merged`) that it holds no more (one
    of its members, or of theirs, recovered already): that recovery's release came before
    they were its members, and none would follow."""
    if action not in ("recovered", "resolved", "detached", "merged"):
        return
    try:
        if action == "detached":
            member_ids = [ticket_id]
        elif action == "merged":
            held = (
                Ticket.objects.filter(
                    incident_id=incident_id, remediations__status=RemediationStatus.HELD
                )
                .defer("embedding")
                .distinct()
            )
            member_ids = [ticket.pk for ticket in held if remediation.held_by(ticket) is None]
        else:
            member_ids = list(
                Ticket.objects.filter(incident_id=incident_id).values_list("pk", flat=True)
            )
        remediation.release_held(member_ids)
    except Exception:
        logger.exception("could not release the held remediations of %s", incident_id)


def move_folded_deliveries(
    sender: Any, ticket_id: str, into: str, outcome: str, **kwargs: Any
) -> None:
    """A ticket folded into another (`tickets.services.settle_fingerprint`, `settle_run`): its
    inbox rows are the other's, the one that opened it as the failure's recurrence or
    regression (or as a duplicate of it: an alert of a run whose failure is over)."""
    rows = WebhookDelivery.objects.filter(ticket_id=ticket_id)
    rows.filter(outcome=Outcome.CREATED).update(ticket_id=into, outcome=outcome)
    rows.update(ticket_id=into)


def stop_remediations_of_saved_policy(
    sender: Any, instance: RemediationPolicy, raw: bool = False, **kwargs: Any
) -> None:
    """Any save of a policy (admin's form and list, code): once it commits, its waiting
    remediations that it runs no more are skipped at once (`remediation.skip_switched_off`)."""
    if raw:  # loaddata
        return
    policy_id = instance.pk
    transaction.on_commit(lambda: remediation.policy_changed(policy_id))


def stop_remediations_of_deleted_policy(
    sender: Any, instance: RemediationPolicy, **kwargs: Any
) -> None:
    """Before the delete unlinks them (`SET_NULL`): its waiting remediations, skipped once the
    delete commits."""
    waiting = remediation.waiting_on(instance.pk)
    if waiting:
        transaction.on_commit(lambda: remediation.skip_later(waiting))
