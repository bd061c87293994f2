"""The drop-in Airflow callback, posting to a live server of the real service."""

from __future__ import annotations

import contextlib
import http.server
import importlib
import json
import logging
import re
import socket
import sys
import threading
import time
import types
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import Enum
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.db import connection, connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from analysis import services as analysis_services
from integrations.airflow_callback import rca_callback
from integrations.models import WebhookDelivery
from integrations.parsers.airflow import airflow_deployment, parse_airflow_failure
from integrations.targets import jira, slack
from tests.api import jwt_client, make_user
from tests.conftest import wait_for
from tickets.models import AuditLog, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


class PythonOperator:  # named like Airflow's, as the callback reads the class name
    owner = "data-eng"


def airflow_context(try_number: int = 1) -> dict:
    try:
        raise ConnectionRefusedError("connection to server at 'warehouse' port 5432 refused")
    except ConnectionRefusedError as exc:
        exception = exc
    task = PythonOperator()
    ti = SimpleNamespace(
        dag_id="sales_daily",
        task_id="load_orders",
        run_id="scheduled__2025-12-10T00:00:00+00:00",
        map_index=-1,
        try_number=try_number,
        max_tries=3,
        state="failed",
        log_url="http://airflow.local/log?dag_id=sales_daily",
        operator="PythonOperator",
        hostname="worker-1",
        start_date=datetime(2025, 12, 10, 0, 1, tzinfo=UTC),
        end_date=datetime(2025, 12, 10, 0, 2, tzinfo=UTC),
        duration=60.0,
        task=task,
    )
    return {
        "task_instance": ti,
        "dag_run": SimpleNamespace(run_id=ti.run_id),
        "exception": exception,
        "logical_date": datetime(2025, 12, 10, tzinfo=UTC),
    }


def test_body_carries_the_documented_fields():
    body = rca_callback.build_failure_body(airflow_context())

    assert body["dag_id"] == "sales_daily"
    assert body["logical_date"] == "2025-12-10T00:00:00+00:00"
    assert body["operator"] == "PythonOperator"
    assert body["owner"] == "data-eng"
    assert body["exception_type"] == "ConnectionRefusedError"
    assert "Traceback" in body["exception"] and "port 5432 refused" in body["exception"]


def test_a_task_killed_without_an_exception_is_still_reported_as_a_failure(webhook_client):
    """Airflow 3 runs the failure callback of a task killed while queued with no exception and
    the state it had: the body must still be a failure the service accepts."""
    context = airflow_context()
    context["exception"] = None
    context["task_instance"].state = "queued"
    body = rca_callback.build_failure_body(context)
    assert body["exception"].startswith("Task failed without an exception (state: queued)")
    # and it names no cause it does not know (its first wording read as an OOM kill)
    from analysis.classifier import classify_error

    assert classify_error(body["exception"]).error_type == "Unknown"
    answer = webhook_client("/webhooks/airflow/", body)
    assert answer.status_code == 202 and answer.json()["outcome"] == "created"


def spark_write_failure() -> Py4JJavaError:
    """A PySpark JDBC write that failed on the database login, as py4j raises it: the Java
    stack trace of the job abort, its cause last (about 25,000 characters)."""
    spark_frames = "".join(
        f"\tat org.apache.spark.sql.execution.datasources.jdbc.JdbcUtils$.savePartition"
        f"(JdbcUtils.scala:{700 + line})\n"
        f"\tat org.apache.spark.scheduler.ResultTask.runTask(ResultTask.scala:{90 + line})\n"
        for line in range(120)
    )
    java_trace = (
        ": org.apache.spark.SparkException: Job aborted due to stage failure: Task 3 in stage "
        "12.0 failed 4 times, most recent failure: Lost task 3.3 in stage 12.0 (TID 457) "
        "(10.139.64.5 executor 2): org.apache.spark.SparkException: Task failed while writing "
        "rows.\n"
        f"{spark_frames}"
        "Caused by: com.microsoft.sqlserver.jdbc.SQLServerException: Login failed for user "
        "'etl_loader'. ClientConnectionId:5e2c7a41-3b9d-4f0e-8d61-2a7c9e0b4f13\n"
        "\tat com.microsoft.sqlserver.jdbc.SQLServerException.makeFromDatabaseError"
        "(SQLServerException.java:265)\n"
        "\tat com.microsoft.sqlserver.jdbc.TDSTokenHandler.onEOF(tdsparser.java:300)\n"
        "\t... 45 more\n"
    )
    return Py4JJavaError(f"An error occurred while calling o117.save.\n{java_trace}")


class Py4JJavaError(Exception):  # named like py4j's, as the callback reads the class name
    pass


def test_a_long_traceback_keeps_the_error_it_ends_with(webhook_client):
    """The callback keeps a traceback's end, where its error is; the ticket must keep it too."""
    context = airflow_context()
    try:
        raise spark_write_failure()
    except Py4JJavaError as exc:
        context["exception"] = exc
    body = rca_callback.build_failure_body(context)
    assert len(body["exception"]) > 20_000

    answer = webhook_client("/webhooks/airflow/", body)

    assert answer.status_code == 202
    ticket = Ticket.objects.get(pk=answer.json()["ticket_id"])
    assert len(ticket.error_message) <= 16_000
    assert ticket.error_message.startswith("Traceback (most recent call last):")
    assert "Login failed for user 'etl_loader'" in ticket.error_message
    assert ticket.error_type == "AuthenticationError"


class UniqueViolation(Exception):
    """Named like psycopg2's: the callback reads the class name."""


def test_a_chained_traceback_longer_than_the_callback_sends_keeps_its_first_cause(
    webhook_client,
):
    """A load wrapped in its own error (`raise ... from exc`) whose message quotes a long
    statement: Python prints the first cause first, so the callback must keep the traceback's
    head as the service does, not its end alone."""
    statement = "INSERT INTO sales.orders VALUES " + ", ".join(
        f"({row}, 'order-{row}', 19.99)" for row in range(4_000)
    )
    context = airflow_context()
    try:
        try:
            raise UniqueViolation(
                'duplicate key value violates unique constraint "orders_pkey"\n'
                "DETAIL:  Key (order_id)=(1042) already exists."
            )
        except UniqueViolation as cause:
            raise RuntimeError(f"load of sales.orders failed: {statement}") from cause
    except RuntimeError as exc:
        context["exception"] = exc
    body = rca_callback.build_failure_body(context)
    assert len(body["exception"]) <= rca_callback.MAX_EXCEPTION_CHARS

    answer = webhook_client("/webhooks/airflow/", body)

    assert answer.status_code == 202
    ticket = Ticket.objects.get(pk=answer.json()["ticket_id"])
    assert ticket.error_message.startswith("Traceback (most recent call last):")
    assert 'violates unique constraint "orders_pkey"' in ticket.error_message
    assert ticket.error_message.rstrip().endswith("19.99)")


def test_body_names_the_deployment_and_its_web_server(monkeypatch):
    configuration = types.ModuleType("airflow.configuration")
    configuration.conf = SimpleNamespace(  # type: ignore[attr-defined]
        get=lambda section, key, fallback="": {"webserver": "https://airflow.prod.example.com"}.get(
            section, fallback
        )
    )
    monkeypatch.setitem(sys.modules, "airflow", types.ModuleType("airflow"))
    monkeypatch.setitem(sys.modules, "airflow.configuration", configuration)
    monkeypatch.setenv("RCA_AIRFLOW_DEPLOYMENT", "prod")

    body = rca_callback.build_failure_body(airflow_context())

    assert body["airflow_base_url"] == "https://airflow.prod.example.com"
    assert body["deployment"] == "prod"


def test_body_outside_airflow_names_no_web_server(monkeypatch):
    monkeypatch.delenv("RCA_AIRFLOW_DEPLOYMENT", raising=False)
    monkeypatch.setitem(sys.modules, "airflow.configuration", None)  # import fails

    body = rca_callback.build_failure_body(airflow_context())

    assert body["airflow_base_url"] is None
    assert body["deployment"] is None


def test_callback_reports_the_failure_to_the_service(live_server, settings, monkeypatch):
    monkeypatch.setenv("RCA_WEBHOOK_URL", f"{live_server.url}/webhooks/airflow/")
    monkeypatch.setenv("RCA_WEBHOOK_TOKEN", settings.WEBHOOK_TOKEN)

    rca_callback.on_failure_callback(airflow_context(try_number=1))
    rca_callback.on_failure_callback(airflow_context(try_number=2))

    ticket = Ticket.objects.get()
    assert ticket.pipeline == "sales_daily.load_orders"
    assert ticket.occurrence_count == 2
    assert ticket.error_type in {"NetworkError", "DatabaseError"}


def test_callback_never_raises_when_the_service_refuses(live_server, monkeypatch):
    monkeypatch.setenv("RCA_WEBHOOK_URL", f"{live_server.url}/webhooks/airflow/")
    monkeypatch.setenv("RCA_WEBHOOK_TOKEN", "wrong-token")

    rca_callback.on_failure_callback(airflow_context())

    assert Ticket.objects.count() == 0


