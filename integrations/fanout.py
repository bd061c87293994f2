"""Fan-out: JIRA issue, Slack alert and Blob evidence for each ticket, and keeping them in step.

Each thing to do is an `OutboundDelivery` row with an idempotency key, delivered by its own
Celery task. A delivery is attempted under a row lock (so two workers never do it twice), every
attempt is recorded, transient errors are retried with exponential backoff and full jitter
(honouring Retry-After), permanent errors and exhausted retries leave a dead letter that staff
can retry from admin, and an open circuit breaker makes deliveries wait instead of failing.

Exactly one JIRA issue and one Slack alert per ticket, although neither JIRA's issue create nor
Slack's chat.postMessage takes an idempotency key. A create whose answer is lost (the client
timed out while the target carried the request out late; the worker was killed before the result
was committed) may still land after its retry. So:
- what we create is tagged with the ticket: the JIRA label `rca-<ticket id>`, Slack message
  metadata `{"event_type": "rca_ticket_alert", "event_payload": {"ticket_id": ...}}`;
- each create request sent is counted in Redis before it is sent, so a later attempt knows one
  may be out there even when its attempt was never recorded (SIGKILL rolls the record back);
  create calls recorded as failed (but not throttled) count too, should Redis lose the count;
- an attempt that follows such a send looks at the target first and adopts what it finds
  (JIRA: always, the look-up is one search);
- because a late request can land after that look-up, a reconcile delivery runs
  RECONCILE_AFTER_TIMEOUTS client timeouts later: it lists what carries the ticket's tag, keeps
  the issue/message the ticket is linked to and removes the others. It is not scheduled when
  every earlier send is accounted for (as many found as were sent). Later JIRA/Slack syncs of a
  ticket that needed one repeat the check, for requests later still.
"""

from __future__ import annotations

import functools
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import redis
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integrations import messages
from integrations.circuit import CircuitBreaker, redis_client
from integrations.models import (
    ACTION_TARGET,
    AttemptOutcome,
    DeliveryAttempt,
    OutboundAction,
    OutboundDelivery,
    OutboundStatus,
    WebhookDelivery,
)
from integrations.transports import BlobTransport, JiraTransport, SlackTransport, TransportError
from rca_project.observability import OUTBOUND_ATTEMPTS, tracking
from tickets import jira_status, lifecycle
from tickets.lifecycle import Actor
from tickets.models import ActorKind, Ticket

logger = logging.getLogger(__name__)

TRANSPORTS: dict[str, type[JiraTransport] | type[SlackTransport] | type[BlobTransport]] = {
    "jira": JiraTransport,
    "slack": SlackTransport,
    "blob": BlobTransport,
}
# The settings each transport is built from: a change of any of them builds a new client.
TRANSPORT_SETTINGS = {
    "jira": ("JIRA_URL", "JIRA_USER", "JIRA_API_TOKEN", "OUTBOUND_TIMEOUT_SECONDS"),
    "slack": ("SLACK_BOT_TOKEN", "SLACK_BASE_URL", "OUTBOUND_TIMEOUT_SECONDS"),
    "blob": (
        "AZURE_STORAGE_CONNECTION_STRING",
        "AZURE_STORAGE_CONTAINER",
        "OUTBOUND_TIMEOUT_SECONDS",
    ),
}
NOT_CONFIGURED = {
    "jira": "JIRA is not configured (set JIRA_URL, JIRA_USER, JIRA_API_TOKEN)",
    "slack": "Slack is not configured (set SLACK_BOT_TOKEN)",
    "blob": "Azure Blob is not configured (set AZURE_STORAGE_CONNECTION_STRING)",
}


# A create request that has not landed this many client timeouts after it was sent is taken as
# never landing; the reconcile runs that long after the create succeeded.
RECONCILE_AFTER_TIMEOUTS = 5
RECONCILE_ACTIONS = {OutboundAction.JIRA_RECONCILE, OutboundAction.SLACK_RECONCILE}
SLACK_EVENT_TYPE = "rca_ticket_alert"
# Slack ts come from Slack's clock, `created_at` from ours: look that much further back.
CLOCK_SKEW_SECONDS = 120
SENDS_TTL_SECONDS = 7 * 24 * 3600
# How a failed create call's recorded error starts (the transports' wording). Keyed by `str`:
# looked up with a delivery's action as loaded from the database.
CREATE_CALL: dict[str, str] = {
    OutboundAction.JIRA_CREATE: "JIRA create issue",
    OutboundAction.SLACK_POST: "Slack chat.postMessage",
}


