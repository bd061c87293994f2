"""From the webhook to the remediation: a throttled ADF run is proposed for a rerun once the
background processing has analysed it; a succeeded run posted by the source closes it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from integrations import processing, remediation, tasks
from integrations.models import Remediation, WebhookDelivery
from tests.conftest import local_payload
from tests.fakes.airflow_api import FakeAirflow
from tests.remediation.conftest import make_policy, run_pending
from tickets import lifecycle
from tickets.lifecycle import Actor
from tickets.models import Ticket

# Committed transactions: the ticket_changed announcements (on commit) reach their receivers.
pytestmark = pytest.mark.django_db(transaction=True)


def test_an_analysed_failure_is_proposed_and_the_sources_success_closes_it(
    settings, webhook_client
):
    settings.GEMINI_API_KEY = ""
    make_policy(action="playbook", mode="auto", auto_min_confidence=0.0, signals=["throttl"])
    body = local_payload("adf_failure.json")
    body["run_id"] = f"run-{uuid.uuid4().hex[:8]}"
    body["error_message"] = "ErrorCode=2200 The request was throttled (429 Too Many Requests)"

    answer = webhook_client("/webhooks/adf/", body)
    assert answer.status_code == 202
    delivery = WebhookDelivery.objects.get(tracking_id=answer.json()["tracking_id"])
    processing.process_delivery(delivery.pk)

    found = Remediation.objects.get(ticket_id=answer.json()["ticket_id"])
    assert found.status == "running" and found.action == "playbook"
    processing.process_delivery(delivery.pk)  # a redelivery proposes nothing twice
    assert Remediation.objects.filter(ticket_id=found.ticket_id).count() == 1

    success = {**body, "status": "Succeeded", "error_message": ""}
    assert webhook_client("/webhooks/adf/", success).json()["outcome"] == "resolved"
    found.refresh_from_db()
    assert found.status == "succeeded"
    assert Ticket.objects.get(pk=found.ticket_id).remediation_status == "succeeded"


def _last_attempt_timed_out(
    settings: Any, webhook_client: Any
) -> tuple[dict[str, Any], dict[str, Any], Remediation]:
    """A throttled ADF run's failure (its body, the webhook's answer) whose automatic rerun was
    the last attempt at that run (its watch timed out: it may still be running)."""
    body, answer, first = throttled_failure_rerunning(settings, webhook_client, max_attempts=3)
    remediation.finish(
        first.pk,
        succeeded=False,
        detail="no result within 14400 s",
        no_next_attempt=remediation.WATCH_TIMED_OUT,
    )
    return body, answer, first


def test_a_newer_run_failing_after_the_last_attempt_at_an_older_one_is_proposed(
    settings, webhook_client
):
    """Run 1's rerun was the last attempt at that run (its watch timed out: it may still be
    running). The pipeline's next run fails the same way, counted on the open ticket: its
    delivery is processed in the background like a new ticket's, and that run is proposed
    at once."""
    body, answer, first = _last_attempt_timed_out(settings, webhook_client)

    later = {**body, "run_id": f"run-{uuid.uuid4().hex[:8]}"}
    again = webhook_client("/webhooks/adf/", later).json()
    assert (again["outcome"], again["ticket_id"]) == ("correlated", answer["ticket_id"])
    delivery = WebhookDelivery.objects.get(tracking_id=again["tracking_id"])
    assert delivery.status == "pending"
    processing.process_delivery(delivery.pk)

    second = Remediation.objects.exclude(pk=first.pk).get(ticket_id=answer["ticket_id"])
    assert second.status == "running" and second.run_key == f"adf:{later['run_id']}"


def test_the_same_run_reported_again_after_its_last_attempt_is_not_left_to_the_workers(
    settings, webhook_client
):
    """Run 1's last attempt failed: another failure of run 1 (another of its activities, an
    alert firing again) has nothing to propose (`propose` makes none for a run whose attempts
    ended), so it is done at ingest: a storm of them puts nothing on the queue."""
    body, answer, _ = _last_attempt_timed_out(settings, webhook_client)

    for activity in ("CopyOrders", "CopyCustomers", "CopyInvoices"):
        again = webhook_client("/webhooks/adf/", {**body, "activity": activity}).json()
        assert (again["outcome"], again["ticket_id"]) == ("correlated", answer["ticket_id"])
        delivery = WebhookDelivery.objects.get(tracking_id=again["tracking_id"])
        assert delivery.status == "processed"
    assert Remediation.objects.filter(ticket_id=answer["ticket_id"]).count() == 1


def test_a_storms_members_are_held_and_the_recovered_one_is_not_rerun(settings, webhook_client):
    """Three pipelines fail on one culprit: the first is analysed, the others join its incident
    and share its analysis (and its confidence); all are held while the culprit fails. One
    member's success at its source releases the others, and its own remediation is skipped:
    its run needs no rerun."""
    settings.GEMINI_API_KEY = ""
    settings.PLAYBOOK_URL = "http://127.0.0.1:9/unused"
    settings.PLAYBOOK_SECRET = "s"
    settings.REMEDIATION_BATCH_SIZE = 5
    make_policy(action="playbook", mode="auto", auto_min_confidence=0.0, signals=["sql server"])
    bodies, tickets = [], []
    for n in range(3):
        body = local_payload("adf_failure.json")
        body.update(run_id=f"run-{uuid.uuid4().hex[:8]}", pipeline=f"pl_storm_{n}")
        answer = webhook_client("/webhooks/adf/", body)
        processing.process_delivery(
            WebhookDelivery.objects.get(tracking_id=answer.json()["tracking_id"]).pk
        )
        bodies.append(body)
        tickets.append(Ticket.objects.get(pk=answer.json()["ticket_id"]))
    incident_ids = {t.incident_id for t in Ticket.objects.filter(pk__in=[t.pk for t in tickets])}
    assert len(incident_ids) == 1 and None not in incident_ids
    found = {r.ticket_id: r for r in Remediation.objects.filter(ticket__in=tickets)}
    assert set(found) == {t.pk for t in tickets}
    members = [found[t.pk] for t in tickets[1:]]
    assert {r.status for r in members} == {"held"}
    assert Ticket.objects.get(pk=tickets[1].pk).confidence is None  # shared, not analysed
    assert {r.confidence for r in members} == {Ticket.objects.get(pk=tickets[0].pk).confidence}

    success = {**bodies[2], "status": "Succeeded", "error_message": ""}
    assert webhook_client("/webhooks/adf/", success).json()["outcome"] == "resolved"

    recovered = Remediation.objects.get(ticket=tickets[2])
    assert recovered.status == "skipped" and "recovered at its source" in recovered.reason
    assert Remediation.objects.get(ticket=tickets[1]).status == "running"


def throttled_failure_rerunning(
    settings: Any, webhook_client: Any, **policy: Any
) -> tuple[dict[str, Any], dict[str, Any], Remediation]:
    """A throttled ADF failure posted and processed, its automatic rerun (a playbook) running:
    the body, the webhook's answer and the remediation."""
    settings.GEMINI_API_KEY = ""
    make_policy(
        action="playbook", mode="auto", auto_min_confidence=0.0, signals=["throttl"], **policy
    )
    body = local_payload("adf_failure.json")
    body["run_id"] = f"run-{uuid.uuid4().hex[:8]}"
    body["error_message"] = "ErrorCode=2200 The request was throttled (429 Too Many Requests)"
    answer = webhook_client("/webhooks/adf/", body).json()
    processing.process_delivery(WebhookDelivery.objects.get(tracking_id=answer["tracking_id"]).pk)
    first = Remediation.objects.get(ticket_id=answer["ticket_id"])
    assert first.status == "running"
    return body, answer, first


