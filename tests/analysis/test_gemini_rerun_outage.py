"""A staff re-run that cannot reach Gemini, and a Gemini answer that drips in slowly: through the
real worker, the real google-genai client against the fake Gemini, and the JIRA and Slack fakes
the ticket's issue and alert are followed on."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.test import Client

from analysis.gemini import LlmFailure, generate_rca
from analysis.models import LlmCall
from tests.analysis import test_rerun_after_outage
from tests.analysis.test_rerun_after_outage import failure, settled, slack_blocks
from tests.conftest import wait_for
from tests.dashboard import make_user
from tests.fakes.gemini_api import GOOD_RCA, FakeGemini
from tests.fakes.http import RecordedRequest
from tickets.models import AuditLog, Ticket

pytestmark = pytest.mark.django_db(transaction=True)

# JIRA, Slack and Gemini fakes; a worker process that pauses after two calls fail.
stack = test_rerun_after_outage.services_up


def rerun_from_the_ticket_page(ticket_id: str) -> None:
    client = Client()
    client.force_login(make_user("ana", "responder"))
    answer = client.post(f"/tickets/{ticket_id}/rerun-rca/")
    assert answer.status_code == 302
    wait_for(lambda: AuditLog.objects.filter(ticket_id=ticket_id, action="analysed").count() == 2)
    settled(ticket_id)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(503, "server_error"), (429, "rate_limited")],
)
def test_a_rerun_that_cannot_reach_gemini_keeps_the_gemini_rca_and_says_so(
    celery_worker, stack, status, outcome
):
    jira, slack, gemini = stack
    root_cause = str(GOOD_RCA["root_cause"])
    ticket_id = failure(1)
    assert Ticket.objects.get(pk=ticket_id).rca_source == "gemini"
    gemini.fail(status, gemini.error_body(status, "unavailable"), times=None)

    rerun_from_the_ticket_page(ticket_id)

    ticket = Ticket.objects.get(pk=ticket_id)
    assert (ticket.rca_source, ticket.rca_result) == ("gemini", root_cause)
    assert ticket.recommendations == GOOD_RCA["recommendations"]
    assert "the re-run could not reach Gemini" in ticket.rca_note
    assert outcome in ticket.rca_note
    assert LlmCall.objects.filter(ticket_id=ticket_id, outcome=outcome).exists()
    analysed = AuditLog.objects.filter(ticket_id=ticket_id, action="analysed").last()
    assert analysed is not None
    assert "rca_source" not in analysed.after  # unchanged: the audit lists what changed
    assert analysed.details["kept_earlier_rca"] == outcome
    assert "could not reach Gemini" in analysed.details["note"]
    page = Client()
    page.force_login(make_user("vic", "viewer"))
    html = page.get(f"/tickets/{ticket_id}/").content.decode()
    assert "the re-run could not reach Gemini" in html
    assert root_cause.replace("'", "&#x27;") in html
    api = page.get(f"/api/v1/tickets/{ticket_id}/").json()
    assert api["rca_source"] == "gemini"
    assert "the re-run could not reach Gemini" in api["rca_note"]
    issue = jira.issues[ticket.itsm_ticket_id]
    assert "Root cause (Gemini)" in issue["description"]
    assert root_cause in issue["description"]
    blocks = slack_blocks(slack, ticket)
    assert '"Root cause (Gemini)"' in blocks and root_cause in blocks


def test_a_rerun_that_cannot_reach_gemini_replaces_a_rule_rca_with_the_new_one(
    celery_worker, stack
):
    _, _, gemini = stack
    gemini.block_reason = "SAFETY"
    ticket_id = failure(1)
    gemini.block_reason = None
    assert Ticket.objects.get(pk=ticket_id).rca_source == "rules"
    gemini.fail(503, gemini.error_body(503, "unavailable"), times=None)

    rerun_from_the_ticket_page(ticket_id)

    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.rca_source == "rules"
    assert ticket.rca_note.startswith("re-run requested; rule-based: Gemini failed (server_error")
    analysed = AuditLog.objects.filter(ticket_id=ticket_id, action="analysed").last()
    assert analysed is not None and "kept_earlier_rca" not in analysed.details


class DrippingGemini(FakeGemini):
    """Answers generateContent a byte at a time, each within any per-read timeout."""

    def body_pause(self, request: RecordedRequest) -> float:
        return 0.01 if request.path.endswith(":generateContent") else 0.0


def test_an_answer_dripping_in_past_the_timeout_is_a_timeout(celery_worker, stack, settings):
    """httpx's timeout is per read: an answer whose bytes each come within it held the worker
    for as long as the answer took to arrive."""
    _, _, fake = stack
    with DrippingGemini() as gemini:
        settings.GEMINI_BASE_URL = gemini.url
        assert len(json.dumps(GOOD_RCA)) * 0.01 > 3 * settings.GEMINI_TIMEOUT_SECONDS

        ticket_id = failure(1)

    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.rca_source == "rules"
    assert "timeout: timed out after 1s" in ticket.rca_note
    assert list(LlmCall.objects.filter(ticket_id=ticket_id).values_list("outcome", flat=True)) == [
        "timeout"
    ]
    assert not fake.generate_requests()


OTHER_WORKER_PROCESS = """
import django
django.setup()
from analysis.gemini import LlmFailure, generate_rca
for _ in range(2):
    try:
        generate_rca("system", "prompt", on_attempt=lambda attempt: None, sleep=lambda s: None)
    except LlmFailure as failure:
        print(failure.outcome)
