"""Rule-based explanation of an Azure Monitor alert that is not a pipeline failure.

A metric alert on a storage account, a VM restart in the activity log, a Resource Health or
Service Health event, an Application Insights smart detection or a budget threshold is not a
failed pipeline run: its explanation names the alert rule, the target resource, the condition,
the threshold, the observed value, the window and the dimensions, and its recommendations fit
the kind of alert. The facts come from the fields the Azure Monitor parser stored on the ticket
(`details`, `affected_entity`, `links`); no Django import.

Values come from untrusted alert bodies: they are reduced to plain text and cut at a word
boundary (marked with "…") before they are put into sentences.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

ALERT_CONFIDENCE = 0.7  # the alert states its facts; what caused them is still inferred
MAX_RECOMMENDATIONS = 5

# Angle brackets become spaces (not a comparison's `<`/`>` standing between spaces, "DurationMs >
# 5000", "count_ <= 3", which opens or closes no tag), and so do control and format characters
# (a bidi override could reorder what a responder reads). Backticks, asterisks, braces and pipes
# stay (log queries and resource paths are made of them): the RCA is plain text, and every
# target escapes it for its own markup.
_MARKUP = re.compile(
    r"(?<!\s)[<>]|[<>](?![\s=])|[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]"
)
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class AlertRca:
    root_cause: str
    recommendations: list[str]
    confidence: float


def plain(value: Any, limit: int = 160) -> str:
    """Untrusted text as one plain line, cut at a word boundary and marked when cut."""
    text = _SPACES.sub(" ", _MARKUP.sub(" ", str(value if value is not None else ""))).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    boundary = cut.rfind(" ")
    if boundary > limit // 2:
        cut = cut[:boundary]
    return cut.rstrip(" ,;:.") + "…"


@dataclass(frozen=True)
class _Alert:
    """The facts of one alert, read from the ticket's stored fields."""

    kind: str
    rule: str
    details: Mapping[str, Any]
    resource: Mapping[str, Any]
    links: Mapping[str, Any]
    named: bool = True  # False: the body names no alert rule

    def get(self, key: str, limit: int = 160) -> str:
        return plain(self.details.get(key, ""), limit)

    @property
    def several(self) -> list[str]:
        """The target resource ids of an alert on several resources (else none)."""
        ids = self.resource.get("resource_ids")
        if not isinstance(ids, list) or len(ids) < 2:
            return []
        return [str(resource_id) for resource_id in ids]

    @property
    def target(self) -> str:
        """`virtual machine 'vm-01' (Microsoft.Compute/virtualMachines, resource group 'rg')`;
        `3 resources: 'vm-a', 'vm-b', 'vm-c' (<type>, resource group 'rg')` for several."""
        if self.several:
            return _several_targets(self.several)
        name = plain(self.resource.get("resource_name", ""), 120)
        kind = plain(self.resource.get("resource_type", ""), 120)
        group = plain(self.resource.get("resource_group", ""), 120)
        if not name and not kind:
            items = self.resource.get("configuration_items") or []
            if isinstance(items, list) and items:
                return ", ".join(f"'{plain(item, 80)}'" for item in items[:3])
            subscription = plain(self.resource.get("subscription_id", ""), 80)
            return f"subscription {subscription}" if subscription else "its target"
        text = f"{_friendly_type(kind)} '{name}'" if name else _friendly_type(kind)
        extra = [kind] if kind else []
        extra += [f"resource group '{group}'"] if group else []
        return text + (f" ({', '.join(extra)})" if extra else "")

    @property
    def dimensions(self) -> str:
        values = self.resource.get("dimensions") or {}
        if not isinstance(values, Mapping) or not values:
            return ""
        pairs = [f"{plain(k, 60)}={plain(v, 80)}" for k, v in list(values.items())[:6]]
        return ", ".join(pairs)

    @property
    def link(self) -> str:
        for name, label in _LINKS:
            url = self.links.get(name)
            if isinstance(url, str) and url.startswith(("https://", "http://")):
                return label
        return ""


_LINKS = (
    ("investigation", "investigation"),
    ("portal", "portal"),
    ("filtered_search_results_ui", "search results"),
    ("search_results_ui", "search results"),
)

