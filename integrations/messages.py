"""What a ticket looks like at each target: Slack Block Kit, JIRA text, the evidence files.

Error text and RCA text are untrusted: in Slack mrkdwn they are escaped (no `<!channel>`, no
forged links), in JIRA they sit in {noformat} blocks.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings

from integrations.parsers.slack_actions import INPUT_BLOCK_PREFIX
from tickets.models import Status, Ticket

SEVERITY_EMOJI = {
    "Critical": ":red_circle:",
    "High": ":large_orange_circle:",
    "Medium": ":large_yellow_circle:",
    "Low": ":white_circle:",
}
JIRA_PRIORITY = {"P1": "Highest", "P2": "High", "P3": "Medium", "P4": "Low"}
SLACK_ACK_ACTION, SLACK_TAKE_ACTION = "rca_acknowledge", "rca_take"
SLACK_RESOLVE_ACTION = "rca_resolve"
# A text box under the buttons: typing what fixed it and pressing Enter resolves with that fix.
SLACK_FIX_ACTION = "rca_resolve_with_fix"


def ticket_url(ticket: Ticket) -> str:
    return f"{settings.PUBLIC_BASE_URL}/tickets/{ticket.pk}/"


def jira_url(key: str) -> str:
    return f"{settings.JIRA_URL.rstrip('/')}/browse/{key}" if settings.JIRA_URL else ""


def slack_escape(text: str, limit: int = 2900) -> str:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped if len(escaped) <= limit else escaped[: limit - 1] + "…"


def _status_line(ticket: Ticket) -> str:
    if ticket.status == Status.RESOLVED:
        return f":white_check_mark: Resolved by {slack_escape(ticket.resolved_by, 80)}"
    if ticket.status == Status.ACKNOWLEDGED:
        return f":eyes: Acknowledged by {slack_escape(ticket.ack_user, 80)}"
    if ticket.status == Status.IN_PROGRESS:
        return ":hammer_and_wrench: In progress"
    if ticket.resolved_at_source_at:
        return ":large_green_circle: Open (recovered at the source)"
    return ":rotating_light: Open"


def slack_alert(ticket: Ticket) -> tuple[str, list[dict[str, Any]]]:
    """The alert's fallback text and blocks, for the ticket as it is now."""
    emoji = SEVERITY_EMOJI.get(ticket.severity, "")
    title = f"{ticket.severity} · {ticket.pipeline}"[:150]
    text = (
        f"{emoji} {ticket.severity} failure in {slack_escape(ticket.pipeline, 200)} ({ticket.pk})"
    )
    links = [f"<{ticket_url(ticket)}|{ticket.pk}>"]
    if ticket.itsm_ticket_id and jira_url(ticket.itsm_ticket_id):
        links.append(f"<{jira_url(ticket.itsm_ticket_id)}|{ticket.itsm_ticket_id}>")
    rca = ticket.rca_result or "Analysis in progress…"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"{emoji} {title}"[:150]}},
        *_last_time_blocks(ticket),
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Status*\n{_status_line(ticket)}"},
                {
                    "type": "mrkdwn",
                    "text": f"*Severity / priority*\n{ticket.severity} / {ticket.priority}",
                },
                {"type": "mrkdwn", "text": f"*Error class*\n{ticket.error_type}"},
                {"type": "mrkdwn", "text": f"*Occurrences*\n{ticket.occurrence_count}"},
                {"type": "mrkdwn", "text": f"*Owner*\n{slack_escape(ticket.finops_team, 100)}"},
                {"type": "mrkdwn", "text": f"*SLA*\n{ticket.sla_status}"},
            ],
        },
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"*Root cause*\n{slack_escape(rca, 1500)}"},
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(links)}]},
    ]
    if ticket.status != Status.RESOLVED:
        buttons = []
        if ticket.status != Status.ACKNOWLEDGED:
            buttons.append(
                {
                    "type": "button",
                    "action_id": SLACK_ACK_ACTION,
                    "text": {"type": "plain_text", "text": "Acknowledge"},
                    "style": "primary",
                    "value": ticket.pk,
                }
            )
        if ticket.status == Status.OPEN:
            buttons.append(
                {
                    "type": "button",
                    "action_id": SLACK_TAKE_ACTION,
                    "text": {"type": "plain_text", "text": "Take it"},
                    "value": ticket.pk,
                }
            )
        buttons.append(
            {
                "type": "button",
                "action_id": SLACK_RESOLVE_ACTION,
                "text": {"type": "plain_text", "text": "Resolve"},
                "value": ticket.pk,
            }
        )
        blocks.append({"type": "actions", "block_id": f"rca:{ticket.pk}", "elements": buttons})
        blocks.append(
            {
                "type": "input",
                "block_id": f"{INPUT_BLOCK_PREFIX}{ticket.pk}",
                "dispatch_action": True,
                "optional": True,
                "label": {"type": "plain_text", "text": "What fixed it? (Enter resolves)"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": SLACK_FIX_ACTION,
                    "dispatch_action_config": {"trigger_actions_on": ["on_enter_pressed"]},
                },
            }
        )
    return text, blocks


