"""The pure log core: reading (plain, gzip, zip, limits), formats, redaction and mining, on
real public log excerpts (tests/analysis/logs/SOURCES.md) and on logs built here."""

from __future__ import annotations

import gzip
import json
import random
import string
import time
import uuid
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from drain3.drain import Drain, Node

from analysis.logs import mining
from analysis.logs.formats import LineParser, parse_time
from analysis.logs.mining import (
    MAX_CLUSTERS,
    MAX_LEAF_CLUSTERS,
    LogMiner,
    mine_lines,
    redacted_lines,
)
from analysis.logs.reader import (
    LogLimitExceeded,
    LogLine,
    LogReader,
    LogReadError,
    LogSource,
    ReadLimits,
)
from analysis.redaction import REDACTED, LineRedactor, redact

LOGS = Path(__file__).parent / "logs"


def mine(*paths: Path, limits: ReadLimits | None = None):
    return mine_lines(LogReader([LogSource(p, p.name) for p in paths], limits))


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --- real excerpts ------------------------------------------------------------------------
def test_spark_oom_logged_at_warn_is_the_failure_and_its_innermost_cause():
    result = mine(LOGS / "spark_executor_oom.log")
    assert result.formats == {"spark-log4j": 2}
    assert result.innermost_cause is not None
    assert result.innermost_cause.innermost.type == "java.lang.OutOfMemoryError"
    assert result.innermost_cause.innermost.message == "Java heap space"
    assert result.failure is not None and result.failure.line == 2
    assert result.failure.time == datetime(2019, 3, 26, 14, 9, 22, tzinfo=UTC)
    # Stack frames are part of the exception, never patterns of their own.
    assert all("HeapByteBuffer" not in p["template"] for p in result.patterns)


def test_spark_nested_failure_message_names_the_sql_server_login_as_innermost():
    result = mine(LOGS / "spark_streaming_sql_login.log")
    chain = result.innermost_cause
    assert chain is not None
    assert [link.type.rsplit(".", 1)[-1] for link in chain.links] == [
        "StreamingQueryException",
        "SQLServerException",
    ]
    assert chain.innermost.message.startswith("Login failed for user 'admin'")
    assert "Login failed" in result.cause_text()


def test_a_wrapper_whose_message_is_its_cause_leads_to_the_cause(tmp_path):
    """`new RuntimeException(cause)` prints the cause as its message, with nothing between."""
    path = write(
        tmp_path,
        "driver.log",
        "24/01/31 10:00:00 ERROR Executor: Exception in task 0.0 in stage 1.0 (TID 1)\n"
        "java.lang.RuntimeException: java.io.IOException: No space left on device\n"
        "\tat org.apache.spark.util.Utils$.tryOrIOException(Utils.scala:1434)\n",
    )
    chain = mine(path).innermost_cause
    assert chain is not None
    assert [(link.type, link.message) for link in chain.links] == [
        ("java.lang.RuntimeException", ""),
        ("java.io.IOException", "No space left on device"),
    ]


def _chain_lines(*texts: str) -> list[LogLine]:
    return [LogLine("driver.log", i + 1, text) for i, text in enumerate(texts)]


EARLIER_CAUSE = "24/12/05 07:50:11 ERROR Executor: java.io.IOException: No space left on device"


@pytest.mark.parametrize(
    "wrapper",
    [
        "py4j.protocol.Py4JJavaError: An error occurred while calling o123.jdbc.",
        "py4j.protocol.Py4JJavaError: An error occurred while calling "
        "z:org.apache.spark.api.python.PythonRDD.runJob.",
        "System.AggregateException: One or more errors occurred.",
    ],
)
def test_a_wrapper_naming_no_cause_defers_to_the_last_earlier_error_naming_one(wrapper):
    lines = _chain_lines(
        "24/12/05 07:50:01 ERROR Reader: java.lang.IllegalStateException: first, unrelated",
        EARLIER_CAUSE,
        "Traceback (most recent call last):",
        '  File "/databricks/driver/etl.py", line 42, in <module>',
        wrapper,
    )
    chain = mine_lines(lines).innermost_cause
    assert chain is not None
    assert chain.innermost_text() == "java.io.IOException: No space left on device"


@pytest.mark.parametrize(
    ("earlier", "gap"),
    [
        # 40 minutes before, by the timeline
        (EARLIER_CAUSE, ["24/12/05 08:30:00 INFO Driver: retrying the job"]),
        # lines without a time: more lines before than the window
        (
            "ERROR Executor: java.io.IOException: No space left on device",
            ["INFO reading"] * mining.BURST_WINDOW_LINES,
        ),
    ],
    ids=["time", "lines"],
)
def test_a_wrapper_naming_no_cause_does_not_defer_to_an_error_long_before_it(earlier, gap):
    """An error of an earlier attempt, outside the failure's burst window, is not what a
    wrapper logged now wraps: the wrapper stays the cause (an error just before it, as above,
    is still used)."""
    lines = _chain_lines(
        earlier,
        *gap,
        "Traceback (most recent call last):",
        '  File "/databricks/driver/etl.py", line 42, in <module>',
        "py4j.protocol.Py4JJavaError: An error occurred while calling o123.jdbc.",
    )
    chain = mine_lines(lines).innermost_cause
    assert chain is not None
    assert chain.innermost_text() == (
        "py4j.protocol.Py4JJavaError: An error occurred while calling o123.jdbc."
    )


_SUBPROCESS = "[2024-01-10, 10:00:02 UTC] {subprocess.py:93} INFO - "
# What BashOperator logs of a Python program that failed: each line it printed, a record of
# its own, then its own exception naming only the exit code.
BASH_PROGRAM_TRACEBACK = [
    "[2024-01-10, 10:00:00 UTC] {subprocess.py:75} INFO - Running command: ['/bin/bash', '-c', "
    "'python /opt/etl/load.py']",
    _SUBPROCESS + "Traceback (most recent call last):",
    _SUBPROCESS + '  File "/opt/etl/load.py", line 10, in <module>',
    _SUBPROCESS + '    cur.execute("select * from sales")',
    _SUBPROCESS + 'psycopg2.errors.UndefinedTable: relation "sales" does not exist',
    _SUBPROCESS + "LINE 1: select * from sales",
    "[2024-01-10, 10:00:02 UTC] {subprocess.py:97} INFO - Command exited with return code 1",
    "[2024-01-10, 10:00:02 UTC] {taskinstance.py:1937} ERROR - Task failed with exception",
    "Traceback (most recent call last):",
    '  File "/usr/local/lib/python3.8/site-packages/airflow/operators/bash.py", line 210, in '
    "execute",
    "    raise AirflowException(",
    "airflow.exceptions.AirflowException: Bash command failed. The command returned a non-zero "
    "exit code 1.",
    "[2024-01-10, 10:00:02 UTC] {taskinstance.py:1400} INFO - Marking task as FAILED.",
]


