"""The ticket lifecycle: every state change goes through here, is checked, and is audited.

Changes are announced with the `ticket_changed` signal after the transaction commits, so the
fan-out (JIRA, Slack, dashboard) reacts only to changes that really happened. The signal carries
the actor, which lets a receiver ignore changes its own target caused (no echo loops).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from rca_project.observability import SLA_BREACHES
from tickets.models import ActorKind, AuditLog, SlaStatus, Status, Ticket

# Sent on commit with: ticket_id, action, actor (an Actor), note.
ticket_changed = Signal()


class TransitionError(Exception):
    """The requested change is not allowed from the ticket's current state."""


@dataclass(frozen=True)
class Actor:
    kind: str
    name: str
    user: User | None = None

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(ActorKind.SYSTEM, name)

    @classmethod
    def for_user(cls, user: User) -> Actor:
        return cls(ActorKind.USER, user.get_username(), user)

    @classmethod
    def source(cls, name: str) -> Actor:
        return cls(ActorKind.SOURCE, name)


# action -> (states it may start from, state it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "acknowledge": (frozenset({Status.OPEN, Status.IN_PROGRESS}), Status.ACKNOWLEDGED),
    "start_progress": (frozenset({Status.OPEN}), Status.IN_PROGRESS),
    "reopen": (frozenset({Status.ACKNOWLEDGED, Status.IN_PROGRESS}), Status.OPEN),
}

_TRACKED = ("status", "sla_status", "ack_ts", "ack_user", "ack_seconds", "remediation_status")


def _snapshot(ticket: Ticket) -> dict[str, Any]:
    values = {name: getattr(ticket, name) for name in _TRACKED}
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in values.items()}


def write_audit(
    ticket: Ticket,
    actor: Actor,
    action: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> AuditLog:
    changed_before = before or {}
    changed_after = after or {}
    if before is not None and after is not None:
        keys = [k for k in after if before.get(k) != after.get(k)]
        changed_before = {k: before.get(k) for k in keys}
        changed_after = {k: after[k] for k in keys}
    return AuditLog.objects.create(
        ticket=ticket,
        actor_kind=actor.kind,
        actor_name=actor.name,
        user=actor.user if actor.user is not None and actor.user.pk else None,
        action=action,
        before=changed_before,
        after=changed_after,
        details=details or {},
    )


def announce(ticket_id: str, action: str, actor: Actor, note: str = "") -> None:
    transaction.on_commit(
        lambda: ticket_changed.send(
            sender=Ticket, ticket_id=ticket_id, action=action, actor=actor, note=note
        )
    )


def transition(ticket_id: str, action: str, actor: Actor, *, note: str = "") -> Ticket:
    """Apply a lifecycle action (acknowledge, start_progress, reopen) under a row lock."""
    if action not in TRANSITIONS:
        raise TransitionError(f"unknown action '{action}'")
    allowed_from, target = TRANSITIONS[action]
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket_id)
        if ticket.status not in allowed_from:
            raise TransitionError(
                f"cannot {action.replace('_', ' ')} a ticket that is {ticket.status}"
            )
        before = _snapshot(ticket)
        now = timezone.now()
        ticket.status = target
        if action == "acknowledge":
            ticket.ack_ts = now
            ticket.ack_user = actor.name
            ticket.ack_seconds = max(0, int((now - ticket.timestamp).total_seconds()))
            if ticket.sla_status == SlaStatus.PENDING:
                in_time = ticket.sla_deadline is None or now <= ticket.sla_deadline
                ticket.sla_status = SlaStatus.MET if in_time else SlaStatus.BREACHED
        elif action == "reopen":
            ticket.ack_ts = None
            ticket.ack_user = ""
            ticket.ack_seconds = None
            if ticket.sla_status == SlaStatus.MET:
                ticket.sla_status = SlaStatus.PENDING
        ticket.save(update_fields=[*_TRACKED, "updated_at"])
        write_audit(
            ticket,
            actor,
            action,
            before=before,
            after=_snapshot(ticket),
            details={"note": note} if note else None,
        )
        announce(ticket.pk, action, actor, note)
    return ticket


def acknowledge(ticket_id: str, actor: Actor, *, note: str = "") -> Ticket:
    return transition(ticket_id, "acknowledge", actor, note=note)


def start_progress(ticket_id: str, actor: Actor, *, note: str = "") -> Ticket:
    return transition(ticket_id, "start_progress", actor, note=note)


def reopen(ticket_id: str, actor: Actor, *, note: str = "") -> Ticket:
    return transition(ticket_id, "reopen", actor, note=note)


def resolve_at_source(ticket: Ticket, actor: Actor, *, details: dict[str, Any]) -> Ticket:
    """The source reported the failure over (Azure Resolved, Databricks success).

    The ticket keeps its triage status (someone may still want to know why it failed);
    it stops correlating new failures and shows it resolved.
    """
    before = _snapshot(ticket)
    ticket.resolved_at_source_at = timezone.now()
    ticket.remediation_status = "resolved_at_source"
    ticket.save(update_fields=["resolved_at_source_at", "remediation_status", "updated_at"])
    write_audit(
        ticket, actor, "resolved at source", before=before, after=_snapshot(ticket), details=details
    )
    announce(ticket.pk, "resolved_at_source", actor)
    return ticket


def mark_sla_breaches(now: Any = None) -> int:
    """Mark every overdue, unacknowledged ticket Breached; returns how many were marked."""
    now = now or timezone.now()
    marked = 0
    with transaction.atomic():
        overdue = list(Ticket.objects.sla_overdue(now).select_for_update(skip_locked=True)[:500])
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
                details={"deadline": ticket.sla_deadline.isoformat()},
            )
            announce(ticket.pk, "sla_breached", Actor.system("sla"))
            marked += 1
    SLA_BREACHES.inc(marked)
    return marked
