"""Rule-based classification of pipeline error messages.

Each error class has weighted regex signals written from the public vocabularies of Azure Data
Factory, Databricks/Spark, Airflow, JDBC/ODBC drivers, Python tracebacks and cloud SDKs. Every
matching signal adds its weight to its class; the highest score wins and ties go to the class
that is more often the root cause (see ``_TIE_BREAK``). No Django import.

When no class reaches MIN_SCORE, a plain-language fallback reads cue words (``_RAW_CUES``:
password/credential/privilege, limit/maximum/more than N, parse/encoding, connect/network,
setting/configuration/not supported, ...) that only decide then: each adds CUE_WEIGHT to its
class on top of the signals that fell short, and the best class is named, with a confidence of
at most CUE_CONFIDENCE, only if a cue fired for it and it is strictly ahead. No cue is a word
that generic failure reports use (failed, error, exception, exit code, cancelled, retry), so a
message that states no cause stays Unknown. For huge logs the fallback waits until the
middle's error lines have been read.

Before anything is scored, a message's informational lines are left out
(`without_informational_lines`: INFO-level log lines, "Created ...", "... resumed", "No active
Spark session found, creating one"): they state no failure, so they neither outvote the error
they come with nor, alone, name a class.
"""

from __future__ import annotations

import heapq
import importlib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import ahocorasick

from analysis import signals
from analysis.signals import any_of
from tickets.vocabulary import ErrorClass

# Private in CPython 3.11+; only used to derive prefilter anchors, so it may go missing.
# Imported by name: typeshed does not describe them (whether mypy knows them at all depends on
# which other modules it reads).
_sre: Any
_parser: Any
try:
    _sre = importlib.import_module("re._constants")
    _parser = importlib.import_module("re._parser")
except ImportError:  # pragma: no cover
    _sre = _parser = None

# The classes in the vocabulary's order (the last, Unknown, is what nothing matched).
ERROR_CLASSES: tuple[str, ...] = tuple(ErrorClass)

# Only the head and tail of huge messages are scanned: the summary comes first and a
# traceback's real exception comes last. This bounds regex work per message. When those name
# no class, the middle's lines that speak of an error (up to MIDDLE_CHARS of them) are added:
# a long log may state its cause halfway through.
HEAD_CHARS = 8 * 1024
TAIL_CHARS = 4 * 1024
MIDDLE_CHARS = 4 * 1024
# Of a message longer than twice this, only this much of each end is read for informational
# lines (the head and tail come from there); its middle is read for its error lines alone,
# which informational lines are not (and, when no class is found, for its lines holding a
# failure word, which they are not either). Reading a 1 MB body's every line cost 12x its class.
INFORMATIONAL_SPAN = 4 * (HEAD_CHARS + TAIL_CHARS)
_SALIENT = re.compile(
    r"error|exception|fail|fatal|denied|refused|killed|no space|out of memory|timed? ?out"
    r"|cannot|can't|could not|unable to|not found|does not exist|traceback"
)

# Informational lines: what a message or a log excerpt says around its error without stating a
# failure. They are not read for the class, nor for the rule that explains the error or the
# error the RCA quotes (`without_informational_lines`): Spark's "INFO SparkSession: No active
# Spark session found, creating one", a capacity's "Capacity resumed", Unity Catalog's "Created
# storage credential x" would otherwise outvote the error they come with, or name a cause when
# there is none.
#
# Two kinds. A statement that something was done, at its start or end ("Created storage
# credential x", "Capacity resumed", "Run succeeded.", "Stage 3 completed successfully"), or that
# the work goes on after finding nothing ("No active Spark session found, creating one", "Table
# does not exist, creating it") ... A restart is not among them: what was restarted stopped
# first ("Driver was restarted", "Executor 3 re-started"), an event a failure is told by (the
# driver_restart signal reads it), not work done. `_STARTED_OVER` keeps "started" and
# "initialized" after "re-" from reading as done words.
_DONE_WORDS = (
    "created", "resumed", "started", "succeeded", "completed", "finished",
    "registered", "initialized", "initialised", "deployed", "published", "uploaded", "saved",
    "written", "refreshed",
)  # fmt: skip
_DONE = "|".join(_DONE_WORDS)
_DONE_AT_START = re.compile(rf"(?:successfully )?(?:{_DONE})\b")
_DONE_AT_END = re.compile(rf"\b(?:{_DONE})(?: successfully)?$")
_EDGE = " \t\r.,;:!?\"'()[]{}<>*=#|`-"
_STARTED_OVER = re.compile(r"\bre-(?:started|initiali[sz]ed)\b")
_GOES_ON_AFTER_MISS = re.compile(
    r"(?:\bno\b[^,;\n]{0,80}? found|\bnot found|\b(?:does not|doesn't) exist)[,;:]? ?(?:so )?"
    r"creating\b"
)
# ... and a line logged at INFO, DEBUG or TRACE (log4j "24/05/01 10:00:01 INFO SparkContext:
# ...", Airflow "[ts] {file.py:12} INFO - ...", Python "INFO:root:...", Celery "[ts: INFO/Main
# ...]", structlog's and dbt's "[info     ]"). Airflow logs what a task's program prints at
# INFO ({subprocess.py}, {pod_manager.py}: an error's lines, a traceback's frames), so a run of
# such lines from one logger is informational only when none of them is not: the key
# (`_quiet_key`) is the line's head up to its level and logger, digits left out. A logger
# follows its level as log4j's "INFO SparkContext:" or "INFO:root:"; after "INFO - " comes the
# message (Airflow's), whose "psycopg2.errors.UniqueViolation:" or "DETAIL:" is no logger.
_QUIET_LEVEL = re.compile(
    r"(?<![^\s\[|(,-])(?:INFO|DEBUG|TRACE)(?=[\s\]:/|,-]|$)"
    r"(?:[\s\]:/|,]*[A-Za-z_$][\w.$]*:(?!/))?|\[(?:info|debug|trace) *\]"
)
_DIGITS = re.compile(r"\d+")
# Either kind says nothing of a failure, a condition or a requirement (`_FAILURE_WORDS`,
# `_FAILURE_TOKENS`) but in negated forms ("0 errors", "no failures", "without errors",
# "WARN=0 ERROR=0", "exited with return code 0"): a line saying what is not, what could not,
# when, an exit or status code, a limit, is never informational.
_NEGATABLE = ("error", "exception", "fail", "warn")
_NEGATED_BEFORE = re.compile(r"(?:^|\W)(?:no|0|zero|without)\s+$")
_ZERO_AFTER = r"\s*[:=]?\s*0\b"
_NEGATED_AFTER = {
    "error": re.compile(rf"s?{_ZERO_AFTER}"),
    "exception": re.compile(rf"s?{_ZERO_AFTER}"),
    "fail": re.compile(rf"(?:ed|ures?|s)?{_ZERO_AFTER}"),
    "warn": re.compile(rf"(?:ings?|s)?{_ZERO_AFTER}"),
    "exit": re.compile(r"(?:ed)? with (?:return |exit |status )?code 0\b|(?:ed)? (?:code|status)\b"
                       rf"{_ZERO_AFTER}"),
    "without": re.compile(r" (?:errors?|failures?|exceptions?|warnings?)\b"),
    "return code": re.compile(_ZERO_AFTER),
    "returncode": re.compile(_ZERO_AFTER),
}  # fmt: skip
_FAILURE_WORDS = ahocorasick.Automaton()
for _word in (
    "error", "exception", "fail", "fatal", "critical", "severe", "warn", "denied", "refused",
    "reject", "forbidden", "unauthori", "invalid", "illegal", "expire", "exceed", "limit",
    "quota", "insufficient", "unavailable", "unreachable", "timeout", "time out", "time-out",
    "time_out", "timed out", "timed-out", "timedout", "times out", "abort", "cancel", "terminat",
    "kill", "crash", "panic", "fault", "died", "dead", "lost", "broken", "reset", "hung",
    "stuck", "corrupt", "missing", "mismatch", "conflict", "violat", "throttl", "overflow",
    "truncat", "too many", "too large", "too big", "too long", "cannot", "could not", "unable",
    "n't", "never", "without", "retry", "retries", "attempt", "exit", "return code",
    "returncode", "status code", "statuscode", "signal", "sigkill", "sigterm", "sigabrt",
    "sigsegv", "traceback", "out of memory", "no space", "permission", "privilege",
    # A state gone wrong, as a program printing its error at INFO may state it ("Disk full",
    # "Connection pool exhausted", "Division by zero", "stopped unexpectedly").
    "exhaust", "unexpected", "by zero", "out of range", "overload", "read-only", "busy",
):  # fmt: skip
    _FAILURE_WORDS.add_word(_word, _word)
_FAILURE_WORDS.make_automaton()
# Whole words stating a failure by themselves: an OOM, something full.
_STATE_TOKENS = ("oom", "full")
# Whole words only: negations, conditions, requirements, and those.
_FAILURE_TOKENS = frozenset(
    ("no", "not", "if", "when", "unless", "until", "before", "once", "only", "must", "should",
     "need", "needs", "require", "requires", "required", "expected", *_STATE_TOKENS)
)  # fmt: skip
_TOKEN = re.compile(r"[a-z0-9]+")
_STATE_TOKEN = re.compile(r"(?<![a-z0-9])(?:" + "|".join(_STATE_TOKENS) + r")(?![a-z0-9])")
# Cheap tests before any line is read: most messages hold none of these.
_QUIET_MARKS = ("INFO", "DEBUG", "TRACE", "[info", "[debug", "[trace")
_DONE_MARKS = (*_DONE_WORDS, "creating")


def _negated(lower: str, word: str, start: int) -> bool:
    """Whether the failure word at `start` is said not to have happened ("0 errors", "no
    failures", "ERROR=0", "exited with return code 0")."""
    after = _NEGATED_AFTER.get(word)
    if after is None:
        return False
    if after.match(lower, start + len(word)):
        return True
    return word in _NEGATABLE and bool(_NEGATED_BEFORE.search(lower[max(0, start - 12) : start]))


def _says_no_failure(lower: str) -> bool:
    for end, word in _FAILURE_WORDS.iter(lower):
        if not _negated(lower, word, end - len(word) + 1):
            return False
    tokens = _TOKEN.findall(lower)
    for token, following in zip(tokens, [*tokens[1:], ""], strict=True):
        if token == "no" and following.startswith(_NEGATABLE):
            continue
        if token in _FAILURE_TOKENS or (len(token) == 3 and token[0] in "45" and token.isdigit()):
            return False
    return True


def _done_statement(lower: str) -> bool:
    if "creating" in lower:
        goes_on = _GOES_ON_AFTER_MISS.search(lower)
        if goes_on is not None:
            return _says_no_failure(lower[: goes_on.start()] + lower[goes_on.end() :])
    done = _DONE_AT_START.match(lower.lstrip(_EDGE)) or _DONE_AT_END.search(
        lower.rstrip(_EDGE)[-40:]
    )
    return done is not None and _says_no_failure(lower) and not _STARTED_OVER.search(lower)


def _quiet_key(line: str) -> str | None:
    level = _QUIET_LEVEL.search(line, 0, 120)
    return None if level is None else _DIGITS.sub("", line[: level.end()])


def _informational(text: str, lines: list[str]) -> list[bool]:
    """Whether each line of `text` is informational (see `_DONE_WORDS` to
    `_FAILURE_TOKENS`)."""
    leveled = any(mark in text for mark in _QUIET_MARKS)
    informational = [False] * len(lines)
    run_start = 0
    run_key: str | None = None
    run_quiet = True
    for index, line in enumerate([*lines, ""]):
        key = _quiet_key(line) if leveled and index < len(lines) else None
        if key != run_key or key is None:
            if run_key is not None and run_quiet:
                informational[run_start:index] = [True] * (index - run_start)
            run_start, run_key, run_quiet = index, key, True
        if index == len(lines):
            break
        lower = line.lower()
        if _done_statement(lower):
            informational[index] = True
        elif key is not None and run_quiet:
            run_quiet = _says_no_failure(lower)
    return informational


def _may_hold_informational(text: str) -> bool:
    if any(mark in text for mark in _QUIET_MARKS):
        return True
    lower = text.lower()
    return any(mark in lower for mark in _DONE_MARKS)


def without_informational_lines(text: str) -> str | None:
    """`text` without its informational lines: `text` itself when it has none, None when it
    has nothing else."""
    return _without_informational(text) if _may_hold_informational(text) else text


def _without_informational(text: str) -> str | None:
    lines = text.split("\n")
    informational = _informational(text, lines)
    if not any(informational):
        return text
    kept = [line for line, drop in zip(lines, informational, strict=True) if not drop]
    if not any(line.strip() for line in kept):
        return None
    return "\n".join(kept)


def informational_lines(text: str) -> str:
    """The informational lines of `text`, one a line ("" when it has none); of a text longer
    than twice INFORMATIONAL_SPAN, those of its two ends, as `scan_window` reads it (the rules
    read them after the error: all of a huge log's would be megabytes)."""
    ends = _ends(text)
    if ends is not None:
        return "\n".join(part for part in map(informational_lines, ends) if part)
    if not _may_hold_informational(text):
        return ""
    lines = text.split("\n")
    return "\n".join(
        line for line, keep in zip(lines, _informational(text, lines), strict=True) if keep
    )


# Weight of a class's further signals after its strongest one.
_EXTRA = 0.35

# Below this score the rules are not sure enough to name a class.
MIN_SCORE = 1.5

# When scores tie, the class earlier here wins: it is more often the cause than the symptom
# (a login failure surfaces as a database error, an OOM kill as a lost executor, a statement
# timeout as a database error, a constraint violation as a failed SQL operation).
_TIE_BREAK: tuple[str, ...] = (
    "AuthenticationError",
    "ResourceExhaustion",
    "TimeoutError",
    "DataError",
    "ConfigurationError",
    "DatabaseError",
    "NetworkError",
    "ExternalServiceError",
    "CodeError",
)
_TIE_RANK = {name: i for i, name in enumerate(_TIE_BREAK)}


@dataclass(frozen=True)
class Classification:
    error_type: str
    confidence: float
    signals: tuple[str, ...]


@dataclass(frozen=True)
class _Branch:
    """One top-level alternative of a signal's regex: the signal matches if any branch does."""

    signal: int
    pattern: re.Pattern[str]
    # Literals (lowercase) of which any match must contain one; None when none could be derived.
    anchors: frozenset[str] | None
    # Case-insensitive signals are matched against the lowercased text (much faster in `re`
    # than IGNORECASE); case-sensitive ones (exception class names, codes) against the original.
    on_lower: bool
    # Literals, as written, that every match contains (`_required_literals`): a text lacking
    # one is not searched. `re` skips ahead to a regex's leading literal, but one that starts
    # with `\b`, an alternation or an optional part is tried at every position of the text.
    required: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Signal:
    name: str
    error_type: str
    weight: float
    pattern: re.Pattern[str]
    on_lower: bool


_I = re.IGNORECASE

# An HTTP status only counts next to a word that makes it one ("status code: 503", "(403)",
# "401 Client Error", "403, GET"), so line numbers and ids in tracebacks do not match.
_CTX = (
    r"(?:status(?:[ _-]?code)?|http(?:/\d\.\d)?|error(?: ?code)?|code|response|statuscode)"
    r"[\s:=\"'(-]{0,4}"
)
_VERB = r", (?:get|head|put|post|delete|patch)\b"


def _status(codes: str, words: str) -> str:
    return rf"{_CTX}(?:{codes})\b|\b(?:{codes}) (?:{words})|\((?:{codes})\)|\b(?:{codes}){_VERB}"


def _sqlstate(*prefixes: str) -> str:
    """SQLSTATE codes starting with a prefix, as drivers print them: Snowflake "250001 (08001):",
    ODBC "[08001]", Spark/Databricks "SQLSTATE: 42501", JDBC "SQLState: 28000"."""
    alts = []
    for prefix in prefixes:
        rest = rf"\w{{{5 - len(prefix)}}}" if len(prefix) < 5 else ""
        alts += [
            rf"(?<=\d{{6}} )\({prefix}{rest}\)",
            rf"sqlstate[\[ :=]{{0,3}}{prefix}{rest}\b",
            rf"\[{prefix}{rest}\]",
        ]
    return "|".join(alts)


# What a "maximum number of ... exceeded" counts when it is a retry budget, not a capacity.
_RETRY_COUNTS = r"(?:retries|retry|tries|attempts?|redirects|reconnects?)"