def test_a_programs_traceback_logged_a_record_a_line_is_the_cause_the_operator_wraps():
    """The program's exception is read from the records' messages whatever its name (psycopg2's
    ``errors.UndefinedTable`` ends in no ``Error``): it is what BashOperator's exit code wraps,
    and its frames are no patterns."""
    lines = [LogLine("attempt=1.log", n, text) for n, text in enumerate(BASH_PROGRAM_TRACEBACK, 1)]
    result = mine_lines(lines)
    chain = result.innermost_cause
    assert chain is not None
    assert chain.language == "python"
    inner = chain.innermost
    assert (inner.type, inner.message, inner.line) == (
        "psycopg2.errors.UndefinedTable",
        'relation "sales" does not exist',
        5,
    )
    assert "LINE 1: select * from sales" in chain.cause_message
    assert "Command exited" not in chain.cause_message
    assert not any('File "' in p["template"] for p in result.patterns)
    assert result.failure is not None and result.failure.line == 8


@pytest.mark.parametrize(
    "last",
    [
        # Its type names the cause, however bare its message.
        "24/12/05 07:50:12 ERROR Driver: java.lang.NullPointerException: null",
        # A wrapper with no earlier error to defer to stays.
        "24/12/05 07:50:12 ERROR Driver: java.lang.RuntimeException: Job failed",
    ],
)
def test_an_exception_naming_its_cause_or_with_nothing_before_it_stays_innermost(last):
    earlier = [EARLIER_CAUSE] if "NullPointer" in last else []
    chain = mine_lines(_chain_lines(*earlier, last)).innermost_cause
    assert chain is not None and chain.innermost_text() in last


@pytest.mark.parametrize(
    "line",
    [
        "ERROR Task failed: Error " + "a" * 60_000,
        "Exception " + "A" * 60_000,
        "Error " + "a.B" * 20_000,
    ],
    ids=["long-word", "long-capitalised-word", "dotted-run"],
)
def test_a_long_line_naming_an_error_is_mined_in_linear_time(tmp_path, line):
    """A log line may be 64 KB: an exception's name is looked for where a word starts, not
    from every letter of a long word (that was seconds of CPU per line)."""
    path = write(tmp_path, "driver.log", line + "\n")
    started = time.process_time()
    mine(path)
    assert time.process_time() - started < 1.0


def test_spark_driver_log_first_error_patterns_and_counts():
    result = mine(LOGS / "spark_executor_heartbeat.log")
    assert result.levels == {"WARN": 7, "ERROR": 1}
    assert result.first_error is not None and result.first_error.line == 1
    lost = next(p for p in result.patterns if p["template"].startswith("TaskSetManager: Lost"))
    assert lost["count"] == 4
    assert lost["first_line"] == {"file": "spark_executor_heartbeat.log", "line": 2}
    assert lost["first_time"] == lost["last_time"] == "2021-02-03T08:18:39Z"


def test_python_chain_innermost_cause_is_the_first_printed_exception():
    result = mine(LOGS / "airflow_lock_wait_chain.log")
    chain = result.innermost_cause
    assert chain is not None and chain.language == "python"
    assert chain.innermost.type == "MySQLdb._exceptions.OperationalError"
    assert "Lock wait timeout exceeded" in chain.innermost.message
    assert result.formats == {"airflow": 1}
    assert all("cursor.execute" not in p["template"] for p in result.patterns)


def test_a_python_exception_logged_alone_on_its_line_reads_as_python(tmp_path):
    """An Airflow task log whose only error is the exception line (no traceback printed): its
    dotted name is a Python module's, not a JVM package's."""
    line = (
        "[2026-10-01T00:00:05.123+0000] {taskinstance.py:1234} ERROR - "
        'psycopg2.OperationalError: connection to server at "db" failed\n'
    )
    result = mine(write(tmp_path, "task.log", line))
    chain = result.innermost_cause
    assert chain is not None and chain.innermost.type == "psycopg2.OperationalError"
    assert chain.language == "python"
    assert chain.as_dict()["language"] == "python"


def test_a_jvm_exception_alone_on_its_line_still_reads_as_java(tmp_path):
    log = (
        "26/10/01 00:00:05 ERROR Executor: org.apache.spark.SparkException: Job aborted\n"
        "26/10/01 00:00:06 ERROR Executor: psycopg2.OperationalError: it failed\n"
        "\tat org.apache.spark.scheduler.DAGScheduler.failJobAndIndependentStages(x.scala:1)\n"
    )
    result = mine(write(tmp_path, "driver.log", log))
    assert [c.language for c in result.chains] == ["java", "java"]


