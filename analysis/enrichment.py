"""Fetch the real error text of a failed Databricks job run or Azure Data Factory pipeline run.

Failure alerts often carry only ids (Databricks job notifications: workspace_id, job_id, run_id,
task_key) or counts (ADF metric alerts: factory resource id, pipeline name). Before the root-cause
analysis runs, these functions ask the services, through their official SDKs, what actually went
wrong (and `latest_ended_attempt`, which attempt of a repaired Databricks run ended last:
integrations/repaired_runs.py). No Django here: the caller passes configuration explicitly.

Time bounds. Each HTTP attempt may take up to `timeout_seconds`; no attempt (first call, SDK retry
or follow-up call) starts once `timeout_seconds` have passed since the enrichment began, and the
SDKs' retry sleeps (including server-sent Retry-After) are cut off at that point. One enrichment
therefore ends within about 2 x `timeout_seconds`, even against a server that stalls.

    Databricks (databricks-sdk): PAT only (`auth_type="pat"`; the SDK's host-metadata discovery
    probe is skipped); `http_timeout_seconds` per attempt; retries paced by a deadline clock.
    ADF (azure-mgmt-datafactory): per-call `connection_timeout`/`read_timeout`/`timeout` and a
    retry policy whose sleeps stop at the deadline. Plain-http base URLs (local test servers) are
    allowed only for loopback hosts, by passing azure-core's per-call `enforce_https=False`.

Failures raise `EnrichmentError("<service> API: <reason>")`, e.g. "Databricks API: 403 Invalid
access token." or "ADF API: timed out after 2s".
"""

from __future__ import annotations

import ipaddress
import math
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache, partial
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from analysis.redaction import redact

if TYPE_CHECKING:  # the SDKs are imported lazily: databricks.sdk alone takes seconds to import
    from azure.core.credentials import TokenCredential
    from azure.mgmt.datafactory import DataFactoryManagementClient
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.clock import Clock

T = TypeVar("T")

DATABRICKS_SOURCE = "databricks-api"
ADF_SOURCE = "adf-api"
ADF_API_SCOPE = "https://management.azure.com/.default"

TRACE_KEEP_CHARS = 8 * 1024  # tail of error_trace kept in details
TRACE_MESSAGE_CHARS = 3 * 1024  # tail of error_trace put in error_message
ERROR_MESSAGE_CHARS = 4 * 1024  # head of one error text put in error_message
MAX_TASK_OUTPUTS = 3  # failed tasks of the run whose runs/get-output is read
MAX_TRIGGERED_DEPTH = 2  # job runs followed down from a Run Job task (each: runs/get, get-output)
MAX_PAGES = 10  # pages read from a paginated query
MAX_ACTIVITY_CANDIDATES = 10  # failed pipeline runs looked in for a failed activity by name
MAX_LISTED_FAILURES = 5  # secondary failures mentioned in error_message

_FAILED_TASK_STATES = ("FAILED", "TIMEDOUT", "MAXIMUM_CONCURRENT_RUNS_REACHED", "CANCELED")
_ADF_FAILED_STATES = ("failed", "timedout")
_ADF_CONTAINER_ACTIVITIES = ("foreach", "ifcondition", "until", "switch", "executepipeline")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_DEBUG_SUFFIX = re.compile(r"\. Config: .*$", re.DOTALL)  # SDK appends config dump on 401/403


@dataclass(frozen=True)
class Enrichment:
    error_message: str  # the best error text found ("" if none)
    details: dict[str, Any] = field(default_factory=dict)
    source: str = ""  # "databricks-api" / "adf-api"
    # The error as `error_message` states it without the error's trace (a Databricks run's):
    # what the failure is correlated on, so that one error fetched once with its trace and once
    # without (runs/get-output gave none) is one failure. "" when it is `error_message`.
    correlation_text: str = ""
    # Why a read the error needs (a Databricks run's first failed task's output, the run a
    # Run Job task triggered, that run's task's output) met a throttle, a server error or a
    # timeout, and the error is not known without it: the same read may give it later.
    unread_for_now: str = ""
    # The job run the run's first failed task, a Run Job task, triggered (its output named it,
    # whether or not that run could be read), and that task: None otherwise.
    triggered_run_id: int | None = None
    triggering_task: str = ""


@dataclass(frozen=True)
class DatabricksConfig:
    host: str
    token: str = field(repr=False)
    timeout_seconds: float = 10


@dataclass(frozen=True)
class AdfConfig:
    subscription_id: str
    credential: TokenCredential = field(repr=False)
    base_url: str = "https://management.azure.com"
    timeout_seconds: float = 10


class EnrichmentError(Exception):
    """The service could not tell us the error (auth, not found, timeout, 5xx...).
    `retryable`: the service was throttling (429), failing (5xx), stalled or out of reach, so
    the same read may succeed later; a refused token, an unknown run are not."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


# ---------------------------------------------------------------------------------------------
# Time budget shared by both services
# ---------------------------------------------------------------------------------------------


class _BudgetExhausted(Exception):
    """Raised from inside an SDK's retry loop when waiting longer would overrun the budget."""


class _Budget:
    def __init__(self, seconds: float) -> None:
        if seconds <= 0:
            raise ValueError("timeout_seconds must be positive")
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def start(self) -> None:
        """(Re)start the clock: SDK import and client construction are not network time."""
        self.deadline = time.monotonic() + self.seconds

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def expired(self) -> bool:
        return self.remaining() <= 0

    def sleep(self, seconds: float) -> None:
        """A retry back-off: sleep only if the next attempt would still start within budget."""
        if seconds >= self.remaining():
            raise _BudgetExhausted
        time.sleep(max(seconds, 0))

    def describe(self) -> str:
        return f"{self.seconds:g}s"


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _enum_text(value: Any) -> str:
    return _text(getattr(value, "value", value))


