"""`make run` says "ready" only when the service is: its readiness probe against a real web
server running the project's `/readyz`."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.db import OperationalError, connection, connections
from django.test import Client

from integrations.circuit import redis_client
from integrations.tasks import heartbeat
from rca_project import serve
from rca_project.observability import worker_heartbeat_key
from rca_project.serve import probe_readiness, ready_banner
from tests.conftest import database_url_for_tests


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def web_server() -> Iterator[str]:
    """The project's WSGI application on a free port, in a thread (it sees the test database)."""
    server: WSGIServer = make_server("127.0.0.1", 0, WSGIHandler(), handler_class=QuietHandler)

    def serve() -> None:
        try:
            server.serve_forever(poll_interval=0.05)
        finally:  # requests are served in this thread: so are its database connections
            connections.close_all()

    thread = threading.Thread(target=serve)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)
    server.server_close()


@pytest.mark.django_db(transaction=True)
def test_not_ready_until_a_worker_heartbeat_then_ready(web_server):
    redis_client().delete(worker_heartbeat_key())

    assert probe_readiness(f"{web_server}/readyz") == (False, ["worker"])

    heartbeat()  # what a worker does when beat sends it the heartbeat task
    assert probe_readiness(f"{web_server}/readyz") == (True, [])


@pytest.mark.django_db(transaction=True)
def test_make_run_on_a_port_another_server_answers_stops_instead_of_saying_ready(web_server):
    """Upgrading with the release before still serving RCA_PORT: the new web server could not
    bind it, yet the readiness probe, answered by the old one, printed "ready" (and the webhook
    token) before the new one gave up. It stops at once naming the port, before it migrates."""
    heartbeat()  # the server already there is a ready RCA service
    port = web_server.rsplit(":", 1)[1]
    with tempfile.TemporaryDirectory(prefix="rca-taken-", dir="/tmp") as var_dir:
        launcher = subprocess.run(
            [sys.executable, "-m", "rca_project.serve"],
            env={
                **os.environ,
                "RCA_PORT": port,
                "RCA_WS_PORT": "",
                "RCA_VAR_DIR": var_dir,
                "DATABASE_URL": database_url_for_tests(),
                "REDIS_URL": settings.REDIS_URL,
                "REDIS_KEY_PREFIX": "rca-taken-port",
                "CELERY_QUEUE": "rca-taken-port",
            },
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert "RCA service ready" not in launcher.stdout
    assert launcher.returncode == 1
    assert f"make run: already in use (RCA_PORT: 127.0.0.1:{port}" in launcher.stderr


@pytest.mark.django_db(transaction=True)
def test_make_run_on_a_var_dir_another_make_run_holds_stops_before_it_touches_it():
    """Upgrading beside the release before on one machine: the new `make run`, on other ports
    and the same RCA_VAR_DIR (to keep its embedded database and keys), emptied `prometheus/`,
    the running one's metrics (its task counters on /metrics went back to nothing), its beat
    wrote the same schedule file and its gunicorn took the control socket over. It stops at
    once naming the directory and the launcher holding it, before it migrates."""
    import signal

    with tempfile.TemporaryDirectory(prefix="rca-var-held-", dir="/tmp") as var_dir:
        env = {
            **os.environ,
            "RCA_VAR_DIR": var_dir,
            "DATABASE_URL": database_url_for_tests(),
            "REDIS_URL": settings.REDIS_URL,
            "REDIS_KEY_PREFIX": "rca-var-held",
            "CELERY_QUEUE": "rca-var-held",
        }
        running = subprocess.Popen(  # what the running launcher holds from its start to its end
            [
                sys.executable,
                "-c",
                "import sys; from rca_project import serve;"
                " print(repr(serve.claim_var_dir()), flush=True); sys.stdin.read()",
            ],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert running.stdout is not None
            assert running.stdout.readline().strip() == "''"
            metrics = Path(var_dir) / "prometheus"
            metrics.mkdir()
            (metrics / "counter_1234.db").write_bytes(b"the running processes' counts")
            ports = []
            for _ in range(2):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", 0))
                    ports.append(str(sock.getsockname()[1]))
            launcher = subprocess.Popen(
                [sys.executable, "-m", "rca_project.serve"],
                env={**env, "RCA_PORT": ports[0], "RCA_WS_PORT": ports[1]},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
            try:
                stdout, stderr = launcher.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(launcher.pid, signal.SIGTERM)
                stdout, stderr = launcher.communicate(timeout=60)
        finally:
            running.communicate("", timeout=30)

        assert (metrics / "counter_1234.db").exists()
        assert "RCA service starting" not in stdout
        assert launcher.returncode == 1, stderr
        assert (
            f"make run: RCA_VAR_DIR {var_dir} is another running make run's (pid {running.pid})"
        ) in stderr


def test_a_web_server_that_does_not_answer_yet_is_what_it_waits_for():
    with socket.socket() as sock:  # a port nothing listens on once this socket is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ready, waiting_for = probe_readiness(f"http://127.0.0.1:{port}/readyz", timeout=1)

    assert (ready, waiting_for) == (False, ["web server"])


def _unreachable(execute, sql, params, many, context):
    raise OperationalError("connection refused")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/readyz", "/readyz/"])
def test_a_not_ready_answer_is_not_logged_as_a_server_error(caplog, path):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        with connection.execute_wrapper(_unreachable):
            not_ready = Client().get(path)
        missing = Client().get("/no-such-page")

    assert not_ready.status_code == 503
    assert missing.status_code == 404
    logged = [record.getMessage() for record in caplog.records if record.name == "django.request"]
    assert logged == ["Not Found: /no-such-page"]  # other answers are logged as before


@pytest.mark.django_db
def test_every_page_the_ready_banner_names_is_there():
    """What `make run` prints when ready is what a user opens first: no URL of it is a 404."""
    banner = ready_banner("http://testserver", "ws://testserver:8001/ws/tickets/")
    paths = re.findall(r"(?:http://testserver|(?<=\s))(/[\w/.-]*)", banner)

    assert "/api/v1/docs/" in paths and "/webhooks/adf/" in paths
    assert "/webhooks/jira/" in paths and "/webhooks/slack/actions/" in paths
    answers = {path: Client().get(path).status_code for path in paths}
    assert not [path for path, status in answers.items() if status == 404], answers


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WEB_CONCURRENCY", "four"),
        ("WEB_THREADS", "0"),
        ("CELERY_CONCURRENCY", "-1"),
        ("OUTBOUND_CONCURRENCY", "2.5"),
    ],
)
def test_a_process_count_that_is_not_a_positive_integer_stops_make_run_naming_it(name, value):
    """`make run` (and gunicorn, which reads the same config module) refuses to start."""
    launcher = _start_serve({name: value})
    assert launcher.returncode != 0
    assert f"ImproperlyConfigured: {name} must be a positive integer, not '{value}'" in (
        launcher.stderr
    )


@pytest.mark.parametrize(
    ("name", "value"), [("RCA_PORT", "eight"), ("RCA_WS_PORT", "70000"), ("RCA_PORT", "\u0668000")]
)
def test_a_port_that_is_not_a_port_number_stops_make_run_naming_it(name, value):
    launcher = _start_serve({name: value})
    assert launcher.returncode != 0
    assert f"ImproperlyConfigured: {name} must be a port number (1-65535), not '{value}'" in (
        launcher.stderr
    )


def test_a_websocket_port_past_the_last_names_the_port_it_was_made_from():
    launcher = _start_serve({"RCA_PORT": "65535", "RCA_WS_PORT": ""})
    assert launcher.returncode != 0
    assert "RCA_WS_PORT must be a port number (1-65535), not '65536' (unset: RCA_PORT + 1)" in (
        launcher.stderr
    )


def _start_serve(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Import `make run`'s launcher with `env` over this environment (it checks its settings
    as it loads)."""
    return subprocess.run(
        [sys.executable, "-c", "import rca_project.serve"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.django_db(transaction=True)
def test_two_web_servers_each_keep_their_own_control_socket_in_their_var_dir():
    """gunicorn's default control socket (~/.gunicorn/gunicorn.ctl) is one for every instance
    of the user: a second `make run` took it over and stopping either removed it. Each one's is
    in its own RCA_VAR_DIR, and `gunicornc` on it reaches that instance."""
    from tests.security.server import WebServer

    with tempfile.TemporaryDirectory(prefix="rca-ctl-", dir="/tmp") as scratch:
        root = Path(scratch)
        home = root / "home"
        home.mkdir()
        env = {"HOME": str(home), "XDG_RUNTIME_DIR": ""}
        first_dir, second_dir = root / "first", root / "second"
        with WebServer(RCA_VAR_DIR=str(first_dir), **env) as first:
            with WebServer(RCA_VAR_DIR=str(second_dir), **env):
                assert (first_dir / "gunicorn.ctl").is_socket()
                assert (second_dir / "gunicorn.ctl").is_socket()
            # The second one stopped: the first one's socket is still there and answers.
            assert (first_dir / "gunicorn.ctl").is_socket()
            assert not (second_dir / "gunicorn.ctl").exists()
            gunicornc = str(Path(sys.executable).parent / "gunicornc")
            socket_path = str(first_dir / "gunicorn.ctl")
            stats = subprocess.run(
                [gunicornc, "-s", socket_path, "-c", "show stats", "-j"],
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert stats.returncode == 0, stats.stderr
            assert first.process is not None
            assert json.loads(stats.stdout)["pid"] == first.process.pid
        assert not (home / ".gunicorn").exists()


@pytest.mark.parametrize(
    ("host", "web", "websocket"),
    [
        ("0.0.0.0", "http://127.0.0.1:8123", "ws://127.0.0.1:8124/ws/tickets/"),
        ("::", "http://127.0.0.1:8123", "ws://127.0.0.1:8124/ws/tickets/"),
        ("192.0.2.7", "http://192.0.2.7:8123", "ws://192.0.2.7:8124/ws/tickets/"),
    ],
)
def test_the_urls_make_run_prints_are_ones_to_open_even_bound_to_every_interface(
    host, web, websocket
):
    """`RCA_HOST=0.0.0.0` binds every interface; `http://0.0.0.0:PORT/` is no URL to open. The
    launcher's starting line and ready banner, its readiness probe and the dashboards'
    websocket URL all use the loopback address then."""
    launcher = subprocess.run(
        [
            sys.executable,
            "-c",
            "from rca_project import serve; print(serve.BASE_URL, serve.BROWSER_WEBSOCKET_URL)",
        ],
        env={**os.environ, "RCA_HOST": host, "RCA_PORT": "8123", "RCA_WS_PORT": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert launcher.stdout.split() == [web, websocket], launcher.stderr


def test_the_ready_banner_prints_a_generated_webhook_token_and_never_a_given_one(
    settings, monkeypatch
):
    """`make run`'s output is the service's log; a token the operator set in WEBHOOK_TOKEN (a
    production one) was written there in full."""
    settings.WEBHOOK_TOKEN = "operator-set-webhook-token-7d2f"
    monkeypatch.setenv("WEBHOOK_TOKEN", settings.WEBHOOK_TOKEN)
    given = ready_banner("http://testserver", "ws://testserver:8001/ws/tickets/")
    monkeypatch.delenv("WEBHOOK_TOKEN")
    generated = ready_banner("http://testserver", "ws://testserver:8001/ws/tickets/")

    assert settings.WEBHOOK_TOKEN not in given
    assert "webhook token  (WEBHOOK_TOKEN's, not printed)" in given
    assert f"webhook token  {settings.WEBHOOK_TOKEN}\n" in generated


def test_the_ready_banner_says_which_webhooks_take_a_token_of_their_own(settings, monkeypatch):
    """With WEBHOOK_TOKEN_AIRFLOW set, /webhooks/airflow/ refuses the shared token the banner
    printed beside it (a 401 for whoever copied it): the banner names that webhook and the
    variable, never the source's token."""
    monkeypatch.delenv("WEBHOOK_TOKEN", raising=False)
    settings.WEBHOOK_TOKEN = "generated-shared-token-5b1c"
    settings.WEBHOOK_SOURCE_TOKENS = {
        "airflow": "airflow-own-token-91ce",
        "azure-monitor": "azure-own-token-3f0a",
    }

    banner = ready_banner("http://testserver", "ws://testserver:8001/ws/tickets/")

    assert f"webhook token  {settings.WEBHOOK_TOKEN}\n" in banner
    assert "not for /webhooks/airflow/: it takes WEBHOOK_TOKEN_AIRFLOW's\n" in banner
    assert "not for /webhooks/azure-monitor/: it takes WEBHOOK_TOKEN_AZURE_MONITOR's\n" in banner
    assert "/webhooks/adf/: " not in banner and "/webhooks/databricks/: " not in banner
    assert "airflow-own-token-91ce" not in banner and "azure-own-token-3f0a" not in banner


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("sslmode=require&password=planted-pw-7f3a", "sslmode=require&password=***"),
        ("sslmode=require&sslpassword=planted-pw-7f3a", "sslmode=require&sslpassword=***"),
        # Percent-decoded before it becomes the connection's option: libpq's `password`.
        ("sslmode=require&pass%77ord=planted-pw-7f3a", "sslmode=require&pass%77ord=***"),
    ],
)
def test_the_ready_banner_prints_no_password_a_database_url_gives_in_its_query(
    settings, monkeypatch, query, shown
):
    """A DATABASE_URL (or REDIS_URL) may give its password as a query parameter, passed on to
    the connection like `sslmode`: the banner, the service's log, printed it in its database
    line and its createsuperuser command."""
    url = f"postgres://rca@db.internal:5432/rca?{query}"
    monkeypatch.setenv("DATABASE_URL", url)
    settings.DATABASE_URL = url
    settings.REDIS_URL = "redis://cache.internal:6379/0?password=redis-pw-81c4"

    banner = ready_banner("http://testserver", "ws://testserver:8001/ws/tickets/")

    assert "planted-pw-7f3a" not in banner and "redis-pw-81c4" not in banner
    assert 'DATABASE_URL="$DATABASE_URL" .venv/bin/python manage.py createsuperuser' in banner
    assert f"database       postgres://rca@db.internal:5432/rca?{shown}\n" in banner


