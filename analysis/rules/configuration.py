"""Configuration: an Airflow DAG run deadlocked by its dependencies, missing modules, jars and
libraries, variables, connections, secrets, widgets, linked services, init scripts,
environment, storage, parameters, settings a service requires left unset, source tables missing or
unreadable, Snowflake session context, the secret key an Airflow worker's
log server checks, the Celery broker URL's transport, regional endpoints, clock skew, Kafka topics,
Kubernetes Secrets and ConfigMaps a pod refers to, Airflow DAG bundles and tasks that are not there,
pods an admission policy refuses, table writes whose partitioning is not the table's, objects a
retention policy keeps, tables without the change tracking a reader needs, semantic models whose
sources do not support refresh, what an Airflow 3 task asked the API server for and it does not
have, images built for another CPU architecture, Slack channels a post is refused for, connector
settings set together, missing for an operation or given a value the connector does not take,
data flow parameters of the wrong type.
"""

from __future__ import annotations

import re

from analysis import signals
from analysis.rules.base import Context, Finding, rule
from analysis.rules.extract import clean_value, grab, message_field, platform_of, quoted
from analysis.signals import any_of


@rule(
    "dagrun_deadlock",
    "ConfigurationError",
    any_of(*signals.DAGRUN_DEADLOCK),
    example="DAG run scheduled__2025-12-10T00:00:00+00:00 failed (all_tasks_deadlocked): no task "
    "of the run could be scheduled (deadlocked: their upstream tasks or trigger rules can never "
    "be met).",
)
def dagrun_deadlock(m: re.Match[str], ctx: Context) -> Finding:
    # Airflow's scheduling deadlock (no database lock): tasks were left unfinished, none of them
    # runnable, so the scheduler failed the run.
    run = grab(ctx.text, r"dag run (\S{1,250}) failed \(all_tasks_deadlocked\)")
    return Finding(
        "the DAG run" + (f" {run}" if run else "") + " was failed as deadlocked "
        "(all_tasks_deadlocked): tasks were left that no state of their upstream tasks lets "
        "run, so Airflow could schedule none of them",
        (
            "Open the run in the Grid view: each task left without a state lists, in its "
            "details, the dependency it is still waiting for.",
            "Check depends_on_past and wait_for_downstream: a task whose instance in the "
            "previous run failed or never ran waits for it for ever; clear or mark that earlier "
            "instance, or drop the setting.",
            "Check the trigger rules of the waiting tasks against the states their upstream tasks "
            "ended in (a rule those states can never satisfy, an upstream task missing from the "
            "run).",
            "Fix the DAG, then clear the run's unfinished tasks.",
        ),
        0.65,
        transient=False,
    )


