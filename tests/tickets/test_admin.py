"""Django admin as the triage desk: role permissions, actions through the lifecycle, no N+1."""

from __future__ import annotations

import re
from datetime import UTC, timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from integrations import fanout
from integrations.models import OutboundDelivery, OutboundStatus
from integrations.targets.base import RECOVERED_BEFORE_PAGING
from tickets.models import (
    AuditLog,
    Incident,
    JiraStatusMapping,
    OwnershipRule,
    Resolution,
    SlaPolicy,
    SuppressionRule,
    Ticket,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("migration_data")]

CHANGELIST = reverse("admin:tickets_ticket_changelist")


def staff(role: str) -> Client:
    user = User.objects.create_user(f"{role}-user", password="pw-not-secret-123", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client


def make_ticket(n: int, **fields) -> Ticket:
    now = timezone.now()
    values = {
        "id": f"ADF-20251210T1234{n:02d}-{n:06x}",
        "pipeline": f"pl_sales_{n}",
        "run_id": f"adf:run-{n}",
        "source": "adf",
        "fingerprint": f"{n:064x}",
        "sla_seconds": 3600,
        "sla_deadline": now + timedelta(hours=1),
        "rca_result": f"Root cause {n}",
        "itsm_ticket_id": f"OPS-{n}",
        **fields,
    }
    return Ticket.objects.create(**values)


def test_changelist_shows_the_triage_columns_without_n_plus_one(django_assert_max_num_queries):
    client = staff("viewer")
    for n in range(5):
        make_ticket(n)
    with django_assert_max_num_queries(12) as few:
        page = client.get(CHANGELIST)
    for n in range(5, 45):
        make_ticket(n)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(CHANGELIST)

    assert page.status_code == 200
    html = page.content.decode()
    for column in ("SLA left", "JIRA", "Occurrence count", "Error type"):
        assert column in html


def test_the_ticket_list_offers_the_periods_that_have_tickets_without_reading_every_ticket():
    """Its date hierarchy truncated every ticket's date for the distinct months (48-108 ms at
    100,000 tickets), and its source and team filters read every ticket for their values (27-122
    and 33-118 ms): the periods are probed in the `timestamp` index, the sources are the webhooks'
    and the teams come from the stats rollup."""
    from datetime import datetime

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    at = [datetime(2026, 1, 5, 23, 30, tzinfo=UTC), datetime(2026, 1, 31, 12, tzinfo=UTC)]
    for n, (moment, team) in enumerate([(at[0], "finance"), (at[1], ""), (at[1], "sales")]):
        make_ticket(n, timestamp=moment, finops_team=team)
    make_ticket(3, timestamp=datetime(2026, 3, 1, tzinfo=UTC), finops_team="finance")
    client = staff("viewer")

    with CaptureQueriesContext(connection) as queries:
        html = client.get(CHANGELIST).content.decode()
    assert not [q["sql"] for q in queries if "DATE_TRUNC" in q["sql"] or "DISTINCT" in q["sql"]]
    hierarchy = html.split('class="toplinks"', 1)[1].split("</nav>", 1)[0]
    months = re.findall(r"timestamp__month=(\d+)&amp;timestamp__year=2026\">([^<]+)<", hierarchy)
    assert months == [("1", "January 2026"), ("3", "March 2026")]
    teams = html.split("By finops team", 1)[1].split("</details>", 1)[0]
    assert re.findall(r"finops_team=([^\"&]+)\"", teams) == ["finance", "sales"]
    sources = html.split("By source", 1)[1].split("</details>", 1)[0]
    assert "source=databricks" in sources and "source=adf" in sources

    days = client.get(CHANGELIST, {"timestamp__year": "2026", "timestamp__month": "1"})
    hierarchy = days.content.decode().split('class="toplinks"', 1)[1].split("</nav>", 1)[0]
    assert re.findall(r">(January \d+)<", hierarchy) == ["January 5", "January 31"]
    make_ticket(4, timestamp=datetime(2025, 12, 31, 23, 59, tzinfo=UTC))
    hierarchy = client.get(CHANGELIST).content.decode().split('class="toplinks"', 1)[1]
    assert re.findall(r"timestamp__year=(\d+)\">", hierarchy.split("</nav>", 1)[0]) == [
        "2025",
        "2026",
    ]
    listed = client.get(CHANGELIST, {"finops_team": "finance", "source": "adf"}).content.decode()
    assert "2 tickets" in listed


@pytest.mark.parametrize(
    "changelist",
    ["admin:tickets_ticket_changelist", "admin:tickets_incident_changelist"],
)
def test_a_changelist_says_its_times_are_utc(changelist):
    """Its times (created, last member, recovered) are UTC (TIME_ZONE), as the dashboard
    says of its own."""
    now = timezone.now()
    make_ticket(1, timestamp=now)
    Incident.objects.create(id="INC-UTC-1", group_key="k", culprit="kv:vault", last_member_at=now)

    html = staff("viewer").get(reverse(changelist)).content.decode()

    note = html.index('id="times-in-utc">Times are UTC.</p>')
    assert note < html.index('id="result_list"')


def test_a_change_form_says_its_times_are_utc():
    """A single record's page shows its times (created, SLA deadline, resolved) as its list
    does: UTC, said above its fields."""
    ticket = make_ticket(1, timestamp=timezone.now())
    incident = Incident.objects.create(
        id="INC-UTC-2", group_key="k", culprit="kv:vault", last_member_at=timezone.now()
    )

    client = staff("viewer")
    for url in (
        reverse("admin:tickets_ticket_change", args=[ticket.pk]),
        reverse("admin:tickets_incident_change", args=[incident.pk]),
    ):
        html = client.get(url).content.decode()
        note = html.index('id="times-in-utc">Times are UTC.</p>')
        assert note < html.index("<fieldset")


def test_changelist_puts_the_most_urgent_first_and_shows_class_names_as_they_are():
    now = timezone.now()
    relaxed = make_ticket(1, severity="Low", sla_deadline=now + timedelta(hours=23))
    urgent = make_ticket(2, severity="High", sla_deadline=now + timedelta(minutes=58))
    breached = make_ticket(
        3,
        sla_status="Breached",
        sla_deadline=now - timedelta(minutes=1),
        error_type="DatabaseError",
    )
    done = make_ticket(4, status="acknowledged", sla_status="Met", error_type="ResourceExhaustion")

    client = staff("viewer")
    html = client.get(CHANGELIST).content.decode()

    positions = [html.index(f">{ticket.pk}<") for ticket in (breached, urgent, relaxed, done)]
    assert positions == sorted(positions)
    assert "DatabaseError" in html and "ResourceExhaustion" in html
    assert "Databaseerror" not in html and "Resourceexhaustion" not in html
    # A column header still sorts by that column (o=4: the pipeline, ascending).
    by_pipeline = client.get(CHANGELIST, {"o": "4"}).content.decode()
    assert by_pipeline.index(">pl_sales_2<") < by_pipeline.index(">pl_sales_3<")


def test_search_by_jira_key_and_filter_by_overdue_sla():
    client = staff("viewer")
    make_ticket(1)
    make_ticket(2, sla_deadline=timezone.now() - timedelta(minutes=5))

    by_key = client.get(CHANGELIST, {"q": "OPS-1"}).content.decode()
    overdue = client.get(CHANGELIST, {"sla": "overdue"}).content.decode()

    assert "pl_sales_1" in by_key and "pl_sales_2" not in by_key
    assert "pl_sales_2" in overdue and "pl_sales_1" not in overdue


def test_responder_acknowledges_through_the_lifecycle():
    client = staff("responder")
    ticket = make_ticket(1)

    response = client.post(
        CHANGELIST, {"action": "acknowledge", "_selected_action": [ticket.pk]}, follow=True
    )

    assert response.status_code == 200
    ticket.refresh_from_db()
    assert (ticket.status, ticket.ack_user) == ("acknowledged", "responder-user")
    entry = AuditLog.objects.get(ticket=ticket, action="acknowledge")
    assert entry.user is not None
    assert entry.user.username == "responder-user"


def test_rerun_rca_says_when_an_earlier_request_answers_it():
    client = staff("responder")
    ticket = make_ticket(1)
    rerun = {"action": "rerun_rca", "_selected_action": [ticket.pk]}

    first = client.post(CHANGELIST, rerun, follow=True).content.decode()
    again = client.post(CHANGELIST, rerun, follow=True).content.decode()

    assert "Fresh RCA requested for 1 ticket(s)." in first
    assert "Fresh RCA requested" not in again
    assert "A fresh RCA asked for earlier is under way for 1 ticket(s)" in again
    assert AuditLog.objects.filter(ticket=ticket, action="rca requested").count() == 2


def test_an_invalid_transition_is_reported_not_raised():
    client = staff("responder")
    ticket = make_ticket(1, status="open")

    response = client.post(
        CHANGELIST, {"action": "reopen", "_selected_action": [ticket.pk]}, follow=True
    )

    assert "cannot reopen a ticket that is open" in response.content.decode()


def test_viewer_cannot_act_or_edit_rules():
    client = staff("viewer")
    ticket = make_ticket(1)

    client.post(CHANGELIST, {"action": "acknowledge", "_selected_action": [ticket.pk]})
    add_rule = client.get(reverse("admin:tickets_suppressionrule_add"))

    assert Ticket.objects.get(pk=ticket.pk).status == "open"
    assert add_rule.status_code == 403


def test_admin_edits_rules_but_nobody_edits_ticket_fields():
    client = staff("admin")
    ticket = make_ticket(1)

    created = client.post(
        reverse("admin:tickets_suppressionrule_add"),
        {"pipeline_pattern": "pl_sales_*", "reason": "maintenance", "enabled": "on"},
    )
    client.post(
        reverse("admin:tickets_ticket_change", args=[ticket.pk]),
        {"severity": "Low", "status": "acknowledged"},
    )

    assert created.status_code == 302 and SuppressionRule.objects.count() == 1
    ticket.refresh_from_db()
    assert (ticket.severity, ticket.status) == ("Medium", "open")


def test_ticket_page_shows_the_rca_and_escapes_untrusted_text():
    client = staff("viewer")
    ticket = make_ticket(
        1,
        rca_result="<script>alert(1)</script>",
        recommendations=["Rotate the <b>secret</b>"],
        error_message="<img src=x onerror=alert(2)>",
        details={"similar": [{"id": "ADF-20251210T123400-000000", "similarity": 0.91}]},
    )

    html = client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk])).content.decode()

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "Rotate the &lt;b&gt;secret&lt;/b&gt;" in html
    assert "ADF-20251210T123400-000000" in html and "0.91" in html


