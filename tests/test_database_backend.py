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
