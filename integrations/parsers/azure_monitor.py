"""Azure Monitor alert webhooks: the common alert schema and the older per-signal schemas.

Schemas accepted (Microsoft Learn, "Common alert schema" and "Noncommon alert schema definitions"):
- `azureMonitorCommonAlertSchema`: every monitoring service (metric, log V1/V2, activity log,
  service/resource health, smart detector, Prometheus...);
- `AzureMonitorMetricAlert`: the older metric alert body;
- `Microsoft.Insights/activityLogs`: the older activity log alert body;
- `Microsoft.Insights/LogAlert` (Application Insights) and the schema-less Log Analytics body of
  the legacy log search alerts (API up to 2018-04-16);
- `AIP Budget Notification`: the Cost Management budget body.

A metric alert on a failure metric of an Azure Data Factory (`PipelineFailedRuns`, ...) or a log
alert on a factory or over its run tables becomes an ADF failure (`processing_mode="adf"`), named
after the pipeline its dimensions or result rows carry. Every other alert (a factory's CPU or
succeeded runs included, and a log query that keeps only runs of another status, such as
`Status == "InProgress"`, and names no failure or error) keeps its kind in
`details["alert_kind"]` (metric, log_search, activity_*, service_health, resource_health,
smart_detector, prometheus, budget) with the facts that explain it; activity log and health
events that report no problem open no ticket (`_settle_activity_event`).
"""

from __future__ import annotations

import html
import itertools
import json
import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel

from analysis.culprits import is_queried_workspace
from analysis.redaction import redact, redacted_head
from integrations.events import (
    FIRED_BY_ALERT_ID,
    HEALTH_EVENT_AT,
    SERVICE_HEALTH_NOTICE,
    EventKind,
    FailureEvent,
    ParseError,
    Severity,
    Source,
)
from integrations.parsers.adf import adf_report_digest, adf_resolve_key, adf_run_key
from integrations.parsers.bodies import (
    BudgetNotification,
    CommonAlert,
    LegacyActivityLogAlert,
    LegacyLogAlert,
    LegacyLogAnalyticsAlert,
    LegacyMetricAlert,
    validate,
)
from integrations.parsers.common import field, parse_timestamp, require_object, text
from tickets.vocabulary import ADF_ALERT_ERROR

SOURCE = Source.AZURE_MONITOR
PROCESSING_MODE = "azure-monitor"
ADF_PROCESSING_MODE = "adf"

COMMON_SCHEMA = "azuremonitorcommonalertschema"
METRIC_ALERT_SCHEMA = "azuremonitormetricalert"
ACTIVITY_LOG_SCHEMA = "microsoft.insights/activitylogs"
LOG_ALERT_SCHEMA = "microsoft.insights/logalert"
BUDGET_SCHEMA = "aip budget notification"

MESSAGE_LIMIT = 16_000
NAME_LIMIT = 500
VALUE_LIMIT = 4_000  # dimension values and result cells: ADF error messages are long
URL_LIMIT = 8_192
MAX_ITEMS = 50  # criteria, dimensions, target ids, result rows... read from one body
MAX_ROWS_IN_MESSAGE = 5

_COMMON_CONDITIONS = {"fired": EventKind.FAILURE, "resolved": EventKind.RESOLVED}
_LEGACY_STATUSES = {
    "activated": EventKind.FAILURE,
    "resolved": EventKind.RESOLVED,
    "deactivated": EventKind.RESOLVED,
}
_SEVERITIES = {
    "sev0": Severity.CRITICAL,
    "0": Severity.CRITICAL,
    "critical": Severity.CRITICAL,
    "sev1": Severity.HIGH,
    "1": Severity.HIGH,
    "error": Severity.HIGH,
    "sev2": Severity.MEDIUM,
    "2": Severity.MEDIUM,
    "warning": Severity.MEDIUM,
    "sev3": Severity.LOW,
    "3": Severity.LOW,
    "sev4": Severity.LOW,
    "4": Severity.LOW,
    "informational": Severity.LOW,
    "verbose": Severity.LOW,
}

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WHITESPACE = re.compile(r"\s+")
_HTML_TAG = re.compile(r"<[^<>]{0,2000}>")
_ADF_LOG_TABLE = re.compile(r"\bADF(?:Pipeline|Activity|Trigger)Run\b", re.IGNORECASE)
_ADF_PIPELINE_TABLE = re.compile(r"\bADFPipelineRun\b", re.IGNORECASE)
# A factory's diagnostic setting in "Azure diagnostics" mode writes its runs to the shared
# AzureDiagnostics table (`ResourceProvider == "MICROSOFT.DATAFACTORY"`, categories
# PipelineRuns, ActivityRuns, TriggerRuns) with typed column names: `pipelineName_s`,
# `runId_g`, `status_s`, the error as `error_message_s`, `error_errorCode_s`.
# The table holds every resource's diagnostics: the query must keep the factory's rows, the
# provider or category compared equal (`==`, `=~`, `in`), not a word in a comment, a `!=` or
# another service's category (Synapse's "IntegrationPipelineRuns").
_DIAGNOSTICS_TABLE = re.compile(r"\bAzureDiagnostics\b", re.IGNORECASE)
_ADF_DIAGNOSTICS_VALUE = r"[\"'](?:MICROSOFT\.DATAFACTORY|(?:Pipeline|Activity|Trigger)Runs)[\"']"
_ADF_DIAGNOSTICS_MARK = re.compile(
    rf"(?:==|=~)\s*{_ADF_DIAGNOSTICS_VALUE}|(?<![!\w])in~?\s*\([^)]*?{_ADF_DIAGNOSTICS_VALUE}",
    re.IGNORECASE,
)
_ADF_DIAGNOSTICS_PIPELINE_RUNS = re.compile(r"[\"']PipelineRuns[\"']", re.IGNORECASE)
# A KQL comment runs from `//` outside a string to the end of its line.
_KQL_STRING_OR_COMMENT = re.compile(r"\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'|//[^\n]*")
_DIAGNOSTICS_TYPE_SUFFIX = re.compile(r"_[sgdbt]$")
_DIAGNOSTICS_RENAMED = {
    "error_message": "ErrorMessage",
    "error_errorcode": "ErrorCode",
    "error_failuretype": "FailureType",
    "resource": "DataFactoryName",  # the factory's name (upper-cased by Azure)
}
# Data Factory metrics that count failures (PipelineFailedRuns, ActivityFailedRuns,
# TriggerFailedRuns, the older factories' FailedRuns, SSISPackageExecutionFailed). The factory's
# other metrics (succeeded, cancelled or long runs, integration runtime CPU, memory and queue,
# entity counts and sizes) report no failure: a metric alert on them is explained as the alert.
_ADF_FAILURE_METRIC = re.compile(r"(?:FailedRuns|PackageExecutionFailed)$", re.IGNORECASE)
_DATA_FACTORY_TYPE = "microsoft.datafactory/factories"
# A log query over the factory's run tables that keeps only runs of another status (running too
# long, slow successes, cancelled) and names no failure or error counts no failed run.
# (`Status == "InProgress"`, `Status in ("Succeeded")`, AzureDiagnostics' `status_s` alike; not
# `!=` nor `!in`: "not succeeded" keeps the failures.)
_ADF_OTHER_STATUS = re.compile(
    r"\bStatus(?:_s)?\s*(?:==|=~|(?<![!\w])in~?\s*\()\s*[^|)]*?"
    r"\b(?:Succeeded|InProgress|Queued|Cancell?ed|Cancelling)\b",
    re.IGNORECASE,
)
_FAILURE_WORD = re.compile(r"fail|error", re.IGNORECASE)
# Dimension and label names (case, `_`, `.` and `-` ignored) whose value says which lasting
# resource of several one rule watches: a log alert split by `Computer`, a Prometheus alert's
# `node` label, `_ResourceId`. Not a pod, a container or a role instance
# (`cloud_RoleInstance`), replaced at every rollout or scale-out (a ticket each), nor
# `instance`, which names one of those as often as a lasting host (a Prometheus scrape
# target's address). Their alerts share the rule's ticket, which the last one's Resolved ends
# (tickets/services.py `_alerts_still_firing`).
_SUBJECT_NAME = re.compile(
    r"(?:computer|host|hostname|node|nodename|server|servername|machine|machinename|vm|vmname"
    r"|virtualmachine|device|devicename|resource|resourceid|resourcename)$"
)
_NAME_PUNCTUATION = re.compile(r"[\W_]+")
_ADF_FAILURE_FIELDS = ("ErrorCode", "ErrorMessage", "FailureType", "TriggerFailureType")

# Activity log properties that are noise for a reader (HTML tables, JSON blobs, tenant paths).
_NOISY_EVENT_PROPERTIES = {
    "activeautoscaleprofile",
    "impactedservicestablerows",
    "defaultlanguagecontent",
    "defaultlanguagetitle",
    "hierarchy",
    "ancestors",
    "version",
    "policies",
}

_LINK_NAMES = {
    "linktosearchresultsui": "search_results_ui",
    "linktosearchresults": "search_results_ui",
    "linktofilteredsearchresultsui": "filtered_search_results_ui",
    "linktosearchresultsapi": "search_results_api",
    "linktofilteredsearchresultsapi": "filtered_search_results_api",
    "portallink": "portal",
    "investigationlink": "investigation",
}


@dataclass
class _Facts:
    """What an alert context says, ready to be put into words and fields."""

    sentences: list[str] = dataclass_field(default_factory=list)
    dimensions: dict[str, str] = dataclass_field(default_factory=dict)
    details: dict[str, Any] = dataclass_field(default_factory=dict)
    links: dict[str, str] = dataclass_field(default_factory=dict)
    # Resource types, metric namespaces, queries and tables the alert looks at (ADF detection).
    scope_hints: list[str] = dataclass_field(default_factory=list)
    # The first result table of a log search alert, one column -> value dict per row.
    rows: list[dict[str, str]] = dataclass_field(default_factory=list)
    row_count: int = 0
    data_sources: list[str] = dataclass_field(default_factory=list)  # log search resource ids
    metrics: list[str] = dataclass_field(default_factory=list)  # a metric alert's metric names


@dataclass
class _Alert:
    """One alert notification, whatever schema it came in."""

    kind: EventKind
    rule: str
    run_key: str
    resolve_key: str
    occurrence_key: str
    facts: _Facts
    alert_id: str = ""
    monitoring_service: str = ""
    signal_type: str = ""
    severity_label: str = ""
    description: str = ""
    occurred_at: datetime | None = None
    target_ids: list[str] = dataclass_field(default_factory=list)
    configuration_items: list[str] = dataclass_field(default_factory=list)
    # Resource facts the body states outright (they win over what the resource id implies).
    stated_resource: dict[str, str] = dataclass_field(default_factory=dict)
    custom_properties: dict[str, str] = dataclass_field(default_factory=dict)
    # What names the rule in keys: its resource id when the body gives one, else its name.
    rule_key: str = ""
    # A Resolved: the occurrence key its Fired had (see FailureEvent.recovers_occurrence).
    recovers_occurrence: str = ""
    # What names the ticket of an alert whose body names no rule, before its monitoring service.
    unnamed_rule_title: str = ""
    # The common alert schema's: its Resolved names its Fired (`recovers_occurrence`).
    names_its_fired: bool = False


@dataclass(frozen=True)
class _AdfFailure:
    factory: str
    pipeline: str
    pipeline_run_id: str
    activity: str
    activity_type: str
    error_code: str
    error_message: str
    failure_type: str
    trigger: str
    # The factory's own subscription and resource group, where the alert's rows name it by
    # resource id and the alert targets something else (the Log Analytics workspace it queried,
    # often in another group or subscription): where its runs are read and rerun.
    location: dict[str, str]
    # Each failed activity of the run the alert reports and its error, sorted (the same
    # report, whatever the order of its result rows): `_reported_failures`.
    reported: tuple[tuple[str, str], ...] = ()