# Resource types people recognise by a plain name; others are shown as the type itself.
_TYPE_NAMES = {
    "microsoft.compute/virtualmachines": "virtual machine",
    "microsoft.compute/virtualmachinescalesets": "VM scale set",
    "microsoft.storage/storageaccounts": "storage account",
    "microsoft.sql/servers/databases": "SQL database",
    "microsoft.sql/servers": "SQL server",
    "microsoft.web/sites": "app service",
    "microsoft.insights/components": "Application Insights component",
    "microsoft.operationalinsights/workspaces": "Log Analytics workspace",
    "microsoft.keyvault/vaults": "key vault",
    "microsoft.datafactory/factories": "data factory",
    "microsoft.databricks/workspaces": "Databricks workspace",
    "microsoft.insights/autoscalesettings": "autoscale setting",
    "microsoft.documentdb/databaseaccounts": "Cosmos DB account",
    "microsoft.eventhub/namespaces": "Event Hubs namespace",
    "microsoft.servicebus/namespaces": "Service Bus namespace",
    "microsoft.synapse/workspaces": "Synapse workspace",
}


MAX_TARGETS_NAMED = 5
_RESOURCE_GROUP = re.compile(r"/resourcegroups/([^/]+)", re.IGNORECASE)


def _type_of(resource_id: str) -> str:
    """`/subscriptions/…/providers/Microsoft.Sql/servers/s1/databases/db1` ->
    `Microsoft.Sql/servers/databases` (empty for an id naming no provider)."""
    parts = [part for part in resource_id.split("/") if part]
    lowered = [part.lower() for part in parts]
    if "providers" not in lowered:
        return ""
    rest = parts[len(lowered) - 1 - lowered[::-1].index("providers") + 1 :]
    return "/".join(rest[:1] + rest[1:][::2]) if len(rest) >= 3 else ""


def _several_targets(resource_ids: list[str]) -> str:
    """Each target's name, and the type and resource group they share (if they share one)."""
    names = [plain(resource_id.rstrip("/").rsplit("/", 1)[-1], 80) for resource_id in resource_ids]
    named = ", ".join(f"'{name}'" for name in names[:MAX_TARGETS_NAMED])
    more = len(names) - MAX_TARGETS_NAMED
    named += f" and {more} more" if more > 0 else ""
    shared = []
    types = [_type_of(resource_id) for resource_id in resource_ids]
    if types[0] and len({kind.lower() for kind in types}) == 1:
        shared.append(plain(types[0], 120))
    groups = [_RESOURCE_GROUP.search(resource_id) for resource_id in resource_ids]
    if all(groups) and len({group.group(1).lower() for group in groups if group}) == 1:
        shared.append(f"resource group '{plain(groups[0].group(1) if groups[0] else '', 120)}'")
    return f"{len(names)} resources: {named}" + (f" ({', '.join(shared)})" if shared else "")


def _friendly_type(resource_type: str) -> str:
    return _TYPE_NAMES.get(resource_type.lower(), "resource")


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "…", "!", "?")) else text + "."


def _condition(alert: _Alert) -> str:
    operator = alert.get("operator", 40)
    threshold = alert.get("threshold", 60)
    if not operator and not threshold:
        return ""
    symbol = _OPERATORS.get(operator.lower().replace(" ", ""), operator)
    return f"{symbol} {threshold}".strip()


_OPERATORS = {
    "greaterthan": ">",
    "greaterthanorequal": ">=",
    "lessthan": "<",
    "lessthanorequal": "<=",
    "equals": "=",
    "notequals": "!=",
    "greaterorlessthan": "above or below",
}


def _window(alert: _Alert) -> str:
    size = alert.get("window_size", 40)
    start, end = alert.get("window_start", 60), alert.get("window_end", 60)
    span = f"{start} to {end}" if start and end else ""
    if size and span:
        return f"over {_iso_duration(size)} ({span})"
    if size:
        return f"over {_iso_duration(size)}"
    return f"between {start} and {end}" if span else ""


_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$", re.IGNORECASE)


