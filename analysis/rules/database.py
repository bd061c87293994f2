"""Database failures: deadlocks, concurrent commits, lock waits, connection limits, missing
objects, names a query could not resolve, tables a CREATE finds already there, unreachable or
unavailable servers, vendor error codes.
"""

from __future__ import annotations

import re

from analysis import signals
from analysis.rules.base import Context, Finding, rule
from analysis.rules.extract import clean_value, find_host, grab, quoted
from analysis.signals import any_of


@rule(
    "replica_conflict",
    "DatabaseError",
    any_of(*signals.REPLICA_CONFLICT),
    example=(
        "psycopg2.errors.SerializationFailure: canceling statement due to conflict with recovery"
    ),
)
def replica_conflict(m: re.Match[str], ctx: Context) -> Finding:
    host = find_host(ctx.text)
    return Finding(
        f"the read replica{' ' + host if host else ''} cancelled the query to apply changes "
        "from the primary (a conflict with recovery), not a slow query or a timeout",
        (
            "Rerun: the conflict lasts only while the replica replays the primary's changes.",
            "For long reads on a PostgreSQL hot standby, turn on hot_standby_feedback or raise "
            "max_standby_streaming_delay on the replica.",
            "Or read from the primary, or from a replica kept for long analytical queries.",
        ),
        0.7,
        transient=True,
    )


@rule(
    "deadlock",
    "DatabaseError",
    any_of(*signals.DEADLOCK),
    example=(
        "psycopg2.errors.SerializationFailure: could not serialize access due to concurrent update"
    ),
)
def deadlock(m: re.Match[str], ctx: Context) -> Finding:
    code = grab(
        ctx.text,
        r"sqlerrornumber=(\d+)",
        r"(?:ERROR|invalid operation):? (\d{4})\b",
        r"(40P01|40001)",
        r"'M': '(\d{4})'",
    )
    code_text = f" (error {code})" if code else ""
    if "serializ" in m.group(0).lower():
        # A serialization failure (PostgreSQL "could not serialize access due to concurrent
        # update", Redshift 1023 "Serializable isolation violation on table - 100167"): no lock
        # was waited on; a concurrent transaction changed what this one read.
        table = grab(
            ctx.text,
            r"\bupdate [`\"\[]?([\w.]+)[`\"\]]?\s+set\b",
            r"\binsert into [`\"\[]?([\w.]+)",
            r"\bdelete from [`\"\[]?([\w.]+)",
        )
        table_id = grab(ctx.text, r"isolation violation on table - (\d+)")
        what = (
            f"table {quoted(table)}"
            if table
            else f"the table with id {table_id}"
            if table_id
            else "the rows"
        )
        concurrent = grab(ctx.text, r"due to concurrent (update|delete)")
        by = f" (a concurrent {concurrent})" if concurrent else ""
        cause = (
            f"the transaction was rolled back on a serialization conflict{code_text}: another "
            f"transaction changed {what} this one read or wrote{by}"
        )
    else:
        cause = (
            f"the transaction was chosen as a deadlock victim{code_text}: another session held "
            "locks this write needed"
        )
    return Finding(
        cause,
        (
            "Rerun the failed run: a deadlock victim can be retried safely if the step is "
            "idempotent.",
            "Add an automatic retry for deadlock errors to the activity or task.",
            "Avoid concurrent writers to the same table (serialise the pipelines, or partition "
            "the writes).",
            "Keep transactions short and access tables in the same order; index the columns "
            "used in the write's filters.",
        ),
        0.75,
        transient=True,
    )


