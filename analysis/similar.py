"""Similar past incidents: nearest tickets by embedding (pgvector, HNSW), same model only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict

from django.conf import settings
from django.db import connection

from tickets.models import Ticket, hnsw_scans_until_found


class Similarity(TypedDict):
    """The score the API sets on each similar ticket, for `SimilarTicketSerializer` to read
    like an annotation: with `WithAnnotations[Ticket, Similarity]` the type checker knows it."""

    similarity: float


def similar_tickets(
    ticket: Ticket, k: int = 5, min_similarity: float | None = None
) -> list[tuple[Ticket, float]]:
    """The k past tickets most like this one, above the similarity floor (default 0.7)."""
    if ticket.embedding is None or not ticket.embedding_model:
        return []
    floor = settings.SIMILARITY_FLOOR if min_similarity is None else min_similarity
    vector = [float(v) for v in ticket.embedding]
    nearest = Ticket.objects.exclude(pk=ticket.pk).nearest(
        vector, ticket.embedding_model, k=k, min_similarity=floor
    )
    return nearest


# The query vectors arrive typed (`vector[]`), each parsed once: cast from text inside the
# LATERAL part, a vector was parsed again for every ticket the scan compared it with (half the
# server's CPU in a storm's analysis).
_NEAREST_MANY = (
    "SELECT q.id, n.id, 1 - n.distance FROM unnest(%s::text[], %s::vector[], %s::text[])"
    " AS q(id, vector, model) CROSS JOIN LATERAL ("
    " SELECT t.id, t.embedding <=> q.vector AS distance FROM {table} t"
    "  WHERE t.embedding_model = q.model AND t.id <> q.id"
    "  ORDER BY t.embedding <=> q.vector LIMIT %s) AS n"
)


def nearest_many_query(tickets: Sequence[Ticket], limit: int) -> tuple[str, list[Any]]:
    """The batch look-up's statement and parameters: the `limit` nearest of each ticket."""
    return _NEAREST_MANY.format(table=Ticket._meta.db_table), [
        [t.pk for t in tickets],
        ["[" + ",".join(repr(float(v)) for v in t.embedding or ()) + "]" for t in tickets],
        [t.embedding_model for t in tickets],
        limit,
    ]


def similar_tickets_many(
    tickets: Sequence[Ticket], k: int = 5, min_similarity: float | None = None
) -> dict[str, list[tuple[Ticket, float]]]:
    """`similar_tickets` for several tickets in two queries: the k * 2 nearest of each by one
    LATERAL join (each through the HNSW index, as alone), then the tickets found."""
    floor = settings.SIMILARITY_FLOOR if min_similarity is None else min_similarity
    found: dict[str, list[tuple[Ticket, float]]] = {ticket.pk: [] for ticket in tickets}
    asking = [t for t in tickets if t.embedding is not None and t.embedding_model]
    if not asking:
        return found
    sql, params = nearest_many_query(asking, k * 2)
    with hnsw_scans_until_found(), connection.cursor() as cursor:
        # Up to some thousands of tickets the planner prices the HNSW scan above reading every
        # ticket and sorting (at 1,000: 2.7 ms of the server's CPU per ticket against 0.25),
        # and the scan grows with the table. Told not to scan, it takes the index.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(sql, params)
        # Filter the similarity after the index scan: a WHERE on it would bypass the index.
        rows = [(ticket_id, other, score) for ticket_id, other, score in cursor.fetchall()]
        cursor.execute("SET LOCAL enable_seqscan TO DEFAULT")  # within a caller's transaction
    close = [(ticket_id, other, score) for ticket_id, other, score in rows if score >= floor]
    others = Ticket.objects.defer("embedding").in_bulk({other for _, other, _ in close})
    for ticket_id, other, score in sorted(close, key=lambda row: -row[2]):
        if other in others and len(found[ticket_id]) < k:
            found[ticket_id].append((others[other], score))
    return found
