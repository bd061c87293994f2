"""What the remediation targets (adf_rerun, databricks_repair, airflow_clear, playbook) share.

A remediation target's first action starts the fix and reports it (`remediation.record_started`);
its watch action asks the service how the new run is doing and reports the end
(`remediation.finish`), or asks to be run again REMEDIATION_POLL_SECONDS later. Both do nothing
once the remediation is no longer running (declined, timed out, already finished).

Starting a rerun is not idempotent at any of the services: an attempt whose request may have
reached the service (a timeout, a dropped connection, a server error other than 503) is not
retried, it fails the remediation (`no_second_start`), and people take over. Refusals that
carried nothing out (429, 503), and failures before the start's request was sent (`unsent`: a
login, an ADF token request or connection never made), are retried by the engine as usual.
A worker that dies once its start was sent (before its attempt, and the run id it got,
committed) leaves the start counted in Redis (`send_start`): the delivery handed out again
reads the run, and takes the rerun it finds there for its own (`sent_unrecorded`,
`adopt_start`): watched, not skipped as someone else's. A request sent before the start (the
Databricks cluster's restart before its repair) is counted alike, and not sent again.
A watch's look that gets no answer or a server error looks again later (`look_again_later`):
the rerun runs on meanwhile.
A delivery the engine gives up on (a refusal, a start's retries run out, the target no longer
configured) fails its remediation at once with the error (`gave_up`); a refusal of the service's
own credentials (401, 403) or a 404/410 (what it acts on is not there; an Airflow 404 not
from Airflow's API is tried again first: `airflow_clear`), like a start that may
have reached the service and a watch that reached its deadline, is the last attempt at its run
(people may retry it).

Each acts on the run the remediation started on (`target_run`): the latest failed run counted
on the ticket when it started, not necessarily the ticket's first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings

from integrations import remediation as service
from integrations.models import OutboundDelivery, Remediation
from integrations.targets.base import (
    FollowUp,
    TransportError,
    count_send,
    counted_sends,
    fresh_ticket,
    uncount_send,
)

T = TypeVar("T")

logger = logging.getLogger(__name__)

# A watch's payload key: the look before this one failed (no answer, a server error).
LOOK_FAILED = "look_failed"


def remediation_of(row: OutboundDelivery) -> Remediation | None:
    """The running remediation this delivery acts for; None when it stopped running."""
    return service.running(int(row.payload["remediation_id"]))


def target_run(row: OutboundDelivery, remediation: Remediation) -> dict[str, Any]:
    """The source's names for the run the remediation acts on (`remediation._start` keeps them
    on it); the ticket's latest failed run for one started before they were kept."""
    kept = remediation.details.get("target_run")
    if isinstance(kept, dict) and isinstance(kept.get("entity"), dict):
        return dict(kept["entity"])
    return service.run_entity(fresh_ticket(row))


def gave_up(row: OutboundDelivery) -> None:
    """The engine gave up on this delivery (dead or skipped): its remediation fails now, with
    the error, rather than on beat's next sweep."""
    remediation_id = row.payload.get("remediation_id")
    if remediation_id is not None:
        service.action_died(
            int(remediation_id), row.status, row.last_error, service.last_status(row)
        )


# Server errors that say the request was not carried out: a start refused with one is sent
# again. Any other server error (500, 502, 504) may come after the service started the rerun.
NOT_CARRIED_OUT = {503}


def no_second_start(call: Callable[[], T]) -> T:
    """Run a start call; a failure that may have carried the start out is made permanent."""
    try:
        return call()
    except TransportError as exc:
        if (
            not exc.permanent
            and not exc.unsent
            and (exc.status is None or (exc.status >= 500 and exc.status not in NOT_CARRIED_OUT))
        ):
            raise TransportError(
                f"{exc} {service.MAY_HAVE_STARTED}",
                permanent=True,
            ) from exc
        raise


