from celery import shared_task

from tickets import lifecycle, rollup


@shared_task
def mark_sla_breaches() -> int:
    return lifecycle.mark_sla_breaches()


@shared_task
def fold_ticket_stats() -> int:
    return rollup.fold()