def test_a_java_trace_cut_by_another_threads_record_keeps_its_last_caused_by(tmp_path):
    # A Spark driver logs from many threads: a record of another one lands between two frames
    # of the trace, and the trace's deepest `Caused by:` comes after it.
    trace = (
        "26/12/07 05:00:10 ERROR FileFormatWriter: Aborting job 3f1c.\n"
        "org.apache.spark.SparkException: Job aborted due to stage failure\n"
        "\tat org.apache.spark.scheduler.DAGScheduler.abortStage(DAGScheduler.scala:2608)\n"
        "Caused by: java.sql.SQLException: Cannot get connection\n"
        "\tat com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:197)\n"
        "26/12/07 05:00:10 INFO BlockManagerInfo: Removed broadcast_3_piece0 on 10.1.2.3:41234\n"
        "\tat com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:162)\n"
        "\t... 12 more\n"
        "Caused by: com.microsoft.sqlserver.jdbc.SQLServerException: The TCP/IP connection to"
        " the host sql-prod-01.database.windows.net, port 1433 has failed.\n"
        "\tat com.microsoft.sqlserver.jdbc.SQLServerConnection.connect(Conn.java:1)\n"
        "\t... 20 more\n"
    )
    log = trace + "26/12/07 05:00:11 ERROR SparkContext: Job failed\n"
    result = mine(write(tmp_path, "driver.log", log))
    chain = result.innermost_cause
    assert chain is not None
    assert [link.type for link in chain.links] == [
        "org.apache.spark.SparkException",
        "java.sql.SQLException",
        "com.microsoft.sqlserver.jdbc.SQLServerException",
    ]
    assert chain.line == 2 and len(result.chains) == 1
    assert "sql-prod-01.database.windows.net" in result.cause_text().splitlines()[0]

    # Up to INTERLEAVED_LINES records of other threads; past them, a `Caused by:` is a chain
    # of its own.
    head = trace.split("26/12/07 05:00:10 INFO")[0]
    orphan = "Caused by: java.net.SocketTimeoutException: Read timed out\n"
    for records, links in ((mining.INTERLEAVED_LINES, [3]), (mining.INTERLEAVED_LINES + 1, [2, 1])):
        quiet = "".join(
            f"26/12/07 05:00:10 INFO Executor: Finished task {n}.0\n" for n in range(records)
        )
        result = mine(write(tmp_path, f"later{records}.log", head + quiet + orphan))
        assert [len(c.links) for c in result.chains] == links


def test_airflow_error_line_with_a_cut_traceback_is_the_failure():
    result = mine(LOGS / "airflow_metadb_restart.log")
    assert result.formats == {"airflow": 2}
    assert result.failure is not None
    assert result.failure.text.endswith("ERROR - LocalTaskJob heartbeat got an exception")
    assert result.failure.line == 2
    assert result.levels == {"INFO": 1, "ERROR": 1}


# --- reading --------------------------------------------------------------------------------
def test_gzip_and_zip_read_like_plain_text(tmp_path):
    text = (LOGS / "spark_executor_heartbeat.log").read_bytes()
    gz = tmp_path / "driver.log.gz"
    gz.write_bytes(gzip.compress(text))
    archive = tmp_path / "logs.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("stderr", text)
        zf.writestr("nested/stdout.gz", gzip.compress(b"hello\n"))
    reader = LogReader([LogSource(gz, gz.name), LogSource(archive, archive.name)])
    lines = list(reader)
    assert [line.file for line in lines].count("driver.log") == 8
    assert lines[8].file == "logs.zip/stderr" and lines[8].number == 1
    assert lines[-1].file == "logs.zip/nested/stdout" and lines[-1].text == "hello"
    assert reader.files_read == ["driver.log", "logs.zip/stderr", "logs.zip/nested/stdout"]
    assert reader.bytes_consumed == gz.stat().st_size + archive.stat().st_size


def test_limits_name_what_was_exceeded(tmp_path):
    path = write(tmp_path, "big.log", "x" * 100 + "\n" + "y\n" * 50)
    with pytest.raises(LogLimitExceeded, match=r"more than 10 lines in all \(at line 11\)"):
        list(LogReader([LogSource(path, "big.log")], ReadLimits(max_lines=10)))
    with pytest.raises(LogLimitExceeded, match=r"exceed 100 bytes of text"):
        list(LogReader([LogSource(path, "big.log")], ReadLimits(max_bytes=100)))


@pytest.mark.parametrize(
    ("max_bytes", "shown"),
    [(3_000_000, "2.9 MB"), (3 * 1024 * 1024, "3 MB"), (2000, "2 KB"), (100, "100 bytes")],
)
def test_the_text_limit_is_named_in_a_size_people_read(tmp_path, max_bytes, shown):
    path = write(tmp_path, "big.log", ("x" * 99 + "\n") * (max_bytes // 100 + 1))
    with pytest.raises(LogLimitExceeded, match=rf"exceed {shown} of text"):
        list(LogReader([LogSource(path, "big.log")], ReadLimits(max_bytes=max_bytes)))


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (1024 * 1024 - 1, "1 MB"),
        (1024 * 1024 - 40, "1 MB"),
        (1023.7, "1 KB"),
        (1023, "1,023 bytes"),
    ],
)
def test_a_size_just_under_a_unit_is_named_in_the_unit_it_rounds_to(size, shown):
    """It was named "1,024 KB" (and "1,024 bytes"): rounded after the unit was chosen."""
    from analysis.logs.reader import human_size

    assert human_size(size) == shown


def test_a_gzip_bomb_stops_at_the_text_limit(tmp_path):
    bomb = tmp_path / "bomb.log.gz"
    bomb.write_bytes(gzip.compress(b"A" * 2000 + b"\n" * (20 * 1024 * 1024)))
    assert bomb.stat().st_size < 100_000
    with pytest.raises(LogLimitExceeded, match="exceed 1 MB"):
        list(LogReader([LogSource(bomb, bomb.name)], ReadLimits(max_bytes=1024 * 1024)))


def test_binary_and_corrupt_input_are_refused(tmp_path):
    png = tmp_path / "shot.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(LogReadError, match="binary data"):
        list(LogReader([LogSource(png, png.name)]))
    bad = tmp_path / "cut.gz"
    bad.write_bytes(gzip.compress(b"hello\n" * 1000)[:40])
    with pytest.raises(LogReadError, match="not a readable gzip file"):
        list(LogReader([LogSource(bad, bad.name)]))