@pytest.mark.django_db(transaction=True)
def test_the_ready_banners_createsuperuser_command_creates_the_user_in_this_runs_database(
    monkeypatch, tmp_path
):
    """Run as printed from a shell without the settings `make run` was given, the hint
    (`manage.py createsuperuser` alone) created the user in another database (the embedded
    one of the default var/), and the admin login was refused."""
    from django.contrib.auth.models import User

    url = database_url_for_tests()
    monkeypatch.setenv("DATABASE_URL", url)  # what this run was given
    banner = ready_banner("http://testserver", "ws://testserver:8001/ws/tickets/")
    command = re.search(r"\(create a user: (.+)\)\n", banner)
    assert command is not None, banner
    shell = {name: value for name, value in os.environ.items() if name != "DATABASE_URL"}
    shell["RCA_VAR_DIR"] = str(tmp_path / "the-shells-own")  # not the run's
    if "$DATABASE_URL" in command.group(1):  # a password: named, to be run where it is exported
        shell["DATABASE_URL"] = url

    created = subprocess.run(
        f"{command.group(1)} --noinput --username banner-admin --email admin@example.com",
        shell=True,
        cwd=Path(__file__).resolve().parent.parent,
        env=shell,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert created.returncode == 0, created.stderr
    assert User.objects.filter(username="banner-admin", is_superuser=True).exists()
    monkeypatch.delenv("DATABASE_URL")
    var_dir = str(settings.VAR_DIR.resolve())
    assert f"RCA_VAR_DIR={var_dir} " in ready_banner("http://t", "ws://t/ws/tickets/")


@pytest.mark.django_db(transaction=True)
def test_make_run_names_the_migrations_an_upgrade_applies():
    """`make run` migrated silently, so an operator could not see what an upgrade did."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    assert serve.pending_migrations() == []
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    (tickets_latest,) = [node for node in latest if node[0] == "tickets"]
    parents = executor.loader.graph.node_map[tickets_latest].parents
    (previous,) = [parent for parent in parents if parent.key[0] == "tickets"]
    try:
        executor.migrate([previous.key])
        pending = serve.pending_migrations()
        assert pending == [".".join(tickets_latest)]
        assert serve.migrations_line(pending) == (
            f"Applying 1 database migration(s): {'.'.join(tickets_latest)}"
        )
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert serve.pending_migrations() == []
    assert serve.migrations_line([f"a.{n}" for n in range(10)]).endswith("a.7, … 2 more")


def test_two_sets_on_one_machine_name_their_celery_workers_apart(monkeypatch):
    """Two `make run` sets on one machine (a rolling upgrade, Scaling out) started workers of
    one node name (`outbound-jira@host`: Celery's DuplicateNodenameWarning)."""

    def node_names(port: str) -> list[str]:
        monkeypatch.setattr(serve, "PORT", port)
        commands = serve._children("/bin").values()
        return [c[c.index("--hostname") + 1] for c in commands if "worker" in c]

    first, second = node_names("8000"), node_names("8010")
    assert len(first) == len(set(first)) > 1
    assert not set(first) & set(second)
