"""The webhook body models (integrations/parsers/bodies.py): the parsers validate with them and
the OpenAPI document is generated from them, so the README, the schema and the parser agree."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator
from pydantic import AliasChoices, BaseModel
from pydantic.fields import FieldInfo

from integrations.airflow_callback import rca_callback
from integrations.events import ParseError
from integrations.ingest import PARSERS
from integrations.parsers.bodies import (
    AZURE_MONITOR_BODIES,
    PRESENT,
    AdfFailureBody,
    AirflowFailureBody,
    DatabricksNotification,
)
from rca_project.openapi import COMPONENTS
from tests.conftest import LOCAL_PAYLOADS, SHARED_FIXTURES
from tests.integrations.test_airflow_callback import airflow_context
from tickets.vocabulary import Source

README = Path(__file__).resolve().parents[2] / "README.md"
MODELS: dict[str, tuple[Source, type[BaseModel]]] = {
    "AdfFailure": (Source.ADF, AdfFailureBody),
    "AirflowFailure": (Source.AIRFLOW, AirflowFailureBody),
    "DatabricksNotification": (Source.DATABRICKS, DatabricksNotification),
}


def readme_body(heading: str) -> dict[str, Any]:
    """The first JSON block under a README heading."""
    section = README.read_text().split(heading, 1)[1]
    block = re.search(r"```json\n(.*?)```", section, re.S)
    assert block, f"no JSON example under {heading}"
    return json.loads(block.group(1))


def _names(field: FieldInfo, name: str) -> set[str]:
    alias = field.validation_alias
    return set(alias.choices) if isinstance(alias, AliasChoices) else {name}  # type: ignore[arg-type]


@pytest.mark.parametrize("component", MODELS)
def test_the_schema_documents_the_models_fields_under_every_name_they_take(component):
    _, model = MODELS[component]
    schema = COMPONENTS[component]
    names = set().union(*(_names(field, name) for name, field in model.model_fields.items()))
    assert set(schema["properties"]) == names
    required = {name for name, field in model.model_fields.items() if field.is_required()}
    aliased = {name for name in required if _names(model.model_fields[name], name) != {name}}
    assert set(schema.get("required", [])) == required - aliased
    alternatives = [
        {tuple(option["required"]) for option in rule["anyOf"]} for rule in schema.get("allOf", [])
    ]
    for name in aliased:
        assert {(choice,) for choice in _names(model.model_fields[name], name)} in alternatives


@pytest.mark.parametrize("component", ["AdfFailure", "AirflowFailure"])
def test_the_schemas_example_is_a_body_the_parser_accepts(component):
    source, _ = MODELS[component]
    event = PARSERS[source](COMPONENTS[component]["example"])
    assert event.source == source and event.error_message


@pytest.mark.parametrize(
    "heading, component",
    [("### ADF failure body", "AdfFailure"), ("### Airflow body", "AirflowFailure")],
)
def test_the_readmes_example_is_a_documented_body_the_parser_accepts(heading, component):
    source, _ = MODELS[component]
    body = readme_body(heading)

    event = PARSERS[source](body)

    assert event.source == source and event.pipeline and event.error_message
    assert set(body) <= set(COMPONENTS[component]["properties"])


def test_the_adf_schema_takes_the_activity_error_object_for_the_error_text():
    """`"error": "@activity('Copy data1').error"` posts ADF's error object: its message is the
    error text, so the body needs no error_message, and the object none without a message."""
    validator = Draft7Validator(
        {
            "$ref": "#/components/schemas/AdfFailure",
            "components": {"schemas": _json_schema(COMPONENTS)},
        }
    )
    posted = json.loads((LOCAL_PAYLOADS / "adf_failure_activity_error.json").read_text())
    body = {"pipeline": posted["pipelineName"], "run_id": posted["runId"], "error": posted["error"]}

    assert [error.message for error in validator.iter_errors(body)] == []
    assert PARSERS[Source.ADF](body).error_message == body["error"]["message"]
    as_text = {**body, "error": json.dumps(body["error"])}  # "@{activity('Copy data1').error}"
    assert [error.message for error in validator.iter_errors(as_text)] == []
    assert PARSERS[Source.ADF](as_text).error_message == body["error"]["message"]
    body["error"]["message"] = " "
    assert not validator.is_valid(body)
    assert not validator.is_valid({**body, "error": 2200})


# --- Azure Monitor: one model per alert family, offered as a oneOf -----------------------------

AZURE_PAYLOADS = sorted((LOCAL_PAYLOADS / "azure").glob("*.json")) + sorted(
    (SHARED_FIXTURES / "payloads").glob("azure_*.json")
)


def _json_schema(schema: Any) -> Any:
    """OpenAPI 3.0's `nullable` as JSON Schema (what a validator reads)."""
    if isinstance(schema, list):
        return [_json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {key: _json_schema(value) for key, value in schema.items()}
    if schema.pop("nullable", False):
        if "type" in schema:
            schema["type"] = [schema["type"], "null"]
            if "enum" in schema:
                schema["enum"] = [*schema["enum"], None]
        else:
            schema = {"anyOf": [schema, {"type": "null"}]}
    return schema


AZURE_VALIDATOR = Draft7Validator(
    {
        "$ref": "#/components/schemas/AzureMonitorAlert",
        "components": {"schemas": _json_schema(COMPONENTS)},
    }
)


def _azure_branches(body: Any) -> list[str]:
    """The oneOf branches the body matches."""
    branches = []
    for name in AZURE_MONITOR_BODIES:
        validator = Draft7Validator(
            {
                "$ref": f"#/components/schemas/{name}",
                "components": {"schemas": _json_schema(COMPONENTS)},
            }
        )
        if validator.is_valid(body):
            branches.append(name)
    return branches


def test_the_azure_monitor_body_is_one_generated_model_per_alert_family():
    assert COMPONENTS["AzureMonitorAlert"]["oneOf"] == [
        {"$ref": f"#/components/schemas/{name}"} for name in AZURE_MONITOR_BODIES
    ]
    for name, model in AZURE_MONITOR_BODIES.items():
        assert set(COMPONENTS[name]["properties"]) == set(model.model_fields)


@pytest.mark.parametrize("path", AZURE_PAYLOADS, ids=lambda path: path.name)
def test_every_azure_sample_is_a_body_the_schema_documents_and_the_parser_accepts(path):
    body = json.loads(path.read_text())
    errors = [error.message for error in AZURE_VALIDATOR.iter_errors(body)]
    assert not errors, (errors, _azure_branches(body))
    assert len(_azure_branches(body)) == 1
    PARSERS[Source.AZURE_MONITOR](body)


def test_the_legacy_log_alert_is_documented_flat_and_under_data():
    flat = json.loads((LOCAL_PAYLOADS / "azure" / "noncommon_log_alert.json").read_text())
    nested = {"data": flat}
    assert _azure_branches(flat) == ["AzureMonitorLegacyLogAnalyticsAlert"]
    assert _azure_branches(nested) == ["AzureMonitorLegacyLogAlert"]
    assert _azure_branches({"schemaId": "Microsoft.Insights/LogAlert", **nested}) == [
        "AzureMonitorLegacyLogAlert"
    ]
    # A top-level field named like the flat body's does not make the nested one flat.
    nested_event = PARSERS[Source.AZURE_MONITOR]({**nested, "SearchQuery": "Heartbeat"})
    assert nested_event.pipeline == PARSERS[Source.AZURE_MONITOR](flat).pipeline


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {
                "schemaId": "AzureMonitorMetricAlert",
                "data": {"status": "Activated", "context": None},
            },
            "missing required field 'data.context'",
        ),
        (
            {
                "schemaId": "AzureMonitorMetricAlert",
                "data": {
                    "status": "Activated",
                    "context": {"id": "r", "condition": {"allOf": [5]}},
                },
            },
            "field 'data.context.condition.allOf[0]' must be a JSON object",
        ),
        (
            {
                "schemaId": "Microsoft.Insights/activityLogs",
                "data": {"status": "Activated", "context": {"activityLog": {"resourceId": {}}}},
            },
            "field 'data.context.activityLog.resourceId' must be a string",
        ),
        (
            {"AlertRuleName": "r", "SearchResult": {"tables": [{"columns": [7]}]}},
            "field 'SearchResult.tables[0].columns[0]' must be a JSON object",
        ),
        (
            {"schemaId": "AIP Budget Notification", "data": {"BudgetName": " "}},
            "field 'data.BudgetName' must not be empty",
        ),
        (
            {
                "schemaId": "azureMonitorCommonAlertSchema",
                "data": {"essentials": {"alertId": "a", "monitorCondition": "Fired"}, "x": 1},
                "extra": [1],
            },
            None,
        ),
    ],
)
def test_azure_legacy_bodies_are_checked_by_their_models(body, message):
    if message is None:
        PARSERS[Source.AZURE_MONITOR](body)  # unknown fields are kept, not refused
        return
    with pytest.raises(ParseError) as raised:
        PARSERS[Source.AZURE_MONITOR](body)
    assert str(raised.value) == message


