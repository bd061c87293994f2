from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class DeliveryStatus(models.TextChoices):
    REJECTED = "rejected", "Rejected"  # valid JSON our parser refused; kept, nothing else done
    PENDING = "pending", "Pending"  # accepted; background processing not finished yet
    PROCESSED = "processed", "Processed"


class Outcome(models.TextChoices):
    CREATED = "created"
    DUPLICATE = "duplicate"
    CORRELATED = "correlated"
    SUPPRESSED = "suppressed"
    RESOLVED = "resolved"
    IGNORED = "ignored"


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
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
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