# --- formats -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "fmt", "level", "when"),
    [
        ("24/01/31 12:00:01 ERROR Executor: boom", "spark-log4j", "ERROR", "2024-01-31T12:00:01"),
        (
            "[2024-01-31, 12:00:01 UTC] {taskinstance.py:1937} ERROR - Task failed",
            "airflow",
            "ERROR",
            "2024-01-31T12:00:01",
        ),
        (
            "[2024-01-31T12:00:01.123+0100] {logging_mixin.py:137} WARNING - hm",
            "airflow",
            "WARN",
            "2024-01-31T11:00:01",
        ),
        (
            "2024-01-31 12:00:01,123 - etl.load - CRITICAL - disk full",
            "python-logging",
            "FATAL",
            "2024-01-31T12:00:01",
        ),
        (
            "2024-01-31 12:00:01,123 INFO [main] DriverDaemon: started",
            "log4j",
            "INFO",
            "2024-01-31T12:00:01",
        ),
        ("[2024-01-31 12:00:01,544: WARNING/ForkPoolWorker-16] retry", "celery", "WARN", None),
        ("ERROR:root:could not connect", "python-basic", "ERROR", None),
        (
            '{"timestamp": "2024-01-31T12:00:01Z", "level": "error", "message": "boom"}',
            "json-lines",
            "ERROR",
            "2024-01-31T12:00:01",
        ),
    ],
)
def test_line_formats(line, fmt, level, when):
    parsed = LineParser().parse(line)
    assert (parsed.header, parsed.format, parsed.level) == (True, fmt, level)
    if when:
        assert parsed.time == datetime.fromisoformat(when).replace(tzinfo=UTC)


def test_continuation_lines_have_no_header():
    parser = LineParser()
    assert not parser.parse("\tat org.apache.Foo.bar(Foo.java:1)").header
    assert not parser.parse('  File "x.py", line 1, in <module>').header
    assert parse_time("2024-01-31T12:00:01.5+02:00") == datetime(2024, 1, 31, 10, 0, 1, tzinfo=UTC)


def test_adf_activity_output_document_becomes_error_lines(tmp_path):
    output = {
        "activityName": "Copy_Orders",
        "status": "Failed",
        "activityRunEnd": "2025-12-10T12:34:56Z",
        "error": {
            "errorCode": "2200",
            "message": "ErrorCode=SqlFailedToConnect,'Cannot connect to SQL Database: "
            "'sql-prod.database.windows.net'. Password=Sup3rS3cret!;",
            "failureType": "UserError",
            "target": "Copy_Orders",
            "details": [],
        },
    }
    path = write(tmp_path, "activity.json", json.dumps(output, indent=2))
    result = mine(path)
    assert result.failure is not None
    assert "[ADF 2200 UserError Copy_Orders]" in result.failure.text
    assert "SqlFailedToConnect" in result.failure.text
    assert "Sup3rS3cret" not in json.dumps(result.as_dict())
    assert result.failure.time == datetime(2025, 12, 10, 12, 34, 56, tzinfo=UTC)


# A Databricks `runs/get-output` answer for a failed notebook task, as the API returns it.
DATABRICKS_RUN_OUTPUT = {
    "metadata": {
        "job_id": 11,
        "run_id": 455644833,
        "task_key": "load_orders",
        "state": {
            "life_cycle_state": "INTERNAL_ERROR",
            "result_state": "FAILED",
            "state_message": "Notebook run failed",
        },
        "start_time": 1765368000000,
        "end_time": 1765368096000,
    },
    "error": "ValueError: orders.csv holds no header row",
    "error_trace": "\x1b[0;31m---------------------------------------------------------\x1b[0m\n"
    "\x1b[0;31mValueError\x1b[0m                 Traceback (most recent call last)\n"
    "File \x1b[0;32m<command-1>:4\x1b[0m\n"
    "\x1b[0;31mValueError\x1b[0m: orders.csv holds no header row",
    "logs": "reading orders.csv\nread 0 rows\n",
    "logs_truncated": False,
}


@pytest.mark.parametrize("indent", [None, 2])
def test_a_databricks_run_output_document_is_read_as_its_logs_error_and_trace(tmp_path, indent):
    path = write(tmp_path, "get-output.json", json.dumps(DATABRICKS_RUN_OUTPUT, indent=indent))
    result = mine(path)
    assert result.failure is not None
    assert result.failure.text == (
        "2025-12-10T12:01:36Z ERROR [Databricks load_orders] "
        "ValueError: orders.csv holds no header row"
    )
    assert result.failure.time == datetime(2025, 12, 10, 12, 1, 36, tzinfo=UTC)
    assert result.levels == {"ERROR": 1}
    assert result.lines == 7  # two stdout lines, the error, the trace's four
    assert "\x1b" not in json.dumps(result.as_dict())


def test_an_over_long_line_is_cut_to_its_start_and_end_and_counted(tmp_path):
    wide = "START" + "x" * 600_000 + "END"  # spans several of the reader's blocks
    short_wide = "a" * 20 + "y" * 300 + "b" * 20  # within one block
    path = write(tmp_path, "wide.log", f"first\n{wide}\n{short_wide}\nlast\n" + "z" * 1000)
    reader = LogReader([LogSource(path, "wide.log")], ReadLimits(max_line_chars=100))
    lines = list(reader)
    assert [line.number for line in lines] == [1, 2, 3, 4, 5]
    assert lines[0].text == "first" and lines[3].text == "last"
    cut = lines[1].text
    assert cut.startswith("START") and cut.endswith("END") and len(cut) <= 100
    kept = len(cut) - len(" … [ characters cut] … ") - len(f"{len(wide) - 60:,}")
    assert f" … [{len(wide) - kept:,} characters cut] … " in cut
    assert lines[2].text.startswith("a" * 20) and lines[2].text.endswith("b" * 20)
    assert lines[4].text.startswith("z") and "characters cut" in lines[4].text
    assert reader.lines_cut == 3


def test_an_over_long_line_is_read_in_bounded_memory(tmp_path):
    import tracemalloc

    path = tmp_path / "wide.log"
    with path.open("w") as out:
        for _ in range(2):
            out.write("INFO " + "v" * 10_000_000 + "\n")
    reader = LogReader([LogSource(path, "wide.log")])
    tracemalloc.start()
    try:
        lengths = [len(line.text) for line in reader]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert reader.lines_cut == 2 and all(n <= ReadLimits().max_line_chars for n in lengths)
    assert peak < 4 * 1024 * 1024  # a few of the reader's blocks, not the 10 MB line


def test_a_one_line_run_output_longer_than_the_line_limit_is_read_as_the_document(tmp_path):
    logs = "".join(f"reading part {n} of orders.csv\n" for n in range(5000))
    document = {**DATABRICKS_RUN_OUTPUT, "logs": logs}
    text = json.dumps(document)
    assert "\n" not in text and len(text) > ReadLimits().max_line_chars
    reader = LogReader([LogSource(write(tmp_path, "get-output.json", text), "get-output.json")])
    result = mine_lines(reader)
    assert result.failure is not None
    assert result.failure.text == (
        "2025-12-10T12:01:36Z ERROR [Databricks load_orders] "
        "ValueError: orders.csv holds no header row"
    )
    assert result.lines == 5000 + 1 + 4  # the stdout lines, the error, the trace's four
    assert reader.lines_cut == 0


