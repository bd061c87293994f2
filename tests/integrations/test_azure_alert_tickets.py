"""Azure alerts that are not pipeline failures, through the webhook, the real database and the
analysis (no Gemini key): which open tickets, which end them, and the RCA they get."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from django.db import connection, connections
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from analysis import services
from integrations.ingest import ingest_delivery
from integrations.models import WebhookDelivery
from tests.conftest import shared_payload, while_held
from tickets import lifecycle
from tickets import services as ticket_services
from tickets.lifecycle import Actor
from tickets.models import ActorKind, AuditLog, Occurrence, Ticket
from tickets.vocabulary import Source

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("migration_data")]

AZURE = "/webhooks/azure-monitor/"
PAYLOADS = Path(__file__).resolve().parents[1] / "payloads" / "azure"
T = TypeVar("T")


def load(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / name).read_text())


@pytest.fixture(autouse=True)
def no_gemini(settings):
    settings.GEMINI_API_KEY = ""
    settings.EMBEDDING_BACKEND = "local"


def test_informational_activity_event_is_stored_without_a_ticket(webhook_client):
    response = webhook_client(AZURE, load("common_activity_log_administrative.json"))

    assert response.status_code == 202
    answer = response.json()
    assert (answer["outcome"], answer["ticket_id"]) == ("ignored", None)
    assert Ticket.objects.count() == 0
    delivery = WebhookDelivery.objects.get(tracking_id=answer["tracking_id"])
    assert delivery.event["kind"] == "resolved"  # kept, with what it says


def test_failed_operation_opens_a_ticket_that_its_success_resolves(webhook_client):
    succeeded = load("common_activity_log_administrative.json")
    failed = copy.deepcopy(succeeded)
    failed["data"]["alertContext"].update(status="Failed", level="Error")
    failed["data"]["essentials"]["alertId"] += "-failed"

    opened = webhook_client(AZURE, failed).json()
    ended = webhook_client(AZURE, succeeded).json()

    assert opened["outcome"] == "created"
    assert (ended["outcome"], ended["ticket_id"]) == ("resolved", opened["ticket_id"])
    assert Ticket.objects.get(pk=opened["ticket_id"]).resolved_at_source_at is not None


def test_service_health_updates_recur_and_the_resolved_stage_closes_the_ticket(webhook_client):
    active = load("common_service_health.json")
    update = copy.deepcopy(active)
    update["data"]["essentials"]["alertId"] += "-2"
    resolved = copy.deepcopy(active)
    resolved["data"]["essentials"]["alertId"] += "-3"
    resolved["data"]["alertContext"]["properties"]["stage"] = "Resolved"

    created = webhook_client(AZURE, active).json()
    recurred = webhook_client(AZURE, update).json()
    closed = webhook_client(AZURE, resolved).json()

    assert created["outcome"] == "created"
    assert (recurred["outcome"], recurred["ticket_id"]) == ("correlated", created["ticket_id"])
    assert (closed["outcome"], closed["ticket_id"]) == ("resolved", created["ticket_id"])
    ticket = Ticket.objects.get(pk=created["ticket_id"])
    assert ticket.occurrence_count == 2
    assert ticket.resolved_at_source_at is not None
    assert Ticket.objects.count() == 1
    # Azure's own incident: the provider's, not a configuration the team got wrong (the class
    # feeds the stats and the remediation policies, whose default says never for configuration).
    assert ticket.error_type == "ExternalServiceError"


def test_service_health_resolved_with_no_open_ticket_opens_nothing(webhook_client):
    resolved = load("common_service_health.json")
    resolved["data"]["alertContext"]["properties"]["stage"] = "Resolved"
    answer = webhook_client(AZURE, resolved).json()
    assert (answer["outcome"], answer["ticket_id"]) == ("ignored", None)
    assert Ticket.objects.count() == 0


def _service_health(
    alert_suffix: str, stage: str, tracking_id: str, at: str, incident_type: str = "Incident"
) -> dict[str, Any]:
    """An update of the Service Health incident `tracking_id`, published at `at`."""
    event = load("common_service_health.json")
    event["data"]["essentials"]["alertId"] += alert_suffix
    event["data"]["essentials"]["firedDateTime"] = at
    context = event["data"]["alertContext"]
    context.update(
        eventTimestamp=at,
        status="Resolved" if stage in ("Resolved", "RCA", "Complete") else "Active",
        operationName=f"Microsoft.ServiceHealth/{incident_type.lower()}/action",
    )
    context["properties"].update(stage=stage, trackingId=tracking_id, incidentType=incident_type)
    return event


def test_two_service_health_incidents_worded_alike_are_two_tickets(webhook_client):
    """A monthly maintenance notice comes from one template, its tracking id aside: the
    second was counted on the first's ticket while it was open, and reopened it as a
    regression once it was over, so each notice after the first had no ticket of its own."""
    first = webhook_client(
        AZURE, _service_health("-1", "Planned", "MNT-0001", "2025-01-01T10:00:00Z", "Maintenance")
    ).json()
    second = webhook_client(
        AZURE, _service_health("-2", "Planned", "MNT-0002", "2025-01-02T10:00:00Z", "Maintenance")
    ).json()
    assert first["outcome"] == second["outcome"] == "created"
    assert second["ticket_id"] != first["ticket_id"]

    over = webhook_client(
        AZURE, _service_health("-3", "Complete", "MNT-0001", "2025-01-03T10:00:00Z", "Maintenance")
    ).json()
    third = webhook_client(
        AZURE, _service_health("-4", "Planned", "MNT-0003", "2025-01-04T10:00:00Z", "Maintenance")
    ).json()
    assert (over["outcome"], over["ticket_id"]) == ("resolved", first["ticket_id"])
    assert third["outcome"] == "created"
    assert third["ticket_id"] not in (first["ticket_id"], second["ticket_id"])
    assert Ticket.objects.get(pk=first["ticket_id"]).status == "resolved"
    assert Ticket.objects.get(pk=second["ticket_id"]).occurrence_count == 1


def test_a_service_health_update_delivered_after_its_resolved_does_not_reopen_it(
    webhook_client,
):
    """Azure does not deliver activity log alerts in order: an Active update published before
    the incident's Resolved, delivered after it, reopened the resolved ticket as a regression
    (paging again) that nothing would end, Azure's incident being over."""
    active = _service_health("-1", "Active", "XY12-3Z", "2025-01-01T10:00:00Z")
    resolved = _service_health("-3", "Resolved", "XY12-3Z", "2025-01-01T12:00:00Z")
    late = _service_health("-2", "Active", "XY12-3Z", "2025-01-01T11:00:00Z")

    opened = webhook_client(AZURE, active).json()
    assert webhook_client(AZURE, resolved).json()["outcome"] == "resolved"
    answer = webhook_client(AZURE, late).json()

    assert (answer["outcome"], answer["ticket_id"]) == ("regressed", opened["ticket_id"])
    ticket = Ticket.objects.get(pk=opened["ticket_id"])
    assert ticket.status == "resolved" and ticket.resolved_at_source_at is not None
    ended = AuditLog.objects.get(ticket=ticket, action="resolved at source", details__has_key="why")
    assert (
        "Service Health incident was reported over at 2025-01-01T12:00:00Z"
        in (ended.details["why"])
    )

    # Azure reopening its incident after the Resolved is the outage again: it stays open.
    again = _service_health("-4", "Active", "XY12-3Z", "2025-01-01T13:00:00Z")
    answer = webhook_client(AZURE, again).json()
    assert (answer["outcome"], answer["ticket_id"]) == ("regressed", ticket.pk)
    ticket.refresh_from_db()
    assert ticket.status == "open" and ticket.resolved_at_source_at is None


def test_a_service_health_incidents_resolved_delivered_first_ends_its_active_as_it_lands(
    webhook_client,
):
    resolved = _service_health("-2", "Resolved", "QR45-6S", "2025-01-01T12:00:00Z")
    active = _service_health("-1", "Active", "QR45-6S", "2025-01-01T10:00:00Z")

    assert webhook_client(AZURE, resolved).json()["outcome"] == "ignored"
    opened = webhook_client(AZURE, active).json()

    assert opened["outcome"] == "created"
    ticket = Ticket.objects.get(pk=opened["ticket_id"])
    assert ticket.status == "resolved" and ticket.resolved_at_source_at is not None


def test_a_service_health_post_incident_review_follows_its_resolved_ticket(webhook_client):
    """Azure publishes its post-incident review (stage RCA) days after the Resolved: it was
    answered `ignored` naming no ticket, and what Azure found the cause to be reached no
    ticket."""
    active = _service_health("-1", "Active", "PIR1-AB", "2025-01-01T10:00:00Z")
    resolved = _service_health("-2", "Resolved", "PIR1-AB", "2025-01-01T12:00:00Z")
    review = _service_health("-3", "RCA", "PIR1-AB", "2025-01-04T09:00:00Z")
    review["data"]["alertContext"]["properties"]["communication"] = (
        "<p><strong>Root Cause</strong>: a certificate rotation left one front end unable to "
        "reach its storage.</p>"
    )

    opened = webhook_client(AZURE, active).json()
    assert webhook_client(AZURE, resolved).json()["outcome"] == "resolved"
    answer = webhook_client(AZURE, review).json()

    assert (answer["outcome"], answer["ticket_id"]) == ("ignored", opened["ticket_id"])
    ticket = Ticket.objects.get(pk=opened["ticket_id"])
    assert ticket.status == "resolved"
    update = AuditLog.objects.get(ticket=ticket, action="source update")
    assert update.details["stage"] == "RCA"
    assert "certificate rotation left one front end" in update.details["update"]
    delivery = WebhookDelivery.objects.get(tracking_id=answer["tracking_id"])
    assert delivery.ticket_id == ticket.pk

    # The review of another incident the rule reported nothing of names no ticket.
    other = _service_health("-4", "RCA", "PIR2-CD", "2025-01-04T09:00:00Z")
    assert webhook_client(AZURE, other).json()["ticket_id"] is None


def test_resource_health_available_resolves_the_unavailable_ticket(webhook_client):
    down = load("common_resource_health.json")
    up = copy.deepcopy(down)
    up["data"]["essentials"]["alertId"] += "-up"
    up["data"]["alertContext"]["properties"].update(
        currentHealthStatus="Available", previousHealthStatus="Unavailable"
    )

    opened = webhook_client(AZURE, down).json()
    ended = webhook_client(AZURE, up).json()

    assert opened["outcome"] == "created"
    assert (ended["outcome"], ended["ticket_id"]) == ("resolved", opened["ticket_id"])