def test_resolve_asks_what_fixed_it_then_resolves_with_the_fix():
    client = staff("responder")
    first, second = make_ticket(1), make_ticket(2, status="acknowledged")
    selected = {"action": "resolve", "_selected_action": [first.pk, second.pk]}

    asked = client.post(CHANGELIST, selected)
    assert asked.status_code == 200
    assert 'name="fix"' in asked.content.decode() and not Resolution.objects.exists()

    done = client.post(
        CHANGELIST, {**selected, "apply": "1", "fix": "Raised the DTU limit"}, follow=True
    )

    assert "Resolved 2 ticket(s)." in done.content.decode()
    assert set(Ticket.objects.values_list("status", flat=True)) == {"resolved"}
    assert sorted(Resolution.objects.values_list("ticket_id", "fix")) == [
        (first.pk, "Raised the DTU limit"),
        (second.pk, "Raised the DTU limit"),
    ]


def test_staff_mark_a_fix_wrong_and_admins_edit_the_jira_status_map():
    ticket = make_ticket(1)
    fix = Resolution.objects.create(
        ticket=ticket, fix="Restarted it", resolved_by="bob", actor_kind="user", fingerprint="f"
    )
    client = staff("responder")

    client.post(
        reverse("admin:tickets_resolution_changelist"),
        {"action": "mark_wrong", "_selected_action": [fix.pk]},
    )

    fix.refresh_from_db()
    assert fix.marked_wrong_by == "responder-user" and fix.marked_wrong_at is not None
    assert AuditLog.objects.get(ticket=ticket, action="fix marked wrong").actor_name == (
        "responder-user"
    )
    mapping_add = reverse("admin:tickets_jirastatusmapping_add")
    assert client.get(mapping_add).status_code == 403
    added = staff("admin").post(
        mapping_add, {"jira_status": "Closed", "ticket_status": "resolved", "order": 40}
    )
    assert added.status_code == 302
    assert JiraStatusMapping.objects.filter(jira_status="Closed", ticket_status="resolved").exists()


def test_marking_fixes_wrong_counts_only_the_ones_it_marked():
    """Selecting a fix marked wrong already with one that was not said both were marked now,
    and the first keeps who marked it and when."""
    ticket = make_ticket(1)
    earlier = timezone.now() - timedelta(days=1)
    wrong = Resolution.objects.create(
        ticket=ticket,
        fix="Restarted it",
        resolved_by="bob",
        actor_kind="user",
        fingerprint="f",
        marked_wrong_at=earlier,
        marked_wrong_by="alice",
    )
    fix = Resolution.objects.create(
        ticket=ticket, fix="Raised the DTU", resolved_by="bob", actor_kind="user", fingerprint="f"
    )

    answer = staff("responder").post(
        reverse("admin:tickets_resolution_changelist"),
        {"action": "mark_wrong", "_selected_action": [wrong.pk, fix.pk]},
        follow=True,
    )

    page = answer.content.decode()
    assert "1 fix(es) marked wrong." in page
    assert "1 fix(es) left as they were: marked wrong already." in page
    wrong.refresh_from_db()
    fix.refresh_from_db()
    assert (wrong.marked_wrong_by, wrong.marked_wrong_at) == ("alice", earlier)
    assert fix.marked_wrong_by == "responder-user"
    assert AuditLog.objects.filter(ticket=ticket, action="fix marked wrong").count() == 1


def incident_of_two() -> tuple[Incident, list[Ticket]]:
    """An incident with two open members, as grouping makes it."""
    members = [
        make_ticket(n, culprit="sql-server:sql-prod-01.database.windows.net") for n in (1, 2)
    ]
    incident = Incident.objects.create(
        id="INC-20251210T123456-abcdef",
        group_key="sql-server:sql-prod-01.database.windows.net|DatabaseError",
        culprit="sql-server:sql-prod-01.database.windows.net",
        member_count=2,
    )
    Ticket.objects.filter(pk__in=[m.pk for m in members]).update(incident=incident)
    return incident, members


