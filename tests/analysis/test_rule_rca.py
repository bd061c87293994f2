"""Rule-based RCA: concrete sub-causes with extracted specifics, 3-5 recommendations for every
class, bounded confidence, and untrusted values kept short and plain. Plain functions."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from analysis.classifier import ERROR_CLASSES, classify_error
from analysis.rules import MAX_VALUE_CHARS, RuleRca, build_rule_rca, clean_value
from analysis.rules.reading import excerpt
from analysis.specificity import explain_without_llm

HERE = Path(__file__).resolve().parent


def _rca(message: str, error_type: str | None = None, **kwargs: object) -> RuleRca:
    error_type = error_type or classify_error(message).error_type
    return build_rule_rca(error_type, message, **kwargs)  # type: ignore[arg-type]


def _assert_well_formed(rca: RuleRca) -> None:
    assert isinstance(rca.root_cause, str) and rca.root_cause
    assert 3 <= len(rca.recommendations) <= 5
    assert len(set(rca.recommendations)) == len(rca.recommendations)
    assert all(isinstance(r, str) and r for r in rca.recommendations)
    assert 0.0 <= rca.confidence <= 0.8


def test_module_not_found_names_module_and_cluster() -> None:
    message = (
        'Traceback (most recent call last):\n  File "/Workspace/etl/load.py", line 3, in <module>\n'
        "ModuleNotFoundError: No module named 'azure.eventhub'"
    )
    rca = _rca(message, source="databricks", pipeline="pl_ingest")
    assert "'azure.eventhub'" in rca.root_cause
    assert "cluster" in rca.root_cause
    assert "pl_ingest" in rca.root_cause
    assert any("'azure'" in r and "cluster" in r for r in rca.recommendations)
    assert 0.6 <= rca.confidence <= 0.8
    airflow = _rca(message, source="airflow")
    assert "Airflow" in airflow.root_cause
    assert any("requirements" in r for r in airflow.recommendations)


def test_aad_invalid_client_secret() -> None:
    message = (
        "Failed to get access token by using service principal. Error: invalid_client, "
        "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the "
        "request is the client secret value, not the client secret ID, for a secret added to "
        "app '00000000-1111-2222-3333-444444444444'."
    )
    rca = _rca(message, source="adf")
    assert rca.root_cause.count("client secret is invalid or expired") == 1
    assert "AADSTS7000215" in rca.root_cause
    assert any("Key Vault" in r and "linked service" in r for r in rca.recommendations)
    assert any("00000000-1111-2222-3333-444444444444" in r for r in rca.recommendations)
    assert rca.confidence >= 0.7


@pytest.mark.parametrize(
    "message",
    [
        # What the Databricks enrichment makes of a JDBC read whose HikariCP pool ran dry.
        "Databricks task 'ingest_orders' FAILED: Workload failed, see run output for details\n"
        "java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, "
        "request timed out after 30000ms.",
        "org.apache.commons.dbcp2: Cannot get a connection, pool error Timeout waiting for idle "
        "object",
    ],
)
def test_a_client_connection_pool_running_dry_is_not_called_out_of_memory(message: str) -> None:
    """The classifier calls it capacity (ResourceExhaustion); the RCA must say which capacity:
    the client's pool, not the compute's memory, disk or quota."""
    rca = _rca(message, source="databricks", pipeline="nightly_sales_load")
    _assert_well_formed(rca)
    assert classify_error(message).error_type == "ResourceExhaustion"
    assert "connection pool" in rca.root_cause
    assert "memory" not in rca.root_cause and "quota" not in rca.root_cause
    assert any("pool" in r for r in rca.recommendations)
    assert not any("Scale up the compute" in r for r in rca.recommendations)


def test_a_databricks_library_installation_timeout_is_not_the_jobs_timeout() -> None:
    """What the enrichment makes of a task whose cluster library never installed: no timeout of
    the job was reached, so raising timeout_seconds is no advice."""
    message = (
        "Databricks task 'load_events' FAILED: Library installation timed out after 1800 "
        "seconds. Libraries that are not yet installed: jar: dbfs:/FileStore/jars/events-udf.jar"
    )
    rca = _rca(message, source="databricks", pipeline="hourly_events_load")
    _assert_well_formed(rca)
    assert classify_error(message).error_type == "TimeoutError"
    assert "libraries did not finish installing" in rca.root_cause
    assert "dbfs:/FileStore/jars/events-udf.jar" in rca.root_cause
    assert "configured timeout" not in rca.root_cause
    assert not any("timeout_seconds" in r for r in rca.recommendations)


@pytest.mark.parametrize(
    "message",
    [
        "Databricks task 'transform' FAILED: Driver is unreachable\n"
        "java.io.IOException: Driver is unreachable",
        "com.databricks.spark.chauffeur.DriverUnreachableException: Driver is unreachable",
    ],
)
def test_a_databricks_driver_that_is_unreachable_is_the_driver_not_a_network_dependency(
    message: str,
) -> None:
    """Databricks says "Driver is unreachable" (the text the default remediation policy lists
    as transient): the Spark driver stopped answering, not a dependency's connection."""
    assert classify_error(message).error_type == "NetworkError"
    rca = _rca(message)
    assert "spark driver" in rca.root_cause.lower()
    assert "dependency" not in rca.root_cause
    assert rca.confidence >= 0.6


def test_spark_executor_and_driver_oom_are_told_apart() -> None:
    executor = _rca(
        "ExecutorLostFailure (executor 7 exited caused by one of the running tasks) Reason: "
        "Container killed by YARN for exceeding memory limits. 9.1 GB of 9 GB physical memory "
        "used. Consider boosting spark.yarn.executor.memoryOverhead."
    )
    driver = _rca(
        "org.apache.spark.SparkException: Job aborted due to stage failure: Total size of "
        "serialized results of 812 tasks (4.0 GiB) is bigger than spark.driver.maxResultSize "
        "(4.0 GiB)"
    )
    assert "executor" in executor.root_cause.lower() and "executor 7" in executor.root_cause
    assert "driver" in driver.root_cause.lower()
    assert "maxResultSize" in driver.root_cause
    assert executor.recommendations != driver.recommendations


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "Transaction (Process ID 77) was deadlocked on lock resources with another process "
            "and has been chosen as the deadlock victim. Rerun the transaction.",
            "deadlock",
        ),
        ("Login failed for user 'svc_loader'.", "'svc_loader'"),
        (
            'psycopg2.OperationalError: connection to server at "pg.internal" (10.0.0.4), port '
            '5432 failed: FATAL:  password authentication failed for user "etl"',
            "'etl'",
        ),
        ("HTTPError: 429 Client Error: Too Many Requests. Retry after 30 seconds", "30"),
        (
            'could not translate host name "warehouse.db.internal" to address: Name or service '
            "not known",
            "warehouse.db.internal",
        ),
        ("OSError: [Errno 28] No space left on device: '/tmp/extract.csv'", "/tmp/extract.csv"),
        (
            "AnalysisException: [UNRESOLVED_COLUMN.WITH_SUGGESTION] A column or function "
            "parameter with name `order_ts` cannot be resolved. Did you mean one of the "
            "following? [`order_date`, `id`].",
            "'order_ts'",
        ),
        (
            "Cannot insert the value NULL into column 'CustomerKey', table 'dw.dbo.Fact'; column "
            "does not allow nulls. INSERT fails.",
            "'CustomerKey'",
        ),
        (
            'psycopg2.errors.NotNullViolation: null value in column "region" of relation '
            '"sales" violates not-null constraint',
            "'region'",
        ),
        (
            "airflow.exceptions.AirflowSensorTimeout: Sensor has timed out; run duration of "
            "3600.5 seconds exceeds the specified timeout of 3600.0.",
            "3600.5 seconds",
        ),
        (
            "Operation on target Copy_Orders failed: Activity exceeded the timeout '0.02:00:00'",
            "0.02:00:00",
        ),
        (
            "org.apache.spark.SparkException: Could not execute broadcast in 300 secs.",
            "300 seconds",
        ),
        ("Invalid object name 'dbo.StagingOrders'.", "'dbo.StagingOrders'"),
        (
            "airflow.exceptions.AirflowNotFoundException: The conn_id `snowflake_prod` isn't "
            "defined",
            "'snowflake_prod'",
        ),
        (
            "com.databricks.dbutils_v1.InputWidgetNotDefined: No input widget named run_date is "
            "defined",
            "'run_date'",
        ),
        ("NameError: name 'days_ago' is not defined", "'days_ago'"),
        (
            "java.lang.ClassNotFoundException: Failed to find data source: "
            "com.databricks.spark.xml",
            "com.databricks.spark.xml",
        ),
    ],
)
def test_specific_sub_causes_mention_extracted_values(message: str, expected: str) -> None:
    rca = _rca(message, pipeline="pl_x")
    _assert_well_formed(rca)
    assert expected in rca.root_cause, rca.root_cause
    assert rca.confidence >= 0.6


@pytest.mark.parametrize(
    ("message", "cause"),
    [
        (
            "[SQL Server]The SELECT permission was denied on the object 'Customers', database "
            "'CRM', schema 'dbo'. (229)",
            "lacks permission (SELECT) on object Customers in database CRM",
        ),
        (
            'The server principal "etl_svc" is not able to access the database "finance" under '
            "the current security context.",
            "Identity etl_svc lacks permission on database finance (the login has no user in it)",
        ),
        (
            "psycopg2.errors.SerializationFailure: canceling statement due to conflict with "
            "recovery",
            "The read replica cancelled the query to apply changes from the primary",
        ),
        (
            "The remote server returned an error: (407) Proxy Authentication Required.",
            "asks for credentials (HTTP 407)",
        ),
        (
            "java.sql.SQLRecoverableException: IO Error: ORA-12170: TNS:Connect timeout occurred",
            "The connection could not be established in time",
        ),
    ],
)
def test_the_cause_is_said_in_the_rcas_own_words(message: str, cause: str) -> None:
    """Not only in the quote of the error that follows it."""
    rca = _rca(message, pipeline="pl_x")
    _assert_well_formed(rca)
    assert cause in rca.root_cause.split(" The error says:")[0], rca.root_cause


def test_timeout_without_duration_has_no_invented_one() -> None:
    rca = _rca("airflow.exceptions.AirflowTaskTimeout: Timeout, PID: 2348")
    assert "execution_timeout" in rca.root_cause
    assert "2348" not in rca.root_cause


def test_log_timestamps_are_not_durations() -> None:
    message = (
        "[2020-09-30 05:44:29,923] {timeout.py:42} ERROR - Process timed out, PID: 12846\n"
        "[2020-09-30 05:44:30,060] {taskinstance.py:1150} ERROR - Task failed"
    )
    rca = _rca(message)
    assert "05:44" not in rca.root_cause


@pytest.mark.parametrize(
    "stamp",
    ["2024-05-01T10:00:00+00:00", "2024-05-01T10:00:00.123-07:00", "at 12:30"],
    ids=["utc-offset", "negative-offset", "clock-time"],
)
def test_a_refused_connections_port_is_not_read_from_a_timestamp(stamp: str) -> None:
    rca = _rca(f"{stamp} ERROR java.net.ConnectException: Connection refused: /10.1.2.3:5432")
    assert rca.rule == "connection_refused", rca
    assert "on port 5432 was refused" in rca.root_cause, rca.root_cause


@pytest.mark.parametrize(
    ("message", "during"),
    [
        ("FAILED: Error in acquiring locks: Error communicating with the metastore", True),
        (
            "FAILED: Error in metadata: java.lang.RuntimeException: Unable to instantiate "
            "org.apache.hadoop.hive.ql.metadata.SessionHiveMetaStoreClient",
            False,
        ),
    ],
    ids=["acquiring-locks", "hive-cli-metadata"],
)
def test_an_unreachable_metastore_says_what_the_engine_was_doing_only_when_named(
    message: str, during: bool
) -> None:
    rca = _rca(message)
    assert rca.rule == "db_unreachable", rca
    assert "could not connect to the Hive metastore" in rca.root_cause, rca.root_cause
    assert ("while acquiring locks" in rca.root_cause) is during, rca.root_cause
    assert "while metadata" not in rca.root_cause, rca.root_cause


@pytest.mark.parametrize("error_type", ERROR_CLASSES)
def test_every_class_gives_three_to_five_recommendations(error_type: str) -> None:
    for message in ("", "something odd happened", "x" * 50_000):
        rca = build_rule_rca(error_type, message, pipeline="pl_daily")
        _assert_well_formed(rca)
        assert "pl_daily" in rca.root_cause


def test_every_corpus_message_yields_a_well_formed_rca() -> None:
    rows = [
        json.loads(line)
        for line in (HERE / "heldout_errors.jsonl").read_text().splitlines()
        if line.strip()
    ]
    for row in rows:
        for error_type in {classify_error(row["message"]).error_type, row["label"]}:
            rca = build_rule_rca(error_type, row["message"], source=row["platform"])
            _assert_well_formed(rca)


def test_template_fallback_includes_pipeline_and_lower_confidence() -> None:
    rca = build_rule_rca("DataError", "the file looked odd", pipeline="pl_sales_daily")
    assert "Pipeline 'pl_sales_daily'" in rca.root_cause
    assert rca.confidence < 0.6
    unknown = build_rule_rca("Unknown", "Job execution failed.", pipeline="pl_sales_daily")
    assert "pl_sales_daily" in unknown.root_cause
    assert unknown.confidence <= 0.25
    assert "Job execution failed" in unknown.root_cause


def test_confidence_never_exceeds_rule_ceiling() -> None:
    message = (
        "AADSTS7000222: The provided client secret keys for app "
        "'11111111-2222-3333-4444-555555555555' are expired."
    )
    assert build_rule_rca("AuthenticationError", message).confidence <= 0.8


def test_untrusted_values_are_truncated_and_plain() -> None:
    module = "evil" + "x" * 500
    rca = _rca(f"ModuleNotFoundError: No module named '{module}'", source="databricks")
    assert module not in rca.root_cause
    assert "evil" in rca.root_cause
    for token in rca.root_cause.split():
        assert len(token) <= MAX_VALUE_CHARS + 4
    markup = _rca(
        "Login failed for user '<script>alert(1)</script>*bold*|[link|http://x]{code}'.",
        pipeline="<b>pl</b>`x`",
    )
    for char in "<>|":
        assert char not in markup.root_cause
        assert all(char not in r for r in markup.recommendations)


@pytest.mark.parametrize(
    ("message", "quoted"),
    [
        (
            "FileNotFoundError: [Errno 2] No such file or directory: 'D:\\exports\\daily\\x.csv'",
            "'D:\\exports\\daily\\x.csv'",
        ),
        (
            "org.apache.spark.sql.AnalysisException: Path does not exist: /mnt/raw/*.parquet",
            "'/mnt/raw/*.parquet'",
        ),
        ("KeyError: '$.items[0]'", "key '$.items[0]' in a dict"),
    ],
)
def test_quoted_paths_keep_their_backslashes_asterisks_and_brackets(
    message: str, quoted: str
) -> None:
    """The cleaning dropped backslashes, asterisks and brackets: a Windows path was quoted as
    'D:exportsdailyx.csv', a glob as '/mnt/raw/.parquet', a JSON path as '$.items0'. The RCA is
    plain text; the renderers escape it for their markup."""
    rca = _rca(message, pipeline="pl_x")
    assert quoted in rca.root_cause, rca.root_cause
    hostile = "*bold* [link] {code} ~x~ ^y^ `z` \\\\ line"
    assert clean_value(hostile) == hostile
    assert excerpt(f"said {hostile}") == f"said {hostile}"
    assert clean_value("D:\\a\u202e\x00b") == "D:\\ab"


def test_names_in_any_script_keep_their_characters_and_markup_does_not() -> None:
    rca = _rca(
        "Conversion failed for column «Montant» — value \u201812,5€\u2019 is not numeric",
        pipeline="pl_売上_注文_🚀_load",
    )
    assert rca.root_cause.startswith("Pipeline 'pl_売上_注文_🚀_load' failed")
    assert "«Montant» — value \u201812,5€\u2019" in rca.root_cause
    # A bidi override or zero-width character could make a responder read something else.
    assert clean_value("pl\u202eload\u200b") == "plload"


def test_clean_value() -> None:
    assert clean_value("  a\n\tb  ") == "a b"
    assert clean_value("<img src=x onerror=y>") == "img src=x onerror=y"
    long = clean_value("y" * 200)
    assert len(long) == MAX_VALUE_CHARS and long.endswith("…")
    assert clean_value("'") == ""
    assert clean_value(None) == "None"


def test_pipeline_name_is_capped() -> None:
    rca = build_rule_rca("Unknown", "", pipeline="p" * 1000)
    assert "p" * (MAX_VALUE_CHARS + 1) not in rca.root_cause


def test_adf_failure_type_is_used() -> None:
    message = "Execution Timeout Expired. The timeout period elapsed prior to completion."
    system = _rca(message, details={"failure_type": "SystemError", "error_code": "2200"})
    user = _rca(message, details={"failure_type": "UserError"})
    assert "system error" in system.root_cause
    assert "SystemError" in system.recommendations[0]
    assert "error code 2200" in system.root_cause
    assert "user error" in user.root_cause
    _assert_well_formed(system)
    _assert_well_formed(user)


def test_a_databricks_termination_code_is_called_so() -> None:
    """A Databricks run's RUN_EXECUTION_ERROR says how the run ended ("error code" read as if
    it named the error)."""
    rca = _rca(
        "Workload failed, see run output for details",
        "Unknown",
        source="databricks",
        details={"error_code": "RUN_EXECUTION_ERROR"},
    )
    assert "(termination code RUN_EXECUTION_ERROR)" in rca.root_cause
    assert "error code" not in rca.root_cause


def test_details_accept_adf_spelling_and_ignore_odd_values() -> None:
    rca = build_rule_rca(
        "TimeoutError",
        "Execution Timeout Expired.",
        details={"failureType": "SystemError", "errorCode": 2200, "activity": {"x": 1}},
    )
    assert "system error" in rca.root_cause
    assert "error code 2200" in rca.root_cause
    assert "activity" not in rca.root_cause.split(":")[0]


def test_details_activity_and_error_code_feed_the_analysis() -> None:
    rca = build_rule_rca(
        "ResourceExhaustion",
        "Job failed due to reason: at Sink 'sink1': see logs",
        pipeline="pl_df",
        details={"error_code": "DF-Executor-OutOfMemoryError", "activity": "DataFlow_Transform"},
        source="adf",
    )
    assert "activity 'DataFlow_Transform'" in rca.root_cause
    assert "out of memory" in rca.root_cause
    assert rca.confidence >= 0.6


def test_unknown_class_hints_stay_low_confidence() -> None:
    rca = build_rule_rca(
        "Unknown",
        "Operation on target ForEach1 failed: Activity failed because an inner activity failed",
    )
    assert "activity inside it failed" in rca.root_cause
    assert rca.confidence <= 0.3


def test_unknown_error_type_string_falls_back() -> None:
    rca = build_rule_rca("SomethingElse", "boom", pipeline="p1")
    _assert_well_formed(rca)
    assert rca.confidence <= 0.25


