"""Tasks published many at once (`rca_project.celery.publish_many`, used by the inbox relay and
the fan-out): on the real Redis broker each reaches its queue routed and delayed as if sent
alone; when the broker fails, the callers treat the whole batch as unsent."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
import redis
from django.utils import timezone

from integrations import fanout, relay, targets
from integrations.ingest import ingest_delivery
from integrations.models import DeliveryStatus, OutboundDelivery, OutboundStatus, WebhookDelivery
from rca_project.celery import app as celery_app
from rca_project.celery import publish_many
from tests.api import make_ticket
from tests.conftest import local_payload

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("migration_data")]


@pytest.fixture
def broker() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(celery_app.conf.broker_url)
    queues = [celery_app.conf.task_default_queue, *targets.outbound_queues()]
    client.delete(*queues)
    yield client
    client.delete(*queues)


@pytest.fixture
def dead_broker(monkeypatch) -> Iterator[None]:
    """The app's producers talk to a port nothing listens on."""
    connection = celery_app.connection_for_write("redis://127.0.0.1:1/0")

    @contextmanager
    def producer_or_acquire(producer: Any = None) -> Iterator[Any]:
        with connection.Producer() as dead:
            yield dead

    monkeypatch.setattr(celery_app, "producer_or_acquire", producer_or_acquire)
    yield
    connection.release()


def _sent(broker: redis.Redis, queue: str) -> list[dict[str, Any]]:
    """The queue's messages in the order a worker takes them (LPUSH in, BRPOP out)."""
    return [json.loads(raw) for raw in reversed(broker.lrange(queue, 0, -1))]


def _ingest(count: int) -> list[int]:
    ids = []
    for index in range(count):
        body = local_payload("adf_failure.json")
        body.update(run_id=f"batch-{index}-{uuid.uuid4().hex[:6]}", pipeline=f"pl_batch_{index}")
        result = ingest_delivery("adf", json.dumps(body).encode())
        ids.append(WebhookDelivery.objects.get(tracking_id=result.tracking_id).pk)
    return ids


def test_each_task_of_a_batch_reaches_its_queue_routed_and_delayed_as_alone(broker):
    before = time.time()
    assert publish_many(
        [
            (targets.DELIVER_TASK, (101, "jira"), None),
            (targets.DELIVER_TASK, (102, "slack"), 30.0),
            (targets.DELIVER_TASK, (103, "jira"), None),
            ("integrations.tasks.ping", ("publish-many",), None),
        ]
    )

    jira = _sent(broker, targets.queue_for("jira"))
    slack = _sent(broker, targets.queue_for("slack"))
    default = _sent(broker, celery_app.conf.task_default_queue)
    assert [m["headers"]["argsrepr"] for m in jira] == ["(101, 'jira')", "(103, 'jira')"]
    assert [m["headers"]["eta"] for m in jira] == [None, None]
    assert [m["headers"]["argsrepr"] for m in slack] == ["(102, 'slack')"]
    eta = datetime.fromisoformat(slack[0]["headers"]["eta"]).timestamp()
    assert before + 29 < eta < time.time() + 31
    assert [m["headers"]["task"] for m in default] == ["integrations.tasks.ping"]


def test_the_relay_hands_its_batch_to_the_broker(broker):
    ids = _ingest(3)

    assert relay.relay_once() == (3, True)

    sent = _sent(broker, celery_app.conf.task_default_queue)
    assert [m["headers"]["task"] for m in sent] == ["integrations.tasks.process_delivery"] * 3
    assert [m["headers"]["argsrepr"] for m in sent] == [f"({pk},)" for pk in sorted(ids)]
    assert not WebhookDelivery.objects.filter(pk__in=ids, queued_at__isnull=True).exists()


def test_a_batch_the_broker_failed_is_put_back_whole(dead_broker, caplog):
    ids = _ingest(3)

    assert relay.relay_once() == (0, False)

    assert "broker unavailable" in caplog.text
    assert set(
        WebhookDelivery.objects.filter(
            status=DeliveryStatus.PENDING, queued_at__isnull=True
        ).values_list("pk", flat=True)
    ) == set(ids)


def test_deliveries_the_broker_failed_are_left_for_redelivery(dead_broker, caplog):
    fanout.enqueue_many([(201, "jira", None), (202, "slack", 5.0)])

    assert "2 outbound deliveries left for redelivery" in caplog.text


def test_beats_redelivery_hands_every_overdue_delivery_out_again_in_one_batch(broker):
    ticket = make_ticket()
    long_ago = timezone.now() - timedelta(minutes=10)

    def delivery(action: str, target: str, due: datetime, status: str) -> OutboundDelivery:
        return OutboundDelivery.objects.create(
            key=f"{ticket.pk}:{action}",
            ticket=ticket,
            action=action,
            target=target,
            payload={},
            next_attempt_at=due,
            status=status,
        )

    lost = [
        delivery("jira_create", "jira", long_ago, OutboundStatus.PENDING),
        delivery("slack_alert", "slack", long_ago, OutboundStatus.PENDING),
    ]
    due_later = delivery("blob_evidence", "blob", timezone.now(), OutboundStatus.PENDING)
    done = delivery("jira_sync", "jira", long_ago, OutboundStatus.SUCCEEDED)

    assert fanout.redeliver_stale(grace_seconds=60) == 2

    assert [m["headers"]["argsrepr"] for m in _sent(broker, targets.queue_for("jira"))] == [
        f"({lost[0].pk}, 'jira')"
    ]
    assert [m["headers"]["argsrepr"] for m in _sent(broker, targets.queue_for("slack"))] == [
        f"({lost[1].pk}, 'slack')"
    ]
    assert _sent(broker, targets.queue_for("blob")) == []
    for row in lost:
        row.refresh_from_db()
        assert row.next_attempt_at > long_ago  # not overdue again until another grace passes
    assert (
        OutboundDelivery.objects.get(pk=due_later.pk).next_attempt_at == due_later.next_attempt_at
    )
    assert OutboundDelivery.objects.get(pk=done.pk).next_attempt_at == long_ago
