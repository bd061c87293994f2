"""A log-analysis report as Markdown (for a JIRA comment, a wiki page, a post-mortem).

Log text is untrusted: every excerpt sits in a code span or block whose fence is longer than
any backtick run inside it, and prose fields have Markdown's active characters escaped, so a
log line cannot inject links, images or HTML into whatever renders the export. No Django import.
"""

from __future__ import annotations

import re
from typing import Any

_ACTIVE = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def _escape(text: Any) -> str:
    return _ACTIVE.sub(r"\\\1", " ".join(str(text or "").split()))


def _fence(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _code_block(lines: list[str]) -> list[str]:
    body = "\n".join(lines)
    fence = _fence(body)
    return [f"{fence}text", body, fence]


def _where(item: dict[str, Any]) -> str:
    when = f" {item['time']}" if item.get("time") else ""
    return f"{item.get('file', '')}:{item.get('line', '')}{when}"


def report_markdown(job: dict[str, Any], report: dict[str, Any] | None) -> str:
    """``job``: id, status, created_at, ticket_id, files; ``report``: the job's report."""
    out = [f"# Log analysis {_escape(job['id'])}", ""]
    out.append(f"- Status: {_escape(job['status'])}")
    if job.get("ticket_id"):
        out.append(f"- Ticket: {_escape(job['ticket_id'])}")
    out.append(f"- Created: {_escape(job.get('created_at', ''))}")
    if not report:
        if job.get("error"):
            out.append(f"- Error: {_escape(job['error'])}")
        return "\n".join(out) + "\n"
    summary = report.get("summary", {})
    out.append(f"- Files: {_escape(', '.join(summary.get('files', [])))}")
    out.append(
        f"- Lines: {summary.get('lines', 0):,}; from {_escape(summary.get('start') or '?')} "
        f"to {_escape(summary.get('end') or '?')}"
    )
    levels = ", ".join(f"{k} {v:,}" for k, v in summary.get("levels", {}).items())
    out.append(f"- Levels: {_escape(levels)}")
    out += ["", "## Root cause", "", _escape(report.get("root_cause", "")), ""]
    out.append(
        f"Error type: {_escape(report.get('error_type', ''))}; "
        f"confidence {float(report.get('confidence') or 0):.2f}; "
        f"source: {_escape(report.get('rca_source', ''))} ({_escape(report.get('rca_note', ''))})"
    )
    recommendations = report.get("recommendations", [])
    if recommendations:
        out += ["", "## Recommendations", ""]
        out += [f"{i}. {_escape(r)}" for i, r in enumerate(recommendations, 1)]
    cause = report.get("innermost_cause")
    if cause:
        out += ["", "## Innermost cause", ""]
        out += _code_block([f"{cause['type']}: {cause.get('message', '')}"])
    evidence = report.get("evidence", [])
    if evidence:
        out += ["", "## Evidence", ""]
        for item in evidence:
            out.append(f"- {_escape(item['role'])}, {_escape(_where(item))}")
        out.append("")
        out += _code_block([f"{item['line']:>7}  {item['text']}" for item in evidence])
    patterns = report.get("patterns", [])
    if patterns:
        out += [
            "",
            "## Top patterns",
            "",
            "| count | levels | first | last |",
            "|---:|---|---|---|",
        ]
        for p in patterns[:15]:
            levels = " ".join(f"{k}:{v}" for k, v in p.get("levels", {}).items())
            out.append(
                f"| {p['count']:,} | {_escape(levels)} | {_escape(p.get('first_time') or '')} "
                f"| {_escape(p.get('last_time') or '')} |"
            )
        out.append("")
        out += _code_block([f"{p['count']:>9,}  {p['template']}" for p in patterns[:15]])
    similar = report.get("similar", [])
    if similar:
        out += ["", "## Similar tickets", ""]
        out += [
            f"- {_escape(s['id'])} ({_escape(s.get('error_type', ''))}, "
            f"similarity {s.get('similarity', 0):.2f}): {_escape(s.get('root_cause', ''))}"
            for s in similar
        ]
    return "\n".join(out) + "\n"