def _health_event(
    alert_suffix: str, operation: str, status: str, current: str, previous: str, title: str
) -> dict[str, Any]:
    event = load("common_resource_health.json")
    event["data"]["essentials"]["alertId"] += alert_suffix
    context = event["data"]["alertContext"]
    context.update(
        operationName=f"Microsoft.Resourcehealth/healthevent/{operation}/action",
        status=status,
        eventTimestamp=f"2019-06-24T15:4{len(alert_suffix)}:54.074+00:00",
    )
    context["properties"].update(
        currentHealthStatus=current, previousHealthStatus=previous, title=title
    )
    return event


def test_resource_health_updates_of_one_outage_share_one_ticket(webhook_client):
    """Resource Health sends each step of one health event (Activated, Updated, Resolved) as an
    alert of its own, with its own title and statuses: the updates are occurrences of the
    resource's open health ticket, not pages of their own, and its Available ends it."""
    activated = _health_event(
        "-1", "Activated", "Active", "Unavailable", "Available", "The VM is unavailable"
    )
    updated = _health_event(
        "-22",
        "Updated",
        "In Progress",
        "Degraded",
        "Unavailable",
        "We are working to restore this virtual machine",
    )
    resolved = _health_event(
        "-333", "Resolved", "Resolved", "Available", "Degraded", "The VM is available again"
    )

    opened = webhook_client(AZURE, activated).json()
    recurred = webhook_client(AZURE, updated).json()
    ended = webhook_client(AZURE, resolved).json()

    assert opened["outcome"] == "created"
    assert (recurred["outcome"], recurred["ticket_id"]) == ("correlated", opened["ticket_id"])
    assert (ended["outcome"], ended["ticket_id"]) == ("resolved", opened["ticket_id"])
    assert Ticket.objects.count() == 1
    assert Ticket.objects.get(pk=opened["ticket_id"]).occurrence_count == 2


def _health_step(
    alert_suffix: str, operation: str, current: str, previous: str, happened: str
) -> dict[str, Any]:
    """A health step of the platform's making (not `UserInitiated`) that happened at
    `happened`, whatever its delivery order."""
    event = _health_event(alert_suffix, operation, "Active", current, previous, "step")
    event["data"]["alertContext"]["eventTimestamp"] = happened
    event["data"]["alertContext"]["properties"]["cause"] = "PlatformInitiated"
    return event


def test_an_unavailable_delivered_after_the_available_that_followed_it_ends_as_it_lands(
    webhook_client,
):
    """Azure does not deliver activity log alerts in order: the resource's Available came
    first and ended nothing; the Unavailable before it then opened a High ticket that nothing
    would ever end, for a resource that was back."""
    available = _health_step("-3", "Resolved", "Available", "Unavailable", "2025-01-01T10:10:00Z")
    unavailable = _health_step(
        "-1", "Activated", "Unavailable", "Available", "2025-01-01T10:00:00.1234567+00:00"
    )

    assert webhook_client(AZURE, available).json()["outcome"] == "ignored"
    opened = webhook_client(AZURE, unavailable).json()

    assert opened["outcome"] == "created"
    ticket = Ticket.objects.get(pk=opened["ticket_id"])
    assert ticket.status == "resolved" and ticket.resolved_at_source_at is not None
    ended = AuditLog.objects.get(ticket=ticket, action="resolved at source")
    assert "available at 2025-01-01T10:10:00Z" in ended.details["why"]

    # The resource failing again after it was back is a new outage: it reopens the ticket.
    again = _health_step("-4", "Activated", "Unavailable", "Available", "2025-01-01T11:00:00Z")
    answer = webhook_client(AZURE, again).json()
    assert (answer["outcome"], answer["ticket_id"]) == ("regressed", ticket.pk)
    ticket.refresh_from_db()
    assert ticket.status == "open" and ticket.resolved_at_source_at is None


def test_a_degraded_step_delivered_after_the_outage_ended_does_not_reopen_it(webhook_client):
    """Unavailable, Degraded, Available happened in that order; the Degraded step was
    delivered last. It reopened the resolved ticket as a regression (paging again) and, no
    Available following, kept it open for good."""
    unavailable = _health_step(
        "-1", "Activated", "Unavailable", "Available", "2025-01-01T10:00:00Z"
    )
    degraded = _health_step("-22", "Updated", "Degraded", "Unavailable", "2025-01-01T10:05:00Z")
    available = _health_step("-333", "Resolved", "Available", "Degraded", "2025-01-01T10:10:00Z")

    opened = webhook_client(AZURE, unavailable).json()
    assert webhook_client(AZURE, available).json()["outcome"] == "resolved"
    late = webhook_client(AZURE, degraded).json()

    assert (late["outcome"], late["ticket_id"]) == ("regressed", opened["ticket_id"])
    ticket = Ticket.objects.get(pk=opened["ticket_id"])
    assert ticket.status == "resolved" and ticket.resolved_at_source_at is not None
    assert ticket.occurrence_count == 2
    assert AuditLog.objects.filter(ticket=ticket, action="resolved at source").count() == 2


def test_another_resources_available_ends_no_health_step_of_this_one(webhook_client):
    other = _health_step("-9", "Resolved", "Available", "Unavailable", "2025-01-01T10:10:00Z")
    other["data"]["essentials"]["alertTargetIDs"] = [
        "/subscriptions/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e/resourcegroups/test-RG"
        "/providers/microsoft.compute/virtualmachines/test-VM-2"
    ]
    webhook_client(AZURE, other)
    unavailable = _health_step(
        "-1", "Activated", "Unavailable", "Available", "2025-01-01T10:00:00Z"
    )

    opened = webhook_client(AZURE, unavailable).json()

    assert Ticket.objects.get(pk=opened["ticket_id"]).status == "open"


def test_resource_health_of_two_resources_under_one_rule_is_two_tickets(webhook_client):
    first = _health_event("-1", "Activated", "Active", "Unavailable", "Available", "Down")
    second = _health_event("-2", "Activated", "Active", "Unavailable", "Available", "Down")
    second["data"]["essentials"]["alertTargetIDs"] = [
        "/subscriptions/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e/resourcegroups/test-RG"
        "/providers/microsoft.compute/virtualmachines/test-VM-2"
    ]

    one = webhook_client(AZURE, first).json()
    two = webhook_client(AZURE, second).json()

    assert (one["outcome"], two["outcome"]) == ("created", "created")
    assert one["ticket_id"] != two["ticket_id"]


def test_two_rules_with_the_same_alert_id_open_two_tickets(webhook_client):
    first = shared_payload("azure_common_metric_dynamic_fired.json")
    second = copy.deepcopy(first)
    second["data"]["essentials"]["alertRule"] = "storage-transactions-other-rule"

    one = webhook_client(AZURE, first).json()
    two = webhook_client(AZURE, second).json()

    assert (one["outcome"], two["outcome"]) == ("created", "created")
    assert one["ticket_id"] != two["ticket_id"]
    pipelines = set(Ticket.objects.values_list("pipeline", flat=True))
    assert pipelines == {"test-metricAlertRule", "storage-transactions-other-rule"}


def _sql_database_metric_alert(severity: str) -> dict[str, Any]:
    """A static-threshold metric alert on a SQL database's DTU, at the given severity: its text
    says "database" though nothing failed."""
    body = shared_payload("azure_common_metric_dynamic_fired.json")
    essentials = body["data"]["essentials"]
    essentials.update(
        alertRule=f"sqldb-dtu-{severity}",
        severity=severity,
        description="DTU consumption of the orders database",
        alertTargetIDs=[
            "/subscriptions/1111/resourceGroups/rg-data/providers/Microsoft.Sql/servers/"
            "sql-prod-01/databases/orders"
        ],
    )
    context = body["data"]["alertContext"]
    context["conditionType"] = "SingleResourceMultipleMetricCriteria"
    criterion = context["condition"]["allOf"][0]
    criterion.pop("alertSensitivity")
    criterion.update(
        metricName="dtu_consumption_percent",
        metricNamespace="Microsoft.Sql/servers/databases",
        metricValue=85,
        threshold="80",
    )
    return body


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        ("Sev0", ("Critical", "P1")),
        ("Sev1", ("High", "P2")),
        ("Sev2", ("Medium", "P3")),
        ("Sev3", ("Low", "P4")),
        ("Sev4", ("Low", "P4")),
    ],
)
def test_an_alert_that_is_no_pipeline_failure_has_the_severity_its_rule_gives(
    webhook_client, severity, expected
):
    ticket_id = webhook_client(AZURE, _sql_database_metric_alert(severity)).json()["ticket_id"]

    ticket = Ticket.objects.get(pk=ticket_id)
    assert (ticket.severity, ticket.priority) == expected
    assert ticket.sla_seconds == {"P1": 900, "P2": 3600, "P3": 14400, "P4": 86400}[expected[1]]


def _with(body: dict[str, Any], *, alert: str, severity: str = "Sev4", **context: Any):
    """`body` as another alert of its rule (`alert` ends its id) at `severity`, its context's
    fields (its event's, for an older activity log body) updated with `context`."""
    body = copy.deepcopy(body)
    if body["schemaId"] == "Microsoft.Insights/activityLogs":
        event = body["data"]["context"]["activityLog"]
        event["eventDataId"] += alert
    else:
        body["data"]["essentials"].update(severity=severity)
        body["data"]["essentials"]["alertId"] += alert
        event = body["data"]["alertContext"]
    for key, value in context.items():
        if key == "properties":
            event["properties"].update(value)
        else:
            event[key] = value
    return body


