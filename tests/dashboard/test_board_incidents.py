"""The board shows an incident as one card (member count, culprit, status, its first members,
a link to its page) and never its members on their own; through the Django test client."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.dashboard import XSS, column_html, make_ticket, make_user
from tickets.models import Incident, IncidentEvent, Ticket, new_incident_id
from tickets.presenters import INCIDENT_CARD_MEMBERS
from tickets.timestamps import utc_text

pytestmark = pytest.mark.django_db

CULPRIT = "sql-server:sql-prod-01.database.windows.net"


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def viewer() -> Client:
    client = Client()
    client.force_login(make_user("board-viewer", "viewer"))
    return client


def incident_with(members: int, *, culprit: str = CULPRIT, **fields) -> Incident:
    """An incident of `members` tickets of as many pipelines (oldest first: pl_member_0)."""
    now = timezone.now()
    incident = Incident.objects.create(
        id=new_incident_id(now),
        group_key=f"{culprit}|DatabaseError",
        culprit=culprit,
        error_type="DatabaseError",
        severity=fields.pop("severity", "Critical"),
        first_seen=now - timedelta(minutes=30),
        last_member_at=now - timedelta(minutes=1),
        member_count=members,
        finops_team="data-platform",
        **fields,
    )
    for n in range(members):
        make_ticket(
            pipeline=f"pl_member_{n}",
            timestamp=now - timedelta(minutes=30 - n),
            culprit=culprit,
            incident=incident,
            error_type="DatabaseError",
            finops_team="finance" if n == 1 else "data-platform",
        )
    return incident


def incidents_html(html: str, status: str) -> str:
    """The markup of one board column's incident cards."""
    match = re.search(
        rf'data-incidents="{status}">(.*?)</div>\s*<div class="column-list"', html, flags=re.S
    )
    assert match, f"no incidents in column {status}"
    return match.group(1)


def test_an_incident_is_one_card_and_its_members_are_not_cards_of_their_own():
    incident = incident_with(3)
    alone = make_ticket(pipeline="pl_alone")

    answer = viewer().get("/")

    assert answer.status_code == 200
    html = answer.content.decode()
    card = incidents_html(html, "open")
    assert card.count("<article") == 1
    assert f'data-incident="{incident.pk}"' in card
    assert "3 members" in card and ">Open<" in card
    assert ">SQL server sql-prod-01.database.windows.net<" in card  # the culprit in words
    # Expands in place (a <details>) to its members, each a link to its ticket, and links
    # to the incident's page.
    assert '<details class="incident-members">' in card
    members = list(Ticket.objects.filter(incident=incident).order_by("timestamp"))
    for member in members:
        assert f'href="/tickets/{member.pk}/"' in card
        assert member.pk not in column_html(html, "open")
    assert card.index("pl_member_0") < card.index("pl_member_1") < card.index("pl_member_2")
    assert f'href="/incidents/{incident.pk}/"' in card
    # The column counts one card for the incident and one for the ticket on its own.
    assert alone.pk in column_html(html, "open")
    assert 'data-count="open">2<' in html
    assert "<script>" not in html


def test_the_incident_sits_in_the_column_of_its_status():
    incident = incident_with(2, status="acknowledged")
    html = viewer().get("/").content.decode()
    assert incident.pk in incidents_html(html, "acknowledged")
    assert incident.pk not in incidents_html(html, "open")
    assert ">Acknowledged<" in incidents_html(html, "acknowledged")


def test_a_large_incident_lists_its_first_members_and_counts_the_rest():
    incident_with(INCIDENT_CARD_MEMBERS + 5)
    card = incidents_html(viewer().get("/").content.decode(), "open")
    assert card.count("<li data-member=") == INCIDENT_CARD_MEMBERS
    assert "and 5 more" in card and f"{INCIDENT_CARD_MEMBERS + 5} members" in card


def test_merged_and_long_resolved_incidents_are_not_shown():
    into = incident_with(2)
    merged = Incident.objects.create(
        id=new_incident_id(),
        group_key="x|y",
        culprit="kv:vault-a",
        member_count=0,
        merged_into=into,
    )
    old = incident_with(2, culprit="kv:vault-old", status="resolved")
    Incident.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=8))
    recent = incident_with(2, culprit="kv:vault-recent", status="resolved")

    html = viewer().get("/").content.decode()

    assert merged.pk not in html and old.pk not in html
    assert recent.pk in incidents_html(html, "resolved")
    assert into.pk in incidents_html(html, "open")


