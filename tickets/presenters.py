"""A ticket as the board shows it, and a change in words: shared by the dashboard, the websocket
and the API."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import BooleanField, Case, Count, ExpressionWrapper, F, Q, When
from django.utils import timezone

from integrations.models import RemediationStatus
from integrations.targets.jira import jira_url
from tickets.models import SLA_RUNNING, TITLE_FIELDS, ActorKind, Incident, Ticket, ticket_title
from tickets.timestamps import utc_text
from tickets.vocabulary import SlaStatus, Status

CARD_FIELDS = (
    "id",
    "timestamp",
    *TITLE_FIELDS,
    "severity",
    "priority",
    "error_type",
    "status",
    "source",
    "sla_status",
    "sla_deadline",
    "occurrence_count",
    "finops_team",
    "itsm_ticket_id",
    "rca_source",
    "resolved_at_source_at",
    "resolved_at",
    "regression_count",
    "incident",
    "remediation_status",
)
# How many members an incident's card lists (oldest first); its page lists more.
INCIDENT_CARD_MEMBERS = 10


# A lifecycle action in the words of the dashboard's buttons ("Take" is start_progress), as the
# ticket's audit trail, its live banner and the incident timeline say it; any other action (or
# timeline kind) reads as its name.
ACTION_WORDS = {
    "acknowledge": "acknowledged",
    "start_progress": "took it",
    "resolve": "resolved",
    "reopen": "reopened",
}


def action_words(action: str) -> str:
    return ACTION_WORDS.get(action, action.replace("_", " "))


# A remediation's change a person made, in their words: "ana approved the remediation", not
# "ana remediation approved" (the announcement's name).
PERSON_REMEDIATION_VERBS = {
    "approved": "approved",
    "running": "started",
    "started": "started",
    "declined": "declined",
    "retried": "retried",
    "skipped": "skipped",
}


class ChangeWords(NamedTuple):
    """Who did what, to be read in this order (a timeline puts the member between `what` and
    `reporter`): "ana took it", "recovered, reported by databricks", "analysed"."""

    who: str  # a person (or a remediation) who made the change; "" otherwise
    what: str
    reporter: str  # the failure's source, when it reported the change

    def __str__(self) -> str:
        text = f"{self.who} {self.what}" if self.who else self.what
        return f"{text}, reported by {self.reporter}" if self.reporter else text


def change_words(action: str, actor_kind: str, actor_name: str) -> ChangeWords:
    """A change and its actor in words. A part of this service ("incidents", "analysis", "sla")
    goes unnamed: "analysed", not "analysed by analysis". A remediation's own change does not
    say "remediation" twice: "remediation airflow_clear (id 10) awaiting approval"."""
    what = action_words(action)
    if actor_kind == ActorKind.REMEDIATION:
        return ChangeWords(actor_name, what.removeprefix("remediation "), "")
    if actor_kind == ActorKind.SOURCE:
        return ChangeWords("", what, actor_name)
    if actor_kind == ActorKind.SYSTEM:
        return ChangeWords("", what, "")
    verb = what.removeprefix("remediation ")
    if verb in PERSON_REMEDIATION_VERBS:
        what = f"{PERSON_REMEDIATION_VERBS[verb]} the remediation"
    return ChangeWords(actor_name, what, "")


def issue_url(key: str) -> str:
    """The JIRA issue's page, when there is an issue and JIRA_URL says where JIRA is."""
    return jira_url(key) if key else ""