@pytest.mark.parametrize("max_line_chars", range(1400, 1440))
def test_a_run_output_over_the_document_limit_cut_inside_its_logs_is_still_the_document(
    tmp_path, max_line_chars
):
    # Cut at 40 places: some fall in the middle of the logs' escaped line breaks and quotes.
    logs = "".join(f'part {n} of "orders.csv" \\ read\n' for n in range(200))
    document = {**DATABRICKS_RUN_OUTPUT, "logs": logs}
    path = write(tmp_path, "get-output.json", json.dumps(document))
    limits = ReadLimits(max_line_chars=max_line_chars, max_document_chars=3000)
    reader = LogReader([LogSource(path, path.name)], limits)
    result = mine_lines(reader)
    assert reader.lines_cut == 1
    assert result.failure is not None
    assert "[Databricks load_orders] ValueError: orders.csv holds no header row" in (
        result.failure.text
    )


def test_a_one_line_document_over_the_document_limit_cut_outside_a_string_is_text(tmp_path):
    output = {
        "activityName": "Copy_Orders",
        "rowsCopiedPerPartition": list(range(2000)),
        "error": {"errorCode": "2200", "message": "Cannot connect", "failureType": "UserError"},
    }
    path = write(tmp_path, "activity.json", json.dumps(output))
    limits = ReadLimits(max_line_chars=500, max_document_chars=2000)
    reader = LogReader([LogSource(path, path.name)], limits)
    result = mine_lines(reader)
    assert reader.lines_cut == 1 and result.lines == 1
    assert "[ADF 2200" not in json.dumps(result.as_dict())


# --- redaction ------------------------------------------------------------------------------
def test_secrets_never_reach_patterns_or_excerpts(tmp_path):
    log = (
        "24/01/31 12:00:00 INFO Conn: jdbc:sqlserver://db;user=etl;password=Hunter2Secret!\n"
        "24/01/31 12:00:01 INFO Auth: Authorization: Bearer "
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig\n"
        "-----BEGIN RSA PRIVATE KEY-----\n"
        "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
        "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
        "-----END RSA PRIVATE KEY-----\n"
        "24/01/31 12:00:02 ERROR Job: failed for ops@example.com\n"
    )
    result = mine(write(tmp_path, "secret.log", log))
    dumped = json.dumps(result.as_dict())
    for secret in ("Hunter2Secret", "eyJzdWIiOiIxIn0", "MIIEowIBAAKCAQEA", "VTLw7onL", "ops@"):
        assert secret not in dumped
    assert result.failure is not None and result.failure.line == 7


CUT_SECRETS = [
    ("jdbc:sqlserver://db;user=etl;password=", "Hunter2SecretValue42"),
    ("AccountName=lake;AccountKey=", "Ab1+" * 22 + "=="),
    ('{"client_secret": "', "Zq8~abcdefghijklmnopqrstuvwxyz0123"),
    ("https://lake.blob.core.windows.net/c/b?sv=2021-08-06&sig=", "AbCdEfGhIjKlMnOpQrStUv%3D"),
]


@pytest.mark.parametrize("newline", ["\n", ""])
@pytest.mark.parametrize("key, secret", CUT_SECRETS)
def test_a_secret_whose_key_is_cut_off_with_a_long_lines_middle_is_not_kept(
    tmp_path, key, secret, newline
):
    """The end kept of a cut line may start inside a secret's key ("assword=...") or between
    the key and its value: read alone, the value left was no secret to redaction."""
    limits = ReadLimits(max_line_chars=200)
    for pad in range(0, 150, 3):  # the kept end starts at each place of the key and value
        line = "x" * 1000 + " " + key + secret + ' "' + "y" * pad
        path = write(tmp_path, "cut.log", "INFO start\n" + line + newline)
        reader = LogReader([LogSource(path, "cut.log")], limits)
        texts = [line.text for line in redacted_lines(reader)]
        assert reader.lines_cut == 1
        assert not [t for t in texts if secret[:8] in t or secret[-8:] in t], pad


def test_line_redactor_agrees_with_redact_line_by_line():
    corpus = Path(__file__).parent / "audit_errors.jsonl"
    lines = [
        part
        for row in corpus.read_text().splitlines()[:400]
        for part in json.loads(row)["message"].split("\n")
    ]
    lines += ["Server=x;Password=abc123;", "sig=AbCdEf0123456789", "SAS ?sv=2020&sig=abc%2Bdef"]
    assert LineRedactor().redact(lines) == [redact(line) for line in lines]
    assert REDACTED in "".join(LineRedactor().redact(lines))


