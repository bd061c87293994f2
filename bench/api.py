"""REST API latency on 100,000 tickets, served as in production (gunicorn as `make run` starts
it, 2 threaded workers), authenticated with a JWT obtained from the API itself.

    .venv/bin/python bench/api.py [--tickets 100000] [--requests 300] [--concurrency 2]

Loads tickets spread over 90 days (varied status, severity, error class, source, team, SLA,
time to acknowledge, culprit, Slack message, recovery at the source; embeddings and error texts
of realistic size) and inbox rows, then measures p50/p95 of: the first page of the list, a
filtered page and the page after it, a ticket's detail, the stats of the last 30 days and the
incident stats (noise funnel, response times by team, source and culprit) of 30 days.
Target: p95 under 100 ms for each (the incident stats are printed, not held to it yet).
"stats cold" asks for a different period each time (never cached), read from the rollup;
"stats direct" does the same on a second server started with STATS_ROLLUP=false, which counts
every ticket and inbox row of the period (how the stats were computed before the rollup).

Uses its own database (`rca_bench_api`, recreated; BENCH_API_DB names another) and Redis
database 11 (flushed; BENCH_API_REDIS_DB names another).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    REPO,
    bench_environment,
    free_port,
    one_request,
    percentile,
    run_load,
    setup_django,
    start_gunicorn,
)

from analysis.classifier import ERROR_CLASSES as CLASSIFIER_ERROR_CLASSES

# Another name (BENCH_API_DB) lets two runs on one server keep their own data.
BENCH_DB = os.environ.get("BENCH_API_DB", "rca_bench_api")
BENCH_REDIS_DB = int(os.environ.get("BENCH_API_REDIS_DB", "11"))
WORKERS = int(os.environ.get("WEB_CONCURRENCY", "2"))
TARGET_P95_MS = 100.0
INFORMATION = {"/healthz", "stats direct", "incidents"}  # printed, not held to the target
USERNAME, PASSWORD = "bench-viewer", uuid.uuid4().hex
INCIDENTS = "/api/v1/stats/incidents/"

SOURCES = ["adf", "databricks", "airflow", "azure-monitor"]
SEVERITIES = [("Critical", "P1", 900), ("High", "P2", 3600), ("Medium", "P3", 14400),
              ("Low", "P4", 86400)]  # fmt: skip
SEVERITY_WEIGHTS = [5, 20, 45, 30]
ERROR_CLASSES = list(CLASSIFIER_ERROR_CLASSES)
TEAMS = ["sales", "finance", "marketing", "platform", "data-science", "ops", "hr", "risk"]
CULPRITS = [f"sql-server-{n:02d}.database.windows.net" for n in range(20)]
OUTCOMES = [("created", 45), ("duplicate", 25), ("correlated", 15), ("suppressed", 5),
            ("resolved", 5), ("ignored", 3), ("", 2)]  # fmt: skip


def load(count: int, rng: random.Random) -> None:
    """COPY the tickets and about 1.5 inbox rows per ticket, then ANALYZE."""
    import numpy as np
    from django.db import connection
    from django.utils import timezone
    from psycopg.types.json import Jsonb

    from integrations.models import WebhookDelivery
    from tickets.models import EMBEDDING_DIMENSIONS, Ticket

    now = timezone.now()
    vectors = np.random.default_rng(3).normal(size=(500, EMBEDDING_DIMENSIONS))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vector_texts = ["[" + ",".join(f"{v:.6f}" for v in row) + "]" for row in vectors]
    messages = [
        f"ErrorCode={code}, Failure happened on 'Sink' side. " + "detail " * rng.randint(20, 200)
        for code in ("SqlFailedToConnect", "UserErrorFailedFileOperation", "2200", "Timeout")
    ]
    pipelines = [f"pl_{rng.choice(TEAMS)}_{n:03d}" for n in range(500)]

    fields = list(Ticket._meta.concrete_fields)
    columns = ", ".join(f'"{f.column}"' for f in fields)
    defaults = {f.attname: f.get_default() for f in fields}
    started = time.perf_counter()
    with connection.cursor() as cursor:
        with cursor.connection.cursor().copy(
            f"COPY {Ticket._meta.db_table} ({columns}) FROM STDIN"
        ) as copy:
            for n in range(count):
                at = now - timedelta(seconds=rng.uniform(0, 90 * 86400))
                severity, priority, sla = rng.choices(SEVERITIES, SEVERITY_WEIGHTS)[0]
                deadline = at + timedelta(seconds=sla)
                status = rng.choices(["acknowledged", "open", "in_progress"], [75, 15, 10])[0]
                ack_seconds = None
                if status == "acknowledged":
                    ack_seconds = int(min(rng.lognormvariate(7.5, 1.2), 30 * 86400))
                    sla_status = "Met" if ack_seconds <= sla else "Breached"
                else:
                    sla_status = "Breached" if deadline < now else "Pending"
                source = rng.choice(SOURCES)
                key = uuid.uuid4().hex
                values = {
                    **defaults,
                    "id": f"{source[:3].upper()}-{at:%Y%m%dT%H%M%S}-{key[:6]}",
                    "timestamp": at,
                    "pipeline": rng.choice(pipelines),
                    "run_id": f"{source}:{key}",
                    "rca_result": "The sink refused the connection. " * 10,
                    "recommendations": ["Check the firewall", "Rotate the credentials"],
                    "confidence": 0.7,
                    "severity": severity,
                    "priority": priority,
                    "error_type": rng.choice(ERROR_CLASSES),
                    "affected_entity": {"factory": "adf-prod", "activity": "Copy"},
                    "status": status,
                    "sla_seconds": sla,
                    "sla_status": sla_status,
                    "sla_deadline": deadline,
                    "finops_team": rng.choice(TEAMS),
                    "finops_owner": "on-call",
                    "itsm_ticket_id": f"OPS-{n}" if rng.random() < 0.6 else "",
                    "ack_ts": at + timedelta(seconds=ack_seconds) if ack_seconds else None,
                    "ack_user": "maria" if ack_seconds else "",
                    "ack_seconds": ack_seconds,
                    "processing_mode": source,
                    "source": source,
                    "fingerprint": key[:16],
                    "occurrence_count": (seen := rng.choices([1, 2, 5, 20], [80, 12, 6, 2])[0]),
                    "first_seen": at,
                    # Seen once: its `last_seen` is its `timestamp`, as a new ticket's is.
                    "last_seen": at if seen == 1 else at + timedelta(minutes=rng.randint(1, 600)),
                    "error_message": rng.choice(messages),
                    "rca_source": "rules",
                    "rca_note": "rule-based: no GEMINI_API_KEY configured",
                    "analysed_at": at,
                    "tracking_id": uuid.uuid4(),
                    "embedding": rng.choice(vector_texts),
                    "embedding_model": "bench",
                    "updated_at": at,
                    # What the incident stats break down: a named dependency for some, the
                    # Slack message, the source reporting the failure over.
                    "culprit": rng.choice(CULPRITS) if rng.random() < 0.3 else "",
                    "slack_ts": f"1700000000.{n:06d}" if rng.random() < 0.5 else "",
                    "resolved_at_source_at": (
                        at + timedelta(seconds=rng.randint(60, 7200))
                        if rng.random() < 0.4
                        else None
                    ),
                }
                copy.write_row(
                    [
                        Jsonb(values[f.attname])
                        if isinstance(values[f.attname], dict | list)
                        else values[f.attname]
                        for f in fields
                    ]
                )
        inbox_fields = [
            f for f in WebhookDelivery._meta.concrete_fields if f.attname not in ("id",)
        ]
        inbox_columns = ", ".join(f'"{f.column}"' for f in inbox_fields)
        raw_body = json.dumps({"pipeline": "pl_x", "error_message": "x" * 800})
        outcome_names, outcome_weights = zip(*OUTCOMES, strict=True)
        with cursor.connection.cursor().copy(
            f"COPY {WebhookDelivery._meta.db_table} ({inbox_columns}) FROM STDIN"
        ) as copy:
            for _ in range(count * 3 // 2):
                outcome = rng.choices(outcome_names, outcome_weights)[0]
                received = now - timedelta(seconds=rng.uniform(0, 90 * 86400))
                row = {
                    "tracking_id": uuid.uuid4(),
                    "source": rng.choice(SOURCES),
                    "received_at": received,
                    "raw_body": raw_body,
                    "headers": Jsonb({"Content-Type": "application/json"}),
                    "remote_addr": "10.0.0.1",
                    "status": "rejected" if not outcome else "processed",
                    "outcome": outcome,
                    "reason": "" if outcome else "missing required field 'run_id'",
                    "event": Jsonb({"pipeline": "pl_x"}),
                    "ticket_id": None,
                    "suppressed_by_id": None,
                    "queued_at": received if outcome else None,
                    "attempts": 1,
                    "processed_at": received,
                }
                copy.write_row([row[f.attname] for f in inbox_fields])
        cursor.execute("VACUUM ANALYZE tickets_ticket")
        cursor.execute("VACUUM ANALYZE integrations_webhookdelivery")
    fold_stats()
    print(
        f"loaded     {count:,} tickets and {count * 3 // 2:,} inbox rows"
        f" in {time.perf_counter() - started:.1f} s"
    )
    _viewer()


def fold_stats() -> None:
    """What beat does every minute: fold the rollups' pending changes (the COPY above left one
    per ticket and inbox row)."""
    from django.db import connection

    from integrations import inbox_stats
    from tickets import rollup

    started = time.perf_counter()
    folded = rollup.fold() + inbox_stats.fold()
    with connection.cursor() as cursor:
        for table in ("tickets_ticketstatsday", "integrations_inboxstatsday"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    print(f"folded     {folded:,} rollup changes in {time.perf_counter() - started:.1f} s")


def _viewer() -> None:
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user(USERNAME, password=PASSWORD)
    user.groups.add(Group.objects.get_or_create(name="viewer")[0])


def reused_environment() -> dict[str, str]:
    """The last run's database, migrated to the current schema (indexes included)."""
    from rca_project import local_services

    env = dict(os.environ, DJANGO_SETTINGS_MODULE="rca_project.settings", LOG_LEVEL="WARNING")
    env.setdefault("DATABASE_URL", local_services.embedded_postgres_url(BENCH_DB))
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=REPO, env=env, check=True
    )
    return env


