"""Dashboard pages through the Django test client: auth, board, detail, actions, escaping, CSP."""

from __future__ import annotations

import json
import re
from datetime import UTC, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.http import HttpResponseBase
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from analysis.classifier import classify_error
from analysis.rules import build_rule_rca
from integrations.models import OutboundDelivery, OutboundStatus
from tests.dashboard import PASSWORD, XSS, column_html, make_ticket, make_user
from tickets import lifecycle
from tickets.api.serializers import MAX_STATS_PERIOD
from tickets.lifecycle import Actor
from tickets.models import EMBEDDING_DIMENSIONS, AuditLog, OwnershipRule, Resolution, Ticket
from tickets.timestamps import utc_text

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


CSP = (
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
    "style-src 'self'; script-src 'self'"
)


def client_for(role: str | None, username: str | None = None, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(make_user(username or f"user-{role or 'none'}", role))
    return client


# --- authentication ---------------------------------------------------------------------------


def test_the_sign_in_page_of_a_fresh_installation_says_how_the_first_account_is_made():
    """Opening the service for the first time led to a sign-in form nobody could pass, with
    nothing saying that accounts are made with `manage.py createsuperuser`."""
    assert not User.objects.exists()
    fresh = Client().get("/login/").content.decode()
    assert 'id="first-account"' in fresh
    assert "manage.py createsuperuser" in fresh

    make_user("ana", "viewer")
    later = Client().get("/login/").content.decode()
    assert 'id="first-account"' not in later
    assert "createsuperuser" not in later


def test_admins_sign_in_page_of_a_fresh_installation_says_how_the_first_account_is_made():
    """Admin's own sign-in page (`/admin/`, where the README sends operators) gave no hint."""
    fresh = Client().get("/admin/login/")
    assert fresh.status_code == 200
    html = fresh.content.decode()
    assert 'id="first-account"' in html and "manage.py createsuperuser" in html
    assert 'name="username"' in html  # still admin's own form

    make_user("ana", "viewer")
    later = Client().get("/admin/login/").content.decode()
    assert 'id="first-account"' not in later and 'name="username"' in later


def test_login_then_logout():
    make_user("ana", "viewer")
    client = Client(enforce_csrf_checks=True)

    page = client.get("/login/")
    assert page.status_code == 200
    assert page.headers["Content-Security-Policy"].startswith(CSP)
    token = page.cookies["csrftoken"].value
    answer = client.post(
        "/login/", {"username": "ana", "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert (answer.status_code, answer.headers["Location"]) == (302, "/")
    assert client.get("/").status_code == 200

    token = client.cookies["csrftoken"].value
    answer = client.post("/logout/", {"csrfmiddlewaretoken": token})
    assert (answer.status_code, answer.headers["Location"]) == (302, "/login/")
    assert client.get("/").status_code == 302


def test_login_needs_the_csrf_token():
    make_user("ana", "viewer")
    client = Client(enforce_csrf_checks=True)
    client.get("/login/")
    answer = client.post("/login/", {"username": "ana", "password": PASSWORD})
    assert answer.status_code == 403


def test_wrong_password_shows_an_error():
    make_user("ana", "viewer")
    answer = Client().post("/login/", {"username": "ana", "password": "nope"})
    assert answer.status_code == 200
    assert "correct username and password" in answer.content.decode()


def test_registration_is_404_when_disabled(settings):
    settings.SELF_REGISTRATION = False
    client = Client()
    assert client.get("/register/").status_code == 404
    body = {"username": "eve", "email": "e@example.com", "password1": PASSWORD}
    assert client.post("/register/", {**body, "password2": PASSWORD}).status_code == 404
    assert not User.objects.filter(username="eve").exists()
    assert "/register/" not in client.get("/login/").content.decode()


def test_registration_creates_an_inactive_viewer_that_cannot_sign_in(settings):
    settings.SELF_REGISTRATION = True
    client = Client(enforce_csrf_checks=True)
    login_page = client.get("/login/").content.decode()
    assert 'href="/register/"' in login_page
    page = client.get("/register/")
    assert page.status_code == 200
    assert page.headers["Content-Security-Policy"].startswith(CSP)
    token = client.cookies["csrftoken"].value

    answer = client.post(
        "/register/",
        {
            "username": "newbie",
            "email": "newbie@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "csrfmiddlewaretoken": token,
        },
    )

    assert answer.status_code == 200
    assert "waiting for an administrator" in answer.content.decode()
    user = User.objects.get(username="newbie")
    assert not user.is_active
    assert list(user.groups.values_list("name", flat=True)) == ["viewer"]
    refused = Client().post("/login/", {"username": "newbie", "password": PASSWORD})
    assert refused.status_code == 200  # the form again, with an error
    assert "_auth_user_id" not in refused.wsgi_request.session


def test_registration_validates_the_form(settings):
    settings.SELF_REGISTRATION = True
    answer = Client().post(
        "/register/",
        {"username": "x", "email": "bad", "password1": "a", "password2": "b"},
    )
    assert answer.status_code == 200
    assert not User.objects.filter(username="x").exists()


def _request_account(client: Client, username: str, email: str) -> Any:
    body = {"username": username, "email": email, "password1": PASSWORD, "password2": PASSWORD}
    return client.post("/register/", body)


def test_registration_does_not_tell_whether_a_username_exists(settings):
    """The form said "A user with that username already exists.": anyone could list the
    accounts to guess passwords for. A taken name gets the page a new one gets, and nothing."""
    settings.SELF_REGISTRATION = True
    make_user("ana", "responder")
    taken = _request_account(Client(), "ana", "someone@example.com")
    new = _request_account(Client(), "bob", "bob@example.com")

    assert taken.status_code == new.status_code == 200
    shown_taken = taken.content.decode().replace("ana", "NAME")
    assert shown_taken == new.content.decode().replace("bob", "NAME")
    assert "already exists" not in shown_taken
    ana = User.objects.get(username="ana")
    assert ana.is_active and ana.email != "someone@example.com"
    assert User.objects.filter(username__iexact="ana").count() == 1
    assert not User.objects.get(username="bob").is_active


def _shown_with(answer: Any, username: str) -> str:
    """The page as shown, its username and the form's CSRF token (new on each page) aside."""
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", answer.content.decode())
    return page.replace(username, "NAME")


@pytest.mark.parametrize(
    "problem",
    [
        {"password2": "not-the-same-password"},
        {"email": "not-an-address"},
        {"password1": "{name}-2024", "password2": "{name}-2024"},  # too like the username
    ],
    ids=["passwords-differ", "bad-email", "password-like-username"],
)
def test_a_form_with_other_problems_does_not_tell_whether_a_username_exists(settings, problem):
    """A taken username with a second problem in the form (passwords that differ, an email
    address that is none, a password like the username) gets the page a new username with
    that problem gets: not "A user with that username already exists." beside the problem."""
    settings.SELF_REGISTRATION = True
    make_user("kowalska", "responder")
    email = User.objects.get(username="kowalska").email

    def request_with_problem(username: str) -> Any:
        body = {
            "username": username,
            "email": f"{username}.request@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
        }
        body.update({field: value.format(name=username) for field, value in problem.items()})
        return Client().post("/register/", body)

    taken = request_with_problem("kowalska")
    new = request_with_problem("nowakowa")

    assert taken.status_code == new.status_code == 200
    assert "field-error" in new.content.decode()
    assert _shown_with(taken, "kowalska") == _shown_with(new, "nowakowa")
    assert "already exists" not in taken.content.decode()
    assert not User.objects.filter(username="nowakowa").exists()
    assert User.objects.get(username="kowalska").email == email


def test_registration_is_rate_limited_per_address(settings):
    settings.SELF_REGISTRATION = True
    settings.SELF_REGISTRATION_RATE = "3/hour"
    client = Client()
    for n in range(3):
        assert _request_account(client, f"user{n}", f"u{n}@example.com").status_code == 200

    refused = _request_account(client, "user3", "u3@example.com")

    assert refused.status_code == 429
    assert "Too many account requests" in refused.content.decode()
    assert not User.objects.filter(username="user3").exists()
    # Another address is not held back by this one.
    other = Client(REMOTE_ADDR="192.0.2.10")
    assert _request_account(other, "user3", "u3@example.com").status_code == 200
    assert User.objects.filter(username="user3").exists()


# --- permissions --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/charts/", "/tickets/NOPE-1/"])
def test_anonymous_is_sent_to_login(path):
    answer = Client().get(path)
    assert answer.status_code == 302
    assert answer.headers["Location"] == f"/login/?next={path}"


@pytest.mark.parametrize("path", ["/", "/charts/"])
def test_signed_in_without_a_role_is_forbidden(path):
    answer = client_for(None).get(path)
    assert answer.status_code == 403
    assert "viewer role" in answer.content.decode()
    assert answer.headers["Content-Security-Policy"].startswith(CSP)


def test_a_refused_pages_top_bar_shows_the_users_own_role_not_the_one_needed():
    """The refusal's context named the role needed `role`, the name the top bar's badge reads
    the user's own role from: a user in no group was shown as a viewer on the page saying they
    need the viewer role, and a viewer refused an action as a responder."""
    nobody = client_for(None).get("/").content.decode()
    assert "You need the viewer role for this." in nobody
    assert 'class="role-badge"' not in nobody

    ticket = make_ticket()
    viewer = client_for("viewer")
    answer = viewer.post(f"/tickets/{ticket.pk}/action/", {"action": "acknowledge"})
    assert answer.status_code == 403
    text = answer.content.decode()
    assert "You need the responder role for this." in text
    assert '<span class="role-badge">viewer</span>' in text
    assert '<span class="role-badge">responder</span>' not in text


def test_head_tells_the_page_script_whether_the_session_is_still_valid():
    # live.js asks with HEAD after its socket was refused: a redirect means signed out.
    assert Client().head("/").status_code == 302
    viewer = client_for("viewer")
    assert viewer.head("/").status_code == 200
    live_check = {"X-Live-Read": "1"}
    assert Client().head("/", headers=live_check).status_code == 302
    assert viewer.head("/", headers=live_check).status_code == 204


def test_the_page_scripts_session_check_does_not_build_the_page(django_assert_max_num_queries):
    """A page left open re-checks its session at each refused reconnect: a board of many
    tickets was built (and thrown away) for each. Signed in, the check reads the session, its
    user and the user's role only."""
    make_ticket()
    viewer = client_for("viewer")
    with django_assert_max_num_queries(3):
        answer = viewer.head("/", headers={"X-Live-Read": "1"})
    assert answer.status_code == 204
    nobody = client_for(None)
    assert nobody.head("/", headers={"X-Live-Read": "1"}).status_code == 403


def test_unknown_ticket_is_404():
    assert client_for("viewer").get("/tickets/NOPE-1/").status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/tickets/A%00B/"),
        ("post", "/tickets/A%00B/action/"),
        ("post", "/tickets/A%00B/rerun-rca/"),
        ("post", "/tickets/A%00B/remediation/"),
        ("post", "/tickets/A%00B/analyse-log/"),
        ("get", "/tickets/A%00B/evidence/rca.json"),
        ("get", "/incidents/A%00B/"),
        ("get", "/incidents/A%00B/live/"),
        ("post", "/incidents/A%00B/action/"),
    ],
)
def test_an_id_with_a_nul_character_is_404(method, path):
    """PostgreSQL text cannot hold a NUL: querying for such an id was a 500."""
    client = client_for("responder")

    response = getattr(client, method)(path, {"action": "acknowledge"} if method == "post" else {})

    assert response.status_code == 404


# --- board --------------------------------------------------------------------------------------


def test_board_shows_the_three_columns_with_their_tickets():
    opened = make_ticket(pipeline="pl_open")
    taken = make_ticket(pipeline="pl_taken", status="in_progress")
    done = make_ticket(pipeline="pl_done", status="acknowledged", sla_status="Met")

    answer = client_for("viewer").get("/")

    assert answer.status_code == 200
    html = answer.content.decode()
    assert answer.headers["Content-Security-Policy"] == answer.headers["Content-Security-Policy"]
    assert answer.headers["Content-Security-Policy"].startswith(CSP)
    assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
    for heading in ("Open", "In progress", "Acknowledged"):
        assert f"<h2>{heading}</h2>" in html
    assert opened.pk in column_html(html, "open")
    assert taken.pk in column_html(html, "in_progress")
    assert done.pk in column_html(html, "acknowledged")
    assert taken.pk not in column_html(html, "open")
    # Card facts: severity colour class, pipeline, error class, occurrences, team, SLA clock.
    card = column_html(html, "open")
    assert 'class="card sev-high"' in card
    assert "pl_open" in card and "NetworkError" in card and "data-platform" in card
    assert opened.sla_deadline is not None
    assert f'data-deadline="{utc_text(opened.sla_deadline)}"' in card
    assert "left" in card  # the server-rendered countdown before the JS takes over
    assert 'id="live-config" type="application/json"' in html
    assert "<script>" not in html  # no inline script, only src= and the JSON block


def test_breached_sla_is_shown_breached():
    make_ticket(sla_deadline=timezone.now() - timedelta(minutes=5))
    html = client_for("viewer").get("/").content.decode()
    assert "Breached 5m ago" in column_html(html, "open")


@pytest.mark.parametrize(
    "sla_status, deadline_in, text, state",
    [
        ("Met", timedelta(hours=4), "SLA Met", "met"),
        ("Met", -timedelta(minutes=5), "SLA Met", "met"),
        ("Breached", -timedelta(hours=1), "SLA Breached", "late"),
    ],
)
def test_a_resolved_ticket_shows_how_its_sla_ended_not_a_clock(
    sla_status, deadline_in, text, state
):
    """Resolving stops the SLA clock as acknowledging does: its sla_status says how it ended."""
    ticket = make_ticket(
        status="resolved",
        resolved_at=timezone.now() - timedelta(minutes=1),
        sla_status=sla_status,
        sla_deadline=timezone.now() + deadline_in,
    )
    client = client_for("viewer")

    card = column_html(client.get("/").content.decode(), "resolved")
    detail = client.get(f"/tickets/{ticket.pk}/").content.decode()

    for html in (card, detail):
        assert re.search(rf'data-state="{state}">{text}</span>', html), html
        assert "left<" not in html and "Breached 5m ago" not in html


@pytest.mark.parametrize(
    "query, expected",
    [
        ("severity=Critical", {"pl_critical"}),
        ("source=airflow", {"pl_airflow"}),
        ("error_type=DatabaseError", {"pl_database"}),
        ("team=finance", {"pl_finance"}),
        ("q=deadlock", {"pl_database"}),
        ("q=PL_AIRFLOW", {"pl_airflow"}),
        ("team=no-such-team", set()),  # a team without tickets selects none: not an error
        ("severity=Critical&team=finance", set()),
    ],
)
def test_board_filters(query, expected):
    make_ticket(pipeline="pl_critical", severity="Critical")
    make_ticket(pipeline="pl_airflow", source="airflow")
    make_ticket(
        pipeline="pl_database", error_type="DatabaseError", error_message="deadlock detected"
    )
    make_ticket(pipeline="pl_finance", finops_team="finance")

    html = client_for("viewer").get(f"/?{query}").content.decode()

    shown = set(re.findall(r'data-field="title">([^<]+)<', html))
    assert shown == expected


@pytest.mark.parametrize(
    "query, problem",
    [
        (
            "severity=Bogus",
            "Severity: “Bogus” is not one of the choices: Critical, High, Medium, Low.",
        ),
        (
            "source=nope",
            "Source: “nope” is not one of the choices: azure-monitor, adf, databricks, airflow.",
        ),
        (
            "error_type=Oops&team=finance",
            "Error class: “Oops” is not one of the choices: NetworkError, DatabaseError,"
            " ResourceExhaustion, AuthenticationError, DataError, ExternalServiceError,"
            " TimeoutError, ConfigurationError, CodeError, Unknown.",
        ),
        ("severity=50%25", "Severity: “50%” is not one of the choices: Critical, High,"),
        ("q=" + "x" * 250, "Search: Ensure this value has at most 200 characters (it has 250)."),
        ("team=" + "t" * 250, "Team: Ensure this value has at most 200 characters (it has 250)."),
    ],
)
def test_an_invalid_board_filter_is_named_and_no_ticket_passes_for_filtered(query, problem):
    make_ticket(pipeline="pl_critical", severity="Critical")
    make_ticket(pipeline="pl_finance", finops_team="finance")

    answer = client_for("viewer").get(f"/?{query}")

    assert answer.status_code == 400
    html = answer.content.decode()
    assert problem in html
    assert 'role="alert"' in html and "No tickets shown" in html
    assert re.findall(r'data-field="title">([^<]+)<', html) == []
    assert 'id="board"' not in html and "board.js" not in html  # nothing live to fill it
    assert 'href="/">Clear</a>' in html


@pytest.mark.parametrize(
    "query, problem",
    [
        (
            "status=resolved",
            "?status= is not a filter of the board; it takes ?severity=, ?source=, ?error_type=,"
            " ?team=, ?q=.",
        ),
        ("search=pl_finance", "?search= is not a filter of the board"),
        ("pipeline=pl_finance&severity=Critical", "?pipeline= is not a filter of the board"),
        ("severity=Critical&severity=Low", "Severity: given 2 times; pick one."),
        ("team=finance&team=sales", "Team: given 2 times; pick one."),
    ],
)
def test_a_board_parameter_not_taken_or_given_twice_is_named_and_no_ticket_shown(query, problem):
    """The API's `?status=`/`?search=` showed every ticket as if they were the filter's, and a
    filter given twice the last value's tickets; the API refuses both, naming them."""
    make_ticket(pipeline="pl_critical", severity="Critical")
    make_ticket(pipeline="pl_finance", finops_team="finance")

    answer = client_for("viewer").get(f"/?{query}")

    assert answer.status_code == 400
    html = answer.content.decode()
    assert escape(problem) in html
    assert 'role="alert"' in html and "No tickets shown" in html
    assert re.findall(r'data-field="title">([^<]+)<', html) == []
    assert 'id="board"' not in html


@pytest.mark.parametrize("path", ["/", "/login/", "/admin/login/"])
def test_a_host_missing_from_allowed_hosts_is_named_on_the_page(settings, path):
    """An operator opening a new deployment by a name ALLOWED_HOSTS lacks got a page saying
    only "Bad Request (400)"; the API and the webhooks named the host and the setting."""
    settings.ALLOWED_HOSTS = ["rca.example.com"]
    host = "rca.internal.example.net"

    page = Client().get(path, HTTP_HOST=host)

    assert page.status_code == 400
    assert page["Content-Type"].startswith("text/html")
    html = page.content.decode()
    assert (
        escape(
            f"Invalid HTTP_HOST header: '{host}'. You may need to add '{host}' to ALLOWED_HOSTS."
        )
        in html
    )
    assert page.headers["Content-Security-Policy"].startswith(CSP)


def test_a_refused_host_is_shown_as_text():
    page = Client().get("/", HTTP_HOST="<b>x</b>")

    assert page.status_code == 400
    html = page.content.decode()
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


def test_an_invalid_search_keeps_what_was_typed():
    typed = "pl_orders " + "y" * 240
    html = client_for("viewer").get("/", {"q": typed, "severity": "Bogus"}).content.decode()
    assert f'name="q" value="{typed}"' in html


def test_a_team_without_tickets_is_kept_in_the_team_select():
    make_ticket(pipeline="pl_finance", finops_team="finance")
    html = client_for("viewer").get("/?team=no-such-team").content.decode()
    assert '<option value="no-such-team" selected>no-such-team</option>' in html
    assert "No tickets match the filters." in html
    assert 'id="board"' in html


def test_the_team_select_offers_the_teams_ownership_rules_route_to_before_their_first_ticket():
    """Teams set up in admin were missing from the board's team filter until one of their
    pipelines failed; a disabled rule's team is not offered."""
    OwnershipRule.objects.create(pipeline_pattern="pl_sales_*", finops_team="sales")
    OwnershipRule.objects.create(pipeline_pattern="pl_old_*", finops_team="retired", enabled=False)
    make_ticket(pipeline="pl_finance", finops_team="finance")

    html = client_for("viewer").get("/").content.decode()

    offered = re.findall(
        r'<option value="([^"]+)">', html.split('name="team"', 1)[1].split("</select>")[0]
    )
    assert offered == ["finance", "sales"]


def test_the_team_select_offers_the_teams_of_the_last_90_days_from_the_rollup():
    """The teams of recent tickets were read ticket by ticket (39-119 ms for each board load at
    100,000 tickets); they come from the stats rollup, folded or not: a team whose only ticket
    moved to another team is no longer offered, nor one whose tickets are all older."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tickets import rollup

    now = timezone.now()
    make_ticket(finops_team="finance")
    make_ticket(finops_team="", pipeline="pl_unowned")
    make_ticket(finops_team="archive", timestamp=now - timedelta(days=92))
    rollup.fold()
    moved = make_ticket(finops_team="marketing")
    make_ticket(finops_team="billing", timestamp=now - timedelta(days=89))
    Ticket.objects.filter(pk=moved.pk).update(finops_team="sales")
    viewer = client_for("viewer")

    with CaptureQueriesContext(connection) as queries:
        html = viewer.get("/").content.decode()
    offered = re.findall(
        r'<option value="([^"]+)">', html.split('name="team"', 1)[1].split("</select>")[0]
    )
    assert offered == ["billing", "finance", "sales"]
    team_reads = [q["sql"] for q in queries if "finops_team" in q["sql"] and "DISTINCT" in q["sql"]]
    assert all('tickets_ticket"' not in sql for sql in team_reads), team_reads

    rollup.fold()
    html = viewer.get("/").content.decode()
    assert re.findall(
        r'<option value="([^"]+)">', html.split('name="team"', 1)[1].split("</select>")[0]
    ) == ["billing", "finance", "sales"]


def test_the_rollup_names_a_dimension_it_does_not_count():
    from tickets import rollup

    with pytest.raises(ValueError, match="not a counted dimension: 'pipeline'"):
        rollup.values_since("pipeline", timezone.now().date(), 10)


def test_board_limits_each_column(monkeypatch):
    from tickets.dashboard import views

    monkeypatch.setattr(views, "COLUMN_LIMIT", 2)
    for _ in range(3):
        make_ticket()
    html = client_for("viewer").get("/").content.decode()
    assert column_html(html, "open").count("<article") == 2
    assert "Showing the 2 most urgent of 3." in html


def test_board_counts_a_column_up_to_its_count_limit(monkeypatch):
    """A full column counted every ticket of its status (a scan of the table at 100,000
    tickets, for each board load): it counts COUNT_LIMIT at most, one more saying "more"."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tickets.dashboard import views

    monkeypatch.setattr(views, "COLUMN_LIMIT", 2)
    monkeypatch.setattr(views, "COUNT_LIMIT", 3)
    for _ in range(3):
        make_ticket()
    make_ticket(status="acknowledged")
    viewer = client_for("viewer")
    html = viewer.get("/").content.decode()
    assert 'data-count="open">3<' in html
    assert "Showing the 2 most urgent of 3." in html

    for _ in range(2):
        make_ticket()
    with CaptureQueriesContext(connection) as queries:
        html = viewer.get("/").content.decode()
    assert 'data-count="open" data-capped>3+<' in html
    assert "Showing the 2 most urgent of 3+." in html
    assert 'data-count="acknowledged">1<' in html
    counts = [query["sql"] for query in queries if "COUNT(" in query["sql"].upper()]
    assert counts and all("LIMIT 4" in sql for sql in counts), counts

    monkeypatch.setattr(views, "COUNT_LIMIT", 1000)
    html = viewer.get("/").content.decode()
    assert 'data-count="open">5<' in html


def test_board_columns_put_the_most_urgent_first():
    """A P2 with 58 minutes left comes before P4s with a day left, however new they are; open
    tickets with no SLA clock (Service Health notices that page nobody) after every ticket
    whose clock runs, the oldest first: they were due at their creation, first of all."""
    now = timezone.now()
    no_clock = [
        make_ticket(
            severity="Low", priority="P4", sla_deadline=None, timestamp=now - timedelta(days=d)
        )
        for d in (1, 2)
    ]
    day_left = [
        make_ticket(severity="Low", priority="P4", sla_deadline=now + timedelta(hours=23 + i))
        for i in range(2)
    ]
    urgent = make_ticket(priority="P2", sla_deadline=now + timedelta(minutes=58))
    breached = make_ticket(sla_status="Breached", sla_deadline=now - timedelta(minutes=5))
    same_deadline_critical = make_ticket(severity="Critical", sla_deadline=day_left[0].sla_deadline)
    acked_old = make_ticket(status="acknowledged", sla_status="Met")
    acked_new = make_ticket(status="acknowledged", sla_status="Met", timestamp=now)

    html = client_for("viewer").get("/").content.decode()

    open_ids = re.findall(r'data-id="([^"]+)"', column_html(html, "open"))
    expected = [breached, urgent, same_deadline_critical, *day_left, no_clock[1], no_clock[0]]
    assert open_ids == [ticket.pk for ticket in expected]
    acked_ids = re.findall(r'data-id="([^"]+)"', column_html(html, "acknowledged"))
    assert acked_ids == [acked_new.pk, acked_old.pk]  # clock stopped: newest first


def test_the_acknowledged_column_is_read_without_walking_the_open_tickets():
    """Its cards were read in `ticket_urgency`'s order, where every open and in-progress ticket
    comes first: each one was read and thrown away (25,029 at the 100,000-ticket bench, 89-344
    ms for each board load). Read newest first from `ticket_status_recent`, the same order."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    now = timezone.now()
    Ticket.objects.bulk_create(
        Ticket(
            id=f"ADF-open-{n:05d}",
            timestamp=now - timedelta(seconds=n),
            pipeline=f"pl_open_{n}",
            run_id=f"adf:open-run-{n}",
            source="adf",
            processing_mode="adf",
            fingerprint=f"{n:064x}",
            sla_deadline=now + timedelta(hours=1),
        )
        for n in range(1500)
    )
    older = now - timedelta(days=1)
    acked = [
        make_ticket(status="acknowledged", sla_status="Met", timestamp=older, severity=severity)
        for severity in ("Low", "Critical")
    ] + [make_ticket(status="acknowledged", sla_status="Met", timestamp=older - timedelta(1))]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tickets_ticket")

    with CaptureQueriesContext(connection) as queries:
        html = client_for("viewer").get("/").content.decode()

    shown = re.findall(r'data-id="([^"]+)"', column_html(html, "acknowledged"))
    assert shown == [acked[1].pk, acked[0].pk, acked[2].pk]  # newest, then the graver first
    (read,) = [
        q["sql"]
        for q in queries
        if q["sql"].startswith('SELECT "tickets_ticket"."id"')
        and "\"status\" = 'acknowledged'" in q["sql"]
    ]
    with connection.cursor() as cursor:
        # As at 100,000 tickets, where neither a scan of the table nor a sort of the status's
        # tickets is the cheaper plan.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(f"EXPLAIN (ANALYZE, COSTS OFF) {read}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    walked = [int(n) for n in re.findall(r"Rows Removed by Filter: (\d+)", plan)]
    assert "ticket_status_recent" in plan and sum(walked) < 10, plan


# --- ticket detail ------------------------------------------------------------------------------


def test_detail_shows_rca_links_similar_audit_and_deliveries(settings):
    settings.JIRA_URL = "https://jira.example.com/"
    vector = [1.0] + [0.0] * (EMBEDDING_DIMENSIONS - 1)
    near = [1.0, 0.05] + [0.0] * (EMBEDDING_DIMENSIONS - 2)
    ticket = make_ticket(
        rca_result="The SQL server refused connections.",
        recommendations=["Check the firewall", "Rotate the credentials"],
        confidence=0.62,
        rca_source="rules",
        rca_note="Gemini is not configured.",
        itsm_ticket_id="OPS-7",
        slack_channel="#data-alerts",
        slack_ts="1733833333.000100",
        blob_log_url="https://blob.example.com/rca-evidence/t.json",
        links={
            "run_url": "https://adf.azure.com/run/1",
            "log_url": "javascript:alert(3)",
            "portal": "https://portal.azure.com@evil.example.test/#blade",
        },
        embedding=vector,
        embedding_model="local-test",
        occurrence_count=3,
    )
    other = make_ticket(pipeline="pl_past_failure", embedding=near, embedding_model="local-test")
    AuditLog.objects.create(
        ticket=ticket, actor_kind="source", actor_name="adf", action="created", after={}
    )
    OutboundDelivery.objects.create(
        key=f"{ticket.pk}:jira",
        ticket=ticket,
        target="jira",
        action="jira_create",
        status=OutboundStatus.SUCCEEDED,
        attempts=1,
    )
    OutboundDelivery.objects.create(
        key=f"{ticket.pk}:slack",
        ticket=ticket,
        target="slack",
        action="slack_post",
        status=OutboundStatus.DEAD,
        attempts=8,
        last_error="HTTP 500 from Slack",
    )

    answer = client_for("viewer").get(f"/tickets/{ticket.pk}/")

    assert answer.status_code == 200
    assert answer.headers["Content-Security-Policy"].startswith(CSP)
    html = answer.content.decode()
    assert "The SQL server refused connections." in html
    assert "<li>Check the firewall</li>" in html
    assert "62%" in html and "Rule-based" in html and "Gemini is not configured." in html
    assert '<pre class="error-message">connection refused</pre>' in html
    assert 'href="https://jira.example.com/browse/OPS-7"' in html
    assert "#data-alerts" in html and "1733833333.000100" in html
    assert 'href="https://blob.example.com/rca-evidence/t.json"' in html
    assert 'href="https://adf.azure.com/run/1"' in html
    assert 'href="javascript:' not in html  # shown as text, never a link
    assert "portal.azure.com@evil.example.test" in html and 'href="https://portal.' not in html
    assert f'href="/tickets/{other.pk}/"' in html and "pl_past_failure" in html
    assert "Create the JIRA issue" in html and "Succeeded" in html
    assert "Dead" in html and "HTTP 500 from Slack" in html
    assert "created" in html and "adf" in html


def test_affected_entity_leaves_blank_values_out():
    entity = {
        "dag_id": "orders_daily",
        "airflow_base_url": "",
        "deployment": {"name": "prod", "region": None},
        "tags": [],
    }
    blank = make_ticket(affected_entity={"airflow_base_url": "", "extra": {}})
    ticket = make_ticket(affected_entity=entity)
    client = client_for("viewer")

    html = client.get(f"/tickets/{ticket.pk}/").content.decode()
    shown = re.search(r'<pre class="json">(.*?)</pre>', html, flags=re.S)

    assert shown is not None
    assert json.loads(shown.group(1).replace("&quot;", '"')) == {
        "dag_id": "orders_daily",
        "deployment": {"name": "prod"},
    }
    assert "Affected entity" not in client.get(f"/tickets/{blank.pk}/").content.decode()


def test_audit_trail_shows_the_latest_entries_oldest_first(monkeypatch):
    from tickets.dashboard import views

    monkeypatch.setattr(views, "AUDIT_LIMIT", 2)
    ticket = make_ticket()
    for action in ("first-step", "second-step", "third-step"):
        AuditLog.objects.create(ticket=ticket, actor_kind="system", action=action)

    html = client_for("viewer").get(f"/tickets/{ticket.pk}/").content.decode()

    assert "first-step" not in html
    assert html.index("second-step") < html.index("third-step")
    assert "The 2 most recent of 3 entries." in html


def test_outbound_deliveries_show_the_latest_oldest_first(monkeypatch):
    """Every delivery of the ticket was rendered: a flaky pipeline's ticket with 20,000 took
    its page seconds."""
    from tickets.dashboard import views

    monkeypatch.setattr(views, "OUTBOUND_LIMIT", 2)
    ticket = make_ticket()
    start = timezone.now() - timedelta(hours=1)
    for n, error in enumerate(("first-error", "second-error", "third-error")):
        OutboundDelivery.objects.create(
            key=f"{ticket.pk}:jira_comment:{n}",
            ticket=ticket,
            target="jira",
            action="jira_comment",
            status=OutboundStatus.DEAD,
            last_error=error,
            created_at=start + timedelta(minutes=n),
        )

    html = client_for("viewer").get(f"/tickets/{ticket.pk}/").content.decode()

    assert "first-error" not in html
    assert html.index("second-error") < html.index("third-error")
    assert "The 2 most recent of 3 deliveries." in html


def test_audit_trail_shows_an_empty_value_as_a_dash():
    """A field that was empty before or after a change (the ack user of a ticket never
    acknowledged, or after its reopen) reads "—", as one that was not set does."""
    from tickets import lifecycle
    from tickets.lifecycle import Actor

    ticket = make_ticket()
    lifecycle.transition(ticket.pk, "acknowledge", Actor("user", "maria"))
    lifecycle.transition(ticket.pk, "reopen", Actor("user", "maria"))

    html = client_for("viewer").get(f"/tickets/{ticket.pk}/").content.decode()

    changes = re.findall(
        r'<code>ack_user</code>: <span class="before">([^<]*)</span> → '
        r'<span class="after">([^<]*)</span>',
        html,
    )
    assert changes == [("—", "maria"), ("maria", "—")]


def test_viewer_sees_no_action_buttons():
    ticket = make_ticket()
    html = client_for("viewer").get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'name="action"' not in html
    assert "/action/" not in html


def test_responder_sees_the_buttons_that_apply():
    ticket = make_ticket(status="in_progress")
    html = client_for("responder").get(f"/tickets/{ticket.pk}/").content.decode()
    buttons = dict(re.findall(r'value="(\w+)" data-action="\w+" class="[^"]+"( hidden)?>', html))
    assert buttons == {"acknowledge": "", "start_progress": " hidden", "resolve": "", "reopen": ""}


def _csrf_post(client: Client, path: str, data: dict) -> HttpResponseBase:
    client.get(path.rsplit("action/", 1)[0])
    return client.post(path, {**data, "csrfmiddlewaretoken": client.cookies["csrftoken"].value})


def test_responder_acknowledges_through_the_lifecycle():
    ticket = make_ticket()
    user = make_user("maria", "responder")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    answer = _csrf_post(
        client, f"/tickets/{ticket.pk}/action/", {"action": "acknowledge", "note": "on it"}
    )

    assert (answer.status_code, answer.headers["Location"]) == (302, f"/tickets/{ticket.pk}/")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.ack_user, ticket.sla_status) == ("acknowledged", "maria", "Met")
    entry = AuditLog.objects.get(ticket=ticket, action="acknowledge")
    assert (entry.actor_kind, entry.actor_name, entry.user) == ("user", "maria", user)
    assert entry.details == {"note": "on it"}
    page = client.get(answer.headers["Location"]).content.decode()
    assert "Acknowledge: done." in page
    assert "maria" in page


def test_board_has_a_resolved_column_of_recent_resolutions():
    recent = make_ticket(
        pipeline="pl_fixed", status="resolved", resolved_at=timezone.now() - timedelta(hours=2)
    )
    old = make_ticket(
        pipeline="pl_fixed_long_ago",
        status="resolved",
        resolved_at=timezone.now() - timedelta(days=30),
    )

    html = client_for("viewer").get("/").content.decode()

    assert "<h2>Resolved</h2>" in html
    assert recent.pk in column_html(html, "resolved")
    assert old.pk not in html


def test_responder_resolves_with_what_fixed_it_and_the_next_one_leads_with_it():
    ticket = make_ticket(fingerprint="fp-dashboard")
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("ana", "responder"))

    answer = _csrf_post(
        client,
        f"/tickets/{ticket.pk}/action/",
        {"action": "resolve", "note": "", "fix": "Scaled the <b>IR</b> to 4 nodes"},
    )

    assert answer.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.resolved_by) == ("resolved", "ana")
    later = make_ticket(fingerprint="fp-dashboard")
    page = client.get(f"/tickets/{later.pk}/").content.decode()
    assert f'<strong>Last time</strong> (<a href="/tickets/{ticket.pk}/">{ticket.pk}</a>,' in page
    assert "ana): Scaled the &lt;b&gt;IR&lt;/b&gt; to 4 nodes" in page


def test_a_past_fixs_time_is_given_in_utc_as_the_pages_other_times_are():
    """Every other time on the ticket page says UTC; a past fix's gave a bare date, which a
    reader east or west of UTC took for their own day."""
    ticket = make_ticket(fingerprint="fp-fixed-when")
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("ana", "responder"))
    _csrf_post(
        client, f"/tickets/{ticket.pk}/action/", {"action": "resolve", "note": "", "fix": "x"}
    )
    ticket.refresh_from_db()
    later = make_ticket(fingerprint="fp-fixed-when")

    page = client.get(f"/tickets/{later.pk}/").content.decode()

    fixed = Resolution.objects.get(ticket=ticket).created_at
    assert (
        f'{ticket.pk}</a>, <time datetime="{fixed.isoformat()}">'
        f"{fixed.astimezone(UTC):%Y-%m-%d %H:%M} UTC</time>, ana): x"
    ) in page


def test_take_then_reopen():
    ticket = make_ticket()
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("tom", "responder"))
    _csrf_post(client, f"/tickets/{ticket.pk}/action/", {"action": "start_progress"})
    assert Ticket.objects.get(pk=ticket.pk).status == "in_progress"
    _csrf_post(client, f"/tickets/{ticket.pk}/action/", {"action": "reopen"})
    assert Ticket.objects.get(pk=ticket.pk).status == "open"


def test_the_audit_trail_names_a_take_as_the_button_does():
    """The audit log stores the action's name (start_progress); the trail shows what was done,
    in the buttons' words, not the internal name."""
    ticket = make_ticket()
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("tom", "responder"))
    _csrf_post(client, f"/tickets/{ticket.pk}/action/", {"action": "start_progress"})
    _csrf_post(client, f"/tickets/{ticket.pk}/action/", {"action": "acknowledge"})

    html = client.get(f"/tickets/{ticket.pk}/").content.decode()
    trail = re.findall(r'<span class="action">([^<]*)</span>', html)
    assert trail[-2:] == ["took it", "acknowledged"], trail
    assert "start_progress" not in trail


