"""The pending remediation on the ticket in the API, and approving or declining it there."""

from __future__ import annotations

import pytest

from integrations import remediation
from tests.api import jwt_client, make_user
from tests.remediation.conftest import make_policy, make_ticket

pytestmark = pytest.mark.django_db


def test_the_ticket_shows_its_pending_remediation_and_a_responder_approves_it():
    make_policy(name="transient adf", action="playbook", mode="approval")
    ticket = make_ticket()
    remediation.propose(ticket.pk)
    api = jwt_client(make_user("responder"))

    detail = api.get(f"/api/v1/tickets/{ticket.pk}/").json()
    assert detail["remediation_status"] == "awaiting_approval"
    (pending,) = detail["remediations"]
    assert pending["status"] == "awaiting_approval" and pending["policy"] == "transient adf"
    assert pending["expires_at"] is not None

    approved = api.post(f"/api/v1/tickets/{ticket.pk}/remediation/approve/")
    assert approved.status_code == 200, approved.content
    (done,) = approved.json()["remediations"]
    assert done["status"] == "running" and done["decided_via"] == "api"

    again = api.post(f"/api/v1/tickets/{ticket.pk}/remediation/approve/")
    assert again.status_code == 409
    assert "awaits approval" in again.json()["error"]


def test_a_viewer_cannot_decide():
    make_policy(action="playbook", mode="approval")
    ticket = make_ticket()
    remediation.propose(ticket.pk)
    api = jwt_client(make_user("viewer"))
    assert api.post(f"/api/v1/tickets/{ticket.pk}/remediation/decline/").status_code == 403
    assert api.post("/api/v1/tickets/NOPE/remediation/decline/").status_code in (403, 404)


def test_decline_through_the_api():
    make_policy(action="playbook", mode="approval")
    ticket = make_ticket()
    remediation.propose(ticket.pk)
    api = jwt_client(make_user("responder"))
    declined = api.post(f"/api/v1/tickets/{ticket.pk}/remediation/decline/")
    assert declined.status_code == 200
    assert declined.json()["remediation_status"] == "declined"
    assert api.post("/api/v1/tickets/NOPE/remediation/decline/").status_code == 404


def test_a_decision_keeps_its_note_and_a_broken_body_decides_nothing():
    from integrations.models import Remediation
    from tickets.models import AuditLog

    make_policy(action="playbook", mode="approval")
    ticket = make_ticket()
    pending = remediation.propose(ticket.pk)
    assert pending is not None
    api = jwt_client(make_user("responder"))
    url = f"/api/v1/tickets/{ticket.pk}/remediation/decline/"
    broken = api.generic("POST", url, '{"note":', content_type="application/json")
    assert broken.status_code == 400 and "JSON parse error" in broken.json()["error"]
    assert Remediation.objects.get(pk=pending.pk).status == "awaiting_approval"

    declined = api.post(url, {"note": "the upstream fix lands tonight"}, format="json")
    assert declined.status_code == 200, declined.content
    reason = Remediation.objects.get(pk=pending.pk).reason
    assert reason.endswith("via api: the upstream fix lands tonight")

    rerun = f"/api/v1/tickets/{ticket.pk}/rerun-rca/"
    assert api.generic("POST", rerun, "{", content_type="application/json").status_code == 400
    assert not AuditLog.objects.filter(ticket=ticket, action="rca requested").exists()
    assert api.post(rerun, {"note": "new logs attached"}, format="json").status_code == 202
    entry = AuditLog.objects.get(ticket=ticket, action="rca requested")
    assert entry.details == {"note": "new logs attached"}


def test_approving_the_remediation_of_a_resolved_ticket_is_refused():
    """People resolved the ticket while its remediation awaited approval (caught before their
    resolution skipped it): approving it reruns nothing, it is refused and skipped."""
    from integrations.models import OutboundDelivery, Remediation
    from tickets import lifecycle
    from tickets.lifecycle import Actor

    make_policy(action="playbook", mode="approval")
    ticket = make_ticket()
    pending = remediation.propose(ticket.pk)
    assert pending is not None and pending.status == "awaiting_approval"
    responder = make_user("responder")
    lifecycle.resolve(ticket.pk, Actor.for_user(responder), note="fixed by hand")
    api = jwt_client(responder)

    approved = api.post(f"/api/v1/tickets/{ticket.pk}/remediation/approve/")

    assert approved.status_code == 409, approved.content
    assert "the ticket is resolved" in approved.json()["error"]
    found = Remediation.objects.get(pk=pending.pk)
    assert (found.status, found.reason) == ("skipped", "the ticket is resolved")
    assert not OutboundDelivery.objects.filter(ticket_id=ticket.pk, target="playbook").exists()
    ticket.refresh_from_db()
    assert (ticket.status, ticket.remediation_status) == ("resolved", "skipped")


def test_a_fix_run_after_approval_says_who_approved_it_not_that_it_was_automatic():
    """The kept fix leads the next similar failure ("Last time ...: <fix>"): a remediation a
    responder approved is not shown as one the service ran by itself."""
    make_policy(action="playbook", mode="approval")
    ticket = make_ticket()
    pending = remediation.propose(ticket.pk)
    assert pending is not None
    api = jwt_client(make_user("responder", username="daan"))
    assert api.post(f"/api/v1/tickets/{ticket.pk}/remediation/approve/").status_code == 200

    remediation.finish(pending.pk, succeeded=True, detail="the playbook reported success")

    ticket.refresh_from_db()
    assert ticket.status == "resolved"
    fix = ticket.resolutions.get().fix
    assert fix.endswith("(remediation, approved by daan)") and "automatic" not in fix