@pytest.mark.parametrize(
    "query, shown",
    [("team=finance", True), ("team=marketing", False), ("q=pl_member_2", True), ("q=zzz", False)],
)
def test_with_filters_an_incident_shows_when_one_of_its_members_matches(query, shown):
    incident = incident_with(3)
    make_ticket(pipeline="pl_marketing", finops_team="marketing")
    html = viewer().get(f"/?{query}").content.decode()
    assert (incident.pk in html) is shown


def test_an_incident_card_names_every_team_of_its_members_its_own_first():
    """Filtered by a team, the board shows incidents with a member of it: a card naming only
    its first member's team said another team's outage was shown by mistake."""
    incident = incident_with(3)

    html = viewer().get("/?team=finance").content.decode()

    card = incidents_html(html, "open")
    assert incident.pk in card
    assert re.search(r'data-field="team">data-platform, finance<', card)


def test_incident_text_is_escaped():
    incident = incident_with(2, culprit="api-host:" + XSS)
    Ticket.objects.filter(incident=incident).update(pipeline="pl_<b>bold</b>")
    html = viewer().get("/").content.decode()
    assert XSS not in html and "<b>bold</b>" not in html
    assert "pl_&lt;b&gt;bold&lt;/b&gt;" in html


def test_the_board_costs_the_same_queries_for_one_incident_or_many(django_assert_max_num_queries):
    incident_with(2)
    client = viewer()
    client.get("/")  # warm the session and the teams
    with django_assert_max_num_queries(20) as one:
        client.get("/")
    for n in range(6):
        incident_with(3, culprit=f"kv:vault-{n}")
    with django_assert_max_num_queries(len(one.captured_queries)):
        client.get("/")


def test_a_jira_key_links_to_its_issue_where_jira_is_known(settings):
    settings.JIRA_URL = "https://jira.example.com/"
    incident = incident_with(2, itsm_ticket_id="OPS-9")
    alone = make_ticket(pipeline="pl_alone", itsm_ticket_id="OPS-10")
    client = viewer()

    html = client.get("/").content.decode()
    page = client.get(f"/incidents/{incident.pk}/").content.decode()

    link = 'href="https://jira.example.com/browse/{}" target="_blank" rel="noopener">{}</a>'
    assert link.format("OPS-9", "OPS-9") in incidents_html(html, "open")
    assert link.format("OPS-10", "OPS-10") in column_html(html, "open")
    assert link.format("OPS-9", "OPS-9") in page
    # Without JIRA_URL the key is shown, not linked.
    settings.JIRA_URL = ""
    html = client.get("/").content.decode()
    assert ">OPS-10</a>" in column_html(html, "open") and "browse/OPS-10" not in html
    assert alone.pk in column_html(html, "open")


def test_an_incident_every_member_of_which_recovered_says_resolved_once():
    """Its status badge says Resolved; the recovery's badge said "Resolved" a second time."""
    incident = incident_with(2, status="resolved", recovered_at=timezone.now(), recovered_count=2)

    page = viewer().get(f"/incidents/{incident.pk}/").content.decode()

    badges = re.search(r'<div class="badges">(.*?)</div>', page, flags=re.S)
    assert badges
    assert re.findall(r">\s*Resolved\s*<", badges.group(1)) == [">Resolved<"]
    assert "Recovered at source" in badges.group(1)


def sla_clock(html: str) -> dict[str, str]:
    """The attributes and text of the first SLA clock (`js-sla`) in `html`."""
    match = re.search(r'<span class="sla[^"]*js-sla"([^>]*)>([^<]*)</span>', html)
    assert match, "no SLA clock"
    attributes = dict(re.findall(r'([a-z-]+)="([^"]*)"', match.group(1)))
    return {**attributes, "text": match.group(2)}


