"""Remediation: fix what the policy says is safe to fix, ask before the rest, never into an outage.

A new, analysed ticket, and one a regression reopened, is matched against the
`RemediationPolicy` rules (`propose`); a regression is decided anew, its remediations counted
from the regression on (`this_episode`), and one that came while a remediation of the ticket
was active is matched as that one ends (`finish`). The first
enabled rule that matches decides the action and the mode, which the RCA's confidence can only
lower: at or above the rule's `auto_min_confidence` automatically, from
`approval_min_confidence` after a responder approves, below that never. A dry-run rule records
what it would have done and does nothing.

A remediation's status (mirrored on `Ticket.remediation_status`) moves
proposed -> awaiting_approval -> running -> succeeded / failed, or ends declined, expired or
skipped (with the reason). One about to start (automatic, or just approved) that a hold check
holds goes to held instead of running, and from held to running once released (or to skipped,
when its run recovered, its ticket closed, or its policy was switched off or set to another
action meanwhile, or no longer covers an automatic one's ticket or confidence; under a policy
switched to dry run, skipped as what it would have run; an
automatic one whose policy now asks for approval, to awaiting_approval: `policy_now`, the one
check of the policy as it is now, which a retry and an approval ask too). People switching a
policy off (disabled, set to never or to another action, deleted) skip its remediations
awaiting approval or held at once (`skip_switched_off`, a task sent as the change commits,
`integrations.signals`), with the reason `policy_now` gives; locked as an approval locks (the
remediation, its ticket, its policy), so the two wait for each other and never deadlock.
A run has at most one active remediation: a partial unique constraint on `run_key` decides
between concurrent proposals, not a read-then-write.

Lock order, in every transaction taking several: remediations, then their ticket, then
policies (by id, `lock_policies`). A proposal holds its policy `FOR KEY SHARE` and a retry
its `FOR NO KEY UPDATE` until the remediation inserted under it commits, and deleting policies
(`delete_policies`: its remediations, then the policies `FOR UPDATE`) waits for them, so that
it unlinks that remediation too, or the proposal finds the policy gone and decides again.

The action itself is a delivery of a remediation target (integrations/targets/adf_rerun.py,
databricks_repair.py, airflow_clear.py, playbook.py) through the delivery engine, so each
target has its own queue, its recorded attempts and its circuit breaker. The target reports the
outcome back here (`record_started`, `finish`); so do the playbook's callback and the source's
own success webhook.

Holds: before a remediation starts, every registered hold check is asked whether the ticket is
held (`register_hold_check`); the incidents feature registers one that holds the members of an
open incident while its culprit is still failing. Held remediations wait until
`release_held` reruns them in batches of REMEDIATION_BATCH_SIZE, each batch after the previous
one has finished (beat's `sweep` starts a next batch whose start was lost).
"""

from __future__ import annotations

import fnmatch
import logging
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, Max, OuterRef, Q, QuerySet
from django.utils import timezone

from analysis.redaction import redact, redacted_head
from analysis.rules import USER_ERROR_NOTE, build_rule_rca
from integrations import fanout
from integrations import targets as registry
from integrations.models import (
    ACTIVE_REMEDIATION,
    LEFT_OPEN,
    NO_NEXT_ATTEMPT,
    RESOLVED_BEFORE,
    OutboundDelivery,
    OutboundStatus,
    Remediation,
    RemediationAction,
    RemediationMode,
    RemediationPolicy,
    RemediationStatus,
)
from integrations.parsers.airflow import task_run_key
from rca_project.celery import DATABASE_UNAVAILABLE
from tickets import lifecycle
from tickets.lifecycle import Actor
from tickets.models import ActorKind, Incident, Status, Ticket
from tickets.vocabulary import FAILING_MAP_INDEXES, Source

logger = logging.getLogger(__name__)

# The remediation target's first action for each policy action (its other actions follow).
START_ACTION = {
    "adf_rerun": "adf_rerun",
    "databricks_repair": "databricks_repair",
    "databricks_restart": "databricks_restart",
    "airflow_clear": "airflow_clear",
    "playbook": "playbook",
}


def not_configured(action: str) -> str:
    """Why a policy's action cannot be carried out here ('' when its target is configured):
    nothing is proposed, or asked for, that could only be skipped once approved."""
    target = registry.target_of(START_ACTION[action])
    if target.configured is not None:
        ready = target.configured()
    else:
        ready = fanout.transport_for(target.name) is not None
    return "" if ready else target.not_configured


def cannot_run(action: str, ticket: Ticket) -> str:
    """Why a policy's action cannot be carried out on the ticket's run here ('' when it can):
    its target is not configured (`not_configured`), or cannot reach that run (an Airflow
    clear of a task that ran on another deployment): it is skipped, not asked for."""
    missing = not_configured(action)
    if missing:
        return f"not configured: {missing}"
    target = registry.target_of(START_ACTION[action])
    elsewhere = target.unreachable(run_entity(ticket)) if target.unreachable else ""
    return f"cannot run here: {elsewhere}" if elsewhere else ""


class RemediationError(Exception):
    """The requested change does not apply (not awaiting approval, expired, unknown)."""


# --- holds ---------------------------------------------------------------------------------------

HoldCheck = Callable[[Ticket], str | None]
_hold_checks: dict[str, HoldCheck] = {}


def register_hold_check(name: str, check: HoldCheck) -> None:
    """Add (or replace) a check that says why a ticket must not be remediated now (None: it
    may). The incidents feature registers one for members of an incident whose culprit is
    still failing."""
    _hold_checks[name] = check


def unregister_hold_check(name: str) -> None:
    _hold_checks.pop(name, None)


def hold_incident_members(ticket: Ticket) -> str | None:
    """A member of an open incident waits while its culprit is still failing: no member of the
    incident has recovered at its source yet, nor had a rerun succeed since it last failed
    (`member_rerun_succeeded`). `release_held` reruns them once one has."""
    if not ticket.incident_id:
        return None
    incident = Incident.objects.filter(pk=ticket.incident_id).only("status", "recovered_count")
    current = incident.first()
    if current is None or current.status == Status.RESOLVED or current.recovered_count > 0:
        return None
    if member_rerun_succeeded(ticket.incident_id):
        return None
    return f"member of incident {ticket.incident_id}: culprit still failing"


def member_rerun_succeeded(incident_id: str) -> bool:
    """A member's run, rerun by a remediation, succeeded after the member last failed: the
    culprit served it, as it serves a member that recovers at its source. A success on a run
    that was no longer its ticket's latest (`LEFT_OPEN`) proves nothing of now."""
    return (
        Remediation.objects.filter(
            ticket__incident_id=incident_id,
            status=RemediationStatus.SUCCEEDED,
            finished_at__gte=F("ticket__last_seen"),
        )
        .exclude(details__has_key=LEFT_OPEN)
        .exists()
    )


def release_incident(incident_id: str) -> None:
    """A member's rerun succeeded: the incident's held remediations run, in batches, as on a
    member's recovery at its source. The ended remediation is committed, so a failure here is
    logged and leaves them held."""
    try:
        release_held(
            list(Ticket.objects.filter(incident_id=incident_id).values_list("pk", flat=True))
        )
    except Exception:
        logger.exception("could not release the held remediations of %s", incident_id)


def held_by(ticket: Ticket) -> str | None:
    """Why the ticket is held, or None."""
    for check in list(_hold_checks.values()):
        reason = check(ticket)
        if reason:
            return reason
    return None


# --- policy --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyDecision:
    policy: RemediationPolicy
    mode: str  # RemediationMode
    reason: str


def matches(policy: RemediationPolicy, ticket: Ticket) -> bool:
    return not mismatch(policy, ticket)


def mismatch(policy: RemediationPolicy, ticket: Ticket) -> str:
    """Why the policy does not cover the ticket ('' when it does: `matches`)."""
    error_classes, sources = _listed(policy.error_classes), _listed(policy.sources)
    if error_classes and ticket.error_type not in error_classes:
        return f"its error class {ticket.error_type} is not one of the policy's"
    if sources and ticket.source not in sources:
        return f"its source {ticket.source} is not one of the policy's"
    glob = policy.pipeline_glob or "*"
    if not fnmatch.fnmatchcase(ticket.pipeline, glob):
        return f"its pipeline {ticket.pipeline} does not match '{glob}'"
    if _listed(policy.signals) and not matched_signal(policy, ticket):
        return "its error message contains none of the policy's signals"
    return ""


def _listed(value: Any) -> list[Any]:
    """A policy's list field as a list. The admin form refuses anything else
    (`models.validate_signals` and its kin), but a policy written otherwise (the ORM, a
    fixture) may hold a bare value: that is one item, not a string's characters (each a
    signal in nearly every message) nor its substrings (error classes)."""
    if isinstance(value, list):
        return value
    return [value] if value else []


# What a Databricks error lists after its first task's: the run's other failed tasks
# (`analysis.enrichment._databricks_message`), "Also FAILED: task 't03': ...".
_OTHER_TASKS = re.compile(r"^Also [A-Z_]+: task '", re.MULTILINE)


def _own_error(ticket: Ticket) -> str:
    """The error a policy's signals are matched in: of a Databricks task's ticket, its task's
    own, without the run's other failed tasks its error lists (those failing alike are
    counted on it, and in its own words; those failing otherwise are tickets of their own,
    with their own proposals); of any other ticket (a job's own included), its whole error."""
    message = ticket.error_message
    if ticket.source == Source.DATABRICKS and (ticket.affected_entity or {}).get("task_key"):
        others = _OTHER_TASKS.search(message)
        if others is not None:
            return message[: others.start()]
    return message


def matched_signal(policy: RemediationPolicy, ticket: Ticket) -> str:
    """The first of the policy's signals the ticket's error contains ('' for none, or a policy
    with no signals)."""
    message = _signal_text(_own_error(ticket))
    signals = [str(s) for s in _listed(policy.signals) if str(s).strip()]
    return next((s for s in signals if _signal_text(s) in message), "")


