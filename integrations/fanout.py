"""The delivery engine: JIRA issue, Slack alert and Blob evidence for each ticket (and any other
target in the registry, integrations/targets/), and keeping them in step.

Each thing to do is an `OutboundDelivery` row with an idempotency key, delivered by the one
outbound task on its target's own Celery queue. A delivery is attempted under a row lock (so two
workers never do it twice), every attempt is recorded, transient errors are retried with
exponential backoff and equal jitter (a random wait between half and all of the exponential
ceiling; honouring Retry-After), permanent errors and exhausted retries leave a dead letter that
staff can retry from admin (the target is told as the engine gives up: `Target.gave_up`), an
open circuit breaker makes deliveries wait instead of failing, and a target's pace
(integrations/pacing.py) makes them wait for their slot instead of exceeding its rate. The engine
knows targets only through the registry: what each action does lives in the target's module.

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

import contextlib
import functools
import logging
import random
import threading
import time
import uuid
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, JSONField, OuterRef, Q, Subquery
from django.db.models.expressions import RawSQL
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from analysis.redaction import redact
from integrations import pacing
from integrations import targets as registry
from integrations.circuit import CircuitBreaker, redis_client
from integrations.events import SERVICE_HEALTH_NOTICE
from integrations.models import (
    FOLLOW_UP_KEY,
    AttemptOutcome,
    DeliveryAttempt,
    OutboundDelivery,
    OutboundStatus,
    Remediation,
)
from integrations.targets.base import (
    NOTICE_NOT_PAGED,
    RECOVERED_BEFORE_PAGING,
    Change,
    FollowUp,
    IncidentChange,
    NotSent,
    TransportError,
    Waiting,
    incident_delivery_key,
    latest_page,
    left_unpaged,
    member_approval_key,
)
from rca_project.celery import app as celery_app
from rca_project.celery import publish_many
from rca_project.observability import OUTBOUND_ATTEMPTS, tracking
from tickets.lifecycle import Actor
from tickets.models import Incident, Ticket
from tickets.vocabulary import Status

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryResult:
    status: str
    retry_in: float | None = None


# --- scheduling -------------------------------------------------------------------------------


def schedule(
    ticket_id: str,
    action: str,
    key: str,
    payload: dict[str, Any] | None = None,
    *,
    delay: float | None = None,
    held: bool = False,
) -> None:
    """Create the delivery (once per key) and hand it to its target's queue after commit;
    `delay`: not before that many seconds; `held`: recorded only, for
    `release_regression_pages` (its payload says whose regression it waits for: `HELD`)."""
    row, created = OutboundDelivery.objects.get_or_create(
        key=key,
        defaults={
            "ticket_id": ticket_id,
            "action": action,
            "target": registry.target_of(action).name,
            "payload": payload or {},
            "next_attempt_at": timezone.now() + timedelta(seconds=delay or 0),
        },
    )
    if created and not held:
        transaction.on_commit(lambda: enqueue(row.pk, row.target, countdown=delay))


def enqueue(outbound_id: int, target: str, countdown: float | None = None) -> None:
    """Send the outbound task; the registry's router puts it on the target's queue. Sent by
    name: the task module imports this one, and a process that never imported it (the web
    server, the inbox relay) has no task object to call."""
    try:
        celery_app.send_task(registry.DELIVER_TASK, (outbound_id, target), countdown=countdown)
    except Exception as exc:
        logger.warning(
            "broker unavailable (%s); outbound %s left for redelivery",
            type(exc).__name__,
            outbound_id,
        )


def schedule_initial(ticket_id: str, *, delay: float | None = None) -> None:
    """A new, analysed ticket: each target's first deliveries (open the JIRA issue, post the
    Slack alert, keep the evidence), not before `delay` seconds."""
    for target in registry.targets():
        for action in target.initial:
            schedule(ticket_id, action, f"{ticket_id}:{action}", delay=delay)


def schedule_initial_many(
    tickets: Sequence[tuple[str, float | None]], *, recovered: Collection[str] = ()
) -> None:
    """`schedule_initial` for several (ticket, delay) at once: one query for the keys already
    there (left as they are, as `schedule` leaves them), one INSERT for the others, and after
    the commit their tasks, published in one broker batch. A ticket of `recovered` still over
    at its source (read again under its row's lock) pages nobody: the deliveries of the targets
    that page (those that page incidents) are recorded skipped, saying why; the others (the
    evidence) run. The lock orders this with a regression of the ticket, which holds the row
    while it looks for those skipped pages (`page_if_left_unpaged`): the regression committed
    first is seen here (the ticket pages), or it waits and sees the skipped pages. A Service
    Health notice pages nobody either while SERVICE_HEALTH_NOTICES_PAGE is off
    (`_locked_unpaged`): its pages are recorded skipped, saying so (`NOTICE_NOT_PAGED`)."""
    if not tickets:
        return
    delays = {ticket_id: delay for ticket_id, delay in tickets}
    with transaction.atomic():
        still_recovered, quiet = _locked_unpaged(recovered, delays)
        rows = _initial_rows(tickets, still_recovered, quiet)
        there = set(
            OutboundDelivery.objects.filter(key__in=[row.key for row in rows]).values_list(
                "key", flat=True
            )
        )
        rows = [row for row in rows if row.key not in there]
        if not rows:
            return
        OutboundDelivery.objects.bulk_create(rows, ignore_conflicts=True)
        pending = list(
            OutboundDelivery.objects.filter(
                key__in=[row.key for row in rows], status=OutboundStatus.PENDING
            ).values_list("pk", "target", "ticket_id")
        )
        transaction.on_commit(
            lambda: enqueue_many(
                [(pk, target, delays.get(ticket_id)) for pk, target, ticket_id in pending]
            )
        )


def _locked_unpaged(
    recovered: Collection[str], ticket_ids: Collection[str]
) -> tuple[set[str], set[str]]:
    """Those of `recovered` resolved at their source, and those of `ticket_ids` that are
    Service Health notices (`SERVICE_HEALTH_NOTICE` in their details) while
    SERVICE_HEALTH_NOTICES_PAGE is off (none while it is on), their rows locked in one
    statement (in id order, as every multi-ticket lock takes them) until the caller's
    transaction ends: a notice's update that escalates it (tickets/services.py
    `_escalate_notice`, under the ticket's lock) committed first is seen here (its flag
    cleared, it pages), or it waits for these skipped pages, which its
    `page_escalated_notice` then sees."""
    quiet_wanted = not settings.SERVICE_HEALTH_NOTICES_PAGE and bool(ticket_ids)
    if not recovered and not quiet_wanted:
        return set(), set()
    over = Q(pk__in=list(recovered), status=Status.RESOLVED, resolved_at_source_at__isnull=False)
    notice = Q(pk__in=list(ticket_ids), **{f"details__{SERVICE_HEALTH_NOTICE}": True})
    rows = list(
        Ticket.objects.filter((over | notice) if quiet_wanted else over)
        .order_by("pk")
        .select_for_update(no_key=True)
        .values_list("pk", "status", "resolved_at_source_at", f"details__{SERVICE_HEALTH_NOTICE}")
    )
    still_recovered = {
        pk
        for pk, status, over_at, _ in rows
        if pk in recovered and status == Status.RESOLVED and over_at is not None
    }
    quiet = {pk for pk, _, _, flag in rows if quiet_wanted and pk in ticket_ids and flag is True}
    return still_recovered, quiet


def _initial_rows(
    tickets: Sequence[tuple[str, float | None]],
    recovered: Collection[str],
    quiet: Collection[str] = (),
) -> list[OutboundDelivery]:
    now = timezone.now()
    return [
        OutboundDelivery(
            key=f"{ticket_id}:{action}",
            ticket_id=ticket_id,
            action=action,
            target=target.name,
            payload={},
            next_attempt_at=now + timedelta(seconds=delay or 0),
            **(
                {
                    "status": OutboundStatus.SKIPPED,
                    "last_error": NOTICE_NOT_PAGED
                    if ticket_id in quiet
                    else RECOVERED_BEFORE_PAGING,
                    "completed_at": now,
                }
                if (ticket_id in recovered or ticket_id in quiet) and target.incident_initial
                else {}
            ),
        )
        for ticket_id, delay in tickets
        for target in registry.targets()
        for action in target.initial
    ]


def enqueue_many(deliveries: Sequence[tuple[int, str, float | None]]) -> None:
    """`enqueue` for several (outbound id, target, countdown), in one broker batch."""
    if not publish_many(
        [
            (registry.DELIVER_TASK, (outbound_id, target), countdown)
            for outbound_id, target, countdown in deliveries
        ]
    ):
        logger.warning("%d outbound deliveries left for redelivery", len(deliveries))


def schedule_follow_up(
    ticket_id: str,
    action: str,
    actor: Actor,
    note: str = "",
    fix: str = "",
    *,
    skips_remediation: bool = False,
    through_incident: str = "",
) -> None:
    """A ticket changed: each target that follows such a change (and did not cause it) is
    brought up to date. Runs inside the change's transaction (`ticket_changing`), so it costs
    one query, and one INSERT when some target follows (one more query, a probe of an index,
    for a follow-up that merges: `_merge_edits`; a change of a remediation: a few more,
    `schedule_member_remediation`); a target whose `follow` fails is logged and skipped, never
    failing the change.

    A regression's follow-ups (its failure's count among them), and those of any change after
    it until the regression is processed, are held (`HELD`: recorded, not handed out) for
    `release_regression_pages`."""
    if action == "created":
        return  # a ticket just created has no deliveries yet (not even a query to ask)
    # Its first delivery in `outbound_ticket`'s order. An EXISTS is planned from the average
    # history of a ticket: where a few tickets hold long ones, PostgreSQL scanned the table for
    # the ticket's first row (all of it when that ticket's rows are the last); in the index's
    # order, a scan would have to sort the ticket's rows first, so the index is read.
    first_own = (
        OutboundDelivery.objects.filter(ticket_id=OuterRef("pk"))
        .exclude(payload__has_key="incident_id")
        .order_by("created_at")
        .values("pk")[:1]
    )
    page = (
        Ticket.objects.filter(pk=ticket_id)
        .annotate(
            paged=Subquery(first_own),
            held=Exists(_held_follow_ups().filter(ticket_id=OuterRef("pk"))),
        )
        .values_list("paged", "held", "status", "incident_id", "itsm_ticket_id", "slack_ts")
        .first()
    )
    if page is None:
        return
    first_delivery, held, status, incident_id, jira_key, slack_ts = page
    paged = first_delivery is not None
    # A failure counted on a resolved ticket is its regression's (announced next).
    held = held or action == "regressed" or (action == "recurred" and status == Status.RESOLVED)
    if action.startswith("remediation_"):
        # A member with no alert of its own: its remediation's approval is asked for under
        # the incident's page. One asked there and detached since (its own alert offers the
        # decision now) still has that request brought up to date.
        schedule_member_remediation(
            ticket_id, incident_id if incident_id and not slack_ts else None, action
        )
    if incident_id and not jira_key and not slack_ts:
        # A member whose own page was skipped (it joined the incident during its grace
        # delay): the incident's page shows the change.
        return
    if not paged:
        return  # not fanned out yet: nothing of its own to update
    change = Change(ticket_id, action, actor, note, fix, skips_remediation, through_incident)
    now = timezone.now()
    rows = []
    for target in registry.targets():
        # A target's `follow` only reads the change (no database): what it builds goes in the
        # one INSERT below, so a bug in it is logged and skipped instead of failing the change.
        try:
            follow = target.follow(change)
            if follow is None:
                continue
            follow_action, payload = follow
            payload = {**(payload or {}), **({HELD: True} if held else {})}
            if target.merges(follow_action, payload):
                payload[MERGES] = True
            row = OutboundDelivery(
                key=f"{ticket_id}:{follow_action}:{uuid.uuid4().hex}",
                ticket_id=ticket_id,
                action=follow_action,
                target=registry.target_of(follow_action).name,
                payload=payload,
                next_attempt_at=now,
            )
        except Exception:
            logger.exception("%s could not follow %s on %s", target.name, action, ticket_id)
            continue
        rows.append(row)
    if not rows:
        return
    # In a transaction (the change's, without a savepoint): a merge's lock lasts until it ends.
    with transaction.atomic(savepoint=False):
        _merge_edits(rows, held, now)
        OutboundDelivery.objects.bulk_create(rows)
        sent = [row for row in rows if row.status == OutboundStatus.PENDING]
        if sent and not held:
            transaction.on_commit(
                lambda: enqueue_many([(row.pk, row.target, None) for row in sent])
            )


# In the payload of a follow-up that only brings its target's copy of the ticket up to date,
# drawn from the ticket as it is when it is sent (`Target.merges`: an edit of the Slack alert
# with no thread reply): true. A later change's such follow-up is merged into it while it is
# pending (`_merge_edits`).
MERGES = "merges"
# In the payload of a follow-up merged into another (`_merge_edits`): that one's id.
MERGED_INTO = "merged_into"


def _merge_edits(rows: Sequence[OutboundDelivery], held: bool, now: Any) -> None:
    """Each of `rows` (not saved yet) that merges (`MERGES`), where its ticket has a delivery
    of the same action that merges too, pending, held as it is (`HELD`), that no worker is
    delivering: recorded skipped, merged into that one (`MERGED_INTO`, and its `last_error`
    says so), instead of sending an edit of its own. Sent later, that one shows the change as
    it shows the ticket as it is then; so it does not matter which change it came from.

    The one found is locked until the change's transaction ends: a worker handed it meanwhile
    finds it busy and tries again 5 s later (`deliver`), so it cannot send before the change
    commits, nor the ticket as it was before the change. One a worker holds is not merged
    into (it may have read the ticket already): the change gets its own edit, and so does
    every change while the ticket's only pending edit is held by another change
    (`skip_locked`: a change never waits for a worker or another change here)."""
    for row in rows:
        if not row.payload.get(MERGES):
            continue
        pending = _pending_merges(row.ticket_id, row.action, held)
        into = pending.select_for_update(skip_locked=True).values_list("pk", flat=True).first()
        if into is None:
            continue
        row.payload = {**row.payload, MERGED_INTO: into}
        row.status = OutboundStatus.SKIPPED
        row.last_error = merged_words(into)
        row.completed_at = now


def _pending_merges(ticket_id: str | None, action: str, held: bool) -> Any:
    """The ticket's pending follow-ups of `action` that merge (`MERGES`), held or not."""
    pending = OutboundDelivery.objects.filter(
        ticket_id=ticket_id, action=action, status=OutboundStatus.PENDING, payload__has_key=MERGES
    )
    if held:
        return pending.filter(**{f"payload__{HELD}": True})
    return pending.exclude(payload__has_key=HELD)


