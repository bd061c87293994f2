"""REST API views: thin, they parse the request and call the services."""

from __future__ import annotations

import json
import uuid
from base64 import b64decode
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict, cast
from urllib.parse import parse_qs

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from django.http import Http404
from django.templatetags.static import static
from django.utils.duration import duration_iso_string
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from drf_spectacular.views import SpectacularSwaggerView
from kombu.exceptions import KombuError
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import (
    APIException,
    AuthenticationFailed,
    NotFound,
    Throttled,
    ValidationError,
)
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.views import (
    TokenBlacklistView,
    TokenObtainPairView,
    TokenRefreshView,
    TokenVerifyView,
)

from analysis.similar import Similarity, similar_tickets
from analysis.tasks import request_fresh_rca
from integrations import remediation
from integrations.models import OutboundDelivery, Remediation, WebhookDelivery
from integrations.syncback import last_incident_status_change, last_status_change
from tickets import incidents, lifecycle, login_throttle, resolutions, services, stats
from tickets.api.permissions import IsResponder
from tickets.api.serializers import (
    LIST_FIELDS,
    TRACE_LIMIT,
    AuditEntrySerializer,
    CheckedTokenRefreshSerializer,
    CheckedTokenVerifySerializer,
    ClosedBodySerializer,
    IncidentEventSerializer,
    IncidentSerializer,
    IncidentStatsSerializer,
    NoBodySerializer,
    OutboundDeliverySerializer,
    PastFixWrongSerializer,
    RemediationDecisionSerializer,
    RerunSerializer,
    ResolveSerializer,
    SimilarTicketSerializer,
    StatsQuerySerializer,
    StatsSerializer,
    StrictCharField,
    StrictTokenBlacklistSerializer,
    StrictTokenObtainPairSerializer,
    TicketDetailSerializer,
    TicketListSerializer,
    TraceSerializer,
    TransitionSerializer,
)
from tickets.api.throttles import ClientScopedRateThrottle
from tickets.filtersets import (
    IncidentFilterSet,
    TicketFilterSet,
    TicketOrderingFilter,
    TicketSearchFilter,
)
from tickets.lifecycle import Actor, TransitionError
from tickets.models import AuditLog, Incident, IncidentEvent, Resolution, Ticket
from tickets.roles import AuthenticatedRequest

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

ERROR_SCHEMA = inline_serializer(
    "Error",
    fields={
        "error": serializers.CharField(),
        "detail": serializers.JSONField(required=False),
    },
)
# PostgreSQL or Redis down (rca_project.errors): every endpoint, with a Retry-After header.
UNAVAILABLE = OpenApiResponse(
    ERROR_SCHEMA, description="Database or Redis unavailable: retry after Retry-After seconds"
)
ERRORS = {
    401: OpenApiResponse(ERROR_SCHEMA, description="Not authenticated"),
    403: OpenApiResponse(ERROR_SCHEMA, description="Role too low"),
    404: OpenApiResponse(ERROR_SCHEMA, description="Not found"),
    503: UNAVAILABLE,
}
# A paged list's answer to a query parameter it does not take (CheckedCursorPagination).
UNKNOWN_PARAMETER = OpenApiResponse(
    ERROR_SCHEMA, description="A query parameter the list does not take"
)
BAD_FILTER = OpenApiResponse(
    ERROR_SCHEMA,
    description="A filter or page_size is not valid, or a query parameter the list does not take",
)
NO_BODY_FIELDS = OpenApiResponse(
    ERROR_SCHEMA, description="The body is not empty: the action takes no field"
)
BAD_PAGE_PARAMETER = OpenApiResponse(
    ERROR_SCHEMA,
    description="page_size is not a positive number, or a query parameter the list does not take",
)


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "the ticket is not in a state that allows this"
    default_code = "conflict"


class QueueUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "the analysis queue is unavailable; retry later"
    default_code = "queue_unavailable"


class CheckedCursorPagination(CursorPagination):
    """DRF's cursor pagination, except that a query parameter the list does not take, or one
    that takes one value given several, is refused by name. Every list takes `page_size`, up
    to its `max_page_size`. Its cursors are keys (`KeysetCursorPagination`)."""

    page_size_query_param = "page_size"
    max_page_size = 200

    def _refuse_unknown_parameters(
        self, request: Request, view: APIView | None, queryset: QuerySet[Any, Any]
    ) -> None:
        """`?since=` on a list whose filter is `created_after` is a 400 naming the ones it
        takes: DRF and django-filter ignore a parameter they do not know, and the caller
        would read the whole list as the filtered one."""
        known, repeatable = self._known_parameters(view, queryset)
        unknown = [name for name in request.query_params if name not in known]
        if unknown:
            takes = ", ".join(sorted(known - {"format"}))
            raise ValidationError(
                {
                    name[:40]: f"not a parameter of this list; it takes {takes}"
                    for name in unknown[:5]
                }
            )
        # `?team=a&team=b`: django-filter and DRF read the last value, and the caller would
        # read one team's list as both teams'.
        repeated = {
            name: len(request.query_params.getlist(name))
            for name in request.query_params
            if name not in repeatable and len(request.query_params.getlist(name)) > 1
        }
        if repeated:
            several = f"; repeat only {', '.join(sorted(repeatable))}" if repeatable else ""
            raise ValidationError(
                {
                    name: f"takes one value, given {count} times{several}"
                    for name, count in repeated.items()
                }
            )

    def _known_parameters(
        self, view: APIView | None, queryset: QuerySet[Any, Any]
    ) -> tuple[set[str], set[str]]:
        """The query parameters the list takes, and those of them that take several values
        (a filter of several choices, `?status=open&status=acknowledged`)."""
        repeatable: set[str] = set()
        known = {self.cursor_query_param, api_settings.URL_FORMAT_OVERRIDE or "format"}
        if self.page_size_query_param:
            known.add(self.page_size_query_param)
        # A view's filters apply to its own list (paged by `view.paginator`), not to one a
        # paginator of another makes (an action's sub-list sets its own `pagination_class` and
        # `filter_backends=[]`, as an incident's members and timeline do).
        filtered = view is not None and getattr(view, "paginator", None) is self
        for backend_class in (getattr(view, "filter_backends", None) or []) if filtered else []:
            backend = backend_class()
            if isinstance(backend, DjangoFilterBackend):
                filterset_class = backend.get_filterset_class(view, queryset)
                if filterset_class is not None:
                    known.update(filterset_class.base_filters)
                    repeatable.update(
                        name
                        for name, found in filterset_class.base_filters.items()
                        if issubclass(found.field_class, forms.MultipleChoiceField)
                    )
            elif isinstance(backend, SearchFilter):
                known.add(backend.search_param)
            elif isinstance(backend, OrderingFilter):
                known.add(backend.ordering_param)
        return known, repeatable

    def get_page_size(self, request: Request) -> int | None:
        """A `page_size` that is not a positive whole number is a 400 naming it (DRF would
        give the default page, and the caller would think it got what it asked for); one over
        the cap gets the cap, as in DRF."""
        name = self.page_size_query_param
        asked = request.query_params.get(name) if name else None
        if name and asked is not None and not (asked.isdigit() and int(asked) >= 1):
            raise ValidationError(
                {
                    name: f"a positive whole number (more than {self.max_page_size} is read "
                    f"as {self.max_page_size}), not {asked[:40]!r}"
                }
            )
        return super().get_page_size(request)

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = (
                    f"Results per page, from 1 (default {self.page_size}); more than "
                    f"{self.max_page_size} is read as {self.max_page_size}."
                )
                parameter["schema"] = {"type": "integer", "minimum": 1}
        return parameters


