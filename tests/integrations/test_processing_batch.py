"""A processing task takes a batch of relayed deliveries: each analysed once, as if alone."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from analysis.models import LlmCall
from integrations import processing
from integrations.ingest import ingest_delivery
from integrations.models import DeliveryStatus, OutboundDelivery, WebhookDelivery
from tests.conftest import local_payload, wait_for
from tests.fakes.gemini_api import FakeGemini
from tickets.models import AuditLog, RcaSource, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def gemini(settings):
    with FakeGemini() as fake:
        settings.GEMINI_API_KEY = "test-key-not-a-secret"
        settings.GEMINI_BASE_URL = fake.url
        settings.GEMINI_TIMEOUT_SECONDS = 10.0  # a loaded machine must not make it a timeout
        settings.GEMINI_MAX_ATTEMPTS = 2
        settings.EMBEDDING_BACKEND = "local"
        yield fake


def _ingest(server: str, *, relayed: bool = True) -> WebhookDelivery:
    body = local_payload("adf_failure.json")
    body.update(
        run_id=str(uuid.uuid4()),
        pipeline=f"pl_batch_{uuid.uuid4().hex[:8]}",
        error_message=body["error_message"].replace("sqlsrv-sales", server),
    )
    result = ingest_delivery("adf", json.dumps(body).encode())
    delivery = WebhookDelivery.objects.get(tracking_id=result.tracking_id)
    if relayed:  # what the inbox relay does before it publishes the task
        WebhookDelivery.objects.filter(pk=delivery.pk).update(queued_at=timezone.now())
    return delivery


def test_one_task_processes_the_relayed_batch_each_once(gemini, settings):
    settings.PROCESSING_BATCH = 10
    deliveries = [_ingest(f"sqlsrv-batch-{n}") for n in range(4)]
    not_relayed = _ingest("sqlsrv-batch-late", relayed=False)

    processing.process_delivery(deliveries[2].pk)

    done = WebhookDelivery.objects.filter(pk__in=[d.pk for d in deliveries])
    assert set(done.values_list("status", flat=True)) == {DeliveryStatus.PROCESSED}
    assert set(done.values_list("attempts", flat=True)) == {1}
    # one not yet handed to the queue is left to its own task
    assert WebhookDelivery.objects.get(pk=not_relayed.pk).status == DeliveryStatus.PENDING
    tickets = [d.ticket_id for d in deliveries]
    assert set(Ticket.objects.filter(pk__in=tickets).values_list("rca_source", flat=True)) == {
        RcaSource.GEMINI
    }
    assert len(gemini.generate_requests()) == 4
    assert AuditLog.objects.filter(ticket_id__in=tickets, action="analysed").count() == 4
    assert LlmCall.objects.filter(ticket_id__in=tickets, outcome="ok").count() == 4
    actions = OutboundDelivery.objects.filter(ticket_id__in=tickets).values_list("action")
    assert sorted(a for (a,) in actions) == sorted(["blob_upload", "jira_create", "slack_post"] * 4)
    assert all(Ticket.objects.get(pk=t).embedding is not None for t in tickets), (
        "each ticket's vector is stored"
    )

    # The other tasks of the batch find their deliveries done: nothing happens twice.
    for delivery in deliveries:
        processing.process_delivery(delivery.pk)
    assert len(gemini.generate_requests()) == 4
    assert AuditLog.objects.filter(ticket_id__in=tickets, action="analysed").count() == 4
    assert OutboundDelivery.objects.filter(ticket_id__in=tickets).count() == 12


def test_an_earlier_ticket_of_the_batch_counts_as_similar(gemini, settings):
    """Two pipelines failing alike: the later one lists the earlier one as similar although
    their vectors were not stored when it looked (as it would, had that one been analysed
    before it), and not the other way round."""
    settings.PROCESSING_BATCH = 10
    first, second = _ingest("sqlsrv-alike-1"), _ingest("sqlsrv-alike-2")

    processing.process_delivery(first.pk)

    one, two = Ticket.objects.get(pk=first.ticket_id), Ticket.objects.get(pk=second.ticket_id)
    assert [s["id"] for s in two.details["similar"]] == [one.pk]
    assert one.details["similar"] == []
    assert two.details["similar"][0]["similarity"] >= settings.SIMILARITY_FLOOR


def test_a_delivery_another_worker_holds_is_left_to_it(gemini, settings):
    settings.PROCESSING_BATCH = 10
    held, free = _ingest("sqlsrv-held"), _ingest("sqlsrv-free")
    params = dict(connection.get_connection_params())
    for django_only in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(django_only, None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute(
            "SELECT pg_advisory_lock(%s, (%s::bigint %% 4294967296 - 2147483648)::int4)",
            [processing._CLAIM_LOCK, held.pk],
        )
        processing.process_delivery(held.pk)  # its own task: held elsewhere, so nothing
        assert WebhookDelivery.objects.get(pk=held.pk).status == DeliveryStatus.PENDING
        assert WebhookDelivery.objects.get(pk=free.pk).status == DeliveryStatus.PROCESSED

    # the holder's session ended (as a killed worker's would): the delivery is free again, once
    # its server process has gone (a moment after the client closed the connection)
    def processed_now() -> bool:
        processing.process_delivery(held.pk)
        return WebhookDelivery.objects.get(pk=held.pk).status == DeliveryStatus.PROCESSED

    wait_for(processed_now, timeout=10)
    tickets = [held.ticket_id, free.ticket_id]
    assert AuditLog.objects.filter(ticket_id__in=tickets, action="analysed").count() == 2