def test_success_callback_closes_the_failure_after_a_clear(live_server, settings, monkeypatch):
    """The task failed and was reported; someone clears it in Airflow and it succeeds: the
    shipped success callback reports that, and the ticket is resolved at its source."""
    monkeypatch.setenv("RCA_WEBHOOK_URL", f"{live_server.url}/webhooks/airflow/")
    monkeypatch.setenv("RCA_WEBHOOK_TOKEN", settings.WEBHOOK_TOKEN)
    rca_callback.on_failure_callback(airflow_context(try_number=1))
    cleared = airflow_context(try_number=2)
    cleared["exception"] = None
    cleared["task_instance"].state = "success"

    body = rca_callback.build_success_body(cleared)
    assert body["state"] == "success" and "exception" not in body
    rca_callback.on_success_callback(cleared)

    ticket = Ticket.objects.get()
    assert ticket.status == "resolved" and ticket.resolved_at_source_at is not None


def _raised(exception: BaseException) -> BaseException:
    try:
        raise exception
    except BaseException as exc:
        return exc


def test_undecodable_bytes_in_the_error_do_not_lose_the_report(live_server, settings, monkeypatch):
    """Python keeps bytes it could not decode (a Latin-1 file name read on a UTF-8 system) as
    lone surrogates; the service refuses those in JSON, so the callback must not send them."""
    monkeypatch.setenv("RCA_WEBHOOK_URL", f"{live_server.url}/webhooks/airflow/")
    monkeypatch.setenv("RCA_WEBHOOK_TOKEN", settings.WEBHOOK_TOKEN)
    name = b"/data/in/caf\xe9_orders.csv".decode("utf-8", "surrogateescape")
    context = airflow_context()
    context["exception"] = _raised(FileNotFoundError(f"input file {name} is missing"))

    rca_callback.on_failure_callback(context)

    ticket = Ticket.objects.get()
    assert "input file /data/in/caf\\udce9_orders.csv is missing" in ticket.error_message


@pytest.mark.parametrize(
    ("configured", "sent"),
    [
        ("https://airflow.example.com", "https://airflow.example.com:443/"),
        ("http://airflow.example.com:80/", "http://airflow.example.com/home"),
    ],
)
def test_a_web_server_named_with_its_default_port_is_the_same_deployment(configured, sent):
    """AIRFLOW_API_URL and the callback's base_url may spell one server two ways: the clear
    compares the deployments, and would refuse a task of its own Airflow."""
    assert airflow_deployment("", configured, "") == airflow_deployment("", sent, "")
    assert airflow_deployment("", "https://airflow.example.com:8443", "").endswith(":8443")


def test_an_unreachable_service_is_not_waited_for_after_the_last_attempt(monkeypatch):
    """The callback runs in the task's process: after the last attempt there is nothing to wait
    for."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # closed again: connections are refused
    waits: list[float] = []
    monkeypatch.setattr(rca_callback.time, "sleep", waits.append)

    sent = rca_callback.post_failure({"dag_id": "d"}, f"http://127.0.0.1:{port}/", "token")

    assert sent is False
    assert len(waits) == rca_callback.ATTEMPTS - 1


def test_a_service_that_never_answers_holds_the_callback_no_longer_than_its_deadline(
    monkeypatch, caplog
):
    """A service that takes the connection and never answers (its workers all busy, a proxy
    holding the request): the task, or the DAG processor running the DAG's callbacks one after
    another, waits REPORT_SECONDS at most, not every attempt's timeout and wait in turn."""
    monkeypatch.setattr(rca_callback, "REPORT_SECONDS", 2)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # connections complete in the backlog; none is ever accepted
        monkeypatch.setenv("RCA_WEBHOOK_URL", f"http://127.0.0.1:{silent.getsockname()[1]}/")
        monkeypatch.setenv("RCA_WEBHOOK_TOKEN", "token")
        started = time.monotonic()

        rca_callback.on_failure_callback(airflow_context())

        assert time.monotonic() - started < 4
    assert "did not take the failure report within 2 s" in caplog.text