def parse_azure_monitor(payload: Any) -> FailureEvent:
    body = require_object(payload, "the Azure Monitor body")
    schema_id = _scalar(body.get("schemaId"), "schemaId")
    schema = schema_id.lower()
    if schema == COMMON_SCHEMA:
        alert = _parse_common(validated(CommonAlert, body))
    elif schema == METRIC_ALERT_SCHEMA:
        alert = _parse_legacy_metric(validated(LegacyMetricAlert, body))
    elif schema == ACTIVITY_LOG_SCHEMA:
        alert = _parse_legacy_activity_log(validated(LegacyActivityLogAlert, body))
    elif schema == LOG_ALERT_SCHEMA:
        alert = _parse_legacy_log(validated(LegacyLogAlert, body), "data.")
    elif schema == BUDGET_SCHEMA:
        alert = _parse_legacy_budget(validated(BudgetNotification, body))
    elif schema:
        raise ParseError(f"unknown schemaId {_quoted(schema_id)}")
    elif "AlertRuleName" in body:
        alert = _parse_legacy_log(validated(LegacyLogAnalyticsAlert, body), "")
    elif isinstance(body.get("data"), dict) and "AlertRuleName" in body["data"]:
        alert = _parse_legacy_log(validated(LegacyLogAlert, body), "data.")
    elif "SearchQuery" in body:
        alert = _parse_legacy_log(validated(LegacyLogAnalyticsAlert, body), "")
    else:
        raise ParseError("missing required field 'schemaId' (and not a legacy log alert body)")
    return _to_event(alert)


def validated(model: type[BaseModel], body: dict[str, Any]) -> dict[str, Any]:
    """The body, once its family's model (integrations/parsers/bodies.py) has checked its
    shape; the parser reads the body itself, with the leniency each field needs."""
    validate(model, body)
    return body


# --- schemas -------------------------------------------------------------------------------


def _parse_common(body: dict[str, Any]) -> _Alert:
    data = _required_object(body, "data")
    essentials = _required_object(body, "data.essentials")
    alert_id = _clean(text(body, "data.essentials.alertId", required=True))
    condition = text(body, "data.essentials.monitorCondition", required=True)
    kind = _COMMON_CONDITIONS.get(condition.lower())
    if kind is None:
        raise ParseError(f"unknown monitorCondition {_quoted(condition)} (expected Fired/Resolved)")

    fired = _scalar(essentials.get("firedDateTime"), "data.essentials.firedDateTime")
    resolved = _scalar(essentials.get("resolvedDateTime"), "data.essentials.resolvedDateTime")
    fired_at = parse_timestamp(fired, "data.essentials.firedDateTime")
    resolved_at = parse_timestamp(resolved, "data.essentials.resolvedDateTime")
    if kind is EventKind.RESOLVED:
        occurred_at = resolved_at or fired_at
        instant = resolved or f"resolved:{fired}"
    else:
        occurred_at = fired_at
        instant = fired

    service = _scalar(essentials.get("monitoringService"), "data.essentials.monitoringService")
    context = _object_at(data, "alertContext", "data.alertContext")
    facts = _parse_common_context(service, context, "data.alertContext")
    _add_link(facts.links, "investigationLink", essentials.get("investigationLink"))

    rule = _scalar(essentials.get("alertRule"), "data.essentials.alertRule")
    rule_id = _scalar(
        essentials.get("alertRuleID", essentials.get("alertRuleId")), "data.essentials.alertRuleID"
    )
    # Alert ids are not unique across rules (test notifications, copied rules): the rule is
    # part of every key, so alerts of two rules never merge into one ticket.
    rule_key = rule_id or rule or service
    return _Alert(
        kind=kind,
        rule=rule or _last_segment(rule_id),
        run_key=f"azure:{rule_key}|{alert_id}",
        resolve_key=f"azure:{rule_key}|{alert_id}",
        occurrence_key=f"azure:{rule_key}|{alert_id}:{instant}",
        recovers_occurrence=(
            f"azure:{rule_key}|{alert_id}:{fired}" if kind is EventKind.RESOLVED and fired else ""
        ),
        rule_key=rule_key,
        facts=facts,
        alert_id=alert_id,
        monitoring_service=service,
        signal_type=_scalar(essentials.get("signalType"), "data.essentials.signalType"),
        severity_label=_common_severity(essentials.get("severity")),
        description=_scalar(
            essentials.get("description"), "data.essentials.description", VALUE_LIMIT
        ),
        occurred_at=occurred_at,
        target_ids=_text_list(essentials, "alertTargetIDs", "data.essentials.alertTargetIDs"),
        configuration_items=_text_list(
            essentials, "configurationItems", "data.essentials.configurationItems"
        ),
        stated_resource={
            "resource_group": _scalar(
                essentials.get("targetResourceGroup"), "data.essentials.targetResourceGroup"
            ),
            "resource_type": _scalar(
                essentials.get("targetResourceType"), "data.essentials.targetResourceType"
            ),
            "alert_rule_id": rule_id,
        },
        custom_properties=_string_map(data.get("customProperties"), "data.customProperties"),
        # A budget alert names no rule (Microsoft Learn's samples: `alertRule` null): its
        # ticket is named after its budget.
        unnamed_rule_title=str(facts.details.get("budget_name", "")),
        names_its_fired=True,
    )


def _common_severity(value: Any) -> str:
    """The common schema's severity: Sev0 to Sev4 (or another spelling `_SEVERITIES` knows:
    any case, the bare digit, Critical, Warning...), or none. Another value is refused: read
    as none, a misspelt Sev0 would page as its error class says (Medium, most often)."""
    label = _scalar(value, "data.essentials.severity")
    if label and label.lower() not in _SEVERITIES:
        raise ParseError(
            "field 'data.essentials.severity' must be Sev0, Sev1, Sev2, Sev3 or Sev4, "
            f"not {_quoted(label)}"
        )
    return label


def _parse_legacy_metric(body: dict[str, Any]) -> _Alert:
    data = _required_object(body, "data")
    kind = _legacy_status(body)
    context = _required_object(body, "data.context")
    rule_id = _clean(text(body, "data.context.id", required=True))
    resource_id = _scalar(context.get("resourceId"), "data.context.resourceId")
    timestamp = _scalar(context.get("timestamp"), "data.context.timestamp")
    status = _scalar(data.get("status"), "data.status")

    facts = _parse_metric_condition(context, "data.context")
    _add_link(facts.links, "portalLink", context.get("portalLink"))
    rule_and_resource = f"{rule_id}|{resource_id}"
    return _Alert(
        kind=kind,
        rule=_scalar(context.get("name"), "data.context.name") or _last_segment(rule_id),
        run_key=f"azure:{rule_and_resource}|{timestamp}",
        resolve_key=f"azure:{rule_and_resource}",
        occurrence_key=f"azure:{rule_and_resource}|{status}|{timestamp}",
        rule_key=rule_id,
        facts=facts,
        monitoring_service="Platform",
        signal_type="Metric",
        severity_label=_scalar(context.get("severity"), "data.context.severity"),
        description=_scalar(context.get("description"), "data.context.description", VALUE_LIMIT),
        occurred_at=parse_timestamp(timestamp, "data.context.timestamp"),
        target_ids=[resource_id] if resource_id else [],
        stated_resource={
            "subscription_id": _scalar(
                context.get("subscriptionId"), "data.context.subscriptionId"
            ),
            "resource_group": _scalar(
                context.get("resourceGroupName"), "data.context.resourceGroupName"
            ),
            "resource_type": _scalar(context.get("resourceType"), "data.context.resourceType"),
            "resource_name": _scalar(context.get("resourceName"), "data.context.resourceName"),
            "alert_rule_id": rule_id,
        },
        custom_properties=_string_map(data.get("properties"), "data.properties"),
    )


def _parse_legacy_activity_log(body: dict[str, Any]) -> _Alert:
    data = _required_object(body, "data")
    kind = _legacy_status(body)
    context = _required_object(body, "data.context")
    event = _required_object(body, "data.context.activityLog")
    where = "data.context.activityLog"
    facts = _parse_activity_log_event(event, where)

    operation = _scalar(event.get("operationName"), f"{where}.operationName")
    rule_id = _scalar(context.get("id"), "data.context.id")
    rule_name = _scalar(context.get("name"), "data.context.name")
    resource_id = _scalar(event.get("resourceId"), f"{where}.resourceId")
    subscription = _scalar(event.get("subscriptionId"), f"{where}.subscriptionId")
    event_time = _scalar(event.get("eventTimestamp"), f"{where}.eventTimestamp")
    event_id = _scalar(event.get("eventDataId"), f"{where}.eventDataId") or event_time
    status = _scalar(data.get("status"), "data.status")
    event_source = _scalar(event.get("eventSource"), f"{where}.eventSource")

    rule_and_resource = f"{rule_id or rule_name or operation}|{resource_id or subscription}"
    return _Alert(
        kind=kind,
        # The older activity log body names no rule (Microsoft Learn's samples have no
        # `context.name` nor `context.id`): its ticket is named after its operation, which the
        # message and the RCA do not call a rule.
        rule=rule_name or _last_segment(rule_id),
        unnamed_rule_title=operation,
        run_key=f"azure:{rule_and_resource}|{event_id}",
        resolve_key=f"azure:{rule_and_resource}",
        occurrence_key=f"azure:{rule_and_resource}|{status}|{event_id}",
        rule_key=rule_id or rule_name or operation,
        facts=facts,
        monitoring_service=f"Activity Log - {event_source}" if event_source else "Activity Log",
        signal_type="Activity Log",
        description=_scalar(context.get("description"), "data.context.description", VALUE_LIMIT),
        occurred_at=parse_timestamp(event_time, f"{where}.eventTimestamp"),
        target_ids=[resource_id] if resource_id else [],
        stated_resource={
            "subscription_id": subscription,
            "resource_group": _scalar(event.get("resourceGroupName"), f"{where}.resourceGroupName"),
            "resource_type": _scalar(event.get("resourceType"), f"{where}.resourceType"),
            "alert_rule_id": rule_id,
        },
        custom_properties=_string_map(data.get("properties"), "data.properties"),
    )


def _parse_legacy_log(body: dict[str, Any], prefix: str) -> _Alert:
    """The legacy log search alert: flat at the top level (Log Analytics) or under `data`."""
    alert_body = _required_object(body, prefix.rstrip(".")) if prefix else body
    where = prefix.rstrip(".")
    rule = _clean(text(body, f"{prefix}AlertRuleName", required=True))
    facts = _parse_log_v1_context(alert_body, where)

    resource_id = _scalar(alert_body.get("ResourceId"), f"{prefix}ResourceId")
    workspace = _scalar(alert_body.get("WorkspaceId"), f"{prefix}WorkspaceId")
    application = _scalar(alert_body.get("ApplicationId"), f"{prefix}ApplicationId")
    start = _scalar(
        alert_body.get("SearchIntervalStartTimeUtc"), f"{prefix}SearchIntervalStartTimeUtc"
    )
    end = _scalar(alert_body.get("SearchIntervalEndtimeUtc"), f"{prefix}SearchIntervalEndtimeUtc")
    target = resource_id or workspace or application

    rule_and_target = f"{rule}|{target}"
    return _Alert(
        kind=EventKind.FAILURE,
        rule=rule,
        run_key=f"azure:{rule_and_target}|{end}",
        resolve_key=f"azure:{rule_and_target}",
        occurrence_key=f"azure:{rule_and_target}|{start}|{end}",
        rule_key=rule,
        facts=facts,
        monitoring_service="Application Insights" if application else "Log Analytics",
        signal_type="Log",
        severity_label=_scalar(alert_body.get("Severity"), f"{prefix}Severity"),
        description=_scalar(alert_body.get("Description"), f"{prefix}Description", VALUE_LIMIT),
        occurred_at=_lenient_timestamp(end),
        target_ids=[resource_id] if resource_id else facts.data_sources[:1],
        configuration_items=_text_list(
            alert_body, "AffectedConfigurationItems", f"{prefix}AffectedConfigurationItems"
        ),
        stated_resource={
            "subscription_id": _scalar(alert_body.get("SubscriptionId"), f"{prefix}SubscriptionId"),
        },
    )


