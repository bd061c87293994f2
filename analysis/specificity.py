"""Does the rule RCA name the cause the message states? A check over annotated messages.

Each annotation lists the phrases that make up the concrete cause a message states (a column,
a host, a setting, ...); a phrase may offer alternatives separated by " | ". An RCA names the
cause when its root cause contains every phrase (one of its alternatives, ignoring case). Each
message goes the way a ticket goes when there is no Gemini key: redacted, classified, then
explained by the rule RCA. Pure Python, no Django import.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from analysis.classifier import classify_error
from analysis.redaction import redact
from analysis.rules import RuleRca, build_rule_rca

_QUOTE = re.compile(r"The error says: “[^”]*”")


@dataclass(frozen=True)
class Verdict:
    id: str
    error_type: str
    root_cause: str
    missing: tuple[str, ...]
    # Missing when the error text the RCA quotes ("The error says: “…”") is left out: what
    # the rule's or template's own words name.
    missing_unquoted: tuple[str, ...]

    @property
    def names_cause(self) -> bool:
        return not self.missing


def explain_without_llm(
    message: str, *, source: str = "", pipeline: str = ""
) -> tuple[str, RuleRca]:
    """The error class and rule RCA a ticket with this message gets when Gemini is not used."""
    text = redact(message)
    error_type = classify_error(text).error_type
    return error_type, build_rule_rca(error_type, text, pipeline=pipeline, source=source)


def missing_phrases(text: str, phrases: Sequence[str]) -> tuple[str, ...]:
    """The phrases (each "a | b" meaning a or b) that do not occur in the text, ignoring case."""
    lowered = text.lower()
    return tuple(
        phrase
        for phrase in phrases
        if not any(alt.strip().lower() in lowered for alt in phrase.split("|") if alt.strip())
    )


def check(
    records: Iterable[Mapping[str, str]], annotations: Mapping[str, Sequence[str]]
) -> list[Verdict]:
    """A verdict for every record ({id, message, platform?}) that has an annotation."""
    verdicts = []
    for record in records:
        phrases = annotations.get(record["id"])
        if not phrases:
            continue
        error_type, rca = explain_without_llm(record["message"], source=record.get("platform", ""))
        verdicts.append(
            Verdict(
                id=record["id"],
                error_type=error_type,
                root_cause=rca.root_cause,
                missing=missing_phrases(rca.root_cause, phrases),
                missing_unquoted=missing_phrases(_QUOTE.sub("", rca.root_cause), phrases),
            )
        )
    return verdicts
