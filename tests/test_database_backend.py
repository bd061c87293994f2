"""The database backend's health check (rca_project/database): no round trip for a healthy idle
connection, and still no reuse of one the server has ended."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest
from django.db import connection, connections


@pytest.fixture
def own_connection():
    """A connection of its own, idle in autocommit as a web thread's is between requests."""
    wrapper = connections.create_connection("default")
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


@pytest.fixture
def statements(monkeypatch) -> list[Any]:
    """Every statement psycopg executes from here on (Django's wrappers bypassed, as the health
    check bypasses them)."""
    seen: list[Any] = []
    execute = psycopg.Cursor.execute

    def counted(self: psycopg.Cursor, query: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(query)
        return execute(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", counted)
    return seen


@pytest.mark.django_db
def test_a_healthy_idle_connection_is_usable_without_a_statement(own_connection, statements):
    assert own_connection.is_usable()
    assert statements == []


@pytest.mark.django_db
def test_a_connection_the_server_ended_is_not_usable(own_connection):
    pid = own_connection.connection.info.backend_pid
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert cursor.fetchone() == (True,)
    deadline = time.monotonic() + 5
    while own_connection.is_usable() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not own_connection.is_usable()
    # Django's own rule then replaces it before the next query.
    own_connection.health_check_done = False
    own_connection.close_if_health_check_failed()
    assert own_connection.connection is None
    with own_connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


@pytest.mark.django_db
def test_a_connection_inside_a_transaction_is_checked_by_asking_the_server(
    own_connection, statements
):
    own_connection.set_autocommit(False)
    with own_connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    statements.clear()
    assert own_connection.is_usable()
    assert statements == ["SELECT 1"]
    own_connection.rollback()
    own_connection.set_autocommit(True)


def _prepared_statements() -> dict[str, int]:
    """This session's prepared statements: SQL text -> executions (plans made or reused)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements")
        return dict(cursor.fetchall())


def _adf_failure(index: int) -> dict[str, Any]:
    from tests.conftest import local_payload

    body = local_payload("adf_failure.json")
    body.update(run_id=f"prepared-run-{index}", pipeline=f"pl_prepared_{index}")
    return body


@pytest.mark.django_db
def test_the_statements_of_a_new_failure_are_prepared_once_per_connection(webhook_client):
    before = _prepared_statements().keys()
    assert webhook_client("/webhooks/adf/", _adf_failure(1)).status_code == 202
    first = {sql: n for sql, n in _prepared_statements().items() if sql not in before}
    assert webhook_client("/webhooks/adf/", _adf_failure(2)).status_code == 202
    second = {sql: n for sql, n in _prepared_statements().items() if sql not in before}

    # The occurrence claim, the candidates read and the new ticket's own statement.
    assert len(first) == 3
    assert any("INSERT INTO tickets_occurrence" in sql for sql in first)
    assert any("WHERE run_id = $" in sql for sql in first)
    assert any('WITH ticket AS (INSERT INTO "tickets_ticket"' in sql for sql in first)
    # The second webhook ran the same statements again, none prepared anew.
    assert second.keys() == first.keys()
    assert all(second[sql] == first[sql] + 1 for sql in first)


@pytest.mark.django_db
def test_djangos_own_queries_are_not_prepared():
    from tickets.models import Ticket

    before = _prepared_statements()
    for _ in range(8):
        Ticket.objects.filter(pk="none").exists()
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM tickets_ticket WHERE id = %s", ["none"])
    assert _prepared_statements() == before


@pytest.mark.django_db(transaction=True)
def test_a_new_failure_after_a_rollback_prepares_its_statements_again(webhook_client):
    from django.db import transaction

    from tickets.models import Ticket

    before = set(_prepared_statements())
    assert webhook_client("/webhooks/adf/", _adf_failure(1)).status_code == 202
    webhook_statements = set(_prepared_statements()) - before
    # psycopg forgets its prepared statements at a rollback and has the server drop them.
    with pytest.raises(RuntimeError), transaction.atomic():
        Ticket.objects.filter(pk="none").exists()
        raise RuntimeError
    assert not webhook_statements & set(_prepared_statements())
    answer = webhook_client("/webhooks/adf/", _adf_failure(2))

    assert answer.status_code == 202 and answer.json()["outcome"] == "created"
    assert Ticket.objects.filter(pk=answer.json()["ticket_id"]).exists()
    prepared_again = _prepared_statements()
    assert len(webhook_statements) == 3
    assert all(prepared_again.get(sql) == 1 for sql in webhook_statements)


@pytest.mark.django_db
def test_a_prepared_statements_error_is_djangos_with_the_servers_code():
    from django.db import DataError

    from rca_project.compiled_sql import prepared_cursor

    with pytest.raises(DataError) as raised, prepared_cursor() as cursor:
        cursor.execute("SELECT 1 / %s", [0])
    # What ingest reads to run a deadlocked transaction again.
    assert getattr(raised.value.__cause__, "sqlstate", None) == "22012"
