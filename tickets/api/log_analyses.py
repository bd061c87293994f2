"""REST API of log-analysis jobs (`/api/v1/log-analyses/`): thin views over
`analysis.log_jobs`. Any role may start a job and read every job; cancelling is for the job's
owner or a responder; attaching a report to a ticket is for responders."""

from __future__ import annotations

import copy
import json
import threading
import time
import uuid
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib import auth
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from kombu.exceptions import KombuError
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from analysis import log_jobs
from analysis.filtersets import LogAnalysisFilterSet
from analysis.logs.markdown import report_markdown
from analysis.models import LogAnalysisJob
from tickets.api.parsers import DepthCheckedJSONParser
from tickets.api.permissions import IsResponder
from tickets.api.serializers import (
    ClosedBodySerializer,
    NoBodySerializer,
    StrictCharField,
    refuse_unknown_fields,
    writable_fields,
)
from tickets.api.views import (
    BAD_FILTER,
    ERROR_SCHEMA,
    ERRORS,
    NO_BODY_FIELDS,
    Conflict,
    KeysetCursorPagination,
    QueueUnavailable,
    action_body,
)
from tickets.lifecycle import Actor
from tickets.models import Ticket
from tickets.roles import RESPONDER, VIEWER, AuthenticatedRequest, has_role

# How long one server-sent-events stream follows a job before it ends (the client reconnects).
EVENTS_MAX_SECONDS = 600
EVENTS_POLL_SECONDS = 0.5
# How long an open stream goes on trusting the credentials it was opened with before it checks
# them again, as a new request would (as the websocket does, tickets/consumers.py): a token
# expired or no longer matching the password, a session signed out, an account deactivated or
# a role taken away since then ends the stream.
EVENTS_RECHECK_SECONDS = 5.0


class EventStreamNegotiation(DefaultContentNegotiation):
    """A client that asks for `text/event-stream` (a browser's EventSource does) reaches the
    stream, which is no DRF response; anything DRF renders on the way (an error) is JSON."""

    def select_renderer(
        self,
        request: Request,
        renderers: Iterable[BaseRenderer],
        format_suffix: str | None = None,
    ) -> tuple[BaseRenderer, str]:
        if "text/event-stream" in request.META.get("HTTP_ACCEPT", ""):
            return JSONRenderer(), JSONRenderer.media_type
        return super().select_renderer(request, renderers, format_suffix)