def _iso_duration(value: str) -> str:
    """`PT5M` -> `5 minutes`; anything else is shown as it came."""
    match = _DURATION.match(value)
    if not match or not any(match.groups()):
        return value
    units = ("day", "hour", "minute", "second")
    parts = [
        f"{int(amount)} {unit}{'s' if int(amount) != 1 else ''}"
        for amount, unit in zip(match.groups(), units, strict=True)
        if amount
    ]
    return " ".join(parts)


def _tail(alert: _Alert) -> str:
    """Dimensions, the rule's description and where to look, as sentences."""
    parts = []
    if alert.dimensions:
        parts.append(f"Dimensions: {alert.dimensions}.")
    description = alert.get("alert_description", 200)
    if description:
        parts.append(f"Rule description: {_sentence(description)}")
    return " ".join(parts)


def _rule(alert: _Alert) -> str:
    """The rule, as a sentence names it: `'cpu-high'`, or that the body named none."""
    return f"'{alert.rule}'" if alert.named else "from an unnamed rule"


def _open_link(alert: _Alert, what: str) -> str:
    link = alert.link
    if link:
        return f"Open the alert's {link} link to see {what}."
    where = f"Alerts, rule '{alert.rule}'" if alert.named else "Alerts"
    return f"Open the alert in Azure Monitor ({where}) to see {what}."


# --------------------------------------------------------------------------- per kind


def _metric(alert: _Alert) -> tuple[str, list[str]]:
    metric = alert.get("metric_name", 100) or "the metric"
    aggregation = alert.get("time_aggregation", 40).lower()
    value = alert.get("metric_value", 60)
    dynamic = alert.kind == "metric_dynamic"
    cause = f"Metric alert {_rule(alert)} fired on {alert.target}: {metric}"
    cause += f" ({aggregation}" + (f" {_window(alert)})" if _window(alert) else ")")
    cause += f" was {value}" if value else ""
    if dynamic:
        sensitivity = alert.get("sensitivity", 20)
        cause += ", outside the range its dynamic threshold learned from the metric's history"
        cause += f" ({sensitivity} sensitivity)" if sensitivity else ""
    elif _condition(alert):
        cause += f", breaching the condition {_condition(alert)}"
    web_test = alert.get("web_test", 100)
    cause += f" (availability test '{web_test}')" if web_test else ""
    cause = _sentence(cause) + " " + _tail(alert)
    recs = [
        _open_link(alert, f"the {metric} chart of the resource around the alert time"),
        *_metric_advice(metric.lower(), alert),
        "Check what changed when it started: deployments, load, scheduled jobs, scaling events "
        "(Activity log of the resource).",
    ]
    if dynamic:
        recs.append(
            "If the new level is expected (a release, a seasonal peak), lower the rule's "
            "sensitivity or wait for the threshold to learn it; otherwise treat it as a regression."
        )
    else:
        recs.append(
            f"If {metric} at this level is normal for the resource, adjust the rule's threshold "
            "or window so it pages only on real trouble."
        )
    return cause, recs


def _metric_advice(metric: str, alert: _Alert) -> list[str]:
    """Advice for the metric families teams alert on most."""
    name = "each of them" if alert.several else ""
    name = name or plain(alert.resource.get("resource_name", ""), 80) or "the resource"
    if "cpu" in metric:
        return [
            f"Find what is using the CPU on {name} (top processes, queries or requests) and "
            "scale up or out if the load is legitimate."
        ]
    if "memory" in metric or "available bytes" in metric:
        return [
            f"Find what holds the memory on {name}; scale up, or fix the leak if usage only grows."
        ]
    if "disk" in metric or ("storage" in metric and "percent" in metric):
        return [f"Free or extend the storage of {name} before it fills up."]
    if "availability" in metric:
        return [
            f"Check {name}'s Resource Health and the failing requests in the same window "
            "(status codes, throttling, network)."
        ]
    if "latency" in metric or "duration" in metric or "response" in metric:
        return [
            f"Find which operations of {name} slowed down (by the dimensions above) and whether "
            "a dependency or throttling explains it."
        ]
    if "fail" in metric or "error" in metric or "exception" in metric:
        return [f"Read the failed requests or runs of {name} in that window for their errors."]
    if "transaction" in metric or "request" in metric:
        return [
            f"Compare the traffic of {name} with its usual pattern and find the caller that "
            "changed (by the dimensions above)."
        ]
    return []


