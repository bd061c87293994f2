"""Ingest throughput and latency, served as in production (gunicorn, 2 sync workers).

In one run: a trivial JSON view on the same server (the baseline), then N distinct ADF failures
plus duplicates at concurrency 32. Prints req/s, p50/p95/p99 and the ratio to the baseline,
then checks in the database that every 202 has its inbox row and that each distinct failure
has exactly one ticket.

    .venv/bin/python bench/ingest.py [--failures 3000] [--duplicates 1000] [--concurrency 32]

Uses its own database (`rca_bench`, recreated) and Redis database 14 (flushed), so it never
touches the service's data.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    REPO,
    bench_environment,
    free_port,
    run_load,
    setup_django,
    start_gunicorn,
)

BENCH_DB = "rca_bench"
BENCH_REDIS_DB = 14
TOKEN = "bench-token-" + uuid.uuid4().hex
WORKERS = int(os.environ.get("WEB_CONCURRENCY", "2"))


def prepare_environment() -> dict[str, str]:
    env = bench_environment(BENCH_DB, BENCH_REDIS_DB)
    env["WEBHOOK_TOKEN"] = TOKEN
    return env


def start_server(env: dict[str, str], port: int) -> subprocess.Popen:
    return start_gunicorn(env, port, WORKERS)


def http_request(method: str, path: str, body: bytes = b"") -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        "Connection: close",
        f"X-Webhook-Token: {TOKEN}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def summarize(name: str, results, elapsed: float) -> dict[str, float]:
    latencies = sorted(r[1] * 1000 for r in results)
    q = statistics.quantiles(latencies, n=100)
    figures = {"rps": len(results) / elapsed, "p50": q[49], "p95": q[94], "p99": q[98]}
    print(
        f"{name:<10} {len(results):>6} req  {figures['rps']:>8.0f} req/s  "
        f"p50 {figures['p50']:6.1f} ms  p95 {figures['p95']:6.1f} ms  p99 {figures['p99']:6.1f} ms"
    )
    return figures


def failure_body(index: int) -> bytes:
    payload = json.loads((REPO / "tests" / "payloads" / "adf_failure.json").read_text())
    payload["run_id"] = str(uuid.uuid4())
    payload["pipeline"] = f"pl_bench_{index}"
    return json.dumps(payload).encode()


def verify(env: dict[str, str], accepted: list[dict], distinct: int) -> bool:
    setup_django(env)
    from integrations.models import WebhookDelivery
    from tickets.models import Ticket

    tracking_ids = {a["tracking_id"] for a in accepted}
    stored = set(
        str(t)
        for t in WebhookDelivery.objects.filter(tracking_id__in=tracking_ids).values_list(
            "tracking_id", flat=True
        )
    )
    ticket_ids = {a["ticket_id"] for a in accepted}
    tickets = Ticket.objects.count()
    lost = len(tracking_ids - stored)
    missing_tickets = len(ticket_ids - set(Ticket.objects.values_list("pk", flat=True)))
    print(
        f"check      202s {len(accepted)}, inbox rows found {len(stored)}, lost {lost}; "
        f"distinct failures {distinct}, tickets {tickets}, missing {missing_tickets}"
    )
    return lost == 0 and missing_tickets == 0 and tickets == distinct


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--failures", type=int, default=3000)
    parser.add_argument("--duplicates", type=int, default=1000)
    parser.add_argument("--baseline-requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()

    env = prepare_environment()
    port = free_port()
    server = start_server(env, port)
    try:
        warmup = [http_request("GET", "/healthz")] * 200
        asyncio.run(run_load(port, warmup, args.concurrency))
        baseline_results, baseline_time = asyncio.run(
            run_load(
                port, [http_request("GET", "/healthz")] * args.baseline_requests, args.concurrency
            )
        )
        bodies = [failure_body(i) for i in range(args.failures)]
        duplicates = random.Random(7).choices(bodies, k=args.duplicates)
        mixed = bodies + duplicates
        random.Random(11).shuffle(mixed)
        requests = [http_request("POST", "/webhooks/adf/", body) for body in mixed]
        ingest_results, ingest_time = asyncio.run(run_load(port, requests, args.concurrency))
    finally:
        server.terminate()
        server.wait(timeout=20)

    print(f"gunicorn {WORKERS} sync workers, concurrency {args.concurrency}")
    base = summarize("baseline", baseline_results, baseline_time)
    ingest = summarize("ingest", ingest_results, ingest_time)
    statuses: dict[int, int] = {}
    for status, _, _ in ingest_results:
        statuses[status] = statuses.get(status, 0) + 1
    print(f"statuses   {statuses}")
    print(f"ratio      ingest/baseline req/s = {ingest['rps'] / base['rps']:.2f}")
    accepted = [json.loads(body) for status, _, body in ingest_results if status == 202]
    ok = verify(env, accepted, args.failures)
    print("result     " + ("nothing lost, nothing duplicated" if ok else "MISMATCH"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
