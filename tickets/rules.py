"""Ownership, SLA, suppression and severity rules.

Rules are read on every ingest, so they are cached per process for a few seconds; an admin
change reaches every process within `RULE_CACHE_SECONDS`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from analysis.redaction import REDACTED, REDACTED_EMAIL
from tickets import lifecycle
from tickets.lifecycle import Actor
from tickets.models import AuditLog, OwnershipRule, SlaPolicy, SuppressionRule, Ticket
from tickets.vocabulary import ErrorClass, Priority, Severity, SlaStatus

RULE_CACHE_SECONDS = 5.0

DEFAULT_SLA_SECONDS = {
    Priority.P1: 15 * 60,
    Priority.P2: 60 * 60,
    Priority.P3: 4 * 60 * 60,
    Priority.P4: 24 * 60 * 60,
}

SEVERITY_PRIORITY = {
    Severity.CRITICAL: Priority.P1,
    Severity.HIGH: Priority.P2,
    Severity.MEDIUM: Priority.P3,
    Severity.LOW: Priority.P4,
}

# The severity a failure of each class gets when its source says nothing.
ERROR_CLASS_SEVERITY: dict[str, Severity] = {
    ErrorClass.AUTHENTICATION: Severity.HIGH,
    ErrorClass.RESOURCE_EXHAUSTION: Severity.HIGH,
    ErrorClass.DATABASE: Severity.HIGH,
    ErrorClass.DATA: Severity.MEDIUM,
    ErrorClass.NETWORK: Severity.MEDIUM,
    ErrorClass.TIMEOUT: Severity.MEDIUM,
    ErrorClass.EXTERNAL_SERVICE: Severity.MEDIUM,
    ErrorClass.CONFIGURATION: Severity.MEDIUM,
    ErrorClass.CODE: Severity.MEDIUM,
    ErrorClass.UNKNOWN: Severity.MEDIUM,
}

T = TypeVar("T")
_cache: dict[str, tuple[float, object]] = {}


def cached(name: str, load: Callable[[], T]) -> T:
    now = time.monotonic()
    hit = _cache.get(name)
    if hit and now - hit[0] < RULE_CACHE_SECONDS:
        return hit[1]  # type: ignore[return-value]
    value = load()
    _cache[name] = (now, value)
    return value


def clear_rule_cache() -> None:
    _cache.clear()


@dataclass(frozen=True)
class Ownership:
    finops_team: str
    finops_owner: str
    finops_cost_center: str
    slack_channel: str = ""
    jira_project: str = ""


# Airflow's own default for a task's `owner` (`default_args` without one): it names nobody.
AIRFLOW_DEFAULT_OWNER = "airflow"


def resolve_ownership(source: str, pipeline: str, declared_owner: str = "") -> Ownership:
    """The first enabled ownership rule matching the pipeline's; else the defaults, with the
    owner the failure declares (an Airflow task's `owner`, a Databricks run's creator) in place
    of DEFAULT_FINOPS_OWNER."""
    rules = cached("ownership", lambda: list(OwnershipRule.objects.filter(enabled=True)))
    for rule in rules:
        if rule.matches(source, pipeline):
            return Ownership(
                finops_team=rule.finops_team,
                finops_owner=rule.finops_owner,
                finops_cost_center=rule.finops_cost_center,
                slack_channel=rule.slack_channel,
                jira_project=rule.jira_project,
            )
    declared_owner = declared_owner.strip()[:200]
    if declared_owner.lower() == AIRFLOW_DEFAULT_OWNER:
        declared_owner = ""
    return Ownership(
        finops_team=settings.DEFAULT_FINOPS_TEAM,
        finops_owner=declared_owner or settings.DEFAULT_FINOPS_OWNER,
        finops_cost_center=settings.DEFAULT_FINOPS_COST_CENTER,
    )


def matching_suppression(source: str, pipeline: str, at: datetime) -> SuppressionRule | None:
    rules = cached("suppression", lambda: list(SuppressionRule.objects.filter(enabled=True)))
    for rule in rules:
        if rule.active_at(at) and rule.matches(source, pipeline):
            return rule
    return None


def sla_seconds_for(priority: str) -> int:
    policies = cached("sla", lambda: dict(SlaPolicy.objects.values_list("priority", "seconds")))
    return policies.get(priority, DEFAULT_SLA_SECONDS[Priority(priority)])


SEVERITY_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}


def severity_for(
    severity_hint: str | None, error_type: str, *, stated_is_final: bool = False
) -> Severity:
    """One severity for one failure, whichever way it arrives: the error class's severity,
    raised to the source's own when the source says more (Azure Sev0-4, an ADF body's
    `severity`). The source's severity is a floor, never a ceiling: an alert rule's default
    Sev3 does not make a failed SQL login Low when the ADF webhook would make it High.

    `stated_is_final`: an Azure alert that is no pipeline failure has no error to class, only
    the service's own account of the alert, whose words ("database", "memory") would otherwise
    raise a Sev4 alert to High; the severity its rule gives is then the ticket's."""
    by_class = ERROR_CLASS_SEVERITY.get(error_type, Severity.MEDIUM)
    if not severity_hint:
        return by_class
    if stated_is_final:
        return Severity(severity_hint)
    by_source = Severity(severity_hint)
    return max(by_class, by_source, key=SEVERITY_RANK.__getitem__)


