"""The dashboard: login, the live board, ticket detail with its actions, and the charts.

Views parse the request and call services (`tickets.lifecycle`, `tickets.stats`,
`analysis.similar`); every page carries a strict Content-Security-Policy (no inline script or
style: the JS and CSS are static files, data travels in `<script type="application/json">`).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import NON_FIELD_ERRORS
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.http.request import split_domain_port
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import defaults
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from kombu.exceptions import KombuError

from analysis.redaction import redact
from analysis.services import rca_request_under_way
from analysis.similar import similar_tickets
from analysis.tasks import request_fresh_rca
from integrations import remediation, targets
from integrations.models import (
    OutboundDelivery,
    Remediation,
    RemediationStatus,
    WebhookDelivery,
)
from integrations.syncback import last_incident_status_change, last_status_change
from integrations.targets.base import safe_url
from integrations.targets.jira import jira_url
from tickets import incidents, lifecycle, registration, rollup, services
from tickets.dashboard.charts import build_charts, build_incident_charts
from tickets.dashboard.forms import (
    ACTIONS,
    ActionForm,
    BoardFilterForm,
    RegistrationForm,
    RemediationDecisionForm,
    TransitionForm,
)
from tickets.lifecycle import TRANSITIONS, Actor, TransitionError
from tickets.login_throttle import ThrottledAuthenticationForm
from tickets.models import (
    SLA_RUNNING,
    TITLE_FIELDS,
    Incident,
    Occurrence,
    OwnershipRule,
    Status,
    Ticket,
    TicketQuerySet,
    severity_rank_expression,
    ticket_title,
)
from tickets.presenters import (
    CARD_FIELDS,
    action_words,
    change_words,
    incident_card,
    incident_members,
    incident_sla_clocks,
    incident_teams,
    incidents_awaiting_approval,
    issue_url,
    ticket_card,
)
from tickets.resolutions import previous_fixes
from tickets.roles import RESPONDER, VIEWER, AuthenticatedHttpRequest, has_role, role_of
from tickets.stats import daily_series, incident_stats
from tickets.vocabulary import Source

logger = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "connect-src 'self' ws: wss:",
        "img-src 'self' data:",
        "style-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
COLUMN_LIMIT = 200
# A column counts its tickets up to this many and shows more as "1,000+": counting them all read
# every ticket of its status (a scan of the table at 100,000 tickets), for every board load.
COUNT_LIMIT = 1000
COLUMNS = (
    (Status.OPEN, "Open"),
    (Status.IN_PROGRESS, "In progress"),
    (Status.ACKNOWLEDGED, "Acknowledged"),
    (Status.RESOLVED, "Resolved"),
)
STATUS_LABELS = {str(status): label for status, label in COLUMNS}
# The Resolved column shows the tickets resolved this recently, latest first.
RESOLVED_ON_BOARD = timedelta(days=7)
AUDIT_LIMIT = 300
OUTBOUND_LIMIT = 100
TEAM_WINDOW = timedelta(days=90)
TEAMS_OFFERED = 200  # of recent tickets, and as many of the ownership rules
CHART_RANGES = (7, 14, 30, 90)  # the period tabs; ?days= takes any of 1..MAX_CHART_DAYS
# The stats API's longest period (`MAX_STATS_PERIOD`, 366 days): the same bound on both.
MAX_CHART_DAYS = 366
CHART_PARAMETERS = ("days",)  # the charts page's only query parameter
ACTION_LABELS = dict(ACTIONS)

_Response = TypeVar("_Response", bound=HttpResponseBase)


def with_csp(view: Callable[..., _Response]) -> Callable[..., _Response]:
    """Add the dashboard's Content-Security-Policy to the view's responses."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> _Response:
        response = view(request, *args, **kwargs)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response

    return wrapped