def _log_search(alert: _Alert) -> tuple[str, list[str]]:
    query = alert.get("search_query", 200)
    value = alert.get("metric_value", 60) or alert.get("result_count", 60)
    measure = alert.get("metric_measure", 80)
    aggregation = alert.get("time_aggregation", 40).lower()
    kind = alert.get("alert_type", 60)
    cause = f"Log search alert {_rule(alert)} fired on {alert.target}"
    cause += f" ({kind})" if kind else ""
    cause += f": the query '{query}'" if query else ": its query"
    measured = f"{aggregation} of {measure}" if measure else aggregation or "result count"
    cause += f" measured {measured} = {value}" if value else " matched"
    cause += f" {_window(alert)}" if _window(alert) else ""
    cause += f", breaching the condition {_condition(alert)}" if _condition(alert) else ""
    cause = _sentence(cause) + " " + _tail(alert)
    recs = [
        _open_link(alert, "the rows the query returned"),
        "Read the matching records for the error or the host they share (the dimensions split "
        "the alert per value) and fix that cause.",
        "Check whether the query still means what the rule intends (a changed table, a new "
        "log format or a noisy source can make it match).",
        "If the count is expected, raise the threshold or narrow the query.",
    ]
    return cause, recs


def _administrative(alert: _Alert) -> tuple[str, list[str]]:
    if alert.details.get("resource_deleted"):
        return _deletion(alert)
    operation = alert.get("operation_name", 160) or "an operation"
    status = alert.get("operation_status", 40)
    sub_status = alert.get("operation_sub_status", 80)
    caller = alert.get("caller", 120)
    level = alert.get("level", 30)
    cause = f"Activity log alert {_rule(alert)}: operation {operation} on {alert.target}"
    cause += f" {status.lower()}" if status else " was logged"
    cause += f" ({sub_status})" if sub_status else ""
    cause += f", level {level}" if level else ""
    cause += f", caller {caller}" if caller else ""
    description = alert.get("event_description", 200)
    cause = _sentence(cause)
    cause += f" Event: {_sentence(description)}" if description else ""
    cause += " " + _tail(alert)
    correlation = alert.get("correlation_id", 80)
    find = f"the entry with correlation id {correlation}" if correlation else "the entry"
    recs = [
        f"Open the Activity log of the resource and read {find} for the error it returned.",
        "If the operation was denied, check the caller's role assignment, resource locks and "
        "Azure Policy assignments on the scope.",
        "If the caller or the change was not expected, find who or what made it (the caller "
        "above) before retrying.",
        "Retry the operation once its cause is fixed; a succeeded retry closes this ticket.",
    ]
    return cause, recs


def _deletion(alert: _Alert) -> tuple[str, list[str]]:
    """A rule watching deletions: its resource was deleted (a succeeded delete operation)."""
    operation = alert.get("operation_name", 160) or "its delete operation"
    caller = alert.get("caller", 120)
    when = alert.get("event_time", 40)
    cause = f"Activity log alert {_rule(alert)}: {alert.target} was deleted"
    cause += f" (operation {operation} succeeded)"
    cause += f", caller {caller}" if caller else ""
    cause += f", at {when}" if when else ""
    description = alert.get("event_description", 200)
    cause = _sentence(cause)
    cause += f" Event: {_sentence(description)}" if description else ""
    cause += " " + _tail(alert)
    correlation = alert.get("correlation_id", 80)
    entry = f" (the Activity log entry with correlation id {correlation})" if correlation else ""
    recs = [
        f"Confirm with the caller{f' ({caller})' if caller else ''} that the deletion was "
        f"intended{entry}.",
        "If it was not, restore the resource while its soft delete or backup retention allows "
        "(deleted storage accounts, key vaults and SQL databases can be recovered for a "
        "limited time), or redeploy it from its template.",
        "Find the pipelines, linked services and applications that use it: they fail until it "
        "is restored or replaced.",
        "Protect resources that must not go with a CanNotDelete lock, and review who holds "
        "delete rights on the scope.",
    ]
    return cause, recs


