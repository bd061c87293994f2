"""Log-analysis jobs end to end: the real Celery task in a real worker, the real database, the
real google-genai and databricks-sdk clients against local fakes, the websocket group."""

from __future__ import annotations

import gzip
import io
import json
import re
import threading
import time
import uuid
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from analysis import log_jobs
from analysis.classifier import classify_error
from analysis.log_jobs import AttachError, LogJobError, Upload
from analysis.logs.markdown import report_markdown
from analysis.logs.mining import EXCERPT_CHARS, mine_lines
from analysis.logs.reader import LogLine, LogSource
from analysis.models import LlmCall, LogAnalysisJob
from rca_project.asgi import application
from tests.analysis.test_log_formats import (
    ADF_ERROR,
    ADF_SQL_LOGIN_ERROR,
    ADF_SQL_LOGIN_RUN,
    DBT_19_CONSOLE_LOG,
    DBT_19_FILE_LOG,
    DBT_CONSOLE_LOG,
    DBT_FILE_LOG,
)
from tests.api import jwt_client
from tests.conftest import wait_for
from tests.dashboard import make_ticket, make_user
from tests.fakes.databricks_api import FakeDatabricks, job_run, task
from tests.fakes.gemini_api import GOOD_RCA, FakeGemini
from tests.fakes.text_server import TextServer
from tickets.lifecycle import Actor
from tickets.models import AuditLog, Ticket

LOGS = Path(__file__).parent / "logs"
SECRET = "Pa55w0rdNeverStored"


@pytest.fixture(autouse=True)
def job_settings(settings, tmp_path):
    settings.LOG_ANALYSIS_DIR = tmp_path / "log-analyses"
    settings.EMBEDDING_BACKEND = "local"
    settings.GEMINI_API_KEY = ""


def spark_log(lines: int = 200) -> bytes:
    out = [
        f"24/01/31 10:{i // 60 % 60:02d}:{i % 60:02d} INFO Stage: task {i} done"
        for i in range(lines)
    ]
    out.append(f"24/01/31 11:00:00 INFO Conn: jdbc:sqlserver://sql-prod;password={SECRET}")
    out.append("24/01/31 11:00:01 ERROR Executor: Exception in task 3.0 in stage 7.0 (TID 41)")
    out.append(
        "org.apache.spark.SparkException: Job aborted due to stage failure: "
        "com.microsoft.sqlserver.jdbc.SQLServerException: Login failed for user 'etl'."
    )
    out.append("\tat org.apache.spark.scheduler.DAGScheduler.failJob(DAGScheduler.scala:2984)")
    out.append(
        "Caused by: com.microsoft.sqlserver.jdbc.SQLServerException: Login failed for user 'etl'."
    )
    return ("\n".join(out) + "\n").encode()


def upload_job(user, *files: tuple[str, bytes], ticket=None) -> LogAnalysisJob:
    return log_jobs.create_job_from_files(
        user, [Upload(name, io.BytesIO(data)) for name, data in files], ticket
    )


def report_of(job: LogAnalysisJob) -> dict[str, Any]:
    assert job.report is not None, (job.status, job.error)
    return job.report


def wait_finished(job: LogAnalysisJob, timeout: float = 60) -> LogAnalysisJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.finished:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job still {job.status} ({job.step})")


@pytest.mark.django_db(transaction=True)
def test_upload_runs_in_the_worker_and_reports_the_cause(celery_worker):
    user = make_user("analyst", "viewer")
    compressed = gzip.compress(spark_log())
    job = upload_job(user, ("driver.log.gz", compressed), ("stdout", b"hello\n"))
    assert job.status == "queued"
    folder = Path(django_settings.LOG_ANALYSIS_DIR) / str(job.id)
    assert sorted(p.name for p in folder.iterdir()) == ["00", "01"]

    job = wait_finished(job)

    assert (job.status, job.progress, job.error) == ("done", 100, "")
    report = report_of(job)
    assert report["error_type"] == "AuthenticationError"
    assert report["rca_source"] == "rules"
    assert "rejected the credentials of user 'etl'" in report["root_cause"]
    assert report["innermost_cause"]["type"].endswith("SQLServerException")
    roles = {e["role"] for e in report["evidence"]}
    assert {"innermost cause", "failure"} <= roles
    failure = next(e for e in report["evidence"] if e["role"] == "failure")
    assert (failure["file"], failure["line"]) == ("driver.log", 202)
    assert failure["time"] == "2024-01-31T11:00:01Z"
    stage = next(p for p in report["patterns"] if p["template"].startswith("Stage:"))
    assert stage["count"] == 200
    assert report["timeline"]["levels"] == ["INFO", "ERROR"]
    assert report["summary"]["files"] == ["driver.log", "stdout"]
    assert SECRET not in json.dumps(report)
    # The worker removes the files right after it saves the report.
    wait_for(lambda: not folder.exists(), timeout=10)


@pytest.mark.django_db(transaction=True)
def test_progress_is_pushed_over_the_dashboard_websocket(celery_worker):
    user = make_user("watcher", "viewer")
    client = Client()
    client.force_login(user)
    name = django_settings.SESSION_COOKIE_NAME
    cookie = f"{name}={client.cookies[name].value}"
    headers = [(b"origin", b"http://127.0.0.1"), (b"cookie", cookie.encode())]

    async def scenario() -> list[dict[str, Any]]:
        from asgiref.sync import sync_to_async

        communicator = WebsocketCommunicator(application, "/ws/tickets/", headers=headers)
        connected, _ = await communicator.connect(timeout=10)
        assert connected
        seen: list[dict[str, Any]] = []
        try:
            job = await sync_to_async(upload_job)(user, ("a.log", spark_log()))
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                message = await communicator.receive_json_from(timeout=deadline - time.monotonic())
                if message.get("type") == "log_analysis.progress" and message["job"]["id"] == str(
                    job.id
                ):
                    seen.append(message["job"])
                    if message["job"]["status"] == "done":
                        break
        finally:
            await communicator.disconnect()
        return seen

    events = async_to_sync(scenario)()
    statuses = [e["status"] for e in events]
    assert statuses[0] == "reading" and statuses[-1] == "done"
    assert "mining" in statuses and "analysing" in statuses
    assert events[-1]["progress"] == 100


@pytest.mark.django_db
def test_mining_progress_writes_sizes_as_the_limits_do(tmp_path):
    user = make_user("sizer", "viewer")
    job = upload_job(user, ("many.log", b"x\n" * 30_000))
    LogAnalysisJob.objects.filter(pk=job.pk).update(status="mining")
    job.refresh_from_db()
    source = LogSource(Path(django_settings.LOG_ANALYSIS_DIR) / str(job.id) / "00", "many.log")

    log_jobs._mine(job, [source], log_jobs._Progress(job))

    job.refresh_from_db()
    assert re.fullmatch(r"mining: 20,000 lines, [\d.]+ KB of 58\.6 KB", job.step), job.step


@pytest.mark.django_db(transaction=True)
def test_cancel_stops_a_running_job_between_chunks(settings):
    user = make_user("canceller", "responder")
    body = "".join(f"24/01/31 10:00:00 INFO Stage: step {i} of many\n" for i in range(400_000))
    job = upload_job(user, ("long.log", body.encode()))
    runner = threading.Thread(target=log_jobs.run_job, args=(str(job.id),))
    runner.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status == "mining" and job.progress > 5:
            break
        time.sleep(0.05)
    assert job.status == "mining"
    log_jobs.cancel_job(job.id)
    runner.join(timeout=60)
    assert not runner.is_alive()
    job.refresh_from_db()
    assert job.status == "cancelled" and job.report is None
    assert not (Path(settings.LOG_ANALYSIS_DIR) / str(job.id)).exists()
    # A second delivery of the task does nothing to a cancelled job.
    log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    assert job.status == "cancelled"


@pytest.mark.django_db(transaction=True)
def test_a_job_whose_worker_died_is_requeued_then_failed_with_a_reason(settings, celery_worker):
    settings.LOG_ANALYSIS_MAX_ATTEMPTS = 2
    user = make_user("sleeper", "viewer")
    job = upload_job(user, ("a.log", spark_log()))
    wait_finished(job)
    # As if a worker had been killed mid-mining: running, heartbeat long gone, files on disk.
    folder = Path(settings.LOG_ANALYSIS_DIR) / str(job.id)
    wait_for(lambda: not folder.exists(), timeout=10)  # removed just after the report
    folder.mkdir(parents=True)
    (folder / "00").write_bytes(spark_log())
    long_ago = timezone.now() - timedelta(seconds=settings.LOG_ANALYSIS_STALE_SECONDS + 60)
    LogAnalysisJob.objects.filter(pk=job.pk).update(
        status="mining",
        step="mining",
        heartbeat_at=long_ago,
        attempts=1,
        report=None,
        finished_at=None,
    )
    assert log_jobs.recover_stale_jobs() == {"requeued": 1, "failed": 0}
    job = wait_finished(job)
    assert job.status == "done" and job.attempts == 2 and job.report

    wait_for(lambda: not folder.exists(), timeout=10)
    folder.mkdir(parents=True)
    (folder / "00").write_bytes(spark_log())
    LogAnalysisJob.objects.filter(pk=job.pk).update(
        status="analysing", step="root-cause analysis", heartbeat_at=long_ago, finished_at=None
    )
    assert log_jobs.recover_stale_jobs() == {"requeued": 0, "failed": 1}
    job.refresh_from_db()
    assert job.status == "failed"
    assert "worker stopped while root-cause analysis" in job.error
    assert "2 times" in job.error


@pytest.mark.django_db
def test_an_upload_over_the_limit_leaves_nothing(settings):
    settings.LOG_ANALYSIS_MAX_BYTES = 1000
    user = make_user("big", "viewer")
    with pytest.raises(LogJobError, match="exceed the limit of 1,000 bytes per job"):
        upload_job(user, ("a.log", b"x\n" * 300), ("b.log", b"y\n" * 300))
    assert not LogAnalysisJob.objects.exists()
    assert not any(Path(settings.LOG_ANALYSIS_DIR).iterdir())


@pytest.mark.django_db
def test_a_line_over_the_limit_is_cut_and_the_job_completes_saying_so(settings):
    settings.LOG_ANALYSIS_MAX_LINE_CHARS = 100
    user = make_user("wide", "viewer")
    wide = b"24/01/31 12:00:00 INFO Show: |" + b"z" * 500 + b"|"
    failure = b"24/01/31 12:00:01 ERROR Job: java.lang.IllegalStateException: lost executor 3"
    job = upload_job(user, ("wide.log", b"24/01/31 12:00:00 INFO ok\n" + wide + b"\n" + failure))
    log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    assert job.status == "done", job.error
    report = report_of(job)
    assert report["summary"]["lines"] == 3
    assert report["summary"]["lines_cut"] == 1
    assert "lost executor 3" in json.dumps(report["evidence"])
    markdown = report_markdown({"id": str(job.id), "status": job.status}, report)
    assert "- Lines cut: 1 (longer than the line limit" in markdown


@pytest.mark.django_db
@pytest.mark.parametrize("line_limit", range(404, 440, 2))
def test_a_json_record_cut_inside_an_escaped_emoji_is_read_and_stored(settings, line_limit):
    """A JSON record whose message holds "\\ud83d\\ude80" (an emoji as JSON escapes it) cut
    between the two halves of the pair: one half alone parses to a lone surrogate, which no
    UTF-8 text holds, and the job failed (the embedding's tokenizer refused the text)."""
    settings.LOG_ANALYSIS_MAX_LINE_CHARS = line_limit
    user = make_user("emoji", "viewer")
    message = "".join(f"batch {n} \U0001f680\U0001f680\U0001f680 " for n in range(60))
    records = [
        {"timestamp": "2025-12-10T12:00:00Z", "level": "INFO", "message": "start"},
        {"timestamp": "2025-12-10T12:00:01Z", "level": "ERROR", "message": message},
    ]
    text = "\n".join(json.dumps(record) for record in records)
    assert "\\ud83d\\ude80" in text
    job = upload_job(user, ("app.jsonl", text.encode()))
    log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    assert job.status == "done", job.error
    report = report_of(job)
    assert report["summary"]["lines_cut"] == 1
    assert "batch 0 \U0001f680\U0001f680" in json.dumps(report, ensure_ascii=False)