@contextlib.contextmanager
def serving(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[int]:
    """A local HTTP server answering with `handler`: its port; stopped on leaving."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()


def test_a_webhook_url_that_redirects_is_not_followed_and_says_where_it_points(caplog):
    """An `http://` RCA_WEBHOOK_URL behind a redirect to `https://`: urllib followed the 301 with
    a GET and no body (the service answers 405, the report lost under "refused: 405") and would
    send the token wherever the Location pointed. Not followed: the log says where to point."""
    followed: list[str] = []

    class Redirecting(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(301)
            self.send_header("Location", f"http://{self.headers['Host']}/moved/")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            followed.append(self.path)
            self.send_response(405)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            """Quiet: the test reads the callback's log, not this server's."""

    with serving(Redirecting) as port:
        url = f"http://127.0.0.1:{port}/webhooks/airflow/"
        with caplog.at_level(logging.ERROR, logger=rca_callback.log.name):
            sent = rca_callback.post_failure({"dag_id": "d"}, url, "token")

    assert sent is False
    assert followed == []
    assert f"redirects (301) to http://127.0.0.1:{port}/moved/" in caplog.text
    assert "token" not in caplog.text


class _AirflowTaskLog(logging.Handler):
    """The callback's log as an Airflow task's log holds it: written by a handler of its own,
    before the service's redaction filter (on the root logger's handlers here, absent in
    Airflow) rewrites a record."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def airflow_task_log():
    handler = _AirflowTaskLog()
    logger = rca_callback.log
    level = logger.level
    logger.setLevel(logging.WARNING)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_a_token_in_the_webhook_url_stays_out_of_the_log_of_a_redirect(airflow_task_log):
    """RCA_WEBHOOK_URL may carry the token (`?token=`, which the service takes in place of the
    header), and a redirect to https keeps the query in its Location: the task's log, read by
    all who see the task, names the address and where it points without either query."""
    secret = "s3cr3t-in-the-query"

    class Redirecting(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(308)
            self.send_header("Location", f"https://{self.headers['Host']}{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            """Quiet: the test reads the callback's log, not this server's."""

    with serving(Redirecting) as port:
        url = f"http://127.0.0.1:{port}/webhooks/airflow/?token={secret}"
        sent = rca_callback.post_failure({"dag_id": "d"}, url, "header-token")

    assert sent is False
    assert (
        f"http://127.0.0.1:{port}/webhooks/airflow/?(query hidden) redirects (308) to "
        f"https://127.0.0.1:{port}/webhooks/airflow/?(query hidden)"
    ) in airflow_task_log.text
    assert secret not in airflow_task_log.text


@pytest.mark.parametrize(
    "address",
    [
        "rca.example.com/webhooks/airflow/?token=s3cr3t-in-the-query",
        "etl:s3cr3t-in-the-query@rca.example.com/webhooks/airflow/",
        "ftp://rca.example.com/webhooks/airflow/",
        "https:///webhooks/airflow/",
    ],
)
def test_a_webhook_url_that_cannot_be_used_says_what_to_set_and_shows_no_secret(
    monkeypatch, airflow_task_log, address
):
    """An RCA_WEBHOOK_URL without its scheme or host: urllib reads `user:password@host/…` as
    the scheme `user`, and its error quotes the whole address. The log says what to set, shows
    none of it, and nothing is tried (three tries and their waits for an address that cannot
    work)."""
    monkeypatch.setenv("RCA_WEBHOOK_URL", address)
    monkeypatch.setenv("RCA_WEBHOOK_TOKEN", "header-token")

    started = time.monotonic()
    rca_callback.on_failure_callback(airflow_context())

    assert time.monotonic() - started < 1
    assert "unreachable" not in airflow_task_log.text

    assert (
        "RCA_WEBHOOK_URL is not an http:// or https:// address with a host: set it to the "
        "service's webhook address, e.g. https://rca.example.com/webhooks/airflow/; failure "
        "not reported"
    ) in airflow_task_log.text
    assert "s3cr3t" not in airflow_task_log.text


@pytest.mark.parametrize(
    ("unset", "named"),
    [
        (["RCA_WEBHOOK_TOKEN"], "RCA_WEBHOOK_TOKEN not set"),
        (["RCA_WEBHOOK_URL"], "RCA_WEBHOOK_URL not set"),
        (["RCA_WEBHOOK_URL", "RCA_WEBHOOK_TOKEN"], "RCA_WEBHOOK_URL and RCA_WEBHOOK_TOKEN not set"),
    ],
)
def test_a_missing_setting_is_named_with_what_to_set(monkeypatch, airflow_task_log, unset, named):
    monkeypatch.setenv("RCA_WEBHOOK_URL", "https://rca.example.com/webhooks/airflow/")
    monkeypatch.setenv("RCA_WEBHOOK_TOKEN", "header-token")
    for name in unset:
        monkeypatch.delenv(name)

    rca_callback.on_failure_callback(airflow_context())

    assert f"{named} where this callback runs" in airflow_task_log.text
    assert "RCA_WEBHOOK_TOKEN to its webhook token; failure not reported" in (airflow_task_log.text)


def test_an_unreachable_service_is_logged_without_the_user_and_query_of_its_url(
    monkeypatch, airflow_task_log
):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # closed again: connections are refused
    monkeypatch.setattr(rca_callback.time, "sleep", lambda seconds: None)
    url = f"http://rca:hunter2@127.0.0.1:{port}/webhooks/airflow/?token=s3cr3t"

    assert rca_callback.post_failure({"dag_id": "d"}, url, "header-token") is False

    assert (
        f"http://(user hidden)@127.0.0.1:{port}/webhooks/airflow/?(query hidden)"
        in airflow_task_log.text
    )
    assert "s3cr3t" not in airflow_task_log.text
    assert "hunter2" not in airflow_task_log.text


def test_retry_callback_reports_a_try_airflow_retries(live_server, settings, monkeypatch):
    """Airflow runs `on_failure_callback` for the last try only; a try it retries runs
    `on_retry_callback`. The shipped one posts it as `up_for_retry` (whatever state the instance
    it is given still shows), so the ticket opens at the first try and proposes no clear, and
    the final failure counted on it then does."""
    monkeypatch.setenv("RCA_WEBHOOK_URL", f"{live_server.url}/webhooks/airflow/")
    monkeypatch.setenv("RCA_WEBHOOK_TOKEN", settings.WEBHOOK_TOKEN)
    first_try = airflow_context(try_number=1)
    first_try["task_instance"].state = "running"

    assert rca_callback.build_retry_body(first_try)["state"] == "up_for_retry"
    rca_callback.on_retry_callback(first_try)

    ticket = Ticket.objects.get()
    assert ticket.details["state"] == "up_for_retry"
    assert ticket.occurrence_count == 1
    rca_callback.on_failure_callback(airflow_context(try_number=2))
    ticket.refresh_from_db()
    assert ticket.occurrence_count == 2


def test_the_ticket_links_the_log_of_its_latest_failure(webhook_client):
    """Each try (and each run) has its own log: the ticket's log link, which "Analyse the run's
    log" reads, is the latest failure's, not the first try's; a report without one keeps it."""
    first = rca_callback.build_failure_body(airflow_context(try_number=1))
    first["log_url"] = (
        "http://airflow.local/dags/sales_daily/runs/r1/tasks/load_orders?try_number=1"
    )
    first["airflow_base_url"] = "http://airflow.local"
    assert webhook_client("/webhooks/airflow/", first).json()["outcome"] == "created"
    last = {**first, "try_number": 2, "log_url": first["log_url"].replace("=1", "=2")}
    assert webhook_client("/webhooks/airflow/", last).json()["outcome"] == "correlated"

    ticket = Ticket.objects.get()
    assert ticket.links["log"].endswith("try_number=2")
    third = {**last, "try_number": 3, "log_url": ""}
    assert webhook_client("/webhooks/airflow/", third).json()["outcome"] == "correlated"
    ticket.refresh_from_db()
    assert ticket.occurrence_count == 3 and ticket.links["log"].endswith("try_number=2")


def test_links_carrying_a_secret_are_stored_redacted(webhook_client):
    """A log URL can carry a credential (a `token=` parameter, a SAS signature): the ticket's
    links, a recurrence's log link and the inbox rows hold none of it."""
    first = rca_callback.build_failure_body(airflow_context(try_number=1))
    first["log_url"] = "https://airflow.local/log?dag_id=sales_daily&token=tok3nS3cretValue42"
    first["airflow_base_url"] = "https://airflow.local"
    assert webhook_client("/webhooks/airflow/", first).json()["outcome"] == "created"
    ticket = Ticket.objects.get()
    assert ticket.links["log"] == "https://airflow.local/log?dag_id=sales_daily&token=[REDACTED]"

    sas = (
        "https://acct.blob.core.windows.net/logs/try2.txt?sv=2022-11-02&sr=b&sig=S1gN4tur3Value%3D"
    )
    last = {**first, "try_number": 2, "log_url": sas}
    assert webhook_client("/webhooks/airflow/", last).json()["outcome"] == "correlated"
    ticket.refresh_from_db()
    assert ticket.links["log"].endswith("&sig=[REDACTED]")
    rows = WebhookDelivery.objects.all()
    assert len(rows) == 2
    for row in rows:
        stored = json.dumps(row.event) + row.raw_body
        assert "tok3nS3cretValue42" not in stored and "S1gN4tur3Value" not in stored


def test_an_azure_functions_key_in_a_link_is_stored_redacted(webhook_client):
    body = rca_callback.build_failure_body(airflow_context(try_number=1))
    body["log_url"] = "https://etl-fn.azurewebsites.net/api/logs?code=FnK3yS3cretValue42==&run=7"
    assert webhook_client("/webhooks/airflow/", body).json()["outcome"] == "created"
    ticket = Ticket.objects.get()
    assert ticket.links["log"] == "https://etl-fn.azurewebsites.net/api/logs?code=[REDACTED]&run=7"
    row = WebhookDelivery.objects.get()
    assert "FnK3yS3cretValue42" not in json.dumps(row.event) + row.raw_body


def test_a_later_try_failing_otherwise_names_its_own_error(webhook_client):
    """A rerun after a fix that fails on something else is counted on the run's ticket, which
    keeps its first error and analysis: the try's audit entry names the error it failed with,
    so the responder sees the new error, not only the fixed one's analysis."""
    first = rca_callback.build_failure_body(airflow_context(try_number=1))
    first["deployment"] = "prod"
    assert webhook_client("/webhooks/airflow/", first).json()["outcome"] == "created"
    alike = {**first, "try_number": 2}
    assert webhook_client("/webhooks/airflow/", alike).json()["outcome"] == "correlated"
    other = {
        **first,
        "try_number": 3,
        "exception": "FileNotFoundError: [Errno 2] No such file or directory: '/data/orders.csv'",
    }
    assert webhook_client("/webhooks/airflow/", other).json()["outcome"] == "correlated"

    ticket = Ticket.objects.get()
    assert "warehouse" in ticket.error_message
    tries = AuditLog.objects.filter(ticket=ticket, action="recurred").order_by("id")
    assert [entry.details.get("error_message") for entry in tries] == [None, other["exception"]]
    assert tries[1].details["error_type"] != ticket.error_type


def test_a_later_tries_other_error_is_told_by_the_read_that_found_its_ticket(webhook_client):
    """Whether a try failed otherwise comes with the row `candidates_for` read the run's ticket
    in: no query of its own on the ingest path, for every try of every Airflow run."""
    first = rca_callback.build_failure_body(airflow_context(try_number=1))
    assert webhook_client("/webhooks/airflow/", first).json()["outcome"] == "created"
    other = {**first, "try_number": 2, "exception": "KeyError: 'order_id'"}

    with CaptureQueriesContext(connection) as queries:
        assert webhook_client("/webhooks/airflow/", other).json()["outcome"] == "correlated"

    ticket_reads = [
        query["sql"]
        for query in queries
        if 'FROM "tickets_ticket"' in query["sql"]
        and '"tickets_ticket"."fingerprint"' in query["sql"]
    ]
    assert ticket_reads == []
    entry = AuditLog.objects.filter(action="recurred").get()
    assert entry.details["error_message"] == other["exception"]
    assert entry.details["error_type"] != Ticket.objects.get().error_type


def test_the_alert_and_the_issue_name_the_tasks_owner_beside_the_team(webhook_client):
    """The ticket's owner is the Airflow task's `owner`; the Slack alert and the JIRA issue
    show it, and label the team it is routed to as the team, not as its owner."""
    body = rca_callback.build_failure_body(airflow_context())
    assert webhook_client("/webhooks/airflow/", body).json()["outcome"] == "created"
    ticket = Ticket.objects.get()
    assert (ticket.finops_team, ticket.finops_owner) == ("data-platform", "data-eng")

    _, blocks = slack.slack_alert(ticket)
    fields = [field["text"] for block in blocks for field in block.get("fields", [])]
    assert "*Team*\ndata-platform" in fields and "*Owner*\ndata-eng" in fields
    assert "*Team:* data-platform · *Owner:* data-eng" in jira.jira_description(ticket)


def _airflow_configured(monkeypatch, base_url: str) -> None:
    configuration = types.ModuleType("airflow.configuration")
    configuration.conf = SimpleNamespace(  # type: ignore[attr-defined]
        get=lambda section, key, fallback="": base_url if section == "webserver" else fallback
    )
    monkeypatch.setitem(sys.modules, "airflow", types.ModuleType("airflow"))
    monkeypatch.setitem(sys.modules, "airflow.configuration", configuration)


@pytest.mark.parametrize("base_url", ["http://localhost:8080", "http://127.0.0.1:8080/"])
def test_a_web_server_at_the_default_localhost_is_said_to_name_no_deployment(
    monkeypatch, caplog, base_url
):
    """Airflow's default base_url is localhost: two Airflows left at it would be one
    deployment to the service, so the task's log says to name it."""
    _airflow_configured(monkeypatch, base_url)
    monkeypatch.delenv("RCA_AIRFLOW_DEPLOYMENT", raising=False)

    with caplog.at_level("WARNING", logger=rca_callback.__name__):
        body = rca_callback.build_failure_body(airflow_context())

    assert body["deployment"] is None
    assert "RCA_AIRFLOW_DEPLOYMENT is not set" in caplog.text


def test_a_named_or_real_web_server_needs_no_warning(monkeypatch, caplog):
    _airflow_configured(monkeypatch, "https://airflow.prod.example.com")
    monkeypatch.delenv("RCA_AIRFLOW_DEPLOYMENT", raising=False)
    with caplog.at_level("WARNING", logger=rca_callback.__name__):
        rca_callback.build_failure_body(airflow_context())
    _airflow_configured(monkeypatch, "http://localhost:8080")
    monkeypatch.setenv("RCA_AIRFLOW_DEPLOYMENT", "dev")
    with caplog.at_level("WARNING", logger=rca_callback.__name__):
        assert rca_callback.build_failure_body(airflow_context())["deployment"] == "dev"

    assert "RCA_AIRFLOW_DEPLOYMENT" not in caplog.text


def test_a_log_url_on_localhost_without_a_base_url_is_said_to_name_no_deployment(
    monkeypatch, caplog
):
    """Airflow 3 without [api] base_url links the task's log on http://localhost:8080/."""
    _airflow_configured(monkeypatch, "")
    monkeypatch.delenv("RCA_AIRFLOW_DEPLOYMENT", raising=False)
    context = airflow_context()
    context["task_instance"].log_url = "http://localhost:8080/dags/sales_daily/runs/r/tasks/t"

    with caplog.at_level("WARNING", logger=rca_callback.__name__):
        body = rca_callback.build_failure_body(context)

    assert body["airflow_base_url"] is None and "RCA_AIRFLOW_DEPLOYMENT is not set" in caplog.text


def prod_run(run_id: str) -> dict:
    """The failure body of the `prod` deployment's task for run `run_id`, whose logical date
    ends it (`scheduled__2025-12-10T00:00:00+00:00`)."""
    return {
        **rca_callback.build_failure_body(airflow_context()),
        "deployment": "prod",
        "run_id": run_id,
        "logical_date": run_id.split("__", 1)[1],
    }


def success_of(failure: dict) -> dict:
    """The success of the run of `failure`, a later try of it."""
    return {**failure, "state": "success", "try_number": 2, "exception": None}


def assert_kept_open_until_its_own_success(webhook_client, older: dict, newer: dict) -> None:
    """The success of run `older` leaves the ticket open (audited: `newer` still failed);
    `newer`'s own success resolves it."""
    answer = webhook_client("/webhooks/airflow/", success_of(older)).json()
    ticket = Ticket.objects.get()
    assert (answer["outcome"], answer["ticket_id"]) == ("ignored", ticket.pk)
    assert ticket.status == "open" and ticket.resolved_at_source_at is None
    entry = AuditLog.objects.get(ticket=ticket, action="older run recovered")
    assert entry.details["still_failed"] == newer["run_id"]
    fixed = success_of(newer)
    assert webhook_client("/webhooks/airflow/", fixed).json()["outcome"] == "resolved"


def test_an_older_runs_success_leaves_a_newer_runs_failure_open(webhook_client):
    """Two runs of a task failed; the older one, cleared, succeeds: the newer one still
    failed, so the ticket stays open (its audit says which run still failed). The newer run's
    own success, or a later run's, resolves it."""
    older = prod_run("scheduled__2025-12-10T00:00:00+00:00")
    newer = prod_run("scheduled__2025-12-11T00:00:00+00:00")
    assert webhook_client("/webhooks/airflow/", older).json()["outcome"] == "created"
    assert webhook_client("/webhooks/airflow/", newer).json()["outcome"] == "correlated"

    cleared = success_of(older)
    answer = webhook_client("/webhooks/airflow/", cleared).json()
    ticket = Ticket.objects.get()
    assert (answer["outcome"], answer["ticket_id"]) == ("ignored", ticket.pk)
    assert ticket.status == "open" and ticket.resolved_at_source_at is None
    entry = AuditLog.objects.get(ticket=ticket, action="older run recovered")
    assert entry.details["still_failed"] == newer["run_id"]

    fixed = success_of(newer)
    assert webhook_client("/webhooks/airflow/", fixed).json()["outcome"] == "resolved"


def test_a_backfill_failing_after_todays_run_and_then_succeeding_leaves_today_open(
    webhook_client,
):
    """Today's run failed and opened the ticket; a backfill of an older date failed after it
    (the latest failure counted) and then succeeded: today's run still failed, so the ticket
    stays open, as when the runs had failed the other way round."""
    today = prod_run("scheduled__2025-12-11T00:00:00+00:00")
    backfill = prod_run("backfill__2025-12-01T00:00:00+00:00")
    assert webhook_client("/webhooks/airflow/", today).json()["outcome"] == "created"
    assert webhook_client("/webhooks/airflow/", backfill).json()["outcome"] == "correlated"

    assert_kept_open_until_its_own_success(webhook_client, backfill, today)


def _api_ticket(ticket_id: str) -> dict:
    answer = jwt_client(make_user("viewer")).get(f"/api/v1/tickets/{ticket_id}/")
    assert answer.status_code == 200
    return answer.json()


def test_the_ticket_shows_the_latest_tries_state_and_number(webhook_client):
    """A retried try opens the ticket; the run's final failure is counted on it: the details
    say the task failed for good on try 3, while the error and the analysis stay the first
    try's (README, Webhooks)."""
    retry = {
        **rca_callback.build_failure_body(airflow_context(try_number=1)),
        "state": "up_for_retry",
        "max_tries": 2,
        "hostname": "worker-1",
    }
    created = webhook_client("/webhooks/airflow/", retry).json()
    final = {
        **retry,
        "state": "failed",
        "try_number": 3,
        "hostname": "worker-2",
        "duration": None,
        "exception": "FileNotFoundError: [Errno 2] No such file or directory: '/data/orders.csv'",
        "exception_type": "FileNotFoundError",
    }
    assert webhook_client("/webhooks/airflow/", final).json()["outcome"] == "correlated"

    shown = _api_ticket(created["ticket_id"])
    assert shown["details"]["state"] == "failed"
    assert shown["details"]["try_number"] == 3
    assert shown["details"]["max_tries"] == 2
    assert shown["details"]["hostname"] == "worker-2"
    assert "duration" not in shown["details"]  # the final try's report gave none
    assert shown["details"]["exception_type"] == "ConnectionRefusedError"
    assert "warehouse" in shown["error_message"]
    browser = Client()
    browser.force_login(make_user("viewer"))
    page = browser.get(f"/tickets/{created['ticket_id']}/").content.decode()
    assert '<dd id="fact-latest-try">3 (failed)</dd>' in page


def test_a_late_earlier_try_leaves_the_latest_tries_details(webhook_client):
    """Deliveries need not arrive in order: try 1's retry report arriving after try 2's final
    failure is counted, but the details keep try 2's."""
    final = {**rca_callback.build_failure_body(airflow_context(try_number=2)), "state": "failed"}
    created = webhook_client("/webhooks/airflow/", final).json()
    late = {**final, "try_number": 1, "state": "up_for_retry"}
    assert webhook_client("/webhooks/airflow/", late).json()["outcome"] == "correlated"

    ticket = Ticket.objects.get(pk=created["ticket_id"])
    assert ticket.occurrence_count == 2
    assert (ticket.details["try_number"], ticket.details["state"]) == (2, "failed")
    other_run = {**late, "run_id": "manual__2025-12-11T08:00:00+00:00", "try_number": 1}
    assert webhook_client("/webhooks/airflow/", other_run).json()["outcome"] == "correlated"
    ticket.refresh_from_db()
    assert (ticket.details["try_number"], ticket.details["state"]) == (1, "up_for_retry")


def test_the_logical_date_is_stored_as_iso_8601():
    body = rca_callback.build_failure_body(airflow_context())
    body["logical_date"] = "2026-10-01 00:00:00+00:00"  # read either way
    assert parse_airflow_failure(body).resource["logical_date"] == "2026-10-01T00:00:00Z"


def test_the_api_gives_the_logical_date_in_iso_8601(webhook_client):
    body = rca_callback.build_failure_body(airflow_context())
    created = webhook_client("/webhooks/airflow/", body).json()

    entity = _api_ticket(created["ticket_id"])["affected_entity"]
    assert entity["logical_date"] == "2025-12-10T00:00:00Z"
    assert datetime.fromisoformat(entity["logical_date"]) == datetime(2025, 12, 10, tzinfo=UTC)


def test_a_logical_date_stored_with_a_space_still_orders_runs(webhook_client):
    """Tickets stored before the logical date was written with a T hold `2025-12-11
    00:00:00+00:00`: an older run's success is still told from the newer run's failure."""
    failed = rca_callback.build_failure_body(airflow_context())
    failed.update(run_id="scheduled__2025-12-11T00:00:00+00:00", deployment="prod")
    failed["logical_date"] = "2025-12-11T00:00:00+00:00"
    created = webhook_client("/webhooks/airflow/", failed).json()
    ticket = Ticket.objects.get(pk=created["ticket_id"])
    Ticket.objects.filter(pk=ticket.pk).update(
        affected_entity={**ticket.affected_entity, "logical_date": "2025-12-11 00:00:00+00:00"}
    )
    older = {
        **failed,
        "run_id": "scheduled__2025-12-10T00:00:00+00:00",
        "logical_date": "2025-12-10T00:00:00+00:00",
        "state": "success",
    }
    assert webhook_client("/webhooks/airflow/", older).json()["outcome"] == "ignored"
    ticket.refresh_from_db()
    assert ticket.status == "open"


def in_airflow(monkeypatch: pytest.MonkeyPatch, version: str) -> None:
    airflow = types.ModuleType("airflow")
    airflow.__version__ = version  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "airflow", airflow)
    monkeypatch.setitem(sys.modules, "airflow.configuration", None)


def airflow_2_context(ran: int, state: str) -> dict:
    """The instance Airflow 2.0 to 2.9 hands a callback after try `ran`: its column counts the try
    in `_try_number`, and `try_number`, the instance no longer running, is the next one."""
    context = airflow_context(try_number=ran + 1)
    context["task_instance"]._try_number = ran
    context["task_instance"].state = state
    return context


@pytest.mark.parametrize("version", ["2.0.2", "2.7.3", "2.9.3"])
def test_airflow_2_before_2_10_reports_the_try_that_ran(monkeypatch, version):
    in_airflow(monkeypatch, version)

    assert rca_callback.build_retry_body(airflow_2_context(1, "up_for_retry"))["try_number"] == 1
    assert rca_callback.build_failure_body(airflow_2_context(3, "failed"))["try_number"] == 3
    assert rca_callback.build_success_body(airflow_2_context(2, "success"))["try_number"] == 2


def test_airflow_2_without_the_private_counter_takes_one_off_a_finished_try(monkeypatch):
    in_airflow(monkeypatch, "2.8.4")
    finished = airflow_context(try_number=3)  # state failed, no `_try_number`
    running = airflow_context(try_number=2)
    running["task_instance"].state = "running"

    assert rca_callback.build_failure_body(finished)["try_number"] == 2
    assert rca_callback.build_failure_body(running)["try_number"] == 2


@pytest.mark.parametrize("version", ["2.10.5", "3.0.2", "3.1.0", "not-a-version"])
def test_airflow_2_10_and_later_report_their_try_number(monkeypatch, version):
    in_airflow(monkeypatch, version)
    context = airflow_context(try_number=2)
    context["task_instance"]._try_number = 7  # not read: try_number is the try that ran

    assert rca_callback.build_failure_body(context)["try_number"] == 2


def test_airflow_2_9_retries_and_final_failure_are_the_tries_that_ran(
    live_server, settings, monkeypatch
):
    """Try 1 retried and try 2 failed for good, on Airflow 2.9: the ticket counts tries 1 and
    2 and names try 2 as its latest (the try whose log its analysis reads; there is no try 3)."""
    in_airflow(monkeypatch, "2.9.3")
    monkeypatch.setenv("RCA_WEBHOOK_URL", f"{live_server.url}/webhooks/airflow/")
    monkeypatch.setenv("RCA_WEBHOOK_TOKEN", settings.WEBHOOK_TOKEN)

    rca_callback.on_retry_callback(airflow_2_context(1, "up_for_retry"))
    rca_callback.on_failure_callback(airflow_2_context(2, "failed"))

    ticket = Ticket.objects.get()
    keys = sorted(ticket.occurrences.values_list("key", flat=True))
    assert [key.rsplit("#", 1)[1] for key in keys] == ["try1:failed", "try2:failed"]
    assert (ticket.details["try_number"], ticket.details["state"]) == (2, "failed")


def test_an_analysis_written_after_a_later_try_keeps_that_tries_details(webhook_client):
    """The analysis reads the ticket, works for seconds, then writes its RCA and details: a try
    counted meanwhile keeps its state and number, and the analysis its own details."""
    retry = {
        **rca_callback.build_failure_body(airflow_context(try_number=1)),
        "state": "up_for_retry",
    }
    created = webhook_client("/webhooks/airflow/", retry).json()
    read_by_the_analysis = Ticket.objects.get(pk=created["ticket_id"])
    final = {**retry, "state": "failed", "try_number": 2, "duration": None}
    assert webhook_client("/webhooks/airflow/", final).json()["outcome"] == "correlated"

    read_by_the_analysis.details = {**read_by_the_analysis.details, "similar": []}
    read_by_the_analysis.rca_result = "The warehouse refused connections."
    analysis_services._write_analyses([read_by_the_analysis])

    ticket = Ticket.objects.get(pk=created["ticket_id"])
    assert ticket.rca_result == "The warehouse refused connections."
    assert ticket.details["similar"] == []
    assert (ticket.details["try_number"], ticket.details["state"]) == (2, "failed")
    assert "duration" not in ticket.details


def test_the_new_try_fields_keep_no_secret_and_make_no_markup(monkeypatch, caplog, webhook_client):
    """What a webhook sender or a task's error controls in the fields added today: a later
    try's error (named by its audit entry), the try's hostname (copied onto the ticket), the
    task's owner (shown in Slack and JIRA), and a base_url with credentials (the callback's
    warning names its host alone)."""
    _airflow_configured(monkeypatch, "http://admin:Bas3UrlPw@localhost:8080")
    monkeypatch.delenv("RCA_AIRFLOW_DEPLOYMENT", raising=False)
    with caplog.at_level("WARNING", logger=rca_callback.__name__):
        first = rca_callback.build_failure_body(airflow_context(try_number=1))
    assert "RCA_AIRFLOW_DEPLOYMENT is not set" in caplog.text and "Bas3UrlPw" not in caplog.text
    first["owner"] = "<!channel> [~admin] {color:red}x{color} |"
    assert webhook_client("/webhooks/airflow/", first).json()["outcome"] == "created"
    other = {
        **first,
        "try_number": 2,
        "hostname": "worker-2 token=HostTok3n",
        "exception": "KeyError: 'order_id' (password=TryPassw0rd)",
    }
    assert webhook_client("/webhooks/airflow/", other).json()["outcome"] == "correlated"

    ticket = Ticket.objects.get()
    stored = json.dumps(
        [ticket.details, ticket.affected_entity, ticket.latest_run]
        + [entry.details for entry in AuditLog.objects.all()]
        + [delivery.event for delivery in WebhookDelivery.objects.all()]
    )
    for secret in ("Bas3UrlPw", "HostTok3n", "TryPassw0rd"):
        assert secret not in stored
    assert ticket.details["hostname"].startswith("worker-2")

    _, blocks = slack.slack_alert(ticket)
    owner = next(
        field["text"]
        for block in blocks
        for field in block.get("fields", [])
        if field["text"].startswith("*Owner*")
    )
    assert "<" not in owner and "&lt;!channel&gt;" in owner
    line = next(line for line in jira.jira_description(ticket).splitlines() if "*Owner:*" in line)
    assert not any(mark in line for mark in "[]{}|")


def test_a_failed_run_neither_first_nor_latest_keeps_the_ticket_open_past_an_older_success(
    webhook_client,
):
    """The run of Dec 1 failed and opened the ticket, today's (Dec 11) failed, then a backfill
    of Dec 5 failed (the latest counted): the backfill's success was compared with Dec 1 and
    Dec 5 only, and resolved the ticket while today's run still failed."""
    first = prod_run("scheduled__2025-12-01T00:00:00+00:00")
    today = prod_run("scheduled__2025-12-11T00:00:00+00:00")
    backfill = prod_run("backfill__2025-12-05T00:00:00+00:00")
    assert webhook_client("/webhooks/airflow/", first).json()["outcome"] == "created"
    assert webhook_client("/webhooks/airflow/", today).json()["outcome"] == "correlated"
    assert webhook_client("/webhooks/airflow/", backfill).json()["outcome"] == "correlated"

    assert_kept_open_until_its_own_success(webhook_client, backfill, today)


def test_a_ticket_the_release_before_kept_open_keeps_its_newer_failed_run(webhook_client):
    """The release before counted today's run (Dec 11) on the ticket Dec 1 opened and wrote no
    `newest_failed_run`. After the upgrade a backfill of Dec 5 failed: it became the newest
    failed run and the latest counted, so its success resolved the ticket while today's run
    still failed. tickets/0041 takes the run that release counted last as the newest."""
    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor

    first = prod_run("scheduled__2025-12-01T00:00:00+00:00")
    today = prod_run("scheduled__2025-12-11T00:00:00+00:00")
    backfill = prod_run("backfill__2025-12-05T00:00:00+00:00")
    assert webhook_client("/webhooks/airflow/", first).json()["outcome"] == "created"
    assert webhook_client("/webhooks/airflow/", today).json()["outcome"] == "correlated"
    # As the release before left it: today's run its latest, no newest failed run.
    ticket = Ticket.objects.get()
    ticket.details.pop("newest_failed_run")
    Ticket.objects.filter(pk=ticket.pk).update(details=ticket.details)
    executor = MigrationExecutor(connection)
    executor.migrate([("tickets", "0040_mark_outage_fallbacks_of_the_release_before")])
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    finally:
        connections.close_all()

    assert webhook_client("/webhooks/airflow/", backfill).json()["outcome"] == "correlated"
    assert_kept_open_until_its_own_success(webhook_client, backfill, today)


MIGRATION_0041 = "tickets.migrations.0041_newest_failed_run_of_the_release_before"


def _as_the_release_before_left_them(*dags: str) -> list[Ticket]:
    """Tickets each opened by the Dec 1 run of a DAG's task, with the Dec 11 run counted last
    and no `newest_failed_run` (the release before wrote none), by id."""
    tickets = []
    for dag in dags:
        for run_id in (
            "scheduled__2025-12-01T00:00:00+00:00",
            "scheduled__2025-12-11T00:00:00+00:00",
        ):
            body = {**prod_run(run_id), "dag_id": dag}
            Client().post(
                "/webhooks/airflow/",
                json.dumps(body),
                content_type="application/json",
                HTTP_X_WEBHOOK_TOKEN=settings.WEBHOOK_TOKEN,
            )
        ticket = Ticket.objects.get(pipeline__contains=dag)
        ticket.details.pop("newest_failed_run")
        Ticket.objects.filter(pk=ticket.pk).update(details=ticket.details)
        tickets.append(ticket)
    return sorted(tickets, key=lambda ticket: ticket.pk)


def _holding(ticket_id: str, sql: str) -> tuple[threading.Thread, threading.Event, list[int]]:
    """A transaction of another connection that runs `sql` on the ticket's row (its lock
    taken) and holds it until the event is set; the thread, the event and its backend's pid."""
    holding, done = threading.Event(), threading.Event()
    pids: list[int] = []

    def hold() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, [ticket_id])
                cursor.execute("SELECT pg_backend_pid()")
                pids.append(cursor.fetchone()[0])
                holding.set()
                done.wait(20)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(10)
    return holder, done, pids


