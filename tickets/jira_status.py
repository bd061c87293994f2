"""The JIRA status map (admin-editable `JiraStatusMapping` rows), read both ways.

Defaults (created by migration, and used whenever the map is empty): To Do → open,
In Progress → in_progress, Done → resolved.
Acknowledged has no JIRA status of its own by default: a JIRA issue of an acknowledged ticket
goes to the status mapped to in progress (someone owns it and is on it).
"""

from __future__ import annotations

from tickets import rules
from tickets.models import JiraStatusMapping, Status

DEFAULT_MAP = (
    ("To Do", Status.OPEN),
    ("In Progress", Status.IN_PROGRESS),
    ("Done", Status.RESOLVED),
)
# When no JIRA status is mapped to a ticket status, the one mapped to this status is used.
FALLBACK_STATUS = {Status.ACKNOWLEDGED: Status.IN_PROGRESS}


def _stored() -> list[tuple[str, str]]:
    return [
        (name.strip(), status)
        for name, status in JiraStatusMapping.objects.values_list("jira_status", "ticket_status")
    ]


def _mappings(*, fresh: bool = False) -> list[tuple[str, str]]:
    """(JIRA status, ticket status) pairs; names without surrounding spaces (the admin strips
    them as it saves, rows saved before it did may still have them). `fresh`: read now, not
    from the rule cache."""
    rows = _stored() if fresh else rules.cached("jira_status", _stored)
    return rows or [(name, str(status)) for name, status in DEFAULT_MAP]


def ticket_status_for(jira_status: str) -> str | None:
    """The ticket status a JIRA status means, or None when it is not mapped."""
    wanted = jira_status.strip().lower()
    for name, status in _mappings():
        if name.lower() == wanted:
            return status
    return None


def jira_statuses_for(ticket_status: str) -> list[str]:
    """Every JIRA status that shows a ticket in `ticket_status`, the first preferred (lowest
    `order`): a workflow may have several (Open and Reopened, Resolved and Closed), and only
    some of them reachable from where an issue is. Empty when none is mapped."""
    for status in (ticket_status, FALLBACK_STATUS.get(Status(ticket_status))):
        names = [name for name, mapped in _mappings() if mapped == status]
        if names:
            return names
    return []


# The ticket statuses an issue is moved to (acknowledged falls back to in progress).
MOVED_TO = (Status.OPEN, Status.IN_PROGRESS, Status.RESOLVED)


def unmapped_statuses(*, fresh: bool = False) -> list[str]:
    """The ticket statuses no JIRA status is mapped to (a map edited in admin that lost its
    Done row, say): a ticket changed to one here cannot move its issue. `fresh`: the map as
    stored now (the admin's), not as the rule cache has it."""
    mapped = {status for _, status in _mappings(fresh=fresh)}
    return [str(status) for status in MOVED_TO if status not in mapped]


def jira_status_for(ticket_status: str) -> str | None:
    """The JIRA status a ticket in `ticket_status` should show, or None when none is mapped."""
    names = jira_statuses_for(ticket_status)
    return names[0] if names else None