class Waiting(Exception):
    """This delivery depends on another one that has not finished yet."""


@dataclass(frozen=True)
class DeliveryResult:
    status: str
    retry_in: float | None = None


# --- scheduling -------------------------------------------------------------------------------


def schedule(
    ticket_id: str,
    action: OutboundAction,
    key: str,
    payload: dict[str, Any] | None = None,
    *,
    delay: float | None = None,
) -> None:
    """Create the delivery (once per key) and hand it to its target's task after commit;
    `delay`: not before that many seconds."""
    row, created = OutboundDelivery.objects.get_or_create(
        key=key,
        defaults={
            "ticket_id": ticket_id,
            "action": action,
            "target": ACTION_TARGET[action],
            "payload": payload or {},
            "next_attempt_at": timezone.now() + timedelta(seconds=delay or 0),
        },
    )
    if created:
        transaction.on_commit(lambda: enqueue(row.pk, row.target, countdown=delay))


def enqueue(outbound_id: int, target: str, countdown: float | None = None) -> None:
    from integrations import tasks

    task = {"jira": tasks.send_to_jira, "slack": tasks.send_to_slack, "blob": tasks.send_to_blob}
    try:
        task[target].apply_async((outbound_id,), countdown=countdown)
    except Exception:
        logger.warning("broker unavailable; outbound %s left for redelivery", outbound_id)


def schedule_initial(ticket_id: str) -> None:
    """A new, analysed ticket: open the JIRA issue, post the Slack alert, keep the evidence."""
    for action in (
        OutboundAction.JIRA_CREATE,
        OutboundAction.SLACK_POST,
        OutboundAction.BLOB_UPLOAD,
    ):
        schedule(ticket_id, action, f"{ticket_id}:{action}")


def schedule_follow_up(ticket_id: str, action: str, actor: Actor, note: str = "") -> None:
    """A ticket changed: follow it at the targets that did not cause the change."""
    if not OutboundDelivery.objects.filter(ticket_id=ticket_id).exists():
        return  # not fanned out yet: the initial deliveries will show the current state
    change = {"action": action, "actor": actor.name, "via": actor.kind, "note": note}
    lifecycle_change = action in {"acknowledge", "start_progress", "resolve", "reopen", "regressed"}
    thread = lifecycle_change or action in {"resolved_at_source", "sla_breached"}
    schedule(
        ticket_id,
        OutboundAction.SLACK_SYNC,
        f"{ticket_id}:slack_sync:{uuid.uuid4().hex}",
        {**change, "thread": thread},
    )
    if lifecycle_change and actor.kind != ActorKind.JIRA:
        schedule(
            ticket_id, OutboundAction.JIRA_SYNC, f"{ticket_id}:jira_sync:{uuid.uuid4().hex}", change
        )


def retry_dead(outbound_ids: list[int]) -> int:
    """Staff retry of dead letters: back to pending with a fresh attempt budget."""
    rows = list(OutboundDelivery.objects.dead().filter(pk__in=outbound_ids))
    for row in rows:
        OutboundDelivery.objects.filter(pk=row.pk).update(
            status=OutboundStatus.PENDING, attempts=0, last_error="", next_attempt_at=timezone.now()
        )
        transaction.on_commit(functools.partial(enqueue, row.pk, row.target))
    return len(rows)


def redeliver_stale(grace_seconds: float = 300) -> int:
    """Pending deliveries overdue by more than the grace period: their task was lost (broker
    down at enqueue, worker killed). Each is handed out again once."""
    now = timezone.now()
    rows = list(
        OutboundDelivery.objects.overdue(now - timedelta(seconds=grace_seconds)).values_list(
            "pk", "target"
        )[:1000]
    )
    for outbound_id, target in rows:
        OutboundDelivery.objects.filter(pk=outbound_id).update(next_attempt_at=now)
        enqueue(outbound_id, target)
    return len(rows)


# --- delivering --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _transport(target: str, config: tuple[Any, ...]) -> Any:
    return TRANSPORTS[target].from_settings()