def test_a_decision_naming_another_tickets_remediation_decides_neither():
    """Approving or declining on one ticket with `"remediation"` naming another ticket's
    pending one is a 409 that says nothing of it, and both wait on."""
    from integrations.models import Remediation
    from tests.remediation.conftest import proposed

    make_policy(action="playbook", mode="approval", signals=[])
    mine, theirs = make_ticket(), make_ticket()
    waiting, other = proposed(mine.pk), proposed(theirs.pk)
    api = jwt_client(make_user("responder"))

    for decision in ("approve", "decline"):
        answer = api.post(
            f"/api/v1/tickets/{mine.pk}/remediation/{decision}/",
            {"remediation": other.pk},
            format="json",
        )
        assert answer.status_code == 409, answer.content
        assert answer.json()["error"] == (
            f"remediation {other.pk} is not this ticket's; remediation {waiting.pk} awaits approval"
        )

    statuses = dict(Remediation.objects.values_list("pk", "status"))
    assert statuses == {waiting.pk: "awaiting_approval", other.pk: "awaiting_approval"}


def test_a_decision_naming_an_older_remediation_does_not_decide_the_one_proposed_since():
    """A bot showed remediation A; A expired, the ticket regressed and B awaits approval now.
    Approving with `"remediation": A` is a 409 naming what became of A, and B waits on; naming
    B approves it (as the dashboard's and Slack's buttons name theirs)."""
    from django.utils import timezone

    from integrations.models import Remediation
    from tests.remediation.conftest import proposed
    from tickets.models import Ticket

    make_policy(action="playbook", mode="approval", signals=[])
    ticket = make_ticket()
    shown = proposed(ticket.pk)
    Remediation.objects.filter(pk=shown.pk).update(expires_at=timezone.now())
    remediation.sweep()
    Ticket.objects.filter(pk=ticket.pk).update(regressed_at=timezone.now())
    newer = proposed(ticket.pk)
    api = jwt_client(make_user("responder"))
    url = f"/api/v1/tickets/{ticket.pk}/remediation/approve/"

    older = api.post(url, {"remediation": shown.pk}, format="json")

    assert older.status_code == 409, older.content
    assert older.json()["error"] == (
        f"remediation {shown.pk} is expired; remediation {newer.pk} awaits approval"
    )
    newer.refresh_from_db()
    assert newer.status == "awaiting_approval" and newer.decided_by == ""
    declined = api.post(
        f"/api/v1/tickets/{ticket.pk}/remediation/decline/",
        {"remediation": shown.pk},
        format="json",
    )
    assert declined.status_code == 409
    assert api.post(url, {"remediation": "x"}, format="json").json()["detail"] == {
        "remediation": "must be a whole number"
    }
    other = api.post(url, {"remediation": 10**12}, format="json")
    assert other.status_code == 409
    assert other.json()["error"].startswith(f"remediation {10**12} is not this ticket's")

    approved = api.post(url, {"remediation": newer.pk}, format="json")

    assert approved.status_code == 200, approved.content
    newer.refresh_from_db()
    assert newer.status == "running" and newer.decided_via == "api"


def test_a_retry_naming_an_attempt_that_is_not_the_one_to_retry_reruns_nothing():
    from integrations.models import Remediation
    from tests.remediation.conftest import refused_for_our_credentials

    make_policy(action="playbook", mode="auto", auto_min_confidence=0.0, signals=[])
    ticket = make_ticket()
    refused = refused_for_our_credentials(ticket.pk)
    api = jwt_client(make_user("responder"))
    url = f"/api/v1/tickets/{ticket.pk}/remediation/retry/"

    wrong = api.post(url, {"remediation": refused.pk + 1}, format="json")

    assert wrong.status_code == 409, wrong.content
    assert Remediation.objects.filter(ticket=ticket).count() == 1
    retried = api.post(url, {"remediation": refused.pk}, format="json")
    assert retried.status_code == 200, retried.content
    assert Remediation.objects.filter(ticket=ticket).count() == 2


@pytest.mark.parametrize("decision", ["approve", "decline", "retry"])
@pytest.mark.parametrize("named", ["id as text", "id as fraction", True])
def test_a_decision_naming_its_remediation_by_anything_but_a_json_whole_number_is_refused(
    decision, named
):
    """`"remediation": "12"` was read as 12 (and `12.0` too), while the API's text fields
    refuse a number: the id is a whole number, or a 400 naming the field."""
    from tests.remediation.conftest import proposed

    make_policy(action="playbook", mode="approval", signals=[])
    ticket = make_ticket()
    shown = proposed(ticket.pk)
    value = {"id as text": str(shown.pk), "id as fraction": float(shown.pk)}.get(named, named)
    api = jwt_client(make_user("responder"))

    answer = api.post(
        f"/api/v1/tickets/{ticket.pk}/remediation/{decision}/",
        {"remediation": value},
        format="json",
    )

    assert answer.status_code == 400, answer.content
    assert answer.json()["detail"] == {"remediation": "must be a whole number"}
    shown.refresh_from_db()
    assert shown.status == "awaiting_approval"


def test_a_form_names_its_remediation_in_digits():
    """A form body has only text: its digits are the id."""
    from tests.remediation.conftest import proposed

    make_policy(action="playbook", mode="approval", signals=[])
    ticket = make_ticket()
    shown = proposed(ticket.pk)
    api = jwt_client(make_user("responder"))

    answer = api.post(
        f"/api/v1/tickets/{ticket.pk}/remediation/decline/", {"remediation": str(shown.pk)}
    )

    assert answer.status_code == 200, answer.content
    shown.refresh_from_db()
    assert shown.status == "declined"
