"""Records of LLM calls are kept LLM_CALL_RETENTION_DAYS, then beat deletes them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from analysis import tasks
from analysis.models import LlmCall, LlmOutcome
from tests.dashboard import make_ticket

pytestmark = pytest.mark.django_db


def call(age: timedelta, ticket_id: str | None = None) -> LlmCall:
    return LlmCall.objects.create(
        ticket_id=ticket_id,
        created_at=timezone.now() - age,
        model="gemini-2.5-flash",
        outcome=LlmOutcome.OK,
    )


def test_llm_calls_older_than_the_retention_are_deleted_by_the_beat_job(settings):
    settings.LLM_CALL_RETENTION = timedelta(days=30)
    ticket = make_ticket(pipeline="pl_llm_retention")
    old = [call(timedelta(days=31)), call(timedelta(days=400), ticket.pk)]
    kept = [call(timedelta(days=29)), call(timedelta(0), ticket.pk)]

    assert tasks.apply_llm_call_retention() == len(old)
    assert set(LlmCall.objects.values_list("pk", flat=True)) == {c.pk for c in kept}
    assert tasks.apply_llm_call_retention() == 0
    ticket.refresh_from_db()  # the ticket stays


def test_beat_runs_it_hourly_and_the_default_keeps_90_days():
    job = settings.CELERY_BEAT_SCHEDULE["apply-llm-call-retention"]
    assert job == {"task": "analysis.tasks.apply_llm_call_retention", "schedule": 3600.0}
    assert settings.LLM_CALL_RETENTION.days == 90
