"""Recognise the usual log line formats: their timestamp, level and message.

Formats: Spark/log4j (``24/01/31 12:00:00 ERROR Executor: ...`` and ISO-dated log4j, which is
also what Databricks driver logs use), Airflow task logs (``[2024-01-31, 12:00:00 UTC]
{taskinstance.py:1937} ERROR - ...``), Celery worker lines, Python logging (default
``asctime - name - LEVEL - msg``, ``asctime - LEVEL - msg`` and ``basicConfig``'s
``LEVEL:name:msg``), the time in brackets then the level (``[2024-01-31T12:00:00.123Z] ERROR
msg``, Kafka, Flask, gunicorn's ``[ts +0000] [pid] [ERROR]``), the time then a bracketed level
(``2024-01-31T12:00:00Z [ERROR] msg``, loguru's ``ts | ERROR | ...``), the level then the time
(``ERROR 2024-01-31 12:00:00 msg``), JSON lines, and ADF activity output (a JSON document,
turned into one line per error by ``expand_json_documents``). Lines without a header (stack
frames, stdout prints) come back with ``header=False``. No Django import.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from analysis.logs.reader import LogLine

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
            r"(?:\s?[A-Z]{2,5}|[+-]\d{2}:?\d{2}|Z)?)\]\s+\{[^}]{0,200}\}\s+"
            + _LEVEL
            + r"\s+-\s?(?P<msg>.*)"
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
        # The time, then the level in brackets or between bars (loguru's ``ts | LEVEL | ...``).
        "iso-bracketed-level",
        re.compile(
            _ISO_SPACED + r"\s+(?:\[[^\]]{0,200}\]\s+)?[\[|]\s{0,8}" + _LEVEL + r"\s{0,8}[\]|]"
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
_ISO_PREFIX = re.compile(_ISO + r"\s+(?P<msg>.*)")
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


def normalise_level(word: str) -> str:
    upper = word.upper()
    return _LEVEL_ALIASES.get(upper, upper)


class LineParser:
    """Parses lines; remembers which format matched last (logs rarely change format)."""

    def __init__(self) -> None:
        self._order = list(_FORMATS)
        self._ts_cache: tuple[str, datetime | None] = ("", None)

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
            ts = match.groupdict().get("ts")
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
        return ParsedLine(False, None, None, text, "")

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
        )


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
    if re.match(r"[+-]\d{2}:?\d{2}$", rest):
        offset = rest
    for fmt in _TIME_FORMATS:
        try:
            value = datetime.strptime(base, fmt)
        except ValueError:
            continue
        if offset:
            sign = 1 if offset[0] == "+" else -1
            digits = offset[1:].replace(":", "")
            minutes = sign * (int(digits[:2]) * 60 + int(digits[2:]))
            return (value - timedelta(minutes=minutes)).replace(tzinfo=UTC)
        return value.replace(tzinfo=UTC)
    return None


# --- ADF activity output and other whole-document JSON --------------------------------------
ADF_DOCUMENT_MAX_CHARS = 5 * 1024 * 1024
_ERROR_KEYS = {"errorcode", "message", "failuretype"}


def expand_json_documents(lines: Iterator[LogLine]) -> Iterator[LogLine]:
    """Pass lines through, except a file that is one JSON document (ADF activity output, a
    run-output API answer): that becomes one line per error it carries, e.g.
    ``2025-12-10T12:34:56Z ERROR [ADF 2200 UserError Copy_Orders] Failure happened on ...``.
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
    emitted = False
    for text in _document_lines(document, depth=0, context={}):
        emitted = True
        yield LogLine(first.file, first.number, text)
    if not emitted:
        yield from buffered


def _document_lines(value: object, *, depth: int, context: dict[str, str]) -> Iterator[str]:
    if depth > 8:
        return
    if isinstance(value, list):
        for item in value[:1000]:
            yield from _document_lines(item, depth=depth + 1, context=context)
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
    if isinstance(message, str) and message and (lowered.keys() & _ERROR_KEYS) - {"message"}:
        code = str(lowered.get("errorcode", "") or "")
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
        if isinstance(item, dict | list) and str(key).lower() not in {"details"}:
            yield from _document_lines(item, depth=depth + 1, context=context)


def _has_message(error: object) -> bool:
    return isinstance(error, dict) and any(
        isinstance(k, str) and k.lower() == "message" and isinstance(v, str) and v
        for k, v in error.items()
    )