@pytest.mark.parametrize("offset", range(-6, 3))
def test_a_statement_or_key_cut_by_a_redaction_batch_is_masked(offset):
    """A log's lines are redacted a batch at a time: a CREATE USER … IDENTIFIED BY whose
    password was the first line of the next batch kept it (its statement was in the batch
    before), as did a netrc entry's password after its "password" line."""
    statement = [
        "SQL> CREATE USER etl",
        "  2  IDENTIFIED BY",
        "  3  Ora-Pass-9;",
        "machine api.contoso.com",
        "  login etl",
        "  password",
        "  Netrc-Pw9",
        "-----BEGIN PRIVATE KEY-----",
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
        "-----END PRIVATE KEY-----",
    ]
    texts = [f"INFO step {n} done" for n in range(mining.REDACT_BATCH + offset)]
    texts += statement + [f"INFO step {n} done" for n in range(20)]
    lines = [LogLine("driver.log", i + 1, text) for i, text in enumerate(texts)]

    out = list(mining.redacted_lines(lines))

    assert [line.number for line in out] == [line.number for line in lines]
    assert [line.text for line in out] == LineRedactor().redact(texts)  # as one batch
    joined = "\n".join(line.text for line in out)
    for secret in ("Ora-Pass-9", "Netrc-Pw9", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"):
        assert secret not in joined


# --- mining ---------------------------------------------------------------------------------
def test_burst_before_failure_rare_lines_and_timeline(tmp_path):
    lines = [f"24/01/31 10:{m:02d}:00 INFO Stage: finished task {m} in 12 ms" for m in range(50)]
    lines.append("24/01/31 10:10:30 ERROR Early: a transient error long before")
    lines.append("24/01/31 10:50:00 WARN Pool: connection pool exhausted (max 10)")
    lines += [f"24/01/31 10:5{i}:30 ERROR Writer: write failed attempt {i}" for i in range(3)]
    lines.append("24/01/31 10:53:00 ERROR Job: aborted")
    result = mine(write(tmp_path, "run.log", "\n".join(lines) + "\n"))
    assert result.first_error is not None and "transient" in result.first_error.text
    assert result.failure is not None and result.failure.text.endswith("Job: aborted")
    assert [e.text[-9:] for e in result.burst] == [
        "attempt 0",
        "attempt 1",
        "attempt 2",
        ": aborted",
    ]
    assert any("pool exhausted" in e.text for e in result.rare_before_failure)
    assert any("pool exhausted" in e.text for e in result.rare_warnings)
    stage = next(p for p in result.patterns if p["template"].startswith("Stage:"))
    assert stage["count"] == 50
    timeline = result.timeline
    assert timeline["levels"] == ["INFO", "WARN", "ERROR"]
    assert sum(b["counts"]["ERROR"] for b in timeline["buckets"]) == 5
    assert sum(b["counts"]["INFO"] for b in timeline["buckets"]) == 50
    assert len(timeline["buckets"]) <= 48


def test_memory_stays_bounded_on_many_distinct_errors(tmp_path):
    path = tmp_path / "noisy.log"
    with path.open("w") as out:
        for i in range(30_000):
            out.write(f"24/01/31 10:00:{i % 60:02d} ERROR W{i % 7000}: failure kind {i % 9000}\n")
    result = mine(path)
    report = result.as_dict()
    assert len(report["patterns"]) <= 25
    assert len(report["burst"]) <= 20
    assert len(json.dumps(report)) < 200_000


def _leaves(node: Node) -> list[Node]:
    return [node, *(leaf for child in node.key_to_child_node.values() for leaf in _leaves(child))]


def test_patterns_kept_stay_under_the_cap_on_a_log_whose_lines_are_all_distinct():
    """Every line a pattern of its own (random words): the patterns kept and the clusters a
    line is compared with stay under their caps, and the report stays right: the early rare
    warning, the count of a pattern seen all along, the failure."""
    rng = random.Random(3)

    def words() -> str:
        return " ".join(
            "".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 8)))
            for _ in range(rng.randint(6, 12))
        )

    texts = ["24/01/31 10:00:00 WARN Pool: connection pool exhausted (max 10)"]
    distinct = 3 * MAX_CLUSTERS
    for i in range(distinct):
        texts.append(f"24/01/31 10:{i // 600 % 60:02d}:{i // 10 % 60:02d} INFO App: {words()}")
        if i % 10 == 0:
            texts.append(
                f"24/01/31 10:{i // 600 % 60:02d}:00 INFO Stage: finished task {i} in 1 ms"
            )
    texts.append("24/01/31 11:00:00 ERROR Job: aborted")
    miner = LogMiner()
    for number, text in enumerate(texts, 1):
        miner.add(LogLine("run.log", number, text))
    assert len(miner._patterns) <= MAX_CLUSTERS
    assert len(miner._drain.id_to_cluster) <= MAX_CLUSTERS
    assert max(len(leaf.cluster_ids) for leaf in _leaves(miner._drain.root_node)) <= (
        MAX_LEAF_CLUSTERS + 1
    )
    result = miner.result()
    assert result.pattern_count >= distinct
    stage = next(p for p in result.patterns if p["template"].startswith("Stage:"))
    assert stage["count"] == distinct // 10
    assert stage["first_line"] == {"file": "run.log", "line": 3}
    assert any("pool exhausted" in e.text for e in result.rare_warnings)
    assert result.failure is not None and result.failure.text.endswith("Job: aborted")
    assert len(json.dumps(result.as_dict())) < 200_000


def test_the_bounded_drain_clusters_lines_as_drain3_does_within_its_caps():
    """Lines of real excerpts and of templates varied at random (merging, wildcards, ties):
    each goes to the cluster drain3's own Drain gives it, with the same template."""
    rng = random.Random(5)
    vocabulary = ["".join(rng.choices(string.ascii_lowercase, k=5)) for _ in range(40)]
    bases = [
        [
            rng.choice(["Executor:", "Writer:", "Pool:", "Stage"]),
            *rng.choices(vocabulary, k=rng.randint(3, 9)),
        ]
        for _ in range(60)
    ]
    messages = [
        mining._MASK.sub("<*>", line.strip())
        for path in sorted(LOGS.glob("*.log"))
        for line in path.read_text().splitlines()
    ]
    for _ in range(4000):
        tokens = list(rng.choice(bases))
        for _ in range(rng.randint(0, 3)):
            tokens[rng.randrange(1, len(tokens))] = rng.choice([*vocabulary[:8], "<*>"])
        messages.append(" ".join(tokens))
    stock = Drain(depth=4, sim_th=0.4, max_children=100, param_str="<*>")
    bounded = mining._Drain(on_evict=lambda cluster_id: None)
    for message in messages:
        expected, _ = stock.add_log_message(message)
        got, _ = bounded.add_log_message(message)
        assert (got.cluster_id, got.get_template()) == (
            expected.cluster_id,
            expected.get_template(),
        ), message
    assert max(len(leaf.cluster_ids) for leaf in _leaves(bounded.root_node)) > 10


