"""`make run`: migrate, then run web (gunicorn), the inbox relay, Celery workers and beat.

The inbox relay (`manage.py relay_inbox`) hands the webhooks' accepted deliveries to the queue.
One worker takes the default queue (processing, analysis, beat's tasks); each outbound target
has a worker of its own on its own queue (a thread pool: the work is waiting on the network),
so a target that stalls holds up no other.

The launcher resolves the database and Redis once (starting the embedded ones when no URL is
configured) and passes the URLs to its children, so all of them share the same servers. Ctrl-C
stops everything; if one child dies, the others are stopped too.

It says "starting…" when it launches them and "ready", with the URLs, once every check
`/readyz` reports passes: the database and Redis answer and a worker has run the heartbeat task
beat sends every 30 s (on a first start, 30 s after beat starts). Until then it says every 10 s
which checks still fail. It does not start when something already listens on its web or
websocket port: that server, not this one, would answer its readiness probe; nor when another
`make run` runs on its `RCA_VAR_DIR` (`claim_var_dir`).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import IO

import django
from django.core.exceptions import ImproperlyConfigured

from rca_project.gunicorn_conf import positive_count
from rca_project.local_services import VAR_DIR, served_base_url


def port_number(name: str, default: str, *, default_is: str = "") -> str:
    """A port from the environment: anything but a number from 1 to 65535 stops `make run`
    with an error naming the variable, as settings.py does for the settings it reads.
    `default_is`: how the default was made, said when it is the one that is no port."""
    given = os.environ.get(name, "").strip()
    raw = given or default
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) < 65536:
        unset = "" if given else f" (unset: {default_is or 'its default'})"
        raise ImproperlyConfigured(f"{name} must be a port number (1-65535), not {raw!r}{unset}")
    return raw


HOST = os.environ.get("RCA_HOST", "127.0.0.1")
PORT = port_number("RCA_PORT", "8000")
WS_PORT = port_number("RCA_WS_PORT", str(int(PORT) + 1), default_is="RCA_PORT + 1")
# Where to open it: bound to every interface (`RCA_HOST=0.0.0.0`), it answers on the loopback one.
BASE_URL = served_base_url(HOST, PORT)
BROWSER_WEBSOCKET_URL = "ws" + served_base_url(HOST, WS_PORT).removeprefix("http") + "/ws/tickets/"
CELERY_CONCURRENCY = str(positive_count("CELERY_CONCURRENCY", 2))
READINESS_PROBE_SECONDS = 2.0
WAITING_REPORT_SECONDS = 10.0
OUTBOUND_CONCURRENCY = str(positive_count("OUTBOUND_CONCURRENCY", 4))


def outbound_workers(bin_dir: str) -> dict[str, list[str]]:
    """One worker per outbound target, consuming only that target's queue. Its Celery node
    name carries the port (`outbound-jira-8000@host`), as the default worker's does: two
    `make run` sets on one machine (a rolling upgrade, Scaling out) would otherwise start
    workers of one name (Celery's DuplicateNodenameWarning, their stats merged)."""
    # Imported here, not at the top: the registry reads settings, which this launcher
    # configures (django.setup() in main) before it builds the command lines.
    from integrations import targets

    return {
        f"outbound-{target.name}": [
            f"{bin_dir}/celery",
            "-A",
            "rca_project",
            "worker",
            "--queues",
            targets.queue_for(target.name),
            "--pool",
            "threads",
            "--concurrency",
            OUTBOUND_CONCURRENCY,
            "--hostname",
            f"outbound-{target.name}-{PORT}@%h",
            "--loglevel",
            "INFO",
        ]
        for target in targets.targets()
    }


def web_command(bin_dir: str, host: str, port: str | int) -> list[str]:
    """gunicorn as `make run` starts it; the slow-client test starts this very command. Workers,
    threads and timeouts are in `rca_project.gunicorn_conf`, which docker-compose.yml uses too."""
    return [
        f"{bin_dir}/gunicorn",
        "--config",
        "python:rca_project.gunicorn_conf",
        "--bind",
        f"{host}:{port}",
    ]


def websocket_command(bin_dir: str, host: str, port: str | int) -> list[str]:
    """daphne as `make run` starts it, with an access log that leaves out query strings
    (`rca_project.ws_serve`); the websocket server's tests start this very command."""
    return [
        f"{bin_dir}/python",
        "-m",
        "rca_project.ws_serve",
        "-b",
        host,
        "-p",
        str(port),
        "rca_project.asgi:application",
    ]


def relay_command(bin_dir: str) -> list[str]:
    """The inbox relay (integrations/relay.py), as `make run` starts it."""
    from django.conf import settings

    return [f"{bin_dir}/python", str(settings.BASE_DIR / "manage.py"), "relay_inbox"]


def _children(bin_dir: str) -> dict[str, list[str]]:
    return {
        "web": web_command(bin_dir, HOST, PORT),
        # Websockets on an ASGI server; plain HTTP stays on gunicorn, measured faster for it.
        "websockets": websocket_command(bin_dir, HOST, WS_PORT),
        "relay": relay_command(bin_dir),
        "worker": [
            f"{bin_dir}/celery",
            "-A",
            "rca_project",
            "worker",
            "--concurrency",
            CELERY_CONCURRENCY,
            "--hostname",
            f"worker-{PORT}@%h",
            "--loglevel",
            "INFO",
        ],
        **outbound_workers(bin_dir),
        "beat": [
            f"{bin_dir}/celery",
            "-A",
            "rca_project",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(_var_path("celerybeat-schedule")),
        ],
    }


def taken_ports() -> list[str]:
    """The addresses `make run` is to serve on that something already listens on, each with the
    variable that chose it: its web server and websockets could not bind them, and its readiness
    probe would be answered by that other server (the release before an upgrade still running
    says "ready" for this one)."""
    return [
        f"{name}: {HOST}:{port}"
        for name, port in (("RCA_PORT", PORT), ("RCA_WS_PORT", WS_PORT))
        if _listened_on(HOST, int(port))
    ]


VAR_DIR_LOCK = "make-run.lock"
_var_dir_claim: IO[str] | None = None  # the open lock file: the claim lasts as long as this process


def claim_var_dir() -> str:
    """Take `RCA_VAR_DIR` for this launcher while it runs: '' when it did, else who holds it.

    A launcher keeps its processes' metrics there (`prometheus/`, emptied as it starts), its
    beat's schedule and its web server's control socket. A second one on the same directory
    (the new release started beside the old one on the same embedded database, for an upgrade)
    emptied the first's metrics, its beat wrote the same schedule file, and its gunicorn took
    the control socket over. The lock is `flock`'s: the kernel drops it with the launcher,
    however that ends, and its children do not inherit it."""
    global _var_dir_claim
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    claim = open(VAR_DIR / VAR_DIR_LOCK, "a+")  # noqa: SIM115 (held open for the process's life)
    try:
        fcntl.flock(claim, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        claim.seek(0)
        holder = claim.read().strip()
        claim.close()
        return f"pid {holder}" if holder.isdigit() else "pid unknown"
    claim.truncate(0)
    claim.write(str(os.getpid()))
    claim.flush()
    _var_dir_claim = claim
    return ""


def _listened_on(host: str, port: int) -> bool:
    """Whether binding host:port fails because it is in use (as gunicorn and daphne bind it:
    with SO_REUSEADDR, so a closed connection lingering in TIME_WAIT does not count). A host
    that does not resolve is left to the web server to report."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror:
        return False
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def _var_path(name: str):
    from django.conf import settings

    return settings.VAR_DIR / name


def main() -> int:
    if taken := taken_ports():
        print(
            f"make run: already in use ({'; '.join(taken)}): stop what listens there (another"
            " make run, or the release this one upgrades) or choose other ports",
            file=sys.stderr,
            flush=True,
        )
        return 1
    if held_by := claim_var_dir():
        print(
            f"make run: RCA_VAR_DIR {VAR_DIR} is another running make run's ({held_by}): give"
            " this one an RCA_VAR_DIR of its own (to share that one's database and keys, its"
            " DATABASE_URL, SECRET_KEY and WEBHOOK_TOKEN), or stop that one first",
            file=sys.stderr,
            flush=True,
        )
        return 1
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rca_project.settings")
    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    pending = pending_migrations()
    if pending:
        print(migrations_line(pending), flush=True)
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    metrics_dir = settings.VAR_DIR / "prometheus"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    env = {
        **os.environ,
        "DATABASE_URL": settings.DATABASE_URL,
        "REDIS_URL": settings.REDIS_URL,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "WEBSOCKET_URL": os.environ.get("WEBSOCKET_URL", BROWSER_WEBSOCKET_URL),
    }
    bin_dir = os.path.dirname(sys.executable)
    base = BASE_URL
    print(
        "\nRCA service starting… (web, websockets, relay, worker, beat); ready when every "
        f"check of {base}/readyz passes\n",
        flush=True,
    )
    processes = {
        name: subprocess.Popen(command, env=env) for name, command in _children(bin_dir).items()
    }
    started = time.monotonic()
    ready = False
    next_probe = started
    next_report = started + WAITING_REPORT_SECONDS
    stopping = False

    def stop(*_args: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for name, process in processes.items():
            if process.poll() is not None:
                print(f"{name} exited with {process.returncode}; stopping", flush=True)
                exit_code = process.returncode or 1
                stopping = True
        now = time.monotonic()
        if not stopping and not ready and now >= next_probe:
            # A generous timeout: a booting gunicorn accepts before it answers, and a probe
            # given up on would still be served later, one more request in its backlog.
            ready, failing = probe_readiness(f"{base}/readyz", timeout=15)
            next_probe = now + READINESS_PROBE_SECONDS
            if ready:
                print(ready_banner(base, BROWSER_WEBSOCKET_URL), flush=True)
            elif now >= next_report:
                waited = round(now - started)
                print(f"starting… ({waited} s) waiting for: {', '.join(failing)}", flush=True)
                next_report = now + WAITING_REPORT_SECONDS
        time.sleep(0.5)
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes.values():
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    return exit_code


def pending_migrations() -> list[str]:
    """The migrations `migrate` is about to apply ("app.name"), so an upgrade says what it did."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, backwards in plan]


def migrations_line(pending: list[str], shown: int = 8) -> str:
    names = ", ".join(pending[:shown]) + (
        f", … {len(pending) - shown} more" if len(pending) > shown else ""
    )
    return f"Applying {len(pending)} database migration(s): {names}"


def ready_banner(base: str, websocket_url: str) -> str:
    """What `make run` prints once ready: every page it names answers at `base` (the API's
    prefix alone is no page: its docs are). The webhook token only when it was generated (kept
    in var/): one given in WEBHOOK_TOKEN is the operator's already, and this output is the
    service's log. A source given a token of its own refuses the shared one: the banner names
    its webhook, not its token."""
    from django.conf import settings

    token = (
        "(WEBHOOK_TOKEN's, not printed)"
        if os.environ.get("WEBHOOK_TOKEN")
        else settings.WEBHOOK_TOKEN
    )
    for source in settings.WEBHOOK_SOURCE_TOKENS:
        variable = f"WEBHOOK_TOKEN_{source.upper().replace('-', '_')}"
        token += f"\n                 not for /webhooks/{source}/: it takes {variable}'s"
    return (
        "\nRCA service ready\n"
        f"  dashboard      {base}/          (live updates: {websocket_url})\n"
        f"  admin          {base}/admin/   (create a user: {createsuperuser_command()})\n"
        f"  API            {base}/api/v1/docs/  (schema {base}/api/v1/schema/)\n"
        f"  webhooks       {base}/webhooks/azure-monitor/  /webhooks/adf/  "
        "/webhooks/databricks/  /webhooks/airflow/\n"
        f"  sync-back      {base}/webhooks/jira/  /webhooks/slack/actions/  (JIRA and Slack's "
        "own webhooks: Fan-out and sync-back in the README)\n"
        f"  health         {base}/healthz  {base}/readyz  {base}/metrics\n"
        f"  webhook token  {token}\n"
        f"  database       {_safe_url(settings.DATABASE_URL)}\n"
        f"  redis          {_safe_url(settings.REDIS_URL)}\n"
    )


def createsuperuser_command() -> str:
    """`createsuperuser` for the database this run uses: run without the RCA_VAR_DIR (the
    embedded PostgreSQL's data) or the DATABASE_URL `make run` was given, it creates the user in
    another database. A DATABASE_URL holding a password is named, not printed (this output is
    the service's log): the command then works where it is exported."""
    from django.conf import settings

    assignments = [f"RCA_VAR_DIR={shlex.quote(str(settings.VAR_DIR.resolve()))}"]
    given = os.environ.get("DATABASE_URL", "")
    if given:
        url = '"$DATABASE_URL"' if _holds_password(given) else shlex.quote(given)
        assignments.append(f"DATABASE_URL={url}")
    return " ".join([*assignments, ".venv/bin/python manage.py createsuperuser"])


def probe_readiness(url: str, timeout: float = 2.0) -> tuple[bool, list[str]]:
    """Ask a `/readyz` once: whether every check it names passed (its 200 needs only the
    database: Redis and the worker heartbeat are in its body), and otherwise what is not ready
    yet (the failing checks it names, or "web server" when nothing answers)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            body, status = answer.read(), answer.status
    except urllib.error.HTTPError as error:  # 503 with {"checks": {name: bool}}
        body, status = error.read(), error.code
    except OSError:  # refused, reset or timed out: gunicorn is still booting
        return False, ["web server"]
    try:
        checks = json.loads(body)["checks"]
        failing = [name for name, ok in checks.items() if not ok]
    except (ValueError, KeyError, TypeError, AttributeError):
        return False, [f"web server (HTTP {status})"]
    return status == 200 and not failing, failing


def _holds_password(url: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return bool(parts.password) or any(map(_names_password, parts.query.split("&")))


def _names_password(parameter: str) -> bool:
    """Whether a query parameter holds a password: libpq's `password` and `sslpassword`, which
    a DATABASE_URL may give there (its query becomes the connection's options, the names
    percent-decoded: `pass%77ord` is one), as a Redis URL may."""
    from urllib.parse import unquote_plus

    name, equals, _ = parameter.partition("=")
    return bool(equals) and "password" in unquote_plus(name).lower()


def _without_passwords(query: str) -> str:
    return "&".join(
        f"{parameter.partition('=')[0]}=***" if _names_password(parameter) else parameter
        for parameter in query.split("&")
    )


def _safe_url(url: str) -> str:
    """A URL for display, without its password (in its user part or its query)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        parts = parts._replace(netloc=netloc)
    parts = parts._replace(query=_without_passwords(parts.query))
    return urlunsplit(parts)


if __name__ == "__main__":
    sys.exit(main())