def transport_for(target: str) -> Any:
    """One client per target and configuration per process: connections are reused."""
    config = tuple(getattr(settings, name, None) for name in TRANSPORT_SETTINGS[target])
    return _transport(target, config)


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff with full jitter."""
    ceiling = min(
        settings.OUTBOUND_BACKOFF_MAX_SECONDS, settings.OUTBOUND_BACKOFF_SECONDS * 2**attempts
    )
    return random.uniform(ceiling / 2, ceiling)


def _retry_later(row: OutboundDelivery, seconds: float) -> DeliveryResult:
    row.next_attempt_at = timezone.now() + timedelta(seconds=seconds)
    row.save(update_fields=["attempts", "last_error", "next_attempt_at"])
    return DeliveryResult(OutboundStatus.PENDING, retry_in=seconds)


def deliver(outbound_id: int) -> DeliveryResult:
    tracking_id = (
        OutboundDelivery.objects.filter(pk=outbound_id)
        .values_list("ticket__tracking_id", flat=True)
        .first()
    )
    with tracking(tracking_id):
        result = _deliver(outbound_id)
        logger.info("outbound %s: %s", outbound_id, result.status)
    return result


def _deliver(outbound_id: int) -> DeliveryResult:
    with transaction.atomic():
        # Lock this delivery only (not the ticket): another worker holding it is delivering it.
        row = (
            OutboundDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk=outbound_id)
            .first()
        )
        if row is None:
            if OutboundDelivery.objects.filter(pk=outbound_id).exists():
                return DeliveryResult("busy", retry_in=5.0)  # check again once it is done
            return DeliveryResult("gone")
        if row.status != OutboundStatus.PENDING:
            return DeliveryResult(row.status)
        early = (row.next_attempt_at - timezone.now()).total_seconds()
        if row.action in RECONCILE_ACTIONS and early > 0:  # handed out before its time
            return DeliveryResult(OutboundStatus.PENDING, retry_in=early)
        transport = transport_for(row.target)
        if transport is None:
            _record(row, AttemptOutcome.SKIPPED, 0, NOT_CONFIGURED[row.target])
            _finish(row, OutboundStatus.SKIPPED, NOT_CONFIGURED[row.target])
            return DeliveryResult(OutboundStatus.SKIPPED)
        breaker = CircuitBreaker(row.target)
        wait = breaker.wait_seconds()
        if wait > 0:
            _record(row, AttemptOutcome.CIRCUIT_OPEN, 0, f"circuit open for {wait:.0f}s more")
            return _retry_later(row, wait + random.uniform(0, 2))
        started = time.perf_counter()
        try:
            ACTIONS[row.action](transport, row)
        except Waiting as exc:
            _record(row, AttemptOutcome.WAITING, _ms(started), str(exc))
            return _retry_later(row, backoff_seconds(1))
        except TransportError as exc:
            return _failed(row, breaker, exc, _ms(started))
        breaker.record_success()
        _record(row, AttemptOutcome.SUCCEEDED, _ms(started))
        row.attempts += 1
        _finish(row, OutboundStatus.SUCCEEDED)
        return DeliveryResult(OutboundStatus.SUCCEEDED)


def _failed(
    row: OutboundDelivery, breaker: CircuitBreaker, exc: TransportError, duration_ms: int
) -> DeliveryResult:
    row.attempts += 1
    outcome = AttemptOutcome.PERMANENT_ERROR if exc.permanent else AttemptOutcome.TRANSIENT_ERROR
    _record(row, outcome, duration_ms, str(exc), exc.status)
    if exc.permanent:
        _finish(row, OutboundStatus.DEAD, str(exc))
        return DeliveryResult(OutboundStatus.DEAD)
    breaker.record_failure()
    if row.attempts >= settings.OUTBOUND_MAX_ATTEMPTS:
        _finish(row, OutboundStatus.DEAD, f"gave up after {row.attempts} attempts: {exc}")
        return DeliveryResult(OutboundStatus.DEAD)
    row.last_error = str(exc)[:2000]
    return _retry_later(row, max(exc.retry_after or 0.0, backoff_seconds(row.attempts)))


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _record(
    row: OutboundDelivery,
    outcome: str,
    duration_ms: int,
    error: str = "",
    status: int | None = None,
) -> None:
    OUTBOUND_ATTEMPTS.labels(row.target, outcome).inc()
    DeliveryAttempt.objects.create(
        outbound=row,
        outcome=outcome,
        duration_ms=duration_ms,
        error=error[:2000],
        http_status=status,
    )


def _finish(row: OutboundDelivery, status: str, error: str = "") -> None:
    row.status = status
    row.last_error = error[:2000]
    row.completed_at = timezone.now()
    row.save(update_fields=["status", "attempts", "last_error", "completed_at"])


# --- what each action does ----------------------------------------------------------------------


def _fresh(row: OutboundDelivery) -> Ticket:
    return Ticket.objects.defer("embedding").get(pk=row.ticket_id)


def _jira_label(ticket_id: str) -> str:
    return f"rca-{ticket_id}"


def _jira_create(jira: JiraTransport, row: OutboundDelivery) -> None:
    ticket = _fresh(row)
    if ticket.itsm_ticket_id:
        return
    label = _jira_label(ticket.pk)
    earlier = _earlier_sends(row)
    # Look first: a retry after a lost response must not open a second issue.
    found = jira.issues_with_label(label)
    if found:
        key = found[0]  # nothing is linked yet: keep the oldest
        _remove_jira_duplicates(jira, ticket, keep=key, found=found)
    else:
        _count_send(row)
        key = jira.create_issue(
            project=ticket.jira_project or settings.JIRA_DEFAULT_PROJECT,
            summary=messages.jira_summary(ticket),
            description=messages.jira_description(ticket),
            priority=messages.JIRA_PRIORITY[ticket.priority],
            labels=[label, "rca-service", f"rca-{ticket.error_type.lower()}"],
        )
    if ticket.status != "open":  # changed before the issue existed
        _jira_transition(jira, key, ticket)
    Ticket.objects.filter(pk=ticket.pk).update(itsm_ticket_id=key)
    ticket.itsm_ticket_id = key
    lifecycle.write_audit(ticket, Actor.system("jira"), "jira issue linked", details={"key": key})
    lifecycle.announce(ticket.pk, "jira_linked", Actor.system("jira"))
    if earlier is None or earlier > len(found):  # an earlier request may still land
        _schedule_reconcile(ticket.pk, OutboundAction.JIRA_RECONCILE)


def _jira_reconcile(jira: JiraTransport, row: OutboundDelivery) -> None:
    ticket = _fresh(row)
    if ticket.itsm_ticket_id:
        _remove_jira_duplicates(jira, ticket, keep=ticket.itsm_ticket_id)


def _remove_jira_duplicates(
    jira: JiraTransport, ticket: Ticket, *, keep: str, found: list[str] | None = None
) -> None:
    """Every issue but `keep` that carries the ticket's label was created twice by a retried
    request: delete it.

    Deleted rather than closed: the extra is our own copy of the same issue, seconds old, and
    a closed copy would still show in JIRA's searches, boards and reports, and (carrying the
    ticket's label) still map to the ticket in JIRA's webhooks. Two exceptions, where the issue
    is marked instead (our label taken off so that nothing maps it to the ticket any more,
    labelled `rca-duplicate`, a comment naming the kept issue): someone already worked on it
    (moved its status or commented; a person's work is never deleted), or JIRA refuses the
    delete (the account lacks the "Delete Issues" permission, 403). Nothing is removed unless
    the issue kept is itself among those found.
    """
    label = _jira_label(ticket.pk)
    keys = found if found is not None else jira.issues_with_label(label)
    extras = [key for key in keys if key != keep]
    if not extras:
        return
    if keep not in keys:
        logger.warning("%s: %s not among %s; nothing removed", ticket.pk, keep, keys)
        return
    note = (
        f"Duplicate of {keep}: created twice for RCA ticket {ticket.pk} by a retried request. "
        f"Follow {keep}; this issue is no longer linked to the ticket."
    )
    removed: dict[str, str] = {}
    for key in extras:
        try:
            outcome: str = jira.delete_issue_if_untouched(key)
        except TransportError as exc:
            if exc.status != 403:
                raise
            outcome = "touched"
        if outcome == "touched":
            gone = not jira.mark_duplicate(key, label=label, duplicate_of=keep, note=note)
            outcome = "gone" if gone else "marked duplicate"
        removed[key] = outcome
    logger.warning("%s: duplicate JIRA issues removed, %s kept: %s", ticket.pk, keep, removed)
    lifecycle.write_audit(
        ticket,
        Actor.system("jira"),
        "jira duplicates removed",
        details={"kept": keep, "removed": removed},
    )


def _jira_transition(jira: JiraTransport, key: str, ticket: Ticket) -> None:
    """Move the issue to the JIRA status the admin-editable map gives the ticket's status."""
    target = jira_status.jira_status_for(ticket.status)
    if target:
        jira.transition_to(key, target)


def _jira_sync(jira: JiraTransport, row: OutboundDelivery) -> None:
    ticket = _fresh(row)
    key = ticket.itsm_ticket_id or _wait_for(ticket, OutboundAction.JIRA_CREATE, "JIRA issue")
    if _reconciled(ticket, OutboundAction.JIRA_RECONCILE):  # late requests may land later still
        _remove_jira_duplicates(jira, ticket, keep=key)
    _jira_transition(jira, key, ticket)
    change = row.payload
    jira.add_comment(key, messages.jira_comment(change["action"], change["actor"], change["note"]))


def _slack_post(slack: SlackTransport, row: OutboundDelivery) -> None:
    ticket = _fresh(row)
    if ticket.slack_ts:
        return
    text, blocks = messages.slack_alert(ticket)
    channel = ticket.slack_channel or settings.SLACK_DEFAULT_CHANNEL
    earlier = _earlier_sends(row)
    channel_id = slack.channel_id(channel)
    found: list[str] = []
    if earlier != 0 and channel_id:  # an earlier post may have landed: look before posting
        try:
            found = _slack_alerts(slack, ticket, channel_id)
        except TransportError as exc:
            if not exc.permanent:
                raise
            # E.g. no channels:history scope: the alert matters more than a possible duplicate.
            logger.warning("%s: cannot look for an earlier alert (%s); posting", ticket.pk, exc)
    if channel_id and found:
        ts = found[0]  # nothing is linked yet: keep the oldest
        _remove_slack_duplicates(slack, ticket, channel_id, keep=ts, found=found)
    else:
        _count_send(row)
        channel_id, ts = slack.post_message(
            channel, text=text, blocks=blocks, metadata=_slack_metadata(ticket)
        )
    Ticket.objects.filter(pk=ticket.pk).update(slack_channel=channel_id, slack_ts=ts)
    if earlier is None or earlier > len(found):  # an earlier post may still land
        _schedule_reconcile(ticket.pk, OutboundAction.SLACK_RECONCILE)


def _slack_metadata(ticket: Ticket) -> dict[str, Any]:
    return {"event_type": SLACK_EVENT_TYPE, "event_payload": {"ticket_id": ticket.pk}}


def _slack_alerts(slack: SlackTransport, ticket: Ticket, channel_id: str) -> list[str]:
    """The ts of the alerts posted for the ticket in the channel, the oldest first."""
    since = (
        OutboundDelivery.objects.filter(ticket_id=ticket.pk, action=OutboundAction.SLACK_POST)
        .values_list("created_at", flat=True)
        .first()
    ) or ticket.timestamp
    return slack.tagged_messages(
        channel_id,
        event_type=SLACK_EVENT_TYPE,
        payload={"ticket_id": ticket.pk},
        oldest=since.timestamp() - CLOCK_SKEW_SECONDS,
    )


def _slack_reconcile(slack: SlackTransport, row: OutboundDelivery) -> None:
    ticket = _fresh(row)
    if ticket.slack_ts and ticket.slack_channel:
        _remove_slack_duplicates(slack, ticket, ticket.slack_channel, keep=ticket.slack_ts)


def _remove_slack_duplicates(
    slack: SlackTransport,
    ticket: Ticket,
    channel_id: str,
    *,
    keep: str,
    found: list[str] | None = None,
) -> None:
    """Every alert but `keep` carrying the ticket's metadata was posted twice by a retried
    request: delete it. Always deleted: it is the bot's own copy of the same alert, and its
    buttons act on the same ticket; should someone have replied under it, Slack keeps the
    thread under a "This message was deleted." placeholder. Nothing is removed unless the
    alert kept is itself among those found."""
    found = found if found is not None else _slack_alerts(slack, ticket, channel_id)
    extras = [ts for ts in found if ts != keep]
    if not extras:
        return
    if keep not in found:
        logger.warning("%s: Slack alert %s not among %s; nothing removed", ticket.pk, keep, found)
        return
    removed = {ts: "deleted" if slack.delete_message(channel_id, ts) else "gone" for ts in extras}
    logger.warning("%s: duplicate Slack alerts removed, %s kept: %s", ticket.pk, keep, removed)
    lifecycle.write_audit(
        ticket,
        Actor.system("slack"),
        "slack duplicates removed",
        details={"channel": channel_id, "kept": keep, "removed": removed},
    )


def _slack_sync(slack: SlackTransport, row: OutboundDelivery) -> None:
    ticket = _fresh(row)
    if not ticket.slack_ts:
        _wait_for(ticket, OutboundAction.SLACK_POST, "Slack alert")
    if _reconciled(ticket, OutboundAction.SLACK_RECONCILE):  # late posts may land later still
        _remove_slack_duplicates(slack, ticket, ticket.slack_channel, keep=ticket.slack_ts)
    text, blocks = messages.slack_alert(ticket)
    slack.update_message(ticket.slack_channel, ticket.slack_ts, text=text, blocks=blocks)
    change = row.payload
    if change.get("thread"):
        reply = messages.slack_thread_text(change["action"], change["actor"], change["via"])
        slack.reply_in_thread(ticket.slack_channel, ticket.slack_ts, text=reply)


def _blob_upload(blob: BlobTransport, row: OutboundDelivery) -> None:
    ticket = _fresh(row)
    deliveries = list(WebhookDelivery.objects.filter(ticket_id=ticket.pk).order_by("received_at"))
    url = blob.upload_evidence(ticket.pk, messages.evidence_files(ticket, deliveries))
    Ticket.objects.filter(pk=ticket.pk).update(blob_log_url=url)


# --- earlier sends and reconciling ---------------------------------------------------------------


def _sends_key(row: OutboundDelivery) -> str:
    return f"{settings.REDIS_KEY_PREFIX}:outbound:{row.pk}:sends"


def _earlier_sends(row: OutboundDelivery) -> int | None:
    """How many create requests earlier attempts of this delivery may have sent; None when
    it cannot be known (Redis unavailable). The attempts recorded as a create call that failed
    in a way the target may still have carried out count too, should Redis have lost its keys."""
    recorded = (
        row.tries.filter(
            outcome=AttemptOutcome.TRANSIENT_ERROR, error__startswith=CREATE_CALL[row.action]
        )
        .exclude(http_status=429)  # throttled: refused before being carried out
        .count()
    )
    try:
        counted = int(redis_client().get(_sends_key(row)) or 0)
    except (redis.RedisError, ValueError) as exc:
        logger.warning("outbound %s: earlier sends unknown (%s)", row.pk, exc)
        return None
    return max(counted, recorded)


def _count_send(row: OutboundDelivery) -> None:
    """Count a create request about to be sent (committed at once, unlike the attempt)."""
    key = _sends_key(row)
    try:
        # redis-py types a pipeline's commands as the client's; on a pipeline they return it.
        redis_client().pipeline().incr(key).expire(key, SENDS_TTL_SECONDS).execute()  # type: ignore[attr-defined]
    except redis.RedisError as exc:
        logger.warning("outbound %s: send not counted (%s)", row.pk, exc)


def _schedule_reconcile(ticket_id: str, action: OutboundAction) -> None:
    delay = RECONCILE_AFTER_TIMEOUTS * float(settings.OUTBOUND_TIMEOUT_SECONDS)
    schedule(ticket_id, action, f"{ticket_id}:{action.value}", delay=delay)


def _reconciled(ticket: Ticket, action: OutboundAction) -> bool:
    """The ticket needed a reconcile of this kind and it has run."""
    return OutboundDelivery.objects.filter(
        ticket_id=ticket.pk, action=action, status=OutboundStatus.SUCCEEDED
    ).exists()


def _wait_for(ticket: Ticket, action: str, what: str) -> str:
    first = OutboundDelivery.objects.filter(ticket_id=ticket.pk, action=action).first()
    if first is None or first.status in (OutboundStatus.DEAD, OutboundStatus.SKIPPED):
        state = "missing" if first is None else first.get_status_display().lower()
        raise TransportError(f"no {what} to update ({state})", permanent=True)
    raise Waiting(f"waiting for the {what} to be created")


ACTIONS: dict[str, Callable[[Any, OutboundDelivery], None]] = {
    OutboundAction.JIRA_CREATE: _jira_create,
    OutboundAction.JIRA_SYNC: _jira_sync,
    OutboundAction.SLACK_POST: _slack_post,
    OutboundAction.SLACK_SYNC: _slack_sync,
    OutboundAction.BLOB_UPLOAD: _blob_upload,
    OutboundAction.JIRA_RECONCILE: _jira_reconcile,
    OutboundAction.SLACK_RECONCILE: _slack_reconcile,
}
