"""Similar incidents with real embeddings (the local model) in pgvector."""

from __future__ import annotations

import json
import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from analysis import services
from analysis.similar import similar_tickets
from integrations.ingest import ingest_delivery
from tests.conftest import local_payload
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

KINDS = {
    "memory": [
        "java.lang.OutOfMemoryError: Java heap space at org.apache.spark.sql.execution",
        "ExecutorLostFailure: Container killed by YARN for exceeding memory limits. 12.4 GB of "
        "12 GB physical memory used. Consider boosting spark.yarn.executor.memoryOverhead",
        "The spark driver has stopped unexpectedly and is restarting: java.lang.OutOfMemoryError:"
        " GC overhead limit exceeded",
    ],
    "auth": [
        "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the "
        "request is the client secret value, not the client secret ID",
        "Login failed for user 'etl_reader'. Reason: Password did not match that for the login",
        "Failed to get access token by using service principal. AADSTS700016: Application "
        "with identifier was not found in the directory",
    ],
    "schema": [
        "AnalysisException: cannot resolve 'customer_id' given input columns: [id, name, email]",
        "A schema mismatch detected when writing to the Delta table. To enable schema migration "
        "set mergeSchema to true",
        "Column 'order_total' of type decimal(18,2) cannot be converted to int: schema mismatch",
    ],
}


def ticket_for(message: str) -> Ticket:
    body = local_payload("adf_failure.json")
    body.update(
        run_id=str(uuid.uuid4()), pipeline=f"pl_{uuid.uuid4().hex[:8]}", error_message=message
    )
    ticket_id = ingest_delivery("adf", json.dumps(body).encode()).ticket_id
    assert ticket_id is not None
    services.analyse_ticket(ticket_id)
    return Ticket.objects.get(pk=ticket_id)


@pytest.fixture
def corpus(settings) -> dict[str, list[Ticket]]:
    settings.GEMINI_API_KEY = ""
    settings.EMBEDDING_BACKEND = "local"
    return {kind: [ticket_for(m) for m in messages] for kind, messages in KINDS.items()}


@pytest.mark.parametrize(
    "kind, message",
    [
        (
            "memory",
            "org.apache.spark.SparkException: Job aborted: java.lang.OutOfMemoryError: "
            "Java heap space in stage 4",
        ),
        ("auth", "AADSTS7000222: The provided client secret keys for app are expired"),
        ("schema", "AnalysisException: cannot resolve 'order_date' given input columns: [id]"),
    ],
)
def test_tickets_of_the_same_failure_kind_rank_first(corpus, kind, message):
    ticket = ticket_for(message)

    ranked = similar_tickets(ticket, k=5, min_similarity=0.0)

    same_kind = {t.pk for t in corpus[kind]}
    assert ticket.embedding_model.startswith("wordllama")
    assert ranked[0][0].pk in same_kind
    top3 = [t.pk for t, _ in ranked[:3]]
    assert sum(pk in same_kind for pk in top3) >= 2
    scores = [score for _, score in ranked]
    assert scores == sorted(scores, reverse=True)


def test_the_floor_keeps_unrelated_tickets_out(corpus):
    ticket = ticket_for("java.lang.OutOfMemoryError: Java heap space")
    above = similar_tickets(ticket, k=5, min_similarity=0.99)
    assert all(score >= 0.99 for _, score in above)
    assert len(above) < len(similar_tickets(ticket, k=5, min_similarity=0.0))


def test_vectors_of_another_model_are_never_compared(corpus):
    ticket = ticket_for("java.lang.OutOfMemoryError: Java heap space")
    Ticket.objects.exclude(pk=ticket.pk).update(embedding_model="gemini-gemini-embedding-001-256")
    assert similar_tickets(ticket, k=5, min_similarity=0.0) == []


def test_reembed_command_gives_every_ticket_a_vector_of_the_current_model(corpus):
    Ticket.objects.update(embedding=None, embedding_model="")
    out = StringIO()

    call_command("reembed_tickets", stdout=out, stderr=StringIO())

    assert not Ticket.objects.filter(embedding__isnull=True).exists()
    assert set(Ticket.objects.values_list("embedding_model", flat=True)) == {
        "wordllama-l2_supercat-256"
    }
    assert "9 tickets" in out.getvalue()


def test_the_batch_query_finds_what_one_query_per_ticket_finds(corpus):
    """The batch analysis looks up every ticket's similar tickets in one query: the same
    tickets, in the same order, with the same scores as one look-up each."""
    from analysis.similar import similar_tickets_many

    tickets = [t for kind in corpus.values() for t in kind]
    together = similar_tickets_many(tickets, k=3, min_similarity=0.3)
    assert any(together.values())
    for ticket in tickets:
        alone = similar_tickets(ticket, k=3, min_similarity=0.3)
        assert [(t.pk, round(s, 6)) for t, s in together[ticket.pk]] == [
            (t.pk, round(s, 6)) for t, s in alone
        ]


def test_the_batch_query_reads_each_tickets_neighbours_from_the_hnsw_index(corpus):
    """Each query vector is typed once (not cast again for every ticket compared), and the
    HNSW index serves each look-up under the setting the analysis runs it with."""
    from analysis.similar import nearest_many_query

    tickets = [t for kind in corpus.values() for t in kind]
    sql, params = nearest_many_query(tickets, 10)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "Index Scan using ticket_embedding_hnsw" in plan, plan
    assert "Order By: (embedding <=> q.vector)" in plan, plan


def test_the_batch_look_up_leaves_the_callers_transaction_planning_as_before(corpus):
    from analysis.similar import similar_tickets_many

    tickets = [t for kind in corpus.values() for t in kind]
    with transaction.atomic(), connection.cursor() as cursor:
        assert any(similar_tickets_many(tickets, k=3, min_similarity=0.3).values())
        cursor.execute("SHOW enable_seqscan")
        assert cursor.fetchone()[0] == "on"