def metric(sample: str) -> float:
    """A sample's value on /metrics, as Prometheus scrapes it (0 before it is first counted)."""
    lines = Client().get("/metrics").content.decode().splitlines()
    return next((float(line.split()[-1]) for line in lines if line.startswith(sample + " ")), 0)


LLM_SAMPLES = (
    'rca_llm_calls_total{outcome="ok"}',
    "rca_llm_seconds_count",
    'rca_llm_tokens_total{kind="prompt"}',
    'rca_llm_tokens_total{kind="output"}',
)


@pytest.mark.django_db
def test_gemini_rca_over_the_mined_log_is_fenced_redacted_and_budgeted(settings):
    before = [metric(sample) for sample in LLM_SAMPLES]
    with FakeGemini() as gemini:
        settings.GEMINI_API_KEY = "test-key-not-a-secret"
        settings.GEMINI_BASE_URL = gemini.url
        settings.GEMINI_TIMEOUT_SECONDS = 2.0
        settings.GEMINI_MAX_ATTEMPTS = 1
        settings.LOG_ANALYSIS_PROMPT_TOKENS = 1000
        ticket = make_ticket()
        job = upload_job(make_user("g", "viewer"), ("a.log", spark_log(5000)), ticket=ticket)
        log_jobs.run_job(str(job.id))
        job.refresh_from_db()
        requests = gemini.generate_requests()
    assert job.status == "done"
    assert report_of(job)["rca_source"] == "gemini"
    assert report_of(job)["root_cause"] == GOOD_RCA["root_cause"]
    assert report_of(job)["error_type"] == "AuthenticationError"  # the classifier decides
    sent = gemini.prompt_text(requests[0])
    assert SECRET not in sent
    assert "Login failed for user" in sent
    assert "FAILURE_DATA_" in sent
    contents = requests[0].body["contents"][0]["parts"][0]["text"]
    assert len(contents) < 1000 * 4 + 600  # the data is cut to the budget
    call = LlmCall.objects.get(purpose="log-rca")
    assert (call.ticket_id, call.outcome) == (ticket.pk, "ok")
    # Counted on /metrics as a ticket's RCA call is.
    after = [metric(sample) for sample in LLM_SAMPLES]
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 812, 164]


@pytest.mark.django_db
def test_gemini_failure_falls_back_to_the_rules_and_says_why(settings):
    with FakeGemini() as gemini:
        settings.GEMINI_API_KEY = "test-key-not-a-secret"
        settings.GEMINI_BASE_URL = gemini.url
        settings.GEMINI_MAX_ATTEMPTS = 1
        gemini.raw_text = "not json"
        job = upload_job(make_user("f", "viewer"), ("a.log", spark_log()))
        fallbacks = 'rca_rule_fallbacks_total{reason="invalid_output"}'
        before = metric(fallbacks)
        log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    assert report_of(job)["rca_source"] == "rules"
    assert report_of(job)["rca_note"].startswith("rule-based: Gemini failed (invalid_output")
    assert metric(fallbacks) == before + 1  # on /metrics as a ticket's fallback is


@pytest.mark.django_db
def test_attach_makes_it_the_tickets_rca_with_the_source_marked():
    ticket = make_ticket(rca_source="rules", rca_result="old guess")
    user = make_user("resp", "responder")
    job = upload_job(user, ("a.log", spark_log()))
    log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    attached = log_jobs.attach_to_ticket(job, ticket.pk, Actor.for_user(user))
    assert attached.rca_source == "log-analysis"
    assert attached.rca_result == report_of(job)["root_cause"]
    assert attached.details["log_analysis"] == str(job.pk)
    entry = AuditLog.objects.get(ticket=ticket, action="log analysis attached")
    assert entry.user == user and entry.before["rca_source"] == "rules"
    job.refresh_from_db()
    assert job.ticket_id == ticket.pk and job.attached_at is not None


@pytest.mark.django_db
def test_databricks_run_output_is_fetched_through_the_sdk(settings):
    with FakeDatabricks() as databricks:
        settings.DATABRICKS_HOST = databricks.url
        settings.DATABRICKS_TOKEN = databricks.token
        databricks.add_run(
            job_run(
                run_id=7001,
                tasks=[task("ingest", 7002, "SUCCESS"), task("load", 7003, "FAILED", "failed")],
            )
        )
        databricks.outputs[7002] = {"logs": "all good\n"}
        databricks.outputs[7003] = {
            "logs": "24/01/31 10:00:00 INFO Loader: starting\n",
            "error": "java.lang.OutOfMemoryError: GC overhead limit exceeded",
            "error_trace": "java.lang.OutOfMemoryError: GC overhead limit exceeded\n"
            "\tat java.util.Arrays.copyOf(Arrays.java:3332)",
        }
        ticket = make_ticket(
            source="databricks",
            run_id="databricks:1234567890123456:7001:load",
            affected_entity={"workspace_id": "1234567890123456", "run_id": "7001"},
        )
        job = log_jobs.create_job_from_url(make_user("d", "viewer"), "databricks://runs/7001")
        log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    assert (job.source, job.source_ref, job.status) == ("databricks", "7001", "done")
    assert job.ticket_id == ticket.pk  # the ticket that records the run
    assert [i["name"] for i in job.inputs] == ["load.log", "ingest.log"]
    assert report_of(job)["innermost_cause"]["type"] == "java.lang.OutOfMemoryError"
    assert report_of(job)["error_type"] == "ResourceExhaustion"


NOTEBOOK_TRACE = (
    "\x1b[0;31m---------------------------------------------------------------------------\x1b[0m\n"
    "\x1b[0;31mModuleNotFoundError\x1b[0m                       Traceback (most recent call last)\n"
    "File \x1b[0;32m<command-3871224>:1\x1b[0m\n"
    "\x1b[0;32m----> 1\x1b[0m \x1b[38;5;28;01mimport\x1b[39;00m great_expectations\n\n"
    "\x1b[0;31mModuleNotFoundError\x1b[0m: No module named 'great_expectations'"
)


@pytest.mark.django_db
def test_a_databricks_tickets_run_output_is_its_job_runs_and_a_python_error_is_the_failure(
    settings,
):
    """The ticket a task's failure notification opened names the job run in its resource (its
    run_id is the dedup key); the notebook's Python error, which the API gives without a
    "Traceback (most recent call last):" line, is the failure the report names."""
    with FakeDatabricks() as databricks:
        settings.DATABRICKS_HOST = databricks.url
        settings.DATABRICKS_TOKEN = databricks.token
        databricks.add_run(job_run(run_id=8001, tasks=[task("silver", 8002, "FAILED", "failed")]))
        databricks.outputs[8002] = {
            "logs": "reading the bronze orders\n",
            "error": "ModuleNotFoundError: No module named 'great_expectations'",
            "error_trace": NOTEBOOK_TRACE,
        }
        ticket = make_ticket(
            source="databricks",
            run_id="databricks:1234567890123456:8001:silver",
            affected_entity={"workspace_id": "1234567890123456", "job_id": "11", "run_id": "8001"},
        )
        job = log_jobs.create_job_for_ticket(make_user("d", "viewer"), ticket)
        assert (job.source, job.source_ref) == ("databricks", "8001")
        log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    report = report_of(job)
    assert not report["no_error"]
    assert "'great_expectations' is not installed" in report["root_cause"]
    failure = next(e for e in report["evidence"] if e["role"] == "failure")
    assert failure["text"].endswith(
        "ERROR [Databricks silver] ModuleNotFoundError: No module named 'great_expectations'"
    )


def airflow_log_server() -> TextServer:
    """Serves one task log as text/plain at /log/load_orders/1, like Airflow's log endpoint."""
    return TextServer({"/log/load_orders/1": (LOGS / "airflow_lock_wait_chain.log").read_bytes()})


@pytest.mark.django_db
def test_the_tickets_airflow_log_host_is_allowed_and_fetched(settings):
    # The fake listens on loopback, which is fetched only from a listed host (see
    # tests/security/test_log_fetch_ssrf.py); the ticket's host is allowed as any other is.
    settings.LOG_ANALYSIS_URL_HOSTS = ["127.0.0.1"]
    with airflow_log_server() as airflow:
        ticket = make_ticket(source="airflow", links={"log": f"{airflow.url}/log/load_orders/1"})
        user = make_user("a", "viewer")
        job = log_jobs.create_job_for_ticket(user, ticket)
        assert (job.source, job.ticket_id) == ("url", ticket.pk)
        log_jobs.run_job(str(job.id))
        job.refresh_from_db()
    assert job.status == "done", job.error
    assert report_of(job)["innermost_cause"]["type"] == "MySQLdb._exceptions.OperationalError"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://evil.example.com/log", "host evil.example.com is not allowed"),
        ("file:///etc/passwd", "url must be http(s)://"),
        ("https://user:pw@airflow.internal/log", "must not carry credentials"),
        (  # a SAS-signed link: its token would end in the job's source_ref, masked
            "https://airflow.internal/log/1?sv=2022-11-02&sp=r&sig=AbCdEfGh0123456789abcdEF%3D",
            "must not carry credentials",
        ),
        ("databricks://runs/abc", "databricks://runs/<numeric run id>"),
        ("blob://../../etc", "blob path inside the evidence container"),
    ],
)
def test_urls_outside_the_allow_list_are_refused(settings, url, reason):
    settings.LOG_ANALYSIS_URL_HOSTS = ["airflow.internal"]
    settings.AZURE_STORAGE_CONNECTION_STRING = "UseDevelopmentStorage=true"
    settings.DATABRICKS_HOST = "https://adb.example.net"
    with pytest.raises(LogJobError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        log_jobs.create_job_from_url(make_user("u", "viewer"), url)
    assert not LogAnalysisJob.objects.exists()


@pytest.mark.django_db
def test_a_ticket_without_a_reachable_log_analyses_its_own_error_text():
    ticket = make_ticket(
        error_message='Traceback (most recent call last):\n  File "etl.py", line 3, in <module>\n'
        "    load()\nKeyError: 'customer_id'"
    )
    job = log_jobs.create_job_for_ticket(make_user("t", "viewer"), ticket)
    assert job.source == "ticket"
    log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    assert job.status == "done"
    assert report_of(job)["innermost_cause"] == {
        "type": "KeyError",
        "message": "'customer_id'",
        "line": 4,
    }


@pytest.mark.django_db
def test_a_blob_of_our_container_is_read_through_azure_storage_blob(settings):
    from azure.storage.blob import BlobServiceClient

    from tests.fakes.azurite import Azurite

    with Azurite() as azurite:
        settings.AZURE_STORAGE_CONNECTION_STRING = azurite.connection_string
        settings.AZURE_STORAGE_CONTAINER = "rca-evidence"
        service = BlobServiceClient.from_connection_string(azurite.connection_string)
        service.create_container("rca-evidence")
        service.get_blob_client("rca-evidence", "runs/7/driver.log.gz").upload_blob(
            gzip.compress(spark_log())
        )
        user = make_user("b", "viewer")
        job = log_jobs.create_job_from_url(user, "blob://rca-evidence/runs/7/driver.log.gz")
        assert (job.source, job.source_ref) == ("blob", "runs/7/driver.log.gz")
        log_jobs.run_job(str(job.id))
        missing = log_jobs.create_job_from_url(user, "blob://runs/none.log")
        log_jobs.run_job(str(missing.id))
    job.refresh_from_db()
    assert job.status == "done", job.error
    assert job.inputs == [{"name": "driver.log.gz", "size": len(gzip.compress(spark_log()))}]
    assert report_of(job)["innermost_cause"]["type"].endswith("SQLServerException")
    missing.refresh_from_db()
    assert (missing.status, missing.error) == ("failed", "no blob runs/none.log in rca-evidence")


@pytest.mark.django_db(transaction=True)
def test_a_queued_job_whose_message_was_lost_is_sent_again_once_per_period(settings):
    user = make_user("lost", "viewer")
    job = upload_job(user, ("a.log", spark_log()))  # published to a queue no worker reads
    long_ago = timezone.now() - timedelta(seconds=settings.LOG_ANALYSIS_STALE_SECONDS + 60)
    LogAnalysisJob.objects.filter(pk=job.pk).update(created_at=long_ago)
    assert log_jobs.recover_stale_jobs() == {"requeued": 1, "failed": 0}
    assert log_jobs.recover_stale_jobs() == {"requeued": 0, "failed": 0}
    job.refresh_from_db()
    assert job.status == "queued" and job.heartbeat_at is not None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "document",
    [
        pytest.param(ADF_ERROR, id="the error copied from the ADF monitor"),
        pytest.param(
            [{"activityName": "Web1", "status": "Failed", "error": ADF_ERROR}],
            id="an array of activity runs",
        ),
        pytest.param(
            {
                "activityName": "Web1",
                "status": "Failed",
                "activityRunEnd": "2025-12-10T12:34:56.1234567Z",
                "error": ADF_ERROR,
            },
            id="an activity run with its end time",
        ),
    ],
)
def test_adf_output_is_analysed_as_its_error(document):
    job = upload_job(make_user("adf", "viewer"), ("output.json", json.dumps(document).encode()))
    log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    report = report_of(job)
    assert report["summary"]["formats"] == {"adf": 1}
    assert report["summary"]["levels"] == {"ERROR": 1}
    expected = classify_error(f"ERROR [ADF 2108 UserError Web1] {ADF_ERROR['message']}").error_type
    assert report["error_type"] == expected != "Unknown"
    assert "matches no known cause" not in report["root_cause"]
    assert "(503) Server Unavailable" in report["root_cause"]
    assert "ERROR" not in report["root_cause"]  # the message quoted, not the line
    failure = next(e for e in report["evidence"] if e["role"] == "failure")
    assert failure["level"] == "ERROR"
    assert "Error calling the endpoint" in failure["text"]


