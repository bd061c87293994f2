"""API representations. Never the embedding vector; list items stay compact (no long texts)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, cast

from django.db import transaction
from django.http import QueryDict
from django.utils import timezone
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import (
    TokenBlacklistSerializer,
    TokenObtainPairSerializer,
    TokenRefreshSerializer,
    TokenVerifySerializer,
)
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import RefreshToken, UntypedToken
from rest_framework_simplejwt.utils import get_md5_hash_password

from integrations.models import DeliveryAttempt, OutboundDelivery, Remediation, WebhookDelivery
from integrations.targets.jira import jira_url
from tickets.api.authentication import token_user
from tickets.models import (
    SLA_RUNNING,
    TITLE_FIELDS,
    ActorKind,
    AuditLog,
    Incident,
    IncidentEvent,
    Occurrence,
    Resolution,
    Ticket,
    ticket_title,
)
from tickets.resolutions import previous_fixes
from tickets.vocabulary import Outcome, Status, choices

RECENT_OCCURRENCES = 20

# What a list item carries: what `TicketListSerializer` reads, nothing more is loaded.
LIST_FIELDS = (
    "id",
    "timestamp",
    *TITLE_FIELDS,
    "run_id",
    "severity",
    "priority",
    "error_type",
    "status",
    "source",
    "sla_status",
    "sla_deadline",
    "occurrence_count",
    "last_seen",
    "finops_team",
    "itsm_ticket_id",
    "rca_source",
    "ack_ts",
    "resolved_at_source_at",
    "incident_id",
)


class StrictCharField(serializers.CharField):
    """A string field of a request body that refuses anything but a string with a 400 naming
    the field (`"detail": {"note": "must be a string"}`): DRF's `CharField` turns a number into its
    text (`{"note": 5}` would be the note "5")."""

    default_error_messages = {"invalid": "must be a string"}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A whole-number field of a request body that refuses a string, a boolean or a fraction
    with a 400 naming the field (`"detail": {"remediation": "must be a whole number"}`): DRF's
    `IntegerField` reads `"12"` and `12.0` as 12. A form body has only text, so its digits are
    still read."""

    default_error_messages = {"invalid": "must be a whole number"}

    def to_internal_value(self, data: Any) -> int:
        from_form = isinstance(self.root.initial_data, QueryDict)
        if isinstance(data, bool) or not (
            isinstance(data, int) or (from_form and isinstance(data, str))
        ):
            self.fail("invalid")
        return int(super().to_internal_value(data))


class SlaRemainingMixin:
    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_sla_remaining_seconds(self, ticket: Ticket) -> int | None:
        """Seconds left before the SLA deadline (negative when overdue); null once acknowledged
        or resolved."""
        remaining: timedelta | None = ticket.sla_remaining(timezone.now())
        return int(remaining.total_seconds()) if remaining is not None else None


TITLE_HELP = (
    "What the ticket is called where tickets are listed: its pipeline; for an Azure Monitor "
    "alert (whose pipeline is its rule's name), also the resource it is about, "
    "'vm-cpu-high on vm-web-03'; for a Service Health alert, the event Azure titled "
    "('Azure Data Factory - East US'), its rule's name staying its pipeline."
)


