"""A local stand-in for the Databricks Jobs REST API, for tests that run the real `databricks-sdk`.

    with FakeDatabricks() as fake:
        fake.add_run(job_run(run_id=100, tasks=[task("ingest", 101, "FAILED")]))
        fake.outputs[101] = {"error": "...", "error_trace": "..."}
        WorkspaceClient(host=fake.url, token=fake.token, auth_type="pat").jobs.get_run(100)
        fake.requests  # every request seen: method, path, query, headers, body

It answers the paths the SDK calls (`/api/2.2/jobs/runs/get`, `/api/2.2/jobs/runs/get-output`,
`/api/2.2/jobs/get` of the jobs in `jobs`; 2.0 and 2.1 too) with JSON shaped like the real
service: runs/get paginates `tasks` by `page_size` with `next_page_token`, and lists
`repair_history` only with `include_history=true`; runs/get-output on a multi-task run answers
400 as the real API does; an unknown run answers 400 INVALID_PARAMETER_VALUE "Run N does not
exist." (an unknown job "Job N does not exist."); a wrong token 403 "Invalid access token.";
`/.well-known/databricks-config` (the SDK's discovery probe) 404.
Remediation: `POST /api/2.2/jobs/runs/repair` (rerun_tasks / rerun_all_failed_tasks, checks
latest_repair_id like the service) puts the run and its repaired tasks back to RUNNING and
answers a repair_id, until `finish_repair` ends it; its `repair_history` holds the run as it
first ran (`ORIGINAL`, no id) and each repair (`REPAIR`, its id, start and end time, state);
`POST /api/2.1/clusters/restart` records the cluster in `restarted`.
`GET /api/2.2/jobs/runs/list` (job_id, start_time_from/_to, completed_only, active_only,
limit, page_token) lists the job's runs newest first, without their tasks, as the service does.

Faults (`fail`, `throttle`, `stall`) come first and are shared with the Azure fake through
`FakeHttpService` (tests/fakes/http.py).
"""

from __future__ import annotations

import time
from typing import Any

from tests.fakes.http import FakeHttpService, RecordedRequest, Reply

# ---------------------------------------------------------------------------------------------
# Databricks
# ---------------------------------------------------------------------------------------------

JOBS_API_VERSIONS = ("2.0", "2.1", "2.2")
MULTI_TASK_OUTPUT_ERROR = (
    "Retrieving the output of runs with multiple tasks is not supported. "
    "Please retrieve the output of each individual task run instead."
)

_TERMINATION = {  # result_state -> (status.termination_details.code, .type)
    "SUCCESS": ("SUCCESS", "SUCCESS"),
    "FAILED": ("RUN_EXECUTION_ERROR", "CLIENT_ERROR"),
    "TIMEDOUT": ("RUN_EXECUTION_ERROR", "CLIENT_ERROR"),
    "CANCELED": ("CANCELED", "SUCCESS"),
    "UPSTREAM_FAILED": ("SKIPPED", "SUCCESS"),
    "UPSTREAM_CANCELED": ("SKIPPED", "SUCCESS"),
    "EXCLUDED": ("SKIPPED", "SUCCESS"),
}


def _state(result_state: str, state_message: str) -> dict[str, Any]:
    return {
        "life_cycle_state": "SKIPPED" if result_state.startswith("UPSTREAM") else "TERMINATED",
        "result_state": result_state,
        "state_message": state_message,
        "user_cancelled_or_timedout": result_state in ("CANCELED", "TIMEDOUT"),
    }


def _status(result_state: str, state_message: str) -> dict[str, Any]:
    code, kind = _TERMINATION.get(result_state, ("INTERNAL_ERROR", "INTERNAL_ERROR"))
    return {
        "state": "TERMINATED",
        "termination_details": {"code": code, "type": kind, "message": state_message},
    }


