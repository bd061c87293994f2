"""Never two remediations of one run at once (the database decides, under concurrency); held
behind an incident and rerun in batches once the culprit recovers; the circuit per target; the
source's own success webhook closes the loop."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.utils import timezone

from integrations import fanout, remediation
from integrations.circuit import CircuitBreaker
from integrations.models import AttemptOutcome, OutboundDelivery, Remediation
from tests.remediation.conftest import make_policy, make_ticket, proposed, run_pending
from tickets import incidents, stats
from tickets.lifecycle import Actor
from tickets.models import AuditLog, Incident, Ticket, new_incident_id


def _at_once(count: int, work) -> list[object]:
    """Run `work(i)` in `count` threads released together; their results or exceptions."""
    barrier = threading.Barrier(count)
    results: list[object] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results.append(work(i))
        except Exception as exc:
            results.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_concurrent_proposals_for_one_ticket_make_one_remediation():
    make_policy(action="playbook", mode="approval")
    ticket = make_ticket()

    results = _at_once(6, lambda i: remediation.propose(ticket.pk))

    assert len([r for r in results if isinstance(r, Remediation)]) == 1
    assert [r for r in results if isinstance(r, Exception)] == []
    assert Remediation.objects.filter(ticket=ticket).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_inserts_for_one_run_one_wins():
    """The constraint itself, with no row lock in front: six writers, one active remediation."""
    tickets = [make_ticket() for _ in range(6)]

    def insert(i: int) -> Remediation:
        return Remediation.objects.create(
            ticket=tickets[i], run_key="adf:one-run", action="adf_rerun", status="running"
        )

    results = _at_once(6, insert)

    assert len([r for r in results if isinstance(r, Remediation)]) == 1
    assert len([r for r in results if isinstance(r, IntegrityError)]) == 5
    assert Remediation.objects.filter(run_key="adf:one-run").count() == 1


@pytest.mark.django_db
def test_the_database_refuses_a_second_active_remediation_of_a_run():
    ticket = make_ticket()
    other = make_ticket()
    Remediation.objects.create(ticket=ticket, run_key="adf:r1", action="playbook", status="running")
    with pytest.raises(IntegrityError), transaction.atomic():
        Remediation.objects.create(
            ticket=other, run_key="adf:r1", action="playbook", status="proposed"
        )
    # Once it has ended, the run may be remediated again.
    Remediation.objects.filter(run_key="adf:r1").update(status="failed")
    Remediation.objects.create(ticket=other, run_key="adf:r1", action="playbook", status="running")
    assert connection.is_usable()


@pytest.mark.django_db
def test_a_remediation_that_would_start_on_a_run_with_an_active_one_is_skipped():
    """Its ticket's latest failed run is one another remediation is running on already."""
    make_policy(action="playbook", mode="approval")
    running = make_ticket()
    Remediation.objects.create(
        ticket=running, run_key=running.run_id, action="playbook", status="running"
    )
    ticket = make_ticket()
    pending = proposed(ticket.pk)
    Ticket.objects.filter(pk=ticket.pk).update(
        latest_run={"run_key": running.run_id, "entity": running.affected_entity}
    )

    remediation.approve(pending.pk, Actor.system("test"), via="api")

    pending.refresh_from_db()
    assert pending.status == "skipped"
    assert pending.reason == f"run {running.run_id} has an active remediation already"
    assert Ticket.objects.get(pk=ticket.pk).remediation_status == "skipped"
    assert not OutboundDelivery.objects.filter(ticket=ticket, target="playbook").exists()


@pytest.fixture
def incident_hold():
    """What the incidents feature registers: members of an open incident whose culprit is down
    are held."""
    down: set[str] = set()

    def culprit_down(ticket: Ticket) -> str | None:
        return "its incident's culprit is still failing" if ticket.pk in down else None

    # Its own name: the incidents feature's real check ("incident") stays registered.
    remediation.register_hold_check("test-incident", culprit_down)
    yield down
    remediation.unregister_hold_check("test-incident")


@pytest.mark.django_db
def test_members_of_a_failing_incident_are_held_then_rerun_in_batches(settings, incident_hold):
    settings.REMEDIATION_BATCH_SIZE = 2
    automatic_playbook(settings)
    members = [make_ticket() for _ in range(5)]
    incident_hold.update(t.pk for t in members)

    held = [proposed(t.pk) for t in members]
    assert {r.status for r in held} == {"held"}
    assert all("culprit" in r.reason for r in held)
    assert not OutboundDelivery.objects.exists()

    incident_hold.clear()  # the culprit recovered
    group = remediation.release_held([t.pk for t in members])

    def running() -> list[int]:
        return list(
            Remediation.objects.filter(release_group=group, status="running").values_list(
                "pk", flat=True
            )
        )

    first = running()
    assert len(first) == 2
    assert remediation.start_next_batch(group) == 0  # the first batch is still being watched
    for pk in first:
        remediation.finish(pk, succeeded=True, detail="ok")
    assert remediation.start_next_batch(group) == 2
    second = running()
    assert len(second) == 2 and not set(second) & set(first)
    for pk in second:
        remediation.finish(pk, succeeded=False, detail="failed again")
    assert remediation.start_next_batch(group) == 1
    statuses = sorted(
        Remediation.objects.filter(release_group=group).values_list("status", flat=True)
    )
    assert statuses == ["failed", "failed", "running", "succeeded", "succeeded"]