def _waits_on(pids: list[int]) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", pids
        )
        return cursor.fetchone()[0] > 0


def test_tickets_0041_keeps_what_the_release_before_writes_on_a_ticket_meanwhile():
    """The release before runs beside tickets/0041 and counts a try on a ticket the migration
    read: its details (the try's facts) are kept, the newest failed run added to them. The
    migration wrote back the details it had read, the try's facts of the release before lost."""
    from django.apps import apps

    (ticket,) = _as_the_release_before_left_them("sales_daily")
    assert ticket.details["try_number"] == 1
    migration = importlib.import_module(MIGRATION_0041)

    def migrate() -> None:
        try:
            migration.keep_newest_failed_run(apps, None)
        finally:
            connections.close_all()

    counter, counted, pids = _holding(
        ticket.pk,
        "UPDATE tickets_ticket SET details = details || '{\"try_number\": 3}'::jsonb WHERE id = %s",
    )
    migrator = threading.Thread(target=migrate)
    try:
        migrator.start()
        assert wait_for(lambda: _waits_on(pids), 10, 0.02)
    finally:
        counted.set()
        counter.join(20)
        migrator.join(20)

    details = Ticket.objects.get().details
    assert details["try_number"] == 3
    assert details["newest_failed_run"]["run_id"] == "scheduled__2025-12-11T00:00:00+00:00"