class TicketListSerializer(SlaRemainingMixin, serializers.ModelSerializer):
    title = serializers.CharField(read_only=True, help_text=TITLE_HELP)
    team = serializers.CharField(source="finops_team", read_only=True)
    jira_key = serializers.CharField(source="itsm_ticket_id", read_only=True)
    sla_remaining_seconds = serializers.SerializerMethodField()
    resolved_at_source = serializers.SerializerMethodField()
    _extra_fields: tuple[str, ...] = ()  # what a subclass adds, read as they are

    class Meta:
        model = Ticket
        fields: tuple[str, ...] = (
            "id",
            "timestamp",
            "pipeline",
            "title",
            "run_id",
            "severity",
            "priority",
            "error_type",
            "status",
            "source",
            "sla_status",
            "sla_deadline",
            "sla_remaining_seconds",
            "occurrence_count",
            "last_seen",
            "team",
            "jira_key",
            "rca_source",
            "ack_ts",
            "resolved_at_source",
            "incident",
        )
        read_only_fields = fields
        extra_kwargs = {
            "incident": {
                "help_text": "The incident it is a member of (act on that, once for all its "
                "members), or null."
            }
        }

    def get_resolved_at_source(self, ticket: Ticket) -> bool:
        return ticket.resolved_at_source_at is not None

    def to_representation(self, ticket: Ticket | Mapping[str, Any]) -> dict[str, Any]:
        """Built by hand: a page holds up to 200 items, and DRF's per-field machinery costs ten
        times this (tests/api/test_tickets.py holds both equal). Takes a ticket or a row of
        `Ticket.objects.values(*LIST_FIELDS)`."""
        row = ticket if isinstance(ticket, Mapping) else _Attributes(ticket)
        tz = timezone.get_current_timezone()
        deadline = row["sla_deadline"]
        remaining = None
        if deadline is not None and row["status"] in SLA_RUNNING:
            remaining = int((deadline - timezone.now()).total_seconds())
        item = {
            "id": row["id"],
            "timestamp": _iso(row["timestamp"], tz),
            "pipeline": row["pipeline"],
            "title": ticket_title(row["pipeline"], row["processing_mode"], row["affected_entity"]),
            "run_id": row["run_id"],
            "severity": row["severity"],
            "priority": row["priority"],
            "error_type": row["error_type"],
            "status": row["status"],
            "source": row["source"],
            "sla_status": row["sla_status"],
            "sla_deadline": _iso(deadline, tz),
            "sla_remaining_seconds": remaining,
            "occurrence_count": row["occurrence_count"],
            "last_seen": _iso(row["last_seen"], tz),
            "team": row["finops_team"],
            "jira_key": row["itsm_ticket_id"],
            "rca_source": row["rca_source"],
            "ack_ts": _iso(row["ack_ts"], tz),
            "resolved_at_source": row["resolved_at_source_at"] is not None,
            "incident": row["incident_id"],
        }
        for name in self._extra_fields:
            item[name] = row[name]
        return item


class _Attributes:
    def __init__(self, obj: object) -> None:
        self.obj = obj

    def __getitem__(self, name: str) -> Any:
        return getattr(self.obj, name)


