"""`/api/v1/log-analyses/`: what is refused up front (a binary upload, like an empty one) and a
report that found no error, which is not attached over a ticket's RCA."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from analysis import log_jobs
from analysis.models import LogAnalysisJob
from tests.api import jwt_client, make_user
from tests.dashboard import make_ticket
from tickets.models import AuditLog, Ticket

pytestmark = pytest.mark.django_db
BASE = "/api/v1/log-analyses/"


@pytest.fixture(autouse=True)
def local_embeddings(settings, tmp_path):
    settings.EMBEDDING_BACKEND = "local"
    settings.GEMINI_API_KEY = ""
    settings.LOG_ANALYSIS_DIR = tmp_path / "log-analyses"


def upload(client, *files: tuple[str, bytes]):
    data = {"file": [SimpleUploadedFile(name, body) for name, body in files]}
    return client.post(BASE, data, format="multipart")


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("shot.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)),
        ("table.parquet", b"PAR1\x15\x04\x15\x00\x00" + bytes(range(256))),
    ],
)
def test_a_binary_upload_is_refused_up_front_like_an_empty_one(settings, name, data):
    client = jwt_client(make_user("viewer"))
    answer = upload(
        client, ("driver.log", b"24/01/31 10:00:00 INFO Stage: started\n"), (name, data)
    )
    assert answer.status_code == 400, answer.content
    assert f"{name}: binary data, not a text log" in json.dumps(answer.json())
    empty = upload(client, ("empty.log", b""))
    assert empty.status_code == 400
    assert "empty.log: the file is empty" in json.dumps(empty.json())
    assert not LogAnalysisJob.objects.exists()
    assert not any(settings.LOG_ANALYSIS_DIR.iterdir())


def test_a_report_that_found_no_error_is_not_attached():
    ticket = make_ticket(rca_source="rules", rca_result="The pipeline failed: disk full.")
    responder = make_user("responder")
    quiet = b"24/01/31 10:00:00 INFO Stage: started\n24/01/31 10:00:05 INFO Stage: done\n"
    job_id = upload(jwt_client(responder), ("a.log", quiet)).json()["id"]
    log_jobs.run_job(job_id)
    report = jwt_client(responder).get(f"{BASE}{job_id}/").json()["report"]
    assert report["no_error"] is True and report["error_type"] == "Unknown"
    assert report["root_cause"].startswith("No error was found in the log")
    answer = jwt_client(responder).post(
        f"{BASE}{job_id}/attach/", {"ticket_id": ticket.pk}, format="json"
    )
    assert answer.status_code == 409
    assert answer.json()["error"].startswith("the analysis found no error in the log")
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert (ticket.rca_source, ticket.rca_result) == ("rules", "The pipeline failed: disk full.")
    assert not AuditLog.objects.filter(ticket=ticket, action="log analysis attached").exists()


def test_an_alert_ticket_has_no_run_log_to_analyse():
    """An Azure Monitor alert that is no pipeline failure has no run: `{ticket_id}` alone is a
    400 saying so, and its page offers an upload instead of "Analyse the run's log"."""
    alert = make_ticket(source="azure-monitor", processing_mode="azure-monitor")
    answer = jwt_client(make_user("viewer")).post(BASE, {"ticket_id": alert.pk}, format="json")
    assert answer.status_code == 400, answer.content
    assert "an Azure Monitor alert, not a pipeline run" in json.dumps(answer.json())
    assert not LogAnalysisJob.objects.exists()

    client = Client()
    client.force_login(make_user("viewer"))
    page = client.get(f"/tickets/{alert.pk}/").content.decode()
    assert "analyse-log" not in page and "Upload logs for this alert" in page
    refused = client.post(f"/tickets/{alert.pk}/analyse-log/", follow=True)
    assert "not a pipeline run" in refused.content.decode()
    assert not LogAnalysisJob.objects.exists()

    # A pipeline failure keeps the button.
    pipeline = make_ticket()
    assert 'id="analyse-log"' in client.get(f"/tickets/{pipeline.pk}/").content.decode()
