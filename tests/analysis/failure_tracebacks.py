"""Airflow 3 task failures as `integrations/airflow_callback/rca_callback.py` posts them
(`traceback.format_exception` of the task's exception): the task SDK's runner, operator and
callback-runner frames every PythonOperator / @task failure shares, then the DAG's own frames
and the library that raised. Frame paths, functions and source lines are those of Airflow 3's
task SDK (`airflow/sdk/execution_time/task_runner.py` `run` -> `_execute_task`,
`airflow/sdk/bases/operator.py` `wrapper`, `airflow/providers/standard/operators/python.py`
`execute` -> `execute_callable`, `airflow/sdk/execution_time/callback_runner.py` `run`); the
line numbers of two releases (3.0.x in the shape of a public task log, 3.1.x another) make the
same failure read differently from one upgrade to the next.

And a Databricks notebook task's error trace as the Jobs API gives it (IPython's traceback of a
py4j call: the cell, pyspark's and py4j's frames with their numbered source lines, then the JVM
exception and its `at ...` frames), in the shape of public reports of `DataFrameWriter.save`
failures.
"""

from __future__ import annotations

SITE = "/home/airflow/.local/lib/python3.12/site-packages"
OTHER_SITE = "/usr/local/lib/python3.11/site-packages"
# task_runner run, _execute_task, operator wrapper, decorator execute, python execute,
# execute_callable, callback_runner run.
RELEASE_3_0 = (920, 1215, 397, 251, 216, 239, 81)
RELEASE_3_1 = (1263, 1678, 443, 398, 227, 250, 97)


def _frame(path: str, line: int, function: str, source: str = "") -> str:
    """One frame as Python 3.12 prints it: the source line, and carets under the expression
    that raised when it is not the whole line."""
    frame = f'  File "{path}", line {line}, in {function}\n'
    if source:
        frame += f"    {source}\n"
        start = next(
            (source.index(lead) + len(lead) for lead in ("return ", " = ") if lead in source), 0
        )
        if start:
            frame += "    " + " " * start + "^" * len(source[start:].rstrip("(")) + "\n"
    return frame


def task_sdk_frames(site: str = SITE, release: tuple[int, ...] = RELEASE_3_0) -> str:
    """The frames of Airflow's own code above a @task function, outermost first."""
    run, execute_task, wrapper, decorator, execute, execute_callable, callback = release
    sdk = f"{site}/airflow/sdk"
    python = f"{site}/airflow/providers/standard/operators/python.py"
    return (
        _frame(
            f"{sdk}/execution_time/task_runner.py",
            run,
            "run",
            "result = _execute_task(context=context, ti=ti, log=log)",
        )
        + _frame(
            f"{sdk}/execution_time/task_runner.py",
            execute_task,
            "_execute_task",
            "result = ctx.run(execute, context=context)",
        )
        + _frame(
            f"{sdk}/bases/operator.py", wrapper, "wrapper", "return func(self, *args, **kwargs)"
        )
        + _frame(
            f"{sdk}/bases/decorator.py",
            decorator,
            "execute",
            "return_value = super().execute(context)",
        )
        + _frame(
            f"{sdk}/bases/operator.py", wrapper, "wrapper", "return func(self, *args, **kwargs)"
        )
        + _frame(python, execute, "execute", "return_value = self.execute_callable()")
        + _frame(
            python,
            execute_callable,
            "execute_callable",
            "return runner.run(*self.op_args, **self.op_kwargs)",
        )
        + _frame(
            f"{sdk}/execution_time/callback_runner.py",
            callback,
            "run",
            "return func(*args, **kwargs)",
        )
    )


def airflow_traceback(
    dag_file: str,
    line: int,
    function: str,
    source: str,
    below: str,
    error: str,
    *,
    site: str = SITE,
    release: tuple[int, ...] = RELEASE_3_0,
) -> str:
    """A task's traceback: Airflow's frames, the DAG function's, those `below` it, the error."""
    return (
        "Traceback (most recent call last):\n"
        + task_sdk_frames(site, release)
        + _frame(dag_file, line, function, source)
        + below
        + error
    )


