"""Azure Monitor alerts that are not pipeline failures: what opens a ticket, what ends one, and
how each kind is explained (parser + `analysis.alert_rca`, pure: runs with `-p no:django`)."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest

from analysis.alert_rca import build_alert_rca, plain
from integrations.events import EventKind, FailureEvent
from integrations.parsers.azure_monitor import parse_azure_monitor

PAYLOADS = Path(__file__).resolve().parents[1] / "payloads" / "azure"
SHARED = (
    Path(
        os.environ.get(
            "SHARED_FIXTURES", Path(__file__).resolve().parents[3] / "shared" / "fixtures"
        )
    )
    / "payloads"
)


def load(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / name).read_text())


def load_shared(name: str) -> dict[str, Any]:
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"shared fixture {path} not present")
    return json.loads(path.read_text())


def context(body: dict[str, Any]) -> dict[str, Any]:
    return body["data"]["alertContext"]


def explained(event: FailureEvent) -> tuple[str, list[str]]:
    rca = build_alert_rca(event.pipeline, event.details, event.resource, event.links)
    assert rca is not None
    return rca.root_cause, rca.recommendations


# --- every kind is named, and explained as the alert it is -------------------------------------

KINDS = {
    "common_log_v1_fired.json": "log_search",
    "common_activity_log_administrative.json": "activity_administrative",
    "common_activity_log_policy.json": "activity_policy",
    "common_activity_log_autoscale.json": "activity_autoscale",
    "common_activity_log_security.json": "activity_security",
    "common_service_health.json": "service_health",
    "common_resource_health.json": "resource_health",
    "common_smart_detector.json": "smart_detector",
    "common_metric_static_resolved.json": "metric",
    "noncommon_metric_alert_resolved.json": "metric",
    "noncommon_log_alert.json": "log_search",
    "noncommon_activity_log.json": "activity_administrative",
}


@pytest.mark.parametrize(("name", "kind"), sorted(KINDS.items()))
def test_every_alert_kind_is_named_and_never_reads_as_a_pipeline(name: str, kind: str) -> None:
    event = parse_azure_monitor(load(name))
    assert event.processing_mode == "azure-monitor"
    assert event.details["alert_kind"] == kind
    root_cause, recommendations = explained(event)
    if name == "noncommon_activity_log.json":  # names no rule: its ticket, its operation
        assert event.pipeline == "Microsoft.Compute/virtualMachines/restart/action"
        assert "from an unnamed rule" in root_cause and f"'{event.pipeline}'" not in root_cause
    else:
        assert f"'{event.pipeline}'" in root_cause  # the rule, by name
    assert "Pipeline" not in root_cause and "pipeline run" not in root_cause
    assert "full run logs" not in " ".join(recommendations)
    assert 3 <= len(recommendations) <= 5


def test_static_metric_alert_states_rule_resource_condition_value_window_dimensions() -> None:
    event = parse_azure_monitor(load_shared("azure_noncommon_metric_alert_static_activated.json"))
    root_cause, recommendations = explained(event)
    assert root_cause.startswith("Metric alert 'test-metricAlertRule' fired on storage account")
    for fact in (
        "'test-storageAccount'",
        "Microsoft.Storage/storageAccounts",
        "resource group 'test-RG'",
        "Transactions",
        "total over 5 minutes",
        "was 100",
        "condition > 0",
        "Dimensions: ApiName=GetBlob",
    ):
        assert fact in root_cause
    assert recommendations[0] == (
        "Open the alert's portal link to see the Transactions chart of the resource around the "
        "alert time."
    )
    assert any("threshold" in rec for rec in recommendations)


def test_dynamic_metric_alert_says_it_left_its_learned_range() -> None:
    event = parse_azure_monitor(load_shared("azure_common_metric_dynamic_fired.json"))
    assert event.details["alert_kind"] == "metric_dynamic"
    root_cause, recommendations = explained(event)
    assert "was 78.09" in root_cause
    assert "dynamic threshold" in root_cause and "Low sensitivity" in root_cause
    assert any("sensitivity" in rec for rec in recommendations)


def test_log_search_v2_states_query_measure_window_and_condition() -> None:
    event = parse_azure_monitor(load_shared("azure_common_log_v2_scheduled_query_fired.json"))
    root_cause, recommendations = explained(event)
    assert "Log search alert 'test-logAlertRule-v2' fired on Log Analytics workspace" in root_cause
    assert "'Heartbeat'" in root_cause
    assert "over 1 hour (2021-11-16T10:17:39Z to 2021-11-16T11:17:39Z)" in root_cause
    assert "condition > 0" in root_cause and "Computer=test-computer" in root_cause
    assert (
        recommendations[0]
        == "Open the alert's search results link to see the rows the query returned."
    )


def test_a_log_querys_comparisons_survive_the_markup_cleaning() -> None:
    body = load_shared("azure_common_log_v2_scheduled_query_fired.json")
    query = "AppRequests | where DurationMs > 5000 and ResultCode >= 500 | where Rows < 3"
    body["data"]["alertContext"]["condition"]["allOf"][0]["searchQuery"] = query
    root_cause, _ = explained(parse_azure_monitor(body))
    assert f"'{query}'" in root_cause


def test_cpu_metric_gets_cpu_advice() -> None:
    body = load("common_metric_static_resolved.json")
    body["data"]["essentials"]["monitorCondition"] = "Fired"
    event = parse_azure_monitor(body)
    assert event.kind is EventKind.FAILURE
    root_cause, recommendations = explained(event)
    assert "Percentage CPU (average over 5 minutes) was 7.727" in root_cause
    assert any(
        rec.startswith("Find what is using the CPU on wcus-r2-gen2") for rec in recommendations
    )


def test_resource_health_user_initiated_points_at_who_stopped_it() -> None:
    root_cause, recommendations = explained(
        parse_azure_monitor(load("common_resource_health.json"))
    )
    assert (
        "virtual machine 'test-VM'" in root_cause and "is Unavailable (was Available)" in root_cause
    )
    assert "cause UserInitiated" in root_cause
    assert "find who in its Activity log" in recommendations[0]


def test_resource_health_platform_initiated_points_at_the_platform() -> None:
    body = load("common_resource_health.json")
    context(body)["properties"]["cause"] = "PlatformInitiated"
    _, recommendations = explained(parse_azure_monitor(body))
    assert recommendations[0].startswith("Open Resource Health for the resource")


def test_service_health_is_an_azure_incident_with_its_tracking_id() -> None:
    root_cause, recommendations = explained(parse_azure_monitor(load("common_service_health.json")))
    assert "Azure Service Health incident" in root_cause
    assert "tracking id ABC1-DEF, stage Active" in root_cause
    assert "affects Data Factory in East US" in root_cause
    assert "Azure-side event" in root_cause
    assert "ABC1-DEF" in recommendations[0]


def test_smart_detector_states_detected_against_normal_value() -> None:
    root_cause, _ = explained(parse_azure_monitor(load("common_smart_detector.json")))
    assert "Dependency Performance Degradation Detector" in root_cause
    assert "detected 0.45 sec against a normal 0.27 sec" in root_cause


def test_security_alert_opens_a_ticket_and_carries_its_remediation() -> None:
    event = parse_azure_monitor(load("common_activity_log_security.json"))
    assert event.kind is EventKind.FAILURE  # a finding, whatever the level it is logged at
    root_cause, recommendations = explained(event)
    assert "category Virus" in root_cause and "threat status Quarantined" in root_cause
    assert recommendations[0] == "Remediation the alert gives: No user action is necessary."


def test_policy_warning_opens_a_ticket_and_informational_does_not() -> None:
    body = load("common_activity_log_policy.json")
    event = parse_azure_monitor(body)
    assert event.kind is EventKind.FAILURE
    root_cause, recommendations = explained(event)
    assert "policy audit event" in root_cause
    assert "Compliance" in recommendations[0]
    context(body)["level"] = "Informational"
    assert parse_azure_monitor(body).kind is EventKind.IGNORED


# --- what opens a ticket and what ends one ----------------------------------------------------


def test_failed_administrative_operation_opens_and_its_success_resolves_it() -> None:
    body = load("common_activity_log_administrative.json")
    succeeded = parse_azure_monitor(body)
    assert succeeded.kind is EventKind.RESOLVED  # Informational + Succeeded: no ticket

    failed_body = copy.deepcopy(body)
    context(failed_body).update(status="Failed", level="Error", subStatus="Conflict")
    failed_body["data"]["essentials"]["alertId"] += "-failed"
    failed = parse_azure_monitor(failed_body)
    assert failed.kind is EventKind.FAILURE
    assert failed.resolve_key == succeeded.resolve_key
    assert failed.run_key != succeeded.run_key
    root_cause, recommendations = explained(failed)
    assert "restart/action on virtual machine 'test-VM'" in root_cause
    assert "failed (Conflict), level Error, caller user@contoso.com" in root_cause
    assert "correlation id cccc2222-dd33-4444-55ee-666666ffffff" in recommendations[0]


def test_started_informational_operation_is_ignored() -> None:
    body = load("common_activity_log_administrative.json")
    context(body)["status"] = "Started"
    assert parse_azure_monitor(body).kind is EventKind.IGNORED


def test_older_activity_log_body_follows_the_same_rule() -> None:
    body = load("noncommon_activity_log.json")
    assert parse_azure_monitor(body).kind is EventKind.RESOLVED
    body["data"]["context"]["activityLog"].update(status="Failed", level="Error")
    assert parse_azure_monitor(body).kind is EventKind.FAILURE


def test_autoscale_success_is_not_a_ticket_and_failure_is() -> None:
    body = load("common_activity_log_autoscale.json")
    assert parse_azure_monitor(body).kind is EventKind.RESOLVED
    context(body).update(status="Failed", level="Error")
    event = parse_azure_monitor(body)
    assert event.kind is EventKind.FAILURE
    root_cause, recommendations = explained(event)
    assert root_cause.startswith("Autoscale alert 'test-autoscaleAlertRule'")
    assert any("quota" in rec for rec in recommendations)


def test_service_health_on_several_services_and_regions_names_each() -> None:
    """Microsoft's webhook guide: a Service Health alert can be about several services in
    several regions, told in full only by `impactedServices` (JSON text). Its `service` and
    `region` properties name one of each, and were all the ticket and its analysis said: an
    outage in East US and West Europe read as East US's alone."""
    body = load("common_service_health.json")
    context(body)["properties"]["impactedServices"] = json.dumps(
        [
            {
                "ImpactedRegions": [{"RegionName": "East US"}, {"RegionName": "West Europe"}],
                "ServiceName": "Data Factory",
            },
            {"ImpactedRegions": [{"RegionName": "West Europe"}], "ServiceName": "Storage"},
        ]
    )
    event = parse_azure_monitor(body)
    assert "affecting Data Factory in East US, West Europe; Storage in West Europe" in (
        event.error_message
    )
    assert (event.details["service"], event.details["region"]) == (
        "Data Factory, Storage",
        "East US, West Europe",
    )
    root_cause, recommendations = explained(event)
    assert "affects Data Factory, Storage in East US, West Europe" in root_cause
    assert any("in East US, West Europe;" in rec for rec in recommendations)