# (name, weight, regex, flags). Names are short, stable identifiers used to explain a result.
_RAW_SIGNALS: dict[str, list[tuple[str, float, str, int]]] = {
    "NetworkError": [
        (
            # A librdkafka client's lost or refused connection to a Kafka broker.
            "kafka_broker_transport_failure",
            4.5,
            any_of(*signals.KAFKA_BROKER_TRANSPORT_FAILURE),
            _I,
        ),
        (
            # An HTTP file-system client's request to an object store that failed without a status:
            # the connection broke or was never made.
            "http_filesystem_request_failed",
            4.5,
            any_of(*signals.HTTP_FILESYSTEM_REQUEST_FAILED),
            _I,
        ),
        (
            # A MongoDB host that closes every connection the driver opens, above the timeout words
            # of its server-selection message.
            "mongodb_connection_closed",
            5.5,
            any_of(*signals.MONGODB_CONNECTION_CLOSED),
            _I,
        ),
        (
            # The Spark Cassandra connector reaching none of its contact points.
            "cassandra_unreachable",
            4.5,
            any_of(*signals.CASSANDRA_UNREACHABLE),
            _I,
        ),
        (
            # elasticsearch-hadoop reaching none of the Elasticsearch nodes it tried.
            "es_hadoop_no_nodes",
            4.5,
            any_of(*signals.ES_HADOOP_NO_NODES),
            _I,
        ),
        (
            # A client that could not open its connection at all (dbt-databricks "Exception while
            # trying to create connection: Error during request to server ... method=OpenSession"),
            # or a Livy server that found no free port for a session's driver to call back on
            # ("Unable to connect to provided ports 10000~10010"): the endpoint or port range it
            # needs is unreachable or taken.
            "connection_not_created",
            4.0,
            r"\bexception while trying to create connection\b"
            r"|\bunable to connect to provided ports\b",
            _I,
        ),
        (
            # Redshift Spectrum that could not reach S3 for an external table's files
            # ("S3Query Exception Connection failed, retries exceeded", code 15005): the
            # cluster's path to S3 (VPC endpoint, enhanced VPC routing, NAT), not the database.
            "spectrum_s3_unreachable",
            4.0,
            r"\bs3 ?query exception connection failed\b",
            _I,
        ),
        (
            # A Celery worker that lost its message broker mid-run ("consumer: Connection to
            # broker lost. Trying to re-establish the connection...", an Airflow CeleryExecutor
            # worker on Redis or RabbitMQ): the network path to the broker, or the broker itself.
            "celery_broker_lost",
            4.0,
            any_of(*signals.CELERY_BROKER_LOST),
            _I,
        ),
        (
            # An SAP connector that could not reach the SAP server to open its RFC destination
            # (ADF's SapRfcDestinationAddFailed "Get or create destination '%destination; failed",
            # often "'host:3300' not reached"): the network path from the integration runtime.
            "sap_rfc_destination_failed",
            4.0,
            r"\bsaprfcdestinationaddfailed\b|\bget or create destination\b",
            _I,
        ),
        (
            # An ADF self-hosted integration runtime that could not fetch its plugins
            # (FailedToDownloadCustomPlugins "Failed to download custom plugins."): the download
            # link or the machine's connectivity.
            "custom_plugins_download_failed",
            4.0,
            r"\bfailed to download custom plugins\b",
            _I,
        ),
        (
            # A certificate whose revocation could not be checked by OCSP (signals.py): above
            # the database words of the driver that reports it.
            "ocsp_check_failed",
            4.5,
            any_of(*signals.OCSP_CHECK_FAILED),
            _I,
        ),
        (
            # An FTP data connection (passive mode 227, reply 425) that could not be opened
            # (signals.py).
            "ftp_data_connection",
            4.0,
            any_of(*signals.FTP_DATA_CONNECTION),
            _I,
        ),
        (
            "dns_failure",
            4.0,
            any_of(
                *signals.DNS_FAILURE,
                r"socket\.gaierror",
                r"no such host\b",
                r"nxdomain",
                r"dns (?:resolution|lookup) fail",
                r"name resolution failed",
                r"failed to resolve(?! (?:table|column|scalar|entity)\b)",
                r"no address associated with hostname",
            ),
            _I,
        ),
        (
            "tls_failure",
            5.0,
            any_of(
                *signals.TLS_FAILURE,
                r"sslhandshakeexception",
                r"sslerror",
                r"ssl error",
                r"secure sockets layer",
                r"ssl routines",
                r"tls handshake",
                r"could not establish trust relationship",
                r"sslexception",
                r"ssleoferror",
                r"eof occurred in violation of protocol",
            ),
            _I,
        ),
        (
            "connection_reset",
            3.0,
            any_of(
                *signals.CONNECTION_RESET,
                r"errno 104\b",
                r"remotedisconnected",
                r"connection was closed unexpectedly",
                r"connection broken",
                r"incompleteread",
                r"chunkedencodingerror",
                r"server has closed (?:the )?connection",
                r"connection to remote host was lost",
                r"connectionclosedexception",
                r"connection (?:was )?unexpectedly closed",
                r"serverdisconnected",
                r"connection closed by (?:the )?(?:server|peer|remote)",
            ),
            _I,
        ),
        (
            "host_unreachable",
            3.0,
            any_of(
                *signals.HOST_UNREACHABLE,
                r"ehostunreach",
                r"enetunreach",
                r"driver[_ ]?(?:is )?unreachable",
                r"instance_unreachable",
                r"(?:failed to|unable to|could not) reach",
                r"endpointconnectionerror",
                r"could not connect to the endpoint",
                r"cannot connect to proxy",
                r"proxyerror",
                r"communication lost",
                r"communication_lost",
                r"lost connection to (?:the )?(?:services|driver|host|remote)",
                r"cannot connect to host",
                r"connect call failed",
                r"clientconnectorerror",
                r"unable to connect to port",
                r"novalidconnectionserror",
                r"sshconnectionexception",
                r"network configuration failure",
                r"network_configuration_failure",
                r"could not be established\. broker may not be available",
                # kafka-python: no bootstrap server answered ("kafka.errors.NoBrokersAvailable").
                r"nobrokersavailable",
                # A client naming the URL of the broker or cache it could not reach (Celery,
                # Kombu, redis-py: "Cannot connect to redis://host:6379//", amqp://, kafka://).
                # SAP HANA's JDBC driver names a JDBC URL: "Cannot connect to jdbc:sap://h:443".
                r"(?:cannot|can't|could not|unable to|failed to) connect to (?:jdbc:)?"
                r"[a-z][a-z0-9+.-]{1,15}://",
            ),
            _I,
        ),
        (
            "socket_no_response",
            3.0,
            r"connected party did not properly respond|connected host has failed to respond"
            r"|unable to connect to the remote server|error occurred while sending the request"
            r"|socketexception",
            _I,
        ),
        (
            "network_wording",
            2.5,
            r"network[- ]related|network connectivity|network (?:issue|error|failure|problem)"
            r"|networkerror|network connection (?:was|is) (?:lost|interrupted)"
            r"|integration runtime .{0,60}(?:offline|is not online|unavailable)",
            _I,
        ),
        (
            "connection_refused",
            2.0,
            any_of(
                *signals.CONNECTION_REFUSED,
            ),
            _I,
        ),
        (
            "connect_failed",
            1.5,
            # Not Kafka Connect's own "connect.errors.ConnectException" (a failed connector task).
            r"failed to (?:establish a new )?connect(?:ion)?|(?<!errors\.)connectexception"
            r"|newconnectionerror"
            r"|connectionerror|could not establish (?:a )?connection|max retries exceeded with url",
            _I,
        ),
        (
            # Windows (a self-hosted integration runtime reading a UNC share): the share's
            # host or name cannot be reached, above the "folder not found" it is reported in.
            "network_path_unreachable",
            4.0,
            any_of(*signals.NETWORK_PATH_NOT_FOUND),
            _I,
        ),
        (
            # A ZooKeeper client that lost its server (HBase, Kafka, Hive locks): "KeeperErrorCode
            # = ConnectionLoss for /hbase/hbaseid".
            "coordination_connection_lost",
            3.5,
            r"keepererrorcode ?= ?connectionloss|connectionlossexception",
            _I,
        ),
        ("firewall_blocked", 3.5, any_of(*signals.FIREWALL_BLOCKED), _I),
        ("proxy_refused", 3.5, any_of(*signals.PROXY_REFUSED), _I),
        ("firewall_proxy", 1.0, r"firewall|private endpoint|vnet", _I),
    ],
    "DatabaseError": [
        (
            # A Hive metastore that cannot open its backing database.
            "hive_metastore_db_unreachable",
            4.5,
            any_of(*signals.HIVE_METASTORE_DB_UNREACHABLE),
            _I,
        ),
        (
            # An Iceberg commit refused for files another writer committed meanwhile.
            "iceberg_commit_conflict",
            4.5,
            any_of(*signals.ICEBERG_COMMIT_CONFLICT),
            _I,
        ),
        (
            # A CREATE of a table, view or database that already exists (Hive's
            # AlreadyExistsException, Spark's TABLE_OR_VIEW_ALREADY_EXISTS).
            "table_already_exists",
            4.5,
            any_of(*signals.TABLE_ALREADY_EXISTS),
            _I,
        ),
        (
            # A table or column name the query uses that the engine could not resolve (Kusto's
            # "Failed to resolve table or column expression named 'X'"), above the DNS
            # "failed to resolve" words.
            "query_name_unresolved",
            5.0,
            any_of(*signals.QUERY_NAME_UNRESOLVED),
            _I,
        ),
        (
            # The server ended the session on an administrator's command (SQLSTATE 57P01
            # admin_shutdown: a restart, failover or pg_terminate_backend), as a CDC connector
            # relays it ("Could not execute heartbeat action (Error: 57P01)").
            "admin_shutdown",
            4.0,
            _sqlstate("57P01") + r"|\(error: 57p01\)|\badminshutdown\b",
            _I,
        ),
        (
            # PostgreSQL's client library finding its TLS connection closed under it (libpq
            # "SSL SYSCALL error: EOF detected", "... Connection reset by peer"): the server or
            # something between dropped the session. Weighted below a stated timeout.
            "libpq_ssl_connection_dropped",
            2.5,
            r"\bssl syscall error\b",
            _I,
        ),
        (
            # ADF's DB2 connector relaying the driver's failure (DB2DriverRunFailed "Error thrown
            # from driver. Sql code: '-805'"): the DB2 server's SQL code.
            "db2_driver_failed",
            4.0,
            r"\bdb2driverrunfailed\b|\berror thrown from driver\. sql code\b",
            _I,
        ),
        (
            # Airflow's own metadata database not migrated (signals.py): above a missing
            # column's data weight, which speaks of a pipeline's own tables.
            "airflow_metadata_schema",
            4.5,
            any_of(*signals.AIRFLOW_METADATA_SCHEMA),
            _I,
        ),
        ("replica_conflict", 5.0, any_of(*signals.REPLICA_CONFLICT), _I),
        ("replication_log_purged", 4.5, any_of(*signals.REPLICATION_LOG_PURGED), _I),
        (
            # A store that refuses writes because it cannot save its snapshots (Redis MISCONF,
            # stop-writes-on-bgsave-error).
            "store_cannot_persist",
            4.0,
            r"\bmisconf redis\b|not able to persist (?:on|to) disk|stop-writes-on-bgsave-error",
            _I,
        ),
        ("not_primary", 4.0, any_of(*signals.NOT_PRIMARY), _I),
        (
            # MySQL refusing every connection from a client host after max_connect_errors
            # interrupted attempts (ER_HOST_IS_BLOCKED, "unblock with 'mysqladmin flush-hosts'").
            "host_blocked",
            4.0,
            r"is blocked because of many connection errors|mysqladmin flush-hosts"
            r"|er_host_is_blocked",
            _I,
        ),
        ("db_corruption", 4.5, any_of(*signals.DB_CORRUPTION), _I),
        # A Delta table whose transaction log is gone or empty: the table's state cannot be
        # built (DELTA_METADATA_ABSENT_EXISTING_CATALOG_TABLE, the delta-rs kernel's "No files
        # in log segment").
        ("delta_log_lost", 4.5, any_of(*signals.DELTA_LOG_LOST), _I),
        ("lock_not_acquired", 4.0, any_of(*signals.LOCK_NOT_ACQUIRED), _I),
        (
            "deadlock",
            5.0,
            any_of(
                *signals.DEADLOCK,
                r"lock wait timeout",
                r"lock request time ?out",
                r"could not obtain lock",
                # Lock contention: a statement queued behind or aborted by another's lock.
                r"waiters for this lock",
                r"has locked table",
                r"lock (?:has )?not (?:yet )?been released",
                r"lock ?not ?available",
                r"waiting for (?:a |the )?(?:table |row |metadata )?lock",
                r"resource busy and acquire",
                r"nowait specified",
                r"concurrent(?:append|delete\w*|transaction)exception",
                r"concurrentmodification",
                r"concurrent update",
                r"protocolchangedexception",
                r"metadatachangedexception",
                *signals.CONCURRENT_COMMIT,
            ),
            _I,
        ),
        (
            "db_missing_object",
            3.5,
            r"invalid object name|relation \S+ does not exist|table or view (?:does not exist"
            r"|not found)|catalog '[\w.-]{1,100}' does not exist|does not exist in the metastore"
            r"|undefinedtable|table_or_view_not_found|delta_table_not_found"
            r"|does not exist or not authorized|table '?[\w.]+'? doesn't exist"
            r"|cannot find the object"
            r"|no such table|unknown (?:table|database)|not found: (?:table|dataset)"
            r"|schema_not_found|database \S+ does not exist",
            _I,
        ),
        ("oracle_code", 3.5, r"\bORA-\d{5}|\bTNS:", 0),
        (
            # Connection refused/reset/failed next to a well-known database port.
            "db_port_unreachable",
            2.5,
            r"(?:port |:)(?:5432|1433|3306|1521|5439|6432|50000|27017)\b[^\n]{0,100}"
            r"(?:refused|failed|reset|unreachable|closed)"
            r"|(?:refused|failed|reset)[^\n]{0,100}(?:port |:)(?:5432|1433|3306|1521|5439|6432"
            r"|50000|27017)\b",
            _I,
        ),
        (
            # Connection exception, serialization failure/deadlock, undefined table, server
            # shutting down or not accepting connections.
            "sqlstate_database",
            2.5,
            _sqlstate("08", "40001", "40P01", "42P01", "42S02", "42704", "57P0"),
            _I,
        ),
        (
            "db_connection",
            3.0,
            r"(?:could not|cannot|can't|unable to|failed to) (?:open |create |establish |obtain )?"
            r"(?:a )?(?:new )?connect(?:ion)? to "
            r"(?:the )?(?:sql|mysql|postgres|database|db\b|server\b|oracle|snowflake)"
            r"|communications? link failure|communicationsexception"
            r"|sql(?:non)?transientconnectionexception"
            r"|connection to server (?:at|on) .{0,120}(?:failed|refused)|sqlfailedtoconnect"
            r"|failedtoconnect(?:to)?(?:sql|odbc|oracle|mysql|postgre|db2|snowflake|teradata|sap)"
            r"|lost connection to mysql|named pipes provider|could not connect to server"
            r"|cannotgetjdbcconnection|failed to obtain jdbc connection"
            r"|poolableconnectionfactory|is the server running|tns:no listener"
            # Microsoft JDBC: "The TCP/IP connection to the host x, port 1433 has failed."
            r"|tcp/ip connection to the host|instance of sql server is running",
            _I,
        ),
        (
            # The SQL Server client's own verdict on a failed connect ("A network-related or
            # instance-specific error has occurred while establishing a connection to SQL
            # Server. Server is not found or not accessible"): above the "Login timeout
            # expired" the driver prints with it, which is how long it tried, not why it failed.
            "sql_server_unreachable",
            4.5,
            r"network-related or instance-specific error|server is not found or not accessible",
            _I,
        ),
        (
            "db_unavailable",
            3.0,
            any_of(
                *signals.DB_UNAVAILABLE,
                r"database (?:\S+ )?(?:on server \S+ )?is "
                r"(?:not currently available|locked|starting up|shutting down|in recovery)",
                r"the database system is",
                r"connection is closed",
                r"sqlconnectionisclosed",
                r"server closed the connection unexpectedly",
                r"metastore (?:is )?(?:down|unavailable)",
                r"metastore_down",
                r"metastore_component_unhealthy",
                r"(?:unable to instantiate|could not connect to|failed to connect to"
                r"|failed connecting to) (?:the )?(?:hive )?\S*metastore",
                r"error communicating with (?:the )?\S*metastore",
            ),
            _I,
        ),
        (
            "db_context",
            1.5,
            r"sqlexception|sqlserverexception|psqlexception|sqlstate|sqlerrornumber|sqlcode"
            r"|sqloperationfailed|database operation failed|operationalerror|programmingerror"
            r"|databaseerror|snowflakesqlexception|db2 sql error|psycopg|pymysql|mysql\.connector"
            r"|pyodbc|cx_oracle|oracledb|sqlalchemy|jdbc|odbc|snowflake\.connector|sqlclient"
            r"|sqlite3|pgbouncer|stored procedure|sql compilation error|pymongo|mongoerror",
            _I,
        ),
    ],
    "ResourceExhaustion": [
        (
            # A local checkpoint's block lost with the executor that held it: a lost executor.
            "spark_checkpoint_block_lost",
            4.5,
            any_of(*signals.SPARK_CHECKPOINT_BLOCK_LOST),
            _I,
        ),
        (
            # A server thread pool that refuses new work: every thread busy, its queue full.
            "thread_pool_saturated",
            4.5,
            any_of(*signals.THREAD_POOL_SATURATED),
            _I,
        ),
        (
            # A streaming query's state store that did not fit in memory when loaded.
            "state_store_out_of_memory",
            4.5,
            any_of(*signals.STATE_STORE_OUT_OF_MEMORY),
            _I,
        ),
        (
            # More partitions than the engine allows a query or job to make (BigQuery's "Too
            # many partitions produced by query, allowed 4000").
            "partition_count_limit",
            4.5,
            any_of(*signals.PARTITION_COUNT_LIMIT),
            _I,
        ),
        (
            # An ECS task no container instance had room for (ECSOperatorError's "'reason':
            # 'RESOURCE:CPU'", "has insufficient memory available"): the cluster's free CPU,
            # memory, GPUs, ports or ENIs, above the operator's failed remote call.
            "ecs_placement_no_resources",
            4.5,
            any_of(*signals.ECS_PLACEMENT_NO_RESOURCES),
            _I,
        ),
        (
            # A shared compute capacity with nothing left to give (Fabric "Unable to submit this
            # request because all the available capacity is currently being used",
            # CapacityLimitExceeded): other jobs hold it; weighted above "try again later".
            "capacity_in_use",
            4.5,
            r"\ball (?:the )?available capacity is (?:currently )?being used\b"
            r"|\bcapacitylimitexceeded\b|\brejected due to (?:the )?current capacity constraints\b",
            _I,
        ),
        (
            # A Spark session that never got its resources (Livy's "No YARN application is found
            # with tag livy-session-3-x in 300 seconds", sparkmagic's "Make sure Spark has enough
            # available resources for Jupyter to create a Spark context"): the pool or cluster is
            # full or too small for the session's executors.
            "spark_session_unscheduled",
            4.0,
            r"\bno yarn application is found with tag\b"
            r"|\bmake sure spark has enough available resources\b",
            _I,
        ),
        (
            # A query too large for Snowflake's compiler ("(XX000): SQL compilation error:
            # Compilation memory exhausted."): the size or complexity of the compiled statement,
            # not a database fault.
            "compilation_memory_exhausted",
            4.5,
            r"\bcompilation memory exhausted\b",
            _I,
        ),
        (
            # A bounded message queue that can take no more items (Synapse's notebook activity
            # "Message queue full or is completed and cannot accept more items", a notebook over
            # its cell limit): the work's size against the queue.
            "message_queue_full",
            4.0,
            r"\bmessage queue (?:is )?full\b|\bcannot accept more items\b",
            _I,
        ),
        (
            # A per-partition storage cap reached (Cosmos DB's "The size of data each logical
            # partition can store is limited ... failed to store more than the allowed amount of
            # data for a given partition key value", "Partition key reached maximum size"): the
            # partition design, not the account's throughput.
            "partition_key_storage_full",
            4.5,
            r"\blogical partition can store is limited\b"
            r"|\bmore than the allowed amount of data for a given partition key\b"
            r"|\bpartition key reached (?:the )?maximum size\b",
            _I,
        ),
        (
            # A result over the service's size cap (BigQuery "Response too large to return.
            # Consider specifying a destination table", responseTooLarge, answered as a 403),
            # or an Airflow mapped task's upstream list longer than [core] max_map_length
            # ("unmappable return value length: 1609 > 1024"): a limit, above the identity
            # words of a 403 and the code words of an unmappable value.
            "result_over_size_cap",
            4.5,
            any_of(*signals.RESULT_OVER_SIZE_CAP),
            _I,
        ),
        (
            # Synapse serverless refusing a query it has no room for now ("This query can't be
            # executed due to current resource constraints"): the query's size against the pool.
            "resource_constraints",
            4.0,
            r"\bcan(?:'|no)?t be executed due to (?:the )?current resource constraints\b",
            _I,
        ),
        (
            # Spark refusing to ship a task bigger than its RPC message limit ("Serialized task
            # 9:0 was 204718480 bytes, which exceeds max allowed: spark.rpc.message.maxSize"):
            # data captured in the task's closure, against the limit.
            "rpc_message_too_large",
            4.0,
            r"\bserialized task [\d:.]{1,20} was \d{1,15} bytes, which exceeds max allowed\b"
            r"|\bexceeds max allowed: spark\.rpc\.message\.maxsize\b",
            _I,
        ),
        ("yarn_container_memory", 4.5, any_of(*signals.YARN_CONTAINER_MEMORY), _I),
        ("grpc_resource_exhausted", 4.0, any_of(*signals.GRPC_RESOURCE_EXHAUSTED), _I),
        (
            "out_of_memory",
            5.0,
            r"outofmemory|out of (?:shared )?memory|java heap space|gc overhead limit|memoryerror"
            r"|cannot allocate memory|unable to allocate|oomkilled|oom[- ]?kill|metaspace"
            r"|requested array size exceeds|exceeding memory limits|memory limit exceeded"
            # Redis at its maxmemory with noeviction: "OOM command not allowed when used memory
            # > 'maxmemory'".
            r"|used memory > '?maxmemory|\boom command not allowed"
            r"|unable to create (?:new )?native thread|low on resource"
            # C++'s failed allocation (std::bad_alloc, printed "bad allocation" by a Synapse
            # serverless query over an external file).
            r"|\bbad allocation\b|\bstd::bad_alloc\b",
            _I,
        ),
        (
            "disk_full",
            5.0,
            any_of(
                *signals.DISK_FULL,
                r"diskfull",
                r"errno 28\b",
                r"insufficient disk",
                r"tablespace .{0,40}full",
            ),
            _I,
        ),
        (
            # No node or queue can take the pod or application master (Kubernetes scheduler,
            # YARN queue at capacity).
            "unschedulable",
            4.0,
            any_of(*signals.UNSCHEDULABLE),
            _I,
        ),
        (
            # A job asking for more cores or memory than the pool or cluster can ever grant
            # ("requested 32 vcores. However, the workspace has a 0 core limit", "is above the
            # max threshold (52224 MB) of this cluster"): above the JVM exception it arrives in.
            "request_over_capacity",
            4.0,
            r"\bis above the max(?:imum)? threshold\b|when the compute has a capacity of"
            r"|requested \d+ v?cores\. however",
            _I,
        ),
        (
            # Fabric's Spark refusing a job because the capacity's compute is used up (HTTP
            # 430 "TooManyRequestsForCapacity"): above the throttling wording it is told in.
            "capacity_throttled",
            5.0,
            any_of(*signals.CAPACITY_COMPUTE_IN_USE),
            _I,
        ),
        ("killed_signal", 3.5, r"sigkill|signal 9\b|exit code:? ?137|return code -9\b|evicted", _I),
        (
            # An Airflow operator's program killed (137: SIGKILL, most often the out-of-memory
            # killer) or stopped (143: SIGTERM), the exit code all its error says.
            "operator_exit_killed",
            4.0,
            signals.operator_exit_code("137|143"),
            _I,
        ),
        (
            # Outranks a bare 403 (BigQuery answers "403 Quota exceeded") but not an explicit
            # 429/throttling signal: a per-minute rate quota is the service pushing back.
            "quota_limit",
            3.75,
            r"quota|limitreached|limit reached|cannot create more than \d+|exceeding approved"
            r"|insufficient (?:resources|cores|memory)|resources exceeded|exceeded resource limits"
            r"|run_limit_exceeded|max_concurrent_runs_exceeded|max_job_queue_size_exceeded"
            r"|max_spark_contexts_exceeded|budget_policy_limit_exceeded"
            r"|(?:resource\w*|concurrent\w*|instance)limitexceeded|limit for \S+ cores"
            r"|concurrent runs exceeds|exceed(?:s|ed)? (?:the )?maximum (?:number of )?concurrent"
            r"|reached (?:its |the )?(?:maximum )?capacity",
            _I,
        ),
        (
            # The platform's limit on concurrent runs, which Databricks reports under a
            # rate-limit code (REQUEST_LIMIT_EXCEEDED): a capacity limit, not throttling.
            "concurrent_run_limit",
            4.5,
            r"already \d+ active runs|active runs \(limit|max(?:imum)? concurrent runs"
            r"|concurrent runs? limit|concurrent runs? exceeded|concurrentrunsexceeded",
            _I,
        ),
        (
            "executor_lost",
            4.0,
            r"executorlostfailure|lost executor|executor lost|executor heartbeat timed out"
            r"|containers exceeding thresholds|memoryoverhead|exit (?:code|status):? ?143"
            r"|fetchfailedexception|missing an output location for shuffle",
            _I,
        ),
        (
            # A Dataflow/Beam worker that stopped answering its service ("Root cause: The worker
            # lost contact with the service"): a lost executor in other words, most often a
            # worker VM out of memory or preempted.
            "worker_lost_contact",
            4.0,
            any_of(*signals.WORKER_LOST_CONTACT),
            _I,
        ),
        (
            # A client's bounded send buffer is full (Pulsar "ProducerQueueIsFullError: Producer
            # send queue is full", Kafka "BufferExhaustedException", librdkafka "Local: Queue
            # full"): messages are produced faster than the broker acknowledges them.
            "send_queue_full",
            4.0,
            any_of(*signals.SEND_QUEUE_FULL),
            _I,
        ),
        (
            "driver_restart",
            2.5,
            r"driver has stopped unexpectedly|driver is temporarily unavailable"
            r"|driver (?:was )?restarted|driver_error|sparkcontext (?:was|has been) shut ?down",
            _I,
        ),
        (
            "result_too_large",
            3.0,
            r"maxresultsize|too large frame|too many open files|spill(?:ed)? to disk"
            r"|kryo serialization failed: buffer overflow",
            _I,
        ),
        (
            # A connection limit, on the server (too many connections, no slots left) or in the
            # client's pool (SQLAlchemy QueuePool, HikariCP, DBCP): capacity, not a database
            # fault, even when the pool reports it as a timeout.
            "db_pool_exhausted",
            # Above a timeout's full score: the pool reports its limit as a timeout.
            6.0,
            any_of(
                r"queuepool limit",
                r"too many (?:connections|clients)",
                r"remaining connection slots",
                r"max_user_connections",
                *signals.DB_POOL_EXHAUSTED,
            ),
            _I,
        ),
        (
            # A size or count over a limit the engine or service enforces (bytes billed,
            # stages in a plan, a lookup result's size): below the data and timeout signals,
            # which say more precisely which value or wait went over.
            "capacity_limit",
            3.0,
            r"exceed(?:s|ed)? (?:the )?(?:[\w-]+ ){0,2}limit(?:ation)?\b"
            r"|exceed(?:s|ed)? (?:the )?(?:allowed|configured|permitted) max(?:imum)?\b"
            r"|exceeded (?:the )?limit (?:for|of)\b"
            r"|maximum number of (?!(?:retries|attempts)\b)\w+ (?:\(\d+\) )?exceeded",
            _I,
        ),
        (
            # A count the engine caps, stated as such ("ORA-32460: maximum number of private
            # temporary tables per session exceeded", "maximum number of sessions exceeded"):
            # the limit, not the database that reports it. Retries are not a capacity, however
            # they are named ("connection attempts", "tries"): the error they gave up on is.
            "count_limit_exceeded",
            4.5,
            r"maximum number of (?!(?:[\w-]+ ){0,3}" + _RETRY_COUNTS + r"\b)"
            r"[\w ]{1,60}?(?: per \w+)? (?:\(\d+\) )?(?:exceeded|reached)\b",
            _I,
        ),
        (
            # A size or count limit stated in plain words: "is over limit", "the maximum number
            # of queued jobs for your account is 200", "cannot be more than 32768 characters",
            # "policy prevents a job from using more than 5 AUs", "already has 500
            # applications, cannot accept submission".
            "stated_limit",
            3.0,
            r"\b(?:is|are|was|were|went|goes) over (?:the |its |a |your )?(?:[\w-]+ )?limit\b"
            r"|maximum number of [\w ]{1,40}? (?:for|in|per|on) (?:your|this|the|an?|each) "
            r"[\w ]{1,30}? is \d+"
            r"|(?:cannot|can't|can ?not|must not|may not|should not) (?:be |exceed |use |have )?"
            r"(?:more|greater|larger|longer|bigger) than \d"
            r"|prevents? [\w ]{1,40}? from using more than \d"
            # Azure AI Search: "At most 3000 objects are allowed to be in collections"; not a
            # retry budget ("at most 3 retries are allowed").
            r"|\bat most \d[\d,]{0,12} (?!(?:[\w-]+ ){0,3}" + _RETRY_COUNTS + r"\b)"
            r"[\w ]{1,40}? (?:are|is) allowed\b"
            r"|already (?:has|have|holds|contains|runs|running) \d+ [\w ]{1,30}?,? "
            r"(?:and )?(?:cannot|can't|can not|unable to) accept",
            _I,
        ),
        (
            # A per-request limit the store enforces and names the setting for (Elasticsearch
            # "Result window is too large ... This limit can be set by changing the
            # [index.max_result_window] index level setting", "Trying to create too many
            # buckets ... [search.max_buckets]"): the request asks for more than it allows.
            "setting_limit",
            4.5,
            r"this limit can be set by changing the \[[\w.]{1,80}\]|result window is too large"
            r"|trying to create too many buckets|too_many_buckets_exception",
            _I,
        ),
        (
            # Arrow's 32-bit offsets: a string, binary or list array over 2 GB in one chunk.
            "array_capacity",
            4.0,
            any_of(*signals.ARRAY_CAPACITY),
            _I,
        ),
        (
            # An Airflow pool without a free slot for the task ("Not scheduling since there are
            # 0 open slots in pool etl", "requires 4 slots but there are 2 open slots in the
            # pool p"): the pool's size, a capacity the scheduler enforces. These are the
            # scheduler's INFO lines, found in log tails whose failure is another one, so the
            # weight is just above MIN_SCORE: alone they name the class, and any stated error
            # (an exception, a refusal, a denial) outweighs them.
            "pool_slots",
            1.8,
            r"open slots in (?:the )?pool\b|\bpool slots\b|all pools are full",
            _I,
        ),
        (
            # Azure SQL's cap on concurrent requests or sessions (10928 "Resource ID : 1. The
            # request limit for the database is 180 and has been reached", 10936 for an elastic
            # pool): the service tier's worker limit, not a broken database.
            "request_limit_reached",
            4.5,
            r"\bthe (?:request|session|worker) limit for the (?:database|elastic pool|server)"
            r" is \d+ and has been reached",
            _I,
        ),
        # Insufficient resources (disk full, out of memory, too many connections).
        ("sqlstate_resources", 2.5, _sqlstate("53"), _I),
        (
            # A count limit naming its maximum and what was asked for (signals.py).
            "named_limit_exceeded",
            4.5,
            any_of(*signals.NAMED_LIMIT_EXCEEDED),
            _I,
        ),
    ],
    "AuthenticationError": [
        (
            # A MySQL command the user has no privilege for on a table or column, above the
            # SQLSyntaxErrorException it is raised as.
            "mysql_command_denied",
            5.5,
            any_of(*signals.MYSQL_COMMAND_DENIED),
            _I,
        ),
        (
            # A storage or database key of a linked service that the store refused ("The input
            # authorization token can't serve the request").
            "linked_service_key_rejected",
            4.5,
            any_of(*signals.LINKED_SERVICE_KEY_REJECTED),
            _I,
        ),
        (
            # A Slack Web API call refused for its token (invalid_auth, not_authed,
            # token_revoked, token_expired, account_inactive).
            "slack_auth_refused",
            4.5,
            any_of(*signals.SLACK_AUTH_REFUSED),
            _I,
        ),
        (
            # A JDBC/ODBC driver whose HTTP transport was answered 401 or 403 (Simba's
            # "(500593) Communication link failure. Failed to connect to server. Reason: HTTP
            # Response code: 403"): the token or the identity's access to the endpoint, above
            # the driver's communication-link wording.
            "driver_http_auth_refused",
            4.5,
            any_of(*signals.DRIVER_HTTP_AUTH_REFUSED),
            _I,
        ),
        (
            # A stored OAuth connection whose token could not be refreshed (Fabric's "ErrorCode:
            # 'DMTS_OAuthTokenRefreshFailedError'", "failed to refresh the OAuth token"): the
            # credential behind the connection expired or was revoked, weighted above the
            # "Failed to resolve connection" it is reported with.
            "oauth_refresh_failed",
            4.5,
            any_of(*signals.OAUTH_REFRESH_FAILED),
            _I,
        ),
        (
            # A token the server would not accept (Airflow 3's execution API "Invalid auth
            # token: Signature verification failed" when components sign with different JWT
            # secrets, "... Signature has expired"; PyJWT's InvalidSignatureError wording).
            "auth_token_rejected",
            4.0,
            any_of(*signals.AUTH_TOKEN_REJECTED),
            _I,
        ),
        (
            # A Kafka client that could not start its SASL exchange with the broker (librdkafka
            # "Failed to initialize SASL authentication: generic failure"): the client's SASL
            # mechanism and credentials (or a build without that mechanism).
            "kafka_sasl_init_failed",
            4.0,
            r"\bfailed to initialize sasl authentication\b",
            _I,
        ),
        (
            # An SMTP server refusing mail from a session it has not authenticated (Exchange
            # Online's "530 5.7.57 Client not authenticated to send mail"): the sender's login,
            # not a bare refusal.
            "smtp_client_not_authenticated",
            4.5,
            r"\b5\.7\.57\b|\bclient not authenticated to send (?:anonymous )?mail\b",
            _I,
        ),
        (
            # A login refused because the user is locked out for a while after failed attempts
            # (Snowflake "User temporarily locked. Try again later, or contact your local
            # system administrator"): the credential, above "try again later" of a service not
            # ready.
            "user_temporarily_locked",
            4.5,
            r"\buser (?:account )?(?:is |has been )?temporarily locked\b",
            _I,
        ),
        (
            # Dynamics answering with a security fault ("An unsecured or incorrectly secured
            # fault was received from the other party"): the user name, password or service URL
            # the linked service sends.
            "incorrectly_secured_fault",
            4.0,
            r"\bunsecured or incorrectly secured fault\b",
            _I,
        ),
        (
            # A key or secret the service rejected as wrong (Synapse's "Resolving CosmosDB path
            # has failed with error 'Incorrect secret value'"): the credential, not the path.
            "incorrect_secret",
            4.0,
            r"\bincorrect secret value\b|\bsecret is null or empty\b",
            _I,
        ),
        (
            # Dataverse's AccessTokenExpired ("The requested resource requires authentication."):
            # a request the service refused for want of a valid token.
            "resource_requires_authentication",
            3.5,
            r"\bthe requested resource requires (?:user )?authentication\b|\baccesstokenexpired\b",
            _I,
        ),
        ("aad_error", 5.0, r"\bAADSTS\d+", 0),
        (
            "login_failed",
            5.0,
            r"login failed for user|password authentication failed|access denied for user"
            r"|incorrect username or password|invalid (?:username|user name|user id)(?: or "
            r"|/)password"
            r"|logon denied|authentication failed|authenticationfailed|invalid credentials"
            r"|bad credentials|logon failure|failed to authenticate|authentication error"
            r"|user .{0,40}is locked out"
            r"|account (?:has been |is )?(?:temporarily )?(?:locked|disabled)"
            r"|too many failed (?:login |logon )?attempts|no pg_hba\.conf entry|logon failed"
            r"|(?:user ?name|name) or password is (?:incorrect|invalid|wrong)"
            # "The certificate or password is wrong", "the password provided is incorrect".
            # A login role or user the server does not know (PostgreSQL "FATAL: role \"x\" does
            # not exist", MySQL/Snowflake "user 'x' does not exist").
            # Said by the server at login: a lookup's "user 'bob' does not exist in the table"
            # is a code path, not a login.
            r"|\b(?:fatal: +)?(?:role|user|login) [\"'`][^\"'`\n]{1,80}[\"'`] does not exist"
            r"(?! in (?:the |this |a )?(?:lookup|table|dict|map|list|cache|index|mapping))"
            r"|\b(?:password|passphrase|credentials?)(?: [\w ]{1,20}?)? (?:is|are|was|were) "
            r"(?:wrong|incorrect|invalid|not valid|not correct)"
            # An expired password (Oracle ORA-28001 "the password has expired", Kerberos
            # "Password has expired"), and an SSH server refusing the method the client offered
            # (paramiko "Bad authentication type; allowed types: ['publickey']").
            r"|\bpassword (?:has |is )?expired\b|\bexpired password\b|\bora-28001\b"
            r"|\bbad ?authentication ?type\b|no (?:supported|acceptable) authentication methods"
            # gRPC / Google RPC status code, as Unity Catalog and GCP APIs return it.
            r"|\bunauthenticated\b",
            _I,
        ),
        (
            "token_rejected",
            4.5,
            r"invalid_client|invalid_grant|unauthorized_client"
            r"|failed to get (?:the )?(?:access )?token"
            r"|(?:unable|failed) to (?:fetch|acquire|obtain|retrieve) (?:an? |the )?(?:\w+ )?token"
            # "(invalid token)" in parentheses is an XML/JSON parser's complaint, not a credential.
            r"|token (?:has )?expired|expiredtoken|(?<!\()invalid (?:access |refresh |sas )?token"
            r"|token is (?:invalid|expired|not valid)|invalid client secret"
            r"|client secret .{0,40}(?:invalid|expired)|expiredsignatureerror|signature has expired"
            r"|invalidsignatureerror"
            # SharePoint: the request's form digest is missing or expired.
            r"|security validation for this page is invalid"
            # Salesforce: the OAuth session the client holds expired (INVALID_SESSION_ID).
            r"|expiredsession|session expired or invalid|invalid_session_id",
            _I,
        ),
        ("token_wording", 2.0, r"access token|client secret|refresh token|sas token", _I),
        (
            "http_401_403",
            3.5,
            _status("401|403", r"client error|forbidden|unauthorized")
            + r"|\bforbidden\b|\bunauthorized\b",
            _I,
        ),
        (
            "permission_denied",
            3.5,
            any_of(
                *signals.PERMISSION_DENIED,
                r"permission[_ ]?denied",
                r"access is denied",
                r"authorizationfailure",
                r"authorizationfailed",
                r"insufficient (?:privileges|permissions)",
                r"does not have .{0,80}(?:permission|privilege)",
                # Unity Catalog names the privilege and the securable: "User does not have
                # CREATE EXTERNAL LOCATION on Metastore 'm'", "... USE CATALOG on Catalog".
                r"does not have (?:[a-z_]+ ){1,4}on (?:catalog|schema|table|view|metastore"
                r"|external location|volume|function|storage credential|share|connection"
                r"|model|credential)\b",
                r"unauthorizedaccess",
                r"acl verification failed",
                r"insufficientprivilege",
                r"(?:have|has|had|with|without|lacks?) (?:the )?"
                r"(?:sufficient|enough|necessary|required) (?:privileges|permissions|rights)",
            ),
            _I,
        ),
        (
            "missing_credentials",
            3.5,
            any_of(
                *signals.MISSING_CREDENTIALS,
                r"invalidaccesskeyid",
                r"signaturedoesnotmatch",
                r"clientauthenticationerror",
                r"security token included in the request is invalid",
                r"defaultcredentialserror",
                r"could not automatically determine credentials",
                r"credentialnotfound",
                r"credential not found",
                r"anonymous credentials",
                r"invalid_login",
                r"no credentials (?:were )?(?:found|provided)",
                r"credentials? provided .{0,60}is invalid",
                # A stored credential the runtime cannot read back (ADF 2011/2012, a key file).
                r"(?:failed|unable|could not|cannot) (?:to )?decrypt (?:the )?(?:\w+ )?credential",
                r"not a valid (?:\w+ |\{\} )?private key|invalid (?:\w+ )?private key"
                r"|private key (?:file )?(?:is )?"
                r"(?:invalid|not valid|could not be (?:read|loaded))",
            ),
            _I,
        ),
        (
            # An SSH/SFTP server that accepted none of the client's methods (ssh2 "All configured
            # authentication methods failed", paramiko's "Authentication (password) failed."):
            # the key or password is wrong, not the network.
            "ssh_auth_failed",
            4.5,
            r"all configured authentication methods failed"
            r"|authentication \((?:password|publickey|keyboard-interactive)\) failed",
            _I,
        ),
        (
            # A permission the caller could not hand on (Databricks "Unable to grant read/list
            # permission to Databricks service principal to KeyVault"): the caller's own rights
            # on the resource are short, above a missing-key wording in the same message.
            "grant_refused",
            4.5,
            r"(?:unable|failed|not able) to grant [\w/ ,-]{0,40}(?:permissions?|access|roles?)\b",
            _I,
        ),
        ("identity_wording", 1.0, r"service principal|managed identity|credential", _I),
        # Invalid authorization specification, insufficient privilege.
        ("sqlstate_auth", 2.5, _sqlstate("28", "42501"), _I),
        (
            # Exception class names of the family (HdfsAuthError, CredentialsException, ...).
            "auth_exception_name",
            3.0,
            r"(?:auth|authentication|authorization|credentials?|accessdenied|unauthorized)"
            r"(?:error|exception)\b",
            _I,
        ),
    ],
    "DataError": [
        (
            # A Parquet file whose footer or metadata cannot be read.
            "parquet_footer_unreadable",
            4.5,
            any_of(*signals.PARQUET_FOOTER_UNREADABLE),
            _I,
        ),
        (
            # A scan whose path, glob or partition filter matched no file.
            "scan_without_source",
            4.5,
            any_of(*signals.SCAN_WITHOUT_SOURCE),
            _I,
        ),
        (
            # Partition directories that disagree on a partition column's name.
            "conflicting_partition_columns",
            4.5,
            any_of(*signals.CONFLICTING_PARTITION_COLUMNS),
            _I,
        ),
        (
            # A CSV row wider than the columns the reader settled on, above the "INTERNAL Error"
            # the external-service class reads.
            "csv_row_wider_than_columns",
            4.5,
            any_of(*signals.CSV_ROW_WIDER_THAN_COLUMNS),
            _I,
        ),
        (
            # A Delta table read at a version its log no longer reaches, above the analysis
            # exception the code class reads.
            "delta_time_travel_version_unavailable",
            5.5,
            any_of(*signals.DELTA_TIME_TRAVEL_VERSION_UNAVAILABLE),
            _I,
        ),
        (
            # A BigQuery load whose source URI pattern matches no file.
            "bigquery_file_pattern_no_match",
            4.5,
            any_of(*signals.BIGQUERY_FILE_PATTERN_NO_MATCH),
            _I,
        ),
        (
            # A file an SFTP client asked the server for and the server does not have
            # (paramiko's "No such file", without the local file system's "or directory").
            "sftp_remote_file_missing",
            4.5,
            any_of(*signals.SFTP_REMOTE_FILE_MISSING),
            _I,
        ),
        (
            # A staged file whose characters do not line up with the file format's delimiters.
            "file_delimiter_mismatch",
            4.5,
            any_of(*signals.FILE_DELIMITER_MISMATCH),
            _I,
        ),
        (
            # A file a Hive-connector query planned to read and that was gone when it read it.
            "split_file_missing",
            4.5,
            any_of(*signals.SPLIT_FILE_MISSING),
            _I,
        ),
        (
            # A value or file Spark reads that is not of the type the read expects (a JSON field,
            # an empty string, a Parquet column, Avro of an unknown schema).
            "spark_read_type_mismatch",
            4.5,
            any_of(*signals.SPARK_READ_TYPE_MISMATCH),
            _I,
        ),
        (
            # A struct field a query names that the struct lacks (FIELD_NOT_FOUND), above SQLSTATE
            # 42704's undefined object.
            "struct_field_missing",
            4.5,
            any_of(*signals.STRUCT_FIELD_MISSING),
            _I,
        ),
        (
            # A source directory with no file in it (DELTA_EMPTY_DIRECTORY).
            "directory_has_no_files",
            4.5,
            any_of(*signals.DIRECTORY_HAS_NO_FILES),
            _I,
        ),
        (
            # Part files of a Delta log checkpoint that are gone (DELTA_MISSING_PART_FILES), above
            # the JVM exception it is raised as.
            "delta_checkpoint_parts_missing",
            4.5,
            any_of(*signals.DELTA_CHECKPOINT_PARTS_MISSING),
            _I,
        ),
        (
            # Rows already in a Delta table that a NOT NULL constraint being added breaks.
            "new_not_null_constraint_violated",
            4.5,
            any_of(*signals.NEW_NOT_NULL_CONSTRAINT_VIOLATED),
            _I,
        ),
        (
            # A file whose content the data flow cannot read in its format ("Invalid excel file
            # is provided while only .xlsx and .xls are supported").
            "file_content_unreadable",
            4.0,
            any_of(*signals.FILE_CONTENT_UNREADABLE),
            _I,
        ),
        (
            # Rows a dataflow or load refused to write while the rest went in ("some rows have
            # failed to upsert"): those rows' values against the destination.
            "rows_failed_to_write",
            4.0,
            any_of(*signals.ROWS_FAILED_TO_WRITE),
            _I,
        ),
        (
            # A string longer than its CHAR/VARCHAR column allows (Spark's EXCEED_LIMIT_LENGTH),
            # above the SQLSTATE it carries.
            "value_over_column_length",
            4.5,
            any_of(*signals.VALUE_OVER_COLUMN_LENGTH),
            _I,
        ),
        (
            # A load whose rows do not line up with the table or stream it reads: BigQuery's "CSV
            # table references column position 40, but line contains only 40 columns" (a file
            # with fewer columns than the schema), Kafka offsets no longer held by the broker
            # ("Offsets not available on leader: OffsetRange(...)", aged out by retention).
            "rows_out_of_line",
            4.0,
            r"\breferences column position \d+, but line contains only \d+"
            r"|\boffsets? not available on leader\b",
            _I,
        ),
        (
            # An Arrow/DataFusion schema that does not fit the data it is given (delta-rs
            # "Schema error: Duplicate field name: date", "Schema error: No such field:
            # minValues"): a column twice, or one the reader expects and the data lacks.
            "arrow_schema_error",
            4.0,
            r"\bschema error: (?:no such field|duplicate field name)\b",
            _I,
        ),
        (
            # A name the destination will not accept as a column (BigQuery's "Invalid field name
            # \"x\". Fields must contain only letters, numbers, and underscores"), a value a
            # refresh cannot read as a date (Power BI/Analysis Services "Not a legal OleAut date"),
            # a streaming query's saved state that cannot be loaded ("[CANNOT_LOAD_STATE_STORE
            # ...] An error occurred during loading state"): what the data or its checkpoint
            # holds, weighted above the "transient" or database words around it.
            "unreadable_value_or_state",
            4.5,
            r"\binvalid field name\b|\bfields must contain only letters\b"
            r"|\bnot a legal oleaut date\b"
            r"|\bcannot_load_state_store\b|\ban error occurred during loading state\b",
            _I,
        ),
        (
            # A JSON reader given a record that is not JSON (Jackson's "JsonParseException:
            # Unrecognized token 'PPB1234567': was expecting ...", a Kafka Connect sink reading a
            # plain string with the JSON converter): the records, above the parser words.
            "json_unrecognized_token",
            4.0,
            r"\bjsonparseexception: unrecognized token\b",
            _I,
        ),
        (
            # An explicit value written to a column the database fills itself: an identity
            # column while IDENTITY_INSERT is OFF ("Can't insert explicit value for identity
            # column in table 'T' when IDENTITY_INSERT is set to OFF"): the rows or mapping
            # written, above the database words of the table.
            "identity_column_explicit_value",
            4.5,
            r"\bexplicit value for (?:the )?identity column\b|\bidentity_insert is set to off\b",
            _I,
        ),
        (
            # Dates before the Gregorian switch or timestamps before 1900 that Spark 3 will not
            # write or read without a rebase mode (INCONSISTENT_BEHAVIOR_CROSS_VERSION
            # .WRITE_ANCIENT_DATETIME / READ_ANCIENT_DATETIME, "set
            # spark.sql.parquet.datetimeRebaseModeInWrite"): the values, not a size limit.
            "ancient_datetime_rebase",
            4.5,
            r"\b(?:write|read)_ancient_datetime\b|\bdates before 1582-10-15\b",
            _I,
        ),
        (
            # A decimal type whose scale exceeds its precision ("Decimal scale (15) cannot be
            # greater than precision (14)", a source column Spark reads as such): the column's
            # declared type, not the code reading it.
            "decimal_scale_over_precision",
            4.0,
            r"\bdecimal scale \(\d{1,4}\) cannot be greater than precision\b",
            _I,
        ),
        (
            # A value that does not fit a Delta table's partition column's type ("Failed to cast
            # value `abc` to `int` for partition column `day`"): the rows or paths written.
            "partition_value_uncastable",
            4.5,
            r"\bfailed to cast value [^\n]{1,200}? for partition column\b",
            _I,
        ),
        (
            # A source value of a type the copy cannot carry (ADF's Cosmos DB for MongoDB "The
            # retrieved type of data JObject is not supported yet. Please either remove the
            # targeted column 'x' or enable skip incompatible row"), or Hive's ORC/Parquet reader
            # handed a value of another type than the table declares ("HiveCharWritable can't
            # be cast to org.apache.hadoop.io.Text"): the rows or files, above the setting words
            # of "not supported" and the code words of a ClassCastException.
            "source_value_type_unreadable",
            4.5,
            r"\bretrieved type of data \w{1,60} is not supported\b"
            r"|\benable skip incompatible rows?\b"
            r"|\bhive\.serde2\.io\.\w{1,60}writable can(?:no|')t be cast\b",
            _I,
        ),
        (
            # A load that stopped once too many rows were rejected ("count of bad input rows
            # reached maxerrors limit"): the rows, not a resource limit.
            "bad_rows_reached_max_errors",
            4.5,
            r"\bbad (?:input )?rows? (?:has |have )?(?:reached|exceeded) "
            r"[^\n]{0,40}?\bmax ?errors?\b",
            _I,
        ),
        (
            # A manifest that names an entity whose files are not there (bc2adls "Entity with
            # name Customer-18 was found in the deltas.manifest.cdm.json but no directory with
            # that name was found in ..."): the export that did not write them.
            "manifest_entity_without_files",
            4.0,
            r"\bwas found in the [^\n]{1,300}? but no (?:directory|folder|files?) with that name "
            r"was found\b",
            _I,
        ),
        (
            # Delta's state that cannot be rebuilt from its log ("could not be recovered while
            # Reconstructing version: 7. Did you manually delete files in the _delta_log
            # directory?"): files of the transaction log that are gone.
            "delta_log_files_deleted",
            4.5,
            r"\bcould not be recovered while reconstructing version\b"
            r"|\bmanually delete files in the _delta_log directory\b"
            # A stream expecting a version its table's log no longer holds ("the earliest
            # available version in the _delta_log directory is 12. The files in the transaction
            # log may have been deleted due to log cleanup").
            r"|\bearliest available version in the _delta_log directory is\b"
            r"|\bfiles in the transaction log may have been deleted\b",
            _I,
        ),
        (
            # A Delta stream whose source table's schema changed in a way it cannot read past
            # ("Streaming read is not supported on tables with read-incompatible schema
            # changes (e.g. rename or drop or datatype changes)", "non-additive schema
            # change"): the upstream table, above "not supported" of a setting.
            "stream_source_schema_changed",
            4.5,
            r"\bread-incompatible schema changes?\b|\bnon-additive schema changes?\b"
            # Delta's "Detected schema change: streaming source schema: ... data file schema:".
            r"|\bdetected schema change(?: in version \d{1,12})?:\s{0,4}streaming source schema\b",
            _I,
        ),
        ("delta_file_missing", 4.5, any_of(*signals.DELTA_FILE_MISSING), _I),
        (
            # Rows appended to a table whose stored schema has another number of columns
            # ("The column number of the existing table spark_catalog.db.t (struct<>) doesn't
            # match the data schema (struct<id:int,...>)"): the data's columns.
            "column_count_differs_from_table",
            4.0,
            r"\bthe column number of the existing table [^\n]{1,300}? doesn't match the data "
            r"schema",
            _I,
        ),
        (
            # BigQuery refusing a value that is not of the column's type ("Bad int64 value:
            # 1.727084616622\00012"): the value in the source rows.
            "bad_typed_value",
            4.0,
            r"\bbad (?:int64|double|numeric|bignumeric|bool) value\b",
            _I,
        ),
        (
            # A file a serverless or external-table query gave up on after too many rejected
            # rows ("Error handling external file: 'Max errors count reached'"): the file's
            # rows against the declared columns.
            "external_file_rejected",
            4.0,
            r"\bmax errors? count reached\b|\berror handling external file\b",
            _I,
        ),
        (
            # A partition value a reader cannot find or take (Synapse's "Cannot find value of
            # partitioning column 'region' in file ..."; Hive's __HIVE_DEFAULT_PARTITION__ for
            # a null): the partition directories' values.
            "partition_value_missing",
            4.0,
            r"\bcannot find value of partitioning column\b",
            _I,
        ),
        (
            # A datetime outside the range the target type holds (ADF's OrcDateTimeExceedLimit
            # "The Ticks value '...' for the datetime column must be between valid datetime
            # ticks range"): the value in the data.
            "datetime_out_of_range",
            4.0,
            r"\b\w{0,20}datetimeexceedlimit\b"
            r"|\bticks value '[^'\n]{1,40}' for the datetime column\b",
            _I,
        ),
        (
            # A map built with the same key twice (Spark's DUPLICATED_MAP_KEY "Duplicate map key
            # EU was found, please check the input data"): the input rows.
            "duplicate_map_key",
            4.0,
            r"\bduplicated?_map_key\b|\bduplicate map key\b",
            _I,
        ),
        ("generated_column_write", 4.0, any_of(*signals.GENERATED_COLUMN_WRITE), _I),
        ("value_parse_failed", 3.5, any_of(*signals.VALUE_PARSE_FAILED), _I),
        (
            # A Delta log cut before the version the reader needs (signals.py).
            "delta_log_truncated",
            4.0,
            any_of(*signals.DELTA_LOG_TRUNCATED),
            _I,
        ),
        (
            # A Delta table whose transaction log disagrees with its files ("The transaction log
            # has failed integrity checks ... Table size (bytes) - Expected: X Computed: Y",
            # spark.databricks.delta.state.corruptionIsFatal): files changed or removed outside
            # Delta, or a table dropped and recreated under readers.
            "delta_log_corrupt",
            4.0,
            any_of(*signals.DELTA_LOG_CORRUPT),
            _I,
        ),
        (
            # A bulk loader (SQL Server/Synapse BULK INSERT, COPY INTO) rejected a value in the
            # file, or an Auto Loader stream has no file to infer a schema from.
            "bulk_load_bad_value",
            3.5,
            r"bulk load failed due to invalid column value|bulk load data conversion error"
            r"|cannot infer schema when the input path",
            _I,
        ),
        (
            "constraint_violation",
            4.5,
            r"not-null constraint|not null constraint|notnullviolation|value null into column"
            r"|does not allow nulls|violation of (?:primary key|unique key|foreign key)"
            # .NET's SqlBulkCopy ("Column 'KeyID' does not allow DBNull.Value") and Synapse COPY
            # ("non nullable column 'x' cannot have the NULL value as its default").
            r"|does not allow dbnull|\bnon[- ]?nullable (?:column|field)\b[^.\n]{0,80}\bnull\b"
            r"|duplicate key|uniqueviolation|foreignkeyviolation|unique constraint"
            r"|foreign key constraint|integrityerror|check constraint"
            r"|multiple source rows matched|multiple_source_row_matching"
            # delta-rs: "MERGE matched a target row with multiple source rows that satisfy
            # duplicate relevant WHEN MATCHED clauses".
            r"|\bmatched a target row with\s{1,4}multiple source rows\b"
            # SQL Server 8672: "The MERGE statement attempted to UPDATE or DELETE the same row
            # more than once. This happens when a target row matches more than one source row."
            r"|merge statement attempted to (?:update or delete|update|delete) the same row"
            r"|target row matches more than one source row"
            # BigQuery's MERGE ("UPDATE/MERGE must match at most one source row for each target
            # row").
            r"|must match at most one source row for each target row"
            # Snowflake's nondeterministic MERGE or UPDATE (100090 "Duplicate row detected
            # during DML action"): several source rows for one target row.
            r"|duplicate row detected during dml action"
            # Oracle's referential check without the words "foreign key" (ORA-02291
            # "integrity constraint (X.FK) violated - parent key not found", ORA-02292).
            r"|integrity constraint \([^)\n]{1,128}\) violated|parent key not found"
            r"|child record found"
            # Elasticsearch refusing a write for its document's version (a create on an
            # existing id is also a DUPLICATE_KEY phrase).
            r"|version_conflict_engine_exception|versionconflictengineexception|"
            + any_of(*signals.DUPLICATE_KEY),
            _I,
        ),
        (
            "invalid_value",
            4.0,
            r"invalid input syntax for|out of range value for column|numeric value out of range"
            r"|arithmetic overflow|value too long for type|data too long for column"
            r"|would be truncated|data truncation|truncated value|invalid column length"
            # Redshift's load error 1204 ("String length exceeds DDL length"); Athena and Trino
            # "INVALID_CAST_ARGUMENT: Cannot cast 'ae' to BIGINT".
            r"|length exceeds ddl length|invalid_cast_argument|cannot cast '[^'\n]{0,200}' to \w"
            r"|sparkarithmeticexception|divide_by_zero|arithmetic_overflow|outofboundsdatetime"
            r"|out of bounds (?:nanosecond )?timestamp"
            # A value that does not fit its numeric type: overflow, precision, range.
            r"|numeric (?:field |data |value )?overflow|decimal overflow"
            r"|number out of representable range|out of range for (?:type|data ?type|column)"
            r"|precision \d+ exceeds|exceeds (?:the )?max(?:imum)? precision"
            r"|can only support precision"
            # Azure AI Search: a field value indexed as one term over the 32766-byte limit.
            r"|contains a term that is too large|max length for utf-8 encoded terms"
            r"|\b(?:small|big|tiny)?int(?:eger)? out of range"
            r"|out of range: value too (?:small|large)"
            # .NET DateTime range (ADF, Dataverse): "Ticks must be between DateTime.MinValue...".
            r"|datetime\.(?:min|max)value|un-?representable datetime"
            # Missing values cast to an integer type (pandas IntCastingNaNError).
            r"|intcastingnanerror|cannot convert non-finite values|cannot convert (?:float )?nan"
            r" to integer"
            # A timestamp outside the store's range (BigQuery "Cannot return an invalid
            # timestamp value"), a value over Snowflake's LOB size.
            r"|\binvalid timestamp value\b|range of valid timestamp values"
            r"|max lob size \(\d+\) exceeded",
            _I,
        ),
        (
            # Oracle's codes for a value or column the row does not fit (ORA-01722 "invalid
            # number", ORA-01843 "not a valid month", ORA-01858, ORA-01861, ORA-01400 "cannot
            # insert NULL into", ORA-01438 "value larger than specified precision", ORA-00904
            # "invalid identifier"): the data, not the database, above the generic ORA code and
            # the driver's "DatabaseError" class name.
            "oracle_value_code",
            4.5,
            r"\bora-01(?:722|843|858|861|400|438)\b|\bora-00904\b",
            _I,
        ),
        (
            # A record the broker or store refuses for its size (Kafka RecordTooLargeException,
            # HTTP 413 "Request Entity Too Large", a row over the store's maximum).
            "record_too_large",
            3.5,
            r"recordtoolarge|messagesizetoolarge|(?:record|message|row|document|item|entity)"
            r" (?:is |was )?too large|larger than the max(?:imum)? (?:\w+ )?size"
            r"|exceeds (?:the )?max(?:imum)? (?:allowed )?(?:message|record|row|document|item"
            r"|request) size"
            # MySQL's max_allowed_packet (PacketTooBigException, "Packet for query is too large").
            r"|packet for query is too large|packettoobigexception|packets? larger than "
            r"max_allowed_packet"
            # Azure Service Bus / Event Hubs: a message over the link's maximum size.
            r"|messagesizeexceeded"
            # MySQL/InnoDB: a row wider than the page allows ("Row size too large (> 8126)").
            r"|row size too large|" + _status("413", r"payload too large|request entity too large"),
            # HTTP 413 as SDKs print it (Cosmos DB bulk: "statusCode":413, an item over 2 MB).
            _I,
        ),
        (
            # A schema registry refusing a new schema version that breaks its compatibility
            # rule (Confluent 409 "Schema being registered is incompatible with an earlier
            # schema"): the producer's records changed shape.
            "schema_incompatible",
            4.0,
            r"schema being registered is incompatible"
            r"|incompatible with (?:an earlier|the latest|a previous|the previous|the existing) "
            r"schema",
            _I,
        ),
        (
            # Kafka Connect gave up on a record its converters or transforms could not handle
            # (errors.tolerance=none): "ConnectException: Tolerance exceeded in error handler".
            "record_not_converted",
            3.0,
            r"tolerance exceeded in error handler",
            _I,
        ),
        (
            # A consumer could not read a record: bytes not in the format the deserializer
            # expects (Kafka SerializationException, Avro/Schema Registry magic byte).
            "deserialization",
            3.5,
            r"error deserializing|(?:failed|unable|could not) (?:to )?deserialize"
            r"|deserialization (?:error|failed|failure|exception)|unknown magic byte"
            r"|(?<!not)serializationexception",
            _I,
        ),
        (
            # A stream's offsets point at data the broker no longer holds (retention, a deleted
            # topic): Spark's failOnDataLoss, Kafka OffsetOutOfRange.
            "data_lost",
            4.0,
            r"failondataloss|some data may have been lost|offsetoutofrange|offset_out_of_range"
            r"|offsets? (?:is |are )?out of range|(?:cannot|could not|failed to|unable to) fetch "
            r"offset|data (?:was|has been) aged out",
            _I,
        ),
        (
            "schema_mismatch",
            4.0,
            any_of(
                *signals.SCHEMA_MISMATCH,
                r"schemamismatch",
                r"found: \w+, (?:required|expected)",
                r"expected: \w+, found",
                r"schema (?:drift|evolution|has changed)",
                r"unable to infer schema",
                r"failed_to_merge_fields",
                r"failed to merge (?:fields|incompatible)",
                r"incompatible data ?types?",
                r"incompatible_data_for_table",
                r"cannot write incompatible data",
                r"cannot find data for (?:the )?output column",
                r"schema does not match",
                r"has changed type from",
            ),
            _I,
        ),
        (
            "type_conversion",
            3.5,
            r"incompatible types?|cannot be (?:cast|converted)|could not convert|failed to convert"
            r"|cannot convert (?:from )?(?:type|value|data ?type)|datatypenotsupported"
            r"|conversion (?:failed|error)|converting .{0,40}failed|typeconversionfailure"
            r"|executor-conversion"
            r"|cast_invalid_input|numberformatexception|datetimeparseexception"
            r"|does not match format"
            # A column type the reader cannot handle ("INT96 is legacy timestamp type which is
            # not supported by ADF Dataflow", "unsupported data type: interval").
            r"|(?:data|column|field|timestamp|date|decimal|logical|physical|parquet|value) ?types?"
            r"\b[\w ]{0,30}?\b(?:is |are )?not supported|unsupported (?:data|column|field|logical"
            r"|parquet) ?types?\b"
            # A streaming read of a Delta table that upstream rewrote (updates/deletes).
            r"|delta_source_(?:table_)?ignore_(?:changes|delete)|detected (?:a )?data update"
            r"|detected deleted data"
            r"|invalid literal for|data ?type mismatch|datatype_mismatch|invalid (?:data )?value"
            r"|invaliddatavalue|unsupportedschemacolumnconvert|column cannot be converted"
            # pyarrow: "trying to convert NumPy type int64 but got int32"; SQL Server 257:
            # "Implicit conversion from data type nvarchar(max) to varbinary(max) is not allowed".
            r"|trying to convert numpy type|implicit conversion from data type"
            # Arrow: "Unsupported cast from int64 to null using function cast_null".
            r"|unsupported cast from|no cast implemented from"
            r"|(?:numeric|date|time|timestamp|boolean) value .{0,60}is not recognized"
            r"|input should be a valid \w+|unable to parse (?:string|input|value)"
            r"|could not parse .{0,60} as (?:dtype|type|a |an )"
            r"|could not be parsed|cannot_parse_\w+|sparkdatetimeexception|invalid date\b"
            r"|error converting (?:data ?type|the \w+ value)",
            _I,
        ),
        (
            "malformed_input",
            3.5,
            r"malformed|corrupt(?:ed)? (?:file|record|block|data|input)|jsondecodeerror"
            r"|unexpected (?:character|token|end of (?:file|input))|parsererror|error tokenizing"
            r"|expected \d+ fields|unicodedecodeerror|codec can't decode|invalid byte sequence"
            r"|more columns than|fewer columns than|too (?:many|few) columns|column count"
            r"|bad record|not a parquet file|edisyntaxexception"
            r"|invalid character|notallownull|parquetdecodingexception|can ?not read value at"
            r"|not well-formed|not a valid (?:zip|gzip|archive|parquet|avro|orc|excel|xlsx) file"
            # A columnar file whose footer or magic bytes are not there: truncated, corrupted or
            # another format under the name ("Not valid Parquet file: expected magic number",
            # "Parquet magic bytes not found in footer").
            r"|not (?:a )?valid (?:parquet|avro|orc) file|magic (?:bytes|number)\b[^\n]{0,60}"
            r"(?:not found|but found|\bgot\b)"
            r"|badzipfile|not a gzip(?:ped)? file|not in gzip format"
            r"|extra data after last expected column|missing data for column|badcopyfileformat"
            r"|emptydataerror|no columns to parse|encountered too many errors|stl_load_errors"
            r"|too many errors encountered"
            r"|unicodeencodeerror|codec can't encode|could not read footer|cannot_read_file_footer"
            # MySQL 1366: bytes the column's character set cannot hold (4-byte UTF-8 into utf8).
            r"|incorrect string value"
            # "JSON parsing error, unsupported encoding", "Response Content is not a valid
            # JObject".
            r"|(?:json|xml|csv|yaml) pars(?:e|ing) (?:error|failed|failure)|invalid json\b"
            r"|not a valid (?:json|jobject|jarray|jtoken|xml|yaml)\b"
            r"|unsupported (?:file |text )?encoding"
            # Redshift COPY error 7: "String contains invalid or unsupported UTF8 codepoints.
            # Bad UTF8 hex sequence: ef bf bf".
            r"|invalid (?:or unsupported )?utf-?8|bad utf-?8 (?:hex )?sequence",
            _I,
        ),
        (
            # PolyBase / Synapse external tables failing on the rows they read (a Parquet or
            # text column that does not fit the table's type, a bad delimiter, rejected rows).
            "external_rows_rejected",
            4.0,
            r"recordreaderfillbuffer|filling record reader buffer|hadoopexecutionexception"
            r"|maximum reject threshold|reject_value|rejected rows"
            # Redshift Spectrum reading S3 files through an external table ("Spectrum Scan
            # Error ... column 'x' has an invalid type length", "Unmatched number of columns").
            r"|spectrum scan error",
            _I,
        ),
        (
            "data_quality",
            3.0,
            r"data quality|dq check|validation failed|expectation.{0,40}failed"
            r"|test failed\.\s*query"
            r"|check failed|row count|failure in test|configured to (?:fail|warn) if"
            # dbt source freshness: the source's newest row is older than error_after allows.
            r"|\berror stale\b",
            _I,
        ),
        (
            "missing_column",
            3.0,
            any_of(
                *signals.MISSING_COLUMN,
                r"cannot resolve .{0,80}given (?:input )?columns",
                r"columnnotfound",
                r"column .{0,80}(?:not found|does not exist|doesn't exist|cannot be resolved"
                r"|cannot be found)",
                # Several at once (Cloud Data Fusion's "Columns: \" env_type \"do not exist in
                # table.").
                r"\bcolumns\b.{0,80}\bdo not exist in (?:the )?table\b",
                r"no such column",
                # Salesforce Bulk API: "InvalidBatch : Field name not found : Report_Date__c".
                r"field name not found",
                r"invalid column name",
                r"unknown column",
                r"invalid identifier",
                r"column_already_exists",
                r"column .{0,60}already exists",
                r"duplicate column",
                # A column the activity's settings name that the source rows do not have.
                r"(?:doesn't|does not) exist in the source data",
                # Netezza: "ERROR:  Attribute 'ORDER_TS' not found".
                r"error:\s{1,3}attribute '[^'\n]{1,128}' not found",
            ),
            _I,
        ),
        (
            "missing_input",
            3.0,
            r"path does not exist|blob is missing|blob ?not ?exist|blobnotfound|sourceblobnotexist"
            r"|file ?not ?found|no such file or directory|nosuchkey"
            r"|(?:dbfs|abfss?|s3a?|wasbs?|gs|adl|hdfs):/\S* (?:does not|doesn't) exist"
            # A plain absolute path of two or more segments ("IllegalStateException:
            # /checkpoint/q/sources/0/1 does not exist"). The lookbehind starts a path only
            # where one begins, so a long run of segments is read once. Mounts are a setup matter
            # (missing_storage); a ZooKeeper node ("node /brokers/topics/x does not exist") is no
            # data path.
            r"|(?<![\w./-])(?<!node )/(?!(?:dbfs/)?mnt/)[\w.-]{1,100}(?:/[\w.=-]{1,100}){1,30}"
            r" (?:does not|doesn't) exist"
            r"|specified (?:file|blob|path|key)\b.{0,20}does not exist|filereadexception"
            # Synapse serverless (OPENROWSET) and Google Cloud Storage naming a missing file.
            r"|cannot be opened because it does not exist|no such object: "
            # SQL Server BULK INSERT / OPENROWSET (Msg 4860, 4861 with OS error 2 or 3).
            r"|could not be opened\. operating system error code [23]\b"
            r"|cannot bulk load\. the file .{0,300}? does not exist"
            r"|cannot bulk load because the file .{0,300}? could not be opened"
            # Snowflake: "Remote file 'https://.../x.csv' was not found" (stage or COPY source).
            r"|remote file '[^'\n]{1,300}' was not found"
            # ADF mapping data flows: "Path /x/*.parquet does not resolve to any file(s)".
            r"|does not resolve to any file"
            # DuckDB reading a glob or path that matched nothing ("IO Error: No files found
            # that match the pattern \"commits/*.parquet\"").
            r"|no files found that match the pattern",
            _I,
        ),
        (
            # A subquery used as one value returned several rows (BigQuery "Scalar subquery
            # produced more than one element", PostgreSQL, MySQL 1242, Oracle ORA-01427): the
            # data has more matches than the query assumes.
            "subquery_many_rows",
            3.5,
            r"scalar subquery produced more than one element"
            r"|more than one row returned by a subquery|subquery returns more than 1 row"
            r"|single-row subquery returns more than one row",
            _I,
        ),
        (
            # A source that gave nothing to read ("Could not build a prototype index because
            # datasource 'x' returned no data").
            "source_returned_nothing",
            2.5,
            r"\breturned no (?:data|rows|records|results)\b",
            _I,
        ),
        (
            "empty_or_duplicate",
            1.5,
            r"empty (?:file|dataset|dataframe|result)|no rows|duplicate (?:rows|records)"
            r"|\bValueError\b",
            _I,
        ),
        (
            # Data exception, integrity constraint violation, undefined column.
            "sqlstate_data",
            2.5,
            _sqlstate("22", "23", "42703", "42S22"),
            _I,
        ),
        (
            # Exception class names of the family (SerDeException, SchemaError, ...).
            "data_exception_name",
            2.5,
            # Case-sensitive: a class name (SchemaError, NumberFormatException), not a function
            # in a stack frame (the Teradata driver's "teradatasql.formatError").
            # A message written all in lower case keeps its class names ("system.formatexception").
            r"(?:Parse|Parser|Parsing|Decode|Decoding|Schema|Format|Serde|SerDe|Conversion|Cast)"
            r"(?:Error|Exception)\b"
            r"|(?:PARSE|DECODE|SCHEMA|FORMAT|SERDE|CONVERSION|CAST)_?(?:ERROR|EXCEPTION)\b"
            r"|(?:parse|parser|parsing|decode|decoding|schema|format|serde|conversion|cast)"
            r"(?:error|exception)\b",
            0,
        ),
        (
            # A key-value store's per-item limit (DynamoDB "Item size has exceeded the maximum
            # allowed size", 400 KB; "Aggregated size of all range keys has exceeded the size
            # limit of 1024 bytes"): the item written is too big, not the table's setup.
            "item_size_limit",
            4.5,
            r"item size (?:has )?exceeded the maximum allowed size"
            r"|size of all (?:range|hash|sort|partition) keys (?:has )?exceeded"
            r"|(?:range|hash|sort|partition) key (?:size )?(?:has )?exceeded the size limit",
            _I,
        ),
        (
            # A write whose target is there already and is not overwritten (Azure Blob
            # BlobAlreadyExists "The specified blob already exists", ADLS PathAlreadyExists,
            # Hadoop FileAlreadyExistsException): a rerun or a second writer left the output.
            "output_already_exists",
            4.0,
            r"the specified (?:blob|path|file) already exists|blobalreadyexists"
            r"|pathalreadyexists|filealreadyexistsexception",
            _I,
        ),
        (
            # A JVM parse of a field's text (NumberFormatException or Scala's toBoolean's
            # IllegalArgumentException 'For input string: ""', Spark's CSV cast): the value in
            # the data, above the generic exception class it is thrown as.
            "unparsable_input_string",
            4.0,
            r'for input string: "[^"\n]{0,200}"',
            _I,
        ),
        (
            # An ODBC driver refusing a parameter longer than its column or buffer (SQLSTATE
            # 22001 "String data, right truncation: length 512 buffer 510", pyodbc with
            # fast_executemany): the value, above the driver's ProgrammingError class name.
            "string_right_truncation",
            5.0,
            r"string data,? right truncation",
            _I,
        ),
    ],
    "ExternalServiceError": [
        (
            # An HTTP server that answered a ranged read without a Content-Length.
            "http_content_length_missing",
            4.5,
            any_of(*signals.HTTP_CONTENT_LENGTH_MISSING),
            _I,
        ),
        (
            # A Databricks SQL warehouse that would not start when asked to.
            "sql_warehouse_start_failed",
            4.5,
            any_of(*signals.SQL_WAREHOUSE_START_FAILED),
            _I,
        ),
        (
            # A Livy session whose RPC channel to its Spark driver is closed: the driver is gone.
            "livy_rpc_channel_closed",
            4.5,
            any_of(*signals.LIVY_RPC_CHANNEL_CLOSED),
            _I,
        ),
        (
            # An HDFS NameNode in safe mode (read-only).
            "hdfs_safe_mode",
            4.5,
            any_of(*signals.HDFS_SAFE_MODE),
            _I,
        ),
        (
            # Flink's Kafka sink failing to commit a prepared transaction, above the
            # IllegalStateException it is raised as.
            "kafka_transaction_commit_failed",
            5.5,
            any_of(*signals.KAFKA_TRANSACTION_COMMIT_FAILED),
            _I,
        ),
        (
            # An Airflow Celery worker whose `airflow tasks run` command exited non-zero ("Celery
            # command failed on host: h with celery_task_id ..."), below what a log states about
            # it (a SIGKILL, an out-of-memory kill).
            "celery_command_failed",
            3.0,
            any_of(*signals.CELERY_COMMAND_FAILED),
            _I,
        ),
        (
            # A container registry answering a server error while an image is pulled, above the
            # "failed to authorize" the authentication class reads.
            "image_registry_unavailable",
            5.5,
            any_of(*signals.IMAGE_REGISTRY_UNAVAILABLE),
            _I,
        ),
        (
            # A Synapse activity that could not submit its job to the Spark pool's Livy endpoint.
            "livy_request_failed",
            4.5,
            any_of(*signals.LIVY_REQUEST_FAILED),
            _I,
        ),
        (
            # Synapse Spark's error code for an ADLS Gen2 operation that failed.
            "synapse_storage_operation_failed",
            4.5,
            any_of(*signals.SYNAPSE_STORAGE_OPERATION_FAILED),
            _I,
        ),
        (
            # A notebook's language runtime that went away under the command (Databricks "jupyter
            # client is not available because the python kernel is not defined. The kernel may be
            # restarting or the repl may have been shut down"): the driver restarted or detached
            # the REPL, weighted above the IllegalStateException it is raised as.
            "repl_unavailable",
            5.0,
            r"\bpython kernel is not defined\b|\bkernel may be restarting\b"
            r"|\brepl may have been shut down\b",
            _I,
        ),
        (
            # A service's compute that was not up for the request: an ADF data flow debug
            # cluster that did not come up ("Failed to setup debug session. Session ID: ..."), a
            # Databricks SQL warehouse stopped or still starting under an open session
            # ("requirement failed: Session handle ... has not been initialized or had already
            # closed", a Thrift "Invalid SessionHandle: SessionHandle [...]" once it expired, or
            # "Invalid OperationHandle" for a statement of a session the server closed, the
            # JDBC driver's "Error occurred while opening a session with the server"), a Synapse
            # Livy session that never started ("SessionNotStartException: Session ... is ERROR").
            "service_compute_not_up",
            4.0,
            r"\bfailed to set ?up (?:the )?debug session\b"
            r"|\bsession handle [^\n]{0,100}?has not been initiali[sz]ed\b"
            r"|\binvalid (?:sessionhandle|operationhandle)\b"
            r"|\berror occurred while opening a session with the server\b"
            r"|\bsessionnotstartexception\b",
            _I,
        ),
        (
            # An Azure Resource Manager deployment of the same name still being deleted
            # (DeploymentBeingDeleted "cannot be edited because it is being deleted"), or a blob
            # lease the storage service no longer holds (LeaseNotPresentWithLeaseOperation "The
            # lease ID is not present with the specified lease operation"): the service's state,
            # not the pipeline's definition.
            "remote_resource_state_conflict",
            4.0,
            r"\bdeploymentbeingdeleted\b|\bcannot be edited because it is being deleted\b"
            r"|\bleasenotpresentwithleaseoperation\b"
            r"|\blease id is not present with the specified lease operation\b",
            _I,
        ),
        (
            # An ADF REST sink or Azure Files operation that the remote side failed
            # (RestSinkCallFailed "Rest Endpoint responded with Failure from server",
            # AzureFileOperationFailed "Azure File operation Failed. Path: ..."): the service's
            # answer.
            "remote_store_operation_failed",
            4.0,
            r"\bresponded with failure from server\b|\bazure file operation failed\b",
            _I,
        ),
        (
            # A Kafka partition with fewer in-sync replicas than min.insync.replicas (librdkafka
            # "Broker: Not enough in-sync replicas", the Java client's NotEnoughReplicasException
            # "insufficient to satisfy the min.isr requirement"): the brokers, not the producer.
            "kafka_not_enough_replicas",
            4.0,
            r"\bnot enough in-sync replicas\b|\bnotenoughreplicas(?:afterappend)?exception\b"
            r"|\bmin\.isr requirement\b",
            _I,
        ),
        (
            # A Kafka producer that gave up after its retries (the Scala producer's
            # "FailedToSendMessageException: Failed to send messages after 3 tries"): the
            # brokers did not take the messages.
            "kafka_send_retries_exhausted",
            4.0,
            r"\bfailedtosendmessageexception\b|\bfailed to send messages after \d{1,6} tries\b",
            _I,
        ),
        (
            # A Kafka group coordinator the brokers do not provide (GroupCoordinatorNotAvailable
            # "[Error 15]", "Not coordinator for group"): the cluster, not the consumer.
            "kafka_group_coordinator_unavailable",
            4.0,
            r"\bgroup ?coordinator ?not ?available(?:error|exception)?\b"
            r"|\bcoordinator_not_available\b|\bnot coordinator for group\b",
            _I,
        ),
        (
            # A vendor account suspended over billing ("Your account is suspended due to lack of
            # payment method", "Your free trial has ended"): the account's owner, not the job.
            "vendor_account_suspended",
            4.0,
            r"\baccount (?:is|has been) suspended\b[^\n]{0,60}?\b(?:payment|billing)\b"
            r"|\black of payment method\b|\bfree trial has (?:ended|expired)\b",
            _I,
        ),
        (
            # Kubernetes no longer having the pod or container a task watches (ApiException 404
            # "pods \"dbt-...\" not found", the runtime's "an error occurred when try to find
            # container"): removed under the task, as by its cluster or its delete-on-failure.
            "kubernetes_pod_gone",
            4.0,
            r'\bpods \\?"[^"\\\n]{1,253}\\?" not found\b'
            r"|\ban error occurred when try to find container\b",
            _I,
        ),
        ("msdtc_unavailable", 4.0, any_of(*signals.MSDTC_UNAVAILABLE), _I),
        ("spark_connect_session_gone", 4.0, any_of(*signals.SPARK_CONNECT_SESSION_GONE), _I),
        (
            # A driver's "Hive driver: 503 when connecting to resource" (Databricks SQL's Thrift
            # client): the endpoint answered with a server error.
            "server_error_connecting",
            3.5,
            r"\b5\d\d when connecting to resource\b",
            _I,
        ),
        ("no_storage_nodes", 4.0, any_of(*signals.NO_STORAGE_NODES), _I),
        ("lambda_invoke_failed", 3.5, any_of(*signals.LAMBDA_INVOKE_FAILED), _I),
        (
            # The platform's own storage was not up yet for the step (Databricks "Cluster
            # library installation failed on the driver because the filesystem is not ready or
            # has been disabled"): above the library installation it interrupted.
            "platform_not_ready",
            5.0,
            r"\b(?:file ?system|dbfs) is not ready\b|\bis not ready or has been disabled",
            _I,
        ),
        (
            # A managed service's own job failing on its side with no cause it could name
            # (Azure ML's DataTransferStep "Data transfer job failed with unexpected error:
            # Failed to get data factory config from compute target"): the service, not a setting
            # the run passed, even though the words it uses are about configuration.
            "service_job_unexpected_error",
            2.0,
            r"\b(?:data transfer |transfer |copy |service |server )?(?:job|operation|request)"
            r" failed with (?:an )?unexpected error\b",
            _I,
        ),
        (
            # Snowflake's own incident while running a statement (signals.py).
            "snowflake_incident",
            4.0,
            any_of(*signals.SNOWFLAKE_INCIDENT),
            _I,
        ),
        (
            # A server that keeps redirecting the client (requests TooManyRedirects "Exceeded
            # 30 redirects.", a browser's ERR_TOO_MANY_REDIRECTS): a login or proxy page loop,
            # or an endpoint that moved.
            "redirect_loop",
            3.5,
            r"toomanyredirects|exceeded \d+ redirects|too many redirects|redirect loop",
            _I,
        ),
        (
            # The service reports its own internal failure and asks for a retry (BigQuery's
            # backendError, Azure SQL's "The service has encountered an error processing your
            # request").
            "service_internal_error",
            3.0,
            r"retrying may solve the problem|reason: ?backenderror"
            r"|the service has encountered an error processing your request"
            # Azure Event Hubs / Service Bus (AMQP ServerBusy, InternalServerError): "The
            # service was unable to process the request; please retry the operation".
            r"|the service was unable to process the request"
            # Synapse/Fabric Spark: the service could not start the notebook's session.
            r"|livy session (?:has )?failed"
            # sparklyr's "Failed to launch livy session, session status is dead".
            r"|\bfailed to launch livy session\b|\blivy session[^\n]{0,60}?\bstatus is dead\b",
            _I,
        ),
        (
            # Azure's own incident or maintenance, as a Service Health alert reports it (the
            # parser's first sentence): a provider-side event, not a fault in the resources.
            "azure_service_health",
            4.0,
            r"azure monitor service health alert '[^'\n]{0,200}' fired|microsoft\.servicehealth/",
            _I,
        ),
        (
            "throttled",
            4.0,
            _status("429", r"too many requests|quota")
            + "|"
            + any_of(
                *signals.THROTTLED,
                r"request_?limit_?exceeded",
                r"ratelimit",
                r"rate_limit",
                r"too many 429 error responses",
                r"requests per (?:second|minute|hour)",
            ),
            _I,
        ),
        (
            # S3 and S3-compatible storage asking the client to slow down (MinIO's "SlowDown: A
            # timeout exceeded while waiting to proceed with the request, please reduce your
            # request rate"): a throttle, weighted above the timeout its description mentions.
            "storage_slow_down",
            4.5,
            r"\bslow ?down\b[^\n]{0,200}?\breduce your request rate\b",
            _I,
        ),
        (
            "http_5xx",
            3.0,
            _status(
                "50[0234]",
                r"server error|service unavailable|bad gateway|gateway time-?out"
                r"|internal server error",
            )
            + "|"
            + any_of(
                *signals.HTTP_5XX,
                r"internalservererror",
                r"internal server error",
                r"service is busy",
                r"too many 50[0234] error responses",
            ),
            _I,
        ),
        (
            "service_unavailable",
            2.5,
            r"temporarily unavailable|currently unavailable|not (?:fully )?initialized yet|outage"
            r"|service (?:is )?(?:down|degraded)|temporarily_unavailable",
            _I,
        ),
        (
            "cloud_provider",
            2.5,
            r"cloud provider|cloud_provider|cloud_failure|allocationfailed|sufficient capacity"
            r"|skunotavailable|bootstrap failure|bootstrap_failure|add_nodes_failed"
            r"|insufficient\w*capacity|insufficient capacity|do not have sufficient .{0,40}capacity"
            r"|unexpected launch failure|unexpected_launch_failure"
            r"|unexpected startup failure|spot instance|instance (?:was )?preempted",
            _I,
        ),
        (
            "remote_call_failed",
            2.0,
            r"web activity failed|httpstatuscode|call to provided azure function"
            r"|error calling the endpoint|no response from the endpoint|response status code"
            r"|server error:|internal_error|internal error",
            _I,
        ),
        (
            "retry_later",
            1.5,
            r"(?:try|retry) (?:again )?(?:later|after (?:some ?time|a (?:while|few)))"
            r"|retry your request",
            _I,
        ),
        (
            # The service says the failure was transient ("Cannot download some libraries due
            # to transient Maven issue. Please try again later."): above the setup signal of
            # the step it interrupted.
            "transient_failure",
            3.5,
            r"\btransient (?:[\w-]+ )?(?:issue|error|failure|fault|problem|exception|condition)",
            _I,
        ),
        (
            # A Kafka broker no longer leads the partition a client wrote to or read from
            # (leader election, a broker restart or reassignment): the client refreshes its
            # metadata and retries.
            "partition_leader_moved",
            4.0,
            r"notleaderorfollower|notleaderforpartition|not_leader_or_follower"
            r"|not_leader_for_partition|broker is not the current leader"
            r"|leadernotavailable|leader_not_available",
            _I,
        ),
        (
            # Another operation on the same resource is still running (Cosmos DB throughput
            # scaling, a cluster being resized): the service refuses until it ends.
            "operation_in_progress",
            2.5,
            r"another (?:[\w-]+ )?operation is (?:already |currently |still )?in progress"
            r"|conflicting (?:[\w-]+ )?operation is in progress",
            _I,
        ),
        (
            # urllib3 gave up after the server kept answering an error status (the 429 and 5xx
            # forms are counted with throttling and server errors).
            "error_responses",
            2.0,
            r"too many \d{3} error responses",
            _I,
        ),
        (
            # An idempotent Kafka producer out of step with the broker (OutOfOrderSequenceException
            # "Out of order sequence number for producer 29003", librdkafka "sequence
            # desynchronization with broker"): batches were lost or reordered after a timeout or
            # a leader change, and the broker refuses the next one.
            "producer_sequence_desync",
            4.0,
            r"outofordersequence|out of order sequence number|out_of_order_sequence_number"
            r"|sequence desynchronization with broker",
            _I,
        ),
        (
            # A Databricks driver that could not start a notebook's REPL
            # (ReplStartFailureException, "Failure starting repl"): the cluster's driver, not the
            # notebook's code.
            "repl_start_failure",
            4.0,
            r"replstartfailure|failure starting repl|repl (?:did not|failed to|could not) start"
            r"|(?:failed|unable) to start (?:the )?repl\b",
            _I,
        ),
    ],
    "TimeoutError": [
        (
            # Airflow tasks no worker started before the scheduler's or the Celery executor's
            # timeout for queued (or adopted) tasks.
            "tasks_stuck_in_queue",
            4.5,
            any_of(*signals.TASKS_STUCK_IN_QUEUE),
            _I,
        ),
        (
            # A query the engine expired when its time ran out (Kusto's "Query is expired").
            "query_expired",
            4.5,
            any_of(*signals.QUERY_EXPIRED),
            _I,
        ),
        (
            # A pool or cluster that did not become ready in time (Synapse's
            # CLUSTER_CREATION_TIMED_OUT, "terminal state=[Cancelled] before it reached 'Ready'
            # state").
            "compute_start_timed_out",
            4.5,
            any_of(*signals.COMPUTE_START_TIMED_OUT),
            _I,
        ),
        (
            # Something that had to start by a deadline and did not (Airflow's deferrable
            # ExternalTaskSensor "Dag was not started within 1 minute, assuming fail."): the
            # awaited run was never started, or the wait is too short for its schedule.
            "not_started_within",
            4.0,
            r"\b(?:was|were|is|are) not started within \d|\bdid not start within \d",
            _I,
        ),
        (
            # Airflow's DAG file processor killed for parsing a file past
            # dag_file_processor_timeout ("Processor for dags/x.py with PID 27954 started at ...
            # has timed out, killing it"): the kill's "exit code -9" that follows is the
            # timeout's doing, not memory.
            "dag_file_processor_timeout",
            4.5,
            any_of(*signals.DAG_FILE_PROCESSOR_TIMEOUT),
            _I,
        ),
        (
            # An Airflow operator's program stopped by `timeout` (exit code 124), the exit code
            # all its error says.
            "operator_exit_timeout",
            4.0,
            signals.operator_exit_code("124"),
            _I,
        ),
        (
            # The Airflow webserver giving up on its gunicorn master ("No response from gunicorn
            # master within 120 seconds"): its workers did not start in time.
            "gunicorn_master_no_response",
            4.0,
            r"\bno response from gunicorn master within \d{1,5} seconds\b",
            _I,
        ),
        # An Airflow DAG run over its dagrun_timeout (reported by the DAG's own callback).
        ("dagrun_timeout", 4.0, any_of(*signals.DAGRUN_TIMEOUT), _I),
        (
            "timed_out",
            3.5,
            r"timed[ -]?out|timeout expired|timeout period elapsed|timeout exceeded|timeout, pid"
            r"|timeout occurred|deadline[_ ]exceeded|exceeded (?:the |its )?timeout"
            r"|exceeds the specified timeout|took too long|execution time exceeded"
            r"|could not execute broadcast in|reached its .{0,40}timeout"
            # Airflow's SLA miss: a task not done by the time its SLA allows.
            rf"|{any_of(*signals.SLA_MISS)}"
            # Spelled as two words ("Time out to retry."); "timeout while" is often a cause
            # quoted inside another failure.
            r"|\btime out (?:to|after|waiting)"
            # A query engine's limit on a phase's duration (Trino planning/execution time).
            r"|exceeded (?:the )?(?:max(?:imum)? )?(?:\w+ )?time ?limit"
            r"|time ?limit (?:exceeded|reached)|exceeded_time_limit"
            # Kubernetes/Spark: "The driver pod ... was not ready in 60 seconds".
            r"|(?:was|were|is|are|not) (?:still )?not ready (?:in|within|after) \d+ ?(?:ms|s|sec"
            r"|seconds?|min|minutes?)\b",
            _I,
        ),
        (
            "timeout_exception",
            3.5,
            r"airflowtasktimeout|airflowsensortimeout|readtimeout|connecttimeout"
            r"|sockettimeoutexception|timeoutexception|timeouterror|querycanceled"
            r"|statement timeout|query timeout|canceling statement|opentimeout|connectiontimeout"
            r"|statement_timeout|waitererror"
            # Service Bus: a message or session lock that ran out before it was settled.
            r"|messagelocklost|sessionlocklost|lock on the message .{0,40}has expired"
            r"|\bsession lock has expired\b|\bsession lock (?:was )?lost\b",
            _I,
        ),
        (
            # A Kafka consumer that took longer than max.poll.interval.ms between polls.
            "poll_interval_exceeded",
            4.0,
            any_of(*signals.KAFKA_POLL_INTERVAL),
            _I,
        ),
        (
            # Work that stopped making progress until a watchdog gave up: a Flink checkpoint
            # "expired before completing" (its checkpoint timeout), a Dataflow job that "appears
            # to be stuck because no worker activity has been seen in the last 1h".
            "no_progress",
            3.5,
            any_of(*signals.NO_PROGRESS),
            _I,
        ),
        ("timeout_word", 1.5, r"time-?out", _I),
        ("task_canceled", 1.5, r"task was cancel?led|operation was cancel?led", _I),
        ("sqlstate_canceled", 2.5, _sqlstate("57014"), _I),
    ],
    "ConfigurationError": [
        (
            # An Azure SDK request refused client-side for a required parameter left None.
            "azure_sdk_parameter_none",
            4.5,
            any_of(*signals.AZURE_SDK_PARAMETER_NONE),
            _I,
        ),
        (
            # A program the JVM was told to start that is not at the path given, above the
            # "No such file or directory" words of a missing input.
            "program_not_found",
            5.5,
            any_of(*signals.PROGRAM_NOT_FOUND),
            _I,
        ),
        (
            # A Data Factory child resource request Azure Resource Manager refuses as given.
            "adf_resource_request_invalid",
            5.5,
            any_of(*signals.ADF_RESOURCE_REQUEST_INVALID),
            _I,
        ),
        (
            # An SSIS run given an environment reference it cannot get.
            "ssis_environment_reference_failed",
            5.5,
            any_of(*signals.SSIS_ENVIRONMENT_REFERENCE_FAILED),
            _I,
        ),
        (
            # A Databricks job or pipeline cluster specification that does not hold together,
            # above the "is not defined" the code class reads.
            "databricks_cluster_spec_invalid",
            5.5,
            any_of(*signals.DATABRICKS_CLUSTER_SPEC_INVALID),
            _I,
        ),
        (
            # Delta Live Tables code run outside a pipeline.
            "dlt_query_outside_pipeline",
            5.5,
            any_of(*signals.DLT_QUERY_OUTSIDE_PIPELINE),
            _I,
        ),
        (
            # A time-travel read of an object without history (a view), above the analysis exception
            # the code class reads.
            "time_travel_unsupported_object",
            5.5,
            any_of(*signals.TIME_TRAVEL_UNSUPPORTED_OBJECT),
            _I,
        ),
        (
            # A BigQuery destination that may not gain the field new data has (the job did not
            # allow field additions).
            "bigquery_field_addition_refused",
            5.5,
            any_of(*signals.BIGQUERY_FIELD_ADDITION_REFUSED),
            _I,
        ),
        (
            # A Data Factory connector type the integration runtime does not know.
            "adf_plugin_type_unknown",
            5.5,
            any_of(*signals.ADF_PLUGIN_TYPE_UNKNOWN),
            _I,
        ),
        (
            # A change Data Factory refuses to a started tumbling window trigger.
            "adf_tumbling_trigger_update_refused",
            5.5,
            any_of(*signals.ADF_TUMBLING_TRIGGER_UPDATE_REFUSED),
            _I,
        ),
        (
            # An Airflow command given a DAG run that does not exist.
            "airflow_dag_run_not_found",
            5.5,
            any_of(*signals.AIRFLOW_DAG_RUN_NOT_FOUND),
            _I,
        ),
        (
            # A Data Factory name over the service's length limit when a run starts, above the
            # limit the resource class reads.
            "adf_name_too_long",
            5.5,
            any_of(*signals.ADF_NAME_TOO_LONG),
            _I,
        ),
        (
            # A mapping data flow's debug row limit that is not above zero, above the limit
            # the resource class reads.
            "dataflow_debug_row_limit",
            5.5,
            any_of(*signals.DATAFLOW_DEBUG_ROW_LIMIT),
            _I,
        ),
        (
            # A DB2 server expecting another security mechanism (DRDA codepoint), above the
            # SQLSTATE the database class reads.
            "db2_security_mechanism",
            5.5,
            any_of(*signals.DB2_SECURITY_MECHANISM),
            _I,
        ),
        (
            # A Databricks job's Python file the run cannot read.
            "job_python_file_unreadable",
            5.5,
            any_of(*signals.JOB_PYTHON_FILE_UNREADABLE),
            _I,
        ),
        (
            # A dbt project or profile file without a field dbt requires.
            "dbt_project_field_missing",
            5.5,
            any_of(*signals.DBT_PROJECT_FIELD_MISSING),
            _I,
        ),
        (
            # A Delta table's _delta_log directory missing when the log store writes a commit,
            # above the missing input the data class reads.
            "delta_log_dir_missing",
            5.5,
            any_of(*signals.DELTA_LOG_DIR_MISSING),
            _I,
        ),
        (
            # A bulk copy's column mapping naming a column the source or table lacks.
            "bulk_copy_column_mapping_mismatch",
            5.5,
            any_of(*signals.BULK_COPY_COLUMN_MAPPING_MISMATCH),
            _I,
        ),
        (
            # A dbt node a model depends on that astronomer-cosmos did not find.
            "cosmos_dependency_not_found",
            5.5,
            any_of(*signals.COSMOS_DEPENDENCY_NOT_FOUND),
            _I,
        ),
        (
            # A MySQL binary log a CDC connector cannot read as it needs (off, or not ROW).
            "mysql_binlog_not_ready",
            4.5,
            any_of(*signals.MYSQL_BINLOG_NOT_READY),
            _I,
        ),
        (
            # A binary-log event type the binlog client does not know (a server of a newer or
            # another flavour's version).
            "binlog_event_unknown",
            4.5,
            any_of(*signals.BINLOG_EVENT_UNKNOWN),
            _I,
        ),
        (
            # A JDBC driver method a connector calls and the driver on the classpath lacks,
            # above the NoSuchMethodError the code class reads.
            "jdbc_driver_method_missing",
            5.5,
            any_of(*signals.JDBC_DRIVER_METHOD_MISSING),
            _I,
        ),
        (
            # A class that cannot be cast to a class of its own name (two class loaders), above
            # the cast the data class reads.
            "class_cast_same_name",
            5.5,
            any_of(*signals.CLASS_CAST_SAME_NAME),
            _I,
        ),
        (
            # A MySQL database the connection names and the server does not have, above the
            # database class's SQLSyntaxErrorException.
            "mysql_unknown_database",
            5.5,
            any_of(*signals.MYSQL_UNKNOWN_DATABASE),
            _I,
        ),
        (
            # A Google Cloud API the request needs and its project has not enabled, above the
            # 403 the authentication class reads.
            "gcp_api_disabled",
            5.5,
            any_of(*signals.GCP_API_DISABLED),
            _I,
        ),
        (
            # A Google Cloud project without billing (BigQuery's free tier), above the "Access
            # Denied" the authentication class reads.
            "gcp_billing_disabled",
            5.5,
            any_of(*signals.GCP_BILLING_DISABLED),
            _I,
        ),
        (
            # A Celery broker behind Redis Sentinel with no master_name, or Sentinels that know no
            # master of that name, above the OperationalError the database class reads.
            "redis_sentinel_misconfigured",
            5.5,
            any_of(*signals.REDIS_SENTINEL_MISCONFIGURED),
            _I,
        ),
        (
            # A Synapse Spark pool's node count outside what the pool allows.
            "node_count_out_of_range",
            4.5,
            any_of(*signals.NODE_COUNT_OUT_OF_RANGE),
            _I,
        ),
        (
            # Synapse Spark's error code for a class the job needs that the pool lacks.
            "synapse_class_not_found",
            4.5,
            any_of(*signals.SYNAPSE_CLASS_NOT_FOUND),
            _I,
        ),
        (
            # An Azure Databricks workspace whose deployment failed.
            "workspace_failed_state",
            4.5,
            any_of(*signals.WORKSPACE_FAILED_STATE),
            _I,
        ),
        (
            # A request a dedicated SQL pool's workload management placed in no workload group.
            "workload_classification_failed",
            4.5,
            any_of(*signals.WORKLOAD_CLASSIFICATION_FAILED),
            _I,
        ),
        (
            # A dbt node that a model refers to but the project disables ("depends on a node
            # named 'x' ... which is disabled"): its enabled config, above the unresolved ref()
            # words a missing node shares.
            "dbt_ref_disabled",
            5.5,
            any_of(*signals.DBT_REF_DISABLED),
            _I,
        ),
        (
            # A semantic model whose data sources the service cannot refresh on a schedule.
            "refresh_unsupported_source",
            4.5,
            any_of(*signals.REFRESH_UNSUPPORTED_SOURCE),
            _I,
        ),
        (
            # An Airflow 3 Task SDK request for an asset, variable or connection the deployment
            # does not have (AirflowRuntimeError ASSET_NOT_FOUND and its kin).
            "airflow_runtime_not_found",
            4.5,
            any_of(*signals.AIRFLOW_RUNTIME_NOT_FOUND),
            _I,
        ),
        (
            # A binary or image built for another CPU architecture than the node's.
            "exec_format_error",
            4.5,
            any_of(*signals.EXEC_FORMAT_ERROR),
            _I,
        ),
        (
            # A Slack post or edit refused for its channel (channel_not_found, not_in_channel,
            # is_archived, is_inactive).
            "slack_channel_unusable",
            4.5,
            any_of(*signals.SLACK_CHANNEL_UNUSABLE),
            _I,
        ),
        (
            # A deployment that names an item the workspace does not have: an ADF/Synapse
            # resource referencing one that is not deployed ("The document creation or update
            # failed because of invalid reference \"dfpurgecosmos\""), the Fabric CLI's "[NotFound]
            # The Item 'LH_BRONZE.Lakehouse' could not be found".
            "invalid_item_reference",
            4.0,
            r"\bfailed because of invalid reference\b"
            r"|\bthe item '[^'\n]{1,200}' could not be found\b",
            _I,
        ),
        (
            # A deployment or command-line tool that refuses what it was given: fabric-cicd's
            # "Failed to publish Notebook 'x'" (an item file the tool cannot convert), a Go CLI
            # given a flag it does not have ("unknown shorthand flag: 'X' in -X").
            "tool_refused_definition",
            4.0,
            r"\bfailed to publish (?:notebook|data ?pipeline|environment|lakehouse|warehouse"
            r"|semantic ?model|report|dataflow|variable ?library|eventstream|kql ?database)\b"
            r"|\bunknown shorthand flag\b",
            _I,
        ),
        (
            # A Kubernetes container that keeps exiting right after it starts ("Back-off 5m0s
            # restarting failed container=x pod=y", kubectl's event "Back-off restarting failed
            # container app in pod y"): its command, image or settings, weighted
            # below an OOMKilled or other stated reason it may come with.
            "container_restart_backoff",
            3.0,
            r"\bback-off (?:\S{1,12} )?restarting failed container\b",
            _I,
        ),
        (
            # A definition the service takes in the wrong order or that names what does not
            # exist for it: a Synapse Spark pool given libraries in the request that creates it
            # ("SparkComputePropertiesNotAllowed ... must be created before libraries are
            # installed"), a Databricks bundle granting permissions to a group or user that does
            # not exist ("Principal: GroupName(x) does not exist"), a
            # dbt dispatch that finds no implementation of a package macro ("In dispatch: No macro
            # named 'any_value' found"): the definition or the package versions it relies on.
            "definition_unresolvable",
            4.5,
            r"\bmust be created before (?:the )?[\w ]{1,40}(?:are|is) (?:installed|added|applied)\b"
            r"|\bprincipal: \w{1,40}\([^)\n]{0,200}\) does not exist\b"
            r"|\bin dispatch: no macro named\b",
            _I,
        ),
        (
            # Pipeline definitions the service refuses to run as set up: an SSIS Script Task or
            # component whose script cannot be loaded (built for another SSIS version, or its
            # binary code not saved: "Cannot load script for execution", "The binary code for
            # the script is not found"), an ADF activity missing a required setting ("Table is
            # required for Copy activity"), an endpoint that does not take the HTTP method
            # ("405 Client Error: Method not allowed for url", a wrong API URL or path).
            "pipeline_definition_refused",
            4.0,
            r"\bcannot load script for execution\b|\bthe binary code for the script is not found\b"
            r"|\bis required for (?:the )?(?:copy|lookup|get ?metadata|delete|script|web"
            r"|validation) activity\b"
            r"|\b405 (?:client error: )?method not allowed\b",
            _I,
        ),
        (
            # Compute that is there but switched off: a Synapse dedicated SQL pool paused
            # (42108 "Can not connect to the SQL pool since it is paused. Please resume the SQL
            # pool and try again"), as Snowflake's suspended warehouse is (`no_warehouse`).
            "compute_paused",
            4.0,
            r"\bsql pool since it is paused\b|\b(?:dedicated )?sql pool (?:is|was) paused\b"
            r"|\bresume the (?:dedicated )?sql pool\b",
            _I,
        ),
        (
            # A command-line tool refusing a path option that names nothing (Click's "Invalid
            # value for '--profiles-dir': Path '/x/dbt' does not exist." as dbt and the tools
            # built on it print it, weighted above the "invalid value" of a bad datum; Cosmos's
            # "Unable to run ['dbt', 'ls', ...] due to the error: ... Path '...' does not exist"):
            # the option or the project folder it points at.
            "cli_path_missing",
            4.5,
            r"\bpath '[^'\n]{1,500}' does not exist\b",
            _I,
        ),
        (
            # A definition that names the wrong kind of thing: a directory where a file is
            # expected or the reverse (Go's "read dir: is a directory", Python's "[Errno 21] Is a
            # directory", ADF Get Metadata's "Cannot navigate through the provided data source"
            # on a file), a Kubernetes object changed in a field that cannot change ("pod updates
            # may not change fields", "field is immutable"), a library a job names that is not
            # where it says ("no library found for abfss://.../x.whl").
            "wrong_kind_of_target",
            4.5,
            r"\bread [^\n:]{1,300}: is a directory\b|\[errno 21\] is a directory\b"
            r"|\bcannot navigate through the provided data source\b"
            r"|\bpod updates may not change fields\b|\bfield is immutable\b"
            r"|\bno (?:library|wheel|jar) found for\b",
            _I,
        ),
        (
            # A setting that names the wrong thing or leaves one out: a Synapse SQL server whose
            # outbound firewall rules lack the storage account an external data source writes to
            # (Msg 16539 "... is not in the list of Outbound Firewall Rules on the server"), a
            # copy whose source and destination formats do not go together ("Source must be
            # binary when destination is of binary format"), a Databricks grant that must name
            # its Unity Catalog catalog ("For unity catalog, please specify the catalog name
            # explicitly").
            "setting_contradicts",
            4.0,
            r"\bnot in the list of outbound firewall rules\b"
            r"|\b(?:source|sink|destination) must be \w{2,30} when (?:the )?(?:source|sink"
            r"|destination) is\b"
            r"|\bplease specify the (?:catalog|schema|metastore) name explicitly\b",
            _I,
        ),
        (
            # A compute or job policy the request breaks: a Databricks cluster policy
            # ("Validation failed for driver_node_type_id, the value must be i3.2xlarge",
            # "Changing policy_family_id is forbidden for default cluster policies", "cannot
            # update cluster policy: max_clusters_per_user must be greater than 0", "Requests for
            # the policy ... cannot be satisfied due to the malformed policy definition"), an
            # Airflow cluster policy rejecting a DAG or task ("Task Policy validation failed for
            # 'load'", AirflowClusterPolicyViolation): the policy or what the job asks of it,
            # weighted above the "forbidden", "malformed" and "validation failed" they carry.
            "policy_violation",
            5.0,
            r"\bvalidation failed for [a-z_][\w.]{0,100}, (?:the value must\b|[\w.]{1,200} must be"
            r" present\b)"
            r"|\bforbidden for (?:default )?cluster polic(?:y|ies)\b"
            r"|\b(?:cannot|could not|failed to) (?:create|update|edit|apply) (?:the )?cluster"
            r" policy\b|\bmalformed policy definition\b|\b(?:task|dag) policy validation failed\b"
            r"|\bairflowclusterpolicy(?:violation|error)\b",
            _I,
        ),
        (
            # A setting a service needs that the request leaves out or leaves unset: Synapse's
            # "Min and max executors properties are mandatory fields when dynamic executor
            # allocation is enabled", ADF Get Metadata's "FormatSetting property is not
            # initialized." (a dataset without its format settings).
            "required_setting_unset",
            4.0,
            any_of(*signals.REQUIRED_SETTING_UNSET),
            _I,
        ),
        (
            # A Fabric or Power BI workspace on no capacity, which items need to be published
            # or run in ("Workspace ... does not have an assigned capacity. Please assign a
            # capacity before publishing items"): the workspace's setup, not a capacity's limit.
            "workspace_without_capacity",
            4.0,
            any_of(*signals.WORKSPACE_WITHOUT_CAPACITY),
            _I,
        ),
        (
            # A Fabric or Power BI capacity that is paused or suspended (CapacityNotActive): its
            # state, weighted above the capacity words a capacity's limit shares.
            "capacity_not_active",
            4.5,
            any_of(*signals.CAPACITY_NOT_ACTIVE),
            _I,
        ),
        (
            # A Fabric notebook with no lakehouse attached ("Spark SQL queries are only possible
            # in the context of a lakehouse"), weighted above the AnalysisException it is
            # thrown as.
            "lakehouse_not_attached",
            4.5,
            any_of(*signals.LAKEHOUSE_NOT_ATTACHED),
            _I,
        ),
        (
            # A Kubernetes container referring to a Secret or ConfigMap, or a key of one, that is
            # not there (the kubelet's "Error: couldn't find key VALUE in Secret default/app",
            # 'secret "db-creds" not found'): the pod spec or the namespace's secrets.
            "kube_secret_missing",
            4.0,
            any_of(*signals.KUBE_SECRET_MISSING),
            _I,
        ),
        (
            # A pod admission refused for its spec (namespace Pod Security level, an admission
            # webhook's policy): the securityContext or fields the policy asks for, above the
            # "forbidden" it is worded with.
            "pod_admission_refused",
            4.5,
            any_of(*signals.POD_ADMISSION_REFUSED),
            _I,
        ),
        (
            # A table write whose partitioning disagrees with the table's (BigQuery: a replace
            # with another partitioning spec, a partition decorator on an unpartitioned table, a
            # field-partitioned table created without a schema), above "Invalid value".
            "table_partitioning_mismatch",
            4.5,
            any_of(*signals.TABLE_PARTITIONING_MISMATCH),
            _I,
        ),
        (
            # A table an incremental reader (a stream, a dynamic table, CDC) needs change
            # tracking on, without it or without the history it asks for.
            "change_tracking_disabled",
            4.0,
            any_of(*signals.CHANGE_TRACKING_DISABLED),
            _I,
        ),
        (
            # An object kept by a retention policy, hold or immutability policy from being
            # overwritten or deleted: the bucket's or container's retention setting, above the
            # "Access Denied" S3 words it with.
            "retention_locked_object",
            5.0,
            any_of(*signals.RETENTION_LOCKED_OBJECT),
            _I,
        ),
        (
            # An Airflow 3 DAG bundle that the DAG processor's dag_bundle_config_list does not
            # list ("Requested bundle 'dags-folder' is not configured").
            "dag_bundle_not_configured",
            4.0,
            any_of(*signals.DAG_BUNDLE_NOT_CONFIGURED),
            _I,
        ),
        (
            # A task the DAG does not have as parsed or as the run's DAG version has it
            # (Airflow's "TaskNotFound: Task load not found"): a renamed or removed task.
            "airflow_task_not_found",
            4.0,
            any_of(*signals.AIRFLOW_TASK_NOT_FOUND),
            _I,
        ),
        (
            # A Fabric or Synapse Spark session that cannot read its default database's metadata
            # (the notebook's default lakehouse: "IllegalStateException: Failed to get database
            # metadata at ...SparkCatalogHelper.resolveDefaultNamespace"), weighted above the
            # JVM exception it is thrown as.
            "default_lakehouse_unresolved",
            4.0,
            r"\bfailed to get database metadata\b",
            _I,
        ),
        (
            # Change data capture from a PostgreSQL server that does not write logical WAL
            # ("logical decoding requires wal_level >= logical", pgsync's "Enable logical
            # decoding by setting wal_level=logical"): the server's wal_level setting.
            "logical_decoding_disabled",
            4.0,
            any_of(*signals.LOGICAL_DECODING_DISABLED),
            _I,
        ),
        (
            # A Kafka client its settings could not build ("KafkaException: Failed to construct
            # kafka producer", a consumer's or admin client's likewise): bootstrap servers,
            # security protocol, SASL/JAAS or serializer settings the client refused.
            "kafka_client_not_constructed",
            4.0,
            any_of(*signals.KAFKA_CLIENT_NOT_CONSTRUCTED),
            _I,
        ),
        (
            # A target a definition points at that cannot take what it is given: a CETAS whose
            # location already holds files ("External table location already exists"), or whose
            # path is not a folder it can write to ("... could not be used for export. Please
            # ensure that the specified path is a directory"), a Unity Catalog volume path the
            # cluster cannot reach ("Cannot access the UC Volume path from this location"), a
            # storage account whose features its endpoint refuses ("This endpoint does not support
            # BlobStorageEvents, SoftDelete or AutomaticSnapshot").
            "target_unusable",
            4.5,
            r"\blocation already exists\b|\bcould not be used for export\b"
            r"|\bcannot access the (?:uc )?volume path\b"
            r"|\bthis endpoint does not support\b",
            _I,
        ),
        (
            # Something a model or report reads that is missing or hidden from its owner (a
            # Fabric/Power BI refresh's "one or multiple source tables either do not exist or
            # access was denied"), weighted above the retry limit its refresh reports.
            "source_missing_or_denied",
            4.5,
            any_of(*signals.SOURCE_MISSING_OR_DENIED),
            _I,
        ),
        (
            # An Event Hubs consumer refused because another reader holds the partition with an
            # epoch ("At least one receiver for the endpoint is created with epoch of '5', and so
            # non-epoch receiver is not allowed", "A receiver with a higher epoch '...' already
            # exists"): two consumers in one consumer group, or a processor that did not release
            # its lease.
            "epoch_receiver_conflict",
            4.0,
            r"\bnon-epoch receiver is not allowed\b|\breceiver with (?:a )?higher epoch\b",
            _I,
        ),
        (
            # An Airflow operator's program that could not be run: the shell found no such
            # command (127) or could not execute it (126), the exit code all its error says.
            "operator_exit_not_runnable",
            4.0,
            signals.operator_exit_code("126|127"),
            _I,
        ),
        (
            # A self-hosted integration runtime node refused because another node of the same
            # runtime has remote access off ("Registration of new node is forbidden when Remote
            # Access is disabled on another node", dmgcmd -EnableRemoteAccess): the runtime's
            # setup, above the identity words of "forbidden".
            "shir_remote_access_disabled",
            5.0,
            r"\bremote access is disabled on another node\b",
            _I,
        ),
        (
            # Deployments and definitions a factory or workspace rejects as set up: an ARM
            # parameter with an empty key (InvalidDeploymentParameterKey), a data flow's linked
            # store not defined (DF-ARG-007 "store is not defined") or its required source
            # settings missing (DF-SRC-002 "'server' ... is required"), a linked service with
            # secrets referencing an entity not published yet ("has to be published
            # immediately, but the referenced entity above has to published first").
            "factory_definition_incomplete",
            4.5,
            r"\binvaliddeploymentparameterkey\b|\bdeployment parameters has an empty key\b"
            r"|\bdf-arg-007\b|\bdf-src-002\b|\bhas to be published immediately\b",
            _I,
        ),
        (
            # Databricks job, cluster and bundle settings the workspace rejects: a cluster of 0
            # workers not declared single-node, a cluster policy id that does not exist, a bundle
            # job whose definition file cannot be located or whose workspace path is missing,
            # a Delta Live Tables pipeline whose libraries define no table.
            "databricks_job_definition_rejected",
            4.0,
            r"\bnumworkers could be 0 only for singlenode clusters\b"
            r"|\bcan't find a cluster policy with id\b"
            r"|\bunable to determine directory for job \S{1,200}: no file in location\b"
            r"|\bpath \(/[^()\s]{0,300}/\.bundle/[^()\s]{0,300}\) doesn't exist\b"
            r"|\bno tables are defined by the library of this pipeline\b",
            _I,
        ),
        (
            # Airflow's deferrable tasks with no triggerer process running ("The triggerer does
            # not appear to be running"): the deployment lacks the component.
            "triggerer_not_running",
            4.0,
            r"\bthe triggerer does not appear to be running\b",
            _I,
        ),
        (
            # A Kafka client speaking the wrong security protocol to its broker (librdkafka
            # "Disconnected: verify that security.protocol is correctly configured, broker might
            # require SASL authentication"): the client's settings.
            "kafka_security_protocol_mismatch",
            4.0,
            r"\bverify that security\.protocol is correctly configured\b",
            _I,
        ),
        (
            # ADF's XML format whose column names collide (XmlAttributeColumnNameConflict "Column
            # names ... for attributes of element ... conflict with that for corresponding child
            # elements", XmlValueColumnNameConflict "... conflicts with the child element having
            # the same name"): the dataset's attributePrefix or valueColumn.
            "xml_column_name_conflict",
            4.0,
            r"\bconflicts? with (?:that for )?(?:the |corresponding )?child elements?\b",
            _I,
        ),
        (
            # A self-hosted integration runtime that does not allow access to its own file
            # system (AccessToOnPremFileSystemDenied "Access to '%path;' is not allowed"): the
            # runtime's local-file-access setting, above the identity words of "not allowed".
            "shir_local_file_access_disabled",
            4.5,
            r"\baccesstoonpremfilesystemdenied\b",
            _I,
        ),
        (
            # A Delta table whose protocol the client does not implement (Delta Lake's
            # "[DELTA_INVALID_PROTOCOL_VERSION] Delta protocol version is not supported by this
            # version of Delta Lake", Delta Standalone's "Delta protocol version (3,7) is too new
            # for this version of Delta"): the reader's release against the table's features.
            "delta_protocol_too_new",
            4.5,
            r"\bdelta protocol version is not supported by this version of delta\b"
            r"|\bdelta protocol version \(\d{1,4},\s?\d{1,4}\) is too new\b",
            _I,
        ),
        (
            # A metadata database migrated by another release than the one running (Alembic
            # "Can't locate revision identified by 'fe199e1abd77'", as airflow db migrate prints
            # it): the installed version against the database's.
            "db_migration_revision_unknown",
            4.0,
            r"\bcan't locate revision identified by\b",
            _I,
        ),
        (
            # An Airflow custom timetable no plugin registers (_TimetableNotRegistered
            # "Timetable class 'x.Y' is not registered"): the plugins folder, not the DAG code.
            "timetable_not_registered",
            4.5,
            r"\b_?timetablenotregistered\b|\btimetable class \S{1,250} is not registered\b",
            _I,
        ),
        (
            # A Celery/Kombu broker URL with no transport Kombu knows (KeyError "No such
            # transport: ", an empty or misspelt broker_url): the executor's broker setting,
            # above the code words of a KeyError.
            "broker_transport_unknown",
            4.5,
            r"\bno such transport\b",
            _I,
        ),
        (
            # A Snowflake login naming a warehouse the role cannot use ("The requested warehouse
            # does not exist or not authorized", 390201): the connection's warehouse setting,
            # above the database words of "does not exist or not authorized" and its SQLSTATE.
            "requested_warehouse_unavailable",
            5.0,
            r"\bthe requested warehouse does not exist or not authorized\b",
            _I,
        ),
        (
            # A connector or linked service of a kind that is retired or that a store or engine
            # does not take: ADF's legacy connectors ("The legacy MongoDB connector has been
            # deprecated. ... please create a new MongoDB linked service"), service principal
            # or managed identity auth on a general-purpose v1 storage account, a managed
            # identity the server has not enabled ("Managed Service Identity has not been
            # enabled on this server"): the linked service or server setting, above the
            # database words of the store's name and the identity words of "auth".
            "connector_kind_unsupported",
            4.5,
            r"\blegacy [\w ]{1,40}? connector (?:has been|is) (?:deprecated|retired)\b"
            r"|\bauth are not supported if blob storage kind is\b"
            r"|\bmanaged service identity has not been enabled\b",
            _I,
        ),
        (
            # A data flow or mapping left without what it must have: a sink no column is
            # mapped to ("Sink results in 0 output columns. Please ensure at least one column
            # is mapped"), a CDM source whose corpus path is empty ("DF-CDM_005 The corpus
            # path is null or empty").
            "mapping_left_empty",
            4.0,
            r"\bresults in 0 output columns\b|\bensure at least one column is mapped\b"
            r"|\bcorpus path is null or empty\b",
            _I,
        ),
        (
            # An Azure Storage directory operation the account refuses ("This operation is not
            # permitted on a non-empty directory", a Blob linked service on an account with a
            # hierarchical namespace, where ADLS Gen2's is needed): the linked service's kind,
            # above the identity words of "not permitted" and "credentials".
            "storage_directory_not_empty",
            4.5,
            r"\bthis operation is not permitted on a non-empty directory\b",
            _I,
        ),
        (
            # The webserver refused a task's log by the worker's log server because the Airflow
            # components do not share [webserver] secret_key ("Please make sure that all your
            # Airflow components ... have the same 'secret_key' configured in 'webserver'
            # section ... 403 Client Error: FORBIDDEN"): the deployment's setting, above the
            # identity words of a 403.
            "log_server_secret_mismatch",
            4.5,
            any_of(*signals.LOG_SERVER_SECRET_MISMATCH),
            _I,
        ),
        (
            # Delta change data read for versions the table did not record it for ("change data
            # was not recorded for version [3]"): the table property delta.enableChangeDataFeed.
            "change_data_feed_not_recorded",
            4.5,
            r"\bchange data was not recorded for version\b",
            _I,
        ),
        (
            # A process writing where its file system is mounted read-only ("OSError: [Errno 30]
            # Read-only file system: '/home/sbx_user1068'"): the runtime's writable paths.
            "read_only_file_system",
            4.0,
            r"\[errno 30\] read-only file system\b",
            _I,
        ),
        (
            # An Airflow DAG run none of whose remaining tasks can ever be scheduled (its
            # dependencies as the DAG sets them): above the database's deadlock, a word it shares.
            "dagrun_deadlock",
            6.0,
            any_of(*signals.DAGRUN_DEADLOCK),
            _I,
        ),
        (
            # Connector settings a data store or runtime does not take: a partition column of a
            # type ADF cannot partition on ("... is 'text' and this data type is not supported
            # for partitioning"), an option the installed self-hosted IR is too old for ("Managed
            # identity credential is not supported in this version ('5.1') of Self Hosted
            # Integration Runtime"), a dataset with no format settings, and Simba/Cloudera ODBC
            # drivers' "(1110) Unexpected response received from server. Please ensure the
            # server host and port ... and confirm if SSL should be enabled": the linked
            # service, dataset or IR named, above the data words of "data type".
            "connector_setting_unsupported",
            4.5,
            r"\bthis data type is not supported for partitioning\b"
            r"|\bis not supported in this version \([^\n)]{0,60}\) of self[- ]hosted integration "
            r"runtime\b"
            r"|\bformat settings are missing in dataset\b"
            r"|\bconfirm if ssl should be enabled for the connection\b",
            _I,
        ),
        (
            # Delta streams sharing one schema tracking location ("Detected conflicting schema
            # location ... Another stream may be reusing the same schema location"): the reader
            # options, which must give each stream its own.
            "stream_location_shared",
            4.0,
            r"\bconflicting schema location\b|\breusing the same (?:schema|checkpoint) location\b",
            _I,
        ),
        (
            # Python requirements a task could not install ("Command '['/tmp/venv.../bin/pip',
            # 'install', '-r', '.../requirements.txt']' returned non-zero exit status 1"), or
            # a program launched by name that is not there ("No such file or directory:
            # 'virtualenv': 'virtualenv'", Python's form for an executable not found): the
            # environment the task runs in, above a bare exit code or a missing data path.
            "task_environment_incomplete",
            4.5,
            r"\bpip'?, '?install'?,[^\n]{0,300}?\breturned non-zero exit status\b"
            r"|\bno such file or directory: '[\w.-]{1,60}': '[\w.-]{1,60}'",
            _I,
        ),
        (
            # A kubeconfig exec plugin the worker may not run (kube_config.py "[Errno 13]
            # Permission denied: 'aws'"): the image's CLI, above the identity words of
            # "permission denied".
            "kube_exec_plugin_not_runnable",
            4.5,
            r"\bkube_config\.py:\d{1,6}\}{0,2} error - \[errno 13\] permission denied\b",
            _I,
        ),
        (
            # ADF copy settings it does not take: a Parquet sink column named with characters
            # Parquet refuses (ParquetInvalidColumnName "Column name cannot contain these
            # character:[,;{}()\n\t=]", or parquet-mr reading "(test)" of a column name as a type:
            # "No enum constant org.apache.parquet.schema.OriginalType.test"), a JVM started with
            # invalid _JAVA_OPTIONS ("Cannot create JVM: JNI return code [-6]"), a FIPS-enabled
            # self-hosted IR, an OAuth2 client id with a colon, and copy options only direct
            # binary copy supports ("Data consistency validation is not supported in current copy
            # activity settings", "Skip missing file is not supported ..."): the settings named.
            "adf_copy_setting_invalid",
            4.0,
            r"\bcolumn name cannot contain these characters?\b"
            r"|\bno enum constant org\.apache\.parquet\.schema\.originaltype\."
            r"|\bcannot create jvm\b|\bjni call failed\b"
            r"|\bfips validated cryptographic algorithms\b"
            r"|\bis not allowed in clientid\b"
            r"|\bis not supported in current copy activity settings\b",
            _I,
        ),
        (
            # An ADF linked service whose parameters only a pipeline run can resolve, used for a
            # test connection or data preview (FailToResolveParametersInExploratoryController
            # "The parameters and expression cannot be resolved for schema operations"): above
            # the code words of the template function it quotes as "not defined".
            "adf_parameters_unresolved_for_preview",
            5.0,
            r"\bcannot be resolved for schema operations\b",
            _I,
        ),
        (
            # Airflow asked for a hook of a connection type no installed provider registers
            # ("AirflowException: Unknown hook type snowflake"): the provider package.
            "airflow_hook_type_unknown",
            4.0,
            r"\bunknown hook type ['\"]?\w",
            _I,
        ),
        (
            # An ADF data flow linked service or sink set up in a way it does not take (DF-GEN2 /
            # DF-MSSQL "Only one of the three auth methods (Key, ServicePrincipal and MI) can be
            # specified", DF-Cosmos "'id' property should be mapped for delete and update
            # operations", DF-Excel "Excel worksheet does not exist"): the settings it names.
            "data_flow_setting_invalid",
            4.0,
            r"\bonly one of the (?:two|three) auth methods\b"
            r"|\bproperty should be mapped for (?:delete|update)\b"
            r"|\bexcel worksheet does not exist\b",
            _I,
        ),
        (
            # A Delta VACUUM asked to keep less history than the table's safety check allows
            # (delta-rs "Invalid retention period, retention for Vacuum must be greater than 1
            # week (168 hours)"): the retention the call passed, above the cue of a limit
            # exceeded ("greater than").
            "vacuum_retention_too_short",
            4.0,
            r"\binvalid retention period, retention for vacuum\b",
            _I,
        ),
        (
            # A dbt project run before its packages were installed ("dbt found 2 package(s)
            # specified in packages.yml, but only 0 package(s) installed in dbt_packages"): the
            # deployment's `dbt deps` step.
            "dbt_packages_missing",
            4.0,
            r"\bpackage\(s\) installed in dbt_packages\b",
            _I,
        ),
        (
            # AWS Secrets Manager without the secret asked for ("ResourceNotFoundException:
            # Secrets Manager can't find the specified secret"): the secret's name or region.
            "aws_secret_not_found",
            4.0,
            r"\bsecrets manager can(?:'|no)t find the specified secret\b",
            _I,
        ),
        (
            # Airflow given an executor or a timetable it cannot load (UnknownExecutorException
            # "Unknown executor being loaded: KubernetesExecutor", "Not a valid timetable"):
            # the core.executor setting or the plugin that defines the timetable.
            "airflow_component_unknown",
            4.0,
            r"\bunknownexecutorexception\b|\bunknown executor being loaded\b"
            r"|\bnot a valid timetable\b",
            _I,
        ),
        ("delta_format_mismatch", 4.0, any_of(*signals.DELTA_FORMAT_MISMATCH), _I),
        (
            # A statement the kind of database it ran in does not take (Synapse serverless:
            # "CREATE EXTERNAL TABLE/... is not supported in master database", "Operation CREATE
            # USER is not allowed for a replicated database"; "Please create a master key in the
            # database"): the database the statement was sent to, or its set-up.
            "database_kind_refuses",
            4.5,
            r"\bis not (?:supported|allowed) (?:in|for) (?:the |a )?"
            r"(?:master|replicated) database\b"
            r"|\bplease create a master key in the database\b"
            r"|\bopen the master key in the session\b",
            _I,
        ),
        (
            # A storage folder a query could not list (Synapse's "Msg 13807 Content of
            # directory on path '...' cannot be listed"): the path, or the caller's list right.
            "directory_not_listable",
            3.5,
            r"\bcontent of directory on path '[^'\n]{1,500}' cannot be listed\b"
            # An external table over that folder ("External table 'db.dbo.t' is not accessible
            # because content of directory cannot be listed").
            r"|\bis not accessible because content of directory cannot be listed\b",
            _I,
        ),
        (
            # A template file the renderer could not find (Jinja's TemplateNotFound, Airflow's
            # .sql/.sh templated fields): the file's path against the template search path.
            "template_not_found",
            4.0,
            r"\btemplatenotfound\b",
            _I,
        ),
        (
            # An id or key of characters the scheduler does not take (Airflow "The key 'load
            # sales' has to be made of alphanumeric characters, dashes, dots and underscores
            # exclusively"): the dag_id, task_id or group_id as written.
            "identifier_characters",
            4.0,
            r"\bhas to be made of alphanumeric characters\b",
            _I,
        ),
        (
            # An Airflow id or key over the length the metadata database takes ("The key has to
            # be less than 250 characters"): the dag_id, task_id or group_id as composed.
            "identifier_too_long",
            4.0,
            any_of(*signals.IDENTIFIER_TOO_LONG),
            _I,
        ),
        (
            # An Airflow task assigned to a pool that does not exist (PoolNotFound "Unknown
            # pool: etl").
            "airflow_pool_not_found",
            4.5,
            any_of(*signals.AIRFLOW_POOL_NOT_FOUND),
            _I,
        ),
        (
            # An ADF or Synapse Fail activity whose message or error code it cannot use
            # ("Failed to interpret x fail message or error code", ErrorCodeNotString).
            "fail_activity_uninterpretable",
            4.5,
            any_of(*signals.FAIL_ACTIVITY_UNINTERPRETABLE),
            _I,
        ),
        (
            # A container image reference the runtime cannot use (Azure Batch's
            # ContainerInvalidImage, Kubernetes' InvalidImageName).
            "container_image_invalid",
            4.5,
            any_of(*signals.CONTAINER_IMAGE_INVALID),
            _I,
        ),
        (
            # Two settings of a source, sink or dataset set together where only one may be
            # ("Timestamp and version can't be set at the same time").
            "settings_conflict",
            4.5,
            any_of(*signals.SETTINGS_CONFLICT),
            _I,
        ),
        (
            # A setting a source, sink or format needs for what it is asked to do ("Column
            # delimiter is required for parse"), weighted above the parsing it names.
            "setting_required_for_operation",
            4.5,
            any_of(*signals.SETTING_REQUIRED_FOR_OPERATION),
            _I,
        ),
        (
            # A connector setting given a value or use the connector does not take ("Storage
            # type can either be blob or gen2", "Github store does not allow writes").
            "setting_value_unsupported",
            4.5,
            any_of(*signals.SETTING_VALUE_UNSUPPORTED),
            _I,
        ),
        (
            # A Spark config Spark refuses (one it may not change at run time, one that does not
            # exist, a feature it leaves off, a state store setting changed between restarts) or a
            # Delta table property turning off the write mode asked for, above the SQLSTATE and
            # the JVM exception it is raised as.
            "spark_config_rejected",
            4.5,
            any_of(*signals.SPARK_CONFIG_REJECTED),
            _I,
        ),
        (
            # Reader or writer options that exclude each other ("The options a, b cannot be
            # specified together").
            "options_set_together",
            4.5,
            any_of(*signals.OPTIONS_SET_TOGETHER),
            _I,
        ),
        (
            # A Delta table feature the table's schema or an operation needs and the table has not
            # enabled (DELTA_FEATURES_REQUIRE_MANUAL_ENABLEMENT).
            "delta_table_feature_missing",
            4.5,
            any_of(*signals.DELTA_TABLE_FEATURE_MISSING),
            _I,
        ),
        (
            # A table's location that holds files but no Delta table, or no transaction log.
            "table_location_not_delta",
            4.5,
            any_of(*signals.TABLE_LOCATION_NOT_DELTA),
            _I,
        ),
        (
            # A session's default database that does not exist, weighted above the "does not
            # exist" and SQLSTATE 42704 the database class reads.
            "default_database_missing",
            5.5,
            any_of(*signals.DEFAULT_DATABASE_MISSING),
            _I,
        ),
        (
            # dbt that cannot read its project (no dbt_project.yml, a setting its schema refuses).
            "dbt_project_unreadable",
            4.5,
            any_of(*signals.DBT_PROJECT_UNREADABLE),
            _I,
        ),
        (
            # A data flow parameter passed a value of another type than it declares.
            "parameter_type_mismatch",
            4.5,
            any_of(*signals.PARAMETER_TYPE_MISMATCH),
            _I,
        ),
        (
            # A Unity Catalog storage credential that is not there (DAC_DOES_NOT_EXIST "Root
            # storage credential for metastore m does not exist"), weighted above the
            # "credential" the authentication signals read in it.
            "storage_credential_missing",
            5.0,
            any_of(*signals.STORAGE_CREDENTIAL_MISSING),
            _I,
        ),
        (
            # An Airflow DAG run or DAG id that is already taken (DagRunAlreadyExists "Run id
            # ... already exists for dag id ...", AirflowDagDuplicatedIdException "Ignoring DAG
            # x from b.py - also found in a.py"): the trigger's run id or the DAG files.
            "dag_identity_taken",
            4.0,
            r"\bdagrunalreadyexists\b|\balready exists for dag id\b|\bthis run_id already exists\b"
            r"|\bdagduplicatedidexception\b"
            r"|\bignoring dag \S{1,250} from \S{1,500} - also found in\b",
            _I,
        ),
        (
            # A container image the runtime could not pull because its tag or repository is
            # not there (ECS "CannotPullContainerError: ... failed to resolve ref <image>: not
            # found", "manifest unknown"): the image reference, above the "failed to resolve"
            # of a DNS failure.
            "image_not_found",
            5.0,
            r"\bfailed to resolve ref [^\s:]{1,200}(?::[\w.-]{1,128})?: [^\s]{1,300}: not found\b"
            r"|\bcannotpullcontainer(?:error)?\b[^\n]{0,300}\bmanifest unknown\b",
            _I,
        ),
        (
            # Airflow unable to decrypt a stored connection or variable (cryptography.fernet
            # InvalidToken): the fernet_key differs from the one it was encrypted with.
            "fernet_key_mismatch",
            5.0,
            r"\bfernet\.invalidtoken\b",
            _I,
        ),
        (
            # A subnet an Azure resource requires a NAT gateway on ("SubnetNotAssociatedWith
            # NATGateway ... must have a NAT gateway associated for outbound connection"): the
            # virtual network's set-up, above the words of a blocked connection.
            "subnet_needs_nat_gateway",
            5.0,
            r"\bsubnetnotassociatedwithnatgateway\b|\bmust have a nat gateway associated\b",
            _I,
        ),
        (
            # AWS Glue naming a job, crawler, trigger or table that is not there
            # (EntityNotFoundException "Crawler with name x does not exist"): the name the
            # caller passed, or the order the resources were created in.
            "aws_entity_not_found",
            4.0,
            r"\bentitynotfoundexception\b",
            _I,
        ),
        ("api_version_unavailable", 4.0, any_of(*signals.API_VERSION_UNAVAILABLE), _I),
        ("java_main_class_missing", 4.0, any_of(*signals.JAVA_MAIN_CLASS_MISSING), _I),
        (
            # A Delta table whose reader or writer protocol is above what the client supports
            # (delta-rs "The table's minimum reader version is 3but deltalake only supports up to
            # version 1"): the client library's version against the table's features.
            "delta_protocol_version",
            4.0,
            r"\bdeltaprotocolerror\b|\bminimum (?:reader|writer) version is \d{1,3} ?but"
            r" [\w -]{1,40} only supports up to version \d{1,3}",
            _I,
        ),
        (
            # Databricks' answer to a REST path it does not serve ("NotFound: Bad Target:
            # /api/2.2/jobs/run-now"): the client's API version or the workspace URL.
            "api_path_not_served",
            3.5,
            r"\bbad target: /api/",
            _I,
        ),
        (
            # A client that cannot start for want of a setting it names ("A Subscription ID is
            # required to connect to Azure Data Factory", Airflow's SSH hook "Missing required
            # remote_host"): above the word "connect" of a network failure.
            "connection_setting_missing",
            4.0,
            r"\bis required to connect to\b"
            r"|\bmissing required (?:param(?:eter)?:? )?[a-z]\w{0,40}_\w{1,40}\b",
            _I,
        ),
        (
            # Oracle native encryption or checksumming the two sides cannot agree on
            # (signals.py): above the ORA code's database weight.
            "oracle_encryption_mismatch",
            5.0,
            any_of(*signals.ORACLE_ENCRYPTION_MISMATCH),
            _I,
        ),
        ("dataverse_feature_disabled", 4.0, any_of(*signals.DATAVERSE_FEATURE_DISABLED), _I),
        ("uc_location_invalid", 4.0, any_of(*signals.UC_LOCATION_INVALID), _I),
        ("spark_connect_config", 4.0, any_of(*signals.SPARK_CONNECT_CONFIG), _I),
        (
            # Spark memory settings below its minimum (signals.py): above the JVM exception.
            "spark_memory_setting",
            4.0,
            any_of(*signals.SPARK_MEMORY_SETTING),
            _I,
        ),
        ("connection_not_loaded", 4.0, any_of(*signals.CONNECTION_NOT_LOADED), _I),
        (
            # A job whose command or entry point cannot be resolved (AWS Glue "Could not find
            # command for the given criteria": a job type or version that has no such command).
            "missing_command",
            3.0,
            r"could not find command for the given criteria"
            r"|(?:could not|cannot|unable to) find (?:the )?(?:command|entry ?point) "
            r"(?:for|named)\b",
            _I,
        ),
        (
            # A search index the step reads or writes that does not exist (Elasticsearch
            # index_not_found_exception "no such index [x]"): not created, or auto-creation off.
            "search_index_missing",
            4.0,
            r"index_not_found_exception|indexnotfoundexception|\bno such index\b",
            _I,
        ),
        (
            # An engine mode that refuses the statement until a setting changes (Hive "Dynamic
            # partition strict mode requires at least one static partition column. To turn
            # this off set hive.exec.dynamic.partition.mode=nonstrict").
            "strict_mode_setting",
            4.0,
            r"strict mode requires|to turn this off,? set [\w.]{1,80} ?=",
            _I,
        ),
        (
            # A cloud project or account whose billing is off (GCS "The billing account for
            # the owning project is disabled in state absent", "has billing disabled").
            "billing_disabled",
            4.0,
            r"billing account for the owning project is disabled|absent billing account"
            r"|has billing disabled|billing (?:is )?not (?:enabled|configured)"
            r"|not configured billing|billing account (?:is |has been )?(?:disabled|closed)",
            _I,
        ),
        (
            # An object in an offline storage tier that must be restored before it is read
            # (Azure BlobArchived "This operation is not permitted on an archived blob", S3
            # InvalidObjectState for a Glacier object).
            "archived_object",
            4.0,
            r"blobarchived|not permitted on an archived blob|invalidobjectstate"
            r"|not valid for the object's (?:access tier|storage class)",
            _I,
        ),
        (
            # MySQL 8's caching_sha2_password over a connection without TLS: the driver must
            # be allowed to fetch the server's RSA key ("Public Key Retrieval is not allowed",
            # allowPublicKeyRetrieval=true).
            "public_key_retrieval",
            4.5,
            r"public key retrieval is not allowed",
            _I,
        ),
        (
            # A package manager asked for a package its index does not have (dbt deps "Package
            # x/y was not found in the package index").
            "package_not_in_index",
            4.0,
            r"was not found in the package index|not found in the package (?:index|hub)",
            _I,
        ),
        (
            # A Kafka topic asked for more replicas than the cluster has brokers
            # (InvalidReplicationFactorException "Replication factor: 3 larger than available
            # brokers: 1"): a topic setting for a bigger cluster.
            "replication_factor_too_high",
            4.0,
            r"invalidreplicationfactor|replication[ -]factor:? \d+ larger than (?:the )?"
            r"available brokers|replication-factor is invalid",
            _I,
        ),
        (
            # A cluster the step waited for was stopped by its own auto-termination setting
            # (Databricks termination code INACTIVITY).
            "auto_terminated",
            4.0,
            r"terminated by inactivity|\bcode: inactivity\b|inactivity_duration",
            _I,
        ),
        (
            # Two consumers reading one Event Hubs partition in one consumer group: the newer
            # receiver's higher epoch disconnects the other ("A receiver with a higher epoch
            # '23' already exists", ReceiverDisconnectedException). Two jobs share a group.
            "competing_receiver",
            4.0,
            r"receiver with (?:a )?higher epoch|receiverdisconnected(?:exception|error)"
            # Kafka: a transactional producer fenced by a newer one with its transactional.id
            # ("There is a newer producer with the same transactionalId which fences the
            # current one", ProducerFencedException): two instances of one job.
            r"|producerfencedexception|fenced by (?:a )?newer (?:producer|instance)"
            r"|newer producer with the same transactional ?id",
            _I,
        ),
        (
            # A feature the target's version or edition does not have (SQL Server "Reference
            # to database and/or server name in 'SSISDB.catalog.x' is not supported in this
            # version of SQL Server": Azure SQL Database, not the SSISDB the step needs).
            "version_unsupported",
            3.0,
            r"\bis not supported in this (?:version|edition|tier|release) of\b",
            _I,
        ),
        ("endpoint_validation", 4.0, any_of(*signals.ENDPOINT_VALIDATION), _I),
        (
            # An Oracle connect identifier (TNS alias) the client cannot look up in its
            # tnsnames.ora or naming method: above the connect wait it may be reported under
            # ("timed out waiting for connection: OCI Error: ORA-12154").
            "tns_unresolved",
            5.0,
            any_of(*signals.TNS_UNRESOLVED),
            _I,
        ),
        (
            # The Oracle client library the driver loads (thick mode, cx_Oracle) is missing, of
            # the wrong architecture or needs a newer C library: above the "No such file or
            # directory" it quotes from the loader.
            "oracle_client_missing",
            5.0,
            any_of(*signals.ORACLE_CLIENT_MISSING),
            _I,
        ),
        ("ssh_host_key", 4.0, any_of(*signals.SSH_HOST_KEY), _I),
        (
            # Two runs of one streaming query on the same checkpoint (signals.py): above the
            # "concurrent update" a database's optimistic concurrency also speaks of.
            "stream_query_concurrent",
            5.0,
            any_of(*signals.STREAM_QUERY_CONCURRENT),
            _I,
        ),
        (
            # A Great Expectations checkpoint set up without what it validates ("must be
            # called with a validator or contain either a batch_request or validations").
            "gx_checkpoint",
            3.5,
            r"\bcheckpointerror\b|must be called with a validator",
            _I,
        ),
        (
            # The activity or connector accepts only some kinds of dataset, format or mode
            # ("Stored Procedure activity only supports Azure SQL Database ... datasets"): above
            # the database words such a sentence names.
            "only_supports",
            3.0,
            r"\b(?:activity|connector|sink|source|operator|dataset|linked service|format|mode)"
            r"\b[^.\n]{0,40}\bonly supports?\b",
            _I,
        ),
        (
            # The job names something its setup got wrong rather than the data: a parameter
            # the called procedure does not have, a relation whose name differs only in
            # quoting or case (dbt's "approximate match"), a path pattern the engine rejects,
            # datasets in different regions (BigQuery), a workspace feature the compute lacks
            # (Unity Catalog).
            "setup_mismatch",
            4.0,
            r"\bhas no parameter named\b|found an approximate match"
            r"|consecutive wildcard characters"
            r"|wildcard characters? (?:is|are) not (?:allowed|supported)"
            r"|cannot read and write in different locations"
            r"|\bwas not found in location [\w-]{2,30}"
            r"|operation_requires_unity_catalog|requires unity catalog(?: to be)? enabled"
            # A Snowflake COPY whose file format cannot produce the table's columns.
            r"|(?:parquet|json|avro|orc|xml) file format can produce one and only one column",
            _I,
        ),
        (
            # A required option the step was not given: above the data signals the option's
            # own name may hit (schema, format).
            "missing_option",
            4.5,
            any_of(*signals.MISSING_OPTION),
            _I,
        ),
        (
            "sandbox_blocked",
            3.5,
            any_of(
                *signals.SANDBOX_BLOCKED,
                r"not (?:allowed|supported|available) (?:on|in) (?:a )?"
                r"(?:shared|high[ -]concurrency|serverless|standard access mode) "
                r"(?:clusters?|compute|access mode)",
            ),
            _I,
        ),
        ("hostname_mismatch", 3.5, any_of(*signals.HOSTNAME_MISMATCH), _I),
        (
            # A streaming query restarted on a checkpoint written by a different query (other
            # sources, another state schema): the checkpoint no longer fits the code.
            "checkpoint_mismatch",
            4.0,
            any_of(*signals.CHECKPOINT_MISMATCH),
            _I,
        ),
        (
            # Snowflake runs nothing until a session names a running warehouse (000606, a
            # suspended warehouse) and, for unqualified names, a current database and schema.
            "no_warehouse",
            4.0,
            any_of(*signals.SESSION_CONTEXT),
            _I,
        ),
        (
            # Snowflake refused to suspend or resume a warehouse in the state it is in ("Invalid
            # state. Warehouse 'X' cannot be suspended": it already is, or was created so).
            "warehouse_state",
            3.5,
            r"warehouse '?[\w$.-]+'? cannot be (?:suspended|resumed)",
            _I,
        ),
        (
            # A request sent to another region's endpoint, or signed with a skewed clock.
            "wrong_endpoint_or_clock",
            4.0,
            any_of(*signals.WRONG_ENDPOINT, *signals.CLOCK_SKEW),
            _I,
        ),
        (
            "missing_definition",
            4.0,
            r"variable:? \S+ does not exist|conn(?:ection)?_?id .{0,60}(?:isn't|is not|not) defined"
            r"|connection_not_found|variable_not_found"
            r"|airflownotfoundexception|input ?widget ?not ?defined|no input widget named"
            r"|linked ?service .{0,80}(?:not found|does not exist|is invalid|should)"
            r"|linkedservicenotfound|could not load resource"
            r"|secret .{0,80}(?:not found|does not exist|was not found)|secretnotfound"
            r"|secret does not exist|key ?vault .{0,60}not found|notebook not found"
            r"|notebook .{0,80}does not exist|failed to (?:get|retrieve|fetch|read) (?:the )?secret"
            r"|could not find profile|profile .{0,60}(?:not found|does not exist)"
            r"|integration runtime '?[\w-]+'? .{0,80}"
            r"(?:does not exist|not found|could not be found)"
            # ADF deploying a linked service whose connectVia runtime it cannot look up
            # ("Input is malformed. Reason: Could not get integration runtime details for IR-x").
            r"|could not (?:get|find|load|resolve) (?:the )?integration runtime(?: details)? for\b"
            r"|(?:dataset|pipeline|trigger|data ?flow|workflow|logic app) '[^']{1,80}' .{0,60}"
            r"(?:does not exist|not found|could not be found)"
            # SSIS 0xC001000E: a connection manager the package names is not in the package.
            r"|the connection \"[^\"\n]{1,100}\" is not found|connection element is not found"
            # MLflow: a run, experiment or registered model the code names does not exist.
            r"|\b(?:run|experiment|registered model|model version) with (?:id|name) ?= ?"
            r"[\w.-]{1,80} (?:not found|does not exist)"
            # Great Expectations: the suite a validation names is not in the project's store
            # ("DataContextError: expectation_suite accounts not found").
            r"|expectation[_ ]suite '?[\w.-]{1,80}'? (?:was )?(?:not found|does not exist"
            r"|could not be found)"
            r"|dag(?:_id)? .{0,60}could not be found|dagnotfound"
            r"|\bpool\b.{0,40}(?:doesn't|does not) exist"
            r"|non-?existent pool"
            # Event Hubs / Service Bus: the hub, queue or topic the client names is not there.
            r"|messaging entity '[^'\n]{1,300}' could not be found|messagingentitynotfound"
            # Google Cloud Pub/Sub: "404 Resource not found (resource=orders-sub)."
            r"|resource not found \(resource=|" + any_of(*signals.UNKNOWN_TOPIC),
            _I,
        ),
        (
            # An HTTP endpoint the activity calls answered 404 (ADF's Azure Function and Web
            # activities: "Invoking Azure function failed with HttpStatusCode - NotFound"): the
            # function name or route it is configured with does not exist. Above the generic
            # remote-call signal.
            "endpoint_not_found",
            3.0,
            any_of(*signals.ENDPOINT_NOT_FOUND),
            _I,
        ),
        (
            # Something the run needs is not registered where it is looked up: an Azure
            # resource provider, a filesystem scheme, a plugin or dialect.
            "not_registered",
            4.0,
            r"missingsubscriptionregistration|not registered to use namespace"
            r"|must be registered to use namespace|subscription (?:is )?not registered"
            r"|(?:provider|namespace|plugin|dialect|extension|scheme|connector)\b.{0,60}"
            r"\b(?:is |was )?not registered|no ?filesystem for scheme|can't load plugin"
            # Flink: "Could not find a file system implementation for scheme 's3'".
            r"|file ?system implementation for scheme|unsupportedfilesystemschemeexception",
            _I,
        ),
        (
            "invalid_parameter",
            3.5,
            any_of(
                *signals.INVALID_PARAMETER,
                r"invalid_parameter_value",
                r"invalidparameter",
                # AWS Glue: "failed to execute with exception Internal service error: Invalid
                # Input Provided" (a job definition the Glue version cannot run).
                r"invalid input provided",
                r"parameter .{0,60}(?:is )?(?:missing|invalid|not valid|not provided|not found)",
                r"missing required (?:field|property|parameter)",
                r"provide value for the required property",
                r"required property",
                r"missing value for",
                r"(?:has|have|needs?) to be (?:set|specified|provided)",
                r"\b(?:extra|setting|option|property|parameter|argument|variable)\b"
                r".{0,40}\bis missing",
                r"must (?:be )?specif(?:y|ied)",
                r"must be (?:set|provided|configured)",
                r"noregionerror",
                # "Azure function activity missing function key", "missing the api key setting".
                r"\bmissing (?:the |a |an )?(?:required )?(?:[\w-]+ )?"
                r"(?:key|setting|property|parameter|option)s?\b(?! column)",
                # The API could not read the request the pipeline built (Databricks jobs API).
                r"(?:could not|cannot|can't|unable to|failed to) parse (?:the )?request\b",
                # The message points at settings to fix: "please check batch account settings",
                # "Please check the configuration of linked services".
                r"please (?:check|verify|review|correct|fix) (?:the |your )?[\w ]{0,40}?"
                r"(?:settings|configuration|config)\b",
                # An option whose value the service rejected ("the value for option 'FROM' is
                # invalid", "option 'header' is not valid").
                r"\b(?:option|setting|argument) '[^'\n]{1,60}' is (?:invalid|not valid)",
                r"validating (?:the )?value of (?:option|setting|argument|parameter)",
                # The message names the argument to set: "Set autodetect=True ... or pass
                # schema_fields explicitly".
                r"\bset [a-z][a-z0-9_.]{1,40} ?= ?\w+ to\b|\bpass [a-z][a-z0-9_.]{1,40} explicitly",
            ),
            _I,
        ),
        (
            "missing_dependency",
            3.5,
            r"modulenotfounderror|no module named|importerror|cannot import name"
            r"|classnotfoundexception|noclassdeffounderror|library installation"
            r"|libraryinstall(?:ation)?failed"
            r"|library_installation"
            r"|no matching distribution|could not find a version that satisfies|jre ?not ?found"
            r"|java runtime environment cannot be found|imagepullbackoff|errimagepull"
            # A client library built for another OS or architecture (SAP HANA's RTE 1000013).
            r"|wrong provider for this platform"
            r"|back-off pulling image|failed to pull image|trying and failing to pull image"
            r"|no suitable driver|data source name not found|no default driver specified"
            # Spark without the connector package of a format ("Failed to find data source:
            # kafka. Please deploy the application as per the deployment section").
            r"|\bfailed to find data source: \w"
            r"|can't open lib|specified driver could not be loaded|driver not loaded"
            # .NET assembly probing failed (ADF self-hosted IR), a container image that is not
            # in the registry or on the host (Docker, Kubernetes).
            r"|could not load (?:file or )?assembly|no such image|manifest (?:for \S+ )?unknown"
            r"|(?:container )?image \S+ not found"
            # A registry answering an image manifest request with not found ("Get
            # https://gcr.io/v2/team/app/manifests/1.2: unknown: Project 'x' not found or deleted").
            r"|/manifests/[\w.-]+: [^\n]{0,120}?\bnot found\b"
            r"|distributionnotfound|distribution was not found"
            # PySpark could not start its JVM (JAVA_HOME unset, no Java installed).
            r"|java gateway process exited|java_gateway_exited|java_home is not set"
            # Maven/Ivy could not resolve a cluster library's coordinates (Databricks).
            r"|library resolution failed|unresolved dependency|could not resolve dependencies"
            r"|unable to locate a java runtime|no java runtime present"
            r"|packagenotfounderror|versionconflict|(?:interpreter|python|runtime|library|driver)"
            r" version mismatch|incompatible (?:python|runtime|library|driver) version",
            _I,
        ),
        ("dependency_conflict", 4.0, any_of(*signals.DEPENDENCY_CONFLICT), _I),
        (
            "init_script",
            3.5,
            any_of(
                *signals.INIT_SCRIPT,
                r"init[_ ]scripts?",
                r"invalid spark config",
                r"spark encountered an error",
                r"error (?:on|during) startup",
                r"spark_startup_failure",
                r"spark startup failure",
                # EMR bootstrap actions: the user's setup scripts, like init scripts.
                r"bootstrap action",
            ),
            _I,
        ),
        (
            "missing_mount",
            3.5,
            r"filesystem does not exist|container ?not ?found|container does not exist"
            r"|mount(?:point| point)? .{0,40}(?:does not exist|not found)|/mnt'? does not exist"
            r"|cluster .{0,40}does not exist|invalid (?:python file )?ur[il]|nosuchbucket"
            r"|bucket does not exist|already mounted|invalidmountexception"
            r"|error while using path .{0,120}mount|wrong fs:"
            # A Unity Catalog volume (the storage location a job reads or writes by path).
            r"|\[uc_volume_not_found\]|\bvolume `[\w`.-]{1,200}` does not exist",
            _I,
        ),
        (
            "invalid_config",
            3.0,
            r"invalid (?:spark )?configuration|misconfigur|configuration (?:error|is invalid)"
            r"|invalid config|bad authoring|invalid_run_configuration|invalid_cluster_request"
            r"|cannot modify the value of a spark config|cannot_modify_config|feature_disabled"
            r"|failure to initialize configuration|configexception|not found in config"
            r"|validation errors? for \w*(?:settings|config)\w*|unsupported conn_type"
            # An operation the object's kind does not allow, in Spark/Databricks error-class
            # form ("[UPGRADE_NOT_SUPPORTED.NOT_EXTERNAL] Table is not eligible for an upgrade").
            r"|\[\w+_not_supported\b"
            r"|\b(?:table|cluster|workspace|catalog|schema) (?:[`'\"]?[\w.`-]{1,120}[`'\"]? )?"
            r"is not eligible for\b"
            r"|unsupported_feature|is not enabled (?:on|for) this"
            # A Spark setting serverless compute does not let a job set.
            r"|\[config_not_available\]|(?:not available|not supported) on serverless"
            r"|parameters? (?:provided|supplied|given|passed) .{0,80}"
            r"(?:are|is) (?:not valid|invalid)",
            _I,
        ),
        (
            # ADF rejecting a property of the pipeline/linked-service definition itself.
            "invalid_definition",
            4.0,
            r"invalidvalueinpayload|payload structure|value in '[^']{1,60}' property"
            r"|invalid (?:linked service|dataset|pipeline|trigger) (?:definition|reference)"
            r"|value of (?:the )?property '[^']{1,60}' is invalid"
            # "Copy activity X has an invalid \"source\" property. The source type is not
            # compatible with the dataset".
            r"|has an invalid [\"']?[\w.-]{1,40}[\"']? (?:property|setting|section)"
            r"|(?:source|sink) type is not compatible with the (?:dataset|linked service)"
            # An OData/Dataverse mapping naming a property the entity does not declare.
            r"|an undeclared property '[^'\n]{1,80}'"
            # An ARM deployment of a workflow or factory whose definition has a member where
            # the schema has none ("The request content was invalid and could not be
            # deserialized: 'Could not find member 'actions' on object of type 'Template'").
            r"|request content was invalid and could not be deserialized"
            r"|could not find member '[^'\n]{1,80}' on object of type",
            _I,
        ),
        (
            "config_exception_name",
            3.0,
            r"(?:config\w{0,20}|settings?)(?:error|exception)\b|improperlyconfigured"
            r"|no match in config",
            _I,
        ),
        (
            # Not a bare "env vars": every Airflow task log says "Exporting env vars: ...".
            "env_variable",
            3.0,
            r"os\.environ|environment variable|getenv|missing env(?:ironment)? var"
            r"|env vars? .{0,40}(?:not set|missing|required|undefined)",
            _I,
        ),
        (
            "bad_connection_string",
            4.5,
            r"connection string (?:(?:provided|specified|supplied|given) )?is (?:either )?"
            r"(?:invalid|blank|empty|malformed|not valid)"
            r"|invalid connection string|could not parse .{0,40}(?:url|uri|connection string)"
            r"|format of the initialization string"
            # Hadoop: a storage URI with no valid account/host part ("abfs://x.dfs.core.windows
            # .net has invalid authority", wasbs/s3a alike).
            r"|has invalid authority|invalid authority in (?:the )?(?:uri|url)"
            # A connection property the driver does not know (Teradata JDBC Error 1536 "Invalid
            # connection parameter name path", ODBC "Invalid connection string attribute").
            r"|(?:invalid|unknown|unrecognized|unsupported) connection (?:string )?"
            r"(?:parameter|property|option|attribute)",
            _I,
        ),
        (
            # A path or table read as Delta that is not one (or the reverse).
            "table_format",
            3.5,
            r"is not a delta table|delta_missing_delta_table|incompatible format detected"
            # A table needing protocol features the reader/writer lacks (deletion vectors,
            # column mapping): delta-rs "Unsupported reader features required", Delta's
            # DELTA_UNSUPPORTED_FEATURES_FOR_READ.
            r"|unsupported (?:reader|writer|table) features?|delta_unsupported_features"
            r"|(?:reader|writer) features? .{0,40}not supported",
            _I,
        ),
        (
            # An API refused the request as malformed (HTTP 400): the job or cluster definition
            # the pipeline sent, when nothing more precise is said.
            "http_400",
            # Below a 5xx's or an internal error's wording: "Error 400: ... internal error".
            1.5,
            _status("400", r"client error|bad request") + r"|\bbad[_ ]request\b",
            _I,
        ),
        (
            # A Spark catalog that is not configured, or a name the session catalog cannot take
            # ("Catalog 'prod' plugin class not found: spark.sql.catalog.prod is not defined",
            # REQUIRES_SINGLE_PART_NAMESPACE, CATALOG_NOT_FOUND).
            "catalog_config",
            3.5,
            r"catalog '?[\w.-]+'? plugin class not found|spark\.sql\.catalog\.[\w.]+ is not defined"
            r"|catalog_not_found|requires[ _]single[ _-]part[ _]namespace"
            r"|requires a single-part namespace"
            # A Hive metastore database without its schema (never initialised with schematool,
            # or pointed at the wrong database).
            r"|version information not found in metastore",
            _I,
        ),
        (
            # A configuration file the code expected on disk (SSH known_hosts or key, .cfg,
            # .ini, .yml profiles), not a data file.
            "missing_config_file",
            3.5,
            r"(?:no such file or directory|filenotfounderror|file not found|does not exist)"
            r"[:\s'\"]{0,6}[^\s'\"]{0,120}(?:\.ssh/|known_hosts|\.pem\b|\.cfg\b|\.conf\b|\.ini\b"
            r"|\.ya?ml\b|\.toml\b|\.properties\b|\.env\b)",
            _I,
        ),
        (
            # A reader or writer given no schema to work with (Avro "Cannot parse <null>
            # schema": the schema option or registry lookup came back empty).
            "schema_not_given",
            4.0,
            r"(?:<null>|\bnull) schema\b|\bschema (?:is|was) (?:null|none|missing)\b"
            r"|\bno schema (?:was )?(?:found|provided|specified|given)\b",
            _I,
        ),
        (
            # An operation the platform does not allow from this engine or place (Fabric:
            # "Create database for x is not permitted using Apache Spark in Microsoft Fabric").
            "not_permitted_here",
            3.5,
            r"\bis not (?:permitted|allowed|supported) (?:using|from|with|in|on) (?:apache spark"
            r"|spark|microsoft fabric|fabric|serverless|this (?:workspace|environment|runtime"
            r"|cluster|edition|tier|sku|capacity|region))\b",
            _I,
        ),
        (
            # Cosmos DB: the partition key sent with a write is not the value at the
            # container's partition key path in the document (400, substatus 1001).
            "partition_key_mismatch",
            4.0,
            r"partition ?key (?:extracted from (?:the )?document |value )?(?:doesn't|does not"
            r"|did not) match",
            _I,
        ),
        ("ftp_path_refused", 3.5, any_of(*signals.FTP_PATH_REFUSED), _I),
        (
            # A schema registry asked for a subject, version or schema it does not hold
            # (Confluent 40401 "Subject not found", 40402, 40403).
            "registry_entry_missing",
            4.0,
            r"\berror[_ ]code\W{0,3}4040[1-3]\b",
            _I,
        ),
        (
            # MLflow could not register a model version (status FAILED_REGISTRATION: its
            # source artifacts are not where the registry is told they are).
            "model_registration_failed",
            3.5,
            r"\bfailed_registration\b|model version creation failed",
            _I,
        ),
        (
            # A statement or object property the object's setup forbids (Snowflake "CREDENTIALS
            # property is not allowed on stages that use a storage integration").
            "property_not_allowed",
            4.0,
            r"\b(?:property|option|parameter) (?:is )?not allowed (?:on|with|for|within) "
            r"(?:stages?|tables?|objects?|copy|columns?|this|an?|the)\b",
            _I,
        ),
        (
            # A bucket name the SDK rejects before any request (botocore ParamValidationError
            # "Invalid bucket name \"${S3_BUCKET}\": Bucket name must match the regex"): often
            # a variable that was never substituted.
            "invalid_bucket_name",
            4.0,
            r"invalid bucket name|bucket name must match the regex",
            _I,
        ),
        (
            # A database client and server without a common login protocol (Oracle ORA-28040
            # "No matching authentication protocol": an old client, or SQLNET.ALLOWED_LOGON_
            # VERSION on the server), above the generic ORA code.
            "auth_protocol_mismatch",
            4.5,
            r"\bora-28040\b|no matching authentication protocol"
            r"|does not accept your client's authentication protocol",
            _I,
        ),
        (
            # MySQL Connector/J that cannot map the server's time zone name ("The server time
            # zone value 'CEST' is unrecognized ... serverTimezone configuration property").
            "server_time_zone",
            4.0,
            r"server time zone value [^\n]{0,40}is unrecognized",
            _I,
        ),
        (
            # A ReadWriteOnce volume still attached to another node (Kubernetes "Multi-Attach
            # error for volume", "Volume is already exclusively attached to one node"), or a
            # pod's claim with no volume to bind ("pod has unbound immediate
            # PersistentVolumeClaims", above the scheduler's "0/3 nodes are available"): the
            # storage setup, not the cluster's size.
            "volume_attach",
            4.5,
            r"multi-attach error for volume|volume is already exclusively attached"
            r"|volume is already used by pods?\b|unbound immediate persistentvolumeclaims",
            _I,
        ),
        (
            # A dbt project that does not load (two macros or resources of one name, usually
            # from two packages; no dbt_project.yml where dbt looks; an old config-version).
            "dbt_project_invalid",
            4.0,
            r"dbt found (?:two|\d+) (?:macros|resources|models|nodes|sources|seeds|tests)"
            r" (?:named|with the name)|no dbt_project\.yml found|invalid config version: \d",
            _I,
        ),
        (
            # A storage URL that names no resource the service knows (Azure Storage InvalidUri
            # "The requested URI does not represent any resource on the server"): the account,
            # container or path in the URL is wrong.
            "uri_names_no_resource",
            4.0,
            r"requested uri does not represent any resource|errorcode: ?invaliduri\b"
            r"|<code>invaliduri</code>",
            _I,
        ),
        (
            # A Kubernetes object the API server rejected on validation (Pod "x" is invalid:
            # spec.containers[0].image: Required value; FieldValueRequired, FieldValueInvalid):
            # the pod spec the operator built lacks or mistypes a field.
            "k8s_spec_invalid",
            4.0,
            r"\bis invalid: (?:spec|metadata)\.[\w.\[\]-]{1,120}: (?:required value|invalid value"
            r"|unsupported value|forbidden)|fieldvaluerequired|fieldvalueinvalid",
            _I,
        ),
        (
            # A resource created under a name that is taken (Databricks "SQL warehouse with name
            # `x` already exists", a cluster, job, pool or secret scope, an app "with the same
            # name already exists"; ADF "A pipeline named 'x' already exists"): a leftover of an
            # earlier run or a deployment's clash.
            "name_taken",
            4.0,
            r"\b(?:warehouse|endpoint|cluster|instance pool|pool|job|secret scope|scope|repo"
            r"|workspace|catalog|volume|linked service|dataset|pipeline|trigger|data ?flow"
            r"|integration runtime|storage account|container|bucket|app)s? (?:with (?:the )?"
            r"name|named|name) ?[`'\"]?[^`'\"\n]{1,120}?[`'\"]? already exists"
            r"|\b(?:app|cluster|job|pipeline|warehouse|workspace|catalog|volume|repo)s? with the "
            r"same name already exists\b",
            _I,
        ),
        (
            # A Delta table read at a path or version that has none (delta-rs "Not a Delta
            # table: No snapshot or version 0 found", "Invalid table version: 3", DuckDB's
            # delta kernel "MissingVersionError ... No table version found"): the path is
            # wrong or the table was never written there.
            "no_delta_table",
            4.5,
            r"not a delta table: no snapshot|no snapshot or version \d+ found"
            r"|\bmissingversionerror\b|no table version found|invalid table version: ?\d+",
            _I,
        ),
        (
            # Databricks' REST error for a path, job, scope or object the call names that is not
            # there (RESOURCE_DOES_NOT_EXIST "No file or directory exists on path dbfs:/x"), and
            # Azure Storage's "The specified resource does not exist." (a container, share or
            # account the client was pointed at).
            "named_resource_missing",
            3.5,
            r"\bresource_does_not_exist\b|no file or directory exists on path"
            r"|the specified resource does not exist",
            _I,
        ),
        (
            # SQLite's JDBC driver opening a database file in a directory that is not there
            # ("path to '/databricks-datasets/x.db': '/databricks-datasets' does not exist"):
            # the configured path (on Databricks, without its /dbfs prefix), not the database.
            "database_file_dir_missing",
            4.0,
            r"\bpath to '[^'\n]{1,300}': '[^'\n]{1,300}' does not exist",
            _I,
        ),
        (
            # A program the step launches that is not installed on the worker or not on its PATH
            # (bash "dbt: command not found", sh "1: spark-submit: not found", Go's "executable
            # file not found in $PATH", Windows' "is not recognized as an internal or external
            # command", Python's subprocess raising FileNotFoundError for 'dbt' from
            # _execute_child): the image or environment, not a data file.
            "executable_not_found",
            4.5,
            r"\b[\w.+-]{1,60}: command not found|executable file not found in \$?path"
            r"|is not recognized as an internal or external command"
            r"|/bin/(?:ba|da|z)?sh: (?:line )?\d{1,6}: [\w.+-]{1,60}: not found"
            r"|\bchild_exception_type\b",
            _I,
        ),
        (
            # ADF integration runtime placement (signals.py).
            "integration_runtime_placement",
            4.0,
            any_of(*signals.INTEGRATION_RUNTIME_PLACEMENT),
            _I,
        ),
        (
            # A setup key never given to a component (signals.py).
            "key_setting_missing",
            3.5,
            any_of(*signals.KEY_SETTING_MISSING),
            _I,
        ),
        (
            # A Databricks resource the workspace has purged (signals.py).
            "purged_resource",
            4.0,
            any_of(*signals.PURGED_RESOURCE),
            _I,
        ),
        (
            # A relation name with too many dotted parts (signals.py).
            "qualified_name_invalid",
            4.0,
            any_of(*signals.QUALIFIED_NAME_INVALID),
            _I,
        ),
        (
            # Azure Resource Manager not finding what a deployment or SDK call names ("The
            # Resource 'Microsoft.DataFactory/factories/x' under resource group 'rg' was not
            # found", "Resource group 'rg' could not be found"): a name, group or subscription
            # that is wrong or deleted.
            "arm_resource_not_found",
            4.0,
            r"\bthe resource '[^'\n]{1,300}' under resource group '[^'\n]{1,120}' was not found"
            r"|\bresource group '[^'\n]{1,120}' could not be found|\bresourcegroupnotfound\b",
            _I,
        ),
        ("env_key_error", 2.0, r"KeyError: '[A-Z][A-Z0-9_]{2,}'", 0),
        ("not_supported", 1.0, r"not supported|unsupported", _I),
    ],
    "CodeError": [
        (
            # A Go program that crashed on a bug (a failed type assertion, a nil dereference).
            "go_runtime_panic",
            5.5,
            any_of(*signals.GO_RUNTIME_PANIC),
            _I,
        ),
        (
            # A SQL binder that cannot resolve a column the query uses, above the missing-column
            # words the data class reads and the "INTERNAL Error" the external-service class reads.
            "sql_column_binding_failed",
            5.5,
            any_of(*signals.SQL_COLUMN_BINDING_FAILED),
            _I,
        ),
        (
            # A mapped Airflow task whose upstream did not push the values it maps over.
            "airflow_mapped_upstream_missing",
            5.5,
            any_of(*signals.AIRFLOW_MAPPED_UPSTREAM_MISSING),
            _I,
        ),
        (
            # A T-SQL statement given a value its option does not take.
            "statement_value_not_allowed",
            4.5,
            any_of(*signals.STATEMENT_VALUE_NOT_ALLOWED),
            _I,
        ),
        (
            # A namespace Unity Catalog does not take (nested or empty), above the SQLSTATE and
            # analysis exception the database class reads.
            "uc_namespace_invalid",
            5.5,
            any_of(*signals.UC_NAMESPACE_INVALID),
            _I,
        ),
        (
            # A MERGE whose INSERT clause leaves out a target column
            # (DELTA_COLUMN_NOT_FOUND_IN_MERGE), above the "unable to find" the configuration
            # class reads.
            "merge_insert_column_missing",
            4.5,
            any_of(*signals.MERGE_INSERT_COLUMN_MISSING),
            _I,
        ),
        (
            # A partition predicate that references a non-partition column.
            "partition_predicate_invalid",
            4.5,
            any_of(*signals.PARTITION_PREDICATE_INVALID),
            _I,
        ),
        (
            # A column a self-join cannot tell apart (AMBIGUOUS_COLUMN_REFERENCE).
            "ambiguous_column_reference",
            4.5,
            any_of(*signals.AMBIGUOUS_COLUMN_REFERENCE),
            _I,
        ),
        (
            # A MERGE whose WHEN [NOT] MATCHED clause other than the last omits its condition.
            "merge_clause_condition_missing",
            4.5,
            any_of(*signals.MERGE_CLAUSE_CONDITION_MISSING),
            _I,
        ),
        (
            # A data flow expression that cannot be parsed or names a field its struct lacks,
            # weighted above the parsing and the "does not exist" the other classes read.
            "data_flow_expression_invalid",
            5.0,
            any_of(*signals.DATA_FLOW_EXPRESSION_INVALID),
            _I,
        ),
        (
            # A write whose column count does not match the table's (Spark's "not enough data
            # columns; target table has 2 column(s)", INSERT_COLUMN_ARITY_MISMATCH).
            "insert_column_count_mismatch",
            4.5,
            any_of(*signals.INSERT_COLUMN_COUNT_MISMATCH),
            _I,
        ),
        (
            # Spark code run with no active session (NO_ACTIVE_SESSION, a stopped
            # SparkContext): the job's own call order.
            "spark_session_stopped",
            4.5,
            any_of(*signals.SPARK_SESSION_STOPPED),
            _I,
        ),
        (
            # A SQL statement with a parameter the caller did not bind (UNBOUND_SQL_PARAMETER,
            # "Must declare the scalar variable").
            "sql_parameter_unbound",
            4.5,
            any_of(*signals.SQL_PARAMETER_UNBOUND),
            _I,
        ),
        (
            # An Airflow 3 task's supervisor request refused by the Task SDK's model
            # ("validation error for GetConnection ... input_value=None"): the argument the task
            # code passed to Connection.get, Variable.get or an XCom call, above pydantic's
            # type words.
            "task_sdk_request_invalid",
            4.5,
            any_of(*signals.TASK_SDK_REQUEST_INVALID),
            _I,
        ),
        (
            # A Spark SQL function given an argument of the wrong type ("cannot resolve
            # 'bool_and(1)' due to data type mismatch: Input to function 'bool_and' should have
            # been boolean, but it's [int]"): the query's expression, weighted above the data type
            # words around it.
            "function_argument_type",
            4.0,
            r"\binput to function '?[\w.]{1,60}'? should have been [^\n,]{1,60}, but it's\b",
            _I,
        ),
        (
            # A Power Query (Dataflow, Fabric Dataflow Gen2, Power BI) step whose expression fails
            # ("MashupException.Error: Expression.Error: We cannot convert a value of type Table
            # to type Text", "Expression.Error: There weren't enough elements in the enumeration
            # to complete the operation"): the query's M code, weighted above the "refresh" and
            # service words around it.
            "power_query_expression",
            4.5,
            any_of(*signals.POWER_QUERY_EXPRESSION),
            _I,
        ),
        (
            # A task reading an upstream XCom that was never pushed (Airflow "XComArg result
            # from extract at t1 with key=\"return_value\" is not found!", the Task SDK's "XCom
            # with key 'return_value' not found for task 'extract'": the upstream task was
            # skipped, returned nothing, or is not a task of the DAG).
            "xcom_missing",
            4.0,
            any_of(*signals.XCOM_MISSING),
            _I,
        ),
        (
            # Spark expanding `col.*` of a column that is not a struct ("Can only star expand
            # struct data types. Attribute: `ArrayBuffer(x)`", Databricks'
            # [INVALID_USAGE_OF_STAR_OR_REGEX]): the query's select list.
            "star_expand_non_struct",
            4.0,
            r"\bcan only star expand struct data types\b|\binvalid_usage_of_star_or_regex\b",
            _I,
        ),
        (
            # A statement the engine does not run at all (Fabric Warehouse's "INSERT is not a
            # supported statement type." for SqlBulkCopy's INSERT BULK): the client's code, not
            # the database.
            "statement_type_unsupported",
            4.0,
            r"\bis not a supported statement type\b",
            _I,
        ),
        (
            # Async code awaiting something that is not awaitable (Python's "object
            # ReadOnlyCredentials can't be used in 'await' expression", asyncio's "a coroutine
            # was expected, got None"): a sync call used where a coroutine is expected.
            "await_misuse",
            4.5,
            r"\bcan't be used in 'await' expression\b|\ba coroutine was expected, got\b",
            _I,
        ),
        (
            # Code written against an API it breaks: a .NET collection cast to a scalar (the ADF
            # SDK's "Unable to cast object of type 'System.Collections.Generic.Dictionary`2[...]'
            # to type 'System.String'"), Airflow task code using the metadata database's ORM
            # ("Direct database access via the ORM is not allowed in Airflow 3.0"), a DagRun
            # created without its run id ("Creating DagRun needs either run_id or both run_type
            # and execution_date"): the calling code, above the data and database words.
            "api_misuse",
            4.5,
            r"\bunable to cast object of type 'system\.collections\.generic\.\w{1,40}`\d"
            r"|\bdirect database access via the orm is not allowed\b"
            r"|\bcreating dagrun needs either\b",
            _I,
        ),
        (
            # An ORM object used after its session closed (SQLAlchemy's DetachedInstanceError
            # "Parent instance <TaskInstance ...> is not bound to a Session; lazy load operation
            # ... cannot proceed"): the calling code's session handling, above the database
            # words of a Session.
            "orm_instance_detached",
            4.5,
            r"\bdetachedinstanceerror\b|\bis not bound to a session\b",
            _I,
        ),
        (
            # A Delta log entry that breaks the protocol (delta-rs "Delta protocol violation:
            # Invalid action field: type for schemaString in metaData action should be string"):
            # the writer that produced it.
            "delta_protocol_violation",
            4.0,
            r"\bdelta protocol violation\b",
            _I,
        ),
        (
            # Statements and expressions their engine refuses as written: a MERGE without a WHEN
            # clause ("There must be at least one WHEN clause in a MERGE statement"), a streaming
            # write of a column with no type ("Delta doesn't accept NullTypes in the schema"), a
            # column reference DataFusion (delta-rs) cannot find ("Schema error: No field named
            # target._merge_key. Valid fields are ..."), a Jinja template handed a node it cannot
            # compile ("Can't compile non template nodes"), a branch callable returning no task
            # id ("'branch_task_ids' expected all task IDs are strings"): the code.
            "statement_refused_as_written",
            4.5,
            r"\bat least one when clause in a merge statement\b"
            r"|\b(?:doesn't|does not) accept nulltypes?\b"
            r"|\bno field named [^\s]{1,200}\. valid fields are\b"
            r"|\bcan't compile non template nodes\b"
            r"|'branch_task_ids' expected all task ids are strings\b",
            _I,
        ),
        (
            # Spark and Delta statements they refuse as written: a table that cannot be both
            # clustered and partitioned ("Cannot specify both CLUSTER BY and PARTITIONED BY"),
            # DataFrameWriter's sortBy without bucketBy ("sortBy must be used together with
            # bucketBy"), a schema dropped while it
            # holds objects, a generated column with a UDF, partition columns dropped, time
            # travel past the latest commit ("The provided timestamp (...) is after the latest
            # version available"): the code, above "not allowed" of a setting.
            "spark_statement_refused_as_written",
            4.5,
            r"\bcannot specify both [\w ]{1,40}? and [\w ]{1,40}?\."
            r"|\b(?:sortby|bucketby|partitionby) must be used together with\b"
            r"|\bcannot drop a (?:schema|database|namespace)\b[^\n]{0,200}? because it contains "
            r"objects\b"
            r"|\bgenerated column cannot use\b"
            r"|\bdropping partition columns?\b[^\n]{0,200}? is not allowed\b"
            r"|\bprovided timestamp\b[^\n]{0,200}? is after the latest version available\b",
            _I,
        ),
        (
            # A streaming query restarted with state of another shape than its checkpoint holds
            # ("Provided key schema does not match existing state key schema"): the query
            # changed between restarts, not the rows.
            "state_schema_changed_between_restarts",
            4.5,
            r"\bdoes not match existing state (?:key|value) schema\b",
            _I,
        ),
        (
            # botocore refusing the arguments the code built before any call ("Parameter
            # validation failed: Invalid type for parameter GlueVersion, value: 4.0, type:
            # <class 'float'>"): the code or the operator's arguments, not the data.
            "boto_parameter_invalid",
            4.5,
            r"\bparameter validation failed:\s{0,4}(?:invalid type for parameter|unknown "
            r"parameter in|missing required parameter in|invalid length for parameter)\b",
            _I,
        ),
        (
            # An Airflow operator built without the arguments it needs ("AirflowException:
            # Argument ['owner', 'task_id'] is required"): the DAG file.
            "operator_argument_missing",
            4.0,
            r"\bargument \[[^\]\n]{1,200}\] is required\b",
            _I,
        ),
        (
            # Spark's analyzer refusing an expression's argument types ("cannot resolve
            # 'date_sub('2020-12-27', 90)' due to data type mismatch: argument 1 requires date
            # type", "input to function array should all be the same type"): the query, not the
            # rows, which are never read.
            "spark_argument_type_mismatch",
            4.0,
            r"\bdue to data type mismatch: (?:argument \d+ requires \w+ type"
            r"|input to function \w+ should all be the same type)",
            _I,
        ),
        (
            # Spark and Delta statements they refuse as written ([DELTA_TABLE_FOUND_IN_EXECUTOR]
            # "DeltaTable cannot be used in executors", TRUNCATE TABLE with a partition
            # predicate, [INVALID_TIME_TRAVEL_SPEC] both a version and a timestamp): the code,
            # above "not supported" and "not allowed" of a setting.
            "spark_statement_refused",
            4.5,
            r"\bdeltatable cannot be used in executors\b"
            r"|\btruncate table on delta tables does not support partition predicates\b"
            r"|\bcannot specify both version and timestamp when time travelling\b",
            _I,
        ),
        (
            # Python signal handlers installed off the main thread ("ValueError: signal only
            # works in main thread"): the code that runs the timeout, not a bad value.
            "signal_off_main_thread",
            4.0,
            r"\bsignal only works in main thread\b",
            _I,
        ),
        (
            # dbt handing the database an empty statement ("Database Error in model ... can't
            # execute an empty query"): the model or macro that rendered no SQL.
            "empty_query",
            5.0,
            r"\bcan't execute an empty query\b",
            _I,
        ),
        (
            # A Spark column name two inputs of a join both have ("[AMBIGUOUS_REFERENCE]
            # Reference `accountId` is ambiguous, could be: [...]"): the query, which must say
            # whose column it means.
            "ambiguous_reference",
            4.0,
            r"\bambiguous_reference\b|\breference `[^`\n]{1,200}` is ambiguous\b",
            _I,
        ),
        (
            # A Dataverse/Dynamics FetchXML query the service refused (ADF's
            # DynamicsInvalidFetchXml "The Fetch Xml query specified is invalid."): the query.
            "fetch_xml_invalid",
            4.0,
            r"\bfetch ?xml query specified is invalid\b|\bdynamicsinvalidfetchxml\b",
            _I,
        ),
        (
            # Redshift's Data API asked for the result of a whole batch ("BatchExecuteStatement
            # result can only be retrieved with sub-statement id"): the caller, which must ask
            # per statement.
            "batch_result_needs_sub_statement",
            4.0,
            r"\bcan only be retrieved with sub-statement id\b",
            _I,
        ),
        (
            # A CREATE TABLE with no column list or an empty select (Hive's "at least one column
            # must be specified for the table"): the statement.
            "table_without_columns",
            4.0,
            r"\bat least one column must be specified for the table\b",
            _I,
        ),
        (
            # A KubernetesPodOperator with do_xcom_push whose container wrote no result ("cat:
            # can't open '/airflow/xcom/return.json'"): the task's code, above the words of a
            # missing input path.
            "xcom_result_file_missing",
            5.0,
            r"\bcan't open '/airflow/xcom/return\.json'",
            _I,
        ),
        (
            # Airflow's dynamic task mapping fed a value it cannot expand over
            # (UnmappableXComTypePushed "unmappable return type 'int'"): the upstream task's
            # return value.
            "unmappable_xcom",
            4.0,
            r"\bunmappablexcom\w{0,20}\b|\bunmappable return (?:type|value)\b",
            _I,
        ),
        (
            # A branch callable returning task ids the DAG does not have ("'branch_task_ids'
            # must contain only valid task_ids. Invalid tasks found: {...}"): the callable.
            "invalid_branch_task",
            4.0,
            r"\bmust contain only valid task_ids\b",
            _I,
        ),
        (
            # Airflow unable to read back a DAG it serialised (DeserializationError "An
            # unexpected error occurred while trying to deserialize Dag 'x'"): something the
            # DAG file puts in its arguments, or a version mismatch.
            "dag_deserialization",
            3.5,
            r"\bwhile trying to deserialize dag\b|\bfailed to serialize dag\b",
            _I,
        ),
        ("query_too_complex", 4.0, any_of(*signals.QUERY_TOO_COMPLEX), _I),
        (
            # Parameters that do not fit the query's placeholders (signals.py): above the
            # ProgrammingError's database words.
            "query_parameter_count",
            5.0,
            any_of(*signals.QUERY_PARAMETER_COUNT),
            _I,
        ),
        (
            # ADF's management API refusing a pipeline run id the caller passed
            # ("ReferencedPipelineRunNotValid: Referenced pipeline run id {} is not a valid run
            # id"): the argument the code built, not the service.
            "invalid_run_reference",
            4.0,
            r"\breferencedpipelinerunnotvalid\b|\bis not a valid run id\b",
            _I,
        ),
        ("unsupported_subquery", 4.0, any_of(*signals.UNSUPPORTED_SUBQUERY), _I),
        (
            # Salesforce refusing a SOQL query as written (MALFORMED_QUERY, a filter operator
            # the field type does not take, a query on another object than the Bulk API job's).
            "soql_rejected",
            4.0,
            r"\b(?:malformed_query|invalid_type_for_operation|invalid_query_filter_operator)\b",
            _I,
        ),
        (
            # NumPy refusing an in-place ufunc whose result type does not fit the array
            # ("Cannot cast ufunc 'add' output from dtype('float64') to dtype('int64')").
            "numpy_casting",
            3.5,
            r"ufunctypeerror|cannot cast ufunc '?\w{1,40}'? (?:output|input)",
            _I,
        ),
        (
            # .NET's null dereference (ADF's own copy runtime or a custom activity).
            "null_reference",
            3.0,
            r"nullreferenceexception|object reference not set to an instance of an object",
            _I,
        ),
        (
            "adf_expression",
            4.5,
            any_of(
                *signals.ADF_EXPRESSION,
                r"cannot be evaluated",
                r"unable to parse expression",
                r"was invoked with a parameter",
                r"expression .{0,80}(?:is )?(?:invalid|not valid)",
            ),
            _I,
        ),
        (
            # Oracle's own codes for a statement it cannot parse (invalid SQL statement, invalid
            # character, a missing comma, expression or parenthesis, a command or quoted string
            # not properly ended): above the ORA code and driver names that otherwise make it a
            # database fault.
            "oracle_syntax",
            4.5,
            r"\bORA-(?:00900|00911|00917|00933|00936|00907|01756)\b",
            0,
        ),
        (
            "syntax_error",
            3.5,
            any_of(
                *signals.SYNTAX_ERROR,
                r"parseexception",
                r"syntax error",
                r"error in your sql syntax",
                r"invalid syntax",
                r"unresolved_routine",
                r"undefined function",
                r"cannot resolve function",
                r"is not a member of",
                r"not found: (?:value|type|object)\b",
                r"error: type mismatch",
                # An expression or script name the analyser could not bind (ADF data flow
                # DF-DRAFT "Unresolved specification", Delta MERGE "UNRESOLVED_EXPRESSION").
                r"\bunresolved[ _](?:specification|expression|reference|attribute)",
                # PostgreSQL 42883 (psycopg2 UndefinedFunction): no function or operator takes
                # the argument types the query gives it.
                r"undefinedfunction",
                r"\boperator does not exist: ",
                r"no (?:function|operator) matches the given name and argument types",
            ),
            _I,
        ),
        (
            # A query the engine's analyser rejects as written: a column neither grouped nor
            # aggregated (Spark, PostgreSQL, SQL Server, MySQL, Snowflake), a streaming
            # DataFrame used as a batch one, an implicit cartesian product.
            "query_mistake",
            3.5,
            r"neither present in the group by|must appear in the group by clause"
            r"|not contained in either an aggregate function or the group by"
            r"|isn't in group by|only_full_group_by|is not a valid group by expression"
            r"|missing_aggregation|aggregate functions? (?:are|is) not allowed in"
            r"|queries with streaming sources must be executed with"
            # A Delta Live Tables flow reading a batch view as a stream ("View is not a
            # streaming view and must be referenced using read").
            r"|is not a streaming (?:view|table|dataset|source|dataframe)\b"
            r"|(?:are|is) not supported (?:on|with|for) streaming (?:dataframes|datasets)"
            r"|output mode not supported|implicit cartesian product"
            r"|join condition is missing or trivial"
            # Teradata 3731: "= NULL" where the SQL must test "IS NULL".
            r"|must use is null or is not null"
            # Reading and overwriting one table or path in one statement (Spark, Hive).
            r"|cannot overwrite (?:a path|table \S+|the table \S+) that is also being read from",
            _I,
        ),
        (
            # dbt's Jinja compilation failed in a macro, model or test (not a project layout
            # problem such as two models with one name, which dbt reports without "in").
            "dbt_compilation",
            3.0,
            r"compilation error in (?:macro|model|test|snapshot|seed|analysis|operation)\b",
            _I,
        ),
        (
            # dbt's compiler could not resolve a ref(), source() or macro the project uses.
            "dbt_unresolved_ref",
            4.0,
            any_of(*signals.DBT_UNRESOLVED_REF),
            _I,
        ),
        (
            "python_exception",
            3.0,
            # `(?<=\\n)`: a traceback JSON-escaped into one line (AWS Glue's "Failure Reason").
            rf"(?:\b|(?<=\\n))(?:{any_of(*signals.PYTHON_BUG_EXCEPTIONS)}|KeyError|NameError"
            r"|SyntaxError|IndentationError|NotImplementedError|StopIteration)\b"
            r"|\bPySpark(?:Type|Attribute|Index|Key)Error\b",
            0,
        ),
        (
            "jvm_exception",
            3.0,
            any_of(
                *signals.JVM_BUG_EXCEPTIONS,
                "NoSuchElementException",
                "UnsupportedOperationException",
                "MatchError",
            ),
            0,
        ),
        (
            "bad_call",
            3.0,
            r"invalid arguments were passed|unexpected keyword argument|positional argument"
            r"|takes no keyword argument|got multiple values for (?:keyword )?argument"
            r"|object'? has no attribute|object is not (?:subscriptable|callable|iterable)"
            r"|undefinederror|templatesyntaxerror|method \w+\(.{0,200}\) does not exist"
            r"|(?:must|should) (?:use|pass|be called with) keyword arguments|rather than positional"
            r"|\buse keyword arguments when\b"
            r"|is not defined\b|duplicatetaskidfound|has already been added to the dag"
            r"|airflowdagcycleexception|cycle detected in dag|task not serializable"
            # A dependency graph that loops (dbt "Found a cycle: model.x --> model.y").
            r"|\bfound a cycle\b|\bdependency cycle\b|circular (?:dependency|reference)\b"
            r"|notserializableexception|changed size during iteration"
            r"|truth value of an? \w+ is ambiguous|cannot convert column into bool"
            # A closure Spark or multiprocessing could not ship to the workers.
            r"|picklingerror|could not serialize object|can't pickle|cannot pickle"
            r"|sparkcontext can only be used on the driver|spark-5063"
            # TypeError texts, for logs that print the message without the class name.
            r"|unsupported operand type|can only concatenate|must be (?:str|int|real number)"
            r", not|not supported between instances of|object of type .{0,40} has no len"
            r"|expected string or bytes-like object|argument of type '\w{1,40}' is not iterable"
            r"|'in <string>' requires string as left operand",
            _I,
        ),
        (
            # A value the code hands to a JSON encoder that has no JSON form (Airflow pushing a
            # return value to XCom: "Could not serialize the XCom value into JSON", "Object of
            # type ValidationOperatorResult is not JSON serializable"): the task returns or
            # passes an object, not a str, number, list or dict.
            "not_json_serializable",
            4.5,
            r"\bis not json serializable|could not serialize the xcom value"
            r"|object of type '?[\w.]{1,120}'? is not (?:json )?serializable",
            _I,
        ),
        (
            # An operation the caller asks of a run or job in a state that does not allow it
            # (ADF PipelineRunNotRunning "Pipeline run has already completed with status
            # 'Succeeded'. Only pipeline runs that are in progress or queued can be canceled", a
            # cancel or update sent after the run ended): the calling code's sequencing (an
            # operator cancelling on a stale status), not the service.
            "operation_invalid_for_state",
            3.5,
            r"\bonly [\w ]{1,40}? (?:that|which) are (?:in progress|running|queued|pending|active)"
            r"(?: or (?:in progress|running|queued|pending|active))? can be"
            r" (?:cancel+ed|stopped|terminated|updated|modified|deleted)"
            r"|\bpipelinerunnotrunning\b|\b(?:is|has) already (?:completed|finished|terminated"
            r"|succeeded|been (?:completed|cancel+ed|terminated)) with (?:status|state) '?\w+'?"
            r"\W{0,3}(?:only|cannot|can't|can not)\b",
            _I,
        ),
        (
            # A request body the pipeline builds that is not valid JSON (ADF Web/Webhook
            # activity "Body has invalid JSON", "The request body is not valid JSON"): the
            # activity's body expression, not the data it moves.
            "request_body_invalid_json",
            4.0,
            r"\b(?:request )?body (?:has|is|contains) (?:an? )?(?:invalid|malformed) json"
            r"|\b(?:request )?body is not (?:a )?valid json"
            r"|invalid json (?:in|for) (?:the )?(?:request |http )?body",
            _I,
        ),
        (
            # A BigQuery job id submitted twice ("409 POST .../jobs: Already Exists: Job
            # project:EU.airflow_1599413716"): the caller builds job ids that repeat (a fixed id,
            # a timestamp shared by parallel tasks).
            "job_id_reused",
            4.0,
            r"already exists: job\b|duplicate job id",
            _I,
        ),
        ("crash", 2.0, r"sigsegv|segmentation fault|core dumped", _I),
        # Spark's analyser rejected the query; the stronger signals say when it is a missing
        # table, column or path instead.
        ("analysis_exception", 1.5, r"analysisexception", _I),
        # Syntax error, undefined function.
        ("sqlstate_syntax", 2.5, _sqlstate("42601", "42883"), _I),
        (
            "user_code_frame",
            0.5,
            r"traceback \(most recent call last\)|pythonexception|broken dag",
            _I,
        ),
    ],
}