def test_incidents_in_admin_acknowledge_every_member_for_a_responder():
    incident, members = incident_of_two()
    changelist = reverse("admin:tickets_incident_changelist")
    viewer, responder = staff("viewer"), staff("responder")
    assert "sql-prod-01" in viewer.get(changelist).content.decode()
    detail = viewer.get(reverse("admin:tickets_incident_change", args=[incident.pk]))
    assert detail.status_code == 200

    responder.post(changelist, {"action": "acknowledge", "_selected_action": [incident.pk]})
    assert set(Ticket.objects.values_list("status", flat=True)) == {"acknowledged"}
    ticket_page = viewer.get(reverse("admin:tickets_ticket_change", args=[members[0].pk]))
    assert "sql-prod-01" in ticket_page.content.decode()


def test_resolving_an_incident_in_admin_says_it_resolves_every_member():
    """The action resolves every member still open, in progress or acknowledged: its label
    must not say it is for acknowledged members only."""
    incident, _ = incident_of_two()
    changelist = reverse("admin:tickets_incident_changelist")
    responder = staff("responder")
    page = responder.get(changelist).content.decode()
    assert '<option value="resolve">Resolve (with all members)</option>' in page
    assert "members acknowledged" not in page

    responder.post(changelist, {"action": "resolve", "_selected_action": [incident.pk]})
    assert set(Ticket.objects.values_list("status", flat=True)) == {"resolved"}


def test_an_incident_resolved_in_admin_can_be_reopened_there_with_every_member():
    """The README lists reopen among the incident's actions; admin offered only acknowledge,
    take and resolve, so a responder at the triage desk could not undo a resolve."""
    from tickets.models import IncidentEvent

    incident, members = incident_of_two()
    changelist = reverse("admin:tickets_incident_changelist")
    responder = staff("responder")
    responder.post(changelist, {"action": "resolve", "_selected_action": [incident.pk]})
    assert set(Ticket.objects.values_list("status", flat=True)) == {"resolved"}

    page = responder.get(changelist).content.decode()
    assert '<option value="reopen">Reopen (with all members)</option>' in page
    responder.post(changelist, {"action": "reopen", "_selected_action": [incident.pk]})
    incident.refresh_from_db()
    assert incident.status == "open"
    assert set(Ticket.objects.values_list("status", flat=True)) == {"open"}
    reopened = AuditLog.objects.filter(ticket__in=members, action="reopen")
    assert reopened.count() == 2
    assert all(
        entry.details["note"] == f"via incident {incident.pk} in admin" for entry in reopened
    )
    event = IncidentEvent.objects.get(incident=incident, kind="reopen")
    assert event.details["via"] == "admin"


def test_a_suppression_rule_with_a_source_that_does_not_exist_is_refused():
    """A misspelt source ("ADF") would match no event: the rule would silently do nothing."""
    client = staff("admin")
    url = reverse("admin:tickets_suppressionrule_add")
    start = timezone.now()
    form = {
        "pipeline_pattern": "pl_*",
        "source": "ADF",
        "enabled": "on",
        "reason": "maintenance",
        "starts_at_0": start.strftime("%Y-%m-%d"),
        "starts_at_1": start.strftime("%H:%M:%S"),
        "ends_at_0": (start + timedelta(hours=1)).strftime("%Y-%m-%d"),
        "ends_at_1": (start + timedelta(hours=1)).strftime("%H:%M:%S"),
    }
    answer = client.post(url, form)
    assert answer.status_code == 200  # the form again, with its error
    assert (
        "Select a valid choice. ADF is not one of the available choices." in answer.content.decode()
    )
    assert not SuppressionRule.objects.filter(pipeline_pattern="pl_*").exists()
    form["source"] = "adf"
    assert client.post(url, form).status_code == 302
    assert SuppressionRule.objects.get(pipeline_pattern="pl_*").source == "adf"


# --- what the admin refuses, in words ----------------------------------------------------------


def ownership_form(**fields) -> dict:
    return {
        "pipeline_pattern": "pl_sales_*",
        "source": "",
        "order": 10,
        "finops_team": "sales",
        "enabled": "on",
        "slack_channel": "",
        "jira_project": "",
        **fields,
    }


def test_an_ownership_rule_with_a_slack_channel_or_jira_project_that_cannot_exist_is_refused():
    """A typo here once left every matching ticket with no JIRA issue and no Slack alert."""
    client = staff("admin")
    url = reverse("admin:tickets_ownershiprule_add")

    answer = client.post(
        url, ownership_form(slack_channel="not a channel !!", jira_project="no such project")
    )

    assert answer.status_code == 200  # the form again, with its errors
    errors = answer.context["adminform"].form.errors
    assert (
        "Slack channel: expected a channel name such as #data-alerts" in errors["slack_channel"][0]
    )
    assert "JIRA project: expected a project key such as OPS" in errors["jira_project"][0]
    assert not OwnershipRule.objects.exists()
    for channel, project in (
        ("#sales-alerts", "SALES"),
        ("sales.eu_alerts", "DP2"),
        ("C024BE91L", ""),
        ("#données-alertes", "DATA_PLATFORM_OPS"),  # any script; a Data Center key's length
    ):
        form = ownership_form(slack_channel=channel, jira_project=project)
        assert client.post(url, form).status_code == 302, (channel, project)
    assert OwnershipRule.objects.count() == 4
    # The model says so too, whatever form saves it.
    for channel, project in (("#Sales", ""), ("x" * 81, ""), ("", "ops"), ("", "O"), ("", "1OPS")):
        rule = OwnershipRule(
            pipeline_pattern="*", finops_team="t", slack_channel=channel, jira_project=project
        )
        with pytest.raises(ValidationError):
            rule.full_clean()


def test_rerouting_applies_the_corrected_rule_to_unpaged_tickets_and_retries_them():
    """A ticket keeps the routing it was created with: once the rule is corrected, re-routing
    gives the tickets it failed for the new channel and project and retries their deliveries."""
    OwnershipRule.objects.create(
        pipeline_pattern="pl_sales_*",
        finops_team="sales",
        finops_owner="ana",
        slack_channel="#sales-alerts",
        jira_project="SALES",
    )
    stuck = make_ticket(
        1, itsm_ticket_id="", finops_team="old", slack_channel="bad!!", jira_project="bad one"
    )
    half = make_ticket(2, itsm_ticket_id="SALES-7", slack_channel="bad!!", jira_project="SALES")
    paged = make_ticket(3, slack_ts="1712345678.000100", slack_channel="C024BE91L")
    dead = [
        OutboundDelivery.objects.create(
            key=f"{target}:create:{ticket.pk}",
            ticket=ticket,
            target=target,
            action=f"{target}_create" if target == "jira" else "slack_post",
            status=OutboundStatus.DEAD,
            attempts=8,
            last_error="channel_not_found" if target == "slack" else "HTTP 400",
        )
        for ticket, target in ((stuck, "jira"), (stuck, "slack"), (half, "slack"))
    ]

    answer = staff("responder").post(
        CHANGELIST,
        {"action": "reroute", "_selected_action": [stuck.pk, half.pk, paged.pk]},
        follow=True,
    )

    html = answer.content.decode()
    assert "Re-routed 2 ticket(s)" in html and "3 failed deliveries sent again" in html
    assert "1 ticket(s) left as they are" in html
    stuck.refresh_from_db()
    assert (stuck.finops_team, stuck.finops_owner) == ("sales", "ana")
    assert (stuck.slack_channel, stuck.jira_project) == ("#sales-alerts", "SALES")
    half.refresh_from_db()  # its JIRA issue exists: only the Slack channel moves
    assert (half.slack_channel, half.itsm_ticket_id) == ("#sales-alerts", "SALES-7")
    paged.refresh_from_db()
    assert (paged.slack_channel, paged.finops_team) == ("C024BE91L", "")
    assert {row.status for row in OutboundDelivery.objects.filter(pk__in=[d.pk for d in dead])} == {
        OutboundStatus.PENDING
    }
    entry = AuditLog.objects.get(ticket=stuck, action="re-routed")
    assert entry.after["jira_project"] == "SALES" and entry.before["jira_project"] == "bad one"
    assert entry.actor_name == "responder-user"
    # A viewer cannot.
    staff("viewer").post(CHANGELIST, {"action": "reroute", "_selected_action": [paged.pk]})
    assert not AuditLog.objects.filter(ticket=paged, action="re-routed").exists()


