"""The pending remediation on the dashboard's ticket page, approved there by a responder."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone
from django.utils.html import escape

from integrations import remediation
from integrations.models import Remediation, RemediationPolicy
from tests.remediation.conftest import (
    make_policy,
    make_ticket,
    proposed,
    refused_for_our_credentials,
)
from tickets.lifecycle import Actor
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
    return policy, ticket, refused_for_our_credentials(ticket.pk)


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
    assert (
        "Not done: attempt 1 is not the one to retry; no remediation of the ticket can be "
        "retried now; reload the page."
    ) in response.content.decode()
    assert Remediation.objects.filter(ticket=ticket).count() == 2


def test_a_decline_on_the_page_keeps_its_note(client):
    make_policy(action="playbook", mode="approval", signals=[])
    ticket = make_ticket()
    waiting = proposed(ticket.pk)
    client.force_login(_user("responder"))
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'aria-label="Remediation note"' in page
    assert '<dt>Remediation</dt><dd id="fact-remediation">Awaiting approval</dd>' in page

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
    assert "Not done: Note: it cannot hold a NUL character." in response.content.decode()
    waiting.refresh_from_db()
    assert waiting.status == "awaiting_approval"


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"note": "n" * 1001}, "Note: at most 1000 characters (it has 1001)"),
        ({"decision": "approve-all"}, "Decision: “approve-all” is no decision"),
    ],
)
def test_a_note_too_long_is_refused_naming_it_not_cut(client, fields, message):
    """A note longer than the page's field takes (a client that is no browser) was cut to its
    first 1000 characters in silence, and kept so in the reason and the audit entry."""
    make_policy(action="playbook", mode="approval", signals=[])
    ticket = make_ticket()
    waiting = proposed(ticket.pk)
    client.force_login(_user("responder"))

    click = {"decision": "decline", "remediation": waiting.pk, **fields}
    response = client.post(f"/tickets/{ticket.pk}/remediation/", click, follow=True)

    assert f"Not done: {escape(message)}." in response.content.decode()
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
    # A viewer is told why, not to decline it (no button is theirs).
    client.force_login(_user("viewer"))
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert f"Approval is refused: its policy &#x27;{policy.name}&#x27; is disabled.</div>" in page
    assert "Decline it" not in page and 'value="decline"' not in page
    client.force_login(User.objects.get(username="responder-user"))
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


def test_a_retry_clicked_on_the_latest_attempt_names_the_attempt_a_retry_reruns(client):
    """Run A's attempt 1 and then run B's attempt 2 failed as the last attempts at their runs;
    the page offers Retry on attempt 2 and says what it reruns. Run A is reported failing again:
    a Retry now reruns attempt 1 on run A. The click on the page showing attempt 2 (the latest
    still) said "the remediation shown is not the latest"; it names the attempt a Retry reruns."""
    _, ticket, first = _playbook_refused_for_our_credentials()
    entity = dict(ticket.affected_entity)
    Ticket.objects.record_recurrence(
        ticket.pk, timezone.now(), "adf:run-newer", {**entity, "run_id": "run-newer"}
    )
    second = refused_for_our_credentials(ticket.pk)
    client.force_login(_user("responder"))
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert f'name="remediation" value="{second.pk}"' in page
    assert "Retry reruns attempt 2 (Call the playbook (Logic App)) on run adf:run-newer." in page

    Ticket.objects.record_recurrence(ticket.pk, timezone.now(), first.run_key, entity)
    click = {"decision": "retry", "remediation": second.pk}
    response = client.post(f"/tickets/{ticket.pk}/remediation/", click, follow=True)

    text = response.content.decode()
    assert (
        "Not done: attempt 2 is not the one to retry; a Retry reruns attempt 1 (Call the "
        f"playbook (Logic App)) on run {first.run_key} now; reload the page."
    ) in text
    assert f"Retry reruns attempt 1 (Call the playbook (Logic App)) on run {first.run_key}." in text
    assert Remediation.objects.filter(ticket=ticket).count() == 2


def _decide_note_field(page: str) -> str:
    start = page.index('placeholder="Note: why (optional)"')
    return page[start : page.index(">", start)]


def test_a_note_typed_with_a_decision_someone_else_made_first_is_shown_again_redacted(client):
    """Another responder declined while this page still offered Approve: "Not done" was right,
    but the note typed with the click was gone on the reload."""
    make_policy(action="playbook", mode="approval", signals=[])
    ticket = make_ticket()
    waiting = proposed(ticket.pk)
    other = _user("responder")
    first = User.objects.create_user("first", password="pw-for-tests-only")
    first.groups.add(Group.objects.get(name="responder"))
    remediation.decline(waiting.pk, Actor.for_user(first, via="api"), via="api")
    client.force_login(other)

    click = {
        "decision": "approve",
        "remediation": waiting.pk,
        "note": "checked with <dba>, password=hunter2",
    }
    response = client.post(f"/tickets/{ticket.pk}/remediation/", click, follow=True)

    page = response.content.decode()
    assert "Not done: the remediation shown is declined" in page
    assert ("Your note was not sent: “checked with &lt;dba&gt;, password=[REDACTED]”") in page
    assert "hunter2" not in page
    assert "Your note was not sent" not in client.get(f"/tickets/{ticket.pk}/").content.decode()


def test_a_note_typed_with_an_approval_that_was_refused_stays_in_the_note_field(client):
    policy = make_policy(action="playbook", mode="approval", signals=[])
    ticket = make_ticket()
    waiting = proposed(ticket.pk)
    client.force_login(_user("responder"))
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "value=" not in _decide_note_field(page)
    policy.enabled = False
    policy.save()

    click = {"decision": "approve", "remediation": waiting.pk, "note": "freeze is over"}
    response = client.post(f"/tickets/{ticket.pk}/remediation/", click, follow=True)

    page = response.content.decode()
    assert "Not done: remediation" in page and "is disabled" in page
    assert 'value="freeze is over"' in _decide_note_field(page)
    again = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "value=" not in _decide_note_field(again)


def test_a_valid_note_with_a_refused_decision_is_kept_and_a_refused_note_is_not(client):
    make_policy(action="playbook", mode="approval", signals=[])
    ticket = make_ticket()
    waiting = proposed(ticket.pk)
    client.force_login(_user("responder"))
    url = f"/tickets/{ticket.pk}/remediation/"

    page = client.post(
        url, {"decision": "approve-all", "remediation": waiting.pk, "note": "ok"}, follow=True
    ).content.decode()
    assert 'value="ok"' in _decide_note_field(page)
    page = client.post(
        url, {"decision": "approve", "remediation": waiting.pk, "note": "x\x00"}, follow=True
    ).content.decode()
    assert "value=" not in _decide_note_field(page)


def test_a_note_typed_with_a_retry_that_is_no_longer_the_one_is_shown_again(client):
    _, ticket, refused = _playbook_refused_for_our_credentials()
    client.force_login(_user("responder"))
    click = {"decision": "retry", "remediation": refused.pk}
    client.post(f"/tickets/{ticket.pk}/remediation/", click)

    click["note"] = "token rotated"
    response = client.post(f"/tickets/{ticket.pk}/remediation/", click, follow=True)

    page = response.content.decode()
    assert "Not done: attempt 1 is not the one to retry" in page
    assert "Your note was not sent: “token rotated”" in page
