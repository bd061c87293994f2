"""What the delivery engine (integrations/fanout.py) and an outbound target agree on.

A target is one module of this package holding its transport (a class wrapping the vendor's
own client), its message formatting and its actions, and exporting a `Target`; the registry
(integrations/targets/__init__.py) lists them. The engine knows targets only through it.

A transport method either succeeds or raises `TransportError`, whose `permanent` flag tells the
engine whether retrying can help: authentication, validation and misconfiguration are
permanent; throttling (with `retry_after` when the target says how long to wait), 5xx answers,
timeouts and connection failures are transient. The vendor clients' own retries are switched
off: retrying is done by the engine, where it is recorded and bounded. Transports never read
Django settings; their `from_settings()` does, and returns None when the target is not
configured.

An action gets the transport and the `OutboundDelivery` row, does its one thing, and returns
the follow-up deliveries it needs (a reconcile after a create); it raises `Waiting` when it
depends on a delivery that has not finished, `NotSent` when there is nothing to send (it is
recorded skipped), `TransportError` when the target failed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import logging
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import redis
from django.conf import settings

from integrations.circuit import redis_client
from integrations.models import FOLLOW_UP_KEY, AttemptOutcome, OutboundDelivery, OutboundStatus
from integrations.pacing import Pace
from tickets.lifecycle import Actor
from tickets.models import TITLE_FIELDS, ActorKind, Incident, RcaSource, Ticket, ticket_title
from tickets.vocabulary import Status

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0

# HTTP statuses worth retrying; every other 4xx is a permanent refusal.
TRANSIENT_STATUSES = {408, 409, 423, 425, 429}


class TransportError(Exception):
    """A failed call to an outbound target.

    permanent: retrying will not help (4xx auth/validation, misconfiguration).
    retry_after: seconds the target asked us to wait (429 Retry-After), when it said.
    status: the HTTP status, when there was an answer.
    unsent: the failure came before the request itself was sent (the login it needed, or its
    connection was never made), so it carried nothing out.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        retry_after: float | None = None,
        status: int | None = None,
        unsent: bool = False,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        self.status = status
        self.unsent = unsent

    def __repr__(self) -> str:
        kind = "permanent" if self.permanent else "transient"
        return (
            f"TransportError({str(self)!r}, {kind}, status={self.status}, "
            f"retry_after={self.retry_after})"
        )


@contextlib.contextmanager
def naming_destination(
    routed: str, default: str, setting: str, *, routed_by: str = "the ownership rule"
) -> Iterator[None]:
    """A failed call names where it was sent and what chose it: a refusal of the channel or
    project (Slack's channel_not_found, JIRA's 400 on the project) otherwise leaves staff to
    guess which ownership rule or setting to correct."""
    try:
        yield
    except TransportError as exc:
        where = f"{routed}, from {routed_by}" if routed else f"{default}, {setting}"
        raise TransportError(
            f"{exc} (sent to {where})",
            permanent=exc.permanent,
            retry_after=exc.retry_after,
            status=exc.status,
            unsent=exc.unsent,
        ) from exc


def is_transient_status(status: int | None) -> bool:
    return status is None or status >= 500 or status in TRANSIENT_STATUSES


def header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    if not headers:
        return None
    lowered = name.lower()
    for key, value in headers.items():
        if str(key).lower() == lowered:
            if isinstance(value, list | tuple):
                value = value[0] if value else None
            return None if value is None else str(value)
    return None


# The longest wait a Retry-After is honoured for: a longer one (up to `inf`, or past the
# calendar's end, to which no time can be added) is waited this long.
MAX_RETRY_AFTER_SECONDS = 86400.0


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After is either delta-seconds or an HTTP date; at most MAX_RETRY_AFTER_SECONDS."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - dt.datetime.now(dt.UTC)).total_seconds()
    if math.isnan(seconds):
        return None
    return min(max(0.0, seconds), MAX_RETRY_AFTER_SECONDS)


# ---------------------------------------------------------------------------------------------
# The contract
# ---------------------------------------------------------------------------------------------


class Waiting(Exception):
    """This delivery depends on another one that has not finished yet."""


class NotSent(Exception):
    """This delivery is not to be sent at all: it is recorded skipped, its message saying why."""