@pytest.mark.django_db
def test_the_rule_rca_quotes_the_exception_once_without_the_log_header():
    log = (
        b"2025-12-10 01:00:05,000 ERROR [main] Driver: "
        b"java.io.IOException: No space left on device\n"
    )
    job = upload_job(make_user("disk", "viewer"), ("driver.log", log))
    log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    report = report_of(job)
    assert report["rca_source"] == "rules"
    root_cause = report["root_cause"]
    assert root_cause.count("No space left on device") == 1, root_cause
    for header in ("2025-12-10", "01:00:05", "ERROR", "main", "Driver"):
        assert header not in root_cause


SNOWFLAKE_TASK_LOG = (
    b"[2026-12-08T00:01:00.000+0000] {snowflake.py:300} INFO - Executing MERGE INTO ledger\n"
    b"[2026-12-08T00:01:05.000+0000] {taskinstance.py:2698} ERROR - Task failed with exception\n"
    b"Traceback (most recent call last):\n"
    b'  File "/opt/airflow/dags/finance.py", line 88, in merge\n'
    b"    cursor.execute(sql)\n"
    b"snowflake.connector.errors.ProgrammingError: 002003 (42S02): SQL compilation error:\n"
    b"Object 'FINANCE.STAGING.LEDGER_DELTA' does not exist or not authorized.\n"
    b"[2026-12-08T00:01:05.100+0000] {taskinstance.py:1138} INFO - Marking task as FAILED.\n"
)


@pytest.mark.django_db
def test_the_innermost_cause_is_read_with_the_rest_of_its_multi_line_message():
    """Snowflake's error names what is missing on its message's second line: the rule RCA
    reads and quotes the message whole, not its first line alone."""
    job = upload_job(make_user("snow", "viewer"), ("merge.log", SNOWFLAKE_TASK_LOG))
    log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    report = report_of(job)

    assert "FINANCE.STAGING.LEDGER_DELTA" in report["root_cause"], report["root_cause"]
    assert report["error_type"] == "DatabaseError"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "log",
    [DBT_FILE_LOG, DBT_CONSOLE_LOG, DBT_19_FILE_LOG, DBT_19_CONSOLE_LOG],
    ids=["logs/dbt.log", "console", "dbt 1.9 logs/dbt.log", "dbt 1.9 console"],
)
def test_a_failed_dbt_runs_log_is_analysed_as_the_database_error_it_reports(log):
    job = upload_job(make_user("dbt", "viewer"), ("dbt.log", log.encode()))
    log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    report = report_of(job)
    assert report["no_error"] is False
    assert report["error_type"] == "DatabaseError"
    assert 'relation "raw.orders_v2" does not exist' in report["root_cause"], report["root_cause"]
    failure = next(e for e in report["evidence"] if e["role"] == "failure")
    assert "Database Error in model stg_orders" in failure["text"]


_BASH = "[2026-12-06T00:00:05.{:03d}+0000] {{subprocess.py:93}} INFO - "
BASH_OPERATOR_LOG = "\n".join(
    [
        _BASH.format(1) + "Running load.py",
        _BASH.format(2) + "Traceback (most recent call last):",
        _BASH.format(3) + '  File "/opt/scripts/load.py", line 12, in <module>',
        _BASH.format(4) + "    conn = psycopg2.connect(dsn)",
        _BASH.format(5) + 'psycopg2.OperationalError: connection to server at "pg.internal" '
        '(10.2.0.4), port 5432 failed: FATAL:  password authentication failed for user "etl"',
        "[2026-12-06T00:00:05.900+0000] {subprocess.py:97} INFO - Command exited with return "
        "code 1",
        "[2026-12-06T00:00:06.000+0000] {taskinstance.py:2698} ERROR - Task failed with exception",
        "Traceback (most recent call last):",
        '  File "/opt/airflow/airflow/operators/bash.py", line 243, in execute',
        "    raise AirflowException(",
        "airflow.exceptions.AirflowException: Bash command failed. The command returned a "
        "non-zero exit code 1.",
        "[2026-12-06T00:00:06.100+0000] {taskinstance.py:1138} INFO - Marking task as FAILED.",
    ]
).encode()
SPARK_SUBMIT_TAIL = [
    "[2026-12-06T01:00:00.000+0000] {spark_submit.py:491} INFO - 26/12/06 01:00:00 ERROR "
    "Executor: Exception in task 3.0 in stage 50.0 (TID 100003)",
    "[2026-12-06T01:00:00.000+0000] {spark_submit.py:491} INFO - java.sql.SQLException: Login "
    "failed for user 'etl_svc'. ClientConnectionId:3a1c",
    "[2026-12-06T01:00:01.000+0000] {taskinstance.py:2698} ERROR - Task failed with exception",
    "Traceback (most recent call last):",
    '  File "/opt/airflow/providers/apache/spark/hooks/spark_submit.py", line 502, in submit',
    "airflow.exceptions.AirflowException: Cannot execute: spark-submit --master yarn "
    "/opt/jobs/load.py. Error code is: 1.",
]


@pytest.mark.django_db
def test_an_operator_failing_on_its_programs_exit_code_is_analysed_as_the_programs_error():
    """BashOperator's "Bash command failed ... exit code 1" names only the exit code: the cause
    is the error the program printed, which the operator logged before it."""
    job = upload_job(make_user("bash", "viewer"), ("attempt=1.log", BASH_OPERATOR_LOG))
    log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    report = report_of(job)

    assert report["innermost_cause"]["type"] == "psycopg2.OperationalError"
    assert report["error_type"] == "AuthenticationError"
    assert "'etl' on pg.internal" in report["root_cause"], report["root_cause"]
    assert "exit code" not in report["root_cause"]

    mined = mine_lines([LogLine("spark.log", i + 1, t) for i, t in enumerate(SPARK_SUBMIT_TAIL)])
    assert mined.innermost_cause is not None
    assert mined.innermost_cause.innermost_text().startswith("java.sql.SQLException: Login failed")


SQL_TIMEOUT_STDERR = (
    b"24/12/05 07:00:01 INFO SparkContext: Running Spark version 3.5.0\n"
    b"24/12/05 07:01:02 WARN TaskSetManager: Lost task 0.0 in stage 3.0 (TID 7)\n"
    b"com.microsoft.sqlserver.jdbc.SQLServerException: The TCP/IP connection to the host "
    b'sql-prod.example.net, port 1433 has failed. Error: "Connection timed out."\n'
    b"\tat com.microsoft.sqlserver.jdbc.SQLServerException.makeFromDriverError(X.java:1)\n"
    b"24/12/05 07:01:09 ERROR SparkContext: Job aborted due to stage failure\n"
)


@pytest.mark.django_db
def test_the_rule_rca_quotes_one_error_not_every_error_of_the_log_run_together():
    """An exception in the stderr, a later failure line and another file's error are three
    errors: the root cause quotes the one it explains; the others are evidence of their own."""
    job = upload_job(
        make_user("sqltimeout", "viewer"),
        ("stderr", SQL_TIMEOUT_STDERR),
        ("run.log", b"2024-12-05 07:02:00 ERROR job failed\n"),
    )
    log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    report = report_of(job)
    assert report["rca_source"] == "rules"
    quote = report["root_cause"].partition("The error says: ")[2]
    assert quote.startswith("“SQLServerException: The TCP/IP connection to the host")
    assert quote.endswith('"Connection timed out."”.'), quote
    evidence = " ".join(e["text"] for e in report["evidence"])
    assert "Job aborted due to stage failure" in evidence and "job failed" in evidence


SPARK_PY4J_WRAPPER_LOG = b"""\
24/12/05 07:50:01 INFO SparkContext: Running Spark version 3.5.0
24/12/05 07:50:02 INFO DAGScheduler: Submitting job 3
24/12/05 07:50:10 WARN TaskSetManager: Lost task 0.0 in stage 3.0 (TID 12): \
java.sql.SQLException: Login timeout expired
24/12/05 07:50:11 ERROR Executor: Exception in task 0.0 in stage 3.0 (TID 12)
com.microsoft.sqlserver.jdbc.SQLServerException: The TCP/IP connection to the host \
sqlsrv-sales.database.windows.net, port 1433 has failed. Error: "Connection timed out".
\tat com.microsoft.sqlserver.jdbc.SQLServerException.makeFromDriverError(X.java:234)
\tat com.microsoft.sqlserver.jdbc.SQLServerConnection.connectHelper(X.java:2435)
24/12/05 07:50:12 ERROR DAGScheduler: Job 3 failed: save at NativeMethodAccessorImpl.java:0
Traceback (most recent call last):
  File "/databricks/driver/etl.py", line 42, in <module>
    df.write.jdbc(url, "orders")
py4j.protocol.Py4JJavaError: An error occurred while calling o123.jdbc.
"""


