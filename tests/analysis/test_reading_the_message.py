"""The rule RCA reads the message: it finds the innermost error inside what platforms wrap
around it, names what the message states, never cuts a word, and gives advice that fits the
platform and the message (the issue's examples, one test each). Plain functions, no database."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.rules import RuleRca, build_rule_rca
from analysis.rules.base import Context, Finding, Rule
from analysis.rules.configuration import unsupported_choice
from analysis.rules.reading import (
    cut_at_boundary,
    drop_packages,
    excerpt,
    innermost_error,
    states_no_cause,
    without_boilerplate,
)
from analysis.rules.resource_exhaustion import spark_executor_oom, unschedulable
from analysis.specificity import explain_without_llm
from tests.analysis import failure_tracebacks as tracebacks
from tests.conftest import SHARED_FIXTURES

HERE = Path(__file__).resolve().parent
DEV_SET = SHARED_FIXTURES / "errors" / "dev_errors.jsonl"


def _text(rca: RuleRca) -> str:
    return " ".join([rca.root_cause, *rca.recommendations])


def _recs(rca: RuleRca) -> str:
    return " ".join(rca.recommendations).lower()


# --------------------------------------------------------------------------- innermost error


ADLS_NOT_FOUND = (
    "Failure happened on 'Sink' side. ErrorCode=AdlsGen2OperationFailed,'Type=Microsoft."
    "DataTransfer.Common.Shared.HybridDeliveryException,Message=ADLS Gen2 operation failed for: "
    "Operation returned an invalid status code 'NotFound'. Account: 'stlakeprod01'. FileSystem: "
    "'curated'. ErrorCode: 'FilesystemNotFound'. Message: 'The specified filesystem does not "
    "exist.'..,Source=Microsoft.DataTransfer.ClientLibrary,''Type=Microsoft.Azure.Storage.Data."
    "Models.ErrorSchemaException,Message=Operation returned an invalid status code 'NotFound',"
    "Source=Microsoft.DataTransfer.ClientLibrary,'"
)
SAS_EXPIRED = (
    "ErrorCode=AzureBlobOperationFailed,'Type=Microsoft.DataTransfer.Common.Shared."
    "HybridDeliveryException,Message=Blob operation Failed. ContainerName: raw, path: raw/crm/"
    "accounts.csv.,Source=Microsoft.DataTransfer.ClientLibrary,''Type=Microsoft.WindowsAzure."
    "Storage.StorageException,Message=Server failed to authenticate the request. Make sure the "
    "value of Authorization header is formed correctly including the signature.,Source=Microsoft"
    ".WindowsAzure.Storage,StorageExtendedMessage=Signature not valid in the specified time "
    "frame: Start [Mon, 01 Sep 2025 00:00:00 GMT] - Expiry [Mon, 01 Dec 2025 00:00:00 GMT],,'"
)


def test_adf_chain_skips_a_bare_status_code_and_reads_the_storage_extended_message() -> None:
    """ "Operation returned an invalid status code 'NotFound'" says less than the link before
    it; Azure Storage's StorageExtendedMessage says more than the Message before it."""
    assert "FileSystem: 'curated'" in innermost_error(ADLS_NOT_FOUND)
    assert innermost_error(SAS_EXPIRED).startswith("Signature not valid in the specified time")


def test_a_databricks_run_output_gives_its_error_not_the_state_message() -> None:
    output = {
        "run_id": 991246,
        "state": {
            "result_state": "FAILED",
            "state_message": "Workload failed, see run output for details",
        },
        "error": "AssertionError: 312 duplicate order_id values in batch 2025-12-10",
    }
    assert innermost_error(json.dumps(output)) == output["error"]


@pytest.mark.parametrize(
    ("message", "says", "never"),
    [
        (
            "botocore.errorfactory.NoSuchBucket: An error occurred (NoSuchBucket) when calling "
            "the ListObjectsV2 operation: The specified bucket does not exist",
            "does not exist: the specified bucket does not exist",
            "(does)",
        ),
        (ADLS_NOT_FOUND, "does not exist (curated)", ""),
        (
            ADLS_NOT_FOUND.replace("NotFound", "Forbidden").replace(
                "FileSystem: 'curated'.", "FileSystem: 'raw'. Path: 'sap/ekko'."
            ),
            "lacks permission on storage account stlakeprod01, filesystem raw, path sap/ekko",
            "",
        ),
    ],
)
def test_storage_names_come_from_what_the_error_says(message: str, says: str, never: str) -> None:
    _, rca = explain_without_llm(message, source="adf")
    cause = rca.root_cause.split(" The error says:")[0]
    assert says in cause, rca.root_cause
    assert not never or never not in rca.root_cause