@pytest.mark.parametrize(
    ("message", "rule", "named"),
    [
        (
            "Compilation Error\n  Model 'model.shop.fct_orders' (models/marts/fct_orders.sql) "
            "depends on a node named 'stg_orders' which was not found",
            "dbt_unresolved_ref",
            ["'stg_orders'", "'model.shop.fct_orders'", "ref()"],
        ),
        (
            "Compilation Error in model customers\n  Model 'model.jaffle.customers' depends on a "
            "source named 'raw.payments' which was not found",
            "dbt_unresolved_ref",
            ["source 'raw.payments'", "source()"],
        ),
        (
            "_pickle.PicklingError: Could not serialize object: RuntimeError: It appears that you "
            "are attempting to reference SparkContext from a broadcast variable (SPARK-5063).",
            "not_serializable",
            ["SparkContext", "SPARK-5063"],
        ),
        (
            "TypeError: cannot pickle '_thread.RLock' object\n_pickle.PicklingError: Could not "
            "serialize object",
            "not_serializable",
            ["'_thread.RLock'"],
        ),
        (
            "pyodbc.Error: ('01000', \"[01000] [unixODBC][Driver Manager]Can't open lib 'ODBC "
            "Driver 18 for SQL Server' : file not found (0) (SQLDriverConnect)\")",
            "odbc_driver_missing",
            ["'ODBC Driver 18 for SQL Server'", "can't open lib"],
        ),
        (
            "[IM002] [Microsoft][ODBC Driver Manager] Data source name not found and no default "
            "driver specified",
            "odbc_driver_missing",
            ["data source name not found"],
        ),
        (
            "The current user has exceeded the maximum number of concurrent queries allowed by "
            "the server.,Source=Microsoft Salesforce ODBC Driver",
            "quota",
            ["concurrent queries"],
        ),
        (
            "ErrorCode=DataTypeNotSupported,Message=Cannot convert from type:System.Int64 to "
            "type:System.DateTime.,Source=,",
            "bad_value",
            ["System.Int64 to System.DateTime"],
        ),
        (
            "The integration runtime 'ir-shir-01' under data factory 'adf-sales' does not exist.",
            "linked_service",
            ["runtime 'ir-shir-01'", "data factory 'adf-sales'"],
        ),
        (
            "Message=HdfsBridge::recordReaderFillBuffer - Unexpected error encountered filling "
            "record reader buffer: ClassCastException: ,Source=.Net SqlClient Data Provider",
            "schema_mismatch",
            ["PolyBase", "ClassCastException"],
        ),
        (
            "000625 (57014): Statement '01b4' has locked table 'MODELS' in transaction 1715 and "
            "this lock has not yet been released.\nYour statement '01b5' was aborted because the "
            "number of waiters for this lock exceeds the 20 statements limit.",
            "lock_timeout",
            ["table 'MODELS'", "more than 20 statements"],
        ),
        (
            "azure.core.exceptions.HttpResponseError: Operations per second is over the account "
            "limit.",
            "throttled",
            ["Operations per second is over the account limit"],
        ),
        (
            "PodLaunchFailedException: Pod docker image cannot be pulled, unable to start: "
            "ErrImagePull\npull QPS exceeded",
            "throttled",
            ["pull QPS exceeded"],
        ),
        (
            "py4j.security.Py4JSecurityException: Method public org.apache.spark.SparkConf "
            "org.apache.spark.SparkContext.getConf() is not whitelisted on class class "
            "org.apache.spark.SparkContext",
            "sandbox_blocked",
            ["'org.apache.spark.SparkContext.getConf'", "access mode"],
        ),
        (
            "IllegalArgumentException: Could not find required option: checkpointLocation. "
            "Please provide it using `writeStream.checkpointLocation`.",
            "missing_option",
            ["'writeStream.checkpointLocation'"],
        ),
        (
            "docker.errors.ImageNotFound: 404 Client Error for http+docker://localhost/v1.43/"
            'images/create: Not Found ("No such image: acme/etl:2024.05")',
            "missing_artifact",
            ["'acme/etl:2024.05'"],
        ),
        (
            "System.IO.FileNotFoundException: Could not load file or assembly "
            "'Newtonsoft.Json, Version=13.0.0.0, Culture=neutral' or one of its dependencies.",
            "missing_artifact",
            ["'Newtonsoft.Json'"],
        ),
        (
            "sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) connection to server "
            'at "pg.internal" (10.0.0.5), port 5432 failed: FATAL:  role "airflow_ro" does not '
            "exist",
            "db_role_missing",
            ["role 'airflow_ro'"],
        ),
        (
            "[2024-05-02, 01:00:00 UTC] {local_task_job_runner.py:211} WARNING - The recorded "
            "hostname worker-7.airflow.svc does not match this instance's hostname worker-7\n"
            "airflow.exceptions.AirflowException: Hostname of job runner does not match",
            "hostname_mismatch",
            ["recorded 'worker-7.airflow.svc'"],
        ),
        (
            "[airflow] SLA miss on DAG=nightly_finance\nHere's a list of tasks that missed their "
            "SLAs:\n<pre><code>post_ledger on 2024-07-02T01:00:00+00:00\nclose_books on "
            "2024-07-02T01:00:00+00:00\n<code></pre>\nBlocking tasks:\n<pre><code>pull_gl on "
            "2024-07-02T01:00:00+00:00\n<code></pre>",
            "sla_miss",
            ["DAG 'nightly_finance'", "'post_ledger', 'close_books'", "waiting on: 'pull_gl'"],
        ),
        (
            "System.IO.IOException: The network path was not found.\n   at "
            "System.IO.Directory.GetFiles(String path) in Export.cs: path "
            "\\\\nas-02.corp.local\\drops\\in",
            "network_share_unreachable",
            ["share 'drops' on host 'nas-02.corp.local'", "the machine that ran it"],
        ),
        (
            "Livy session creation failed: [TooManyRequestsForCapacity] This spark job can't be "
            "run because you have hit a spark compute or API rate limit.",
            "capacity_compute_exhausted",
            ["Fabric capacity", "HTTP 430"],
        ),
    ],
)
def test_new_rules_name_what_the_message_states(message: str, rule: str, named: list[str]) -> None:
    rca = _rca(message, pipeline="pl_x")
    _assert_well_formed(rca)
    assert rca.rule == rule, rca
    own_words = rca.root_cause.split(" The error says:")[0]
    for value in named:
        assert value in own_words, own_words


@pytest.mark.parametrize(
    ("message", "named", "not_named"),
    [
        # The wrapper code (recursive SQL level) gives way to the one under it.
        (
            "java.sql.SQLException: ORA-00604: error occurred at recursive SQL level 1\n"
            "ORA-00020: maximum number of processes (300) exceeded",
            ["ORA-00020", "maximum number of processes", "under ORA-00604"],
            [],
        ),
        # A package state reset names the package whose state was dropped.
        (
            "ORA-04068: existing state of packages has been discarded ORA-04061: existing state "
            'of package "ETL.LOADER" has been invalidated ORA-06512: at line 1',
            ["ORA-04061", "ETL.LOADER"],
            ["ORA-06512"],
        ),
        # A single code is cited as before, its detail ending where the next code starts.
        (
            'cx_Oracle.DatabaseError: ORA-01400: cannot insert NULL into ("S"."T"."ID")',
            ["ORA-01400", "cannot insert NULL"],
            ["under"],
        ),
        # Only wrappers: the first is cited.
        ("ORA-06512: at line 12", ["ORA-06512"], []),
    ],
)
def test_oracle_cites_the_code_under_the_wrappers(
    message: str, named: list[str], not_named: list[str]
) -> None:
    rca = _rca(message, "DatabaseError")
    _assert_well_formed(rca)
    assert rca.rule == "oracle_error"
    own_words = rca.root_cause.split(" The error says:")[0]
    for value in named:
        assert value in own_words, own_words
    for value in not_named:
        assert value not in own_words, own_words


@pytest.mark.parametrize(
    ("message", "named"),
    [
        (
            "pymysql.err.IntegrityError: (1062, \"Duplicate entry 'A-17' for key 'uk_ref'\")",
            ["uk_ref", "A-17"],
        ),
        (
            "Dynamics operation failed with error code: -2147088238, error message: A record that "
            "has the attribute values Order ID, Line already exists. The entity key Order Line Key "
            "requires that this set of attributes contains unique values.",
            ["Order Line Key"],
        ),
    ],
)
def test_duplicate_keys_in_other_stores_words_are_named(message: str, named: list[str]) -> None:
    rca = _rca(message, "DataError")
    assert rca.rule == "duplicate_key", rca
    for value in named:
        assert value in rca.root_cause, rca.root_cause


def test_a_network_policy_block_names_the_ip() -> None:
    rca = _rca(
        "net.snowflake.client.jdbc.SnowflakeSQLException: IP 198.51.100.7 is not allowed to "
        "access Snowflake. Contact your local security administrator."
    )
    assert rca.rule == "firewall_blocked", rca
    assert "client IP 198.51.100.7" in rca.root_cause


def test_a_python_repr_split_over_lines_is_quoted_whole() -> None:
    rca = _rca(
        "400 Client Error: Bad Request for url: https://adb-1.azuredatabricks.net/api/2.0/x\n"
        " Response from server: \n { 'error_code': 'BAD_REQUEST',\n"
        "   'message': 'Workspace 42 has no network configured for '\n"
        "              'the requested instance pool'}",
        "ConfigurationError",
    )
    assert "configured for the requested instance pool" in rca.root_cause, rca.root_cause


def test_a_fault_without_a_reason_is_not_the_quoted_error() -> None:
    rca = _rca(
        "ErrorCode=DynamicsOperationFailed,'Type=Microsoft.DataTransfer.Common.Shared."
        "HybridDeliveryException,Message=Dynamics operation failed with error code: -1, error "
        "message: The lookup value for field parentcustomerid could not be resolved in the "
        "target entity.,Source=Plugin,''Type=System.ServiceModel.FaultException,Message=The "
        "creator of this fault did not specify a Reason.,Source=Plugin,'",
        "DataError",
    )
    assert "parentcustomerid" in rca.root_cause, rca.root_cause
    assert "did not specify a Reason" not in rca.root_cause


def test_only_an_airflow_tasks_operator_is_named_as_its_operator():
    message = "psycopg2.OperationalError: could not connect to server: Connection refused"
    airflow = build_rule_rca(
        "DatabaseError",
        message,
        pipeline="sales.load",
        source="airflow",
        details={"operator": "PostgresOperator"},
    )
    alert = build_rule_rca(
        "DatabaseError",
        message,
        pipeline="pl_sales",
        source="azure-monitor",
        details={"operator": "GreaterThan"},
    )
    assert "(operator PostgresOperator)" in airflow.root_cause
    assert "operator" not in alert.root_cause and "GreaterThan" not in alert.root_cause


@pytest.mark.parametrize(
    ("message", "error_type", "named"),
    [
        # The privilege a Unity Catalog or Snowflake grant lacks, and a Kubernetes RBAC verb.
        (
            "[INSUFFICIENT_PERMISSIONS] Insufficient privileges: User does not have READ VOLUME "
            "on Volume 'main.raw.landing'.",
            "AuthenticationError",
            ["(READ VOLUME)"],
        ),
        (
            'pods is forbidden: User "system:serviceaccount:etl:runner" cannot create resource '
            '"pods" in API group "" in the namespace "etl"',
            "AuthenticationError",
            ["system:serviceaccount:etl:runner", "create pods"],
        ),
        # A DAG file's import, not a task, timed out.
        (
            "airflow.exceptions.AirflowTaskTimeout: DagBag import timeout for "
            "/opt/airflow/dags/sales.py after 30.0s.",
            "TimeoutError",
            ["/opt/airflow/dags/sales.py", "dagbag_import_timeout"],
        ),
        # A certificate issued for another name.
        (
            "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
            "failed: Hostname mismatch, certificate is not valid for 'db.internal'.",
            "NetworkError",
            ["not issued for the name"],
        ),
    ],
)
def test_families_of_round_five_name_the_specifics(
    message: str, error_type: str, named: list[str]
) -> None:
    rca = _rca(message, error_type)
    own_words = rca.root_cause.split(" The error says:")[0]
    for value in named:
        assert value in own_words, own_words


@pytest.mark.parametrize(
    "message",
    [
        "ERROR root: Disk quota exceeded on /mnt/data",
        "OSError: [Errno 122] Disk quota exceeded: '/mnt/data/out.parquet'",
    ],
)
def test_a_disk_quota_is_a_full_disk_not_a_cloud_quota(message: str) -> None:
    assert classify_error(message).error_type == "ResourceExhaustion"
    rca = _rca(message)
    assert "disk quota" in rca.root_cause and "/mnt/data" in rca.root_cause
    assert "subscription" not in rca.root_cause
    assert not any("quota increase" in rec for rec in rca.recommendations)


@pytest.mark.parametrize(
    ("message", "named"),
    [
        (
            'Message=The procedure "usp_upsert_orders" has no parameter named "@OrdersType".',
            ["usp_upsert_orders", "@OrdersType"],
        ),
        (
            "Compilation Error in model stg\n  When searching for a relation, dbt found an "
            'approximate match.\n  Searched for: DB.SCH.STG\n  Found: "db"."sch"."stg"',
            ["DB.SCH.STG", "case or quoting"],
        ),
        (
            "BigQuery error was Cannot read and write in different locations: source: US, "
            "destination: asia-east1",
            ["source US", "destination asia-east1"],
        ),
        ("Not found: Dataset p:d was not found in location EU", ["location EU"]),
        (
            "[OPERATION_REQUIRES_UNITY_CATALOG] Operation CURRENT_METASTORE requires Unity "
            "Catalog enabled.",
            ["Unity Catalog"],
        ),
    ],
)
def test_mismatched_setup_names_what_the_target_lacks(message: str, named: list[str]) -> None:
    assert classify_error(message).error_type == "ConfigurationError"
    rca = _rca(message)
    assert rca.rule == "mismatched_setup"
    own_words = rca.root_cause.split(" The error says:")[0]
    for value in named:
        assert value in own_words, own_words


def test_an_oomkilled_container_is_named_and_a_missing_file_names_its_path() -> None:
    killed = _rca(
        "Task t failed in pod ns/p1. container_reason: OOMKilled, exit_code: 137",
        "ResourceExhaustion",
    )
    assert "OOMKilled" in killed.root_cause
    missing = _rca(
        "File 'https://lake.dfs.core.windows.net/raw/a.parquet' cannot be opened because it "
        "does not exist or it is used by another process.",
        "DataError",
    )
    assert missing.rule == "missing_path"
    assert "raw/a.parquet" in missing.root_cause.split(" The error says:")[0]


@pytest.mark.parametrize(
    "message",
    [
        "Error while executing topic command : node /brokers/topics/orders does not exist",
        "org.apache.zookeeper.KeeperException$NoNodeException: KeeperErrorCode = NoNode for "
        "/brokers/topics/orders",
    ],
)
def test_a_missing_kafka_topics_zookeeper_node_is_the_missing_topic_not_a_data_path(
    message: str,
) -> None:
    classified = classify_error(message)
    assert "missing_input" not in classified.signals
    assert classified.error_type == "ConfigurationError"
    rca = _rca(message)
    assert rca.rule == "unknown_topic"
    assert "Kafka topic 'orders'" in rca.root_cause


@pytest.mark.parametrize(
    "message",
    [
        "KeeperErrorCode = ConnectionLoss while reading node /brokers/topics/orders",
        "Failed to create node /brokers/topics/orders: KeeperErrorCode = NodeExists",
    ],
)
def test_a_kafka_topics_zookeeper_node_that_is_not_missing_is_no_missing_topic(
    message: str,
) -> None:
    """The node named alone was read as the topic missing: a ZooKeeper connection lost while
    reading it, or the topic created twice, were told to create the topic."""
    assert "missing_definition" not in classify_error(message).signals
    assert _rca(message, "ConfigurationError").rule != "unknown_topic"


def test_a_zookeeper_node_is_no_missing_data_path() -> None:
    message = "KeeperException: znode /hbase/master does not exist"
    assert classify_error(message).error_type != "DataError"
    assert _rca(message, "DataError").rule != "missing_path"


@pytest.mark.parametrize(
    ("message", "error_type", "rule", "named"),
    [
        # Round 9's families: the RCA's own words carry the exit code, the Azure RBAC action,
        # the unassigned managed identity, the stated count limit and the SQL Server client's
        # verdict.
        (
            "ERROR TaskSchedulerImpl: Lost executor 3 on 10.0.0.7:\nThe executor with id 3 "
            "exited with exit code 137.",
            "ResourceExhaustion",
            "spark_executor_oom",
            ["executor 3", "exit code 137"],
        ),
        (
            'Status=403 Code="Forbidden" Message="Caller is not authorized to perform action on '
            "resource.\\r\\nAction: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'\\r\\n"
            'DecisionReason: \'DeniedWithNoValidRBAC\'" InnerError={"code":"ForbiddenByRbac"}',
            "AuthenticationError",
            "permission_denied",
            ["Microsoft.KeyVault/vaults/secrets/getSecret/action", "RBAC"],
        ),
        (
            "Azure.Identity.CredentialUnavailableException: ManagedIdentityCredential "
            "authentication unavailable. The requested identity has not been assigned to this "
            'resource.\n{"error":"invalid_request","error_description":"Multiple user assigned '
            'identities exist, please specify the clientId / resourceId of the identity"}',
            "AuthenticationError",
            "missing_credentials",
            ["not assigned to this resource", "clientId"],
        ),
        (
            "Exceeded the maximum number of allowed receivers per partition in a consumer group "
            "which is 5",
            "ResourceExhaustion",
            "count_limit",
            ["receivers per partition in a consumer group (5)"],
        ),
        (
            "[08001] Login timeout expired (0); [08001] A network-related or instance-specific "
            "error has occurred while establishing a connection to SQL Server. Server is not "
            "found or not accessible.",
            "DatabaseError",
            "db_unreachable",
            ["not found or not accessible"],
        ),
    ],
)
def test_round_nine_families_name_the_specifics(
    message: str, error_type: str, rule: str, named: list[str]
) -> None:
    assert classify_error(message).error_type == error_type
    rca = _rca(message, error_type)
    assert rca.rule == rule
    own_words = rca.root_cause.split(" The error says:")[0]
    for value in named:
        assert value in own_words, own_words


def test_a_failed_trigger_naming_no_pipeline_is_the_subject_of_its_rca() -> None:
    """An ADF `TriggerFailedRuns` alert names a trigger and no pipeline: its RCA says the
    trigger failed, not "the pipeline"."""
    message = (
        "ADF trigger 'tr_blob_landed' (BlobEventsTrigger) failed at 2025-03-04T06:12:00+00:00: "
        "Storage event subscription was deleted"
    )

    rca = build_rule_rca("Unknown", message, pipeline="", details={"trigger": "tr_blob_landed"})
    named = build_rule_rca(
        "Unknown", message, pipeline="pl_ingest", details={"trigger": "tr_blob_landed"}
    )

    assert rca.root_cause.startswith("Trigger 'tr_blob_landed' failed")
    assert named.root_cause.startswith("Pipeline 'pl_ingest' failed")