def _take_pending_edits(row: OutboundDelivery) -> list[int]:
    """Where `row` (locked, about to be sent) merges (`MERGES`): the ids of its ticket's other
    pending edits that merge, held as it is, that nobody holds, locked until its delivery
    ends. Each was made by a change that committed with it, before this read it, so the
    edit, reading the ticket after this, shows their changes: sent, it stands for them
    (`_merge_taken_edits`). They are there when a change came while the pending edit was
    being tried (`_merge_edits` takes no merge then), an attempt Slack refused with a 429 say:
    without this, each went out on its own once Slack took edits again, all showing the same."""
    if not row.payload.get(MERGES):
        return []
    others = _pending_merges(row.ticket_id, row.action, row.payload.get(HELD) is True)
    return list(
        others.exclude(pk=row.pk).select_for_update(skip_locked=True).values_list("pk", flat=True)
    )


def _merge_taken_edits(row: OutboundDelivery, taken: Sequence[int]) -> None:
    """`row` was sent: the pending edits it took (`_take_pending_edits`) are recorded merged
    into it, as are the follow-ups merged into them, so each merged one names an edit sent."""
    if not taken:
        return
    into = {
        "payload": RawSQL(
            "payload || jsonb_build_object(%s::text, %s::bigint)",
            (MERGED_INTO, row.pk),
            output_field=JSONField(),
        ),
        "last_error": merged_words(row.pk),
    }
    OutboundDelivery.objects.filter(
        ticket_id=row.ticket_id,
        action=row.action,
        status=OutboundStatus.SKIPPED,
        **{f"payload__{MERGED_INTO}__in": list(taken)},
    ).update(**into)
    OutboundDelivery.objects.filter(pk__in=taken).update(
        status=OutboundStatus.SKIPPED, completed_at=timezone.now(), **into
    )