def test_adf_message_chain_gives_the_drivers_own_error() -> None:
    message = (
        "ErrorCode=SqlOperationFailed,'Type=Microsoft.DataTransfer.Common.Shared."
        "HybridDeliveryException,Message=A database operation failed. Please search error to "
        "get more details.,Source=Microsoft.DataTransfer.ClientLibrary,''Type=System.Data."
        "SqlClient.SqlException,Message=Cannot insert the value NULL into column 'CustomerKey', "
        "table 'dw.dbo.FactSales'; column does not allow nulls. INSERT fails.,Source=.Net "
        "SqlClient Data Provider,SqlErrorNumber=515,'"
    )
    assert innermost_error(message) == (
        "Cannot insert the value NULL into column 'CustomerKey', table 'dw.dbo.FactSales'; "
        "column does not allow nulls. INSERT fails."
    )


def test_nested_and_escaped_json_message() -> None:
    message = (
        '{"errorCode": "2011", "message": "{\\"error\\": {\\"message\\": \\"The specified '
        'container raw does not exist in account stlake.\\"}}", "failureType": "UserError"}'
    )
    assert innermost_error(message) == (
        "The specified container raw does not exist in account stlake."
    )


def test_spark_most_recent_failure() -> None:
    message = (
        "org.apache.spark.SparkException: Job aborted due to stage failure: Task 3 in stage "
        "12.0 failed 4 times, most recent failure: Lost task 3.3 in stage 12.0 (TID 411) "
        "(10.139.64.7 executor 2): java.io.FileNotFoundException: abfss://raw@lake.dfs.core."
        "windows.net/orders/part-0001.parquet does not exist\n\tat org.apache.spark.Foo(x:1)"
    )
    assert innermost_error(message) == (
        "FileNotFoundException: abfss://raw@lake.dfs.core.windows.net/orders/part-0001.parquet "
        "does not exist"
    )


def test_python_chained_exception_gives_the_cause() -> None:
    message = (
        "Traceback (most recent call last):\n"
        '  File "/opt/jobs/load.py", line 10, in load\n'
        "    conn = connect(dsn)\n"
        'psycopg2.OperationalError: FATAL: password authentication failed for user "etl"\n'
        "\nThe above exception was the direct cause of the following exception:\n\n"
        "Traceback (most recent call last):\n"
        '  File "/opt/jobs/run.py", line 4, in <module>\n'
        "    load()\n"
        "RuntimeError: load step failed\n"
    )
    assert innermost_error(message) == (
        'OperationalError: FATAL: password authentication failed for user "etl"'
    )


def test_jvm_caused_by_and_odbc_prefixes() -> None:
    jvm = (
        "org.springframework.jdbc.UncategorizedSQLException: StatementCallback; uncategorized\n"
        "Caused by: java.sql.SQLSyntaxErrorException: Table 'sales.orders_v2' doesn't exist\n"
        "\tat com.mysql.cj.jdbc.exceptions.SQLError.createSQLException(SQLError.java:120)"
    )
    assert innermost_error(jvm) == "SQLSyntaxErrorException: Table 'sales.orders_v2' doesn't exist"
    odbc = (
        "[Microsoft][ODBC Driver 18 for SQL Server][SQL Server]Invalid object name "
        "'stage.customers'. (208) (SQLExecDirectW)"
    )
    assert innermost_error(odbc) == "Invalid object name 'stage.customers'. (208) (SQLExecDirectW)"


def test_ssis_ole_db_records_give_the_last_records_description() -> None:
    ssis = (
        "Data Flow Task:Error: SSIS Error Code DTS_E_OLEDBERROR.  An OLE DB error has occurred. "
        'Error code: 0x80040E14.\nAn OLE DB record is available.  Source: "Microsoft SQL Server '
        'Native Client 11.0"  Hresult: 0x80040E14  Description: "The batch could not be '
        'analyzed because of compile errors.".\nAn OLE DB record is available.  Source: '
        '"Microsoft SQL Server Native Client 11.0"  Hresult: 0x80040E14  Description: '
        "\"Invalid column name 'is_active'.\"."
    )
    assert innermost_error(ssis) == "Invalid column name 'is_active'."


