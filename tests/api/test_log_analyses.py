"""`/api/v1/log-analyses/`: upload or name a source, follow progress, read, export, cancel,
attach. JWT-authenticated like a script; the job itself runs through the real service."""

from __future__ import annotations

import gzip
import json
import time
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import StreamingHttpResponse
from rest_framework.test import APIClient

from analysis import log_jobs
from analysis.models import LogAnalysisJob
from tests.api import jwt_client, make_user
from tests.dashboard import make_ticket
from tickets.models import AuditLog, Ticket

pytestmark = pytest.mark.django_db
BASE = "/api/v1/log-analyses/"
LOG = (
    b"24/01/31 10:00:00 INFO Stage: started\n"
    b"24/01/31 10:00:05 ERROR Executor: Exception in task 1.0\n"
    b"java.lang.OutOfMemoryError: Java heap space\n"
    b"\tat java.util.Arrays.copyOf(Arrays.java:3332)\n"
)


@pytest.fixture(autouse=True)
def local_embeddings(settings):
    settings.EMBEDDING_BACKEND = "local"
    settings.GEMINI_API_KEY = ""


def upload(client, *files: tuple[str, bytes], **fields: str):
    data = {"file": [SimpleUploadedFile(name, body) for name, body in files], **fields}
    return client.post(BASE, data, format="multipart")


def test_upload_two_files_then_read_the_report_and_markdown():
    viewer = make_user("viewer")
    client = jwt_client(viewer)
    answer = upload(client, ("driver.log.gz", gzip.compress(LOG)), ("stdout.txt", b"hello\n"))
    assert answer.status_code == 202, answer.content
    body = answer.json()
    assert body["status"] == "queued" and body["progress"] == 0
    assert body["inputs"] == [
        {"name": "driver.log.gz", "size": len(gzip.compress(LOG))},
        {"name": "stdout.txt", "size": 6},
    ]
    assert body["owner"] == viewer.username

    log_jobs.run_job(body["id"])  # what the worker does with the queued task

    detail = client.get(f"{BASE}{body['id']}/").json()
    assert (detail["status"], detail["progress"], detail["step"]) == ("done", 100, "done")
    report = detail["report"]
    assert report["error_type"] == "ResourceExhaustion"
    assert report["innermost_cause"]["type"] == "java.lang.OutOfMemoryError"
    assert {"root_cause", "evidence", "patterns", "timeline", "similar"} <= set(report)
    listed = client.get(BASE).json()["results"]
    assert listed[0]["id"] == body["id"] and "report" not in listed[0]

    markdown = client.get(f"{BASE}{body['id']}/markdown/")
    assert markdown.status_code == 200
    assert markdown["Content-Type"] == "text/markdown; charset=utf-8"
    text = markdown.content.decode()
    assert "## Root cause" in text and "java.lang.OutOfMemoryError: Java heap space" in text

    events = client.get(f"{BASE}{body['id']}/events/")
    assert events["Content-Type"] == "text/event-stream"
    assert isinstance(events, StreamingHttpResponse)
    stream = b"".join(events.streaming_content).decode()
    assert stream.startswith("event: progress\ndata: ")
    assert json.loads(stream.split("data: ", 1)[1].split("\n", 1)[0])["status"] == "done"


def test_url_outside_the_allow_list_is_refused_with_the_reason(settings):
    settings.LOG_ANALYSIS_URL_HOSTS = ["airflow.internal"]
    client = jwt_client(make_user("viewer"))
    answer = client.post(BASE, {"url": "https://attacker.example/x"}, format="json")
    assert answer.status_code == 400
    assert "attacker.example is not allowed" in answer.json()["error"] + json.dumps(
        answer.json().get("detail")
    )
    assert not LogAnalysisJob.objects.exists()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({}, "nothing to analyse"),
        ({"ticket_id": "ADF-NOPE"}, "no ticket with this id"),
        ({"url": 12}, "must be a string"),
    ],
)
def test_bad_requests_create_nothing(body, reason):
    answer = jwt_client(make_user("viewer")).post(BASE, body, format="json")
    assert answer.status_code == 400
    assert reason in json.dumps(answer.json())
    assert not LogAnalysisJob.objects.exists()