@pytest.mark.django_db
def test_a_py4j_wrapper_naming_no_cause_defers_to_the_earlier_error_that_names_one():
    """py4j's "An error occurred while calling o123.jdbc." without "Caused by:" lines names
    only the call: the root cause is the connection timeout logged before it."""
    job = upload_job(make_user("py4j", "viewer"), ("driver.log", SPARK_PY4J_WRAPPER_LOG))
    log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    report = report_of(job)
    assert report["innermost_cause"]["type"] == "com.microsoft.sqlserver.jdbc.SQLServerException"
    assert report["rca_source"] == "rules"
    root_cause = report["root_cause"]
    assert "sqlsrv-sales.database.windows.net" in root_cause and "1433" in root_cause, root_cause
    assert "Connection timed out" in root_cause
    assert "o123.jdbc" not in root_cause and "database operation" not in root_cause


def test_a_py4j_wrapper_with_caused_by_lines_still_leads_to_its_own_cause():
    text = [
        "24/12/05 07:50:11 ERROR Executor: java.sql.SQLException: Login timeout expired",
        "Traceback (most recent call last):",
        '  File "/databricks/driver/etl.py", line 42, in <module>',
        "py4j.protocol.Py4JJavaError: An error occurred while calling o123.jdbc.",
        ": org.apache.spark.SparkException: Job aborted.",
        "\tat org.apache.spark.sql.execution.Writer.write(Writer.scala:1)",
        "Caused by: java.io.IOException: No space left on device",
    ]
    mined = mine_lines([LogLine("driver.log", i + 1, t) for i, t in enumerate(text)])
    assert mined.innermost_cause is not None
    assert mined.innermost_cause.innermost_text() == "java.io.IOException: No space left on device"


def test_the_rule_rca_message_keeps_a_failure_that_adds_to_the_exception():
    lines = [
        LogLine("a.log", 1, "24/01/31 10:00:00 ERROR Writer: Connection refused to db-01:5432"),
        LogLine("a.log", 2, "24/01/31 10:00:05 ERROR Driver: java.io.IOException: disk full"),
    ]
    mined = mine_lines(lines)
    assert log_jobs.rule_rca_errors(mined) == [
        "java.io.IOException: disk full",
        "Connection refused to db-01:5432",
    ]


@pytest.mark.django_db
def test_an_unreachable_log_host_is_named_in_the_jobs_error(settings):
    settings.LOG_ANALYSIS_URL_HOSTS = ["127.0.0.1"]
    settings.LOG_ANALYSIS_FETCH_TIMEOUT_SECONDS = 2
    job = log_jobs.create_job_from_url(make_user("u", "viewer"), "http://127.0.0.1:9/log/1")
    log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    assert job.status == "failed"
    assert (
        job.error
        == "cannot fetch the log from 127.0.0.1: 127.0.0.1 refused the connection on port 9"
    )


@pytest.mark.django_db
def test_a_log_host_that_does_not_resolve_is_named_in_words(settings):
    """Not a bare "gaierror": the job says the name did not resolve (.invalid never does)."""
    settings.LOG_ANALYSIS_URL_HOSTS = ["logs.trial.invalid"]
    job = log_jobs.create_job_from_url(make_user("u", "viewer"), "https://logs.trial.invalid/log/1")
    log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.error.startswith(
        "cannot fetch the log from logs.trial.invalid: could not resolve host logs.trial.invalid ("
    ), job.error


@pytest.mark.django_db
def test_a_long_adf_error_is_reported_as_its_inner_cause_like_the_webhook_does():
    """The inner SqlException ("Login failed", 18456) starts past the 500 characters an
    excerpt shows: the report classifies and explains the whole message, as the ADF webhook
    does with the same text, while its evidence stays short."""
    document = json.dumps(ADF_SQL_LOGIN_RUN, indent=2).encode()
    job = upload_job(make_user("adf-sql", "viewer"), ("activity_output.json", document))
    log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    report = report_of(job)
    message = ADF_SQL_LOGIN_ERROR["message"]
    assert classify_error(message).error_type == "AuthenticationError"  # the webhook's class
    assert report["error_type"] == "AuthenticationError"
    assert report["rca_source"] == "rules"
    root_cause = report["root_cause"]
    assert "The database rejected the credentials of user 'adf_loader'" in root_cause
    assert "accepting connections" not in root_cause
    failure = next(e for e in report["evidence"] if e["role"] == "failure")
    assert len(failure["text"]) == EXCERPT_CHARS and "Login failed" not in failure["text"]


def test_the_rule_rca_message_is_the_whole_error_not_the_excerpt():
    message = "x" * 600 + " Login failed for user 'etl'."
    lines = [LogLine("a.log", 1, f"24/01/31 10:00:05 ERROR Loader: {message}")]
    mined = mine_lines(lines)
    assert mined.failure is not None and len(mined.failure.text) == EXCERPT_CHARS
    assert log_jobs.rule_rca_errors(mined) == [message]


NO_ERROR_LOG = (
    b"[2025-12-10, 02:00:01 UTC] {taskinstance.py:1159} INFO - Dependencies all met\n"
    b"[2025-12-10, 02:00:02 UTC] {taskinstance.py:1357} INFO - Starting attempt 1 of 3\n"
)


@pytest.mark.django_db
def test_a_log_without_errors_says_no_error_was_found():
    job = upload_job(make_user("calm", "viewer"), ("task.log", NO_ERROR_LOG))
    log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    report = report_of(job)
    assert (report["error_type"], report["no_error"], report["similar"]) == ("Unknown", True, [])
    assert report["root_cause"].startswith("No error was found in the log: none of its 2 lines")
    assert "matches no known cause" not in report["root_cause"]
    advice = " ".join(report["recommendations"])
    assert "first error before this one" not in advice
    for hint in ("complete", "attempt that failed", "driver log", "stderr"):
        assert hint in advice
    assert report["rca_note"] == "no error or exception in the log: nothing to analyse"
    assert report["confidence"] == 0.0


@pytest.mark.django_db
def test_a_report_without_an_error_is_not_attached_over_the_tickets_rca():
    ticket = make_ticket(rca_source="rules", rca_result="The pipeline failed: disk full.")
    user = make_user("resp-calm", "responder")
    job = upload_job(user, ("task.log", NO_ERROR_LOG))
    log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    with pytest.raises(AttachError, match="found no error in the log"):
        log_jobs.attach_to_ticket(job, ticket.pk, Actor.for_user(user))
    ticket.refresh_from_db()
    assert (ticket.rca_source, ticket.rca_result) == ("rules", "The pipeline failed: disk full.")
    assert not AuditLog.objects.filter(ticket=ticket, action="log analysis attached").exists()
    job.refresh_from_db()
    assert job.attached_at is None
    # A report saved before ``no_error`` existed is recognised by what it lacks.
    LogAnalysisJob.objects.filter(pk=job.pk).update(
        report={k: v for k, v in report_of(job).items() if k != "no_error"}
    )
    job.refresh_from_db()
    with pytest.raises(AttachError, match="found no error in the log"):
        log_jobs.attach_to_ticket(job, ticket.pk, Actor.for_user(user))


def spark_retried_task_log() -> bytes:
    """A Spark driver log where task 0 of stage 3 fails the same way on each of its 5 tries."""
    out = ["24/01/31 10:00:00 INFO DAGScheduler: Submitting 1 missing tasks from ResultStage 3"]
    for attempt in range(5):
        out.append(
            f"24/01/31 10:00:{attempt + 1:02d} WARN TaskSetManager: Lost task 0.{attempt} in "
            f"stage 3.0 (TID {3 + attempt}) (10.139.64.{5 + attempt} executor {attempt + 1}): "
            "java.io.FileNotFoundException: /dbfs/mnt/raw/orders/2024-01-31.csv "
            "(No such file or directory)"
        )
        out.append("\tat java.io.FileInputStream.open0(Native Method)")
        out.append("\tat java.io.FileInputStream.open(FileInputStream.java:195)")
        out.append(
            f"24/01/31 10:00:{attempt + 1:02d} INFO TaskSetManager: Starting task 0.{attempt + 1}"
        )
    out.append(
        "24/01/31 10:00:07 ERROR TaskSetManager: Task 0 in stage 3.0 failed 4 times; aborting job"
    )
    return ("\n".join(out) + "\n").encode()


@pytest.mark.django_db
def test_a_task_failure_repeated_on_each_retry_is_one_chain_with_its_count():
    job = upload_job(make_user("retries", "viewer"), ("driver.log", spark_retried_task_log()))
    log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    chains = report_of(job)["chains"]
    assert len(chains) == 1, chains
    chain = chains[0]
    assert chain["innermost"]["type"] == "java.io.FileNotFoundException"
    assert (chain["count"], chain["first_line"], chain["line"]) == (5, 2, 18)
    assert chain["first_time"] == "2024-01-31T10:00:01Z"
    assert chain["time"] == "2024-01-31T10:00:05Z"
    assert report_of(job)["root_cause"].count("FileNotFoundException") == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("shot.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)),
        ("data.parquet", b"PAR1\x15\x04\x15\x00\x00" + bytes(range(256))),
        ("blob.bin", b"\xff\xfe" + bytes(range(256)) * 8),  # binary behind a UTF-16 BOM
    ],
)
def test_a_binary_upload_is_refused_before_a_job_is_made(settings, name, data):
    user = make_user("bin", "viewer")
    with pytest.raises(LogJobError, match=f"{name}: binary data, not a text log"):
        upload_job(user, ("ok.log", b"24/01/31 10:00:00 INFO fine\n"), (name, data))
    assert not LogAnalysisJob.objects.exists()
    assert not any(Path(settings.LOG_ANALYSIS_DIR).iterdir())


@pytest.mark.django_db
def test_text_and_archives_pass_the_upload_check():
    user = make_user("txt", "viewer")
    text = "24/01/31 12:00:00 INFO Start: café\n".encode("utf-16")  # NUL bytes, but text
    unmarked = "24/01/31 12:00:00 INFO Start: café\n".encode("utf-16-le")  # no byte-order mark
    archive = gzip.compress(b"\x00binary inside\n")  # judged when the job unpacks it
    job = upload_job(user, ("ps.log", text), ("svc.log", unmarked), ("later.gz", archive))
    assert job.status == "queued"
    log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    assert (job.status, job.error) == ("failed", "later: binary data, not a text log")


@pytest.mark.django_db
def test_an_archive_of_an_empty_log_fails_the_job_saying_so():
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("stderr", b"")
    job = upload_job(make_user("zip", "viewer"), ("logs.zip", archive.getvalue()))
    log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    assert (job.status, job.error, job.report) == (
        "failed",
        "logs.zip/stderr: the log is empty",
        None,
    )


# --- an Airflow task's log through Airflow's REST API ------------------------------------------

AIRFLOW_RUN = "scheduled__2025-12-10T00:00:00+00:00"
# What Airflow 3 answers for a failed try: structured lines, the exception as `error_detail`
# (structlog's dicts: the raised exception first, then its cause).
AIRFLOW3_LINES: list[dict[str, Any]] = [
    {"event": "::group::Log message source details", "sources": ["/logs/attempt=2.log"]},
    {
        "timestamp": "2025-12-10T00:00:01.100000Z",
        "level": "info",
        "logger": "airflow.task",
        "event": "Connecting to warehouse",
        "host": "db-01",
    },
    {
        "timestamp": "2025-12-10T00:00:09.900000Z",
        "level": "error",
        "logger": "task",
        "event": "Task failed with exception",
        "error_detail": [
            {
                "exc_type": "RuntimeError",
                "exc_value": "load_orders failed",
                "is_cause": False,
                "frames": [{"filename": "/opt/dags/sales.py", "lineno": 40, "name": "load"}],
            },
            {
                "exc_type": "psycopg2.OperationalError",
                "exc_value": 'connection to server at "db-01" (10.0.0.5), port 5432 failed: '
                "Connection refused",
                "is_cause": True,
                "frames": [{"filename": "/opt/dags/sales.py", "lineno": 31, "name": "connect"}],
            },
        ],
    },
]