def test_a_traceback_ending_in_a_bare_exception_name_gives_that_name() -> None:
    kafka = (
        "Traceback (most recent call last):\n"
        '  File "/usr/lib/python3.9/site-packages/kafka/client_async.py", line 927, in '
        "check_version\n    raise Errors.NoBrokersAvailable()\n"
        "kafka.errors.NoBrokersAvailable"
    )
    assert innermost_error(kafka) == "NoBrokersAvailable"
    # A detail line after it is the exception's own message, read as before.
    assert innermost_error(kafka + ": no broker answered").endswith("no broker answered")


# --------------------------------------------------------------------------- untrusted shapes

# What `drop_packages` does, as the one backtracking regex it replaces: fine on short text, but
# retried from every segment of a long "a.a.a…" run (quadratic).
_PACKAGE_SPEC = re.compile(
    r"\b(?:[a-z_][\w$]*\.)+(?=[A-Z]\w*(?:Exception|Error|Timeout|Failure|Exit|Interrupt)\b)"
    r"|\b(?:[a-z_][\w$]*\.)+(?:errors|exceptions|exc)\.(?=[A-Z])"
)


@pytest.mark.parametrize(
    ("text", "dropped"),
    [
        ("org.apache.spark.SparkException: Job aborted", "SparkException: Job aborted"),
        ("psycopg2.errors.UniqueViolation: duplicate key", "UniqueViolation: duplicate key"),
        ("at com.x.Y$Inner.run; java.io.IOException", "at com.x.Y$Inner.run; IOException"),
        ("Foo$bar.BazException", "Foo$BazException"),
        ("errors.UniqueViolation and a.b.c and x.y.notAnError", None),
        ("a." * 50 + "Z", None),
    ],
)
def test_package_prefixes_are_dropped_before_exception_names(
    text: str, dropped: str | None
) -> None:
    assert drop_packages(text) == (text if dropped is None else dropped)


@given(
    st.lists(
        st.sampled_from(
            [
                *("a", "b", "_", "A", "Z", "1", "$", ".", ".", " ", "-", "é", "É", "(", "\n", "x"),
                *("Error", "FooException", "Timeout", "errors", "exc", "exceptions", "org"),
            ]
        ),
        max_size=16,
    ).map("".join)
)
def test_dropping_packages_is_what_the_backtracking_regex_did(text: str) -> None:
    assert drop_packages(text) == _PACKAGE_SPEC.sub("", text)


def test_blank_lines_around_a_traceback_change_nothing_it_reads() -> None:
    message = (
        "Traceback (most recent call last):\n"
        '  File "/opt/jobs/load.py", line 10, in load\n'
        "    conn = connect(dsn)\n"
        "psycopg2.OperationalError: could not connect to server\n"
        "Caused by: java.net.ConnectException: Connection refused\n"
        "\tat com.x.Client.open(Client.java:12)\n"
    )
    spaced = "\n \t\n".join(message.split("\n"))
    assert innermost_error(spaced).split() == innermost_error(message).split()


def test_an_unsupported_choice_still_names_the_words_before_its_subject() -> None:
    match = unsupported_choice.pattern.search(
        "The Stored Procedure activity only supports Azure SQL Database datasets."
    )
    assert match and match.group(1) == "The Stored Procedure activity"


def _build(found: Rule) -> Callable[[str], Finding]:
    """The rule's finding for its own example after `text` (its builder reads the whole
    message, e.g. for the figures it cites)."""

    def build(text: str) -> Finding:
        message = f"{text}\n{found.example}"
        match = found.pattern.search(message)
        assert match
        finding = found.build(match, Context(message, "databricks", "p", "", "", "", ""))
        assert finding
        return finding

    return build


