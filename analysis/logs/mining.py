"""Mine a log: patterns, the first error, the failure and the burst before it, exception chains
and their innermost cause, rare lines at the failure, and a timeline of levels.

Everything is computed in one streaming pass with bounded memory and a bounded cost per line,
whatever the input (a log whose lines are all distinct included): Drain (``drain3``) groups lines
into templates; at most ``MAX_CLUSTERS`` patterns are kept (the least recently seen one goes,
and what the report needs of it stays: the counts of the top patterns, the rare warnings), a
line is compared with at most ``MAX_LEAF_CLUSTERS`` of them (the most recently seen in its
branch of Drain's tree) and at most ``MINE_CHARS`` of it is mined; every list kept for the
report is a bounded deque or capped. On a log with fewer patterns than the caps (any ordinary
log) nothing is dropped and the answer is the one unbounded Drain gives. Each line is redacted
(``analysis.redaction``) before it is mined, so templates, excerpts and everything derived from
them are free of the secrets the log carried.
No Django import.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from operator import eq
from typing import Any

from drain3.drain import Drain, LogCluster, LogClusterCache, Node

from analysis.logs.formats import (
    DBT_FORMATS,
    LEVELS,
    LineParser,
    ParsedLine,
    expand_error_details,
    expand_json_documents,
)
from analysis.logs.reader import LogLine
from analysis.redaction import CONTEXT_LINES, LineRedactor
from analysis.rules.reading import states_no_cause
from tickets.timestamps import utc_text

EXCERPT_CHARS = 500  # of a line shown in the report (excerpts, chains, templates)
# Of the failure's and the first error's lines and of the innermost exception's message, kept
# whole up to this for classifying and for the rule RCA: an ADF error's inner cause often sits
# past the first 500 characters. The webhooks keep as much of an error message
# (integrations/parsers: adf, airflow, azure_monitor's MESSAGE_LIMIT).
CAUSE_CHARS = 16_000
PY_MESSAGE_LINES = 20  # lines of a Python exception's message after its first
MAX_PATTERNS_REPORTED = 25
# Patterns (Drain clusters) kept: past it the least recently seen goes (its lines, if they come
# back, start a new pattern); ordinary logs hold a few hundred at most.
MAX_CLUSTERS = 2000
# Patterns a line is compared with: those of its branch in Drain's tree (same token count and
# first token), the most recently seen first; ordinary logs have a few per branch.
MAX_LEAF_CLUSTERS = 32
MINE_CHARS = 2000  # of a line's message given to Drain (a template is reported to 500)
MAX_CHAINS_KEPT = 20
MAX_BURST = 20
BURST_WINDOW_SECONDS = 300
BURST_WINDOW_LINES = 2000
CONTEXT_BEFORE = 200
CONTEXT_AFTER = 30
RARE_MAX_COUNT = 3
MAX_RARE = 10
TIMELINE_BUCKETS = 48
REDACT_BATCH = 2000
PROGRESS_EVERY_LINES = 20_000
_CACHE_MAX = 100_000  # masked messages → their pattern, emptied when full
_CACHE_CHARS = 10_000_000  # or when their text reaches this

# Numbers, hex ids, UUIDs, IPs, timestamps and durations vary between otherwise identical lines;
# masked before Drain sees them (and as the key of the template cache that spares most Drain
# calls). A UUID is variable wherever it stands; any other token only where it starts at a
# boundary (after a space, punctuation, "=", ":", "/" or "_"): a digit inside a name (psycopg2,
# Py4JJavaError, s3://, Amazon S3, log4j) or a host (sql-prod-01.database.windows.net) is part
# of it and stays, unless it is a number of 3 digits or more ending a lower-case name (job-123;
# ORA-00942 stays), or one of the names each run gives anew: py4j's object ids (o123.save), a
# Spark part file's number (part-00007-…) and an EC2 host's address (ip-10-0-1-23.ec2.internal).
# Drain merges such a token within one log, where it varies, but a failure line seen once in
# each run would otherwise be a template of its own in each.
_HEX = r"[0-9a-fA-F]"
_MASK = re.compile(
    # Spark's spark-<uuid> and blockmgr-<uuid> directories and part-00000-<uuid>-c000 files
    # are named anew by each run.
    r"(?<![A-Za-z0-9])(?:"
    rf"{_HEX}{{8}}(?:-{_HEX}{{4}}){{3}}-{_HEX}{{12}}(?![A-Za-z0-9])"
    r"|(?<![.\-])(?:"
    rf"(?=[a-fA-F]*\d){_HEX}{{8,}}(?!\w)"  # a hex id (request id, commit) with a digit
    # numbers, versions, IPs and ports, dates, times, 120ms, 0x7f3a; not the punctuation
    # after one ("offset 42: timed out" keeps its colon, as "offset 12345678: …" does)
    r"|[-+]?\d(?:[\w.:-]*\w)?"
    r"))"
    # and an id's number at the end of a lower-case name: job-123, attempt-1042 (3 digits or
    # more, so sql-prod-01 and executor-7 stay; an upper-case code stays: ORA-00942, HIVE-123)
    r"|(?<=[a-z]-)\d{3,}(?![\w\-]|\.\w)"
    # py4j's object ids: "An error occurred while calling o123.save."
    r"|(?<=(?<![\w$.-])o)\d+(?=\.[A-Za-z_])"
    # a Spark part file's number: part-00007-<uuid>-c000.snappy.parquet, part-00001.parquet
    r"|(?<=(?<![\w-])part-)\d+(?=[-.])"
    # an EC2 host's name: ip-10-0-1-23, ip-10-0-1-23.ec2.internal
    r"|(?<=(?<![\w-])ip-)\d{1,3}(?:-\d{1,3}){3}(?![\w-])"
)
_JAVA_EXC = re.compile(
    # A name starts a word (not inside one): read from every letter of a long word, the search
    # was quadratic (a 64 KB line took seconds).
    r"(?<![\w$])"
    r"(?P<type>(?:[a-zA-Z_$][\w$]*\.){1,12}[A-Z][\w$]*(?:Exception|Error|Throwable|Failure))"
    # A message ends where the next exception starts, even at once (a wrapper's message is
    # its cause: "java.lang.RuntimeException: java.io.IOException: disk full").
    r"(?::\s?(?P<msg>.*?))?(?=(?::\s|\s|(?<=:\s))(?:[a-zA-Z_$][\w$]*\.){1,12}[A-Z][\w$]*"
    r"(?:Exception|Error|Throwable|Failure)\b|$)"
)
# The first part of a JVM exception's name (java.io.IOException, org.apache.spark.SparkException,
# com.microsoft.sqlserver.jdbc.SQLServerException, scala.MatchError, io.delta..., software.amazon
# .awssdk...). A dotted exception alone on its line (no stack frame, no `Caused by:`) whose name
# starts otherwise in lower case is a Python one: psycopg2.OperationalError,
# sqlalchemy.exc.OperationalError, airflow.exceptions.AirflowException.
_JVM_PACKAGES = frozenset(
    {
        "java",
        "javax",
        "jakarta",
        "scala",
        "org",
        "com",
        "io",
        "net",
        "sun",
        "jdk",
        "kotlin",
        "akka",
        "software",
    }
)
_JAVA_FRAME = re.compile(r"\s*(?:at\s+[\w$.<>/]+\(|\.\.\.\s\d+\s+(?:more|common frames))")
_CAUSED_BY = re.compile(r"\s*(?:Caused by|Suppressed):\s*(?P<rest>.*)")
_PY_TRACEBACK = "Traceback (most recent call last):"
_PY_EXC_LINE = re.compile(r"(?P<type>[A-Za-z_][\w.]{0,200})(?::\s?(?P<msg>.*))?$")
_PY_CHAIN_LINES = (
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
)
_PY_FRAME = re.compile(r'\s+File "|\s{2,}\S|\s+\^')
# An exception group's traceback (Python 3.11+, asyncio's TaskGroup): each line of it after
# the first behind a bar, each sub-exception's traceback between edges (``+-+---- 1 ----``).
_PY_GROUP_BAR = re.compile(r"\s*\| ?")
_PY_GROUP_EDGE = re.compile(r"\s*\+[-+]")
_ERROR_LEVELS = frozenset({"ERROR", "FATAL"})
# Records below WARN: an exception logged in one was handled (a retry, a fallback), not the
# failure (Hadoop's "INFO RetryInvocationHandler: java.net.ConnectException: ... Trying to
# failover"): it is never the failure by itself.
_QUIET_LEVELS = frozenset({"TRACE", "DEBUG", "INFO"})
# The levels a line of a program's output carries over to the record a task logged it as.
_LOUD_LEVELS = frozenset({"WARN", "ERROR", "FATAL"})
# The formats of Java loggers' lines (log4j, Spark's): no Python traceback is one of their
# records' exceptions (`LogMiner._record_level`).
_JAVA_LOG_FORMATS = frozenset({"spark-log4j", "log4j"})
# How the JVM prints an exception nothing caught (the thread died of it), on stderr, after
# whatever record was logged last: never that record's exception.
_UNCAUGHT_JAVA = 'Exception in thread "'
# Lines another thread may log into a Java stack trace (a log record of its own between two
# frames) before the trace's next frames or `Caused by:` are no longer read as its own.
INTERLEAVED_LINES = 5


@dataclass(slots=True)
class Excerpt:
    file: str
    line: int
    time: datetime | None
    level: str | None
    text: str  # the line, cut to EXCERPT_CHARS
    pattern: _Pattern | None = None  # the line's (still counted after the miner let it go)
    # The line up to CAUSE_CHARS when it is longer than ``text``; kept on the failure and the
    # first error only (bounded memory), never in the report.
    full_text: str = ""

    @property
    def cause(self) -> str:
        """The line as the cause is read from it: whole up to CAUSE_CHARS where kept."""
        return self.full_text or self.text

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "time": utc_text(self.time) if self.time else None,
            "level": self.level,
            "text": self.text,
        }


@dataclass(slots=True)
class ExceptionLink:
    type: str
    message: str  # cut to EXCEPTION_CHARS
    line: int

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, "message": self.message, "line": self.line}


def _python_exception(name: str) -> bool:
    """Whether a dotted exception name read alone on its line is a Python one (see
    _JVM_PACKAGES)."""
    package = name.partition(".")[0]
    return package[:1].islower() and package not in _JVM_PACKAGES


@dataclass(slots=True)
class ExceptionChain:
    """Links from the outermost exception to the innermost cause. A chain that repeats (the
    same links in the same file: a task failing on each retry) is kept once, as its last
    occurrence, with ``count`` and where it was first seen."""

    file: str
    line: int
    time: datetime | None
    language: str  # "java" (Java/Scala/Spark) or "python"
    text: str  # the line that starts it (for Python, the final exception line)
    links: list[ExceptionLink] = field(default_factory=list)
    # The innermost exception's message up to CAUSE_CHARS (its link keeps EXCEPTION_CHARS).
    cause_message: str = ""
    count: int = 1
    first_line: int = 0  # where it was first seen (0: here)
    first_time: datetime | None = None
    # The level of the log record the exception belongs to (logged on that record's line or
    # on the line after it), None when it stands outside any (printed to stderr).
    level: str | None = None

    @property
    def innermost(self) -> ExceptionLink:
        return self.links[-1]

    def innermost_text(self) -> str:
        """``Type: message`` of the innermost cause, its message whole up to CAUSE_CHARS."""
        inner = self.innermost
        message = self.cause_message if len(self.cause_message) > len(inner.message) else ""
        return f"{inner.type}: {message or inner.message}".rstrip(": ")

    def key(self) -> tuple[str, str, tuple[tuple[str, str], ...]]:
        """What makes two chains the same: the file, the language and the links' types and
        messages (not the lines, nor the text around them: "Lost task 0.0 ... (TID 3)")."""
        return (
            self.file,
            self.language,
            tuple((link.type, link.message) for link in self.links),
        )

    def as_dict(self) -> dict[str, Any]:
        first_time = self.first_time if self.first_line else self.time
        return {
            "file": self.file,
            "line": self.line,
            "time": utc_text(self.time) if self.time else None,
            "language": self.language,
            "text": self.text[:EXCERPT_CHARS],
            "links": [link.as_dict() for link in self.links],
            "innermost": self.innermost.as_dict(),
            "count": self.count,
            "first_line": self.first_line or self.line,
            "first_time": utc_text(first_time) if first_time else None,
        }


@dataclass(slots=True)
class _Pattern:
    id: int
    template: str
    count: int = 0
    first: Excerpt | None = None  # a copy of its first line's excerpt (no ``pattern``)
    first_time: datetime | None = None
    last_time: datetime | None = None
    levels: Counter[str] = field(default_factory=Counter)

    def is_error(self) -> bool:
        return bool(self.levels.keys() & _ERROR_LEVELS)

    def is_rare_warning(self) -> bool:
        return (
            self.first is not None
            and self.count <= RARE_MAX_COUNT
            and bool(self.levels.keys() & {"WARN", "ERROR", "FATAL"})
        )


def _by_count(patterns: Iterable[_Pattern]) -> list[_Pattern]:
    """Most frequent first; among equal counts, the first created first."""
    return sorted(patterns, key=lambda p: (-p.count, p.id))


def _worth_reporting(patterns: Iterable[_Pattern]) -> list[_Pattern]:
    """The patterns ``LogMiner._top_patterns`` may choose from these, whatever others join
    them: the ``MAX_PATTERNS_REPORTED`` most frequent and the 10 most frequent errors."""
    by_count = _by_count(patterns)
    errors = [p for p in by_count if p.is_error()][:10]
    return _by_count({p.id: p for p in by_count[:MAX_PATTERNS_REPORTED] + errors}.values())


class _Clusters(LogClusterCache):
    """Drain's clusters by id, the least recently used evicted past ``maxsize``;
    ``on_evict(cluster_id)`` hears of each eviction. ``live`` is the same clusters in a plain
    dict, read without the cache's bookkeeping where a lookup must not count as a use."""

    def __init__(self, maxsize: int, on_evict: Callable[[int], None]) -> None:
        super().__init__(maxsize=maxsize)
        self._on_evict = on_evict
        self.live: dict[int, LogCluster] = {}

    def __setitem__(self, cluster_id: int, cluster: LogCluster) -> None:
        super().__setitem__(cluster_id, cluster)
        self.live[cluster_id] = cluster

    def __delitem__(self, cluster_id: int) -> None:
        super().__delitem__(cluster_id)
        del self.live[cluster_id]

    def __contains__(self, cluster_id: object) -> bool:
        return cluster_id in self.live

    def popitem(self) -> tuple[int, LogCluster]:
        cluster_id, cluster = super().popitem()
        self._on_evict(cluster_id)
        return cluster_id, cluster


