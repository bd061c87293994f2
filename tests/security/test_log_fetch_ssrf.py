"""A webhook sender chooses a ticket's Airflow `log_url`, and "Analyse the run's log" fetches
it and shows what it read in the report. The sender must not make the service read an address
of its own machine or the cloud's metadata service (link-local): only an operator, by listing
the host in LOG_ANALYSIS_URL_HOSTS, lets those be fetched."""

from __future__ import annotations

import json

import pytest

from analysis import log_jobs
from analysis.models import LogAnalysisJob
from tests.api import jwt_client, make_user
from tests.conftest import local_payload
from tests.fakes.text_server import TextServer

INTERNAL_SECRET = "internal-only admin console session"


def internal_server() -> TextServer:
    """An HTTP service on this machine that no webhook should make the service read."""
    return TextServer(
        {}, default=f"2025-12-10 10:00:00,000 ERROR admin: {INTERNAL_SECRET}\n".encode()
    )


@pytest.fixture(autouse=True)
def job_settings(settings, tmp_path):
    settings.LOG_ANALYSIS_DIR = tmp_path / "log-analyses"
    settings.LOG_ANALYSIS_URL_HOSTS = []
    settings.EMBEDDING_BACKEND = "local"
    settings.GEMINI_API_KEY = ""


def _airflow_ticket(webhook_client, log_url: str) -> str:
    body = {**local_payload("airflow_failure.json"), "log_url": log_url}
    answer = webhook_client("/webhooks/airflow/", body)
    assert answer.status_code == 202, answer.content
    return answer.json()["ticket_id"]


def _analyse(ticket_id: str, **extra: str) -> LogAnalysisJob:
    viewer = jwt_client(make_user("viewer"))
    answer = viewer.post("/api/v1/log-analyses/", {"ticket_id": ticket_id, **extra}, format="json")
    assert answer.status_code == 202, answer.content
    job_id = answer.json()["id"]
    log_jobs.run_job(job_id)
    return LogAnalysisJob.objects.get(pk=job_id)


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]"])
def test_a_webhooks_log_url_cannot_make_the_service_read_its_own_machine(webhook_client, host):
    with internal_server() as internal:
        ticket_id = _airflow_ticket(webhook_client, f"http://{host}:{internal.port}/admin/secret")
        job = _analyse(ticket_id)
    assert internal.paths == []
    assert job.status == "failed"
    assert "LOG_ANALYSIS_URL_HOSTS" in job.error and "127.0.0.1" in job.error
    assert INTERNAL_SECRET not in str(job.report)


@pytest.mark.django_db
def test_nor_a_path_a_viewer_picks_on_that_host(webhook_client):
    with internal_server() as internal:
        ticket_id = _airflow_ticket(webhook_client, f"http://127.0.0.1:{internal.port}/log")
        job = _analyse(ticket_id, url=f"http://127.0.0.1:{internal.port}/metrics")
    assert internal.paths == []
    assert job.status == "failed"


@pytest.mark.django_db
def test_the_cloud_metadata_address_is_refused_without_a_connection(webhook_client):
    ticket_id = _airflow_ticket(webhook_client, "http://169.254.169.254/latest/meta-data/")
    job = _analyse(ticket_id)
    assert job.status == "failed"
    assert "169.254.169.254" in job.error and "LOG_ANALYSIS_URL_HOSTS" in job.error


@pytest.mark.django_db
def test_a_host_the_operator_listed_is_fetched_whatever_its_address(webhook_client, settings):
    settings.LOG_ANALYSIS_URL_HOSTS = ["127.0.0.1"]
    with internal_server() as internal:
        ticket_id = _airflow_ticket(webhook_client, f"http://127.0.0.1:{internal.port}/log")
        job = _analyse(ticket_id)
    assert internal.paths == ["/log"]
    assert job.status == "done", job.error
    assert INTERNAL_SECRET in json.dumps(job.report)  # what is fetched is shown in the report


@pytest.mark.django_db
def test_a_log_url_whose_port_is_out_of_range_fails_the_job_saying_it_cannot_fetch(
    webhook_client,
):
    job = _analyse(_airflow_ticket(webhook_client, "http://logs.example.org:99999/task.log"))

    assert job.status == "failed"
    assert "cannot fetch the log from logs.example.org" in job.error
