"""Acknowledge / take / reopen / rerun through the API: the lifecycle does the work, the API
answers 200 with the ticket, 409 with the reason when the change is not allowed."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from analysis import services
from tests.api import clear_throttles, jwt_client, make_ticket, make_user
from tickets import lifecycle
from tickets.lifecycle import Actor
from tickets.models import AuditLog, Incident, Resolution, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttles():
    clear_throttles()


@pytest.fixture
def responder():
    return make_user("responder", username="maria")


def test_acknowledge_records_the_user_and_the_note(responder):
    ticket = make_ticket()
    api = jwt_client(responder)

    response = api.post(
        f"/api/v1/tickets/{ticket.pk}/acknowledge/", {"note": "on it"}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "acknowledged"
    assert body["ack_user"] == "maria" and body["sla_status"] == "Met"
    assert body["sla_remaining_seconds"] is None
    entry = AuditLog.objects.get(ticket=ticket, action="acknowledge")
    assert (entry.actor_kind, entry.actor_name, entry.user) == ("user", "maria", responder)
    assert entry.details == {"note": "on it"}
    assert (entry.before["status"], entry.after["status"]) == ("open", "acknowledged")


def test_take_then_reopen_then_the_audit_trail_oldest_first(responder):
    ticket = make_ticket()
    api = jwt_client(responder)

    assert api.post(f"/api/v1/tickets/{ticket.pk}/take/").json()["status"] == "in_progress"
    reopened = api.post(f"/api/v1/tickets/{ticket.pk}/reopen/", {"note": ""}, format="json")
    assert reopened.status_code == 200 and reopened.json()["status"] == "open"

    audit = jwt_client(make_user("viewer")).get(f"/api/v1/tickets/{ticket.pk}/audit/").json()
    entries = audit["results"]
    assert [e["action"] for e in entries] == ["start_progress", "reopen"]
    assert {e["username"] for e in entries} == {"maria"}
    assert entries[0]["before"] == {"status": "open"}
    assert entries[0]["after"] == {"status": "in_progress"}


@pytest.mark.parametrize(
    "status, action, reason",
    [
        ("acknowledged", "acknowledge", "cannot acknowledge a ticket that is acknowledged"),
        ("in_progress", "take", "cannot take a ticket that is in progress"),
        ("acknowledged", "take", "cannot take a ticket that is acknowledged"),
        ("open", "reopen", "cannot reopen a ticket that is open"),
    ],
)
def test_an_invalid_transition_is_a_409_with_the_reason(responder, status, action, reason):
    ticket = make_ticket(status=status)

    response = jwt_client(responder).post(f"/api/v1/tickets/{ticket.pk}/{action}/")

    assert response.status_code == 409
    assert response.json() == {"error": reason}
    assert not AuditLog.objects.filter(ticket=ticket).exists()


def test_transition_of_an_unknown_ticket_is_a_404(responder):
    response = jwt_client(responder).post("/api/v1/tickets/ADF-nope/acknowledge/")
    assert response.status_code == 404
    assert response.json()["error"]


def test_a_note_too_long_is_a_400(responder):
    ticket = make_ticket()
    response = jwt_client(responder).post(
        f"/api/v1/tickets/{ticket.pk}/acknowledge/", {"note": "x" * 2001}, format="json"
    )
    assert response.status_code == 400
    assert "note" in response.json()["detail"]


def test_rerun_rca_is_audited_and_queued(responder, queued_analyses):
    ticket = make_ticket()

    response = jwt_client(responder).post(f"/api/v1/tickets/{ticket.pk}/rerun-rca/")

    assert response.status_code == 202
    assert response.json() == {"ticket_id": ticket.pk, "status": "queued"}
    entry = AuditLog.objects.get(ticket=ticket, action="rca requested")
    assert entry.user == responder
    assert queued_analyses() == [f"('{ticket.pk}',)"]  # the analysis task, forced
    assert jwt_client(responder).post("/api/v1/tickets/nope/rerun-rca/").status_code == 404


def test_a_double_click_on_rerun_rca_queues_one_analysis(responder, settings, queued_analyses):
    """The second request, made while the first one's analysis has not been written, is
    audited and answered by that analysis (one Gemini call, one rewrite of JIRA and Slack)."""
    settings.GEMINI_API_KEY = ""
    ticket = make_ticket()
    api = jwt_client(responder)
    rerun = f"/api/v1/tickets/{ticket.pk}/rerun-rca/"

    answers = [api.post(rerun).json()["status"] for _ in range(2)]

    assert answers == ["queued", "already_queued"]
    assert len(queued_analyses()) == 1
    assert AuditLog.objects.filter(ticket=ticket, action="rca requested").count() == 2
    # Analysed since (its run ended), or asked for long ago (its run died): asked again, it runs.
    services.analyse_ticket(ticket.pk, force=True)
    assert api.post(rerun).json()["status"] == "queued"
    AuditLog.objects.filter(ticket=ticket).update(created_at=timezone.now() - timedelta(hours=1))
    Ticket.objects.filter(pk=ticket.pk).update(analysed_at=timezone.now() - timedelta(hours=2))
    assert api.post(rerun).json()["status"] == "queued"
    assert len(queued_analyses()) == 3


def test_clicks_answered_by_a_run_that_died_do_not_keep_rerun_rca_shut(
    responder, settings, queued_analyses
):
    """The run asked for first died (no analysis came); clicks kept coming inside its window,
    each answered by it. Once that run's window has passed, the next click queues a run."""
    settings.GEMINI_API_KEY = ""
    ticket = make_ticket()
    api = jwt_client(responder)
    rerun = f"/api/v1/tickets/{ticket.pk}/rerun-rca/"
    assert api.post(rerun).json()["status"] == "queued"
    AuditLog.objects.filter(ticket=ticket).update(created_at=timezone.now() - timedelta(hours=1))
    Ticket.objects.filter(pk=ticket.pk).update(analysed_at=timezone.now() - timedelta(hours=2))
    assert api.post(rerun).json()["status"] == "queued"  # the first run's window has passed
    assert api.post(rerun).json()["status"] == "already_queued"
    # The second run died too: only its own request, not the click it answered, keeps it shut.
    AuditLog.objects.filter(ticket=ticket, details__has_key="answered_by_earlier").update(
        created_at=timezone.now()
    )
    AuditLog.objects.filter(ticket=ticket).exclude(details__has_key="answered_by_earlier").update(
        created_at=timezone.now() - timedelta(hours=1)
    )
    assert api.post(rerun).json()["status"] == "queued"
    assert len(queued_analyses()) == 3


