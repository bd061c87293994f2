"""Each remediation action through its real client (azure-mgmt-datafactory, databricks-sdk,
apache-airflow-client, requests) against a local server that speaks the service's REST paths,
driven by the delivery engine."""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from azure.core.credentials import AccessToken
from databricks.sdk import WorkspaceClient
from django.contrib.auth.models import User
from django.utils import timezone

from integrations import fanout, processing, remediation
from integrations.circuit import CircuitBreaker, redis_client
from integrations.models import (
    NO_NEXT_ATTEMPT,
    DeliveryAttempt,
    OutboundDelivery,
    OutboundStatus,
    Remediation,
    RemediationPolicy,
    WebhookDelivery,
)
from integrations.targets import adf_rerun
from integrations.targets.adf_rerun import AdfTransport
from integrations.targets.base import sends_key
from integrations.targets.playbook import sign
from tests.api import jwt_client, make_user
from tests.conftest import local_payload, wait_for
from tests.fakes.airflow_api import FakeAirflow
from tests.fakes.azure_ad import FakeAzureAd
from tests.fakes.azure_management_api import FakeAzureManagement, adf_pipeline_run
from tests.fakes.azurite import free_port
from tests.fakes.databricks_api import FakeDatabricks, job_run, task
from tests.fakes.http import FakeHttpService, RecordedRequest, Reply
from tests.fakes.jira_api import FakeJira
from tests.fakes.slack_api import FakeSlack
from tests.remediation.conftest import make_policy, make_ticket, proposed, run_pending
from tickets.lifecycle import Actor
from tickets.models import AuditLog, Incident, Ticket, new_incident_id

pytestmark = pytest.mark.django_db

ARM_TOKEN = "arm-token-for-tests"


class StaticTokenCredential:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(ARM_TOKEN, int(time.time()) + 3600)


# --- ADF -----------------------------------------------------------------------------------------


def _adf_step(adf: AdfTransport, ticket: Ticket) -> None:
    """The engine's work for the ADF target, with a transport on a static token (no Entra ID
    here): each pending adf_rerun delivery runs its action, follow-ups scheduled as the
    engine does."""
    from integrations import fanout

    for _ in range(5):
        rows = list(
            OutboundDelivery.objects.filter(
                ticket_id=ticket.pk, target="adf_rerun", status=OutboundStatus.PENDING
            )
        )
        if not rows:
            return
        for row in rows:
            follow_ups = adf_rerun.TARGET.actions[row.action].run(adf, row) or ()
            OutboundDelivery.objects.filter(pk=row.pk).update(status=OutboundStatus.SUCCEEDED)
            for follow_up in follow_ups:
                fanout._schedule_follow_up(row, follow_up)


@pytest.fixture
def arm() -> Iterator[FakeAzureManagement]:
    with FakeAzureManagement(token=ARM_TOKEN) as fake:
        yield fake


def test_adf_rerun_in_recovery_mode_from_the_failed_run_and_watch_it(arm, settings):
    settings.REMEDIATION_POLL_SECONDS = 1
    make_policy(action="adf_rerun")
    ticket = make_ticket()
    failed_run = ticket.affected_entity["run_id"]
    arm.add_pipeline_run("rg-data", "adf-prod", adf_pipeline_run(failed_run, ticket.pipeline))
    adf = AdfTransport(StaticTokenCredential(), arm.subscription_id, base_url=arm.url, timeout=3)

    rerun = proposed(ticket.pk)
    assert rerun is not None and rerun.status == "running"
    _adf_step(adf, ticket)

    create = next(r for r in arm.requests if r.path.endswith("/createRun"))
    assert create.path.endswith(f"/pipelines/{ticket.pipeline}/createRun")
    assert create.param("referencePipelineRunId") == failed_run
    assert create.param("isRecovery") == "true"
    assert create.param("startFromFailure") == "true"
    rerun.refresh_from_db()
    assert rerun.status == "running" and rerun.external_run_id.startswith("rerun-")
    assert any(r.path.endswith(f"/pipelineruns/{rerun.external_run_id}") for r in arm.requests)

    arm.finish_run("rg-data", "adf-prod", rerun.external_run_id, "Succeeded")
    _adf_step(adf, ticket)

    rerun.refresh_from_db()
    ticket.refresh_from_db()
    assert rerun.status == "succeeded"
    assert ticket.remediation_status == "succeeded"
    assert ticket.status == "resolved" and ticket.resolved_by.startswith("remediation adf_rerun")
    assert ticket.resolutions.get().fix.startswith("Rerun the ADF pipeline")
    resolved = AuditLog.objects.get(ticket=ticket, action="resolved by remediation")
    assert resolved.actor_kind == "remediation"


@pytest.mark.django_db(transaction=True)
def test_adf_rerun_acts_on_the_latest_failed_run_counted_on_the_ticket(arm, webhook_client):
    """Run 1 fails and its rerun awaits approval; run 2 fails the same way and is counted on
    the same ticket. Approved, the rerun is of run 2: the failure as it stands now."""
    from django.contrib.auth.models import User

    from integrations import processing
    from integrations.models import WebhookDelivery
    from tests.conftest import local_payload
    from tickets.lifecycle import Actor

    make_policy(action="adf_rerun", mode="approval", approval_min_confidence=0.0)
    body = local_payload("adf_failure.json")
    body.update(
        run_id=f"run-{uuid.uuid4().hex[:8]}",
        subscription_id=arm.subscription_id,
        error_message="ErrorCode=2200 The connection timed out: connection reset by peer",
    )
    first = webhook_client("/webhooks/adf/", body).json()
    processing.process_delivery(WebhookDelivery.objects.get(tracking_id=first["tracking_id"]).pk)
    pending = Remediation.objects.get(ticket_id=first["ticket_id"])
    assert pending.status == "awaiting_approval"
    newer = {**body, "run_id": f"run-{uuid.uuid4().hex[:8]}"}
    again = webhook_client("/webhooks/adf/", newer).json()
    assert (again["outcome"], again["ticket_id"]) == ("correlated", first["ticket_id"])
    for run_id in (body["run_id"], newer["run_id"]):
        arm.add_pipeline_run(
            body["resource_group"], body["factory"], adf_pipeline_run(run_id, body["pipeline"])
        )

    remediation.approve(pending.pk, Actor.for_user(User.objects.create_user("daan")), via="api")
    ticket = Ticket.objects.get(pk=first["ticket_id"])
    adf = AdfTransport(StaticTokenCredential(), arm.subscription_id, base_url=arm.url, timeout=3)
    _adf_step(adf, ticket)

    (create,) = arm.requests_to("/createRun")
    assert create.param("referencePipelineRunId") == newer["run_id"]
    pending.refresh_from_db()
    assert pending.status == "running" and pending.run_key == f"adf:{newer['run_id']}"
    assert pending.details["reference_run_id"] == newer["run_id"]
    # The watch follows the rerun it started, whatever fails on the ticket meanwhile.
    arm.finish_run(body["resource_group"], body["factory"], pending.external_run_id, "Succeeded")
    _adf_step(adf, ticket)
    pending.refresh_from_db()
    assert pending.status == "succeeded"


def test_adf_rerun_that_fails_leaves_the_ticket_to_people(arm):
    make_policy(action="adf_rerun")
    ticket = make_ticket()
    failed_run = ticket.affected_entity["run_id"]
    arm.add_pipeline_run("rg-data", "adf-prod", adf_pipeline_run(failed_run, ticket.pipeline))
    adf = AdfTransport(StaticTokenCredential(), arm.subscription_id, base_url=arm.url, timeout=3)
    rerun = proposed(ticket.pk)
    assert rerun is not None
    _adf_step(adf, ticket)
    rerun.refresh_from_db()
    arm.finish_run("rg-data", "adf-prod", rerun.external_run_id, "Failed")
    _adf_step(adf, ticket)

    rerun.refresh_from_db()
    ticket.refresh_from_db()
    assert rerun.status == "failed"
    assert "failed" in rerun.reason
    assert ticket.remediation_status == "failed"
    assert ticket.status == "open"


@pytest.mark.parametrize(
    ("status", "said"),
    [("InProgress", "in progress"), ("Succeeded", "succeeded"), ("Failed", "failed")],
)
def test_adf_run_rerun_already_in_studio_is_not_rerun_again(arm, status, said):
    """Someone reran the failed run in ADF Studio before the rerun was approved: the run is no
    longer its group's latest (`isLatest` false; the group's query names the later run). No
    second rerun is sent beside it: the remediation ends skipped saying which run came after
    it, and the ticket stays open for that run's outcome."""
    make_policy(action="adf_rerun", max_attempts=3, backoff_seconds=0)
    ticket = make_ticket()
    failed_run = ticket.affected_entity["run_id"]
    arm.add_pipeline_run("rg-data", "adf-prod", adf_pipeline_run(failed_run, ticket.pipeline))
    studio = arm.rerun_in_studio("rg-data", "adf-prod", failed_run, status)
    adf = AdfTransport(StaticTokenCredential(), arm.subscription_id, base_url=arm.url, timeout=3)

    skipped = proposed(ticket.pk)
    _adf_step(adf, ticket)

    assert arm.requests_to("/createRun") == []
    (query,) = arm.requests_to("/queryPipelineRuns")
    assert query.body["filters"] == [
        {"operand": "RunGroupId", "operator": "Equals", "values": [failed_run]}
    ]
    skipped.refresh_from_db()
    assert skipped.status == "skipped" and skipped.finished_at is not None
    assert skipped.reason.startswith(f"run {failed_run} was rerun already at Data Factory")
    assert f"{studio['runId']} ({said}, invoked by Manual)" in skipped.reason
    ticket.refresh_from_db()
    assert ticket.status == "open" and ticket.remediation_status == "skipped"
    ended = AuditLog.objects.get(ticket=ticket, action="remediation ended without running")
    assert ended.details["reason"] == skipped.reason
    assert remediation.propose(ticket.pk) is None  # the decision stands: no rerun beside it


def test_adf_run_not_its_groups_latest_is_not_rerun_though_its_later_run_is_not_listed(arm):
    """Data Factory says the run is not its group's latest, but the group's query (its window
    of lastUpdated) lists no later run: `isLatest` is enough not to rerun it."""
    make_policy(action="adf_rerun")
    ticket = make_ticket()
    failed_run = ticket.affected_entity["run_id"]
    run = adf_pipeline_run(failed_run, ticket.pipeline)
    run["isLatest"] = False
    arm.add_pipeline_run("rg-data", "adf-prod", run)
    adf = AdfTransport(StaticTokenCredential(), arm.subscription_id, base_url=arm.url, timeout=3)

    skipped = proposed(ticket.pk)
    _adf_step(adf, ticket)

    assert arm.requests_to("/createRun") == []
    skipped.refresh_from_db()
    assert skipped.status == "skipped"
    assert skipped.reason.startswith(
        f"run {failed_run} is no longer its run group's latest at Data Factory"
    )


def test_adf_next_attempt_reruns_from_the_services_own_failed_rerun(arm):
    """The first attempt's rerun failed and its failure was not reported yet: the ticket's
    run is no longer its group's latest, but the later run is this service's own, so the next
    attempt is sent, from that run's failed activity."""
    make_policy(action="adf_rerun", max_attempts=2, backoff_seconds=0)
    ticket = make_ticket()
    failed_run = ticket.affected_entity["run_id"]
    arm.add_pipeline_run("rg-data", "adf-prod", adf_pipeline_run(failed_run, ticket.pipeline))
    adf = AdfTransport(StaticTokenCredential(), arm.subscription_id, base_url=arm.url, timeout=3)
    first = proposed(ticket.pk)
    _adf_step(adf, ticket)
    first.refresh_from_db()
    arm.finish_run("rg-data", "adf-prod", first.external_run_id, "Failed")
    _adf_step(adf, ticket)
    first.refresh_from_db()
    assert first.status == "failed"

    second = proposed(ticket.pk)
    _adf_step(adf, ticket)

    references = [r.param("referencePipelineRunId") for r in arm.requests_to("/createRun")]
    assert references == [failed_run, first.external_run_id]
    second.refresh_from_db()
    assert second.status == "running"
    assert second.details["reference_run_id"] == first.external_run_id
    rerun = arm.pipeline_runs[("rg-data", "adf-prod")][second.external_run_id]
    assert rerun["runGroupId"] == failed_run and rerun["isLatest"] is True


def test_adf_wrong_token_is_a_permanent_error_not_a_second_try(arm):
    from integrations.targets.base import TransportError

    make_policy(action="adf_rerun")
    ticket = make_ticket()
    arm.add_pipeline_run(
        "rg-data", "adf-prod", adf_pipeline_run(ticket.affected_entity["run_id"], ticket.pipeline)
    )
    arm.token = "another-token"
    adf = AdfTransport(StaticTokenCredential(), arm.subscription_id, base_url=arm.url, timeout=3)
    remediation.propose(ticket.pk)
    with pytest.raises(TransportError) as raised:
        _adf_step(adf, ticket)
    assert raised.value.permanent and raised.value.status == 401
    assert ARM_TOKEN not in str(raised.value)


def test_adf_throttled_rerun_is_tried_again_after_the_time_arm_asked_for(arm):
    from integrations.targets.base import TransportError

    make_policy(action="adf_rerun")
    ticket = make_ticket()
    arm.add_pipeline_run(
        "rg-data", "adf-prod", adf_pipeline_run(ticket.affected_entity["run_id"], ticket.pipeline)
    )
    arm.throttle(40, path_contains="/createRun")
    adf = AdfTransport(StaticTokenCredential(), arm.subscription_id, base_url=arm.url, timeout=3)
    remediation.propose(ticket.pk)
    with pytest.raises(TransportError) as raised:
        _adf_step(adf, ticket)
    assert not raised.value.permanent and raised.value.status == 429
    assert raised.value.retry_after == 40


@contextlib.contextmanager
def entra_id_for(arm, settings, monkeypatch, *, secret: str = "") -> Iterator[FakeAzureAd]:
    """A local Entra ID that issues `ARM_TOKEN`, and the service principal settings pointing
    at it and at `arm`; `secret`: the client secret configured, when not the one it takes."""
    with FakeAzureAd(access_token=ARM_TOKEN) as aad:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", aad.ca_bundle)
        settings.AZURE_TENANT_ID = aad.tenant_id
        settings.AZURE_CLIENT_ID = aad.client_id
        settings.AZURE_CLIENT_SECRET = secret or aad.client_secret
        settings.AZURE_SUBSCRIPTION_ID = arm.subscription_id
        settings.AZURE_MANAGEMENT_URL = arm.url
        settings.AZURE_AUTHORITY_HOST = aad.authority
        settings.AZURE_DISABLE_INSTANCE_DISCOVERY = True
        yield aad


def test_adf_rerun_through_the_service_principal_from_settings(arm, settings, monkeypatch):
    """The transport the worker builds (ClientSecretCredential of AZURE_TENANT_ID /
    AZURE_CLIENT_ID / AZURE_CLIENT_SECRET) gets its token from Entra ID's token endpoint (a
    local https server here) and reruns through the delivery engine; the secret reaches the
    token endpoint only."""
    settings.REMEDIATION_POLL_SECONDS = 1
    with entra_id_for(arm, settings, monkeypatch) as aad:
        make_policy(action="adf_rerun")
        ticket = make_ticket()
        failed_run = ticket.affected_entity["run_id"]
        arm.add_pipeline_run("rg-data", "adf-prod", adf_pipeline_run(failed_run, ticket.pipeline))

        rerun = proposed(ticket.pk)
        run_pending(ticket.pk, rounds=1)
        rerun.refresh_from_db()
        assert rerun.status == "running" and rerun.external_run_id.startswith("rerun-")
        arm.finish_run("rg-data", "adf-prod", rerun.external_run_id, "Succeeded")
        run_pending(ticket.pk)

        rerun.refresh_from_db()
        assert rerun.status == "succeeded"
        token_request = aad.token_requests()[0]
        assert f"client_secret={aad.client_secret}" in token_request.body
        assert "scope=https%3A%2F%2Fmanagement.azure.com%2F.default" in token_request.body
        assert all(r.header("Authorization") == f"Bearer {ARM_TOKEN}" for r in arm.requests)
        assert not any(aad.client_secret in json.dumps(r.body) for r in arm.requests)
        deliveries = OutboundDelivery.objects.filter(ticket_id=ticket.pk, target="adf_rerun")
        assert all(aad.client_secret not in (d.last_error or "") for d in deliveries)


def test_adf_rerun_with_a_wrong_client_secret_dead_letters_without_it(arm, settings, monkeypatch):
    with entra_id_for(arm, settings, monkeypatch, secret="not-the-secret"):
        make_policy(action="adf_rerun")
        ticket = make_ticket()
        arm.add_pipeline_run(
            "rg-data",
            "adf-prod",
            adf_pipeline_run(ticket.affected_entity["run_id"], ticket.pipeline),
        )
        rerun = proposed(ticket.pk)
        run_pending(ticket.pk)

        assert not arm.requests_to("/createRun")
        row = OutboundDelivery.objects.get(ticket_id=ticket.pk, target="adf_rerun")
        assert row.status == OutboundStatus.DEAD
        assert "not-the-secret" not in row.last_error
        remediation.sweep()
        rerun.refresh_from_db()
        assert rerun.status == "failed"


def test_adf_rerun_whose_connection_is_refused_is_sent_again_not_failed(arm, settings, monkeypatch):
    """Data Factory's management endpoint refusing the connection when the rerun starts: the
    createRun was never sent (azure-core's ServiceRequestError), so it started nothing and is
    sent again after the backoff, the remediation still running, not failed as a start that
    may have reached the service; once the endpoint answers, the rerun starts, once."""
    settings.REMEDIATION_POLL_SECONDS = 1
    with entra_id_for(arm, settings, monkeypatch):
        make_policy(action="adf_rerun")
        ticket = make_ticket()
        failed_run = ticket.affected_entity["run_id"]
        arm.add_pipeline_run("rg-data", "adf-prod", adf_pipeline_run(failed_run, ticket.pipeline))
        settings.AZURE_MANAGEMENT_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens

        rerun = proposed(ticket.pk)
        (row,) = run_pending(ticket.pk, rounds=1)

        assert row.status == OutboundStatus.PENDING and "refused the connection" in row.last_error
        assert "may have reached" not in row.last_error
        rerun.refresh_from_db()
        assert rerun.status == "running" and "may have" not in rerun.reason

        settings.AZURE_MANAGEMENT_URL = arm.url  # the endpoint is back
        run_pending(ticket.pk, rounds=1)
        rerun.refresh_from_db()
        assert rerun.status == "running" and rerun.external_run_id.startswith("rerun-")
        assert len(arm.requests_to("/createRun")) == 1
        arm.finish_run("rg-data", "adf-prod", rerun.external_run_id, "Succeeded")
        run_pending(ticket.pk)
        rerun.refresh_from_db()
        assert rerun.status == "succeeded"


def _adf_rerun_sent_once(arm: FakeAzureManagement) -> tuple[Remediation, OutboundDelivery]:
    make_policy(action="adf_rerun")
    ticket = make_ticket()
    arm.add_pipeline_run(
        "rg-data", "adf-prod", adf_pipeline_run(ticket.affected_entity["run_id"], ticket.pipeline)
    )
    rerun = proposed(ticket.pk)
    (row,) = run_pending(ticket.pk, rounds=1)
    rerun.refresh_from_db()
    return rerun, row


def test_adf_rerun_that_cannot_reach_azure_says_so_in_words_and_is_tried_again(
    arm, settings, monkeypatch
):
    """Nothing listens at the management URL: the error said "createRun of <pipeline>:
    ServiceRequestError (the request may have reached the service; not repeated)" and failed
    the remediation, though azure-core's ServiceRequestError means no request was sent."""
    with entra_id_for(arm, settings, monkeypatch):
        settings.AZURE_MANAGEMENT_URL = "http://127.0.0.1:9"
        rerun, row = _adf_rerun_sent_once(arm)

    # The run is read first (was it rerun already?): that look is what could not reach Azure.
    failed_run = rerun.ticket.affected_entity["run_id"]
    assert row.last_error == (
        f"get pipeline run {failed_run}: 127.0.0.1 refused the connection on port 9"
    )
    assert row.status == OutboundStatus.PENDING  # tried again, as a refusal that ran nothing
    assert rerun.status == "running" and not arm.requests_to("/createRun")