class _Drain(Drain):
    """Drain as ``drain3.TemplateMiner`` runs it by default (depth 4, similarity 0.4, 100
    children, no masking of its own), with a bounded cost per line: at most
    ``MAX_CLUSTERS`` clusters (LRU), and a line is compared with at most
    ``MAX_LEAF_CLUSTERS`` clusters of its leaf, the most recently matched or created ones
    (Drain compares it with all of them: thousands on a log whose lines are all distinct).
    Up to that many, it picks the cluster Drain picks (same similarity, same tie-break)."""

    def __init__(self, on_evict: Callable[[int], None]) -> None:
        super().__init__(
            depth=4,
            sim_th=0.4,
            max_children=100,
            max_clusters=MAX_CLUSTERS,
            param_str="<*>",
            parametrize_numeric_tokens=True,
        )
        self.id_to_cluster = _Clusters(MAX_CLUSTERS, on_evict)

    def fast_match(
        self, cluster_ids: Sequence[int], tokens: list[str], sim_th: float, include_params: bool
    ) -> LogCluster | None:
        if include_params or not tokens or not isinstance(cluster_ids, list):
            return super().fast_match(cluster_ids, tokens, sim_th, include_params)
        # ``cluster_ids`` is the leaf's own list, kept most recently used last.
        if len(cluster_ids) > MAX_LEAF_CLUSTERS:
            del cluster_ids[: len(cluster_ids) - MAX_LEAF_CLUSTERS]
        param = self.param_str
        # Drain's similarity: the template's tokens other than ``<*>`` equal to the line's,
        # over the token count. A space is never a token: a ``<*>`` in the line matches none.
        line = [" " if token == param else token for token in tokens]
        size = len(line)
        get = self.id_to_cluster.live.get
        # The most similar (then the one with more ``<*>``, then the oldest), if similar enough:
        # one under ``sim_th`` is never the answer, so it is not weighed.
        best: LogCluster | None = None
        best_sim = sim_th
        best_params = -1
        for cluster_id in sorted(cluster_ids):  # Drain's order: the oldest first
            cluster = get(cluster_id)
            if cluster is None:
                continue
            template = cluster.log_template_tokens
            sim = sum(map(eq, template, line)) / size
            if sim < best_sim:
                continue
            params = template.count(param)
            if sim > best_sim or params > best_params:
                best, best_sim, best_params = cluster, sim, params
        if best is None:
            return None
        if cluster_ids[-1] != best.cluster_id:
            cluster_ids.remove(best.cluster_id)
            cluster_ids.append(best.cluster_id)
        return best

    def touch(self, cluster_id: int) -> None:
        """A line matched the cluster without Drain (the miner's cache of masked lines): used,
        as a match in ``fast_match`` uses it, in the LRU and in its leaf (else a pattern seen
        only through the cache leaves its leaf's most recent ``MAX_LEAF_CLUSTERS`` and a new
        variant of it starts a pattern of its own)."""
        cluster = self.id_to_cluster[cluster_id]
        if cluster is None:
            return
        leaf = self._leaf(cluster.log_template_tokens)
        if leaf is None:
            return
        ids = leaf.cluster_ids
        if ids and ids[-1] == cluster_id:
            return
        if cluster_id in ids:
            ids.remove(cluster_id)
        ids.append(cluster_id)
        if len(ids) > MAX_LEAF_CLUSTERS:
            del ids[: len(ids) - MAX_LEAF_CLUSTERS]

    def _leaf(self, tokens: Sequence[str]) -> Node | None:
        """The node ``tree_search`` compares a line of these tokens in."""
        node = self.root_node.key_to_child_node.get(str(len(tokens)))
        depth = 1
        for token in tokens:
            if node is None or depth >= self.max_node_depth or depth == len(tokens):
                break
            children = node.key_to_child_node
            node = children.get(token) or children.get(self.param_str)
            depth += 1
        return node