def test_rerun_rca_with_the_broker_down_is_a_503(responder, refusing_broker):
    ticket = make_ticket()

    response = jwt_client(responder).post(f"/api/v1/tickets/{ticket.pk}/rerun-rca/")

    assert response.status_code == 503
    assert response.json() == {"error": "the analysis queue is unavailable; retry later"}
    entry = AuditLog.objects.get(ticket=ticket, action="rca requested")
    assert entry.details == {"not_queued": True}  # kept, though the request failed


def test_audit_is_paginated_oldest_first():
    from tickets.lifecycle import Actor, write_audit

    ticket = make_ticket()
    for index in range(5):
        write_audit(ticket, Actor.system(), f"step {index}")
    api = jwt_client(make_user("viewer"))

    first = api.get(f"/api/v1/tickets/{ticket.pk}/audit/?page_size=3").json()
    second = api.get(first["next"]).json()

    actions = [e["action"] for e in first["results"] + second["results"]]
    assert actions == [f"step {i}" for i in range(5)]
    assert second["next"] is None
    assert api.get("/api/v1/tickets/nope/audit/").status_code == 404


def test_resolve_takes_an_optional_fix_and_note(responder):
    ticket = make_ticket(fingerprint="fp-resolve")
    api = jwt_client(responder)

    response = api.post(
        f"/api/v1/tickets/{ticket.pk}/resolve/",
        {"note": "verified in prod", "fix": "Rotated the expired service principal secret"},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["resolved_by"]) == ("resolved", "maria")
    assert body["resolve_seconds"] is not None and body["sla_remaining_seconds"] is None
    fix = Resolution.objects.get(ticket=ticket)
    assert (fix.fix, fix.note) == (
        "Rotated the expired service principal secret",
        "verified in prod",
    )
    # The next failure with the same fingerprint shows it as a previous fix.
    later = make_ticket(fingerprint="fp-resolve")
    detail = jwt_client(make_user("viewer")).get(f"/api/v1/tickets/{later.pk}/").json()
    assert [f["fix"] for f in detail["previous_fixes"]] == [fix.fix]
    assert detail["previous_fixes"][0]["headline"].startswith(f"Last time ({ticket.pk}, ")


def test_resolve_without_a_body_resolves_and_records_no_fix(responder):
    ticket = make_ticket()
    response = jwt_client(responder).post(f"/api/v1/tickets/{ticket.pk}/resolve/")
    assert response.status_code == 200 and response.json()["status"] == "resolved"
    assert not Resolution.objects.exists()


