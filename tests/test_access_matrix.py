"""Who may open what, for every URL outside the REST API (tests/api/test_permissions.py has the
API): anonymous, a wrong credential, viewer, responder and admin.

Pages sign in with a session, so the wrong credential there is a forged session cookie.
Webhooks take a token or a signature, so the wrong credential is a wrong token, and a signed-in
member of staff without the token is refused like anyone else. Staff roles here are `is_staff`
(as an operator sets them up for Django admin); `test_every_url_is_in_a_matrix` fails when a
URL is added without a row here or in the API's matrix, and
`test_every_admin_action_is_in_the_matrix` when an admin action is added without a row in
ADMIN_ACTIONS (who is offered it). A session whose account
was deactivated, whose password changed or whose role was taken away is refused on every page
behind a role and on the API (`test_a_session_that_may_no_longer_read_is_refused_everywhere`).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.db.models import Model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from analysis.models import LlmCall, LlmOutcome, LogAnalysisJob
from integrations.models import (
    DeliveryAttempt,
    OutboundDelivery,
    OutboundStatus,
    Remediation,
    RemediationPolicy,
    SlackIdentity,
    WebhookDelivery,
)
from tests.api import make_ticket
from tickets.models import (
    AuditLog,
    Incident,
    IncidentEvent,
    JiraStatusMapping,
    Occurrence,
    Resolution,
    SlaPolicy,
    Status,
    Ticket,
    new_incident_id,
)

pytestmark = pytest.mark.django_db

ANON, WRONG, VIEWER, RESPONDER, ADMIN = "anonymous", "wrong", "viewer", "responder", "admin"
CALLERS = (ANON, WRONG, VIEWER, RESPONDER, ADMIN)


def expect(anonymous: int, wrong: int, viewer: int, responder: int, admin: int) -> dict:
    return {ANON: anonymous, WRONG: wrong, VIEWER: viewer, RESPONDER: responder, ADMIN: admin}


PAGE = expect(302, 302, 200, 200, 200)  # anonymous → the sign-in page
ANYONE = expect(200, 200, 200, 200, 200)
REFUSED = expect(401, 401, 401, 401, 401)  # webhooks: only the token or signature counts
NOT_FOUND = expect(404, 404, 404, 404, 404)
SIGN_IN = expect(200, 200, 302, 302, 302)  # the signed-in are sent on
STAFF_DENIED = expect(302, 302, 403, 403, 403)  # no role has a permission on it
ADMIN_ONLY = expect(302, 302, 403, 403, 200)

# (method, path, expected status per caller)
SITE = [
    ("get", "/", PAGE),
    ("get", "/login/", SIGN_IN),
    ("post", "/logout/", expect(302, 302, 302, 302, 302)),
    ("get", "/register/", NOT_FOUND),  # self-registration is off unless SELF_REGISTRATION
    ("get", "/tickets/{id}/", PAGE),
    ("post", "/tickets/{id}/action/", expect(302, 302, 403, 302, 302)),
    ("post", "/tickets/{id}/rerun-rca/", expect(302, 302, 403, 302, 302)),
    ("post", "/tickets/{id}/remediation/", expect(302, 302, 403, 302, 302)),
    # {id} is a ticket id here: past the role check, no such incident (an action-less POST
    # is refused with a message before the incident is looked up).
    ("get", "/incidents/{id}/", expect(302, 302, 404, 404, 404)),
    ("get", "/incidents/{id}/live/", expect(302, 302, 404, 404, 404)),
    ("post", "/incidents/{id}/action/", expect(302, 302, 403, 302, 302)),
    ("get", "/charts/", PAGE),
    ("get", "/log-analyses/", PAGE),
    ("post", "/log-analyses/", expect(302, 302, 400, 400, 400)),  # no file: the form again
    # {id} is a ticket id here: past the role check, no such job.
    ("get", "/log-analyses/{id}/", expect(302, 302, 404, 404, 404)),
    ("post", "/log-analyses/{id}/action/", expect(302, 302, 404, 404, 404)),
    ("post", "/tickets/{id}/analyse-log/", expect(302, 302, 302, 302, 302)),  # → the job
    # Passes the role check, then there is no evidence store configured here.
    ("get", "/tickets/{id}/evidence/rca.json", expect(302, 302, 404, 404, 404)),
    ("get", "/healthz", ANYONE),
    ("get", "/healthz/", ANYONE),
    ("get", "/metrics", REFUSED),  # METRICS_TOKEN is set for these tests
    ("post", "/webhooks/azure-monitor/", REFUSED),
    ("post", "/webhooks/adf/", REFUSED),
    ("post", "/webhooks/databricks/", REFUSED),
    ("post", "/webhooks/airflow/", REFUSED),
    ("post", "/webhooks/jira/", REFUSED),
    ("post", "/webhooks/slack/actions/", REFUSED),
    ("post", "/webhooks/remediation/", REFUSED),
    *(
        ("post", f"/webhooks/{name}", REFUSED)  # each without its trailing slash
        for name in (
            "azure-monitor",
            "adf",
            "databricks",
            "airflow",
            "jira",
            "slack/actions",
            "remediation",
        )
    ),
    *(
        ("post", f"/{legacy}{slash}", REFUSED)
        for legacy in (
            "api/remediation-callback",
            "azure-monitor",
            "databricks-monitor",
            "airflow-monitor",
            "jira-webhook",
        )
        for slash in ("", "/")
    ),
    ("get", "/admin/", expect(302, 302, 200, 200, 200)),
    ("get", "/admin/login/", SIGN_IN),
    ("post", "/admin/logout/", expect(302, 302, 302, 302, 302)),
    ("get", "/admin/password_change/", expect(302, 302, 200, 200, 200)),
    ("get", "/admin/password_change/done/", expect(302, 302, 200, 200, 200)),
    ("get", "/admin/jsi18n/", expect(302, 302, 200, 200, 200)),
    ("get", "/admin/autocomplete/", expect(302, 302, 403, 403, 403)),  # no such field
    ("get", "/admin/r/{ticket_type}/{id}/", expect(302, 302, 404, 404, 404)),  # no public URL
    ("get", "/admin/tickets/", expect(302, 302, 200, 200, 200)),
    ("get", "/admin/auth/", expect(302, 302, 404, 404, 404)),  # no role may see users
    ("get", "/admin/analysis/", expect(302, 302, 200, 200, 200)),
    ("get", "/admin/no-such-page/", expect(302, 302, 404, 404, 404)),
    ("get", "/admin/auth/user/{user_id}/password/", STAFF_DENIED),
]

# Per admin model: which of the changelist / change page / add page / delete page each role
# may open. V = viewer and up, R = responder and up, A = admin only, - = nobody (superusers
# only, or nobody at all for models that only the product writes).
ADMIN_MODELS = {
    # model: (view, add, delete)
    "tickets.ticket": ("V", "-", "-"),
    "tickets.auditlog": ("V", "-", "-"),
    "tickets.occurrence": ("V", "-", "-"),
    "tickets.ownershiprule": ("V", "A", "A"),
    "tickets.suppressionrule": ("V", "A", "A"),
    "tickets.slapolicy": ("V", "A", "A"),
    "tickets.jirastatusmapping": ("V", "A", "A"),
    "tickets.resolution": ("V", "-", "-"),
    "tickets.incident": ("V", "-", "-"),
    "integrations.webhookdelivery": ("V", "-", "-"),
    "integrations.outbounddelivery": ("V", "-", "-"),
    # Who may act from Slack for which account: like users and groups, superusers only.
    "integrations.slackidentity": ("-", "-", "-"),
    "integrations.remediation": ("V", "-", "-"),
    "integrations.remediationpolicy": ("V", "A", "A"),
    "analysis.llmcall": ("V", "-", "-"),
    "analysis.loganalysisjob": ("V", "-", "-"),
    "auth.user": ("-", "-", "-"),
    "auth.group": ("-", "-", "-"),
    # The API's refresh tokens (tickets/admin.py): superusers revoke them there.
    "token_blacklist.outstandingtoken": ("-", "-", "-"),
    "token_blacklist.blacklistedtoken": ("-", "-", "-"),
}
WHO = {
    "V": expect(302, 302, 200, 200, 200),
    "R": expect(302, 302, 403, 200, 200),
    "A": ADMIN_ONLY,
    "-": STAFF_DENIED,
}


# Per admin model: the actions of its list ("Action" menu) and who is offered each (V, R, A as
# above; S = superusers only). Django runs only an action it offers the caller, so one posted
# by a role it is not offered to changes nothing (test_viewers_act_on_nothing_from_admin).
# `delete_selected` is Django's: the rules offer it to admins, the records only the service
# writes (tickets, incidents, audit, occurrences, resolutions, inbox, outbound deliveries,
# remediations) to nobody, superusers included (test_superusers_delete_no_record_of_the_service).
TICKET_ACTIONS = ("acknowledge", "take", "resolve", "reopen", "rerun_rca")
ADMIN_ACTIONS: dict[str, dict[str, str]] = {
    "tickets.ticket": {
        **dict.fromkeys(TICKET_ACTIONS, "R"),
        "retry_failed_deliveries": "R",
        "reroute": "R",
    },
    "tickets.incident": dict.fromkeys(("acknowledge", "take", "reopen", "resolve"), "R"),
    "tickets.resolution": {"mark_wrong": "R"},
    "integrations.outbounddelivery": {"retry_dead_letters": "R"},
    "integrations.remediation": {"approve": "R", "decline": "R", "retry": "R"},
    "token_blacklist.outstandingtoken": {"revoke": "S"},
    **{
        model: {"delete_selected": "A"}
        for model in (
            "tickets.ownershiprule",
            "tickets.suppressionrule",
            "tickets.slapolicy",
            "tickets.jirastatusmapping",
            "integrations.remediationpolicy",
        )
    },
    **{
        model: {"delete_selected": "S"}
        for model in (
            "integrations.slackidentity",
            "analysis.llmcall",
            "analysis.loganalysisjob",
            "auth.user",
            "auth.group",
            "token_blacklist.blacklistedtoken",
        )
    },
}
OFFERED_TO = {
    "V": (VIEWER, RESPONDER, ADMIN, "superuser"),
    "R": (RESPONDER, ADMIN, "superuser"),
    "A": (ADMIN, "superuser"),
    "S": ("superuser",),
}


@pytest.fixture
def world(migration_data, settings):
    settings.METRICS_TOKEN = "metrics-" + uuid.uuid4().hex
    ticket = make_ticket(status=Status.OPEN)
    users = {}
    for role in (VIEWER, RESPONDER, ADMIN):
        user = User.objects.create_user(f"{role}-{uuid.uuid4().hex[:6]}", is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        users[role] = user
    objects = {
        "tickets.ticket": ticket,
        "tickets.incident": Incident.objects.create(
            id=new_incident_id(), group_key="sql-server:db1", culprit="sql-server:db1"
        ),
        "tickets.auditlog": AuditLog.objects.create(
            ticket=ticket, action="created", actor_kind="system"
        ),
        "tickets.occurrence": Occurrence.objects.create(
            ticket=ticket, key=uuid.uuid4().hex, outcome="created"
        ),
        "tickets.slapolicy": SlaPolicy.objects.first(),
        "tickets.jirastatusmapping": JiraStatusMapping.objects.first(),
        "tickets.resolution": Resolution.objects.create(
            ticket=ticket, fix="Restarted it", resolved_by="bob", actor_kind="user", fingerprint="f"
        ),
        "integrations.outbounddelivery": dead_letter(ticket),
        "integrations.remediation": Remediation.objects.create(
            ticket=ticket, run_key=ticket.run_id, action="playbook", status="skipped"
        ),
        "integrations.remediationpolicy": RemediationPolicy.objects.first(),
        "analysis.llmcall": LlmCall.objects.create(
            ticket=ticket, model="gemini", outcome=LlmOutcome.OK
        ),
        "integrations.slackidentity": SlackIdentity.objects.create(
            slack_user_id="U0MATRIX01", user=users[RESPONDER]
        ),
        "auth.user": users[VIEWER],
        "auth.group": Group.objects.get(name=VIEWER),
    }
    return ticket, users, objects


def dead_letter(ticket: Ticket) -> OutboundDelivery:
    return OutboundDelivery.objects.create(
        key=f"jira:create:{ticket.pk}",
        ticket=ticket,
        target="jira",
        action="jira_create",
        status=OutboundStatus.DEAD,
        attempts=8,
        last_error="HTTP 500",
    )


@pytest.mark.parametrize("role, retried", [(VIEWER, False), (RESPONDER, True), (ADMIN, True)])
def test_responders_retry_dead_letters_from_admin(world, role, retried):
    _, users, objects = world
    row = objects["integrations.outbounddelivery"]
    client = client_for(role, users)
    client.post(
        "/admin/integrations/outbounddelivery/",
        {"action": "retry_dead_letters", "_selected_action": [row.pk]},
    )
    row.refresh_from_db()
    assert (row.status == OutboundStatus.PENDING) is retried


@pytest.mark.parametrize("model", sorted(ADMIN_MODELS))
def test_admin_action_matrix(world, model):
    """Each list's actions, as Django offers them to each role: what it checks again when an
    action is posted."""
    from django.test import RequestFactory

    _, users, _ = world
    model_admin = next(
        admin_
        for model_class, admin_ in admin.site._registry.items()
        if f"{model_class._meta.app_label}.{model_class._meta.model_name}" == model
    )
    callers = {**users, "superuser": User.objects.create_superuser("root-" + uuid.uuid4().hex[:6])}
    expected = ADMIN_ACTIONS.get(model, {})
    for caller, user in callers.items():
        request = RequestFactory().get(f"/admin/{model.replace('.', '/')}/")
        request.user = user
        offered = set(model_admin.get_actions(request))
        wanted = {name for name, who in expected.items() if caller in OFFERED_TO[who]}
        assert offered == wanted, (caller, model)


def test_viewers_act_on_nothing_from_admin(world):
    """A viewer who posts a responder's action (the menu does not offer it) changes nothing;
    a responder's same post acknowledges the ticket."""
    ticket, users, objects = world
    resolution = objects["tickets.resolution"]
    for model, action, pk in (
        ("tickets/ticket", "acknowledge", ticket.pk),
        ("tickets/incident", "acknowledge", objects["tickets.incident"].pk),
        ("tickets/resolution", "mark_wrong", resolution.pk),
    ):
        answer = client_for(VIEWER, users).post(
            f"/admin/{model}/", {"action": action, "_selected_action": [pk]}
        )
        assert answer.status_code in (200, 302), (model, answer.status_code)
    ticket.refresh_from_db()
    resolution.refresh_from_db()
    assert ticket.status == Status.OPEN and resolution.marked_wrong_at is None
    assert Incident.objects.get().status == "open"
    client_for(RESPONDER, users).post(
        "/admin/tickets/ticket/", {"action": "acknowledge", "_selected_action": [ticket.pk]}
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.ACKNOWLEDGED


# The records only the service writes: nobody deletes them from admin, superusers included.
KEPT_RECORDS = (
    "tickets.ticket",
    "tickets.incident",
    "tickets.auditlog",
    "tickets.occurrence",
    "tickets.resolution",
    "integrations.webhookdelivery",
    "integrations.outbounddelivery",
    "integrations.remediation",
)


def test_superusers_delete_no_record_of_the_service(world):
    """Neither "Delete selected" nor an object's delete page deletes a ticket, an incident, an
    audit entry, an occurrence, a resolution, an inbox row, an outbound delivery or a
    remediation, nor so what hangs on them (a delivery's attempts, an incident's timeline)."""
    ticket, _, objects = world
    objects = {
        **objects,
        "integrations.webhookdelivery": WebhookDelivery.objects.create(
            source="adf", raw_body="{}", status="processed", ticket=ticket
        ),
    }
    incident = objects["tickets.incident"]
    IncidentEvent.objects.create(incident=incident, kind="member", ticket=ticket)
    DeliveryAttempt.objects.create(
        outbound=objects["integrations.outbounddelivery"], outcome="transient_error"
    )
    kept: list[type[Model]] = [IncidentEvent, DeliveryAttempt]
    kept += [apps.get_model(model) for model in KEPT_RECORDS]
    before = {model: model._default_manager.count() for model in kept}
    client = Client()
    client.force_login(User.objects.create_superuser("root-" + uuid.uuid4().hex[:6]))
    for model in KEPT_RECORDS:
        base = f"/admin/{model.replace('.', '/')}/"
        pk = objects[model].pk
        assert client.get(f"{base}{pk}/delete/").status_code == 403, model
        assert client.post(f"{base}{pk}/delete/", {"post": "yes"}).status_code == 403, model
        client.post(base, {"action": "delete_selected", "_selected_action": [pk], "post": "yes"})
    assert {model: model._default_manager.count() for model in kept} == before


# Records the service writes that a superuser may still delete, but not add nor edit.
WRITTEN_BY_THE_SERVICE = ("analysis.llmcall", "analysis.loganalysisjob")


def test_superusers_add_and_edit_no_record_of_the_service(world):
    """A superuser's add page of an occurrence, an inbox row, an outbound delivery, an LLM call
    or a log analysis offered Save, and a click stored an empty row (an inbox row of no source,
    a log analysis of no source left queued); an LLM call's and a log analysis's own page
    offered Save too. Now there is no add page (403), and no Save on a record's page."""
    _, _, objects = world
    objects = {
        **objects,
        "analysis.loganalysisjob": LogAnalysisJob.objects.create(
            source=LogAnalysisJob.Source.UPLOAD
        ),
    }
    models = [apps.get_model(model) for model in (*KEPT_RECORDS, *WRITTEN_BY_THE_SERVICE)]
    before = {model: model._default_manager.count() for model in models}
    client = Client()
    client.force_login(User.objects.create_superuser("root-" + uuid.uuid4().hex[:6]))
    for model in (*KEPT_RECORDS, *WRITTEN_BY_THE_SERVICE):
        base = f"/admin/{model.replace('.', '/')}/"
        assert client.get(f"{base}add/").status_code == 403, model
        assert client.post(f"{base}add/", {"_save": "Save"}).status_code == 403, model
        listed = client.get(base).content.decode()
        assert f'href="{base}add/"' not in listed, model
    for model in WRITTEN_BY_THE_SERVICE:
        base = f"/admin/{model.replace('.', '/')}/"
        page = client.get(f"{base}{objects[model].pk}/change/")
        assert page.status_code == 200, model
        assert 'name="_save"' not in page.content.decode(), model
    assert {model: model._default_manager.count() for model in models} == before


def test_every_admin_action_is_in_the_matrix():
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = User(is_superuser=True, is_staff=True, is_active=True)
    for model_class, model_admin in admin.site._registry.items():
        model = f"{model_class._meta.app_label}.{model_class._meta.model_name}"
        assert set(model_admin.get_actions(request)) == set(ADMIN_ACTIONS.get(model, {})), model


# Pages behind a role, as a signed-in user without one, and as a session that may no longer
# sign in (the account deactivated, its password changed: Django drops that session).
ROLE_PAGES = [
    (method, path)
    for method, path, expected in SITE
    if expected[ANON] == 302
    and expected[VIEWER] != 302
    and not path.startswith(("/admin/", "/logout/"))
] + [("post", "/tickets/{id}/analyse-log/"), ("get", "/api/v1/tickets/")]


def _end_session(how: str, user: User) -> None:
    if how == "deactivated":
        User.objects.filter(pk=user.pk).update(is_active=False)
    elif how == "password changed":
        user.set_password("a new password " + uuid.uuid4().hex)
        user.save()
    else:  # the role taken away
        user.groups.clear()


@pytest.mark.parametrize("how", ["deactivated", "password changed", "no role"])
def test_a_session_that_may_no_longer_read_is_refused_everywhere(world, how):
    ticket, _, _ = world
    user = User.objects.create_user(f"leaver-{uuid.uuid4().hex[:6]}", is_staff=True)
    user.groups.add(Group.objects.get(name=ADMIN))
    client = Client()
    client.force_login(user)
    _end_session(how, user)
    for method, path in ROLE_PAGES:
        url = path.format(id=ticket.pk)
        answer = call(client, VIEWER, method, url)
        if url.startswith("/api/"):
            assert answer.status_code == (403 if how == "no role" else 401), (how, url)
        elif how == "no role":
            assert answer.status_code == 403, (how, url)
        else:
            assert answer.status_code == 302, (how, url)
            assert "login" in answer.headers["Location"], (how, url)
    if how != "no role":  # staff who may no longer sign in are sent to admin's sign-in
        answer = client.get("/admin/tickets/ticket/")
        assert answer.status_code == 302 and "login" in answer.headers["Location"]


def client_for(caller: str, users: dict[str, User]) -> Client:
    client = Client()
    if caller == WRONG:
        client.cookies["sessionid"] = "forged" + uuid.uuid4().hex
    elif caller != ANON:
        client.force_login(users[caller])
    return client


def call(client: Client, caller: str, method: str, path: str):
    headers: dict[str, Any] = {}  # WSGI environ entries, passed through the client's **extra
    if caller == WRONG:
        headers = {
            "HTTP_X_WEBHOOK_TOKEN": "wrong",
            "HTTP_AUTHORIZATION": "Bearer wrong",
            "HTTP_X_SLACK_SIGNATURE": "v0=" + "0" * 64,
            "HTTP_X_SLACK_REQUEST_TIMESTAMP": "1",
        }
    if method == "post":
        return client.post(path, data=b"{}", content_type="application/json", **headers)
    return client.get(path, **headers)


@pytest.mark.parametrize("method, path, expected", SITE, ids=[f"{m} {p}" for m, p, _ in SITE])
def test_site_matrix(world, method, path, expected):
    ticket, users, _ = world
    from django.contrib.contenttypes.models import ContentType

    url = path.format(
        id=ticket.pk,
        user_id=users[VIEWER].pk,
        ticket_type=ContentType.objects.get_for_model(ticket).pk,
    )
    got = {}
    for caller in CALLERS:
        response = call(client_for(caller, users), caller, method, url)
        got[caller] = response.status_code
        if method == "get" and response.status_code == 302 and caller in (ANON, WRONG):
            assert "login" in response.headers["Location"], (caller, response.headers["Location"])
    assert got == expected


@pytest.mark.parametrize("model", sorted(ADMIN_MODELS))
def test_admin_model_matrix(world, model):
    _, users, objects = world
    view, add, delete = ADMIN_MODELS[model]
    base = f"/admin/{model.replace('.', '/')}/"
    pages = {"changelist": (base, view), "add": (f"{base}add/", add)}
    instance = objects.get(model)
    if instance is not None:
        pages["change"] = (f"{base}{instance.pk}/change/", view)
        pages["history"] = (f"{base}{instance.pk}/history/", view)
        pages["delete"] = (f"{base}{instance.pk}/delete/", delete)
    for page, (url, who) in pages.items():
        got = {c: call(client_for(c, users), c, "get", url).status_code for c in CALLERS}
        assert got == WHO[who], (page, url)


def test_every_admin_model_is_in_the_matrix():
    registered = {f"{m._meta.app_label}.{m._meta.model_name}" for m in admin.site._registry}
    assert registered == set(ADMIN_MODELS)


def test_readiness_needs_no_credential_and_tells_everyone_the_same(world):
    _, users, _ = world
    answers = {caller: client_for(caller, users).get("/readyz") for caller in CALLERS}
    statuses = {answer.status_code for answer in answers.values()}
    assert len(statuses) == 1 and statuses <= {200, 503}, statuses
    assert len({answer.content for answer in answers.values()}) == 1


def test_metrics_answers_its_token(world, settings):
    answer = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {settings.METRICS_TOKEN}")
    assert answer.status_code == 200


def _routes(resolver: URLResolver, prefix: str = "") -> list[str]:
    routes = []
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            routes += _routes(entry, route)
        elif isinstance(entry, URLPattern):
            routes.append(route)
    return routes


def _matches(route: str, path: str) -> bool:
    """Whether a URL route (path converters or a regex, as the resolver lists it) takes `path`."""
    pattern = re.sub(r"(?<!\[)\^|\$", "", route)  # the anchors, not a class's negation
    pattern = re.sub(r"(?<!\?P)<(?:\w+:)?\w+>", "[^/]+", pattern)
    return re.fullmatch(pattern, path.lstrip("/")) is not None


def test_every_url_is_in_a_matrix():
    from tests.api.test_permissions import MATRIX as API_MATRIX

    covered = [path.format(id="X", user_id="1", ticket_type="1") for _, path, _ in SITE]
    covered += [
        path.format(id="X", tracking_id="T", resolution_id="1") for _, path, _, _ in API_MATRIX
    ]
    covered.append("/readyz")
    models = tuple(f"admin/{model.replace('.', '/')}/" for model in ADMIN_MODELS)
    missing = [
        route
        for route in _routes(get_resolver())
        if not route.startswith(models) and not any(_matches(route, path) for path in covered)
    ]
    assert not missing