@dataclass(frozen=True)
class FollowUp:
    """A delivery an action asks for: `action` of the same target, not before `delay` seconds;
    one per `key_suffix` and ticket."""

    action: str
    delay: float | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    key_suffix: str = ""
    # For another ticket than the delivery's (an incident's member); blank: the same one.
    ticket_id: str = ""


@dataclass(frozen=True)
class Change:
    """A ticket change the targets may follow (tickets.lifecycle's `ticket_changing`)."""

    ticket_id: str
    action: str
    actor: Actor
    note: str = ""
    fix: str = ""  # what fixed it, given with a resolve (redacted)
    # A resolve by people that skips the ticket's remediation not started (the skip's own
    # announcement, `remediation.SKIPPED_ON_RESOLVE`, follows it after the commit).
    skips_remediation: bool = False
    # The incident the change came through (`incidents.act`, or a member taking its incident's
    # status: `tickets.lifecycle`), '' for one made on the ticket itself. Made in JIRA, such a
    # change was made on the incident's issue, not on the ticket's own.
    through_incident: str = ""

    def as_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "action": self.action,
            "actor": self.actor.name,
            "via": self.actor.via or self.actor.kind,
            "note": self.note,
            "fix": self.fix,
        }
        if self.skips_remediation:
            payload["skips_remediation"] = True
        return payload


@dataclass(frozen=True)
class IncidentChange:
    """A change of an incident's status the targets may tell about
    (tickets.incidents' `incident_status_changing`): `action` is one of `incidents.act`'s
    (acknowledge, start_progress, resolve, reopen), `regressed` (member `ticket_id`,
    `title`, failed again: the outage is back and the incident reopened; `note` names the
    fix its resolve recorded, which did not hold, if one was),
    `member_reopened` (`actor` reopened member `ticket_id`, `title`, on its own ticket, and
    that reopened the incident), `recovered` (every member recovered at its source: the
    incident resolved itself), `member_resolved` (`actor` resolved member `ticket_id`,
    `title`, on its own ticket, or it recovered at its source, the actor a source then,
    and no member is left open: the incident resolved) or `member_detached` (`actor` detached
    it and every member left is resolved or recovered: the incident resolved). `via`: where it
    was made (slack, jira, admin, dashboard, api, source, ...); `event_id`: its timeline
    entry, which keys its deliveries."""

    incident_id: str
    action: str
    actor: Actor
    event_id: int
    via: str = ""
    note: str = ""
    ticket_id: str = ""
    title: str = ""  # the member's `Ticket.title`: "vm-cpu-high on vm-web-03"
    fix: str = ""  # what fixed it, given with a resolve (redacted)

    def as_payload(self) -> dict[str, Any]:
        return {
            "incident_id": self.incident_id,
            "action": self.action,
            "actor": self.actor.name,
            "actor_kind": self.actor.kind,
            "via": self.via or self.actor.kind,
            "note": self.note,
            "ticket_id": self.ticket_id,
            "title": self.title,
            "fix": self.fix,
            "event": self.event_id,
        }


def changed_member(change: Mapping[str, Any]) -> str:
    """The member an incident change's payload names (`IncidentChange.as_payload`): its title;
    a payload queued by the release before names its pipeline; else its ticket id."""
    return str(change.get("title") or change.get("pipeline") or change.get("ticket_id", ""))


# Where a change was made, in words (an incident change's `via`; an actor's kind otherwise).
VIA_WORDS = {
    "slack": "Slack",
    "jira": "JIRA",
    "admin": "Django admin",
    "dashboard": "the dashboard",
    "api": "the API",
    "user": "the RCA service",
    "system": "the RCA service",
    "source": "the source",
}


def via_words(via: str) -> str:
    return VIA_WORDS.get(via, via or "the RCA service")


def fix_to_tell(change: Mapping[str, Any]) -> str:
    """What fixed it, as a change's Slack thread reply or JIRA comment tells it: nothing when a
    remediation resolved (its own "remediation succeeded" line says what ran; the fix is
    still kept as the resolution), the fix people gave otherwise."""
    kind = change.get("actor_kind") or change.get("via")
    return "" if kind == ActorKind.REMEDIATION else str(change.get("fix") or "")