def _policy(alert: _Alert) -> tuple[str, list[str]]:
    operation = alert.get("operation_name", 160)
    effect = "deny" if "deny" in operation.lower() else "audit"
    cause = f"Azure Policy alert {_rule(alert)}: a policy {effect} event ({operation}) on "
    cause += f"{alert.target}, level {alert.get('level', 30) or 'unknown'}"
    cause = _sentence(cause) + " " + _tail(alert)
    recs = [
        "Open Azure Policy > Compliance for the scope to see which assignment and definition "
        "flagged the resource, and why.",
        "Bring the resource into compliance (or run a remediation task for DeployIfNotExists / "
        "Modify policies).",
        "If the resource is a justified exception, request a policy exemption with an expiry "
        "instead of ignoring the alert.",
    ]
    if effect == "deny":
        recs.insert(
            1, "The request was denied by policy: change the deployment to meet the policy."
        )
    return cause, recs


def _autoscale(alert: _Alert) -> tuple[str, list[str]]:
    operation = alert.get("operation_name", 160)
    status = alert.get("operation_status", 40)
    cause = f"Autoscale alert {_rule(alert)}: {operation} on {alert.target}"
    cause += f" {status.lower()}" if status else ""
    description = alert.get("event_description", 200)
    cause = _sentence(cause) + (f" {_sentence(description)}" if description else "")
    cause += " " + _tail(alert)
    recs = [
        "Open the autoscale setting's Run history to see the scale action and its error.",
        "Check the subscription's vCPU quota for the VM family and region, and the profile's "
        "maximum instance count.",
        "Check that the scale target (scale set or plan) is healthy and not locked.",
    ]
    return cause, recs


def _security(alert: _Alert) -> tuple[str, list[str]]:
    security = alert.details.get("security") or {}
    fields: Mapping[str, Any] = security if isinstance(security, Mapping) else {}

    def field(name: str) -> str:
        return plain(fields.get(name, ""), 120)

    cause = f"Security alert {_rule(alert)} on {alert.target}"
    facts = [
        f"{label} {field(name)}"
        for name, label in (
            ("category", "category"),
            ("compromisedEntity", "entity"),
            ("threatStatus", "threat status"),
            ("actionTaken", "action taken"),
            ("filePath", "file"),
        )
        if field(name)
    ]
    cause += f": {', '.join(facts)}" if facts else ""
    cause = _sentence(cause) + " " + _tail(alert)
    steps = field("remediationSteps").strip("[]\"' ")
    recs = [
        "Open the alert in Microsoft Defender for Cloud and follow its investigation steps.",
        "Confirm with the resource owner whether the activity is expected; if not, isolate the "
        "resource and rotate the credentials it holds.",
        "Check the other resources the same entity or caller touched in that period.",
    ]
    if steps:
        recs.insert(0, f"Remediation the alert gives: {_sentence(steps)}")
    return cause, recs


def _resource_health(alert: _Alert) -> tuple[str, list[str]]:
    current = alert.get("current_health_status", 40) or "unknown"
    previous = alert.get("previous_health_status", 40)
    title = alert.get("title", 240)
    cause_kind = alert.get("health_cause", 60)
    event_type = alert.get("health_event_type", 60)
    cause = f"Resource Health alert {_rule(alert)}: {alert.target} is {current}"
    cause += f" (was {previous})" if previous else ""
    cause = _sentence(cause)
    cause += f" Azure says: {_sentence(title)}" if title else ""
    if cause_kind or event_type:
        cause += f" Event type {event_type or 'unknown'}, cause {cause_kind or 'unknown'}."
    cause += " " + _tail(alert)
    initiated = cause_kind.lower()
    if initiated == "userinitiated":
        recs = [
            "A user or process stopped or changed the resource: find who in its Activity log "
            "(stop, deallocate, restart, resize) at that time.",
            "If it was not intended, start the resource again and review who may operate it.",
            "If it was planned maintenance, silence this rule for the window next time.",
        ]
    else:
        recs = [
            "Open Resource Health for the resource: it shows the platform's explanation and "
            "when it expects recovery.",
            "Check Service Health for an outage in the resource's region at the same time.",
            "If it stays unavailable, redeploy or fail over to a healthy instance, and open an "
            "Azure support case with the resource id.",
        ]
    recs.append("A later Available event for the resource resolves this ticket by itself.")
    return cause, recs


