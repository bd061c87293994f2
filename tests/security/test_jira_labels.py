"""A JIRA webhook reaches a ticket through the issue the ticket is linked to. The `rca-<id>`
label, which anyone who can edit an issue can add, only finds a ticket with no linked issue."""

from __future__ import annotations

import pytest

from tests.integrations.test_fanout import JIRA_SECRET, jira_webhook, post_jira
from tickets.models import AuditLog, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def linked_ticket(settings) -> Ticket:
    settings.JIRA_WEBHOOK_SECRET = JIRA_SECRET
    settings.JIRA_USER = ""
    return Ticket.objects.create(
        id="ADF-20251210T123456-abc123",
        pipeline="pl",
        run_id="adf:x",
        source="adf",
        fingerprint="f",
        itsm_ticket_id="OPS-7",
    )


def labelled(issue_key: str, ticket_id: str, to_status: str = "Done") -> dict:
    body = jira_webhook(issue_key, "To Do", to_status)
    body["issue"]["fields"]["labels"] = [f"rca-{ticket_id}"]
    return body


def test_an_unrelated_issue_carrying_the_label_changes_nothing(linked_ticket):
    response = post_jira(labelled("OPS-99", linked_ticket.pk))

    assert response.status_code == 200
    assert response.json()["result"] == "ignored: no ticket is linked to JIRA issue OPS-99"
    assert Ticket.objects.get(pk=linked_ticket.pk).status == "open"
    assert not AuditLog.objects.filter(ticket=linked_ticket, actor_kind="jira").exists()


def test_the_label_still_finds_a_ticket_whose_issue_key_is_not_saved_yet(linked_ticket):
    Ticket.objects.filter(pk=linked_ticket.pk).update(itsm_ticket_id="")

    response = post_jira(labelled("OPS-8", linked_ticket.pk, "In Progress"))

    assert response.status_code == 200, response.content
    assert Ticket.objects.get(pk=linked_ticket.pk).status == "in_progress"


def test_the_linked_issue_wins_over_a_label_naming_another_ticket(linked_ticket):
    other = Ticket.objects.create(
        id="ADF-20251210T123456-def456",
        pipeline="pl",
        run_id="adf:y",
        source="adf",
        fingerprint="g",
    )

    response = post_jira(labelled("OPS-7", other.pk, "In Progress"))

    assert response.json()["ticket_id"] == linked_ticket.pk
    assert Ticket.objects.get(pk=other.pk).status == "open"