def merged_words(into: int) -> str:
    """Why a follow-up merged into delivery `into` was not sent itself (its `last_error`)."""
    return f"merged into delivery {into}, which shows the ticket as it is when it is sent"


# In the payload of a follow-up held until its ticket's regression is processed
# (`schedule_follow_up`, `release_regression_pages`): true; in that of an incident's status
# change held until the regression of the member that reopened it is processed
# (`schedule_incident_status`): that member's id. Held ones are pending and not handed out:
# should the processing be lost, beat's redelivery of overdue deliveries releases them
# (`redeliver_stale`).
HELD = "held"


def _held() -> Any:
    return OutboundDelivery.objects.filter(status=OutboundStatus.PENDING, payload__has_key=HELD)


def _held_follow_ups() -> Any:
    """A ticket's own held follow-ups (not its incident's changes, held on its lead)."""
    return _held().filter(**{f"payload__{HELD}": True})


def _held_for_members(ticket_ids: Collection[str]) -> Any:
    """Incidents' status changes held for these members' regressions."""
    return _held().filter(**{f"payload__{HELD}__in": list(ticket_ids)})


def skip_regressions_gone_into(incident_id: str, ticket_ids: Collection[str]) -> int:
    """An incident formed with tickets whose regression had not paged yet (its follow-ups held
    for its processing: `schedule_follow_up`): each failed again into the incident, whose
    page tells it. Their held follow-ups (reopening the ticket's own issue, telling its alert's
    thread) are recorded skipped, saying so, as a regression that joins an open incident
    schedules none (`signals.follow_ticket_change`); an own page out already is pointed to
    the incident's once it pages (`member_links`). Inside the forming transaction, the
    tickets' rows locked: `release_regression_pages` either released them before (the
    regression paged) or finds none. How many were skipped."""
    regressing = (
        _held_follow_ups()
        .filter(ticket_id__in=list(ticket_ids), payload__action="regressed")
        .values("ticket_id")
    )
    return (
        _held_follow_ups()
        .filter(ticket_id__in=regressing)
        .update(
            status=OutboundStatus.SKIPPED,
            last_error=f"not sent: the ticket failed again into incident {incident_id}, "
            "whose page tells it",
            completed_at=timezone.now(),
        )
    )