def priority_for(severity: str) -> Priority:
    return SEVERITY_PRIORITY[Severity(severity)]


def severity_raised_by_class(ticket: Ticket, error_type: str) -> dict[str, Any]:
    """The severity, priority and SLA fields to change on a ticket whose error text arrived
    after it was created (a Databricks notification or an ADF metric alert carries none, so it
    was classed Unknown): its severity raised to that of the class its text has. Never lowered:
    the source's own severity, a floor, may be what set it. Empty when nothing changes.

    The SLA is the new priority's, counted from when its clock started (the ticket's creation,
    or its regression's restart), while that clock runs; one already decided (Met or Breached:
    acknowledged or resolved before the text came, as a forced re-analysis finds it) is kept."""
    return severity_raised_to(ticket, ERROR_CLASS_SEVERITY.get(error_type, Severity.MEDIUM))


def severity_raised_to(ticket: Ticket, severity: Severity) -> dict[str, Any]:
    """The severity, priority and SLA fields to change on a ticket whose severity is raised to
    `severity` (never lowered), as `severity_raised_by_class` raises it; empty when nothing
    changes."""
    if SEVERITY_RANK[severity] <= SEVERITY_RANK[Severity(ticket.severity)]:
        return {}
    priority = priority_for(severity)
    raised: dict[str, Any] = {"severity": severity, "priority": priority}
    if ticket.sla_status != SlaStatus.PENDING:
        return raised
    sla_seconds = sla_seconds_for(priority)
    if ticket.sla_deadline is None:
        # No clock runs (a quiet Service Health notice: `lifecycle.runs_sla_clock`): none
        # starts with the raise.
        return {**raised, "sla_seconds": sla_seconds}
    started = ticket.sla_deadline - timedelta(seconds=ticket.sla_seconds)
    return {
        **raised,
        "sla_seconds": sla_seconds,
        "sla_deadline": started + timedelta(seconds=sla_seconds),
    }


OWNER_FIELDS = ("finops_team", "finops_owner", "finops_cost_center")


# In a Databricks ticket's details: the owner its fetched run's creator names
# (`databricks_run_owner`), kept so that a re-route finds it as it finds an Airflow task's.
RUN_OWNER = "run_owner"

_APPLICATION_ID = re.compile(r"[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}", re.IGNORECASE)


def declared_owner(source: str, details: dict[str, Any]) -> str:
    """The owner a failure names itself: an Airflow task's `owner` (kept in its details), unless
    ingest redacted it (an email, a credential): the placeholder left names nobody; the one a
    Databricks run names once it was fetched, its job's run-as user or its creator
    (`RUN_OWNER`)."""
    key = {"airflow": "owner", "databricks": RUN_OWNER}.get(source)
    owner = details.get(key, "") if key else ""
    if not isinstance(owner, str) or REDACTED in owner or REDACTED_EMAIL in owner:
        return ""
    return owner