def test_adfs_hierarchical_to_tabular_failure_names_its_stated_error_not_a_schema_change() -> None:
    """ADF's SchemaMappingFailedInHierarchicalToTabularStage wraps whatever failed while the
    JSON source was flattened: a date out of .NET's range is a value, not a changed schema."""
    message = (
        '{ "errorCode": "2200", "message": "ErrorCode=SchemaMappingFailedInHierarchicalToTabular'
        "Stage,'Type=Microsoft.DataTransfer.Common.Shared.HybridDeliveryException,Message=Failed"
        " to process hierarchical to tabular stage, error message: Ticks must be between "
        "DateTime.MinValue.Ticks and DateTime.MaxValue.Ticks.\\r\\nParameter name: ticks,Source="
        'Microsoft.DataTransfer.ClientLibrary,\'", "failureType": "UserError" }'
    )
    rca = _rca(message, "DataError")
    own = rca.root_cause.split(" The error says:")[0]
    assert "no longer matches" not in own
    assert "hierarchical" in own and "Ticks must be between" in own


@pytest.mark.parametrize(
    ("message", "code", "meaning"),
    [
        (
            # r3-057: YARN reports Spark's exit code 50, an uncaught exception, not memory.
            "WARN scheduler.TaskSetManager: Lost task 0.3 in stage 1.0 (TID 4, com2, executor 2): "
            "ExecutorLostFailure (executor 2 exited caused by one of the running tasks) Reason: "
            "Container marked as failed: container_1507683879816_0006_01_000003 on host: com2. "
            "Exit status: 50. Diagnostics: Exception from container-launch.\nExit code: 50",
            "exit code 50",
            "uncaught exception",
        ),
        (
            "ExecutorLostFailure (executor 4 exited caused by one of the running tasks) Reason: "
            "The executor with id 4 exited with exit code 56.",
            "exit code 56",
            "heartbeats",
        ),
    ],
)
def test_an_executor_exit_code_that_is_not_a_memory_exit_is_not_called_out_of_memory(
    message: str, code: str, meaning: str
) -> None:
    rca = _rca(message, "ResourceExhaustion")
    assert rca.rule == "spark_executor_oom"
    cause = rca.root_cause.split(" The error says:")[0]
    assert "out of memory and" not in cause
    assert code in cause and meaning in cause
    _assert_well_formed(rca)


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        (
            "Lost executor 1 on 10.0.0.7: The executor with id 1 exited with exit code 137.",
            "exit code 137",
        ),
        (
            "Lost executor 2 on 10.0.0.7: The executor with id 2 exited with exit code 52.",
            "exit code 52",
        ),
        # Memory stated, with an exit code that does not say so: the code is not cited for it.
        (
            "ExecutorLostFailure (executor 1 exited caused by one of the running tasks) Reason: "
            "Container killed by YARN for exceeding memory limits. 5.5 GB of 5.5 GB physical "
            "memory used. Exit status: 50",
            "5.5 GB of 5.5 GB",
        ),
    ],
)
def test_an_executor_oom_cites_only_an_exit_code_that_supports_it(message: str, shown: str) -> None:
    cause = _rca(message, "ResourceExhaustion").root_cause.split(" The error says:")[0]
    assert "ran out of memory" in cause and shown in cause
    assert "exit code 50" not in cause


@pytest.mark.parametrize(
    ("message", "tried"),
    [
        (
            # audit-083 / ho-047: DefaultAzureCredential's aggregate, off Azure as well as on it.
            "azure.core.exceptions.ClientAuthenticationError: DefaultAzureCredential failed to "
            "retrieve a token from the included credentials.\nAttempted credentials:\n\t"
            "EnvironmentCredential: EnvironmentCredential authentication unavailable. Environment "
            "variables are not fully configured.\n\tManagedIdentityCredential: "
            "ManagedIdentityCredential authentication unavailable, no response from the IMDS "
            "endpoint.",
            ["EnvironmentCredential", "ManagedIdentityCredential"],
        ),
        (
            # .NET's form of it.
            "Azure.Identity.CredentialUnavailableException: DefaultAzureCredential failed to "
            "retrieve a token from the included credentials.\n- EnvironmentCredential "
            "authentication unavailable. Environment variables are not fully configured.\n- "
            "ManagedIdentityCredential authentication unavailable. No response received from the "
            "managed identity endpoint.\n- AzureCliCredential authentication unavailable. Azure "
            "CLI not installed",
            ["EnvironmentCredential", "ManagedIdentityCredential", "AzureCliCredential"],
        ),
    ],
)
def test_a_credential_chain_that_found_nothing_names_every_credential_it_tried(
    message: str, tried: list[str]
) -> None:
    rca = _rca(message, "AuthenticationError")
    assert rca.rule == "missing_credentials"
    cause = rca.root_cause.split(" The error says:")[0]
    assert all(name in cause for name in tried)
    assert "none of" in cause.lower()
    assert "no managed identity answered" not in cause.lower()
    assert any("AZURE_CLIENT_ID" in r for r in rca.recommendations)
    _assert_well_formed(rca)


def test_one_managed_identity_credential_is_not_read_as_a_chain() -> None:
    # r10-036: ManagedIdentityCredential over its ImdsCredential, no chain: the identity is it.
    rca = _rca(
        "ImdsCredential.get_token failed: ManagedIdentityCredential authentication unavailable, "
        "no response from the IMDS endpoint.",
        "AuthenticationError",
    )
    assert rca.rule == "missing_credentials"
    assert "no managed identity answered" in rca.root_cause.lower()


def test_round_ten_families_do_not_claim_what_their_message_does_not_say() -> None:
    """A generic "no longer available on the server" is no purged replication log, and a
    Lambda invoke the caller's SDK could not make is not Lambda's own failure."""
    moved = "The file you requested was moved but this is no longer available on the server."
    client = (
        "States.TaskFailed: Lambda.SdkClientException: Unable to execute HTTP request: "
        "Connect to lambda.us-east-1.amazonaws.com:443 failed: connect timed out"
    )

    assert classify_error(moved).error_type != "DatabaseError"
    rca = build_rule_rca("ExternalServiceError", client)
    assert "Lambda's side" not in rca.root_cause
    assert "Lambda.SdkClientException" in rca.root_cause


def test_of_several_errors_the_quote_is_the_one_the_rule_explains() -> None:
    """A log's errors are read together, but the root cause quotes one of them alone: the one
    the rule that explains the message matched, though another comes first."""
    errors = [
        "Stage 3 failed after 4 attempts while writing partition 17 of the orders table",
        "SQLServerException: The TCP/IP connection to the host sql-prod, port 1433 has failed. "
        'Error: "Connection timed out."',
    ]
    rca = build_rule_rca("DatabaseError", "\n".join(errors), errors=errors)

    assert rca.rule == "connect_timeout"
    assert rca.root_cause.endswith(f" The error says: “{errors[1]}”.")


def test_round_seventeen_families_name_what_their_message_states() -> None:
    """Athena's uncastable value, BigQuery's short CSV line and its file, and a throttle AWS
    answered with a 400 (not called a 429)."""
    cast = _rca(
        "INVALID_CAST_ARGUMENT: Cannot cast 'n/a' to DOUBLE. You may need to manually clean "
        "the data at location 's3://results/tables/1' before retrying."
    )
    short_line = _rca(
        "Error while reading data, error message: CSV table encountered too many errors, "
        "giving up. Rows: 10; errors: 1.\n- gs://bucket/day.csv: CSV table references column "
        "position 7, but line starting at position:512 contains only 7 columns."
    )
    throttled = _rca(
        "DynamoDBException: Rate exceeded (Service: DynamoDBStreamsClient; Status Code: 400)"
    )

    assert "value 'n/a'" in cast.root_cause and "DOUBLE" in cast.root_cause
    assert "gs://bucket/day.csv" in short_line.root_cause
    assert "byte 512 contains only 7 columns" in short_line.root_cause
    assert "Rate exceeded" in throttled.root_cause
    assert "429" not in throttled.root_cause
    for rca in (cast, short_line, throttled):
        _assert_well_formed(rca)


def test_round_eighteen_families_name_what_their_message_states() -> None:
    """FTP's reply 550, the HDFS block and file no datanode could serve, a TLS handshake the
    server ended, and the column Salesforce's query named."""
    ftp = _rca("550 unable to open /outbound/2024/a.csv for writing.")
    block = _rca(
        "org.apache.hadoop.hdfs.BlockMissingException: Could not obtain block: "
        "BP-9-10.0.0.1-1:blk_42_7 file=/warehouse/events/part-00001"
    )
    handshake = _rca(
        "com.ibm.db2.jcc.am.DisconnectNonTransientConnectionException: A communication error "
        "occurred during operations on the connection's underlying socket. Message: Received "
        "fatal alert: handshake_failure. ERRORCODE=-4499, SQLSTATE=08001"
    )
    column = _rca(
        "INVALID_FIELD: ERROR at Row:1:Column:12 No such column 'Region__c' on entity 'Account'."
    )

    assert ftp.rule == "ftp_path_refused"
    assert "reply 550 ('unable to open /outbound/2024/a.csv for writing')" in ftp.root_cause
    assert block.rule == "no_storage_nodes"
    assert "block BP-9-10.0.0.1-1:blk_42_7 of file /warehouse/events/part-00001" in (
        block.root_cause
    )
    assert handshake.rule == "tls_failure"
    assert "handshake_failure" in handshake.root_cause
    assert "trust store" not in handshake.recommendations[0]
    assert column.rule == "missing_column" and "'Region__c'" in column.root_cause
    for rca in (ftp, block, handshake, column):
        _assert_well_formed(rca)


def test_round_nineteen_families_name_what_their_message_states() -> None:
    """The file and column Redshift Spectrum could not read, the constraint of a foreign key
    violation, MySQL's row size limit, the field BigQuery could not write a timestamp to, Arrow's
    offset overflow and the index whose document ids were there already."""
    spectrum = _rca(
        "ERROR:  Spectrum Scan Error\nDETAIL:\n  error:  Spectrum Scan Error\n  code:      "
        "15001\n  context:   File 'https://s3.us-east-1.amazonaws.com/xyz/a.parquet' column "
        "'amount' has an invalid type length. Expecting: 8 len in file: 13\n  query:     1"
    )
    parent = _rca(
        "ORA-02291: integrity constraint (SALES.ORDER_CUSTOMER_FK) violated - parent key not found"
    )
    child = _rca(
        "ORA-02292: integrity constraint (SALES.ORDER_CUSTOMER_FK) violated - child record found"
    )
    wide = _rca(
        "MySqlException: Row size too large (> 8126). Changing some columns to TEXT or BLOB "
        "may help. INSERT INTO events (id, payload) VALUES (?id, ?payload)"
    )
    timestamp = _rca(
        "Query error: Cannot return an invalid timestamp value of 1605052806000000000 "
        "microseconds relative to the Unix epoch. The range of valid timestamp values is "
        "[0001-01-1 00:00:00, 9999-12-31 23:59:59.999999]; error in writing field mod_timestamp"
    )
    offsets = _rca(
        '  File "pyarrow/error.pxi", line 92, in pyarrow.lib.check_status\n'
        "pyarrow.lib.ArrowInvalid: offset overflow while concatenating arrays"
    )
    documents = _rca(
        "BulkIndexError: ('2 document(s) failed to index.', [{'create': {'_index': 'policy', "
        "'_id': 'a1', 'status': 409, 'error': {'type': 'version_conflict_engine_exception', "
        "'reason': '[a1]: version conflict, document already exists (current version [1])'}}}])"
    )

    assert spectrum.rule == "spectrum_scan_error"
    assert "(code 15001)" in spectrum.root_cause and "column 'amount'" in spectrum.root_cause
    assert parent.rule == child.rule == "foreign_key_violation"
    assert "foreign key SALES.ORDER_CUSTOMER_FK" in parent.root_cause
    assert "parent table does not have" in parent.root_cause
    assert "still reference" in child.root_cause
    assert wide.rule == "row_too_wide"
    assert "table 'events'" in wide.root_cause and "over 8126 bytes" in wide.root_cause
    assert timestamp.rule == "timestamp_out_of_range"
    assert "value 1605052806000000000 microseconds" in timestamp.root_cause
    assert "field mod_timestamp" in timestamp.root_cause
    assert offsets.rule == "array_capacity" and "offset overflow" in offsets.root_cause
    assert "large_string" in offsets.recommendations[0]
    assert documents.rule == "duplicate_key"
    assert "index 'policy'" in documents.root_cause
    assert "document already exists" in documents.root_cause
    for rca in (spectrum, parent, child, wide, timestamp, offsets, documents):
        _assert_well_formed(rca)


def test_round_twenty_families_name_what_their_message_states() -> None:
    """The key kind and limit of a DynamoDB item over its size limits, the table an over-long
    value was inserted into, the tenant or application an Entra ID sign-in named, and the server
    and database of a Power BI data source without usable credentials."""
    range_key = _rca(
        "api error ValidationException: One or more parameter values were invalid: Aggregated "
        "size of all range keys has exceeded the size limit of 1024 bytes"
    )
    item = _rca(
        "botocore.exceptions.ClientError: An error occurred (ValidationException) when calling "
        "the PutItem operation: Item size has exceeded the maximum allowed size"
    )
    xcom = _rca(
        'sqlalchemy.exc.DataError: (pymysql.err.DataError) (1406, "Data too long for column '
        "'value' at row 1\")\n[SQL: INSERT INTO xcom (`key`, value, dag_id) VALUES (%s, %s, %s)]"
    )
    tenant = _rca(
        'Error: {"error":"invalid_tenant","error_description":"AADSTS90002: Tenant '
        "'8d2b0e1c-0000-4e6e-9c1a-3f4b5a6c7d8e' not found. Check to make sure you have the "
        'correct tenant ID."}'
    )
    no_credential = _rca(
        '{"error":{"code":"DMTS_DatasourceHasNoCredentialError","pbi.error":{"code":'
        '"DMTS_DatasourceHasNoCredentialError","details":[{"code":"Server","detail":{"type":1,'
        '"value":"sql01.database.windows.net"}},{"code":"Database","detail":{"type":1,'
        '"value":"sales"}}]}}}'
    )
    default_connection = _rca(
        "We cannot refresh this semantic model because this semantic model uses a default data "
        "connection without explicit connection credentials."
    )

    assert range_key.rule == item.rule == "store_item_too_large"
    assert "range key" in range_key.root_cause and "1024 bytes" in range_key.root_cause
    assert "maximum item size" in item.root_cause and "(PutItem)" in item.root_cause
    assert xcom.rule == "truncation" and "column 'value' of xcom" in xcom.root_cause
    assert tenant.rule == "aad_other"
    assert "'8d2b0e1c-0000-4e6e-9c1a-3f4b5a6c7d8e'" in tenant.root_cause
    assert no_credential.rule == default_connection.rule == "data_source_credentials"
    assert "server 'sql01.database.windows.net'" in no_credential.root_cause
    assert "database 'sales'" in no_credential.root_cause
    assert "without explicit connection credentials" in default_connection.root_cause
    for rca in (range_key, item, xcom, tenant, no_credential, default_connection):
        _assert_well_formed(rca)


def test_round_twenty_one_families_name_what_their_message_states() -> None:
    """A serialization conflict is told apart from a deadlock (with the table or table id it
    names), and an ODBC driver's right truncation names the value's length and the buffer's."""
    postgres = _rca(
        "ERROR:  could not serialize access due to concurrent update\nSTATEMENT:  UPDATE "
        '"orders" SET "status"=$1 WHERE id = $2'
    )
    redshift = _rca(
        "Invalid operation: 1023 \nDetails: Serializable isolation violation on table - 100167, "
        "transactions forming the cycle are: 55705701, 55705754 (pid:16606);"
    )
    deadlock = _rca(
        "Transaction (Process ID 57) was deadlocked on lock resources with another process and "
        "has been chosen as the deadlock victim. Rerun the transaction."
    )
    odbc = _rca(
        "pyodbc.ProgrammingError: ('String data, right truncation: length 512 buffer 510', 'HY000')"
    )

    assert postgres.rule == redshift.rule == deadlock.rule == "deadlock"
    assert "serialization conflict" in postgres.root_cause
    assert "table 'orders'" in postgres.root_cause and "concurrent update" in postgres.root_cause
    assert "table with id 100167" in redshift.root_cause and "(error 1023)" in redshift.root_cause
    assert "deadlock victim" in deadlock.root_cause
    assert "serialization" not in deadlock.root_cause
    assert odbc.rule == "truncation"
    assert "512 bytes" in odbc.root_cause and "510-byte buffer" in odbc.root_cause
    for rca in (postgres, redshift, deadlock, odbc):
        _assert_well_formed(rca)


def test_round_twenty_two_families_name_what_their_message_states() -> None:
    """A full SQL Server filegroup names its database and object, an Azure SQL request limit its
    number, a taken name the resource and name, a missing Delta table its path, a MERGE with
    several matches its error, a BigQuery schema mismatch the table and field, a value JSON
    cannot encode its type, and an integration runtime ADF cannot look up its name."""
    filegroup = _rca(
        "System.Data.SqlClient.SqlException: Could not allocate space for object "
        "'dbo.Orders'.'PK_Orders' in database 'Sales' because the 'PRIMARY' filegroup is full."
    )
    request_limit = _rca(
        "Resource ID : 1. The request limit for the database is 90 and has been reached. See "
        "'http://go.microsoft.com/fwlink/?LinkId=267637' for assistance."
    )
    name_taken = _rca(
        "Error: cannot create cluster: Cluster with name `nightly-etl` already exists"
    )
    delta = _rca(
        "deltalake.exceptions.TableNotFoundError: No snapshot or version 0 found, perhaps "
        "abfss://lake@acct.dfs.core.windows.net/silver/orders is an empty dir?"
    )
    merge = _rca(
        "The MERGE statement attempted to UPDATE or DELETE the same row more than once. This "
        "happens when a target row matches more than one source row. (Error 8672)"
    )
    bigquery = _rca(
        "google.api_core.exceptions.BadRequest: 400 Provided Schema does not match Table "
        "proj:sales.orders. Field amount has changed type from STRING to NUMERIC"
    )
    json_type = _rca("TypeError: Object of type Timestamp is not JSON serializable")
    runtime = _rca(
        "Input is malformed. Reason: Could not get integration runtime details for SHIR-Prod"
    )

    assert filegroup.rule == "disk_full"
    assert "'PRIMARY' filegroup of database 'Sales'" in filegroup.root_cause
    assert "object 'dbo.Orders'" in filegroup.root_cause
    assert request_limit.rule == "request_limit"
    assert "limit of 90 concurrent requests" in request_limit.root_cause
    assert name_taken.rule == "resource_name_taken"
    assert "cluster named 'nightly-etl' already exists" in name_taken.root_cause
    assert delta.rule == "delta_table_missing"
    assert "abfss://lake@acct.dfs.core.windows.net/silver/orders" in delta.root_cause
    assert merge.rule == "merge_multiple_matches" and "(error 8672)" in merge.root_cause
    assert bigquery.rule == "schema_mismatch"
    assert "table 'proj:sales.orders'" in bigquery.root_cause
    assert "field 'amount' type from STRING to NUMERIC" in bigquery.root_cause
    assert json_type.rule == "not_serializable" and "'Timestamp'" in json_type.root_cause
    assert runtime.rule == "linked_service"
    assert "look up the linked service's integration runtime 'SHIR-Prod'" in runtime.root_cause
    for rca in (filegroup, request_limit, name_taken, delta, merge, bigquery, json_type, runtime):
        _assert_well_formed(rca)


