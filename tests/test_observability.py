"""Metrics, readiness and structured logs."""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection
from django.test import Client

from integrations.circuit import redis_client
from integrations.tasks import heartbeat
from rca_project.observability import TrackingIdFilter, worker_heartbeat_key
from tests.conftest import local_payload
from tests.security.server import closed_port_url

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


@pytest.mark.parametrize(
    ("peer", "forwarded", "status"),
    [
        ("127.0.0.1", "", 200),
        ("10.1.2.3", "", 200),
        ("172.28.0.7", "", 200),  # a scraper on compose's network
        ("::1", "", 200),
        ("93.184.216.34", "", 403),
        ("2a00:1450:4001::1", "", 403),
        ("172.28.0.10", "93.184.216.34", 403),  # through compose's proxy from outside
    ],
)
def test_without_a_metrics_token_only_private_networks_read_the_metrics(
    settings, peer, forwarded, status
):
    """Unset METRICS_TOKEN left queue depths and failure counts readable by anyone who reached
    the service (compose's proxy passes /metrics on)."""
    settings.METRICS_TOKEN = ""
    settings.TRUSTED_PROXIES = ["172.28.0.10"]
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    answer = Client(REMOTE_ADDR=peer).get("/metrics", **headers)
    assert answer.status_code == status
    if status == 403:
        assert b"METRICS_TOKEN" in answer.content
        assert b"webhooks" not in answer.content


def test_metrics_token_protects_the_endpoint_when_set(settings):
    settings.METRICS_TOKEN = "metrics-token-for-tests"
    assert Client().get("/metrics").status_code == 401
    ok = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer metrics-token-for-tests")
    assert ok.status_code == 200


def test_readiness_reports_the_worker_heartbeat_without_requiring_it():
    """Web accepts webhooks into the inbox with beat or every worker stopped: its readiness
    (compose's web health check, a load balancer's) said 503 then, and every replica was
    taken out of service. The heartbeat is reported in the body."""
    redis_client().delete(worker_heartbeat_key())
    no_worker = Client().get("/readyz")
    heartbeat()
    ready = Client().get("/readyz")

    assert no_worker.status_code == 200
    assert no_worker.json() == {
        "ready": True,
        "checks": {"database": True, "redis": True, "worker": False},
    }
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True, "redis": True, "worker": True}
    assert Client().get("/healthz").json() == {"status": "ok"}


def test_readiness_without_redis_is_ready_and_without_the_database_is_not(settings):
    """The inbox (PostgreSQL) is what accepting a webhook needs; with Redis down the deliveries
    wait in it for the relay (tests/faults: webhooks are still answered 202)."""
    heartbeat()
    settings.REDIS_URL = closed_port_url("redis")
    no_redis = Client().get("/readyz")

    def unreachable(execute, sql, params, many, context):
        raise OperationalError("connection refused")

    with connection.execute_wrapper(unreachable):
        no_database = Client().get("/readyz")

    assert no_redis.status_code == 200
    assert no_redis.json()["checks"] == {"database": True, "redis": False, "worker": False}
    assert no_database.status_code == 503
    assert no_database.json()["ready"] is False
    assert no_database.json()["checks"]["database"] is False


def test_the_beat_containers_health_check_is_the_worker_heartbeat(capsys):
    """compose's beat service runs `manage.py worker_heartbeat`: beat or the default queue's
    worker stopped shows there, since web's readiness no longer fails on it."""
    redis_client().delete(worker_heartbeat_key())
    with pytest.raises(CommandError, match="no worker heartbeat"):
        call_command("worker_heartbeat")
    heartbeat()
    call_command("worker_heartbeat")
    assert "worker heartbeat recent" in capsys.readouterr().out


@pytest.mark.parametrize("stored", [b"not a number", b"\xff\xfe", b"", b"inf", b"nan"])
def test_a_heartbeat_that_is_not_a_time_is_stale_not_an_error(stored, capsys):
    """float() of the stored value raised: /readyz answered a 500 and the command a traceback
    ("inf" passed as a heartbeat for ever)."""
    redis_client().set(worker_heartbeat_key(), stored)
    try:
        answer = Client().get("/readyz")
        with pytest.raises(CommandError, match="no worker heartbeat"):
            call_command("worker_heartbeat")
    finally:
        redis_client().delete(worker_heartbeat_key())

    assert answer.status_code == 200
    assert answer.json()["checks"] == {"database": True, "redis": True, "worker": False}


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
