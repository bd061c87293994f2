"""The analysis app's own record: each attempt at a Gemini RCA call, or the cache hit saving one.

LlmCall fields by concern: what it was for `ticket`, `purpose` and `model`; when and which try
`created_at`, `attempt`; how it went `outcome` (a cache hit, or why it failed), `latency_ms`,
`error`; cost `prompt_tokens`, `output_tokens`, `total_tokens`. The analysis results themselves
(RCA, severity, embedding...) are fields of the Ticket (see tickets/models.py).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


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