# Untrusted text on which a backtracking pattern was quadratic: blank runs (a `\s*` at every line
# start), dotted and `$` runs (package prefixes), hyphenated runs (the words before "activity").
# The old code took over 10 s of CPU on each; linear code takes milliseconds. The bound is far
# above either, so load on the machine does not matter.
@pytest.mark.parametrize(
    ("read", "text"),
    [
        (innermost_error, "x" + "\n " * 12_000 + "x"),
        (innermost_error, "a." * 20_000),
        (innermost_error, "a$" * 32_000),
        (unsupported_choice.pattern.search, "a-" * 32_000),
        (innermost_error, "\\" * 32_000),
        (_build(spark_executor_oom), "1" * 32_000),
        (_build(unschedulable), "1" * 64_000),
        (states_no_cause, "An error occurred while calling " + "a." * 32_000 + "!"),
        (states_no_cause, "An error occurred while calling " + "a" * 199 + ".!" * 32_000 + "x"),
        (without_boilerplate, '  File "a.py", line 1, in f\n' + "      x\n" * 32_000),
        (without_boilerplate, "at " + "a." * 32_000),
        (without_boilerplate, "[2024-05-02 " + " " * 32_000 + "ERROR" + " " * 32_000 + "x"),
        (without_boilerplate, "[2024-05-02] ERROR - x" + ' source="a"' * 16_000 + "!"),
        (
            without_boilerplate,
            "  + Exception Group Traceback (most recent call last):\n+" + "-" * 64_000 + "x",
        ),
    ],
    ids=[
        "blank-lines",
        "dotted-run",
        "dollar-run",
        "hyphen-run",
        "backslash-run",
        "digit-run-yarn-memory",
        "digit-run-pending-pod",
        "py4j-call-dotted-run",
        "py4j-call-punctuation-run",
        "deep-frame-source",
        "frame-like-dotted-run",
        "log-prefix-spaces",
        "log-source-fields",
        "exception-group-rule",
    ],
)
def test_pathological_text_is_read_in_linear_time(read: object, text: str) -> None:
    started = time.process_time()
    read(text)  # type: ignore[operator]
    assert time.process_time() - started < 3.0


@pytest.mark.parametrize(
    ("message", "no_cause"),
    [
        ("An error occurred while calling o123.jdbc.", True),
        ("An error occurred while calling z:org.apache.spark.api.python.PythonRDD.runJob.", True),
        ("One or more errors occurred.", True),
        ("Job failed", True),
        ("An error occurred while calling o123.jdbc. Login failed for user 'etl'.", False),
        ("Login timeout expired", False),
        ("null", False),  # NullPointerException: null: the type is the cause
        ("", False),
    ],
)
def test_a_message_that_is_only_a_wrappers_text_states_no_cause(
    message: str, no_cause: bool
) -> None:
    assert states_no_cause(message) is no_cause


def test_databricks_state_message() -> None:
    message = json.dumps(
        {
            "state": {
                "life_cycle_state": "INTERNAL_ERROR",
                "state_message": "Notebook not found: /Repos/etl/transform/load_orders",
            }
        }
    )
    assert innermost_error(message) == "Notebook not found: /Repos/etl/transform/load_orders"


def test_timestamped_log_keeps_its_warning_and_error_lines() -> None:
    message = (
        "[2022-01-24, 16:18:18 UTC] {local_task_job.py:211} WARNING - State of this instance "
        "has been externally set to success. Terminating instance.\n"
        "[2022-01-24, 16:18:18 UTC] {process_utils.py:120} INFO - Sending Signals.SIGTERM.\n"
        "[2022-01-24, 16:18:18 UTC] {taskinstance.py:1408} ERROR - Received SIGTERM."
    )
    assert innermost_error(message) == (
        "State of this instance has been externally set to success. Terminating instance. "
        "Received SIGTERM."
    )


# --------------------------------------------------------------------------- boilerplate


def test_an_airflow_traceback_without_boilerplate_is_its_error() -> None:
    """The task SDK's frames, the DAG's and the driver's, with their source and caret lines:
    what is left is the exception and the detail the driver printed under it."""
    assert without_boilerplate(tracebacks.postgres_refused()) == (
        'psycopg2.OperationalError: connection to server at "warehouse.internal" (10.0.4.12),'
        " port 5432 failed: Connection refused\n"
        "Is the server running on that host and accepting TCP/IP connections?"
    )


def test_chained_tracebacks_keep_each_exception_and_drop_the_headers_between() -> None:
    assert without_boilerplate(tracebacks.sqlalchemy_refused()).splitlines() == [
        'psycopg2.OperationalError: connection to server at "warehouse.internal" (10.0.4.12),'
        " port 5432 failed: Connection refused",
        "Is the server running on that host and accepting TCP/IP connections?",
        'sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) connection to server at "'
        'warehouse.internal" (10.0.4.12), port 5432 failed: Connection refused',
        "Is the server running on that host and accepting TCP/IP connections?",
        "(Background on this error at: https://sqlalche.me/e/20/e3q8)",
    ]


