"""CPU and SQL statements per operation, measured in-process (meaningful on a loaded machine,
unlike wall-clock rates): a webhook through the whole Django stack, and the background
processing of one new failure (analysis with Gemini on a local server, then the fan-out
scheduling), as the worker runs it.

    .venv/bin/python bench/cpu_per_op.py [--count 300] [--profile] [--log-level INFO]

Prints CPU ms per op (`time.process_time`), SQL statements per op, the CPU its PostgreSQL
backend spent per op (read from /proc, so for a server on this machine); then (unless
profiling) the CPU per webhook and per `/healthz` (the baseline), both called through the WSGI
application as gunicorn calls it, in blocks that alternate so both see the same machine, and
their ratio; then the PostgreSQL sessions opened per ticket by a real Celery worker (solo pool)
and that worker's CPU per ticket, and with --profile the top functions by self time of each
phase. `--log-level INFO` logs the in-process phases as `make run` does by default, to
/dev/null, so the log lines' formatting and filters are counted (gunicorn's access line is not:
no gunicorn here; the worker logs at WARNING).
Uses its own database (`rca_bench_cpu`) and Redis database 13.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import os
import pstats
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, bench_environment, setup_django

from tests.fakes.gemini_api import FakeGemini

TOKEN = "bench-token-" + uuid.uuid4().hex


class StatementCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def backend_cpu_seconds() -> float:
    """CPU time of this connection's PostgreSQL backend process (a local server only)."""
    import psutil
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        return sum(psutil.Process(pid).cpu_times()[:2])
    except psutil.Error:
        return float("nan")


@contextmanager
def measured(label: str, ops: int, profile: bool, sort: str = "tottime", limit: int = 15):
    from django.db import connection

    counter = StatementCounter()
    profiler = cProfile.Profile(time.process_time) if profile else None
    backend_started = backend_cpu_seconds()
    started = time.process_time()
    with connection.execute_wrapper(counter):
        if profiler:
            profiler.enable()
        yield
        if profiler:
            profiler.disable()
    cpu = time.process_time() - started
    backend = backend_cpu_seconds() - backend_started
    print(
        f"{label:<10} {cpu / ops * 1000:6.2f} ms CPU/op, {counter.count / ops:5.1f} SQL/op, "
        f"PostgreSQL {backend / ops * 1000:.2f} ms CPU/op"
    )
    if profiler:
        if sort == "tottime":
            print_self_times(pstats.Stats(profiler), ops, limit)
        else:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(sort).print_stats(limit)
            print("\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip()))


def print_self_times(stats: pstats.Stats, ops: int, limit: int) -> None:
    """The top functions by self time: ms per op (under the profiler, which inflates every
    figure: compare the shares) and share of all self time."""
    entries = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in entries.values()) or 1.0
    ranked = sorted(entries.items(), key=lambda item: -item[1][2])[:limit]
    print(f"{'self ms/op':>10} {'share':>6}  function")
    for (filename, line, name), entry in ranked:
        where = filename.split("site-packages/")[-1].replace(str(REPO) + "/", "")
        print(f"{entry[2] / ops * 1000:10.2f} {entry[2] / total:6.1%}  {where}:{line}({name})")


def failure_body(index: int) -> bytes:
    template = json.loads((REPO / "tests" / "payloads" / "adf_failure.json").read_text())
    body = {**template, "run_id": str(uuid.uuid4()), "pipeline": f"pl_cpu_{index}"}
    # Each names its own server, so none group into an incident (as in bench/ingest.py).
    body["error_message"] = body["error_message"].replace("sqlsrv-sales", f"sqlsrv-{index}")
    return json.dumps(body).encode()


def wsgi_call(environ: dict[str, object]) -> int:
    """One request through `rca_project.wsgi.application` as gunicorn calls it; its status."""
    from rca_project.wsgi import application

    statuses: list[str] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], object]:
        statuses.append(status)
        return lambda data: None

    response = application(environ, start_response)
    try:
        b"".join(response)  # read to its end, as gunicorn does
    finally:
        response.close()
    return int(statuses[0].split()[0])


