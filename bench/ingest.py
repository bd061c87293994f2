"""Ingest throughput and latency against a trivial view, interleaved in one run, with the
background running as `make run` runs it.

gunicorn serves as `make run` starts it (2 threaded workers of `WEB_THREADS` threads); the inbox
relay, the Celery worker (default queue), one outbound worker per target and beat run beside it,
started with the very command lines of `make run` (rca_project/serve.py), so the ingest shares
the machine with the processing it causes. The run alternates rounds: a trivial JSON view
(`/healthz`, the baseline), then a share of N distinct ADF failures (each naming its own SQL
server, so none group into an incident) plus duplicates, at concurrency 32, and so on; each
kind's req/s is its requests over the time its own rounds took, so both see the same machine.
Prints req/s, p50/p95/p99 of each, the ratio, then checks in the database that every 202 has its
inbox row and that each distinct failure has exactly one ticket.

    .venv/bin/python bench/ingest.py [--failures 3000] [--duplicates 1000] [--rounds 4]
                                     [--stored 100000] [--concurrency 32]

`--stored N` loads N tickets (and 1.5 inbox rows per ticket) with COPY before the run, as
bench/api.py does. Uses its own database (`rca_bench`, recreated) and Redis database 14
(flushed), so it never touches the service's data. Targets (issue 17): at least 0.30 of the
trivial view's req/s and p99 under 100 ms.
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
    wait_for_workers,
    webhook_http_request,
)

BENCH_DB = os.environ.get("BENCH_DB", "rca_bench")
BENCH_REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "14"))
TOKEN = "bench-token-" + uuid.uuid4().hex
WORKERS = int(os.environ.get("WEB_CONCURRENCY", "2"))
TARGET_RATIO, TARGET_P99_MS = 0.30, 100.0


def prepare_environment() -> dict[str, str]:
    env = bench_environment(BENCH_DB, BENCH_REDIS_DB)
    env["WEBHOOK_TOKEN"] = TOKEN
    # Nothing to call out to: the analysis is rule-based, the fan-out targets are skipped.
    env.update(GEMINI_API_KEY="", JIRA_URL="", SLACK_BOT_TOKEN="")
    env["AZURE_STORAGE_CONNECTION_STRING"] = ""
    return env


def start_background(env: dict[str, str], logs: Path) -> dict[str, subprocess.Popen]:
    """The relay, the workers and beat with `make run`'s command lines (web and websockets
    aside); their output goes to `logs`."""
    from django.conf import settings

    from rca_project import serve

    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
    commands = serve._children(str(Path(sys.executable).parent))
    processes = {}
    for name, command in commands.items():
        if name in ("web", "websockets"):
            continue
        if name == "beat":  # its schedule file in the bench's own place
            command = [*command[:-1], str(logs / "celerybeat-schedule")]
        log = open(logs / f"{name}.log", "ab")  # noqa: SIM115 - kept open by the child
        processes[name] = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
    return processes


def http_request(method: str, path: str, body: bytes = b"") -> bytes:
    return webhook_http_request(method, path, TOKEN, body)


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
    # bench/storm.py measures a storm, where failures naming one server do group.
    payload["error_message"] = payload["error_message"].replace("sqlsrv-sales", f"sqlsrv-{index}")
    return json.dumps(payload).encode()


def verify(accepted: list[dict], distinct: int, stored: int) -> bool:
    from integrations.models import WebhookDelivery
    from tickets.models import Ticket

    tracking_ids = {a["tracking_id"] for a in accepted}
    stored_rows = set(
        str(t)
        for t in WebhookDelivery.objects.filter(tracking_id__in=tracking_ids).values_list(
            "tracking_id", flat=True
        )
    )
    ticket_ids = {a["ticket_id"] for a in accepted}
    tickets = Ticket.objects.filter(pipeline__startswith="pl_bench_").count()
    lost = len(tracking_ids - stored_rows)
    missing_tickets = len(ticket_ids - set(Ticket.objects.values_list("pk", flat=True)))
    print(
        f"check      202s {len(accepted)}, inbox rows found {len(stored_rows)}, lost {lost}; "
        f"distinct failures {distinct}, tickets {tickets} (+{stored:,} stored before), "
        f"missing {missing_tickets}"
    )
    return lost == 0 and missing_tickets == 0 and tickets == distinct


def pending_deliveries() -> int:
    from integrations.models import DeliveryStatus, WebhookDelivery

    return WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).count()


def web_cpu(server: subprocess.Popen) -> float:
    """User + system CPU seconds of the gunicorn master and its workers so far."""
    import psutil

    master = psutil.Process(server.pid)
    total = 0.0
    for process in [master, *master.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def uptime() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--failures", type=int, default=3000)
    parser.add_argument("--duplicates", type=int, default=1000)
    parser.add_argument("--baseline-requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--stored", type=int, default=0, help="tickets loaded before the run")
    parser.add_argument(
        "--no-background",
        action="store_true",
        help="the web server alone (no relay, worker or beat): the request path's own cost",
    )
    args = parser.parse_args()

    env = prepare_environment()
    setup_django(env)
    from django.db import connection

    if args.stored:
        from api import load

        load(args.stored, random.Random(5))
    connection.close()

    logs = Path(os.environ.get("BENCH_LOG_DIR", REPO / "var" / "bench-ingest"))
    logs.mkdir(parents=True, exist_ok=True)
    background = {} if args.no_background else start_background(env, logs)
    port = free_port()
    server = start_gunicorn(env, port, WORKERS)
    bodies = [failure_body(i) for i in range(args.failures)]
    duplicates = random.Random(7).choices(bodies, k=args.duplicates)
    mixed = bodies + duplicates
    random.Random(11).shuffle(mixed)
    ingest_requests = [http_request("POST", "/webhooks/adf/", body) for body in mixed]
    baseline_requests = [http_request("GET", "/healthz")] * args.baseline_requests
    baseline_results: list = []
    ingest_results: list = []
    baseline_time = ingest_time = 0.0
    baseline_cpu = ingest_cpu = 0.0
    ratios = []
    try:
        if background:
            wait_for_workers()
        load_before = uptime()
        asyncio.run(run_load(port, [http_request("GET", "/healthz")] * 200, args.concurrency))
        for round_index in range(args.rounds):
            share = slice(
                round_index * len(baseline_requests) // args.rounds,
                (round_index + 1) * len(baseline_requests) // args.rounds,
            )
            cpu = web_cpu(server)
            results, elapsed = asyncio.run(
                run_load(port, baseline_requests[share], args.concurrency)
            )
            baseline_cpu += web_cpu(server) - cpu
            baseline_results += results
            baseline_time += elapsed
            base_rps = len(results) / elapsed
            share = slice(
                round_index * len(ingest_requests) // args.rounds,
                (round_index + 1) * len(ingest_requests) // args.rounds,
            )
            cpu = web_cpu(server)
            results, elapsed = asyncio.run(run_load(port, ingest_requests[share], args.concurrency))
            ingest_cpu += web_cpu(server) - cpu
            ingest_results += results
            ingest_time += elapsed
            ratios.append(len(results) / elapsed / base_rps)
        load_after = uptime()
        backlog = pending_deliveries()
    finally:
        server.terminate()
        server.wait(timeout=20)
        for process in background.values():
            process.terminate()
        for process in background.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()

    running = "nothing else" if args.no_background else "relay, workers and beat"
    print(
        f"gunicorn {WORKERS} gthread workers x {os.environ.get('WEB_THREADS', 16)} threads, "
        f"concurrency {args.concurrency}, {args.rounds} rounds "
        f"interleaved; {running} running; {args.stored:,} tickets stored before"
    )
    print(f"load       {load_before} before, {load_after} after (1/5/15-min load averages)")
    base = summarize("baseline", baseline_results, baseline_time)
    ingest = summarize("ingest", ingest_results, ingest_time)
    statuses: dict[int, int] = {}
    for status, _, _ in ingest_results:
        statuses[status] = statuses.get(status, 0) + 1
    print(f"statuses   {statuses}")
    # CPU of the gunicorn processes per request: what the web server spends, whatever else
    # shares the machine (PostgreSQL's and Redis' share is not in it).
    base_cpu_ms = baseline_cpu / len(baseline_results) * 1000
    ingest_cpu_ms = ingest_cpu / len(ingest_results) * 1000
    print(
        f"web CPU    baseline {base_cpu_ms:.2f} ms/request, ingest {ingest_cpu_ms:.2f} ms/request "
        f"(ratio {base_cpu_ms / ingest_cpu_ms:.2f})"
    )
    ratio = ingest["rps"] / base["rps"]
    print(
        f"ratio      ingest/baseline req/s = {ratio:.2f} (rounds "
        f"{min(ratios):.2f} to {max(ratios):.2f}); target ≥ {TARGET_RATIO:.2f}: "
        f"{'met' if ratio >= TARGET_RATIO else 'NOT met'}; p99 target < {TARGET_P99_MS:.0f} ms: "
        f"{'met' if ingest['p99'] < TARGET_P99_MS else 'NOT met'}"
    )
    if background:
        print(f"background {backlog} deliveries still pending when the load ended")
    accepted = [json.loads(body) for status, _, body in ingest_results if status == 202]
    ok = verify(accepted, args.failures, args.stored)
    print("result     " + ("nothing lost, nothing duplicated" if ok else "MISMATCH"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