# Anchors for signals whose derived ones would be too common ("status", "error", "code").
# These signals are matched as a whole regex rather than branch by branch.
_EXPLICIT_ANCHORS: dict[str, tuple[str, ...]] = {
    "http_401_403": ("401", "403", "forbidden", "unauthorized"),
    "http_400": ("400", "bad request", "bad_request"),
    "throttled": (
        "429",
        "too many",
        "rate limit",
        "rate exceeded",
        "throttl",
        "reduce your request rate",
        "slow",
        "request_limit_exceeded",
        "requestlimitexceeded",
        "ratelimit",
        "rate_limit",
        "requests per",
        "qps",
        "request rate is large",
        "over the account limit",
        "over the partition limit",
        "provisioned",
    ),
    "http_5xx": (
        "500",
        "502",
        "503",
        "504",
        "unavailable",
        "bad gateway",
        "gateway time",
        "internalservererror",
        "internal server error",
        "busy",
    ),
}

_MIN_ANCHOR = 3


def _anchors(items: object) -> list[str] | None:
    """Literal strings of which every match of a parsed regex sequence contains at least one.

    Walks the top level of a `re._parser` tree: the longest run of consecutive literals is a
    required substring; a group or alternation in the sequence contributes the union of its
    branches' anchors. Returns None when nothing reliable can be derived.
    """
    best: list[str] | None = None
    run: list[str] = []

    def consider(candidate: list[str] | None) -> None:
        nonlocal best
        if candidate and (best is None or min(map(len, candidate)) > min(map(len, best))):
            best = candidate

    def flush() -> None:
        literal = "".join(run).strip()
        if len(literal) >= _MIN_ANCHOR:
            consider([literal])
        run.clear()

    for op, arg in items:  # type: ignore[attr-defined]
        if op is _sre.LITERAL:
            run.append(chr(arg).lower())
            continue
        flush()
        if op is _sre.SUBPATTERN:
            consider(_anchors(arg[-1]))
        elif op is _sre.BRANCH:
            branches = [_anchors(branch) for branch in arg[1]]
            if all(branches):
                consider([a for branch in branches for a in branch])  # type: ignore[union-attr]
    flush()
    return best