def told_with_its_success(change: Change) -> bool:
    """A resolve made by a remediation (its success, `remediation._resolve`): the
    `remediation_succeeded` announced with it, in the same transaction, tells it once (it says
    the ticket is resolved) and brings the issue and the alert up to date, so a target follows
    that one alone: on-call saw the same news twice, a "resolve" line and a "remediation
    succeeded" line in the Slack thread, two JIRA comments quoting one reason."""
    return change.action == "resolve" and change.actor.kind == ActorKind.REMEDIATION


# What an incident change says after who made it (Slack's thread reply, JIRA's comment).
INCIDENT_CHANGE_WORDS = {
    "acknowledge": "acknowledged the incident",
    "start_progress": "took the incident (in progress)",
    "resolve": "resolved the incident",
    "reopen": "reopened the incident",
}


ActionFunc = Callable[[Any, OutboundDelivery], Sequence[FollowUp] | None]
IncidentFollow = Callable[[IncidentChange], tuple[str, dict[str, Any]] | None]


@dataclass(frozen=True)
class Action:
    run: ActionFunc
    label: str  # what it does, for people: "Create the JIRA issue"
    # Scheduled for a later time (a reconcile): handed out early, it is put back, not run.
    not_before: bool = False
    # The rate a delivery of it counts against, when not the target's own (`Target.pace`): a
    # Slack edit is limited by its API method, a post by the channel.
    pace: Callable[[OutboundDelivery], Pace] | None = None
    # What its deliveries say reads as a history (a ticket's JIRA comments and Slack thread
    # replies; an incident's, whose deliveries ride on its lead ticket): those of one ticket
    # whose payload holds these items (all of them when empty; None: no order is kept) are
    # sent in the order they were made, each once the earlier ones have finished, so those
    # held up by an outage and retried with backoff are not told out of order.
    in_order: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Target:
    """One outbound target, as the engine sees it.

    name: stored on each delivery row, names the Celery queue and the circuit breaker.
    connect: builds the transport from settings, None when the target is not configured.
    settings: the setting names `connect` reads (a change of any builds a new client).
    actions: action name (stored on the delivery row) -> Action.
    initial: the actions scheduled for a new, analysed ticket (not a member of an incident).
    follow: what to schedule when a ticket changes: (action, payload), or None to ignore it.
    configured: whether the settings name all `connect` needs, without building the client
    (the Databricks SDK reaches its host when built); None: only `connect` can tell.
    gave_up: called in the delivery's transaction once the engine gives up on one of its
    deliveries (dead letter or skipped), with the row as finished; None: nothing to do.
    merges: whether a follow-up (its action and payload) only brings the target's copy of the
    ticket up to date, drawn from the ticket as it is when it is sent (an edit of the Slack
    alert with no thread reply): a later change's such follow-up is merged into one still
    pending (`fanout.schedule_follow_up`).
    unreachable: a remediation target's check of the run it would act on (the source's names
    for it, `remediation.run_entity`): why it cannot reach that run from here, '' when it can
    (an Airflow clear of a task that ran on another deployment); None: any run.
    """

    name: str
    label: str
    connect: Callable[[], Any]
    settings: tuple[str, ...]
    not_configured: str
    actions: Mapping[str, Action]
    initial: tuple[str, ...] = ()
    follow: Callable[[Change], tuple[str, dict[str, Any]] | None] = lambda change: None
    # Incidents (tickets/incidents.py): the actions that page a new incident, keep its page
    # up to date (coalesced), and point a member's own page at it.
    incident_initial: tuple[str, ...] = ()
    incident_update: str = ""
    incident_link: str = ""
    # What to schedule when an incident's status changes (a thread reply, a comment): (action,
    # payload), or None to ignore it; one delivery per target and change (keyed by its event).
    incident_status: IncidentFollow = lambda change: None
    # A member without a page of its own (`fanout.schedule_member_remediation`): the action that
    # asks for its remediation's approval under the incident's page and keeps that up to date.
    member_remediation: str = ""
    # How fast it may be sent to (integrations/pacing.py); None: as fast as the workers go.
    pace: Pace | None = None
    configured: Callable[[], bool] | None = None
    gave_up: Callable[[OutboundDelivery], None] | None = None
    merges: Callable[[str, Mapping[str, Any]], bool] = lambda action, payload: False
    unreachable: Callable[[dict[str, Any]], str] | None = None

    def pace_for(self, row: OutboundDelivery) -> Pace | None:
        """The rate `row` counts against: its action's own, else the target's."""
        chosen = self.actions[row.action].pace
        return chosen(row) if chosen is not None else self.pace


