from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from tests.conftest import wait_for
from tickets import lifecycle
from tickets.lifecycle import Actor, TransitionError
from tickets.models import AuditLog, Resolution, Ticket

pytestmark = pytest.mark.django_db


def make_ticket(**overrides) -> Ticket:
    now = timezone.now()
    fields = {
        "id": f"ADF-{now:%Y%m%dT%H%M%S}-{Ticket.objects.count():06x}",
        "pipeline": "pl_copy",
        "run_id": f"adf:run-{Ticket.objects.count()}",
        "source": "adf",
        "fingerprint": "f" * 64,
        "sla_seconds": 3600,
        "sla_deadline": now + timedelta(hours=1),
        **overrides,
    }
    return Ticket.objects.create(**fields)


def test_acknowledge_in_time_meets_the_sla_and_records_who():
    user = User.objects.create_user("maria")
    ticket = make_ticket(timestamp=timezone.now() - timedelta(minutes=10))

    ticket = lifecycle.acknowledge(ticket.pk, Actor.for_user(user), note="looking")

    assert ticket.status == "acknowledged"
    assert ticket.sla_status == "Met"
    assert ticket.ack_user == "maria"
    assert ticket.ack_seconds is not None
    assert 590 <= ticket.ack_seconds <= 610
    entry = AuditLog.objects.get(ticket=ticket, action="acknowledge")
    assert (entry.actor_kind, entry.user) == ("user", user)
    assert entry.before["status"] == "open"
    assert entry.after["status"] == "acknowledged"
    assert entry.details == {"note": "looking"}


def test_acknowledge_after_the_deadline_is_breached():
    ticket = make_ticket(sla_deadline=timezone.now() - timedelta(minutes=1))
    assert lifecycle.acknowledge(ticket.pk, Actor.system()).sla_status == "Breached"


def test_take_then_acknowledge_then_reopen():
    ticket = make_ticket()
    jira = Actor("jira", "jira-webhook")

    assert lifecycle.start_progress(ticket.pk, jira).status == "in_progress"
    assert lifecycle.acknowledge(ticket.pk, jira).status == "acknowledged"
    reopened = lifecycle.reopen(ticket.pk, jira)

    assert reopened.status == "open"
    assert (reopened.ack_ts, reopened.ack_user, reopened.sla_status) == (None, "", "Pending")
    actions = list(AuditLog.objects.filter(ticket=ticket).values_list("action", "actor_kind"))
    assert actions == [("start_progress", "jira"), ("acknowledge", "jira"), ("reopen", "jira")]


@pytest.mark.parametrize(
    "status, action",
    [
        ("acknowledged", "acknowledge"),
        ("acknowledged", "start_progress"),
        ("in_progress", "start_progress"),
        ("open", "reopen"),
    ],
)
def test_invalid_transitions_are_refused_and_change_nothing(status, action):
    ticket = make_ticket(status=status)

    with pytest.raises(TransitionError, match="cannot"):
        lifecycle.transition(ticket.pk, action, Actor.system())

    assert Ticket.objects.get(pk=ticket.pk).status == status
    assert not AuditLog.objects.filter(ticket=ticket).exists()


def test_unknown_action_is_refused():
    with pytest.raises(TransitionError, match="unknown action"):
        lifecycle.transition(make_ticket().pk, "delete", Actor.system())


def test_sla_breach_marks_only_overdue_unacknowledged_tickets():
    overdue = make_ticket(sla_deadline=timezone.now() - timedelta(seconds=1))
    in_time = make_ticket(sla_deadline=timezone.now() + timedelta(hours=1))
    acked = make_ticket(
        status="acknowledged", sla_status="Met", sla_deadline=timezone.now() - timedelta(hours=1)
    )

    assert lifecycle.mark_sla_breaches() == 1
    assert lifecycle.mark_sla_breaches() == 0

    statuses = dict(Ticket.objects.values_list("pk", "sla_status"))
    assert statuses == {overdue.pk: "Breached", in_time.pk: "Pending", acked.pk: "Met"}
    entry = AuditLog.objects.get(ticket=overdue)
    assert entry.action == "sla breached"
    # As the API writes every time: UTC ending in Z.
    assert overdue.sla_deadline is not None
    assert entry.details["deadline"] == overdue.sla_deadline.isoformat()[:-6] + "Z"