def _lower_pattern(regex: str) -> str:
    # Lowercase literal letters but not escapes such as \S or \W.
    return re.sub(r"(?<!\\)[A-Z]", lambda m: m.group(0).lower(), regex)


def _split_top_level(regex: str) -> list[str]:
    """The top-level alternatives of a regex source (``a|(b|c)|d`` -> a, (b|c), d)."""
    parts: list[str] = []
    depth = start = i = 0
    n = len(regex)
    while i < n:
        ch = regex[i]
        if ch == "\\":  # escaped character
            i += 2
            continue
        if ch == "[":  # skip a character class; "]" right after "[" or "[^" is literal
            i += 1
            if i < n and regex[i] == "^":
                i += 1
            if i < n and regex[i] == "]":
                i += 1
            while i < n and regex[i] != "]":
                i += 2 if regex[i] == "\\" else 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(regex[start:i])
            start = i + 1
        i += 1
    parts.append(regex[start:])
    return parts


def _required_literals(items: object) -> list[str]:
    """Every run of consecutive literals, of at least _MIN_ANCHOR characters, that any match
    of a parsed regex sequence contains: at its top level, in its groups and in the bodies of
    its repeats that must occur at least once (not in alternations or optional parts). Case
    counts: for a regex compiled without IGNORECASE anywhere in it."""
    required: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if len(run) >= _MIN_ANCHOR:
            required.append("".join(run))
        run.clear()

    for op, arg in items:  # type: ignore[attr-defined]
        if op is _sre.LITERAL:
            run.append(chr(arg))
            continue
        flush()
        if op is _sre.SUBPATTERN and not arg[1] and not arg[2]:  # no (?i:...) flags of its own
            required.extend(_required_literals(arg[-1]))
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT) and arg[0] >= 1:
            required.extend(_required_literals(arg[2]))
    flush()
    return required


