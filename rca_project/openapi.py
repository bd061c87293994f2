"""OpenAPI additions: the webhook endpoints (plain Django views, invisible to drf-spectacular's
introspection) are described here and added by a postprocessing hook. The failure webhooks'
bodies are generated from the pydantic models their parsers validate with
(integrations/parsers/bodies.py).

Nothing here imports Django or DRF, so the settings module may import `SCHEMA_SETTINGS`.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel

from integrations.parsers.bodies import (
    AZURE_MONITOR_BODIES,
    AdfFailureBody,
    AirflowFailureBody,
    DatabricksNotification,
)
from integrations.parsers.common import MAX_JSON_DEPTH
from tickets.vocabulary import Outcome, SlaStatus, Source, Status, choices

# The drf-spectacular settings this module needs (merged into SPECTACULAR_SETTINGS, and used
# by the schema view as its custom settings).
SCHEMA_SETTINGS: dict[str, Any] = {
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "rca_project.openapi.add_common_api_responses",
        "rca_project.openapi.add_webhook_paths",
    ],
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": choices(Status),
        "SlaStatusEnum": choices(SlaStatus),
        "DeliveryStatusEnum": "integrations.models.DeliveryStatus",
        "DeliveryOutcomeEnum": choices(Outcome),
        "OutboundStatusEnum": "integrations.models.OutboundStatus",
        "AttemptOutcomeEnum": "integrations.models.AttemptOutcome",
        "LogAnalysisStatusEnum": "analysis.models.LogAnalysisJob.Status",
        "LogAnalysisSourceEnum": "analysis.models.LogAnalysisJob.Source",
    },
}

# Paths of the product this replaces, still served.
LEGACY_ALIASES = {
    "/azure-monitor": "/webhooks/azure-monitor/",
    "/databricks-monitor": "/webhooks/databricks/",
    "/airflow-monitor": "/webhooks/airflow/",
    "/jira-webhook": "/webhooks/jira/",
    "/api/remediation-callback": "/webhooks/remediation/",
}


def _string(description: str = "", **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", **extra}
    if description:
        schema["description"] = description
    return schema


def _required_text(description: str = "", **extra: Any) -> dict[str, Any]:
    """A field the parser requires: a string that is not blank."""
    return _string(description, pattern=r"\S", **extra)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _openapi_30(schema: Any) -> Any:
    """pydantic writes JSON Schema 2020-12; the document is OpenAPI 3.0: an optional field's
    `anyOf: [X, {type: null}]` becomes X marked nullable. The models' defaults "" and null
    mean "absent" to the parsers, not a value: they are left out (the field's own format or
    enum would refuse them)."""
    if isinstance(schema, list):
        return [_openapi_30(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {key: _openapi_30(value) for key, value in schema.items()}
    options = schema.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        rest = [option for option in options if option != {"type": "null"}]
        del schema["anyOf"]
        only = rest[0] if len(rest) == 1 else {"anyOf": rest}
        only = {"allOf": [only]} if "$ref" in only else only
        schema.update({**only, "nullable": True})
    if schema.get("default", 0) in ("", None):
        del schema["default"]
    return schema


def body_schemas(models: dict[str, type[BaseModel]]) -> dict[str, dict[str, Any]]:
    """Component schemas generated from the pydantic models the parsers validate with (their
    nested models become components of their own)."""
    components: dict[str, dict[str, Any]] = {}
    for name, model in models.items():
        schema = model.model_json_schema(ref_template=REF_TEMPLATE)
        for nested, definition in schema.pop("$defs", {}).items():
            components[nested] = _openapi_30(definition)
        components[name] = _openapi_30(schema)
    return components


REF_TEMPLATE = "#/components/schemas/{model}"
GENERATED_BODIES = body_schemas(
    {
        "AdfFailure": AdfFailureBody,
        "AirflowFailure": AirflowFailureBody,
        "DatabricksNotification": DatabricksNotification,
        **AZURE_MONITOR_BODIES,
    }
)

AZURE_MONITOR_ALERT = {
    "description": (
        "An Azure Monitor action group body: the common alert schema (every monitoringService),"
        " or one of the older bodies: AzureMonitorMetricAlert, Microsoft.Insights/activityLogs,"
        " Microsoft.Insights/LogAlert, the legacy Log Analytics search alert (no schemaId) and"
        " the Cost Management budget notification. The parser picks the model by schemaId."
        " Metric and log alerts on a data factory become ADF tickets."
    ),
    "oneOf": [_ref(name) for name in AZURE_MONITOR_BODIES],
}

JIRA_ISSUE_EVENT = {
    "type": "object",
    "description": (
        "A JIRA Cloud issue webhook (jira:issue_updated, comment_created...). Status changes"
        " map onto the ticket through the admin-editable status map (default: To Do -> open,"
        " In Progress -> in_progress, Done -> resolved)."
    ),
    "properties": {
        "webhookEvent": _required_text(example="jira:issue_updated"),
        "timestamp": {"type": "integer", "description": "Milliseconds since the epoch."},
        "user": {"type": "object", "additionalProperties": True},
        "issue": {
            "type": "object",
            "properties": {"key": _required_text("The issue key."), "fields": {"type": "object"}},
            "required": ["key"],
            "additionalProperties": True,
        },
        "changelog": {"type": "object", "additionalProperties": True},
        "comment": {"type": "object", "additionalProperties": True},
    },
    "required": ["webhookEvent", "issue"],
    "additionalProperties": True,
}

SLACK_ACTION_FORM = {
    "type": "object",
    "description": "Slack interactivity: a form with the JSON `block_actions` payload.",
    "properties": {
        "payload": _string(
            "JSON: {type: block_actions, user: {id, username}, actions: [{action_id:"
            " rca_acknowledge|rca_take, value: <ticket id>, action_ts}], container, channel}."
        )
    },
    "required": ["payload"],
}

WEBHOOK_ACCEPTED = {
    "type": "object",
    "properties": {
        "ticket_id": _string("The ticket the delivery belongs to (null when none).", nullable=True),
        "outcome": _string(enum=[*Outcome]),
        "tracking_id": _string("Follow it with GET /api/v1/trace/{tracking_id}/.", format="uuid"),
    },
    "required": ["ticket_id", "outcome", "tracking_id"],
}

WEBHOOK_ERROR = {
    "type": "object",
    "properties": {
        "error": _string("Why the delivery was refused."),
        "tracking_id": _string(
            "Set when the body was kept in the inbox as rejected.", format="uuid"
        ),
    },
    "required": ["error"],
}

JIRA_SYNC_RESULT = {
    "type": "object",
    "properties": {"ticket_id": _string(nullable=True), "result": _string()},
    "required": ["result"],
}

SLACK_ACTION_RESULT = {
    "type": "object",
    "properties": {"result": {"type": "array", "items": _string()}},
    "required": ["result"],
}

REMEDIATION_CALLBACK = {
    "type": "object",
    "description": "A playbook's report (the body of the product this replaces).",
    "properties": {
        "ticket_id": _string("The ticket the playbook was called for."),
        "status": _string("Succeeded / Failed (or Running: noted, nothing closes)."),
        "success": {"type": "boolean", "description": "Instead of status."},
        "attempt_number": {"type": "integer", "description": "Which remediation of the ticket."},
        "remediation_run_id": _string("The playbook's own run id."),
        "pipeline_name": _string(),
        "job_name": _string(),
        "original_run_id": _string(),
        "error_type": _string(),
        "error_message": _string(),
    },
    "required": ["ticket_id"],
}

REMEDIATION_CALLBACK_RESULT = {
    "type": "object",
    "properties": {
        "ticket_id": _string(),
        "remediation_id": {"type": "integer"},
        "result": _string("succeeded, failed, noted, or why it was ignored."),
    },
    "required": ["ticket_id", "remediation_id", "result"],
}

COMPONENTS = {
    **GENERATED_BODIES,
    "AzureMonitorAlert": AZURE_MONITOR_ALERT,
    "JiraIssueEvent": JIRA_ISSUE_EVENT,
    "SlackActionForm": SLACK_ACTION_FORM,
    "WebhookAccepted": WEBHOOK_ACCEPTED,
    "WebhookError": WEBHOOK_ERROR,
    "JiraSyncResult": JIRA_SYNC_RESULT,
    "SlackActionResult": SLACK_ACTION_RESULT,
    "RemediationCallback": REMEDIATION_CALLBACK,
    "RemediationCallbackResult": REMEDIATION_CALLBACK_RESULT,
}

SECURITY_SCHEMES = {
    "webhookToken": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Webhook-Token",
        "description": "The shared webhook token, or the source's own (WEBHOOK_TOKEN_<SOURCE>).",
    },
    "webhookTokenQuery": {
        "type": "apiKey",
        "in": "query",
        "name": "token",
        "description": "The webhook token in the query string, for senders without headers.",
    },
    "jiraSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Hub-Signature",
        "description": "sha256=<hex HMAC-SHA256 of the body with JIRA_WEBHOOK_SECRET>.",
    },
    "jiraTokenQuery": {
        "type": "apiKey",
        "in": "query",
        "name": "token",
        "description": "JIRA_WEBHOOK_SECRET itself, for JIRA Automation (cannot sign).",
    },
    "remediationToken": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Remediation-Token",
        "description": "PLAYBOOK_SECRET itself.",
    },
    "remediationSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-RCA-Signature",
        "description": (
            "sha256=<hex HMAC-SHA256 of '<X-RCA-Timestamp>.<body>' with PLAYBOOK_SECRET>;"
            " the timestamp may be at most 5 minutes old."
        ),
    },
    "slackSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Slack-Signature",
        "description": (
            "v0=<hex HMAC-SHA256 of 'v0:<X-Slack-Request-Timestamp>:<body>' with"
            " SLACK_SIGNING_SECRET>; the timestamp may be at most 5 minutes old."
        ),
    },
}

FAILURE_BODIES: dict[str, tuple[str, str]] = {
    Source.AZURE_MONITOR: (
        "AzureMonitorAlert",
        "an Azure Monitor alert (Azure Data Factory included)",
    ),
    Source.ADF: ("AdfFailure", "an Azure Data Factory pipeline failure"),
    Source.DATABRICKS: ("DatabricksNotification", "a Databricks job notification"),
    Source.AIRFLOW: ("AirflowFailure", "an Airflow task failure"),
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": _ref("WebhookError")}},
    }


# What `loads_json` refuses (integrations/parsers/common.py), on every webhook that reads JSON.
_UNUSABLE_JSON = (
    "JSON that cannot be used (a number of more than 4,300 digits, NaN/Infinity, a number too"
    " large for a float, an unpaired UTF-16 surrogate, objects or arrays nested over"
    f" {MAX_JSON_DEPTH} levels)"
)

# A body sent with a Content-Encoding (gzip, ...): no sender compresses (integrations/views.py).
_ENCODED = "A compressed body (any Content-Encoding but identity), named; nothing stored."


def _failure_webhook(source: str) -> dict[str, Any]:
    body, title = FAILURE_BODIES[source]
    return {
        "post": {
            "operationId": f"webhook_{source.replace('-', '_')}",
            "summary": f"Receive {title}",
            "description": (
                "Stored in the inbox before the answer, then deduplicated, correlated,"
                " suppressed or turned into a ticket in one transaction. Bodies over"
                " WEBHOOK_MAX_BODY_BYTES (1 MiB by default) are refused."
            ),
            "tags": ["webhooks"],
            "security": [{"webhookToken": []}, {"webhookTokenQuery": []}],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref(body)}},
            },
            "responses": {
                "202": {
                    "description": "Accepted (stored); what became of it is in `outcome`.",
                    "content": {"application/json": {"schema": _ref("WebhookAccepted")}},
                },
                "400": _error(
                    f"An empty body, not JSON, or {_UNUSABLE_JSON}, or a body shorter than its"
                    " Content-Length (nothing stored); or JSON of the wrong shape (kept in the"
                    " inbox as rejected; its tracking_id is returned)."
                ),
                "401": _error("Missing or wrong webhook token (nothing stored)."),
                "413": _error("Body too large (refused from Content-Length)."),
                "415": _error(_ENCODED),
                "503": _error("Database unavailable: retry after Retry-After seconds."),
            },
        }
    }


def _jira_webhook() -> dict[str, Any]:
    return {
        "post": {
            "operationId": "webhook_jira",
            "summary": "Receive a JIRA issue webhook (status sync back)",
            "tags": ["webhooks"],
            "security": [{"jiraSignature": []}, {"jiraTokenQuery": []}],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("JiraIssueEvent")}},
            },
            "responses": {
                "200": {
                    "description": "Applied (or recognised as our own change / a replay).",
                    "content": {"application/json": {"schema": _ref("JiraSyncResult")}},
                },
                "400": _error(f"Empty, not JSON, {_UNUSABLE_JSON}, or not a JIRA issue event."),
                "401": _error("Missing or wrong signature or token."),
                "404": _error("No ticket for this issue."),
                "413": _error("Body too large."),
                "415": _error(_ENCODED),
                "503": _error("Database unavailable: retry after Retry-After seconds."),
            },
        }
    }


def _slack_webhook() -> dict[str, Any]:
    return {
        "post": {
            "operationId": "webhook_slack_actions",
            "summary": "Receive a Slack button click (acknowledge or take a ticket)",
            "tags": ["webhooks"],
            "security": [{"slackSignature": []}],
            "parameters": [
                {
                    "name": "X-Slack-Request-Timestamp",
                    "in": "header",
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "Unix time of the request; signed with the body.",
                }
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {"schema": _ref("SlackActionForm")}
                },
            },
            "responses": {
                "200": {
                    "description": "Applied; one result per action.",
                    "content": {"application/json": {"schema": _ref("SlackActionResult")}},
                },
                "400": _error(f"Missing or invalid payload, or a payload of {_UNUSABLE_JSON}."),
                "401": _error("Missing, wrong or stale Slack signature (the error says which)."),
                "404": _error("No such ticket."),
                "413": _error("Body too large."),
                "415": _error(_ENCODED),
                "503": _error("Database unavailable: retry after Retry-After seconds."),
            },
        }
    }


def _remediation_callback() -> dict[str, Any]:
    return {
        "post": {
            "operationId": "webhook_remediation_callback",
            "summary": "Receive a remediation playbook's result",
            "tags": ["webhooks"],
            "security": [{"remediationToken": []}, {"remediationSignature": []}],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("RemediationCallback")}},
            },
            "responses": {
                "200": {
                    "description": "Applied (or ignored: the remediation is no longer running).",
                    "content": {"application/json": {"schema": _ref("RemediationCallbackResult")}},
                },
                "400": _error(
                    f"Empty, not JSON, {_UNUSABLE_JSON}, not an object, or a missing or unknown"
                    " status."
                ),
                "401": _error("Missing or wrong token or signature."),
                "404": _error("No remediation of this ticket."),
                "413": _error("Body too large."),
                "415": _error(_ENCODED),
                "503": _error("Database unavailable: retry later."),
            },
        }
    }


def webhook_paths() -> dict[str, dict[str, Any]]:
    paths = {f"/webhooks/{source}/": _failure_webhook(source) for source in Source}
    paths["/webhooks/jira/"] = _jira_webhook()
    paths["/webhooks/slack/actions/"] = _slack_webhook()
    paths["/webhooks/remediation/"] = _remediation_callback()
    for alias, target in LEGACY_ALIASES.items():
        item = copy.deepcopy(paths[target])
        operation = item["post"]
        operation["operationId"] += "_legacy_path"
        operation["description"] = (
            f"The path of the product this replaces; same as `{target}`. "
            + operation.get("description", "")
        ).strip()
        paths[alias] = item
    return paths


# What DRF answers on any API operation (406: an Accept header JSON does not satisfy; 429: the
# REST_FRAMEWORK default throttle classes) or on any that reads a body (413: over
# DATA_UPLOAD_MAX_MEMORY_SIZE, tickets/api/errors.py; 415), documented once here rather than
# on every view.
COMMON_API_RESPONSES: dict[str, dict[str, Any]] = {
    "406": {
        "description": "The Accept header names no type the API answers in (JSON, or text/html "
        "for DRF's browsable API)."
    },
    "429": {
        "description": "Too many requests: wait for Retry-After seconds.",
        "headers": {
            "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}
        },
    },
}
BODY_API_RESPONSES: dict[str, dict[str, Any]] = {
    "413": {"description": "The body is over the upload limit (DATA_UPLOAD_MAX_MEMORY_SIZE)."},
    "415": {"description": "The body is not JSON, a form or multipart."},
}


def add_common_api_responses(
    result: dict[str, Any], generator: Any, **kwargs: Any
) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the answers every API operation may give (406, 429)
    and every one that reads a body may give (413, 415), in the API's error shape. Idempotent."""
    schemas = result.get("components", {}).get("schemas", {})
    content = {"application/json": {"schema": _ref("Error")}} if "Error" in schemas else None
    for path, item in result.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            answers = dict(COMMON_API_RESPONSES)
            if "requestBody" in operation:
                answers.update(BODY_API_RESPONSES)
            for code, answer in answers.items():
                answer = copy.deepcopy(answer)
                if content:
                    answer["content"] = copy.deepcopy(content)
                operation["responses"].setdefault(code, answer)
    return result


def add_webhook_paths(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: add the webhook endpoints, their bodies and their
    authentication schemes. Idempotent."""
    components = result.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name, schema in COMPONENTS.items():
        schemas.setdefault(name, copy.deepcopy(schema))
    schemes = components.setdefault("securitySchemes", {})
    for name, scheme in SECURITY_SCHEMES.items():
        schemes.setdefault(name, dict(scheme))
    paths = result.setdefault("paths", {})
    for path, item in webhook_paths().items():
        paths.setdefault(path, item)
    tags = result.setdefault("tags", [])
    if not any(tag.get("name") == "webhooks" for tag in tags):
        tags.append(
            {
                "name": "webhooks",
                "description": "Inbound webhooks (not under /api/v1/; token or signature auth).",
            }
        )
    return result