def test_adf_rerun_whose_token_request_gets_no_answer_is_not_a_refusal_of_our_credentials(
    arm, settings, monkeypatch
):
    """Entra ID unreachable: the error said "401 the token request was refused" and ended the
    attempts at the run as credentials refused, though nobody refused anything."""
    with entra_id_for(arm, settings, monkeypatch):
        settings.AZURE_AUTHORITY_HOST = "https://127.0.0.1:9"
        rerun, row = _adf_rerun_sent_once(arm)

    failed_run = rerun.ticket.affected_entity["run_id"]
    assert row.last_error == (
        f"get pipeline run {failed_run}: Entra ID token: 127.0.0.1 refused the connection on port 9"
    )
    assert row.status == OutboundStatus.PENDING
    assert rerun.status == "running" and "credentials" not in rerun.reason
    assert not arm.requests_to("/createRun")


def killed_while_starting(fake: FakeHttpService, row: OutboundDelivery, path: str) -> None:
    """Deliver `row` in a forked worker that is SIGKILLed while `fake` holds its start request
    (the first to a path containing `path`), then let the fake carry that start out: it ran at
    the service, and the worker's transaction, with what it recorded of it, is rolled back.
    OUTBOUND_TIMEOUT_SECONDS must outlast the wait (the kill comes first)."""
    import os
    import signal

    from django.db import connections

    fake.stall(30, times=1, path_contains=path)
    connections.close_all()  # the child opens its own
    child = os.fork()
    if child == 0:  # pragma: no cover (killed while it waits for the start's answer)
        try:
            fanout.deliver(row.pk)
        finally:
            os._exit(0)
    try:
        wait_for(lambda: fake.requests_to(path), timeout=20)
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        fake.release_stalled()
    assert OutboundDelivery.objects.get(pk=row.pk).status == OutboundStatus.PENDING


def redelivered(row: OutboundDelivery) -> None:
    """The delivery handed out again (beat's redelivery), once PostgreSQL has let go of the
    killed worker's row lock."""
    wait_for(lambda: fanout.deliver(row.pk).status != "busy", timeout=20)


@pytest.mark.django_db(transaction=True)
def test_an_adf_rerun_whose_worker_was_killed_after_starting_it_is_followed_as_its_own(
    arm, settings, monkeypatch
):
    """The worker died while Data Factory started the rerun: the new run's id was rolled back
    with its attempt, and the redelivery, reading the failed run, found the group's later run
    and ended the remediation skipped, "rerun already at Data Factory … invoked by Manual":
    our own lost rerun named as someone else's. It is followed as the rerun it started, and its
    success ends the remediation, once."""
    settings.REMEDIATION_POLL_SECONDS = 1
    with entra_id_for(arm, settings, monkeypatch):
        settings.OUTBOUND_TIMEOUT_SECONDS = 30
        make_policy(action="adf_rerun")
        ticket = make_ticket()
        failed_run = ticket.affected_entity["run_id"]
        arm.add_pipeline_run("rg-data", "adf-prod", adf_pipeline_run(failed_run, ticket.pipeline))
        started = proposed(ticket.pk)
        row = OutboundDelivery.objects.get(ticket=ticket, target="adf_rerun")
        runs = arm.pipeline_runs[("rg-data", "adf-prod")]

        killed_while_starting(arm, row, "/createRun")
        rerun_id = wait_for(lambda: next((r for r in list(runs) if r != failed_run), None))
        redelivered(row)

        assert len(arm.requests_to("/createRun")) == 1
        started.refresh_from_db()
        assert started.status == "running", started.reason
        assert started.external_run_id == rerun_id
        arm.finish_run("rg-data", "adf-prod", rerun_id, "Succeeded")
        run_pending(ticket.pk)

        started.refresh_from_db()
        assert started.status == "succeeded"
        assert f"rerun {rerun_id} succeeded" in started.reason
        assert len(arm.requests_to("/createRun")) == 1
        assert not AuditLog.objects.filter(
            ticket=ticket, action="remediation ended without running"
        ).exists()


# --- Databricks ----------------------------------------------------------------------------------


@pytest.fixture
def databricks(settings) -> Iterator[FakeDatabricks]:
    with FakeDatabricks() as fake:
        settings.DATABRICKS_HOST = fake.url
        settings.DATABRICKS_TOKEN = fake.token
        yield fake


def _databricks_ticket(fake: FakeDatabricks) -> Ticket:
    fake.add_run(
        job_run(
            run_id=7001,
            tasks=[
                task("extract", 7002, "SUCCESS"),
                task("transform", 7003, "FAILED", "Could not reach driver of cluster"),
                task("load", 7004, "UPSTREAM_FAILED", "Upstream task failed"),
            ],
        )
    )
    return make_ticket(
        source="databricks",
        processing_mode="databricks",
        run_id="databricks:1:7001",
        pipeline="nightly-etl",
        error_message="Spark driver is unreachable",
        affected_entity={"workspace_id": "1", "job_id": 11223344, "run_id": 7001},
    )


def test_databricks_repair_reruns_the_failed_tasks_and_watches_the_run(databricks):
    make_policy(action="databricks_repair", signals=["driver is unreachable"])
    ticket = _databricks_ticket(databricks)

    remediation.propose(ticket.pk)
    run_pending(ticket.pk)

    repair = next(r for r in databricks.requests if r.path == "/api/2.2/jobs/runs/repair")
    assert repair.body["run_id"] == 7001
    assert repair.body["rerun_tasks"] == ["transform"]
    assert repair.body["rerun_dependent_tasks"] is True
    assert repair.header("Authorization") == f"Bearer {databricks.token}"
    found = Remediation.objects.get(ticket=ticket)
    assert found.status == "running" and found.external_run_id == "5000"

    databricks.finish_repair(7001, "SUCCESS")
    run_pending(ticket.pk)

    found.refresh_from_db()
    assert found.status == "succeeded"
    assert Ticket.objects.get(pk=ticket.pk).remediation_status == "succeeded"
    # PAT only, as the analysis's client: no host-metadata discovery before a repair or watch.
    assert not databricks.requests_to("/.well-known/")


def test_databricks_run_people_repaired_since_its_failure_is_not_repaired_again(databricks):
    """Someone repaired the run in the Jobs UI after its failure reached the ticket, and that
    repair failed too: the run's repair history names a repair this service did not send, so
    no repair is sent beside people's; the remediation ends skipped saying so."""
    make_policy(action="databricks_repair", signals=["driver is unreachable"])
    ticket = _databricks_ticket(databricks)
    people = WorkspaceClient(host=databricks.url, token=databricks.token, auth_type="pat")
    people.jobs.repair_run(7001, rerun_tasks=["transform"])
    databricks.finish_repair(7001, "FAILED", "Could not reach driver of cluster")

    skipped = proposed(ticket.pk)
    run_pending(ticket.pk)

    assert len(databricks.requests_to("/jobs/runs/repair")) == 1  # people's alone
    skipped.refresh_from_db()
    assert skipped.status == "skipped"
    assert skipped.reason.startswith(
        "run 7001 was repaired since its failure reached the ticket (repair 5000, not sent by"
        " this service, failed)"
    )
    ticket.refresh_from_db()
    assert ticket.status == "open" and ticket.remediation_status == "skipped"
    ended = AuditLog.objects.get(ticket=ticket, action="remediation ended without running")
    assert ended.details["reason"] == skipped.reason


def test_databricks_run_a_newer_run_of_whose_job_succeeded_is_not_repaired(databricks):
    make_policy(action="databricks_repair", signals=["driver is unreachable"])
    ticket = _databricks_ticket(databricks)
    databricks.add_run(
        job_run(run_id=7101, tasks=[task("transform", 7103, start_time=1_700_086_400_000)])
    )

    skipped = proposed(ticket.pk)
    run_pending(ticket.pk)

    assert databricks.requests_to("/jobs/runs/repair") == []
    (listed,) = databricks.requests_to("/jobs/runs/list")
    assert listed.param("job_id") == "11223344" and listed.param("completed_only") == "true"
    skipped.refresh_from_db()
    assert skipped.status == "skipped"
    assert skipped.reason.startswith(
        "a newer run 7101 of job 11223344 succeeded since run 7001 failed: no repair was sent"
    )


def test_a_second_repair_of_the_run_names_the_first(databricks):
    """runs/get lists a run's repair history only when asked (`include_history`): the next
    attempt at the same run names its latest repair, or Databricks refuses the repair."""
    make_policy(
        action="databricks_repair",
        signals=["driver is unreachable"],
        max_attempts=2,
        backoff_seconds=0,
    )
    ticket = _databricks_ticket(databricks)
    proposed(ticket.pk)
    run_pending(ticket.pk)
    databricks.finish_repair(7001, "FAILED", "Could not reach driver of cluster")
    run_pending(ticket.pk)
    Remediation.objects.filter(ticket=ticket).update(
        finished_at=timezone.now() - timedelta(minutes=5)
    )

    second = proposed(ticket.pk)
    run_pending(ticket.pk, rounds=1)

    repairs = databricks.requests_to("/jobs/runs/repair")
    assert [r.body.get("latest_repair_id") for r in repairs] == [None, 5000]
    second.refresh_from_db()
    assert second.status == "running" and second.external_run_id == "5001"


@pytest.mark.parametrize("action", ["databricks_repair", "databricks_restart"])
def test_databricks_run_of_another_workspace_is_not_proposed_for_a_repair(
    databricks, settings, action
):
    """Its id names another run on DATABRICKS_HOST's workspace: a repair there could only act
    on the wrong run. It is skipped at once, saying why; nothing is asked of Databricks."""
    settings.DATABRICKS_WORKSPACE_ID = "2"
    make_policy(action=action, signals=["driver is unreachable"])
    ticket = _databricks_ticket(databricks)  # workspace 1's run 7001

    found = proposed(ticket.pk)

    assert found.status == "skipped"
    assert found.reason.startswith(
        "cannot run here: the run is of Databricks workspace 1, and DATABRICKS_HOST reads "
        "workspace 2 (DATABRICKS_WORKSPACE_ID, else its Azure host name): the same run id "
        "there is another run"
    )
    assert run_pending(ticket.pk) == []
    assert not databricks.requests


def test_databricks_run_whose_run_page_names_another_workspace_is_not_repaired(
    databricks, settings
):
    """Its notification named DATABRICKS_HOST's workspace (1), its run page another (2: the
    parser keeps it as `run_page_workspace_id`): which run 7001 is, is unclear."""
    settings.DATABRICKS_WORKSPACE_ID = "1"
    make_policy(action="databricks_repair", signals=["driver is unreachable"])
    ticket = _databricks_ticket(databricks)
    Ticket.objects.filter(pk=ticket.pk).update(
        affected_entity={**ticket.affected_entity, "run_page_workspace_id": "2"}
    )

    found = proposed(ticket.pk)

    assert found.status == "skipped"
    assert found.reason.startswith(
        "cannot run here: the notification named Databricks workspace 1 but its run page "
        "(run_page_url) is of workspace 2: which workspace the run is of is unclear"
    )
    assert run_pending(ticket.pk) == []
    assert not databricks.requests


def test_databricks_run_of_another_workspace_is_never_repaired(databricks, settings):
    make_policy(action="databricks_restart", signals=["driver is unreachable"])
    ticket = _databricks_ticket(databricks)
    assert proposed(ticket.pk).status == "running"
    settings.DATABRICKS_WORKSPACE_ID = "2"  # set before the repair is sent: another workspace

    rows = run_pending(ticket.pk)

    assert [r.status for r in rows] == ["dead"]
    assert "the run is of Databricks workspace 1, and DATABRICKS_HOST reads workspace 2" in (
        rows[0].last_error
    )
    assert Remediation.objects.get(ticket=ticket).status == "failed"
    assert not [r for r in databricks.requests if r.path.startswith("/api/")]
    assert databricks.restarted == []


def test_databricks_repair_leaves_a_task_whose_retry_succeeded(databricks):
    """runs/get lists each attempt of a retried task: only tasks whose latest attempt failed
    are rerun, each once."""
    make_policy(action="databricks_repair", signals=["driver is unreachable"])
    ticket = _databricks_ticket(databricks)
    databricks.runs[7001]["tasks"] = [
        task("extract", 7002, "FAILED", "Spark driver is unreachable", attempt_number=0),
        task("extract", 7005, "SUCCESS", attempt_number=1),
        task("transform", 7003, "FAILED", "Spark driver is unreachable", attempt_number=0),
        task("transform", 7006, "FAILED", "Spark driver is unreachable", attempt_number=1),
        task("load", 7004, "UPSTREAM_FAILED", "Upstream task failed"),
    ]

    remediation.propose(ticket.pk)
    run_pending(ticket.pk)

    repair = next(r for r in databricks.requests if r.path == "/api/2.2/jobs/runs/repair")
    assert repair.body["rerun_tasks"] == ["transform"]


def test_databricks_restart_then_repair(databricks):
    make_policy(action="databricks_restart", signals=["driver is unreachable"])
    ticket = _databricks_ticket(databricks)

    remediation.propose(ticket.pk)
    run_pending(ticket.pk)

    assert databricks.restarted == ["0923-164208-meows279"]
    paths = [r.path for r in databricks.requests if r.method == "POST"]
    assert paths.index("/api/2.1/clusters/restart") < paths.index("/api/2.2/jobs/runs/repair")
    databricks.finish_repair(7001, "FAILED", "still broken")
    run_pending(ticket.pk)
    found = Remediation.objects.get(ticket=ticket)
    assert found.status == "failed" and "still broken" in found.reason


def _serverless_for_each_ticket(fake: FakeDatabricks) -> Ticket:
    """A run on serverless compute (no task names a cluster) whose For each task failed: its
    failed iterations are not among runs/get's `tasks`."""
    from tests.analysis.test_enrichment import for_each_task

    error = "Could not reach driver of cluster"
    fake.add_run(
        job_run(
            run_id=7101,
            tasks=[task("list_days", 7102), for_each_task("process_days", 7103, 2, 3, error)],
        )
    )
    return make_ticket(
        source="databricks",
        processing_mode="databricks",
        run_id="databricks:1:7101",
        pipeline="daily-fanout",
        error_message="Spark driver is unreachable",
        affected_entity={"workspace_id": "1", "job_id": 11223344, "run_id": 7101},
    )


def test_a_serverless_for_each_run_is_repaired_by_its_for_each_task(databricks):
    make_policy(action="databricks_repair", signals=["driver is unreachable"])
    ticket = _serverless_for_each_ticket(databricks)

    remediation.propose(ticket.pk)
    run_pending(ticket.pk)

    (repair,) = databricks.requests_to("/jobs/runs/repair")
    assert repair.body["rerun_tasks"] == ["process_days"]
    databricks.finish_repair(7101, "SUCCESS")
    run_pending(ticket.pk)
    assert Remediation.objects.get(ticket=ticket).status == "succeeded"


def test_a_restart_of_a_serverless_run_says_it_has_no_cluster(databricks):
    make_policy(action="databricks_restart", signals=["driver is unreachable"])
    ticket = _serverless_for_each_ticket(databricks)

    remediation.propose(ticket.pk)
    run_pending(ticket.pk)

    found = Remediation.objects.get(ticket=ticket)
    assert found.status == "failed"
    assert "the failed tasks ran on no all-purpose cluster" in found.reason
    assert not databricks.requests_to("/jobs/runs/repair") and not databricks.restarted


def test_databricks_not_configured_is_not_proposed_and_says_why(settings, databricks):
    """Nobody is asked to approve, and nothing runs, what could only be skipped."""
    settings.DATABRICKS_TOKEN = ""
    make_policy(action="databricks_repair", signals=["driver is unreachable"])
    ticket = _databricks_ticket(databricks)
    found = remediation.propose(ticket.pk)
    assert found is not None and found.status == "skipped"
    assert found.reason.startswith("not configured: Databricks repairs need DATABRICKS_HOST")
    assert not OutboundDelivery.objects.filter(ticket=ticket).exists()
    assert Ticket.objects.get(pk=ticket.pk).remediation_status == "skipped"
    assert not databricks.requests


def test_a_target_unconfigured_after_approval_fails_the_remediation_at_once(settings, databricks):
    make_policy(action="databricks_repair", signals=["driver is unreachable"])
    ticket = _databricks_ticket(databricks)
    found = remediation.propose(ticket.pk)
    assert found is not None and found.status == "running"
    settings.DATABRICKS_TOKEN = ""
    rows = run_pending(ticket.pk)
    assert [r.status for r in rows] == ["skipped"]
    found.refresh_from_db()
    assert found.status == "failed"
    assert remediation.sweep() == 0  # nothing left for beat
    assert found.reason.startswith("the action was not sent: Databricks repairs need")
    assert not databricks.requests


# --- Airflow -------------------------------------------------------------------------------------


@pytest.fixture
def airflow(settings) -> Iterator[FakeAirflow]:
    with FakeAirflow() as fake:
        settings.AIRFLOW_API_URL = fake.url
        settings.AIRFLOW_API_TOKEN = ""
        settings.AIRFLOW_USERNAME = fake.username
        settings.AIRFLOW_PASSWORD = fake.password
        yield fake


def _airflow_ticket(airflow: FakeAirflow, run_id: str) -> Ticket:
    airflow.add_task_instance("sales_daily", run_id, "load_orders", "failed")
    make_policy(action="airflow_clear", signals=["connection reset"])
    return make_ticket(
        source="airflow",
        processing_mode="airflow",
        run_id=f"airflow:sales_daily/load_orders/{run_id}",
        pipeline="sales_daily.load_orders",
        affected_entity={
            "dag_id": "sales_daily",
            "task_id": "load_orders",
            "run_id": run_id,
            "map_index": "-1",
        },
    )


def test_airflow_clear_the_failed_task_and_watch_it(airflow):
    run_id = "scheduled__2025-12-10T00:00:00+00:00"
    ticket = _airflow_ticket(airflow, run_id)

    remediation.propose(ticket.pk)
    run_pending(ticket.pk)

    token = next(r for r in airflow.requests if r.path == "/auth/token")
    assert token.body == {"username": "rca", "password": "airflow-pass"}
    clear = next(r for r in airflow.requests if r.path.endswith("/clearTaskInstances"))
    assert clear.path == "/api/v2/dags/sales_daily/clearTaskInstances"
    assert clear.body["dry_run"] is False and clear.body["only_failed"] is True
    assert clear.body["dag_run_id"] == run_id and clear.body["task_ids"] == ["load_orders"]
    instance = airflow.instances[("sales_daily", run_id, "load_orders", -1)]
    assert instance["state"] is None and instance["try_number"] == 2
    assert Remediation.objects.get(ticket=ticket).status == "running"

    airflow.finish("sales_daily", run_id, "load_orders", "success")
    run_pending(ticket.pk)

    assert Remediation.objects.get(ticket=ticket).status == "succeeded"


@pytest.mark.django_db(transaction=True)
def test_an_airflow_clear_whose_worker_was_killed_after_sending_it_is_followed_as_its_own(
    airflow, settings
):
    """The worker died while Airflow took the clear: the redelivery read the task instance
    cleared (its new try) and ended skipped, "not failed now (cleared or retried since …); no
    clear was sent", its own clear named as someone else's. It watches that try as the clear's,
    whose success ends the remediation."""
    settings.OUTBOUND_TIMEOUT_SECONDS = 30
    run_id = "scheduled__2025-12-12T00:00:00+00:00"
    ticket = _airflow_ticket(airflow, run_id)
    started = proposed(ticket.pk)
    row = OutboundDelivery.objects.get(ticket=ticket, target="airflow_clear")
    instance = airflow.instances[("sales_daily", run_id, "load_orders", -1)]

    killed_while_starting(airflow, row, "/clearTaskInstances")
    wait_for(lambda: instance["try_number"] == 2)
    redelivered(row)

    assert len(airflow.requests_to("/clearTaskInstances")) == 1
    started.refresh_from_db()
    assert started.status == "running", started.reason
    airflow.finish("sales_daily", run_id, "load_orders", "success")
    run_pending(ticket.pk)

    started.refresh_from_db()
    assert started.status == "succeeded"
    assert len(airflow.requests_to("/clearTaskInstances")) == 1