def test_migration_data_exist_with_increasing_permissions(migration_data):
    perms = {
        group.name: set(group.permissions.values_list("codename", flat=True))
        for group in Group.objects.all()
    }
    assert perms["viewer"] < perms["responder"] < perms["admin"]
    assert "view_ticket" in perms["viewer"] and "change_ticket" not in perms["viewer"]
    assert "change_ticket" in perms["responder"]
    assert "change_suppressionrule" in perms["admin"]
    assert "change_suppressionrule" not in perms["responder"]


def test_resolve_records_who_when_how_long_and_the_fix():
    user = User.objects.create_user("maria")
    ticket = make_ticket(timestamp=timezone.now() - timedelta(minutes=30))
    Ticket.objects.filter(pk=ticket.pk).update(embedding=[1.0] + [0.0] * 255, embedding_model="m")

    resolved = lifecycle.resolve(
        ticket.pk, Actor.for_user(user), note="done", fix="  Raised the IR node count to 4  "
    )

    assert (resolved.status, resolved.resolved_by, resolved.sla_status) == (
        "resolved",
        "maria",
        "Met",
    )
    assert resolved.resolve_seconds is not None and 1790 <= resolved.resolve_seconds <= 1810
    assert resolved.sla_remaining() is None
    fix = Resolution.objects.get(ticket=ticket)
    assert (fix.fix, fix.note, fix.resolved_by, fix.fingerprint) == (
        "Raised the IR node count to 4",
        "done",
        "maria",
        ticket.fingerprint,
    )
    assert fix.embedding is not None and fix.embedding[0] == 1.0 and fix.embedding_model == "m"
    entry = AuditLog.objects.get(ticket=ticket, action="resolve")
    assert entry.details == {"note": "done", "fix": "Raised the IR node count to 4"}


def test_resolve_without_a_fix_records_no_resolution_and_a_resolved_ticket_never_breaches():
    ticket = make_ticket(sla_deadline=timezone.now() + timedelta(minutes=1))
    lifecycle.resolve(ticket.pk, Actor.system())
    Ticket.objects.filter(pk=ticket.pk).update(
        sla_status="Pending", sla_deadline=timezone.now() - timedelta(minutes=1)
    )

    assert not Resolution.objects.exists()
    assert lifecycle.mark_sla_breaches() == 0


@pytest.mark.parametrize("status", ["open", "in_progress", "acknowledged"])
def test_every_active_status_can_be_resolved_and_resolved_can_only_be_reopened(status):
    ticket = make_ticket(status=status)
    lifecycle.resolve(ticket.pk, Actor.system())

    for action in ("acknowledge", "start_progress", "resolve"):
        with pytest.raises(TransitionError, match="cannot"):
            lifecycle.transition(ticket.pk, action, Actor.system())
    reopened = lifecycle.reopen(ticket.pk, Actor.system())
    assert (reopened.status, reopened.resolved_at, reopened.resolved_by) == ("open", None, "")


@pytest.mark.parametrize("resolve_on_recovery", [True, False])
def test_a_source_recovery_resolves_with_the_source_as_actor_unless_turned_off(
    settings, resolve_on_recovery
):
    settings.RESOLVE_ON_SOURCE_RECOVERY = resolve_on_recovery
    ticket = make_ticket(sla_deadline=timezone.now() - timedelta(minutes=1))

    lifecycle.resolve_at_source(Ticket.objects.get(pk=ticket.pk), Actor.source("adf"), details={})

    ticket.refresh_from_db()
    assert ticket.resolved_at_source_at is not None
    if resolve_on_recovery:
        assert (ticket.status, ticket.resolved_by, ticket.sla_status) == (
            "resolved",
            "adf",
            "Breached",  # it recovered after its deadline: the clock stops where it was
        )
        entry = AuditLog.objects.get(ticket=ticket, action="resolved at source")
        assert (entry.actor_kind, entry.after["status"]) == ("source", "resolved")
    else:
        assert (ticket.status, ticket.resolved_at) == ("open", None)