def _iso(value: datetime | None, tz: tzinfo) -> str | None:
    """As DRF's DateTimeField renders it (current time zone, UTC as Z)."""
    if value is None:
        return None
    text = value.astimezone(tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class OccurrenceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Occurrence
        fields = ("key", "outcome", "seen_at")
        read_only_fields = fields


class PastFixSerializer(serializers.Serializer):
    resolution_id = serializers.IntegerField()
    ticket_id = serializers.CharField()
    fix = serializers.CharField()
    resolved_by = serializers.CharField()
    resolved_at = serializers.DateTimeField()
    verified = serializers.BooleanField(help_text="The pipeline succeeded again after this fix.")
    same_failure = serializers.BooleanField(help_text="Same fingerprint (else: similar).")
    similarity = serializers.FloatField()
    held = serializers.BooleanField(
        help_text="False when the failure came back after this fix (its ticket regressed)."
    )
    failed_again_at = serializers.DateTimeField(
        allow_null=True, help_text="When its ticket regressed after this fix, if it did."
    )
    headline = serializers.CharField(
        help_text="`Last time (ticket, 2026-12-07 14:05 UTC, who): <fix>`, and `(did not hold: it"
        " failed again on <date>)` after a fix that did not hold"
    )


class RemediationSerializer(serializers.ModelSerializer):
    """One remediation of the ticket: what, where it stands and why, who decided when."""

    policy = serializers.CharField(source="policy.name", default="", read_only=True)
    action_label = serializers.CharField(source="get_action_display", read_only=True)

    class Meta:
        model = Remediation
        fields = (
            "id",
            "action",
            "action_label",
            "policy",
            "attempt_number",
            "status",
            "reason",
            "confidence",
            "dry_run",
            "created_at",
            "expires_at",
            "decided_by",
            "decided_via",
            "decided_at",
            "started_at",
            "finished_at",
            "external_run_id",
        )
        read_only_fields = fields


class TicketDetailSerializer(SlaRemainingMixin, serializers.ModelSerializer):
    title = serializers.CharField(read_only=True, help_text=TITLE_HELP)
    team = serializers.CharField(source="finops_team", read_only=True)
    owner = serializers.CharField(source="finops_owner", read_only=True)
    cost_center = serializers.CharField(source="finops_cost_center", read_only=True)
    jira_key = serializers.CharField(source="itsm_ticket_id", read_only=True)
    jira_url = serializers.SerializerMethodField()
    # Not a URLField: empty until the evidence is uploaded, and "" is not a URI.
    blob_log_url = serializers.CharField(
        read_only=True, help_text="The evidence in Blob Storage; empty until it is uploaded."
    )
    slack_permalink = serializers.CharField(
        read_only=True,
        help_text=(
            "Slack's link to the ticket's alert (chat.getPermalink, asked once after it is "
            "posted); empty before, or when Slack gave none then: slack_channel and slack_ts "
            "name the message."
        ),
    )
    recommendations = serializers.ListField(child=serializers.CharField(), read_only=True)
    affected_entity = serializers.DictField(read_only=True)
    links = serializers.DictField(read_only=True)
    details = serializers.DictField(read_only=True)
    sla_remaining_seconds = serializers.SerializerMethodField()
    recent_occurrences = serializers.SerializerMethodField()
    previous_ticket = serializers.CharField(
        source="previous_ticket_id",
        read_only=True,
        allow_null=True,
        help_text="Seen before: the earlier, resolved ticket of the same failure.",
    )
    previous_fixes = serializers.SerializerMethodField()

    remediations = serializers.SerializerMethodField()

    class Meta:
        model = Ticket
        fields = (
            "id",
            "timestamp",
            "source",
            "processing_mode",
            "pipeline",
            "title",
            "run_id",
            "status",
            "severity",
            "priority",
            "error_type",
            "error_message",
            "affected_entity",
            "rca_result",
            "recommendations",
            "confidence",
            "rca_source",
            "rca_note",
            "analysed_at",
            "sla_seconds",
            "sla_deadline",
            "sla_status",
            "sla_remaining_seconds",
            "ack_ts",
            "ack_user",
            "ack_seconds",
            "team",
            "owner",
            "cost_center",
            "jira_key",
            "jira_url",
            "jira_project",
            "slack_channel",
            "slack_ts",
            "slack_permalink",
            "blob_log_url",
            "logic_app_run_id",
            "remediation_status",
            "resolved_at",
            "resolved_by",
            "resolve_seconds",
            "remediations",
            "resolved_at_source_at",
            "regressed_at",
            "regression_count",
            "previous_ticket",
            "previous_fixes",
            "fingerprint",
            "occurrence_count",
            "first_seen",
            "last_seen",
            "recent_occurrences",
            "tracking_id",
            "links",
            "details",
            "culprit",
            "culprit_detail",
            "incident",
            "updated_at",
        )
        read_only_fields = fields

    @extend_schema_field(RemediationSerializer(many=True))
    def get_remediations(self, ticket: Ticket) -> list[dict[str, Any]]:
        """The ticket's remediations, the latest first (a pending approval shows here)."""
        found = Remediation.objects.filter(ticket_id=ticket.pk).select_related("policy")
        return list(RemediationSerializer(found, many=True).data)

    def get_jira_url(self, ticket: Ticket) -> str:
        return jira_url(ticket.itsm_ticket_id) if ticket.itsm_ticket_id else ""

    @extend_schema_field(OccurrenceSerializer(many=True))
    def get_recent_occurrences(self, ticket: Ticket) -> list[dict[str, Any]]:
        """The latest occurrences (deliveries of this failure), newest first."""
        deliveries = Occurrence.objects.deliveries_of_failure(ticket.pk)
        latest = deliveries.order_by("-seen_at", "-id")[:RECENT_OCCURRENCES]
        # The stubs miss that many=True builds a ListSerializer, whose data is a list.
        return OccurrenceSerializer(latest, many=True).data  # type: ignore[return-value]

    @extend_schema_field(PastFixSerializer(many=True))
    def get_previous_fixes(self, ticket: Ticket) -> list[dict[str, Any]]:
        """What fixed failures like this one before, best first (verified fixes first)."""
        return [fix.as_dict() for fix in previous_fixes(ticket)]


class PastFixWrongSerializer(serializers.ModelSerializer):
    class Meta:
        model = Resolution
        fields = ("id", "ticket", "fix", "resolved_by", "marked_wrong_at", "marked_wrong_by")
        read_only_fields = fields


class SimilarTicketSerializer(TicketListSerializer):
    similarity = serializers.FloatField(read_only=True)
    _extra_fields = ("similarity",)

    class Meta(TicketListSerializer.Meta):
        fields = (*TicketListSerializer.Meta.fields, "similarity")
        read_only_fields = fields


def refuse_unknown_fields(data: Any, takes: Iterable[str]) -> None:
    """A 400 naming the keys of a request body that are not among the fields it `takes`: a key
    dropped would be dropped with what it said (`notes`, or `fix` given to acknowledge). A
    form's CSRF token (a session's form post) is the request's, not the body's."""
    if not isinstance(data, Mapping):
        return
    fields = list(takes)
    unknown = [str(key) for key in data if key not in fields and key != "csrfmiddlewaretoken"]
    if unknown:
        listed = ", ".join(fields) or "no field"
        raise serializers.ValidationError(
            {key[:40]: f"not a field of this body; it takes {listed}" for key in unknown[:5]}
        )


JSON_KINDS = ((bool, "a boolean"), (int, "a number"), (float, "a number"), (str, "a string"))


def json_kind(value: Any) -> str:
    """A JSON value's kind in JSON's words (DRF's errors said "No data provided" of `null` and
    "Expected a dictionary, but got list" of `[]`)."""
    if value is None:
        return "null"
    if isinstance(value, list):
        return "an array"
    return next((kind for type_, kind in JSON_KINDS if isinstance(value, type_)), "another value")


class ClosedBodySerializer(serializers.Serializer):
    """A request body of the serializer's writable fields only (`refuse_unknown_fields`); its
    schema says so (`additionalProperties: false`, `ClosedBodySchema`). A body that is not an
    object is a 400 saying what it is (`is_valid(raise_exception=True)`, as every view calls
    it), as the log analyses' start says it."""

    def is_valid(self, *, raise_exception: bool = False) -> bool:
        data = getattr(self, "initial_data", serializers.empty)
        if raise_exception and data is not serializers.empty and not isinstance(data, Mapping):
            raise serializers.ValidationError(
                f"the body must be a JSON object, not {json_kind(data)}"
            )
        return super().is_valid(raise_exception=raise_exception)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        refuse_unknown_fields(data, writable_fields(self))
        return super().to_internal_value(data)


def writable_fields(serializer: serializers.Serializer) -> list[str]:
    return [name for name, field in serializer.fields.items() if not field.read_only]


class ClosedBodySchema(OpenApiSerializerExtension):
    """A closed body's request schema declares `additionalProperties: false`, so generated
    clients refuse the fields the API refuses."""

    target_class = ClosedBodySerializer
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer(
            self.target, direction, bypass_extensions=True
        )
        if direction == "request":
            schema["additionalProperties"] = False
        return schema


class NoBodySerializer(ClosedBodySerializer):
    """An action that takes nothing: an empty body, `{}`, or none."""


class TransitionSerializer(ClosedBodySerializer):
    note = StrictCharField(required=False, allow_blank=True, max_length=2000, default="")


class RemediationDecisionSerializer(TransitionSerializer):
    remediation = StrictIntegerField(
        required=False,
        min_value=1,
        help_text="The id of the remediation decided (`remediations[].id` on the ticket), as it "
        "was shown: when the ticket's is another one now (that one expired or was decided, "
        "and another was proposed since), nothing is decided (409). Without it, whichever is "
        "the ticket's now.",
    )


class ResolveSerializer(TransitionSerializer):
    fix = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=8000,
        default="",
        help_text="What fixed it (optional): shown first when a failure like it comes again.",
    )