def _service_health(alert: _Alert) -> tuple[str, list[str]]:
    incident_type = alert.get("incident_type", 40) or "event"
    title = alert.get("title", 200)
    tracking = alert.get("tracking_id", 60)
    stage = alert.get("stage", 40)
    # Every service and region it names (`impactedServices`): an outage may span several.
    service = alert.get("service", 300)
    region = alert.get("region", 300)
    named = title or (alert.rule if alert.named else "")
    cause = f"Azure Service Health {incident_type.lower()}" + (f" '{named}'" if named else "")
    cause += f" (tracking id {tracking}" if tracking else " ("
    cause += f", stage {stage})" if stage else ")"
    cause += f" affects {service}" if service else ""
    cause += f" in {region}" if region else ""
    start = alert.get("impact_start", 40)
    cause += f" since {start}" if start else ""
    mitigated = alert.get("impact_mitigated", 40)
    cause += f", mitigated at {mitigated}" if mitigated else ""
    reporter = f"alert rule '{alert.rule}'" if alert.named else "an unnamed alert rule"
    cause = _sentence(cause.replace(" ()", "") + f", reported by {reporter}")
    cause += " This is an Azure-side event, not a fault in your resources. " + _tail(alert)
    kind = incident_type.lower()
    if kind in {"maintenance", "plannedmaintenance"}:
        recs = [
            "Plan around the maintenance window: move or pause the jobs that depend on the "
            "service in that region.",
            "Check which of your resources are in the affected region and whether they "
            "tolerate a restart.",
        ]
    elif kind in {"actionrequired", "security", "securityadvisory"}:
        recs = [
            f"Take the action the advisory asks for (tracking id {tracking or 'in the alert'}) "
            "before its deadline.",
            "List the affected resources in Service Health > Health advisories.",
        ]
    else:
        recs = [
            f"Follow the incident in Service Health (tracking id {tracking or 'in the alert'}) "
            "for updates and the expected mitigation.",
            f"Identify your pipelines and resources that use {service or 'the service'} in "
            f"{region or 'the affected region'}; pause or reroute the critical ones.",
            "Rerun the runs that failed during the impact window once it is mitigated.",
        ]
    recs.append("A Resolved update of the same incident resolves this ticket by itself.")
    return cause, recs


def _smart_detector(alert: _Alert) -> tuple[str, list[str]]:
    detector = alert.get("smart_detector_name", 120) or "Smart detection"
    summary = alert.get("detection_summary", 240)
    detected, normal = alert.get("detected_value", 60), alert.get("normal_value", 80)
    measure = alert.get("detected_measure", 30)
    cause = f"{detector} alert {_rule(alert)} on {alert.target}"
    cause += f": {summary}" if summary else ""
    cause += f"; detected {measure + ' ' if measure else ''}{detected}" if detected else ""
    cause += f" against a normal {normal}" if normal else ""
    cause = _sentence(cause)
    stated = alert.details.get("stated_facts") or {}
    if isinstance(stated, Mapping) and stated:
        pairs = [f"{plain(k, 60)}: {plain(v, 200)}" for k, v in list(stated.items())[:8]]
        cause += f" The detector also states {'; '.join(pairs)}."
    cause += " " + _tail(alert)
    recs = [
        _open_link(alert, "the detector's analysis: which operation, dependency or exception"),
        "Correlate the start of the anomaly with deployments and configuration changes of the "
        "application and of the dependency it names.",
        "Look at the failing or slow requests in Application Insights (Failures / Performance) "
        "for the same period.",
    ]
    return cause, recs


def _prometheus(alert: _Alert) -> tuple[str, list[str]]:
    expression = alert.get("expression", 200)
    value = alert.get("metric_value", 60)
    cause = f"Prometheus alert {_rule(alert)} on {alert.target}: {expression or 'its rule'}"
    cause += f" evaluated to {value}" if value else ""
    cause = _sentence(cause)
    summary = alert.get("summary", 240)
    description = alert.get("annotation_description", 400)
    cause += f" Summary: {_sentence(summary)}" if summary else ""
    cause += f" Description: {_sentence(description)}" if description else ""
    cause += " " + _tail(alert)
    recs = [
        "Query the expression in the workspace's Prometheus explorer around the alert time.",
        "Find the pod, node or job the labels above name and read its events and logs.",
        "If the value is expected, adjust the rule's threshold or `for` duration.",
    ]
    return cause, recs


