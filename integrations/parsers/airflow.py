"""Airflow task failures, as posted by `integrations/airflow_callback/rca_callback.py`.

Airflow has no failure webhook of its own; the body is ours (`bodies.AirflowFailureBody`, and
the README):

    {"dag_id": "sales_daily", "task_id": "load", "run_id": "scheduled__2025-12-10T00:00:00+00:00",
     "logical_date": "2025-12-10T00:00:00+00:00", "try_number": 2, "max_tries": 3,
     "exception": "psycopg2.OperationalError: ...", "exception_type": "OperationalError",
     "log_url": "https://airflow.example.com/log?...", "operator": "PythonOperator",
     "owner": "data-eng", "map_index": -1, "state": "failed", "hostname": "worker-1"}

The body the previous product's callback posted (`execution_date`, `error`, `dag_display_name`,
`pool`, `queue`, `duration`, ...) is a superset of this one and is accepted as it is.

One ticket per failed task of a DAG run; each try is a new occurrence of that ticket. The
instances of a mapped task (`.expand()`, told apart by `map_index`) are one task: their
pipeline name and recovery key leave the index out, so those failing with the same error count
on one ticket (its fingerprint's), and those failing otherwise on their own tickets; each
instance keeps its own run key and occurrence keys (a redelivery of one is a duplicate), and
the ticket waits for the success of each instance counted on it (`tickets.services._resolve`).
A run id
such as `scheduled__2025-12-10T00:00:00+00:00` is the same in every Airflow that runs the DAG
on that schedule, so the run's key carries the deployment the task ran on
(`airflow_deployment`): the dev and prod runs of one DAG are two failures, and a success in one
does not close the other.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from analysis.redaction import redact
from integrations.events import (
    RUN_KEY_LIMIT,
    EventKind,
    FailureEvent,
    ParseError,
    Source,
    bounded_key,
)
from integrations.parsers.bodies import AirflowFailureBody, validate
from integrations.parsers.common import parse_timestamp, text
from tickets.vocabulary import TRY_DETAILS

# A task instance's state as the callback sends it: a success closes the loop and a skip ran
# nothing (it neither fails nor recovers); any other state is a failure, whatever it reads (a
# failure callback can see the instance before its failed state is written: Airflow 3 runs the
# callbacks of a task killed while queued or scheduled with that state), kept in the details.
_RESOLVED_STATE, _SKIPPED_STATE = "success", "skipped"
# A try Airflow retries by itself (it has tries left): a failure the ticket counts, with nothing
# to rerun yet. Remediation waits for the task's final failure (integrations/processing.py).
RETRY_STATE = "up_for_retry"
# How Airflow 3's Task SDK state reads through str() (an enum without a __str__ of its own:
# "TaskInstanceState.FAILED"), which callbacks before this release sent as the state.
_ENUM_STATE_PREFIX = "taskinstancestate."
_OUTCOME_WORDS = {
    EventKind.FAILURE: "failed",
    EventKind.RESOLVED: "ok",
    EventKind.IGNORED: "skipped",
}
# The error text kept: a traceback states its error last, a chained one its first cause first,
# so a longer one keeps its head and its tail (the callback trims what it sends alike).
MESSAGE_LIMIT = 16_000
MESSAGE_HEAD = 4_000
_ELIDED = "\n…\n"
_KEPT_DETAILS = (
    "operator",
    "owner",
    "exception_type",
    "pool",
    "queue",
    "hostname",
    "duration",
    "state",
    "dag_display_name",
)


def parse_airflow_failure(payload: Any) -> FailureEvent:
    parsed = validate(AirflowFailureBody, payload)
    body: dict[str, Any] = payload  # validated: a JSON object; the kept details are read from it
    dag_id, task_id, run_id = parsed.dag_id, parsed.task_id, parsed.run_id
    map_index = -1 if parsed.map_index is None else parsed.map_index
    try_number = 1 if parsed.try_number is None else parsed.try_number
    state = _state_name(parsed.state)
    exception = parsed.exception or parsed.error
    logical_date = _first_given(parsed, "logical_date", "execution_date")
    ended = _first_given(parsed, "end_date", "timestamp")

    instance_ref = task_id if map_index == -1 else f"{task_id}[{map_index}]"
    deployment = airflow_deployment(parsed.deployment, parsed.airflow_base_url, parsed.log_url)
    # A DAG id holds no ':', so a deployment's keys never meet those of a body that names none.
    prefix = f"airflow:{deployment}:" if deployment else "airflow:"
    run_key = f"{prefix}{dag_id}/{instance_ref}/{run_id}"
    resolved = state == _RESOLVED_STATE
    if state == _SKIPPED_STATE:
        kind = EventKind.IGNORED
    elif resolved:
        kind = EventKind.RESOLVED
    else:
        kind = EventKind.FAILURE
    if kind is EventKind.FAILURE and not exception:
        raise ParseError("missing required field 'exception' (or 'error')")

    links = {}
    log_url = parsed.log_url
    if log_url.startswith(("https://", "http://")):
        links["log"] = log_url
    details: dict[str, Any] = {"dag_id": dag_id, "task_id": task_id, "try_number": try_number}
    for key in _KEPT_DETAILS:
        if body.get(key) not in (None, ""):
            details[key] = text(body, key)
    if parsed.max_tries is not None:
        details["max_tries"] = parsed.max_tries
    if "state" in details:
        details["state"] = state
    return FailureEvent(
        source=Source.AIRFLOW,
        processing_mode="airflow",
        kind=kind,
        pipeline=f"{dag_id}.{task_id}",
        run_key=run_key,
        occurrence_key=f"{run_key}#try{try_number}:{_OUTCOME_WORDS[kind]}",
        # The task, whatever the run (and the map index): its success in a later run means it
        # recovered (an older run's, while a newer one still fails, does not:
        # tickets.services._newer_failed_run).
        resolve_key=f"{prefix}{dag_id}/{task_id}",
        deployment=deployment,
        error_message=_bounded_exception(exception),
        occurred_at=parse_timestamp(*ended),
        resource={
            "dag_id": dag_id,
            "task_id": task_id,
            "run_id": run_id,
            "map_index": str(map_index),
            "logical_date": _iso_utc(parse_timestamp(*logical_date)),
            "airflow_base_url": parsed.airflow_base_url,
            "deployment": deployment,
        },
        links=links,
        details=details,
    )


def _state_name(sent: str) -> str:
    """The state a body sends, as Airflow names it in lower case: "TaskInstanceState.FAILED"
    (how an Airflow 3 instance's state reads through str()) is "failed"."""
    return sent.lower().removeprefix(_ENUM_STATE_PREFIX)


def map_index_of(event: FailureEvent) -> int | None:
    """The map index of a mapped Airflow task instance's failure or success; None for an
    instance that is not mapped, or another source."""
    if event.source != Source.AIRFLOW:
        return None
    try:
        map_index = int(event.resource.get("map_index", -1))
    except (TypeError, ValueError):
        return None
    return map_index if map_index >= 0 else None


def instance_resolve_key(event: FailureEvent) -> str:
    """The recovery key releases before mapped instances shared a ticket gave a mapped
    instance (`<dag>/<task>[<map index>]`), which the tickets they opened keep: the success of
    that instance ends its ticket. '' for an event that is not of a mapped instance."""
    map_index = map_index_of(event)
    if map_index is None or len(event.resolve_key) >= RUN_KEY_LIMIT:
        return ""
    return bounded_key(f"{event.resolve_key}[{map_index}]", RUN_KEY_LIMIT)


# A mapped instance's run key: `<task>[<map index>]/<run id>` ends it (neither a task id nor,
# by Airflow's default `allowed_run_id_pattern`, a run id holds a `[` or a `/`).
_MAPPED_INSTANCE_RUN = re.compile(r"\[\d+\](/[^/\[\]]*)$")


def task_run_key(run_key: str) -> str:
    """The run key an Airflow run key names the task's DAG run by: a mapped instance's without
    its map index (the instances of one task in one DAG run are one run to remediate: a clear
    acts on each of them that fails); any other key as it is."""
    if not run_key.startswith("airflow:"):
        return run_key
    return _MAPPED_INSTANCE_RUN.sub(r"\1", run_key)


def retried_by_airflow(source: str, state: str | None) -> bool:
    """Whether a failure (its source and the task instance's `state` its details keep) is a
    try Airflow retries by itself."""
    return source == Source.AIRFLOW and (state or "").strip().lower() == RETRY_STATE


def try_details(event: FailureEvent) -> dict[str, Any]:
    """The `TRY_DETAILS` of an Airflow failure (those it gives), which the ticket it is counted
    on takes (`Ticket.objects.record_recurrence`); empty for another source."""
    if event.source != Source.AIRFLOW:
        return {}
    return {key: event.details[key] for key in TRY_DETAILS if key in event.details}


def ends_retries(event: FailureEvent) -> bool:
    """Whether the failure is the final one of an Airflow task that was tried before (a try
    Airflow does not retry, after the first): the earlier tries may have been reported as
    retried, and nothing was proposed for them."""
    if event.kind is not EventKind.FAILURE:
        return False
    return final_try(event.source, event.details.get("state"), event.details.get("try_number"))


def final_try(source: str, state: str | None, try_number: Any) -> bool:
    """`ends_retries` of a failure by its source and the `state` and `try_number` its details
    keep (the parser's whole number, or its digits as a stored event's JSON gives them)."""
    if source != Source.AIRFLOW or retried_by_airflow(source, state):
        return False
    return int(try_number or 1) > 1


_DEFAULT_PORTS = {"http": 80, "https": 443}


def airflow_deployment(named: str, base_url: str, log_url: str) -> str:
    """The Airflow a task ran on: the name the sender gives it (`deployment`, set with
    RCA_AIRFLOW_DEPLOYMENT in the callback), else the host and port of its web server, from
    `airflow_base_url` or else the `log_url` it links to (one web server per deployment).
    Empty when the body says none of these: the keys are then the DAG's alone."""
    if named.strip():
        return named.strip()[:200]
    for url in (base_url, log_url):
        try:
            parts = urlsplit(url.strip())
        except ValueError:  # e.g. an unclosed IPv6 bracket
            continue
        if parts.scheme not in ("http", "https") or not parts.hostname:
            continue
        try:
            port = parts.port
        except ValueError:  # not a number: the host alone
            port = None
        if port == _DEFAULT_PORTS[parts.scheme]:  # https://x:443 is https://x
            port = None
        return (parts.hostname if port is None else f"{parts.hostname}:{port}")[:200]
    return ""


def _bounded_exception(text: str) -> str:
    """`text` if it fits in MESSAGE_LIMIT characters, else its head and its tail (where a
    traceback's own error line is), cut from the redacted text: a tail starting inside a secret
    (`sword=<password>`, the last lines of a key) keeps no word a rule knows it by, so it
    would be stored, shown and sent as it is (ingest redacts the event again: a no-op here)."""
    if len(text) <= MESSAGE_LIMIT:
        return text
    text = redact(text)
    if len(text) <= MESSAGE_LIMIT:
        return text
    tail = MESSAGE_LIMIT - MESSAGE_HEAD - len(_ELIDED)
    return f"{text[:MESSAGE_HEAD]}{_ELIDED}{text[-tail:]}"


def _iso_utc(moment: datetime | None) -> str:
    """ISO 8601 with a T, UTC written Z, as the API writes its own timestamps. Rows stored
    before this hold `str(datetime)` ("2026-10-01 00:00:00+00:00"): whoever reads a stored
    one parses it (`datetime.fromisoformat` reads both)."""
    if moment is None:
        return ""
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _first_given(body: AirflowFailureBody, *names: str) -> tuple[Any, str]:
    """The value of the first of `names` the body gives, and that name (a 400 names the field
    that was read: a bad `timestamp` was reported as `end_date`)."""
    for name in names:
        value = getattr(body, name)
        if value not in (None, ""):
            return value, name
    return None, names[0]
