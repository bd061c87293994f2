"""A test that ends while the Celery worker is still busy must not break the next one.

The first test leaves two tasks waiting on a fake server that stalls past the worker's drain
bound: one inside a transaction (a row lock on auth_group, which the flush's TRUNCATE must
take), one that has not touched the database yet. Both write once the call returns. Two more
tasks would write once they run: one due while the two hold both of the worker's threads, which
waits in the worker's pool for one of them, and one published then, which waits on the broker
until the test's end empties its queue. The second test needs a flushed database at once (not
after the stall), a working worker, and none of the stragglers' writes, even after it lets the
stalled calls return. The tests depend on running
in file order on one process (pytest's order; `--dist loadfile` keeps a module on one process).
"""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import transaction

from rca_project.celery import app as celery_app
from tests.conftest import wait_for
from tests.fakes.http import FakeHttpService, RecordedRequest, Reply

pytestmark = pytest.mark.django_db(transaction=True)

STALL_SECONDS = 60.0
STRAGGLERS_DONE = {
    "lock_then_call": threading.Event(),
    "call_then_write": threading.Event(),
    "queued_in_the_pool": threading.Event(),
    "published_last": threading.Event(),
}


class StallingServer(FakeHttpService):
    def route(self, request: RecordedRequest) -> Reply:
        return 200, {"ok": True}, {}


@celery_app.task(name="tests.test_worker_teardown.lock_then_call")
def lock_then_call(url: str, group_id: int) -> None:
    """Hold a row lock on auth_group across a call to `url`, then write."""
    try:
        with transaction.atomic():
            group = Group.objects.select_for_update().get(pk=group_id)
            urllib.request.urlopen(url, timeout=STALL_SECONDS + 30).read()
            Group.objects.create(name=f"{group.name}: written after the call")
    finally:
        STRAGGLERS_DONE["lock_then_call"].set()


@celery_app.task(name="tests.test_worker_teardown.call_then_write")
def call_then_write(url: str) -> None:
    """Call `url` before any database work, then write."""
    try:
        urllib.request.urlopen(url, timeout=STALL_SECONDS + 30).read()
        Group.objects.create(name="written after a call made without a transaction")
    finally:
        STRAGGLERS_DONE["call_then_write"].set()


@celery_app.task(name="tests.test_worker_teardown.write_later")
def write_later(name: str) -> None:
    """Write, once the worker has a thread for it."""
    try:
        Group.objects.create(name=f"written by {name}")
    finally:
        STRAGGLERS_DONE[name].set()


@celery_app.task(name="tests.test_worker_teardown.create_group")
def create_group(name: str) -> None:
    Group.objects.create(name=name)


@pytest.fixture(scope="module")
def stalling_server() -> Iterator[StallingServer]:
    with StallingServer() as server:
        server.stall(STALL_SECONDS)
        yield server


@pytest.mark.worker_drain_seconds(2)
def test_a_test_ends_while_its_task_holds_a_lock(stalling_server: Any, celery_worker: Any) -> None:
    group = Group.objects.create(name="held")
    # Taken at once, due once the stalled calls hold both threads: the worker's timer hands it
    # to the pool, which queues it until a thread is free (in the next test).
    due = time.monotonic() + 3
    write_later.apply_async(("queued_in_the_pool",), countdown=3)
    lock_then_call.delay(stalling_server.url + "/locked", group.pk)
    call_then_write.delay(stalling_server.url + "/unlocked")

    wait_for(lambda: len(stalling_server.requests) == 2)
    # No thread to take it: it waits on the broker, in a queue the test's end empties.
    write_later.delay("published_last")
    time.sleep(max(0.0, due + 1 - time.monotonic()))


def test_the_next_test_gets_a_flushed_database_and_a_working_worker(
    stalling_server: Any, celery_worker: Any
) -> None:
    # The flush did not wait for the stragglers: they are still held by the fake.
    assert not any(done.is_set() for done in STRAGGLERS_DONE.values())
    assert not Group.objects.exists()

    create_group.delay("next test")
    wait_for(lambda: Group.objects.filter(name="next test").exists(), timeout=10)

    stalling_server.release_stalled()
    ran = ("lock_then_call", "call_then_write", "queued_in_the_pool")
    assert all(STRAGGLERS_DONE[name].wait(10) for name in ran)
    # Its queue was emptied: no worker runs it.
    assert not STRAGGLERS_DONE["published_last"].wait(3)
    assert list(Group.objects.values_list("name", flat=True)) == ["next test"]
