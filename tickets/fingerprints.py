"""Fingerprints: what makes two failures "the same failure" for correlation."""

from __future__ import annotations

import hashlib
import re

# Each mask with, for three whose regex starts with `\b` (which `re` tries at every position
# of the text), a regex every one of their matches contains, which `re` finds fast by its
# leading literal: a text without it is not searched (the hex mask has no such literal).
_MASKS: list[tuple[re.Pattern[str], str, re.Pattern[str] | None]] = [
    # Order matters: the specific shapes first, bare numbers last.
    (re.compile(r"https?://\S+", re.I), "<url>", None),
    (
        re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I),
        "<uuid>",
        re.compile(r"-[0-9a-f]{4}-", re.I),
    ),
    (
        re.compile(
            r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?", re.I
        ),
        "<ts>",
        re.compile(r"-\d\d-"),
    ),
    (re.compile(r"\b\d{1,2}:\d{2}:\d{2}(\.\d+)?\b"), "<time>", re.compile(r":\d\d:")),
    (re.compile(r"\b0x[0-9a-f]+\b|\b[0-9a-f]{12,}\b", re.I), "<hex>", None),
    (re.compile(r"'[^']{0,200}'|\"[^\"]{0,200}\""), "<str>", None),
    (re.compile(r"\d+"), "<n>", None),
    (re.compile(r"\s+"), " ", None),
]

_NORMALIZE_LIMIT = 4000


def normalize_message(message: str) -> str:
    """Mask the parts of an error message that differ between runs of the same failure."""
    text = message[:_NORMALIZE_LIMIT].lower()
    for pattern, replacement, required in _MASKS:
        if required is None or required.search(text):
            text = pattern.sub(replacement, text)
    return text.strip()


def failure_fingerprint(
    source: str,
    pipeline: str,
    error_type: str,
    message: str,
    deployment: str = "",
    unit: str = "",
    subject: str = "",
) -> str:
    """Same source, pipeline (of the same deployment, when the source names it; the same part
    of it, when the source reports parts; about the same subject, when one rule watches several
    and the source says which: `FailureEvent.subject`, unmasked), error type and masked
    message. An event naming no deployment, part or subject keeps the fingerprint it had
    before they counted."""
    name = f"{deployment.lower()}/{pipeline.lower()}" if deployment else pipeline.lower()
    if unit:
        name = f"{name}/task:{unit.lower()}"
    parts = [source, name, error_type, normalize_message(message)]
    if subject:
        parts.append(f"subject:{subject.lower()}")
    material = "\x1f".join(parts)
    return hashlib.sha256(material.encode()).hexdigest()