@pytest.mark.django_db(transaction=True)
def test_an_airflow_clear_whose_worker_was_killed_and_whose_try_failed_again_is_not_sent_twice(
    airflow, settings
):
    """The worker died while Airflow took the clear, and the try it started failed again
    before the redelivery: the redelivery read the instance failed and cleared it a second time
    (a second start), the first clear's failure reported by no one. The try that failed again
    is the clear's: it fails the remediation, and no second clear is sent."""
    settings.OUTBOUND_TIMEOUT_SECONDS = 30
    run_id = "scheduled__2025-12-13T00:00:00+00:00"
    ticket = _airflow_ticket(airflow, run_id)
    Ticket.objects.filter(pk=ticket.pk).update(details={**ticket.details, "try_number": 1})
    started = proposed(ticket.pk)
    row = OutboundDelivery.objects.get(ticket=ticket, target="airflow_clear")
    instance = airflow.instances[("sales_daily", run_id, "load_orders", -1)]

    killed_while_starting(airflow, row, "/clearTaskInstances")
    wait_for(lambda: instance["try_number"] == 2)
    airflow.finish("sales_daily", run_id, "load_orders", "failed")
    redelivered(row)
    run_pending(ticket.pk)

    assert len(airflow.requests_to("/clearTaskInstances")) == 1
    started.refresh_from_db()
    assert started.status == "failed", started.reason
    assert "load_orders failed" in started.reason


@pytest.mark.django_db(transaction=True)
def test_an_airflow_clear_whose_worker_was_killed_is_not_sent_twice_once_its_failure_arrived(
    airflow, settings, webhook_client
):
    """As above, and the failure callback of the try the clear started reached the service
    before the redelivery (seconds against the redelivery's minutes): the ticket now reported
    that try, the redelivery read the instance failed in no later try than the ticket's, and
    cleared it a second time. The try is compared with the one reported when the remediation
    started: the try that failed again is the clear's, and no second clear is sent."""
    settings.OUTBOUND_TIMEOUT_SECONDS = 30
    settings.GEMINI_API_KEY = ""
    run_id = "scheduled__2025-12-14T00:00:00+00:00"
    ticket = _airflow_ticket(airflow, run_id)
    Ticket.objects.filter(pk=ticket.pk).update(details={**ticket.details, "try_number": 1})
    started = proposed(ticket.pk)
    row = OutboundDelivery.objects.get(ticket=ticket, target="airflow_clear")
    instance = airflow.instances[("sales_daily", run_id, "load_orders", -1)]

    killed_while_starting(airflow, row, "/clearTaskInstances")
    wait_for(lambda: instance["try_number"] == 2)
    airflow.finish("sales_daily", run_id, "load_orders", "failed")
    body = {**local_payload("airflow_failure.json"), "run_id": run_id}
    del body["log_url"]  # names a deployment; the ticket's run key names none
    answer = webhook_client(
        "/webhooks/airflow/", {**body, "try_number": 2, "max_tries": 1, "state": "failed"}
    ).json()
    processing.process_delivery(WebhookDelivery.objects.get(tracking_id=answer["tracking_id"]).pk)
    assert answer["ticket_id"] == ticket.pk
    assert Ticket.objects.get(pk=ticket.pk).details["try_number"] == 2
    redelivered(row)
    run_pending(ticket.pk)

    assert len(airflow.requests_to("/clearTaskInstances")) == 1
    started.refresh_from_db()
    assert started.status == "failed", started.reason
    assert "load_orders failed" in started.reason


@pytest.mark.parametrize(
    ("state", "said"),
    [("success", "success"), ("running", "running"), (None, "cleared (no state yet)")],
)
def test_airflow_task_cleared_in_airflow_since_is_not_cleared_again(airflow, state, said):
    """People cleared the failed instance in Airflow's UI before the clear was approved: its
    new try waits, runs or succeeded. The service read it and sends no clear beside it (one
    would restart a running try); the remediation ends skipped naming its state and try, and
    the ticket stays open for that try's outcome."""
    run_id = "scheduled__2025-12-17T00:00:00+00:00"
    ticket = _airflow_ticket(airflow, run_id)
    instance = airflow.instances[("sales_daily", run_id, "load_orders", -1)]
    instance.update(state=state, try_number=2)

    skipped = proposed(ticket.pk)
    run_pending(ticket.pk)

    assert airflow.requests_to("/clearTaskInstances") == []
    skipped.refresh_from_db()
    assert skipped.status == "skipped" and skipped.finished_at is not None
    assert skipped.reason.startswith(f"sales_daily.load_orders is {said}, try 2 in {run_id}")
    assert "no clear was sent" in skipped.reason
    ticket.refresh_from_db()
    assert ticket.status == "open" and ticket.remediation_status == "skipped"
    ended = AuditLog.objects.get(ticket=ticket, action="remediation ended without running")
    assert ended.details["reason"] == skipped.reason


def test_airflow_mapped_task_is_cleared_while_one_of_its_instances_still_fails(airflow):
    """Of a mapped task's instances on the ticket, one was cleared and succeeded since, one
    still fails: the clear is sent (for the one failing)."""
    run_id = "scheduled__2025-12-18T00:00:00+00:00"
    for index, state in ((0, "success"), (1, "failed")):
        airflow.add_task_instance("sales_daily", run_id, "load_orders", state, map_index=index)
    ticket = _mapped_clear_ticket(run_id, failed=[0, 1], failing=[0, 1])
    proposed(ticket.pk)
    run_pending(ticket.pk)

    (clear,) = airflow.requests_to("/clearTaskInstances")
    assert clear.body["task_ids"] == [["load_orders", 0], ["load_orders", 1]]
    found = Remediation.objects.get(ticket=ticket)
    assert found.status == "running" and found.details["cleared"] == ["load_orders[1]#2"]


def test_a_proxys_404_reading_a_mapped_instance_is_tried_again_not_read_as_not_mapped(airflow):
    """The ticket's own instance succeeded since; the other one still fails, but the proxy in
    front of Airflow answered its pre-read 404 (not Airflow's JSON: no server behind it for a
    moment). That was read as an instance this run does not map, and the remediation ended
    skipped, 'not failed now', with an instance still failing. It is read again, and cleared."""
    run_id = "scheduled__2025-12-19T00:00:00+00:00"
    for index, state in ((0, "success"), (1, "failed")):
        airflow.add_task_instance("sales_daily", run_id, "load_orders", state, map_index=index)
    ticket = _mapped_clear_ticket(run_id, failed=[0, 1], failing=[0, 1])
    airflow.fail(
        404,
        b"<html><body>404 Not Found</body></html>",
        headers={"Content-Type": "text/html"},
        path_contains="/taskInstances/load_orders/1",
    )

    proposed(ticket.pk)
    run_pending(ticket.pk)

    found = Remediation.objects.get(ticket=ticket)
    assert found.status == "running", found.reason
    (clear,) = airflow.requests_to("/clearTaskInstances")
    assert clear.body["task_ids"] == [["load_orders", 0], ["load_orders", 1]]
    assert found.details["cleared"] == ["load_orders[1]#2"]


def test_airflow_answers_a_clear_of_a_dag_it_does_not_have_with_its_404(airflow):
    """Airflow 3 answers 404 `{"detail": "DAG <id> not found"}` to a clear of a DAG it does
    not have (the test stand-in answered 200, clearing nothing): a refusal for good."""
    from integrations.targets.airflow_clear import AirflowTransport
    from integrations.targets.base import TransportError

    airflow.add_task_instance("sales_daily", "r", "load_orders", "failed")
    transport = AirflowTransport(
        airflow.url, username=airflow.username, password=airflow.password, timeout=3
    )
    with pytest.raises(TransportError) as raised:
        transport.clear("gone_dag", "r", "load_orders", [])
    assert raised.value.permanent and raised.value.status == 404
    assert "DAG gone_dag not found" in str(raised.value)
    with pytest.raises(TransportError) as raised:
        transport.clear("sales_daily", "manual__gone", "load_orders", [])
    assert raised.value.status == 404
    assert "Dag Run id manual__gone not found in dag sales_daily" in str(raised.value)
    assert airflow.instances[("sales_daily", "r", "load_orders", -1)]["state"] == "failed"


def test_airflow_clear_of_a_dag_airflow_does_not_have_is_the_last_attempt(airflow):
    """The ticket's DAG is gone from Airflow (deleted, renamed): its 404 ends the attempts at
    the run, saying why, and no clear is sent."""
    make_policy(action="airflow_clear", signals=["connection reset"], max_attempts=3)
    RemediationPolicy.objects.update(backoff_seconds=0)
    ticket = make_ticket(
        source="airflow",
        run_id="airflow:gone_dag/t/r",
        affected_entity={"dag_id": "gone_dag", "task_id": "t", "run_id": "r", "map_index": "-1"},
    )
    proposed(ticket.pk)
    rows = run_pending(ticket.pk)

    assert [r.status for r in rows] == ["dead"] and "404" in rows[0].last_error
    found = Remediation.objects.get(ticket=ticket)
    assert found.status == "failed" and "retrying will not find it" in found.reason
    _no_next_attempt_after(ticket)
    assert airflow.requests_to("/clearTaskInstances") == []


@pytest.mark.parametrize(
    ("state", "why"), [("skipped", "Airflow skipped it"), ("removed", "marked it removed")]
)
def test_a_cleared_task_airflow_ends_without_running_ends_the_watch(airflow, state, why):
    """Airflow may end the cleared instance `skipped` (a branch not taken on this try, a
    short-circuit upstream) or `removed`: both are finished states, so the watch ends there,
    not at its deadline. Nothing ran: the remediation ends skipped, saying so, the ticket stays
    open, and no next clear follows (it would end the same way)."""
    run_id = "scheduled__2025-12-16T00:00:00+00:00"
    ticket = _airflow_ticket(airflow, run_id)
    remediation.propose(ticket.pk)
    run_pending(ticket.pk)
    assert Remediation.objects.get(ticket=ticket).status == "running"

    airflow.finish("sales_daily", run_id, "load_orders", state)
    deliveries = run_pending(ticket.pk)

    found = Remediation.objects.get(ticket=ticket)
    assert found.status == "skipped" and found.finished_at is not None
    assert found.reason.startswith("sales_daily.load_orders was cleared but did not run")
    assert why in found.reason
    ticket.refresh_from_db()
    assert ticket.status == "open" and ticket.remediation_status == "skipped"
    ended = AuditLog.objects.get(ticket=ticket, action="remediation ended without running")
    assert ended.after == {"remediation_status": "skipped"}
    assert not [d for d in deliveries if d.status == "pending"]
    assert len(airflow.requests_to("/clearTaskInstances")) == 1
    assert Remediation.objects.filter(ticket=ticket).count() == 1


def _mapped_clear_ticket(run_id: str, *, failed: list[int], failing: list[int]):
    """A ticket of the mapped task `sales_daily.load_orders` in `run_id` (opened by instance 0)
    whose instances `failed` failed alike and `failing` still fail, with a clear policy."""
    make_policy(action="airflow_clear", signals=["connection reset"])
    return make_ticket(
        source="airflow",
        processing_mode="airflow",
        run_id=f"airflow:sales_daily/load_orders[0]/{run_id}",
        pipeline="sales_daily.load_orders",
        affected_entity={
            "dag_id": "sales_daily",
            "task_id": "load_orders",
            "run_id": run_id,
            "map_index": "0",
        },
        details={"failed_map_indexes": failed, "failing_map_indexes": failing},
    )


def test_airflow_clear_of_a_mapped_task_clears_its_failing_instances_and_watches_each(airflow):
    """The ticket counts the instances of a mapped task that failed alike: the clear names each
    one still failing as `[task_id, map_index]` (Airflow 3's pair), and succeeds once each
    of them has succeeded; an instance that succeeded meanwhile is not cleared."""
    run_id = "scheduled__2025-12-15T00:00:00+00:00"
    for index in range(6):
        state = "failed" if index in (0, 2, 5) else "success"
        airflow.add_task_instance("sales_daily", run_id, "load_orders", state, map_index=index)
    ticket = _mapped_clear_ticket(run_id, failed=[0, 1, 2, 5], failing=[0, 2, 5])

    remediation.propose(ticket.pk)
    run_pending(ticket.pk)

    (clear,) = airflow.requests_to("/clearTaskInstances")
    assert clear.body["task_ids"] == [["load_orders", 0], ["load_orders", 2], ["load_orders", 5]]
    states = {i: airflow.instances[("sales_daily", run_id, "load_orders", i)] for i in range(6)}
    assert [i for i, instance in states.items() if instance["try_number"] == 2] == [0, 2, 5]
    found = Remediation.objects.get(ticket=ticket)
    assert found.details["cleared"] == ["load_orders[0]#2", "load_orders[2]#2", "load_orders[5]#2"]

    airflow.finish("sales_daily", run_id, "load_orders", "success", map_index=0)
    airflow.finish("sales_daily", run_id, "load_orders", "success", map_index=5)
    run_pending(ticket.pk, rounds=1)
    assert Remediation.objects.get(ticket=ticket).status == "running"  # instance 2 runs

    airflow.finish("sales_daily", run_id, "load_orders", "success", map_index=2)
    run_pending(ticket.pk)
    assert Remediation.objects.get(ticket=ticket).status == "succeeded"


def test_airflow_clear_of_a_mapped_task_fails_when_one_of_its_instances_fails_again(airflow):
    run_id = "scheduled__2025-12-16T00:00:00+00:00"
    for index in (0, 1):
        airflow.add_task_instance("sales_daily", run_id, "load_orders", "failed", map_index=index)
    ticket = _mapped_clear_ticket(run_id, failed=[0, 1], failing=[0, 1])
    remediation.propose(ticket.pk)
    run_pending(ticket.pk, rounds=1)  # the clear

    airflow.finish("sales_daily", run_id, "load_orders", "success", map_index=0)
    airflow.finish("sales_daily", run_id, "load_orders", "failed", map_index=1)
    run_pending(ticket.pk)

    found = Remediation.objects.get(ticket=ticket)
    assert found.status == "failed"
    assert "load_orders[1] failed" in found.reason


def test_airflow_clear_of_a_mapped_task_watches_the_instances_it_cleared(airflow):
    """Instance 7 failed alike in an earlier run of the task; today's run maps 3 instances. The
    clear of today's run names 7 too, which this run has not: the watch follows the instances
    the clear cleared (asking for instance 7 of this run is a 404), and their success leaves
    the ticket open for instance 7."""
    run_id = "scheduled__2025-12-18T00:00:00+00:00"
    for index in range(3):
        state = "failed" if index == 0 else "success"
        airflow.add_task_instance("sales_daily", run_id, "load_orders", state, map_index=index)
    ticket = _mapped_clear_ticket(run_id, failed=[0, 7], failing=[0, 7])
    remediation.propose(ticket.pk)
    run_pending(ticket.pk, rounds=1)  # the clear

    airflow.finish("sales_daily", run_id, "load_orders", "success", map_index=0)
    run_pending(ticket.pk)

    found = Remediation.objects.get(ticket=ticket)
    assert found.details["map_indexes"] == [0]
    assert found.status == "succeeded", found.reason
    assert "map indexes [7] still fail, which it did not clear" in found.reason
    assert Ticket.objects.get(pk=ticket.pk).status != "resolved"


def _airflow_ticket_from(deployment: str):
    return make_ticket(
        source="airflow",
        run_id=f"airflow:{deployment}:d/t/scheduled__1",
        affected_entity={
            "dag_id": "d",
            "task_id": "t",
            "run_id": "scheduled__1",
            "map_index": "-1",
            "deployment": deployment,
        },
    )


def test_airflow_throttled_clear_is_tried_again_after_the_time_airflow_asked_for(airflow):
    ticket = _airflow_ticket(airflow, "scheduled__2025-12-11T00:00:00+00:00")
    airflow.throttle(40, path_contains="/clearTaskInstances")
    found = proposed(ticket.pk)

    (row,) = run_pending(ticket.pk, rounds=1)

    assert row.status == "pending" and "429" in row.last_error
    assert (row.next_attempt_at - timezone.now()).total_seconds() > 30
    found.refresh_from_db()
    assert found.status == "running"


@pytest.mark.parametrize("status", [None, 502])
def test_airflow_login_that_fails_sends_no_clear_and_is_tried_again(airflow, status):
    """The token request comes before the clear: its gateway's 502 (or no answer) carried no
    clear out, so the start is tried again later, not failed as one that may have reached
    Airflow."""
    ticket = _airflow_ticket(airflow, "scheduled__2025-12-12T00:00:00+00:00")
    if status is None:
        airflow.stall(5, times=1, path_contains="/auth/token")
    else:
        airflow.fail(status, "<html>Bad Gateway</html>", path_contains="/auth/token")
    found = proposed(ticket.pk)

    (row,) = run_pending(ticket.pk, rounds=1)

    assert row.status == "pending" and "Airflow token" in row.last_error
    assert not airflow.requests_to("/clearTaskInstances")
    found.refresh_from_db()
    assert found.status == "running"
    airflow.clear_faults()
    run_pending(ticket.pk, rounds=1)
    assert len(airflow.requests_to("/clearTaskInstances")) == 1
    found.refresh_from_db()
    assert found.external_run_id


def test_airflow_watch_throttled_looks_again_no_sooner_than_airflow_asked(airflow, settings):
    settings.REMEDIATION_POLL_SECONDS = 1
    ticket = _airflow_ticket(airflow, "scheduled__2025-12-13T00:00:00+00:00")
    proposed(ticket.pk)
    run_pending(ticket.pk, rounds=1)  # the clear
    airflow.throttle(120, path_contains="/dagRuns/")

    run_pending(ticket.pk, rounds=1)  # a look, throttled

    (look,) = OutboundDelivery.objects.filter(ticket=ticket, status="pending")
    assert (look.next_attempt_at - timezone.now()).total_seconds() > 100


def test_a_watch_without_answers_warns_once_not_at_every_look(airflow, caplog):
    ticket = _airflow_ticket(airflow, "scheduled__2025-12-14T00:00:00+00:00")
    found = proposed(ticket.pk)
    run_pending(ticket.pk, rounds=1)  # the clear
    airflow.fail(500, airflow.error_body(500, "down"), times=3, path_contains="/dagRuns/")

    with caplog.at_level(logging.INFO, logger="integrations.targets.remediating"):
        run_pending(ticket.pk, rounds=3)

    looks = [r for r in caplog.records if "looking again later" in r.getMessage()]
    assert [r.levelno for r in looks] == [logging.WARNING, logging.INFO, logging.INFO]
    found.refresh_from_db()
    assert found.status == "running"


@pytest.mark.parametrize("retry_after", ["1e12", "inf"])
def test_a_retry_after_past_the_calendar_is_a_retry_not_a_crash(airflow, retry_after):
    ticket = _airflow_ticket(airflow, "scheduled__2025-12-15T00:00:00+00:00")
    airflow.fail(
        429,
        airflow.error_body(429, "Too many requests"),
        headers={"Retry-After": retry_after},
        path_contains="/clearTaskInstances",
    )
    found = proposed(ticket.pk)

    (row,) = run_pending(ticket.pk, rounds=1)

    assert row.status == "pending" and "429" in row.last_error
    found.refresh_from_db()
    assert found.status == "running"


@pytest.mark.parametrize("mode", ["auto", "approval"])
def test_airflow_task_of_another_deployment_is_not_proposed_for_a_clear(airflow, mode):
    """A clear there could only fail: it is skipped at once, saying why, as an action whose
    target is not configured is; nobody is asked to approve it and it is not tried again."""
    airflow.add_task_instance("d", "scheduled__1", "t", "failed")
    make_policy(action="airflow_clear", mode=mode, signals=["connection reset"])
    ticket = _airflow_ticket_from("airflow-dev.example.com")

    found = proposed(ticket.pk)

    served = urlsplit(airflow.url).netloc
    assert found.status == "skipped"
    assert found.reason.startswith(
        "cannot run here: the task ran on Airflow 'airflow-dev.example.com', and "
        f"AIRFLOW_API_URL serves '{served}'"
    )
    assert Ticket.objects.get(pk=ticket.pk).remediation_status == "skipped"
    assert run_pending(ticket.pk) == []
    assert remediation.propose(ticket.pk) is None  # the decision stands
    assert not [r for r in airflow.requests if r.path.endswith("/clearTaskInstances")]


def test_a_dag_runs_own_failure_is_not_proposed_for_a_clear(airflow, webhook_client):
    """A timed-out run, as the callback reports it (the task `(dag run)`), names no task
    instance: Airflow would clear nothing, so no clear is asked for or sent."""
    from types import SimpleNamespace

    from integrations.airflow_callback import rca_callback

    make_policy(
        action="airflow_clear", mode="approval", signals=["timed_out"], approval_min_confidence=0
    )
    context = {
        "dag": SimpleNamespace(dag_id="sales_daily", owner="data-eng"),
        "run_id": "scheduled__2025-12-10T00:00:00+00:00",
        "reason": "timed_out",
    }
    body = rca_callback.build_failure_body(context)
    ticket_id = webhook_client("/webhooks/airflow/", body).json()["ticket_id"]

    found = proposed(ticket_id)

    assert found.status == "skipped"
    assert found.reason.startswith("cannot run here: the failure is the DAG run's")
    assert run_pending(ticket_id) == []
    assert not airflow.requests_to("/clearTaskInstances")


