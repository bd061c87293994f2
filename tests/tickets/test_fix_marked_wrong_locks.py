"""Marking an incident's fix wrong against a source recovery verifying the same copies, on two
real PostgreSQL sessions."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections, transaction

from tests.api import make_ticket
from tests.conftest import someone_waits_on, wait_for
from tickets import lifecycle, resolutions
from tickets.lifecycle import Actor
from tickets.models import Resolution, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def test_marking_a_fix_wrong_while_a_recovery_verifies_its_copies_waits_instead_of_deadlocking():
    """A job's success recovers two members of an incident resolved with one fix: it locks the
    members by id, then verifies each one's copy of the fix, the newest member's first. Staff
    marking that fix wrong meanwhile must wait for it, not take the copies in id order and
    hold the one the recovery verifies next (PostgreSQL would abort one of the two)."""
    members = sorted((make_ticket(fingerprint="fp-incident") for _ in range(2)), key=lambda t: t.pk)
    staff = Actor.system("test")
    copies = [
        lifecycle.record_fix(member, "Reboot sql-prod-01", staff, through_incident="INC-1")
        for member in members
    ]
    recovery_pid: list[int] = []
    first_verified, marking_waits = threading.Event(), threading.Event()

    def recover() -> None:
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    recovery_pid.append(cursor.fetchone()[0])
                locked = list(
                    Ticket.objects.select_for_update(no_key=True)
                    .filter(pk__in=[m.pk for m in members])
                    .order_by("pk")
                )
                newest, oldest = locked[1], locked[0]
                lifecycle.resolve_at_source(newest, Actor.source("adf"), details={})
                first_verified.set()
                assert marking_waits.wait(10)
                lifecycle.resolve_at_source(oldest, Actor.source("adf"), details={})
        finally:
            connections.close_all()

    def mark() -> Resolution:
        try:
            assert first_verified.wait(10)
            return resolutions.mark_wrong(copies[0].pk, Actor.system("staff"))
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=2) as pool:
        recovered, marked = pool.submit(recover), pool.submit(mark)
        # Watched from here: a session sees pg_stat_activity as of its transaction's start.
        assert first_verified.wait(10)
        wait_for(lambda: someone_waits_on(recovery_pid[0]), 10, 0.02)
        marking_waits.set()
        recovered.result(20)
        marked.result(20)

    assert not Resolution.objects.usable().exists()
    assert all(copy.verified_at is not None for copy in Resolution.objects.all())
