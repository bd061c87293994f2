"""Query-string filters for ticket and incident lists (the API's; the dashboard may reuse them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import django_filters
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django_filters.fields import IsoDateTimeField
from rest_framework.exceptions import ValidationError as BadRequest
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.request import Request

from tickets.models import (
    CLOCK_STOPPED_ORDERING,
    HALVED_ORDERINGS,
    SLA_RUNNING,
    URGENCY_ORDERING,
    Incident,
    Ticket,
    TicketQuerySet,
)
from tickets.vocabulary import (
    ErrorClass,
    Priority,
    Severity,
    SlaStatus,
    Source,
    Status,
    choices,
)

SOURCE_CHOICES = [(source.value, source.value) for source in Source]
TRUE_OR_FALSE = [("true", "true"), ("false", "false")]


def with_severity_rank(queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
    return cast(TicketQuerySet, queryset).with_severity_rank()


def naming_the_choices(choices: list[tuple[str, str]]) -> dict[str, str]:
    """Error messages for a choice filter whose 400 names the values it takes: Django's said
    "Select a valid choice. high is not one of the available choices." (`?severity=` takes
    `High`, in that case), and only the schema listed them."""
    values = ", ".join(value for value, _ in choices)
    return {"invalid_choice": f"“%(value)s” is not one of {values}."}


class NamedMultipleChoiceFilter(django_filters.MultipleChoiceFilter):
    """A filter of several choices, repeated (`?status=open&status=acknowledged`), whose 400
    names the values it takes (`naming_the_choices`)."""

    def __init__(self, *args: Any, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        kwargs.setdefault("distinct", False)
        kwargs.setdefault("error_messages", naming_the_choices(choices))
        super().__init__(*args, choices=choices, **kwargs)


class UtcIsoDateTimeField(IsoDateTimeField):
    """ISO 8601, converted to UTC: Python takes UTC offsets up to 23:59, PostgreSQL only up
    to 15:59, and the conversion must not leave the years 1 to 9999."""

    def to_python(self, value: object) -> datetime | None:
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except OverflowError as exc:
            raise ValidationError(
                "Enter a date and time in years 1 to 9999.", code="invalid"
            ) from exc


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class TicketFilterSet(django_filters.FilterSet):
    status = NamedMultipleChoiceFilter(choices=choices(Status))
    severity = NamedMultipleChoiceFilter(choices=choices(Severity))
    priority = NamedMultipleChoiceFilter(choices=choices(Priority))
    source = NamedMultipleChoiceFilter(choices=SOURCE_CHOICES)
    error_type = NamedMultipleChoiceFilter(choices=choices(ErrorClass))
    sla_status = NamedMultipleChoiceFilter(choices=choices(SlaStatus))
    team = django_filters.CharFilter(field_name="finops_team", help_text="FinOps team (exact).")
    pipeline = django_filters.CharFilter(
        method="filter_pipeline", help_text="Part of the pipeline name (case-insensitive)."
    )
    created_after = UtcIsoDateTimeFilter(
        field_name="timestamp", lookup_expr="gte", help_text="Created at or after (ISO 8601)."
    )
    created_before = UtcIsoDateTimeFilter(
        field_name="timestamp", lookup_expr="lt", help_text="Created before (ISO 8601)."
    )
    jira_key = django_filters.CharFilter(field_name="itsm_ticket_id", help_text="JIRA issue key.")

    class Meta:
        model = Ticket
        fields: list[str] = []

    def filter_pipeline(self, queryset: QuerySet[Ticket], name: str, value: str):
        """The tickets of the pipelines whose name holds `value`, as `icontains` finds them.
        Testing every ticket's name read the whole table (a scan of 100,000 tickets for one
        page); pipelines are far fewer than tickets, so their names are tested once each,
        walked in `ticket_pipeline_recent` (`pipelines_containing`), and their tickets read
        from it. With more than PIPELINE_NAMES_WALKED names, the tickets' names are tested."""
        names = pipelines_containing(value)
        if names is None:
            return queryset.filter(pipeline__icontains=value)
        return queryset.filter(pipeline__in=names)


# At most this many distinct pipeline names are walked for `?pipeline=` (10-30 us each at the
# query-plan bench): past it the walk stops and every ticket's name is tested, as a scan.
PIPELINE_NAMES_WALKED = 2000