def test_round_twenty_three_families_name_what_their_message_states() -> None:
    """A program not on the worker names itself, a copy across integration runtimes and an IR
    node with no key say so, a purged cluster its id and age, a relation name with too many
    parts the name and dbt model, a named limit its maximum and what was asked for, an ADF
    payload property its name and type, the scheduler its other reasons, and init scripts kept
    on DBFS where they are."""
    executable = _rca(
        '  File "/usr/local/lib/python3.9/subprocess.py", line 1821, in _execute_child\n'
        "    raise child_exception_type(errno_num, err_msg, err_filename)\n"
        "FileNotFoundError: [Errno 2] No such file or directory: 'dbt'"
    )
    shell = _rca("/bin/bash: line 1: spark-submit: command not found")
    placement = _rca(
        "Source and sink in the copy activity must be connected via the same self-hosted IR"
    )
    key = _rca("Self-hosted integration runtime Authentication Key is missing")
    purged = _rca(
        "Error: cannot read cluster: Cannot access cluster 0411-084512-abc123 that was "
        "terminated or unpinned more than 30 days ago."
    )
    dotted = _rca(
        "Database Error in model orders (models/orders.sql)\n  improper relation name (too "
        "many dotted names): analytics.public.public.orders__dbt_tmp"
    )
    limit = _rca(
        "The template validation failed: 'The number of template actions limit exceeded: "
        "maximum '500' and actual '812'.'"
    )
    payload = _rca(
        "ErrorCode=UserErrorInvalidValueInPayload,'Message=Failed to convert the value in "
        "'additionalHeaders' property to 'System.Collections.Generic.IDictionary' type.'"
    )
    pods = _rca("0/5 nodes are available: 2 Insufficient cpu, 3 Too many pods.")
    dbfs = _rca(
        '{"error_code":"FEATURE_DISABLED","message":"Init scripts cannot be loaded from DBFS. '
        'Review the init script documentation for more details."}'
    )

    assert executable.rule == "executable_missing" and "'dbt'" in executable.root_cause
    assert shell.rule == "executable_missing" and "'spark-submit'" in shell.root_cause
    assert placement.rule == "integration_runtime_placement"
    assert "one self-hosted IR" in placement.root_cause
    assert key.rule == "key_setting_missing" and "authentication key" in key.root_cause
    assert purged.rule == "purged_resource"
    assert "'0411-084512-abc123'" in purged.root_cause and "30 days" in purged.root_cause
    assert dotted.rule == "qualified_name_invalid"
    assert "'analytics.public.public.orders__dbt_tmp'" in dotted.root_cause
    assert "dbt model 'orders'" in dotted.root_cause
    assert limit.rule == "named_limit_exceeded"
    assert "812 template actions" in limit.root_cause and "limit of 500" in limit.root_cause
    assert payload.rule == "payload_property_conversion"
    assert "'additionalHeaders'" in payload.root_cause
    assert "'System.Collections.Generic.IDictionary'" in payload.root_cause
    assert pods.rule == "unschedulable"
    assert "Insufficient cpu; Too many pods" in pods.root_cause
    assert dbfs.rule == "init_script" and "stored on DBFS" in dbfs.root_cause
    assert "documentation" not in dbfs.root_cause
    for rca in (executable, shell, placement, key, purged, dotted, limit, payload, pods, dbfs):
        _assert_well_formed(rca)


def test_round_twenty_four_families_name_what_their_message_states() -> None:
    """A Snowflake incident names its error and incident numbers, an FTP data connection its
    reply and the passive ports, a pinned SFTP host key that changed says so, two runs of one
    streaming query name the query and checkpoint, a truncated Delta log its table, version and
    retention, and a notebook path with a space is named whole."""
    incident = _rca(
        "000603 (XX000): SQL execution internal error: Processing aborted due to error "
        "300002:2523236925; incident 4217519."
    )
    passive = _rca(
        "Failed to read data from ftp: The remote server returned an error: 227 Entering "
        "Passive Mode (10,0,0,5,195,80)."
    )
    data_port = _rca("ftplib.error_temp: 425 Can't open data connection.")
    fingerprint = _rca(
        "Host key finger-print validation failed. Expected fingerprint is 'ssh-rsa 2048 ab:cd', "
        "real finger-print is 'ssh-ed25519 255 ef:01'"
    )
    bad_host_key = _rca(
        "paramiko.ssh_exception.BadHostKeyException: Host key for server 'sftp.partner.com' "
        "does not match: got 'AAAAB3', expected 'AAAAC3'"
    )
    stream = _rca(
        "StreamingQueryException: Query orders_bronze [id = 1f2e, runId = 3a4b] terminated "
        "with exception: Concurrent update to the commit log. Multiple streaming jobs detected "
        "for 12"
    )
    checkpoint = _rca(
        "java.util.ConcurrentModificationException: Multiple streaming queries are concurrently "
        "using file:/mnt/checkpoints/orders/offsets"
    )
    truncated = _rca(
        "DeltaFileNotFoundException: [DELTA_TRUNCATED_TRANSACTION_LOG] s3://lake/silver/orders/"
        "_delta_log/00000000000000000000.json: Unable to reconstruct state at version 7 as the "
        "transaction log has been truncated due to manual deletion or the log retention policy "
        "(delta.logRetentionDuration=30 days) and checkpoint retention policy "
        "(delta.checkpointRetentionDuration=2 days)"
    )
    notebook = _rca(
        "Databricks execution failed with error state: InternalError, error message: Notebook "
        "not found: /Shared/ETL/Load Orders. For more details please check the run page url."
    )
    plain_notebook = _rca("Notebook not found: /Repos/etl/transform/load_orders")

    assert incident.rule == "snowflake_incident"
    assert "300002:2523236925" in incident.root_cause and "4217519" in incident.root_cause
    assert passive.rule == "ftp_data_connection" and "227" in passive.root_cause
    assert "passive" in passive.root_cause
    assert data_port.rule == "ftp_data_connection" and "reply 425" in data_port.root_cause
    assert fingerprint.rule == "ssh_host_key" and "fingerprint" in fingerprint.root_cause
    assert "known_hosts" not in fingerprint.root_cause
    assert bad_host_key.rule == "ssh_host_key" and "'sftp.partner.com'" in bad_host_key.root_cause
    assert stream.rule == "stream_query_concurrent" and "'orders_bronze'" in stream.root_cause
    assert checkpoint.rule == "stream_query_concurrent"
    assert "file:/mnt/checkpoints/orders/offsets" in checkpoint.root_cause
    assert truncated.rule == "delta_log_truncated"
    assert "s3://lake/silver/orders" in truncated.root_cause
    assert "version 7" in truncated.root_cause and "30 days" in truncated.root_cause
    assert notebook.rule == "notebook_not_found"
    assert "/Shared/ETL/Load Orders does not exist" in notebook.root_cause
    assert "/Repos/etl/transform/load_orders does not exist" in plain_notebook.root_cause
    for rca in (
        incident,
        passive,
        data_port,
        fingerprint,
        bad_host_key,
        stream,
        checkpoint,
        truncated,
        notebook,
        plain_notebook,
    ):
        _assert_well_formed(rca)


def test_round_twenty_five_families_name_what_their_message_states() -> None:
    """Oracle's encryption mismatch names its code and the sqlnet settings, a Dataverse feature
    switched off its name, Airflow's unmigrated metadata database the table or column and the
    migration, a closed Spark Connect session its handle state, a Spark memory setting the
    amounts and the setting; an OAuth error is quoted by its description, and an ADF chain under
    a single-quoted 'message' by its innermost Message."""
    oracle = _rca(
        "ERROR [HY000] [Microsoft][ODBC Oracle Wire Protocol driver][Oracle]ORA-12650: No "
        "common encryption or data integrity algorithm"
    )
    dataverse = _rca("Failed to connect to Dynamics: FCB 'EnableRegionalDisco' is disabled.")
    column = _rca(
        "sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) no such column: "
        "task_instance.pool_slots"
    )
    table = _rca('psycopg2.errors.UndefinedTable: relation "serialized_dag" does not exist')
    session = _rca(
        "SparkConnectGrpcException: (org.apache.spark.SparkSQLException) "
        "[INVALID_HANDLE.SESSION_CLOSED] The handle 8936cdaa is invalid. Session was closed."
    )
    executor = _rca(
        "[INVALID_EXECUTOR_MEMORY] Executor memory 1048576 must be at least 471859200. Please "
        'increase executor memory using the --executor-memory option or "spark.executor.memory"'
    )
    oauth = _rca(
        "Failed to get access token from your token endpoint. Error returned from your "
        'authorization server: {"error":"access_denied","error_description":"No audience '
        'parameter was provided"}. Processed HTTP request failed.',
        "AuthenticationError",
    )
    chain = _rca(
        "{'errorCode': '2200', 'message': 'ErrorCode=DataTypeNotSupported,'Type=Microsoft."
        "DataTransfer.Common.Shared.HybridDeliveryException,Message=The data type UTF8 is not "
        "supported.,Source=Microsoft.DataTransfer.Common,'', 'failureType': 'UserError'}",
        "DataError",
    )

    assert oracle.rule == "oracle_encryption_mismatch" and "ORA-12650" in oracle.root_cause
    assert "SQLNET.ENCRYPTION" in oracle.root_cause
    assert dataverse.rule == "dataverse_feature_disabled"
    assert "'EnableRegionalDisco'" in dataverse.root_cause
    assert "regional discovery" in dataverse.root_cause
    assert column.rule == "airflow_metadata_schema"
    assert "column 'task_instance.pool_slots'" in column.root_cause
    assert any("airflow db migrate" in step for step in column.recommendations)
    assert table.rule == "airflow_metadata_schema" and "table 'serialized_dag'" in table.root_cause
    assert session.rule == "spark_connect_session_gone"
    assert "INVALID_HANDLE.SESSION_CLOSED" in session.root_cause
    assert executor.rule == "spark_memory_setting"
    assert "spark.executor.memory" in executor.root_cause
    assert "1048576 bytes, at least 471859200 needed" in executor.root_cause
    assert "No audience parameter was provided" in oauth.root_cause
    assert "The data type UTF8 is not supported" in chain.root_cause
    for rca in (oracle, dataverse, column, table, session, executor, oauth, chain):
        _assert_well_formed(rca)


def test_round_twenty_six_families_name_what_their_message_states() -> None:
    """An unavailable MSDTC names its server, a query too complex to compile says so, a
    parameter count that does not fit the placeholders names both counts, an ARM api-version the
    subscription lacks names the version, a missing JVM main class names the class, a failed
    OCSP check names the check, and a YARN container over its memory names the container, the
    kind of memory and the usage."""
    msdtc = _rca("Msg 8501: MSDTC on server 'SQLPROD01' is unavailable.")
    complex_query = _rca(
        "Msg 8623: The query processor ran out of internal resources and could not produce a "
        "query plan."
    )
    bindings = _rca(
        "sqlite3.ProgrammingError: Incorrect number of bindings supplied. The current statement "
        "uses 1, and there are 2 supplied."
    )
    api_version = _rca(
        "InvalidResourceType: No registered resource provider found for location 'westus' and "
        "API version '2015-01-01' for type 'factories'."
    )
    main_class = _rca("Error: Could not find or load main class com.contoso.etl.Main")
    ocsp = _rca(
        "254005: Could not fetch OCSP Response from server. Consider checking your whitelists"
    )
    yarn = _rca(
        "Container [pid=4711,containerID=container_1_0001_01_000002] is running beyond virtual "
        "memory limits. Current usage: 1.1 GB of 2 GB physical memory used; 4.6 GB of 4.2 GB "
        "virtual memory used. Killing container."
    )

    assert msdtc.rule == "msdtc_unavailable" and "server 'SQLPROD01'" in msdtc.root_cause
    assert complex_query.rule == "query_too_complex"
    assert "too complex for the optimizer" in complex_query.root_cause
    assert bindings.rule == "query_parameter_count"
    assert "1 placeholder(s) in the SQL, 2 parameter(s) passed" in bindings.root_cause
    assert api_version.rule == "api_version_unavailable"
    assert "'2015-01-01'" in api_version.root_cause
    assert main_class.rule == "java_main_class_missing"
    assert "'com.contoso.etl.Main'" in main_class.root_cause
    assert ocsp.rule == "ocsp_check_failed" and "OCSP" in ocsp.root_cause
    assert yarn.rule == "yarn_container_memory"
    assert "container_1_0001_01_000002" in yarn.root_cause
    assert "more virtual memory than its limit (4.6 GB of 4.2 GB virtual memory used)" in (
        yarn.root_cause
    )
    for rca in (msdtc, complex_query, bindings, api_version, main_class, ocsp, yarn):
        _assert_well_formed(rca)


def test_round_twenty_seven_families_name_what_their_message_states() -> None:
    """A Delta data file gone from storage names the file and its table folder, and a Delta
    table read as another format names the path and that format (or, the other way round,
    the path with no transaction log)."""
    missing = _rca(
        "[DELTA_FILE_NOT_FOUND_DETAILED] File abfss://lake@contosodata.dfs.core.windows.net/silver/"
        "orders/part-00017-3f1c.c000.snappy.parquet referenced in the transaction log cannot be "
        "found. This can occur when data has been manually deleted from the file system rather "
        "than using the table `DELETE` statement."
    )
    as_csv = _rca(
        "AnalysisException: Incompatible format detected.\n\nA transaction log for Delta was "
        "found at `/mnt/raw/loans/_delta_log`,\nbut you are trying to read from `/mnt/raw/loans` "
        'using format("csv"). You must use\n\'format("delta")\' when reading and writing to a '
        "delta table."
    )
    no_log = _rca(
        "AnalysisException: Incompatible format detected.\n\nYou are trying to write to "
        "`/mnt/lake/orders` using Databricks Delta, but there is no transaction log present."
    )

    assert missing.rule == "delta_file_missing"
    assert "data file 'part-00017-3f1c.c000.snappy.parquet' of 'orders'" in missing.root_cause
    assert as_csv.rule == no_log.rule == "delta_format_mismatch"
    assert "Delta table '/mnt/raw/loans' is read or written with format 'csv'" in (
        as_csv.root_cause
    )
    assert "path '/mnt/lake/orders' is read or written as a Delta table but holds no" in (
        no_log.root_cause
    )
    for rca in (missing, as_csv, no_log):
        _assert_well_formed(rca)


def test_round_twenty_eight_families_name_what_their_message_states() -> None:
    """EMR Serverless' failed job is read from its "Last few exceptions:", whose first one the
    RCA quotes (it was cut off after the job's boilerplate), and explained by the rule of what
    it names."""
    indentation = _rca(
        "airflow.exceptions.AirflowException: EMR Serverless job failed. Final state is FAILED. "
        "job_run_id is xxxxxxxx. Error: Job execution failed, please check complete logs in "
        "configured logging destination. ExitCode: 1. Last few exceptions: IndentationError: "
        "unexpected indent..."
    )
    module = _rca(
        "airflow.exceptions.AirflowException: EMR Serverless job failed. Final state is FAILED. "
        "job_run_id is 00f1. Error: Job execution failed, please check complete logs in "
        "configured logging destination. ExitCode: 1. Last few exceptions: ModuleNotFoundError: "
        "No module named 'boto4'..."
    )

    assert "“IndentationError: unexpected indent...”" in indentation.root_cause
    assert "configured logging destination" not in indentation.root_cause
    assert module.rule == "module_not_found"
    assert "Python module 'boto4' is not installed" in module.root_cause
    for rca in (indentation, module):
        _assert_well_formed(rca)


def test_round_twenty_nine_unpickling_error_is_not_read_as_an_unserializable_object() -> None:
    """An UnpicklingError is bytes pickle did not write (an XCom stored as JSON, read with
    pickling enabled), not an object the code could not serialize; a PicklingError still is."""
    unpickling = _rca(
        ">           return pickle.loads(result.value)\n"
        "E           _pickle.UnpicklingError: invalid load key, '{'.\n\n"
        "airflow/models/xcom.py:250: UnpicklingError"
    )
    pickling = _rca(
        "_pickle.PicklingError: Can't pickle <function <lambda> at 0x7f>: attribute lookup "
        "<lambda> on __main__ failed"
    )

    assert unpickling.rule != "not_serializable"
    assert "cannot be serialized" not in unpickling.root_cause
    assert "invalid load key" in unpickling.root_cause
    assert pickling.rule == "not_serializable"
    for rca in (unpickling, pickling):
        _assert_well_formed(rca)


def test_round_thirty_botocore_parameter_errors_name_the_parameter() -> None:
    """botocore's parameter validation is read as the call's argument it names (GlueVersion of a
    Glue job given as a float), not cut off after "Parameter validation failed:"."""
    wrong_type = _rca(
        "[2024-04-08, 18:58:44 UTC] {{glue.py:189}} ERROR - Failed to run aws glue job, error: "
        "Parameter validation failed:\nInvalid type for parameter GlueVersion, value: 4.0, type: "
        "<class 'float'>, valid types: <class 'str'>"
    )
    unknown = _rca(
        "botocore.exceptions.ParamValidationError: Parameter validation failed:\nUnknown "
        'parameter in input: "WorkerType", must be one of: JobName, Arguments'
    )

    assert wrong_type.rule == "botocore_argument_refused"
    assert "GlueVersion" in wrong_type.root_cause
    assert "float where the API takes str" in wrong_type.root_cause
    assert unknown.rule == "botocore_argument_refused"
    assert "which the API does not take" in unknown.root_cause
    for rca in (wrong_type, unknown):
        _assert_well_formed(rca)


def test_round_thirty_unfilled_template_slot_is_not_quoted_as_the_error() -> None:
    """A wrapped message that is only a template slot ("error message: %message;.") names
    nothing: the RCA quotes the wrapper that does ("The access token generated failed")."""
    rca = _rca(
        "Error code: SharePointOnlineAuthFailed. The access token generated failed, status code: "
        "%code;, error message: %message;."
    )
    filled = _rca(
        "Error code: SharePointOnlineAuthFailed. The access token generated failed, status code: "
        "401, error message: invalid_client: AADSTS7000215: Invalid client secret provided."
    )

    assert "access token generated failed" in rca.root_cause
    assert "“%message;" not in rca.root_cause
    # A filled slot is still the error quoted.
    assert "“invalid_client: AADSTS7000215: Invalid client secret provided.”" in filled.root_cause
    for each in (rca, filled):
        _assert_well_formed(each)


def test_round_thirty_program_started_by_name_and_missing_is_named_as_a_program() -> None:
    """Python's FileNotFoundError for a program started by its bare name ("No such file or
    directory: 'virtualenv': 'virtualenv'") is a program not installed, not a data path."""
    rca = _rca("FileNotFoundError: [Errno 2] No such file or directory: 'virtualenv': 'virtualenv'")
    data_path = _rca(
        "FileNotFoundError: [Errno 2] No such file or directory: '/data/in/orders.csv'"
    )

    assert rca.rule == "executable_missing"
    assert "program 'virtualenv' is not installed" in rca.root_cause
    assert data_path.rule != "executable_missing"
    for each in (rca, data_path):
        _assert_well_formed(each)