def test_a_skipped_delivery_says_why_where_its_status_is_shown(settings):
    """Every skipped delivery read "Skipped (target not configured)", those left out because
    the failure had recovered at its source before it paged among them. Its status says why it
    was skipped, in the deliveries' list and page, on its ticket's page in admin and on the
    dashboard."""
    settings.JIRA_URL = settings.SLACK_BOT_TOKEN = settings.AZURE_STORAGE_CONNECTION_STRING = ""
    ticket = make_ticket(
        1, itsm_ticket_id="", status="resolved", resolved_at_source_at=timezone.now()
    )
    fanout.schedule_initial_many([(ticket.pk, None)], recovered=[ticket.pk])
    rows = OutboundDelivery.objects.filter(ticket=ticket)
    for pk in rows.filter(status=OutboundStatus.PENDING).values_list("pk", flat=True):
        fanout.deliver(pk)  # the evidence: Azure Blob is not configured
    page = rows.get(action="jira_create")
    assert set(rows.values_list("status", flat=True)) == {OutboundStatus.SKIPPED}
    recovered = f"Skipped — {RECOVERED_BEFORE_PAGING}"
    not_configured = "Skipped — Azure Blob is not configured (set AZURE_STORAGE_CONNECTION_STRING)"
    client = staff("viewer")

    shown = [
        client.get(reverse("admin:integrations_outbounddelivery_changelist")),
        client.get(reverse("admin:integrations_outbounddelivery_change", args=[page.pk])),
        client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk])),
        client.get(reverse("dashboard-ticket", args=[ticket.pk])),
    ]

    listed, page_html, ticket_html, dashboard = [answer.content.decode() for answer in shown]
    assert recovered in listed and not_configured in listed
    assert recovered in page_html
    assert recovered in ticket_html and not_configured in ticket_html
    assert f'title="{recovered}"' in dashboard
    for html in (listed, page_html, ticket_html, dashboard):
        assert "target not configured" not in html


def test_a_duplicate_jira_status_is_refused_in_words_ignoring_case_and_spaces():
    client = staff("admin")
    url = reverse("admin:tickets_jirastatusmapping_add")

    answer = client.post(url, {"jira_status": "  done  ", "ticket_status": "resolved", "order": 5})

    html = answer.content.decode()
    assert answer.status_code == 200
    assert "This JIRA status is already mapped" in html
    assert "Constraint" not in html and "jira_status_mapping_unique_name" not in html
    assert JiraStatusMapping.objects.filter(jira_status__iexact="done").count() == 1
    mapping = JiraStatusMapping(jira_status="  Closed ", ticket_status="resolved")
    mapping.full_clean()
    mapping.save()
    assert JiraStatusMapping.objects.get(pk=mapping.pk).jira_status == "Closed"


def test_the_status_map_warns_while_a_ticket_status_has_no_jira_status():
    """An admin changed the Done row's ticket status in the list: nothing maps to resolved
    any more, and every resolve here would leave its issue where it was. The list says so
    until one is mapped again."""
    client = staff("admin")
    url = reverse("admin:tickets_jirastatusmapping_changelist")
    warning = "No JIRA status is mapped to resolved"
    assert warning not in client.get(url).content.decode()

    JiraStatusMapping.objects.filter(jira_status__iexact="done").update(
        ticket_status="acknowledged"
    )

    assert warning in client.get(url).content.decode()
    JiraStatusMapping.objects.create(jira_status="Closed", ticket_status="resolved")
    assert warning not in client.get(url).content.decode()


def test_a_maintenance_window_that_ends_before_it_starts_is_refused_in_words():
    client = staff("admin")
    start = timezone.now()
    end = start - timedelta(hours=1)
    form = {
        "pipeline_pattern": "pl_*",
        "source": "",
        "enabled": "on",
        "reason": "maintenance",
        "starts_at_0": start.strftime("%Y-%m-%d"),
        "starts_at_1": start.strftime("%H:%M:%S"),
        "ends_at_0": end.strftime("%Y-%m-%d"),
        "ends_at_1": end.strftime("%H:%M:%S"),
    }

    answer = client.post(reverse("admin:tickets_suppressionrule_add"), form)

    assert answer.status_code == 200
    errors = answer.context["adminform"].form.errors
    assert errors["ends_at"] == [
        "The maintenance window must end after it starts: set “Ends at” later than “Starts at”."
    ]
    assert "suppression_window_ends_after_start" not in answer.content.decode()
    assert not SuppressionRule.objects.exists()


def test_an_sla_policy_shorter_than_a_minute_is_refused():
    """A 0-second SLA made every new ticket breached at once."""
    client = staff("admin")
    policy = SlaPolicy.objects.get(priority="P1")
    url = reverse("admin:tickets_slapolicy_change", args=[policy.pk])

    answer = client.post(url, {"priority": "P1", "seconds": 0})

    assert answer.status_code == 200
    assert (
        "The SLA must be at least 1 minute (60 seconds)"
        in (answer.context["adminform"].form.errors["seconds"][0])
    )
    assert SlaPolicy.objects.get(pk=policy.pk).seconds == 15 * 60
    assert client.post(url, {"priority": "P1", "seconds": 60}).status_code == 302
    assert SlaPolicy.objects.get(pk=policy.pk).seconds == 60


def test_the_read_only_ticket_page_offers_no_save_and_the_list_actions_still_work():
    """Saving the read-only page said "changed successfully" and wrote a "No fields changed."
    history entry."""
    from django.contrib.admin.models import LogEntry

    client = staff("responder")
    ticket = make_ticket(1)
    page_url = reverse("admin:tickets_ticket_change", args=[ticket.pk])

    html = client.get(page_url).content.decode()
    posted = client.post(page_url, {"_save": "Save"})
    acted = client.post(
        CHANGELIST, {"action": "acknowledge", "_selected_action": [ticket.pk]}, follow=True
    )

    assert 'name="_save"' not in html and 'name="_continue"' not in html
    assert "Root cause 1" in html  # still shown
    assert posted.status_code == 403
    assert not LogEntry.objects.exists()
    assert "Acknowledged 1 ticket(s)." in acted.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).status == "acknowledged"


