from celery import shared_task

from tickets import lifecycle


@shared_task
def mark_sla_breaches() -> int:
    return lifecycle.mark_sla_breaches()
