"""What a rule is: a named regex for some error classes, a builder that turns its match into a
finding (cause, recommendations, confidence), or declines it (None: the engine tries the next
rule), and an example message it must recognise.

The `rule` decorator builds a `Rule` from a builder function; it registers nothing. The order
in which rules are tried is the one list in `analysis.rules.catalogue`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Context:
    """The failure a rule reads: the scanned message text (then the message's informational
    lines, which no rule is matched on) plus the fields around it."""

    text: str
    source: str
    pipeline: str
    activity: str
    error_code: str
    failure_type: str
    operator: str
    trigger: str = ""  # an ADF trigger that failed, when the failure names no pipeline


@dataclass(frozen=True)
class Finding:
    cause: str
    recommendations: tuple[str, ...]
    confidence: float
    # True: usually passes on a retry (throttling, a reset connection); False: repeats until
    # its cause is fixed (out of memory, bad data, a missing object); None: either.
    transient: bool | None = None


# None: the match is not this rule's to explain (the engine goes on to the next rule).
Builder = Callable[[re.Match[str], Context], Finding | None]


@dataclass(frozen=True)
class Rule:
    name: str
    # The classes the rule serves; its example is checked under the first.
    classes: tuple[str, ...]
    pattern: re.Pattern[str]
    build: Builder
    # A message this rule (and no earlier one) explains under its first class, taken from the
    # dev, held-out or audit sets where one fits; tests/analysis/test_rule_catalogue.py holds
    # every rule to it.
    example: str


def rule(
    name: str,
    classes: str,
    pattern: str,
    *,
    example: str,
    flags: int = re.IGNORECASE,
) -> Callable[[Builder], Rule]:
    """Make the decorated builder a `Rule` for the space-separated `classes`."""

    def make(build: Builder) -> Rule:
        return Rule(name, tuple(classes.split()), re.compile(pattern, flags), build, example)

    return make
