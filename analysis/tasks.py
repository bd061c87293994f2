from celery import shared_task
from django.db import DatabaseError

from analysis import services


@shared_task(autoretry_for=(DatabaseError,), retry_backoff=2, retry_jitter=True, max_retries=8)
def analyse_ticket(ticket_id: str, force: bool = False) -> None:
    services.analyse_ticket(ticket_id, force=force, reason="re-run requested" if force else "")