def despite_user_error(
    policy: RemediationPolicy, ticket: Ticket, *, done: str = "proposed anyway"
) -> str:
    """Why a rerun is proposed for a failure whose rule-based RCA says Data Factory reports a
    user error that a rerun without a change will likely not fix ('' when the RCA does not say
    so, or the action is no rerun). Both stand: Data Factory reports connection failures as user
    errors too (`UserErrorFailedToConnectToSelfHostedIR`, a refused connection), which may pass,
    and the policy covers them (the shipped one by signals such as "connection refused"); the
    proposal's reason says why it is made, so that the ticket does not tell on-call two
    contradictory things. `done`: what the policy did anyway (in a dry run "would be
    proposed anyway")."""
    if policy.action != RemediationAction.ADF_RERUN or USER_ERROR_NOTE not in ticket.rca_result:
        return ""
    signal = matched_signal(policy, ticket)
    covered = (
        f"its error names '{signal[:100]}', one of the policy's signals"
        if signal
        else "the policy covers its failure"
    )
    return (
        "Data Factory reports a user error (the RCA: a rerun without a change will likely fail "
        f"again), {done} as {covered}: a rerun helps only if that cause has passed"
    )


def _signal_text(text: str) -> str:
    """Text as signals are matched: case-insensitive, an underscore read as a space, so that
    "cloud provider launch failure" matches Databricks' CLOUD_PROVIDER_LAUNCH_FAILURE."""
    return text.lower().replace("_", " ")


def analysis_confidence(ticket: Ticket) -> float | None:
    """The confidence of the ticket's analysis. A member of an incident is not analysed on its
    own: it carries the incident's analysis and its confidence; the rule-based shared cause
    carries none, so such a member has the rules' confidence for its error (the lead of a
    storm is usually a member before its own analysis would run)."""
    if ticket.confidence is not None or not ticket.incident_id:
        return ticket.confidence
    return build_rule_rca(
        ticket.error_type,
        ticket.error_message,
        pipeline=ticket.pipeline,
        source=ticket.source,
        details=ticket.details,
    ).confidence


def enabled_policies() -> list[RemediationPolicy]:
    return list(RemediationPolicy.objects.filter(enabled=True))


def decide(
    ticket: Ticket,
    confidence: float | None = None,
    policies: Sequence[RemediationPolicy] | None = None,
) -> PolicyDecision | None:
    """The first enabled policy that matches, and the mode the confidence (by default the
    ticket's own) allows; None when no policy covers the ticket. `policies`: the enabled
    ones, when the caller has read them already (for a batch of tickets)."""
    if confidence is None:
        confidence = ticket.confidence
    for policy in enabled_policies() if policies is None else policies:
        if matches(policy, ticket):
            return policy_decision(policy, confidence)
    return None


def policy_decision(policy: RemediationPolicy, confidence: float | None) -> PolicyDecision:
    """The mode the policy allows at this confidence (none counts as 0): its own mode, which
    the confidence can only lower. `decide` asks it of the matching policy, and `policy_now`
    of a held automatic remediation's policy as it is at its release."""
    confidence = confidence if confidence is not None else 0.0
    if policy.mode == RemediationMode.NEVER:
        return PolicyDecision(policy, RemediationMode.NEVER, f"policy '{policy.name}': never")
    if confidence < policy.approval_min_confidence:
        reason = (
            f"confidence {confidence:.2f} is below {policy.approval_min_confidence:.2f} "
            f"(policy '{policy.name}')"
        )
        return PolicyDecision(policy, RemediationMode.NEVER, reason)
    if policy.mode == RemediationMode.AUTO and confidence >= policy.auto_min_confidence:
        reason = f"policy '{policy.name}', confidence {confidence:.2f}"
        return PolicyDecision(policy, RemediationMode.AUTO, reason)
    reason = f"policy '{policy.name}', confidence {confidence:.2f}: needs approval"
    return PolicyDecision(policy, RemediationMode.APPROVAL, reason)


def _rerunnable_run(ticket: Ticket) -> dict[str, Any]:
    """`Ticket.latest_run`, or, while the latest failure is a try Airflow retries by itself
    (nothing of it failed to rerun yet), the run kept for a remediation meanwhile (`rerun`;
    none after a resolve: `nothing_failed_yet`)."""
    latest = ticket.latest_run or {}
    return dict(latest.get("rerun") or latest)


def run_key(ticket: Ticket) -> str:
    """The run a remediation acts on: the latest failed run counted on the ticket
    (`Ticket.latest_run`, set when a failure recurs; not a try Airflow still retries), else
    the ticket's own (its dedup key, which names the source's run)."""
    return str(_rerunnable_run(ticket).get("run_key") or ticket.run_id)


def same_run(one: str, other: str) -> bool:
    """Whether two run keys name one run: a Databricks task's key is its job run's with the
    task after a colon (`databricks:W:R:task`), and a job's and its task's notification of one
    run are one failure; the mapped instances of an Airflow task in one DAG run are that run
    (`task_run_key`)."""
    one, other = task_run_key(one), task_run_key(other)
    return one == other or one.startswith(f"{other}:") or other.startswith(f"{one}:")


def run_entity(ticket: Ticket) -> dict[str, Any]:
    """The source's names for that run (factory and run id, Databricks run, DAG run and task):
    the latest failure's resource, else the ticket's `affected_entity`."""
    latest = _rerunnable_run(ticket)
    if latest.get("run_key"):
        return dict(latest.get("entity") or {})
    return dict(ticket.affected_entity or {})


# People's retry while the policy is in dry run, recorded as what it would have run (`retry`):
# it ran nothing, so the failed attempt it names is still the one to retry.
DRY_RUN_RETRY = Q(dry_run=True, details__has_key="retry_of")


def this_episode(ticket: Ticket) -> QuerySet[Remediation]:
    """The ticket's remediations since it last regressed (all of them when it never did): a
    regression is the failure back after it was fixed, and is decided anew. So is a newer run
    that failed while an older run's remediation ran and succeeded (`finish` left the ticket
    open): its remediations are counted from after that success. A retry recorded as a dry run
    (`DRY_RUN_RETRY`) ran nothing and decided nothing: it is not one of them."""
    found = _since_regression(ticket)
    fixed = (
        found.filter(status=RemediationStatus.SUCCEEDED)
        .order_by("-attempt_number")
        .values_list("attempt_number", "run_key")
        .first()
    )
    if fixed is not None and not same_run(fixed[1], run_key(ticket)):
        found = found.filter(attempt_number__gt=fixed[0])
    return found


def _since_regression(ticket: Ticket) -> QuerySet[Remediation]:
    """The ticket's remediations since it last regressed (all of them when it never did), but
    retries recorded as a dry run (`DRY_RUN_RETRY`)."""
    found = Remediation.objects.filter(ticket_id=ticket.pk).exclude(DRY_RUN_RETRY)
    if ticket.regressed_at is not None:
        found = found.filter(created_at__gte=ticket.regressed_at)
    return found


# --- proposing -----------------------------------------------------------------------------------


def remediation_actor(remediation: Remediation) -> Actor:
    """Named by its id (what the API's approve, decline and retry take), said as an id: "#2"
    read as a second attempt."""
    return Actor(ActorKind.REMEDIATION, f"remediation {remediation.action} (id {remediation.pk})")


def _needs_no_rerun(ticket: Ticket) -> bool:
    """Resolved, or recovered at its source, or regressed by a try its source retries by itself
    (`nothing_failed_yet`). Acknowledged (a responder owns it, e.g. a failure joining an
    acknowledged incident) is no reason not to fix it."""
    return (
        ticket.status == Status.RESOLVED
        or ticket.resolved_at_source_at is not None
        or nothing_failed_yet(ticket)
    )


def nothing_failed_yet(ticket: Ticket) -> bool:
    """The ticket regressed with a try its source retries by itself (`latest_run["rerun"]` is
    null, `Ticket.objects.record_recurrence`): the runs counted before it were resolved, and
    that try's run has nothing failed to rerun until its final failure."""
    latest = ticket.latest_run or {}
    return "rerun" in latest and latest["rerun"] is None


def _attempts_ended_at(key: str, earlier: Sequence[Remediation]) -> bool:
    """Whether the latest of these remediations that acted on the run `key` was the last
    attempt at it (`finish`'s `no_next_attempt`): another would be refused again, or run beside
    its rerun, also once a newer run's attempt came between (the run reported again); a newer
    run's failure is new evidence, and people lift the block by a `retry` (a later attempt)."""
    at_the_run = [r for r in earlier if same_run(r.run_key, key)]
    last = max(at_the_run, key=lambda r: r.attempt_number, default=None)
    return (
        last is not None
        and last.status == RemediationStatus.FAILED
        and bool(last.details.get(NO_NEXT_ATTEMPT))
    )


