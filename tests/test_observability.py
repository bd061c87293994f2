"""Metrics, readiness and structured logs."""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.test import Client

from integrations.circuit import redis_client
from integrations.tasks import heartbeat
from rca_project.observability import TrackingIdFilter, worker_heartbeat_key
from tests.conftest import local_payload

pytestmark = pytest.mark.django_db


def test_metrics_count_webhooks_by_source_and_outcome(webhook_client):
    webhook_client("/webhooks/adf/", local_payload("adf_failure.json"))
    webhook_client("/webhooks/adf/", local_payload("adf_failure.json"))
    webhook_client("/webhooks/adf/", {"pipeline": "p"})

    text = Client().get("/metrics").content.decode()

    assert 'rca_webhooks_total{outcome="created",source="adf"}' in text
    assert 'rca_webhooks_total{outcome="duplicate",source="adf"}' in text
    assert 'rca_webhooks_total{outcome="400",source="adf"}' in text
    assert "rca_ingest_seconds_bucket" in text
    assert 'rca_circuit_open{target="jira"}' in text and "rca_queue_depth" in text


def test_rule_rcas_for_want_of_a_gemini_key_are_counted_as_fallbacks(settings):
    """Without a key every RCA is the rules': the metric shows it (it counted failed calls
    only, so a service that never reached Gemini looked like one that never fell back)."""
    from analysis.services import analyse_tickets
    from tests.api import make_ticket

    settings.GEMINI_API_KEY = ""
    counted = 'rca_rule_fallbacks_total{reason="not_configured"}'

    def count() -> float:
        lines = Client().get("/metrics").content.decode().splitlines()
        return next((float(line.split()[-1]) for line in lines if line.startswith(counted)), 0)

    before = count()
    analyse_tickets([make_ticket(id=f"ADF-fallback-{n}").pk for n in range(3)])
    assert count() == before + 3


def test_metrics_token_protects_the_endpoint_when_set(settings):
    settings.METRICS_TOKEN = "metrics-token-for-tests"
    assert Client().get("/metrics").status_code == 401
    ok = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer metrics-token-for-tests")
    assert ok.status_code == 200


def test_readiness_needs_a_recent_worker_heartbeat():
    redis_client().delete(worker_heartbeat_key())
    not_ready = Client().get("/readyz")
    heartbeat()
    ready = Client().get("/readyz")

    assert not_ready.status_code == 503 and not_ready.json()["checks"]["worker"] is False
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True, "redis": True, "worker": True}
    assert Client().get("/healthz").json() == {"status": "ok"}


def test_logs_are_json_with_the_tracking_id_and_never_the_secrets(webhook_client, settings):
    from pythonjsonlogger.json import JsonFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        JsonFormatter("%(asctime)s %(levelname)s %(name)s %(tracking_id)s %(message)s")
    )
    handler.addFilter(TrackingIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    body = local_payload("adf_failure.json")
    body["error_message"] = "Login failed. Server=tcp:db;User ID=etl;Password=Hunter2Secret!;"
    try:
        answer = webhook_client(f"/webhooks/adf/?token={settings.WEBHOOK_TOKEN}", body, token="")
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)

    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    ingest_lines = [line for line in lines if line["name"] == "integrations.ingest"]
    assert ingest_lines and ingest_lines[0]["tracking_id"] == answer.json()["tracking_id"]
    everything = stream.getvalue()
    assert "Hunter2Secret!" not in everything
    assert settings.WEBHOOK_TOKEN not in everything


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_a_probe_posted_to_is_a_json_405(path):
    answer = Client().post(path, data="{}", content_type="application/json")
    assert answer.status_code == 405
    assert answer["Allow"] == "GET, HEAD"
    assert answer.json() == {"error": "method POST not allowed"}


@pytest.mark.parametrize("path", ["/healthz", "/readyz/", "/metrics"])
def test_a_probe_answers_whatever_address_it_was_sent_to(path, settings):
    """Production sets ALLOWED_HOSTS to the public name; compose's health checks and `make
    run`'s readiness probe ask 127.0.0.1, an orchestrator or a scraper the container's own
    address. Those got a DisallowedHost 400 (and an error with its trace logged every time)."""
    settings.ALLOWED_HOSTS = ["rca.example.com"]
    heartbeat()

    for host in ("127.0.0.1:8000", "172.28.0.5:8000", "localhost"):
        answer = Client().get(path, HTTP_HOST=host)
        assert answer.status_code == 200, (host, answer.status_code)
    assert Client().get("/login/", HTTP_HOST="127.0.0.1:8000").status_code == 400
    assert Client().get("/healthz/x", HTTP_HOST="127.0.0.1:8000").status_code == 400
