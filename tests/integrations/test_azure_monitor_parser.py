"""Azure Monitor webhook parser: the published sample bodies, ADF alerts, and hostile input.

Pure parsing, no database: runs with `-p no:django`.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest

from integrations.events import EventKind, FailureEvent, ParseError, Severity
from integrations.parsers.azure_monitor import parse_azure_monitor

try:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    HAVE_HYPOTHESIS = True
except ImportError:  # pragma: no cover - the property tests are skipped without hypothesis
    HAVE_HYPOTHESIS = False

PAYLOADS = Path(__file__).resolve().parents[1] / "payloads" / "azure"
SHARED_PAYLOADS = (
    Path(
        os.environ.get(
            "SHARED_FIXTURES", Path(__file__).resolve().parents[3] / "shared" / "fixtures"
        )
    )
    / "payloads"
)
SHARED_FILES = [
    "azure_common_log_v2_scheduled_query_fired.json",
    "azure_common_metric_dynamic_fired.json",
    "azure_noncommon_metric_alert_static_activated.json",
]

SUB = "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e"
ALERTS = f"/subscriptions/{SUB}/providers/Microsoft.AlertsManagement/alerts"
SHARED_ALERT = (
    "/subscriptions/11111111-1111-1111-1111-111111111111/providers/Microsoft.AlertsManagement"
    "/alerts/12345678-1234-1234-1234-1234567890ab"
)
SHARED_RULE_AND_RESOURCE = (
    "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/test-RG/providers"
    "/microsoft.insights/metricAlerts/test-metricAlertRule"
    "|/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/test-RG/providers"
    "/Microsoft.Storage/storageAccounts/test-storageAccount"
)
ADF_RUN_ID = "3b6f1c2e-9d4a-4f7b-8e21-5c0d9a7e4b13"
VM = (
    f"/subscriptions/{SUB}/resourceGroups/test-RG/providers/Microsoft.Compute"
    "/virtualMachines/test-VM"
)
WORKSPACE = (
    f"/subscriptions/{SUB}/resourceGroups/test-RG/providers"
    "/Microsoft.OperationalInsights/workspaces/test-logAnalyticsWorkspace"
)

FAILURE, RESOLVED = EventKind.FAILURE, EventKind.RESOLVED
MONITOR, ADF = "azure-monitor", "adf"

# file -> (kind, processing_mode, pipeline, run_key, severity)
EXPECTED: dict[str, tuple[EventKind, str, str, str, Severity | None]] = {
    "common_log_v1_fired.json": (
        FAILURE,
        MONITOR,
        "test-logAlertRule-v1-metricMeasurement",
        f"azure:test-logAlertRule-v1-metricMeasurement|{ALERTS}/bbbb1111-cc22-3333-44dd-555555eeeeee",
        Severity.MEDIUM,
    ),
    "common_activity_log_administrative.json": (
        RESOLVED,
        MONITOR,
        "test-activityLogAlertRule",
        f"azure:test-activityLogAlertRule|{ALERTS}/cccc2222-dd33-4444-55ee-666666ffffff",
        None,  # Sev4, as every activity log alert: its event's level (Informational) says none
    ),
    "common_activity_log_policy.json": (
        FAILURE,
        MONITOR,
        "test-policyAuditAlertRule",
        f"azure:test-policyAuditAlertRule|{ALERTS}/aaaa1111-bb22-cc33-dd44-eeeeee555555",
        Severity.LOW,
    ),
    "common_activity_log_autoscale.json": (
        RESOLVED,
        MONITOR,
        "test-autoscaleAlertRule",
        f"azure:test-autoscaleAlertRule|{ALERTS}/bbbb2222-cc33-dd44-ee55-ffffff666666",
        None,  # Sev4, as every activity log alert: its event's level (Informational) says none
    ),
    "common_activity_log_security.json": (
        FAILURE,
        MONITOR,
        "test-securityAlertRule",
        f"azure:test-securityAlertRule|{ALERTS}/cccc4444-dd55-ee66-ff77-aaaaaa888888",
        Severity.HIGH,
    ),
    "common_service_health.json": (
        FAILURE,
        MONITOR,
        "test-ServiceHealthAlertRule",
        "azure:test-ServiceHealthAlertRule|servicehealth:ABC1-DEF",
        Severity.MEDIUM,
    ),
    "common_resource_health.json": (
        FAILURE,
        MONITOR,
        "test-ResourceHealthAlertRule",
        f"azure:test-ResourceHealthAlertRule|{ALERTS}/dddd6666-ee77-ff88-aa99-bbbbbb000000",
        Severity.HIGH,
    ),
    "common_smart_detector.json": (
        FAILURE,
        MONITOR,
        "Failure Anomalies - test-applicationInsights",
        "azure:Failure Anomalies - test-applicationInsights"
        f"|{ALERTS}/aaaa7777-bb88-cc99-dd00-eeeeee111111",
        Severity.LOW,
    ),
    "common_metric_static_resolved.json": (
        RESOLVED,
        MONITOR,
        "WCUS-R2-Gen2",
        f"azure:WCUS-R2-Gen2|{ALERTS}/b9569717-bc32-442f-add5-83a997729330",
        Severity.LOW,
    ),
    "noncommon_metric_alert_resolved.json": (
        RESOLVED,
        MONITOR,
        "test-metricAlertRule",
        f"azure:{SHARED_RULE_AND_RESOURCE}|2021-11-15T09:50:12.4417312Z",
        Severity.LOW,
    ),
    "noncommon_log_alert.json": (
        FAILURE,
        MONITOR,
        "test-logAlertRule-v1-numResults",
        f"azure:test-logAlertRule-v1-numResults|{WORKSPACE}|2021-11-16T15:15:24Z",
        Severity.LOW,
    ),
    "noncommon_activity_log.json": (
        RESOLVED,
        MONITOR,
        "Microsoft.Compute/virtualMachines/restart/action",
        "azure:Microsoft.Compute/virtualMachines/restart/action"
        f"|{VM}|bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb",
        None,
    ),
    "adf_metric_pipeline_failed_runs.json": (
        FAILURE,
        ADF,
        "pl_sales_daily_load",
        f"azure:adf-sales-prod-pipeline-failed-runs|{ALERTS}/4f2c1a9e-7b3d-4e8a-9c61-2d5e8f0a1b7c",
        Severity.HIGH,
    ),
    # A factory metric that counts no failure: a metric alert, not a failed pipeline.
    "adf_metric_integration_runtime_cpu.json": (
        FAILURE,
        MONITOR,
        "adf-sales-prod-shir-cpu-high",
        f"azure:adf-sales-prod-shir-cpu-high|{ALERTS}/7d3e2b1a-5c4f-4a9e-8b6d-1f0e9c8a7b65",
        Severity.MEDIUM,
    ),
    "adf_log_v2_pipeline_run.json": (
        FAILURE,
        ADF,
        "pl_sales_daily_load",
        f"adf:{ADF_RUN_ID}",
        Severity.MEDIUM,
    ),
    "adf_log_v1.json": (FAILURE, ADF, "pl_sales_daily_load", f"adf:{ADF_RUN_ID}", Severity.MEDIUM),
}

SHARED_EXPECTED: dict[str, tuple[EventKind, str, str, str, Severity | None]] = {
    "azure_common_log_v2_scheduled_query_fired.json": (
        FAILURE,
        MONITOR,
        "test-logAlertRule-v2",
        f"azure:test-logAlertRule-v2|{SHARED_ALERT}",
        Severity.LOW,
    ),
    "azure_common_metric_dynamic_fired.json": (
        FAILURE,
        MONITOR,
        "test-metricAlertRule",
        f"azure:test-metricAlertRule|{SHARED_ALERT}",
        Severity.LOW,
    ),
    "azure_noncommon_metric_alert_static_activated.json": (
        FAILURE,
        MONITOR,
        "test-metricAlertRule",
        f"azure:{SHARED_RULE_AND_RESOURCE}|2021-11-15T09:35:12.9703687Z",
        Severity.LOW,
    ),
}


def load(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / name).read_text())


def load_shared(name: str) -> dict[str, Any]:
    path = SHARED_PAYLOADS / name
    if not path.exists():
        pytest.skip(f"shared fixture {path} not present")
    return json.loads(path.read_text())


def changed(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `body` with `a.b[0].c` set to `value` (or deleted, for `DELETE`)."""
    copied = copy.deepcopy(body)
    steps = [
        int(step) if step.isdigit() else step
        for step in path.replace("[", ".").replace("]", "").split(".")
    ]
    target: Any = copied  # a dict or a list, step by step
    for step in steps[:-1]:
        target = target[step]
    if value is DELETE:
        del target[steps[-1]]
    else:
        target[steps[-1]] = value
    return copied


