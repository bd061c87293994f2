"""Typed models of the failure webhooks' bodies.

The parsers validate with them (`validate`), and the OpenAPI document's request bodies are
generated from them (rca_project/openapi.py, `model_json_schema`), so the schema, the parser
and the README's examples describe one thing. Pure: pydantic only, no Django.

The models keep the parsers' leniency: unknown fields are kept (other senders' formats), ids of
Databricks and Azure bodies may arrive as numbers, text is trimmed, null counts as absent (an
optional field is documented `nullable`), ADF's status and severity and Airflow's state are
read in any case. The text fields of the bodies the service defines (ADF's and Airflow's) take
strings only; Airflow's whole numbers take integers or their digits. Rules that concern two
fields at once (error text required unless the run succeeded, a required field given under one
of its names) are stated in each model's schema (`anyOf`) and checked by its model or parser,
whose messages name the field as it was given.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from integrations.events import ParseError
from integrations.parsers.common import loads_json
from tickets.vocabulary import Severity

# Text that is there: something other than whitespace (or NUL, which ingest strips). Python's
# strip() also takes \x1c-\x1f and \x85, which a JSON Schema (ECMA) `\s` does not match.
PRESENT = r"[^\s\x00\x1c-\x1f\x85]"


def _as_text(value: Any) -> str:
    """A field as text: numbers are accepted (ids often arrive as either), objects are not."""
    if value is None:
        return ""
    if isinstance(value, bool | dict | list):
        raise ValueError("must be a string or a number")
    return str(value).strip()


def _as_string(value: Any) -> str:
    """A field of a body the service defines (ADF's, Airflow's) as text: what sends them (the
    Airflow callback, ADF's `@pipeline()` and `@activity()` values) sends strings, so a number
    is refused rather than read as its digits."""
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return value.strip()


Text = Annotated[str, BeforeValidator(_as_text)]
# (The constraint first: so it shows in the JSON schema; the trimming still runs before it.)
RequiredText = Annotated[str, StringConstraints(pattern=PRESENT), BeforeValidator(_as_text)]
# An id Databricks may send as a number (documented so: a client may send either).
Id = Annotated[
    str,
    BeforeValidator(_as_text),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "number"}]}),
]
RequiredId = Annotated[
    str,
    StringConstraints(pattern=PRESENT),
    BeforeValidator(_as_text),
    WithJsonSchema({"anyOf": [{"type": "string", "pattern": PRESENT}, {"type": "number"}]}),
]
String = Annotated[str, BeforeValidator(_as_string)]
RequiredString = Annotated[str, StringConstraints(pattern=PRESENT), BeforeValidator(_as_string)]
# Checked by the parser (common.parse_timestamp): ISO 8601, or a number of seconds since the
# epoch (milliseconds above 10^10), from year 1 to 9999.
Timestamp = Annotated[
    Any,
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date-time"},
                {"type": "number", "minimum": -62135596800, "maximum": 253402300799999},
            ],
            "description": "ISO 8601, or seconds since the epoch (milliseconds above 10^10).",
        }
    ),
]


def _whole_number(low: int, high: int) -> Any:
    def check(value: Any) -> int | None:
        """An integer, or its digits as a string (a templated body); null or "" is absent. A
        fraction, a boolean or other text is refused, not read as a number."""
        if value is None or value == "":
            return None
        if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
            # Read without its leading zeros, and more digits than the bound has is out of
            # range: not int()'s error past sys.get_int_max_str_digits() (a Python setting).
            digits = value.strip().lstrip("-").lstrip("0") or "0"
            if len(digits) > len(str(high)):
                raise ValueError("is out of range")
            value = -int(digits) if value.strip().startswith("-") else int(digits)
        elif isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("must be a whole number")
        if not low <= value <= high:
            raise ValueError("is out of range")
        return value

    return check


def _whole_number_schema(low: int, high: int, digits: str) -> dict[str, Any]:
    """An integer, or its digits as a string: `digits`, a pattern that matches only the
    strings the model takes (not all of them: a range is no pattern)."""
    return {
        "anyOf": [
            {"type": "integer", "minimum": low, "maximum": high},
            {"type": "string", "pattern": digits},
        ]
    }


TryNumber = Annotated[
    int | None,
    BeforeValidator(_whole_number(0, 10_000)),
    WithJsonSchema(_whole_number_schema(0, 10_000, "^0*(?:[0-9]{1,4}|10000)$")),
]
MaxTries = Annotated[
    int | None,
    BeforeValidator(_whole_number(-1, 10_000)),
    WithJsonSchema(_whole_number_schema(-1, 10_000, "^(?:-0*1|0*(?:[0-9]{1,4}|10000))$")),
]
# Airflow's map_index column is a 32-bit integer; -1 is a task that is not mapped.
MapIndex = Annotated[
    int | None,
    BeforeValidator(_whole_number(-1, 2**31 - 1)),
    WithJsonSchema(_whole_number_schema(-1, 2**31 - 1, "^(?:-0*1|0*[0-9]{1,9})$")),
]
AnyValue = Annotated[Any, WithJsonSchema({})]


def _present(*names: str) -> list[dict[str, Any]]:
    return [
        {"required": [name], "properties": {name: {"type": "string", "pattern": PRESENT}}}
        for name in names
    ]


def _present_string(name: str) -> dict[str, Any]:
    return {"required": [name], "properties": {name: {"type": "string"}}}


# What `str.strip()` trims and a JSON Schema pattern can name exactly (ECMA's `\s` also takes
# U+FEFF, which strip() keeps).
_BLANK = r"[ \t\n\r]*"


def _any_case(*words: str, blank: bool = False) -> dict[str, Any]:
    """A string that is one of `words` in any case (the parsers compare lowercased), trimmed;
    also the empty string when `blank` (read as the default)."""
    choices = "|".join(
        "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in word)
        for word in words
    )
    optional = "?" if blank else ""
    return {"type": "string", "pattern": f"^{_BLANK}(?:{choices}){optional}{_BLANK}$"}


def _null_is_absent(schema: dict[str, Any]) -> None:
    """An optional field given null is absent (`validate`, and the nested models' text):
    documented as nullable, so that a client may send what it has no value for as null (the
    Airflow callback does)."""
    required = set(schema.get("required", []))
    for name, field_schema in schema.get("properties", {}).items():
        if name not in required:
            field_schema["nullable"] = True


def _present_under_a_name(names: list[str]) -> list[dict[str, Any]]:
    """A field given under one of its names: the first of them given is the one read (a blank
    `errorMessage` is not passed over for a `runId`), so each name counts only when the names
    before it are absent (null is absent)."""
    alternatives = _present(*names)
    for position, alternative in enumerate(alternatives[1:], 1):
        alternative["not"] = {"anyOf": [_present_string(name) for name in names[:position]]}
    return alternatives


def _names(model: type[BaseModel], field: str) -> list[str]:
    alias = model.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        return [name for name in alias.choices if isinstance(name, str)]
    return [field]


def _document_aliases(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """Each other name a field takes (AliasChoices) as a property of its own, typed as the
    field is: a client that checks its body against the schema, or is generated from it, can
    send ADF's camelCase names. A required field is required under any of its names, as a
    string (any of them may be null: absent)."""
    properties = schema["properties"]
    for field in model.model_fields:
        own = properties[field]
        names = _names(model, field)
        for position, alias in enumerate(names[1:], 1):
            earlier = " and ".join(names[:position])
            properties[alias] = {
                **{key: own[key] for key in ("type", "format", "enum", "example") if key in own},
                "nullable": True,
                "description": f"Another name for {field}, read when {earlier} "
                f"{'is' if position == 1 else 'are'} absent.",
            }
    required = schema.pop("required", [])
    schema["allOf"] = [{"anyOf": _present_under_a_name(_names(model, field))} for field in required]
    for field in required:  # null is absent: the rule says which name must be a string
        properties[field]["nullable"] = True


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


# --- Azure Data Factory ------------------------------------------------------------------------


def _adf_error_json_schema(schema: dict[str, Any]) -> None:
    _null_is_absent(schema)
    schema["example"] = {
        "errorCode": "2200",
        "message": "Failure happened on 'Sink' side. ErrorCode=SqlFailedToConnect, …",
        "failureType": "UserError",
        "target": "Copy data1",
        "details": "",
    }


class AdfActivityError(_Body):
    """A failed activity's error as ADF gives it (`@activity('Copy data1').error`), posted as it
    is: the same object the monitor and the activity runs API show."""

    model_config = ConfigDict(json_schema_extra=_adf_error_json_schema)

    message: String = Field("", description="The error text (secrets are redacted on arrival).")
    errorCode: String = Field("", description="ADF's error code, such as 2200.")
    failureType: String = Field("", json_schema_extra={"example": "UserError"})
    target: String = Field("", description="The activity that failed.")
    details: AnyValue = Field(None, description="Not read.")

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        """A null field is absent here too (`validate` drops only the body's own)."""
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data


def _activity_error(value: Any) -> Any:
    """The `error` as posted by string interpolation too (`"@{activity('Copy data1').error}"`):
    a string holding a JSON object is that object (read as a body is, `loads_json`); other
    text, JSON a body could not hold included, is the error's message; blank text is no error
    (a succeeded activity's)."""
    if value is None or isinstance(value, dict):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a JSON object or a string")
    text = value.strip()
    if not text:
        return None
    if text.startswith("{"):
        try:
            decoded = loads_json(text)
        except ParseError:
            decoded = None
        if isinstance(decoded, dict):
            return decoded
    return {"message": text}


_ADF_EXAMPLE = {
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
}


def _adf_json_schema(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """The aliases as properties; error text (under either name, or the `error` object's
    message) required unless the run succeeded (in any case)."""
    _null_is_absent(schema)
    _document_aliases(schema, model)
    object_or_null = schema["properties"]["error"]["anyOf"]
    object_or_null.insert(
        1,
        {
            "type": "string",
            "description": "The same object as JSON text (`\"@{activity('Copy data1').error}\"`), "
            "or the error's message as plain text.",
        },
    )
    schema["allOf"].append(
        {
            "anyOf": [
                *_present_under_a_name(_names(model, "error_message")),
                {
                    "required": ["error"],
                    "properties": {"error": {"type": "object", **_present("message")[0]}},
                },
                *_present("error"),
                {"required": ["status"], "properties": {"status": _any_case("Succeeded")}},
            ]
        }
    )
    schema["example"] = _ADF_EXAMPLE


class AdfFailureBody(_Body):
    """The enriched ADF failure body (a Logic App or a pipeline Web activity). Every field also
    accepts ADF's camelCase name (what `@pipeline()` / `@activity()` expressions give), listed
    as a property of its own: dataFactoryName/factoryName, pipelineName, pipelineRunId/runId,
    activityName, errorCode, errorMessage, failureType, logicAppRunId, subscriptionId,
    resourceGroup, runStart, runEnd, runUrl. Of a field given under two names, the first one
    listed (snake_case first) is read, blank or not.
    The failed activity's `error` object may stand in for error_message, error_code,
    failure_type and activity (each flat field, when given too, is the one read); it may come
    as JSON text (string interpolation), and plain text is its message. Error text
    (`error_message` or `error.message`) is required unless status is Succeeded."""

    model_config = ConfigDict(json_schema_extra=_adf_json_schema)

    factory: String = Field(
        "",
        validation_alias=AliasChoices("factory", "dataFactoryName", "factoryName"),
        description="Data factory name.",
    )
    pipeline: RequiredString = Field(
        validation_alias=AliasChoices("pipeline", "pipelineName"), description="Pipeline name."
    )
    run_id: RequiredString = Field(
        validation_alias=AliasChoices("run_id", "pipelineRunId", "runId"),
        description="Pipeline run id: the dedup key.",
    )
    activity: String = Field(
        "",
        validation_alias=AliasChoices("activity", "activityName"),
        description="Failed activity.",
    )
    error_code: String = Field("", validation_alias=AliasChoices("error_code", "errorCode"))
    error_message: String = Field(
        "",
        validation_alias=AliasChoices("error_message", "errorMessage"),
        description="The error text (secrets are redacted on arrival).",
    )
    failure_type: String = Field(
        "",
        validation_alias=AliasChoices("failure_type", "failureType"),
        json_schema_extra={"example": "UserError"},
    )
    error: Annotated[AdfActivityError | None, BeforeValidator(_activity_error)] = Field(
        None,
        description=(
            "The failed activity's error object as ADF gives it"
            ' (`"error": "@activity(\'Copy data1\').error"`), or as text.'
        ),
    )
    logic_app_run_id: String = Field(
        "", validation_alias=AliasChoices("logic_app_run_id", "logicAppRunId")
    )
    status: String = Field(
        "Failed",
        description="Failed (the default) opens or updates a ticket; Succeeded closes the loop. "
        "Read in any case.",
        json_schema_extra=_any_case("Failed", "Succeeded", blank=True),
    )
    severity: String = Field(
        "",
        description="Critical, High, Medium or Low, read in any case.",
        json_schema_extra=_any_case(*Severity, blank=True),
    )
    subscription_id: String = Field(
        "", validation_alias=AliasChoices("subscription_id", "subscriptionId")
    )
    resource_group: String = Field(
        "", validation_alias=AliasChoices("resource_group", "resourceGroup")
    )
    run_start: String = Field(
        "",
        validation_alias=AliasChoices("run_start", "runStart"),
        json_schema_extra={"format": "date-time"},
    )
    run_end: String = Field(
        "",
        validation_alias=AliasChoices("run_end", "runEnd"),
        json_schema_extra={"format": "date-time"},
    )
    run_url: String = Field(
        "", validation_alias=AliasChoices("run_url", "runUrl"), json_schema_extra={"format": "uri"}
    )


# --- Airflow -----------------------------------------------------------------------------------


def _airflow_json_schema(schema: dict[str, Any]) -> None:
    _null_is_absent(schema)
    schema.update(
        {
            "anyOf": [
                *_present("exception", "error"),
                {"required": ["state"], "properties": {"state": _any_case("success", "skipped")}},
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


class AirflowFailureBody(_Body):
    """Posted by integrations/airflow_callback/rca_callback.py. One ticket per failed task of a
    DAG run; each try is an occurrence. The previous product's body (execution_date, error,
    dag_display_name, pool, queue, duration...) is accepted as it is. `exception` (or `error`)
    is required unless state is success or skipped."""

    model_config = ConfigDict(json_schema_extra=_airflow_json_schema)

    dag_id: RequiredString
    task_id: RequiredString
    run_id: RequiredString
    logical_date: Timestamp = None
    execution_date: Timestamp = Field(
        None, description="Older name of logical_date, read without it."
    )
    try_number: TryNumber = Field(None, description="The try that failed (1 when absent).")
    max_tries: MaxTries = None
    exception: String = Field("", description="The exception text or traceback.")
    error: String = Field("", description="Older name of exception.")
    exception_type: String = ""
    log_url: String = Field("", json_schema_extra={"format": "uri"})
    operator: String = ""
    owner: String = ""
    map_index: MapIndex = Field(
        None, description="The mapped task instance's index; -1 (the default): not mapped."
    )
    state: String = Field(
        "",
        description="The task instance's state, in any case: success closes the loop, skipped "
        "is stored and ignored, any other (failed by default) is a failure.",
    )
    hostname: String = ""
    end_date: Timestamp = None
    timestamp: Timestamp = Field(None, description="Older name of end_date, read without it.")
    deployment: String = Field(
        "",
        description="Which Airflow the task ran on (e.g. prod). Without it, the host of "
        "airflow_base_url, else of log_url, names it.",
    )
    airflow_base_url: String = Field("", json_schema_extra={"format": "uri"})


# --- Databricks --------------------------------------------------------------------------------

# The events a job or task notification can be configured for today. Any other event_type
# (one Databricks adds later) is accepted, stored and ignored like the start and warnings,
# rather than refused: a refusal would show as a failed delivery at Databricks.
DATABRICKS_EVENTS = (
    "jobs.on_failure",
    "jobs.on_success",
    "jobs.on_start",
    "jobs.on_duration_warning_threshold_exceeded",
    "jobs.on_streaming_backlog_exceeded",
)


class DatabricksJob(_Body):
    model_config = ConfigDict(json_schema_extra=_null_is_absent)

    job_id: RequiredId
    name: Text = ""


class DatabricksRunState(_Body):
    model_config = ConfigDict(json_schema_extra=_null_is_absent)

    state_message: Text = ""


class DatabricksRun(_Body):
    model_config = ConfigDict(json_schema_extra=_null_is_absent)

    run_id: RequiredId = Field(description="The run notified of: a task's own run for a task.")
    parent_run_id: Id = Field(
        "", description="A task's notification: the run of the job the task is part of."
    )
    run_page_url: Text = Field("", json_schema_extra={"format": "uri"})
    state: DatabricksRunState | None = None


class DatabricksTask(_Body):
    model_config = ConfigDict(json_schema_extra=_null_is_absent)

    task_key: Text = ""


class DatabricksNotification(_Body):
    """Databricks job/task notification webhook. jobs.on_failure opens a ticket,
    jobs.on_success closes the loop; any other event (start, duration and backlog warnings,
    one added later) is stored and ignored."""

    model_config = ConfigDict(json_schema_extra=_null_is_absent)

    event_type: RequiredText = Field(
        description="jobs.on_failure opens a ticket, jobs.on_success closes the loop; any "
        f"other ({', '.join(DATABRICKS_EVENTS[2:])}, or one Databricks adds later) is stored "
        "and ignored.",
        json_schema_extra={"example": "jobs.on_failure"},
    )
    workspace_id: Id = ""
    job: DatabricksJob
    run: DatabricksRun
    task: DatabricksTask | None = None


# --- Azure Monitor ----------------------------------------------------------------------------
# One model per body family the endpoint accepts; the parser picks the family by `schemaId`
# (compared case-insensitively; absent in the legacy Log Analytics body) and validates the body
# with its model. The OpenAPI document offers them as `oneOf` (AZURE_MONITOR_BODIES): each
# names its own schemaId (the legacy log alert's may be left out; the Log Analytics body has
# none, its fields are at the top level). Values the parser reads with its own leniency
# (numbers for text, ISO 8601 or epoch timestamps, any JSON in descriptive maps) are typed for
# the schema as Azure sends them and checked here only for their shape.


def _scalar_only(value: Any) -> Any:
    """Text as Azure sends it; numbers and booleans pass (the parser reads them as text)."""
    if isinstance(value, dict | list):
        raise ValueError("must be a string")
    return value


# Azure sends null for what does not apply (webTestName, dimensions...): null is absent.
_TEXT: dict[str, Any] = {"type": "string", "nullable": True}
Scalar = Annotated[Any, BeforeValidator(_scalar_only), WithJsonSchema(_TEXT)]
AzureTimestamp = Annotated[
    Any, BeforeValidator(_scalar_only), WithJsonSchema({**_TEXT, "format": "date-time"})
]
# Read only when it is a string (links), or shown as text whatever it is (descriptive fields).
AzureLink = Annotated[Any, WithJsonSchema({**_TEXT, "format": "uri"})]
Described = Annotated[Any, WithJsonSchema(_TEXT)]
# name -> any JSON value (custom properties, budget data).
ValueMap = dict[str, AnyValue]

_AZURE_SEVERITY = {"enum": ["Sev0", "Sev1", "Sev2", "Sev3", "Sev4"]}
_LEGACY_STATUS: dict[str, Any] = {"enum": ["Activated", "Resolved", "Deactivated"]}


def _schema_id(name: str) -> Any:
    return Field(description="Compared case-insensitively.", json_schema_extra={"enum": [name]})


class AzureDimension(_Body):
    name: Scalar = None
    value: AnyValue = None


class CommonAlertEssentials(_Body):
    """`data.essentials` of Azure Monitor's common alert schema (every monitoringService)."""

    alertId: RequiredText
    monitorCondition: RequiredText = Field(json_schema_extra={"enum": ["Fired", "Resolved"]})
    alertRule: Scalar = None
    alertRuleID: Scalar = None
    severity: Annotated[Scalar, WithJsonSchema({**_TEXT, **_AZURE_SEVERITY})] = None
    signalType: Scalar = None
    monitoringService: Scalar = Field(
        None, description="Picks how alertContext is read (with the context's own shape)."
    )
    alertTargetIDs: list[Scalar] | None = None
    configurationItems: list[Scalar] | None = None
    targetResourceGroup: Scalar = None
    targetResourceType: Scalar = None
    description: Scalar = None
    originAlertId: Described = None
    firedDateTime: AzureTimestamp = None
    resolvedDateTime: AzureTimestamp = None
    investigationLink: AzureLink = None
    essentialsVersion: Described = None
    alertContextVersion: Described = None


class CommonAlertData(_Body):
    essentials: CommonAlertEssentials
    alertContext: dict[str, AnyValue] | None = Field(
        None,
        description=(
            "Varies by monitoringService (metric conditions, log search results, the activity"
            " log event, health events, smart detector findings, Prometheus rules, cost"
            " alerts); a field the parser cannot use is refused by name."
        ),
    )
    customProperties: ValueMap | None = None


class CommonAlert(_Body):
    """The common alert schema (schemaId azureMonitorCommonAlertSchema)."""

    schemaId: RequiredText = _schema_id("azureMonitorCommonAlertSchema")
    data: CommonAlertData


class MetricCriterion(_Body):
    metricName: Scalar = None
    metricNamespace: Scalar = None
    operator: Scalar = None
    threshold: Scalar = None
    timeAggregation: Scalar = None
    dimensions: list[AzureDimension] | None = None
    metricValue: Annotated[Any, WithJsonSchema({"type": "number", "nullable": True})] = None
    webTestName: Scalar = None
    alertSensitivity: Scalar = None


class MetricCondition(_Body):
    windowSize: Scalar = None
    allOf: list[MetricCriterion] | None = None


class LegacyMetricContext(_Body):
    id: RequiredText = Field(description="The alert rule's resource id.")
    name: Scalar = None
    description: Scalar = None
    conditionType: Scalar = None
    severity: Scalar = None
    timestamp: AzureTimestamp = None
    condition: MetricCondition | None = None
    subscriptionId: Scalar = None
    resourceGroupName: Scalar = None
    resourceName: Scalar = None
    resourceType: Scalar = None
    resourceId: Scalar = None
    portalLink: AzureLink = None


class LegacyMetricData(_Body):
    status: RequiredText = Field(json_schema_extra=_LEGACY_STATUS)
    context: LegacyMetricContext
    properties: ValueMap | None = None
    version: Described = None


class LegacyMetricAlert(_Body):
    """The older metric alert body (schemaId AzureMonitorMetricAlert)."""

    schemaId: RequiredText = _schema_id("AzureMonitorMetricAlert")
    data: LegacyMetricData


class ActivityLogAuthorization(_Body):
    action: Described = None
    scope: Scalar = None


class ActivityLogEvent(_Body):
    operationName: Scalar = None
    operationId: Scalar = None
    eventSource: Scalar = None
    eventTimestamp: AzureTimestamp = None
    submissionTimestamp: Described = None
    eventDataId: Scalar = None
    resourceId: Scalar = None
    resourceGroupName: Scalar = None
    resourceProviderName: Described = None
    resourceType: Scalar = None
    subscriptionId: Scalar = None
    authorization: ActivityLogAuthorization | None = None
    properties: ValueMap | None = None
    status: Described = None
    subStatus: Described = None
    level: Described = None
    caller: Described = None
    correlationId: Described = None
    description: Described = None
    channels: Described = None
    claims: Described = None


class LegacyActivityLogContext(_Body):
    activityLog: ActivityLogEvent
    id: Scalar = None
    name: Scalar = None
    description: Scalar = None


class LegacyActivityLogData(_Body):
    status: RequiredText = Field(json_schema_extra=_LEGACY_STATUS)
    context: LegacyActivityLogContext
    properties: ValueMap | None = None


class LegacyActivityLogAlert(_Body):
    """The older activity log alert body (schemaId Microsoft.Insights/activityLogs)."""

    schemaId: RequiredText = _schema_id("Microsoft.Insights/activityLogs")
    data: LegacyActivityLogData


def _column(value: Any) -> Any:
    """A result column: an object naming it (what Azure sends), or the bare name."""
    return {"name": value} if isinstance(value, str) else value


class LogResultColumn(_Body):
    name: Scalar = None
    type: Described = None


class LogResultTable(_Body):
    name: Described = None
    columns: list[Annotated[LogResultColumn, BeforeValidator(_column)]] | None = None
    rows: list[list[AnyValue]] | None = None


class LogDataSource(_Body):
    resourceId: Scalar = None
    tables: list[Scalar] | None = None


class LogSearchResult(_Body):
    tables: list[LogResultTable] | None = None
    dataSources: list[LogDataSource] | None = None


class LegacyLogSearchFields(_Body):
    """A legacy log search alert (Log Analytics or Application Insights, API up to 2018-04-16)."""

    AlertRuleName: RequiredText
    SearchQuery: Scalar = None
    AlertType: Scalar = None
    ResultCount: Annotated[Any, WithJsonSchema({"type": "integer", "nullable": True})] = None
    AlertThresholdOperator: Scalar = None
    AlertThresholdValue: Annotated[Scalar, WithJsonSchema({"type": "number", "nullable": True})] = (
        None
    )
    SearchIntervalStartTimeUtc: Scalar = Field(
        None, description="ISO 8601, or as Log Analytics writes it (3/22/2019 1:36:31 PM)."
    )
    SearchIntervalEndtimeUtc: Scalar = None
    SearchIntervalInSeconds: Annotated[
        Any, WithJsonSchema({"type": "integer", "nullable": True})
    ] = None
    SearchResult: LogSearchResult | None = None
    Dimensions: list[AzureDimension] | None = None
    AffectedConfigurationItems: list[Scalar] | None = None
    SubscriptionId: Scalar = None
    WorkspaceId: Scalar = None
    ApplicationId: Scalar = None
    ResourceId: Scalar = None
    Description: Scalar = None
    Severity: Scalar = None
    LinkToSearchResults: AzureLink = None
    LinkToFilteredSearchResultsUI: AzureLink = None
    LinkToSearchResultsAPI: AzureLink = None
    LinkToFilteredSearchResultsAPI: AzureLink = None


class LegacyLogAlert(_Body):
    """The legacy Application Insights log alert (schemaId Microsoft.Insights/LogAlert; its
    fields under `data`, which is also accepted without the schemaId)."""

    schemaId: Text = Field(
        "",
        description="Compared case-insensitively.",
        json_schema_extra={"enum": ["Microsoft.Insights/LogAlert"]},
    )
    data: LegacyLogSearchFields


class LegacyLogAnalyticsAlert(LegacyLogSearchFields):
    """The legacy Log Analytics search alert: no schemaId, its fields at the top level (they
    win over a `data` object holding the same fields)."""

    model_config = ConfigDict(json_schema_extra={"not": {"required": ["schemaId"]}})


class BudgetData(_Body):
    BudgetName: RequiredText
    BudgetType: Described = None
    Budget: Described = None
    Unit: Described = None
    SpendingAmount: Described = None
    NotificationThresholdAmount: Described = None
    BudgetStartDate: Described = None
    BudgetCreator: Described = None
    SubscriptionName: Described = None
    SubscriptionId: Described = None
    ResourceGroup: Described = None


class BudgetNotification(_Body):
    """The Cost Management budget body (schemaId AIP Budget Notification)."""

    schemaId: RequiredText = _schema_id("AIP Budget Notification")
    data: BudgetData


# component name -> model, in the order the OpenAPI document's oneOf lists them.
AZURE_MONITOR_BODIES: dict[str, type[BaseModel]] = {
    "AzureMonitorCommonAlert": CommonAlert,
    "AzureMonitorLegacyMetricAlert": LegacyMetricAlert,
    "AzureMonitorLegacyActivityLogAlert": LegacyActivityLogAlert,
    "AzureMonitorLegacyLogAlert": LegacyLogAlert,
    "AzureMonitorLegacyLogAnalyticsAlert": LegacyLogAnalyticsAlert,
    "AzureMonitorBudgetNotification": BudgetNotification,
}


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
        raise ParseError(_reason(exc.errors()[0], present, where, model)) from None


def _path(loc: tuple[Any, ...]) -> str:
    """`data.context.condition.allOf[0].dimensions`, as the parsers name fields."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path.lstrip(".")


def _other_names(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The names besides `loc`'s last that its field is also read under (ADF's camelCase
    aliases), so a sender who used neither learns every name it may use."""
    fields = model.model_fields
    names: list[str] = []
    for part in loc:
        if not isinstance(part, str):
            continue
        field = next((f for name, f in fields.items() if part == name or part in _aliases(f)), None)
        if field is None:
            return []
        names = [name for name in _aliases(field) if name != part]
        inner = field.annotation
        fields = (
            inner.model_fields if isinstance(inner, type) and issubclass(inner, BaseModel) else {}
        )
    return names


def _aliases(field: Any) -> list[str]:
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [choice for choice in alias.choices if isinstance(choice, str)]
    return [alias] if isinstance(alias, str) else []


def _given(payload: Any, loc: tuple[Any, ...]) -> Any:
    """The value the sender gave at `loc`, None when absent."""
    for part in loc:
        if isinstance(payload, dict):
            payload = payload.get(part)
        elif isinstance(payload, list) and isinstance(part, int) and part < len(payload):
            payload = payload[part]
        else:
            return None
    return payload


_OBJECT_ERRORS = ("model_type", "model_attributes_type", "dict_type")


def _reason(error: Any, payload: dict[str, Any], where: str, model: type[BaseModel]) -> str:
    path = _path(error["loc"])
    if where != "body":
        path = f"{where}.{path}"
    kind = error["type"]
    # A null field is absent; a null list item is a wrong item.
    absent = not isinstance(error["loc"][-1], int) and _given(payload, error["loc"]) is None
    if kind == "missing" or (absent and kind in ("string_pattern_mismatch", *_OBJECT_ERRORS)):
        others = _other_names(model, error["loc"])
        also = f" (or {' or '.join(repr(name) for name in others)})" if others else ""
        return f"missing required field '{path}'{also}"
    if kind == "string_pattern_mismatch":
        return f"field '{path}' must not be empty"
    if kind in _OBJECT_ERRORS:
        return f"field '{path}' must be a JSON object"
    if kind == "value_error":
        return f"field '{path}' {error['ctx']['error']}"
    if kind in ("list_type",):
        return f"field '{path}' must be a list"
    return f"field '{path}': {error['msg']}"