def test_service_health_on_one_service_in_several_regions_names_each_region() -> None:
    body = load("common_service_health.json")
    context(body)["properties"]["impactedServices"] = json.dumps(
        [
            {
                "ImpactedRegions": [{"RegionName": "East US"}, {"RegionName": "East US 2"}],
                "ServiceName": "Data Factory",
            }
        ]
    )
    event = parse_azure_monitor(body)
    assert "affecting Data Factory in East US, East US 2, impact from" in event.error_message
    assert "affects Data Factory in East US, East US 2" in explained(event)[0]


GLOBAL_REGIONS = [
    "Australia East",
    "Australia Southeast",
    "Brazil South",
    "Canada Central",
    "Canada East",
    "Central India",
    "Central US",
    "East Asia",
    "East US",
    "East US 2",
    "France Central",
    "Germany West Central",
    "Italy North",
    "Japan East",
    "Japan West",
    "Korea Central",
    "North Central US",
    "North Europe",
    "Norway East",
    "Poland Central",
    "South Africa North",
    "South Central US",
    "Southeast Asia",
    "Sweden Central",
    "Switzerland North",
    "UAE North",
    "UK South",
    "UK West",
    "West Central US",
    "West Europe",
    "West US",
    "West US 2",
    "West US 3",
]


def test_service_health_of_a_global_outage_names_every_service_and_region() -> None:
    """The longest `impactedServices` text is the widest outage's: five services in every
    region run past the parser's bound for a value (4,000 characters), and the text cut there
    was no JSON, so the outage read as its `service` property's one service in one region."""
    body = load("common_service_health.json")
    services = ["Virtual Machines", "Storage", "Data Factory", "Key Vault", "Azure SQL Database"]
    context(body)["properties"]["impactedServices"] = json.dumps(
        [
            {
                "ImpactedRegions": [{"RegionName": region} for region in GLOBAL_REGIONS],
                "ServiceName": service,
            }
            for service in services
        ],
        separators=(",", ":"),
    )
    assert len(context(body)["properties"]["impactedServices"]) > 4_000
    event = parse_azure_monitor(body)
    assert event.details["service"] == ", ".join(services)
    assert event.details["region"] == ", ".join(GLOBAL_REGIONS)


