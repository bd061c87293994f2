"""The pending remediation on the dashboard's ticket page, approved there by a responder."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from integrations import remediation
from integrations.models import Remediation, RemediationPolicy
from tests.remediation.conftest import make_policy, make_ticket, proposed
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def _user(role: str) -> User:
    user = User.objects.create_user(f"{role}-user", password="pw-for-tests-only")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def test_a_responder_sees_and_approves_the_pending_remediation(client):
    make_policy(action="playbook", mode="approval", signals=[])
    ticket = make_ticket(error_message="<script>alert(1)</script> connection reset")
    pending = proposed(ticket.pk)
    client.force_login(_user("responder"))

    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "Awaiting approval" in page and 'value="approve"' in page

    response = client.post(f"/tickets/{ticket.pk}/remediation/", {"decision": "approve"})
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == "running" and pending.decided_via == "dashboard"


def test_approve_on_an_older_page_does_not_decide_the_remediation_proposed_since(client):
    """The page showed a remediation that expired; the ticket regressed and another one awaits
    approval now. Approve on the older page decides nothing (as the Slack buttons name their
    remediation); on the page that shows the newer one it does."""
    make_policy(action="playbook", mode="approval", signals=[])
    ticket = make_ticket()
    shown = proposed(ticket.pk)
    client.force_login(_user("responder"))
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert f'name="remediation" value="{shown.pk}"' in page
    Remediation.objects.filter(pk=shown.pk).update(expires_at=timezone.now())
    remediation.sweep()
    Ticket.objects.filter(pk=ticket.pk).update(regressed_at=timezone.now())
    newer = proposed(ticket.pk)

    older_click = {"decision": "approve", "remediation": shown.pk}
    response = client.post(f"/tickets/{ticket.pk}/remediation/", older_click, follow=True)

    assert "Not done: the remediation shown is expired" in response.content.decode()
    newer.refresh_from_db()
    assert newer.status == "awaiting_approval" and newer.decided_by == ""
    client.post(
        f"/tickets/{ticket.pk}/remediation/", {"decision": "approve", "remediation": newer.pk}
    )
    newer.refresh_from_db()
    assert newer.status == "running" and newer.decided_via == "dashboard"


def test_a_viewer_sees_it_without_buttons_and_cannot_post(client):
    make_policy(action="playbook", mode="approval")
    ticket = make_ticket()
    pending = proposed(ticket.pk)
    client.force_login(_user("viewer"))

    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "Awaiting approval" in page and 'value="approve"' not in page
    assert (
        client.post(f"/tickets/{ticket.pk}/remediation/", {"decision": "approve"}).status_code
        == 403
    )
    assert Remediation.objects.get(pk=pending.pk).status == "awaiting_approval"


def test_roles_get_the_remediation_permissions(migration_data):
    from django.contrib.auth.models import Permission

    def codenames(role: str) -> set[str]:
        group = Group.objects.get(name=role)
        return set(Permission.objects.filter(group=group).values_list("codename", flat=True))

    assert {"view_remediation", "view_remediationpolicy"} <= codenames("viewer")
    assert "change_remediation" in codenames("responder")
    assert "change_remediationpolicy" not in codenames("responder")
    assert {"change_remediationpolicy", "change_remediation"} <= codenames("admin")


def test_a_remediation_field_that_is_no_number_decides_nothing(client):
    make_policy(action="playbook", mode="approval", signals=[])
    ticket = make_ticket()
    waiting = proposed(ticket.pk)
    client.force_login(_user("responder"))

    response = client.post(
        f"/tickets/{ticket.pk}/remediation/",
        {"decision": "approve", "remediation": "\u00b2"},
        follow=True,
    )

    assert response.status_code == 200
    assert "Not done: the remediation shown is not this ticket&#x27;s" in (
        response.content.decode()
    )
    waiting.refresh_from_db()
    assert waiting.status == "awaiting_approval"


def _playbook_refused_for_our_credentials() -> tuple[RemediationPolicy, Ticket, Remediation]:
    """An automatic playbook run whose target refused our credentials (401): the last
    attempt, which people may retry."""
    policy = make_policy(action="playbook", mode="auto", auto_min_confidence=0.0, signals=[])
    ticket = make_ticket()
    refused = proposed(ticket.pk)
    remediation.finish(
        refused.pk,
        succeeded=False,
        detail="the action failed: playbook: 401",
        no_next_attempt=remediation.credentials_refused(401),
    )
    return policy, ticket, refused


def test_a_responder_retries_a_remediation_refused_for_our_credentials(client):
    """The failed last attempt offers Retry to a responder (not to a viewer); the retry runs
    the action again, and a click on the page showing the older attempt does nothing."""
    _, ticket, refused = _playbook_refused_for_our_credentials()
    client.force_login(_user("viewer"))
    page = client.get(f"/tickets/{ticket.pk}/")
    assert page.status_code == 200 and 'value="retry"' not in page.content.decode()
    client.force_login(_user("responder"))
    assert 'value="retry"' in client.get(f"/tickets/{ticket.pk}/").content.decode()

    click = {"decision": "retry", "remediation": refused.pk}
    response = client.post(f"/tickets/{ticket.pk}/remediation/", click, follow=True)

    assert "Remediation retried." in response.content.decode()
    again = Remediation.objects.exclude(pk=refused.pk).get(ticket=ticket)
    assert (again.status, again.decided_via) == ("running", "dashboard")
    assert 'value="retry"' not in response.content.decode()
    response = client.post(f"/tickets/{ticket.pk}/remediation/", click, follow=True)
    assert "Not done: the remediation shown is not the latest" in response.content.decode()
    assert Remediation.objects.filter(ticket=ticket).count() == 2


def test_a_decline_on_the_page_keeps_its_note(client):
    make_policy(action="playbook", mode="approval", signals=[])
    ticket = make_ticket()
    waiting = proposed(ticket.pk)
    client.force_login(_user("responder"))
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'aria-label="Remediation note"' in page
    assert "<dt>Remediation</dt><dd>Awaiting approval</dd>" in page  # not its code

    click = {
        "decision": "decline",
        "remediation": waiting.pk,
        "note": "a rerun now hits the freeze",
    }
    response = client.post(f"/tickets/{ticket.pk}/remediation/", click, follow=True)

    assert "Remediation declined." in response.content.decode()
    waiting.refresh_from_db()
    assert waiting.status == "declined"
    assert waiting.reason == "declined by responder-user via dashboard: a rerun now hits the freeze"


def test_a_note_with_a_nul_is_refused_naming_it_and_nothing_is_decided(client):
    make_policy(action="playbook", mode="approval", signals=[])
    ticket = make_ticket()
    waiting = proposed(ticket.pk)
    client.force_login(_user("responder"))

    click = {"decision": "decline", "remediation": waiting.pk, "note": "freeze\x00"}
    response = client.post(f"/tickets/{ticket.pk}/remediation/", click, follow=True)

    assert response.status_code == 200
    assert "a note cannot hold a NUL character" in response.content.decode()
    waiting.refresh_from_db()
    assert waiting.status == "awaiting_approval"


def test_a_pending_remediation_whose_policy_was_disabled_offers_decline_only_and_says_why(client):
    policy = make_policy(action="playbook", mode="approval", signals=[])
    ticket = make_ticket()
    waiting = proposed(ticket.pk)
    client.force_login(_user("responder"))
    assert 'value="approve"' in client.get(f"/tickets/{ticket.pk}/").content.decode()
    policy.enabled = False
    policy.save()

    page = client.get(f"/tickets/{ticket.pk}/").content.decode()

    assert 'value="approve"' not in page and 'value="decline"' in page
    assert (
        f"Approval is refused: its policy &#x27;{policy.name}&#x27; is disabled. Decline it, or "
        "have an admin switch the policy back on to approve it." in page
    )
    client.post(
        f"/tickets/{ticket.pk}/remediation/", {"decision": "decline", "remediation": waiting.pk}
    )
    waiting.refresh_from_db()
    assert waiting.status == "declined"


def test_a_failed_last_attempt_whose_policy_was_disabled_says_why_it_has_no_retry(client):
    policy, ticket, _ = _playbook_refused_for_our_credentials()
    policy.enabled = False
    policy.save()
    client.force_login(_user("responder"))

    page = client.get(f"/tickets/{ticket.pk}/").content.decode()

    assert 'value="retry"' not in page
    assert f"Not offered for a retry: its policy &#x27;{policy.name}&#x27; is disabled." in page


def test_a_retry_on_the_page_keeps_its_note(client):
    _, ticket, refused = _playbook_refused_for_our_credentials()
    client.force_login(_user("responder"))

    click = {"decision": "retry", "remediation": refused.pk, "note": "secret rotated"}
    client.post(f"/tickets/{ticket.pk}/remediation/", click)

    again = Remediation.objects.exclude(pk=refused.pk).get(ticket=ticket)
    assert again.reason == "retried by responder-user via dashboard: secret rotated"
