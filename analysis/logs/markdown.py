"""A log-analysis report as Markdown (for a JIRA comment, a wiki page, a post-mortem).

Log text is untrusted, and so is much of the report (root causes and recommendations quote it,
file names are the uploader's). None of it can add links, images, HTML, emphasis, headings or
other blocks to what a CommonMark or GitHub renderer makes of the export (one that links bare
URLs still links them, as the URL itself), and the text stays readable as it is:

- excerpts sit in code blocks, and ids, timestamps and file names in code spans, each fenced by
  more backticks than any run inside it, so nothing in them is escaped or rendered;
- prose (root cause, recommendations, notes) has escaped only the characters Markdown or HTML
  give a meaning inside a line (backslash, backtick, `*`, `[`, `]`, `<`, `~`, `|`, an `&` that
  starts a character reference, a `_` not between two letters or digits) and, at its start,
  one that would open a block (`#`, `>`, `-`, `+`, `=`, `1.`): `.`, `-`, `(`, `:` and the
  like inside a line mean nothing there and are left as they are.

No Django import.
"""

from __future__ import annotations

import re
from typing import Any

# Inline Markdown and HTML: escaped wherever they appear. A `_` between two letters or digits
# opens and closes no emphasis (CommonMark), so `snake_case` and `adf_loader` stay as they are.
_INLINE = re.compile(r"[\\`*\[\]<~|]|&(?=#?\w+;)|(?<![^\W_])_|_(?![^\W_])")
# What opens a block at the start of a line: a heading, quote, list item, setext underline.
_BLOCK_START = re.compile(r"^(?:[#>+=-]|\d{1,9}(?=[.)]))")


def escape_prose(text: Any) -> str:
    """Prose as Markdown that renders as the same text (whitespace collapsed), on one line."""
    plain = " ".join(str(text or "").split())
    escaped = _INLINE.sub(lambda m: "\\" + m.group(), plain)
    # "1. x": the digits stay, the dot after them is escaped.
    return _BLOCK_START.sub(
        lambda m: m.group() + "\\" if m.group()[0].isdigit() else "\\" + m.group(), escaped
    )


def _code(text: Any, *, in_table: bool = False) -> str:
    """A code span showing `text` (whitespace collapsed) as it is; empty text is shown as "-".
    In a table cell a `|` is escaped too: GFM splits cells on it even inside a code span."""
    plain = " ".join(str(text or "").split()) or "-"
    if in_table:
        plain = plain.replace("|", "\\|")
    ticks = "`" * (max((len(m) for m in re.findall(r"`+", plain)), default=0) + 1)
    # A span's content that starts or ends with a backtick is padded: one space each side is
    # dropped when rendered.
    pad = " " if plain.startswith("`") or plain.endswith("`") else ""
    return f"{ticks}{pad}{plain}{pad}{ticks}"


def _fence(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def code_block(lines: list[str]) -> list[str]:
    body = "\n".join(lines)
    fence = _fence(body)
    return [f"{fence}text", body, fence]


def _where(item: dict[str, Any]) -> str:
    when = f", {_code(item['time'])}" if item.get("time") else ""
    return f"{_code(item.get('file', ''))} line {item.get('line', '')}{when}"


def report_markdown(job: dict[str, Any], report: dict[str, Any] | None) -> str:
    """``job``: id, status, created_at, ticket_id, files; ``report``: the job's report."""
    out = [f"# Log analysis {_code(job['id'])}", ""]
    out.append(f"- Status: {escape_prose(job['status'])}")
    if job.get("ticket_id"):
        out.append(f"- Ticket: {_code(job['ticket_id'])}")
    out.append(f"- Created: {_code(job.get('created_at', ''))}")
    if not report:
        if job.get("error"):
            out.append(f"- Error: {escape_prose(job['error'])}")
        return "\n".join(out) + "\n"
    summary = report.get("summary", {})
    out.append(f"- Files: {', '.join(_code(name) for name in summary.get('files', []))}")
    out.append(
        f"- Lines: {summary.get('lines', 0):,}; from {_code(summary.get('start') or '?')} "
        f"to {_code(summary.get('end') or '?')}"
    )
    if summary.get("lines_cut"):
        out.append(
            f"- Lines cut: {summary['lines_cut']:,} (longer than the line limit: their start and "
            "end were read)"
        )
    levels = ", ".join(f"{k} {v:,}" for k, v in summary.get("levels", {}).items())
    out.append(f"- Levels: {escape_prose(levels)}")
    out += ["", "## Root cause", "", escape_prose(report.get("root_cause", "")), ""]
    out.append(
        f"Error type: {escape_prose(report.get('error_type', ''))}; "
        f"confidence {float(report.get('confidence') or 0):.2f}; "
        f"source: {escape_prose(report.get('rca_source', ''))} "
        f"({escape_prose(report.get('rca_note', ''))})"
    )
    recommendations = report.get("recommendations", [])
    if recommendations:
        out += ["", "## Recommendations", ""]
        out += [f"{i}. {escape_prose(r)}" for i, r in enumerate(recommendations, 1)]
    cause = report.get("innermost_cause")
    if cause:
        out += ["", "## Innermost cause", ""]
        out += code_block([f"{cause['type']}: {cause.get('message', '')}"])
    evidence = report.get("evidence", [])
    if evidence:
        out += ["", "## Evidence", ""]
        for item in evidence:
            out.append(f"- {escape_prose(item['role'])}: {_where(item)}")
        out.append("")
        out += code_block([f"{item['line']:>7}  {item['text']}" for item in evidence])
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
            first, last = p.get("first_time"), p.get("last_time")
            out.append(
                f"| {p['count']:,} | {_code(levels, in_table=True)} "
                f"| {_code(first, in_table=True)} | {_code(last, in_table=True)} |"
            )
        out.append("")
        out += code_block([f"{p['count']:>9,}  {p['template']}" for p in patterns[:15]])
    similar = report.get("similar", [])
    if similar:
        out += ["", "## Similar tickets", ""]
        out += [
            f"- {_code(s['id'])} ({escape_prose(s.get('error_type', ''))}, "
            f"similarity {s.get('similarity', 0):.2f}): {escape_prose(s.get('root_cause', ''))}"
            for s in similar
        ]
    return "\n".join(out) + "\n"