def _parse_legacy_budget(body: dict[str, Any]) -> _Alert:
    """The Cost Management budget body (`AIP Budget Notification`): one per threshold crossed."""
    data = _string_map(_required_object(body, "data"), "data")
    facts = _budget_facts(data)
    name = _clean(text(body, "data.BudgetName", required=True))
    subscription = _lookup(data, "SubscriptionId")
    group = _lookup(data, "ResourceGroup")
    scope = f"/subscriptions/{subscription}" if subscription else ""
    scope += f"/resourceGroups/{group}" if scope and group else ""
    budget = f"{scope}|{name}"
    period = _lookup(data, "BudgetStartDate")
    threshold = _lookup(data, "NotificationThresholdAmount")
    return _Alert(
        kind=EventKind.FAILURE,
        rule=name,
        # One ticket per budget, period and threshold crossed; a re-send is a duplicate.
        run_key=f"azure:budget:{budget}|{period}|{threshold}",
        resolve_key=f"azure:budget:{budget}",
        occurrence_key=f"azure:budget:{budget}|{period}|{threshold}",
        rule_key=f"budget:{budget}",
        facts=facts,
        monitoring_service="Cost Management",
        signal_type="Budget",
        stated_resource={
            "subscription_id": subscription,
            "subscription_name": _lookup(data, "SubscriptionName"),
            "resource_group": group,
        },
    )


def _legacy_status(body: dict[str, Any]) -> EventKind:
    status = text(body, "data.status", required=True)
    kind = _LEGACY_STATUSES.get(status.lower())
    if kind is None:
        raise ParseError(
            f"unknown status {_quoted(status)} (expected Activated/Resolved/Deactivated)"
        )
    return kind


# --- alert contexts ------------------------------------------------------------------------


def _parse_common_context(service: str, context: dict[str, Any], where: str) -> _Facts:
    """Pick the alert family by the context's shape first, the monitoring service second.

    The shape wins because the services do not map one to one: a log search alert V1 can come
    as monitoringService "Platform", and Service Health sends numeric eventSource/level.
    """
    keys = context.keys()
    condition_type = _scalar(context.get("conditionType"), f"{where}.conditionType").lower()
    service_key = service.lower().replace(" ", "")
    if condition_type == "logquerycriteria":
        return _parse_log_v2_condition(context, where)
    if "condition" in keys:
        return _parse_metric_condition(context, where)
    if {"SearchQuery", "SearchResults", "SearchResult"} & keys:
        return _parse_log_v1_context(context, where)
    if {"DetectionSummary", "SmartDetectorId"} & keys:
        return _parse_smart_detector_context(context, where)
    if {"eventSource", "operationName"} & keys:
        return _parse_activity_log_event(context, where)
    if "expression" in keys:
        return _parse_prometheus_context(context, where)
    if "AlertData" in keys or service_key == "costalerts":
        return _parse_cost_context(context, where)
    if service_key in {"logalertsv2", "simplelogalert"}:
        return _parse_log_v2_condition(context, where)
    if service_key == "platform":
        return _parse_metric_condition(context, where)
    if service_key in {"loganalytics", "applicationinsights"}:
        return _parse_log_v1_context(context, where)
    if service_key == "smartdetector":
        return _parse_smart_detector_context(context, where)
    if service_key.startswith("activitylog") or service_key in {"servicehealth", "resourcehealth"}:
        return _parse_activity_log_event(context, where)
    facts = _Facts()
    if context:
        facts.sentences.append(f"Alert context: {_loose(context, VALUE_LIMIT)}.")
    return facts


def _parse_metric_condition(context: dict[str, Any], where: str) -> _Facts:
    facts = _Facts()
    condition_type = _scalar(context.get("conditionType"), f"{where}.conditionType")
    condition = _object_at(context, "condition", f"{where}.condition")
    window = _scalar(condition.get("windowSize"), f"{where}.condition.windowSize")
    criteria = _list_at(condition, "allOf", f"{where}.condition.allOf")
    facts.details["condition_type"] = condition_type
    facts.details["window_size"] = window
    dynamic = "dynamic" in condition_type.lower()
    for index, raw in enumerate(criteria):
        path = f"{where}.condition.allOf[{index}]"
        criterion = require_object(raw, f"field '{path}'")
        metric = _scalar(criterion.get("metricName"), f"{path}.metricName")
        namespace = _scalar(criterion.get("metricNamespace"), f"{path}.metricNamespace")
        aggregation = _scalar(criterion.get("timeAggregation"), f"{path}.timeAggregation")
        operator = _scalar(criterion.get("operator"), f"{path}.operator")
        threshold = _scalar(criterion.get("threshold"), f"{path}.threshold")
        value = _number_or_text(criterion.get("metricValue"))
        web_test = _scalar(criterion.get("webTestName"), f"{path}.webTestName")
        sensitivity = _scalar(criterion.get("alertSensitivity"), f"{path}.alertSensitivity")
        dimensions = _dimensions(criterion, "dimensions", f"{path}.dimensions")

        sentence = f"Metric '{metric or 'unknown'}'"
        sentence += f" ({namespace})" if namespace else ""
        sentence += f": {aggregation.lower() or 'value'} {_display(value)}"
        sentence += f" over {window}" if window else ""
        sentence += f", condition {operator} {threshold}" if operator or threshold else ""
        sentence += f" (dynamic threshold, {sensitivity} sensitivity)" if sensitivity else ""
        sentence += f", availability test '{web_test}'" if web_test else ""
        sentence += f", dimensions {_format_pairs(dimensions)}" if dimensions else ""
        facts.sentences.append(sentence + ".")

        dynamic = dynamic or bool(sensitivity)
        if index == 0:
            facts.details.update(
                metric_name=metric,
                metric_namespace=namespace,
                metric_value=value,
                threshold=threshold,
                operator=operator,
                time_aggregation=aggregation,
                sensitivity=sensitivity,
                web_test=web_test,
            )
        _merge(facts.dimensions, dimensions)
        facts.scope_hints.append(namespace)
        facts.metrics.append(metric)
    facts.details["alert_kind"] = "metric_dynamic" if dynamic else "metric"
    return facts


def _parse_log_v2_condition(context: dict[str, Any], where: str) -> _Facts:
    facts = _Facts()
    condition = _object_at(context, "condition", f"{where}.condition")
    window = _scalar(condition.get("windowSize"), f"{where}.condition.windowSize")
    window_start = _scalar(condition.get("windowStartTime"), f"{where}.condition.windowStartTime")
    window_end = _scalar(condition.get("windowEndTime"), f"{where}.condition.windowEndTime")
    criteria = _list_at(condition, "allOf", f"{where}.condition.allOf")
    facts.details.update(
        condition_type="LogQueryCriteria",
        alert_kind="log_search",
        window_size=window,
        window_start=window_start,
        window_end=window_end,
    )
    for index, raw in enumerate(criteria):
        path = f"{where}.condition.allOf[{index}]"
        criterion = require_object(raw, f"field '{path}'")
        query = _scalar(criterion.get("searchQuery"), f"{path}.searchQuery", VALUE_LIMIT)
        measure = _scalar(criterion.get("metricMeasureColumn"), f"{path}.metricMeasureColumn")
        aggregation = _scalar(criterion.get("timeAggregation"), f"{path}.timeAggregation")
        operator = _scalar(criterion.get("operator"), f"{path}.operator")
        threshold = _scalar(criterion.get("threshold"), f"{path}.threshold")
        value = _number_or_text(criterion.get("metricValue"))
        resource_types = _loose(criterion.get("targetResourceTypes"), NAME_LIMIT)
        dimensions = _dimensions(criterion, "dimensions", f"{path}.dimensions")
        for key, link in criterion.items():
            _add_link(facts.links, key, link)
        facts.rows.extend(_event_rows(criterion, f"{path}.event"))

        sentence = f"Log search query `{query}`" if query else "Log search"
        measured = f"{aggregation.lower()} of {measure}" if measure else aggregation.lower()
        sentence += f" measured {measured or 'value'} {_display(value)}"
        sentence += f" over {window}" if window else ""
        sentence += f" ({window_start} to {window_end})" if window_start and window_end else ""
        sentence += f", condition {operator} {threshold}" if operator or threshold else ""
        sentence += f", dimensions {_format_pairs(dimensions)}" if dimensions else ""
        facts.sentences.append(sentence + ".")

        if index == 0:
            facts.details.update(
                search_query=query,
                metric_value=value,
                threshold=threshold,
                operator=operator,
                time_aggregation=aggregation,
                metric_measure=measure,
            )
        _merge(facts.dimensions, dimensions)
        facts.scope_hints.extend([query, resource_types])
    facts.row_count = len(facts.rows)
    _describe_rows(facts)
    return facts


def _parse_log_v1_context(context: dict[str, Any], where: str) -> _Facts:
    """Log search alerts V1: the common-schema context and the legacy body share these fields."""
    facts = _Facts()

    def at(key: str) -> str:  # the legacy body is flat: its fields have no parent path
        return f"{where}.{key}" if where else key

    query = _scalar(context.get("SearchQuery"), at("SearchQuery"), VALUE_LIMIT)
    alert_type = _scalar(context.get("AlertType"), at("AlertType"))
    count = _number_or_text(context.get("ResultCount"))
    operator = _scalar(
        context.get("Operator", context.get("AlertThresholdOperator")), at("Operator")
    )
    threshold = _scalar(
        context.get("Threshold", context.get("AlertThresholdValue")), at("Threshold")
    )
    start = _scalar(context.get("SearchIntervalStartTimeUtc"), at("SearchIntervalStartTimeUtc"))
    end = _scalar(context.get("SearchIntervalEndtimeUtc"), at("SearchIntervalEndtimeUtc"))
    workspace = _scalar(context.get("WorkspaceId"), at("WorkspaceId"))
    application = _scalar(context.get("ApplicationId"), at("ApplicationId"))
    dimensions = _dimensions(context, "Dimensions", at("Dimensions"))
    for key, link in context.items():
        _add_link(facts.links, key, link)

    results_key = "SearchResults" if "SearchResults" in context else "SearchResult"
    results = _object_at(context, results_key, at(results_key))
    facts.rows, facts.row_count = _result_rows(results, at(results_key))
    facts.data_sources, tables = _data_sources(results, at(results_key))
    facts.scope_hints.extend([*facts.data_sources, *tables])

    sentence = "Log search alert" + (f" ({alert_type})" if alert_type else "")
    sentence += f": query `{query}`" if query else ""
    sentence += f" returned {_display(count)} result(s)" if count != "" else ""
    sentence += f" between {start} and {end}" if start and end else ""
    sentence += f", condition {operator} {threshold}" if operator or threshold else ""
    sentence += f", dimensions {_format_pairs(dimensions)}" if dimensions else ""
    facts.sentences.append(sentence + ".")
    _describe_rows(facts)

    facts.dimensions = dimensions
    facts.details.update(
        alert_kind="log_search",
        window_start=start,
        window_end=end,
        search_query=query,
        alert_type=alert_type,
        result_count=count,
        threshold=threshold,
        operator=operator,
        workspace_id=workspace,
        application_id=application,
    )
    facts.scope_hints.append(query)
    return facts


