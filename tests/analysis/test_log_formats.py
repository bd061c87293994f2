"""Formats, encodings and Python exception chains the log core must read as a user's log
writes them: Airflow's 20-character timestamps, ADF output copied from the monitor, UTF-16
logs from Windows tools, chained tracebacks whose messages span lines."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from analysis.classifier import classify_error
from analysis.logs.formats import LineParser
from analysis.logs.mining import EXCERPT_CHARS, mine_lines
from analysis.logs.reader import LogReader, LogReadError, LogSource

ADF_ERROR = {
    "errorCode": "2108",
    "message": "Error calling the endpoint 'https://api.example.com/x'. Response status code: "
    "'NA - Unknown'. More details: Exception message: 'NA - Unknown [ClientSideException] The "
    "remote server returned an error: (503) Server Unavailable.'.",
    "failureType": "UserError",
    "target": "Web1",
    "details": "",
}
# A Copy activity that cannot log in to Azure SQL, as the ADF monitor shows its error: the
# connector's SqlFailedToConnect wraps the SqlException that names the cause (error 18456,
# "Login failed"), which starts at character 546 of this 766-character message.
ADF_SQL_LOGIN_ERROR: dict[str, Any] = {
    "errorCode": "2200",
    "message": "Failure happened on 'Source' side. ErrorCode=SqlFailedToConnect,'Type=Microsoft."
    "DataTransfer.Common.Shared.HybridDeliveryException,Message=Cannot connect to SQL Database. "
    "Please contact SQL server team for further support. Server: "
    "'sql-prod-01.database.windows.net', Database: 'SalesDataWarehouse', User: 'adf_loader'. "
    "Check the linked service configuration is correct, and make sure the SQL Database firewall "
    "allows the integration runtime to access.,Source=Microsoft.DataTransfer.ClientLibrary,''"
    "Type=System.Data.SqlClient.SqlException,Message=Login failed for user 'adf_loader'.,"
    "Source=.Net SqlClient Data Provider,SqlErrorNumber=18456,Class=14,ErrorCode=-2146232060,"
    "State=1,Errors=[{Class=14,Number=18456,State=1,Message=Login failed for user "
    "'adf_loader'.,},],'",
    "failureType": "UserError",
    "target": "Copy_SalesOrders",
    "details": [],
}
ADF_SQL_LOGIN_RUN: dict[str, Any] = {
    "activityName": "Copy_SalesOrders",
    "activityType": "Copy",
    "status": "Failed",
    "activityRunStart": "2025-12-10T02:00:04.1234567Z",
    "activityRunEnd": "2025-12-10T02:00:41.7654321Z",
    "durationInMs": 37_531,
    "error": ADF_SQL_LOGIN_ERROR,
}


def mine_bytes(tmp_path: Path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return mine_lines(LogReader([LogSource(path, name)]))


# --- timestamps -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        (  # Airflow's stamp is 20 characters: the seconds are past the first 19
            "[2024-01-31, 00:05:01 UTC] {taskinstance.py:1937} INFO - start",
            "[2024-01-31, 00:05:09 UTC] {taskinstance.py:1937} ERROR - failed",
            datetime(2024, 1, 31, 0, 5, 9, tzinfo=UTC),
        ),
        (
            "[2024-01-31, 00:05:01.100+0100] {x.py:1} INFO - start",
            "[2024-01-31, 00:05:01.900+0200] {x.py:1} ERROR - failed",
            datetime(2024, 1, 30, 22, 5, 1, tzinfo=UTC),
        ),
        (
            "24/01/31 00:05:01 INFO Stage: start",
            "24/01/31 00:05:09 ERROR Stage: failed",
            datetime(2024, 1, 31, 0, 5, 9, tzinfo=UTC),
        ),
        (
            "2024-01-31 00:05:01,123 INFO [main] Driver: start",
            "2024-01-31 00:05:09,456 ERROR [main] Driver: failed",
            datetime(2024, 1, 31, 0, 5, 9, tzinfo=UTC),
        ),
    ],
)
def test_a_timestamp_is_never_taken_from_the_line_before(first, second, expected):
    parser = LineParser()
    parser.parse(first)
    assert parser.parse(second).time == expected


def test_airflow_burst_window_uses_each_lines_own_second(tmp_path):
    # 00:00:01 is 5 min 8 s before the failure (outside the window), 00:00:09 exactly 5 min.
    log = (
        "[2024-01-31, 00:00:01 UTC] {a.py:1} ERROR - too early\n"
        "[2024-01-31, 00:00:09 UTC] {a.py:1} ERROR - in the window\n"
        "[2024-01-31, 00:05:01 UTC] {a.py:1} INFO - working\n"
        "[2024-01-31, 00:05:09 UTC] {a.py:1} ERROR - Task failed\n"
    )
    result = mine_bytes(tmp_path, "task.log", log.encode())
    assert result.failure is not None
    assert result.failure.time == datetime(2024, 1, 31, 0, 5, 9, tzinfo=UTC)
    assert [e.text.rsplit("- ", 1)[-1] for e in result.burst] == ["in the window", "Task failed"]
    assert result.end == datetime(2024, 1, 31, 0, 5, 9, tzinfo=UTC)


# --- the time in brackets, a bracketed level, the level first -------------------------------
@pytest.mark.parametrize(
    ("line", "expected_format", "expected_time", "message"),
    [
        (
            "[2026-12-05T12:00:01.123Z] ERROR Payment service unavailable",
            "bracketed-time",
            datetime(2026, 12, 5, 12, 0, 1, tzinfo=UTC),
            "Payment service unavailable",
        ),
        (  # Python's "[%(asctime)s] %(levelname)s %(message)s"
            "[2026-12-05 12:00:01,123] ERROR Payment service unavailable",
            "bracketed-time",
            datetime(2026, 12, 5, 12, 0, 1, tzinfo=UTC),
            "Payment service unavailable",
        ),
        (  # Flask's default handler
            "[2026-12-05 12:00:01,123] ERROR in app: Exception on /pay [POST]",
            "bracketed-time",
            datetime(2026, 12, 5, 12, 0, 1, tzinfo=UTC),
            "in app: Exception on /pay [POST]",
        ),
        (  # Kafka
            "[2026-12-05 12:00:01,123] ERROR [ReplicaManager broker=1] Error processing fetch "
            "(kafka.server.ReplicaManager)",
            "bracketed-time",
            datetime(2026, 12, 5, 12, 0, 1, tzinfo=UTC),
            "[ReplicaManager broker=1] Error processing fetch (kafka.server.ReplicaManager)",
        ),
        (  # gunicorn: an offset after a space, the process id, the level in brackets
            "[2026-12-05 13:00:01 +0100] [1234] [ERROR] Worker failed to boot.",
            "bracketed-time",
            datetime(2026, 12, 5, 12, 0, 1, tzinfo=UTC),
            "Worker failed to boot.",
        ),
        (
            "2026-12-05T12:00:01Z [ERROR] Payment service unavailable",
            "iso-bracketed-level",
            datetime(2026, 12, 5, 12, 0, 1, tzinfo=UTC),
            "Payment service unavailable",
        ),
        (  # loguru
            "2026-12-05 12:00:01.123 | ERROR    | pay.api:charge:42 - Payment service unavailable",
            "iso-bracketed-level",
            datetime(2026, 12, 5, 12, 0, 1, tzinfo=UTC),
            "pay.api:charge:42 - Payment service unavailable",
        ),
        (  # structlog's console renderer (an Airflow 3 worker's output): lower case, padded
            "2026-12-05T12:00:01.123456Z [error    ] Payment service unavailable [pay.api] n=1",
            "iso-bracketed-level",
            datetime(2026, 12, 5, 12, 0, 1, tzinfo=UTC),
            "Payment service unavailable [pay.api] n=1",
        ),
        (  # Python's "%(asctime)s - %(levelname)s - %(message)s": no logger name
            "2026-12-05 12:00:01,123 - ERROR - Payment service unavailable",
            "python-logging",
            datetime(2026, 12, 5, 12, 0, 1, tzinfo=UTC),
            "Payment service unavailable",
        ),
        (  # "%(asctime)s - %(name)s - %(levelname)s - %(message)s"
            "2026-12-05 12:00:01,123 - myapp.module - ERROR - Payment service unavailable",
            "python-logging",
            datetime(2026, 12, 5, 12, 0, 1, tzinfo=UTC),
            "Payment service unavailable",
        ),
        (
            "ERROR 2026-12-05 12:00:01 Payment service unavailable",
            "level-first",
            datetime(2026, 12, 5, 12, 0, 1, tzinfo=UTC),
            "Payment service unavailable",
        ),
        (
            "[ERROR] [2026-12-05T12:00:01Z] Payment service unavailable",
            "level-first",
            datetime(2026, 12, 5, 12, 0, 1, tzinfo=UTC),
            "Payment service unavailable",
        ),
    ],
)
def test_common_time_and_level_layouts_are_recognised(
    line, expected_format, expected_time, message
):
    parsed = LineParser().parse(line)
    assert (parsed.header, parsed.format, parsed.level) == (True, expected_format, "ERROR")
    assert parsed.time == expected_time
    assert parsed.message == message


def test_a_log_with_the_time_in_brackets_has_levels_and_a_timeline(tmp_path):
    log = (
        "[2026-12-05T12:00:00.001Z] INFO Starting worker\n"
        "[2026-12-05T12:00:00.500Z] WARN Slow response from db-01\n"
        "[2026-12-05T12:00:01.123Z] ERROR Payment service unavailable\n"
    )
    result = mine_bytes(tmp_path, "app.log", log.encode())
    assert result.formats == {"bracketed-time": 3}
    assert result.levels == {"INFO": 1, "WARN": 1, "ERROR": 1}
    assert result.start == datetime(2026, 12, 5, 12, 0, 0, tzinfo=UTC)
    assert result.end == datetime(2026, 12, 5, 12, 0, 1, tzinfo=UTC)
    assert result.failure is not None and result.failure.level == "ERROR"
    assert result.failure.text.endswith("Payment service unavailable")


# Read on 2026-01-02: a month and day after that (plus a day) is of the year before.
YEARLESS_NOW = datetime(2026, 1, 2, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("line", "expected_format", "level", "expected_time", "message"),
    [
        (
            "E1205 12:00:01.123456   12345 file.go:42] Payment service unavailable",
            "glog",
            "ERROR",
            datetime(2025, 12, 5, 12, 0, 1, tzinfo=UTC),
            "Payment service unavailable",
        ),
        (  # klog, today
            "W0102 07:59:00.000001       1 reflector.go:535] watch of *v1.Pod ended",
            "glog",
            "WARN",
            datetime(2026, 1, 2, 7, 59, tzinfo=UTC),
            "watch of *v1.Pod ended",
        ),
        (
            "Dec  5 12:00:01 host prog[123]: ERROR Payment service unavailable",
            "syslog",
            "ERROR",
            datetime(2025, 12, 5, 12, 0, 1, tzinfo=UTC),
            "prog[123]: ERROR Payment service unavailable",
        ),
        (  # the program's own level word after its tag
            "Jan  2 09:30:00 bastion sshd[912]: error: PAM: Authentication failure for root",
            "syslog",
            "ERROR",
            datetime(2026, 1, 2, 9, 30, tzinfo=UTC),  # a local time ahead of UTC: this year
            "sshd[912]: error: PAM: Authentication failure for root",
        ),
        (  # the priority a relay kept: 11 is user.err
            "<11>Dec 31 23:59:59 host app: disk full",
            "syslog",
            "ERROR",
            datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC),
            "app: disk full",
        ),
        (  # no level said
            "Dec 31 23:59:59 host CRON[77]: (root) CMD (run-parts /etc/cron.hourly)",
            "syslog",
            None,
            datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC),
            "CRON[77]: (root) CMD (run-parts /etc/cron.hourly)",
        ),
        (  # February 29th: the latest leap year
            "Feb 29 10:00:00 host app: ERROR leap",
            "syslog",
            "ERROR",
            datetime(2024, 2, 29, 10, 0, tzinfo=UTC),
            "app: ERROR leap",
        ),
    ],
)
def test_glog_and_syslog_lines_have_a_level_and_a_time_in_the_year_inferred(
    line, expected_format, level, expected_time, message
):
    parsed = LineParser(now=YEARLESS_NOW).parse(line)
    assert (parsed.header, parsed.format, parsed.level) == (True, expected_format, level)
    assert parsed.time == expected_time
    assert parsed.message == message


def test_a_glog_log_has_levels_a_failure_and_a_timeline(tmp_path):
    log = (
        "I1205 12:00:00.000100    4242 main.go:10] Starting controller\n"
        "W1205 12:00:00.500000    4242 client.go:88] Slow response from api-server\n"
        "E1205 12:00:01.123456    4242 sync.go:42] Failed to sync pod default/web-0\n"
        "\tgoroutine 1 [running]:\n"
    )
    result = mine_bytes(tmp_path, "controller.log", log.encode())
    assert result.formats == {"glog": 3}
    assert result.levels == {"INFO": 1, "WARN": 1, "ERROR": 1}
    assert result.failure is not None and result.failure.level == "ERROR"
    assert result.failure.text.endswith("Failed to sync pod default/web-0")
    assert result.start is not None and (result.start.month, result.start.day) == (12, 5)
    assert result.timeline["buckets"]


@pytest.mark.parametrize(
    ("line", "expected_format"),
    [  # each existing format keeps its lines, whichever format matched the line before
        ("24/01/31 00:05:01 ERROR Stage: failed", "spark-log4j"),
        ("[2024-01-31, 00:05:09 UTC] {taskinstance.py:1937} ERROR - failed", "airflow"),
        ("[2024-01-31 00:05:09,123: ERROR/MainProcess] Task failed", "celery"),
        ("2024-01-31 00:05:09,456 - etl.load - ERROR - failed", "python-logging"),
        ("2024-01-31 00:05:09,456 - ERROR - failed", "python-logging"),
        ("2024-01-31 00:05:09,456 ERROR [main] Driver: failed", "log4j"),
        ("2025-12-10T12:34:56Z ERROR [ADF 2108 UserError Web1] failed", "adf"),
        ("ERROR:etl.load:failed", "python-basic"),
    ],
)
def test_the_new_layouts_take_no_line_of_an_existing_format(line, expected_format):
    for before in (
        "[2026-12-05T12:00:01.123Z] INFO x",
        "2026-12-05T12:00:01Z [INFO] x",
        "INFO 2026-12-05 12:00:01 x",
        "2026-12-05 12:00:01,123 - INFO - x",
        "I1205 12:00:01.123456   12345 file.go:42] x",
        "Dec  5 12:00:01 host prog[123]: INFO x",
        "10:00:04.200000 [info ] [Thread-1 (]: x",
        "10:00:04  x",
        "2026-12-05T12:00:01.123456Z [info     ] x [logger]",
    ):
        parser = LineParser()
        assert parser.parse(before).header
        parsed = parser.parse(line)
        assert (parsed.format, parsed.level) == (expected_format, "ERROR")


# --- ADF output as copied from the monitor -----------------------------------------------
@pytest.mark.parametrize(
    "document",
    [
        pytest.param(json.dumps(ADF_ERROR), id="error, one line"),
        pytest.param(json.dumps(ADF_ERROR, indent=2) + "\n\n", id="error, pretty-printed"),
        pytest.param(
            json.dumps([{"activityName": "Web1", "status": "Failed", "error": ADF_ERROR}]),
            id="array of activity runs",
        ),
    ],
)
def test_an_adf_error_document_without_a_time_is_an_error_line(tmp_path, document):
    result = mine_bytes(tmp_path, "output.json", document.encode())
    assert result.formats == {"adf": 1}
    assert result.levels == {"ERROR": 1}
    assert result.failure is not None and result.failure.level == "ERROR"
    assert result.failure.time is None
    assert "[ADF 2108 UserError Web1] Error calling the endpoint" in result.failure.text
    assert "(503) Server Unavailable" in result.cause_text()


def test_an_adf_activity_run_with_its_end_time_keeps_the_time(tmp_path):
    run = {
        "activityName": "Web1",
        "status": "Failed",
        "activityRunEnd": "2025-12-10T12:34:56.1234567Z",
        "error": ADF_ERROR,
    }
    result = mine_bytes(tmp_path, "run.json", json.dumps(run, indent=2).encode())
    assert result.formats == {"adf": 1}
    assert result.failure is not None
    assert result.failure.time == datetime(2025, 12, 10, 12, 34, 56, tzinfo=UTC)
    assert "Error calling the endpoint" in result.failure.text


def test_a_long_adf_error_is_classified_on_its_whole_message(tmp_path):
    message = ADF_SQL_LOGIN_ERROR["message"]
    assert (len(message), message.index("Login failed")) == (766, 546)
    run = json.dumps(ADF_SQL_LOGIN_RUN, indent=2).encode()
    result = mine_bytes(tmp_path, "activity_output.json", run)
    assert result.failure is not None
    # What is shown stays short; what the cause is read from is the whole message.
    assert len(result.failure.text) == EXCERPT_CHARS
    assert "Login failed" not in result.failure.text
    assert "Login failed" not in json.dumps(result.as_dict()["failure"])
    cause = result.cause_text()
    assert "Message=Login failed for user 'adf_loader'.,Source=.Net SqlClient" in cause
    assert cause.endswith("'adf_loader'.,},],'")
    assert classify_error(cause).error_type == "AuthenticationError"


# A failed Copy activity's Output pane in the ADF monitor: its errors as `Code` and `Message`.
ADF_COPY_OUTPUT: dict[str, Any] = {
    "dataRead": 0,
    "dataWritten": 0,
    "copyDuration": 12,
    "errors": [
        {
            "Code": 22755,
            "Message": ADF_SQL_LOGIN_ERROR["message"].removeprefix(
                "Failure happened on 'Source' side. "
            ),
            "EventType": 0,
            "Category": 5,
            "Data": {},
            "MsgId": None,
            "ExceptionType": None,
            "Source": None,
            "StackTrace": None,
            "InnerEventInfos": [],
        }
    ],
    "effectiveIntegrationRuntime": "AutoResolveIntegrationRuntime (West Europe)",
    "executionDetails": [{"source": {"type": "AzureSqlDatabase"}, "status": "Failed"}],
}


def test_a_copy_activity_output_names_its_errors(tmp_path):
    result = mine_bytes(tmp_path, "output.json", json.dumps(ADF_COPY_OUTPUT, indent=2).encode())
    assert result.formats == {"adf": 1}
    assert result.failure is not None
    assert result.failure.text.startswith("ERROR [ADF 22755] ErrorCode=SqlFailedToConnect,")
    assert classify_error(result.cause_text()).error_type == "AuthenticationError"
    # Within a whole activity run, the output's error comes before the run's own.
    run = {**ADF_SQL_LOGIN_RUN, "output": ADF_COPY_OUTPUT}
    run["error"] = run.pop("error")
    result = mine_bytes(tmp_path, "run.json", json.dumps(run, indent=2).encode())
    assert result.levels == {"ERROR": 2}
    assert result.first_error is not None and "[ADF 22755 Copy_SalesOrders]" in (
        result.first_error.text
    )
    assert result.failure is not None and "[ADF 2200 UserError Copy_SalesOrders]" in (
        result.failure.text
    )
    # A code beside a message elsewhere is no error.
    status = {"response": {"code": 200, "message": "OK"}, "errors": []}
    result = mine_bytes(tmp_path, "status.json", json.dumps(status, indent=2).encode())
    assert "adf" not in result.formats and not result.found_error


def test_a_one_line_json_lines_log_is_still_json_lines(tmp_path):
    rows = [
        {"time": "2024-01-31T12:00:00Z", "level": "INFO", "message": "start"},
        {"time": "2024-01-31T12:00:01Z", "level": "ERROR", "message": "boom"},
    ]
    result = mine_bytes(tmp_path, "a.jsonl", json.dumps(rows[1]).encode())
    assert result.formats == {"json-lines": 1}
    text = "\n".join(json.dumps(r) for r in rows)
    result = mine_bytes(tmp_path, "b.jsonl", text.encode())
    assert result.formats == {"json-lines": 2}


# An Airflow 3 task log as its log files and remote log storage hold it: structured lines, the
# exception only in `error_detail` (structlog's dicts: the raised exception first, then its cause).
AIRFLOW3_TASK_LOG = [
    {"timestamp": "2026-12-05T10:00:01.000000Z", "event": "Executing workload", "level": "info"},
    {
        "timestamp": "2026-12-05T10:00:09.000000Z",
        "event": "Task failed with exception",
        "level": "error",
        "logger": "task",
        "error_detail": [
            {
                "exc_type": "RuntimeError",
                "exc_value": "load_orders failed",
                "is_cause": False,
                "frames": [{"filename": "/opt/dags/sf.py", "lineno": 40, "name": "load"}],
            },
            {
                "exc_type": "ProgrammingError",
                "exc_value": "002003 (42S02): SQL compilation error:\nObject 'RAW.ORDERS' "
                "does not exist or not authorized.",
                "is_cause": True,
                "frames": [{"filename": "/opt/dags/sf.py", "lineno": 12, "name": "run"}],
            },
        ],
    },
    {"timestamp": "2026-12-05T10:00:09.100000Z", "event": "Task exited", "level": "info"},
]


def test_an_uploaded_airflow3_log_reports_the_exception_of_its_error_detail(tmp_path):
    text = "\n".join(json.dumps(row) for row in AIRFLOW3_TASK_LOG) + "\n"
    result = mine_bytes(tmp_path, "attempt=1.log", text.encode())
    assert result.failure is not None and result.failure.line == 2
    chain = result.innermost_cause
    assert chain is not None and chain.line == 2
    assert [(link.type, link.line) for link in chain.links] == [
        ("RuntimeError", 2),
        ("ProgrammingError", 2),
    ]
    assert chain.innermost.message == "002003 (42S02): SQL compilation error:"
    assert "Object 'RAW.ORDERS' does not exist" in result.cause_text()
    assert result.levels == {"INFO": 2, "ERROR": 1}


# --- dbt --------------------------------------------------------------------------------------
# A `dbt run` whose model reads a table that is gone, as dbt writes it to logs/dbt.log, to its
# console (what a scheduler keeps as the task's output) and with --log-format json: the summary
# names the model, the database's message follows on the indented lines after it. dbt 1.4 and
# before write each line of an error's message as a record of its own (these two logs); from
# 1.5 on, the error is one record, indented, whose message's further lines carry no time
# (DBT_19_FILE_LOG, DBT_19_CONSOLE_LOG).
DBT_FILE_LOG = "\n".join(
    [
        "=========================== 10:00:00.123456 | 6e1b2c3d-aaaa ===========================",
        "10:00:00.123456 [info ] [MainThread]: Running with dbt=1.4.9",
        "10:00:02.300000 [info ] [MainThread]: Found 12 models, 4 tests, 0 sources",
        "10:00:03.100000 [info ] [Thread-1 (]: 1 of 3 START sql table model dw.stg_orders [RUN]",
        "10:00:04.100000 [debug] [Thread-1 (]: Postgres adapter: Postgres error: relation "
        '"raw.orders_v2" does not exist',
        'LINE 12:   from "warehouse"."raw"."orders_v2"',
        "                ^",
        "10:00:04.200000 [error] [Thread-1 (]: 1 of 3 ERROR creating sql table model "
        "dw.stg_orders [ERROR in 0.50s]",
        "10:00:04.300000 [info ] [Thread-1 (]: 2 of 3 SKIP relation dw.fct_orders [SKIP]",
        "10:00:05.100000 [info ] [MainThread]: Completed with 1 error and 0 warnings:",
        "10:00:05.100000 [info ] [MainThread]:",
        "10:00:05.100000 [error] [MainThread]: Database Error in model stg_orders "
        "(models/staging/stg_orders.sql)",
        '10:00:05.100000 [error] [MainThread]:   relation "raw.orders_v2" does not exist',
        '10:00:05.100000 [error] [MainThread]:   LINE 12:   from "warehouse"."raw"."orders_v2"',
        "10:00:05.100000 [error] [MainThread]:                   ^",
        "10:00:05.100000 [error] [MainThread]:   compiled Code at target/run/dw/stg_orders.sql",
        "10:00:05.100000 [info ] [MainThread]:",
        "10:00:05.100000 [info ] [MainThread]: Done. PASS=1 WARN=0 ERROR=1 SKIP=1 TOTAL=3",
    ]
)
DBT_CONSOLE_LOG = "\n".join(
    [
        "10:00:00  Running with dbt=1.4.9",
        "10:00:03  1 of 3 START sql table model dw.stg_orders [RUN]",
        "10:00:04  1 of 3 ERROR creating sql table model dw.stg_orders [ERROR in 0.50s]",
        "10:00:04  2 of 3 SKIP relation dw.fct_orders [SKIP]",
        "10:00:05  Completed with 1 error and 0 warnings:",
        "10:00:05  ",
        "10:00:05  Database Error in model stg_orders (models/staging/stg_orders.sql)",
        '10:00:05    relation "raw.orders_v2" does not exist',
        '10:00:05    LINE 12:   from "warehouse"."raw"."orders_v2"',
        "10:00:05                    ^",
        "10:00:05    compiled Code at target/run/dw/stg_orders.sql",
        "10:00:05  ",
        "10:00:05  Done. PASS=1 WARN=0 ERROR=1 SKIP=1 TOTAL=3",
    ]
)
# `dbt build` of dbt-core 1.9.11 (dbt-postgres 1.9.1), as it wrote them: a model reading a table
# that is not there, and a test configured to warn. Every line starts with a colour reset.
DBT_19_CONSOLE_LOG = "\n".join(
    [
        "\x1b[0m02:14:43  Running with dbt=1.9.11",
        "\x1b[0m02:14:47  Found 3 models, 1 test, 475 macros",
        "\x1b[0m02:14:48  2 of 4 START sql table model dw.stg_orders ......... [RUN]",
        "\x1b[0m02:14:48  2 of 4 ERROR creating sql table model dw.stg_orders  [\x1b[31mERROR"
        "\x1b[0m in 0.08s]",
        "\x1b[0m02:14:48  3 of 4 START test accepted_values_stg_ok_id__2 ..... [RUN]",
        "\x1b[0m02:14:48  3 of 4 WARN 1 accepted_values_stg_ok_id__2 ......... [\x1b[33mWARN 1"
        "\x1b[0m in 0.08s]",
        "\x1b[0m02:14:48  4 of 4 SKIP relation dw.fct_orders ................. [\x1b[33mSKIP"
        "\x1b[0m]",
        "\x1b[0m02:14:48  ",
        "\x1b[0m02:14:48  \x1b[31mCompleted with 1 error, 0 partial successes, and 1 warning:"
        "\x1b[0m",
        "\x1b[0m02:14:48  ",
        "\x1b[0m02:14:48    Database Error in model stg_orders (models/staging/stg_orders.sql)",
        '  relation "raw.orders_v2" does not exist',
        "  LINE 14: from raw.orders_v2",
        "                ^",
        "  compiled code at target/run/dw/models/staging/stg_orders.sql",
        "\x1b[0m02:14:48  ",
        "\x1b[0m02:14:48  \x1b[33mWarning in test accepted_values_stg_ok_id__2 (models/schema.yml)"
        "\x1b[0m",
        "\x1b[0m02:14:48  Got 1 result, configured to warn if != 0",
        "\x1b[0m02:14:48  ",
        "\x1b[0m02:14:48    compiled code at target/compiled/dw/models/schema.yml/accepted_values"
        "_stg_ok_id__2.sql",
        "\x1b[0m02:14:48  ",
        "\x1b[0m02:14:48  Done. PASS=1 WARN=1 ERROR=1 SKIP=1 TOTAL=4",
    ]
)
DBT_19_FILE_LOG = "\n".join(
    [
        "\x1b[0m02:14:43.652154 [info ] [MainThread]: Running with dbt=1.9.11",
        "\x1b[0m02:14:48.271258 [info ] [Thread-1 (]: 2 of 4 START sql table model dw.stg_orders"
        " [RUN]",
        "\x1b[0m02:14:48.342406 [debug] [Thread-1 (]: Postgres adapter: Postgres error: relation"
        ' "raw.orders_v2" does not exist',
        "LINE 14: from raw.orders_v2",
        "              ^",
        "",
        "\x1b[0m02:14:48.342766 [debug] [Thread-1 (]: On model.dw.stg_orders: ROLLBACK",
        "\x1b[0m02:14:48.351608 [debug] [Thread-1 (]: Database Error in model stg_orders"
        " (models/staging/stg_orders.sql)",
        '  relation "raw.orders_v2" does not exist',
        "  LINE 14: from raw.orders_v2",
        "                ^",
        "  compiled code at target/run/dw/models/staging/stg_orders.sql",
        "\x1b[0m02:14:48.352854 [error] [Thread-1 (]: 2 of 4 ERROR creating sql table model"
        " dw.stg_orders  [\x1b[31mERROR\x1b[0m in 0.08s]",
        "\x1b[0m02:14:48.359228 [info ] [Thread-1 (]: 3 of 4 START test accepted_values_stg_ok_id"
        "__2 [RUN]",
        "\x1b[0m02:14:48.514825 [info ] [MainThread]: \x1b[31mCompleted with 1 error, 0 partial"
        " successes, and 1 warning:\x1b[0m",
        "\x1b[0m02:14:48.515078 [info ] [MainThread]: ",
        "\x1b[0m02:14:48.515351 [error] [MainThread]:   Database Error in model stg_orders"
        " (models/staging/stg_orders.sql)",
        '  relation "raw.orders_v2" does not exist',
        "  LINE 14: from raw.orders_v2",
        "                ^",
        "  compiled code at target/run/dw/models/staging/stg_orders.sql",
        "\x1b[0m02:14:48.515567 [info ] [MainThread]: ",
        "\x1b[0m02:14:48.515808 [warn ] [MainThread]: \x1b[33mWarning in test accepted_values_stg"
        "_ok_id__2 (models/schema.yml)\x1b[0m",
        "\x1b[0m02:14:48.516036 [warn ] [MainThread]: Got 1 result, configured to warn if != 0",
        "\x1b[0m02:14:48.516209 [info ] [MainThread]: ",
        "\x1b[0m02:14:48.516421 [info ] [MainThread]:   compiled code at target/compiled/dw/models"
        "/schema.yml/accepted_values_stg_ok_id__2.sql",
        "\x1b[0m02:14:48.516821 [info ] [MainThread]: Done. PASS=1 WARN=1 ERROR=1 SKIP=1 TOTAL=4",
    ]
)


@pytest.mark.parametrize(
    ("log", "first_error", "failure"),
    [
        pytest.param(DBT_FILE_LOG, 8, 12, id="logs/dbt.log"),
        pytest.param(DBT_CONSOLE_LOG, 3, 7, id="console"),
        pytest.param(DBT_19_FILE_LOG, 13, 17, id="dbt 1.9 logs/dbt.log"),
        pytest.param(DBT_19_CONSOLE_LOG, 4, 11, id="dbt 1.9 console"),
    ],
)
def test_a_failed_dbt_run_reports_the_error_with_the_message_on_the_lines_after_it(
    tmp_path, log, first_error, failure
):
    result = mine_bytes(tmp_path, "dbt.log", log.encode())
    assert result.first_error is not None and result.first_error.line == first_error
    assert " ERROR creating sql table model dw.stg_orders" in result.first_error.text
    assert result.failure is not None and result.failure.line == failure
    assert "Database Error in model stg_orders" in result.failure.text
    cause = result.cause_text()
    assert (
        'Database Error in model stg_orders (models/staging/stg_orders.sql)\nrelation "raw.'
        in cause
    )
    classification = classify_error(cause)
    assert classification.error_type == "DatabaseError"
    assert "db_missing_object" in classification.signals
    assert result.levels["ERROR"] == 2  # the continuing lines are not errors of their own


def test_a_dbt_json_log_has_the_levels_of_its_records(tmp_path):
    def record(level: str, msg: str) -> str:
        info = {"code": "Z029", "level": level, "msg": msg, "thread": "MainThread"}
        info["ts"] = "2024-03-14T10:00:05.100000Z"
        return json.dumps({"data": {"msg": msg}, "info": info})

    log = "\n".join(
        [
            record("info", "Running with dbt=1.7.4"),
            record(
                "error",
                'Database Error in model stg_orders\n  relation "raw.orders_v2" does not exist',
            ),
            record("info", "Done. PASS=1 WARN=0 ERROR=1 SKIP=1 TOTAL=3"),
        ]
    )
    result = mine_bytes(tmp_path, "dbt.json", log.encode())
    assert result.levels == {"INFO": 2, "ERROR": 1}
    assert result.failure is not None and result.failure.line == 2
    assert result.failure.time == datetime(2024, 3, 14, 10, 0, 5, tzinfo=UTC)


# --- Python exception chains ----------------------------------------------------------------
AIRFLOW_DIRECT_CAUSE = """\
[2024-01-31, 12:00:00 UTC] {taskinstance.py:1937} ERROR - Task failed with exception
Traceback (most recent call last):
  File "/usr/lib/python3.11/site-packages/sqlalchemy/engine/base.py", line 1910, in _execute
    self.dialect.do_execute(
  File "/usr/lib/python3.11/site-packages/sqlalchemy/engine/default.py", line 736, in do_execute
    cursor.execute(statement, parameters)
psycopg2.OperationalError: server closed the connection unexpectedly
\tThis probably means the server terminated abnormally
\tbefore or while processing the request.


The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/usr/lib/python3.11/site-packages/airflow/models/taskinstance.py", line 1407, in _run
    self._execute_task_with_callbacks(context, test_mode)
sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) server closed the connection
\tThis probably means the server terminated abnormally
\tbefore or while processing the request.

