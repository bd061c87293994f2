from __future__ import annotations

import fnmatch
import secrets
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from pgvector.django import VectorField

ERROR_CLASSES = (
    "NetworkError",
    "DatabaseError",
    "ResourceExhaustion",
    "AuthenticationError",
    "DataError",
    "ExternalServiceError",
    "TimeoutError",
    "ConfigurationError",
    "CodeError",
    "Unknown",
)


class Status(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"


class Severity(models.TextChoices):
    CRITICAL = "Critical"
    HIGH = "High"
    MEDIUM = "Medium"
    LOW = "Low"


class Priority(models.TextChoices):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


class SlaStatus(models.TextChoices):
    PENDING = "Pending"
    MET = "Met"
    BREACHED = "Breached"


class RcaSource(models.TextChoices):
    PENDING = "pending", "Not analysed yet"
    RULES = "rules", "Rule-based"
    GEMINI = "gemini", "Gemini"


ErrorType = models.TextChoices("ErrorType", [(name, name) for name in ERROR_CLASSES])

TICKET_PREFIXES = {
    "adf": "ADF",
    "databricks": "DBX",
    "airflow": "AIRFLOW",
    "azure-monitor": "AZMON",
}


def new_ticket_id(processing_mode: str, at: datetime | None = None) -> str:
    """A readable id like `ADF-20251210T123456-abc123`."""
    prefix = TICKET_PREFIXES.get(processing_mode, "RCA")
    stamp = (at or timezone.now()).astimezone(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{prefix}-{stamp}-{secrets.token_hex(3)}"


class TicketQuerySet(models.QuerySet):
    def unresolved(self) -> TicketQuerySet:
        """Still someone's problem: not acknowledged and not resolved at the source."""
        return self.exclude(status=Status.ACKNOWLEDGED).filter(resolved_at_source_at__isnull=True)

    def correlation_candidate(self, fingerprint: str, since: datetime) -> Ticket | None:
        return (
            self.unresolved()
            .filter(fingerprint=fingerprint, last_seen__gte=since)
            .order_by("-last_seen")
            .first()
        )

    def sla_overdue(self, now: datetime) -> TicketQuerySet:
        return self.filter(sla_status=SlaStatus.PENDING, sla_deadline__lt=now).exclude(
            status=Status.ACKNOWLEDGED
        )


class Ticket(models.Model):
    # The schema of the product this replaces, every field kept.
    id = models.CharField(primary_key=True, max_length=64, editable=False)
    timestamp = models.DateTimeField(default=timezone.now, db_index=True)
    pipeline = models.CharField(max_length=500, db_index=True)
    run_id = models.CharField(
        max_length=600, unique=True, help_text="Dedup key: one ticket per run (source-scoped)."
    )
    rca_result = models.TextField(blank=True)
    recommendations = models.JSONField(default=list, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.MEDIUM)
    priority = models.CharField(max_length=2, choices=Priority.choices, default=Priority.P3)
    error_type = models.CharField(max_length=32, choices=ErrorType.choices, default="Unknown")
    affected_entity = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    sla_seconds = models.PositiveIntegerField(default=0)
    sla_status = models.CharField(
        max_length=10, choices=SlaStatus.choices, default=SlaStatus.PENDING
    )
    finops_team = models.CharField(max_length=200, blank=True)
    finops_owner = models.CharField(max_length=200, blank=True)
    finops_cost_center = models.CharField(max_length=200, blank=True)
    blob_log_url = models.URLField(max_length=1000, blank=True)
    itsm_ticket_id = models.CharField("JIRA key", max_length=64, blank=True, db_index=True)
    ack_ts = models.DateTimeField(null=True, blank=True)
    ack_user = models.CharField(max_length=200, blank=True)
    ack_seconds = models.PositiveIntegerField(null=True, blank=True)
    slack_ts = models.CharField(max_length=64, blank=True)
    slack_channel = models.CharField(max_length=200, blank=True)
    logic_app_run_id = models.CharField(max_length=200, blank=True)
    processing_mode = models.CharField(max_length=32, blank=True)
    remediation_status = models.CharField(max_length=64, blank=True)

    # What the flow needs on top.
    source = models.CharField(max_length=32, db_index=True)
    fingerprint = models.CharField(max_length=64, db_index=True)
    occurrence_count = models.PositiveIntegerField(default=1)
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    error_message = models.TextField(blank=True)
    links = models.JSONField(default=dict, blank=True)
    details = models.JSONField(default=dict, blank=True)
    rca_source = models.CharField(
        max_length=16, choices=RcaSource.choices, default=RcaSource.PENDING
    )
    rca_note = models.TextField(blank=True, help_text="Why this RCA source was used.")
    analysed_at = models.DateTimeField(null=True, blank=True)
    tracking_id = models.UUIDField(null=True, blank=True, db_index=True)
    resolve_key = models.CharField(max_length=600, blank=True, db_index=True)
    resolved_at_source_at = models.DateTimeField(null=True, blank=True)
    sla_deadline = models.DateTimeField(null=True, blank=True, db_index=True)
    jira_project = models.CharField(max_length=64, blank=True)
    embedding = VectorField(null=True, blank=True)
    embedding_model = models.CharField(max_length=100, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TicketQuerySet.as_manager()

    class Meta:
        ordering = ["-timestamp"]
        indexes = [
            models.Index(fields=["status", "-timestamp"], name="ticket_status_recent"),
            models.Index(fields=["fingerprint", "-last_seen"], name="ticket_fingerprint_recent"),
        ]

    def __str__(self) -> str:
        return self.id

    @property
    def is_open(self) -> bool:
        return self.status != Status.ACKNOWLEDGED and self.resolved_at_source_at is None

    def sla_remaining(self, now: datetime | None = None) -> timedelta | None:
        if self.sla_deadline is None or self.status == Status.ACKNOWLEDGED:
            return None
        return self.sla_deadline - (now or timezone.now())


class Occurrence(models.Model):
    """One physical failure instance; its unique key is what makes redeliveries duplicates."""

    key = models.CharField(max_length=700, unique=True)
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.CASCADE, related_name="occurrences"
    )
    outcome = models.CharField(max_length=16)
    seen_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.key


class ActorKind(models.TextChoices):
    USER = "user"
    JIRA = "jira"
    SLACK = "slack"
    SYSTEM = "system"
    SOURCE = "source"


class AuditLog(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="audit_entries")
    created_at = models.DateTimeField(default=timezone.now)
    actor_kind = models.CharField(max_length=10, choices=ActorKind.choices)
    actor_name = models.CharField(max_length=200, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    action = models.CharField(max_length=64)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="audit_ticket_time")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.action} by {self.actor_kind}:{self.actor_name}"


class PipelineRule(models.Model):
    """Shared matching for rules keyed on a pipeline glob (`sales_*`) and optionally a source."""

    pipeline_pattern = models.CharField(
        max_length=300, help_text="Glob on the pipeline name, e.g. 'sales_*' or '*'."
    )
    source = models.CharField(
        max_length=32,
        blank=True,
        help_text="Only events from this source (azure-monitor, adf, databricks, airflow).",
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        abstract = True

    def matches(self, source: str, pipeline: str) -> bool:
        if self.source and self.source != source:
            return False
        return fnmatch.fnmatchcase(pipeline.lower(), self.pipeline_pattern.lower())


class OwnershipRule(PipelineRule):
    order = models.PositiveIntegerField(default=100, help_text="Lower wins.")
    finops_team = models.CharField(max_length=200)
    finops_owner = models.CharField(max_length=200, blank=True)
    finops_cost_center = models.CharField(max_length=200, blank=True)
    slack_channel = models.CharField(max_length=200, blank=True)
    jira_project = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return f"{self.pipeline_pattern} → {self.finops_team}"


class SuppressionRule(PipelineRule):
    """A silence or maintenance window: matching failures are recorded, but open no ticket."""

    reason = models.CharField(max_length=300)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    hit_count = models.PositiveIntegerField(default=0, editable=False)
    created_by = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True)
                | Q(ends_at__isnull=True)
                | Q(ends_at__gt=models.F("starts_at")),
                name="suppression_window_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.pipeline_pattern}: {self.reason}"

    def active_at(self, at: datetime) -> bool:
        if not self.enabled:
            return False
        if self.starts_at and at < self.starts_at:
            return False
        return not (self.ends_at and at >= self.ends_at)


class SlaPolicy(models.Model):
    priority = models.CharField(max_length=2, choices=Priority.choices, unique=True)
    seconds = models.PositiveIntegerField(help_text="Time allowed to acknowledge.")

    class Meta:
        ordering = ["priority"]
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        return f"{self.priority}: {timedelta(seconds=self.seconds)}"
