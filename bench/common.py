"""Shared set-up for the benchmarks: a database and a Redis database of their own."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def bench_environment(database: str, redis_db: int) -> dict[str, str]:
    """Environment for a benchmark: a fresh, migrated `database` (on the embedded server unless
    DATABASE_URL names another) and Redis database `redis_db`, emptied."""
    import redis

    from rca_project import local_services

    env = dict(os.environ)
    if "DATABASE_URL" not in env:
        import psycopg

        admin = local_services.embedded_postgres_url("postgres")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{database}"')
        env["DATABASE_URL"] = local_services.embedded_postgres_url(database)
    redis_url = env.get("REDIS_URL") or local_services.default_redis_url()
    if redis_url.startswith("redis://"):
        redis_url = redis_url.rsplit("/", 1)[0] + f"/{redis_db}"
    env.update(
        REDIS_URL=redis_url, DJANGO_SETTINGS_MODULE="rca_project.settings", LOG_LEVEL="WARNING"
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=REPO, env=env, check=True
    )
    redis.Redis.from_url(redis_url).flushdb()
    return env


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


def percentile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * (len(sorted_values) - 1))))
    return sorted_values[index]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_worker(env: dict[str, str], queues: list[str]) -> subprocess.Popen:
    """One Celery worker of 2 processes consuming `queues`."""
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "celery"),
            "-A",
            "rca_project",
            "worker",
            "--concurrency",
            "2",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "-Q",
            ",".join(queues),
        ],
        cwd=REPO,
        env=env,
    )


def start_outbound_workers(
    env: dict[str, str], names: tuple[str, ...] | None = None
) -> list[subprocess.Popen]:
    """One thread-pool worker per outbound target (every target, or those in `names`), with
    `make run`'s own command lines, logging warnings only. Needs Django set up (the target
    registry reads settings)."""
    from rca_project import serve

    commands = serve.outbound_workers(str(Path(sys.executable).parent))
    return [
        subprocess.Popen([*command[:-1], "WARNING"], cwd=REPO, env=env)
        for name, command in commands.items()
        if names is None or name.removeprefix("outbound-") in names
    ]


def wait_for_workers(queues: list[str] | None = None, timeout: float = 180) -> None:
    """Return once a worker answers on each of `queues` (the default queue when None), so a
    bench's load does not start while its workers are still booting."""
    from django.conf import settings

    from integrations.circuit import redis_client
    from integrations.tasks import ping

    key = f"bench:ping:{uuid.uuid4().hex}"
    queues = queues or [settings.CELERY_TASK_DEFAULT_QUEUE]
    for queue in queues:
        ping.apply_async(args=[key], queue=queue)
    deadline = time.monotonic() + timeout
    while int(redis_client().get(key) or 0) < len(queues):
        if time.monotonic() > deadline:
            raise SystemExit(f"the Celery workers did not all start ({', '.join(queues)})")
        time.sleep(0.2)


def start_relay(env: dict[str, str]) -> subprocess.Popen:
    """The inbox relay as `make run` starts it: without it no accepted webhook reaches the
    queue."""
    return subprocess.Popen(
        [sys.executable, str(REPO / "manage.py"), "relay_inbox"], cwd=REPO, env=env
    )


def webhook_http_request(method: str, path: str, token: str, body: bytes = b"") -> bytes:
    """One request on a connection of its own (`Connection: close`), as a sender posts each
    failure, with the webhook token (a trivial view ignores it)."""
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        "Connection: close",
        f"X-Webhook-Token: {token}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def start_gunicorn(env: dict[str, str], port: int, workers: int = 2) -> subprocess.Popen:
    """Serve the app as `make run` and docker-compose.yml do (`rca_project.gunicorn_conf`:
    threaded workers, `WEB_THREADS` each), with `workers` processes, and wait until it accepts
    connections. The access log goes where the bench's own output does not."""
    from rca_project.serve import web_command

    server = subprocess.Popen(
        [
            *web_command(str(Path(sys.executable).parent), "127.0.0.1", port),
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env={**env, "WEB_CONCURRENCY": str(workers)},
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("gunicorn did not start")


async def one_request(port: int, request: bytes) -> tuple[int, float, bytes]:
    """One HTTP/1.1 request on a fresh connection: (status, seconds, body)."""
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    raw = await reader.read()
    writer.close()
    elapsed = time.perf_counter() - started
    head, _, body = raw.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        body = _unchunk(body)
    return int(head.split(b" ", 2)[1]), elapsed, body


def _unchunk(body: bytes) -> bytes:
    out, rest = b"", body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        out, rest = out + rest[:size], rest[size + 2 :]
    return out


async def run_load(
    port: int, requests: list[bytes], concurrency: int
) -> tuple[list[tuple[int, float, bytes]], float]:
    """Send `requests` over `concurrency` connections at a time; (status, seconds, body) each,
    in order, and the wall time of the whole run."""
    results: list[tuple[int, float, bytes]] = [None] * len(requests)  # type: ignore[list-item]
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        while next_index < len(requests):
            index = next_index
            next_index += 1
            results[index] = await one_request(port, requests[index])

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results, time.perf_counter() - started
