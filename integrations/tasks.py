from celery import shared_task
from django.db import DatabaseError

from integrations import processing


@shared_task(
    autoretry_for=(DatabaseError,),
    retry_backoff=2,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=8,
)
def process_delivery(delivery_id: int) -> None:
    processing.process_delivery(delivery_id)


@shared_task
def redeliver_unfinished_deliveries() -> int:
    return processing.redeliver_unfinished(process_delivery.delay)


@shared_task
def apply_retention() -> int:
    return processing.apply_retention()
