"""A local stand-in for Airflow 3's stable REST API (`/api/v2`), for tests that run the real
`apache-airflow-client` 3.x package.

    with FakeAirflow() as fake:
        fake.add_task_instance("sales_daily", "scheduled__2025-12-10", "load", "failed")
        ...  # the client clears it; fake.finish("sales_daily", "scheduled__...", "load", "success")

Paths answered:
  POST /auth/token                      {"username", "password"} -> {"access_token"} (Airflow 3)
  POST /api/v2/dags/{dag_id}/clearTaskInstances   ClearTaskInstancesBody -> TaskInstanceCollection
       (dry_run honoured; only_failed clears failed and upstream_failed instances; the cleared
       ones get state null and try_number + 1, as the scheduler will run them again; a DAG
       it holds no instance of answers 404 `{"detail": "DAG <dag_id> not found"}`, a run of
       it none of whose instances it holds 404 `{"detail": "Dag Run id <run_id> not found in
       dag <dag_id>"}`, as Airflow 3's FastAPI route does)
  GET  /api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}[/{map_index}]
  GET  /api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}
       (?map_index, full_content, token) -> {"content": [...], "continuation_token": ...}: the
       parts `add_log` gave, one per request, each but the last with a token for the next
       (404 "TaskInstance not found" for a try without a log; with `log_drip` set, the
       answer's body is sent one byte every `log_drip` seconds; `token_drip` does the same
       for /auth/token's answers; `log_header_drip` and `token_header_drip` do it to their
       status line and headers)
With `gzip_token`, a token answer of 1 KiB or more is gzip-encoded for a client accepting it.
Every /api/v2 call needs `Authorization: Bearer <the token>` (401 otherwise). With
`note_field=False` the clear's body forbids `note`, as Airflow 3.1's ClearTaskInstancesBody
does (a strict model): 422 with FastAPI's validation error.
"""

from __future__ import annotations

import gzip
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from tests.fakes.http import FakeHttpService, RecordedRequest, Reply

_CLEAR = re.compile(r"^/api/v2/dags/(?P<dag>[^/]+)/clearTaskInstances$")
_INSTANCE = re.compile(
    r"^/api/v2/dags/(?P<dag>[^/]+)/dagRuns/(?P<run>[^/]+)/taskInstances/(?P<task>[^/]+)"
    r"(?:/(?P<map>-?\d+))?$"
)
_LOG = re.compile(
    r"^/api/v2/dags/(?P<dag>[^/]+)/dagRuns/(?P<run>[^/]+)/taskInstances/(?P<task>[^/]+)"
    r"/logs/(?P<try>\d+)$"
)