@dataclass
class MiningResult:
    files: list[str]
    formats: dict[str, int]
    lines: int
    text_bytes: int
    levels: dict[str, int]
    start: datetime | None
    end: datetime | None
    patterns: list[dict[str, Any]]
    pattern_count: int
    first_error: Excerpt | None
    failure: Excerpt | None
    burst: list[Excerpt]
    failure_context: list[Excerpt]
    chains: list[ExceptionChain]
    innermost_cause: ExceptionChain | None
    exception_types: dict[str, int]
    # Rare lines among the CONTEXT_BEFORE lines before the failure and the CONTEXT_AFTER after.
    rare_before_failure: list[Excerpt]
    rare_after_failure: list[Excerpt]
    rare_warnings: list[Excerpt]
    timeline: dict[str, Any]
    lines_cut: int = 0  # lines longer than the line limit, read cut to their start and end
    # The failure is an exception logged at WARN: the log holds no error-level line, nor an
    # exception outside a record logged at WARN or below.
    warnings_only: bool = False

    def as_dict(self) -> dict[str, Any]:
        def many(items: Iterable[Excerpt]) -> list[dict[str, Any]]:
            return [item.as_dict() for item in items]

        return {
            "files": self.files,
            "formats": self.formats,
            "lines": self.lines,
            "bytes": self.text_bytes,
            "levels": self.levels,
            "start": utc_text(self.start) if self.start else None,
            "end": utc_text(self.end) if self.end else None,
            "patterns": self.patterns,
            "pattern_count": self.pattern_count,
            "first_error": self.first_error.as_dict() if self.first_error else None,
            "failure": self.failure.as_dict() if self.failure else None,
            "burst": many(self.burst),
            "failure_context": many(self.failure_context),
            "chains": [chain.as_dict() for chain in self.chains],
            "innermost_cause": self.innermost_cause.as_dict() if self.innermost_cause else None,
            "exception_types": self.exception_types,
            "rare_before_failure": many(self.rare_before_failure),
            "rare_after_failure": many(self.rare_after_failure),
            "rare_warnings": many(self.rare_warnings),
            "timeline": self.timeline,
            "lines_cut": self.lines_cut,
        }

    @property
    def found_error(self) -> bool:
        """Whether the log holds an error or an exception at all."""
        return self.failure is not None or self.innermost_cause is not None

    def cause_text(self) -> str:
        """The text that best names the cause: the innermost exception, the failure line and
        the first error line, each whole up to CAUSE_CHARS (not cut like the excerpts shown).
        Empty when the log holds no error and no exception."""
        parts: list[str] = []
        if self.innermost_cause is not None:
            parts.append(self.innermost_cause.innermost_text())
        for excerpt in (self.failure, self.first_error):
            if excerpt is not None and excerpt.cause not in parts:
                parts.append(excerpt.cause)
        return "\n".join(parts)


