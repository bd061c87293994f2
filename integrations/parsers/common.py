"""Helpers shared by the webhook parsers: typed field access with errors naming the field."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, NoReturn

from analysis.redaction import redacted_head
from integrations.events import ParseError

_MISSING = object()

# Deeper than any sender's body (Azure Monitor's, the deepest, nests about 8): the redaction and
# the parsers walk a body recursively, and a body json.loads took at ~500 levels or more failed
# them with a RecursionError, a 500.
MAX_JSON_DEPTH = 100

# A `\uD800`-`\uDFFF` escape in the text: a surrogate, which json.loads pairs when it can.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def loads_json(text: str) -> Any:
    """`json.loads`, refusing with a ParseError what parses in Python but cannot be kept or used:
    integers of more than 4,300 digits (Python's conversion limit), `NaN`/`Infinity` and numbers
    too large for a float (PostgreSQL's jsonb has no such values), and unpaired UTF-16
    surrogates such as `\\ud800` (not Unicode text; PostgreSQL cannot store them), and objects or
    arrays nested more than MAX_JSON_DEPTH levels deep."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise ParseError(f"not valid JSON: {exc.msg} at position {exc.pos}") from exc
    except RecursionError as exc:
        raise ParseError("not valid JSON: nested too deeply") from exc
    except ParseError:
        raise
    except ValueError as exc:  # int() past sys.get_int_max_str_digits()
        raise ParseError("a number has more than 4300 digits") from exc
    if _depth(value) > MAX_JSON_DEPTH:
        raise ParseError(f"not valid JSON: nested too deeply (more than {MAX_JSON_DEPTH} levels)")
    if _SURROGATE_ESCAPE.search(text) and any(_SURROGATE.search(s) for s in _strings(value)):
        raise ParseError("a string holds an unpaired UTF-16 surrogate (e.g. \\ud800)")
    return value


def _depth(value: Any) -> int:
    """How deeply objects and arrays nest in `value`, walked without recursion."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children: Iterable[Any]
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            break
        pending.extend((child, depth + 1) for child in children)
    return deepest


def _refuse_constant(name: str) -> NoReturn:
    raise ParseError(f"{name} is not a JSON number")


def _finite_float(literal: str) -> float:
    number = float(literal)
    if not math.isfinite(number):
        raise ParseError(f"the number {literal[:40]} is too large")
    return number


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def require_object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ParseError(f"{where} must be a JSON object")
    return value


def field(obj: dict[str, Any], path: str, *, required: bool = False, default: Any = None) -> Any:
    """Read `a.b.c` from nested objects; a missing required field raises ParseError naming it."""
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, dict) or part not in current or current[part] is None:
            if required:
                raise ParseError(f"missing required field '{path}'")
            return default
        current = current[part]
    return current


def text(obj: dict[str, Any], path: str, *, required: bool = False, default: str = "") -> str:
    """A field as text; numbers are accepted (ids often arrive as either), objects are not."""
    value = field(obj, path, required=required, default=_MISSING)
    if value is _MISSING:
        return default
    if isinstance(value, bool | dict | list):
        raise ParseError(f"field '{path}' must be a string or a number")
    value = str(value).strip()
    if required and not value:
        raise ParseError(f"field '{path}' must not be empty")
    return value


def parse_timestamp(value: Any, where: str) -> datetime | None:
    """ISO 8601 (Azure's 7-digit fractions too) or epoch seconds/milliseconds; always aware UTC."""
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise ParseError(f"field '{where}' is not a timestamp")
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 10_000_000_000 else value
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise ParseError(f"field '{where}' is not a timestamp") from exc
    if not isinstance(value, str):
        raise ParseError(f"field '{where}' is not a timestamp")
    raw = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    if "." in raw:
        # Python accepts at most 6 fractional digits; Azure sends 7.
        head, _, tail = raw.partition(".")
        digits = "".join(ch for ch in tail if ch.isdigit())
        zone = tail[len(digits) :]
        raw = f"{head}.{digits[:6].ljust(6, '0')}{zone}" if digits else head + zone
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise ParseError(
            f"field '{where}' is not an ISO 8601 timestamp: {_quoted_start(value)}"
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise ParseError(f"field '{where}' is out of range: {_quoted_start(value)}") from exc


def _quoted_start(value: str) -> str:
    """The start of a sender's field as a refusal quotes it, redacted before it is cut: a cut
    inside a secret can leave a start no rule knows as one (`https://user:pass` before its
    `@host`)."""
    return repr(redacted_head(value, QUOTED_CHARS, "…"))


QUOTED_CHARS = 40