def postgres_refused(
    host_ip: str = "10.0.4.12",
    *,
    dag_file: str = "/opt/airflow/dags/hr/workday_sync.py",
    line: int = 57,
    function: str = "load_workers",
    through_hook: bool = True,
    site: str = SITE,
    release: tuple[int, ...] = RELEASE_3_0,
) -> str:
    """psycopg2 cannot reach the warehouse: through the Postgres provider's hook, or called
    from the DAG's own code."""
    driver = _frame(
        f"{site}/psycopg2/__init__.py",
        122,
        "connect",
        "conn = _connect(dsn, connection_factory=connection_factory, **kwasync)",
    )
    if through_hook:
        source = "with hook.get_conn() as conn:"
        below = (
            _frame(
                f"{site}/airflow/providers/postgres/hooks/postgres.py",
                176,
                "get_conn",
                "self.conn = psycopg2.connect(**conn_args)",
            )
            + driver
        )
    else:
        source, below = "conn = psycopg2.connect(dsn)", driver
    error = (
        f'psycopg2.OperationalError: connection to server at "warehouse.internal" ({host_ip}),'
        " port 5432 failed: Connection refused\n"
        "\tIs the server running on that host and accepting TCP/IP connections?"
    )
    return airflow_traceback(
        dag_file, line, function, source, below, error, site=site, release=release
    )


def workday_503(report: str = "Workers", *, release: tuple[int, ...] = RELEASE_3_0) -> str:
    """Workday's report API answers 503 (requests' raise_for_status)."""
    below = _frame(
        f"{SITE}/requests/models.py",
        1024,
        "raise_for_status",
        "raise HTTPError(http_error_msg, response=self)",
    )
    error = (
        "requests.exceptions.HTTPError: 503 Server Error: Service Unavailable for url: "
        f"https://wd5-services1.myworkday.com/ccx/service/customreport2/acme/ISU_RaaS/{report}"
        "?format=json"
    )
    return airflow_traceback(
        "/opt/airflow/dags/hr/workday_sync.py",
        31,
        "pull_workers",
        "response.raise_for_status()",
        below,
        error,
        release=release,
    )


def pandas_parse_error() -> str:
    """A malformed CSV export (pandas' C parser, its Cython frames included)."""
    readers = f"{SITE}/pandas/io/parsers/readers.py"
    below = (
        _frame(readers, 1026, "read_csv", "return _read(filepath_or_buffer, kwds)")
        + _frame(readers, 626, "_read", "return parser.read(nrows)")
        + _frame(readers, 1923, "read", ") = self._engine.read(  # type: ignore[attr-defined]")
        + _frame(
            f"{SITE}/pandas/io/parsers/c_parser_wrapper.py",
            234,
            "read",
            "chunks = self._reader.read_low_memory(nrows)",
        )
        + _frame("parsers.pyx", 838, "pandas._libs.parsers.TextReader.read_low_memory")
        + _frame("parsers.pyx", 905, "pandas._libs.parsers.TextReader._read_rows")
        + _frame("parsers.pyx", 874, "pandas._libs.parsers.TextReader._tokenize_rows")
        + _frame("parsers.pyx", 891, "pandas._libs.parsers.TextReader._check_tokenize_status")
        + _frame("parsers.pyx", 2061, "pandas._libs.parsers.raise_parser_error")
    )
    return airflow_traceback(
        "/opt/airflow/dags/hr/workday_sync.py",
        88,
        "read_export",
        'frame = pd.read_csv(path, sep=";")',
        below,
        "pandas.errors.ParserError: Error tokenizing data. C error: Expected 14 fields in line"
        " 3187, saw 15",
    )


