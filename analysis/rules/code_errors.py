"""Bugs in code or pipeline expressions: ADF and Power Query expressions, an Airflow XCom pulled
from a task that pushed none, an Airflow Task SDK request with an argument of the wrong type,
a dbt ref() inside a conditional block, Spark code run with no active session, SQL parameters
the call did not bind, writes whose column count is not the table's, ADF data flow expressions
that cannot be parsed or name a missing struct field, Python and JVM exceptions, syntax errors."""

from __future__ import annotations

import re

from analysis import signals
from analysis.rules.base import Context, Finding, rule
from analysis.rules.extract import clean_value, grab, last_exception, quoted
from analysis.signals import any_of


@rule(
    "adf_expression",
    "CodeError ConfigurationError",
    any_of(
        *signals.ADF_EXPRESSION,
        r"the expression '([^']{1,200})' cannot be evaluated",
        # An expression quoting strings of its own, or named by its activity ("The expression
        # for X cannot be evaluated"): the property it could not read.
        r"cannot be evaluated because property '[\w.]{1,100}' "
        r"(?:doesn't exist|cannot be selected)",
        r"unable to parse expression '([^']*)'",
        r"was invoked with a parameter that is not valid",
    ),
    example=(
        '"code":"BadRequest","message":"ErrorCode=InvalidTemplate, '
        "ErrorMessage=Unable to parse expression "
        '\'_c1\'","target":"pipeline/pipeline1/runid/########","details":null,"erro'
        'r":null}'
    ),
)
def adf_expression(m: re.Match[str], ctx: Context) -> Finding:
    expression = clean_value(next((g for g in m.groups() if g), ""))
    prop = grab(ctx.text, r"property '([\w.]+)' doesn't exist")
    unselectable = grab(ctx.text, r"property '([\w.]+)' cannot be selected")
    function = grab(ctx.text, r"the function '(\w+)'")
    cause = "pipeline expression " + (f"{quoted(expression)} " if expression else "")
    cause += "could not be evaluated"
    if prop:
        cause += f": property {quoted(prop)} does not exist in the value it reads"
    elif unselectable:
        cause += f": property {quoted(unselectable)} cannot be selected from the value it reads"
    elif function:
        cause += f": function {quoted(function)} received a value it cannot handle"
    return Finding(
        cause,
        (
            "Open the activity's input in the run monitor to see the actual values the "
            "expression received.",
            "Fix the expression (property path, function arguments) or guard it with "
            "coalesce() / contains() for optional values.",
            "Check whether an upstream activity's output shape changed (e.g. Lookup with or "
            "without firstRowOnly).",
            "Debug the pipeline with the same parameters, then rerun.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "dbt_unresolved_ref",
    "CodeError ConfigurationError",
    any_of(
        *signals.DBT_UNRESOLVED_REF,
        r"depends on (?:a|the) (\w+) named '([^']+)'",
    ),
    example=(
        "Compilation Error\n  Model 'model.shop.fct_orders' (models/marts/fct_orders.sql) "
        "depends on a node named 'stg_orders' which was not found"
    ),
)
def dbt_unresolved_ref(m: re.Match[str], ctx: Context) -> Finding:
    kind, name = "", ""
    found = re.search(r"depends on (?:a|the) (\w+) named '([^']+)'", ctx.text, re.IGNORECASE)
    if found:
        kind, name = clean_value(found.group(1)).lower(), clean_value(found.group(2))
    elif quoted_ref := re.search(
        r"depends on [\"']([^\"'\n]{1,120})[\"'] which (?:does not exist|was not found"
        r"|is not in the graph)",
        ctx.text,
        re.IGNORECASE,
    ):
        # dbt's unique ids ("semantic_model.shop.orders") say what kind of node they are;
        # Dataform's "schema.table" does not.
        name = clean_value(quoted_ref.group(1))
        prefix = name.split(".", 1)[0].lower()
        if prefix in {"model", "source", "seed", "snapshot", "metric", "semantic_model", "macro"}:
            kind = prefix.replace("_", " ")
    dbt = re.search(r"\bdbt\b|compilation error", ctx.text, re.IGNORECASE) is not None
    model = grab(ctx.text, r"(?:model|test|snapshot|seed) '([^']+)' (?:\([^)]*\) )?depends on")
    node = grab(
        ctx.text,
        r"'((?:model|metric|semantic_model|test|snapshot|seed|exposure)\.[\w.]+)' depends on",
        r"node \"([^\"\n]{1,120})\" depends on",
    )
    what = f"{kind or 'node'} {quoted(name)}" if name else "a node it references"
    if model:
        who = f"dbt model {quoted(model)}"
    elif node:
        who = f"the {'dbt ' if dbt else ''}node {quoted(node)}"
    else:
        who = "a dbt model" if dbt else "a node of the project"
    if re.search(any_of(*signals.DBT_REF_DISABLED), ctx.text, re.IGNORECASE):
        # The node exists but its config turns it off (enabled: false in dbt_project.yml or the
        # node's config block): dbt refuses the reference, whatever its spelling.
        package = grab(ctx.text, r"in package or project '([^'\n]{1,200})' which is disabled")
        owner = f" in package {quoted(package)}" if package else ""
        return Finding(
            f"{who} depends on {what}{owner}, which is disabled in the project (enabled: false "
            "in its config), so dbt will not build or resolve it",
            (
                f"Enable {what} (remove enabled: false from its config or dbt_project.yml, or the "
                "var that turns it off), if the model should use it.",
                f"Or disable {who} too, or remove its ref() to {what}.",
                "Compile the project after the change (dbt compile), then rerun.",
            ),
            0.75,
            transient=False,
        )
    tool = "dbt" if dbt else "the compiler"
    call = "source()" if kind == "source" else "ref()"
    listing = " (dbt ls --select ...)" if dbt else ""
    return Finding(
        f"{who} depends on {what}, which {tool} could not find in the project (a {call} to a "
        "model or source that is missing, renamed, disabled or not selected)",
        (
            f"Check the spelling of {what} in the {call} call and that it is defined in the "
            f"project or an installed package{listing}.",
            "If it was renamed or disabled, update every reference to it; "
            + ("run dbt deps if it comes from a package." if dbt else "reinstall packages."),
            "Compile the project in CI so broken references fail before deployment, then rerun.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "not_serializable",
    "CodeError",
    # Not UnpicklingError: bytes that were not written by pickle (an XCom stored as JSON, read
    # with pickling enabled), which no object of the code failed to become.
    r"(?<!un)picklingerror|could not serialize object|can't pickle|cannot pickle"
    r"|task not serializable|notserializableexception"
    r"|is not json serializable|could not serialize the xcom value",
    example=(
        "org.apache.spark.SparkException: Task not serializable\nCaused by: "
        "java.io.NotSerializableException: com.example.etl.DbClient"
    ),
)
def not_serializable(m: re.Match[str], ctx: Context) -> Finding:
    obj = grab(
        ctx.text,
        r"notserializableexception: ([\w$.]+)",
        r"(?:can't|cannot) pickle '?([\w.]+)'? object",
        r"(?:can't|cannot) pickle <?([^>:\n]{1,60})",
    )
    spark_context = re.search(r"reference sparkcontext|spark-5063", ctx.text, re.IGNORECASE)
    json_type = grab(ctx.text, r"object of type '?([\w.]{1,120})'? is not json serializable")
    if json_type or re.search(r"not json serializable|serialize the xcom", ctx.text, re.I):
        # A JSON encoder handed an object (Airflow pushing a task's return value to XCom,
        # json.dumps in the task): only str, numbers, lists, dicts, bools and None have a form.
        what = f"an object of type {quoted(json_type)}" if json_type else "an object"
        xcom = "xcom" in ctx.text.lower()
        return Finding(
            f"the code hands {what} to a JSON encoder"
            + (" (the task's return value, pushed to XCom)" if xcom else "")
            + ", which has no JSON form",
            (
                "Return or pass plain data instead (a dict, list, str or number built from "
                "the object's fields), or convert it with a default= or to_dict().",
                "If the value is not needed downstream, stop returning it (do_xcom_push=False).",
                "Deploy the fix and rerun.",
            ),
            0.7,
            transient=False,
        )
    if spark_context:
        cause = (
            "the code references SparkContext (or the SparkSession / a DataFrame) inside a "
            "function that runs on the workers, which Spark cannot serialize (SPARK-5063)"
        )
    else:
        what = f"object {quoted(obj)}" if obj else "an object"
        cause = (
            f"the code ships {what} to the workers (in a UDF, map or broadcast) that cannot "
            "be serialized"
        )
    return Finding(
        cause,
        (
            "Move the use of SparkContext, connections, clients or locks out of the function "
            "sent to the workers; create such objects inside the function (e.g. per partition).",
            "Pass plain values (or a broadcast of plain data) instead of objects holding "
            "sessions or handles.",
            "Reproduce locally with the same function, then deploy the fix and rerun.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "name_error",
    "CodeError ConfigurationError",
    r"nameerror: name '(\w+)' is not defined",
    example=(
        "Traceback (most recent call last):\n  File "
        '"/databricks/driver/etl/job.py", line 8, in <module>\n    df = '
        "spark.read.table('bronze.orders')\nNameError: name 'spark' is not defined"
    ),
)
def name_error(m: re.Match[str], ctx: Context) -> Finding:
    name = clean_value(m.group(1))
    file = grab(
        ctx.text, r'file "([^"<]+\.py)", line \d+, in <module>', r"broken dag: \[([^\]]+)\]"
    )
    where = f" in {file}" if file else ""
    return Finding(
        f"the code uses name {quoted(name)}{where}, which is not defined or imported",
        (
            f"Import or define {quoted(name)} (it may have been removed or moved in a library "
            "upgrade).",
            "Run the file locally or in CI against the same library versions (python -c "
            "'import ...', DAG integrity test).",
            "Deploy the fix and rerun.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "unknown_function",
    "CodeError",
    r"cannot resolve function `?(\w+)|undefined function:? '?(\w+)|unresolved_routine",
    example=(
        "[UNRESOLVED_ROUTINE] Cannot resolve function `to_datee` on search path "
        "[`system`.`builtin`, `system`.`session`, `spark_catalog`.`default`]."
    ),
)
def unknown_function(m: re.Match[str], ctx: Context) -> Finding:
    name = clean_value(next((g for g in m.groups() if g), ""))
    fn = f"function {quoted(name)}" if name else "a function"
    return Finding(
        f"the query calls {fn}, which does not exist in this runtime",
        (
            f"Check the spelling of {fn} and whether it exists in the runtime version in use.",
            "If it is a UDF, register it (or the library providing it) before the query runs.",
            "Deploy the fix and rerun.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "invalid_operator_args",
    "CodeError ConfigurationError",
    r"invalid arguments were passed to (\w+)",
    example=(
        "airflow.exceptions.AirflowException: Invalid arguments were passed to "
        "PythonOperator (task_id: load). Invalid arguments were:\n**kwargs: "
        "{'provide_context': True}"
    ),
)
def invalid_operator_args(m: re.Match[str], ctx: Context) -> Finding:
    operator = clean_value(m.group(1))
    kwargs = grab(ctx.text, r"\*\*kwargs: \{([^}]*)\}")
    cause = f"operator {operator} was given arguments it does not accept"
    if kwargs:
        cause += f" ({kwargs})"
    return Finding(
        cause,
        (
            f"Remove or rename the unsupported arguments of {operator} (often removed in an "
            "Airflow or provider upgrade, e.g. provide_context).",
            "Check the operator's documentation for the installed provider version.",
            "Run a DAG import test in CI so argument errors are caught before deployment.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "botocore_argument_refused",
    "CodeError ConfigurationError",
    r"(invalid type for parameter|unknown parameter in|missing required parameter in"
    r"|invalid length for parameter) ([\w.\[\]-]{1,120})",
    example=(
        "ERROR - Failed to run aws glue job, error: Parameter validation failed:\nInvalid type "
        "for parameter GlueVersion, value: 4.0, type: <class 'float'>, valid types: <class 'str'>"
    ),
)
def botocore_argument_refused(m: re.Match[str], ctx: Context) -> Finding:
    """botocore checks a call's arguments against the service model before sending it."""
    problem = m.group(1).lower()
    parameter = quoted(clean_value(m.group(2)))
    given = grab(ctx.text, r"type: <class '(\w{1,40})'>, valid types:")
    valid = grab(ctx.text, r"valid types: <class '(\w{1,40})'>")
    if problem.startswith("invalid type"):
        cause = f"parameter {parameter} of an AWS API call was given a value of the wrong type"
        if given and valid:
            cause += f" ({given} where the API takes {valid})"
    elif problem.startswith("unknown"):
        cause = f"an AWS API call was given parameter {parameter}, which the API does not take"
    elif problem.startswith("missing"):
        cause = f"an AWS API call was made without parameter {parameter}, which it requires"
    else:
        cause = f"parameter {parameter} of an AWS API call has a length the API does not accept"
    return Finding(
        cause + "; botocore refused the call before sending it",
        (
            f"Fix {parameter} where the task builds the call (an operator argument such as "
            "create_job_kwargs, or the code calling boto3): its name, presence and type must "
            "match the API's reference.",
            "Check the installed provider and boto3 versions: an upgrade can change how an "
            "operator fills the call's parameters.",
            "Deploy the fix and rerun.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "key_error",
    "CodeError",
    r"keyerror: ([^\n]{1,80})",
    example="KeyError: 'Variable etl_settings does not exist'",
)
def key_error(m: re.Match[str], ctx: Context) -> Finding:
    key = clean_value(m.group(1))
    return Finding(
        f"the code looked up key {key} in a dict or row that does not contain it",
        (
            f"Check the input that lacked {key} (API response, config, row) and whether its "
            "shape changed.",
            "Use .get() with a default or validate the input shape explicitly before use.",
            "Add a test with the failing input, then deploy and rerun.",
        ),
        0.65,
        transient=False,
    )


@rule(
    "none_error",
    "CodeError",
    r"'nonetype' object (?:has no attribute '(\w+)'|is not (?:subscriptable|iterable|callable))",
    example="TypeError: 'NoneType' object is not iterable",
)
def none_error(m: re.Match[str], ctx: Context) -> Finding:
    attr = clean_value(m.group(1)) if m.group(1) else ""
    suffix = f" (accessing {quoted(attr)})" if attr else ""
    return Finding(
        f"the code used a value that was None{suffix}; an earlier call returned nothing",
        (
            "Find where the value comes from (API field, query result, regex match) and handle "
            "the empty case.",
            "Validate inputs at the boundary and fail with a clear message.",
            "Add a test with the empty input, then deploy and rerun.",
        ),
        0.65,
        transient=False,
    )


@rule(
    "syntax_error",
    "CodeError",
    any_of(*signals.SYNTAX_ERROR, r"syntaxerror", r"syntax error at or near"),
    example=(
        "com.microsoft.sqlserver.jdbc.SQLServerException: Incorrect syntax near the keyword 'FROM'."
    ),
)
def syntax_error(m: re.Match[str], ctx: Context) -> Finding:
    near = grab(
        ctx.text,
        r"syntax error at or near [\"']?([^\"'\n]+)",
        r"incorrect syntax near (?:the keyword )?'([^']+)'",
    )
    file = grab(ctx.text, r'file "([^"<]+)", line (\d+)')
    line = grab(ctx.text, r'file "[^"<]+", line (\d+)', r"\(line (\d+)")
    lowered = ctx.text.lower()
    kind = (
        "SQL statement" if ("sql" in lowered or near) and "syntaxerror:" not in lowered else "code"
    )
    cause = f"the {kind} has a syntax error"
    if near:
        cause += f" near {quoted(near)}"
    if file:
        cause += f" in {file}" + (f" line {line}" if line else "")
    return Finding(
        cause,
        (
            "Fix the syntax at the reported position (check for parameters rendered into the "
            "text, e.g. empty values or quotes).",
            "Run a parse or lint step in CI (DAG import test, SQL parse) before deployment.",
            "Deploy the fix and rerun.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "python_exception",
    "CodeError",
    rf"\b({any_of(*signals.PYTHON_BUG_EXCEPTIONS, 'ValueError')})\b",
    example="IndexError: list index out of range",
)
def python_exception(m: re.Match[str], ctx: Context) -> Finding:
    exc, detail = last_exception(ctx.text)
    exc = exc or clean_value(m.group(1))
    # The last frame of the first line that names one; anchored at line starts, since a bare
    # `.*` is retried from every character of a long line (quadratic on untrusted text).
    frame = grab(ctx.text, r'(?m)^.*file "([^"<]+)", line \d+')
    cause = f"the task's code raised {exc}"
    if detail:
        cause += f": {detail}"
    if frame:
        cause += f" (last frame in {frame})"
    return Finding(
        cause,
        (
            "Reproduce with the failing run's inputs and fix the code path named in the traceback.",
            "Check whether the input data or an upstream API changed shape.",
            "Add a unit test for this input, then deploy and rerun.",
        ),
        0.6,
        transient=False,
    )


@rule(
    "jvm_exception",
    "CodeError",
    rf"\b({any_of(*signals.JVM_BUG_EXCEPTIONS)})\b",
    example=("java.lang.NullPointerException\n\tat com.acme.etl.OrdersJob.run(OrdersJob.scala:42)"),
)
def jvm_exception(m: re.Match[str], ctx: Context) -> Finding:
    exc = clean_value(m.group(1))
    frame = grab(ctx.text, r"at ((?!java\.|scala\.|org\.apache\.)[\w.$]+\([\w.]+:\d+\))")
    cause = f"the job's code threw {exc}"
    cause += f" at {frame}" if frame else ""
    hint = (
        "Check library versions on the cluster against the ones the code was compiled with."
        if exc == "NoSuchMethodError"
        else "Reproduce with the failing input and fix the code path in the stack trace."
    )
    return Finding(
        cause,
        (
            hint,
            "Check for null or unexpected values in the input that the code does not handle.",
            "Add a test for this case, then deploy and rerun.",
        ),
        0.6,
        transient=False,
    )


@rule(
    "query_too_complex",
    "CodeError ResourceExhaustion ExternalServiceError",
    any_of(*signals.QUERY_TOO_COMPLEX),
    example=(
        "Error 8632 - Internal error: An expression services limit has been reached. Look for "
        "potentially complex expressions in your query, and try to simplify them."
    ),
)
def query_too_complex(m: re.Match[str], ctx: Context) -> Finding:
    return Finding(
        "SQL Server could not compile the query: it is too complex for the optimizer (an "
        "expression services limit or internal plan resources ran out), typically a very long "
        "IN list, many OR'ed conditions or deeply nested expressions",
        (
            "Simplify the query: load a long IN list into a temporary or staging table and join "
            "to it, and replace chains of OR conditions with a join or UNION.",
            "Split the statement into steps that write intermediate results to temporary tables.",
            "If the query is generated (an ORM, a dynamic ADF or dbt statement), cap how many "
            "values it inlines per statement.",
            "Rerun the simplified query.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "query_parameter_count",
    "CodeError DatabaseError",
    any_of(*signals.QUERY_PARAMETER_COUNT),
    example=("psycopg.ProgrammingError: the query has 1 placeholder but 2 parameters were passed"),
)
def query_parameter_count(m: re.Match[str], ctx: Context) -> Finding:
    stated = [clean_value(g) for g in m.groups() if g]
    placeholders, passed = (stated[0], stated[1]) if len(stated) >= 2 else ("", "")
    counts = (
        f" ({placeholders} placeholder(s) in the SQL, {passed} parameter(s) passed)"
        if placeholders and passed
        else ""
    )
    return Finding(
        "the code called the database with parameters that do not fit the query's "
        f"placeholders{counts}: the SQL text or the parameters the task builds, not the "
        "database",
        (
            "Make the number of placeholders (%s, ?, :name) in the SQL match the parameters "
            "passed, or pass no parameters to a statement that has none.",
            "Check templated SQL: a Jinja-rendered statement or an operator's `parameters` "
            "argument may pass values the SQL no longer uses.",
            "Escape literal percent signs as %% when the driver uses %s placeholders.",
            "Rerun after the fix.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "power_query_expression",
    "CodeError DataError",
    any_of(*signals.POWER_QUERY_EXPRESSION),
    example=(
        "Error Code: Mashup Exception Error, Error Details: Couldn't refresh the entity because "
        "of an issue with the mashup document MashupException.Error: Expression.Error: We cannot "
        "convert a value of type Table to type Text. Details: Value = #table({}, {})"
    ),
)
def power_query_expression(m: re.Match[str], ctx: Context) -> Finding:
    # The sentence after "Expression.Error:", up to the details, request id or markup after it.
    stated = grab(
        ctx.text, r"expression\.error:\s*([^<\n]{1,300}?)\s*(?:details:|\(request id|<|$)"
    )
    what = f" ({quoted(clean_value(stated, 200))})" if stated else ""
    return Finding(
        f"a step of the Power Query (M) query failed to evaluate{what}: an expression received a "
        "value of another type or shape than it handles (a table where text is expected, a list "
        "with fewer items than it takes), from the query's code or from what the source returned",
        (
            "Open the query in the Power Query editor and find the step the error names; check "
            "what the previous step returns (its type, whether it is empty).",
            "Fix the expression (convert the value, pick the column or row it needs, handle an "
            "empty list or table) or the source change that altered its shape.",
            "Save, publish the dataflow or model, then refresh again.",
        ),
        0.6,
        transient=False,
    )


@rule(
    "xcom_missing",
    "CodeError",
    any_of(*signals.XCOM_MISSING),
    example=(
        "Server error [airflow.sdk.api.client] detail={'detail': {'reason': 'not_found', "
        "'message': \"XCom with key 'return_value' not found for task 'invalid_id' in DAG "
        "'xcom_example'\"}}"
    ),
)
def xcom_missing(m: re.Match[str], ctx: Context) -> Finding:
    key = clean_value(
        grab(ctx.text, r"xcom with key '([^'\n]{1,250})' not found", r'key=\\?"([^"\\\n]{1,250})')
    )
    task = clean_value(
        grab(
            ctx.text,
            r"not found for task '([^'\n]{1,250})'",
            r"xcomarg result from ([\w.\-]{1,250})",
        )
    )
    which = f"XCom {quoted(key)}" if key else "an XCom"
    upstream = f"task {quoted(task)}" if task else "the upstream task"
    return Finding(
        f"the task pulls {which} from {upstream}, which has none: the task id is not a task of "
        "the DAG (a typo, a task renamed or in a task group whose id is prefixed), the upstream "
        "task was skipped or failed, or it returned nothing or does not push to XCom",
        (
            f"Check the task_ids and key the pull uses against the DAG: {upstream} must exist "
            "under that exact id (group_id.task_id inside a task group).",
            "Make sure the upstream task ran in this DAG run and returned, or pushed, the value "
            "(do_xcom_push, a return value, xcom_push with that key).",
            "Pull with a default, or set a trigger rule, where the value is optional; then rerun.",
        ),
        0.6,
        transient=False,
    )


@rule(
    "task_sdk_request_invalid",
    "CodeError",
    any_of(*signals.TASK_SDK_REQUEST_INVALID),
    example=(
        "ValidationError: 1 validation error for GetConnection\nconn_id\n  Input should be a "
        "valid string [type=string_type, input_value=None, input_type=NoneType]"
    ),
)
def task_sdk_request_invalid(m: re.Match[str], ctx: Context) -> Finding:
    found = re.search(
        r"validation errors? for (\w{1,60})\s{1,10}(\w{1,60})\s{1,10}([^\n\[]{1,200})",
        ctx.text,
        re.IGNORECASE,
    )
    request = clean_value(found.group(1)) if found else "a Task SDK request"
    field = clean_value(found.group(2)) if found else ""
    problem = clean_value(found.group(3)) if found else ""
    value = grab(ctx.text, r"input_value=([^,\]\n]{1,100})")
    arg = f"argument {quoted(field)}" if field else "an argument"
    given = f" was {value}" if value else ""
    said = f" ({problem})" if problem else ""
    return Finding(
        f"the task code sent the supervisor a {request} request whose {arg}{given}{said}: "
        "the code called the Task SDK (Connection.get, Variable.get or an XCom call) with a "
        "value of the wrong type, typically None from an unset parameter or template",
        (
            f"Find where the task builds the {field or 'argument'} it passes (a conn_id or key "
            "read from params, a template, an environment variable) and make sure it is set.",
            "Pass a string id, not None or an object, to Connection.get / Variable.get / "
            "xcom_pull.",
            "Rerun the task after the fix; the same call fails the same way.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "spark_session_stopped",
    "CodeError",
    any_of(*signals.SPARK_SESSION_STOPPED),
    example=(
        "[NO_ACTIVE_SESSION] No active Spark session found. Please create a new Spark session "
        "before running the code."
    ),
)
def spark_session_stopped(m: re.Match[str], ctx: Context) -> Finding:
    stopped = "stopped sparkcontext" in m.group(0).lower()
    state = (
        "after its SparkContext was stopped"
        if stopped
        else "with no active Spark session (none was created, or it was stopped earlier)"
    )
    return Finding(
        f"the job's code ran a Spark operation {state}: the code's own order of calls, not "
        "the cluster",
        (
            "Find the spark.stop() / sc.stop() (or a library that stops the session) that runs "
            "before this call, and move it to the end of the job or remove it.",
            "Get the session with SparkSession.builder.getOrCreate() where the code needs one, "
            "instead of keeping a reference to a session that may have been stopped.",
            "Rerun after the fix; a retry runs the same code and fails the same way.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "sql_parameter_unbound",
    "CodeError DatabaseError",
    any_of(*signals.SQL_PARAMETER_UNBOUND),
    example=(
        "[UNBOUND_SQL_PARAMETER] Found the unbound parameter: p1. Please, fix `args` and provide "
        "a mapping of the parameter to a SQL literal.; line 1 pos 43"
    ),
)
def sql_parameter_unbound(m: re.Match[str], ctx: Context) -> Finding:
    name = clean_value(next((g for g in m.groups() if g), ""))
    what = f"parameter {quoted(name)}" if name else "a parameter"
    return Finding(
        f"the SQL statement uses {what}, which the call did not bind to a value: the "
        "statement's parameter markers and the arguments the code passes do not match",
        (
            f"Pass a value for {what} with the statement (the args / parameters mapping of the "
            "call), spelled exactly as in the SQL.",
            "Check that the client and the runtime support the marker style used (:name or ?) "
            "and that a templated statement did not keep a marker it no longer fills.",
            "Rerun after the fix; the same call fails the same way.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "dbt_dependency_not_inferred",
    "CodeError ConfigurationError",
    r"unable to infer all dependencies for the (?:model|test|snapshot|node)",
    example=(
        'dbt was unable to infer all dependencies for the model "stg_orders". This typically '
        "happens when ref() is placed within a conditional block."
    ),
)
def dbt_dependency_not_inferred(m: re.Match[str], ctx: Context) -> Finding:
    """dbt builds its graph from the refs it finds when parsing; a ref() inside a Jinja
    conditional is not seen then, and at run time dbt refuses the reference it did not plan."""
    model = grab(ctx.text, r"unable to infer all dependencies for the \w+ \"([^\"\n]{1,200})\"")
    hint = grab(ctx.text, r"(--\s*depends_on:\s*\{\{[^}\n]{1,200}\}\})")
    who = f"dbt model {quoted(model)}" if model else "a dbt model"
    return Finding(
        f"{who} calls ref() inside a conditional block, so dbt could not infer all its "
        "dependencies when parsing and refused the reference at run time",
        (
            f"Add the depends_on hint dbt prints ({hint}) to the top of the model."
            if hint
            else "Add a '-- depends_on: {{ ref('...') }}' hint for each conditional ref() at the "
            "top of the model.",
            "Or move the ref() out of the conditional block so dbt sees it when it parses.",
            "Rerun after the change; the same run fails the same way until then.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "insert_column_count_mismatch",
    "CodeError DataError",
    any_of(*signals.INSERT_COLUMN_COUNT_MISMATCH),
    example=(
        "AnalysisException: Cannot write to 'sales.orders', not enough data columns; target "
        "table has 5 column(s) but the inserted data has 4 column(s)"
    ),
)
def insert_column_count_mismatch(m: re.Match[str], ctx: Context) -> Finding:
    """An INSERT or write whose column list does not line up with the target table's: the
    statement or the DataFrame, not the rows' values."""
    counts = [g for g in m.groups() if g]
    table = grab(ctx.text, r"cannot write to ([`'][^,\n]{1,200}?[`']),")
    target = f"table {table}" if table else "the target table"
    detail = f" (the table has {counts[0]} columns, the data {counts[1]})" if counts else ""
    return Finding(
        f"the write gives {target} a different number of columns than it has{detail}: the "
        "INSERT's column list or the DataFrame's columns do not match the table's",
        (
            f"Compare the columns the statement or DataFrame writes with {target}'s (DESCRIBE "
            "it) and add, drop or reorder them to match; name the columns in the INSERT.",
            "For a table with generated or default columns, list the columns the write supplies "
            "explicitly, or write by name (Spark: INSERT ... BY NAME, mergeSchema for a new "
            "column).",
            "Rerun after the change; the same write fails the same way.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "data_flow_expression_invalid",
    "CodeError DataError",
    any_of(*signals.DATA_FLOW_EXPRESSION_INVALID),
    example="Error code: DF-Executor-ParseError. Expression cannot be parsed.",
)
def data_flow_expression_invalid(m: re.Match[str], ctx: Context) -> Finding:
    field = "field" in m.group(0).lower()
    what = (
        "names a field its struct does not have"
        if field
        else "cannot be parsed (a syntax or formatting mistake)"
    )
    return Finding(
        f"A data flow expression {what}: the expression as written in the transformation, "
        "not the data it reads",
        (
            "Open the data flow's derived column, filter or other expressions in the expression "
            "builder and find the one it flags.",
            "Fix the syntax, or the field name against the struct's schema in the data "
            "preview (names are case-sensitive).",
            "Run a debug data preview, then rerun the pipeline.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "merge_insert_column_missing",
    "CodeError DataError",
    any_of(*signals.MERGE_INSERT_COLUMN_MISSING),
    example="[DELTA_COLUMN_NOT_FOUND_IN_MERGE] Unable to find the column 'updated_at' of the "
    "target table from the INSERT columns: order_id, customer_id, amount. INSERT clause must "
    "specify value for all the columns of the target table.",
)
def merge_insert_column_missing(m: re.Match[str], ctx: Context) -> Finding:
    column = clean_value(m.group(1))
    inserted = clean_value(m.group(2), 160)
    return Finding(
        f"The MERGE's INSERT clause gives no value for the target table's column "
        f"{quoted(column)} (it inserts {inserted}): the statement, not the data",
        (
            f"Add {quoted(column)} to the INSERT column and value lists of the MERGE (or use "
            "INSERT *).",
            "If the column was added to the table recently, update every MERGE that writes it.",
            "Rerun the job once the INSERT clause covers every column.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "partition_predicate_invalid",
    "CodeError",
    any_of(*signals.PARTITION_PREDICATE_INVALID),
    example="[DELTA_NON_PARTITION_COLUMN_REFERENCE] Predicate references non-partition column "
    "'amount'. Only the partition columns may be referenced: [event_date, region]",
)
def partition_predicate_invalid(m: re.Match[str], ctx: Context) -> Finding:
    column = clean_value(m.group(1))
    partitions = clean_value(m.group(2))
    return Finding(
        f"A predicate that may use only the table's partition columns ({partitions}) uses "
        f"the non-partition column {quoted(column)}: the statement, not the data",
        (
            f"Rewrite the predicate (a replaceWhere, partition filter or DROP PARTITION) "
            f"without {quoted(column)}, on the partition columns only.",
            "If the filter needs that column, use a DELETE or MERGE with the condition instead.",
            "Rerun the job once the predicate uses partition columns only.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "ambiguous_column_reference",
    "CodeError",
    any_of(*signals.AMBIGUOUS_COLUMN_REFERENCE),
    example='[AMBIGUOUS_COLUMN_REFERENCE] Column "customer_id" is ambiguous. It\'s because you '
    "joined several DataFrame together, and some of these DataFrames are the same.",
)
def ambiguous_column_reference(m: re.Match[str], ctx: Context) -> Finding:
    column = clean_value(m.group(1))
    return Finding(
        f"The column {quoted(column)} is ambiguous: the code joins a DataFrame with itself (or "
        "one derived from it) and refers to the column without saying which side it means",
        (
            "Alias each side of the join (df.alias('a'), df.alias('b')) and refer to the "
            f"column as a.{column} or b.{column}.",
            "Or rename the column on one side before the join.",
            "Rerun the job once every reference is qualified.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "merge_clause_condition_missing",
    "CodeError",
    any_of(*signals.MERGE_CLAUSE_CONDITION_MISSING),
    example="[DELTA_NON_LAST_MATCHED_CLAUSE_OMIT_CONDITION] When there are more than one MATCHED "
    "clauses in a MERGE statement, only the last MATCHED clause can omit the condition.",
)
def merge_clause_condition_missing(m: re.Match[str], ctx: Context) -> Finding:
    clause = f"WHEN {clean_value(m.group(1)).upper()}"
    return Finding(
        f"The MERGE has several {clause} clauses and one before the last has no condition: "
        "only the last of them may omit it, the statement as written",
        (
            f"Give every {clause} clause but the last an AND <condition>, or merge the "
            "unconditional one into the last.",
            "Check the clause order: the clauses are tried top to bottom.",
            "Rerun the job once the MERGE is valid.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "statement_value_not_allowed",
    "CodeError ConfigurationError",
    any_of(*signals.STATEMENT_VALUE_NOT_ALLOWED),
    example="CREATE/ALTER WORKLOAD GROUP statement failed because a non-integer value 12.5 for "
    "CAP_PERCENTAGE_RESOURCE is not allowed.  The value should be an integer between 0 and 100.",
)
def statement_value_not_allowed(m: re.Match[str], ctx: Context) -> Finding:
    statement = clean_value(m.group(1))
    value = clean_value(m.group(3))
    option = clean_value(m.group(4))
    takes = clean_value(m.group(5))
    return Finding(
        f"The {statement} statement gives {option} the value {value}, which it does not "
        f"accept: it must be {takes}",
        (
            f"Change {option} to {takes} in the statement (in the script or pipeline that "
            "runs it).",
            "Check the statement's other options against its documented ranges before the "
            "next deployment.",
            "Rerun the statement.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "uc_namespace_invalid",
    "CodeError ConfigurationError",
    any_of(*signals.UC_NAMESPACE_INVALID),
    example="[UC_INVALID_NAMESPACE] Nested or empty namespaces are not supported in Unity "
    "Catalog. SQLSTATE: 0AKUC",
)
def uc_namespace_invalid(m: re.Match[str], ctx: Context) -> Finding:
    parts = [clean_value(part) for part in (m.group(1) or "").split(",") if clean_value(part)]
    named = f" (here {'.'.join(parts)})" if parts else ""
    return Finding(
        "A statement sets or names a namespace Unity Catalog does not take: nested deeper than "
        f"catalog.schema or empty{named}. A USE or SET of a two-part namespace, or a name "
        "built with an empty part, reaches Unity Catalog as one it cannot resolve",
        (
            "Use USE CATALOG <catalog> and USE SCHEMA <schema> (or spark.catalog."
            "setCurrentCatalog / setCurrentDatabase) instead of one two-part namespace, or "
            "name tables in full (catalog.schema.table).",
            "Check the code or framework that builds the names: an empty catalog or schema "
            "variable gives an empty part.",
            "Rerun the job once the statement names the namespace as Unity Catalog expects.",
        ),
        0.65,
        transient=False,
    )


@rule(
    "airflow_mapped_upstream_missing",
    "CodeError ConfigurationError",
    any_of(*signals.AIRFLOW_MAPPED_UPSTREAM_MISSING),
    example="{taskmap.py:150} ERROR - Cannot expand '<Mapped(_PythonDecoratedOperator): "
    "process_file>' for run scheduled__2025-03-01T00:00:00+00:00; missing upstream values: "
    "['path']",
)
def airflow_mapped_upstream_missing(m: re.Match[str], ctx: Context) -> Finding:
    """A mapped Airflow task the scheduler cannot expand: the upstream task did not push the
    values it maps over."""
    task = grab(ctx.text, r"cannot expand '[^'\n]{0,80}?\): ([\w.-]{1,250})")
    values = grab(ctx.text, r"missing upstream values: \[([^\]\n]{1,300})\]")
    names = clean_value(values.replace("'", "").replace('"', ""), 200)
    what = f"the mapped task {quoted(task)}" if task else "a mapped task"
    missing = f" ({names})" if names else ""
    return Finding(
        f"The scheduler could not expand {what}: the values it maps over{missing} were not "
        "there when it expanded the task, because the upstream task that should return them "
        "did not push them (it returned None, ran with do_xcom_push off, or has not finished "
        "in this run), or the expand() argument names an output the upstream never produces",
        (
            "Check the upstream task's XCom for this run: it must return a list or dict for "
            "each argument passed to expand().",
            "Make the upstream task return the value (not print it), and keep do_xcom_push on.",
            "If the upstream can legitimately produce nothing, return an empty list so the "
            "mapped task expands to zero instances instead of failing.",
        ),
        0.7,
        transient=False,
    )