DELETE = object()


def assert_well_formed(event: FailureEvent) -> None:
    assert event.source == "azure-monitor"
    assert event.kind in (EventKind.FAILURE, EventKind.RESOLVED, EventKind.IGNORED)
    assert event.pipeline and len(event.pipeline) <= 500
    assert event.run_key and len(event.run_key) <= 600
    assert event.resolve_key and len(event.resolve_key) <= 600
    assert event.occurrence_key and len(event.occurrence_key) <= 700
    assert len(event.error_message) <= 16_000
    assert "\x00" not in event.error_message
    assert all(url.startswith(("http://", "https://")) for url in event.links.values())
    json.dumps(event.summary(), allow_nan=False)  # JSON-safe, storable as jsonb


# --- every fixture -----------------------------------------------------------------------------


def check_expected(event: FailureEvent, expected: tuple) -> None:
    kind, processing_mode, pipeline, run_key, severity = expected
    assert_well_formed(event)
    assert event.kind is kind
    assert event.processing_mode == processing_mode
    assert event.pipeline == pipeline
    assert event.run_key == run_key
    assert event.severity_hint == severity
    assert event.occurred_at is not None and event.occurred_at.tzinfo is not None
    assert event.error_message


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parses_to_expected_event(name: str) -> None:
    check_expected(parse_azure_monitor(load(name)), EXPECTED[name])


@pytest.mark.parametrize("name", SHARED_FILES)
def test_shared_fixture_parses_as_is(name: str) -> None:
    check_expected(parse_azure_monitor(load_shared(name)), SHARED_EXPECTED[name])


def test_every_fixture_file_has_expectations() -> None:
    assert {path.name for path in PAYLOADS.glob("*.json")} == set(EXPECTED)


MESSAGE_FACTS = {
    "common_log_v1_fired.json": [
        "Perf | where ObjectName",
        "returned 2 result(s)",
        "Less Than 10000",
        "Computer=INC-Gen2Alert",
    ],
    "common_activity_log_administrative.json": [
        "virtualMachines/restart/action",
        "status Succeeded",
        "caller user@contoso.com",
    ],
    "common_activity_log_policy.json": [
        "AuditIfNotExists",
        "SecurityCenterBuiltIn",
        "policies/audit/action",
    ],
    "common_activity_log_autoscale.json": ["instances 9 -> 10", "Scaleup/Action"],
    "common_activity_log_security.json": ["threatStatus=Quarantined", "compromisedEntity=testVM"],
    "common_service_health.json": [
        "Azure Data Factory - East US - Mitigated",
        "ABC1-DEF",
        "pipeline run failures",
        "East US",
    ],
    "common_resource_health.json": ["from Available to Unavailable", "cause UserInitiated"],
    "common_smart_detector.json": [
        "Dependency Performance Degradation Detector",
        "0.45 sec",
        "0.27 sec",
    ],
    "common_metric_static_resolved.json": [
        "resolved",
        "'Percentage CPU'",
        "7.727",
        "GreaterThan 25",
    ],
    "noncommon_metric_alert_resolved.json": ["resolved", "'Transactions'", "ApiName=GetBlob"],
    "noncommon_log_alert.json": [
        "query `Heartbeat`",
        "returned 1 result(s)",
        "Computer=test-computer",
    ],
    "noncommon_activity_log.json": ["restart/action", "caller user-email@domain.com"],
}