def test_action_without_csrf_token_is_refused():
    ticket = make_ticket()
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("maria", "responder"))

    answer = client.post(f"/tickets/{ticket.pk}/action/", {"action": "acknowledge"})

    assert answer.status_code == 403
    assert Ticket.objects.get(pk=ticket.pk).status == "open"
    assert not AuditLog.objects.filter(ticket=ticket, action="acknowledge").exists()


def test_viewer_cannot_act():
    ticket = make_ticket()
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("vic", "viewer"))
    answer = _csrf_post(client, f"/tickets/{ticket.pk}/action/", {"action": "acknowledge"})
    assert answer.status_code == 403
    assert Ticket.objects.get(pk=ticket.pk).status == "open"


def _sign_in(client: Client, username: str) -> None:
    client.get("/login/")
    token = client.cookies["csrftoken"].value
    answer = client.post(
        "/login/", {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert answer.status_code == 302


def test_an_action_from_a_page_loaded_before_signing_in_again_says_to_reload_it():
    """A ticket page left open while its user signed out and in again in another tab (sign-in
    rotates the CSRF token): its Acknowledge was Django's bare "CSRF verification failed. Request
    aborted. More information is available with DEBUG=True", with no way back to the page."""
    ticket = make_ticket()
    make_user("maria", "responder")
    client = Client(enforce_csrf_checks=True)
    _sign_in(client, "maria")
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    form_token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert form_token is not None
    # In another tab: signed out, and in again.
    client.post("/logout/", {"csrfmiddlewaretoken": client.cookies["csrftoken"].value})
    _sign_in(client, "maria")

    answer = client.post(
        f"/tickets/{ticket.pk}/action/",
        {"action": "acknowledge", "csrfmiddlewaretoken": form_token.group(1)},
        HTTP_REFERER=f"http://testserver/tickets/{ticket.pk}/",
    )

    assert answer.status_code == 403
    text = answer.content.decode()
    assert "Page out of date" in text and "nothing was done" in text
    assert f'<a href="http://testserver/tickets/{ticket.pk}/">Reload the page</a>' in text
    assert "DEBUG" not in text and "administrator" not in text
    assert answer.headers["Content-Security-Policy"].startswith(CSP)
    assert Ticket.objects.get(pk=ticket.pk).status == "open"
    # A Referer of another site is no way back.
    answer = client.post(
        f"/tickets/{ticket.pk}/action/",
        {"action": "acknowledge", "csrfmiddlewaretoken": form_token.group(1)},
        HTTP_REFERER="https://evil.example/",
    )
    assert '<a href="/">Reload the page</a>' in answer.content.decode()


def test_a_viewers_refused_action_names_the_group_that_would_allow_it():
    """It said "Ask an administrator to add you to the viewer, responder or admin group" to a
    viewer, whom the viewer group does not help."""
    ticket = make_ticket()
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("vic", "viewer"))

    path = f"/tickets/{ticket.pk}/action/"
    client.get(f"/tickets/{ticket.pk}/")
    token = client.cookies["csrftoken"].value
    answer = client.post(path, {"action": "acknowledge", "csrfmiddlewaretoken": token})

    assert answer.status_code == 403
    text = answer.content.decode()
    assert "You need the responder role for this." in text
    assert "add you to the responder group (or one above it)." in text
    assert "viewer, responder or admin" not in text


def test_anonymous_action_goes_to_login_and_back_to_the_page_it_was_posted_from():
    """Signing in went on to the action's own address, POST-only: a 405 instead of the page."""
    ticket = make_ticket()
    client = Client()
    answer = client.post(
        f"/tickets/{ticket.pk}/action/",
        {"action": "acknowledge"},
        HTTP_REFERER=f"http://testserver/tickets/{ticket.pk}/",
    )
    assert answer.status_code == 302
    assert answer.headers["Location"] == f"/login/?next=/tickets/{ticket.pk}/"
    assert Ticket.objects.get(pk=ticket.pk).status == "open"
    page = client.get(answer.headers["Location"]).content.decode()
    assert "You were signed out, so nothing was done." in page
    # A Referer of another site, or none, is no way back: the board.
    for referer in ("https://evil.example/tickets/x/", None):
        headers = {"Referer": referer} if referer else {}
        answer = Client().post(f"/tickets/{ticket.pk}/action/", {"action": "ack"}, headers=headers)
        assert answer.headers["Location"] == "/login/?next=/"


@pytest.mark.parametrize(
    ("referer", "secure"),
    [
        # Of this host, with a path that is another host's address: `next=//evil.example/x`.
        ("http://testserver//evil.example/x", False),
        ("http://testserver///evil.example/x", False),
        ("http://testserver/\\evil.example/x", False),
        ("//evil.example/x", False),
        ("\\\\evil.example/x", False),
        ("https:evil.example/x", False),
        ("http://testserver:8080/tickets/", False),  # another port: another site
        ("http://testserver/tickets/", True),  # an http page of an https site
        ("javascript:alert(1)", False),
        ("http://[", False),  # not a URL
    ],
)
def test_a_form_posted_signed_out_is_never_sent_back_to_another_site(referer, secure):
    """Its way back is its Referer's path on this host alone; anything else is the board."""
    make_user("ana", "responder")
    ticket = make_ticket()
    client = Client()
    answer = client.post(
        f"/tickets/{ticket.pk}/action/",
        {"action": "acknowledge"},
        HTTP_REFERER=referer,
        secure=secure,
    )
    assert answer.headers["Location"] == "/login/?next=/"
    signed_in = client.post(
        answer.headers["Location"], {"username": "ana", "password": PASSWORD}, secure=secure
    )
    assert signed_in.headers["Location"] == "/"


def test_action_is_post_only():
    ticket = make_ticket()
    assert client_for("responder").get(f"/tickets/{ticket.pk}/action/").status_code == 405


@pytest.mark.parametrize(
    "status, action, message",
    [
        ("acknowledged", "acknowledge", "cannot acknowledge a ticket that is acknowledged"),
        ("open", "reopen", "cannot reopen a ticket that is open"),
        ("open", "delete", "Not done: Action: “delete” is no action."),
    ],
)
def test_invalid_action_is_a_message_not_an_error(status, action, message):
    ticket = make_ticket(status=status)
    client = client_for("responder")

    answer = client.post(f"/tickets/{ticket.pk}/action/", {"action": action}, follow=True)

    assert answer.status_code == 200
    assert message in answer.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).status == status