def _is_a_cursor(encoded: str) -> bool:
    """Whether `?cursor=` is one a list's links give: base64 of a query string naming an
    offset, a direction or a position. DRF's decoding skips characters base64 does not use and
    reads a text naming none of them as the first page, which a client whose cursor was cut
    or mangled would then read again and again."""
    try:
        text = b64decode(encoded.encode("ascii"), validate=True).decode("ascii")
    except ValueError:  # not ASCII, not base64 (binascii.Error), or not ASCII decoded
        return False
    return not parse_qs(text, keep_blank_values=True).keys().isdisjoint({"o", "r", "p"})


def action_body(request: Request) -> Any:
    """An action's body for its serializer: none (or an empty form) is `{}`; any other JSON
    value as it is, so that one that is not an object (`[]`, `null`, `0`, `""`) is a 400, not
    read as no body and acted on."""
    data = request.data
    return {} if isinstance(data, Mapping) and not data else data


def refuse_query_parameters(request: Request) -> None:
    """For a list that takes no query parameter (nor pages): `?page_size=5` or a filter is a
    400 naming it, as on the paged lists, not the whole list read as the one asked for."""
    given = [name for name in request.query_params if name != "format"]
    if given:
        raise ValidationError(
            {name[:40]: "not a parameter of this list; it takes none" for name in given[:5]}
        )


def refuse_another_remediation(
    ticket_id: str, named: int | None, current: Remediation | None, current_words: str
) -> None:
    """A decision naming the remediation its caller was shown (`remediation` in the body) is
    not applied to another one: that one expired or was decided, and another proposed since,
    is a 409 saying what became of it and which one is current (`current_words`)."""
    if named is None or (current is not None and current.pk == named):
        return
    earlier = remediation.named(ticket_id, str(named))
    state = earlier.get_status_display().lower() if earlier else "not this ticket's"
    raise Conflict(f"remediation {named} is {state}; {current_words}")