def test_rerouting_keeps_a_channel_a_post_landed_on_meanwhile_and_says_so():
    """The Slack alert was posted between the ticket's read and the re-route: its channel
    stays (the message lives there), and the audit does not claim it moved."""
    from tickets import rules
    from tickets.lifecycle import Actor

    OwnershipRule.objects.create(
        pipeline_pattern="pl_sales_*", finops_team="sales", slack_channel="#sales-alerts"
    )
    read = make_ticket(1, itsm_ticket_id="OPS-1", slack_channel="#old")
    Ticket.objects.filter(pk=read.pk).update(slack_ts="1712345678.000100")  # posted meanwhile

    assert rules.reroute_unpaged(read, Actor.system("test"))

    assert Ticket.objects.get(pk=read.pk).slack_channel == "#old"
    entry = AuditLog.objects.get(ticket=read, action="re-routed")
    assert "slack_channel" not in entry.after  # the audit keeps what changed
    assert entry.after["finops_team"] == "sales"


def test_admin_pages_name_the_services_icon():
    """Browsers asked admin pages for /favicon.ico, a 404 in every page's console."""
    page = staff("viewer").get(CHANGELIST).content.decode()
    assert '<link rel="icon" href="/static/dashboard/favicon.svg" type="image/svg+xml">' in page
    assert "<title>Select ticket to view | Django site admin</title>" in page  # as before


@pytest.mark.django_db(transaction=True)
def test_rerun_rca_with_the_broker_down_says_which_were_not_queued(refusing_broker):
    """Was a 503 page at the first ticket. The broker is asked once: one that hangs takes
    seconds a ticket (50 on a page: minutes, and the proxy's 504); the others are not asked
    for (no audit entry), and counted as not queued."""
    client = staff("responder")
    tickets = [make_ticket(1), make_ticket(2), make_ticket(3)]
    rerun = {"action": "rerun_rca", "_selected_action": [t.pk for t in tickets]}

    page = client.post(CHANGELIST, rerun, follow=True)

    assert page.status_code == 200
    assert (
        "Not queued for 3 ticket(s): the analysis queue is unavailable; ask again in a few"
        " minutes." in page.content.decode()
    )
    entries = AuditLog.objects.filter(action="rca requested")
    assert [e.details for e in entries] == [{"not_queued": True}]


def test_a_tickets_page_shows_the_latest_of_its_history_whatever_its_length():
    """Every audit entry and delivery was an inline row: a flaky pipeline's ticket with 20,000
    of each took its page a minute to render. The latest HISTORY_SHOWN of each are shown, oldest
    first."""
    from tickets.admin import HISTORY_SHOWN

    ticket = make_ticket(1)
    start = timezone.now() - timedelta(days=30)
    extra = 20
    AuditLog.objects.bulk_create(
        AuditLog(
            ticket=ticket,
            created_at=start + timedelta(minutes=n),
            actor_kind="source",
            action="recurred",
            details={"run_id": f"audit-run-{n:04d}"},
        )
        for n in range(HISTORY_SHOWN + extra)
    )
    OutboundDelivery.objects.bulk_create(
        OutboundDelivery(
            key=f"{ticket.pk}:jira_comment:{n}",
            ticket=ticket,
            target="jira",
            action="jira_comment",
            status=OutboundStatus.SUCCEEDED,
            last_error=f"delivery-{n:04d}",
            created_at=start + timedelta(minutes=n),
        )
        for n in range(HISTORY_SHOWN + extra)
    )

    page = staff("viewer").get(reverse("admin:tickets_ticket_change", args=[ticket.pk]))

    assert page.status_code == 200
    text = page.content.decode()
    for name, rows in (("audit-run-", "auditlog_set"), ("delivery-", "outbound")):
        shown = [f"{name}{n:04d}" for n in range(HISTORY_SHOWN + extra) if f"{name}{n:04d}" in text]
        assert shown == [f"{name}{n:04d}" for n in range(extra, HISTORY_SHOWN + extra)], rows


