"""The enriched Azure Data Factory failure body (posted by a Logic App or a pipeline Web activity).

Azure Monitor's ADF alerts carry counts, not error text; this body carries what a ticket needs.
Its fields, their camelCase aliases and what is required: `bodies.AdfFailureBody`; the failed
activity's `error` object (`@activity('…').error`) may stand in for the error fields.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from analysis.redaction import redact, redacted_head
from integrations.events import (
    RUN_KEY_LIMIT,
    EventKind,
    FailureEvent,
    ParseError,
    Severity,
    Source,
    bounded_key,
)
from integrations.parsers.bodies import AdfFailureBody, validate
from integrations.parsers.common import parse_timestamp

MESSAGE_LIMIT = 16_000  # the error text's characters a ticket keeps

# The flat field each field of the failed activity's `error` object stands in for.
_ACTIVITY_ERROR_FIELDS = {
    "error_message": "message",
    "error_code": "errorCode",
    "failure_type": "failureType",
    "activity": "target",
}


def adf_run_key(run_id: str) -> str:
    """The run key of an ADF pipeline run, whichever way its failure arrives (this webhook, an
    Azure alert naming the run, the run an alert's analysis found:
    `tickets.services.settle_run`)."""
    return bounded_key(f"adf:{run_id}", RUN_KEY_LIMIT)


def adf_resolve_key(factory: str, pipeline: str) -> str:
    """What a run of the factory's pipeline that succeeded ends (this webhook's `Succeeded`):
    the recovery key of this webhook's failures, of an Azure alert's (common schema) naming
    the run and the factory, and of an alert's ticket once it took the key of the run its
    analysis found (`tickets.services.settle_run`)."""
    return bounded_key(f"adf:{factory}:{pipeline}", RUN_KEY_LIMIT)


def adf_studio_run_url(subscription_id: str, resource_group: str, factory: str, run_id: str) -> str:
    """The run's page in ADF Studio (Monitor, Pipeline runs; the public cloud's), '' unless each
    of its names is known: a failure whose sender gave no `run_url` still links to its run."""
    if not (subscription_id and resource_group and factory and run_id):
        return ""
    factory_id = (
        f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
        f"/providers/Microsoft.DataFactory/factories/{factory}"
    )
    return (
        f"https://adf.azure.com/en/monitoring/pipelineruns/{quote(run_id, safe='')}"
        f"?factory={quote(factory_id, safe='')}"
    )


def _error_digest(error_message: str) -> str:
    """What tells apart the failures of one activity name in one run: the iterations of a
    ForEach share their activity's name, and one failing otherwise than another is one more
    occurrence, not a duplicate of it. Of the redacted text, as a replay of the stored body
    reads it."""
    return hashlib.sha256(redact(error_message).encode()).hexdigest()[:16]


def adf_report_digest(run_id: str, failures: Iterable[tuple[str, str]]) -> str:
    """One failure of an ADF run, whichever report of it is at hand: its run, and each failed
    activity it reports with its error text (redacted, as a replay of the stored body reads
    them), in the order given (sorted by the caller: the order of a log search's rows is not
    the report's). A stateless Azure log alert reports the same failed run at each evaluation
    whose window still holds its rows, each time as a new alert
    (integrations/parsers/azure_monitor.py)."""
    parts = [run_id]
    for activity, error_message in failures:
        parts += [redact(activity), redact(error_message)]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def parse_adf_failure(payload: Any) -> FailureEvent:
    values = validate(AdfFailureBody, payload).model_dump()
    error = values.pop("error") or {}
    for flat, name in _ACTIVITY_ERROR_FIELDS.items():
        values[flat] = values[flat] or error.get(name, "")
    status = (values["status"] or "Failed").lower()
    if status not in {"failed", "succeeded"}:
        given = redacted_head(values["status"], 40, "…")
        raise ParseError(f"field 'status' must be Failed or Succeeded, not '{given}'")
    failed = status == "failed"
    if failed and not values["error_message"]:
        missing = (
            "'error.message'" if error else "'error_message' (or 'errorMessage' or 'error.message')"
        )
        raise ParseError(f"missing required field {missing}")
    severity = None
    if values["severity"]:
        try:
            severity = Severity(values["severity"].capitalize())
        except ValueError as exc:
            raise ParseError("field 'severity' must be Critical, High, Medium or Low") from exc

    run_key = adf_run_key(values["run_id"])
    # The activity's name is the sender's text (ingest redacts it in the entity and the
    # details): redacted here too, so that the key a replay of the stored body makes is this.
    occurrence_key = f"{run_key}:{redact(values['activity'])}:{status}"
    if failed:
        occurrence_key += f":{_error_digest(values['error_message'])}"
    pipeline = values["pipeline"]
    resource = {
        key: values[key]
        for key in ("factory", "subscription_id", "resource_group", "run_id", "activity")
        if values[key]
    }
    resource["resource_type"] = "Microsoft.DataFactory/factories"
    run_url = values["run_url"] if values["run_url"].startswith("https://") else ""
    run_url = run_url or adf_studio_run_url(
        values["subscription_id"], values["resource_group"], values["factory"], values["run_id"]
    )
    links = {"run": run_url} if run_url else {}
    # Both are checked, so a bad one is named whichever the other is.
    run_start = parse_timestamp(values["run_start"], "run_start")
    run_end = parse_timestamp(values["run_end"], "run_end")
    return FailureEvent(
        source=Source.ADF,
        processing_mode="adf",
        kind=EventKind.FAILURE if failed else EventKind.RESOLVED,
        pipeline=pipeline,
        run_key=run_key,
        occurrence_key=occurrence_key,
        resolve_key=adf_resolve_key(values["factory"], pipeline),
        deployment=values["factory"],
        error_message=redacted_head(values["error_message"], MESSAGE_LIMIT),
        severity_hint=severity,
        occurred_at=run_end or run_start,
        resource=resource,
        links=links,
        logic_app_run_id=values["logic_app_run_id"],
        details={
            key: values[key]
            for key in ("error_code", "failure_type", "activity", "run_start", "run_end")
            if values[key]
        },
    )
