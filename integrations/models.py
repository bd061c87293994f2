"""What crosses the service's edges: the inbox of webhooks received, and the work done at each
outbound target (JIRA, Slack, Blob).

Fields by concern:

- WebhookDelivery (the inbox; stored before the 2xx answer, so nothing answered is lost):
  identity `tracking_id`; what arrived `source`, `received_at`, `raw_body` (the body with its
  secrets redacted, integrations/ingest.py), `headers`, `remote_addr`; what became of it
  `status` (rejected/pending/processed), `outcome`, `reason` (why it was rejected), `event` (the
  normalized FailureEvent), `ticket`, `suppressed_by`; hand-off `queued_at` (when the inbox
  relay, integrations/relay.py, put its task on the queue; empty while it waits for the relay);
  processing `attempts` and `processed_at` (beat redelivers pending rows whose processing was
  lost; set when the row becomes processed: by ingest for a row it finished, by the worker for
  a pending one; empty while pending and for a rejected row).
- OutboundDelivery (one action at one target for one ticket): identity and idempotency `key`
  (unique: the same change never acts twice); what `ticket`, `target` and `action` (as the target
  registry, integrations/targets/, names them), `payload`;
  delivery state `status` (pending/succeeded/skipped/dead letter), `attempts`, `last_error`;
  schedule `created_at`, `next_attempt_at`, `completed_at`.
- DeliveryAttempt (every try of an OutboundDelivery): `started_at`, `duration_ms`, `outcome`,
  `error`, `http_status`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models, transaction
from django.db.models import (
    Count,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from tickets.vocabulary import ErrorClass, Outcome, Source, choices


class DeliveryStatus(models.TextChoices):
    REJECTED = "rejected", "Rejected"  # valid JSON our parser refused; kept, nothing else done
    PENDING = "pending", "Pending"  # accepted; background processing not finished yet
    PROCESSED = "processed", "Processed"


class DeliveryQuerySet(models.QuerySet):
    def unfinished(self, older_than, max_attempts: int) -> DeliveryQuerySet:
        """Accepted deliveries whose processing was lost (worker killed, broker down, relay
        gone): still pending, handed to the queue before `older_than` (or never, and received
        before it), with attempts left."""
        return self.filter(
            Q(queued_at__lt=older_than) | Q(queued_at__isnull=True, received_at__lt=older_than),
            status=DeliveryStatus.PENDING,
            attempts__lt=max_attempts,
        )

    def requeue_unfinished(self, older_than, max_attempts: int, limit: int) -> list[int]:
        """Mark up to `limit` `unfinished` deliveries handed to the queue now (locked rows
        skipped: two redeliveries at once share them out); their ids, oldest first. Marked, a
        delivery is redelivered at most once per `older_than` period, however long a backlog
        keeps it pending."""
        rows = self.unfinished(older_than, max_attempts).order_by("pk")
        with transaction.atomic():
            ids = list(
                rows.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit]
            )
            self.filter(pk__in=ids).update(queued_at=timezone.now())
        return ids

    def release(self, ids: Sequence[int]) -> None:
        """Put pending deliveries whose task was not published back in the inbox relay's way."""
        self.filter(pk__in=list(ids), status=DeliveryStatus.PENDING).update(queued_at=None)


# The inbox rows' sources besides the failure webhooks' (`Source`): the sync-back webhooks
# (`views.sync_back_webhook` refuses another name).
SYNC_BACK_SOURCES = ("jira", "slack", "remediation")


class WebhookDelivery(models.Model):
    """The inbox: every delivery we answered (and every valid-JSON one we rejected), redacted."""

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
    queued_at = models.DateTimeField(null=True, blank=True)
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
            # What the inbox relay looks for: accepted, not handed to the queue yet.
            models.Index(
                fields=["id"],
                condition=models.Q(status="pending", queued_at__isnull=True),
                name="delivery_unqueued",
            ),
            models.Index(fields=["ticket"], name="delivery_ticket"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.tracking_id} ({self.status})"


class OutboundStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    # Left out, for a reason its `last_error` gives (`OutboundDelivery.status_words`): its
    # target not configured, the failure over before it paged, nothing to send (NotSent).
    SKIPPED = "skipped", "Skipped"
    DEAD = "dead", "Dead letter"


class OutboundQuerySet(models.QuerySet):
    def dead(self) -> OutboundQuerySet:
        return self.filter(status=OutboundStatus.DEAD)

    def overdue(self, before) -> OutboundQuerySet:
        """Pending deliveries nobody picked up when due: their task was lost."""
        return self.filter(status=OutboundStatus.PENDING, next_attempt_at__lt=before)


# A change's follow-up (`<ticket>:<action>:<uuid>`, `fanout.schedule_follow_up`): its key guards
# nothing once it finished, and no later delivery looks it up. The others are kept: their keys
# keep a ticket's or an incident's issue, message or reconcile from being made twice, and their
# rows are looked up (`outbound_not_follow_up`). Follow-ups are most of a ticket's deliveries.
FOLLOW_UP_KEY = r"^[^:]+:[^:]+:[0-9a-f]{32}$"


class OutboundDelivery(models.Model):
    """One thing to do at one target for one ticket. Its key makes scheduling idempotent: the
    same change never produces two JIRA issues, two Slack alerts or two uploads."""

    key = models.CharField(max_length=200)
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="outbound", db_index=False
    )
    # A target and one of its actions, as the registry (integrations/targets/) names them; no
    # choices here, so that a new target needs no migration.
    target = models.CharField(max_length=32)
    action = models.CharField(max_length=32)
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
            # A regression's follow-ups held for its processing (`fanout.HELD`): whether a
            # ticket has any is one probe however long its history, and beat finds the overdue
            # ones without reading the other pending deliveries.
            models.Index(
                fields=["ticket", "next_attempt_at"],
                condition=models.Q(status="pending", payload__has_key="held"),
                name="outbound_held",
            ),
            # The follow-ups pending that a later change's may be merged into (`fanout.MERGES`):
            # each such change looks for its ticket's in one probe, however long its history.
            models.Index(
                fields=["ticket", "created_at"],
                condition=models.Q(status="pending", payload__has_key="merges"),
                name="outbound_mergeable",
            ),
            # A ticket's deliveries other than its changes' follow-ups (its pages, reconciles,
            # links, an incident's deliveries riding on its lead), by action: the latest page of
            # a ticket (`targets.base.latest_page`) is one probe, however many follow-ups its
            # history holds. A follow-up's INSERT does not enter it.
            models.Index(
                fields=["ticket", "action", "created_at", "id"],
                condition=~models.Q(key__regex=FOLLOW_UP_KEY),
                name="outbound_not_follow_up",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} for {self.ticket_id} ({self.status})"

    def status_words(self) -> str:
        """Its status as people read it: a skipped one with why it was left out ("Skipped — not
        paged: the failure had recovered at its source before it paged"), which the label alone
        does not say."""
        label = self.get_status_display()
        if self.status == OutboundStatus.SKIPPED and self.last_error:
            return f"{label} — {self.last_error}"
        return label


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


# --- remediation ---------------------------------------------------------------------------------


class RemediationMode(models.TextChoices):
    AUTO = "auto", "Automatically"
    APPROVAL = "approval", "After approval"
    NEVER = "never", "Never"


class RemediationAction(models.TextChoices):
    """What a policy may do; each names the remediation target (integrations/targets/) that
    carries it out and the first action of that target."""

    ADF_RERUN = "adf_rerun", "Rerun the ADF pipeline from the failed activity"
    DATABRICKS_REPAIR = "databricks_repair", "Repair the Databricks run's failed tasks"
    DATABRICKS_RESTART_REPAIR = (
        "databricks_restart",
        "Restart the Databricks cluster, then repair the run",
    )
    AIRFLOW_CLEAR = "airflow_clear", "Clear the failed Airflow task instance"
    PLAYBOOK = "playbook", "Call the playbook (Logic App)"