def release_incident_reopenings(ticket_ids: Collection[str]) -> int:
    """Failures counted on open members that had recovered at their source (ingest, in its
    transaction: `EventOutcome.reopens_incident`): one of a member left open at its recovery
    (RESOLVE_ON_SOURCE_RECOVERY off) is no regression, nothing processes it later, but it
    reopened its incident (`incidents.record_recurrence`), whose status changes
    held for it (`schedule_incident_status`) go out as those a regression held do
    (`release_regression_pages`; the tickets' own held follow-ups, which wait for their
    regressions, stay held). One probe of `outbound_held` when none is held for them. How many
    held changes were handed out."""
    ids = [pk for pk in ticket_ids if pk]
    if not ids or not _held_for_members(ids).exists():
        return 0
    return release_regression_pages(ids, incidents_only=True)


def release_regression_pages(ticket_ids: Collection[str], *, incidents_only: bool = False) -> int:
    """Regressions processed (`processing`), as a new ticket's page waits for its analysis:
    the follow-ups each one held go out, its own page first when it never paged
    (`page_if_left_unpaged`). A ticket over at its source by now (resolved by its recovery,
    which came first or landed meanwhile) pages nobody: they are recorded skipped, saying
    why, its recovery's follow-ups among them, and it stays unpaged where it was. Under the
    tickets' locks, the ones a change takes to hold its follow-ups (`schedule_follow_up`).

    So are the status changes of an incident one of them reopened (`schedule_incident_status`:
    the outage back, and what its incident told after it): they go out, unless every member
    has recovered at its source by now (the incident's `recovered_at`), the reopening over
    before anybody was paged: then they are recorded skipped, as the ticket's own are. Under
    the incidents' locks too, taken after the tickets', as ingest takes them.
    `incidents_only`: those incidents' changes alone (`release_incident_reopenings`).
    How many held follow-ups were handed out."""
    if not ticket_ids:
        return 0
    now = timezone.now()
    with transaction.atomic():
        tickets = list(
            Ticket.objects.select_for_update(no_key=True)
            .filter(pk__in=ticket_ids)
            .order_by("pk")
            .values_list("pk", "status", "resolved_at_source_at")
        )
        recovered = {pk for pk, status, over in tickets if status == Status.RESOLVED and over}
        held = _held_follow_ups().filter(
            ticket_id__in=[] if incidents_only else [pk for pk, _, _ in tickets]
        )
        held.filter(ticket_id__in=recovered).update(
            status=OutboundStatus.SKIPPED, last_error=RECOVERED_BEFORE_PAGING, completed_at=now
        )
        released = list(held.values_list("pk", "target", "ticket_id", "payload__action"))
        incidents_held = _held_for_members([pk for pk, _, _ in tickets])
        incident_ids = set(incidents_held.values_list("payload__incident_id", flat=True))
        over = {
            pk
            for pk, recovered_at in Incident.objects.select_for_update(no_key=True)
            .filter(pk__in=incident_ids)
            .order_by("pk")
            .values_list("pk", "recovered_at")
            if recovered_at is not None
        }
        incidents_held.filter(payload__incident_id__in=list(over)).update(
            status=OutboundStatus.SKIPPED, last_error=RECOVERED_BEFORE_PAGING, completed_at=now
        )
        told = list(incidents_held.values_list("pk", "target"))
        released_all = [(pk, target) for pk, target, _, _ in released] + told
        if not released_all:
            return 0
        _held().filter(pk__in=[pk for pk, _ in released_all]).update(
            payload=RawSQL("payload - %s", (HELD,), output_field=JSONField()),
            next_attempt_at=now,
        )
        # Not one that regressed into an incident (its `regressed` follows nothing of its own).
        for ticket_id in sorted({ticket for _, _, ticket, act in released if act == "regressed"}):
            page_if_left_unpaged(ticket_id)
        transaction.on_commit(
            lambda: enqueue_many([(pk, target, None) for pk, target in released_all])
        )
    return len(released_all)


