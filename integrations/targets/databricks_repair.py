"""Remediation: repair a failed Databricks job run (rerun its failed tasks and what depends on
them), optionally restarting the cluster first, and watch the run (databricks-sdk).

`jobs.repair_run(run_id, rerun_tasks=[failed task keys], rerun_dependent_tasks=True,
latest_repair_id=...)` repairs the run in place; `clusters.restart(cluster_id)` restarts the
failed task's all-purpose cluster first (`databricks_restart`); `jobs.get_run` is polled until
the run ends again. A run none of whose tasks failed last (repaired since, or running again:
another ticket's repair of it reruns them too) is not repaired: the remediation ends skipped;
so is one repaired since its failure reached the ticket by a repair this service did not send
(people, in the Jobs UI or the API: `_repaired_by_others`), and one a newer run of whose job
succeeded since (jobs/runs/list: `newer_success`). A repair this delivery's earlier attempt
sent, its worker stopping before it recorded the repair id (`remediating.send_start`), is
followed as the repair it started; a cluster restart it sent is not sent again (counted alike).
The repairs of one run are sent one at a time (`_sending_alone`).
Credentials: DATABRICKS_HOST and DATABRICKS_TOKEN (a personal access token;
no host-metadata discovery probe, as for the analysis's client).
"""

from __future__ import annotations

import re
import zlib
from datetime import datetime
from functools import cache, partial
from itertools import islice
from typing import Any

from django.conf import settings
from django.db import connection

from analysis.enrichment import pat_workspace_client
from analysis.redaction import redacted_head
from integrations import remediation as service
from integrations.models import OutboundDelivery, Remediation
from integrations.targets.base import (
    DEFAULT_TIMEOUT,
    MAX_RETRY_AFTER_SECONDS,
    Action,
    FollowUp,
    Target,
    TransportError,
    Waiting,
    fresh_ticket,
    is_transient_status,
)
from integrations.targets.remediating import (
    adopt_start,
    gave_up,
    keep_watching,
    look_again_later,
    remediation_of,
    send_start,
    sent_unrecorded,
    target_run,
)
from tickets.databricks_workspace import other_workspace

REPAIR, RESTART, WATCH = "databricks_repair", "databricks_restart", "databricks_watch"
FAILED_TASK_STATES = {"FAILED", "TIMEDOUT", "CANCELED", "MAXIMUM_CONCURRENT_RUNS_REACHED"}
ENDED = {"TERMINATED", "SKIPPED", "INTERNAL_ERROR"}
NEWER_RUNS_LOOKED_AT = 100
_CONFIG_DUMP = re.compile(r"\. Config: .*$", re.DOTALL)  # the SDK appends its configuration


