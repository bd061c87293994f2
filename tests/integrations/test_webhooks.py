"""The ingest fast path through real HTTP views and the real database."""

from __future__ import annotations

import base64
import copy
import json
import threading
import zlib
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connections
from django.utils import timezone

from analysis import enrichment_service, services
from integrations.models import DeliveryStatus, WebhookDelivery
from tests.conftest import local_payload, shared_payload
from tests.fakes.azure_ad import FakeAzureAd
from tests.fakes.azure_management_api import (
    FakeAzureManagement,
    adf_activity_run,
    adf_pipeline_run,
    adf_trigger_run,
)
from tests.fakes.databricks_api import FakeDatabricks, job_run, task
from tickets import lifecycle, rules
from tickets.lifecycle import Actor
from tickets.models import AuditLog, OwnershipRule, SlaPolicy, SuppressionRule, Ticket
from tickets.rules import clear_rule_cache

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("migration_data")]

AZURE = "/webhooks/azure-monitor/"
ADF = "/webhooks/adf/"
DATABRICKS = "/webhooks/databricks/"
AIRFLOW = "/webhooks/airflow/"


def test_adf_failure_becomes_a_ticket_with_the_schema_fields(webhook_client):
    response = webhook_client(ADF, local_payload("adf_failure.json"))

    assert response.status_code == 202
    answer = response.json()
    assert answer["outcome"] == "created"
    ticket = Ticket.objects.get(pk=answer["ticket_id"])
    assert ticket.id.startswith("ADF-")
    assert ticket.pipeline == "pl_copy_sales_orders"
    assert ticket.run_id == "adf:6f1d3c9a-2b7e-4a51-9c1e-0d2f4b8a7e31"
    assert ticket.processing_mode == "adf"
    assert ticket.logic_app_run_id == "08585332244345126384812345678CU12"
    assert ticket.status == "open"
    assert ticket.sla_status == "Pending"
    assert ticket.sla_seconds == SlaPolicy.objects.get(priority=ticket.priority).seconds
    assert ticket.finops_team == "data-platform"
    assert ticket.details["error_code"] == "2200"
    assert "Cannot connect to SQL Database" in ticket.error_message
    assert str(ticket.tracking_id) == answer["tracking_id"]
    assert ticket.rca_source == "pending"  # the worker writes the RCA
    delivery = WebhookDelivery.objects.get(tracking_id=answer["tracking_id"])
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.ticket_id == ticket.id
    assert AuditLog.objects.filter(ticket=ticket, action="created").count() == 1


def test_adf_camelcase_body_from_a_web_activity_is_accepted(webhook_client):
    response = webhook_client(ADF, local_payload("adf_failure_camelcase.json"))

    assert response.status_code == 202
    ticket = Ticket.objects.get(pk=response.json()["ticket_id"])
    assert ticket.pipeline == "pl_load_ledger"
    assert ticket.error_type == "ResourceExhaustion"
    assert ticket.affected_entity["factory"] == "adf-finance"


def test_adf_activity_error_object_posted_as_it_is_is_the_failure_and_its_rca(
    webhook_client, settings
):
    """A Web activity on the failure path commonly posts `"error":
    "@activity('Copy data1').error"`: ADF's error object, which was refused for want of
    error_message."""
    settings.GEMINI_API_KEY = ""
    response = webhook_client(ADF, local_payload("adf_failure_activity_error.json"))

    assert response.status_code == 202, response.content
    ticket = Ticket.objects.get(pk=response.json()["ticket_id"])
    assert ticket.pipeline == "pl_copy_customers"
    assert ticket.run_id == "adf:3e9b1f27-8c4d-4a6e-b0f1-7d2c5a9e4b18"
    assert ticket.error_message.startswith("Failure happened on 'Sink' side.")
    assert (ticket.details["error_code"], ticket.details["failure_type"]) == ("2200", "UserError")
    assert ticket.details["activity"] == ticket.affected_entity["activity"] == "Copy data1"
    assert ticket.affected_entity["factory"] == "adf-sales-prod"

    services.analyse_ticket(ticket.id)

    ticket.refresh_from_db()
    assert ticket.rca_source == "rules"
    assert ticket.rca_result.startswith(
        "Pipeline 'pl_copy_customers' (activity 'Copy data1') failed: The database rejected the"
        " credentials of user 'adf_writer' (error code 2200)."
    )
    assert "Data Factory reports a user error" in ticket.rca_result


@pytest.mark.parametrize("where", ["error.target", "activityName"])
def test_a_secret_in_the_failed_activitys_name_is_kept_out_of_the_occurrence_key(
    webhook_client, where
):
    """The failed activity's name (`error.target`, or the flat `activityName`) was redacted in
    the ticket's entity and details but kept as sent in the occurrence key: the occurrence
    stored, the inbox row's event and the evidence's events/ file held the secret, and a replay
    of the redacted inbox body was another occurrence, not the same delivery."""
    from integrations.ingest import ingest_delivery
    from integrations.targets.blob import delivery_files
    from tickets.models import Occurrence

    secret = "Pw9planted7Zx"
    body = local_payload("adf_failure_activity_error.json")
    if where == "error.target":
        body["error"]["target"] = f"Copy data1 Password={secret}"
    else:
        body["activityName"] = f"Copy data1 Password={secret}"

    answer = webhook_client(ADF, body)

    assert answer.status_code == 202, answer.content
    ticket = Ticket.objects.get(pk=answer.json()["ticket_id"])
    assert ticket.affected_entity["activity"] == "Copy data1 Password=[REDACTED]"
    stored = WebhookDelivery.objects.get(tracking_id=answer.json()["tracking_id"])
    kept = [
        *Occurrence.objects.filter(ticket=ticket).values_list("key", flat=True),
        json.dumps(stored.event),
        *(content.decode() for content, _ in delivery_files([stored]).values()),
    ]
    assert not [text for text in kept if secret in text]
    replayed = ingest_delivery("adf", stored.raw_body.encode())
    assert (replayed.ticket_id, replayed.outcome) == (ticket.pk, "duplicate")


def test_adf_flat_error_fields_are_read_before_the_activity_error_object(webhook_client):
    body = local_payload("adf_failure_activity_error.json")
    body.update(errorMessage="Login timeout expired", errorCode="2011")
    body["error"]["target"] = None  # null is absent, as at the top level

    ticket = Ticket.objects.get(pk=webhook_client(ADF, body).json()["ticket_id"])

    assert ticket.error_message == "Login timeout expired"
    assert ticket.details == {"error_code": "2011", "failure_type": "UserError"}


@pytest.mark.parametrize(
    "error, reason",
    [
        ({"errorCode": "2200", "target": "Copy data1"}, "missing required field 'error.message'"),
        ({"message": " ", "failureType": "UserError"}, "missing required field 'error.message'"),
        ({"message": 2200}, "field 'error.message' must be a string"),
        ('{"errorCode": "2200", "target": "Copy data1"}', "missing required field 'error.message'"),
        (2200, "field 'error' must be a JSON object or a string"),
        (["Failure happened on 'Sink' side."], "field 'error' must be a JSON object or a string"),
    ],
)
def test_an_adf_activity_error_object_without_its_message_is_refused_naming_it(
    webhook_client, error, reason
):
    body = {"pipelineName": "p", "runId": "r", "error": error}

    response = webhook_client(ADF, body)

    assert response.status_code == 400
    assert response.json()["error"] == reason
    assert Ticket.objects.count() == 0


def test_an_adf_activity_error_sent_as_text_is_read(webhook_client):
    """String interpolation (`"error": "@{activity('Copy').error}"`) posts the error object as
    JSON text, and a sender may post the message alone: both were refused with a 400."""
    from integrations.ingest import ingest_delivery

    error = local_payload("adf_failure_activity_error.json")["error"]
    error["message"] = "Login failed for user 'etl'. Password=Pw9planted7Zx;"
    as_json = {"pipelineName": "p", "runId": "r1", "error": json.dumps(error)}
    as_text = {"pipelineName": "p", "runId": "r2", "error": " Sink side timed out. "}

    first = webhook_client(ADF, as_json)
    second = webhook_client(ADF, as_text)

    assert (first.status_code, second.status_code) == (202, 202), (first.content, second.content)
    ticket = Ticket.objects.get(pk=first.json()["ticket_id"])
    assert ticket.error_message == "Login failed for user 'etl'. Password=[REDACTED];"
    assert ticket.affected_entity["activity"] == error["target"]
    assert ticket.details["error_code"] == error["errorCode"]
    assert ticket.details["failure_type"] == error["failureType"]
    stored = WebhookDelivery.objects.get(tracking_id=first.json()["tracking_id"])
    assert "Pw9planted7Zx" not in stored.raw_body
    replayed = ingest_delivery("adf", stored.raw_body.encode())
    assert (replayed.ticket_id, replayed.outcome) == (ticket.pk, "duplicate")
    assert Ticket.objects.get(pk=second.json()["ticket_id"]).error_message == (
        "Sink side timed out."
    )


@pytest.mark.parametrize(
    "error",
    [
        '{"message": "Sink side timed out.", "detail": ' + "[" * 5000 + "]" * 5000 + "}",
        '{"message": "Sink side timed out.\\ud800"}',
    ],
    ids=["nested past the recursion limit", "an unpaired surrogate"],
)
def test_an_adf_activity_error_text_that_json_could_not_keep_is_its_message(webhook_client, error):
    """The error text is read as JSON the way a body is (`loads_json`): JSON nested deeper than
    Python recurses failed with a RecursionError, and an escaped lone surrogate in the message
    with a UnicodeEncodeError at the fingerprint, both a 500. Text that is no JSON to keep is
    the error's message, as other text is."""
    answer = webhook_client(ADF, {"pipelineName": "p", "runId": "r1", "error": error})

    assert answer.status_code == 202, answer.content
    ticket = Ticket.objects.get(pk=answer.json()["ticket_id"])
    assert ticket.error_message.startswith('{"message": "Sink side timed out.')