def test_tickets_0041_holds_no_ticket_it_changed_while_it_goes_on():
    """Each ticket tickets/0041 changes commits on its own: one held by the release before
    (its ingest counting a failure there) keeps the migration waiting, not the tickets it
    changed already, which that release's webhooks lock and count on meanwhile."""
    from django.db.migrations.executor import MigrationExecutor

    changed, held = _as_the_release_before_left_them("sales_daily", "sales_weekly")
    MigrationExecutor(connection).migrate(
        [("tickets", "0040_mark_outage_fallbacks_of_the_release_before")]
    )
    holder, release, pids = _holding(
        held.pk, "SELECT 1 FROM tickets_ticket WHERE id = %s FOR UPDATE"
    )

    def migrate() -> None:
        try:
            executor = MigrationExecutor(connection)
            executor.migrate(executor.loader.graph.leaf_nodes())
        finally:
            connections.close_all()

    migrator = threading.Thread(target=migrate)
    try:
        migrator.start()
        assert wait_for(lambda: _waits_on(pids), 10, 0.02)
        with transaction.atomic(), connection.cursor() as cursor:
            # Skipped while the migration's transaction holds it.
            cursor.execute(
                "SELECT details ? 'newest_failed_run' FROM tickets_ticket WHERE id = %s"
                " FOR NO KEY UPDATE SKIP LOCKED",
                [changed.pk],
            )
            changed_and_free = cursor.fetchone()
    finally:
        release.set()
        holder.join(20)
        migrator.join(60)
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert changed_and_free == (True,)
    assert "newest_failed_run" in Ticket.objects.get(pk=held.pk).details