def ticket_card(ticket: Ticket) -> dict[str, Any]:
    remaining = ticket.sla_remaining(timezone.now())
    return {
        "id": ticket.pk,
        "timestamp": utc_text(ticket.timestamp),
        "pipeline": ticket.pipeline,
        # What the board shows and searches: an Azure alert's names its resource.
        "title": ticket.title,
        "severity": ticket.severity,
        "priority": ticket.priority,
        "error_type": ticket.error_type,
        "status": ticket.status,
        "source": ticket.source,
        "sla_status": ticket.sla_status,
        "sla_deadline": utc_text(ticket.sla_deadline) if ticket.sla_deadline else None,
        "sla_remaining_seconds": int(remaining.total_seconds()) if remaining is not None else None,
        "occurrence_count": ticket.occurrence_count,
        "team": ticket.finops_team,
        "jira_key": ticket.itsm_ticket_id,
        "jira_url": issue_url(ticket.itsm_ticket_id),
        "rca_source": ticket.rca_source,
        "resolved_at_source": ticket.resolved_at_source_at is not None,
        "resolved_at": utc_text(ticket.resolved_at) if ticket.resolved_at else None,
        "regression_count": ticket.regression_count,
        # A member of an incident is shown in its incident's card, not on its own.
        "incident": ticket.incident_id,
        # The board marks the cards that wait for a responder.
        "awaiting_approval": ticket.remediation_status == RemediationStatus.AWAITING_APPROVAL,
    }