def test_the_outbound_list_reads_a_page_from_an_index_however_many_deliveries_there_are():
    """The list was in the model's order (`created_at`, which no index has): each page sorted
    every delivery with its ticket joined, two seconds at a million; and its target and action
    filters read every delivery for their distinct values."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    tickets = [make_ticket(n) for n in range(20)]
    OutboundDelivery.objects.bulk_create(
        (
            OutboundDelivery(
                key=f"{ticket.pk}:jira_comment:{n}",
                ticket=ticket,
                target="jira",
                action="jira_comment",
                status=OutboundStatus.SUCCEEDED,
            )
            for n in range(1000)
            for ticket in tickets
        ),
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {OutboundDelivery._meta.db_table}")
    client = staff("viewer")

    with CaptureQueriesContext(connection) as queries:
        listed = client.get(reverse("admin:integrations_outbounddelivery_changelist"))
    assert listed.status_code == 200
    (page,) = [q["sql"] for q in queries if q["sql"].startswith('SELECT "integrations_outbound')]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {page}")
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "Seq Scan on integrations_outbounddelivery" not in plan, plan
    assert "Sort" not in plan, plan
    assert not [q["sql"] for q in queries if "DISTINCT" in q["sql"]]
    newest = OutboundDelivery.objects.order_by("-id").first()
    assert newest is not None
    change = reverse("admin:integrations_outbounddelivery_change", args=[newest.pk])
    assert change in listed.content.decode()
    assert "Post the Slack alert" in listed.content.decode()  # an action offered to filter on
    OutboundDelivery.objects.filter(pk=newest.pk).update(target="slack", action="slack_post")
    filtered = client.get(
        reverse("admin:integrations_outbounddelivery_changelist"),
        {"target": "slack", "action": "slack_post"},
    ).content.decode()
    assert change in filtered and "1 outbound delivery" in filtered


def test_the_unfiltered_outbound_list_says_about_how_many_from_the_estimate(monkeypatch):
    """Its COUNT(*) read every delivery (0.1-0.2 s at a million, each load): once the table is
    big, the unfiltered list takes PostgreSQL's estimate of its size and says "about"; a
    filtered list, and a small table, are counted exactly."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tickets import admin as ticket_admin

    ticket = make_ticket(0)
    OutboundDelivery.objects.bulk_create(
        OutboundDelivery(
            key=f"{ticket.pk}:jira_comment:{n}",
            ticket=ticket,
            target="jira",
            action="jira_comment",
            status=OutboundStatus.DEAD if n < 3 else OutboundStatus.SUCCEEDED,
        )
        for n in range(120)
    )
    client = staff("viewer")
    url = reverse("admin:integrations_outbounddelivery_changelist")
    assert "\n120 outbound deliveries" in client.get(url).content.decode()  # never analysed

    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {OutboundDelivery._meta.db_table}")
    assert "\n120 outbound deliveries" in client.get(url).content.decode()  # small
    monkeypatch.setattr(ticket_admin, "ESTIMATED_FROM", 100)
    OutboundDelivery.objects.filter(
        pk__in=list(OutboundDelivery.objects.order_by("-pk").values_list("pk", flat=True)[:20])
    ).delete()

    with CaptureQueriesContext(connection) as queries:
        listed = client.get(url).content.decode()
    assert "about 120 outbound deliveries" in listed  # the estimate, not the 100 left
    assert not [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert "?p=2" in listed  # its second page is still linked
    dead = client.get(url, {"status__exact": "dead"}).content.decode()
    assert "\n3 outbound deliveries" in dead.split('class="paginator"')[1].split("</p>")[0]


def test_the_outbound_lists_pages_past_its_estimate_are_read_to_the_oldest_delivery(monkeypatch):
    """The estimate is as old as the table's last ANALYZE: 270 deliveries estimated at 120
    were two pages, the second cut at the 120th row, and ?p=3 was refused (redirected to
    ?e=1), so the oldest 150 could not be paged to. The pages from the estimate's last on are
    read whole, each linking the next while there are more."""
    from django.db import connection

    from tickets import admin as ticket_admin

    ticket = make_ticket(0)

    def deliveries(numbers: range) -> None:
        OutboundDelivery.objects.bulk_create(
            OutboundDelivery(
                key=f"{ticket.pk}:jira_comment:{n}",
                ticket=ticket,
                target="jira",
                action="jira_comment",
                status=OutboundStatus.SUCCEEDED,
            )
            for n in numbers
        )

    deliveries(range(120))
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {OutboundDelivery._meta.db_table}")
    monkeypatch.setattr(ticket_admin, "ESTIMATED_FROM", 100)
    deliveries(range(120, 270))
    client = staff("viewer")
    url = reverse("admin:integrations_outbounddelivery_changelist")
    oldest_first = list(OutboundDelivery.objects.order_by("id").values_list("pk", flat=True))

    def shown(page: int) -> tuple[list[int], list[str]]:
        answer = client.get(url, {"p": page})
        assert answer.status_code == 200, answer.get("Location")
        html = answer.content.decode()
        ids = [int(pk) for pk in re.findall(r"/outbounddelivery/(\d+)/change/", html)]
        paginator = html.split('class="paginator"', 1)[1].split("</p>", 1)[0]
        assert "about 120 outbound deliveries" in paginator
        return ids, re.findall(r"\?p=(\d+)", paginator)

    second, links = shown(2)
    assert second == oldest_first[::-1][100:200] and "3" in links
    third, links = shown(3)
    assert third == oldest_first[::-1][200:270] and "4" not in links
    assert shown(4)[0] == []


def test_the_unfiltered_ticket_list_says_about_how_many_from_the_estimate(monkeypatch):
    """Its COUNT(*) read every ticket (16-29 ms at 100,000, each load of the triage list):
    once the table is big, the unfiltered list takes PostgreSQL's estimate, as the outbound
    list does, and says "about", its "Select all" too; a filtered list is counted exactly."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tickets import admin as ticket_admin

    for n in range(60):
        make_ticket(n, status="open" if n < 4 else "acknowledged")
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Ticket._meta.db_table}")
    monkeypatch.setattr(ticket_admin, "ESTIMATED_FROM", 50)
    Ticket.objects.filter(pk__in=[make_ticket(n).pk for n in range(60, 70)]).update(
        status="in_progress"
    )
    client = staff("responder")

    with CaptureQueriesContext(connection) as queries:
        listed = client.get(CHANGELIST).content.decode()
    paginator = listed.split('class="paginator"', 1)[1].split("</p>", 1)[0]
    assert "about 60 tickets" in paginator  # the estimate, not the 70 there are
    assert "Select all about 60 tickets" in listed
    assert "All of about 60 selected" in listed
    assert not [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert "?p=2" in paginator

    acknowledged = client.get(CHANGELIST, {"status__exact": "acknowledged"}).content.decode()
    assert "\n56 tickets" in acknowledged.split('class="paginator"', 1)[1].split("</p>", 1)[0]
    assert "Select all 56 tickets" in acknowledged
    assert "All 56 selected" in acknowledged


@pytest.mark.parametrize("listed", ["auditlog", "occurrence", "webhookdelivery"])
def test_the_history_lists_count_once_and_estimate_unfiltered(monkeypatch, listed):
    """The audit log, occurrence and inbox lists counted every row twice (the filtered count
    and the full one, 0.2-0.3 s each at a million entries); the occurrences read each row's
    ticket in a query of its own. Now the rows are counted once, unfiltered from the table's
    estimate once it is big, and the occurrences' tickets come with the page."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from integrations.models import WebhookDelivery
    from tickets import admin as ticket_admin
    from tickets.models import Occurrence

    tickets = [make_ticket(n) for n in range(30)]
    model = {"auditlog": AuditLog, "occurrence": Occurrence, "webhookdelivery": WebhookDelivery}[
        listed
    ]
    for n, ticket in enumerate(tickets * 4):
        if model is AuditLog:
            AuditLog.objects.create(ticket=ticket, actor_kind="source", action="recurred")
        elif model is Occurrence:
            Occurrence.objects.create(key=f"adf:run-x{n}", ticket=ticket, outcome="correlated")
        else:
            WebhookDelivery.objects.create(
                source="adf", raw_body="{}", status="processed", ticket=ticket
            )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {model._meta.db_table}")
    monkeypatch.setattr(ticket_admin, "ESTIMATED_FROM", 100)
    url = reverse(f"admin:{model._meta.app_label}_{listed}_changelist")
    client = staff("viewer")

    with CaptureQueriesContext(connection) as queries:
        page = client.get(url).content.decode()
    assert "about 120 " in page.split('class="paginator"', 1)[1].split("</p>", 1)[0]
    assert not [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert not [q["sql"] for q in queries if 'WHERE "tickets_ticket"."id" =' in q["sql"]]

    with CaptureQueriesContext(connection) as queries:
        one = client.get(url, {"q": tickets[0].pk}).content.decode()
    assert "\n4 " in one.split('class="paginator"', 1)[1].split("</p>", 1)[0]
    assert len([q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]) == 1


def test_a_ticket_list_filtered_by_one_counted_value_is_counted_from_the_rollup():
    """A filter of a fifth of the tickets or more was counted row by row (17-144 ms at 100,000
    tickets, each load): filtered by one value of a dimension the stats rollup counts, the list
    is counted from the rollup, the changes not folded yet included; the same count, the same
    rows. Searched, or filtered twice, it is counted as before."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tickets import rollup

    for n in range(12):
        make_ticket(
            n,
            status="open" if n % 3 else "acknowledged",
            severity="High" if n < 5 else "Low",
            source="databricks" if n % 4 == 0 else "adf",
            error_type="DatabaseError" if n % 2 else "NetworkError",
            finops_team="sales" if n < 7 else "ops",
            sla_status="Breached" if n in (1, 2) else "Pending",
        )
    rollup.fold()
    # Changed after the fold: their changes are still in the change table.
    Ticket.objects.filter(pk__in=[make_ticket(n).pk for n in (20, 21)]).update(status="open")
    Ticket.objects.filter(pipeline="pl_sales_3").update(status="resolved", severity="Low")
    client = staff("viewer")

    def listed(query: dict[str, str]) -> tuple[str, list[str], list[str]]:
        with CaptureQueriesContext(connection) as queries:
            page = client.get(CHANGELIST, query).content.decode()
        counter = page.split('class="paginator"', 1)[1].split("</p>", 1)[0]
        counts = [q["sql"] for q in queries if 'SELECT COUNT(*) AS "__count"' in q["sql"]]
        return counter, counts, re.findall(r'/admin/tickets/ticket/([^/"]+)/change/', page)

    for query, filtered in [
        ({"status__exact": "open"}, {"status": "open"}),
        ({"severity__exact": "Low"}, {"severity": "Low"}),
        ({"source": "databricks"}, {"source": "databricks"}),
        ({"error_type__exact": "DatabaseError"}, {"error_type": "DatabaseError"}),
        ({"finops_team": "sales"}, {"finops_team": "sales"}),
        ({"sla": "Breached"}, {"sla_status": "Breached"}),
    ]:
        expected = Ticket.objects.filter(**filtered)
        counter, counts, ids = listed(query)
        assert f"\n{expected.count()} ticket" in counter, (query, counter)
        assert counts == [], query
        assert sorted(ids) == sorted(expected.values_list("id", flat=True)), query

    counter, counts, _ = listed({"status__exact": "open", "severity__exact": "High"})
    assert f"\n{Ticket.objects.filter(status='open', severity='High').count()} ticket" in counter
    assert len(counts) == 1
    counter, counts, _ = listed({"status__exact": "open", "q": "pl_sales_1"})
    assert len(counts) == 1
    counter, counts, _ = listed({"sla": "overdue"})
    assert len(counts) == 1


def test_the_audit_log_list_opens_on_the_newest_entries_read_from_the_primary_key():
    """It listed the oldest entries first, by `created_at`, which no index has: every entry
    sorted, with its ticket joined, for each page (1.7-2.9 s at a million). Now the newest
    first, in the primary key's order, a page read from its index."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    tickets = [make_ticket(n) for n in range(3)]
    for n in range(150):
        AuditLog.objects.create(
            ticket=tickets[n % 3], actor_kind="source", action="recurred", details={"n": n}
        )
    client = staff("viewer")
    url = reverse("admin:tickets_auditlog_changelist")

    with CaptureQueriesContext(connection) as queries:
        page = client.get(url).content.decode()
    shown = [int(pk) for pk in re.findall(r"/admin/tickets/auditlog/(\d+)/change/", page)]
    newest = list(AuditLog.objects.order_by("-created_at", "-id").values_list("pk", flat=True))
    assert shown == newest[:100]
    (listing,) = [q["sql"] for q in queries if 'FROM "tickets_auditlog" INNER JOIN' in q["sql"]]
    with connection.cursor() as cursor:
        # Whether an index gives the page its order (with 150 rows a sort is cheaper).
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(f"EXPLAIN {listing}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Scan Backward using tickets_auditlog_pkey" in plan, plan
    assert "Sort" not in plan, plan


@pytest.mark.parametrize("listed", ["occurrence", "webhookdelivery"])
def test_the_occurrence_and_inbox_filters_offer_their_fixed_values_without_reading_the_rows(
    listed,
):
    """The occurrence list's outcome filter and the inbox list's source filter read every row
    for the distinct values (150-575 ms at a million occurrences, 150,000 inbox rows), each
    load of the list. They offer the values those rows can be written with (the inbox's every
    webhook source, the occurrences' every outcome); each stored value is among them and
    filters the same rows."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from integrations.models import WebhookDelivery
    from tickets.models import Occurrence

    ticket = make_ticket(1)
    model: type[Occurrence] | type[WebhookDelivery]
    if listed == "occurrence":
        model, field = Occurrence, "outcome"
        assert Occurrence.objects.claim("adf:run-claimed")
        for n, outcome in enumerate(["correlated", "regressed", "jira", "folded alert"]):
            Occurrence.objects.create(key=f"adf:run-o{n}", ticket=ticket, outcome=outcome)
    else:
        model, field = WebhookDelivery, "source"
        for source in ("adf", "databricks", "jira", "remediation"):
            WebhookDelivery.objects.create(
                source=source, raw_body="{}", status="processed", ticket=ticket
            )
    url = reverse(f"admin:{model._meta.app_label}_{listed}_changelist")
    client = staff("viewer")

    with CaptureQueriesContext(connection) as queries:
        page = client.get(url).content.decode()
    assert not [q["sql"] for q in queries if "DISTINCT" in q["sql"].upper()]
    offered = set(re.findall(rf'href="\?{field}=([^"&]+)"', page))
    stored = set(model.objects.values_list(field, flat=True).distinct())
    assert {value.replace(" ", "+") for value in stored} <= offered, (stored, offered)
    for value in stored:
        filtered = client.get(url, {field: value}).content.decode()
        shown = set(re.findall(rf"/admin/[a-z]+/{listed}/(\d+)/change/", filtered))
        assert shown == {
            str(pk) for pk in model.objects.filter(**{field: value}).values_list("pk", flat=True)
        }


def test_select_all_about_n_then_resolve_resolves_every_ticket_not_the_page(monkeypatch):
    """ "Select all about N tickets", then Resolve: the page asking what fixed it kept only the
    checked rows of the list's page (not that every row was selected), so its submit resolved
    the 50 shown and left the others open, while it said it would resolve them (up to 200).
    It counts them all and names the first RESOLVE_LISTED."""
    from django.db import connection

    from tickets import admin as ticket_admin

    for n in range(60):
        make_ticket(n)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Ticket._meta.db_table}")
    monkeypatch.setattr(ticket_admin, "ESTIMATED_FROM", 50)
    monkeypatch.setattr(ticket_admin, "RESOLVE_LISTED", 20)
    for n in range(60, 70):
        make_ticket(n)
    client = staff("responder")
    listed = client.get(CHANGELIST).content.decode()
    assert "Select all about 60 tickets" in listed
    page = re.findall(r'name="_selected_action" value="([^"]+)"', listed)
    assert len(page) == 50

    asked = client.post(
        CHANGELIST,
        {"action": "resolve", "select_across": "1", "index": "0", "_selected_action": page},
    ).content.decode()
    assert "Resolve 70 ticket(s)" in asked and "and 50 more" in asked
    # The page's form as a browser sends it: its hidden fields and what fixed it.
    form = asked.split('<form method="post"', 1)[1].split("</form>", 1)[0]
    sent: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form):
        sent.setdefault(name, []).append(value)
    done = client.post(CHANGELIST, {**sent, "fix": "Raised the DTU limit"}, follow=True)

    assert "Resolved 70 ticket(s)." in done.content.decode()
    assert set(Ticket.objects.values_list("status", flat=True)) == {"resolved"}
    assert Resolution.objects.count() == 70


def _page_ids_statement(sql: str) -> str:
    """The statement reading a page's ids: the subquery of `id IN (...)`."""
    opening = '"tickets_ticket"."id" IN ('
    assert opening in sql, sql
    start = sql.index(opening) + len(opening)
    depth = 1
    for end in range(start, len(sql)):
        depth += {"(": 1, ")": -1}.get(sql[end], 0)
        if depth == 0:
            return sql[start:end]
    raise AssertionError(sql)


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"rca_source__exact": "gemini"},
        {"rca_source__exact": "rules"},
        {"rca_source__exact": "gemini", "p": "2"},
        {"rca_source__exact": "gemini", "all": ""},
        {"rca_source__exact": "rules", "o": "-8.1"},
        {"status__exact": "open"},
        {"o": "8"},
        {"o": "-8.1"},
        {"all": ""},
    ],
)
def test_the_ticket_list_pages_as_one_query_would(query):
    """A page's ids are read first, then its rows (`ids_first`): the same tickets in the same
    order as the list read in one query (most urgent first, or by a column header), the
    second page included."""
    from django.contrib.admin.views.main import ALL_VAR, ORDER_VAR, PAGE_VAR

    from tickets.admin import TicketAdmin

    severities = ["Critical", "High", "Medium", "Low"]
    now = timezone.now()
    for n in range(130):
        make_ticket(
            n,
            status=["open", "in_progress", "acknowledged", "resolved"][n % 4],
            severity=severities[(n * 3) % 4],
            sla_deadline=now + timedelta(minutes=(37 * n) % 50 - 20),
            occurrence_count=1 + n % 3,
            rca_source="gemini" if n % 2 == 0 else "rules",
        )
    client = staff("viewer")
    listed = client.get(CHANGELIST, query)
    assert listed.status_code == 200
    changelist = listed.context["cl"]
    shown = [ticket.pk for ticket in changelist.result_list]

    admin = TicketAdmin(Ticket, changelist.model_admin.admin_site)
    one = changelist.queryset.all()
    one._ids_first = False
    shown_whole = ALL_VAR in query
    per_page = admin.list_max_show_all if shown_whole else admin.list_per_page
    page = int(query.get(PAGE_VAR, 1))
    expected = list(one.values_list("pk", flat=True)[(page - 1) * per_page : page * per_page])
    assert shown == expected and shown, (shown, expected)
    if shown_whole:
        assert len(shown) == one.count() > admin.list_per_page
    if ORDER_VAR not in query:
        urgent = Ticket.objects.by_urgency().filter(
            **{k: v for k, v in query.items() if k not in (PAGE_VAR, ALL_VAR)}
        )
        assert shown == list(
            urgent.values_list("pk", flat=True)[(page - 1) * per_page : page * per_page]
        )