class RerunSerializer(serializers.Serializer):
    ticket_id = serializers.CharField()
    status = serializers.CharField(
        help_text="`queued`: the analysis runs in the background; `already_queued`: one asked "
        "for moments ago has not finished yet and answers this request too."
    )


class AuditEntrySerializer(serializers.ModelSerializer):
    username = serializers.CharField(
        source="user.username",
        read_only=True,
        default=None,
        allow_null=True,
        help_text="The user behind the change; null for JIRA, Slack, the source or the system.",
    )
    before = serializers.DictField(read_only=True)
    after = serializers.DictField(read_only=True)
    details = serializers.DictField(read_only=True)

    class Meta:
        model = AuditLog
        fields = (
            "id",
            "created_at",
            "actor_kind",
            "actor_name",
            "username",
            "action",
            "before",
            "after",
            "details",
        )
        read_only_fields = fields


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ("started_at", "duration_ms", "outcome", "http_status", "error")
        read_only_fields = fields


class OutboundDeliverySerializer(serializers.ModelSerializer):
    attempts_made = serializers.IntegerField(source="attempts", read_only=True)
    attempts = DeliveryAttemptSerializer(source="tries", many=True, read_only=True)
    payload = serializers.DictField(read_only=True)

    class Meta:
        model = OutboundDelivery
        fields = (
            "id",
            "key",
            "target",
            "action",
            "status",
            "attempts_made",
            "last_error",
            "created_at",
            "next_attempt_at",
            "completed_at",
            "payload",
            "attempts",
        )
        read_only_fields = fields


