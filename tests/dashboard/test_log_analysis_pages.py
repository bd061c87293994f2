"""The log-analysis pages: upload (several files), the job page before and after the worker,
escaping of log text, the level timeline chart, attaching, and "analyse the run's log"."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from analysis import log_jobs
from analysis.models import LogAnalysisJob
from tests.dashboard import XSS, make_ticket, make_user
from tickets.models import Ticket

pytestmark = pytest.mark.django_db
LOG = (
    "24/01/31 10:00:00 INFO Stage: started\n"
    f"24/01/31 10:00:04 WARN Reader: odd value {XSS}\n"
    "24/01/31 10:05:05 ERROR Executor: Exception in task 1.0\n"
    "java.lang.OutOfMemoryError: Java heap space\n"
    "\tat java.util.Arrays.copyOf(Arrays.java:3332)\n"
).encode()


@pytest.fixture(autouse=True)
def local_only(settings):
    settings.EMBEDDING_BACKEND = "local"
    settings.GEMINI_API_KEY = ""


def signed_in(role: str, username: str) -> tuple[Client, User]:
    user = make_user(username, role)
    client = Client()
    client.force_login(user)
    return client, user


def test_upload_two_files_then_see_progress_and_the_report():
    client, _ = signed_in("viewer", "uploader")
    answer = client.post(
        "/log-analyses/",
        {"file": [SimpleUploadedFile("driver.log", LOG), SimpleUploadedFile("stderr", b"x\n")]},
    )
    assert answer.status_code == 302
    job = LogAnalysisJob.objects.get()
    assert answer["Location"] == f"/log-analyses/{job.pk}/"
    assert [i["name"] for i in job.inputs] == ["driver.log", "stderr"]

    waiting = client.get(answer["Location"]).content.decode()
    assert 'data-status="queued"' in waiting and "Root cause" not in waiting

    log_jobs.run_job(str(job.pk))
    page = client.get(answer["Location"]).content.decode()
    assert "java.lang.OutOfMemoryError: Java heap space" in page
    assert "driver.log:3" in page  # evidence with its line number
    assert XSS not in page and "&lt;script&gt;" in page
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in page and "Log lines per level" in page
    assert re.search(
        r"<rect [^>]*fill=\"#e15759\"><title>2024-01-31 10:0\d:00 UTC · ERROR: 1", page
    )
    assert f"/api/v1/log-analyses/{job.pk}/markdown/" in page
    listing = client.get("/log-analyses/").content.decode()
    assert f"/log-analyses/{job.pk}/" in listing


def test_an_upload_without_files_shows_the_form_again():
    client, _ = signed_in("viewer", "empty")
    answer = client.post("/log-analyses/", {"ticket_id": "ADF-NOPE"})
    assert answer.status_code == 400
    body = answer.content.decode()
    assert "This field is required." in body and "No ticket with this id." in body
    assert not LogAnalysisJob.objects.exists()


def test_an_empty_upload_is_refused_naming_the_file():
    client, _ = signed_in("viewer", "blank")
    answer = client.post(
        "/log-analyses/",
        {"file": [SimpleUploadedFile("driver.log", LOG), SimpleUploadedFile("stderr", b"")]},
    )
    assert answer.status_code == 400
    assert "stderr: the file is empty" in answer.content.decode()
    assert not LogAnalysisJob.objects.exists()


def test_analyse_the_runs_log_from_a_ticket_then_attach_it():
    ticket = make_ticket(error_message="java.lang.OutOfMemoryError: GC overhead limit exceeded")
    client, _ = signed_in("responder", "responder1")
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert f'action="/tickets/{ticket.pk}/analyse-log/"' in page
    answer = client.post(f"/tickets/{ticket.pk}/analyse-log/")
    job = LogAnalysisJob.objects.get(ticket=ticket)
    assert answer["Location"] == f"/log-analyses/{job.pk}/"
    log_jobs.run_job(str(job.pk))
    assert "Attach as the ticket" in client.get(answer["Location"]).content.decode()

    attached = client.post(
        f"/log-analyses/{job.pk}/action/", {"action": "attach", "ticket_id": ticket.pk}
    )
    assert attached["Location"] == f"/tickets/{ticket.pk}/"
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.rca_source == "log-analysis"


def test_a_run_log_analysis_read_from_the_ticket_alone_says_so_and_offers_an_upload(settings):
    """A Databricks ticket's "Analyse the run's log" without DATABRICKS_HOST analysed a file
    made of the ticket's own error text, named like a log ("DBX-….log (187 bytes)"): its page
    was a "Done" report that "matches no known cause", no word that no run log was read."""
    settings.DATABRICKS_HOST = ""
    ticket = make_ticket(
        source="databricks",
        processing_mode="databricks",
        affected_entity={"run_id": "4242", "job_id": "17"},
        error_message="Databricks job 'nightly' run 4242 failed",
    )
    client, _ = signed_in("responder", "responder2")
    answer = client.post(f"/tickets/{ticket.pk}/analyse-log/")
    job = LogAnalysisJob.objects.get(ticket=ticket)
    assert job.source == "ticket"
    log_jobs.run_job(str(job.pk))

    page = re.sub(r"\s+", " ", client.get(answer["Location"]).content.decode())
    assert "No run log could be read for this ticket" in page
    assert f'href="/log-analyses/?ticket={ticket.pk}">Upload the run' in page
    # A job that read a run's log says nothing of the kind.
    other = client.post("/log-analyses/", {"file": [SimpleUploadedFile("driver.log", LOG)]})
    assert "No run log could be read" not in client.get(other["Location"]).content.decode()


def test_viewers_cannot_attach_and_only_the_owner_cancels():
    ticket = make_ticket()
    owner, owner_user = signed_in("viewer", "owner1")
    other, _ = signed_in("viewer", "other1")
    job = log_jobs.create_job_from_files(owner_user, [log_jobs.Upload("a.log", io.BytesIO(LOG))])
    other.post(f"/log-analyses/{job.pk}/action/", {"action": "cancel"})
    job.refresh_from_db()
    assert job.status == "queued"
    owner.post(f"/log-analyses/{job.pk}/action/", {"action": "cancel"})
    job.refresh_from_db()
    assert job.status == "cancelled"
    owner.post(f"/log-analyses/{job.pk}/action/", {"action": "attach", "ticket_id": ticket.pk})
    assert Ticket.objects.get(pk=ticket.pk).rca_source != "log-analysis"


def test_the_log_analysis_pages_say_their_times_are_utc():
    """The list and a job's page showed when it was uploaded as a bare time."""
    client, _ = signed_in("viewer", "night-shift")
    answer = client.post("/log-analyses/", {"file": [SimpleUploadedFile("driver.log", LOG)]})
    for path in ("/log-analyses/", answer["Location"]):
        text = re.sub(r"<[^>]+>", " ", client.get(path).content.decode())
        times = re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d(?::\d\d)?(?: UTC)?", text)
        assert times, path
        assert [t for t in times if not t.endswith(" UTC")] == [], path


def test_the_report_page_says_how_many_over_long_lines_were_cut(settings):
    settings.LOG_ANALYSIS_MAX_LINE_CHARS = 200
    client, _ = signed_in("viewer", "wide")
    wide = b"24/01/31 10:00:01 INFO Show: |" + b"col|" * 1000 + b"\n"
    client.post("/log-analyses/", {"file": [SimpleUploadedFile("driver.log", wide + LOG)]})
    job = LogAnalysisJob.objects.get()
    log_jobs.run_job(str(job.pk))
    page = client.get(f"/log-analyses/{job.pk}/").content.decode()
    assert "java.lang.OutOfMemoryError: Java heap space" in page
    assert "<dt>Lines cut</dt><dd>1 (longer than the line limit" in page