def _make_branch(
    signal: int, piece: str, anchors: frozenset[str] | None, on_lower: bool
) -> _Branch:
    pattern = re.compile(piece)
    required: tuple[str, ...] = ()
    if _parser is not None and not pattern.flags & re.IGNORECASE:
        known = anchors if on_lower and anchors is not None and len(anchors) == 1 else ()
        literals = _required_literals(_parser.parse(piece, pattern.flags))
        required = tuple(dict.fromkeys(lit for lit in literals if lit not in known))
    return _Branch(signal, pattern, anchors, on_lower, required)


def _derive_anchors(source: str) -> frozenset[str] | None:
    if _parser is None:
        return None
    anchors = _anchors(_parser.parse(source))
    return frozenset(anchors) if anchors else None


def _compile_signals() -> tuple[tuple[_Signal, ...], tuple[_Branch, ...]]:
    signals: list[_Signal] = []
    branches: list[_Branch] = []
    for error_type, rows in _RAW_SIGNALS.items():
        for name, weight, regex, flags in rows:
            on_lower = bool(flags & re.IGNORECASE)
            source = _lower_pattern(regex) if on_lower else regex
            signals.append(_Signal(name, error_type, weight, re.compile(source), on_lower))
            pieces: list[tuple[str, frozenset[str] | None]]
            if name in _EXPLICIT_ANCHORS:
                pieces = [(source, frozenset(_EXPLICIT_ANCHORS[name]))]
            else:
                pieces = [(piece, _derive_anchors(piece)) for piece in _split_top_level(source)]
            for piece, anchors in pieces:
                branches.append(_make_branch(len(signals) - 1, piece, anchors, on_lower))
    return tuple(signals), tuple(branches)