def test_required_text_in_the_schema_is_text_the_parsers_keep():
    """A value the schema's pattern calls present is not blank to Python's strip() (which the
    models and parsers trim with): \\x1c-\\x1f are not whitespace to JSON Schema's `\\s`."""
    for code in range(0x3001):
        character = chr(code)
        if re.search(PRESENT, character):
            assert character.strip(), hex(code)


# --- the ADF, Airflow and Databricks bodies as they are posted ---------------------------------
# A client that checks its body against the published schema (or is generated from it) must be
# able to send every body the server accepts, under every name a field takes.

ADF_CAMEL_CASE = {
    "factory": "dataFactoryName",
    "pipeline": "pipelineName",
    "run_id": "pipelineRunId",
    "activity": "activityName",
    "error_code": "errorCode",
    "error_message": "errorMessage",
    "failure_type": "failureType",
    "logic_app_run_id": "logicAppRunId",
    "subscription_id": "subscriptionId",
    "resource_group": "resourceGroup",
    "run_start": "runStart",
    "run_end": "runEnd",
    "run_url": "runUrl",
}


def _local(name: str) -> dict[str, Any]:
    return json.loads((LOCAL_PAYLOADS / name).read_text())


def _renamed(body: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    return {names.get(key, key): value for key, value in body.items()}


def _validator(component: str) -> Draft7Validator:
    return Draft7Validator(
        {
            "$ref": f"#/components/schemas/{component}",
            "components": {"schemas": _json_schema(COMPONENTS)},
        }
    )


SNAKE_CASE = {camel: snake for snake, camel in ADF_CAMEL_CASE.items()}
CAMEL_BODY = _local("adf_failure_camelcase.json")
ACCEPTED_BODIES: list[tuple[str, str, dict[str, Any]]] = [
    ("adf_failure.json", "AdfFailure", _local("adf_failure.json")),
    (
        "adf_failure.json in camelCase",
        "AdfFailure",
        _renamed(_local("adf_failure.json"), ADF_CAMEL_CASE),
    ),
    ("adf_failure_camelcase.json", "AdfFailure", _local("adf_failure_camelcase.json")),
    (
        "adf_failure_camelcase.json in snake_case",
        "AdfFailure",
        _renamed(_local("adf_failure_camelcase.json"), SNAKE_CASE),
    ),
    (
        "adf_failure_camelcase.json with runId",
        "AdfFailure",
        _renamed(_local("adf_failure_camelcase.json"), {"pipelineRunId": "runId"}),
    ),
    (
        "adf_failure_camelcase.json succeeded",
        "AdfFailure",
        {**_local("adf_failure_camelcase.json"), "status": "Succeeded", "errorMessage": ""},
    ),
    ("adf_failure_activity_error.json", "AdfFailure", _local("adf_failure_activity_error.json")),
    (
        "adf_failure_activity_error.json with a blank errorMessage",
        "AdfFailure",
        {**_local("adf_failure_activity_error.json"), "errorMessage": " "},
    ),
    (
        "adf_failure.json with a blank alias of a field it gives",
        "AdfFailure",
        {**_local("adf_failure.json"), "pipelineName": " ", "runId": ""},
    ),
    ("airflow_failure.json", "AirflowFailure", _local("airflow_failure.json")),
    ("airflow_legacy_failure.json", "AirflowFailure", _local("airflow_legacy_failure.json")),
    (
        "databricks_task_run_on_failure.json",
        "DatabricksNotification",
        _local("databricks_task_run_on_failure.json"),
    ),
    (
        "databricks_job_run_on_failure.json (shared)",
        "DatabricksNotification",
        json.loads(
            (SHARED_FIXTURES / "payloads" / "databricks_job_run_on_failure.json").read_text()
        ),
    ),
    (
        "databricks_task_run_on_failure.json with numeric ids",
        "DatabricksNotification",
        {
            "event_type": "jobs.on_failure",
            "workspace_id": 1234567890123456,
            "task": {"task_key": "ingest_orders"},
            "run": {"run_id": 618272946372915, "parent_run_id": 1047283951263847},
            "job": {"job_id": 893517204661283, "name": "nightly_sales_load"},
        },
    ),
]

AIRFLOW = _local("airflow_failure.json")
DATABRICKS_TASK = _local("databricks_task_run_on_failure.json")
# What the server reads leniently, as real senders send it: ADF's status and severity and
# Airflow's state in any case, Airflow's timestamps as epoch seconds or milliseconds, its
# whole numbers as strings (a templated body), and null for a field that has no value (the
# Airflow callback sends None for what the task instance lacks; Databricks nulls).
ACCEPTED_BODIES += [
    ("ADF status and severity in lower case", "AdfFailure", {**CAMEL_BODY, "status": "failed"}),
    (
        "ADF status and severity in upper case",
        "AdfFailure",
        {**CAMEL_BODY, "status": "FAILED", "severity": "CRITICAL"},
    ),
    ("ADF severity in lower case", "AdfFailure", {**CAMEL_BODY, "severity": "high"}),
    (
        "ADF succeeded in lower case, no error text",
        "AdfFailure",
        {**CAMEL_BODY, "status": "succeeded", "errorMessage": None},
    ),
    ("ADF blank status (Failed)", "AdfFailure", {**CAMEL_BODY, "status": "", "severity": ""}),
    (
        "ADF nulls for optional fields",
        "AdfFailure",
        {
            **CAMEL_BODY,
            "activityName": None,
            "severity": None,
            "status": None,
            "error": None,
            "runUrl": None,
            "factory": None,
        },
    ),
    (
        "ADF null snake_case names beside the camelCase ones",
        "AdfFailure",
        {**CAMEL_BODY, "pipeline": None, "run_id": None, "error_message": None},
    ),
    (
        "ADF error object with nulls",
        "AdfFailure",
        {
            **_local("adf_failure_activity_error.json"),
            "error": {"message": "boom", "errorCode": None, "target": None, "details": None},
        },
    ),
    (
        "Airflow epoch timestamps (seconds, milliseconds, a fraction)",
        "AirflowFailure",
        {
            **AIRFLOW,
            "logical_date": 1765324800,
            "execution_date": 1765324800.5,
            "end_date": 1765325400123,
        },
    ),
    (
        "Airflow whole numbers as strings",
        "AirflowFailure",
        {**AIRFLOW, "try_number": "2", "max_tries": "3", "map_index": "4"},
    ),
    (
        "Airflow whole numbers as strings with thousands of leading zeros",
        "AirflowFailure",
        {**AIRFLOW, "try_number": "0" * 5000 + "2", "map_index": "-" + "0" * 5000 + "1"},
    ),
    ("Airflow unmapped task", "AirflowFailure", {**AIRFLOW, "map_index": -1, "max_tries": -1}),
    (
        "Airflow state in upper case, no exception",
        "AirflowFailure",
        {**AIRFLOW, "state": "SUCCESS", "exception": None},
    ),
    (
        "Airflow nulls for optional fields",
        "AirflowFailure",
        {
            **AIRFLOW,
            "logical_date": None,
            "try_number": None,
            "max_tries": None,
            "map_index": None,
            "exception_type": None,
            "log_url": None,
            "owner": None,
            "hostname": None,
            "end_date": None,
            "deployment": None,
            "airflow_base_url": None,
        },
    ),
    (
        "the Airflow callback's own body",
        "AirflowFailure",
        rca_callback.build_failure_body(airflow_context(try_number=2)),
    ),
    (
        "the Airflow callback's own success body",
        "AirflowFailure",
        rca_callback.build_success_body(airflow_context()),
    ),
    (
        "Databricks nulls for optional fields",
        "DatabricksNotification",
        {
            **DATABRICKS_TASK,
            "workspace_id": None,
            "task": None,
            "job": {**DATABRICKS_TASK["job"], "name": None},
            "run": {
                **DATABRICKS_TASK["run"],
                "parent_run_id": None,
                "run_page_url": None,
                "state": {"state_message": None},
            },
        },
    ),
    (
        "Databricks null run state",
        "DatabricksNotification",
        {**DATABRICKS_TASK, "run": {**DATABRICKS_TASK["run"], "state": None}},
    ),
]


@pytest.mark.parametrize(
    ("component", "body"),
    [(component, body) for _, component, body in ACCEPTED_BODIES],
    ids=[label for label, _, _ in ACCEPTED_BODIES],
)
def test_every_body_the_server_accepts_is_one_the_published_schema_allows(component, body):
    source, _ = MODELS[component]
    PARSERS[source](body)
    assert [error.message for error in _validator(component).iter_errors(body)] == []


CAMEL = _local("adf_failure_camelcase.json")
REFUSED_BODIES: list[tuple[str, str, dict[str, Any], str]] = [
    (
        "no pipeline under any name",
        "AdfFailure",
        {key: value for key, value in CAMEL.items() if key != "pipelineName"},
        "missing required field 'pipeline' (or 'pipelineName')",
    ),
    (
        "a blank pipelineName",
        "AdfFailure",
        {**CAMEL, "pipelineName": " "},
        "field 'pipelineName' must not be empty",
    ),
    (
        "a number for pipelineName",
        "AdfFailure",
        {**CAMEL, "pipelineName": 7},
        "'pipelineName' must be a string",
    ),
    (
        "a blank pipeline beside a pipelineName (the first name given is read)",
        "AdfFailure",
        {**CAMEL, "pipeline": "", "pipelineName": "pl"},
        "'pipeline'",
    ),
    (
        "no run id under any name",
        "AdfFailure",
        {key: value for key, value in CAMEL.items() if key != "pipelineRunId"},
        "missing required field 'run_id' (or 'pipelineRunId' or 'runId')",
    ),
    (
        "a blank pipelineRunId beside a runId",
        "AdfFailure",
        {**CAMEL, "pipelineRunId": "", "runId": "r1"},
        "field 'pipelineRunId' must not be empty",
    ),
    (
        "a blank errorMessage",
        "AdfFailure",
        {**CAMEL, "errorMessage": " "},
        "missing required field 'error_message' (or 'errorMessage' or 'error.message')",
    ),
    (
        "a blank error_message beside an errorMessage",
        "AdfFailure",
        {**CAMEL, "error_message": "", "errorMessage": "boom"},
        "missing required field 'error_message'",
    ),
    (
        "an error object without a message",
        "AdfFailure",
        {**_local("adf_failure_activity_error.json"), "error": {"errorCode": "2200"}},
        "missing required field 'error.message'",
    ),
    (
        "a number for errorCode",
        "AdfFailure",
        {**CAMEL, "errorCode": 2200},
        "field 'errorCode' must be a string",
    ),
    (
        "no exception",
        "AirflowFailure",
        {key: value for key, value in _local("airflow_failure.json").items() if key != "exception"},
        "'exception'",
    ),
    (
        "a blank Databricks job id",
        "DatabricksNotification",
        {**_local("databricks_task_run_on_failure.json"), "job": {"job_id": " "}},
        "'job.job_id'",
    ),
    (
        "a Databricks run id that is an object",
        "DatabricksNotification",
        {**_local("databricks_task_run_on_failure.json"), "run": {"run_id": {"id": 1}}},
        "'run.run_id'",
    ),
]

# Where the server is strict: a value it cannot read as what the field means is refused by
# both, naming the field.
REFUSED_BODIES += [
    (
        "an ADF status that is neither Failed nor Succeeded",
        "AdfFailure",
        {**CAMEL, "status": "Running"},
        "field 'status' must be Failed or Succeeded",
    ),
    (
        "an ADF severity of Azure's",
        "AdfFailure",
        {**CAMEL, "severity": "Sev1"},
        "field 'severity' must be Critical, High, Medium or Low",
    ),
    (
        "an ADF null error message and no error object",
        "AdfFailure",
        {**CAMEL, "errorMessage": None},
        "missing required field 'error_message'",
    ),
    (
        "an Airflow null exception",
        "AirflowFailure",
        {**AIRFLOW, "exception": None},
        "'exception'",
    ),
    (
        "an Airflow null dag_id",
        "AirflowFailure",
        {**AIRFLOW, "dag_id": None},
        "missing required field 'dag_id'",
    ),
    (
        "an Airflow map_index that is text",
        "AirflowFailure",
        {**AIRFLOW, "map_index": "first"},
        "field 'map_index' must be a whole number",
    ),
    (
        "an Airflow map_index that is a fraction",
        "AirflowFailure",
        {**AIRFLOW, "map_index": 1.5},
        "field 'map_index' must be a whole number",
    ),
    (
        "an Airflow map_index that is a boolean",
        "AirflowFailure",
        {**AIRFLOW, "map_index": True},
        "field 'map_index' must be a whole number",
    ),
    (
        "an Airflow map_index below -1",
        "AirflowFailure",
        {**AIRFLOW, "map_index": -2},
        "field 'map_index' is out of range",
    ),
    (
        "an Airflow try_number of more digits than int() reads",
        "AirflowFailure",
        {**AIRFLOW, "try_number": "9" * 5000},
        "field 'try_number' is out of range",
    ),
    (
        "an Airflow map_index below -1 with thousands of leading zeros",
        "AirflowFailure",
        {**AIRFLOW, "map_index": "-" + "0" * 5000 + "2"},
        "field 'map_index' is out of range",
    ),
    (
        "an Airflow try_number that is a fraction",
        "AirflowFailure",
        {**AIRFLOW, "try_number": 2.5},
        "field 'try_number' must be a whole number",
    ),
    (
        "an Airflow try_number as words",
        "AirflowFailure",
        {**AIRFLOW, "try_number": "two"},
        "field 'try_number' must be a whole number",
    ),
    (
        "an Airflow max_tries that is text",
        "AirflowFailure",
        {**AIRFLOW, "max_tries": "three"},
        "field 'max_tries' must be a whole number",
    ),
    (
        "an Airflow timestamp that is an object",
        "AirflowFailure",
        {**AIRFLOW, "end_date": {"seconds": 1}},
        "field 'end_date' is not a timestamp",
    ),
]


@pytest.mark.parametrize(
    ("component", "body", "message"),
    [(component, body, message) for _, component, body, message in REFUSED_BODIES],
    ids=[label for label, _, _, _ in REFUSED_BODIES],
)
def test_a_body_the_server_refuses_is_one_the_published_schema_refuses(component, body, message):
    source, _ = MODELS[component]
    with pytest.raises(ParseError, match=re.escape(message)):
        PARSERS[source](body)
    assert not _validator(component).is_valid(body)


@pytest.mark.parametrize("max_tries", [3, "3", " 0003 ", 3.0])
def test_airflow_max_tries_is_kept_as_the_number_it_was_read_as(max_tries):
    """It was kept as the text received ("0003", or thousands of leading zeros)."""
    event = PARSERS[Source.AIRFLOW]({**AIRFLOW, "max_tries": max_tries})

    assert event.details["max_tries"] == 3
