"""Shared fixtures. Everything runs against the real services: the embedded PostgreSQL with
pgvector (or DATABASE_URL), the machine's Redis, and a real Celery worker where a test needs one."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import pytest
import redis
from celery.signals import task_postrun, task_prerun, task_received
from celery.worker import state as worker_state
from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers
from django.apps import apps as django_apps
from django.conf import settings
from django.core.servers import basehttp
from django.db import connection
from django.db.backends.signals import connection_created
from django.test import Client, override_settings

from rca_project import local_services
from rca_project.celery import app as celery_app

# Django's live test server listens with a backlog of 10 connections; the concurrency tests
# open 50 at once, and on a busy machine the overflow was reset ("Connection reset by peer").
# gunicorn, which serves the product, listens with 2048.
basehttp.WSGIServer.request_queue_size = 128

REPO = Path(__file__).resolve().parent.parent
SHARED_FIXTURES = Path(os.environ.get("SHARED_FIXTURES", REPO.parent / "shared" / "fixtures"))
LOCAL_PAYLOADS = Path(__file__).resolve().parent / "payloads"
# One Redis database per test process (pytest-xdist runs several), so a worker never takes
# another process's tasks.
_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
TEST_REDIS_DB = 8 + int(_XDIST_WORKER.removeprefix("gw")) if _XDIST_WORKER else 15

_T = TypeVar("_T")


def shared_payload(name: str) -> dict[str, Any]:
    return json.loads((SHARED_FIXTURES / "payloads" / name).read_text())


def local_payload(name: str) -> dict[str, Any]:
    return json.loads((LOCAL_PAYLOADS / name).read_text())


def _test_redis_url() -> str:
    if settings.REDIS_URL.startswith("redis://"):
        base = settings.REDIS_URL.rsplit("/", 1)[0] if settings.REDIS_URL.count("/") > 2 else None
        return f"{base or settings.REDIS_URL.rstrip('/')}/{TEST_REDIS_DB}"
    return settings.REDIS_URL


@pytest.fixture(scope="session", autouse=True)
def logging_outlives_capture() -> Iterator[None]:
    """The root log handler writes to the stderr pytest captured when Django configured logging,
    which pytest closes at the end: a line logged at exit after that (the embedded PostgreSQL's
    `forget_dead_users` atexit hook) printed a 'Logging error' traceback instead. Pointed back
    at the process's own stderr as the session ends."""
    yield
    for handler in logging.getLogger().handlers:
        if type(handler) is logging.StreamHandler and handler.stream is not sys.__stderr__:
            handler.setStream(sys.__stderr__)


@pytest.fixture(scope="session", autouse=True)
def isolated_broker() -> Iterator[str]:
    """Tests publish to their own Redis database, emptied first, never the service's queue."""
    if not django_apps.ready:  # a plain-pytest run of the pure-Python tests
        yield ""
        return
    url = _test_redis_url()
    # A namespace of this run's own, so concurrent runs sharing a Redis database never take
    # each other's tasks, websocket events or circuit breaker state.
    namespace = f"rca-test-{uuid.uuid4().hex[:8]}"
    # Both keys: Celery reads the Django settings' CELERY_BROKER_URL before its own broker_url.
    celery_app.conf.broker_url = settings.CELERY_BROKER_URL = local_services.kombu_url(url)
    celery_app.conf.task_default_queue = namespace
    settings.CELERY_TASK_DEFAULT_QUEUE = namespace
    settings.REDIS_KEY_PREFIX = namespace
    settings.REDIS_URL = url
    # Uploaded logs of this run's jobs (the API tests and schemathesis upload files too).
    settings.LOG_ANALYSIS_DIR = Path(tempfile.mkdtemp(prefix="rca-test-logs-"))
    # The service's channel layer (its connection options included), on this run's database.
    layer: dict[str, Any] = settings.CHANNEL_LAYERS["default"]
    host = {**layer["CONFIG"]["hosts"][0], "address": url}
    settings.CHANNEL_LAYERS = {
        "default": {
            **layer,
            "CONFIG": {**layer["CONFIG"], "hosts": [host], "prefix": f"{namespace}:asgi"},
        }
    }
    # override_settings (not plain assignment) so Django rebuilds its cache connections.
    override_settings(
        CACHES={
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": url,
                "KEY_PREFIX": f"{namespace}:cache",
            }
        }
    ).enable()
    yield url
    clear_cache()
    shutil.rmtree(settings.LOG_ANALYSIS_DIR, ignore_errors=True)


