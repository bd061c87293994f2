"""The Markdown export of a log analysis (analysis/logs/markdown.py), rendered by a CommonMark
renderer with GitHub's tables and strikethrough (markdown-it-py): ids and timestamps read as
they are, and nothing from the log renders as Markdown or HTML."""

from __future__ import annotations

import html
import re

from markdown_it import MarkdownIt

from analysis.logs.markdown import report_markdown

JOB = {
    "id": "be560d7a-fb1f-4c6e-9d2a-3f1e0c7b8a90",
    "status": "done",
    "created_at": "2026-12-05T07:32:20.758380+00:00",
    "ticket_id": "ADF-20261205-0001",
}
HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](https://evil.example/login)",
    "![pixel](https://evil.example/p.png)",
    "**bold** __strong__ _em_ *em* ~~gone~~",
    "`code` ``double``",
    "&lt;b&gt; &#60;i&#62; &amp;",
    "a | b | c",
    "back\\slash \\*not\\* escaped",
]
LEADING = ["# heading", "> quote", "- item", "+ item", "1. item", "2) item", "=====", "---"]


def render(markdown: str) -> str:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown)


def text_of(rendered: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", rendered))


def report(text: str, first_time: str = "07:30") -> dict:
    return {
        "summary": {
            "files": [f"driver{text}.log", "stdout_2026-12-05.txt"],
            "lines": 1200,
            "start": "2026-12-05 07:30:00.125",
            "end": "2026-12-05 07:32:20",
            "levels": {"ERROR": 3, "WARN": 1},
        },
        "root_cause": text,
        "error_type": "DatabaseError",
        "confidence": 0.6,
        "rca_source": "rules",
        "rca_note": "rule-based: no GEMINI_API_KEY configured",
        "recommendations": [text, f"Grant SELECT on dbo.orders_2026 to adf_loader. {text}"],
        "innermost_cause": {"type": "java.sql.SQLException", "message": text},
        "evidence": [
            {"role": "failure", "file": f"f{text}.log", "line": 7, "time": "07:31", "text": text}
        ],
        "patterns": [
            {
                "count": 3,
                "levels": {"ERROR": 3},
                "first_time": first_time,
                "last_time": "07:31",
                "template": text,
            }
        ],
        "similar": [
            {"id": "ADF-1", "error_type": "DatabaseError", "similarity": 0.9, "root_cause": text}
        ],
    }


def test_ids_timestamps_and_names_read_as_they_are():
    markdown = report_markdown(JOB, report("Login failed for user 'adf_loader' (18456)."))

    assert f"# Log analysis `{JOB['id']}`" in markdown
    assert f"- Created: `{JOB['created_at']}`" in markdown
    assert "- Ticket: `ADF-20261205-0001`" in markdown
    assert "from `2026-12-05 07:30:00.125` to `2026-12-05 07:32:20`" in markdown
    assert "Login failed for user 'adf_loader' (18456)." in markdown
    assert "Grant SELECT on dbo.orders_2026 to adf_loader." in markdown
    assert "source: rules (rule-based: no GEMINI_API_KEY configured)" in markdown
    # Nothing above needed a backslash.
    assert "\\" not in markdown


def test_markdown_or_html_from_the_log_renders_as_the_text_it_is():
    for text in [*HOSTILE, *LEADING]:
        rendered = render(report_markdown(JOB, report(text, first_time=f"07:30|{text}")))
        tags = set(re.findall(r"</?([a-z0-9]+)", rendered))
        assert tags <= {"h1", "h2", "p", "ul", "ol", "li", "code", "pre"} | {
            "table",
            "thead",
            "tbody",
            "tr",
            "th",
            "td",
        }, (text, tags)
        assert "href=" not in rendered, (text, rendered)
        shown = text_of(rendered)
        # The root cause, each recommendation, the evidence, the similar ticket's root cause.
        assert shown.count(" ".join(text.split())) >= 5, (text, shown)
        # One table: the patterns', with its four cells (a `|` in a cell did not split it).
        assert rendered.count("<td") == 4, (text, rendered)
        assert f"<code>07:30|{html.escape(' '.join(text.split()), quote=False)}</code>" in (
            rendered
        ), (text, rendered)


def test_a_report_less_job_shows_its_error_as_text():
    rendered = render(report_markdown({**JOB, "error": "# <b>boom</b>"}, None))

    assert "<b>" not in rendered and "<h1>Log analysis" in rendered
    assert "- Error:" not in text_of(rendered) and "Error: # <b>boom</b>" in text_of(rendered)