def test_an_action_someone_else_took_first_says_who_and_when():
    """Two responders on one ticket page: the second one's Acknowledge said only "cannot
    acknowledge a ticket that is acknowledged", not who had, as a refused Slack click does."""
    ticket = make_ticket()
    lifecycle.transition(ticket.pk, "acknowledge", Actor.for_user(make_user("raj", "responder")))
    client = client_for("responder", "maria")

    answer = client.post(f"/tickets/{ticket.pk}/action/", {"action": "acknowledge"}, follow=True)

    assert (
        "Not done: cannot acknowledge a ticket that is acknowledged (acknowledged by raj just"
        " now)." in answer.content.decode()
    )
    lifecycle.resolve(ticket.pk, Actor("slack", "ana"))
    answer = client.post(f"/tickets/{ticket.pk}/action/", {"action": "acknowledge"}, follow=True)
    assert "(resolved by ana via Slack just now)." in answer.content.decode()


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"note": "re\x00started"}, "Note: it cannot hold a NUL character"),
        ({"note": "n" * 1001}, "Note: at most 1000 characters (it has 1001)"),
        ({"fix": "f" * 8001}, "What fixed it: at most 8000 characters (it has 8001)"),
        (
            {"action": "", "note": "x\x00"},
            "Action: none chosen; Note: it cannot hold a NUL character",
        ),
    ],
)
def test_an_invalid_field_of_an_action_is_named_not_an_unknown_action(fields, message):
    """A NUL in the note or a note too long was answered "Unknown action." on the ticket page."""
    ticket = make_ticket()
    client = client_for("responder")

    answer = client.post(
        f"/tickets/{ticket.pk}/action/", {"action": "resolve", **fields}, follow=True
    )

    text = answer.content.decode()
    assert f"Not done: {escape(message)}." in text
    assert "Unknown action" not in text
    assert Ticket.objects.get(pk=ticket.pk).status == "open"