# Service Health and Resource Health send the event's level as an EventLevel number, and its
# source as a number the schema does not name (so a message leaves it out).
_LEVEL_NAMES = {"1": "Critical", "2": "Error", "3": "Warning", "4": "Informational", "5": "Verbose"}


def _parse_activity_log_event(event: dict[str, Any], where: str) -> _Facts:
    """Activity log events: Administrative, Policy, Autoscale, Security, Service/Resource Health."""
    facts = _Facts()
    operation = _scalar(event.get("operationName"), f"{where}.operationName")
    status = _loose(event.get("status"), NAME_LIMIT)
    sub_status = _loose(event.get("subStatus"), NAME_LIMIT)
    event_source = _loose(event.get("eventSource"), NAME_LIMIT)
    caller = _loose(event.get("caller"), NAME_LIMIT)
    level = _loose(event.get("level"), NAME_LIMIT)
    event_time = _loose(event.get("eventTimestamp"), NAME_LIMIT)
    authorization = _object_at(event, "authorization", f"{where}.authorization")
    scope = _scalar(authorization.get("scope"), f"{where}.authorization.scope")
    description = _loose(
        event.get("Activity Log Event Description") or event.get("description"), VALUE_LIMIT
    )
    properties = _object_at(event, "properties", f"{where}.properties")

    sentence = f"Activity log event {operation or 'unknown operation'}"
    sentence += f" from {event_source}" if event_source and not event_source.isdigit() else ""
    sentence += f" with status {status}" if status else ""
    sentence += f" ({sub_status})" if sub_status else ""
    sentence += f", level {_LEVEL_NAMES.get(level, level)}" if level else ""
    sentence += f", caller {caller}" if caller else ""
    sentence += f", scope {scope}" if scope else ""
    sentence += f", at {event_time}" if event_time else ""
    facts.sentences.append(sentence + ".")
    if description:
        facts.sentences.append(f"Event description: {description}.")

    used: set[str] = set()
    category = _activity_category(event, properties, where)
    facts.details["alert_kind"] = _ACTIVITY_KINDS.get(category, "activity_log")
    facts.details["event_category"] = category
    if category == "servicehealth":
        used = _describe_service_health(properties, facts)
    elif category == "resourcehealth":
        used = _describe_resource_health(properties, facts)
    elif "newInstancesCount" in properties:
        used = _describe_autoscale(properties, facts)
    elif "policies" in properties:
        _describe_policies(properties.get("policies"), facts)
    remaining = {
        _clean(key, 100): _loose(value, NAME_LIMIT)
        for key, value in itertools.islice(properties.items(), MAX_ITEMS)
        if key not in used and key.lower() not in _NOISY_EVENT_PROPERTIES
    }
    remaining = {key: value for key, value in remaining.items() if value}
    if remaining:
        facts.sentences.append(f"Event properties: {_format_pairs(remaining, 2_000)}.")

    if category == "security":
        facts.details["security"] = {
            key: _loose(properties.get(key), NAME_LIMIT)
            for key in _SECURITY_FIELDS
            if _loose(properties.get(key), NAME_LIMIT)
        }
    facts.details.update(
        operation_name=operation,
        operation_status=status,
        operation_sub_status=sub_status,
        event_source=event_source,
        caller=caller,
        level=level,
        correlation_id=_loose(event.get("correlationId"), NAME_LIMIT),
        event_description=description,
        event_time=event_time,
    )
    facts.scope_hints.extend(
        [_scalar(event.get("resourceType"), f"{where}.resourceType"), _resource_type_of(scope)]
    )
    return facts


_ACTIVITY_KINDS = {
    "administrative": "activity_administrative",
    "policy": "activity_policy",
    "autoscale": "activity_autoscale",
    "security": "activity_security",
    "recommendation": "activity_recommendation",
    "servicehealth": "service_health",
    "resourcehealth": "resource_health",
}
_SECURITY_FIELDS = (
    "category",
    "threatStatus",
    "actionTaken",
    "compromisedEntity",
    "filePath",
    "protectionType",
    "remediationSteps",
    "severity",
)


def _activity_category(event: dict[str, Any], properties: dict[str, Any], where: str) -> str:
    """The activity log category (administrative, policy, ...), lower case without spaces.

    Service Health sends eventSource as a number, so its operation and properties decide first.
    """
    operation = _scalar(event.get("operationName"), f"{where}.operationName").lower()
    if operation.startswith("microsoft.servicehealth") or "trackingId" in properties:
        return "servicehealth"
    if operation.startswith("microsoft.resourcehealth") or "currentHealthStatus" in properties:
        return "resourcehealth"
    for candidate in (
        properties.get("eventCategory"),
        event.get("category"),
        event.get("eventSource"),
    ):
        if isinstance(candidate, dict):
            candidate = candidate.get("value")
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip().lower().replace(" ", "")
    return ""


