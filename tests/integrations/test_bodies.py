"""The webhook body models (integrations/parsers/bodies.py): the parsers validate with them and
the OpenAPI document is generated from them, so the README, the schema and the parser agree."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from integrations.ingest import PARSERS
from integrations.parsers.bodies import AdfFailureBody, AirflowFailureBody, DatabricksNotification
from rca_project.openapi import COMPONENTS
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
