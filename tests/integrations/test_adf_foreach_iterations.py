"""The iterations of a ForEach share their activity's name: the failure-path Web activity of each
failed iteration posts the same pipeline run and activity name. An iteration failing otherwise
than one already counted is one more occurrence of the run's ticket, its own error named in
its audit entry, as another activity of the run failing is; the same body again is a
duplicate. Through the real webhook view and the real database."""

from __future__ import annotations

from typing import Any

import pytest

from tickets.models import AuditLog, Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("migration_data")]

ADF = "/webhooks/adf/"
COLUMN = (
    "ErrorCode=UserErrorInvalidColumnMappingColumnNotFound,'Type=Microsoft.DataTransfer.Common."
    "Shared.HybridDeliveryException,Message=Column 'region_code' specified in column mapping "
    "cannot be found in 'Source' side.,Source=Microsoft.DataTransfer.ClientLibrary,'"
)
LOGIN = (
    "ErrorCode=SqlFailedToConnect,'Type=Microsoft.DataTransfer.Common.Shared."
    "HybridDeliveryException,Message=Cannot connect to SQL Database. Login failed for user "
    "'etl_reader'.,Source=.Net SqlClient Data Provider,'"
)


def iteration_failed(message: str) -> dict[str, Any]:
    """What the failure path of 'Copy table' inside the ForEach posts (`@pipeline()`,
    `@activity('Copy table').error`)."""
    return {
        "dataFactoryName": "adf-sales-prod",
        "pipelineName": "pl_copy_tables",
        "pipelineRunId": "a1c7e9f0-3b2d-4c8e-9f1a-5d6b7c8e9f01",
        "activityName": "Copy table",
        "error": {
            "errorCode": "2200",
            "message": message,
            "failureType": "UserError",
            "target": "Copy table",
            "details": "",
        },
    }


def test_a_foreach_iteration_failing_otherwise_is_counted_and_named_not_a_duplicate(
    webhook_client,
):
    first = webhook_client(ADF, iteration_failed(COLUMN)).json()
    again = webhook_client(ADF, iteration_failed(COLUMN)).json()
    otherwise = webhook_client(ADF, iteration_failed(LOGIN)).json()

    assert first["outcome"] == "created"
    assert (again["outcome"], again["ticket_id"]) == ("duplicate", first["ticket_id"])
    assert (otherwise["outcome"], otherwise["ticket_id"]) == ("correlated", first["ticket_id"])
    ticket = Ticket.objects.get(pk=first["ticket_id"])
    assert ticket.occurrence_count == 2
    assert ticket.error_type == "DataError" and "region_code" in ticket.error_message
    (recurred,) = AuditLog.objects.filter(ticket=ticket, action="recurred")
    assert recurred.details["error_type"] == "AuthenticationError"
    assert recurred.details["error_message"] == LOGIN


def test_another_activity_of_the_run_failing_otherwise_is_named_in_its_audit_entry(
    webhook_client,
):
    first = webhook_client(ADF, iteration_failed(COLUMN)).json()
    other = {**iteration_failed(LOGIN), "activityName": "Copy customers"}
    alike = {**iteration_failed(COLUMN), "activityName": "Copy regions"}

    assert webhook_client(ADF, other).json()["outcome"] == "correlated"
    assert webhook_client(ADF, alike).json()["outcome"] == "correlated"

    entries = AuditLog.objects.filter(ticket_id=first["ticket_id"], action="recurred")
    assert [e.details.get("error_type") for e in entries.order_by("id")] == [
        "AuthenticationError",
        None,  # it failed alike: the ticket's own error
    ]


def test_a_failure_naming_its_run_and_factory_links_to_the_run_in_adf_studio(webhook_client):
    """A Web activity's body without `runUrl` (`@pipeline()` gives no link) still links to the
    run's page in ADF Studio, built from the run, factory, group and subscription it names."""
    body = {
        **iteration_failed(COLUMN),
        "subscriptionId": "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e",
        "resourceGroup": "rg-data-prod",
    }
    ticket = Ticket.objects.get(pk=webhook_client(ADF, body).json()["ticket_id"])

    assert ticket.links["run"] == (
        "https://adf.azure.com/en/monitoring/pipelineruns/a1c7e9f0-3b2d-4c8e-9f1a-5d6b7c8e9f01"
        "?factory=%2Fsubscriptions%2Faaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e%2FresourceGroups%2F"
        "rg-data-prod%2Fproviders%2FMicrosoft.DataFactory%2Ffactories%2Fadf-sales-prod"
    )
    given = {**body, "pipelineRunId": "b2", "runUrl": "https://adf.azure.com/x"}
    assert Ticket.objects.get(pk=webhook_client(ADF, given).json()["ticket_id"]).links == {
        "run": "https://adf.azure.com/x"
    }
    unnamed = {**iteration_failed(LOGIN), "pipelineRunId": "c3"}  # no group nor subscription
    assert Ticket.objects.get(pk=webhook_client(ADF, unnamed).json()["ticket_id"]).links == {}