@pytest.mark.django_db
def test_a_released_batch_skipped_whole_starts_the_next_ones(settings, incident_hold):
    """A held member whose run another remediation is running on is skipped as its batch
    starts: the batch is filled with the next held ones, or nothing would be left running to
    start the rest when it ends (they stayed held for good)."""
    settings.REMEDIATION_BATCH_SIZE = 1
    automatic_playbook(settings)
    busy = make_ticket()
    Remediation.objects.create(
        ticket=busy, run_key=busy.run_id, action="playbook", status="running"
    )
    members = [make_ticket() for _ in range(2)]
    incident_hold.update(t.pk for t in members)
    held = [proposed(t.pk) for t in members]
    Ticket.objects.filter(pk=members[0].pk).update(
        latest_run={"run_key": busy.run_id, "entity": busy.affected_entity}
    )

    incident_hold.clear()
    remediation.release_held([t.pk for t in members])

    statuses = [Remediation.objects.get(pk=r.pk).status for r in held]
    assert statuses == ["skipped", "running"]


@pytest.mark.django_db(transaction=True)
def test_a_batch_starting_while_its_members_are_locked_by_id_does_not_deadlock(
    settings, incident_hold
):
    """A batch locked its members' tickets in the order their remediations were made; acting on
    their incident (`incidents.lock_with_members`), storing its analysis or a recovery of
    several of them lock them by id. The batch held the higher id and waited for the lower one,
    the other held the lower one and waited for the higher one: PostgreSQL aborted one."""
    settings.REMEDIATION_BATCH_SIZE = 2
    automatic_playbook(settings)
    high, low = sorted((make_ticket() for _ in range(2)), key=lambda t: t.pk, reverse=True)
    incident_hold.update({high.pk, low.pk})
    proposed(high.pk)
    proposed(low.pk)  # made after the higher id's
    incident_hold.clear()
    Remediation.objects.filter(ticket__in=[high, low]).update(release_group="g1")
    locked_low, errors, holder = threading.Event(), [], []

    def lock_by_id() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                holder.append(cursor.fetchone()[0])
                Ticket.objects.select_for_update(no_key=True).filter(pk=low.pk).exists()
                locked_low.set()
                waited_for = threading.Event()
                for _ in range(200):  # until the batch waits for the lower id (or 4 s)
                    cursor.execute(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE %s = ANY(pg_blocking_pids(pid))",
                        holder,
                    )
                    if cursor.fetchone()[0]:
                        waited_for.set()
                        break
                    waited_for.wait(0.02)
                Ticket.objects.select_for_update(no_key=True).filter(pk=high.pk).exists()
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def start_batch() -> None:
        try:
            assert locked_low.wait(10)
            remediation.start_next_batch("g1")
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=lock_by_id), threading.Thread(target=start_batch)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    assert errors == []
    statuses = Remediation.objects.filter(release_group="g1").values_list("status", flat=True)
    assert set(statuses) == {"running"}


def automatic_playbook(settings: Any) -> None:
    """A policy that reruns every failure at once through a playbook (at an address no test
    reaches: the remediation starts, nothing answers)."""
    settings.PLAYBOOK_URL = "http://127.0.0.1:9/unused"
    settings.PLAYBOOK_SECRET = "s"
    make_policy(action="playbook", mode="auto")


def incident_of_three(settings: Any) -> tuple[Incident, list[Ticket]]:
    """An incident of three members whose remediation (an automatic playbook) would start."""
    automatic_playbook(settings)
    incident = Incident.objects.create(
        id=new_incident_id(), group_key="sql-server:sql-prod-01", culprit="sql-server:sql-prod-01"
    )
    return incident, [make_ticket(incident=incident) for _ in range(3)]


@pytest.mark.django_db(transaction=True)
def test_members_of_an_open_incident_wait_until_a_member_recovers(settings):
    """The hold the incidents feature registers: no member of the incident has recovered, so
    the culprit is still failing and the members are held; one member's recovery at its source
    releases the others' remediations."""
    incident, members = incident_of_three(settings)
    loner = proposed(make_ticket().pk)

    held = [proposed(t.pk) for t in members[:2]]

    assert {r.status for r in held} == {"held"}
    assert all(incident.pk in r.reason for r in held)
    assert loner.status != "held"
    with transaction.atomic():
        incidents.record_recovery(members[2], Actor.source("adf"))
    after = Remediation.objects.filter(pk__in=[r.pk for r in held])
    assert {r.status for r in after} == {"running"}


