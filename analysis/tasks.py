import logging
from typing import Any

from celery import shared_task

from analysis import log_jobs, outage_reruns, services
from rca_project.celery import DATABASE_UNAVAILABLE
from tickets.incidents import DETACHED_NOTE
from tickets.lifecycle import Actor
from tickets.models import Ticket

logger = logging.getLogger(__name__)


@shared_task(autoretry_for=DATABASE_UNAVAILABLE, retry_backoff=2, retry_jitter=True, max_retries=8)
def analyse_ticket(ticket_id: str, force: bool = False, reason: str = "") -> None:
    """`reason`: why a forced analysis runs, put before its note."""
    reason = reason or ("re-run requested" if force else "")
    services.analyse_ticket(ticket_id, force=force, reason=reason)


@shared_task(autoretry_for=DATABASE_UNAVAILABLE, retry_backoff=2, retry_jitter=True, max_retries=5)
def run_log_analysis(job_id: str) -> None:
    """Run a log-analysis job; safe to deliver twice (the job is claimed under a row lock)."""
    log_jobs.run_job(job_id)


@shared_task
def apply_llm_call_retention() -> int:
    return services.apply_llm_call_retention()


@shared_task
def refetch_databricks_errors() -> int:
    return outage_reruns.refetch_databricks_errors(request=request_fresh_rca)


@shared_task
def recover_stale_log_analyses() -> dict[str, int]:
    return log_jobs.recover_stale_jobs()


@shared_task
def rerun_rca_after_outage() -> int:
    return outage_reruns.rerun_after_outage(request=request_fresh_rca)


def request_fresh_rca(ticket_id: str, actor: Actor, *, note: str = "", reason: str = "") -> bool:
    """Staff asked for a new RCA: audit it and re-run the analysis in the background. False
    when one asked for earlier is still under way and answers this request too; the broker's
    refusal is raised (`KombuError`: the API's 503), the request audited as not queued. Not
    to be called inside a transaction: the request is committed with what the broker said.
    `reason`: what the new RCA's note starts with ("re-run requested" when empty)."""
    return services.request_rca(
        ticket_id,
        actor,
        note=note,
        publish=lambda: analyse_ticket.delay(ticket_id, force=True, reason=reason),
    )


def analyse_detached_member(
    sender: Any, incident_id: str, action: str, actor: Actor, ticket_id: str = "", **kwargs: Any
) -> None:
    """A ticket taken out of its incident that carried the incident's analysis is analysed on
    its own (sent after the detach committed). If the broker refuses, its note says to ask for
    a fresh RCA; until then it keeps the incident's text."""
    if action != "detached" or not ticket_id:
        return
    if not Ticket.objects.filter(pk=ticket_id, rca_note__startswith=DETACHED_NOTE).exists():
        return  # it had an analysis of its own
    try:
        analyse_ticket.delay(
            ticket_id, force=True, reason=f"analysed on its own after leaving {incident_id}"
        )
    except Exception:
        logger.exception(
            "could not queue the analysis of %s, detached from %s", ticket_id, incident_id
        )
        Ticket.objects.filter(pk=ticket_id, rca_note__startswith=DETACHED_NOTE).update(
            rca_note=f"{DETACHED_NOTE} {incident_id}: its own analysis could not be queued; "
            "ask for a fresh RCA"
        )