def propose(
    ticket_id: str,
    *,
    policies: Sequence[RemediationPolicy] | None = None,
    ticket: Ticket | None = None,
) -> Remediation | None:
    """Match the ticket against the policies and act on the decision. Idempotent: only a
    ticket without an active remediation gets one, and only when it has none since it last
    regressed (`this_episode`), or the last of those failed (attempts left, backoff over, and
    not the last attempt at the run the ticket's latest failure is of: `finish`); a
    decision already made (skipped, declined, expired, succeeded) stands until the ticket
    regresses. The remediation acts on the latest failed run counted on the ticket (`run_key`).
    `policies`: the enabled ones, read once for a batch (see `decide`); `ticket`: the ticket
    as the caller read it for a batch (it is read again, locked, before anything is written)."""
    if ticket is None:
        ticket = Ticket.objects.defer("embedding").filter(pk=ticket_id).first()
    if ticket is None or _needs_no_rerun(ticket):
        return None
    confidence = analysis_confidence(ticket)
    decision = decide(ticket, confidence, policies)
    if decision is None:
        return None
    policy = decision.policy
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update(no_key=True).defer("embedding").get(pk=ticket_id)
        if not _key_shared(policy):  # deleted since it was read: decided again without it
            return propose(ticket_id)
        if _needs_no_rerun(ticket):
            # Resolved since it was read: people resolving it found nothing of this to skip.
            return None
        if ticket.remediations.filter(status__in=ACTIVE_REMEDIATION).exists():
            return None  # one at a time, whichever run it acts on
        episode = this_episode(ticket)
        latest = episode.order_by("-attempt_number").first()
        if latest is not None and latest.status != RemediationStatus.FAILED:
            return None
        earlier = list(episode.exclude(status=RemediationStatus.SKIPPED))
        # Since the regression, not this episode: a newer run's success that left the ticket
        # open starts an episode, and the run's ended attempts come before it.
        since = _since_regression(ticket).exclude(status=RemediationStatus.SKIPPED)
        if _attempts_ended_at(run_key(ticket), list(since)):
            return None
        last_of_its_run = latest is not None and bool(latest.details.get(NO_NEXT_ATTEMPT))
        attempts = len(earlier)
        if attempts >= policy.max_attempts:
            return None
        last_failed = next(
            (r for r in earlier if r.status == RemediationStatus.FAILED and r.finished_at), None
        )
        # After the last attempt at an older run, a newer run's failure is proposed at once: no
        # next attempt is scheduled after that one's backoff to propose it then.
        if not last_of_its_run and last_failed is not None and last_failed.finished_at is not None:
            wait = last_failed.finished_at + timedelta(seconds=policy.backoff_seconds)
            if wait > timezone.now():
                return None
        attempt_number = (ticket.remediations.count() or 0) + 1
        status = RemediationStatus.PROPOSED
        reason = decision.reason
        despite = (
            "" if decision.mode == RemediationMode.NEVER else despite_user_error(policy, ticket)
        )
        if despite:
            reason = f"{reason}; {despite}"
        unable = "" if decision.mode == RemediationMode.NEVER else cannot_run(policy.action, ticket)
        if decision.mode == RemediationMode.NEVER:
            status = RemediationStatus.SKIPPED
        elif unable and not policy.dry_run:
            status = RemediationStatus.SKIPPED
            reason = f"{unable} ({decision.reason})"
        elif policy.dry_run:
            status = RemediationStatus.SKIPPED
            verb = "would have run" if decision.mode == RemediationMode.AUTO else "would have asked"
            reason = f"dry run: {verb} '{policy.get_action_display()}' ({decision.reason})"
            if despite:
                reason += "; " + despite_user_error(policy, ticket, done="would be proposed anyway")
            if unable:  # and for real it could not: say so before someone turns it on
                reason += f"; {unable}"
        try:
            with transaction.atomic():
                remediation = Remediation.objects.create(
                    ticket=ticket,
                    run_key=run_key(ticket),
                    policy=policy,
                    action=policy.action,
                    attempt_number=attempt_number,
                    confidence=confidence,
                    dry_run=policy.dry_run,
                    status=status,
                    reason=reason,
                    details={"mode": decision.mode},
                )
        except IntegrityError:
            return None  # a concurrent proposal for this run won
        _set_ticket_status(ticket, remediation, "remediation proposed", reason=reason)
        if status == RemediationStatus.SKIPPED:
            return remediation
        if decision.mode == RemediationMode.AUTO:
            _start_or_hold(remediation, ticket)
        else:
            _await_approval(remediation, ticket)
    return remediation


def _set_ticket_status(
    ticket: Ticket,
    remediation: Remediation,
    action: str,
    *,
    actor: Actor | None = None,
    reason: str = "",
    announce: str = "",
    announce_note: str | None = None,
) -> None:
    """`announce_note`: what the announcement (the Slack thread's line) adds, when not
    `reason`."""
    before = {"remediation_status": ticket.remediation_status}
    ticket.remediation_status = remediation.status
    Ticket.objects.filter(pk=ticket.pk).update(
        remediation_status=remediation.status, updated_at=timezone.now()
    )
    details: dict[str, Any] = {
        "remediation": remediation.pk,
        "action": remediation.action,
        "attempt": remediation.attempt_number,
    }
    if reason:
        details["reason"] = reason
    lifecycle.write_audit(
        ticket,
        actor or remediation_actor(remediation),
        action,
        before=before,
        after={"remediation_status": remediation.status},
        details=details,
    )
    if announce:
        note = reason if announce_note is None else announce_note
        lifecycle.announce(ticket.pk, announce, actor or remediation_actor(remediation), note)


def _await_approval(remediation: Remediation, ticket: Ticket) -> None:
    remediation.status = RemediationStatus.AWAITING_APPROVAL
    remediation.expires_at = timezone.now() + timedelta(
        seconds=settings.REMEDIATION_APPROVAL_SECONDS
    )
    remediation.save(update_fields=["status", "expires_at"])
    _set_ticket_status(
        ticket,
        remediation,
        "remediation awaiting approval",
        reason=remediation.reason,
        announce="remediation_awaiting_approval",
    )


# People approving a remediation are told in the ticket's Slack thread, as a decline is: one
# announcement naming who approved it and what became of it (started, held, or skipped: its
# run has an active remediation), in place of the start's, the hold's or the skip's own (the
# alert follows it as it follows those). A skip after that (held, then switched off, released
# under a dry run, ...) names them too (`_skip_note`; a dry run's reason, `start_next_batch`).
APPROVED = "remediation_approved"


def _start_or_hold(
    remediation: Remediation,
    ticket: Ticket,
    *,
    actor: Actor | None = None,
    approval_note: str | None = None,
) -> None:
    """`approval_note`: given (blank for none) when people just approved it, whose
    announcement (`APPROVED`) then tells what became of it (started, held or skipped) with
    their note."""
    hold = held_by(ticket)
    if hold:
        remediation.status = RemediationStatus.HELD
        remediation.reason = hold
        remediation.save(update_fields=["status", "reason"])
        if actor is not None and approval_note is not None:
            _set_ticket_status(ticket, remediation, "remediation held", reason=hold)
            _announce_approval(ticket, remediation, actor, f"held: {hold}", approval_note)
            return
        _set_ticket_status(
            ticket,
            remediation,
            "remediation held",
            reason=hold,
            # Just retried: its alert still offers the retry; it shows it held instead.
            announce="remediation_held" if remediation.decided_at else "",
        )
        return
    _start(remediation, ticket, actor=actor, approval_note=approval_note)


def _announce_approval(
    ticket: Ticket, remediation: Remediation, approver: Actor, outcome: str, note: str
) -> None:
    """The approval's one announcement: "remediation playbook (id 7) started" (or held), and
    the approver's note."""
    said = f"remediation {remediation.action} (id {remediation.pk}) {outcome}"
    lifecycle.announce(ticket.pk, APPROVED, approver, f"{said} (note: {note})" if note else said)


def decided_by_people(remediation: Remediation) -> str:
    """Who approved (or retried) the remediation, and where: "approved by daan via slack"
    ('' when no person started it)."""
    if not remediation.decided_by or remediation.status == RemediationStatus.DECLINED:
        return ""
    verb = "retried" if "retry_of" in remediation.details else "approved"
    return f"{verb} by {remediation.decided_by} via {remediation.decided_via}"


def _skip_note(remediation: Remediation, reason: str) -> str:
    """What the thread says of a skip: its reason, and who approved the remediation when people
    did (their approval was told as it started or was held; this is where it ended)."""
    decided = decided_by_people(remediation)
    return f"{reason} ({decided})" if decided and decided not in reason else reason


# Kept on a started remediation (`_start`): what its ticket reported as it started, its latest
# failure's time (`LAST_SEEN`) and try (`REPORTED_TRY`, Airflow's). A rerun failing since is
# the action's own whatever the ticket reports by then, that failure's report among it: an
# action handed out again after its worker died reads them (`databricks_repair`,
# `airflow_clear`).
STARTED_ON = "started_on"
LAST_SEEN = "last_seen"
REPORTED_TRY = "try_number"


def _reported_now(ticket: Ticket) -> dict[str, Any]:
    reported: dict[str, Any] = {}
    if ticket.last_seen is not None:
        reported[LAST_SEEN] = ticket.last_seen.isoformat()
    tried = (ticket.details or {}).get("try_number")
    if tried is not None:
        reported[REPORTED_TRY] = tried
    return reported


def reported_on_start(remediation: Remediation, name: str) -> Any:
    """What the ticket reported as the remediation started (`STARTED_ON`); None when it
    reported nothing of the kind, or the remediation started before it was kept."""
    kept = remediation.details.get(STARTED_ON)
    return kept.get(name) if isinstance(kept, dict) else None


def _start(
    remediation: Remediation,
    ticket: Ticket,
    *,
    actor: Actor | None = None,
    approval_note: str | None = None,
) -> bool:
    """Run it on the latest failed run counted on the ticket now (a newer run may have failed
    since the proposal), kept on the remediation (`details["target_run"]`, and what the
    ticket reports now, `STARTED_ON`) for the action and its watch. False when it was skipped
    instead: that run has an active remediation. `approval_note`: as `_start_or_hold`'s."""
    key, entity = run_key(ticket), run_entity(ticket)
    remediation.status = RemediationStatus.RUNNING
    remediation.started_at = timezone.now()
    remediation.run_key = key
    remediation.details = {
        **remediation.details,
        "target_run": {"run_key": key, "entity": entity},
        STARTED_ON: _reported_now(ticket),
    }
    try:
        with transaction.atomic():
            remediation.save(update_fields=["status", "started_at", "run_key", "details"])
    except IntegrityError:
        # That run has an active remediation already (another ticket's): never two at once.
        remediation.status = RemediationStatus.SKIPPED
        remediation.started_at = None
        remediation.finished_at = timezone.now()
        remediation.reason = f"run {key[:200]} has an active remediation already"
        remediation.save(
            update_fields=["status", "started_at", "finished_at", "reason", "run_key", "details"]
        )
        if actor is not None and approval_note is not None:
            _set_ticket_status(
                ticket, remediation, "remediation skipped", reason=remediation.reason
            )
            _announce_approval(
                ticket, remediation, actor, f"skipped: {remediation.reason}", approval_note
            )
            return False
        _set_ticket_status(
            ticket,
            remediation,
            "remediation skipped",
            reason=remediation.reason,
            announce="remediation_skipped",
            announce_note=_skip_note(remediation, remediation.reason),
        )
        return False
    if actor is not None and approval_note is not None:
        _set_ticket_status(ticket, remediation, "remediation started", actor=actor)
        _announce_approval(ticket, remediation, actor, "started", approval_note)
    else:
        _set_ticket_status(
            ticket, remediation, "remediation started", actor=actor, announce="remediation_running"
        )
    action = START_ACTION[remediation.action]
    fanout.schedule(
        ticket.pk,
        action,
        f"remediation:{remediation.pk}:{action}",
        {"remediation_id": remediation.pk},
    )
    return True


# --- approval ------------------------------------------------------------------------------------


def awaiting_for(ticket_id: str) -> Remediation | None:
    return Remediation.objects.filter(
        ticket_id=ticket_id, status=RemediationStatus.AWAITING_APPROVAL
    ).first()


def named(ticket_id: str, value: str) -> Remediation | None:
    """The ticket's remediation a form or a button names by id (None for a value that is no
    id of one: not ASCII digits within a bigint, or another ticket's)."""
    if not (value.isascii() and value.isdigit() and len(value) < 19):
        return None
    return Remediation.objects.filter(pk=int(value), ticket_id=ticket_id).first()