class InboxDeliverySerializer(serializers.ModelSerializer):
    outcome = serializers.ChoiceField(
        choices=choices(Outcome),
        allow_blank=True,
        read_only=True,
        help_text="Empty for a rejected delivery (of the wrong shape: it recorded nothing).",
    )
    processed_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="When its processing ended: at ingest for a delivery it finished (status "
        "processed at once: a duplicate, most recurrences, a suppressed, resolved or ignored "
        "delivery), else when a worker finished it. Null while it is pending, and for a "
        "rejected delivery (nothing to do).",
    )
    headers = serializers.DictField(read_only=True)
    event = serializers.DictField(read_only=True, help_text="The normalized FailureEvent.")

    class Meta:
        model = WebhookDelivery
        fields = (
            "tracking_id",
            "source",
            "received_at",
            "status",
            "outcome",
            "reason",
            "attempts",
            "processed_at",
            "headers",
            "event",
        )
        read_only_fields = fields


# A trace's ticket's audit entries and outbound deliveries: the first this many of each, oldest
# first (a storm's ticket has tens of thousands); `audit/` and `deliveries/` page through all.
TRACE_LIMIT = 500


class TraceSerializer(serializers.Serializer):
    delivery = InboxDeliverySerializer()
    ticket = TicketListSerializer(allow_null=True)
    audit = AuditEntrySerializer(
        many=True,
        help_text=f"The ticket's first {TRACE_LIMIT} audit entries, oldest first; `GET "
        "/api/v1/tickets/{id}/audit/` pages through all of them.",
    )
    outbound = OutboundDeliverySerializer(
        many=True,
        help_text=f"The ticket's first {TRACE_LIMIT} outbound deliveries, oldest first, with their "
        "attempts; `GET /api/v1/tickets/{id}/deliveries/` pages through all of them.",
    )