def test_a_pattern_seen_through_the_cache_stays_among_those_its_leaf_compares_with():
    """A line repeated word for word matches through the miner's cache, never through Drain:
    after more than MAX_LEAF_CLUSTERS other patterns of its branch (same first word, same
    length), a variant of it still joins its pattern, as in drain3's own Drain."""
    rng = random.Random(1)

    def word() -> str:
        return "".join(rng.choices(string.ascii_lowercase, k=6))

    texts: list[str] = []
    for _ in range(MAX_LEAF_CLUSTERS + 8):
        texts += ["worker alpha heartbeat ok", f"worker {word()} {word()} {word()}"]
    texts.append("worker alpha heartbeat late")
    stock = Drain(depth=4, sim_th=0.4, max_children=100, param_str="<*>")
    for text in texts:
        expected, _ = stock.add_log_message(text)
    miner = LogMiner()
    for number, text in enumerate(texts, 1):
        miner.add(LogLine("run.log", number, text))
    heartbeat = [p for p in miner.result().patterns if p["template"].startswith("worker alpha")]
    assert (
        [(p["template"], p["count"]) for p in heartbeat]
        == [(expected.get_template(), expected.size)]
        == [("worker alpha heartbeat <*>", MAX_LEAF_CLUSTERS + 9)]
    )


def test_json_lines_with_exception_field(tmp_path):
    rows = [
        {"time": "2024-01-31T12:00:00Z", "level": "INFO", "msg": "start"},
        {
            "time": "2024-01-31T12:00:05Z",
            "level": "ERROR",
            "msg": "load failed",
            "exc_info": "Traceback...\nKeyError: 'customer_id'",
        },
    ]
    result = mine(write(tmp_path, "app.jsonl", "\n".join(json.dumps(r) for r in rows)))
    assert result.formats == {"json-lines": 2}
    assert result.levels == {"INFO": 1, "ERROR": 1}
    assert result.failure is not None and result.failure.line == 2
    assert result.end == datetime(2024, 1, 31, 12, 0, 5, tzinfo=UTC)


# --- templates: what is masked ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "template"),
    [
        (
            "psycopg2.OperationalError: could not connect to server: Connection refused",
            "psycopg2.OperationalError: could not connect to server: Connection refused",
        ),
        (
            "py4j.protocol.Py4JJavaError: An error occurred while calling o412.save.",
            "py4j.protocol.Py4JJavaError: An error occurred while calling o<*>.save.",
        ),
        (
            "Cannot open server 'sql-prod-01.database.windows.net' requested by the login.",
            "Cannot open server 'sql-prod-01.database.windows.net' requested by the login.",
        ),
        (
            "Reading s3://data-lake/raw/orders/ from Amazon S3 with log4j and UTF-8",
            "Reading s3://data-lake/raw/orders/ from Amazon S3 with log4j and UTF-8",
        ),
        (
            "Access Denied (Service: Amazon S3; Status Code: 403; Request ID: 7A1B2C3D4E5F6789)",
            "Access Denied (Service: Amazon S3; Status Code: <*>; Request ID: <*>)",
        ),
        (
            "request e4b2c1d0-1234-4abc-9def-0123456789ab to 10.0.0.5:5432 failed after 1.5s "
            "at 2024-01-31T10:00:00.123Z, code=-2146232060 id=a1b2c3d4e5f6",
            "request <*> to <*> failed after <*> at <*>, code=<*> id=<*>",
        ),
        (
            "Added broadcast_12_piece0 in memory on ip-10-0-0-1 (size: 5.0 KiB)",
            "Added broadcast_<*> in memory on ip-<*> (size: <*> KiB)",
        ),
        # an id's number ending a name varies; a short one is part of the name
        (
            "Submitted job-1234 (attempt-1042) from executor-7 to sql-prod-01; ended job-1235.",
            "Submitted job-<*> (attempt-<*>) from executor-7 to sql-prod-01; ended job-<*>.",
        ),
        # an error code is what the line is about
        ("ORA-00942: table or view does not exist", "ORA-00942: table or view does not exist"),
        # a UUID inside a name is an id all the same
        (
            "Deleting /local_disk0/spark-232d6f70-1fa0-4f38-9aee-c0d5f9349ec9/blockmgr-"
            "3fa8b1c2-aaaa-bbbb-cccc-1234567890ab and part-00003-a7b85f8b-7f58-480f-addf-"
            "75983c318bd7-c000.snappy.parquet",
            "Deleting /local_disk0/spark-<*>/blockmgr-<*> and part-<*>-<*>-c000.snappy.parquet",
        ),
        # the punctuation after a number is not part of it
        (
            "Offset commit failed at offset 99: The request timed out after 3.",
            "Offset commit failed at offset <*>: The request timed out after <*>.",
        ),
    ],
)
def test_digits_inside_names_and_hosts_are_not_masked(tmp_path, line, template):
    result = mine(write(tmp_path, "plain.log", line + "\n"))
    assert [p["template"] for p in result.patterns] == [template]


def test_two_runs_of_one_failure_differing_in_times_and_ids_give_the_same_templates(tmp_path):
    def run(day: int, ids: list[str], offset: int) -> str:
        stamp = f"26/12/0{day} 05:0{day}:1{day}"
        return (
            f"{stamp} INFO DiskBlockManager: Created local directory at /local_disk0/spark-"
            f"{ids[0]}/executor-{ids[1]}/blockmgr-{ids[2]}\n"
            f"{stamp} WARN KafkaConsumer: Offset commit failed at offset {offset}: The request"
            " timed out.\n"
            f"{stamp} ERROR FileFormatWriter: Job {ids[3]} aborted writing part-00000-{ids[4]}"
            "-c000.snappy.parquet\n"
        )

    def uuids() -> list[str]:
        return [str(uuid.uuid4()) for _ in range(5)]

    first = mine(write(tmp_path, "run1.log", run(6, uuids(), 99)))
    second = mine(write(tmp_path, "run2.log", run(7, uuids(), 1234567)))
    templates = [p["template"] for p in first.patterns]
    assert templates == [p["template"] for p in second.patterns]
    assert all("<*>" in template for template in templates)


def test_variable_numbers_still_cluster_lines_into_one_template(tmp_path):
    lines = []
    for i in range(40):
        lines.append(
            f"24/01/31 10:00:{i % 60:02d} INFO TaskSetManager: Finished task {i}.0 in stage "
            f"{i % 3}.0 (TID {100 + i}) in {12 + i * 7} ms on 10.139.64.{i % 9} "
            f"(executor {i % 4}) ({i}/40)"
        )
        lines.append(f"24/01/31 10:00:{i % 60:02d} INFO loader: Loading batch {i} of 40")
    result = mine(write(tmp_path, "driver.log", "\n".join(lines) + "\n"))
    templates = {p["template"]: p["count"] for p in result.patterns}
    assert templates == {
        "TaskSetManager: Finished task <*> in stage <*> (TID <*>) in <*> ms on <*> "
        "(executor <*>) (<*>/<*>)": 40,
        "loader: Loading batch <*> of <*>": 40,
    }


