"""The ticket lifecycle: every state change goes through here, is checked, and is audited.

Changes are announced twice: `ticket_changing` inside the change's transaction, for receivers
that record what must follow the change (the outbound follow-ups: they commit with it or not at
all, so a process dying right after the commit loses none), and `ticket_changed` after the
transaction commits, for those that reach the outside world (the dashboard, the remediation
loop), so they react only to changes that really happened. Both carry the actor, which lets a
receiver ignore changes its own target caused (no echo loops).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from analysis.redaction import redact
from integrations.events import SERVICE_HEALTH_NOTICE
from rca_project import compiled_sql
from rca_project.observability import SLA_BREACHES
from tickets.models import (
    DATABRICKS_REFETCH,
    ActorKind,
    AuditLog,
    Resolution,
    SlaStatus,
    Status,
    Ticket,
)
from tickets.timestamps import utc_text

# Sent inside the change's transaction with: ticket_id, action, actor (an Actor), note, and
# for a change of the tracked fields (a transition) their values before and after it (`before`
# and `after`, as `_snapshot` gives them; None otherwise), `via` (where a person made it: the
# actor's `via`, api, dashboard or admin; '' otherwise, the actor's kind then saying it)
# and `through_incident` (the incident whose action a transition is: `incidents.act`, or a
# member taking its incident's status; for a regression, the incident it joined as it failed
# again, whose page tells it: `incidents.regress`; '' for a change made on the ticket itself).
ticket_changing = Signal()
# The same, sent on commit.
ticket_changed = Signal()

# A change of the ticket's routing (its team, owner, cost centre, and the channel or project
# of a target it has not paged in yet: `rules.reroute_unpaged`): the audit entry's action, and
# the change announced, so the JIRA issue and Slack alert already made tell the new team and
# owner and the dashboard shows them.
REROUTED = "re-routed"
# A Databricks job's failure and that of the job run its Run Job task triggered counted as one
# on the ticket (`services.settle_fingerprint`): announced, its note naming both jobs, so the
# JIRA issue and the Slack alert already made name them too.
JOBS_FAILED_TOGETHER = "jobs_failed_together"
# A Service Health notice's update made it an outage (`services._escalate_notice`): announced,
# so a notice that paged already (SERVICE_HEALTH_NOTICES_PAGE on) has its JIRA issue and Slack
# alert show the graver severity and priority it has now.
ESCALATED = "escalated"
# A Service Health notice recorded while notices paged nobody, open, whose update came once
# SERVICE_HEALTH_NOTICES_PAGE was turned on (`services._page_notice_left_quiet`): its clock
# starts, and its JIRA issue and Slack alert are sent then.
NOTICE_PAGED = "notice paged"


class TransitionError(Exception):
    """The requested change is not allowed from the ticket's current state."""


@dataclass(frozen=True)
class Actor:
    kind: str
    name: str
    user: User | None = None
    # Where a person acted (api, dashboard, admin): what a Slack thread line or a JIRA comment
    # says after "via"; the kind when empty.
    via: str = ""

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(ActorKind.SYSTEM, name)

    @classmethod
    def for_user(cls, user: User, via: str = "") -> Actor:
        return cls(ActorKind.USER, user.get_username(), user, via)

    @classmethod
    def source(cls, name: str) -> Actor:
        return cls(ActorKind.SOURCE, name)


# action -> (states it may start from, state it leads to). Acknowledged means a responder owns
# it (the response SLA is measured there); resolved means fixed, the terminal state.
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "acknowledge": (frozenset({Status.OPEN, Status.IN_PROGRESS}), Status.ACKNOWLEDGED),
    "start_progress": (frozenset({Status.OPEN}), Status.IN_PROGRESS),
    "resolve": (
        frozenset({Status.OPEN, Status.IN_PROGRESS, Status.ACKNOWLEDGED}),
        Status.RESOLVED,
    ),
    "reopen": (
        frozenset({Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.RESOLVED}),
        Status.OPEN,
    ),
}

_TRACKED = (
    "status",
    "sla_status",
    "sla_deadline",
    "ack_ts",
    "ack_user",
    "ack_seconds",
    "remediation_status",
    "resolved_at",
    "resolved_by",
    "resolve_seconds",
)