def incident_members(
    incident_ids: list[str], limit: int = INCIDENT_CARD_MEMBERS
) -> dict[str, list[dict[str, Any]]]:
    """The first `limit` members (oldest first) of each incident: one query, `limit` index
    reads per incident (`ticket_incident_members`), however large an incident is. Each is
    listed by its `title`: one alert rule's members all have its name as their pipeline."""
    found: dict[str, list[dict[str, Any]]] = {incident_id: [] for incident_id in incident_ids}
    if not incident_ids:
        return found
    table = Ticket._meta.db_table
    sql = f"""
        SELECT m.incident_id, m.id, m.pipeline, m.status, m.source, m.remediation_status,
               m.processing_mode, m.affected_entity
          FROM unnest(%s::varchar[]) AS i(id)
         CROSS JOIN LATERAL (
               SELECT t.incident_id, t.id, t.pipeline, t.status, t.source, t.remediation_status,
                      t.processing_mode, t.affected_entity, t.timestamp
                 FROM {table} t
                WHERE t.incident_id = i.id
                ORDER BY t.timestamp, t.id
                LIMIT %s) m
         ORDER BY m.incident_id, m.timestamp, m.id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(incident_ids), limit])
        for row in cursor.fetchall():
            incident_id, ticket_id, pipeline, status, source, remediation, mode, entity = row
            found[incident_id].append(
                {
                    "id": ticket_id,
                    "pipeline": pipeline,
                    "title": ticket_title(pipeline, mode, _json(entity)),
                    "status": status,
                    "source": source,
                    "awaiting_approval": remediation == RemediationStatus.AWAITING_APPROVAL,
                }
            )
    return found


def _json(value: Any) -> Any:
    """A JSON column read through a raw cursor: Django's connection hands jsonb over as text
    (its JSONField decodes it), another connection decoded."""
    return json.loads(value) if isinstance(value, str) else value


def incidents_awaiting_approval(incident_ids: list[str]) -> dict[str, int]:
    """How many members of each incident have a remediation awaiting a responder's approval:
    its card says so however many members it lists (`incident_members` lists the first ten)."""
    found = dict.fromkeys(incident_ids, 0)
    if found:
        awaiting = (
            Ticket.objects.filter(
                incident_id__in=incident_ids,
                remediation_status=RemediationStatus.AWAITING_APPROVAL,
            )
            .values_list("incident_id")
            .annotate(count=Count("pk"))
        )
        found.update(dict(awaiting))
    return found


def incident_sla_clocks(incident_ids: list[str]) -> dict[str, dict[str, Any] | None]:
    """The SLA clock each incident's card shows (None: no members), in one query: that of its
    open member due first (the earliest deadline among those whose clock runs, `SLA_RUNNING`:
    open, in progress), a ticket card's fields (`status`, `sla_status`, `sla_deadline`,
    `sla_remaining_seconds`) plus the member's `ticket`, `pipeline` and `title`. While no
    member's clock runs (every one acknowledged or resolved), how the members' clocks ended: a
    breached member's `status` and `sla_status` if any, else one member's (`ticket`,
    `pipeline`, `title`, `sla_deadline` and `sla_remaining_seconds` then None)."""
    found: dict[str, dict[str, Any] | None] = dict.fromkeys(incident_ids)
    if not incident_ids:
        return found
    running = Q(status__in=SLA_RUNNING)
    due_first = (
        Ticket.objects.filter(incident_id__in=incident_ids)
        .annotate(
            running=ExpressionWrapper(running, output_field=BooleanField()),
            running_deadline=Case(When(running, then=F("sla_deadline"))),
            breached=ExpressionWrapper(
                Q(sla_status=SlaStatus.BREACHED), output_field=BooleanField()
            ),
        )
        .order_by(
            "incident_id",
            F("running").desc(),
            F("running_deadline").asc(nulls_last=True),
            F("breached").desc(),
            "timestamp",
            "id",
        )
        .distinct("incident_id")
        .values_list(
            "incident_id",
            "id",
            "status",
            "sla_status",
            "sla_deadline",
            *TITLE_FIELDS,
        )
    )
    now = timezone.now()
    for incident_id, ticket_id, status, sla_status, deadline, *named in due_first:
        pipeline = named[0]
        clock_runs = status in SLA_RUNNING
        remaining = deadline - now if clock_runs and deadline is not None else None
        found[incident_id] = {
            "ticket": ticket_id if clock_runs else None,
            "pipeline": pipeline if clock_runs else None,
            "title": ticket_title(*named) if clock_runs else None,
            "status": status,
            "sla_status": sla_status,
            "sla_deadline": utc_text(deadline) if clock_runs and deadline else None,
            "sla_remaining_seconds": (
                int(remaining.total_seconds()) if remaining is not None else None
            ),
        }
    return found


def incident_teams(own_teams: dict[str, str]) -> dict[str, str]:
    """The teams owning the members of each incident (id: its own team, its first member's),
    in one query: its own first, then the others by name. A board filtered by a team shows the
    incidents with a member of that team, so a card naming only its first member's team would
    contradict the filter."""
    if not own_teams:
        return {}
    found: dict[str, set[str]] = {incident_id: set() for incident_id in own_teams}
    owned = (
        Ticket.objects.filter(incident_id__in=list(own_teams))
        .exclude(finops_team="")
        .values_list("incident_id", "finops_team")
        .distinct()
    )
    for incident_id, team in owned:
        found[incident_id].add(team)
    teams = {}
    for incident_id, own_team in own_teams.items():
        own = [own_team] if own_team else []
        teams[incident_id] = ", ".join(own + sorted(found[incident_id] - set(own)))
    return teams


def incident_card(
    incident: Incident,
    members: list[dict[str, str]],
    teams: str | None = None,
    awaiting_approval: int = 0,
    sla: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An incident as the board shows it (one card for all its members), and as the websocket
    sends it (`incident.changed`). `teams`: its members' (`incident_teams`); without them, the
    incident's own team. `awaiting_approval`: `incidents_awaiting_approval`. `sla`: the clock
    of its open member due first (`incident_sla_clocks`); its members leave the board's
    columns, so the card shows it for them."""
    return {
        "id": incident.pk,
        "status": incident.status,
        "culprit": incident.culprit,
        "culprit_words": incident.culprit_words,
        "culprit_detail": incident.culprit_detail,
        "error_type": incident.error_type,
        "severity": incident.severity,
        "priority": incident.priority,
        "member_count": incident.member_count,
        "recovered_count": incident.recovered_count,
        "team": incident.finops_team if teams is None else teams,
        "jira_key": incident.itsm_ticket_id,
        "jira_url": issue_url(incident.itsm_ticket_id),
        "first_seen": utc_text(incident.first_seen),
        "last_member_at": utc_text(incident.last_member_at),
        "resolved": incident.status == Status.RESOLVED or incident.recovered_at is not None,
        "merged_into": incident.merged_into_id,
        "members": members,
        "more_members": max(0, incident.member_count - len(members)),
        "awaiting_approval": awaiting_approval,
        "sla": sla,
    }