def test_airflow_3_task_log_keeps_the_exception_not_its_log_lines_or_frames() -> None:
    """A task log as Airflow 3's UI shows it (a public report's shape): info lines, the error
    line naming its logger, the exception, then frames without source lines."""
    site = tracebacks.SITE
    frames = "".join(
        f'File "{path}", line {line} in {function}\n\n'
        for path, line, function in [
            (f"{site}/airflow/sdk/execution_time/task_runner.py", 920, "run"),
            (f"{site}/airflow/sdk/execution_time/task_runner.py", 1215, "_execute_task"),
            (f"{site}/airflow/sdk/bases/operator.py", 397, "wrapper"),
            (f"{site}/airflow/providers/standard/operators/python.py", 216, "execute"),
            ("/opt/airflow/dags/repo/rattrapage/dag_rattrapage.py", 48, "validate_payload"),
        ]
    )
    log = (
        "[2026-01-19, 09:35:26] INFO - DAG bundles loaded: dags-folder:"
        ' source="airflow.dag_processing.bundles.manager.DagBundlesManager"\n'
        "[2026-01-19, 09:35:26] INFO - Filling up the DagBag from /opt/airflow/dags/repo/"
        'rattrapage/dag_rattrapage.py: source="airflow.models.dagbag.DagBag"\n'
        '[2026-01-19, 09:35:27] ERROR - Task failed with exception: source="task"\n'
        "KeyError: 'asset_events'\n" + frames
    )

    assert without_boilerplate(log) == "KeyError: 'asset_events'"


def test_airflow_2_log_lines_around_a_traceback_are_dropped() -> None:
    message = (
        "[2024-05-02, 03:00:12 UTC] {taskinstance.py:2698} ERROR - Task failed with exception\n"
        "Traceback (most recent call last):\n"
        '  File "/home/airflow/.local/lib/python3.11/site-packages/airflow/models/taskinstance.py",'
        " line 433, in _execute_task\n"
        "    result = execute_callable(context=context, **execute_callable_kwargs)\n"
        '  File "/opt/airflow/dags/sales/ingest.py", line 57, in load_partition\n'
        "    resp.raise_for_status()\n"
        "requests.exceptions.HTTPError: 503 Server Error: Service Unavailable for url: "
        "https://api.vendor.example.com/v2/export\n"
        "[2024-05-02, 03:00:12 UTC] {taskinstance.py:1138} INFO - Marking task as UP_FOR_RETRY."
        " dag_id=sales_ingest, task_id=load_partition, execution_date=20240501T030000\n"
        "[2024-05-02, 03:00:13 UTC] {standard_task_runner.py:110} ERROR - Failed to execute job"
        " 3021 for task load_partition (503 Server Error; 4021)"
    )

    assert without_boilerplate(message).splitlines() == [
        "requests.exceptions.HTTPError: 503 Server Error: Service Unavailable for url: "
        "https://api.vendor.example.com/v2/export",
        "Failed to execute job 3021 for task load_partition (503 Server Error; 4021)",
    ]


def test_an_exception_groups_frames_and_rules_are_dropped_its_errors_kept() -> None:
    """As Python 3.11 prints a task group's failure (anyio, asyncio.TaskGroup): every line in a
    margin, the sub-exceptions between numbered rules, one nested group."""
    message = (
        "  + Exception Group Traceback (most recent call last):\n"
        '  |   File "/opt/airflow/dags/sync.py", line 12, in run\n'
        "  |     async with asyncio.TaskGroup() as group:\n"
        "  | ExceptionGroup: unhandled errors in a TaskGroup (2 sub-exceptions)\n"
        "  +-+---------------- 1 ----------------\n"
        "    | Traceback (most recent call last):\n"
        '    |   File "/opt/airflow/dags/sync.py", line 7, in load\n'
        "    |     await conn.connect()\n"
        "    |     ^^^^^^^^^^^^^^^^^^^^\n"
        "    | ConnectionRefusedError: connection to db01:5432 refused\n"
        "    +---------------- 2 ----------------\n"
        "    | Exception Group Traceback (most recent call last):\n"
        '    |   File "/opt/airflow/dags/sync.py", line 9, in fetch\n'
        '    |     raise ExceptionGroup("fetch", errors)\n'
        "    | ExceptionGroup: fetch (12 sub-exceptions)\n"
        "    +-+---------------- 1 ----------------\n"
        "      | TimeoutError: read timed out\n"
        "      +---------------- ... ----------------\n"
        "      | and 11 more exceptions\n"
        "      +------------------------------------\n"
    )

    assert without_boilerplate(message).splitlines() == [
        "ExceptionGroup: unhandled errors in a TaskGroup (2 sub-exceptions)",
        "ConnectionRefusedError: connection to db01:5432 refused",
        "ExceptionGroup: fetch (12 sub-exceptions)",
        "TimeoutError: read timed out",
    ]