# Each distinct pipeline name once, in `ticket_pipeline_recent`'s order (one probe of the index
# from the one before), with whether it holds the pattern: `UPPER(...) LIKE UPPER(...)`, the
# `icontains` lookup's own test. The LIMIT stops the walk.
_PIPELINE_NAMES = """
WITH RECURSIVE names (pipeline) AS (
    (SELECT pipeline FROM tickets_ticket ORDER BY pipeline LIMIT 1)
    UNION ALL
    SELECT (SELECT t.pipeline FROM tickets_ticket t WHERE t.pipeline > n.pipeline
             ORDER BY t.pipeline LIMIT 1)
      FROM names n
     WHERE n.pipeline IS NOT NULL
)
SELECT pipeline, UPPER(pipeline::text) LIKE UPPER(%s) FROM names
 WHERE pipeline IS NOT NULL
 LIMIT %s
"""


def pipelines_containing(value: str) -> list[str] | None:
    """The distinct pipeline names of the tickets that hold `value` (case-insensitive, as
    `icontains`: `%` and `_` are characters), or None when there are more than
    PIPELINE_NAMES_WALKED names in all."""
    pattern = f"%{connection.ops.prep_for_like_query(value)}%"
    with connection.cursor() as cursor:
        cursor.execute(_PIPELINE_NAMES, [pattern, PIPELINE_NAMES_WALKED + 1])
        rows = cursor.fetchall()
    if len(rows) > PIPELINE_NAMES_WALKED:
        return None
    return [pipeline for pipeline, holds in rows if holds]


class IncidentFilterSet(django_filters.FilterSet):
    status = NamedMultipleChoiceFilter(choices=choices(Status))
    resolved = django_filters.ChoiceFilter(
        choices=TRUE_OR_FALSE,
        error_messages=naming_the_choices(TRUE_OR_FALSE),
        method="filter_resolved",
        help_text=(
            "Resolved by a responder, because every member recovered or because no member was "
            "left open (true), or not."
        ),
    )
    merged = django_filters.ChoiceFilter(
        choices=TRUE_OR_FALSE,
        error_messages=naming_the_choices(TRUE_OR_FALSE),
        method="filter_merged",
        help_text="Merged into another incident (true), or not (false). Without it, merged "
        "incidents are left out of the list (they have no members; each names where its went).",
    )
    culprit = django_filters.CharFilter(help_text="Culprit, exact (kind:key).")
    culprit_kind = django_filters.CharFilter(
        method="filter_culprit_kind", help_text="The culprit's kind, e.g. sql-server."
    )
    team = django_filters.CharFilter(
        method="filter_team",
        help_text="Owned by this team or has a member it owns (exact), as the board's team filter.",
    )
    source = NamedMultipleChoiceFilter(
        choices=SOURCE_CHOICES,
        field_name="members__source",
        distinct=True,
        help_text="Has a member from this source.",
    )
    since = UtcIsoDateTimeFilter(
        field_name="last_member_at", lookup_expr="gte", help_text="Active at or after (ISO 8601)."
    )
    until = UtcIsoDateTimeFilter(
        field_name="first_seen", lookup_expr="lt", help_text="First seen before (ISO 8601)."
    )

    class Meta:
        model = Incident
        fields: list[str] = []

    def filter_resolved(self, queryset: QuerySet[Incident], name: str, value: str):
        done = Q(status=Status.RESOLVED) | Q(recovered_at__isnull=False)
        return queryset.filter(done) if value == "true" else queryset.exclude(done)

    def filter_merged(self, queryset: QuerySet[Incident], name: str, value: str):
        return queryset.filter(merged_into__isnull=value == "false")

    @property
    def qs(self) -> QuerySet[Incident]:
        found = super().qs
        if not self.form.cleaned_data.get("merged"):
            found = found.filter(merged_into__isnull=True)
        return found

    def filter_culprit_kind(self, queryset: QuerySet[Incident], name: str, value: str):
        return queryset.filter(culprit__startswith=f"{value}:")

    def filter_team(self, queryset: QuerySet[Incident], name: str, value: str):
        """An EXISTS per incident over its members (their incident index), not a DISTINCT join
        gathering every match first; the incident's own team too, so that a merged incident
        (it has no members left) is still found."""
        members = Ticket.objects.filter(incident=OuterRef("pk"), finops_team=value)
        return queryset.filter(Q(finops_team=value) | Exists(members))


