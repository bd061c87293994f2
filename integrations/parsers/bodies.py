"""Typed models of the failure webhooks' bodies.

The parsers validate with them (`validate`), and the OpenAPI document's request bodies are
generated from them (rca_project/openapi.py, `model_json_schema`), so the schema, the parser
and the README's examples describe one thing. Pure: pydantic only, no Django.

The models keep the parsers' leniency: unknown fields are kept (other senders' formats), ids may
arrive as numbers, text is trimmed, null counts as absent. Rules that concern two fields at once
(error text required unless the run succeeded) are stated in each model's schema (`anyOf`) and
checked by its parser, whose messages name the field.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
)

from integrations.events import ParseError
from tickets.vocabulary import Severity

# Text that is there: something other than whitespace (or NUL, which ingest strips).
PRESENT = r"[^\s\x00]"


def _as_text(value: Any) -> str:
    """A field as text: numbers are accepted (ids often arrive as either), objects are not."""
    if value is None:
        return ""
    if isinstance(value, bool | dict | list):
        raise ValueError("must be a string")
    return str(value).strip()


Text = Annotated[str, BeforeValidator(_as_text)]
# (The constraint first: so it shows in the JSON schema; the trimming still runs before it.)
RequiredText = Annotated[str, StringConstraints(pattern=PRESENT), BeforeValidator(_as_text)]
# Checked by the parser (ISO 8601, or epoch seconds/milliseconds); documented as ISO 8601.
Timestamp = Annotated[Any, WithJsonSchema({"type": "string", "format": "date-time"})]


def _present(*names: str) -> list[dict[str, Any]]:
    return [{"required": [name], "properties": {name: {"pattern": PRESENT}}} for name in names]


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


# --- Azure Data Factory ------------------------------------------------------------------------


class AdfFailureBody(_Body):
    """The enriched ADF failure body (a Logic App or a pipeline Web activity). Every field also
    accepts ADF's camelCase name (what `@pipeline()` / `@activity()` expressions give):
    dataFactoryName, pipelineName, pipelineRunId/runId, activityName, errorCode, errorMessage,
    failureType, logicAppRunId, subscriptionId, resourceGroup, runStart, runEnd, runUrl.
    `error_message` is required unless status is Succeeded."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                *_present("error_message"),
                {"required": ["status"], "properties": {"status": {"enum": ["Succeeded"]}}},
            ],
            "example": {
                "factory": "adf-sales-prod",
                "pipeline": "pl_copy_sales_orders",
                "run_id": "6f1d3c9a-2b7e-4c1a-9f00-1234567890ab",
                "activity": "Copy_Orders_From_SQL",
                "error_code": "2200",
                "error_message": "ErrorCode=SqlFailedToConnect, Cannot connect to SQL Database.",
                "failure_type": "UserError",
                "status": "Failed",
                "severity": "High",
                "run_start": "2025-12-10T12:30:00Z",
                "run_end": "2025-12-10T12:34:56Z",
            },
        }
    )

    factory: Text = Field(
        "",
        validation_alias=AliasChoices("factory", "dataFactoryName", "factoryName"),
        description="Data factory name.",
    )
    pipeline: RequiredText = Field(
        validation_alias=AliasChoices("pipeline", "pipelineName"), description="Pipeline name."
    )
    run_id: RequiredText = Field(
        validation_alias=AliasChoices("run_id", "pipelineRunId", "runId"),
        description="Pipeline run id: the dedup key.",
    )
    activity: Text = Field(
        "",
        validation_alias=AliasChoices("activity", "activityName"),
        description="Failed activity.",
    )
    error_code: Text = Field("", validation_alias=AliasChoices("error_code", "errorCode"))
    error_message: Text = Field(
        "",
        validation_alias=AliasChoices("error_message", "errorMessage"),
        description="The error text (secrets are redacted on arrival).",
    )
    failure_type: Text = Field(
        "",
        validation_alias=AliasChoices("failure_type", "failureType"),
        json_schema_extra={"example": "UserError"},
    )
    logic_app_run_id: Text = Field(
        "", validation_alias=AliasChoices("logic_app_run_id", "logicAppRunId")
    )
    status: Text = Field(
        "Failed",
        description="Failed opens or updates a ticket; Succeeded closes the loop.",
        json_schema_extra={"enum": ["Failed", "Succeeded"]},
    )
    severity: Text = Field("", json_schema_extra={"enum": [*Severity]})
    subscription_id: Text = Field(
        "", validation_alias=AliasChoices("subscription_id", "subscriptionId")
    )
    resource_group: Text = Field(
        "", validation_alias=AliasChoices("resource_group", "resourceGroup")
    )
    run_start: Text = Field(
        "",
        validation_alias=AliasChoices("run_start", "runStart"),
        json_schema_extra={"format": "date-time"},
    )
    run_end: Text = Field(
        "",
        validation_alias=AliasChoices("run_end", "runEnd"),
        json_schema_extra={"format": "date-time"},
    )
    run_url: Text = Field(
        "", validation_alias=AliasChoices("run_url", "runUrl"), json_schema_extra={"format": "uri"}
    )


# --- Airflow -----------------------------------------------------------------------------------