@pytest.mark.parametrize(("name", "facts"), sorted(MESSAGE_FACTS.items()))
def test_error_message_states_the_concrete_facts(name: str, facts: list[str]) -> None:
    message = parse_azure_monitor(load(name)).error_message
    for fact in facts:
        assert fact in message
    assert "<p>" not in message and "\n" not in message


def test_common_fields_fill_resource_details_and_links() -> None:
    event = parse_azure_monitor(load_shared("azure_common_log_v2_scheduled_query_fired.json"))
    assert event.resource["subscription_id"] == "11111111-1111-1111-1111-111111111111"
    assert event.resource["resource_group"] == "test-RG"
    assert event.resource["resource_name"] == "test-logAnalyticsWorkspace"
    assert event.resource["dimensions"] == {"Computer": "test-computer"}
    assert event.resource["configuration_items"] == ["test-computer"]
    assert event.resource["alert_id"] == SHARED_ALERT
    assert event.details["operator"] == "GreaterThan"
    assert event.details["threshold"] == "0"
    assert event.details["metric_value"] == 3.0
    assert event.details["monitoring_service"] == "Log Alerts V2"
    assert set(event.links) == {
        "search_results_ui",
        "filtered_search_results_ui",
        "search_results_api",
        "filtered_search_results_api",
    }
    assert event.occurrence_key == (
        f"azure:test-logAlertRule-v2|{SHARED_ALERT}:2021-11-16T11:47:41.4728231Z"
    )


def test_older_metric_schema_keeps_portal_link_and_stated_resource() -> None:
    event = parse_azure_monitor(load_shared("azure_noncommon_metric_alert_static_activated.json"))
    assert event.links["portal"].startswith("https://portal.azure.com/")
    assert event.resource["resource_type"] == "Microsoft.Storage/storageAccounts"
    assert event.details["metric_name"] == "Transactions"
    assert event.details["metric_value"] == 100


# --- Azure Data Factory --------------------------------------------------------------------------


def test_adf_metric_alert_names_the_pipeline_from_the_name_dimension() -> None:
    event = parse_azure_monitor(load("adf_metric_pipeline_failed_runs.json"))
    assert event.processing_mode == "adf"
    assert event.pipeline == "pl_sales_daily_load"
    assert event.resource["factory"] == event.deployment == "adf-sales-prod"
    assert event.details["failure_type"] == "UserError"
    assert event.details["metric_name"] == "PipelineFailedRuns"
    assert event.error_message.startswith(
        "ADF pipeline 'pl_sales_daily_load' in data factory 'adf-sales-prod' failed."
    )
    assert "UserError" in event.error_message


def trigger_failed_runs_alert(trigger: str = "tr_blob_landed") -> dict[str, Any]:
    return changed(
        load("adf_metric_pipeline_failed_runs.json"),
        "data.alertContext.condition.allOf[0].dimensions",
        [{"name": "Name", "value": trigger}, {"name": "FailureType", "value": "UserError"}],
    )


def test_adf_trigger_metric_alert_is_the_triggers_failure_not_a_pipelines() -> None:
    body = changed(
        trigger_failed_runs_alert(),
        "data.alertContext.condition.allOf[0].metricName",
        "TriggerFailedRuns",
    )

    event = parse_azure_monitor(body)
    resolved = parse_azure_monitor(changed(body, "data.essentials.monitorCondition", "Resolved"))

    assert event.processing_mode == "adf"
    assert event.details["trigger"] == "tr_blob_landed"
    assert event.details["named_after_alert_rule"] is True
    assert event.error_message.startswith(
        "ADF trigger 'tr_blob_landed' in data factory 'adf-sales-prod' failed: a run of the "
        "trigger failed, so the pipelines it starts may not have run. Failure type: UserError."
    )
    assert "pipeline 'tr_blob_landed'" not in event.error_message
    assert resolved.error_message.startswith(
        "ADF trigger 'tr_blob_landed' in data factory 'adf-sales-prod' failure alert resolved."
    )


def test_adf_activity_metric_reads_pipeline_name_and_activity_name() -> None:
    body = changed(
        load("adf_metric_pipeline_failed_runs.json"),
        "data.alertContext.condition.allOf[0]",
        {
            "metricName": "ActivityFailedRuns",
            "metricNamespace": "Microsoft.DataFactory/factories",
            "operator": "GreaterThan",
            "threshold": "0",
            "timeAggregation": "Total",
            "dimensions": [
                {"name": "ActivityType", "value": "Copy"},
                {"name": "PipelineName", "value": "pl_orders"},
                {"name": "FailureType", "value": "SystemError"},
                {"name": "Name", "value": "Copy_Orders"},
            ],
            "metricValue": 2,
        },
    )
    event = parse_azure_monitor(body)
    assert event.pipeline == "pl_orders"
    assert event.details["activity"] == "Copy_Orders"
    assert event.details["activity_type"] == "Copy"
    assert event.details["failure_type"] == "SystemError"