def airflow_ticket(deployment: str, *, tries: tuple[int, ...] = (1, 2)):
    """An Airflow ticket of `load_orders` in AIRFLOW_RUN whose tries were counted on it (their
    occurrences, as the webhook records them), the last one latest."""
    from tickets.models import Occurrence

    run_key = f"airflow:{deployment}:sales_daily/load_orders/{AIRFLOW_RUN}"
    ticket = make_ticket(
        source="airflow",
        processing_mode="airflow",
        run_id=run_key,
        affected_entity={
            "dag_id": "sales_daily",
            "task_id": "load_orders",
            "run_id": AIRFLOW_RUN,
            "map_index": "-1",
            "deployment": deployment,
        },
        details={"dag_id": "sales_daily", "task_id": "load_orders", "try_number": tries[0]},
        links={"log": f"https://{deployment}/dags/sales_daily/runs/x/tasks/load_orders"},
    )
    for number in tries:
        Occurrence.objects.create(
            key=f"{run_key}#try{number}:failed",
            ticket=ticket,
            outcome="correlated",
            seen_at=timezone.now() + timedelta(seconds=number),
        )
    return ticket


@pytest.fixture
def airflow_api(settings):
    from tests.fakes.airflow_api import FakeAirflow

    with FakeAirflow() as fake:
        settings.AIRFLOW_API_URL = fake.url
        settings.AIRFLOW_API_TOKEN = ""
        settings.AIRFLOW_USERNAME = fake.username
        settings.AIRFLOW_PASSWORD = fake.password
        settings.AIRFLOW_DEPLOYMENT = ""
        yield fake


def served(fake) -> str:
    """The deployment the fake's URL names (its host and port)."""
    return fake.url.removeprefix("http://")


@pytest.mark.django_db
def test_an_airflow_tickets_log_is_read_through_the_rest_api(airflow_api):
    """The latest try's log (try 2, whose occurrence is the latest), in two parts (a
    continuation token), authenticated with a token from /auth/token; Airflow 3's structured
    lines become a task log whose exception chain names the cause."""
    airflow_api.add_log(
        "sales_daily", AIRFLOW_RUN, "load_orders", 2, AIRFLOW3_LINES[:2], AIRFLOW3_LINES[2:]
    )
    airflow_api.add_log("sales_daily", AIRFLOW_RUN, "load_orders", 1, ["try 1 was fine"])
    ticket = airflow_ticket(served(airflow_api))
    job = log_jobs.create_job_for_ticket(make_user("a", "viewer"), ticket)
    assert (job.source, job.source_ref) == (
        "airflow",
        "airflow://dags/sales_daily/runs/scheduled__2025-12-10T00%3A00%3A00%2B00%3A00"
        "/tasks/load_orders/tries/2",
    )
    log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    assert job.status == "done", job.error
    report = report_of(job)
    assert report["innermost_cause"]["type"] == "psycopg2.OperationalError"
    assert "Connection refused" in report["innermost_cause"]["message"]
    assert job.inputs[0]["name"] == "load_orders-try2.log"
    logs = airflow_api.requests_to("/logs/")
    assert [r.path.rsplit("/", 1)[-1] for r in logs] == ["2", "2"]
    assert logs[0].param("full_content") == "true" and logs[0].param("token") is None
    assert logs[1].param("token") == "part-1"
    assert all(r.header("Authorization") == f"Bearer {airflow_api.token}" for r in logs)


def test_airflow_structured_lines_are_written_as_a_classic_task_log():
    from analysis.airflow_log import structured_line

    text = "".join(structured_line(line) for line in AIRFLOW3_LINES)
    assert text.splitlines()[:3] == [
        '::group::Log message source details sources=["/logs/attempt=2.log"]',
        "[2025-12-10T00:00:01.100000Z] {airflow.task} INFO - Connecting to warehouse host=db-01",
        "[2025-12-10T00:00:09.900000Z] {task} ERROR - Task failed with exception",
    ]
    assert "The above exception was the direct cause of the following exception:" in text
    assert text.index("psycopg2.OperationalError") < text.index("RuntimeError: load_orders")


@pytest.mark.django_db
def test_an_airflow_log_of_plain_lines_or_text_is_read_as_it_is(airflow_api):
    airflow_api.add_log(
        "sales_daily",
        AIRFLOW_RUN,
        "load_orders",
        1,
        "[2025-12-10, 00:00:01 UTC] {taskinstance.py:1} ERROR - KeyError: 'customer_id'\n",
    )
    ticket = airflow_ticket(served(airflow_api), tries=(1,))
    job = log_jobs.create_job_for_ticket(make_user("a", "viewer"), ticket)
    log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    assert job.status == "done", job.error
    assert not report_of(job)["no_error"]


# A log handler's (host, text) answer as Airflow sends it when it could not parse it: str() of
# the tuple, its line breaks and quotes escaped.
LEGACY_HANDLER_LOG = (
    "*** Found local files:\n"
    "[2025-12-10, 00:00:01 UTC] {taskinstance.py:441} INFO - Loading customers\n"
    "[2025-12-10, 00:00:02 UTC] {taskinstance.py:1937} ERROR - Task failed with exception\n"
    "Traceback (most recent call last):\n"
    '  File "/opt/dags/sales.py", line 12, in load\n'
    "KeyError: 'customer_id'\n"
)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "content",
    [
        pytest.param(
            [
                {"event": "::group::Log message source details"},
                {"event": str(("w1", LEGACY_HANDLER_LOG))},
            ],
            id="structured line",
        ),
        pytest.param([str([("w1", LEGACY_HANDLER_LOG)])], id="plain line"),
        pytest.param(str([("w1", LEGACY_HANDLER_LOG)]), id="text"),
    ],
)
def test_an_airflow_log_sent_in_its_python_form_is_read_as_its_lines(airflow_api, content):
    airflow_api.add_log("sales_daily", AIRFLOW_RUN, "load_orders", 1, content)
    ticket = airflow_ticket(served(airflow_api), tries=(1,))
    job = log_jobs.create_job_for_ticket(make_user("a", "viewer"), ticket)
    log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    assert job.status == "done", job.error
    report = report_of(job)
    assert report["innermost_cause"]["type"] == "KeyError"
    assert report["innermost_cause"]["message"] == "'customer_id'"
    assert report["summary"]["levels"] == {"INFO": 1, "ERROR": 1}
    assert "\\n" not in json.dumps(report)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("(" + "1, " * 100_000 + ")", id="a tuple of numbers"),
        pytest.param("[" + "('w1', 'x'), " * 40_000 + "]", id="a list of many tuples"),
        pytest.param("(" + "'a' + " * 40_000 + "'b')", id="an expression"),
    ],
)
def test_text_only_shaped_like_a_handler_answer_is_not_evaluated(text):
    """A log line starting with "(" or "[(" was given to ast.literal_eval whatever it held: a
    few hundred KB of it (an answer's text, a line) took seconds and hundreds of MB of syntax
    tree. Only a few texts in tuples, in a list or not, are evaluated."""
    import tracemalloc

    from analysis.airflow_log import legacy_text

    tracemalloc.start()
    try:
        assert legacy_text(text) is None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5 * len(text)


def test_a_handler_answer_with_quotes_and_bytes_is_read_as_its_lines():
    from analysis.airflow_log import legacy_text

    log = "ERROR - KeyError: 'customer_id'\nsaid \"no\"\n"
    assert legacy_text(str([("w1", log), ("w2", log.encode())])) == (
        "ERROR - KeyError: 'customer_id'\nsaid \"no\"\nERROR - KeyError: 'customer_id'\nsaid \"no\""
    )
    assert legacy_text(str(log.encode())) == log.rstrip("\n")
    assert legacy_text("(pid 12) exited 'early'") is None


@pytest.mark.django_db
def test_an_airflow_failure_reported_as_try_0_is_refused_at_job_creation(airflow_api):
    """The parser takes try_number 0; a job reading "tries/0" was created and always failed,
    saying only what an Airflow task try reference looks like."""
    ticket = airflow_ticket(served(airflow_api), tries=(0,))
    viewer = jwt_client(make_user("a", "viewer"))

    answer = viewer.post("/api/v1/log-analyses/", {"ticket_id": ticket.pk}, format="json")

    assert answer.status_code == 400, answer.content
    assert "reported with try_number 0: Airflow counts tries from 1" in json.dumps(answer.json())
    assert not LogAnalysisJob.objects.exists()
    assert airflow_api.requests_to("/logs/") == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("setup", "error"),
    [
        ("no log", "Airflow has no log of sales_daily.load_orders try 2 of run "),
        ("wrong password", "Airflow token: 401 (AIRFLOW_USERNAME and AIRFLOW_PASSWORD)"),
        ("expired token", "Airflow refused the credentials (401): check AIRFLOW_API_TOKEN"),
        ("forbidden", "(403): the credentials (AIRFLOW_API_TOKEN, or AIRFLOW_USERNAME) may not"),
    ],
)
def test_an_airflow_log_that_cannot_be_read_fails_the_job_naming_why(
    airflow_api, settings, setup, error
):
    if setup == "wrong password":
        settings.AIRFLOW_PASSWORD = "wrong-password"
    elif setup == "expired token":  # a token alone: nothing to get a fresh one with
        settings.AIRFLOW_API_TOKEN = "an-expired-jwt"
        settings.AIRFLOW_USERNAME = settings.AIRFLOW_PASSWORD = ""
    if setup != "no log":
        airflow_api.add_log("sales_daily", AIRFLOW_RUN, "load_orders", 2, ["a line"])
    if setup == "forbidden":
        airflow_api.fail(403, {"detail": "Forbidden"}, path_contains="/logs/")
    ticket = airflow_ticket(served(airflow_api))
    job = log_jobs.create_job_for_ticket(make_user("a", "viewer"), ticket)
    log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    assert job.status == "failed"
    assert error in job.error
    if setup == "no log":
        assert "(404): the run or the try is gone" in job.error
    assert job.inputs == [] and job.report is None
    assert not log_jobs.job_dir(job).exists()
    assert "wrong-password" not in job.error


@pytest.mark.django_db
@pytest.mark.parametrize("status", [307, 308])
def test_the_airflow_password_is_not_sent_where_the_token_endpoint_redirects(airflow_api, status):
    """requests sends a 307's or 308's body again to the host it names: the password too."""
    from tests.fakes.airflow_api import FakeAirflow

    with FakeAirflow() as elsewhere:
        airflow_api.fail(
            status, {}, headers={"Location": f"{elsewhere.url}/auth/token"}, path_contains="/auth/"
        )
        airflow_api.add_log("sales_daily", AIRFLOW_RUN, "load_orders", 2, ["a line"])
        ticket = airflow_ticket(served(airflow_api))
        job = log_jobs.create_job_for_ticket(make_user("a", "viewer"), ticket)
        log_jobs.run_job(str(job.id))
    assert elsewhere.requests == []
    job.refresh_from_db()
    assert job.status == "failed"
    assert f"Airflow token: {status} from {airflow_api.url}/auth/token, a redirect to " in job.error
    assert "not followed" in job.error


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "relative"), [(302, False), (307, False), (302, True)])
def test_a_redirect_answered_to_the_log_request_is_named_not_followed(
    airflow_api, status, relative
):
    """urllib3 (retries 0) refused to follow it, and the job said "cannot reach Airflow …
    MaxRetryError" of a server that did answer."""
    from tests.fakes.airflow_api import FakeAirflow

    with FakeAirflow() as elsewhere:
        target = airflow_api.url if relative else elsewhere.url
        location = "/login/?next=%2Flogs&token=s3cretT0ken"
        airflow_api.fail(
            status,
            {},
            headers={"Location": location if relative else f"{target}{location}"},
            path_contains="/logs/",
        )
        ticket = airflow_ticket(served(airflow_api))
        job = log_jobs.create_job_for_ticket(make_user("a", "viewer"), ticket)
        log_jobs.run_job(str(job.id))
    assert elsewhere.requests == []
    job.refresh_from_db()
    assert job.status == "failed"
    assert (
        f"Airflow answered the log of sales_daily.load_orders try 2 of run {AIRFLOW_RUN} "
        f"with a redirect ({status}) to {target}/login/: not followed" in job.error
    ), job.error
    assert "MaxRetryError" not in job.error and "s3cretT0ken" not in job.error