def test_airflow_task_of_another_deployment_is_never_cleared(airflow, settings):
    # The same DAG run id exists on the configured Airflow, failed too: it is not the one.
    airflow.add_task_instance("d", "scheduled__1", "t", "failed")
    make_policy(action="airflow_clear", signals=["connection reset"])
    settings.AIRFLOW_DEPLOYMENT = "airflow-dev.example.com"
    ticket = _airflow_ticket_from("airflow-dev.example.com")
    assert proposed(ticket.pk).status == "running"
    settings.AIRFLOW_DEPLOYMENT = ""  # changed before the clear is sent: it names another now

    rows = run_pending(ticket.pk)

    assert [r.status for r in rows] == ["dead"]
    served = urlsplit(airflow.url).netloc
    assert f"ran on Airflow 'airflow-dev.example.com', and AIRFLOW_API_URL serves '{served}'" in (
        rows[0].last_error
    )
    assert Remediation.objects.get(ticket=ticket).status == "failed"
    assert not [r for r in airflow.requests if r.path.endswith("/clearTaskInstances")]
    assert airflow.instances[("d", "scheduled__1", "t", -1)]["state"] == "failed"


def test_airflow_deployment_named_in_settings_is_the_one_cleared(airflow, settings):
    settings.AIRFLOW_DEPLOYMENT = "prod"
    airflow.add_task_instance("d", "scheduled__1", "t", "failed")
    make_policy(action="airflow_clear", signals=["connection reset"])
    ticket = _airflow_ticket_from("prod")

    remediation.propose(ticket.pk)
    run_pending(ticket.pk)

    assert airflow.instances[("d", "scheduled__1", "t", -1)]["try_number"] == 2
    assert Remediation.objects.get(ticket=ticket).status == "running"


def test_airflow_wrong_password_fails_the_remediation_without_leaking_it(airflow, settings):
    settings.AIRFLOW_PASSWORD = "wrong-password-123"
    ticket, rows = _airflow_clear_of(airflow)
    assert [r.status for r in rows] == ["dead"]
    assert "401" in rows[0].last_error and "wrong-password-123" not in rows[0].last_error
    found = Remediation.objects.get(ticket=ticket)  # failed at once, not on beat's sweep
    assert found.status == "failed" and "401" in found.reason
    assert airflow.instances[("d", "r", "t", -1)]["state"] == "failed"


@pytest.mark.parametrize("login", [True, False])
def test_airflow_that_refuses_the_connection_is_named_in_words(airflow, settings, login):
    """The token request (login) or the clear (a token configured) to a port nothing listens
    on: the reason said "… ConnectionError" or "… MaxRetryError"."""
    settings.AIRFLOW_API_URL = "http://127.0.0.1:9"
    if not login:
        settings.AIRFLOW_API_TOKEN = "a-jwt"
    _, rows = _airflow_clear_of(airflow)
    # Without a login, the first call is the read of the instance before its clear.
    what = "Airflow token" if login else "get d.t"
    assert f"{what}: 127.0.0.1 refused the connection on port 9" in rows[0].last_error


def test_airflow_clear_whose_connection_is_refused_is_sent_again_not_failed(airflow, settings):
    """Airflow refusing the connection of the clear (a token configured, so no login first):
    nothing was sent, so the clear is sent again after the backoff, the remediation still
    running, not failed as a clear that may have reached Airflow; once Airflow answers, the
    task is cleared, once, and its success ends the remediation."""
    airflow.add_task_instance("d", "r", "t", "failed")
    make_policy(action="airflow_clear", signals=["connection reset"])
    ticket = make_ticket(
        source="airflow",
        processing_mode="airflow",
        run_id="airflow:d/t/r",
        pipeline="d.t",
        affected_entity={"dag_id": "d", "task_id": "t", "run_id": "r", "map_index": "-1"},
    )
    settings.AIRFLOW_API_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens
    settings.AIRFLOW_API_TOKEN = airflow.token

    remediation.propose(ticket.pk)
    (row,) = run_pending(ticket.pk, rounds=1)

    assert row.status == OutboundStatus.PENDING
    assert "refused the connection" in row.last_error and "may have" not in row.last_error
    found = Remediation.objects.get(ticket=ticket)
    assert found.status == "running"

    settings.AIRFLOW_API_URL = airflow.url  # Airflow is back
    run_pending(ticket.pk, rounds=1)
    assert len(airflow.requests_to("/clearTaskInstances")) == 1
    airflow.finish("d", "r", "t", "success")
    run_pending(ticket.pk)
    found.refresh_from_db()
    assert found.status == "succeeded"


def test_airflow_clear_sends_the_password_to_no_host_a_redirect_names(airflow):
    with FakeAirflow() as elsewhere:
        airflow.fail(
            308, {}, headers={"Location": f"{elsewhere.url}/auth/token"}, path_contains="/auth/"
        )
        ticket, rows = _airflow_clear_of(airflow)
    assert elsewhere.requests == []
    assert [r.status for r in rows] == ["dead"] and "redirect" in rows[0].last_error
    assert Remediation.objects.get(ticket=ticket).status == "failed"
    assert airflow.instances[("d", "r", "t", -1)]["state"] == "failed"


def _airflow_clear_of(airflow: FakeAirflow):
    airflow.add_task_instance("d", "r", "t", "failed")
    make_policy(action="airflow_clear", signals=["connection reset"])
    ticket = make_ticket(
        source="airflow",
        run_id="airflow:d/t/r",
        affected_entity={"dag_id": "d", "task_id": "t", "run_id": "r", "map_index": "-1"},
    )
    remediation.propose(ticket.pk)
    return ticket, run_pending(ticket.pk)


def test_airflow_clear_is_sent_again_without_a_note_an_airflow_forbids(airflow):
    # Airflow 3.1's ClearTaskInstancesBody has no `note` and forbids fields it does not know.
    airflow.note_field = False
    ticket, _ = _airflow_clear_of(airflow)
    clears = airflow.requests_to("/clearTaskInstances")
    assert [("note" in r.body) for r in clears] == [True, False]
    assert airflow.instances[("d", "r", "t", -1)]["try_number"] == 2
    assert Remediation.objects.get(ticket=ticket).status == "running"


def test_airflow_clear_refused_for_another_field_is_not_sent_again(airflow):
    error = {"type": "missing", "loc": ["body", "dag_run_id"], "msg": "Field required"}
    airflow.fail(422, {"detail": [error]}, path_contains="/clearTaskInstances")
    _, rows = _airflow_clear_of(airflow)
    assert len(airflow.requests_to("/clearTaskInstances")) == 1
    assert [r.status for r in rows] == ["dead"] and "422" in rows[0].last_error
    assert airflow.instances[("d", "r", "t", -1)]["state"] == "failed"


def test_airflow_api_url_given_with_its_api_path_is_its_root(airflow, settings):
    settings.AIRFLOW_API_URL = f"{airflow.url}/api/v2/"
    ticket, _ = _airflow_clear_of(airflow)
    assert [r.path for r in airflow.requests[:3]] == [
        "/auth/token",
        "/api/v2/dags/d/dagRuns/r/taskInstances/t",
        "/api/v2/dags/d/clearTaskInstances",
    ]
    assert Remediation.objects.get(ticket=ticket).status == "running"


def test_airflow_api_url_without_a_token_endpoint_is_named(airflow, settings):
    # Not an Airflow 3 API server's root (here: a path under it, where /auth/token is a 404).
    settings.AIRFLOW_API_URL = f"{airflow.url}/airflow"
    _, rows = _airflow_clear_of(airflow)
    assert [r.status for r in rows] == ["dead"]
    assert rows[0].last_error.startswith(
        f"Airflow token: 404 from {airflow.url}/airflow/auth/token: no Airflow 3 token endpoint "
        f"there; AIRFLOW_API_URL ({airflow.url}/airflow) must be the root URL of an Airflow 3 "
        "API server"
    )


def test_airflow_refusals_kept_for_viewers_do_not_show_the_urls_credentials(airflow, settings):
    # A proxy's basic auth in AIRFLOW_API_URL; the refusal names the URL (its path is wrong).
    host = airflow.url.removeprefix("http://")
    settings.AIRFLOW_API_URL = f"http://proxy-user:proxy-pass-123@{host}/airflow"
    ticket, rows = _airflow_clear_of(airflow)
    assert [r.status for r in rows] == ["dead"]
    assert rows[0].last_error.startswith(
        f"Airflow token: 404 from http://{host}/airflow/auth/token: no Airflow 3 token endpoint"
    )
    assert f"AIRFLOW_API_URL (http://{host}/airflow)" in rows[0].last_error
    assert "proxy-pass-123" not in Remediation.objects.get(ticket=ticket).reason


# --- playbook ------------------------------------------------------------------------------------


class FakeLogicApp(FakeHttpService):
    """A Logic App's HTTP trigger: 202 with the run id header."""

    def route(self, request: RecordedRequest) -> Reply:
        return 202, None, {"x-ms-workflow-run-id": "08585000000000000000000000000CU01"}


PLAYBOOK_SECRET = "playbook-secret-for-tests"


@pytest.fixture
def logic_app(settings) -> Iterator[FakeLogicApp]:
    with FakeLogicApp() as fake:
        settings.PLAYBOOK_URL = f"{fake.url}/workflows/abc/triggers/manual/paths/invoke"
        settings.PLAYBOOK_SECRET = PLAYBOOK_SECRET
        yield fake


def test_playbook_posts_the_signed_context_and_the_callback_closes_the_loop(logic_app, client):
    make_policy(action="playbook")
    ticket = make_ticket()
    remediation.propose(ticket.pk)
    run_pending(ticket.pk)

    (call,) = logic_app.requests
    assert call.body["ticket_id"] == ticket.pk
    assert call.body["original_run_id"] == ticket.affected_entity["run_id"]
    assert call.body["callback_url"].endswith("/webhooks/remediation/")
    raw = json.dumps(call.body, sort_keys=True).encode()
    assert call.header("X-RCA-Signature") == sign(
        PLAYBOOK_SECRET, call.header("X-RCA-Timestamp") or "", raw
    )
    found = Remediation.objects.get(ticket=ticket)
    assert found.external_run_id == "08585000000000000000000000000CU01"

    # The replaced product's path and body, now with the token.
    body = {
        "ticket_id": ticket.pk,
        "status": "Succeeded",
        "attempt_number": 1,
        "remediation_run_id": found.external_run_id,
        "pipeline_name": ticket.pipeline,
        "original_run_id": ticket.affected_entity["run_id"],
        "error_type": ticket.error_type,
        "error_message": "",
    }
    refused = client.post(
        "/api/remediation-callback", data=json.dumps(body), content_type="application/json"
    )
    assert refused.status_code == 401
    assert Remediation.objects.get(pk=found.pk).status == "running"

    answered = client.post(
        "/api/remediation-callback",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_X_REMEDIATION_TOKEN=PLAYBOOK_SECRET,
    )
    assert answered.status_code == 200, answered.content
    assert answered.json()["result"] == "succeeded"
    assert Ticket.objects.get(pk=ticket.pk).remediation_status == "succeeded"

    again = client.post(
        "/api/remediation-callback",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_X_REMEDIATION_TOKEN=PLAYBOOK_SECRET,
    )
    assert again.json()["result"].startswith("ignored")


def test_playbook_url_kept_on_the_remediation_shows_no_credentials(logic_app, settings):
    """A PLAYBOOK_URL may carry a user and password (basic auth) or a Logic App's `sig`: the
    remediation's details, which viewers read, keep neither."""
    url = urlsplit(settings.PLAYBOOK_URL)
    settings.PLAYBOOK_URL = (
        f"http://ops:pw-0123456789@{url.netloc}{url.path}?api-version=1&sig=sig-0123456789"
    )
    make_policy(action="playbook")
    ticket = make_ticket()
    remediation.propose(ticket.pk)
    run_pending(ticket.pk)

    (call,) = logic_app.requests
    assert call.header("Authorization") is not None  # the endpoint still gets them
    kept = json.dumps(Remediation.objects.get(ticket=ticket).details)
    assert "pw-0123456789" not in kept and "sig-0123456789" not in kept
    assert f"http://{url.netloc}{url.path}" in kept


def test_playbook_names_the_run_its_remediation_kept(logic_app):
    """The kept run's resource names no run id (the run key does): the playbook is told the
    run the remediation started on, not one that failed on the ticket since."""
    make_policy(action="playbook")
    entity = {"factory": "adf-prod", "resource_group": "rg-data"}
    ticket = make_ticket(affected_entity=entity)
    started = proposed(ticket.pk)
    assert started.details["target_run"] == {"run_key": ticket.run_id, "entity": entity}
    Ticket.objects.filter(pk=ticket.pk).update(
        latest_run={"run_key": "adf:run-since", "entity": {**entity, "run_id": "run-since"}}
    )

    run_pending(ticket.pk)

    (call,) = logic_app.requests
    assert call.body["original_run_id"] == ticket.run_id
    assert call.body["affected_entity"] == entity


@pytest.mark.django_db(transaction=True)
def test_a_playbook_call_whose_worker_was_killed_after_sending_it_is_not_sent_again(
    logic_app, settings
):
    """SIGKILL of the worker while the playbook holds the call: its transaction, the attempt
    and the run id with it, is rolled back, and the delivery is handed out again (beat's
    redelivery). The playbook ran once: the redelivery does not call it a second time, and
    fails the remediation as a start that may have run, the last attempt at its run."""
    import os
    import signal

    from django.db import connections

    make_policy(action="playbook")
    ticket = make_ticket()
    started = proposed(ticket.pk)
    row = OutboundDelivery.objects.get(ticket=ticket, target="playbook")
    settings.OUTBOUND_TIMEOUT_SECONDS = 30  # the kill comes first
    logic_app.stall(30, times=1, path_contains="/workflows/")
    connections.close_all()  # the child opens its own
    child = os.fork()
    if child == 0:  # pragma: no cover (killed while it waits for the playbook's answer)
        try:
            fanout.deliver(row.pk)
        finally:
            os._exit(0)
    try:
        wait_for(lambda: logic_app.requests, timeout=20)
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        logic_app.release_stalled()
    assert OutboundDelivery.objects.get(pk=row.pk).status == OutboundStatus.PENDING

    # The redelivery, once PostgreSQL has let go of the killed worker's row lock.
    wait_for(lambda: fanout.deliver(row.pk).status != "busy", timeout=20)

    assert len(logic_app.requests) == 1
    assert OutboundDelivery.objects.get(pk=row.pk).status == OutboundStatus.DEAD
    started.refresh_from_db()
    assert started.status == "failed"
    assert remediation.MAY_HAVE_STARTED in started.reason
    assert started.details[NO_NEXT_ATTEMPT] == remediation.START_MAY_HAVE_RUN


def test_a_playbook_call_refused_before_it_acted_is_sent_again(logic_app):
    """A 429 or 503 carried nothing out: its counted call is taken back, and the next try of
    the delivery calls the playbook again."""
    make_policy(action="playbook")
    ticket = make_ticket()
    remediation.propose(ticket.pk)
    logic_app.fail(503, {"error": "busy"}, path_contains="/workflows/")
    logic_app.throttle(0, path_contains="/workflows/")

    rows = run_pending(ticket.pk)

    assert len(logic_app.requests) == 3
    assert [r.status for r in rows] == [OutboundStatus.SUCCEEDED]
    assert Remediation.objects.get(ticket=ticket).external_run_id


@pytest.mark.django_db(transaction=True)
def test_a_playbook_call_refused_as_redis_lost_its_count_is_sent_again(logic_app):
    """Redis restarted (its keys lost) while the playbook held a call it then refused (503):
    taking the call back counted -1, which read as an earlier call sent, so every later try
    failed the remediation as one that may have started, and the key had no expiry."""
    import threading

    make_policy(action="playbook")
    ticket = make_ticket()
    started = proposed(ticket.pk)
    row = OutboundDelivery.objects.get(ticket=ticket, target="playbook")
    logic_app.fail(503, {"error": "busy"}, path_contains="/workflows/", stall=30)
    attempt = threading.Thread(target=fanout.deliver, args=(row.pk,))
    attempt.start()
    try:
        wait_for(lambda: logic_app.requests, timeout=20)
        assert redis_client().delete(sends_key(row)) == 1  # the count the restart lost
    finally:
        logic_app.release_stalled()
        attempt.join(timeout=30)
    assert not attempt.is_alive()
    assert OutboundDelivery.objects.get(pk=row.pk).status == OutboundStatus.PENDING

    rows = run_pending(ticket.pk)

    assert len(logic_app.requests) == 2
    assert [r.status for r in rows] == [OutboundStatus.SUCCEEDED]
    started.refresh_from_db()
    assert started.status == "running" and started.external_run_id
    assert int(redis_client().get(sends_key(row)) or 0) == 1
    assert redis_client().ttl(sends_key(row)) > 0


def test_our_callback_path_takes_an_hmac_signature(logic_app, client):
    make_policy(action="playbook")
    ticket = make_ticket()
    remediation.propose(ticket.pk)
    run_pending(ticket.pk)
    body = json.dumps(
        {"ticket_id": ticket.pk, "success": False, "error_message": "still throttled"}
    ).encode()
    stamp = str(int(time.time()))

    forged = client.post(
        "/webhooks/remediation/",
        data=body,
        content_type="application/json",
        HTTP_X_RCA_TIMESTAMP=stamp,
        HTTP_X_RCA_SIGNATURE=sign("not-the-secret", stamp, body),
    )
    assert forged.status_code == 401

    signed = client.post(
        "/webhooks/remediation/",
        data=body,
        content_type="application/json",
        HTTP_X_RCA_TIMESTAMP=stamp,
        HTTP_X_RCA_SIGNATURE=sign(PLAYBOOK_SECRET, stamp, body),
    )
    assert signed.status_code == 200, signed.content
    found = Remediation.objects.get(ticket=ticket)
    assert found.status == "failed" and "still throttled" in found.reason


def _playbook_reports_failure(client: Any, error: str) -> tuple[Remediation, list[str]]:
    """A playbook remediation started on a new ticket, whose callback reports it failed with
    `error`: the remediation, and the texts kept of it (its reason, the ticket's audit log and
    outbound deliveries)."""
    make_policy(action="playbook")
    ticket = make_ticket()
    remediation.propose(ticket.pk)
    run_pending(ticket.pk)
    body = {"ticket_id": ticket.pk, "success": False, "error_message": error}

    answer = client.post(
        "/webhooks/remediation/",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_X_REMEDIATION_TOKEN=PLAYBOOK_SECRET,
    )

    assert answer.status_code == 200, answer.content
    found = Remediation.objects.get(ticket=ticket)
    kept = [
        found.reason,
        json.dumps(list(AuditLog.objects.filter(ticket=ticket).values()), default=str),
        json.dumps(list(OutboundDelivery.objects.filter(ticket=ticket).values()), default=str),
    ]
    return found, kept


def test_a_secret_in_the_playbooks_reported_error_is_redacted_everywhere_it_goes(logic_app, client):
    """A Logic App's failure quotes the action that failed, inputs included: the password of
    the connection it tried is kept nowhere (the remediation's reason viewers read, the audit
    entry, the Slack reply and JIRA comment the failure is announced with)."""
    password = f"Pw{uuid.uuid4().hex[:8]}Planted!"
    error = (
        "Action 'Run_query' failed: Login failed for user 'etl' "
        f"(Server=tcp:sql-prod.database.windows.net,1433;User ID=etl;Password={password};)"
    )
    found, kept = _playbook_reports_failure(client, error)
    assert found.status == "failed" and "Login failed for user 'etl'" in found.reason
    assert "remediation failed" in kept[1]
    for text in kept:
        assert password not in text