def test_a_succeeded_adf_run_needs_no_activity_error(webhook_client):
    body = {"pipelineName": "p", "runId": "r", "status": "Succeeded", "error": {}}
    assert webhook_client(ADF, body).status_code == 202
    assert Ticket.objects.count() == 0


@pytest.mark.parametrize(
    "path, body, source",
    [
        (AZURE, shared_payload("azure_common_metric_dynamic_fired.json"), "azure-monitor"),
        (AZURE, shared_payload("azure_common_log_v2_scheduled_query_fired.json"), "azure-monitor"),
        (
            AZURE,
            shared_payload("azure_noncommon_metric_alert_static_activated.json"),
            "azure-monitor",
        ),
        (DATABRICKS, shared_payload("databricks_job_run_on_failure.json"), "databricks"),
        (AIRFLOW, local_payload("airflow_failure.json"), "airflow"),
        (AIRFLOW, local_payload("airflow_legacy_failure.json"), "airflow"),
    ],
)
def test_every_source_fixture_opens_one_ticket_and_redelivery_is_a_duplicate(
    webhook_client, path, body, source
):
    first = webhook_client(path, body)
    again = webhook_client(path, body)

    assert first.status_code == 202, first.content
    assert first.json()["outcome"] == "created"
    assert again.status_code == 202
    assert again.json()["outcome"] == "duplicate"
    assert again.json()["ticket_id"] == first.json()["ticket_id"]
    assert Ticket.objects.count() == 1
    assert Ticket.objects.get().source == source
    assert WebhookDelivery.objects.count() == 2


def test_legacy_paths_of_the_replaced_product_still_work(webhook_client):
    azure = webhook_client(
        "/azure-monitor", shared_payload("azure_common_metric_dynamic_fired.json")
    )
    databricks = webhook_client(
        "/databricks-monitor", shared_payload("databricks_job_run_on_failure.json")
    )
    airflow = webhook_client("/airflow-monitor", local_payload("airflow_legacy_failure.json"))

    assert [r.status_code for r in (azure, databricks, airflow)] == [202, 202, 202]
    assert Ticket.objects.count() == 3
    # and with a trailing slash, as some action groups were configured
    body = local_payload("airflow_legacy_failure.json")
    body["task_id"] = "another_task"
    assert webhook_client("/airflow-monitor/", body).json()["outcome"] == "created"


def test_azure_severity_sets_severity_priority_and_sla(webhook_client):
    body = shared_payload("azure_common_metric_dynamic_fired.json")
    body["data"]["essentials"]["severity"] = "Sev0"
    SlaPolicy.objects.filter(priority="P1").update(seconds=600)

    ticket = Ticket.objects.get(pk=webhook_client(AZURE, body).json()["ticket_id"])

    assert (ticket.severity, ticket.priority, ticket.sla_seconds) == ("Critical", "P1", 600)
    assert ticket.sla_deadline == ticket.timestamp + timedelta(seconds=600)


def test_ownership_rule_routes_the_ticket(webhook_client):
    OwnershipRule.objects.create(
        pipeline_pattern="pl_copy_sales_*",
        finops_team="sales-data",
        finops_owner="maria",
        finops_cost_center="CC-4411",
        slack_channel="#sales-data-alerts",
        jira_project="SALES",
    )
    OwnershipRule.objects.create(pipeline_pattern="*", order=999, finops_team="catch-all")

    ticket = Ticket.objects.get(
        pk=webhook_client(ADF, local_payload("adf_failure.json")).json()["ticket_id"]
    )

    assert (ticket.finops_team, ticket.finops_owner, ticket.finops_cost_center) == (
        "sales-data",
        "maria",
        "CC-4411",
    )
    assert (ticket.slack_channel, ticket.jira_project) == ("#sales-data-alerts", "SALES")


@pytest.mark.parametrize(
    ("declared", "owner"),
    [
        ("data-eng", "data-eng"),
        ("airflow", "on-call"),
        ("", "on-call"),
        # Redacted at ingest: the placeholder left names nobody.
        ("alice@example.com", "on-call"),
        ("token=abcd1234abcd1234abcd", "on-call"),
    ],
)
def test_an_airflow_tasks_owner_owns_its_ticket_where_no_rule_names_one(
    webhook_client, settings, declared, owner
):
    """The DAG's `owner` names who owns the task; Airflow's default ("airflow") names nobody.
    An ownership rule that matches still wins."""
    settings.DEFAULT_FINOPS_OWNER = "on-call"
    body = {**local_payload("airflow_failure.json"), "owner": declared}

    ticket = Ticket.objects.get(pk=webhook_client(AIRFLOW, body).json()["ticket_id"])
    assert ticket.finops_owner == owner

    OwnershipRule.objects.create(pipeline_pattern="*", finops_owner="maria")
    clear_rule_cache()  # rules are cached for RULE_CACHE_SECONDS
    routed = {**body, "dag_id": "another_dag"}
    assert (
        Ticket.objects.get(pk=webhook_client(AIRFLOW, routed).json()["ticket_id"]).finops_owner
        == "maria"
    )


def test_airflow_retries_of_a_task_are_recurrences_of_one_ticket(webhook_client):
    body = local_payload("airflow_failure.json")
    first = webhook_client(AIRFLOW, body).json()
    retry = copy.deepcopy(body)
    retry["try_number"] = 2
    second = webhook_client(AIRFLOW, retry).json()
    other_task = copy.deepcopy(body)
    other_task["task_id"] = "load_customers"
    third = webhook_client(AIRFLOW, other_task).json()

    assert second["outcome"] == "correlated"
    assert second["ticket_id"] == first["ticket_id"]
    assert third["outcome"] == "created"
    assert Ticket.objects.get(pk=first["ticket_id"]).occurrence_count == 2


def test_an_airflow_map_index_is_a_whole_number_whatever_form_it_arrives_in(webhook_client):
    """The callback sends Airflow's integer (-1: not mapped); a templated body its digits. Both
    name one task instance (a redelivery of its try is a duplicate); any other text was taken
    as a task's index of its own."""
    body = local_payload("airflow_failure.json")
    mapped = webhook_client(AIRFLOW, {**body, "map_index": 3}).json()
    as_text = webhook_client(AIRFLOW, {**body, "map_index": " 3 "}).json()
    unmapped = webhook_client(AIRFLOW, {**body, "map_index": -1}).json()
    absent = webhook_client(AIRFLOW, body).json()

    assert as_text["ticket_id"] == mapped["ticket_id"]
    assert as_text["outcome"] == "duplicate"
    ticket = Ticket.objects.get(pk=mapped["ticket_id"])
    assert ticket.pipeline == "sales_daily.load_orders"
    assert ticket.affected_entity["map_index"] == "3"
    assert unmapped["outcome"] == "correlated"
    assert absent["outcome"] == "duplicate"
    assert absent["ticket_id"] == unmapped["ticket_id"]


def test_an_airflow_skip_neither_fails_nor_closes_the_tasks_failure(webhook_client):
    """A skipped task ran nothing: it is no evidence that the failure was fixed."""
    failed = webhook_client(AIRFLOW, local_payload("airflow_failure.json")).json()
    skipped = {**local_payload("airflow_failure.json"), "state": "skipped", "run_id": "manual__x"}
    answer = webhook_client(AIRFLOW, skipped).json()
    assert (answer["outcome"], answer["ticket_id"]) == ("ignored", None)
    assert Ticket.objects.get(pk=failed["ticket_id"]).status == "open"
    retried = {**local_payload("airflow_failure.json"), "state": "up_for_retry", "try_number": 2}
    assert webhook_client(AIRFLOW, retried).json()["outcome"] == "correlated"
    # Killed while queued: Airflow 3 runs its failure callback with that state.
    killed = {**local_payload("airflow_failure.json"), "state": "queued", "try_number": 3}
    assert webhook_client(AIRFLOW, killed).json()["outcome"] == "correlated"


def _airflow_on(web_server: str, **fields: object) -> dict:
    body = local_payload("airflow_failure.json")
    body["log_url"] = f"{web_server}/log?dag_id=sales_daily&task_id=load_orders"
    return {**body, **fields}


def test_the_same_dag_run_on_another_airflow_is_another_failure(webhook_client):
    # Both run ids are `scheduled__2025-12-10...`: the schedule, not the deployment, names them.
    prod = webhook_client(AIRFLOW, _airflow_on("https://airflow.prod.example.com")).json()
    dev = webhook_client(AIRFLOW, _airflow_on("http://airflow-dev.example.com:8080")).json()
    dev_retry = webhook_client(
        AIRFLOW, _airflow_on("http://airflow-dev.example.com:8080", try_number=2)
    ).json()

    assert (prod["outcome"], dev["outcome"]) == ("created", "created")
    assert dev_retry == {**dev_retry, "outcome": "correlated", "ticket_id": dev["ticket_id"]}
    prod_ticket, dev_ticket = (
        Ticket.objects.get(pk=prod["ticket_id"]),
        Ticket.objects.get(pk=dev["ticket_id"]),
    )
    assert prod_ticket.run_id.startswith("airflow:airflow.prod.example.com:sales_daily/")
    assert dev_ticket.affected_entity["deployment"] == "airflow-dev.example.com:8080"
    assert prod_ticket.fingerprint != dev_ticket.fingerprint

    # The task succeeding on dev closes dev's ticket only.
    success = _airflow_on("http://airflow-dev.example.com:8080", state="success", try_number=3)
    answer = webhook_client(AIRFLOW, success).json()

    assert (answer["outcome"], answer["ticket_id"]) == ("resolved", dev["ticket_id"])
    prod_ticket.refresh_from_db()
    dev_ticket.refresh_from_db()
    assert dev_ticket.resolved_at_source_at is not None
    assert prod_ticket.resolved_at_source_at is None


