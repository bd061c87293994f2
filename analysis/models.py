"""The analysis app's own records: LlmCall (each attempt at a Gemini RCA call, or the cache hit
saving one) and LogAnalysisJob (one analysis of uploaded or fetched log files).

LlmCall fields by concern: what it was for `ticket`, `purpose` (`rca`, `incident` or
`log-rca`) and `model`; when and which try `created_at`, `attempt`; how it went `outcome` (a
cache hit, or why it failed), `latency_ms`, `error`; cost `prompt_tokens`, `output_tokens`,
`total_tokens`.

LogAnalysisJob fields by concern: who and what `owner`, `source`, `source_ref`, `inputs`;
progress `status`, `progress`, `step`, `attempts`, `heartbeat_at`; result `report`, `error`;
`ticket` (the ticket it is for) and `attached_at` (when its report became that ticket's RCA);
when `created_at`, `started_at`, `finished_at`.

The analysis results of a ticket themselves (RCA, severity, embedding...) are fields of the
Ticket (see tickets/models.py).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone

if TYPE_CHECKING:
    from analysis.gemini import Attempt


class LlmOutcome(models.TextChoices):
    OK = "ok"
    CACHE_HIT = "cache_hit"
    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    CLIENT_ERROR = "client_error"
    INVALID_OUTPUT = "invalid_output"
    BLOCKED = "blocked"
    CONNECTION_ERROR = "connection_error"


class LlmCall(models.Model):
    """One attempt at an LLM call (or a cache hit that saved one), for cost and reliability."""

    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="llm_calls"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    purpose = models.CharField(max_length=16, default="rca")
    model = models.CharField(max_length=100)
    attempt = models.PositiveSmallIntegerField(default=1)
    outcome = models.CharField(max_length=20, choices=LlmOutcome.choices)
    latency_ms = models.PositiveIntegerField(default=0)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    output_tokens = models.PositiveIntegerField(null=True, blank=True)
    total_tokens = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.model} {self.purpose} {self.outcome} ({self.latency_ms} ms)"

    @classmethod
    def of_attempt(cls, ticket_id: str | None, purpose: str, attempt: Attempt) -> LlmCall:
        """The row for one attempt (unsaved)."""
        return cls(
            ticket_id=ticket_id,
            purpose=purpose,
            model=settings.GEMINI_MODEL,
            attempt=attempt.number,
            outcome=attempt.outcome,
            latency_ms=attempt.latency_ms,
            prompt_tokens=attempt.prompt_tokens,
            output_tokens=attempt.output_tokens,
            total_tokens=attempt.total_tokens,
            error=attempt.error[:2000],
        )


class LogAnalysisJob(models.Model):
    """One analysis of one or more log files: read, mined, analysed in a Celery task.

    Uploaded and fetched files wait under ``LOG_ANALYSIS_DIR/<id>/`` and are deleted when the
    job finishes (done, failed or cancelled); only the redacted report is kept. ``heartbeat_at``
    moves while a worker is on the job, so beat can tell a job whose worker died."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        READING = "reading"
        MINING = "mining"
        ANALYSING = "analysing"
        DONE = "done"
        FAILED = "failed"
        CANCELLED = "cancelled"

    class Source(models.TextChoices):
        UPLOAD = "upload"
        URL = "url"
        BLOB = "blob"
        DATABRICKS = "databricks"
        AIRFLOW = "airflow"
        TICKET = "ticket"

    RUNNING = frozenset({Status.READING, Status.MINING, Status.ANALYSING})
    FINISHED = frozenset({Status.DONE, Status.FAILED, Status.CANCELLED})

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="log_analyses",
    )
    ticket = models.ForeignKey(
        "tickets.Ticket",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="log_analyses",
    )
    source = models.CharField(max_length=16, choices=Source.choices)
    # The URL, Blob path or run id the logs come from (redacted), empty for uploads.
    source_ref = models.CharField(max_length=2000, blank=True)
    # [{"name": ..., "size": ...}] of the files waiting on disk (or read).
    inputs = models.JSONField(default=list, blank=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    progress = models.PositiveSmallIntegerField(default=0)
    step = models.CharField(max_length=300, blank=True)
    report = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attached_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="log_job_stale_idx")]

    def __str__(self) -> str:
        return f"log analysis {self.id} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED
