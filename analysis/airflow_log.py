"""An Airflow task try's log, read through Airflow 3's REST API:
`GET /api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/logs/{try_number}`
(`full_content`, `map_index`; `token` for the next part while the answer carries a
`continuation_token`), authenticated as the remediation's clear is (rca_project/airflow_api.py).

The task log URL an Airflow failure callback sends is the web UI's: Airflow 3 answers it with
the UI's HTML page, Airflow 2 with a redirect to its sign-in page, so it is no log to fetch.

Airflow 3 answers `{"content": [...], "continuation_token": ...}` where `content` holds its
structured log lines (`{"timestamp", "event", "level", "logger", "error_detail", ...}`), or
plain lines when it could not parse them; a text `content` is read too. The client's typed
`get_log` keeps only `event` and `timestamp` of a structured line (and refuses a text), so the
raw answer is read (`get_log_without_preload_content`) and each line written as Airflow's
classic task log line (`[ts] {logger} LEVEL - event key=value`), an exception's
`error_detail` as the Python traceback it stands for, which the log reader's formats know. A
line that is the Python form of a log handler's answer (`legacy_text`) is written as its lines.
"""

from __future__ import annotations

import ast
import json
import re
import time
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, unquote, urljoin, urlsplit

from django.conf import settings

from analysis.logs.formats import structured_text, traceback_lines
from analysis.logs.reader import human_size
from rca_project import airflow_api, timed_read
from rca_project.airflow_api import AirflowApi, AirflowApiError
from tickets.models import Occurrence, Ticket
from tickets.vocabulary import AIRFLOW_DAG_RUN_TASK

# The occurrence key of an Airflow try's failure: `<run key>#try<n>:failed` (the parser's).
_FAILED_TRY = re.compile(r"^(?P<run_key>.+)#try(?P<try>\d+):failed$")
# The Python form of a log handler's answer: bytes, a tuple of texts, or a list of tuples, as
# repr() writes them (quotes escaped inside, never tripled). Only text of this shape, and with
# at most _MAX_TEXTS texts, is evaluated: the syntax tree of anything else (a line starting with
# "(", a long tuple of numbers) may take seconds and many times its size in memory.
_QUOTED = r"""(?:'[^'\\]*+(?:\\.[^'\\]*+)*+'|"[^"\\]*+(?:\\.[^"\\]*+)*+")"""
_TEXT = rf"b?{_QUOTED}"
_TUPLE = rf"\(\s*{_TEXT}(?:\s*,\s*{_TEXT})*+\s*,?\s*\)"
_PYTHON_FORM = re.compile(
    rf"b{_QUOTED}|{_TUPLE}|\[\s*{_TUPLE}(?:\s*,\s*{_TUPLE})*+\s*,?\s*\]", re.S
)
_TEXTS = re.compile(_TEXT, re.S)
_MAX_TEXTS = 1000
# ASCII digits only: str.isdigit also accepts digits int() refuses ("²").
_TRY_NUMBER = re.compile(r"[0-9]+")
_MAP_INDEX = re.compile(r"-?[0-9]+")
# No Airflow id holds a control character, and PostgreSQL's text cannot hold NUL (%00): one
# looked up among the tickets would be a database error.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class AirflowLogError(ValueError):
    """The log cannot be read; the message says why (the job fails with it)."""