def wsgi_environ(method: str, path: str, body: bytes = b"", token: str = "") -> dict[str, object]:
    environ: dict[str, object] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    if body:
        environ.update(CONTENT_TYPE="application/json", CONTENT_LENGTH=str(len(body)))
    if token:
        environ["HTTP_X_WEBHOOK_TOKEN"] = token
    return environ


def against_baseline(rounds: int, block: int) -> None:
    """CPU per new ADF failure and per `/healthz` (the baseline), both through the WSGI
    application as gunicorn calls it, in alternating blocks of `block` requests so that both
    see the same machine; the bodies are built before each block's clock starts."""
    webhook_ms: list[float] = []
    healthz_ms: list[float] = []
    for round_index in range(rounds):
        bodies = [failure_body(200_000 + round_index * block + i) for i in range(block)]
        environs = [wsgi_environ("POST", "/webhooks/adf/", body, TOKEN) for body in bodies]
        started = time.process_time()
        for environ in environs:
            assert wsgi_call(environ) == 202
        webhook_ms.append((time.process_time() - started) / block * 1000)
        environs = [wsgi_environ("GET", "/healthz") for _ in range(block)]
        started = time.process_time()
        for environ in environs:
            assert wsgi_call(environ) == 200
        healthz_ms.append((time.process_time() - started) / block * 1000)
    ratios = sorted(h / w for h, w in zip(healthz_ms, webhook_ms, strict=True))
    webhook, healthz = statistics.median(webhook_ms), statistics.median(healthz_ms)
    print(
        f"baseline   webhook {webhook:.3f} ms CPU (rounds {min(webhook_ms):.3f}-"
        f"{max(webhook_ms):.3f}), /healthz {healthz:.3f} ms (rounds {min(healthz_ms):.3f}-"
        f"{max(healthz_ms):.3f}); /healthz over webhook {statistics.median(ratios):.3f} "
        f"(rounds {ratios[0]:.3f}-{ratios[-1]:.3f}), {rounds} rounds of {block}"
    )


def postgres_sessions(database: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", [database])
        return cursor.fetchone()[0]


def worker_phase(env: dict[str, str], count: int) -> None:
    """A real worker (solo pool) drains `count` deliveries: its CPU and the PostgreSQL sessions
    it opened, per ticket. It reads the default queue only (the outbound tasks wait on their
    targets' queues), so this is the processing plus Celery's own cost per task."""
    import psutil
    from django.db import connection

    from integrations.ingest import ingest_delivery
    from integrations.models import DeliveryStatus, WebhookDelivery
    from integrations.relay import InboxRelay

    worker = subprocess.Popen(
        [
            *(str(Path(sys.executable).parent / "celery"), "-A", "rca_project", "worker"),
            *("--pool", "solo", "--loglevel", "WARNING", "--without-gossip", "--without-mingle"),
        ],
        cwd=REPO,
        env=env,
    )
    try:
        from integrations.circuit import redis_client
        from integrations.tasks import ping

        key = f"bench:ping:{uuid.uuid4().hex}"
        ping.delay(key)
        deadline = time.monotonic() + 120
        while not redis_client().get(key) and time.monotonic() < deadline:
            time.sleep(0.1)
        process = psutil.Process(worker.pid)
        database = connection.settings_dict["NAME"]
        # The inbox relay hands the deliveries to the worker (a thread here, started before the
        # sessions are counted: its own two sessions are not the worker's).
        relay = InboxRelay().start_thread()
        time.sleep(0.5)
        sessions_before = postgres_sessions(database)
        cpu_before = sum(process.cpu_times()[:2])
        for index in range(count):
            ingest_delivery("adf", failure_body(100_000 + index))
        deadline = time.monotonic() + 900
        while WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).exists():
            if time.monotonic() > deadline:
                raise SystemExit("worker did not finish")
            time.sleep(0.2)
        cpu = sum(process.cpu_times()[:2]) - cpu_before
        sessions = postgres_sessions(database) - sessions_before
        relay.stop()
        print(
            f"worker     {cpu / count * 1000:6.2f} ms CPU/ticket (celery solo process), "
            f"{sessions / count:.2f} PostgreSQL sessions/ticket"
        )
    finally:
        worker.terminate()
        worker.wait(timeout=60)


