"""A mapped Airflow task (`.expand()`): its instances failing alike in a run are one ticket,
which recovers once every instance counted on it has succeeded."""

from __future__ import annotations

from typing import Any

import pytest

from analysis.airflow_log import TaskTry, task_try_of
from integrations.targets.jira import jira_summary
from integrations.targets.slack import slack_alert
from tests.conftest import local_payload
from tests.dashboard.test_pages import client_for
from tickets.fingerprints import failure_fingerprint
from tickets.models import AuditLog, Occurrence, Ticket
from tickets.vocabulary import FAILED_MAP_INDEXES, FAILING_MAP_INDEXES

pytestmark = pytest.mark.django_db

AIRFLOW = "/webhooks/airflow/"
RUN = "scheduled__2025-12-10T00:00:00+00:00"
OTHER_ERROR = "ValueError: column 'amount' holds text"


def instance(map_index: int, **fields: Any) -> dict[str, Any]:
    """The sample failure (a final one) of instance `map_index` of load_orders."""
    body = local_payload("airflow_failure.json")
    return {**body, "state": "failed", "map_index": map_index, **fields}


def success(map_index: int, **fields: Any) -> dict[str, Any]:
    return instance(map_index, state="success", exception=None, **fields)


def test_thirty_instances_failing_alike_are_one_ticket_counting_each(webhook_client):
    answers = [webhook_client(AIRFLOW, instance(n)).json() for n in range(30)]

    assert [a["outcome"] for a in answers] == ["created"] + ["correlated"] * 29
    (ticket,) = Ticket.objects.all()
    assert {a["ticket_id"] for a in answers} == {ticket.pk}
    assert ticket.pipeline == "sales_daily.load_orders"
    assert ticket.occurrence_count == 30
    assert ticket.details[FAILED_MAP_INDEXES] == list(range(30))
    assert ticket.details[FAILING_MAP_INDEXES] == list(range(30))
    assert Occurrence.objects.filter(ticket=ticket).count() == 30


def test_a_redelivered_instance_is_a_duplicate_and_its_retry_one_more_occurrence(webhook_client):
    first = webhook_client(AIRFLOW, instance(0)).json()
    webhook_client(AIRFLOW, instance(7))

    again = webhook_client(AIRFLOW, instance(7)).json()
    retry = webhook_client(AIRFLOW, instance(7, try_number=2)).json()

    assert again == {**again, "outcome": "duplicate", "ticket_id": first["ticket_id"]}
    assert retry["outcome"] == "correlated" and retry["ticket_id"] == first["ticket_id"]
    ticket = Ticket.objects.get(pk=first["ticket_id"])
    assert ticket.occurrence_count == 3
    assert ticket.details[FAILED_MAP_INDEXES] == [0, 7]


def test_instances_failing_with_another_error_are_a_ticket_of_their_own(webhook_client):
    alike = [webhook_client(AIRFLOW, instance(n)).json()["ticket_id"] for n in (0, 1)]
    other = [
        webhook_client(AIRFLOW, instance(n, exception=OTHER_ERROR)).json()["ticket_id"]
        for n in (2, 3)
    ]

    assert alike[0] == alike[1] != other[0] == other[1]
    assert Ticket.objects.get(pk=other[0]).details[FAILED_MAP_INDEXES] == [2, 3]


def test_the_ticket_recovers_when_the_last_failed_instance_succeeds(webhook_client):
    ticket_id = webhook_client(AIRFLOW, instance(0)).json()["ticket_id"]
    for n in (1, 2):
        webhook_client(AIRFLOW, instance(n))

    webhook_client(AIRFLOW, success(1))
    webhook_client(AIRFLOW, success(5))  # an instance that did not fail

    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.resolved_at_source_at is None
    assert ticket.details[FAILING_MAP_INDEXES] == [0, 2]
    kept = AuditLog.objects.filter(ticket_id=ticket_id, action="mapped instance recovered")
    assert [entry.details["map_index"] for entry in kept] == [1]

    webhook_client(AIRFLOW, success(0))
    assert Ticket.objects.get(pk=ticket_id).resolved_at_source_at is None
    webhook_client(AIRFLOW, success(2))

    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.resolved_at_source_at is not None
    assert ticket.details[FAILING_MAP_INDEXES] == []
    assert ticket.details[FAILED_MAP_INDEXES] == [0, 1, 2]