def role_required(
    role: str,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Anonymous → the login page (after a form posted, back to the form's page); signed in
    without the role → 403 naming the role needed
    (`needed_role` in the page's context, whose `role` is the user's own: the top bar's badge).
    live.js's session check (a HEAD with the live-read header) is answered here, 204, without
    building the page: it only asks whether the browser is still signed in."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                if request.method not in ("GET", "HEAD"):
                    return _sign_in_back_to_the_form(request)
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, role):
                return render(
                    request,
                    "403.html",
                    _page_context(
                        request,
                        exception=f"You need the {role} role for this.",
                        needed_role=role,
                    ),
                    status=403,
                )
            if request.method == "HEAD" and request.headers.get(LIVE_READ_HEADER) == "1":
                return HttpResponse(status=204)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


SIGNED_OUT_NOT_DONE = "You were signed out, so nothing was done. Sign in, then do it again."


def _sign_in_back_to_the_form(request: HttpRequest) -> HttpResponse:
    """A form posted after its session ended (expired, or signed out in another tab): signing
    in leads back to the page the form was on (its same-site Referer's path, else the board)
    and says nothing was done. Sent on to the form's own address, a POST-only one, the browser
    got a bare 405 once signed in."""

    def same_site(url: str) -> bool:
        return url_has_allowed_host_and_scheme(
            url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )

    back = request.headers.get("Referer", "")
    path = reverse("dashboard")
    if same_site(back):
        parts = urlsplit(back)
        # Its path checked too: `http://this-host//evil.example/` is this host's address,
        # and its path, `//evil.example/`, another host's.
        if same_site(parts.path) and parts.path.startswith("/"):
            path = parts.path + (f"?{parts.query}" if parts.query else "")
    messages.warning(request, SIGNED_OUT_NOT_DONE)
    return redirect_to_login(path)


# The header of a page's read of its own live parts (live.js `partsReader`): that read shows
# no messages, so it leaves them for the page the browser loads next (a message an action left
# for its redirect would be taken by a live read landing between the two).
LIVE_READ_HEADER = "X-Live-Read"


def _page_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    return {
        "live_read": request.headers.get(LIVE_READ_HEADER) == "1",
        "role": role_of(request.user),
        "can_act": has_role(request.user, RESPONDER),
        "self_registration": settings.SELF_REGISTRATION,
        **extra,
    }


# A fix is kept only when resolving: one typed with another action is not dropped in silence;
# the action is not done, and the page shows the text again (kept in the session until then).
FIX_ONLY_WITH_RESOLVE = (
    'Not done: "What fixed it" is kept only when resolving. Resolve, or clear it and try again.'
)
DRAFT_FIELDS = ("note", "fix")
REMEDIATION_DRAFT = "remediation"


def _draft_key(kind: str, pk: str) -> str:
    return f"dashboard-action-draft:{kind}:{pk}"


def _keep_draft(request: HttpRequest, kind: str, pk: str, form: ActionForm) -> None:
    """The note and fix typed with an action that was not done are shown again (not lost);
    a field that was itself refused is not. Kept redacted, as a done action stores them."""
    draft = {
        field: redact(form.cleaned_data[field])
        for field in DRAFT_FIELDS
        if field not in form.errors and str(form.cleaned_data.get(field, "")).strip()
    }
    if draft:
        request.session[_draft_key(kind, pk)] = draft


def _refuse_fix_without_resolve(
    request: HttpRequest, kind: str, pk: str, form: TransitionForm
) -> None:
    messages.error(request, FIX_ONLY_WITH_RESOLVE)
    _keep_draft(request, kind, pk, form)


def _refuse_invalid(
    request: HttpRequest, kind: str, pk: str, form: TransitionForm, problems: str
) -> None:
    messages.error(request, f"Not done: {problems}.")
    _keep_draft(request, kind, pk, form)


def _refuse_transition(
    request: HttpRequest, kind: str, pk: str, form: TransitionForm, error: TransitionError
) -> None:
    """A refusal says who changed the ticket's (or incident's) status last, and when: "Not
    done: cannot acknowledge a ticket that is acknowledged (acknowledged by raj just now)."
    (someone acted first, from another tab, Slack or JIRA)."""
    last = last_status_change(pk) if kind == "ticket" else last_incident_status_change(pk)
    messages.error(request, f"Not done: {error}{last}.")
    _keep_draft(request, kind, pk, form)


def _draft(request: HttpRequest, kind: str, pk: str) -> dict[str, str]:
    """What was typed with an action that was not done, once (the page shows it again). A live
    read leaves it for the page loaded next, as it leaves messages (`LIVE_READ_HEADER`)."""
    if request.headers.get(LIVE_READ_HEADER) == "1":
        kept = request.session.get(_draft_key(kind, pk), {})
    else:
        kept = request.session.pop(_draft_key(kind, pk), {})
    return {field: str(kept.get(field, "")) for field in DRAFT_FIELDS}


def _refuse_decision(request: HttpRequest, ticket_id: str, form: ActionForm, why: str) -> None:
    """A remediation's Approve / Decline / Retry not done: its note is kept as an action's is."""
    messages.error(request, f"Not done: {why}.")
    _keep_draft(request, REMEDIATION_DRAFT, ticket_id, form)


_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _websocket_url(request: HttpRequest) -> str:
    """WEBSOCKET_URL as this page's browser reaches it. `make run` names the loopback address
    (also when it binds every interface): a browser elsewhere would connect to its own machine,
    and one here that opened the page at another name (localhost, the machine's address) sends
    the socket no session cookie. A loopback host is therefore replaced by the one the page
    was requested at (port and path kept). A page served over HTTPS (a TLS terminator in front of
    `make run`) gets none: the browser would refuse a `ws://` socket from it, so it opens `wss://`
    at the page's own origin, where the terminator routes `/ws/` to daphne."""
    configured = settings.WEBSOCKET_URL
    parts = urlsplit(configured)
    if (parts.hostname or "") not in _LOOPBACK_HOSTS:
        return configured
    if request.is_secure():
        return ""
    host, _ = split_domain_port(request.get_host())  # an IPv6 one keeps its brackets
    if not host or host.strip("[]") == parts.hostname:
        return configured
    netloc = f"{host}:{parts.port}" if parts.port else host
    return parts._replace(netloc=netloc).geturl()


def _live_config(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    return {
        "ws_path": "/ws/tickets/",
        "ws_url": _websocket_url(request),
        "server_time": timezone.now().isoformat(),
        "ticket_url": reverse("dashboard-ticket", args=["__id__"]),
        "login_url": reverse("login"),
        **extra,
    }


def duration_text(seconds: float) -> str:
    """Compact duration: `45s`, `12m`, `3h 05m`, `2d 4h`."""
    seconds = int(abs(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def sla_state(card: dict[str, Any]) -> str:
    """ok / warn / breached while the SLA clock runs (open, in progress); met / late once it
    stopped (acknowledged, resolved: the ticket's sla_status says which); none without an SLA
    (no deadline while it runs; still Pending once it stopped: a quiet Service Health notice,
    `lifecycle.runs_sla_clock`)."""
    never_ran = card["sla_status"] == "Pending" and not card.get("sla_deadline")
    if card["status"] not in SLA_RUNNING and not never_ran:
        return "late" if card["sla_status"] == "Breached" else "met"
    remaining = card.get("sla_remaining_seconds")
    if remaining is None:
        return "none"
    if remaining < 0:
        return "breached"
    return "warn" if remaining < 600 else "ok"


def sla_text(card: dict[str, Any]) -> str:
    """What the SLA countdown shows before the JS takes over (the JS ticks every second)."""
    state = sla_state(card)
    if state in ("met", "late"):
        return f"SLA {card['sla_status']}"
    if state == "none":
        return "No SLA"
    remaining = card["sla_remaining_seconds"]
    if state == "breached":
        return f"Breached {duration_text(remaining)} ago"
    return f"{duration_text(remaining)} left"


def display_card(ticket: Ticket) -> dict[str, Any]:
    """The websocket card plus the texts the template shows before the JS ticks."""
    card = ticket_card(ticket)
    card["age"] = duration_text((timezone.now() - ticket.timestamp).total_seconds())
    card["sla_text"] = sla_text(card)
    card["sla_state"] = sla_state(card)
    return card


def display_sla(clock: dict[str, Any] | None) -> dict[str, Any] | None:
    """An incident's SLA clock (`incident_sla_clocks`) plus the texts the template shows before
    the JS ticks, as a ticket card's."""
    if clock is None:
        return None
    deadline = clock["sla_deadline"]
    due = f"{datetime.fromisoformat(deadline):%Y-%m-%d %H:%M} UTC" if deadline else ""
    return {**clock, "sla_text": sla_text(clock), "sla_state": sla_state(clock), "due": due}


# Error pages get the same policy as the pages they stand in for.
page_not_found = with_csp(defaults.page_not_found)
server_error = with_csp(defaults.server_error)


# --- accounts ---------------------------------------------------------------------------------


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True
    form_class = ThrottledAuthenticationForm

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, "locked_out"):
            response.status_code = 429
        return response

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["self_registration"] = settings.SELF_REGISTRATION
        context["no_accounts"] = registration.no_account_exists()
        return context


login_view = with_csp(LoginView.as_view())
logout_view = with_csp(auth_views.LogoutView.as_view())


@with_csp
@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    """Self-registration, only when SELF_REGISTRATION is on. Accounts start inactive with the
    viewer role; an admin activates them in Django admin. Rate-limited per address, and a taken
    username is answered as a new one (`tickets.registration`)."""
    if not settings.SELF_REGISTRATION:
        raise Http404("Self-registration is disabled.")
    if request.user.is_authenticated:
        return redirect("dashboard")
    if request.method != "POST":
        return render(request, "registration/register.html", {"form": RegistrationForm()})
    if not registration.count_request(request):
        asked = {name: request.POST.get(name, "") for name in ("username", "email")}
        context = {"form": RegistrationForm(initial=asked), "refusal": registration.RATE_LIMITED}
        return render(request, "registration/register.html", context, status=429)
    form = RegistrationForm(request.POST)
    answer = registration.request_account(form)
    if not isinstance(answer, str):
        return render(request, "registration/register.html", {"form": answer})
    return render(request, "registration/register_done.html", {"username": answer})


# --- board --------------------------------------------------------------------------------------


def _teams() -> list[str]:
    """Teams of the tickets of the last TEAM_WINDOW (whole UTC days, from the stats rollup:
    a row per day and team, where the tickets' own column was read ticket by ticket, 27-119 ms
    at 100,000) and of the enabled ownership rules: a team set up today is offered before its
    first failure."""
    first_day = (timezone.now() - TEAM_WINDOW).astimezone(UTC).date()
    recent = rollup.values_since("finops_team", first_day, TEAMS_OFFERED)
    routed = (
        OwnershipRule.objects.filter(enabled=True)
        .order_by()
        .values_list("finops_team", flat=True)
        .distinct()[:TEAMS_OFFERED]
    )
    return sorted({*recent, *routed})


@with_csp
@require_safe
@role_required(VIEWER)
def board(request: HttpRequest) -> HttpResponse:
    form = BoardFilterForm(request.GET or None, teams=_teams())
    problems = form.problems()
    if problems:
        # The tickets a filter did not select must not pass for those it did: say what is
        # wrong, keep what was typed, and show no board until the filters are fixed.
        context = _page_context(request, form=form, filter_problems=problems, filters={})
        return render(request, "dashboard/board.html", context, status=400)
    # A member of an incident is shown in its incident's card, not on its own.
    tickets = form.apply(Ticket.objects.only(*CARD_FIELDS)).filter(incident__isnull=True)
    shown_incidents = _board_incidents(form)
    columns: list[dict[str, Any]] = []
    for status, label in COLUMNS:
        in_column = cast(TicketQuerySet, tickets.filter(status=status)).by_urgency_in_status(status)
        if status == Status.RESOLVED:
            in_column = _recently_resolved(tickets)
        cards = [display_card(t) for t in in_column[:COLUMN_LIMIT]]
        total = len(cards) if len(cards) < COLUMN_LIMIT else _count_up_to_limit(in_column)
        incidents_here = _incidents_in_column(shown_incidents, status)
        capped = total > COUNT_LIMIT
        counted = min(total, COUNT_LIMIT) + len(incidents_here)
        columns.append(
            {
                "status": status,
                "label": label,
                "cards": cards,
                "incidents": incidents_here,
                "total": f"{counted:,}+" if capped else str(counted),
                "capped": capped,
                "more": total > len(cards),  # it counts tickets it does not show
            }
        )
    members = incident_members([card["id"] for c in columns for card in c["incidents"]])
    teams = incident_teams({card["id"]: card["team"] for c in columns for card in c["incidents"]})
    awaiting = incidents_awaiting_approval(list(teams))
    clocks = incident_sla_clocks(list(teams))
    for column in columns:
        for card in column["incidents"]:
            card["team"] = teams[card["id"]]
            card["awaiting_approval"] = awaiting[card["id"]]
            card["sla"] = display_sla(clocks[card["id"]])
            card["members"] = [
                {**member, "status_label": STATUS_LABELS.get(member["status"], member["status"])}
                for member in members[card["id"]]
            ]
            card["more_members"] = max(0, card["member_count"] - len(card["members"]))
    filters = form.filters()
    return render(
        request,
        "dashboard/board.html",
        _page_context(
            request,
            form=form,
            columns=columns,
            filters=filters,
            live_config=_live_config(
                request,
                page="board",
                filters=filters,
                limit=COLUMN_LIMIT,
                resolved_window_seconds=int(RESOLVED_ON_BOARD.total_seconds()),
                incident_url=reverse("dashboard-incident", args=["__id__"]),
            ),
        ),
    )


def _count_up_to_limit(in_column: QuerySet[Ticket]) -> int:
    """The column's tickets counted up to COUNT_LIMIT + 1 (more than COUNT_LIMIT: capped), in
    any order: the read stops there, however many tickets the status holds."""
    return in_column.order_by()[: COUNT_LIMIT + 1].count()


def _recently_resolved(tickets: QuerySet[Ticket]) -> TicketQuerySet:
    """The Resolved column: resolved within RESOLVED_ON_BOARD, the latest first."""
    since = timezone.now() - RESOLVED_ON_BOARD
    recent = tickets.filter(status=Status.RESOLVED, resolved_at__gte=since)
    return cast(TicketQuerySet, recent.order_by("-resolved_at"))


def _board_incidents(form: BoardFilterForm) -> QuerySet[Incident]:
    """The incidents the board shows: not merged away, with members; with filters, those
    with a member that matches them, or whose own id or JIRA key the search names (the page
    and the issue on-call was sent name the incident, not a member) and with a member that
    matches the other filters."""
    shown = Incident.objects.filter(merged_into__isnull=True, member_count__gt=0)
    filters = form.filters()
    if filters:
        members = Ticket.objects.filter(incident_id=OuterRef("pk"))
        matched = Q(Exists(form.apply(members)))
        if "q" in filters:
            named = Q(id__icontains=filters["q"]) | Q(itsm_ticket_id__iexact=filters["q"])
            matched |= named & Q(Exists(form.apply(members, search=False)))
        shown = shown.filter(matched)
    return shown


def _incidents_in_column(shown: QuerySet[Incident], status: str) -> list[dict[str, Any]]:
    """A column's incident cards (their members are added after): worst severity first, then
    the latest to grow. Resolved ones: those changed within RESOLVED_ON_BOARD whose last member
    failed within TEAM_WINDOW (the bound keeps the read on `incident_status_recent` short however
    many incidents were resolved before)."""
    in_column = shown.filter(status=status)
    if status == Status.RESOLVED:
        now = timezone.now()
        in_column = in_column.filter(
            last_member_at__gte=now - TEAM_WINDOW, updated_at__gte=now - RESOLVED_ON_BOARD
        )
    ordered = in_column.order_by(severity_rank_expression(), "-last_member_at", "id")
    return [display_incident(incident) for incident in ordered[:COLUMN_LIMIT]]


def display_incident(incident: Incident) -> dict[str, Any]:
    """The websocket's incident card plus the texts the template shows before the JS ticks."""
    card = incident_card(incident, [])
    card["age"] = duration_text((timezone.now() - incident.first_seen).total_seconds())
    card["status_label"] = STATUS_LABELS.get(incident.status, incident.status)
    return card


# --- ticket detail ------------------------------------------------------------------------------


def _links(ticket: Ticket) -> list[dict[str, str]]:
    links = []
    if ticket.itsm_ticket_id:
        links.append(
            {
                "label": "JIRA",
                "text": ticket.itsm_ticket_id,
                "url": safe_url(jira_url(ticket.itsm_ticket_id)),
            }
        )
    if ticket.slack_channel or ticket.slack_ts:
        text = ticket.slack_channel + (f" · ts {ticket.slack_ts}" if ticket.slack_ts else "")
        links.append({"label": "Slack", "text": text, "url": safe_url(ticket.slack_permalink)})
    if ticket.blob_log_url:
        links.append(
            {
                "label": "Evidence",
                "text": ticket.blob_log_url,
                "url": safe_url(ticket.blob_log_url),
            }
        )
    for name, value in sorted((ticket.links or {}).items()):
        if isinstance(value, str) and value:
            label = str(name).replace("_", " ").capitalize()
            links.append({"label": label, "text": value, "url": safe_url(value)})
    return links


def _changes(entry: Any) -> list[dict[str, Any]]:
    keys = list(dict.fromkeys([*(entry.before or {}), *(entry.after or {})]))
    return [
        {
            "field": key,
            "before": _text((entry.before or {}).get(key)),
            "after": _text((entry.after or {}).get(key)),
        }
        for key in keys
    ]


def _text(value: Any) -> str | None:
    """An audited value as the trail shows it; None (shown "—") when it was unset or empty."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, ensure_ascii=False)


_BLANK: tuple[object, ...] = ("", None, [], {})


def _without_blanks(value: Any) -> Any:
    """The value with its blank entries ("", None, empty lists and objects) left out, at every
    depth (a sender's unset `"airflow_base_url": ""` says nothing about the entity)."""
    if isinstance(value, dict):
        kept = {key: _without_blanks(item) for key, item in value.items()}
        return {key: item for key, item in kept.items() if item not in _BLANK}
    if isinstance(value, list):
        return [item for item in map(_without_blanks, value) if item not in _BLANK]
    return value


def _affected_entity_text(entity: Any) -> str:
    """The affected entity as the ticket page shows it (JSON); "" when nothing in it is set."""
    shown = _without_blanks(entity)
    if shown in _BLANK:
        return ""
    return json.dumps(shown, indent=2, ensure_ascii=False, default=str)


def _latest_try_text(ticket: Ticket) -> str:
    """An Airflow ticket's latest failed try as its details name it: "3 (failed)"; "" for
    another source or when no try is known."""
    details = ticket.details or {}
    number = details.get("try_number")
    if ticket.source != Source.AIRFLOW or number in (None, ""):
        return ""
    state = details.get("state")
    return f"{number} ({state})" if state else str(number)


def _similar(ticket: Ticket) -> list[dict[str, Any]]:
    try:
        found = similar_tickets(ticket)
    except Exception:  # the page must not fail because the vector search did
        logger.warning("similar-ticket search failed for %s", ticket.pk, exc_info=True)
        return []
    return [{"ticket": other, "similarity": round(similarity * 100)} for other, similarity in found]


@with_csp
@require_safe
@role_required(VIEWER)
def ticket_detail(request: HttpRequest, ticket_id: str) -> HttpResponse:
    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is None:
        return _ticket_not_found(request, ticket_id)
    # The most recent AUDIT_LIMIT entries, oldest first (a noisy ticket can have thousands).
    latest = ticket.audit_entries.select_related("user").order_by("-created_at", "-id")
    audit = [
        {
            "entry": entry,
            "action": action_words(entry.action),
            "changes": _changes(entry),
            "details": [(str(k), _text(v)) for k, v in (entry.details or {}).items()],
        }
        for entry in list(latest[:AUDIT_LIMIT])[::-1]
    ]
    audit_total = len(audit) if len(audit) < AUDIT_LIMIT else ticket.audit_entries.count()
    occurrences = list(
        Occurrence.objects.deliveries_of_failure(ticket.pk).order_by("-seen_at")[:100]
    )
    deliveries = list(
        WebhookDelivery.objects.filter(ticket=ticket)
        .defer("raw_body", "event")
        .order_by("-received_at")[:50]
    )
    # The most recent OUTBOUND_LIMIT deliveries, oldest first, as the audit trail.
    latest_outbound = OutboundDelivery.objects.filter(ticket=ticket).order_by("-created_at", "-id")
    outbound = [
        (row, targets.action_label(row.target, row.action))
        for row in list(latest_outbound[:OUTBOUND_LIMIT])[::-1]
    ]
    outbound_total = len(outbound) if len(outbound) < OUTBOUND_LIMIT else latest_outbound.count()
    card = display_card(ticket)
    available = {action: ticket.status in TRANSITIONS[action][0] for action, _ in ACTIONS}
    rca_under_way = rca_request_under_way(ticket)
    retryable = remediation.retryable(ticket)
    shown_remediations = list(
        Remediation.objects.filter(ticket=ticket).select_related("policy")[:10]
    )
    return render(
        request,
        "dashboard/ticket_detail.html",
        _page_context(
            request,
            ticket=ticket,
            draft=_draft(request, "ticket", ticket.pk),
            card=card,
            audit=audit,
            audit_total=audit_total,
            occurrences=occurrences,
            deliveries=deliveries,
            outbound=outbound,
            outbound_total=outbound_total,
            similar=_similar(ticket),
            previous_fixes=previous_fixes(ticket),
            resolve_duration=duration_text(ticket.resolve_seconds)
            if ticket.resolve_seconds is not None
            else "",
            remediations=shown_remediations,
            remediation_draft=_remediation_draft(request, ticket.pk, shown_remediations, retryable),
            retryable=retryable,
            retry_target=_retry_words(retryable, ticket) if retryable is not None else "",
            retry_refused=remediation.retry_refused(ticket),
            remediation_label=_remediation_label(ticket.remediation_status),
            approval_refused=remediation.approval_refused(ticket),
            can_resolve=available["resolve"],
            links=_links(ticket),
            confidence_pct=round(ticket.confidence * 100)
            if ticket.confidence is not None
            else None,
            affected_entity=_affected_entity_text(ticket.affected_entity),
            latest_try=_latest_try_text(ticket),
            ack_duration=duration_text(ticket.ack_seconds)
            if ticket.ack_seconds is not None
            else "",
            rca_under_way=rca_under_way,
            actions=[
                {"action": action, "label": label, "available": available[action]}
                for action, label in ACTIONS
            ],
            live_config=_live_config(
                request,
                page="ticket",
                ticket_id=ticket.pk,
                rca_under_way=rca_under_way,
                transitions={
                    action: sorted(str(s) for s in TRANSITIONS[action][0]) for action, _ in ACTIONS
                },
            ),
        ),
    )


def _ticket_not_found(request: HttpRequest, ticket_id: str) -> HttpResponse:
    """The 404 page; for a ticket folded into another (`services.settle_fingerprint`,
    `services.settle_run`) it names that one, with a link, as the API's 404 does."""
    into = services.folded_into(ticket_id)
    if into is None:
        raise Http404("No such ticket.")
    return render(
        request,
        "dashboard/ticket_folded.html",
        {"ticket_id": ticket_id, "into": into},
        status=404,
    )


@with_csp
@require_POST
@role_required(RESPONDER)
def ticket_action(request: AuthenticatedHttpRequest, ticket_id: str) -> HttpResponse:
    """Acknowledge / take / resolve (with what fixed it) / reopen, through the lifecycle
    (checked and audited there)."""
    if not Ticket.objects.filter(pk=ticket_id).exists():
        raise Http404("No such ticket.")
    form = TransitionForm(request.POST)
    problems = form.problems()
    if problems:
        _refuse_invalid(request, "ticket", ticket_id, form, problems)
        return redirect("dashboard-ticket", ticket_id=ticket_id)
    action = form.cleaned_data["action"]
    if action != "resolve" and form.cleaned_data["fix"].strip():
        _refuse_fix_without_resolve(request, "ticket", ticket_id, form)
        return redirect("dashboard-ticket", ticket_id=ticket_id)
    try:
        if action == "resolve":
            lifecycle.resolve(
                ticket_id,
                Actor.for_user(request.user, via="dashboard"),
                note=form.cleaned_data["note"],
                fix=form.cleaned_data["fix"],
            )
        else:
            lifecycle.transition(
                ticket_id,
                action,
                Actor.for_user(request.user, via="dashboard"),
                note=form.cleaned_data["note"],
            )
    except TransitionError as exc:
        _refuse_transition(request, "ticket", ticket_id, form, exc)
    else:
        messages.success(request, f"{ACTION_LABELS[action]}: done.")
    return redirect("dashboard-ticket", ticket_id=ticket_id)


RCA_QUEUED = "Fresh RCA requested: it shows here once a worker has analysed the failure."
RCA_ALREADY_QUEUED = "A fresh RCA asked for earlier is under way: it answers this request too."
# The page's script takes these messages away once the fresh RCA is shown (ticket.js).
RCA_REQUESTED_TAG = "rca-requested"


@with_csp
@require_POST
@role_required(RESPONDER)
def ticket_rerun_rca(request: AuthenticatedHttpRequest, ticket_id: str) -> HttpResponse:
    """Ask for a fresh RCA (analysis.tasks.request_fresh_rca audits and queues it), as the
    API's `rerun-rca` does."""
    try:
        queued = request_fresh_rca(ticket_id, Actor.for_user(request.user, via="dashboard"))
    except Ticket.DoesNotExist as exc:
        raise Http404("No such ticket.") from exc
    except KombuError:  # the request is audited, not queued
        logger.warning("fresh RCA of %s not queued: the broker refused it", ticket_id)
        messages.error(
            request, "Not queued: the analysis queue is unavailable; ask again in a few minutes."
        )
    else:
        if queued:
            messages.success(request, RCA_QUEUED, extra_tags=RCA_REQUESTED_TAG)
        else:
            messages.info(request, RCA_ALREADY_QUEUED, extra_tags=RCA_REQUESTED_TAG)
    return redirect("dashboard-ticket", ticket_id=ticket_id)


# --- incidents ----------------------------------------------------------------------------------

INCIDENT_ACTIONS = (
    ("acknowledge", "Acknowledge all"),
    ("start_progress", "Take all"),
    ("resolve", "Resolve"),
    ("reopen", "Reopen"),
)
INCIDENT_TIMELINE_LIMIT = 500


def _incident_live_parts(incident: Incident) -> dict[str, Any]:
    """What the incident page shows that changes while it is open: its head (status, counts),
    the actions its status allows, its shared cause once analysed, its first members and its
    timeline. Its rule-based cause before that is the full page's alone: it reads every member,
    too much for each live read in a storm (the live read leaves the page's as it is).

    The shared cause is analysed again only once the incident has grown INCIDENT_RCA_GROWTH-fold
    (analysis/services.py `analyse_incident`), so its counts can be behind the members': the
    page says how many members it covered and when it is analysed next."""
    limit = settings.INCIDENT_INLINE_MEMBERS
    # Both read `incident_id`: the related manager checks it on every row it gives (a query per
    # row when deferred).
    members = list(
        incident.members.order_by("timestamp").only(
            "id",
            "incident_id",
            *TITLE_FIELDS,
            "status",
            "source",
            "timestamp",
            "resolved_at_source_at",
        )[:limit]
    )
    events = list(
        incident.events.only(
            "at", "kind", "incident_id", "ticket_id", "actor_kind", "actor_name", "details"
        ).order_by("at", "id")[:INCIDENT_TIMELINE_LIMIT]
    )
    # Each entry names its member "pl_orders (id)" by its title ("vm-cpu-high on vm-web-03
    # (id)"), as the incident's Slack thread, JIRA comments and status line do (the last
    # member's resolve named its id alone).
    named = Ticket.objects.filter(pk__in={e.ticket_id for e in events if e.ticket_id})
    names = {
        pk: (pipeline, ticket_title(pipeline, *rest))
        for pk, pipeline, *rest in named.values_list("id", *TITLE_FIELDS)
    }
    timeline = [
        {
            "event": event,
            "words": change_words(event.kind, event.actor_kind, event.actor_name),
            "title": names.get(event.ticket_id or "", ("", ""))[1],
            "why": _why_without_member(event.details.get("why", ""), names, event.ticket_id),
        }
        for event in events
    ]
    actions = [
        (action, label)
        for action, label in INCIDENT_ACTIONS
        if incident.status in TRANSITIONS[action][0] and not incident.merged_into_id
    ]
    behind = 0 < incident.rca_members < incident.member_count
    return {
        "incident": incident,
        "sla": display_sla(incident_sla_clocks([incident.pk])[incident.pk]),
        "cause": incident.rca_result,
        "analysed_members": incident.rca_members if behind else None,
        "next_analysis_members": _next_analysis_members(incident) if behind else None,
        "members": members,
        "more_members": max(0, incident.member_count - len(members)),
        "timeline": timeline,
        "actions": actions,
        "can_resolve": "resolve" in dict(actions),
        "jira_url": issue_url(incident.itsm_ticket_id),
        "slack_url": safe_url(incident.slack_permalink),
    }


def _why_without_member(why: str, names: dict[str, tuple[str, str]], ticket_id: str | None) -> str:
    """A timeline entry's reason without the "pl_orders (id) " its entry names already (a
    regression's "pl_orders (id) failed again" reads "failed again"). `names`: each member's
    pipeline and title; a reason written before titles named the pipeline alone."""
    if not ticket_id:
        return why
    for name in names.get(ticket_id, ("", ""))[::-1]:
        why = why.removeprefix(f"{name} ({ticket_id}) ")
    return why


def _next_analysis_members(incident: Incident) -> int | None:
    """At how many members the shared cause is analysed next (`analyse_incident`), while the
    incident can still grow to it: members join one that is not merged, resolved or recovered.
    None as well once it has that many (the analysis is due or under way)."""
    if incident.merged_into_id or incident.recovered_at or incident.status == Status.RESOLVED:
        return None
    at = math.ceil(incident.rca_members * settings.INCIDENT_RCA_GROWTH)
    return at if at > incident.member_count else None


@with_csp
@require_safe
@role_required(VIEWER)
def incident_detail(request: HttpRequest, incident_id: str) -> HttpResponse:
    incident = get_object_or_404(Incident, pk=incident_id)
    parts = _incident_live_parts(incident)
    parts["cause"] = parts["cause"] or incidents.shared_cause(incident)
    return render(
        request,
        "dashboard/incident_detail.html",
        _page_context(
            request,
            **parts,
            draft=_draft(request, "incident", incident.pk),
            live_config=_live_config(
                request,
                page="incident",
                incident_id=incident.pk,
                live_url=reverse("dashboard-incident-live", args=[incident.pk]),
            ),
        ),
    )


@with_csp
@require_safe
@role_required(VIEWER)
def incident_live(request: HttpRequest, incident_id: str) -> HttpResponse:
    """The incident page's changing parts alone (`data-live-part`), which the page reads again
    after a change of the incident or of a member, and after a reconnect (incident.js)."""
    incident = get_object_or_404(Incident, pk=incident_id)
    return render(
        request,
        "dashboard/incident_live.html",
        _page_context(request, **_incident_live_parts(incident)),
    )


@with_csp
@require_POST
@role_required(RESPONDER)
def incident_action(request: AuthenticatedHttpRequest, incident_id: str) -> HttpResponse:
    """Act once for every member (tickets/incidents.py checks and audits it)."""
    form = TransitionForm(request.POST)
    problems = form.problems()
    if problems:
        _refuse_invalid(request, "incident", incident_id, form, problems)
        return redirect("dashboard-incident", incident_id=incident_id)
    action = form.cleaned_data["action"]
    note, fix = form.cleaned_data["note"], form.cleaned_data["fix"]
    if action != "resolve" and fix.strip():
        _refuse_fix_without_resolve(request, "incident", incident_id, form)
        return redirect("dashboard-incident", incident_id=incident_id)
    try:
        incidents.act(
            incident_id,
            action,
            Actor.for_user(request.user, via="dashboard"),
            note=note,
            fix=fix if action == "resolve" else "",
            via="dashboard",
        )
    except Incident.DoesNotExist as exc:
        raise Http404("No such incident.") from exc
    except TransitionError as exc:
        _refuse_transition(request, "incident", incident_id, form, exc)
    else:
        messages.success(request, f"{dict(INCIDENT_ACTIONS)[action]}: done.")
    return redirect("dashboard-incident", incident_id=incident_id)


@with_csp
@require_POST
@role_required(RESPONDER)
def ticket_remediation(request: AuthenticatedHttpRequest, ticket_id: str) -> HttpResponse:
    """Approve or decline the ticket's pending remediation, or retry its failed last attempt
    (audited with who and when, and the note given with it)."""
    if not Ticket.objects.filter(pk=ticket_id).exists():
        raise Http404("No such ticket.")
    form = RemediationDecisionForm(request.POST)
    problems = form.problems()
    if problems:
        _refuse_decision(request, ticket_id, form, problems)
        return redirect("dashboard-ticket", ticket_id=ticket_id)
    decision, note = form.cleaned_data["decision"], form.cleaned_data["note"]
    pending = remediation.awaiting_for(ticket_id)
    # The form names the remediation the page showed: one that expired or was decided since
    # (and another proposed in its place) is not decided by a click on the older page.
    shown = request.POST.get("remediation", "")
    if decision == "retry":
        _retry_shown(request, ticket_id, shown, form)
    elif shown and (pending is None or shown != str(pending.pk)):
        earlier = remediation.named(ticket_id, shown)
        state = earlier.get_status_display().lower() if earlier else "not this ticket's"
        _refuse_decision(
            request, ticket_id, form, f"the remediation shown is {state}; reload the page"
        )
    elif pending is None:
        _refuse_decision(request, ticket_id, form, "no remediation awaits approval")
    else:
        actor = Actor.for_user(request.user, via="dashboard")
        try:
            if decision == "approve":
                decided = remediation.approve(pending.pk, actor, via="dashboard", note=note)
            else:
                decided = remediation.decline(pending.pk, actor, via="dashboard", note=note)
        except remediation.RemediationError as exc:
            _refuse_decision(request, ticket_id, form, str(exc))
        else:
            if decided.dry_run:
                messages.warning(request, f"Nothing was run: {decided.reason}.")
            else:
                messages.success(request, f"Remediation {decision}d.")
    return redirect("dashboard-ticket", ticket_id=ticket_id)


def _remediation_draft(
    request: HttpRequest,
    ticket_id: str,
    shown: list[Remediation],
    retryable: Remediation | None,
) -> dict[str, str]:
    """The note typed with a remediation decision that was not done, once: in the note field
    of the decision the page offers now ("decide" or "retry"), else ("") shown as text, so
    that it can be copied where it belongs (the remediation was decided by someone else)."""
    note = _draft(request, REMEDIATION_DRAFT, ticket_id)["note"]
    if not note:
        return {"note": "", "form": ""}
    form = ""
    if has_role(request.user, RESPONDER):
        if any(r.status == RemediationStatus.AWAITING_APPROVAL for r in shown):
            form = "decide"
        elif retryable is not None and any(r.pk == retryable.pk for r in shown):
            form = "retry"
    return {"note": note, "form": form}


def _remediation_label(status: str) -> str:
    """The ticket's `remediation_status` in words ("Awaiting approval"; the marker
    `resolved_at_source` as "Resolved at source")."""
    labels = dict(RemediationStatus.choices)
    return str(labels.get(status, status.replace("_", " ").capitalize()))


def _retry_words(last: Remediation, ticket: Ticket) -> str:
    """What a Retry of `last` runs: its action again, on the ticket's latest failed run
    (`remediation.retry`), which need not be the run `last` acted on."""
    return (
        f"attempt {last.attempt_number} ({last.get_action_display()}) "
        f"on run {remediation.run_key(ticket)}"
    )


def _retry_shown(
    request: AuthenticatedHttpRequest, ticket_id: str, shown: str, form: ActionForm
) -> None:
    """Retry the remediation the page showed, while it is still the one to retry (`to_retry`)."""
    ticket = Ticket.objects.defer("embedding").get(pk=ticket_id)
    last = remediation.to_retry(ticket)
    if last is None or shown != str(last.pk):
        earlier = remediation.named(ticket_id, shown)
        was = f"attempt {earlier.attempt_number}" if earlier else "the remediation shown"
        target = remediation.retryable(ticket)
        now = (
            f"a Retry reruns {_retry_words(target, ticket)} now"
            if target is not None
            else "no remediation of the ticket can be retried now"
        )
        _refuse_decision(
            request, ticket_id, form, f"{was} is not the one to retry; {now}; reload the page"
        )
        return
    actor = Actor.for_user(request.user, via="dashboard")
    try:
        again = remediation.retry(last.pk, actor, via="dashboard", note=form.cleaned_data["note"])
    except remediation.RemediationError as exc:
        _refuse_decision(request, ticket_id, form, str(exc))
    else:
        if again.dry_run:
            messages.warning(request, f"Nothing was run: {again.reason}.")
        else:
            messages.success(request, "Remediation retried.")


# --- charts -------------------------------------------------------------------------------------


def _chart_days(value: str) -> int | None:
    """The period `?days=` names, or None when it is no whole number in 1..MAX_CHART_DAYS."""
    if not (value.isascii() and value.isdecimal()) or len(value) > 4:
        return None
    return int(value) if 1 <= int(value) <= MAX_CHART_DAYS else None


@with_csp
@require_safe
@role_required(VIEWER)
def charts(request: HttpRequest) -> HttpResponse:
    days = _chart_days(request.GET.get("days", "30"))
    until = timezone.now()
    context: dict[str, Any] = {"days": days, "ranges": CHART_RANGES, "charts": None}
    # `?team=` drew every team's figures as if they were the team's, and a `?days=` off the tabs
    # drew 30 days: as the stats API, the page refuses (400) a parameter it does not take, by
    # name, a `?days=` given twice (the last one was drawn), and a `?days=` that is no whole
    # number from 1 to the API's longest period, and draws nothing.
    unknown = [name for name in request.GET if name not in CHART_PARAMETERS]
    repeated = len(request.GET.getlist("days"))
    if unknown or repeated > 1 or days is None:
        taken = f"a whole number of days, 1 to {MAX_CHART_DAYS}"
        if unknown:
            named = ", ".join(f"?{name[:40]}=" for name in unknown[:5])
            refused = f"the charts take ?days= only ({taken}), not {named}"
        elif repeated > 1:
            refused = f"?days= takes one value ({taken}), given {repeated} times"
        else:
            refused = f"?days= takes {taken}, not ?days={request.GET['days'][:40]}"
        context["unavailable"] = f"Not shown: {refused}."
        return render(
            request, "dashboard/charts.html", _page_context(request, **context), status=400
        )
    since = (until - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    context["charts"] = build_charts(daily_series(since, until))
    context["incident_charts"] = build_incident_charts(incident_stats(since, until))
    context.update(since=since, until=until)
    return render(request, "dashboard/charts.html", _page_context(request, **context))