class LogMiner:
    """Feed it lines (``add``), then ``result()``. Memory stays bounded whatever the input."""

    def __init__(self) -> None:
        self._drain = _Drain(on_evict=self._retire)
        self._parser = LineParser()
        self._carried_parser = LineParser()  # the lines of programs' output (``_carried``)
        self._cache: dict[str, int] = {}
        self._cache_chars = 0
        # The live patterns (those Drain keeps), by cluster id; of those it let go, what the
        # report may need: the most frequent, and the earliest rare warnings' first lines.
        self._patterns: dict[int, _Pattern] = {}
        self._retired: list[_Pattern] = []
        self._retired_rare: list[Excerpt] = []
        self._pattern_total = 0
        self._formats: Counter[str] = Counter()
        self._levels: Counter[str] = Counter()
        self._files: list[str] = []
        self.lines = 0
        self._start: datetime | None = None
        self._end: datetime | None = None
        self._time: datetime | None = None
        self._level: str | None = None
        self._header_line = 0  # the number of the last line with a header, in this file
        self._header_format = ""  # that header's format (``ParsedLine.format``)
        # Timeline: counts per (bucket start in epoch seconds, level); buckets widen as needed.
        self._bucket_seconds = 60
        self._timeline: Counter[tuple[int, str]] = Counter()
        # Errors.
        self._first_error: Excerpt | None = None
        self._failure: Excerpt | None = None
        # Whether the failure so far is an exception logged at WARN: no error shown yet.
        self._failure_warned = False
        self._event_level: str | None = None  # the record level of this line's exception
        self._recent_errors: deque[Excerpt] = deque(maxlen=200)
        self._context: deque[Excerpt] = deque(maxlen=CONTEXT_BEFORE)
        self._failure_context: deque[Excerpt] = deque(maxlen=CONTEXT_BEFORE + CONTEXT_AFTER)
        self._after_failure = 0
        # The last line if it was an error, with the lines that continued its message so far
        # (dbt writes an error's detail on the indented lines after it), and its format.
        self._continued: Excerpt | None = None
        self._continued_lines = 0
        self._continued_format = ""
        self._continued_carried = False  # that error is a line a task logged of its program's
        # Exceptions.
        self._chains: deque[ExceptionChain] = deque(maxlen=MAX_CHAINS_KEPT)
        self._first_chain: ExceptionChain | None = None
        self._exception_types: Counter[str] = Counter()
        self._java: ExceptionChain | None = None
        self._java_trace_lines = 0  # its stack frames and `Caused by:` lines
        # A stack trace cut by another record: resumed if its frames go on within
        # INTERLEAVED_LINES lines (``_interrupted_lines`` counts them), else kept as it is.
        self._interrupted: ExceptionChain | None = None
        self._interrupted_trace_lines = 0
        self._interrupted_lines = 0
        self._py: ExceptionChain | None = None
        self._py_state = ""  # "frames", "after", "chained"
        self._py_pending: list[ExceptionLink] = []
        self._py_message_lines = 0  # lines after the exception line that continue its message
        # Of a traceback printed inside records (``_record_source``), the source of its first
        # line; "" for one printed as it is.
        self._py_embedded = ""
        self._in_traceback = False  # the current line is part of a Python traceback's frames
        self._unframed = ""  # the current line without an exception group's bar

    # --- feeding -------------------------------------------------------------------------
    def add(self, line: LogLine) -> None:
        if not self._files or self._files[-1] != line.file:
            self._end_chains()
            self._files.append(line.file)
            self._level = None
            self._header_line = 0
        self.lines += 1
        parsed = self._parser.parse(line.text)
        carried = self._carried(parsed)
        raised = False
        if carried is not None and carried.header and carried.level in _LOUD_LEVELS:
            parsed = replace(parsed, level=carried.level)
            raised = True
        if parsed.header:
            self._formats[parsed.format] += 1
            if parsed.time is not None:
                self._time = parsed.time
                if self._start is None or parsed.time < self._start:
                    self._start = parsed.time
                if self._end is None or parsed.time > self._end:
                    self._end = parsed.time
            self._level = parsed.level
            self._header_line = line.number
            self._header_format = parsed.format
            level_name = parsed.level or "OTHER"
            self._levels[level_name] += 1
            if parsed.time is not None:
                self._count_timeline(parsed.time, level_name)
        self._event_level = None
        is_error = self._track_exceptions(line, parsed)
        if self._in_traceback or is_frame(line.text):
            return
        excerpt = Excerpt(
            line.file,
            line.number,
            self._time,
            parsed.level if parsed.header else None,
            # A JSON record is shown as the log line it stands for, not as its JSON.
            (parsed.shown or line.text)[:EXCERPT_CHARS],
        )
        excerpt.pattern = self._mine(parsed.message if parsed.header else self._unframed, excerpt)
        warned = False
        if parsed.header and parsed.level in _ERROR_LEVELS:
            is_error = True
        elif is_error and self._event_level in _QUIET_LEVELS:
            # The exception of a record logged at INFO or below: handled, not an error.
            is_error = False
        elif is_error and self._event_level == "WARN":
            # The exception of a record logged at WARN: the failure only while the log has
            # shown no error (Spark logs an executor's lost task at WARN), never over one.
            warned = True
            is_error = self._failure is None or self._failure_warned
        if is_error:
            self._error(excerpt, line.text, warned=warned)
        elif self._after_failure > 0:
            self._failure_context.append(excerpt)
            self._after_failure -= 1
        self._context.append(excerpt)
        # The lines after a program's error that the task logged go on with it as the
        # program's own would (dbt's indented detail of an error).
        follow = carried if carried is not None and (raised or self._continued_carried) else parsed
        if is_error:
            self._continued_carried = raised
        self._follow_message(follow, excerpt if is_error else None)

    def _carried(self, parsed: ParsedLine) -> ParsedLine | None:
        """The line of a program's output an Airflow task logged as a record of its own
        (``{subprocess.py:93} INFO - 03:14:54  Database Error in model …``, ``{spark_submit.py}
        INFO - 24/05/01 10:00:01 ERROR …``), parsed as that program's; None for any other line.
        Only a message starting with a digit (a time, a date) or indented (the detail after
        an error) is read: most records are neither."""
        if not parsed.header or parsed.format != "airflow" or parsed.level not in _QUIET_LEVELS:
            return None
        first = parsed.message[:1]
        if not (first.isdigit() or first in (" ", "\t")):
            return None
        return self._carried_parser.parse(parsed.message)

    def _follow_message(self, parsed: ParsedLine, error: Excerpt | None) -> None:
        """An error's message continued on the lines after it (``ParsedLine.continues``, up to
        PY_MESSAGE_LINES) is part of its cause: dbt's "Database Error in model x" names the
        missing relation on the next line. From dbt 1.5 on, those lines have no header: after
        a dbt error, an indented line without one goes on with it too."""
        if error is not None:
            self._continued, self._continued_lines = error, 0
            self._continued_format = parsed.format
        elif self._continued is not None and (
            parsed.continues
            or (
                not parsed.header
                and self._continued_format in DBT_FORMATS
                and parsed.message[:1] in (" ", "\t")
            )
        ):
            if self._continued_lines < PY_MESSAGE_LINES:
                self._continued_lines += 1
                cause = f"{self._continued.cause}\n{parsed.message.strip()}"
                self._continued.full_text = cause[:CAUSE_CHARS]
        else:
            self._continued = None

    def _mine(self, message: str, excerpt: Excerpt) -> _Pattern | None:
        masked = _MASK.sub("<*>", message.strip()[:MINE_CHARS])
        if not masked:
            return None
        pattern: _Pattern | None = None
        cluster_id = self._cache.get(masked)
        if cluster_id is not None:
            pattern = self._patterns.get(cluster_id)
            if pattern is not None:
                # Used, as if Drain had matched it: a frequent pattern is never the one let go.
                self._drain.touch(cluster_id)
        if pattern is None:
            cluster, change = self._drain.add_log_message(masked)
            cluster_id = cluster.cluster_id
            pattern = self._patterns.get(cluster_id)
            if pattern is None:
                pattern = self._patterns[cluster_id] = _Pattern(cluster_id, cluster.get_template())
                self._pattern_total += 1
            elif change != "none":
                pattern.template = cluster.get_template()
            if masked not in self._cache:
                if len(self._cache) >= _CACHE_MAX or self._cache_chars > _CACHE_CHARS:
                    self._cache.clear()
                    self._cache_chars = 0
                self._cache_chars += len(masked)
            self._cache[masked] = cluster_id
        pattern.count += 1
        if pattern.first is None:
            pattern.first = Excerpt(
                excerpt.file, excerpt.line, excerpt.time, excerpt.level, excerpt.text
            )
        pattern.levels[excerpt.level or "OTHER"] += 1
        if excerpt.time is not None:
            if pattern.first_time is None:
                pattern.first_time = excerpt.time
            pattern.last_time = excerpt.time
        return pattern

    def _retire(self, cluster_id: int) -> None:
        """Drain let a cluster go: keep of its pattern what the report may still need."""
        pattern = self._patterns.pop(cluster_id, None)
        if pattern is None:
            return
        if pattern.is_rare_warning() and pattern.first is not None:
            self._retired_rare.append(pattern.first)
            if len(self._retired_rare) > 2 * MAX_RARE:
                self._retired_rare.sort(key=lambda e: (e.file, e.line))
                del self._retired_rare[MAX_RARE:]
        self._retired.append(pattern)
        if len(self._retired) > 4 * MAX_PATTERNS_REPORTED:
            self._retired = _worth_reporting(self._retired)

    def _count_timeline(self, when: datetime, level: str) -> None:
        epoch = int(when.timestamp())
        self._timeline[(epoch - epoch % self._bucket_seconds, level)] += 1
        if len(self._timeline) > 20_000:  # a log spanning weeks: coarser buckets
            self._bucket_seconds *= 4
            coarse: Counter[tuple[int, str]] = Counter()
            for (start, name), count in self._timeline.items():
                coarse[(start - start % self._bucket_seconds, name)] += count
            self._timeline = coarse

    def _error(self, excerpt: Excerpt, text: str, *, warned: bool = False) -> None:
        # The whole line (to CAUSE_CHARS) stays on the failure and the first error only: the
        # line as it is written (a JSON record's JSON) when it is shown otherwise.
        excerpt.full_text = text[:CAUSE_CHARS] if text != excerpt.text else ""
        if self._failure_warned and not warned:
            # The first error: the warnings before it were the failure only until one came.
            if self._first_error is not None:
                self._first_error.full_text = ""
            self._first_error = None
            self._recent_errors.clear()
        self._failure_warned = warned
        previous = self._failure
        if previous is not None and previous is not self._first_error:
            previous.full_text = ""
        if self._first_error is None:
            self._first_error = excerpt
        self._failure = excerpt
        self._recent_errors.append(excerpt)
        if self._after_failure == 0:
            # Lines came since the last error that the window no longer took: start it again
            # from what led up to this error.
            self._failure_context = deque(self._context, maxlen=CONTEXT_BEFORE + CONTEXT_AFTER)
        self._failure_context.append(excerpt)
        self._after_failure = CONTEXT_AFTER

    # --- exception chains ----------------------------------------------------------------
    def _track_exceptions(self, line: LogLine, parsed: ParsedLine) -> bool:
        """Follow Java and Python exception output; True when this line is an error event: an
        exception (the line that ends a Python traceback, a Java exception line) that is not
        part of a record already logged at ERROR (whose header line is the event then)."""
        text = line.text
        stripped = text.strip()
        self._in_traceback = False
        bar = _PY_GROUP_BAR.match(text)
        if bar is not None and (self._py is not None or stripped.endswith(_PY_TRACEBACK)):
            # Read as the traceback line it frames: each sub-exception is a chain of its own.
            text = text[bar.end() :]
            stripped = text.strip()
        elif self._py is not None and _PY_GROUP_EDGE.match(text):
            self._in_traceback = True
            return False
        self._unframed = text
        # A traceback a task's program printed, which the task logs a line a record (Airflow's
        # BashOperator: "[ts] {subprocess.py:93} INFO - Traceback …"): its lines are read from
        # the records' messages while they come from the logger that began it.
        embedded = (
            self._py is not None
            and parsed.header
            and bool(self._py_embedded)
            and _record_source(text, parsed.message) == self._py_embedded
        )
        if embedded:
            text = parsed.message
            stripped = text.strip()
        # Python tracebacks.
        if stripped == _PY_TRACEBACK or stripped.endswith(_PY_TRACEBACK):
            if self._py is None or self._py_state != "chained":
                self._end_interrupted()
                self._end_py()
                self._py = ExceptionChain(line.file, line.number, self._time, "python", text)
                self._py.level = self._record_level(line, python=True)
                self._py_embedded = (
                    _record_source(text, parsed.message)
                    if parsed.header and parsed.message.strip() == _PY_TRACEBACK
                    else ""
                )
            self._py_state = "frames"
            self._in_traceback = True
            return False
        if self._py is not None:
            if self._py_state == "frames":
                if _PY_FRAME.match(text) or not stripped:
                    self._in_traceback = True
                    return False
                match = _PY_EXC_LINE.match(stripped)
                if match and (embedded or not parsed.header):
                    message = match["msg"] or ""
                    link = ExceptionLink(match["type"], message[:EXCEPTION_CHARS], line.number)
                    if not self._py_pending:  # Python prints the innermost cause first
                        self._py.cause_message = message[:CAUSE_CHARS]
                    self._py_pending.append(link)
                    self._py_state = "after"
                    self._py_message_lines = 0
                    self._event_level = self._py.level
                    return self._level not in _ERROR_LEVELS
                self._end_py()
            elif self._py_state == "after":
                if not stripped:
                    return False
                if stripped in _PY_CHAIN_LINES:
                    self._py_state = "chained"
                    return False
                if (embedded or not parsed.header) and self._py_message_lines < PY_MESSAGE_LINES:
                    # The rest of a multi-line message (psycopg2's "\tThis probably means
                    # ...", SQLAlchemy's "[SQL: ...]"): the chain may still go on after it.
                    # Still read below: Py4JJavaError's message is a Java exception.
                    self._py_message_lines += 1
                    if len(self._py_pending) == 1:
                        # The innermost cause's: classified and quoted with it (Snowflake's
                        # "SQL compilation error:" names the missing object on the next line).
                        cause = f"{self._py.cause_message}\n{stripped}"
                        self._py.cause_message = cause[:CAUSE_CHARS]
                else:
                    self._end_py()
            elif self._py_state == "chained":
                if not stripped:
                    return False
                self._end_py()
        # Java / Scala / Spark.
        if self._java is None and self._interrupted is not None:
            if _JAVA_FRAME.match(text) or _CAUSED_BY.match(text):
                self._java, self._interrupted = self._interrupted, None
                self._java_trace_lines = self._interrupted_trace_lines
            else:
                self._interrupted_lines += 1
                if self._interrupted_lines > INTERLEAVED_LINES:
                    self._end_interrupted()
        if self._java is not None:
            if _JAVA_FRAME.match(text) or stripped == "Driver stacktrace:":
                self._java_trace_lines += 1
                return False
            caused = _CAUSED_BY.match(text)
            if caused:
                self._java_trace_lines += 1
                self._add_java_links(self._java, caused["rest"], line.number)
                return False
            if parsed.header and self._java_trace_lines:
                # Another thread's record inside the trace: its frames may go on after it,
                # and the root cause is the last `Caused by:` of those.
                self._interrupted, self._java = self._java, None
                self._interrupted_trace_lines = self._java_trace_lines
                self._interrupted_lines = 1
            else:
                self._end_java()
        if "Exception" in text or "Error" in text or "Failure" in text or "Throwable" in text:
            body = parsed.message if parsed.header else text
            shown = parsed.shown or text
            chain = ExceptionChain(line.file, line.number, self._time, "java", shown)
            # The JVM's report of an exception nothing caught belongs to no record.
            chain.level = (
                None
                if not parsed.header and text.startswith(_UNCAUGHT_JAVA)
                else self._record_level(line)
            )
            self._add_java_links(chain, body, line.number)
            if chain.links:
                self._end_interrupted()
                self._java = chain
                self._java_trace_lines = 0
                self._event_level = chain.level
                return not parsed.header and self._level not in _ERROR_LEVELS
        return False

    def _record_level(self, line: LogLine, *, python: bool = False) -> str | None:
        """The level of the record an exception starting on this line belongs to: that of the
        line's header, or of the header on the line before (a record's exception is printed
        after its message), else None. A Python traceback (`python`) belongs to no record of
        a Java logger's (`_JAVA_LOG_FORMATS`): printed after a Spark driver's INFO line, it
        is the interpreter's, on stderr (an uncaught exception), not that record's."""
        if python and self._header_format in _JAVA_LOG_FORMATS:
            return None
        if self._header_line and line.number - self._header_line <= 1:
            return self._level
        return None

    def _add_java_links(self, chain: ExceptionChain, text: str, number: int) -> None:
        for match in _JAVA_EXC.finditer(text):
            message = (match["msg"] or "").strip()
            chain.links.append(ExceptionLink(match["type"], message[:EXCEPTION_CHARS], number))
            chain.cause_message = message[:CAUSE_CHARS]  # the last link is the innermost
            if len(chain.links) >= 50:
                break

    def _end_java(self) -> None:
        chain, self._java = self._java, None
        if chain is not None and chain.links:
            if self._java_trace_lines == 0 and _python_exception(chain.links[0].type):
                chain.language = "python"
            self._keep(chain)

    def _end_interrupted(self) -> None:
        chain, self._interrupted = self._interrupted, None
        if chain is not None:
            self._keep(chain)

    def _end_py(self) -> None:
        chain, self._py = self._py, None
        links, self._py_pending = self._py_pending, []
        self._py_state = ""
        self._py_embedded = ""
        if chain is not None and links:
            chain.text = f"{links[-1].type}: {links[-1].message}".rstrip(": ")
            # Python prints the original exception first: reverse to outermost → innermost.
            chain.links = list(reversed(links))
            self._keep(chain)

    def _end_chains(self) -> None:
        self._end_interrupted()
        self._end_java()
        self._end_py()

    def _keep(self, chain: ExceptionChain) -> None:
        if self._first_chain is None:
            self._first_chain = chain
        key = chain.key()
        for index, kept in enumerate(self._chains):
            if kept.key() == key:
                # The same chain again: kept once, as this (its latest) occurrence.
                del self._chains[index]
                chain.count = kept.count + 1
                chain.first_line = kept.first_line or kept.line
                chain.first_time = kept.first_time if kept.first_line else kept.time
                break
        self._chains.append(chain)
        if len(self._exception_types) < 1000 or chain.innermost.type in self._exception_types:
            self._exception_types[chain.innermost.type] += 1

    # --- the result ----------------------------------------------------------------------
    def result(self, *, text_bytes: int = 0) -> MiningResult:
        self._end_chains()
        failure = self._failure
        warnings_only = self._failure_warned
        unhandled = [c for c in self._chains if c.level not in _QUIET_LEVELS]
        if failure is None and unhandled:
            # No error-level line (a Spark OOM logged at WARN): the last exception is the
            # failure, unless it was logged at INFO or below.
            chain = unhandled[-1]
            warnings_only = chain.level == "WARN"
            failure = Excerpt(
                chain.file,
                chain.line,
                chain.time,
                None,
                chain.text[:EXCERPT_CHARS],
                full_text=chain.text[:CAUSE_CHARS] if len(chain.text) > EXCERPT_CHARS else "",
            )
        rare_before, rare_after = self._rare(failure)
        return MiningResult(
            files=list(self._files),
            formats=dict(self._formats.most_common()),
            lines=self.lines,
            text_bytes=text_bytes,
            levels={
                level: self._levels[level] for level in (*LEVELS, "OTHER") if self._levels[level]
            },
            start=self._start,
            end=self._end,
            patterns=self._top_patterns(),
            pattern_count=self._pattern_total,
            first_error=self._first_error or (failure if failure is not self._failure else None),
            failure=failure,
            burst=self._burst(failure),
            failure_context=self._context_excerpts(failure),
            chains=self._reported_chains(),
            innermost_cause=self._cause_chain(failure, warned=warnings_only),
            exception_types=dict(self._exception_types.most_common(20)),
            rare_before_failure=rare_before,
            rare_after_failure=rare_after,
            rare_warnings=self._rare_warnings(),
            timeline=self._timeline_buckets(),
            warnings_only=warnings_only,
        )

    def _top_patterns(self) -> list[dict[str, Any]]:
        def as_dict(pattern: _Pattern) -> dict[str, Any]:
            first = pattern.first
            return {
                "id": pattern.id,
                "template": pattern.template[:EXCERPT_CHARS],
                "count": pattern.count,
                "levels": dict(pattern.levels.most_common()),
                "first_time": utc_text(pattern.first_time) if pattern.first_time else None,
                "last_time": utc_text(pattern.last_time) if pattern.last_time else None,
                "first_line": {"file": first.file, "line": first.line} if first else None,
            }

        by_count = _by_count([*self._patterns.values(), *self._retired])
        errors = [p for p in by_count if p.is_error()]
        chosen: dict[int, _Pattern] = {}
        for pattern in errors[:10] + by_count:
            if len(chosen) >= MAX_PATTERNS_REPORTED:
                break
            chosen.setdefault(pattern.id, pattern)
        # The errors chosen first stay first among equal counts.
        return [as_dict(p) for p in sorted(chosen.values(), key=lambda p: -p.count)]

    def _burst(self, failure: Excerpt | None) -> list[Excerpt]:
        if failure is None:
            return []
        burst: list[Excerpt] = []
        for error in reversed(self._recent_errors):
            if error.file != failure.file:
                continue
            if not _within_burst_window(error.line, error.time, failure.line, failure.time):
                break
            burst.append(error)
        return list(reversed(burst[:MAX_BURST]))

    def _context_excerpts(self, failure: Excerpt | None) -> list[Excerpt]:
        if failure is None:
            return []
        context = list(self._failure_context)
        index = next((i for i, e in enumerate(context) if e is failure), len(context) - 1)
        return context[max(0, index - 10) : index + 6]

    def _reported_chains(self) -> list[ExceptionChain]:
        """The last 10 distinct chains, and the first one seen when it is not among them."""
        chains = list(self._chains)
        first = self._first_chain
        if first is not None and all(c.key() != first.key() for c in chains):
            chains.insert(0, first)
        return chains[-10:]

    def _cause_chain(self, failure: Excerpt | None, *, warned: bool) -> ExceptionChain | None:
        """The chain at (or last before) the failure; among chains near it, the deepest one,
        of those not logged at WARN when the failure is an error and any other is near (a
        warning's exception, a clean-up failing as the job shuts down, is not what failed).
        When its innermost message is only a wrapper's text (``states_no_cause``), the last
        earlier chain of its file (of the MAX_CHAINS_KEPT kept) whose message names a cause,
        if it is within the failure's burst window of the wrapper (BURST_WINDOW_SECONDS by
        their times, else BURST_WINDOW_LINES): a wrapper is logged as its cause propagates,
        moments after it, while an error long before (of an earlier run or retry written to
        the same file) is not what it wraps."""
        if not self._chains or failure is None:
            return None
        candidates = list(self._chains)
        near = [
            c
            for c in candidates
            if c.file == failure.file and failure.line - BURST_WINDOW_LINES <= c.line
        ]
        candidates = near or candidates
        if not warned:
            candidates = [c for c in candidates if c.level != "WARN"] or candidates
        chosen = max(reversed(candidates), key=lambda c: (len(c.links), c.line))
        if not _states_no_cause(chosen):
            return chosen
        # A wrapper whose innermost message names no cause (py4j's "An error occurred while
        # calling o123.jdbc." without "Caused by:" lines): the last earlier exception of the
        # same file that names one is what it wraps.
        earlier = [
            c
            for c in self._chains
            if c.file == chosen.file
            and c.line < chosen.line
            and _within_burst_window(c.line, c.time, chosen.line, chosen.time)
            and not _states_no_cause(c)
        ]
        return max(earlier, key=lambda c: c.line) if earlier else chosen

    def _rare(self, failure: Excerpt | None) -> tuple[list[Excerpt], list[Excerpt]]:
        """The rare lines before the failure (the last MAX_RARE) and after it (the first
        MAX_RARE), apart: a line logged after the failure may be its consequence, not its
        cause."""
        if failure is None:
            return [], []
        context = list(self._failure_context)
        at = next((i for i, e in enumerate(context) if e is failure), len(context))

        def rare(excerpts: list[Excerpt]) -> list[Excerpt]:
            return [
                e
                for e in excerpts
                if e.pattern is not None
                and e.pattern.count <= RARE_MAX_COUNT
                and e.level not in _ERROR_LEVELS
                and not _CAUSED_BY.match(e.text)
            ]

        return rare(context[:at])[-MAX_RARE:], rare(context[at + 1 :])[:MAX_RARE]

    def _rare_warnings(self) -> list[Excerpt]:
        """Warnings and errors whose pattern occurs at most ``RARE_MAX_COUNT`` times: a cause
        logged once long before the failure is often one of them."""
        rare = [p.first for p in self._patterns.values() if p.is_rare_warning() and p.first]
        return sorted(rare + self._retired_rare, key=lambda e: (e.file, e.line))[:MAX_RARE]

    def _timeline_buckets(self) -> dict[str, Any]:
        if not self._timeline or self._start is None or self._end is None:
            return {"bucket_seconds": 0, "levels": [], "buckets": []}
        first = min(start for start, _ in self._timeline)
        last = max(start for start, _ in self._timeline)
        width = self._bucket_seconds
        while (last - first) // width + 1 > TIMELINE_BUCKETS:
            width *= 2
        levels = [lv for lv in (*LEVELS, "OTHER") if any(k[1] == lv for k in self._timeline)]
        buckets: dict[int, Counter[str]] = {}
        for (start, level), count in self._timeline.items():
            key = first + (start - first) // width * width
            buckets.setdefault(key, Counter())[level] += count
        return {
            "bucket_seconds": width,
            "levels": levels,
            "buckets": [
                {
                    "start": datetime.fromtimestamp(key, UTC).isoformat(),
                    "counts": {lv: buckets.get(key, Counter())[lv] for lv in levels},
                }
                for key in range(first, last + 1, width)
            ],
        }