@dataclass(frozen=True)
class TaskTry:
    dag_id: str
    run_id: str
    task_id: str
    try_number: int
    map_index: int = -1

    def ref(self) -> str:
        """`airflow://dags/<dag>/runs/<run>/tasks/<task>/tries/<n>` (each part quoted), with
        `?map_index=<i>` for a mapped task: the job's `source_ref`."""
        parts = (quote(self.dag_id, safe=""), quote(self.run_id, safe=""))
        task = quote(self.task_id, safe="")
        ref = f"airflow://dags/{parts[0]}/runs/{parts[1]}/tasks/{task}/tries/{self.try_number}"
        return ref + (f"?map_index={self.map_index}" if self.map_index >= 0 else "")

    @classmethod
    def parse(cls, ref: str) -> TaskTry:
        parts = urlsplit(ref)
        segments = parts.path.strip("/").split("/")
        query = dict(item.partition("=")[::2] for item in parts.query.split("&") if item)
        if (
            parts.scheme != "airflow"
            or parts.netloc != "dags"
            or len(segments) != 7
            or segments[1::2] != ["runs", "tasks", "tries"]
            or not _TRY_NUMBER.fullmatch(segments[6])
            or not _MAP_INDEX.fullmatch(query.get("map_index", "-1"))
        ):
            raise AirflowLogError(
                "an Airflow task try is airflow://dags/<dag>/runs/<run>/tasks/<task>/tries/<n>"
            )
        if int(segments[6]) < 1:
            raise AirflowLogError(
                "Airflow counts tries from 1: there is no try 0 "
                "(airflow://dags/<dag>/runs/<run>/tasks/<task>/tries/<n>, n from 1)"
            )
        dag, run, task = (unquote(segments[i]) for i in (0, 2, 4))
        if any(_CONTROL.search(name) for name in (dag, run, task)):
            raise AirflowLogError(
                "an Airflow task try's DAG, run and task ids hold no control characters"
            )
        return cls(dag, run, task, int(segments[6]), int(query.get("map_index", "-1")))

    def names(self, entity: dict[str, Any]) -> bool:
        """Whether a ticket's run entity is this task's run (any try of it)."""
        return (
            str(entity.get("dag_id", "")) == self.dag_id
            and str(entity.get("run_id", "")) == self.run_id
            and str(entity.get("task_id", "")) == self.task_id
            and str(entity.get("map_index", -1)) == str(self.map_index)
        )

    def describe(self) -> str:
        task = self.task_id if self.map_index < 0 else f"{self.task_id}[{self.map_index}]"
        return f"{self.dag_id}.{task} try {self.try_number} of run {self.run_id}"


def task_try_of(ticket: Ticket) -> TaskTry | None:
    """The task try of the latest failure counted on an Airflow ticket, when AIRFLOW_API_URL
    (with its credentials) can read its log: the run entity (`latest_run`, else the failure
    that opened it) names the DAG, run and task, it ran on the deployment AIRFLOW_API_URL
    serves, and the try is known. None otherwise, and for a DAG run's own failure (the task
    `AIRFLOW_DAG_RUN_TASK`: the run has no log of its own)."""
    if ticket.source != "airflow" or not airflow_api.configured():
        return None
    latest = ticket.latest_run or {}
    entity = latest.get("entity") or ticket.affected_entity or {}
    dag_id, run_id, task_id = (str(entity.get(k) or "") for k in ("dag_id", "run_id", "task_id"))
    if not (dag_id and run_id and task_id) or task_id == AIRFLOW_DAG_RUN_TASK:
        return None
    if airflow_api.other_deployment(entity):
        return None
    try_number = _latest_try(ticket, str(latest.get("run_key") or ticket.run_id))
    if try_number is None:
        return None
    try:
        map_index = int(entity.get("map_index", -1))
    except (TypeError, ValueError):
        map_index = -1
    return TaskTry(dag_id, run_id, task_id, try_number, map_index)


def _latest_try(ticket: Ticket, run_key: str) -> int | None:
    """The try of the latest failure counted on the ticket (its occurrence's key), when it is
    of the ticket's latest run; else, when that is the run that opened it, the try its details
    name (`details["try_number"]`: the latest try of that run, the first one's on tickets
    counted before details followed the latest try)."""
    keys = (
        Occurrence.objects.filter(ticket=ticket, key__endswith=":failed")
        .order_by("-seen_at", "-id")
        .values_list("key", flat=True)[:1]
    )
    for key in keys:
        match = _FAILED_TRY.match(key)
        if match and match["run_key"] == run_key:
            return int(match["try"])
    if run_key == ticket.run_id and str((ticket.details or {}).get("try_number", "")).isdigit():
        return int(ticket.details["try_number"])
    return None