def _clip_head(text: str, limit: int) -> str:
    """`text`'s start in `limit` characters, redacted before it is cut: a cut inside a secret
    can leave a start no rule knows as one (`https://user:pass` before its `@host`)."""
    if len(text) <= limit:
        return text
    text = redact(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _clip_tail(text: str, limit: int) -> str:
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _from_millis(value: int | None) -> datetime | None:
    """A Databricks time (milliseconds since the epoch; 0 or none when not known)."""
    return datetime.fromtimestamp(value / 1000, UTC) if value else None


# ---------------------------------------------------------------------------------------------
# Databricks
# ---------------------------------------------------------------------------------------------


@cache
def _pat_only_config() -> type:
    from databricks.sdk.config import Config

    class PatOnlyConfig(Config):
        # Config() normally probes {host}/.well-known/databricks-config to discover account,
        # OIDC and cloud settings. With a PAT none of that is needed; skip the extra round trip
        # (which has its own retry budget and would double the time spent on a stalled host).
        def _resolve_host_metadata(self) -> None:
            return None

        @classmethod
        def attributes(cls) -> Any:  # Config lists its settings from its own __dict__ only
            return Config.attributes()

    return PatOnlyConfig


def pat_workspace_client(
    host: str,
    token: str,
    *,
    http_timeout_seconds: float,
    retry_timeout_seconds: int,
    clock: Clock | None = None,
) -> WorkspaceClient:
    """A Databricks client authenticated by a personal access token, without the SDK's
    host-metadata discovery probe (the enrichment's and the repair's). Raises ValueError for a
    configuration the SDK refuses."""
    from databricks.sdk import WorkspaceClient

    sdk_config = _pat_only_config()(
        host=host,
        token=token,
        auth_type="pat",
        http_timeout_seconds=http_timeout_seconds,
        retry_timeout_seconds=retry_timeout_seconds,
        clock=clock,
    )
    return WorkspaceClient(config=sdk_config)


@cache
def _budget_clock() -> type:
    from databricks.sdk.clock import Clock

    class BudgetClock(Clock):
        def __init__(self, budget: _Budget) -> None:
            self._budget = budget

        def time(self) -> float:
            return time.time()

        def sleep(self, seconds: float) -> None:
            self._budget.sleep(seconds)

    return BudgetClock


def _databricks_client(config: DatabricksConfig, budget: _Budget) -> WorkspaceClient:
    try:
        return pat_workspace_client(
            config.host,
            config.token,
            http_timeout_seconds=config.timeout_seconds,
            # The budget clock ends retries; this is only the SDK's own backstop (an int >= 1).
            retry_timeout_seconds=max(1, math.ceil(2 * config.timeout_seconds)),
            clock=_budget_clock()(budget),
        )
    except ValueError as exc:
        raise EnrichmentError(f"Databricks API: invalid configuration: {exc}") from exc


def _databricks_status(exc: Exception) -> int | None:
    """The HTTP status of the SDK's error class (the SDK keeps no response on its errors; it also
    reclassifies some answers, e.g. 400 "Run 1 does not exist." -> ResourceDoesNotExist -> 404)."""
    from databricks.sdk.errors.platform import STATUS_CODE_MAPPING

    for cls in type(exc).__mro__:
        for status, mapped in STATUS_CODE_MAPPING.items():
            if cls is mapped:
                return status
    return None


def _databricks_reason(exc: BaseException, budget: _Budget) -> str:
    import requests
    from databricks.sdk.errors import DatabricksError

    if isinstance(exc, _BudgetExhausted):
        cause = exc.__context__
        if isinstance(cause, DatabricksError):
            return (
                f"{_databricks_reason(cause, budget)} (gave up retrying: its next try would "
                f"start past the {budget.describe()} budget)"
            )
        if isinstance(cause, requests.ConnectionError):
            return f"cannot connect: {cause}"
        return f"timed out after {budget.describe()}"
    if isinstance(exc, DatabricksError):
        status = _databricks_status(exc)
        message = str(exc).strip()
        if status in (401, 403):
            message = _DEBUG_SUFFIX.sub("", message)
        message = message or type(exc).__name__
        return f"{status} {message}" if status else message
    if isinstance(exc, requests.Timeout | TimeoutError):
        return f"timed out after {budget.describe()}"
    if isinstance(exc, requests.ConnectionError):
        return f"cannot connect: {exc}"
    return f"{type(exc).__name__}: {exc}"


def _databricks_call(budget: _Budget, what: str, call: Callable[[], T]) -> T:
    import requests
    from databricks.sdk.errors import DatabricksError

    if budget.expired():
        raise EnrichmentError(
            f"Databricks API: timed out after {budget.describe()} ({what})", retryable=True
        )
    try:
        return call()
    except (_BudgetExhausted, DatabricksError, requests.RequestException, TimeoutError) as exc:
        raise EnrichmentError(
            f"Databricks API: {_databricks_reason(exc, budget)}",
            retryable=_databricks_retryable(exc),
        ) from exc


def _databricks_retryable(exc: BaseException) -> bool:
    """Whether the read may succeed later: a throttle (429) or a server error (5xx), also one
    the SDK gave up retrying within the budget, a timeout or a connection refused. An answer
    whose status the SDK has no error class for is taken for a server error: the workspace's
    own refusals all have one (400, 401, 403, 404, 409...), while the gateway in front of it
    answers an outage with a 502 (or a CDN's 52x), which the SDK keeps no status of."""
    import requests
    from databricks.sdk.errors import DatabricksError

    if isinstance(exc, _BudgetExhausted):
        if not isinstance(exc.__context__, DatabricksError):
            return True  # the budget spent waiting on a stalled or unreachable server
        exc = exc.__context__
    if isinstance(exc, DatabricksError):
        status = _databricks_status(exc)
        return status is None or status == 429 or status >= 500
    return isinstance(exc, requests.Timeout | requests.ConnectionError | TimeoutError)


def _get_run(
    client: WorkspaceClient, budget: _Budget, run_id: int, *, include_history: bool = False
) -> Any:
    """runs/get, following next_page_token for runs with more than one page of tasks (or, with
    `include_history`, of repairs: runs/get lists `repair_history` only when asked)."""
    from databricks.sdk.service.jobs import JobsAPI

    api = JobsAPI(client.api_client)  # the generated API: we page ourselves, within budget
    history = True if include_history else None
    run = _databricks_call(budget, "runs/get", lambda: api.get_run(run_id, include_history=history))
    pages = 1
    while run.next_page_token and pages < MAX_PAGES and not budget.expired():
        more = _databricks_call(
            budget,
            "runs/get",
            partial(api.get_run, run_id, include_history=history, page_token=run.next_page_token),
        )
        run.tasks = (run.tasks or []) + (more.tasks or [])
        run.repair_history = (run.repair_history or []) + (more.repair_history or [])
        run.next_page_token = more.next_page_token
        pages += 1
    return run


@dataclass(frozen=True)
class RunAttempt:
    """One attempt of a Databricks job run (an item of runs/get's `repair_history`): the run
    as it first ran (`repair_id` None) or one repair of it, which keeps the run's id."""

    repair_id: int | None
    started_at: datetime | None
    succeeded: bool


def _read_run(
    config: DatabricksConfig, run_id: str, *, include_history: bool = False
) -> tuple[WorkspaceClient, _Budget, int, Any]:
    """runs/get of `run_id` within the config's time budget: the client and the budget (for
    the calls that follow), the run id as a number, and the run."""
    try:
        numeric_run_id = int(str(run_id).strip())
    except ValueError as exc:
        raise EnrichmentError(f"Databricks API: invalid run id {run_id!r}") from exc
    budget = _Budget(config.timeout_seconds)
    client = _databricks_client(config, budget)
    budget.start()
    run = _get_run(client, budget, numeric_run_id, include_history=include_history)
    return client, budget, numeric_run_id, run


def latest_ended_attempt(config: DatabricksConfig, run_id: str) -> RunAttempt | None:
    """The attempt of the run that ended last (runs/get with its repair history); None when
    the run was never repaired (its history is empty) or no attempt has ended."""
    _, _, _, run = _read_run(config, run_id, include_history=True)
    ended = [item for item in run.repair_history or [] if item.end_time]
    if not ended:
        return None
    last = max(ended, key=lambda item: item.end_time)
    return RunAttempt(
        repair_id=last.id,  # runs/get gives an id to the repairs only
        started_at=_from_millis(last.start_time),
        succeeded=_attempt_result(last) == "SUCCESS",
    )


def _attempt_result(item: Any) -> str:
    """A repair history item's result: its `state.result_state`, else its `status`'s
    termination code (`state` is deprecated in favour of `status`)."""
    result = _enum_text(getattr(item.state, "result_state", None))
    if result:
        return result
    details = getattr(item.status, "termination_details", None)
    return _enum_text(getattr(details, "code", None))


def _task_result_state(task: Any) -> str:
    state = getattr(task, "state", None)
    result = _enum_text(getattr(state, "result_state", None))
    if result:
        return result
    if _enum_text(getattr(state, "life_cycle_state", None)) == "INTERNAL_ERROR":
        return "INTERNAL_ERROR"
    details = getattr(getattr(task, "status", None), "termination_details", None)
    kind = _enum_text(getattr(details, "type", None))
    if kind and kind != "SUCCESS":
        return "FAILED"
    return ""


def _state_message(item: Any) -> str:
    message = _text(getattr(getattr(item, "state", None), "state_message", None))
    if not message:
        details = getattr(getattr(item, "status", None), "termination_details", None)
        message = _text(getattr(details, "message", None))
    return message


def _failure_rank(task: Any) -> tuple[int, int]:
    state = _task_result_state(task)
    order = _FAILED_TASK_STATES.index(state) if state in _FAILED_TASK_STATES else 1
    return order, getattr(task, "end_time", None) or 0


def _select_tasks(
    tasks: list[Any], task_key: str, task_run_id: int | None = None
) -> tuple[list[Any], bool]:
    """The tasks whose output to read, most informative first; and whether task_key was found.
    Of a retried task, the attempt `task_run_id` (the one notified of), else the latest."""
    failed = [t for t in tasks if _task_result_state(t) in (*_FAILED_TASK_STATES, "INTERNAL_ERROR")]
    failed.sort(key=_failure_rank)
    if task_key:
        chosen = [t for t in tasks if t.task_key == task_key]
        if chosen:
            named = [t for t in chosen if task_run_id and getattr(t, "run_id", None) == task_run_id]
            latest = (
                named[0]
                if named
                else max(chosen, key=lambda t: getattr(t, "attempt_number", None) or 0)
            )
            return [latest, *[t for t in failed if t.task_key != task_key]], True
        return failed, False
    return failed, True


@dataclass
class _TaskFailure:
    task_key: str
    run_id: int | None
    result_state: str
    state_message: str
    run_page_url: str = ""
    termination_code: str = ""
    error: str = ""
    error_trace: str = ""
    output_error: str = ""
    # The read `output_error` names may succeed later (`EnrichmentError.retryable`).
    output_retryable: bool = False
    # `error` is an error read (an output's, a For each task's iterations'), not a state
    # message standing in for one.
    error_read: bool = False
    triggered_run: dict[str, Any] = field(default_factory=dict)

    def as_detail(self) -> dict[str, Any]:
        detail: dict[str, Any] = {
            "task_key": self.task_key,
            "run_id": self.run_id,
            "result_state": self.result_state,
            "state_message": self.state_message,
            "error": self.error,
            "run_page_url": self.run_page_url,
        }
        if self.output_error:
            detail["output_error"] = self.output_error
        if self.triggered_run:
            detail["triggered_run"] = self.triggered_run
        return detail


def _iteration_errors(task: Any) -> str:
    """A For each task's errors: runs/get lists its iterations' most common error messages
    (at most three, `for_each_task.stats.error_message_stats`, with how many iterations
    failed so), not their runs, and the task's own output holds none. "" for another task."""
    stats = getattr(getattr(task, "for_each_task", None), "stats", None)
    samples = [
        (sample.count, _text(sample.error_message))
        for sample in getattr(stats, "error_message_stats", None) or []
        if _text(sample.error_message)
    ]
    if not samples:
        return ""
    counts = getattr(stats, "task_run_stats", None)
    failed = getattr(counts, "failed_iterations", None)
    total = getattr(counts, "total_iterations", None)
    head = f"{failed} of {total} iterations failed" if failed and total else "Iterations failed"
    lines = [f"{count or 'some'} of them: {message}" for count, message in samples]
    return "\n".join([f"{head}; their most common errors:", *lines])


def _task_failure(task: Any) -> _TaskFailure:
    details = getattr(getattr(task, "status", None), "termination_details", None)
    iterations = _ANSI.sub("", _iteration_errors(task))
    return _TaskFailure(
        task_key=_text(getattr(task, "task_key", "")),
        run_id=getattr(task, "run_id", None),
        result_state=_task_result_state(task),
        state_message=_state_message(task),
        run_page_url=_text(getattr(task, "run_page_url", None)),
        termination_code=_enum_text(getattr(details, "code", None)),
        error=iterations,
        error_read=bool(iterations),
    )


def _read_output(
    client: WorkspaceClient, budget: _Budget, failure: _TaskFailure, depth: int = 0
) -> None:
    if failure.run_id is None:
        return
    run_id = failure.run_id
    try:
        output = _databricks_call(
            budget, "runs/get-output", lambda: client.jobs.get_run_output(run_id)
        )
    except EnrichmentError as exc:  # keep what runs/get told us
        failure.output_error = str(exc)
        failure.output_retryable = exc.retryable
        return
    # A For each task's output has no error: its iterations' (`_iteration_errors`) stay.
    error = _ANSI.sub("", _text(output.error))
    failure.error = error or failure.error
    failure.error_read = failure.error_read or bool(error)
    # Its tails (this one, and TRACE_MESSAGE_CHARS of it in the message) are cut from the
    # redacted trace: a tail that began inside a secret (`word="…`, a key's last characters)
    # keeps no word a rule knows it by, so the redaction of the details and of the message
    # made from it would keep the rest.
    trace = redact(_ANSI.sub("", _text(output.error_trace)))
    failure.error_trace = _clip_tail(trace, TRACE_KEEP_CHARS)
    metadata = output.metadata
    if metadata is not None:
        failure.run_page_url = failure.run_page_url or _text(metadata.run_page_url)
        failure.state_message = failure.state_message or _state_message(metadata)
        failure.result_state = failure.result_state or _task_result_state(metadata)
    triggered = getattr(output.run_job_output, "run_id", None)
    if triggered and not failure.error and depth < MAX_TRIGGERED_DEPTH:
        # Known from this output even when that run cannot be read: its failure is this one.
        failure.triggered_run = {"run_id": int(triggered)}
        _read_triggered_run(client, budget, failure, int(triggered), depth + 1)


def _read_triggered_run(
    client: WorkspaceClient, budget: _Budget, failure: _TaskFailure, run_id: int, depth: int
) -> None:
    """A Run Job task's output holds no error, only the job run it triggered
    (`run_job_output.run_id`): that run's first failed task's error (else its state message)
    and trace become the task's, and the run and that task are kept in
    `failure.triggered_run`. A triggered run none of whose tasks failed leaves the task as it
    was; one that cannot be read leaves it saying why (`output_error`), its id alone kept in
    `failure.triggered_run`."""
    try:
        run = _get_run(client, budget, run_id)
    except EnrichmentError as exc:
        failure.output_error = str(exc)
        failure.output_retryable = exc.retryable
        return
    selected, _ = _select_tasks(list(run.tasks or []), "")
    if run.tasks:
        if not selected:
            return
        cause = _task_failure(selected[0])
    else:
        cause = _task_failure(run)
        cause.run_id = run_id
    if not budget.expired():
        _read_output(client, budget, cause, depth)
    failure.triggered_run = {
        "run_id": run_id,
        "job_id": run.job_id,
        "run_page_url": _text(run.run_page_url),
        "task_key": cause.task_key,
        "result_state": cause.result_state,
    }
    failure.error = cause.error or cause.state_message
    failure.error_read = cause.error_read
    failure.error_trace = cause.error_trace
    if cause.output_error:
        failure.output_error = cause.output_error
        failure.output_retryable = cause.output_retryable


def _databricks_message(
    failures: list[_TaskFailure], run_state_message: str, *, with_trace: bool = True
) -> str:
    if not failures:
        return run_state_message
    first = failures[0]
    label = f"Databricks task '{first.task_key}'" if first.task_key else "Databricks run"
    head = f"{label} {first.result_state or 'FAILED'}"
    parts: list[str] = []
    if first.state_message and first.state_message not in first.error:
        head += f": {first.state_message}"
    parts.append(head)
    if first.error:
        parts.append(_clip_head(first.error, ERROR_MESSAGE_CHARS))
    elif not first.state_message and run_state_message:
        parts.append(run_state_message)
    # Without its error, the trace is all that tells this failure from the job's others.
    trace_wanted = with_trace or not first.error
    if trace_wanted and first.error_trace and first.error_trace.strip() != first.error.strip():
        parts.append(_clip_tail(first.error_trace, TRACE_MESSAGE_CHARS))
    for other in failures[1:MAX_LISTED_FAILURES]:
        reason = other.error.splitlines()[0] if other.error else other.state_message
        parts.append(f"Also {other.result_state or 'FAILED'}: task '{other.task_key}': {reason}")
    return "\n".join(p for p in parts if p)


# Databricks sends a job's `jobs.on_failure` for a run a user cancelled and for a run it skipped
# too (unless the job mutes them): the run's termination code tells them from a failure. A run
# the platform cancelled (`CANCELED`: its maximum duration reached) or that timed out failed,
# and so did one a task of which failed or timed out before a user cancelled the rest. A run
# skipped because the job's queue was full, or because the job is disabled, never executed.
_RUNS_THAT_DID_NOT_FAIL = {
    "USER_CANCELED": "a user cancelled the run",
    "MAX_CONCURRENT_RUNS_EXCEEDED": "the run was skipped: the job's maximum concurrent runs "
    "were running",
    "MAX_JOB_QUEUE_SIZE_EXCEEDED": "the run was skipped: the job's queue was full",
    "DISABLED": "the run was skipped: the job is disabled",
    "SKIPPED": "the run was skipped",
}
# Codes of a run skipped before it started: no task of it ran, so none failed, even when the
# run, reported without a result state, reads as FAILED from its termination type.
_NEVER_STARTED = ("MAX_CONCURRENT_RUNS_EXCEEDED", "MAX_JOB_QUEUE_SIZE_EXCEEDED", "DISABLED")
# Every reason `run_did_not_fail` gives: the `why` of the audit entry of a ticket ended so.
RUN_DID_NOT_FAIL_REASONS = tuple(sorted(set(_RUNS_THAT_DID_NOT_FAIL.values())))


def run_did_not_fail(details: dict[str, Any]) -> str:
    """Why the Databricks job run `enrich_databricks_run` read did not fail (a user cancelled
    it, or it was skipped: the job's maximum concurrent runs were running, its queue was full,
    the job is disabled), or "" when it failed."""
    code = str(details.get("termination_code") or "")
    if code in _NEVER_STARTED:
        return _RUNS_THAT_DID_NOT_FAIL[code]
    tasks = details.get("failed_tasks") or []
    if any(task.get("result_state") in ("FAILED", "TIMEDOUT") for task in tasks):
        return ""
    if details.get("result_state") == "MAXIMUM_CONCURRENT_RUNS_REACHED":
        return _RUNS_THAT_DID_NOT_FAIL["MAX_CONCURRENT_RUNS_EXCEEDED"]
    return _RUNS_THAT_DID_NOT_FAIL.get(code, "")


def run_ended(config: DatabricksConfig, run_id: str) -> dict[str, Any]:
    """How the Databricks job run ended as runs/get tells it now (no task output is read): its
    `result_state`, `termination_code` and the states of its failed tasks (`failed_tasks`: a
    task that failed before a user cancelled the rest), named as `enrich_databricks_run`'s
    details name them, for `run_did_not_fail`. A repaired run tells its latest repair's."""
    _, _, _, run = _read_run(config, run_id)
    ended = getattr(getattr(run, "status", None), "termination_details", None)
    failed, _ = _select_tasks(list(run.tasks or []), "")
    return {
        "result_state": _task_result_state(run),
        "termination_code": _enum_text(getattr(ended, "code", None)),
        "failed_tasks": [{"result_state": _task_result_state(task)} for task in failed],
    }


def _job_run_as(client: WorkspaceClient, budget: _Budget, job_id: int | None) -> str:
    """Who the run's job runs as now: jobs/get's `run_as_user_name`, a workspace user's e-mail
    or a service principal's application id (the job's `run_as` setting is write-only: jobs/get
    answers it in this field). "" when the run is of no job (a one-time run), or jobs/get could
    not tell within the budget (the job deleted since, the token may not view it): the run is
    read all the same."""
    if not job_id or budget.expired():
        return ""
    from databricks.sdk.service.jobs import JobsAPI

    api = JobsAPI(client.api_client)  # the generated API: one page (the SDK's reads them all)
    try:
        job = _databricks_call(budget, "jobs/get", lambda: api.get(job_id))
    except EnrichmentError:
        return ""
    return _text(job.run_as_user_name)


def enrich_databricks_run(
    config: DatabricksConfig, run_id: str, task_key: str = "", task_run_id: str = ""
) -> Enrichment:
    """The error of a failed Databricks job run: failed tasks, their error and trace tail.
    `task_run_id`: the run of the attempt of task `task_key` a notification named."""
    client, budget, numeric_run_id, run = _read_run(config, run_id)
    attempt = int(task_run_id) if str(task_run_id).strip().isdigit() else None

    tasks = list(run.tasks or [])
    if tasks:
        selected, key_found = _select_tasks(tasks, task_key, attempt)
        failures = [_task_failure(t) for t in selected]
    else:  # a task run, or a run without task entries: its own output carries the error
        key_found = True
        failures = [_task_failure(run)]
        failures[0].run_id = numeric_run_id
        failures[0].task_key = task_key
    for failure in failures[:MAX_TASK_OUTPUTS]:
        if budget.expired():
            failure.output_error = f"Databricks API: skipped, {budget.describe()} budget spent"
            failure.output_retryable = True  # spent on a slow answer: it may come sooner
            break
        _read_output(client, budget, failure)
        if "timed out" in failure.output_error:
            break  # a stalling server will stall again: keep the rest of the budget bound

    run_state_message = _state_message(run)
    first_unread = failures[0] if failures and failures[0].output_retryable else None
    unread_for_now = (
        first_unread.output_error if first_unread and not first_unread.error_read else ""
    )
    run_as = _job_run_as(client, budget, run.job_id)
    run_ended = getattr(getattr(run, "status", None), "termination_details", None)
    details: dict[str, Any] = {
        "run_id": numeric_run_id,
        "job_id": run.job_id,
        "run_name": _text(run.run_name),
        "result_state": _task_result_state(run),
        "termination_code": _enum_text(getattr(run_ended, "code", None)),
        "state_message": run_state_message,
        "run_page_url": _text(run.run_page_url),
        # Who the job runs as (jobs/get) and the run's creator (runs/get names no run-as
        # user): the ticket's owner where no rule names one, the first that names a person
        # (`analysis.enrichment_service`).
        "creator_user_name": _text(run.creator_user_name),
    }
    if run_as:
        details["run_as_user_name"] = run_as
    trigger = _enum_text(getattr(run, "trigger", None))
    if trigger:  # RUN_JOB_TASK: a Run Job task of another job run started it
        details["trigger"] = trigger
    if task_key and not key_found:
        details["task_key_not_found"] = task_key
    if failures:
        first = failures[0]
        details.update(
            task_key=first.task_key,
            task_run_id=first.run_id,
            task_result_state=first.result_state,
            task_state_message=first.state_message,
            error=first.error,
            error_trace=first.error_trace,
            error_code=first.termination_code,
            failed_tasks=[f.as_detail() for f in failures],
        )
        if first.run_page_url:
            details["task_run_page_url"] = first.run_page_url
        if first.output_error:
            details["output_error"] = first.output_error
    return Enrichment(
        error_message=_databricks_message(failures, run_state_message),
        details=details,
        source=DATABRICKS_SOURCE,
        correlation_text=_databricks_message(failures, run_state_message, with_trace=False),
        unread_for_now=unread_for_now,
        triggered_run_id=failures[0].triggered_run.get("run_id") if failures else None,
        triggering_task=failures[0].task_key if failures and failures[0].triggered_run else "",
    )


# ---------------------------------------------------------------------------------------------
# Azure Data Factory
# ---------------------------------------------------------------------------------------------


def adf_credential_from_settings(
    tenant_id: str,
    client_id: str,
    client_secret: str,
    *,
    timeout_seconds: float = 10,
    authority: str = "",
    disable_instance_discovery: bool = False,
) -> TokenCredential:
    """A service-principal credential (azure-identity ClientSecretCredential), with bounded I/O.
    `authority` is the Entra ID login host of a cloud other than the public one (azure-identity's
    default when empty)."""
    from azure.identity import ClientSecretCredential

    options: dict[str, Any] = {"authority": authority} if authority else {}
    if disable_instance_discovery:
        options["disable_instance_discovery"] = True
    return ClientSecretCredential(
        tenant_id,
        client_id,
        client_secret,
        connection_timeout=timeout_seconds,
        read_timeout=timeout_seconds,
        retry_total=2,
        **options,
    )


def _is_loopback_http(base_url: str) -> bool:
    parts = urlsplit(base_url)
    if parts.scheme != "http":
        return False
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@cache
def _adf_retry_policy_class() -> type:
    from azure.core.pipeline.policies import RetryPolicy

    class BudgetRetryPolicy(RetryPolicy):
        """azure-core's retry policy, but no back-off (nor Retry-After) outlasts the budget."""

        def __init__(self, budget: _Budget, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self._budget = budget

        def sleep(self, settings: dict[str, Any], transport: Any, response: Any = None) -> None:
            wait = self.get_retry_after(response) if response is not None else None
            if wait is None:
                wait = self.get_backoff_time(settings)
            try:
                self._budget.sleep(wait)
            except _BudgetExhausted as exc:
                http_response = getattr(response, "http_response", None)
                raise _AdfRetryExhausted(http_response) from exc

    return BudgetRetryPolicy


class _AdfRetryExhausted(Exception):
    """The retry policy stopped: the budget would run out before the next attempt."""

    def __init__(self, http_response: Any = None) -> None:
        super().__init__()
        self.status: int | None = getattr(http_response, "status_code", None)
        self.detail = ""
        if http_response is not None:
            try:
                error = http_response.json().get("error") or {}
                code, message = _text(error.get("code")), _text(error.get("message"))
                self.detail = f"{code}: {message}" if code else message
            except Exception:
                self.detail = _text(getattr(http_response, "reason", ""))


def _adf_client(config: AdfConfig, budget: _Budget) -> DataFactoryManagementClient:
    from azure.mgmt.datafactory import DataFactoryManagementClient

    base_url = config.base_url.rstrip("/")
    scope = ADF_API_SCOPE if _is_loopback_http(base_url) else f"{base_url}/.default"
    retry_policy = _adf_retry_policy_class()(
        budget,
        retry_total=3,
        retry_backoff_factor=0.5,
        retry_backoff_max=max(1, int(config.timeout_seconds)),
        retry_on_methods=frozenset(["GET", "POST"]),  # our POSTs are read-only queries
    )
    return DataFactoryManagementClient(
        config.credential,
        config.subscription_id,
        base_url=base_url,
        credential_scopes=[scope],
        retry_policy=retry_policy,
        connection_timeout=config.timeout_seconds,
        read_timeout=config.timeout_seconds,
    )


def _adf_reason(exc: BaseException, budget: _Budget) -> str:
    from azure.core.exceptions import (
        AzureError,
        ClientAuthenticationError,
        HttpResponseError,
        ServiceRequestError,
        ServiceRequestTimeoutError,
        ServiceResponseError,
        ServiceResponseTimeoutError,
    )

    if isinstance(exc, _AdfRetryExhausted):
        cause = exc.__cause__.__context__ if exc.__cause__ is not None else None
        if exc.status:
            detail = f" {exc.detail}" if exc.detail else ""
            return (
                f"{exc.status}{detail} (gave up retrying: its next try would start past the "
                f"{budget.describe()} budget)"
            )
        timeouts = (ServiceRequestTimeoutError, ServiceResponseTimeoutError)
        if isinstance(cause, AzureError) and not isinstance(cause, timeouts):
            return _adf_reason(cause, budget)
        return f"timed out after {budget.describe()}"
    if isinstance(exc, HttpResponseError) and exc.status_code:
        error = getattr(exc, "error", None)
        code = _text(getattr(error, "code", None))
        message = _text(getattr(error, "message", None)) or _text(exc.reason)
        return f"{exc.status_code} {code}: {message}" if code else f"{exc.status_code} {message}"
    if isinstance(exc, ClientAuthenticationError):
        return f"authentication failed: {exc.message}"
    if isinstance(exc, ServiceRequestTimeoutError | ServiceResponseTimeoutError):
        return f"timed out after {budget.describe()}"
    if isinstance(exc, ServiceRequestError) and "non-TLS" in str(exc.message):
        return f"refusing to send a bearer token over plain http: {exc.message}"
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return f"cannot connect: {exc.message}"
    return f"{type(exc).__name__}: {exc}"


def _adf_call(config: AdfConfig, budget: _Budget, what: str, call: Callable[..., T]) -> T:
    """Run one SDK operation (its arguments bound with `partial`) with per-call bounds, given as
    keyword arguments; map failures to EnrichmentError."""
    from azure.core.exceptions import AzureError

    remaining = budget.remaining()
    if remaining <= 0:
        raise EnrichmentError(f"ADF API: timed out after {budget.describe()} ({what})")
    kwargs: dict[str, Any] = {
        "timeout": remaining,  # azure-core RetryPolicy's absolute limit for this operation
        "connection_timeout": min(config.timeout_seconds, remaining),
        "read_timeout": config.timeout_seconds,
    }
    if _is_loopback_http(config.base_url):
        kwargs["enforce_https"] = False  # bearer tokens over plain http: local test servers only
    try:
        return call(**kwargs)
    except (AzureError, _AdfRetryExhausted) as exc:
        raise EnrichmentError(f"ADF API: {_adf_reason(exc, budget)}") from exc


def _run_filter(after: datetime, before: datetime, **kwargs: Any) -> Any:
    from azure.mgmt.datafactory.models import RunFilterParameters

    return RunFilterParameters(last_updated_after=after, last_updated_before=before, **kwargs)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _activity_error(activity: Any) -> dict[str, str]:
    error = activity.error if isinstance(activity.error, dict) else {}
    return {
        "activity": _text(activity.activity_name),
        "activity_type": _text(activity.activity_type),
        "activity_run_id": _text(activity.activity_run_id),
        "error_code": _text(error.get("errorCode")),
        "message": _text(error.get("message")),
        "failure_type": _text(error.get("failureType")),
        "target": _text(error.get("target")),
    }


def _activity_rank(activity: Any) -> tuple[int, datetime]:
    container = _text(activity.activity_type).lower() in _ADF_CONTAINER_ACTIVITIES
    start = activity.activity_run_start or datetime.max.replace(tzinfo=UTC)
    return int(container), _utc(start)


def _adf_message(failed: list[dict[str, str]], pipeline: str, status: str, run_message: str) -> str:
    if not failed:
        if run_message:
            return f"ADF pipeline '{pipeline}' {status or 'Failed'}: {run_message}"
        return ""
    first = failed[0]
    code = f"[{first['error_code']}] " if first["error_code"] else ""
    parts = [
        f"ADF activity '{first['activity']}' ({first['activity_type']}) in pipeline "
        f"'{pipeline}' failed: {code}{_clip_head(first['message'], ERROR_MESSAGE_CHARS)}"
    ]
    for other in failed[1:MAX_LISTED_FAILURES]:
        other_code = f"[{other['error_code']}] " if other["error_code"] else ""
        message = _clip_head(other["message"], 500)
        parts.append(
            f"Also failed: activity '{other['activity']}' ({other['activity_type']}): "
            f"{other_code}{message}"
        )
    if run_message and not any(
        f["message"] and (f["message"] in run_message or run_message in f["message"])
        for f in failed
    ):
        parts.append(f"Pipeline run message: {_clip_head(run_message, ERROR_MESSAGE_CHARS)}")
    return "\n".join(parts)


def enrich_adf_pipeline_run(
    config: AdfConfig, resource_group: str, factory: str, run_id: str
) -> Enrichment:
    """The error of a failed ADF pipeline run: its failed activities and the run's message."""
    budget = _Budget(config.timeout_seconds)
    with _adf_client(config, budget) as client:
        budget.start()
        run = _adf_call(
            config,
            budget,
            "pipeline run",
            partial(client.pipeline_runs.get, resource_group, factory, run_id),
        )
        now = datetime.now(UTC)
        start = _utc(run.run_start) if run.run_start else now - timedelta(days=7)
        end = _utc(run.run_end or run.last_updated or now)
        after, before = start - timedelta(hours=1), max(end, start) + timedelta(hours=1)
        activities: list[Any] = []
        token: str | None = None
        activity_error = ""
        for _ in range(MAX_PAGES):
            query = _run_filter(after, before, continuation_token=token)
            try:
                page = _activity_runs_page(
                    client, config, budget, resource_group, factory, run_id, query
                )
            except EnrichmentError as exc:  # keep the pipeline run's own message
                activity_error = str(exc)
                break
            activities.extend(page.value or [])
            token = page.continuation_token
            if not token or budget.expired():
                break

    failed_runs = [a for a in activities if _text(a.status).lower() in _ADF_FAILED_STATES]
    failed_runs.sort(key=_activity_rank)
    failed = [_activity_error(a) for a in failed_runs]
    pipeline = _text(run.pipeline_name)
    status = _text(run.status)
    run_message = _text(run.message)
    invoked_by = run.invoked_by.name if run.invoked_by is not None else None
    details: dict[str, Any] = {
        "pipeline": pipeline,
        "pipeline_run_id": _text(run.run_id) or run_id,
        "status": status,
        "message": run_message,
        "run_start": _iso(run.run_start),
        "run_end": _iso(run.run_end),
        "invoked_by": invoked_by,
        "failed_activities": failed,
    }
    if failed:
        first = failed[0]
        details.update(
            activity=first["activity"],
            activity_type=first["activity_type"],
            error_code=first["error_code"],
            failure_type=first["failure_type"],
            target=first["target"],
        )
    if activity_error:
        details["activity_runs_error"] = activity_error
    return Enrichment(
        error_message=_adf_message(failed, pipeline, status, run_message),
        details=details,
        source=ADF_SOURCE,
    )


def latest_failed_adf_run(
    config: AdfConfig,
    resource_group: str,
    factory: str,
    pipeline: str,
    since: datetime,
    until: datetime,
) -> str | None:
    """The run id of the most recent failed run of `pipeline` updated in [since, until], if any.

    For metric alerts, which carry a pipeline name but no run id. Naive datetimes are UTC.
    """
    budget = _Budget(config.timeout_seconds)
    with _adf_client(config, budget) as client:
        budget.start()
        runs = _failed_pipeline_runs(
            client, config, budget, resource_group, factory, pipeline, since, until
        )
    return runs[0][1] if runs else None


def adf_run_succeeded_since(
    config: AdfConfig,
    resource_group: str,
    factory: str,
    pipeline: str,
    since: datetime,
    failed_at: datetime,
) -> str | None:
    """The run id of the latest run of `pipeline` that started after `since` (the start of a
    failed run) and succeeded after `failed_at` (its end), if any: the pipeline succeeded again
    after that failure (a run beside it that succeeded before it failed did not). Naive
    datetimes are UTC."""
    budget = _Budget(config.timeout_seconds)
    with _adf_client(config, budget) as client:
        budget.start()
        for run in _query_rows(
            config,
            budget,
            "pipeline runs",
            partial(client.pipeline_runs.query_by_factory, resource_group, factory),
            _run_filter(
                _utc(since),
                datetime.now(UTC) + timedelta(hours=1),
                filters=_equals(("PipelineName", pipeline), ("Status", "Succeeded")),
                order_by=_newest_first("RunEnd"),
            ),
        ):
            if (
                _text(run.status).lower() == "succeeded"
                and _text(run.pipeline_name) == pipeline
                and run.run_start is not None
                and _utc(run.run_start) > _utc(since)
                and run.run_end is not None
                and _utc(run.run_end) > _utc(failed_at)
                and run.run_id
            ):
                return str(run.run_id)
    return None


def latest_adf_run_with_failed_activity(
    config: AdfConfig,
    resource_group: str,
    factory: str,
    activity: str,
    since: datetime,
    until: datetime,
) -> str | None:
    """The run id of the most recent failed pipeline run updated in [since, until] in which
    `activity` failed, if any (the newest `MAX_ACTIVITY_CANDIDATES` failed runs are looked in).

    For an `ActivityFailedRuns` alert split by the activity's name alone: it names no pipeline.
    Naive datetimes are UTC."""
    filters = _equals(("ActivityName", activity), ("Status", "Failed"))
    budget = _Budget(config.timeout_seconds)
    with _adf_client(config, budget) as client:
        budget.start()
        runs = _failed_pipeline_runs(
            client,
            config,
            budget,
            resource_group,
            factory,
            "",
            since,
            until,
            enough=MAX_ACTIVITY_CANDIDATES,
        )
        for _, run_id in runs[:MAX_ACTIVITY_CANDIDATES]:
            # An activity run is updated after its pipeline run started and by the time it
            # ended: the window that found the pipeline run, widened by its longest run.
            query = _run_filter(
                _utc(since) - timedelta(days=1), _utc(until) + timedelta(hours=1), filters=filters
            )
            page = _activity_runs_page(
                client, config, budget, resource_group, factory, run_id, query
            )
            if any(
                _text(a.activity_name) == activity and _text(a.status).lower() in _ADF_FAILED_STATES
                for a in page.value or []
            ):
                return run_id
            if budget.expired():
                break
    return None


def _failed_pipeline_runs(
    client: Any,
    config: AdfConfig,
    budget: _Budget,
    resource_group: str,
    factory: str,
    pipeline: str,
    since: datetime,
    until: datetime,
    *,
    enough: int = 0,
) -> list[tuple[datetime, str]]:
    """(when, run id) of the failed pipeline runs updated in [since, until], of `pipeline` when
    one is given, newest first. With `enough`, no further page is read once that many are
    found (the query answers the newest first): a busy factory's pages would spend the time
    budget the look-ups after it need."""
    filters = _equals(*([("PipelineName", pipeline)] if pipeline else []), ("Status", "Failed"))
    found: list[tuple[datetime, str]] = []
    for run in _query_rows(
        config,
        budget,
        "pipeline runs",
        partial(client.pipeline_runs.query_by_factory, resource_group, factory),
        _run_filter(_utc(since), _utc(until), filters=filters, order_by=_newest_first("RunEnd")),
    ):
        if _text(run.status).lower() != "failed":
            continue
        if pipeline and _text(run.pipeline_name) != pipeline:
            continue
        stamp = run.run_end or run.last_updated or run.run_start
        if run.run_id and stamp is not None:
            found.append((_utc(stamp), run.run_id))
        if enough and len(found) >= enough:
            break
    return sorted(found, reverse=True)


def _activity_runs_page(
    client: Any,
    config: AdfConfig,
    budget: _Budget,
    resource_group: str,
    factory: str,
    run_id: str,
    query: Any,
) -> Any:
    operation = client.activity_runs.query_by_pipeline_run
    return _adf_call(
        config, budget, "activity runs", partial(operation, resource_group, factory, run_id, query)
    )


def _equals(*conditions: tuple[str, str]) -> list[Any]:
    """Run query filters: each operand (PipelineName, Status, ...) equal to its value."""
    from azure.mgmt.datafactory.models import RunQueryFilter

    return [
        RunQueryFilter(operand=operand, operator="Equals", values_property=[value])
        for operand, value in conditions
    ]


def _newest_first(field: str) -> list[Any]:
    from azure.mgmt.datafactory.models import RunQueryOrderBy

    return [RunQueryOrderBy(order_by=field, order="DESC")]


def _query_rows(
    config: AdfConfig, budget: _Budget, what: str, operation: Callable[[Any], Any], query: Any
) -> Iterator[Any]:
    """The rows a run query answers, page after page (at most MAX_PAGES, within the budget)."""
    for _ in range(MAX_PAGES):
        page = _adf_call(config, budget, what, partial(operation, query))
        yield from page.value or []
        if not page.continuation_token or budget.expired():
            return
        query.continuation_token = page.continuation_token


def latest_failed_adf_trigger_run(
    config: AdfConfig,
    resource_group: str,
    factory: str,
    trigger: str,
    since: datetime,
    until: datetime,
) -> Enrichment | None:
    """The error of the most recent failed run of `trigger` in [since, until], if any.

    For alerts on a factory's `TriggerFailedRuns`, which name a trigger and no pipeline run to
    read: the trigger run's own message is the error (an event trigger's storage subscription,
    a pipeline it could not start...).
    Naive datetimes are UTC."""
    filters = _equals(("TriggerName", trigger), ("Status", "Failed"))
    order = _newest_first("TriggerRunTimestamp")
    budget = _Budget(config.timeout_seconds)
    best: tuple[datetime, Any] | None = None
    with _adf_client(config, budget) as client:
        budget.start()
        for run in _query_rows(
            config,
            budget,
            "trigger runs",
            partial(client.trigger_runs.query_by_factory, resource_group, factory),
            _run_filter(_utc(since), _utc(until), filters=filters, order_by=order),
        ):
            if _enum_text(run.status).lower() != "failed" or _text(run.trigger_name) != trigger:
                continue
            if run.trigger_run_timestamp is None:
                continue
            if best is None or _utc(run.trigger_run_timestamp) > best[0]:
                best = (_utc(run.trigger_run_timestamp), run)
    if best is None:
        return None
    run = best[1]
    kind = f" ({_text(run.trigger_type)})" if run.trigger_type else ""
    message = _clip_head(_text(run.message), ERROR_MESSAGE_CHARS) or "no message given"
    return Enrichment(
        error_message=f"ADF trigger '{trigger}'{kind} failed at {_iso(best[0])}: {message}",
        details={
            "trigger": trigger,
            "trigger_type": _text(run.trigger_type),
            "trigger_run_id": _text(run.trigger_run_id),
            "trigger_run_at": _iso(best[0]),
            "message": _text(run.message),
            "triggered_pipelines": dict(run.triggered_pipelines or {}),
        },
        source=ADF_SOURCE,
    )


def databricks_run_outputs(config: DatabricksConfig, run_id: str) -> list[tuple[str, str]]:
    """The output of a Databricks run for log analysis: per task (failed ones first, at most
    ``MAX_TASK_OUTPUTS``), a name and its text (the stdout the API keeps, then the error and
    its trace). Raises ``EnrichmentError`` naming what failed."""
    client, budget, numeric_run_id, run = _read_run(config, run_id)
    tasks = sorted(run.tasks or [], key=lambda t: _task_result_state(t) != "FAILED")
    targets = [(str(t.task_key or t.run_id), t.run_id, t) for t in tasks if t.run_id is not None]
    if not targets:
        targets = [(f"run-{numeric_run_id}", numeric_run_id, run)]
    outputs: list[tuple[str, str]] = []
    for name, task_run_id, task_run in targets[:MAX_TASK_OUTPUTS]:
        output = _databricks_call(
            budget, "runs/get-output", partial(client.jobs.get_run_output, task_run_id)
        )
        error = _ANSI.sub("", _text(output.error))
        if error:
            # The API's error is the task's failure: a header line logged at ERROR says so
            # (a Python error's trace has no "Traceback ...:" line the miner knows).
            ended = _from_millis(task_run.end_time or task_run.start_time) or datetime.now(UTC)
            error = f"{ended:%Y-%m-%dT%H:%M:%SZ} ERROR [Databricks {name}] {error}"
        parts = [
            _ANSI.sub("", _text(output.logs)),
            error,
            _ANSI.sub("", _text(output.error_trace)),
        ]
        outputs.append((f"{name}.log", "\n".join(part for part in parts if part)))
    return outputs