def last_time(ticket: Ticket) -> str:
    """`Last time (ticket, date, who): <fix>`, the best fix recorded for a failure like this
    one (set by the analysis), or ""."""
    fixes = ticket.details.get("previous_fixes") or []
    return str(fixes[0].get("headline", "")) if fixes and isinstance(fixes[0], dict) else ""


def _last_time_blocks(ticket: Ticket) -> list[dict[str, Any]]:
    headline = last_time(ticket)
    if not headline:
        return []
    return [{"type": "section", "text": {"type": "mrkdwn", "text": slack_escape(headline, 1500)}}]


def _noformat(text: str) -> str:
    return "{noformat}\n" + text.replace("{noformat}", "{ noformat}") + "\n{noformat}"


def jira_summary(ticket: Ticket) -> str:
    return f"[{ticket.severity}] {ticket.pipeline}: {ticket.error_type} ({ticket.pk})"[:250]


def jira_description(ticket: Ticket) -> str:
    recommendations = "\n".join(f"# {_noformat_inline(r)}" for r in ticket.recommendations)
    headline = last_time(ticket)
    return "\n".join(
        [
            *(["h3. Seen before", _noformat(headline)] if headline else []),
            f"h3. Root cause ({ticket.get_rca_source_display()})",
            _noformat(ticket.rca_result or "Analysis in progress."),
            "h3. Recommendations",
            recommendations or "(none yet)",
            "h3. Failure",
            f"*Pipeline:* {_noformat_inline(ticket.pipeline)}",
            f"*Source:* {ticket.source} · *Run:* {_noformat_inline(ticket.run_id)}",
            f"*Severity / priority:* {ticket.severity} / {ticket.priority} · "
            f"*Owner:* {_noformat_inline(ticket.finops_team)}",
            _noformat(ticket.error_message[:20000]),
            f"[Ticket {ticket.pk}|{ticket_url(ticket)}]",
        ]
    )


def _noformat_inline(text: str) -> str:
    """One line of untrusted text with JIRA's markup characters neutralized."""
    table = str.maketrans({c: " " for c in "{}[]|*_+^~-!#"})
    return " ".join(str(text).translate(table).split())[:500]


def jira_comment(action: str, actor_name: str, note: str = "") -> str:
    line = f"{actor_name} set the ticket to {action.replace('_', ' ')} in the RCA service."
    return f"{line}\n{_noformat(note)}" if note else line


def slack_thread_text(action: str, actor_name: str, via: str) -> str:
    return f"{slack_escape(actor_name, 80)} — {action.replace('_', ' ')} (via {via})"


def evidence_files(ticket: Ticket, deliveries: list[Any]) -> dict[str, tuple[bytes, str]]:
    """The evidence kept in Blob: raw payloads, normalized events, the RCA as JSON and Markdown."""
    files: dict[str, tuple[bytes, str]] = {}
    for delivery in deliveries:
        files[f"payloads/{delivery.tracking_id}.json"] = (
            delivery.raw_body.encode(),
            "application/json",
        )
        files[f"events/{delivery.tracking_id}.json"] = (
            json.dumps(delivery.event, indent=2).encode(),
            "application/json",
        )
    report = {
        "ticket_id": ticket.pk,
        "pipeline": ticket.pipeline,
        "run_id": ticket.run_id,
        "source": ticket.source,
        "error_type": ticket.error_type,
        "severity": ticket.severity,
        "priority": ticket.priority,
        "root_cause": ticket.rca_result,
        "recommendations": ticket.recommendations,
        "confidence": ticket.confidence,
        "rca_source": ticket.rca_source,
        "rca_note": ticket.rca_note,
        "error_message": ticket.error_message,
        "similar": ticket.details.get("similar", []),
    }
    files["rca.json"] = (json.dumps(report, indent=2).encode(), "application/json")
    recommendations = "\n".join(f"{i}. {r}" for i, r in enumerate(ticket.recommendations, 1))
    markdown = (
        f"# {ticket.pk}: {ticket.pipeline}\n\n"
        f"**{ticket.severity} / {ticket.priority}** · {ticket.error_type} · "
        f"RCA by {ticket.rca_source} (confidence {ticket.confidence})\n\n"
        f"## Root cause\n\n{ticket.rca_result}\n\n## Recommendations\n\n{recommendations}\n\n"
        f"## Error\n\n```\n{ticket.error_message}\n```\n"
    )
    files["rca.md"] = (markdown.encode(), "text/markdown")
    return files