@pytest.mark.django_db(transaction=True)
def test_members_of_an_acknowledged_incident_are_rerun_once_a_member_recovers(settings):
    """People acknowledging the incident own the outage; they do not call off its reruns. A
    failure joining it is acknowledged at once (as its members were): it was proposed nothing
    (`propose` took only open and in-progress tickets), and the members' held remediations
    were skipped on the recovery ("the ticket is acknowledged"), so nothing was rerun."""
    incident, members = incident_of_three(settings)
    held = [proposed(members[0].pk)]
    incidents.act(incident.pk, "acknowledge", Actor.system("test"))
    joined = make_ticket(incident=incident, status="acknowledged")  # joined it acknowledged

    held.append(proposed(joined.pk))

    assert [r.status for r in held] == ["held", "held"]
    with transaction.atomic():
        incidents.record_recovery(members[2], Actor.source("adf"))
    after = Remediation.objects.filter(pk__in=[r.pk for r in held])
    assert {(r.status, r.reason) for r in after} == {("running", "")}


@pytest.mark.django_db
def test_a_release_that_fails_before_its_first_batch_leaves_them_for_the_next(
    settings, incident_hold, monkeypatch
):
    """The release puts the held remediations in its group and starts the first batch in one
    transaction: one that fails in between leaves them held outside any group, so the next
    release starts them (in a group with nothing running, no batch would ever start)."""
    automatic_playbook(settings)
    members = [make_ticket() for _ in range(2)]
    incident_hold.update(t.pk for t in members)
    held = [proposed(t.pk) for t in members]
    incident_hold.clear()
    start_next_batch = remediation.start_next_batch

    def crash(group: str) -> int:
        raise RuntimeError("worker lost")

    monkeypatch.setattr(remediation, "start_next_batch", crash)
    with pytest.raises(RuntimeError):
        remediation.release_held([t.pk for t in members])
    after = Remediation.objects.filter(pk__in=[r.pk for r in held])
    assert {(r.status, r.release_group) for r in after} == {("held", "")}

    monkeypatch.setattr(remediation, "start_next_batch", start_next_batch)
    group = remediation.release_held([t.pk for t in members])
    assert {(r.status, r.release_group) for r in after.all()} == {("running", group)}


@pytest.mark.django_db
def test_a_success_on_a_run_no_longer_the_latest_leaves_the_ticket_open():
    """The rerun of run A was still running when the ticket, resolved by people meanwhile,
    regressed on run B: A's success is kept, but B was never rerun, so the ticket stays open
    (and the success says why)."""
    from django.contrib.auth.models import User

    from tickets import lifecycle

    make_policy(action="playbook", mode="auto")
    ticket = make_ticket()
    running = proposed(ticket.pk)
    assert running.status == "running" and running.run_key == ticket.run_id
    lifecycle.resolve(ticket.pk, Actor.for_user(User.objects.create_user("u")))
    later = {**ticket.affected_entity, "run_id": "run-later"}
    count, *_ = Ticket.objects.record_recurrence(ticket.pk, timezone.now(), "adf:run-later", later)
    lifecycle.regress(
        ticket.pk, Actor.source("adf"), occurrence_key="adf:run-later", occurrence_count=count
    )

    remediation.finish(running.pk, succeeded=True, detail="the rerun succeeded")

    running.refresh_from_db()
    assert running.status == "succeeded"
    assert running.reason == (
        "the rerun succeeded; the ticket stays open: its latest run adf:run-later failed since"
    )
    ticket.refresh_from_db()
    assert (ticket.status, ticket.remediation_status) == ("open", "succeeded")
    assert not AuditLog.objects.filter(ticket=ticket, action="resolved by remediation").exists()
    assert not ticket.resolutions.exists()
    assert stats.remediation_stats(ticket.timestamp, timezone.now())["succeeded"] == 0  # no fix


@pytest.mark.django_db
def test_a_run_that_failed_while_an_older_ones_rerun_succeeded_is_proposed(
    django_capture_on_commit_callbacks,
):
    """Run B failed on the open ticket while run A's rerun ran (a recurrence, not a
    regression): A's success leaves the ticket open, and, as the README says, the policies are
    asked for B as it ends. A success on an older run is no decision on B."""
    make_policy(action="playbook", mode="auto", max_attempts=1)
    ticket = make_ticket()
    running = proposed(ticket.pk)
    later = {**ticket.affected_entity, "run_id": "run-later"}
    Ticket.objects.record_recurrence(ticket.pk, timezone.now(), "adf:run-later", later)

    with django_capture_on_commit_callbacks(execute=True):
        remediation.finish(running.pk, succeeded=True, detail="the rerun succeeded")

    newer = Remediation.objects.exclude(pk=running.pk).get(ticket=ticket)
    assert (newer.status, newer.run_key) == ("running", "adf:run-later")
    # Once: B's proposal stands as any decision does.
    assert remediation.propose(ticket.pk) is None
    assert Remediation.objects.filter(ticket=ticket).count() == 2