def test_a_playbooks_long_error_cut_inside_a_url_password_keeps_none_of_it(logic_app, client):
    """The playbook's reported error is kept to its first 2,000 characters. Cut before it was
    redacted, a URL's password cut before its `@host` was kept as it was: no rule knows
    `https://etl:<start of a password>` as one."""
    password = f"Pw{uuid.uuid4().hex[:8]}Planted"
    url = f"postgresql://etl:{password}@db01.example.com:5432/sales"
    start = "Action 'Run_query' failed: " + "retrying; " * 300
    error = start[: 2000 - len("postgresql://etl:") - 6] + " " + url
    assert error[:2000].endswith(password[:5])
    found, kept = _playbook_reports_failure(client, error)
    assert found.status == "failed" and "Action 'Run_query' failed" in found.reason
    for text in kept:
        assert password[:5] not in text


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"status": "Succeeded"}, 400, "ticket_id"),
        ({"ticket_id": "X"}, 400, "status"),
        ({"ticket_id": "NOPE", "status": "Succeeded"}, 404, "no remediation"),
        ([1, 2], 400, "JSON object"),
    ],
)
def test_callback_bad_input_is_a_clear_4xx(logic_app, client, body, status, error):
    response = client.post(
        "/webhooks/remediation/",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_X_REMEDIATION_TOKEN=PLAYBOOK_SECRET,
    )
    assert response.status_code == status
    assert error in response.json()["error"]


def test_the_playbooks_callback_ends_no_other_remediation(logic_app, client):
    """PLAYBOOK_SECRET is the playbook's (a Logic App's) credential: its report ends a playbook
    remediation, not the ADF rerun the service runs and watches itself. Before, the callback
    ended the ticket's latest remediation whatever its action, and a success resolved the
    ticket while the rerun still ran."""
    make_policy(action="adf_rerun")
    ticket = make_ticket()
    rerun = proposed(ticket.pk)
    assert rerun is not None and (rerun.action, rerun.status) == ("adf_rerun", "running")

    for attempt in ({}, {"attempt_number": rerun.attempt_number}):
        answer = client.post(
            "/webhooks/remediation/",
            data=json.dumps({"ticket_id": ticket.pk, "status": "Succeeded", **attempt}),
            content_type="application/json",
            HTTP_X_REMEDIATION_TOKEN=PLAYBOOK_SECRET,
        )
        assert answer.status_code == 404, answer.content
        assert f"no remediation of ticket {ticket.pk} called the playbook" in answer.json()["error"]
    rerun.refresh_from_db()
    ticket.refresh_from_db()
    assert rerun.status == "running"
    assert ticket.status == "open" and ticket.remediation_status == "running"


@pytest.mark.parametrize(
    "attempt",
    [1.5, True, "1.5", " 1", "1 ", "+1", "\uff11"],
    ids=["float", "boolean", "text", "leading-space", "trailing-space", "sign", "fullwidth"],
)
def test_callback_attempt_number_must_be_a_whole_number(logic_app, client, attempt):
    """Not read as attempt 1 (int() would): the body names no attempt of this ticket."""
    make_policy(action="playbook")
    ticket = make_ticket()
    remediation.propose(ticket.pk)
    run_pending(ticket.pk)
    body = {"ticket_id": ticket.pk, "status": "Succeeded", "attempt_number": attempt}

    response = client.post(
        "/webhooks/remediation/",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_X_REMEDIATION_TOKEN=PLAYBOOK_SECRET,
    )

    assert response.status_code == 400
    assert "field 'attempt_number' must be an integer" in response.json()["error"]
    assert Remediation.objects.get(ticket=ticket).status == "running"


def test_databricks_restart_is_not_repeated_when_the_repair_is_retried(databricks):
    make_policy(action="databricks_restart", signals=["driver is unreachable"])
    ticket = _databricks_ticket(databricks)
    databricks.throttle(1, path_contains="/jobs/runs/repair")  # refused: carried nothing out

    remediation.propose(ticket.pk)
    run_pending(ticket.pk)

    assert databricks.restarted == ["0923-164208-meows279"]
    repairs = [r for r in databricks.requests if r.path == "/api/2.2/jobs/runs/repair"]
    assert len(repairs) >= 2  # the refused one, then the one that went through
    assert Remediation.objects.get(ticket=ticket).external_run_id == "5000"


@pytest.mark.parametrize("status", [500, 502, 504])
def test_a_repair_answered_with_a_server_error_is_not_sent_again(databricks, status):
    """A 500 (or a gateway's 502/504) may come after Databricks started the repair: sent
    again, it would repair the run twice, or find nothing failed and fail a repair that runs.
    Nor does a next attempt repair it after the backoff: the reason says so."""
    make_policy(
        action="databricks_repair",
        signals=["driver is unreachable"],
        max_attempts=3,
        backoff_seconds=0,
    )
    ticket = _databricks_ticket(databricks)
    body = databricks.error_body(500, "upstream") if status == 500 else None  # a gateway's
    databricks.fail(status, body, path_contains="/repair")
    found = proposed(ticket.pk)

    (row,) = run_pending(ticket.pk)

    assert row.status == "dead"
    assert len(databricks.requests_to("/jobs/runs/repair")) == 1
    found.refresh_from_db()
    assert found.status == "failed"
    assert "the request may have reached the service; not repeated" in found.reason
    assert found.reason.endswith(remediation.START_MAY_HAVE_RUN)
    _no_next_attempt_after(ticket)
    assert len(databricks.requests_to("/jobs/runs/repair")) == 1


def test_a_repair_throttled_longer_than_the_sdk_retries_is_sent_again_later(databricks):
    """Databricks answers 429 for longer than the SDK's own retries last: every request was
    refused, so the engine tries the repair again later (after the Retry-After Databricks
    asked for), not failing it as a start that may have reached the service."""
    make_policy(action="databricks_repair", signals=["driver is unreachable"])
    ticket = _databricks_ticket(databricks)
    found = proposed(ticket.pk)
    databricks.throttle(5, times=None, path_contains="/jobs/runs/repair")

    (row,) = run_pending(ticket.pk, rounds=1)

    assert row.status == "pending" and row.last_error.startswith("repair run 7001: 429")
    assert (row.next_attempt_at - timezone.now()).total_seconds() > 3
    found.refresh_from_db()
    assert found.status == "running"
    databricks.clear_faults()
    run_pending(ticket.pk, rounds=1)
    found.refresh_from_db()
    assert found.external_run_id == "5000"


def test_a_repair_throttled_for_long_holds_no_worker_for_that_long(databricks):
    """The SDK sleeps a 429's Retry-After before it looks at its own deadline: Databricks
    asking for 20 s (an hour, in earnest) held the worker that long. It is waited by the
    engine, the worker free (the SDK's sleeps end at its retry deadline)."""
    make_policy(action="databricks_repair", signals=["driver is unreachable"])
    ticket = _databricks_ticket(databricks)
    proposed(ticket.pk)
    databricks.throttle(20, times=None, path_contains="/jobs/runs/repair")

    started = time.monotonic()
    (row,) = run_pending(ticket.pk, rounds=1)

    assert time.monotonic() - started < 10
    assert row.status == "pending" and row.last_error.startswith("repair run 7001: 429")
    assert (row.next_attempt_at - timezone.now()).total_seconds() > 15


def test_a_repair_throttled_past_the_calendar_is_tried_again_within_a_day(databricks):
    make_policy(action="databricks_repair", signals=["driver is unreachable"])
    ticket = _databricks_ticket(databricks)
    proposed(ticket.pk)
    databricks.throttle(10**12, times=None, path_contains="/jobs/runs/repair")

    (row,) = run_pending(ticket.pk, rounds=1)

    assert row.status == "pending" and row.last_error.startswith("repair run 7001: 429")
    assert row.next_attempt_at <= timezone.now() + timedelta(days=1)


def test_a_repair_refused_as_unavailable_is_sent_again(databricks):
    make_policy(action="databricks_repair", signals=["driver is unreachable"])
    ticket = _databricks_ticket(databricks)
    databricks.fail(503, databricks.error_body(503, "try later"), path_contains="/repair")
    found = proposed(ticket.pk)

    run_pending(ticket.pk, rounds=2)

    assert len(databricks.requests_to("/jobs/runs/repair")) == 2
    found.refresh_from_db()
    assert found.status == "running" and found.external_run_id == "5000"


def test_a_watch_that_gets_no_answer_for_a_while_keeps_watching(databricks, settings):
    """Databricks answers the watch's looks with 500s for longer than the engine retries a
    delivery: the repair runs on, so the watch looks again (no failure told, no second
    repair proposed beside it) and sees it succeed."""
    settings.OUTBOUND_MAX_ATTEMPTS = 3
    make_policy(action="databricks_repair", signals=["driver is unreachable"])
    ticket = _databricks_ticket(databricks)
    found = proposed(ticket.pk)
    run_pending(ticket.pk, rounds=2)  # the repair, and a first look: running
    databricks.fail(500, databricks.error_body(500, "down"), times=5, path_contains="/runs/get")

    rows = run_pending(ticket.pk, rounds=6)

    assert "dead" not in {r.status for r in rows}
    found.refresh_from_db()
    assert found.status == "running"
    databricks.finish_repair(7001, "SUCCESS")
    run_pending(ticket.pk)
    found.refresh_from_db()
    assert found.status == "succeeded"
    assert len(databricks.requests_to("/jobs/runs/repair")) == 1


def test_a_watch_without_answers_until_its_deadline_says_what_it_last_got(databricks, settings):
    make_policy(action="databricks_repair", signals=["driver is unreachable"])
    ticket = _databricks_ticket(databricks)
    found = proposed(ticket.pk)
    run_pending(ticket.pk, rounds=1)  # the repair
    databricks.fail(500, databricks.error_body(500, "down"), times=None, path_contains="/get")
    settings.REMEDIATION_WATCH_SECONDS = 0

    run_pending(ticket.pk)

    found.refresh_from_db()
    assert found.status == "failed"
    assert found.reason == (
        "no result within 0 s (last look: get run 7001: 500 down); " + remediation.WATCH_TIMED_OUT
    )


def test_a_repair_the_platform_refuses_fails_the_remediation_at_once_with_its_error(databricks):
    make_policy(action="databricks_repair", signals=["driver is unreachable"])
    ticket = _databricks_ticket(databricks)
    refusal = "Run 7001 cannot be repaired: its job was deleted"
    databricks.fail(400, databricks.error_body(400, refusal), path_contains="/jobs/runs/repair")
    found = proposed(ticket.pk)

    (row,) = run_pending(ticket.pk)

    assert row.status == "dead"
    found.refresh_from_db()
    assert found.status == "failed" and found.finished_at is not None
    assert found.reason.startswith("the action failed: repair run 7001: 400")
    assert refusal in found.reason
    assert Ticket.objects.get(pk=ticket.pk).remediation_status == "failed"
    assert AuditLog.objects.filter(ticket=ticket, action="remediation failed").exists()
    assert remediation.sweep() == 0  # nothing left for beat


def test_a_long_repair_refusal_cut_inside_a_url_password_keeps_none_of_it(databricks):
    """A refusal's message is kept to its first 300 characters. Cut before it was redacted, a
    URL's password cut before its `@host` was kept in the remediation's reason and the
    delivery's errors: no rule knows `postgresql://etl:<start of a password>` as one."""
    make_policy(action="databricks_repair", signals=["driver is unreachable"])
    ticket = _databricks_ticket(databricks)
    password = f"Pw{uuid.uuid4().hex[:8]}Planted"
    start = "Run 7001 cannot be repaired: its init script failed to reach " * 6
    refusal = (
        start[: 300 - len("postgresql://etl:") - 9]
        + f" postgresql://etl:{password}@db01.example.com:5432/sales"
    )
    assert refusal[:300].endswith(password[:8])
    databricks.fail(400, databricks.error_body(400, refusal), path_contains="/jobs/runs/repair")
    found = proposed(ticket.pk)

    (row,) = run_pending(ticket.pk)

    assert row.status == "dead"
    found.refresh_from_db()
    assert found.status == "failed" and "cannot be repaired" in found.reason
    kept = [
        found.reason,
        json.dumps(list(AuditLog.objects.filter(ticket=ticket).values()), default=str),
        json.dumps(list(OutboundDelivery.objects.filter(ticket=ticket).values()), default=str),
        json.dumps(list(DeliveryAttempt.objects.filter(outbound=row).values()), default=str),
    ]
    for text in kept:
        assert password[:6] not in text


@pytest.mark.django_db(transaction=True)
def test_a_databricks_repair_whose_worker_was_killed_after_sending_it_is_followed_as_its_own(
    databricks, settings
):
    """The worker died while Databricks took the repair: the redelivery read the run being
    repaired and ended skipped, "run 7001 is being repaired (repair 5000), none of its tasks
    failed now: no repair was sent beside it", its own repair named as another's. It follows
    that repair, whose end ends the remediation."""
    settings.OUTBOUND_TIMEOUT_SECONDS = 30
    make_policy(action="databricks_repair", signals=["driver is unreachable"])
    ticket = _databricks_ticket(databricks)
    started = proposed(ticket.pk)
    row = OutboundDelivery.objects.get(ticket=ticket, target="databricks_repair")

    killed_while_starting(databricks, row, "/jobs/runs/repair")
    wait_for(lambda: databricks.runs[7001].get("repair_history"))
    redelivered(row)

    assert len(databricks.requests_to("/jobs/runs/repair")) == 1
    started.refresh_from_db()
    assert (started.status, started.external_run_id) == ("running", "5000"), started.reason
    databricks.finish_repair(7001, "FAILED", "Spark driver died again")
    run_pending(ticket.pk)

    started.refresh_from_db()
    assert started.status == "failed"
    assert started.reason.startswith("repair 5000 ended FAILED")
    assert len(databricks.requests_to("/jobs/runs/repair")) == 1


@pytest.mark.django_db(transaction=True)
def test_a_cluster_restart_whose_worker_was_killed_after_sending_it_is_not_sent_again(
    databricks, settings
):
    """The worker died while Databricks took the cluster's restart, before the repair: the
    note that it was restarted was rolled back with the attempt, and the redelivery restarted
    the cluster a second time (whatever ran on it by then killed again). The restart sent is
    remembered as the repair's start is: the redelivery sends the repair alone."""
    settings.OUTBOUND_TIMEOUT_SECONDS = 30
    make_policy(action="databricks_restart", signals=["driver is unreachable"])
    ticket = _databricks_ticket(databricks)
    started = proposed(ticket.pk)
    row = OutboundDelivery.objects.get(ticket=ticket, target="databricks_repair")

    killed_while_starting(databricks, row, "/clusters/restart")
    wait_for(lambda: databricks.restarted)
    redelivered(row)

    assert databricks.restarted == ["0923-164208-meows279"]
    assert len(databricks.requests_to("/jobs/runs/repair")) == 1
    started.refresh_from_db()
    assert (started.status, started.external_run_id) == ("running", "5000"), started.reason
    assert started.details["restarted_clusters"] == ["0923-164208-meows279"]


@pytest.mark.django_db(transaction=True)
def test_a_databricks_repair_whose_worker_was_killed_is_followed_once_its_failure_arrived(
    databricks, settings, webhook_client
):
    """The worker died while Databricks took the repair, and the repair's failure
    notification reached the service before the redelivery (seconds against the
    redelivery's minutes), counted on the ticket as the failure of repair 5000: the ticket's
    failure was now later than the repair, the redelivery took the run for one no repair was
    made of since, and repaired it a second time. The repairs looked for are those since the
    ticket's failure as the remediation started."""
    settings.OUTBOUND_TIMEOUT_SECONDS = 30
    settings.GEMINI_API_KEY = ""
    settings.DATABRICKS_WORKSPACE_ID = "1"
    _databricks_ticket(databricks).delete()  # its run alone: the ticket is the webhook's

    def notified() -> WebhookDelivery:
        notification = {
            "event_type": "jobs.on_failure",
            "workspace_id": "1",
            "run": {"run_id": "7001"},
            "job": {"job_id": "11223344", "name": "nightly-etl"},
        }
        answer = webhook_client("/webhooks/databricks/", notification).json()
        delivery = WebhookDelivery.objects.get(tracking_id=answer["tracking_id"])
        processing.process_delivery(delivery.pk)
        delivery.refresh_from_db()
        return delivery

    ticket = Ticket.objects.get(pk=notified().ticket_id)
    # The notification carries no error text: the rule-based analysis is not sure of it.
    make_policy(
        action="databricks_repair", signals=[], auto_min_confidence=0.0, approval_min_confidence=0.0
    )
    started = proposed(ticket.pk)
    row = OutboundDelivery.objects.get(ticket=ticket, target="databricks_repair")

    killed_while_starting(databricks, row, "/jobs/runs/repair")
    wait_for(lambda: databricks.runs[7001].get("repair_history"))
    databricks.finish_repair(7001, "FAILED", "Spark driver died again")
    repaired = notified()
    assert (repaired.outcome, repaired.ticket_id) == ("correlated", ticket.pk)
    assert repaired.event["details"]["repair_id"] == 5000
    redelivered(row)
    run_pending(ticket.pk)

    assert len(databricks.requests_to("/jobs/runs/repair")) == 1
    started.refresh_from_db()
    assert (started.status, started.external_run_id) == ("failed", "5000"), started.reason
    assert started.reason.startswith("repair 5000 ended FAILED")


# A storage account key as a refusal quotes the cluster's Spark configuration back.
ACCOUNT_KEY = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdEFGH+/=="


@pytest.mark.parametrize(("status", "left"), [(400, "dead"), (503, "pending")])
def test_a_refusal_quoting_a_secret_is_kept_redacted(databricks, settings, status, left):
    """The delivery's `last_error` and its attempts' errors kept the service's own words as
    they came (the remediation's reason was redacted, the dead letter beside it was not): a
    secret the service echoed showed in admin and in the API's deliveries to every viewer."""
    settings.OUTBOUND_TIMEOUT_SECONDS = 1  # the SDK's own retries of a 503 end after it
    make_policy(action="databricks_repair", signals=["driver is unreachable"])
    ticket = _databricks_ticket(databricks)
    refusal = (
        "Invalid spark_conf: fs.azure.account.key.lake.dfs.core.windows.net="
        f"{ACCOUNT_KEY} is not allowed"
    )
    databricks.fail(
        status, databricks.error_body(status, refusal), path_contains="/repair", times=None
    )
    found = proposed(ticket.pk)

    row = OutboundDelivery.objects.get(ticket=ticket, target="databricks_repair")
    fanout.deliver(row.pk)

    row.refresh_from_db()
    assert row.status == left
    assert "fs.azure.account.key.lake.dfs.core.windows.net=[REDACTED]" in row.last_error
    errors = [row.last_error, *row.tries.values_list("error", flat=True)]
    assert all(error and ACCOUNT_KEY not in error for error in errors), errors
    found.refresh_from_db()
    assert ACCOUNT_KEY not in found.reason


def test_databricks_wrong_token_dead_letters_without_the_token(settings, databricks):
    settings.DATABRICKS_TOKEN = "dapi-wrong-token-0123456789"
    make_policy(action="databricks_repair", signals=["driver is unreachable"])
    ticket = _databricks_ticket(databricks)
    proposed(ticket.pk)
    (row,) = run_pending(ticket.pk)
    assert row.status == "dead" and "403" in row.last_error
    assert "dapi-wrong-token" not in row.last_error
    assert not [r for r in databricks.requests if r.path.endswith("/repair")]


@pytest.mark.django_db(transaction=True)
def test_adf_rerun_of_a_run_an_azure_alert_reported_again_still_knows_the_run(arm, webhook_client):
    """The ADF webhook opens the ticket of run X; the Log Analytics alert on ADF failures
    reports the same run X, counted on the ticket. The alert names the workspace it queried,
    not the run: the rerun is still of run X in its factory's resource group (it had no run id
    and the workspace's group)."""
    from pathlib import Path

    from django.contrib.auth.models import User

    from integrations import processing
    from integrations.models import WebhookDelivery
    from tests.conftest import local_payload
    from tickets.lifecycle import Actor

    alert = json.loads(
        (Path(__file__).parents[1] / "payloads/azure/adf_log_v2_pipeline_run.json").read_text()
    )
    essentials = alert["data"]["essentials"]
    essentials["alertId"] = essentials["alertId"].rsplit("/", 1)[0] + f"/{uuid.uuid4()}"
    dimensions = {
        d["name"]: d for d in alert["data"]["alertContext"]["condition"]["allOf"][0]["dimensions"]
    }
    run_id = str(uuid.uuid4())
    dimensions["PipelineRunId"]["value"] = run_id
    make_policy(action="adf_rerun", mode="approval", approval_min_confidence=0.0)
    body = local_payload("adf_failure.json")
    body.update(
        run_id=run_id,
        pipeline=dimensions["PipelineName"]["value"],
        factory="adf-sales-prod",
        subscription_id=arm.subscription_id,
        resource_group="rg-data",
        error_message="ErrorCode=2200 The connection timed out: connection reset by peer",
    )
    first = webhook_client("/webhooks/adf/", body).json()
    processing.process_delivery(WebhookDelivery.objects.get(tracking_id=first["tracking_id"]).pk)
    pending = Remediation.objects.get(ticket_id=first["ticket_id"])
    assert pending.status == "awaiting_approval"
    again = webhook_client("/webhooks/azure-monitor/", alert).json()
    assert again["ticket_id"] == first["ticket_id"]
    arm.add_pipeline_run("rg-data", "adf-sales-prod", adf_pipeline_run(run_id, body["pipeline"]))

    remediation.approve(pending.pk, Actor.for_user(User.objects.create_user("daan")), via="api")
    ticket = Ticket.objects.get(pk=first["ticket_id"])
    adf = AdfTransport(StaticTokenCredential(), arm.subscription_id, base_url=arm.url, timeout=3)
    _adf_step(adf, ticket)

    (create,) = arm.requests_to("/createRun")
    assert "/resourceGroups/rg-data/" in create.path
    assert create.param("referencePipelineRunId") == run_id