def test_service_health_with_impacted_services_nested_too_deeply_names_its_one_service() -> None:
    """`impactedServices` is JSON text the body carries as a string: text nested thousands of
    levels deep failed its parsing with a RecursionError (the request a 500), where it is no
    list of services: the event's `service` and `region` properties name them."""
    body = load("common_service_health.json")
    context(body)["properties"]["impactedServices"] = "[" * 3_000 + "]" * 3_000
    event = parse_azure_monitor(body)
    assert (event.details["service"], event.details["region"]) == ("Data Factory", "East US")


def test_service_health_with_very_many_impacted_services_is_bounded() -> None:
    body = load("common_service_health.json")
    context(body)["properties"]["impactedServices"] = json.dumps(
        [
            {
                "ImpactedRegions": [{"RegionName": f"{region} {n}"} for region in GLOBAL_REGIONS],
                "ServiceName": f"Service {n:03d}",
            }
            for n in range(300)
        ]
    )
    event = parse_azure_monitor(body)
    named = event.details["service"].split(", ")
    assert named == [f"Service {n:03d}" for n in range(50)]
    assert len(event.details["region"]) <= 4_000


@pytest.mark.parametrize("stage", ["Resolved", "RCA", "Complete", "Canceled"])
def test_service_health_in_a_closing_stage_resolves_the_incident_ticket(stage: str) -> None:
    active = parse_azure_monitor(load("common_service_health.json"))
    body = load("common_service_health.json")
    body["data"]["essentials"]["alertId"] += "-update"
    context(body)["properties"]["stage"] = stage
    closing = parse_azure_monitor(body)
    assert active.kind is EventKind.FAILURE
    assert closing.kind is EventKind.RESOLVED
    assert closing.resolve_key == active.resolve_key == active.run_key
    assert closing.occurrence_key != active.occurrence_key


