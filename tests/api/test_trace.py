"""Trace one webhook delivery from its tracking id: inbox row, ticket, audit, outbound work."""

from __future__ import annotations

import importlib
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from integrations.models import DeliveryAttempt, OutboundDelivery, WebhookDelivery
from tests.api import clear_throttles, jwt_client, make_deliveries, make_user
from tests.conftest import local_payload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttles():
    clear_throttles()


@pytest.fixture
def api():
    return jwt_client(make_user("viewer"))


def test_trace_follows_a_real_webhook_delivery(api, webhook_client):
    posted = webhook_client("/webhooks/adf/", local_payload("adf_failure.json"))
    assert posted.status_code == 202
    accepted = posted.json()
    outbound = OutboundDelivery.objects.create(
        key=f"jira_create:{accepted['ticket_id']}",
        ticket_id=accepted["ticket_id"],
        target="jira",
        action="jira_create",
    )
    DeliveryAttempt.objects.create(outbound=outbound, outcome="succeeded", http_status=201)

    response = api.get(f"/api/v1/trace/{accepted['tracking_id']}/")

    assert response.status_code == 200
    trace = response.json()
    delivery = trace["delivery"]
    assert delivery["tracking_id"] == accepted["tracking_id"]
    assert (delivery["source"], delivery["outcome"]) == ("adf", "created")
    assert delivery["status"] in ("pending", "processed")
    assert delivery["headers"]["Content-Type"] == "application/json"
    assert "X-Webhook-Token" not in delivery["headers"]
    assert delivery["event"]["pipeline"] == local_payload("adf_failure.json")["pipeline"]
    # As every other time the API answers: UTC ending in Z (it read "+00:00").
    assert delivery["event"]["occurred_at"].endswith("Z")
    assert "raw_body" not in delivery
    assert trace["ticket"]["id"] == accepted["ticket_id"]
    assert "embedding" not in trace["ticket"]
    assert trace["audit"] and trace["audit"][0]["actor_kind"] == "source"
    assert trace["outbound"][0]["attempts"][0]["http_status"] == 201


def test_trace_of_a_rejected_delivery_has_no_ticket(api, webhook_client):
    posted = webhook_client("/webhooks/adf/", {"pipeline": "pl_x"})  # no run_id
    assert posted.status_code == 400

    trace = api.get(f"/api/v1/trace/{posted.json()['tracking_id']}/").json()

    assert trace["delivery"]["status"] == "rejected"
    assert "run_id" in trace["delivery"]["reason"]
    assert trace["ticket"] is None and trace["audit"] == [] and trace["outbound"] == []


def test_a_delivery_finished_at_ingest_says_when_it_was_processed(api, webhook_client):
    """A recurrence or a duplicate is done when ingest commits: it said `processed_at: null`
    beside `status: processed`, as if it were still waiting."""
    body = local_payload("adf_failure.json")
    webhook_client("/webhooks/adf/", body)
    duplicate = webhook_client("/webhooks/adf/", body).json()
    recurrence = webhook_client("/webhooks/adf/", {**body, "run_id": "another-run"}).json()
    assert (duplicate["outcome"], recurrence["outcome"]) == ("duplicate", "correlated")

    for posted in (duplicate, recurrence):
        delivery = api.get(f"/api/v1/trace/{posted['tracking_id']}/").json()["delivery"]
        assert delivery["status"] == "processed"
        assert delivery["processed_at"] is not None
        processed_at = datetime.fromisoformat(delivery["processed_at"])
        assert processed_at >= datetime.fromisoformat(delivery["received_at"])

    rejected = webhook_client("/webhooks/adf/", {"pipeline": "pl_x"}).json()
    delivery = api.get(f"/api/v1/trace/{rejected['tracking_id']}/").json()["delivery"]
    assert (delivery["status"], delivery["processed_at"]) == ("rejected", None)


def test_rows_finished_at_ingest_before_the_upgrade_get_the_time_they_were_received():
    received = timezone.now() - timedelta(days=3)
    worked = received + timedelta(seconds=5)
    rows = {
        name: WebhookDelivery.objects.create(
            source="adf", received_at=received, status=status, processed_at=processed_at
        )
        for name, status, processed_at in [
            ("finished at ingest", "processed", None),
            ("finished by a worker", "processed", worked),
            ("pending", "pending", None),
            ("rejected", "rejected", None),
        ]
    }
    migration = importlib.import_module(
        "integrations.migrations.0017_processed_at_of_rows_finished_at_ingest"
    ).Migration
    with connection.cursor() as cursor:
        cursor.execute(migration.operations[0].sql)

    processed_at = {
        name: WebhookDelivery.objects.get(pk=row.pk).processed_at for name, row in rows.items()
    }
    assert processed_at == {
        "finished at ingest": received,
        "finished by a worker": worked,
        "pending": None,
        "rejected": None,
    }


@pytest.mark.parametrize("tracking_id", ["5ea54689-6a08-41e0-88e7-d99e0e7cfd4f", "not-a-uuid"])
def test_unknown_tracking_id_is_a_json_404(api, tracking_id):
    response = api.get(f"/api/v1/trace/{tracking_id}/")
    assert response.status_code == 404
    assert response.json() == {"error": "no delivery with this tracking id"}


def test_trace_of_a_storm_tickets_delivery_holds_its_first_deliveries_not_all(api, webhook_client):
    """The trace read every outbound delivery of the ticket with every attempt (a storm's:
    20,000), while its audit stopped at the first 500; both stop there now, oldest first."""
    from tickets.api.serializers import TRACE_LIMIT

    accepted = webhook_client("/webhooks/adf/", local_payload("adf_failure.json")).json()
    ticket_id = accepted["ticket_id"]
    start = timezone.now() - timedelta(days=1)
    make_deliveries(ticket_id, TRACE_LIMIT + 30, start, "slack_update")

    trace = api.get(f"/api/v1/trace/{accepted['tracking_id']}/").json()

    assert len(trace["outbound"]) == TRACE_LIMIT
    assert [d["key"] for d in trace["outbound"][:2]] == [
        f"{ticket_id}:slack_update:0",
        f"{ticket_id}:slack_update:1",
    ]
    # The rest: the ticket's `deliveries/`, newest first, page by page.
    paged = api.get(f"/api/v1/tickets/{ticket_id}/deliveries/").json()
    assert len(paged["results"]) == 100 and paged["next"]