@rule(
    "module_not_found",
    "ConfigurationError CodeError",
    r"no module named '?([\w.]+)'?|modulenotfounderror",
    example="ModuleNotFoundError: No module named 'airflow.providers.snowflake'",
)
def module_not_found(m: re.Match[str], ctx: Context) -> Finding:
    module = clean_value(m.group(1)) if m.group(1) else ""
    if not module:
        module = grab(ctx.text, r"no module named '?([\w.]+)")
    package = module.split(".")[0]
    name = f"Python module {quoted(module)}" if module else "a required Python module"
    platform = platform_of(ctx.source)
    if platform == "databricks":
        where = "on the cluster"
        install = (
            f"Install {quoted(package) or 'the package'} as a cluster or job library (PyPI), or "
            "with %pip install at the top of the notebook, and restart the Python process."
        )
    elif platform == "airflow":
        where = "in the Airflow environment"
        install = (
            f"Add {quoted(package) or 'the package'} to the Airflow image or requirements.txt for "
            "the scheduler and all workers, and redeploy."
        )
    else:
        where = "in the runtime environment"
        install = (
            f"Install {quoted(package) or 'the package'} in the environment that runs the task "
            "(image, virtualenv or cluster libraries)."
        )
    return Finding(
        f"{name} is not installed {where} (missing library)",
        (
            install,
            "Check the import name against the PyPI package name (they can differ) and pin a "
            "version known to work.",
            "Verify the code runs with the same environment it was tested in (runtime version, "
            "image tag).",
            "Rerun the failed run after the library is installed.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "import_conflict",
    "ConfigurationError CodeError",
    r"cannot import name '([\w.]+)' from '([\w.]+)'",
    example=(
        "ImportError: cannot import name 'soft_unicode' from 'markupsafe' "
        "(/usr/local/lib/python3.9/site-packages/markupsafe/__init__.py)"
    ),
)
def import_conflict(m: re.Match[str], ctx: Context) -> Finding:
    name, module = clean_value(m.group(1)), clean_value(m.group(2))
    return Finding(
        f"{quoted(name)} no longer exists in the installed version of {quoted(module)} "
        "(library version conflict)",
        (
            f"Pin {quoted(module)} to a version that still provides {quoted(name)}, or upgrade "
            "the code that imports it.",
            "Compare installed package versions with the last successful run (image or cluster "
            "runtime change).",
            "Use a lock file or constraints file so upgrades do not arrive unplanned.",
            "Rerun the failed run after the fix.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "missing_jar",
    "ConfigurationError",
    r"failed to find data source: ([\w.]+)|classnotfoundexception: ([\w$]+(?:\.[\w$]+)+)"
    r"|noclassdeffounderror: ([\w$]+(?:[./][\w$]+)+)",
    example=(
        "java.lang.ClassNotFoundException: "
        "com.microsoft.sqlserver.jdbc.SQLServerDriver\n\tat "
        "java.net.URLClassLoader.findClass(URLClassLoader.java:387)"
    ),
)
def missing_jar(m: re.Match[str], ctx: Context) -> Finding:
    cls = clean_value(next((g for g in m.groups() if g), ""))
    return Finding(
        f"the JVM class or data source {quoted(cls)} is not on the classpath (missing JAR or Maven "
        "library)",
        (
            f"Attach the library that provides {quoted(cls) or 'the class'} to the cluster or job "
            "(Maven coordinates or JAR).",
            "Check that the library is built for the cluster's Scala and Spark version.",
            "Restart the cluster after installing, then rerun.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "filesystem_scheme",
    "ConfigurationError",
    r"no ?filesystem for scheme:? \"?'?([\w+.-]{1,20})|file ?system implementation for scheme "
    r"'([\w+.-]{1,20})'|unsupportedfilesystemschemeexception",
    example=(
        "org.apache.flink.core.fs.UnsupportedFileSystemSchemeException: Could not find a file "
        "system implementation for scheme 's3'. The scheme is not directly supported by Flink "
        "and no Hadoop file system to support this scheme could be loaded."
    ),
)
def filesystem_scheme(m: re.Match[str], ctx: Context) -> Finding:
    scheme = clean_value(m.group(1) or m.group(2) or grab(ctx.text, r"for scheme '([^']+)'"))
    named = f"scheme {quoted(scheme)}" if scheme else "the path's scheme"
    flink = "flink" in ctx.text.lower()
    where = (
        "its Flink filesystem plugin (e.g. flink-s3-fs-hadoop or flink-s3-fs-presto copied into "
        "plugins/) is not installed"
        if flink
        else "the connector that provides it (hadoop-aws for s3a, hadoop-azure for abfss/wasbs, "
        "the GCS connector for gs) is not on the classpath or not configured (fs.<scheme>.impl)"
    )
    return Finding(
        f"no file system implementation is available for {named}: {where}",
        (
            f"Install the file system for {named} on every node that reads or writes it "
            "(plugin or library matching the runtime's version).",
            "Check the path's scheme itself (s3 vs s3a, abfss vs wasbs): a typo or an "
            "unsupported scheme gives the same error.",
            "Restart the cluster or job after installing, then rerun.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "odbc_driver_missing",
    "ConfigurationError DatabaseError",
    r"data source name not found|no default driver specified|can't open lib '([^']+)'"
    r"|specified driver could not be loaded",
    example=(
        "pyodbc.InterfaceError: ('IM002', '[IM002] [unixODBC][Driver Manager]Data source name "
        "not found and no default driver specified (0) (SQLDriverConnect)')"
    ),
)
def odbc_driver_missing(m: re.Match[str], ctx: Context) -> Finding:
    driver = clean_value(m.group(1)) if m.group(1) else ""
    driver = driver or grab(ctx.text, r"driver=\{?([^};]+)")
    named = f"ODBC driver {quoted(driver)}" if driver else "the ODBC driver or DSN"
    stated = "can't open lib" if driver else "data source name not found / no default driver"
    return Finding(
        f"the ODBC driver manager could not load {named} the connection names ({stated}): the "
        "driver is not installed on the worker, or the DSN or DRIVER= name does not match one "
        "registered in odbcinst.ini / the ODBC administrator",
        (
            "List the installed drivers on the machine that runs the task (pyodbc.drivers(), "
            "odbcinst -q -d) and use that exact name in DRIVER={...}.",
            "Install the driver in the image, cluster init script or integration runtime host "
            "(e.g. msodbcsql18) with a bitness matching the Python or client.",
            "If a DSN is used, define it for the account the task runs as, then rerun.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "dependency_conflict",
    "ConfigurationError",
    any_of(*signals.DEPENDENCY_CONFLICT),
    example=(
        "ERROR: Cannot install apache-airflow because these package versions have conflicting "
        "dependencies.\nThe conflict is caused by:\n    apache-airflow 2.10.5 depends on "
        "flask-wtf>=1.1.0\n    The user requested (constraint) flask-wtf==1.2.2\nERROR: "
        "ResolutionImpossible: for help visit https://pip.pypa.io/en/latest/topics/"
        "dependency-resolution/#dealing-with-dependency-conflicts"
    ),
)
def dependency_conflict(m: re.Match[str], ctx: Context) -> Finding:
    package = grab(ctx.text, r"cannot install ([\w.\[\],=<>~-]{1,100}) because")
    # pip lists the clashing requirements under "The conflict is caused by:", one a line
    # ("apache-airflow 2.10.5 depends on flask-wtf>=1.1.0", "The user requested (constraint)
    # flask-wtf==1.2.2"); the first two say which versions cannot both hold.
    clauses = [
        clean_value(clause)
        for clause in re.findall(
            r"^[^\n]{0,40}?((?:[\w.-]{1,100} [\w.+!-]{1,40} depends on|the user requested)"
            r"[^\n]{1,120})$",
            ctx.text,
            re.IGNORECASE | re.MULTILINE,
        )[:2]
    ]
    clauses = [clause for clause in clauses if clause]
    what = f"the requirements of {quoted(package)}" if package else "the requirements"
    cause = f"pip found no versions that satisfy all of {what} (conflicting dependencies)"
    if clauses:
        cause += ": " + "; ".join(clauses)
    return Finding(
        cause,
        (
            "Align the pins that clash: loosen or change the version the image, requirements "
            "file or constraints file asks for so it fits what the other package depends on.",
            "Install with the platform's published constraints for that exact version (e.g. "
            "Airflow's constraints file) and add extra packages without contradicting them.",
            "Rebuild the environment or image and rerun.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "library_install",
    "ConfigurationError",
    r"library installation (?:failed|attempted)|library_installation_error"
    r"|managedlibraryinstallfailed|no matching distribution found for ([\w.=<>-]+)",
    example=(
        "Library installation failed for library due to user error for pypi {\n "
        'package: "pyodbc==5.0.1"\n}\n Error messages:\nLibrary installation '
        "attempted on the driver node of cluster 0501-xyz and failed."
    ),
)
def library_install(m: re.Match[str], ctx: Context) -> Finding:
    package = (clean_value(m.group(1)) if m.group(1) else "") or grab(
        ctx.text,
        r'package: "([^"]+)"',
        r"no matching distribution found for (\S+)",
        # Databricks: 'for whl: "/Workspace/.../pkg-1.0-py3-none-any.whl"', 'library jar:
        # "dbfs:/x.jar"'; a pip command line in ManagedLibraryInstallFailed.
        r'\b(?:whl|jar|egg|requirements)\b: "([^"]+)"',
        r"\bpip, install, (?:--?[\w-]+, )*([\w.\[\]=<>~-]+)",
    )
    target = f"library {quoted(package)}" if package else "a cluster library"
    # The platform's own failure code ("Error Code: NO_MATCHING_DISTRIBUTION_ERROR").
    code = grab(ctx.text, r"error code: ([A-Z][A-Z_]{5,60})\b")
    return Finding(
        f"installing {target} on the cluster failed" + (f" ({code})" if code else ""),
        (
            f"Check that {target} exists in that version on the package index and supports the "
            "cluster's Python version.",
            "Check that the cluster can reach the package index (egress, proxy, private mirror).",
            "Pin a working version in the job or cluster library settings, then restart and rerun.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "airflow_variable",
    "ConfigurationError",
    r"variable (\S+) does not exist",
    example="KeyError: 'Variable etl_settings does not exist'",
)
def airflow_variable(m: re.Match[str], ctx: Context) -> Finding:
    name = clean_value(m.group(1).strip("'\""))
    return Finding(
        f"Airflow Variable {quoted(name)} is not defined in this environment",
        (
            f"Create the Variable {quoted(name)} (Admin > Variables, CLI, or the secrets backend) "
            "in this environment.",
            "Promote Variables with the DAG code (e.g. a variables file in deployment) so "
            "environments stay in sync.",
            "Read it inside the task (templated or Variable.get in the callable), not at DAG "
            "parse time, and use default_var where a default is safe.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "airflow_connection",
    "ConfigurationError",
    r"conn(?:ection)?_?id [`'\"]?([\w.-]+)[`'\"]? isn't defined|conn_id [`'\"]?([\w.-]+)"
    r"[`'\"]? is not defined|airflownotfoundexception",
    example=(
        "airflow.exceptions.AirflowNotFoundException: The conn_id `snowflake_prod` isn't defined"
    ),
)
def airflow_connection(m: re.Match[str], ctx: Context) -> Finding:
    name = clean_value(next((g for g in m.groups() if g), ""))
    conn = f"connection {quoted(name)}" if name else "the connection the task uses"
    return Finding(
        f"Airflow {conn} is not defined in this environment",
        (
            f"Create {conn} (Admin > Connections, AIRFLOW_CONN_* variable or the secrets backend).",
            "Check the conn_id spelling in the DAG against the environment's connections.",
            "Keep connections in a secrets backend shared by all environments' deployments.",
            "Rerun the failed task once the connection exists.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "keyvault_secret",
    "ConfigurationError AuthenticationError",
    r"secret with \(name/id\) ([\w-]+) was not found|secretname: ([\w-]+)"
    r"|secret does not exist with scope: ([\w-]+)|secretnotfound",
    example=(
        "IllegalArgumentException: Secret does not exist with scope: "
        "kv-etl-scope and key: sql-password"
    ),
)
def keyvault_secret(m: re.Match[str], ctx: Context) -> Finding:
    name = clean_value(next((g for g in m.groups() if g), ""))
    vault = grab(ctx.text, r"vaultbaseurl: https?://([\w.-]+)", r"scope: ([\w-]+)")
    key = grab(ctx.text, r"and key: ([\w-]+)")
    secret = f"secret {quoted(key or name)}" if (key or name) else "the referenced secret"
    where = f" in {vault}" if vault else ""
    return Finding(
        f"{secret} was not found{where}",
        (
            f"Create or restore {secret}{where} (check soft-deleted secrets).",
            "Check the secret name and vault or scope referenced by the linked service or "
            "notebook for typos and environment mix-ups.",
            "Verify the pipeline's identity has get permission on secrets in that vault.",
            "Rerun the failed run after the secret exists.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "widget_missing",
    "ConfigurationError",
    r"no input widget named (\w+)|inputwidgetnotdefined",
    example=(
        "com.databricks.dbutils_v1.InputWidgetNotDefined: No input widget named run_date is defined"
    ),
)
def widget_missing(m: re.Match[str], ctx: Context) -> Finding:
    name = clean_value(m.group(1)) if m.group(1) else ""
    param = f"parameter {quoted(name)}" if name else "a notebook parameter"
    return Finding(
        f"the notebook expects {param} but the run did not pass it",
        (
            f"Pass {param} from the caller (ADF baseParameters, job task parameters or "
            "dbutils.notebook.run arguments).",
            "Define the widget with a default (dbutils.widgets.text) if it is optional.",
            "Check the parameter name for typos and case differences, then rerun.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "linked_service",
    "ConfigurationError",
    r"integration runtime '([\w-]+)' .{0,80}(?:does not exist|not found|could not be found)"
    r"|linked ?service '?([\w-]+)'? .{0,40}(?:not found|does not exist)|linkedservicenotfound"
    r"|could not load resource '([\w-]+)'"
    r"|could not (?:get|find|load|resolve) (?:the )?integration runtime(?: details)? for"
    r" '?([\w-]+)",
    example=(
        "The integration runtime 'IR-OnPrem' referenced by the linked service "
        "'LS_OnPremSql' does not exist."
    ),
)
def linked_service(m: re.Match[str], ctx: Context) -> Finding:
    name = clean_value(next((g for g in m.groups() if g), ""))
    if m.group(1) or m.group(4):
        ir = f"integration runtime {quoted(name)}"
        factory = grab(ctx.text, r"under data factory '([^']+)'")
        where = f"data factory {quoted(factory)}" if factory else "the factory"
        lookup = "ADF could not look up the linked service's " if m.group(4) else ""
        return Finding(
            f"{lookup}{ir}{': it' if lookup else ''} does not exist in {where} (deleted, "
            "renamed, not published, or not shared with this factory)",
            (
                f"Create or publish {ir} in {where}, or fix the name in the linked service's "
                "connectVia reference.",
                "For a shared self-hosted runtime, check that the linked (shared) integration "
                "runtime exists in this factory and its permission grant is in place.",
                "Redeploy the factory's ARM template or release including the runtime, then rerun.",
            ),
            0.7,
            transient=False,
        )
    ls = f"linked service {quoted(name)}" if name else "a referenced linked service"
    return Finding(
        f"{ls} is missing from the factory",
        (
            f"Publish or create {ls} in this factory (it may exist only in the Git branch).",
            "Check the reference name in the dataset or activity for typos and environment "
            "parameters.",
            "Redeploy the factory's ARM template or release including the linked service, then "
            "rerun.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "init_script",
    "ConfigurationError",
    any_of(*signals.INIT_SCRIPT, r"init[_ ]script"),
    example=(
        "Cluster terminated. Reason: Init script failure\nCluster scoped init "
        "script dbfs:/databricks/init-scripts/install_odbc.sh failed: Script "
        "exit status is non-zero"
    ),
)
def init_script(m: re.Match[str], ctx: Context) -> Finding:
    store = grab(ctx.text, r"init scripts? (?:cannot|can't|can not) be loaded from (\w+)")
    if store:
        # Databricks refusing init scripts kept on DBFS (FEATURE_DISABLED "Init scripts cannot
        # be loaded from DBFS"): where the scripts are stored, not what they do.
        return Finding(
            f"the cluster's init scripts are stored on {store}, where this workspace no longer "
            f"lets init scripts be loaded from, so the cluster was refused",
            (
                f"Move the init scripts off {store} to workspace files or a Unity Catalog "
                "volume (or cloud storage the cluster can read).",
                "Point the cluster's or job cluster's init_scripts at the new location.",
                "Rerun; retrying with the same cluster definition fails the same way.",
            ),
            0.75,
            transient=False,
        )
    # A path or script file, not the word after "init script" in a list of possible reasons
    # ("... and init script misconfiguration.").
    script = grab(
        ctx.text,
        r"init script ([^\s,]+) failed",
        r"init script ([^\s,]*/[^\s,]+|[^\s,/]+\.(?:sh|bash|py|ps1)\b)",
    )
    target = f"init script {quoted(script)}" if script else "a cluster init script"
    if not script and not re.search(
        r"init[_ ]script(?:s)? failed|init_script_failure", ctx.text, re.I
    ):
        # "Spark encountered an error on startup": the message blames a Spark setting or an
        # init script without saying which; name what it does say.
        exit_code = grab(ctx.text, r"exit code:? ?(\d+)")
        listed = re.search(
            r"driver unresponsive\. possible reasons: ([^\n]{1,300})", ctx.text, re.I
        )
        reasons = clean_value(listed.group(1), 300) if listed else ""
        if reasons:
            # Databricks' "Spark failed to start: Driver unresponsive. Possible reasons: library
            # conflicts, incorrect metastore configuration, and init script misconfiguration."
            return Finding(
                "the cluster's Spark driver was unresponsive while Spark started (driver "
                f"unresponsive); Databricks names the possible reasons: {reasons}",
                (
                    "Read the driver log of the failed start (cluster event log, then the "
                    "driver's stdout/stderr) for the library, metastore setting or init script "
                    "it stopped on.",
                    "Start the cluster without its libraries and init scripts, then add them "
                    "back one at a time to find the one that hangs the driver.",
                    "Check an external metastore's settings (JDBC URL, version, jars) against "
                    "the runtime, then restart the cluster and rerun.",
                ),
                0.6,
                transient=False,
            )
        cause = "the Spark driver failed on startup"
        cause += f" (driver down, exit code {exit_code})" if exit_code else ""
        return Finding(
            cause + ": an invalid Spark configuration or a failing init script",
            (
                "Read the driver's log of the failed start (cluster event log, then the "
                "driver logs) for the setting or script it names.",
                "Compare the cluster's Spark configuration and init scripts with the last "
                "start that worked, and revert recent changes.",
                "Start the cluster without its init scripts to tell the two apart.",
                "Restart the cluster after the fix, then rerun.",
            ),
            0.6,
            transient=False,
        )
    return Finding(
        f"the cluster could not start because {target} failed",
        (
            f"Read the init script logs for {target} (cluster log delivery location).",
            "Run the script's commands on a test cluster to find the failing one (package "
            "repository, network access, changed paths).",
            "Check that the script file still exists at the configured path and is readable "
            "by the cluster.",
            "Restart the cluster after fixing the script, then rerun.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "missing_env_var",
    "ConfigurationError CodeError",
    r"(?i:os\.environ)\[['\"](\w+)['\"]\]|KeyError: '([A-Z][A-Z0-9_]{2,})'"
    r"|(?i:environment variable) '?([A-Z][A-Z0-9_]{2,})",
    flags=0,
    example="KeyError: 'SNOWFLAKE_PASSWORD'",
)
def missing_env_var(m: re.Match[str], ctx: Context) -> Finding:
    name = clean_value(next((g for g in m.groups() if g), ""))
    return Finding(
        f"environment variable {quoted(name)} is not set where the task runs",
        (
            f"Set {quoted(name)} for the scheduler, workers or cluster (deployment manifest, "
            "cluster environment variables, secret reference).",
            "Read configuration with a clear error or default (os.environ.get) instead of "
            "failing at import.",
            "Check that all environments define the same variables, then rerun.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "missing_storage",
    "ConfigurationError DataError",
    r"filesystem does not exist|container ?not ?found|container does not exist|nosuchbucket"
    r"|bucket does not exist|/mnt'? does not exist|mount point .{0,40}(?:does not exist|not found)",
    example=(
        "Error in SQL statement: SQLException: path to "
        "'/dbfs/mnt/dbacademy-users/subairmasss@gmail.com/data-engineer-learning-"
        "path/ecommerce.db': '/dbfs/mnt' does not exist"
    ),
)
def missing_storage(m: re.Match[str], ctx: Context) -> Finding:
    account = grab(ctx.text, r"https?://([\w-]+\.(?:dfs|blob)\.core\.windows\.net)")
    bucket = grab(
        ctx.text,
        r"bucket '([\w.-]+)'",
        r"bucket (?!does\b|not\b|is\b|was\b)([\w.-]+)",  # a name, not "bucket does not exist"
        r"containername: '?([\w.-]+)",  # ADF: "ContainerName: landing-zone, path: ..."
        r"filesystem: '([\w.-]+)'",  # ADF's ADLS Gen2: "FileSystem: 'curated'"
        r"mount[ ]?point '?([\w/.-]+)",
        r": '(/[\w/.-]+)' does not exist",
    )
    target = account or bucket
    stated = grab(ctx.text, r"(the specified (?:filesystem|container|bucket) does not exist)")
    return Finding(
        "the storage container, filesystem, bucket or mount the pipeline uses does not exist"
        + (f" ({target})" if target else "")
        + (f": {stated[:1].lower()}{stated[1:]}" if stated else ""),
        (
            "Check the container, bucket or filesystem name and the storage account in the "
            "configuration for typos and environment mix-ups.",
            "Create it, or recreate the mount (dbutils.fs.mount) if it was removed.",
            "Prefer direct abfss:// or s3:// paths with Unity Catalog external locations over "
            "mounts.",
            "Rerun the failed run after the fix.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "connection_string",
    "ConfigurationError",
    r"connection string is invalid|invalid connection string|format of the initialization string",
    example=(
        '{"errorCode": "2106", "message": "The storage connection string is '
        'invalid. Settings must be of the form \\"name=value\\".", "failureType": '
        '"UserError"}'
    ),
)
def connection_string(m: re.Match[str], ctx: Context) -> Finding:
    return Finding(
        "the connection string configured in the linked service or connection is malformed",
        (
            "Copy the connection string again from the resource (portal or Key Vault) and "
            "update the linked service or connection.",
            "Check for missing keys, stray quotes or unescaped characters in values.",
            "If the string comes from Key Vault, check that the secret holds the full string.",
            "Test the connection, then rerun.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "invalid_parameter",
    "ConfigurationError",
    any_of(
        *signals.INVALID_PARAMETER,
        r"invalid_parameter_value:? ?([^\n]*)",
        r"required property '([\w.]+)'",
        r"missing required field: ([\w.]+)",
    ),
    example="INVALID_PARAMETER_VALUE: Missing required field: spark_version",
)
def invalid_parameter(m: re.Match[str], ctx: Context) -> Finding:
    detail = clean_value(next((g for g in m.groups() if g), "")) or message_field(ctx.text)
    cause = "the pipeline or job was submitted with an invalid or missing setting"
    cause += f": {detail}" if detail else ""
    return Finding(
        cause,
        (
            "Correct the setting named in the error in the activity, job or cluster definition.",
            "Compare the definition with the last successful run's (recent deployment or "
            "parameter change).",
            "Validate definitions before deployment (ADF validate, databricks bundle validate, "
            "DAG tests).",
            "Rerun after the fix.",
        ),
        0.65,
        transient=False,
    )


@rule(
    "provider_not_registered",
    "ConfigurationError ExternalServiceError ResourceExhaustion AuthenticationError Unknown",
    r"not registered to use (?:the )?namespace '?([\w.]+)|resource provider '?([\w.]+)'? "
    r"(?:is )?not registered|missingsubscriptionregistration|subscriptionnotregistered",
    example=(
        "Cloud Provider Launch Failure: A cloud provider error was encountered while setting "
        "up the cluster. Azure error code: MissingSubscriptionRegistration. Azure error "
        "message: The subscription is not registered to use namespace 'Microsoft.Compute'."
    ),
)
def provider_not_registered(m: re.Match[str], ctx: Context) -> Finding:
    namespace = clean_value(next((g for g in m.groups() if g), "")) or grab(
        ctx.text, r"namespace '?([\w.]+)"
    )
    provider = f"resource provider {namespace}" if namespace else "a resource provider"
    command = f"az provider register --namespace {namespace}" if namespace else ""
    return Finding(
        f"the Azure subscription is not registered for {provider}, which this step needs",
        (
            f"Register {provider} on the subscription (portal: Subscription, Resource "
            f"providers, Register{'; or ' + command if command else ''}).",
            "Registering needs Contributor or Owner on the subscription; ask its owner if the "
            "pipeline's identity does not have it.",
            "Wait until the provider shows Registered, then rerun; retrying before that fails "
            "the same way.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "resource_not_found",
    "ConfigurationError Unknown ExternalServiceError DatabaseError DataError",
    r"the resource '([^']+)' under resource group '([^']+)' was not found"
    r"|resource group '([^']+)' could not be found|\bresourcegroupnotfound\b"
    r"|\bresourcenotfound\b|\bparentresourcenotfound\b",
    example=(
        "ErrorCode=ResourceNotFound, Message=The Resource "
        "'Microsoft.Sql/servers/sqlsrv-finance/databases/dwh' under resource group "
        "'rg-data-prod' was not found."
    ),
)
def resource_not_found(m: re.Match[str], ctx: Context) -> Finding:
    resource = grab(ctx.text, r"the resource '([^']+)'")
    group = grab(ctx.text, r"resource group '([^']+)'")
    what = f"the Azure resource {quoted(resource)}" if resource else "an Azure resource"
    where = f" in resource group {quoted(group)}" if group else ""
    return Finding(
        f"{what}{where} does not exist (deleted, renamed, or in another subscription)",
        (
            f"Check that {what} exists{where} in the subscription the linked service, "
            "parameters or job use.",
            "Correct the resource name, resource group or subscription in that configuration, "
            "or repoint it to the resource that replaced it.",
            "If it was removed on purpose, remove or disable the activity that uses it.",
            "Rerun after the fix; rerunning without it fails the same way.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "notebook_not_found",
    "ConfigurationError Unknown CodeError DataError",
    # A path may hold spaces ("Notebook not found: /Shared/ETL/Load Orders. For more
    # details ..."): up to the sentence's end when it ends in one, else up to a space.
    r"notebook not found(?::? (/[^\n,;'\"]{1,300}?(?=\.\s|\.?$|\.?\n)|/[^\s,;'\"]+))?"
    r"|notebook (?:path )?'?(/[^\s'\"]+)'? "
    r"(?:does not exist|was not found|not found)|unable to access the notebook '?(/[^\s'\"]+)",
    example=(
        "Operation on target Run_Notebook failed: Run result unavailable: job failed with "
        "error message Notebook not found: /Repos/etl/transform/load_orders"
    ),
)
def notebook_not_found(m: re.Match[str], ctx: Context) -> Finding:
    path = clean_value(next((g for g in m.groups() if g), ""))
    notebook = f"the notebook {path}" if path else "the notebook the job or activity runs"
    where = "at the path the job or activity uses" if path else "at its configured path"
    return Finding(
        f"{notebook} does not exist {where} (moved, renamed, or not deployed to this workspace)",
        (
            f"Check that {notebook} exists in this workspace (Workspace or Repos) and fix the "
            "notebook path in the Databricks activity or job task.",
            "If notebooks are deployed (Repos, bundles, CI), check that the last deployment to "
            "this workspace included it.",
            "Check that the identity running the job can read the folder; a notebook it cannot "
            "see is reported the same way.",
            "Rerun once the path is fixed; rerunning without the change fails the same way.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "sandbox_blocked",
    "ConfigurationError AuthenticationError",
    any_of(
        r"(?:method|constructor) (?:public )?(?:static )?[\w.$<>\[\]]+\s+([\w.$]+)\([^)]{0,200}\)\s"
        r"is not (?:whitelisted|allowlisted)",
        *signals.SANDBOX_BLOCKED,
    ),
    example=(
        "py4j.security.Py4JSecurityException: Method public org.apache.spark.rdd.RDD "
        "org.apache.spark.api.java.JavaRDD.rdd() is not whitelisted on class class "
        "org.apache.spark.api.java.JavaRDD"
    ),
)
def sandbox_blocked(m: re.Match[str], ctx: Context) -> Finding:
    method = clean_value(m.group(1)) if m.group(1) else ""
    what = f"the call {quoted(method)}" if method else "a JVM call the code makes"
    return Finding(
        f"the cluster's access mode blocks {what}: shared (high-concurrency, table-ACL or "
        "Unity Catalog standard) clusters only allow allowlisted Py4J/JVM methods",
        (
            "Run the job on a single-user (dedicated) cluster or a job cluster, where the call "
            "is allowed.",
            "Replace the JVM call with its public API (spark.conf.set for Hadoop settings, "
            "DataFrame APIs instead of sparkContext internals).",
            "If the library needs it, ask the workspace admin whether the cluster policy can "
            "use an access mode that permits it.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "missing_option",
    "ConfigurationError DataError",
    any_of(*signals.MISSING_OPTION),
    example=(
        "Could not find required option: schemaLocation. Please provide a schema location "
        "using `cloudFiles.schemaLocation` for storing inferred schema."
    ),
)
def missing_option(m: re.Match[str], ctx: Context) -> Finding:
    option = clean_value(next((g for g in m.groups() if g), ""))
    # The message often spells the full key it wants ("using `cloudFiles.schemaLocation`").
    full = grab(ctx.text, rf"using `?([\w]+\.{re.escape(option)})`?") if option else ""
    name = full or option
    return Finding(
        f"the step was started without the required option {quoted(name)}",
        (
            f"Set {quoted(name)} in the reader, operator or job configuration (the error names "
            "what it is for).",
            "If the value comes from a parameter or variable, check that it resolves in this "
            "environment.",
            "Rerun the step once the option is set.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "missing_artifact",
    "ConfigurationError ExternalServiceError",
    r"no such image: ([\w./:@-]+)|manifest (?:for ([\w./:@-]+) )?unknown"
    r"|could not load (?:file or )?assembly '([\w.-]+)"
    # A registry's answer to a manifest request: "Get https://gcr.io/v2/team/app/manifests/1.2:
    # unknown: Project 'x' not found or deleted."
    r"|([\w.-]+\.[a-z]{2,}(?::\d+)?)/v2/([\w./-]+?)/manifests/([\w.-]+): [^\n]{0,120}?\bnot found",
    example=(
        "Could not load file or assembly 'System.ValueTuple, Version=4.0.2.0, Culture=neutral' "
        "or one of its dependencies. The system cannot find the file specified."
    ),
)
def missing_artifact(m: re.Match[str], ctx: Context) -> Finding:
    image = clean_value(m.group(1) or m.group(2) or "")
    assembly = clean_value(m.group(3) or "")
    if assembly:
        return Finding(
            f"the .NET assembly {quoted(assembly)} (or one of its dependencies) is not "
            "installed where the runtime looks for it",
            (
                f"Install or copy {assembly}.dll into the runtime's folder (for a self-hosted "
                "integration runtime, its Gateway or Shared folder) or the GAC.",
                "Reinstall or upgrade the runtime or driver that needs it if other files are "
                "missing too.",
                "Restart the runtime service and rerun.",
            ),
            0.7,
            transient=False,
        )
    registry_says = ""
    if m.group(4):
        image = f"{m.group(4)}/{m.group(5)}:{m.group(6)}"
        said = grab(ctx.text, r"/manifests/[\w.-]+: (?:unknown: )?([^\n]{1,160}?not found[^\n.]*)")
        registry_says = f": the registry answered {said}" if said else ""
    what = f"the container image {quoted(image)}" if image else "the container image"
    return Finding(
        f"{what} does not exist on the host or in the registry (wrong name or tag, a deleted "
        f"project or repository, or it was never pushed or pulled){registry_says}",
        (
            "Check the image name and tag in the operator or pod spec against the registry.",
            "Pull the image on the host (or set force_pull / imagePullPolicy) and make sure the "
            "registry credentials are configured.",
            "Rerun the task once the image resolves.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "endpoint_not_found",
    "ConfigurationError ExternalServiceError",
    any_of(*signals.ENDPOINT_NOT_FOUND),
    example=(
        "Call to provided Azure function 'UpdateStatus' failed with status-'NotFound' and "
        "message - 'Invoking Azure function failed with HttpStatusCode - NotFound.'."
    ),
)
def endpoint_not_found(m: re.Match[str], ctx: Context) -> Finding:
    named = re.search(r"azure function '([^'\n]{0,200})'", ctx.text, re.IGNORECASE)
    if named and not named.group(1).strip():
        what = (
            "the Azure Function activity's function name is empty, so the call went to a route "
            "the function app does not serve"
        )
    elif named:
        what = f"the function app has no function or route {quoted(clean_value(named.group(1)))}"
    elif re.search(r"web activity", ctx.text, re.IGNORECASE):
        what = "the URL the Web activity calls names a path or resource the server does not have"
    else:
        what = "the function or route the activity calls does not exist at its endpoint"
    return Finding(
        f"the endpoint answered 404 Not Found: {what} (a wrong name, route or path, or "
        "something that is not deployed)",
        (
            "Compare the activity's function name or URL (with any route, e.g. api/<route>) "
            "with what the app or API serves (the portal's function list, the API's reference).",
            "Check route prefixes (host.json's routePrefix), resource ids and API versions, and "
            "that the deployment published the function or endpoint.",
            "Rerun the activity once the name resolves.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "hostname_mismatch",
    "ConfigurationError NetworkError",
    any_of(*signals.HOSTNAME_MISMATCH),
    example="airflow.exceptions.AirflowException: Hostname of job runner does not match",
)
def hostname_mismatch(m: re.Match[str], ctx: Context) -> Finding:
    names = re.search(
        r"recorded hostname (\S+) does not match this instance's hostname (\S+)", ctx.text, re.I
    )
    which = ""
    if names:
        recorded, current = clean_value(names.group(1)), clean_value(names.group(2))
        which = f" ({quoted(current)}, recorded {quoted(recorded)})"
    return Finding(
        f"the worker running the task reports a different hostname{which} than the one "
        "recorded for the task, so Airflow stops it as if it ran elsewhere",
        (
            "Make core.hostname_callable return one stable name per worker (the pod name or "
            "IP) and use the same setting on every component.",
            "Check for DNS or reverse-lookup changes on the workers (dynamic DNS, container "
            "restarts) around the failure.",
            "Clear the task to rerun it once the hostnames are stable.",
        ),
        0.6,
        transient=False,
    )


@rule(
    "mismatched_setup",
    "ConfigurationError",
    r"has no parameter named|found an approximate match|cannot read and write in different "
    r"locations|was not found in location [\w-]{2,30}|operation_requires_unity_catalog"
    r"|requires unity catalog(?: to be)? enabled|consecutive wildcard characters"
    r"|wildcard characters? (?:is|are) not (?:allowed|supported)",
    example=('Message=The procedure "usp_upsert_orders" has no parameter named "@OrdersType".'),
)
def mismatched_setup(m: re.Match[str], ctx: Context) -> Finding:
    """What the job's setup names that the target does not match: a procedure parameter, a
    relation's spelling, the datasets' regions, Unity Catalog on the compute, a path pattern."""
    text = ctx.text
    phrase = m.group(0).lower()
    if "parameter" in phrase:
        param = clean_value(grab(text, r"has no parameter named \\?\"?'?(@?[\w.]+)"))
        proc = clean_value(grab(text, r"(?:procedure|function) \\?\"?'?([\w.\[\]]+)"))
        cause = (
            f"the stored procedure {quoted(proc) if proc else ''} has no parameter named "
            f"{quoted(param) if param else 'as configured'}: the activity passes a parameter "
            "(table type or argument name) the procedure does not declare"
        ).replace("procedure  has", "procedure has")
        fix = "Match the parameter name in the activity's settings to the procedure's signature."
    elif "approximate match" in phrase:
        searched = clean_value(grab(text, r"searched for: ([^\s]+)"))
        found = clean_value(grab(text, r"found: ([^\s]+)"))
        cause = (
            "dbt found a relation whose name differs only in case or quoting"
            + (f": it searched for {quoted(searched)}" if searched else "")
            + (f" and found {quoted(found)}" if found else "")
        )
        fix = "Drop or rename the stale relation, or align the quoting/casing settings."
    elif "location" in phrase:
        src = clean_value(grab(text, r"source: ([\w-]+)"))
        dst = clean_value(grab(text, r"destination: ([\w-]+)"))
        where = clean_value(grab(text, r"was not found in location ([\w-]+)"))
        if src or dst:
            cause = (
                "the job reads and writes BigQuery data in different locations "
                f"(source {src or 'unknown'}, destination {dst or 'unknown'})"
            )
        else:
            cause = f"the dataset was not found in location {where or 'the job ran in'}"
        fix = "Run the job in the datasets' location and keep source, destination and staging "
        fix += "buckets in the same region."
    elif "unity" in phrase:
        cause = (
            "the operation requires Unity Catalog, but the compute running it is not "
            "Unity Catalog enabled"
        )
        fix = "Run it on a cluster with a Unity Catalog access mode (single user or shared)."
    else:
        path = clean_value(grab(text, r"in path '([^']+)'"))
        cause = "the path pattern has wildcard characters the engine rejects" + (
            f" ({quoted(path)})" if path else ""
        )
        fix = "Write the pattern with a single wildcard per path segment (e.g. folder/**)."
    return Finding(
        cause,
        (
            fix,
            "Compare the pipeline's configuration with the target it names in the error.",
            "Rerun the step after the change.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "log_server_secret_mismatch",
    "ConfigurationError",
    any_of(*signals.LOG_SERVER_SECRET_MISMATCH),
    example=(
        "*** !!!! Please make sure that all your Airflow components (e.g. schedulers, webservers "
        "and workers) have the same 'secret_key' configured in 'webserver' section !!!!!\n"
        "****** Failed to fetch log file from worker. 403 Client Error: FORBIDDEN for url: "
        "http://worker-0:8793/log/etl/load/2024-03-06T00:00:00+00:00/1.log"
    ),
)
def log_server_secret_mismatch(m: re.Match[str], ctx: Context) -> Finding:
    """The webserver's signed request for a task log refused by the worker's log server (403):
    the components do not share [webserver] secret_key, or their clocks differ."""
    return Finding(
        "the worker's log server refused the webserver's request for the task log (403 "
        "Forbidden): the Airflow components do not share the same [webserver] secret_key (or "
        "their clocks differ), so the worker does not accept the webserver's signed request",
        (
            "Give the webserver, the scheduler and every worker the same [webserver] secret_key "
            "(AIRFLOW__WEBSERVER__SECRET_KEY, from one secret) and restart them.",
            "Keep the machines' clocks synchronised (NTP): the signed request carries a time.",
            "Open the task's log again; the task itself ran, only its log could not be fetched.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "celery_broker_transport",
    "ConfigurationError",
    r"\bno such transport: ?'?([\w+.-]{0,40})",
    example="KeyError: 'No such transport: '",
)
def celery_broker_transport(m: re.Match[str], ctx: Context) -> Finding:
    """Kombu cannot tell which broker to use from the Celery broker URL: empty, or a scheme it
    has no transport for."""
    scheme = m.group(1).strip("'")
    named = f"scheme {quoted(scheme)}" if scheme else "an empty scheme"
    return Finding(
        f"the Celery broker URL names no transport Kombu knows ({named}), so the worker or "
        "executor cannot connect to its message broker: the broker_url setting is empty or "
        "misspelt",
        (
            "Set [celery] broker_url (AIRFLOW__CELERY__BROKER_URL) to a full URL such as "
            "redis://host:6379/0 or amqp://user@host:5672//, on every scheduler and worker.",
            "Install the client library for that scheme (redis, amqp) in the same environment.",
            "Restart the workers and the scheduler so they read the setting again.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "session_context",
    "ConfigurationError",
    any_of(*signals.SESSION_CONTEXT),
    example=(
        "000606 (57P03): No active warehouse selected in the current session.  Select an "
        "active warehouse with the 'use warehouse' command."
    ),
)
def session_context(m: re.Match[str], ctx: Context) -> Finding:
    """A Snowflake session with nothing to run in: no warehouse, a suspended one, or no
    current database or schema for unqualified names."""
    phrase = m.group(0).lower()
    warehouse = clean_value(m.group(1) or "") if "suspended" in phrase else ""
    if warehouse:
        cause = (
            f"warehouse {quoted(warehouse)} is suspended and does not resume on its own, so "
            "the session has no compute to run the statement"
        )
        fix = f"Resume warehouse {quoted(warehouse)} or turn on AUTO_RESUME for it."
    elif "current" in phrase:
        missing = grab(
            ctx.text,
            r"does not have a current (database|schema|warehouse)",
            r"\bthe (database|schema|warehouse) is not set for the current session",
        ).lower()
        cause = (
            f"the session has no current {missing or 'schema'}, so unqualified object names "
            "cannot be resolved"
        )
        fix = (
            f"Set the {missing or 'schema'} in the connection (profile, connection extra) or "
            "fully qualify the names in the statement."
        )
    else:
        cause = "the session has no active warehouse, so Snowflake cannot run the statement"
        fix = "Set a default warehouse for the user or in the connection, or USE WAREHOUSE."
    return Finding(
        cause,
        (
            fix,
            "Check that the role the pipeline uses has USAGE on the warehouse, database and "
            "schema it names.",
            "Rerun the step after the change.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "wrong_endpoint",
    "ConfigurationError",
    any_of(*signals.WRONG_ENDPOINT),
    example=(
        "botocore.exceptions.ClientError: An error occurred (PermanentRedirect) when calling "
        "the ListObjects operation: The bucket you are attempting to access must be addressed "
        "using the specified endpoint. Please send all future requests to this endpoint."
    ),
)
def wrong_endpoint(m: re.Match[str], ctx: Context) -> Finding:
    endpoint = grab(
        ctx.text,
        r"send all future requests to this endpoint: ?([\w{}.-]+\w)",
        r"<endpoint>([^<\s]+)</endpoint>",
    )
    bucket = grab(ctx.text, r"<bucket>([^<\s]+)</bucket>", r"bucket[= ]'([\w.-]+)'")
    which = f"bucket {quoted(bucket)}" if bucket else "the bucket"
    cause = f"{which} is in another region than the endpoint the client called"
    cause += f"; S3 asks for requests to {endpoint}" if endpoint else ""
    return Finding(
        cause,
        (
            "Set the client's region (or endpoint, e.g. fs.s3a.endpoint) to the bucket's region.",
            "Check the connection's region setting against the bucket's actual region.",
            "Rerun after the change.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "clock_skew",
    "ConfigurationError AuthenticationError",
    any_of(*signals.CLOCK_SKEW),
    example=(
        "botocore.exceptions.ClientError: An error occurred (RequestTimeTooSkewed) when "
        "calling the PutObject operation: The difference between the request time and the "
        "current time is too large."
    ),
)
def clock_skew(m: re.Match[str], ctx: Context) -> Finding:
    code = "Kerberos clock skew" if "skew too great" in m.group(0).lower() else ""
    code = code or "RequestTimeTooSkewed"
    return Finding(
        f"the clock of the host making the request is too far from the service's ({code}): "
        "the request time in its signature or ticket is refused",
        (
            "Synchronise the host's clock (NTP / chrony) on the worker or agent that ran the step.",
            "Check containers and VMs that were paused or restored from a snapshot: their "
            "clocks drift.",
            "Rerun once the clock is in sync.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "unknown_topic",
    "ConfigurationError ExternalServiceError",
    any_of(*signals.UNKNOWN_TOPIC),
    example=(
        "org.apache.kafka.common.errors.UnknownTopicOrPartitionException: This server does "
        "not host this topic-partition."
    ),
)
def unknown_topic(m: re.Match[str], ctx: Context) -> Finding:
    named = next((group for group in m.groups() if group), "")
    name = clean_value(named) or grab(ctx.text, r"topic '([\w.-]+)'")
    which = f"Kafka topic {quoted(name)}" if name else "the Kafka topic or partition"
    return Finding(
        f"{which} the client asked for does not exist on the brokers it connects to "
        "(UnknownTopicOrPartition: never created, deleted, or a name typo)",
        (
            "Create the topic (or enable auto-creation) on the cluster the job connects to, "
            "or correct the topic name in the job's configuration.",
            "Check that the bootstrap servers point at the intended cluster and environment.",
            "If partitions were just reassigned, rerun once the brokers' metadata has settled.",
        ),
        0.65,
        transient=False,
    )


# The words before the subject are bounded in length: an unbounded `[\w-]+` is retried from
# every hyphen of a long "a-a-a-…" run, quadratic on untrusted text.
@rule(
    "unsupported_choice",
    "ConfigurationError",
    r"\b((?:[\w-]{1,60} ){0,3}(?:activity|connector|sink|source|operator|dataset|linked service"
    r"|format|mode))\b[^.\n]{0,40}?\bonly supports? ([^.\n]{1,120})",
    example=(
        "Stored Procedure activity only supports Azure SQL Database and Azure SQL Data "
        "Warehouse datasets. Please change your dataset 'FinalTempDataSet-Blob'."
    ),
)
def unsupported_choice(m: re.Match[str], ctx: Context) -> Finding:
    subject, supported = clean_value(m.group(1)), clean_value(m.group(2))
    # The object the step used instead, when the message names it ("change your dataset 'x'").
    used = grab(
        ctx.text,
        r"(?:change|replace|use another|instead of) (?:your |the )?(?:dataset|linked service"
        r"|format|sink|source|mode|connector) ['\"]([^'\"\n]{1,80})['\"]",
    )
    cause = f"the {subject} only supports {supported}"
    if used:
        cause += f", but the step uses {quoted(used)}"
    return Finding(
        cause,
        (
            f"Point the {subject} at a supported kind ({supported}) or use an activity or "
            "connector that supports what the step needs.",
            "Check the activity's documented capabilities before reusing a dataset across "
            "activities.",
            "Publish the change and rerun.",
        ),
        0.7,
        transient=False,
    )


# IIS's own answer to a URL it cannot parse ("Bad Request - Invalid URL ... HTTP Error 400. The
# request URL is invalid."): the site, list or path the connector builds from its settings.
@rule(
    "invalid_url",
    "ConfigurationError",
    r"bad request - invalid url|the request url is invalid",
    example=(
        "Failure happened on 'Sink' side. ErrorCode=UserErrorFailedFileOperation,"
        "Message=The request to 'Unknown' failed and the status code is 'BadRequest'. "
        "Bad Request - Invalid URL. HTTP Error 400. The request URL is invalid."
    ),
)
def invalid_url(m: re.Match[str], ctx: Context) -> Finding:
    return Finding(
        "the server rejected the request URL as invalid (HTTP 400 Bad Request - Invalid URL): "
        "the site, list, folder or file path the connector builds from its settings is malformed",
        (
            "Check the base URL, site, list or path in the linked service and dataset: extra "
            "or missing slashes, spaces or characters that must be encoded, a parameter that "
            "resolved to an empty or wrong value.",
            "Build the URL by hand from the same values and try it against the service.",
            "Publish the fix and rerun; rerunning without it fails the same way.",
        ),
        0.65,
        transient=False,
    )


@rule(
    "endpoint_validation",
    "ConfigurationError NetworkError",
    any_of(
        r"webhook validation handshake failed for (https?://[^\s,;'\"]{1,300})",
        r"attempt to validate the provided endpoint (https?://[^\s,;'\"]{1,300})",
        *signals.ENDPOINT_VALIDATION,
    ),
    example=(
        "The attempt to validate the provided endpoint "
        "https://func-ingest.azurewebsites.net/runtime/webhooks/EventGrid failed. For more "
        "details, visit https://aka.ms/esvalidation."
    ),
)
def endpoint_validation(m: re.Match[str], ctx: Context) -> Finding:
    endpoint = clean_value(m.group(1) or m.group(2) or "").rstrip(".")
    target = f"the webhook endpoint {endpoint}" if endpoint else "the webhook endpoint"
    return Finding(
        f"Event Grid could not create the subscription: {target} did not answer the "
        "subscription validation handshake (it was unreachable, not deployed yet, or did not "
        "echo the validation code)",
        (
            f"Check that {target} is deployed, running and reachable from Azure, with the "
            "function key or path the subscription uses.",
            "Make the endpoint answer the SubscriptionValidationEvent (return its validationCode "
            "or open its validationUrl); Azure Functions' Event Grid trigger and Logic Apps do "
            "this themselves when their webhook URL is used.",
            "Create the subscription again once the endpoint answers.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "resource_name_taken",
    "ConfigurationError",
    r"\b(sql warehouse|warehouse|endpoint|cluster|instance pool|pool|job|secret scope|scope|repo"
    r"|workspace|catalog|volume|linked service|dataset|pipeline|trigger|data ?flow"
    r"|integration runtime|storage account|container|bucket)s? (?:with (?:the )?name|named|name)"
    r" ?[`'\"]?([^`'\"\n]{1,120}?)[`'\"]? already exists",
    example=(
        "Error: cannot create sql endpoint: failed creating warehouse: SQL warehouse with name "
        "`analytics-default-sql` already exists"
    ),
)
def resource_name_taken(m: re.Match[str], ctx: Context) -> Finding:
    kind, name = m.group(1).lower(), clean_value(m.group(2))
    return Finding(
        f"a {kind} named {quoted(name)} already exists, so creating another one under that name "
        "was refused (left over from an earlier or half-finished run, or created outside this "
        "deployment)",
        (
            f"Look up the existing {kind} {quoted(name)}: if it is the one this deployment "
            "manages, import or adopt it (e.g. terraform import) instead of creating it again.",
            f"If it is a leftover, delete it; if it belongs to someone else, give this {kind} "
            "another name.",
            "Rerun the deployment or pipeline once the name is free or adopted.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "delta_table_missing",
    "ConfigurationError DataError",
    r"not a delta table: no snapshot|no snapshot or version \d+ found|\bmissingversionerror\b"
    r"|no table version found|invalid table version: ?(\d+)",
    example=(
        "PyDeltaTableError: Not a Delta table: No snapshot or version 0 found, perhaps "
        "/data/lake/orders is an empty dir?"
    ),
)
def delta_table_missing(m: re.Match[str], ctx: Context) -> Finding:
    path = grab(
        ctx.text,
        r"perhaps (\S+) is an empty dir",
        r"(?:read from|open) delta table:? '([^'\n]+)'",
        r"delta table at '([^'\n]+)'",
    )
    version = m.group(1) or grab(ctx.text, r"no snapshot or version (\d+) found")
    where = f"at {quoted(path)}" if path else "at the path or name it was given"
    asked = f" (version {version} was asked for)" if version else ""
    return Finding(
        f"no Delta table was found {where}{asked}: the directory has no _delta_log commits, "
        "so the path is wrong (container, prefix, mount) or the table was never written there",
        (
            "List the path and check that it holds a _delta_log directory with commit files.",
            "Check the path parameters the run resolved (storage account, container, prefix, "
            "date) against where the writer creates the table.",
            "If the table is created by an earlier step, check that step ran; ask for an "
            "existing version when reading with time travel, then rerun.",
        ),
        0.65,
        transient=False,
    )


@rule(
    "mlflow_resource_missing",
    "ConfigurationError DataError",
    r"\b(run|experiment|registered model|model version) with (?:id|name) ?= ?([\w.-]{1,80}) "
    r"(?:not found|does not exist)",
    example=(
        "mlflow.exceptions.RestException: RESOURCE_DOES_NOT_EXIST: Registered Model with "
        "name=churn-model not found"
    ),
)
def mlflow_resource_missing(m: re.Match[str], ctx: Context) -> Finding:
    kind, name = m.group(1).lower(), clean_value(m.group(2))
    return Finding(
        f"the MLflow {kind} {quoted(name)} the code refers to does not exist on the tracking "
        "server it talks to (deleted, never created, or another tracking or registry URI)",
        (
            f"Check that the {kind} {quoted(name)} exists in the tracking server or workspace "
            "the job uses (MLFLOW_TRACKING_URI, registry URI, Databricks workspace).",
            "If it comes from an earlier task, check that that task logged or registered it "
            "and passed on the right id or name.",
            "Rerun once the name or URI is fixed; rerunning without the change fails the same way.",
        ),
        0.65,
        transient=False,
    )


@rule(
    "oracle_client_missing",
    "ConfigurationError DatabaseError",
    any_of(*signals.ORACLE_CLIENT_MISSING),
    example=(
        "cx_Oracle.DatabaseError: DPI-1047: Cannot locate a 64-bit Oracle Client library: "
        '"libclntsh.so: cannot open shared object file: No such file or directory".'
    ),
)
def oracle_client_missing(m: re.Match[str], ctx: Context) -> Finding:
    lowered = ctx.text.lower()
    # The loader's own reason, quoted after the library name: a missing file, a library of
    # another architecture, a C library older than the client needs.
    glibc = grab(ctx.text, r"version `?(GLIBC_[\d.]+)'? not found")
    if glibc:
        why = f"needs {glibc}, newer than the C library of the host"
    elif "not the correct architecture" in lowered or "wrong elf class" in lowered:
        why = "is not the correct architecture for the Python process (32-bit against 64-bit)"
    elif re.search(r"cannot open shared object file|no such file|could not be found", lowered):
        why = "is not installed or not on the library path"
    else:
        why = "could not be loaded"
    return Finding(
        f"the Oracle Client library the driver loads (thick mode) {why}",
        (
            "Install Oracle Instant Client of the same architecture as Python on the worker or "
            "cluster (an init script on Databricks), and put it on LD_LIBRARY_PATH or pass its "
            "directory to init_oracle_client(lib_dir=...).",
            "If the host's C library is too old for this client, use an older Instant Client "
            "release or a newer base image.",
            "With python-oracledb, thin mode needs no Oracle Client at all: drop the "
            "init_oracle_client() call unless a thick-mode feature is required.",
            "Rerun the failed run once the client loads.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "tns_unresolved",
    "ConfigurationError DatabaseError",
    any_of(*signals.TNS_UNRESOLVED),
    example="ORA-12154: TNS:could not resolve the connect identifier specified",
)
def tns_unresolved(m: re.Match[str], ctx: Context) -> Finding:
    return Finding(
        "the Oracle client could not resolve the connect identifier (ORA-12154): the TNS "
        "alias is not in the tnsnames.ora it reads, or the connect string is malformed",
        (
            "Use an Easy Connect string (host:port/service_name) or a full connect descriptor "
            "instead of a TNS alias, or ship tnsnames.ora to the worker and set TNS_ADMIN.",
            "Check the connect string's separators (host:port/service, not host:port@service) "
            "and that the alias is spelled as in tnsnames.ora.",
            "Rerun the failed run after the fix.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "ftp_path_refused",
    "ConfigurationError DataError AuthenticationError",
    any_of(*signals.FTP_PATH_REFUSED),
    example="ftplib.error_perm: 550 Failed to change directory.",
)
def ftp_path_refused(m: re.Match[str], ctx: Context) -> Finding:
    reply = grab(ctx.text, r"(?:^|\n|error_perm:? )550 ([^\n]{1,200})")
    said = f" ({quoted(reply)})" if reply else ""
    return Finding(
        f"the FTP server refused the path the step asked for with reply 550{said}: the "
        "directory or file does not exist there, or the login has no access to it",
        (
            "List the directory with the same login (an FTP client or the connection's test) "
            "and compare it with the path in the step; servers differ in case and in where a "
            "login's root starts.",
            "If the path exists, give the login read (or write, for uploads) access to it.",
            "Rerun the failed run once the path is reachable with that login.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "ssh_host_key",
    "ConfigurationError AuthenticationError",
    any_of(*signals.SSH_HOST_KEY),
    example=(
        "paramiko.ssh_exception.SSHException: Server 'sftp.partner.com' not found in known_hosts"
    ),
)
def ssh_host_key(m: re.Match[str], ctx: Context) -> Finding:
    host = grab(
        ctx.text,
        r"server '\[?([^'\]\s]+)\]?(?::\d+)?' not found in known_hosts",
        r"host key for server '\[?([^'\]\s]+)\]?(?::\d+)?' does not match",
    )
    which = f" ({quoted(host)})" if host else ""
    if re.search(r"finger-?print validation failed|does not match|badhostkey", m.group(0), re.I):
        # A key the connection pins that the server no longer presents: a rotated key, or
        # another server answering at that address.
        return Finding(
            f"the SSH server{which} presented a host key other than the one the connection "
            "pins (its fingerprint does not match the expected one), so the SFTP/SSH "
            "connection was refused before logging in",
            (
                "Ask the server's owner whether its host key was rotated, and get the new "
                "key's fingerprint from them (or ssh-keygen -lf on the server), not from the "
                "error alone.",
                "Update the fingerprint or host key in the connection (ADF SFTP linked service "
                "hostKeyFingerprint, Airflow SSH/SFTP extra host_key); newer key types need "
                "their own fingerprint.",
                "If the key did not change, check that the hostname reaches the intended "
                "server (DNS, a load balancer in front of several servers).",
                "Rerun the failed run after the fingerprint is updated.",
            ),
            0.7,
            transient=False,
        )
    return Finding(
        f"the SSH server's host key{which} is not among the keys the client trusts "
        "(known_hosts), so the SFTP/SSH connection was refused before logging in",
        (
            "Add the server's public host key to the connection (Airflow SSH/SFTP connection "
            "extra host_key) or to the worker's known_hosts; a host on a non-default port is "
            "listed as [host]:port.",
            "If the server's key changed, confirm the change with its owner before trusting "
            "the new key.",
            "Rerun the failed run after the key is in place.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "executable_missing",
    "ConfigurationError",
    r"\b([\w.+-]{1,60}): command not found"
    r"|\"?([\w./+-]{1,120})\"?: executable file not found in \$?path"
    r"|'?([\w./+-]{1,120})'? is not recognized as an internal or external command"
    r"|/bin/(?:ba|da|z)?sh: (?:line )?\d{1,6}: ([\w.+-]{1,60}): not found"
    # Python's FileNotFoundError for a program started by its bare name names it twice.
    r"|no such file or directory: '([\w.-]{1,60})': '[\w.-]{1,60}'"
    r"|\bchild_exception_type\b",
    example="/bin/sh: 1: spark-submit: not found",
)
def executable_missing(m: re.Match[str], ctx: Context) -> Finding:
    name = clean_value(next((g for g in m.groups() if g), "")) or grab(
        ctx.text, r"no such file or directory: '([^'\n]{1,120})'"
    )
    program = f"the program {quoted(name)}" if name else "the program the step launches"
    return Finding(
        f"{program} is not installed on the worker or not on its PATH, so the step could not "
        "start it",
        (
            f"Install {program} in the worker's image or environment (for Airflow, in the image "
            "the workers and task pods run), or call it by its full path.",
            "Check the PATH the task runs with (a virtualenv, a different user, a Kubernetes "
            "pod image) against where the program is installed.",
            "Rerun once the program is available; retrying on the same worker fails the same way.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "integration_runtime_placement",
    "ConfigurationError",
    any_of(*signals.INTEGRATION_RUNTIME_PLACEMENT),
    example=(
        "Source and sink in the copy activity must be connected via the same self-hosted "
        "integration runtime."
    ),
)
def integration_runtime_placement(m: re.Match[str], ctx: Context) -> Finding:
    if "same" in m.group(0).lower():
        cause = (
            "the copy's source and sink linked services run on different self-hosted "
            "integration runtimes (or one on the Azure IR), but a copy between two private "
            "stores must run on one self-hosted IR that reaches both"
        )
        first = (
            "Point both linked services' connectVia at the same self-hosted integration "
            "runtime, installed where it reaches both stores."
        )
    else:
        cause = (
            "a linked service the data flow uses runs on a self-hosted integration runtime, "
            "which mapping data flows cannot use"
        )
        first = (
            "Give the data flow's linked services an Azure integration runtime (with a managed "
            "virtual network and private endpoints for private stores), or stage the data with "
            "a copy activity first."
        )
    return Finding(
        cause,
        (
            first,
            "Test both linked services' connections from the runtime they will use.",
            "Republish and rerun; the same runtime assignment fails the same way.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "key_setting_missing",
    "ConfigurationError",
    any_of(*signals.KEY_SETTING_MISSING),
    example="Self-hosted integration runtime Authentication Key is missing",
)
def key_setting_missing(m: re.Match[str], ctx: Context) -> Finding:
    key = (m.group(2) or m.group(3)).lower()
    if m.group(1):
        return Finding(
            f"the self-hosted integration runtime node has no {key}: it was installed or "
            "updated without being registered to its data factory",
            (
                "Copy the key from the integration runtime's page in the data factory (Manage, "
                "Integration runtimes) and register the node with it (the Configuration "
                "Manager or dmgcmd -RegisterNewNode).",
                "If the node runs an old version, update the integration runtime first; old "
                "installers may not keep the key.",
                "Check that the node shows Running in the factory, then rerun.",
            ),
            0.7,
            transient=False,
        )
    return Finding(
        f"the {key} the component is set up with was never given to it (the setting is empty or "
        "absent, not rejected by the service)",
        (
            f"Set the {key} where the component reads it (its configuration, the linked "
            "service or connection, or a secret it resolves).",
            "Check that the secret or variable behind it resolves in this environment.",
            "Rerun once it is set.",
        ),
        0.65,
        transient=False,
    )


@rule(
    "purged_resource",
    "ConfigurationError",
    any_of(*signals.PURGED_RESOURCE),
    example=(
        "Error: cannot read cluster: Cannot access cluster 0315-101010-abcd123 that was "
        "terminated or unpinned more than 30 days ago."
    ),
)
def purged_resource(m: re.Match[str], ctx: Context) -> Finding:
    kind, name, days = m.group(1).lower(), clean_value(m.group(2)), m.group(3)
    target = f"{kind} {quoted(name)}" if name else f"the {kind}"
    return Finding(
        f"{target} was terminated or unpinned more than {days} days ago, so the workspace has "
        "purged it: the id in the configuration is stale and the resource will not come back",
        (
            f"Create a new {kind} (or let the job create a job cluster) and update the id the "
            "pipeline, job, linked service or Terraform state points at.",
            f"For Terraform, remove the purged {kind} from the state (terraform state rm) so "
            "the next apply creates it again.",
            f"Pin long-lived {kind}s that others refer to, so they are not purged.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "qualified_name_invalid",
    "ConfigurationError DatabaseError",
    any_of(*signals.QUALIFIED_NAME_INVALID),
    example=(
        "Database Error in model customers (models/customers.sql)\n  improper relation name "
        "(too many dotted names): public.analytics.public.customers__dbt_backup"
    ),
)
def qualified_name_invalid(m: re.Match[str], ctx: Context) -> Finding:
    name = clean_value(m.group(1) or m.group(2) or "")
    model = grab(ctx.text, r"error in model (\w+)")
    shown = f"the relation name {quoted(name)}" if name else "a relation name"
    where = f" (dbt model {quoted(model)})" if model else ""
    return Finding(
        f"{shown}{where} has more dotted parts than the database accepts (database.schema.table "
        "at most, and no other database): the profile or source repeats the database or schema",
        (
            "Check the dbt profile's database and schema and any custom schema or alias "
            "macros (generate_schema_name) for a value that already contains a dot.",
            "Keep references within the connected database (PostgreSQL cannot reference "
            "another database), and compile the model to see the name it builds.",
            "Rerun once the compiled name has the right parts.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "stream_query_concurrent",
    "ConfigurationError DatabaseError",
    any_of(*signals.STREAM_QUERY_CONCURRENT),
    example=(
        "Caused by: AssertionError: assertion failed: Concurrent update to the commit log. "
        "Multiple streaming jobs detected for 0"
    ),
)
def stream_query_concurrent(m: re.Match[str], ctx: Context) -> Finding:
    query = grab(
        ctx.text,
        r"\bquery ([\w.-]{1,120}) \[id ?=",
        r"execution of the stream ([\w.-]{1,120}) failed",
        r"cannot start query with (?:id|name) ([\w.-]{1,120})",
    )
    checkpoint = grab(ctx.text, r"concurrently using ([^\s,;'\"]{1,300})")
    what = f"the streaming query {quoted(query)}" if query else "a streaming query"
    where = f" (checkpoint {checkpoint})" if checkpoint else ""
    return Finding(
        f"two runs of {what} were writing the same checkpoint{where} at once, so Spark "
        "refused the second one's commit: a schedule, retry or restart that overlaps a run "
        "still going, or two jobs given one checkpoint location",
        (
            f"Make sure only one run of {what} is active: stop the old run before a restart, "
            "and give the job max_concurrent_runs 1 (or an Airflow task max_active_tis_per_dag "
            "of 1).",
            "Give every distinct stream its own checkpointLocation; two jobs (or workspaces) "
            "must not share one.",
            "Rerun once the other run has stopped; the checkpoint itself needs no repair.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "oracle_encryption_mismatch",
    "ConfigurationError NetworkError DatabaseError",
    any_of(*signals.ORACLE_ENCRYPTION_MISMATCH),
    example=(
        "ERROR [HY000] [Microsoft][ODBC Oracle Wire Protocol driver][Oracle]ORA-12650: No "
        "common encryption or data integrity algorithm"
    ),
)
def oracle_encryption_mismatch(m: re.Match[str], ctx: Context) -> Finding:
    code = grab(ctx.text, r"\b(ora-(?:12650|12660|12599))\b").upper()
    which = f" ({code})" if code else ""
    return Finding(
        f"the Oracle client and server could not agree on native network encryption or "
        f"integrity checking{which}: one side requires an algorithm the other does not offer "
        "(SQLNET.ENCRYPTION_* / CRYPTO_CHECKSUM_* settings), not a wrong password or an "
        "unreachable host",
        (
            "Compare the server's sqlnet.ora (SQLNET.ENCRYPTION_SERVER, "
            "SQLNET.ENCRYPTION_TYPES_SERVER, SQLNET.CRYPTO_CHECKSUM_TYPES_SERVER) with what "
            "the client or driver offers.",
            "Set the client's encryption and checksum types (ODBC/JDBC driver properties, the "
            "ADF Oracle linked service's encryption settings) to ones the server accepts, or "
            "upgrade a driver too old for the server's algorithms.",
            "Rerun once both sides share an algorithm; retries fail the same way.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "dataverse_feature_disabled",
    "ConfigurationError AuthenticationError",
    any_of(*signals.DATAVERSE_FEATURE_DISABLED),
    example="FCB 'EnableRegionalDisco' is disabled",
)
def dataverse_feature_disabled(m: re.Match[str], ctx: Context) -> Finding:
    feature = grab(ctx.text, r"\bfcb '(\w{2,80})' is disabled")
    regional = "regionaldisco" in feature.lower() or "regional discovery" in ctx.text.lower()
    named = f"the feature {quoted(feature)}" if feature else "a feature"
    detail = (
        ": the regional discovery service that an Office 365 (user name and password) "
        "login goes through is retired for the organisation"
        if regional
        else ""
    )
    return Finding(
        f"Dynamics 365 / Dataverse refused the connector's call because {named} is switched "
        f"off for the organisation{detail}; the linked service's authentication or endpoint "
        "needs changing, not the data",
        (
            "Switch the Dynamics/Dataverse linked service to service principal (or managed "
            "identity) authentication with the organisation's own URL.",
            "If Office 365 authentication must stay, ask Microsoft support about the feature "
            "and its retirement date for the tenant.",
            "Test the linked service, then rerun the failed run.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "spark_memory_setting",
    "ConfigurationError ResourceExhaustion CodeError",
    any_of(*signals.SPARK_MEMORY_SETTING),
    example=(
        "org.apache.spark.SparkIllegalArgumentException: [INVALID_DRIVER_MEMORY] System memory "
        "202768384 must be at least 471859200. Please increase heap size using the "
        '--driver-memory option or "spark.driver.memory" in Spark configuration.'
    ),
)
def spark_memory_setting(m: re.Match[str], ctx: Context) -> Finding:
    executor = "executor" in m.group(0).lower() or "invalid_executor_memory" in ctx.text.lower()
    setting = "spark.executor.memory" if executor else "spark.driver.memory"
    side = "executor" if executor else "driver"
    found = re.search(r"memory (\d{1,20}) must be at least (\d{1,20})", ctx.text, re.I)
    amounts = f" ({found.group(1)} bytes, at least {found.group(2)} needed)" if found else ""
    return Finding(
        f"Spark would not start the {side}: the memory it was given{amounts} is below the "
        f"minimum Spark needs to run, so {setting} (or the container's memory) is set too low; "
        "a configuration value, raised before any data was read",
        (
            f"Raise {setting} (--{side}-memory) to at least the minimum the error names, and "
            "the container or node memory with it.",
            "Check where the value comes from (job options, cluster policy, spark-defaults, a "
            "template with a unit missing such as 480 instead of 480m).",
            "Rerun after the setting is fixed; retries with the same setting fail the same way.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "api_version_unavailable",
    "ConfigurationError ExternalServiceError",
    any_of(*signals.API_VERSION_UNAVAILABLE),
    example=(
        "Microsoft.Rest.Azure.CloudException: 'Api version '2018-06-01' is not available for "
        "your subscription. Please contact customer support for assistance with this feature'"
    ),
)
def api_version_unavailable(m: re.Match[str], ctx: Context) -> Finding:
    version = clean_value(next((g for g in m.groups() if g), ""))
    named = f" {quoted(version)}" if version else ""
    return Finding(
        f"the Azure management API version{named} the client or template calls is not "
        "offered to this subscription or region: the SDK's, template's or call's api-version, "
        "or the resource provider's registration",
        (
            "Call an api-version the resource provider offers (az provider show --namespace "
            'Microsoft.DataFactory --query "resourceTypes[].apiVersions"), or upgrade the '
            "SDK that pins it.",
            "Check that the resource provider is registered for the subscription (az provider "
            "register --namespace ...).",
            "Check the location the resource is deployed to supports that type and version.",
            "Rerun after the change.",
        ),
        0.65,
        transient=False,
    )


@rule(
    "java_main_class_missing",
    "ConfigurationError CodeError",
    any_of(*signals.JAVA_MAIN_CLASS_MISSING),
    example="Error: Could not find or load main class com.contoso.etl.Main",
)
def java_main_class_missing(m: re.Match[str], ctx: Context) -> Finding:
    name = clean_value(m.group(1))
    return Finding(
        f"the JVM could not find or load the main class {quoted(name) or 'it was given'}: the "
        "class name, the jar on the classpath, or arguments that were taken for the class name",
        (
            "Check the main class name configured for the job or activity (className, "
            "--class) against the jar's package and class.",
            "Check that the jar holding it is uploaded and on the classpath (spark-submit "
            "--jars, the activity's jar path, the cluster library).",
            "If the name looks like a path or an argument, check the quoting of the command "
            "line: a space or an unquoted value shifts the arguments.",
            "Rerun after the fix.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "delta_format_mismatch",
    "ConfigurationError CodeError",
    any_of(*signals.DELTA_FORMAT_MISMATCH),
    example=(
        "AnalysisException: Incompatible format detected. A transaction log for Delta was found "
        "at `/mnt/raw/loans/_delta_log`, but you are trying to read from `/mnt/raw/loans` using "
        'format("csv"). You must use \'format("delta")\' when reading and writing to a delta '
        "table."
    ),
)
def delta_format_mismatch(m: re.Match[str], ctx: Context) -> Finding:
    path = grab(ctx.text, r"trying to (?:read from|write to) `([^`\n]{1,500})`")
    where = f" {quoted(path)}" if path else ""
    if re.search(r"\bno transaction log present\b", ctx.text, re.IGNORECASE):
        cause = (
            f"the path{where} is read or written as a Delta table but holds no Delta transaction "
            "log: plain files there, or a path below the table's base path"
        )
    else:
        used = grab(
            ctx.text,
            r"trying to (?:read from|write to) `[^`\n]{1,500}` using format\(\"?(\w{1,20})",
        )
        as_what = f" with format {quoted(used)}" if used else " with another format"
        cause = (
            f"the Delta table{where} is read or written{as_what}: a path holding a Delta "
            "transaction log must be read and written as format 'delta'"
        )
    return Finding(
        cause,
        (
            "Read and write a Delta table with format('delta') (or by its table name), and "
            "plain files with their own format.",
            "Point the job at the table's base path (the folder holding _delta_log), or at "
            "another folder if the files are not meant to be a Delta table.",
            "Rerun after the change.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "required_setting_unset",
    "ConfigurationError",
    any_of(*signals.REQUIRED_SETTING_UNSET),
    example=(
        "Spark pool request validation failed. DynamicExecutorAllocationNotValid: Min and max "
        "executors properties are mandatory fields when dynamic executor allocation is enabled"
    ),
)
def required_setting_unset(m: re.Match[str], ctx: Context) -> Finding:
    sentence = re.search(
        r"([^.\n\"]{0,200}\b(?:is|are) mandatory (?:(?:fields?|propert(?:y|ies)|settings?"
        r"|parameters?) )?when [^.\n\"]{1,200})|([\w.]{1,100} property is not initiali[sz]ed)"
        r"|([^.\n\":]{0,200}\b(?:is|are) mandatory for [^\n\"]{1,200}\benabled\b)",
        ctx.text,
        re.IGNORECASE,
    )
    # The whole sentence: the option that makes the setting mandatory comes at its end.
    stated = clean_value(next((g for g in sentence.groups() if g), ""), 200) if sentence else ""
    what = f" ({quoted(stated)})" if stated else ""
    return Finding(
        f"a setting the service requires was left out or left unset{what}: the definition it was "
        "given (a pool, an activity, a dataset) lacks a property that its other options make "
        "mandatory, so the request is refused before anything runs",
        (
            "Set the property the error names in the definition (the pool's, activity's or "
            "dataset's settings, or the template or infrastructure code that deploys it).",
            "If an option makes it mandatory (dynamic executor allocation, a file format), either "
            "give the property a value or turn that option off.",
            "Redeploy or publish the definition, then rerun.",
        ),
        0.6,
        transient=False,
    )


@rule(
    "workspace_without_capacity",
    "ConfigurationError",
    any_of(*signals.WORKSPACE_WITHOUT_CAPACITY),
    example=(
        "[error]  09:26:21 - Workspace 00000000-0000-0000-0000-000000000000 does not have an "
        "assigned capacity. Please assign a capacity before publishing items."
    ),
)
def workspace_without_capacity(m: re.Match[str], ctx: Context) -> Finding:
    workspace = clean_value(grab(ctx.text, r"\bworkspace '?([\w-]{1,100})'? (?:does not|is not)"))
    which = f"workspace {quoted(workspace)}" if workspace else "the target workspace"
    return Finding(
        f"{which} has no assigned capacity (no Fabric or Power BI capacity), and the items "
        "being published or run (notebooks, pipelines, lakehouses, semantic models) need one: "
        "the workspace's setup, not a capacity running out",
        (
            "Assign the workspace to a capacity (workspace settings, License info, or the "
            "Fabric admin portal's capacity settings) or deploy to a workspace that has one.",
            "If the capacity was paused or deleted, resume it or pick another one; the deploying "
            "identity needs contributor rights on the capacity to assign it.",
            "Rerun the deployment or the item once the workspace shows its capacity.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "capacity_not_active",
    "ConfigurationError ResourceExhaustion ExternalServiceError",
    any_of(*signals.CAPACITY_NOT_ACTIVE),
    example="Capacity operation failed with error code CapacityNotActive",
)
def capacity_not_active(m: re.Match[str], ctx: Context) -> Finding:
    capacity = clean_value(grab(ctx.text, r"\bcapacity '([^'\n]{1,100})' (?:is|was)\b"))
    which = f"capacity {quoted(capacity)}" if capacity else "the Fabric or Power BI capacity"
    return Finding(
        f"{which} the workspace runs on is not active (CapacityNotActive: paused or "
        "suspended), so nothing in the workspace can run or be refreshed until it is resumed: "
        "the capacity's state, not a lack of capacity",
        (
            "Resume the capacity (Azure portal, the Fabric capacity resource, Resume; or the "
            "Fabric admin portal) or check why it was suspended (a pause schedule, an automation "
            "runbook, an unpaid subscription, an admin).",
            "If it is paused on purpose outside working hours, schedule the pipeline inside the "
            "capacity's running hours or resume it from the pipeline first.",
            "Rerun the failed item once the capacity shows as Active.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "lakehouse_not_attached",
    "ConfigurationError CodeError",
    any_of(*signals.LAKEHOUSE_NOT_ATTACHED),
    example=(
        "AnalysisException: org.apache.hadoop.hive.ql.metadata.HiveException: "
        "MetaException(message:Spark SQL queries are only possible in the context of a "
        "lakehouse. Please attach a lakehouse to proceed.)"
    ),
)
def lakehouse_not_attached(m: re.Match[str], ctx: Context) -> Finding:
    return Finding(
        "the Fabric notebook ran with no default lakehouse attached, and Spark SQL queries and "
        "table names without a workspace need one: the notebook's setup, not its code",
        (
            "Attach a default lakehouse to the notebook (Explorer, Lakehouses, Add; pin it as "
            "default) or set it in the notebook's %%configure cell "
            '("defaultLakehouse": {"name": ..., "workspaceId": ...}).',
            "When the notebook runs from a pipeline or another workspace, check the default "
            "lakehouse still exists there and the running identity can read it.",
            "Or qualify table names fully (workspace.lakehouse.schema.table) so no default is "
            "needed, then rerun.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "logical_decoding_disabled",
    "ConfigurationError",
    any_of(*signals.LOGICAL_DECODING_DISABLED),
    example="ERROR: logical decoding requires wal_level >= logical",
)
def logical_decoding_disabled(m: re.Match[str], ctx: Context) -> Finding:
    return Finding(
        "the PostgreSQL server's wal_level is below logical, so it cannot decode its write-ahead "
        "log for change data capture (a logical replication slot, Debezium, pgsync): the "
        "server's setting, not the connector's",
        (
            "Set wal_level = logical on the source server (postgresql.conf or ALTER SYSTEM; on "
            "Azure Database for PostgreSQL the wal_level server parameter, on Amazon RDS "
            "rds.logical_replication = 1 in the parameter group) and restart it.",
            "Check max_replication_slots and max_wal_senders leave room for the connector's slot.",
            "Restart the connector or job once SHOW wal_level returns logical.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "kafka_client_not_constructed",
    "ConfigurationError",
    any_of(*signals.KAFKA_CLIENT_NOT_CONSTRUCTED),
    example="org.apache.kafka.common.KafkaException: Failed to construct kafka producer",
)
def kafka_client_not_constructed(m: re.Match[str], ctx: Context) -> Finding:
    client = (
        grab(ctx.text, r"failed to construct kafka (producer|consumer|admin ?client)") or "client"
    ).lower()
    return Finding(
        f'the Kafka {client} could not be built from its settings ("Failed to construct kafka '
        f'{client}"): a bootstrap server address, security protocol, SASL/JAAS or SSL setting, '
        "or serializer class the client refused before connecting",
        (
            'Read the exception\'s cause (the "Caused by" after it): it names the setting the '
            "client could not use.",
            "Check bootstrap.servers, security.protocol, sasl.mechanism and sasl.jaas.config "
            "(or the SSL keystore and truststore paths) and the serializer or deserializer "
            "classes in the client's or connector's configuration.",
            "Restart the connector, task or job after fixing the configuration.",
        ),
        0.6,
        transient=False,
    )


@rule(
    "source_missing_or_denied",
    "ConfigurationError",
    any_of(*signals.SOURCE_MISSING_OR_DENIED),
    example=(
        "We cannot refresh this semantic model because one or multiple source tables either do "
        "not exist or access was denied. Please contact a data source admin to verify that the "
        "tables exist and ensure that the owner of this semantic model does have read access to "
        "these tables: 'sales,customers'"
    ),
)
def source_missing_or_denied(m: re.Match[str], ctx: Context) -> Finding:
    tables = grab(ctx.text, r"read access to these tables: '([^'\n]{1,300})'")
    named = f" ({tables})" if tables else ""
    return Finding(
        f"the source tables the refresh reads{named} either do not exist where the model looks "
        "for them (dropped, renamed or moved) or the model's owner has no read access to them",
        (
            "Check that each table the error lists still exists under the same name and schema "
            "in the source (lakehouse, warehouse or database).",
            "Give the semantic model's owner, or the identity of its data connection, read access "
            "to those tables; take over the model if its owner has left.",
            "Refresh the model again once the tables are there and readable.",
        ),
        0.6,
        transient=False,
    )


@rule(
    "kube_secret_missing",
    "ConfigurationError",
    any_of(*signals.KUBE_SECRET_MISSING),
    example=(
        "Warning  Failed     2s (x5 over 54s)  kubelet            Error: couldn't find key VALUE "
        "in Secret default/aegis-secret-aegis-workload-demo"
    ),
)
def kube_secret_missing(m: re.Match[str], ctx: Context) -> Finding:
    keyed = re.search(
        r"couldn't find key ([\w.-]{1,253}) in (secret|configmap) ([\w.-]{1,253})/([\w.-]{1,253})",
        ctx.text,
        re.IGNORECASE,
    )
    if keyed:
        key, kind, namespace, name = (clean_value(g) for g in keyed.groups())
        kind = "Secret" if kind.lower() == "secret" else "ConfigMap"
        what = f"key {quoted(key)} of {kind} {quoted(name)} in namespace {quoted(namespace)}"
        missing = f"the {kind} has no such key"
    else:
        found = re.search(
            r"\b(secrets?|configmaps?) \"([\w.-]{1,253})\" not found", ctx.text, re.IGNORECASE
        )
        kind = "ConfigMap" if found and found.group(1).lower().startswith("c") else "Secret"
        name = clean_value(found.group(2)) if found else ""
        what = f"{kind} {quoted(name)}" if name else f"a {kind}"
        missing = f"no {kind} of that name exists in the pod's namespace"
    return Finding(
        f"the container refers to {what}, and {missing}: the kubelet cannot build the "
        "container's environment or volumes, so it never starts (CreateContainerConfigError)",
        (
            f"Create the {kind} (or add the key) in the pod's namespace, or fix the name the pod "
            "spec, Helm values or operator arguments give (env valueFrom, envFrom, volumes).",
            f"If the {kind} is created by another release or an external-secrets controller, "
            "check that it ran and wrote the expected keys before the pod started.",
            "Delete the stuck pod or rerun the task once the reference resolves; the kubelet "
            "also retries on its own.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "dag_bundle_not_configured",
    "ConfigurationError",
    any_of(*signals.DAG_BUNDLE_NOT_CONFIGURED),
    example="ValueError: Requested bundle 'dags-folder1' is not configured.",
)
def dag_bundle_not_configured(m: re.Match[str], ctx: Context) -> Finding:
    bundle = clean_value(grab(ctx.text, r"requested bundle '([^'\n]{1,200})' is not configured"))
    which = f"DAG bundle {quoted(bundle)}" if bundle else "the DAG bundle"
    return Finding(
        f"{which}, which the DAG or its runs were recorded under, is not in the Airflow "
        "deployment's bundle configuration ([dag_processor] dag_bundle_config_list): the "
        "bundle was renamed or removed, or this component was started with another list",
        (
            f"Add {which} back to dag_bundle_config_list, or give the renamed bundle its old "
            "name, on every component (scheduler, DAG processor, API server, workers).",
            "If the bundle was retired on purpose, let its DAGs be deactivated, or delete them, "
            "so no run or task still refers to it.",
            "Restart the components with the same configuration and rerun the failed task.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "airflow_task_not_found",
    "ConfigurationError",
    any_of(*signals.AIRFLOW_TASK_NOT_FOUND),
    example="airflow.exceptions.TaskNotFound: Task test_task not found",
)
def airflow_task_not_found(m: re.Match[str], ctx: Context) -> Finding:
    task = clean_value(grab(ctx.text, r"tasknotfound: task ([\w.\-]{1,250}) not found"))
    which = f"task {quoted(task)}" if task else "the task"
    return Finding(
        f"the DAG has no {which} as Airflow loaded it (the current DAG file, or the DAG version "
        "or bundle version the run was created with): the task was renamed or removed, or the "
        "run, a backfill or a clear refers to another version of the DAG",
        (
            f"Check that {which} exists in the DAG file the scheduler and workers load, and in "
            "the bundle version the run uses (Airflow 3 runs keep their own DAG version).",
            "If it was renamed or removed, clear or rerun from a new run on the current DAG "
            "instead of an old one, or restore the task id.",
            "Rerun once the task id and the DAG version agree.",
        ),
        0.6,
        transient=False,
    )


@rule(
    "table_partitioning_mismatch",
    "ConfigurationError",
    any_of(*signals.TABLE_PARTITIONING_MISMATCH),
    example=(
        "Invalid value: Cannot replace a table with a different partitioning spec.\nInstead, "
        "DROP the table, and then recreate it.\nNew partitioning spec is none and existing spec "
        "is interval(type:month,field:_sdc_batched_at) clustering(_sdc_batched_at)"
    ),
)
def table_partitioning_mismatch(m: re.Match[str], ctx: Context) -> Finding:
    stated = m.group(0).lower()
    table = grab(
        ctx.text,
        r"partition reference: ([\w.:-]{1,300})",
        r"(?:table|replace) `?([\w-]{1,100}[.:][\w.-]{1,200})`?",
    )
    new_spec = grab(ctx.text, r"new partitioning spec is ([^\n]{1,200}?) and existing spec is")
    old_spec = grab(ctx.text, r"existing spec is ([^\n]{1,200})")
    named = f"table {quoted(table)}" if table else "the target table"
    if "partition reference" in stated:
        cause = (
            f"the job writes to a partition (a $YYYYMMDD partition decorator) of {named}, a "
            "non-partitioned table"
        )
        fix = "Write to the table without the partition decorator, or recreate it partitioned."
    elif "must have a schema" in stated:
        cause = (
            f"the load creates {named} partitioned on a field but gives no schema, so the "
            "partitioning field cannot be resolved"
        )
        fix = "Pass the table's schema (or create the table first) when partitioning by a field."
    elif "incompatible" in stated:
        expects = grab(ctx.text, r"expects partitioning specification ([^\n]{1,200}?),? but input")
        given = grab(ctx.text, r"input partitioning specification is ([^\n]{1,200})")
        specs = f" (the table's: {expects}; the job's: {given})" if expects and given else ""
        cause = f"the job writes to {named} with another partitioning spec than the table's{specs}"
        fix = "Make the job's time_partitioning / clustering match the table's definition."
    elif "must be provided" in stated:
        cause = f"the statement creates {named} as partitioned without a partitioning spec"
        fix = "Give the CREATE TABLE (or the job's table definition) its PARTITION BY clause."
    else:
        specs = f" (new: {new_spec}; existing: {old_spec})" if new_spec and old_spec else ""
        cause = (
            f"the job replaces {named} with another partitioning spec (or clustering) than the "
            f"table's{specs}; BigQuery does not change a table's partitioning in place"
        )
        fix = (
            "Make the job's partitioning and clustering match the existing table's, or DROP "
            "the table once so the next run recreates it with the new spec."
        )
    return Finding(
        cause,
        (
            fix,
            "Check recent changes to the model's or operator's partition_by / cluster_by / "
            "time_partitioning settings against the table's current definition.",
            "Rerun after the fix; the same write fails the same way.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "retention_locked_object",
    "ConfigurationError",
    any_of(*signals.RETENTION_LOCKED_OBJECT),
    example=(
        "Could not upload to Google Cloud Storage Error: Object 'reports/2019-11-05/app.js' is "
        "subject to bucket's retention policy and cannot be deleted, overwritten or archived "
        "until 2019-11-07T23:15:42.507463461-08:00"
    ),
)
def retention_locked_object(m: re.Match[str], ctx: Context) -> Finding:
    stated = m.group(0).lower()
    obj = grab(ctx.text, r"object '([^'\n]{1,500})' is (?:subject|under)")
    until = grab(ctx.text, r"archived until ([\dT:.+-]{10,40})")
    if "hold" in stated and "legal" not in stated:
        policy = "an object hold (temporary or event-based)"
    elif "legal hold" in stated or "legalhold" in stated:
        policy = "a legal hold"
    elif "object lock" in stated:
        policy = "S3 Object Lock"
    elif "immutable" in stated:
        policy = "the container's immutability policy"
    else:
        policy = "the bucket's retention policy"
    what = f"object {quoted(obj)}" if obj else "the object"
    kept = f" until {until}" if until else ""
    return Finding(
        f"the job tried to overwrite or delete {what}, which {policy} keeps unchanged{kept}: "
        "the storage's retention setting refuses the write, whatever the writer's permissions",
        (
            "Write new data under new object names (a run date or id in the path) instead of "
            "overwriting objects the policy protects.",
            f"If the objects should be replaceable, change or remove {policy} on the bucket or "
            "container (a locked retention policy cannot be shortened).",
            "Rerun after the fix; retrying overwrites the same protected object and fails.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "pod_admission_refused",
    "ConfigurationError",
    any_of(*signals.POD_ADMISSION_REFUSED),
    example=(
        'Error creating: pods "webhook-7464568dfc-2w94v" is forbidden: violates PodSecurity '
        '"restricted:latest": runAsNonRoot != true (pod or container "webhook" must set '
        "securityContext.runAsNonRoot=true)"
    ),
)
def pod_admission_refused(m: re.Match[str], ctx: Context) -> Finding:
    pod = grab(ctx.text, r'pods? "([\w.-]{1,253})" is forbidden')
    what = f"pod {quoted(pod)}" if pod else "the pod"
    level = grab(ctx.text, r'violates podsecurity "([\w.:-]{1,60})"')
    webhook = grab(ctx.text, r'admission webhook "([^"\n]{1,253})" denied')
    fields = sorted(
        {
            clean_value(f)
            for f in re.findall(r"must set (securityContext\.[\w.]{1,80})", ctx.text, re.I)
        }
        - {""}
    )
    if level:
        policy = f'the namespace\'s PodSecurity level "{level}"'
    elif webhook:
        policy = f"admission webhook {quoted(webhook)}"
    else:
        policy = "the cluster's pod security policy"
    needs = f"; it must set {', '.join(fields)}" if fields else ""
    return Finding(
        f"Kubernetes refused to create {what}: its spec breaks {policy}{needs}",
        (
            "Set what the policy asks for in the pod spec or template (the operator's "
            "security_context / container_security_context, the Helm values): "
            + (", ".join(fields) if fields else "the fields the refusal lists")
            + ".",
            "Or run the pod in a namespace whose policy allows it, if the workload needs the "
            "privilege.",
            "The controller retries creating the pod; rerun the task once the spec complies.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "change_tracking_disabled",
    "ConfigurationError",
    any_of(*signals.CHANGE_TRACKING_DISABLED),
    example=(
        "091930: Change tracking is not enabled or has been missing for the time range requested."
    ),
)
def change_tracking_disabled(m: re.Match[str], ctx: Context) -> Finding:
    table = grab(
        ctx.text, r"change tracking is not enabled[^\n]{0,120}? on table '?([\w.\"$-]{1,300})"
    )
    what = f"table {quoted(table)}" if table else "a table the query reads"
    lost = "missing for the time range" in ctx.text.lower()
    cause = f"change tracking is not enabled on {what}"
    if lost:
        cause += (
            ", or its change history no longer covers the time range the reader asks for "
            "(the table's retention ended or change tracking was turned off and on)"
        )
    return Finding(
        cause + ": an incremental reader (a stream, a dynamic table, a CDC copy) needs it",
        (
            f"Enable change tracking on {what} (Snowflake: ALTER TABLE ... SET CHANGE_TRACKING = "
            "TRUE; SQL Server: ALTER TABLE ... ENABLE CHANGE_TRACKING).",
            "If the history was lost, recreate the stream or dynamic table (or run a full "
            "refresh) so it starts from the table's current version.",
            "Keep the table's data retention longer than the longest gap between reads, then "
            "resume the reader and rerun.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "refresh_unsupported_source",
    "ConfigurationError",
    any_of(*signals.REFRESH_UNSUPPORTED_SOURCE),
    example=(
        "You can't schedule refresh for this semantic model because the following data sources "
        "currently don't support refresh:\n- Data source for Query1"
    ),
)
def refresh_unsupported_source(m: re.Match[str], ctx: Context) -> Finding:
    sources = sorted(
        {
            clean_value(name, 100)
            for name in re.findall(r"^\s*-\s*data source for ([^\n]{1,100})", ctx.text, re.I | re.M)
        }
        - {""}
    )
    which = (
        "the data source(s) for " + ", ".join(quoted(name) for name in sources)
        if sources
        else "some of its data sources"
    )
    return Finding(
        f"the service cannot refresh the semantic model on a schedule because {which} do not "
        "support refresh: the way the query reaches its source (a dynamic source, a source "
        "call wrapped in another step, or a connector that needs a gateway), not credentials",
        (
            "Open the query the message names in Power Query and make the source call its own "
            "step with static arguments (no source built from a parameter or wrapped in "
            "another function); use RelativePath/Query options for dynamic parts.",
            "If the source is on-premises or needs a connector the service lacks, bind the "
            "model to a data gateway that has it.",
            "Republish the model, then set up the scheduled refresh again.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "airflow_runtime_not_found",
    "ConfigurationError",
    any_of(*signals.AIRFLOW_RUNTIME_NOT_FOUND),
    example="AirflowRuntimeError: ASSET_NOT_FOUND: {'name': 'bad'}",
)
def airflow_runtime_not_found(m: re.Match[str], ctx: Context) -> Finding:
    kind = m.group(1).lower() if m.group(1) else ""
    noun = kind.replace("_", " ").replace("dag run", "DAG run").replace("dag", "DAG")
    code = f"{kind.upper()}_NOT_FOUND" if kind else "NOT_FOUND"
    named = grab(
        ctx.text,
        rf"{kind}_not_found: \{{\\?['\"](?:name|uri|conn_id|key|dag_id|run_id)\\?['\"]: "
        r"\\?['\"]([^'\"\\\n]{1,200})",
        r"\b(?:variable|connection|asset) ([\w.-]{1,200}) not found",
    )
    what = f"{noun} {quoted(named)}" if named else f"the {noun or 'object'} the task asked for"
    return Finding(
        f"the task asked the Airflow API server for {what}, which this deployment does not have "
        f"({code}): the DAG refers to something not defined here",
        (
            f"Define {what} in this deployment (Admin > Variables / Connections, the secrets "
            "backend, or the asset's producing DAG), or fix the name the DAG uses.",
            "Check that the name is spelled as defined (assets by name or URI) and that the "
            "DAG and the deployment it runs in are the same environment.",
            "Rerun the task once it exists.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "exec_format_error",
    "ConfigurationError",
    any_of(*signals.EXEC_FORMAT_ERROR),
    example="Failed to start a Pod on one node. container error: exec /bin/sh: exec format error.",
)
def exec_format_error(m: re.Match[str], ctx: Context) -> Finding:
    program = grab(ctx.text, r"exec ([\w./-]{1,200}): exec format error")
    what = f"program {quoted(program)}" if program else "the program the step starts"
    return Finding(
        f"{what} is built for another CPU architecture than the machine it runs on (exec "
        "format error): e.g. an amd64 container image on an arm64 node, or the reverse",
        (
            "Build and push the image for the nodes' architecture (docker buildx --platform "
            "linux/amd64,linux/arm64), or pin the pod to nodes of the image's architecture "
            "(nodeSelector kubernetes.io/arch).",
            "Check the image's platform with docker manifest inspect or crane config.",
            "Rerun once image and node match; a retry on the same node fails the same way.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "slack_channel_unusable",
    "ConfigurationError ExternalServiceError",
    any_of(*signals.SLACK_CHANNEL_UNUSABLE),
    example=(
        "Slack API error: The request to the Slack API failed. (url: "
        "https://www.slack.com/api/chat.postMessage)\nThe server responded with: {'ok': False, "
        "'error': 'channel_not_found'}"
    ),
)
def slack_channel_unusable(m: re.Match[str], ctx: Context) -> Finding:
    error = next((g for g in m.groups() if g), "").lower()
    channel = grab(ctx.text, r"['\"]channel['\"]: ?['\"]([#\w.-]{1,80})")
    which = f"channel {quoted(channel)}" if channel else "the channel it posts to"
    reason = {
        "not_in_channel": "the app's bot is not a member of it",
        "is_archived": "it is archived",
        "is_inactive": "it was archived, frozen or deleted, and its messages cannot be edited",
    }.get(
        error,
        "it does not exist or the app's bot cannot see it (a private channel it is "
        "not in, a wrong name or ID)",
    )
    what = "the edit of a message in" if error == "is_inactive" else "the post to"
    first = (
        f"Unarchive {which} (or have it unfrozen), or post to a channel in use."
        if error == "is_inactive"
        else f"Invite the app's bot to {which} (/invite @bot), or post to a channel it is in."
    )
    return Finding(
        f"Slack refused {what} {which} ({error}): {reason}",
        (
            first,
            "Use the channel's ID (C0123...) rather than its name, and check it in the "
            "connection or the task's arguments.",
            "Rerun the task once the bot can post there.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "fail_activity_uninterpretable",
    "ConfigurationError",
    any_of(*signals.FAIL_ACTIVITY_UNINTERPRETABLE),
    example=(
        "Operation on target Ingestion Failed Error failed: Failed to interpret Ingestion "
        "Failed Error fail message or error code"
    ),
)
def fail_activity_uninterpretable(m: re.Match[str], ctx: Context) -> Finding:
    activity = clean_value(m.group(1)) if m.lastindex else None
    which = f"Fail activity {quoted(activity)}" if activity else "a Fail activity"
    return Finding(
        f"{which} could not raise its failure: its fail message or error code did not "
        "evaluate to a string (ErrorCodeNotString), so the pipeline reports the activity's "
        "own expressions instead of the failure they were meant to carry",
        (
            f"Check the message and error code expressions of {which}: each must be a string "
            "(wrap numbers and objects in string(...), and guard values that can be null).",
            "Look at the output of the activity that led to it for the failure it was meant "
            "to report, and handle that first.",
            "Rerun the pipeline once the expressions give strings.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "storage_credential_missing",
    "ConfigurationError AuthenticationError",
    any_of(*signals.STORAGE_CREDENTIAL_MISSING),
    example=(
        "UnityCatalogServiceException: [RequestId=1 ErrorClass=DAC_DOES_NOT_EXIST] Root "
        "storage credential for metastore m1 does not exist."
    ),
)
def storage_credential_missing(m: re.Match[str], ctx: Context) -> Finding:
    metastore = clean_value(grab(ctx.text, r"\bcredential for (?:the )?metastore ([\w-]{1,100})"))
    # A credential a statement names (NO_SUCH_STORAGE_CREDENTIAL_EXCEPTION "The storage
    # credential 'c' does not exist"), rather than a metastore's root credential.
    named = grab(ctx.text, r"\bstorage credential ['`]([^'`\n]{1,100})['`] does not exist\b")
    if metastore:
        which = f"the root storage credential of metastore {quoted(metastore)}"
    elif named:
        which = f"the storage credential {quoted(named)}"
    else:
        which = "the storage credential it needs"
    code = (
        "NO_SUCH_STORAGE_CREDENTIAL_EXCEPTION"
        if "no_such_storage_credential" in ctx.text.lower()
        else "DAC_DOES_NOT_EXIST"
    )
    return Finding(
        f"Unity Catalog could not find {which} ({code}): the credential was "
        "never set or was deleted, so storage it covers cannot be reached: the metastore's "
        "setup, not credentials that were refused",
        (
            "Create the storage credential (or assign the metastore's root credential) in "
            "Catalog Explorer or with the metastores API, as a metastore admin.",
            "If it was deleted or renamed, point the metastore or external location at the "
            "credential that now covers its storage.",
            "Rerun the statement once the credential is listed for the metastore.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "airflow_pool_not_found",
    "ConfigurationError",
    any_of(*signals.AIRFLOW_POOL_NOT_FOUND),
    example="airflow.exceptions.PoolNotFound: Unknown pool: etl",
)
def airflow_pool_not_found(m: re.Match[str], ctx: Context) -> Finding:
    pool = clean_value(next((g for g in m.groups() if g), ""))
    which = f"pool {quoted(pool)}" if pool else "the pool it names"
    return Finding(
        f"The task is assigned to {which}, which this Airflow does not have (PoolNotFound): "
        "the task's pool argument or the environment's pools",
        (
            f"Create {which} (Admin, Pools, or `airflow pools set`) with the slots the tasks "
            "need, in every environment the DAG runs in.",
            "Or correct the task's pool argument to an existing pool (default_pool if none).",
            "Rerun the task once the pool exists.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "identifier_too_long",
    "ConfigurationError CodeError",
    any_of(*signals.IDENTIFIER_TOO_LONG),
    example="airflow.exceptions.AirflowException: The key has to be less than 250 characters",
)
def identifier_too_long(m: re.Match[str], ctx: Context) -> Finding:
    limit = m.group(1)
    return Finding(
        f"An Airflow id is longer than the {limit} characters it may have: the dag_id, or a "
        "task_id with the ids of the task groups it is nested in, as composed",
        (
            "Shorten the dag_id, task_id or task group ids (nested groups prefix theirs to the "
            "task_id), or set prefix_group_id=False where the prefix is not needed.",
            "Check ids built from parameters or loops, which can grow past the limit.",
            "Deploy the DAG again and check it parses before rerunning.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "container_image_invalid",
    "ConfigurationError",
    any_of(*signals.CONTAINER_IMAGE_INVALID),
    example=(
        "[AZURE BATCH] Task failed. ERROR code: ContainerInvalidImage; message: One or more "
        "container images specified are invalid"
    ),
)
def container_image_invalid(m: re.Match[str], ctx: Context) -> Finding:
    return Finding(
        "The container image the task names is not a valid image reference "
        "(ContainerInvalidImage / InvalidImageName): the image name, tag or registry as "
        "written, not a pull that failed on the network",
        (
            "Check the image reference: registry/repository:tag in lower case, no spaces or "
            "stray characters, a tag or digest that exists.",
            "For Azure Batch, check the pool's container configuration lists the image and "
            "its registry (with credentials for a private one).",
            "Rerun the task once the image reference resolves.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "settings_conflict",
    "ConfigurationError",
    any_of(*signals.SETTINGS_CONFLICT),
    example="Error code: DF-DELTA-InvalidConfiguration. Timestamp and version can't be set at "
    "the same time.",
)
def settings_conflict(m: re.Match[str], ctx: Context) -> Finding:
    settings = clean_value(m.group(1) or m.group(2))
    which = f"the settings {quoted(settings)}" if settings else "two of its settings"
    return Finding(
        f"The source, sink or dataset has {which} set together, and only one of them may be "
        "set: the activity's configuration, not the data",
        (
            f"Open the source, sink or dataset settings and keep one of {which}; clear the "
            "other (or the parameter that fills it).",
            "If a parameter or expression fills them, check which one it sets for this run.",
            "Rerun the data flow or activity once only one is set.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "setting_required_for_operation",
    "ConfigurationError",
    any_of(*signals.SETTING_REQUIRED_FOR_OPERATION),
    example="Error code: DF-Cosmos-PartitionKeyMissed. Partition key path should be specified "
    "for update and delete operations.",
)
def setting_required_for_operation(m: re.Match[str], ctx: Context) -> Finding:
    setting = clean_value(m.group(1) or m.group(3))
    operation = clean_value(m.group(2) or m.group(4))
    which = quoted(setting) if setting else "a setting"
    task = (
        f"{operation} operations"
        if operation and not operation.lower().startswith("pars")
        else None
    )
    need = f"for {task}" if task else "to parse its input"
    return Finding(
        f"The source, sink or format is missing {which}, which it needs {need}: the "
        "activity's configuration leaves it empty",
        (
            f"Set {which} in the source, sink or dataset settings (or the parameter that fills "
            "it).",
            "If the operation is not meant to run, change the sink's allowed operations (insert, "
            "update, upsert, delete) instead.",
            "Rerun the data flow or activity once it is set.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "parameter_type_mismatch",
    "ConfigurationError",
    any_of(*signals.PARAMETER_TYPE_MISMATCH),
    example="Error code: DF-Executor-InvalidType. Please make sure that the type of parameter "
    "matches with type of value passed in. Passing float parameters from pipelines isn't "
    "currently supported.",
)
def parameter_type_mismatch(m: re.Match[str], ctx: Context) -> Finding:
    unsupported = clean_value(grab(ctx.text, r"\bpassing (\w{1,20}) parameters from pipelines"))
    extra = f" ({unsupported} parameters cannot be passed from a pipeline)" if unsupported else ""
    return Finding(
        "A data flow parameter was passed a value of another type than the parameter "
        f"declares{extra}: the pipeline's parameter assignment, not the data",
        (
            "Compare each data flow parameter's declared type with the value or expression "
            "the Execute Data Flow activity passes it.",
            "Convert the value in the pipeline expression (string(), int(), ...) or change the "
            "parameter's declared type; pass a float as a string and convert it in the flow.",
            "Rerun the pipeline once the types agree.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "setting_value_unsupported",
    "ConfigurationError",
    any_of(*signals.SETTING_VALUE_UNSUPPORTED),
    example="Error code: DF-Hive-InvalidStorageType. Storage type can either be blob or gen2.",
)
def setting_value_unsupported(m: re.Match[str], ctx: Context) -> Finding:
    sentence = grab(ctx.text[m.start() :], r"^([^\n]{1,200}?)(?:\.(?:\s|$)|\n|$)")
    stated = clean_value(sentence or m.group(0))
    return Finding(
        "A setting of the source, sink or linked service asks for a value or use the connector "
        f"does not take ({quoted(stated)}): the activity's configuration, not the data or the "
        "store",
        (
            "Open the source, sink, dataset or linked service the error names and change the "
            "setting to one of the values the connector supports.",
            "If a parameter or expression fills it, check the value it gives for this run.",
            "Rerun the data flow or activity once the setting is supported.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "spark_config_rejected",
    "ConfigurationError",
    any_of(*signals.SPARK_CONFIG_REJECTED),
    example="org.apache.spark.sql.AnalysisException: [CANNOT_MODIFY_CONFIG] Cannot modify the "
    'value of the Spark config: "spark.executor.memory". SQLSTATE: 46110',
)
def spark_config_rejected(m: re.Match[str], ctx: Context) -> Finding:
    config, unknown, feature, feature_config, value, changed, table_property = (
        clean_value(group) if group else "" for group in m.groups()
    )
    if config:
        cause = (
            f"The job sets the Spark config {quoted(config)} at run time, which Spark does not "
            "allow (it is fixed when the cluster or session starts)"
        )
        fix = f"Set {quoted(config)} in the cluster's or job's Spark config instead of in code."
    elif unknown:
        cause = (
            f"The job sets or reads the Spark SQL config {quoted(unknown)}, which does not "
            "exist (a misspelt or removed config name)"
        )
        fix = f"Correct the name {quoted(unknown)} against the Spark configuration reference."
    elif feature:
        cause = (
            f"The job uses {feature}, a feature its Spark config leaves off "
            f"({quoted(feature_config)} is not {value})"
        )
        fix = f"Set {quoted(feature_config)} to {value} in the cluster or session config."
    elif changed:
        cause = (
            f"The streaming query's {quoted(changed)} differs from the value its checkpoint "
            "was written with, and it cannot change between restarts of the query"
        )
        fix = (
            f"Set {quoted(changed)} back to the value the checkpoint was written with, or "
            "restart the query with a new checkpoint directory."
        )
    else:
        cause = (
            "The write asks for dynamic partition overwrite mode, and the Delta table's "
            f"property {quoted(table_property)} turns it off"
        )
        fix = (
            "Write with static partition overwrite (or replaceWhere), or change the table "
            "property if dynamic overwrite is meant to be allowed."
        )
    return Finding(
        f"{cause}: the job's configuration, not the data",
        (
            fix,
            "Check where the job sets it (notebook or job code, cluster Spark config, a cluster "
            "policy or the table's properties).",
            "Rerun the job once the configuration is corrected.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "options_set_together",
    "ConfigurationError",
    any_of(*signals.OPTIONS_SET_TOGETHER),
    example="[STDS_CONFLICT_OPTIONS] The options batchId, snapshotStartBatchId cannot be "
    "specified together. Please specify the one. SQLSTATE: 42613",
)
def options_set_together(m: re.Match[str], ctx: Context) -> Finding:
    listed, first, second, option, mode = (
        clean_value(group) if group else "" for group in m.groups()
    )
    if listed:
        which = f"the options {quoted(listed)}"
    elif first:
        which = f"{first} and {second}"
    else:
        which = f"{option} together with {mode} mode"
    return Finding(
        f"The read or write sets {which}, which cannot be used together: only one of them may "
        "be set, in the job's reader or writer options or session config",
        (
            f"Keep one of {which} in the reader or writer options (or the session config that "
            "sets it) and remove the other.",
            "If a parameter or a shared helper adds one of them, check which it sets for this run.",
            "Rerun the job once only one is set.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "delta_table_feature_missing",
    "ConfigurationError",
    any_of(*signals.DELTA_TABLE_FEATURE_MISSING),
    example="[DELTA_FEATURES_REQUIRE_MANUAL_ENABLEMENT] Your table schema requires manually "
    "enablement of the following table feature(s): timestampNtz.",
)
def delta_table_feature_missing(m: re.Match[str], ctx: Context) -> Finding:
    features = clean_value(m.group(1) or m.group(2))
    which = f"the table feature(s) {quoted(features)}" if features else "a table feature"
    return Finding(
        f"The Delta table does not have {which} enabled, which its schema or the operation "
        "needs: the table's protocol and properties, not the data",
        (
            f"Enable {which} on the table (ALTER TABLE ... SET TBLPROPERTIES "
            "('delta.feature.<name>' = 'supported')), after checking that every reader and "
            "writer of the table supports it.",
            "Or write the data without what needs the feature (e.g. cast TIMESTAMP_NTZ "
            "columns to TIMESTAMP).",
            "Rerun the job once the table has the feature.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "table_location_not_delta",
    "ConfigurationError DataError",
    any_of(*signals.TABLE_LOCATION_NOT_DELTA),
    example="[DELTA_CREATE_TABLE_WITH_NON_EMPTY_LOCATION] Cannot create table "
    "('`main`.`sales`.`orders`'). The associated location "
    "('abfss://lake@stlakeprod.dfs.core.windows.net/sales/orders') is not empty and also not a "
    "Delta table. SQLSTATE: 42601",
)
def table_location_not_delta(m: re.Match[str], ctx: Context) -> Finding:
    if m.group(1):
        location = clean_value(m.group(1), 200)
        problem = "is not empty but holds no Delta table (it has no _delta_log)"
    else:
        location = clean_value(m.group(2), 200)
        if location.endswith("/_delta_log"):
            location = location[: -len("/_delta_log")]
        problem = "has no Delta transaction log (_delta_log), so nothing wrote a Delta table there"
    return Finding(
        f"The table's location {quoted(location)} {problem}: the table definition points at "
        "the wrong path, or the upstream job does not write Delta there",
        (
            "Check the path in the CREATE TABLE (LOCATION) against where the upstream job "
            "writes; the location must be the table's root, where _delta_log is.",
            "If the files there are Parquet, convert them (CONVERT TO DELTA) or create the "
            "table at an empty location; make sure the upstream job writes format('delta').",
            "Rerun the job once the location holds the Delta table.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "default_database_missing",
    "ConfigurationError",
    any_of(*signals.DEFAULT_DATABASE_MISSING),
    example="[DEFAULT_DATABASE_NOT_EXISTS] Default database analytics does not exist, please "
    "create it first or change default database to `analytics`. SQLSTATE: 42704",
)
def default_database_missing(m: re.Match[str], ctx: Context) -> Finding:
    database = clean_value(m.group(1))
    return Finding(
        f"The session's default database {quoted(database)} does not exist: the cluster or "
        "job config (or a USE statement) names a database that was never created or was "
        "dropped",
        (
            f"Create the database {quoted(database)}, or change the default database the "
            "cluster or job sets to one that exists.",
            "Check for a typo or a catalog the cluster cannot see (Unity Catalog or Hive "
            "metastore).",
            "Rerun the job once the default database exists.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "dbt_project_unreadable",
    "ConfigurationError",
    any_of(*signals.DBT_PROJECT_UNREADABLE),
    example="Encountered an error:\nRuntime Error\n  fatal: Not a dbt project (or any of the "
    "parent directories). Missing dbt_project.yml file",
)
def dbt_project_unreadable(m: re.Match[str], ctx: Context) -> Finding:
    if m.group(1):
        path = clean_value(m.group(1))
        value = clean_value(m.group(2))
        cause = (
            f"The project's dbt_project.yml has the value {value} at {path}, which dbt does not "
            "accept (for name: letters, digits and underscores, not starting with a digit)"
        )
        fix = f"Correct the setting at {path} in dbt_project.yml."
    else:
        cause = (
            "The dbt command ran where there is no dbt project: no dbt_project.yml in its "
            "working directory or any parent"
        )
        fix = (
            "Run dbt from the project's directory, or pass --project-dir (or set "
            "DBT_PROJECT_DIR) to where dbt_project.yml is; check the checkout or image has it."
        )
    return Finding(
        f"{cause}: the project's setup, before any model ran",
        (
            fix,
            "Run dbt debug in the same environment to check the project and profile load.",
            "Rerun the job once dbt can read the project.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "redis_sentinel_misconfigured",
    "ConfigurationError",
    any_of(*signals.REDIS_SENTINEL_MISCONFIGURED),
    example="kombu.exceptions.OperationalError: No master found for 'mymaster'",
)
def redis_sentinel_misconfigured(m: re.Match[str], ctx: Context) -> Finding:
    """A Celery broker behind Redis Sentinel: no master_name given, or none the Sentinels know."""
    if m.group(1):
        master = quoted(clean_value(m.group(1)))
        cause = (
            f"The Celery broker is reached through Redis Sentinel, and the Sentinels answered "
            f"that they know no master named {master}: the master_name in the broker's transport "
            "options differs from the name the Sentinels monitor, the Sentinels refused the "
            "connection (a Sentinel password unset in sentinel_kwargs), or the master is down "
            "with no replica promoted"
        )
    else:
        cause = (
            "The Celery broker URL is a sentinel:// URL but its transport options set no "
            "master_name, so Celery cannot ask the Sentinels which Redis is the master"
        )
    return Finding(
        cause,
        (
            "Set [celery_broker_transport_options] master_name (Airflow: "
            "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__MASTER_NAME) to the name in the "
            "Sentinels' `sentinel monitor` line, on the scheduler, every worker and Flower.",
            "If the Sentinels need a password, pass it in sentinel_kwargs; check with "
            "`redis-cli -p 26379 sentinel get-master-addr-by-name <name>`.",
            "Restart the scheduler, workers and Flower so they read the settings.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "node_count_out_of_range",
    "ConfigurationError",
    any_of(*signals.NODE_COUNT_OUT_OF_RANGE),
    example="A Spark pool cannot have 2 nodes; it must have between 3 and 200 nodes.",
)
def node_count_out_of_range(m: re.Match[str], ctx: Context) -> Finding:
    count, low, high = m.group(1), m.group(2), m.group(3)
    return Finding(
        f"The Spark pool is set to {count} node(s), but a Synapse Spark pool must have "
        f"between {low} and {high} nodes: its node count (or autoscale minimum) in the "
        "template, Terraform or portal settings is below the minimum",
        (
            f"Set the pool's node count, or autoscale's minimum and maximum, to between {low} "
            f"and {high}.",
            "Redeploy the pool (or the template that creates it) and check the deployment "
            "succeeds before anything uses the pool.",
            "Rerun the pipelines that need the pool once it exists with a valid size.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "workspace_failed_state",
    "ConfigurationError",
    any_of(*signals.WORKSPACE_FAILED_STATE),
    example="The workspace 'dbw-analytics-prod' is in a failed state and cannot be launched. "
    "Please review error details in the activity log tab and retry your operation.",
)
def workspace_failed_state(m: re.Match[str], ctx: Context) -> Finding:
    workspace = clean_value(m.group(1))
    return Finding(
        f"The Azure Databricks workspace {quoted(workspace)} cannot be opened because its "
        "deployment failed (provisioning state Failed): nothing in it can run until the "
        "deployment succeeds. Its activity log names why (a quota or account limit, the "
        "virtual network or subnets, a policy denying a resource, the managed resource group)",
        (
            "Read the workspace's activity log in the Azure portal for the failed deployment "
            "operation and its error.",
            "Fix that cause (request the quota, correct the VNet injection settings, allow the "
            "resources the policy denies), then redeploy or update the workspace.",
            "Rerun the jobs once the workspace's state is Succeeded.",
        ),
        0.65,
        transient=False,
    )


@rule(
    "workload_classification_failed",
    "ConfigurationError",
    any_of(*signals.WORKLOAD_CLASSIFICATION_FAILED),
    example="[42000] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]Failed to classify the "
    "current request into a workload group.",
)
def workload_classification_failed(m: re.Match[str], ctx: Context) -> Finding:
    return Finding(
        "The dedicated SQL pool's workload management could not place the request in a "
        "workload group: a workload classifier maps the login or its role to a group that "
        "was dropped or has no resources left to give, or the classifiers conflict",
        (
            "List the classifiers and groups (sys.workload_management_workload_classifiers, "
            "sys.workload_management_workload_groups) and the one matching the pipeline's "
            "login or role.",
            "Point that classifier at an existing group with resources, or drop it so the "
            "request takes the default group.",
            "Rerun the query once a classifier places the login in a group that exists.",
        ),
        0.6,
        transient=False,
    )


@rule(
    "location_overlaps_managed_storage",
    "ConfigurationError",
    r"\blocation_overlap\]? input path url '([^'\n]{0,300})' overlaps with managed storage\b",
    example="[RequestId=0f4e1c2a-7b3d-4e5f-8a9b-1c2d3e4f5a6b "
    "ErrorClass=INVALID_PARAMETER_VALUE.LOCATION_OVERLAP] Input path url "
    "'abfss://lake@stlake.dfs.core.windows.net/uc/root' overlaps with managed storage",
)
def location_overlaps_managed_storage(m: re.Match[str], ctx: Context) -> Finding:
    """A path under (or above) a Unity Catalog managed storage location, used as an external
    path or listed with a path-based command."""
    path = clean_value(m.group(1), 200)
    named = f" {quoted(path)}" if path else ""
    return Finding(
        f"The path{named} lies within (or contains) the managed storage location of a Unity "
        "Catalog metastore, catalog or schema: Unity Catalog reserves that storage for its "
        "managed tables, so a path-based read, listing (dbutils.fs.ls) or external table or "
        "volume there is refused",
        (
            "Reach managed tables by name (catalog.schema.table), not by their storage path.",
            "Put external tables, volumes and external locations in a folder outside every "
            "managed storage location (a sibling of the catalog's or schema's root).",
            "Rerun the job once it uses a path outside managed storage.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "gcp_billing_disabled",
    "ConfigurationError AuthenticationError",
    any_of(*signals.GCP_BILLING_DISABLED),
    example="google.api_core.exceptions.Forbidden: 403 Billing has not been enabled for this "
    "project. Enable billing at https://console.cloud.google.com/billing. DML queries are not "
    "allowed in the free tier. Set up a billing account to remove this restriction.",
)
def gcp_billing_disabled(m: re.Match[str], ctx: Context) -> Finding:
    """A Google Cloud project with no billing account, where BigQuery refuses what its free
    tier (the sandbox) does not allow: streaming inserts, DML, ..."""
    refused = grab(ctx.text, r"\b([\w ]{1,40}?) (?:is|are) not allowed in the free tier")
    what = f" ({clean_value(refused)} is not allowed there)" if refused else ""
    return Finding(
        "The Google Cloud project has no billing account enabled, so BigQuery runs it in the "
        f"free tier (the sandbox){what}: streaming inserts, DML statements and other paid "
        "operations are refused there. It is the project's billing setup, not the pipeline's "
        "credentials",
        (
            "Link a billing account to the project (Billing > My projects, or `gcloud billing "
            "projects link <project> --billing-account=<id>`), or run the job in a project "
            "that has one.",
            "Check the project the client bills its jobs to (the connection's project or "
            "billing project), which may differ from the one holding the data.",
            "Rerun the task once billing is enabled (allow a few minutes for it to apply).",
        ),
        0.75,
        transient=False,
    )


@rule(
    "mysql_binlog_not_ready",
    "ConfigurationError",
    any_of(*signals.MYSQL_BINLOG_NOT_READY),
    example="The MySQL server is not configured to use a FULL binlog_row_image, which is "
    "required for this connector to work properly. Change the MySQL configuration to use a "
    "binlog_row_image=FULL and restart the connector.",
)
def mysql_binlog_not_ready(m: re.Match[str], ctx: Context) -> Finding:
    """A MySQL server whose binary log a CDC connector (Debezium) cannot read as it needs."""
    setting = (m.group(1) or "").lower()
    if setting == "binlog_format":
        cause = (
            "The MySQL server writes its binary log in another binlog_format than ROW (STATEMENT "
            "or MIXED), and the change-data-capture connector (Debezium) reads row events only"
        )
        fix = "Set binlog_format=ROW on the server (my.cnf or the cloud parameter group)."
    elif setting == "binlog_row_image":
        cause = (
            "The MySQL server logs partial row images (binlog_row_image is not FULL), and the "
            "change-data-capture connector (Debezium) needs every column of each changed row"
        )
        fix = "Set binlog_row_image=FULL on the server (my.cnf or the cloud parameter group)."
    else:
        cause = (
            "The change-data-capture connector (Debezium) could not read the MySQL server's "
            "binary log position (SHOW MASTER STATUS returned none): the binary log is off "
            "(log_bin not set, or a managed instance with backups or binlog retention "
            "disabled), or the connector's user lacks REPLICATION CLIENT to run the statement"
        )
        fix = (
            "Turn the binary log on (log_bin with a server_id; on RDS/Aurora enable backups "
            "and set binlog retention) and run SHOW MASTER STATUS as the connector's user to "
            "check it returns a file and position."
        )
    return Finding(
        cause,
        (
            fix,
            "Grant the connector's user REPLICATION SLAVE, REPLICATION CLIENT, SELECT and "
            "RELOAD, and set binlog_format=ROW with binlog_row_image=FULL, as the connector's "
            "documentation lists.",
            "Restart the server if a static setting changed, then restart the connector.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "binlog_event_unknown",
    "ConfigurationError CodeError",
    any_of(*signals.BINLOG_EVENT_UNKNOWN),
    example="org.apache.kafka.connect.errors.ConnectException: Unknown event type 41\n\tat "
    "io.debezium.connector.mysql.MySqlStreamingChangeEventSource.wrap",
)
def binlog_event_unknown(m: re.Match[str], ctx: Context) -> Finding:
    """A binary-log event the MySQL binlog client (mysql-binlog-connector-java) cannot decode."""
    event = clean_value(m.group(1))
    return Finding(
        f"The MySQL binlog client the connector uses (Debezium's mysql-binlog-connector-java) "
        f"met binary-log event type {event}, which its version does not know: the server writes "
        "events of a newer MySQL version, or of another flavour (MariaDB, Percona, Aurora), than "
        "the connector supports, so the connector cannot decode the log past that event",
        (
            "Check the server's version and flavour against the connector's supported versions "
            "and upgrade the connector (or the binlog client it bundles) to one that knows the "
            "event.",
            "For MariaDB, use the connector's MariaDB support (connector.adapter=mariadb or the "
            "MariaDB connector); on MySQL, check settings that add event types (binlog "
            "transaction compression, row metadata).",
            "Restart the connector once it can read the event; if the log past it was purged, "
            "re-snapshot.",
        ),
        0.65,
        transient=False,
    )


@rule(
    "jdbc_driver_method_missing",
    "ConfigurationError CodeError",
    any_of(*signals.JDBC_DRIVER_METHOD_MISSING),
    example="java.lang.NoSuchMethodError: org.postgresql.jdbc.PgConnection.getQueryExecutor()"
    "Lorg/postgresql/core/QueryExecutor;",
)
def jdbc_driver_method_missing(m: re.Match[str], ctx: Context) -> Finding:
    """A connector (Spark's SQL Server connector, a Kafka Connect plugin) calling a JDBC driver
    method that the driver version on the classpath does not have."""
    cls = clean_value(m.group(1), 120)
    method = clean_value(m.group(2))
    return Finding(
        f"The connector called {cls}.{method}, which the JDBC driver on the classpath does not "
        "have (NoSuchMethodError): the connector was built against another version of the "
        "driver than the one loaded (an older driver bundled with the runtime, or two driver "
        "versions installed), not a fault in the job's own code",
        (
            "Check which driver versions the connector's release requires and which driver JAR "
            "the cluster loads (the runtime bundles one; cluster or job libraries may add "
            "another).",
            "Install the connector release matching the driver (or the driver version the "
            "connector needs) and remove the other driver JARs from the classpath.",
            "Restart the cluster (libraries load at start) and rerun the job.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "class_cast_same_name",
    "ConfigurationError CodeError",
    any_of(*signals.CLASS_CAST_SAME_NAME),
    example="java.lang.ClassCastException: class org.apache.kafka.common.serialization."
    "StringSerializer cannot be cast to class org.apache.kafka.common.serialization."
    "StringSerializer",
)
def class_cast_same_name(m: re.Match[str], ctx: Context) -> Finding:
    """A class cast to a class of the same name: one class loaded twice, by two loaders."""
    cls = clean_value(m.group(1), 120)
    return Finding(
        f"{cls} could not be cast to {cls}: the same class was loaded twice, by two class "
        "loaders, from two copies of its JAR (the library installed on the cluster and again "
        "in the job's fat JAR or packages, or a job server that loads the job's JAR beside its "
        "own), and an object of one copy was handed to code expecting the other",
        (
            f"Find the JARs that contain {cls} on the cluster, in the job's packages and in "
            "the application JAR, and keep one copy (mark it provided in the build, or remove "
            "the cluster library).",
            "Where a job server or notebook loads JARs itself, load the connector in one place "
            "only (spark.jars or the cluster's libraries).",
            "Restart the cluster or session so one copy is loaded, then rerun the job.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "mysql_unknown_database",
    "ConfigurationError DatabaseError",
    any_of(*signals.MYSQL_UNKNOWN_DATABASE),
    example="pymysql.err.OperationalError: (1049, \"Unknown database 'analytics'\")",
)
def mysql_unknown_database(m: re.Match[str], ctx: Context) -> Finding:
    database = clean_value(m.group(1))
    return Finding(
        f"The connection names the MySQL database {quoted(database)}, which the server it "
        "reached does not have (error 1049): a typo or wrong case in the connection URL or "
        "schema setting, a database not created yet in this environment, or a connection "
        "pointed at another server than the one holding it",
        (
            f"Run SHOW DATABASES on the server the connection reaches and compare with "
            f"{quoted(database)} (names are case-sensitive on Linux servers).",
            "Fix the database in the connection (JDBC URL path, the connection's schema, the "
            "connector's database setting), or create the database if it should exist.",
            "Rerun the task or restart the connector once the database is found.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "class_initialization_failed",
    "ConfigurationError CodeError",
    r"\bnoclassdeffounderror: could not initialize class ([\w$]{1,60}(?:\.[\w$]{1,60}){0,12})",
    example="java.lang.NoClassDefFoundError: Could not initialize class org.xerial.snappy.Snappy",
)
def class_initialization_failed(m: re.Match[str], ctx: Context) -> Finding:
    """A class whose static initializer failed earlier in the JVM: its later uses all fail."""
    cls = clean_value(m.group(1), 120)
    return Finding(
        f"The class {cls} is on the classpath but could not be initialised: its static "
        "initializer failed the first time the class was used (an ExceptionInInitializerError "
        "earlier in the executor's log), and every later use fails like this. That is usually a "
        "dependency conflict (two versions of a library it needs, e.g. Netty, gRPC, Guava or "
        "SLF4J) or a native library or resource it loads that is missing",
        (
            "Find the first error for the class in the driver or executor log (the "
            "ExceptionInInitializerError and what it wraps).",
            "Align the library versions it depends on (shade or exclude the conflicting "
            "dependency in the job's JAR, or match the runtime's versions), or install the "
            "native library it loads.",
            "Restart the cluster or session so the class loads fresh, then rerun the job.",
        ),
        0.65,
        transient=False,
    )


@rule(
    "serde_class_missing",
    "ConfigurationError",
    r"\bclass ((?:[\w$]{1,60}\.){1,12}[\w$]{0,60}serde[\w$]{0,60}) not found\b",
    example="MetaException(message:java.lang.ClassNotFoundException Class "
    "com.amazon.ionhiveserde.IonHiveSerDe not found)",
)
def serde_class_missing(m: re.Match[str], ctx: Context) -> Finding:
    """A Hive table whose SerDe (row format) class the engine reading it does not have."""
    serde = clean_value(m.group(1), 120)
    return Finding(
        f"The table's row format names the SerDe {serde}, and the engine reading it (Spark, "
        "Glue, Hive) does not have that class: the SerDe's JAR is not on its classpath, so the "
        "table cannot be read or written",
        (
            f"Add the JAR that provides {serde} to the job (Glue: --extra-jars; Spark: "
            "spark.jars or the cluster's libraries), or recreate the table with a SerDe the "
            "engine ships (for JSON, org.apache.hive.hcatalog.data.JsonSerDe or Spark's own "
            "JSON source).",
            "Check the crawler or DDL that created the table and the SerDe it chose.",
            "Rerun the job once the SerDe loads.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "gcp_api_disabled",
    "ConfigurationError AuthenticationError",
    any_of(*signals.GCP_API_DISABLED),
    example="403 BigQuery Storage API has not been used in project 123456789012 before or it is "
    "disabled. Enable it by visiting https://console.developers.google.com/apis/api/"
    "bigquerystorage.googleapis.com/overview?project=123456789012 then retry.",
)
def gcp_api_disabled(m: re.Match[str], ctx: Context) -> Finding:
    """A Google Cloud API the job calls that is not enabled in the project it bills."""
    api = clean_value(m.group(1).split(".")[-1])
    project = clean_value(m.group(2))
    return Finding(
        f"The {api} API is not enabled in Google Cloud project {project}, the project the "
        "request is billed to: it was never enabled there or was disabled, so every call to it "
        "is refused (accessNotConfigured), whatever the credentials",
        (
            f"Enable the {api} API in project {project} (APIs & Services > Library, or `gcloud "
            "services enable <service> --project <project>`), and wait a few minutes.",
            "If the job should bill another project, set its quota or billing project accordingly.",
            "Rerun the task once the API is enabled.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "adf_name_too_long",
    "ConfigurationError",
    any_of(*signals.ADF_NAME_TOO_LONG),
    example="Triggering Pipeline pl_load failed with Error ErrorCode=InvalidWorkflowRunActionName, "
    "ErrorMessage=Activity 'Copy each table from the source system into the data "
    "lakeComposeRuntimeVariables' has a length of '82' which exceeds the maximum limit of '80'..",
)
def adf_name_too_long(m: re.Match[str], ctx: Context) -> Finding:
    """A name Data Factory refuses at run time for its length: an activity's name with the
    suffix the service appends to it, or another entity's name over the service's limit."""
    length = grab(ctx.text, r"has a length of '?(\d{1,6})")
    limit = grab(ctx.text, r"exceeds the maximum limit of '?(\d{1,6})")
    named = re.search(
        r"\b(?:activity|pipeline|dataset|trigger) '([^'\n]{1,200})' has a length", ctx.text, re.I
    )
    raw = named.group(1) if named else ""
    suffix = "ComposeRuntimeVariables"
    appended = raw.endswith(suffix)
    name = clean_value(raw[: -len(suffix)] if appended else raw, 200)
    what = f"the name {quoted(name)}" if name else "a name"
    if appended:
        what = f"the activity name {quoted(name)} with the suffix '{suffix}' the service adds to it"
    sizes = (
        f" is {length} characters long, over the limit of {limit}"
        if length and limit
        else " is longer than the service allows"
    )
    why = (
        ": the service names an activity's run actions after the activity plus a suffix of its "
        "own, so an activity whose name fits when saved can still be too long when the pipeline "
        "runs"
        if appended
        else ""
    )
    return Finding(
        f"Data Factory refused to start the run because {what}{sizes}{why}",
        (
            "Shorten the activity's (or pipeline's) name so that it, with the suffix the error "
            "shows, stays within the limit, then publish.",
            "Update anything that refers to the old name (activity outputs in expressions, "
            "dependsOn conditions, monitoring queries).",
            "Trigger the pipeline again: the run fails before any activity starts, so nothing "
            "needs to be cleaned up.",
        ),
        0.8,
        transient=False,
    )


@rule(
    "dataflow_debug_row_limit",
    "ConfigurationError",
    any_of(*signals.DATAFLOW_DEBUG_ROW_LIMIT),
    example="DF-ARG-005 - Limit should be a > 0 - [12 40]",
)
def dataflow_debug_row_limit(m: re.Match[str], ctx: Context) -> Finding:
    """A mapping data flow's debug row limit that is not above zero."""
    return Finding(
        "The mapping data flow's debug settings have a row limit that is not above 0 (left "
        "blank or set to 0): Data Factory requires a positive number of rows for each source in "
        "a debug session or data preview (DF-ARG-005)",
        (
            "Open Debug settings in the data flow and set the row limit of each source to a "
            "number above 0 (the default is 1000).",
            "To test against the full data, run the data flow from a triggered pipeline run "
            "instead of data preview: the debug settings' row limit is for the debug session.",
        ),
        0.75,
        transient=False,
    )


# The DRDA security codepoints a DB2 authentication exchange names, and what each carries.
_DRDA_CODEPOINTS = {
    "USRIDPWD": "a user ID and password",
    "USRIDNWPWD": "a user ID, password and new password",
    "EUSRIDPWD": "an encrypted user ID and password",
    "EUSRIDNWPWD": "an encrypted user ID, password and new password",
}


@rule(
    "db2_security_mechanism",
    "ConfigurationError AuthenticationError",
    any_of(*signals.DB2_SECURITY_MECHANISM),
    example="Have not received expected codepoint: EUSRIDPWD. SQLSTATE=HY000 SQLCODE=-1040",
)
def db2_security_mechanism(m: re.Match[str], ctx: Context) -> Finding:
    """A DB2 connection whose DRDA authentication exchange lacked the security codepoint it
    expected: the two sides use different security mechanisms."""
    codepoint = clean_value(m.group(1)).upper()
    asked = _DRDA_CODEPOINTS.get(codepoint, "a security mechanism of its own")
    return Finding(
        f"The DB2 connection's authentication broke off: the exchange expected security "
        f"codepoint {codepoint} ({asked}) and did not receive it, so the server's security "
        "mechanism (SECMEC, the instance's AUTHENTICATION setting such as SERVER_ENCRYPT) and "
        "the connector's authentication settings do not agree. It is the connection's "
        "configuration, not a wrong password",
        (
            "Find the server's authentication type (db2 get dbm cfg: AUTHENTICATION, "
            "SRVCON_AUTH) and its required encryption algorithm.",
            "Set the linked service's or driver's security mechanism to match it (an encrypted "
            "user ID and password for SERVER_ENCRYPT), or have the DBA allow the mechanism the "
            "client uses; on a self-hosted integration runtime an ODBC/OLE DB driver from IBM "
            "may support mechanisms the built-in connector does not.",
            "Test the connection again once both sides agree.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "job_python_file_unreadable",
    "ConfigurationError",
    any_of(*signals.JOB_PYTHON_FILE_UNREADABLE),
    example="Cannot read the python file dbfs:/Shared/jobs/etl/../dist/entrypoint.py",
)
def job_python_file_unreadable(m: re.Match[str], ctx: Context) -> Finding:
    """A Databricks job's Python file the run cannot read."""
    path = clean_value(m.group(1), 300)
    file_name = path.rstrip("/").rsplit("/", 1)[-1]
    relative = "/../" in path or "/./" in path
    why = (
        ". The path has a relative segment ('..'), which the job does not resolve: the file "
        "is looked for under that literal path"
        if relative
        else ""
    )
    return Finding(
        f"The job's Python task points at {quoted(path)}, and the run could not read "
        f"{quoted(file_name)} there: the file is not there (not uploaded, or deployed to "
        f"another path or workspace) or the job's identity may not read it{why}",
        (
            "List the path (databricks fs ls / workspace ls) and deploy the file there, or point "
            "the task's python_file at where the deployment put it, as an absolute path.",
            "If a deployment tool builds the path, fix its artifact location so it yields a "
            "resolved path (no '..').",
            "Rerun the job once the file can be read.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "dbt_project_field_missing",
    "ConfigurationError",
    any_of(*signals.DBT_PROJECT_FIELD_MISSING),
    example='Encountered an error:\nRuntime Error\n  Required "version" field not present in '
    "project",
)
def dbt_project_field_missing(m: re.Match[str], ctx: Context) -> Finding:
    """A dbt_project.yml (or profile) without a field dbt requires."""
    field = clean_value(m.group(1))
    kind = m.group(2).lower()
    where = "dbt_project.yml" if kind == "project" else "the profile (profiles.yml)"
    return Finding(
        f"The dbt project could not be loaded: {where} has no '{field}' field, which dbt "
        "requires "
        "(the file dbt read is not the project's own, is empty or incomplete, or the field is "
        "misspelled or mis-indented)",
        (
            f"Add '{field}' to {where} (for the project: name, version and profile at the top "
            "level) and check it is the file the task runs against (--project-dir).",
            "For a package or nested project (dbt deps), check its own dbt_project.yml is "
            "complete.",
            "Run dbt debug in the task's environment, then rerun the task.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "delta_log_dir_missing",
    "ConfigurationError ExternalServiceError DataError",
    any_of(*signals.DELTA_LOG_DIR_MISSING),
    example="java.io.FileNotFoundException: No such file or directory: "
    "lakefs://repo/main/tables/orders/_delta_log\n\tat "
    "com.databricks.tahoe.store.DefaultLogStore.writeInternal(DefaultLogStore.scala:72)",
)
def delta_log_dir_missing(m: re.Match[str], ctx: Context) -> Finding:
    """A Delta commit the log store could not write, its _delta_log directory missing."""
    log = clean_value(m.group(1))
    scheme = log.split("://", 1)[0] if "://" in log else ""
    return Finding(
        f"Delta could not write the table's transaction log: the file system behind "
        f"'{scheme}://' answered that {log} does not exist when the log store wrote a commit: "
        "the file system did not create the log directory for the commit file (one that does "
        "not create a file's parent directories on write, a custom or object-store FileSystem "
        "such as lakeFS's, fails the first commit to a new table this way)",
        (
            f"Check the file system implementation configured for '{scheme}://' "
            "(spark.hadoop.fs.<scheme>.impl) and its version: use one whose create() makes "
            "missing parent directories, or the log store its vendor documents for Delta "
            "(spark.delta.logStore.<scheme>.impl).",
            "As a workaround, create the table's _delta_log directory before the first write.",
            "Rerun the write once the log directory can be created.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "bulk_copy_column_mapping_mismatch",
    "ConfigurationError DataError",
    any_of(*signals.BULK_COPY_COLUMN_MAPPING_MISMATCH),
    example='Exception calling "WriteToServer" with "1" argument(s): "The given ColumnMapping '
    'does not match up with any column in the source or destination."',
)
def bulk_copy_column_mapping_mismatch(m: re.Match[str], ctx: Context) -> Finding:
    """A SqlBulkCopy column mapping naming a column the source or the table lacks."""
    return Finding(
        "The bulk copy (SqlBulkCopy.WriteToServer) has a column mapping whose column name is "
        "not in the source or destination (the source rows or the table lack it): a misspelt "
        "name, a name whose case differs from the table's (mappings are case-sensitive), or, "
        "with no mappings given, source columns matched to the table by position",
        (
            "Compare each ColumnMapping's source and destination names with the reader's "
            "columns (e.g. the CSV header) and the table's columns, case included.",
            "Add an explicit mapping for every column copied, by name; leave out the table's "
            "columns the source does not have (identity or defaulted columns).",
            "Rerun the load once the mappings match.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "cosmos_dependency_not_found",
    "ConfigurationError DataError",
    any_of(*signals.COSMOS_DEPENDENCY_NOT_FOUND),
    example="ERROR [cosmos.providers.dbt.render] Dependency seed_countries not found for model "
    "DbtModel(name='dim_customers', type='DbtModelType.DBT_MODEL')",
)
def cosmos_dependency_not_found(m: re.Match[str], ctx: Context) -> Finding:
    """A dbt node a model depends on that astronomer-cosmos did not find when rendering."""
    dependency = clean_value(m.group(1))
    model = clean_value(m.group(2))
    return Finding(
        f"Cosmos (astronomer-cosmos) could not render the dbt project into tasks: model "
        f"'{model}' "
        f"depends on '{dependency}', which is not among the nodes Cosmos parsed (a seed, "
        "source or model the project's selection or load mode leaves out, or one whose file "
        "is not in the project directory the DAG points at)",
        (
            f"Check that '{dependency}' exists in the dbt project the DAG uses (dbt ls "
            f"--select {dependency}) and that the render config's select/exclude keeps it.",
            "For a seed, make sure it is part of the project (seeds path) or loaded before the "
            "task group; for another project's model, declare it as a source.",
            "Re-parse the DAG once the dependency is found.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "time_travel_unsupported_object",
    "ConfigurationError",
    any_of(*signals.TIME_TRAVEL_UNSUPPORTED_OBJECT),
    example="Error in SQL statement: AnalysisException: Cannot time travel views.",
)
def time_travel_unsupported_object(m: re.Match[str], ctx: Context) -> Finding:
    """A time-travel read of an object that keeps no history of its own (a view)."""
    kind = clean_value(m.group(1)).lower()
    return Finding(
        f"The query asked for an earlier version (VERSION AS OF, TIMESTAMP AS OF or the "
        f"versionAsOf option) of {kind}, which keep no history to travel to: only Delta tables "
        "have versions. A view (including a table a Delta Live Tables pipeline publishes as a "
        "view) has to be time travelled through the Delta tables it reads",
        (
            "Time travel the Delta table behind the view (its name is in SHOW CREATE TABLE or "
            "the pipeline's definition) and apply the view's logic to that version.",
            "If the object should have history, materialize it as a Delta table (a "
            "materialized view or streaming table in a pipeline, or CREATE TABLE AS) and read "
            "its versions instead.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "bigquery_field_addition_refused",
    "ConfigurationError DataError",
    any_of(*signals.BIGQUERY_FIELD_ADDITION_REFUSED),
    example="BigQuery error in load operation: Invalid schema update. Cannot add fields (field: "
    "payload.device_os)",
)
def bigquery_field_addition_refused(m: re.Match[str], ctx: Context) -> Finding:
    """A BigQuery load or query writing a field its destination table lacks, without the schema
    update option that allows adding it."""
    field = clean_value(m.group(1), 300)
    return Finding(
        f"BigQuery refused to add the field {quoted(field)} to the destination table: the data "
        "written has a field the table's schema lacks (the source gained it), and the job did "
        "not allow schema updates, so BigQuery keeps the table's schema and fails the job",
        (
            "Allow the job to add fields: schemaUpdateOptions ALLOW_FIELD_ADDITION (with "
            "WRITE_APPEND, or WRITE_TRUNCATE on a partition), e.g. the load operator's "
            "schema_update_options or bq load --schema_update_option=ALLOW_FIELD_ADDITION.",
            f"Or add {quoted(field)} to the table's schema first (ALTER TABLE ... ADD COLUMN, "
            "or bq update with the new schema) and rerun the job.",
            "If the field should not be loaded, select only the table's columns in the query "
            "or give the load an explicit schema.",
        ),
        0.8,
        transient=False,
    )


@rule(
    "adf_plugin_type_unknown",
    "ConfigurationError",
    any_of(*signals.ADF_PLUGIN_TYPE_UNKNOWN),
    example="ErrorCode=UserErrorInvalidPluginType,'Type=Microsoft.DataTransfer.Common.Shared."
    "PluginNotRegisteredException,Message=Invalid type 'SalesforceV2' is provided in "
    "'linkedServices'. Please correct the type in payload and retry.,Source=Microsoft."
    "DataTransfer.ClientLibrary,'",
)
def adf_plugin_type_unknown(m: re.Match[str], ctx: Context) -> Finding:
    """A Data Factory connector type the runtime that runs the activity does not know."""
    kind = grab(ctx.text, r"invalid type '([\w.-]{1,100})' is provided in")
    section = grab(ctx.text, r"is provided in '(\w{1,40})'")
    what = f"the type {quoted(kind)}" if kind else "a connector type"
    where = f" in '{section}'" if section else ""
    return Finding(
        f"The integration runtime that ran the activity does not know {what}{where}: the "
        "connector (often a new version of it) is not registered in that runtime, typically a "
        "self-hosted integration runtime older than the connector, or a connector that a copy "
        "supports only on one side (source, not sink) or only on another runtime",
        (
            "Update the self-hosted integration runtime to the latest version, or run the "
            "activity on the Azure integration runtime if the data store is reachable from it.",
            "Check the connector's documentation for the activities and sides (source or sink) "
            "it supports; copy through a staging store (Parquet in Blob or ADLS) where the "
            "pair is not supported directly.",
            "If the new connector version cannot run there yet, keep the linked service on the "
            "previous version until it can.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "adf_tumbling_trigger_update_refused",
    "ConfigurationError",
    any_of(*signals.ADF_TUMBLING_TRIGGER_UPDATE_REFUSED),
    example="TumblingWindowTriggerStartTimeUpdateNotAllowed",
)
def adf_tumbling_trigger_update_refused(m: re.Match[str], ctx: Context) -> Finding:
    """A change Data Factory refuses to a tumbling window trigger that has already started."""
    raw = clean_value(m.group(1))
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", raw).lower()
    changed = words or "a setting"
    return Finding(
        f"Data Factory refused to publish a tumbling window trigger whose {changed} changed: "
        "once such a trigger has started, its frequency, interval and start time are fixed, "
        "because its windows (and their runs and dependencies) are computed from them",
        (
            "Keep the trigger's frequency, interval and start time as deployed, or stop the "
            "trigger, delete it and create it again (under the same or a new name) with the "
            "new values; the new trigger's windows start afresh from its start time.",
            "Set the new trigger's start time so it does not re-run windows that already ran, "
            "and re-create the dependencies other triggers had on it.",
            "In CI/CD, deploy trigger definitions unchanged unless a re-creation is intended "
            "(the deployment stops and restarts triggers but cannot alter these values).",
        ),
        0.75,
        transient=False,
    )


@rule(
    "airflow_dag_run_not_found",
    "ConfigurationError DataError",
    any_of(*signals.AIRFLOW_DAG_RUN_NOT_FOUND),
    example="airflow.exceptions.DagRunNotFound: DagRun for sales_daily with run_id or "
    "execution_date of '2024-01-01' not found",
)
def airflow_dag_run_not_found(m: re.Match[str], ctx: Context) -> Finding:
    """An Airflow command given a DAG run that does not exist."""
    dag = grab(ctx.text, r"dagrun for ([\w.-]{1,250}) with run_id")
    run = grab(ctx.text, r"with run_id or execution_date of '([^'\n]{1,200})'")
    what = f"DAG {quoted(dag)}" if dag else "the DAG"
    which = f" for {quoted(run)}" if run else ""
    return Finding(
        f"Airflow found no run of {what}{which}: since Airflow 2.2 a task instance belongs to "
        "a DAG run, and commands such as airflow tasks run or airflow tasks state take an "
        "existing run's run_id or logical date; none was created for this one (the DAG was "
        "never scheduled or triggered for it, or the run was deleted)",
        (
            f"Create the run first (airflow dags trigger {dag or '<dag_id>'} with that logical "
            "date, or a backfill) and then run the task, or pass an existing run's run_id.",
            "To try a task without a DAG run, use airflow tasks test, which creates a "
            "temporary run and records nothing.",
            "Check the date format and time zone: the logical date must match the run's exactly.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "program_not_found",
    "ConfigurationError DataError",
    any_of(*signals.PROGRAM_NOT_FOUND),
    example='org.apache.spark.SparkException: Cannot run program "/opt/conda/bin/python3.7": '
    "error=2, No such file or directory",
)
def program_not_found(m: re.Match[str], ctx: Context) -> Finding:
    """A program the JVM was told to start (a Python interpreter, a script) that is not there."""
    program = clean_value(m.group(1))
    return Finding(
        f"The job could not start the program {quoted(program)}: no file is at that path on "
        "the node that ran it (error=2, no such file or directory). A setting names an "
        "interpreter or executable the node does not have: for PySpark, PYSPARK_PYTHON or "
        "spark.pyspark.python pointing at a Python that is not installed there, or at another "
        "version than the image carries",
        (
            f"Check on the node that failed that {quoted(program)} exists and is executable "
            "(ls -l); install it there, or point the setting at the interpreter the node has.",
            "Set the same interpreter path for the driver and the executors "
            "(spark.pyspark.python, spark.pyspark.driver.python, or PYSPARK_PYTHON in the "
            "cluster's environment), and keep it in step with the image.",
            "Rerun once the path resolves; the job repeats this error until it does.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "azure_sdk_parameter_none",
    "ConfigurationError CodeError",
    any_of(*signals.AZURE_SDK_PARAMETER_NONE),
    example="msrest.exceptions.ValidationError: Parameter 'ExecuteDataFlowActivity.data_flow' "
    "can not be None.",
)
def azure_sdk_parameter_none(m: re.Match[str], ctx: Context) -> Finding:
    """An Azure SDK request refused before it was sent: a required parameter is None."""
    parameter = clean_value(m.group(1))
    return Finding(
        f"The Azure SDK refused the request before sending it: the required parameter "
        f"{quoted(parameter)} is None. The code (or the definition it built, e.g. a Data "
        "Factory pipeline, activity or dataset object) left that property unset, or read it "
        "back from the service with an SDK version that does not fill it in",
        (
            f"Set {quoted(parameter)} on the object before the call (for a Data Factory "
            "activity, its reference to the data flow, dataset or linked service).",
            "When the object was read back from the service, upgrade the SDK "
            "(azure-mgmt-datafactory) to a version whose model carries that property, or set "
            "it again before sending the object.",
            "Rerun once the parameter has a value; the call fails the same way until then.",
        ),
        0.7,
        transient=False,
    )
