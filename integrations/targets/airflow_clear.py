"""Remediation: clear a failed Airflow task instance so that the scheduler runs it again, and
watch it (Airflow 3's stable REST API, `/api/v2`, through the official `apache-airflow-client`
3.x package).

`POST /api/v2/dags/{dag_id}/clearTaskInstances` with the run, the task (and its map index),
`only_failed`, `include_downstream` and `reset_dag_runs` clears it; `GET /api/v2/dags/{dag_id}/
dagRuns/{run_id}/taskInstances/{task_id}` (or `.../{map_index}` for a mapped task) is polled
until the instance is in one of Airflow's finished states: success, failed or upstream_failed
end the remediation as such; skipped or removed end it skipped (the task did not run).
Credentials: AIRFLOW_API_URL and either AIRFLOW_API_TOKEN (a JWT) or AIRFLOW_USERNAME /
AIRFLOW_PASSWORD, exchanged for a JWT at `POST /auth/token` (Airflow 3's token endpoint) when a
call needs one (rca_project/airflow_api.py).
"""

from __future__ import annotations

import json
from typing import Any

from integrations import remediation as service
from integrations.models import OutboundDelivery
from integrations.targets.base import (
    DEFAULT_TIMEOUT,
    Action,
    FollowUp,
    Target,
    TransportError,
    is_transient_status,
    parse_retry_after,
)
from integrations.targets.remediating import (
    gave_up,
    keep_watching,
    look_again_later,
    no_second_start,
    remediation_of,
    target_run,
)
from rca_project import airflow_api
from rca_project.airflow_api import AirflowApi, AirflowApiError
from tickets.vocabulary import AIRFLOW_DAG_RUN_TASK

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

    def clear(self, dag_id: str, run_id: str, task_id: str, map_index: int) -> list[str]:
        """Clear the failed task instance (and its downstream ones); returns what was cleared.
        An Airflow 3 release whose ClearTaskInstancesBody has no `note` (3.1's has none) and
        forbids fields it does not know answers 422 naming it: the clear is sent once more
        without one (the refused request cleared nothing)."""
        task: Any = [task_id, map_index] if map_index >= 0 else task_id
        what = f"clear {dag_id}.{task_id}"
        try:
            result = self._airflow.call(what, lambda: self._clear(dag_id, run_id, task, NOTE))
        except AirflowApiError as exc:
            if not _refuses_note(exc):
                raise _transport_error(exc) from exc
            result = self._call(what, lambda: self._clear(dag_id, run_id, task, None))
        return [f"{ti.task_id}#{ti.try_number}" for ti in result.task_instances or []]

    def _clear(self, dag_id: str, run_id: str, task: Any, note: str | None) -> Any:
        from airflow_client.client.models import (
            ClearTaskInstancesBody,
            ClearTaskInstancesBodyTaskIdsInner,
        )

        fields: dict[str, Any] = {"note": note} if note is not None else {}
        body = ClearTaskInstancesBody(
            dry_run=False,
            dag_run_id=run_id,
            task_ids=[ClearTaskInstancesBodyTaskIdsInner(task)],
            only_failed=True,
            include_downstream=True,
            reset_dag_runs=True,
            **fields,
        )
        return self._api.post_clear_task_instances(dag_id, body, _request_timeout=self._timeout)

    def task_state(self, dag_id: str, run_id: str, task_id: str, map_index: int) -> str:
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
        return str(state.value if hasattr(state, "value") else state or "")


def _transport_error(exc: AirflowApiError) -> TransportError:
    """A refusal as the engine weighs it; no answer (status None) may be tried again. A failed
    login sent nothing it logged in for."""
    status = exc.status
    permanent = status is not None and not is_transient_status(status)
    return TransportError(
        str(exc),
        permanent=permanent,
        retry_after=parse_retry_after(exc.retry_after),
        status=status,
        unsent=exc.login,
    )


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


def _clear(airflow: AirflowTransport, row: OutboundDelivery) -> list[FollowUp] | None:
    remediation = remediation_of(row)
    if remediation is None:
        return None
    dag_id, run_id, task_id, map_index = _task(target_run(row, remediation))
    cleared = no_second_start(lambda: airflow.clear(dag_id, run_id, task_id, map_index))
    if not cleared:
        raise TransportError(
            f"nothing to clear: {dag_id}.{task_id} in {run_id} is not failed", permanent=True
        )
    service.record_started(remediation.pk, f"{dag_id}/{run_id}/{task_id}", cleared=cleared)
    key = f"remediation:{remediation.pk}:{WATCH}:0"
    return [FollowUp(WATCH, payload={"remediation_id": remediation.pk}, key_suffix=key)]


def _watch(airflow: AirflowTransport, row: OutboundDelivery) -> list[FollowUp] | None:
    remediation = remediation_of(row)
    if remediation is None:
        return None
    dag_id, run_id, task_id, map_index = _task(target_run(row, remediation))
    try:
        state = airflow.task_state(dag_id, run_id, task_id, map_index)
    except TransportError as exc:
        return look_again_later(WATCH, row, remediation, exc)
    if state == "success":
        service.finish(remediation.pk, succeeded=True, detail=f"{dag_id}.{task_id} succeeded")
    elif state in FAILED_STATES:
        service.finish(remediation.pk, succeeded=False, detail=f"{dag_id}.{task_id} {state}")
    elif state in NOT_RUN_STATES:
        service.finish_not_run(
            remediation.pk,
            detail=f"{dag_id}.{task_id} was cleared but did not run: {NOT_RUN_STATES[state]}; "
            "whether the fix works is not known, and the ticket stays open",
        )
    else:
        return keep_watching(WATCH, row, remediation)
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
        CLEAR: Action(_clear, "Clear the failed Airflow task instance"),
        WATCH: Action(_watch, "Watch the cleared Airflow task"),
    },
)