# Activity log alert rules (Service Health and Resource Health ones among them) have no
# severity: Azure sends Sev4 for each (the common schema's test-action samples do too).
@pytest.mark.parametrize(
    ("name", "body", "expected"),
    [
        (
            "Service Health incident (level 3, Warning)",
            _with(load("common_service_health.json"), alert="-sev4"),
            ("High", "P2"),
        ),
        (
            "Service Health planned maintenance",
            _with(
                load("common_service_health.json"),
                alert="-maintenance",
                operationName="Microsoft.ServiceHealth/maintenance/action",
                properties={
                    "incidentType": "Maintenance",
                    "trackingId": "MNT-1",
                    "stage": "Planned",
                },
            ),
            ("Medium", "P3"),
        ),
        (
            # A standard planned maintenance (Warning is Azure's level for an emergency one):
            # Medium, the class's, and a P3 SLA of 4 hours breached by a notice weeks ahead.
            "Service Health standard planned maintenance (level Informational)",
            _with(
                load("common_service_health.json"),
                alert="-standard-maintenance",
                operationName="Microsoft.ServiceHealth/maintenance/action",
                level="Informational",
                properties={
                    "incidentType": "Maintenance",
                    "trackingId": "MNT-2",
                    "stage": "Planned",
                },
            ),
            ("Low", "P4"),
        ),
        (
            "Service Health action required (level Informational)",
            _with(
                load("common_service_health.json"),
                alert="-action-required",
                operationName="Microsoft.ServiceHealth/actionrequired/action",
                level=4,
                properties={
                    "incidentType": "ActionRequired",
                    "trackingId": "ACT-3",
                    "stage": "Active",
                },
            ),
            ("Low", "P4"),
        ),
        (
            "Resource Health: unavailable, platform initiated",
            _with(
                load("common_resource_health.json"),
                alert="-platform",
                properties={"cause": "PlatformInitiated"},
            ),
            ("High", "P2"),
        ),
        (
            "Resource Health: stopped by a user",
            _with(load("common_resource_health.json"), alert="-user"),
            ("Medium", "P3"),
        ),
        (
            "failed operation, level Error",
            _with(
                load("common_activity_log_administrative.json"),
                alert="-failed",
                status="Failed",
                level="Error",
            ),
            ("High", "P2"),
        ),
        (
            "failed operation, level Critical",
            _with(
                load("common_activity_log_administrative.json"),
                alert="-critical",
                status="Failed",
                level="Critical",
            ),
            ("Critical", "P1"),
        ),
        (
            "policy audit, level Warning",
            _with(load("common_activity_log_policy.json"), alert="-sev4"),
            ("Medium", "P3"),
        ),
        (
            "Defender for Cloud alert of severity Low",
            _with(load("common_activity_log_security.json"), alert="-sev4"),
            ("Low", "P4"),
        ),
        (
            "the older activity log body: a Resource Health event, no severity",
            _with(
                load("noncommon_activity_log.json"),
                alert="-health",
                eventSource="ResourceHealth",
                operationName="Microsoft.Resourcehealth/healthevent/Activated/action",
                status="Active",
                properties={
                    "title": "Virtual Machine health status changed to unavailable",
                    "currentHealthStatus": "Unavailable",
                    "previousHealthStatus": "Available",
                    "type": "Downtime",
                    "cause": "PlatformInitiated",
                },
            ),
            ("High", "P2"),
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_an_activity_log_alert_takes_its_severity_from_its_event_not_from_sev4(
    webhook_client, name, body, expected
):
    """A Service Health incident or a VM down was Low/P4 (24 h SLA) through the common schema,
    as every activity log alert is Sev4, and Medium through the older body, which has none."""
    answer = webhook_client(AZURE, body).json()
    assert answer["outcome"] == "created", name

    ticket = Ticket.objects.get(pk=answer["ticket_id"])
    assert (ticket.severity, ticket.priority) == expected, name


# Microsoft Learn ("Service Health notifications", properties.incidentType): AssistedRecovery,
# ActionRequired, Information, Incident, Maintenance, Security.
@pytest.mark.parametrize("incident_type", ["Information", "Informational"])
def test_a_service_health_information_advisory_opens_no_ticket(webhook_client, incident_type):
    """Azure calls a health advisory of potential optimizations `Information`: only
    "Informational" was ignored, so each opened a ticket, Medium and P3 since its Sev4 stands
    for its level (Informational), where the README says it opens none."""
    body = _with(
        load("common_service_health.json"),
        alert=f"-{incident_type}",
        level="Informational",
        operationName="Microsoft.ServiceHealth/incident/action",
        properties={
            "title": "Upgrade your Azure Data Factory SDK to a supported version",
            "incidentType": incident_type,
            "trackingId": "INFO-2TX9",
            "stage": "Active",
        },
    )

    answer = webhook_client(AZURE, body).json()

    assert (answer["outcome"], answer["ticket_id"]) == ("ignored", None)
    assert Ticket.objects.count() == 0


def test_an_activity_log_alert_keeps_a_severity_other_than_sev4(webhook_client):
    body = _with(load("common_resource_health.json"), alert="-sev1", severity="Sev1")
    ticket = Ticket.objects.get(pk=webhook_client(AZURE, body).json()["ticket_id"])
    assert (ticket.severity, ticket.priority) == ("High", "P2")
    body = _with(load("common_resource_health.json"), alert="-sev3", severity="Sev3")
    body["data"]["essentials"]["alertRule"] = "another-rule"
    ticket = Ticket.objects.get(pk=webhook_client(AZURE, body).json()["ticket_id"])
    assert (ticket.severity, ticket.priority) == ("Low", "P4")


def _deleted_storage_account(status: str, alert: str) -> dict[str, Any]:
    """The test action's activity log alert (Microsoft Learn, "Sample alert payloads") of a rule
    watching deletions, for a storage account's delete operation in the given status."""
    storage = (
        "/subscriptions/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e/resourceGroups/rg-data-prod/"
        "providers/Microsoft.Storage/storageAccounts/stdataprod01"
    )
    body = _with(
        load("common_activity_log_administrative.json"),
        alert=alert,
        status=status,
        operationName="Microsoft.Storage/storageAccounts/delete",
        authorization={"action": "Microsoft.Storage/storageAccounts/delete", "scope": storage},
        properties={"entity": storage, "message": "Microsoft.Storage/storageAccounts/delete"},
    )
    body["data"]["essentials"].update(alertRule="prod-storage-deleted", alertTargetIDs=[storage])
    return body


def test_a_succeeded_delete_opens_a_ticket_saying_the_resource_was_deleted(webhook_client):
    """A rule on a delete operation fires for its Started and Succeeded events (Informational
    both): the deletion was answered `ignored` as if it ended a failure, and nobody heard that
    the storage account was gone."""
    started = webhook_client(AZURE, _deleted_storage_account("Started", "-started")).json()
    deleted = webhook_client(AZURE, _deleted_storage_account("Succeeded", "-deleted")).json()

    assert (started["outcome"], started["ticket_id"]) == ("ignored", None)
    assert deleted["outcome"] == "created"
    ticket = Ticket.objects.get(pk=deleted["ticket_id"])
    assert ticket.details["resource_deleted"] is True
    assert "The operation deleted the resource." in ticket.error_message
    assert ticket.culprit == "storage:stdataprod01"  # what later failures naming it group on

    services.analyse_ticket(ticket.id)

    ticket.refresh_from_db()
    assert ticket.rca_result.startswith(
        "Activity log alert 'prod-storage-deleted': storage account 'stdataprod01' "
        "(Microsoft.Storage/storageAccounts, resource group 'rg-data-prod') was deleted "
        "(operation Microsoft.Storage/storageAccounts/delete succeeded), caller "
    )
    assert ticket.recommendations[0].startswith("Confirm with the caller (")
    assert any("restore" in rec for rec in ticket.recommendations)
    assert not any("error it returned" in rec for rec in ticket.recommendations)
    # The same deletion delivered again is the same ticket.
    again = webhook_client(AZURE, _deleted_storage_account("Succeeded", "-deleted")).json()
    assert (again["outcome"], again["ticket_id"]) == ("duplicate", ticket.id)


# Microsoft Learn, "Noncommon alert schema definitions", monitoringService = Service Health: the
# older activity log body names no alert rule (no `context.name`, no `context.id`).
OLDER_SERVICE_HEALTH = {
    "schemaId": "Microsoft.Insights/activityLogs",
    "data": {
        "status": "Activated",
        "context": {
            "activityLog": {
                "channels": "Admin",
                "correlationId": "aaaa0000-bb11-2222-33cc-444444dddddd",
                "description": "This alert rule will trigger when there are updates to a service "
                "issue impacting subscription <name>.",
                "eventSource": "ServiceHealth",
                "eventTimestamp": "2021-11-17T05:34:44.5778226+00:00",
                "eventDataId": "12345678-1234-1234-1234-1234567890ab",
                "level": "Warning",
                "operationName": "Microsoft.ServiceHealth/incident/action",
                "operationId": "12345678-abcd-efgh-ijkl-abcd12345678",
                "properties": {
                    "title": "Test Action Group - Test Service Health Alert",
                    "service": "Azure Service Name",
                    "region": "Global",
                    "communication": "<p><strong>Summary of impact</strong>:&nbsp;This is the "
                    "impact summary.</p>",
                    "incidentType": "Incident",
                    "trackingId": "ABC1-DEF",
                    "impactStartTime": "2021-11-16T20:00:00.0000000Z",
                    "impactMitigationTime": "2021-11-17T01:00:00.0000000Z",
                    "stage": "Active",
                    "communicationId": "11223344556677",
                    "version": "0.1.1",
                },
                "status": "Active",
                "subscriptionId": "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e",
                "submissionTimestamp": "2021-11-17T05:34:54.0000000+00:00",
            }
        },
        "properties": {},
    },
}


def test_an_older_activity_log_alert_does_not_call_its_operation_a_rule(webhook_client):
    """Its ticket is named after its operation, but its message and RCA said "Service Health
    alert 'Microsoft.ServiceHealth/incident/action' fired", "reported by alert rule
    'Microsoft.ServiceHealth/incident/action'": a rule nobody wrote, to look for in vain."""
    answer = webhook_client(AZURE, OLDER_SERVICE_HEALTH).json()
    assert answer["outcome"] == "created"
    ticket = Ticket.objects.get(pk=answer["ticket_id"])
    assert ticket.pipeline == "Microsoft.ServiceHealth/incident/action"
    assert ticket.error_message.startswith(
        "Azure Monitor Service Health alert from an unnamed rule fired "
        "[Activity Log - ServiceHealth]."
    )
    assert (ticket.severity, ticket.priority) == ("High", "P2")  # an incident, level Warning

    services.analyse_ticket(ticket.id)

    ticket.refresh_from_db()
    assert "reported by an unnamed alert rule" in ticket.rca_result
    assert "rule 'Microsoft.ServiceHealth" not in ticket.rca_result
    assert "alert 'Microsoft.ServiceHealth" not in ticket.error_message


def _budget_alert(budget: str, spent: str) -> dict[str, Any]:
    """Microsoft Learn's "Cost budget alert" test-action sample, for `budget`."""
    return {
        "schemaId": "azureMonitorCommonAlertSchema",
        "data": {
            "essentials": {
                "monitoringService": "CostAlerts",
                "firedDateTime": "2025-04-15T17:53:32.996Z",
                "description": f"Your spend for budget {budget} is now {spent}.",
                "essentialsVersion": "1.0",
                "alertContextVersion": "1.0",
                "alertId": "/subscriptions/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e/providers/"
                f"Microsoft.CostManagement/alerts/{budget}-alert",
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
                "AlertData": {
                    "Scope": "/subscriptions/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e/",
                    "ThresholdType": "Actual",
                    "BudgetType": "Cost",
                    "BudgetThreshold": "$50.00",
                    "NotificationThresholdAmount": "$25.00",
                    "BudgetName": budget,
                    "BudgetStartDate": "2022-11-01",
                    "Unit": "USD",
                    "SpentAmount": spent,
                },
            },
        },
    }


def test_budget_alerts_are_named_after_their_budgets(webhook_client):
    """Both were tickets named "CostAlerts" on the board (the README says a budget's ticket is
    named after the budget)."""
    data = webhook_client(AZURE, _budget_alert("data-platform-monthly", "$11,111.00")).json()
    ml = webhook_client(AZURE, _budget_alert("ml-sandbox-monthly", "$30.00")).json()

    assert (data["outcome"], ml["outcome"]) == ("created", "created")
    assert Ticket.objects.get(pk=data["ticket_id"]).pipeline == "data-platform-monthly"
    assert Ticket.objects.get(pk=ml["ticket_id"]).pipeline == "ml-sandbox-monthly"


def test_an_alert_on_several_resources_names_each_of_them(webhook_client):
    """A log search alert scoped to three VMs lists the three in `alertTargetIDs`: its message
    and RCA said it "fired on virtual machine 'vm-a'", and nobody looked at vm-b or vm-c."""
    body = shared_payload("azure_common_log_v2_scheduled_query_fired.json")
    vms = "/subscriptions/1111/resourceGroups/rg-prod/providers/Microsoft.Compute/virtualMachines"
    body["data"]["essentials"].update(
        alertRule="heartbeat-missing",
        alertTargetIDs=[f"{vms}/vm-a", f"{vms}/vm-b", f"{vms}/vm-c"],
        configurationItems=["vm-a", "vm-b", "vm-c"],
    )
    answer = webhook_client(AZURE, body).json()
    ticket = Ticket.objects.get(pk=answer["ticket_id"])
    assert "fired (severity Sev3) on 3 resources: 'vm-a', 'vm-b', 'vm-c' (" in (
        ticket.error_message
    )
    assert "on Microsoft.Compute/virtualMachines 'vm-a'" not in ticket.error_message

    services.analyse_ticket(ticket.id)

    ticket.refresh_from_db()
    assert ticket.rca_result.startswith(
        "Log search alert 'heartbeat-missing' fired on 3 resources: 'vm-a', 'vm-b', 'vm-c' "
        "(Microsoft.Compute/virtualMachines, resource group 'rg-prod'): "
    ), ticket.rca_result


def test_an_alerts_own_words_do_not_class_it_as_an_error(webhook_client):
    """Smart detection's stock description ("a dependency your app is calling (e.g. REST API or
    database)") states no error: the plain-word fallback that reads "database" as a database
    fault is for error messages, not for the account of an alert."""
    ticket_id = webhook_client(AZURE, load("common_smart_detector.json")).json()["ticket_id"]
    assert Ticket.objects.get(pk=ticket_id).error_type == "Unknown"

    services.analyse_ticket(ticket_id)

    ticket = Ticket.objects.get(pk=ticket_id)
    assert (ticket.error_type, ticket.severity) == ("Unknown", "Low")  # its rule says Sev3


def test_metric_alert_ticket_is_explained_as_the_alert_without_gemini(webhook_client):
    body = shared_payload("azure_noncommon_metric_alert_static_activated.json")
    ticket_id = webhook_client(AZURE, body).json()["ticket_id"]

    services.analyse_ticket(ticket_id)

    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.rca_source == "rules"
    assert ticket.rca_result.startswith(
        "Metric alert 'test-metricAlertRule' fired on storage account 'test-storageAccount'"
    )
    assert "Transactions (total over 5 minutes) was 100, breaching the condition > 0" in (
        ticket.rca_result
    )
    assert "Pipeline" not in ticket.rca_result
    assert not any("run logs" in rec for rec in ticket.recommendations)


def test_adf_failure_through_azure_monitor_is_still_an_adf_pipeline_ticket(webhook_client):
    ticket_id = webhook_client(AZURE, load("adf_log_v2_pipeline_run.json")).json()["ticket_id"]

    services.analyse_ticket(ticket_id)

    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.processing_mode == "adf" and ticket.id.startswith("ADF-")
    assert ticket.pipeline == "pl_sales_daily_load"
    assert "pl_sales_daily_load" in ticket.rca_result
    assert "Metric alert" not in ticket.rca_result and "Log search alert" not in ticket.rca_result


FACTORY_ID = (
    "/subscriptions/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e/resourcegroups/rg-data-platform"
    "/providers/microsoft.datafactory/factories/adf-sales-prod"
)


def _adf_log_alert_split_by_resource(alert_id: str, pipeline: str, error: str) -> dict[str, Any]:
    """An ADF log alert split, as the portal offers for resource-centric rules, by
    `_ResourceId` (the factory the rows are of) after the failure's own dimensions."""
    body = load("adf_log_v2_pipeline_run.json")
    body["data"]["essentials"]["alertId"] += alert_id
    criterion = body["data"]["alertContext"]["condition"]["allOf"][0]
    criterion["dimensions"] = [
        {"name": "PipelineName", "value": pipeline},
        {"name": "PipelineRunId", "value": f"run-{alert_id}"},
        {"name": "ActivityName", "value": "Notebook_Transform"},
        {"name": "ErrorCode", "value": "3204"},
        {"name": "ErrorMessage", "value": error},
        {"name": "_ResourceId", "value": FACTORY_ID},
    ]
    return body


def _adf_log_alert(number: int, condition: str = "Fired") -> dict[str, Any]:
    """One evaluation of the ADF log alert rule over the failed run's row: each is an alert of
    its own (its own id), as Azure sends a stateless rule's firings."""
    body = load("adf_log_v2_pipeline_run.json")
    essentials = body["data"]["essentials"]
    essentials["alertId"] = essentials["alertId"][:-4] + f"{number:04d}"
    essentials["firedDateTime"] = f"2025-03-04T06:{20 + 5 * number:02d}:11.8830122Z"
    essentials["monitorCondition"] = condition
    if condition == "Resolved":
        essentials["resolvedDateTime"] = "2025-03-04T07:30:00.0000000Z"
    return body


def test_a_stateless_adf_log_alert_reporting_the_same_failed_run_again_pages_once(
    webhook_client,
):
    """A stateless log alert (its window longer than its frequency) reports the failed run's
    row at every evaluation, each time as a new alert: each was one more occurrence of the
    run's ticket, and once people had resolved it (the run fixed and rerun), the next report
    of that old row reopened it as a regression, paging again for the same failure."""
    first = webhook_client(AZURE, _adf_log_alert(1)).json()
    again = webhook_client(AZURE, _adf_log_alert(2)).json()

    assert first["outcome"] == "created"
    assert (again["outcome"], again["ticket_id"]) == ("duplicate", first["ticket_id"])
    ticket = Ticket.objects.get(pk=first["ticket_id"])
    lifecycle.resolve(ticket.pk, Actor(ActorKind.USER, "oncall"))

    later = webhook_client(AZURE, _adf_log_alert(3)).json()

    assert (later["outcome"], later["ticket_id"]) == ("duplicate", ticket.pk)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.occurrence_count) == ("resolved", 1)

    # Another activity of the run failing, or the run's activity failing otherwise, is not.
    other = _adf_log_alert(4)
    for dimension in other["data"]["alertContext"]["condition"]["allOf"][0]["dimensions"]:
        if dimension["name"] == "ActivityName":
            dimension["value"] = "Copy_Customers_To_SQL"
    assert webhook_client(AZURE, other).json()["outcome"] == "regressed"


def _adf_log_v1_alert(number: int, activities: list[str]) -> dict[str, Any]:
    """One evaluation of a stateless log alert (V1, its search results in the body) over the
    failed run's rows, one row per failed activity, in the order `activities` names them."""
    body = load("adf_log_v1.json")
    essentials = body["data"]["essentials"]
    essentials["alertId"] = essentials["alertId"][:-4] + f"{number:04d}"
    essentials["firedDateTime"] = f"2025-03-04T06:{20 + 5 * number:02d}:03.5521907Z"
    table = body["data"]["alertContext"]["SearchResults"]["tables"][0]
    (row,) = table["rows"]
    table["rows"] = [
        [*row[:3], activity, row[4], f"Operation on target {activity} failed: {row[5]}", row[6]]
        for activity in activities
    ]
    return body


def test_a_stateless_adf_log_alert_whose_rows_come_in_another_order_is_the_same_report(
    webhook_client,
):
    """Two activities of the run failed; each evaluation of the stateless rule returns both
    rows, in no promised order (the query sorts nothing). The second evaluation, its rows the
    other way round, was read as another failure of the run (the first row's activity and
    error): counted once more and, once the ticket was resolved, a regression paging again."""
    first = webhook_client(AZURE, _adf_log_v1_alert(1, ["Copy_Orders", "Copy_Customers"])).json()
    ticket = Ticket.objects.get(pk=first["ticket_id"])
    lifecycle.resolve(ticket.pk, Actor(ActorKind.USER, "oncall"))

    again = webhook_client(AZURE, _adf_log_v1_alert(2, ["Copy_Customers", "Copy_Orders"])).json()

    assert (again["outcome"], again["ticket_id"]) == ("duplicate", ticket.pk)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.occurrence_count) == ("resolved", 1)


def test_the_pipelines_success_ends_the_ticket_an_adf_log_alert_opened(webhook_client):
    """The ticket a log alert naming the run opened kept the alert's recovery key: the
    pipeline's `Succeeded` (the ADF webhook), which ends the same run's ticket when the
    webhook's failure opened it, ended nothing, and a stateless alert sends no Resolved."""
    opened = webhook_client(AZURE, _adf_log_alert(1)).json()
    succeeded = {
        "dataFactoryName": "adf-sales-prod",
        "pipelineName": "pl_sales_daily_load",
        "pipelineRunId": "7c2d9e41-rerun",
        "status": "Succeeded",
    }

    other = {**succeeded, "pipelineName": "pl_sales_weekly", "pipelineRunId": "x"}

    assert webhook_client("/webhooks/adf/", other).json()["outcome"] == "ignored"
    ended = webhook_client("/webhooks/adf/", succeeded).json()

    assert (ended["outcome"], ended["ticket_id"]) == ("resolved", opened["ticket_id"])
    assert Ticket.objects.get(pk=opened["ticket_id"]).resolved_at_source_at is not None


def test_a_stateful_adf_log_alerts_resolved_still_ends_the_ticket_its_fired_opened(
    webhook_client,
):
    opened = webhook_client(AZURE, _adf_log_alert(1)).json()
    ended = webhook_client(AZURE, _adf_log_alert(1, "Resolved")).json()

    assert (ended["outcome"], ended["ticket_id"]) == ("resolved", opened["ticket_id"])


def test_an_adf_log_alerts_ticket_recorded_before_the_upgrade_is_ended_by_its_resolved(
    webhook_client,
):
    """A Fired counted before ADF alerts were keyed by the run's failure kept its alert's keys
    (occurrence `azure:<rule>|<alert id>:<fired>`, recovery key the alert's): its Resolved,
    which names the Fired by the run's failure now, still ends that ticket."""
    fired = _adf_log_alert(1)
    opened = webhook_client(AZURE, fired).json()
    essentials = fired["data"]["essentials"]
    alert_key = f"azure:{essentials['alertRule']}|{essentials['alertId']}"
    Occurrence.objects.filter(ticket_id=opened["ticket_id"]).update(
        key=f"{alert_key}:{essentials['firedDateTime']}"
    )
    Ticket.objects.filter(pk=opened["ticket_id"]).update(resolve_key=alert_key)

    ended = webhook_client(AZURE, _adf_log_alert(1, "Resolved")).json()

    assert (ended["outcome"], ended["ticket_id"]) == ("resolved", opened["ticket_id"])


def _keyed_as_before_the_upgrade(ticket_id: str, fired: dict[str, Any]) -> str:
    """Give the Fired of `fired` counted on the ticket the occurrence key the release before
    gave it (`azure:<rule>|<alert id>:<fired>`); its alert's key."""
    essentials = fired["data"]["essentials"]
    alert_key = f"azure:{essentials['alertRule']}|{essentials['alertId']}"
    changed = Occurrence.objects.filter(
        ticket_id=ticket_id, key__startswith=f"azure:{essentials['alertRule']}|adf-run:"
    ).update(key=f"{alert_key}:{essentials['firedDateTime']}")
    assert changed == 1
    return alert_key


def test_an_adf_log_alert_counted_on_another_alerts_ticket_before_the_upgrade_is_ended(
    webhook_client,
):
    """Two rules reported one failed run before the upgrade: the second rule's Fired was
    counted on the first one's ticket (the same run), keyed by its alert id. The first
    alert's Resolved then kept the ticket open (the second still fired), and the second's
    Resolved, which names its Fired by the run's failure since, found no ticket: it was
    answered `ignored` and the ticket stayed open for good."""
    first = load("adf_log_v1.json")
    second = _adf_log_alert(1)
    opened = webhook_client(AZURE, first).json()
    assert webhook_client(AZURE, second).json()["ticket_id"] == opened["ticket_id"]
    first_key = _keyed_as_before_the_upgrade(opened["ticket_id"], first)
    _keyed_as_before_the_upgrade(opened["ticket_id"], second)
    Ticket.objects.filter(pk=opened["ticket_id"]).update(resolve_key=first_key)
    first_resolved = copy.deepcopy(first)
    first_resolved["data"]["essentials"].update(
        monitorCondition="Resolved", resolvedDateTime="2025-03-04T07:20:00.0000000Z"
    )

    kept = webhook_client(AZURE, first_resolved).json()
    ended = webhook_client(AZURE, _adf_log_alert(1, "Resolved")).json()

    assert (kept["outcome"], kept["ticket_id"]) == ("ignored", opened["ticket_id"])
    assert (ended["outcome"], ended["ticket_id"]) == ("resolved", opened["ticket_id"])
    assert Ticket.objects.get(pk=opened["ticket_id"]).resolved_at_source_at is not None


def test_an_adf_log_alert_counted_on_the_runs_ticket_before_the_upgrade_is_ended_by_its_resolved(
    webhook_client,
):
    """The run's ADF webhook opened the ticket and the alert's Fired, before the upgrade, was
    counted on it (occurrence `azure:<rule>|<alert id>:<fired>`). Its Resolved, landing after
    the upgrade, names the Fired by the run's failure, which no occurrence carries, and its
    recovery key is the alert's, which the webhook's ticket does not have: it ended nothing,
    and the ticket stayed open after Azure said the alert was over."""
    fired = _adf_log_alert(1)
    dimensions = fired["data"]["alertContext"]["condition"]["allOf"][0]["dimensions"]
    named = {dimension["name"]: dimension["value"] for dimension in dimensions}
    run_failed = {
        "factory": "adf-sales-prod",
        "pipeline": named["PipelineName"],
        "run_id": named["PipelineRunId"],
        "activity": named["ActivityName"],
        "error_code": named["ErrorCode"],
        "error_message": named["ErrorMessage"],
        "status": "Failed",
    }
    opened = webhook_client("/webhooks/adf/", run_failed).json()
    counted = webhook_client(AZURE, fired).json()
    assert counted["ticket_id"] == opened["ticket_id"], counted
    essentials = fired["data"]["essentials"]
    alert_key = f"azure:{essentials['alertRule']}|{essentials['alertId']}"
    Occurrence.objects.filter(ticket_id=opened["ticket_id"], key__startswith="azure:").update(
        key=f"{alert_key}:{essentials['firedDateTime']}"
    )

    ended = webhook_client(AZURE, _adf_log_alert(1, "Resolved")).json()

    assert (ended["outcome"], ended["ticket_id"]) == ("resolved", opened["ticket_id"])


def test_an_adf_log_alert_quotes_its_error_not_the_dimensions_after_it(webhook_client):
    error = (
        "Operation on target Notebook_Transform failed: Job failed due to reason: "
        "At least one column must be specified for the table."
    )
    body = _adf_log_alert_split_by_resource("-a", "pl_mkt_campaigns", error)
    ticket_id = webhook_client(AZURE, body).json()["ticket_id"]

    services.analyse_ticket(ticket_id)

    ticket = Ticket.objects.get(pk=ticket_id)
    assert "At least one column must be specified for the table." in ticket.rca_result
    assert "_ResourceId" not in ticket.rca_result
    assert "Azure Monitor" not in ticket.rca_result


def test_an_adf_log_alert_does_not_blame_the_factory_its_rows_are_of(webhook_client):
    """The `_ResourceId` of an ADF log alert's rows is the factory the pipeline ran in, not a
    dependency that failed: two pipelines of it failing for unrelated reasons are no incident."""
    first = _adf_log_alert_split_by_resource(
        "-a", "pl_mkt_campaigns", "Job failed due to reason: At least one column is required."
    )
    second = _adf_log_alert_split_by_resource(
        "-b", "pl_mkt_leads", "The parameter 'region' of the dataset is not set."
    )

    one = Ticket.objects.get(pk=webhook_client(AZURE, first).json()["ticket_id"])
    two = Ticket.objects.get(pk=webhook_client(AZURE, second).json()["ticket_id"])

    assert (one.culprit, two.culprit) == ("", "")
    assert one.incident_id is None and two.incident_id is None


def test_an_adf_metric_alert_whose_error_cannot_be_read_says_so_not_an_unknown_error(
    webhook_client, settings
):
    """`PipelineFailedRuns` counts failed runs and carries no error text: without the Azure
    credentials the root cause says the cause is not known and what is missing, instead of
    quoting the service's own account of the alert as an error "that matches no known cause"."""
    settings.AZURE_TENANT_ID = settings.AZURE_CLIENT_ID = settings.AZURE_CLIENT_SECRET = ""
    ticket_id = webhook_client(AZURE, load("adf_metric_pipeline_failed_runs.json")).json()[
        "ticket_id"
    ]

    services.analyse_ticket(ticket_id)

    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.rca_result.startswith(
        "Pipeline 'pl_sales_daily_load' failed; its alert carries no error text, so the cause"
        " is not known yet: the ADF alert carries no error text; set AZURE_TENANT_ID,"
    ), ticket.rca_result
    assert "matches no known cause" not in ticket.rca_result
    assert "The error says" not in ticket.rca_result
    assert "Data Factory reports a user error" in ticket.rca_result  # its FailureType
    assert ticket.recommendations[0].startswith("Read the failed run's error where it ran")


@pytest.mark.parametrize(
    ("metric", "dimensions"),
    [
        ("IntegrationRuntimeCpuPercentage", None),  # the fixture's own
        ("PipelineElapsedTimeRuns", [{"name": "Name", "value": "pl_sales_daily_load"}]),
        ("PipelineSucceededRuns", [{"name": "Name", "value": "pl_sales_daily_load"}]),
    ],
)
def test_a_factory_metric_that_counts_no_failure_is_not_a_failed_pipeline(
    webhook_client, metric, dimensions
):
    """A metric alert on a data factory whose metric is not a failure count (Microsoft.DataFactory
    /factories metrics: integration runtime CPU, long or succeeded runs...) is that alert, not
    "ADF pipeline ... failed"."""
    body = load("adf_metric_integration_runtime_cpu.json")
    criterion = body["data"]["alertContext"]["condition"]["allOf"][0]
    criterion["metricName"] = metric
    if dimensions is not None:
        criterion["dimensions"] = dimensions
    ticket_id = webhook_client(AZURE, body).json()["ticket_id"]

    services.analyse_ticket(ticket_id)

    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.processing_mode == "azure-monitor" and ticket.id.startswith("AZMON-")
    assert ticket.pipeline == "adf-sales-prod-shir-cpu-high"
    assert ticket.details["alert_kind"] == "metric"
    assert "failed" not in ticket.error_message.split(". ")[0]
    assert "ADF pipeline" not in ticket.error_message
    assert ticket.rca_result.startswith(
        "Metric alert 'adf-sales-prod-shir-cpu-high' fired on data factory 'adf-sales-prod'"
    ), ticket.rca_result
    assert metric in ticket.rca_result


@pytest.mark.parametrize(
    "query",
    [
        "ADFPipelineRun | where Status == 'InProgress' | where Start < ago(2h)"
        " | summarize count() by PipelineName",
        'ADFPipelineRun | where Status in ("Succeeded") and DurationInMs > 7200000'
        " | summarize count() by PipelineName",
        "ADFPipelineRun | where Status == 'Cancelled' | summarize count() by PipelineName",
    ],
)
def test_a_log_alert_over_adf_runs_that_did_not_fail_is_not_a_failed_pipeline(
    webhook_client, query
):
    """A log search alert over ADFPipelineRun that keeps runs of another status (running too
    long, slow successes, cancelled) and names no error is that alert, not "ADF pipeline ...
    failed" with an RCA of a failure."""
    body = load("adf_log_v2_pipeline_run.json")
    body["data"]["essentials"].update(
        alertRule="adf-long-running-pipelines",
        description="A pipeline has been running for more than 2 hours",
    )
    criterion = body["data"]["alertContext"]["condition"]["allOf"][0]
    criterion.update(
        searchQuery=query, dimensions=[{"name": "PipelineName", "value": "pl_sales_daily_load"}]
    )
    ticket_id = webhook_client(AZURE, body).json()["ticket_id"]

    services.analyse_ticket(ticket_id)

    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.processing_mode == "azure-monitor" and ticket.id.startswith("AZMON-")
    assert ticket.pipeline == "adf-long-running-pipelines"
    assert "failed" not in ticket.error_message and "ADF pipeline" not in ticket.error_message
    assert ticket.rca_result.startswith(
        "Log search alert 'adf-long-running-pipelines' fired on Log Analytics workspace"
    ), ticket.rca_result
    assert "PipelineName=pl_sales_daily_load" in ticket.rca_result


def _alert(alert_id: str, condition: str, fired: str) -> dict[str, Any]:
    body = shared_payload("azure_common_metric_dynamic_fired.json")
    essentials = body["data"]["essentials"]
    essentials["alertId"] = (
        f"/subscriptions/x/providers/Microsoft.AlertsManagement/alerts/{alert_id}"
    )
    essentials["monitorCondition"] = condition
    essentials["firedDateTime"] = fired
    if condition == "Resolved":
        essentials["resolvedDateTime"] = "2025-12-10T13:30:00.000Z"
    return body


def test_the_resolved_of_an_alert_correlated_into_another_alerts_ticket_ends_it(webhook_client):
    first = webhook_client(AZURE, _alert("a", "Fired", "2025-12-10T12:00:00.000Z")).json()
    second = webhook_client(AZURE, _alert("b", "Fired", "2025-12-10T12:05:00.000Z")).json()
    assert (first["outcome"], second["outcome"]) == ("created", "correlated")
    assert second["ticket_id"] == first["ticket_id"]

    # Alert a still fires: b's Resolved is noted on the ticket, which stays open.
    noted = webhook_client(AZURE, _alert("b", "Resolved", "2025-12-10T12:05:00.000Z")).json()
    assert (noted["outcome"], noted["ticket_id"]) == ("ignored", first["ticket_id"])
    ticket = Ticket.objects.get(pk=first["ticket_id"])
    assert ticket.resolved_at_source_at is None and ticket.status == "open"
    entry = AuditLog.objects.get(ticket=ticket, action="alert resolved")
    assert entry.details["alerts_still_firing"] == 1

    ended = webhook_client(AZURE, _alert("a", "Resolved", "2025-12-10T12:00:00.000Z")).json()
    assert (ended["outcome"], ended["ticket_id"]) == ("resolved", first["ticket_id"])
    assert Ticket.objects.get(pk=first["ticket_id"]).resolved_at_source_at is not None


def test_a_flapping_alerts_new_instance_is_ended_by_its_own_resolved(webhook_client):
    opened = webhook_client(AZURE, _alert("a", "Fired", "2025-12-10T12:00:00.000Z")).json()
    webhook_client(AZURE, _alert("a", "Resolved", "2025-12-10T12:00:00.000Z"))
    again = webhook_client(AZURE, _alert("a2", "Fired", "2025-12-10T14:00:00.000Z")).json()
    assert (again["outcome"], again["ticket_id"]) == ("regressed", opened["ticket_id"])

    ended = webhook_client(AZURE, _alert("a2", "Resolved", "2025-12-10T14:00:00.000Z")).json()
    assert (ended["outcome"], ended["ticket_id"]) == ("resolved", opened["ticket_id"])
    assert Ticket.objects.get(pk=opened["ticket_id"]).status == "resolved"


def test_an_adf_alert_naming_no_pipeline_is_not_explained_as_a_pipeline_named_like_its_rule(
    webhook_client,
):
    body = load("adf_log_v2_pipeline_run.json")
    condition = body["data"]["alertContext"]["condition"]["allOf"][0]
    condition["dimensions"] = [d for d in condition["dimensions"] if d["name"] != "PipelineName"]
    ticket_id = webhook_client(AZURE, body).json()["ticket_id"]

    services.analyse_ticket(ticket_id)

    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.pipeline == "adf-failed-activity-runs"  # the only name it has
    assert "adf-failed-activity-runs" not in ticket.rca_result
    assert ticket.rca_result.startswith("The pipeline"), ticket.rca_result


def test_adf_failures_from_log_alerts_blame_their_dependency_not_the_workspace(webhook_client):
    """Every ADF log alert queries one Log Analytics workspace: taking it as the culprit
    grouped unrelated pipeline failures into one incident."""
    first = json.loads((PAYLOADS / "adf_log_v2_pipeline_run.json").read_text())
    second = copy.deepcopy(first)
    dimensions = second["data"]["alertContext"]["condition"]["allOf"][0]["dimensions"]
    for dimension in dimensions:
        if dimension["name"] == "PipelineName":
            dimension["value"] = "pl_other_load"
        elif dimension["name"] == "PipelineRunId":
            dimension["value"] = "11111111-2222-3333-4444-555555555555"
    second["data"]["essentials"]["alertId"] += "-2"
    tickets = [webhook_client(AZURE, body).json()["ticket_id"] for body in (first, second)]
    culprits = set(Ticket.objects.filter(pk__in=tickets).values_list("culprit", flat=True))
    assert culprits == {"sql-server:sqlsrv-sales-prod.database.windows.net"}


def test_log_alerts_of_unrelated_rules_on_one_workspace_form_no_incident(webhook_client):
    """Most log alert rules query one Log Analytics workspace: taking it as their culprit made
    one incident, paged once and explained as "2 Azure alert rules fired on" the workspace, of
    a VM's processor time and a heartbeat count."""
    from tickets.models import Incident

    ids = [
        webhook_client(AZURE, load(name)).json()["ticket_id"]
        for name in ("common_log_v1_fired.json", "noncommon_log_alert.json")
    ]
    assert len(set(ids)) == 2
    assert set(Ticket.objects.filter(pk__in=ids).values_list("culprit", flat=True)) == {""}
    assert not Incident.objects.exists()


def test_a_log_alert_on_a_workspace_blames_the_resource_its_rows_name(webhook_client):
    body = shared_payload("azure_common_log_v2_scheduled_query_fired.json")
    criterion = body["data"]["alertContext"]["condition"]["allOf"][0]
    criterion["dimensions"] = [
        {
            "name": "_ResourceId",
            "value": "/subscriptions/11111111-1111-1111-1111-111111111111/resourcegroups/rg/"
            "providers/microsoft.sql/servers/sql-prod-01/databases/dw",
        }
    ]
    ticket_id = webhook_client(AZURE, body).json()["ticket_id"]
    ticket = Ticket.objects.get(pk=ticket_id)
    assert (ticket.culprit, ticket.culprit_detail) == (
        "sql-server:sql-prod-01.database.windows.net",
        "dw",
    )


def test_alerts_grouped_on_one_resource_are_explained_as_alerts(webhook_client, settings):
    """Two rules firing on one storage account form an incident about the account; its shared
    cause speaks of alerts on it, not of failing pipelines to rerun."""
    from integrations.processing import process_delivery
    from tickets.models import Incident

    settings.EMBEDDING_BACKEND = "local"
    first = shared_payload("azure_common_metric_dynamic_fired.json")
    second = copy.deepcopy(first)
    second["data"]["essentials"]["alertRule"] = "storage-latency-rule"
    second["data"]["essentials"]["alertId"] += "-2"
    ids = [webhook_client(AZURE, body).json()["ticket_id"] for body in (first, second)]
    for delivery in WebhookDelivery.objects.filter(ticket_id__in=ids, outcome="created"):
        process_delivery(delivery.pk)

    incident = Incident.objects.get()
    assert incident.rca_result.startswith("2 Azure alert rules fired on ")
    assert "pipeline" not in " ".join([incident.rca_result, *incident.recommendations])
    for ticket in Ticket.objects.filter(pk__in=ids):
        assert ticket.incident_id == incident.pk
        assert ticket.rca_result == incident.rca_result


def test_the_page_of_alerts_grouped_on_one_resource_counts_their_rules_not_pipelines(
    webhook_client,
):
    """Its Slack message and JIRA title counted pipelines only: two rules firing on one storage
    account paged as "2 tickets in 0 pipelines"."""
    from integrations.targets.base import incident_page
    from integrations.targets.jira import incident_summary
    from integrations.targets.slack import slack_incident_message
    from tickets.models import Incident

    first = shared_payload("azure_common_metric_dynamic_fired.json")
    second = copy.deepcopy(first)
    second["data"]["essentials"]["alertRule"] = "storage-latency-rule"
    second["data"]["essentials"]["alertId"] += "-2"
    for body in (first, second):
        webhook_client(AZURE, body)
    incident = Incident.objects.get()

    summary = incident_summary(incident, incident_page(incident))
    text, _blocks = slack_incident_message(incident)
    for title in (summary, text):
        assert "2 tickets from 2 alert rules" in title, title
        assert "pipeline" not in title


def test_a_resolved_delivered_before_its_fired_ends_the_ticket_the_fired_opens(webhook_client):
    """Azure does not promise delivery order; the Fired landing second must not leave a ticket
    nothing will ever close."""
    early = webhook_client(AZURE, _alert("a", "Resolved", "2025-12-10T12:00:00.000Z")).json()
    assert (early["outcome"], early["ticket_id"]) == ("ignored", None)
    fired = webhook_client(AZURE, _alert("a", "Fired", "2025-12-10T12:00:00.000Z")).json()
    assert fired["outcome"] == "created"
    ticket = Ticket.objects.get(pk=fired["ticket_id"])
    assert ticket.resolved_at_source_at is not None and ticket.status == "resolved"
    assert AuditLog.objects.filter(ticket=ticket, action="resolved at source").exists()

    # Another instance of the rule, fired at another time, is not ended by that Resolved.
    other = webhook_client(AZURE, _alert("a", "Fired", "2025-12-10T15:00:00.000Z")).json()
    assert other["outcome"] == "regressed"
    assert Ticket.objects.get(pk=other["ticket_id"]).status == "open"


def _computer_alert(computer: str, alert_id: str, condition: str = "Fired") -> dict[str, Any]:
    """One log alert rule split by `Computer` (Log Alerts V2), firing for one computer."""
    body = shared_payload("azure_common_log_v2_scheduled_query_fired.json")
    essentials = body["data"]["essentials"]
    essentials.update(
        alertRule="heartbeat-missing",
        alertId=f"/subscriptions/x/providers/Microsoft.AlertsManagement/alerts/{alert_id}",
        configurationItems=[computer],
        monitorCondition=condition,
    )
    if condition == "Resolved":
        essentials["resolvedDateTime"] = "2021-11-16T12:30:00Z"
    criterion = body["data"]["alertContext"]["condition"]["allOf"][0]
    criterion["dimensions"] = [{"name": "Computer", "value": computer}]
    return body


def test_one_rule_split_by_computer_opens_a_ticket_per_computer(webhook_client):
    """The message masks digits: vm-prod-07 was counted on vm-prod-08's ticket, and the
    Resolved of vm-prod-08 ended it while vm-prod-07 still fired."""
    eight = webhook_client(AZURE, _computer_alert("vm-prod-08", "a8")).json()
    seven = webhook_client(AZURE, _computer_alert("vm-prod-07", "a7")).json()
    assert (eight["outcome"], seven["outcome"]) == ("created", "created")
    assert eight["ticket_id"] != seven["ticket_id"]

    # The same computer firing again (another alert of the rule) is the same failure.
    again = webhook_client(AZURE, _computer_alert("vm-prod-08", "a8-2")).json()
    assert (again["outcome"], again["ticket_id"]) == ("correlated", eight["ticket_id"])

    webhook_client(AZURE, _computer_alert("vm-prod-08", "a8", "Resolved"))
    ended = webhook_client(AZURE, _computer_alert("vm-prod-08", "a8-2", "Resolved")).json()
    assert (ended["outcome"], ended["ticket_id"]) == ("resolved", eight["ticket_id"])
    assert Ticket.objects.get(pk=eight["ticket_id"]).status == "resolved"
    assert Ticket.objects.get(pk=seven["ticket_id"]).status == "open"


def _pod_alert(pod: str, alert_id: str, condition: str = "Fired") -> dict[str, Any]:
    """One log alert rule split by `PodName`, firing for one pod of a deployment."""
    body = _computer_alert("aks-node-1", alert_id, condition)
    body["data"]["essentials"]["alertRule"] = "api-pod-errors"
    criterion = body["data"]["alertContext"]["condition"]["allOf"][0]
    criterion["dimensions"] = [{"name": "PodName", "value": pod}]
    return body


def test_one_pods_resolved_does_not_end_the_ticket_while_another_pod_fires(webhook_client):
    """Pods come and go, so one rule's alerts for two pods are one ticket; the first pod's
    Resolved ended it while the second still failed."""
    one = webhook_client(AZURE, _pod_alert("api-7d9f-x1", "p1")).json()
    two = webhook_client(AZURE, _pod_alert("api-7d9f-x2", "p2")).json()
    assert (one["outcome"], two["outcome"]) == ("created", "correlated")
    assert two["ticket_id"] == one["ticket_id"]

    noted = webhook_client(AZURE, _pod_alert("api-7d9f-x1", "p1", "Resolved")).json()
    assert (noted["outcome"], noted["ticket_id"]) == ("ignored", one["ticket_id"])
    assert Ticket.objects.get(pk=one["ticket_id"]).status == "open"

    ended = webhook_client(AZURE, _pod_alert("api-7d9f-x2", "p2", "Resolved")).json()
    assert (ended["outcome"], ended["ticket_id"]) == ("resolved", one["ticket_id"])
    assert Ticket.objects.get(pk=one["ticket_id"]).status == "resolved"

    # A pod failing again afterwards reopens it, and its own Resolved alone ends it again:
    # the alerts before the regression are not waited for.
    again = webhook_client(AZURE, _pod_alert("api-7d9f-x3", "p3")).json()
    assert (again["outcome"], again["ticket_id"]) == ("regressed", one["ticket_id"])
    ended = webhook_client(AZURE, _pod_alert("api-7d9f-x3", "p3", "Resolved")).json()
    assert ended["outcome"] == "resolved"


def test_pods_whose_alert_ids_are_not_ascii_are_waited_for_and_then_end_the_ticket(
    webhook_client,
):
    """A Resolved's mark is the SHA-256 of its Fired's key as UTF-8, in Python when it is left
    and in SQL when the alerts still firing are counted: both must agree on any key."""
    one = webhook_client(AZURE, _pod_alert("api-7d9f-x1", "pöd-1 ✓")).json()
    two = webhook_client(AZURE, _pod_alert("api-7d9f-x2", "pöd-2 ✓")).json()
    assert two["ticket_id"] == one["ticket_id"]

    noted = webhook_client(AZURE, _pod_alert("api-7d9f-x1", "pöd-1 ✓", "Resolved")).json()
    assert (noted["outcome"], noted["ticket_id"]) == ("ignored", one["ticket_id"])
    entry = AuditLog.objects.get(ticket_id=one["ticket_id"], action="alert resolved")
    assert entry.details["alerts_still_firing"] == 1

    ended = webhook_client(AZURE, _pod_alert("api-7d9f-x2", "pöd-2 ✓", "Resolved")).json()
    assert (ended["outcome"], ended["ticket_id"]) == ("resolved", one["ticket_id"])


@pytest.mark.parametrize("pods", [3, 400])
def test_the_alerts_still_firing_are_counted_in_one_statement_whatever_their_number(
    webhook_client, pods
):
    """Each Resolved of a storm of pods asks how many of the ticket's alerts still fire: read
    into Python and looked up by a list of their marks, that grew with every pod (quadratic
    over the storm). One statement of the same text, whatever the number of alerts."""
    ticket_id = webhook_client(AZURE, _pod_alert("api-7d9f-x0", "p0")).json()["ticket_id"]
    last = Occurrence.objects.get(ticket_id=ticket_id).key  # its Resolved is the one at hand
    keys = [last.replace("/alerts/p0:", f"/alerts/p{n}:") for n in range(1, pods)]
    Occurrence.objects.bulk_create(  # the other pods' Fireds, counted on the ticket
        Occurrence(key=key, ticket_id=ticket_id, outcome="correlated") for key in keys
    )
    for key in keys[1:]:  # every pod's Resolved came but p1's (`_resolve` leaves its mark)
        Occurrence.objects.claim(ticket_services._alert_resolved_key(key))

    with CaptureQueriesContext(connection) as queries:
        firing = ticket_services._alerts_still_firing(ticket_id, last)

    assert firing == 1  # p1
    assert len(queries) == 1, [query["sql"][:200] for query in queries]
    assert "/alerts/p2:" not in queries[0]["sql"]  # no alert's key is sent back


def test_when_a_ticket_last_regressed_is_read_from_the_regressions_index(webhook_client):
    """The planner is told not to scan the table, so a plan reading every occurrence of the
    ticket for its last regression (the ticket index) fails here."""
    opened = webhook_client(AZURE, _pod_alert("api-7d9f-x1", "p1")).json()
    webhook_client(AZURE, _pod_alert("api-7d9f-x1", "p1", "Resolved"))
    assert webhook_client(AZURE, _pod_alert("api-7d9f-x2", "p2")).json()["outcome"] == "regressed"
    last = Occurrence.objects.get(ticket_id=opened["ticket_id"], outcome="regressed").key
    with CaptureQueriesContext(connection) as queries:
        assert ticket_services._alerts_still_firing(opened["ticket_id"], last) == 0

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {queries[-1]['sql']}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "occurrence_regressed" in plan, plan
    assert "occurrence_unique_key" in plan, plan  # each alert's mark


def test_a_fired_after_its_own_resolved_waits_for_the_other_pods_of_its_ticket(webhook_client):
    opened = webhook_client(AZURE, _pod_alert("api-7d9f-x1", "p1")).json()
    early = webhook_client(AZURE, _pod_alert("api-7d9f-x2", "p2", "Resolved")).json()
    assert early["outcome"] == "ignored"
    late = webhook_client(AZURE, _pod_alert("api-7d9f-x2", "p2")).json()
    assert (late["outcome"], late["ticket_id"]) == ("correlated", opened["ticket_id"])
    assert Ticket.objects.get(pk=opened["ticket_id"]).status == "open"

    ended = webhook_client(AZURE, _pod_alert("api-7d9f-x1", "p1", "Resolved")).json()
    assert (ended["outcome"], ended["ticket_id"]) == ("resolved", opened["ticket_id"])


@pytest.mark.django_db(transaction=True)
def test_a_pod_failing_while_the_last_resolved_commits_reopens_the_ticket(webhook_client):
    """A rollout resolves one pod's alert and fires the next pod's in one evaluation: the
    Fired read the ticket open, then counted itself on it once the Resolved had ended it,
    leaving a resolved ticket with an alert firing on it and no page."""
    opened = webhook_client(AZURE, _pod_alert("api-7d9f-x1", "p1")).json()
    resolved = json.dumps(_pod_alert("api-7d9f-x1", "p1", "Resolved")).encode()

    def the_fired() -> dict[str, Any]:
        try:
            return webhook_client(AZURE, _pod_alert("api-7d9f-x2", "p2")).json()
        finally:
            connections.close_all()

    def resolve() -> None:
        ingest_delivery(Source.AZURE_MONITOR, resolved)

    answer, waited = while_held(resolve, the_fired)

    assert waited  # the Fired read the ticket open and waited for the Resolved's lock
    assert (answer["outcome"], answer["ticket_id"]) == ("regressed", opened["ticket_id"])
    ticket = Ticket.objects.get(pk=opened["ticket_id"])
    assert ticket.status == "open" and ticket.resolved_at_source_at is None


def test_alerts_resolved_before_each_resolved_left_a_mark_are_marked_from_the_inbox(
    webhook_client,
):
    """Migration tickets/0029: on an install upgraded from when only a Resolved delivered
    before its Fired left a mark, an alert resolved earlier must not hold its ticket open."""
    import importlib

    from django.apps import apps

    first = webhook_client(AZURE, _alert("a", "Fired", "2025-12-10T12:00:00.000Z")).json()
    webhook_client(AZURE, _alert("b", "Fired", "2025-12-10T12:05:00.000Z"))
    webhook_client(AZURE, _alert("a", "Resolved", "2025-12-10T12:00:00.000Z"))
    Occurrence.objects.filter(key__startswith="recovered-early:").delete()  # as it was

    migration = importlib.import_module("tickets.migrations.0029_mark_alerts_resolved_before")
    migration.mark_alerts_resolved_before(apps, None)

    ended = webhook_client(AZURE, _alert("b", "Resolved", "2025-12-10T12:05:00.000Z")).json()
    assert (ended["outcome"], ended["ticket_id"]) == ("resolved", first["ticket_id"])


def test_a_legacy_alert_on_the_ticket_does_not_hold_it_open_for_a_mark_it_never_leaves(
    webhook_client,
):
    opened = webhook_client(AZURE, _alert("a", "Fired", "2025-12-10T12:00:00.000Z")).json()
    Occurrence.objects.create(  # a classic metric alert's Fired, counted on the same ticket
        key="azure:/subscriptions/x/alertrules/cpu|/subscriptions/x/vm-1|Activated|2025-12-10",
        ticket_id=opened["ticket_id"],
        outcome="correlated",
    )
    ended = webhook_client(AZURE, _alert("a", "Resolved", "2025-12-10T12:00:00.000Z")).json()
    assert (ended["outcome"], ended["ticket_id"]) == ("resolved", opened["ticket_id"])


def test_an_alert_claimed_just_before_a_regression_but_counted_after_it_is_waited_for(
    webhook_client,
):
    """Two pods failing at once: p2 read the clock first, p3 took the fingerprint lock first
    and reopened the ticket, then p2 was counted on it. p3's Resolved must wait for p2."""
    opened = webhook_client(AZURE, _pod_alert("api-7d9f-x1", "p1")).json()
    webhook_client(AZURE, _pod_alert("api-7d9f-x1", "p1", "Resolved"))
    again = webhook_client(AZURE, _pod_alert("api-7d9f-x3", "p3")).json()
    assert again["outcome"] == "regressed"
    regression = Occurrence.objects.get(ticket_id=opened["ticket_id"], outcome="regressed")
    Occurrence.objects.create(  # the state that race leaves
        key="azure:api-pod-errors|/subscriptions/x/alerts/p2:2021-11-16T11:59:59Z",
        ticket_id=opened["ticket_id"],
        outcome="correlated",
        seen_at=regression.seen_at - timedelta(milliseconds=3),
    )
    noted = webhook_client(AZURE, _pod_alert("api-7d9f-x3", "p3", "Resolved")).json()
    assert (noted["outcome"], noted["ticket_id"]) == ("ignored", opened["ticket_id"])


@pytest.mark.django_db(transaction=True)
def test_a_pod_failing_while_people_reopen_its_resolved_ticket_does_not_regress_it_again(
    webhook_client,
):
    """The pod's Fired read the ticket resolved (a repeat of it), then counted itself on it
    once a responder's reopen and acknowledgement had committed: it regressed an open ticket,
    wiping the acknowledgement and restarting its SLA clock."""
    opened = webhook_client(AZURE, _pod_alert("api-7d9f-x1", "p1")).json()
    webhook_client(AZURE, _pod_alert("api-7d9f-x1", "p1", "Resolved"))
    ticket_id = opened["ticket_id"]
    assert Ticket.objects.get(pk=ticket_id).status == "resolved"
    responder = Actor(ActorKind.JIRA, "maria")

    def the_fired() -> dict[str, Any]:
        try:
            return webhook_client(AZURE, _pod_alert("api-7d9f-x2", "p2")).json()
        finally:
            connections.close_all()

    def reopen_and_acknowledge() -> None:
        lifecycle.reopen(ticket_id, responder)
        lifecycle.acknowledge(ticket_id, responder)

    answer, waited = while_held(reopen_and_acknowledge, the_fired)

    assert waited  # it read the ticket resolved and waited for the responder's lock
    assert (answer["outcome"], answer["ticket_id"]) == ("correlated", ticket_id)
    ticket = Ticket.objects.get(pk=ticket_id)
    assert (ticket.status, ticket.ack_user, ticket.regression_count) == ("acknowledged", "maria", 0)
    assert not AuditLog.objects.filter(ticket_id=ticket_id, action="regressed").exists()
    recurred = AuditLog.objects.get(ticket_id=ticket_id, action="recurred")
    assert recurred.details["how"] == "same fingerprint"


def test_a_regressions_alert_resolved_before_its_fired_ends_it_as_in_order(webhook_client):
    """p1 fired an hour ago and a responder resolved its ticket (p1's Resolved never came: its
    rule was disabled). p2's Resolved, delivered before its Fired, must end the ticket that
    Fired reopens, as it does delivered after it: the alerts before a regression are not
    waited for. The Fired asked before its own regression was recorded, and waited for p1."""
    opened = webhook_client(AZURE, _pod_alert("api-7d9f-x1", "p1")).json()
    ticket_id = opened["ticket_id"]
    lifecycle.resolve(ticket_id, Actor(ActorKind.JIRA, "maria"))
    Occurrence.objects.filter(ticket_id=ticket_id).update(seen_at=F("seen_at") - timedelta(hours=1))

    early = webhook_client(AZURE, _pod_alert("api-7d9f-x2", "p2", "Resolved")).json()
    assert early["outcome"] == "ignored"
    fired = webhook_client(AZURE, _pod_alert("api-7d9f-x2", "p2")).json()
    assert (fired["outcome"], fired["ticket_id"]) == ("regressed", ticket_id)

    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.status == "resolved" and ticket.resolved_at_source_at is not None


def test_an_adf_alerts_own_error_keeps_no_secret_on_the_ticket_or_in_its_rca(webhook_client):
    """`details.adf_error` (the alert's ErrorMessage, kept for the culprit and the RCA) is
    redacted as the ticket's error message is."""
    error = (
        "Operation on target Copy_Orders failed: Login failed for user 'etl'. "
        "Server=tcp:sql-prod.database.windows.net;Password=AdfErrPw9;"
    )
    body = _adf_log_alert_split_by_resource("-s", "pl_orders", error)
    ticket_id = webhook_client(AZURE, body).json()["ticket_id"]

    services.analyse_ticket(ticket_id)

    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.details["adf_error"].startswith("Operation on target Copy_Orders failed")
    for text in (json.dumps(ticket.details), ticket.error_message, ticket.rca_result):
        assert "AdfErrPw9" not in text


def _from_rule(event: dict[str, Any], rule: str, title: str) -> dict[str, Any]:
    # Sev4: what Azure sends for every activity log alert rule.
    event["data"]["essentials"].update(alertRule=rule, severity="Sev4")
    event["data"]["alertContext"]["properties"].update(title=title, defaultLanguageTitle=title)
    return event


def test_a_service_health_ticket_is_named_by_its_event_not_by_its_rule(webhook_client):
    """One Service Health rule ("sh-all") often tells of every Azure incident: each ticket, its
    JIRA summary and its Slack alert were named "sh-all". They are named by the event Azure
    titled; the rule stays the ticket's pipeline (its keys) and is named in its details."""
    from integrations.targets.jira import jira_description, jira_summary
    from integrations.targets.slack import slack_alert

    adf = "Azure Data Factory - East US - Mitigated"
    vms = "Virtual Machines - West Europe"
    first = webhook_client(
        AZURE,
        _from_rule(
            _service_health("-1", "Active", "SH-0001", "2025-01-01T10:00:00Z"), "sh-all", adf
        ),
    ).json()
    second = webhook_client(
        AZURE,
        _from_rule(
            _service_health("-2", "Active", "SH-0002", "2025-01-01T10:05:00Z"), "sh-all", vms
        ),
    ).json()
    one, two = (Ticket.objects.get(pk=answer["ticket_id"]) for answer in (first, second))

    assert (one.title, two.title) == (adf, vms)
    assert one.pipeline == two.pipeline == one.affected_entity["alert_rule"] == "sh-all"
    assert jira_summary(one).startswith(f"[High] {adf}: ")
    assert "*Pipeline:* sh-all\n" in jira_description(one)
    text, blocks = slack_alert(two)
    assert blocks[0]["text"]["text"].endswith(f"High · {vms}")
    assert f"failure in {vms} (" in text

    # A later update under another title (Azure's "- Resolved" suffix...) keeps the name.
    later = _from_rule(
        _service_health("-3", "Active", "SH-0001", "2025-01-01T11:00:00Z"), "sh-all", "other"
    )
    again = webhook_client(AZURE, later).json()
    assert (again["outcome"], again["ticket_id"]) == ("correlated", one.pk)
    one.refresh_from_db()
    assert one.title == adf


def test_a_service_health_ticket_opened_before_keeps_its_name_and_its_updates(webhook_client):
    """A ticket opened by the release before (its affected entity keeps no event title) is
    still named by its rule, and its incident's updates are still counted on it, however it
    is titled now (its run key and fingerprint are what they were)."""
    first = _from_rule(
        _service_health("-1", "Active", "OLD-0001", "2025-01-01T10:00:00Z"), "sh-all", "Before"
    )
    opened = webhook_client(AZURE, first).json()
    ticket = Ticket.objects.get(pk=opened["ticket_id"])
    entity = {key: value for key, value in ticket.affected_entity.items() if key != "event_title"}
    Ticket.objects.filter(pk=ticket.pk).update(affected_entity=entity)
    run_id, fingerprint = ticket.run_id, ticket.fingerprint

    update = _from_rule(
        _service_health("-2", "Active", "OLD-0001", "2025-01-01T11:00:00Z"), "sh-all", "Before"
    )
    again = webhook_client(AZURE, update).json()

    assert (again["outcome"], again["ticket_id"]) == ("correlated", ticket.pk)
    ticket.refresh_from_db()
    assert ticket.title == "sh-all"
    assert (ticket.run_id, ticket.fingerprint) == (run_id, fingerprint)
    assert Ticket.objects.count() == 1


@pytest.mark.parametrize(
    ("incident_type", "level", "notice", "expected"),
    [
        ("Maintenance", "Informational", True, ("Low", "P4")),
        ("ActionRequired", "Warning", True, ("Low", "P4")),
        # A security advisory may need acting on at once: it pages, High, as before.
        ("Security", "Warning", False, ("High", "P2")),
        # Azure's emergency maintenance (level Warning): at short notice, it pages.
        ("Maintenance", "Warning", False, ("Medium", "P3")),
        ("Incident", "Warning", False, ("High", "P2")),
    ],
)
def test_a_service_health_notice_is_a_low_ticket_marked_so(
    webhook_client, incident_type, level, notice, expected
):
    """A planned maintenance and an action required are no outage: each is recorded, Low, and
    marked a notice (which pages nobody by default: fanout); an action required at Warning
    was Medium and paged as outages were."""
    body = _service_health("-n", "Active", "NTC-0001", "2025-01-01T10:00:00Z", incident_type)
    body["data"]["alertContext"]["level"] = level
    body["data"]["essentials"]["severity"] = "Sev4"
    answer = webhook_client(AZURE, body).json()
    assert answer["outcome"] == "created"
    ticket = Ticket.objects.get(pk=answer["ticket_id"])
    assert (ticket.severity, ticket.priority) == expected
    assert bool(ticket.details.get("service_health_notice")) is notice