@pytest.mark.parametrize("succeeded", [True, False], ids=["succeeded", "failed"])
def test_the_sources_success_after_the_remediation_ended_keeps_a_success(
    settings, webhook_client, succeeded
):
    """The playbook reported its rerun succeeded: the ticket is resolved by the remediation,
    and the source's own success webhook for the run, which comes after, is that same
    success: the ticket's `remediation_status` still says the remediation succeeded (it read
    `resolved_at_source`). After a failed one the run recovering at its source is news."""
    body, answer, first = throttled_failure_rerunning(settings, webhook_client)
    remediation.finish(first.pk, succeeded=succeeded, detail="the playbook reported it")
    ticket = Ticket.objects.get(pk=answer["ticket_id"])
    assert ticket.status == ("resolved" if succeeded else "open")
    assert ticket.remediation_status == ("succeeded" if succeeded else "failed")

    success = {**body, "status": "Succeeded", "error_message": ""}
    assert webhook_client("/webhooks/adf/", success).json()["outcome"] == "resolved"

    ticket.refresh_from_db()
    assert ticket.resolved_at_source_at is not None and ticket.status == "resolved"
    assert ticket.remediation_status == ("succeeded" if succeeded else "resolved_at_source")
    first.refresh_from_db()
    assert first.status == ("succeeded" if succeeded else "failed")


