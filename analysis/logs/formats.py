"""Recognise the usual log line formats: their timestamp, level and message.

Formats: Spark/log4j (``24/01/31 12:00:00 ERROR Executor: ...`` and ISO-dated log4j, which is
also what Databricks driver logs use), Airflow task logs (``[2024-01-31, 12:00:00 UTC]
{taskinstance.py:1937} ERROR - ...``), Celery worker lines, Python logging (default
``asctime - name - LEVEL - msg``, ``asctime - LEVEL - msg`` and ``basicConfig``'s
``LEVEL:name:msg``), the time in brackets then the level (``[2024-01-31T12:00:00.123Z] ERROR
msg``, Kafka, Flask, gunicorn's ``[ts +0000] [pid] [ERROR]``), the time then a bracketed level
(``2024-01-31T12:00:00Z [ERROR] msg``, loguru's ``ts | ERROR | ...``, structlog's ``ts [error
] msg``), the level then the time (``ERROR 2024-01-31 12:00:00 msg``), glog/klog (``E0131
12:00:00.123456   42 file.go:7] msg``) and classic syslog (``Jan 31 12:00:00 host prog[42]:
msg``), both without a year (``LineParser._yearless_time`` infers it), dbt's log file and
console output (the time of day only, so no time), JSON lines (dbt's with its record under
``info``), ADF activity output (a JSON document, turned into one line per error by
``expand_json_documents``), an ADF error's message pasted as text and Databricks ``runs/get-output``
answers (their logs, error and trace, by the same); an Airflow 3 structured line's exception
(``error_detail``) is followed by the traceback it stands for (``expand_error_details``).
Lines without a header (stack frames, stdout prints) come back with ``header=False``. No
Django import.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from analysis.logs.reader import ANSI_ESCAPE, DOCUMENT_MAX_CHARS, LogLine

LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
_LEVEL_ALIASES = {
    "WARNING": "WARN",
    "CRITICAL": "FATAL",
    "SEVERE": "ERROR",
    "ERR": "ERROR",
    "NOTICE": "INFO",
    "FINE": "DEBUG",
    "EXCEPTION": "ERROR",
}
_LEVEL = r"(?P<level>TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|SEVERE|FATAL|CRITICAL)"
_ISO = (
    r"(?P<ts>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?"
    r"(?:Z|[+-]\d{2}:?\d{2}|\s?UTC)?)"
)

# As _ISO, with a space allowed before the offset (gunicorn's ``2024-01-31 12:00:00 +0000``).
_ISO_SPACED = _ISO.replace(r"|[+-]", r"|\s?[+-]")
# After a level word: its closing bracket or a colon, and a `` - `` before the message.
_LEVEL_END = r"\b\]?:?(?:\s+-(?=\s))?\s*(?P<msg>.*)"

# (format name, pattern). Tried in order; the last one that matched is tried first next time.
_FORMATS: list[tuple[str, re.Pattern[str]]] = [
    (
        "spark-log4j",
        re.compile(
            r"(?P<ts>\d{2}/\d{2}/\d{2} \d{2}:\d{2}:\d{2})\s+(?:[A-Z]+:)?"
            + _LEVEL
            + r"\s+(?P<msg>.*)"
        ),
    ),
    (
        "airflow",
        re.compile(
            r"\[(?P<ts>\d{4}-\d{2}-\d{2}[T ,]{1,2}\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?"
            r"(?:\s?[A-Z]{2,5}|\s?[+-]\d{2}(?::?\d{2})?|Z)?)\]\s+\{[^}]{0,200}\}\s+"
            + _LEVEL
            + r"\s+-\s?(?P<msg>.*)"
        ),
    ),
    (
        # Airflow 3's web UI shows a task's record without its logger: ``[2025-10-15,
        # 09:48:22] ERROR - Task failed with exception: source="task"``.
        "airflow",
        re.compile(
            r"\[(?P<ts>\d{4}-\d{2}-\d{2}, \d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?"
            r"(?:\s?[A-Z]{2,5}|\s?[+-]\d{2}(?::?\d{2})?|Z)?)\]\s+" + _LEVEL + r"\s+-\s?(?P<msg>.*)"
        ),
    ),
    (
        "celery",
        re.compile(r"\[" + _ISO + r":\s+" + _LEVEL + r"/[^\]]{0,100}\]\s?(?P<msg>.*)"),
    ),
    (
        # ``%(asctime)s - %(name)s - %(levelname)s - %(message)s``, the logger name optional
        # (``%(asctime)s - %(levelname)s - %(message)s``).
        "python-logging",
        re.compile(_ISO + r"\s+-\s+(?:\S{1,200}\s+-\s+)?" + _LEVEL + r"\s+-\s?(?P<msg>.*)"),
    ),
    (
        # What expand_json_documents makes of ADF output; the time is there only when the
        # document gave one (activityRunEnd).
        "adf",
        re.compile(
            r"(?:" + _ISO + r"\s+)?" + _LEVEL + r"\s+\[ADF(?:\s[^\]]{0,300})?\]\s?(?P<msg>.*)"
        ),
    ),
    (
        "log4j",
        re.compile(
            _ISO + r"\s+(?:\[[^\]]{0,200}\]\s+)?" + _LEVEL + r"\s+(?!\[ADF[\s\]])"
            r"(?:\[[^\]]{0,200}\]\s+)?(?P<msg>.*)"
        ),
    ),
    ("python-basic", re.compile(_LEVEL + r":(?P<logger>[\w.]{1,200}):(?P<msg>.*)")),
    (
        # The time in brackets, then the level (bare, in brackets, or after a bracketed
        # thread or process id): Kafka, Flask, Python's ``[%(asctime)s]
        # %(levelname)s``, gunicorn's ``[ts +0000] [pid] [LEVEL]``.
        "bracketed-time",
        re.compile(r"\[" + _ISO_SPACED + r"\]\s+(?:\[[^\]]{0,200}\]\s+)?\[?" + _LEVEL + _LEVEL_END),
    ),
    (
        # The time, then the level in brackets or between bars (loguru's ``ts | LEVEL | ...``;
        # structlog's console lines, Airflow 3's among them, in lower case and padded:
        # ``ts [error    ] message [logger] key=value``).
        "iso-bracketed-level",
        re.compile(
            _ISO_SPACED
            + r"\s+(?:\[[^\]]{0,200}\]\s+)?[\[|]\s{0,8}"
            + _LEVEL.replace("(?P<level>", "(?P<level>(?i:")
            + ")"
            + r"\s{0,8}[\]|]"
            r"(?:\s+-(?=\s))?\s*(?P<msg>.*)"
        ),
    ),
    (
        # The level first, then the time (bare or in brackets).
        "level-first",
        re.compile(
            r"\[?"
            + _LEVEL
            + r"\]?:?\s+\[?"
            + _ISO_SPACED
            + r"\]?"
            + r"(?:\s+-(?=\s))?\s*(?P<msg>.*)"
        ),
    ),
]
# Lines whose time has a month and a day but no year (``LineParser._yearless_time``).
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_YEARLESS_FORMATS: list[tuple[str, re.Pattern[str]]] = [
    (
        # glog and Kubernetes' klog: ``E1205 12:00:01.123456   12345 file.go:42] message``
        # (the level's letter, month and day, time, thread id, source file and line).
        "glog",
        re.compile(
            r"(?P<letter>[IWEF])(?P<month>\d{2})(?P<day>\d{2}) (?P<clock>\d{2}:\d{2}:\d{2})"
            r"(?:\.\d{1,9})?\s+\d+\s+[^\s\]]{1,200}:\d+\] ?(?P<msg>.*)"
        ),
    ),
    (
        # Classic (RFC 3164) syslog: ``Dec  5 12:00:01 host prog[123]: message``, the priority
        # (``<11>``) in front when a relay kept it; journalctl's short output too.
        "syslog",
        re.compile(
            r"(?:<(?P<priority>\d{1,3})>)?(?P<month>" + "|".join(_MONTHS) + r") {1,2}"
            r"(?P<day>\d{1,2}) (?P<clock>\d{2}:\d{2}:\d{2})(?:\.\d{1,9})? \S{1,255} (?P<msg>.*)"
        ),
    ),
]
# dbt (the time of day only, no date): its log file ``logs/dbt.log`` (``10:00:04.200000
# [error] [Thread-1 (]: message``, the level padded in brackets) and its console output
# (``10:00:04  1 of 3 ERROR creating sql table model …``, no level: read from dbt's own words
# for a failed node and an error's summary). dbt writes an error's detail (the database's
# message, the SQL line) on the lines after it, indented: dbt 1.4 and before each with its own
# time, so such a line continues the record before it (``ParsedLine.continues``); dbt 1.5 and
# later without one (``LogMiner`` reads them with the error), the summary itself indented.
_DBT_FORMATS: list[tuple[str, re.Pattern[str]]] = [
    (
        "dbt",
        re.compile(
            r"(?P<tod>\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?) \[(?P<level>debug|info|warn|error)\s{0,4}\]"
            r" \[[^\]]{0,200}\]:(?: (?P<msg>.*)|$)"
        ),
    ),
    ("dbt-console", re.compile(r"(?P<tod>\d{2}:\d{2}:\d{2})  (?P<msg>.*)")),
]
_DBT_CONSOLE_LEVELS = (
    (
        "ERROR",
        re.compile(
            r"\d+ of \d+ ERROR\b|(?:Database|Compilation|Runtime|Dependency|Parsing|Internal)"
            r" Error in\b|Failure in test\b|Encountered an error\b"
        ),
    ),
    ("WARN", re.compile(r"\d+ of \d+ WARN\b|Warning in test\b|\[WARNING\]")),
)
_GLOG_LEVELS = {"I": "INFO", "W": "WARN", "E": "ERROR", "F": "FATAL"}
# A syslog priority's severity (its value modulo 8): emerg, alert, crit, err, warning, notice,
# info, debug.
_SYSLOG_LEVELS = ("FATAL", "FATAL", "FATAL", "ERROR", "WARN", "INFO", "INFO", "DEBUG")
# A program's own level word after its tag, in any case, with its colon (OpenSSH's ``sshd[1]:
# error: ...``, Postfix's ``warning:``, ``fatal:``).
_SYSLOG_TAG_LEVEL = re.compile(
    r"[^\s:]{1,200}:\s+(?P<level>(?i:trace|debug|info|notice|warn|warning|error|err|fatal"
    r"|critical|severe)):"
)
_ISO_PREFIX = re.compile(_ISO + r"\s+(?P<msg>.*)")
# An ADF error's message pasted as text (copied from ADF Studio's error dialog, not the
# activity output JSON): a pipeline's ``Operation on target <activity> failed: …``, a Copy
# activity's ``Failure happened on 'Sink' side. ErrorCode=…`` or its bare ``ErrorCode=…,``.
_ADF_TEXT = re.compile(
    r"(?:Operation on target \S[^:]{0,259}? failed: |"
    r"Failure happened on '\w{1,40}' side\.|ErrorCode=\w{1,200},)"
)
_LEVEL_WORD = re.compile(r"\b" + _LEVEL + r"\b")
_JSON_TS_KEYS = ("timestamp", "@timestamp", "time", "ts", "asctime", "datetime", "date")
_JSON_LEVEL_KEYS = ("level", "levelname", "severity", "log.level", "lvl")
_JSON_MSG_KEYS = ("message", "msg", "log", "@message", "event", "text")


@dataclass(frozen=True, slots=True)
class ParsedLine:
    header: bool  # the line starts a new record (it has a timestamp or a level)
    time: datetime | None
    level: str | None  # one of LEVELS
    message: str
    format: str
    # An indented line of dbt's that goes on with the message of the record before it.
    continues: bool = False
    # How the line is shown (excerpts, evidence) when it is not its text: a JSON record as the
    # log line it stands for (``json_record_text``).
    shown: str = ""


def normalise_level(word: str) -> str:
    upper = word.upper()
    return _LEVEL_ALIASES.get(upper, upper)


class LineParser:
    """Parses lines; remembers which format matched last (logs rarely change format). ``now``
    (by default the time it is made) dates the lines whose time has no year."""

    def __init__(self, now: datetime | None = None) -> None:
        self._order = list(_FORMATS) + _YEARLESS_FORMATS + _DBT_FORMATS
        self._ts_cache: tuple[str, datetime | None] = ("", None)
        self._now = now or datetime.now(UTC)
        self._yearless_cache: tuple[tuple[int, int, str], datetime | None] = ((0, 0, ""), None)

    def parse(self, text: str) -> ParsedLine:
        if text[:1] == "{" and text.rstrip()[-1:] == "}":
            parsed = self._parse_json(text)
            if parsed is not None:
                return parsed
        if not text or text[0] in " \t":
            return ParsedLine(False, None, None, text, "")
        for index, (name, pattern) in enumerate(self._order):
            match = pattern.match(text)
            if match is None:
                continue
            if index:
                self._order.insert(0, self._order.pop(index))
            groups = match.groupdict()
            if "clock" in groups:
                return self._yearless_line(name, groups)
            if "tod" in groups:
                return _dbt_line(name, groups)
            ts = groups.get("ts")
            return ParsedLine(
                True,
                self._time(ts) if ts else None,
                normalise_level(match["level"]),
                match["msg"],
                name,
            )
        match = _ISO_PREFIX.match(text)
        if match is not None:
            level = _LEVEL_WORD.search(match["msg"], 0, 40)
            return ParsedLine(
                True,
                self._time(match["ts"]),
                normalise_level(level["level"]) if level else None,
                match["msg"],
                "timestamped",
            )
        if _ADF_TEXT.match(text):
            return ParsedLine(True, None, "ERROR", text, "adf-text")
        return ParsedLine(False, None, None, text, "")

    def _yearless_line(self, name: str, groups: dict[str, str]) -> ParsedLine:
        """A glog or syslog line: the level of glog's letter, of syslog's priority, else the
        program's level word after its tag (``sshd[1]: error: ...``), else the first level
        word in capitals in the start of the message."""
        message = groups["msg"]
        month = groups["month"]
        when = self._yearless_time(
            int(month) if month.isdigit() else _MONTHS.index(month) + 1,
            int(groups["day"]),
            groups["clock"],
        )
        level: str | None
        if groups.get("letter"):
            level = _GLOG_LEVELS[groups["letter"]]
        elif groups.get("priority"):
            level = _SYSLOG_LEVELS[int(groups["priority"]) % 8]
        else:
            word = _SYSLOG_TAG_LEVEL.match(message) or _LEVEL_WORD.search(message, 0, 60)
            level = normalise_level(word["level"]) if word else None
        return ParsedLine(True, when, level, message, name)

    def _yearless_time(self, month: int, day: int, clock: str) -> datetime | None:
        """A month, day and time without a year (glog, syslog), as UTC in the latest year that
        does not put it more than a day after ``now``: a log is read after it was written, so
        this year's December 31st read on January 1st is last year's. The day's slack allows
        for local times (syslog writes the host's) ahead of UTC. A day no year of the last
        eight has (February 30th) gives None."""
        key = (month, day, clock)
        if key == self._yearless_cache[0]:
            return self._yearless_cache[1]
        hour, minute, second = (int(part) for part in clock.split(":"))
        latest = self._now + timedelta(days=1)
        value = None
        for year in range(latest.year, latest.year - 8, -1):
            try:
                candidate = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
            except ValueError:  # February 29th outside a leap year, or no such day
                continue
            if candidate <= latest:
                value = candidate
                break
        self._yearless_cache = (key, value)
        return value

    def _time(self, raw: str) -> datetime | None:
        """Second precision is enough for timelines; parsing is cached per second."""
        key = _second_key(raw)
        if key == self._ts_cache[0]:
            return self._ts_cache[1]
        value = parse_time(raw)
        self._ts_cache = (key, value)
        return value

    def _parse_json(self, text: str) -> ParsedLine | None:
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        info = data.get("info")
        if isinstance(info, dict) and "msg" in info and "level" in info:
            data = info  # dbt's ``--log-format json``: the record's fields are under "info"
        flat = {k.lower(): v for k, v in data.items() if isinstance(k, str)}
        ts = next((str(flat[k]) for k in _JSON_TS_KEYS if flat.get(k)), "")
        level = next((str(flat[k]) for k in _JSON_LEVEL_KEYS if flat.get(k)), "")
        message = next((flat[k] for k in _JSON_MSG_KEYS if flat.get(k)), None)
        if message is None:
            message = text
        elif not isinstance(message, str):
            message = json.dumps(message, ensure_ascii=False)
        exc = flat.get("exc_info") or flat.get("exception") or flat.get("stack_trace")
        if isinstance(exc, str) and exc:
            message = f"{message} {exc.strip().splitlines()[-1]}"
        norm = normalise_level(level) if level else None
        return ParsedLine(
            True,
            parse_time(ts) if ts else None,
            norm if norm in LEVELS else None,
            message,
            "json-lines",
            shown=json_record_text(data, flat, ts, level, message),
        )


# Of a structured (structlog) record, the keys its classic line shows before its event; the
# others follow it as key=value. ``error_detail`` is its exception (``traceback_lines``).
STRUCTURED_HEADER_KEYS = frozenset({"timestamp", "event", "level", "logger", "error_detail"})
_JSON_LOGGER_KEYS = ("logger", "logger_name", "name")


def structured_text(record: dict[str, Any]) -> str:
    """One of Airflow 3's structured log records as the classic task log line, without its
    exception: ``[<timestamp>] {<logger>} <LEVEL> - <event> <key>=<value>...``; a record
    without a timestamp (Airflow's ``::group::`` markers) is its event and keys alone. A line
    break in it is followed by two spaces (the next line reads as part of it)."""
    event = str(record.get("event", ""))
    extras = " ".join(
        f"{key}={value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)}"
        for key, value in record.items()
        if key not in STRUCTURED_HEADER_KEYS and value not in (None, "", [], {})
    )
    text = f"{event} {extras}" if extras else event
    if record.get("timestamp"):
        level = str(record.get("level") or "info").upper()
        text = f"[{record['timestamp']}] {{{record.get('logger') or ''}}} {level} - {text}"
    return text.replace("\r", " ").replace("\n", "\n  ")


def json_record_text(
    record: dict[str, Any], flat: dict[str, Any], ts: str, level: str, message: str
) -> str:
    """A JSON log record as the one log line it stands for, as excerpts show it: a structlog
    record (Airflow 3's, with an ``event``) as Airflow's REST API reading writes it
    (``structured_text``); any other as ``[<time>] {<logger>} <LEVEL> - <message>``, the parts
    it has. Line breaks become spaces."""
    if isinstance(record.get("event"), str):
        text = structured_text(record)
    else:
        logger = next((str(flat[k]) for k in _JSON_LOGGER_KEYS if flat.get(k)), "")
        head = " ".join(
            part
            for part in (f"[{ts}]" if ts else "", f"{{{logger}}}" if logger else "", level.upper())
            if part
        )
        text = f"{head} - {message}" if head else message
    return text.replace("\r", " ").replace("\n", " ")


def _dbt_line(name: str, groups: dict[str, str | None]) -> ParsedLine:
    """A dbt line: no date, so no time; the level its file gives, else the one dbt's words
    say; an indented message continues the record before it, unless it is one of dbt's own
    records (dbt 1.5 and later indent an error's summary, ``  Database Error in model …``)."""
    message = groups["msg"] or ""
    words = _dbt_level_words(message.lstrip())
    if message[:1] in (" ", "\t"):
        if words is None:
            return ParsedLine(False, None, None, message, name, continues=True)
        message = message.lstrip()
    level = groups.get("level") or words
    return ParsedLine(True, None, normalise_level(level) if level else None, message, name)


def _dbt_level_words(message: str) -> str | None:
    """The level dbt's own words for a failed node, an error's summary, a failed test or a
    warning say (``_DBT_CONSOLE_LEVELS``); None for any other message."""
    return next((level for level, words in _DBT_CONSOLE_LEVELS if words.match(message)), None)


# The formats of dbt's lines (``_DBT_FORMATS``): after one of their errors, the lines without a
# header that are indented go on with its message (dbt 1.5 and later write an error's further
# lines, the database's message among them, without a time).
DBT_FORMATS = frozenset(name for name, _ in _DBT_FORMATS)


def _second_key(raw: str) -> str:
    """The timestamp text without its fraction of a second: the date, the time to the second
    and the zone, however long each format writes them (``2024-01-31, 12:00:01`` is 20
    characters, ``24/01/31 12:00:01`` 17)."""
    colon = raw.find(":", raw.find(":") + 1)
    if colon < 0:
        return raw
    end = colon + 3
    return raw[:end] + raw[end:].lstrip("0123456789.,")


_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%y/%m/%d %H:%M:%S")
_SHORT = re.compile(r"(\d\d)/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)$")
_LONG = re.compile(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,]\d{1,9})?(?:Z| ?UTC)?$")


def _fast_time(raw: str) -> datetime | None:
    """The two most common shapes without strptime (several times faster)."""
    match = _SHORT.match(raw) or _LONG.match(raw)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    try:
        return datetime(
            year + 2000 if year < 100 else year, month, day, hour, minute, second, tzinfo=UTC
        )
    except ValueError:
        return None


def parse_time(raw: str) -> datetime | None:
    """A timestamp in any of the formats above, to the second, as UTC (naive ones too: log
    lines without an offset are read as UTC; a named zone other than UTC is ignored)."""
    fast = _fast_time(raw)
    if fast is not None:
        return fast
    text = raw.strip().replace(",", " ", 1) if raw[10:12] == ", " else raw.strip()
    text = text.replace("T", " ", 1).replace("  ", " ")
    if re.match(r"\d{10}(\.\d+)?$", text):  # epoch seconds (JSON logs)
        try:
            return datetime.fromtimestamp(float(text), UTC)
        except (OverflowError, ValueError):
            return None
    base = text[:19] if text[:4].isdigit() and text[4] == "-" else text[:17]
    offset = None
    rest = text[len(base) :].lstrip("0123456789.,").strip()
    if re.match(r"[+-]\d{2}(?::?\d{2})?$", rest):  # +0700, +07:00, or +07 (Python's %Z)
        offset = rest
    for fmt in _TIME_FORMATS:
        try:
            value = datetime.strptime(base, fmt)
        except ValueError:
            continue
        if offset:
            sign = 1 if offset[0] == "+" else -1
            digits = offset[1:].replace(":", "")
            minutes = sign * (int(digits[:2]) * 60 + int(digits[2:] or 0))
            return (value - timedelta(minutes=minutes)).replace(tzinfo=UTC)
        return value.replace(tzinfo=UTC)
    return None


# --- Airflow 3's structured task log lines -----------------------------------------------------
_ERROR_DETAIL = '"error_detail"'


def expand_error_details(lines: Iterator[LogLine]) -> Iterator[LogLine]:
    """Pass lines through; after a JSON line carrying an ``error_detail`` list (Airflow 3's
    task log, as its log files and remote log storage hold it), the Python traceback it stands
    for (``traceback_lines``), numbered as that line: the exception is in no other line."""
    for line in lines:
        yield line
        if _ERROR_DETAIL not in line.text or not line.text.lstrip().startswith("{"):
            continue
        try:
            data = json.loads(line.text)
        except ValueError:
            continue
        detail = data.get("error_detail") if isinstance(data, dict) else None
        if isinstance(detail, list) and detail:
            for text in "\n".join(traceback_lines(detail)).splitlines():
                yield LogLine(line.file, line.number, text)


def traceback_lines(stacks: list[Any]) -> list[str]:
    """`error_detail` (structlog's exception dicts: the raised exception first, then its
    cause or context, each with `is_cause`) as Python prints the chain: the innermost first."""
    out: list[str] = []
    dicts = [stack for stack in stacks if isinstance(stack, dict)]
    for index, stack in enumerate(reversed(dicts)):
        if index:
            out.append("")
            out.append(
                "The above exception was the direct cause of the following exception:"
                if dicts[len(dicts) - index].get("is_cause")
                else "During handling of the above exception, another exception occurred:"
            )
            out.append("")
        out.append("Traceback (most recent call last):")
        for frame in stack.get("frames") or []:
            if isinstance(frame, dict):
                out.append(
                    f'  File "{frame.get("filename", "?")}", line {frame.get("lineno", "?")}, '
                    f"in {frame.get('name', '?')}"
                )
        value = str(stack.get("exc_value") or "")
        exc_type = str(stack.get("exc_type") or "Exception")
        out.append(f"{exc_type}: {value}" if value else exc_type)
    return out


# --- ADF activity output and other whole-document JSON --------------------------------------
ADF_DOCUMENT_MAX_CHARS = DOCUMENT_MAX_CHARS  # the reader keeps a first line this long whole
_ERROR_KEYS = {"errorcode", "message", "failuretype"}


def expand_json_documents(lines: Iterator[LogLine]) -> Iterator[LogLine]:
    """Pass lines through, except a file that is one JSON document: ADF activity output (or a
    run-output API answer) becomes one line per error it carries, e.g.
    ``2025-12-10T12:34:56Z ERROR [ADF 2200 UserError Copy_Orders] Failure happened on ...``;
    a Databricks ``runs/get-output`` answer its logs, error and trace
    (``databricks_output_lines``).
    A document larger than ``ADF_DOCUMENT_MAX_CHARS`` or that does not parse is read as text."""
    buffered: list[LogLine] = []
    size = 0
    current = ""
    # The first line is a JSON value by itself: one document on one line (as copied from the
    # ADF monitor) if nothing but blank lines follows it, else JSON lines.
    whole_first_line = False
    for line in lines:
        if line.file != current:
            if buffered:
                yield from _flush_document(buffered)
                buffered, size = [], 0
            current = line.file
            stripped = line.text.strip()
            if line.number == 1 and stripped[:1] in "{[":
                whole_first_line = _is_json(stripped)
                buffered.append(line)
                size = len(line.text)
                continue
            yield line
            continue
        if buffered and whole_first_line and line.text.strip():
            yield from buffered
            buffered, size = [], 0
        if buffered:
            buffered.append(line)
            size += len(line.text) + 1
            if size > ADF_DOCUMENT_MAX_CHARS:
                yield from buffered
                buffered, size = [], 0
            continue
        yield line
    if buffered:
        yield from _flush_document(buffered)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _flush_document(buffered: list[LogLine]) -> Iterator[LogLine]:
    try:
        document = json.loads("\n".join(line.text for line in buffered))
    except ValueError:
        yield from buffered
        return
    first = buffered[0]
    run_output = databricks_output_lines(document)
    if run_output:
        for offset, text in enumerate(run_output):
            yield LogLine(first.file, first.number + offset, text)
        return
    emitted = False
    for text in _document_lines(document, depth=0, context={}):
        emitted = True
        yield LogLine(first.file, first.number, text)
    if not emitted:
        yield from buffered


def databricks_output_lines(document: object) -> list[str]:
    """A Databricks ``runs/get-output`` answer (``metadata`` and the task's ``logs``, ``error``,
    ``error_trace``) as a ``databricks://`` job reads a task's output: its stdout lines, its
    error as ``<end time> ERROR [Databricks <task key>] <error>`` (no time when the metadata
    has none), then the trace's lines, terminal colour codes removed. Empty for any other
    document. The caller numbers them as lines of that text, from the document's first line."""
    if not isinstance(document, dict) or not isinstance(document.get("metadata"), dict):
        return []
    texts = {
        key: ANSI_ESCAPE.sub("", value).strip("\r\n")
        for key in ("logs", "error", "error_trace")
        if isinstance(value := document.get(key), str) and value.strip()
    }
    if not texts:
        return []
    metadata = document["metadata"]
    name = str(metadata.get("task_key") or f"run-{metadata.get('run_id', '')}")
    parts = [texts.get("logs", "")]
    if "error" in texts:
        ended = _from_millis(metadata.get("end_time")) or _from_millis(metadata.get("start_time"))
        stamp = f"{ended:%Y-%m-%dT%H:%M:%SZ} " if ended else ""
        parts.append(f"{stamp}ERROR [Databricks {name}] {texts['error']}")
    parts.append(texts.get("error_trace", ""))
    return "\n".join(part for part in parts if part).splitlines()


def _from_millis(value: object) -> datetime | None:
    """A Databricks time: milliseconds since the epoch (0 or absent when not known)."""
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        return None
    try:
        return datetime.fromtimestamp(value / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _document_lines(
    value: object, *, depth: int, context: dict[str, str], in_errors: bool = False
) -> Iterator[str]:
    """``in_errors``: the value is (an item of) an ``errors`` list, where a Copy activity's
    output keeps its errors as ``Code`` and ``Message``: a ``code`` beside a message is an
    error's there only (elsewhere it may be an HTTP status's)."""
    if depth > 8:
        return
    if isinstance(value, list):
        for item in value[:1000]:
            yield from _document_lines(item, depth=depth + 1, context=context, in_errors=in_errors)
        return
    if not isinstance(value, dict):
        return
    lowered = {k.lower(): v for k, v in value.items() if isinstance(k, str)}
    context = {
        **context,
        **{
            key: str(lowered[src])
            for key, src in (
                ("activity", "activityname"),
                ("time", "activityrunend"),
                ("status", "status"),
            )
            if lowered.get(src)
        },
    }
    message = lowered.get("message")
    error_keys = _ERROR_KEYS | {"code"} if in_errors else _ERROR_KEYS
    if isinstance(message, str) and message and (lowered.keys() & error_keys) - {"message"}:
        code = str(lowered.get("errorcode") or (lowered.get("code") if in_errors else "") or "")
        failure = str(lowered.get("failuretype", "") or "")
        target = str(lowered.get("target", "") or context.get("activity", ""))
        label = " ".join(part for part in ("ADF", code, failure, target) if part)
        stamp = context.get("time", "")
        prefix = f"{stamp} " if stamp and parse_time(stamp) else ""
        yield f"{prefix}ERROR [{label}] {' '.join(message.split())}"
    elif (
        context.get("activity")
        and "status" in lowered
        and depth <= 2
        and not _has_message(lowered.get("error"))
    ):  # a run's error line says it failed, and names the activity
        stamp = context.get("time", "")
        prefix = f"{stamp} " if stamp and parse_time(stamp) else ""
        level = "ERROR" if str(lowered["status"]).lower() == "failed" else "INFO"
        yield f"{prefix}{level} [ADF {context['activity']}] status {lowered['status']}"
    for key, item in value.items():
        name = str(key).lower()
        if isinstance(item, dict | list) and name not in {"details"}:
            yield from _document_lines(
                item, depth=depth + 1, context=context, in_errors=name == "errors"
            )


def _has_message(error: object) -> bool:
    return isinstance(error, dict) and any(
        isinstance(k, str) and k.lower() == "message" and isinstance(v, str) and v
        for k, v in error.items()
    )