_SIGNALS, _BRANCHES = _compile_signals()

# The plain-language fallback (see `_fallback`): words that say which kind of cause a message
# states without any signal's precise phrasing ("the certificate or password is wrong", "over
# limit", "JSON parsing error"). They only decide when no signal reached MIN_SCORE, and none is
# a word that generic failure reports use ("failed", "error", "exception", "exit code",
# "cancelled", "retry"): a message that states no cause stays Unknown.
CUE_WEIGHT = 1.0
CUE_MIN_SCORE = 1.0
CUE_CONFIDENCE = 0.3
_RAW_CUES: dict[str, list[tuple[str, str]]] = {
    "AuthenticationError": [
        ("secret", r"\b(?:passwords?|passphrase|credentials?|private key|api key|secret key)\b"),
        ("identity", r"\b(?:unauthenticated|unauthori[sz]ed|not authori[sz]ed|log ?in|logon)\b"),
        ("rights", r"\b(?:privileges?|permissions?|access (?:is )?denied|forbidden)\b"),
    ],
    "ResourceExhaustion": [
        # Not a retry count ("Job has reached the specified backoff limit").
        ("limit", r"(?<!backoff )(?<!retry )\b(?:limits?|maximum|quotas?|capacity)\b"),
        ("too_much", r"\b(?:more|larger|greater|bigger) than \d|\btoo (?:many|large|big)\b"),
        ("memory", r"\b(?:memory|disk space|heap)\b"),
    ],
    "DataError": [
        ("parse", r"\b(?:pars(?:e|ed|ing|er)|unparsable|decod(?:e|ed|ing)|encoding)\b"),
        ("format", r"\b(?:invalid|malformed|corrupt(?:ed)?) (?:json|xml|csv|format|record|row)"),
        ("value", r"\b(?:null value|invalid value|bad data|data type)\b"),
    ],
    "NetworkError": [
        # Not Kafka Connect's package or product name ("org.apache.kafka.connect.errors",
        # "Kafka Connect"): a connector task's failure states no network cause.
        (
            "connect",
            r"\b(?:(?<!\.)(?<!kafka )connect(?!\.[a-z])|connection (?:closed|lost|dropped)"
            r"|disconnected)\b",
        ),
        ("reach", r"\b(?:unreachable|network|socket|dns|proxy)\b"),
    ],
    "ConfigurationError": [
        # Not ADF's failure type "User configuration issue", which every user-side failure
        # carries.
        ("setting", r"\b(?:settings?|(?<!user )configur(?:e|ed|ation)|config)\b"),
        ("not_set", r"\bnot (?:configured|set|defined|specified|enabled|installed)\b"),
        ("unsupported", r"\b(?:not supported|unsupported)\b"),
    ],
    "TimeoutError": [
        ("wait", r"\b(?:deadline|took too long|waited too long|expired after)\b"),
    ],
    "DatabaseError": [
        ("database", r"\b(?:database|sql server|transaction|cursor)\b"),
    ],
    "ExternalServiceError": [
        ("service", r"\b(?:service (?:is )?(?:down|busy)|in progress|transient|try again)\b"),
    ],
    "CodeError": [
        ("binding", r"\b(?:undefined|unresolved|not defined|syntax)\b"),
    ],
}
_CUES: tuple[tuple[str, str, re.Pattern[str]], ...] = tuple(
    (name, error_type, re.compile(regex))
    for error_type, rows in _RAW_CUES.items()
    for name, regex in rows
)