def test_a_regression_after_a_successful_remediation_is_remediated_again(settings, webhook_client):
    """The rerun fixed it and the source's success resolved the ticket; the failure comes back
    on a later run (a regression): the regression is proposed anew, on that run."""
    body, answer, first = throttled_failure_rerunning(settings, webhook_client, max_attempts=1)
    success = {**body, "status": "Succeeded", "error_message": ""}
    assert webhook_client("/webhooks/adf/", success).json()["outcome"] == "resolved"
    first.refresh_from_db()
    assert first.status == "succeeded"

    later = {**body, "run_id": f"run-{uuid.uuid4().hex[:8]}"}
    again = webhook_client("/webhooks/adf/", later).json()
    assert (again["outcome"], again["ticket_id"]) == ("regressed", answer["ticket_id"])
    delivery = WebhookDelivery.objects.get(tracking_id=again["tracking_id"])
    processing.process_delivery(delivery.pk)

    second = Remediation.objects.exclude(pk=first.pk).get(ticket_id=answer["ticket_id"])
    assert second.status == "running" and second.attempt_number == 2
    assert second.run_key == f"adf:{later['run_id']}"
    assert second.details["target_run"]["entity"]["run_id"] == later["run_id"]
    ticket = Ticket.objects.get(pk=answer["ticket_id"])
    assert ticket.remediation_status == "running"
    processing.process_delivery(delivery.pk)  # a redelivery proposes nothing twice
    assert Remediation.objects.filter(ticket_id=ticket.pk).count() == 2

    # Within the regression, the policy's limits hold: its one attempt fails, no third.
    remediation.finish(second.pk, succeeded=False, detail="still throttled")
    assert remediation.propose(ticket.pk) is None


@pytest.mark.parametrize("how", ["regressed", "reopened"])
def test_a_remediated_ticket_failing_again_no_longer_says_its_remediation_succeeded(
    settings, webhook_client, how
):
    """The rerun fixed it, then the failure came back (a regression) or people reopened the
    ticket: its `remediation_status` went on saying `succeeded` (the dashboard's "Remediation
    succeeded" on a failing ticket) until a next proposal, and none comes where the policy no
    longer covers the failure. It is cleared with the reopen, the change audited with it; the
    remediation itself keeps its outcome."""
    from django.contrib.auth.models import User

    from integrations.models import RemediationPolicy
    from tickets.models import AuditLog

    body, answer, first = throttled_failure_rerunning(settings, webhook_client)
    remediation.finish(first.pk, succeeded=True, detail="the playbook reported it")
    ticket_id = answer["ticket_id"]
    assert Ticket.objects.get(pk=ticket_id).remediation_status == "succeeded"
    RemediationPolicy.objects.update(enabled=False)  # nothing is proposed anew

    if how == "regressed":
        later = {**body, "run_id": f"run-{uuid.uuid4().hex[:8]}"}
        again = webhook_client("/webhooks/adf/", later).json()
        assert (again["outcome"], again["ticket_id"]) == ("regressed", ticket_id)
        processing.process_delivery(
            WebhookDelivery.objects.get(tracking_id=again["tracking_id"]).pk
        )
        action = "regressed"
    else:
        lifecycle.reopen(ticket_id, Actor.for_user(User.objects.create_user("ana")))
        action = "reopen"

    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.status == "open"
    assert ticket.remediation_status == ""
    entry = AuditLog.objects.filter(ticket_id=ticket_id, action=action).latest("id")
    assert entry.before["remediation_status"] == "succeeded"
    assert entry.after["remediation_status"] == ""
    first.refresh_from_db()
    assert first.status == "succeeded"
    assert Remediation.objects.filter(ticket_id=ticket_id).count() == 1