class KeysetCursorPagination(CheckedCursorPagination):
    """Cursor pagination whose position is the whole sort key of the row it follows (every
    ordering term's value, the id last, which no two rows share), after the ordering's terms
    (a cursor of another ordering is refused), not the first term's value and an offset among
    its ties as DRF's is. A page is the rows after (or, following `previous`, before) that key
    in the ordering, so among ties, with filters, in either direction, each row is on exactly
    one page and a walk forward and back lists the rows of one sorted query. NULL sorts as
    PostgreSQL sorts it (after every value ascending, before every value descending): a ticket
    without an SLA deadline is on a page too. The ordering must end with a unique field (the
    ticket ordering filter adds the id; every other paged list's ordering ends with it)."""

    def paginate_queryset(
        self,
        queryset: QuerySet[Any, Any] | Sequence[Any],
        request: Request,
        view: APIView | None = None,
    ) -> list[Any] | None:
        assert isinstance(queryset, QuerySet), "cursor pagination orders and filters a queryset"
        self._refuse_unknown_parameters(request, view, queryset)
        self._queryset = queryset
        self.request = request
        self.page_size = self.get_page_size(request)
        if not self.page_size:
            return None
        self.base_url = request.build_absolute_uri()
        assert view is not None, "the ordering filter of the view orders the list"
        self.ordering = self.get_ordering(request, queryset, view)
        self.cursor = self.decode_cursor(request)
        reverse = bool(self.cursor and self.cursor.reverse)
        key = cast("list[Any] | None", self.cursor.position if self.cursor else None)
        ordering = (
            tuple(term[1:] if term.startswith("-") else f"-{term}" for term in self.ordering)
            if reverse
            else self.ordering
        )
        queryset = queryset.order_by(*ordering)
        if key is not None:
            queryset = queryset.filter(self._after(ordering, key))
        rows = list(queryset[: self.page_size + 1])
        self.page = rows[: self.page_size]
        more = len(rows) > self.page_size
        if reverse:
            self.page.reverse()
        # The keys the links start from: the page's last row forward, its first backward (an
        # empty page, its rows gone since, starts both from the cursor's own key).
        self._first_key = self._key_of(self.page[0]) if self.page else key
        self._last_key = self._key_of(self.page[-1]) if self.page else key
        self.has_next = more if not reverse else key is not None
        self.has_previous = more if reverse else key is not None
        if (self.has_previous or self.has_next) and self.template is not None:
            self.display_page_controls = True
        return self.page

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        position = self._encoded(self._last_key)
        return self.encode_cursor(Cursor(offset=0, reverse=False, position=position))  # type: ignore[arg-type]

    def get_previous_link(self) -> str | None:
        if not self.has_previous:
            return None
        position = self._encoded(self._first_key)
        return self.encode_cursor(Cursor(offset=0, reverse=True, position=position))  # type: ignore[arg-type]

    def decode_cursor(self, request: Request) -> Cursor | None:
        """A cursor of this list always names a key and no offset: one without (made by a
        release before keys, or by hand) is refused, not read as the first page again; nor is
        one whose key does not fit the ordering (`_checked_position`)."""
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded and not _is_a_cursor(encoded):
            raise NotFound(self.invalid_cursor_message)
        cursor = super().decode_cursor(request)
        if cursor is None:
            return None
        if cursor.offset or cursor.position is None:
            raise NotFound(self.invalid_cursor_message)
        return cursor._replace(position=self._checked_position(str(cursor.position)))

    def _key_of(self, row: Any) -> list[Any]:
        names = [term.lstrip("-") for term in self.ordering]
        if isinstance(row, dict):
            return [row[name] for name in names]
        return [getattr(row, name) for name in names]

    def _encoded(self, key: list[Any] | None) -> str:
        """The ordering's terms, then the key's values: a cursor names the ordering it is a key
        of, and another ordering refuses it (`_checked_position`)."""

        def text(value: Any) -> Any:
            if isinstance(value, datetime):
                return value.astimezone(UTC).isoformat()
            if isinstance(value, timedelta):
                return duration_iso_string(value)
            return value if value is None or isinstance(value, int) else str(value)

        values = [self._ordering_named(), *(text(value) for value in key or [])]
        return json.dumps(values, separators=(",", ":"))

    def _ordering_named(self) -> str:
        return ",".join(self.ordering)

    def _field(self, name: str) -> Any:
        query = self._queryset.query
        if name in query.annotations:
            return query.annotations[name].output_field
        return self._queryset.model._meta.get_field(name)

    def _checked_position(self, position: str) -> Any:
        """The key as a list of the ordering's values; NotFound (DRF's answer) for one that is
        not a key of this ordering: edited, forged, made for another ordering (a key of
        `-timestamp` has the types of one of `-last_seen`: it names its ordering first), or by
        a release before keys (whose position was the first term's value, with an offset)."""
        try:
            named = json.loads(position)
        except (ValueError, RecursionError) as exc:  # RecursionError: arrays nested too deep
            raise NotFound(self.invalid_cursor_message) from exc
        if not isinstance(named, list) or named[:1] != [self._ordering_named()]:
            raise NotFound(self.invalid_cursor_message)
        values = named[1:]
        if len(values) != len(self.ordering):
            raise NotFound(self.invalid_cursor_message)
        key: list[Any] = []
        for term, value in zip(self.ordering, values, strict=True):
            field = self._field(term.lstrip("-"))
            if value is None:
                if not getattr(field, "null", False):
                    raise NotFound(self.invalid_cursor_message)
                key.append(None)
                continue
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                raise NotFound(self.invalid_cursor_message)
            key.append(self._checked_value(field, str(value)))
        return key

    def _checked_value(self, field: Any, text: str) -> Any:
        if "\x00" in text:  # PostgreSQL text cannot hold it
            raise NotFound(self.invalid_cursor_message)
        try:
            value = field.to_python(text)
            if isinstance(value, datetime):  # PostgreSQL takes UTC offsets up to 15:59 only
                value = value.astimezone(UTC)
            field.get_prep_value(value)
        except (DjangoValidationError, ValueError, TypeError, OverflowError) as exc:
            raise NotFound(self.invalid_cursor_message) from exc
        return value

    def _after(self, ordering: Sequence[str], key: list[Any]) -> Q:
        """The rows after `key` in `ordering` (read in that order): after it in the first term,
        or equal there and after it in the rest. The first term's own bound (`>=`) comes first,
        so an index on it is entered at the key, as DRF's `>` was."""
        after = Q(pk__in=[])
        for index in range(len(ordering) - 1, -1, -1):
            term = ordering[index]
            name = term.lstrip("-")
            nullable = bool(getattr(self._field(name), "null", False))
            later = _later(name, key[index], term.startswith("-"), nullable)
            same = Q(**{f"{name}__isnull": True}) if key[index] is None else Q(**{name: key[index]})
            after = later | (same & after)
        first = ordering[0].lstrip("-")
        if key[0] is not None and not getattr(self._field(first), "null", False):
            bound = "lte" if ordering[0].startswith("-") else "gte"
            after = Q(**{f"{first}__{bound}": key[0]}) & after
        return after


def _later(name: str, value: Any, descending: bool, nullable: bool) -> Q:
    """The rows after `value` in one term: greater ascending, less descending, NULL after
    every value ascending and before every value descending (PostgreSQL's default)."""
    if value is None:
        return Q(**{f"{name}__isnull": False}) if descending else Q(pk__in=[])
    later = Q(**{f"{name}__lt" if descending else f"{name}__gt": value})
    return later | Q(**{f"{name}__isnull": True}) if nullable and not descending else later


class TicketCursorPagination(KeysetCursorPagination):
    page_size = 50
    ordering = ("-timestamp", "-id")


class AuditCursorPagination(KeysetCursorPagination):
    page_size = 100
    max_page_size = 500
    ordering = ("created_at", "id")


class DeliveryCursorPagination(KeysetCursorPagination):
    """A flaky pipeline's or a storm's ticket gathers tens of thousands of outbound deliveries:
    pages of them, the newest first (served by the `outbound_ticket` index). A delivery
    scheduled while a caller walks the pages sorts before its first page, so the walk still
    reads each one it started with once; the attempts are read for the page's deliveries
    only."""

    page_size = 100
    ordering = ("-created_at", "-id")