def test_service_health_updates_of_one_incident_share_one_ticket() -> None:
    first = parse_azure_monitor(load("common_service_health.json"))
    body = load("common_service_health.json")
    body["data"]["essentials"]["alertId"] += "-second-communication"
    second = parse_azure_monitor(body)
    assert second.kind is EventKind.FAILURE
    assert second.run_key == first.run_key
    assert second.occurrence_key != first.occurrence_key


def test_service_health_informational_advisory_is_ignored() -> None:
    body = load("common_service_health.json")
    context(body)["properties"]["incidentType"] = "Informational"
    assert parse_azure_monitor(body).kind is EventKind.IGNORED


def test_resource_back_to_available_resolves_its_health_ticket() -> None:
    down = parse_azure_monitor(load("common_resource_health.json"))
    body = load("common_resource_health.json")
    body["data"]["essentials"]["alertId"] += "-recovered"
    context(body)["operationName"] = "Microsoft.Resourcehealth/healthevent/Resolved/action"
    context(body)["properties"].update(
        currentHealthStatus="Available", previousHealthStatus="Unavailable"
    )
    up = parse_azure_monitor(body)
    assert down.kind is EventKind.FAILURE and up.kind is EventKind.RESOLVED
    assert up.resolve_key == down.resolve_key


def test_alerts_of_two_rules_with_the_same_alert_id_do_not_share_keys() -> None:
    first = load_shared("azure_common_metric_dynamic_fired.json")
    second = copy.deepcopy(first)
    second["data"]["essentials"]["alertRule"] = "another-rule"
    one, two = parse_azure_monitor(first), parse_azure_monitor(second)
    assert one.run_key != two.run_key
    assert one.resolve_key != two.resolve_key
    assert one.occurrence_key != two.occurrence_key


