"""Reading values out of untrusted error text: a plain-text cleaner, and extractors for the
host, timeout duration, last exception and platform a message names. Pure Python."""

from __future__ import annotations

import re
from collections import deque

from analysis.rules.reading import cut_at_boundary

MAX_VALUE_CHARS = 80

# Angle brackets, ampersands, pipes and double quotes are dropped, and so are control and format
# characters (a bidi override could reorder what a responder reads); everything else stays,
# names in any script, emoji, and the backslashes, asterisks, brackets, braces, tildes, carets
# and backticks of Windows paths, globs and JSON paths included: the RCA is plain text, and
# every renderer (JIRA, Slack, the dashboard) escapes it for its own markup.
_UNSAFE = re.compile(r"[<>&|\"\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"\w")


def clean_value(value: object, limit: int = MAX_VALUE_CHARS) -> str:
    """Plain-text, length-capped form of a value taken from untrusted input."""
    text = _UNSAFE.sub("", _SPACES.sub(" ", str(value))).strip(" .,:;")
    if not _WORD.search(text):
        return ""
    return cut_at_boundary(text, limit)


def quoted(value: str) -> str:
    return f"'{value}'" if value else ""


def grab(text: str, *patterns: str) -> str:
    """First capture group of the first pattern that matches, cleaned; "" if none matches."""
    for pattern in patterns:
        match = re.search(pattern, text, re.IGNORECASE)
        if match:
            value = next((g for g in match.groups() if g), "")
            cleaned = clean_value(value)
            if cleaned:
                return cleaned
    return ""


_HOST_PATTERNS = (
    r'could not translate host ?name "([^"\s]+)"',
    r"unknownhostexception: ([\w.-]+)",
    r'connection to server at "([^"\s]+)"',
    # libpq before 14: 'could not connect to server: Connection refused / Is the server running
    # on host "db" (10.0.0.5) and accepting TCP/IP connections on port 5432?'
    r'server running on host "([^"\s]+)"',
    r"connect to \w+ server on '([^'\s]+)'",
    r"host='([^'\s]+)'",
    r"server: '([^'\s]+)'",
    r"failed to connect to ([\w-]+(?:\.[\w-]+)+)",
    r"(?:sftp|ftp|http) server '([^'\s]+)'",
    r"https?://([\w-]+(?:\.[\w-]+)+)",
)


def find_host(text: str) -> str:
    return grab(text, *_HOST_PATTERNS)


_DURATION = re.compile(
    r"(?:after|of|in|exceeds?|exceeded|timeout=|timeout:?)\s*\[?'?"
    r"(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|secs?|seconds?|mins?|minutes?|h|hours?)?'?\b"
    r"(?!\.\d)",
    re.IGNORECASE,
)
# ADF timeouts are timespans next to the word ("exceeded the timeout '0.02:00:00'"); a bare
# hh:mm:ss elsewhere is usually a log timestamp.
_TIMESPAN = re.compile(r"time ?out[^'\n]{0,30}'((?:\d+\.)?\d{1,2}:\d{2}:\d{2})'", re.IGNORECASE)
_UNITS = {"ms": "ms", "millisecond": "ms", "milliseconds": "ms", "h": "hours", "hour": "hours"}


def find_duration(text: str) -> str:
    """A timeout duration named in the message ("300 seconds", "0.02:00:00"), or ""."""
    span = _TIMESPAN.search(text)
    if span:
        return clean_value(span.group(1))
    for match in _DURATION.finditer(text):
        amount, unit = match.group(1), (match.group(2) or "").lower()
        if not unit and not match.group(0).lower().startswith("timeout"):
            continue
        if unit in ("s", "sec", "secs", "second", "seconds", ""):
            unit = "seconds"
        elif unit.startswith("min"):
            unit = "minutes"
        else:
            unit = _UNITS.get(unit, unit)
        return clean_value(f"{amount} {unit}")
    return ""


_EXCEPTION_LINE = re.compile(
    r"^[^\S\n]*([A-Za-z_][\w.]*(?:Error|Exception|Exit|Timeout|Interrupt)):[ \t]*(.*)$",
    re.MULTILINE,
)


def last_exception(text: str) -> tuple[str, str]:
    """The last "SomeError: detail" line of a traceback (the one that ended the task)."""
    last = deque(_EXCEPTION_LINE.finditer(text), maxlen=1)
    if not last:
        return "", ""
    return clean_value(last[0].group(1).rsplit(".", 1)[-1]), clean_value(last[0].group(2))


def platform_of(source: str) -> str:
    src = source.lower()
    for key in ("databricks", "airflow", "adf"):
        if key in src:
            return key
    if "data factory" in src or "datafactory" in src or "azure" in src:
        return "adf"
    return ""


_JSON_MESSAGE = re.compile(
    r"[\"'](?:message|state_message|errormessage|error_message)[\"']\s*:\s*[\"']([^\"'\n]{4,})",
    re.IGNORECASE,
)


def message_field(text: str) -> str:
    """The "message" field of a JSON error body in the text, cleaned; "" if there is none."""
    match = _JSON_MESSAGE.search(text)
    return clean_value(match.group(1)) if match else ""


_SETTING_PATTERNS = (
    r"(?:increase|raise|extend|adjust|set|change)\s+(?:the\s+)?(?:value\s+of\s+)?(?:the\s+)?"
    r"'([\w.\-]+)'",
    r"(?:increase|raise|extend|adjust|set|change)\s+(?:the\s+)?(?:value\s+of\s+)?(?:the\s+)?"
    r"([a-z]+(?:[._][a-zA-Z]+)+|[a-z]+[A-Z]\w+)\b",
    r"\bvia ([a-z]+(?:\.[a-zA-Z]+){2,})",
)


def setting_named(text: str) -> str:
    """The setting a message says to raise or change ("increase the 'httpRequestTimeout'
    setting", "via spark.sql.broadcastTimeout"), or ""."""
    return grab(text, *_SETTING_PATTERNS)
