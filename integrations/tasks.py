import time

from celery import shared_task
from django.conf import settings

from integrations import fanout, inbox_stats, processing, relay, remediation
from integrations.circuit import redis_client
from rca_project.celery import DATABASE_UNAVAILABLE
from rca_project.observability import worker_heartbeat_key


@shared_task(
    autoretry_for=DATABASE_UNAVAILABLE,
    retry_backoff=2,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=8,
)
def process_delivery(delivery_id: int) -> None:
    processing.process_delivery(delivery_id)


@shared_task(
    autoretry_for=DATABASE_UNAVAILABLE,
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=None,  # the delivery waits out an outage; its own attempts are counted apart
)
def deliver_outbound(outbound_id: int, target: str) -> str:
    """One attempt at one delivery. `target` only routes the task: each target has its own
    queue (integrations/targets/__init__.py), so a slow or dead target never holds up the
    others; a retry goes back to the same queue."""
    result = fanout.deliver(outbound_id)
    if result.retry_in is not None:
        # A new message, not `self.retry()`: its Retry exception has Celery build a traceback
        # every time, and a paced storm waits for its slots thousands of times. A message the
        # broker refuses leaves the delivery pending for beat's `redeliver_stale`.
        fanout.enqueue(outbound_id, target, countdown=result.retry_in)
    return result.status


@shared_task
def redeliver_unfinished_deliveries() -> int:
    grace = settings.OUTBOUND_REDELIVER_GRACE_SECONDS
    return processing.redeliver_unfinished(relay.publish_tasks) + fanout.redeliver_stale(grace)


@shared_task
def apply_retention() -> int:
    return processing.apply_retention()


@shared_task
def apply_outbound_retention() -> int:
    return fanout.apply_outbound_retention()


@shared_task
def heartbeat() -> None:
    """Scheduled by beat; the readiness check looks at when a worker last ran it."""
    redis_client().set(worker_heartbeat_key(), time.time(), ex=600)


@shared_task
def ping(counter_key: str = "rca:worker:pings") -> None:
    """Proof of life: counts in Redis (the benchmarks and tests use it; the readiness check reads
    the heartbeat instead)."""
    redis_client().incr(counter_key)


@shared_task(autoretry_for=(OSError,), retry_backoff=2, max_retries=3)
def tell_slack_user_not_allowed(
    channel_id: str,
    slack_user_id: str,
    reason: str,
    response_url: str = "",
    thread_ts: str = "",
) -> None:
    """The ephemeral answer to a Slack click that carried no authority (best effort)."""
    from integrations.slack_authority import tell_not_allowed

    tell_not_allowed(
        channel_id, slack_user_id, reason, response_url=response_url, thread_ts=thread_ts
    )


@shared_task(autoretry_for=(OSError,), retry_backoff=2, max_retries=3)
def tell_slack_user(
    channel_id: str,
    slack_user_id: str,
    message: str,
    response_url: str = "",
    thread_ts: str = "",
) -> None:
    """An ephemeral answer to a Slack click whose outcome the alert does not show (it changed
    nothing, ran as a dry run, or kept a fix typed late), saying so (best effort)."""
    from integrations.slack_authority import tell

    tell(channel_id, slack_user_id, message, response_url=response_url, thread_ts=thread_ts)


@shared_task
def expire_remediation_approvals() -> int:
    """Scheduled by beat: approvals past REMEDIATION_APPROVAL_SECONDS expire; remediations whose
    action died or whose result did not come in time fail."""
    return remediation.sweep()


@shared_task
def skip_switched_off_remediations(remediation_ids: list[int]) -> int:
    """A policy was switched off, set to another action or deleted: its waiting remediations
    are skipped at once."""
    return remediation.skip_switched_off(remediation_ids)


@shared_task
def propose_remediation(ticket_id: str) -> None:
    """A later attempt after a failed one (the policy's backoff has passed)."""
    remediation.propose(ticket_id)


@shared_task
def fold_inbox_stats() -> int:
    return inbox_stats.fold()
