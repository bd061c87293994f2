"""Runs of one Databricks job are told apart by their errors, which their notifications do not
carry: a real Celery worker and inbox relay, the real databricks-sdk, jira and slack-sdk clients
against the local servers (tests/fakes)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client

from analysis.services import enrich_tickets
from integrations.models import DeliveryStatus, WebhookDelivery
from tests.analysis.test_enrichment_incidents import (
    SQL_DOWN,
    SQL_DOWN_ELSEWHERE,
    TABLE_MISSING,
    WORKSPACE,
    databricks,
    targets,
)
from tests.api import jwt_client, make_user
from tests.conftest import wait_for
from tests.dashboard.test_pages import CSP, client_for
from tests.fakes.databricks_api import FakeDatabricks, job_run, task
from tests.integrations.test_incident_paging import paged_incident, settled
from tests.tickets.test_incidents import CULPRIT, post, storm_failure
from tickets import lifecycle
from tickets.lifecycle import Actor
from tickets.models import AuditLog, Ticket
from tickets.vocabulary import Source, Status

pytestmark = pytest.mark.django_db(transaction=True)

__all__ = ["databricks", "targets"]  # fixtures

JOB_ID = 4242


def run_failure(fake: FakeDatabricks, run_id: int, error: str) -> dict[str, Any]:
    """Run `run_id` of one job failed with `error`; its notification carries ids only."""
    task_run = run_id + 1
    fake.add_run(job_run(run_id=run_id, job_id=JOB_ID, tasks=[task("load", task_run, "FAILED")]))
    fake.outputs[task_run] = {"error": error}
    return {
        "event_type": "jobs.on_failure",
        "workspace_id": WORKSPACE,
        "run": {"run_id": str(run_id)},
        "job": {"job_id": str(JOB_ID), "name": "nightly_orders_load"},
    }


def processed(answer: dict[str, Any]) -> WebhookDelivery:
    """The delivery once processed (its ticket and outcome as processing left them)."""
    return wait_for(
        lambda: WebhookDelivery.objects.filter(
            tracking_id=answer["tracking_id"], status=DeliveryStatus.PROCESSED
        ).first(),
        30,
    )


def test_runs_of_one_job_are_one_ticket_per_error(celery_worker, targets, databricks):
    jira, _ = targets
    first = processed(post(run_failure(databricks, 100, TABLE_MISSING), "/webhooks/databricks/"))
    assert first.outcome == "created"

    # Another run failing for another reason is a failure of its own.
    other = processed(
        post(run_failure(databricks, 200, SQL_DOWN_ELSEWHERE), "/webhooks/databricks/")
    )
    assert other.outcome == "created"
    assert other.ticket_id != first.ticket_id

    # A third failing as the first did is one more occurrence of the first's ticket: the
    # ticket it opened until its error was known is gone, its delivery counted on the first.
    body = run_failure(databricks, 300, TABLE_MISSING)
    again = processed(post(body, "/webhooks/databricks/"))
    assert (again.ticket_id, again.outcome) == (first.ticket_id, "correlated")
    settled()

    assert Ticket.objects.count() == 2
    ticket = Ticket.objects.get(pk=first.ticket_id)
    assert ticket.occurrence_count == 2
    assert TABLE_MISSING in ticket.error_message
    assert ticket.latest_run["run_key"] == f"databricks:{WORKSPACE}:300"
    recurred = AuditLog.objects.get(ticket_id=ticket.pk, action="recurred")
    assert recurred.details["how"] == "same fingerprint"
    assert SQL_DOWN_ELSEWHERE in Ticket.objects.get(pk=other.ticket_id).error_message
    # Nothing paged for the folded one: one issue per ticket.
    assert len(jira.issues) == 2

    # Its notification delivered again is a duplicate of the ticket it was counted on.
    assert post(body, "/webhooks/databricks/")["outcome"] == "duplicate"
    assert post(body, "/webhooks/databricks/")["ticket_id"] == first.ticket_id
    assert Ticket.objects.get(pk=first.ticket_id).occurrence_count == 2


def test_a_regression_known_by_its_fetched_error_joins_its_culprits_incident(
    celery_worker, targets, databricks
):
    """The job failed on the storm's server, alone, and was resolved; the storm's incident
    formed since. The job failing on that server again regresses its ticket into the
    incident, as any member's regression would: its culprit is the fetched error's."""
    first = processed(post(run_failure(databricks, 100, SQL_DOWN), "/webhooks/databricks/"))
    ticket = Ticket.objects.get(pk=first.ticket_id)
    assert (ticket.culprit, ticket.incident_id) == (CULPRIT, None)
    settled()
    lifecycle.resolve(ticket.pk, Actor.system("test"))
    [post(storm_failure(f"pl_member_{n}")) for n in range(2)]
    incident = paged_incident()

    again = processed(post(run_failure(databricks, 200, SQL_DOWN), "/webhooks/databricks/"))
    assert (again.ticket_id, again.outcome) == (ticket.pk, "regressed")
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.incident_id == incident.pk
    assert Ticket.objects.filter(source="databricks").count() == 1


def test_runs_whose_errors_could_not_be_fetched_are_one_ticket_of_their_job(
    celery_worker, databricks
):
    """The API knows neither run (it failed to answer): their errors stay unknown, and the
    job's failures are one ticket, as before the errors were fetched."""
    body = run_failure(databricks, 100, TABLE_MISSING)
    databricks.runs.clear()
    first = processed(post(body, "/webhooks/databricks/"))
    body["run"]["run_id"] = "200"
    again = processed(post(body, "/webhooks/databricks/"))

    assert (again.ticket_id, again.outcome) == (first.ticket_id, "correlated")
    ticket = Ticket.objects.get(pk=first.ticket_id)
    assert ticket.occurrence_count == 2
    assert "fingerprint_pending" not in ticket.details