# ---------------------------------------------------------------------------------------------
# Helpers the actions share
# ---------------------------------------------------------------------------------------------

# A create request that has not landed this many client timeouts after it was sent is taken as
# never landing; the reconcile runs that long after the create succeeded.
RECONCILE_AFTER_TIMEOUTS = 5
SENDS_TTL_SECONDS = 7 * 24 * 3600


def fresh_ticket(row: OutboundDelivery) -> Ticket:
    return Ticket.objects.defer("embedding").get(pk=row.ticket_id)


def reconcile_later(action: str) -> FollowUp:
    """A reconcile delivery, RECONCILE_AFTER_TIMEOUTS client timeouts from now."""
    delay = RECONCILE_AFTER_TIMEOUTS * float(settings.OUTBOUND_TIMEOUT_SECONDS)
    return FollowUp(action, delay=delay, key_suffix=action)


def sends_key(row: OutboundDelivery, step: str = "") -> str:
    """The Redis key counting the delivery's create requests; with `step`, those of one of
    its requests before the create (a Databricks cluster's restart before the repair)."""
    key = f"{settings.REDIS_KEY_PREFIX}:outbound:{row.pk}:sends"
    return f"{key}:{step}" if step else key


def earlier_sends(row: OutboundDelivery, create_call: str) -> int | None:
    """How many create requests earlier attempts of this delivery may have sent; None when
    it cannot be known (Redis unavailable). The attempts recorded as a create call (their
    error starts with `create_call`, the transport's wording) that failed in a way the target
    may still have carried out count too, should Redis have lost its keys."""
    recorded = (
        row.tries.filter(outcome=AttemptOutcome.TRANSIENT_ERROR, error__startswith=create_call)
        .exclude(http_status=429)  # throttled: refused before being carried out
        .count()
    )
    counted = counted_sends(row)
    return None if counted is None else max(counted, recorded)


def counted_sends(row: OutboundDelivery, step: str = "") -> int | None:
    """The create requests (of `step`, `sends_key`) `count_send` counted for this delivery and
    `uncount_send` did not take back; None when it cannot be known (Redis unavailable)."""
    try:
        return max(0, int(redis_client().get(sends_key(row, step)) or 0))
    except (redis.RedisError, ValueError) as exc:
        logger.warning("outbound %s: earlier sends unknown (%s)", row.pk, exc)
        return None


def count_send(row: OutboundDelivery, step: str = "") -> None:
    """Count a create request (of `step`, `sends_key`) about to be sent (committed at once,
    unlike the attempt)."""
    key = sends_key(row, step)
    try:
        # redis-py types a pipeline's commands as the client's; on a pipeline they return it.
        redis_client().pipeline().incr(key).expire(key, SENDS_TTL_SECONDS).execute()  # type: ignore[attr-defined]
    except redis.RedisError as exc:
        logger.warning("outbound %s: send not counted (%s)", row.pk, exc)


# DECR only a count above 0: a count lost meanwhile (Redis restarted or flushed while the
# request was out, or never counted as Redis failed then) is not made -1, with no expiry.
_UNCOUNT = "if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then redis.call('DECR', KEYS[1]) end"


def uncount_send(row: OutboundDelivery, step: str = "") -> None:
    """Take back a counted create request (of `step`, `sends_key`) that is known to have
    carried nothing out (it never reached the service, or the service refused it before
    acting)."""
    try:
        redis_client().eval(_UNCOUNT, 1, sends_key(row, step))
    except redis.RedisError as exc:
        logger.warning("outbound %s: send not taken back (%s)", row.pk, exc)


def reconciled(ticket: Ticket, action: str) -> bool:
    """The ticket needed a reconcile of this kind and it has run."""
    return OutboundDelivery.objects.filter(
        ticket_id=ticket.pk, action=action, status=OutboundStatus.SUCCEEDED
    ).exists()


# Why a ticket's own page (its JIRA issue, its Slack alert: `fanout.schedule_initial_many`,
# `recovered_before_paging`) or a regression's (`fanout.release_regression_pages`) was not
# sent: nobody is paged for a failure already over.
RECOVERED_BEFORE_PAGING = "not paged: the failure had recovered at its source before it paged"
# Why a Service Health notice's own page was not sent (`fanout._locked_unpaged`): it is
# recorded, and pages nobody while SERVICE_HEALTH_NOTICES_PAGE is off.
NOTICE_NOT_PAGED = (
    "not paged: a Service Health notice (maintenance, action required, billing), "
    "which SERVICE_HEALTH_NOTICES_PAGE leaves unpaged"
)


