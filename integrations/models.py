"""What crosses the service's edges: the inbox of webhooks received, and the work done at each
outbound target (JIRA, Slack, Blob).

Fields by concern:

- WebhookDelivery (the inbox; stored before the 2xx answer, so nothing answered is lost):
  identity `tracking_id`; what arrived `source`, `received_at`, `raw_body` (as received), `headers`,
  `remote_addr`; what became of it `status` (rejected/pending/processed), `outcome`, `reason`
  (why it was rejected), `event` (the normalized FailureEvent), `ticket`, `suppressed_by`;
  processing `attempts` and `processed_at` (beat redelivers pending rows whose processing was
  lost).
- OutboundDelivery (one action at one target for one ticket): identity and idempotency `key`
  (unique: the same change never acts twice); what `ticket`, `target` and `action` (as the target
  registry, integrations/targets/, names them), `payload`;
  delivery state `status` (pending/succeeded/skipped/dead letter), `attempts`, `last_error`;
  schedule `created_at`, `next_attempt_at`, `completed_at`.
- DeliveryAttempt (every try of an OutboundDelivery): `started_at`, `duration_ms`, `outcome`,
  `error`, `http_status`.
"""

from __future__ import annotations

import uuid

from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from tickets.vocabulary import Outcome, choices


class DeliveryStatus(models.TextChoices):
    REJECTED = "rejected", "Rejected"  # valid JSON our parser refused; kept, nothing else done
    PENDING = "pending", "Pending"  # accepted; background processing not finished yet
    PROCESSED = "processed", "Processed"


class DeliveryQuerySet(models.QuerySet):
    def unfinished(self, older_than, max_attempts: int) -> DeliveryQuerySet:
        """Accepted deliveries whose processing was lost (worker killed, broker down)."""
        return self.filter(
            status=DeliveryStatus.PENDING, received_at__lt=older_than, attempts__lt=max_attempts
        )


class WebhookDelivery(models.Model):
    """The inbox: every delivery we answered (and every valid-JSON one we rejected), as received."""

    tracking_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    source = models.CharField(max_length=32)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    raw_body = models.TextField()
    headers = models.JSONField(default=dict, blank=True)
    remote_addr = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices)
    outcome = models.CharField(max_length=16, choices=choices(Outcome), blank=True)
    reason = models.TextField(blank=True)
    event = models.JSONField(default=dict, blank=True, help_text="The normalized FailureEvent.")
    ticket = models.ForeignKey(
        "tickets.Ticket",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
        db_index=False,
    )
    suppressed_by = models.ForeignKey(
        "tickets.SuppressionRule", null=True, blank=True, on_delete=models.SET_NULL
    )
    attempts = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(
                fields=["received_at"],
                condition=models.Q(status="pending"),
                name="delivery_pending",
            ),
            models.Index(fields=["ticket"], name="delivery_ticket"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.tracking_id} ({self.status})"


class OutboundStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    SKIPPED = "skipped", "Skipped (target not configured)"
    DEAD = "dead", "Dead letter"


class OutboundQuerySet(models.QuerySet):
    def dead(self) -> OutboundQuerySet:
        return self.filter(status=OutboundStatus.DEAD)

    def overdue(self, before) -> OutboundQuerySet:
        """Pending deliveries nobody picked up when due: their task was lost."""
        return self.filter(status=OutboundStatus.PENDING, next_attempt_at__lt=before)


class OutboundDelivery(models.Model):
    """One thing to do at one target for one ticket. Its key makes scheduling idempotent: the
    same change never produces two JIRA issues, two Slack alerts or two uploads."""

    key = models.CharField(max_length=200)
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="outbound", db_index=False
    )
    # A target and one of its actions, as the registry (integrations/targets/) names them; no
    # choices here, so that a new target needs no migration.
    target = models.CharField(max_length=10)
    action = models.CharField(max_length=20)
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=10, choices=OutboundStatus.choices, default=OutboundStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = OutboundQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "outbound deliveries"
        constraints = [models.UniqueConstraint(fields=["key"], name="outbound_unique_key")]
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="outbound_ticket"),
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="outbound_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} for {self.ticket_id} ({self.status})"


class AttemptOutcome(models.TextChoices):
    SUCCEEDED = "succeeded"
    TRANSIENT_ERROR = "transient_error"
    PERMANENT_ERROR = "permanent_error"
    CIRCUIT_OPEN = "circuit_open"
    WAITING = "waiting"  # depends on another delivery that has not finished
    SKIPPED = "skipped"


class DeliveryAttempt(models.Model):
    outbound = models.ForeignKey(OutboundDelivery, on_delete=models.CASCADE, related_name="tries")
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=20, choices=AttemptOutcome.choices)
    error = models.TextField(blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["started_at", "id"]

    def __str__(self) -> str:
        return f"{self.outbound_id} {self.outcome}"


class SlackIdentity(models.Model):
    """A Slack user who may act for a Django account (Acknowledge / Take it buttons). Kept in
    admin by superusers; the click still needs the account to be active with the responder
    role. A Slack user without a row here is matched by the e-mail on their Slack profile."""

    slack_user_id = models.CharField(
        "Slack user id",
        max_length=32,
        unique=True,
        help_text="The member id from the Slack profile (Copy member ID), e.g. U024BE7LH.",
        validators=[
            RegexValidator(
                r"^[UW][A-Z0-9]{2,31}$", "A Slack member id: U or W, then capitals and digits."
            )
        ],
    )
    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="slack_identities")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = "Slack identity"
        verbose_name_plural = "Slack identities"

    def __str__(self) -> str:
        return f"{self.slack_user_id} → {self.user}"