def test_an_instance_success_names_the_ticket_counting_it_not_the_other_errors_ticket(
    webhook_client,
):
    """Instances failing with another error are a ticket of their own, with the same recovery
    key: an instance's success that keeps its ticket open is answered, and its occurrence
    kept, on that ticket, not on the newer ticket of the other error (nor on any, for an
    instance neither counts)."""
    alike = webhook_client(AIRFLOW, instance(0)).json()["ticket_id"]
    webhook_client(AIRFLOW, instance(1))
    other = webhook_client(AIRFLOW, instance(7, exception=OTHER_ERROR)).json()["ticket_id"]
    assert alike != other

    answer = webhook_client(AIRFLOW, success(1, try_number=2)).json()
    never_failed = webhook_client(AIRFLOW, success(5)).json()

    assert (answer["outcome"], answer["ticket_id"]) == ("ignored", alike)
    occurrence = Occurrence.objects.get(key__endswith="#try2:ok")
    assert occurrence.ticket_id == alike
    assert (never_failed["outcome"], never_failed["ticket_id"]) == ("ignored", None)
    assert not Occurrence.objects.filter(ticket_id=other, key__endswith=":ok").exists()


def test_an_instance_failing_after_the_recovery_reopens_the_ticket_with_itself_alone(
    webhook_client,
):
    ticket_id = webhook_client(AIRFLOW, instance(0)).json()["ticket_id"]
    webhook_client(AIRFLOW, instance(1))
    webhook_client(AIRFLOW, success(0))
    webhook_client(AIRFLOW, success(1))

    later_run = {"run_id": "manual__2025-12-11", "logical_date": "2025-12-11T00:00:00+00:00"}
    again = webhook_client(AIRFLOW, instance(4, **later_run)).json()

    assert again["ticket_id"] == ticket_id
    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.resolved_at_source_at is None
    assert ticket.details[FAILED_MAP_INDEXES] == [4]
    assert ticket.details[FAILING_MAP_INDEXES] == [4]


def test_a_ticket_an_earlier_release_opened_for_one_instance_keeps_its_repeats(webhook_client):
    """Before this release, each mapped instance was a task of its own: its ticket's keys and
    fingerprint name its map index. A later try of that instance in that run is still counted
    on it, and that instance's success still ends it."""
    first = webhook_client(AIRFLOW, instance(3)).json()
    prefix = "airflow:airflow.example.com:sales_daily/load_orders"
    message = instance(3)["exception"]
    old = Ticket.objects.get(pk=first["ticket_id"])
    assert old.run_id == f"{prefix}[3]/{RUN}"
    old_fingerprint = failure_fingerprint(
        "airflow",
        "sales_daily.load_orders[3]",
        old.error_type,
        message,
        deployment="airflow.example.com",
    )
    old.pipeline, old.resolve_key = "sales_daily.load_orders[3]", f"{prefix}[3]"
    old.fingerprint = old_fingerprint
    old.details = {k: v for k, v in old.details.items() if "map_indexes" not in k}
    old.save()

    retry = webhook_client(AIRFLOW, instance(3, try_number=2)).json()
    assert (retry["outcome"], retry["ticket_id"]) == ("correlated", old.pk)

    webhook_client(AIRFLOW, success(3, try_number=3))
    assert Ticket.objects.get(pk=old.pk).resolved_at_source_at is not None


def test_the_ticket_names_the_task_and_how_many_of_its_instances_failed(webhook_client):
    ticket_id = webhook_client(AIRFLOW, instance(0)).json()["ticket_id"]
    for n in range(1, 30):
        webhook_client(AIRFLOW, instance(n))
    webhook_client(AIRFLOW, success(4))

    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.mapped_instances == "30 mapped instances failed, 29 still failing"
    assert jira_summary(ticket) == (
        f"[{ticket.severity}] sales_daily.load_orders (30 mapped instances failed,"
        f" 29 still failing): {ticket.error_type} ({ticket.pk})"
    )
    text, blocks = slack_alert(ticket)
    assert "sales_daily.load_orders (30 mapped instances failed, 29 still failing)" in text
    assert "[" not in blocks[0]["text"]["text"]
    page = client_for("viewer").get(f"/tickets/{ticket.pk}/").content.decode()
    assert "30 mapped instances failed, 29 still failing" in page


def test_a_task_that_is_not_mapped_says_nothing_of_instances(webhook_client):
    ticket_id = webhook_client(AIRFLOW, instance(-1)).json()["ticket_id"]

    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.mapped_instances == ""
    assert FAILED_MAP_INDEXES not in ticket.details
    assert jira_summary(ticket).startswith(f"[{ticket.severity}] sales_daily.load_orders: ")


def test_the_log_analysed_is_the_latest_failed_instances_try(webhook_client, settings):
    settings.AIRFLOW_API_URL = "http://127.0.0.1:9"
    settings.AIRFLOW_API_TOKEN = "airflow-token-for-tests"
    settings.AIRFLOW_DEPLOYMENT = "airflow.example.com"
    ticket_id = webhook_client(AIRFLOW, instance(0, try_number=2)).json()["ticket_id"]
    webhook_client(AIRFLOW, instance(3))

    task = task_try_of(Ticket.objects.get(pk=ticket_id))

    assert task == TaskTry("sales_daily", RUN, "load_orders", 1, 3)