def test_an_airflow_named_by_the_sender_is_told_apart_by_that_name(webhook_client):
    base = "https://airflow.example.com"
    prod = webhook_client(AIRFLOW, _airflow_on(base, deployment="prod")).json()
    # The web server's own URL (sent by the callback) names it when the body gives no name,
    # before the log link does.
    staging = webhook_client(
        AIRFLOW, _airflow_on(base, airflow_base_url="https://staging.example.com/")
    ).json()
    by_log_link = webhook_client(AIRFLOW, _airflow_on(base)).json()

    assert [prod["outcome"], staging["outcome"], by_log_link["outcome"]] == ["created"] * 3
    assert Ticket.objects.get(pk=prod["ticket_id"]).run_id.startswith("airflow:prod:")
    assert Ticket.objects.get(pk=staging["ticket_id"]).run_id.startswith(
        "airflow:staging.example.com:"
    )


def test_an_airflow_body_naming_no_deployment_keeps_the_dags_own_keys(webhook_client):
    body = local_payload("airflow_failure.json")
    del body["log_url"]
    ticket = Ticket.objects.get(pk=webhook_client(AIRFLOW, body).json()["ticket_id"])

    assert ticket.run_id == f"airflow:sales_daily/load_orders/{body['run_id']}"
    assert ticket.resolve_key == "airflow:sales_daily/load_orders"


def test_airflow_ids_as_long_as_airflow_allows_make_one_ticket_and_a_duplicate(webhook_client):
    # Airflow allows 250 characters for each id; the keys joining them outgrow their columns.
    body = local_payload("airflow_failure.json")
    body.update(dag_id="d" * 250, task_id="t" * 250, run_id="manual__" + "r" * 242)
    first = webhook_client(AIRFLOW, body)
    again = webhook_client(AIRFLOW, body)
    retry = webhook_client(AIRFLOW, {**body, "try_number": 2})
    success = webhook_client(AIRFLOW, {**body, "state": "success", "try_number": 3})

    assert first.status_code == 202, first.content
    ticket_id = first.json()["ticket_id"]
    assert [r.json()["outcome"] for r in (first, again, retry, success)] == [
        "created",
        "duplicate",
        "correlated",
        "resolved",
    ]
    assert {again.json()["ticket_id"], retry.json()["ticket_id"]} == {ticket_id}
    ticket = Ticket.objects.get(pk=ticket_id)
    assert len(ticket.run_id) == 600 and ticket.run_id.startswith("airflow:")
    assert ticket.pipeline == ("d" * 250 + "." + "t" * 250)[:500]
    assert ticket.resolved_at_source_at is not None


def test_over_long_ids_of_two_runs_stay_two_runs(webhook_client):
    # Two run ids differing only past the column's length still name two runs.
    shared = "x" * 700
    first = webhook_client(ADF, {**_adf_run(shared + "1"), "logic_app_run_id": "L" * 300})
    second = webhook_client(ADF, {**_adf_run(shared + "2"), "pipeline": "p" * 600})

    assert (first.status_code, second.status_code) == (202, 202), second.content
    assert [first.json()["outcome"], second.json()["outcome"]] == ["created", "created"]
    runs = set(Ticket.objects.values_list("run_id", flat=True))
    assert len(runs) == 2 and all(len(run) == 600 for run in runs)
    assert Ticket.objects.get(pk=first.json()["ticket_id"]).logic_app_run_id == "L" * 200


def _adf_run(run_id: str, when: str = "12:34:56") -> dict:
    body = local_payload("adf_failure.json")
    body["run_id"] = run_id
    # Same failure, different ids and timestamps in the text: must still correlate.
    body["error_message"] = body["error_message"].replace("SqlErrorNumber=53", f"RunAt={when}")
    return body


def test_a_new_runs_failure_makes_its_run_page_the_tickets_run_link(webhook_client):
    """The run shown is the run a rerun acts on (`latest_run`), not the first run's."""
    pages = "https://adf.azure.com/en/monitoring/pipelineruns/"
    runs = ["11111111-aaaa-4aaa-8aaa-000000000001", "11111111-aaaa-4aaa-8aaa-000000000002"]
    answers = [
        webhook_client(ADF, {**_adf_run(run, when), "run_url": pages + run}).json()
        for run, when in zip(runs, ("12:34:56", "13:00:01"), strict=True)
    ]

    assert answers[1]["ticket_id"] == answers[0]["ticket_id"]
    ticket = Ticket.objects.get(pk=answers[0]["ticket_id"])
    assert ticket.latest_run["run_key"] == f"adf:{runs[1]}"
    assert ticket.links == {"run": pages + runs[1]}


def test_same_failure_in_a_new_run_correlates_to_the_open_ticket(webhook_client):
    first = webhook_client(ADF, _adf_run("11111111-aaaa-4aaa-8aaa-000000000001")).json()
    second = webhook_client(ADF, _adf_run("11111111-aaaa-4aaa-8aaa-000000000002", "13:00:01"))

    assert second.json()["outcome"] == "correlated"
    assert second.json()["ticket_id"] == first["ticket_id"]
    ticket = Ticket.objects.get(pk=first["ticket_id"])
    assert ticket.occurrence_count == 2
    assert AuditLog.objects.filter(ticket=ticket, action="recurred").count() == 1
    # Only the new ticket leaves work for a worker; the recurrence is done when it is stored.
    statuses = dict(WebhookDelivery.objects.values_list("outcome", "status"))
    assert statuses == {"created": DeliveryStatus.PENDING, "correlated": DeliveryStatus.PROCESSED}


def test_the_same_pipeline_in_another_factory_is_another_failure(webhook_client):
    prod = webhook_client(ADF, _adf_run("33333333-aaaa-4aaa-8aaa-000000000001")).json()
    dev_body = _adf_run("33333333-aaaa-4aaa-8aaa-000000000002")
    dev_body["factory"] = "adf-sales-dev"
    dev = webhook_client(ADF, dev_body).json()
    prod_again = webhook_client(ADF, _adf_run("33333333-aaaa-4aaa-8aaa-000000000003")).json()

    assert dev["outcome"] == "created" and dev["ticket_id"] != prod["ticket_id"]
    assert prod_again == {**prod_again, "outcome": "correlated", "ticket_id": prod["ticket_id"]}
    prod_ticket, dev_ticket = (Ticket.objects.get(pk=t["ticket_id"]) for t in (prod, dev))
    assert prod_ticket.fingerprint != dev_ticket.fingerprint
    assert dev_ticket.affected_entity["factory"] == "adf-sales-dev"


def test_the_same_job_in_another_databricks_workspace_is_another_failure(webhook_client):
    def run(workspace: str, run_id: int) -> dict:
        body = shared_payload("databricks_job_run_on_failure.json")
        body.update(workspace_id=workspace, run={"run_id": run_id})
        return webhook_client(DATABRICKS, body).json()

    prod, dev, prod_again = run("1001", 1), run("2002", 2), run("1001", 3)

    assert dev["outcome"] == "created" and dev["ticket_id"] != prod["ticket_id"]
    assert prod_again == {**prod_again, "outcome": "correlated", "ticket_id": prod["ticket_id"]}


@pytest.mark.parametrize(
    "field, value", [("run.run_id", True), ("job.job_id", {"id": 1}), ("workspace_id", [1])]
)
def test_a_databricks_id_of_another_type_is_refused_saying_what_it_may_be(
    webhook_client, field, value
):
    """A Databricks id is taken as a string or a number (its schema says so): a refusal of
    anything else says both, not that a number would be refused too."""
    body = shared_payload("databricks_job_run_on_failure.json")
    parent, _, name = field.rpartition(".")
    (body[parent] if parent else body)[name] = value

    response = webhook_client(DATABRICKS, body)

    assert response.status_code == 400, response.content
    assert response.json()["error"] == f"field '{field}' must be a string or a number"
    assert Ticket.objects.count() == 0


def test_an_acknowledged_ticket_absorbs_its_repeats_however_old(webhook_client):
    first = webhook_client(ADF, _adf_run("22222222-aaaa-4aaa-8aaa-000000000001")).json()
    Ticket.objects.filter(pk=first["ticket_id"]).update(
        status="acknowledged", last_seen=timezone.now() - timedelta(days=3)
    )
    again = webhook_client(ADF, _adf_run("22222222-aaaa-4aaa-8aaa-000000000002")).json()

    assert again == {**again, "outcome": "correlated", "ticket_id": first["ticket_id"]}
    assert Ticket.objects.get().occurrence_count == 2


def test_suppressed_failure_is_recorded_without_a_ticket(webhook_client):
    rule = SuppressionRule.objects.create(
        pipeline_pattern="pl_copy_sales_*",
        reason="warehouse maintenance",
        starts_at=timezone.now() - timedelta(minutes=5),
        ends_at=timezone.now() + timedelta(hours=1),
    )
    response = webhook_client(ADF, local_payload("adf_failure.json"))

    assert response.status_code == 202
    assert response.json()["outcome"] == "suppressed"
    assert response.json()["ticket_id"] is None
    assert Ticket.objects.count() == 0
    delivery = WebhookDelivery.objects.get()
    assert delivery.suppressed_by == rule
    assert delivery.status == DeliveryStatus.PROCESSED
    rule.refresh_from_db()
    assert rule.hit_count == 1


def test_expired_maintenance_window_does_not_suppress(webhook_client):
    SuppressionRule.objects.create(
        pipeline_pattern="*",
        reason="last week's maintenance",
        starts_at=timezone.now() - timedelta(days=8),
        ends_at=timezone.now() - timedelta(days=7),
    )
    assert webhook_client(ADF, local_payload("adf_failure.json")).json()["outcome"] == "created"


