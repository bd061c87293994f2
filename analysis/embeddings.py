"""Embeddings of a ticket's failure, behind one interface.

Two backends: a local static-embedding model shipped inside its PyPI package (`wordllama`, no
download at run time, ~0.2 ms per text) and Gemini's embedding model when a key is set. Both
produce `EMBEDDING_DIMENSIONS`-long unit vectors; each vector is stored with the name of the
model that made it, and only vectors of the same model are ever compared.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from django.conf import settings

from analysis.gemini import gemini_client
from analysis.rules.reading import innermost_error, without_boilerplate
from tickets.models import EMBEDDING_DIMENSIONS

MAX_TEXT_CHARS = 4000


class EmbeddingError(Exception):
    """The backend could not embed (API down, quota...)."""


class EmbeddingBackend(Protocol):
    name: str

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


def _unit(vector: Sequence[float]) -> list[float]:
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [float(v) / norm for v in vector]


class LocalEmbeddingBackend:
    """WordLlama `l2_supercat` at 256 dimensions; its weights ship in the wheel."""

    name = f"wordllama-l2_supercat-{EMBEDDING_DIMENSIONS}"

    @functools.cached_property
    def _model(self):
        import wordllama
        from wordllama import WordLlama

        # The package keeps its files under its own folder; point the loader there so it never
        # tries to download (it would fail offline).
        package_dir = Path(wordllama.__file__).parent
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return WordLlama.load(
                cache_dir=package_dir, dim=EMBEDDING_DIMENSIONS, disable_download=True
            )

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self._model.embed([text[:MAX_TEXT_CHARS] for text in texts])
        return [_unit(vector.tolist()) for vector in vectors]


class GeminiEmbeddingBackend:
    """Gemini embeddings, truncated to our dimension (Matryoshka) and re-normalized."""

    def __init__(self, client, model: str) -> None:
        self._client = client
        self._model = model
        self.name = f"gemini-{model}-{EMBEDDING_DIMENSIONS}"

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        from google.genai import errors, types

        if not texts:
            return []
        try:
            response = self._client.models.embed_content(
                model=self._model,
                contents=[text[:MAX_TEXT_CHARS] for text in texts],
                config=types.EmbedContentConfig(output_dimensionality=EMBEDDING_DIMENSIONS),
            )
        except (errors.APIError, OSError) as exc:
            raise EmbeddingError(f"Gemini embeddings failed: {exc}") from exc
        except Exception as exc:  # httpx timeouts and transport errors
            raise EmbeddingError(f"Gemini embeddings failed: {type(exc).__name__}") from exc
        vectors = [embedding.values or [] for embedding in response.embeddings or []]
        if len(vectors) != len(texts) or any(len(v) != EMBEDDING_DIMENSIONS for v in vectors):
            raise EmbeddingError("Gemini embeddings: unexpected response shape")
        return [_unit(v) for v in vectors]


@functools.cache
def local_backend() -> LocalEmbeddingBackend:
    return LocalEmbeddingBackend()


def configured_backend() -> EmbeddingBackend:
    """The backend settings ask for: Gemini when a key is set (`auto`), else the local model."""
    choice = settings.EMBEDDING_BACKEND
    if choice == "gemini" or (choice == "auto" and settings.GEMINI_API_KEY):
        return GeminiEmbeddingBackend(gemini_client(), settings.GEMINI_EMBEDDING_MODEL)
    return local_backend()


def failure_text(error_type: str, error_message: str) -> str:
    """What is embedded for a ticket: the kind of failure and the error its (redacted) message
    states, then the rest of the message without what many failures share whatever their cause
    (stack frames, traceback headers, the platform's own log lines).

    An Airflow task's traceback is mostly the same Airflow and operator frames for every
    failure, as a Databricks notebook's is py4j's and the JVM's: embedded whole, a database
    refusing connections and an API answering 503 scored 0.95 in a user trial (the local model
    averages every token; Gemini reads the first `MAX_TEXT_CHARS`, which a long traceback fills
    with frames). The stated error is
    not repeated in the rest: twice, it would outweigh the class. What is left of its line
    (the exception's package, "psycopg2.", which the stated error drops) stays."""
    stated = " ".join(innermost_error(error_message).split())
    rest = " ".join(without_boilerplate(error_message).split())
    if stated:
        rest = " ".join(rest.replace(stated, " ").split())
    return f"{error_type}: {stated}\n{rest}".strip()[:MAX_TEXT_CHARS]
