"""The on-call triage desk in Django admin.

Tickets are read-only here: every state change goes through the lifecycle actions (audited,
followed by JIRA and Slack). Viewers read, responders act (change permission), admins edit the
ownership, SLA and suppression rules.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, timedelta
from functools import cached_property
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import EmptyPage, Page, Paginator
from django.db import connection
from django.db.models import Exists, Max, Min, OuterRef, Q, QuerySet
from django.db.models.fields.json import KeyTransform
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from kombu.exceptions import KombuError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from analysis.tasks import request_fresh_rca
from integrations import fanout
from integrations.models import OutboundDelivery, Remediation
from integrations.parsers.azure_monitor import EVENT_TITLE, alert_event_title
from tickets import incidents, jira_status, lifecycle, resolutions, rollup, rules
from tickets.lifecycle import Actor, TransitionError
from tickets.login_throttle import ThrottledAdminAuthenticationForm
from tickets.models import (
    CALLBACK_OUTCOMES,
    CLAIMED_OUTCOME,
    URGENCY_ORDERING,
    AuditLog,
    Incident,
    IncidentEvent,
    JiraStatusMapping,
    Occurrence,
    OwnershipRule,
    Resolution,
    SlaPolicy,
    SuppressionRule,
    Ticket,
    TicketQuerySet,
)
from tickets.services import FOLDED_ALERT
from tickets.vocabulary import Outcome, SlaStatus, Source, choices

# The admin's sign-in counts failures with the dashboard's and the API's.
admin.site.login_form = ThrottledAdminAuthenticationForm
# On a fresh installation it says how the first account is made, as the dashboard's does.
admin.site.login_template = "admin/sign_in.html"

EMPTY = "-"
LIST_DEFERRED = (
    "embedding",
    "error_message",
    "rca_result",
    "details",
    "affected_entity",
    "latest_run",
    "links",
)

logger = logging.getLogger(__name__)


# A table with at least this many rows (by PostgreSQL's estimate) is not counted row by row
# for an unfiltered admin list (a count of 50,000 tickets takes about 10 ms).
ESTIMATED_FROM = 50_000


class EstimatedCountPaginator(Paginator):
    """An admin list's pages, its unfiltered rows counted from PostgreSQL's estimate of its
    table's size (`pg_class.reltuples`, kept by autovacuum and ANALYZE) once that is at least
    ESTIMATED_FROM: COUNT(*) read every row (0.1-0.2 s at a million outbound deliveries, 16-29
    ms at 100,000 tickets) on each load of the list. The list then says "about". A filtered or
    searched list, or a table that small or never analysed, is counted exactly.

    The estimate is as old as the table's last ANALYZE (autovacuum's comes once about a tenth
    of the rows changed, by default), so there may be more rows than estimated: the pages
    from the estimate's last on are read whole and
    the page after one with more rows is linked (Django's paginator cut that page at the
    estimate and refused the ones after it, so the oldest rows could not be paged to)."""

    estimated = False
    # The page after the last one read past the estimate, when it has rows.
    next_past_estimate: int | None = None

    @cached_property
    def count(self) -> int:
        rows = self.object_list
        if isinstance(rows, QuerySet) and not rows.query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
                    [connection.ops.quote_name(rows.model._meta.db_table)],
                )
                row = cursor.fetchone()
            if row is not None and row[0] >= ESTIMATED_FROM:
                self.estimated = True
                return int(row[0])
        return super().count

    def validate_number(self, number: Any) -> int:
        try:
            return super().validate_number(number)
        except EmptyPage:
            if self.estimated and int(number) > self.num_pages:
                return int(number)
            raise

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        if not self.estimated or number < self.num_pages:
            return super().page(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        if len(rows) > self.per_page:
            self.next_past_estimate = number + 1
        return Page(rows[: self.per_page], number, self)

    def get_elided_page_range(
        self, number: Any = 1, *, on_each_side: int = 3, on_ends: int = 2
    ) -> Iterator[str | int]:
        number = self.validate_number(number)
        yield from super().get_elided_page_range(
            min(number, self.num_pages), on_each_side=on_each_side, on_ends=on_ends
        )
        if number > self.num_pages + 1:
            yield str(self.ELLIPSIS)
        if number > self.num_pages:
            yield number
        if self.next_past_estimate == number + 1:
            yield number + 1


# The ticket list's filters on a dimension the stats rollup counts: their parameter and the
# dimension (the SLA filter's `overdue` is a time test, not a stored value).
ROLLUP_FILTERS = {
    "status__exact": "status",
    "severity__exact": "severity",
    "source": "source",
    "error_type__exact": "error_type",
    "finops_team": "finops_team",
    "sla": "sla_status",
}
# Parameters that page or order the list without changing which tickets it holds.
_PAGING = {"p", "o"}


def rollup_filter(query: dict[str, list[str]]) -> tuple[str, str] | None:
    """The (dimension, value) of a ticket list filtered by one stored value of a dimension the
    rollup counts and nothing else (no search, no date, no second filter); else None."""
    filters = [name for name in query if name not in _PAGING]
    if len(filters) != 1 or filters[0] not in ROLLUP_FILTERS or len(query[filters[0]]) != 1:
        return None
    value = query[filters[0]][0]
    if not value or (filters[0] == "sla" and value not in {s.value for s in SlaStatus}):
        return None
    return ROLLUP_FILTERS[filters[0]], value


class RollupCountedPaginator(EstimatedCountPaginator):
    """The ticket list's pages, a list filtered by one counted dimension (`rollup_filter`)
    counted from the stats rollup, exactly: COUNT(*) read every ticket of the value (a fifth
    of them or more: 17-144 ms at 100,000 tickets, each load of the filtered list)."""

    counted_by: tuple[str, str] | None = None

    @cached_property
    def count(self) -> int:
        if self.counted_by is not None:
            return rollup.tickets_holding(*self.counted_by)
        return super().count


class ReadOnlyPageAdmin(admin.ModelAdmin):
    """Records only the product writes (here and in integrations/admin.py): their page is for
    reading. It shows no Save buttons and refuses a POST (Django's view-only page), while the
    list's actions, which ask for the change permission without an object (acknowledge,
    retry, ...), still work for the roles that have it. Nobody adds one, superusers included:
    no add page (403), whose Save stored an empty row (an occurrence of no ticket, an inbox
    row of no source). Nobody deletes them, superusers included: no "Delete selected" action
    and no delete page (403), since a deletion would take the history with it (a ticket's
    audit trail, resolutions, deliveries and remediations, an incident's timeline)."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None:
            return False
        return super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# The rows of a ticket's history its page shows: a flaky pipeline's ticket gathers thousands
# of audit entries and deliveries, and a page rendering them all took a minute at 20,000 each.
HISTORY_SHOWN = 100


class LatestHistoryInline(admin.TabularInline):
    """A ticket's most recent HISTORY_SHOWN rows, oldest first (`TicketAdmin
    .get_formset_kwargs`); their lists (searched by the ticket's id) have the rest."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def latest(self, queryset: QuerySet, ticket: Ticket) -> QuerySet:
        newest = queryset.filter(ticket=ticket).order_by("-created_at", "-id")
        return queryset.filter(pk__in=newest.values("pk")[:HISTORY_SHOWN])


class AuditLogInline(LatestHistoryInline):
    model = AuditLog
    fields = ("created_at", "actor_kind", "actor_name", "action", "before", "after", "details")
    readonly_fields = fields
    verbose_name_plural = f"audit log (the latest {HISTORY_SHOWN} entries)"


class RemediationInline(admin.TabularInline):
    """The ticket's remediations; approve or decline a pending one from the Remediation list
    (its admin actions), where the decision is audited."""

    model = Remediation
    extra = 0
    can_delete = False
    show_change_link = True
    fields = (
        "action",
        "attempt_number",
        "status",
        "reason",
        "expires_at",
        "decided_by",
        "decided_at",
        "finished_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class OutboundInline(LatestHistoryInline):
    model = OutboundDelivery
    fields = ("target", "action", "status_shown", "attempts", "last_error", "completed_at")
    readonly_fields = fields
    verbose_name_plural = f"deliveries to JIRA, Slack and Blob (the latest {HISTORY_SHOWN})"

    @admin.display(description="status")
    def status_shown(self, delivery: OutboundDelivery) -> str:
        """With why a skipped one was left out."""
        return delivery.status_words()


def _is_changelist(request) -> bool:
    match = request.resolver_match
    return bool(match and match.url_name and match.url_name.endswith("changelist"))


class SlaFilter(admin.SimpleListFilter):
    title = "SLA"
    parameter_name = "sla"

    def lookups(self, request, model_admin):
        return [
            ("overdue", "Overdue now"),
            ("Pending", "Pending"),
            ("Met", "Met"),
            ("Breached", "Breached"),
        ]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        if self.value() == "overdue":
            # A filter of TicketAdmin: its queryset comes from `Ticket.objects`.
            return cast(TicketQuerySet, queryset).sla_overdue(timezone.now())
        if self.value():
            return queryset.filter(sla_status=self.value())
        return queryset


class SourceFilter(admin.SimpleListFilter):
    """The sources there are webhooks for: Django's filter of the field's values read every
    ticket for its distinct ones (27-122 ms at 100,000 tickets, each load of the list)."""

    title = parameter_name = "source"

    def lookups(self, request, model_admin) -> list[tuple[str, str]]:
        return choices(Source)

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        return queryset.filter(source=self.value()) if self.value() else queryset


# The most teams the ticket list's team filter offers.
TEAMS_LISTED = 500


class TeamFilter(admin.SimpleListFilter):
    """The teams tickets hold, from the stats rollup (a row per day and team): Django's filter
    of the field's values read every ticket for its distinct ones (33-118 ms at 100,000
    tickets, each load of the list)."""

    title = "finops team"
    parameter_name = "finops_team"

    def lookups(self, request, model_admin) -> list[tuple[str, str]]:
        return [(team, team) for team in rollup.values_since("finops_team", date.min, TEAMS_LISTED)]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        return queryset.filter(finops_team=self.value()) if self.value() else queryset


_NEXT_PERIOD = {
    "year": lambda start: start.replace(year=start.year + 1),
    "month": lambda start: (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    ),
    "day": lambda start: start + timedelta(days=1),
}


class TicketListQuerySet(TicketQuerySet):
    """The admin ticket list's rows. The years, months and days its date hierarchy offers are
    found by probing the `timestamp` index once per period from the first ticket's to the
    last's (twelve probes for a year's months), not by truncating the date of every ticket and
    keeping the distinct ones (48-108 ms at 100,000 tickets, each load of the list)."""

    # The list's first and last `timestamp`, once read (`aggregate`).
    _timestamp_bounds: dict[str, Any] | None = None

    def aggregate(self, *args, **kwargs):
        """The first and last `timestamp` of these tickets are read once per queryset: Django's
        date hierarchy reads them (`cl.queryset.aggregate`), then asks this same queryset for
        its periods (`datetimes`, which starts from them): the same statement twice, each an
        index-only scan of every entry of the stats index when the list is filtered by a column
        no index has in its key (`?rca_source__exact=`: 14-52 ms each at 100,000 tickets)."""
        if args or kwargs != {"first": Min("timestamp"), "last": Max("timestamp")}:
            return super().aggregate(*args, **kwargs)
        if self._timestamp_bounds is None:
            self._timestamp_bounds = super().aggregate(*args, **kwargs)
        return dict(self._timestamp_bounds)

    def datetimes(self, field_name, kind, order="ASC", tzinfo=None):
        if field_name != "timestamp" or kind not in _NEXT_PERIOD:
            return super().datetimes(field_name, kind, order, tzinfo)
        zone = tzinfo or timezone.get_current_timezone()
        bounds = self.aggregate(first=Min("timestamp"), last=Max("timestamp"))
        if bounds["first"] is None:
            return []
        # Periods of the zone's wall clock, as Django's own truncation in the zone gives them.
        start = timezone.make_naive(bounds["first"], zone).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        if kind in ("year", "month"):
            start = start.replace(day=1)
        if kind == "year":
            start = start.replace(month=1)
        last = timezone.make_naive(bounds["last"], zone)
        periods = []
        while start <= last:
            end = _NEXT_PERIOD[kind](start)
            period = self.filter(
                timestamp__gte=timezone.make_aware(start, zone),
                timestamp__lt=timezone.make_aware(end, zone),
            )
            if period.exists():
                periods.append(timezone.make_aware(start, zone))
            start = end
        return periods[::-1] if order == "DESC" else periods


# The admin ticket list's RCA source filter (Django's filter of the field).
RCA_SOURCE_FILTER = "rca_source__exact"


class TicketChangeList(ChangeList):
    """The ticket list's page read as a slice whatever its length: Django reads a list that
    fits on one page (or shown whole, `?all=`) as the queryset itself, unsliced, which
    `TicketQuerySet.ids_first` reads in one query, and a filter few tickets match
    (`?rca_source__exact=gemini`) gives such a list. The slice's end is the most rows a list
    shown whole holds (200), so the same rows as before unless more were added since they were
    counted."""

    def get_results(self, request) -> None:
        super().get_results(request)
        if (self.show_all and self.can_show_all) or not self.multi_page:
            self.result_list = self.queryset[: self.list_max_show_all]
        self.result_list = _named_by_their_event(list(self.result_list))


def _named_by_their_event(tickets: list[Ticket]) -> list[Ticket]:
    """The page's tickets, each with the name the list shows (`listed_name`): a Service Health
    alert's is the event Azure titled, as its page and the API name it (`ticket_title`), where
    its rule's name ("sh-all") was on every one; any other's its pipeline. The titles are read
    in one more query, by the page's Azure Monitor ids: the list's own defers
    `affected_entity` (a Service Health alert's lists every service and region), and reading
    it there, or a key of it, would read it for every ticket a list sorted by a column
    sorts."""
    alerts = [ticket.pk for ticket in tickets if ticket.processing_mode == Source.AZURE_MONITOR]
    titles: dict[str, str] = {}
    if alerts:
        event = KeyTransform(EVENT_TITLE, "affected_entity")
        for pk, title in Ticket.objects.filter(pk__in=alerts).values_list("pk", event):
            if named := alert_event_title({EVENT_TITLE: title}):
                titles[pk] = named
    for ticket in tickets:
        ticket.listed_name = titles.get(ticket.pk) or ticket.pipeline  # type: ignore[attr-defined]
    return tickets


@admin.register(Ticket)
class TicketAdmin(ReadOnlyPageAdmin):
    list_display = (
        "id",
        "status",
        "severity",
        "priority",
        "name_display",
        "error_type",
        "finops_team",
        "sla_remaining_display",
        "occurrence_count",
        "culprit",
        "incident",
        "jira_link",
        "timestamp",
    )
    list_filter = (
        "status",
        "severity",
        SourceFilter,
        "error_type",
        TeamFilter,
        SlaFilter,
        "rca_source",
        "timestamp",
    )
    search_fields = (
        "=id",
        "pipeline",
        "=run_id",
        "error_message",
        "=itsm_ticket_id",
        "culprit",
        "=incident__id",
    )
    date_hierarchy = "timestamp"
    list_per_page = 50
    show_full_result_count = False
    paginator = RollupCountedPaginator

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        paginator = RollupCountedPaginator(queryset, per_page, orphans, allow_empty_first_page)
        paginator.counted_by = rollup_filter(dict(request.GET.lists()))
        return paginator

    inlines = [RemediationInline, OutboundInline, AuditLogInline]

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, LatestHistoryInline) and obj is not None:
            kwargs["queryset"] = inline.latest(kwargs["queryset"], obj)
        return kwargs

    actions = [
        "acknowledge",
        "take",
        "resolve",
        "reopen",
        "rerun_rca",
        "retry_failed_deliveries",
        "reroute",
    ]
    fieldsets = (
        (None, {"fields": ("id", "status", "severity", "priority", "pipeline", "error_type")}),
        ("Culprit and incident", {"fields": ("culprit", "culprit_detail", "incident")}),
        (
            "Root cause",
            {
                "fields": (
                    "rca_display",
                    "recommendations_display",
                    "confidence",
                    "rca_source",
                    "rca_note",
                )
            },
        ),
        ("Error", {"fields": ("error_message_display", "similar_display")}),
        (
            "Ownership and SLA",
            {
                "fields": (
                    "finops_team",
                    "finops_owner",
                    "finops_cost_center",
                    "sla_seconds",
                    "sla_deadline",
                    "sla_status",
                    "ack_ts",
                    "ack_user",
                    "ack_seconds",
                    "resolved_at",
                    "resolved_by",
                    "resolve_seconds",
                    "regressed_at",
                    "regression_count",
                    "previous_ticket",
                )
            },
        ),
        (
            "Where it lives",
            {
                "fields": (
                    "jira_link",
                    "slack_channel",
                    "slack_ts",
                    "slack_permalink",
                    "evidence_links",
                    "tracking_id",
                    "trace_link",
                )
            },
        ),
        (
            "Source",
            {
                "classes": ("collapse",),
                "fields": (
                    "source",
                    "processing_mode",
                    "run_id",
                    "logic_app_run_id",
                    "fingerprint",
                    "occurrence_count",
                    "first_seen",
                    "last_seen",
                    "affected_entity",
                    "latest_run",
                    "links",
                    "details",
                    "remediation_status",
                    "resolved_at_source_at",
                    "embedding_model",
                ),
            },
        ),
    )

    def get_readonly_fields(self, request, obj=None):
        names = [f.name for f in Ticket._meta.fields if f.name != "embedding"]
        return [
            *names,
            "rca_display",
            "recommendations_display",
            "error_message_display",
            "similar_display",
            "jira_link",
            "evidence_links",
            "trace_link",
        ]

    def has_add_permission(self, request) -> bool:
        return False  # tickets come from webhooks

    def get_queryset(self, request):
        if _is_changelist(request):
            # The triage list: most urgent first unless a column header says otherwise. The
            # annotation comes before the ordering that names it (ModelAdmin orders first).
            listed = TicketListQuerySet(Ticket).by_urgency().defer(*LIST_DEFERRED)
            if RCA_SOURCE_FILTER in request.GET:
                # Filtered by an RCA source few tickets hold (`gemini` where Gemini is off),
                # in no index's key, one query walked or sorted every ticket row (380 ms at
                # 100,000 tickets): the page's ids are read first, from the stats' index
                # (`TicketQuerySet.ids_first`). Not for the other lists, whose page an index
                # walk finds in a few milliseconds, which the extra step would add to.
                listed = listed.ids_first()
            return listed
        return super().get_queryset(request).defer("embedding")

    def get_ordering(self, request):
        return URGENCY_ORDERING if _is_changelist(request) else super().get_ordering(request)

    def get_changelist(self, request, **kwargs):
        return TicketChangeList

    # --- columns and read-only displays --------------------------------------------------

    @admin.display(description="name", ordering="pipeline")
    def name_display(self, ticket: Ticket) -> str:
        return getattr(ticket, "listed_name", ticket.pipeline)

    @admin.display(description="SLA left", ordering="sla_deadline")
    def sla_remaining_display(self, ticket: Ticket) -> str:
        remaining = ticket.sla_remaining()
        if ticket.sla_deadline is None and ticket.sla_status == SlaStatus.PENDING:
            return "No SLA"  # none runs: a quiet Service Health notice (lifecycle.runs_sla_clock)
        if remaining is None:
            return format_html('<span style="color:#2e7d32">{}</span>', ticket.sla_status)
        seconds = int(remaining.total_seconds())
        if seconds < 0:
            text, colour = f"-{_duration(-seconds)}", "#c62828"
        else:
            text = _duration(seconds)
            colour = "#ef6c00" if seconds < 0.25 * max(ticket.sla_seconds, 1) else "#2e7d32"
        return format_html('<span style="color:{};font-weight:bold">{}</span>', colour, text)

    @admin.display(description="JIRA", ordering="itsm_ticket_id")
    def jira_link(self, ticket: Ticket) -> str:
        from django.conf import settings

        if not ticket.itsm_ticket_id:
            return EMPTY
        if not settings.JIRA_URL:
            return ticket.itsm_ticket_id
        url = f"{settings.JIRA_URL.rstrip('/')}/browse/{ticket.itsm_ticket_id}"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a>', url, ticket.itsm_ticket_id
        )

    @admin.display(description="Root cause")
    def rca_display(self, ticket: Ticket) -> str:
        return format_html(
            '<div style="white-space:pre-wrap;max-width:60em">{}</div>', ticket.rca_result or EMPTY
        )

    @admin.display(description="Recommendations")
    def recommendations_display(self, ticket: Ticket) -> str:
        if not ticket.recommendations:
            return EMPTY
        items = format_html_join("", "<li>{}</li>", ((r,) for r in ticket.recommendations))
        return format_html("<ol>{}</ol>", items)

    @admin.display(description="Error message")
    def error_message_display(self, ticket: Ticket) -> str:
        return format_html(
            '<pre style="white-space:pre-wrap;max-width:60em;max-height:24em;overflow:auto">'
            "{}</pre>",
            ticket.error_message,
        )

    @admin.display(description="Similar tickets")
    def similar_display(self, ticket: Ticket) -> str:
        similar = ticket.details.get("similar") or []
        if not similar:
            return EMPTY
        rows = (
            (
                reverse("admin:tickets_ticket_change", args=[s["id"]]),
                s["id"],
                f"{s['similarity']:.2f}",
            )
            for s in similar
        )
        return format_html(
            "<ul>{}</ul>", format_html_join("", '<li><a href="{}">{}</a> ({})</li>', rows)
        )

    @admin.display(description="Evidence")
    def evidence_links(self, ticket: Ticket) -> str:
        if not ticket.blob_log_url:
            return EMPTY
        names = ("rca.md", "rca.json")
        rows = ((reverse("evidence", args=[ticket.pk, name]), name) for name in names)
        return format_html_join(" · ", '<a href="{}" target="_blank" rel="noopener">{}</a>', rows)

    @admin.display(description="Trace")
    def trace_link(self, ticket: Ticket) -> str:
        if not ticket.tracking_id:
            return EMPTY
        return format_html('<a href="/api/v1/trace/{}/">trace</a>', ticket.tracking_id)

    # --- actions -------------------------------------------------------------------------

    def _transition(self, request, queryset, action: str, label: str) -> None:
        actor = Actor.for_user(request.user, via="admin")
        done, refused = 0, []
        for ticket_id in queryset.values_list("pk", flat=True):
            try:
                # The list's actions offer no note: the change's actor (via admin) says who and
                # where, and the JIRA comment, the Slack thread reply and the audit entry quote
                # nobody's words.
                lifecycle.transition(ticket_id, action, actor)
                done += 1
            except TransitionError as exc:
                refused.append(f"{ticket_id}: {exc}")
        if done:
            self.message_user(request, f"{label} {done} ticket(s).")
        for reason in refused[:10]:
            self.message_user(request, reason, level=messages.WARNING)

    @admin.action(description="Acknowledge", permissions=["change"])
    def acknowledge(self, request, queryset):
        self._transition(request, queryset, "acknowledge", "Acknowledged")

    @admin.action(description="Take (in progress)", permissions=["change"])
    def take(self, request, queryset):
        self._transition(request, queryset, "start_progress", "Took")

    @admin.action(description="Resolve (asks what fixed it)", permissions=["change"])
    def resolve(self, request, queryset):
        """An intermediate page asks for the fix (optional); its submit resolves them all."""
        form = ResolveForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            actor = Actor.for_user(request.user, via="admin")
            done, refused = 0, []
            for ticket_id in queryset.values_list("pk", flat=True):
                try:
                    lifecycle.resolve(
                        ticket_id,
                        actor,
                        note=form.cleaned_data["note"],  # the one they typed, if any
                        fix=form.cleaned_data["fix"],
                    )
                    done += 1
                except TransitionError as exc:
                    refused.append(f"{ticket_id}: {exc}")
            if done:
                self.message_user(request, f"Resolved {done} ticket(s).")
            for reason in refused[:10]:
                self.message_user(request, reason, level=messages.WARNING)
            return None
        listed = list(queryset.values_list("pk", "pipeline", "status")[:RESOLVE_LISTED])
        count = len(listed) if len(listed) < RESOLVE_LISTED else queryset.count()
        context = {
            **self.admin_site.each_context(request),
            "title": "Resolve tickets",
            "opts": self.model._meta,
            "form": form,
            "tickets": listed,
            "count": count,
            "unlisted": count - len(listed),
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            # "Select all N" (every row the list's filters hold, on every page): the submit
            # says so too, or it would resolve only the page's checked rows.
            "select_across": int(
                forms.BooleanField(required=False).clean(request.POST.get("select_across"))
            ),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/tickets/resolve.html", context)

    @admin.action(description="Reopen", permissions=["change"])
    def reopen(self, request, queryset):
        self._transition(request, queryset, "reopen", "Reopened")

    @admin.action(description="Re-run the root-cause analysis", permissions=["change"])
    def rerun_rca(self, request, queryset):
        actor = Actor.for_user(request.user, via="admin")
        queued = answered = refused = 0
        ticket_ids = list(queryset.values_list("pk", flat=True))
        for asked, ticket_id in enumerate(ticket_ids):
            try:
                if request_fresh_rca(ticket_id, actor):
                    queued += 1
                else:
                    answered += 1
            except KombuError:  # the request is audited, not queued
                # The rest are not asked for: a broker that hangs takes seconds for each.
                refused = len(ticket_ids) - asked
                break
        if queued:
            self.message_user(request, f"Fresh RCA requested for {queued} ticket(s).")
        if refused:
            logger.warning("fresh RCA of %d ticket(s) not queued: the broker refused it", refused)
            self.message_user(
                request,
                f"Not queued for {refused} ticket(s): the analysis queue is unavailable; ask "
                "again in a few minutes.",
                level=messages.ERROR,
            )
        if answered:
            self.message_user(
                request,
                f"A fresh RCA asked for earlier is under way for {answered} ticket(s): "
                "it answers this request too.",
                level=messages.INFO,
            )

    @admin.action(description="Retry failed deliveries (JIRA, Slack, Blob)", permissions=["change"])
    def retry_failed_deliveries(self, request, queryset):
        dead = OutboundDelivery.objects.dead().filter(ticket__in=queryset)
        count = fanout.retry_dead(list(dead.values_list("pk", flat=True)))
        self.message_user(request, f"{count} failed deliveries sent again.")

    @admin.action(
        description="Re-route (apply current ownership rules), then retry failed deliveries",
        permissions=["change"],
    )
    def reroute(self, request, queryset):
        """A ticket keeps the owner, Slack channel and JIRA project it was routed with, so a
        retry after a rule was corrected would fail the same way. This routes the selected
        tickets that are not paged yet (no JIRA key or no Slack message) again by the current
        rules, then retries their failed deliveries. Where a ticket is paged already (its
        issue or message exists), that target's routing stays as it is."""
        rules.clear_rule_cache()  # the rule was likely corrected just now: read it afresh
        actor = Actor.for_user(request.user, via="admin")
        unpaged = queryset.filter(Q(itsm_ticket_id="") | Q(slack_ts=""))
        skipped = queryset.count() - unpaged.count()
        ids, changed = [], 0
        routing = ("source", "pipeline", "slack_ts", "slack_channel", "itsm_ticket_id")
        for ticket in unpaged.only(*routing, "jira_project", *rules.OWNER_FIELDS):
            ids.append(ticket.pk)
            if rules.reroute_unpaged(ticket, actor):
                changed += 1
        dead = OutboundDelivery.objects.dead().filter(ticket_id__in=ids)
        count = fanout.retry_dead(list(dead.values_list("pk", flat=True)))
        self.message_user(
            request,
            f"Re-routed {len(ids)} ticket(s) by the current ownership rules ({changed} changed); "
            f"{count} failed deliveries sent again.",
        )
        if skipped:
            self.message_user(
                request,
                f"{skipped} ticket(s) left as they are: already paged in JIRA and Slack.",
                level=messages.WARNING,
            )


# The most tickets the Resolve action's page names (it counts them all).
RESOLVE_LISTED = 200


class ResolveForm(forms.Form):
    fix = forms.CharField(
        required=False,
        max_length=8000,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text="What fixed it (optional): shown first when a failure like it comes again.",
    )
    note = forms.CharField(required=False, max_length=2000)


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds % 60:02d}s"