def test_a_regression_starts_over_which_failed_runs_keep_the_ticket_open(webhook_client):
    """Today's run failed after a backfill's and then succeeded (resolved); the backfill failing
    again regresses the ticket, and its own success resolves it: today's failure was over."""
    backfill = prod_run("backfill__2025-12-05T00:00:00+00:00")
    today = prod_run("scheduled__2025-12-11T00:00:00+00:00")
    assert webhook_client("/webhooks/airflow/", backfill).json()["outcome"] == "created"
    assert webhook_client("/webhooks/airflow/", today).json()["outcome"] == "correlated"
    fixed = success_of(today)
    assert webhook_client("/webhooks/airflow/", fixed).json()["outcome"] == "resolved"

    again = {**backfill, "try_number": 2}
    assert webhook_client("/webhooks/airflow/", again).json()["outcome"] == "regressed"
    ticket = Ticket.objects.get()
    assert ticket.details["newest_failed_run"]["run_id"] == backfill["run_id"]
    succeeded = {**backfill, "state": "success", "try_number": 3, "exception": None}
    assert webhook_client("/webhooks/airflow/", succeeded).json()["outcome"] == "resolved"


def test_an_analysis_written_after_a_newer_run_was_counted_keeps_that_run(webhook_client):
    """The analysis, working from the ticket as it read it, wrote back details without the run
    counted meanwhile: an older run's success then resolved the ticket again."""
    first = prod_run("scheduled__2025-12-01T00:00:00+00:00")
    created = webhook_client("/webhooks/airflow/", first).json()
    read_by_the_analysis = Ticket.objects.get(pk=created["ticket_id"])
    today = prod_run("scheduled__2025-12-11T00:00:00+00:00")
    assert webhook_client("/webhooks/airflow/", today).json()["outcome"] == "correlated"

    read_by_the_analysis.details = {**read_by_the_analysis.details, "similar": []}
    analysis_services._write_analyses([read_by_the_analysis])

    ticket = Ticket.objects.get(pk=created["ticket_id"])
    assert ticket.details["similar"] == []
    assert ticket.details["newest_failed_run"]["run_id"] == today["run_id"]


def dag_callback_context(reason: str, last_task_id: str, last_state: str) -> dict:
    """What Airflow 2 and 3 hand a DAG's own callback: the template context of one task
    instance of the run (`dag_run.get_last_ti`, whichever the run lists last, in the state it
    ended in), with the run's `reason` added."""
    context = airflow_context()
    ti = context["task_instance"]
    ti.task_id, ti.state = last_task_id, last_state
    context.pop("exception")
    dag = SimpleNamespace(dag_id=ti.dag_id, owner="data-eng")
    return {**context, "ti": ti, "dag": dag, "run_id": ti.run_id, "reason": reason}


def airflow_3_dag_callback_context(reason: str) -> dict:
    """Airflow 3's DAG callback context when the server sent no task instance of the run."""
    dag = SimpleNamespace(dag_id="sales_daily", owner="data-eng")
    return {"dag": dag, "run_id": "scheduled__2025-12-10T00:00:00+00:00", "reason": reason}


@pytest.fixture
def reporting_to(live_server, settings, monkeypatch):
    monkeypatch.setenv("RCA_WEBHOOK_URL", f"{live_server.url}/webhooks/airflow/")
    monkeypatch.setenv("RCA_WEBHOOK_TOKEN", settings.WEBHOOK_TOKEN)


@pytest.mark.parametrize(
    "context",
    [
        dag_callback_context("timed_out", "publish", "skipped"),
        dag_callback_context("timed_out", "load_orders", "success"),
        airflow_3_dag_callback_context("timed_out"),
    ],
    ids=["last-task-skipped", "last-task-succeeded", "airflow-3-without-a-task"],
)
def test_a_dag_run_that_timed_out_is_reported_by_the_dags_failure_callback(reporting_to, context):
    """A run stopped by its dagrun_timeout has its unfinished tasks skipped, which runs no task
    callback: the DAG's failure callback is its only report, whatever the task instance it was
    handed."""
    rca_callback.on_failure_callback(context)

    ticket = Ticket.objects.get()
    assert ticket.pipeline == f"sales_daily.{rca_callback.DAG_RUN_TASK_ID}"
    assert ticket.status == "open"
    assert "timed_out" in ticket.error_message and "dagrun_timeout" in ticket.error_message
    assert ticket.affected_entity["run_id"] == "scheduled__2025-12-10T00:00:00+00:00"


def test_the_dags_failure_callback_leaves_an_open_task_ticket_open(reporting_to):
    """The task instance a DAG's callback is handed succeeded in this run; the task's ticket of
    an earlier run that is still failing there is not resolved by the run's failure."""
    earlier = airflow_context()
    earlier["task_instance"].run_id = "scheduled__2025-12-09T00:00:00+00:00"
    rca_callback.on_failure_callback(earlier)

    rca_callback.on_failure_callback(dag_callback_context("timed_out", "load_orders", "success"))

    task_ticket = Ticket.objects.get(pipeline="sales_daily.load_orders")
    assert task_ticket.status == "open" and task_ticket.resolved_at_source_at is None