def pending_pair(fake: FakeDatabricks) -> tuple[str, str]:
    """Run 100's ticket, settled on its fetched error, and run 300's, failing alike, opened
    a second later (a later id) and not yet settled: no worker runs here."""
    first = post(run_failure(fake, 100, TABLE_MISSING), "/webhooks/databricks/")["ticket_id"]
    enrich_tickets([first])
    time.sleep(1.1)  # ids carry their second: the later ticket's id sorts after
    later = post(run_failure(fake, 300, TABLE_MISSING), "/webhooks/databricks/")["ticket_id"]
    assert first < later
    assert "fingerprint_pending" in Ticket.objects.get(pk=later).details
    return first, later


def test_a_ticket_someone_acknowledged_before_its_error_was_known_is_not_folded(
    databricks, django_user_model
):
    first, later = pending_pair(databricks)
    user = django_user_model.objects.create_user("oncall")
    lifecycle.acknowledge(later, Actor.for_user(user))

    enrich_tickets([later])

    ticket = Ticket.objects.get(pk=later)
    assert ticket.status == Status.ACKNOWLEDGED
    assert ticket.ack_user == "oncall"
    assert TABLE_MISSING in ticket.error_message
    assert ticket.fingerprint == Ticket.objects.get(pk=first).fingerprint
    assert "fingerprint_pending" not in ticket.details
    assert AuditLog.objects.filter(ticket_id=later, action="acknowledge").exists()
    assert Ticket.objects.get(pk=first).occurrence_count == 1


def test_settling_locks_tickets_by_id_as_a_jobs_success_does(databricks):
    """A job's success ends the job's tickets locking them by id (`services._resolve`): the
    earlier ticket first. Settling the later one locks them in that order too, so the two wait
    for one another instead of deadlocking."""
    first, later = pending_pair(databricks)
    holding_first, settling_waits, errors = threading.Event(), threading.Event(), []

    def recovery() -> None:
        try:
            with transaction.atomic():
                Ticket.objects.select_for_update(no_key=True).filter(pk=first).exists()
                holding_first.set()
                assert settling_waits.wait(10)
                Ticket.objects.select_for_update(no_key=True).filter(pk=later).exists()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    def settling() -> None:
        try:
            enrich_tickets([later])
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=recovery), threading.Thread(target=settling)]
    threads[0].start()
    assert holding_first.wait(10)
    threads[1].start()
    wait_for(lambda: waiting_on_a_lock() > 0, 10)
    settling_waits.set()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert not Ticket.objects.filter(pk=later).exists()
    assert Ticket.objects.get(pk=first).occurrence_count == 2


def waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def test_the_id_ingest_answered_for_a_folded_ticket_names_the_ticket_it_was_folded_into(
    databricks,
):
    first, later = pending_pair(databricks)
    enrich_tickets([later])
    assert not Ticket.objects.filter(pk=later).exists()
    api = jwt_client(make_user("viewer"))

    for path in (f"/api/v1/tickets/{later}/", f"/api/v1/tickets/{later}/audit/"):
        response = api.get(path)
        assert response.status_code == 404
        assert response.json() == {
            "error": f"ticket {later} was folded into {first}: its failure is counted there",
            "detail": {"folded_into": first},
        }
    # An id never given stays unknown.
    assert api.get("/api/v1/tickets/DBX-NOPE/").json() == {"error": "no ticket with this id"}