def test_an_incident_card_shows_the_sla_clock_of_its_open_member_due_first():
    """Its members leave the columns (the card stands for them): the card shows the clock of
    the open member due first, as a ticket card shows its own; once no member's clock runs, how
    they ended (Breached if any member's was)."""
    now = timezone.now()
    due = incident_with(3)
    first, second, third = Ticket.objects.filter(incident=due).order_by("timestamp")
    # The earliest deadline is an acknowledged member's: its clock stopped, so it does not count.
    Ticket.objects.filter(pk=first.pk).update(
        status="acknowledged", sla_status="Met", sla_deadline=now + timedelta(minutes=5)
    )
    Ticket.objects.filter(pk=second.pk).update(sla_deadline=now + timedelta(minutes=50))
    Ticket.objects.filter(pk=third.pk).update(
        status="in_progress", sla_deadline=now + timedelta(minutes=20, seconds=30)
    )
    breached = incident_with(2, culprit="kv:vault-late")
    Ticket.objects.filter(incident=breached).update(status="acknowledged", sla_status="Met")
    late = Ticket.objects.filter(incident=breached).order_by("timestamp").last()
    assert late
    Ticket.objects.filter(pk=late.pk).update(sla_status="Breached")
    met = incident_with(2, culprit="kv:vault-met", status="resolved")
    Ticket.objects.filter(incident=met).update(status="resolved", sla_status="Met", resolved_at=now)
    client = viewer()

    html = client.get("/").content.decode()

    def card_of(incident: Incident, status: str) -> str:
        cards = incidents_html(html, status).split("<article")
        return next(card for card in cards if f'data-incident="{incident.pk}"' in card)

    clock = sla_clock(card_of(due, "open"))
    assert clock["data-deadline"] == utc_text(now + timedelta(minutes=20, seconds=30))
    assert (clock["data-status"], clock["data-state"]) == ("in_progress", "ok")
    assert clock["text"] == "20m left"
    assert clock["title"] == f"The open member due first: pl_member_2 ({third.pk})"
    clock = sla_clock(card_of(breached, "open"))
    assert (clock["text"], clock["data-state"], clock["data-sla-status"]) == (
        "SLA Breached",
        "late",
        "Breached",
    )
    assert clock["title"] == "Every member is acknowledged or resolved"
    clock = sla_clock(card_of(met, "resolved"))
    assert (clock["text"], clock["data-state"]) == ("SLA Met", "met")

    # The incident's page shows the same clock in its head, naming the member.
    page = client.get(f"/incidents/{due.pk}/").content.decode()
    head = page.split('id="incident-sla"')[1].split("</div>")[0]
    clock = sla_clock(head)
    assert clock["data-deadline"] == utc_text(now + timedelta(minutes=20, seconds=30))
    assert clock["text"] == "20m left"
    assert f'href="/tickets/{third.pk}/">pl_member_2</a>' in head
    assert f"due {(now + timedelta(minutes=20, seconds=30)):%Y-%m-%d %H:%M} UTC" in head


def test_the_incident_timeline_and_members_say_their_times_are_utc():
    incident = incident_with(2)
    IncidentEvent.objects.create(incident=incident, kind="formed", actor_kind="system")

    page = viewer().get(f"/incidents/{incident.pk}/").content.decode()

    timeline = page.split('id="incident-timeline"')[1].split("</ol>")[0]
    assert re.search(r"<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC</time>", timeline)
    members = page.split('id="incident-members"')[1].split("</table>")[0]
    assert re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC</td>", members)


@pytest.mark.parametrize(
    "query, shown",
    [
        ("q={id}", True),
        ("q={id_lower}", True),
        ("q=ops-4242", True),
        ("q=OPS-4242&team=finance", True),
        ("q=OPS-4242&team=marketing", False),
        ("q={id}&severity=Low", False),
        ("q=OPS-42", False),
    ],
)
def test_the_search_finds_an_incident_by_its_own_id_or_jira_key(query, shown):
    """Paged once for the incident, on-call searched the board for the id or JIRA key the
    Slack alert and the issue named: "No tickets match the filters", as no member carries
    them. The other filters still apply to its members."""
    incident = incident_with(3, itsm_ticket_id="OPS-4242")
    other = incident_with(2, culprit="another-server.database.windows.net")
    url = "/?" + query.format(id=incident.pk, id_lower=incident.pk.lower())
    html = viewer().get(url).content.decode()
    assert (f'data-incident="{incident.pk}"' in html) is shown
    assert f'data-incident="{other.pk}"' not in html
    count = re.search(r'data-count="open"[^>]*>(\d+)<', html)
    assert count and count.group(1) == ("1" if shown else "0")