def test_jvm_frames_their_elisions_and_py4js_wrapper_are_dropped_the_causes_kept() -> None:
    message = (
        "Py4JJavaError: An error occurred while calling o77.parquet.\n"
        ": org.apache.spark.SparkException: Job aborted due to stage failure: Task 3 in stage"
        " 14.0 failed 4 times\n"
        "\tat org.apache.spark.scheduler.DAGScheduler.failJobAndIndependentStages"
        "(DAGScheduler.scala:3440)\n"
        "\tat scala.collection.mutable.ResizableArray.foreach(ResizableArray.scala:62)\n"
        "Driver stacktrace:\n"
        "\tat org.apache.spark.scheduler.DAGScheduler.$anonfun$abortStage$2"
        "(DAGScheduler.scala:3362)\n"
        "Caused by: org.apache.parquet.io.ParquetDecodingException: Can not read value at 0 in"
        " block -1 in file part-00003.snappy.parquet\n"
        "\tat org.apache.parquet.hadoop.InternalParquetRecordReader.nextKeyValue"
        "(InternalParquetRecordReader.java:264)\n"
        "\t... 23 more"
    )

    assert without_boilerplate(message).splitlines() == [
        ": org.apache.spark.SparkException: Job aborted due to stage failure: Task 3 in stage"
        " 14.0 failed 4 times",
        "Caused by: org.apache.parquet.io.ParquetDecodingException: Can not read value at 0 in"
        " block -1 in file part-00003.snappy.parquet",
    ]


def test_a_databricks_notebook_trace_without_boilerplate_is_the_drivers_error() -> None:
    """IPython's frames (the cell's and pyspark's, numbered source lines and arrows), its header
    and rule, py4j's wrapper and the JVM frames: the driver's exception is left."""
    trace = tracebacks.databricks_jdbc_write("Login failed for user 'etl_writer'.")

    assert without_boilerplate(trace) == (
        ": com.microsoft.sqlserver.jdbc.SQLServerException: Login failed for user 'etl_writer'."
    )


def test_a_message_without_boilerplate_is_left_as_it_is() -> None:
    message = (
        "Operation on target Copy_Orders failed: ErrorCode=SqlFailedToConnect,'Type=Microsoft."
        "DataTransfer.Common.Shared.HybridDeliveryException,Message=Cannot connect to SQL"
        " Server: 'onprem-sql01', Database: 'ERP'.,Source=Microsoft.DataTransfer.ClientLibrary,'"
    )
    assert without_boilerplate(message) == message


# --------------------------------------------------------------------------- no cut words


@given(
    st.text(alphabet="abcXYZ019 .,;-_/'\n", min_size=0, max_size=300),
    st.integers(min_value=12, max_value=200),
)
def test_cut_at_boundary_never_ends_inside_a_word_it_could_keep_whole(
    text: str, limit: int
) -> None:
    cut = cut_at_boundary(text, limit)
    if cut == text:
        assert len(text) <= limit
        return
    assert cut.endswith("…") and len(cut) <= limit + 1
    kept = cut[:-1].rstrip()
    assert text.startswith(kept)
    rest = text[len(kept) :]
    inside_a_word = bool(kept) and bool(re.match(r"\w\w", kept[-1] + rest[:1]))
    if inside_a_word:
        # Only a token too long to keep whole (over half the limit) is cut inside.
        token = re.search(r"\S+$", kept)
        assert token is not None and len(token.group(0)) >= limit // 2


def test_long_tokens_in_an_excerpt_are_shortened_and_marked() -> None:
    quoted = excerpt("No module named '" + "x" * 500 + "'")
    assert max(len(token) for token in quoted.split()) <= 81
    assert "…" in quoted


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(
            DEV_SET,
            marks=pytest.mark.skipif(not DEV_SET.exists(), reason="shared dev set not present"),
        ),
        HERE / "heldout_errors.jsonl",
        HERE / "audit_errors.jsonl",
    ],
    ids=["dev", "heldout", "audit"],
)
def test_rcas_cut_no_word(path: Path) -> None:
    """Whenever an RCA marks a cut with "…", the word before it is a whole word of the
    message (not a stump such as "Not" from "Notebook" or "carri" from "carries")."""
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        _, rca = explain_without_llm(record["message"], source=record.get("platform", ""))
        words = set(re.findall(r"\w+", record["message"].lower()))
        for before in re.findall(r"(\w+)…", _text(rca)):
            assert before.lower() in words, (record["id"], before, rca.root_cause)


# --------------------------------------------------------------------------- the issue's examples