"""


def other_process_env(settings) -> dict[str, str]:
    """Another worker process's environment: this test's Gemini, Redis and key prefix, one
    attempt a call, paused after two calls fail."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "rca_project.settings",
        "GEMINI_API_KEY": settings.GEMINI_API_KEY,
        "GEMINI_BASE_URL": settings.GEMINI_BASE_URL,
        "GEMINI_MAX_ATTEMPTS": "1",
        "CIRCUIT_FAILURE_THRESHOLD": "2",
        "CIRCUIT_OPEN_SECONDS": "60",
        "REDIS_URL": settings.REDIS_URL,
        "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
    }


def other_process(script: str, env: dict[str, str]) -> list[str]:
    """The lines another process running `script` printed."""
    run = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return run.stdout.splitlines()


def test_an_outage_one_worker_process_found_pauses_the_others(celery_worker, stack, settings):
    """Each worker process found the outage on its own, each ticket of each process waiting
    for its attempts to fail."""
    _, _, gemini = stack
    gemini.fail(503, gemini.error_body(503, "The model is overloaded."), times=None)
    env = other_process_env(settings)
    assert other_process(OTHER_WORKER_PROCESS, env) == ["server_error", "server_error"]
    assert len(gemini.generate_requests()) == 2

    ticket_id = failure(1)

    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.rca_source == "rules"
    assert "not asked: the last 2 attempts failed (server error (503))" in ticket.rca_note
    assert ticket.rca_outage == "server_error"
    assert len(gemini.generate_requests()) == 2
    assert not LlmCall.objects.filter(ticket_id=ticket_id).exists()

    # A staff re-run still asks, and its answer ends the pause for every process.
    gemini.clear_faults()
    rerun_from_the_ticket_page(ticket_id)
    assert Ticket.objects.get(pk=ticket_id).rca_source == "gemini"
    assert other_process(OTHER_WORKER_PROCESS, env) == []
    assert len(gemini.generate_requests()) == 5


ASKED_DESPITE_THE_PAUSE = """
import django
django.setup()
from analysis.gemini import generate_rca
answer = generate_rca(
    "system", "prompt", on_attempt=lambda attempt: None, sleep=lambda s: None, despite_outage=True
)
print(answer.root_cause)
"""


def test_a_pause_another_process_ended_ends_in_a_process_that_took_it(gemini_alone, settings):
    """A process that took another's pause went on refusing every call for the whole pause
    after a third process's call was answered and ended it for all."""
    gemini_alone.fail(503, gemini_alone.error_body(503, "The model is overloaded."), times=None)
    env = other_process_env(settings)

    assert other_process(OTHER_WORKER_PROCESS, env) == ["server_error", "server_error"]
    with pytest.raises(LlmFailure, match="not asked"):
        generate_rca("system", "prompt", on_attempt=lambda attempt: None)

    gemini_alone.clear_faults()
    assert other_process(ASKED_DESPITE_THE_PAUSE, env) == [str(GOOD_RCA["root_cause"])]

    answer = generate_rca("system", "prompt", on_attempt=lambda attempt: None)
    assert answer.root_cause == GOOD_RCA["root_cause"]
    assert len(gemini_alone.generate_requests()) == 4


@pytest.fixture
def gemini_alone(settings):
    with FakeGemini() as fake:
        settings.GEMINI_API_KEY = "test-key-not-a-secret"
        settings.GEMINI_BASE_URL = fake.url
        settings.GEMINI_MAX_ATTEMPTS = 1
        settings.CIRCUIT_FAILURE_THRESHOLD = 2
        settings.CIRCUIT_OPEN_SECONDS = 60
        yield fake