# --- when no next attempt follows ----------------------------------------------------------------


def _retry_in_admin(client: Any, pk: int) -> list[str]:
    """The messages of admin's Retry action on remediation `pk` (`client` signed in)."""
    answer = client.post(
        "/admin/integrations/remediation/",
        {"action": "retry", "_selected_action": [pk]},
        follow=True,
    )
    return [str(m) for m in answer.context["messages"]]


def _no_next_attempt_after(ticket: Ticket) -> None:
    """The failed attempt's backoff is over, and neither a proposal nor beat's sweep makes
    another: one remediation of the ticket, failed."""
    Remediation.objects.filter(ticket=ticket).update(
        finished_at=timezone.now() - timedelta(minutes=5)
    )
    assert remediation.propose(ticket.pk) is None
    assert remediation.sweep() == 0
    assert [r.status for r in Remediation.objects.filter(ticket=ticket)] == ["failed"]


def test_databricks_refusing_our_token_stops_the_attempts_and_says_why(settings, databricks):
    """A 403 for the service's own token will not heal by retrying: the policy's other
    attempts are not made, and the remediation, the Slack thread and JIRA say why."""
    with FakeJira() as jira, FakeSlack() as slack:
        settings.JIRA_URL, settings.JIRA_USER = jira.url, jira.user
        settings.JIRA_API_TOKEN = jira.token
        settings.SLACK_BOT_TOKEN, settings.SLACK_BASE_URL = slack.token, slack.base_url
        for name in ("jira", "slack"):
            CircuitBreaker(name).reset()
        settings.DATABRICKS_TOKEN = "dapi-wrong-token-0123456789"
        make_policy(
            action="databricks_repair",
            signals=["driver is unreachable"],
            max_attempts=3,
            backoff_seconds=0,
        )
        ticket = _databricks_ticket(databricks)
        ticket.slack_ts = ticket.slack_channel = ticket.itsm_ticket_id = ""
        ticket.save(update_fields=["slack_ts", "slack_channel", "itsm_ticket_id"])
        fanout.schedule_initial(ticket.pk)
        for row in OutboundDelivery.objects.filter(ticket=ticket):
            fanout.deliver(row.pk)

        proposed(ticket.pk)
        run_pending(ticket.pk)
        for row in OutboundDelivery.objects.filter(ticket=ticket, status="pending"):
            fanout.deliver(row.pk)

        found = Remediation.objects.get(ticket=ticket)
        assert found.status == "failed" and "403" in found.reason
        assert "refused our credentials (403)" in found.reason
        assert "no further attempt" in found.reason
        ticket.refresh_from_db()
        thread = [m["text"] for m in slack.thread(ticket.slack_channel, ticket.slack_ts)]
        assert any("refused our credentials (403)" in t for t in thread)
        comments = [str(c) for c in jira.issues[ticket.itsm_ticket_id]["comments"]]
        assert any("refused our credentials (403)" in c for c in comments)
        _no_next_attempt_after(ticket)
        assert len([r for r in databricks.requests if r.path.endswith("/repair")]) == 0


def _repair_refused_for_our_token(
    settings: Any, databricks: FakeDatabricks, max_attempts: int = 3
) -> tuple[Ticket, Remediation]:
    """Databricks refused our token for run 7001's repair (the last attempt at its run, no
    repair sent); the token is fixed since."""
    settings.DATABRICKS_TOKEN = "dapi-wrong-token-0123456789"
    make_policy(
        action="databricks_repair",
        signals=["driver is unreachable"],
        max_attempts=max_attempts,
        backoff_seconds=0,
    )
    ticket = _databricks_ticket(databricks)
    refused = proposed(ticket.pk)
    run_pending(ticket.pk)
    refused.refresh_from_db()
    assert refused.status == "failed" and "refused our credentials (403)" in refused.reason
    settings.DATABRICKS_TOKEN = databricks.token
    return ticket, refused


def test_people_retry_a_remediation_whose_credentials_were_refused_once_they_are_fixed(
    settings, databricks
):
    """Databricks refused our token: no further attempt follows by itself. Once the token is
    fixed, a responder retries it through the API (a viewer may not): the repair runs, and
    resolves the ticket. The one retried is retried no more."""
    ticket, refused = _repair_refused_for_our_token(settings, databricks)
    url = f"/api/v1/tickets/{ticket.pk}/remediation/retry/"
    assert jwt_client(make_user("viewer")).post(url).status_code == 403

    responder = jwt_client(make_user("responder"))
    answer = responder.post(url, {"note": "token rotated"}, format="json")

    assert answer.status_code == 200, answer.content
    assert answer.json()["remediation_status"] == "running"
    again = Remediation.objects.exclude(pk=refused.pk).get(ticket=ticket)
    assert (again.action, again.run_key, again.decided_via) == (
        "databricks_repair",
        "databricks:1:7001",
        "api",
    )
    assert again.reason.endswith("via api: token rotated")
    assert AuditLog.objects.filter(ticket=ticket, action="remediation retried").exists()
    run_pending(ticket.pk)
    databricks.finish_repair(7001, "SUCCESS")
    run_pending(ticket.pk)
    again.refresh_from_db()
    assert again.status == "succeeded"
    assert Ticket.objects.get(pk=ticket.pk).status == "resolved"

    twice = responder.post(url)
    assert twice.status_code == 409 and "was not retried" in twice.json()["error"]
    assert Remediation.objects.filter(ticket=ticket).count() == 2


def test_only_a_failed_last_attempt_is_retried_in_admin(client, databricks):
    """A failure the policy's next attempt follows is not retried by people (the policy makes
    it): the admin says why and changes nothing; a watch that timed out is retried."""
    admin = User.objects.create_superuser("boss", password="pw-for-tests-only")
    client.force_login(admin)
    make_policy(
        action="databricks_repair",
        signals=["driver is unreachable"],
        max_attempts=3,
        backoff_seconds=0,
    )
    ticket = _databricks_ticket(databricks)
    first = proposed(ticket.pk)
    remediation.finish(first.pk, succeeded=False, detail="the repair failed")

    said = _retry_in_admin(client, first.pk)
    assert any("only a failed last attempt" in m for m in said), said
    assert Remediation.objects.filter(ticket=ticket).count() == 1

    Remediation.objects.filter(pk=first.pk).update(
        finished_at=timezone.now() - timedelta(minutes=5)
    )
    second = proposed(ticket.pk)
    remediation.finish(
        second.pk,
        succeeded=False,
        detail="no result within 14400 s",
        no_next_attempt=remediation.WATCH_TIMED_OUT,
    )
    assert remediation.propose(ticket.pk) is None
    assert _retry_in_admin(client, second.pk) == ["1 remediation(s) retried."]
    third = Remediation.objects.get(ticket=ticket, attempt_number=3)
    assert (third.status, third.decided_by, third.decided_via) == ("running", "boss", "admin")


# How people switch a remediation's policy off since it was proposed, and what a refusal then
# says ('{name}': the policy's).
POLICY_SWITCHED_OFF = [
    ({"enabled": False}, "its policy '{name}' is disabled"),
    ({"mode": "never"}, "its policy '{name}' is set to never"),
    (None, "its policy was deleted"),
    (
        {"action": "databricks_restart"},
        "its policy '{name}' now runs 'Restart the Databricks cluster, then repair the run', "
        "not 'Repair the Databricks run's failed tasks'",
    ),
]


def _switch_policy_off(switched_off: dict[str, Any] | None, why: str) -> str:
    """Switch the one policy off as `switched_off` says (None: delete it); `why` for it."""
    name = RemediationPolicy.objects.get().name
    if switched_off is None:
        RemediationPolicy.objects.all().delete()
    else:
        RemediationPolicy.objects.update(**switched_off)
    return why.format(name=name)


@pytest.mark.parametrize(("switched_off", "why"), POLICY_SWITCHED_OFF)
def test_a_retry_under_a_policy_switched_off_since_is_refused_saying_why(
    client, settings, databricks, switched_off, why
):
    """The policy of a repair refused for our token was disabled since (or set to never, or
    deleted): people who fixed the token rerun nothing. The API answers 409 naming why, admin
    warns with it, and the dashboard offers no Retry."""
    ticket, refused = _repair_refused_for_our_token(settings, databricks)
    why = _switch_policy_off(switched_off, why)

    url = f"/api/v1/tickets/{ticket.pk}/remediation/retry/"
    answer = jwt_client(make_user("responder")).post(url)
    assert answer.status_code == 409
    assert answer.json()["error"] == f"remediation {refused.pk} was not retried: {why}"
    client.force_login(make_user("superuser"))
    said = client.post(
        "/admin/integrations/remediation/",
        {"action": "retry", "_selected_action": [refused.pk]},
        follow=True,
    )
    assert any(why in str(m) for m in said.context["messages"])
    assert 'value="retry"' not in client.get(f"/tickets/{ticket.pk}/").content.decode()
    run_pending(ticket.pk)
    assert list(Remediation.objects.filter(ticket=ticket)) == [refused]
    assert databricks.requests_to("/jobs/runs/repair") == []


def test_a_retry_under_a_policy_in_dry_run_records_what_it_would_have_run(
    client, settings, databricks
):
    """The policy went to dry run since: a retry is recorded as a proposal in dry run is
    (skipped, "dry run: would have run …"; the dashboard says so) and repairs nothing. The
    failed attempt is still the one to retry, and once the policy runs for real again, the
    retry repairs the run."""
    ticket, refused = _repair_refused_for_our_token(settings, databricks)
    RemediationPolicy.objects.update(name="retry-policy", dry_run=True)
    url = f"/api/v1/tickets/{ticket.pk}/remediation/retry/"
    responder = make_user("responder")
    api = jwt_client(responder)

    answer = api.post(url, {"note": "token rotated"}, format="json")

    assert answer.status_code == 200, answer.content
    assert answer.json()["remediation_status"] == "skipped"
    dry = Remediation.objects.exclude(pk=refused.pk).get(ticket=ticket)
    assert (dry.status, dry.dry_run, dry.decided_via) == ("skipped", True, "api")
    assert dry.reason == (
        "dry run: would have run 'Repair the Databricks run's failed tasks' (policy "
        f"'retry-policy'; retried by {responder.username} via api: token rotated)"
    )
    assert AuditLog.objects.filter(ticket=ticket, action="remediation retried (dry run)").exists()
    assert remediation.retryable(Ticket.objects.get(pk=ticket.pk)) == refused
    client.force_login(responder)
    click = {"decision": "retry", "remediation": refused.pk}
    page = client.post(f"/tickets/{ticket.pk}/remediation/", click, follow=True)
    assert "Nothing was run: dry run: would have run" in page.content.decode()
    assert Remediation.objects.filter(ticket=ticket, dry_run=True).count() == 2
    run_pending(ticket.pk)
    assert databricks.requests_to("/jobs/runs/repair") == []

    RemediationPolicy.objects.update(dry_run=False)
    answer = api.post(url)
    assert answer.status_code == 200, answer.content
    assert answer.json()["remediation_status"] == "running"
    run_pending(ticket.pk)
    assert [r.body["run_id"] for r in databricks.requests_to("/jobs/runs/repair")] == [7001]


def test_a_newer_run_failing_after_a_retry_in_dry_run_is_proposed(settings, databricks):
    """A retry recorded as a dry run decided nothing for the ticket: a newer run failing
    once the policy runs for real again is proposed at once, as after the failed attempt."""
    ticket, refused = _repair_refused_for_our_token(settings, databricks)
    RemediationPolicy.objects.update(dry_run=True)
    remediation.retry(refused.pk, Actor.for_user(make_user("responder")), via="admin")
    RemediationPolicy.objects.update(dry_run=False)

    _newer_databricks_run_fails(databricks, ticket, 7101)

    newer = proposed(ticket.pk)
    assert (newer.run_key, newer.status) == ("databricks:1:7101", "running")


def _repair_awaiting_approval(
    databricks: FakeDatabricks, paged: Callable[[Ticket], object] | None = None
) -> tuple[Ticket, Remediation]:
    """Run 7001's repair awaits approval under the policy 'approval-policy'. `paged`: called
    with the ticket before the repair was proposed (its own alert is posted then)."""
    make_policy(
        name="approval-policy",
        action="databricks_repair",
        mode="approval",
        signals=["driver is unreachable"],
    )
    ticket = _databricks_ticket(databricks)
    if paged is not None:
        paged(ticket)
    pending = proposed(ticket.pk)
    assert pending.status == "awaiting_approval"
    return ticket, pending


def _approve_in_a_thread(pk: int) -> str:
    """The system's approval of remediation `pk`, run in a thread of its own (its connection
    closed after): "approved", or why it was refused."""
    from django.db import connections

    try:
        remediation.approve(pk, Actor.system("test"), via="api")
    except remediation.RemediationError as exc:
        return str(exc)
    finally:
        connections.close_all()
    return "approved"


@pytest.mark.django_db(transaction=True)
def test_an_approval_while_people_switch_the_policy_off_waits_and_is_refused(databricks):
    """The policy is being disabled as the approval comes (not committed yet): the approval
    waits for that change and is refused by it, not started on the policy as it was read."""
    from tests.conftest import while_held

    _, pending = _repair_awaiting_approval(databricks)

    answer, waited = while_held(
        lambda: RemediationPolicy.objects.update(enabled=False),
        lambda: _approve_in_a_thread(pending.pk),
    )

    assert waited
    assert answer == (
        f"remediation {pending.pk} was not approved: its policy 'approval-policy' is disabled"
    )
    assert Remediation.objects.get(pk=pending.pk).status == "awaiting_approval"
    assert databricks.requests_to("/jobs/runs/repair") == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["retry", "release"])
def test_a_retry_or_a_release_while_people_switch_the_policy_off_waits_and_skips_it(
    settings, databricks, path
):
    """The policy is being disabled (not committed yet) as people retry a repair refused for
    our token, or as the culprit's recovery releases a held one: each waits for that change
    and is stopped by it, as an approval is, not started on the policy as it was read."""
    from django.db import connections

    from tests.conftest import while_held

    if path == "retry":
        ticket, last = _repair_refused_for_our_token(settings, databricks)
    else:
        ticket, last = _repair_held_behind_an_incident(databricks)
    name = RemediationPolicy.objects.get().name

    def act() -> str:
        try:
            if path == "retry":
                remediation.retry(last.pk, Actor.system("test"), via="api")
            else:
                remediation.release_held([ticket.pk])
        except remediation.RemediationError as exc:
            return str(exc)
        finally:
            connections.close_all()
        return "done"

    answer, waited = while_held(lambda: RemediationPolicy.objects.update(enabled=False), act)

    assert waited
    run_pending(ticket.pk)
    last.refresh_from_db()
    if path == "retry":
        assert answer == f"remediation {last.pk} was not retried: its policy '{name}' is disabled"
        assert Remediation.objects.filter(ticket=ticket).count() == 1
    else:
        assert (last.status, last.reason) == ("skipped", f"its policy '{name}' is disabled")
    assert databricks.requests_to("/jobs/runs/repair") == []


@pytest.mark.parametrize(("switched_off", "why"), POLICY_SWITCHED_OFF)
def test_an_approval_under_a_policy_switched_off_since_is_refused_saying_why(
    client, databricks, switched_off, why
):
    """The repair's policy was disabled (set to never, deleted) after it was proposed: people
    switched that remediation off, and approving it repairs nothing. The API answers 409
    naming why, admin warns with it, the dashboard says it; the remediation still awaits a
    decision (a decline is taken)."""
    ticket, pending = _repair_awaiting_approval(databricks)
    why = _switch_policy_off(switched_off, why)
    refusal = f"remediation {pending.pk} was not approved: {why}"

    answer = jwt_client(make_user("responder")).post(
        f"/api/v1/tickets/{ticket.pk}/remediation/approve/"
    )

    assert answer.status_code == 409
    assert answer.json()["error"] == refusal
    client.force_login(make_user("superuser"))
    said = client.post(
        "/admin/integrations/remediation/",
        {"action": "approve", "_selected_action": [pending.pk]},
        follow=True,
    )
    assert refusal in [str(m) for m in said.context["messages"]]
    click = {"decision": "approve", "remediation": pending.pk}
    page = client.post(f"/tickets/{ticket.pk}/remediation/", click, follow=True)
    assert f"Not done: {refusal}." in [str(m) for m in page.context["messages"]]
    run_pending(ticket.pk)
    pending.refresh_from_db()
    assert (pending.status, pending.decided_by) == ("awaiting_approval", "")
    assert not AuditLog.objects.filter(ticket=ticket, action="remediation approved").exists()
    assert databricks.requests_to("/jobs/runs/repair") == []
    declined = remediation.decline(pending.pk, Actor.system("test"), via="api")
    assert declined.status == "declined"


@pytest.mark.parametrize("via", ["api", "admin", "dashboard"])
def test_an_approval_under_a_policy_in_dry_run_records_what_it_would_have_run(
    client, databricks, via
):
    """The policy went to dry run after the repair was proposed: approving it is recorded as a
    proposal in dry run is (skipped, "dry run: would have run …"), said so, and repairs
    nothing."""
    ticket, pending = _repair_awaiting_approval(databricks)
    RemediationPolicy.objects.update(dry_run=True)
    user = make_user("superuser")
    would = "dry run: would have run 'Repair the Databricks run's failed tasks' (policy "
    would += f"'approval-policy'; approved by {user.username} via {via}"

    if via == "api":
        url = f"/api/v1/tickets/{ticket.pk}/remediation/approve/"
        answer = jwt_client(user).post(url, {"note": "go"}, format="json")
        assert answer.status_code == 200, answer.content
        assert answer.json()["remediation_status"] == "skipped"
        would += ": go"
    elif via == "admin":
        client.force_login(user)
        said = client.post(
            "/admin/integrations/remediation/",
            {"action": "approve", "_selected_action": [pending.pk]},
            follow=True,
        )
        assert [str(m) for m in said.context["messages"]] == [
            f"remediation {pending.pk}: nothing was run, {would})",
            "0 remediation(s) approved.",
        ]
    else:
        client.force_login(user)
        click = {"decision": "approve", "remediation": pending.pk}
        page = client.post(f"/tickets/{ticket.pk}/remediation/", click, follow=True)
        assert [str(m) for m in page.context["messages"]] == [f"Nothing was run: {would})."]

    run_pending(ticket.pk)
    pending.refresh_from_db()
    assert (pending.status, pending.dry_run, pending.decided_via) == ("skipped", True, via)
    assert pending.reason == would + ")"
    assert Ticket.objects.get(pk=ticket.pk).remediation_status == "skipped"
    assert AuditLog.objects.filter(ticket=ticket, action="remediation skipped").exists()
    assert databricks.requests_to("/jobs/runs/repair") == []


def _repair_held_behind_an_incident(
    databricks: FakeDatabricks, paged: Callable[[Ticket], object] | None = None
) -> tuple[Ticket, Remediation]:
    """Run 7001's automatic repair is held: its ticket is a member of an open incident whose
    culprit is still failing (the incidents feature's hold). `paged`: called with the ticket
    before it joined the incident (its own alert is posted then)."""
    make_policy(name="auto-policy", action="databricks_repair", signals=["driver is unreachable"])
    incident = Incident.objects.create(
        id=new_incident_id(), group_key="cluster:0101-abc", culprit="cluster:0101-abc"
    )
    ticket = _databricks_ticket(databricks)
    if paged is not None:
        paged(ticket)
    Ticket.objects.filter(pk=ticket.pk).update(incident=incident)
    held = proposed(ticket.pk)
    assert held.status == "held" and incident.pk in held.reason
    return ticket, held