@pytest.mark.django_db
def test_beat_makes_the_lost_next_attempt_at_a_run_that_failed_while_an_older_one_was_fixed(
    django_capture_on_commit_callbacks,
):
    """Run A's rerun succeeded while run B failed: B's attempts are counted from that success
    on (`this_episode`). B's first rerun failed and its scheduled next attempt was lost; beat's
    sweep counted A's success among B's attempts (2 of 2) and never made it."""
    make_policy(action="playbook", mode="auto", max_attempts=2, backoff_seconds=60)
    ticket = make_ticket()
    first = proposed(ticket.pk)
    later = {**ticket.affected_entity, "run_id": "run-later"}
    Ticket.objects.record_recurrence(ticket.pk, timezone.now(), "adf:run-later", later)
    with django_capture_on_commit_callbacks(execute=True):
        remediation.finish(first.pk, succeeded=True, detail="the rerun succeeded")
    second = Remediation.objects.get(ticket=ticket, attempt_number=2)
    assert second.run_key == "adf:run-later"
    remediation.finish(second.pk, succeeded=False, detail="still failing")  # its task is lost
    Remediation.objects.filter(pk=second.pk).update(
        finished_at=timezone.now() - timedelta(seconds=61)
    )

    assert remediation.sweep() == 1

    third = Remediation.objects.get(ticket=ticket, attempt_number=3)
    assert (third.status, third.run_key) == ("running", "adf:run-later")


@pytest.mark.django_db
def test_a_task_of_the_run_being_repaired_reported_since_is_that_run_not_a_newer_one():
    """A Databricks job's notification and its task's for one run are one ticket, the task's
    keyed under the job run's (`databricks:W:R:task`): reported after the repair started, it
    is the run the repair fixes, and the repair's success resolves the ticket."""
    make_policy(action="playbook", mode="auto")
    ticket = make_ticket(
        source="databricks",
        processing_mode="databricks",
        run_id="databricks:123:5001",
        affected_entity={"workspace_id": "123", "run_id": "5001"},
    )
    running = proposed(ticket.pk)
    Ticket.objects.record_recurrence(
        ticket.pk,
        timezone.now(),
        "databricks:123:5001:ingest_orders",
        {"workspace_id": "123", "run_id": "5001", "task_key": "ingest_orders"},
    )

    remediation.finish(running.pk, succeeded=True, detail="the repair succeeded")

    ticket.refresh_from_db()
    assert (ticket.status, ticket.remediation_status) == ("resolved", "succeeded")
    assert Remediation.objects.get(pk=running.pk).reason == "the repair succeeded"
    assert Remediation.objects.filter(ticket=ticket).count() == 1


@pytest.mark.django_db
def test_a_success_on_the_latest_run_resolves_the_ticket():
    make_policy(action="playbook", mode="auto")
    ticket = make_ticket()
    running = proposed(ticket.pk)

    remediation.finish(running.pk, succeeded=True, detail="the rerun succeeded")

    ticket.refresh_from_db()
    assert (ticket.status, ticket.remediation_status) == ("resolved", "succeeded")
    assert Remediation.objects.get(pk=running.pk).reason == "the rerun succeeded"


@pytest.mark.django_db(transaction=True)
def test_people_resolving_a_ticket_skip_its_remediations_not_started(incident_hold):
    """As its run's recovery at the source does: the one awaiting approval and the held one
    are skipped; approving it afterwards is refused."""
    from django.contrib.auth.models import User

    from tickets import lifecycle

    make_policy(action="playbook", mode="approval")
    ticket, member = make_ticket(), make_ticket()
    awaiting = proposed(ticket.pk)
    incident_hold.add(member.pk)
    held = remediation.approve(proposed(member.pk).pk, Actor.system("test"), via="api")
    assert (awaiting.status, held.status) == ("awaiting_approval", "held")
    user = User.objects.create_user("daan")

    lifecycle.resolve(ticket.pk, Actor.for_user(user), note="fixed by hand")
    lifecycle.resolve(member.pk, Actor.for_user(user))

    for found in Remediation.objects.filter(pk__in=[awaiting.pk, held.pk]):
        assert (found.status, found.reason) == ("skipped", "the ticket was resolved by daan")
    assert Ticket.objects.get(pk=ticket.pk).remediation_status == "skipped"
    with pytest.raises(remediation.RemediationError, match="not awaiting approval"):
        remediation.approve(awaiting.pk, Actor.for_user(user), via="api")
    assert not OutboundDelivery.objects.filter(target="playbook").exists()


@pytest.mark.django_db
def test_a_success_after_people_resolved_the_ticket_keeps_their_resolution_alone():
    """The rerun goes on after people resolve the ticket; its success is recorded, but the
    audit log does not say the remediation resolved it (it said "resolved by remediation")."""
    from django.contrib.auth.models import User

    from tickets import lifecycle

    ticket = make_ticket()
    running = Remediation.objects.create(
        ticket=ticket, run_key=ticket.run_id, action="playbook", status="running"
    )
    lifecycle.resolve(ticket.pk, Actor.for_user(User.objects.create_user("daan")), fix="by hand")

    remediation.finish(running.pk, succeeded=True, detail="the playbook succeeded")

    ticket.refresh_from_db()
    assert (ticket.status, ticket.resolved_by, ticket.remediation_status) == (
        "resolved",
        "daan",
        "succeeded",
    )
    actions = list(AuditLog.objects.filter(ticket=ticket).values_list("action", flat=True))
    assert "remediation succeeded" in actions and "resolved by remediation" not in actions
    assert list(ticket.resolutions.values_list("fix", flat=True)) == ["by hand"]