class DatabricksTransport:
    """The Jobs and Clusters APIs through `databricks.sdk.WorkspaceClient` (PAT auth)."""

    name = "databricks_repair"

    def __init__(self, host: str, token: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        retry_seconds = max(1, int(timeout))
        self._client = pat_workspace_client(
            host,
            token,
            http_timeout_seconds=retry_seconds,
            retry_timeout_seconds=retry_seconds,
            clock=_capped_clock()(retry_seconds),
        )

    @classmethod
    def configured(cls) -> bool:
        from django.conf import settings

        return bool(settings.DATABRICKS_HOST and settings.DATABRICKS_TOKEN)

    @classmethod
    def from_settings(cls) -> DatabricksTransport | None:
        from django.conf import settings

        if not cls.configured():
            return None
        return cls(
            settings.DATABRICKS_HOST,
            settings.DATABRICKS_TOKEN,
            timeout=settings.OUTBOUND_TIMEOUT_SECONDS,
        )

    def get_run(self, run_id: int) -> Any:
        # With its repair history (runs/get lists none unless asked): a repair after the run's
        # first names the latest repair's id, or Databricks refuses it.
        return _call(
            f"get run {run_id}",
            lambda: self._client.jobs.get_run(run_id, include_history=True),
        )

    def newer_success(self, run: Any) -> Any | None:
        """A run of `run`'s job started after it that succeeded (jobs/runs/list, completed
        runs, newest first; at most NEWER_RUNS_LOOKED_AT of them), else None."""
        if run.job_id is None or run.start_time is None:
            return None
        runs = _call(
            f"list runs of job {run.job_id}",
            lambda: list(
                islice(
                    self._client.jobs.list_runs(
                        job_id=run.job_id,
                        start_time_from=run.start_time + 1,
                        completed_only=True,
                    ),
                    NEWER_RUNS_LOOKED_AT,
                )
            ),
        )
        return next(
            (
                other
                for other in runs
                if other.run_id != run.run_id
                and other.state is not None
                and other.state.result_state is not None
                and other.state.result_state.value == "SUCCESS"
            ),
            None,
        )

    def restart_cluster(self, cluster_id: str) -> None:
        # `restart` returns a waiter; the repair that follows waits for the cluster itself.
        _call(f"restart cluster {cluster_id}", lambda: self._client.clusters.restart(cluster_id))

    def repair(self, run_id: int, task_keys: list[str], latest_repair_id: int | None) -> int:
        """Repair the run's tasks; returns the repair id."""
        waiter = _call(
            f"repair run {run_id}",
            lambda: self._client.jobs.repair_run(
                run_id,
                rerun_tasks=task_keys or None,
                rerun_all_failed_tasks=None if task_keys else True,
                rerun_dependent_tasks=True if task_keys else None,
                latest_repair_id=latest_repair_id,
            ),
        )
        return int(waiter.response.repair_id)


def _status_of(exc: Exception) -> int | None:
    from databricks.sdk.errors.platform import STATUS_CODE_MAPPING

    for cls in type(exc).__mro__:
        for status, mapped in STATUS_CODE_MAPPING.items():
            if cls is mapped:
                return status
    return None


@cache
def _capped_clock() -> type:
    """The SDK's clock, except that a wait between its retries lasts at most their deadline's
    span: the SDK sleeps a 429's or 503's whole Retry-After (an hour, if asked) before it looks
    at its deadline, holding the worker. The engine waits the rest (`_refusal`)."""
    from databricks.sdk.clock import RealClock

    class CappedClock(RealClock):
        def __init__(self, longest: float) -> None:
            self._longest = longest

        def sleep(self, seconds: float) -> None:
            super().sleep(min(seconds, self._longest))

    return CappedClock


def _refusal(what: str, exc: Exception) -> TransportError:
    status = _status_of(exc)
    retry_after = getattr(exc, "retry_after_secs", None)  # the SDK's reading of Retry-After
    # Redacted before it is cut: a cut inside a URL's password leaves a start no rule knows.
    message = redacted_head(_CONFIG_DUMP.sub("", str(exc).strip()), 300)
    return TransportError(
        f"{what}: {status or ''} {message}".strip(),
        permanent=not is_transient_status(status) if status else False,
        retry_after=None if retry_after is None else min(retry_after, MAX_RETRY_AFTER_SECONDS),
        status=status,
    )


def _call(what: str, call: Any) -> Any:
    import requests
    from databricks.sdk.errors import DatabricksError

    try:
        return call()
    except TimeoutError as exc:
        if isinstance(exc.__cause__, DatabricksError):
            # The SDK's own retries of a refusal (429, 503) ran out of time: it is the answer.
            raise _refusal(what, exc.__cause__) from exc
        raise TransportError(f"{what}: {type(exc).__name__}", permanent=False) from exc
    except DatabricksError as exc:
        raise _refusal(what, exc) from exc
    except requests.RequestException as exc:
        raise TransportError(f"{what}: {type(exc).__name__}", permanent=False) from exc


def _failed_tasks(run: Any) -> list[Any]:
    """The tasks whose latest attempt failed. runs/get lists every attempt of a retried task
    (`attempt_number`): one that failed and then succeeded on a retry is not rerun."""
    latest: dict[str, Any] = {}
    for task in run.tasks or []:
        key = task.task_key or f"run {task.run_id}"
        known = latest.get(key)
        if known is None or (task.attempt_number or 0) >= (known.attempt_number or 0):
            latest[key] = task
    return [
        task
        for task in latest.values()
        if task.state is not None
        and task.state.result_state is not None
        and task.state.result_state.value in FAILED_TASK_STATES
    ]


def _nothing_failed(run_id: int, run: Any) -> str:
    """Why no repair is sent of a run none of whose tasks failed last (runs/get)."""
    repairs = [item.id for item in run.repair_history or [] if item.id is not None]
    state = run.state
    life_cycle = state.life_cycle_state.value if state and state.life_cycle_state else ""
    if life_cycle not in ENDED:
        being = f"being repaired (repair {repairs[-1]})" if repairs else "running"
        return (
            f"run {run_id} is {being}, none of its tasks failed now: no repair was sent"
            " beside it, and the ticket stays open"
        )
    since = f" since its repair {repairs[-1]}" if repairs else ""
    return (
        f"run {run_id} has no failed task to repair{since}: no repair was sent,"
        " and the ticket stays open"
    )


def _repairs_since(run: Any, since: datetime) -> list[Any]:
    """The run's repairs started after `since` (the ticket's latest failure) that no
    remediation names (none of this service's recorded repairs), oldest first."""
    since_ms = since.timestamp() * 1000
    later = [
        item
        for item in run.repair_history or []
        if item.id is not None and item.start_time is not None and item.start_time > since_ms
    ]
    ours = set(
        Remediation.objects.filter(
            action__in=(REPAIR, RESTART), external_run_id__in=[str(item.id) for item in later]
        ).values_list("external_run_id", flat=True)
    )
    return [item for item in later if str(item.id) not in ours]


def _unrecorded_own_repair(row: OutboundDelivery, run: Any, since: datetime) -> int | None:
    """The id of the repair this delivery's earlier attempt sent and did not record (its
    worker stopped: `sent_unrecorded`): the latest repair since the ticket's failure (as the
    remediation started: `_failed_as_started`) that no remediation names; None when there is
    none, or no such attempt."""
    others = _repairs_since(run, since)
    if not others or not sent_unrecorded(row):
        return None
    return int(others[-1].id)


def _failed_as_started(remediation: Remediation, last_seen: datetime) -> datetime:
    """The ticket's latest failure as the remediation started (`remediation.LAST_SEEN`), not
    as it is now: the failure of the repair its earlier attempt sent, reported since (as a
    failure of the run: `repaired_runs`), is later than that repair. `last_seen` (the
    ticket's now) for a remediation started before it was kept."""
    kept = service.reported_on_start(remediation, service.LAST_SEEN)
    return datetime.fromisoformat(kept) if isinstance(kept, str) else last_seen


def _repaired_by_others(run_id: int, run: Any, since: datetime) -> str:
    """Why no repair is sent of a run repaired since `since` (the ticket's latest failure) by
    a repair this service did not send (no remediation names it), whose tasks failed again:
    people are on it, and a repair beside theirs is not this service's to make ('' when
    none)."""
    others = _repairs_since(run, since)
    if not others:
        return ""
    latest = others[-1]
    state = latest.state
    ended = state.result_state.value.lower() if state and state.result_state else "ended"
    return (
        f"run {run_id} was repaired since its failure reached the ticket (repair {latest.id},"
        f" not sent by this service, {ended}): no repair was sent beside it, and the ticket"
        " stays open for people"
    )


def _newer_succeeded(run_id: int, run: Any, newer: Any) -> str:
    return (
        f"a newer run {newer.run_id} of job {run.job_id} succeeded since run {run_id} failed:"
        " no repair was sent, and the ticket stays open: that success, as Databricks reports"
        " it, decides the ticket"
    )


# Namespace of the advisory locks a run's repairs are sent under, one at a time (two-key
# form; tickets/services.py, tickets/incidents.py and analysis/services.py use 1 to 6).
_SENDING_LOCK = 0x72657061  # "repa"


def _sending_alone(run_id: int) -> bool:
    """Whether this delivery holds the run's sending lock now, until its transaction (the
    engine's, `fanout.deliver`) ends: the repairs of one run, another ticket's among them
    (each reruns every failed task), are sent one at a time. Two sent at once each read the
    run's tasks failed before the other's repair reached Databricks, and both were sent (the
    later refused with a 400: its repair id was no longer the run's latest). Not acquired: the
    delivery waits (`Waiting`, tried again later), then reads the run as the other left it
    (being repaired: nothing is sent)."""
    key = zlib.crc32(f"{settings.DATABRICKS_HOST}\n{run_id}".encode()) - 2**31
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [_SENDING_LOCK, key])
        row = cursor.fetchone()
    return bool(row and row[0])