class SharedSchema(TypedDict):
    """`extend_schema` arguments that several operations share (passed as `**`)."""

    request: type[serializers.BaseSerializer]
    responses: dict[int, type[serializers.BaseSerializer] | OpenApiResponse]


TRANSITION_SCHEMA: SharedSchema = {
    "request": TransitionSerializer,
    "responses": {
        200: TicketDetailSerializer,
        400: OpenApiResponse(ERROR_SCHEMA, description="Invalid body"),
        409: OpenApiResponse(ERROR_SCHEMA, description="Not allowed from the current status"),
        **ERRORS,
    },
}

DECISION_SCHEMA: dict[str, Any] = {
    "request": RemediationDecisionSerializer,
    "responses": {
        200: TicketDetailSerializer,
        400: OpenApiResponse(ERROR_SCHEMA, description="Invalid body"),
        409: OpenApiResponse(
            ERROR_SCHEMA,
            description="No remediation awaits approval, its approval expired, the one named "
            "is not the one awaiting approval, or (approving) the ticket is resolved or its "
            "policy was disabled, set to never, deleted or set to another action since",
        ),
        **ERRORS,
    },
}

# Retrying the ticket's latest remediation (`remediation.retry`): refused unless it was a failed
# last attempt at its run.
RETRY_SCHEMA: dict[str, Any] = {
    **DECISION_SCHEMA,
    "responses": {
        **DECISION_SCHEMA["responses"],
        409: OpenApiResponse(
            ERROR_SCHEMA,
            description="The ticket's latest remediation is no failed last attempt, the one "
            "named is not the one to retry, the ticket needs no rerun, or its policy was "
            "disabled, set to never, deleted or set to another action since",
        ),
    },
}