@pytest.mark.parametrize("name", ["adf_log_v2_pipeline_run.json", "adf_log_v1.json"])
def test_adf_log_alert_reads_run_activity_and_error(name: str) -> None:
    event = parse_azure_monitor(load(name))
    assert event.processing_mode == "adf"
    assert event.pipeline == "pl_sales_daily_load"
    assert event.run_key == f"adf:{ADF_RUN_ID}"
    # Ended by the pipeline's success, as the ADF webhook's failure of the run is.
    assert event.resolve_key == "adf:adf-sales-prod:pl_sales_daily_load"
    # One failure of the run (its activity and error), whichever alert of the rule reports it.
    rule = event.resource.get("alert_rule_id") or event.resource["alert_rule"]
    assert event.occurrence_key.startswith(f"azure:{rule}|adf-run:")
    assert event.details["pipeline_run_id"] == ADF_RUN_ID
    assert event.details["activity"] == "Copy_Orders_To_SQL"
    assert event.details["error_code"] == "2200"
    assert event.resource["factory"] == "adf-sales-prod"
    assert event.error_message.startswith("ADF pipeline 'pl_sales_daily_load'")
    assert "ErrorCode=SqlFailedToConnect" in event.error_message
    assert "Cannot connect to SQL Database" in event.error_message
    assert "Login failed for user 'adf_loader'" in event.error_message


def test_adf_trigger_run_log_alert_reads_as_the_triggers_failure_with_its_error() -> None:
    """ADFTriggerRun's rows name the trigger, its error and `TriggerFailureType` (no
    `FailureType`, no pipeline)."""
    body = changed(
        load("adf_log_v2_pipeline_run.json"),
        "data.alertContext.condition.allOf[0]",
        {
            "searchQuery": 'ADFTriggerRun | where Status == "Failed"',
            "operator": "GreaterThan",
            "threshold": "0",
            "timeAggregation": "Count",
            "dimensions": [
                {"name": "TriggerName", "value": "tr_orders_landed"},
                {"name": "ErrorCode", "value": "BlobEventTriggerFailure"},
                {"name": "ErrorMessage", "value": "The storage event subscription was deleted."},
                {"name": "TriggerFailureType", "value": "UserError"},
            ],
            "metricValue": 1.0,
        },
    )

    event = parse_azure_monitor(body)

    assert event.processing_mode == "adf"
    assert event.details["trigger"] == "tr_orders_landed"
    assert event.details["failure_type"] == "UserError"
    assert event.details["needs_enrichment"] is False
    assert event.error_message.startswith("ADF trigger 'tr_orders_landed'")
    assert (
        "may not have run. Error BlobEventTriggerFailure: The storage event subscription was "
        "deleted. Failure type: UserError." in event.error_message
    )


@pytest.mark.parametrize(
    ("query", "mode"),
    [
        ("ADFPipelineRun | where Status == 'InProgress' | where Start < ago(2h)", "azure-monitor"),
        ('ADFPipelineRun | where Status in ("Succeeded", "Cancelled")', "azure-monitor"),
        # "not succeeded" keeps the failures; so does a query that names them.
        ('ADFPipelineRun | where Status != "Succeeded" and Status != "InProgress"', "adf"),
        ('ADFPipelineRun | where Status !in ("Succeeded", "Queued")', "adf"),
        ("ADFPipelineRun | where Status in ('Failed', 'Cancelled')", "adf"),
        ("ADFPipelineRun | summarize count() by PipelineName", "adf"),
    ],
)
def test_an_adf_log_alert_is_a_pipeline_failure_unless_it_keeps_runs_that_did_not_fail(
    query: str, mode: str
) -> None:
    body = changed(
        load("adf_log_v2_pipeline_run.json"),
        "data.alertContext.condition.allOf[0]",
        {
            "searchQuery": query,
            "timeAggregation": "Count",
            "dimensions": [{"name": "PipelineName", "value": "pl_sales_daily_load"}],
            "metricValue": 1,
        },
    )
    assert parse_azure_monitor(body).processing_mode == mode


DIAGNOSTICS_PIPELINE_RUNS = (
    'AzureDiagnostics\n| where ResourceProvider == "MICROSOFT.DATAFACTORY"\n'
    '| where Category == "PipelineRuns" and status_s == "Failed"'
)


def test_an_adf_log_alert_over_azure_diagnostics_reads_the_run_and_its_error() -> None:
    """A factory whose diagnostic setting is in "Azure diagnostics" mode writes its runs to the
    AzureDiagnostics table, with typed columns (`pipelineName_s`, `runId_g`, `error_message_s`)
    and the factory as `Resource`: a log alert over them is the pipeline's failure, as one over
    ADFPipelineRun is (it read as a plain log alert on the workspace)."""
    body = changed(
        load("adf_log_v2_pipeline_run.json"),
        "data.alertContext.condition.allOf[0]",
        {
            "searchQuery": DIAGNOSTICS_PIPELINE_RUNS,
            "timeAggregation": "Count",
            "dimensions": [
                {"name": "Resource", "value": "ADF-SALES-PROD"},
                {"name": "pipelineName_s", "value": "pl_sales_daily_load"},
                {"name": "runId_g", "value": ADF_RUN_ID},
                {"name": "error_errorCode_s", "value": "2200"},
                {"name": "error_message_s", "value": "Cannot connect to SQL Database: 'sqlsrv'."},
                {"name": "failureType_s", "value": "UserError"},
            ],
            "metricValue": 1,
        },
    )
    body["data"]["essentials"]["configurationItems"] = []

    event = parse_azure_monitor(body)

    assert event.processing_mode == "adf"
    assert event.pipeline == "pl_sales_daily_load"
    assert event.run_key == f"adf:{ADF_RUN_ID}"
    assert event.resource["factory"] == "ADF-SALES-PROD"
    assert (event.details["error_code"], event.details["failure_type"]) == ("2200", "UserError")
    assert event.error_message.startswith("ADF pipeline 'pl_sales_daily_load'")
    assert "Cannot connect to SQL Database: 'sqlsrv'." in event.error_message