def test_a_dag_run_failed_by_a_task_pages_once_for_that_task(reporting_to):
    """The task's own callback reports its failure; the DAG's callback that follows, handed a
    downstream task left upstream_failed, opens no second ticket for a task that never ran."""
    rca_callback.on_failure_callback(airflow_context())
    rca_callback.on_failure_callback(
        dag_callback_context("task_failure", "publish", "upstream_failed")
    )

    assert list(Ticket.objects.values_list("pipeline", flat=True)) == ["sales_daily.load_orders"]


def test_a_later_runs_success_closes_the_timed_out_run(reporting_to):
    rca_callback.on_failure_callback(dag_callback_context("timed_out", "publish", "skipped"))
    later = dag_callback_context("success", "publish", "success")
    later["run_id"] = later["task_instance"].run_id = "scheduled__2025-12-11T00:00:00+00:00"
    later["logical_date"] = datetime(2025, 12, 11, tzinfo=UTC)

    rca_callback.on_success_callback(later)

    ticket = Ticket.objects.get()
    assert ticket.pipeline == f"sales_daily.{rca_callback.DAG_RUN_TASK_ID}"
    assert ticket.status == "resolved" and ticket.resolved_at_source_at is not None


def test_a_zombie_reported_by_airflow_2_names_no_exception_type(reporting_to):
    """Airflow 2 runs the failure callback of a task it found dead (a zombie) with its message
    as the context's `exception`, a str: the failure is reported with that message, and `str`
    is not kept as the type of an exception the task raised."""
    context = airflow_context()
    context["exception"] = (
        "Detected <TaskInstance: sales_daily.load_orders scheduled__2025-12-10T00:00:00+00:00 "
        "[running]> as zombie"
    )

    rca_callback.on_failure_callback(context)

    ticket = Ticket.objects.get()
    assert "as zombie" in ticket.error_message
    assert "exception_type" not in ticket.details


def rule_rca_of(webhook_client, body: dict) -> Ticket:
    """The ticket the body opens, analysed by the rules (no Gemini key)."""
    ticket_id = webhook_client("/webhooks/airflow/", body).json()["ticket_id"]
    analysis_services.analyse_ticket(ticket_id)
    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.rca_source == "rules"
    return ticket


def test_a_timed_out_dag_run_is_explained_by_its_dagrun_timeout(webhook_client, settings):
    """The run as a whole took too long: the DAG's dagrun_timeout, not a task's
    execution_timeout, and what usually makes a run slow."""
    settings.GEMINI_API_KEY = ""
    body = rca_callback.build_failure_body(dag_callback_context("timed_out", "publish", "skipped"))

    ticket = rule_rca_of(webhook_client, body)

    assert ticket.error_type == "TimeoutError"
    assert "took longer than the DAG's dagrun_timeout" in ticket.rca_result
    assert "execution_timeout" not in ticket.rca_result
    advice = " ".join(ticket.recommendations)
    for cause in ("sensor", "pool's slots", "max_active_tasks", "schedule", "raise dagrun_timeout"):
        assert cause in advice
    assert "Raise the task's execution_timeout" not in advice


def test_a_deadlocked_dag_run_is_explained_as_its_dependencies_not_a_database(
    webhook_client, settings
):
    settings.GEMINI_API_KEY = ""
    body = rca_callback.build_failure_body(
        dag_callback_context("all_tasks_deadlocked", "publish", "upstream_failed")
    )

    ticket = rule_rca_of(webhook_client, body)

    assert ticket.error_type == "ConfigurationError"
    assert "deadlocked (all_tasks_deadlocked)" in ticket.rca_result
    assert "deadlock victim" not in ticket.rca_result
    advice = " ".join(ticket.recommendations)
    assert "depends_on_past" in advice and "trigger rules" in advice


@pytest.mark.parametrize(
    "message",
    [
        # What Airflow 2.6+ hands the failure callback of a task it found dead: its ids only.
        "{'DAG Id': 'sales_daily', 'Task Id': 'load_orders', 'Run Id': "
        "'scheduled__2025-12-10T00:00:00+00:00', 'Hostname': 'worker-7', 'External Executor "
        "Id': '6b40704f-96ca-413d-91c7-1b50efdad27f'}",
        # Airflow 2.0 to 2.5's.
        "Detected <TaskInstance: sales_daily.load_orders scheduled__2025-12-10T00:00:00+00:00 "
        "[running]> as zombie",
    ],
    ids=["airflow-2.6-ids", "airflow-2.0-as-zombie"],
)
def test_a_zombie_is_explained_as_a_lost_heartbeat_not_a_resource(
    webhook_client, settings, message
):
    """The message says Airflow stopped hearing from the task's process, not why: no class is
    guessed, and the explanation says what happened and where to look for the reason."""
    settings.GEMINI_API_KEY = ""
    context = airflow_context()
    context["exception"] = message

    ticket = rule_rca_of(webhook_client, rca_callback.build_failure_body(context))

    assert ticket.error_type == "Unknown"
    assert "load_orders" in ticket.rca_result
    assert "stopped sending heartbeats" in ticket.rca_result
    assert "ran out of a compute resource" not in ticket.rca_result
    advice = " ".join(ticket.recommendations)
    assert "OOM" in advice and "logs" in advice and "retries" in advice


def test_a_task_airflow_3_failed_while_running_with_no_exception_is_explained_by_its_state(
    webhook_client, settings
):
    """Airflow 3 runs the failure callback of a task whose heartbeats stopped with no
    exception: the callback's own text, naming the state, is what the RCA explains."""
    settings.GEMINI_API_KEY = ""
    context = airflow_context()
    context["exception"] = None
    context["task_instance"].state = "running"

    ticket = rule_rca_of(webhook_client, rca_callback.build_failure_body(context))

    assert ticket.error_type == "Unknown"
    assert "still running when Airflow failed it" in ticket.rca_result
    assert "heartbeat" in ticket.rca_result and "zombie" in ticket.rca_result
    assert "matches no known cause" not in ticket.rca_result
    advice = " ".join(ticket.recommendations)
    assert "OOMKilled" in advice and "task_instance_heartbeat_timeout" in advice


class TaskInstanceState(str, Enum):  # noqa: UP042 (a StrEnum has the str() Airflow 3 lacks)
    """Shaped like the Task SDK's (`airflow.sdk.api.datamodels._generated`), which Airflow 3's
    task runner sets on the instance its callbacks get: a str enum with no __str__ of its own,
    so str() gives "TaskInstanceState.FAILED", not "failed"."""

    RUNNING = "running"
    FAILED = "failed"


def _latest_try_shown(ticket_id: str) -> str:
    browser = Client()
    browser.force_login(make_user("viewer"))
    page = browser.get(f"/tickets/{ticket_id}/").content.decode()
    found = re.search(r'<dd id="fact-latest-try">([^<]*)</dd>', page)
    assert found, "the ticket page shows no latest try"
    return found[1]


def test_an_airflow_3_task_failure_is_sent_and_shown_with_its_state_by_name(webhook_client):
    context = airflow_context()
    context["task_instance"].state = TaskInstanceState.FAILED

    body = rca_callback.build_failure_body(context)
    ticket_id = webhook_client("/webhooks/airflow/", body).json()["ticket_id"]

    assert body["state"] == "failed"
    assert _api_ticket(ticket_id)["details"]["state"] == "failed"
    assert _latest_try_shown(ticket_id) == "1 (failed)"


def test_a_state_an_earlier_callback_sent_as_airflow_3_enum_text_is_read_by_its_name(
    webhook_client,
):
    """Callbacks copied into DAG folders before this release sent an Airflow 3 instance's state
    as str() wrote it; the service reads it as the state it names."""
    body = {
        **rca_callback.build_failure_body(airflow_context()),
        "state": "TaskInstanceState.FAILED",
    }

    ticket_id = webhook_client("/webhooks/airflow/", body).json()["ticket_id"]

    assert _api_ticket(ticket_id)["details"]["state"] == "failed"
    assert _latest_try_shown(ticket_id) == "1 (failed)"


def test_an_airflow_3_instance_failed_while_running_without_an_exception_is_explained(
    webhook_client, settings
):
    settings.GEMINI_API_KEY = ""
    context = airflow_context()
    context["exception"] = None
    context["task_instance"].state = TaskInstanceState.RUNNING

    ticket = rule_rca_of(webhook_client, rca_callback.build_failure_body(context))

    assert "still running when Airflow failed it" in ticket.rca_result
    assert "matches no known cause" not in ticket.rca_result


def test_a_refused_postgres_connection_through_sqlalchemy_names_the_database_host(
    webhook_client, settings
):
    """libpq before 14 names the host in its hint, and SQLAlchemy ends its error with a link to
    its own documentation: the RCA names the database, not the documentation's site."""
    settings.GEMINI_API_KEY = ""
    context = airflow_context()
    context["exception"] = (
        "sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) could not connect to "
        'server: Connection refused\n\tIs the server running on host "dwh-pg.prod.acme.io" '
        "(10.1.2.3) and accepting\n\tTCP/IP connections on port 5432?\n\n(Background on this "
        "error at: https://sqlalche.me/e/14/e3q8)"
    )

    ticket = rule_rca_of(webhook_client, rca_callback.build_failure_body(context))

    assert "The connection to dwh-pg.prod.acme.io:5432 was refused" in ticket.rca_result
    assert "sqlalche.me" not in " ".join([ticket.rca_result, *ticket.recommendations])


