"""Dedup under real concurrency: a threaded live server, 50 simultaneous identical posts."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC

import pytest
import requests
from django.conf import settings

from integrations.models import WebhookDelivery
from tests.conftest import local_payload
from tickets.models import AuditLog, Occurrence, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def _post_many(url: str, bodies: list[dict]) -> list[requests.Response]:
    headers = {"X-Webhook-Token": settings.WEBHOOK_TOKEN, "Content-Type": "application/json"}
    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(
            pool.map(
                lambda body: requests.post(url, data=json.dumps(body), headers=headers, timeout=30),
                bodies,
            )
        )


def test_fifty_concurrent_identical_posts_make_one_ticket(live_server):
    body = local_payload("adf_failure.json")

    responses = _post_many(f"{live_server.url}/webhooks/adf/", [body] * 50)

    assert [r.status_code for r in responses] == [202] * 50
    outcomes = sorted(r.json()["outcome"] for r in responses)
    assert outcomes == ["created"] + ["duplicate"] * 49
    assert len({r.json()["ticket_id"] for r in responses}) == 1
    assert Ticket.objects.count() == 1
    assert Ticket.objects.get().occurrence_count == 1
    assert WebhookDelivery.objects.count() == 50


def test_concurrent_retries_of_one_airflow_task_share_one_ticket(live_server):
    base = local_payload("airflow_failure.json")
    bodies = [{**base, "try_number": n} for n in range(1, 11)] * 2

    responses = _post_many(f"{live_server.url}/webhooks/airflow/", bodies)

    assert all(r.status_code == 202 for r in responses)
    assert Ticket.objects.count() == 1
    assert Ticket.objects.get().occurrence_count == 10
    assert Occurrence.objects.count() == 10


def test_a_databricks_runs_own_failure_and_its_tasks_posted_at_once_are_one_ticket(live_server):
    """A run's job and task notifications sent together, in either order: both on one ticket
    (they are serialized on the run's own failure; the second finds the first)."""
    from tests.tickets.test_memory import databricks

    bodies = []
    for run in range(8):
        bodies += [
            databricks("jobs.on_failure", "42", f"run-{run}", task="ingest", message="OOM"),
            databricks("jobs.on_failure", "42", f"run-{run}", message="Job failed: OOM"),
        ]
        if run % 2:
            bodies[-2:] = bodies[-1:-3:-1]

    responses = _post_many(f"{live_server.url}/webhooks/databricks/", bodies)

    assert [r.status_code for r in responses] == [202] * 16
    tickets = [r.json()["ticket_id"] for r in responses]
    assert all(tickets[n] == tickets[n + 1] for n in range(0, 16, 2)), tickets


def test_a_new_tickets_id_taken_in_the_same_second_is_drawn_again(webhook_client, monkeypatch):
    """A ticket id is its second and 24 random bits: at a few hundred new failures a second, two
    draw the same one now and then. The webhook is then ingested again with another id, not
    answered 500."""
    import secrets
    from datetime import timedelta

    from django.utils import timezone

    from tests.api import make_ticket

    now = timezone.now()
    taken = "c011de"
    # Whichever second the webhook's ticket is stamped with, its first id is taken.
    for offset in range(-2, 30):
        at = now + timedelta(seconds=offset)
        make_ticket(id=f"ADF-{at.astimezone(UTC):%Y%m%dT%H%M%S}-{taken}", timestamp=at)
    draws = iter([taken, "0f4e55"])
    token_hex = secrets.token_hex
    monkeypatch.setattr(secrets, "token_hex", lambda n=None: next(draws, None) or token_hex(n))

    answer = webhook_client("/webhooks/adf/", local_payload("adf_failure.json"))

    assert answer.status_code == 202
    assert answer.json()["outcome"] == "created"
    assert answer.json()["ticket_id"].endswith("-0f4e55")
    assert WebhookDelivery.objects.filter(tracking_id=answer.json()["tracking_id"]).count() == 1
    assert Occurrence.objects.filter(ticket_id=answer.json()["ticket_id"]).count() == 1


def test_the_instances_of_a_mapped_task_failing_at_once_are_one_ticket_until_all_succeed(
    live_server,
):
    """Thirty instances of one mapped task fail alike at once, each delivered twice: one
    ticket counting each instance once. Their successes, at once, end it once, after the last."""
    url = f"{live_server.url}/webhooks/airflow/"
    base = {**local_payload("airflow_failure.json"), "state": "failed"}
    failures = [{**base, "map_index": n} for n in range(30)] * 2

    responses = _post_many(url, failures)

    assert [r.status_code for r in responses] == [202] * 60
    (ticket,) = Ticket.objects.all()
    assert ticket.occurrence_count == 30
    assert ticket.details["failing_map_indexes"] == list(range(30))
    assert sorted(r.json()["outcome"] for r in responses).count("duplicate") == 30

    successes = [{**base, "map_index": n, "state": "success"} for n in range(30)]
    assert [r.status_code for r in _post_many(url, successes)] == [202] * 30

    ticket.refresh_from_db()
    assert ticket.resolved_at_source_at is not None
    assert ticket.details["failing_map_indexes"] == []
    assert AuditLog.objects.filter(ticket=ticket, action="resolved at source").count() == 1
    kept = AuditLog.objects.filter(ticket=ticket, action="mapped instance recovered")
    assert kept.count() == 29