@extend_schema_view(
    list=extend_schema(
        summary="List tickets (compact; cursor-paginated)",
        responses={
            200: TicketListSerializer(many=True),
            400: BAD_FILTER,
            401: ERRORS[401],
            403: ERRORS[403],
            404: OpenApiResponse(ERROR_SCHEMA, description="Invalid cursor"),
            503: UNAVAILABLE,
        },
    ),
    retrieve=extend_schema(
        summary="A ticket with everything needed to triage it",
        responses={200: TicketDetailSerializer, **ERRORS},
    ),
)
class TicketViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Ticket.objects.defer("embedding")
    filter_backends = [DjangoFilterBackend, TicketSearchFilter, TicketOrderingFilter]
    filterset_class = TicketFilterSet
    search_fields = ("id", "pipeline", "run_id", "error_message", "itsm_ticket_id")
    pagination_class = TicketCursorPagination
    lookup_value_regex = "[^/]+"

    def initial(self, request: Request, *args: object, **kwargs: object) -> None:
        super().initial(request, *args, **kwargs)
        # No ticket id holds a NUL character (PostgreSQL text cannot): never query for one.
        if "\x00" in str(kwargs.get(self.lookup_field, "")):
            raise NotFound("no ticket with this id")

    def get_object(self) -> Ticket:
        try:
            return super().get_object()
        except Http404 as exc:  # DRF's "No Ticket matches the given query."
            raise NotFound("no ticket with this id") from exc

    def handle_exception(self, exc: Exception) -> Response:
        # A Databricks run's ticket folded into the one its fetched error is an occurrence of
        # (tickets.services `settle_fingerprint`), an ADF alert's into its run's (`settle_run`):
        # the id ingest answered with names that one.
        pk = str(self.kwargs.get(self.lookup_field, ""))
        if isinstance(exc, NotFound) and pk and "\x00" not in pk:
            into = services.folded_into(pk)
            if into is not None:
                exc = NotFound(
                    {
                        "detail": f"ticket {pk} was folded into {into}: its failure is counted "
                        "there",
                        "folded_into": into,
                    }
                )
        return super().handle_exception(exc)

    def get_queryset(self):
        if self.action == "list":  # rows, not model instances: twice as fast for a page
            return Ticket.objects.values(*LIST_FIELDS)
        return super().get_queryset()

    def filter_queryset(self, queryset):
        # Query-string filters are for the list, not for looking one ticket up.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def get_serializer_class(self):
        return TicketListSerializer if self.action == "list" else TicketDetailSerializer

    def _require_ticket(self, pk: str) -> None:
        if not Ticket.objects.filter(pk=pk).exists():
            raise NotFound("no ticket with this id")

    def _transition(self, request: AuthenticatedRequest, pk: str, action_name: str) -> Response:
        body = TransitionSerializer(data=action_body(request))
        body.is_valid(raise_exception=True)
        try:
            lifecycle.transition(
                pk,
                action_name,
                Actor.for_user(request.user, via="api"),
                note=body.validated_data["note"],
            )
        except Ticket.DoesNotExist as exc:
            raise NotFound("no ticket with this id") from exc
        except TransitionError as exc:
            # Who acted first, and when, as a refused Slack click or dashboard action says.
            raise Conflict(f"{exc}{last_status_change(pk)}") from exc
        return Response(TicketDetailSerializer(self.get_object()).data)

    @extend_schema(summary="Acknowledge (responder)", **TRANSITION_SCHEMA)
    @action(detail=True, methods=["post"], permission_classes=[IsResponder])
    def acknowledge(self, request: AuthenticatedRequest, pk: str) -> Response:
        return self._transition(request, pk, "acknowledge")

    @extend_schema(summary="Take: start progress (responder)", **TRANSITION_SCHEMA)
    @action(detail=True, methods=["post"], permission_classes=[IsResponder])
    def take(self, request: AuthenticatedRequest, pk: str) -> Response:
        return self._transition(request, pk, "start_progress")

    @extend_schema(
        summary="Resolve: fixed (responder); `fix` says what fixed it, for next time",
        request=ResolveSerializer,
        responses=TRANSITION_SCHEMA["responses"],
    )
    @action(detail=True, methods=["post"], permission_classes=[IsResponder])
    def resolve(self, request: AuthenticatedRequest, pk: str) -> Response:
        body = ResolveSerializer(data=action_body(request))
        body.is_valid(raise_exception=True)
        try:
            lifecycle.resolve(
                pk,
                Actor.for_user(request.user, via="api"),
                note=body.validated_data["note"],
                fix=body.validated_data["fix"],
            )
        except Ticket.DoesNotExist as exc:
            raise NotFound("no ticket with this id") from exc
        except TransitionError as exc:
            # Who acted first, and when, as a refused Slack click or dashboard action says.
            raise Conflict(f"{exc}{last_status_change(pk)}") from exc
        return Response(TicketDetailSerializer(self.get_object()).data)

    @extend_schema(summary="Reopen (responder)", **TRANSITION_SCHEMA)
    @action(detail=True, methods=["post"], permission_classes=[IsResponder])
    def reopen(self, request: AuthenticatedRequest, pk: str) -> Response:
        return self._transition(request, pk, "reopen")

    def _decide_remediation(
        self, request: AuthenticatedRequest, pk: str, approved: bool
    ) -> Response:
        self._require_ticket(pk)
        body = RemediationDecisionSerializer(data=action_body(request))
        body.is_valid(raise_exception=True)
        pending = remediation.awaiting_for(pk)
        waiting = (
            f"remediation {pending.pk} awaits approval"
            if pending is not None
            else "no remediation of this ticket awaits approval"
        )
        refuse_another_remediation(pk, body.validated_data.get("remediation"), pending, waiting)
        if pending is None:
            raise Conflict(waiting)
        actor = Actor.for_user(request.user, via="api")
        try:
            note = body.validated_data["note"]
            if approved:
                remediation.approve(pending.pk, actor, via="api", note=note)
            else:
                remediation.decline(pending.pk, actor, via="api", note=note)
        except remediation.RemediationError as exc:
            raise Conflict(str(exc)) from exc
        return Response(TicketDetailSerializer(self.get_object()).data)

    @extend_schema(summary="Approve the pending remediation (responder)", **DECISION_SCHEMA)
    @action(
        detail=True,
        methods=["post"],
        url_path="remediation/approve",
        permission_classes=[IsResponder],
    )
    def approve_remediation(self, request: AuthenticatedRequest, pk: str) -> Response:
        return self._decide_remediation(request, pk, True)

    @extend_schema(summary="Decline the pending remediation (responder)", **DECISION_SCHEMA)
    @action(
        detail=True,
        methods=["post"],
        url_path="remediation/decline",
        permission_classes=[IsResponder],
    )
    def decline_remediation(self, request: AuthenticatedRequest, pk: str) -> Response:
        return self._decide_remediation(request, pk, False)

    @extend_schema(
        summary="Retry the ticket's remediation after its last attempt (responder)",
        **RETRY_SCHEMA,
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="remediation/retry",
        permission_classes=[IsResponder],
    )
    def retry_remediation(self, request: AuthenticatedRequest, pk: str) -> Response:
        self._require_ticket(pk)
        body = RemediationDecisionSerializer(data=action_body(request))
        body.is_valid(raise_exception=True)
        last = remediation.to_retry(self.get_object())
        to_retry = (
            f"remediation {last.pk} is the one to retry"
            if last is not None
            else "the ticket has no remediation to retry"
        )
        refuse_another_remediation(pk, body.validated_data.get("remediation"), last, to_retry)
        if last is None:
            raise Conflict(to_retry)
        actor = Actor.for_user(request.user, via="api")
        try:
            remediation.retry(last.pk, actor, via="api", note=body.validated_data["note"])
        except remediation.RemediationError as exc:
            raise Conflict(str(exc)) from exc
        return Response(TicketDetailSerializer(self.get_object()).data)

    @extend_schema(
        summary="Run the root-cause analysis again, in the background (responder)",
        request=TransitionSerializer,
        responses={
            202: RerunSerializer,
            400: OpenApiResponse(ERROR_SCHEMA, description="Invalid body"),
            503: OpenApiResponse(ERROR_SCHEMA, description="Analysis queue unavailable"),
            **ERRORS,
        },
    )
    @action(detail=True, methods=["post"], url_path="rerun-rca", permission_classes=[IsResponder])
    def rerun_rca(self, request: AuthenticatedRequest, pk: str) -> Response:
        body = TransitionSerializer(data=action_body(request))
        body.is_valid(raise_exception=True)
        try:
            queued = request_fresh_rca(
                pk, Actor.for_user(request.user, via="api"), note=body.validated_data["note"]
            )
        except Ticket.DoesNotExist as exc:
            raise NotFound("no ticket with this id") from exc
        except KombuError as exc:  # the request is audited, not queued
            raise QueueUnavailable from exc
        answer = {"ticket_id": pk, "status": "queued" if queued else "already_queued"}
        return Response(answer, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="The ticket's audit trail, oldest first",
        responses={
            200: AuditEntrySerializer(many=True),
            400: BAD_PAGE_PARAMETER,
            **ERRORS,
        },
        filters=False,
    )
    @action(
        detail=True,
        methods=["get"],
        pagination_class=AuditCursorPagination,
        filter_backends=[],
        serializer_class=AuditEntrySerializer,
    )
    def audit(self, request: Request, pk: str) -> Response:
        self._require_ticket(pk)
        entries = AuditLog.objects.filter(ticket_id=pk).select_related("user")
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(AuditEntrySerializer(page, many=True).data)

    @extend_schema(
        summary="Similar past tickets (embedding nearest neighbours), most similar first",
        responses={200: SimilarTicketSerializer(many=True), 400: UNKNOWN_PARAMETER, **ERRORS},
        filters=False,
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def similar(self, request: Request, pk: str) -> Response:
        refuse_query_parameters(request)
        ticket = Ticket.objects.only("id", "embedding", "embedding_model").filter(pk=pk).first()
        if ticket is None:
            raise NotFound("no ticket with this id")
        found = []
        for other, similarity in similar_tickets(ticket):
            # The serializer reads the score off the instance, as if it were an annotation.
            scored = cast("WithAnnotations[Ticket, Similarity]", other)
            scored.similarity = round(similarity, 4)
            found.append(scored)
        return Response(SimilarTicketSerializer(found, many=True).data)

    @extend_schema(
        summary="Outbound deliveries (JIRA, Slack, Blob) with every attempt, the newest first; "
        "paginated",
        responses={
            200: OutboundDeliverySerializer(many=True),
            400: BAD_PAGE_PARAMETER,
            **ERRORS,
            404: OpenApiResponse(
                ERROR_SCHEMA, description="No ticket with this id, or an invalid cursor"
            ),
        },
        filters=False,
    )
    @action(
        detail=True,
        methods=["get"],
        pagination_class=DeliveryCursorPagination,
        filter_backends=[],
        serializer_class=OutboundDeliverySerializer,
    )
    def deliveries(self, request: Request, pk: str) -> Response:
        self._require_ticket(pk)
        outbound = OutboundDelivery.objects.filter(ticket_id=pk).prefetch_related("tries")
        page = self.paginate_queryset(outbound)
        return self.get_paginated_response(OutboundDeliverySerializer(page, many=True).data)


class MarkFixWrongView(APIView):
    permission_classes = [IsResponder]

    @extend_schema(
        summary="Mark a recorded fix wrong: it is never shown again (responder)",
        request=NoBodySerializer,
        responses={200: PastFixWrongSerializer, 400: NO_BODY_FIELDS, **ERRORS},
    )
    def post(self, request: AuthenticatedRequest, resolution_id: str) -> Response:
        NoBodySerializer(data=action_body(request)).is_valid(raise_exception=True)
        # Ids are positive integers; anything else (or past bigint) names no recorded fix.
        if not resolution_id.isdecimal() or len(resolution_id) > 18:
            raise NotFound("no recorded fix with this id")
        try:
            resolution = resolutions.mark_wrong(
                int(resolution_id), Actor.for_user(request.user, via="api")
            )
        except Resolution.DoesNotExist as exc:
            raise NotFound("no recorded fix with this id") from exc
        return Response(PastFixWrongSerializer(resolution).data)


STATS_ERRORS = {
    400: OpenApiResponse(
        ERROR_SCHEMA, description="Bad since/until, or a parameter they do not take"
    ),
    401: ERRORS[401],
    403: ERRORS[403],
    503: UNAVAILABLE,
}


def stats_period(request: Request) -> tuple[datetime, datetime]:
    """The `since`/`until` a stats request asks for (400 naming a bad one)."""
    query = StatsQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data["since"], query.validated_data["until"]


class StatsView(APIView):
    @extend_schema(
        summary="Ticket statistics over a period (default: the last 30 days)",
        description=(
            "Counts by status, severity, error class, source and team; MTTA (time to"
            " acknowledge) and MTTR (time to resolve): mean, p50, p90, in seconds; SLA"
            " compliance; remediation outcomes and the time they saved; inbox outcomes"
            " (dedup, correlation, suppression); a daily series. The default period ends at"
            " the next whole minute. Figures are cached for API_STATS_CACHE_SECONDS (30 s)."
        ),
        parameters=[StatsQuerySerializer],
        responses={200: StatsSerializer, **STATS_ERRORS},
    )
    def get(self, request: Request) -> Response:
        since, until = stats_period(request)
        return Response(StatsSerializer(stats.cached_overview(since, until)).data)


class IncidentStatsView(APIView):
    @extend_schema(
        summary="Noise reduction and response times over a period (default: the last 30 days)",
        description=(
            "Alerts received -> tickets -> incidents -> pages sent (JIRA issues and Slack"
            " messages), and per team, source and culprit the mean time to acknowledge (MTTA)"
            " and to recover at the source (MTTR), in seconds."
        ),
        parameters=[StatsQuerySerializer],
        responses={200: IncidentStatsSerializer, **STATS_ERRORS},
    )
    def get(self, request: Request) -> Response:
        since, until = stats_period(request)
        return Response(IncidentStatsSerializer(stats.incident_stats(since, until)).data)


class TraceView(APIView):
    @extend_schema(
        summary="Follow one webhook delivery: inbox row, ticket, audit trail, outbound work",
        parameters=[
            OpenApiParameter(
                "tracking_id", str, OpenApiParameter.PATH, description="From the webhook's 202."
            )
        ],
        responses={200: TraceSerializer, **ERRORS},
    )
    def get(self, request: Request, tracking_id: str) -> Response:
        try:
            key = uuid.UUID(tracking_id)
        except ValueError as exc:
            raise NotFound("no delivery with this tracking id") from exc
        delivery = (
            WebhookDelivery.objects.select_related("ticket")
            .defer("raw_body", "ticket__embedding", "ticket__error_message")
            .filter(tracking_id=key)
            .first()
        )
        if delivery is None:
            raise NotFound("no delivery with this tracking id")
        audit: list[AuditLog] = []
        outbound: list[OutboundDelivery] = []
        if delivery.ticket_id:
            audit = list(
                AuditLog.objects.filter(ticket_id=delivery.ticket_id).select_related("user")[
                    :TRACE_LIMIT
                ]
            )
            outbound = list(
                OutboundDelivery.objects.filter(ticket_id=delivery.ticket_id).prefetch_related(
                    "tries"
                )[:TRACE_LIMIT]
            )
        trace = {
            "delivery": delivery,
            "ticket": delivery.ticket,
            "audit": audit,
            "outbound": outbound,
        }
        return Response(TraceSerializer(trace).data)


class LockedOut(Throttled):
    """A username locked after failed sign-ins: the message the sign-in forms show, and a
    Retry-After of the lock's length (DRF's own wording would add its wait to the message)."""

    def __init__(self, message: str, seconds: int) -> None:
        super().__init__(detail=message)
        self.wait: float | None = seconds


@extend_schema_view(
    post=extend_schema(
        summary="Log in: username and password for an access and a refresh token",
        responses={
            200: inline_serializer(
                "TokenPair",
                fields={"access": serializers.CharField(), "refresh": serializers.CharField()},
            ),
            400: OpenApiResponse(ERROR_SCHEMA, description="Missing field"),
            401: OpenApiResponse(ERROR_SCHEMA, description="Wrong username or password"),
            429: OpenApiResponse(ERROR_SCHEMA, description="Too many attempts: wait"),
            503: UNAVAILABLE,
        },
    )
)
class LoginThrottledTokenView(TokenObtainPairView):
    """Username and password for an access and a refresh token; brute force gets 429."""

    serializer_class = StrictTokenObtainPairSerializer
    throttle_classes = [ClientScopedRateThrottle]
    throttle_scope = "login"

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Failures count with the sign-in forms' (`tickets.login_throttle`): a locked username
        gets 429 here too, whatever the password."""
        username = request.data.get("username") if isinstance(request.data, dict) else None
        username = username if isinstance(username, str) else ""
        if login_throttle.is_locked_out(request, username):
            raise LockedOut(login_throttle.locked_out_message(), settings.LOGIN_LOCKOUT_SECONDS)
        try:
            response = super().post(request, *args, **kwargs)
        except AuthenticationFailed:
            login_throttle.record_failure(request, username)
            raise
        login_throttle.clear_failures(request, username)
        return response


# What `token/verify/` and `token/revoke/` answer: `{}` as JSON (simplejwt's views).
EMPTY_OBJECT = OpenApiResponse(
    {"type": "object", "additionalProperties": False, "maxProperties": 0},
    description="Done: an empty JSON object, `{}`",
)
TOKEN_ERRORS = {
    400: OpenApiResponse(ERROR_SCHEMA, description="Missing field"),
    401: OpenApiResponse(ERROR_SCHEMA, description="Invalid or expired token"),
    503: UNAVAILABLE,
}


@extend_schema_view(
    post=extend_schema(
        summary="A new access token for a refresh token",
        responses={200: TokenRefreshSerializer, **TOKEN_ERRORS},
    )
)
class DocumentedTokenRefreshView(TokenRefreshView):
    """simplejwt's view, with the errors it answers in the schema. The refresh token is spent:
    the answer carries the next one."""

    serializer_class = CheckedTokenRefreshSerializer


@extend_schema_view(
    post=extend_schema(
        summary="Log out: revoke a refresh token (200, `{}`)",
        responses={200: EMPTY_OBJECT, **TOKEN_ERRORS},
    )
)
class RevokeTokenView(TokenBlacklistView):
    """simplejwt's blacklist view: the refresh token can no longer be used."""

    serializer_class = StrictTokenBlacklistSerializer


@extend_schema_view(
    post=extend_schema(
        summary="Check a token: 200 (`{}`) when it is valid",
        responses={200: EMPTY_OBJECT, **TOKEN_ERRORS},
    )
)
class DocumentedTokenVerifyView(TokenVerifyView):
    """simplejwt's view, with the errors it answers in the schema; a token the API refuses is
    not valid here either."""

    serializer_class = CheckedTokenVerifySerializer


class OfflineSwaggerView(SpectacularSwaggerView):
    """Swagger UI from the assets bundled by drf-spectacular-sidecar: no CDN needed."""

    @staticmethod
    def _swagger_ui_resource(filename: str) -> str:
        return static(f"drf_spectacular_sidecar/swagger-ui-dist/{filename}")

    @staticmethod
    def _swagger_ui_favicon() -> str:
        return static("drf_spectacular_sidecar/swagger-ui-dist/favicon-32x32.png")


INCIDENT_ACTION_SCHEMA: SharedSchema = {
    "request": TransitionSerializer,
    "responses": {
        200: IncidentSerializer,
        400: OpenApiResponse(ERROR_SCHEMA, description="Invalid body"),
        409: OpenApiResponse(ERROR_SCHEMA, description="Not allowed from the current status"),
        **ERRORS,
    },
}


INCIDENT_RESOLVE_SCHEMA: SharedSchema = {**INCIDENT_ACTION_SCHEMA, "request": ResolveSerializer}


class IncidentConflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "the incident is not in a state that allows this"


class IncidentActions:
    """Acting on an incident once, for all its members (tickets/incidents.py)."""

    @staticmethod
    def run(request: AuthenticatedRequest, pk: str, action_name: str) -> Response:
        serializer = ResolveSerializer if action_name == "resolve" else TransitionSerializer
        body = serializer(data=action_body(request))
        body.is_valid(raise_exception=True)
        try:
            incident = incidents.act(
                pk,
                action_name,
                Actor.for_user(request.user, via="api"),
                note=body.validated_data["note"],
                fix=body.validated_data.get("fix", ""),
                via="api",
            )
        except Incident.DoesNotExist as exc:
            raise NotFound("no incident with this id") from exc
        except TransitionError as exc:
            # Who acted first, and when, as a refused Slack click or dashboard action says.
            raise IncidentConflict(f"{exc}{last_incident_status_change(pk)}") from exc
        incident.refresh_from_db()
        return Response(IncidentSerializer(incident).data)


class DetachSerializer(ClosedBodySerializer):
    ticket = StrictCharField(max_length=64, help_text="The member to take out.")


class MergeSerializer(ClosedBodySerializer):
    into = StrictCharField(max_length=64, help_text="The incident that takes the members.")


class IncidentPagination(KeysetCursorPagination):
    page_size = 50
    ordering = ("-last_member_at", "-id")


class MemberPagination(KeysetCursorPagination):
    page_size = 100
    max_page_size = 500
    ordering = ("timestamp", "id")


class TimelinePagination(KeysetCursorPagination):
    """A storm's incident gathers thousands of events: pages of them, not a cut-off list."""

    page_size = 500
    max_page_size = 500
    ordering = ("at", "id")


@extend_schema_view(
    list=extend_schema(
        summary="Incidents, the most recently active first",
        responses={
            200: IncidentSerializer(many=True),
            400: BAD_FILTER,
            401: ERRORS[401],
            403: ERRORS[403],
            404: OpenApiResponse(ERROR_SCHEMA, description="Invalid cursor"),
            503: UNAVAILABLE,
        },
    ),
    retrieve=extend_schema(summary="One incident", responses={200: IncidentSerializer, **ERRORS}),
)
class IncidentViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Incident.objects.all()
    serializer_class = IncidentSerializer
    pagination_class = IncidentPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = IncidentFilterSet
    lookup_value_regex = "[^/]+"

    def filter_queryset(self, queryset):
        """The filters narrow the list; an incident named by its id is found whatever they say."""
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def initial(self, request: Request, *args: object, **kwargs: object) -> None:
        super().initial(request, *args, **kwargs)
        # No incident id holds a NUL character (PostgreSQL text cannot): never query for one.
        if "\x00" in str(kwargs.get(self.lookup_field, "")):
            raise NotFound("no incident with this id")

    def get_object(self) -> Incident:
        try:
            return super().get_object()
        except Http404 as exc:  # DRF's "No Incident matches the given query."
            raise NotFound("no incident with this id") from exc

    @extend_schema(
        summary="Acknowledge the incident and its members (responder)", **INCIDENT_ACTION_SCHEMA
    )
    @action(detail=True, methods=["post"], permission_classes=[IsResponder])
    def acknowledge(self, request: AuthenticatedRequest, pk: str) -> Response:
        return IncidentActions.run(request, pk, "acknowledge")

    @extend_schema(
        summary="Take the incident and its members (responder)", **INCIDENT_ACTION_SCHEMA
    )
    @action(detail=True, methods=["post"], permission_classes=[IsResponder])
    def take(self, request: AuthenticatedRequest, pk: str) -> Response:
        return IncidentActions.run(request, pk, "start_progress")

    @extend_schema(
        summary="Reopen the incident and its members (responder)", **INCIDENT_ACTION_SCHEMA
    )
    @action(detail=True, methods=["post"], permission_classes=[IsResponder])
    def reopen(self, request: AuthenticatedRequest, pk: str) -> Response:
        return IncidentActions.run(request, pk, "reopen")

    @extend_schema(
        summary="Resolve the incident and its members: fixed (responder)",
        **INCIDENT_RESOLVE_SCHEMA,
    )
    @action(detail=True, methods=["post"], permission_classes=[IsResponder])
    def resolve(self, request: AuthenticatedRequest, pk: str) -> Response:
        return IncidentActions.run(request, pk, "resolve")

    @extend_schema(
        summary="Take a wrongly grouped member out of the incident (responder)",
        request=DetachSerializer,
        responses={
            200: IncidentSerializer,
            400: INCIDENT_ACTION_SCHEMA["responses"][400],
            409: INCIDENT_ACTION_SCHEMA["responses"][409],
            **ERRORS,
        },
    )
    @action(detail=True, methods=["post"], permission_classes=[IsResponder])
    def detach(self, request: AuthenticatedRequest, pk: str) -> Response:
        body = DetachSerializer(data=action_body(request))
        body.is_valid(raise_exception=True)
        try:
            incidents.detach(
                pk, body.validated_data["ticket"], Actor.for_user(request.user, via="api")
            )
        except (Incident.DoesNotExist, Ticket.DoesNotExist) as exc:
            raise NotFound("no such incident or ticket") from exc
        except TransitionError as exc:
            raise IncidentConflict(str(exc)) from exc
        return Response(IncidentSerializer(Incident.objects.get(pk=pk)).data)

    @extend_schema(
        summary="Merge this incident into another: its members move there (responder)",
        request=MergeSerializer,
        responses={
            200: IncidentSerializer,
            400: INCIDENT_ACTION_SCHEMA["responses"][400],
            409: INCIDENT_ACTION_SCHEMA["responses"][409],
            **ERRORS,
        },
    )
    @action(detail=True, methods=["post"], permission_classes=[IsResponder])
    def merge(self, request: AuthenticatedRequest, pk: str) -> Response:
        body = MergeSerializer(data=action_body(request))
        body.is_valid(raise_exception=True)
        try:
            into = incidents.merge(
                pk, body.validated_data["into"], Actor.for_user(request.user, via="api")
            )
        except Incident.DoesNotExist as exc:
            raise NotFound("no incident with this id") from exc
        except TransitionError as exc:
            raise IncidentConflict(str(exc)) from exc
        return Response(IncidentSerializer(into).data)

    @extend_schema(
        summary="The incident's members (tickets), oldest first; paginated",
        responses={200: TicketListSerializer(many=True), 400: BAD_PAGE_PARAMETER, **ERRORS},
        filters=False,
    )
    @action(detail=True, methods=["get"], pagination_class=MemberPagination, filter_backends=[])
    def members(self, request: Request, pk: str) -> Response:
        incident = self.get_object()
        rows = Ticket.objects.filter(incident=incident).order_by("timestamp", "id")
        page = self.paginate_queryset(rows.values(*LIST_FIELDS))
        return self.get_paginated_response(TicketListSerializer(page, many=True).data)

    @extend_schema(
        summary="The incident's timeline, in order: member failures and recurrences, related "
        "alerts, JIRA and Slack actions, acknowledgements, recoveries, resolution; paginated",
        responses={
            200: IncidentEventSerializer(many=True),
            400: BAD_PAGE_PARAMETER,
            **ERRORS,
        },
        filters=False,
    )
    @action(detail=True, methods=["get"], pagination_class=TimelinePagination, filter_backends=[])
    def timeline(self, request: Request, pk: str) -> Response:
        incident = self.get_object()
        page = self.paginate_queryset(IncidentEvent.objects.filter(incident=incident))
        return self.get_paginated_response(IncidentEventSerializer(page, many=True).data)