def test_null_column_is_named_whatever_the_class() -> None:
    message = (
        "ErrorCode=SqlOperationFailed,'Type=Microsoft.DataTransfer.Common.Shared."
        "HybridDeliveryException,Message=A database operation failed. Please search error to "
        "get more details.,Source=Microsoft.DataTransfer.ClientLibrary,''Type=System.Data."
        "SqlClient.SqlException,Message=Cannot insert the value NULL into column 'CustomerKey', "
        "table 'dw.dbo.FactSales'; column does not allow nulls. INSERT fails.,Source=.Net "
        "SqlClient Data Provider,SqlErrorNumber=515,'"
    )
    for error_type in ("DataError", "DatabaseError"):
        rca = build_rule_rca(error_type, message, source="adf")
        assert "CustomerKey" in rca.root_cause and "FactSales" in rca.root_cause
        assert "read the database error number" not in _recs(rca)
        assert any("CustomerKey" in r for r in rca.recommendations)


def test_the_activity_setting_to_raise_is_named() -> None:
    message = (
        "Operation on target Call_API failed: The request to 'https://api.contoso.com/v1/export' "
        "timed out after 00:01:00. To allow more time, increase the 'httpRequestTimeout' "
        "setting of the Web activity (up to 10 minutes)."
    )
    error_type, rca = explain_without_llm(message, source="adf")
    assert error_type == "TimeoutError"
    assert "'httpRequestTimeout'" in rca.root_cause
    assert any("'httpRequestTimeout'" in r for r in rca.recommendations)


def test_a_resource_that_does_not_exist_is_named() -> None:
    message = (
        "ErrorCode=ResourceNotFound, Message=The Resource 'Microsoft.Sql/servers/sqlsrv-finance/"
        "databases/dwh' under resource group 'rg-data-prod' was not found. For more details "
        "please go to https://aka.ms/ARMResourceNotFoundFix"
    )
    _, rca = explain_without_llm(message, source="adf")
    assert rca.rule == "resource_not_found"
    assert "sqlsrv-finance" in rca.root_cause and "'rg-data-prod'" in rca.root_cause
    assert "does not identify the cause" not in rca.root_cause
    assert "retry" not in _recs(rca)


def test_a_long_databricks_message_is_not_cut_to_a_stump() -> None:
    message = (
        "Operation on target Run_Notebook failed: Run result unavailable: job failed with error "
        "message Notebook not found: /Repos/etl/transform/load_orders"
    )
    _, rca = explain_without_llm(message, source="adf")
    assert "/Repos/etl/transform/load_orders" in rca.root_cause
    assert not re.search(r"\bNot\.", rca.root_cause)
    assert "notebook path" in _recs(rca)


def test_a_databricks_notebook_out_of_memory_gets_databricks_advice() -> None:
    for message in (
        "Operation on target Notebook_Transform failed: Databricks execution failed with error "
        "state: InternalError, error message: java.lang.OutOfMemoryError: Java heap space",
        "The spark driver has stopped unexpectedly and is restarting. Your notebook will be "
        "automatically reattached. java.lang.OutOfMemoryError: Java heap space",
    ):
        rca = build_rule_rca("ResourceExhaustion", message, source="adf")
        assert "integration runtime" not in _recs(rca)
        assert re.search(r"cluster|driver|spark", _recs(rca))


def test_heap_exhaustion_is_not_advised_a_retry() -> None:
    message = (
        "org.apache.spark.SparkException: Job aborted due to stage failure: Task 3 in stage 12.0 "
        "failed 4 times, most recent failure: Lost task 3.3 in stage 12.0 (TID 411) "
        "(10.139.64.7 executor 2): java.lang.OutOfMemoryError: Java heap space"
    )
    rca = build_rule_rca(
        "ResourceExhaustion", message, source="adf", details={"failureType": "SystemError"}
    )
    assert "retry" not in _recs(rca)
    assert "platform-side" not in rca.root_cause
    assert "repeats until its cause is fixed" in rca.root_cause


def test_a_transient_error_is_not_told_it_will_fail_again() -> None:
    message = "Status: 429 (Too Many Requests). The request rate exceeded the account limit."
    rca = build_rule_rca(
        "ExternalServiceError", message, source="adf", details={"failureType": "UserError"}
    )
    assert rca.rule == "throttled"
    assert "fail again" not in rca.root_cause