def recovered_before_paging(ticket: Ticket) -> bool:
    """The ticket is resolved, over at its source, and has paged nowhere yet (no JIRA issue, no
    Slack alert): its page, due now (after its incident grace delay, say), is not sent.

    Call inside the delivery's transaction. When it reads so, it reads the ticket again under
    its row's lock, kept until the skip commits: a regression of the ticket committed first is
    seen here (it pages), or waits for the skip, which its `page_if_left_unpaged` then sees (a
    skip committing after that looked would leave the failing ticket paging nobody)."""

    def over(ticket: Ticket) -> bool:
        return (
            ticket.status == Status.RESOLVED
            and ticket.resolved_at_source_at is not None
            and not ticket.itsm_ticket_id
            and not ticket.slack_ts
        )

    if not over(ticket):
        return False
    locked = (
        Ticket.objects.select_for_update(no_key=True)
        .only("status", "resolved_at_source_at", "itsm_ticket_id", "slack_ts")
        .filter(pk=ticket.pk)
        .first()
    )
    return locked is not None and over(locked)


def latest_page(ticket_id: str, action: str) -> OutboundDelivery | None:
    """The ticket's latest `action` delivery, `action` one that pages or keeps its evidence (a
    target's `initial`), or None. Such a delivery is never a change's follow-up (its key is the
    ticket's own: `fanout.schedule_initial`, `schedule_own_page`, `page_if_left_unpaged`), so
    the follow-ups are left out of the read: one probe of `outbound_not_follow_up`, where
    reading the ticket's deliveries for the action read its whole history."""
    return (
        OutboundDelivery.objects.filter(ticket_id=ticket_id, action=action)
        .exclude(key__regex=FOLLOW_UP_KEY)
        .order_by("created_at", "id")
        .last()
    )


def left_unpaged(ticket_id: str, action: str, *, notices: bool = True) -> bool:
    """The ticket's latest `action` delivery (a page) was left out, the failure over before it
    paged, or (with `notices`) the ticket a Service Health notice that pages nobody
    (`NOTICE_NOT_PAGED`): there is no issue or alert to update, and none is awaited."""
    latest = latest_page(ticket_id, action)
    why = (RECOVERED_BEFORE_PAGING, NOTICE_NOT_PAGED) if notices else (RECOVERED_BEFORE_PAGING,)
    return (
        latest is not None and latest.status == OutboundStatus.SKIPPED and latest.last_error in why
    )


def page_on_its_way(ticket_id: str, action: str) -> bool:
    """The ticket's latest `action` delivery (a page) is pending or was made. One that is
    being sent may have read the ticket before a change committed meanwhile (a re-route): a
    follow-up telling that change waits for it (`wait_for`) rather than take it as showing
    the change."""
    latest = latest_page(ticket_id, action)
    return latest is not None and latest.status in (
        OutboundStatus.PENDING,
        OutboundStatus.SUCCEEDED,
    )


def wait_for(ticket: Ticket, action: str, what: str) -> None:
    """Raise Waiting while the ticket's `action` delivery is pending; TransportError
    (permanent) when there is none or it will never succeed. The latest one: a member
    detached after its own create skipped it has a second (`fanout.schedule_own_page`)."""
    latest = latest_page(ticket.pk, action)
    if latest is None or latest.status in (OutboundStatus.DEAD, OutboundStatus.SKIPPED):
        state = "missing" if latest is None else latest.get_status_display().lower()
        raise TransportError(f"no {what} to update ({state})", permanent=True)
    raise Waiting(f"waiting for the {what} to be created")


def last_time(ticket: Ticket) -> str:
    """`Last time (ticket, 2026-12-07 14:05 UTC, who): <fix>`, the best fix recorded for a
    failure like this one (set by the analysis), or ""."""
    fixes = ticket.details.get("previous_fixes") or []
    return str(fixes[0].get("headline", "")) if fixes and isinstance(fixes[0], dict) else ""