EXCEPTION_CHARS = 500


def _within_burst_window(
    earlier_line: int, earlier_time: datetime | None, line: int, time: datetime | None
) -> bool:
    """Whether an earlier line of the same file is close enough before another to be part of
    the same failure: BURST_WINDOW_SECONDS by their times when both have one, else
    BURST_WINDOW_LINES."""
    if time is not None and earlier_time is not None:
        return (time - earlier_time).total_seconds() <= BURST_WINDOW_SECONDS
    return line - earlier_line <= BURST_WINDOW_LINES


# What an Airflow operator raises when the program it ran exited non-zero (BashOperator,
# SparkSubmitOperator, SSHOperator): the exit code only. The program's own error is in its
# output, which the operator logged line by line before it.
_EXIT_CODE_ONLY = re.compile(
    r"(?:Bash command failed\. The command returned a non-zero exit code -?\d+"
    r"|Cannot execute: .*\. Error code is: -?\d+"
    r"|SSH operator error: exit status = -?\d+)\.?\s*",
    re.DOTALL,
)


def _states_no_cause(chain: ExceptionChain) -> bool:
    inner = chain.innermost
    message = chain.cause_message or inner.message
    return states_no_cause(message) or bool(_EXIT_CODE_ONLY.fullmatch(message))


_HEADER_TIME = re.compile(r"\d{2,4}[-/]\d\d[-/]\d\d[T ,]*\d\d:\d\d:\d\d(?:[.,]\d+)?")