def fetch_log(task: TaskTry, target: Path, *, max_bytes: int, timeout: float) -> None:
    """Write the try's log to `target` as text: the whole of it (`full_content`), and any next
    part Airflow holds back (`continuation_token`) until a part brings no line, within
    `timeout` seconds from the first request: each request (its connection, its headers) and
    each read of its answer waits at most the time left, the connections being shut down
    then. The answers, as received, count towards `max_bytes`. AirflowLogError naming the
    problem when it fails."""
    deadline = time.monotonic() + timeout
    api = AirflowApi.from_settings(timeout, answer_redirects=True, deadline=deadline)
    if api is None:
        raise AirflowLogError(
            "Airflow is not configured (AIRFLOW_API_URL with AIRFLOW_API_TOKEN, or "
            "AIRFLOW_USERNAME and AIRFLOW_PASSWORD)"
        )
    try:
        _read_pages(api, task, target, max_bytes, timeout, deadline)
    finally:
        api.close()


def _read_pages(
    api: AirflowApi, task: TaskTry, target: Path, max_bytes: int, timeout: float, deadline: float
) -> None:
    import airflow_client.client as airflow

    instances = airflow.TaskInstanceApi(api.client)
    received = 0
    token: str | None = None
    late = AirflowLogError(
        f"reading the log of {task.describe()} from Airflow took over {timeout:g} s"
    )
    with target.open("w", encoding="utf-8") as out:
        while True:
            if time.monotonic() >= deadline:
                raise late
            try:
                answer = _page(api, instances, task, token, max_bytes, received, deadline)
            except _PastDeadline:
                raise late from None
            received += answer.size
            lines = _write(answer.content, out)
            token = answer.continuation_token
            if not token or not lines:
                return


@dataclass(frozen=True)
class _Answer:
    content: Any
    continuation_token: str | None
    size: int


class _PastDeadline(Exception):
    """The deadline passed while a page was requested or read."""


def _page(
    api: AirflowApi,
    instances: Any,
    task: TaskTry,
    token: str | None,
    max_bytes: int,
    received: int,
    deadline: float,
) -> _Answer:
    from airflow_client.client.exceptions import ApiException

    allowance = max_bytes - received

    def get() -> bytes | None:
        """The raw answer, None once it grew past `allowance`. The connection, the headers and
        each read of the body wait at most the time left before `deadline`, and reading stops
        once it passed (`timed_read.read_within`); the connection is shut down then (the
        AirflowApi's deadline): a server sending bytes slowly, its headers included, cannot
        hold it longer. So does the token request, when one is needed (`AirflowApi.call`)."""
        response = instances.get_log_without_preload_content(
            task.dag_id,
            task.run_id,
            task.task_id,
            task.try_number,
            full_content=True,
            map_index=task.map_index if task.map_index >= 0 else None,
            token=token,
            accept="application/json",
            _request_timeout=timed_read.time_left(deadline),  # urllib3's Timeout(total=...)
        )
        try:
            if 300 <= response.status < 400:
                asked = urljoin(f"{api.base_url}/", response.url or "")
                location = response.headers.get("Location", "")
                raise AirflowApiError(
                    f"Airflow answered the log of {task.describe()} with a redirect "
                    f"({response.status}) to "
                    f"{airflow_api.redirect_target(location, asked)}"
                    ": not followed; AIRFLOW_API_URL must be the root URL the Airflow 3 API "
                    "server answers at",
                    status=response.status,
                )
            if response.status >= 300:
                raise ApiException(
                    status=response.status,
                    reason=response.reason,
                    body=response.read(4096).decode("utf-8", "replace"),
                )
            return timed_read.read_within(response, deadline, allowance)
        finally:
            response.release_conn()

    try:
        data: bytes | None = api.call(f"log of {task.describe()}", get, deadline=deadline)
    except AirflowApiError as exc:
        if exc.status is None and time.monotonic() >= deadline:
            raise _PastDeadline from exc  # timed out, or stopped, at the deadline
        raise AirflowLogError(_refusal(exc, task)) from exc
    if data is None:
        raise AirflowLogError(f"the log exceeds the limit of {human_size(max_bytes)} per job")
    try:
        body = json.loads(data)
    except ValueError as exc:
        raise AirflowLogError(
            f"Airflow's answer for the log of {task.describe()} is not JSON"
        ) from exc
    if not isinstance(body, dict) or "content" not in body:
        raise AirflowLogError(f"Airflow's answer for the log of {task.describe()} holds no content")
    next_token = body.get("continuation_token")
    return _Answer(body["content"], str(next_token) if next_token else None, len(data))