def approval_refused(ticket: Ticket) -> str:
    """Why approving the ticket's pending remediation is refused now ('' when it is not, or
    none is pending)."""
    pending = awaiting_for(ticket.pk)
    return policy_switched_off(pending, ticket) if pending is not None else ""


def approve(remediation_id: int, actor: Actor, *, via: str, note: str = "") -> Remediation:
    """Start it (or hold it, `_start_or_hold`). Refused (`RemediationError`, nothing changed)
    when its policy was disabled, set to never, deleted or set to another action since the
    proposal (`policy_now`); under a policy switched to dry run since it runs nothing and is
    recorded as what it would have run (skipped, `dry_run`), as a proposal in dry run is."""
    return _decide(remediation_id, actor, via=via, approved=True, note=note)


def decline(remediation_id: int, actor: Actor, *, via: str, note: str = "") -> Remediation:
    """`note`: why, kept in the remediation's reason and the audit entry."""
    return _decide(remediation_id, actor, via=via, approved=False, note=note)


def _decide(
    remediation_id: int, actor: Actor, *, via: str, approved: bool, note: str = ""
) -> Remediation:
    actor = replace(actor, via=actor.via or via)  # the place Slack and JIRA name
    remediation, refusal = _decide_locked(
        remediation_id, actor, via=via, approved=approved, note=redact(note.strip())[:2000]
    )
    if refusal:
        raise RemediationError(refusal)
    return remediation


def _decide_locked(
    remediation_id: int, actor: Actor, *, via: str, approved: bool, note: str
) -> tuple[Remediation, str]:
    """The decision, and why it was refused ('' when it was not): an expired approval
    expires, the approval of a resolved ticket's remediation skips it (both committed; the
    caller says why)."""
    with transaction.atomic():
        remediation = Remediation.objects.select_for_update().filter(pk=remediation_id).first()
        if remediation is None:
            raise RemediationError(f"no remediation {remediation_id}")
        if remediation.status != RemediationStatus.AWAITING_APPROVAL:
            raise RemediationError(
                f"remediation {remediation_id} is {remediation.get_status_display().lower()}, "
                "not awaiting approval"
            )
        now = timezone.now()
        if remediation.expires_at is not None and remediation.expires_at <= now:
            _expire(remediation)  # committed; the caller says it expired
            return remediation, f"the approval of remediation {remediation_id} has expired"
        ticket = (
            Ticket.objects.select_for_update(no_key=True)
            .defer("embedding")
            .get(pk=remediation.ticket_id)
        )
        if approved and ticket.status == Status.RESOLVED:
            # Resolved meanwhile (people resolving it skip it; this one was caught in between):
            # nothing to rerun.
            _skip(
                remediation,
                ticket,
                "the ticket is resolved",
                actor=Actor.system("remediation"),
                announce=_skip_announcement(ticket),
            )
            return remediation, (
                f"remediation {remediation_id} was not started: the ticket is resolved"
            )
        if approved:
            _lock_policies([remediation])
        refusal = policy_switched_off(remediation, ticket) if approved else ""
        if refusal:
            # Rolled back: it still awaits a decision (a decline, or the policy switched on).
            raise RemediationError(f"remediation {remediation_id} was not approved: {refusal}")
        remediation.decided_by = actor.name
        remediation.decided_via = via
        remediation.decided_at = now
        if approved:
            # The proposal's reason said it needs approval: now it says who gave it.
            remediation.reason = f"approved by {actor.name} via {via}" + (
                f": {note}" if note else ""
            )
            remediation.save(update_fields=["reason", "decided_by", "decided_via", "decided_at"])
            lifecycle.write_audit(
                ticket,
                actor,
                "remediation approved",
                details={
                    "remediation": remediation.pk,
                    "via": via,
                    **({"note": note} if note else {}),
                },
            )
            policy = remediation.policy
            if policy is not None and policy.dry_run:
                _skip_as_dry_run(remediation, ticket, policy, remediation.reason, actor=actor)
            else:
                _start_or_hold(remediation, ticket, actor=actor, approval_note=note)
        else:
            remediation.status = RemediationStatus.DECLINED
            remediation.reason = f"declined by {actor.name} via {via}" + (
                f": {note}" if note else ""
            )
            remediation.finished_at = now
            remediation.save(
                update_fields=[
                    "status",
                    "reason",
                    "decided_by",
                    "decided_via",
                    "decided_at",
                    "finished_at",
                ]
            )
            _set_ticket_status(
                ticket,
                remediation,
                "remediation declined",
                actor=actor,
                reason=remediation.reason,
                announce="remediation_declined",
                # The announcement names who declined it and how already: only the note.
                announce_note=note,
            )
    return remediation, ""


def to_retry(ticket: Ticket) -> Remediation | None:
    """The ticket's remediation people would `retry`: the latest at the run its latest failure
    is of when it ended the attempts at that run (`_attempts_ended_at`: no policy makes
    another), else its latest (a retry recorded as a dry run is none of them)."""
    found = list(
        Remediation.objects.filter(ticket_id=ticket.pk)
        .exclude(DRY_RUN_RETRY)
        .order_by("-attempt_number")
    )
    key = run_key(ticket)
    at_the_run = next((r for r in found if same_run(r.run_key, key)), None)
    if at_the_run is not None and _attempts_ended_at(key, [at_the_run]):
        return at_the_run
    return found[0] if found else None


def retryable(ticket: Ticket) -> Remediation | None:
    """The ticket's remediation people may `retry` now, if any (`to_retry`)."""
    last = to_retry(ticket)
    return last if last is not None and not _why_not_retried(last, ticket) else None


def retry_refused(ticket: Ticket) -> tuple[Remediation, str] | None:
    """The ticket's failed last attempt (`to_retry`) that people may not retry now, and why
    (its policy switched off since, its action not configured, the ticket needs no rerun):
    the page that showed its Retry button says why it is gone."""
    last = to_retry(ticket)
    if (
        last is None
        or last.status != RemediationStatus.FAILED
        or not last.details.get(NO_NEXT_ATTEMPT)
    ):
        return None
    refusal = _why_not_retried(last, ticket)
    return (last, refusal) if refusal else None


def retry(remediation_id: int, actor: Actor, *, via: str, note: str = "") -> Remediation:
    """People run again a remediation that was the last attempt at its run (`finish`'s
    `no_next_attempt`): they fixed the credentials the service refused, or made sure the
    rerun a timed-out watch or an uncertain start left behind is not running. A new attempt of
    the same action, on the ticket's latest failed run, starts at once (or is held, as an
    approved one is). Refused (`RemediationError`, nothing changed) unless the remediation is
    the one `to_retry` gives (the ticket's latest, or the last attempt at the run its latest
    failure is of with only other runs' ended attempts after it; that one alone while it
    ended the attempts at that run), the ticket is open, its policy is still enabled, not
    set to never and names its action (`policy_now`), and its action can run here. The
    policy's `max_attempts` bounds what the
    policies make, not people: a retry past it runs. Under a policy in dry run the retry is
    recorded as what it would have run (skipped, `dry_run`) and runs nothing, as a proposal in
    dry run is.

    `note`: why, kept in the new remediation's reason and the audit entry."""
    actor = replace(actor, via=actor.via or via)
    note = redact(note.strip())[:2000]
    with transaction.atomic():
        last = Remediation.objects.filter(pk=remediation_id).first()
        if last is None:
            raise RemediationError(f"no remediation {remediation_id}")
        ticket = (
            Ticket.objects.select_for_update(no_key=True).defer("embedding").get(pk=last.ticket_id)
        )
        last.refresh_from_db()  # as of the ticket's lock: a finish or a proposal may have come
        _lock_policies([last])
        refusal = _why_not_retried(last, ticket)
        if refusal:
            raise RemediationError(f"remediation {remediation_id} was not retried: {refusal}")
        reason = f"retried by {actor.name} via {via}" + (f": {note}" if note else "")
        policy = last.policy
        dry_run = bool(policy and policy.dry_run)
        if policy is not None and dry_run:
            reason = dry_run_reason(last, policy, reason)
        now = timezone.now()
        try:
            with transaction.atomic():
                again = Remediation.objects.create(
                    ticket=ticket,
                    run_key=run_key(ticket),
                    policy=policy,
                    action=last.action,
                    attempt_number=ticket.remediations.count() + 1,
                    confidence=analysis_confidence(ticket),
                    dry_run=dry_run,
                    status=RemediationStatus.SKIPPED if dry_run else RemediationStatus.PROPOSED,
                    reason=reason,
                    decided_by=actor.name,
                    decided_via=via,
                    decided_at=now,
                    finished_at=now if dry_run else None,
                    details={"mode": RemediationMode.APPROVAL, "retry_of": last.pk},
                )
        except IntegrityError as exc:  # another ticket's remediation is active on the run
            raise RemediationError(
                f"remediation {remediation_id} was not retried: run {run_key(ticket)[:200]} "
                "has an active remediation already"
            ) from exc
        if dry_run:
            _set_ticket_status(
                ticket, again, "remediation retried (dry run)", actor=actor, reason=reason
            )
            return again
        _set_ticket_status(ticket, again, "remediation retried", actor=actor, reason=reason)
        _start_or_hold(again, ticket, actor=actor)
    return again


def _why_not_retried(last: Remediation, ticket: Ticket) -> str:
    """Why people cannot retry the remediation ('' when they can: `retry`)."""
    if last.status != RemediationStatus.FAILED or not last.details.get(NO_NEXT_ATTEMPT):
        return (
            f"it is {last.get_status_display().lower()}; only a failed last attempt at its run "
            "(no further attempt follows it) is retried"
        )
    later = list(
        ticket.remediations.filter(attempt_number__gt=last.attempt_number).exclude(DRY_RUN_RETRY)
    )
    if same_run(last.run_key, run_key(ticket)):
        # Still the last attempt at the ticket's run once newer runs' attempts since ended.
        later = [
            r for r in later if r.status in ACTIVE_REMEDIATION or same_run(r.run_key, last.run_key)
        ]
    if later:
        return f"remediation {later[0].pk} of the ticket came after it"
    # A retry acts on the ticket's run: one whose attempts another remediation ended is
    # retried by that one alone (its rerun may still be running).
    chosen = to_retry(ticket)
    if chosen is not None and chosen.pk != last.pk:
        return (
            f"remediation {chosen.pk} was the last attempt at the ticket's run "
            f"{run_key(ticket)[:200]}, which a retry acts on; retry that one"
        )
    if _needs_no_rerun(ticket):
        return "the ticket needs no rerun (resolved, recovered, or its run still retried)"
    return policy_switched_off(last, ticket) or cannot_run(last.action, ticket)