@pytest.mark.django_db
@pytest.mark.parametrize("login", [True, False])
def test_an_airflow_that_refuses_the_connection_is_named_in_words(airflow_api, settings, login):
    """The token request (login) or the log request (a token configured) to a port nothing
    listens on (9, as in the log URL's test): the job said "… ConnectionError" or
    "… MaxRetryError"."""
    closed = 9
    ticket = airflow_ticket(served(airflow_api))
    settings.AIRFLOW_DEPLOYMENT = served(airflow_api)  # the task's, now at a closed port
    settings.AIRFLOW_API_URL = f"http://127.0.0.1:{closed}"
    if not login:
        settings.AIRFLOW_API_TOKEN = "a-jwt"
    job = log_jobs.create_job_for_ticket(make_user("a", "viewer"), ticket)
    log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    what = "Airflow token" if login else "log of sales_daily.load_orders try 2 of run"
    assert job.status == "failed"
    assert job.error.startswith(f"cannot reach Airflow at http://127.0.0.1:{closed}: {what}")
    assert job.error.endswith(f": 127.0.0.1 refused the connection on port {closed}"), job.error


@pytest.mark.django_db
def test_a_gzip_encoded_token_answer_is_read(airflow_api):
    """requests asks for gzip; the token answer is read as it arrives, decoded."""
    airflow_api.token = "a-long-jwt." + "x" * 2000
    airflow_api.gzip_token = True
    airflow_api.add_log("sales_daily", AIRFLOW_RUN, "load_orders", 2, AIRFLOW3_LINES)
    ticket = airflow_ticket(served(airflow_api))
    job = log_jobs.create_job_for_ticket(make_user("a", "viewer"), ticket)
    log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    assert job.status == "done", job.error
    assert airflow_api.requests_to("/logs/")[0].header("Authorization") == (
        f"Bearer {airflow_api.token}"
    )


@pytest.mark.django_db
def test_an_airflow_log_over_the_size_limit_fails_the_job(airflow_api, settings):
    settings.LOG_ANALYSIS_MAX_BYTES = 2000
    airflow_api.add_log("sales_daily", AIRFLOW_RUN, "load_orders", 2, ["x" * 100] * 40)
    ticket = airflow_ticket(served(airflow_api))
    job = log_jobs.create_job_for_ticket(make_user("a", "viewer"), ticket)
    log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    assert (job.status, job.error) == (
        "failed",
        "the log exceeds the limit of 2 KB per job",
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "slow",
    ["drip", "header drip", "stall", "token drip", "token header drip", "token stall"],
)
def test_an_airflow_log_sent_slowly_fails_the_job_at_the_fetch_timeout(airflow_api, settings, slow):
    """A page whose bytes each come well within the timeout of a read but that would take
    seconds in all (drip; header drip: its status line and headers, which a timeout per read
    did not bound), or one not answered at all (stall), and the same of the token the password
    is exchanged for, the first request: the fetch stops at LOG_ANALYSIS_FETCH_TIMEOUT_SECONDS,
    naming it."""
    settings.LOG_ANALYSIS_FETCH_TIMEOUT_SECONDS = 1
    airflow_api.add_log("sales_daily", AIRFLOW_RUN, "load_orders", 2, ["a line"] * 20)
    if slow == "drip":
        airflow_api.log_drip = 0.05  # about 250 bytes: over 12 s
    elif slow == "header drip":
        airflow_api.log_header_drip = 0.05  # about 350 bytes: over 17 s
    elif slow == "token header drip":
        airflow_api.token_header_drip = 0.05
    elif slow == "stall":
        airflow_api.stall(10, path_contains="/logs/")
    elif slow == "token drip":
        airflow_api.token_drip = 0.2  # about 30 bytes: over 6 s
    else:
        airflow_api.stall(10, path_contains="/auth/token")
    ticket = airflow_ticket(served(airflow_api))
    job = log_jobs.create_job_for_ticket(make_user("a", "viewer"), ticket)
    started = time.monotonic()
    log_jobs.run_job(str(job.id))
    assert time.monotonic() - started < 4
    job.refresh_from_db()
    assert (job.status, job.error) == (
        "failed",
        "reading the log of sales_daily.load_orders try 2 of run "
        f"{AIRFLOW_RUN} from Airflow took over 1 s",
    )
    assert not log_jobs.job_dir(job).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("drip_headers", [0, 200], ids=["body", "headers"])
def test_a_log_url_sent_slowly_fails_the_job_at_the_fetch_timeout(settings, drip_headers):
    """Each byte well within the timeout of a read, the whole answer (or its headers alone)
    over 10 s: the fetch stops at LOG_ANALYSIS_FETCH_TIMEOUT_SECONDS, naming it (a read timeout
    bounds one read, not the headers or the body)."""
    settings.LOG_ANALYSIS_FETCH_TIMEOUT_SECONDS = 1
    settings.LOG_ANALYSIS_URL_HOSTS = ["127.0.0.1"]
    body = b"ERROR a line\n" * (1 if drip_headers else 20)
    with TextServer({"/log": body}, drip=0.05, drip_headers=drip_headers) as logs:
        job = log_jobs.create_job_from_url(make_user("a", "viewer"), f"{logs.url}/log")
        started = time.monotonic()
        log_jobs.run_job(str(job.id))
        assert time.monotonic() - started < 4
    job.refresh_from_db()
    assert (job.status, job.error) == (
        "failed",
        "fetching the log from 127.0.0.1 took over 1 s",
    )
    assert not log_jobs.job_dir(job).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("drip_headers", [0, 200], ids=["body", "headers"])
def test_a_blob_sent_slowly_fails_the_job_at_the_fetch_timeout(settings, drip_headers):
    """The Blob endpoint answering the SDK's ranged GET a byte at a time (its body, or its
    status line and headers), each byte well within the timeout of a read: the fetch, read by
    azure-storage-blob, stops at LOG_ANALYSIS_FETCH_TIMEOUT_SECONDS, naming it."""
    from tests.fakes.azurite import ACCOUNT_NAME, connection_string

    settings.LOG_ANALYSIS_FETCH_TIMEOUT_SECONDS = 1
    settings.AZURE_STORAGE_CONTAINER = "rca-evidence"
    body = b"ERROR a line\n" * (1 if drip_headers else 20)
    blob = TextServer(
        {f"/{ACCOUNT_NAME}/rca-evidence/runs/7/driver.log": body},
        drip=0.05,
        drip_headers=drip_headers,
        headers={"Content-Range": f"bytes 0-{len(body) - 1}/{len(body)}"},
    )
    with blob:
        settings.AZURE_STORAGE_CONNECTION_STRING = connection_string(blob.port)
        job = log_jobs.create_job_from_url(make_user("a", "viewer"), "blob://runs/7/driver.log")
        started = time.monotonic()
        log_jobs.run_job(str(job.id))
        assert time.monotonic() - started < 4
    job.refresh_from_db()
    assert (job.status, job.error) == (
        "failed",
        "reading the blob runs/7/driver.log took over 1 s",
    )
    assert not log_jobs.job_dir(job).exists()


@pytest.mark.django_db
def test_a_task_of_another_airflow_deployment_is_not_read_from_this_one(airflow_api):
    # The same run of the same DAG exists on the configured Airflow: it is not this ticket's.
    airflow_api.add_log("sales_daily", AIRFLOW_RUN, "load_orders", 2, ["a line"])
    ticket = airflow_ticket("airflow-dev.example.com")
    job = log_jobs.create_job_for_ticket(make_user("a", "viewer"), ticket)
    assert job.source == "url"
    assert not airflow_api.requests_to("/logs/")


@pytest.mark.django_db
def test_airflow_api_url_given_with_its_api_path_reads_the_log(airflow_api, settings):
    settings.AIRFLOW_API_URL = f"{airflow_api.url}/api/v2/"
    airflow_api.add_log("sales_daily", AIRFLOW_RUN, "load_orders", 2, AIRFLOW3_LINES)
    ticket = airflow_ticket(served(airflow_api))
    job = log_jobs.create_job_for_ticket(make_user("a", "viewer"), ticket)
    log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    assert job.status == "done", job.error


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content_type", "page"),
    [
        ("text/html; charset=utf-8", b"<html><body>Airflow</body></html>"),
        ("text/plain", b"\n  <!DOCTYPE html>\n<html lang='en'><head><title>Sign In</title>"),
    ],
)
def test_a_log_url_answering_an_html_page_fails_the_job_saying_so(settings, content_type, page):
    """Without AIRFLOW_API_URL the ticket's log URL is fetched; Airflow 3's UI page (or a
    sign-in page) is no log to analyse."""
    settings.LOG_ANALYSIS_URL_HOSTS = ["127.0.0.1"]
    settings.AIRFLOW_API_URL = ""
    with TextServer({"/dags/d/runs/r/tasks/t": page}, content_type=content_type) as airflow:
        ticket = make_ticket(
            source="airflow", links={"log": f"{airflow.url}/dags/d/runs/r/tasks/t"}
        )
        job = log_jobs.create_job_for_ticket(make_user("a", "viewer"), ticket)
        assert job.source == "url"
        log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    assert job.status == "failed" and job.report is None
    assert job.error.startswith(
        "the log URL answered an HTML page (a sign-in or UI page), not a log: set AIRFLOW_API_URL"
    )
    assert job.error.endswith("or upload the log")


@pytest.mark.django_db
def test_an_airflow_task_try_given_as_a_url_is_read_for_the_ticket_recording_it(airflow_api):
    airflow_api.add_log("sales_daily", AIRFLOW_RUN, "load_orders", 1, AIRFLOW3_LINES)
    ticket = airflow_ticket(served(airflow_api))
    url = f"airflow://dags/sales_daily/runs/{AIRFLOW_RUN}/tasks/load_orders/tries/1"
    job = log_jobs.create_job_from_url(make_user("a", "viewer"), url)
    assert (job.source, job.ticket_id) == ("airflow", ticket.pk)
    assert job.source_ref.endswith("00%3A00%3A00%2B00%3A00/tasks/load_orders/tries/1")
    log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    assert job.status == "done", job.error
    assert [r.path.rsplit("/", 1)[-1] for r in airflow_api.requests_to("/logs/")] == ["1"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (
            f"airflow://dags/sales_daily/runs/{AIRFLOW_RUN}/tasks/other_task/tries/1",
            "no ticket records Airflow task sales_daily.other_task of run",
        ),
        (
            f"airflow://dags/sales_daily/runs/{AIRFLOW_RUN}/tasks/load_orders/tries/1?map_index=3",
            "no ticket records Airflow task sales_daily.load_orders",
        ),
        ("airflow://dags/sales_daily/runs/r/tasks/load_orders", "airflow://dags/<dag>/runs/"),
        ("airflow://dags/sales_daily/runs/r/tasks/t/tries/two", "airflow://dags/<dag>/runs/"),
        ("airflow://dags/sales_daily/runs/r/tasks/t/tries/0", "counts tries from 1: there is no"),
        # Digits str.isdigit() accepts and int() does not: refused, not an internal error.
        ("airflow://dags/sales_daily/runs/r/tasks/t/tries/\u00b2", "airflow://dags/<dag>/runs/"),
        (
            "airflow://dags/sales_daily/runs/r/tasks/t/tries/1?map_index=--1",
            "airflow://dags/<dag>/runs/",
        ),
    ],
)
def test_an_airflow_task_url_no_ticket_records_is_refused(airflow_api, url, reason):
    airflow_ticket(served(airflow_api))
    with pytest.raises(LogJobError, match=re.escape(reason)):
        log_jobs.create_job_from_url(make_user("a", "viewer"), url)
    assert not LogAnalysisJob.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "reason"),
    [
        # NUL has no place in PostgreSQL's text: looked up among the tickets, a database error.
        (
            f"airflow://dags/sales%00daily/runs/{AIRFLOW_RUN}/tasks/load_orders/tries/1",
            "hold no control characters",
        ),
        (
            f"airflow://dags/sales_daily/runs/{AIRFLOW_RUN}/tasks/load%0Aorders/tries/1",
            "hold no control characters",
        ),
        ("airflow://[dags/sales_daily/runs/r/tasks/t/tries/1", "url is not a valid URL"),
        ("https://[::1/log", "url is not a valid URL"),
    ],
)
def test_a_url_that_cannot_name_a_log_is_a_400_not_a_500(airflow_api, url, reason):
    airflow_ticket(served(airflow_api))
    viewer = jwt_client(make_user("a", "viewer"))
    answer = viewer.post("/api/v1/log-analyses/", {"url": url}, format="json")
    assert answer.status_code == 400, answer.content
    assert reason in json.dumps(answer.json())
    assert not LogAnalysisJob.objects.exists()


