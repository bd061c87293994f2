"""The webhook body models (integrations/parsers/bodies.py): the parsers validate with them and
the OpenAPI document is generated from them, so the README, the schema and the parser agree."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator
from pydantic import BaseModel

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


@pytest.mark.parametrize("component", MODELS)
def test_the_schema_documents_the_models_fields(component):
    _, model = MODELS[component]
    schema = COMPONENTS[component]
    assert set(schema["properties"]) == set(model.model_fields)
    required = {name for name, field in model.model_fields.items() if field.is_required()}
    assert set(schema.get("required", [])) == required


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
    # (The schema names the fields in snake_case; their camelCase aliases are described.)
    body = {"pipeline": posted["pipelineName"], "run_id": posted["runId"], "error": posted["error"]}

    assert [error.message for error in validator.iter_errors(body)] == []
    assert PARSERS[Source.ADF](body).error_message == body["error"]["message"]
    body["error"]["message"] = " "
    assert not validator.is_valid(body)


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