class _StreamSlots:
    """How many event streams this web process holds open: each holds one of its threads for
    up to EVENTS_MAX_SECONDS, so past LOG_ANALYSIS_EVENT_STREAMS a caller is told to poll
    instead, and webhooks and pages always keep threads to run on."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.open = 0

    def take(self) -> bool:
        with self._lock:
            if self.open >= settings.LOG_ANALYSIS_EVENT_STREAMS:
                return False
            self.open += 1
            return True

    def give_back(self) -> None:
        with self._lock:
            self.open -= 1


EVENT_STREAMS = _StreamSlots()


class _HeldStream:
    """A job's events holding a slot until the response is closed (Django closes it when the
    stream ends or the client goes away, started or not)."""

    def __init__(self, job_id: uuid.UUID, still_allowed: Callable[[], bool]) -> None:
        self._events = _event_stream(job_id, still_allowed)
        self._held = True

    def __iter__(self) -> Iterator[str]:
        return self._events

    def close(self) -> None:
        self._events.close()
        if self._held:
            self._held = False
            EVENT_STREAMS.give_back()


class LogAnalysisSerializer(serializers.ModelSerializer):
    ticket_id = serializers.CharField(read_only=True, allow_null=True)
    owner = serializers.CharField(source="owner.username", read_only=True, allow_null=True)
    inputs = serializers.JSONField(read_only=True, help_text='[{"name", "size"}] of the files')

    class Meta:
        model = LogAnalysisJob
        fields: tuple[str, ...] = (
            "id",
            "status",
            "progress",
            "step",
            "error",
            "source",
            "source_ref",
            "inputs",
            "ticket_id",
            "owner",
            "attempts",
            "created_at",
            "started_at",
            "finished_at",
            "attached_at",
        )
        read_only_fields: tuple[str, ...] = fields


class LogAnalysisDetailSerializer(LogAnalysisSerializer):
    report = serializers.JSONField(
        read_only=True,
        allow_null=True,
        help_text=(
            "When done: root_cause, recommendations, confidence, error_type, rca_source, "
            "rca_note, evidence (file, line, time, level, text, role), patterns, timeline "
            "(bucket_seconds, levels, buckets), similar, innermost_cause, chains, summary."
        ),
    )

    class Meta(LogAnalysisSerializer.Meta):
        fields = (*LogAnalysisSerializer.Meta.fields, "report")
        read_only_fields = fields


class UploadRequestSerializer(ClosedBodySerializer):
    file = serializers.ListField(
        child=serializers.FileField(), help_text="One or more log files (plain, .gz or .zip)."
    )
    ticket_id = StrictCharField(required=False, help_text="The ticket the logs belong to.")


class JsonRequestSerializer(ClosedBodySerializer):
    url = StrictCharField(
        required=False,
        max_length=2000,
        help_text=(
            "databricks://runs/<run id> of a run a Databricks ticket records (its failure's run"
            " or its latest run, the job run or a task's own run; with ticket_id, that ticket's),"
            " airflow://dags/<dag>/runs/<run>/tasks/<task>/tries/<n> (?map_index=<i>) of a task"
            " an Airflow ticket records in the same way (read through AIRFLOW_API_URL),"
            " blob://<path in the evidence container> (or its https URL), or an http(s) URL on "
            "the ticket's Airflow log host or LOG_ANALYSIS_URL_HOSTS."
        ),
    )
    ticket_id = StrictCharField(
        required=False,
        max_length=64,
        help_text=(
            "Alone: analyse that ticket's run log. With url: the ticket it belongs to (without "
            "it, a Databricks run's or Airflow task's job belongs to the last seen ticket "
            "recording it)."
        ),
    )


class AttachSerializer(ClosedBodySerializer):
    ticket_id = StrictCharField(
        required=False,
        max_length=64,
        help_text="The ticket to attach to; required only when the analysis belongs to none "
        "(by default, the analysis's own ticket).",
    )


def _ticket(ticket_id: str | None) -> Ticket | None:
    if not ticket_id:
        return None
    if "\x00" in ticket_id:
        raise ValidationError({"ticket_id": "no ticket with this id"})
    ticket = Ticket.objects.defer("embedding").filter(pk=ticket_id).first()
    if ticket is None:
        raise ValidationError({"ticket_id": "no ticket with this id"})
    return ticket


@extend_schema_view(
    list=extend_schema(
        summary="Log-analysis jobs, newest first (cursor-paginated)",
        responses={
            200: LogAnalysisSerializer(many=True),
            400: BAD_FILTER,
            **ERRORS,
        },
    ),
    retrieve=extend_schema(
        summary="A log-analysis job: status, progress, step and, when done, its report",
        responses={200: LogAnalysisDetailSerializer, **ERRORS},
    ),
)
class LogAnalysisViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = LogAnalysisJob.objects.select_related("owner")
    serializer_class = LogAnalysisDetailSerializer
    pagination_class = type(
        "LogAnalysisPagination",
        (KeysetCursorPagination,),
        {"page_size": 50, "ordering": ("-created_at", "-id")},
    )
    filter_backends = [DjangoFilterBackend]
    filterset_class = LogAnalysisFilterSet
    parser_classes = [DepthCheckedJSONParser, MultiPartParser]
    write_role = VIEWER
    lookup_value_regex = "[^/]+"  # any id reaches get_object, which answers a JSON 404

    def get_serializer_class(self):
        return LogAnalysisSerializer if self.action == "list" else LogAnalysisDetailSerializer

    def filter_queryset(self, queryset):
        """The filters narrow the list; a job named by its id is found whatever they say."""
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def get_object(self) -> LogAnalysisJob:
        try:
            job_id = uuid.UUID(str(self.kwargs["pk"]))
        except ValueError as exc:
            raise NotFound("no log analysis with this id") from exc
        job = self.get_queryset().filter(pk=job_id).first()
        if job is None:
            raise NotFound("no log analysis with this id")
        return job

    @extend_schema(
        summary="Start a log analysis: upload files, or name a URL or a ticket (202)",
        request={
            "multipart/form-data": UploadRequestSerializer,
            "application/json": JsonRequestSerializer,
        },
        responses={
            202: LogAnalysisSerializer,
            400: OpenApiResponse(ERROR_SCHEMA, description="Nothing to analyse, or refused"),
            503: OpenApiResponse(ERROR_SCHEMA, description="Analysis queue unavailable"),
            401: ERRORS[401],
            403: ERRORS[403],
        },
    )
    def create(self, request: AuthenticatedRequest) -> Response:
        if not isinstance(request.data, Mapping):
            raise ValidationError("the body must be a JSON object or a multipart form")
        data = request.data
        files = request.FILES.getlist("file")
        # A multipart form takes `file` and `ticket_id`; a JSON body takes `url` and `ticket_id`.
        multipart = request.content_type.startswith("multipart/form-data")
        body = UploadRequestSerializer if multipart else JsonRequestSerializer
        refuse_unknown_fields(data, writable_fields(body()))
        ticket_id = data.get("ticket_id")
        if ticket_id is not None and not isinstance(ticket_id, str):
            raise ValidationError({"ticket_id": "must be a string"})
        url = None if files else data.get("url")
        if url is not None and not isinstance(url, str):
            raise ValidationError({"url": "must be a string"})
        ticket = _ticket(ticket_id)
        try:
            if files:
                uploads = [log_jobs.Upload(f.name or "", f) for f in files]
                job = log_jobs.create_job_from_files(request.user, uploads, ticket)
            elif url:
                job = log_jobs.create_job_from_url(request.user, url, ticket)
            elif ticket is not None:
                job = log_jobs.create_job_for_ticket(request.user, ticket)
            else:
                raise ValidationError(
                    "nothing to analyse: send files (multipart field `file`), a url or a ticket_id"
                )
        except log_jobs.LogJobError as exc:
            raise ValidationError(str(exc)) from exc
        except KombuError as exc:
            raise QueueUnavailable from exc
        return Response(LogAnalysisSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Cancel a queued or running job (its owner or a responder)",
        request=NoBodySerializer,
        responses={
            200: LogAnalysisSerializer,
            400: NO_BODY_FIELDS,
            409: OpenApiResponse(ERROR_SCHEMA, description="Already finished"),
            **ERRORS,
        },
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: AuthenticatedRequest, pk: str) -> Response:
        job = self.get_object()
        if job.owner_id != request.user.pk and not has_role(request.user, RESPONDER):
            raise PermissionDenied("only the job's owner or a responder may cancel it")
        NoBodySerializer(data=action_body(request)).is_valid(raise_exception=True)
        if job.finished:
            raise Conflict(f"the analysis is already {job.status}")
        job = log_jobs.cancel_job(job.pk)
        return Response(LogAnalysisSerializer(job).data)

    @extend_schema(
        summary="Make the report the ticket's RCA, source marked log-analysis (responder)",
        request=AttachSerializer,
        responses={
            200: LogAnalysisSerializer,
            400: OpenApiResponse(ERROR_SCHEMA, description="Invalid body or unknown ticket"),
            409: OpenApiResponse(ERROR_SCHEMA, description="The analysis is not done"),
            **ERRORS,
        },
    )
    @action(detail=True, methods=["post"], permission_classes=[IsResponder])
    def attach(self, request: AuthenticatedRequest, pk: str) -> Response:
        job = self.get_object()
        body = AttachSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        ticket = _ticket(body.validated_data.get("ticket_id") or job.ticket_id)
        if ticket is None:
            raise ValidationError(
                {"ticket_id": "This field is required: the analysis belongs to no ticket."}
            )
        try:
            log_jobs.attach_to_ticket(job, ticket.pk, Actor.for_user(request.user, via="api"))
        except log_jobs.AttachError as exc:
            raise Conflict(str(exc)) from exc
        job.refresh_from_db()
        return Response(LogAnalysisSerializer(job).data)

    @extend_schema(
        summary="The report as Markdown",
        responses={(200, "text/markdown"): OpenApiTypes.STR, **ERRORS},
    )
    @action(detail=True, methods=["get"], url_path="markdown")
    def markdown(self, request: Request, pk: str) -> HttpResponse:
        job = self.get_object()
        text = report_markdown(
            {
                "id": str(job.pk),
                "status": job.status,
                "created_at": job.created_at.isoformat(),
                "ticket_id": job.ticket_id,
                "error": job.error,
            },
            job.report,
        )
        response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="log-analysis-{job.pk}.md"'
        return response

    @extend_schema(
        summary="Server-sent events: the job's progress until it finishes (for scripts)",
        description=(
            "Each event is `event: progress` with the job's id, status, progress, step and "
            f"error as JSON; the stream ends when the job finishes or after {EVENTS_MAX_SECONDS}"
            " s (reconnect to follow it further). The credentials are checked again every "
            f"{EVENTS_RECHECK_SECONDS:g} s: once they no longer let the caller in (token expired, "
            "signed out, account deactivated, role taken away), the stream ends with an "
            "`event: unauthorized`. Each web process holds at most "
            "LOG_ANALYSIS_EVENT_STREAMS streams (4) open; past that the answer is a 429: poll the"
            " job instead."
        ),
        responses={
            (200, "text/event-stream"): OpenApiTypes.STR,
            **ERRORS,
            429: OpenApiResponse(ERROR_SCHEMA, description="Too many streams open: poll"),
        },
    )
    @action(detail=True, methods=["get"], content_negotiation_class=EventStreamNegotiation)
    def events(self, request: Request, pk: str) -> HttpResponseBase:
        job = self.get_object()
        limit = settings.LOG_ANALYSIS_EVENT_STREAMS
        # A HEAD gets a GET's answer without the stream, and takes no slot: gunicorn would run
        # a HEAD's stream to its end, holding one.
        head = request.method == "HEAD"
        if not (EVENT_STREAMS.open < limit if head else EVENT_STREAMS.take()):
            return Response(
                {
                    "error": f"too many event streams open on this server process ({limit}); "
                    f"poll GET {request.path.removesuffix('events/')} instead",
                },
                status=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": "5"},
            )
        response = (
            HttpResponse(content_type="text/event-stream")
            if head
            else StreamingHttpResponse(
                _HeldStream(job.pk, self._still_allowed(request)),
                content_type="text/event-stream",
            )
        )
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        return response

    def _still_allowed(self, request: Request) -> Callable[[], bool]:
        """Whether the request's credentials, read again (the token checked anew, the session
        read again from its store, the user from the database), would still be let in here."""
        original = request._request

        def allowed() -> bool:
            again = copy.copy(original)
            for cached in ("user", "_cached_user", "auser"):
                again.__dict__.pop(cached, None)
            session_key = getattr(original, "session", None) and original.session.session_key
            again.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
            again.user = auth.get_user(again)
            fresh = Request(again, authenticators=self.get_authenticators())
            try:
                return all(p.has_permission(fresh, self) for p in self.get_permissions())
            except APIException:  # the credentials no longer authenticate
                return False

        return allowed


def _event_stream(job_id: uuid.UUID, still_allowed: Callable[[], bool]) -> Generator[str]:
    deadline = time.monotonic() + EVENTS_MAX_SECONDS
    next_check = time.monotonic() + EVENTS_RECHECK_SECONDS
    last: dict[str, Any] | None = None
    while True:
        if time.monotonic() >= next_check:
            if not still_allowed():
                error = {"error": "the credentials no longer allow reading this job"}
                yield f"event: unauthorized\ndata: {json.dumps(error)}\n\n"
                return
            next_check = time.monotonic() + EVENTS_RECHECK_SECONDS
        job = LogAnalysisJob.objects.filter(pk=job_id).first()
        if job is None:
            return
        event = log_jobs.job_event(job)
        if event != last:
            last = event
            yield f"event: progress\ndata: {json.dumps(event)}\n\n"
        else:
            yield ": waiting\n\n"
        if job.finished or time.monotonic() > deadline:
            return
        time.sleep(EVENTS_POLL_SECONDS)