def _impacted_services(value: Any) -> dict[str, list[str]]:
    """Each service a Service Health event names in `impactedServices` with its regions, in
    their order. Azure sends it as JSON text (`[{"ServiceName": ..., "ImpactedRegions":
    [{"RegionName": ...}]}]`); its `service` and `region` properties name one of each, where
    one event may be about several services in several regions. Empty when it is not that
    shape. The whole text is read (the body it came in is bounded): cut short it is no JSON,
    and an outage of many regions, whose text is the longest, read as its first service's
    in its first region; at most MAX_ITEMS services, each with at most MAX_ITEMS regions."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return {}
    impacted: dict[str, list[str]] = {}
    for entry in value[:MAX_ITEMS] if isinstance(value, list) else []:
        if not isinstance(entry, dict):
            continue
        service = _loose(entry.get("ServiceName"), NAME_LIMIT)
        regions = entry.get("ImpactedRegions")
        names = [
            _loose(region.get("RegionName"), NAME_LIMIT)
            for region in (regions[:MAX_ITEMS] if isinstance(regions, list) else [])
            if isinstance(region, dict)
        ]
        if service:
            known = impacted.setdefault(service, [])
            known.extend(name for name in names if name and name not in known)
    return impacted


def _describe_service_health(properties: dict[str, Any], facts: _Facts) -> set[str]:
    def prop(name: str, limit: int = NAME_LIMIT) -> str:
        return _loose(properties.get(name), limit)

    impacted = _impacted_services(properties.get("impactedServices"))
    services = _clean(", ".join(impacted), VALUE_LIMIT) or prop("service")
    regions = _clean(
        ", ".join(dict.fromkeys(region for named in impacted.values() for region in named)),
        VALUE_LIMIT,
    ) or prop("region")
    sentence = f"Service Health {prop('incidentType') or 'event'} '{prop('title')}'"
    sentence += f" (tracking id {prop('trackingId')}, stage {prop('stage') or 'unknown'})"
    if len(impacted) > 1:
        sentence += " affecting " + "; ".join(
            service + (f" in {', '.join(named)}" if named else "")
            for service, named in impacted.items()
        )
    else:
        sentence += f" affecting {services}" if services else ""
        sentence += f" in {regions}" if regions else ""
    if prop("impactStartTime"):
        sentence += f", impact from {prop('impactStartTime')}"
        sentence += f" to {prop('impactMitigationTime')}" if prop("impactMitigationTime") else ""
    facts.sentences.append(sentence + ".")
    communication = _strip_html(prop("communication", VALUE_LIMIT * 2))
    if communication:
        facts.sentences.append(f"Communication: {_clip(communication, VALUE_LIMIT)}")
    facts.details.update(
        tracking_id=prop("trackingId"),
        incident_type=prop("incidentType"),
        stage=prop("stage"),
        health_event_status=prop("status"),
        title=prop("title"),
        service=services,
        region=regions,
        impact_start=prop("impactStartTime"),
        impact_mitigated=prop("impactMitigationTime"),
    )
    return {
        "title",
        "incidentType",
        "trackingId",
        "stage",
        "service",
        "region",
        "impactStartTime",
        "impactMitigationTime",
        "communication",
        "impactedServices",
    }


def _describe_resource_health(properties: dict[str, Any], facts: _Facts) -> set[str]:
    def prop(name: str) -> str:
        return _loose(properties.get(name), VALUE_LIMIT)

    sentence = f"Resource Health: {prop('title') or 'health event'}"
    sentence += f"; status changed from {prop('previousHealthStatus') or 'unknown'}"
    sentence += f" to {prop('currentHealthStatus')}"
    sentence += f" ({prop('type')}" + (f", cause {prop('cause')})" if prop("cause") else ")")
    sentence += f"; details: {prop('details')}" if prop("details") else ""
    facts.sentences.append(sentence + ".")
    facts.details.update(
        current_health_status=prop("currentHealthStatus"),
        previous_health_status=prop("previousHealthStatus"),
        title=prop("title"),
        health_event_type=prop("type"),
        health_cause=prop("cause"),
        health_details=prop("details"),
    )
    return {"title", "previousHealthStatus", "currentHealthStatus", "type", "cause", "details"}


def _describe_autoscale(properties: dict[str, Any], facts: _Facts) -> set[str]:
    old = _loose(properties.get("oldInstancesCount"), NAME_LIMIT)
    new = _loose(properties.get("newInstancesCount"), NAME_LIMIT)
    description = _loose(properties.get("description"), VALUE_LIMIT)
    facts.sentences.append(
        f"Autoscale: {description.rstrip('.') or 'scale action'} (instances {old} -> {new})."
    )
    return {"description", "oldInstancesCount", "newInstancesCount"}


def _describe_policies(raw_policies: Any, facts: _Facts) -> None:
    """`policies` is a JSON array serialized into a string; name the assignments and effects."""
    policies: Any = raw_policies
    if isinstance(raw_policies, str):
        try:
            policies = json.loads(raw_policies[:VALUE_LIMIT])
        except (ValueError, RecursionError):
            policies = None
    if not isinstance(policies, list):
        return
    described = []
    for policy in policies[:10]:
        if not isinstance(policy, dict):
            continue
        effect = _loose(policy.get("policyDefinitionEffect"), NAME_LIMIT)
        assignment = _loose(policy.get("policyAssignmentName"), NAME_LIMIT)
        definition = _loose(
            policy.get("policyDefinitionReferenceId") or policy.get("policyDefinitionName"),
            NAME_LIMIT,
        )
        described.append(f"{effect or 'policy'} by assignment '{assignment}' ({definition})")
    if described:
        facts.sentences.append(f"Policy: {'; '.join(described)}.")


# Smart detector context fields read by name; of the others, those that are text or numbers
# (or lists of them) are kept as they are stated, but for links, charts, tables and the
# Application Insights queries behind them (`...Request`), which say nothing by themselves.
_SMART_DETECTOR_READ = {
    "smartdetectorname",
    "smartdetectorid",
    "detectionsummary",
    "detectedvalue",
    "normalvalue",
    "detectedfailurerate",
    "normalfailurerate",
    "formattedoccurrencetime",
    "formattedoccurencetime",  # Failure Anomalies spells it so
    "analysistimestamp",
}
_SMART_DETECTOR_NOISE = re.compile(
    r"(?:request|charts?|tables?|links?|urls?|uris?)$", re.IGNORECASE
)
MAX_STATED_FACTS = 20


def _parse_smart_detector_context(context: dict[str, Any], where: str) -> _Facts:
    """Application Insights smart detection (Failure Anomalies, latency, exception, memory,
    trace degradation...): its summary, detected and normal value (a failure rate for Failure
    Anomalies) and every other fact the detector states (`_stated_facts`)."""
    facts = _Facts()

    def prop(*names: str, limit: int = NAME_LIMIT) -> str:
        return next((_loose(context.get(n), limit) for n in names if context.get(n)), "")

    detector = prop("SmartDetectorName") or prop("SmartDetectorId") or "Smart detector"
    summary = prop("DetectionSummary", limit=VALUE_LIMIT)
    rate = bool(context.get("DetectedFailureRate"))
    detected = prop("DetectedValue", "DetectedFailureRate")
    normal = prop("NormalValue", "NormalFailureRate")
    measure = "failure rate " if rate and not context.get("DetectedValue") else "value "
    sentence = f"{detector}: {summary or 'anomaly detected'}"
    sentence += f"; detected {measure}{detected}" if detected else ""
    sentence += f", normal {measure}{normal}" if normal else ""
    occurred = prop("FormattedOccurrenceTime", "FormattedOccurenceTime")
    sentence += f"; occurred at {occurred}" if occurred else ""
    facts.sentences.append(sentence + ".")
    stated = _stated_facts(context)
    if stated:
        facts.sentences.append(f"The detector also states: {_format_pairs(stated)}.")
    facts.details.update(
        alert_kind="smart_detector",
        smart_detector_name=prop("SmartDetectorName"),
        detection_summary=summary,
        occurrence_time=occurred,
        smart_detector_id=prop("SmartDetectorId"),
        detected_value=detected,
        normal_value=normal,
        detected_measure="failure rate" if detected and measure == "failure rate " else "",
        stated_facts=stated,
    )
    return facts


def _stated_facts(context: dict[str, Any]) -> dict[str, str]:
    """A smart detector's other facts (the affected operation, request or dependency, counts,
    rates...): text, numbers or lists of them, HTML stripped, as stated."""
    stated: dict[str, str] = {}
    for key, value in itertools.islice(context.items(), MAX_ITEMS * 2):
        name = _clip(_clean(str(key)), 100)
        if (
            not name
            or name.lower() in _SMART_DETECTOR_READ
            or _SMART_DETECTOR_NOISE.search(name)
            or len(stated) >= MAX_STATED_FACTS
        ):
            continue
        if isinstance(value, list) and all(
            isinstance(item, str | int | float) and not isinstance(item, bool) for item in value
        ):
            text_value = ", ".join(_loose(item, 300) for item in value[:MAX_ITEMS])
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            text_value = _loose(value, VALUE_LIMIT)
        else:
            continue
        text_value = _clip(_strip_html(text_value), 1_000)
        if text_value:
            stated[name] = text_value
    return stated


_BUDGET_FIELDS = {
    # detail -> the names the cost alert context and the older budget body use for it
    "budget_name": ("BudgetName",),
    "budget_type": ("BudgetType",),
    "budget_amount": ("BudgetThreshold", "Budget", "Amount"),
    "spent_amount": ("SpentAmount", "SpendingAmount"),
    "notification_threshold": ("NotificationThresholdAmount",),
    "threshold_type": ("ThresholdType",),
    "unit": ("Unit",),
    "budget_start": ("BudgetStartDate",),
    "budget_scope": ("Scope", "ResourceGroup", "SubscriptionName"),
    "budget_creator": ("BudgetCreator",),
}


def _parse_cost_context(context: dict[str, Any], where: str) -> _Facts:
    """Cost Management budget alerts: `AlertCategory` + `AlertData` in the common schema."""
    category = _scalar(context.get("AlertCategory"), f"{where}.AlertCategory")
    data = _string_map(context.get("AlertData"), f"{where}.AlertData")
    facts = _budget_facts(data)
    facts.details["cost_alert_category"] = category
    return facts


def _budget_facts(data: dict[str, str]) -> _Facts:
    facts = _Facts()
    budget = {name: _lookup(data, *aliases) for name, aliases in _BUDGET_FIELDS.items()}
    facts.details.update(alert_kind="budget", **{k: v for k, v in budget.items() if v})
    # Amounts come as "$999.99" (cost alerts) or "100" with a separate unit (older body).
    stated_currency = budget["spent_amount"][:1] in ("$", "€", "£")
    unit = f" {budget['unit']}" if budget["unit"] and not stated_currency else ""
    sentence = f"Budget '{budget['budget_name'] or 'unnamed'}'"
    sentence += f" ({budget['budget_type']})" if budget["budget_type"] else ""
    sentence += f": spent {budget['spent_amount']}{unit}" if budget["spent_amount"] else ""
    sentence += f" of {budget['budget_amount']}{unit}" if budget["budget_amount"] else ""
    if budget["notification_threshold"]:
        sentence += f", notification threshold {budget['notification_threshold']}"
        sentence += f" ({budget['threshold_type'].lower()})" if budget["threshold_type"] else ""
    sentence += f", period starting {budget['budget_start']}" if budget["budget_start"] else ""
    sentence += f", scope {budget['budget_scope']}" if budget["budget_scope"] else ""
    facts.sentences.append(sentence + ".")
    shown = {key: value for key, value in data.items() if key not in _BUDGET_SHOWN}
    if shown:
        facts.sentences.append(f"Budget details: {_format_pairs(shown, 2_000)}.")
    return facts


_BUDGET_SHOWN = {alias for aliases in _BUDGET_FIELDS.values() for alias in aliases}


def _parse_prometheus_context(context: dict[str, Any], where: str) -> _Facts:
    """A Prometheus rule group's alert: its expression and value, labels (which series: the
    dimensions), and the annotations its rule writes for people, summary and description
    first."""
    facts = _Facts()
    expression = _loose(context.get("expression"), VALUE_LIMIT)
    value = _loose(context.get("expressionValue"), NAME_LIMIT)
    labels = _string_map(context.get("labels"), f"{where}.labels")
    annotations = _string_map(context.get("annotations"), f"{where}.annotations")
    summary = _lookup(annotations, "summary")
    description = _lookup(annotations, "description")
    others = {
        key: item
        for key, item in annotations.items()
        if key.lower() not in {"summary", "description"}
    }
    facts.sentences += [f"Summary: {summary.rstrip('.')}."] if summary else []
    facts.sentences += [f"Description: {description.rstrip('.')}."] if description else []
    sentence = f"Prometheus rule `{expression}` evaluated to {value or 'unknown'}"
    sentence += f", labels {_format_pairs(labels)}" if labels else ""
    sentence += f", annotations {_format_pairs(others)}" if others else ""
    facts.sentences.append(sentence + ".")
    facts.dimensions = labels
    facts.details.update(
        alert_kind="prometheus",
        expression=expression,
        metric_value=value,
        summary=summary,
        annotation_description=description,
        annotations=others,
    )
    return facts


# --- log search results ---------------------------------------------------------------------


def _result_rows(results: dict[str, Any], where: str) -> tuple[list[dict[str, str]], int]:
    """The `PrimaryResult` table (or the first one) as column -> value rows, and its row count."""
    tables = _list_at(results, "tables", f"{where}.tables")
    if not tables:
        return [], 0
    index = next(
        (
            position
            for position, table in enumerate(tables)
            if isinstance(table, dict) and table.get("name") == "PrimaryResult"
        ),
        0,
    )
    path = f"{where}.tables[{index}]"
    table = require_object(tables[index], f"field '{path}'")
    names = []
    for column_index, column in enumerate(_list_at(table, "columns", f"{path}.columns")):
        column_path = f"{path}.columns[{column_index}]"
        if isinstance(column, str):
            names.append(_clean(column))
        else:
            column_object = require_object(column, f"field '{column_path}'")
            names.append(_scalar(column_object.get("name"), f"{column_path}.name"))
    raw_rows = table.get("rows")
    rows = []
    for row_index, row in enumerate(_list_at(table, "rows", f"{path}.rows")):
        if not isinstance(row, list):
            raise ParseError(f"field '{path}.rows[{row_index}]' must be a list")
        rows.append(
            {name: _loose(value, VALUE_LIMIT) for name, value in zip(names, row, strict=False)}
        )
    return rows, len(raw_rows) if isinstance(raw_rows, list) else 0


def _data_sources(results: dict[str, Any], where: str) -> tuple[list[str], list[str]]:
    """The resource ids and table names a log search ran over."""
    resource_ids, tables = [], []
    for index, raw in enumerate(_list_at(results, "dataSources", f"{where}.dataSources")):
        path = f"{where}.dataSources[{index}]"
        source = require_object(raw, f"field '{path}'")
        resource_ids.append(_scalar(source.get("resourceId"), f"{path}.resourceId"))
        tables.extend(_text_list(source, "tables", f"{path}.tables"))
    return [resource_id for resource_id in resource_ids if resource_id], tables


def _event_rows(criterion: dict[str, Any], where: str) -> list[dict[str, str]]:
    """Simple log alerts carry their result as `event`: a list of name/value pair lists."""
    rows = []
    for index, raw in enumerate(_list_at(criterion, "event", where)):
        if not isinstance(raw, list):
            raise ParseError(f"field '{where}[{index}]' must be a list")
        rows.append(_name_value_pairs(raw[:MAX_ITEMS], f"{where}[{index}]"))
    return rows


def _describe_rows(facts: _Facts) -> None:
    if not facts.rows:
        return
    shown = facts.rows[:MAX_ROWS_IN_MESSAGE]
    rendered = "; ".join(f"[{_format_pairs(row, 1_500)}]" for row in shown)
    total = max(facts.row_count, len(facts.rows))
    facts.sentences.append(f"Result rows ({len(shown)} of {total}): {rendered}.")


# --- the event -----------------------------------------------------------------------------


# Activity log levels as words or as numbers (EventLevel: 4 Informational, 5 Verbose).
_QUIET_LEVELS = {"informational", "verbose", "4", "5"}
# A succeeded delete operation (`Microsoft.Storage/storageAccounts/delete`): the resource is gone.
_DELETE_OPERATION = re.compile(r"/delete$", re.IGNORECASE)
# Service Health stages that say the event is over (a post-incident review included).
_SERVICE_HEALTH_OVER = {"resolved", "rca", "complete", "completed", "canceled", "cancelled"}
# Service Health advisories that report no problem: Microsoft Learn names the incident type
# `Information` (potential optimizations); "Informational", the only one read before, still is.
_SERVICE_HEALTH_ADVISORIES = {"information", "informational"}
# Service Health notices: no outage, something to plan or act on in time (a planned
# maintenance, an action required of the subscription, a billing update: Microsoft Learn's
# `Billing`, told to the subscription's owners). Each opens a ticket, Low, that pages
# nobody unless SERVICE_HEALTH_NOTICES_PAGE says so (`SERVICE_HEALTH_NOTICE`); an `Incident`
# (a service issue) is the outage, and pages, and so do a security advisory (a vulnerability
# or exposure of the subscription's resources: acting on it may not wait) and an emergency
# maintenance (Azure sends it at level Warning, a planned one at Informational): at short
# notice, it may need acting on now.
_SERVICE_HEALTH_NOTICES = {"maintenance", "actionrequired", "billing"}
# Alert kinds that can describe an ADF pipeline failure (metric and log alerts on a factory);
# an activity log or health event on a factory is about the factory, not a pipeline run.
_ADF_ALERT_KINDS = {"metric", "metric_dynamic", "log_search", ""}


def _settle_activity_event(alert: _Alert) -> None:
    """Decide what an activity log or health event does, and key it to what it ends.

    Activity log alerts fire on every matching event, failed or not; only the ones that report
    a problem open a ticket. Informational or succeeded events are kept (the delivery is stored)
    and end what they end: a succeeded operation resolves the ticket of the same operation
    failing on the same resource, a resource back to Available resolves that resource's health
    ticket, and a Service Health event in a closing stage resolves that incident's ticket. A
    succeeded delete ends nothing: the resource is gone, and that opens a ticket
    (`details["resource_deleted"]`).
    """
    details = alert.facts.details
    kind = str(details.get("alert_kind", ""))
    if alert.kind is not EventKind.FAILURE or not (
        kind.startswith("activity") or kind in {"service_health", "resource_health"}
    ):
        return
    level = str(details.get("level", "")).lower()
    status = str(details.get("operation_status", "")).lower()
    operation = str(details.get("operation_name", ""))
    resource_id = alert.target_ids[0].lower() if alert.target_ids else ""
    if kind == "service_health":
        tracking = str(details.get("tracking_id", ""))
        if tracking:
            # Every update of one incident is an occurrence of one ticket.
            alert.run_key = alert.resolve_key = f"azure:{alert.rule_key}|servicehealth:{tracking}"
            # When the update was published orders the updates of one incident, as a
            # resource's health steps are ordered: an Active delivered after the Resolved
            # that followed it ends as it lands instead of reopening the ticket.
            happened = _lenient_timestamp(str(details.get("event_time", "")))
            if happened is not None:
                details[HEALTH_EVENT_AT] = happened.isoformat()
        stage = str(details.get("stage", "")).lower()
        event_status = str(details.get("health_event_status", "")).lower()
        if stage in _SERVICE_HEALTH_OVER or event_status == "resolved":
            alert.kind = EventKind.RESOLVED
        elif str(details.get("incident_type", "")).lower() in _SERVICE_HEALTH_ADVISORIES:
            alert.kind = EventKind.IGNORED
        elif _is_notice(str(details.get("incident_type", "")).lower(), level):
            details[SERVICE_HEALTH_NOTICE] = True
    elif kind == "resource_health":
        alert.resolve_key = f"azure:{alert.rule_key}|resourcehealth:{resource_id}"
        # When the health event happened (not when its alert was delivered: Azure does not
        # promise order), which orders a resource's steps (tickets/services.py
        # `_end_if_health_recovered_since`).
        happened = _lenient_timestamp(str(details.get("event_time", "")))
        if happened is not None:
            details[HEALTH_EVENT_AT] = happened.isoformat()
        current = str(details.get("current_health_status", "")).lower()
        if current == "available" or "/resolved/" in operation.lower():
            alert.kind = EventKind.RESOLVED
    elif kind == "activity_policy":
        if level in _QUIET_LEVELS:
            alert.kind = EventKind.IGNORED
    elif kind != "activity_security":  # a security alert is a finding whatever its level
        alert.resolve_key = f"azure:{alert.rule_key}|{operation.lower()}|{resource_id}"
        if status == "failed":
            return
        if status == "succeeded" and _DELETE_OPERATION.search(operation):
            # A rule on a delete operation watches deletions: the deletion is what it reports,
            # not the end of a failure (its Started event, Informational, is ignored).
            details["resource_deleted"] = True
            alert.facts.sentences.append("The operation deleted the resource.")
            return
        if status == "succeeded":
            alert.kind = EventKind.RESOLVED
        elif level in _QUIET_LEVELS:
            alert.kind = EventKind.IGNORED


def _is_notice(incident_type: str, level: str) -> bool:
    """A Service Health event of `incident_type` at `level` (lower case) is a notice
    (`_SERVICE_HEALTH_NOTICES`), not an emergency maintenance (level Warning or above)."""
    if incident_type == "maintenance" and level in _EVENT_LEVELS:
        return False
    return incident_type in _SERVICE_HEALTH_NOTICES


def _to_event(alert: _Alert) -> FailureEvent:
    _settle_activity_event(alert)
    resource = _resource(alert)
    adf = _find_adf_failure(alert, resource)
    details = {
        **alert.facts.details,
        "monitoring_service": alert.monitoring_service,
        "custom_properties": alert.custom_properties,
        "alert_description": alert.description,
        "alert_severity": alert.severity_label,
    }
    details.setdefault("alert_kind", "alert")
    if not alert.rule:
        details["alert_rule_unnamed"] = True  # the RCA says so (analysis/alert_rca.py)

    run_key = alert.run_key
    occurrence_key, recovers_occurrence = alert.occurrence_key, alert.recovers_occurrence
    resolve_key = alert.resolve_key
    deployment = ""
    if adf is None:
        processing_mode = PROCESSING_MODE
        pipeline = alert.rule
        lead: list[str] = []
    else:
        processing_mode = ADF_PROCESSING_MODE
        pipeline = adf.pipeline or alert.rule
        lead = [_describe_adf_failure(adf, alert.kind)]
        if adf.factory:
            resource["factory"] = deployment = adf.factory
            resource.update(adf.location)
        details.update(
            error_code=adf.error_code,
            failure_type=adf.failure_type,
            activity=adf.activity,
            activity_type=adf.activity_type,
            pipeline_run_id=adf.pipeline_run_id,
            trigger=adf.trigger,
            **{ADF_ALERT_ERROR: adf.error_message},
            # Metric alerts carry counts, not the error: the analysis fetches it when it can.
            needs_enrichment=not adf.error_message,
        )
        if not adf.pipeline:
            # The alert names no pipeline (no split dimension, rows of several): the ticket
            # carries the rule's name, which an RCA must not call a pipeline.
            details["named_after_alert_rule"] = True
        if adf.pipeline_run_id:
            run_key = adf_run_key(adf.pipeline_run_id)
            # The run, beside its factory and where it is: what an ADF rerun of the ticket acts
            # on, as the ADF webhook's entity names it (integrations/targets/adf_rerun.py).
            resource["run_id"] = adf.pipeline_run_id
            if alert.names_its_fired:
                # One failure of the run is one occurrence whichever alert of the rule reports
                # it: a stateless log alert reports it again at each evaluation whose window
                # still holds its row (a new alert id each time), a duplicate then, not one
                # more occurrence nor, once its ticket was resolved, a regression paging again.
                # Its Resolved names its Fired by the same key.
                digest = adf_report_digest(adf.pipeline_run_id, adf.reported)
                report = f"azure:{alert.rule_key}|adf-run:{digest}"
                if alert.kind is EventKind.FAILURE:
                    occurrence_key = report
                    if adf.factory and adf.pipeline:
                        # Ended by its pipeline's `Succeeded` (the ADF webhook), as the run's
                        # webhook ticket is: a stateless alert sends no Resolved. Its own
                        # Resolved ends it too, naming its Fired, and ends nothing else.
                        resolve_key = adf_resolve_key(adf.factory, adf.pipeline)
                elif recovers_occurrence:
                    # A Fired recorded before its keys were the run's (an upgrade) is marked
                    # resolved by the key it had (tickets/services.py `_resolve`).
                    details[FIRED_BY_ALERT_ID] = recovers_occurrence
                    recovers_occurrence = report

    message = " ".join([*lead, _headline(alert, resource), *alert.facts.sentences])
    health = details["alert_kind"] == "resource_health"
    if details["alert_kind"] == "service_health" and details.get("title"):
        # What names its ticket (`alert_event_title`): Azure's title of the event, not the
        # rule's name (one rule, "sh-all", often tells of every incident).
        resource[EVENT_TITLE] = details["title"]
    return FailureEvent(
        source=SOURCE,
        processing_mode=processing_mode,
        kind=alert.kind,
        pipeline=_clip(
            pipeline
            or alert.unnamed_rule_title
            or alert.monitoring_service
            or "Azure Monitor alert",
            NAME_LIMIT,
        ),
        run_key=run_key,
        occurrence_key=occurrence_key,
        resolve_key=resolve_key,
        recovers_occurrence=recovers_occurrence,
        deployment=deployment,
        subject=_subject(alert) if adf is None else "",
        correlation_text=_RESOURCE_HEALTH_STATE if health else "",
        error_message=_clean(_WHITESPACE.sub(" ", message), MESSAGE_LIMIT),
        severity_hint=_severity_hint(alert),
        occurred_at=alert.occurred_at,
        resource=resource,
        links=alert.facts.links,
        details={key: value for key, value in details.items() if value not in ("", None, {})},
    )


# Activity log alert rules (Service Health and Resource Health ones too) have no severity: Azure
# sends Sev4 for every one of them, which says nothing of the event. The event's own level does
# (words, or EventLevel numbers: 1 Critical, 2 Error, 3 Warning), and so does what a health or
# security event reports (`_event_severity`).
_EVENT_LEVELS = {
    "critical": Severity.CRITICAL,
    "1": Severity.CRITICAL,
    "error": Severity.HIGH,
    "2": Severity.HIGH,
    "warning": Severity.MEDIUM,
    "3": Severity.MEDIUM,
}
_NO_RULE_SEVERITY = {"", "sev4", "4"}
_SERVICE_HEALTH_OUTAGES = {"incident", "security"}
_DEFENDER_SEVERITIES = {
    "high": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "low": Severity.LOW,
    "informational": Severity.LOW,
}


def _severity_hint(alert: _Alert) -> Severity | None:
    """The severity the alert states: its rule's (Sev0 to Sev4); for an activity log or health
    alert stating Sev4 or nothing, its event's (`_event_severity`), else none (the ticket then
    takes its error class's, tickets/rules.py `severity_for`)."""
    stated = _SEVERITIES.get(alert.severity_label.lower())
    details = alert.facts.details
    kind = str(details.get("alert_kind", ""))
    activity = kind.startswith("activity") or kind in {"service_health", "resource_health"}
    if not activity or alert.severity_label.lower() not in _NO_RULE_SEVERITY:
        return stated
    return _event_severity(kind, details)