class StatsQuerySerializer(serializers.Serializer):
    since = serializers.DateTimeField(required=False, help_text="Start (ISO 8601, inclusive).")
    until = serializers.DateTimeField(required=False, help_text="End (ISO 8601, exclusive).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # `?team=` or `?source=` is no filter of the stats: answered, the whole period's figures
        # would read as the team's or the source's.
        unknown = [name for name in self.initial_data if name not in _STATS_PARAMETERS]
        if unknown:
            raise serializers.ValidationError(
                {
                    name[:40]: "not a parameter of the stats; they take since, until"
                    for name in unknown[:5]
                }
            )
        # `?since=a&since=b`: the last one would be read, and the caller would take the figures
        # for the period from `a` (the lists refuse a filter of one value given twice alike).
        given = getattr(self.initial_data, "getlist", None)
        repeated = {name: len(given(name)) for name in ("since", "until")} if given else {}
        if any(count > 1 for count in repeated.values()):
            raise serializers.ValidationError(
                {
                    name: f"takes one value, given {count} times"
                    for name, count in repeated.items()
                    if count > 1
                }
            )
        # By default up to the next whole minute: repeated calls name the same period (and
        # share the cached figures), and nothing that happened before the call is left out.
        until = attrs.get("until") or _next_minute(timezone.now())
        if until > LATEST_STATS_UNTIL:
            raise serializers.ValidationError(
                {"until": f"must be at most {LATEST_STATS_UNTIL:%Y-%m-%dT%H:%M:%SZ}"}
            )
        since = attrs.get("since")
        if since is None:
            try:
                since = until - DEFAULT_STATS_PERIOD
            except OverflowError as exc:
                raise serializers.ValidationError(
                    {
                        "until": f"without since, must be {DEFAULT_STATS_PERIOD.days} days after "
                        "0001-01-01 or later"
                    }
                ) from exc
        if since >= until:
            raise serializers.ValidationError({"since": "must be before 'until'"})
        if until - since > MAX_STATS_PERIOD:
            raise serializers.ValidationError(
                {"since": f"the period may span at most {MAX_STATS_PERIOD.days} days"}
            )
        return {"since": since, "until": until}


DEFAULT_STATS_PERIOD = timedelta(days=30)
# `format` is DRF's own (`?format=json`).
_STATS_PARAMETERS = frozenset({"since", "until", "format"})


def _next_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0) + timedelta(minutes=1)


MAX_STATS_PERIOD = timedelta(days=366)
# The daily series steps one day past the period's last day: a period may not reach the last
# day a date holds.
LATEST_STATS_UNTIL = datetime(9999, 12, 31, tzinfo=UTC)


def _counts() -> serializers.DictField:
    return serializers.DictField(child=serializers.IntegerField())


class MttaSerializer(serializers.Serializer):
    acknowledged = serializers.IntegerField(help_text="Acknowledged tickets of the period.")
    mean_seconds = serializers.FloatField(allow_null=True)
    p50_seconds = serializers.FloatField(allow_null=True)
    p90_seconds = serializers.FloatField(allow_null=True)


class MttrSerializer(serializers.Serializer):
    resolved = serializers.IntegerField(help_text="Resolved tickets of the period.")
    mean_seconds = serializers.FloatField(allow_null=True)
    p50_seconds = serializers.FloatField(allow_null=True)
    p90_seconds = serializers.FloatField(allow_null=True)


class SlaSerializer(serializers.Serializer):
    compliance = serializers.FloatField(
        allow_null=True, help_text="Met / (Met + Breached); null when no SLA is decided yet."
    )
    by_status = _counts()


