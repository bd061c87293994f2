"""Remediation: clear a failed Airflow task instance so that the scheduler runs it again, and
watch it (Airflow 3's stable REST API, `/api/v2`, through the official `apache-airflow-client`
3.x package).

`POST /api/v2/dags/{dag_id}/clearTaskInstances` with the run, the task (and its map index),
`only_failed`, `include_downstream` and `reset_dag_runs` clears it; `GET /api/v2/dags/{dag_id}/
dagRuns/{run_id}/taskInstances/{task_id}` (or `.../{map_index}` for a mapped task) is polled
until the new try ends. Credentials: AIRFLOW_API_URL and either AIRFLOW_API_TOKEN (a JWT) or
AIRFLOW_USERNAME / AIRFLOW_PASSWORD, exchanged for a JWT at `POST /auth/token` (Airflow 3's
token endpoint) when a call needs one.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from integrations import remediation as service
from integrations.models import OutboundDelivery
from integrations.parsers.airflow import airflow_deployment
from integrations.targets.base import (
    DEFAULT_TIMEOUT,
    Action,
    FollowUp,
    Target,
    TransportError,
    is_transient_status,
)
from integrations.targets.remediating import (
    gave_up,
    keep_watching,
    no_second_start,
    remediation_of,
    target_run,
)

CLEAR, WATCH = "airflow_clear", "airflow_watch"
FAILED_STATES = {"failed", "upstream_failed", "removed"}


class AirflowTransport:
    """Airflow's `/api/v2` through `airflow_client.client` (one ApiClient per transport)."""

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

        self._base_url = base_url.rstrip("/")
        self._username, self._password = username, password
        self._timeout = timeout
        self._config = airflow.Configuration(host=self._base_url)
        self._config.retries = 0  # retrying is the engine's
        self._config.access_token = token or None
        self._api = airflow.TaskInstanceApi(airflow.ApiClient(self._config))

    @classmethod
    def configured(cls) -> bool:
        from django.conf import settings

        return bool(settings.AIRFLOW_API_URL) and bool(
            settings.AIRFLOW_API_TOKEN or (settings.AIRFLOW_USERNAME and settings.AIRFLOW_PASSWORD)
        )

    @classmethod
    def from_settings(cls) -> AirflowTransport | None:
        from django.conf import settings

        if not cls.configured():
            return None
        token = settings.AIRFLOW_API_TOKEN
        return cls(
            settings.AIRFLOW_API_URL,
            token=token,
            username=settings.AIRFLOW_USERNAME,
            password=settings.AIRFLOW_PASSWORD,
            timeout=settings.OUTBOUND_TIMEOUT_SECONDS,
        )

    def _login(self) -> None:
        import requests

        try:
            response = requests.post(
                f"{self._base_url}/auth/token",
                json={"username": self._username, "password": self._password},
                timeout=self._timeout,
            )
        except requests.RequestException as exc:
            raise TransportError(f"Airflow token: {type(exc).__name__}", permanent=False) from exc
        if response.status_code >= 300:
            status = response.status_code
            raise TransportError(
                f"Airflow token: {status}", permanent=not is_transient_status(status), status=status
            )
        self._config.access_token = str(response.json().get("access_token") or "")

    def _call(self, what: str, call: Any) -> Any:
        from airflow_client.client.exceptions import ApiException

        if not self._config.access_token:
            self._login()
        for attempt in (1, 2):
            try:
                return call()
            except ApiException as exc:
                status = exc.status
                if status == 401 and attempt == 1 and self._username:
                    self._login()  # the JWT expired: one fresh one
                    continue
                raise TransportError(
                    f"{what}: {status} {exc.reason or ''}".strip(),
                    permanent=not is_transient_status(status),
                    status=status,
                ) from exc
            except Exception as exc:  # urllib3's connection errors and timeouts
                if isinstance(exc, TransportError):
                    raise
                raise TransportError(f"{what}: {type(exc).__name__}", permanent=False) from exc
        raise AssertionError("unreachable")

    def clear(self, dag_id: str, run_id: str, task_id: str, map_index: int) -> list[str]:
        """Clear the failed task instance (and its downstream ones); returns what was cleared."""
        from airflow_client.client.models import (
            ClearTaskInstancesBody,
            ClearTaskInstancesBodyTaskIdsInner,
        )

        task: Any = [task_id, map_index] if map_index >= 0 else task_id
        body = ClearTaskInstancesBody(
            dry_run=False,
            dag_run_id=run_id,
            task_ids=[ClearTaskInstancesBodyTaskIdsInner(task)],
            only_failed=True,
            include_downstream=True,
            reset_dag_runs=True,
            note="cleared by the RCA service's remediation",
        )
        result = self._call(
            f"clear {dag_id}.{task_id}",
            lambda: self._api.post_clear_task_instances(
                dag_id, body, _request_timeout=self._timeout
            ),
        )
        return [f"{ti.task_id}#{ti.try_number}" for ti in result.task_instances or []]

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


def other_deployment(entity: dict[str, Any]) -> str:
    """Why the task cannot be cleared from here ('' when it can): it ran on another Airflow
    than the one AIRFLOW_API_URL serves. A scheduled run's id is the same on every deployment:
    that run here is another one. Asked before a clear is proposed, and again as it is sent."""
    ran_on = str(entity.get("deployment") or "")
    served = settings.AIRFLOW_DEPLOYMENT or airflow_deployment("", settings.AIRFLOW_API_URL, "")
    if ran_on and ran_on != served:
        return (
            f"the task ran on Airflow '{ran_on}', and AIRFLOW_API_URL serves '{served}' "
            "(AIRFLOW_DEPLOYMENT names the deployment it serves)"
        )
    return ""


def _task(entity: dict[str, Any]) -> tuple[str, str, str, int]:
    dag_id, run_id, task_id = entity.get("dag_id"), entity.get("run_id"), entity.get("task_id")
    if not (dag_id and run_id and task_id):
        raise TransportError("the alert does not name the DAG, run and task", permanent=True)
    elsewhere = other_deployment(entity)
    if elsewhere:
        raise TransportError(elsewhere, permanent=True)
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
    state = airflow.task_state(dag_id, run_id, task_id, map_index)
    if state == "success":
        service.finish(remediation.pk, succeeded=True, detail=f"{dag_id}.{task_id} succeeded")
    elif state in FAILED_STATES:
        service.finish(remediation.pk, succeeded=False, detail=f"{dag_id}.{task_id} {state}")
    else:
        return keep_watching(WATCH, row, remediation)
    return None


TARGET: Target = Target(
    name="airflow_clear",
    label="Airflow clear",
    connect=AirflowTransport.from_settings,
    configured=AirflowTransport.configured,
    gave_up=gave_up,
    unreachable=other_deployment,
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