def _event_severity(kind: str, details: dict[str, Any]) -> Severity | None:
    """A Service Health incident (a service issue) or security advisory and a resource the
    platform made unavailable are High; a Service Health notice (`_SERVICE_HEALTH_NOTICES`: a
    planned maintenance, an action required, a billing update) is Low, something to plan around and
    no outage, and so is another Service Health event at level Informational (an emergency
    maintenance at Warning has its level's, Medium); a
    Defender for Cloud alert has the severity Defender gives it; other events have their
    level's (Critical, Error, Warning), or none (Informational)."""
    if kind == "resource_health" and (
        str(details.get("current_health_status", "")).lower() == "unavailable"
        and str(details.get("health_cause", "")).lower() != "userinitiated"
    ):
        return Severity.HIGH
    if kind == "service_health":
        if details.get(SERVICE_HEALTH_NOTICE):
            return Severity.LOW
        if str(details.get("incident_type", "")).lower() in _SERVICE_HEALTH_OUTAGES:
            return Severity.HIGH
        if str(details.get("level", "")).lower() in _QUIET_LEVELS:
            return Severity.LOW
    security = details.get("security")
    if kind == "activity_security" and isinstance(security, dict):
        stated = _DEFENDER_SEVERITIES.get(str(security.get("severity", "")).lower())
        if stated is not None:
            return stated
    return _EVENT_LEVELS.get(str(details.get("level", "")).lower())


# What a resource's health events are correlated on (`FailureEvent.correlation_text`): one rule
# and one resource (the subject) is one health ticket, whatever step of the outage Azure reports
# (Activated, Updated; Unavailable, Degraded, Unknown) and however it words it.
_RESOURCE_HEALTH_STATE = "resource health: not available"


def _subject(alert: _Alert) -> str:
    """Which resource this alert of its rule is about (`FailureEvent.subject`): its target
    resource ids and the dimensions that name a resource (`_SUBJECT_NAME`), verbatim. The
    message masks their digits and quoted names, which would make one rule's alerts on
    `vm-prod-07` and `vm-prod-08` one failure, ended by the first of their Resolved. A Service
    Health alert is about one Azure incident, named by its tracking id: two incidents worded
    alike (a maintenance notice of the same template each month) are two failures, not the
    second an occurrence or a regression of the first's ticket."""
    targets = sorted({target.lower() for target in alert.target_ids})
    named = sorted(
        f"{name}={value}"
        for name, value in alert.facts.dimensions.items()
        if value and _SUBJECT_NAME.search(_NAME_PUNCTUATION.sub("", name.lower()))
    )
    details = alert.facts.details
    if details.get("alert_kind") == "service_health" and details.get("tracking_id"):
        named.append(f"servicehealth:{details['tracking_id']}")
    return _clip("|".join([*targets, *named]), VALUE_LIMIT)