def test_azure_resolved_closes_the_loop_on_the_fired_ticket(webhook_client):
    fired = shared_payload("azure_common_metric_dynamic_fired.json")
    ticket_id = webhook_client(AZURE, fired).json()["ticket_id"]
    resolved = copy.deepcopy(fired)
    resolved["data"]["essentials"]["monitorCondition"] = "Resolved"
    resolved["data"]["essentials"]["resolvedDateTime"] = "2021-11-15T10:05:24.3468506Z"

    answer = webhook_client(AZURE, resolved).json()

    assert answer == {**answer, "outcome": "resolved", "ticket_id": ticket_id}
    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.remediation_status == "resolved_at_source"
    assert ticket.resolved_at_source_at is not None
    assert AuditLog.objects.filter(ticket=ticket, action="resolved at source").count() == 1
    assert Ticket.objects.count() == 1


def test_older_schema_deactivated_closes_the_latest_ticket_of_that_rule(webhook_client):
    activated = shared_payload("azure_noncommon_metric_alert_static_activated.json")
    ticket_id = webhook_client(AZURE, activated).json()["ticket_id"]
    deactivated = copy.deepcopy(activated)
    deactivated["data"]["status"] = "Deactivated"
    deactivated["data"]["context"]["timestamp"] = "2021-11-15T10:35:12.9703687Z"

    answer = webhook_client(AZURE, deactivated).json()

    assert (answer["outcome"], answer["ticket_id"]) == ("resolved", ticket_id)


def test_databricks_success_closes_the_loop_and_start_is_ignored(webhook_client):
    failure = shared_payload("databricks_job_run_on_failure.json")
    ticket_id = webhook_client(DATABRICKS, failure).json()["ticket_id"]
    start = {**failure, "event_type": "jobs.on_start", "run": {"run_id": "next_run"}}
    success = {**failure, "event_type": "jobs.on_success", "run": {"run_id": "next_run"}}

    started = webhook_client(DATABRICKS, start).json()
    succeeded = webhook_client(DATABRICKS, success).json()

    assert (started["outcome"], started["ticket_id"]) == ("ignored", None)
    assert (succeeded["outcome"], succeeded["ticket_id"]) == ("resolved", ticket_id)
    assert Ticket.objects.count() == 1


def _databricks_run(event_type: str, run_id: str) -> dict:
    body = shared_payload("databricks_job_run_on_failure.json")
    body.update(event_type=event_type, workspace_id="1001", run={"run_id": run_id})
    return body


def test_a_databricks_failure_delivered_after_a_later_runs_success_ends_as_it_lands(
    webhook_client,
):
    """Databricks does not promise order: the success of run 200 arrives first (nothing to
    resolve: ignored), then the failure of the older run 100. It opened a ticket that stayed
    open, and the success redelivered was a duplicate. Now it lands resolved at its source; a
    failure of a later run (300) fails again after that success and stays open."""
    success = _databricks_run("jobs.on_success", "200")

    assert webhook_client(DATABRICKS, success).json()["outcome"] == "ignored"
    older = webhook_client(DATABRICKS, _databricks_run("jobs.on_failure", "100")).json()

    assert older["outcome"] == "created"
    ticket = Ticket.objects.get(pk=older["ticket_id"])
    assert ticket.status == "resolved" and ticket.resolved_at_source_at is not None
    entry = AuditLog.objects.get(ticket=ticket, action="resolved at source")
    assert "run 200" in entry.details["why"]
    assert webhook_client(DATABRICKS, success).json()["outcome"] == "duplicate"

    later = webhook_client(DATABRICKS, _databricks_run("jobs.on_failure", "300")).json()
    assert (later["outcome"], later["ticket_id"]) == ("regressed", ticket.pk)
    ticket.refresh_from_db()
    assert ticket.status == "open" and ticket.resolved_at_source_at is None


def _job_id_hashing_like(prefix: str, target: int, digits: int = 16) -> str:
    """A job id of `digits` digits whose `prefix + id` has the CRC-32 `target`. CRC-32 is
    affine over GF(2) for messages of one length, so the low three bits of the digits after
    the first (each then still a digit) are solved for."""
    base = "1" + "0" * (digits - 1)

    def crc(job_id: str) -> int:
        return zlib.crc32(f"{prefix}{job_id}".encode())

    start = crc(base)
    Flips = frozenset[tuple[int, int]]  # (position, bit) pairs
    basis: dict[int, tuple[int, Flips]] = {}  # leading bit -> (vector, flips making it)
    for position in range(1, digits):
        for bit in (1, 2, 4):
            flipped = base[:position] + chr(ord(base[position]) ^ bit) + base[position + 1 :]
            vector, flips = crc(flipped) ^ start, frozenset({(position, bit)})
            while vector:
                lead = vector.bit_length() - 1
                if lead not in basis:
                    basis[lead] = (vector, flips)
                    break
                vector, flips = vector ^ basis[lead][0], flips ^ basis[lead][1]
    wanted, chosen = start ^ target, Flips()
    while wanted:
        vector, flips = basis[wanted.bit_length() - 1]
        wanted, chosen = wanted ^ vector, chosen ^ flips
    job_id = list(base)
    for position, bit in chosen:
        job_id[position] = chr(ord(job_id[position]) ^ bit)
    assert crc("".join(job_id)) == target
    return "".join(job_id)


@pytest.mark.django_db(transaction=True)
def test_a_databricks_webhook_does_not_wait_for_an_rca_request_of_a_ticket(webhook_client):
    """A ticket's fresh-RCA request holds its advisory lock while the broker takes the run
    (seconds when it hangs); a Databricks job's notifications take their job's. Both were
    class 5: a job whose key hashes as the ticket's id does (one in 2**32, forced here) had
    its webhooks wait for that broker."""
    ticket_id = webhook_client(ADF, local_payload("adf_failure.json")).json()["ticket_id"]
    job_id = _job_id_hashing_like("databricks:1001:job:", zlib.crc32(ticket_id.encode()))
    success = _databricks_run("jobs.on_success", "200")
    success["job"]["job_id"] = job_id
    publishing, release, answers = threading.Event(), threading.Event(), []

    def slow_broker() -> None:
        publishing.set()
        release.wait(20)

    def request_rca() -> None:
        try:
            services.request_rca(ticket_id, Actor.system("test"), publish=slow_broker)
        finally:
            connections.close_all()

    def notify() -> None:
        try:
            answers.append(webhook_client(DATABRICKS, success).json())
        finally:
            connections.close_all()

    requesting = threading.Thread(target=request_rca)
    requesting.start()
    try:
        assert publishing.wait(10)
        notifying = threading.Thread(target=notify)
        notifying.start()
        notifying.join(5)
        answered = not notifying.is_alive()
    finally:
        release.set()
        requesting.join(10)
    notifying.join(10)

    assert answered, "the webhook waited for the RCA request's broker"
    assert answers[0]["outcome"] == "ignored"


def test_a_databricks_tasks_success_ends_only_that_tasks_older_failure(webhook_client):
    """A task's success recorded first ends a late failure of that task in an older job run,
    not the job's own failure of that run (a task's success says nothing of the job)."""
    task_payload = local_payload("databricks_task_run_on_failure.json")
    succeeded = copy.deepcopy(task_payload)
    succeeded["event_type"] = "jobs.on_success"
    succeeded["run"].update(run_id="718272946372915", parent_run_id="2047283951263847")
    assert webhook_client(DATABRICKS, succeeded).json()["outcome"] == "ignored"

    task_failure = webhook_client(DATABRICKS, task_payload).json()
    assert Ticket.objects.get(pk=task_failure["ticket_id"]).status == "resolved"

    job = {key: value for key, value in task_payload.items() if key not in ("task", "run")}
    job["run"] = {"run_id": "1047283951263840"}  # an older run of the job, as a whole
    whole = webhook_client(DATABRICKS, job).json()
    assert whole["outcome"] == "created"
    assert Ticket.objects.get(pk=whole["ticket_id"]).status == "open"


def test_databricks_runs_of_no_named_workspace_are_not_ordered(webhook_client):
    """Notifications naming no workspace (no workspace_id, no run page) are keyed by
    workspace "unknown", whichever workspace sent them: run ids of two workspaces are not
    one sequence, so a success of run 900 leaves a failure of run 500 of a job with the same
    id open (it may be another workspace's, failing now)."""
    success = _databricks_run("jobs.on_success", "900")
    del success["workspace_id"]
    failure = _databricks_run("jobs.on_failure", "500")
    del failure["workspace_id"]

    assert webhook_client(DATABRICKS, success).json()["outcome"] == "ignored"
    opened = webhook_client(DATABRICKS, failure).json()

    assert opened["outcome"] == "created"
    ticket = Ticket.objects.get(pk=opened["ticket_id"])
    assert ticket.status == "open" and ticket.resolved_at_source_at is None


def test_a_task_key_extending_anothers_mark_neither_breaks_nor_ends_its_failures(
    webhook_client,
):
    """A task key is the sender's text: the success of task "t#succeeded-run:1" leaves a
    mark whose key extends task "t"'s; a later failure of task "t" in an older run is read
    as one no success of its own ended (it was a 500 reading that mark's run id)."""
    body = _databricks_run("jobs.on_success", "200")
    body["task"] = {"task_key": "t#succeeded-run:1"}
    body["run"] = {"run_id": "201", "parent_run_id": "200"}
    assert webhook_client(DATABRICKS, body).json()["outcome"] == "ignored"

    failure = _databricks_run("jobs.on_failure", "100")
    failure["task"] = {"task_key": "t"}
    failure["run"] = {"run_id": "101", "parent_run_id": "100"}
    answer = webhook_client(DATABRICKS, failure)

    assert answer.status_code == 202, answer.content
    assert answer.json()["outcome"] == "created"
    assert Ticket.objects.get(pk=answer.json()["ticket_id"]).status == "open"