def _listed(value: object, field: str) -> list[object]:
    if not isinstance(value, list):
        raise ValidationError(
            '%(field)s: expected a JSON list such as ["a", "b"] ([] for any), not %(value)s.',
            code="not_a_list",
            params={"field": field, "value": json.dumps(value)[:200]},
        )
    return value


def _one_of(value: object, field: str, known: list[str]) -> None:
    unknown = [item for item in _listed(value, field) if item not in known]
    if unknown:
        raise ValidationError(
            "%(field)s: %(unknown)s is not one of %(known)s (spelled so, case included).",
            code="unknown_value",
            params={
                "field": field,
                "unknown": ", ".join(json.dumps(item) for item in unknown)[:200],
                "known": ", ".join(known),
            },
        )


def validate_error_classes(value: object) -> None:
    _one_of(value, "Error classes", [member.value for member in ErrorClass])


def validate_sources(value: object) -> None:
    _one_of(value, "Sources", [member.value for member in Source])


def validate_signals(value: object) -> None:
    bad = [
        item for item in _listed(value, "Signals") if not isinstance(item, str) or not item.strip()
    ]
    if bad:
        raise ValidationError(
            "Signals: each is a phrase the error message must contain, not %(bad)s (a blank "
            "one is contained in every message).",
            code="bad_signal",
            params={"bad": ", ".join(json.dumps(item) for item in bad)[:200]},
        )


_CONFIDENCE = [
    MinValueValidator(0.0, "A confidence is between 0 and 1 (0.8, not 80)."),
    MaxValueValidator(1.0, "A confidence is between 0 and 1 (0.8, not 80)."),
]


class RemediationPolicy(models.Model):
    """An admin-editable rule: which failures may be remediated, how, and when.

    The first enabled policy (by `order`) whose error classes, signals, sources and pipeline
    glob all match a ticket decides (an empty list matches anything). Its mode says
    automatically, after approval, or never; confidence then lowers the mode: below
    `approval_min_confidence` never, below `auto_min_confidence` after approval.
    """

    name = models.CharField(max_length=200, unique=True)
    enabled = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=100, help_text="Lower is considered first.")
    error_classes = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_error_classes],
        help_text='Error classes it covers, a JSON list such as ["NetworkError"] (empty: any).',
    )
    signals = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_signals],
        help_text="Words or phrases the error message must contain one of, case-insensitive, "
        'a JSON list such as ["connection reset"] (empty: any).',
    )
    sources = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_sources],
        help_text='Sources, a JSON list such as ["adf"] (empty: any).',
    )
    pipeline_glob = models.CharField(max_length=500, default="*")
    action = models.CharField(max_length=32, choices=RemediationAction.choices)
    mode = models.CharField(
        max_length=10, choices=RemediationMode.choices, default=RemediationMode.APPROVAL
    )
    auto_min_confidence = models.FloatField(default=0.8, validators=_CONFIDENCE)
    approval_min_confidence = models.FloatField(default=0.6, validators=_CONFIDENCE)
    max_attempts = models.PositiveIntegerField(
        default=2,
        help_text="Remediations the policies make for one ticket at most, counted from its "
        "last regression (people's retries count, but go past it).",
    )
    backoff_seconds = models.PositiveIntegerField(
        default=300, help_text="Wait after a failed attempt before the next one may start."
    )
    dry_run = models.BooleanField(default=False, help_text="Record what it would do; do nothing.")

    class Meta:
        ordering = ["order", "id"]
        verbose_name_plural = "remediation policies"

    def __str__(self) -> str:
        return self.name

    def clean_fields(self, exclude: Collection[str] | None = None) -> None:
        """The fields' own checks, then the two thresholds compared, when the form edits one
        of them (not in `clean`: keyed on a field a form does not have, Django raises
        ValueError, and the admin list, which edits neither, answered 500 for any page
        showing a policy saved with them crossed before they were compared)."""
        errors: dict[str, Any] = {}
        try:
            super().clean_fields(exclude=exclude)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        thresholds = ("approval_min_confidence", "auto_min_confidence")
        edited = [name for name in thresholds if name not in (exclude or ())]
        if (
            edited
            and not errors.keys() & set(thresholds)
            and isinstance(self.auto_min_confidence, float | int)
            and isinstance(self.approval_min_confidence, float | int)
            and self.approval_min_confidence > self.auto_min_confidence
        ):
            errors[edited[0]] = [
                ValidationError(
                    "The approval threshold must not be above the automatic one "
                    f"({self.auto_min_confidence:g}): a confidence between them would be "
                    "neither run nor asked for."
                )
            ]
        if errors:
            raise ValidationError(errors)


class RemediationStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    HELD = "held", "Held behind an incident"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    DECLINED = "declined", "Declined"
    EXPIRED = "expired", "Expired"
    SKIPPED = "skipped", "Skipped"


# A run has at most one remediation in these states (the database says so).
ACTIVE_REMEDIATION = (
    RemediationStatus.PROPOSED,
    RemediationStatus.AWAITING_APPROVAL,
    RemediationStatus.HELD,
    RemediationStatus.RUNNING,
)


class RemediationQuerySet(models.QuerySet):
    def retry_due(
        self, now: datetime, within: timedelta, longest_backoff: timedelta
    ) -> RemediationQuerySet:
        """Failed attempts whose enabled policy allows another (counted since the ticket last
        regressed and after the success on an older run that left it open, as
        `remediation.this_episode` counts them), whose backoff ended at most `within`
        before `now`, whose ticket is still failing and has no later attempt: the ones whose
        next attempt is due. `longest_backoff` (the policies' longest) bounds the read to
        recent failures on the `remediation_failed` index, however long the history."""
        backoff = ExpressionWrapper(
            F("policy__backoff_seconds") * Value(timedelta(seconds=1)),
            output_field=DurationField(),
        )
        later = Remediation.objects.filter(
            ticket_id=OuterRef("ticket_id"), attempt_number__gt=OuterRef("attempt_number")
        )
        since_regression = Q(ticket__regressed_at__isnull=True) | Q(
            created_at__gte=F("ticket__regressed_at")
        )
        # A success in the episode before a failed attempt was on an older run (one on the
        # ticket's latest run resolves it, and stands): the attempts count from after it.
        last_success = (
            Remediation.objects.filter(
                since_regression,
                ticket_id=OuterRef("ticket_id"),
                status=RemediationStatus.SUCCEEDED,
            )
            .order_by("-attempt_number")
            .values("attempt_number")[:1]
        )
        episode_attempts = (
            Remediation.objects.filter(since_regression, ticket_id=OuterRef("ticket_id"))
            .filter(attempt_number__gt=Coalesce(Subquery(last_success), 0))
            .exclude(status=RemediationStatus.SKIPPED)
            .order_by()
            .values("ticket_id")
            .annotate(count=Count("pk"))
            .values("count")
        )
        return (
            self.filter(
                status=RemediationStatus.FAILED,
                finished_at__gt=now - within - longest_backoff,
                finished_at__lte=now,
            )
            .filter(since_regression, policy__enabled=True)
            .annotate(attempts=Subquery(episode_attempts, output_field=IntegerField()))
            .filter(attempts__lt=F("policy__max_attempts"))
            .exclude(ticket__status="resolved")
            .filter(ticket__resolved_at_source_at__isnull=True)
            .annotate(
                due_at=ExpressionWrapper(F("finished_at") + backoff, output_field=DateTimeField())
            )
            .filter(due_at__lte=now, due_at__gt=now - within)
            .exclude(Exists(later))
            .exclude(details__has_key=NO_NEXT_ATTEMPT)
        )