_KIND_LABELS = {
    "metric": "metric alert",
    "metric_dynamic": "metric alert (dynamic threshold)",
    "log_search": "log search alert",
    "activity_administrative": "activity log alert (Administrative)",
    "activity_policy": "activity log alert (Policy)",
    "activity_autoscale": "activity log alert (Autoscale)",
    "activity_security": "activity log alert (Security)",
    "activity_recommendation": "activity log alert (Recommendation)",
    "activity_log": "activity log alert",
    "service_health": "Service Health alert",
    "resource_health": "Resource Health alert",
    "smart_detector": "smart detection alert",
    "prometheus": "Prometheus alert",
    "budget": "budget alert",
}
_STATES = {
    EventKind.FAILURE: "fired",
    EventKind.RESOLVED: "resolved",
    EventKind.IGNORED: "reported",
}


def _headline(alert: _Alert, resource: dict[str, Any]) -> str:
    label = _KIND_LABELS.get(str(alert.facts.details.get("alert_kind", "")), "alert")
    rule = f"'{alert.rule}'" if alert.rule else "from an unnamed rule"
    headline = f"Azure Monitor {label} {rule} {_STATES[alert.kind]}"
    headline += f" (severity {alert.severity_label})" if alert.severity_label else ""
    if len(alert.target_ids) > 1:
        headline += f" on {_several_targets(alert.target_ids)}"
    elif resource.get("resource_name") or resource.get("resource_type"):
        headline += f" on {resource.get('resource_type', 'resource')}"
        headline += f" '{resource['resource_name']}'" if resource.get("resource_name") else ""
        if resource.get("resource_group"):
            headline += f" in resource group '{resource['resource_group']}'"
    elif alert.configuration_items:
        headline += f" on {', '.join(alert.configuration_items[:5])}"
    headline += f" [{alert.monitoring_service}]" if alert.monitoring_service else ""
    headline += "."
    if alert.description:
        headline += f" Description: {alert.description.rstrip('.')}."
    return headline


MAX_TARGETS_NAMED = 5


def _several_targets(target_ids: list[str]) -> str:
    """`3 resources: 'vm-a', 'vm-b', 'vm-c' (Microsoft.Compute/virtualMachines, resource group
    'rg')`: an alert on several resources (a log search alert scoped to several) names each,
    and their type and group where they share one."""
    parsed = [_parse_resource_id(target) for target in target_ids]
    names = [
        found.get("resource_name") or target
        for found, target in zip(parsed, target_ids, strict=True)
    ]
    named = ", ".join(f"'{name}'" for name in names[:MAX_TARGETS_NAMED])
    more = len(names) - MAX_TARGETS_NAMED
    named += f" and {more} more" if more > 0 else ""
    shared = []
    for key, label in (("resource_type", ""), ("resource_group", "resource group ")):
        values = {found.get(key, "").lower() for found in parsed}
        if len(values) == 1 and parsed[0].get(key):
            shared.append(f"{label}'{parsed[0][key]}'" if label else parsed[0][key])
    return f"{len(names)} resources: {named}" + (f" ({', '.join(shared)})" if shared else "")


def _resource(alert: _Alert) -> dict[str, Any]:
    resource: dict[str, Any] = _parse_resource_id(alert.target_ids[0]) if alert.target_ids else {}
    resource.update({key: value for key, value in alert.stated_resource.items() if value})
    resource.update(
        resource_id=alert.target_ids[0] if alert.target_ids else "",
        resource_ids=alert.target_ids if len(alert.target_ids) > 1 else [],
        configuration_items=alert.configuration_items,
        monitoring_service=alert.monitoring_service,
        signal_type=alert.signal_type,
        alert_rule=alert.rule,
        alert_id=alert.alert_id,
        dimensions=alert.facts.dimensions,
    )
    return {key: value for key, value in resource.items() if value not in ("", [], {}, None)}


# The affected entity's key of what Azure titled the event a Service Health alert tells of
# ("Azure Data Factory - East US"): its ticket's name (`alert_event_title`).
EVENT_TITLE = "event_title"


def alert_event_title(resource: Any) -> str:
    """What names the ticket of a Service Health alert (tickets/models.py `ticket_title`):
    Azure's title of the incident, maintenance or advisory, as its first alert told it (its
    affected entity's `EVENT_TITLE`, set from `properties.title`), whatever its rule is named;
    blank for any other alert, and for a ticket opened before it was kept (its name stays its
    rule's)."""
    if not isinstance(resource, dict):
        return ""
    title = resource.get(EVENT_TITLE)
    return title if isinstance(title, str) else ""


# How many resources a ticket's name names of an alert on several (`alert_resource_name`).
NAMED_IN_A_NAME = 3


def alert_resource_name(resource: Any) -> str:
    """Which resource an Azure Monitor alert is about, by name, from its ticket's affected
    entity (`_resource`): what tells one rule's alerts apart where its tickets are listed
    side by side (tickets/models.py `ticket_title`). The target's name from its resource id
    ("vm-web-03"); for an alert on a workspace it queries (a log search alert, a Prometheus
    alert), the resource its rows name: a resource dimension (`_ResourceId`, `Computer`,
    `Node`...: `_SUBJECT_NAME`), else its one configuration item (a computer, a cluster),
    else none (the workspace is not what it is about); for an alert on several resources,
    the first NAMED_IN_A_NAME of them and how many more. Blank when the alert names no
    resource: a Service Health alert (its target is a subscription), a budget alert (none)."""
    if not isinstance(resource, dict):
        return ""
    several = resource.get("resource_ids")
    if isinstance(several, list) and len(several) > 1:
        names = [_last_segment(str(target)) for target in several]
        more = len(names) - NAMED_IN_A_NAME
        return ", ".join(names[:NAMED_IN_A_NAME]) + (f" and {more} more" if more > 0 else "")
    target = str(resource.get("resource_id") or "")
    if not is_queried_workspace(target) and _parse_resource_id(target).get("resource_name"):
        return _last_segment(target)
    dimensions = resource.get("dimensions")
    for name, value in dimensions.items() if isinstance(dimensions, dict) else ():
        if value and _SUBJECT_NAME.search(_NAME_PUNCTUATION.sub("", str(name).lower())):
            return _last_segment(str(value))
    items = resource.get("configuration_items")
    if is_queried_workspace(target) and isinstance(items, list) and len(items) == 1:
        return _last_segment(str(items[0]))
    return ""


def _parse_resource_id(resource_id: str) -> dict[str, str]:
    """Subscription, group, type and name from `/subscriptions/../providers/Ns/type/name`."""
    parts = [part for part in resource_id.split("/") if part]
    lowered = [part.lower() for part in parts]
    found: dict[str, str] = {}
    if len(parts) >= 2 and lowered[0] == "subscriptions":
        found["subscription_id"] = parts[1]
    if "resourcegroups" in lowered:
        position = lowered.index("resourcegroups")
        if position + 1 < len(parts):
            found["resource_group"] = parts[position + 1]
    if "providers" in lowered:
        position = lowered.index("providers")
        namespace, rest = parts[position + 1 : position + 2], parts[position + 2 :]
        if "providers" in [part.lower() for part in rest]:
            rest = rest[: [part.lower() for part in rest].index("providers")]
        types, names = rest[0::2], rest[1::2]
        if namespace and names:
            found["resource_type"] = "/".join(namespace + types[: len(names)])
            found["resource_name"] = names[-1]
            if namespace[0].lower() == "microsoft.datafactory" and types[0].lower() == "factories":
                found["factory"] = names[0]
    return found


def _resource_type_of(resource_id: str) -> str:
    return _parse_resource_id(resource_id).get("resource_type", "") if resource_id else ""


# --- Azure Data Factory ----------------------------------------------------------------------


def _find_adf_failure(alert: _Alert, resource: dict[str, Any]) -> _AdfFailure | None:
    facts = alert.facts
    if facts.details.get("alert_kind", "") not in _ADF_ALERT_KINDS:
        return None
    hints = [
        str(resource.get("resource_type", "")),
        alert.stated_resource.get("resource_type", ""),
        *(_resource_type_of(target) for target in alert.target_ids),
        *facts.scope_hints,
    ]
    if not any(_DATA_FACTORY_TYPE in hint.lower() or _is_adf_log_query(hint) for hint in hints):
        return None
    metrics = [metric for metric in facts.metrics if metric]
    if metrics and not any(_ADF_FAILURE_METRIC.search(metric) for metric in metrics):
        return None  # a factory metric that counts no failure: CPU, queue, successes...
    diagnostics = any(_is_adf_diagnostics_query(hint) for hint in facts.scope_hints)
    dimensions, rows = facts.dimensions, facts.rows
    if diagnostics:
        dimensions = _diagnostics_columns(dimensions)
        rows = [_diagnostics_columns(row) for row in rows]
    if _counts_no_failed_run(facts, dimensions, rows):
        return None

    run_id_names = ["PipelineRunId"]
    if any(
        _ADF_PIPELINE_TABLE.search(hint)
        or (
            _is_adf_diagnostics_query(hint)
            and _ADF_DIAGNOSTICS_PIPELINE_RUNS.search(_without_comments(hint))
        )
        for hint in hints
    ):
        run_id_names.append("RunId")  # the pipeline run's own id is `RunId` in its table
    row_run_ids = _distinct(_lookup(row, *run_id_names) for row in rows)
    row_pipelines = _distinct(_lookup(row, "PipelineName") for row in rows)
    # Result rows that span several runs describe no single run: keep the first row's error
    # for the reader, but neither a run id nor (if they differ) a pipeline name.
    row = rows[0] if rows else {}

    def pick(*names: str) -> str:
        return _lookup(dimensions, *names) or _lookup(row, *names)

    # Metric dimension `Name` is the pipeline on Pipeline* metrics, the activity on Activity*
    # metrics and the trigger on Trigger* metrics (Microsoft.DataFactory/factories metrics).
    metric = str(facts.details.get("metric_name", "")).lower()
    name = _lookup(dimensions, "Name")
    pipeline = _lookup(dimensions, "PipelineName") or (
        row_pipelines[0] if len(row_pipelines) == 1 else ""
    )
    run_id = _lookup(dimensions, *run_id_names) or (row_run_ids[0] if len(row_run_ids) == 1 else "")
    factory = (
        resource.get("factory")
        or _factory_from_values(dimensions, row)
        or _factory_from_ids(alert.configuration_items)
    )
    activity = _clip(
        pick("ActivityName") or (name if metric.startswith("activity") else ""), NAME_LIMIT
    )
    run_rows = [row for row in rows if _lookup(row, *run_id_names) in ("", run_id)]
    return _AdfFailure(
        factory=factory,
        pipeline=_clip(pipeline or (name if metric.startswith("pipeline") else ""), NAME_LIMIT),
        pipeline_run_id=_clip(run_id, NAME_LIMIT),
        activity=activity,
        activity_type=_clip(pick("ActivityType"), NAME_LIMIT),
        error_code=_clip(pick("ErrorCode"), NAME_LIMIT),
        error_message=pick("ErrorMessage"),
        failure_type=_clip(pick("FailureType", "TriggerFailureType"), NAME_LIMIT),
        trigger=_clip(
            pick("TriggerName") or (name if metric.startswith("trigger") else ""), NAME_LIMIT
        ),
        location={}
        if resource.get("factory")
        else _factory_location(factory, dimensions, row, alert.configuration_items),
        reported=_reported_failures(dimensions, run_rows)
        or ((activity, _lookup(dimensions, "ErrorMessage")),),
    )