@pytest.mark.parametrize(
    ("switched_off", "why"),
    [
        *POLICY_SWITCHED_OFF,
        (
            {"dry_run": True},
            "dry run: would have run 'Repair the Databricks run's failed tasks' "
            "(policy '{name}'; released from its hold)",
        ),
        (
            {"mode": "approval", "dry_run": True},
            "dry run: would have asked 'Repair the Databricks run's failed tasks' "
            "(policy '{name}'; released from its hold)",
        ),
        ({"approval_min_confidence": 0.95}, "confidence 0.90 is below 0.95 (policy '{name}')"),
        (
            {"signals": ["quota exceeded"]},
            "its policy '{name}' no longer covers the ticket: its error message contains none "
            "of the policy's signals",
        ),
        (
            {"pipeline_glob": "hourly-*"},
            "its policy '{name}' no longer covers the ticket: its pipeline nightly-etl does not "
            "match 'hourly-*'",
        ),
        (
            {"sources": ["adf"]},
            "its policy '{name}' no longer covers the ticket: its source databricks is not one "
            "of the policy's",
        ),
    ],
)
def test_a_held_remediation_whose_policy_was_switched_off_is_skipped_on_release(
    databricks, switched_off, why
):
    """The policy of a repair held behind an incident was disabled (set to never, deleted,
    put in dry run, set to another action, its approval threshold raised above the repair's
    confidence, its signals, pipeline glob or sources changed so that it no longer covers the
    ticket) while it was held: the culprit's recovery releases it, and it is skipped saying
    why (in dry run: what it would have done), running nothing."""
    ticket, held = _repair_held_behind_an_incident(databricks)
    why = _switch_policy_off(switched_off, why)

    group = remediation.release_held([ticket.pk])

    run_pending(ticket.pk)
    held.refresh_from_db()
    assert (held.status, held.reason, held.release_group) == ("skipped", why, group)
    assert held.dry_run == bool(switched_off and switched_off.get("dry_run"))
    assert held.finished_at is not None
    assert Ticket.objects.get(pk=ticket.pk).remediation_status == "skipped"
    entry = AuditLog.objects.get(ticket=ticket, action="remediation skipped")
    assert entry.details["reason"] == why
    assert databricks.requests_to("/jobs/runs/repair") == []


def test_a_held_remediation_whose_policy_is_still_on_runs_on_release(databricks):
    ticket, held = _repair_held_behind_an_incident(databricks)

    remediation.release_held([ticket.pk])

    run_pending(ticket.pk)
    held.refresh_from_db()
    assert held.status == "running"
    assert [r.body["run_id"] for r in databricks.requests_to("/jobs/runs/repair")] == [7001]


def _slack_alert_posted(settings: Any, slack: FakeSlack, ticket: Ticket) -> None:
    settings.SLACK_BOT_TOKEN, settings.SLACK_BASE_URL = slack.token, slack.base_url
    CircuitBreaker("slack").reset()
    fanout.schedule_initial(ticket.pk)
    _deliver_slack(ticket)


def _deliver_slack(ticket: Ticket) -> None:
    for row in OutboundDelivery.objects.filter(ticket=ticket, target="slack", status="pending"):
        fanout.deliver(row.pk)


def _decision_buttons(slack: FakeSlack, ticket: Ticket) -> list[str]:
    from integrations.targets.slack import SLACK_APPROVE_ACTION, SLACK_DECLINE_ACTION

    ticket.refresh_from_db()
    return [
        element["action_id"]
        for block in slack.messages[(ticket.slack_channel, ticket.slack_ts)].get("blocks") or []
        if block.get("type") == "actions"
        for element in block["elements"]
        if element["action_id"] in (SLACK_APPROVE_ACTION, SLACK_DECLINE_ACTION)
    ]


@pytest.mark.parametrize(
    "changed", [{"mode": "approval"}, {"auto_min_confidence": 0.95}], ids=["mode", "threshold"]
)
def test_a_held_automatic_remediation_whose_policy_now_asks_for_approval_awaits_it(
    settings, databricks, changed
):
    """The policy of an automatic repair held behind an incident was set to approval (or its
    automatic threshold raised above the repair's confidence) while it was held: released,
    it is not run but awaits approval, announced as a proposal under such a policy is (the
    Slack alert offers Approve / Decline); approved, it repairs the run."""
    with FakeSlack() as slack:
        ticket, held = _repair_held_behind_an_incident(
            databricks, lambda ticket: _slack_alert_posted(settings, slack, ticket)
        )
        RemediationPolicy.objects.update(**changed)
        # Its culprit is back (a member recovered at its source), which releases it.
        Incident.objects.filter(members=ticket).update(recovered_count=1)

        group = remediation.release_held([ticket.pk])

        run_pending(ticket.pk)
        _deliver_slack(ticket)
        held.refresh_from_db()
        assert (held.status, held.release_group, held.details["mode"]) == (
            "awaiting_approval",
            "",
            "approval",
        )
        assert held.reason == (
            "policy 'auto-policy', confidence 0.90: needs approval (released from its hold)"
        )
        assert held.expires_at is not None and held.finished_at is None
        assert Ticket.objects.get(pk=ticket.pk).remediation_status == "awaiting_approval"
        assert AuditLog.objects.filter(
            ticket=ticket, action="remediation awaiting approval"
        ).exists()
        assert remediation.awaiting_for(ticket.pk) == held
        assert _decision_buttons(slack, ticket) == [
            "rca_remediation_approve",
            "rca_remediation_decline",
        ]
        assert databricks.requests_to("/jobs/runs/repair") == []
        assert not Remediation.objects.filter(release_group=group).exists()

        remediation.approve(held.pk, Actor.for_user(make_user("responder")), via="api")

    run_pending(ticket.pk)
    held.refresh_from_db()
    assert held.status == "running"
    assert [r.body["run_id"] for r in databricks.requests_to("/jobs/runs/repair")] == [7001]


def test_a_held_approved_remediation_runs_on_release_whatever_the_policys_thresholds(
    databricks,
):
    """People approved the repair before it was held: its policy's mode and thresholds,
    changed while it was held, decide what the policy does by itself, not what people
    decided. Released, it runs."""
    make_policy(
        name="approval-policy",
        action="databricks_repair",
        mode="approval",
        signals=["driver is unreachable"],
    )
    incident = Incident.objects.create(
        id=new_incident_id(), group_key="cluster:0101-abc", culprit="cluster:0101-abc"
    )
    ticket = _databricks_ticket(databricks)
    Ticket.objects.filter(pk=ticket.pk).update(incident=incident)
    pending = proposed(ticket.pk)
    approved = remediation.approve(pending.pk, Actor.for_user(make_user("responder")), via="api")
    assert approved.status == "held"
    RemediationPolicy.objects.update(auto_min_confidence=0.99, approval_min_confidence=0.95)

    remediation.release_held([ticket.pk])

    run_pending(ticket.pk)
    approved.refresh_from_db()
    assert approved.status == "running"
    assert [r.body["run_id"] for r in databricks.requests_to("/jobs/runs/repair")] == [7001]


def test_people_retry_past_the_policys_max_attempts(settings, databricks):
    """The policy allows one attempt, and Databricks refused our token for it: a person's retry
    runs all the same (`max_attempts` bounds what the policies make), and, once it failed,
    the policy makes no further attempt."""
    ticket, refused = _repair_refused_for_our_token(settings, databricks, max_attempts=1)
    assert remediation.retryable(ticket) == refused

    answer = jwt_client(make_user("responder")).post(
        f"/api/v1/tickets/{ticket.pk}/remediation/retry/"
    )

    assert answer.status_code == 200, answer.content
    assert answer.json()["remediation_status"] == "running"
    run_pending(ticket.pk)
    databricks.finish_repair(7001, "FAILED", "Could not reach driver of cluster")
    run_pending(ticket.pk)
    again = Remediation.objects.exclude(pk=refused.pk).get(ticket=ticket)
    assert again.status == "failed" and again.attempt_number == 2
    Remediation.objects.filter(ticket=ticket).update(
        finished_at=timezone.now() - timedelta(minutes=5)
    )
    assert remediation.propose(ticket.pk) is None
    assert remediation.sweep() == 0
    assert Remediation.objects.filter(ticket=ticket).count() == 2


def test_airflow_refusing_our_password_stops_the_attempts(airflow, settings):
    settings.AIRFLOW_PASSWORD = "wrong-password-123"
    RemediationPolicy.objects.all().delete()
    ticket, _ = _airflow_clear_of(airflow)
    RemediationPolicy.objects.update(max_attempts=3, backoff_seconds=0)

    found = Remediation.objects.get(ticket=ticket)
    assert found.status == "failed" and "refused our credentials (401)" in found.reason
    _no_next_attempt_after(ticket)


def test_entra_id_refusing_our_client_secret_stops_the_attempts(arm, settings, monkeypatch):
    with entra_id_for(arm, settings, monkeypatch, secret="not-the-secret"):
        make_policy(action="adf_rerun", max_attempts=3, backoff_seconds=0)
        ticket = make_ticket()
        arm.add_pipeline_run(
            "rg-data",
            "adf-prod",
            adf_pipeline_run(ticket.affected_entity["run_id"], ticket.pipeline),
        )
        proposed(ticket.pk)
        run_pending(ticket.pk)

        found = Remediation.objects.get(ticket=ticket)
        assert found.status == "failed" and "refused our credentials (401)" in found.reason
        _no_next_attempt_after(ticket)
        assert not arm.requests_to("/createRun")


def test_adf_rerun_of_a_run_no_longer_at_data_factory_stops_the_attempts_and_says_why(
    arm, settings, monkeypatch
):
    """Data Factory answers 404 for the failed run (gone from the factory: deleted with its
    pipeline, or past its retention), read before its rerun: waiting the backoff will not
    bring it back, so no rerun is sent, the policy's other attempts are not made, and the
    remediation and the Slack thread say why; people may retry it once it is back."""
    with entra_id_for(arm, settings, monkeypatch), FakeSlack() as slack:
        settings.SLACK_BOT_TOKEN, settings.SLACK_BASE_URL = slack.token, slack.base_url
        CircuitBreaker("slack").reset()
        make_policy(action="adf_rerun", max_attempts=3, backoff_seconds=0)
        ticket = make_ticket()
        arm.add_pipeline_run("rg-data", "adf-prod", adf_pipeline_run("another-run", "pl_other"))
        ticket.slack_ts = ticket.slack_channel = ""
        ticket.save(update_fields=["slack_ts", "slack_channel"])
        fanout.schedule_initial(ticket.pk)
        for row in OutboundDelivery.objects.filter(ticket=ticket, target="slack"):
            fanout.deliver(row.pk)

        proposed(ticket.pk)
        run_pending(ticket.pk)
        for row in OutboundDelivery.objects.filter(ticket=ticket, status="pending"):
            fanout.deliver(row.pk)

        found = Remediation.objects.get(ticket=ticket)
        assert found.status == "failed" and "404 PipelineRunNotFound" in found.reason
        assert "retrying will not find it: no further attempt" in found.reason
        ticket.refresh_from_db()
        thread = [m["text"] for m in slack.thread(ticket.slack_channel, ticket.slack_ts)]
        assert any("retrying will not find it" in t for t in thread), thread
        _no_next_attempt_after(ticket)
        assert arm.requests_to("/createRun") == []
        assert remediation.retryable(ticket) == found


def test_databricks_repair_of_a_run_that_no_longer_exists_stops_the_attempts(databricks):
    """The job was deleted with its runs: runs/get answers 400 "Run 7001 does not exist.",
    which databricks-sdk reads as ResourceDoesNotExist (a 404): no repair is sent, and no
    further attempt follows."""
    make_policy(
        action="databricks_repair",
        signals=["driver is unreachable"],
        max_attempts=3,
        backoff_seconds=0,
    )
    ticket = _databricks_ticket(databricks)
    del databricks.runs[7001]
    proposed(ticket.pk)
    run_pending(ticket.pk)

    found = Remediation.objects.get(ticket=ticket)
    assert found.status == "failed" and "Run 7001 does not exist" in found.reason
    assert "retrying will not find it" in found.reason
    _no_next_attempt_after(ticket)
    assert not databricks.requests_to("/jobs/runs/repair")


def test_airflow_clear_of_a_dag_airflow_no_longer_has_stops_the_attempts(airflow):
    airflow.fail(
        404,
        {"detail": "DAG with dag_id: 'd' was not found"},
        times=None,
        path_contains="/clearTaskInstances",
    )
    ticket, rows = _airflow_clear_of(airflow)
    RemediationPolicy.objects.update(max_attempts=3, backoff_seconds=0)

    assert [r.status for r in rows] == ["dead"] and "404" in rows[0].last_error
    found = Remediation.objects.get(ticket=ticket)
    assert found.status == "failed" and "retrying will not find it" in found.reason
    _no_next_attempt_after(ticket)
    assert len(airflow.requests_to("/clearTaskInstances")) == 1


def test_airflow_clear_answered_404_by_a_proxy_in_front_of_airflow_is_sent_again(airflow):
    """Not Airflow's answer (its API answers JSON naming what it has not: `{"detail": …}`): the
    proxy or ingress in front of it answered 404 while Airflow's API server was being replaced.
    The clear cleared nothing and is sent again; Airflow then clears the task."""
    airflow.fail(
        404,
        b"<html><head><title>404 Not Found</title></head><body>404 Not Found</body></html>",
        headers={"Content-Type": "text/html"},
        path_contains="/clearTaskInstances",
    )
    ticket, rows = _airflow_clear_of(airflow)

    assert len(airflow.requests_to("/clearTaskInstances")) == 2
    assert rows[0].status != "dead", rows[0].last_error
    assert Remediation.objects.get(ticket=ticket).status == "running"
    assert airflow.instances[("d", "r", "t", -1)]["try_number"] == 2


def test_airflow_clear_answered_404_by_a_proxy_for_good_stops_once_the_engine_gives_up(
    airflow, settings
):
    """The proxy keeps answering 404 (AIRFLOW_API_URL names no Airflow behind it): the clear is
    sent again until the engine gives up, which ends the attempts as Airflow's own 404 does."""
    settings.OUTBOUND_MAX_ATTEMPTS = 3
    airflow.fail(404, b"404 page not found", times=None, path_contains="/clearTaskInstances")
    ticket, rows = _airflow_clear_of(airflow)
    RemediationPolicy.objects.update(max_attempts=3, backoff_seconds=0)

    assert len(airflow.requests_to("/clearTaskInstances")) == 3
    assert [r.status for r in rows] == ["dead"] and "not Airflow's answer" in rows[0].last_error
    found = Remediation.objects.get(ticket=ticket)
    assert found.status == "failed" and "retrying will not find it" in found.reason
    _no_next_attempt_after(ticket)


def test_a_refusal_that_is_no_credentials_problem_still_gets_its_next_attempt(databricks):
    """A 400 (the run cannot be repaired now) is no reason to stop: the next attempt comes."""
    make_policy(
        action="databricks_repair",
        signals=["driver is unreachable"],
        max_attempts=3,
        backoff_seconds=0,
    )
    ticket = _databricks_ticket(databricks)
    refusal = databricks.error_body(400, "run is not repairable")
    databricks.fail(400, refusal, path_contains="/jobs/runs/repair")
    proposed(ticket.pk)
    run_pending(ticket.pk)
    Remediation.objects.filter(ticket=ticket).update(
        finished_at=timezone.now() - timedelta(minutes=5)
    )

    assert remediation.propose(ticket.pk) is not None


def _repair_watched_past_its_deadline(
    databricks: FakeDatabricks, settings: Any, backoff_seconds: int
) -> tuple[Ticket, Remediation]:
    """Run 7001's repair (a policy of three attempts) started, and its watch, still pending,
    has had no result for longer than `REMEDIATION_WATCH_SECONDS`."""
    make_policy(
        action="databricks_repair",
        signals=["driver is unreachable"],
        max_attempts=3,
        backoff_seconds=backoff_seconds,
    )
    ticket = _databricks_ticket(databricks)
    found = proposed(ticket.pk)
    run_pending(ticket.pk, rounds=1)  # the repair starts; its watch is pending
    Remediation.objects.filter(pk=found.pk).update(
        started_at=timezone.now() - timedelta(seconds=settings.REMEDIATION_WATCH_SECONDS + 1)
    )
    return ticket, found


@pytest.mark.parametrize("ended_by", ["watch", "sweep"])
def test_a_watch_that_timed_out_is_the_tickets_last_attempt(databricks, settings, ended_by):
    """The repair still runs at Databricks when the watch gives up: another attempt would
    repair the run beside it. None is proposed; the reason says why."""
    ticket, found = _repair_watched_past_its_deadline(databricks, settings, backoff_seconds=0)
    if ended_by == "watch":
        run_pending(ticket.pk, rounds=1)
    else:
        OutboundDelivery.objects.filter(ticket=ticket, status="pending").delete()
        assert remediation.sweep() == 1

    found.refresh_from_db()
    assert found.status == "failed"
    assert found.reason.startswith(f"no result within {settings.REMEDIATION_WATCH_SECONDS} s")
    assert "the rerun may still be running" in found.reason
    assert databricks.runs[7001]["state"]["life_cycle_state"] == "RUNNING"
    _no_next_attempt_after(ticket)
    assert len(databricks.requests_to("/jobs/runs/repair")) == 1


def _reported_again(ticket: Ticket, run_id: int) -> None:
    """Run `run_id` of the ticket's job reported failing, counted on the open ticket as
    processing counts a recurrence."""
    Ticket.objects.record_recurrence(
        ticket.pk,
        timezone.now(),
        f"databricks:1:{run_id}",
        {"workspace_id": "1", "job_id": 11223344, "run_id": run_id},
    )


def _retry_via_the_api_reruns(ticket: Ticket, found: Remediation) -> None:
    """A responder's retry through the API is a third attempt, at `found`'s run 7001."""
    url = f"/api/v1/tickets/{ticket.pk}/remediation/retry/"
    answer = jwt_client(make_user("responder")).post(url, {"note": "it ended"}, format="json")
    assert answer.status_code == 200, answer.content
    again = Remediation.objects.get(ticket=ticket, attempt_number=3)
    assert (again.details["retry_of"], again.run_key) == (found.pk, "databricks:1:7001")


def _newer_databricks_run_fails(fake: FakeDatabricks, ticket: Ticket, run_id: int) -> None:
    """Another run of the ticket's job fails the same way: counted on the open ticket, its
    latest run, as processing counts a recurrence."""
    fake.add_run(
        job_run(
            run_id=run_id,
            tasks=[task("transform", run_id + 2, "FAILED", "Could not reach driver of cluster")],
        )
    )
    _reported_again(ticket, run_id)


@pytest.mark.parametrize("newer_fails", ["after", "while_watched"])
def test_a_newer_run_failing_after_a_timed_out_watch_is_proposed(
    databricks, settings, django_capture_on_commit_callbacks, newer_fails
):
    """The watch of run 7001's repair gave up (no next attempt at that run: it may still be
    repairing). Run 7101 of the job fails too, after it or while it was watched: that run
    has had no remediation, and gets its own repair; run 7001 still gets none."""
    ticket, found = _repair_watched_past_its_deadline(databricks, settings, backoff_seconds=300)
    if newer_fails == "while_watched":
        _newer_databricks_run_fails(databricks, ticket, 7101)
    with django_capture_on_commit_callbacks(execute=True):
        run_pending(ticket.pk, rounds=1)
    found.refresh_from_db()
    assert found.status == "failed" and "the rerun may still be running" in found.reason
    if newer_fails == "after":
        _newer_databricks_run_fails(databricks, ticket, 7101)
        assert remediation.propose(ticket.pk) is not None  # as processing proposes it

    newer = Remediation.objects.exclude(pk=found.pk).get(ticket=ticket)
    assert newer.run_key == "databricks:1:7101" and newer.status == "running"
    run_pending(ticket.pk)
    repaired = [r.body["run_id"] for r in databricks.requests_to("/jobs/runs/repair")]
    assert repaired == [7001, 7101]


