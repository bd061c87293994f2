"""Trace one webhook delivery from its tracking id: inbox row, ticket, audit, outbound work."""

from __future__ import annotations

import pytest

from integrations.models import DeliveryAttempt, OutboundDelivery
from tests.api import clear_throttles, jwt_client, make_user
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


@pytest.mark.parametrize("tracking_id", ["5ea54689-6a08-41e0-88e7-d99e0e7cfd4f", "not-a-uuid"])
def test_unknown_tracking_id_is_a_json_404(api, tracking_id):
    response = api.get(f"/api/v1/trace/{tracking_id}/")
    assert response.status_code == 404
    assert response.json() == {"error": "no delivery with this tracking id"}
