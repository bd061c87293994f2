"""Finished follow-up deliveries are kept OUTBOUND_RETENTION_DAYS, then beat deletes them; the
deliveries whose keys or rows are relied on later stay."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from integrations import tasks
from integrations.models import DeliveryAttempt, OutboundDelivery, OutboundStatus
from tests.dashboard import make_ticket

pytestmark = pytest.mark.django_db


def test_finished_follow_ups_older_than_the_retention_are_deleted_by_the_beat_job(settings):
    settings.OUTBOUND_RETENTION = timedelta(days=30)
    ticket = make_ticket(pipeline="pl_outbound_retention")
    now = timezone.now()

    def row(key: str, status: str, age_days: float | None) -> OutboundDelivery:
        completed = None if age_days is None else now - timedelta(days=age_days)
        return OutboundDelivery.objects.create(
            key=key,
            ticket=ticket,
            target="jira",
            action=key.split(":")[-2] if key.count(":") == 2 else "jira_create",
            status=status,
            created_at=now - timedelta(days=400),
            completed_at=completed,
        )

    def follow_up() -> str:
        return f"{ticket.pk}:jira_comment:{uuid.uuid4().hex}"

    gone = [
        row(follow_up(), OutboundStatus.SUCCEEDED, 31),
        row(follow_up(), OutboundStatus.SKIPPED, 400),
    ]
    DeliveryAttempt.objects.create(outbound=gone[0], outcome="succeeded")
    kept = [
        row(follow_up(), OutboundStatus.SUCCEEDED, 29),  # within the retention
        row(follow_up(), OutboundStatus.DEAD, 400),  # a dead letter: an operator's
        row(follow_up(), OutboundStatus.PENDING, None),  # not finished
        row(f"{ticket.pk}:jira_create", OutboundStatus.SUCCEEDED, 400),  # the issue: once
        row("incident:INC-1:jira_incident_create", OutboundStatus.SUCCEEDED, 400),
    ]

    assert tasks.apply_outbound_retention() == len(gone) + 1  # and the one attempt
    mine = OutboundDelivery.objects.filter(pk__in=[r.pk for r in gone + kept])
    assert set(mine.values_list("pk", flat=True)) == {r.pk for r in kept}
    assert not DeliveryAttempt.objects.filter(outbound_id=gone[0].pk).exists()
    assert tasks.apply_outbound_retention() == 0


def test_beat_runs_it_hourly_and_the_default_keeps_90_days():
    job = settings.CELERY_BEAT_SCHEDULE["apply-outbound-retention"]
    assert job == {"task": "integrations.tasks.apply_outbound_retention", "schedule": 3600.0}
    assert settings.OUTBOUND_RETENTION.days == 90