def test_an_adf_diagnostics_log_alerts_result_rows_name_the_failed_activity() -> None:
    """The legacy log alert carries its AzureDiagnostics rows (ActivityRuns: the pipeline run
    as `pipelineRunId_g`, the activity's error under `error_`)."""
    body = load("adf_log_v1.json")
    context = body["data"]["alertContext"]
    context["SearchQuery"] = (
        'AzureDiagnostics | where Category == "ActivityRuns" | where status_s == "Failed"'
    )
    columns = [
        "TimeGenerated",
        "pipelineName_s",
        "pipelineRunId_g",
        "activityName_s",
        "activityType_s",
        "error_errorCode_s",
        "error_message_s",
        "_ResourceId",
    ]
    row = [
        "2025-03-04T06:10:00Z",
        "pl_sales_daily_load",
        ADF_RUN_ID,
        "Copy_Orders_To_SQL",
        "Copy",
        "2200",
        "Login failed for user 'adf_loader'.",
        f"/subscriptions/{SUB}/resourcegroups/rg/providers/microsoft.datafactory/factories/adf-x",
    ]
    context["SearchResults"]["tables"] = [
        {
            "name": "PrimaryResult",
            "columns": [{"name": name, "type": "string"} for name in columns],
            "rows": [row],
        }
    ]
    body["data"]["essentials"]["configurationItems"] = []
    context["AffectedConfigurationItems"] = []

    event = parse_azure_monitor(body)

    assert event.processing_mode == "adf"
    assert event.run_key == f"adf:{ADF_RUN_ID}"
    assert event.resource["factory"] == "adf-x"
    assert (event.details["activity"], event.details["activity_type"]) == (
        "Copy_Orders_To_SQL",
        "Copy",
    )
    assert "Login failed for user 'adf_loader'." in event.error_message


@pytest.mark.parametrize(
    ("query", "mode"),
    [
        (DIAGNOSTICS_PIPELINE_RUNS, "adf"),
        (
            'AzureDiagnostics | where Category == "PipelineRuns" | where status_s == "InProgress"',
            "azure-monitor",
        ),
        # AzureDiagnostics holds every resource's diagnostics: a Key Vault's is no ADF failure.
        ('AzureDiagnostics | where ResourceProvider == "MICROSOFT.KEYVAULT"', "azure-monitor"),
        # ... nor is one that names the factory's categories in a comment, or leaves it out.
        (
            'AzureDiagnostics\n| where ResourceProvider == "MICROSOFT.KEYVAULT" // not PipelineRuns'
            '\n| where ResultSignature == "Forbidden"',
            "azure-monitor",
        ),
        (
            'AzureDiagnostics | where ResourceProvider != "MICROSOFT.DATAFACTORY" '
            '| where Level == "Error"',
            "azure-monitor",
        ),
        # Synapse's pipeline runs are its own category, in the same table.
        (
            'AzureDiagnostics | where Category == "IntegrationPipelineRuns" '
            '| where Status == "Failed"',
            "azure-monitor",
        ),
        (
            "AzureDiagnostics | where Category in~ ('ActivityRuns', 'PipelineRuns') "
            "| where status_s == 'Failed' // https://aka.ms/adf",
            "adf",
        ),
    ],
)
def test_an_azure_diagnostics_log_alert_is_an_adf_failure_only_over_the_factorys_failed_runs(
    query: str, mode: str
) -> None:
    body = changed(
        load("adf_log_v2_pipeline_run.json"),
        "data.alertContext.condition.allOf[0]",
        {"searchQuery": query, "timeAggregation": "Count", "dimensions": [], "metricValue": 1},
    )
    body["data"]["essentials"]["configurationItems"] = []
    assert parse_azure_monitor(body).processing_mode == mode


def test_same_adf_run_from_two_alert_routes_shares_the_run_key() -> None:
    v1 = parse_azure_monitor(load("adf_log_v1.json"))
    v2 = parse_azure_monitor(load("adf_log_v2_pipeline_run.json"))
    assert v1.run_key == v2.run_key == f"adf:{ADF_RUN_ID}"
    assert v1.occurrence_key != v2.occurrence_key


def test_adf_v1_rows_spanning_several_runs_do_not_claim_one_run() -> None:
    body = load("adf_log_v1.json")
    table = body["data"]["alertContext"]["SearchResults"]["tables"][0]
    second = list(table["rows"][0])
    second[2] = "0f9e8d7c-6b5a-4c3d-2e1f-0a9b8c7d6e5f"
    table["rows"].append(second)
    event = parse_azure_monitor(body)
    assert event.processing_mode == "adf"
    assert (
        event.run_key == f"azure:adf-failed-runs-v1|{ALERTS}/6e2d9f14-3a5b-4c87-9d01-b7e4a2c5f836"
    )
    assert event.pipeline == "pl_sales_daily_load"  # both rows are the same pipeline
    assert "pipeline_run_id" not in event.details


def test_adf_alert_without_pipeline_falls_back_to_the_rule_name() -> None:
    body = changed(
        load("adf_metric_pipeline_failed_runs.json"),
        "data.alertContext.condition.allOf[0].dimensions",
        [],
    )
    event = parse_azure_monitor(body)
    assert event.processing_mode == "adf"
    assert event.pipeline == "adf-sales-prod-pipeline-failed-runs"