class IncidentEventInline(admin.TabularInline):
    model = IncidentEvent
    fields = ("at", "kind", "ticket", "actor_kind", "actor_name", "details")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ("at", "id")


@admin.register(Incident)
class IncidentAdmin(ReadOnlyPageAdmin):
    """Incidents: acted on once for all members (tickets/incidents.py)."""

    list_display = (
        "id",
        "status",
        "severity",
        "culprit",
        "member_count",
        "recovered_count",
        "first_seen",
        "last_member_at",
        "itsm_ticket_id",
        "recovered_at",
    )
    list_filter = ("status", "severity", "error_type", "finops_team", "last_member_at")
    search_fields = ("=id", "culprit", "=itsm_ticket_id")
    date_hierarchy = "last_member_at"
    inlines = [IncidentEventInline]
    actions = ["acknowledge", "take", "reopen", "resolve"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Incident._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def _act(self, request, queryset, action: str, label: str) -> None:
        actor = Actor.for_user(request.user, via="admin")
        done = 0
        for incident_id in queryset.values_list("pk", flat=True):
            try:
                incidents.act(incident_id, action, actor, via="admin")
                done += 1
            except TransitionError as exc:
                self.message_user(request, f"{incident_id}: {exc}", level=messages.WARNING)
        if done:
            self.message_user(request, f"{label} {done} incident(s) and their members.")

    @admin.action(description="Acknowledge (with all members)", permissions=["change"])
    def acknowledge(self, request, queryset):
        self._act(request, queryset, "acknowledge", "Acknowledged")

    @admin.action(description="Take (with all members)", permissions=["change"])
    def take(self, request, queryset):
        self._act(request, queryset, "start_progress", "Took")

    @admin.action(description="Reopen (with all members)", permissions=["change"])
    def reopen(self, request, queryset):
        self._act(request, queryset, "reopen", "Reopened")

    @admin.action(description="Resolve (with all members)", permissions=["change"])
    def resolve(self, request, queryset):
        self._act(request, queryset, "resolve", "Resolved")


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyPageAdmin):
    list_display = ("ticket", "created_at", "actor_kind", "actor_name", "action")
    list_filter = ("actor_kind", "action")
    search_fields = ("=ticket__id", "actor_name")
    list_select_related = ("ticket",)
    # Newest first, in the primary key's order: a page is read from its index. The model's
    # order (oldest first by `created_at`, which no index has) sorted every entry, with its
    # ticket joined, for each page (1.7-2.9 s at a million entries) and opened on the oldest.
    # The id follows `created_at` but for entries written at the same moment (and migration
    # 0009's, given an earlier `created_at`).
    ordering = ("-id",)
    # Counted once, and unfiltered not at all once the table is big (0.2-0.3 s each at a
    # million entries).
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    readonly_fields = [f.name for f in AuditLog._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


class OccurrenceOutcomeFilter(admin.SimpleListFilter):
    """The outcomes an occurrence is recorded under: claimed, then an ingest outcome, a folded
    alert's or a sync-back callback's. Django's filter of the field's values read every
    occurrence for its distinct ones on each load of the list."""

    title = parameter_name = "outcome"

    def lookups(self, request, model_admin) -> list[tuple[str, str]]:
        named = [CLAIMED_OUTCOME, FOLDED_ALERT, *CALLBACK_OUTCOMES]
        return [*choices(Outcome), *((name, name) for name in named)]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        return queryset.filter(outcome=self.value()) if self.value() else queryset


@admin.register(Occurrence)
class OccurrenceAdmin(ReadOnlyPageAdmin):
    list_display = ("key", "ticket", "outcome", "seen_at")
    list_filter = (OccurrenceOutcomeFilter,)
    search_fields = ("key", "=ticket__id")
    # Each row's ticket in the page's own query (it was one query per row), the rows counted
    # once, and unfiltered not at all once the table is big (0.2-0.3 s each at a million).
    list_select_related = ("ticket",)
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    readonly_fields = [f.name for f in Occurrence._meta.fields]


@admin.register(OwnershipRule)
class OwnershipRuleAdmin(admin.ModelAdmin):
    list_display = (
        "pipeline_pattern",
        "source",
        "order",
        "finops_team",
        "finops_owner",
        "slack_channel",
        "jira_project",
        "enabled",
    )
    list_editable = ("order", "enabled")


@admin.register(SuppressionRule)
class SuppressionRuleAdmin(admin.ModelAdmin):
    list_display = (
        "pipeline_pattern",
        "source",
        "reason",
        "starts_at",
        "ends_at",
        "hit_count",
        "enabled",
    )
    list_filter = ("enabled",)


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ("priority", "seconds")


@admin.register(JiraStatusMapping)
class JiraStatusMappingAdmin(admin.ModelAdmin):
    list_display = ("jira_status", "ticket_status", "order")
    list_editable = ("ticket_status", "order")
    ordering = ("order", "id")

    def changelist_view(self, request, extra_context=None):
        """Warns while the map leaves a ticket status with no JIRA status (a Done row deleted,
        or its ticket status changed in the list): a ticket changed to it here cannot move its
        issue, and that change's JIRA delivery is a dead letter until one is mapped."""
        if request.method == "GET":
            unmapped = jira_status.unmapped_statuses(fresh=True)
            if unmapped:
                self.message_user(
                    request,
                    "No JIRA status is mapped to "
                    + ", ".join(unmapped)
                    + ": a ticket changed to it here cannot move its JIRA issue (its delivery"
                    " is a dead letter until one is mapped). Map a status of the workflow"
                    " to it.",
                    level=messages.WARNING,
                )
        return super().changelist_view(request, extra_context)


@admin.register(Resolution)
class ResolutionAdmin(ReadOnlyPageAdmin):
    """Recorded fixes. Read-only but for one staff judgement: this fix was wrong."""

    list_display = (
        "ticket",
        "short_fix",
        "resolved_by",
        "created_at",
        "verified_at",
        "marked_wrong_at",
    )
    list_filter = ("actor_kind", ("verified_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("=ticket__id", "fix", "resolved_by")
    exclude = ("embedding",)
    actions = ["mark_wrong"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Resolution._meta.fields if f.name != "embedding"]

    def has_add_permission(self, request) -> bool:
        return False  # recorded when a ticket is resolved

    @admin.display(description="Fix")
    def short_fix(self, resolution: Resolution) -> str:
        return resolution.fix if len(resolution.fix) <= 80 else resolution.fix[:79] + "…"

    @admin.action(description="Mark the fix wrong (never shown again)", permissions=["change"])
    def mark_wrong(self, request, queryset):
        actor = Actor.for_user(request.user, via="admin")
        ids = list(queryset.filter(marked_wrong_at__isnull=True).values_list("pk", flat=True))
        for resolution_id in ids:
            resolutions.mark_wrong(resolution_id, actor)
        self.message_user(request, f"{len(ids)} fix(es) marked wrong.")
        already = queryset.filter(marked_wrong_at__isnull=False).exclude(pk__in=ids).count()
        if already:
            self.message_user(
                request,
                f"{already} fix(es) left as they were: marked wrong already.",
                level=messages.WARNING,
            )


# --- API refresh tokens ---------------------------------------------------------------------
# simplejwt's own admin lists tokens by user id and revokes one only by adding a "blacklisted
# token" row (its form offering revoked tokens too). Superusers get a list by user name that
# says which tokens are revoked, and an action that revokes (logs out) the ones selected.

admin.site.unregister(OutstandingToken)
admin.site.unregister(BlacklistedToken)


class RevokedFilter(admin.SimpleListFilter):
    title = "revoked"
    parameter_name = "revoked"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(is_revoked=self.value() == "yes")
        return queryset


@admin.register(OutstandingToken)
class RefreshTokenAdmin(admin.ModelAdmin):
    list_display = ("user", "created_at", "expires_at", "revoked", "jti")
    list_filter = (RevokedFilter, "expires_at")
    search_fields = ("user__username", "jti")
    ordering = ("-created_at",)
    actions = ["revoke"]

    def get_queryset(self, request):
        revoked = BlacklistedToken.objects.filter(token=OuterRef("pk"))
        return (
            super()
            .get_queryset(request)
            .select_related("user")
            .annotate(is_revoked=Exists(revoked))
        )

    # The token itself (the whole refresh JWT simplejwt keeps) is left out: whoever read it
    # could refresh as its user until it expires. Its jti names it.
    fields = ("user", "jti", "created_at", "expires_at")

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request) -> bool:
        return False  # issued by the API's sign-in

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoked, not deleted: beat forgets expired ones

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_revoke_permission(self, request) -> bool:
        return request.user.is_superuser

    @admin.display(boolean=True, ordering="is_revoked", description="Revoked")
    def revoked(self, token) -> bool:
        return token.is_revoked

    @admin.action(description="Revoke (log out: it refreshes no more)", permissions=["revoke"])
    def revoke(self, request, queryset):
        tokens = list(queryset.filter(is_revoked=False))
        BlacklistedToken.objects.bulk_create(
            [BlacklistedToken(token=token) for token in tokens], ignore_conflicts=True
        )
        self.message_user(request, f"{len(tokens)} token(s) revoked.")


@admin.register(BlacklistedToken)
class RevokedTokenAdmin(admin.ModelAdmin):
    list_display = ("token", "user", "blacklisted_at")
    search_fields = ("token__user__username", "token__jti")
    ordering = ("-blacklisted_at",)
    list_select_related = ("token__user",)

    @admin.display(ordering="token__user__username")
    def user(self, revoked: BlacklistedToken) -> object:
        return revoked.token.user

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "token":  # only what can still be revoked
            kwargs["queryset"] = OutstandingToken.objects.filter(
                blacklistedtoken__isnull=True, expires_at__gt=timezone.now()
            ).select_related("user")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