@pytest.mark.parametrize(
    ("message", "host", "limit"),
    [
        # Airflow 3's scheduler and the audit log entry of its "heartbeat timeout" event.
        (
            "[2025-06-20T00:41:18.162+0000] {scheduler_job_runner.py:2255} ERROR - Detected a "
            "task instance without a heartbeat: TaskCallbackRequest(filepath='etl.py', ...) (See "
            "https://airflow.apache.org/docs/apache-airflow/stable/core-concepts/tasks.html"
            "#task-instance-heartbeat-timeout)",
            "",
            "",
        ),
        (
            "heartbeat timeout: Task did not emit heartbeat within time limit (600 seconds) and "
            "will be terminated. See https://airflow.apache.org/docs/apache-airflow/stable/"
            "core-concepts/tasks.html#task-instance-heartbeat-timeout",
            "",
            "600 seconds",
        ),
        # Airflow 2's scheduler, naming the worker.
        (
            "ERROR - Detected zombie job: {'full_filepath': '/opt/airflow/dags/etl.py', 'msg': "
            "\"{'DAG Id': 'etl', 'Task Id': 'transform', 'Run Id': 'scheduled__1', 'Hostname': "
            "'airflow-worker-fs7hj'}\", 'is_failure_callback': True}",
            "airflow-worker-fs7hj",
            "",
        ),
    ],
)
def test_a_task_airflow_found_without_heartbeats_is_explained_as_such(
    message: str, host: str, limit: str
) -> None:
    """Whatever the Airflow version's words, and whichever class the words get (a "heartbeat
    timeout" reads as a timeout), the explanation is the lost heartbeat and where to look."""
    rca = _rca(message, source="airflow")

    assert rca.rule == "task_heartbeat_lost"
    assert "stopped sending heartbeats" in rca.root_cause
    assert host in rca.root_cause and limit in rca.root_cause
    assert "execution_timeout" not in " ".join([rca.root_cause, *rca.recommendations])
    _assert_well_formed(rca)


@pytest.mark.parametrize(
    ("message", "setting", "not_named"),
    [
        # A sensor's own wait: its `timeout`.
        (
            "airflow.exceptions.AirflowSensorTimeout: Sensor has timed out; run duration of "
            "3600.41 seconds exceeds the specified timeout of 3600.0.",
            "its timeout ran out",
            "execution_timeout",
        ),
        # A task's run time: its execution_timeout, with the limit Airflow 2 names.
        (
            "[2024-05-02, 05:00:00 UTC] {taskinstance.py:1138} ERROR - Task execution_timeout of "
            "2:00:00 exceeded; terminating\nairflow.exceptions.AirflowTaskTimeout: Timeout, PID: "
            "5512",
            "execution_timeout (2:00:00)",
            "dagrun_timeout",
        ),
        # The DagBag's timeout while importing a DAG file, not a task's.
        (
            "[2022-02-09 05:27:59,084] {timeout.py:36} ERROR - Process timed out, PID: 759\n"
            "[2022-02-09 05:27:59,088] {dagbag.py:334} ERROR - Failed to import: "
            "/usr/local/airflow/dags/many_tasks.py",
            "many_tasks.py timed out: it took longer than the DAG import timeout "
            "(dagbag_import_timeout",
            "execution_timeout",
        ),
        # The scheduler's own line for a DAG run over its dagrun_timeout.
        (
            "[2024-06-01T05:00:01.377+0000] {scheduler_job_runner.py:1660} INFO - Run "
            "scheduled__2024-06-01T02:00:00+00:00 of daily_sales has timed-out",
            "of 'daily_sales' took longer than the DAG's dagrun_timeout",
            "execution_timeout",
        ),
    ],
    ids=["sensor", "task", "dag-file-import", "dag-run"],
)
def test_an_airflow_timeout_names_the_setting_that_ran_out(
    message: str, setting: str, not_named: str
) -> None:
    rca = _rca(message, source="airflow")

    assert rca.root_cause.count(setting) == 1
    assert not_named not in rca.root_cause
    _assert_well_formed(rca)


def test_round_thirty_one_results_over_a_size_cap_name_the_cap() -> None:
    """BigQuery's responseTooLarge (a 403) is a result over its size cap, not an identity's
    missing permission; Airflow's max_map_length is named with both numbers."""
    bigquery = _rca(
        "transactor.Load: load query: googleapi: Error 403: Response too large to return. "
        "Consider specifying a destination table in your job configuration. For more details, "
        "see https://cloud.google.com/bigquery/troubleshooting-errors, responseTooLarge"
    )
    mapped = _rca(
        "airflow.exceptions.UnmappableXComLengthPushed: unmappable return value length: 1609 > 1024"
    )

    assert bigquery.rule == mapped.rule == "result_over_size_cap"
    assert "destination table" in bigquery.root_cause
    assert "permission" not in bigquery.root_cause
    assert "returned 1609 items" in mapped.root_cause
    assert "max_map_length (1024)" in mapped.root_cause
    for rca in (bigquery, mapped):
        _assert_well_formed(rca)


def test_round_thirty_one_worker_log_403_names_the_shared_secret_key() -> None:
    """A worker's log server refusing the webserver (403) because the components do not share
    [webserver] secret_key: the setting, not an identity lacking permission on the docs host."""
    rca = _rca(
        "*** !!!! Please make sure that all your Airflow components (e.g. schedulers, webservers "
        "and workers) have the same 'secret_key' configured in 'webserver' section !!!!!\n"
        "****** See more at https://airflow.apache.org/docs/apache-airflow/stable/configurations-"
        "ref.html#secret-key\n****** Failed to fetch log file from worker. 403 Client Error: "
        "FORBIDDEN for url: http://***:8793/log/tutorial/print_date/2022-03-06T00:00:00+00:00/"
        "2.log"
    )

    assert rca.rule == "log_server_secret_mismatch"
    assert "secret_key" in rca.root_cause
    assert "airflow.apache.org" not in rca.root_cause
    _assert_well_formed(rca)


def test_round_thirty_one_session_without_database_names_the_database() -> None:
    """Snowpark's "The DATABASE is not set for the current session" names the database, as
    Snowflake's "does not have a current database" does, not a schema."""
    snowpark = _rca(
        "The DATABASE is not set for the current session. To set this, either run "
        'session.sql("USE DATABASE").collect() or set the DATABASE connection property in the '
        "dict or properties file that you specify when creating a session"
    )
    snowflake = _rca(
        "090105 (22000): Cannot perform SELECT. This session does not have a current database. "
        "Call 'USE DATABASE', or use a qualified name."
    )

    for rca in (snowpark, snowflake):
        assert rca.rule == "session_context"
        assert "has no current database" in rca.root_cause
        _assert_well_formed(rca)


def test_round_thirty_two_unknown_celery_transport_names_the_broker_url() -> None:
    """Kombu's "No such transport" is the Celery broker URL's scheme (empty or unknown), not a
    missing key in the task's code."""
    empty = _rca("KeyError: 'No such transport: '")
    named = _rca("KeyError: 'No such transport: sqla'")

    assert empty.rule == named.rule == "celery_broker_transport"
    assert "an empty scheme" in empty.root_cause
    assert "scheme 'sqla'" in named.root_cause
    for rca in (empty, named):
        assert "broker_url" in rca.root_cause
        _assert_well_formed(rca)


def test_round_thirty_three_adf_expression_names_the_property_it_could_not_read() -> None:
    """An expression that quotes strings of its own, or that ADF names by its activity, still
    names the property it could not read (which the quoted error may cut off)."""
    quoting = _rca(
        "Activity failed because an inner activity failed; Inner activity name: If scheduled, "
        "Error: The expression 'and(equals(toLower(item().properties.schedule.recurrence), "
        "toLower(pipeline().parameters.Recurrence)),startswith(toLower(item().name), "
        "toLower(variables('hubName'))))' cannot be evaluated because property 'recurrence' "
        "doesn't exist, available properties are 'status'.",
        "CodeError",
    )
    named_by_activity = _rca(
        "The expression for Copy_Orders cannot be evaluated because property 'Error' cannot be "
        "selected.",
        "CodeError",
    )

    assert quoting.rule == named_by_activity.rule == "adf_expression"
    assert "property 'recurrence' does not exist in the value it reads" in quoting.root_cause
    assert "property 'Error' cannot be selected" in named_by_activity.root_cause
    for rca in (quoting, named_by_activity):
        _assert_well_formed(rca)


def _callback_text_without_exception(state: str) -> str:
    """What the Airflow callback sends for a failure Airflow ran it for with no exception (a
    task it failed from outside), the task instance in `state`."""
    from types import SimpleNamespace

    from integrations.airflow_callback.rca_callback import build_failure_body

    ti = SimpleNamespace(dag_id="etl", task_id="load", run_id="scheduled__1", state=state)
    return build_failure_body({"task_instance": ti, "exception": None})["exception"]


@pytest.mark.parametrize(
    ("state", "said", "advice"),
    [
        # Airflow 3's heartbeat timeout (a zombie) or a running task its executor reported gone.
        ("running", ("still running", "heartbeat", "zombie"), ("OOMKilled", "retries")),
        # A task failed while queued: stuck past task_queued_timeout, or killed before it ran.
        ("queued", ("never started", "task_queued_timeout"), ("queue", "Pending")),
        # Any other state: killed externally, lost, or set to failed.
        ("failed", ("from outside", "killed", "set to failed"), ("audit log", "OOMKilled")),
    ],
)
def test_a_task_airflow_failed_with_no_exception_is_explained_by_its_state(
    state: str, said: tuple[str, ...], advice: tuple[str, ...]
) -> None:
    """No class is guessed (the text says Airflow failed the task, not why, as for a zombie),
    but the explanation says what the state tells and where to look, not the generic advice."""
    message = _callback_text_without_exception(state)

    rca = _rca(message, source="airflow")

    assert classify_error(message).error_type == "Unknown"
    assert rca.rule == "airflow_failed_from_outside"
    for words in said:
        assert words in rca.root_cause
    recommendations = " ".join(rca.recommendations)
    for words in advice:
        assert words in recommendations
    assert "matches no known cause" not in rca.root_cause
    _assert_well_formed(rca)


def test_a_task_airflow_requeued_until_it_gave_up_says_it_never_left_its_queue() -> None:
    rca = _rca("Task was requeued more than 2 times and will be failed.", source="airflow")

    assert rca.rule == "airflow_failed_from_outside"
    assert "never started" in rca.root_cause and "more than 2 times" in rca.root_cause
    assert "task_queued_timeout" in rca.root_cause
    _assert_well_formed(rca)


_AIRFLOW_2_EXECUTOR_REPORT = (
    "Executor CeleryExecutor(parallelism=32) reported that the task instance <TaskInstance: "
    "etl.load scheduled__2025-12-10T00:00:00+00:00 [{state}]> finished with state failed, but "
    "the task instance's state attribute is {state}. Learn more: https://airflow.apache.org/docs/"
    "apache-airflow/stable/troubleshooting.html#task-state-changed-externally"
)


@pytest.mark.parametrize(
    ("message", "said"),
    [
        # What Airflow 2.6+ hands the failure callback of a task its executor reported failed.
        (_AIRFLOW_2_EXECUTOR_REPORT.format(state="queued"), "never started"),
        (_AIRFLOW_2_EXECUTOR_REPORT.format(state="running"), "still running"),
        # The wording of Airflow 2 before 2.6.
        (
            "Executor reports task instance <TaskInstance: etl.load scheduled__2025-12-10 "
            "[queued]> finished (failed) although the task says its queued. (Info: None) Was "
            "the task killed externally?",
            "never started",
        ),
    ],
)
def test_a_task_airflow_2_failed_on_its_executors_report_is_explained_by_its_state(
    message: str, said: str
) -> None:
    rca = _rca(message, source="airflow")

    assert rca.rule == "airflow_failed_from_outside"
    assert said in rca.root_cause
    assert "matches no known cause" not in rca.root_cause
    _assert_well_formed(rca)


def test_an_executors_report_quoted_with_its_cause_is_explained_by_that_cause() -> None:
    """The scheduler's log beside the report says why the task was lost: that is explained,
    not the report's "never started"."""
    message = (
        _AIRFLOW_2_EXECUTOR_REPORT.format(state="queued")
        + "\nPod was evicted: The node was low on resource: memory. Container base was using "
        "7812Mi, which exceeds its request of 2Gi."
    )

    rca = _rca(message, source="airflow")

    assert rca.rule != "airflow_failed_from_outside"
    assert "memory" in rca.root_cause
    _assert_well_formed(rca)


def test_a_task_marked_failed_by_hand_in_airflow_2_says_so_and_where_it_is_recorded() -> None:
    """Airflow 2 runs the failure callback of a running task whose state was set to failed
    from outside (the UI's "Mark as failed") with this text as its exception."""
    rca = _rca("task marked as failed externally", source="airflow")

    assert rca.rule == "airflow_failed_from_outside"
    assert "set to failed while it ran" in rca.root_cause and "by hand" in rca.root_cause
    assert "audit log" in " ".join(rca.recommendations)
    assert "repeats on rerun" not in " ".join(rca.recommendations)
    _assert_well_formed(rca)


_BASH = "Bash command failed. The command returned a non-zero exit code {}."
_SPARK = "Cannot execute: spark-submit --master yarn --name load_orders app.py. Error code is: {}."
_SSH = "SSH operator error: exit status = {}"


@pytest.mark.parametrize(
    ("wrapper", "program"),
    [
        (_BASH, "bash command BashOperator ran"),
        (_SPARK, "spark-submit command SparkSubmitOperator ran"),
        (_SSH, "remote command SSHOperator ran"),
    ],
    ids=["bash", "spark-submit", "ssh"],
)
@pytest.mark.parametrize(
    ("code", "error_type", "meaning"),
    [
        ("1", "Unknown", ""),
        ("137", "ResourceExhaustion", "SIGKILL, most often by the out-of-memory killer"),
        ("143", "ResourceExhaustion", "stopped with SIGTERM"),
        ("124", "TimeoutError", "ran longer than the limit"),
        ("127", "ConfigurationError", "found no such command"),
        ("126", "ConfigurationError", "could not execute it"),
    ],
)
def test_an_operators_exit_code_names_the_program_its_log_and_what_the_code_means(
    wrapper: str, program: str, code: str, error_type: str, meaning: str
) -> None:
    """The operator's error holds only the program's exit code: the RCA says so, sends the
    responder to the task log where the program's error is (Analyse the run's log), and names
    what a well-known code means, classified as such."""
    message = (
        'Traceback (most recent call last):\n  File "/opt/airflow/operator.py", line 243, in '
        f"execute\n    raise AirflowException(\nAirflowException: {wrapper.format(code)}"
    )

    rca = _rca(message, source="airflow", details={"operator": "BashOperator"})

    assert classify_error(message).error_type == error_type
    assert rca.rule == "operator_exit_code"
    assert f"{program} exited with code {code}" in rca.root_cause
    assert "own error is in the task's log" in rca.root_cause
    assert meaning in rca.root_cause
    assert "Spark executors" not in rca.root_cause
    assert any("Analyse the run's log" in r and "log-analyses" in r for r in rca.recommendations)
    _assert_well_formed(rca)


def test_an_operators_exit_code_after_the_programs_own_error_is_explained_by_that_error() -> None:
    """A log read with the wrapper states the program's error: its rule explains it."""
    message = (
        "[2025-12-10, 00:01:02 UTC] {subprocess.py:93} INFO - numpy.core._exceptions."
        "_ArrayMemoryError: Unable to allocate 3.20 GiB for an array with shape (429496730,) "
        "and data type float64\n"
        f"[2025-12-10, 00:01:02 UTC] {{taskinstance.py:3311}} ERROR - {_BASH.format(1)}"
    )

    rca = _rca(message, source="airflow")

    assert classify_error(message).error_type == "ResourceExhaustion"
    assert rca.rule not in ("operator_exit_code", "exit_code", "")
    assert "3.20 GiB" in rca.root_cause


@pytest.mark.parametrize(
    "text",
    [
        "cannot execute: " * 3_000,
        "Cannot execute: x. Error code is: 1.\n" * 1_500,
        "bash command failed. the command returned a non-zero exit code " * 1_000,
        "ssh operator error: exit status = 1 " * 2_000,
        "task failed without an exception (state: " * 2_000,
        "task was requeued more than " + "9" * 20_000,
    ],
    ids=["spark-open", "spark-repeat", "bash-open", "ssh-repeat", "state-open", "requeue-digits"],
)
def test_the_operator_and_callback_patterns_read_pathological_text_in_linear_time(
    text: str,
) -> None:
    started = time.process_time()
    error_type, _ = explain_without_llm(text)
    assert error_type in ERROR_CLASSES
    assert time.process_time() - started < 3.0


def test_round_thirty_four_airflow_and_kafka_failures_are_explained_as_what_they_are() -> None:
    """A DAG file processor killed past its timeout is not read as an OOM kill; a Celery
    worker's lost broker, an execution API token that does not verify or has expired and
    librdkafka's full local queue each name their cause and what to set."""
    processor = _rca(
        "Processor for /opt/airflow/dags/big_dag.py with PID 1234 started at "
        "2024-05-01T10:00:00+00:00 has timed out, killing it\n"
        "Processor for /opt/airflow/dags/big_dag.py exited with return code -9"
    )
    broker = _rca(
        "consumer: Connection to broker lost. Trying to re-establish the connection...\n"
        '  File "/home/airflow/.local/lib/python3.8/site-packages/kombu/transport/redis.py", '
        "line 1336, in on_readable"
    )
    unsigned = _rca("Invalid auth token: Signature verification failed", source="airflow")
    expired = _rca("ServerResponseError: Invalid auth token: Signature has expired")
    queue = _rca("Failed to produce to topic 'orders' partition 3: Local: Queue full")

    assert processor.rule == "dag_file_processor_timeout"
    assert "dag_file_processor_timeout" in processor.root_cause
    assert "'/opt/airflow/dags/big_dag.py'" in processor.root_cause
    assert broker.rule == "celery_broker_lost"
    assert "message broker (Redis)" in broker.root_cause
    assert unsigned.rule == expired.rule == "auth_token_rejected"
    assert "jwt_secret" in unsigned.root_cause
    assert "expired" in expired.root_cause and "jwt_secret" not in expired.root_cause
    assert queue.rule == "send_queue_full"
    assert "topic 'orders'" in queue.root_cause
    assert any("queue.buffering.max.messages" in r for r in queue.recommendations)
    for rca in (processor, broker, unsigned, expired, queue):
        _assert_well_formed(rca)


def test_round_thirty_five_delta_logs_that_cannot_be_read_are_explained_as_what_they_are() -> None:
    """A Delta log failing its integrity checks is not an exception in the job's code: it names
    the check that failed and how to restore the table; a log missing a version's file names
    the version, as a truncated log does."""
    corrupt = _rca(
        "java.lang.IllegalStateException: The transaction log has failed integrity checks. We "
        "recommend you contact Databricks support for assistance. To disable this check, set "
        "spark.databricks.delta.state.corruptionIsFatal to false. Failed verification of:\n"
        "  Table size (bytes) - Expected: 696757759 Computed: 696757530"
    )
    missing = _rca("java.lang.IllegalStateException: could not find any delta file for version 159")

    assert corrupt.rule == "delta_log_corrupt"
    assert "Table size (bytes) - Expected: 696757759 Computed: 696757530" in corrupt.root_cause
    assert any("RESTORE TABLE" in r for r in corrupt.recommendations)
    assert missing.rule == "delta_log_truncated"
    assert "version 159" in missing.root_cause
    for rca in (corrupt, missing):
        _assert_well_formed(rca)


