"""Incidents: one outage, one page.

Tickets whose failures name the same culprit (analysis/culprits.py) with the same kind of
failure (their `group_key`: the error class, the classes that say the culprit is unavailable
counting as one) and fail within INCIDENT_WINDOW of each other form an incident once they span
INCIDENT_MIN_PIPELINES pipelines; later members join it while it is open (not resolved, not
recovered), up to INCIDENT_OPEN_JOIN after its last member (`open_join_since`; past
INCIDENT_WINDOW, only while no member recovered since that last one). An Azure
Monitor alert's group key is its resource's culprit alone: alerts on one resource group
together, and an alert on the culprit of an open incident joins that incident's timeline. An
alert with nothing of its resource to join or form with groups on its rule instead
(`rule_group_key`): one rule firing on several resources at once, an alert (a ticket) per
resource, is one incident once they are INCIDENT_MIN_PIPELINES tickets. A Service Health
alert groups that way on the Azure incident it tells of (its tracking id): one outage told to
the Service Health rule of each of several subscriptions, a ticket each, is one incident.

Runs inside the ingest transaction, right after the ticket is created. Races are settled by a
transaction-scoped advisory lock on the culprit (like dedup and correlation in services.py,
whose occurrence claim takes it with the run and fingerprint locks): of concurrent failures of
one storm, the first to reach the minimum forms the incident and every other one, waiting on
the lock, finds it and joins (the tests post 200, in 5 waves of 40 concurrent requests).

The lock order, everywhere: the advisory locks first (run, fingerprint, culprit, an Azure
alert's rule, as services.py takes them), then tickets (by id), then incidents (by id). A
member's failure, recovery, resolve, reopen or detach locks its ticket, then updates its
incident (a ticket in none that fails again joins or forms one so, under its culprit's or its
rule's lock: `regress`, which locks the tickets it may form one with together with it, by id,
before the reopen; a Service Health notice that escalates so too, before its update is counted
on it: `lock_notice_with_candidates`); acting on, merging
or storing the analysis of an incident locks its members, then it (`lock_with_members`, again
when a failure joined in between); a member taking its incident's analysis locks itself, then writes
the incident (`share_analysis`). Row locks on tickets and incidents are FOR NO KEY UPDATE, the
lock an UPDATE of them takes: a row inserted that references one (an outbound delivery, an
audit entry, a timeline entry) checks its foreign key with FOR KEY SHARE, which waits for no
such lock, so such inserts take no place in the order. A FOR UPDATE lock would make them wait:
an incident's page, which writes the incident and then schedules the link delivery of a member
that paged (a row referencing the member), would wait for an analysis being stored that holds
the member and waits for the incident (a deadlock, whose victim may be an ingest queued for the
incident between them).

Changes are announced with `incident_changed` after commit; the outbound targets (JIRA, Slack)
and the dashboard follow it (integrations/signals.py, tickets/broadcast.py). A change of its
status (acknowledged, taken, resolved, reopened, by people or because the outage came back or
ended) is also announced with `incident_status_changing` inside its transaction, so that what
the targets tell about it (a Slack thread reply, a JIRA comment) commits with it or not at all.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Greatest
from django.dispatch import Signal
from django.utils import timezone

from analysis.culprits import Culprit, CulpritKind
from analysis.redaction import redact
from integrations.events import SERVICE_HEALTH_NOTICE
from tickets import lifecycle
from tickets.lifecycle import Actor
from tickets.models import (
    TITLE_FIELDS,
    ActorKind,
    Incident,
    IncidentEvent,
    RcaSource,
    Resolution,
    Ticket,
    new_incident_id,
    ticket_title,
)
from tickets.vocabulary import ErrorClass, Severity, Source, Status

# Sent on commit with: incident_id, action, actor (an Actor), ticket_id (the member, or "").
incident_changed = Signal()
# Sent inside the transaction of a status change with: incident_id, action (one of
# INCIDENT_ACTIONS; `regressed`: member ticket_id/title failed again and reopened it, its
# note naming the fix the incident's resolve recorded, if any (`lifecycle.fix_did_not_hold`);
# `member_reopened`: actor reopened member ticket_id/title on its own and that reopened
# it; `recovered`: every member recovered and it resolved itself; `member_resolved`: actor
# resolved member ticket_id/title on its own ticket, or it recovered at its source, and no
# member is left open; `member_detached`: actor detached member ticket_id/title and every
# member left is resolved or recovered), actor, event_id (its
# timeline entry), via (where it was made), note, ticket_id, title (the member's
# `Ticket.title`: "vm-cpu-high on vm-web-03").
incident_status_changing = Signal()
# Sent inside the transaction that forms an incident, its members' rows locked, with:
# incident_id, members (their ids). A member whose regression has not paged yet is one
# failing again into the incident: the targets point its page to the incident's.
incident_forming = Signal()
# The timeline's entries for a change of the incident's status.
STATUS_EVENTS = ("acknowledge", "start_progress", "resolved", "reopen")

_CULPRIT_LOCK = 3
# Incident severity: the worst of its members'.
_SEVERITY_RANK: dict[str, int] = {
    Severity.CRITICAL: 0,
    Severity.HIGH: 1,
    Severity.MEDIUM: 2,
    Severity.LOW: 3,
}


# Error classes that all say the culprit is down or unreachable, however the client words it:
# one SQL server outage is "cannot connect" (DatabaseError) to ADF, "login timeout expired"
# (TimeoutError) to an ODBC driver, "connection refused" (NetworkError) to another client.
# They group as one; any other class (a refused login, bad data, ...) groups on its own.
UNAVAILABLE = "unavailable"
_UNAVAILABLE_CLASSES = frozenset(
    {
        ErrorClass.NETWORK,
        ErrorClass.TIMEOUT,
        ErrorClass.DATABASE,
        ErrorClass.EXTERNAL_SERVICE,
    }
)


def group_key_for(culprit: str, error_type: str, source: str) -> str:
    """What incidents group a ticket on; blank without a culprit (never grouped)."""
    if not culprit:
        return ""
    if source == Source.AZURE_MONITOR:
        return culprit  # the same Azure resource
    family = UNAVAILABLE if error_type in _UNAVAILABLE_CLASSES else error_type
    return f"{culprit}|{family}"


def announce(
    incident_id: str,
    action: str,
    actor: Actor,
    ticket_id: str = "",
    *,
    paged: bool = False,
    left: str = "",
) -> None:
    """`paged`: the member `ticket_id` joined with a page of its own (its issue or alert) out
    already, so the targets point that page to the incident (`place_enriched`, `regress`).
    `left`: the status the member had as a ticket on its own before it joined
    (`place_enriched`, `regress`; a new ticket joins as it is created, never on its own), so the
    board counts it there no more."""
    transaction.on_commit(
        lambda: incident_changed.send(
            sender=Incident,
            incident_id=incident_id,
            action=action,
            actor=actor,
            ticket_id=ticket_id,
            paged=paged,
            left=left,
        )
    )


def _status_changing(
    incident_id: str,
    action: str,
    actor: Actor,
    event: IncidentEvent,
    *,
    via: str = "",
    note: str = "",
    ticket_id: str = "",
    title: str = "",
    fix: str = "",
) -> None:
    incident_status_changing.send(
        sender=Incident,
        incident_id=incident_id,
        action=action,
        actor=actor,
        event_id=event.pk,
        via=via or actor.kind,
        note=note,
        ticket_id=ticket_id,
        title=title,
        fix=fix,
    )


def _member_title(ticket_id: str) -> str:
    """A member's `Ticket.title`, as its incident's timeline and messages name it."""
    row = Ticket.objects.filter(pk=ticket_id).values_list(*TITLE_FIELDS).first()
    return ticket_title(*row) if row else ""


def last_status_change(incident_id: str) -> IncidentEvent | None:
    """The timeline entry of the incident's latest status change (who, via where), if any."""
    return (
        IncidentEvent.objects.filter(incident_id=incident_id, kind__in=STATUS_EVENTS)
        .order_by("-at", "-pk")
        .first()
    )