def databricks_run_owner(user_name: str) -> str:
    """The owner a Databricks user name names (a run's `creator_user_name`, runs/get; the
    `run_as_user_name` of its job, jobs/get): a workspace user's is their e-mail, of which the
    name before the `@` is kept (no ticket holds an e-mail address: they are redacted wherever
    they arrive); a service principal's is its application id (a UUID), which names nobody to
    call: ""."""
    user_name = user_name.strip()
    if _APPLICATION_ID.fullmatch(user_name):
        return ""
    return user_name.partition("@")[0].strip()[:200]


def route_to_declared_owner(ticket: Ticket, actor: Actor, **why: Any) -> bool:
    """Give the ticket the owner its failure turned out to declare after it was created (a
    Databricks job's run-as user or its run's creator, known once the run is fetched), as
    `resolve_ownership` would have
    at its creation: only where no ownership rule matches, the ticket still has the default
    owner, and nobody re-routed it (a re-route, people's or this one, stays). A re-route: the
    audit entry (`why` in its details) and the announcement (`lifecycle.REROUTED`: the JIRA
    issue and Slack alert already made, and the dashboard, show the new owner). Inside the
    caller's transaction. True when the owner changed."""
    owner = declared_owner(ticket.source, ticket.details)
    if not owner or ticket.finops_owner != settings.DEFAULT_FINOPS_OWNER:
        return False
    if resolve_ownership(ticket.source, ticket.pipeline, owner).finops_owner != owner:
        return False  # a rule matches, or the name is one that names nobody
    if AuditLog.objects.filter(ticket_id=ticket.pk, action=lifecycle.REROUTED).exists():
        return False
    changed = Ticket.objects.filter(pk=ticket.pk, finops_owner=ticket.finops_owner).update(
        finops_owner=owner, updated_at=timezone.now()
    )
    if not changed:
        return False
    before, ticket.finops_owner = ticket.finops_owner, owner
    lifecycle.write_audit(
        ticket,
        actor,
        lifecycle.REROUTED,
        before={"finops_owner": before},
        after={"finops_owner": owner},
        details=why,
    )
    lifecycle.announce(ticket.pk, lifecycle.REROUTED, actor)
    return True


def reroute_unpaged(ticket: Ticket, actor: Actor) -> bool:
    """Apply the current ownership rules to a ticket not fully paged; True when it changed.
    The Slack channel changes only while no alert was posted, the JIRA project only while no
    issue exists: each by a conditional UPDATE, so a delivery that lands meanwhile keeps what
    it wrote (the posted channel's id, the issue's key). The change is announced
    (`lifecycle.REROUTED`): the issue or alert already made shows the new team and owner, and
    so does the dashboard."""
    owner = resolve_ownership(
        ticket.source, ticket.pipeline, declared_owner(ticket.source, ticket.details)
    )
    before = {name: getattr(ticket, name) for name in OWNER_FIELDS}
    after = {name: getattr(owner, name) for name in OWNER_FIELDS}
    if not ticket.slack_ts:
        before["slack_channel"], after["slack_channel"] = ticket.slack_channel, owner.slack_channel
    if not ticket.itsm_ticket_id:
        before["jira_project"], after["jira_project"] = ticket.jira_project, owner.jira_project
    if before == after:
        return False
    this = Ticket.objects.filter(pk=ticket.pk)
    with transaction.atomic():
        owned = {name: after[name] for name in OWNER_FIELDS}
        this.update(**owned, updated_at=timezone.now())
        # Where a delivery landed since the ticket was read, its routing stays (and the audit
        # says so).
        if "slack_channel" in after and not this.filter(slack_ts="").update(
            slack_channel=after["slack_channel"]
        ):
            after["slack_channel"] = before["slack_channel"]
        if "jira_project" in after and not this.filter(itsm_ticket_id="").update(
            jira_project=after["jira_project"]
        ):
            after["jira_project"] = before["jira_project"]
        lifecycle.write_audit(
            ticket,
            actor,
            lifecycle.REROUTED,
            before=before,
            after=after,
            details={"via": "admin"},
        )
        lifecycle.announce(ticket.pk, lifecycle.REROUTED, actor)
    return True