# In a succeeded remediation's `details`: its run was no longer the ticket's latest (a newer
# one failed since), so it left the ticket open; it counts as no fix in the stats.
LEFT_OPEN = "ticket_left_open"
# In a failed remediation's `details`: why no next attempt at its run follows it (its service
# refused the service's own credentials, or its watch ended with the rerun perhaps still
# running); a newer run's failure is proposed still, and people may retry it.
NO_NEXT_ATTEMPT = "no_next_attempt"
# In a succeeded remediation's `details`: people had resolved its ticket before it ended (the
# ticket's resolution then was theirs, not the source's report of the rerun), so people fixed
# it; it counts as no fix in the stats, also once a regression has cleared that resolution.
RESOLVED_BEFORE = "ticket_resolved_before"


class Remediation(models.Model):
    """One attempt at fixing one ticket's failed run, from proposal to outcome.

    Fields by concern: what `ticket`, `run_key` (source and run id: the run it acts on),
    `policy`, `action`, `attempt_number`, `confidence`, `dry_run`; state `status`, `reason`
    (why skipped, failed, ...); approval `expires_at`, `decided_by`, `decided_via`,
    `decided_at`; execution `started_at`, `finished_at`, `external_run_id` (the new ADF run,
    the Databricks repair, the Airflow try, the playbook run), `details`; batches behind an
    incident `release_group`.
    """

    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="remediations"
    )
    run_key = models.CharField(max_length=700)
    policy = models.ForeignKey(RemediationPolicy, null=True, blank=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=32, choices=RemediationAction.choices)
    attempt_number = models.PositiveIntegerField(default=1)
    confidence = models.FloatField(null=True, blank=True)
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=RemediationStatus.choices)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=200, blank=True)
    decided_via = models.CharField(max_length=20, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    external_run_id = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)
    release_group = models.CharField(max_length=64, blank=True)

    objects = RemediationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["run_key"],
                condition=models.Q(status__in=[s.value for s in ACTIVE_REMEDIATION]),
                name="remediation_one_active_per_run",
            ),
            models.UniqueConstraint(
                fields=["ticket", "attempt_number"], name="remediation_unique_attempt"
            ),
        ]
        indexes = [
            models.Index(
                fields=["expires_at"],
                condition=models.Q(status="awaiting_approval"),
                name="remediation_awaiting",
            ),
            models.Index(
                fields=["finished_at"],
                condition=models.Q(status="failed"),
                name="remediation_failed",
            ),
            # A release group's remediations (`remediation.stalled_groups`, every minute): the
            # few in groups, not the whole history.
            models.Index(
                fields=["release_group"],
                condition=~models.Q(release_group=""),
                name="remediation_release_group",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} #{self.attempt_number} of {self.ticket_id} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_REMEDIATION


# --- the inbox side of the stats rollup (integrations/inbox_stats.py; migration 0010) -------------


class InboxStatsChange(models.Model):
    """One inbox row counted (+1) or taken back (-1) under its UTC day, status and outcome:
    written by a trigger on every INSERT, DELETE and UPDATE of those columns, in the writer's
    transaction; folded into `InboxStatsDay` by beat. Append-only."""

    id = models.BigAutoField(primary_key=True)
    day = models.DateField()
    status = models.CharField(max_length=16)
    outcome = models.CharField(max_length=16)
    n = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["day"], name="inbox_stats_change_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.status}/{self.outcome} {self.n:+d}"


class InboxStatsDay(models.Model):
    """Inbox rows received on one UTC day with one status and outcome. Never left at zero."""

    id = models.BigAutoField(primary_key=True)
    day = models.DateField()
    status = models.CharField(max_length=16)
    outcome = models.CharField(max_length=16)
    n = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "status", "outcome"], name="inbox_stats_day_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.status}/{self.outcome}: {self.n}"