def test_a_fix_typed_with_a_note_that_is_refused_is_shown_again():
    ticket = make_ticket()
    client = client_for("responder")

    fields = {"action": "resolve", "note": "n" * 1001, "fix": "Rotated the SQL password"}
    answer = client.post(f"/tickets/{ticket.pk}/action/", fields, follow=True)

    assert 'value="Rotated the SQL password"' in answer.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).status == "open"


@pytest.mark.parametrize(
    "status, offered", [("open", True), ("acknowledged", True), ("resolved", False)]
)
def test_what_fixed_it_is_offered_only_where_resolve_is(status, offered):
    """A resolved ticket offers Reopen alone, which keeps no fix (one typed with it is refused):
    its "What fixed it" box is hidden and sends nothing."""
    ticket = make_ticket(status=status)

    page = client_for("responder").get(f"/tickets/{ticket.pk}/").content.decode()

    field = re.search(r'<input type="text" name="fix"[^>]*>', page)
    assert field is not None
    assert (" hidden disabled" not in field.group(0)) is offered


def test_action_on_unknown_ticket_is_404():
    assert (
        client_for("responder").post("/tickets/NOPE/action/", {"action": "acknowledge"}).status_code
        == 404
    )


def test_only_responders_and_up_are_offered_and_may_ask_for_a_fresh_rca(queued_analyses):
    """The ticket page had no way to ask for a fresh RCA (only the API and admin had one)."""
    ticket = make_ticket()
    rerun = f"/tickets/{ticket.pk}/rerun-rca/"
    viewer = Client(enforce_csrf_checks=True)
    viewer.force_login(make_user("vic", "viewer"))
    assert rerun not in viewer.get(f"/tickets/{ticket.pk}/").content.decode()

    refused = viewer.post(rerun, {"csrfmiddlewaretoken": viewer.cookies["csrftoken"].value})
    assert refused.status_code == 403
    assert not queued_analyses()
    assert not AuditLog.objects.filter(ticket=ticket, action="rca requested").exists()

    for role in ("responder", "admin"):
        client = Client(enforce_csrf_checks=True)
        client.force_login(make_user(f"{role}-rerun", role))
        page = client.get(f"/tickets/{ticket.pk}/").content.decode()
        assert f'action="{rerun}"' in page, role
        assert client.post(rerun).status_code == 403  # no CSRF token: refused
        AuditLog.objects.filter(ticket=ticket, action="rca requested").delete()

        token = client.cookies["csrftoken"].value
        queued = len(queued_analyses())
        answers = [client.post(rerun, {"csrfmiddlewaretoken": token}) for _ in range(2)]

        assert [a.headers["Location"] for a in answers] == [f"/tickets/{ticket.pk}/"] * 2
        assert len(queued_analyses()) == queued + 1, role  # the second is answered by the first
        entries = AuditLog.objects.filter(ticket=ticket, action="rca requested")
        assert [e.actor_name for e in entries] == [f"{role}-rerun"] * 2
        page = client.get(f"/tickets/{ticket.pk}/").content.decode()
        assert "Fresh RCA requested" in page and "under way: it answers this request" in page
        assert 'id="rca-under-way"' in page


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("migration_data")
def test_a_fresh_rca_the_broker_refused_says_not_queued(refusing_broker):
    ticket = make_ticket()

    page = client_for("responder").post(f"/tickets/{ticket.pk}/rerun-rca/", follow=True)

    text = page.content.decode()
    assert "Not queued: the analysis queue is unavailable" in text
    assert 'id="rca-under-way"' not in text
    entry = AuditLog.objects.get(ticket=ticket, action="rca requested")
    assert entry.details == {"not_queued": True}