def test_a_databricks_event_type_not_known_yet_is_stored_and_ignored(webhook_client):
    """Databricks adds notification events (its SDK already lists maintenance ones): refused,
    a new one would show as failed deliveries at Databricks."""
    body = {
        **shared_payload("databricks_job_run_on_failure.json"),
        "event_type": "jobs.on_maintenance_start",
    }

    response = webhook_client(DATABRICKS, body)

    assert response.status_code == 202, response.content
    answer = response.json()
    assert (answer["outcome"], answer["ticket_id"]) == ("ignored", None)
    delivery = WebhookDelivery.objects.get(tracking_id=answer["tracking_id"])
    assert delivery.status == DeliveryStatus.PROCESSED
    assert Ticket.objects.count() == 0


def test_a_databricks_task_notification_is_counted_on_its_parent_job_run(webhook_client):
    """A task's notification names the task's own run and its job's run as `parent_run_id`
    (Databricks "Add notifications on a job", HTTP webhook payloads): the job's notification of
    that run is one more occurrence of the task's ticket, whose run is the job's (the run the
    analysis reads and a repair reruns); a retry of the task is one more occurrence."""
    task = local_payload("databricks_task_run_on_failure.json")
    job = {key: value for key, value in task.items() if key != "task"}
    job["run"] = {"run_id": task["run"]["parent_run_id"]}
    retry = copy.deepcopy(task)
    retry["run"]["run_id"] = "618272946373120"

    first = webhook_client(DATABRICKS, task).json()
    again = webhook_client(DATABRICKS, retry).json()
    whole = webhook_client(DATABRICKS, job).json()

    assert first["outcome"] == "created"
    assert (again["outcome"], again["ticket_id"]) == ("correlated", first["ticket_id"])
    assert (whole["outcome"], whole["ticket_id"]) == ("correlated", first["ticket_id"])
    ticket = Ticket.objects.get()
    assert ticket.occurrence_count == 3
    assert ticket.run_id == "databricks:1234567890123456:1047283951263847:ingest_orders"
    assert ticket.affected_entity["run_id"] == "1047283951263847"
    assert ticket.affected_entity["task_run_id"] == "618272946372915"
    assert ticket.affected_entity["task_key"] == "ingest_orders"


def test_a_retried_task_after_its_job_runs_own_notification_is_one_ticket(webhook_client):
    """The job's notification of a run first (deliveries reorder), then two attempts of the
    task that failed it: the task's retry is one more occurrence of the ticket its first
    attempt joined, not a second part of the run (a new ticket, paging again)."""
    task_payload = local_payload("databricks_task_run_on_failure.json")
    job = {key: value for key, value in task_payload.items() if key != "task"}
    job["run"] = {"run_id": task_payload["run"]["parent_run_id"]}
    retry = copy.deepcopy(task_payload)
    retry["run"]["run_id"] = "618272946373120"

    answers = [webhook_client(DATABRICKS, body).json() for body in (job, task_payload, retry)]

    assert [a["outcome"] for a in answers] == ["created", "correlated", "correlated"]
    assert len({a["ticket_id"] for a in answers}) == 1
    assert Ticket.objects.get().occurrence_count == 3


def test_a_databricks_task_notifications_error_is_read_from_the_attempt_it_names(
    webhook_client, settings
):
    """A task's notification is keyed by its job run, and names its own run (`task_run_id`):
    the error the ticket is analysed with is that attempt's, not that of a retry the job run
    started since (still running when the analysis reads the run, or succeeded)."""
    task_payload = local_payload("databricks_task_run_on_failure.json")
    parent, attempt = (int(task_payload["run"][key]) for key in ("parent_run_id", "run_id"))
    webhook_client(DATABRICKS, task_payload)
    ticket = Ticket.objects.get()

    with FakeDatabricks() as databricks:
        settings.DATABRICKS_HOST, settings.DATABRICKS_TOKEN = databricks.url, databricks.token
        databricks.add_run(
            job_run(
                run_id=parent,
                tasks=[
                    task("ingest_orders", attempt, "FAILED", "Workload failed"),
                    task("ingest_orders", attempt + 1, "SUCCESS", attempt_number=1),
                ],
            )
        )
        databricks.outputs[attempt] = {"error": "java.io.FileNotFoundException: /mnt/raw/x.csv"}
        databricks.outputs[attempt + 1] = {"logs": "all good\n"}
        found = enrichment_service.enrich(ticket)

    assert "FileNotFoundException" in found.error_message
    assert found.details["task_run_id"] == attempt


def test_the_fetched_databricks_runs_page_is_among_the_tickets_links(webhook_client, settings):
    """A Databricks notification names no run page (an ADF body's run_url and an Airflow
    body's log_url are links of their tickets): the run read for the error names it, and it
    becomes the ticket's `run` link, shown by the API (and by the ticket's page, which lists
    every link)."""
    from tests.api import jwt_client, make_user

    task_payload = local_payload("databricks_task_run_on_failure.json")
    parent, attempt = (int(task_payload["run"][key]) for key in ("parent_run_id", "run_id"))
    ticket_id = webhook_client(DATABRICKS, task_payload).json()["ticket_id"]
    assert Ticket.objects.get(pk=ticket_id).links == {}

    with FakeDatabricks() as databricks:
        settings.DATABRICKS_HOST, settings.DATABRICKS_TOKEN = databricks.url, databricks.token
        databricks.add_run(
            job_run(run_id=parent, tasks=[task("ingest_orders", attempt, "FAILED", "Failed")])
        )
        databricks.outputs[attempt] = {"error": "java.io.FileNotFoundException: /mnt/raw/x.csv"}
        services.enrich_tickets([ticket_id])

    page = f"https://example.cloud.databricks.com/?o=1#job/11223344/run/{parent}"
    assert Ticket.objects.get(pk=ticket_id).links == {"run": page}
    detail = jwt_client(make_user("viewer")).get(f"/api/v1/tickets/{ticket_id}/").json()
    assert detail["links"] == {"run": page}


def test_the_fetched_databricks_runs_page_is_a_link_when_the_run_gives_no_error_text(
    webhook_client, settings
):
    """The run read for the error names its page also when it gives no error text (no
    failed task, no state message): the page becomes the ticket's `run` link all the same,
    and no empty error is stored."""
    task_payload = local_payload("databricks_task_run_on_failure.json")
    parent = int(task_payload["run"]["parent_run_id"])
    ticket_id = webhook_client(DATABRICKS, task_payload).json()["ticket_id"]
    before = Ticket.objects.get(pk=ticket_id)
    assert before.links == {}

    with FakeDatabricks() as databricks:
        settings.DATABRICKS_HOST, settings.DATABRICKS_TOKEN = databricks.url, databricks.token
        databricks.add_run(job_run(run_id=parent, tasks=[task("other_task", 1, "SUCCESS")]))
        services.enrich_tickets([ticket_id])

    after = Ticket.objects.get(pk=ticket_id)
    page = f"https://example.cloud.databricks.com/?o=1#job/11223344/run/{parent}"
    assert after.links == {"run": page}
    assert after.error_message == before.error_message


SERVICE_PRINCIPAL = "5f2c1a9e-8b3d-4c6e-9f1a-2b3c4d5e6f70"


def enrich_databricks_ticket(settings, ticket_id: str, creator: str) -> None:
    """The ticket's run, created by `creator`, fetched from a Databricks workspace."""
    payload = local_payload("databricks_task_run_on_failure.json")
    parent, attempt = (int(payload["run"][key]) for key in ("parent_run_id", "run_id"))
    with FakeDatabricks() as databricks:
        settings.DATABRICKS_HOST, settings.DATABRICKS_TOKEN = databricks.url, databricks.token
        run = job_run(run_id=parent, tasks=[task("ingest_orders", attempt, "FAILED", "Failed")])
        databricks.add_run({**run, "creator_user_name": creator})
        databricks.outputs[attempt] = {"error": "java.io.FileNotFoundException: /mnt/raw/x.csv"}
        services.enrich_tickets([ticket_id])


@pytest.mark.parametrize(
    ("creator", "owner"),
    [
        ("alice.smith@example.com", "alice.smith"),  # no ticket holds the e-mail itself
        (SERVICE_PRINCIPAL, "on-call"),  # an application id names nobody to call
    ],
)
def test_a_databricks_runs_creator_owns_its_ticket_where_no_rule_names_one(
    webhook_client, settings, creator, owner
):
    """A Databricks notification names no owner, so its ticket got DEFAULT_FINOPS_OWNER; the run
    fetched for its error names its creator, who owns it from then on as an Airflow task's
    `owner` does: a re-route, audited and announced (JIRA, Slack and the dashboard follow it).
    An admin re-route afterwards finds the same owner."""
    settings.DEFAULT_FINOPS_OWNER = "on-call"
    payload = local_payload("databricks_task_run_on_failure.json")
    ticket_id = webhook_client(DATABRICKS, payload).json()["ticket_id"]
    assert Ticket.objects.get(pk=ticket_id).finops_owner == "on-call"
    announced = []

    def told(sender, ticket_id, action, actor, **kwargs):
        announced.append((ticket_id, action, actor.name))

    lifecycle.ticket_changing.connect(told)
    try:
        enrich_databricks_ticket(settings, ticket_id, creator)
    finally:
        lifecycle.ticket_changing.disconnect(told)

    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.finops_owner == owner
    assert "@" not in json.dumps(ticket.details)
    rerouted = AuditLog.objects.filter(ticket=ticket, action=lifecycle.REROUTED)
    if owner == "on-call":
        assert not rerouted.exists() and (ticket_id, lifecycle.REROUTED, "enrichment") not in (
            announced
        )
        return
    entry = rerouted.get()
    assert (entry.before, entry.after) == ({"finops_owner": "on-call"}, {"finops_owner": owner})
    assert entry.details["via"] == "databricks run"
    assert (ticket_id, lifecycle.REROUTED, "enrichment") in announced
    assert not rules.reroute_unpaged(ticket, Actor.system("test"))
    assert Ticket.objects.get(pk=ticket_id).finops_owner == owner


