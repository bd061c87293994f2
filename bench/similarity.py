"""Similar-ticket search on 100,000 tickets: top-5 latency with the HNSW index and, in the same
run, with an exact scan (index disabled). Also prints the index's recall against the exact answer.

    .venv/bin/python bench/similarity.py [--tickets 100000] [--queries 200]

Uses its own database (`rca_bench_similarity`, recreated). Vectors are drawn around 2,000
cluster centres (failure kinds) with noise, unit length, as the embedding backends produce.
The query is the service's own (`Ticket.objects.nearest`).
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import bench_environment, percentile, setup_django

DIMS = 256
MODEL = "wordllama-l2_supercat-256"


def vectors(count: int, centres: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    picks = centres[rng.integers(0, len(centres), size=count)]
    noisy = picks + rng.normal(0, 0.35 / np.sqrt(DIMS), size=(count, DIMS))
    return noisy / np.linalg.norm(noisy, axis=1, keepdims=True)


def load_tickets(count: int, centres: np.ndarray, rng: np.random.Generator) -> float:
    from django.db import connection
    from django.utils import timezone
    from psycopg.types.json import Jsonb

    from tickets.models import Ticket

    fields = [f for f in Ticket._meta.concrete_fields]
    columns = ", ".join(f'"{f.column}"' for f in fields)
    now = timezone.now()
    base = {f.attname: f.get_default() for f in fields}
    base.update(
        pipeline="pl_bench",
        source="adf",
        processing_mode="adf",
        timestamp=now,
        first_seen=now,
        last_seen=now,
        updated_at=now,
        status="acknowledged",
        rca_source="rules",
        rca_result="bench",
        embedding_model=MODEL,
    )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX IF EXISTS ticket_embedding_hnsw")
        with cursor.connection.cursor().copy(
            f"COPY {Ticket._meta.db_table} ({columns}) FROM STDIN"
        ) as copy:
            for chunk_start in range(0, count, 10_000):
                block = vectors(min(10_000, count - chunk_start), centres, rng)
                for row_vector in block:
                    key = uuid.uuid4().hex
                    values = {
                        **base,
                        "id": f"ADF-BENCH-{key[:20]}",
                        "run_id": f"bench:{key}",
                        "fingerprint": key[:16],
                        "embedding": "[" + ",".join(f"{v:.6f}" for v in row_vector) + "]",
                    }
                    copy.write_row(
                        [
                            Jsonb(values[f.attname])
                            if isinstance(values[f.attname], dict | list)
                            else values[f.attname]
                            for f in fields
                        ]
                    )
    load_seconds = time.perf_counter() - started
    print(f"loaded     {count:,} tickets in {load_seconds:.1f} s")
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '512MB'")
        cursor.execute(
            "CREATE INDEX ticket_embedding_hnsw ON tickets_ticket "
            "USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
        )
        cursor.execute("ANALYZE tickets_ticket")
    print(f"hnsw index built in {time.perf_counter() - started:.1f} s")
    return load_seconds


def measure(queries: np.ndarray, exact: bool) -> tuple[list[float], list[list[str]]]:
    from django.db import connection, transaction

    from tickets.models import Ticket

    latencies, results = [], []
    with transaction.atomic():
        if exact:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL enable_indexscan = off")
        for query in queries:
            vector = [float(v) for v in query]
            started = time.perf_counter()
            found = Ticket.objects.nearest(vector, MODEL, k=5, min_similarity=0.0)
            latencies.append((time.perf_counter() - started) * 1000)
            results.append([t.pk for t, _ in found])
    return sorted(latencies), results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()

    env = bench_environment("rca_bench_similarity", 13)
    setup_django(env)
    rng = np.random.default_rng(42)
    centres = rng.normal(size=(2000, DIMS))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    load_tickets(args.tickets, centres, rng)
    queries = vectors(args.queries, centres, rng)
    measure(queries[:20], exact=False)  # warm the index pages

    hnsw, hnsw_results = measure(queries, exact=False)
    exact, exact_results = measure(queries, exact=True)
    recall = np.mean(
        [len(set(a) & set(b)) / 5 for a, b in zip(hnsw_results, exact_results, strict=True)]
    )
    for name, latencies in (("hnsw", hnsw), ("exact scan", exact)):
        print(
            f"{name:<10} {len(latencies)} top-5 queries  p50 {percentile(latencies, 50):7.2f} ms  "
            f"p95 {percentile(latencies, 95):7.2f} ms"
        )
    ratio = percentile(exact, 95) / percentile(hnsw, 95)
    print(f"speed-up   exact p95 / hnsw p95 = {ratio:.1f}x; hnsw recall@5 vs exact = {recall:.3f}")
    target = percentile(hnsw, 95) < 20
    print("result     " + ("p95 under 20 ms with the index" if target else "p95 target MISSED"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