def sqlalchemy_refused() -> str:
    """The same refused connection reached through SQLAlchemy's pool (pandas.read_sql): two
    chained tracebacks of some 35 frames, over 7,000 characters, the driver's error first."""
    sa = f"{SITE}/sqlalchemy"
    pool = (
        _frame(
            f"{sa}/engine/base.py",
            145,
            "__init__",
            "self._dbapi_connection = engine.raw_connection()",
        )
        + _frame(f"{sa}/engine/base.py", 3302, "raw_connection", "return self.pool.connect()")
        + _frame(f"{sa}/pool/base.py", 449, "connect", "return _ConnectionFairy._checkout(self)")
        + _frame(
            f"{sa}/pool/base.py", 1263, "_checkout", "fairy = _ConnectionRecord.checkout(pool)"
        )
        + _frame(f"{sa}/pool/base.py", 712, "checkout", "rec = pool._do_get()")
        + _frame(f"{sa}/pool/impl.py", 179, "_do_get", "with util.safe_reraise():")
        + _frame(
            f"{sa}/util/langhelpers.py", 146, "__exit__", "raise exc_value.with_traceback(exc_tb)"
        )
        + _frame(f"{sa}/pool/impl.py", 177, "_do_get", "return self._create_connection()")
        + _frame(f"{sa}/pool/base.py", 390, "_create_connection", "return _ConnectionRecord(self)")
        + _frame(f"{sa}/pool/base.py", 674, "__init__", "self.__connect()")
        + _frame(f"{sa}/pool/base.py", 900, "__connect", "with util.safe_reraise():")
        + _frame(
            f"{sa}/util/langhelpers.py", 146, "__exit__", "raise exc_value.with_traceback(exc_tb)"
        )
        + _frame(
            f"{sa}/pool/base.py",
            896,
            "__connect",
            "self.dbapi_connection = connection = pool._invoke_creator(self)",
        )
        + _frame(
            f"{sa}/engine/create.py", 643, "connect", "return dialect.connect(*cargs, **cparams)"
        )
        + _frame(
            f"{sa}/engine/default.py",
            621,
            "connect",
            "return self.loaded_dbapi.connect(*cargs, **cparams)",
        )
        + _frame(
            f"{SITE}/psycopg2/__init__.py",
            122,
            "connect",
            "conn = _connect(dsn, connection_factory=connection_factory, **kwasync)",
        )
    )
    refused = (
        'connection to server at "warehouse.internal" (10.0.4.12), port 5432 failed: Connection'
        " refused\n\tIs the server running on that host and accepting TCP/IP connections?"
    )
    pandas_sql = f"{SITE}/pandas/io/sql.py"
    below = (
        _frame(pandas_sql, 706, "read_sql", "with pandasSQL_builder(con) as pandas_sql:")
        + _frame(
            pandas_sql,
            906,
            "pandasSQL_builder",
            "return SQLDatabase(con, schema, need_transaction)",
        )
        + _frame(pandas_sql, 1636, "__init__", "con = self.exit_stack.enter_context(con.connect())")
        + _frame(f"{sa}/engine/base.py", 3278, "connect", "return self._connection_cls(self)")
        + _frame(
            f"{sa}/engine/base.py",
            147,
            "__init__",
            "Connection._handle_dbapi_exception_noconnection(",
        )
        + _frame(
            f"{sa}/engine/base.py",
            2442,
            "_handle_dbapi_exception_noconnection",
            "raise sqlalchemy_exception.with_traceback(exc_info[2]) from e",
        )
        + pool
    )
    return (
        "Traceback (most recent call last):\n"
        + pool
        + f"psycopg2.OperationalError: {refused}\n\n\n"
        + "The above exception was the direct cause of the following exception:\n\n"
        + airflow_traceback(
            "/opt/airflow/dags/finance/ledger_import.py",
            41,
            "extract_ledger",
            "frame = pd.read_sql(QUERY, engine)",
            below,
            f"sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) {refused}\n"
            "(Background on this error at: https://sqlalche.me/e/20/e3q8)",
        )
    )


_SPARK_PYTHON = "/databricks/spark/python"
_PY4J = "/databricks/spark/python/lib/py4j-0.10.9.7-src.zip/py4j"
_JDBC_SAVE_FRAMES = [
    "org.apache.spark.sql.execution.datasources.jdbc.JdbcUtils$.createConnectionFactory"
    "(JdbcUtils.scala:{jdbc})",
    "org.apache.spark.sql.execution.datasources.jdbc.JdbcRelationProvider.createRelation"
    "(JdbcRelationProvider.scala:48)",
    "org.apache.spark.sql.execution.datasources.SaveIntoDataSourceCommand.run"
    "(SaveIntoDataSourceCommand.scala:50)",
    "org.apache.spark.sql.execution.command.ExecutedCommandExec.sideEffectResult$lzycompute"
    "(commands.scala:{commands})",
    "org.apache.spark.sql.DataFrameWriter.saveToV1Source(DataFrameWriter.scala:304)",
    "org.apache.spark.sql.DataFrameWriter.save(DataFrameWriter.scala:240)",
    "sun.reflect.NativeMethodAccessorImpl.invoke0(Native Method)",
    "java.lang.reflect.Method.invoke(Method.java:498)",
    "py4j.reflection.MethodInvoker.invoke(MethodInvoker.java:244)",
    "py4j.reflection.ReflectionEngine.invoke(ReflectionEngine.java:397)",
    "py4j.Gateway.invoke(Gateway.java:306)",
    "py4j.commands.AbstractCommand.invokeMethod(AbstractCommand.java:195)",
    "py4j.commands.CallCommand.execute(CallCommand.java:79)",
    "py4j.ClientServerConnection.waitForCommands(ClientServerConnection.java:195)",
    "py4j.ClientServerConnection.run(ClientServerConnection.java:115)",
    "java.lang.Thread.run(Thread.java:750)",
]