def test_resolve_refuses_bad_input_and_a_resolved_ticket(responder):
    ticket = make_ticket()
    api = jwt_client(responder)

    too_long = api.post(f"/api/v1/tickets/{ticket.pk}/resolve/", {"fix": "x" * 8001}, format="json")
    assert too_long.status_code == 400 and "fix" in too_long.json()["detail"]
    assert Ticket.objects.get(pk=ticket.pk).status == "open"

    api.post(f"/api/v1/tickets/{ticket.pk}/resolve/")
    again = api.post(f"/api/v1/tickets/{ticket.pk}/resolve/", {"fix": "more"}, format="json")
    assert (
        again.status_code == 409
        and "cannot resolve a ticket that is resolved" in (again.json()["error"])
    )
    assert not Resolution.objects.exists()
    viewer = jwt_client(make_user("viewer")).post(f"/api/v1/tickets/{ticket.pk}/reopen/")
    assert viewer.status_code == 403


def test_a_responder_marks_a_fix_wrong_and_it_is_never_shown_again(responder):
    ticket = make_ticket(fingerprint="fp-wrong")
    api = jwt_client(responder)
    api.post(f"/api/v1/tickets/{ticket.pk}/resolve/", {"fix": "Reboot"}, format="json")
    fix = Resolution.objects.get()

    marked = api.post(f"/api/v1/resolutions/{fix.pk}/mark-wrong/")

    assert marked.status_code == 200 and marked.json()["marked_wrong_by"] == "maria"
    later = make_ticket(fingerprint="fp-wrong")
    assert api.get(f"/api/v1/tickets/{later.pk}/").json()["previous_fixes"] == []
    assert api.post("/api/v1/resolutions/999999/mark-wrong/").status_code == 404
    for bad in ("abc", "1" * 40):
        answer = api.post(f"/api/v1/resolutions/{bad}/mark-wrong/")
        assert (
            answer.status_code == 404 and answer.json()["error"] == "no recorded fix with this id"
        )
    viewer = jwt_client(make_user("viewer")).post(f"/api/v1/resolutions/{fix.pk}/mark-wrong/")
    assert viewer.status_code == 403


def test_the_release_before_can_still_record_fixes_after_the_upgrade():
    """It does not know `through_incident`: its INSERT leaves the column out, which keeps a
    blank default in the database (Django drops its own once the column is added)."""
    from django.db import connection

    ticket = make_ticket()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tickets_resolution (ticket_id, fix, note, resolved_by, actor_kind,"
            " created_at, fingerprint, embedding_model, marked_wrong_by) VALUES (%s,"
            " 'restarted the gateway', '', 'ana', 'user', now(), 'f', '', '')"
            " RETURNING through_incident",
            [ticket.pk],
        )
        assert cursor.fetchone() == ("",)


def test_a_fix_an_incident_was_resolved_with_marked_wrong_is_never_shown_again(responder):
    """An incident's resolve writes its fix on every member; the next failure like them is
    shown it once, under one member's resolution id. Marking that one wrong hides the fix,
    not only that member's copy of it."""
    members = [make_ticket(fingerprint="fp-incident") for _ in range(3)]
    incident = Incident.objects.create(
        id="INC-20251210T123456-fixwrg",
        group_key="sql-server:sql-prod-01|DatabaseError",
        culprit="sql-server:sql-prod-01",
        member_count=3,
    )
    Ticket.objects.filter(pk__in=[m.pk for m in members]).update(incident=incident)
    api = jwt_client(responder)
    resolved = api.post(
        f"/api/v1/incidents/{incident.pk}/resolve/", {"fix": "Reboot sql-prod-01"}, format="json"
    )
    assert resolved.status_code == 200 and Resolution.objects.count() == 3
    later = make_ticket(fingerprint="fp-incident")
    [shown] = api.get(f"/api/v1/tickets/{later.pk}/").json()["previous_fixes"]

    marked = api.post(f"/api/v1/resolutions/{shown['resolution_id']}/mark-wrong/")

    assert marked.status_code == 200
    assert api.get(f"/api/v1/tickets/{later.pk}/").json()["previous_fixes"] == []
    assert not Resolution.objects.usable().exists()
    assert AuditLog.objects.filter(action="fix marked wrong").count() == 3