def test_a_recovery_after_a_responders_fix_verifies_that_fix():
    ticket = make_ticket()
    lifecycle.resolve(ticket.pk, Actor.system("maria"), fix="Restarted the cluster")

    lifecycle.resolve_at_source(Ticket.objects.get(pk=ticket.pk), Actor.source("adf"), details={})

    fix = Resolution.objects.get(ticket=ticket)
    assert fix.verified
    ticket.refresh_from_db()
    assert ticket.resolved_by == "maria"  # the responder's resolution stands


def test_migration_resolves_tickets_that_were_over_before_the_resolved_state():
    import importlib

    from django.apps import apps

    at_source = make_ticket(
        timestamp=timezone.now() - timedelta(hours=2),
        resolved_at_source_at=timezone.now() - timedelta(hours=1),
    )
    jira_done = make_ticket(status="acknowledged", ack_user="Maria")
    AuditLog.objects.create(
        ticket=jira_done, actor_kind="jira", actor_name="Maria", action="acknowledge"
    )
    by_hand = make_ticket(status="acknowledged", ack_user="bob")
    AuditLog.objects.create(
        ticket=by_hand, actor_kind="user", actor_name="bob", action="acknowledge"
    )
    untouched = make_ticket()

    migration = importlib.import_module("tickets.migrations.0009_resolved_data")
    migration.resolve_finished_tickets(apps, None)

    statuses = dict(Ticket.objects.values_list("pk", "status"))
    assert statuses == {
        at_source.pk: "resolved",
        jira_done.pk: "resolved",
        by_hand.pk: "acknowledged",
        untouched.pk: "open",
    }
    at_source.refresh_from_db()
    assert (at_source.resolved_by, at_source.resolve_seconds) == ("adf", 3600)
    assert Ticket.objects.get(pk=jira_done.pk).resolved_by == "Maria"


def test_a_secret_pasted_into_the_fix_is_never_kept():
    ticket = make_ticket()

    lifecycle.resolve(
        ticket.pk, Actor.system("maria"), fix="Set Password=Hunter2-Secret! on the linked service"
    )

    stored = Resolution.objects.get(ticket=ticket).fix
    audited = AuditLog.objects.get(ticket=ticket, action="resolve").details["fix"]
    assert "Hunter2-Secret" not in stored + audited
    assert stored.startswith("Set Password=") and stored == audited


def test_a_reopen_after_a_response_in_time_gets_a_fresh_deadline_not_a_breach():
    """It kept the old deadline and went back to Pending: past it, beat marked the ticket
    Breached a minute later, counting a response made in time against the SLA."""
    ticket = make_ticket()  # deadline in an hour
    assert lifecycle.acknowledge(ticket.pk, Actor.system()).sla_status == "Met"
    lifecycle.resolve(ticket.pk, Actor.system())
    # Hours later, the deadline long past, someone finds it is not fixed.
    old_deadline = timezone.now() - timedelta(hours=2)
    Ticket.objects.filter(pk=ticket.pk).update(sla_deadline=old_deadline)

    before = timezone.now()
    reopened = lifecycle.reopen(ticket.pk, Actor.system(), note="still failing")

    assert reopened.sla_status == "Pending"
    assert reopened.sla_deadline is not None
    assert (
        before + timedelta(hours=1) <= reopened.sla_deadline <= timezone.now() + timedelta(hours=1)
    )
    assert lifecycle.mark_sla_breaches() == 0
    assert Ticket.objects.get(pk=ticket.pk).sla_status == "Pending"
    # Its audit entry records the fresh deadline, as it records each change it made.
    entry = AuditLog.objects.get(ticket=ticket, action="reopen")
    assert entry.before["sla_deadline"] == old_deadline.isoformat()[:-6] + "Z"
    assert entry.after["sla_deadline"] == reopened.sla_deadline.isoformat()[:-6] + "Z"