def _budget(alert: _Alert) -> tuple[str, list[str]]:
    name = alert.get("budget_name", 120) or (alert.rule if alert.named else "")
    spent, amount = alert.get("spent_amount", 40), alert.get("budget_amount", 40)
    unit = alert.get("unit", 10)
    threshold = alert.get("notification_threshold", 40)
    threshold_type = alert.get("threshold_type", 30).lower()
    scope = alert.get("budget_scope", 160)
    cause = f"Budget alert: budget '{name}'" if name else "Budget alert: an unnamed budget"
    cause += f" has spent {spent}" if spent else " crossed a notification threshold"
    cause += f" of {amount}" if amount else ""
    cause += f" {unit}" if unit and spent and spent[:1] not in "$€£" else ""
    if threshold:
        cause += f", past its {threshold_type + ' ' if threshold_type else ''}threshold {threshold}"
    start = alert.get("budget_start", 40)
    cause += f" for the period starting {start}" if start else ""
    cause += f" (scope {scope})" if scope else ""
    cause = _sentence(cause)
    if threshold_type == "forecasted":
        cause += " The forecast, not the actual spend, crossed the threshold."
    recs = [
        "Open Cost analysis for the budget's scope, grouped by resource and by service, for "
        "the current period, to find what grew.",
        "Look for runaway or forgotten resources: oversized clusters, jobs that did not stop, "
        "storage that only grows.",
        "Stop or scale down what is not needed; if the growth is planned, raise the budget.",
    ]
    return cause, recs


def _generic(alert: _Alert) -> tuple[str, list[str]]:
    service = plain(alert.details.get("monitoring_service", ""), 80)
    cause = f"Azure Monitor alert {_rule(alert)}"
    cause += f" ({service})" if service and not alert.named else ""
    cause += f" from {service}" if service and alert.named else ""
    cause += f" fired on {alert.target}"
    cause = _sentence(cause) + " " + _tail(alert)
    recs = [
        _open_link(alert, "what the alert measured"),
        "Check the target resource's health and recent changes around the alert time.",
        "If the alert does not describe a real problem, tune or disable the rule.",
    ]
    return cause, recs


_EXPLAINERS: dict[str, Callable[[_Alert], tuple[str, list[str]]]] = {
    "metric": _metric,
    "metric_dynamic": _metric,
    "log_search": _log_search,
    "activity_administrative": _administrative,
    "activity_recommendation": _administrative,
    "activity_log": _administrative,
    "activity_policy": _policy,
    "activity_autoscale": _autoscale,
    "activity_security": _security,
    "resource_health": _resource_health,
    "service_health": _service_health,
    "smart_detector": _smart_detector,
    "prometheus": _prometheus,
    "budget": _budget,
    "alert": _generic,
}


def build_alert_rca(
    rule: str,
    details: Mapping[str, Any],
    resource: Mapping[str, Any] | None = None,
    links: Mapping[str, Any] | None = None,
) -> AlertRca | None:
    """The alert's explanation, or None when the details do not describe an Azure alert
    (tickets stored before the parser recorded `alert_kind` get the rule-based RCA)."""
    kind = details.get("alert_kind")
    explain = _EXPLAINERS.get(kind) if isinstance(kind, str) else None
    if explain is None:
        return None
    alert = _Alert(
        kind=str(kind),
        rule=plain(rule, 120) or "unnamed",
        # The parser marks a body naming no rule: the ticket then carries the monitoring
        # service's name, or "Azure Monitor alert", which is no rule's name either.
        named=bool(plain(rule, 120)) and not details.get("alert_rule_unnamed"),
        details=details,
        resource=resource or {},
        links=links or {},
    )
    root_cause, recommendations = explain(alert)
    unique = list(dict.fromkeys(rec for rec in recommendations if rec))
    return AlertRca(
        root_cause=_SPACES.sub(" ", root_cause).strip(),
        recommendations=unique[:MAX_RECOMMENDATIONS],
        confidence=ALERT_CONFIDENCE,
    )