# Every anchor present, found in one pass by an Aho-Corasick automaton (overlapping ones and
# those inside longer ones included): a regex alternation of all of them, tried at each position
# of the text, took half of a classification. Only the branches indexed under a present anchor
# (plus the few without anchors) are then searched, instead of every regex.
# The same pass finds the words that mark a line that may be informational (`_QUIET_MARKS`,
# `_DONE_MARKS`), so a text holding none is not read line by line.
_ALL_ANCHORS = sorted({a for b in _BRANCHES for a in b.anchors or ()})
_LEVEL_MARKS = frozenset(("info", "debug", "trace"))
_INFORMATIONAL_MARKS = _LEVEL_MARKS | frozenset(_DONE_MARKS)
_AUTOMATON_WORDS = sorted({*_ALL_ANCHORS, *_INFORMATIONAL_MARKS})
_ANCHOR_FINDER = ahocorasick.Automaton()
for _anchor in _AUTOMATON_WORDS:
    _ANCHOR_FINDER.add_word(_anchor, _anchor)
_ANCHOR_FINDER.make_automaton()
_BRANCHES_BY_ANCHOR: dict[str, list[int]] = {}
for _index, _branch in enumerate(_BRANCHES):
    for _anchor in _branch.anchors or ():
        _BRANCHES_BY_ANCHOR.setdefault(_anchor, []).append(_index)