@pytest.mark.django_db
def test_a_ticket_resolved_after_the_proposal_read_it_gets_no_remediation():
    """Processing reads a batch's tickets, then proposes each: people resolving one in between
    found no remediation to skip yet, and its proposal, deciding on the ticket as read, started
    the rerun of a resolved ticket. The ticket is read again, locked, before anything is
    written, and a resolved or recovered one gets nothing."""
    from django.contrib.auth.models import User

    from tickets import lifecycle

    make_policy(action="playbook", mode="auto")
    ticket, recovered = make_ticket(), make_ticket()
    as_read = Ticket.objects.in_bulk([ticket.pk, recovered.pk])
    lifecycle.resolve(ticket.pk, Actor.for_user(User.objects.create_user("daan")))
    Ticket.objects.filter(pk=recovered.pk).update(resolved_at_source_at=timezone.now())

    for found in (ticket, recovered):
        assert remediation.propose(found.pk, ticket=as_read[found.pk]) is None
    assert not Remediation.objects.exists()
    assert not OutboundDelivery.objects.filter(target="playbook").exists()


@pytest.mark.django_db(transaction=True)
def test_a_detached_member_with_a_started_remediation_pages_on_its_own(settings):
    """Its remediation's action is no page of its own: taken out of the incident, it pages."""
    automatic_playbook(settings)
    incident = Incident.objects.create(
        id=new_incident_id(), group_key="sql-server:sql-prod-01", culprit="sql-server:sql-prod-01"
    )
    member = make_ticket(incident=incident)
    Incident.objects.filter(pk=incident.pk).update(
        lead_ticket_id=member.pk, member_count=1, recovered_count=1
    )
    assert proposed(member.pk).status == "running"
    assert OutboundDelivery.objects.filter(ticket=member, target="playbook").exists()

    incidents.detach(incident.pk, member.pk, Actor.system("test"))

    pages = OutboundDelivery.objects.filter(ticket=member).exclude(target="playbook")
    assert {"jira_create", "slack_post"} <= set(pages.values_list("action", flat=True))


@pytest.mark.django_db
def test_approval_of_a_held_member_holds_it(incident_hold):
    from django.contrib.auth.models import User

    from tickets.lifecycle import Actor

    make_policy(action="playbook", mode="approval")
    ticket = make_ticket()
    pending = proposed(ticket.pk)
    incident_hold.add(ticket.pk)
    approved = remediation.approve(
        pending.pk, Actor.for_user(User.objects.create_user("u")), via="admin"
    )
    assert approved.status == "held"


@pytest.mark.django_db
def test_each_action_target_has_its_own_circuit(settings):
    settings.PLAYBOOK_URL = "http://127.0.0.1:9/unused"
    settings.PLAYBOOK_SECRET = "s"
    make_policy(action="playbook")
    ticket = make_ticket()
    remediation.propose(ticket.pk)
    breaker = CircuitBreaker("playbook")
    settings.CIRCUIT_FAILURE_THRESHOLD = 1
    breaker.record_failure()
    try:
        row = OutboundDelivery.objects.get(ticket=ticket, action="playbook")
        result = fanout.deliver(row.pk)
        assert result.status == "pending"
        assert row.tries.get().outcome == AttemptOutcome.CIRCUIT_OPEN
        assert CircuitBreaker("adf_rerun").wait_seconds() == 0
    finally:
        breaker.reset()


@pytest.mark.django_db
def test_the_sources_success_webhook_closes_the_loop(settings, webhook_client):
    make_policy(action="playbook")
    ticket = make_ticket(resolve_key="adf:adf-prod:pl_copy_sales")
    found = proposed(ticket.pk)
    assert found.status == "running"
    remediation.source_recovered(ticket.pk)
    found.refresh_from_db()
    assert found.status == "succeeded" and "source" in found.reason
    assert Ticket.objects.get(pk=ticket.pk).remediation_status == "succeeded"


@pytest.mark.django_db
def test_a_remediation_whose_action_died_fails_at_once(settings):
    settings.PLAYBOOK_URL = "http://127.0.0.1:9/nothing-listens"
    settings.PLAYBOOK_SECRET = "s"
    settings.OUTBOUND_MAX_ATTEMPTS = 3
    make_policy(action="playbook")
    ticket = make_ticket()
    remediation.propose(ticket.pk)
    # A refused connection sent nothing, so it started nothing: the call is sent again.
    (row,) = run_pending(ticket.pk, rounds=1)
    assert (
        row.status == "pending" and "127.0.0.1 refused the connection on port 9" in row.last_error
    )
    assert Remediation.objects.get(ticket=ticket).status == "running"
    rows = run_pending(ticket.pk)  # until the engine's attempts run out
    assert [r.status for r in rows] == ["dead"]
    found = Remediation.objects.get(ticket=ticket)
    assert found.status == "failed" and "the action failed" in found.reason
    assert remediation.sweep(now=timezone.now()) == 0  # nothing left for beat