def test_activity_log_event_on_a_data_factory_is_not_an_adf_pipeline_failure() -> None:
    body = load("common_activity_log_administrative.json")
    factory = (
        "/subscriptions/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e/resourceGroups/test-RG/providers"
        "/Microsoft.DataFactory/factories/adf-sales-prod"
    )
    body["data"]["essentials"]["alertTargetIDs"] = [factory]
    context(body).update(status="Failed", level="Error")
    event = parse_azure_monitor(body)
    assert event.processing_mode == "azure-monitor"
    assert event.details["alert_kind"] == "activity_administrative"


# --- budgets ---------------------------------------------------------------------------------

OLDER_BUDGET: dict[str, Any] = {
    # The sample body Microsoft Learn gives for budget notifications to an action group.
    "schemaId": "AIP Budget Notification",
    "data": {
        "SubscriptionName": "CCM - Microsoft Azure Enterprise - 1",
        "SubscriptionId": "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e",
        "SpendingAmount": "100",
        "BudgetStartDate": "6/1/2018",
        "Budget": "50",
        "Unit": "USD",
        "BudgetCreator": "email@contoso.com",
        "BudgetName": "BudgetName",
        "BudgetType": "Cost",
        "ResourceGroup": "",
        "NotificationThresholdAmount": "0.8",
    },
}


def test_older_budget_body_is_a_budget_alert() -> None:
    event = parse_azure_monitor(copy.deepcopy(OLDER_BUDGET))
    assert event.kind is EventKind.FAILURE
    assert event.pipeline == "BudgetName"
    assert event.details["alert_kind"] == "budget"
    assert "spent 100 USD of 50 USD" in event.error_message
    root_cause, recommendations = explained(event)
    assert root_cause.startswith("Budget alert: budget 'BudgetName' has spent 100 of 50 USD")
    assert "threshold 0.8" in root_cause and "period starting 6/1/2018" in root_cause
    assert recommendations[0].startswith("Open Cost analysis")
    # The same threshold re-sent is the same ticket; the next threshold is a new one.
    again = parse_azure_monitor(copy.deepcopy(OLDER_BUDGET))
    assert again.run_key == event.run_key and again.occurrence_key == event.occurrence_key
    higher = copy.deepcopy(OLDER_BUDGET)
    higher["data"]["NotificationThresholdAmount"] = "1.0"
    assert parse_azure_monitor(higher).run_key != event.run_key


def test_cost_alert_in_the_common_schema_is_a_budget_alert() -> None:
    body = {
        "schemaId": "azureMonitorCommonAlertSchema",
        "data": {
            "essentials": {
                "monitoringService": "CostAlerts",
                "firedDateTime": "2025-04-15T17:49:34.022Z",
                "description": "Budget alert",
                "alertId": "/subscriptions/x/providers/Microsoft.CostManagement/alerts/a1",
                "alertRule": "team-data-monthly",
                "monitorCondition": "Fired",
                "configurationItems": ["budgets"],
            },
            "alertContext": {
                "AlertCategory": "budgets",
                "AlertData": {
                    "BudgetName": "team-data-monthly",
                    "BudgetThreshold": "$5000.00",
                    "SpentAmount": "$4100.00",
                    "NotificationThresholdAmount": "$4000.00",
                    "ThresholdType": "Forecasted",
                    "Unit": "USD",
                },
            },
        },
    }
    event = parse_azure_monitor(body)
    root_cause, _ = explained(event)
    assert "budget 'team-data-monthly' has spent $4100.00 of $5000.00" in root_cause
    assert "USD" not in root_cause  # the amounts carry their currency
    assert "forecasted threshold $4000.00" in root_cause
    assert "The forecast, not the actual spend" in root_cause


