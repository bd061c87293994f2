"""From the webhook to the remediation: a throttled ADF run is proposed for a rerun once the
background processing has analysed it; a succeeded run posted by the source closes it."""

from __future__ import annotations

import uuid

import pytest

from integrations import processing
from integrations.models import Remediation, WebhookDelivery
from tests.conftest import local_payload
from tests.remediation.conftest import make_policy
from tickets.models import Ticket

# Committed transactions: the ticket_changed announcements (on commit) reach their receivers.
pytestmark = pytest.mark.django_db(transaction=True)


def test_an_analysed_failure_is_proposed_and_the_sources_success_closes_it(
    settings, webhook_client
):
    settings.GEMINI_API_KEY = ""
    make_policy(action="playbook", mode="auto", auto_min_confidence=0.0, signals=["throttl"])
    body = local_payload("adf_failure.json")
    body["run_id"] = f"run-{uuid.uuid4().hex[:8]}"
    body["error_message"] = "ErrorCode=2200 The request was throttled (429 Too Many Requests)"

    answer = webhook_client("/webhooks/adf/", body)
    assert answer.status_code == 202
    delivery = WebhookDelivery.objects.get(tracking_id=answer.json()["tracking_id"])
    processing.process_delivery(delivery.pk)

    found = Remediation.objects.get(ticket_id=answer.json()["ticket_id"])
    assert found.status == "running" and found.action == "playbook"
    processing.process_delivery(delivery.pk)  # a redelivery proposes nothing twice
    assert Remediation.objects.filter(ticket_id=found.ticket_id).count() == 1

    success = {**body, "status": "Succeeded", "error_message": ""}
    assert webhook_client("/webhooks/adf/", success).json()["outcome"] == "resolved"
    found.refresh_from_db()
    assert found.status == "succeeded"
    assert Ticket.objects.get(pk=found.ticket_id).remediation_status == "succeeded"
