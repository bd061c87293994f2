from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from tickets import lifecycle
from tickets.lifecycle import Actor, TransitionError
from tickets.models import AuditLog, Ticket

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
    assert AuditLog.objects.get(ticket=overdue).action == "sla breached"


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