def schedule_member_remediation(ticket_id: str, incident_id: str | None, action: str) -> None:
    """A remediation of a member without an alert of its own (`incident_id`, None for any
    other ticket) changed: it awaits approval, so each target that can asks for it under the
    incident's page (once per remediation, keyed by it); or it was asked for there, and the
    request is brought up to date (once per change of it), whether or not the ticket is still
    such a member. Inside the change's transaction, as `schedule_follow_up`."""
    remediation_id = (
        Remediation.objects.filter(ticket_id=ticket_id).values_list("pk", flat=True).first()
    )
    if remediation_id is None:
        return
    payload = {"incident_id": incident_id, "remediation": remediation_id}
    for target in registry.targets():
        if not target.member_remediation:
            continue
        key = member_approval_key(ticket_id, target.member_remediation, remediation_id)
        if action == "remediation_awaiting_approval":
            if incident_id:
                schedule(ticket_id, target.member_remediation, key, {**payload, "ask": True})
        elif OutboundDelivery.objects.filter(key=key).exists():
            schedule(ticket_id, target.member_remediation, f"{key}:{action}", payload)


def schedule_incident_change(incident_id: str, action: str) -> None:
    """An incident formed: its one JIRA issue and one Slack message. It changed: each target
    updates its page at most once per INCIDENT_UPDATE_SECONDS (a storm of joins is one update
    per window, keyed by the window, delivered at its end)."""
    lead = Incident.objects.filter(pk=incident_id).values_list("lead_ticket_id", flat=True).first()
    if not lead:
        return
    payload = {"incident_id": incident_id}
    if action == "formed":
        for target in registry.targets():
            for initial in target.incident_initial:
                schedule(lead, initial, incident_delivery_key(incident_id, initial), payload)
        return
    period = float(settings.INCIDENT_UPDATE_SECONDS)
    now = time.time()
    window = int(now // period)
    delay = (window + 1) * period - now
    for target in registry.targets():
        if target.incident_update:
            key = f"incident:{incident_id}:{target.incident_update}:{window}"
            schedule(lead, target.incident_update, key, payload, delay=delay)


def schedule_member_links(ticket_id: str, incident_id: str) -> None:
    """A member whose own page was out when it joined an incident (the incident's page may be
    out already, so its `member_links` will not ask): each target's link delivery, keyed by
    the member as `member_links` and `incident_after_paging` key it, so it is sent once
    whichever path asks."""
    payload = {"incident_id": incident_id}
    for target in registry.targets():
        if target.incident_link:
            key = f"{ticket_id}:{target.incident_link}"
            schedule(ticket_id, target.incident_link, key, payload)


def schedule_incident_status(change: IncidentChange) -> None:
    """An incident's status changed: each target that tells about such a change (a Slack
    thread reply under its message, a JIRA comment on its issue) gets one delivery, keyed by
    the change's timeline entry, so the same change scheduled twice is delivered once. Runs
    inside the change's transaction (`incident_status_changing`): the deliveries commit with
    the change or not at all; a target whose `incident_status` fails is logged and skipped.

    The outage back (`regressed`: a member's regression reopened the incident) is held, as
    that member's own follow-ups are, until its regression is processed
    (`release_regression_pages`), and so is every change of the incident told meanwhile (its
    recovery's among them). A member left open at its recovery failing again reopens it with
    no regression: ingest releases that at once (`release_incident_reopenings`)."""
    incident_id = change.incident_id
    lead = Incident.objects.filter(pk=incident_id).values_list("lead_ticket_id", flat=True).first()
    if not lead:
        return
    held_for = (
        change.ticket_id
        if change.action == "regressed"
        else _held()
        .filter(ticket_id=lead, payload__incident_id=incident_id)
        .exclude(**{f"payload__{HELD}": True})
        .values_list(f"payload__{HELD}", flat=True)
        .first()
    )
    for target in registry.targets():
        try:
            follow = target.incident_status(change)
        except Exception:
            logger.exception(
                "%s could not follow %s on %s", target.name, change.action, incident_id
            )
            continue
        if follow is None:
            continue
        action, payload = follow
        key = f"incident:{incident_id}:{action}:{change.event_id}"
        payload = {**payload, "incident_id": incident_id, **({HELD: held_for} if held_for else {})}
        schedule(lead, action, key, payload, held=bool(held_for))


def schedule_own_page(ticket_id: str) -> None:
    """A ticket taken out of its incident pages on its own, unless it already has: its own
    page is its targets' initial deliveries (a remediation's action is no page).

    Those of a target that pages incidents which ran while it was a member (it joined in its
    grace delay) skipped it, the incident's page covering it: each is scheduled again, once,
    under a key of its own (one that did page finds its issue or alert out and sends nothing).
    A pending one pages as it runs now. One being delivered is waited for (its row lock): it
    may have read the ticket still a member."""
    pages = [action for target in registry.targets() for action in target.initial]
    skipped_by_members = {
        action
        for target in registry.targets()
        if target.incident_initial
        for action in target.initial
    }
    with transaction.atomic():
        own = list(
            OutboundDelivery.objects.select_for_update()
            .filter(ticket_id=ticket_id, action__in=pages)
            .exclude(payload__has_key="incident_id")
            .values_list("action", "status")
        )
        if not own:
            schedule_initial(ticket_id)
        for action, status in own:
            if action in skipped_by_members and status == OutboundStatus.SUCCEEDED:
                schedule(ticket_id, action, f"{ticket_id}:{action}:detached")


def page_if_left_unpaged(ticket_id: str) -> None:
    """The failure of a ticket that recovered before it paged is back (a regression): it
    pages now, once, under keys of its own. Not a Service Health notice left unpaged as one
    (`NOTICE_NOT_PAGED`) that is still one: back, it is still a notice; one whose regression
    escalated it (tickets/services.py `_escalate_notice`: an outage now) pages, and so does
    one back while SERVICE_HEALTH_NOTICES_PAGE is on (it was left unpaged while it was off)."""
    escalated = settings.SERVICE_HEALTH_NOTICES_PAGE or not still_a_notice(ticket_id)
    for target in registry.targets():
        if not target.incident_initial:
            continue
        for action in target.initial:
            if left_unpaged(ticket_id, action, notices=escalated):
                schedule(ticket_id, action, f"{ticket_id}:{action}:regressed")


def still_a_notice(ticket_id: str) -> bool:
    """The ticket is a Service Health notice (`SERVICE_HEALTH_NOTICE` in its details)."""
    return Ticket.objects.filter(
        pk=ticket_id, **{f"details__{SERVICE_HEALTH_NOTICE}": True}
    ).exists()


def page_escalated_notice(ticket_id: str) -> bool:
    """A Service Health notice's update escalated it (an outage now: tickets/services.py
    `_escalate_notice`, inside the ingest transaction, under the ticket's lock), or came once
    SERVICE_HEALTH_NOTICES_PAGE was turned on (`_page_notice_left_quiet`): each page its
    ticket left unpaged as a notice (`NOTICE_NOT_PAGED`) is sent now, as a new ticket's
    would be: once, under a key of its own, after `INCIDENT_GRACE_SECONDS` (another
    subscription's alert of its Azure incident may group with it meanwhile, the incident
    then paging it: tickets/incidents.py `_tracking_of`). A notice that paged (with
    SERVICE_HEALTH_NOTICES_PAGE on) is not paged again; one whose pages are not scheduled yet
    pages as its processing schedules them (`schedule_initial_many`, which finds it a notice
    no more); a resolved one (the update reopening it) pages as its regression is processed
    (`page_if_left_unpaged`). True when it has paged (or its pages are on their way) as a
    notice, none left unpaged: its issue and alert are to be brought up to date instead."""
    resolved = not Ticket.objects.filter(pk=ticket_id).exclude(status=Status.RESOLVED).exists()
    paged = unpaged = False
    for target in registry.targets():
        if not target.incident_initial:
            continue
        for action in target.initial:
            latest = latest_page(ticket_id, action)
            if latest is None:
                continue
            if latest.status == OutboundStatus.SKIPPED and latest.last_error == NOTICE_NOT_PAGED:
                unpaged = True
                if not resolved:
                    key = f"{ticket_id}:{action}:escalated"
                    schedule(ticket_id, action, key, delay=float(settings.INCIDENT_GRACE_SECONDS))
            else:
                paged = True
    return paged and not unpaged


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
    down at enqueue, worker killed). Each is handed out again once. Held ones (their
    regression's processing lost, or later still) are released as that processing would
    (`release_regression_pages`): handed out as they were, a ticket that never paged would
    have its `regressed` follow-ups find nothing to update, and page nobody. How many were
    handed out, the released held ones among them."""
    now = timezone.now()
    overdue = OutboundDelivery.objects.overdue(now - timedelta(seconds=grace_seconds))
    held = (
        overdue.filter(**{f"payload__{HELD}": True}, ticket_id__isnull=False)
        .order_by("ticket_id")
        .values_list("ticket_id", flat=True)
        .distinct()[:1000]
    )
    held_for_members = (
        overdue.filter(payload__has_key=HELD)
        .exclude(**{f"payload__{HELD}": True})
        .order_by(f"payload__{HELD}")
        .values_list(f"payload__{HELD}", flat=True)
        .distinct()[:1000]
    )
    released = release_regression_pages(sorted({*held, *held_for_members}))
    rows = list(overdue.exclude(payload__has_key=HELD).values_list("pk", "target")[:1000])
    OutboundDelivery.objects.filter(pk__in=[pk for pk, _ in rows]).update(next_attempt_at=now)
    enqueue_many([(outbound_id, target, None) for outbound_id, target in rows])
    return released + len(rows)


# --- delivering --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _transport(target: str, config: tuple[Any, ...], thread: int) -> Any:
    return registry.get(target).connect()


def transport_for(target: str) -> Any:
    """One client per target, configuration and thread: connections are reused, and never
    shared between the threads of a thread-pool worker."""
    config = tuple(getattr(settings, name, None) for name in registry.get(target).settings)
    return _transport(target, config, threading.get_ident())


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff with equal jitter: a random wait between half and all of the
    ceiling, `OUTBOUND_BACKOFF_SECONDS * 2**attempts` capped at `OUTBOUND_BACKOFF_MAX_SECONDS`."""
    ceiling = min(
        settings.OUTBOUND_BACKOFF_MAX_SECONDS, settings.OUTBOUND_BACKOFF_SECONDS * 2**attempts
    )
    return random.uniform(ceiling / 2, ceiling)


def _retry_later(row: OutboundDelivery, seconds: float) -> DeliveryResult:
    row.next_attempt_at = timezone.now() + timedelta(seconds=seconds)
    row.save(update_fields=["attempts", "last_error", "next_attempt_at"])
    return DeliveryResult(OutboundStatus.PENDING, retry_in=seconds)


def deliver(outbound_id: int) -> DeliveryResult:
    with contextlib.ExitStack() as logged:
        result = _deliver(outbound_id, logged)
        logger.info("outbound %s: %s", outbound_id, result.status)
    return result


def _deliver(outbound_id: int, logged: contextlib.ExitStack) -> DeliveryResult:
    with transaction.atomic():
        # Lock this delivery only (not the ticket): another worker holding it is delivering it.
        # The ticket's tracking id comes in the same statement.
        row = (
            OutboundDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .annotate(ticket_tracking_id=F("ticket__tracking_id"))
            .filter(pk=outbound_id)
            .first()
        )
        if row is None:
            if OutboundDelivery.objects.filter(pk=outbound_id).exists():
                return DeliveryResult("busy", retry_in=5.0)  # check again once it is done
            return DeliveryResult("gone")
        # What is logged from here on carries it, up to `deliver`'s own line, so the commit's
        # follow-ups (after this block) do too.
        logged.enter_context(tracking(row.ticket_tracking_id))
        if row.status != OutboundStatus.PENDING:
            return DeliveryResult(row.status)
        early = (row.next_attempt_at - timezone.now()).total_seconds()
        target = registry.get(row.target)
        action = target.actions[row.action]
        if action.not_before and early > 0:  # handed out before its time
            return DeliveryResult(OutboundStatus.PENDING, retry_in=early)
        if action.in_order is not None and _keeps_order(row, action.in_order):
            earlier_due = _earlier_pending_due(row, action.in_order)
            if earlier_due is not None:  # not an attempt: it goes once the earlier one has
                due_in = (earlier_due - timezone.now()).total_seconds()
                return _retry_later(row, max(due_in, 0.0) + backoff_seconds(1))
        transport = transport_for(row.target)
        if transport is None:
            _record(row, AttemptOutcome.SKIPPED, 0, target.not_configured)
            _finish(row, OutboundStatus.SKIPPED, target.not_configured)
            _gave_up(row)
            return DeliveryResult(OutboundStatus.SKIPPED)
        breaker = CircuitBreaker(row.target)
        wait = breaker.wait_seconds()
        if wait > 0:
            _record(row, AttemptOutcome.CIRCUIT_OPEN, 0, f"circuit open for {wait:.0f}s more")
            return _retry_later(row, wait + random.uniform(0, 2))
        pace = target.pace_for(row)
        if pace is not None:
            slot = pacing.wait_seconds(row.target, pace, row)
            if slot > 0:  # its slot is reserved: not an attempt, nothing sent
                return _retry_later(row, slot)
        # Before the edit reads the ticket: the changes of those it takes are in what it reads.
        taken = _take_pending_edits(row)
        started = time.perf_counter()
        try:
            follow_ups = action.run(transport, row) or ()
        except Waiting as exc:
            _record(row, AttemptOutcome.WAITING, _ms(started), str(exc))
            return _retry_later(row, backoff_seconds(1))
        except NotSent as exc:
            _record(row, AttemptOutcome.SKIPPED, _ms(started), str(exc))
            _finish(row, OutboundStatus.SKIPPED, str(exc))
            return DeliveryResult(OutboundStatus.SKIPPED)
        except TransportError as exc:
            return _failed(row, breaker, exc, _ms(started))
        breaker.record_success()
        _record(row, AttemptOutcome.SUCCEEDED, _ms(started))
        row.attempts += 1
        _finish(row, OutboundStatus.SUCCEEDED)
        _merge_taken_edits(row, taken)
        for follow_up in follow_ups:
            _schedule_follow_up(row, follow_up)
        return DeliveryResult(OutboundStatus.SUCCEEDED)


def _keeps_order(row: OutboundDelivery, items: Mapping[str, Any]) -> bool:
    return row.ticket_id is not None and all(row.payload.get(k) == v for k, v in items.items())


def _earlier_pending_due(row: OutboundDelivery, items: Mapping[str, Any]) -> datetime | None:
    """When the earliest delivery of the same action and payload `items` made for the ticket
    before `row`, still pending, is due (None: there is none)."""
    return (
        OutboundDelivery.objects.filter(
            ticket_id=row.ticket_id,
            target=row.target,
            action=row.action,
            status=OutboundStatus.PENDING,
            pk__lt=row.pk,
            **{f"payload__{key}": value for key, value in items.items()},
        )
        .order_by("pk")
        .values_list("next_attempt_at", flat=True)
        .first()
    )


def apply_outbound_retention() -> int:
    """Delete the follow-ups that succeeded or were skipped before OUTBOUND_RETENTION_DAYS
    (dead letters stay for an operator); how many rows went, their attempts included."""
    cutoff = timezone.now() - settings.OUTBOUND_RETENTION
    deleted, _ = OutboundDelivery.objects.filter(
        status__in=(OutboundStatus.SUCCEEDED, OutboundStatus.SKIPPED),
        completed_at__lt=cutoff,
        key__regex=FOLLOW_UP_KEY,
    ).delete()
    return deleted


def _schedule_follow_up(row: OutboundDelivery, follow_up: FollowUp) -> None:
    suffix = follow_up.key_suffix or f"{follow_up.action}:{uuid.uuid4().hex}"
    ticket_id = follow_up.ticket_id or row.ticket_id
    key = f"{ticket_id}:{suffix}"
    schedule(ticket_id, follow_up.action, key, follow_up.payload, delay=follow_up.delay)


def _failed(
    row: OutboundDelivery, breaker: CircuitBreaker, exc: TransportError, duration_ms: int
) -> DeliveryResult:
    row.attempts += 1
    outcome = AttemptOutcome.PERMANENT_ERROR if exc.permanent else AttemptOutcome.TRANSIENT_ERROR
    _record(row, outcome, duration_ms, str(exc), exc.status)
    if exc.permanent:
        _finish(row, OutboundStatus.DEAD, str(exc))
        _gave_up(row)
        return DeliveryResult(OutboundStatus.DEAD)
    breaker.record_failure()
    if row.attempts >= settings.OUTBOUND_MAX_ATTEMPTS:
        _finish(row, OutboundStatus.DEAD, f"gave up after {row.attempts} attempts: {exc}")
        _gave_up(row)
        return DeliveryResult(OutboundStatus.DEAD)
    row.last_error = redact(str(exc))[:2000]
    return _retry_later(row, max(exc.retry_after or 0.0, backoff_seconds(row.attempts)))


def _gave_up(row: OutboundDelivery) -> None:
    """Tell the target the engine gave up on this delivery (`Target.gave_up`). Its own
    savepoint: a failure there is logged and leaves the dead letter recorded."""
    hook = registry.get(row.target).gave_up
    if hook is None:
        return
    try:
        with transaction.atomic():
            hook(row)
    except Exception:
        logger.exception("outbound %s: the %s target's gave_up failed", row.pk, row.target)


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _record(
    row: OutboundDelivery,
    outcome: str,
    duration_ms: int,
    error: str = "",
    status: int | None = None,
) -> None:
    """Record one attempt. Its error quotes the target's own answer (an error body, a
    refusal's message: a connection string or token among what it echoes), so it is redacted
    before it is stored, as the delivery's `last_error` is (`_finish`, `_failed`)."""
    OUTBOUND_ATTEMPTS.labels(row.target, outcome).inc()
    DeliveryAttempt.objects.create(
        outbound=row,
        outcome=outcome,
        duration_ms=duration_ms,
        error=redact(error)[:2000],
        http_status=status,
    )


def _finish(row: OutboundDelivery, status: str, error: str = "") -> None:
    row.status = status
    row.last_error = redact(error)[:2000]
    row.completed_at = timezone.now()
    row.save(update_fields=["status", "attempts", "last_error", "completed_at"])


# --- live state for /metrics --------------------------------------------------------------------


def live_gauges() -> Iterator[Metric]:
    """Tasks waiting in each queue and each target's circuit breaker (read at scrape time)."""
    queue = GaugeMetricFamily(
        "rca_queue_depth", "Tasks waiting in a Celery queue.", labels=["queue"]
    )
    circuit = GaugeMetricFamily(
        "rca_circuit_open", "1 when a target's circuit breaker is open.", labels=["target"]
    )
    client = redis_client()
    for name in (settings.CELERY_TASK_DEFAULT_QUEUE, *registry.outbound_queues()):
        queue.add_metric([name], client.llen(name))
    for target in registry.targets():
        state = CircuitBreaker(target.name).state()
        circuit.add_metric([target.name], 0 if state == "closed" else 1)
    yield queue
    yield circuit