def _record_source(text: str, message: str) -> str:
    """What a record's line says before its message, without its time: its level and logger
    (``{subprocess.py:93} INFO - ``), the same for each line a program printed."""
    head = text[: len(text) - len(message)] if message and text.endswith(message) else text
    return _HEADER_TIME.sub("", head, count=1)


def is_frame(text: str) -> bool:
    """A stack frame line (Java ``at ...``/``... 12 more`` or Python ``File "..."``): part of
    an exception, never mined as a pattern of its own."""
    return bool(_JAVA_FRAME.match(text)) or text.lstrip().startswith('File "')


def redacted_lines(lines: Iterable[LogLine], batch: int = REDACT_BATCH) -> Iterator[LogLine]:
    """The lines with secrets redacted (``LineRedactor``: a batch at a time, which is far
    cheaper than one ``redact`` call per line, with the same result). Batches overlap by twice
    ``CONTEXT_LINES``: the last ``CONTEXT_LINES`` of a batch are redacted with the next one,
    read after the ``CONTEXT_LINES`` before them, so a statement cut by a batch's end (its
    IDENTIFIED BY in one, its password in the next) is read whole."""
    redactor = LineRedactor()
    pending: list[LogLine] = []
    overlap = 2 * CONTEXT_LINES
    done = 0  # lines at the head of `pending` given out already (the next batch's context)

    def flush(held: int) -> Iterator[LogLine]:
        texts = redactor.redact([line.text for line in pending], held)
        last = len(pending) - held // 2
        for line, text in zip(pending[done:last], texts[done:last], strict=True):
            yield line if text is line.text else LogLine(line.file, line.number, text)

    for line in lines:
        pending.append(line)
        if len(pending) >= batch + overlap:
            yield from flush(overlap)
            del pending[: len(pending) - overlap]
            done = CONTEXT_LINES
    if pending:
        yield from flush(0)


def mine_lines(
    lines: Iterable[LogLine],
    *,
    on_progress: Callable[[int], None] | None = None,
    text_bytes: Callable[[], int] | None = None,
) -> MiningResult:
    """Redact, expand JSON documents and Airflow 3's exceptions, mine. ``on_progress(lines)``
    is called every ``PROGRESS_EVERY_LINES`` lines; it may raise to stop the work
    (cancellation)."""
    miner = LogMiner()
    for line in expand_error_details(expand_json_documents(iter(redacted_lines(lines)))):
        miner.add(line)
        if on_progress is not None and miner.lines % PROGRESS_EVERY_LINES == 0:
            on_progress(miner.lines)
    return miner.result(text_bytes=text_bytes() if text_bytes else 0)