def test_a_fresh_rca_for_an_unknown_ticket_is_404():
    assert client_for("responder").post("/tickets/NOPE/rerun-rca/").status_code == 404
    assert client_for("responder", "r2").get("/tickets/NOPE/rerun-rca/").status_code == 405


# --- escaping -----------------------------------------------------------------------------------


def test_untrusted_text_is_rendered_as_text():
    ticket = make_ticket(
        pipeline=f"pl_{XSS}",
        error_message=XSS,
        rca_result=f"Root cause {XSS}",
        recommendations=[XSS],
        rca_note=XSS,
        finops_team=XSS,
        links={"run_url": XSS},
        affected_entity={"name": XSS},
    )
    AuditLog.objects.create(
        ticket=ticket,
        actor_kind="jira",
        actor_name=XSS,
        action="jira comment",
        details={"comment": XSS},
        after={"status": XSS},
    )
    client = client_for("viewer")

    for path in ("/", f"/tickets/{ticket.pk}/"):
        html = client.get(path).content.decode()
        assert "<script>alert(1)" not in html
        assert "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in html

    detail = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert (
        '<pre class="error-message">&lt;script&gt;alert(1)&lt;/script&gt;'
        "&lt;img src=x onerror=alert(2)&gt;</pre>" in detail
    )