def test_round_thirty_six_unset_settings_and_missing_sources_are_explained_as_such() -> None:
    """A setting a service requires left unset names the setting; a refresh whose source tables
    are missing or unreadable names the tables and the owner's read access, not the retry limit
    its refresh reports."""
    unset = _rca(
        '{"status": "Failed", "error": {"code": "ValidationFailed", "message": "Spark pool '
        'request validation failed.", "details": [{"code": "DynamicExecutorAllocationNotValid", '
        '"message": "Min and max executors properties are mandatory fields when dynamic executor '
        'allocation is enabled"}]}}'
    )
    uninitialized = _rca(
        '{"errorCode": "3500", "message": "FormatSetting property is not initialized.", '
        '"failureType": "UserError", "target": "Get Metadata1"}'
    )
    sources = _rca(
        "Warning: Retry attempts for failures while executing the refresh exceeded the retry "
        "limit set on the request.\nError: We cannot refresh this semantic model because one or "
        "multiple source tables either do not exist or access was denied. Please contact a data "
        "source admin to verify that the tables exist and ensure that the owner of this semantic "
        "model does have read access to these tables: 'customers,sales'"
    )

    assert unset.rule == uninitialized.rule == "required_setting_unset"
    assert "dynamic executor allocation" in unset.root_cause
    assert "FormatSetting property is not initialized" in uninitialized.root_cause
    assert sources.rule == "source_missing_or_denied"
    assert "customers,sales" in sources.root_cause
    assert "read access" in sources.root_cause
    for rca in (unset, uninitialized, sources):
        _assert_well_formed(rca)


def test_round_thirty_seven_power_query_expressions_are_explained_as_such() -> None:
    """A Power Query step whose expression fails names what the expression said, not the
    dataflow refresh or the service around it."""
    conversion = _rca(
        "Error Code: Mashup Exception Error, Error Details: Couldn't refresh the entity because "
        "of an issue with the mashup document MashupException.Error: Expression.Error: We cannot "
        'convert a value of type Table to type Text. Details: Value = #table({"Name"}, {}) '
        "(Request ID: e558cc47-a099-4591-a018-509bf38ecb54)."
    )
    enumeration = _rca(
        "There was a problem refreshing the dataflow, the dataflow definition contained errors. "
        'Additional information: Unexpected exception in query "<pi>Apps</pi>", Message: '
        "<pi>Expression.Error: There weren't enough elements in the enumeration to complete the "
        "operation.</pi>."
    )

    assert conversion.rule == enumeration.rule == "power_query_expression"
    assert "type Table to type Text" in conversion.root_cause
    assert "Request ID" not in conversion.root_cause
    assert "enough elements in the enumeration" in enumeration.root_cause
    for rca in (conversion, enumeration):
        _assert_well_formed(rca)


def test_round_thirty_seven_an_oauth_token_not_refreshed_is_explained_as_such() -> None:
    """A stored connection whose OAuth token could not be refreshed names the connection and the
    sign-in to redo, not the "Failed to resolve connection" it is reported with."""
    rca = _rca(
        "Activity failed because an inner activity failed; Inner activity name: Copy Activity Log "
        "to Files, Error: Failed to resolve connection 'a7cdc747-c102-43c6-bed7-ccc099a03f97' "
        "referenced in activity run '31082f5d-0820-470d-b102-788b6bbcec8a'. ErrorCode: "
        "'DMTS_OAuthTokenRefreshFailedError'. ErrorMessage: 'null'."
    )

    assert rca.rule == "oauth_refresh_failed"
    assert "a7cdc747-c102-43c6-bed7-ccc099a03f97" in rca.root_cause
    assert "OAuth token" in rca.root_cause
    _assert_well_formed(rca)


def test_round_thirty_nine_a_workspace_without_capacity_is_explained_as_such() -> None:
    """A deployment to a workspace on no capacity names the workspace and its missing capacity,
    not a capacity running out."""
    named = _rca(
        "[error]  09:26:21 - Workspace 5f0c2d1e-7a3b-4c9d-8e21-0b6a4f3c2d10 does not have an "
        "assigned capacity. Please assign a capacity before publishing items."
    )
    unnamed = _rca("Please assign the workspace to a capacity before running the notebook.")

    assert named.rule == unnamed.rule == "workspace_without_capacity"
    assert "5f0c2d1e-7a3b-4c9d-8e21-0b6a4f3c2d10" in named.root_cause
    assert "has no assigned capacity" in named.root_cause
    assert "The target workspace has no assigned capacity" in unnamed.root_cause
    for rca in (named, unnamed):
        _assert_well_formed(rca)


def test_round_thirty_nine_logical_decoding_off_names_wal_level() -> None:
    """Change data capture from a server without logical WAL names its wal_level setting, in
    PostgreSQL's, pgsync's and Debezium's wordings."""
    rcas = [
        _rca(message)
        for message in (
            "ERROR: logical decoding requires wal_level >= logical",
            "RuntimeError: Enable logical decoding by setting wal_level=logical",
            "io.debezium.DebeziumException: Postgres server wal_level property must be 'logical' "
            "but is: 'replica'",
        )
    ]

    for rca in rcas:
        assert rca.rule == "logical_decoding_disabled"
        assert "wal_level is below logical" in rca.root_cause
        assert any("wal_level = logical" in step for step in rca.recommendations)
        _assert_well_formed(rca)


def test_round_thirty_nine_a_kafka_client_not_constructed_names_the_client() -> None:
    """A Kafka client its settings could not build names which client and the settings to read,
    not a network failure."""
    producer = _rca("org.apache.kafka.common.KafkaException: Failed to construct kafka producer")
    consumer = _rca("KafkaException: Failed to construct kafka consumer\n\tat org.apache.kafka")

    assert producer.rule == consumer.rule == "kafka_client_not_constructed"
    assert "The Kafka producer could not be built" in producer.root_cause
    assert "Failed to construct kafka consumer" in consumer.root_cause
    for rca in (producer, consumer):
        _assert_well_formed(rca)


def test_round_thirty_nine_a_setting_an_enabled_option_requires_is_quoted_alone() -> None:
    """A setting made mandatory by an enabled option is explained by that sentence, without the
    log line's prefix, not by the IllegalStateException it is thrown as."""
    rca = _rca(
        "23/10/30 23:44:56 ERROR FlintJob: Fail to write result, cause: Checkpoint location is "
        "mandatory for incremental refresh if spark.flint.index.checkpoint.mandatory enabled\n"
        "java.lang.IllegalStateException: Checkpoint location is mandatory for incremental "
        "refresh if spark.flint.index.checkpoint.mandatory enabled"
    )

    assert rca.rule == "required_setting_unset"
    assert (
        "'Checkpoint location is mandatory for incremental refresh if "
        "spark.flint.index.checkpoint.mandatory enabled'" in rca.root_cause
    )
    assert "FlintJob" not in rca.root_cause
    _assert_well_formed(rca)


def test_round_forty_a_missing_kubernetes_secret_or_key_is_named() -> None:
    """A container referring to a Secret, ConfigMap or key that is not there names it and its
    namespace, in the kubelet's wordings, not a generic misconfiguration."""
    key = _rca(
        "Warning  Failed  2s (x5 over 54s)  kubelet  Error: couldn't find key db_url in ConfigMap "
        "jobs/etl-settings"
    )
    secret = _rca(
        'Warning  Failed  29m  kubelet, node-3  Error: secrets "warehouse-creds" not found'
    )

    assert key.rule == secret.rule == "kube_secret_missing"
    assert (
        "key 'db_url' of ConfigMap 'etl-settings' in namespace 'jobs', and the ConfigMap has no "
        "such key" in key.root_cause
    )
    assert "Secret 'warehouse-creds', and no Secret of that name exists" in secret.root_cause
    for rca in (key, secret):
        _assert_well_formed(rca)


def test_round_forty_airflow_bundles_tasks_and_xcoms_that_are_not_there_are_named() -> None:
    """An Airflow 3 DAG bundle missing from the configuration, a task the DAG does not have and
    an XCom pulled from a task that pushed none name the bundle, the task and the key."""
    bundle = _rca("ValueError: Requested bundle 'git-dags' is not configured.")
    task = _rca("airflow.exceptions.TaskNotFound: Task load_orders not found")
    xcom = _rca(
        "[warning  ] Server error [airflow.sdk.api.client] detail={'detail': {'reason': "
        "'not_found', 'message': \"XCom with key 'row_count' not found for task 'extract' in DAG "
        "'etl'\"}}"
    )

    assert bundle.rule == "dag_bundle_not_configured"
    assert "DAG bundle 'git-dags'" in bundle.root_cause
    assert "dag_bundle_config_list" in bundle.root_cause
    assert task.rule == "airflow_task_not_found"
    assert "no task 'load_orders'" in task.root_cause
    assert xcom.rule == "xcom_missing"
    assert "pulls XCom 'row_count' from task 'extract'" in xcom.root_cause
    for rca in (bundle, task, xcom):
        _assert_well_formed(rca)


def test_round_forty_the_error_is_quoted_past_a_wrapper_and_a_task_log_info_line() -> None:
    """A Confluent Cloud connector's error is quoted from what follows "errors_from_trace:", not
    its apology; an error printed bare after a task log's info lines is quoted, not the info."""
    connector = _rca(
        "connector: The connector failed due to an unexpected error. Contact our Support team to "
        "quickly resolve this issue. We apologize for any inconvenience. errors_from_trace: "
        "Failed to open the Delta Lake JDBC connection (SQLState=08S01, vendorCode=500593)."
    )
    task_log = _rca(
        "[2024-03-01, 10:00:00 UTC] {taskinstance.py:1383} INFO - Executing "
        "<Task(PythonOperator): load> on 2024-03-01\n'params' is undefined",
        "CodeError",
    )

    assert "Failed to open the Delta Lake JDBC connection" in connector.root_cause
    assert "apologize" not in connector.root_cause
    assert "'params' is undefined" in task_log.root_cause
    assert "Executing" not in task_log.root_cause
    for rca in (connector, task_log):
        _assert_well_formed(rca)


def test_round_forty_one_table_and_object_policies_are_named() -> None:
    """A BigQuery write whose partitioning disagrees with the table's, an object a retention
    policy keeps and a pod a PodSecurity level refuses are explained by the table, the object
    and the fields the policy asks for, not as bad data, nothing, or a missing permission."""
    partition = _rca(
        "google.api_core.exceptions.BadRequest: 400 Incompatible table partitioning "
        "specification. Expects partitioning specification interval(type:day) clustering(id), "
        "but input partitioning specification is none"
    )
    decorator = _rca(
        "Cannot add storage to a non-partitioned table with a partition reference: "
        "analytics:staging.events$20240301"
    )
    held = _rca(
        "google.api_core.exceptions.Forbidden: 403 Object 'exports/orders.csv' is under active "
        "Temporary hold and cannot be deleted, overwritten or archived until hold is removed."
    )
    locked = _rca(
        "botocore.exceptions.ClientError: An error occurred (AccessDenied) when calling the "
        "PutObject operation: Access Denied because object protected by object lock."
    )
    pod = _rca(
        'Error creating: pods "etl-load-5c9d" is forbidden: violates PodSecurity '
        '"baseline:latest": privileged (container "spark" must set '
        "securityContext.privileged=false)"
    )

    assert partition.rule == decorator.rule == "table_partitioning_mismatch"
    assert "partitioning spec" in partition.root_cause
    assert "non-partitioned table" in decorator.root_cause
    assert "the table's: interval(type:day) clustering(id); the job's: none" in (
        partition.root_cause
    )
    assert "of table 'analytics:staging.events', a non-partitioned table" in (decorator.root_cause)
    assert held.rule == locked.rule == "retention_locked_object"
    assert "object 'exports/orders.csv', which an object hold" in held.root_cause
    assert "S3 Object Lock keeps unchanged" in locked.root_cause
    assert pod.rule == "pod_admission_refused"
    assert 'PodSecurity level "baseline:latest"' in pod.root_cause
    assert "securityContext.privileged" in pod.root_cause
    for rca in (partition, decorator, held, locked, pod):
        _assert_well_formed(rca)


def test_round_forty_one_placements_requests_and_drivers_name_what_was_refused() -> None:
    """An ECS task no instance had memory for, an Airflow 3 task's malformed Variable request, a
    Simba driver answered 401, change tracking left off and a driver unresponsive at start are
    explained by the resource, the argument, the status, the table and the listed reasons."""
    ecs = _rca(
        "ECSOperatorError: {'tasks': [], 'failures': [{'arn': 'arn:aws:ecs:us-east-1:1:"
        "container-instance/etl/9f', 'reason': 'RESOURCE:MEMORY'}]}"
    )
    sdk = _rca(
        "ValidationError: 1 validation error for GetVariable\nkey\n  Input should be a valid "
        "string [type=string_type, input_value=None, input_type=NoneType]"
    )
    driver = _rca(
        "java.sql.SQLException: [Simba][SparkJDBCDriver](500593) Communication link failure. "
        "Failed to connect to server. Reason: HTTP Response code: 401, Error message: Unknown."
    )
    tracking = _rca(
        "Msg 4998, Level 16: Change tracking is not enabled on table 'dbo.orders'.",
        "ConfigurationError",
    )
    driver_down = _rca(
        "Spark failed to start: Driver unresponsive. Possible reasons: library conflicts, "
        "incorrect metastore configuration, and init script misconfiguration.",
        "ConfigurationError",
    )

    assert ecs.rule == "ecs_placement_no_resources"
    assert "enough free MEMORY" in ecs.root_cause
    assert sdk.rule == "task_sdk_request_invalid"
    assert "GetVariable request whose argument 'key' was None" in sdk.root_cause
    assert driver.rule == "driver_http_auth_refused"
    assert "status 401" in driver.root_cause
    assert "“Unknown.”" not in driver.root_cause
    assert tracking.rule == "change_tracking_disabled"
    assert "change tracking is not enabled on table 'dbo.orders'" in tracking.root_cause.lower()
    assert driver_down.rule == "init_script"
    assert "init script 'misconfiguration" not in driver_down.root_cause
    assert "possible reasons: library conflicts" in driver_down.root_cause
    for rca in (ecs, sdk, driver, tracking, driver_down):
        _assert_well_formed(rca)


def test_round_forty_one_a_bigquery_field_mode_mismatch_names_the_field() -> None:
    """BigQuery's Parquet load whose field modes differ from the given schema names the field and
    both modes."""
    rca = _rca(
        "Error while reading data, error message: Provided schema is not compatible with the "
        "file 'day=1/part-0.parquet'. Field 'items' is specified as REPEATED in provided schema "
        "which does not match NULLABLE as specified in the file."
    )
    assert rca.rule == "schema_mismatch"
    assert "Field 'items' is REPEATED in the schema the load was given but NULLABLE" in (
        rca.root_cause
    )
    _assert_well_formed(rca)


def test_round_forty_two_rules_name_the_cause_the_message_states() -> None:
    """Round 42's families, in wordings other than the set's: each reads as its own rule and
    names what the message names (the query expired, the name not resolved, the parameter, the
    variable, the partition counts, the channel's refusal, the dbt hint)."""
    expired = _rca("Query execution has resulted in error (0x80DA0006): Query is expired.")
    unresolved = _rca(
        "Semantic error: 'join' operator: Failed to resolve table or column expression named "
        "'DeviceEvents'"
    )
    pool = _rca(
        "Livy session failed: CLUSTER_CREATION_TIMED_OUT. Cluster was in terminal "
        "state=[Cancelled] before it reached 'Ready' state."
    )
    disabled = _rca(
        "Compilation Error\n  Model 'model.shop.orders' (models/orders.sql) depends on a node "
        "named 'stg_events' in package or project 'shop' which is disabled"
    )
    conditional = _rca(
        "Compilation Error in model orders (models/orders.sql)\n  dbt was unable to infer all "
        'dependencies for the model "orders".\n  This typically happens when ref() is placed '
        "within a conditional block.\n\n  To fix this, add the following hint to the top of the "
        "model \"orders\":\n\n  -- depends_on: {{ ref('stg_events') }}"
    )
    refresh = _rca(
        "You can't schedule refresh for this semantic model because the following data sources "
        "currently don't support refresh: Data source for Query1"
    )
    session = _rca(
        "[NO_ACTIVE_SESSION] No active or default Spark session found. Please create a new Spark "
        "session before running the code."
    )
    parameter = _rca(
        "pyodbc.ProgrammingError: ('42000', '[42000] [Microsoft][ODBC Driver 18 for SQL Server]"
        '[SQL Server]Must declare the scalar variable "@load_date". (137)\')'
    )
    varchar = _rca(
        "org.apache.spark.SparkRuntimeException: [EXCEED_LIMIT_LENGTH] Exceeds char/varchar type "
        "length limitation: 20."
    )
    variable = _rca(
        "airflow.sdk.exceptions.AirflowRuntimeError: VARIABLE_NOT_FOUND: {'key': 'orders_bucket'}"
    )
    partitions = _rca(
        "Too many partitions produced by query, allowed 4000, query produces at least 5120 "
        "partitions"
    )
    architecture = _rca("standard_init_linux.go:228: exec user process caused: exec format error")
    slack = _rca(
        "slack_sdk.errors.SlackApiError: The request to the Slack API failed.\nThe server "
        "responded with: {'ok': False, 'error': 'not_in_channel'}"
    )

    assert expired.rule == "query_expired"
    assert "expired it before it finished" in expired.root_cause
    assert unresolved.rule == "query_name_unresolved"
    assert "refers to 'DeviceEvents' (in its 'join' operator)" in unresolved.root_cause
    assert pool.rule == "compute_start_timed_out"
    assert "did not become ready in time (CLUSTER_CREATION_TIMED_OUT" in pool.root_cause
    assert disabled.rule == "dbt_unresolved_ref"
    assert "node 'stg_events' in package 'shop', which is disabled" in disabled.root_cause
    assert conditional.rule == "dbt_dependency_not_inferred"
    assert "calls ref() inside a conditional block" in conditional.root_cause
    assert "-- depends_on: {{ ref('stg_events') }}" in conditional.recommendations[0]
    assert refresh.rule == "refresh_unsupported_source"
    assert session.rule == "spark_session_stopped"
    assert "no active Spark session" in session.root_cause
    assert parameter.rule == "sql_parameter_unbound"
    assert "uses parameter '@load_date', which the call did not bind" in parameter.root_cause
    assert varchar.rule == "truncation"
    assert "CHAR/VARCHAR length of 20" in varchar.root_cause
    assert variable.rule == "airflow_runtime_not_found"
    assert "variable 'orders_bucket', which this deployment does not have" in variable.root_cause
    assert partitions.rule == "partition_count_limit"
    assert "at least 5120, over the limit of 4000" in partitions.root_cause
    assert architecture.rule == "exec_format_error"
    assert "another CPU architecture" in architecture.root_cause
    assert slack.rule == "slack_channel_unusable"
    assert "(not_in_channel): the app's bot is not a member" in slack.root_cause
    for rca in (
        expired,
        unresolved,
        pool,
        disabled,
        conditional,
        refresh,
        session,
        parameter,
        varchar,
        variable,
        partitions,
        architecture,
        slack,
    ):
        _assert_well_formed(rca)