def quiet_log_output() -> None:
    """The root handler (settings.LOGGING) writes to /dev/null: formatted and filtered as in
    the service, not printed."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--no-worker", action="store_true")
    parser.add_argument("--sort", default="tottime", help="tottime (self) or cumulative")
    parser.add_argument("--limit", type=int, default=15)
    parser.add_argument("--database", default="rca_bench_cpu", help="its own database's name")
    parser.add_argument("--redis-db", type=int, default=13)
    parser.add_argument(
        "--log-level", default="WARNING", help="INFO logs each webhook as `make run` does"
    )
    parser.add_argument(
        "--baseline-rounds",
        type=int,
        default=20,
        help="rounds of webhooks alternating with /healthz (0: none; never under --profile)",
    )
    parser.add_argument("--baseline-block", type=int, default=50)
    parser.add_argument(
        "--ingest-only", action="store_true", help="measure the webhook only (no processing)"
    )
    args = parser.parse_args()

    with FakeGemini() as gemini:
        env = bench_environment(args.database, args.redis_db)
        env.update(
            GEMINI_API_KEY="bench-key",
            GEMINI_BASE_URL=gemini.url,
            EMBEDDING_BACKEND="local",
            WEBHOOK_TOKEN=TOKEN,
            # Fan-out targets are not configured: the worker phase measures the analysis.
            JIRA_URL="",
            SLACK_BOT_TOKEN="",
            AZURE_STORAGE_CONNECTION_STRING="",
            LOG_LEVEL=args.log_level,
        )
        setup_django(env)
        import rca_project.wsgi  # noqa: F401  (its django.setup() configures logging again)

        if logging.getLogger().getEffectiveLevel() < logging.WARNING:
            quiet_log_output()
        from django.test import Client
        from django.utils import timezone

        from integrations import processing
        from integrations.models import WebhookDelivery

        client = Client(HTTP_HOST="127.0.0.1")
        headers = {"X-Webhook-Token": TOKEN}

        # warm up (imports, the embedding model, the Gemini client). Nothing relays the inbox
        # here: the in-process phases run the pending deliveries themselves.
        def pending() -> list[int]:
            return list(
                WebhookDelivery.objects.filter(status="pending")
                .order_by("pk")
                .values_list("pk", flat=True)
            )

        for index in range(5):
            client.post("/webhooks/adf/", failure_body(-index), "application/json", headers=headers)
        for delivery_id in pending():
            processing.process_delivery(delivery_id)

        with measured("ingest", args.count, args.profile, args.sort, args.limit):
            for index in range(args.count):
                response = client.post(
                    "/webhooks/adf/", failure_body(index), "application/json", headers=headers
                )
                assert response.status_code == 202, response.content
        if args.baseline_rounds and not args.profile:
            against_baseline(args.baseline_rounds, args.baseline_block)
        if args.ingest_only:
            return 0
        ids = pending()
        # Marked queued, as the inbox relay marks what it publishes: each call then processes
        # a batch, as a worker's task does, when processing batches (the rest find theirs done).
        WebhookDelivery.objects.filter(pk__in=ids).update(queued_at=timezone.now())
        with measured("process", len(ids), args.profile, args.sort, args.limit):
            for delivery_id in ids:
                processing.process_delivery(delivery_id)
        assert not WebhookDelivery.objects.filter(pk__in=ids, status="pending").exists()
        if not args.no_worker:
            worker_phase({**env, "LOG_LEVEL": "WARNING"}, args.count)
    return 0


if __name__ == "__main__":
    sys.exit(main())