def _refusal(exc: AirflowApiError, task: TaskTry) -> str:
    if exc.status is None:
        return f"cannot reach Airflow at {api_url()}: {exc}"
    if exc.login:
        return f"{exc} (AIRFLOW_USERNAME and AIRFLOW_PASSWORD)" if exc.status == 401 else str(exc)
    if 300 <= exc.status < 400:  # a redirect, named where it was answered
        return str(exc)
    if exc.status == 401:
        return (
            "Airflow refused the credentials (401): check AIRFLOW_API_TOKEN, or "
            "AIRFLOW_USERNAME and AIRFLOW_PASSWORD"
        )
    if exc.status == 403:
        return (
            f"Airflow refused to show the log of {task.describe()} (403): the credentials "
            "(AIRFLOW_API_TOKEN, or AIRFLOW_USERNAME) may not read this DAG's task logs"
        )
    if exc.status == 404:
        return (
            f"Airflow has no log of {task.describe()} (404): the run or the try is gone "
            "(deleted, or cleaned up by retention)"
        )
    return f"reading the log of {task.describe()} from Airflow answered HTTP {exc.status}"


def api_url() -> str:
    return airflow_api.api_root(settings.AIRFLOW_API_URL)


def _write(content: Any, out: IO[str]) -> int:
    """Write the answer's `content` as text lines; returns how many lines it held. A text that
    is the Python form of a log handler's answer (`legacy_text`) is written as its lines."""
    if isinstance(content, str):
        content = legacy_text(content) or content
        out.write(content if content.endswith("\n") or not content else content + "\n")
        return len(content.splitlines())
    if not isinstance(content, list):
        return 0
    for item in content:
        if isinstance(item, dict):
            event = item.get("event")
            legacy = (
                legacy_text(event) if isinstance(event, str) and not item.get("timestamp") else None
            )
            out.write(f"{legacy}\n" if legacy else structured_line(item))
        else:
            text = str(item)
            out.write(f"{legacy_text(text) or text}\n")
    return len(content)


def legacy_text(text: str) -> str | None:
    """The log text `text` stands for when it is the Python form (`str()`) of what a log
    handler gave Airflow: a `(host, text)` tuple or a list of them (the form of Airflow 2's
    handlers; a handler still answering so reaches the API as that text, e.g.
    `{"event": "('host', '...\\n...')"}`), or bytes (`b'...'`). Its line breaks and quotes are
    escaped there, so the log would be read as one line of backslashes. None for any other
    text."""
    stripped = text.strip()
    if stripped[:1] not in ("(", "[", "b"):
        return None
    if next(islice(_TEXTS.finditer(stripped), _MAX_TEXTS, None), None) is not None:
        return None
    if not _PYTHON_FORM.fullmatch(stripped):
        return None
    try:
        value = ast.literal_eval(stripped)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    parts = _handler_texts(value)
    return "\n".join(part.rstrip("\n") for part in parts) if parts else None


def _handler_texts(value: Any) -> list[str]:
    if isinstance(value, bytes):
        return [value.decode("utf-8", "replace")]
    if isinstance(value, tuple) and value and all(isinstance(v, str | bytes) for v in value):
        return _handler_texts(value[-1]) if isinstance(value[-1], bytes) else [value[-1]]
    if isinstance(value, list) and value and all(isinstance(v, tuple) for v in value):
        return [text for item in value for text in _handler_texts(item)]
    return []


def structured_line(message: dict[str, Any]) -> str:
    """One of Airflow 3's structured log lines as the classic task log line, newline-ended:
    `[<timestamp>] {<logger>} <LEVEL> - <event> <key>=<value>...` (`structured_text`, as a log
    file's JSON line is shown too), then its exception (the `error_detail` list) as a Python
    traceback. A line without a timestamp (Airflow's `::group::` markers) is its event and keys
    alone."""
    lines = [structured_text(message)]
    detail = message.get("error_detail")
    if isinstance(detail, list) and detail:
        lines.extend(traceback_lines(detail))
    return "\n".join(lines) + "\n"