def test_older_metric_schema_on_a_factory_is_an_adf_failure() -> None:
    body = load_shared("azure_noncommon_metric_alert_static_activated.json")
    context = body["data"]["context"]
    context["resourceType"] = "Microsoft.DataFactory/factories"
    context["resourceName"] = "adf-sales-prod"
    context["resourceId"] = (
        f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.DataFactory/factories/adf-sales-prod"
    )
    context["condition"]["allOf"][0].update(
        metricName="PipelineFailedRuns",
        metricNamespace="Microsoft.DataFactory/factories",
        dimensions=[{"name": "Name", "value": "pl_finance"}],
    )
    event = parse_azure_monitor(body)
    assert event.processing_mode == "adf"
    assert event.pipeline == "pl_finance"
    assert event.resource["factory"] == "adf-sales-prod"
    assert event.run_key.startswith("azure:") and event.run_key.endswith(
        "|2021-11-15T09:35:12.9703687Z"
    )


# --- resolution ----------------------------------------------------------------------------------


def test_common_resolved_closes_its_fired_counterpart() -> None:
    resolved_body = load("common_metric_static_resolved.json")
    fired_body = changed(resolved_body, "data.essentials.monitorCondition", "Fired")
    del fired_body["data"]["essentials"]["resolvedDateTime"]
    fired, resolved = parse_azure_monitor(fired_body), parse_azure_monitor(resolved_body)
    assert (fired.kind, resolved.kind) == (EventKind.FAILURE, EventKind.RESOLVED)
    assert fired.resolve_key == resolved.resolve_key == fired.run_key
    assert fired.occurrence_key != resolved.occurrence_key
    assert resolved.occurrence_key.endswith(":2019-03-22T14:03:16.2246313Z")
    assert resolved.occurred_at is not None and fired.occurred_at is not None
    assert resolved.occurred_at > fired.occurred_at


def test_older_metric_resolved_matches_the_activated_rule_and_resource() -> None:
    fired = parse_azure_monitor(load_shared("azure_noncommon_metric_alert_static_activated.json"))
    resolved = parse_azure_monitor(load("noncommon_metric_alert_resolved.json"))
    assert resolved.kind is EventKind.RESOLVED
    assert fired.resolve_key == resolved.resolve_key == f"azure:{SHARED_RULE_AND_RESOURCE}"
    assert fired.run_key != resolved.run_key


def test_older_metric_deactivated_is_a_resolution() -> None:
    body = changed(load("noncommon_metric_alert_resolved.json"), "data.status", "Deactivated")
    event = parse_azure_monitor(body)
    assert event.kind is EventKind.RESOLVED
    assert event.resolve_key == f"azure:{SHARED_RULE_AND_RESOURCE}"


def test_adf_resolution_names_its_fired_and_keeps_the_run_key() -> None:
    fired = parse_azure_monitor(load("adf_log_v2_pipeline_run.json"))
    body = changed(
        load("adf_log_v2_pipeline_run.json"), "data.essentials.monitorCondition", "Resolved"
    )
    body["data"]["essentials"]["resolvedDateTime"] = "2025-03-04T06:50:11.1200000Z"
    resolved = parse_azure_monitor(body)
    assert resolved.kind is EventKind.RESOLVED
    # It ends its own Fired's ticket, named by its occurrence, and no other of the pipeline.
    assert resolved.recovers_occurrence == fired.occurrence_key
    assert resolved.resolve_key.startswith("azure:")
    assert resolved.run_key == fired.run_key == f"adf:{ADF_RUN_ID}"
    assert "failure alert resolved" in resolved.error_message


def test_redelivery_gives_the_same_occurrence_key() -> None:
    for name in EXPECTED:
        assert (
            parse_azure_monitor(load(name)).occurrence_key
            == parse_azure_monitor(load(name)).occurrence_key
        )


# --- other published shapes ----------------------------------------------------------------------


def test_log_alert_schema_for_application_insights_is_unwrapped_from_data() -> None:
    legacy = load("noncommon_log_alert.json")
    del legacy["ResourceId"], legacy["WorkspaceId"]
    legacy["ApplicationId"] = "00001111-aaaa-2222-bbbb-3333cccc4444"
    event = parse_azure_monitor({"schemaId": "Microsoft.Insights/LogAlert", "data": legacy})
    assert event.pipeline == "test-logAlertRule-v1-numResults"
    assert event.resource["monitoring_service"] == "Application Insights"
    assert event.run_key == (
        "azure:test-logAlertRule-v1-numResults|00001111-aaaa-2222-bbbb-3333cccc4444"
        "|2021-11-16T15:15:24Z"
    )


def test_log_v1_context_under_platform_service_is_read_as_a_log_alert() -> None:
    body = changed(
        load("common_log_v1_fired.json"), "data.essentials.monitoringService", "Platform"
    )
    event = parse_azure_monitor(body)
    assert "returned 2 result(s)" in event.error_message
    assert event.details["alert_type"] == "Metric measurement"


def test_budget_test_action_without_rule_or_severity() -> None:
    body = {
        "schemaId": "azureMonitorCommonAlertSchema",
        "data": {
            "essentials": {
                "monitoringService": "CostAlerts",
                "firedDateTime": "2025-04-15T17:49:34.022Z",
                "description": "Delivery Confirmation: This is a sample budget alert.",
                "alertId": f"/subscriptions/{SUB}/providers/Microsoft.CostManagement/alerts/Test",
                "alertRule": None,
                "severity": None,
                "signalType": None,
                "monitorCondition": "Fired",
                "alertTargetIDs": None,
                "configurationItems": ["budgets"],
                "originAlertId": None,
            },
            "alertContext": {
                "AlertCategory": "budgets",
                "AlertData": {"BudgetName": "Test_forcasted_budget", "SpentAmount": "$999.99"},
            },
        },
    }
    event = parse_azure_monitor(body)
    assert_well_formed(event)
    assert event.pipeline == "Test_forcasted_budget"  # its budget: the body names no rule
    assert "budget alert from an unnamed rule" in event.error_message
    assert event.severity_hint is None
    assert "Test_forcasted_budget" in event.error_message