@pytest.mark.parametrize(
    ("message", "waited"),
    [
        (
            "airflow.providers.standard.exceptions.ExternalTaskFailedError: Some of the "
            "external tasks ['load_orders', 'publish'] in DAG sales_daily failed.",
            "the tasks load_orders, publish of the DAG sales_daily failed",
        ),
        (
            "airflow.exceptions.AirflowException: The external task load_orders in DAG "
            "sales_daily failed.",
            "the task load_orders of the DAG sales_daily failed",
        ),
        (
            "airflow.providers.standard.exceptions.ExternalDagFailedError: The external DAG "
            "sales_daily failed.",
            "the DAG sales_daily failed",
        ),
    ],
    ids=["provider-tasks", "airflow-2-task", "dag"],
)
def test_an_external_task_sensor_failed_by_its_upstream_dag_names_that_dag(
    webhook_client, settings, message, waited
):
    """A failure cascading across DAGs: the sensor's ticket says whose failure it waits on."""
    settings.GEMINI_API_KEY = ""
    context = airflow_context()
    context["exception"] = message

    ticket = rule_rca_of(webhook_client, rca_callback.build_failure_body(context))

    assert f"ExternalTaskSensor: {waited} in the run it waits for" in ticket.rca_result
    assert "matches no known cause" not in ticket.rca_result
    assert "Find why sales_daily's run failed" in ticket.recommendations[0]


class BashOperator:  # named like Airflow's, as the callback reads the class name
    owner = "data-eng"


class AirflowException(Exception):
    """Named like Airflow's, as the callback reads the class name."""


@pytest.mark.parametrize(
    ("code", "error_type", "meaning"),
    [
        ("2", "Unknown", ""),
        ("127", "ConfigurationError", "the shell found no such command"),
        ("137", "ResourceExhaustion", "killed with SIGKILL"),
    ],
)
def test_a_bash_commands_exit_code_points_to_the_task_log_and_says_what_it_means(
    webhook_client, settings, code, error_type, meaning
):
    """BashOperator's error holds only the exit code: the ticket says which program exited
    with it, what a well-known code means, and that its error is in the log the ticket's
    "Analyse the run's log" reads."""
    settings.GEMINI_API_KEY = ""
    context = airflow_context()
    try:
        raise AirflowException(
            f"Bash command failed. The command returned a non-zero exit code {code}."
        )
    except AirflowException as exc:
        context["exception"] = exc
    context["task_instance"].task = BashOperator()
    context["task_instance"].operator = "BashOperator"

    ticket = rule_rca_of(webhook_client, rca_callback.build_failure_body(context))

    assert ticket.error_type == error_type
    assert f"The bash command BashOperator ran exited with code {code}" in ticket.rca_result
    assert meaning in ticket.rca_result
    assert "the program's own error is in the task's log" in ticket.rca_result
    assert any("Analyse the run's log" in advice for advice in ticket.recommendations)


def airflow_2_sla_miss_arguments() -> tuple:
    """What Airflow 2's DAG processor passes a DAG's `sla_miss_callback`, positionally: the DAG,
    the late tasks' list as text, the blocking tasks' as text, the SlaMiss rows and the blocking
    task instances."""
    dag = SimpleNamespace(dag_id="sales_daily", owner="data-eng")
    sla = SimpleNamespace(
        dag_id="sales_daily", task_id="load_orders", execution_date=datetime(2025, 12, 10)
    )
    return (dag, "load_orders on 2025-12-10T00:00:00+00:00", "", [sla], [])


@pytest.mark.parametrize(
    "callback",
    [
        rca_callback.on_failure_callback,
        rca_callback.on_retry_callback,
        rca_callback.on_success_callback,
    ],
    ids=lambda callback: callback.__name__,
)
def test_a_callback_set_as_the_dags_sla_miss_callback_says_it_reports_no_sla_miss(
    reporting_to, airflow_task_log, callback
):
    """Set as `sla_miss_callback`, Airflow 2 calls it with five arguments: a TypeError that
    Airflow logs in the DAG processor's log, which says nothing of why. The callback says
    which callbacks it is, sends nothing and does not raise."""
    callback(*airflow_2_sla_miss_arguments())

    assert f"{callback.__name__} was called with 5 arguments" in airflow_task_log.text
    assert "SLA misses are not reported to the RCA service" in airflow_task_log.text
    assert WebhookDelivery.objects.count() == 0
    assert Ticket.objects.count() == 0


def test_a_refusals_body_is_logged_bounded_and_without_the_token(airflow_task_log):
    """A proxy in front of the service refusing the report with a page that quotes the request
    it was sent: the task's log shows the start of the answer on one line, not the whole of
    it, and not the token it quotes."""
    token = "s3cr3t-webhook-token"

    class Refusing(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            body = (
                f"<html>403 Forbidden\nrequest headers: X-Webhook-Token: {token}\n"
                + "x" * 200_000
                + f"\nagain: {token}</html>"
            ).encode()
            self.send_response(403)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            """Quiet: the test reads the callback's log, not this server's."""

    with serving(Refusing) as port:
        url = f"http://127.0.0.1:{port}/webhooks/airflow/"
        sent = rca_callback.post_failure({"dag_id": "d"}, url, token)

    assert sent is False
    [line] = airflow_task_log.lines
    assert line.startswith("ERROR RCA service refused the report: 403 '<html>403 Forbidden\\n")
    assert "X-Webhook-Token: (token hidden)" in line
    assert token not in line
    assert line.endswith("(cut)")
    assert len(line) < rca_callback.ANSWER_LOG_CHARS + 200


def test_the_services_refusal_is_logged_with_its_reason(live_server, airflow_task_log):
    url = f"{live_server.url}/webhooks/airflow/"

    assert rca_callback.post_failure({"dag_id": "d"}, url, "wrong-token") is False

    assert "RCA service refused the report: 401 " in airflow_task_log.text
    assert (
        "set RCA_WEBHOOK_TOKEN to the service's Airflow webhook token (its "
        "WEBHOOK_TOKEN_AIRFLOW, else its WEBHOOK_TOKEN)"
    ) in airflow_task_log.text
    assert "wrong-token" not in airflow_task_log.text


def test_a_webhook_url_naming_no_webhook_says_which_one_to_name(
    live_server, settings, airflow_task_log
):
    url = f"{live_server.url}/webhooks/airflw/"

    assert rca_callback.post_failure({"dag_id": "d"}, url, settings.WEBHOOK_TOKEN) is False

    assert "RCA service refused the report: 404 " in airflow_task_log.text
    assert "its Airflow webhook is https://<the service>/webhooks/airflow/" in (
        airflow_task_log.text
    )


def test_a_secret_where_the_callback_cuts_a_long_error_is_neither_sent_nor_stored(
    webhook_client,
):
    """The callback cuts an error over MAX_EXCEPTION_CHARS without redacting it (standard
    library only): the end it keeps must start where a line starts, so that the service,
    which redacts what it gets, sees a secret on the line it was printed on, with the word
    it is known by, not the rest of it after a cut."""
    secret = "Zq8vR2mK9xW4pL7nT3yB6cF1hJ5dS0gA"
    kept = rca_callback.MAX_EXCEPTION_CHARS - rca_callback.EXCEPTION_HEAD_CHARS - 3
    line = f"    conn = connect('postgresql://etl:{secret}@warehouse:5432/sales')\n"
    error = 'psycopg2.OperationalError: password authentication failed for user "etl"'
    # The end the callback keeps begins 12 characters into the password.
    after_length = kept - (len(line) - line.index(secret) - 12)
    frame = '  File "etl.py", line 7, in load\n'
    padding = after_length - len(error)
    after = frame * (padding // len(frame)) + "#" * (padding % len(frame)) + error
    # And the head it keeps ends 10 characters into another.
    head_secret = "Hb4nQ8sW2eR6tY0uI3oP7aS1dF5gJ9kL"
    head_line = f"    conn = connect('postgresql://etl:{head_secret}@db01:5432/sales')\n"
    opening = "Traceback (most recent call last):\n"
    filler = rca_callback.EXCEPTION_HEAD_CHARS - len(opening) - head_line.index(head_secret) - 10
    opening += "#" * (filler - 1) + "\n"
    text = opening + head_line + "  step\n" * 3_000 + line + after
    assert text[-kept:].startswith(secret[12:])
    assert text[: rca_callback.EXCEPTION_HEAD_CHARS].endswith(head_secret[:10])
    context = airflow_context()
    context["exception"] = text

    body = rca_callback.build_failure_body(context)
    answer = webhook_client("/webhooks/airflow/", body)

    assert answer.status_code == 202
    stored = WebhookDelivery.objects.get(tracking_id=answer.json()["tracking_id"])
    for part in (secret[12:], head_secret[:10]):
        assert part not in body["exception"]
        assert part not in stored.raw_body
    assert body["exception"].endswith(error)
    assert body["exception"].startswith("Traceback (most recent call last):")