@pytest.mark.django_db
def test_the_sweep_fails_a_remediation_whose_dead_action_was_not_failed(settings):
    """Beat's sweep still catches a dead action whose remediation the engine did not fail."""
    make_policy(action="playbook")
    ticket = make_ticket()
    remediation.propose(ticket.pk)
    OutboundDelivery.objects.filter(ticket=ticket, target="playbook").update(
        status="dead", last_error="call the playbook: 403", completed_at=timezone.now()
    )
    assert remediation.sweep(now=timezone.now()) == 1
    found = Remediation.objects.get(ticket=ticket)
    assert found.status == "failed" and found.reason == "the action failed: call the playbook: 403"


@pytest.mark.django_db
def test_stats_count_remediations_and_the_time_saved():
    from datetime import timedelta

    now = timezone.now()
    fixed = make_ticket(timestamp=now - timedelta(minutes=30))
    Remediation.objects.create(
        ticket=fixed,
        run_key=fixed.run_id,
        action="adf_rerun",
        status="succeeded",
        finished_at=now - timedelta(minutes=20),  # 10 minutes after the failure
    )
    failed = make_ticket(timestamp=now - timedelta(minutes=30), resolve_seconds=3600)
    Remediation.objects.create(
        ticket=failed, run_key=failed.run_id, action="playbook", status="failed", finished_at=now
    )
    make_ticket(timestamp=now - timedelta(minutes=30), resolve_seconds=1800)
    # A rerun of an older run that succeeded while a newer run had failed: no fix (people
    # resolved the ticket in 1800 s).
    stale = make_ticket(timestamp=now - timedelta(minutes=30), resolve_seconds=1800)
    Remediation.objects.create(
        ticket=stale,
        run_key=stale.run_id,
        action="adf_rerun",
        status="succeeded",
        finished_at=now - timedelta(minutes=25),
        details={"ticket_left_open": True},
    )
    refused = make_ticket(timestamp=now - timedelta(minutes=30))
    Remediation.objects.create(  # what a "never" policy records
        ticket=refused,
        run_key=refused.run_id,
        action="playbook",
        status="skipped",
        reason="policy 'Deterministic failures: never': never",
        details={"mode": "never"},
    )

    figures = stats.remediation_stats(now - timedelta(hours=1), now)

    assert figures["by_action"]["adf_rerun"]["succeeded"] == 2
    assert figures["by_action"]["playbook"]["failed"] == 1
    assert figures["by_action"]["playbook"]["skipped"] == 0  # the refusal is not one
    assert figures["never"] == 1
    assert figures["succeeded"] == 1  # fixes
    assert figures["mttr_with_seconds"] == 600.0
    assert figures["mttr_without_seconds"] == 2400.0  # people: (3600 + 1800 + 1800) / 3
    assert figures["time_saved_seconds"] == 1800.0


@pytest.mark.django_db
def test_the_time_to_a_remediations_fix_of_a_regression_counts_from_the_regression():
    """It counted from the ticket's first failure: a rerun that fixed a regression in 10
    minutes, a day after the ticket first failed, counted a day, and no time saved."""
    now = timezone.now()
    regressed = now - timedelta(minutes=30)
    ticket = make_ticket(timestamp=now - timedelta(days=1), regressed_at=regressed)
    Remediation.objects.create(
        ticket=ticket,
        run_key=ticket.run_id,
        action="adf_rerun",
        status="succeeded",
        created_at=regressed + timedelta(minutes=1),
        finished_at=regressed + timedelta(minutes=10),
    )
    make_ticket(timestamp=now - timedelta(hours=2), resolve_seconds=3600)

    figures = stats.remediation_stats(now - timedelta(days=2), now)

    assert figures["mttr_with_seconds"] == 600.0
    assert figures["time_saved_seconds"] == 3000.0