def start_server(env: dict[str, str], port: int) -> subprocess.Popen:
    return start_gunicorn(env, port, WORKERS)


def stats_period(index: int, path: str = "/api/v1/stats/") -> str:
    until = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=index)
    since = until - timedelta(days=30)
    return f"{path}?since={since:%Y-%m-%dT%H:%M:%SZ}&until={until:%Y-%m-%dT%H:%M:%SZ}"


def http_request(method: str, path: str, *, token: str = "", body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def call(port: int, request: bytes) -> tuple[int, bytes]:
    status, _, body = asyncio.run(one_request(port, request))
    return status, body


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300, help="per endpoint")
    parser.add_argument("--concurrency", type=int, default=WORKERS)
    parser.add_argument(
        "--reuse", action="store_true", help="measure again on the data of the last run"
    )
    args = parser.parse_args()

    env = reused_environment() if args.reuse else bench_environment(BENCH_DB, BENCH_REDIS_DB)
    env["API_USER_RATE"] = "1000000/min"  # measure latency, not the rate limit
    setup_django(env)
    from django.contrib.auth.models import User

    from tickets.models import Ticket

    if args.reuse:
        User.objects.filter(username=USERNAME).delete()
        _viewer()
        fold_stats()
    else:
        load(args.tickets, random.Random(42))

    sample_ids = list(Ticket.objects.order_by("?").values_list("id", flat=True)[: args.requests])

    port, direct_port = free_port(), free_port()
    server = start_server(env, port)
    direct = start_server({**env, "STATS_ROLLUP": "false"}, direct_port)
    try:
        login = json.dumps({"username": USERNAME, "password": PASSWORD}).encode()
        status, body = call(port, http_request("POST", "/api/v1/token/", body=login))
        assert status == 200, body
        token = json.loads(body)["access"]
        filtered = "/api/v1/tickets/?status=open&severity=High&source=adf"
        status, body = call(port, http_request("GET", filtered, token=token))
        assert status == 200, body
        cases = {
            "/healthz":   ["/healthz"] * args.requests,  # baseline: no auth, no database
            "list":       ["/api/v1/tickets/"] * args.requests,
            "filtered":   [filtered] * args.requests,
            "detail":     [f"/api/v1/tickets/{tid}/" for tid in sample_ids],
            "stats 30d":  ["/api/v1/stats/"] * args.requests,
            # A different period each time: the uncached cost.
            "stats cold": [stats_period(i) for i in range(args.requests)],
            # The same, every ticket of the period counted (STATS_ROLLUP=false).
            "stats direct": [stats_period(args.requests + i) for i in range(args.requests)],
            # Never cached: a period of its own each time, like "stats cold".
            "incidents": [stats_period(i, INCIDENTS) for i in range(args.requests)],
        }  # fmt: skip
        if json.loads(body)["next"]:  # the page after the filtered one, through its cursor
            link = urlsplit(json.loads(body)["next"])
            cases["next page"] = [f"{link.path}?{link.query}"] * args.requests
        # Warm-up periods of their own: a measured period must not be in the cache yet.
        spare = iter(stats_period(2 * args.requests + i) for i in range(1000))
        uncached = ("stats cold", "stats direct")
        for each in (port, direct_port):
            warmup = [
                http_request("GET", next(spare) if name in uncached else paths[0], token=token)
                for name, paths in cases.items()
            ] * 10
            asyncio.run(run_load(each, warmup, args.concurrency))

        figures = {}
        for name, paths in cases.items():
            requests = [http_request("GET", path, token=token) for path in paths]
            results, _ = asyncio.run(
                run_load(
                    direct_port if name == "stats direct" else port, requests, args.concurrency
                )
            )
            bad = [r for r in results if r[0] != 200]
            if bad:
                raise SystemExit(f"{name}: {len(bad)} answers were not 200: {bad[0][2][:300]!r}")
            latencies = sorted(r[1] * 1000 for r in results)
            figures[name] = (percentile(latencies, 50), percentile(latencies, 95))
    finally:
        for each in (server, direct):
            each.terminate()
            each.wait(timeout=20)

    print(
        f"gunicorn {WORKERS} gthread workers, concurrency {args.concurrency},"
        f" {args.requests} requests per endpoint, JWT auth"
    )
    for name, (p50, p95) in figures.items():
        print(f"{name:<10} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms")
    gated = {name: p95 for name, (_, p95) in figures.items() if name not in INFORMATION}
    worst = max(gated.values())
    ok = worst < TARGET_P95_MS
    print(
        f"result     worst p95 {worst:.1f} ms: "
        + (f"under {TARGET_P95_MS:.0f} ms" if ok else f"target {TARGET_P95_MS:.0f} ms MISSED")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
