"""Rule-based root-cause analysis, used when the LLM analysis is unavailable.

Rules (analysis/rules/<class>.py, tried in the order of analysis/rules/catalogue.py) recognise
concrete causes in the error text (an expired client secret, an executor OOM, a missing Python
module, ...) and name what they extracted (module, host, column, code). The first rule that
serves the ticket's class, matches and does not decline (its builder returns None) explains it;
when none does, the class's template from data.toml is used. Either way, when the explanation
does not already carry what the innermost error states (analysis/rules/reading.py), the root
cause quotes it: one error, the one the rule matched when the message joins several (`errors`).
The message's informational lines (`without_informational_lines` in analysis/classifier.py)
choose no rule and are not quoted; a rule may still read them, after the error, for what the
error does not state.
Extracted values come from untrusted text: they are reduced to a plain-text character set and
capped in length, cut at a word boundary. No Django import.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from analysis.classifier import informational_lines, scan_window
from analysis.rules.base import Context, Finding
from analysis.rules.catalogue import RULES
from analysis.rules.data import TEMPLATES
from analysis.rules.extract import clean_value
from analysis.rules.reading import carries_what_it_states, excerpt, innermost_error

MAX_CONFIDENCE = 0.8
TEMPLATE_CONFIDENCE = 0.45
UNKNOWN_CONFIDENCE = 0.2


@dataclass(frozen=True)
class RuleRca:
    root_cause: str
    recommendations: list[str]
    confidence: float
    # The rule that explained the message, or "" when the class template did.
    rule: str = ""


UNREAD_RECOMMENDATIONS = (
    "Read the failed run's error where it ran (Data Factory: Monitor, Pipeline runs, the failed"
    " activity's error; Databricks: the job run's page) and fix what it states.",
    "Once the error can be fetched, re-run the analysis (admin action, or POST"
    " /api/v1/tickets/<id>/rerun-rca/): it fetches the error and explains it.",
)


def _subject(ctx: Context) -> str:
    if ctx.pipeline:
        subject = f"Pipeline '{ctx.pipeline}'"
    elif ctx.trigger:
        return f"Trigger '{ctx.trigger}'"
    else:
        subject = "The pipeline"
    if ctx.activity:
        subject += f" (activity '{ctx.activity}')"
    elif ctx.operator:
        subject += f" (operator {ctx.operator})"
    return subject


def _code_suffix(ctx: Context, cause: str) -> str:
    """A Databricks run's code (`RUN_EXECUTION_ERROR`) says how the run ended, not what failed
    in it: its termination code, as Databricks calls it."""
    if ctx.error_code and ctx.error_code.lower() not in cause.lower():
        kind = "termination code" if ctx.source == "databricks" else "error code"
        return f" ({kind} {ctx.error_code})"
    return ""


# What the root cause adds when Data Factory reports a user error and the finding does not know
# the error to pass on a retry. A rerun a policy proposes for such a failure says why it is
# proposed anyway (integrations/remediation.py `despite_user_error`).
USER_ERROR_NOTE = (
    "Data Factory reports a user error, so rerunning without a change will likely fail again."
)


def _failure_type_note(ctx: Context, transient: bool | None) -> tuple[str, str]:
    """A sentence and a recommendation for ADF's failure type, if one was given, that do not
    contradict what the finding knows: no "retry" for an error that repeats until its cause is
    fixed, no "rerunning will fail again" for one that usually passes on a retry."""
    kind = ctx.failure_type.lower().replace(" ", "")
    if "systemerror" in kind or kind == "system":
        if transient is False:
            return (
                " Data Factory reports a system error, but this error repeats until its cause "
                "is fixed.",
                "",
            )
        return (
            " Data Factory reports a system error, i.e. a platform-side failure.",
            "Data Factory reports a SystemError: retry the run; if it repeats, open a support "
            "case with the activity run id.",
        )
    if ("usererror" in kind or "userconfiguration" in kind or kind == "user") and not transient:
        return f" {USER_ERROR_NOTE}", ""
    return "", ""


def _stated(text: str) -> str:
    """What the message itself states, innermost error first, as a plain-text excerpt."""
    return excerpt(innermost_error(text))


def _quote(stated: str) -> str:
    closing = "" if stated.endswith((".", "!", "?", "…")) else "."
    return f" The error says: “{stated}”{closing}"


def _only_informational(lines: str) -> str:
    closing = "" if lines.endswith((".", "!", "?", "…")) else "."
    return f" Its text states no failure, only what was done or found: “{lines}”{closing}"


def _best_match(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    # Alternatives that detect (e.g. "NotNullViolation") often come before the ones that
    # capture a name (column "x"), so prefer the first match that captured something.
    if not pattern.groups:
        return pattern.search(text)
    first = None
    for match in pattern.finditer(text):
        if any(match.groups()):
            return match
        first = first or match
    return first


def _finalise(recs: list[str], error_type: str) -> list[str]:
    unique = list(dict.fromkeys(r for r in recs if r))
    if len(unique) < 3:
        fallback = TEMPLATES.get(error_type, TEMPLATES["Unknown"]).recommendations
        unique.extend(r for r in fallback if r not in unique)
    return unique[:5]


def _detail(details: Mapping[str, Any], *keys: str) -> str:
    for key in keys:
        value = details.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return clean_value(value)
    return ""


def build_rule_rca(
    error_type: str,
    message: str,
    *,
    pipeline: str = "",
    source: str = "",
    details: Mapping[str, Any] | None = None,
    unread: str = "",
    errors: Sequence[str] = (),
) -> RuleRca:
    """`unread`: why the failure's error text is not known (its alert carried none and it could
    not be fetched); the message is then the service's account of the alert, not an error.
    `errors`: the separate errors `message` joins (a log's innermost exception, its failure and
    its first error). The rules read them all, but the root cause quotes one: the first the
    explaining rule matches, or the first of all when no rule explains the message."""
    details = details or {}
    error_type = error_type if error_type in TEMPLATES else "Unknown"
    error_code = _detail(details, "error_code", "errorCode", "code")
    scanned = scan_window(message or "")
    text = scanned
    if error_code and error_code.lower() not in text.lower():
        # Codes given only in the details (e.g. "DF-Executor-OutOfMemoryError") still count.
        text = f"{text}\n{error_code}"
    # A rule is chosen by the error, not by the informational lines around it, but may name
    # what those state when the error does not (the URL an INFO line says a request went to):
    # they come after it, so a value the error states is found first.
    around = informational_lines(message or "") if scanned is not message else ""
    ctx = Context(
        text=f"{text}\n{around}" if around else text,
        source=clean_value(source),
        pipeline=clean_value(pipeline),
        activity=_detail(details, "activity", "activity_name", "activityName"),
        error_code=error_code,
        failure_type=_detail(details, "failure_type", "failureType"),
        # An Airflow task's operator; an Azure alert's "operator" is its condition's.
        operator=_detail(details, "operator", "task_operator") if source == "airflow" else "",
        trigger=_detail(details, "trigger"),
    )
    if unread:
        type_note, type_rec = _failure_type_note(ctx, None)
        root_cause = (
            f"{_subject(ctx)} failed; its alert carries no error text, so the cause is not"
            f" known yet: {unread.rstrip('.')}.{type_note}"
        )
        recs = [type_rec, *UNREAD_RECOMMENDATIONS]
        return RuleRca(
            root_cause=root_cause.strip(),
            recommendations=_finalise(recs, "Unknown"),
            confidence=UNKNOWN_CONFIDENCE,
        )
    finding: Finding | None = None
    rule_name = ""
    quoted = scanned
    if errors:
        quoted = scan_window(errors[0])
    if text.strip():
        for rule in RULES:
            if error_type not in rule.classes:
                continue
            match = _best_match(rule.pattern, text)
            if match:
                finding = rule.build(match, ctx)
                if finding is None:  # the rule declined: the next one may explain it
                    continue
                rule_name = rule.name
                quoted = next(
                    (
                        window
                        for window in map(scan_window, errors)
                        if _best_match(rule.pattern, window)
                    ),
                    quoted,
                )
                break

    stated = _stated(quoted)
    if finding is not None:
        type_note, type_rec = _failure_type_note(ctx, finding.transient)
        cause = finding.cause[:1].upper() + finding.cause[1:]
        root_cause = f"{_subject(ctx)} failed: {cause}{_code_suffix(ctx, cause)}."
        if stated and not carries_what_it_states(cause, stated):
            root_cause += _quote(stated)
        root_cause += type_note
        recs = list(finding.recommendations)
        confidence = finding.confidence
    else:
        type_note, type_rec = _failure_type_note(ctx, None)
        template = TEMPLATES[error_type]
        root_cause = template.cause.format(subject=_subject(ctx))
        root_cause += _code_suffix(ctx, root_cause) + "."
        if stated:
            root_cause += _quote(stated)
        elif around and not scanned.strip():
            root_cause += _only_informational(excerpt(around))
        root_cause += type_note
        recs = list(template.recommendations)
        confidence = UNKNOWN_CONFIDENCE if error_type == "Unknown" else TEMPLATE_CONFIDENCE
    if type_rec:
        recs.insert(0, type_rec)
    return RuleRca(
        root_cause=root_cause.strip(),
        recommendations=_finalise(recs, error_type),
        confidence=round(min(confidence, MAX_CONFIDENCE), 2),
        rule=rule_name,
    )
