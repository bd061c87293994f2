"""Hostile input: arbitrary JSON never makes a parser raise anything but ParseError, and a body
the pipeline rejects never leaves a ticket behind."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.events import FailureEvent, ParseError
from integrations.ingest import RejectedDelivery, ingest_delivery
from integrations.parsers.adf import parse_adf_failure
from integrations.parsers.airflow import parse_airflow_failure
from integrations.parsers.databricks import parse_databricks_notification
from integrations.parsers.jira import parse_jira_event
from integrations.parsers.slack_actions import parse_slack_actions
from tests.conftest import local_payload, shared_payload
from tickets.models import Ticket

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)

PARSERS = {
    "adf": (parse_adf_failure, local_payload("adf_failure.json")),
    "adf_activity_error": (parse_adf_failure, local_payload("adf_failure_activity_error.json")),
    "airflow": (parse_airflow_failure, local_payload("airflow_legacy_failure.json")),
    "databricks": (
        parse_databricks_notification,
        shared_payload("databricks_job_run_on_failure.json"),
    ),
    "jira": (parse_jira_event, shared_payload("jira_issue_updated_status_todo_to_inprogress.json")),
    "slack": (
        parse_slack_actions,
        shared_payload("slack_block_actions_button_click_with_state.json"),
    ),
}


def only_parse_errors(parser, payload) -> None:
    with contextlib.suppress(ParseError):
        parser(payload)


@pytest.mark.parametrize("name", sorted(PARSERS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=json_values)
def test_arbitrary_json_only_raises_parse_error(name, payload):
    only_parse_errors(PARSERS[name][0], payload)


@st.composite
def mutated(draw, base: dict):
    """The real fixture with random values put at random places."""
    body = json.loads(json.dumps(base))
    for _ in range(draw(st.integers(1, 4))):
        target = body
        path = []
        while isinstance(target, dict) and target and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(target)))
            path.append(key)
            if not isinstance(target[key], dict):
                break
            target = target[key]
        if isinstance(target, dict) and target:
            key = draw(st.sampled_from(sorted(target)))
            target[key] = draw(json_values)
    return body


@pytest.mark.parametrize("name", sorted(PARSERS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_real_payloads_only_raise_parse_error(name, data):
    parser, base = PARSERS[name]
    only_parse_errors(parser, data.draw(mutated(base)))


@pytest.mark.django_db
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_the_pipeline_writes_a_whole_ticket_or_nothing(data):
    source = data.draw(st.sampled_from(["adf", "airflow", "databricks"]))
    base = {"adf": PARSERS["adf"][1], "airflow": PARSERS["airflow"][1]}.get(
        source, PARSERS["databricks"][1]
    )
    body = data.draw(mutated(base))
    before = Ticket.objects.count()
    try:
        result = ingest_delivery(source, json.dumps(body).encode())
    except RejectedDelivery:
        assert Ticket.objects.count() == before
        return
    if result.ticket_id:
        ticket = Ticket.objects.get(pk=result.ticket_id)
        assert ticket.run_id and ticket.fingerprint and ticket.sla_deadline
        assert ticket.audit_entries.exists()


def test_parsers_return_the_normalized_event():
    assert isinstance(parse_adf_failure(PARSERS["adf"][1]), FailureEvent)
