"""A posted failure travels the whole spine: webhook → inbox → ticket → real Celery worker → RCA."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from kombu.exceptions import OperationalError

from analysis import services as analysis_services
from analysis.services import analyse_ticket
from integrations import processing
from integrations.ingest import ingest_delivery
from integrations.models import DeliveryStatus, OutboundDelivery, WebhookDelivery
from integrations.tasks import process_delivery
from rca_project.celery import app as celery_app
from tests.conftest import local_payload, shared_payload, wait_for
from tickets.models import AuditLog, RcaSource, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def _analysed(ticket_id: str) -> Ticket | None:
    return Ticket.objects.filter(pk=ticket_id).exclude(rca_source="pending").first()


def test_worker_classifies_and_writes_a_rule_based_rca(celery_worker, webhook_client):
    answer = webhook_client("/webhooks/airflow/", local_payload("airflow_failure.json")).json()

    ticket = wait_for(lambda: _analysed(answer["ticket_id"]))

    assert ticket.rca_source == "rules"
    # A refused connection to a database server: the dev set labels it DatabaseError.
    assert ticket.error_type in {"DatabaseError", "NetworkError"}
    assert ticket.rca_result
    assert 3 <= len(ticket.recommendations) <= 5
    assert 0 < ticket.confidence <= 0.8
    assert AuditLog.objects.filter(ticket=ticket, action="analysed", actor_kind="system").exists()
    delivery = wait_for(
        lambda: WebhookDelivery.objects.filter(
            tracking_id=answer["tracking_id"], status=DeliveryStatus.PROCESSED
        ).first()
    )
    assert delivery.attempts == 1


def test_duplicates_are_finished_without_new_work(celery_worker, webhook_client):
    body = shared_payload("databricks_job_run_on_failure.json")
    first = webhook_client("/webhooks/databricks/", body).json()
    wait_for(lambda: _analysed(first["ticket_id"]))
    again = webhook_client("/webhooks/databricks/", body).json()

    duplicate = WebhookDelivery.objects.get(tracking_id=again["tracking_id"])
    assert (again["outcome"], duplicate.status) == ("duplicate", DeliveryStatus.PROCESSED)
    wait_for(lambda: not WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).exists())
    assert AuditLog.objects.filter(ticket_id=first["ticket_id"], action="analysed").count() == 1


def test_delivery_accepted_while_the_broker_is_down_is_relayed_once_it_is_back(
    celery_worker, monkeypatch
):
    """The broker refuses the relay's publish: the webhook had answered already, the inbox row
    stays pending and is put back for the relay, which hands it over once the broker is back.
    (The fault suite stops the real Redis; here the publish call itself fails.)"""
    refused: list[tuple] = []

    send_task = celery_app.send_task

    def broker_down(name, *args, **kwargs):
        if name != process_delivery.name:
            return send_task(name, *args, **kwargs)
        refused.append(args)
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(celery_app, "send_task", broker_down)
    result = ingest_delivery("adf", _adf_body("broker-down-run"))
    delivery = WebhookDelivery.objects.get(tracking_id=result.tracking_id)

    wait_for(lambda: refused)
    wait_for(
        lambda: WebhookDelivery.objects.filter(
            pk=delivery.pk, status=DeliveryStatus.PENDING, queued_at__isnull=True
        ).exists()
    )
    assert Ticket.objects.get(pk=result.ticket_id).rca_source == "pending"
    monkeypatch.undo()

    ticket_id = result.ticket_id
    assert ticket_id is not None
    assert wait_for(lambda: _analysed(ticket_id)).rca_source == "rules"
    wait_for(
        lambda: WebhookDelivery.objects.filter(
            pk=delivery.pk, status=DeliveryStatus.PROCESSED
        ).exists()
    )


def test_a_delivery_whose_task_was_lost_is_redelivered_by_beat_once_a_period():
    """The relay handed it over but the task never ran (Redis lost it, a worker died): beat's
    redelivery publishes it again, then not again until REDELIVER_AFTER has passed once more
    (beat runs every minute; a backlog must not be published anew each time)."""
    result = ingest_delivery("adf", _adf_body("lost-task-run"))
    lost = WebhookDelivery.objects.filter(tracking_id=result.tracking_id)
    lost.update(queued_at=timezone.now() - timedelta(minutes=10))
    published: list[list[int]] = []

    def publish(ids):
        published.append(list(ids))
        return len(ids)

    with override_settings(REDELIVER_AFTER=timedelta(minutes=5)):
        assert processing.redeliver_unfinished(publish) == 1
        assert processing.redeliver_unfinished(publish) == 0

    assert published == [[lost.get().pk]]
    requeued_at = lost.get().queued_at
    assert requeued_at is not None and requeued_at > timezone.now() - timedelta(minutes=1)


def test_a_redelivery_the_broker_refused_goes_back_to_the_relay():
    result = ingest_delivery("adf", _adf_body("refused-redelivery-run"))
    lost = WebhookDelivery.objects.filter(tracking_id=result.tracking_id)
    lost.update(queued_at=timezone.now() - timedelta(minutes=10))

    with override_settings(REDELIVER_AFTER=timedelta(minutes=5)):
        assert processing.redeliver_unfinished(lambda ids: 0) == 0

    assert lost.get().queued_at is None  # the relay's to publish, as soon as the broker is back


def test_processing_twice_is_harmless():
    result = ingest_delivery("adf", _adf_body("twice-run"))
    delivery = WebhookDelivery.objects.get(tracking_id=result.tracking_id)

    processing.process_delivery(delivery.pk)
    processing.process_delivery(delivery.pk)

    assert AuditLog.objects.filter(ticket_id=result.ticket_id, action="analysed").count() == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PROCESSED


def test_a_redelivery_after_the_analysis_committed_schedules_each_target_once():
    """The worker died after the RCA was written but before the delivery ended: the redelivered
    task writes no second RCA and makes no second JIRA, Slack or Blob delivery."""
    result = ingest_delivery("adf", _adf_body("died-after-analysis"))
    delivery = WebhookDelivery.objects.get(tracking_id=result.tracking_id)
    assert result.ticket_id is not None
    analyse_ticket(result.ticket_id)  # what the first run committed before it died

    processing.process_delivery(delivery.pk)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.PENDING)
    processing.process_delivery(delivery.pk)  # and once more, as if its end were lost too

    actions = OutboundDelivery.objects.filter(ticket_id=result.ticket_id).values_list(
        "action", flat=True
    )
    assert sorted(actions) == ["blob_upload", "jira_create", "slack_post"]
    assert AuditLog.objects.filter(ticket_id=result.ticket_id, action="analysed").count() == 1


def test_an_rca_finished_meanwhile_is_not_overwritten():
    """Two copies of the analysis race: the one that writes second finds the ticket analysed,
    writes nothing and answers with what the first one wrote."""
    result = ingest_delivery("airflow", json.dumps(local_payload("airflow_failure.json")).encode())
    stale = Ticket.objects.get(pk=result.ticket_id)  # read while still pending
    first = analyse_ticket(stale.pk)
    assert first is not None

    work = analysis_services._Work(stale, "Unknown", (), [])
    work.analysis = analysis_services.Analysis(
        error_type="Unknown",
        rca_result="a later, different answer",
        recommendations=["nothing"],
        confidence=0.1,
        rca_source=RcaSource.RULES,
        rca_note="late copy",
    )
    late = analysis_services._save([work], force=False)[stale.pk]

    stored = Ticket.objects.get(pk=stale.pk)
    assert stored.rca_result == first.rca_result != "a later, different answer"
    assert late.rca_result == stored.rca_result
    assert AuditLog.objects.filter(ticket_id=stale.pk, action="analysed").count() == 1


def _adf_body(run_id: str) -> bytes:
    body = local_payload("adf_failure.json")
    body["run_id"] = run_id
    return json.dumps(body).encode()