class AirflowFailureBody(_Body):
    """Posted by integrations/airflow_callback/rca_callback.py. One ticket per failed task of a
    DAG run; each try is an occurrence. The previous product's body (execution_date, error,
    dag_display_name, pool, queue, duration...) is accepted as it is. `exception` (or `error`)
    is required unless state is success or skipped."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                *_present("exception", "error"),
                {"required": ["state"], "properties": {"state": {"enum": ["success", "skipped"]}}},
            ],
            "example": {
                "dag_id": "sales_daily",
                "task_id": "load_orders",
                "run_id": "scheduled__2025-12-10T00:00:00+00:00",
                "logical_date": "2025-12-10T00:00:00+00:00",
                "try_number": 2,
                "max_tries": 3,
                "exception": "psycopg2.OperationalError: could not connect to server",
                "exception_type": "OperationalError",
                "state": "failed",
            },
        }
    )

    dag_id: RequiredText
    task_id: RequiredText
    run_id: RequiredText
    logical_date: Timestamp = None
    execution_date: Timestamp = Field(None, description="Older name of logical_date.")
    # Checked by the parser (a whole number 0-10000, given as a number or a string).
    try_number: Annotated[
        Any, WithJsonSchema({"type": "integer", "minimum": 0, "maximum": 10000})
    ] = None
    max_tries: Annotated[Any, WithJsonSchema({"type": "integer"})] = None
    exception: Text = Field("", description="The exception text or traceback.")
    error: Text = Field("", description="Older name of exception.")
    exception_type: Text = ""
    log_url: Text = Field("", json_schema_extra={"format": "uri"})
    operator: Text = ""
    owner: Text = ""
    map_index: Annotated[Any, WithJsonSchema({"type": "integer", "default": -1})] = None
    state: Text = Field("", description="failed, or success/skipped to close the loop.")
    hostname: Text = ""
    end_date: Timestamp = None


# --- Databricks --------------------------------------------------------------------------------

DATABRICKS_EVENTS = (
    "jobs.on_failure",
    "jobs.on_success",
    "jobs.on_start",
    "jobs.on_duration_warning_threshold_exceeded",
    "jobs.on_streaming_backlog_exceeded",
)


def _known_event(value: str) -> str:
    if value not in DATABRICKS_EVENTS:
        raise ValueError(f"is an unknown Databricks event_type '{value[:80]}'")
    return value


class DatabricksJob(_Body):
    job_id: RequiredText
    name: Text = ""


class DatabricksRunState(_Body):
    state_message: Text = ""


class DatabricksRun(_Body):
    run_id: RequiredText
    run_page_url: Text = Field("", json_schema_extra={"format": "uri"})
    state: DatabricksRunState | None = None


class DatabricksTask(_Body):
    task_key: Text = ""


class DatabricksNotification(_Body):
    """Databricks job/task notification webhook. jobs.on_failure opens a ticket,
    jobs.on_success closes the loop; start and duration warnings are stored and ignored."""

    event_type: Annotated[RequiredText, AfterValidator(_known_event)] = Field(
        json_schema_extra={"enum": list(DATABRICKS_EVENTS)}
    )
    workspace_id: Text = ""
    job: DatabricksJob
    run: DatabricksRun
    task: DatabricksTask | None = None


# --- Azure Monitor: the common alert schema's essentials ---------------------------------------


# Fields the Azure parser reads with its own leniency (services vary): typed for the schema only.
_AzureText = Annotated[Any, WithJsonSchema({"type": "string"})]
_AzureSeverity = Annotated[
    Any, WithJsonSchema({"type": "string", "enum": ["Sev0", "Sev1", "Sev2", "Sev3", "Sev4"]})
]
_AzureTimestamp = Annotated[Any, WithJsonSchema({"type": "string", "format": "date-time"})]
_AzureTextList = Annotated[Any, WithJsonSchema({"type": "array", "items": {"type": "string"}})]


class CommonAlertEssentials(_Body):
    """`data.essentials` of Azure Monitor's common alert schema (every monitoringService)."""

    alertId: RequiredText
    monitorCondition: RequiredText = Field(json_schema_extra={"enum": ["Fired", "Resolved"]})
    alertRule: _AzureText = None
    severity: _AzureSeverity = None
    signalType: _AzureText = None
    monitoringService: _AzureText = None
    alertTargetIDs: _AzureTextList = None
    firedDateTime: _AzureTimestamp = None
    resolvedDateTime: _AzureTimestamp = None


# --- validation --------------------------------------------------------------------------------

BodyModel = TypeVar("BodyModel", bound=BaseModel)


def validate(model: type[BodyModel], payload: Any, where: str = "body") -> BodyModel:
    """The payload as `model`, or ParseError naming the first field that is wrong. A null
    field counts as absent."""
    if not isinstance(payload, dict):
        raise ParseError(f"{where} must be a JSON object")
    present = {key: value for key, value in payload.items() if value is not None}
    try:
        return model.model_validate(present)
    except ValidationError as exc:
        raise ParseError(_reason(exc.errors()[0], present, where)) from None


def _given(payload: Any, loc: tuple[Any, ...]) -> Any:
    """The value the sender gave at `loc`, None when absent."""
    for part in loc:
        if not isinstance(payload, dict):
            return None
        payload = payload.get(part)
    return payload


def _reason(error: Any, payload: dict[str, Any], where: str) -> str:
    path = ".".join(str(part) for part in error["loc"])
    if where != "body":
        path = f"{where}.{path}"
    kind = error["type"]
    if kind == "missing" or (
        kind == "string_pattern_mismatch" and _given(payload, error["loc"]) is None
    ):
        return f"missing required field '{path}'"
    if kind == "string_pattern_mismatch":
        return f"field '{path}' must not be empty"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"field '{path}' must be a JSON object"
    if kind == "value_error":
        return f"field '{path}' {error['ctx']['error']}"
    if kind in ("list_type",):
        return f"field '{path}' must be a list"
    return f"field '{path}': {error['msg']}"