class DailyPointSerializer(serializers.Serializer):
    date = serializers.DateField()
    created = serializers.IntegerField()
    by_error_type = _counts()
    acknowledged = serializers.IntegerField()
    mean_ack_seconds = serializers.FloatField(allow_null=True)
    resolved = serializers.IntegerField()
    mean_resolve_seconds = serializers.FloatField(allow_null=True)
    sla_met = serializers.IntegerField()
    sla_breached = serializers.IntegerField()


class RemediationStatsSerializer(serializers.Serializer):
    by_action = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField()),
        help_text="Remediations of the period's tickets: action -> status -> count.",
    )
    never = serializers.IntegerField(
        help_text="The period's tickets a policy said never to remediate (not in by_action)."
    )
    succeeded = serializers.IntegerField(
        help_text="Successful remediations that fixed their ticket (not one ending after "
        "people resolved it, nor one that left it open)."
    )
    mttr_with_seconds = serializers.FloatField(
        allow_null=True,
        help_text="Mean time from the failure to a successful remediation that fixed it.",
    )
    mttr_without_seconds = serializers.FloatField(
        allow_null=True,
        help_text="Mean time to resolve of the resolved tickets no remediation fixed.",
    )
    time_saved_seconds = serializers.FloatField(
        allow_null=True, help_text="(without - with) x succeeded remediations: an estimate."
    )


class StatsSerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    total = serializers.IntegerField()
    by_status = _counts()
    by_severity = _counts()
    by_error_type = _counts()
    by_source = _counts()
    by_team = _counts()
    mtta = MttaSerializer(help_text="Time to acknowledge.")
    mttr = MttrSerializer(help_text="Time to resolve.")
    sla = SlaSerializer()
    inbox = _counts()
    remediation = RemediationStatsSerializer()
    daily = DailyPointSerializer(many=True)


class IncidentSerializer(serializers.ModelSerializer):
    """An incident: failures of several pipelines naming one culprit (tickets/incidents.py)."""

    jira_key = serializers.CharField(source="itsm_ticket_id", read_only=True)
    team = serializers.CharField(source="finops_team", read_only=True)
    recommendations = serializers.ListField(child=serializers.CharField(), read_only=True)
    resolved = serializers.SerializerMethodField()
    slack_permalink = serializers.CharField(
        read_only=True,
        help_text=(
            "Slack's link to the incident's message (chat.getPermalink, asked once after it is "
            "posted); empty before, or when Slack gave none then, and for an incident posted "
            "before the release that asks: slack_channel and slack_ts name the message."
        ),
    )

    class Meta:
        model = Incident
        fields = (
            "id",
            "status",
            "culprit",
            "culprit_detail",
            "error_type",
            "severity",
            "priority",
            "member_count",
            "recovered_count",
            "first_seen",
            "last_member_at",
            "team",
            "jira_key",
            "slack_channel",
            "slack_ts",
            "slack_permalink",
            "paged_at",
            "rca_result",
            "recommendations",
            "rca_source",
            "rca_note",
            "rca_confidence",
            "ack_ts",
            "ack_user",
            "recovered_at",
            "resolved",
            "merged_into",
            "created_at",
        )
        read_only_fields = fields

    def get_resolved(self, incident: Incident) -> bool:
        """Resolved by a responder, by every member recovering at its source, or by its last
        open member's resolve (a status of resolved)."""
        return incident.status == Status.RESOLVED or incident.recovered_at is not None


class IncidentEventSerializer(serializers.ModelSerializer):
    ticket = serializers.CharField(source="ticket_id", read_only=True, allow_null=True)
    actor_kind = serializers.ChoiceField(
        choices=ActorKind.choices,
        allow_blank=True,
        read_only=True,
        help_text=(
            "Empty for an event no actor is recorded for (a member's failure or alert, a "
            "recurrence)."
        ),
    )
    details = serializers.DictField(read_only=True)

    class Meta:
        model = IncidentEvent
        fields = ("at", "kind", "ticket", "actor_kind", "actor_name", "details")
        read_only_fields = fields


