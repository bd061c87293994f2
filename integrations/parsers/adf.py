"""The enriched Azure Data Factory failure body (posted by a Logic App or a pipeline Web activity).

Azure Monitor's ADF alerts carry counts, not error text; this body carries what a ticket needs.
Field names are accepted in snake_case or in ADF's own camelCase (what `@pipeline()` and
`@activity()` expressions produce), so a Web activity can post them without renaming:

    {
      "factory": "adf-prod",                  # or dataFactoryName
      "pipeline": "copy_sales",               # or pipelineName            (required)
      "run_id": "0f3b...",                    # or pipelineRunId / runId   (required)
      "activity": "CopyFromSql",              # or activityName
      "error_code": "2200",                   # or errorCode
      "error_message": "...",                 # or errorMessage            (required)
      "failure_type": "UserError",            # or failureType
      "logic_app_run_id": "0858...",          # or logicAppRunId
      "status": "Failed",                     # Failed (default) or Succeeded (closes the loop)
      "severity": "High",                     # optional: Critical, High, Medium, Low
      "subscription_id": "...", "resource_group": "...",
      "run_start": "2025-12-10T12:30:00Z", "run_end": "...", "run_url": "https://adf.azure.com/..."
    }
"""

from __future__ import annotations

from typing import Any

from integrations.events import EventKind, FailureEvent, ParseError, Severity
from integrations.parsers.common import parse_timestamp, require_object, text

_ALIASES = {
    "factory": ("factory", "dataFactoryName", "factoryName"),
    "pipeline": ("pipeline", "pipelineName"),
    "run_id": ("run_id", "pipelineRunId", "runId"),
    "activity": ("activity", "activityName"),
    "error_code": ("error_code", "errorCode"),
    "error_message": ("error_message", "errorMessage"),
    "failure_type": ("failure_type", "failureType"),
    "logic_app_run_id": ("logic_app_run_id", "logicAppRunId"),
    "status": ("status",),
    "severity": ("severity",),
    "subscription_id": ("subscription_id", "subscriptionId"),
    "resource_group": ("resource_group", "resourceGroup"),
    "run_start": ("run_start", "runStart"),
    "run_end": ("run_end", "runEnd"),
    "run_url": ("run_url", "runUrl"),
}
_REQUIRED = ("pipeline", "run_id")


def _get(body: dict[str, Any], name: str) -> str:
    for alias in _ALIASES[name]:
        if alias in body and body[alias] is not None:
            return text(body, alias)
    return ""


def parse_adf_failure(payload: Any) -> FailureEvent:
    body = require_object(payload, "body")
    values = {name: _get(body, name) for name in _ALIASES}
    for name in _REQUIRED:
        if not values[name]:
            raise ParseError(f"missing required field '{name}'")
    status = (values["status"] or "Failed").lower()
    if status not in {"failed", "succeeded"}:
        raise ParseError(
            f"field 'status' must be Failed or Succeeded, not '{values['status'][:40]}'"
        )
    failed = status == "failed"
    if failed and not values["error_message"]:
        raise ParseError("missing required field 'error_message'")
    severity = None
    if values["severity"]:
        try:
            severity = Severity(values["severity"].capitalize())
        except ValueError as exc:
            raise ParseError("field 'severity' must be Critical, High, Medium or Low") from exc

    run_key = f"adf:{values['run_id']}"
    pipeline = values["pipeline"][:500]
    resource = {
        key: values[key]
        for key in ("factory", "subscription_id", "resource_group", "run_id", "activity")
        if values[key]
    }
    resource["resource_type"] = "Microsoft.DataFactory/factories"
    links = {"run": values["run_url"]} if values["run_url"].startswith("https://") else {}
    return FailureEvent(
        source="adf",
        processing_mode="adf",
        kind=EventKind.FAILURE if failed else EventKind.RESOLVED,
        pipeline=pipeline,
        run_key=run_key,
        occurrence_key=f"{run_key}:{values['activity']}:{status}",
        resolve_key=f"adf:{values['factory']}:{pipeline}",
        error_message=values["error_message"][:16000],
        severity_hint=severity,
        occurred_at=parse_timestamp(values["run_end"] or values["run_start"], "run_end"),
        resource=resource,
        links=links,
        logic_app_run_id=values["logic_app_run_id"],
        details={
            key: values[key]
            for key in ("error_code", "failure_type", "activity", "run_start", "run_end")
            if values[key]
        },
    )