def test_round_forty_two_a_dns_failure_still_reads_as_the_network() -> None:
    """Kusto's "Failed to resolve table ... expression" is a name in the query; a host that
    failed to resolve is still DNS."""
    message = "Could not connect to broker: Failed to resolve 'kafka-1.internal:9092'"
    rca = _rca(message)
    assert classify_error(message).error_type == "NetworkError"
    assert rca.rule != "query_name_unresolved"
    _assert_well_formed(rca)


def test_round_forty_two_a_create_or_write_that_does_not_fit_the_table_names_it() -> None:
    """A CREATE of a table that is already there names the table, in any engine's wording; a
    write with fewer columns than the table names the table and both counts."""
    spark_view = _rca(
        "[TABLE_OR_VIEW_ALREADY_EXISTS] Cannot create table or view `main`.`sales`.`orders` "
        "because it already exists. Choose a different name, drop or replace the existing object."
    )
    postgres = _rca('psycopg2.errors.DuplicateTable: relation "orders_stage" already exists')
    arity = _rca(
        "org.apache.spark.sql.AnalysisException: Cannot write to 'sales.orders', not enough data "
        "columns; target table has 5 column(s) but the inserted data has 4 column(s)"
    )
    sql_server = _rca(
        "Msg 213, Level 16, State 1: Column name or number of supplied values does not match "
        "table definition."
    )

    assert spark_view.rule == postgres.rule == "table_already_exists"
    assert "creates 'main.sales.orders', which already exists" in spark_view.root_cause
    assert "creates 'orders_stage', which already exists" in postgres.root_cause
    assert arity.rule == sql_server.rule == "insert_column_count_mismatch"
    assert "table 'sales.orders'" in arity.root_cause
    assert "(the table has 5 columns, the data 4)" in arity.root_cause
    for rca in (spark_view, postgres, arity, sql_server):
        _assert_well_formed(rca)


def test_round_forty_three_rules_name_the_cause_the_message_states() -> None:
    """A paused capacity, a notebook without a lakehouse, a column a file or block lacks and a
    BigQuery load that gave up on bad rows are each explained as such, in other wordings than
    the round's messages."""
    paused = _rca("The capacity 'finance-f64' is paused. Resume it to run the pipeline.")
    not_active = _rca("PowerBIEntityNotFound: Capacity operation failed: CapacityNotActive")
    no_lakehouse = _rca(
        "Py4JJavaError: MetaException(message:Spark SQL queries are only possible in the context "
        "of a lakehouse. Please attach a lakehouse to proceed.)"
    )
    parquet = _rca("java.io.IOException: Required column is missing in data file. Col: [order_ts]")
    clickhouse = _rca(
        "DB::Exception: Not found column amount in block. There are only columns: id, ts: "
        "While executing ReadFromObjectStorage. (NOT_FOUND_COLUMN_IN_BLOCK)"
    )
    arrow = _rca("_internal.SchemaMismatchError: Schema error: Field region not found in schema.")
    load = _rca(
        'Location: "gs://landing/orders/2024-05-01.csv"; Message: "Error while reading data, '
        "error message: CSV table encountered too many errors, giving up. Rows: 120; errors: "
        '7."; Reason: "invalid"'
    )

    assert classify_error("The capacity 'finance-f64' is paused.").error_type == (
        "ConfigurationError"
    )
    assert paused.rule == not_active.rule == "capacity_not_active"
    assert "Capacity 'finance-f64' the workspace runs on is not active" in paused.root_cause
    assert "not active" in not_active.root_cause
    assert no_lakehouse.rule == "lakehouse_not_attached"
    assert "no default lakehouse attached" in no_lakehouse.root_cause
    assert parquet.rule == clickhouse.rule == arrow.rule == "missing_column"
    assert "Column 'order_ts' is not present in the data file it read" in parquet.root_cause
    assert "Column 'amount' is not present in the input data (available: id, ts)" in (
        clickhouse.root_cause
    )
    assert "Column 'region'" in arrow.root_cause
    assert load.rule == "load_too_many_errors"
    assert "the CSV file 'gs://landing/orders/2024-05-01.csv'" in load.root_cause
    assert "(7 bad of 120 rows read)" in load.root_cause
    for rca in (paused, not_active, no_lakehouse, parquet, clickhouse, arrow, load):
        _assert_well_formed(rca)


def test_round_forty_four_rules_name_the_cause_the_message_states() -> None:
    """An ADF Fail activity that cannot raise its failure, rows a dataflow failed to write, a
    missing Unity Catalog storage credential, a Delta table not found, an Airflow pool not
    found, an Airflow key over its length, an invalid container image and a Slack token refused
    are each explained as such, in other wordings than the round's messages."""
    fail = _rca("Failed to interpret Notify Failure fail message or error code")
    rows = _rca("Refresh finished with warnings: 12 rows failed to insert into table 'Accounts'.")
    credential = _rca(
        "UnityCatalogServiceException: [RequestId=1 ErrorClass=DAC_DOES_NOT_EXIST] Root storage "
        "credential for metastore m1 does not exist."
    )
    table = _rca(
        "AnalysisException: [DELTA_TABLE_NOT_FOUND] Delta table `main`.`sales`.`orders` doesn't "
        "exist."
    )
    pool = _rca("Task specified a pool (etl_pool) but the pool doesn't exist")
    key = _rca(
        "The key: my_dag.extract_group.load_orders_to_warehouse has to be less than 250 characters"
    )
    image = _rca("Container app in pod etl-7 is waiting to start: InvalidImageName")
    slack = _rca(
        "SlackApiError: The request to the Slack API failed.\nThe server responded with: {'ok': "
        "False, 'error': 'token_revoked'}"
    )

    assert fail.rule == "fail_activity_uninterpretable"
    assert "Fail activity 'Notify Failure' could not raise its failure" in fail.root_cause
    assert rows.rule == "rows_failed_to_write"
    assert rows.root_cause.startswith("The pipeline failed: 12 rows failed to upsert or insert")
    assert credential.rule == "storage_credential_missing"
    assert "root storage credential of metastore 'm1'" in credential.root_cause
    assert table.rule == "delta_table_not_found"
    assert "Delta table 'main.sales.orders' does not exist" in table.root_cause
    assert pool.rule == "airflow_pool_not_found"
    assert "assigned to pool 'etl_pool'" in pool.root_cause
    assert key.rule == "identifier_too_long"
    assert "longer than the 250 characters" in key.root_cause
    assert image.rule == "container_image_invalid"
    assert "not a valid image reference" in image.root_cause
    assert slack.rule == "slack_auth_refused"
    assert "(token_revoked): the token was revoked" in slack.root_cause
    for rca in (fail, rows, credential, table, pool, key, image, slack):
        _assert_well_formed(rca)


def test_round_forty_five_rules_name_the_cause_the_message_states() -> None:
    """Two settings set together, a setting an operation needs, a setting's value the connector
    does not take, a parameter of the wrong type, a linked service's key refused, a data flow
    expression that cannot be parsed and a file the flow cannot read are each explained as such,
    in other wordings than the round's messages."""
    conflict = _rca("Version and timestamp options cannot be both specified.")
    required = _rca("Partition key should be specified for upsert operations.")
    parse = _rca("Row delimiter is required for parsing")
    unsupported = _rca("Compression type can either be gzip or snappy.")
    parameter = _rca("Make sure that the type of parameter matches with type of value passed in.")
    key = _rca("The input authorization token can't serve the request.")
    expression = _rca("Expression could not be parsed: unexpected token ')'")
    field = _rca("Field in struct does not exist: order.customer.zip")
    file = _rca("Invalid json file is provided.")
    xml = _rca("XML element has subelements or attributes which can't be converted")

    assert conflict.rule == "settings_conflict"
    assert "the settings 'Version and timestamp' set together" in conflict.root_cause
    assert required.rule == "setting_required_for_operation"
    assert "missing 'Partition key', which it needs for upsert operations" in required.root_cause
    assert parse.rule == "setting_required_for_operation"
    assert "missing 'Row delimiter', which it needs to parse its input" in parse.root_cause
    assert unsupported.rule == "setting_value_unsupported"
    assert "('Compression type can either be gzip or snappy')" in unsupported.root_cause
    assert parameter.rule == "parameter_type_mismatch"
    assert "passed a value of another type than the parameter declares" in parameter.root_cause
    assert key.rule == "linked_service_key_rejected"
    assert "refused the account name or access key" in key.root_cause
    assert expression.rule == "data_flow_expression_invalid"
    assert "expression cannot be parsed" in expression.root_cause
    assert field.rule == "data_flow_expression_invalid"
    assert "names a field its struct does not have" in field.root_cause
    assert file.rule == "file_content_unreadable"
    assert "The JSON file the source read is not a valid JSON file" in file.root_cause
    assert xml.rule == "file_content_unreadable"
    assert "sub elements or attributes the data flow cannot convert" in xml.root_cause
    for rca in (
        conflict,
        required,
        parse,
        unsupported,
        parameter,
        key,
        expression,
        field,
        file,
        xml,
    ):
        _assert_well_formed(rca)


def test_round_forty_six_rules_name_the_cause_the_message_states() -> None:
    """Spark configs Spark refuses, options set together, Delta table features and locations,
    a default database, dbt projects, values Spark cannot read as their type, struct fields,
    empty directories, Delta checkpoints, NOT NULL constraints, MERGE statements, partition
    predicates, ambiguous columns and state stores out of memory are each explained as such, in
    other wordings than the round's messages."""
    feature = _rca(
        "[FEATURE_NOT_ENABLED] The feature Variant type is not enabled. Consider setting the "
        "config spark.sql.variant.enabled to true to enable this capability. SQLSTATE: 56038"
    )
    restart = _rca(
        "Cannot change spark.sql.shuffle.partitions from 200 to 400 between restarts. Please set "
        "spark.sql.shuffle.partitions to 200, or restart with a new checkpoint directory."
    )
    options = _rca("'overwriteSchema' cannot be used in dynamic partition overwrite mode.")
    table_feature = _rca(
        "Unable to enable table feature deletionVectors because it requires a higher writer "
        "protocol version (current 2)."
    )
    location = _rca(
        "You are trying to create an external table `dev`.`bronze`.`events`\nfrom "
        "`s3://bucket/bronze/events` using Delta, but there is no transaction log present at\n"
        "`s3://bucket/bronze/events/_delta_log`. Check the upstream job."
    )
    database = _rca("Default database `bronze` does not exist, please create it first.")
    dbt = _rca(
        "Encountered an error while reading the project:\n  ERROR: Runtime Error\n  at path "
        "['version']: 1 is not of type 'string'"
    )
    json_value = _rca(
        "Cannot parse the field name `ts` and the value yesterday of the JSON token type "
        'VALUE_STRING to target Spark data type "TIMESTAMP". SQLSTATE: 2203G'
    )
    field = _rca("No such struct field `postcode` in `line1`, `city`. SQLSTATE: 42704")
    directory = _rca("No file found in the directory: /mnt/landing/orders/2024-07-01.")
    checkpoint = _rca("Couldn't find all part files of the checkpoint version: 88")
    not_null = _rca("3 rows in dev.bronze.events violate the new NOT NULL constraint on event_id")
    merge = _rca(
        "Unable to find the column 'ingested_at' of the target table from the INSERT columns: "
        "id, name. INSERT clause must specify value for all the columns of the target table."
    )
    predicate = _rca(
        "Predicate references non-partition column 'status'. Only the partition columns may be "
        "referenced: [dt]"
    )
    ambiguous = _rca(
        'Column "id" is ambiguous. It\'s because you joined several DataFrame together.'
    )
    clause = _rca(
        "When there are more than one NOT MATCHED clauses in a MERGE statement, only the last NOT "
        "MATCHED clause can omit the condition"
    )
    state = _rca(
        "Could not load HDFS state store with id StateStoreId[ operatorId=1, partitionId=3 ] "
        "because of an out of memory exception."
    )

    assert feature.rule == restart.rule == "spark_config_rejected"
    assert "Variant type, a feature its Spark config leaves off" in feature.root_cause
    assert "'spark.sql.variant.enabled' is not true" in feature.root_cause
    assert "'spark.sql.shuffle.partitions' differs from the value its checkpoint" in (
        restart.root_cause
    )
    assert options.rule == "options_set_together"
    assert "sets 'overwriteSchema' together with dynamic partition overwrite mode" in (
        options.root_cause
    )
    assert table_feature.rule == "delta_table_feature_missing"
    assert "the table feature(s) 'deletionVectors'" in table_feature.root_cause
    assert location.rule == "table_location_not_delta"
    assert "'s3://bucket/bronze/events' has no Delta transaction log" in location.root_cause
    assert database.rule == "default_database_missing"
    assert "default database 'bronze' does not exist" in database.root_cause
    assert dbt.rule == "dbt_project_unreadable"
    assert "has the value 1 at 'version'" in dbt.root_cause
    assert json_value.rule == "spark_read_type_mismatch"
    assert "The JSON field 'ts' has the value 'yesterday'" in json_value.root_cause
    assert "cannot be read as TIMESTAMP" in json_value.root_cause
    assert field.rule == "struct_field_missing"
    assert "has no field 'postcode' (its fields: `line1`, `city`)" in field.root_cause
    assert directory.rule == "directory_has_no_files"
    assert "'/mnt/landing/orders/2024-07-01' the job reads has no file" in directory.root_cause
    assert checkpoint.rule == "delta_checkpoint_parts_missing"
    assert "checkpoint at version 88 are missing" in checkpoint.root_cause
    assert not_null.rule == "new_not_null_constraint_violated"
    assert "3 rows already in the table have NULL in 'event_id'" in not_null.root_cause
    assert merge.rule == "merge_insert_column_missing"
    assert "no value for the target table's column 'ingested_at'" in merge.root_cause
    assert predicate.rule == "partition_predicate_invalid"
    assert "partition columns (dt) uses the non-partition column 'status'" in (predicate.root_cause)
    assert ambiguous.rule == "ambiguous_column_reference"
    assert "The column 'id' is ambiguous" in ambiguous.root_cause
    assert clause.rule == "merge_clause_condition_missing"
    assert "several WHEN NOT MATCHED clauses" in clause.root_cause
    assert state.rule == "state_store_out_of_memory"
    assert "HDFS-backed state store did not fit" in state.root_cause
    for rca in (
        feature,
        restart,
        options,
        table_feature,
        location,
        database,
        dbt,
        json_value,
        field,
        directory,
        checkpoint,
        not_null,
        merge,
        predicate,
        ambiguous,
        clause,
        state,
    ):
        _assert_well_formed(rca)


def test_round_forty_seven_rules_name_the_cause_the_message_states() -> None:
    """Tasks stuck in the executor's queue, a Celery worker's failed command, a Celery broker
    behind Redis Sentinel, a registry's server error while an image is pulled, a pod left
    Pending, a deferral that timed out, a statement option's value, a Spark pool's node count, a
    Livy request, Synapse Spark's error codes, a failed workspace, Unity Catalog namespaces,
    workload groups, rejected external table rows, managed storage paths and a named storage
    credential are each explained as such, in other wordings than the round's messages."""
    queued = _rca("Marked the following 3 task instances stuck in queued as failed.")
    adopted = _rca(
        "Adopted tasks were still pending after 0:20:00, assuming they never made it to celery "
        "and sending back to the scheduler:"
    )
    celery = _rca(
        "Celery command failed on host: airflow-worker-1 with celery_task_id 9a8b7c6d (PID: 77, "
        "Return Code: 512)"
    )
    sentinel = _rca("redis.sentinel.MasterNotFoundError: No master found for 'mymaster'")
    master_name = _rca("ValueError: 'master_name' transport option must be specified.")
    registry = _rca(
        'Failed to pull image "python:3.11-slim": failed to resolve reference '
        '"docker.io/library/python:3.11-slim": unexpected status from HEAD '
        "https://registry-1.docker.io/v2/library/python/manifests/3.11-slim: 503 Service "
        "Unavailable"
    )
    pending = _rca(
        "PodLaunchTimeoutException: Pod did not leave 'Pending' phase within specified timeout"
    )
    deferral = _rca("TaskDeferralError: Trigger/execution timeout")
    statement = _rca(
        "CREATE/ALTER WORKLOAD GROUP statement failed because a non-integer value 0.5 for "
        "REQUEST_MIN_RESOURCE_GRANT_PERCENT is not allowed.  The value should be an integer "
        "between 0 and 100."
    )
    nodes = _rca("A Spark pool cannot have 250 nodes; it must have between 3 and 200 nodes.")
    livy = _rca(
        "Operation on target Run notebook failed: Failed to send request to Livy due to "
        "exception=[Microsoft.Marlin.Common.Exception.LivyException]."
    )
    abfs = _rca("Job failed. Error code: Spark_System_ABFS_OperationFailed")
    classloader = _rca("Job failed. Error code: Spark_Ambiguous_ClassLoader_NoClassDefFound")
    workspace = _rca("The workspace 'dbw-etl-dev' is in a failed state and cannot be launched.")
    namespace = _rca(
        "AnalysisException: [UC_INVALID_NAMESPACE] Nested or empty namespaces are not supported "
        "in Unity Catalog. SQLSTATE: 0AKUC; Some(SetNamespaceCommand [main, sales] )"
    )
    workload = _rca("Failed to classify the current request into a workload group.")
    rejected = _rca(
        "7 rows rejected from external table [ext].[customers] in plan step 2 of query "
        "execution:\n\tLocation: '/raw/customers.csv' Column ordinal: 3, Expected data type: "
        "INT."
    )
    overlap = _rca(
        "[RequestId=1 ErrorClass=INVALID_PARAMETER_VALUE.LOCATION_OVERLAP] Input path url "
        "'s3://lake/uc/catalogs/123' overlaps with managed storage"
    )
    credential = _rca(
        "[NO_SUCH_STORAGE_CREDENTIAL_EXCEPTION] The storage credential 'lake_cred' does not exist."
    )
    refused = _rca(
        "Could not connect to net.tcp://ir-node-2:8060/ExternalService.svc/WorkerManager. TCP "
        "error code 10061: No connection could be made because the target machine actively "
        "refused it 10.0.0.5:8060."
    )

    assert queued.rule == adopted.rule == "tasks_stuck_in_queue"
    assert "failed 3 task instance(s) that stayed queued longer than" in queued.root_cause
    assert "still pending in Celery after 0:20:00" in adopted.root_cause
    assert celery.rule == "celery_command_failed"
    assert "on host 'airflow-worker-1'" in celery.root_cause
    assert "return code 512 (exit status 2)" in celery.root_cause
    assert sentinel.rule == master_name.rule == "redis_sentinel_misconfigured"
    assert "know no master named 'mymaster'" in sentinel.root_cause
    assert "set no master_name" in master_name.root_cause
    assert registry.rule == "image_registry_unavailable"
    assert "registry 'registry-1.docker.io' answered 503" in registry.root_cause
    assert pending.rule == "pod_pending_timeout"
    assert "still Pending when the KubernetesPodOperator's startup timeout" in pending.root_cause
    assert deferral.rule == "deferral_timed_out"
    assert "its trigger had not fired" in deferral.root_cause
    assert statement.rule == "statement_value_not_allowed"
    assert "gives REQUEST_MIN_RESOURCE_GRANT_PERCENT the value 0.5" in statement.root_cause
    assert "an integer between 0 and 100" in statement.root_cause
    assert nodes.rule == "node_count_out_of_range"
    assert "set to 250 node(s)" in nodes.root_cause and "between 3 and 200" in nodes.root_cause
    assert livy.rule == "livy_request_failed"
    assert "Spark pool's Livy endpoint" in livy.root_cause
    assert abfs.rule == classloader.rule == "synapse_spark_error_code"
    assert "ADLS Gen2" in abfs.root_cause and "Storage Blob Data Contributor" in abfs.root_cause
    assert "not on the Spark pool's classpath" in classloader.root_cause
    assert workspace.rule == "workspace_failed_state"
    assert "workspace 'dbw-etl-dev' cannot be opened because its deployment failed" in (
        workspace.root_cause
    )
    assert namespace.rule == "uc_namespace_invalid"
    assert "(here main.sales)" in namespace.root_cause
    assert workload.rule == "workload_classification_failed"
    assert "could not place the request in a workload group" in workload.root_cause
    assert rejected.rule == "external_table_rows_rejected"
    assert "7 row(s) of the files behind the external table 'ext.customers'" in (
        rejected.root_cause
    )
    assert "in '/raw/customers.csv'" in rejected.root_cause
    assert "column 3 does not hold values of its declared type INT" in rejected.root_cause
    assert overlap.rule == "location_overlaps_managed_storage"
    assert "'s3://lake/uc/catalogs/123' lies within" in overlap.root_cause
    assert credential.rule == "storage_credential_missing"
    assert "the storage credential 'lake_cred' (NO_SUCH_STORAGE_CREDENTIAL_EXCEPTION)" in (
        credential.root_cause
    )
    assert refused.rule == "connection_refused"
    for rca in (
        queued,
        adopted,
        celery,
        sentinel,
        master_name,
        registry,
        pending,
        deferral,
        statement,
        nodes,
        livy,
        abfs,
        classloader,
        workspace,
        namespace,
        workload,
        rejected,
        overlap,
        credential,
        refused,
    ):
        _assert_well_formed(rca)