def databricks_jdbc_write(
    error: str, *, cell_line: int = 4, jdbc_line: int = 64, commands_line: int = 82
) -> str:
    """A notebook's JDBC write to SQL Server failing with the driver's `error`."""
    return (
        "-" * 75 + "\nPy4JJavaError                             Traceback (most recent call last)\n"
        f"File <command-3320891717338519>:{cell_line}\n"
        '      1 jdbc_url = dbutils.secrets.get("etl", "sql-url")\n'
        f'----> {cell_line} df.write.format("jdbc").option("url", jdbc_url)'
        '.option("dbtable", "dbo.orders").mode("append").save()\n\n'
        f"File {_SPARK_PYTHON}/pyspark/instrumentation_utils.py:47, in"
        " _wrap_function.<locals>.wrapper(*args, **kwargs)\n"
        "     45 start = time.perf_counter()\n"
        "     46 try:\n"
        "---> 47     res = func(*args, **kwargs)\n"
        "     48     logger.log_success(\n"
        "     49         module_name, class_name, function_name, time.perf_counter() - start,"
        " signature\n"
        "     50     )\n\n"
        f"File {_SPARK_PYTHON}/pyspark/sql/readwriter.py:1463, in DataFrameWriter.save(self, path,"
        " format, mode, partitionBy, **options)\n"
        "   1461     self._jwrite.save()\n"
        "   1462 else:\n"
        "-> 1463     self._jwrite.save(path)\n\n"
        f"File {_PY4J}/java_gateway.py:1322, in JavaMember.__call__(self, *args)\n"
        "   1321 answer = self.gateway_client.send_command(command)\n"
        "-> 1322 return_value = get_return_value(\n"
        "   1323     answer, self.gateway_client, self.target_id, self.name)\n\n"
        f"File {_SPARK_PYTHON}/pyspark/errors/exceptions/captured.py:188, in"
        " capture_sql_exception.<locals>.deco(*a, **kw)\n"
        "    186 def deco(*a: Any, **kw: Any) -> Any:\n"
        "    187     try:\n"
        "--> 188         return f(*a, **kw)\n"
        "    189     except Py4JJavaError as e:\n\n"
        f"File {_PY4J}/protocol.py:326, in get_return_value(answer, gateway_client, target_id,"
        " name)\n"
        "    325 if answer[1] == REFERENCE_TYPE:\n"
        "--> 326     raise Py4JJavaError(\n"
        '    327         "An error occurred while calling {0}{1}{2}.\\n".\n'
        '    328         format(target_id, ".", name), value)\n\n'
        "Py4JJavaError: An error occurred while calling o412.save.\n"
        f": com.microsoft.sqlserver.jdbc.SQLServerException: {error}\n"
        + "".join(
            "\tat " + frame.format(jdbc=jdbc_line, commands=commands_line) + "\n"
            for frame in _JDBC_SAVE_FRAMES
        )
    ).rstrip("\n")