def test_a_rule_rca_quoting_markup_and_a_windows_path_is_shown_as_it_reads():
    """The rule RCA dropped backslashes, `*`, brackets and braces from what it quoted; it keeps
    them now, and the page shows them as text (escaped for HTML, never markup)."""
    message = (
        "Login failed for user '*bold* [link|http://evil] {code} <http://evil|click> \\\\ line' "
        "reading D:\\exports\\daily\\x.csv."
    )
    rca = build_rule_rca(classify_error(message).error_type, message, pipeline="pl_x")
    ticket = make_ticket(rca_result=rca.root_cause, recommendations=rca.recommendations)

    html = client_for("viewer").get(f"/tickets/{ticket.pk}/").content.decode()

    assert "*bold* [link" in rca.root_cause and "D:\\exports\\daily\\x.csv" in rca.root_cause
    assert f'<p class="rca-text">{escape(rca.root_cause)}</p>' in html
    for recommendation in rca.recommendations:
        assert f"<li>{escape(recommendation)}</li>" in html
    assert '<a href="http://evil' not in html and "<strong>" not in html


def test_json_data_block_cannot_break_out():
    make_ticket(pipeline="</script><script>alert(1)</script>")
    html = client_for("viewer").get("/?q=%3C/script%3E").content.decode()
    block = re.search(r'<script id="live-config" type="application/json">(.*?)</script>', html)
    assert block and "<" not in block.group(1)