@pytest.mark.django_db
def test_remediation_figures_count_each_ticket_by_its_current_resolution():
    """A ticket a remediation fixed once, and that people resolved by hand after it failed
    again, or that people resolved before its remediation succeeded: people resolved it, so it
    counts among the tickets no remediation fixed (it left them for good once any fix was
    recorded), and a rerun that succeeded after people's resolve fixed nothing (not among the
    successes nor in the time to a remediation's fix). A fix of a failure before the ticket
    failed again, and one whose rerun its source reported over first, still count."""
    now = timezone.now()
    failed = now - timedelta(hours=2)

    def fix(ticket, finished):
        Remediation.objects.create(
            ticket=ticket,
            run_key=ticket.run_id,
            action="adf_rerun",
            status="succeeded",
            created_at=failed + timedelta(minutes=1),
            finished_at=finished,
        )

    # Fixed in 10 minutes, failed again 30 minutes later, resolved by people in 20 minutes.
    reopened = failed + timedelta(minutes=40)
    again = make_ticket(
        timestamp=failed,
        regressed_at=reopened,
        reopened_at=reopened,
        resolved_at=reopened + timedelta(minutes=20),
        resolve_seconds=1200,
        status="resolved",
    )
    fix(again, failed + timedelta(minutes=10))
    # People resolved it in 5 minutes; its rerun succeeded 5 minutes later.
    by_hand = make_ticket(
        timestamp=failed,
        resolved_at=failed + timedelta(minutes=5),
        resolve_seconds=300,
        status="resolved",
    )
    fix(by_hand, failed + timedelta(minutes=10))
    # Fixed: resolved by its remediation, or by its source reporting the rerun over first.
    fixed = make_ticket(
        timestamp=failed,
        resolved_at=failed + timedelta(minutes=10, seconds=1),
        resolve_seconds=601,
        status="resolved",
    )
    fix(fixed, failed + timedelta(minutes=10))
    at_source = failed + timedelta(minutes=9)
    recovered = make_ticket(
        timestamp=failed,
        resolved_at=at_source,
        resolved_at_source_at=at_source,
        resolve_seconds=540,
        status="resolved",
    )
    fix(recovered, failed + timedelta(minutes=10))
    make_ticket(timestamp=failed, resolve_seconds=1800, resolved_at=now, status="resolved")

    figures = stats.remediation_stats(now - timedelta(hours=3), now)

    assert figures["mttr_without_seconds"] == 1100.0  # (1200 + 300 + 1800) / 3
    assert figures["succeeded"] == 3  # again's earlier fix, fixed, recovered
    assert figures["mttr_with_seconds"] == 600.0
    assert figures["by_action"]["adf_rerun"]["succeeded"] == 4  # what the reruns did


@pytest.mark.django_db
def test_a_rerun_that_succeeded_after_people_resolved_is_no_fix_once_the_ticket_fails_again():
    """People resolved the ticket while its rerun ran; the rerun succeeded after: people fixed
    it. The ticket failing again later (its resolution cleared, then a new one) does not turn
    that success into a fix in the stats."""
    from django.contrib.auth.models import User

    from tickets import lifecycle

    make_policy(action="playbook", mode="auto")
    ticket = make_ticket()
    running = proposed(ticket.pk)
    lifecycle.resolve(ticket.pk, Actor.for_user(User.objects.create_user("u")))
    remediation.finish(running.pk, succeeded=True, detail="the rerun succeeded")
    period = (ticket.timestamp, timezone.now() + timedelta(hours=1))
    assert stats.remediation_stats(*period)["succeeded"] == 0

    count, *_ = Ticket.objects.record_recurrence(
        ticket.pk, timezone.now(), ticket.run_id, ticket.affected_entity
    )
    lifecycle.regress(
        ticket.pk, Actor.source("adf"), occurrence_key="again", occurrence_count=count
    )
    assert stats.remediation_stats(*period)["succeeded"] == 0
    lifecycle.resolve(ticket.pk, Actor.for_user(User.objects.get(username="u")))
    assert stats.remediation_stats(*period)["succeeded"] == 0


@pytest.mark.django_db(transaction=True)
def test_the_sweep_starts_the_next_batch_of_a_group_that_lost_it(settings, incident_hold):
    """`finish` starts a group's next batch after its commit; should that step be lost (the
    process died, the broker was down), the group has held remediations and none running, and
    beat's sweep starts its next batch, once however many sweep at once (a group whose batch
    has just ended is left to the `finish` starting it)."""
    settings.REMEDIATION_BATCH_SIZE = 2
    automatic_playbook(settings)
    members = [make_ticket() for _ in range(5)]
    incident_hold.update(t.pk for t in members)
    for ticket in members:
        proposed(ticket.pk)
    incident_hold.clear()
    group = remediation.release_held([t.pk for t in members])
    in_group = Remediation.objects.filter(release_group=group)
    first = list(in_group.filter(status="running").values_list("pk", flat=True))
    assert len(first) == 2
    # The first batch ended, and the step starting the next one was lost.
    in_group.filter(pk__in=first).update(status="succeeded", finished_at=timezone.now())

    assert remediation.sweep() == 0  # just ended: `finish` is starting the next batch
    assert in_group.filter(status="held").count() == 3

    in_group.filter(pk__in=first).update(finished_at=timezone.now() - timedelta(minutes=2))
    results = _at_once(2, lambda i: remediation.sweep())

    assert sorted(results, key=str) == [0, 2]  # an exception would show here
    assert in_group.filter(status="running").count() == 2
    assert in_group.filter(status="held").count() == 1
    assert remediation.sweep() == 0  # that batch is running