def lock_policies(ids: Iterable[int]) -> dict[int, RemediationPolicy]:
    """The policies, locked by id: the one order of every transaction locking several (a
    release batch, `_lock_policies`; admin's list saving several, `RemediationPolicyAdmin`),
    so that two of them never deadlock on policies."""
    wanted = set(ids)
    if not wanted:
        return {}
    return {
        policy.pk: policy
        for policy in RemediationPolicy.objects.select_for_update(no_key=True)
        .filter(pk__in=wanted)
        .order_by("pk")
    }


def _key_shared(policy: RemediationPolicy) -> bool:
    """Lock the policy `FOR KEY SHARE` until the transaction ends, as the foreign key's own
    check would (deferred to the commit, too late): a delete waits for the remediation
    inserted under it (`delete_policies`), while other proposals and people's edits of the
    policy do not. False: it is deleted."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {RemediationPolicy._meta.db_table} WHERE id = %s FOR KEY SHARE",
            [policy.pk],
        )
        return cursor.fetchone() is not None


def delete_policies(ids: Iterable[int]) -> int:
    """Delete the policies (admin's delete page and action), their remediations kept without
    a policy (`SET_NULL`). Locked in the order every transaction takes them, its remediations
    first, then the policies by id: a proposal or retry inserting a remediation under one
    holds it locked (`_key_shared`, `lock_policies`), and the delete waits for it to commit,
    then unlinks that remediation too; unlocked, the delete unlinked the ones it had read, and
    its commit failed on the one inserted meanwhile (a foreign-key error). Returns how many it
    deleted."""
    wanted = sorted(set(ids))
    with transaction.atomic():
        list(
            Remediation.objects.select_for_update()
            .filter(policy_id__in=wanted)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        policies = list(
            RemediationPolicy.objects.select_for_update().filter(pk__in=wanted).order_by("pk")
        )
        for policy in policies:
            policy.delete()
    return len(policies)


def _lock_policies(remediations: Sequence[Remediation]) -> None:
    """Read the remediations' policies locked, as they are committed now: people changing one
    meanwhile (switching it off, to approval, to another action) are waited for, not read as
    they were (`policy_now` reads them next). By id (`lock_policies`)."""
    locked = lock_policies(r.policy_id for r in remediations if r.policy_id is not None)
    for remediation in remediations:
        if remediation.policy_id is not None:
            remediation.policy = locked.get(remediation.policy_id)


@dataclass(frozen=True)
class PolicyNow:
    """What a remediation's policy, as it is now, says of starting it (`policy_now`)."""

    # Why it runs no more ('' when it may): switched off, or set to another action.
    off: str = ""
    # An automatic one (nobody decided it) that the policy would now only propose for
    # approval: the reason it is asked for ('' when it may start as it is).
    ask: str = ""
    dry_run: bool = False


def automatic(remediation: Remediation) -> bool:
    """Proposed to run automatically, and no person has decided it (an approval, a retry)."""
    return (
        remediation.details.get("mode") == RemediationMode.AUTO and remediation.decided_at is None
    )


def policy_now(remediation: Remediation, ticket: Ticket) -> PolicyNow:
    """The one check of a remediation's policy as it is now, before the remediation starts:
    asked by a retry, an approval and the release of a held one (each reads the policy locked
    first, `_lock_policies`), and as people change or delete the policy
    (`skip_switched_off`). It runs no more when people disabled the policy, set it to
    never or deleted it since it was proposed, or set it to another action (the action it
    would run is not the one the policy names now: it is not run, nor swapped for the new
    one nobody chose for this failure). An automatic one (`automatic`) is decided again with
    the policy as it is now: one whose ticket the policy no longer covers (its error
    classes, signals, sources or pipeline glob changed: `mismatch`) runs no more, and its
    mode and confidence thresholds decide (`policy_decision`): one the policy would now only
    propose for approval is asked for, one below its approval threshold runs no more.
    People's decisions (an approval, a retry) are not weighed again against the policy's
    coverage or thresholds, which decide what the policy does by itself: people chose that
    remediation for that ticket. A policy switched to dry run is not off: under it they run
    nothing and record what would have run (`dry_run_reason`)."""
    policy = remediation.policy
    if policy is None:
        return PolicyNow(off="its policy was deleted")
    if not policy.enabled:
        return PolicyNow(off=f"its policy '{policy.name}' is disabled")
    if policy.mode == RemediationMode.NEVER:
        return PolicyNow(off=f"its policy '{policy.name}' is set to never")
    if policy.action != remediation.action:
        return PolicyNow(
            off=f"its policy '{policy.name}' now runs '{policy.get_action_display()}', "
            f"not '{remediation.get_action_display()}'"
        )
    ask = ""
    if automatic(remediation):
        uncovered = mismatch(policy, ticket)
        if uncovered:
            return PolicyNow(
                off=f"its policy '{policy.name}' no longer covers the ticket: {uncovered}"
            )
        decision = policy_decision(policy, remediation.confidence)
        if decision.mode == RemediationMode.NEVER:
            return PolicyNow(off=decision.reason)
        if decision.mode == RemediationMode.APPROVAL:
            ask = decision.reason
    return PolicyNow(ask=ask, dry_run=policy.dry_run)


def policy_switched_off(remediation: Remediation, ticket: Ticket) -> str:
    """Why the remediation's policy, as it is now, runs it no more ('' when it may:
    `policy_now`)."""
    return policy_now(remediation, ticket).off


def dry_run_reason(
    remediation: Remediation,
    policy: RemediationPolicy,
    because: str,
    *,
    verb: str = "would have run",
) -> str:
    """The reason of a remediation a policy in dry run kept from running (`because`: what
    would have started it: a retry, an approval, a release; `verb`: "would have asked" where
    it would have needed approval)."""
    return (
        f"dry run: {verb} '{remediation.get_action_display()}' (policy '{policy.name}'; {because})"
    )


def _skip_as_dry_run(
    remediation: Remediation,
    ticket: Ticket,
    policy: RemediationPolicy,
    because: str,
    *,
    actor: Actor,
    verb: str = "would have run",
) -> None:
    """A remediation about to start (approved, or released from its hold) under a policy
    switched to dry run since runs nothing, recorded as a proposal under it is."""
    remediation.dry_run = True
    remediation.save(update_fields=["dry_run"])
    reason = dry_run_reason(remediation, policy, because, verb=verb)
    _skip(remediation, ticket, reason, actor=actor)


def _ask_on_release(remediation: Remediation, ticket: Ticket, reason: str) -> None:
    """A held automatic remediation whose policy now asks for approval (`policy_now`) awaits
    it, announced as a proposal under such a policy is. It leaves its release group: approved,
    it starts (or is held again) as any approval does, and the batch goes on without it."""
    remediation.reason = f"{reason} (released from its hold)"
    if remediation.policy is not None:
        despite = despite_user_error(remediation.policy, ticket, done="asked for anyway")
        remediation.reason += f"; {despite}" if despite else ""
    remediation.release_group = ""
    remediation.details = {**remediation.details, "mode": RemediationMode.APPROVAL}
    remediation.save(update_fields=["reason", "release_group", "details"])
    _await_approval(remediation, ticket)


# --- policies switched off ----------------------------------------------------------------------

# A remediation that waits on people (an approval) or on a hold: a change of its policy can
# stop it before it starts. (`proposed` is a step inside one transaction, never waited in.)
WAITING = (RemediationStatus.AWAITING_APPROVAL, RemediationStatus.HELD)

# Waiting remediations whose policy, as committed, runs them no more whatever their ticket
# (`policy_now`'s `off`): it was deleted, disabled, set to never or to another action.
POLICY_OFF = (
    Q(policy__isnull=True)
    | Q(policy__enabled=False)
    | Q(policy__mode=RemediationMode.NEVER)
    | ~Q(action=F("policy__action"))
)

# How many remediations one task skips.
SKIP_BATCH = 500


def waiting_on(policy_id: int) -> list[int]:
    """The policy's remediations that wait (`WAITING`)."""
    return list(
        Remediation.objects.filter(policy_id=policy_id, status__in=WAITING).values_list(
            "pk", flat=True
        )
    )


def policy_changed(policy_id: int) -> None:
    """People saved the policy (its change committed): its waiting remediations are checked
    against it at once (`skip_switched_off`, in a task)."""
    skip_later(waiting_on(policy_id))


def skip_later(remediation_ids: Sequence[int]) -> None:
    """Send `skip_switched_off` for these remediations (sent by name, as `_propose_later`). A
    message lost leaves them waiting: an approval or a release still asks `policy_now`, and
    beat's `sweep` skips those whose policy was deleted, disabled, set to never or to another
    action (`POLICY_OFF`) within a minute."""
    from rca_project.celery import app as celery_app

    ids = list(remediation_ids)
    for start in range(0, len(ids), SKIP_BATCH):
        try:
            celery_app.send_task(
                "integrations.tasks.skip_switched_off_remediations",
                (ids[start : start + SKIP_BATCH],),
            )
        except Exception as exc:
            logger.warning(
                "broker unavailable (%s); %d waiting remediation(s) of a changed policy are "
                "left to beat's sweep",
                type(exc).__name__,
                len(ids) - start,
            )
            return


def skip_switched_off(remediation_ids: Sequence[int]) -> int:
    """Skip those of these remediations, still waiting (`WAITING`), that their policy as it is
    now runs no more (`policy_now`'s `off`: disabled, set to never, deleted, set to another
    action; an automatic held one also when the policy no longer covers its ticket or its
    approval threshold rose above its confidence), with that reason, as an approval or a
    release would find it: the ticket's `remediation_status`, the audit log and the Slack
    alert (its buttons go, its thread says why) follow as for any skip (`_skip`). Under a
    policy switched to dry run they wait on: decided or released, they are recorded as what
    they would have done, as before. Idempotent (one decided meanwhile is left as it is).
    One transaction each, in an approval's lock order (the remediation, its ticket, its
    policy), so people deciding one at the same moment are waited for, or wait and find it
    skipped. Returns how many were skipped."""
    skipped = 0
    for remediation_id in remediation_ids:
        with transaction.atomic():
            remediation = (
                Remediation.objects.select_for_update()
                .filter(pk=remediation_id, status__in=WAITING)
                .first()
            )
            if remediation is None:
                continue
            ticket = (
                Ticket.objects.select_for_update(no_key=True)
                .defer("embedding")
                .get(pk=remediation.ticket_id)
            )
            _lock_policies([remediation])
            off = policy_switched_off(remediation, ticket)
            if off:
                _skip(remediation, ticket, off, actor=Actor.system("remediation policy"))
                skipped += 1
    return skipped


def _expire(remediation: Remediation) -> None:
    ticket = Ticket.objects.defer("embedding").get(pk=remediation.ticket_id)
    remediation.status = RemediationStatus.EXPIRED
    remediation.reason = f"not approved within {settings.REMEDIATION_APPROVAL_SECONDS} s"
    remediation.finished_at = timezone.now()
    remediation.save(update_fields=["status", "reason", "finished_at"])
    _set_ticket_status(
        ticket,
        remediation,
        "remediation expired",
        actor=Actor.system("remediation"),
        reason=remediation.reason,
        announce="remediation_expired",
    )


# --- the target's reports ------------------------------------------------------------------------


def running(remediation_id: int) -> Remediation | None:
    """The remediation if it is still running (a target acts only then)."""
    return Remediation.objects.filter(pk=remediation_id, status=RemediationStatus.RUNNING).first()


def record_started(remediation_id: int, external_run_id: str, **details: Any) -> None:
    """The target started its work (the new ADF run, the Databricks repair, ...)."""
    remediation = Remediation.objects.get(pk=remediation_id)
    remediation.external_run_id = str(external_run_id)[:200]
    remediation.details = {**remediation.details, **details}
    remediation.save(update_fields=["external_run_id", "details"])
    lifecycle.write_audit(
        Ticket.objects.defer("embedding").get(pk=remediation.ticket_id),
        remediation_actor(remediation),
        "remediation action sent",
        details={"remediation": remediation.pk, "external_run_id": remediation.external_run_id},
    )


def note(remediation_id: int, **details: Any) -> None:
    """Keep a step of the action on the remediation, committed with the delivery's attempt (a
    refused one's too: the next attempt reads it); a worker that dies before that commit loses
    it (`remediating.send_start` counts such a step in Redis)."""
    remediation = Remediation.objects.get(pk=remediation_id)
    remediation.details = {**remediation.details, **details}
    remediation.save(update_fields=["details"])


def watch_deadline_passed(remediation: Remediation) -> bool:
    started = remediation.started_at or remediation.created_at
    return timezone.now() > started + timedelta(seconds=settings.REMEDIATION_WATCH_SECONDS)


# Failures that no next attempt follows (`finish`'s `no_next_attempt`).
WATCH_TIMED_OUT = (
    "no further attempt: the rerun may still be running, and another would run beside it"
)
START_MAY_HAVE_RUN = (
    "no further attempt: the rerun may have started, and another would run beside it"
)
# What a start's error ends with when its request may have reached the service
# (`remediating.no_second_start`).
MAY_HAVE_STARTED = "(the request may have reached the service; not repeated)"


def credentials_refused(status: int) -> str:
    """Why no attempt follows a refusal of the service's own credentials: retrying cannot
    heal it."""
    return (
        f"the service refused our credentials ({status}); retrying will not change that: "
        "no further attempt until people fix the configuration and rerun it"
    )


def not_found_there(status: int) -> str:
    """Why no attempt follows a 404 (410): the service does not have what the action names
    (the pipeline, job, DAG or run deleted or renamed, or a factory or URL configured wrong);
    it will not be there after the backoff either."""
    return (
        f"the service does not have what it was asked to act on ({status}: deleted, renamed, "
        "or configured wrong); retrying will not find it: no further attempt until people "
        "restore it or fix the configuration and rerun it"
    )


def finish(
    remediation_id: int,
    *,
    succeeded: bool,
    detail: str,
    actor: Actor | None = None,
    no_next_attempt: str = "",
) -> Remediation | None:
    """The watched result (or a callback, or the source's own success webhook). Idempotent: a
    remediation that is no longer running is left alone (None is returned).

    Success resolves the ticket with the remediation as the actor, unless a newer run has
    failed on the ticket since (it is no longer the ticket's latest run, `run_key`): that one
    was not rerun, so the ticket stays open and the success says so (so it does while a mapped
    instance the clear did not clear still fails on it: `_instances_not_cleared`); a success
    that resolves a member of an incident releases the other members' held remediations (the
    culprit is back: `member_rerun_succeeded`). Failure says so (Slack, JIRA follow the
    announcement) and leaves the ticket to people. Either way, a newer failed
    run no remediation has acted on is proposed once this one has ended (`propose`, as a
    regression is: it got no proposal of its own while this one was active).

    `no_next_attempt`: why a failure is the last attempt at its run (`credentials_refused`,
    `WATCH_TIMED_OUT`); it is added to the reason (the Slack thread and JIRA say it), and
    `propose` makes no next attempt at that run (people may: `retry`); a newer run failing
    on the ticket is proposed as usual, and without waiting for the backoff.

    `detail` is redacted: it may quote what the action or the playbook answered (a Logic
    App's failure quotes the inputs of its failed action, a connection string's password
    among them), and it is kept as the reason, audited and announced."""
    detail = redact(detail)
    with transaction.atomic():
        locked = _lock_running(remediation_id)
        if locked is None:
            return None
        remediation, ticket = locked
        now = timezone.now()
        newer = _newer_failed_run(ticket, remediation)
        not_cleared = (
            _instances_not_cleared(ticket, remediation)
            if succeeded and ticket.status != Status.RESOLVED
            else []
        )
        if succeeded and newer:
            detail = f"{detail}; the ticket stays open: its latest run {newer[:200]} failed since"
            # It fixed no ticket: the stats count it as no fix (`tickets.stats`).
            remediation.details = {**remediation.details, LEFT_OPEN: True}
        elif not_cleared:
            detail = (
                f"{detail}; the ticket stays open: map indexes {not_cleared} still fail,"
                " which it did not clear"
            )
            remediation.details = {**remediation.details, LEFT_OPEN: True}
        elif (
            succeeded
            and ticket.status == Status.RESOLVED
            and ticket.resolved_at != ticket.resolved_at_source_at
        ):
            remediation.details = {**remediation.details, RESOLVED_BEFORE: True}
        elif not succeeded and no_next_attempt:
            detail = f"{detail}; {no_next_attempt}"
            remediation.details = {**remediation.details, NO_NEXT_ATTEMPT: no_next_attempt}
        remediation.status = RemediationStatus.SUCCEEDED if succeeded else RemediationStatus.FAILED
        remediation.reason = detail[:2000]
        remediation.finished_at = now
        remediation.save(update_fields=["status", "reason", "finished_at", "details"])
        who = actor or remediation_actor(remediation)
        if succeeded and (newer or not_cleared):
            _set_ticket_status(
                ticket,
                remediation,
                "remediation succeeded",
                actor=who,
                reason=remediation.reason,
                announce="remediation_succeeded",
            )
        elif succeeded:
            _set_ticket_status(
                ticket, remediation, "remediation succeeded", actor=who, reason=detail
            )
            _resolve(ticket, remediation)
            if ticket.incident_id:
                incident_id = ticket.incident_id
                transaction.on_commit(lambda: release_incident(incident_id))
        else:
            _set_ticket_status(
                ticket,
                remediation,
                "remediation failed",
                actor=who,
                reason=detail,
                announce="remediation_failed",
            )
        policy = remediation.policy
        if (
            not succeeded
            and not no_next_attempt
            and policy is not None
            and this_episode(ticket).exclude(status=RemediationStatus.SKIPPED).count()
            < policy.max_attempts
        ):
            ticket_id, delay = ticket.pk, float(policy.backoff_seconds) + 1
            transaction.on_commit(lambda: _propose_later(ticket_id, delay))
        _go_on_after(remediation, ticket, newer)
    return remediation


def _lock_running(remediation_id: int) -> tuple[Remediation, Ticket] | None:
    """The remediation, if it is still running, and its ticket, locked in that order."""
    remediation = (
        Remediation.objects.select_for_update()
        .filter(pk=remediation_id, status=RemediationStatus.RUNNING)
        .first()
    )
    if remediation is None:
        return None
    ticket = (
        Ticket.objects.select_for_update(no_key=True)
        .defer("embedding")
        .get(pk=remediation.ticket_id)
    )
    return remediation, ticket


def _newer_failed_run(ticket: Ticket, remediation: Remediation) -> str:
    """The ticket's latest run when a newer run than the remediation's failed on it since that
    one started (it was not rerun), else ''."""
    latest = run_key(ticket)
    if ticket.status != Status.RESOLVED and not same_run(latest, remediation.run_key):
        return latest
    return ""


def _instances_not_cleared(ticket: Ticket, remediation: Remediation) -> list[int]:
    """The mapped instances failing on the ticket that the remediation's clear did not clear
    (its `map_indexes`): one counted after it was sent, or one failing in an earlier run that
    its run does not map, still fails whatever the cleared ones do. [] for a remediation that
    is no clear of a mapped task."""
    cleared = remediation.details.get("map_indexes")
    if not cleared:
        return []
    failing = (ticket.details or {}).get(FAILING_MAP_INDEXES) or []
    return sorted({index for index in failing if isinstance(index, int)} - set(cleared))


def _go_on_after(remediation: Remediation, ticket: Ticket, newer: str) -> None:
    """What follows a remediation's end, once it commits: its release group's next batch, and
    a proposal for a newer failed run no remediation has acted on (a regression arriving while
    this one ran got no proposal of its own: one at a time)."""
    if remediation.release_group:
        transaction.on_commit(lambda: start_next_batch(remediation.release_group))
    if newer and not Remediation.objects.filter(ticket_id=ticket.pk, run_key=newer).exists():
        newer_ticket_id = ticket.pk
        transaction.on_commit(lambda: _propose_newer(newer_ticket_id))


def finish_not_run(remediation_id: int, *, detail: str) -> Remediation | None:
    """The watched rerun ended without running the failed work: Airflow ended the cleared task
    instance `skipped` (a branch not taken, a short-circuit upstream) or `removed` (no longer
    in the DAG); or the rerun was not started, nothing of it failing any more or someone
    having rerun it since: a Databricks run none of whose tasks failed last (repaired since,
    or being repaired), repaired by people since its failure reached the ticket, or a newer
    run of whose job succeeded; an ADF run no longer its run group's latest (rerun since); an
    Airflow task instance no longer failed (cleared, retried or done since). That is no
    success of the fix (nothing ran, so the ticket is not resolved) and no failure of it
    (nothing failed, so no next attempt is proposed: it would be skipped the same way). The
    remediation ends `skipped` with `detail` as its reason, announced as a
    skipped remediation; the ticket stays open for people. Idempotent as `finish` is; a newer
    failed run of the ticket is proposed, and a release group's next batch started, as
    `finish` does; `detail` is redacted as `finish`'s is."""
    detail = redact(detail)
    with transaction.atomic():
        locked = _lock_running(remediation_id)
        if locked is None:
            return None
        remediation, ticket = locked
        remediation.status = RemediationStatus.SKIPPED
        remediation.reason = detail[:2000]
        remediation.finished_at = timezone.now()
        remediation.save(update_fields=["status", "reason", "finished_at"])
        _set_ticket_status(
            ticket,
            remediation,
            "remediation ended without running",
            reason=remediation.reason,
            announce="remediation_skipped",
        )
        _go_on_after(remediation, ticket, _newer_failed_run(ticket, remediation))
    return remediation


# Refusals of the service's own credentials (its token, secret or password, or what they may do).
CREDENTIAL_REFUSALS = {401, 403}
# Answers that what the action names is not at the service (`not_found_there`).
NOT_FOUND = {404, 410}


def action_died(
    remediation_id: int, delivery_status: str, error: str, http_status: int | None = None
) -> Remediation | None:
    """The engine gave up on a delivery of the remediation's action (the service refused it,
    its retries ran out, or its target is no longer configured): the remediation fails with
    the error. Called by the engine as it gives up (`remediating.gave_up`), and by `sweep`
    for any it missed. `http_status`: the last answer's. A refusal of our credentials (401,
    403) is the last attempt at its run, as are a 404 or 410 (what it acts on is not at the
    service) and a start that may have reached the service."""
    if delivery_status == OutboundStatus.SKIPPED:
        detail = f"the action was not sent: {error}"
    else:
        detail = f"the action failed: {error}"
    last = ""
    if delivery_status == OutboundStatus.DEAD and http_status in CREDENTIAL_REFUSALS:
        last = credentials_refused(int(http_status or 0))
    elif delivery_status == OutboundStatus.DEAD and http_status in NOT_FOUND:
        last = not_found_there(int(http_status or 0))
    elif error.endswith(MAY_HAVE_STARTED):
        last = START_MAY_HAVE_RUN
    return finish(remediation_id, succeeded=False, detail=detail, no_next_attempt=last)


def last_status(delivery: OutboundDelivery) -> int | None:
    """The HTTP status of the delivery's last attempt, when it got an answer."""
    return delivery.tries.order_by("-id").values_list("http_status", flat=True).first()


# How long after its due time beat's sweep still proposes a next attempt whose scheduled task
# never ran (the broker was down when it was sent, or the message was lost with a worker).
RETRY_CATCH_UP = timedelta(days=1)


def _propose_later(ticket_id: str, delay: float) -> None:
    """The next attempt, once the policy's backoff has passed (sent by name: the task module
    imports this one, and a process that never imported it has no task object to call). If
    this message is lost, beat's `sweep` proposes the attempt within a minute of its time."""
    from rca_project.celery import app as celery_app

    try:
        celery_app.send_task(
            "integrations.tasks.propose_remediation", (ticket_id,), countdown=delay
        )
    except Exception as exc:
        logger.warning(
            "broker unavailable (%s); no later remediation attempt for %s",
            type(exc).__name__,
            ticket_id,
        )


def _propose_newer(ticket_id: str) -> None:
    """Propose a remediation of the ticket's newer failed run, as processing proposes a
    regression (`propose` decides, within the policy's attempts and backoff). The ended one is
    committed, so a failure here is logged and does not undo it."""
    try:
        propose(ticket_id)
    except Exception:
        logger.exception("could not propose a remediation of the newer run of %s", ticket_id)


def _resolve(ticket: Ticket, remediation: Remediation) -> None:
    """The run recovered: the ticket is resolved with the remediation as the actor, and what
    fixed it is kept as a resolution for the next similar failure. A ticket already resolved
    (the source's own success webhook got there first) keeps that resolution. The success is
    announced once (the Slack thread's line, the JIRA comment), saying so when it resolved the
    ticket."""
    actor = remediation_actor(remediation)
    told = remediation.reason
    if ticket.status != Status.RESOLVED:
        # The fix is shown on the next similar failure: it says who chose to run it, if anyone.
        how = f"approved by {remediation.decided_by}" if remediation.decided_by else "automatic"
        lifecycle.resolve(
            ticket.pk,
            actor,
            note=remediation.reason,
            fix=f"{remediation.get_action_display()} (remediation, {how})",
        )
        lifecycle.write_audit(
            ticket,
            actor,
            "resolved by remediation",
            details={"remediation": remediation.pk, "external_run_id": remediation.external_run_id},
        )
        # The resolve is told in this one line (one Slack thread line, one JIRA comment): the
        # targets leave the resolve's own announcement to it (`told_with_its_success`).
        told = f"{told}; the ticket is resolved"
    lifecycle.announce(ticket.pk, "remediation_succeeded", actor, told)


def source_recovered(ticket_id: str) -> Remediation | None:
    """The source's own success webhook for the ticket's pipeline: a running remediation of it
    succeeded; one that has not started (held, awaiting approval) is skipped, as the run needs
    no rerun any more."""
    _skip_not_started(ticket_id, "the run recovered at its source")
    active = Remediation.objects.filter(
        ticket_id=ticket_id, status=RemediationStatus.RUNNING
    ).first()
    if active is None:
        return None
    return finish(
        active.pk,
        succeeded=True,
        detail="the source reported the run succeeded",
        actor=Actor.source("source"),
    )


# The statuses of a remediation that has not started: people resolving its ticket skip it.
NOT_STARTED = (
    RemediationStatus.PROPOSED,
    RemediationStatus.HELD,
    RemediationStatus.AWAITING_APPROVAL,
)
# The announcement of a remediation skipped because people resolved its ticket: the
# resolve's own announcement tells it already (`skips_on_resolve`), so the targets only
# bring the remediation's state up to date.
SKIPPED_ON_RESOLVE = "remediation_skipped_on_resolve"


def skips_on_resolve(ticket_id: str) -> bool:
    """Resolving the ticket now (people, inside the resolve's transaction, the ticket locked)
    skips a remediation of it: one has not started, and none can start on a resolved ticket
    (approving it skips it, a held batch leaves it out)."""
    return Remediation.objects.filter(ticket_id=ticket_id, status__in=NOT_STARTED).exists()


def _skip_announcement(ticket: Ticket) -> str:
    """How the skip of a resolved ticket's remediation not started is announced: people's
    resolve said it skips it already (`skips_on_resolve`, the remediation waiting then), so
    no line of its own; the source's recovery did not."""
    return "remediation_skipped" if ticket.resolved_at_source_at is not None else SKIPPED_ON_RESOLVE


def ticket_resolved(ticket_id: str, actor: Actor) -> int:
    """People resolved the ticket (or its incident): a remediation of it that has not started
    (held, awaiting approval) is skipped, as when the run recovers at its source; a running
    one goes on (its success keeps their resolution). Returns how many were skipped."""
    return _skip_not_started(
        ticket_id, f"the ticket was resolved by {actor.name}", announce=SKIPPED_ON_RESOLVE
    )


def _skip_not_started(ticket_id: str, reason: str, *, announce: str = "remediation_skipped") -> int:
    with transaction.atomic():
        waiting = list(
            Remediation.objects.select_for_update()
            .filter(ticket_id=ticket_id, status__in=NOT_STARTED)
            .order_by("attempt_number")
        )
        if not waiting:
            return 0
        ticket = Ticket.objects.defer("embedding").get(pk=ticket_id)
        for remediation in waiting:
            _skip(remediation, ticket, reason, actor=Actor.system("remediation"), announce=announce)
    return len(waiting)


def _skip(
    remediation: Remediation,
    ticket: Ticket,
    reason: str,
    *,
    actor: Actor,
    announce: str = "remediation_skipped",
) -> None:
    """A remediation that has not started is not run (it is locked by the caller)."""
    remediation.status = RemediationStatus.SKIPPED
    remediation.reason = reason
    remediation.finished_at = timezone.now()
    remediation.save(update_fields=["status", "reason", "finished_at"])
    _set_ticket_status(
        ticket,
        remediation,
        "remediation skipped",
        actor=actor,
        reason=reason,
        announce=announce,
        announce_note=_skip_note(remediation, reason),
    )


# --- callbacks (playbooks) -----------------------------------------------------------------------

_SUCCESS = {"succeeded", "success", "successful", "completed", "resolved", "true"}
_FAILURE = {"failed", "failure", "error", "false", "cancelled", "canceled", "timedout"}


class CallbackError(Exception):
    """The callback body does not name a running remediation or a status we understand."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def apply_callback(body: dict[str, Any]) -> tuple[Remediation, str]:
    """A playbook's report, in the body of the product this replaces: ticket_id, status (or
    success), attempt_number, remediation_run_id, pipeline_name or job_name,
    original_run_id, error_type, error_message. Returns (remediation, what happened).

    It reports on a playbook remediation only: PLAYBOOK_SECRET is the playbook's credential,
    and an ADF rerun, a Databricks repair or an Airflow clear is watched by the service
    itself, so a callback never ends one of those (nor resolves their ticket)."""
    ticket_id = str(body.get("ticket_id") or "").strip()
    if not ticket_id:
        raise CallbackError("field 'ticket_id' is required")
    if "success" in body and "status" not in body:
        raw_status = "success" if body.get("success") in (True, "true", "True") else "failed"
    else:
        raw_status = str(body.get("status") or "").strip().lower()
    if not raw_status:
        raise CallbackError("field 'status' (or 'success') is required")
    remediations = Remediation.objects.filter(
        ticket_id=ticket_id, action=RemediationAction.PLAYBOOK
    )
    attempt = body.get("attempt_number")
    if attempt not in (None, ""):
        # A whole number, or its ASCII digits as text: not 1.5 or true, which int() reads as
        # 1, nor " 1" or a fullwidth digit, which it reads as 1 too.
        if isinstance(attempt, bool) or not isinstance(attempt, int | str):
            raise CallbackError("field 'attempt_number' must be an integer")
        if isinstance(attempt, str) and not (attempt.isascii() and attempt.isdigit()):
            raise CallbackError("field 'attempt_number' must be an integer")
        remediations = remediations.filter(attempt_number=int(attempt))
    remediation = remediations.first()
    if remediation is None:
        raise CallbackError(
            f"no remediation of ticket {ticket_id[:64]} called the playbook"
            + (f" as attempt {str(attempt)[:20]}" if attempt not in (None, "") else ""),
            status=404,
        )
    run_id = str(body.get("remediation_run_id") or "")[:200]
    if run_id and not remediation.external_run_id and remediation.is_active:
        Remediation.objects.filter(pk=remediation.pk).update(external_run_id=run_id)
    error = redacted_head(str(body.get("error_message") or ""), 2000)
    if raw_status in _SUCCESS:
        done = finish(remediation.pk, succeeded=True, detail="the playbook reported success")
    elif raw_status in _FAILURE:
        detail = f"the playbook reported failure: {error}" if error else "the playbook failed"
        done = finish(remediation.pk, succeeded=False, detail=detail)
    elif raw_status in {"running", "in_progress", "inprogress", "started", "accepted"}:
        return remediation, "noted"
    else:
        raise CallbackError(f"unknown status '{raw_status[:40]}'")
    if done is None:
        return remediation, f"ignored: remediation is {remediation.status}"
    return done, done.status


# --- time: expiry, lost actions, watch deadline ---------------------------------------------------


def sweep(now: Any = None) -> int:
    """Expire approvals past their time; fail running remediations whose action delivery died
    or was skipped (its target's configuration went away after the proposal) and that the
    engine did not fail as it gave up (`action_died`), or whose result did not come within
    REMEDIATION_WATCH_SECONDS; propose the next attempt of
    a failed one whose backoff is over and whose scheduled proposal never ran (`propose` is
    idempotent, so one that did run is left alone); skip the waiting remediations whose
    policy was switched off and whose `skip_later` message was lost (`POLICY_OFF`); start the
    next batch of a release group whose start was lost (`restart_group`). Returns how many
    changed."""
    now = now or timezone.now()
    changed = 0
    for remediation_id in Remediation.objects.filter(
        status=RemediationStatus.AWAITING_APPROVAL, expires_at__lte=now
    ).values_list("pk", flat=True)[:500]:
        with transaction.atomic():
            remediation = (
                Remediation.objects.select_for_update(skip_locked=True)
                .filter(pk=remediation_id, status=RemediationStatus.AWAITING_APPROVAL)
                .first()
            )
            if remediation is not None:
                _expire(remediation)
                changed += 1
    switched_off = Remediation.objects.filter(status__in=WAITING).filter(POLICY_OFF)
    changed += skip_switched_off(list(switched_off.values_list("pk", flat=True)[:500]))
    for remediation in Remediation.objects.filter(status=RemediationStatus.RUNNING)[:500]:
        dead = (
            OutboundDelivery.objects.filter(
                ticket_id=remediation.ticket_id,
                payload__remediation_id=remediation.pk,
                status__in=(OutboundStatus.DEAD, OutboundStatus.SKIPPED),
            )
            .order_by("-completed_at")
            .first()
        )
        if dead is not None:
            done = action_died(remediation.pk, dead.status, dead.last_error, last_status(dead))
        elif watch_deadline_passed(remediation):
            detail = f"no result within {settings.REMEDIATION_WATCH_SECONDS} s"
            done = finish(
                remediation.pk, succeeded=False, detail=detail, no_next_attempt=WATCH_TIMED_OUT
            )
        else:
            continue
        if done is not None:
            changed += 1
    longest = RemediationPolicy.objects.aggregate(longest=Max("backoff_seconds"))["longest"]
    due = (
        Remediation.objects.retry_due(now, RETRY_CATCH_UP, timedelta(seconds=longest or 0))
        .order_by("finished_at")
        .values_list("ticket_id", flat=True)
    )
    policies = enabled_policies()
    for ticket_id in due[:500]:
        try:
            made = propose(ticket_id, policies=policies)
        except DATABASE_UNAVAILABLE:
            raise
        except Exception:  # one ticket's failure must not keep the others from their attempt
            logger.exception("could not propose the next remediation of %s", ticket_id)
            continue
        changed += made is not None
    for group in stalled_groups(now)[:100]:
        try:
            changed += restart_group(group, now)
        except DATABASE_UNAVAILABLE:
            raise
        except Exception:  # one group's failure must not keep the others from their batch
            logger.exception("could not start the next batch of release group %s", group)
    return changed


# --- batches after an incident -------------------------------------------------------------------


def release_held(ticket_ids: list[str]) -> str:
    """The culprit recovered: rerun the held remediations of these tickets, in batches of
    REMEDIATION_BATCH_SIZE, each batch once the previous one has finished. Returns the group.
    One transaction: a group with nothing of it running would start no next batch, so its
    remediations are never left in it without its first batch started (a failure leaves them
    held without a group, for the next release)."""
    group = uuid.uuid4().hex
    with transaction.atomic():
        Remediation.objects.filter(
            ticket_id__in=ticket_ids, status=RemediationStatus.HELD, release_group=""
        ).update(release_group=group)
        start_next_batch(group)
    return group


# How long a release group may have held remediations and nothing running before beat's sweep
# starts its next batch: `finish` starts it as it commits, unless that step was lost.
BATCH_RESTART_AFTER = timedelta(minutes=1)


def stalled_groups(now: Any) -> QuerySet[Remediation, str]:
    """Release groups with held remediations and none running (or otherwise active), whose
    last batch ended BATCH_RESTART_AFTER before `now` or earlier: their next batch was lost."""
    # `exclude(release_group="")` states the `remediation_release_group` index's condition, so
    # each held row's look-up reads its group there, not the whole table.
    busy = (
        Remediation.objects.filter(release_group=OuterRef("release_group"))
        .exclude(release_group="")
        .filter(
            Q(status__in=[s for s in ACTIVE_REMEDIATION if s != RemediationStatus.HELD])
            | Q(finished_at__gt=now - BATCH_RESTART_AFTER)
        )
    )
    return (
        Remediation.objects.filter(status=RemediationStatus.HELD)
        .exclude(release_group="")
        .exclude(Exists(busy))
        .order_by()
        .values_list("release_group", flat=True)
        .distinct()
    )


def restart_group(group: str, now: Any) -> int:
    """Start the next batch of a stalled release group (`stalled_groups`). Of concurrent
    sweepers, the one that locks the group's oldest held remediation starts it; the others skip
    that row (SKIP LOCKED), or, once it is committed, find the batch running."""
    with transaction.atomic():
        oldest = (
            Remediation.objects.filter(release_group=group, status=RemediationStatus.HELD)
            .order_by("created_at", "id")
            .values_list("pk", flat=True)
            .first()
        )
        if oldest is None:
            return 0
        locked = (
            Remediation.objects.select_for_update(skip_locked=True)
            .filter(pk=oldest, status=RemediationStatus.HELD)
            .first()
        )
        if locked is None or not stalled_groups(now).filter(release_group=group).exists():
            return 0
        return start_next_batch(group)


def start_next_batch(group: str) -> int:
    """Start the next batch of a release group unless one of it is still running."""
    group_rows = Remediation.objects.filter(release_group=group)
    with transaction.atomic():
        held = list(
            group_rows.select_for_update(skip_locked=True)
            .filter(status=RemediationStatus.HELD)
            .order_by("created_at", "id")
        )
        # Read apart, once the held ones are locked: a running one the engine is writing (its
        # action reporting its start) would be skipped among locked rows and read as not
        # running; and a batch another start committed meanwhile is seen.
        if not held or group_rows.filter(status=RemediationStatus.RUNNING).exists():
            return 0
        # Locked, as an approval locks it: a resolve committing meanwhile (which says it skips
        # this remediation, `skips_on_resolve`) is waited for, not read open. By id, the order
        # every multi-ticket lock takes (`incidents.lock_with_members`), not the batch's order.
        tickets = {
            ticket.pk: ticket
            for ticket in Ticket.objects.select_for_update(no_key=True)
            .defer("embedding")
            .filter(pk__in={r.ticket_id for r in held})
            .order_by("pk")
        }
        _lock_policies(held)  # after the tickets, as an approval locks them
        started = 0
        for remediation in held:
            if started >= settings.REMEDIATION_BATCH_SIZE:
                break
            ticket = tickets[remediation.ticket_id]
            if ticket.resolved_at_source_at is not None or ticket.status == Status.RESOLVED:
                # Recovered (or resolved by people) meanwhile: nothing to rerun. Acknowledged
                # is not closed: people owning the outage do not call off its reruns.
                recovered = ticket.resolved_at_source_at is not None
                remediation.status = RemediationStatus.SKIPPED
                remediation.reason = (
                    "the run recovered at its source"
                    if recovered
                    else f"the ticket is {ticket.get_status_display().lower()}"
                )
                remediation.finished_at = timezone.now()
                remediation.save(update_fields=["status", "reason", "finished_at"])
                _set_ticket_status(
                    ticket,
                    remediation,
                    "remediation skipped",
                    actor=Actor.system("incident recovered"),
                    reason=remediation.reason,
                    announce=_skip_announcement(ticket),
                    announce_note=_skip_note(remediation, remediation.reason),
                )
                continue
            released = Actor.system("incident recovered")
            verdict = policy_now(remediation, ticket)
            if verdict.off:
                _skip(remediation, ticket, verdict.off, actor=released)
                continue
            policy = remediation.policy
            if policy is not None and verdict.dry_run:
                verb = "would have asked" if verdict.ask else "would have run"
                # As one approved under a dry run says: who approved it, when people did.
                because = "; ".join(
                    part
                    for part in (decided_by_people(remediation), "released from its hold")
                    if part
                )
                _skip_as_dry_run(remediation, ticket, policy, because, actor=released, verb=verb)
                continue
            if verdict.ask:
                # Its policy asks for approval now: people decide, as on a proposal under it.
                _ask_on_release(remediation, ticket, verdict.ask)
                continue
            remediation.reason = ""
            remediation.save(update_fields=["reason"])
            # One skipped (its run is being remediated already) leaves its place to the next.
            if _start(remediation, ticket, actor=released):
                started += 1
    return started