def _websocket_url(client: Client, host: str) -> str:
    html = client.get("/", HTTP_HOST=host).content.decode()
    block = re.search(r'<script id="live-config" type="application/json">(.*?)</script>', html)
    assert block, html
    return json.loads(block.group(1))["ws_url"]


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1:8000", "ws://127.0.0.1:8001/ws/tickets/"),
        ("rca.example.org:8000", "ws://rca.example.org:8001/ws/tickets/"),
        ("localhost:8000", "ws://localhost:8001/ws/tickets/"),
        ("[2001:db8::7]:8000", "ws://[2001:db8::7]:8001/ws/tickets/"),
    ],
)
def test_the_websocket_url_make_run_names_is_one_the_pages_browser_reaches(
    settings, host, expected
):
    """`make run` names the loopback address for the websocket, also bound to every interface
    (`RCA_HOST=0.0.0.0`): a browser on another machine would connect to itself, and one that
    opened the page at localhost sends 127.0.0.1 no session cookie (the socket is refused).
    The page's own host takes its place."""
    settings.WEBSOCKET_URL = "ws://127.0.0.1:8001/ws/tickets/"
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "rca.example.org", "[2001:db8::7]"]
    assert _websocket_url(client_for("viewer"), host) == expected


def test_a_page_served_over_https_opens_its_websocket_at_its_own_origin(settings):
    """`make run` behind a TLS terminator: a `ws://` URL from an HTTPS page is mixed content the
    browser refuses; an empty one makes live.js open wss:// at the page's origin."""
    settings.WEBSOCKET_URL = "ws://127.0.0.1:8001/ws/tickets/"
    settings.ALLOWED_HOSTS = ["rca.example.org"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    client = client_for("viewer")
    html = client.get("/", HTTP_HOST="rca.example.org", HTTP_X_FORWARDED_PROTO="https")
    block = re.search(
        r'<script id="live-config" type="application/json">(.*?)</script>', html.content.decode()
    )
    assert block
    assert json.loads(block.group(1))["ws_url"] == ""


def test_a_websocket_url_the_operator_set_elsewhere_is_used_as_it_is(settings):
    settings.WEBSOCKET_URL = "wss://live.example.org/ws/tickets/"
    settings.ALLOWED_HOSTS = ["rca.example.org"]
    assert _websocket_url(client_for("viewer"), "rca.example.org") == settings.WEBSOCKET_URL


# --- charts -------------------------------------------------------------------------------------


def test_charts_page_renders_the_ticket_and_the_incident_charts():
    now = timezone.now()
    make_ticket(error_type="NetworkError")
    make_ticket(error_type="DatabaseError", timestamp=now - timedelta(days=2))
    make_ticket(
        status="acknowledged",
        sla_status="Met",
        ack_ts=now,
        ack_seconds=600,
        timestamp=now - timedelta(minutes=10),
    )
    make_ticket(
        status="acknowledged",
        sla_status="Breached",
        ack_ts=now,
        ack_seconds=7200,
        timestamp=now - timedelta(hours=2),
    )

    answer = client_for("viewer").get("/charts/?days=7")

    assert answer.status_code == 200
    assert answer.headers["Content-Security-Policy"].startswith(CSP)
    html = answer.content.decode()
    # Volume, MTTA trend, SLA; the noise funnel and MTTA/MTTR by team, source and culprit.
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg"') == 7
    assert "style=" not in html  # CSP: no inline styles, colours are SVG attributes
    assert "<rect" in html and "<circle" in html


def test_the_charts_draw_the_number_of_days_asked_for():
    """`?days=8` drew 30 days with the 30 days tab lit."""
    answer = client_for("viewer").get("/charts/?days=8")

    assert answer.status_code == 200
    html = answer.content.decode()
    assert "(UTC): 8 days</p>" in html
    assert 'aria-current="page"' not in html.split('aria-label="Period"')[1].split("</nav>")[0]
    assert answer.context["charts"]["days"] == 8


@pytest.mark.parametrize("days", ["abc", "0", "367", "-3", "1.5", ""])
def test_the_charts_refuse_a_period_they_do_not_draw(days):
    answer = client_for("viewer").get(f"/charts/?days={days}")

    assert answer.status_code == 400
    html = answer.content.decode()
    assert f"Not shown: ?days= takes a whole number of days, 1 to 366, not ?days={days}." in html
    assert "<svg" not in html


def test_the_charts_refusal_echoes_the_asked_period_as_text():
    """The refusal quotes `?days=` from the address: a link someone is sent puts no markup on
    the page."""
    answer = client_for("viewer").get("/charts/", {"days": "<img src=x onerror=alert(1)>"})

    assert answer.status_code == 400
    html = answer.content.decode()
    assert "<img src=x" not in html and "not ?days=&lt;img src=x onerror=alert(1)&gt;." in html


def test_the_charts_take_as_many_days_as_the_stats_api():
    answer = client_for("viewer").get("/charts/?days=366")

    assert answer.status_code == 200
    assert answer.context["charts"]["days"] == 366
    assert answer.context["until"] - answer.context["since"] <= MAX_STATS_PERIOD


def test_the_charts_refuse_a_parameter_they_do_not_take_by_name():
    """`?team=` drew every team's figures as if they were the team's, while the stats API
    refuses it: the page says so (a 400 naming it), and draws nothing."""
    answer = client_for("viewer").get("/charts/?days=7&team=payments&<b>=1")

    assert answer.status_code == 400
    html = answer.content.decode()
    assert (
        "Not shown: the charts take ?days= only (a whole number of days, 1 to 366), not ?team=,"
        " ?&lt;b&gt;=." in html
    )
    assert "<svg" not in html
    assert 'aria-current="page">7 days' in html  # the periods still link to the charts


def test_the_charts_refuse_a_period_given_twice():
    """`?days=7&days=30` drew the last one's 30 days under a link that asked for 7 too; the
    stats API refuses a parameter given twice."""
    answer = client_for("viewer").get("/charts/?days=7&days=30")

    assert answer.status_code == 400
    html = answer.content.decode()
    assert (
        "Not shown: ?days= takes one value (a whole number of days, 1 to 366), given 2 times."
        in html
    )
    assert "<svg" not in html


@pytest.mark.parametrize("action", ["acknowledge", "start_progress"])
def test_a_fix_typed_with_another_action_than_resolve_is_not_dropped_in_silence(action):
    """The fix is kept only when resolving: with Acknowledge or Take the action is not done, a
    message says why, and the form shows the typed text again (once)."""
    ticket = make_ticket(status="open")
    client = client_for("responder")
    url = f"/tickets/{ticket.pk}/action/"

    answer = client.post(url, {"action": action, "fix": "restarted <db>"}, follow=True)

    html = answer.content.decode()
    assert "&quot;What fixed it&quot; is kept only when resolving" in html
    assert 'value="restarted &lt;db&gt;"' in html
    assert Ticket.objects.get(pk=ticket.pk).status == "open"
    assert 'value="restarted' not in client.get(f"/tickets/{ticket.pk}/").content.decode()
    client.post(url, {"action": action, "fix": "  "})
    assert Ticket.objects.get(pk=ticket.pk).status != "open"


def test_a_note_and_fix_typed_with_an_action_another_responder_beat_are_shown_again():
    """A page whose live update had not arrived yet still offered the action: "Not done" was
    right, but the note and what fixed it that were typed with it were gone."""
    ticket = make_ticket(status="open")
    client = client_for("responder")
    url = f"/tickets/{ticket.pk}/action/"
    client_for("responder", username="first").post(url, {"action": "resolve"})

    answer = client.post(
        url,
        {"action": "resolve", "note": "paged the <dba>", "fix": "failed over sql-01"},
        follow=True,
    )

    html = answer.content.decode()
    assert "Not done:" in html
    assert 'value="paged the &lt;dba&gt;"' in html
    assert 'value="failed over sql-01"' in html
    client.post(url, {"action": "reopen"})
    client.post(url, {"action": "start_progress"})
    answer = client.post(url, {"action": "start_progress", "note": "on it"}, follow=True)
    assert "Not done:" in answer.content.decode()
    assert 'value="on it"' in answer.content.decode()
    assert 'value="on it"' not in client.get(f"/tickets/{ticket.pk}/").content.decode()


def test_a_note_kept_from_an_action_not_done_is_kept_redacted():
    """A done action stores its note redacted; the session kept the typed one whole."""
    ticket = make_ticket(status="resolved")
    client = client_for("responder")

    answer = client.post(
        f"/tickets/{ticket.pk}/action/",
        {"action": "resolve", "note": "rotated password=hunter2 on sql-01"},
        follow=True,
    )

    html = answer.content.decode()
    assert "Not done:" in html
    assert 'value="rotated password=[REDACTED] on sql-01"' in html
    assert "hunter2" not in html
    assert not any("hunter2" in str(s.get_decoded()) for s in Session.objects.all())


def test_a_live_read_between_an_action_not_done_and_its_reload_leaves_the_note_for_the_reload():
    """A live event (the other responder's change) makes the open page read its parts again;
    landing between the refused action and its redirect, that read took the kept note, and
    the reloaded page showed none (messages are left for the next page the same way)."""
    ticket = make_ticket(status="open")
    client = client_for("responder")
    url = f"/tickets/{ticket.pk}/action/"
    client_for("responder", username="first").post(url, {"action": "acknowledge"})
    client.post(url, {"action": "acknowledge", "note": "paged the dba"})

    live = client.get(f"/tickets/{ticket.pk}/", headers={"X-Live-Read": "1"})

    assert live.status_code == 200
    assert 'value="paged the dba"' in client.get(f"/tickets/{ticket.pk}/").content.decode()


def test_every_time_the_ticket_page_shows_says_it_is_utc(settings):
    """The page said "Created … UTC" and "due … UTC", but the audit trail, who acknowledged and
    resolved it when, the occurrences, the webhook deliveries and the outbound deliveries
    showed bare times: a responder in another zone read them as local ones."""
    body = json.loads((settings.BASE_DIR / "tests/payloads/adf_failure.json").read_text())
    posted = []
    for run in ("utc-run-1", "utc-run-2"):
        answer = Client().post(
            "/webhooks/adf/",
            data=json.dumps({**body, "run_id": run}),
            content_type="application/json",
            HTTP_X_WEBHOOK_TOKEN=settings.WEBHOOK_TOKEN,
        )
        assert answer.status_code == 202, answer.content
        posted.append(answer.json()["ticket_id"])
    ticket_id = posted[0]
    assert posted == [ticket_id, ticket_id]
    lifecycle.transition(ticket_id, "acknowledge", Actor("dashboard", "maria"))
    lifecycle.resolve(ticket_id, Actor("dashboard", "maria"), fix="Opened the firewall")
    OutboundDelivery.objects.create(
        key=f"{ticket_id}:jira",
        ticket_id=ticket_id,
        target="jira",
        action="jira_create",
        status=OutboundStatus.SUCCEEDED,
        attempts=1,
        completed_at=timezone.now(),
    )

    html = client_for("viewer").get(f"/tickets/{ticket_id}/").content.decode()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    times = re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d(?::\d\d)?(?: UTC)?", text)
    assert len(times) >= 8, times  # created, due, seen, audit entries, facts, deliveries
    assert [t for t in times if not t.endswith(" UTC")] == []