def test_service_health_with_impacted_services_as_a_list() -> None:
    body = changed(
        load("common_service_health.json"),
        "data.alertContext.properties.impactedServices",
        [{"ImpactedRegions": [{"RegionName": "Global"}], "ServiceName": "AzureServiceName"}],
    )
    assert_well_formed(parse_azure_monitor(body))


def test_a_health_events_numeric_level_reads_as_its_name_and_its_numeric_source_is_left_out() -> (
    None
):
    message = parse_azure_monitor(load("common_service_health.json")).error_message
    assert "level Warning" in message, message
    assert "level 3" not in message and "from 2 " not in message, message


def test_only_http_links_are_kept() -> None:
    body = load_shared("azure_common_log_v2_scheduled_query_fired.json")
    criterion = body["data"]["alertContext"]["condition"]["allOf"][0]
    criterion["linkToSearchResultsUI"] = "javascript:alert(1)"
    criterion["linkToFilteredSearchResultsUI"] = "ftp://example.com/results"
    criterion["linkToSearchResultsAPI"] = "https://api.loganalytics.io/v1/query with space"
    event = parse_azure_monitor(body)
    assert set(event.links) == {"filtered_search_results_api"}


def test_hostile_sizes_are_bounded() -> None:
    huge = "x" * 2_000_000
    body = load("adf_log_v2_pipeline_run.json")
    essentials = body["data"]["essentials"]
    essentials["alertRule"] = huge
    essentials["alertId"] = "/alerts/" + huge
    essentials["description"] = huge + "\x00"
    criterion = body["data"]["alertContext"]["condition"]["allOf"][0]
    criterion["dimensions"] = [{"name": f"d{i}", "value": huge} for i in range(10_000)]
    criterion["dimensions"].insert(0, {"name": "PipelineRunId", "value": huge})
    event = parse_azure_monitor(body)
    assert_well_formed(event)
    assert len(event.resource["dimensions"]) <= 50


# --- bodies that must be refused -----------------------------------------------------------------

V2 = "azure_common_log_v2_scheduled_query_fired.json"
METRIC = "azure_common_metric_dynamic_fired.json"
OLD_METRIC = "azure_noncommon_metric_alert_static_activated.json"
V2_CRITERION = "data.alertContext.condition.allOf[0]"

BAD_CHANGES = [
    (METRIC, "schemaId", "foo", "unknown schemaId 'foo'"),
    (METRIC, "schemaId", {"id": 1}, "field 'schemaId' must be a string"),
    (METRIC, "schemaId", DELETE, "missing required field 'schemaId'"),
    (METRIC, "data", DELETE, "missing required field 'data'"),
    (METRIC, "data", [], "field 'data' must be a JSON object"),
    (METRIC, "data.essentials", DELETE, "missing required field 'data.essentials'"),
    (METRIC, "data.essentials", "x", "field 'data.essentials' must be a JSON object"),
    (METRIC, "data.essentials.alertId", DELETE, "missing required field 'data.essentials.alertId'"),
    (METRIC, "data.essentials.alertId", "  ", "field 'data.essentials.alertId' must not be empty"),
    (METRIC, "data.essentials.alertId", ["a"], "field 'data.essentials.alertId' must be a string"),
    (METRIC, "data.essentials.monitorCondition", "Exploded", "unknown monitorCondition 'Exploded'"),
    (METRIC, "data.essentials.monitorCondition", DELETE, "'data.essentials.monitorCondition'"),
    (METRIC, "data.essentials.firedDateTime", "yesterday", "'data.essentials.firedDateTime'"),
    (
        METRIC,
        "data.essentials.alertTargetIDs",
        "x",
        "'data.essentials.alertTargetIDs' must be a list",
    ),
    (METRIC, "data.essentials.alertTargetIDs", [{"id": 1}], "'data.essentials.alertTargetIDs[0]'"),
    (METRIC, "data.alertContext", "x", "field 'data.alertContext' must be a JSON object"),
    (METRIC, "data.alertContext.condition", 7, "field 'data.alertContext.condition' must be"),
    (
        METRIC,
        "data.alertContext.condition.allOf",
        5,
        "'data.alertContext.condition.allOf' must be a list",
    ),
    (
        METRIC,
        "data.alertContext.condition.allOf",
        [5],
        "'data.alertContext.condition.allOf[0]' must be",
    ),
    (METRIC, "data.customProperties", "x", "field 'data.customProperties' must be a JSON object"),
    (V2, f"{V2_CRITERION}.dimensions", "x", f"'{V2_CRITERION}.dimensions' must be a list"),
    (
        V2,
        f"{V2_CRITERION}.dimensions",
        [["Computer", "x"]],
        f"'{V2_CRITERION}.dimensions[0]' must be",
    ),
    (V2, f"{V2_CRITERION}.dimensions[0].name", {"x": 1}, f"'{V2_CRITERION}.dimensions[0].name'"),
    (V2, f"{V2_CRITERION}.searchQuery", ["Heartbeat"], f"'{V2_CRITERION}.searchQuery' must be"),
    (OLD_METRIC, "data.status", "Exploded", "unknown status 'Exploded'"),
    (OLD_METRIC, "data.status", DELETE, "missing required field 'data.status'"),
    (OLD_METRIC, "data.context", DELETE, "missing required field 'data.context'"),
    (OLD_METRIC, "data.context.id", DELETE, "missing required field 'data.context.id'"),
    (OLD_METRIC, "data.context.timestamp", 1.5e300, "'data.context.timestamp'"),
    (OLD_METRIC, "data.context.condition.allOf[0].dimensions", "x", "allOf[0].dimensions' must be"),
]