def database_url_for_tests() -> str:
    """This run's test database (pytest-django's test_<name>) as a URL, for the processes a test
    starts (daphne, gunicorn, manage.py), so they see its rows."""
    db = connection.settings_dict
    credentials = f"{quote(db['USER'])}:{quote(db['PASSWORD'] or '')}"
    if db["HOST"].startswith("/"):  # the embedded server's unix socket directory
        return f"postgresql://{credentials}@/{db['NAME']}?host={db['HOST']}"
    return f"postgresql://{credentials}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def clear_cache() -> None:
    """Empty this run's part of the cache (throttle history, login failures, cached stats).
    Never `cache.clear()`: on Redis that is FLUSHDB, which would empty other runs' keys too."""
    location = settings.CACHES["default"]["LOCATION"]
    client = redis.Redis.from_url(location)
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    keys = list(client.scan_iter(f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    if django_apps.ready:
        clear_cache()
    yield


@pytest.fixture(autouse=True)
def fresh_content_types() -> None:
    """A transactional test's flush empties django_content_type, while ContentType's process
    cache keeps the ids it read: admin's log entry in a later test then points at a row that
    is gone (a foreign-key error at its commit). Read anew, a missing one is made again."""
    if django_apps.ready:
        from django.contrib.contenttypes.models import ContentType

        ContentType.objects.clear_cache()


@pytest.fixture(autouse=True)
def fresh_channel_layer() -> None:
    """Each test gets the process's shared channel layer anew: a websocket consumer an earlier
    test ran may have left the old one receiving on that test's event loop, closed since, and
    channels refuses a receive from another loop ("Two event loops are trying to receive()")."""
    channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)


@pytest.fixture(autouse=True)
def fresh_gemini_outage() -> None:
    """Each test starts with Gemini held to be up, whatever an earlier test's fake failed (in
    this process, or in another that shared its pause through Redis)."""
    if django_apps.ready:
        from analysis.gemini import outage, shared_pause_key

        outage.record(None)
        client = redis.Redis.from_url(settings.REDIS_URL)
        client.delete(shared_pause_key())
        client.close()


@pytest.fixture(autouse=True)
def fresh_pacing() -> Iterator[None]:
    """Each test starts with the targets' rate buckets empty (integrations/pacing.py)."""
    yield
    if django_apps.ready:
        client = redis.Redis.from_url(settings.REDIS_URL)
        keys = list(client.scan_iter(f"{settings.REDIS_KEY_PREFIX}:pace:*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture(autouse=True)
def fresh_rule_cache() -> Iterator[None]:
    if not django_apps.ready:
        yield
        return
    from tickets import rules

    rules.clear_rule_cache()
    yield
    rules.clear_rule_cache()


@pytest.fixture
def webhook_client() -> Callable[..., Any]:
    """POST a JSON body to a webhook with the configured token, like a real sender."""
    client = Client()

    def post(
        path: str, body: Any, *, token: str | None = None, raw: bytes | None = None, **extra: Any
    ):
        data = raw if raw is not None else json.dumps(body).encode()
        # WSGI environ entries, passed through the client's **extra.
        headers: dict[str, Any] = {
            "HTTP_X_WEBHOOK_TOKEN": settings.WEBHOOK_TOKEN if token is None else token
        }
        if token == "":
            headers = {}
        return client.post(path, data=data, content_type="application/json", **headers, **extra)

    return post


# How long a test's end waits for the tasks it left running before it gives up on them.
WORKER_DRAIN_SECONDS = 30.0


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "worker_drain_seconds(seconds): how long `celery_worker` waits at the test's end for "
        f"the tasks still running (default {WORKER_DRAIN_SECONDS:g})",
    )


class TaskThreads:
    """The worker threads running a task now, each with the database sessions it opened, and
    those a finished test gave up on (fenced: they may open no session any more); the ids of
    the tasks a worker took and has not finished, and of those a finished test gave up on (a
    thread that starts one is fenced: the threads pool queues a task that is due while all its
    threads are busy, and runs it once one is free, in a later test).

    A thread cannot be stopped from outside: a task still waiting on a call when its test ends
    goes on, and would write into the next test's database and hold locks the flush's TRUNCATE
    waits for (or deadlocks with: "Database ... couldn't be flushed"). Its sessions are
    terminated instead (`end_sessions`), and a new one is refused here."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.sessions: dict[int, set[int]] = {}
        self.fenced: set[int] = set()
        self.unfinished: set[str] = set()
        self.given_up: set[str] = set()

    def received(self, request: Any, **kwargs: Any) -> None:
        with self._lock:
            self.unfinished.add(request.id)

    def started(self, task_id: str, **kwargs: Any) -> None:
        with self._lock:
            self.sessions[threading.get_ident()] = set()
            if task_id in self.given_up:
                self.fenced.add(threading.get_ident())

    def ended(self, task_id: str, **kwargs: Any) -> None:
        with self._lock:
            self.unfinished.discard(task_id)
            self.given_up.discard(task_id)
            self.sessions.pop(threading.get_ident(), None)
            self.fenced.discard(threading.get_ident())

    def connected(self, sender: Any, connection: Any, **kwargs: Any) -> None:
        thread = threading.get_ident()
        with self._lock:
            if thread in self.fenced:
                connection.connection.close()
                raise RuntimeError("the test that queued this task has ended")
            if thread in self.sessions:
                self.sessions[thread].add(connection.connection.info.backend_pid)

    def running(self) -> set[int]:
        with self._lock:
            return set(self.sessions) - self.fenced - {threading.get_ident()}

    def fence_running(self) -> set[int]:
        """Fence the threads running a task (never the caller's: an eager task's thread);
        the backend pids of their sessions."""
        with self._lock:
            running = set(self.sessions) - self.fenced - {threading.get_ident()}
            self.fenced |= running
            return {pid for thread in running for pid in self.sessions[thread]}

    def revoke_unfinished(self) -> None:
        """Revoke, for every worker of this process from now on, the tasks taken and not
        finished: with acks_late, a stopped worker's unacknowledged messages go back to the
        broker, and the next test's worker would run them. Those already handed to a pool,
        which a revoke no longer stops, are fenced when they start."""
        with self._lock:
            for task_id in self.unfinished:
                worker_state.revoked.add(task_id)
            self.given_up |= self.unfinished
            self.unfinished.clear()


TASK_THREADS = TaskThreads()
task_received.connect(TASK_THREADS.received, weak=False, dispatch_uid="tests-task-received")
task_prerun.connect(TASK_THREADS.started, weak=False, dispatch_uid="tests-task-started")
task_postrun.connect(TASK_THREADS.ended, weak=False, dispatch_uid="tests-task-ended")
connection_created.connect(TASK_THREADS.connected, weak=False, dispatch_uid="tests-task-session")


def end_sessions(pids: set[int]) -> None:
    """Terminate the given backends and every other session of the test database inside a
    transaction, this thread's excepted, waiting (up to 5 s each) until they are gone, so the
    flush's TRUNCATE neither waits for their locks nor deadlocks with them. Client sessions
    only: an autovacuum worker is no test's, and a role that is not a superuser may not end
    it."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid()
              AND backend_type = 'client backend'
              AND (pid = ANY(%s) OR xact_start IS NOT NULL)
            """,
            [sorted(pids)],
        )


@pytest.fixture
def celery_worker(transactional_db, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A real Celery worker (threads in this process, so it sees the test database), consuming
    from the real Redis broker, and the inbox relay that feeds it accepted webhooks (a thread
    too). At the test's end the relay stops; the tasks still running get `WORKER_DRAIN_SECONDS`
    (marker `worker_drain_seconds`) to finish; those that do not are fenced off the database
    (`TaskThreads`); every task the worker took and did not finish is revoked (a stopped worker
    hands its unacknowledged messages back to the broker); the worker stops; its queues are
    emptied; and the sessions left in a transaction are terminated, so that no task of one test
    runs into the next and the flush that follows cannot block or fail."""
    from celery.contrib.testing.worker import start_worker
    from django.db import connections

    from integrations import targets
    from integrations.relay import InboxRelay

    marker = request.node.get_closest_marker("worker_drain_seconds")
    drain_seconds = float(marker.args[0]) if marker else WORKER_DRAIN_SECONDS

    # A worker keeps its database connections across tasks (rca_project.celery); these worker
    # threads end with the test but their connections would not, and would hold the test
    # database open, so here each task closes its thread's connections when it ends.
    def close_thread_connections(**kwargs: Any) -> None:
        connections.close_all()

    queues = [celery_app.conf.task_default_queue, *targets.outbound_queues()]
    abandoned: set[int] = set()
    task_postrun.connect(close_thread_connections, weak=False)
    try:
        with start_worker(
            celery_app,
            pool="threads",
            concurrency=2,
            perform_ping_check=False,
            loglevel="WARNING",
            shutdown_timeout=30,
            queues=queues,  # this run's default queue and each target's
        ) as worker:
            relay = InboxRelay(poll_seconds=0.2).start_thread()
            try:
                yield worker
            finally:
                relay.stop()
                deadline = time.monotonic() + drain_seconds
                while TASK_THREADS.running() and time.monotonic() < deadline:
                    time.sleep(0.05)
                # Revoked first: a task that starts after the threads are fenced is fenced too.
                TASK_THREADS.revoke_unfinished()
                abandoned = TASK_THREADS.fence_running()
    finally:
        task_postrun.disconnect(close_thread_connections)
        client = redis.Redis.from_url(_test_redis_url())
        # Tasks it had not taken (retries scheduled for later) must not reach the next test.
        client.delete(*queues)
        client.close()
        end_sessions(abandoned)


@pytest.fixture
def queued_analyses() -> Iterator[Callable[[], list[str]]]:
    """The `argsrepr` of each analysis task this run's queue holds on the real broker, oldest
    first (its queue emptied before and after the test)."""
    client = redis.Redis.from_url(celery_app.conf.broker_url)
    queue = celery_app.conf.task_default_queue
    client.delete(queue)

    def queued() -> list[str]:
        messages = [json.loads(raw) for raw in reversed(client.lrange(queue, 0, -1))]
        return [
            m["headers"]["argsrepr"]
            for m in messages
            if m["headers"]["task"] == "analysis.tasks.analyse_ticket"
        ]

    yield queued
    client.delete(queue)
    client.close()


class RefusingBroker:
    """A broker address that takes each connection and closes it unanswered (as a Redis going
    down does): at once, or, once `hold()` is called, not before `refuse()` (a publish hangs
    there meanwhile; `connected` says one has come)."""

    def __init__(self) -> None:
        import socket
        import threading

        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"redis://127.0.0.1:{self._server.getsockname()[1]}/0"
        self.connected = threading.Event()
        self._refused = threading.Event()
        self._refused.set()
        threading.Thread(target=self._serve, daemon=True).start()

    def hold(self) -> None:
        self._refused.clear()

    def refuse(self) -> None:
        self._refused.set()

    def close(self) -> None:
        self.refuse()
        self._server.close()

    def _serve(self) -> None:
        import threading

        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            self.connected.set()
            threading.Thread(target=self._refuse, args=(client,), daemon=True).start()

    def _refuse(self, client: Any) -> None:
        self._refused.wait(30)
        client.close()


@pytest.fixture
def refusing_broker(monkeypatch) -> Iterator[RefusingBroker]:
    """The app's producers publish to a `RefusingBroker` (a connection of their own each)."""
    from contextlib import contextmanager

    broker = RefusingBroker()

    @contextmanager
    def producer_or_acquire(producer: Any = None) -> Iterator[Any]:
        with celery_app.connection_for_write(broker.url) as refusing, refusing.Producer() as dead:
            yield dead

    monkeypatch.setattr(celery_app, "producer_or_acquire", producer_or_acquire)
    yield broker
    broker.close()


def wait_for(condition: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05) -> Any:
    """Poll until `condition()` is truthy; fail the test with a clear message otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def columns_read(sql: str, table: str) -> set[str]:
    """The columns of `table` the plan of `sql` reads (EXPLAIN VERBOSE names each one)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (VERBOSE) {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    return set(re.findall(rf'\b{table}\."?(\w+)', plan))


def indexed_columns(index: str) -> set[str]:
    """The columns an index holds, its keys and its INCLUDE columns."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT attribute.attname
            FROM pg_index AS entry
            JOIN pg_class AS index ON index.oid = entry.indexrelid
            JOIN pg_attribute AS attribute
              ON attribute.attrelid = entry.indrelid AND attribute.attnum = ANY(entry.indkey)
            WHERE index.relname = %s
            """,
            [index],
        )
        return {name for (name,) in cursor.fetchall()}


class SessionThreads:
    """Threads each running work on a database session of its own, for the lock-order tests:
    each one's backend pid (`pids[name]`, to ask PostgreSQL who blocks whom) and what any of
    them raised (`errors`: a deadlock shows there)."""

    def __init__(self) -> None:
        self.pids: dict[str, int] = {}
        self.errors: list[BaseException] = []

    def start(self, name: str, work: Callable[[], object]) -> Any:
        import threading

        from django.db import connection, connections

        def body() -> None:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    self.pids[name] = cursor.fetchone()[0]
                work()
            except BaseException as exc:
                self.errors.append(exc)
            finally:
                connections.close_all()

        thread = threading.Thread(target=body)
        thread.start()
        return thread


def someone_waits_on(pid: int) -> bool:
    """Whether some PostgreSQL session waits for a lock the session `pid` holds."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", [pid]
        )
        return bool(cursor.fetchone()[0])


def while_held(
    hold: Callable[[], object],
    other: Callable[[], _T],
    meanwhile: Callable[[], object] | None = None,
) -> tuple[_T, bool]:
    """Run `other` while `hold`'s transaction is left uncommitted, commit it once `other`
    waits for it (after `meanwhile`, run while it waits); `other`'s answer, and whether it
    waited (PostgreSQL says it was blocked by the held transaction, not a sleep)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection, connections, transaction

    holding, release, holder = threading.Event(), threading.Event(), []

    def held() -> None:
        try:
            with transaction.atomic():
                hold()
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    holder.append(cursor.fetchone()[0])
                holding.set()
                release.wait(10)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(held)
        assert holding.wait(10)
        answer = pool.submit(other)
        waited = wait_for(lambda: someone_waits_on(holder[0]), 10, 0.02)
        try:
            if waited and meanwhile:
                meanwhile()
        finally:
            release.set()
        first.result(10)
        return answer.result(10), waited


@pytest.fixture
def migration_data(db) -> None:
    """What the data migration creates (role groups, SLA policies): a transactional test run
    before this one on the same worker flushes them."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("tickets.migrations.0002_groups_and_sla_policies")
    migration.create_groups(apps, None)
    migration.create_sla_policies(apps, None)
    later = importlib.import_module("tickets.migrations.0005_delivery_permissions")
    later.grant_delivery_permissions(apps, None)
    resolved = importlib.import_module("tickets.migrations.0009_resolved_data")
    resolved.grant_resolution_permissions(apps, None)
    resolved.create_default_jira_map(apps, None)
    incidents = importlib.import_module("tickets.migrations.0014_incident_permissions")
    incidents.grant_incident_permissions(apps, None)
    remediations = importlib.import_module("tickets.migrations.0016_remediation_permissions")
    remediations.grant_remediation_permissions(apps, None)
    log_analyses = importlib.import_module("analysis.migrations.0003_log_analysis_permissions")
    log_analyses.grant_log_analysis_permissions(apps, None)
