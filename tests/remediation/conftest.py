"""Tickets, policies and engine steps for the remediation tests."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from integrations import fanout
from integrations.circuit import CircuitBreaker
from integrations.models import OutboundDelivery, OutboundStatus, Remediation, RemediationPolicy
from tickets.models import Ticket

REMEDIATION_TARGETS = ("adf_rerun", "databricks_repair", "airflow_clear", "playbook")


def make_ticket(**overrides: Any) -> Ticket:
    now = timezone.now()
    suffix = uuid.uuid4().hex[:8]
    fields: dict[str, Any] = {
        "id": f"ADF-{now:%Y%m%dT%H%M%S}-{suffix}",
        "pipeline": "pl_copy_sales",
        "run_id": f"adf:run-{suffix}",
        "source": "adf",
        "processing_mode": "adf",
        "fingerprint": "f" * 64,
        "error_type": "NetworkError",
        "error_message": "ErrorCode=2200 The connection timed out: connection reset by peer",
        "confidence": 0.9,
        "sla_seconds": 3600,
        "sla_deadline": now + timedelta(hours=1),
        "affected_entity": {
            "factory": "adf-prod",
            "resource_group": "rg-data",
            "subscription_id": "00000000-0000-0000-0000-000000000000",
            "run_id": f"run-{suffix}",
        },
        **overrides,
    }
    return Ticket.objects.create(**fields)


def make_policy(**overrides: Any) -> RemediationPolicy:
    fields: dict[str, Any] = {
        "name": f"policy-{uuid.uuid4().hex[:6]}",
        "order": 1,
        "action": "adf_rerun",
        "mode": "auto",
        "signals": ["connection reset"],
        **overrides,
    }
    return RemediationPolicy.objects.create(**fields)


def run_pending(ticket_id: str, *, rounds: int = 10) -> list[OutboundDelivery]:
    """Deliver the ticket's pending remediation deliveries through the engine, follow-ups
    included (ignoring their delay), until none is left pending; returns the ticket's
    remediation deliveries (its JIRA and Slack ones are left out)."""
    for _ in range(rounds):
        pending = list(
            OutboundDelivery.objects.filter(
                ticket_id=ticket_id, status=OutboundStatus.PENDING, target__in=REMEDIATION_TARGETS
            )
        )
        if not pending:
            break
        for row in pending:
            OutboundDelivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
            fanout.deliver(row.pk)
    return list(
        OutboundDelivery.objects.filter(
            ticket_id=ticket_id, target__in=REMEDIATION_TARGETS
        ).order_by("id")
    )


def configure_remediation_targets(settings: Any, url: str) -> None:
    """Every remediation target configured (nothing is proposed for one that is not), at `url`:
    the discard port by default, which refuses; a test that runs an action against a local
    fake points that target's settings at it."""
    settings.AZURE_TENANT_ID = "00000000-0000-0000-0000-00000000aaaa"
    settings.AZURE_CLIENT_ID = "00000000-0000-0000-0000-00000000bbbb"
    settings.AZURE_CLIENT_SECRET = "client-secret-for-tests"
    settings.AZURE_SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000"
    settings.AZURE_MANAGEMENT_URL = url
    settings.AZURE_AUTHORITY_HOST = url.replace("http://", "https://")
    settings.AZURE_DISABLE_INSTANCE_DISCOVERY = True
    settings.DATABRICKS_HOST = url
    settings.DATABRICKS_TOKEN = "dapi-token-for-tests"
    settings.AIRFLOW_API_URL = url
    settings.AIRFLOW_API_TOKEN = "airflow-token-for-tests"
    settings.PLAYBOOK_URL = f"{url}/playbook"
    settings.PLAYBOOK_SECRET = "playbook-secret-for-tests"


@pytest.fixture(autouse=True)
def fresh_remediation(settings) -> None:
    """No default policy in the way (each test makes its own), closed circuits, fast backoff."""
    RemediationPolicy.objects.all().delete()
    settings.OUTBOUND_TIMEOUT_SECONDS = 3
    settings.OUTBOUND_BACKOFF_SECONDS = 0.01
    settings.OUTBOUND_BACKOFF_MAX_SECONDS = 0.05
    settings.CIRCUIT_FAILURE_THRESHOLD = 100
    settings.SLACK_BOT_TOKEN = ""
    settings.JIRA_URL = ""
    settings.AZURE_STORAGE_CONNECTION_STRING = ""
    configure_remediation_targets(settings, "http://127.0.0.1:9")
    for name in REMEDIATION_TARGETS:
        CircuitBreaker(name).reset()


def proposed(ticket_id: str) -> Remediation:
    """`remediation.propose`, which must make one."""
    from integrations import remediation

    made = remediation.propose(ticket_id)
    assert made is not None, f"no remediation proposed for {ticket_id}"
    return made


def refused_for_our_credentials(ticket_id: str) -> Remediation:
    """The ticket's next remediation, proposed and failed as refused for our credentials
    (401): the last attempt at its run, which people may retry."""
    from integrations import remediation

    refused = proposed(ticket_id)
    remediation.finish(
        refused.pk,
        succeeded=False,
        detail="the action failed: playbook: 401",
        no_next_attempt=remediation.credentials_refused(401),
    )
    return refused