def test_ticket_id_alone_analyses_the_tickets_run_log():
    ticket = make_ticket(error_message="java.net.UnknownHostException: sql-prod: Name not known")
    answer = jwt_client(make_user("viewer")).post(BASE, {"ticket_id": ticket.pk}, format="json")
    assert answer.status_code == 202
    assert answer.json()["ticket_id"] == ticket.pk and answer.json()["source"] == "ticket"


def test_anonymous_and_roleless_callers_are_refused():
    assert jwt_client(None).get(BASE).status_code == 401
    assert upload(jwt_client(make_user(None)), ("a.log", LOG)).status_code == 403


def test_cancel_is_for_the_owner_or_a_responder():
    owner = make_user("viewer")
    job_id = upload(jwt_client(owner), ("a.log", LOG)).json()["id"]
    other = jwt_client(make_user("viewer"))
    assert other.post(f"{BASE}{job_id}/cancel/").status_code == 403
    answer = jwt_client(owner).post(f"{BASE}{job_id}/cancel/")
    assert answer.status_code == 200 and answer.json()["status"] == "cancelled"
    again = jwt_client(make_user("responder")).post(f"{BASE}{job_id}/cancel/")
    assert again.status_code == 409
    assert again.json()["error"] == "the analysis is already cancelled"


def test_cancel_refuses_a_body_it_would_drop():
    """It takes nothing: `{"note": ...}` cancelled the job and the note went nowhere."""
    owner = jwt_client(make_user("viewer"))
    job_id = upload(owner, ("a.log", LOG)).json()["id"]

    refused = owner.post(f"{BASE}{job_id}/cancel/", {"note": "wrong file"}, format="json")

    assert refused.status_code == 400
    assert refused.json()["detail"] == {"note": "not a field of this body; it takes no field"}
    assert LogAnalysisJob.objects.get(pk=job_id).status != "cancelled"
    assert owner.post(f"{BASE}{job_id}/cancel/", {}, format="json").status_code == 200


def test_attach_needs_a_responder_and_a_finished_report():
    ticket = make_ticket()
    responder = make_user("responder")
    job_id = upload(jwt_client(responder), ("a.log", LOG)).json()["id"]
    attach = f"{BASE}{job_id}/attach/"
    assert jwt_client(make_user("viewer")).post(attach, {"ticket_id": ticket.pk}).status_code == 403
    early = jwt_client(responder).post(attach, {"ticket_id": ticket.pk}, format="json")
    assert early.status_code == 409
    log_jobs.run_job(job_id)
    answer = jwt_client(responder).post(attach, {"ticket_id": ticket.pk}, format="json")
    assert answer.status_code == 200 and answer.json()["ticket_id"] == ticket.pk
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.rca_source == "log-analysis"
    assert AuditLog.objects.filter(ticket=ticket, action="log analysis attached").exists()


def test_attach_defaults_to_the_jobs_own_ticket_and_needs_one_without_it():
    ticket = make_ticket()
    client = jwt_client(make_user("responder"))
    own = upload(client, ("a.log", LOG), ticket_id=ticket.pk).json()["id"]
    loose = upload(client, ("b.log", LOG)).json()["id"]
    log_jobs.run_job(own)
    log_jobs.run_job(loose)

    answer = client.post(f"{BASE}{own}/attach/", {}, format="json")

    assert answer.status_code == 200, answer.content
    assert answer.json()["ticket_id"] == ticket.pk
    assert Ticket.objects.get(pk=ticket.pk).rca_source == "log-analysis"
    refused = client.post(f"{BASE}{loose}/attach/", {}, format="json")
    assert refused.status_code == 400
    assert "the analysis belongs to no ticket" in json.dumps(refused.json())
    assert LogAnalysisJob.objects.get(pk=loose).attached_at is None


def test_unknown_or_malformed_job_ids_are_404():
    client = jwt_client(make_user("viewer"))
    assert client.get(f"{BASE}00000000-0000-0000-0000-000000000000/").status_code == 404
    assert client.get(f"{BASE}not-a-uuid/").status_code == 404


