"""Remediation: clear a failed Airflow task instance so that the scheduler runs it again, and
watch it (Airflow 3's stable REST API, `/api/v2`, through the official `apache-airflow-client`
3.x package).

Before the clear, the task instance is read (`GET .../taskInstances/{task_id}`, each mapped
instance's): one no longer failed (cleared or retried since, running, succeeded) is not cleared
again, and the remediation ends skipped naming its state and try (`_not_failed_now`), unless
this delivery's earlier attempt sent the clear and its worker stopped before recording it
(`remediating.send_start`): that try is then watched as the clear's, as is one failed again in
a later try than the ticket's (`try_number`), not cleared a second time.
`POST /api/v2/dags/{dag_id}/clearTaskInstances` with the run, the task (for a mapped task,
`[task_id, map_index]` for each of its instances still failing on the ticket: its
`FAILING_MAP_INDEXES`), `only_failed`, `include_downstream` and `reset_dag_runs` clears it;
`GET /api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}` (or `.../{map_index}` for
each mapped instance cleared) is polled until each is in one of Airflow's finished states:
success, failed or upstream_failed end the remediation as such (the first instance failing
again fails it); skipped or removed end it skipped (the task did not run). Credentials:
AIRFLOW_API_URL and either AIRFLOW_API_TOKEN (a JWT) or AIRFLOW_USERNAME / AIRFLOW_PASSWORD,
exchanged for a JWT at `POST /auth/token` (Airflow 3's token endpoint) when a call needs one
(rca_project/airflow_api.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from integrations import remediation as service
from integrations.models import OutboundDelivery, Remediation
from integrations.targets.base import (
    DEFAULT_TIMEOUT,
    Action,
    FollowUp,
    Target,
    TransportError,
    fresh_ticket,
    is_transient_status,
    parse_retry_after,
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
from rca_project import airflow_api
from rca_project.airflow_api import AirflowApi, AirflowApiError
from tickets.vocabulary import AIRFLOW_DAG_RUN_TASK, FAILING_MAP_INDEXES

CLEAR, WATCH = "airflow_clear", "airflow_watch"
# Airflow's finished task instance states (`State.finished`) other than success: each ends a
# watch, the others (none yet, queued, running, up_for_retry, deferred, ...) keep it going.
FAILED_STATES = {"failed", "upstream_failed"}
NOT_RUN_STATES = {
    "skipped": "Airflow skipped it (a branch not taken, or a short-circuit upstream)",
    "removed": "Airflow marked it removed (the task is no longer in the DAG)",
}
NOTE = "cleared by the RCA service's remediation"


class AirflowTransport:
    """Airflow's `/api/v2` through `airflow_client.client` (one ApiClient per transport, from
    rca_project/airflow_api.py: the token and the deployment check the log analysis uses too)."""

    name = "airflow_clear"

    def __init__(
        self,
        base_url: str,
        *,
        token: str = "",
        username: str = "",
        password: str = "",
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        import airflow_client.client as airflow

        self._airflow = AirflowApi(
            base_url, token=token, username=username, password=password, timeout=timeout
        )
        self._timeout = timeout
        self._api = airflow.TaskInstanceApi(self._airflow.client)

    @classmethod
    def configured(cls) -> bool:
        return airflow_api.configured()

    @classmethod
    def from_settings(cls) -> AirflowTransport | None:
        from django.conf import settings

        if not cls.configured():
            return None
        return cls(
            settings.AIRFLOW_API_URL,
            token=settings.AIRFLOW_API_TOKEN,
            username=settings.AIRFLOW_USERNAME,
            password=settings.AIRFLOW_PASSWORD,
            timeout=settings.OUTBOUND_TIMEOUT_SECONDS,
        )

    def _call(self, what: str, call: Any) -> Any:
        try:
            return self._airflow.call(what, call)
        except AirflowApiError as exc:
            raise _transport_error(exc) from exc

    def clear(
        self, dag_id: str, run_id: str, task_id: str, map_indexes: Sequence[int]
    ) -> list[str]:
        """Clear the failed task instance (the mapped instances `map_indexes`; none: the task
        is not mapped) and its downstream ones; returns what was cleared. An Airflow 3
        release whose ClearTaskInstancesBody has no `note` (3.1's has none) and forbids fields
        it does not know answers 422 naming it: the clear is sent once more without one (the
        refused request cleared nothing)."""
        tasks: list[Any] = [[task_id, index] for index in map_indexes] or [task_id]
        what = f"clear {dag_id}.{task_id}"
        try:
            result = self._airflow.call(what, lambda: self._clear(dag_id, run_id, tasks, NOTE))
        except AirflowApiError as exc:
            if not _refuses_note(exc):
                raise _transport_error(exc) from exc
            result = self._call(what, lambda: self._clear(dag_id, run_id, tasks, None))
        return [_instance_name(ti) for ti in result.task_instances or []]

    def _clear(self, dag_id: str, run_id: str, tasks: list[Any], note: str | None) -> Any:
        from airflow_client.client.models import (
            ClearTaskInstancesBody,
            ClearTaskInstancesBodyTaskIdsInner,
        )

        fields: dict[str, Any] = {"note": note} if note is not None else {}
        body = ClearTaskInstancesBody(
            dry_run=False,
            dag_run_id=run_id,
            task_ids=[ClearTaskInstancesBodyTaskIdsInner(task) for task in tasks],
            only_failed=True,
            include_downstream=True,
            reset_dag_runs=True,
            **fields,
        )
        return self._api.post_clear_task_instances(dag_id, body, _request_timeout=self._timeout)

    def task_state(self, dag_id: str, run_id: str, task_id: str, map_index: int) -> str:
        return self.task_instance(dag_id, run_id, task_id, map_index)[0]

    def task_instance(
        self, dag_id: str, run_id: str, task_id: str, map_index: int
    ) -> tuple[str, int | None]:
        """(state, try_number) of the task instance (of its mapped instance `map_index`)."""
        if map_index >= 0:
            instance = self._call(
                f"get {dag_id}.{task_id}[{map_index}]",
                lambda: self._api.get_mapped_task_instance(
                    dag_id, run_id, task_id, map_index, _request_timeout=self._timeout
                ),
            )
        else:
            instance = self._call(
                f"get {dag_id}.{task_id}",
                lambda: self._api.get_task_instance(
                    dag_id, run_id, task_id, _request_timeout=self._timeout
                ),
            )
        state = instance.state
        try_number = instance.try_number
        return (
            str(state.value if hasattr(state, "value") else state or ""),
            None if try_number is None else int(try_number),
        )


def _instance_name(instance: Any) -> str:
    """`task#try`, or `task[map index]#try` for a mapped instance."""
    map_index = getattr(instance, "map_index", None)
    task = (
        instance.task_id
        if map_index is None or map_index < 0
        else f"{instance.task_id}[{map_index}]"
    )
    return f"{task}#{instance.try_number}"


def _transport_error(exc: AirflowApiError) -> TransportError:
    """A refusal as the engine weighs it; no answer (status None) may be tried again. A failed
    login sent nothing it logged in for, nor did a call that never reached Airflow (its
    connection refused, its host not resolved). A 404 or 410 that is not Airflow's
    (`_not_airflows_answer`) is tried again too."""
    status = exc.status
    proxied = _not_airflows_answer(exc)
    permanent = status is not None and not is_transient_status(status) and not proxied
    return TransportError(
        f"{exc} (not Airflow's answer: the proxy in front of it may be routing to no server)"
        if proxied
        else str(exc),
        permanent=permanent,
        retry_after=parse_retry_after(exc.retry_after),
        status=status,
        unsent=exc.login or exc.unsent,
    )


def _not_airflows_answer(exc: AirflowApiError) -> bool:
    """A 404 or 410 whose body is not Airflow's: its API names what it does not have in JSON
    (`{"detail": "The Dag with ID: `d` was not found"}`; Airflow 2 adds `status` and `title`),
    so another answer came from a proxy or ingress in front of it (one routing to no server
    while Airflow's API server is being replaced). It says nothing of the DAG or run, and the
    call carried nothing out: unlike Airflow's own 404 (`remediation.not_found_there`), it is
    tried again. (A 404 from the token endpoint says AIRFLOW_API_URL is not an Airflow 3 API
    server's root, `airflow_api`: not this.)"""
    if exc.login or exc.status not in service.NOT_FOUND:
        return False
    try:
        answer = json.loads(exc.body)
    except ValueError:
        return True
    return not (isinstance(answer, dict) and "detail" in answer)


def _refuses_note(exc: AirflowApiError) -> bool:
    """A 422 whose validation errors name the body's `note` (FastAPI's answer to a field the
    body model forbids: `{"detail": [{"type": "extra_forbidden", "loc": ["body", "note"]}]}`)."""
    if exc.status != 422:
        return False
    try:
        detail = json.loads(exc.body).get("detail")
    except (ValueError, AttributeError):
        return False
    return isinstance(detail, list) and any(
        isinstance(item, dict) and list(item.get("loc") or [])[-1:] == ["note"] for item in detail
    )


def unreachable(entity: dict[str, Any]) -> str:
    """Why the ticket's run cannot be cleared from here ('' when it can): asked before a clear
    is proposed, and again as it is sent. A DAG run's own failure names no task instance
    (Airflow would clear nothing); a task that ran on another deployment is not this
    Airflow's (`airflow_api.other_deployment`)."""
    if entity.get("task_id") == AIRFLOW_DAG_RUN_TASK:
        return (
            "the failure is the DAG run's own (e.g. it timed out), not a task's: there is no "
            "task instance to clear; clear the run's tasks in Airflow"
        )
    return airflow_api.other_deployment(entity)


def _task(entity: dict[str, Any]) -> tuple[str, str, str, int]:
    dag_id, run_id, task_id = entity.get("dag_id"), entity.get("run_id"), entity.get("task_id")
    if not (dag_id and run_id and task_id):
        raise TransportError("the alert does not name the DAG, run and task", permanent=True)
    why_not = unreachable(entity)
    if why_not:
        raise TransportError(why_not, permanent=True)
    try:
        map_index = int(entity.get("map_index", -1))
    except (TypeError, ValueError):
        map_index = -1
    return str(dag_id), str(run_id), str(task_id), map_index


def _mapped_instances(row: OutboundDelivery, map_index: int) -> list[int]:
    """The mapped instances a clear acts on: those still failing on the ticket (it counts
    every instance of the task that failed alike), the run's own `map_index` among them;
    [] for a task that is not mapped."""
    if map_index < 0:
        return []
    failing = (fresh_ticket(row).details or {}).get(FAILING_MAP_INDEXES)
    indexes = {index for index in failing or [] if isinstance(index, int) and index >= 0}
    return sorted({*indexes, map_index})


def _not_failed_now(
    airflow: AirflowTransport, dag_id: str, run_id: str, task_id: str, map_indexes: list[int]
) -> str:
    """Why no clear is sent ('' when one is): none of the instances to clear is failed now.
    Cleared since (people in Airflow's UI, another clear), retried, running or succeeded: a
    clear beside that try would only restart it (or clear nothing, `only_failed`). A mapped
    instance of an earlier run that this run does not map (Airflow's 404) is not one to clear;
    the ticket's own instance missing is Airflow's 404, raised, as is a 404 that is not
    Airflow's answer (`_not_airflows_answer`: it says nothing of the instance, and is tried
    again)."""
    seen: list[str] = []
    own = map_indexes[0]
    for index in map_indexes:
        name = task_id if index < 0 else f"{task_id}[{index}]"
        try:
            state, try_number = airflow.task_instance(dag_id, run_id, task_id, index)
        except TransportError as exc:
            if exc.status == 404 and exc.permanent and index != own:
                continue
            raise
        if state in FAILED_STATES:
            return ""
        tried = f", try {try_number}" if try_number is not None else ""
        seen.append(f"{dag_id}.{name} is {state or 'cleared (no state yet)'}{tried}")
    if not seen:
        return ""
    return (
        f"{'; '.join(seen)} in {run_id}: not failed now (cleared or retried since the failure,"
        " or running or done); no clear was sent, and the ticket stays open: that try's"
        " outcome, as Airflow reports it, decides the ticket"
    )


def _failed_again_since(
    airflow: AirflowTransport,
    row: OutboundDelivery,
    remediation: Remediation,
    task: tuple[str, str, str, int],
) -> bool:
    """Whether the ticket's instance is failed in a later try than the one the ticket reported
    as the remediation started (`remediation.REPORTED_TRY`; the ticket's details' `try_number`
    for one started before it was kept): a clear ran it again since, and it failed again. Not
    the one the ticket reports now: that try's own failure, reported since, would say it is
    no later. False when the ticket names no try."""
    dag_id, run_id, task_id, map_index = task
    reported = service.reported_on_start(remediation, service.REPORTED_TRY)
    if reported is None:
        reported = fresh_ticket(row).details.get("try_number")
    if not str(reported or "").isdigit():
        return False
    state, try_number = airflow.task_instance(dag_id, run_id, task_id, map_index)
    return state in FAILED_STATES and try_number is not None and try_number > int(reported)


def _clear(airflow: AirflowTransport, row: OutboundDelivery) -> list[FollowUp] | None:
    remediation = remediation_of(row)
    if remediation is None:
        return None
    task = _task(target_run(row, remediation))
    dag_id, run_id, task_id, map_index = task
    map_indexes = _mapped_instances(row, map_index)
    # The run's own instance first: its 404 is Airflow not having what the ticket names.
    to_read = [map_index, *(index for index in map_indexes if index != map_index)]
    not_failed = _not_failed_now(airflow, dag_id, run_id, task_id, to_read)
    if sent_unrecorded(row) and (
        not_failed or _failed_again_since(airflow, row, remediation, task)
    ):
        # This delivery's earlier attempt sent the clear, and its worker stopped before it was
        # recorded: the try running (or done, or failed again) now is the one it started,
        # watched as such (a second clear of a try that failed again would be a second start).
        name = f"{dag_id}/{run_id}/{task_id}"
        return adopt_start(WATCH, remediation, name, map_indexes=map_indexes)
    if not_failed:
        service.finish_not_run(remediation.pk, detail=not_failed)
        return None
    cleared = send_start(row, lambda: airflow.clear(dag_id, run_id, task_id, map_indexes))
    if not cleared:
        raise TransportError(
            f"nothing to clear: {dag_id}.{task_id} in {run_id} is not failed", permanent=True
        )
    # Watched: those this run has and the clear cleared (an index failing in an earlier run
    # may not be mapped in this one, whose instance Airflow has not: a 404).
    names = {name.rpartition("#")[0] for name in cleared}
    watched = [index for index in map_indexes if f"{task_id}[{index}]" in names]
    service.record_started(
        remediation.pk,
        f"{dag_id}/{run_id}/{task_id}",
        cleared=cleared,
        map_indexes=watched or map_indexes,
    )
    key = f"remediation:{remediation.pk}:{WATCH}:0"
    return [FollowUp(WATCH, payload={"remediation_id": remediation.pk}, key_suffix=key)]


def _watch(airflow: AirflowTransport, row: OutboundDelivery) -> list[FollowUp] | None:
    """The cleared instance's new try; of a mapped task's, each cleared instance's: the first
    that fails again fails the remediation, which succeeds once all of them succeeded, and ends
    skipped once all have finished, one of them without running (`NOT_RUN_STATES`)."""
    remediation = remediation_of(row)
    if remediation is None:
        return None
    dag_id, run_id, task_id, map_index = _task(target_run(row, remediation))
    # A clear sent before mapped instances shared a ticket kept none: its run's instance.
    kept = remediation.details.get("map_indexes")
    map_indexes = [int(index) for index in kept] if kept else [map_index]
    states = {}
    for index in map_indexes:
        name = task_id if index < 0 else f"{task_id}[{index}]"
        try:
            state = airflow.task_state(dag_id, run_id, task_id, index)
        except TransportError as exc:
            return look_again_later(WATCH, row, remediation, exc)
        if state in FAILED_STATES:
            service.finish(remediation.pk, succeeded=False, detail=f"{dag_id}.{name} {state}")
            return None
        states[name] = state
    if not all(state == "success" or state in NOT_RUN_STATES for state in states.values()):
        return keep_watching(WATCH, row, remediation)
    not_run = {name: state for name, state in states.items() if state in NOT_RUN_STATES}
    if not_run:
        name, state = next(iter(not_run.items()))
        service.finish_not_run(
            remediation.pk,
            detail=f"{dag_id}.{name} was cleared but did not run: {NOT_RUN_STATES[state]}; "
            "whether the fix works is not known, and the ticket stays open",
        )
        return None
    cleared = (
        f"{dag_id}.{task_id}"
        if map_indexes == [map_index]
        else (f"{len(map_indexes)} instances of {dag_id}.{task_id}")
    )
    service.finish(remediation.pk, succeeded=True, detail=f"{cleared} succeeded")
    return None


TARGET: Target = Target(
    name="airflow_clear",
    label="Airflow clear",
    connect=AirflowTransport.from_settings,
    configured=AirflowTransport.configured,
    gave_up=gave_up,
    unreachable=unreachable,
    settings=(
        "AIRFLOW_API_URL",
        "AIRFLOW_API_TOKEN",
        "AIRFLOW_USERNAME",
        "AIRFLOW_PASSWORD",
        "OUTBOUND_TIMEOUT_SECONDS",
    ),
    not_configured=(
        "Airflow clears need AIRFLOW_API_URL and AIRFLOW_API_TOKEN "
        "(or AIRFLOW_USERNAME and AIRFLOW_PASSWORD)"
    ),
    actions={
        CLEAR: Action(_clear, "Clear the failed Airflow task instances"),
        WATCH: Action(_watch, "Watch the cleared Airflow task"),
    },
)