class FakeAirflow(FakeHttpService):
    def __init__(
        self, username: str = "rca", password: str = "airflow-pass", token: str = "jwt-airflow"
    ) -> None:
        super().__init__()
        self.username, self.password, self.token = username, password, token
        # (dag_id, run_id, task_id, map_index) -> task instance body
        self.instances: dict[tuple[str, str, str, int], dict[str, Any]] = {}
        # (dag_id, run_id, task_id, map_index, try_number) -> the parts of its log's `content`
        self.logs: dict[tuple[str, str, str, int, int], list[Any]] = {}
        self.note_field = True
        self.log_drip = 0.0  # seconds between the bytes of a log answer (a slow server)
        self.token_drip = 0.0  # the same for the token endpoint's answers
        self.log_header_drip = 0.0  # seconds between the bytes of a log answer's headers
        self.token_header_drip = 0.0  # the same for the token endpoint's answers
        # Compress the token endpoint's answer for a client accepting gzip, as a server with
        # Starlette's GZipMiddleware (answers of 1 KiB or more) does.
        self.gzip_token = False

    def error_body(self, status: int, message: str) -> Any:
        return {"detail": message}

    def add_task_instance(
        self, dag_id: str, run_id: str, task_id: str, state: str, *, map_index: int = -1
    ) -> dict[str, Any]:
        now = datetime.now(UTC).isoformat()
        instance = {
            "id": str(uuid.uuid4()),
            "dag_id": dag_id,
            "dag_display_name": dag_id,
            "dag_run_id": run_id,
            "task_id": task_id,
            "task_display_name": task_id,
            "map_index": map_index,
            "state": state,
            "try_number": 1,
            "max_tries": 1,
            "pool": "default_pool",
            "pool_slots": 1,
            "executor_config": "{}",
            "run_after": now,
            "start_date": now,
            "end_date": now,
            "operator": "PythonOperator",
        }
        self.instances[(dag_id, run_id, task_id, map_index)] = instance
        return instance

    def add_log(
        self,
        dag_id: str,
        run_id: str,
        task_id: str,
        try_number: int,
        *parts: Any,
        map_index: int = -1,
    ) -> None:
        """The try's log: each part is one answer's `content` (structured lines, plain lines
        or a text)."""
        self.logs[(dag_id, run_id, task_id, map_index, try_number)] = list(parts)

    def finish(
        self, dag_id: str, run_id: str, task_id: str, state: str, map_index: int = -1
    ) -> None:
        self.instances[(dag_id, run_id, task_id, map_index)]["state"] = state

    def body_pause(self, request: RecordedRequest) -> float:
        if request.path == "/auth/token":
            return self.token_drip
        return self.log_drip if _LOG.match(request.path) else 0.0

    def header_pause(self, request: RecordedRequest) -> float:
        if request.path == "/auth/token":
            return self.token_header_drip
        return self.log_header_drip if _LOG.match(request.path) else 0.0

    def route(self, request: RecordedRequest) -> Reply:
        if request.method == "POST" and request.path == "/auth/token":
            body = request.body if isinstance(request.body, dict) else {}
            if (body.get("username"), body.get("password")) != (self.username, self.password):
                return 401, {"detail": "Invalid credentials"}, {}
            answer = {"access_token": self.token}
            encoded = json.dumps(answer).encode()
            accepted = request.header("Accept-Encoding") or ""
            if self.gzip_token and "gzip" in accepted and len(encoded) >= 1024:
                return 201, gzip.compress(encoded), {"Content-Encoding": "gzip"}
            return 201, answer, {}
        if not request.path.startswith("/api/v2/"):
            return 404, {"detail": "Not Found"}, {}  # FastAPI routes before it authenticates
        if request.header("Authorization") != f"Bearer {self.token}":
            return 401, {"detail": "Not authenticated"}, {}
        match = _CLEAR.match(request.path)
        if match and request.method == "POST":
            body = request.body or {}
            if not self.note_field and "note" in body:
                error = {
                    "type": "extra_forbidden",
                    "loc": ["body", "note"],
                    "msg": "Extra inputs are not permitted",
                    "input": body["note"],
                }
                return 422, {"detail": [error]}, {}
            return self._clear(unquote(match["dag"]), body)
        match = _LOG.match(request.path)
        if match and request.method == "GET":
            return self._log(match, request)
        match = _INSTANCE.match(request.path)
        if match and request.method == "GET":
            key = (
                unquote(match["dag"]),
                unquote(match["run"]),
                unquote(match["task"]),
                int(match["map"]) if match["map"] is not None else -1,
            )
            instance = self.instances.get(key)
            if instance is None:
                return 404, {"detail": "The Task Instance was not found"}, {}
            return 200, instance, {}
        return 404, {"detail": "Not Found"}, {}

    def _log(self, match: re.Match[str], request: RecordedRequest) -> Reply:
        key = (
            unquote(match["dag"]),
            unquote(match["run"]),
            unquote(match["task"]),
            int(request.param("map_index") or -1),
            int(match["try"]),
        )
        parts = self.logs.get(key)
        if parts is None:
            return 404, {"detail": "TaskInstance not found"}, {}
        index = int((request.param("token") or "part-0").removeprefix("part-"))
        more = index + 1 < len(parts)
        token = f"part-{index + 1}" if more else None
        return 200, {"content": parts[index], "continuation_token": token}, {}

    def _clear(self, dag_id: str, body: dict[str, Any]) -> Reply:
        run_id = body.get("dag_run_id")
        if not any(dag == dag_id for dag, _, _, _ in self.instances):
            return 404, {"detail": f"DAG {dag_id} not found"}, {}
        if run_id and not any((dag, run) == (dag_id, run_id) for dag, run, _, _ in self.instances):
            return 404, {"detail": f"Dag Run id {run_id} not found in dag {dag_id}"}, {}
        wanted: set[tuple[str, int]] = set()
        for item in body.get("task_ids") or []:
            if isinstance(item, list):
                wanted.add((str(item[0]), int(item[1])))
            else:
                wanted.add((str(item), -1))
        states = {"failed", "upstream_failed"} if body.get("only_failed", True) else None
        cleared = []
        for (dag, run, task, map_index), instance in self.instances.items():
            if dag != dag_id or (run_id and run != run_id):
                continue
            if wanted and (task, map_index) not in wanted:
                continue
            if states is not None and instance["state"] not in states:
                continue
            cleared.append(instance)
        if not body.get("dry_run", True):
            for instance in cleared:
                instance["state"] = None
                instance["try_number"] += 1
        return 200, {"task_instances": cleared, "total_entries": len(cleared)}, {}