# --- untrusted values -------------------------------------------------------------------------


def test_values_are_plain_text_cut_at_a_word_boundary() -> None:
    assert plain("<script>alert(1)</script> a < b") == "script alert(1) /script a < b"
    # Query and path characters stay (each target escapes the RCA); bidi and zero-width go.
    assert plain("`rm` *bold* {x} | D:\\logs\\*.csv") == "`rm` *bold* {x} | D:\\logs\\*.csv"
    assert plain("pl\u202eload\u200bx") == "pl load x"
    cut = plain("word " * 100, 42)
    assert cut.endswith("…") and not cut.endswith(" …")
    assert cut[:-1].split(" ")[-1] == "word"


def test_hostile_rule_and_dimensions_do_not_carry_markup() -> None:
    body = load_shared("azure_common_metric_dynamic_fired.json")
    body["data"]["essentials"]["alertRule"] = "<b>rule</b>`x`"
    body["data"]["alertContext"]["condition"]["allOf"][0]["dimensions"] = [
        {"name": "{evil}", "value": "<img src=x>" + "y" * 500}
    ]
    root_cause, _ = explained(parse_azure_monitor(body))
    assert "<" not in root_cause and ">" not in root_cause


def test_ticket_without_alert_facts_falls_back_to_the_rule_rca() -> None:
    assert build_alert_rca("rule", {"operator": "GreaterThan"}) is None


# --- what the message and the RCA keep of a smart detector's, a Prometheus alert's facts -------


def _failure_anomalies() -> dict[str, Any]:
    """Application Insights Failure Anomalies, with the context fields its notification carries
    (DetectedFailureRate, NormalFailureRate, the misspelt FormattedOccurenceTime, its chart,
    links table and query request) and the failed operation it names."""
    body = load("common_smart_detector.json")
    body["data"]["essentials"]["alertRule"] = "Failure Anomalies - shop-appi"
    body["data"]["alertContext"] = {
        "DetectionSummary": "An abnormal rise in failed request rate",
        "FormattedOccurenceTime": "2019-10-30T17:50:00Z",
        "DetectedFailureRate": "50.0% (200/400 requests)",
        "NormalFailureRate": "0.0% (over the last 30 minutes)",
        "FailureRateChart": [["2019-10-30T05:20:00Z", 0], ["2019-10-30T05:40:00Z", 100]],
        "ArmSystemEventsRequest": "/subscriptions/x/providers/microsoft.insights/components/"
        "shop-appi/query?query=systemEvents&api-version=2018-04-20",
        "LinksTable": [{"Link": '<a href="https://portal.azure.com/#blade">View details</a>'}],
        "OperationName": "POST /api/orders",
        "FailedRequestNames": ["POST /api/orders", "GET /api/cart"],
        "FailedRequests": 200,
        "SmartDetectorId": "FailureAnomaliesDetector",
        "SmartDetectorName": "Failure Anomalies",
        "AnalysisTimestamp": "2019-10-30T17:52:32.5802978Z",
    }
    return body


def test_failure_anomalies_keep_the_rate_and_the_operations_they_state() -> None:
    event = parse_azure_monitor(_failure_anomalies())
    for text in (event.error_message, explained(event)[0]):
        assert "50.0% (200/400 requests)" in text, text
        assert "0.0% (over the last 30 minutes)" in text, text
        assert "POST /api/orders" in text and "GET /api/cart" in text, text
        # Charts, links tables and the queries behind them say nothing by themselves.
        assert "systemEvents" not in text and "05:40" not in text and "<a" not in text, text
    assert "failure rate 50.0%" in explained(event)[0]
    assert "FailedRequests=200" in event.error_message
    assert "occurred at 2019-10-30T17:50:00Z" in event.error_message