def test_a_reopen_keeps_a_breach_and_a_running_clock_keeps_its_deadline():
    late = make_ticket(sla_deadline=timezone.now() - timedelta(minutes=5))
    lifecycle.acknowledge(late.pk, Actor.system())
    reopened = lifecycle.reopen(late.pk, Actor.system())
    assert (reopened.sla_status, reopened.sla_deadline) == ("Breached", late.sla_deadline)

    taken = make_ticket(run_id="adf:taken")
    lifecycle.start_progress(taken.pk, Actor.system())
    reopened = lifecycle.reopen(taken.pk, Actor.system())
    assert (reopened.sla_status, reopened.sla_deadline) == ("Pending", taken.sla_deadline)


def test_a_regressions_time_to_acknowledge_counts_from_the_regression():
    """It counted from the first failure: a regression acknowledged at once, two hours after
    the ticket first failed, added 7,200 s to MTTA while its SLA clock (and its time to
    resolve) started at the regression."""
    ticket = make_ticket(timestamp=timezone.now() - timedelta(hours=2))
    lifecycle.resolve(ticket.pk, Actor.system())
    lifecycle.regress(ticket.pk, Actor("source", "adf"), occurrence_key="k", occurrence_count=2)

    acknowledged = lifecycle.acknowledge(ticket.pk, Actor.system())

    assert acknowledged.ack_seconds is not None and acknowledged.ack_seconds <= 10
    assert acknowledged.sla_status == "Met"
    resolved = lifecycle.resolve(ticket.pk, Actor.system())
    assert resolved.resolve_seconds is not None and resolved.resolve_seconds <= 10


def test_a_reopen_by_people_restarts_the_times_to_acknowledge_and_to_resolve():
    """They counted from the first failure while its SLA clock restarted at the reopen: a
    ticket acknowledged 3 s after a reopen recorded 24 s, and its second time to resolve
    included the time it sat resolved."""
    ticket = make_ticket(timestamp=timezone.now() - timedelta(hours=2))
    lifecycle.acknowledge(ticket.pk, Actor.system())
    lifecycle.resolve(ticket.pk, Actor.system())
    lifecycle.reopen(ticket.pk, Actor.system("maria"), note="still failing")

    acknowledged = lifecycle.acknowledge(ticket.pk, Actor.system())

    assert acknowledged.ack_seconds is not None and acknowledged.ack_seconds <= 10
    resolved = lifecycle.resolve(ticket.pk, Actor.system())
    assert resolved.resolve_seconds is not None and resolved.resolve_seconds <= 10
    assert resolved.reopened_at is not None and resolved.regressed_at is None
    # Reopened once more, acknowledged (not resolved): the time to resolve counts from there.
    lifecycle.reopen(ticket.pk, Actor.system())
    Ticket.objects.filter(pk=ticket.pk).update(reopened_at=timezone.now() - timedelta(minutes=5))
    lifecycle.acknowledge(ticket.pk, Actor.system())
    resolve_seconds = lifecycle.resolve(ticket.pk, Actor.system()).resolve_seconds
    assert resolve_seconds is not None and 290 <= resolve_seconds <= 310


def test_a_taken_tickets_reopen_keeps_where_its_times_count_from():
    """Not answered yet, it keeps its SLA clock: its acknowledgement answers the failure."""
    ticket = make_ticket(timestamp=timezone.now() - timedelta(minutes=10))
    lifecycle.start_progress(ticket.pk, Actor.system())
    assert lifecycle.reopen(ticket.pk, Actor.system()).reopened_at is None

    ack_seconds = lifecycle.acknowledge(ticket.pk, Actor.system()).ack_seconds
    assert ack_seconds is not None and 590 <= ack_seconds <= 610


