"""JIRA status changes and Slack button clicks, applied to tickets through the lifecycle (and to
incidents, their JIRA issue and the buttons of their Slack message, through `incidents.act`:
every member at once).

Replays change nothing (each event's identity is claimed once), out-of-order JIRA events older
than the last one applied are ignored, and a change we caused ourselves (our transition or
comment coming back as a webhook) finds the ticket already in that state: no loop, no second
audit entry.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.timesince import timesince
from kombu.exceptions import KombuError

from analysis.redaction import redact
from integrations import remediation, slack_authority
from integrations.circuit import CircuitBreaker
from integrations.ingest import RejectedDelivery
from integrations.models import Remediation
from integrations.parsers.jira import (
    COMMENT_CHANGES,
    COMMENT_DELETED,
    COMMENT_UPDATED,
    JiraEvent,
)
from integrations.parsers.slack_actions import SlackAction
from integrations.targets.base import TransportError
from integrations.targets.jira import (
    DELETED,
    INCIDENT_DELETED,
    MAP_THE_WORKFLOW,
    JiraTransport,
    deleted_issue,
    fixed_by,
    own_account_ids,
    took_own_transition,
)
from integrations.targets.slack import (
    SLACK_ACK_ACTION,
    SLACK_APPROVE_ACTION,
    SLACK_DECLINE_ACTION,
    SLACK_FIX_ACTION,
    SLACK_INCIDENT_ACK_ACTION,
    SLACK_INCIDENT_RESOLVE_ACTION,
    SLACK_INCIDENT_TAKE_ACTION,
    SLACK_RESOLVE_ACTION,
    SLACK_RETRY_ACTION,
    SLACK_TAKE_ACTION,
)
from tickets import incidents, jira_status, lifecycle
from tickets.lifecycle import Actor, TransitionError
from tickets.models import (
    ActorKind,
    AuditLog,
    Incident,
    IncidentEvent,
    Occurrence,
    Resolution,
    Status,
    Ticket,
)
from tickets.resolutions import fix_recorded_for_last_resolve

logger = logging.getLogger(__name__)

# From each state, the lifecycle steps that reach each other state. Looked up with the locked
# ticket's status, a plain string from the database. An acknowledged ticket whose issue moves
# to the in-progress status stays acknowledged: that is where we put its issue ourselves.
PATHS: dict[tuple[str, str], list[str]] = {
    (Status.OPEN, Status.IN_PROGRESS): ["start_progress"],
    (Status.OPEN, Status.ACKNOWLEDGED): ["acknowledge"],
    (Status.OPEN, Status.RESOLVED): ["resolve"],
    (Status.IN_PROGRESS, Status.ACKNOWLEDGED): ["acknowledge"],
    (Status.IN_PROGRESS, Status.OPEN): ["reopen"],
    (Status.IN_PROGRESS, Status.RESOLVED): ["resolve"],
    (Status.ACKNOWLEDGED, Status.OPEN): ["reopen"],
    (Status.ACKNOWLEDGED, Status.RESOLVED): ["resolve"],
    (Status.RESOLVED, Status.OPEN): ["reopen"],
    (Status.RESOLVED, Status.IN_PROGRESS): ["reopen", "start_progress"],
    (Status.RESOLVED, Status.ACKNOWLEDGED): ["reopen", "acknowledge"],
}
# A JIRA comment on a resolved ticket that starts with this records what fixed it.
FIX_COMMENT_PREFIX = "fix:"


def _incident_for_issue(event: JiraEvent) -> Incident | None:
    """The incident whose own JIRA issue the event is about (its key only: the label is not
    trusted, see `_ticket_for_issue`)."""
    return Incident.objects.filter(itsm_ticket_id=event.issue_key).first()


def _apply_incident_event(incident: Incident, event: JiraEvent) -> tuple[str, str]:
    """A status change on an incident's issue acts on the incident (every member, one audit
    entry each naming the incident). Returns (the incident's lead ticket id, what happened)."""
    lead = incident.lead_ticket_id or ""
    with transaction.atomic():
        if not Occurrence.objects.claim(event.dedup_key):
            return lead, "replay ignored"
        Occurrence.objects.assign(event.dedup_key, incident.lead_ticket_id, "jira")
        if event.is_new_comment:
            return lead, "comment on an incident's issue ignored"
        if not event.status_to:
            if event.resolution and _withdraw_incident_fix(
                incident.pk, event, Actor(ActorKind.JIRA, event.author or "jira")
            ):
                return lead, FIX_WITHDRAWN_RESULT
            return lead, "nothing to apply"
        target = jira_status.ticket_status_for(event.status_to)
        if target is None:
            return lead, _not_mapped(event)
        if _is_our_echo(event):
            return lead, "our own change ignored"
        # Members first, as ingest and `incidents.act` lock them; what changed here is read
        # under the lock, so that a change here committing meanwhile is seen.
        locked = incidents.lock_with_members(incident.pk)[incident.pk]
        if (
            event.happened_at
            and locked.jira_status_at
            and event.happened_at <= locked.jira_status_at
        ):
            return lead, "older than the last status applied; ignored"
        if event.happened_at and _incident_changed_here_since(incident.pk, event.happened_at):
            return lead, "older than the incident's last status change; ignored"
        if event.happened_at:
            Incident.objects.filter(pk=incident.pk).update(jira_status_at=event.happened_at)
        steps = PATHS.get((locked.status, target), [])
        if not steps:
            return lead, f"incident {incident.pk} already in that state"
        actor = Actor(ActorKind.JIRA, event.author or "jira")
        # The comment left with the resolving transition says what fixed it, as on a ticket's
        # issue: kept on every member the resolve reaches (unless its resolution says nothing
        # was fixed: Won't Do, Duplicate, ...).
        fix = _transition_fix(event)
        try:
            for step in steps:
                incidents.act(
                    incident.pk,
                    step,
                    actor,
                    note=_jira_note(event) if step == "resolve" else f"JIRA {event.issue_key}",
                    fix=fix if step == "resolve" else "",
                    via="jira",
                )
        except TransitionError as exc:
            return lead, f"no change: {exc}"
        return lead, f"incident {incident.pk} status set to {target}"


# How long the key and labels JIRA gave for an issue id (or its answer that it has no such
# issue) are kept: a comment event named by id asks JIRA once per issue in that time, however
# many comments, redeliveries or replays name it.
ISSUE_BY_ID_SECONDS = 300


def _issue_by_id_cache_key(issue_id: str) -> str:
    return f"jira-issue-by-id:{settings.JIRA_URL}:{issue_id}"


# Redis down: JIRA is asked (nothing kept, no circuit), as it was before either existed.
def _cached(cache_key: str) -> list[Any] | None:
    try:
        return cast(list[Any] | None, cache.get(cache_key))
    except redis.RedisError:
        logger.warning("Redis unavailable: JIRA issue ids are not kept", exc_info=True)
        return None


def _circuit_open(breaker: CircuitBreaker) -> bool:
    try:
        return breaker.wait_seconds() > 0
    except redis.RedisError:
        return False


def _noted(note: Callable[[], object]) -> None:
    with contextlib.suppress(redis.RedisError):
        note()


def _with_issue_key(event: JiraEvent) -> JiraEvent | None:
    """A comment event without `issue` (Jira Server/Data Center's) names its issue by id alone,
    in the comment's URL: its key and labels are asked of JIRA with the service's account
    (None: JIRA has no such issue it may see, or JIRA is not configured here). The answer is
    kept for ISSUE_BY_ID_SECONDS; while the JIRA target's circuit is open (JIRA failing) it is
    not asked. JIRA not answering is a 503, as a database down is."""
    try:
        jira = JiraTransport.from_settings()
    except TransportError as exc:  # JIRA_URL unusable
        logger.warning("could not read JIRA issue %s: %s", event.issue_id, exc)
        raise RejectedDelivery(
            f"JIRA did not say which issue {event.issue_id[:40]} is; retry later", status=503
        ) from exc
    if jira is None:
        return None
    cache_key = _issue_by_id_cache_key(event.issue_id)
    cached = _cached(cache_key)
    if cached is None:
        breaker = CircuitBreaker(jira.name)
        if _circuit_open(breaker):
            raise RejectedDelivery(
                f"JIRA is failing; issue {event.issue_id[:40]} was not asked for; retry later",
                status=503,
            )
        try:
            found = jira.issue_key_and_labels(event.issue_id)
        except TransportError as exc:
            if not exc.permanent:
                _noted(breaker.record_failure)
            logger.warning(
                "could not read JIRA issue %s for its comment event: %s", event.issue_id, exc
            )
            raise RejectedDelivery(
                f"JIRA did not say which issue {event.issue_id[:40]} is; retry later",
                status=503,
            ) from exc
        _noted(breaker.record_success)
        cached = list(found) if found else []
        _noted(lambda: cache.set(cache_key, cached, ISSUE_BY_ID_SECONDS))
    if not cached:
        return None
    key, labels = cached
    return dataclasses.replace(event, issue_key=str(key), labels=tuple(labels))


def _ticket_for_issue(event: JiraEvent) -> Ticket | None:
    """The ticket linked to the event's issue. The `rca-<ticket id>` label is only a fallback
    for a ticket that has no linked issue yet (the issue was created but its key not saved):
    anyone who can edit an issue can add a label, so a labelled issue must never reach a ticket
    that is linked to another one, nor one whose issue was deleted in JIRA (a clone of that
    issue carries its labels)."""
    tickets = Ticket.objects.defer("embedding")
    ticket = tickets.filter(itsm_ticket_id=event.issue_key).first()
    if ticket is None:
        ids = [label.removeprefix("rca-") for label in event.labels if label.startswith("rca-")]
        ticket = tickets.filter(pk__in=ids, itsm_ticket_id="").first()
        if ticket is not None and deleted_issue(ticket.pk):
            return None
    return ticket


def _is_us(event: JiraEvent) -> bool:
    """Whether the service's own account made the change (JIRA_USER when the account it
    learnt from `/myself` is not known yet)."""
    ours = own_account_ids() or frozenset(filter(None, [settings.JIRA_USER]))
    return bool(event.author_ids & ours)


def _is_our_echo(event: JiraEvent) -> bool:
    """A status change the service noted making, reported as made by its own account: never
    someone else's change to the same status. Until the account's ids are known (`/myself`
    not answered yet: Jira Cloud's webhooks name the account id only), the note decides."""
    ours = own_account_ids()
    if ours is not None and not event.author_ids & ours:
        return False
    return took_own_transition(event.issue_key, event.status_to)


def _unlinked_by_id(event: JiraEvent) -> str:
    return (
        f"ignored: JIRA issue {event.issue_id[:40]} (named by id) is linked to no ticket here,"
        " is unknown to JIRA, or JIRA is not configured here"
    )


def apply_jira_event(event: JiraEvent) -> tuple[str | None, str]:
    """Returns (ticket id, what happened); for an incident's issue, its lead ticket's id. An
    issue no ticket is linked to (any other issue of the project the webhook reports) is
    ignored: no ticket id, and a 2xx, so that JIRA does not count the delivery as failed."""
    if event.comment_kind in COMMENT_CHANGES:
        followed = _follow_fix_comment_change(event)
        if followed is not None:
            return followed
    if not event.issue_key:
        if not event.is_new_comment:  # a comment edited or deleted: nothing to ask JIRA for
            return None, "nothing to apply"
        if _is_us(event):  # ignored wherever it is: not worth a call to JIRA
            return None, "our own comment ignored"
        named = _with_issue_key(event)
        if named is None:
            return None, _unlinked_by_id(event)
        event = named
    moved = _follow_move(event)
    if event.webhook_event == ISSUE_DELETED:
        return _forget_deleted_issue(event)
    incident = _incident_for_issue(event)
    if incident is not None:
        lead, result = _apply_incident_event(incident, event)
        return lead, _with_move(moved, result)
    ticket = _ticket_for_issue(event)
    if ticket is None:
        if event.issue_id:
            # Not the key JIRA gave: the sender is not told which issue an id is, nor whether
            # JIRA has it (the answer is the same for an issue JIRA does not show).
            return None, _unlinked_by_id(event)
        return None, f"ignored: no ticket is linked to JIRA issue {event.issue_key[:40]}"
    with transaction.atomic():
        if not Occurrence.objects.claim(event.dedup_key):
            return ticket.pk, "replay ignored"
        Occurrence.objects.assign(event.dedup_key, ticket.pk, "jira")
        actor = Actor(ActorKind.JIRA, event.author or "jira")
        if event.is_new_comment:
            if _is_us(event):
                return ticket.pk, "our own comment ignored"
            lifecycle.write_audit(
                ticket,
                actor,
                "jira comment",
                details={"issue": event.issue_key, "comment": redact(event.comment_body)[:2000]},
            )
            if _record_fix_comment(ticket.pk, event, actor):
                return ticket.pk, "comment recorded as the fix"
            return ticket.pk, "comment recorded"
        if not event.status_to:
            if event.resolution and _withdraw_fix(ticket.pk, event, actor):
                return ticket.pk, _with_move(moved, FIX_WITHDRAWN_RESULT)
            return ticket.pk, _with_move(moved, "nothing to apply")
        target = jira_status.ticket_status_for(event.status_to)
        if target is None:
            return ticket.pk, _with_move(moved, _not_mapped(event))
        if _is_our_echo(event):
            return ticket.pk, "our own change ignored"
        locked = Ticket.objects.select_for_update(no_key=True).defer("embedding").get(pk=ticket.pk)
        if (
            event.happened_at
            and locked.jira_status_at
            and event.happened_at <= locked.jira_status_at
        ):
            return ticket.pk, "older than the last status applied; ignored"
        if event.happened_at and _status_changed_here_since(ticket.pk, event.happened_at, event):
            # Made in JIRA before a change made here, delivered after it: applying it would
            # undo the later change (the issue follows the ticket's status instead).
            lifecycle.write_audit(
                locked,
                actor,
                JIRA_STATUS_IGNORED,
                details={
                    "issue": event.issue_key,
                    "status_from": event.status_from[:80],
                    "status_to": event.status_to[:80],
                    "at": event.happened_at.isoformat(),
                },
            )
            return ticket.pk, "older than the ticket's last status change; ignored"
        if event.happened_at:
            Ticket.objects.filter(pk=ticket.pk).update(jira_status_at=event.happened_at)
        steps = PATHS.get((locked.status, target), [])
        if not steps:
            return ticket.pk, _with_move(moved, "already in that state")
        for step in steps:
            if step == "resolve":
                # The comment left with the resolving transition says what fixed it, unless
                # its resolution says nothing was fixed (Won't Do, Duplicate, ...).
                lifecycle.resolve(
                    ticket.pk,
                    actor,
                    note=_jira_note(event),
                    fix=_transition_fix(event),
                    fix_told_in=f"{TRANSITION_COMMENT}{event.comment_id}"
                    if event.comment_id
                    else "",
                )
            else:
                lifecycle.transition(ticket.pk, step, actor, note=f"JIRA {event.issue_key}")
        return ticket.pk, _with_move(moved, f"status set to {target}")


# The longest JIRA key a ticket or an incident keeps (`itsm_ticket_id`).
MAX_ISSUE_KEY = 64


def _follow_move(event: JiraEvent) -> str:
    """An issue moved to another project gets a new key (`issue_moved`: the changelog's `Key`
    item). JIRA still answers the old key's REST calls and links, but its webhooks name the
    new key alone: the ticket or incident linked to the old key is linked to the new one (an
    audit entry, or a timeline entry, names both; a ticket's Slack alert links the new key), so what
    is done on the issue from now on still reaches it. Done once: a replay finds nothing
    linked to the old key. Returns what was done, or ''."""
    old, new = event.moved_from, event.issue_key
    if not old or not new or old == new or len(new) > MAX_ISSUE_KEY:
        return ""
    actor = Actor(ActorKind.JIRA, event.author or "jira")
    moved = f"linked to {new[:40]}, the key it was moved to from {old[:40]}"
    with transaction.atomic():
        incident_id = (
            Incident.objects.filter(itsm_ticket_id=old).values_list("pk", flat=True).first()
        )
        if incident_id and Incident.objects.filter(pk=incident_id, itsm_ticket_id=old).update(
            itsm_ticket_id=new
        ):
            incidents.record_event(
                incident_id, "jira_moved", actor=actor, details={"from": old, "key": new}
            )
            incidents.announce(incident_id, "jira_moved", actor)  # its pages are brought up to date
            return f"incident {incident_id} {moved}"
        ticket = Ticket.objects.defer("embedding").filter(itsm_ticket_id=old).first()
        if ticket is None or not Ticket.objects.filter(pk=ticket.pk, itsm_ticket_id=old).update(
            itsm_ticket_id=new
        ):
            return ""
        lifecycle.write_audit(
            ticket,
            actor,
            JIRA_ISSUE_MOVED,
            before={"itsm_ticket_id": old},
            after={"itsm_ticket_id": new},
            details={"issue": new},
        )
        lifecycle.announce(ticket.pk, "jira_linked", actor)  # its Slack alert links the new key
    return moved


JIRA_ISSUE_MOVED = "jira issue moved"
ISSUE_DELETED = "jira:issue_deleted"


def _forget_deleted_issue(event: JiraEvent) -> tuple[str | None, str]:
    """The issue a ticket or incident is linked to was deleted in JIRA: the link is dropped
    (an audit entry, or a timeline entry, names the key and who deleted it; a ticket's Slack alert
    links it no more), and what changes later is not sent to JIRA: its deliveries are
    skipped saying the issue was deleted, instead of failing against an issue that is gone.
    No other issue is made for it. A replay finds nothing linked to the key."""
    key = event.issue_key
    actor = Actor(ActorKind.JIRA, event.author or "jira")
    done = f"unlinked: JIRA issue {key[:40]} was deleted in JIRA; changes here are not sent to it"
    with transaction.atomic():
        incident = _incident_for_issue(event)
        if incident is not None:
            if not Incident.objects.filter(pk=incident.pk, itsm_ticket_id=key).update(
                itsm_ticket_id=""
            ):
                return incident.lead_ticket_id, "nothing to apply"
            incidents.record_event(
                incident.pk, INCIDENT_DELETED, actor=actor, details={"issue": key}
            )
            incidents.announce(incident.pk, INCIDENT_DELETED, actor)
            return incident.lead_ticket_id, f"incident {incident.pk} {done}"
        ticket = Ticket.objects.defer("embedding").filter(itsm_ticket_id=key).first()
        if ticket is None or not Ticket.objects.filter(pk=ticket.pk, itsm_ticket_id=key).update(
            itsm_ticket_id=""
        ):
            return None, f"ignored: no ticket is linked to JIRA issue {key[:40]}"
        lifecycle.write_audit(
            ticket,
            actor,
            DELETED,
            before={"itsm_ticket_id": key},
            after={"itsm_ticket_id": ""},
            details={"issue": key},
        )
        lifecycle.announce(ticket.pk, "jira_unlinked", actor)  # its Slack alert drops the link
    return ticket.pk, done


def _with_move(moved: str, result: str) -> str:
    return f"{moved}; {result}" if moved else result


def _not_mapped(event: JiraEvent) -> str:
    return f"status '{event.status_to[:40]}' not mapped: {MAP_THE_WORKFLOW}"


def _status_changed_here_since(ticket_id: str, since: datetime, event: JiraEvent) -> bool:
    """Whether the ticket's status changed after `since` (JIRA's time) other than from JIRA,
    unless the event moved the issue out of the status the latest of those changes put it in
    and no earlier one left it in: the issue was there only after that change, so the event
    was made after it, whatever either clock says (this one ahead of JIRA's made a reopen in
    JIRA just after a resolve here look older, and it was ignored)."""
    entries = (
        AuditLog.objects.filter(ticket_id=ticket_id, created_at__gt=since)
        .exclude(actor_kind=ActorKind.JIRA)
        .order_by("created_at", "pk")
        .values_list("before", "after")
    )
    changes = [
        (str(before.get("status", "")), str(after.get("status", "")))
        for before, after in entries
        if isinstance(before, dict)
        and isinstance(after, dict)
        and before.get("status", after.get("status")) != after.get("status")
    ]
    if not changes:
        return False
    return not (
        _shows(event.status_from, changes[-1][1])
        and not any(_shows(event.status_from, before) for before, _ in changes)
        and not _moved_there_in_jira_before(ticket_id, event)
    )


# The audit action of a JIRA status change ignored as older than a change made here.
JIRA_STATUS_IGNORED = "jira status ignored"


def _moved_there_in_jira_before(ticket_id: str, event: JiraEvent) -> bool:
    """Whether an earlier change in JIRA (JIRA's clock, as the event's), ignored as older than
    a change here, moved the issue into the status the event moves it out of: the issue was
    there before the change here too, so the event's order cannot be told from its status."""
    assert event.happened_at is not None
    wanted = event.status_from.strip().lower()
    for details in AuditLog.objects.filter(
        ticket_id=ticket_id, action=JIRA_STATUS_IGNORED
    ).values_list("details", flat=True):
        if not isinstance(details, dict) or str(details.get("status_to", "")).lower() != wanted:
            continue
        try:
            at = datetime.fromisoformat(str(details.get("at", "")))
        except ValueError:
            continue
        if at <= event.happened_at:
            return True
    return False


def _shows(jira_status_name: str, ticket_status: str) -> bool:
    """Whether an issue in `jira_status_name` shows a ticket in `ticket_status` (the status
    map, an acknowledged ticket's issue in the status mapped to in progress)."""
    if not jira_status_name or ticket_status not in {s.value for s in Status}:
        return False
    wanted = jira_status_name.strip().lower()
    return any(name.lower() == wanted for name in jira_status.jira_statuses_for(ticket_status))


def _incident_changed_here_since(incident_id: str, since: datetime) -> bool:
    """Whether the incident's status changed after `since` (JIRA's time) other than from
    JIRA: made in JIRA first and delivered after it, the change would undo a later one."""
    return (
        IncidentEvent.objects.filter(
            incident_id=incident_id,
            at__gt=since,
            kind__in=INCIDENT_STATUS_EVENTS,
        )
        .exclude(actor_kind=ActorKind.JIRA)
        .exists()
    )


# The incident timeline's entries for a change of its status (`incidents.act`, a regression).
INCIDENT_STATUS_EVENTS = ("acknowledge", "start_progress", "resolved", "reopen")


def _transition_fix(event: JiraEvent) -> str:
    """What the comment left with a resolving transition says fixed it: nothing when the
    service's own account or an app (an automation rule closing stale issues) made it, or when
    its resolution says nothing was fixed (`fixed_by`)."""
    if _is_us(event) or event.by_app or not fixed_by(event.resolution):
        return ""
    return _fix_in(event.comment_body)


def _jira_note(event: JiraEvent) -> str:
    """The note of a resolve made in JIRA: the issue, and its resolution when it set one."""
    if event.resolution:
        return f"JIRA {event.issue_key} (resolution: {event.resolution[:60]})"
    return f"JIRA {event.issue_key}"


def _fix_in(comment: str) -> str:
    """What fixed it, as a comment says it: without the `Fix:` it may start with."""
    comment = comment.strip()
    if comment.lower().startswith(FIX_COMMENT_PREFIX):
        return comment[len(FIX_COMMENT_PREFIX) :].strip()
    return comment


def _record_fix_comment(ticket_id: str, event: JiraEvent, actor: Actor) -> bool:
    """`Fix: …` commented by a person (not an app) on a resolved ticket's issue is the fix,
    unless one is recorded. The ticket is locked first, as a fix typed in the Slack alert's box
    locks it (`_keep_fix_typed_late`): told at the same moment, one of them is kept."""
    body = event.comment_body.strip()
    if event.by_app or not body.lower().startswith(FIX_COMMENT_PREFIX):
        return False
    ticket = Ticket.objects.select_for_update(no_key=True).defer("embedding").get(pk=ticket_id)
    if ticket.status != Status.RESOLVED or fix_recorded_for_last_resolve(ticket):
        return False
    fix = _fix_in(body)
    if not fix:
        return False
    lifecycle.record_fix(
        ticket,
        fix,
        actor,
        note=f"JIRA {event.issue_key}",
        told_in=f"{FIX_COMMENT}{event.comment_id}",
    )
    return True


# `Resolution.told_in` of a fix told in a resolving transition's comment, and in a `Fix:` one.
TRANSITION_COMMENT = "jira:"
FIX_COMMENT = "jira-fix:"
FIX_EDITED = "fix edited"


def _follow_fix_comment_change(event: JiraEvent) -> tuple[str, str] | None:
    """A person's JIRA comment that told a fix, edited or deleted: the fix follows it. Edited,
    it is the comment's new text (a `Fix:` comment's without its `Fix:`; one that no longer
    starts with it withdraws the fix); deleted, the fix is withdrawn (marked wrong, never shown
    again). A fix staff marked wrong stays so. None when no fix was told in that comment."""
    if _is_us(event) or event.by_app or not event.comment_id:
        return None
    ids = [f"{TRANSITION_COMMENT}{event.comment_id}", f"{FIX_COMMENT}{event.comment_id}"]
    ticket_id = (
        Resolution.objects.usable()
        .filter(told_in__in=ids)
        .values_list("ticket_id", flat=True)
        .first()
    )
    if ticket_id is None:
        return None
    actor = Actor(ActorKind.JIRA, event.author or "jira")
    with transaction.atomic():
        if not Occurrence.objects.claim(event.dedup_key):
            return ticket_id, "replay ignored"
        Occurrence.objects.assign(event.dedup_key, ticket_id, "jira")
        ticket = Ticket.objects.select_for_update(no_key=True).defer("embedding").get(pk=ticket_id)
        if _newer_edit_applied(ticket_id, event):
            return ticket_id, "older than the comment's last edit applied; ignored"
        told = list(
            Resolution.objects.usable()
            .filter(ticket_id=ticket_id, told_in__in=ids)
            .defer("embedding")
            .select_for_update()
            .order_by("pk")
        )
        changed = ""  # the audit action of the latest change: FIX_EDITED or FIX_WITHDRAWN
        for fix in told:
            body = "" if event.comment_kind == COMMENT_DELETED else event.comment_body.strip()
            if fix.told_in.startswith(FIX_COMMENT) and not body.lower().startswith(
                FIX_COMMENT_PREFIX
            ):
                body = ""
            text = redact(_fix_in(body))[:8000]
            if text == fix.fix:
                continue
            details = {
                "issue": event.issue_key or ticket.itsm_ticket_id,
                "comment": event.comment_id,
                "resolution_id": fix.pk,
                "comment_at": event.happened_at.isoformat() if event.happened_at else "",
            }
            if text:
                lifecycle.write_audit(
                    ticket,
                    actor,
                    FIX_EDITED,
                    before={"fix": fix.fix[:2000]},
                    after={"fix": text[:2000]},
                    details=details,
                )
                fix.fix = text
                fix.save(update_fields=["fix"])
                changed = FIX_EDITED
            else:
                fix.marked_wrong_at = timezone.now()
                fix.marked_wrong_by = f"{actor.name} in JIRA (comment edited or deleted)"[:200]
                fix.save(update_fields=["marked_wrong_at", "marked_wrong_by"])
                lifecycle.write_audit(
                    ticket, actor, FIX_WITHDRAWN, details={**details, "fix": fix.fix[:2000]}
                )
                changed = FIX_WITHDRAWN
        if not changed:
            return ticket_id, "nothing to apply"
        lifecycle.tell(ticket.pk, changed, actor)
        return ticket_id, f"{changed}: its comment was {CHANGED_COMMENT[event.comment_kind]}"


CHANGED_COMMENT = {COMMENT_UPDATED: "edited", COMMENT_DELETED: "deleted"}


def _newer_edit_applied(ticket_id: str, event: JiraEvent) -> bool:
    """Whether an edit of the comment made at or after this one was applied already: JIRA
    retries a failed delivery later, so an older edit can arrive after a newer one."""
    if event.happened_at is None:
        return False
    applied = AuditLog.objects.filter(
        ticket_id=ticket_id, action=FIX_EDITED, details__comment=event.comment_id
    ).values_list("details__comment_at", flat=True)
    for stamp in applied:
        try:
            at = datetime.fromisoformat(stamp) if isinstance(stamp, str) and stamp else None
        except ValueError:
            continue
        if at is not None and at >= event.happened_at:
            return True
    return False


FIX_WITHDRAWN = "fix withdrawn"
FIX_WITHDRAWN_RESULT = "resolution says nothing was fixed: the fix recorded withdrawn"


def _withdraw_fix(ticket_id: str, event: JiraEvent, actor: Actor) -> bool:
    """A resolved ticket's issue whose resolution alone was changed to one that says nothing
    was fixed (Done to Duplicate, Won't Do, ...): the fix recorded for the ticket's latest
    resolve is withdrawn, as a resolve with that resolution would have recorded none. Called
    inside the event's transaction."""
    if _is_us(event) or fixed_by(event.resolution):
        return False
    ticket = Ticket.objects.select_for_update(no_key=True).defer("embedding").get(pk=ticket_id)
    if ticket.status != Status.RESOLVED:
        return False
    since = ticket.reopened_at or ticket.timestamp
    return _withdraw(
        Resolution.objects.filter(ticket_id=ticket_id, created_at__gte=since), event, actor
    )


def _withdraw_incident_fix(incident_id: str, event: JiraEvent, actor: Actor) -> bool:
    """The same on a resolved incident's issue: the fix its latest resolve wrote on each of
    its members (since it was last reopened) is withdrawn from every member."""
    if _is_us(event) or fixed_by(event.resolution):
        return False
    locked = incidents.lock_with_members(incident_id)[incident_id]
    if locked.status != Status.RESOLVED:
        return False
    reopened = (
        IncidentEvent.objects.filter(incident_id=incident_id, kind="reopen")
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    since = reopened or locked.created_at
    return _withdraw(
        Resolution.objects.filter(through_incident=incident_id, created_at__gte=since),
        event,
        actor,
    )


def _withdraw(fixes: QuerySet[Resolution], event: JiraEvent, actor: Actor) -> bool:
    """Mark the fixes not marked wrong yet wrong (never shown again), audited on each ticket
    naming the issue and its resolution, and told to the dashboard. Whether any was."""
    withdrawn = list(
        fixes.filter(marked_wrong_at__isnull=True)
        .defer("embedding")
        .select_for_update()
        .order_by("pk")
    )
    by = f"{actor.name} in JIRA (resolution: {event.resolution[:60]})"[:200]
    now = timezone.now()
    for fix in withdrawn:
        fix.marked_wrong_at = now
        fix.marked_wrong_by = by
        fix.save(update_fields=["marked_wrong_at", "marked_wrong_by"])
        lifecycle.write_audit(
            Ticket(pk=fix.ticket_id),
            actor,
            FIX_WITHDRAWN,
            details={
                "issue": event.issue_key,
                "resolution": event.resolution[:60],
                "resolution_id": fix.pk,
                "fix": fix.fix[:2000],
            },
        )
    for ticket_id in sorted({fix.ticket_id for fix in withdrawn}):
        lifecycle.tell(ticket_id, FIX_WITHDRAWN, actor)
    return bool(withdrawn)


SLACK_STEPS = {
    SLACK_ACK_ACTION: "acknowledge",
    SLACK_TAKE_ACTION: "start_progress",
    SLACK_RESOLVE_ACTION: "resolve",
    SLACK_FIX_ACTION: "resolve",
}


SLACK_INCIDENT_STEPS = {
    SLACK_INCIDENT_ACK_ACTION: "acknowledge",
    SLACK_INCIDENT_TAKE_ACTION: "start_progress",
    SLACK_INCIDENT_RESOLVE_ACTION: "resolve",
}


def apply_slack_action(action: SlackAction) -> str:
    """A click from a Slack user who does not act for an active responder (see
    `slack_authority`) changes nothing; the user is told so in an ephemeral message, and
    nothing else (not whether the ticket exists)."""
    if action.action_id in (SLACK_APPROVE_ACTION, SLACK_DECLINE_ACTION, SLACK_RETRY_ACTION):
        return _apply_remediation_decision(action)
    if action.action_id in SLACK_INCIDENT_STEPS:
        return _apply_incident_action(action)
    if action.action_id not in SLACK_STEPS:
        return "ignored: not one of our buttons"
    # Authority first: a user who may not act learns nothing of which tickets exist.
    authority = slack_authority.authority_of(action.user_id)
    if authority.user is None:
        _tell_not_allowed(action, authority.reason)
        return f"not allowed: {authority.reason}"
    if not Ticket.objects.filter(pk=action.ticket_id).exists():
        # Deleted, or a button of another installation's message: Slack shows the user a
        # generic error for anything but a 200, so the click is answered and explained.
        return _unknown(action, f"there is no ticket {action.ticket_id[:64]} here")
    user = authority.user
    actor = Actor(ActorKind.SLACK, user.get_username(), user)
    step = SLACK_STEPS[action.action_id]
    with transaction.atomic():
        if not Occurrence.objects.claim(action.dedup_key):
            return "replay ignored"
        Occurrence.objects.assign(action.dedup_key, action.ticket_id, "slack")
        try:
            # A button carries no note: the change's actor (via Slack) says who and where, and
            # the JIRA comment, the thread reply and the audit entry quote nobody's words.
            if step == "resolve":
                lifecycle.resolve(action.ticket_id, actor, fix=action.text)
            else:
                lifecycle.transition(action.ticket_id, step, actor)
        except TransitionError as exc:
            refusal = str(exc)
        else:
            return f"{step} by {actor.name}"
        kept = step == "resolve" and _keep_fix_typed_late(action, actor)
    last = last_status_change(action.ticket_id)
    if kept:
        _tell(action, f"Not resolved again: {refusal}{last}. {FIX_KEPT}.")
        return f"fix recorded: {refusal}"
    # A click on a message that was out of date (someone acted first, or the same person's
    # double click): say so to the clicker, and who changed it last, when.
    _tell(action, f"Nothing was changed: {refusal}{last}.")
    return f"no change: {refusal}"


FIX_KEPT = "What you typed is kept as what fixed it"
# The audit entry of a fix typed in the alert's box after the ticket was resolved.
FIX_RECORDED = "fix recorded"


def _keep_fix_typed_late(action: SlackAction, actor: Actor) -> bool:
    """What fixed it, typed in the alert's box (Enter, or Resolve clicked with it) as the
    ticket was resolved by someone or something else (its source recovering, a colleague):
    kept as its fix when none is recorded, as a JIRA comment `Fix: ...` on it would be,
    audited and told to the dashboard. Called inside the click's transaction."""
    fix = action.text.strip()
    if not fix:
        return False
    ticket = (
        Ticket.objects.select_for_update(no_key=True).defer("embedding").get(pk=action.ticket_id)
    )
    if ticket.status != Status.RESOLVED or fix_recorded_for_last_resolve(ticket):
        return False
    kept = lifecycle.record_fix(ticket, fix, actor)
    lifecycle.write_audit(ticket, actor, FIX_RECORDED, details={"fix": kept.fix[:2000]})
    lifecycle.tell(ticket.pk, "fix_recorded", actor)  # the ticket's page shows it
    return True


# The audit entry of a source's recovery (`lifecycle.resolve_at_source`): a status change only
# when it resolved the ticket.
RESOLVED_AT_SOURCE = "resolved at source"
# The audit entries of a ticket's status changes, and how a refusal words each.
STATUS_CHANGE_WORDS = {
    "acknowledge": "acknowledged",
    "start_progress": "taken",
    "resolve": "resolved",
    "reopen": "reopened",
    "regressed": "reopened as a regression",
    RESOLVED_AT_SOURCE: "recovered at its source",
}
ACTOR_PLACE: dict[str, str] = {ActorKind.SLACK: " via Slack", ActorKind.JIRA: " in JIRA"}


# An incident's timeline entries of its status changes (`incidents.STATUS_EVENTS`).
INCIDENT_STATUS_CHANGE_WORDS = {
    "acknowledge": "acknowledged",
    "start_progress": "taken",
    "resolved": "resolved",
    "reopen": "reopened",
}


def _who_and_when(words: str, actor_name: str, actor_kind: str, at: datetime) -> str:
    seconds = (timezone.now() - at).total_seconds()
    ago = "just now" if seconds < 60 else f"{timesince(at)} ago".replace("\xa0", " ")
    return f" ({words} by {actor_name}{ACTOR_PLACE.get(actor_kind, '')} {ago})"


def last_status_change(ticket_id: str) -> str:
    """` (resolved by maria via Slack just now)`: the latest change of the ticket's status,
    by whom and how long ago, for a refused click (and a refused dashboard action); '' when
    none is recorded. A recovery at the source that left the status as it was (the ticket
    resolved already, or RESOLVE_ON_SOURCE_RECOVERY off) is audited too, but changed no
    status: it is passed over."""
    resolving = Q(after__status=Status.RESOLVED) & ~Q(before__status=Status.RESOLVED)
    status_kept = Q(action=RESOLVED_AT_SOURCE) & ~resolving
    entry = (
        AuditLog.objects.filter(ticket_id=ticket_id, action__in=STATUS_CHANGE_WORDS)
        .exclude(status_kept)
        .order_by("-id")
        .only("action", "actor_kind", "actor_name", "created_at")
        .first()
    )
    if entry is None:
        return ""
    words = STATUS_CHANGE_WORDS[entry.action]
    return _who_and_when(words, entry.actor_name, entry.actor_kind, entry.created_at)


def last_incident_status_change(incident_id: str) -> str:
    """`last_status_change` of an incident, from its timeline: ` (acknowledged by daan via
    Slack just now)`, or ''."""
    event = incidents.last_status_change(incident_id)
    if event is None:
        return ""
    words = INCIDENT_STATUS_CHANGE_WORDS[event.kind]
    return _who_and_when(words, event.actor_name, event.actor_kind, event.at)


def _apply_incident_action(action: SlackAction) -> str:
    """A button on an incident's message (its value is the incident's id): the same authority
    as a ticket's button (checked first, as there), then the action on the incident and every
    member at once."""
    incident_id = action.ticket_id
    authority = slack_authority.authority_of(action.user_id)
    if authority.user is None:
        _tell_not_allowed(action, authority.reason)
        return f"not allowed: {authority.reason}"
    lead = (
        Incident.objects.filter(pk=incident_id).values_list("lead_ticket_id", flat=True).first()
        if incident_id
        else None
    )
    if lead is None and not Incident.objects.filter(pk=incident_id).exists():
        return _unknown(action, f"there is no incident {incident_id[:64]} here")
    user = authority.user
    actor = Actor(ActorKind.SLACK, user.get_username(), user)
    step = SLACK_INCIDENT_STEPS[action.action_id]
    with transaction.atomic():
        if not Occurrence.objects.claim(action.dedup_key):
            return "replay ignored"
        Occurrence.objects.assign(action.dedup_key, lead, "slack")
        try:
            incidents.act(incident_id, step, actor, via="slack")
        except TransitionError as exc:
            refusal = str(exc)
        else:
            return f"{step} of incident {incident_id} by {actor.name}"
    merged = _merged_away(incident_id)
    if merged:
        _tell(action, merged)
    else:
        told = f"Nothing was changed: {refusal}{last_incident_status_change(incident_id)}."
        _tell(action, told)
    return f"no change: {refusal}"


def _merged_away(incident_id: str) -> str:
    """What a click on the message of an incident merged into another is told: where its
    members went, who merged it and when, and where to act instead; '' when it is not merged.
    Its message loses its buttons at the merge, but one open in Slack still shows them until
    the update lands."""
    into = Incident.objects.filter(pk=incident_id).values_list("merged_into_id", flat=True).first()
    if not into:
        return ""
    merge = (
        IncidentEvent.objects.filter(incident_id=incident_id, kind="merged_into")
        .order_by("-at", "-pk")
        .first()
    )
    when = _who_and_when("merged", merge.actor_name, merge.actor_kind, merge.at) if merge else ""
    return (
        f"Nothing was changed: incident {incident_id} was merged into incident {into}{when}; "
        f"act on {into}'s message or its page: {settings.PUBLIC_BASE_URL}/incidents/{into}/"
    )


def _unknown(action: SlackAction, refusal: str) -> str:
    _tell(action, f"Nothing was changed: {refusal}.")
    return f"no change: {refusal}"


def _tell_not_allowed(action: SlackAction, reason: str) -> None:
    from integrations.tasks import tell_slack_user_not_allowed

    try:
        tell_slack_user_not_allowed.delay(
            action.channel_id, action.user_id, reason, *_where_to_answer(action)
        )
    except KombuError:  # the broker is down: the click is still refused, only unexplained
        logger.warning("could not queue the Slack 'not allowed' message", exc_info=True)


def _apply_remediation_decision(action: SlackAction) -> str:
    """Approve / Decline on the alert decide the remediation the button names (its value; the
    block names the ticket), and Retry retries it (`remediation.retry`), never whichever one
    the ticket has now: a click on an older message about a remediation that expired, was
    decided, retried or replaced changes nothing, and the clicker is told why. Only a Slack
    user with the authority of an active responder (`slack_authority`) may decide; the
    decision is audited with who and when. An approval or a retry under a policy in dry run
    runs nothing; the clicker is told so."""
    authority = slack_authority.authority_of(action.user_id)
    if authority.user is None:
        _tell_not_allowed(action, authority.reason)
        return f"not allowed: {authority.reason}"
    refusal = _stale_button(action)
    if refusal:
        _tell(action, f"Nothing was changed: {refusal}.")
        return f"no change: {refusal}"
    remediation_id = int(action.remediation_id)
    user = authority.user
    actor = Actor(ActorKind.SLACK, user.get_username(), user)
    with transaction.atomic():
        if not Occurrence.objects.claim(action.dedup_key):
            return "replay ignored"
        Occurrence.objects.assign(action.dedup_key, action.ticket_id, "slack")
        try:
            if action.action_id == SLACK_APPROVE_ACTION:
                verb = "approved"
                decided = remediation.approve(remediation_id, actor, via="slack")
            elif action.action_id == SLACK_DECLINE_ACTION:
                remediation.decline(remediation_id, actor, via="slack")
                return f"remediation {remediation_id} declined by {actor.name}"
            else:
                verb = "retried"
                decided = remediation.retry(remediation_id, actor, via="slack")
        except remediation.RemediationError as exc:
            refusal = str(exc)
        else:
            if not decided.dry_run:
                return f"remediation {remediation_id} {verb} by {actor.name}"
            refusal = ""
    if refusal:
        # Outside the transaction: an expiry found by the decision is kept (it commits itself).
        _tell(action, f"Nothing was changed: {refusal}.")
        return f"no change: {refusal}"
    # Its policy is in dry run: recorded as what it would have run (an approval's skip is
    # announced on the alert; a retry's nowhere).
    _tell(action, f"Nothing was run: {decided.reason}.")
    return f"remediation {remediation_id} {verb} by {actor.name} as a dry run"


def _stale_button(action: SlackAction) -> str:
    """Why the button cannot decide anything, or ''."""
    remediation_id = _remediation_pk(action.remediation_id)
    if remediation_id is None:
        # Alerts posted before the buttons named their remediation carried the ticket.
        return "this button is from an older alert; decide on the ticket's page"
    found = Remediation.objects.filter(pk=remediation_id).first()
    if found is None:
        return f"there is no remediation {action.remediation_id}"
    if found.ticket_id != action.ticket_id:
        return f"remediation {found.pk} is not for ticket {action.ticket_id[:64]}"
    return ""


def _remediation_pk(value: str) -> int | None:
    """The id a button's value names, or None: only ASCII digits are one (`str.isdigit` also
    takes "²", which `int` refuses), and at most a bigint (a larger one is no row's)."""
    if not (value.isascii() and value.isdigit()):
        return None
    number = int(value)
    return number if number < 2**63 else None


def _where_to_answer(action: SlackAction) -> tuple[str, str]:
    """The click's `response_url`, and the thread of the clicked message when it is a reply
    (Slack may name the thread of a thread's parent too: that one is answered in the channel,
    where it was clicked)."""
    thread_ts = action.thread_ts if action.thread_ts != action.message_ts else ""
    return action.response_url, thread_ts


def _tell(action: SlackAction, message: str) -> None:
    from integrations.tasks import tell_slack_user

    try:
        tell_slack_user.delay(action.channel_id, action.user_id, message, *_where_to_answer(action))
    except KombuError:  # the broker is down: the click still changed nothing, only unexplained
        logger.warning("could not queue the Slack answer", exc_info=True)