# --- exception chains ------------------------------------------------------------------------
def test_a_chain_repeated_on_each_retry_is_kept_once_with_its_count(tmp_path):
    lines = []
    for attempt in range(5):
        lines.append(
            f"24/01/31 10:00:0{attempt} WARN TaskSetManager: Lost task 0.{attempt} in stage 3.0 "
            f"(TID {3 + attempt}) (10.139.64.{5 + attempt} executor {attempt}): "
            "org.apache.spark.SparkException: Python worker exited unexpectedly (crashed)"
        )
        lines.append("\tat org.apache.spark.api.python.BasePythonRunner.read(PythonRunner.scala:1)")
        lines.append(
            "Caused by: java.io.EOFException: End of stream while reading the worker's answer"
        )
    lines.append("24/01/31 10:00:09 ERROR TaskSetManager: Task 0 in stage 3.0 failed 5 times")
    lines.append("java.lang.IllegalStateException: SparkContext has been shut down")
    result = mine(write(tmp_path, "driver.log", "\n".join(lines) + "\n"))
    assert [(c.innermost.type, c.count) for c in result.chains] == [
        ("java.io.EOFException", 5),
        ("java.lang.IllegalStateException", 1),
    ]
    repeated = result.chains[0].as_dict()
    assert (repeated["first_line"], repeated["line"]) == (1, 13)
    assert repeated["first_time"] == "2024-01-31T10:00:00Z"
    assert repeated["time"] == "2024-01-31T10:00:04Z"
    assert result.exception_types == {
        "java.io.EOFException": 5,
        "java.lang.IllegalStateException": 1,
    }


def test_py4j_ids_part_numbers_and_ec2_hosts_do_not_split_one_failure_across_runs(tmp_path):
    """Within one log Drain merges a varying token; across runs each failure line is seen once,
    so what a run names anew (py4j's object id, the part file, the EC2 host) must be masked for
    two runs of one failure to give the same templates."""

    def run(object_id: int, part: int, host: str) -> str:
        return (
            f"24/05/14 09:15:41 WARN TaskSetManager: Lost task 7.0 in stage 3.0 (TID 42) ({host} "
            "executor 1): java.io.FileNotFoundException: No such file or directory: "
            f"s3a://lake/raw/orders/part-{part:05d}-{uuid.uuid4()}-c000.snappy.parquet\n"
            f"24/05/14 09:15:42 INFO BlockManagerInfo: Removed broadcast_3_piece0 on {host}:"
            "41235 in memory (size: 5.0 KiB)\n"
            "24/05/14 09:15:44 ERROR Instrumentation: py4j.protocol.Py4JJavaError: An error "
            f"occurred while calling o{object_id}.save.\n"
        )

    first = mine(write(tmp_path, "run1.log", run(123, 7, "ip-10-0-1-23.ec2.internal")))
    second = mine(write(tmp_path, "run2.log", run(4187, 12, "ip-172-31-8-5.ec2.internal")))
    templates = [p["template"] for p in first.patterns]
    assert templates == [p["template"] for p in second.patterns]
    assert (
        "Instrumentation: py4j.protocol.Py4JJavaError: An error occurred while calling o<*>.save."
        in templates
    )
    assert any(
        "(ip-<*>.ec2.internal executor <*>)" in t and "/part-<*>-<*>-c000" in t for t in templates
    )
    assert (
        "BlockManagerInfo: Removed broadcast_<*> on ip-<*>.ec2.internal:<*> in memory "
        "(size: <*> KiB)" in templates
    )


def test_an_uncaught_python_traceback_after_a_spark_info_line_is_the_failure(tmp_path):
    """A PySpark driver's log: log4j's INFO lines, then the interpreter's traceback on stderr
    (the exception nothing caught, which ended the run). It follows an INFO line but is no
    record of that Java logger's: it is the failure, not an exception handled at INFO."""
    result = mine(
        write(
            tmp_path,
            "driver.log",
            "24/05/14 09:15:40 INFO SparkContext: Running Spark version 3.5.0\n"
            "Traceback (most recent call last):\n"
            '  File "/tmp/job.py", line 10, in <module>\n'
            '    df = spark.table("sales.orders")\n'
            "pyspark.errors.exceptions.captured.AnalysisException: [TABLE_OR_VIEW_NOT_FOUND] "
            "The table or view `sales`.`orders` cannot be found.\n",
        )
    )
    assert result.found_error
    assert not result.warnings_only
    assert "TABLE_OR_VIEW_NOT_FOUND" in result.cause_text()


def test_a_traceback_python_logging_wrote_at_info_is_still_handled(tmp_path):
    """The record of a Python logger at INFO with its exception (`exc_info`) stays handled."""
    result = mine(
        write(
            tmp_path,
            "task.log",
            "2024-05-14 09:15:40,000 - app - INFO - retrying after a reset\n"
            "Traceback (most recent call last):\n"
            '  File "/tmp/job.py", line 10, in <module>\n'
            "    call()\n"
            "ConnectionResetError: reset\n",
        )
    )
    assert not result.found_error


def test_the_jvms_uncaught_exception_after_an_info_line_is_the_failure(tmp_path):
    """The JVM prints an exception nothing caught as `Exception in thread "main" …` on stderr,
    after whatever was logged last (here Spark's INFO line): it is the failure, not an
    exception of that INFO record, handled."""
    result = mine(
        write(
            tmp_path,
            "driver.log",
            "24/05/14 09:15:40 INFO SparkContext: Running Spark version 3.5.0\n"
            'Exception in thread "main" java.lang.ClassNotFoundException: com.contoso.etl.Main\n'
            "\tat java.net.URLClassLoader.findClass(URLClassLoader.java:387)\n"
            "\tat java.lang.ClassLoader.loadClass(ClassLoader.java:418)\n",
        )
    )
    assert result.found_error
    assert not result.warnings_only
    assert "java.lang.ClassNotFoundException: com.contoso.etl.Main" in result.cause_text()