def test_migration_0030_counts_the_times_made_since_a_reopen_from_it():
    """Tickets reopened before the field existed: the last reopen of an answered ticket is
    read from the audit log (or the last regression, when later), and the times recorded
    since are counted from it."""
    import importlib

    from django.apps import apps

    now = timezone.now()
    reopened = make_ticket(
        timestamp=now - timedelta(hours=2),
        status="resolved",
        ack_ts=now - timedelta(minutes=9),
        ack_seconds=7200 - 9 * 60,
        resolved_at=now,
        resolve_seconds=7200,
    )
    for action, before, minutes in (
        ("reopen", "resolved", 30),  # superseded by the later one
        ("reopen", "acknowledged", 10),
        ("reopen", "in_progress", 5),  # a taken ticket's: moves nothing
    ):
        AuditLog.objects.create(
            ticket=reopened,
            actor_kind="user",
            actor_name="maria",
            action=action,
            before={"status": before},
            created_at=now - timedelta(minutes=minutes),
        )
    regressed = make_ticket(
        run_id="adf:regressed",
        timestamp=now - timedelta(hours=3),
        regressed_at=now - timedelta(hours=1),
        status="resolved",
        resolved_at=now,
        resolve_seconds=3600,
    )
    untouched = make_ticket(run_id="adf:untouched", status="acknowledged", ack_seconds=42)

    migration = importlib.import_module("tickets.migrations.0030_ticket_reopened_at")
    migration.collect_reopens(apps, None)
    migration.set_reopened_at(apps, None)

    reopened.refresh_from_db()
    assert reopened.reopened_at == now - timedelta(minutes=10)
    assert (reopened.ack_seconds, reopened.resolve_seconds) == (60, 600)
    regressed.refresh_from_db()
    assert (regressed.reopened_at, regressed.resolve_seconds) == (regressed.regressed_at, 3600)
    untouched.refresh_from_db()
    assert (untouched.reopened_at, untouched.ack_seconds) == (None, 42)


@pytest.mark.django_db(transaction=True)
def test_migration_0030_reads_the_audit_log_before_it_locks_the_tickets_table():
    """Adding the column takes the tickets table's ACCESS EXCLUSIVE lock until the migration
    commits (no webhook, board or API read gets through meanwhile): the audit log, an entry
    per recurrence too, was scanned under it. Held up on the audit log, the migration must not
    be holding the tickets table."""
    import threading

    from django.db import connection, connections, transaction
    from django.db.migrations.executor import MigrationExecutor

    before = ("tickets", "0029_mark_alerts_resolved_before")
    latest = ("tickets", "0030_ticket_reopened_at")
    MigrationExecutor(connection).migrate([before])
    holding, release = threading.Event(), threading.Event()
    pids: list[int] = []

    def hold_the_audit_log() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("LOCK TABLE tickets_auditlog IN ACCESS EXCLUSIVE MODE")
                cursor.execute("SELECT pg_backend_pid()")
                pids.append(cursor.fetchone()[0])
                holding.set()
                release.wait(20)
        finally:
            connections.close_all()

    def migrate() -> None:
        try:
            MigrationExecutor(connection).migrate([latest])
        finally:
            connections.close_all()

    def blocked_pid() -> int | None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", pids
            )
            row = cursor.fetchone()
        return row[0] if row else None

    holder = threading.Thread(target=hold_the_audit_log)
    migrator = threading.Thread(target=migrate)
    try:
        holder.start()
        assert holding.wait(10)
        migrator.start()
        waiting = wait_for(blocked_pid, 10, 0.02)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE pid = %s AND granted"
                " AND relation = 'tickets_ticket'::regclass AND mode = 'AccessExclusiveLock'",
                [waiting],
            )
            tickets_locked = cursor.fetchone()[0]
    finally:
        release.set()
        holder.join(20)
        migrator.join(60)
        # Every app's latest, so a later migration (of any app) unapplied on the way back is
        # applied again too.
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert tickets_locked == 0
    assert "reopened_at" in {field.name for field in Ticket._meta.get_fields()}