def test_round_forty_eight_rules_name_the_cause_the_message_states() -> None:
    """MySQL binary logs a CDC connector cannot read, JDBC drivers of another version, classes
    loaded twice or not initialised, SerDes, MySQL databases and privileges, BigQuery projects
    without billing or an API, connectors that reach no Elasticsearch, Cassandra or MongoDB
    server, Iceberg commit conflicts, bulk-copied values too long, staged files off their
    delimiters, Hive splits whose file is gone, HDFS safe mode, Kafka's in-sync replicas and
    transactions, Kryo's buffer and Derby's truncation are each explained as such, in other
    wordings than the round's messages."""
    binlog = _rca(
        "The MySQL server is not configured to use a FULL binlog_row_image, which is required "
        "for this connector to work properly."
    )
    master = _rca(
        "ConnectException: Cannot read the binlog filename and position via 'SHOW MASTER "
        "STATUS'. Make sure your server is correctly configured"
    )
    event = _rca("ConnectException: Unknown event type 41")
    driver = _rca(
        "java.lang.NoSuchMethodError: org.postgresql.jdbc.PgConnection.getQueryExecutor()"
        "Lorg/postgresql/core/QueryExecutor;"
    )
    twice = _rca(
        "java.lang.ClassCastException: class org.apache.kafka.common.serialization."
        "StringSerializer cannot be cast to class org.apache.kafka.common.serialization."
        "StringSerializer"
    )
    init = _rca(
        "java.lang.NoClassDefFoundError: Could not initialize class org.xerial.snappy.Snappy"
    )
    serde = _rca(
        "MetaException(message:java.lang.ClassNotFoundException Class "
        "com.amazon.ionhiveserde.IonHiveSerDe not found)"
    )
    database = _rca("pymysql.err.OperationalError: (1049, \"Unknown database 'analytics'\")")
    denied = _rca(
        "java.sql.SQLSyntaxErrorException: INSERT command denied to user 'etl'@'10.1.2.3' for "
        "table 'orders'"
    )
    billing = _rca(
        "google.api_core.exceptions.Forbidden: 403 Access Denied: BigQuery BigQuery: DML "
        "queries are not allowed in the free tier. Set up a billing account to remove this "
        "restriction."
    )
    api = _rca(
        "403 BigQuery Storage API has not been used in project my-etl-prod before or it is "
        "disabled. Enable it by visiting the console then retry."
    )
    elastic = _rca(
        "org.elasticsearch.hadoop.rest.EsHadoopNoNodesLeftException: Connection error (check "
        "network and/or proxy settings)- all nodes failed; tried [[es-data-1:9200]]"
    )
    cassandra = _rca(
        "java.io.IOException: Failed to open native connection to Cassandra at {cass-1}:9142"
    )
    mongo = _rca(
        "com.mongodb.MongoTimeoutException: Timed out after 10000 ms while waiting for a server "
        "that matches WritableServerSelector. Client view of cluster state is "
        "{type=REPLICA_SET, servers=[{address=rs-1:27017, type=UNKNOWN, state=CONNECTING, "
        "exception={com.mongodb.MongoSocketException: rs-1}, caused by "
        "{java.net.UnknownHostException: rs-1}}]"
    )
    iceberg = _rca(
        "org.apache.iceberg.exceptions.ValidationException: Found new conflicting delete files "
        "that can apply to records matching true"
    )
    bulk = _rca(
        "com.microsoft.sqlserver.jdbc.SQLServerException: The given value of type NVARCHAR(307) "
        "from the data source cannot be converted to type nvarchar(255) of the specified target "
        "column."
    )
    delimiter = _rca(
        "Found character 'x' instead of field delimiter '|' File 'stage/orders_01.csv.gz', line "
        "12, character 33"
    )
    split = _rca(
        "HIVE_CANNOT_OPEN_SPLIT: Error opening Hive split s3://lake/events/dt=2024-06-01/"
        "part-00003.parquet (offset=0, length=1024): File does not exist"
    )
    safe_mode = _rca(
        "SafeModeException: Cannot create file /tmp/out/part-0000. Name node is in safe mode. "
        "Resources are low on NN. Please add or free up more resources then turn off safe mode "
        "manually."
    )
    replicas = _rca(
        "NotEnoughReplicasException: Number of insync replicas for partition orders-3 is [1], "
        "below required minimum [2]"
    )
    transaction = _rca(
        "java.lang.IllegalStateException: Failed to commit KafkaCommittable{producerId=17, "
        "epoch=3, transactionalId=orders-sink-0-12}"
    )
    kryo = _rca(
        "org.apache.spark.SparkException: Kryo serialization failed: Buffer overflow. Available: "
        "0, required: 41. To avoid this, increase spark.kryoserializer.buffer.max value."
    )
    derby = _rca(
        "java.sql.SQLDataException: A truncation error was encountered trying to shrink CHAR "
        "'ABCDEFGH' to length 4."
    )

    assert binlog.rule == master.rule == "mysql_binlog_not_ready"
    assert "binlog_row_image is not FULL" in binlog.root_cause
    assert "the binary log is off" in master.root_cause
    assert "REPLICATION CLIENT" in master.root_cause
    assert event.rule == "binlog_event_unknown"
    assert "binary-log event type 41" in event.root_cause
    assert driver.rule == "jdbc_driver_method_missing"
    assert "org.postgresql.jdbc.PgConnection.getQueryExecutor" in driver.root_cause
    assert "built against another version of the driver" in driver.root_cause
    assert twice.rule == "class_cast_same_name"
    assert "the same class was loaded twice, by two class loaders" in twice.root_cause
    assert init.rule == "class_initialization_failed"
    assert "org.xerial.snappy.Snappy is on the classpath but could not be initialised" in (
        init.root_cause
    )
    assert serde.rule == "serde_class_missing"
    assert "names the SerDe com.amazon.ionhiveserde.IonHiveSerDe" in serde.root_cause
    assert database.rule == "mysql_unknown_database"
    assert "the MySQL database 'analytics'" in database.root_cause
    assert denied.rule == "mysql_command_denied"
    assert "refused the INSERT statement on 'orders' to 'etl'@'10.1.2.3'" in denied.root_cause
    assert billing.rule == "gcp_billing_disabled"
    assert "no billing account enabled" in billing.root_cause
    assert "DML queries is not allowed there" in billing.root_cause
    assert api.rule == "gcp_api_disabled"
    assert "The BigQuery Storage API is not enabled in Google Cloud project my-etl-prod" in (
        api.root_cause
    )
    assert elastic.rule == "es_hadoop_no_nodes"
    assert "(it tried es-data-1:9200)" in elastic.root_cause
    assert "es.nodes.wan.only=true" in elastic.root_cause
    assert cassandra.rule == "cassandra_unreachable"
    assert "Cassandra at cass-1 on port 9142" in cassandra.root_cause
    assert mongo.rule == "mongo_server_selection_timeout"
    assert "waited 10000 ms" in mongo.root_cause and "'rs-1' could not be resolved" in (
        mongo.root_cause
    )
    assert iceberg.rule == "iceberg_commit_conflict"
    assert "another writer committed data or delete files" in iceberg.root_cause
    assert bulk.rule == "bulk_copy_value_too_long"
    assert "NVARCHAR(307)" in bulk.root_cause and "nvarchar(255)" in bulk.root_cause
    assert delimiter.rule == "file_delimiter_mismatch"
    assert "found 'x' where the file format's field delimiter (a pipe) should be" in (
        delimiter.root_cause
    )
    assert "at line 12" in delimiter.root_cause
    assert split.rule == "split_file_missing"
    assert "the file 'part-00003.parquet'" in split.root_cause
    assert safe_mode.rule == "hdfs_safe_mode"
    assert "disk space ran low" in safe_mode.root_cause
    assert replicas.rule == "kafka_isr_below_minimum"
    assert "partition 'orders-3' had 1 in-sync replica(s), below the topic's " in (
        replicas.root_cause
    )
    assert "min.insync.replicas of 2" in replicas.root_cause
    assert transaction.rule == "kafka_transaction_commit_failed"
    assert "could not commit transaction 'orders-sink-0-12'" in transaction.root_cause
    assert kryo.rule == "kryo_buffer_overflow"
    assert "another 41 bytes were needed" in kryo.root_cause
    assert derby.rule == "truncation"
    assert "longer than the 4 characters its CHAR target takes" in derby.root_cause
    for rca in (
        binlog,
        master,
        event,
        driver,
        twice,
        init,
        serde,
        database,
        denied,
        billing,
        api,
        elastic,
        cassandra,
        mongo,
        iceberg,
        bulk,
        delimiter,
        split,
        safe_mode,
        replicas,
        transaction,
        kryo,
        derby,
    ):
        _assert_well_formed(rca)


def test_round_forty_nine_rules_name_the_cause_the_message_states() -> None:
    """Data Factory names over their length limit and data flow debug row limits, DB2 security
    mechanisms, Databricks jobs' unreadable Python files and missing DBFS paths, dbt projects
    without a required field and Cosmos dependencies not found, Delta logs a file system did not
    create, bulk copies' column mappings, nested struct fields whose types conflict, casts to an
    identical type and Livy sessions whose driver is gone are each explained as such, in other
    wordings than the round's messages."""
    activity = _rca(
        "ErrorCode=InvalidWorkflowRunActionName, ErrorMessage=Activity 'Copy data from the "
        "on-premises SQL Server to the data lakeComposeRuntimeVariables' has a length of '85' "
        "which exceeds the maximum limit of '80'."
    )
    pipeline = _rca(
        "Pipeline 'pl_ingest' has a length of '300' which exceeds the maximum limit of '260'."
    )
    debug = _rca("DF-ARG-005 - Limit should be a > 0 - [2 17]")
    db2 = _rca("Have not received expected codepoint: EUSRIDPWD. SQLSTATE=HY000 SQLCODE=-1040")
    python_file = _rca(
        "Run failed with error message\n Cannot read the python file "
        "dbfs:/Shared/jobs/etl/../dist/entrypoint.py"
    )
    dbt = _rca(
        'Encountered an error:\nRuntime Error\n  Required "version" field not present in project'
    )
    delta_log = _rca(
        "java.io.FileNotFoundException: No such file or directory: "
        "s3a://lake/bronze/orders/_delta_log\n\tat org.apache.spark.sql.delta.storage."
        "HDFSLogStore.writeInternal(HDFSLogStore.scala:103)"
    )
    mapping = _rca(
        "System.InvalidOperationException: The given ColumnMapping does not match up with any "
        "column in the source or destination."
    )
    cosmos = _rca(
        "ERROR [cosmos.providers.dbt.render] Dependency raw_orders not found for model "
        "DbtModel(name='stg_orders', type='DbtModelType.DBT_MODEL')"
    )
    dbfs = _rca("java.io.FileNotFoundException: dbfs:/FileStore/tables/orders.csv")
    nested = _rca(
        "AnalysisException: Failed to merge fields 'event' and 'event'. Failed to merge fields "
        "'device' and 'device'. Failed to merge incompatible data types "
        "StructType(StructField(os,StringType,true)) and StringType"
    )
    cast = _rca(
        "AnalysisException: cannot resolve 'transform(src.attrs, lambdafunction(x, x))' due to "
        "data type mismatch: cannot cast map<string,string> to map<string,string>;"
    )
    livy = _rca("java.lang.IllegalStateException: RPC channel is closed.")

    assert activity.rule == pipeline.rule == "adf_name_too_long"
    assert (
        "the activity name 'Copy data from the on-premises SQL Server to the data lake' with "
        "the suffix 'ComposeRuntimeVariables'" in activity.root_cause
    )
    assert "is 85 characters long, over the limit of 80" in activity.root_cause
    assert "the name 'pl_ingest' is 300 characters long, over the limit of 260" in (
        pipeline.root_cause
    )
    assert "suffix" not in pipeline.root_cause
    assert debug.rule == "dataflow_debug_row_limit"
    assert "debug settings have a row limit that is not above 0" in debug.root_cause
    assert db2.rule == "db2_security_mechanism"
    assert "expected security codepoint EUSRIDPWD (an encrypted user ID and password)" in (
        db2.root_cause
    )
    assert python_file.rule == "job_python_file_unreadable"
    assert "could not read 'entrypoint.py' there" in python_file.root_cause
    assert "relative segment ('..')" in python_file.root_cause
    assert dbt.rule == "dbt_project_field_missing"
    assert "dbt_project.yml has no 'version' field" in dbt.root_cause
    assert delta_log.rule == "delta_log_dir_missing"
    assert "s3a://lake/bronze/orders/_delta_log does not exist" in delta_log.root_cause
    assert mapping.rule == "bulk_copy_column_mapping_mismatch"
    assert "column mapping whose column name is not in the source or destination" in (
        mapping.root_cause
    )
    assert cosmos.rule == "cosmos_dependency_not_found"
    assert "model 'stg_orders' depends on 'raw_orders'" in cosmos.root_cause
    assert dbfs.rule == "dbfs_path_not_found"
    assert "The DBFS path 'dbfs:/FileStore/tables/orders.csv' does not exist" in dbfs.root_cause
    assert nested.rule == "nested_field_type_conflict"
    assert "the nested field 'event.device' incompatible types" in nested.root_cause
    assert "(StructType in one schema, StringType in the other)" in nested.root_cause
    assert cast.rule == "cast_to_identical_type"
    assert "from a map type to the identical map type" in cast.root_cause
    assert "nullability" in cast.root_cause
    assert livy.rule == "livy_rpc_channel_closed"
    assert "the driver behind the session has gone" in livy.root_cause
    for rca in (
        activity,
        pipeline,
        debug,
        db2,
        python_file,
        dbt,
        delta_log,
        mapping,
        cosmos,
        dbfs,
        nested,
        cast,
        livy,
    ):
        _assert_well_formed(rca)


def test_round_forty_nine_rules_leave_what_is_not_theirs() -> None:
    """A cast between two different complex types is not a cast to an identical type, a single
    field's type conflict is not a nested one, and a local path's FileNotFoundException is not a
    DBFS path's."""
    different = _rca(
        "AnalysisException: cannot resolve 'c' due to data type mismatch: cannot cast "
        "array<string> to array<int>;",
        "DataError",
    )
    single = _rca(
        "AnalysisException: Failed to merge fields 'amount' and 'amount'. Failed to merge "
        "incompatible data types DecimalType(18,2) and StringType",
        "DataError",
    )
    local = _rca(
        "java.io.FileNotFoundException: /tmp/blockmgr-1/0a/shuffle_0_1_0.data", "DataError"
    )
    assert different.rule != "cast_to_identical_type"
    assert single.rule != "nested_field_type_conflict"
    assert local.rule != "dbfs_path_not_found"


def test_round_fifty_rules_name_what_the_message_states() -> None:
    """Each of round 50's rules names the version, field, type, trigger setting, DAG run or
    mapped values its message gives."""
    version = _rca(
        "AnalysisException: Cannot time travel Delta table to version 7. Available versions: "
        "[20, 44].",
        "DataError",
    )
    field = _rca("Invalid schema update. Cannot add fields (field: attrs.region)")
    plugin = _rca(
        "Message=Invalid type 'MongoDbAtlasV2' is provided in 'linkedServices'. Please correct "
        "the type in payload and retry."
    )
    trigger = _rca("TumblingWindowTriggerFrequencyOrIntervalUpdateNotAllowed")
    run = _rca(
        "airflow.exceptions.DagRunNotFound: DagRun for billing with run_id or execution_date of "
        "'2023-02-01' not found"
    )
    mapped = _rca(
        "{taskmap.py:150} ERROR - Cannot expand '<Mapped(_PythonDecoratedOperator): upload>' "
        "for run manual__1; missing upstream values: ['files']"
    )
    assert version.rule == "delta_time_travel_version_unavailable"
    assert "version 7" in version.root_cause and "20 to 44" in version.root_cause
    assert field.rule == "bigquery_field_addition_refused" and "attrs.region" in field.root_cause
    assert plugin.rule == "adf_plugin_type_unknown" and "MongoDbAtlasV2" in plugin.root_cause
    assert trigger.rule == "adf_tumbling_trigger_update_refused"
    assert "frequency or interval" in trigger.root_cause
    assert run.rule == "airflow_dag_run_not_found"
    assert "billing" in run.root_cause and "2023-02-01" in run.root_cause
    assert mapped.rule == "airflow_mapped_upstream_missing"
    assert "upload" in mapped.root_cause and "files" in mapped.root_cause
    for rca in (version, field, plugin, trigger, run, mapped):
        _assert_well_formed(rca)


def test_round_fifty_rules_leave_what_is_not_theirs() -> None:
    """A BigQuery field whose type changed is not a field addition, a DAG that is not found is
    not a DAG run that is not found, and another trigger error is not a tumbling window
    trigger's update."""
    changed = _rca(
        "BigQuery error in query operation: Invalid schema update. Field os_version has "
        "changed type from STRING to INTEGER"
    )
    dag = _rca("airflow.exceptions.DagNotFound: Dag id billing not found")
    other = _rca("TumblingWindowTriggerDependencyNotAllowed: the dependency is a cycle")
    assert changed.rule != "bigquery_field_addition_refused"
    assert dag.rule != "airflow_dag_run_not_found"
    assert other.rule != "adf_tumbling_trigger_update_refused"
