"""Every cursor-paged list among ties of its first ordering field: the audit, the deliveries,
the incidents, an incident's members and timeline, the log analyses. Their cursor holds the
whole key (`KeysetCursorPagination`), as the tickets' does; DRF's (the first field's value and
an offset among its ties) lost rows following `previous` back from a page of one tie."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from analysis.models import LogAnalysisJob
from integrations.models import OutboundDelivery
from tests.api import clear_throttles, jwt_client, make_ticket, make_user
from tests.api.test_bad_input import forged_cursor
from tickets.models import AuditLog, Incident, IncidentEvent, Ticket

pytestmark = pytest.mark.django_db

BASE = datetime(2025, 12, 1, 12, 0, tzinfo=UTC)
# How many rows share each moment, in the list's order. (1, 1, 2) in pages of 3: the last page
# is one row of the last tie, and DRF's `previous` from it skipped back a whole page (3 rows)
# from the end, listing the first row alone.
RUN_CASES = [(1, 1, 2), (1, 1, 2, 3, 1, 4, 2)]


@pytest.fixture(autouse=True)
def _fresh_throttles():
    clear_throttles()


def moments(runs: tuple[int, ...], newest_first: bool = False) -> list[datetime]:
    """Moments in the list's order: `runs[0]` rows at the first, then `runs[1]` at the next."""
    step = timedelta(seconds=-1 if newest_first else 1)
    return [BASE + run * step for run, count in enumerate(runs) for _ in range(count)]


def audit_list(user: User, runs: tuple[int, ...]) -> tuple[str, list[Any]]:
    ticket = make_ticket()
    AuditLog.objects.filter(ticket=ticket).delete()
    for at in moments(runs):
        AuditLog.objects.create(ticket=ticket, created_at=at, actor_kind="system", action="x")
    rows = AuditLog.objects.filter(ticket=ticket).order_by("created_at", "id")
    return f"/api/v1/tickets/{ticket.pk}/audit/", list(rows.values_list("id", flat=True))


def deliveries_list(user: User, runs: tuple[int, ...]) -> tuple[str, list[Any]]:
    ticket = make_ticket()
    for number, at in enumerate(moments(runs, newest_first=True)):
        OutboundDelivery.objects.create(
            key=f"{ticket.pk}:slack_update:{number}",
            ticket=ticket,
            target="slack",
            action="slack_update",
            created_at=at,
        )
    rows = OutboundDelivery.objects.filter(ticket=ticket).order_by("-created_at", "-id")
    return f"/api/v1/tickets/{ticket.pk}/deliveries/", list(rows.values_list("id", flat=True))


def incidents_list(user: User, runs: tuple[int, ...]) -> tuple[str, list[Any]]:
    for number, at in enumerate(moments(runs, newest_first=True)):
        Incident.objects.create(id=f"INC-{number:03}", group_key=f"g{number}", last_member_at=at)
    rows = Incident.objects.order_by("-last_member_at", "-id")
    return "/api/v1/incidents/", list(rows.values_list("id", flat=True))


def members_list(user: User, runs: tuple[int, ...]) -> tuple[str, list[Any]]:
    incident = Incident.objects.create(id="INC-members", group_key="g")
    for at in moments(runs):
        make_ticket(timestamp=at, incident=incident)
    rows = Ticket.objects.filter(incident=incident).order_by("timestamp", "id")
    return f"/api/v1/incidents/{incident.pk}/members/", list(rows.values_list("id", flat=True))


def timeline_list(user: User, runs: tuple[int, ...]) -> tuple[str, list[Any]]:
    """An event answers no id: each is told by its actor's name here."""
    incident = Incident.objects.create(id="INC-timeline", group_key="g")
    for number, at in enumerate(moments(runs)):
        IncidentEvent.objects.create(
            incident=incident, at=at, kind="member_added", actor_name=f"event {number}"
        )
    rows = IncidentEvent.objects.filter(incident=incident).order_by("at", "id")
    return f"/api/v1/incidents/{incident.pk}/timeline/", list(
        rows.values_list("actor_name", flat=True)
    )


def log_analyses_list(user: User, runs: tuple[int, ...]) -> tuple[str, list[Any]]:
    for at in moments(runs, newest_first=True):
        LogAnalysisJob.objects.create(
            source=LogAnalysisJob.Source.UPLOAD, owner=user, created_at=at
        )
    rows = LogAnalysisJob.objects.order_by("-created_at", "-id")
    return "/api/v1/log-analyses/", [str(pk) for pk in rows.values_list("id", flat=True)]


LISTS: dict[str, Callable[[User, tuple[int, ...]], tuple[str, list[Any]]]] = {
    "audit": audit_list,
    "deliveries": deliveries_list,
    "incidents": incidents_list,
    "members": members_list,
    "timeline": timeline_list,
    "log analyses": log_analyses_list,
}


def walked(api: APIClient, url: str, name: str) -> tuple[list[Any], list[Any]]:
    """The rows' `name`s, every page from `url` following `next`, then every page back from
    the last following `previous`."""
    forward: list[Any] = []
    last = url
    while url:
        body = api.get(url).json()
        forward += [item[name] for item in body["results"]]
        last, url = url, body["next"]
    back = [item[name] for item in api.get(last).json()["results"]]
    url = api.get(last).json()["previous"]
    while url:
        body = api.get(url).json()
        back = [item[name] for item in body["results"]] + back
        url = body["previous"]
    return forward, back


# The field that tells a list's rows apart in its answer (`id` unless named here).
ROW_NAMES = {"timeline": "actor_name"}


@pytest.mark.parametrize("page_size", [2, 3, 4])
@pytest.mark.parametrize("runs", RUN_CASES)
@pytest.mark.parametrize("name", LISTS)
def test_walking_a_list_among_ties_lists_each_row_once_both_ways(name, runs, page_size):
    user = make_user("admin")
    url, expected = LISTS[name](user, runs)
    api = jwt_client(user)

    forward, back = walked(api, f"{url}?page_size={page_size}", ROW_NAMES.get(name, "id"))

    assert forward == expected
    assert back == expected


@pytest.mark.parametrize("name", LISTS)
def test_a_cursor_nested_past_python_s_recursion_limit_is_an_invalid_cursor(name):
    """A forged position of arrays inside arrays made `json.loads` raise RecursionError: a 500."""
    user = make_user("admin")
    url, _ = LISTS[name](user, (1, 1))
    api = jwt_client(user)

    response = api.get(url, {"cursor": forged_cursor("[" * 5000 + "]" * 5000)})

    assert response.status_code == 404
    assert response.json() == {"error": "Invalid cursor"}


@pytest.mark.parametrize("ordering", ["", "-timestamp", "severity", "urgency", "-sla_deadline"])
def test_a_tickets_cursor_nested_past_python_s_recursion_limit_is_an_invalid_cursor(ordering):
    make_ticket()
    api = jwt_client(make_user("viewer"))
    nested = "[" * 5000 + "]" * 5000

    response = api.get("/api/v1/tickets/", {"ordering": ordering, "cursor": forged_cursor(nested)})

    assert response.status_code == 404
    assert response.json() == {"error": "Invalid cursor"}