@pytest.mark.parametrize("rule_owner", ["maria", "on-call"])
def test_an_ownership_rule_still_owns_a_databricks_ticket_whoever_created_its_run(
    webhook_client, settings, rule_owner
):
    """Also a rule naming the default owner (for a team of its own): it names the owner."""
    settings.DEFAULT_FINOPS_OWNER = "on-call"
    OwnershipRule.objects.create(
        pipeline_pattern="nightly_sales_*", finops_team="sales-data", finops_owner=rule_owner
    )
    clear_rule_cache()  # rules are cached for RULE_CACHE_SECONDS
    payload = local_payload("databricks_task_run_on_failure.json")
    ticket_id = webhook_client(DATABRICKS, payload).json()["ticket_id"]

    enrich_databricks_ticket(settings, ticket_id, "alice.smith@example.com")

    assert Ticket.objects.get(pk=ticket_id).finops_owner == rule_owner
    assert not AuditLog.objects.filter(ticket_id=ticket_id, action=lifecycle.REROUTED).exists()


def test_a_databricks_ticket_people_rerouted_keeps_its_owner_once_its_run_is_fetched(
    webhook_client, settings
):
    """Its run could not be read at first (no credentials yet); staff re-routed it meanwhile,
    keeping the default owner under another team. The run read later (the RCA re-run once the
    credentials are set) does not undo what people decided."""
    settings.DEFAULT_FINOPS_OWNER = "on-call"
    settings.DATABRICKS_HOST = settings.DATABRICKS_TOKEN = ""
    payload = local_payload("databricks_task_run_on_failure.json")
    ticket_id = webhook_client(DATABRICKS, payload).json()["ticket_id"]
    services.enrich_tickets([ticket_id])
    rule = OwnershipRule.objects.create(
        pipeline_pattern="nightly_sales_*", finops_team="sales-data", finops_owner="on-call"
    )
    clear_rule_cache()
    assert rules.reroute_unpaged(Ticket.objects.get(pk=ticket_id), Actor.system("staff"))
    rule.delete()
    clear_rule_cache()

    enrich_databricks_ticket(settings, ticket_id, "alice.smith@example.com")

    ticket = Ticket.objects.get(pk=ticket_id)
    assert (ticket.finops_team, ticket.finops_owner) == ("sales-data", "on-call")
    assert "FileNotFoundException" in ticket.error_message  # the run was read


def test_a_databricks_run_of_another_workspace_is_not_read_for_its_error(webhook_client, settings):
    """A run id is unique within a workspace only: DATABRICKS_HOST's workspace holds another
    run under the id a notification from another workspace names. Its error is not fetched
    from there (it would be that other run's), and the analysis says why."""
    task_payload = local_payload("databricks_task_run_on_failure.json")
    parent, attempt = (int(task_payload["run"][key]) for key in ("parent_run_id", "run_id"))
    webhook_client(DATABRICKS, task_payload)
    ticket = Ticket.objects.get()
    recorded = str(ticket.affected_entity["workspace_id"])
    assert recorded not in ("", "unknown", "42")

    with FakeDatabricks() as databricks:
        settings.DATABRICKS_HOST, settings.DATABRICKS_TOKEN = databricks.url, databricks.token
        settings.DATABRICKS_WORKSPACE_ID = "42"
        databricks.add_run(
            job_run(run_id=parent, tasks=[task("ingest_orders", attempt, "FAILED", "Other")])
        )
        databricks.outputs[attempt] = {"error": "java.io.FileNotFoundException: /mnt/raw/x.csv"}
        found = enrichment_service.enrich(ticket)

        assert not databricks.requests
    assert found.error_message == ""
    assert found.missing == [
        f"the run's error was not fetched: the run is of Databricks workspace {recorded}, and "
        "DATABRICKS_HOST reads workspace 42 (DATABRICKS_WORKSPACE_ID, else its Azure host name): "
        "the same run id there is another run"
    ]


@pytest.fixture
def adf_api(settings, monkeypatch):
    """The ARM API of the fixture alert's subscription (tests/payloads/azure), logged in to
    through a local Entra ID: what ADF enrichment reads."""
    subscription = "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e"
    with (
        FakeAzureAd(access_token="arm-token") as aad,
        FakeAzureManagement(subscription, token="arm-token") as arm,
    ):
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", aad.ca_bundle)
        settings.AZURE_TENANT_ID = aad.tenant_id
        settings.AZURE_CLIENT_ID = aad.client_id
        settings.AZURE_CLIENT_SECRET = aad.client_secret
        settings.AZURE_SUBSCRIPTION_ID = subscription
        settings.AZURE_MANAGEMENT_URL = arm.url
        settings.AZURE_AUTHORITY_HOST = aad.authority
        settings.AZURE_DISABLE_INSTANCE_DISCOVERY = True
        yield arm


def factory_metric_alert(metric: str, dimensions: list[dict[str, str]]) -> dict:
    alert = local_payload("azure/adf_metric_pipeline_failed_runs.json")
    condition = alert["data"]["alertContext"]["condition"]["allOf"][0]
    condition["metricName"], condition["dimensions"] = metric, dimensions
    return alert


def test_a_trigger_failure_alert_is_analysed_with_the_trigger_runs_error(webhook_client, adf_api):
    """An alert on `TriggerFailedRuns` names a trigger, not a pipeline: the error is read from
    the trigger's failed run (it was looked up as a pipeline named after the alert rule, and
    never found)."""
    name = [{"name": "Name", "value": "tr_orders_landed"}]
    webhook_client(AZURE, factory_metric_alert("TriggerFailedRuns", name))
    ticket = Ticket.objects.get()
    failed = adf_trigger_run(
        "tr_orders_landed",
        message="Storage event subscription was deleted; the trigger cannot fire",
        at=ticket.first_seen - timedelta(minutes=3),
    )
    adf_api.add_trigger_run("rg-data-platform", "adf-sales-prod", failed)

    found = enrichment_service.enrich(ticket)

    assert ticket.error_message.startswith("ADF trigger 'tr_orders_landed'")
    assert found.missing == []
    assert found.error_message.endswith(
        "Storage event subscription was deleted; the trigger cannot fire"
    )
    assert found.details["trigger_run_id"] == failed["triggerRunId"]


def test_an_adf_log_alert_from_a_central_workspace_reads_the_run_in_the_factorys_group(
    webhook_client, adf_api
):
    """A log alert queries a Log Analytics workspace, which a platform keeps in a group of its
    own: the factory its rows name by `_ResourceId` is read (and rerun) in the factory's
    resource group, not the workspace's."""
    alert = local_payload("azure/adf_log_v2_pipeline_run.json")
    workspace = (
        "/subscriptions/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e/resourcegroups/rg-monitoring"
        "/providers/microsoft.operationalinsights/workspaces/law-central"
    )
    factory = (
        "/subscriptions/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e/resourcegroups/rg-data-platform"
        "/providers/microsoft.datafactory/factories/adf-sales-prod"
    )
    alert["data"]["essentials"].update(alertTargetIDs=[workspace], configurationItems=[])
    alert["data"]["alertContext"]["condition"]["allOf"][0]["dimensions"] = [
        {"name": "PipelineName", "value": "pl_orders"},
        {"name": "_ResourceId", "value": factory},
    ]
    webhook_client(AZURE, alert)
    ticket = Ticket.objects.get()
    where = ("rg-data-platform", "adf-sales-prod")
    run = adf_pipeline_run(
        "run-orders",
        "pl_orders",
        run_start=ticket.first_seen - timedelta(minutes=20),
        resource_group=where[0],
        factory=where[1],
    )
    adf_api.add_pipeline_run(*where, run)
    adf_api.add_activity_runs(
        *where,
        "run-orders",
        [adf_activity_run(run, "Copy_Orders", "Failed", message="Login failed for user 'etl'.")],
    )

    found = enrichment_service.enrich(ticket)

    assert ticket.affected_entity["resource_group"] == "rg-data-platform"
    assert found.missing == []
    assert found.error_message.endswith("Login failed for user 'etl'.")


def test_an_activity_failure_alert_naming_no_pipeline_finds_the_run_the_activity_failed_in(
    webhook_client, adf_api
):
    """`ActivityFailedRuns` split by the activity's name alone names no pipeline: the error is
    that of the newest failed run in which that activity failed (another pipeline's newer
    failure is not it)."""
    name = [{"name": "Name", "value": "Copy_Orders"}]
    webhook_client(AZURE, factory_metric_alert("ActivityFailedRuns", name))
    ticket = Ticket.objects.get()
    started = ticket.first_seen - timedelta(minutes=20)
    where = ("rg-data-platform", "adf-sales-prod")
    ours = adf_pipeline_run(
        "run-orders", "pl_orders", run_start=started, resource_group=where[0], factory=where[1]
    )
    newer = adf_pipeline_run("run-other", "pl_other", run_start=started + timedelta(minutes=5))
    for run, activity, error in (
        (ours, "Copy_Orders", "Login failed for user 'etl_reader'."),
        (newer, "Lookup_Watermark", "The table 'watermarks' does not exist."),
    ):
        adf_api.add_pipeline_run(*where, run)
        adf_api.add_activity_runs(
            *where,
            run["runId"],
            [adf_activity_run(run, activity, "Failed", error_code="2200", message=error)],
        )

    found = enrichment_service.enrich(ticket)
    unsplit = enrichment_service.enrich(
        Ticket(
            pipeline=ticket.pipeline,
            processing_mode="adf",
            affected_entity=ticket.affected_entity,
            first_seen=ticket.first_seen,
            details={"needs_enrichment": True, "named_after_alert_rule": True},
        )
    )

    assert ticket.error_message.startswith(
        "An ADF pipeline in data factory 'adf-sales-prod' failed at activity 'Copy_Orders'"
    )
    assert found.missing == []
    assert found.details["pipeline_run_id"] == "run-orders"
    assert "Login failed for user 'etl_reader'" in found.error_message
    assert unsplit.missing == [
        "the alert names no pipeline, activity, trigger or run: split a metric alert's rule by "
        "the Name dimension, or have a log alert's query return PipelineName and RunId"
    ]