def test_prometheus_alert_keeps_its_summary_and_description() -> None:
    body = load("common_smart_detector.json")
    body["data"]["essentials"].update(
        alertRule="KubePodCrashLooping", monitoringService="Prometheus"
    )
    body["data"]["alertContext"] = {
        "interval": "PT1M",
        "expression": "max_over_time(kube_pod_container_status_waiting_reason[5m]) >= 1",
        "expressionValue": "1",
        "for": "PT15M",
        "labels": {"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "api-7d9f"},
        "annotations": {
            "summary": "Pod is crash looping.",
            "description": "Pod shop/api-7d9f is in waiting state (reason: CrashLoopBackOff).",
            "runbook_url": "https://runbooks.example/KubePodCrashLooping",
        },
    }
    event = parse_azure_monitor(body)
    root_cause, _ = explained(event)
    for text in (event.error_message, root_cause):
        assert "Summary: Pod is crash looping." in text, text
        assert "reason: CrashLoopBackOff" in text, text
    # A pod is replaced at every rollout: the alert is about its cluster, one ticket for it.
    assert "api-7d9f" not in event.subject and event.subject.startswith("/subscriptions/")


def test_an_alert_naming_no_rule_says_so() -> None:
    body = load("common_smart_detector.json")
    essentials = body["data"]["essentials"]
    essentials.pop("alertRule")
    essentials["monitoringService"] = None
    body["data"]["alertContext"] = {}
    event = parse_azure_monitor(body)
    root_cause, recommendations = explained(event)
    assert event.pipeline == "Azure Monitor alert"
    assert root_cause.startswith("Azure Monitor alert from an unnamed rule fired on "), root_cause
    assert "'Azure Monitor alert'" not in root_cause
    assert "unnamed rule" in event.error_message and "'unnamed'" not in event.error_message
    assert "Open the alert in Azure Monitor (Alerts) to see" in recommendations[0]


def test_a_metric_alert_naming_no_rule_says_so() -> None:
    body = load_shared("azure_common_metric_dynamic_fired.json")
    body["data"]["essentials"].pop("alertRule")
    body["data"]["essentials"].pop("alertRuleID", None)
    root_cause, _ = explained(parse_azure_monitor(body))
    assert root_cause.startswith("Metric alert from an unnamed rule fired on "), root_cause


def test_the_subject_names_the_target_and_the_resource_dimensions_only() -> None:
    body = load_shared("azure_common_log_v2_scheduled_query_fired.json")
    criterion = body["data"]["alertContext"]["condition"]["allOf"][0]
    criterion["dimensions"] = [
        {"name": "Computer", "value": "vm-prod-08"},
        {"name": "EventLevelName", "value": "Error 42"},
    ]
    subject = parse_azure_monitor(body).subject
    assert subject.endswith("|Computer=vm-prod-08"), subject
    assert subject.startswith("/subscriptions/11111111-1111-1111-1111-111111111111/resourcegroups/")
    assert "EventLevelName" not in subject
    # An ADF failure is named by its factory and pipeline, as before.
    assert parse_azure_monitor(load("adf_log_v2_pipeline_run.json")).subject == ""


# --- which resource a ticket's name says it is about -------------------------------------------


def _titled(event: FailureEvent) -> str:
    from tickets.models import ticket_title

    return ticket_title(event.pipeline, event.processing_mode, event.resource)


def _prometheus(labels: dict[str, str]) -> dict[str, Any]:
    body = load("common_smart_detector.json")
    body["data"]["essentials"].update(
        alertRule="KubePodCrashLooping",
        monitoringService="Prometheus",
        alertTargetIDs=[
            "/subscriptions/1/resourcegroups/mon/providers/microsoft.monitor/accounts/prom007"
        ],
        configurationItems=["aks-a"],
    )
    body["data"]["alertContext"] = {
        "expression": "kube_pod_status_ready > 0",
        "labels": {"alertname": "KubePodCrashLooping", "cluster": "aks-a", **labels},
    }
    return body


def test_an_alert_ticket_is_named_by_its_rule_and_the_resource_it_is_about() -> None:
    """One rule's tickets are listed side by side (its incident's members): each says which
    resource it is about after the rule's name. The target's name from its resource id; on
    a workspace the alert queries, the resource its rows name (a log search alert split by
    `Computer`, a Prometheus alert's node, else its one configuration item: the cluster),
    never the workspace; nothing for an alert about no resource (budgets; a Service Health
    alert is named by its event instead)."""
    metric = load("common_metric_static_resolved.json")
    metric["data"]["essentials"]["alertRule"] = "vm-cpu-high"
    assert _titled(parse_azure_monitor(metric)) == "vm-cpu-high on wcus-r2-gen2"
    # A rule named after its resource is not told it twice.
    named_after = parse_azure_monitor(load("common_metric_static_resolved.json"))
    assert _titled(named_after) == named_after.pipeline == "WCUS-R2-Gen2"
    health = parse_azure_monitor(load("common_resource_health.json"))
    assert _titled(health) == "test-ResourceHealthAlertRule on test-VM"

    split = load_shared("azure_common_log_v2_scheduled_query_fired.json")
    context(split)["condition"]["allOf"][0]["dimensions"] = [
        {"name": "Computer", "value": "vm-prod-08"},
        {"name": "EventLevelName", "value": "Error"},
    ]
    assert _titled(parse_azure_monitor(split)) == "test-logAlertRule-v2 on vm-prod-08"
    by_row = load_shared("azure_common_log_v2_scheduled_query_fired.json")
    context(by_row)["condition"]["allOf"][0]["dimensions"] = [
        {
            "name": "_ResourceId",
            "value": "/subscriptions/1/resourcegroups/rg/providers/"
            "microsoft.sql/servers/sql-prod-01/databases/dw",
        },
    ]
    assert _titled(parse_azure_monitor(by_row)) == "test-logAlertRule-v2 on dw"
    # A log alert on its workspace naming no row's resource: the workspace is not its subject.
    unsplit = parse_azure_monitor(load("noncommon_log_alert.json"))
    assert _titled(unsplit) == unsplit.pipeline == "test-logAlertRule-v1-numResults"

    assert _titled(parse_azure_monitor(_prometheus({"pod": "api-7d9f"}))) == (
        "KubePodCrashLooping on aks-a"
    )
    assert _titled(parse_azure_monitor(_prometheus({"node": "aks-np1-0001"}))) == (
        "KubePodCrashLooping on aks-np1-0001"
    )

    # A Service Health alert is named by the event Azure titled, its rule staying its pipeline
    # (`test_a_service_health_ticket_is_named_by_its_event_not_by_its_rule`).
    service_health = parse_azure_monitor(load("common_service_health.json"))
    assert _titled(service_health) == "Azure Data Factory - East US - Mitigated"
    assert service_health.pipeline == "test-ServiceHealthAlertRule"
    budget = parse_azure_monitor(copy.deepcopy(OLDER_BUDGET))
    assert _titled(budget) == budget.pipeline == "BudgetName"

    # An alert on several resources names the first three, nor is a smart detector's name
    # ending with its resource's told it twice; an ADF failure an alert carried is its pipeline.
    several = load("common_metric_static_resolved.json")
    several["data"]["essentials"]["alertTargetIDs"] = [
        f"/subscriptions/1/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm-{n}"
        for n in range(1, 6)
    ]
    assert _titled(parse_azure_monitor(several)) == "WCUS-R2-Gen2 on vm-1, vm-2, vm-3 and 2 more"
    smart = parse_azure_monitor(load("common_smart_detector.json"))
    assert _titled(smart) == "Failure Anomalies - test-applicationInsights"
    adf = parse_azure_monitor(load("adf_log_v2_pipeline_run.json"))
    assert _titled(adf) == adf.pipeline == "pl_sales_daily_load"