def task(
    task_key: str,
    run_id: int,
    result_state: str = "SUCCESS",
    state_message: str = "",
    *,
    notebook_path: str = "/Repos/etl/notebook",
    attempt_number: int = 0,
    start_time: int = 1_700_000_000_000,
) -> dict[str, Any]:
    """A `tasks[]` entry of runs/get (a notebook task)."""
    return {
        "task_key": task_key,
        "run_id": run_id,
        "attempt_number": attempt_number,
        "notebook_task": {"notebook_path": notebook_path, "source": "WORKSPACE"},
        "existing_cluster_id": "0923-164208-meows279",
        "state": _state(result_state, state_message),
        "status": _status(result_state, state_message),
        "run_page_url": f"https://example.cloud.databricks.com/?o=1#job/1/run/{run_id}",
        "start_time": start_time,
        "setup_duration": 0,
        "execution_duration": 42_000,
        "cleanup_duration": 0,
        "end_time": start_time + 42_000,
    }


def job_run(
    run_id: int,
    tasks: list[dict[str, Any]],
    *,
    job_id: int = 11223344,
    run_name: str = "nightly-etl",
    result_state: str | None = None,
    state_message: str | None = None,
) -> dict[str, Any]:
    """A runs/get response body. The overall state follows the tasks unless given."""
    failed = [t for t in tasks if t["state"]["result_state"] in ("FAILED", "TIMEDOUT")]
    if result_state is None:
        result_state = "FAILED" if failed else "SUCCESS"
    if state_message is None:
        state_message = ""
        if failed:
            first = failed[0]
            state_message = (
                f"Task {first['task_key']} failed with message: "
                f"{first['state']['state_message']}. "
                "This caused all downstream tasks to get skipped."
            )
    start = min((t["start_time"] for t in tasks), default=1_700_000_000_000)
    return {
        "job_id": job_id,
        "run_id": run_id,
        "number_in_job": run_id,
        "original_attempt_run_id": run_id,
        "creator_user_name": "etl@example.com",
        "run_name": run_name,
        "run_type": "JOB_RUN",
        "format": "MULTI_TASK",
        "trigger": "PERIODIC",
        "state": _state(result_state, state_message),
        "status": _status(result_state, state_message),
        "tasks": tasks,
        "job_clusters": [],
        "job_parameters": [],
        "run_page_url": f"https://example.cloud.databricks.com/?o=1#job/{job_id}/run/{run_id}",
        "start_time": start,
        "end_time": start + 60_000,
        "setup_duration": 0,
        "execution_duration": 0,
        "cleanup_duration": 0,
    }


def job(job_id: int, *, run_as: str, creator: str = "etl@example.com") -> dict[str, Any]:
    """A jobs/get response body: `run_as_user_name` is who the job runs as now (the `run_as`
    setting it was given is write-only, not answered)."""
    return {
        "job_id": job_id,
        "creator_user_name": creator,
        "run_as_user_name": run_as,
        "created_time": 1_690_000_000_000,
        "settings": {"name": "nightly-etl", "max_concurrent_runs": 1, "format": "MULTI_TASK"},
    }