def send_start(row: OutboundDelivery, call: Callable[[], T], *, step: str = "") -> T:
    """Send a rerun's start once (`no_second_start`), counted in Redis before it is sent
    (committed at once, unlike the attempt, which a worker that dies before its commit rolls
    back with the run id it got): a delivery handed out again after that finds it counted
    (`sent_unrecorded`) and takes the rerun it then reads at the service for the one it
    started. A start refused before it acted (429, 503) or never sent is taken back.
    `step`: a request the start sends before the rerun's own, counted apart (a cluster's
    restart before the Databricks repair, `databricks_repair`)."""
    count_send(row, step)
    try:
        return no_second_start(call)
    except TransportError as exc:
        if not exc.permanent:  # refused or never sent: nothing ran, it is sent again
            uncount_send(row, step)
        raise


def sent_unrecorded(row: OutboundDelivery, *, step: str = "") -> bool:
    """Whether an earlier attempt of this delivery sent its start (`send_start`; of `step`,
    that request) and ended without recording what it started (its worker stopped: killed,
    lost): the rerun the service shows since is taken for that start's, not someone else's
    (should that start not have reached the service, a rerun people made before this delivery
    came again is taken for it, and watched alike); a step is not sent again. False when Redis
    cannot tell (nor remember, then: the run is read as before, a later run is taken for
    someone else's, and a step is sent again)."""
    return bool(counted_sends(row, step))


# Kept on a remediation whose start an earlier attempt sent and did not record
# (`adopt_start`): the run or repair it follows was read at the service.
STARTED_UNRECORDED = "start_unrecorded"


def adopt_start(
    watch: str, remediation: Remediation, external_run_id: str, **details: Any
) -> list[FollowUp]:
    """Record the rerun an earlier attempt started (`sent_unrecorded`), as that attempt would
    have, and watch it: its outcome ends the remediation as its start's would (succeeded,
    failed, still running), instead of a skip naming it as someone else's rerun."""
    logger.warning(
        "remediation %s: an earlier attempt sent its start and stopped before recording it; "
        "following %s",
        remediation.pk,
        external_run_id,
    )
    service.record_started(remediation.pk, external_run_id, **details, **{STARTED_UNRECORDED: True})
    key = f"remediation:{remediation.pk}:{watch}:0"
    return [FollowUp(watch, payload={"remediation_id": remediation.pk}, key_suffix=key)]


def watch_later(
    action: str, row: OutboundDelivery, *, failed: TransportError | None = None
) -> FollowUp:
    """Look again in REMEDIATION_POLL_SECONDS, or once the Retry-After of a look `failed`
    (throttled) has passed, when later."""
    poll = int(row.payload.get("poll", 0)) + 1
    remediation_id = int(row.payload["remediation_id"])
    payload: dict[str, Any] = {"remediation_id": remediation_id, "poll": poll}
    if failed is not None:
        payload[LOOK_FAILED] = True
    return FollowUp(
        action,
        delay=max(settings.REMEDIATION_POLL_SECONDS, (failed and failed.retry_after) or 0.0),
        payload=payload,
        key_suffix=f"remediation:{remediation_id}:{action}:{poll}",
    )


def keep_watching(
    action: str,
    row: OutboundDelivery,
    remediation: Remediation,
    *,
    failed: TransportError | None = None,
) -> list[FollowUp]:
    """Still running (or the look `failed`): look again later, unless the watch has lasted too
    long (then the remediation fails, and no next attempt follows: the rerun may still be
    running)."""
    if service.watch_deadline_passed(remediation):
        detail = f"no result within {settings.REMEDIATION_WATCH_SECONDS} s"
        service.finish(
            remediation.pk,
            succeeded=False,
            detail=f"{detail} (last look: {failed})" if failed is not None else detail,
            no_next_attempt=service.WATCH_TIMED_OUT,
        )
        return []
    return [watch_later(action, row, failed=failed)]


def look_again_later(
    action: str, row: OutboundDelivery, remediation: Remediation, error: TransportError
) -> list[FollowUp]:
    """A look at the rerun got no answer or a server error: the rerun goes on regardless, so
    the watch looks again later, up to its deadline, rather than dying with the engine's
    retries (the remediation failed while its rerun runs, and the next attempt started beside
    it). A refusal for good (401, 403, 404) still fails it."""
    if error.permanent:
        raise error
    # Warned once per outage, not at every poll until the deadline.
    level = logging.INFO if row.payload.get(LOOK_FAILED) else logging.WARNING
    logger.log(level, "remediation %s: %s; looking again later", remediation.pk, error)
    return keep_watching(action, row, remediation, failed=error)