@pytest.mark.parametrize("succeeded", [True, False], ids=["succeeded", "failed"])
def test_a_regression_while_a_remediation_runs_is_proposed_when_it_ends(
    settings, webhook_client, succeeded
):
    """People resolved the ticket while its rerun still ran; the failure came back on a later
    run (a regression), which got no proposal of its own: one remediation of a ticket at a
    time. When the older one ends, the policies are asked for the later run, once."""
    from django.contrib.auth.models import User

    from tickets import lifecycle
    from tickets.lifecycle import Actor

    body, answer, first = throttled_failure_rerunning(settings, webhook_client)
    lifecycle.resolve(answer["ticket_id"], Actor.for_user(User.objects.create_user("u")))
    later = {**body, "run_id": f"run-{uuid.uuid4().hex[:8]}"}
    again = webhook_client("/webhooks/adf/", later).json()
    assert (again["outcome"], again["ticket_id"]) == ("regressed", answer["ticket_id"])
    processing.process_delivery(WebhookDelivery.objects.get(tracking_id=again["tracking_id"]).pk)
    assert Remediation.objects.filter(ticket_id=answer["ticket_id"]).count() == 1

    remediation.finish(first.pk, succeeded=succeeded, detail="the rerun ended")

    second = Remediation.objects.exclude(pk=first.pk).get(ticket_id=answer["ticket_id"])
    assert second.status == "running" and second.attempt_number == 2
    assert second.run_key == f"adf:{later['run_id']}"
    assert Ticket.objects.get(pk=answer["ticket_id"]).remediation_status == "running"
    assert remediation.finish(first.pk, succeeded=succeeded, detail="again") is None
    assert Remediation.objects.filter(ticket_id=answer["ticket_id"]).count() == 2


def test_a_try_airflow_retries_is_not_proposed_its_final_failure_is(settings, webhook_client):
    """Airflow retries the task by itself (`up_for_retry`): the ticket counts each try, but a
    clear proposed now would find nothing failed to clear. The final failure (the retries used
    up) is proposed, once."""
    settings.GEMINI_API_KEY = ""
    settings.AIRFLOW_DEPLOYMENT = "airflow.example.com"  # the one the sample's log_url names
    make_policy(action="airflow_clear", mode="approval", approval_min_confidence=0.0, signals=[])
    body = local_payload("airflow_failure.json")  # try 1 of 3, up_for_retry
    body["run_id"] = f"manual__{uuid.uuid4().hex[:8]}"

    def post(**fields: Any) -> tuple[dict[str, Any], WebhookDelivery]:
        answer = webhook_client("/webhooks/airflow/", {**body, **fields}).json()
        delivery = WebhookDelivery.objects.get(tracking_id=answer["tracking_id"])
        processing.process_delivery(delivery.pk)
        return answer, delivery

    first, _ = post()
    second, _ = post(try_number=2)
    assert (first["outcome"], second["outcome"]) == ("created", "correlated")
    assert not Remediation.objects.filter(ticket_id=first["ticket_id"]).exists()
    assert Ticket.objects.get(pk=first["ticket_id"]).remediation_status == ""

    final, delivery = post(try_number=3, state="failed")
    assert (final["outcome"], final["ticket_id"]) == ("correlated", first["ticket_id"])
    found = Remediation.objects.get(ticket_id=first["ticket_id"])
    assert (found.status, found.action) == ("awaiting_approval", "airflow_clear")
    delivery.refresh_from_db()
    assert delivery.status == "processed"
    processing.process_delivery(delivery.pk)  # a redelivery proposes nothing twice
    assert Remediation.objects.filter(ticket_id=first["ticket_id"]).count() == 1


def test_a_final_failure_processed_before_its_tickets_analysis_is_proposed_after_it(
    settings, webhook_client
):
    """The final failure's delivery processed while the first try's (which analyses the
    ticket) still waits, in another worker or for its redelivery: a proposal decided then
    would read no confidence and be skipped for good. It is proposed once the ticket is
    analysed, on the confidence of its analysis."""
    settings.GEMINI_API_KEY = ""
    settings.AIRFLOW_DEPLOYMENT = "airflow.example.com"  # the one the sample's log_url names
    make_policy(action="airflow_clear", mode="approval", approval_min_confidence=0.5, signals=[])
    body = local_payload("airflow_failure.json")  # try 1 of 3, up_for_retry
    body["run_id"] = f"manual__{uuid.uuid4().hex[:8]}"

    def post(**fields: Any) -> tuple[str, WebhookDelivery]:
        answer = webhook_client("/webhooks/airflow/", {**body, **fields}).json()
        return answer["ticket_id"], WebhookDelivery.objects.get(tracking_id=answer["tracking_id"])

    ticket_id, first = post()
    _, final = post(try_number=3, state="failed")

    processing.process_delivery(final.pk)
    assert not Remediation.objects.filter(ticket_id=ticket_id).exists()
    processing.process_delivery(first.pk)

    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.confidence is not None and ticket.confidence >= 0.5
    found = Remediation.objects.get(ticket_id=ticket_id)
    assert (found.status, found.action) == ("awaiting_approval", "airflow_clear")