_UNANCHORED = frozenset(i for i, b in enumerate(_BRANCHES) if b.anchors is None)


def _present_anchors(lower: str) -> set[str]:
    return {anchor for _, anchor in _ANCHOR_FINDER.iter(lower)}


def _may_be_informational(text: str, present: set[str]) -> bool:
    """Whether `text`, whose present anchors are `present`, may hold an informational line."""
    if not present.isdisjoint(_DONE_MARKS):
        return True
    return not present.isdisjoint(_LEVEL_MARKS) and any(mark in text for mark in _QUIET_MARKS)


# What a run's fetched error lists after the failure it leads with, each failing for a reason
# of its own: a Databricks run's other failed tasks, "Also FAILED: task 't08': ..."
# (`analysis.enrichment._databricks_message`); an ADF run's other failed activities, "Also
# failed: activity 'Copy table' (Copy): ...", and the run's own message when it repeats none of
# theirs, "Pipeline run message: ..." (`analysis.enrichment._adf_message`).
_OTHER_FAILED_TASKS = re.compile(
    r"^(?:Also [A-Z_]+: task '|Also failed: activity '|Pipeline run message: )", re.MULTILINE
)


def _lead_failure(message: str) -> str:
    """The message without the other failures a Databricks or ADF error lists after its own
    (the message itself when it lists none, or nothing comes before them)."""
    listed = _OTHER_FAILED_TASKS.search(message)
    if listed is None or not message[: listed.start()].strip():
        return message
    return message[: listed.start()]


def scan_window(message: str) -> str:
    """The part of a message the classifier and the rules look at: all of it but its
    informational lines (`without_informational_lines`; "" when it has nothing else); if huge,
    its head and tail, with the middle's error lines when head and tail name no class. Of a
    Databricks or ADF error listing the run's other failed tasks or activities, its own
    failure's part when that names a class."""
    if len(message) <= HEAD_CHARS + TAIL_CHARS and _lead_failure(message) is message:
        return without_informational_lines(message) or ""
    return _reading(message)[0]


def _reading(message: str, plain_words: bool = True) -> tuple[str, Classification]:
    lead = _lead_failure(message)
    if lead is not message:
        window, found = _window_and_class(lead, plain_words)
        if found.error_type != "Unknown":
            return window, found
    return _window_and_class(message, plain_words)


def _window_and_class(message: str, plain_words: bool = True) -> tuple[str, Classification]:
    if len(message) <= HEAD_CHARS + TAIL_CHARS:
        return _stated_and_class(message, plain_words)
    ends = _ends_without_informational(message)
    if ends is not None:
        head_text, middle, tail_text = ends
    else:
        stated = without_informational_lines(message)
        if stated is None:
            return "", _STATES_NO_FAILURE
        if len(stated) <= HEAD_CHARS + TAIL_CHARS:
            return stated, _classify_text(stated, plain_words)
        head_text, middle, tail_text = stated[:HEAD_CHARS], "", stated[HEAD_CHARS:]
    head, tail = head_text[:HEAD_CHARS], tail_text[-TAIL_CHARS:]
    rest = "\n".join(
        part
        for part in (head_text[HEAD_CHARS:], middle, tail_text[: len(tail_text) - len(tail)])
        if part
    )
    window = f"{head}\n{tail}"
    # The plain-word fallback waits until the middle's error lines have been read too.
    found = _classify_text(window, fallback=False)
    if found.error_type != "Unknown":
        return window, found
    salient = _salient_lines(rest)
    if salient:
        window = f"{head}\n{salient}\n{tail}"
        found = _classify_text(window, plain_words)
    elif head or tail:
        found = _classify_text(window, plain_words)
    else:
        window, found = "", _STATES_NO_FAILURE
    if found.error_type != "Unknown" or not middle:
        return window, found
    # The middle was not read for its informational lines, so its lines that state a failure
    # without an error word ("Container exited with a non-zero exit code 137") were not read
    # at all, though a whole reading keeps them: a class none of the rest gives is read there.
    stating = _failure_stating_lines(middle)
    if not stating:
        return window, found
    widened = "\n".join(part for part in (head, salient, stating, tail) if part)
    widened_found = _classify_text(widened, plain_words)
    if widened_found.error_type == "Unknown":
        return window, found
    return widened, widened_found


def _ends_without_informational(message: str) -> tuple[str, str, str] | None:
    """Of a message longer than twice INFORMATIONAL_SPAN: its first and last INFORMATIONAL_SPAN
    (to a line's end) without their informational lines, and the middle between them as it
    is; None for a shorter one (all of it is read)."""
    ends = _ends(message)
    if ends is None:
        return None
    head_end = len(ends[0])
    tail_start = len(message) - len(ends[1]) - 1
    head = without_informational_lines(ends[0]) or ""
    tail = without_informational_lines(ends[1]) or ""
    return head, message[head_end + 1 : tail_start], tail


def _ends(text: str) -> tuple[str, str] | None:
    """The first and last INFORMATIONAL_SPAN of a text longer than twice that, each to a line's
    end (the lines between them left out); None for a shorter one."""
    if len(text) <= 2 * INFORMATIONAL_SPAN:
        return None
    head_end = text.find("\n", INFORMATIONAL_SPAN)
    tail_start = text.rfind("\n", 0, len(text) - INFORMATIONAL_SPAN)
    if head_end < 0 or tail_start <= head_end:
        return None
    return text[:head_end], text[tail_start + 1 :]


def _salient_lines(text: str) -> str:
    """The lines of `text` that speak of an error (each cut to 500 characters around what it
    says), up to MIDDLE_CHARS in all."""
    lower = text.lower()
    return _lines_around(text, lower, ((m.start(), m.end()) for m in _SALIENT.finditer(lower)))


def _failure_stating_lines(text: str) -> str:
    """The lines of `text` holding a failure word not said to be absent (`_FAILURE_WORDS`) or
    a whole word stating one (`_STATE_TOKENS`: "Disk full"), which no informational line
    holds, each cut to 500 characters around it, up to MIDDLE_CHARS in all."""
    lower = text.lower()
    words = (
        (last + 1 - len(word), last + 1)
        for last, word in _FAILURE_WORDS.iter(lower)
        if not _negated(lower, word, last + 1 - len(word))
    )
    tokens = ((m.start(), m.end()) for m in _STATE_TOKEN.finditer(lower))
    return _lines_around(text, lower, heapq.merge(words, tokens))


def _lines_around(text: str, lower: str, spans: Iterable[tuple[int, int]]) -> str:
    """The lines of `text` around `spans` (offsets into `lower`, in order), each cut to 500
    characters around its span, up to MIDDLE_CHARS in all."""
    # A few characters lower-case to two (İ): then the offsets are the lowered text's.
    source = text if len(lower) == len(text) else lower
    lines: list[str] = []
    size = 0
    end = 0
    for span_start, span_end in spans:
        if span_start < end:
            continue
        start = max(lower.rfind("\n", 0, span_start) + 1, span_start - 250)
        end = lower.find("\n", span_end)
        end = min(len(source) if end < 0 else end, span_end + 250)
        line = source[start:end]
        if size + len(line) > MIDDLE_CHARS:
            break
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines)


def _confidence(best: float, runner_up: float) -> float:
    strength = 1.0 - math.exp(-best / 4.0)
    margin = (best - runner_up) / best
    return round(min(0.95, strength * (0.5 + 0.5 * margin)), 2)


def classify_error(message: str, *, plain_words: bool = True) -> Classification:
    """`plain_words=False`: signals only, without the cue-word fallback (`_fallback`), for a
    text that states no error: the service's own account of an Azure alert's condition, where
    "database" or "memory" names what is watched, not what broke."""
    if not message or not message.strip():
        return Classification("Unknown", 0.0, ())
    return _reading(message, plain_words)[1]


def _fallback(
    lower: str, scores: dict[str, float], matched: dict[str, list[str]]
) -> Classification | None:
    """The class a message's plain words point at, when no signal reached MIN_SCORE.

    Each cue word that matches adds CUE_WEIGHT to its class (further cues of the class a fraction,
    as for signals) on top of the class's signals that fell short. The best class is named if a
    cue fired for it, it reaches CUE_MIN_SCORE and it is strictly ahead of the runner-up; the
    confidence stays low. None when no cue fired: the message states nothing, so it is Unknown.
    """
    cue_hits: dict[str, list[str]] = {}
    for name, error_type, pattern in _CUES:
        if pattern.search(lower):
            cue_hits.setdefault(error_type, []).append(name)
    if not cue_hits:
        return None
    totals = dict(scores)
    for error_type, names in cue_hits.items():
        cue_score = CUE_WEIGHT * (1 + _EXTRA * (len(names) - 1))
        totals[error_type] = totals.get(error_type, 0.0) + cue_score
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1], _TIE_RANK[kv[0]]))
    best_type, best = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    if best_type not in cue_hits or best < CUE_MIN_SCORE or best <= runner_up:
        return None
    found = tuple(matched.get(best_type, ())) + tuple(f"cue:{n}" for n in cue_hits[best_type])
    return Classification(best_type, min(CUE_CONFIDENCE, _confidence(best, runner_up)), found)


_STATES_NO_FAILURE = Classification("Unknown", 0.1, ())


def _stated_and_class(text: str, fallback: bool) -> tuple[str, Classification]:
    """`text` without its informational lines, and its class."""
    lower = text.lower()
    present = _present_anchors(lower)
    if _may_be_informational(text, present):
        stated = _without_informational(text)
        if stated is None:
            return "", _STATES_NO_FAILURE
        if stated is not text:
            return stated, _classify_text(stated, fallback)
    return text, _classify_text(text, fallback, lower, present)


def _classify_text(
    text: str, fallback: bool = True, lower: str = "", present: set[str] | None = None
) -> Classification:
    """`lower` and `present`, when given, are `text` lowercased and its present anchors."""
    if present is None:
        lower = text.lower()
        present = _present_anchors(lower)
    candidates = set(_UNANCHORED)
    for anchor in present:
        candidates.update(_BRANCHES_BY_ANCHOR.get(anchor, ()))
    hit: set[int] = set()
    for index in sorted(candidates):  # registration order keeps `signals` stable
        branch = _BRANCHES[index]
        if branch.signal in hit:
            continue
        subject = lower if branch.on_lower else text
        if all(literal in subject for literal in branch.required) and branch.pattern.search(
            subject
        ):
            hit.add(branch.signal)
    weights: dict[str, list[float]] = {}
    matched: dict[str, list[str]] = {}
    for signal_index in sorted(hit):
        signal = _SIGNALS[signal_index]
        weights.setdefault(signal.error_type, []).append(signal.weight)
        matched.setdefault(signal.error_type, []).append(signal.name)
    if not weights:
        found = _fallback(lower, {}, {}) if fallback else None
        return found or Classification("Unknown", 0.1, ())
    # Signals of one class are correlated (a driver name, its exception type and its wording
    # usually come together), so only the strongest counts fully and the others add a fraction.
    scores = {k: max(ws) + _EXTRA * (sum(ws) - max(ws)) for k, ws in weights.items()}
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], _TIE_RANK[kv[0]]))
    best_type, best = ranked[0]
    if best < MIN_SCORE:
        found = _fallback(lower, scores, matched) if fallback else None
        return found or Classification("Unknown", 0.1, tuple(matched[best_type]))
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    return Classification(best_type, _confidence(best, runner_up), tuple(matched[best_type]))