def ticket_url(ticket: Ticket) -> str:
    return f"{settings.PUBLIC_BASE_URL}/tickets/{ticket.pk}/"


def source_links(ticket: Ticket) -> list[tuple[str, str]]:
    """The ticket's links to the failure in its own tool (`Ticket.links`: the ADF or Databricks
    run page, the Airflow task log, Azure's alert pages) as (label, url), labelled and ordered
    as the dashboard shows them. Only an http(s) URL with a host and no space, control or
    non-ASCII character is offered: a `javascript:` link from a payload never is. Nor is one
    with a user part: behind a label, `https://portal.azure.com@evil.example/` would pass for
    Azure's while it opens evil.example."""
    found = []
    for name, value in sorted((ticket.links or {}).items()):
        url = safe_url(value)
        if url:
            found.append((str(name)[:60].replace("_", " ").capitalize(), url))
    return found


def safe_url(value: Any) -> str:
    """`value` when it is an http(s) URL with a host and no user part (`user@host`), printable
    ASCII without spaces; else ""."""
    if not isinstance(value, str):
        return ""
    url = value.strip()
    if not url.isascii() or any(ch.isspace() or ch < " " or ch == "\x7f" for ch in url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    # A browser reads `\` as `/`: `https://evil.example\@portal.azure.com` opens evil.example.
    return "" if "@" in parts.netloc or "\\" in parts.netloc else url


# --- incidents: their deliveries ride on the incident's lead ticket -----------------------------


def incident_of(row: OutboundDelivery) -> Incident:
    """The incident an incident delivery is for (its payload names it)."""
    return Incident.objects.get(pk=row.payload["incident_id"])


def incident_delivery_key(incident_id: str, action: str) -> str:
    """The idempotency key of an incident's first delivery of `action` (its issue, message)."""
    return f"incident:{incident_id}:{action}"


def member_approval_key(ticket_id: str, action: str, remediation_id: int) -> str:
    """The key of a member's approval request under its incident's page (`member_remediation`)."""
    return f"{ticket_id}:{action}:{remediation_id}"


def wait_for_incident(incident: Incident, action: str, what: str) -> None:
    """Raise Waiting while the incident's `action` delivery (its issue or message) is pending;
    TransportError (permanent) when there is none or it will never succeed."""
    first = OutboundDelivery.objects.filter(key=incident_delivery_key(incident.pk, action)).first()
    if first is None or first.status in (OutboundStatus.DEAD, OutboundStatus.SKIPPED):
        state = "missing" if first is None else first.get_status_display().lower()
        raise TransportError(f"no {what} to point to ({state})", permanent=True)
    raise Waiting(f"waiting for the {what} to be created")


def member_links(incident: Incident, action: str, paged: str) -> list[FollowUp]:
    """One link delivery (`action`) for each member that paged on its own (`paged`: the field
    holding its own issue key or message ts). Keyed by the member, like the one its own page
    asks for when it finds itself in an incident: whichever path asks first, the member is
    pointed to its incident once."""
    members = incident.members.exclude(**{paged: ""}).values_list("pk", flat=True)
    return [
        FollowUp(action, payload={"incident_id": incident.pk}, key_suffix=action, ticket_id=pk)
        for pk in members.iterator()
    ]


def incident_after_paging(ticket_id: str, action: str) -> list[FollowUp]:
    """Call right after the UPDATE that stores a ticket's own issue key / message ts, in the
    same transaction: that UPDATE waits for an ingest transaction that put the ticket into an
    incident (it holds the ticket's row), so the incident is seen here, and an incident formed
    later sees the stored key or ts when it pages (`member_links`). Either way one link."""
    incident_id = Ticket.objects.filter(pk=ticket_id).values_list("incident_id", flat=True).first()
    if not incident_id:
        return []
    return [FollowUp(action, payload={"incident_id": incident_id}, key_suffix=action)]


def incident_url(incident: Incident) -> str:
    return f"{settings.PUBLIC_BASE_URL}/incidents/{incident.pk}/"


@dataclass(frozen=True)
class IncidentPage:
    """What an incident's page shows, whatever the target: counts, the first members inline
    (INCIDENT_INLINE_MEMBERS), the rest counted."""

    title: str
    status: str
    member_count: int
    pipelines: list[str]
    alert_rules: list[str]  # of the Azure alerts among the members (not pipelines)
    places: list[str]
    first_seen: str
    culprit: str
    cause: str
    cause_source: str  # who wrote `cause`: "Gemini" or "Rule-based", as RcaSource labels them
    inline_members: list[tuple[str, str]]  # (ticket id, its `Ticket.title`)
    # An Azure incident's (a Service Health incident): the subscriptions whose rules told of it.
    subscriptions: int = 0

    @property
    def more_members(self) -> int:
        return max(0, self.member_count - len(self.inline_members))

    @property
    def counts(self) -> str:
        """What the message and the issue's title count: its members, "4 tickets in 3
        pipelines" (a member failing again is counted on its ticket, not here: the title
        changes when a member joins or leaves, not with each repeat); the Azure alerts among
        them by their rules: "2 tickets from 2 alert rules", "5 tickets in 3 pipelines and
        2 alert rules"; an Azure incident's by the subscriptions whose Service Health rules
        told of it (their rules are often of one name): "3 tickets from 3 subscriptions"."""

        def counted(n: int, what: str) -> str:
            return f"{n} {what}{'s' if n != 1 else ''}"

        tickets = counted(self.member_count, "ticket")
        pipelines = counted(len(self.pipelines), "pipeline")
        if self.subscriptions:
            return f"{tickets} from {counted(self.subscriptions, 'subscription')}"
        rules = counted(len(self.alert_rules), "alert rule")
        if not self.alert_rules:
            return f"{tickets} in {pipelines}"
        if not self.pipelines:
            return f"{tickets} from {rules}"
        return f"{tickets} in {pipelines} and {rules}"


def incident_status_line(incident: Incident) -> str:
    """The incident's status and who brought it there, from where: "Acknowledged by daan via
    Slack", "In progress: taken by ...", "Resolved by ...", "Open again: pl_x (id) failed
    again", "Open again: pl_x (id) reopened by ana via the API"). Plain text (untrusted names:
    each target escapes it)."""
    from tickets import incidents as domain

    if incident.recovered_at:
        return "Resolved (every member recovered)"
    shown = incident.get_status_display()
    event = domain.last_status_change(incident.pk)
    if event is None:
        return shown
    via = via_words(str(event.details.get("via") or event.actor_kind))
    who = f"{event.actor_name or 'someone'} via {via}"
    if incident.status == Status.ACKNOWLEDGED and event.kind == "acknowledge":
        return f"Acknowledged by {who}"
    if incident.status == Status.IN_PROGRESS and event.kind == "start_progress":
        return f"In progress: taken by {who}"
    if incident.status == Status.RESOLVED and event.kind == "resolved":
        member, how = event.details.get("member"), event.details.get("how")
        if member and how == "recovered":
            return f"Resolved: {member}, the last open member, recovered at its source"
        if member and how == "detached":
            return f"Resolved: {member} detached by {who}, every member left over"
        if member:
            return f"Resolved: {member}, the last open member, resolved by {who}"
        return f"Resolved by {who}"
    if incident.status == Status.OPEN and event.kind == "reopen":
        why, member = event.details.get("why"), event.details.get("member")
        if why:
            return f"Open again: {why}"
        return f"Open again: {member} reopened by {who}" if member else f"Reopened by {who}"
    return shown


def incident_page(incident: Incident) -> IncidentPage:
    from tickets import incidents as domain

    seen = domain.affected(incident)
    limit = settings.INCIDENT_INLINE_MEMBERS
    inline = list(incident.members.order_by("timestamp").values_list("id", *TITLE_FIELDS)[:limit])
    return IncidentPage(
        title=f"Incident: {incident.culprit_words}",
        status=incident_status_line(incident),
        member_count=incident.members.count(),
        pipelines=seen["pipelines"],
        alert_rules=seen["alert_rules"],
        places=seen["places"],
        first_seen=incident.first_seen.isoformat(timespec="seconds"),
        culprit=incident.culprit
        + (f" ({incident.culprit_detail})" if incident.culprit_detail else ""),
        cause=incident.rca_result or domain.shared_cause(incident),
        # Not analysed yet, the cause is the rule-based shared cause, made here.
        cause_source=(
            incident.get_rca_source_display() if incident.rca_result else RcaSource.RULES.label
        ),
        inline_members=[(str(pk), ticket_title(*named)) for pk, *named in inline],
        subscriptions=domain.subscriptions_told(incident),
    )