class FakeDatabricks(FakeHttpService):
    """Databricks workspace REST API: jobs runs/get and runs/get-output."""

    def __init__(self, token: str = "dapi-test-token", page_size: int = 100) -> None:
        super().__init__()
        self.token = token
        self.page_size = page_size  # runs/get returns at most this many tasks per page
        self.runs: dict[int, dict[str, Any]] = {}  # run_id -> runs/get body
        self.jobs: dict[int, dict[str, Any]] = {}  # job_id -> jobs/get body
        self.outputs: dict[int, dict[str, Any]] = {}  # task run_id -> error/error_trace/logs/...
        self.restarted: list[str] = []  # cluster ids restarted
        self._next_repair_id = 5000

    def add_run(self, run: dict[str, Any]) -> dict[str, Any]:
        self.runs[int(run["run_id"])] = run
        return run

    def error_body(self, status: int, message: str) -> Any:
        codes = {
            401: "UNAUTHENTICATED",
            403: "PERMISSION_DENIED",
            404: "RESOURCE_DOES_NOT_EXIST",
            429: "REQUEST_LIMIT_EXCEEDED",
            500: "INTERNAL_ERROR",
            503: "TEMPORARILY_UNAVAILABLE",
        }
        return {"error_code": codes.get(status, "INVALID_PARAMETER_VALUE"), "message": message}

    def route(self, request: RecordedRequest) -> Reply:
        if request.path.startswith("/.well-known/"):  # host-metadata discovery probe
            message = f"No API found for '{request.method} {request.path}'"
            return 404, {"error_code": "ENDPOINT_NOT_FOUND", "message": message}, {}
        auth = request.header("Authorization")
        if not auth:
            return 401, self.error_body(401, "Unauthorized"), {}
        if auth != f"Bearer {self.token}":
            return 403, self.error_body(403, "Invalid access token."), {}
        if request.method == "POST" and request.path == "/api/2.2/jobs/runs/repair":
            return self._repair(request)
        if request.method == "POST" and request.path == "/api/2.1/clusters/restart":
            cluster_id = (request.body or {}).get("cluster_id")
            if not cluster_id:
                return 400, self.error_body(400, "Missing required field: cluster_id"), {}
            self.restarted.append(str(cluster_id))
            return 200, {}, {}
        for version in JOBS_API_VERSIONS:
            prefix = f"/api/{version}/jobs/runs/"
            if request.method == "GET" and request.path == prefix + "get":
                return self._get_run(request)
            if request.method == "GET" and request.path == prefix + "list":
                return self._list_runs(request)
            if request.method == "GET" and request.path == prefix + "get-output":
                return self._get_output(request)
            if request.method == "GET" and request.path == f"/api/{version}/jobs/get":
                return self._get_job(request)
        message = f"No API found for '{request.method} {request.path}'"
        return 404, {"error_code": "ENDPOINT_NOT_FOUND", "message": message}, {}

    def _run_id(self, request: RecordedRequest) -> int | None:
        try:
            return int(request.param("run_id") or "")
        except ValueError:
            return None

    def _bad_run(self, request: RecordedRequest) -> Reply:
        message = f"Run {request.param('run_id')} does not exist."
        return 400, {"error_code": "INVALID_PARAMETER_VALUE", "message": message}, {}

    def _get_run(self, request: RecordedRequest) -> Reply:
        run_id = self._run_id(request)
        run = self.runs.get(run_id) if run_id is not None else None
        if run is None:
            return self._bad_run(request)
        tasks = run.get("tasks", [])
        start = int(request.param("page_token") or 0)
        end = start + self.page_size
        page = dict(run, tasks=tasks[start:end])
        if start:  # later pages carry only the array properties
            page = {"tasks": tasks[start:end], "job_clusters": [], "job_parameters": []}
        if request.param("include_history") != "true":
            page.pop("repair_history", None)
        elif start:
            page["repair_history"] = []
        if end < len(tasks):
            page["next_page_token"] = str(end)
        return 200, page, {}

    def _list_runs(self, request: RecordedRequest) -> Reply:
        def number(name: str) -> int | None:
            raw = request.param(name) or ""
            return int(raw) if raw.isdigit() else None

        job_id, since, until = number("job_id"), number("start_time_from"), number("start_time_to")
        ended = ("TERMINATED", "SKIPPED", "INTERNAL_ERROR")
        runs = [
            run
            for run in self.runs.values()
            if (job_id is None or run["job_id"] == job_id)
            and (since is None or run["start_time"] >= since)
            and (until is None or run["start_time"] <= until)
            and (
                request.param("completed_only") != "true"
                or run["state"].get("life_cycle_state") in ended
            )
            and (
                request.param("active_only") != "true"
                or run["state"].get("life_cycle_state") not in ended
            )
        ]
        runs.sort(key=lambda run: run["start_time"], reverse=True)
        start = int(request.param("page_token") or 0)
        end = start + (number("limit") or 20)
        page: dict[str, Any] = {
            "runs": [
                {key: value for key, value in run.items() if key not in ("tasks", "repair_history")}
                for run in runs[start:end]
            ],
            "has_more": end < len(runs),
        }
        if end < len(runs):
            page["next_page_token"] = str(end)
        return 200, page, {}

    def _get_job(self, request: RecordedRequest) -> Reply:
        raw = request.param("job_id") or ""
        found = self.jobs.get(int(raw)) if raw.isdigit() else None
        if found is None:
            message = f"Job {raw} does not exist."
            return 400, {"error_code": "INVALID_PARAMETER_VALUE", "message": message}, {}
        return 200, found, {}

    def _task_metadata(self, run_id: int) -> dict[str, Any] | None:
        for run in self.runs.values():
            for entry in run.get("tasks", []):
                if entry.get("run_id") == run_id:
                    keep = ("state", "status", "task_key", "run_page_url", "start_time", "end_time")
                    meta = {k: entry[k] for k in keep if k in entry}
                    meta.update(job_id=run.get("job_id"), run_id=run_id, run_type="JOB_RUN")
                    return meta
        return None

    def _get_output(self, request: RecordedRequest) -> Reply:
        run_id = self._run_id(request)
        if run_id is None:
            return self._bad_run(request)
        parent = self.runs.get(run_id)
        if parent is not None:
            tasks = parent.get("tasks", [])
            if len(tasks) > 1:
                body: dict[str, Any] = {
                    "error_code": "INVALID_PARAMETER_VALUE",
                    "message": MULTI_TASK_OUTPUT_ERROR,
                }
                return 400, body, {}
            if tasks:
                run_id = int(tasks[0]["run_id"])
        meta = self._task_metadata(run_id)
        if meta is None and run_id not in self.outputs:
            return self._bad_run(request)
        body = dict(self.outputs.get(run_id, {}))
        body.setdefault("metadata", meta or {"run_id": run_id})
        return 200, body, {}

    # -- remediation ---------------------------------------------------------------------------
    def _repair(self, request: RecordedRequest) -> Reply:
        body = request.body if isinstance(request.body, dict) else {}
        run = self.runs.get(int(body.get("run_id") or 0))
        if run is None:
            message = f"Run {body.get('run_id')} does not exist."
            return 400, {"error_code": "INVALID_PARAMETER_VALUE", "message": message}, {}
        history = run.setdefault("repair_history", [])
        latest = history[-1]["id"] if history else None
        if latest is not None and body.get("latest_repair_id") != latest:
            message = f"The latest repair ID of run {run['run_id']} is {latest}."
            return 400, {"error_code": "INVALID_PARAMETER_VALUE", "message": message}, {}
        keys = set(body.get("rerun_tasks") or [])
        if body.get("rerun_all_failed_tasks"):
            keys |= {
                t["task_key"]
                for t in run["tasks"]
                if t["state"]["result_state"] in ("FAILED", "TIMEDOUT", "CANCELED")
            }
        if not keys:
            message = "At least one task must be rerun."
            return 400, {"error_code": "INVALID_PARAMETER_VALUE", "message": message}, {}
        repair_id = self._next_repair_id
        self._next_repair_id += 1
        if not history:
            history.append(
                {
                    "type": "ORIGINAL",
                    "start_time": run["start_time"],
                    "end_time": run["end_time"],
                    "state": dict(run["state"]),
                    "task_run_ids": [t["run_id"] for t in run["tasks"]],
                }
            )
        running = {"life_cycle_state": "RUNNING", "state_message": "In run"}
        history.append(
            {
                "id": repair_id,
                "type": "REPAIR",
                "start_time": int(time.time() * 1000),
                "end_time": 0,
                "state": dict(running),
                "task_run_ids": [],
            }
        )
        for entry in run["tasks"]:
            if entry["task_key"] in keys or (
                body.get("rerun_dependent_tasks")
                and entry["state"]["result_state"].startswith("UPSTREAM")
            ):
                entry["state"] = dict(running)
        run["state"] = dict(running)
        return 200, {"repair_id": repair_id}, {}

    def finish_repair(self, run_id: int, result_state: str, state_message: str = "") -> None:
        """End the repair of a run: its running tasks and the run take `result_state`."""
        run = self.runs[run_id]
        for entry in run["tasks"]:
            if entry["state"].get("life_cycle_state") == "RUNNING":
                entry["state"] = _state(result_state, state_message)
                entry["status"] = _status(result_state, state_message)
        run["state"] = _state(result_state, state_message)
        run["status"] = _status(result_state, state_message)
        repair = run["repair_history"][-1]
        repair.update(end_time=int(time.time() * 1000), state=dict(run["state"]))