_DRIVER_FRAMES = [
    "org.apache.spark.scheduler.DAGScheduler.failJobAndIndependentStages(DAGScheduler.scala:3440)",
    "org.apache.spark.scheduler.DAGScheduler.$anonfun$abortStage$2(DAGScheduler.scala:3362)",
    "org.apache.spark.scheduler.DAGScheduler.$anonfun$abortStage$2$adapted(DAGScheduler.scala:3351)",
    "scala.collection.mutable.ResizableArray.foreach(ResizableArray.scala:62)",
    "scala.collection.mutable.ResizableArray.foreach$(ResizableArray.scala:55)",
    "scala.collection.mutable.ArrayBuffer.foreach(ArrayBuffer.scala:49)",
    "org.apache.spark.scheduler.DAGScheduler.abortStage(DAGScheduler.scala:3351)",
    "org.apache.spark.scheduler.DAGScheduler.$anonfun$handleTaskSetFailed$1(DAGScheduler.scala:1460)",
    "org.apache.spark.scheduler.DAGScheduler.handleTaskSetFailed(DAGScheduler.scala:1460)",
    "org.apache.spark.scheduler.DAGSchedulerEventProcessLoop.doOnReceive(DAGScheduler.scala:3651)",
    "org.apache.spark.scheduler.DAGSchedulerEventProcessLoop.onReceive(DAGScheduler.scala:3589)",
    "org.apache.spark.util.EventLoop$$anon$1.run(EventLoop.scala:49)",
    "org.apache.spark.scheduler.DAGScheduler.runJob(DAGScheduler.scala:1211)",
    "org.apache.spark.SparkContext.runJob(SparkContext.scala:2949)",
    "org.apache.spark.sql.execution.collect.Collector.$anonfun$runSparkJobs$1(Collector.scala:355)",
    "org.apache.spark.sql.execution.collect.Collector.runSparkJobs(Collector.scala:299)",
    "org.apache.spark.sql.execution.collect.Collector.collect(Collector.scala:384)",
    "org.apache.spark.sql.execution.collect.Collector$.collect(Collector.scala:122)",
    "org.apache.spark.sql.execution.qrc.InternalRowFormat$.collect(cachedSparkResults.scala:131)",
    "org.apache.spark.sql.execution.SparkPlan.executeCollectResult(SparkPlan.scala:536)",
    "org.apache.spark.sql.Dataset.collectResult(Dataset.scala:3576)",
    "org.apache.spark.sql.Dataset.$anonfun$collect$1(Dataset.scala:3567)",
    "org.apache.spark.sql.Dataset.withAction(Dataset.scala:4404)",
    "org.apache.spark.sql.Dataset.collect(Dataset.scala:3567)",
    "sun.reflect.NativeMethodAccessorImpl.invoke0(Native Method)",
    "java.lang.reflect.Method.invoke(Method.java:498)",
    "py4j.reflection.MethodInvoker.invoke(MethodInvoker.java:244)",
    "py4j.Gateway.invoke(Gateway.java:306)",
    "py4j.commands.CallCommand.execute(CallCommand.java:79)",
    "java.lang.Thread.run(Thread.java:750)",
]
_TASK_FRAMES = [
    "org.apache.spark.sql.execution.datasources.FileScanRDD$$anon$1.nextIterator"
    "(FileScanRDD.scala:{line})",
    "org.apache.spark.sql.execution.datasources.FileScanRDD$$anon$1.hasNext(FileScanRDD.scala:403)",
    "org.apache.spark.sql.catalyst.expressions.GeneratedClass$GeneratedIteratorForCodegenStage1"
    ".processNext(Unknown Source)",
    "org.apache.spark.scheduler.ResultTask.runTask(ResultTask.scala:93)",
    "org.apache.spark.scheduler.Task.run(Task.scala:147)",
    "org.apache.spark.executor.Executor$TaskRunner.run(Executor.scala:896)",
    "java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1149)",
    "java.lang.Thread.run(Thread.java:750)",
]


def spark_stage_failure(
    cause: str, *, task: int = 3, stage: str = "12.0", tid: int = 412, host: str = "10.139.64.5"
) -> str:
    """A Spark job aborted by a task failing 4 times with `cause`: the stage-failure wrapper
    every failed task gets, the task's frames, the driver's 30 frames, and the cause again
    under `Caused by:`, as a Databricks job run reports it."""
    task_frames = "\n".join(f"\tat {f.format(line=280 + task)}" for f in _TASK_FRAMES)
    return (
        f"org.apache.spark.SparkException: Job aborted due to stage failure: Task {task} in stage"
        f" {stage} failed 4 times, most recent failure: Lost task {task}.3 in stage {stage} (TID"
        f" {tid}) ({host} executor 2): {cause}\n{task_frames}\n\nDriver stacktrace:\n"
        + "\n".join(f"\tat {frame}" for frame in _DRIVER_FRAMES)
        + f"\nCaused by: {cause}\n{task_frames}\n\t... 41 more"
    )