def test_the_list_filters_by_status_and_ticket_and_names_a_bad_value():
    client = jwt_client(make_user("viewer"))
    done = upload(client, ("driver.log", LOG)).json()["id"]
    log_jobs.run_job(done)
    queued = upload(client, ("driver.log", LOG)).json()["id"]
    ticket = make_ticket()
    attached = upload(client, ("driver.log", LOG), ticket_id=ticket.pk).json()["id"]

    def listed(**filters: str) -> set[str]:
        answer = client.get(BASE, filters)
        assert answer.status_code == 200, answer.content
        return {row["id"] for row in answer.json()["results"]}

    assert listed(status="done") == {done}
    assert listed(status="queued") == {queued, attached}
    assert listed(ticket_id=ticket.pk) == {attached}
    bad = client.get(BASE, {"status": "finished"})
    assert bad.status_code == 400 and "status" in bad.json()["detail"]
    assert client.get(f"{BASE}{queued}/", {"status": "done"}).status_code == 200


def test_event_streams_past_the_process_limit_are_told_to_poll(settings):
    """Each stream holds a web thread for up to 10 minutes: a viewer opening dozens must not
    leave webhooks without threads."""
    from tickets.api.log_analyses import EVENT_STREAMS

    settings.LOG_ANALYSIS_EVENT_STREAMS = 2
    client = jwt_client(make_user("viewer"))
    job = upload(client, ("driver.log", LOG)).json()["id"]
    log_jobs.run_job(job)
    first, second = (client.get(f"{BASE}{job}/events/") for _ in range(2))
    assert isinstance(first, StreamingHttpResponse) and isinstance(second, StreamingHttpResponse)

    refused = client.get(f"{BASE}{job}/events/")
    assert refused.status_code == 429 and refused["Retry-After"] == "5"
    assert refused.json()["error"] == (
        f"too many event streams open on this server process (2); poll GET {BASE}{job}/ instead"
    )

    b"".join(first.streaming_content)  # read to its end (the job is done): closed
    again = client.get(f"{BASE}{job}/events/")
    assert isinstance(again, StreamingHttpResponse)
    for response in (again, second):
        b"".join(response.streaming_content)
    assert EVENT_STREAMS.open == 0


def test_a_stream_closed_before_it_was_read_gives_its_slot_back():
    """A client that goes away before the first event: the response is closed with its
    iterator never started (a generator's own `finally` would never run)."""
    from tickets.api.log_analyses import EVENT_STREAMS, _HeldStream

    assert EVENT_STREAMS.take()
    _HeldStream(uuid.uuid4(), lambda: True).close()
    assert EVENT_STREAMS.open == 0


def test_a_head_request_or_an_eventsource_accept_header_is_answered_without_holding_a_slot(
    settings,
):
    from tickets.api.log_analyses import EVENT_STREAMS

    client = jwt_client(make_user("viewer"))
    job = upload(client, ("driver.log", LOG)).json()["id"]
    head = client.head(f"{BASE}{job}/events/")
    assert head.status_code == 200 and head["Content-Type"] == "text/event-stream"
    assert (head["Cache-Control"], head["X-Accel-Buffering"]) == ("no-cache", "no")
    assert EVENT_STREAMS.open == 0
    settings.LOG_ANALYSIS_EVENT_STREAMS = 0  # what a GET would get, a HEAD gets
    refused = client.head(f"{BASE}{job}/events/")
    assert (refused.status_code, refused["Retry-After"]) == (429, "5")
    assert client.get(f"{BASE}{job}/events/")["Retry-After"] == "5"
    settings.LOG_ANALYSIS_EVENT_STREAMS = 4
    log_jobs.run_job(job)
    stream = client.get(f"{BASE}{job}/events/", HTTP_ACCEPT="text/event-stream")
    assert isinstance(stream, StreamingHttpResponse)
    assert b"".join(stream.streaming_content).startswith(b"event: progress")
    missing = client.get(f"{BASE}{uuid.uuid4()}/events/", HTTP_ACCEPT="text/event-stream")
    assert missing.status_code == 404 and "error" in json.loads(missing.content)
    assert missing["Content-Type"] == "application/json"


def _follow(response, seconds: float) -> tuple[str, bool]:
    """What a stream sent within `seconds` (each event comes within a poll), and whether it
    ended by then."""
    deadline = time.monotonic() + seconds
    chunks = iter(response.streaming_content)
    sent = []
    for chunk in chunks:
        sent.append(chunk.decode())
        if time.monotonic() > deadline:
            response.close()
            return "".join(sent), False
    response.close()
    return "".join(sent), True