def test_finding_and_reading_an_adf_run_share_one_time_budget(webhook_client, adf_api, settings):
    """ENRICHMENT_TIMEOUT_SECONDS bounds the whole fetch: the look-up of the failed run and the
    read of its error had it each, so an analysis waited up to twice as long."""
    settings.ENRICHMENT_TIMEOUT_SECONDS = 1
    webhook_client(AZURE, local_payload("azure/adf_metric_pipeline_failed_runs.json"))
    ticket = Ticket.objects.get()
    where = ("rg-data-platform", "adf-sales-prod")
    run = adf_pipeline_run(
        "run-slow",
        "pl_sales_daily_load",
        run_start=ticket.first_seen - timedelta(minutes=20),
        resource_group=where[0],
        factory=where[1],
    )
    adf_api.add_pipeline_run(*where, run)
    adf_api.stall(0.5, times=1, path_contains="queryPipelineRuns")
    adf_api.stall(0.7, times=1, path_contains="/pipelineruns/run-slow")

    found = enrichment_service.enrich(ticket)

    # Each call alone ends within the second; together they do not (what was left when the
    # look-up ended runs out while the read waits, or nothing was left for it).
    assert found.error_message == ""
    assert found.missing[0].startswith(
        (
            "could not fetch the pipeline run's error: ADF API: timed out",
            "no time was left to read the error of run run-slow",
        )
    )
    assert len(adf_api.requests_to("queryPipelineRuns")) == 1


def test_resolution_with_nothing_to_resolve_is_ignored(webhook_client):
    success = {
        **shared_payload("databricks_job_run_on_failure.json"),
        "event_type": "jobs.on_success",
    }
    answer = webhook_client(DATABRICKS, success).json()
    assert (answer["outcome"], answer["ticket_id"]) == ("ignored", None)


# --- authentication -----------------------------------------------------------------------


def test_missing_or_wrong_token_is_401_and_stores_nothing(webhook_client):
    body = local_payload("adf_failure.json")
    missing = webhook_client(ADF, body, token="")
    wrong = webhook_client(ADF, body, token="not-the-token")

    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert WebhookDelivery.objects.count() == 0
    assert Ticket.objects.count() == 0
    # Each says what to send, and where the token is set ("missing or wrong webhook token"
    # said neither), naming the source's own setting first.
    assert missing.json()["error"] == (
        "no webhook token: send the X-Webhook-Token header (or ?token= where a sender cannot"
        " set headers) holding WEBHOOK_TOKEN_ADF if the service sets it, else WEBHOOK_TOKEN"
        " (or the one `make run` generated and printed)"
    )
    assert wrong.json()["error"] == (
        "wrong webhook token: the X-Webhook-Token header (or ?token=) must hold"
        " WEBHOOK_TOKEN_ADF if the service sets it, else WEBHOOK_TOKEN (or the one `make run`"
        " generated and printed)"
    )
    azure = webhook_client(AZURE, {}, token="not-the-token").json()["error"]
    assert "WEBHOOK_TOKEN_AZURE_MONITOR if the service sets it" in azure


def test_token_in_query_string_for_azure_action_groups(webhook_client, settings):
    body = shared_payload("azure_common_metric_dynamic_fired.json")
    response = webhook_client(f"{AZURE}?token={settings.WEBHOOK_TOKEN}", body, token="")
    assert response.status_code == 202


def test_databricks_destination_url_carries_its_token_in_the_query(webhook_client, settings):
    """A Databricks webhook destination sends no custom header: the README has its URL carry
    the token, and HTTP Basic credentials (the destination's username and password) are not
    read."""
    settings.WEBHOOK_SOURCE_TOKENS = {"databricks": "databricks-only-token"}
    body = shared_payload("databricks_job_run_on_failure.json")
    basic = "Basic " + base64.b64encode(b"rca:databricks-only-token").decode()

    by_password = webhook_client(DATABRICKS, body, token="", HTTP_AUTHORIZATION=basic)
    by_url = webhook_client(f"{DATABRICKS}?token=databricks-only-token", body, token="")

    assert by_password.status_code == 401
    assert (by_url.status_code, by_url.json()["outcome"]) == (202, "created")


def test_per_source_token_replaces_the_shared_one(webhook_client, settings):
    settings.WEBHOOK_SOURCE_TOKENS = {"airflow": "airflow-only-token"}
    body = local_payload("airflow_failure.json")

    assert webhook_client(AIRFLOW, body).status_code == 401
    assert webhook_client(AIRFLOW, body, token="airflow-only-token").status_code == 202
    assert webhook_client(ADF, local_payload("adf_failure.json")).status_code == 202


# --- bad input ------------------------------------------------------------------------------


def test_oversized_body_is_413_before_anything_is_stored(webhook_client, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 1024
    body = local_payload("adf_failure.json")
    body["error_message"] = "x" * 2000

    response = webhook_client(ADF, body)

    assert response.status_code == 413
    assert "1024" in response.json()["error"]
    assert WebhookDelivery.objects.count() == 0


def test_default_limit_is_one_mebibyte(webhook_client):
    body = local_payload("adf_failure.json")
    body["error_message"] = "x" * (1024 * 1024)
    assert webhook_client(ADF, body).status_code == 413


@pytest.mark.parametrize(
    "raw, reason",
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"", "body is empty"),
        (b" \r\n", "body is empty"),
        (b"\xef\xbb\xbf", "body is empty"),
    ],
)
def test_body_that_is_not_json_is_400_and_stores_nothing(webhook_client, raw, reason):
    """An empty body was "not valid JSON: Expecting value at position 0"."""
    response = webhook_client(ADF, None, raw=raw)

    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert WebhookDelivery.objects.count() == 0


@pytest.mark.parametrize("nesting", ['{"a":', "["])
@pytest.mark.parametrize("path", [ADF, AIRFLOW, AZURE, DATABRICKS])
def test_a_body_nested_deeper_than_any_sender_writes_is_400_and_stores_nothing(
    webhook_client, path, nesting
):
    """600 levels parse in Python (its limit is about 1,000), but walking them to redact the
    body before it is stored ran out of stack: a 500."""
    closing = "}" if nesting.startswith("{") else "]"
    deep = nesting * 600 + "1" + closing * 600
    raw = '{"dag_id": "d", "task_id": "t", "run_id": "r", "exception": "x", "extra": ' + deep + "}"

    response = webhook_client(path, None, raw=raw.encode())

    assert response.status_code == 400
    assert response.json()["error"] == (
        "body is not valid JSON: nested too deeply (more than 100 levels)"
    )
    assert WebhookDelivery.objects.count() == 0


def test_a_deeply_nested_sync_back_body_is_400_too(client, settings):
    settings.JIRA_WEBHOOK_SECRET = "jira-secret-for-tests"
    raw = '{"webhookEvent": "jira:issue_updated", "x": ' + "[" * 600 + "]" * 600 + "}"

    response = client.post(
        "/webhooks/jira/?token=jira-secret-for-tests", data=raw, content_type="application/json"
    )

    assert response.status_code == 400
    assert "nested too deeply" in response.json()["error"]
    assert WebhookDelivery.objects.count() == 0


def test_a_body_as_deep_as_the_limit_is_read(webhook_client):
    body = local_payload("airflow_failure.json")
    extra: object = "leaf"
    for _ in range(98):  # the body itself is the first level, the leaf's object the 100th
        extra = {"a": extra}
    body["extra"] = extra

    assert webhook_client(AIRFLOW, body).status_code == 202


def test_an_empty_sync_back_body_is_400_saying_so(client, settings):
    settings.JIRA_WEBHOOK_SECRET = "jira-secret-for-tests"

    response = client.post(
        "/webhooks/jira/?token=jira-secret-for-tests", data=b"", content_type="application/json"
    )

    assert response.status_code == 400
    assert "body is empty" in response.json()["error"]
    assert WebhookDelivery.objects.count() == 0


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "GZIP, identity"])
@pytest.mark.parametrize("path", [ADF, AZURE, DATABRICKS, AIRFLOW, "/webhooks/jira/"])
def test_a_compressed_body_is_415_naming_its_encoding_and_stores_nothing(
    webhook_client, path, encoding
):
    """A gzip body was "not UTF-8 encoded JSON" (a 400 that hid why). No sender compresses:
    it is refused naming the encoding, before it is read (no zip bomb to bound)."""
    import gzip

    raw = gzip.compress(json.dumps(local_payload("adf_failure.json")).encode())

    response = webhook_client(path, None, raw=raw, HTTP_CONTENT_ENCODING=encoding)

    assert response.status_code == 415
    assert f"Content-Encoding {encoding!r} is not accepted" in response.json()["error"]
    assert WebhookDelivery.objects.count() == 0


def test_an_identity_content_encoding_is_accepted(webhook_client):
    body = local_payload("adf_failure.json")

    response = webhook_client(ADF, body, HTTP_CONTENT_ENCODING="identity")

    assert response.status_code == 202, response.content