def test_the_ticket_list_of_a_value_few_tickets_hold_is_sorted_from_the_stats_index():
    """`?rca_source__exact=gemini` when few tickets have it walked or sorted every ticket row
    (the RCA source in no index's key: 380 ms at 100,000 tickets): the page's ids are read by
    a statement reading only columns `ticket_stats_period_v4` holds (tickets/0058: the
    urgency's status, deadline and timestamp, the severity, the RCA source and the id), so
    PostgreSQL may sort them from that index alone (checked on the columns the plan reads: of
    the few rows here the planner may as well read them through another index), then the
    page's rows by id."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.conftest import columns_read, indexed_columns

    for n in range(6):
        make_ticket(n, rca_source="rules" if n % 3 else "gemini")
    with CaptureQueriesContext(connection) as queries:
        listed = staff("viewer").get(CHANGELIST, {"rca_source__exact": "gemini"})
    assert listed.status_code == 200
    assert [t.pk for t in listed.context["cl"].result_list] == [
        make.pk for make in Ticket.objects.by_urgency().filter(rca_source="gemini")
    ]
    (page,) = [q["sql"] for q in queries if '"tickets_ticket"."id" IN (' in q["sql"]]
    # Django names the table U0 in the subquery; EXPLAIN VERBOSE names its columns u0.<name>.
    read = columns_read(_page_ids_statement(page), "u0")
    indexed = indexed_columns("ticket_stats_period_v4")
    assert {"rca_source", "sla_deadline", "id"} <= read <= indexed, read - indexed


@pytest.mark.parametrize("query", [{"rca_source__exact": "gemini"}, {"q": "pl_sales_1"}, {}])
def test_the_date_hierarchy_reads_the_list_s_first_and_last_timestamp_once(query):
    """Django's date hierarchy read the list's first and last `timestamp`, then
    `TicketListQuerySet.datetimes` read them again: the same statement twice, each a scan of
    every index entry when filtered by the RCA source. Read once now, and the periods offered
    are those of the tickets listed."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    now = timezone.now()
    for n in range(6):
        make_ticket(
            n,
            rca_source="rules" if n % 3 else "gemini",
            timestamp=now - timedelta(days=400 * (n % 2)),
        )
    with CaptureQueriesContext(connection) as queries:
        listed = staff("viewer").get(CHANGELIST, query)
    assert listed.status_code == 200
    bounds = [q["sql"] for q in queries if 'MIN("tickets_ticket"."timestamp")' in q["sql"]]
    assert len(bounds) == 1, bounds
    html = listed.content.decode()
    tickets = listed.context["cl"].queryset.model.objects.filter(
        pk__in=[t.pk for t in listed.context["cl"].result_list]
    )
    years = {t.timestamp.astimezone(timezone.get_current_timezone()).year for t in tickets}
    for year in years:
        assert f"timestamp__year={year}" in html, (year, html[:200])
    if len(years) == 1:
        (only,) = years
        assert f"timestamp__year={only - 1}" not in html