@pytest.fixture
def post_airflow_run(settings, webhook_client) -> Callable[..., str]:
    """Posts the sample Airflow failure (try 1 of 3, up for retry, unless `fields` say
    otherwise) for a run, processes its delivery and answers the ticket id; rule-based RCAs,
    the deployment the sample's log_url names."""
    settings.GEMINI_API_KEY = ""
    settings.AIRFLOW_DEPLOYMENT = "airflow.example.com"
    body = local_payload("airflow_failure.json")

    def post(run_id: str, **fields: Any) -> str:
        answer = webhook_client("/webhooks/airflow/", {**body, "run_id": run_id, **fields}).json()
        processing.process_delivery(
            WebhookDelivery.objects.get(tracking_id=answer["tracking_id"]).pk
        )
        return answer["ticket_id"]

    return post


def test_a_later_runs_try_airflow_retries_is_not_proposed_after_an_earlier_runs_final_one(
    post_airflow_run,
):
    """The final failure of one run was proposed, its clear failed and people resolved the
    ticket; a later run of the task fails its first try, which Airflow retries by itself (a
    regression of the ticket): no clear is proposed for it while Airflow still retries it,
    whatever the earlier run's final failure was."""
    make_policy(
        action="airflow_clear",
        mode="approval",
        approval_min_confidence=0.0,
        signals=[],
        max_attempts=3,
        backoff_seconds=0,
    )
    earlier = f"manual__{uuid.uuid4().hex[:8]}"
    ticket_id = post_airflow_run(earlier)
    post_airflow_run(earlier, try_number=3, state="failed")
    first = Remediation.objects.get(ticket_id=ticket_id)
    remediation.approve(first.pk, Actor.system("test"), via="api")
    remediation.finish(first.pk, succeeded=False, detail="the clear failed")
    lifecycle.resolve(ticket_id, Actor.system("test"))

    assert post_airflow_run(f"manual__{uuid.uuid4().hex[:8]}") == ticket_id
    assert Ticket.objects.get(pk=ticket_id).regression_count == 1

    assert list(Remediation.objects.filter(ticket_id=ticket_id).values_list("pk", flat=True)) == [
        first.pk
    ]


def test_an_approved_clear_is_of_the_failed_run_not_a_later_try_airflow_retries(post_airflow_run):
    """Run 1's task failed for good and its clear awaits approval; run 2's task fails its first
    try, which Airflow retries by itself (counted on the ticket). Approved, the clear is of
    run 1, still failed, not of run 2, which has nothing failed to clear yet."""
    make_policy(action="airflow_clear", mode="approval", approval_min_confidence=0.0, signals=[])
    failed_run, retried_run = (f"scheduled__{uuid.uuid4().hex[:8]}" for _ in range(2))
    ticket_id = post_airflow_run(failed_run)
    post_airflow_run(failed_run, try_number=3, state="failed")
    pending = Remediation.objects.get(ticket_id=ticket_id)
    assert pending.status == "awaiting_approval"
    assert post_airflow_run(retried_run) == ticket_id

    remediation.approve(pending.pk, Actor.system("test"), via="api")

    pending.refresh_from_db()
    assert pending.status == "running"
    assert pending.details["target_run"]["entity"]["run_id"] == failed_run
    assert pending.run_key.endswith(f"/{failed_run}")
    # Run 2's final failure: that run is the one a remediation acts on from now on.
    post_airflow_run(retried_run, try_number=3, state="failed")
    ticket = Ticket.objects.get(pk=ticket_id)
    assert remediation.run_entity(ticket)["run_id"] == retried_run