def test_marking_a_fix_wrong_leaves_the_same_words_recorded_on_their_own_alone(responder):
    """Only the copies one incident resolve wrote go with it: the same words written when
    another ticket was resolved on its own stay a fix of their own."""
    first, second = make_ticket(fingerprint="fp-same"), make_ticket(fingerprint="fp-same")
    api = jwt_client(responder)
    for ticket in (first, second):
        api.post(f"/api/v1/tickets/{ticket.pk}/resolve/", {"fix": "Reboot"}, format="json")
    wrong = Resolution.objects.get(ticket=first)

    api.post(f"/api/v1/resolutions/{wrong.pk}/mark-wrong/")

    assert list(Resolution.objects.usable().values_list("ticket_id", flat=True)) == [second.pk]


@pytest.mark.django_db(transaction=True)
def test_a_rerun_rca_the_broker_refused_does_not_answer_the_next_one(monkeypatch):
    """The 503's request is audited (committed) but its run never queued: asked again once the
    broker is back, as the 503 says, it queues a run rather than being answered
    `already_queued` by the one never queued, and no fresh RCA is said to be under way."""
    from kombu.exceptions import OperationalError

    from analysis.tasks import analyse_ticket

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    published: list[tuple] = []
    ticket = make_ticket()
    api = jwt_client(make_user("responder"))
    rerun = f"/api/v1/tickets/{ticket.pk}/rerun-rca/"
    monkeypatch.setattr(analyse_ticket, "delay", broker_down)
    assert api.post(rerun).status_code == 503
    assert AuditLog.objects.filter(ticket=ticket, action="rca requested").count() == 1
    assert not services.rca_request_under_way(Ticket.objects.get(pk=ticket.pk))

    monkeypatch.setattr(analyse_ticket, "delay", lambda *args, **kwargs: published.append(args))
    response = api.post(rerun)

    assert response.json() == {"ticket_id": ticket.pk, "status": "queued"}
    assert published == [(ticket.pk,)]


@pytest.mark.django_db(transaction=True)
def test_a_rerun_rca_asked_while_an_earlier_ones_run_is_being_refused_is_not_answered_by_it(
    refusing_broker,
):
    """A double click while the broker hangs: the second request waited for the first's run to
    be queued (the ticket's lock), so it is not told `already_queued` by a run the broker then
    refuses (no analysis would come); it asks the broker itself, and is refused too."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    ticket = make_ticket()
    rerun = f"/api/v1/tickets/{ticket.pk}/rerun-rca/"
    clients = [jwt_client(make_user("responder", username=name)) for name in ("ann", "bo")]

    def ask(api) -> int:
        try:
            return api.post(rerun).status_code
        finally:
            connections.close_all()

    refusing_broker.hold()
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(ask, clients[0])
        assert refusing_broker.connected.wait(10)  # its run is being published
        second = pool.submit(ask, clients[1])
        time.sleep(1)  # the second has asked
        refusing_broker.refuse()
        answers = [first.result(30), second.result(30)]

    assert answers == [503, 503]
    entries = AuditLog.objects.filter(ticket=ticket, action="rca requested").order_by("pk")
    assert [entry.details for entry in entries] == [{"not_queued": True}] * 2
    assert not services.rca_request_under_way(Ticket.objects.get(pk=ticket.pk))


@pytest.mark.django_db(transaction=True)
def test_a_recurrence_is_not_held_up_by_a_rerun_rca_the_broker_hangs_on(
    refusing_broker, webhook_client
):
    """A rerun RCA whose publish hangs (Redis not answering) holds no lock a webhook waits on:
    the ticket's recurrence is stored at once, not when the broker gives up."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    from tests.conftest import local_payload

    first = local_payload("adf_failure.json")
    ticket_id = webhook_client("/webhooks/adf/", first).json()["ticket_id"]
    api = jwt_client(make_user("responder", username="ann"))

    def ask() -> int:
        try:
            return api.post(f"/api/v1/tickets/{ticket_id}/rerun-rca/").status_code
        finally:
            connections.close_all()

    refusing_broker.hold()
    with ThreadPoolExecutor(max_workers=1) as pool:
        rerun = pool.submit(ask)
        assert refusing_broker.connected.wait(10)  # its run is being published
        started = time.monotonic()
        again = webhook_client("/webhooks/adf/", {**first, "run_id": first["run_id"] + "-2"})
        waited = time.monotonic() - started
        refusing_broker.refuse()
        assert rerun.result(30) == 503

    assert again.json() == {**again.json(), "outcome": "correlated", "ticket_id": ticket_id}
    assert waited < 2