@pytest.mark.django_db(transaction=True)
def test_the_ticket_list_filtered_by_rca_source_counts_from_the_stats_index():
    """`?rca_source=` is no rollup dimension: its count and the date hierarchy's bounds read
    every ticket row (about 300 ms each at 100,000 tickets). The RCA source is in
    `ticket_stats_period_v4` (tickets/0055, 0058): every column they read is in that index, so a
    vacuumed table's are counted by an index-only scan (checked on the columns the plans read:
    of the few rows here the planner may as well read them through another index)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.conftest import columns_read, indexed_columns

    for n in range(6):
        make_ticket(n, rca_source="rules" if n % 3 else "gemini")
    with CaptureQueriesContext(connection) as queries:
        listed = staff("viewer").get(CHANGELIST, {"rca_source__exact": "gemini"})
    assert listed.status_code == 200
    assert "2 tickets" in listed.content.decode()
    counted = [
        q["sql"]
        for q in queries
        if "rca_source" in q["sql"] and ("COUNT(*)" in q["sql"] or "MIN(" in q["sql"])
    ]
    assert counted
    indexed = indexed_columns("ticket_stats_period_v4")
    for sql in counted:
        read = columns_read(sql, "tickets_ticket")
        assert "rca_source" in read and read <= indexed, (sql, read - indexed)


def test_the_list_names_a_service_health_ticket_by_its_event_without_reading_it_in_the_list():
    """Every Service Health ticket was listed as its rule ("sh-all"), where its page and the
    API name the event Azure titled. The title is read for the page's Azure Monitor tickets
    by their ids; the list's own statement still reads no affected entity."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.tickets.test_incidents import SUBSCRIPTIONS, post, service_health_alert

    body = service_health_alert(
        SUBSCRIPTIONS[0], "ZX9K-T01", title="Azure SQL Database - West Europe"
    )
    body["data"]["essentials"]["alertRule"] = "sh-all"
    event_id = post(body, "/webhooks/azure-monitor/")["ticket_id"]
    assert Ticket.objects.get(pk=event_id).pipeline == "sh-all"
    make_ticket(1)
    make_ticket(2, sla_deadline=None)  # no clock runs (a quiet notice): not "Pending" in green
    client = staff("viewer")

    with CaptureQueriesContext(connection) as queries:
        html = client.get(CHANGELIST).content.decode()
    assert ">Azure SQL Database - West Europe<" in html and ">sh-all<" not in html
    assert ">pl_sales_1<" in html
    assert html.count(">No SLA<") == 1
    read = [q["sql"] for q in queries if 'FROM "tickets_ticket"' in q["sql"]]
    entity = [sql for sql in read if "affected_entity" in sql]
    assert len(entity) == 1 and '"tickets_ticket"."id" IN' in entity[0], entity
    assert [sql for sql in read if "LIMIT" in sql and "affected_entity" not in sql], read
    # Sorted by the column, by the rule's name (`pipeline`), as before.
    assert client.get(CHANGELIST, {"o": "4"}).status_code == 200