[SQL: SELECT 1]
(Background on this error at: https://sqlalche.me/e/14/e3q8)
[2024-01-31, 12:00:01 UTC] {taskinstance.py:1400} INFO - Marking task as FAILED.
"""


# An asyncio TaskGroup whose two tasks failed (Python 3.11+): the exception group's traceback
# and each sub-exception's behind bars, between edges.
EXCEPTION_GROUP_LOG = """\
2024-03-14 10:00:00,000 - etl.fetch - INFO - fetching 2 sources
  + Exception Group Traceback (most recent call last):
  |   File "/app/fetch.py", line 30, in <module>
  |     asyncio.run(main())
  |   File "/usr/lib/python3.11/asyncio/taskgroups.py", line 147, in __aexit__
  |     raise me from None
  | ExceptionGroup: unhandled errors in a TaskGroup (2 sub-exceptions)
  +-+---------------- 1 ----------------
    | Traceback (most recent call last):
    |   File "/app/fetch.py", line 12, in orders
    |     raise ConnectionRefusedError(111, "Connect call failed ('10.0.4.7', 5432)")
    | ConnectionRefusedError: [Errno 111] Connect call failed ('10.0.4.7', 5432)
    +---------------- 2 ----------------
    | Traceback (most recent call last):
    |   File "/app/fetch.py", line 20, in prices
    |     await asyncio.wait_for(read(), 30)
    | TimeoutError: reading s3://prices/today.parquet timed out
    +------------------------------------
"""


def test_an_exception_groups_sub_exceptions_are_chains_and_one_is_the_cause(tmp_path):
    result = mine_bytes(tmp_path, "fetch.log", EXCEPTION_GROUP_LOG.encode())
    assert [(c.innermost.type, c.innermost.line) for c in result.chains] == [
        ("ExceptionGroup", 7),
        ("ConnectionRefusedError", 12),
        ("TimeoutError", 17),
    ]
    assert result.innermost_cause is not None
    assert result.innermost_cause.innermost.message == (
        "reading s3://prices/today.parquet timed out"
    )
    assert all(pattern["template"].lstrip()[:1] not in "|+" for pattern in result.patterns)


@pytest.mark.parametrize(
    "joint",
    [
        "The above exception was the direct cause of the following exception:",
        "During handling of the above exception, another exception occurred:",
    ],
)
def test_a_python_chain_with_multi_line_messages_is_one_chain_to_the_first_printed(tmp_path, joint):
    log = AIRFLOW_DIRECT_CAUSE.replace(
        "The above exception was the direct cause of the following exception:", joint
    )
    result = mine_bytes(tmp_path, "task.log", log.encode())
    python = [c for c in result.chains if c.language == "python"]
    assert len(python) == 1
    assert [link.type for link in python[0].links] == [
        "sqlalchemy.exc.OperationalError",
        "psycopg2.OperationalError",
    ]
    assert result.innermost_cause is python[0]
    assert result.innermost_cause.innermost.type == "psycopg2.OperationalError"
    assert result.innermost_cause.innermost.line == 7


def test_a_py4j_error_still_yields_the_java_chain_in_its_message(tmp_path):
    log = (
        "24/01/31 12:00:00 INFO Driver: starting\n"
        "Traceback (most recent call last):\n"
        '  File "/databricks/driver/job.py", line 10, in <module>\n'
        '    df.write.save("/mnt/out")\n'
        "py4j.protocol.Py4JJavaError: An error occurred while calling o123.save.\n"
        ": org.apache.spark.SparkException: Job aborted.\n"
        "\tat org.apache.spark.sql.execution.FileFormatWriter$.write(FileFormatWriter.scala:231)\n"
        "Caused by: java.io.IOException: No space left on device\n"
        "\tat java.io.FileOutputStream.writeBytes(Native Method)\n"
        "24/01/31 12:00:01 INFO Driver: done\n"
    )
    result = mine_bytes(tmp_path, "driver.log", log.encode())
    assert result.innermost_cause is not None
    assert result.innermost_cause.innermost.type == "java.io.IOException"


# --- encodings ------------------------------------------------------------------------------
LOG_TEXT = "24/01/31 12:00:00 INFO Start: café 日本\r\n24/01/31 12:00:01 ERROR Job: failed\r\n"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(LOG_TEXT.encode("utf-16"), id="utf-16 (LE with BOM, as PowerShell)"),
        pytest.param(b"\xfe\xff" + LOG_TEXT.encode("utf-16-be"), id="utf-16-be with BOM"),
        pytest.param(LOG_TEXT.encode("utf-8-sig"), id="utf-8 with BOM"),
    ],
)
def test_text_with_a_byte_order_mark_is_decoded(tmp_path, data):
    assert data[:2] in (b"\xff\xfe", b"\xfe\xff", b"\xef\xbb")
    path = tmp_path / "ps.log"
    path.write_bytes(data)
    lines = [line.text for line in LogReader([LogSource(path, "ps.log")])]
    assert lines == [
        "24/01/31 12:00:00 INFO Start: café 日本",
        "24/01/31 12:00:01 ERROR Job: failed",
    ]
    result = mine_bytes(tmp_path, "ps2.log", data)
    assert result.levels == {"INFO": 1, "ERROR": 1}


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_decoded(tmp_path, encoding):
    data = LOG_TEXT.encode(encoding)
    assert data[:2] not in (b"\xff\xfe", b"\xfe\xff")
    path = tmp_path / "service.log"
    path.write_bytes(data)
    lines = [line.text for line in LogReader([LogSource(path, "service.log")])]
    assert lines == [
        "24/01/31 12:00:00 INFO Start: café 日本",
        "24/01/31 12:00:01 ERROR Job: failed",
    ]
    assert mine_bytes(tmp_path, "service2.log", data).levels == {"INFO": 1, "ERROR": 1}


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"])
def test_a_latin1_or_windows_1252_log_keeps_its_accented_letters(tmp_path, encoding):
    text = (
        "24/01/31 12:00:00 INFO Start: Größe café\n"
        "24/01/31 12:00:01 ERROR Job: table 'Bestellungen_Größe' für Müller is locked\n"
    )
    path = tmp_path / "windows.log"
    path.write_bytes(text.encode(encoding))
    lines = [line.text for line in LogReader([LogSource(path, "windows.log")])]
    assert lines == text.splitlines()
    result = mine_bytes(tmp_path, "windows2.log", text.encode(encoding))
    assert result.failure is not None
    assert "'Bestellungen_Größe' für Müller" in result.failure.text


def test_a_windows_1252_character_latin1_lacks_is_read_as_its_byte_and_utf8_is_kept(tmp_path):
    path = tmp_path / "mixed.log"
    path.write_bytes("cost €5 ".encode("cp1252") + b"\x81 " + "naïve ✓".encode())
    assert [line.text for line in LogReader([LogSource(path, "mixed.log")])] == [
        "cost €5 \x81 naïve ✓"
    ]


def test_terminal_colour_codes_are_removed_before_the_line_is_read(tmp_path):
    log = (
        "\x1b[32m2026-12-05 10:00:01,000 - app - INFO - starting\x1b[0m\n"
        "\x1b[1;31m2026-12-05 10:00:02,000 - app - ERROR - Connection refused to redis-prod"
        "\x1b[0m\n"
        "Traceback (most recent call last):\n"
        '  File "a.py", line 1, in <module>\n'
        "redis.exceptions.ConnectionError: Error 111 connecting to redis-prod:6379.\x1b[K\n"
    )
    result = mine_bytes(tmp_path, "console.log", log.encode())
    assert result.formats == {"python-logging": 2}
    assert result.levels == {"INFO": 1, "ERROR": 1}
    assert result.failure is not None and result.failure.line == 2
    assert result.failure.text == (
        "2026-12-05 10:00:02,000 - app - ERROR - Connection refused to redis-prod"
    )
    assert result.innermost_cause is not None
    assert result.innermost_cause.innermost.message == "Error 111 connecting to redis-prod:6379."
    assert result.start == datetime(2026, 12, 5, 10, 0, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xfe" + bytes(range(256)) * 8,
        b"\xff\xfe" + os.urandom(8000),
        b"\xfe\xff" + os.urandom(8000),
        b"\xff\xfe" + "text\x00more".encode("utf-16-le"),
    ],
)
def test_binary_behind_a_byte_order_mark_is_still_refused(tmp_path, data):
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    with pytest.raises(LogReadError, match="binary data"):
        list(LogReader([LogSource(path, "blob.bin")]))


@pytest.mark.parametrize(
    ("zone", "utc_hour"),
    [("+07", 3), ("+0700", 3), ("+07:00", 3), ("-05", 15), ("UTC", 10)],
)
def test_an_airflow_line_whose_zone_is_an_hours_offset_is_an_airflow_record(zone, utc_hour):
    """Python's %Z names a fixed-offset zone by its hours ("+07"): an Airflow deployment set to
    Asia/Bangkok writes ``[2023-09-08, 10:14:54 +07]``."""
    parsed = LineParser().parse(
        f"[2023-09-08, 10:14:54 {zone}] {{subprocess.py:94}} INFO - Command exited with "
        "return code 1"
    )
    assert (parsed.header, parsed.format, parsed.level) == (True, "airflow", "INFO")
    assert parsed.time == datetime(2023, 9, 8, utc_hour, 14, 54, tzinfo=UTC)
    assert parsed.message == "Command exited with return code 1"