def test_a_denied_write_is_advised_write_permission() -> None:
    write = (
        "botocore.exceptions.ClientError: An error occurred (AccessDenied) when calling the "
        "PutObject operation: Access Denied"
    )
    rca = build_rule_rca("AuthenticationError", write, source="airflow")
    assert "s3:putobject" in _recs(rca) and "s3:getobject" not in _recs(rca)
    assert "write" in rca.root_cause
    read = write.replace("PutObject", "HeadObject")
    assert "s3:getobject" in _recs(build_rule_rca("AuthenticationError", read, source="airflow"))
    azure = (
        "This request is not authorized to perform this operation using this permission. "
        "ErrorCode: AuthorizationPermissionMismatch. Failed to upload file to "
        "https://stlake.blob.core.windows.net/raw/orders.csv"
    )
    assert "contributor, which allows writes" in _recs(
        build_rule_rca("AuthenticationError", azure, source="adf")
    )


def test_deterministic_account_setup_is_not_retry_later() -> None:
    registration = (
        "Cloud Provider Launch Failure: A cloud provider error was encountered while setting up "
        "the cluster. Azure error code: MissingSubscriptionRegistration. Azure error message: "
        "The subscription is not registered to use namespace 'Microsoft.Compute'."
    )
    for error_type in ("ExternalServiceError", "ConfigurationError"):
        rca = build_rule_rca(error_type, registration, source="databricks")
        assert "Microsoft.Compute" in rca.root_cause
        assert "az provider register --namespace microsoft.compute" in _recs(rca)
        assert "retry later" not in _recs(rca) and "transient" not in _recs(rca)
    limit = (
        "Cloud Provider Launch Failure: A cloud provider error was encountered while setting up "
        "the cluster. Azure error code: PublicIPCountLimitReached. Azure error message: Cannot "
        "create more than 60 public IP addresses for this subscription in this region."
    )
    rca = build_rule_rca("ExternalServiceError", limit, source="databricks")
    assert "retry later" not in _recs(rca) and "transient" not in _recs(rca)


def test_a_template_rca_quotes_what_the_message_states() -> None:
    message = (
        '{"errorCode": "2200", "message": "ErrorCode=UserErrorInvalidColumnMappingColumnNotFound,'
        "'Type=Microsoft.DataTransfer.Common.Shared.HybridDeliveryException,Message=Column "
        "'region_code' specified in column mapping cannot be found in 'dbo.Sales' table.,"
        'Source=Microsoft.DataTransfer.ClientLibrary,\'", "failureType": "UserError"}'
    )
    rca = build_rule_rca("Unknown", message, pipeline="pl_sales", source="adf")
    assert "'region_code'" in rca.root_cause and "dbo.Sales" in rca.root_cause


def test_network_advice_names_the_platforms_runtime() -> None:
    message = (
        "Cannot open server 'sqlsrv-prod' requested by the login. Client with IP address "
        "'20.50.1.7' is not allowed to access the server."
    )
    databricks = build_rule_rca("NetworkError", message, source="databricks")
    assert "databricks cluster" in _recs(databricks)
    assert "integration runtime" not in _recs(databricks)
    assert "integration runtime" in _recs(build_rule_rca("NetworkError", message, source="adf"))


def test_json_in_a_message_nested_past_pythons_recursion_is_read_not_raised() -> None:
    """The webhook bounds the depth of its body, not of the JSON inside an error's text: a
    RecursionError failed the ticket's analysis."""
    stated = "Login failed for user etl_loader on server sql-01 after three attempts"
    nested = "[" * 5000 + "]" * 5000
    message = f'Job failed: {{"detail": {nested}, "message": "{stated}"}}'

    assert innermost_error(message) == stated
    assert stated in without_boilerplate(message)


def test_an_oauth_error_description_is_read_from_truncated_json() -> None:
    """As from whole JSON: `error` is the code, `error_description` says what happened."""
    described = (
        "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the "
        "request is the client secret value"
    )
    body = json.dumps({"error": "invalid_client", "error_description": described, "codes": [1]})
    cut = body[: body.index(described) + len(described) + 1]

    assert innermost_error(f"Failed to acquire a token: {cut}") == described


def test_a_drivers_empty_detail_slot_is_not_quoted_as_the_error() -> None:
    """Simba's "Error message: Unknown." after the HTTP status it got names nothing: the driver's
    own sentence with the status is what is read."""
    message = (
        "java.sql.SQLException: [Simba][SparkJDBCDriver](500593) Communication link failure. "
        "Failed to connect to server. Reason: HTTP Response code: 503, Error message: Unknown."
    )
    assert "HTTP Response code: 503" in innermost_error(message)
    _, rca = explain_without_llm(message)
    assert "“Unknown.”" not in rca.root_cause
    assert "HTTP Response code: 503" in rca.root_cause
