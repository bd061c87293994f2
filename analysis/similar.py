"""Similar past incidents: nearest tickets by embedding (pgvector, HNSW), same model only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

from django.conf import settings
from django.db import connection

from tickets.models import Ticket


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
    table = Ticket._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT q.id, n.id, 1 - n.distance FROM unnest(%s::text[], %s::text[], %s::text[])"
            " AS q(id, vector, model) CROSS JOIN LATERAL ("
            f" SELECT t.id, t.embedding <=> q.vector::vector AS distance FROM {table} t"
            "  WHERE t.embedding_model = q.model AND t.id <> q.id"
            "  ORDER BY t.embedding <=> q.vector::vector LIMIT %s) AS n",
            [
                [t.pk for t in asking],
                ["[" + ",".join(repr(float(v)) for v in t.embedding or ()) + "]" for t in asking],
                [t.embedding_model for t in asking],
                k * 2,
            ],
        )
        # Filter the similarity after the index scan: a WHERE on it would bypass the index.
        rows = [(ticket_id, other, score) for ticket_id, other, score in cursor.fetchall()]
    close = [(ticket_id, other, score) for ticket_id, other, score in rows if score >= floor]
    others = Ticket.objects.defer("embedding").in_bulk({other for _, other, _ in close})
    for ticket_id, other, score in sorted(close, key=lambda row: -row[2]):
        if other in others and len(found[ticket_id]) < k:
            found[ticket_id].append((others[other], score))
    return found