@pytest.mark.parametrize(
    "path, body",
    [
        (ADF, local_payload("adf_failure.json")),
        (AIRFLOW, local_payload("airflow_failure.json")),
        (DATABRICKS, shared_payload("databricks_job_run_on_failure.json")),
        (AZURE, shared_payload("azure_common_metric_dynamic_fired.json")),
    ],
)
def test_a_body_starting_with_a_utf8_byte_order_mark_is_accepted(webhook_client, path, body):
    """Some senders write a BOM; it was a 400 "Unexpected UTF-8 BOM"."""
    raw = b"\xef\xbb\xbf" + json.dumps(body).encode()

    response = webhook_client(path, None, raw=raw)

    assert response.status_code == 202, response.content
    assert response.json()["outcome"] == "created"


def _with_essentials(**fields: object) -> dict:
    body = shared_payload("azure_common_metric_dynamic_fired.json")
    body["data"]["essentials"].update(fields)
    return body


@pytest.mark.parametrize(
    "path, body, reason",
    [
        (
            ADF,
            {"pipeline": "p", "error_message": "boom"},
            "missing required field 'run_id' (or 'pipelineRunId' or 'runId')",
        ),
        (ADF, {"pipeline": "p", "run_id": "r"}, "missing required field 'error_message'"),
        (ADF, [1, 2, 3], "must be a JSON object"),
        (AIRFLOW, {"dag_id": "d", "task_id": "t", "run_id": "r"}, "'exception'"),
        (AIRFLOW, {"dag_id": "d", "run_id": "r", "exception": "x"}, "'task_id'"),
        (AIRFLOW, {**local_payload("airflow_failure.json"), "try_number": "two"}, "try_number"),
        (
            AIRFLOW,
            {**local_payload("airflow_failure.json"), "map_index": "first"},
            "field 'map_index' must be a whole number",
        ),
        (
            AIRFLOW,
            {**local_payload("airflow_failure.json"), "map_index": 2.5},
            "field 'map_index' must be a whole number",
        ),
        (
            AIRFLOW,
            {**local_payload("airflow_legacy_failure.json"), "end_date": None, "timestamp": "x"},
            "field 'timestamp' is not an ISO 8601 timestamp",
        ),
        (
            AIRFLOW,
            {**local_payload("airflow_failure.json"), "logical_date": None, "execution_date": "x"},
            "field 'execution_date' is not an ISO 8601 timestamp",
        ),
        (DATABRICKS, {"event_type": "jobs.on_failure", "job": {"job_id": 1}}, "'run'"),
        (DATABRICKS, {"job": {"job_id": 1}, "run": {"run_id": 2}}, "'event_type'"),
        (DATABRICKS, {"event_type": "x", "run": {}, "job": {"job_id": 1}}, "'run.run_id'"),
        (AZURE, {"schemaId": "somethingElse", "data": {}}, "schemaId"),
        (AZURE, {"schemaId": "azureMonitorCommonAlertSchema", "data": {}}, "essentials"),
        (
            AZURE,
            _with_essentials(severity="Sev9"),
            "field 'data.essentials.severity' must be Sev0, Sev1, Sev2, Sev3 or Sev4, not 'Sev9'",
        ),
    ],
)
def test_valid_json_with_wrong_schema_is_400_kept_as_rejected(webhook_client, path, body, reason):
    response = webhook_client(path, body)

    assert response.status_code == 400
    assert reason in response.json()["error"]
    delivery = WebhookDelivery.objects.get(tracking_id=response.json()["tracking_id"])
    assert delivery.status == DeliveryStatus.REJECTED
    assert reason in delivery.reason
    assert Ticket.objects.count() == 0


@pytest.mark.parametrize(
    "path, body, field",
    [
        (AIRFLOW, {**local_payload("airflow_failure.json"), "dag_id": 123}, "dag_id"),
        (AIRFLOW, {**local_payload("airflow_failure.json"), "task_id": 7}, "task_id"),
        (AIRFLOW, {**local_payload("airflow_failure.json"), "run_id": 20251210}, "run_id"),
        (AIRFLOW, {**local_payload("airflow_failure.json"), "exception": 1}, "exception"),
        (AIRFLOW, {**local_payload("airflow_failure.json"), "deployment": 2}, "deployment"),
        (ADF, {**local_payload("adf_failure.json"), "pipeline": 123}, "pipeline"),
        (ADF, {**local_payload("adf_failure.json"), "run_id": 42}, "run_id"),
        (ADF, {**local_payload("adf_failure.json"), "error_code": 2200}, "error_code"),
        (ADF, {**local_payload("adf_failure_camelcase.json"), "pipelineName": 5}, "pipelineName"),
    ],
)
def test_a_number_for_a_text_field_of_our_own_bodies_is_refused_naming_it(
    webhook_client, path, body, field
):
    """`"dag_id": 123` opened a ticket for the DAG "123": the schema says string, and what sends
    these bodies (the Airflow callback, ADF's expressions) sends strings."""
    response = webhook_client(path, body)

    assert response.status_code == 400, response.content
    assert response.json()["error"] == f"field '{field}' must be a string"
    assert Ticket.objects.count() == 0


def test_a_database_error_that_is_not_an_outage_is_a_500_not_a_retry_later(webhook_client):
    """Only an unreachable database is a 503 "retry later"; a statement the database refuses is
    a bug, answered and logged as one, and nothing is half-written."""
    from django.db import connection
    from django.test import Client

    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE integrations_webhookdelivery ADD CONSTRAINT refuse_every_row"
            " CHECK (false) NOT VALID"
        )
    body = json.dumps(local_payload("adf_failure.json"))
    response = Client(raise_request_exception=False).post(
        ADF,
        data=body,
        content_type="application/json",
        HTTP_X_WEBHOOK_TOKEN=settings.WEBHOOK_TOKEN,
    )
    assert response.status_code == 500
    assert response.json() == {"error": "internal server error"}
    assert Ticket.objects.count() == 0


def test_get_is_not_allowed_and_says_so_in_json(client):
    response = client.get(ADF)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json() == {"error": "method GET not allowed: POST the body"}


def test_a_webhook_path_without_its_trailing_slash_is_the_same_webhook(webhook_client):
    response = webhook_client(ADF.rstrip("/"), local_payload("adf_failure.json"))
    assert response.status_code == 202
    assert response.json()["outcome"] == "created"
    assert webhook_client(ADF, local_payload("adf_failure.json")).json()["outcome"] == "duplicate"


def test_an_api_path_without_its_trailing_slash_is_served_not_redirected(client):
    """A 301 is followed with a GET and no body: a script's POST would be lost."""
    from tests.api import jwt_client, make_user

    api = jwt_client(make_user("responder"))
    listed = api.get("/api/v1/tickets")
    assert listed.status_code == 200 and "results" in listed.json()
    refused = api.post("/api/v1/log-analyses", {"url": "ftp://x"}, format="json")
    assert refused.status_code == 400 and "error" in refused.json()
    page = client.get("/charts")  # a page keeps Django's redirect
    assert page.status_code == 301 and page["Location"] == "/charts/"


def test_an_unknown_webhook_or_api_path_is_a_json_404_and_a_page_stays_html(client):
    for path in ("/webhooks/nosuch/", "/api/v1/nope/"):
        response = client.post(path, data=b"{}", content_type="application/json")
        assert response.status_code == 404
        assert response.json() == {"error": f"no such endpoint: {path}"}
    page = client.get("/no-such-page/")
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")


def test_a_host_missing_from_allowed_hosts_is_a_json_400_naming_it(
    webhook_client, client, settings
):
    """A new deployment's first webhooks often reach it by a name ALLOWED_HOSTS lacks: the
    sender was answered an HTML page saying only "Bad Request", nothing of why."""
    settings.ALLOWED_HOSTS = ["rca.example.com"]
    host = "rca.internal.example.net"
    answer = webhook_client(ADF, local_payload("adf_failure.json"), HTTP_HOST=host)
    assert answer.status_code == 400
    assert answer.json() == {
        "error": f"Invalid HTTP_HOST header: '{host}'. You may need to add '{host}' to "
        "ALLOWED_HOSTS."
    }
    assert not WebhookDelivery.objects.exists()
    listed = client.get("/api/v1/tickets/", HTTP_HOST=host)
    assert listed.status_code == 400 and "ALLOWED_HOSTS" in listed.json()["error"]
    page = client.get("/login/", HTTP_HOST=host)
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")


def test_nul_characters_are_stored_safely(webhook_client):
    body = local_payload("adf_failure.json")
    body["error_message"] = "bad\u0000byte in row 7"
    response = webhook_client(ADF, body)
    assert response.status_code == 202
    assert Ticket.objects.get().error_message == "badbyte in row 7"


def test_webhook_token_is_never_stored_with_the_delivery(webhook_client, settings):
    webhook_client(f"{ADF}?token={settings.WEBHOOK_TOKEN}", local_payload("adf_failure.json"))
    delivery = WebhookDelivery.objects.get()
    assert settings.WEBHOOK_TOKEN not in str(delivery.headers)
    assert settings.WEBHOOK_TOKEN not in delivery.raw_body


@pytest.mark.parametrize("field", ["run_start", "run_end"])
def test_an_adf_timestamp_that_is_not_one_is_named_whichever_it_is(webhook_client, field):
    body = local_payload("adf_failure.json")
    body.update(run_start="2025-12-10T12:00:00Z", run_end="2025-12-10T12:05:00Z")
    body[field] = "yesterday"
    answer = webhook_client("/webhooks/adf/", body)
    assert answer.status_code == 400
    assert f"field '{field}' is not an ISO 8601 timestamp" in answer.json()["error"]