def _snapshot(ticket: Ticket) -> dict[str, Any]:
    values = {name: getattr(ticket, name) for name in _TRACKED}
    return {k: utc_text(v) if isinstance(v, datetime) else v for k, v in values.items()}


def write_audit(
    ticket: Ticket,
    actor: Actor,
    action: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> AuditLog:
    entry = audit_entry(ticket, actor, action, before=before, after=after, details=details)
    compiled_sql.insert(entry)
    return entry


def audit_entry(
    ticket: Ticket,
    actor: Actor,
    action: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> AuditLog:
    """The audit entry `write_audit` writes, not saved yet (only the changed keys of `before`
    and `after` when both are given), for writing several in one INSERT."""
    changed_before = before or {}
    changed_after = after or {}
    if before is not None and after is not None:
        keys = [k for k in after if before.get(k) != after.get(k)]
        changed_before = {k: before.get(k) for k in keys}
        changed_after = {k: after[k] for k in keys}
    return AuditLog(
        ticket=ticket,
        actor_kind=actor.kind,
        actor_name=actor.name,
        user=actor.user if actor.user is not None and actor.user.pk else None,
        action=action,
        before=changed_before,
        after=changed_after,
        details=details or {},
    )


def announce(
    ticket_id: str,
    action: str,
    actor: Actor,
    note: str = "",
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    through_incident: str = "",
    fix: str = "",
) -> None:
    change: dict[str, Any] = {"ticket_id": ticket_id, "action": action, "actor": actor}
    change.update(note=note, fix=fix, before=before, after=after)
    change.update(via=actor.via, through_incident=through_incident)
    ticket_changing.send(sender=Ticket, **change)
    transaction.on_commit(lambda: ticket_changed.send(sender=Ticket, **change))


def tell(ticket_id: str, action: str, actor: Actor) -> None:
    """A change of what the ticket counts that is sent to no target (a recovery that keeps it
    open: "task recovered"; the JIRA summary and the Slack alert show the parts still failing
    as they stood when last written): told to the dashboard once it commits (`ticket_changed`
    alone; `ticket_changing`, which schedules JIRA and Slack follow-ups, is not sent)."""
    change: dict[str, Any] = {"ticket_id": ticket_id, "action": action, "actor": actor}
    change.update(note="", fix="", before=None, after=None, via=actor.via, through_incident="")
    transaction.on_commit(lambda: ticket_changed.send(sender=Ticket, **change))


def runs_sla_clock(details: dict[str, Any] | None) -> bool:
    """False for a Service Health notice (a planned maintenance, an action required, a billing
    update: `SERVICE_HEALTH_NOTICE`) while notices page nobody (SERVICE_HEALTH_NOTICES_PAGE off): no
    response is asked of anyone, so its ticket has no SLA clock (no deadline, "No SLA"), and is
    neither Met nor Breached."""
    return not (
        (details or {}).get(SERVICE_HEALTH_NOTICE) and not settings.SERVICE_HEALTH_NOTICES_PAGE
    )


def _stop_sla_clock(ticket: Ticket, now: Any) -> None:
    """The response is in (acknowledged, or resolved before anyone acknowledged). A quiet
    Service Health notice has no clock (`runs_sla_clock`): it stays Pending, neither Met nor
    Breached, and counts in no SLA compliance. Any other ticket without a deadline is Met: one
    answered while it was a notice, then escalated (`_escalate_notice` starts no clock for an
    acknowledged one), or one with no deadline from an earlier release."""
    if ticket.sla_status != SlaStatus.PENDING:
        return
    if ticket.sla_deadline is None:
        if runs_sla_clock(ticket.details):
            ticket.sla_status = SlaStatus.MET
        return
    in_time = now <= ticket.sla_deadline
    ticket.sla_status = SlaStatus.MET if in_time else SlaStatus.BREACHED


def refused_action(action: str) -> str:
    """An action as a refusal names it: `start_progress` is what the API and the pages call take."""
    return "take" if action == "start_progress" else action.replace("_", " ")


def status_words(status: str) -> str:
    return status.replace("_", " ")


def _apply(ticket: Ticket, action: str, actor: Actor, now: Any) -> None:
    """Set the fields an action changes on a locked ticket (status included)."""
    was = ticket.status
    ticket.status = TRANSITIONS[action][1]
    # Both times count from opening, or from the last reopen of an answered ticket (by people
    # or a regression: the response it asks for again).
    opened = ticket.reopened_at or ticket.timestamp
    if action == "acknowledge":
        ticket.ack_ts = now
        ticket.ack_user = actor.name
        ticket.ack_seconds = max(0, int((now - opened).total_seconds()))
        _stop_sla_clock(ticket, now)
    elif action == "resolve":
        if ticket.details.get(DATABRICKS_REFETCH):
            # Its run is not read again: out of the sweep's index. Written apart (the saves
            # after `_apply` write no details).
            Ticket.objects.filter(pk=ticket.pk).drop_databricks_refetch()
            ticket.details = {**ticket.details, DATABRICKS_REFETCH: None}
        ticket.resolved_at = now
        ticket.resolved_by = actor.name
        ticket.resolve_seconds = max(0, int((now - opened).total_seconds()))
        _stop_sla_clock(ticket, now)
    elif action == "reopen":
        if was != Status.IN_PROGRESS:
            # Acknowledged or resolved: the times asked for again count from here. A taken
            # ticket, not answered yet, keeps where they count from, as it keeps its SLA clock.
            ticket.reopened_at = now
        ticket.ack_ts = None
        ticket.ack_user = ""
        ticket.ack_seconds = None
        if was == Status.RESOLVED:
            ticket.resolved_at = None
            ticket.resolved_by = ""
            ticket.resolve_seconds = None
            ticket.resolved_at_source_at = None
            if ticket.remediation_status == REMEDIATION_SUCCEEDED:
                # The fix its remediation made did not hold (it failed again, or people say it
                # is not fixed): "succeeded" would go on saying the rerun fixed it until a next
                # proposal, if any. The remediation itself keeps its outcome.
                ticket.remediation_status = ""
        no_clock_yet = ticket.sla_status == SlaStatus.PENDING and ticket.sla_deadline is None
        if ticket.sla_status == SlaStatus.MET or (no_clock_yet and runs_sla_clock(ticket.details)):
            # Answered in time, and now it needs an answer again: a fresh response clock from
            # the reopen, its priority's, as a regression gets (the old deadline, long passed,
            # breached it at once). A Breached stays Breached; a clock still running (a taken
            # ticket's) keeps its deadline. One with no clock (a quiet Service Health notice)
            # starts one only once it asks for a response (an outage now: `_escalate_notice`
            # in tickets/services.py).
            ticket.sla_status = SlaStatus.PENDING
            ticket.sla_deadline = now + timedelta(seconds=ticket.sla_seconds)


def transition(
    ticket_id: str,
    action: str,
    actor: Actor,
    *,
    note: str = "",
    details: dict[str, Any] | None = None,
    through_incident: str = "",
) -> Ticket:
    """Apply a lifecycle action (acknowledge, start_progress, resolve, reopen) under a row
    lock. `resolve()` is the way to resolve with a fix. `through_incident` (the incident
    acting on its members) goes out with `ticket_changing`:
    the ticket's incident follows a change made on a member itself (tickets/incidents.py
    `follow_member_change`: a reopen recounts its recovered members and reopens it when it
    was over or people owned it)."""
    if action not in TRANSITIONS:
        raise TransitionError(f"unknown action '{action}'")
    # Responders paste what they saw: the audit entry and what `announce` sends on (the JIRA
    # comment among it) get the note redacted.
    note = redact(note)
    allowed_from = TRANSITIONS[action][0]
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update(no_key=True).defer("embedding").get(pk=ticket_id)
        if ticket.status not in allowed_from:
            raise TransitionError(
                f"cannot {refused_action(action)} a ticket that is {status_words(ticket.status)}"
            )
        before = _snapshot(ticket)
        _apply(ticket, action, actor, timezone.now())
        ticket.save(update_fields=[*_TRACKED, "resolved_at_source_at", "reopened_at", "updated_at"])
        after = _snapshot(ticket)
        write_audit(
            ticket,
            actor,
            action,
            before=before,
            after=after,
            details={**({"note": note} if note else {}), **(details or {})} or None,
        )
        announce(
            ticket.pk,
            action,
            actor,
            note,
            before=before,
            after=after,
            through_incident=through_incident,
            # What fixed it (`resolve()`'s detail) goes out too: JIRA and Slack tell it.
            fix=str((details or {}).get("fix") or ""),
        )
    return ticket


def acknowledge(ticket_id: str, actor: Actor, *, note: str = "") -> Ticket:
    return transition(ticket_id, "acknowledge", actor, note=note)


def start_progress(ticket_id: str, actor: Actor, *, note: str = "") -> Ticket:
    return transition(ticket_id, "start_progress", actor, note=note)


def reopen(ticket_id: str, actor: Actor, *, note: str = "") -> Ticket:
    return transition(ticket_id, "reopen", actor, note=note)


def resolve(
    ticket_id: str,
    actor: Actor,
    *,
    note: str = "",
    fix: str = "",
    through_incident: str = "",
    fix_told_in: str = "",
) -> Ticket:
    """Resolve (fixed); what fixed it, when given, is kept as a `Resolution` for next time."""
    fix = redact(fix.strip())
    with transaction.atomic():
        ticket = transition(
            ticket_id,
            "resolve",
            actor,
            note=note,
            details={"fix": fix} if fix else None,
            through_incident=through_incident,
        )
        if fix:
            record_fix(
                ticket,
                fix,
                actor,
                note=note,
                through_incident=through_incident,
                told_in=fix_told_in,
            )
    return ticket


def record_fix(
    ticket: Ticket,
    fix: str,
    actor: Actor,
    *,
    note: str = "",
    through_incident: str = "",
    told_in: str = "",
) -> Resolution:
    """Keep what fixed the ticket's failure, with its fingerprint and embedding (the
    failure's, as the analysis made it), so the next failure like it can find it. `told_in`:
    the JIRA comment that told it (`Resolution.told_in`), whose edit edits it."""
    embedding = (
        Ticket.objects.filter(pk=ticket.pk).values_list("embedding", "embedding_model").first()
    )
    vector, model = embedding if embedding else (None, "")
    return Resolution.objects.create(
        ticket_id=ticket.pk,
        # Responders paste what they did; a password in it is never kept.
        fix=redact(fix)[:8000],
        note=redact(note)[:8000],
        resolved_by=actor.name,
        actor_kind=actor.kind,
        fingerprint=ticket.fingerprint,
        embedding=vector,
        embedding_model=model if vector is not None else "",
        through_incident=through_incident,
        told_in=told_in[:80],
    )


def regress(
    ticket_id: str,
    actor: Actor,
    *,
    occurrence_key: str,
    occurrence_count: int,
    join: Callable[[Ticket], str | None] | None = None,
) -> Ticket:
    """A repeat of a resolved failure: reopen the ticket as a regression with a fresh SLA
    clock (none for a quiet Service Health notice: `runs_sla_clock`).
    `join`: called with the reopened ticket before its change is announced; the incident it
    put the ticket in (`incidents.regress`), if any, is the change's `through_incident`."""
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update(no_key=True).defer("embedding").get(pk=ticket_id)
        before = _snapshot(ticket)
        episode_start = ticket.reopened_at or ticket.timestamp
        now = timezone.now()
        _apply(ticket, "reopen", actor, now)
        if ticket.remediation_status in ("resolved_at_source", REMEDIATION_SUCCEEDED):
            ticket.remediation_status = ""  # it fails again: neither holds any more
        ticket.regressed_at = now
        ticket.regression_count += 1
        ticket.sla_status = SlaStatus.PENDING
        ticket.sla_deadline = (
            now + timedelta(seconds=ticket.sla_seconds) if runs_sla_clock(ticket.details) else None
        )
        ticket.save(
            update_fields=[
                *_TRACKED,
                "resolved_at_source_at",
                "regressed_at",
                "reopened_at",
                "regression_count",
                "updated_at",
            ]
        )
        after = _snapshot(ticket)
        write_audit(
            ticket,
            actor,
            "regressed",
            before=before,
            after=after,
            details={
                "occurrence_key": occurrence_key,
                "occurrence_count": occurrence_count,
                "regression_count": ticket.regression_count,
            },
        )
        joined = join(ticket) if join is not None else None
        note = _regression_note(ticket, episode_start)
        announce(
            ticket.pk,
            "regressed",
            actor,
            note,
            before=before,
            after=after,
            through_incident=joined or "",
        )
    return ticket


def _regression_note(ticket: Ticket, episode_start: datetime) -> str:
    """What a regression tells (its JIRA comment and Slack thread reply): the fix
    recorded for the resolve it undoes (since `episode_start`, the ticket's opening or last
    reopen) did not hold; a fix of an earlier resolve was told at the regression that undid
    that one. The ticket's "Last time" (`details.previous_fixes`, which the Slack alert and the
    JIRA issue lead with) is read again to say so: its analysis, before that fix was recorded,
    found none."""
    from tickets.resolutions import previous_fixes  # it imports this module

    fixes = previous_fixes(ticket)
    ticket.details = {**ticket.details, "previous_fixes": [fix.as_dict() for fix in fixes]}
    if not fixes:
        ticket.details.pop("previous_fixes")
    Ticket.objects.filter(pk=ticket.pk).update(details=ticket.details)
    note = "The failure came back after it was resolved."
    own = (
        Resolution.objects.usable()
        .filter(ticket_id=ticket.pk, created_at__gte=episode_start)
        .defer("embedding")
        .first()
    )
    if own is None:
        return note
    return f"{note} {fix_did_not_hold(own)}"


def fix_did_not_hold(fix: Resolution) -> str:
    """What a failure coming back after a resolve says of the fix recorded with it: a ticket's
    regression (`_regression_note`), an incident's outage back (`incidents._reopen_for`)."""
    day = fix.created_at.date().isoformat()
    return f"The fix recorded then did not hold ({fix.resolved_by}, {day}): {fix.fix}"


# `Ticket.remediation_status` of a remediation that succeeded (integrations' RemediationStatus).
REMEDIATION_SUCCEEDED = "succeeded"


def resolve_at_source(ticket: Ticket, actor: Actor, *, details: dict[str, Any]) -> Ticket:
    """The source reported the failure over (ADF run succeeded, Databricks success, Azure
    alert resolved). Called with the ticket locked.

    With RESOLVE_ON_SOURCE_RECOVERY (the default) an unresolved ticket is resolved with the
    source as its actor, which stops its clock. A ticket a responder already resolved keeps
    that resolution, and the fixes recorded on it are verified: the pipeline succeeded again.
    Its `remediation_status` becomes the marker `resolved_at_source`, unless the ticket is
    resolved and its remediation succeeded: the source reporting the rerun over is that
    success, which the status keeps saying.
    """
    now = timezone.now()
    before = _snapshot(ticket)
    ticket.resolved_at_source_at = now
    if not (
        ticket.status == Status.RESOLVED and ticket.remediation_status == REMEDIATION_SUCCEEDED
    ):
        ticket.remediation_status = "resolved_at_source"
    resolving = settings.RESOLVE_ON_SOURCE_RECOVERY and ticket.status != Status.RESOLVED
    if resolving:
        _apply(ticket, "resolve", actor, now)
    ticket.save(update_fields=[*_TRACKED, "resolved_at_source_at", "updated_at"])
    verified = Resolution.objects.filter(
        ticket_id=ticket.pk, verified_at__isnull=True, created_at__lte=now
    ).update(verified_at=now)
    after = _snapshot(ticket)
    write_audit(
        ticket,
        actor,
        "resolved at source",
        before=before,
        after=after,
        details={**details, **({"fixes_verified": verified} if verified else {})},
    )
    action = "resolve" if resolving else "resolved_at_source"
    announce(ticket.pk, action, actor, before=before, after=after)
    return ticket


def mark_sla_breaches(now: Any = None) -> int:
    """Mark every overdue, unacknowledged ticket Breached; returns how many were marked."""
    now = now or timezone.now()
    marked = 0
    with transaction.atomic():
        overdue = list(
            Ticket.objects.sla_overdue(now).select_for_update(skip_locked=True, no_key=True)[:500]
        )
        for ticket in overdue:
            assert ticket.sla_deadline is not None  # sla_overdue() selects on the deadline
            ticket.sla_status = SlaStatus.BREACHED
            ticket.save(update_fields=["sla_status", "updated_at"])
            write_audit(
                ticket,
                Actor.system("sla"),
                "sla breached",
                before={"sla_status": SlaStatus.PENDING},
                after={"sla_status": SlaStatus.BREACHED},
                details={"deadline": utc_text(ticket.sla_deadline)},
            )
            announce(ticket.pk, "sla_breached", Actor.system("sla"))
            marked += 1
    SLA_BREACHES.inc(marked)
    return marked