class NoiseSerializer(serializers.Serializer):
    alerts_received = serializers.IntegerField()
    tickets = serializers.IntegerField()
    tickets_in_incidents = serializers.IntegerField()
    incidents = serializers.IntegerField()
    pages_sent = serializers.IntegerField()
    alerts_per_page = serializers.FloatField(allow_null=True)


class ResponseTimesSerializer(serializers.Serializer):
    key = serializers.CharField()
    tickets = serializers.IntegerField()
    mtta_seconds = serializers.FloatField(allow_null=True)
    mttr_seconds = serializers.FloatField(allow_null=True)


class IncidentStatsSerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    noise = NoiseSerializer()
    by_team = ResponseTimesSerializer(many=True)
    by_source = ResponseTimesSerializer(many=True)
    by_culprit = ResponseTimesSerializer(many=True)


class StrictTokenObtainPairSerializer(ClosedBodySerializer, TokenObtainPairSerializer):
    """simplejwt's sign-in, whose username and password must be strings (`StrictCharField`).
    The password is taken as typed, as the dashboard's sign-in takes it: a space it starts or
    ends with is part of it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields[self.username_field] = StrictCharField(write_only=True)
        self.fields["password"] = StrictCharField(
            write_only=True, trim_whitespace=False, style={"input_type": "password"}
        )


class StrictTokenBlacklistSerializer(ClosedBodySerializer, TokenBlacklistSerializer):
    """simplejwt's revocation, whose refresh token must be a string (`StrictCharField`)."""

    refresh = StrictCharField(write_only=True)


class CheckedTokenRefreshSerializer(ClosedBodySerializer, TokenRefreshSerializer):
    """simplejwt's refresh, which also refuses the token of a deleted user (simplejwt's own
    raises `DoesNotExist`: a 500) and of a user whose password changed since the token was
    issued (`CHECK_REVOKE_TOKEN` holds only for access tokens there). The token is spent by
    recording its revocation: of two refreshes of one token at once, the one that did not record
    it gets no next token (simplejwt's own checks the blacklist first and then both pass)."""

    refresh = StrictCharField(write_only=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        refresh = RefreshToken(attrs["refresh"])
        user = token_user(refresh.payload)
        if user is None:
            raise AuthenticationFailed("The token's user no longer exists.", "user_not_found")
        if refresh.payload.get(jwt_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(
            user.password
        ):
            raise AuthenticationFailed(
                "This token no longer matches the user's password: log in again.",
                "password_changed",
            )
        if not jwt_settings.USER_AUTHENTICATION_RULE(user):
            raise AuthenticationFailed(
                self.error_messages["no_active_account"], "no_active_account"
            )
        with transaction.atomic():
            # get_or_create's (token, created), whatever simplejwt's annotation says
            revoked_here = cast("tuple[object, bool]", refresh.blacklist())[1]
            if not revoked_here:  # another refresh of this token got there first
                raise TokenError("Token is blacklisted")
            data = {"access": str(refresh.access_token)}
            refresh.set_jti()
            refresh.set_exp()
            refresh.set_iat()
            refresh.outstand()
        data["refresh"] = str(refresh)
        return data


class CheckedTokenVerifySerializer(ClosedBodySerializer, TokenVerifySerializer):
    """simplejwt's verify, answering what the API would: a revoked refresh token is a 401 as at
    `token/refresh/` (simplejwt's own answers 400), and the token of a deleted or deactivated
    user, or one issued before the user's password changed, is refused (simplejwt's own calls it
    valid, though every endpoint refuses it)."""

    token = StrictCharField(write_only=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        token = UntypedToken(attrs["token"])
        if BlacklistedToken.objects.filter(token__jti=token.get(jwt_settings.JTI_CLAIM)).exists():
            raise TokenError("Token is blacklisted")
        user = token_user(token.payload)
        if (
            user is None
            or not jwt_settings.USER_AUTHENTICATION_RULE(user)
            or token.get(jwt_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(user.password)
        ):
            raise TokenError("The token's user no longer exists, is inactive or changed password")
        return {}