def record_event(
    incident_id: str,
    kind: str,
    *,
    ticket_id: str | None = None,
    actor: Actor | None = None,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> IncidentEvent:
    return IncidentEvent.objects.create(
        incident_id=incident_id,
        kind=kind,
        ticket_id=ticket_id,
        actor_kind=actor.kind if actor else "",
        actor_name=actor.name if actor else "",
        details=details or {},
        at=at or timezone.now(),
    )


def culprit_lock(culprit: str) -> tuple[int, int]:
    """The advisory lock `place` serializes a culprit's new tickets on (key pair)."""
    return _CULPRIT_LOCK, zlib.crc32(culprit.encode()) - 2**31


def _lock_culprit(culprit: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", list(culprit_lock(culprit)))


def open_join_since(now: datetime) -> datetime:
    """The last member an open incident must have had since for a new failure of its key (or
    its alert rule) to join it: INCIDENT_OPEN_JOIN ago (INCIDENT_WINDOW ago when that is
    longer). An outage that went quiet for longer than INCIDENT_WINDOW (pipelines on hourly
    schedules hitting one dead server) is still the incident people work on while it is open
    and none of its members recovered since its last one failed (`_RECOVERED_SINCE_LAST`);
    one forgotten open for days takes no new outage of its culprit."""
    return now - max(settings.INCIDENT_OPEN_JOIN, settings.INCIDENT_WINDOW)


# A member of the incident (the row aliased `incident`) recovered at its source after the
# incident's last member failed: the culprit worked then, so a failure of it past
# INCIDENT_WINDOW after that last member is another outage, not a straggler of this one (a
# storm whose pipelines partly recovered, one member left open, took the culprit's next outage
# an hour later without a page).
_RECOVERED_SINCE_LAST = f"""
    EXISTS (SELECT 1 FROM {Ticket._meta.db_table} AS member
             WHERE member.incident_id = incident.id
               AND member.resolved_at_source_at > incident.last_member_at)
    """


def _recovered_since_last_member() -> Exists:
    """`_RECOVERED_SINCE_LAST` for the ORM: on an Incident queryset."""
    return Exists(
        Ticket.objects.filter(
            incident_id=OuterRef("pk"), resolved_at_source_at__gt=OuterRef("last_member_at")
        )
    )


def placement_query(ticket: Ticket, now: datetime) -> tuple[str, list[Any]]:
    """The SELECT `place` decides on, as SQL and parameters, for a caller that runs it in a
    statement of its own (with the culprit's lock already held: see `culprit_lock`). One row:
    the open incident the ticket joins (or NULL: none whose last member is since
    `open_join_since`, or, past INCIDENT_WINDOW, one a member of which recovered since its last
    member failed), and how many pipelines other than its own the recent ungrouped tickets
    of its group key (last seen within INCIDENT_WINDOW) span (the Python side reads those
    tickets only when that is enough to form an incident). No ORM compiling: every new failure
    with a culprit asks this."""
    since = now - settings.INCIDENT_WINDOW
    matched_on = "culprit" if ticket.source == Source.AZURE_MONITOR else "group_key"
    sql = f"""
        SELECT (SELECT id FROM {Incident._meta.db_table} AS incident
                 WHERE {matched_on} = %s AND merged_into_id IS NULL
                   AND recovered_at IS NULL AND last_member_at >= %s AND status <> %s
                   AND (last_member_at >= %s OR NOT {_RECOVERED_SINCE_LAST})
                 ORDER BY last_member_at DESC LIMIT 1),
               (SELECT count(DISTINCT pipeline) FROM {Ticket._meta.db_table}
                 WHERE group_key = %s AND incident_id IS NULL AND last_seen >= %s
                   AND resolved_at_source_at IS NULL AND status <> %s
                   AND id <> %s AND pipeline <> %s)
        """
    params = [
        ticket.culprit if matched_on == "culprit" else ticket.group_key,
        open_join_since(now),
        Status.RESOLVED,
        since,
        ticket.group_key,
        since,
        Status.RESOLVED,
        ticket.pk,
        ticket.pipeline,
    ]
    return sql, params


def place(
    ticket: Ticket,
    now: datetime | None = None,
    *,
    placement: tuple[str | None, int] | None = None,
) -> str | None:
    """Put a new ticket into its incident: join an open one, or form one with the recent
    ungrouped tickets of its group key; an Azure alert placed so in none, join the open
    incident of its alert rule or form one with the rule's recent ungrouped alerts
    (`_place_on_rule`, under the rule's advisory lock, taken after the culprit's). The
    incident's id, None when it is in none. Call inside the transaction that created the
    ticket. `placement`: the row of `placement_query`, when the caller ran it already (under
    the culprit's lock); without it, this takes the lock and asks."""
    rule_key = rule_group_key(ticket)
    if not ticket.group_key and not rule_key:
        return None
    now = now or timezone.now()
    if ticket.group_key and placement is None:
        _lock_culprit(ticket.culprit)
        placement = _placement(ticket, now)
    if rule_key:
        # After the culprit's, before any ticket row: the advisory locks come first.
        _lock_culprit(rule_key)
    incident_id = _place_on_culprit(ticket, now, placement) if placement is not None else None
    if incident_id is None and rule_key:
        # Nothing of its resource to join or form with: alerts of its rule on other resources.
        incident_id = _place_on_rule(ticket, rule_key, now)
    return incident_id


def _place_on_culprit(
    ticket: Ticket, now: datetime, placement: tuple[str | None, int]
) -> str | None:
    incident_id, other_pipelines = placement
    while incident_id is not None and not (
        _no_member_recovered_since_placed(incident_id, now)
        and _join_if_open(incident_id, ticket, now)
    ):
        # Resolved (by people, or by its last member's recovery), merged, or a member of it
        # recovered, by a change that committed after this failure's placement read it open:
        # placed as a failure after that change is (it joins no resolved incident, nor one
        # whose culprit worked since: `_RECOVERED_SINCE_LAST`), not left open in it unseen.
        incident_id, other_pipelines = _placement(ticket, now)
    if incident_id is not None:
        return incident_id
    return _form_on_culprit(ticket, now, other_pipelines)


_STILL_JOINABLE_PAST_WINDOW = f"""
    SELECT 1 FROM {Incident._meta.db_table} AS incident
     WHERE id = %s AND (last_member_at >= %s OR NOT {_RECOVERED_SINCE_LAST})
    """


def _no_member_recovered_since_placed(incident_id: str, now: datetime) -> bool:
    """`_RECOVERED_SINCE_LAST` read again, past the placement's snapshot, with the incident
    locked. The placement read it in the statement that created the ticket; a member's
    recovery committing after that (it locks the incident to count itself,
    `_recount_recovered`, and takes no culprit lock) went unseen, and a new outage's first
    failure joined the old incident without a page. Locked first, then read in a statement
    of its own: a recovery holding the lock is waited for and then seen; one that locks it
    later waits for this join, which stands."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {Incident._meta.db_table} WHERE id = %s FOR NO KEY UPDATE",
            [incident_id],
        )
        cursor.execute(_STILL_JOINABLE_PAST_WINDOW, [incident_id, now - settings.INCIDENT_WINDOW])
        return cursor.fetchone() is not None


def _form_on_culprit(
    ticket: Ticket, now: datetime, other_pipelines: int, *, left: str = ""
) -> str | None:
    """Form an incident of the ticket's group key with its recent ungrouped tickets, once
    `other_pipelines` (`placement_query`'s count) and the ticket span INCIDENT_MIN_PIPELINES
    pipelines; `left` as `announce` takes it (a regression forming one)."""
    if other_pipelines + 1 < settings.INCIDENT_MIN_PIPELINES:
        return None
    # Locked by id as they are read: a responder's resolve or a recovery at the source (they
    # lock the ticket, not the culprit) committing after the count above is waited for, and
    # the ticket it ended is left out (a row waited for is read again as committed, and
    # skipped when it no longer matches), as a ticket over before is (a regression's were
    # locked before its own ticket: `_lock_with_candidates`).
    candidates = list(
        _ungrouped(ticket.group_key, now)
        .exclude(pk=ticket.pk)
        .select_for_update(no_key=True)
        .only(
            "id",
            "pipeline",
            "source",
            "severity",
            "priority",
            "timestamp",
            "first_seen",
            "regressed_at",
        )
        .order_by("pk")
    )
    pipelines = {candidate.pipeline for candidate in candidates} - {ticket.pipeline}
    if len(pipelines) + 1 < settings.INCIDENT_MIN_PIPELINES:
        return None
    candidates.sort(key=lambda candidate: candidate.timestamp)
    return _form(ticket, candidates, now, left=left).pk


# Alert kinds whose rule watches no set of resources: Service Health (the subscription's
# service issues, one ticket each by tracking id: grouped on that instead) and budgets.
_NOT_RULE_GROUPED = frozenset({"service_health", "budget"})


def rule_group_key(ticket: Ticket) -> str:
    """What the alerts of one Azure Monitor rule on several resources group on:
    `alert-rule:<the rule's id>` (when the body gives no id, its name after the subscription
    its alert is in: `_subscription_of`), lower-cased, as its keys name it
    (`azure:<rule>|<alert id>`, `_rule_of`); a Service Health alert's, the Azure incident it
    tells of: `service-health:<tracking id>` (`_tracking_of`); blank for any other ticket
    (another source, an ADF failure an alert carried, an alert whose body names no rule, a
    budget alert). One rule watching several resources (a multi-resource metric alert, a log
    search alert split by computer) sends one alert per resource, each its own ticket; one
    Azure incident reaches every subscription that has a Service Health rule (activity log
    alerts are scoped to one subscription), an alert (a ticket) per rule."""
    return rule_group_key_of(
        ticket.source, ticket.processing_mode, ticket.run_id, ticket.details, ticket.affected_entity
    )


def rule_group_key_of(
    source: str, processing_mode: str, run_key: str, details: Any, resource: Any
) -> str:
    """`rule_group_key` of a failure by its source, processing mode, run key, details and
    resource (an event's, before its ticket is read: the advisory lock ingest takes with its
    claim)."""
    if tracking := _tracking_of(source, processing_mode, run_key, details):
        return Culprit(CulpritKind.SERVICE_HEALTH, tracking).label
    rule = _rule_of(source, processing_mode, run_key, details, resource)
    if not rule:
        return ""
    return Culprit(CulpritKind.ALERT_RULE, f"{_subscription_of(rule, run_key)}{rule}".lower()).label


def _tracking_of(source: str, processing_mode: str, run_key: str, details: Any) -> str:
    """The tracking id of the Azure incident a Service Health alert keyed by it tells of (its
    run key ends `|servicehealth:<tracking id>`: the parser's `_settle_activity_event`), as
    the body spelled it; blank for any other ticket. Azure gives each of its incidents its
    own: two outages never share one, whatever their words. Blank for a notice (a maintenance,
    an action required: `SERVICE_HEALTH_NOTICE`) while notices page
    nobody (SERVICE_HEALTH_NOTICES_PAGE off): an incident of them would page."""
    if source != Source.AZURE_MONITOR or processing_mode != Source.AZURE_MONITOR:
        return ""
    details = details if isinstance(details, dict) else {}
    tracking = details.get("tracking_id")
    if details.get("alert_kind") != "service_health" or not isinstance(tracking, str):
        return ""
    if details.get(SERVICE_HEALTH_NOTICE) and not settings.SERVICE_HEALTH_NOTICES_PAGE:
        return ""
    return tracking if tracking and run_key.endswith(f"|{_SERVICE_HEALTH_KEY}{tracking}") else ""


# What a Service Health alert's run and recovery keys end with, before its tracking id.
_SERVICE_HEALTH_KEY = "servicehealth:"


def _service_health_key(rule_key: str) -> bool:
    return rule_key.startswith(f"{CulpritKind.SERVICE_HEALTH}:")


def _subscription_of(rule: str, run_key: str) -> str:
    """`/subscriptions/<id>/`, the subscription an alert of a rule named by its name alone is
    in: the one its key names after `azure:<rule>|` (its alert id's; the older log alert
    body's, its target's); blank for a rule named by its id, or when the key names none. A
    rule's id names its subscription and resource group; its name does not, and one name is
    often deployed in several subscriptions (prod, dev): one name's alerts in two
    subscriptions are two rules."""
    if rule.lower().startswith("/subscriptions/"):
        return ""
    parts = run_key.removeprefix(f"azure:{rule}|").split("/")
    if len(parts) > 3 and not parts[0] and parts[1].lower() == "subscriptions" and parts[2]:
        return f"/subscriptions/{parts[2]}/"
    return ""


def _rule_of(source: str, processing_mode: str, run_key: str, details: Any, resource: Any) -> str:
    """The rule an Azure alert's keys start with (`azure:<rule>|`), as the body spelled it: the
    rule's id or name its resource states (either may hold a `|`, the keys' separator: "cpu|prod"
    is not the rule "cpu"), else what comes before the first `|`; blank for a ticket
    `rule_group_key` groups on no rule."""
    if source != Source.AZURE_MONITOR or processing_mode != Source.AZURE_MONITOR:
        return ""
    details = details if isinstance(details, dict) else {}
    if details.get("alert_rule_unnamed") or details.get("alert_kind") in _NOT_RULE_GROUPED:
        return ""
    if not run_key.startswith("azure:"):
        return ""
    resource = resource if isinstance(resource, dict) else {}
    for stated in (resource.get("alert_rule_id"), resource.get("alert_rule")):
        if isinstance(stated, str) and stated and run_key.startswith(f"azure:{stated}|"):
            return stated
    rule, bar, _ = run_key.removeprefix("azure:").partition("|")
    return rule if bar else ""


def _same_rule(ticket: Ticket, now: datetime) -> Any:
    """The recent alerts of the ticket's rule in no incident, as `_ungrouped` reads a group
    key's: not recovered at their source, not resolved by people, last seen within the window.
    Read by the prefix every Azure alert's recovery key starts with (`azure:<rule>|`) through
    the index of the open Azure alerts in no incident (`ticket_azure_ungrouped_alert`), not
    an index of every ticket. A Service Health alert's: the open alerts of its Azure incident
    in no incident (their recovery keys end with its tracking id), of any rule and however
    long ago they were last seen."""
    tracking = _tracking_of(ticket.source, ticket.processing_mode, ticket.run_id, ticket.details)
    if tracking:
        # One Azure incident's alerts, whatever rule (subscription) sent them, however long
        # ago: its tracking id is that incident's alone.
        return Ticket.objects.filter(
            source=Source.AZURE_MONITOR,
            processing_mode=Source.AZURE_MONITOR,
            resolve_key__endswith=f"|{_SERVICE_HEALTH_KEY}{tracking}",
            details__alert_kind="service_health",
            incident__isnull=True,
            resolved_at_source_at__isnull=True,
        ).exclude(status=Status.RESOLVED)
    rule = _rule_of(
        ticket.source, ticket.processing_mode, ticket.run_id, ticket.details, ticket.affected_entity
    )
    alerts = Ticket.objects.filter(
        source=Source.AZURE_MONITOR,
        processing_mode=Source.AZURE_MONITOR,
        pipeline=ticket.pipeline,
        resolve_key__startswith=f"azure:{rule}|",
        incident__isnull=True,
        last_seen__gte=now - settings.INCIDENT_WINDOW,
        resolved_at_source_at__isnull=True,
    ).exclude(status=Status.RESOLVED)
    if subscription := _subscription_of(rule, ticket.run_id):
        # A rule named by its name alone: that name's alerts in the same subscription.
        alerts = alerts.filter(run_id__istartswith=f"azure:{rule}|{subscription}")
    return alerts


def place_escalated(ticket_id: str, rule_held: str) -> str | None:
    """An open Service Health notice's ticket that an update escalated (tickets/services.py
    `_escalate_notice`: an outage now, its notice flag cleared) is placed as a new alert of
    its Azure incident is (`_place_on_rule`): it joins the open incident of its tracking id,
    or forms one with that tracking id's open alerts in no incident (other subscriptions'
    notices of it escalated before), so one Azure incident that several subscriptions were
    told of as a notice pages once. Inside the ingest transaction, under the ticket's lock
    and `rule_held`, the advisory lock ingest took for the update (its tracking id's); a
    ticket of another key, in an incident or resolved (its regression places it:
    `_join_regressed`) stays as it is. The incident's id, None when it is in none."""
    ticket = Ticket.objects.defer("embedding").get(pk=ticket_id)
    if (
        ticket.incident_id
        or ticket.status == Status.RESOLVED
        or not _service_health_key(rule_held)
        or rule_group_key(ticket) != rule_held
    ):
        return None
    now = timezone.now()
    paged = bool(ticket.itsm_ticket_id or ticket.slack_ts)
    return _join_rule_incident(
        ticket, rule_held, now, paged=paged, left=ticket.status
    ) or _form_on_rule(ticket, rule_held, now, left=ticket.status)


def lock_notice_with_candidates(ticket_id: str, rule_held: str) -> None:
    """Lock a Service Health notice's ticket that an update may escalate together with the
    tickets its escalation may form its Azure incident with (`place_escalated`, or for an
    ended one its regression: `_same_rule`), by id, before `record_recurrence` locks it
    alone: it would otherwise lock those after it, against the order of a change locking
    some of them with it by id (a deadlock, as `_lock_with_candidates` avoids for a
    regression). Inside the ingest transaction, under `rule_held`'s advisory lock, which a
    new alert of that tracking id takes too; a ticket that is no notice is left to its lock."""
    ticket = Ticket.objects.defer("embedding").filter(pk=ticket_id).first()
    if (
        ticket is None
        or ticket.incident_id
        or not isinstance(ticket.details, dict)
        or not ticket.details.get(SERVICE_HEALTH_NOTICE)
        or not _service_health_key(rule_held)
    ):
        return
    # As it will be once escalated: a notice groups on nothing (`_tracking_of`).
    ticket.details = {k: v for k, v in ticket.details.items() if k != SERVICE_HEALTH_NOTICE}
    if rule_group_key(ticket) != rule_held:
        return
    ids = {ticket.pk, *_same_rule(ticket, timezone.now()).values_list("pk", flat=True)}
    if len(ids) > 1:
        list(
            Ticket.objects.select_for_update(no_key=True)
            .filter(pk__in=ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )


def _place_on_rule(ticket: Ticket, rule_key: str, now: datetime) -> str | None:
    """Join the open incident of the ticket's alert rule, or form one with the recent
    ungrouped alerts of that rule (each on another resource: one resource's alerts of one rule
    are one ticket) once they are INCIDENT_MIN_PIPELINES tickets. Under the rule's advisory
    lock (`place`); the other alerts are locked by id as they are read, so one resolved or
    recovered meanwhile is left out."""
    incident_id = _join_rule_incident(ticket, rule_key, now)
    if incident_id is not None:
        return incident_id
    return _form_on_rule(ticket, rule_key, now)


def _form_on_rule(ticket: Ticket, rule_key: str, now: datetime, *, left: str = "") -> str | None:
    """Form the incident of the ticket's alert rule with the rule's recent ungrouped alerts
    once they are INCIDENT_MIN_PIPELINES tickets (`_place_on_rule`); `left` as `announce`
    takes it (a regression forming one)."""
    candidates = list(
        _same_rule(ticket, now)
        .exclude(pk=ticket.pk)
        .select_for_update(no_key=True)
        .only(
            "id",
            "pipeline",
            "source",
            "severity",
            "priority",
            "timestamp",
            "first_seen",
            "regressed_at",
        )
        .order_by("pk")
    )
    if len(candidates) + 1 < settings.INCIDENT_MIN_PIPELINES:
        return None
    candidates.sort(key=lambda candidate: candidate.timestamp)
    return _form(
        ticket,
        candidates,
        now,
        group_key=rule_key,
        culprit=rule_key,
        # An Azure incident by its title and where it is, a rule by its name.
        detail=_service_health_title(ticket) if _service_health_key(rule_key) else ticket.pipeline,
        left=left,
    ).pk


def _service_health_title(ticket: Ticket) -> str:
    """What Azure calls the incident a Service Health alert tells of, and where: "Azure Data
    Factory - East US (Data Factory in East US)", from the alert's title, services and
    regions (the parser's `_describe_service_health`); "" when it names none of them."""
    details = ticket.details if isinstance(ticket.details, dict) else {}
    title, service, region = (
        str(details.get(name) or "") for name in ("title", "service", "region")
    )
    where = f"{service} in {region}" if service and region else service or region
    if title and where:
        return f"{title} ({where})"
    return title or where


def _join_rule_incident(ticket: Ticket, rule_key: str, now: datetime, **join: Any) -> str | None:
    """Join the open incident of an alert rule (`_join_if_open`, with `join`'s arguments), as
    `placement_query` reads a culprit's: not merged, not recovered, not resolved, its last
    member since `open_join_since` and, past INCIDENT_WINDOW, no member recovered since it (an
    Azure incident's, its tracking id's, however long ago: that id is one outage's alone, whose
    alerts of several subscriptions may come hours apart); the incident's id, None when there
    is none."""
    recent = (
        Q()
        if _service_health_key(rule_key)
        else Q(last_member_at__gte=open_join_since(now))
        & (Q(last_member_at__gte=now - settings.INCIDENT_WINDOW) | ~_recovered_since_last_member())
    )
    open_incidents = (
        Incident.objects.filter(
            recent, group_key=rule_key, merged_into__isnull=True, recovered_at__isnull=True
        )
        .exclude(status=Status.RESOLVED)
        .order_by("-last_member_at")
        .values_list("pk", flat=True)
    )
    while (incident_id := open_incidents.first()) is not None:
        # One resolved or merged meanwhile is read no more: the next one, or none.
        if _join_if_open(incident_id, ticket, now, **join):
            return incident_id
    return None


def _placement(ticket: Ticket, now: datetime) -> tuple[str | None, int]:
    sql, params = placement_query(ticket, now)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        incident_id, other_pipelines = cursor.fetchone()
    return incident_id, other_pipelines


def _ungrouped(group_key: str, now: datetime) -> Any:
    """The recent failures of a group key in no incident (what a new one forms one with): not
    recovered at their source, and not resolved by people (a resolved ticket is over until it
    fails again: its regression reopens it)."""
    return Ticket.objects.filter(
        group_key=group_key,
        incident__isnull=True,
        last_seen__gte=now - settings.INCIDENT_WINDOW,
        resolved_at_source_at__isnull=True,
    ).exclude(status=Status.RESOLVED)


def place_enriched(
    ticket_id: str, *, culprit: str, culprit_detail: str, error_type: str
) -> str | None:
    """A ticket whose alert carried no error text (a Databricks job notification) named no
    culprit at ingest; the analysis fetched its error and found one. Store its culprit, its
    error class and its group key, and place it as `place` places a new ticket (join the open
    incident of its group key, or form one with the recent ungrouped tickets of it) while it
    counts as a recent failure (`_ungrouped`: not recovered, not resolved by people, last seen
    within the window).

    Call inside a transaction. The locks are ingest's, in ingest's order: the culprit's
    advisory lock first (so a concurrent ingest of that culprit places before or after this,
    never beside it), then the tickets by id (this one with those it forms an incident with),
    then the incident. A ticket that has a culprit or an incident by then (another copy of
    this work ran first) is left alone: None. A ticket whose own page is out already joins as
    a member that paged before its incident formed: its page is pointed to the incident."""
    now = timezone.now()
    _lock_culprit(culprit)
    ticket = Ticket.objects.defer("embedding").filter(pk=ticket_id).first()
    if ticket is None or ticket.culprit or ticket.incident_id:
        return None
    ticket.culprit, ticket.culprit_detail = culprit, culprit_detail[:200]
    ticket.error_type = error_type
    ticket.group_key = group_key_for(culprit, error_type, ticket.source)
    incident_id, other_pipelines = None, 0
    # Placed only while it counts as a recent failure, as an ungrouped ticket would
    # (`_ungrouped`): not recovered, not resolved by people, failing within the window. A
    # forced re-analysis of a failure long past stores its culprit but joins or forms no
    # incident open now.
    if (
        ticket.resolved_at_source_at is None
        and ticket.status != Status.RESOLVED
        and ticket.last_seen >= now - settings.INCIDENT_WINDOW
    ):
        sql, params = placement_query(ticket, now)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            incident_id, other_pipelines = cursor.fetchone()
    # The rows by id, this one with those it may form an incident with: only placements of
    # this culprit (serialized on its lock, held) add to them, and `place` reads them again
    # under their locks, leaving out one resolved or recovered since.
    forms = incident_id is None and other_pipelines + 1 >= settings.INCIDENT_MIN_PIPELINES
    together = {ticket_id}
    if forms:
        together.update(_ungrouped(ticket.group_key, now).values_list("pk", flat=True))
    locked = Ticket.objects.select_for_update(no_key=True).filter(pk__in=together).order_by("pk")
    list(locked.values_list("pk"))
    # Read again under its row lock: a copy of this work that found another culprit (the
    # run's error changed between the fetches) holds another culprit's lock, not this one;
    # and its recovery or a responder's resolve (which lock the row, not the culprit) may have
    # committed since the read above: then, as a ticket over before, it is placed nowhere.
    current = Ticket.objects.filter(pk=ticket_id).values_list(
        "incident_id", "culprit", "resolved_at_source_at", "status"
    )
    placed_in, named, recovered_at, status = current.get()
    if placed_in is not None or named:
        return None
    if recovered_at is not None or status == Status.RESOLVED:
        incident_id, forms = None, False
    paged = Ticket.objects.filter(pk=ticket_id).exclude(itsm_ticket_id="", slack_ts="").exists()
    Ticket.objects.filter(pk=ticket_id).update(
        culprit=ticket.culprit,
        culprit_detail=ticket.culprit_detail,
        error_type=ticket.error_type,
        group_key=ticket.group_key,
        updated_at=now,
    )
    lifecycle.write_audit(
        ticket,
        Actor.system("analysis"),
        "culprit found",
        details={"culprit": ticket.culprit, "group_key": ticket.group_key},
    )
    while incident_id is not None and not _join_if_open(
        incident_id, ticket, now, paged=paged, left=status
    ):
        # It was resolved or merged meanwhile: placed again, as in `place` (a join still
        # points its own page to the incident and tells the column it left).
        incident_id, other_pipelines = _placement(ticket, now)
        forms = incident_id is None and other_pipelines + 1 >= settings.INCIDENT_MIN_PIPELINES
    if incident_id is not None:
        return incident_id
    if not forms:
        return None
    # Members that paged before it formed, this one too, are pointed to it when it pages.
    return place(ticket, now, placement=(None, other_pipelines))


def raise_to_member(ticket_id: str) -> None:
    """A member's severity was raised after it was placed (the class of the error text its
    analysis fetched: `rules.severity_raised_by_class`): its incident takes it, as it takes a
    graver member's that joins (`_join_if_open`), and its page follows (`incident_changed`), as it
    does a join. Call inside the transaction that raised it."""
    row = (
        Ticket.objects.filter(pk=ticket_id)
        .values_list("incident_id", "severity", "priority")
        .first()
    )
    if row is None or row[0] is None:
        return
    incident_id, severity, priority = row
    rank = _SEVERITY_RANK.get(severity, 9)
    milder = [name for name, other in _SEVERITY_RANK.items() if other > rank]
    raised = Incident.objects.filter(pk=incident_id, severity__in=milder).update(
        severity=severity, priority=priority
    )
    if raised:
        announce(incident_id, "raised", Actor.system("analysis"), ticket_id)


def _worst(severities: list[str]) -> str:
    return min(severities, key=lambda s: _SEVERITY_RANK.get(s, 9))


def _failed_at(member: Ticket, joined: datetime | None = None) -> datetime:
    """When a member's failure began, as its incident's start counts it: the time its source
    gave (`first_seen`) when that is within INCIDENT_WINDOW before the service first saw it
    (`timestamp`), else the time the service saw it. A payload naming a run long past (a
    replayed delivery, a sample posted by `make demo`) does not date an outage seen now a year
    back, nor a made-up INCIDENT_WINDOW back; its ticket keeps that time. A member that
    regressed (resolved, then failed again) before it joined (`joined`: the incident's
    forming, for a member counted again) failed this time when it regressed (`regressed_at`):
    a failure days old, over since, does not date the outage; one that regressed as a member
    is the outage back, its first failure still part of it."""
    if member.first_seen >= member.timestamp - settings.INCIDENT_WINDOW:
        failed = member.first_seen
    else:
        failed = member.timestamp
    regressed = member.regressed_at
    if regressed is not None and regressed > failed and (joined is None or regressed <= joined):
        return regressed
    return failed


def _form(
    ticket: Ticket,
    earlier: list[Ticket],
    now: datetime,
    *,
    group_key: str = "",
    culprit: str = "",
    detail: str = "",
    left: str = "",
) -> Incident:
    """The incident of `ticket` and `earlier`, keyed on the ticket's group key and culprit, or
    on those given (an alert rule's: `_place_on_rule`); `left`: the ticket's status on its
    own, as `announce` takes it (a regression forming it, `_join_regressed`; its own page, if
    it paged, is linked to the incident's as an earlier member's is)."""
    members = [*earlier, ticket]
    lead = members[0]
    worst = _worst([member.severity for member in members])
    lead_priority = min(member.priority for member in members)
    incident = Incident.objects.create(
        id=new_incident_id(now),
        group_key=group_key or ticket.group_key,
        culprit=culprit or ticket.culprit,
        culprit_detail=(detail if culprit else ticket.culprit_detail)[:200],
        error_type=ticket.error_type,
        severity=worst,
        priority=lead_priority,
        first_seen=min(_failed_at(member) for member in members),
        last_member_at=now,
        member_count=len(members),
        lead_ticket_id=lead.pk,
        finops_team=Ticket.objects.filter(pk=lead.pk).values_list("finops_team", flat=True)[0],
        created_at=now,
    )
    # Held by `place` (the earlier ones, by id; this one is its own).
    Ticket.objects.filter(pk__in=[member.pk for member in members]).update(incident=incident)
    incident_forming.send(
        sender=Incident, incident_id=incident.pk, members=[member.pk for member in members]
    )
    system = Actor.system("incidents")
    record_event(
        incident.pk,
        "formed",
        ticket_id=ticket.pk,
        actor=system,
        details={"culprit": incident.culprit, "members": len(members)},
        at=now,
    )
    for member in members:
        record_event(
            incident.pk,
            "alert" if member.source == Source.AZURE_MONITOR else "failure",
            ticket_id=member.pk,
            details={"pipeline": member.pipeline},
            at=member.timestamp,
        )
    announce(incident.pk, "formed", system, ticket.pk, left=left)
    return incident


_JOIN_IF_OPEN = f"""
    UPDATE {Incident._meta.db_table}
       SET member_count = member_count + 1, last_member_at = %(now)s,
           first_seen = LEAST(first_seen, %(failed_at)s),
           severity = CASE WHEN severity = ANY(%(milder)s) THEN %(severity)s ELSE severity END,
           priority = CASE WHEN severity = ANY(%(milder)s) THEN %(priority)s ELSE priority END
     WHERE id = %(id)s AND merged_into_id IS NULL AND recovered_at IS NULL
       AND status <> %(resolved)s
    RETURNING status
    """


def _join_if_open(
    incident_id: str,
    ticket: Ticket,
    now: datetime,
    *,
    paged: bool = False,
    left: str = "",
    take_status: bool = True,
) -> bool:
    """Join the incident while it is one a failure joins (`placement_query`): False, and
    nothing changed, when the change it waited for left it resolved or merged. The UPDATE that
    counts the member takes the incident's lock and, waiting on a change that holds it, reads
    the row as that change left it; it takes a graver member's severity (the incident is as
    grave as its worst member) and returns the status the member takes
    (`_take_incidents_status`), and starts when it failed if that was earlier (`_failed_at`:
    a failure reported late, a ticket placed once its error was fetched). Without
    `take_status`, the caller has the member take it once its own change is announced
    (`regress`)."""
    rank = _SEVERITY_RANK.get(ticket.severity, 9)
    params: dict[str, Any] = {
        "id": incident_id,
        "now": now,
        "failed_at": _failed_at(ticket),
        "milder": [name for name, other in _SEVERITY_RANK.items() if other > rank],
        "severity": ticket.severity,
        "priority": ticket.priority,
        "resolved": Status.RESOLVED,
    }
    with connection.cursor() as cursor:
        cursor.execute(_JOIN_IF_OPEN, params)
        row = cursor.fetchone()
    if row is None:
        return False
    Ticket.objects.filter(pk=ticket.pk).update(incident_id=incident_id)
    ticket.incident_id = incident_id
    kind = "alert" if ticket.source == Source.AZURE_MONITOR else "failure"
    record_event(incident_id, kind, ticket_id=ticket.pk, details={"pipeline": ticket.pipeline})
    if take_status:
        _take_incidents_status(incident_id, ticket.pk, status=row[0])
    announce(incident_id, "joined", Actor.system("incidents"), ticket.pk, paged=paged, left=left)
    return True


# The action that brought an incident to a status people own it in, as `act` applied it.
_OWNED_BY: dict[str, str] = {
    Status.ACKNOWLEDGED: "acknowledge",
    Status.IN_PROGRESS: "start_progress",
}


def _take_incidents_status(
    incident_id: str,
    ticket_ids: str | list[str],
    how: str = "joined it",
    *,
    status: str | None = None,
) -> None:
    """A member joining an incident that people acknowledged or took is theirs too, and so are
    a member a regression reopened in it and the members merged into it: each takes the
    incident's status the way `act` gave it to the members then (the same action by the same
    actor, its audit entry naming the incident, where it was done and `how` the member came to
    it), so its SLA goes as theirs
    did (met when acknowledged) and the board shows no open member in an owned incident.
    Called by `_join_if_open` with the `status` its UPDATE of the incident returned (by
    `regress` once the member's regression is announced), by `_reopen_for` after its recount
    locked it and by `merge` (which locked them all): the
    incident's lock is held, so its status is the one committed last (an `act` on it waits
    for this ingest, or went first), and the members' rows are this transaction's own (new) or
    held by id already (`place_enriched`, the failure's UPDATE, `merge`)."""
    if status is None:
        status = Incident.objects.filter(pk=incident_id).values_list("status", flat=True).get()
    action = _OWNED_BY.get(status)
    if action is None:
        return
    event = last_status_change(incident_id)
    if event is not None and event.kind == action:
        # People act as their account from the API, the dashboard, admin and Slack (a
        # clicker acts for the account its Slack identity maps to); JIRA names no account.
        user = (
            User.objects.filter(username=event.actor_name).first()
            if event.actor_kind in (ActorKind.USER, ActorKind.SLACK)
            else None
        )
        actor = Actor(event.actor_kind, event.actor_name, user)
        via = str(event.details.get("via") or event.actor_kind)
    else:  # no timeline entry says who (an incident older than its timeline's status entries)
        actor, via = Actor.system("incidents"), ""
    note = f"{how} {lifecycle.status_words(status)}"
    ids = [ticket_ids] if isinstance(ticket_ids, str) else ticket_ids
    _act_on_members(
        Ticket.objects.filter(pk__in=ids),
        action,
        actor,
        note=_member_note(incident_id, via, note),
        through=incident_id,
    )


def record_recurrence(
    ticket_id: str,
    now: datetime,
    incident_id: str | None,
    *,
    was_recovered: bool = False,
    actor: Actor | None = None,
) -> None:
    """A member failed again: the incident's timeline shows it and its window extends.
    `incident_id` is the ticket's incident, as the recurrence's own UPDATE returned it; a
    member that had recovered at its source (left open: RESOLVE_ON_SOURCE_RECOVERY off) counts
    as recovered no more, and an incident that every member's recovery ended reopens, reported
    by `actor` (the source that reported the failure)."""
    if not incident_id:
        return
    Incident.objects.filter(pk=incident_id, last_member_at__lt=now).update(last_member_at=now)
    record_event(incident_id, "recurred", ticket_id=ticket_id, at=now)
    announce(incident_id, "recurred", Actor.system("incidents"), ticket_id)
    if was_recovered:
        _reopen_for(incident_id, ticket_id, actor or Actor.system("incidents"), now)


def _recount_recovered(incident_id: str) -> int:
    """`recovered_count` is the members recovered at their source now (one that recovered twice
    counts once; one that failed again, or left, no more). Counted under the incident's lock, so
    two members recovering at once both count."""
    Incident.objects.select_for_update(no_key=True).filter(pk=incident_id).values_list("pk").first()
    recovered = Ticket.objects.filter(
        incident_id=incident_id, resolved_at_source_at__isnull=False
    ).count()
    Incident.objects.filter(pk=incident_id).update(recovered_count=recovered)
    return recovered


def regress(
    ticket_id: str,
    actor: Actor,
    *,
    culprit_held: str,
    occurrence_key: str,
    occurrence_count: int,
    rule_held: str = "",
) -> Ticket:
    """A resolved ticket fails again (`lifecycle.regress`). A member reopens its incident
    (`record_regression`). One in no incident (over before an incident of its outage formed,
    so it stayed out of it) is placed as a new failure of it would (`_join_regressed`: it
    joins the open incident of its group key, or forms one with the recent ungrouped failures
    of it), before its regression is announced: the outage pages once,
    the incident telling it, and its own issue and alert, if it paged, are pointed there
    instead of reopened (`through_incident`, `announce`'s `paged`). It counts from its
    regression (`regressed_at`, `_failed_at`), the incident's last member then.

    Call inside the ingest transaction, under the advisory locks `record_event` took with the
    claim: the lock order is ingest's (the culprit's lock, the ticket's, the incident's), so
    it joins only while `culprit_held`, the culprit whose lock is held (the failure's), is the
    ticket's own; a ticket whose failure now names another culprit stays as it was. An Azure
    alert's ticket placed so in none joins the open incident of its alert rule, or forms one
    with the rule's recent alerts, while `rule_held`, the rule whose lock ingest took after
    the culprit's, is its own."""
    joined: str | None = None
    _lock_with_candidates(ticket_id, culprit_held, rule_held)

    def join(ticket: Ticket) -> str | None:
        nonlocal joined
        joined = _join_regressed(ticket, culprit_held, rule_held)
        return joined

    ticket = lifecycle.regress(
        ticket_id,
        actor,
        occurrence_key=occurrence_key,
        occurrence_count=occurrence_count,
        join=join,
    )
    if joined is None:
        record_regression(ticket, actor)
    else:
        # Once its regression is announced (the incident's lock is held since it joined).
        _take_incidents_status(joined, ticket.pk)
    return ticket


def _lock_with_candidates(ticket_id: str, culprit_held: str, rule_held: str) -> None:
    """Lock a resolved ticket in no incident together with the tickets its regression may form
    an incident with (`_form_on_culprit`, `_form_on_rule`: its group key's and its rule's
    recent ungrouped ones), by id, before `lifecycle.regress` locks it: forming, it would
    otherwise lock those after it, and a change locking some of them with it by id (a release
    of held pages, `fanout.release_regression_pages`) could hold a lower one and wait for it
    (a deadlock). Ingest's changes of them wait for the advisory locks held here; one that
    becomes a candidate after this without them (reopened or detached by people) is locked
    after it, as before."""
    ticket = Ticket.objects.defer("embedding").filter(pk=ticket_id).first()
    if ticket is None or ticket.incident_id:
        return
    now = timezone.now()
    ids = {ticket.pk}
    if ticket.group_key and ticket.culprit == culprit_held:
        ids.update(_ungrouped(ticket.group_key, now).values_list("pk", flat=True))
    if rule_held and rule_group_key(ticket) == rule_held:
        ids.update(_same_rule(ticket, now).values_list("pk", flat=True))
    if len(ids) > 1:
        list(
            Ticket.objects.select_for_update(no_key=True)
            .filter(pk__in=ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )


def _join_regressed(ticket: Ticket, culprit_held: str, rule_held: str = "") -> str | None:
    """`regress`'s join: the reopened ticket, locked, is placed as `place` places a new
    failure: it joins the open incident of its group key or forms one with the recent
    ungrouped tickets of it, else (an Azure alert's) joins the open incident of its alert rule
    or forms one with the rule's recent ungrouped alerts (two resources of one rule that each
    fired and recovered alone, firing again together, are the rule's incident, paged once).
    The incident's id, None when it is in none."""
    if ticket.incident_id:
        return None
    now = ticket.regressed_at or timezone.now()
    paged = bool(ticket.itsm_ticket_id or ticket.slack_ts)
    on_culprit = bool(ticket.group_key) and ticket.culprit == culprit_held
    on_rule = bool(rule_held) and rule_group_key(ticket) == rule_held
    incident_id = None
    other_pipelines = 0
    if on_culprit:
        incident_id, other_pipelines = _placement(ticket, now)
        while incident_id is not None and not _join_if_open(
            incident_id, ticket, now, paged=paged, left=ticket.status, take_status=False
        ):
            # Resolved or merged by a change that committed after the read: placed again.
            incident_id, other_pipelines = _placement(ticket, now)
    if incident_id is None and on_culprit:
        incident_id = _form_on_culprit(ticket, now, other_pipelines, left=ticket.status)
    if incident_id is None and on_rule:
        incident_id = _join_rule_incident(
            ticket, rule_held, now, paged=paged, left=ticket.status, take_status=False
        ) or _form_on_rule(ticket, rule_held, now, left=ticket.status)
    return incident_id


def record_regression(ticket: Ticket, actor: Actor) -> None:
    """A member failed again after it was resolved: if its incident was resolved (by people
    or because every member recovered), the outage is not over, so the incident reopens and
    the board shows it, with the member, among the open ones again."""
    if ticket.incident_id:
        _reopen_for(ticket.incident_id, ticket.pk, actor, timezone.now())


def _reopen_for(incident_id: str, ticket_id: str, actor: Actor, now: datetime) -> None:
    """Member `ticket_id` fails again: recount the recovered members and, if the incident was
    over (resolved, or every member recovered), reopen it (timeline `reopen`)."""
    reopened = (
        Incident.objects.filter(pk=incident_id, merged_into__isnull=True)
        .filter(Q(status=Status.RESOLVED) | Q(recovered_at__isnull=False))
        .update(
            status=Status.OPEN,
            ack_ts=None,
            ack_user="",
            recovered_at=None,
            updated_at=now,
        )
    )
    _recount_recovered(incident_id)  # it counts no more: its culprit fails again
    if not reopened:
        # Its timeline already shows the failure (`record_recurrence`). A member failing again
        # (reopened by its regression) in an incident people still own is theirs, as a
        # joining one is.
        _take_incidents_status(incident_id, ticket_id, "failed again while it was")
        return
    title = _member_title(ticket_id)
    event = record_event(
        incident_id,
        "reopen",
        ticket_id=ticket_id,
        actor=Actor.system("incidents"),
        at=now,
        details={"why": f"{title or ticket_id} ({ticket_id}) failed again", "via": actor.kind},
    )
    # The fix its resolve recorded on its members (one copy each), as a ticket's regression
    # names its own: one recorded since the incident was last reopened (a fix of an earlier
    # resolve was named when the outage came back after that one).
    last_reopen = (
        IncidentEvent.objects.filter(incident_id=incident_id, kind="reopen")
        .exclude(pk=event.pk)
        .order_by("-at", "-id")
        .values_list("at", flat=True)
        .first()
    )
    fix = (
        Resolution.objects.usable()
        .filter(through_incident=incident_id)
        .filter(Q(created_at__gte=last_reopen) if last_reopen else Q())
        .defer("embedding")
        .first()
    )
    note = lifecycle.fix_did_not_hold(fix) if fix else ""
    _status_changing(
        incident_id, "regressed", actor, event, note=note, ticket_id=ticket_id, title=title
    )
    announce(incident_id, "reopen", actor, ticket_id)


def follow_member_change(
    sender: Any,
    ticket_id: str,
    action: str,
    actor: Actor,
    note: str = "",
    via: str = "",
    through_incident: str = "",
    before: dict[str, Any] | None = None,
    **kwargs: Any,
) -> None:
    """`ticket_changing` (connected in tickets/apps.py): a member reopened or resolved on its
    own ticket (the API, the dashboard, admin, its own JIRA issue or Slack alert; resolved by
    a remediation too), not by its incident's action (`through_incident`), is followed by its
    incident (`member_reopened`, `member_resolved`)."""
    if through_incident:
        return
    was = (before or {}).get("status")
    if action == "reopen" and was:
        member_reopened(ticket_id, actor, via=via or actor.kind, note=note, was=was)
    elif action == "resolve" and actor.kind != ActorKind.SOURCE:
        # A recovery at the source is followed by `record_recovery`, which its caller runs.
        fix = str(kwargs.get("fix") or "")
        member_resolved(ticket_id, actor, via=via or actor.kind, note=note, fix=fix)


def member_reopened(
    ticket_id: str, actor: Actor, *, via: str, note: str = "", was: str = Status.RESOLVED
) -> None:
    """People reopened a member (`was` its status before) on its own ticket: inside that
    transition's transaction, the ticket locked (then its incident: ingest's order). A
    recovery at the source it had was cleared by the reopen (lifecycle `_apply`): the
    incident counts it recovered no more (the remediation hold reads that count). An
    incident people acknowledged or took reopens (handed back, as the member was), so that
    no open member is left inside an incident the board shows owned. So does an incident
    that was over (resolved by people or with its last open member, or by every member's
    recovery) when the member was resolved, as it does when a member fails again: a
    responder who reopens a member says the outage is not over, and an open member inside a
    resolved incident would take no new failure beside it. A reopen of an acknowledged or
    taken member clears no recovery at the source and says nothing of the outage: it leaves
    an incident that was over as it is (one that every member's recovery resolved would
    otherwise be open with every member recovered, and nothing left to resolve it). Its
    other members are left as they are; its timeline's `reopen` names who reopened which
    member via where, and that is told where the incident is followed (`member_reopened`).
    Either way its page and the board follow (`incident_changed`)."""
    row = Ticket.objects.filter(pk=ticket_id).values_list("incident_id", *TITLE_FIELDS).first()
    if row is None or row[0] is None:
        return
    incident_id, title = row[0], ticket_title(*row[1:])
    now = timezone.now()
    counted = (
        Incident.objects.select_for_update(no_key=True)
        .filter(pk=incident_id)
        .values_list("recovered_count", flat=True)
        .first()
    )
    follows = Q(status__in=list(_OWNED_BY))
    if was == Status.RESOLVED:
        follows |= Q(status=Status.RESOLVED) | Q(recovered_at__isnull=False)
    reopened = (
        Incident.objects.filter(pk=incident_id, merged_into__isnull=True)
        .filter(follows)
        .update(status=Status.OPEN, ack_ts=None, ack_user="", recovered_at=None, updated_at=now)
    )
    recovered = _recount_recovered(incident_id)
    if not reopened:
        if recovered != counted:  # the board's and the page's count follow
            announce(incident_id, "member_reopened", actor, ticket_id)
        return
    event = record_event(
        incident_id,
        "reopen",
        ticket_id=ticket_id,
        actor=actor,
        at=now,
        details={
            "via": via,
            "member": f"{title or ticket_id} ({ticket_id})",
            **({"note": note} if note else {}),
        },
    )
    _status_changing(
        incident_id,
        "member_reopened",
        actor,
        event,
        via=via,
        note=note,
        ticket_id=ticket_id,
        title=title,
    )
    announce(incident_id, "reopen", actor, ticket_id)


def member_resolved(
    ticket_id: str, actor: Actor, *, via: str, note: str = "", fix: str = ""
) -> None:
    """People (or a remediation) resolved a member on its own ticket: inside that transition's
    transaction, the ticket locked (then its incident: ingest's order). When no member is
    left open, the incident resolves (`_resolve_when_over`): it would otherwise stay open,
    or owned, with nothing in it to act on."""
    row = Ticket.objects.filter(pk=ticket_id).values_list("incident_id", *TITLE_FIELDS).first()
    if row is None or row[0] is None:
        return
    _resolve_when_over(
        row[0],
        "member_resolved",
        actor,
        ticket_id=ticket_id,
        title=ticket_title(*row[1:]),
        how="resolved",
        via=via,
        note=note,
        fix=fix,
    )


def _open_members(incident_id: str | OuterRef) -> QuerySet[Ticket]:
    """The members not over: neither resolved nor recovered at their source (one left open
    by a recovery, RESOLVE_ON_SOURCE_RECOVERY off, is over: every member recovering resolves
    the incident too)."""
    return Ticket.objects.filter(
        incident_id=incident_id, resolved_at_source_at__isnull=True
    ).exclude(status=Status.RESOLVED)


def _resolve_when_over(
    incident_id: str,
    action: str,
    actor: Actor,
    *,
    ticket_id: str,
    title: str,
    how: str,
    via: str,
    note: str = "",
    fix: str = "",
    announced: str = "resolve",
) -> bool:
    """Member `ticket_id` was resolved, recovered or detached (`how`): if that left the
    incident members all over (`_open_members`: none; one left with no member stays as it
    is), the incident is resolved, by `actor` via `via`, as an `act` would: its timeline's
    `resolved` names the member, and it is told where the incident is followed (`action`:
    `member_resolved`, `member_detached`). The caller holds the member's lock; this takes the
    incident's. An incident resolved already, or merged, is left alone. True if it resolved."""
    now = timezone.now()
    Incident.objects.select_for_update(no_key=True).filter(pk=incident_id).values_list("pk").first()
    if _open_members(incident_id).exists():
        return False
    if not Ticket.objects.filter(incident_id=incident_id).exists():
        return False
    resolved = (
        Incident.objects.filter(pk=incident_id, merged_into__isnull=True, recovered_at__isnull=True)
        .exclude(status=Status.RESOLVED)
        .update(status=Status.RESOLVED, updated_at=now)
    )
    if not resolved:
        return False
    member = f"{title or ticket_id} ({ticket_id})"
    why = {
        "resolved": "no member is left open",
        "recovered": "it recovered at its source, and no member is left open",
        "detached": "detached; every member left is resolved or recovered",
    }[how]
    event = record_event(
        incident_id,
        "resolved",
        ticket_id=ticket_id,
        actor=actor,
        at=now,
        details={
            "via": via,
            "member": member,
            "how": how,
            "why": why,
            **({"note": note} if note else {}),
            **({"fix": fix} if fix else {}),
        },
    )
    _status_changing(
        incident_id,
        action,
        actor,
        event,
        via=via,
        note=note,
        ticket_id=ticket_id,
        title=title,
        fix=fix,
    )
    announce(incident_id, announced, actor, ticket_id)
    return True


UPGRADE_NOTE = (
    "Every member was over before this release, which resolves an incident with its last "
    "open member, was installed."
)


def resolve_incidents_left_open() -> list[str]:
    """Incidents whose members were all resolved or recovered before the release that resolves
    an incident with its last open member (7f4895c): a release before it left them open, or
    owned, with nothing in them to act on, and no member change comes to resolve them. Each is
    resolved as its last member's change would have (`_resolve_when_over`: the timeline names
    that member, Slack and JIRA are told), by whoever made it. The ids resolved."""
    still_open = _open_members(OuterRef("pk"))
    left_open = (
        Incident.objects.filter(merged_into__isnull=True, recovered_at__isnull=True)
        .exclude(status=Status.RESOLVED)
        .filter(Exists(Ticket.objects.filter(incident_id=OuterRef("pk"))))
        .exclude(Exists(still_open))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    resolved = []
    for incident_id in left_open:
        with transaction.atomic():
            last = (
                Ticket.objects.select_for_update(no_key=True)
                .filter(incident_id=incident_id)
                .annotate(over_at=Greatest("resolved_at", "resolved_at_source_at"))
                .order_by(F("over_at").desc(nulls_last=True), "pk")
                .only("pk", *TITLE_FIELDS, "source", "resolved_by", "resolved_at_source_at")
                .first()
            )
            if last is None:
                continue
            recovered = last.resolved_at_source_at is not None and last.over_at == (
                last.resolved_at_source_at
            )
            if recovered and not settings.INCIDENT_AUTO_RESOLVE:
                continue  # as `record_recovery`: every member recovering only counts them
            if recovered:
                actor, how, via = Actor.source(last.source), "recovered", "source"
            else:
                actor = Actor(ActorKind.USER, last.resolved_by or "someone")
                how, via = "resolved", ActorKind.USER
            if _resolve_when_over(
                incident_id,
                "member_resolved",
                actor,
                ticket_id=last.pk,
                title=last.title,
                how=how,
                via=via,
                note=UPGRADE_NOTE,
                announced="resolved" if recovered else "resolve",
            ):
                resolved.append(incident_id)
    return resolved


def record_recovery(ticket: Ticket, actor: Actor) -> None:
    """A member recovered at its source; with INCIDENT_AUTO_RESOLVE the incident recovers
    when every member has, and resolves when this was the last member open (the others
    resolved by people: `_resolve_when_over`)."""
    if not ticket.incident_id:
        return
    now = timezone.now()
    recovered = _recount_recovered(ticket.incident_id)
    record_event(ticket.incident_id, "recovered", ticket_id=ticket.pk, actor=actor, at=now)
    incident = Incident.objects.get(pk=ticket.incident_id)
    still_failing = recovered < incident.members.count()
    if settings.INCIDENT_AUTO_RESOLVE and not still_failing and incident.recovered_at is None:
        # Resolved by people already: its status does not change, so nothing more is told.
        resolves = incident.status != Status.RESOLVED
        incident.recovered_at = now
        incident.status = Status.RESOLVED
        incident.save(update_fields=["recovered_at", "status", "updated_at"])
        if resolves:
            event = record_event(
                incident.pk,
                "resolved",
                actor=Actor.system("incidents"),
                at=now,
                details={"why": "every member recovered"},
            )
            _status_changing(
                incident.pk, "recovered", Actor.system("incidents"), event, via="source"
            )
        announce(incident.pk, "resolved", Actor.system("incidents"))
    elif not (
        settings.INCIDENT_AUTO_RESOLVE
        and _resolve_when_over(
            incident.pk,
            "member_resolved",
            actor,
            ticket_id=ticket.pk,
            title=ticket.title,
            how="recovered",
            via="source",
            announced="resolved",
        )
    ):
        announce(incident.pk, "recovered", actor, ticket.pk)


def affected(incident: Incident) -> dict[str, list[str]]:
    """The pipelines, the places they run in (all, and by kind: factories, workspaces, DAGs),
    and the rules of the Azure alerts among the members (distinct, sorted)."""
    rows = incident.members.values_list("pipeline", "affected_entity", "processing_mode")
    pipelines: set[str] = set()
    places: dict[str, set[str]] = {kind: set() for kind in _PLACE_KINDS}
    alert_rules: set[str] = set()
    for pipeline, entity, mode in rows.iterator(chunk_size=2000):
        if mode == Source.AZURE_MONITOR:  # an alert's "pipeline" is its rule
            alert_rules.add(pipeline)
            continue
        pipelines.add(pipeline)
        entity = entity if isinstance(entity, dict) else {}
        kind = next((kind for kind in _PLACE_KINDS if entity.get(kind)), None)
        if kind:
            places[kind].add(str(entity[kind]))
    return {
        "pipelines": sorted(pipelines),
        "places": sorted(set().union(*places.values())),
        "alert_rules": sorted(alert_rules),
        **{_PLACE_KINDS[kind][1]: sorted(found) for kind, found in places.items()},
    }


# Where a member pipeline runs, by the key its affected entity names it with: (one, many).
_PLACE_KINDS = {
    "factory": ("factory", "factories"),
    "workspace_id": ("workspace", "workspaces"),
    "dag_id": ("DAG", "DAGs"),
}


def _places_phrase(seen: dict[str, list[str]]) -> str:
    """ " in 2 factories", " in 1 factory and 3 DAGs", or "" when no member names its place."""
    parts = [
        f"{len(seen[many])} {one if len(seen[many]) == 1 else many}"
        for one, many in _PLACE_KINDS.values()
        if seen[many]
    ]
    return f" in {' and '.join(parts)}" if parts else ""


def shared_cause(incident: Incident) -> str:
    """The incident's cause in one plain sentence, from its members (the rule-based RCA)."""
    seen = affected(incident)
    first = incident.members.order_by("timestamp").values_list("pipeline", flat=True).first() or ""
    culprit = incident.culprit.split(":", 1)[-1]
    verb = _VERBS.get(incident.error_type, "failed against")
    places = _places_phrase(seen)
    first_seen = timezone.localtime(incident.first_seen)
    since = first_seen.strftime(
        "%H:%M %Z" if first_seen.date() == timezone.localdate() else "%Y-%m-%d %H:%M %Z"
    )
    rules = len(seen["alert_rules"])
    if incident.culprit.startswith(f"{CulpritKind.SERVICE_HEALTH}:"):
        # One Azure incident told to each subscription's Service Health rule.
        count, named = _resources(incident)
        about = f" ({incident.culprit_detail})" if incident.culprit_detail else ""
        return (
            f"Azure Service Health incident {culprit}{about} reached the Service Health alert "
            f"rules of {count} subscription{'s' if count != 1 else ''} since {since}: {named}."
        )
    if incident.culprit.startswith(f"{CulpritKind.ALERT_RULE}:"):
        # One rule's alerts, each on a resource of its own.
        count, named = _resources(incident)
        return (
            f"Azure alert rule '{incident.culprit_detail or culprit}' fired on {count} "
            f"resource{'s' if count != 1 else ''} at once since {since}: {named}."
        )
    if not seen["pipelines"]:  # alerts only: about a resource, not failing pipelines
        return (
            f"{rules} Azure alert rule{'s' if rules != 1 else ''} fired on {culprit} "
            f"since {since}; first: {first}."
        )
    alerts = (
        f", and {rules} Azure alert rule{'s' if rules != 1 else ''} fired on it" if rules else ""
    )
    return (
        f"{len(seen['pipelines'])} pipelines{places} {verb} {culprit} since {since}{alerts}; "
        f"first: {first}."
    )


_VERBS = {
    "NetworkError": "could not reach",
    "DatabaseError": "could not connect to",
    "AuthenticationError": "were refused by",
    "TimeoutError": "timed out against",
    "ResourceExhaustion": "ran out of capacity on",
    "ExternalServiceError": "got errors from",
    "ConfigurationError": "are misconfigured for",
}


def _resources(incident: Incident, limit: int = 5) -> tuple[int, str]:
    """How many resources the members' alerts name (an alert on several: each), and the first
    `limit` of them by name: "'vm-1', 'vm-2' and 3 more"."""
    seen: dict[str, str] = {}
    rows = incident.members.order_by("timestamp", "pk").values_list("pk", "affected_entity")
    for ticket_id, entity in rows.iterator(chunk_size=2000):
        entity = entity if isinstance(entity, dict) else {}
        ids = entity.get("resource_ids") or [entity.get("resource_id") or ""]
        for resource_id in ids if isinstance(ids, list) else []:
            resource_id = str(resource_id)
            name = resource_id.rstrip("/").rsplit("/", 1)[-1]
            seen.setdefault(resource_id.lower() or ticket_id, name)
    names = [f"'{name}'" if name else "an unnamed resource" for name in seen.values()]
    more = len(names) - limit
    return len(names), ", ".join(names[:limit]) + (f" and {more} more" if more > 0 else "")


def subscriptions_told(incident: Incident) -> int:
    """How many subscriptions' Service Health rules told of an Azure incident's incident (its
    members' targets); 0 for any other incident."""
    if not incident.culprit.startswith(f"{CulpritKind.SERVICE_HEALTH}:"):
        return 0
    return _resources(incident)[0]


def _service_health_recovery() -> str:
    """What a Service Health incident's `Resolved` notifications do, as configured."""
    if not settings.RESOLVE_ON_SOURCE_RECOVERY:
        # The tickets are left open; with INCIDENT_AUTO_RESOLVE every member recovered at its
        # source resolves the incident (`record_recovery`).
        incident = (
            "the last one resolves the incident"
            if settings.INCIDENT_AUTO_RESOLVE
            else "people here resolve the incident"
        )
        return (
            "Each subscription's alert keeps its own ticket; its Resolved notification marks "
            f"it recovered at source, people here resolve the tickets, and {incident}."
        )
    if not settings.INCIDENT_AUTO_RESOLVE:
        return (
            "Each subscription's alert keeps its own ticket; its Resolved notification closes "
            "it, and the incident is resolved by people here."
        )
    return (
        "Each subscription's alert keeps its own ticket; its Resolved notification closes it, "
        "and the last one the incident."
    )


def shared_recommendations(incident: Incident) -> list[str]:
    culprit = incident.culprit.split(":", 1)[-1]
    if incident.culprit.startswith(f"{CulpritKind.SERVICE_HEALTH}:"):
        return [
            f"This is Azure's own incident: follow it in Service Health (tracking id "
            f"{culprit}) rather than fixing each subscription; its updates reach each "
            "subscription's ticket.",
            "Move or pause the work that depends on the impacted services and regions until "
            "Azure reports it mitigated; do not rerun failing pipelines one by one.",
            _service_health_recovery(),
        ]
    if incident.culprit.startswith(f"{CulpritKind.ALERT_RULE}:"):
        return [
            "Look for what these resources share (a host, a deployment, a dependency, a "
            "change rolled out to all of them): one rule firing on all of them at once is "
            "rarely a fault of each.",
            "Check the rule's threshold too: a threshold every resource crosses at once may "
            "be too tight.",
            "Each resource's alert keeps its own ticket; its Resolved notification closes it.",
        ]
    if not incident.members.exclude(processing_mode=Source.AZURE_MONITOR).exists():
        return [
            f"Look at {culprit} first: every alert of this incident is about it.",
            "Check its Resource Health and activity log for the change that started it.",
            "Each alert's ticket keeps its own explanation; its Resolved notification closes it.",
        ]
    return [
        f"Fix the shared dependency first: {culprit} ({incident.culprit.split(':', 1)[0]}).",
        "Do not rerun the member pipelines one by one: they fail again until it is back.",
        # There is no "rerun all" action: a member's recovery is what releases the others.
        "Once it is back, the first member to recover at its source releases the held "
        "remediations of the others, in batches; rerun the members without one yourself.",
    ]


SHARED_NOTE = "Shared with incident"


def _shared_note(incident: Incident) -> str:
    return f"{SHARED_NOTE} {incident.pk} (culprit {incident.culprit})."


def share_analysis(ticket_id: str) -> bool:
    """A member of an incident takes the incident's analysis instead of its own (no LLM call
    per member of a storm). False when the ticket is in no incident. Until the incident has
    an analysis, the rule-based shared cause is written on it first."""
    with transaction.atomic():
        # The ticket's lock first, then the incident read: an analysis being stored on the
        # members (`store_analysis`, which holds their locks) is read once it committed, or
        # rewrites this ticket after it; never read before it and written over it after.
        ticket = (
            Ticket.objects.select_for_update(no_key=True)
            .filter(pk=ticket_id)
            .only("incident")
            .first()
        )
        if ticket is None or ticket.incident_id is None:
            return False
        incident = Incident.objects.get(pk=ticket.incident_id)
        _share(ticket_id, incident)
    return True


def _share(ticket_id: str, incident: Incident) -> None:
    if not incident.rca_result:
        incident.rca_result = shared_cause(incident)
        incident.recommendations = shared_recommendations(incident)
        incident.rca_source = RcaSource.RULES
        Incident.objects.filter(pk=incident.pk, rca_result="").update(
            rca_result=incident.rca_result,
            recommendations=incident.recommendations,
            rca_source=RcaSource.RULES,
        )
    Ticket.objects.filter(pk=ticket_id, rca_source=RcaSource.PENDING).update(
        rca_result=incident.rca_result,
        recommendations=incident.recommendations,
        rca_source=incident.rca_source,
        rca_note=_shared_note(incident),
        confidence=incident.rca_confidence,
        analysed_at=timezone.now(),
    )


def store_analysis(
    incident_id: str,
    *,
    rca_result: str,
    recommendations: list[str],
    rca_source: str,
    rca_note: str,
    confidence: float | None,
    members: int,
) -> None:
    """The incident's analysis (covering `members` members) on the incident and on every
    member that shares it (not a member that was analysed on its own before the incident
    formed); releases the claim taken for it. The page follows (`incident_changed`)."""
    now = timezone.now()
    with transaction.atomic():
        # The members first (by id), then the incident: the order ingest and the incident
        # actions take them in (`lock_with_members`), so none of them deadlock.
        incident = lock_with_members(incident_id).get(incident_id)
        if incident is None:
            raise Incident.DoesNotExist(incident_id)
        note = _shared_note(incident)
        Ticket.objects.filter(incident_id=incident_id, rca_note=note).update(
            rca_result=rca_result,
            recommendations=recommendations,
            rca_source=rca_source,
            confidence=confidence,
            analysed_at=now,
        )
        Incident.objects.filter(pk=incident_id).update(
            rca_result=rca_result,
            recommendations=recommendations,
            rca_source=rca_source,
            rca_note=rca_note,
            rca_confidence=confidence,
            rca_members=members,
            rca_claimed_at=None,
            updated_at=now,
        )
        system = Actor.system("analysis")
        record_event(
            incident_id,
            "analysed",
            actor=system,
            details={"source": rca_source, "members": members},
        )
        announce(incident_id, "analysed", system)


# --- acting on an incident once -----------------------------------------------------------------

INCIDENT_ACTIONS = ("acknowledge", "start_progress", "reopen", "resolve")


def lock_incidents(incident_ids: Iterable[str]) -> None:
    """Lock the incidents by id, before changes that update several of them one after another
    (each update would otherwise lock them in its own order, and two such transactions could
    each hold the incident the other needs next). The caller holds their members already."""
    wanted = sorted(set(incident_ids))
    if len(wanted) > 1:
        list(
            Incident.objects.select_for_update(no_key=True)
            .filter(pk__in=wanted)
            .order_by("pk")
            .values_list("pk")
        )


def lock_with_members(*incident_ids: str) -> dict[str, Incident]:
    """Lock the incidents' members (by id), then the incidents (by id): the order ingest
    takes them in (a member's recurrence, regression or recovery locks its ticket, then
    updates its incident), so acting on an incident while a member fails again waits for
    that member instead of deadlocking with it.

    A failure that joined between the two (it waited for no member) is a member the caller
    would lock after the incidents (`act` acting on it, `merge` moving it), while a worker may
    hold it and wait for the incident (`share_analysis`, its recurrence): then the locks are
    let go (a savepoint rolled back) and taken again, that member among the members. Once the
    incidents are held no failure joins them."""
    members = Ticket.objects.select_for_update(no_key=True).filter(incident_id__in=incident_ids)
    incidents = Incident.objects.select_for_update(no_key=True).filter(pk__in=incident_ids)
    while True:
        with transaction.atomic():
            held = set(members.order_by("pk").values_list("pk", flat=True))
            locked = {incident.pk: incident for incident in incidents.order_by("pk")}
            now = Ticket.objects.filter(incident_id__in=incident_ids).values_list("pk", flat=True)
            if held.issuperset(now):
                return locked
            transaction.set_rollback(True)


def act(
    incident_id: str,
    action: str,
    actor: Actor,
    *,
    note: str = "",
    fix: str = "",
    via: str = "",
) -> Incident:
    """Acknowledge, take (start_progress), reopen or resolve the incident and, in the same
    transaction, every member the action applies to, through the ticket lifecycle (each
    member's audit entry names the incident; a resolve's `fix` is kept on each member, so the
    next failure like any of them is shown it). Members already past it are left alone. The
    incident's page is updated once (`incident_changed`); the change is told once where the
    incident is followed (`incident_status_changing`: a Slack thread reply, a JIRA comment);
    a member's own issue/alert, when it paged before the incident formed, follows its ticket
    as usual. `via`: where the change was made (slack, jira, admin, dashboard, api; the
    actor's kind when not given), on the timeline and in what is told."""
    if action not in INCIDENT_ACTIONS:
        raise lifecycle.TransitionError(f"unknown action '{action}'")
    # Redacted once here: the timeline, the members' audit entries, the JIRA comment and the
    # Slack reply all get the redacted note.
    note = redact(note)
    with transaction.atomic():
        incident = lock_with_members(incident_id).get(incident_id)
        if incident is None:
            raise Incident.DoesNotExist("no such incident")
        if incident.merged_into_id:
            raise lifecycle.TransitionError(f"merged into {incident.merged_into_id}")
        allowed_from, target = lifecycle.TRANSITIONS[action]
        if incident.status not in allowed_from:
            raise lifecycle.TransitionError(
                f"cannot {lifecycle.refused_action(action)} an incident that is "
                f"{lifecycle.status_words(incident.status)}"
            )
        now = timezone.now()
        member_ids = _act_on_members(
            incident.members.all(),
            action,
            actor,
            note=_member_note(incident.pk, via, note),
            fix=fix,
            through=incident.pk,
        )
        incident.status = target
        fields = ["status", "updated_at"]
        if action == "acknowledge":
            incident.ack_ts, incident.ack_user = now, actor.name
            fields += ["ack_ts", "ack_user"]
        elif action == "reopen":
            incident.ack_ts, incident.ack_user, incident.recovered_at = None, "", None
            fields += ["ack_ts", "ack_user", "recovered_at"]
        incident.save(update_fields=fields)
        if action == "reopen":
            # A resolved member reopens as a ticket does, its recovery at the source cleared
            # (lifecycle `_apply`): the incident counts it recovered no more.
            incident.recovered_count = _recount_recovered(incident.pk)
        via = via or actor.kind
        event = record_event(
            incident.pk,
            "resolved" if action == "resolve" else action,
            actor=actor,
            details={
                "members": len(member_ids),
                "via": via,
                **({"note": note} if note else {}),
                **({"fix": redact(fix.strip())} if fix.strip() else {}),
            },
            at=now,
        )
        told_fix = redact(fix.strip()) if action == "resolve" else ""
        _status_changing(incident.pk, action, actor, event, via=via, note=note, fix=told_fix)
        announce(incident.pk, action, actor)
    return incident


def _member_note(incident_id: str, via: str, note: str) -> str:
    """A member's audit note for what was done to it through its incident."""
    return (
        f"via incident {incident_id}"
        + (f" in {via}" if via else "")
        + (f": {note}" if note else "")
    )


def _act_on_members(
    members: QuerySet[Ticket],
    action: str,
    actor: Actor,
    *,
    note: str,
    through: str,
    fix: str = "",
) -> list[str]:
    """Apply incident `through`'s action to those of `members` it applies to (oldest first;
    those already past it are left alone), each through the ticket lifecycle with `note` in
    its audit entry. Returns their ids. The caller holds the members' and the incident's
    locks, and sees to the incident itself (`follow_member_change` leaves these changes
    alone)."""
    allowed_from = lifecycle.TRANSITIONS[action][0]
    member_ids = list(
        members.filter(status__in=allowed_from).order_by("timestamp").values_list("pk", flat=True)
    )
    for member_id in member_ids:
        if action == "resolve":
            lifecycle.resolve(member_id, actor, note=note, fix=fix, through_incident=through)
        else:
            lifecycle.transition(member_id, action, actor, note=note, through_incident=through)
    return member_ids


DETACHED_NOTE = "Detached from incident"


def detach(incident_id: str, ticket_id: str, actor: Actor) -> Ticket:
    """Take a wrongly grouped ticket out of its incident: from now on it is a ticket of its
    own (it pages on its own, see integrations/signals.py, and a ticket that carried the
    incident's analysis gets its own, see analysis/tasks.py). The incident starts when its
    earliest remaining member failed (`_failed_at`, as when it formed); one left without
    members keeps its start. Detaching its last open member resolves it when members are
    left and all of them are over (`_resolve_when_over`), as resolving that member would."""
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update(no_key=True).defer("embedding").get(pk=ticket_id)
        incident = Incident.objects.select_for_update(no_key=True).get(pk=incident_id)
        if ticket.incident_id != incident.pk:
            raise lifecycle.TransitionError(f"{ticket_id} is not a member of {incident_id}")
        ticket.incident = None
        # Its group key is cleared too, so that its next failure does not group it again.
        ticket.group_key = ""
        fields = ["incident", "group_key", "updated_at"]
        if ticket.rca_note == _shared_note(incident):
            # The incident's analysis was not about it: it is analysed on its own (the
            # analysis app follows `detached`), says so meanwhile, and its confidence, which
            # weighs remediation, is not the incident's any more.
            ticket.rca_note = f"{DETACHED_NOTE} {incident.pk}: being analysed on its own"
            ticket.confidence = None
            fields += ["rca_note", "confidence"]
        ticket.save(update_fields=fields)
        remaining = Ticket.objects.filter(incident=incident).only(
            "first_seen", "timestamp", "regressed_at"
        )
        starts = [_failed_at(member, incident.created_at) for member in remaining]
        changes: dict[str, Any] = {"member_count": F("member_count") - 1}
        if starts:
            changes["first_seen"] = min(starts)
        Incident.objects.filter(pk=incident.pk).update(**changes)
        _recount_recovered(incident.pk)
        lifecycle.write_audit(
            ticket, actor, "detached from incident", details={"incident": incident.pk}
        )
        record_event(incident.pk, "detached", ticket_id=ticket.pk, actor=actor)
        announce(incident.pk, "detached", actor, ticket.pk)
        _resolve_when_over(
            incident.pk,
            "member_detached",
            actor,
            ticket_id=ticket.pk,
            title=ticket.title,
            how="detached",
            via=actor.via or actor.kind,
        )
    return ticket


def merge(source_id: str, into_id: str, actor: Actor) -> Incident:
    """Move every member of `source_id` into `into_id`; the source stays, marked merged. The
    incident they move to is as grave as its worst member (the source's severity, and its
    priority, each when graver), and its open members moved into one people acknowledged or
    took take its status, as a failure joining it does. A resolved incident takes no member
    still open (reopen it first), as it takes no new failure."""
    if source_id == into_id:
        raise lifecycle.TransitionError("an incident cannot be merged into itself")
    with transaction.atomic():
        locked = lock_with_members(source_id, into_id)
        if source_id not in locked or into_id not in locked:
            raise Incident.DoesNotExist("no such incident")
        source, into = locked[source_id], locked[into_id]
        if source.merged_into_id or into.merged_into_id:
            raise lifecycle.TransitionError("an incident already merged cannot take part")
        members = Ticket.objects.filter(incident=source)
        if into.status == Status.RESOLVED and members.exclude(status=Status.RESOLVED).exists():
            raise lifecycle.TransitionError(
                f"incident {into.pk} is resolved and {source.pk} has members not resolved: "
                f"reopen {into.pk} before merging into it"
            )
        moving = list(members.values_list("pk", flat=True))
        moved = members.update(incident=into)
        # Members sharing the source's analysis now share the one of the incident they moved
        # to (and its next analyses, `store_analysis`; a detach finds them by this note).
        shared: dict[str, Any] = {"rca_note": _shared_note(into)}
        if into.rca_result:
            shared.update(
                rca_result=into.rca_result,
                recommendations=into.recommendations,
                rca_source=into.rca_source,
                confidence=into.rca_confidence,
            )
        Ticket.objects.filter(incident=into, rca_note=_shared_note(source)).update(**shared)
        into.member_count = into.members.count()
        into.first_seen = min(into.first_seen, source.first_seen)
        into.last_member_at = max(into.last_member_at, source.last_member_at)
        into.severity = _worst([into.severity, source.severity])
        into.priority = min(into.priority, source.priority)  # P1 is the gravest
        into.save(
            update_fields=[
                "member_count",
                "first_seen",
                "last_member_at",
                "severity",
                "priority",
                "updated_at",
            ]
        )
        _recount_recovered(into.pk)
        _take_incidents_status(into.pk, moving, "was merged into it while it was")
        source.merged_into = into
        source.member_count = source.recovered_count = 0
        source.save(update_fields=["merged_into", "member_count", "recovered_count", "updated_at"])
        record_event(into.pk, "merged", actor=actor, details={"from": source.pk, "moved": moved})
        record_event(source.pk, "merged_into", actor=actor, details={"into": into.pk})
        announce(into.pk, "merged", actor)  # its page and issue follow (priority included)
        announce(source.pk, "merged_into", actor)
        into.refresh_from_db()  # as the recount and the members' status left it
    return into