def test_the_dashboard_page_of_a_folded_ticket_links_the_ticket_it_was_folded_into(databricks):
    """As the API's 404 does; one who may not see tickets learns nothing of it."""
    first, later = pending_pair(databricks)
    enrich_tickets([later])

    viewer = client_for("viewer")
    page = viewer.get(f"/tickets/{later}/")
    assert page.status_code == 404
    text = page.content.decode()
    assert f'folded into <a href="/tickets/{first}/">{first}</a>' in text
    assert page.headers["Content-Security-Policy"].startswith(CSP)

    refused = client_for(None).get(f"/tickets/{later}/")
    assert refused.status_code == 403
    assert first not in refused.content.decode()
    anonymous = Client().get(f"/tickets/{later}/")
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"] == f"/login/?next=/tickets/{later}/"
    # An id never given stays the plain 404.
    assert "folded" not in viewer.get("/tickets/DBX-NOPE/").content.decode()


def test_a_ticket_someone_acted_on_and_reopened_is_not_folded(databricks, django_user_model):
    """Open again, but its audit trail names the person: what they did stays on it."""
    first, later = pending_pair(databricks)
    actor = Actor.for_user(django_user_model.objects.create_user("oncall"))
    lifecycle.start_progress(later, actor)
    lifecycle.reopen(later, actor)

    enrich_tickets([later])

    ticket = Ticket.objects.get(pk=later)
    assert ticket.status == Status.OPEN
    assert ticket.fingerprint == Ticket.objects.get(pk=first).fingerprint
    assert AuditLog.objects.filter(ticket_id=later, action="reopen").exists()
    assert Ticket.objects.get(pk=first).occurrence_count == 1


def test_settling_folds_only_into_a_ticket_it_holds_locked(databricks, django_user_model):
    """Settling locks the ticket it would fold into; a job's success resolving that one while
    settling waits for it leaves another open ticket of the fingerprint the one to fold into.
    Settling locks that one too, by id, before it folds: one holding it and then locking the
    settling ticket (by id, as a job's success does) waits for settling, not the reverse."""
    first, acknowledged = pending_pair(databricks)
    lifecycle.acknowledge(acknowledged, Actor.for_user(django_user_model.objects.create_user("a")))
    enrich_tickets([acknowledged])  # stays, unresolved, beside the first: people acted on it
    time.sleep(1.1)
    settling_id = post(run_failure(databricks, 500, TABLE_MISSING), "/webhooks/databricks/")[
        "ticket_id"
    ]
    assert first < acknowledged < settling_id
    recovered, holder_locks_settling = threading.Event(), threading.Event()
    pids: dict[str, int] = {}
    holding, errors = threading.Barrier(3), []

    def success() -> None:
        try:
            with transaction.atomic():
                pids["success"] = backend_pid()
                ticket = Ticket.objects.select_for_update(no_key=True).get(pk=acknowledged)
                holding.wait(10)
                assert recovered.wait(10)
                lifecycle.resolve_at_source(ticket, Actor.source(Source.DATABRICKS), details={})
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    def holder() -> None:
        try:
            with transaction.atomic():
                pids["holder"] = backend_pid()
                Ticket.objects.select_for_update(no_key=True).filter(pk=first).exists()
                holding.wait(10)
                assert holder_locks_settling.wait(10)
                Ticket.objects.select_for_update(no_key=True).filter(pk=settling_id).exists()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    def settling() -> None:
        try:
            enrich_tickets([settling_id])
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for work in (success, holder, settling)]
    threads[0].start()
    threads[1].start()
    holding.wait(10)
    threads[2].start()
    wait_for(lambda: blocked_by(pids["success"]), 10)
    recovered.set()
    threads[0].join(10)
    wait_for(lambda: blocked_by(pids["holder"]), 10)
    holder_locks_settling.set()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert Ticket.objects.get(pk=acknowledged).status == Status.RESOLVED
    assert not Ticket.objects.filter(pk=settling_id).exists()
    assert Ticket.objects.get(pk=first).occurrence_count == 2


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def blocked_by(pid: int) -> bool:
    """Whether a session of this database waits for a lock `pid` holds."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND %s = ANY(pg_blocking_pids(pid))",
            [pid],
        )
        return cursor.fetchone()[0] > 0