def _run_id(entity: dict[str, Any]) -> int:
    try:
        return int(entity["run_id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise TransportError("the alert does not name the Databricks run", permanent=True) from exc


def _restart_step(cluster_id: str) -> str:
    """The `send_start` step of a cluster's restart (counted apart from the repair)."""
    return f"restart:{cluster_id}"


def _start(
    dbx: DatabricksTransport, row: OutboundDelivery, *, restart: bool
) -> list[FollowUp] | None:
    remediation = remediation_of(row)
    if remediation is None:
        return None
    entity = target_run(row, remediation)
    elsewhere = other_workspace(entity)  # asked when proposed, and again as it is sent
    if elsewhere:
        raise TransportError(elsewhere, permanent=True)
    run_id = _run_id(entity)
    if not _sending_alone(run_id):
        raise Waiting(f"another repair of run {run_id} is being sent")
    run = dbx.get_run(run_id)
    since = fresh_ticket(row).last_seen
    unrecorded = _unrecorded_own_repair(row, run, _failed_as_started(remediation, since))
    if unrecorded is not None:
        # This delivery's earlier attempt sent it, and its worker stopped before the repair id
        # was recorded: followed as the repair it started, not skipped as people's.
        return adopt_start(WATCH, remediation, str(unrecorded), run_id=run_id)
    failed = _failed_tasks(run)
    if run.tasks and not failed:
        # Repaired since (another ticket's repair of the run, as each reruns every failed task
        # of it, or people's), its tasks succeeding or running again: Databricks refuses a
        # repair of no task ("At least one task must be rerun"). Nothing is sent, nor tried
        # again, and no second repair runs beside one.
        service.finish_not_run(remediation.pk, detail=_nothing_failed(run_id, run))
        return None
    repaired = _repaired_by_others(run_id, run, since)
    if repaired:
        service.finish_not_run(remediation.pk, detail=repaired)
        return None
    newer = dbx.newer_success(run)
    if newer is not None:
        service.finish_not_run(remediation.pk, detail=_newer_succeeded(run_id, run, newer))
        return None
    keys = [task.task_key for task in failed if task.task_key]
    details: dict[str, Any] = {"run_id": run_id, "tasks": keys}
    if restart:
        clusters = sorted(
            {
                str(cluster)
                for task in failed
                if (
                    cluster := task.existing_cluster_id
                    or (task.cluster_instance.cluster_id if task.cluster_instance else None)
                )
            }
        )
        if not clusters:
            raise TransportError("the failed tasks ran on no all-purpose cluster", permanent=True)
        done = set(remediation.details.get("restarted_clusters", []))
        for cluster_id in clusters:
            if cluster_id in done:
                continue  # restarted by an earlier attempt whose repair was refused (429/503)
            step = _restart_step(cluster_id)
            # Not sent again when an earlier attempt sent it and its worker stopped before the
            # note below committed (rolled back with the attempt): counted in Redis.
            if not sent_unrecorded(row, step=step):
                send_start(row, partial(dbx.restart_cluster, cluster_id), step=step)
            done.add(cluster_id)
            service.note(remediation.pk, restarted_clusters=sorted(done))
        details["restarted_clusters"] = clusters
    history = run.repair_history or []
    latest = next((item.id for item in reversed(history) if item.id is not None), None)
    repair_id = send_start(row, partial(dbx.repair, run_id, keys, latest))
    service.record_started(remediation.pk, str(repair_id), **details)
    key = f"remediation:{remediation.pk}:{WATCH}:0"
    return [FollowUp(WATCH, payload={"remediation_id": remediation.pk}, key_suffix=key)]


def _repair(dbx: DatabricksTransport, row: OutboundDelivery) -> list[FollowUp] | None:
    return _start(dbx, row, restart=False)


def _restart_and_repair(dbx: DatabricksTransport, row: OutboundDelivery) -> list[FollowUp] | None:
    return _start(dbx, row, restart=True)


def _watch(dbx: DatabricksTransport, row: OutboundDelivery) -> list[FollowUp] | None:
    remediation = remediation_of(row)
    if remediation is None:
        return None
    try:
        run = dbx.get_run(_run_id(target_run(row, remediation)))
    except TransportError as exc:
        return look_again_later(WATCH, row, remediation, exc)
    state = run.state
    life_cycle = state.life_cycle_state.value if state and state.life_cycle_state else ""
    if life_cycle not in ENDED:
        return keep_watching(WATCH, row, remediation)
    result = state.result_state.value if state and state.result_state else ""
    repair = remediation.external_run_id
    if result == "SUCCESS":
        service.finish(remediation.pk, succeeded=True, detail=f"repair {repair} succeeded")
    else:
        message = (state.state_message if state else "") or ""
        detail = f"repair {repair} ended {result or life_cycle}: {message}"
        service.finish(remediation.pk, succeeded=False, detail=detail)
    return None


TARGET: Target = Target(
    name="databricks_repair",
    label="Databricks repair",
    connect=DatabricksTransport.from_settings,
    configured=DatabricksTransport.configured,
    gave_up=gave_up,
    settings=("DATABRICKS_HOST", "DATABRICKS_TOKEN", "OUTBOUND_TIMEOUT_SECONDS"),
    not_configured="Databricks repairs need DATABRICKS_HOST and DATABRICKS_TOKEN",
    # A run of another workspace than DATABRICKS_HOST's: the same run id there is another run.
    unreachable=other_workspace,
    actions={
        REPAIR: Action(_repair, "Repair the Databricks run's failed tasks"),
        RESTART: Action(_restart_and_repair, "Restart the cluster, then repair the run"),
        WATCH: Action(_watch, "Watch the Databricks repair"),
    },
)
