"""Similar past incidents: nearest tickets by embedding (pgvector, HNSW), same model only."""

from __future__ import annotations

from typing import TypedDict

from django.conf import settings

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