@pytest.mark.django_db
def test_a_held_remediations_group_is_looked_up_in_the_release_group_index():
    """Beat's sweep asks every minute which release groups stalled: each held remediation's
    group is read from the `remediation_release_group` index (the planner is told not to scan
    the table, so a plan without the index fails here). Scanning the whole history once per
    held remediation took 12 s for 1,000 held and 60,000 finished."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = remediation.stalled_groups(timezone.now()).query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "remediation_release_group" in plan, plan


@pytest.mark.django_db(transaction=True)
def test_a_batch_starting_while_people_resolve_a_member_waits_for_the_resolve(
    settings, incident_hold
):
    """People resolve a member while the culprit's recovery starts its batch: the resolve
    (its ticket locked, not committed yet) says the member's held remediation is skipped, so
    the batch waits for it and skips the remediation, not rerun a resolved ticket's run."""
    from django.contrib.auth.models import User

    from tickets import lifecycle

    automatic_playbook(settings)
    ticket = make_ticket()
    incident_hold.add(ticket.pk)
    held = proposed(ticket.pk)
    assert held.status == "held"
    incident_hold.clear()
    Remediation.objects.filter(pk=held.pk).update(release_group="culprit-back")
    daan = Actor.for_user(User.objects.create_user("daan"), via="slack")
    resolving, commit = threading.Event(), threading.Event()

    def resolve() -> None:
        try:
            with transaction.atomic():
                lifecycle.resolve(ticket.pk, daan)
                resolving.set()
                commit.wait(10)
        finally:
            connections.close_all()

    def start_batch() -> None:
        try:
            remediation.start_next_batch("culprit-back")
        finally:
            connections.close_all()

    resolver = threading.Thread(target=resolve)
    resolver.start()
    assert resolving.wait(10)
    starter = threading.Thread(target=start_batch)
    starter.start()
    starter.join(1)  # it waits for the resolve's lock on the ticket
    commit.set()
    resolver.join(10)
    starter.join(10)

    held.refresh_from_db()
    assert (held.status, held.reason) == ("skipped", "the ticket is resolved")
    assert not OutboundDelivery.objects.filter(ticket=ticket, target="playbook").exists()


@pytest.mark.django_db(transaction=True)
def test_a_next_batch_is_not_started_while_a_running_one_is_being_written(settings, incident_hold):
    """The first batch's remediation is running, its row locked by the engine's transaction
    (the action reporting its start, `remediation.record_started`) as another of the group's
    ends and starts the next batch: the batch still sees it running and starts nothing. It
    read the group's rows skipping the locked ones, so it saw none running and started the
    next batch beside the first."""
    settings.REMEDIATION_BATCH_SIZE = 1
    automatic_playbook(settings)
    members = [make_ticket() for _ in range(2)]
    incident_hold.update(t.pk for t in members)
    held = [proposed(t.pk) for t in members]
    incident_hold.clear()
    group = remediation.release_held([t.pk for t in members])
    first, second = (Remediation.objects.get(pk=r.pk) for r in held)
    assert (first.status, second.status) == ("running", "held")
    writing, commit = threading.Event(), threading.Event()

    def engine_reports_the_start() -> None:
        try:
            with transaction.atomic():
                remediation.record_started(first.pk, "run-1")
                writing.set()
                commit.wait(10)
        finally:
            connections.close_all()

    engine = threading.Thread(target=engine_reports_the_start)
    engine.start()
    try:
        assert writing.wait(10)
        started = remediation.start_next_batch(group)
    finally:
        commit.set()
        engine.join(10)

    assert started == 0
    assert Remediation.objects.get(pk=second.pk).status == "held"


@pytest.mark.django_db(transaction=True)
def test_a_held_member_taken_out_of_its_incident_is_rerun(settings):
    """Held as a member of a failing incident, then detached (wrongly grouped): no recovery of
    that incident will release it any more, and a held remediation keeps any other from being
    proposed. Taken out, it is no member and is not held: it runs."""
    incident, members = incident_of_three(settings)
    Incident.objects.filter(pk=incident.pk).update(member_count=len(members))
    held = proposed(members[0].pk)
    assert held.status == "held"

    incidents.detach(incident.pk, members[0].pk, Actor.system("test"))

    held.refresh_from_db()
    assert held.status == "running"
    assert Ticket.objects.get(pk=members[0].pk).remediation_status == "running"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("recovered", [True, False], ids=["into-recovered", "into-failing"])
def test_held_members_merged_into_an_incident_whose_culprit_is_back_are_rerun(settings, recovered):
    """A failing incident's held members merged into one a member of which recovered already:
    that recovery released its own members before these were among them, and no other would
    come. Held no more, they run; merged into one still failing, they wait on."""
    automatic_playbook(settings)
    source, into = (
        Incident.objects.create(id=new_incident_id(), group_key=key, culprit=key, member_count=2)
        for key in ("sql-server:sql-prod-01", "sql-server:sql-prod-01.internal")
    )
    moving = [make_ticket(incident=source) for _ in range(2)]
    staying = [make_ticket(incident=into) for _ in range(2)]
    held = [proposed(ticket.pk) for ticket in moving]
    assert {r.status for r in held} == {"held"}
    if recovered:
        Ticket.objects.filter(pk=staying[1].pk).update(resolved_at_source_at=timezone.now())
        with transaction.atomic():
            incidents.record_recovery(Ticket.objects.get(pk=staying[1].pk), Actor.source("adf"))

    incidents.merge(source.pk, into.pk, Actor.system("test"))

    after = Remediation.objects.filter(pk__in=[r.pk for r in held])
    assert {r.status for r in after} == ({"running"} if recovered else {"held"})
    if recovered:
        assert {t.remediation_status for t in Ticket.objects.filter(pk__in=moving)} == {"running"}