@pytest.mark.parametrize("late_try_of", ["the_retried_run", "a_later_run"])
def test_a_late_try_airflow_retries_after_a_resolve_points_back_to_no_resolved_run(
    post_airflow_run, late_try_of
):
    """Run 1's task failed for good and its clear failed; run 2's first try is counted while
    Airflow retries it (the clear's run, run 1, kept meanwhile), and people resolve the
    ticket. A try Airflow retries that comes after the resolve (of run 2, or of a later run)
    regresses the ticket: run 1 was resolved, so the failed clear's next attempt, due after
    its backoff, does not clear it again, nor anything else until a run fails for good. The
    one that does is cleared."""
    make_policy(
        action="airflow_clear",
        mode="approval",
        approval_min_confidence=0.0,
        signals=[],
        max_attempts=3,
        backoff_seconds=0,
    )
    first_run, retried_run, later_run = (f"scheduled__{uuid.uuid4().hex[:8]}" for _ in range(3))
    ticket_id = post_airflow_run(first_run)
    post_airflow_run(first_run, try_number=3, state="failed")
    first = Remediation.objects.get(ticket_id=ticket_id)
    remediation.approve(first.pk, Actor.system("test"), via="api")
    remediation.finish(first.pk, succeeded=False, detail="the clear failed")
    assert post_airflow_run(retried_run) == ticket_id
    lifecycle.resolve(ticket_id, Actor.system("test"))

    late_run = retried_run if late_try_of == "the_retried_run" else later_run
    assert post_airflow_run(late_run, try_number=2) == ticket_id
    assert Ticket.objects.get(pk=ticket_id).regression_count == 1
    tasks.propose_remediation(ticket_id)  # the failed clear's next attempt, after its backoff

    assert list(Remediation.objects.filter(ticket_id=ticket_id).values_list("pk", flat=True)) == [
        first.pk
    ]
    post_airflow_run(late_run, try_number=3, state="failed")
    cleared = Remediation.objects.exclude(pk=first.pk).get(ticket_id=ticket_id)
    assert cleared.status == "awaiting_approval"
    assert cleared.run_key.endswith(f"/{late_run}")


def test_a_clear_of_a_mapped_tasks_run_is_of_its_instances_failing_since(post_airflow_run):
    """Instances of a mapped task fail alike in one DAG run, one ticket: the clear proposed
    for the first is of the run, which the instances counted after it are of too. Its success
    resolves the ticket (no later run failed since), and their failures propose no second
    clear of that run."""
    make_policy(action="airflow_clear", mode="approval", approval_min_confidence=0.0, signals=[])
    run = f"scheduled__{uuid.uuid4().hex[:8]}"
    ticket_id = post_airflow_run(run, map_index=0, try_number=2, state="failed")
    pending = Remediation.objects.get(ticket_id=ticket_id)
    remediation.approve(pending.pk, Actor.system("test"), via="api")
    for index in (1, 2):
        assert post_airflow_run(run, map_index=index, try_number=2, state="failed") == ticket_id

    pending.refresh_from_db()
    assert pending.status == "running"
    remediation.finish(pending.pk, succeeded=True, detail="3 instances succeeded")

    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.status == "resolved"
    assert Remediation.objects.filter(ticket_id=ticket_id).count() == 1


def test_a_mapped_instance_failing_after_its_runs_clear_keeps_the_ticket_open(
    settings, post_airflow_run
):
    """The clear named the instances failing when it was sent; one failing after it was not
    cleared. The success of those cleared leaves the ticket open: that instance still fails,
    and its own success ends the ticket."""
    make_policy(action="airflow_clear", mode="approval", approval_min_confidence=0.0, signals=[])
    run = f"scheduled__{uuid.uuid4().hex[:8]}"
    with FakeAirflow() as airflow:
        settings.AIRFLOW_API_URL = airflow.url
        settings.AIRFLOW_API_TOKEN = ""
        settings.AIRFLOW_USERNAME, settings.AIRFLOW_PASSWORD = airflow.username, airflow.password
        for index in (0, 1):
            airflow.add_task_instance("sales_daily", run, "load_orders", "failed", map_index=index)
        ticket_id = post_airflow_run(run, map_index=0, try_number=3, state="failed")
        pending = Remediation.objects.get(ticket_id=ticket_id)
        remediation.approve(pending.pk, Actor.system("test"), via="api")
        run_pending(ticket_id, rounds=1)  # the clear, of instance 0
        assert post_airflow_run(run, map_index=1, try_number=3, state="failed") == ticket_id

        airflow.finish("sales_daily", run, "load_orders", "success", map_index=0)
        run_pending(ticket_id)

    pending.refresh_from_db()
    assert pending.details["map_indexes"] == [0]
    assert pending.status == "succeeded"
    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.status != "resolved"
    assert "map indexes [1] still fail, which it did not clear" in pending.reason
    assert Remediation.objects.filter(ticket_id=ticket_id).count() == 1

    post_airflow_run(run, map_index=0, try_number=4, state="success", exception=None)
    assert Ticket.objects.get(pk=ticket_id).status != "resolved"
    post_airflow_run(run, map_index=1, try_number=4, state="success", exception=None)
    assert Ticket.objects.get(pk=ticket_id).status == "resolved"