@rule(
    "concurrent_commit",
    "DatabaseError",
    any_of(*signals.CONCURRENT_COMMIT),
    example=(
        "org.apache.iceberg.exceptions.CommitFailedException: Base metadata location "
        "'s3://lake/db/orders/metadata/00010.metadata.json' is not same as the current table "
        "metadata location 's3://lake/db/orders/metadata/00011.metadata.json' for db.orders"
    ),
)
def concurrent_commit(m: re.Match[str], ctx: Context) -> Finding:
    table = grab(ctx.text, r"current table metadata location '[^']*' for ([\w.-]+)")
    which = f"table {quoted(table)}" if table else "the table"
    # What the engine says conflicted: Delta's exception ("ConcurrentAppendException: Files
    # were added to the root of the table by a concurrent update"), the winning commit's
    # operation ('Conflicting commit: {..."operation":"OPTIMIZE"'), an Iceberg branch.
    exception = grab(
        ctx.text,
        r"\b(Concurrent\w{0,30}Exception|(?:Metadata|Protocol)ChangedException)\b",
        r"\b(DELTA_CONCURRENT_\w{1,40})",
    )
    stated = grab(
        ctx.text,
        r"((?:files were added|this transaction attempted to (?:read|delete) one or more files)"
        r"[^\n.]{0,160}by a concurrent update)",
        r"(the (?:metadata|protocol version) of the delta table has been changed by a "
        r"concurrent update)",
        r"(branch [\w.-]{1,100} (?:has changed|was created concurrently))",
        r"(version mismatch)",
    )
    winner = grab(ctx.text, r'conflicting commit: \{[^\n]{0,200}?"operation":"([^"]{1,60})"')
    details = [part for part in (exception, stated) if part]
    if winner:
        details.append(f"conflicting commit: {winner}")
    said = f" ({'; '.join(details)})" if details else ""
    return Finding(
        f"another writer committed to {which} first, so this commit was based on stale "
        f"metadata and was refused (optimistic concurrency conflict){said}",
        (
            "Rerun the step: the conflict passes once the other writer has committed.",
            f"Avoid concurrent writers to {which} (serialise the jobs, or write to separate "
            "partitions), or raise the commit retry settings (Iceberg "
            "commit.retry.num-retries; a retry around Delta writes).",
            "Check that no two jobs or streams were scheduled to write it at the same time "
            "(e.g. an OPTIMIZE or VACUUM job overlapping a load).",
        ),
        0.7,
        transient=True,
    )


@rule(
    "lock_timeout",
    "DatabaseError TimeoutError",
    r"lock wait timeout|lock request time ?out|could not obtain lock|resource busy and acquire"
    r"|waiters for this lock|has locked table|lock (?:has )?not (?:yet )?been released"
    r"|lock ?not ?available|waiting for (?:a |the )?(?:table |row |metadata )?lock",
    example=('psycopg2.errors.LockNotAvailable: could not obtain lock on relation "orders"'),
)
def lock_timeout(m: re.Match[str], ctx: Context) -> Finding:
    table = grab(
        ctx.text,
        r"locked table '([^']+)'",
        r"lock on (?:relation|table) \"?([\w.]+)",
        r"lock for table '?([\w.]+)",
    )
    on = f" on table {quoted(table)}" if table else ""
    waiters = grab(ctx.text, r"waiters for this lock exceeds the (\d+) statements? limit")
    if waiters:
        cause = (
            f"the statement was aborted waiting for a lock{on}: another transaction held it "
            f"and more than {waiters} statements were already queued for it"
        )
    else:
        cause = f"the statement waited too long for a lock{on} held by another session"
    return Finding(
        cause,
        (
            "Find the blocking session at the time of failure (e.g. sys.dm_exec_requests, "
            "pg_locks, SHOW ENGINE INNODB STATUS).",
            "Reschedule the pipeline away from the conflicting job or serialise them.",
            "Keep transactions short and commit in smaller batches.",
            "Rerun the failed run once the blocker is gone.",
        ),
        0.7,
        transient=True,
    )


@rule(
    "too_many_connections",
    "DatabaseError ResourceExhaustion",
    r"too many (?:connections|clients)|remaining connection slots|max_user_connections"
    r"|queuepool limit",
    example="pymysql.err.OperationalError: (1040, 'Too many connections')",
)
def too_many_connections(m: re.Match[str], ctx: Context) -> Finding:
    role = grab(ctx.text, r'for role "([^"]+)"', r"for user '([^']+)'")
    scope = f" for role {quoted(role)}" if role else ""
    return Finding(
        f"the database connection limit{scope} was reached",
        (
            "Reduce the number of parallel tasks or activities opening connections at once "
            "(pool or concurrency limits).",
            "Put a connection pooler (e.g. PgBouncer) in front of the database or size the "
            "client pool correctly.",
            "Look for leaked or idle connections and close them; set idle timeouts.",
            "If the load is legitimate, raise the server's or role's connection limit.",
        ),
        0.7,
    )


