"""Reading the message: the innermost meaningful error inside what platforms wrap around it,
what a message says without the boilerplate many failures share (stack frames, traceback
headers, the platform's own log lines), excerpts of untrusted text that end at a word boundary,
and whether an explanation already carries what an error states (the names it gives, or most
of its words).

Platforms wrap the error that matters: ADF in JSON (`"message": "..."`, often escaped) and in
`Type=...,Message=...,Source=...` chains whose last link is the driver's own error; Spark in
"Job aborted due to stage failure ... most recent failure: Lost task ... (TID n): <error>";
JVM stacks in "Caused by:" and "nested exception is"; Python in tracebacks (the first exception
of a chain is its cause); ODBC in "[vendor][driver]" prefixes; Databricks in `state_message`
and "databricks_error_message: ...". `innermost_error` peels these layers one at a time until
none applies, keeping a layer only when what it exposes still says something. Pure Python.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

# Plain text for an excerpt: what `clean_value` keeps plus double quotes. Control and format
# characters are dropped (a bidi override could reorder what a responder reads); angle
# brackets, ampersands and pipes become spaces (`_SEPARATORS`). Backslashes, asterisks,
# brackets, braces, tildes, carets and backticks stay: a Windows path, a glob or a JSON path
# is quoted as the message gives it, and every renderer escapes the RCA for its own markup.
_UNSAFE_TEXT = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")
_SPACES = re.compile(r"\s+")
# Markup characters that separate words ("a&b", "x|y", "<module>") become spaces, not nothing.
_SEPARATORS = re.compile(r"[&|<>]")
_WORD = re.compile(r"\w")
_SENTENCE_END = re.compile(r"[.!?;](?=\s)")

EXCERPT_CHARS = 240
# Longer tokens (a generated path, an id, an attacker's padding) are shortened and marked.
TOKEN_CHARS = 80
_LONG_TOKEN = re.compile(rf"\S{{{TOKEN_CHARS + 1},}}")
_MAX_LAYERS = 8


def cut_at_boundary(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters; otherwise its longest prefix that ends at a
    sentence or word boundary, marked with "…". A single token longer than half the limit (a
    long path or id) is cut inside, and marked the same way."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    floor = limit // 2
    sentence = max((m.end() for m in _SENTENCE_END.finditer(head)), default=0)
    if sentence >= floor:
        return head[:sentence].rstrip() + " …"
    if not (_WORD.match(text[limit - 1]) and _WORD.match(head[-1])):
        return head.rstrip(" ,:;-") + "…"
    space = head.rfind(" ")
    if space >= floor:
        return head[:space].rstrip(" ,:;-") + "…"
    boundary = max((m.start() for m in re.finditer(r"\W", head)), default=-1)
    if boundary >= floor:
        return head[:boundary].rstrip(" ,:;-") + "…"
    return head + "…"


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """Plain-text excerpt of untrusted text, cut at a boundary and marked with "…" if cut."""
    plain = _UNSAFE_TEXT.sub("", _SPACES.sub(" ", _SEPARATORS.sub(" ", text))).strip(" ,:;-")
    if not _WORD.search(plain):
        return ""
    plain = _LONG_TOKEN.sub(lambda m: cut_at_boundary(m.group(0), TOKEN_CHARS), plain)
    return cut_at_boundary(plain, limit)


# --------------------------------------------------------------------------- layers

# What a wrapper says in place of the error it wraps.
_WRAPPER_TEXTS = (
    r"a database operation failed|failure happened on|an error occurred"
    r"|task failed with exception|operation returned an invalid status code '?\w+'?"
    r"|workload failed, see run output for details"
    r"|(?:see|check) (?:the )?inner exception|one or more errors occurred|job failed"
    # WCF's placeholder for a fault raised without a reason (Dataverse/Dynamics via ADF).
    r"|the creator of this fault did not specify a reason"
    r"|the operation failed"
)
_NOTHING_MORE = r"\b(?:[^.]{0,40}(?:more details|inner exception|for details))?\W*$"
# Texts that only say that something failed somewhere: a layer exposing one is not kept.
_EMPTY = re.compile(
    rf"^\W*(?:{_WRAPPER_TEXTS}"
    r"|exception|error|failed|failure|internal ?error|null|none"
    # A driver's empty detail slot ("Error message: Unknown." after Simba's HTTP status).
    r"|unknown"
    # A bare errno text under a layer that names the path ("Can't find SFTP path '/x'").
    rf"|no such file(?: or directory)?){_NOTHING_MORE}",
    re.IGNORECASE,
)
# An exception message that is only a wrapper's text: one of those above, or py4j's for a JVM
# exception raised by a call from Python, which names the call ("An error occurred while calling
# o123.jdbc.", "... calling z:org.x.Y.m."), not the cause. A name is read one dotted segment at
# a time (no class overlaps the next): linear.
_WRAPPER_ONLY = re.compile(
    rf"^\W*(?:(?:{_WRAPPER_TEXTS}){_NOTHING_MORE}"
    r"|an error occurred while calling [\w$:]{1,200}(?:\.[\w$]{1,200}){0,50}\.?\s*$)",
    re.IGNORECASE,
)
_MESSAGE_KEYS = (
    "databricks_error_message",
    "state_message",
    "error_message",
    "errormessage",
    "message",
    # OAuth 2.0 token endpoints: "error" is a code ("access_denied"), this says what happened.
    "error_description",
    "error",  # Databricks run output: "error" beside "error_trace"
)
# A run of escaping backslashes is read from its first one (`(?<!\\)`), not retried from each
# (quadratic on a long run).
_JSON_FIELD = re.compile(
    r"(?<!\\)\\*[\"'](?:databricks_error_message|state_message|error_message|errormessage|message"
    r"|error_description)"
    # A Python repr may split a long value into adjacent literals ('... any '\n  'more'), which
    # are read as one.
    r"\\*[\"']\s*:\s*(?:\\*\"((?:[^\"\\]|\\.){8,})|'((?:[^'\\]|\\.|'\s+'){8,})')",
    re.IGNORECASE,
)
_ADJACENT_LITERALS = re.compile(r"'\s+'")
_ADF_MESSAGE = re.compile(
    r"(?:\b|StorageExtended)Message=(.+?)(?=,Source=|,'{1,2}Type=|,\s*\}|'{1,2},?\s*$|$)", re.S
)
_SPARK_FAILURE = re.compile(
    r"most recent failure: Lost task [\d.]+ in stage [\d.]+ \(TID \d+[^)]*\)(?: \([^)]*\))?:"
    r"\s*([^\n]+)"
)
# Leading whitespace is matched within a line only (`[^\S\n]*`): a `\s*` that spans lines is
# retried from every line start of a long blank run, quadratic on untrusted text.
_CAUSED_BY = re.compile(r"(?:^|\n)[^\S\n]*Caused by:\s*([^\n]+)")
_NESTED = re.compile(r"nested exception is:?\s*([^\n]+)")
_EXCEPTION_LINE = re.compile(
    r"^[^\S\n]*(?::\s*)?("
    r"(?:[A-Za-z_][\w$]*\.)*[A-Za-z_]\w*(?i:error|exception|exit|timeout|interrupt|failure)"
    r"|(?:[a-z_][\w$]*\.)+[A-Z]\w+"  # a package-qualified class: psycopg2.errors.UniqueViolation
    r")(?:\[[\w.-]+\])?:[ \t]*(\S[^\n]*)$",
    re.MULTILINE,
)
_FRAME = re.compile(
    r"\s*(?:at |File \"|Traceback|\[SQL:|\(Background on|During handling|The above"
    r"|\[\d{4}-\d\d-\d\d)"
)
_CHAINED = re.compile(
    r"The above exception was the direct cause|During handling of the above exception"
)
_WRAPPER_PREFIX = re.compile(
    r"(?:job failed with error message|databricks_error_message:|internal error message:"
    r"|error message from [\w ]{1,40}?\s*:|error message:|error state: \w+, error message:"
    r"|Run result unavailable:|Job failed due to reason:|(?:^|\n)Details\s*\n"
    # EMR Serverless: "Job execution failed, please check complete logs ... ExitCode: 1. Last
    # few exceptions: IndentationError: unexpected indent".
    r"|last few exceptions:"
    # Confluent Cloud's managed connectors: "connector: The connector failed due to an
    # unexpected error. Contact our Support team ... errors_from_trace: Failed to open the Delta
    # Lake JDBC connection".
    r"|errors_from_trace:"
    r"|(?:^|\n)Description:)\s*(.+)",
    re.IGNORECASE | re.S,
)
_ADF_OPERATION = re.compile(
    r"^\s*(?:Operation on target|Activity) [^:\n]{1,120} failed:\s*(.+)", re.S
)
# SSIS prints each OLE DB record of a failure ("An OLE DB record is available.  Source: "...
# Native Client 11.0"  Hresult: 0x80004005  Description: "Invalid character value for cast
# specification"."): the last record is the driver's own error.
_OLEDB_RECORD = re.compile(
    r"An OLE DB record is available\.[^\S\n]{0,8}Source: \"[^\"\n]{0,120}\"[^\S\n]{0,8}"
    r"Hresult: 0x[0-9A-Fa-f]{8}[^\S\n]{0,8}Description: \"([^\"\n]{1,500})\""
)
_ODBC_PREFIX = re.compile(r"^\s*(?:\[[^\]\n]{1,80}\]\s*){2,}(.+)", re.S)
# JVM stack frames ("\tat com.x.Y.method(Y.java:12)") and "... 12 more" lines, with the blank
# lines after them.
_STACK_FRAME = re.compile(
    r"^[^\S\n]*(?:at [\w.$<>]+\([^)\n]*\)|\.\.\. \d+ more)\s*$\n?", re.MULTILINE
)
# A package prefix ("org.apache.spark.", "psycopg2.errors.") is dropped when an exception name
# follows it. Each run of package segments is matched once, whole (possessively), and the name
# after it checked in `_drop_package`: a pattern that backtracked to find the name would be
# retried from every segment of a long run ("a.a.a.…"), quadratic on untrusted text. A word that
# is not followed by a dot is consumed whole for the same reason ("a$a$a$…").
_PACKAGE_RUN = re.compile(r"\b(?:((?:[a-z_][\w$]*+\.)++)|[a-z_][\w$]*+)")
_EXCEPTION_NAME = re.compile(r"[A-Z]\w*(?:Exception|Error|Timeout|Failure|Exit|Interrupt)\b")
_ERRORS_MODULES = frozenset({"errors", "exceptions", "exc"})


def _drop_package(match: re.Match[str]) -> str:
    run = match.group(1)
    if not run:
        return match.group(0)
    end, text = match.end(), match.string
    if _EXCEPTION_NAME.match(text, end):
        return ""
    # "psycopg2.errors.UniqueViolation": a module of errors after at least one package.
    segments = run[:-1].split(".")
    after = text[end : end + 1]
    if len(segments) > 1 and segments[-1] in _ERRORS_MODULES and "A" <= after <= "Z":
        return ""
    return match.group(0)


def drop_packages(text: str) -> str:
    """`text` with the Java/Python package prefixes of exception names removed."""
    return _PACKAGE_RUN.sub(_drop_package, text)


def _meaningful(text: str) -> bool:
    return len(_WORD.findall(text)) >= 6 and not _EMPTY.match(text)


def states_no_cause(message: str) -> bool:
    """Whether an exception's message is only a wrapper's text that names no cause (py4j's "An
    error occurred while calling o123.jdbc.", "One or more errors occurred."). A bare "null" or
    "error" is not one: the exception's type may be the cause (NullPointerException: null)."""
    return bool(_WRAPPER_ONLY.match(message))


def _json_messages(value: Any) -> Iterator[str]:
    """Message-like string fields of parsed JSON, outermost first."""
    if isinstance(value, dict):
        lowered = {str(k).lower(): v for k, v in value.items()}
        for key in _MESSAGE_KEYS:
            found = lowered.get(key)
            if isinstance(found, str):
                yield found
        for child in value.values():
            yield from _json_messages(child)
    elif isinstance(value, list):
        for child in value:
            yield from _json_messages(child)


def _from_json(text: str) -> str:
    start = text.find("{")
    if start >= 0:
        try:
            parsed = json.loads(text[start : text.rfind("}") + 1])
        except (ValueError, RecursionError):  # not JSON, or nested past what json.loads reads
            parsed = None
        if parsed is not None:
            return next((m for m in _json_messages(parsed) if _meaningful(m)), "")
    # Truncated or escaped JSON: read the field with a regex and undo one level of escaping.
    for match in _JSON_FIELD.finditer(text):
        if match.group(2) is not None and match.group(2).rstrip().endswith(","):
            # A single-quoted value cut at a quote inside it ('message': 'ErrorCode=X,'Type=...):
            # what it wraps is read by the next layer.
            continue
        value = match.group(1) or _ADJACENT_LITERALS.sub("", match.group(2))
        for escaped, plain in (('\\"', '"'), ("\\r", " "), ("\\n", "\n"), ("\\t", " ")):
            value = value.replace(escaped, plain)
        value = value.replace("\\\\", "\\")
        if _meaningful(value):
            return value
    return ""


def _from_adf_chain(text: str) -> str:
    links = [m.group(1).strip() for m in _ADF_MESSAGE.finditer(text)]
    return next((link for link in reversed(links) if _meaningful(link)), "")


def _last(pattern: re.Pattern[str]) -> Callable[[str], str]:
    def read(text: str) -> str:
        found = [m.group(1) for m in pattern.finditer(text)]
        return next((f for f in reversed(found) if _meaningful(f)), "")

    return read


def _first(pattern: re.Pattern[str]) -> Callable[[str], str]:
    def read(text: str) -> str:
        match = pattern.search(text)
        return match.group(1) if match and _meaningful(match.group(1)) else ""

    return read


_LOG_LINE = re.compile(
    r"^[^\S\n]*\[(\d{4}-\d{2}-\d{2}[^\]\n]*)\]\s*(?:\{[^}\n]*\}\s*)?"
    r"(?:(DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL)\s+-\s+)?(.*)$",
    re.MULTILINE,
)
_LEVEL_IN_PREFIX = re.compile(r"\b(DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL)/")
_QUIET = {"DEBUG", "INFO"}


def _from_log_lines(text: str) -> str:
    """The warning and error lines of a timestamped log, without their prefixes. A log whose
    lines are all debug or info lines gives the lines printed without a timestamp (an error the
    task printed bare after "INFO - Executing <Task...>"), or else its info lines."""
    loud: list[str] = []
    quiet: list[str] = []
    for match in _LOG_LINE.finditer(text):
        level = match.group(2) or next(iter(_LEVEL_IN_PREFIX.findall(match.group(1))), "")
        line = match.group(3).strip()
        lines = quiet if level in _QUIET else loud
        if line and line not in lines and not _EMPTY.match(line):
            lines.append(line)
    bare: list[str] = []
    if quiet and not loud:
        for raw in text.splitlines():
            line = raw.strip()
            if line and not _LOG_LINE.match(raw) and line not in bare and not _EMPTY.match(line):
                bare.append(line)
    kept = loud or bare or quiet
    joined = " ".join(line if line[-1] in ".!?" else line + "." for line in kept)
    return joined if kept and _meaningful(joined) else ""


# A Python traceback whose last line names the exception with no detail after it
# ("kafka.errors.NoBrokersAvailable"): that name is what ended the task.
_BARE_EXCEPTION = re.compile(
    r"\n[^\S\n]*((?:[a-z_]\w*\.)+[A-Z]\w*|[A-Z]\w*(?:Error|Exception))[^\S\n]*\Z"
)


def _from_traceback(text: str) -> str:
    lines = list(_EXCEPTION_LINE.finditer(text))
    bare = _BARE_EXCEPTION.search(text)
    if (
        bare
        and "Traceback (most recent call last)" in text
        and not _CHAINED.search(text)
        and (not lines or lines[-1].end() < bare.start())
    ):
        return bare.group(1)
    if not lines or "\n" not in text.strip():
        return ""
    chained = _CHAINED.search(text)
    if chained:
        before = [m for m in lines if m.start() < chained.start()]
        chosen = before[-1] if before else lines[-1]
    else:
        chosen = lines[-1]
    line = f"{chosen.group(1)}: {chosen.group(2)}"
    # Some drivers put the detail on the lines after the exception (Snowflake, py4j).
    for more in text[chosen.end() :].splitlines()[1:4]:
        if not more.strip() or _FRAME.match(more) or len(line) > 300:
            break
        line += " " + more.strip()
    return line


_LAYERS: tuple[Callable[[str], str], ...] = (
    _from_json,
    _from_adf_chain,
    _last(_OLEDB_RECORD),
    _first(_SPARK_FAILURE),
    _last(_CAUSED_BY),
    _last(_NESTED),
    _from_traceback,
    _from_log_lines,
    _first(_WRAPPER_PREFIX),
    _first(_ADF_OPERATION),
    _first(_ODBC_PREFIX),
)


# A wrapped message that is only an unfilled template slot ("error message: %message;.", as
# ADF's error reference prints its messages): it names nothing, so the wrapper is kept.
_PLACEHOLDER = re.compile(r"(?:%\w{1,60};|<\w{1,60}>|\{\w{1,60}\})\.?")


def innermost_error(text: str) -> str:
    """The innermost meaningful error in `text` (the text itself when nothing wraps it), with
    Java package prefixes dropped from exception names. Untrusted: clean it before use."""
    current = text.strip()
    for _ in range(_MAX_LAYERS):
        for layer in _LAYERS:
            inner = layer(current).strip()
            if (
                inner
                and inner != current
                and len(inner) < len(current)
                and not _PLACEHOLDER.fullmatch(inner)
            ):
                current = inner
                break
        else:
            break
    return drop_packages(_STACK_FRAME.sub("", current)).strip()


# --------------------------------------------------------------------------- boilerplate

# A Python frame: `File "x.py", line 12, in f` as `traceback` prints it, `File "x.py", line 12
# in f` as Airflow 3's task log shows it, and IPython's (Databricks notebooks): `File
# /x.py:12, in f(a)`, `Cell In[3], line 2`, `File <command-123>:2`. The lines under it that are
# indented deeper are its source lines and the carets marking the call; IPython marks the line
# that raised with an arrow (`---> 2 df = ...`).
_PYTHON_FRAME = re.compile(
    r'File "[^"\n]*", line \d+,? in |File \S+:\d+(?:, in |$)|Cell In\[\d+\], line \d+'
)
_FRAME_ARROW = re.compile(r"-*> +\d+ ")
# A JVM, Scala or .NET frame ("at org.x.Y.method(Y.java:12)", "at X.Y.M() in C:\y.cs:line 3"),
# and what stands for frames left out.
_OTHER_FRAME = re.compile(
    r"at [\w$.<>`\[\],/-]+\(|\.\.\. \d+ (?:more|elided)\b|\[Previous line repeated \d+ more"
)
# Airflow 3's task log names each line's logger after it: `Task failed with exception:
# source="task"`.
_LOG_SOURCE = re.compile(r':? source="[^"\n]*"\s*$')
# An exception line ("Py4JJavaError: An error occurred while calling o412.save."): its message
# is checked for a wrapper's text that names no cause.
_NAMED_LINE = re.compile(r"[\w$.]{1,200}: (.*)")
# Searched in a line: IPython prints the exception's name before it.
_TRACEBACK_HEADER = re.compile(
    r"Traceback \(most recent call last\)|During handling of the above exception, another"
    r"|The above exception was the direct cause of the following|^Driver stacktrace:"
)


# An exception group as `traceback` prints it (Python 3.11+): each line in a margin (`  | `,
# `  + Exception Group Traceback ...`), the sub-exceptions between rules (`+-+------ 1 ------`,
# `+------ ... ------`, a closing `+-----`), and `and 5 more exceptions` for those left out.
_GROUP_HEADER = re.compile(
    r"Exception Group Traceback \(most recent call last\)|\+-(?:\+-)?-{15} (?:\d+|\.\.\.) -{16}"
)
_GROUP_MARGIN = re.compile(r"( *)[|+](?: |$)")
_GROUP_RULE = re.compile(r"\+[-+]{3,}(?: (?:\d+|\.\.\.) -+)?")
_GROUP_LEFT_OUT = re.compile(r"and \d+ more exceptions?")


def _without_group_margins(text: str) -> str:
    """Each line of an exception group with its margin turned into indentation, so its frames
    read as frames; its rules dropped."""
    lines = []
    for line in text.splitlines():
        if _GROUP_RULE.fullmatch(line.strip()):
            continue
        margin = _GROUP_MARGIN.match(line)
        if margin:
            line = " " * margin.end() + line[margin.end() :]
        lines.append(line)
    return "\n".join(lines)


def without_boilerplate(text: str) -> str:
    """`text` without what many failures share whatever their cause: stack frames (Python's
    with their source lines, JVM, Scala and .NET ones), traceback headers, the platform's own
    log lines (info and debug lines, and warning or error lines that only say something
    failed; the others keep their message without the timestamp), exceptions whose message
    is only a wrapper's text (py4j's "An error occurred while calling o412.save."), and Spark's
    stage-failure wrapper ("SparkException: Job aborted due to stage failure: Task 3 in stage
    12.0 failed 4 times, most recent failure: Lost task 3.3 in stage 12.0 (TID 412) (host
    executor 2): ", every failed Spark task's words, kept from the cause that follows on). Lines
    without a word (blank lines, rules of dashes) are dropped, and so are an exception group's
    margins, rules and "and 5 more exceptions"."""
    if _GROUP_HEADER.search(text):
        text = _without_group_margins(text)
    kept: list[str] = []
    frame_indent = -1
    for line in text.splitlines():
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if frame_indent >= 0 and (indent > frame_indent or _FRAME_ARROW.match(stripped)):
            continue
        frame_indent = -1
        log = _LOG_LINE.match(line)
        if log:
            level = log.group(2) or next(iter(_LEVEL_IN_PREFIX.findall(log.group(1))), "")
            stripped = _LOG_SOURCE.sub("", log.group(3)).strip()
            if level in _QUIET or _EMPTY.match(stripped):
                continue
        if _PYTHON_FRAME.match(stripped):
            frame_indent = indent
            continue
        spark = _SPARK_FAILURE.search(stripped)
        if spark:
            stripped = spark.group(1).strip()
        named = _NAMED_LINE.match(stripped)
        if (
            _WORD.search(stripped)
            and not _OTHER_FRAME.match(stripped)
            and not _TRACEBACK_HEADER.search(stripped)
            and not _GROUP_LEFT_OUT.fullmatch(stripped)
            and not states_no_cause(named.group(1) if named else stripped)
        ):
            kept.append(stripped)
    return "\n".join(kept)


# --------------------------------------------------------------------------- what it states

_SIGNIFICANT = re.compile(r"[A-Za-z_][\w.:/@$-]*\w|\d[\w.:/-]*\w")
_COMMON_WORDS = frozenset(
    {
        "the",
        "and",
        "for",
        "with",
        "from",
        "that",
        "this",
        "was",
        "were",
        "are",
        "not",
        "has",
        "have",
        "been",
        "when",
        "while",
        "into",
        "than",
        "error",
        "errors",
        "exception",
        "failed",
        "failure",
        "could",
        "cannot",
        "because",
        "please",
        "more",
        "details",
        "check",
        "operation",
        "message",
        "occurred",
        "during",
        "there",
        "which",
        "will",
        "after",
        "before",
        "does",
        "doesn",
    }
)
# Names a message states: quoted values, and tokens shaped like paths, hosts, dotted or
# snake_case identifiers, CamelCase types and UPPER_CASE codes.
_QUOTED_NAME = re.compile(r"'([^'\n]{2,80})'|\"([^\"\n]{2,80})\"")
_NAME_TOKEN = re.compile(
    r"(?<![\w./:-])(?:[\w-]+(?:[./:_][\w-]+)+|[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+|[A-Z][A-Z0-9]{2,}(?:_[A-Z0-9]+)+)"
    r"(?![\w/-])"
)


# Exception class names say what kind of error it is, which the class and rule already say.
_TYPE_NAME = re.compile(r"^[A-Z]\w*(?:Error|Exception|Timeout|Failure|Exit|Interrupt)$")


def _telling_words(text: str) -> set[str]:
    """The words of an error text that carry its content (names, values, verbs of the cause);
    not exception class names or bare numbers."""
    return {
        word.lower()
        for word in _SIGNIFICANT.findall(text)
        if len(word) > 3
        and word.lower() not in _COMMON_WORDS
        and not _TYPE_NAME.match(word.rsplit(".", 1)[-1])
        and not word.isdigit()
    }


def _names(text: str) -> set[str]:
    quoted = {next(g for g in m.groups() if g) for m in _QUOTED_NAME.finditer(text)}
    tokens = {m.group(0).strip(".:") for m in _NAME_TOKEN.finditer(text)}
    return {
        name.lower()
        for name in quoted | tokens
        if _WORDISH.search(name) and not _TYPE_NAME.match(name.rsplit(".", 1)[-1])
    }


_WORDISH = re.compile(r"[A-Za-z]{2}")


def carries_what_it_states(cause: str, stated: str) -> bool:
    """Whether an explanation already carries what the error `stated` says: every name it states
    (a column, path, host, code, ...), or, when it names nothing, most of its words."""
    lowered = cause.lower()
    names = _names(stated)
    if names:
        return all(name in lowered for name in names)
    wanted = _telling_words(stated)
    return not wanted or sum(word in lowered for word in wanted) >= 0.5 * len(wanted)