@pytest.mark.django_db
def test_an_airflow_task_url_of_another_deployment_or_without_airflow_is_refused(
    airflow_api, settings
):
    airflow_ticket("airflow-dev.example.com")
    user = make_user("a", "viewer")
    url = f"airflow://dags/sales_daily/runs/{AIRFLOW_RUN}/tasks/load_orders/tries/2"
    with pytest.raises(
        LogJobError, match=re.escape("the task ran on Airflow 'airflow-dev.example.com'")
    ):
        log_jobs.create_job_from_url(user, url)
    settings.AIRFLOW_API_URL = ""
    with pytest.raises(LogJobError, match=re.escape("Airflow is not configured (AIRFLOW_API_URL")):
        log_jobs.create_job_from_url(user, url)
    assert not LogAnalysisJob.objects.exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("migration_data")
def test_the_try_read_is_the_latest_one_the_airflow_webhooks_reported(airflow_api, webhook_client):
    """The callback's bodies, as posted: try 1 (retried by Airflow) opens the ticket, try 2
    fails for good; the ticket's "Analyse the run's log" reads try 2 from the Airflow the
    bodies name as theirs (airflow_base_url)."""
    from tests.conftest import local_payload

    body = {**local_payload("airflow_failure.json"), "airflow_base_url": airflow_api.url}
    first = webhook_client("/webhooks/airflow/", body).json()
    final = {**body, "try_number": 2, "state": "failed"}
    assert webhook_client("/webhooks/airflow/", final).json()["ticket_id"] == first["ticket_id"]
    airflow_api.add_log("sales_daily", AIRFLOW_RUN, "load_orders", 2, AIRFLOW3_LINES)

    ticket = Ticket.objects.get(pk=first["ticket_id"])
    job = log_jobs.create_job_for_ticket(make_user("a", "viewer"), ticket)
    assert job.source == "airflow" and job.source_ref.endswith("/tasks/load_orders/tries/2")
    log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    assert job.status == "done", job.error


@pytest.mark.django_db
@pytest.mark.usefixtures("migration_data")
def test_a_dag_runs_own_failure_reads_no_task_log(airflow_api, webhook_client):
    """The callback reports a timed-out DAG run as the task `(dag run)`: no task instance of
    that id has a log, so the ticket's "Analyse the run's log" analyses what the ticket holds
    rather than asking Airflow for one."""
    from types import SimpleNamespace

    from integrations.airflow_callback import rca_callback

    context = {
        "dag": SimpleNamespace(dag_id="sales_daily", owner="data-eng"),
        "run_id": AIRFLOW_RUN,
        "reason": "timed_out",
    }
    body = {**rca_callback.build_failure_body(context), "airflow_base_url": airflow_api.url}
    ticket = Ticket.objects.get(pk=webhook_client("/webhooks/airflow/", body).json()["ticket_id"])

    job = log_jobs.create_job_for_ticket(make_user("a", "viewer"), ticket)

    assert job.source == "ticket"
    assert not airflow_api.requests_to("/logs/")


# --- warnings, handled exceptions and JSON records as evidence -----------------------------------
def analysed(name: str, text: str) -> dict[str, Any]:
    job = upload_job(make_user(f"u-{uuid.uuid4().hex[:8]}", "viewer"), (name, text.encode()))
    log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    assert job.status == "done", job.error
    return report_of(job)


# A Spark driver log: the task fails on the SQL login (an error with its trace), Spark aborts
# the job, then a clean-up logs a warning with a deeper trace of its own as the job shuts down.
SPARK_FAILURE_THEN_CLEANUP_WARNING = """\
24/05/14 09:12:01 INFO SparkContext: Running Spark version 3.5.0
24/05/14 09:15:40 ERROR Executor: Exception in task 7.0 in stage 3.0 (TID 42)
org.apache.spark.SparkException: Task failed while writing rows.
\tat org.apache.spark.sql.errors.QueryExecutionErrors$.taskFailedWhileWritingRowsError(Qu\
eryExecutionErrors.scala:789)
Caused by: com.microsoft.sqlserver.jdbc.SQLServerException: Login failed for user 'etl'.
\tat com.microsoft.sqlserver.jdbc.SQLServerException.makeFromDatabaseError(SQLServerExcep\
tion.java:265)
24/05/14 09:15:41 ERROR TaskSetManager: Task 7 in stage 3.0 failed 1 times; aborting job
24/05/14 09:15:43 WARN FileSystem: Cleaner thread failed to delete a staging file, will retry
java.io.IOException: Could not delete s3a://lake/tmp/_temporary/0/part-00007.c000
\tat org.apache.hadoop.fs.s3a.S3AFileSystem.delete(S3AFileSystem.java:3120)
Caused by: java.nio.file.AccessDeniedException: s3a://lake/tmp: getFileStatus: 403 Forbidden
\tat org.apache.hadoop.fs.s3a.S3AUtils.translateException(S3AUtils.java:249)
Caused by: com.amazonaws.services.s3.model.AmazonS3Exception: Forbidden (Status Code: 403)
\tat com.amazonaws.http.AmazonHttpClient.handle(AmazonHttpClient.java:1819)
24/05/14 09:15:44 INFO SparkContext: Successfully stopped SparkContext
"""


@pytest.mark.django_db
def test_a_warnings_exception_after_the_failure_is_neither_the_failure_nor_its_cause():
    report = analysed("driver.log", SPARK_FAILURE_THEN_CLEANUP_WARNING)
    roles = {e["role"]: e for e in report["evidence"]}
    assert roles["failure"]["line"] == 7
    assert roles["first error"]["line"] == 2
    assert report["innermost_cause"]["type"] == "com.microsoft.sqlserver.jdbc.SQLServerException"
    assert report["error_type"] == "AuthenticationError"
    assert "rejected the credentials of user 'etl'" in report["root_cause"]


# An Airflow 2 task log: a warning with its traceback (the task goes on), then the failure.
AIRFLOW_WARNING_THEN_FAILURE = """\
[2024-05-14, 09:00:01 UTC] {taskinstance.py:2193} INFO - Starting attempt 1 of 3
[2024-05-14, 09:00:04 UTC] {lineage.py:77} WARNING - Could not emit lineage for load_orders
Traceback (most recent call last):
  File "/opt/airflow/plugins/lineage.py", line 71, in emit
    client.emit(event)
requests.exceptions.ReadTimeout: HTTPSConnectionPool(host='marquez', port=443): Read timed out.
[2024-05-14, 09:00:09 UTC] {taskinstance.py:2731} ERROR - Task failed with exception
Traceback (most recent call last):
  File "/opt/airflow/dags/sales.py", line 31, in load
    conn = psycopg2.connect(dsn)
psycopg2.OperationalError: FATAL:  password authentication failed for user "etl"
[2024-05-14, 09:00:09 UTC] {taskinstance.py:1206} INFO - Marking task as UP_FOR_RETRY.
"""


@pytest.mark.django_db
def test_a_warnings_traceback_before_the_failure_is_not_the_first_error():
    report = analysed("task.log", AIRFLOW_WARNING_THEN_FAILURE)
    errors = {
        e["role"]: e["line"]
        for e in report["evidence"]
        if e["role"] in {"failure", "first error", "error before the failure", "innermost cause"}
    }
    # The failure is the first error too (shown once, as the failure).
    assert errors == {"failure": 7, "innermost cause": 11}
    assert report["innermost_cause"]["type"] == "psycopg2.OperationalError"
    assert report["error_type"] == "AuthenticationError"


# A task that succeeded: its only exception is a warning's (handled), of no known cause.
AIRFLOW_SUCCESS_WITH_A_WARNING = """\
[2024-05-14, 09:00:01 UTC] {taskinstance.py:2193} INFO - Starting attempt 1 of 3
[2024-05-14, 09:00:04 UTC] {lineage.py:77} WARNING - Could not emit lineage for load_orders
Traceback (most recent call last):
  File "/opt/airflow/plugins/lineage.py", line 71, in emit
    client.emit(event)
openlineage.client.transport.TransportError: emit rejected event
[2024-05-14, 09:00:20 UTC] {python.py:201} INFO - Done. Returned value was: 1042
[2024-05-14, 09:00:20 UTC] {taskinstance.py:1138} INFO - Marking task as SUCCESS.
[2024-05-14, 09:00:20 UTC] {local_task_job_runner.py:234} INFO - Task exited with return code 0
"""
# A Spark run that finished: Hadoop logs the connection it retried at INFO.
SPARK_SUCCESS_WITH_A_RETRY = """\
24/05/14 09:12:01 INFO SparkContext: Running Spark version 3.5.0
24/05/14 09:12:03 INFO RetryInvocationHandler: java.net.ConnectException: Call From ip-10-0-\
1-23.ec2.internal/10.0.1.23 to namenode-1:8020 failed on connection exception: java.net.Connect\
Exception: Connection refused, while invoking ClientNamenodeProtocolTranslatorPB.getFileInfo ov\
er namenode-1/10.0.1.5:8020. Trying to failover after sleeping for 1130ms.
24/05/14 09:12:05 INFO DAGScheduler: Job 0 finished: save at NativeMethodAccessorImpl.java:0, t\
ook 2.41 s
24/05/14 09:12:06 INFO SparkContext: Successfully stopped SparkContext
"""


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("log", "says"),
    [
        (
            AIRFLOW_SUCCESS_WITH_A_WARNING,
            "its only exceptions were logged as warnings or information, of no known cause "
            "(line 6: openlineage.client.transport.TransportError: emit rejected event)",
        ),
        (SPARK_SUCCESS_WITH_A_RETRY, "the exception it holds was logged as information"),
    ],
)
def test_a_log_whose_exceptions_were_handled_is_reported_as_holding_no_error(log, says):
    report = analysed("task.log", log)
    assert (report["no_error"], report["error_type"], report["similar"]) == (True, "Unknown", [])
    assert report["root_cause"].startswith("No error was found in the log: none of its")
    assert says in report["root_cause"]
    assert "failed with an error that matches no known cause" not in report["root_cause"]
    assert "The pipeline failed" not in report["root_cause"]
    assert report["rca_note"] == (
        "no error in the log: its exceptions were logged as warnings or information"
    )