@rule(
    "db_pool_exhausted",
    "ResourceExhaustion DatabaseError TimeoutError",
    any_of(*signals.DB_POOL_EXHAUSTED),
    example="java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not "
    "available, request timed out after 30000ms.",
)
def db_pool_exhausted(m: re.Match[str], ctx: Context) -> Finding:
    pool = grab(ctx.text, r"\b(HikariPool-\d+)\b")
    waited = grab(ctx.text, r"request timed out after (\d+ ?ms)")
    named = f" {quoted(pool)}" if pool else ""
    within = f" within {waited}" if waited else ""
    return Finding(
        f"the client's database connection pool{named} had no free connection to give{within}: "
        "every pooled connection was in use (too many parallel queries or leaked connections) "
        "or the database was slow to open new ones",
        (
            "Compare the pool's maximum size (e.g. HikariCP maximumPoolSize) with the parallel "
            "tasks, partitions or threads that query the database at once.",
            "Look for connections that are never closed (a reader or writer not closed after "
            "use) and for long-running queries holding them.",
            "Check that the database accepts new connections quickly (its load, its "
            "connection limit) at the failure time.",
            "Rerun once parallelism or the pool size fits.",
        ),
        0.7,
    )


@rule(
    "missing_db_object",
    "DatabaseError DataError ConfigurationError",
    r"invalid object name '([^']+)'|relation \"([^\"]+)\" does not exist"
    r"|object '([^']+)' does not exist|table or view not found:? `?([\w.`]+)"
    r"|table or view `?([\w.`]+)`? cannot be found|ORA-00942|cannot find the object \"([^\"]+)\""
    r"|not found: table ([\w.:-]+)",
    example="cx_Oracle.DatabaseError: ORA-00942: table or view does not exist",
)
def missing_db_object(m: re.Match[str], ctx: Context) -> Finding:
    name = clean_value(next((g for g in m.groups() if g), "").replace("`", ""))
    obj = f"table or view {quoted(name)}" if name else "a referenced table or view"
    maybe_auth = "not authorized" in ctx.text.lower() or "permission" in ctx.text.lower()
    cause = f"{obj} does not exist"
    cause += " or the connecting user cannot see it" if maybe_auth or not name else ""
    return Finding(
        cause,
        (
            f"Check that {obj} exists in the database and schema the connection points to "
            "(name, case and quoting).",
            "Check whether an upstream job that creates or renames it failed or changed.",
            "Verify the connecting user has access (e.g. USAGE on the schema, SELECT on the "
            "object).",
            "Rerun the failed run after the object is in place.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "db_unreachable",
    "DatabaseError NetworkError",
    r"cannot connect to sql database|sqlfailedtoconnect|could not open a connection to sql server"
    r"|server was not found or was not accessible|can't connect to \w+ server"
    r"|could not connect to server|connection to server at .{0,120}failed"
    r"|lost connection to mysql|tns:no listener|cannot connect to server"
    r"|network-related or instance-specific error|server is not found or not accessible"
    # A Hive metastore (Trino, Spark, Hive CLI) that does not answer.
    r"|(?:unable to instantiate|could not connect to|failed to connect to|failed connecting to)"
    r" (?:the )?(?:hive )?\S*metastore|error communicating with (?:the )?\S*metastore",
    example="cx_Oracle.DatabaseError: ORA-12541: TNS:no listener",
)
def db_unreachable(m: re.Match[str], ctx: Context) -> Finding:
    if "metastore" in m.group(0).lower():
        address = grab(ctx.text, r"metastore:? \[?((?:thrift://)?[\w.-]{1,100}:\d{2,5})")
        where = f" at {address}" if address else ""
        # What the engine was doing ("FAILED: Error in acquiring locks: Error communicating
        # with the metastore"): a verb, not the Hive CLI's "Error in metadata:".
        during = grab(ctx.text, r"\berror (?:in|while) ([a-z]{1,30}ing\b[\w ]{0,40}?): ")
        where += f" while {during}" if during else ""
        return Finding(
            f"the pipeline could not connect to the Hive metastore{where}: the metastore "
            "service is down, still starting, or unreachable from the engine",
            (
                "Check that the metastore service (and the database behind it) is running and "
                "listening on its thrift port.",
                "Verify hive.metastore.uri(s) in the catalog or cluster configuration and that "
                "the engine's nodes can reach that host and port.",
                "Rerun once the metastore answers.",
            ),
            0.65,
        )
    server = grab(
        ctx.text, r"server: '([^'\s]+)'", r"sql database: '([^'\s]+)'", r"on server '([^'\s]+)'"
    ) or find_host(ctx.text)
    db = grab(ctx.text, r"(?<!sql )database: '([^'\s(]+)", r"database '([^'\s]+)' on server")
    target = (f"database server {server}" if server else "the database server") + (
        f" (database {db})" if db else ""
    )
    pooler = grab(ctx.text, r"\b(pgbouncer|pgpool|proxysql|odyssey)\b")
    if pooler:
        return Finding(
            f"the connection pooler {pooler} could not connect to {target} behind it",
            (
                f"Check {pooler}'s own log for the reason it could not reach {target}.",
                f"Check that the database host, port and credentials in {pooler}'s "
                "configuration are current (failover, rotated password).",
                f"Check that {target} is online and accepting connections from {pooler}.",
                "Rerun once the pooler reaches the database again.",
            ),
            0.65,
        )
    cause = f"the pipeline could not connect to {target}"
    if re.search(r"(?:was|is) not found or (?:was )?not accessible", ctx.text, re.I):
        # The SQL Server client's verdict, whatever login timeout it printed with it.
        cause += " (the client found the server not found or not accessible: network-related)"
    return Finding(
        cause,
        (
            f"Check that {target} is online and accepting connections (paused, failed over or "
            "restarting?).",
            "Verify the server name, port and instance in the linked service or connection.",
            "Check that firewalls or network rules allow the integration runtime, worker or "
            "cluster to reach the database port.",
            "Add a retry with backoff for transient connection failures, then rerun.",
        ),
        0.65,
    )


@rule(
    "db_unavailable",
    "DatabaseError ExternalServiceError",
    any_of(
        *signals.DB_UNAVAILABLE,
        r"is not currently available",
        r"database system is (?:in recovery|starting up|shutting down)",
        r"database is locked",
    ),
    example=("psycopg2.OperationalError: FATAL:  the database system is in recovery mode"),
)
def db_unavailable(m: re.Match[str], ctx: Context) -> Finding:
    code = grab(ctx.text, r"sqlerrornumber=(\d+)", r"(ORA-\d{5})")
    lowered = ctx.text.lower()
    if "snapshot too old" in lowered:
        cause = "a long-running query outlived the database's undo retention (snapshot too old)"
    elif "database is locked" in lowered:
        cause = "the database file was locked by another writer"
    else:
        cause = "the database was temporarily unavailable (failover, restart or recovery)"
    if code:
        cause += f" ({code})"
    return Finding(
        cause,
        (
            "Rerun the failed run once the database reports healthy.",
            "Add a retry with backoff for transient availability errors.",
            "Check the database's activity log or service health for a failover, scaling "
            "operation or maintenance at that time.",
            "Schedule heavy pipelines outside maintenance windows.",
        ),
        0.6,
        transient=True,
    )


@rule(
    "db_connection_closed",
    "DatabaseError NetworkError",
    r"connection is closed|sqlconnectionisclosed|server closed the connection unexpectedly"
    r"|connection was closed by sql",
    example=("com.microsoft.sqlserver.jdbc.SQLServerException: The connection is closed."),
)
def db_connection_closed(m: re.Match[str], ctx: Context) -> Finding:
    return Finding(
        "the database connection was closed while the pipeline was still using it",
        (
            "Check the database logs at that time for restarts, failovers or sessions killed "
            "by an administrator or resource governor.",
            "Check idle or session timeouts on the server, proxies and load balancers in between.",
            "Reduce concurrent writers if the server drops connections under load.",
            "Add a retry for transient connection loss, then rerun.",
        ),
        0.6,
    )


# Oracle codes that only wrap or locate the error under them: a recursive SQL level, a PL/SQL
# line, a database link, a parallel query server, a package state reset whose reason follows.
_ORACLE_WRAPPERS = frozenset(
    {"ORA-00604", "ORA-06512", "ORA-02063", "ORA-12801", "ORA-04068", "ORA-06510", "ORA-29400"}
)
_ORACLE_CODE = re.compile(r"\b(ORA-\d{5}):?[ \t]*((?:(?!\bORA-\d{5})[^\n])*)")


@rule(
    "oracle_error",
    "DatabaseError",
    r"\b(ORA-\d{5})\b",
    example="cx_Oracle.DatabaseError: ORA-12170: TNS:Connect timeout occurred",
)
def oracle_error(m: re.Match[str], ctx: Context) -> Finding:
    # The first code that is not a wrapper says what went wrong ("ORA-00604: error occurred at
    # recursive SQL level 1 ORA-00018: maximum number of sessions exceeded").
    codes = [(c.group(1).upper(), c.group(2)) for c in _ORACLE_CODE.finditer(ctx.text)]
    code, detail = next(
        ((c, d) for c, d in codes if c not in _ORACLE_WRAPPERS),
        codes[0] if codes else (m.group(1), ""),
    )
    code, detail = clean_value(code), clean_value(detail)
    cause = f"Oracle returned {code}" + (f": {detail}" if detail else "")
    if codes and codes[0][0] != code:
        cause += f" (reported under {clean_value(codes[0][0])})"
    return Finding(
        cause,
        (
            f"Look up {code} in the Oracle error reference for its exact cause.",
            "Check the connect descriptor (TNS alias, service name) and the user's grants.",
            "Reproduce the failing statement with the same user from a SQL client.",
            "Rerun the failed run after the fix.",
        ),
        0.6,
    )


@rule(
    "airflow_metadata_schema",
    "DatabaseError ConfigurationError DataError",
    any_of(*signals.AIRFLOW_METADATA_SCHEMA),
    example=(
        "sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) no such column: "
        "task_instance.pool_slots"
    ),
)
def airflow_metadata_schema(m: re.Match[str], ctx: Context) -> Finding:
    missing = clean_value(next((g for g in m.groups() if g), ""))
    kind = "column" if "." in missing else "table"
    what = f"has no {kind} {quoted(missing)}" if missing else "lacks a table or column it reads"
    return Finding(
        f"Airflow's own metadata database {what}: its schema is behind the installed Airflow "
        "(not migrated after an upgrade, or never initialised), not a fault in the pipeline's "
        "data or SQL",
        (
            "Run `airflow db migrate` (`airflow db upgrade` before 2.7) against the metadata "
            "database with the installed Airflow version, after a backup.",
            "Make sure the scheduler, webserver and workers all run the same Airflow version "
            "and point at the same sql_alchemy_conn.",
            "For a new deployment, check that the database init/migration job ran and "
            "succeeded before the components started.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "query_name_unresolved",
    "DatabaseError ConfigurationError",
    any_of(*signals.QUERY_NAME_UNRESOLVED),
    example=(
        "BadArgumentError- 'where' operator: Failed to resolve table or column expression named "
        "'AppRegistrationExpiration_CL'"
    ),
)
def query_name_unresolved(m: re.Match[str], ctx: Context) -> Finding:
    name = clean_value(m.group(1) or "")
    operator = grab(ctx.text, r"'(\w{1,40})' operator: failed to resolve")
    where = f" (in its '{operator}' operator)" if operator else ""
    what = f"{quoted(name)}" if name else "a table or column"
    return Finding(
        f"the query refers to {what}{where}, a table or column name the database could not "
        "resolve: it does not exist in the queried database, is misspelt, or has no data yet",
        (
            f"Check that {what} exists in the database the query runs against (a custom log "
            "table appears only after its first ingestion) and the spelling and case of the "
            "name.",
            "If it should exist, check the process that creates or feeds it (its ingestion, "
            "runbook or export) and the database or workspace the connection points to.",
            "Rerun once the table or column exists.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "table_already_exists",
    "DatabaseError ConfigurationError",
    any_of(*signals.TABLE_ALREADY_EXISTS),
    example=(
        "FAILED: Execution Error, return code 1 from org.apache.hadoop.hive.ql.exec.DDLTask. "
        "AlreadyExistsException(message:Table orders_v already exists)"
    ),
)
def table_already_exists(m: re.Match[str], ctx: Context) -> Finding:
    """A CREATE without IF NOT EXISTS (or OR REPLACE) run against a table, view or database a
    previous run or another job already made: the statement, not the server."""
    name = clean_value(next((g for g in m.groups() if g), "")).replace("`", "")
    what = quoted(name) if name else "the object"
    return Finding(
        f"the statement creates {what}, which already exists in the database: a CREATE without "
        "IF NOT EXISTS or OR REPLACE, run after an earlier run or another job made it",
        (
            f"Make the DDL idempotent: CREATE ... IF NOT EXISTS, CREATE OR REPLACE, or a DROP of "
            f"{what} before it, whichever the pipeline's intent is.",
            f"If {what} is someone else's object, give this one another name or schema.",
            "Rerun once the statement no longer collides; retrying it unchanged fails the same "
            "way.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "delta_table_not_found",
    "DatabaseError ConfigurationError",
    any_of(*signals.DELTA_TABLE_NOT_FOUND),
    example="[DELTA_TABLE_NOT_FOUND] Delta table `sales`.`orders` doesn't exist.",
)
def delta_table_not_found(m: re.Match[str], ctx: Context) -> Finding:
    table = clean_value((m.group(1) or "").replace("`", "")) if m.lastindex else None
    which = f"Delta table {quoted(table)}" if table else "the Delta table it names"
    return Finding(
        f"{which} does not exist in the catalog and schema the job looked in "
        "(DELTA_TABLE_NOT_FOUND): a wrong catalog, schema or table name, or a table not "
        "created yet",
        (
            "Check the fully qualified name (catalog.schema.table) the job uses against the "
            "catalog, and the job's current catalog and schema.",
            "If an upstream job creates the table, run it first or make this one wait for it.",
            "Rerun once the table is listed (SHOW TABLES IN catalog.schema).",
        ),
        0.7,
        transient=False,
    )


@rule(
    "iceberg_commit_conflict",
    "DatabaseError DataError",
    any_of(*signals.ICEBERG_COMMIT_CONFLICT),
    example="org.apache.iceberg.exceptions.ValidationException: Found new conflicting delete "
    "files that can apply to records matching true: [s3://lake/db/t/data/00001-delete.parquet]",
)
def iceberg_commit_conflict(m: re.Match[str], ctx: Context) -> Finding:
    """An Iceberg commit its validation refused: another writer committed files the
    operation's rows may match since the snapshot it read."""
    return Finding(
        "The write to the Iceberg table could not commit: another writer committed data or "
        "delete files that may hold rows this operation's condition matches, after the "
        "snapshot it read (concurrent writes, e.g. an append or MERGE running while a DELETE "
        "or UPDATE runs), and the table's isolation level does not allow it",
        (
            "Serialise the writers to this table (schedule them apart, or make the conflicting "
            "jobs depend on one another).",
            "Narrow the operation's condition to the partitions it changes, so concurrent "
            "appends to other partitions do not conflict; where acceptable, use snapshot "
            "isolation (write.delete/update/merge.isolation-level).",
            "Rerun the failed statement: it re-reads the table and usually succeeds once the "
            "other write is done.",
        ),
        0.7,
        transient=True,
    )


@rule(
    "hive_metastore_db_unreachable",
    "DatabaseError ConfigurationError",
    any_of(*signals.HIVE_METASTORE_DB_UNREACHABLE),
    example="MetaException(message:Error creating transactional connection factory)",
)
def hive_metastore_db_unreachable(m: re.Match[str], ctx: Context) -> Finding:
    """A Hive metastore that could not open its backing database."""
    return Finding(
        "The Hive metastore could not open a connection to the relational database that "
        "holds its metadata (DataNucleus' transactional connection factory failed): the "
        "database is not reachable or not up yet, or javax.jdo.option.ConnectionURL, "
        "ConnectionDriverName, ConnectionUserName or ConnectionPassword is wrong, or the JDBC "
        "driver jar is missing from the metastore's classpath",
        (
            "Check that the metastore database (MySQL, MariaDB, PostgreSQL) is up and "
            "reachable from the metastore host on its port, and start the metastore after it.",
            "Check the javax.jdo.option.Connection* settings in hive-site.xml (or "
            "metastore-site.xml) and that the JDBC driver jar is on the metastore's classpath.",
            "Initialise or upgrade the schema if it is missing (schematool -initSchema / "
            "-upgradeSchema), then restart the metastore.",
        ),
        0.7,
        transient=None,
    )