def _reported_failures(
    dimensions: dict[str, str], run_rows: list[dict[str, str]]
) -> tuple[tuple[str, str], ...]:
    """The failed activities and errors the result rows of one run name (a dimension standing
    for its column in every row), sorted: a log search sorts nothing unless its query does, and
    each evaluation of a stateless rule may return the run's rows in another order."""
    return tuple(
        sorted(
            {
                (
                    _clip(
                        _lookup(dimensions, "ActivityName") or _lookup(row, "ActivityName"),
                        NAME_LIMIT,
                    ),
                    _lookup(dimensions, "ErrorMessage") or _lookup(row, "ErrorMessage"),
                )
                for row in run_rows
            }
        )
    )


def _counts_no_failed_run(
    facts: _Facts, dimensions: dict[str, str], rows: list[dict[str, str]]
) -> bool:
    """A log alert whose queries over ADF's run tables keep runs of another status and name no
    failure, and whose dimensions and rows carry no error or failed status."""
    queries = [hint for hint in facts.scope_hints if _is_adf_log_query(hint)]
    if not any(_ADF_OTHER_STATUS.search(query) for query in queries):
        return False
    if any(_FAILURE_WORD.search(query) for query in queries):
        return False
    return not any(
        _lookup(values, *_ADF_FAILURE_FIELDS) or _lookup(values, "Status").lower() == "failed"
        for values in (dimensions, *rows)
    )


def _is_adf_log_query(hint: str) -> bool:
    return bool(_ADF_LOG_TABLE.search(hint)) or _is_adf_diagnostics_query(hint)


def _is_adf_diagnostics_query(hint: str) -> bool:
    query = _without_comments(hint)
    return bool(_DIAGNOSTICS_TABLE.search(query) and _ADF_DIAGNOSTICS_MARK.search(query))


def _without_comments(query: str) -> str:
    return _KQL_STRING_OR_COMMENT.sub(
        lambda found: "" if found.group().startswith("//") else found.group(), query
    )


def _diagnostics_columns(values: dict[str, str]) -> dict[str, str]:
    """AzureDiagnostics' typed columns under the names of ADF's own tables (`pipelineName_s`
    as `pipelineName`, `error_message_s` as `ErrorMessage`, `Resource` as the factory's name);
    `_ResourceId` and the other untyped columns as they are."""
    named: dict[str, str] = {}
    for name, value in values.items():
        if not name.startswith("_"):
            name = _DIAGNOSTICS_TYPE_SUFFIX.sub("", name)
            name = _DIAGNOSTICS_RENAMED.get(name.lower(), name)
        named.setdefault(name, value)
    return named


def _factory_from_values(*sources: dict[str, str]) -> str:
    for source in sources:
        for resource_id in (_lookup(source, "_ResourceId"), _lookup(source, "ResourceId")):
            factory = _parse_resource_id(resource_id).get("factory", "") if resource_id else ""
            if factory:
                return _clip(factory, NAME_LIMIT)
        named = _lookup(source, "DataFactoryName", "FactoryName")
        if named:
            return _clip(named, NAME_LIMIT)
    return ""


def _factory_location(
    factory: str, dimensions: dict[str, str], row: dict[str, str], configuration_items: list[str]
) -> dict[str, str]:
    """The subscription and resource group of the first resource id among the rows' values
    and the configuration items that names `factory`."""
    candidates = [
        *(_lookup(values, "_ResourceId", "ResourceId") for values in (dimensions, row)),
        *configuration_items,
    ]
    for resource_id in candidates:
        parsed = _parse_resource_id(resource_id) if resource_id else {}
        if factory and parsed.get("factory", "").lower() == factory.lower():
            return {
                key: parsed[key] for key in ("subscription_id", "resource_group") if key in parsed
            }
    return {}


def _factory_from_ids(resource_ids: list[str]) -> str:
    """Log alert configuration items are the `_ResourceId`s of the rows: the factory, for ADF."""
    for resource_id in resource_ids:
        factory = _parse_resource_id(resource_id).get("factory", "")
        if factory:
            return factory
    return ""


def _describe_adf_failure(adf: _AdfFailure, kind: EventKind) -> str:
    if adf.trigger and not (adf.pipeline or adf.activity):
        return _describe_adf_trigger_failure(adf, kind)
    subject = f"ADF pipeline '{adf.pipeline}'" if adf.pipeline else "An ADF pipeline"
    subject += f" in data factory '{adf.factory}'" if adf.factory else ""
    verb = "failed" if kind is EventKind.FAILURE else "failure alert resolved"
    sentence = f"{subject} {verb}"
    sentence += f" (run {adf.pipeline_run_id})" if adf.pipeline_run_id else ""
    if adf.activity:
        sentence += f" at activity '{adf.activity}'"
        sentence += f" ({adf.activity_type})" if adf.activity_type else ""
    sentence += f" via trigger '{adf.trigger}'" if adf.trigger else ""
    return sentence + "." + _stated_error(adf)


def _stated_error(adf: _AdfFailure) -> str:
    sentence = ""
    if adf.error_code or adf.error_message:
        error = ": ".join(part for part in (adf.error_code, adf.error_message) if part)
        sentence += f" Error {error.rstrip('.')}."
    sentence += f" Failure type: {adf.failure_type}." if adf.failure_type else ""
    return sentence


def _describe_adf_trigger_failure(adf: _AdfFailure, kind: EventKind) -> str:
    """A failed trigger run (`TriggerFailedRuns`) is the trigger's failure, not a pipeline's:
    the pipelines it starts may not have run at all."""
    subject = f"ADF trigger '{adf.trigger}'"
    subject += f" in data factory '{adf.factory}'" if adf.factory else ""
    if kind is not EventKind.FAILURE:
        return f"{subject} failure alert resolved."
    sentence = f"{subject} failed: a run of the trigger failed, so the pipelines it starts"
    return sentence + " may not have run." + _stated_error(adf)


# --- field helpers -----------------------------------------------------------------------------


def _required_object(root: dict[str, Any], path: str) -> dict[str, Any]:
    return require_object(field(root, path, required=True), f"field '{path}'")


def _object_at(obj: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = obj.get(key)
    if value is None:
        return {}
    return require_object(value, f"field '{where}'")


def _list_at(obj: dict[str, Any], key: str, where: str) -> list[Any]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ParseError(f"field '{where}' must be a list")
    return value[:MAX_ITEMS]


def _text_list(obj: dict[str, Any], key: str, where: str) -> list[str]:
    values = (_scalar(item, f"{where}[{i}]") for i, item in enumerate(_list_at(obj, key, where)))
    return [value for value in values if value]


def _dimensions(obj: dict[str, Any], key: str, where: str) -> dict[str, str]:
    """A `[{"name": .., "value": ..}]` list as a dict (the first of a repeated name wins)."""
    return _name_value_pairs(_list_at(obj, key, where), where)


def _name_value_pairs(items: list[Any], where: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for index, raw in enumerate(items):
        entry = require_object(raw, f"field '{where}[{index}]'")
        name = _scalar(entry.get("name"), f"{where}[{index}].name")
        if name and name not in found:
            found[name] = _loose(entry.get("value"), VALUE_LIMIT)
    return found


def _string_map(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    mapping = require_object(value, f"field '{where}'")
    return {
        _clip(_clean(key), NAME_LIMIT): _loose(item, VALUE_LIMIT)
        for key, item in itertools.islice(mapping.items(), MAX_ITEMS)
    }


def _lookup(mapping: dict[str, str], *names: str) -> str:
    """A dimension or column by name, ignoring case (`pipelineName` and `PipelineName` alike)."""
    for name in names:
        if mapping.get(name):
            return mapping[name]
    wanted = {name.lower() for name in names}
    for key, value in mapping.items():
        if key.lower() in wanted and value:
            return value
    return ""


def _distinct(values: Any) -> list[str]:
    return list(dict.fromkeys(value for value in values if value))


def _merge(target: dict[str, str], extra: dict[str, str]) -> None:
    for key, value in extra.items():
        target.setdefault(key, value)


def _add_link(links: dict[str, str], key: str, value: Any) -> None:
    name = _LINK_NAMES.get(key.lower())
    if name is None or name in links or not isinstance(value, str):
        return
    url = value.strip()
    if len(url) > URL_LIMIT or not url.isascii() or any(ch.isspace() or ch < " " for ch in url):
        return
    try:
        parts = urlsplit(url)
    except ValueError:
        return
    if parts.scheme.lower() in {"http", "https"} and parts.netloc:
        links[name] = url


# --- text helpers ----------------------------------------------------------------------------


def _clean(value: str, limit: int = NAME_LIMIT) -> str:
    """Bound the length, drop control characters and lone surrogates (Postgres rejects both).
    A value longer than `limit` is redacted whole before any of it is cut (`_clip`)."""
    if len(value) > limit:
        value = redact(value)
    value = value[: limit * 4].encode("utf-8", "replace").decode("utf-8")
    return _clip(_CONTROL_CHARS.sub("", value).strip(), limit)


def _clip(value: str, limit: int) -> str:
    """`value`'s start in `limit` characters, redacted before it is cut: a cut inside a secret
    can leave a start no rule knows as one (`https://user:pass` before its `@host`)."""
    return redacted_head(value, limit, "…")


def _scalar(value: Any, where: str, limit: int = NAME_LIMIT) -> str:
    """A field that must be text (numbers and booleans are accepted as such); null is ''."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        raise ParseError(f"field '{where}' must be a string")
    return _clean(_scalar_text(value), limit)


def _loose(value: Any, limit: int) -> str:
    """Any JSON value as bounded text: descriptive fields vary in shape between services."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return _clean(_render(value), limit)
    return _clean(_scalar_text(value), limit)


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        try:
            return str(value)
        except ValueError:  # more digits than int->str allows
            return "(very large number)"
    return str(value)


def _render(value: Any, depth: int = 0) -> str:
    """Compact JSON-ish text with bounded depth and width, for nested descriptive values."""
    width = 8
    if isinstance(value, dict):
        if depth >= 3:
            return "{…}"
        items = itertools.islice(value.items(), width)
        inner = ", ".join(
            f"{_clip(str(key), 100)}: {_render(item, depth + 1)}" for key, item in items
        )
        return "{" + inner + (", …" if len(value) > width else "") + "}"
    if isinstance(value, list):
        if depth >= 3:
            return "[…]"
        inner = ", ".join(_render(item, depth + 1) for item in value[:width])
        return "[" + inner + (", …" if len(value) > width else "") + "]"
    if value is None:
        return "null"
    return _clean(_scalar_text(value), 300)


def _number_or_text(value: Any) -> Any:
    """Keep finite numbers as numbers (JSON-safe); everything else becomes bounded text."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**18:
        return value
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        return value
    return _loose(value, NAME_LIMIT)


def _display(value: Any) -> str:
    return "unknown" if value in ("", None) else str(value)


def _format_pairs(mapping: dict[str, Any], limit: int = VALUE_LIMIT) -> str:
    """`k=v, ...` for a sentence; each value is cut short (the full values are kept as fields)."""
    pairs = (f"{key}={_clip(_display(value), 500)}" for key, value in mapping.items())
    return _clip(", ".join(pairs), limit)


def _strip_html(value: str) -> str:
    return _WHITESPACE.sub(" ", html.unescape(_HTML_TAG.sub(" ", value))).strip()


def _quoted(value: str) -> str:
    return repr(_clip(value, 100))


def _last_segment(resource_id: str) -> str:
    return resource_id.rstrip("/").rsplit("/", 1)[-1] if resource_id else ""


def _lenient_timestamp(value: str) -> datetime | None:
    """Legacy log alert windows come as ISO 8601 or as '3/22/2019 1:36:31 PM': best effort."""
    try:
        return parse_timestamp(value, "SearchIntervalEndtimeUtc")
    except ParseError:
        return None