def _open_stream(client, user):
    from tickets.api.log_analyses import EVENTS_RECHECK_SECONDS

    job = upload(client, ("driver.log", LOG)).json()["id"]  # queued: it never finishes
    stream = client.get(f"{BASE}{job}/events/")
    assert isinstance(stream, StreamingHttpResponse)
    return stream, EVENTS_RECHECK_SECONDS


@pytest.mark.parametrize("change", ["deactivated", "password changed", "role taken away"])
def test_an_event_stream_ends_once_its_token_no_longer_lets_the_user_in(change):
    """The stream used to follow the job for its 10 minutes whatever became of the user: it
    checks the token again, as the websocket checks its session, every few seconds."""
    from django.contrib.auth.models import Group

    user = make_user("viewer")
    client = jwt_client(user)
    stream, recheck = _open_stream(client, user)
    first = next(iter(stream.streaming_content)).decode()
    assert first.startswith("event: progress")
    if change == "deactivated":
        user.is_active = False
    elif change == "password changed":
        user.set_password("another horse battery staple")
    else:
        user.groups.set(Group.objects.none())
    user.save()

    sent, ended = _follow(stream, recheck + 5)

    assert ended, sent
    assert sent.endswith(
        'event: unauthorized\ndata: {"error": "the credentials no longer allow reading this '
        'job"}\n\n'
    )


def test_an_event_stream_ends_once_its_session_is_signed_out():
    user = make_user("viewer")
    client = APIClient()
    client.force_login(user)
    stream, recheck = _open_stream(client, user)
    assert next(iter(stream.streaming_content)).decode().startswith("event: progress")
    client.logout()

    sent, ended = _follow(stream, recheck + 5)

    assert ended and "event: unauthorized" in sent, sent


def test_an_event_stream_goes_on_while_the_user_may_read():
    user = make_user("viewer")
    stream, recheck = _open_stream(jwt_client(user), user)

    sent, ended = _follow(stream, recheck + 2)

    assert not ended and "unauthorized" not in sent and ": waiting" in sent


def test_attach_refuses_a_field_it_does_not_take_instead_of_attaching_elsewhere():
    """`{"ticket": X}` was dropped: the report went to the job's own ticket, not to X."""
    own, meant = make_ticket(), make_ticket()
    client = jwt_client(make_user("responder"))
    job_id = upload(client, ("a.log", LOG), ticket_id=own.pk).json()["id"]
    log_jobs.run_job(job_id)

    answer = client.post(f"{BASE}{job_id}/attach/", {"ticket": meant.pk}, format="json")

    assert answer.status_code == 400, answer.content
    assert "not a field of this body" in answer.json()["detail"]["ticket"]
    assert LogAnalysisJob.objects.get(pk=job_id).attached_at is None


def test_a_refusal_naming_no_field_is_the_error_itself():
    """It was `{"error": "invalid request", "detail": ["nothing to analyse: …"]}`: the reason
    hidden in a list where every other answer names a field."""
    answer = jwt_client(make_user("viewer")).post(BASE, {}, format="json")

    assert answer.status_code == 400
    assert answer.json() == {
        "error": "nothing to analyse: send files (multipart field `file`), a url or a ticket_id"
    }


@pytest.mark.parametrize(
    ("send", "unknown"),
    [
        # A typo for ticket_id: the job was started belonging to no ticket.
        (lambda client, ticket: upload(client, ("a.log", LOG), ticket=ticket.pk), "ticket"),
        # A url beside the files was dropped: only the files were read.
        (
            lambda client, ticket: upload(client, ("a.log", LOG), url="databricks://runs/1"),
            "url",
        ),
        # A form naming a url and no files: the multipart body takes `file` and `ticket_id`.
        (
            lambda client, ticket: client.post(
                BASE, {"url": "databricks://runs/1"}, format="multipart"
            ),
            "url",
        ),
        (
            lambda client, ticket: client.post(
                BASE, {"ticket_id": ticket.pk, "lines": 500}, format="json"
            ),
            "lines",
        ),
    ],
)
def test_a_field_the_start_of_an_analysis_does_not_take_is_refused_naming_it(send, unknown):
    ticket = make_ticket()

    answer = send(jwt_client(make_user("viewer")), ticket)

    assert answer.status_code == 400, answer.content
    assert answer.json()["detail"][unknown].startswith("not a field of this body; it takes ")
    assert not LogAnalysisJob.objects.exists()