class TicketSearchFilter(SearchFilter):
    """DRF's search; a refused value (a NUL character) is reported under the parameter's name."""

    def get_search_terms(self, request: Request) -> list[str]:
        try:
            return super().get_search_terms(request)
        except BadRequest as exc:
            raise BadRequest({self.search_param: exc.detail}) from exc


class StrictOrderingFilter(OrderingFilter):
    """`?ordering=` with a field the list cannot be sorted by is a 400 naming the ones it can
    (DRF drops an unknown field silently: the caller would think the list was sorted). The
    API's default ordering backend (settings.REST_FRAMEWORK)."""

    def remove_invalid_fields(self, queryset, fields, view, request) -> list[str]:
        valid = [name for name, _ in self.get_valid_fields(queryset, view, {"request": request})]
        terms = [term for term in fields if term]  # `severity,`: an empty term is no field
        unknown = [term for term in terms if term.removeprefix("-") not in valid]
        if unknown:
            raise BadRequest(
                {
                    self.ordering_param: f"unknown field {', '.join(unknown)[:80]}; one of "
                    + ", ".join(valid)
                }
            )
        return terms


# The orderings whose pages' ids are read from `ticket_stats_period_v4` (tickets/0058), which
# holds their columns and the id (`TicketQuerySet.ids_first`); severity sorts by its rank.
SORTED_IN_THE_STATS_INDEX = ("severity_rank", "priority", "sla_deadline")


class TicketOrderingFilter(StrictOrderingFilter):
    """`?ordering=severity` sorts by rank (Critical first), not alphabetically; every ordering
    ends with the ticket id so pages are stable among equal values."""

    ordering_fields = (
        "urgency",
        "timestamp",
        "severity",
        "priority",
        "sla_deadline",
        "occurrence_count",
        "last_seen",
    )
    ordering_description = (
        "Sort by one or more of: urgency, timestamp, severity, priority, sla_deadline,"
        " occurrence_count, last_seen (prefix '-' for descending; the ticket id breaks ties, and"
        " the cursor holds every term's value and the id). A missing sla_deadline sorts last"
        " ascending, first descending."
        " severity and priority sort by rank: Critical (P1) first, '-' puts it last."
        " Default: most urgent first (breached, then least SLA time left, then severity;"
        " tickets whose SLA clock stopped, i.e. not open or in progress, last, newest first)."
    )

    def get_ordering(self, request, queryset, view) -> list[str]:
        ordering: list[str] = self._urgency(request)
        if request.query_params.get(self.ordering_param):
            ordering = list(super().get_ordering(request, queryset, view) or ordering)
        ordering = [
            term.replace("severity", "severity_rank") if term.lstrip("-") == "severity" else term
            for term in ordering
        ]
        if not any(term.lstrip("-") == "id" for term in ordering):
            ordering.append("-id" if ordering[0].startswith("-") else "id")
        return ordering

    def get_default_ordering(self, view) -> list[str]:
        return list(URGENCY_ORDERING)

    @staticmethod
    def _urgency(request: Request) -> list[str]:
        """The default order: for a list of statuses whose SLA clock stopped only
        (`?status=acknowledged`), the same order as newest first (`by_urgency_in_status`), one
        status's read from `ticket_status_recent`; in `ticket_urgency_v2`'s order every open and
        in-progress ticket came first and was walked past (25,029 at 100,000 tickets: 447 ms)."""
        statuses = set(request.query_params.getlist("status"))
        if statuses and not statuses & {str(status) for status in SLA_RUNNING}:
            return list(CLOCK_STOPPED_ORDERING)
        return list(URGENCY_ORDERING)

    def filter_queryset(self, request, queryset, view):
        ordering = self.get_ordering(request, queryset, view)
        terms = {term.lstrip("-") for term in ordering}
        if "urgency" in terms:
            queryset = cast(TicketQuerySet, queryset).with_urgency()
        elif "severity_rank" in terms:
            queryset = with_severity_rank(queryset)
        queryset = queryset.order_by(*ordering)
        if ordering[0].lstrip("-") in HALVED_ORDERINGS:
            # No index holds every ticket by `last_seen` or `occurrence_count`: their pages
            # are read in two halves.
            queryset = cast(TicketQuerySet, queryset).in_halves()
        elif ordering[0].lstrip("-") in SORTED_IN_THE_STATS_INDEX:
            # No index holds every ticket in these orders (each would be one more write in
            # every new ticket's INSERT): a page's ids are sorted from the stats' index.
            queryset = cast(TicketQuerySet, queryset).ids_first()
        return queryset