@pytest.mark.django_db
def test_an_airflow_3_log_file_shows_its_records_as_the_rest_api_reading_does(airflow_api):
    """The same Airflow 3 log, uploaded as its JSON lines file or read through the REST API,
    gives the same evidence: each record as its task log line, never its JSON."""
    airflow_api.add_log("sales_daily", AIRFLOW_RUN, "load_orders", 2, AIRFLOW3_LINES)
    ticket = airflow_ticket(served(airflow_api))
    job = log_jobs.create_job_for_ticket(make_user("a3", "viewer"), ticket)
    log_jobs.run_job(str(job.id))
    job.refresh_from_db()
    through_api = report_of(job)

    uploaded = analysed("attempt=2.log", "\n".join(json.dumps(r) for r in AIRFLOW3_LINES) + "\n")

    def shown(report: dict[str, Any]) -> list[tuple[str, str]]:
        return [(e["role"], e["text"]) for e in report["evidence"]]

    failure = ("failure", "[2025-12-10T00:00:09.900000Z] {task} ERROR - Task failed with exception")
    assert failure in shown(uploaded)
    inner = (
        'psycopg2.OperationalError: connection to server at "db-01" (10.0.0.5), port 5432 '
        "failed: Connection refused"
    )
    assert ("innermost cause", inner) in shown(uploaded)
    # The API's reading numbers the traceback's lines on (a file's, as its record): it shows
    # some of them as rare lines too.
    assert set(shown(uploaded)) <= set(shown(through_api))
    assert not any(e["text"].startswith("{") for e in uploaded["evidence"])
    assert [e["text"] for e in uploaded["failure_context"]][:2] == [
        '::group::Log message source details sources=["/logs/attempt=2.log"]',
        "[2025-12-10T00:00:01.100000Z] {airflow.task} INFO - Connecting to warehouse host=db-01",
    ]
    assert uploaded["innermost_cause"]["type"] == "psycopg2.OperationalError"


# A task that succeeded after a warning whose exception is of a known cause (the metadata
# database refused a connection, and the retry went through).
AIRFLOW_SUCCESS_AFTER_A_KNOWN_WARNING = """\
[2024-05-14, 09:00:01 UTC] {taskinstance.py:2193} INFO - Starting attempt 1 of 3
[2024-05-14, 09:00:04 UTC] {retries.py:92} WARNING - Query failed, retrying in 5 s
Traceback (most recent call last):
  File "/opt/airflow/dags/load.py", line 30, in load
    conn = psycopg2.connect(dsn)
psycopg2.OperationalError: connection to server at "pg-01" (10.0.0.5), port 5432 failed: \
Connection refused
[2024-05-14, 09:00:20 UTC] {python.py:201} INFO - Done. Returned value was: 1042
[2024-05-14, 09:00:20 UTC] {taskinstance.py:1138} INFO - Marking task as SUCCESS.
"""


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("log", "cause"),
    [
        (AIRFLOW_SUCCESS_AFTER_A_KNOWN_WARNING, "line 6: psycopg2.OperationalError"),
        (
            (LOGS / "spark_executor_oom.log").read_text(),
            "line 2: java.lang.OutOfMemoryError",
        ),
    ],
    ids=["airflow-success", "spark-lost-task-oom"],
)
def test_a_log_whose_only_exception_of_a_known_cause_is_a_warnings_is_not_reported_failed(
    log, cause
):
    """The cause is still analysed (Spark logs a lost task's OOM at WARN), but the report does
    not say the run failed: the log shows a warning, not an error."""
    report = analysed("task.log", log)
    assert report["no_error"] is False
    assert report["error_type"] != "Unknown"
    assert report["root_cause"].startswith(
        f"The log holds no error, only an exception logged as a warning ({cause}), so it does "
        "not show that the run failed"
    ), report["root_cause"]
    assert "If the run did fail, this is the likely cause: " in report["root_cause"]
    assert "The pipeline failed" not in report["root_cause"]
    assert report["recommendations"][0].startswith("Check whether the run failed")
    assert report["rca_note"].endswith("no error in the log, only a warning's exception")


# An error long before the failure (not its burst) whose pattern is rare: evidence as an error.
EARLY_RARE_ERROR_THEN_FAILURE = """\
2024-05-14 09:00:00 ERROR loader - batch 1 rejected: quota exceeded
2024-05-14 09:01:00 ERROR sink - schema registry returned an unexpected payload
2024-05-14 09:30:00 INFO loader - resumed
2024-05-14 09:40:00 ERROR loader - job aborted after 3 attempts
"""


@pytest.mark.django_db
def test_a_rare_error_long_before_the_failure_is_evidence_as_an_error_not_a_warning():
    report = analysed("run.log", EARLY_RARE_ERROR_THEN_FAILURE)
    roles = {e["line"]: e["role"] for e in report["evidence"]}
    assert roles[1] == "first error" and roles[4] == "failure"
    assert roles[2] == "rare error"


@pytest.mark.django_db
def test_a_dbt_error_an_airflow_task_logged_of_its_program_is_the_failure():
    """A real Airflow 2 task log of a dbt run (astronomer-cosmos issue #521, a deployment at
    UTC+7): dbt's "Database Error in model" comes as an INFO record of the task's subprocess;
    it is the failure, read with the database's message dbt writes after it."""
    report = analysed("attempt=1.log", (LOGS / "airflow_cosmos_dbt_database_error.log").read_text())
    assert report["no_error"] is False
    # The relation name dbt built has too many parts: a profile's setting, which a rule names.
    assert report["error_type"] == "ConfigurationError"
    failure = next(e for e in report["evidence"] if e["role"] == "failure")
    assert (failure["line"], failure["level"], failure["time"]) == (
        6,
        "ERROR",
        "2023-09-08T03:14:54Z",
    )
    assert "Database Error in model customers" in failure["text"]
    root_cause = report["root_cause"]
    assert "'public.airflow.public.customers__dbt_backup' (dbt model 'customers')" in root_cause
    # dbt's time of day is no part of the error quoted.
    assert "“Database Error in model customers (models/customers.sql) improper" in root_cause


# What ADF Studio's error dialog shows, then copied: its fields on their own lines, the
# message as the pipeline reports it (the activity named by "Operation on target").
ADF_STUDIO_ERROR_TEXT = (
    "Error code\n2200\nFailure type\nUser configuration issue\nDetails\n"
    f"Operation on target Copy_SalesOrders failed: {ADF_SQL_LOGIN_ERROR['message']}\n"
    "Source\nPipeline\nPL_SalesOrders\n"
)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "text",
    [
        pytest.param(ADF_STUDIO_ERROR_TEXT, id="the error dialog"),
        pytest.param(ADF_SQL_LOGIN_ERROR["message"] + "\n", id="the message alone"),
    ],
)
def test_an_adf_error_pasted_as_text_is_analysed_as_the_json_is(celery_worker, text):
    client = Client()
    client.force_login(make_user("adf-paste", "viewer"))
    answer = client.post(
        "/log-analyses/", {"file": [SimpleUploadedFile("adf_error.txt", text.encode())]}
    )
    assert answer.status_code == 302
    job = wait_finished(LogAnalysisJob.objects.get())
    report = report_of(job)
    assert report["no_error"] is False
    assert report["error_type"] == "AuthenticationError"
    assert "The database rejected the credentials of user 'adf_loader'" in report["root_cause"]
    failure = next(e for e in report["evidence"] if e["role"] == "failure")
    assert failure["level"] == "ERROR" and "ErrorCode=SqlFailedToConnect" in failure["text"]


# A run whose pool gives out before the write fails, then a shutdown hook that runs after it.
RARE_LINES_AROUND_THE_FAILURE = "".join(
    [
        *(f"24/01/31 10:00:{i:02d} INFO Stage: finished task {i} in 12 ms\n" for i in range(40)),
        "24/01/31 10:01:00 WARN Pool: connection pool exhausted (max 10)\n",
        "24/01/31 10:01:05 ERROR Writer: write of batch 7 failed: connection reset by peer\n",
        "24/01/31 10:01:06 INFO ShutdownHookManager: Deleting directory /local_disk0/spark-x\n",
    ]
)


@pytest.mark.django_db(transaction=True)
def test_rare_lines_before_and_after_the_failure_are_labelled_apart(celery_worker):
    client = jwt_client(make_user("rare-lines", "viewer"))
    answer = client.post(
        "/api/v1/log-analyses/",
        {"file": SimpleUploadedFile("driver.log", RARE_LINES_AROUND_THE_FAILURE.encode())},
        format="multipart",
    )
    assert answer.status_code == 202, answer.content
    job = wait_finished(LogAnalysisJob.objects.get(pk=answer.json()["id"]))
    roles = {e["line"]: e["role"] for e in report_of(job)["evidence"]}
    assert roles[42] == "failure"
    assert roles[41] == "rare line before the failure"
    assert roles[43] == "rare line after the failure"


# An error early on, 150 lines of progress, then a warning and the error the run failed on.
FAILURE_150_LINES_AFTER_AN_EARLIER_ERROR = "".join(
    [
        *(f"24/01/31 10:00:00 INFO Stage: finished task {i} in 12 ms\n" for i in range(99)),
        "24/01/31 10:00:01 ERROR Early: first error\n",
        *(f"24/01/31 10:00:02 INFO Stage: finished task {i} in 12 ms\n" for i in range(148)),
        "24/01/31 10:00:03 WARN Pool: connection pool exhausted (max 10)\n",
        "24/01/31 10:00:04 ERROR Writer: write failed\n",
    ]
)


@pytest.mark.django_db(transaction=True)
def test_the_lines_around_the_failure_are_those_before_it_not_after_an_earlier_error(
    celery_worker,
):
    client = jwt_client(make_user("context", "viewer"))
    upload = SimpleUploadedFile("driver.log", FAILURE_150_LINES_AFTER_AN_EARLIER_ERROR.encode())
    answer = client.post("/api/v1/log-analyses/", {"file": upload}, format="multipart")
    assert answer.status_code == 202, answer.content
    report = report_of(wait_finished(LogAnalysisJob.objects.get(pk=answer.json()["id"])))
    assert [e["line"] for e in report["failure_context"]] == list(range(240, 251))
    roles = {e["line"]: e["role"] for e in report["evidence"]}
    assert (roles[100], roles[250]) == ("first error", "failure")
    assert roles[249] == "rare line before the failure"


# An Airflow 3 task log as its web UI shows it (apache/airflow issue #56693,
# https://github.com/apache/airflow/issues/56693: a KubernetesJobOperator whose pod was gone):
# each record without its logger, the exception under it.
AIRFLOW_3_UI_LOG = (
    '[2025-10-15, 09:48:22] ERROR - Task failed with exception: source="task"\n'
    "ApiException: (404)\n"
    "Reason: Not Found\n"
    "\n"
    'File "/home/airflow/.local/lib/python3.12/site-packages/airflow/sdk/execution_time/'
    'task_runner.py", line 920 in run\n'
)


@pytest.mark.django_db(transaction=True)
def test_an_airflow_3_log_copied_from_its_web_ui_has_its_error_found(celery_worker):
    client = Client()
    client.force_login(make_user("af3-ui", "viewer"))
    upload = SimpleUploadedFile("task.log", AIRFLOW_3_UI_LOG.encode())
    assert client.post("/log-analyses/", {"file": [upload]}).status_code == 302
    report = report_of(wait_finished(LogAnalysisJob.objects.get()))
    assert report["no_error"] is False
    assert report["summary"]["formats"] == {"airflow": 1}
    failure = next(e for e in report["evidence"] if e["role"] == "failure")
    assert (failure["line"], failure["level"], failure["time"]) == (
        1,
        "ERROR",
        "2025-10-15T09:48:22Z",
    )