def test_a_run_whose_watch_timed_out_gets_no_next_attempt_when_reported_again_after_a_newer(
    databricks, settings
):
    """The watch of run 7001's repair gave up (it may still be repairing); run 7101 failed
    since and its repair failed. Run 7001 reported failing again is still the run whose last
    attempt that was: it gets no second repair beside the first, as when nothing came
    between; a responder who made sure the first is over retries that one."""
    ticket, found = _repair_watched_past_its_deadline(databricks, settings, backoff_seconds=0)
    run_pending(ticket.pk, rounds=1)
    found.refresh_from_db()
    assert found.status == "failed" and "the rerun may still be running" in found.reason
    _newer_databricks_run_fails(databricks, ticket, 7101)
    newer = proposed(ticket.pk)
    run_pending(ticket.pk, rounds=1)
    databricks.finish_repair(7101, "FAILED", "Could not reach driver of cluster")
    run_pending(ticket.pk)
    newer.refresh_from_db()
    assert newer.status == "failed"

    _reported_again(ticket, 7001)

    assert remediation.propose(ticket.pk) is None
    repaired = [r.body["run_id"] for r in databricks.requests_to("/jobs/runs/repair")]
    assert repaired == [7001, 7101]

    _retry_via_the_api_reruns(ticket, found)


def test_a_run_whose_watch_timed_out_gets_no_next_attempt_after_a_newer_runs_repair_succeeded(
    databricks, settings
):
    """The watch of run 7001's repair gave up (it may still be repairing); run 7101 failed
    since, and run 7001 was reported failing again while 7101's repair ran, so that repair's
    success left the ticket open. Run 7001 got a second repair beside the first: the success
    starts a new count of attempts, which no longer held 7001's last one."""
    ticket, found = _repair_watched_past_its_deadline(databricks, settings, backoff_seconds=0)
    run_pending(ticket.pk, rounds=1)
    found.refresh_from_db()
    assert found.status == "failed" and "the rerun may still be running" in found.reason
    _newer_databricks_run_fails(databricks, ticket, 7101)
    newer = proposed(ticket.pk)
    run_pending(ticket.pk, rounds=1)  # 7101's repair starts; its watch is pending
    _reported_again(ticket, 7001)
    databricks.finish_repair(7101, "SUCCESS")
    run_pending(ticket.pk)
    newer.refresh_from_db()
    assert newer.status == "succeeded" and newer.details.get("ticket_left_open")

    assert remediation.propose(ticket.pk) is None
    run_pending(ticket.pk)
    repaired = [r.body["run_id"] for r in databricks.requests_to("/jobs/runs/repair")]
    assert repaired == [7001, 7101]
    _retry_via_the_api_reruns(ticket, found)


def test_admin_retries_no_newer_runs_attempt_onto_a_run_whose_attempts_ended(client, databricks):
    """Run 7001's repair watch gave up (it may still be repairing), run 7101's too; 7001 is
    reported failing again. Retrying 7101's attempt in admin (the ticket's latest) started a
    second repair of 7001 beside the first, whose end nobody had made sure of: a retry acts
    on the ticket's run, whose last attempt is the one to retry."""
    client.force_login(User.objects.create_superuser("boss", password="pw-for-tests-only"))
    make_policy(
        action="databricks_repair",
        signals=["driver is unreachable"],
        max_attempts=3,
        backoff_seconds=0,
    )
    ticket = _databricks_ticket(databricks)
    first = proposed(ticket.pk)

    def watch_times_out(pk: int) -> None:
        remediation.finish(
            pk,
            succeeded=False,
            detail="no result within 14400 s",
            no_next_attempt=remediation.WATCH_TIMED_OUT,
        )

    watch_times_out(first.pk)
    _newer_databricks_run_fails(databricks, ticket, 7101)
    newer = proposed(ticket.pk)
    watch_times_out(newer.pk)
    _reported_again(ticket, 7001)

    said = _retry_in_admin(client, newer.pk)
    assert any(f"remediation {first.pk} was the last attempt" in m for m in said), said
    assert Remediation.objects.filter(ticket=ticket).count() == 2
    assert _retry_in_admin(client, first.pk) == ["1 remediation(s) retried."]
    again = Remediation.objects.get(ticket=ticket, attempt_number=3)
    assert (again.details["retry_of"], again.run_key) == (first.pk, "databricks:1:7001")


def _databricks_member(fake: FakeDatabricks, run_id: int, incident: Incident | None) -> Ticket:
    fake.add_run(
        job_run(
            run_id=run_id,
            tasks=[task("transform", run_id + 1, "FAILED", "Could not reach driver of cluster")],
        )
    )
    return make_ticket(
        source="databricks",
        processing_mode="databricks",
        run_id=f"databricks:1:{run_id}",
        pipeline=f"etl-{run_id}",
        error_message="Spark driver is unreachable",
        affected_entity={"workspace_id": "1", "job_id": 11223344, "run_id": run_id},
        incident=incident,
    )


@pytest.mark.django_db(transaction=True)
def test_a_members_rerun_that_succeeds_releases_the_incidents_held_members(databricks):
    """The member's run went through once rerun: its culprit is back, as when a member
    recovers at its source. The other members' held remediations run, and a member failing
    later is not held."""
    make_policy(action="databricks_repair", signals=["driver is unreachable"])
    incident = Incident.objects.create(
        id=new_incident_id(), group_key="sql-server:sql-prod-01", culprit="sql-server:sql-prod-01"
    )
    first = _databricks_member(databricks, 7001, None)
    repair = proposed(first.pk)  # its repair started before it joined the incident
    run_pending(first.pk, rounds=1)
    Ticket.objects.filter(pk=first.pk).update(incident=incident)
    held = proposed(_databricks_member(databricks, 7101, incident).pk)
    assert held.status == "held"

    databricks.finish_repair(7001, "SUCCESS")
    run_pending(first.pk)

    assert Remediation.objects.get(pk=repair.pk).status == "succeeded"
    assert Remediation.objects.get(pk=held.pk).status == "running"
    assert Incident.objects.get(pk=incident.pk).recovered_count == 0  # none at its source
    later = proposed(_databricks_member(databricks, 7201, incident).pk)
    assert later.status == "running"


# --- a policy switched off acts at once ----------------------------------------------------------

# The task a policy's change sends for its waiting remediations.
SKIP_TASK = "integrations.tasks.skip_switched_off_remediations"


def _run_queued_skips() -> list[list[int]]:
    """Run, as a worker would, the skip tasks a policy's change sent to the real broker (this
    run's queue), taking them off it; the ids each was sent with."""
    import ast

    import redis

    from integrations import tasks
    from rca_project.celery import app as celery_app

    client = redis.Redis.from_url(celery_app.conf.broker_url, decode_responses=True)
    queue = celery_app.conf.task_default_queue
    sent = []
    for raw in reversed(client.lrange(queue, 0, -1)):
        message = json.loads(raw)
        if message["headers"]["task"] != SKIP_TASK:
            continue
        client.lrem(queue, 1, str(raw))  # text: decode_responses
        (ids,) = ast.literal_eval(message["headers"]["argsrepr"])
        tasks.skip_switched_off_remediations.apply(args=(ids,))
        sent.append(ids)
    return sent


def _admin_changes_policy(
    client: Any, policy: RemediationPolicy, changes: dict[str, Any] | None
) -> Any:
    """Admin's change form for the policy, sent with `changes` (None: its delete page)."""
    url = f"/admin/integrations/remediationpolicy/{policy.pk}/"
    if changes is None:
        return client.post(f"{url}delete/", {"post": "yes"})
    fields = {f.name: getattr(policy, f.name) for f in RemediationPolicy._meta.fields}
    fields.update(changes)
    for name in ("error_classes", "signals", "sources"):
        fields[name] = json.dumps(fields[name])
    # A checkbox left unticked is not sent.
    form = {k: v for k, v in fields.items() if k != "id" and v is not False}
    return client.post(f"{url}change/", form)


@pytest.mark.django_db(transaction=True)
def test_deleting_a_policy_in_admin_as_a_retry_inserts_under_it_waits_then_unlinks_it(
    settings, databricks
):
    """People delete a policy in admin as a retry inserts a remediation under it: the delete
    unlinked the remediations it had read, and its commit failed on the one inserted
    meanwhile (a foreign-key error, a 500). It waits for the retry, then unlinks that one too."""
    from django.db import connections
    from django.test import Client

    from tests.conftest import while_held

    ticket, last = _repair_refused_for_our_token(settings, databricks)
    policy = RemediationPolicy.objects.get()
    admin_user = make_user("superuser")

    def delete_in_admin() -> int:
        client = Client()
        client.force_login(admin_user)
        try:
            return _admin_changes_policy(client, policy, None).status_code
        finally:
            connections.close_all()

    answer, waited = while_held(
        lambda: remediation.retry(last.pk, Actor.system("test"), via="api"), delete_in_admin
    )

    assert waited
    assert answer == 302
    assert not RemediationPolicy.objects.exists()
    assert list(ticket.remediations.values_list("policy_id", flat=True)) == [None, None]


@pytest.mark.django_db(transaction=True)
def test_a_proposal_as_its_policy_is_deleted_waits_and_is_decided_again_without_it(databricks):
    """A proposal reads its policy, which people then delete (not committed yet): its insert
    under the policy failed at its commit (a foreign-key error). It waits for the delete and
    decides again among the policies left."""
    from django.db import connections

    from tests.conftest import while_held

    first = make_policy(action="databricks_repair", signals=["driver is unreachable"])
    make_policy(
        name="fallback", order=2, action="databricks_repair", signals=["driver is unreachable"]
    )
    ticket = _databricks_ticket(databricks)

    def propose() -> Remediation | None:
        try:
            return remediation.propose(ticket.pk)
        finally:
            connections.close_all()

    made, waited = while_held(lambda: first.delete(), propose)

    assert waited
    assert made is not None
    assert made.policy is not None and made.policy.name == "fallback"
    assert list(ticket.remediations.values_list("policy__name", flat=True)) == ["fallback"]


@pytest.mark.parametrize("waiting", ["awaiting_approval", "held"])
@pytest.mark.parametrize(("switched_off", "why"), POLICY_SWITCHED_OFF)
def test_switching_a_policy_off_in_admin_skips_its_waiting_remediations_at_once(
    client, settings, databricks, django_capture_on_commit_callbacks, waiting, switched_off, why
):
    """People disable a policy in admin (set it to never, delete it, set it to another
    action): its repair awaiting approval, or held behind an incident, is skipped at once
    (the task the change sends once it commits), saying why, not left offering Approve /
    Decline until someone clicks or it expires, nor held until a release: the ticket's
    remediation_status, the audit log and the Slack alert (its buttons gone, its thread
    saying why) follow as for any skip."""
    _run_queued_skips()  # none of an earlier test's
    with FakeSlack() as slack:
        setup = _repair_held_behind_an_incident if waiting == "held" else _repair_awaiting_approval
        ticket, pending = setup(
            databricks, lambda ticket: _slack_alert_posted(settings, slack, ticket)
        )
        _deliver_slack(ticket)
        assert pending.status == waiting
        if waiting == "awaiting_approval":
            assert _decision_buttons(slack, ticket) != []
        policy = RemediationPolicy.objects.get()
        why = why.format(name=policy.name)
        client.force_login(make_user("superuser"))

        with django_capture_on_commit_callbacks(execute=True):
            answer = _admin_changes_policy(client, policy, switched_off)

        assert answer.status_code == 302, answer.content
        assert _run_queued_skips() == [[pending.pk]]
        _deliver_slack(ticket)
        pending.refresh_from_db()
        assert (pending.status, pending.reason) == ("skipped", why)
        assert pending.finished_at is not None
        assert Ticket.objects.get(pk=ticket.pk).remediation_status == "skipped"
        entry = AuditLog.objects.get(ticket=ticket, action="remediation skipped")
        assert entry.details["reason"] == why
        assert _decision_buttons(slack, ticket) == []
        thread = slack.thread(ticket.slack_channel, ticket.slack_ts)
        assert any(why in reply["text"] for reply in thread)
        assert _run_queued_skips() == []
        assert remediation.skip_switched_off([pending.pk]) == 0  # idempotent
    run_pending(ticket.pk)
    assert databricks.requests_to("/jobs/runs/repair") == []


def test_a_policy_put_in_dry_run_leaves_its_waiting_remediation_to_be_decided(
    client, databricks, django_capture_on_commit_callbacks
):
    """Dry run switched on is no switch-off: the repair awaiting approval waits on (people
    may still decide it, or the policy go back to running for real); approved, it is recorded
    as what it would have run and repairs nothing, as before."""
    _run_queued_skips()
    ticket, pending = _repair_awaiting_approval(databricks)
    client.force_login(make_user("superuser"))
    policy = RemediationPolicy.objects.get()
    page = client.get(f"/admin/integrations/remediationpolicy/{policy.pk}/change/").content
    assert b"held behind an incident are skipped at once" in page
    assert b"Switched on, its remediations awaiting approval or held wait on" in page

    with django_capture_on_commit_callbacks(execute=True):
        answer = _admin_changes_policy(client, policy, {"dry_run": True})

    assert answer.status_code == 302, answer.content
    assert _run_queued_skips() == [[pending.pk]]
    pending.refresh_from_db()
    assert pending.status == "awaiting_approval"
    approved = remediation.approve(pending.pk, Actor.system("test"), via="api")
    assert approved.status == "skipped"
    assert approved.reason.startswith("dry run: would have run ")
    run_pending(ticket.pk)
    assert databricks.requests_to("/jobs/runs/repair") == []


def test_beat_sweep_skips_a_waiting_remediation_whose_policy_was_switched_off_unseen(databricks):
    """The policy was disabled without its skip sent (an UPDATE of the table, the message
    lost with the broker down): beat's minute sweep skips the repair awaiting approval."""
    ticket, pending = _repair_awaiting_approval(databricks)
    RemediationPolicy.objects.update(enabled=False)

    assert remediation.sweep() == 1

    pending.refresh_from_db()
    assert (pending.status, pending.reason) == (
        "skipped",
        "its policy 'approval-policy' is disabled",
    )
    assert Ticket.objects.get(pk=ticket.pk).remediation_status == "skipped"


def test_an_approval_whose_policy_no_longer_covers_the_ticket_runs(databricks):
    """The policy's signals changed since the repair was proposed: people approving it chose
    it for this failure, so it runs (only what the policy does by itself, an automatic
    one released from its hold, is weighed again against what it covers)."""
    ticket, pending = _repair_awaiting_approval(databricks)
    RemediationPolicy.objects.update(signals=["quota exceeded"])

    remediation.approve(pending.pk, Actor.for_user(make_user("responder")), via="api")

    run_pending(ticket.pk)
    pending.refresh_from_db()
    assert pending.status == "running"
    assert [r.body["run_id"] for r in databricks.requests_to("/jobs/runs/repair")] == [7001]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first", ["skip", "approval"])
def test_a_skip_and_an_approval_at_the_same_moment_wait_for_each_other(databricks, first):
    """People approve the repair as the skip of its policy's switch-off runs: whichever locks
    the remediation first (both lock it, then its ticket, then its policy) is waited for by
    the other, which finds it decided, and neither deadlocks. The skip first: the approval is
    refused, the remediation skipped. The approval first (the policy still on): the switch-off
    waits for it, and its skip leaves the started repair alone."""
    from django.db import connections

    from tests.conftest import while_held

    ticket, pending = _repair_awaiting_approval(databricks)

    def switch_off_and_skip() -> int:
        try:
            RemediationPolicy.objects.update(enabled=False)
            return remediation.skip_switched_off([pending.pk])
        finally:
            connections.close_all()

    # (The held side runs in `while_held`'s transaction, which closes its connection.)
    if first == "skip":
        RemediationPolicy.objects.update(enabled=False)
        refused, waited = while_held(
            lambda: remediation.skip_switched_off([pending.pk]),
            lambda: _approve_in_a_thread(pending.pk),
        )
        assert refused == f"remediation {pending.pk} is skipped, not awaiting approval"
    else:
        held = lambda: remediation.approve(pending.pk, Actor.system("test"), via="api")  # noqa: E731
        skipped, waited = while_held(held, switch_off_and_skip)
        assert skipped == 0

    assert waited
    run_pending(ticket.pk)
    pending.refresh_from_db()
    if first == "skip":
        assert (pending.status, pending.reason) == (
            "skipped",
            "its policy 'approval-policy' is disabled",
        )
        assert databricks.requests_to("/jobs/runs/repair") == []
    else:
        assert pending.status == "running"
        assert [r.body["run_id"] for r in databricks.requests_to("/jobs/runs/repair")] == [7001]


@pytest.mark.django_db(transaction=True)
def test_saving_policies_in_admins_list_as_a_release_batch_reads_them_does_not_deadlock(client):
    """People save two policies at once in admin's list (its editable columns: here both put
    in dry run), the one with the higher id first, as a release batch whose held remediations
    are of both policies reads them locked (by id). The list locks them by id before saving
    either: the batch waits for the save, then records its remediations as what they would
    have run. Saved in the list's order, each held one policy the other waited for: a
    deadlock, which PostgreSQL broke by failing the batch."""
    from django.db import connection
    from django.db.models.signals import post_save

    from tests.conftest import SessionThreads, someone_waits_on, wait_for

    _run_queued_skips()
    first, second = make_policy(name="first"), make_policy(name="second")
    group = uuid.uuid4().hex
    held = [
        Remediation.objects.create(
            ticket=make_ticket(),
            run_key=f"adf:run-of-{policy.name}",
            policy=policy,
            action="adf_rerun",
            confidence=0.9,
            status="held",
            release_group=group,
            details={"mode": "auto"},
        )
        for policy in (first, second)
    ]
    client.force_login(make_user("superuser"))
    threads = SessionThreads()
    batch: list[Any] = []

    def start_the_batch(sender: Any, instance: RemediationPolicy, **kwargs: Any) -> None:
        if instance.pk != second.pk or batch:
            return
        # The list has saved `second`, not `first` yet: the batch starts now, until it waits.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            saving = cursor.fetchone()[0]
        batch.append(threads.start("batch", lambda: remediation.start_next_batch(group)))
        threads.start("probe", lambda: wait_for(lambda: someone_waits_on(saving), 10, 0.02)).join(
            15
        )

    post_save.connect(start_the_batch, sender=RemediationPolicy, dispatch_uid="start_the_batch")
    form = {
        "form-TOTAL_FORMS": "2",
        "form-INITIAL_FORMS": "2",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for index, policy in enumerate((second, first)):
        form.update(
            {
                f"form-{index}-id": str(policy.pk),
                f"form-{index}-enabled": "on",
                f"form-{index}-order": str(policy.order),
                f"form-{index}-mode": policy.mode,
                f"form-{index}-dry_run": "on",
            }
        )
    try:
        answer = client.post("/admin/integrations/remediationpolicy/", form)
    finally:
        post_save.disconnect(dispatch_uid="start_the_batch", sender=RemediationPolicy)
    batch[0].join(15)
    _run_queued_skips()

    assert answer.status_code == 302, answer.content
    assert threads.errors == []
    assert list(RemediationPolicy.objects.values_list("dry_run", flat=True)) == [True, True]
    for remediation_row in held:
        remediation_row.refresh_from_db()
        assert remediation_row.status == "skipped"
        assert remediation_row.reason.startswith("dry run: would have run ")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first", ["skip", "release"])
def test_a_skip_and_a_release_at_the_same_moment_wait_for_each_other(databricks, first):
    """The culprit's recovery releases a held repair as the skip of its policy's switch-off
    runs: both lock the remediation, then its ticket, then its policy, so whichever comes
    second waits and finds it decided, and neither deadlocks. The skip first: the release
    starts nothing. The release first (the policy still on): the repair runs, and the skip
    leaves it alone."""
    from django.db import connections

    from tests.conftest import while_held

    ticket, held = _repair_held_behind_an_incident(databricks)

    def release() -> str:
        try:
            return remediation.release_held([ticket.pk])
        finally:
            connections.close_all()

    def skip() -> int:
        try:
            return remediation.skip_switched_off([held.pk])
        finally:
            connections.close_all()

    if first == "skip":
        RemediationPolicy.objects.update(enabled=False)
        _, waited = while_held(lambda: remediation.skip_switched_off([held.pk]), release)
    else:
        skipped, waited = while_held(lambda: remediation.release_held([ticket.pk]), skip)
        assert skipped == 0

    assert waited
    run_pending(ticket.pk)
    held.refresh_from_db()
    if first == "skip":
        assert (held.status, held.reason) == ("skipped", "its policy 'auto-policy' is disabled")
        assert databricks.requests_to("/jobs/runs/repair") == []
    else:
        assert held.status == "running"
        assert [r.body["run_id"] for r in databricks.requests_to("/jobs/runs/repair")] == [7001]