def test_every_time_a_resolve_shows_through_the_api_is_written_as_the_serializers_write_it(
    responder,
):
    """A recorded fix's `resolved_at` and the audit trail's before/after read
    `2026-12-06T05:43:36.151642+00:00` where every other time the API answers ends in `Z`."""
    ticket = make_ticket(fingerprint="fp-z")
    api = jwt_client(responder)
    resolved = api.post(f"/api/v1/tickets/{ticket.pk}/resolve/", {"fix": "Reboot"}, format="json")
    later = make_ticket(fingerprint="fp-z")

    [fix] = api.get(f"/api/v1/tickets/{later.pk}/").json()["previous_fixes"]
    audit = api.get(f"/api/v1/tickets/{ticket.pk}/audit/").json()["results"]

    stamp = resolved.json()["resolved_at"]
    assert stamp.endswith("Z")
    assert fix["resolved_at"] == Resolution.objects.get().created_at.isoformat()[:-6] + "Z"
    [resolve] = [entry for entry in audit if entry["action"] == "resolve"]
    assert resolve["after"]["resolved_at"] == stamp


@pytest.mark.parametrize("body", [{"note": "wrong host"}, {"reason": "x"}])
def test_marking_a_fix_wrong_refuses_a_body_it_would_drop(responder, body):
    """It takes nothing: `{"note": ...}` answered 200 and the note went nowhere."""
    ticket = make_ticket(fingerprint="fp-body")
    api = jwt_client(responder)
    api.post(f"/api/v1/tickets/{ticket.pk}/resolve/", {"fix": "Reboot"}, format="json")
    fix = Resolution.objects.get()

    refused = api.post(f"/api/v1/resolutions/{fix.pk}/mark-wrong/", body, format="json")

    assert refused.status_code == 400
    [name] = body
    assert refused.json()["detail"] == {name: "not a field of this body; it takes no field"}
    assert Resolution.objects.usable().exists()
    assert (
        api.post(f"/api/v1/resolutions/{fix.pk}/mark-wrong/", {}, format="json").status_code == 200
    )
    assert not Resolution.objects.usable().exists()
    assert api.post(f"/api/v1/resolutions/{fix.pk}/mark-wrong/").status_code == 200


def test_a_transition_someone_made_first_is_a_409_saying_who_and_when(responder):
    """As a refused Slack click and a refused dashboard action say: a client acting on a ticket
    another changed since it was read learns who changed it and when."""
    ticket = make_ticket()
    first = jwt_client(make_user("responder", username="raj"))
    assert first.post(f"/api/v1/tickets/{ticket.pk}/acknowledge/").status_code == 200

    response = jwt_client(responder).post(f"/api/v1/tickets/{ticket.pk}/acknowledge/")

    assert response.status_code == 409
    assert response.json() == {
        "error": "cannot acknowledge a ticket that is acknowledged (acknowledged by raj just now)"
    }


def recovered_at_source(ticket_id: str) -> None:
    """The source reports the failure over (a success webhook's `_resolve`), as its ticket is."""
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket_id)
        lifecycle.resolve_at_source(locked, Actor.source("adf"), details={"pipeline": "pl"})


@pytest.mark.parametrize(
    ("first", "resolves", "refused"),
    [
        # Resolved by raj, then its pipeline succeeded: still resolved, by raj.
        ("resolve", True, "cannot resolve a ticket that is resolved (resolved by raj just now)"),
        # Acknowledged by raj; its pipeline succeeded, with RESOLVE_ON_SOURCE_RECOVERY off.
        (
            "acknowledge",
            False,
            "cannot acknowledge a ticket that is acknowledged (acknowledged by raj just now)",
        ),
        # Acknowledged by raj; its pipeline succeeded and resolved it: that is named.
        (
            "acknowledge",
            True,
            "cannot acknowledge a ticket that is resolved"
            " (recovered at its source by adf just now)",
        ),
    ],
)
def test_a_refusal_names_who_changed_the_status_not_a_recovery_that_changed_none(
    responder, settings, first, resolves, refused
):
    """A recovery at the source that left the ticket's status as it was (resolved already,
    or not resolving with RESOLVE_ON_SOURCE_RECOVERY off) is audited too: the refusal named
    it, "recovered at its source by adf", as if the source had acted first."""
    settings.RESOLVE_ON_SOURCE_RECOVERY = resolves
    ticket = make_ticket()
    raj = jwt_client(make_user("responder", username="raj"))
    assert raj.post(f"/api/v1/tickets/{ticket.pk}/{first}/").status_code == 200
    recovered_at_source(ticket.pk)
    assert AuditLog.objects.filter(ticket_id=ticket.pk, action="resolved at source").exists()

    response = jwt_client(responder).post(f"/api/v1/tickets/{ticket.pk}/{first}/")

    assert response.status_code == 409
    assert response.json() == {"error": refused}