@pytest.mark.parametrize(("name", "path", "value", "message"), BAD_CHANGES)
def test_bad_shared_bodies_are_refused_with_a_useful_message(
    name: str, path: str, value: Any, message: str
) -> None:
    with pytest.raises(ParseError) as raised:
        parse_azure_monitor(changed(load_shared(name), path, value))
    assert message in str(raised.value)


ACTIVITY = "noncommon_activity_log.json"
LOG_V1 = "common_log_v1_fired.json"
LEGACY_LOG = "noncommon_log_alert.json"
LOCAL_BAD_CHANGES = [
    (ACTIVITY, "data.context.activityLog", DELETE, "'data.context.activityLog'"),
    (ACTIVITY, "data.context.activityLog.properties", "x", "properties' must be"),
    (LOG_V1, "data.alertContext.SearchResults.tables", {}, "tables' must be a list"),
    (LOG_V1, "data.alertContext.SearchResults.tables[0].rows[0]", "x", "rows[0]' must be a list"),
    (LOG_V1, "data.alertContext.Dimensions", 3, "'data.alertContext.Dimensions' must be a list"),
    (LOG_V1, "data.alertContext.SearchResults.dataSources", "x", "dataSources' must be a list"),
    (
        "common_activity_log_administrative.json",
        "data.alertContext.authorization",
        [],
        "authorization' must be",
    ),
    (LEGACY_LOG, "AlertRuleName", DELETE, "missing required field 'AlertRuleName'"),
    (LEGACY_LOG, "AlertRuleName", {"a": 1}, "field 'AlertRuleName' must be a string"),
    (LEGACY_LOG, "SearchResult.tables", "x", "field 'SearchResult.tables' must be a list"),
]


@pytest.mark.parametrize(("name", "path", "value", "message"), LOCAL_BAD_CHANGES)
def test_bad_local_bodies_are_refused_with_a_useful_message(
    name: str, path: str, value: Any, message: str
) -> None:
    with pytest.raises(ParseError) as raised:
        parse_azure_monitor(changed(load(name), path, value))
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "must be a JSON object"),
        ("alert", "must be a JSON object"),
        (None, "must be a JSON object"),
        (42, "must be a JSON object"),
        ({}, "missing required field 'schemaId'"),
        ({"schemaId": "AIP Budget Notification", "data": {}}, "'data.BudgetName'"),
        ({"schemaId": "AIP Budget Notification+", "data": {}}, "unknown schemaId"),
        ({"schemaId": "Microsoft.Insights/LogAlert"}, "missing required field 'data'"),
        ({"schemaId": "Microsoft.Insights/LogAlert", "data": {}}, "'data.AlertRuleName'"),
        ({"schemaId": "azureMonitorCommonAlertSchema", "data": None}, "'data'"),
    ],
)
def test_bodies_that_are_not_alerts_are_refused(body: Any, message: str) -> None:
    with pytest.raises(ParseError) as raised:
        parse_azure_monitor(body)
    assert message in str(raised.value)


# --- property tests: nothing but ParseError, whatever the JSON -----------------------------------

if HAVE_HYPOTHESIS:
    json_scalars = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(10**20), max_value=10**20)
        | st.floats(allow_nan=True, allow_infinity=True)
        | st.text(max_size=40)
        | st.sampled_from(["Fired", "Resolved", "Activated", "Sev0", "2021-11-16T11:47:41Z", ""])
    )
    json_values = st.recursive(
        json_scalars,
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=12), children, max_size=4)
        ),
        max_leaves=20,
    )
    schema_ids = st.sampled_from(
        [
            "azureMonitorCommonAlertSchema",
            "AzureMonitorMetricAlert",
            "Microsoft.Insights/activityLogs",
            "Microsoft.Insights/LogAlert",
        ]
    )
    alert_like = st.fixed_dictionaries(
        {"schemaId": schema_ids, "data": json_values},
        optional={"AlertRuleName": json_values, "SearchQuery": json_values},
    )

    def all_fixtures() -> list[dict[str, Any]]:
        bodies = [load(name) for name in sorted(EXPECTED)]
        bodies += [
            json.loads(path.read_text()) for path in sorted(SHARED_PAYLOADS.glob("azure_*.json"))
        ]
        return bodies

    def paths_of(value: Any, prefix: tuple = ()) -> list[tuple]:
        found = [prefix] if prefix else []
        if isinstance(value, dict):
            for key, item in value.items():
                found += paths_of(item, (*prefix, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                found += paths_of(item, (*prefix, index))
        return found

    FIXTURES = all_fixtures()
    FIXTURE_PATHS = [
        (index, path) for index, body in enumerate(FIXTURES) for path in paths_of(body)
    ]

    def parse_or_refuse(body: Any) -> None:
        try:
            event = parse_azure_monitor(body)
        except ParseError as error:
            assert str(error)
        else:
            assert_well_formed(event)

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(json_values)
    def test_arbitrary_json_only_raises_parse_error(body: Any) -> None:
        parse_or_refuse(body)

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(alert_like)
    def test_alert_shaped_json_only_raises_parse_error(body: Any) -> None:
        parse_or_refuse(body)

    @settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        st.lists(
            st.tuples(st.sampled_from(FIXTURE_PATHS), json_values | st.just(DELETE)),
            min_size=1,
            max_size=3,
        )
    )
    def test_mutated_real_fixtures_only_raise_parse_error(mutations: list) -> None:
        first_fixture = mutations[0][0][0]
        body = copy.deepcopy(FIXTURES[first_fixture])
        for (fixture, path), value in mutations:
            if fixture != first_fixture:
                continue
            target = body
            try:
                for step in path[:-1]:
                    target = target[step]
                if value is DELETE:
                    del target[path[-1]]
                else:
                    target[path[-1]] = value
            except (KeyError, IndexError, TypeError):
                continue  # an earlier mutation removed this path
        parse_or_refuse(body)
