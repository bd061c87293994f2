"""Slack: one alert per ticket that follows the ticket's state, with its buttons.

The transport wraps `slack_sdk.WebClient` (bot token). Exactly one alert per ticket although
chat.postMessage takes no idempotency key: each alert carries message metadata
`{"event_type": "rca_ticket_alert", "event_payload": {"ticket_id": ...}}`, each post sent is
counted first, a retry looks for a tagged alert before posting, and a reconcile delivery removes
what a late request posted twice (see integrations/fanout.py). A thread reply is tagged with its
delivery's key and found by a retry the same way, in its thread (`reply_once`), as is an
incident's notice to another channel, in that channel's history; replies and notices have no
reconcile.

Error and RCA text are untrusted: in Slack mrkdwn they are escaped (no `<!channel>`, no forged
links); an RCA sits in rich_text, where nothing in it is markup.
"""

from __future__ import annotations

import http.client
import logging
import re
import zlib
from collections.abc import Callable, Mapping
from datetime import UTC
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from analysis.rules.reading import cut_at_boundary
from integrations import remediation as service
from integrations.models import (
    OutboundDelivery,
    OutboundStatus,
    Remediation,
    RemediationStatus,
)
from integrations.pacing import Pace
from integrations.parsers.slack_actions import INPUT_BLOCK_PREFIX, REMEDIATION_BLOCK_PREFIX
from integrations.targets import jira
from integrations.targets.base import (
    DEFAULT_TIMEOUT,
    INCIDENT_CHANGE_WORDS,
    RECOVERED_BEFORE_PAGING,
    TRANSIENT_STATUSES,
    Action,
    Change,
    FollowUp,
    IncidentChange,
    NotSent,
    Target,
    TransportError,
    Waiting,
    changed_member,
    count_send,
    earlier_sends,
    fix_to_tell,
    fresh_ticket,
    header,
    incident_after_paging,
    incident_delivery_key,
    incident_of,
    incident_page,
    incident_url,
    last_time,
    left_unpaged,
    member_approval_key,
    member_links,
    naming_destination,
    page_on_its_way,
    parse_retry_after,
    reconcile_later,
    reconciled,
    recovered_before_paging,
    safe_url,
    source_links,
    ticket_url,
    told_with_its_success,
    via_words,
    wait_for,
    wait_for_incident,
)
from tickets import incidents, lifecycle
from tickets.lifecycle import REROUTED, Actor
from tickets.models import ActorKind, AuditLog, Incident, IncidentEvent, RcaSource, Ticket
from tickets.vocabulary import Severity, SlaStatus, Status

logger = logging.getLogger(__name__)

POST, SYNC, RECONCILE = "slack_post", "slack_sync", "slack_reconcile"
INCIDENT_POST, INCIDENT_UPDATE, INCIDENT_LINK, INCIDENT_NOTICE, INCIDENT_REPLY = (
    "slack_inc_post",
    "slack_inc_update",
    "slack_inc_link",
    "slack_inc_notice",
    "slack_inc_reply",
)
INCIDENT_APPROVAL = "slack_inc_approval"
SLACK_INCIDENT_EVENT_TYPE = "rca_incident_alert"
# How a failed create call's recorded error starts (the transport's wording).
CREATE_CALL = "Slack chat.postMessage"
SLACK_EVENT_TYPE = "rca_ticket_alert"
# A thread reply's metadata: {"event_type": SLACK_REPLY_EVENT_TYPE, "event_payload":
# {"delivery": <its OutboundDelivery's key>}}, what a retry finds it by.
SLACK_REPLY_EVENT_TYPE = "rca_thread_reply"
# An incident notice's metadata, tagged like a reply (by its delivery's key) and found in its
# channel's history.
SLACK_NOTICE_EVENT_TYPE = "rca_incident_notice"
# Slack ts come from Slack's clock, `created_at` from ours: look that much further back.
CLOCK_SKEW_SECONDS = 120
SEVERITY_EMOJI: dict[str, str] = {
    Severity.CRITICAL: ":red_circle:",
    Severity.HIGH: ":large_orange_circle:",
    Severity.MEDIUM: ":large_yellow_circle:",
    Severity.LOW: ":white_circle:",
}
SLACK_ACK_ACTION, SLACK_TAKE_ACTION = "rca_acknowledge", "rca_take"
SLACK_RESOLVE_ACTION = "rca_resolve"
# A text box under the buttons: typing what fixed it and pressing Enter resolves with that fix.
SLACK_FIX_ACTION = "rca_resolve_with_fix"
SLACK_APPROVE_ACTION, SLACK_DECLINE_ACTION = "rca_remediation_approve", "rca_remediation_decline"
# On a failed last attempt people may retry (`remediation.retryable`): its value names it.
SLACK_RETRY_ACTION = "rca_remediation_retry"
# The buttons on an incident's message: their value is the incident's id; they act on every
# member at once (tickets/incidents.py `act`).
SLACK_INCIDENT_ACK_ACTION = "rca_incident_acknowledge"
SLACK_INCIDENT_TAKE_ACTION = "rca_incident_take"
SLACK_INCIDENT_RESOLVE_ACTION = "rca_incident_resolve"
# Changes the alert follows; those in THREADED also get a line in its thread.
FOLLOWED = {
    "acknowledge",
    "start_progress",
    "resolve",
    "reopen",
    "regressed",
    "recurred",
    lifecycle.JOBS_FAILED_TOGETHER,
    "resolved_at_source",
    "sla_breached",
    "jira_linked",
    "jira_unlinked",  # its issue deleted in JIRA: the link goes
    REROUTED,  # the team and owner it shows
    lifecycle.ESCALATED,  # the severity and priority of the outage a notice became
    "analysed",
    "remediation_awaiting_approval",
    "remediation_approved",  # started or held by people's approval (its buttons go)
    "remediation_held",  # once retried (its Retry button goes)
    "remediation_running",
    "remediation_skipped",
    "remediation_skipped_on_resolve",  # the resolve's thread line says so already
    "remediation_declined",
    "remediation_expired",
    "remediation_failed",
    "remediation_succeeded",
}
THREADED = {
    "acknowledge",
    "start_progress",
    "resolve",
    "reopen",
    "regressed",
    lifecycle.JOBS_FAILED_TOGETHER,
    "resolved_at_source",
    "sla_breached",
    "remediation_approved",
    "remediation_skipped",
    "remediation_declined",
    "remediation_expired",
    "remediation_failed",
    "remediation_succeeded",
}


# --- transport ----------------------------------------------------------------------------------


_SLACK_TRANSIENT_ERRORS = {
    "ratelimited",
    "rate_limited",
    "fatal_error",
    "internal_error",
    "service_unavailable",
    "request_timeout",
}


class SlackTransport:
    """Slack Web API through `slack_sdk.WebClient` (bot token)."""

    name = "slack"

    def __init__(
        self, token: str, *, base_url: str | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        from slack_sdk import WebClient

        kwargs: dict[str, Any] = {}
        if base_url:
            kwargs["base_url"] = base_url.rstrip("/") + "/"  # the client joins "<base>" + "chat..."
        self.timeout = timeout
        self._channel_ids: dict[str, str] = {}  # channel name -> id, learned from answers
        # retry_handlers=[]: no retries behind our back (the default retries connection errors).
        # slack_sdk annotates `timeout` as int but hands it to urllib, which takes a float.
        self._client = WebClient(token=token, timeout=timeout, retry_handlers=[], **kwargs)  # type: ignore[arg-type]

    @classmethod
    def from_settings(cls) -> SlackTransport | None:
        from django.conf import settings

        token = settings.SLACK_BOT_TOKEN
        if not token:
            return None
        base_url = settings.SLACK_BASE_URL or None
        return cls(token, base_url=base_url, timeout=settings.OUTBOUND_TIMEOUT_SECONDS)

    def post_message(
        self,
        channel: str,
        *,
        text: str,
        blocks: list[dict],
        metadata: dict[str, Any] | None = None,
    ) -> tuple[str, str]:
        """Post to a channel (name or id); returns the channel id and the message ts.
        `metadata`: Slack message metadata, {"event_type": str, "event_payload": {...}}."""
        extra = {"metadata": metadata} if metadata else {}
        response = self._call(
            "chat.postMessage",
            self._client.chat_postMessage,
            channel=channel,
            text=text,
            blocks=blocks,
            **extra,
        )
        self._channel_ids[channel.lstrip("#")] = response["channel"]
        remember_channel(channel, response["channel"])
        return response["channel"], response["ts"]

    def channel_id(self, channel: str) -> str | None:
        """The id of a channel given by id or by name; None for a name this client has not
        posted to yet (resolving names would need conversations.list and channels:read)."""
        if _SLACK_CHANNEL_ID.fullmatch(channel):
            return channel
        return self._channel_ids.get(channel.lstrip("#"))

    def tagged_messages(
        self,
        channel_id: str,
        *,
        event_type: str,
        payload: Mapping[str, Any],
        oldest: float,
        page_size: int = 200,
        max_pages: int = 10,
    ) -> list[str]:
        """The ts of the channel's messages since `oldest` (unix time) whose metadata has
        `event_type` and an event_payload containing `payload`, the oldest first.

        Reads conversations.history with include_all_metadata (the bot token needs
        channels:history, or groups:history for a private channel)."""
        found: list[str] = []
        cursor: str | None = None
        for _ in range(max_pages):
            response = self._call(
                "conversations.history",
                self._client.conversations_history,
                channel=channel_id,
                oldest=f"{max(oldest, 0.0):.6f}",
                inclusive=True,
                limit=page_size,
                include_all_metadata=True,
                **({"cursor": cursor} if cursor else {}),
            )
            found += _tagged(response, event_type, payload)
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not (response.get("has_more") and cursor):
                break
        return sorted(set(found), key=_ts_order)

    def tagged_replies(
        self,
        channel_id: str,
        thread_ts: str,
        *,
        event_type: str,
        payload: Mapping[str, Any],
        oldest: float,
        page_size: int = 200,
        max_pages: int = 10,
    ) -> list[str]:
        """The ts of the replies under `thread_ts` since `oldest` (unix time) whose metadata has
        `event_type` and an event_payload containing `payload`, the oldest first.

        Reads conversations.replies with include_all_metadata (the scopes of
        conversations.history)."""
        found: list[str] = []
        cursor: str | None = None
        for _ in range(max_pages):
            response = self._call(
                "conversations.replies",
                self._client.conversations_replies,
                channel=channel_id,
                ts=thread_ts,
                oldest=f"{max(oldest, 0.0):.6f}",
                inclusive=True,
                limit=page_size,
                include_all_metadata=True,
                **({"cursor": cursor} if cursor else {}),
            )
            found += [ts for ts in _tagged(response, event_type, payload) if ts != thread_ts]
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not (response.get("has_more") and cursor):
                break
        return sorted(set(found), key=_ts_order)

    def permalink(self, channel_id: str, ts: str) -> str:
        """Slack's link to a message (`chat.getPermalink`: no scope needed, hundreds of calls a
        minute); '' when the answer holds no http(s) link."""
        response = self._call(
            "chat.getPermalink",
            self._client.chat_getPermalink,
            channel=channel_id,
            message_ts=ts,
        )
        return safe_url(response.get("permalink"))

    def delete_message(self, channel_id: str, ts: str) -> bool:
        """Delete one of the bot's messages; False when it was already gone."""
        try:
            self._call("chat.delete", self._client.chat_delete, channel=channel_id, ts=ts)
        except TransportError as exc:
            if "message_not_found" in str(exc):
                return False
            raise
        return True

    def update_message(self, channel: str, ts: str, *, text: str, blocks: list[dict]) -> None:
        """Replace a message's text and blocks (Slack wants the channel id here)."""
        self._call(
            "chat.update",
            self._client.chat_update,
            channel=channel,
            ts=ts,
            text=text,
            blocks=blocks,
        )

    def reply_in_thread(
        self,
        channel: str,
        thread_ts: str,
        *,
        text: str,
        broadcast: bool = False,
        blocks: list[dict] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> str:
        """Reply under a message; `broadcast`: also show the reply in the channel
        (`reply_broadcast`); `metadata` as for `post_message`."""
        extra: dict[str, Any] = {"reply_broadcast": True} if broadcast else {}
        if blocks:
            extra["blocks"] = blocks
        if metadata:
            extra["metadata"] = metadata
        response = self._call(
            "chat.postMessage",
            self._client.chat_postMessage,
            channel=channel,
            thread_ts=thread_ts,
            text=text,
            **extra,
        )
        return response["ts"]

    def _call(self, method: str, func: Any, **kwargs: Any) -> Any:
        from slack_sdk.errors import SlackApiError, SlackClientError

        try:
            return func(**kwargs)
        except SlackApiError as exc:
            raise _map_slack_api_error(method, exc) from exc
        except (OSError, http.client.HTTPException) as exc:
            # urllib.error.URLError, TimeoutError (socket.timeout), ConnectionError, resets...
            raise TransportError(f"Slack {method}: network error: {exc}", permanent=False) from exc
        except SlackClientError as exc:  # client-side validation: our mistake
            raise TransportError(f"Slack {method}: {exc}", permanent=True) from exc
        except ValueError as exc:  # e.g. an unusable base URL
            raise TransportError(f"Slack {method}: {exc}", permanent=True) from exc


_SLACK_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{6,}")


def _tagged(response: Any, event_type: str, payload: Mapping[str, Any]) -> list[str]:
    """The ts of a history or replies page's messages tagged `event_type` whose metadata's
    event_payload contains `payload`."""
    found = []
    for message in response.get("messages") or []:
        metadata = message.get("metadata") or {}
        event_payload = metadata.get("event_payload") or {}
        if metadata.get("event_type") == event_type and all(
            event_payload.get(k) == v for k, v in payload.items()
        ):
            found.append(str(message["ts"]))
    return found


def _ts_order(ts: str) -> tuple[int, int]:
    """Slack ts ("1712345678.000100") in time order, without float rounding."""
    seconds, _, fraction = ts.partition(".")
    return int(seconds or 0), int((fraction + "000000")[:6])


# The workspace (or the org) blocks the bot, whatever the channel: a Slack admin's setting, not
# something a retry changes. Each is a dead letter at once, saying what to fix; once it is
# fixed, the dead letters are retried from admin.
WORKSPACE_BLOCKS = {
    "restricted_action": (
        "a workspace preference (who may post, in the workspace's or the channel's settings) "
        "stops the bot from posting; a Slack admin must let the app post, then retry this "
        "delivery from admin"
    ),
    "ekm_access_denied": (
        "the workspace's Enterprise Key Management administrators suspended access to its "
        "content; a Slack admin must restore the EKM key's access, then retry this delivery "
        "from admin"
    ),
    "team_access_not_granted": (
        "the bot token is not granted access to this workspace (an org-wide app not added to "
        "it); an Enterprise Grid org admin must add the app to the workspace, then retry this "
        "delivery from admin"
    ),
}


def _map_slack_api_error(method: str, exc: Any) -> TransportError:
    response = exc.response
    status = getattr(response, "status_code", None)
    data = getattr(response, "data", None)
    error = data.get("error", "") if isinstance(data, dict) else ""
    headers = getattr(response, "headers", None)
    retry_after = parse_retry_after(header(headers, "Retry-After"))
    transient = (
        status == 429
        or error in _SLACK_TRANSIENT_ERRORS
        or (status is not None and status >= 500)
        or (status is not None and status in TRANSIENT_STATUSES)
    )
    detail = error or f"HTTP {status}"
    if error in WORKSPACE_BLOCKS:
        detail = f"{error} ({WORKSPACE_BLOCKS[error]})"
    return TransportError(
        f"Slack {method} failed: {detail}",
        permanent=not transient,
        retry_after=retry_after,
        status=status,
    )


# --- messages -----------------------------------------------------------------------------------


def slack_escape(text: str, limit: int = 2900) -> str:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped if len(escaped) <= limit else escaped[: limit - 1] + "…"


# Slack's limit on a block's text: 3,000 characters (a section's, a text object's). A rich_text
# block's own limit is not documented, so its text keeps to this one, heading and "cut" marker
# included. An RCA may be longer (Gemini's is up to 4,000 characters; JIRA and the API show it
# whole).
SLACK_BLOCK_TEXT_LIMIT = 3000


def literal_block(heading: str, text: str, *, whole_at: str, whole_name: str) -> dict[str, Any]:
    """A bold heading over untrusted text shown exactly as it is: a rich_text block's text
    elements are not mrkdwn, so `*`, `_`, `~`, backticks, `<link|...>` and `<!channel>` in an
    RCA stay literal and a quoted path keeps its characters (mrkdwn has no escape for them).
    Text over Slack's limit is cut at a sentence or word boundary and marked as cut, with a
    link to `whole_at`, the page that shows it whole (`whole_name`: "the ticket")."""
    marker = [
        {"type": "text", "text": " [cut: read it whole on "},
        {"type": "link", "url": whole_at, "text": whole_name},
        {"type": "text", "text": "]"},
    ]
    budget = SLACK_BLOCK_TEXT_LIMIT - len(heading) - 1 - sum(len(e["text"]) for e in marker)
    cut = len(text) > budget
    return {
        "type": "rich_text",
        "elements": [
            {
                "type": "rich_text_section",
                "elements": [
                    {"type": "text", "text": heading, "style": {"bold": True}},
                    {"type": "text", "text": f"\n{cut_at_boundary(text, budget)}"},
                    *(marker if cut else []),
                ],
            }
        ],
    }


def sla_words(ticket: Ticket) -> str:
    """While the clock runs, when the response is due (Slack shows it in the reader's own time
    zone; the fallback is UTC), not the bare "Pending"; once it stopped, Met or Breached."""
    if ticket.sla_status != SlaStatus.PENDING or ticket.sla_deadline is None:
        return str(ticket.sla_status)
    due = ticket.sla_deadline.astimezone(UTC)
    return (
        f"Due <!date^{int(due.timestamp())}^{{date_short_pretty}} {{time}}"
        f"|{due:%Y-%m-%d %H:%M} UTC>"
    )


def _status_line(ticket: Ticket) -> str:
    if ticket.status == Status.RESOLVED:
        return f":white_check_mark: Resolved by {slack_escape(ticket.resolved_by, 80)}"
    if ticket.status == Status.ACKNOWLEDGED:
        return f":eyes: Acknowledged by {slack_escape(ticket.ack_user, 80)}"
    if ticket.status == Status.IN_PROGRESS:
        taker = _taken_by(ticket)
        if taker:
            return f":hammer_and_wrench: In progress: taken by {slack_escape(taker, 80)}"
        return ":hammer_and_wrench: In progress"
    if ticket.resolved_at_source_at:
        return ":large_green_circle: Open (recovered at the source)"
    return ":rotating_light: Open"


def _taken_by(ticket: Ticket) -> str:
    """Who took the ticket (its latest `start_progress` audit entry's actor: a Slack click, the
    dashboard, admin, the API, JIRA moving its issue to In Progress); '' when none is recorded.
    Only a take leads to in progress, so the latest one is the one the status is from."""
    return (
        AuditLog.objects.filter(ticket_id=ticket.pk, action="start_progress")
        .order_by("-created_at", "-pk")
        .values_list("actor_name", flat=True)
        .first()
        or ""
    )


def slack_alert(ticket: Ticket) -> tuple[str, list[dict[str, Any]]]:
    """The alert's fallback text and blocks, for the ticket as it is now."""
    emoji = SEVERITY_EMOJI.get(ticket.severity, "")
    instances = f" ({ticket.failed_parts})" if ticket.failed_parts else ""
    # The header's 150 characters: its severity and title first (cut to leave room for the
    # parts, but never below 100 characters: five task keys may be longer than the header),
    # then what fits of the parts, cut short with "…)". The title: an Azure alert's names
    # the resource it is about, not only its rule ("vm-cpu-high on vm-web-03").
    room = 150 - len(emoji) - 1
    head = f"{ticket.severity} · {ticket.title}"[: max(room - len(instances), 100)]
    fits = (
        instances
        if len(head) + len(instances) <= room
        else f"{instances[: room - len(head) - 2]}…)"
    )
    title = head + fits
    text = (
        f"{emoji} {ticket.severity} failure in {slack_escape(ticket.title, 200)}"
        f"{slack_escape(instances, 400)} ({ticket.pk})"
    )
    links = [f"<{ticket_url(ticket)}|{ticket.pk}>"]
    if ticket.itsm_ticket_id and jira.jira_url(ticket.itsm_ticket_id):
        links.append(f"<{jira.jira_url(ticket.itsm_ticket_id)}|{ticket.itsm_ticket_id}>")
    rca = ticket.rca_result or "Analysis in progress…"
    # Which RCA it is, as the JIRA issue and the dashboard say: "Root cause (Gemini)".
    rca_heading = (
        f"Root cause ({ticket.get_rca_source_display()})"
        if ticket.rca_result and ticket.rca_source != RcaSource.PENDING
        else "Root cause"
    )
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
                {"type": "mrkdwn", "text": f"*Team*\n{slack_escape(ticket.finops_team, 100)}"},
                *(
                    [
                        {
                            "type": "mrkdwn",
                            "text": f"*Owner*\n{slack_escape(ticket.finops_owner, 100)}",
                        }
                    ]
                    if ticket.finops_owner
                    else []
                ),
                {"type": "mrkdwn", "text": f"*SLA*\n{sla_words(ticket)}"},
                *(
                    [{"type": "mrkdwn", "text": f"*Culprit*\n{slack_escape(ticket.culprit, 300)}"}]
                    if ticket.culprit
                    else []
                ),
            ],
        },
        literal_block(rca_heading, rca, whole_at=ticket_url(ticket), whole_name="the ticket"),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(links)}]},
        *_source_link_blocks(ticket),
    ]
    blocks.extend(_remediation_blocks(ticket))
    if ticket.status != Status.RESOLVED:
        buttons = _lifecycle_buttons(
            ticket.status,
            ticket.pk,
            (SLACK_ACK_ACTION, "Acknowledge"),
            (SLACK_TAKE_ACTION, "Take it"),
            (SLACK_RESOLVE_ACTION, "Resolve"),
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


def _source_link_blocks(ticket: Ticket) -> list[dict[str, Any]]:
    """The failure in its own tool (`base.source_links`: http(s) only) as rich_text link
    elements: a URL is a field of its own there, so no `|`, `>` or `&` in it can end the link
    or make markup, as in mrkdwn's `<url|text>`. Within a block's 3,000 characters, URLs
    counted; a link that does not fit is left to the ticket's page, and counted."""
    links = source_links(ticket)
    if not links:
        return []
    heading: dict[str, Any] = {"type": "text", "text": "Links: ", "style": {"bold": True}}
    more = " (+99 more on the ticket)"
    budget = SLACK_BLOCK_TEXT_LIMIT - len(heading["text"]) - len(more)
    shown: list[dict[str, Any]] = []
    for label, url in links:
        separator = [{"type": "text", "text": " · "}] if shown else []
        cost = len(url) + len(label) + len(separator) * 3
        if cost <= budget:
            shown += [*separator, {"type": "link", "url": url, "text": label}]
            budget -= cost
    left_out = len(links) - sum(e["type"] == "link" for e in shown)
    if left_out and shown:
        shown.append({"type": "text", "text": f" (+{left_out} more on the ticket)"})
    elif left_out:
        shown = [
            {"type": "text", "text": f"{left_out} "},
            {"type": "link", "url": ticket_url(ticket), "text": "on the ticket"},
        ]
    return [
        {
            "type": "rich_text",
            "elements": [{"type": "rich_text_section", "elements": [heading, *shown]}],
        }
    ]


def _last_time_blocks(ticket: Ticket) -> list[dict[str, Any]]:
    headline = last_time(ticket)
    if not headline:
        return []
    return [{"type": "section", "text": {"type": "mrkdwn", "text": slack_escape(headline, 1500)}}]


def _remediation_blocks(ticket: Ticket) -> list[dict[str, Any]]:
    """The latest remediation: what it is and where it stands; Approve / Decline buttons while
    it awaits approval, a Retry button while people may retry a failed last attempt (Slack
    signs the click; the clicker needs the responder role)."""
    remediation = Remediation.objects.filter(ticket_id=ticket.pk).first()
    if remediation is None:
        return []
    return _remediation_state(ticket, remediation, retry=True)


def _remediation_state(
    ticket: Ticket, remediation: Remediation, *, retry: bool
) -> list[dict[str, Any]]:
    line = (
        f"*Remediation*: {slack_escape(remediation.get_action_display(), 200)} · "
        f"{remediation.get_status_display()}"
    )
    if remediation.reason:
        line += f" ({slack_escape(remediation.reason, 500)})"
    if remediation.status == RemediationStatus.AWAITING_APPROVAL and remediation.expires_at:
        line += (
            f"\nApproval expires <!date^{int(remediation.expires_at.timestamp())}^{{time}}|soon>"
        )
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": line}}]
    buttons: list[dict[str, Any]] = []
    if remediation.status == RemediationStatus.AWAITING_APPROVAL:
        buttons = [
            {
                "type": "button",
                "action_id": SLACK_APPROVE_ACTION,
                "text": {"type": "plain_text", "text": "Approve"},
                "style": "primary",
                "value": str(remediation.pk),
            },
            {
                "type": "button",
                "action_id": SLACK_DECLINE_ACTION,
                "text": {"type": "plain_text", "text": "Decline"},
                "style": "danger",
                "value": str(remediation.pk),
            },
        ]
    elif retry and (again := service.retryable(ticket)) is not None:
        buttons = [
            {
                "type": "button",
                "action_id": SLACK_RETRY_ACTION,
                "text": {"type": "plain_text", "text": "Retry"},
                "value": str(again.pk),
            }
        ]
    if buttons:
        blocks.append(
            {
                "type": "actions",
                # The block names the ticket, each button the remediation it decides: a click
                # on an older message cannot decide a later remediation of the ticket.
                "block_id": f"{REMEDIATION_BLOCK_PREFIX}{ticket.pk}",
                "elements": buttons,
            }
        )
    return blocks


def slack_thread_text(action: str, actor_name: str, via: str) -> str:
    return f"{slack_escape(actor_name, 80)} — {action.replace('_', ' ')} (via {via})"


# --- actions ------------------------------------------------------------------------------------


def _slack_post(slack: SlackTransport, row: OutboundDelivery) -> list[FollowUp] | None:
    ticket = fresh_ticket(row)
    if ticket.slack_ts:
        return None
    if ticket.incident_id:  # it joined an incident before paging: the incident's message covers it
        return _approval_asked_under_incident(ticket) or None
    text, blocks = slack_alert(ticket)
    channel = ticket.slack_channel or settings.SLACK_DEFAULT_CHANNEL
    earlier = earlier_sends(row, CREATE_CALL)
    if earlier == 0 and recovered_before_paging(ticket):
        # Over at its source while its alert waited (its incident grace delay): nobody is
        # paged. An alert an earlier attempt may have posted is looked for and kept instead.
        raise NotSent(RECOVERED_BEFORE_PAGING)
    channel_id = slack.channel_id(channel)
    found: list[str] = []
    if earlier != 0 and channel_id:  # an earlier post may have landed: look before posting
        try:
            found = _slack_alerts(slack, ticket, channel_id)
        except TransportError as exc:
            if not exc.permanent:
                raise
            # E.g. no channels:history scope: the alert matters more than a possible duplicate.
            logger.warning("%s: cannot look for an earlier alert (%s); posting", ticket.pk, exc)
    if channel_id and found:
        ts = found[0]  # nothing is linked yet: keep the oldest
        _remove_slack_duplicates(slack, ticket, channel_id, keep=ts, found=found)
    else:
        count_send(row)
        with naming_destination(ticket.slack_channel, channel, "SLACK_DEFAULT_CHANNEL"):
            channel_id, ts = slack.post_message(
                channel, text=text, blocks=blocks, metadata=_slack_metadata(ticket)
            )
    # Asked before the ticket's row is written (and so locked until this attempt commits): a
    # click changing the ticket meanwhile is not held up by a slow answer.
    permalink = _permalink_of(slack, ticket.pk, channel_id, ts)
    Ticket.objects.filter(pk=ticket.pk).update(
        slack_channel=channel_id, slack_ts=ts, slack_permalink=permalink
    )
    # It joined an incident while its own alert was being posted: a reply points there.
    follow_ups = incident_after_paging(ticket.pk, INCIDENT_LINK)
    if earlier is None or earlier > len(found):  # an earlier post may still land
        follow_ups.append(reconcile_later(RECONCILE))
    return follow_ups or None


def _permalink_of(slack: SlackTransport, paged_id: str, channel_id: str, ts: str) -> str:
    """Slack's permalink of the alert just posted (or found), asked once, for the ticket's page
    and the API, or the incident's (`paged_id`: the ticket's or incident's id). The alert is posted
    already: whatever Slack answers (an error, a 429, a timeout) fails neither this delivery
    nor counts against the target; the link is then '' and not asked again, and the page
    names the channel and ts as before."""
    try:
        return slack.permalink(channel_id, ts)
    except TransportError as exc:
        logger.warning(
            "%s: no permalink for Slack alert %s in %s: %s", paged_id, ts, channel_id, exc
        )
        return ""


def _approval_asked_under_incident(ticket: Ticket) -> list[FollowUp]:
    """A remediation proposed as the ticket was analysed awaits approval still, and the ticket
    joined an incident in its grace delay: the proposal's announcement found no incident to ask
    under (`fanout.schedule_member_remediation`), so the incident's thread asks now, keyed as
    that ask is (whichever comes first asks once)."""
    remediation = Remediation.objects.filter(ticket_id=ticket.pk).first()
    if remediation is None or remediation.status != RemediationStatus.AWAITING_APPROVAL:
        return []
    payload = {"incident_id": ticket.incident_id, "remediation": remediation.pk, "ask": True}
    key = member_approval_key(ticket.pk, INCIDENT_APPROVAL, remediation.pk)
    return [FollowUp(INCIDENT_APPROVAL, payload=payload, key_suffix=key.split(":", 1)[1])]


def _slack_metadata(ticket: Ticket) -> dict[str, Any]:
    return {"event_type": SLACK_EVENT_TYPE, "event_payload": {"ticket_id": ticket.pk}}


def _slack_alerts(slack: SlackTransport, ticket: Ticket, channel_id: str) -> list[str]:
    """The ts of the alerts posted for the ticket in the channel, the oldest first."""
    since = (
        OutboundDelivery.objects.filter(ticket_id=ticket.pk, action=POST)
        .values_list("created_at", flat=True)
        .first()
    ) or ticket.timestamp
    return slack.tagged_messages(
        channel_id,
        event_type=SLACK_EVENT_TYPE,
        payload={"ticket_id": ticket.pk},
        oldest=since.timestamp() - CLOCK_SKEW_SECONDS,
    )


def _slack_reconcile(slack: SlackTransport, row: OutboundDelivery) -> None:
    ticket = fresh_ticket(row)
    if ticket.slack_ts and ticket.slack_channel:
        _remove_slack_duplicates(slack, ticket, ticket.slack_channel, keep=ticket.slack_ts)


def _remove_slack_duplicates(
    slack: SlackTransport,
    ticket: Ticket,
    channel_id: str,
    *,
    keep: str,
    found: list[str] | None = None,
) -> None:
    """Every alert but `keep` carrying the ticket's metadata was posted twice by a retried
    request: delete it. Always deleted: it is the bot's own copy of the same alert, and its
    buttons act on the same ticket; should someone have replied under it, Slack keeps the
    thread under a "This message was deleted." placeholder. Nothing is removed unless the
    alert kept is itself among those found."""
    found = found if found is not None else _slack_alerts(slack, ticket, channel_id)
    extras = [ts for ts in found if ts != keep]
    if not extras:
        return
    if keep not in found:
        logger.warning("%s: Slack alert %s not among %s; nothing removed", ticket.pk, keep, found)
        return
    removed = {ts: "deleted" if slack.delete_message(channel_id, ts) else "gone" for ts in extras}
    logger.warning("%s: duplicate Slack alerts removed, %s kept: %s", ticket.pk, keep, removed)
    lifecycle.write_audit(
        ticket,
        Actor.system("slack"),
        "slack duplicates removed",
        details={"channel": channel_id, "kept": keep, "removed": removed},
    )


# The audit entry of a ticket whose alert someone deleted in Slack (chat.update answered
# message_not_found, or cant_update_message for the "This message was deleted." placeholder
# Slack leaves above a thread): its details name the alert's channel and ts. As for an issue
# deleted in JIRA, no other alert is posted, and later changes are not sent to it.
ALERT_DELETED = "slack alert deleted"
_DELETED_ERRORS = ("message_not_found", "cant_update_message")


def alert_deleted(ticket: Ticket) -> bool:
    """Whether the ticket's alert (its channel and ts now) was found deleted in Slack."""
    return AuditLog.objects.filter(
        ticket_id=ticket.pk,
        action=ALERT_DELETED,
        details__contains={"channel": ticket.slack_channel, "ts": ticket.slack_ts},
    ).exists()


def _says_deleted(exc: TransportError, errors: tuple[str, ...] = _DELETED_ERRORS) -> bool:
    return exc.permanent and any(f"failed: {error}" in str(exc) for error in errors)


def _not_sent_to_deleted(ticket: Ticket) -> NotSent:
    return NotSent(
        f"not sent: its Slack alert (channel {ticket.slack_channel}, ts {ticket.slack_ts}) was "
        "deleted in Slack"
    )


# A channel that refuses the alert's (or incident message's) update after it was posted:
# archived, the bot removed from it, or gone. Slack answers an edit (chat.update) of a message
# in an archived channel `is_inactive` ("cannot be edited within a frozen, archived or deleted
# channel"; chat.update documents no `is_archived`), a post (a reply) there `is_archived`.
# The message is not posted anew elsewhere (a second alert, in a channel nobody chose); the
# ticket's audit log (the incident's timeline) says so once for each refusal, and each update
# is skipped saying why instead of being a dead letter. Slack is still asked once for each
# update (not retried): once the channel is unarchived or the bot invited back, the next update
# shows the ticket as it is by then.
ALERT_CHANNEL_REFUSED = "slack alert channel refused"
CHANNEL_REFUSALS = {
    "is_archived": "the channel was archived",
    "is_inactive": "the channel was archived, frozen or deleted",
    "not_in_channel": "the bot is no longer in the channel",
    "channel_not_found": "the channel was deleted or the bot cannot see it",
}


def _channel_refusal(exc: TransportError) -> str:
    """Slack's error when it refused the channel itself, '' otherwise."""
    if not exc.permanent:
        return ""
    return next((error for error in CHANNEL_REFUSALS if f"failed: {error}" in str(exc)), "")


# Namespace of the advisory locks a ticket's (an incident's) findings are recorded under, one
# at a time (two-key form; tickets/services.py, tickets/incidents.py and analysis/services.py
# use 1 to 6, integrations/targets/databricks_repair.py "repa").
_FINDING_LOCK = 0x736C6B66  # "slkf"


def _record_once(subject_id: str, recorded: QuerySet[Any], record: Callable[[], object]) -> None:
    """`record` unless `recorded` already holds it. Two deliveries may find the same thing at
    once (a plain edit and a thread reply run side by side): each runs in its transaction
    (`fanout.deliver`), so neither saw the other's entry and both wrote one. The lock, held to
    the end of that transaction, makes the second read the first's entry once it is committed."""
    key = zlib.crc32(subject_id.encode()) - 2**31
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_FINDING_LOCK, key])
        if not recorded.exists():
            record()


def _audit_once(ticket: Ticket, action: str, details: dict[str, str]) -> None:
    _record_once(
        ticket.pk,
        AuditLog.objects.filter(ticket_id=ticket.pk, action=action, details__contains=details),
        lambda: lifecycle.write_audit(ticket, Actor.system("slack"), action, details=details),
    )


def _timeline_once(incident: Incident, kind: str, details: dict[str, str]) -> None:
    _record_once(
        incident.pk,
        IncidentEvent.objects.filter(incident_id=incident.pk, kind=kind, details__contains=details),
        lambda: incidents.record_event(
            incident.pk, kind, actor=Actor.system("slack"), details=details
        ),
    )


def _alert_found_deleted(ticket: Ticket) -> NotSent:
    """Recorded in the ticket's audit log once: later deliveries look there first."""
    _audit_once(ticket, ALERT_DELETED, {"channel": ticket.slack_channel, "ts": ticket.slack_ts})
    return _not_sent_to_deleted(ticket)


def _alert_channel_refused(ticket: Ticket, refusal: str) -> NotSent:
    """Recorded in the ticket's audit log once for each refusal."""
    where = {"channel": ticket.slack_channel, "ts": ticket.slack_ts, "error": refusal}
    _audit_once(ticket, ALERT_CHANNEL_REFUSED, where)
    return NotSent(
        f"not sent: Slack refused its alert's channel {ticket.slack_channel} ({refusal}: "
        f"{CHANNEL_REFUSALS[refusal]})"
    )


def _slack_sync(slack: SlackTransport, row: OutboundDelivery) -> None:
    """The alert updated to the ticket as it is now (read here, whatever change asked for
    it: the later changes merged into it, `_merges`, are shown too), then the change's thread
    reply, if it has one."""
    ticket = fresh_ticket(row)
    if not ticket.slack_ts:
        if ticket.incident_id:
            return  # no alert of its own (the incident's message covers it): nothing to update
        if row.payload["action"] == REROUTED and not page_on_its_way(ticket.pk, POST):
            return  # the alert, once posted, shows the team and owner the ticket has then
        if left_unpaged(ticket.pk, POST):
            return
        wait_for(ticket, POST, "Slack alert")
    if reconciled(ticket, RECONCILE):  # late posts may land later still
        _remove_slack_duplicates(slack, ticket, ticket.slack_channel, keep=ticket.slack_ts)
    if alert_deleted(ticket):
        raise _not_sent_to_deleted(ticket)
    text, blocks = slack_alert(ticket)
    try:
        slack.update_message(ticket.slack_channel, ticket.slack_ts, text=text, blocks=blocks)
    except TransportError as exc:
        if _says_deleted(exc):
            raise _alert_found_deleted(ticket) from exc
        refusal = _channel_refusal(exc)
        if not refusal:
            raise
        raise _alert_channel_refused(ticket, refusal) from exc
    change = row.payload
    if change.get("thread"):
        reply = slack_thread_text(change["action"], change["actor"], change["via"])
        told = change["action"].startswith("remediation_") or change["action"] in (
            "regressed",
            lifecycle.JOBS_FAILED_TOGETHER,
        )
        if told and change.get("note"):
            reply = f"{reply}: {slack_escape(change['note'], 1000)}"
        if change.get("skips_remediation"):
            reply = f"{reply}; the pending remediation is skipped"
        fix = fix_to_tell(change)
        if fix:
            reply = f"{reply}. What fixed it: {slack_escape(fix, 2000)}"
        reply_once(slack, row, ticket.slack_channel, ticket.slack_ts, text=reply)


def reply_once(
    slack: SlackTransport,
    row: OutboundDelivery,
    channel_id: str,
    thread_ts: str,
    *,
    text: str,
    broadcast: bool = False,
    blocks: list[dict] | None = None,
) -> str:
    """The delivery's reply under `thread_ts`; returns its ts. chat.postMessage takes no
    idempotency key, so the reply is tagged with the delivery's key, and a retry whose earlier
    attempt may have posted it (an answer lost to a timeout or a reset) adopts the reply found
    in the thread instead of posting it again. A first attempt makes no extra call unless the
    count of sends is unknown (Redis unreachable). A post Slack holds until after the retry
    looked still lands twice: nothing reconciles replies."""
    tag = {"delivery": row.key}
    found = _sent_before(
        row,
        lambda: slack.tagged_replies(
            channel_id,
            thread_ts,
            event_type=SLACK_REPLY_EVENT_TYPE,
            payload=tag,
            oldest=row.created_at.timestamp() - CLOCK_SKEW_SECONDS,
        ),
        "reply",
    )
    if found:
        return found
    count_send(row)
    return slack.reply_in_thread(
        channel_id,
        thread_ts,
        text=text,
        broadcast=broadcast,
        blocks=blocks,
        metadata={"event_type": SLACK_REPLY_EVENT_TYPE, "event_payload": tag},
    )


def _sent_before(row: OutboundDelivery, look: Callable[[], list[str]], what: str) -> str | None:
    """The ts of the message an earlier attempt of the delivery may have posted, found by
    `look` (the oldest first); None on a first attempt, without calling `look`."""
    if earlier_sends(row, CREATE_CALL) == 0:
        return None
    try:
        found = look()
    except TransportError as exc:
        if not exc.permanent:
            raise
        # E.g. no channels:history scope: the message matters more than a possible duplicate.
        logger.warning(
            "outbound %s: cannot look for an earlier %s (%s); posting", row.pk, what, exc
        )
        return None
    return found[0] if found else None


# --- incidents ----------------------------------------------------------------------------------


def slack_incident_message(incident: Incident) -> tuple[str, list[dict[str, Any]]]:
    """The incident's one message: within Slack's limits (50 blocks, 3,000 characters a
    section) for any number of members, the first INCIDENT_INLINE_MEMBERS listed."""
    page = incident_page(incident)
    emoji = SEVERITY_EMOJI.get(incident.severity, "")
    culprit = slack_escape(incident.culprit_words, 200)
    text = f"{emoji} Incident {incident.pk}: {culprit} — {page.counts}"
    members = "\n".join(
        f"• {slack_escape(title, 120)} ({ticket_id})" for ticket_id, title in page.inline_members
    )
    if page.more_members:
        members += f"\n… and {page.more_members} more"
    places = ", ".join(page.places[:20]) + (" …" if len(page.places) > 20 else "")
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": f"{emoji} {page.title}"[:150]},
        },
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Status*\n{slack_escape(page.status, 300)}"},
                {"type": "mrkdwn", "text": f"*Members*\n{page.member_count}"},
                {"type": "mrkdwn", "text": f"*Pipelines*\n{len(page.pipelines)}"},
                {"type": "mrkdwn", "text": f"*First seen*\n{page.first_seen}"},
                {"type": "mrkdwn", "text": f"*Culprit*\n{slack_escape(page.culprit, 300)}"},
                {
                    "type": "mrkdwn",
                    "text": f"*Factories/workspaces/DAGs*\n{slack_escape(places or '-', 500)}",
                },
            ],
        },
        # Which analysis it is, as a ticket's alert says: "Shared cause (Gemini)".
        literal_block(
            f"Shared cause ({page.cause_source})",
            page.cause,
            whole_at=incident_url(incident),
            whole_name="the incident",
        ),
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"*Members*\n{slack_escape(members, 2800)}"},
        },
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"<{incident_url(incident)}|{incident.pk}>"}],
        },
    ]
    blocks.extend(_incident_buttons(incident))
    return text, blocks


def _lifecycle_buttons(
    status: str,
    value: str,
    acknowledge: tuple[str, str],
    take: tuple[str, str],
    resolve: tuple[str, str],
) -> list[dict[str, Any]]:
    """Acknowledge (unless already), Take it (while open) and Resolve, each an (action id,
    label) pair, for a ticket's or an incident's message."""
    offered = []
    if status != Status.ACKNOWLEDGED:
        offered.append((*acknowledge, True))
    if status == Status.OPEN:
        offered.append((*take, False))
    offered.append((*resolve, False))
    buttons = []
    for action_id, label, primary in offered:
        button: dict[str, Any] = {
            "type": "button",
            "action_id": action_id,
            "text": {"type": "plain_text", "text": label},
            "value": value,
        }
        if primary:
            button["style"] = "primary"
        buttons.append(button)
    return buttons


def _incident_buttons(incident: Incident) -> list[dict[str, Any]]:
    """Acknowledge / Take it / Resolve, for what the incident's status allows (none once it is
    resolved, recovered or merged)."""
    if incident.status == Status.RESOLVED or not incident.is_open:
        return []
    buttons = _lifecycle_buttons(
        incident.status,
        incident.pk,
        (SLACK_INCIDENT_ACK_ACTION, "Acknowledge all"),
        (SLACK_INCIDENT_TAKE_ACTION, "Take it"),
        (SLACK_INCIDENT_RESOLVE_ACTION, "Resolve all"),
    )
    return [{"type": "actions", "block_id": f"rca_incident:{incident.pk}", "elements": buttons}]


def _slack_incident_post(slack: SlackTransport, row: OutboundDelivery) -> list[FollowUp] | None:
    incident = incident_of(row)
    if incident.slack_ts:
        return None
    lead, lead_alerted = Ticket.objects.filter(pk=row.ticket_id).values_list(
        "slack_channel", "slack_ts"
    ).first() or ("", "")
    channel = lead or settings.SLACK_DEFAULT_CHANNEL
    text, blocks = slack_incident_message(incident)
    channel_id = slack.channel_id(channel)
    found: list[str] = []
    if channel_id and earlier_sends(row, CREATE_CALL) != 0:
        found = slack.tagged_messages(
            channel_id,
            event_type=SLACK_INCIDENT_EVENT_TYPE,
            payload={"incident_id": incident.pk},
            oldest=incident.created_at.timestamp() - CLOCK_SKEW_SECONDS,
        )
    if channel_id and found:
        ts = found[0]
    else:
        count_send(row)
        # An alert of its own replaced its routed channel with the id it was posted to.
        routed_by = "its first ticket's alert" if lead_alerted else "the ownership rule"
        with naming_destination(lead, channel, "SLACK_DEFAULT_CHANNEL", routed_by=routed_by):
            channel_id, ts = slack.post_message(
                channel,
                text=text,
                blocks=blocks,
                metadata={
                    "event_type": SLACK_INCIDENT_EVENT_TYPE,
                    "event_payload": {"incident_id": incident.pk},
                },
            )
    permalink = _permalink_of(slack, incident.pk, channel_id, ts)
    Incident.objects.filter(pk=incident.pk).update(
        slack_channel=channel_id, slack_ts=ts, slack_permalink=permalink, paged_at=timezone.now()
    )
    incidents.record_event(
        incident.pk, "slack_posted", actor=Actor.system("slack"), details={"ts": ts}
    )
    # Members that alerted before the incident formed: a reply under their alert points here.
    incident.slack_channel, incident.slack_ts = channel_id, ts
    follow_ups = member_links(incident, INCIDENT_LINK, "slack_ts") + _notices(slack, incident)
    return follow_ups or None


def _slack_incident_update(slack: SlackTransport, row: OutboundDelivery) -> list[FollowUp] | None:
    """The message shows the incident as it is now (coalesced: one per INCIDENT_UPDATE_SECONDS)."""
    incident = incident_of(row)
    if not incident.slack_ts:
        first = OutboundDelivery.objects.filter(
            ticket_id=row.ticket_id, action=INCIDENT_POST
        ).first()
        if first is not None and first.status == OutboundStatus.PENDING:
            raise Waiting("waiting for the incident's Slack message")
        return None
    if incident_message_deleted(incident):
        raise _not_sent_to_deleted_incident_message(incident)
    text, blocks = slack_incident_message(incident)
    try:
        slack.update_message(incident.slack_channel, incident.slack_ts, text=text, blocks=blocks)
    except TransportError as exc:
        if _says_deleted(exc):
            raise _incident_message_found_deleted(incident) from exc
        if not _channel_refusal(exc):
            raise
        raise _incident_channel_refused(incident, _channel_refusal(exc)) from exc
    return _notices(slack, incident) or None


# The timeline entry of an incident whose message someone deleted in Slack (its update
# answered as a ticket alert's does, `ALERT_DELETED`, or a reply under it `thread_not_found`):
# its details name the message's channel and ts. Its later updates and thread replies are not
# sent (a reply would find no thread, or be shown in the channel, out of its thread).
INCIDENT_MESSAGE_DELETED = "slack_deleted"


def incident_message_deleted(incident: Incident) -> bool:
    """Whether the incident's message (its channel and ts now) was found deleted in Slack."""
    return IncidentEvent.objects.filter(
        incident_id=incident.pk,
        kind=INCIDENT_MESSAGE_DELETED,
        details__contains={"channel": incident.slack_channel, "ts": incident.slack_ts},
    ).exists()


def _not_sent_to_deleted_incident_message(incident: Incident) -> NotSent:
    return NotSent(
        f"not sent: the incident's Slack message (channel {incident.slack_channel}, ts "
        f"{incident.slack_ts}) was deleted in Slack"
    )


# The timeline entry of an incident whose channel refused its message's update or a reply
# under it (a member's approval request too), as a ticket's alert's does
# (`ALERT_CHANNEL_REFUSED`): details name the channel, the message's ts and Slack's error.
INCIDENT_CHANNEL_REFUSED = "slack_channel_refused"


def _incident_channel_refused(incident: Incident, refusal: str) -> NotSent:
    """Recorded on the incident's timeline once for each refusal."""
    where = {"channel": incident.slack_channel, "ts": incident.slack_ts, "error": refusal}
    _timeline_once(incident, INCIDENT_CHANNEL_REFUSED, where)
    return NotSent(
        f"not sent: Slack refused the incident's channel {incident.slack_channel} ({refusal}: "
        f"{CHANNEL_REFUSALS[refusal]})"
    )


def _incident_message_found_deleted(incident: Incident) -> NotSent:
    """Recorded on the incident's timeline once: later deliveries look there first."""
    where = {"channel": incident.slack_channel, "ts": incident.slack_ts}
    _timeline_once(incident, INCIDENT_MESSAGE_DELETED, where)
    return _not_sent_to_deleted_incident_message(incident)


CHANNEL_IDS_SECONDS = 30 * 24 * 3600


def _channel_key(name: str) -> str:
    return f"slack-channel-id:{name.lstrip('#')}"


def remember_channel(name: str, channel_id: str) -> None:
    """Note a channel's id, learned from a post's answer, for every worker (a transport only
    knows the names it posted to itself). Best effort: a post never fails for it."""
    try:
        cache.set(_channel_key(name), channel_id, CHANNEL_IDS_SECONDS)
    except Exception:
        logger.warning("could not remember the id of Slack channel %s", name, exc_info=True)


def _is_channel(slack: SlackTransport, name: str, channel_id: str) -> bool:
    """Whether the channel named `name` (a routed name or an id) is `channel_id`."""
    return name == channel_id or _known_channel_id(slack, name) == channel_id


def _known_channel_id(slack: SlackTransport, name: str) -> str | None:
    """The id of the channel `name` (a routed name or an id) if known: an id, a name this
    transport or another worker (`remember_channel`) posted to; else None."""
    known = slack.channel_id(name)
    if known:
        return known
    try:
        remembered = cache.get(_channel_key(name))
    except Exception:
        return None
    return remembered if isinstance(remembered, str) else None


def _notices(slack: SlackTransport, incident: Incident) -> list[FollowUp]:
    """The incident's message is posted where its lead is routed (the ticket its post rode
    on); the other channels its members are routed to (other teams' pipelines, which page
    nothing of their own) are each told once where it is followed (one delivery per incident
    and channel, by its key). A member that alerted on its own is pointed there under its alert
    instead."""
    posted = OutboundDelivery.objects.filter(
        key=incident_delivery_key(incident.pk, INCIDENT_POST)
    ).values_list("ticket__slack_channel", flat=True)
    own = _routed_name(posted.first() or "")
    routed = incident.members.filter(slack_ts="").values_list("slack_channel", flat=True)
    # One channel however its rules spell it ('#team-b' and 'team-b'): one notice.
    channels = {_routed_name(channel) for channel in routed.distinct()}
    return [
        FollowUp(
            INCIDENT_NOTICE,
            payload={"incident_id": incident.pk, "channel": channel},
            key_suffix=f"{INCIDENT_NOTICE}:{incident.pk}:{channel}",
        )
        for channel in sorted(channels)
        # By name first: which id a name has is known only where it was posted to.
        if channel != own and not _is_channel(slack, channel, incident.slack_channel)
    ]


def _routed_name(channel: str) -> str:
    """A member's routed channel (its rule's, else the default) spelled one way: an id as it
    is, a name with its '#' (which rules may leave out)."""
    name = (channel or settings.SLACK_DEFAULT_CHANNEL).lstrip("#")
    return name if _SLACK_CHANNEL_ID.fullmatch(name) else f"#{name}"


NOTICE_PIPELINES = 10


def _slack_incident_notice(slack: SlackTransport, row: OutboundDelivery) -> None:
    """Tell a channel that pipelines routed to it are members of an incident paged in another
    channel: which ones, and where it is followed (no buttons: it is acted on there)."""
    incident = incident_of(row)
    channel = row.payload["channel"]
    name = _routed_name(channel)
    routed = [name, name.lstrip("#")]
    if name == _routed_name(settings.SLACK_DEFAULT_CHANNEL):
        routed.append("")
    pipelines = list(
        incident.members.filter(slack_channel__in=routed)
        .order_by("pipeline")
        .values_list("pipeline", flat=True)
        .distinct()[: NOTICE_PIPELINES + 1]
    )
    if incident.merged_into_id or not pipelines:
        # Merged into another (whose own notices tell the channel), or its members routed
        # here were detached since: nothing to tell.
        return
    named = ", ".join(slack_escape(p, 120) for p in pipelines[:NOTICE_PIPELINES])
    if len(pipelines) > NOTICE_PIPELINES:
        named += ", …"
    text = (
        f"{SEVERITY_EMOJI.get(incident.severity, '')} Pipelines of this channel are members of "
        f"incident <{incident_url(incident)}|{incident.pk}> "
        f"({slack_escape(incident.culprit, 200)}): {named}. It is paged and followed in "
        f"<#{incident.slack_channel}>; their changes are made there."
    )
    section = {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}
    tag = {"delivery": row.key}
    channel_id = _known_channel_id(slack, channel)
    if channel_id and _sent_before(
        row,
        lambda: slack.tagged_messages(
            channel_id,
            event_type=SLACK_NOTICE_EVENT_TYPE,
            payload=tag,
            oldest=row.created_at.timestamp() - CLOCK_SKEW_SECONDS,
        ),
        "notice",
    ):
        return
    count_send(row)
    slack.post_message(
        channel,
        text=text,
        blocks=[section],
        metadata={"event_type": SLACK_NOTICE_EVENT_TYPE, "event_payload": tag},
    )


def _slack_incident_link(slack: SlackTransport, row: OutboundDelivery) -> None:
    """A member that alerted on its own: a reply under its alert points to the incident's
    message (once per member: the delivery is keyed by it, see base.member_links)."""
    incident = incident_of(row)
    ticket = fresh_ticket(row)
    if not ticket.slack_ts:
        return  # it never posted an alert of its own
    if not incident.slack_ts:
        wait_for_incident(incident, INCIDENT_POST, "incident's Slack message")
    if alert_deleted(ticket):
        raise _not_sent_to_deleted(ticket)
    try:
        reply_once(
            slack,
            row,
            ticket.slack_channel,
            ticket.slack_ts,
            text=f"Part of incident <{incident_url(incident)}|{incident.pk}> "
            f"({slack_escape(incident.culprit, 200)}): followed there.",
        )
    except TransportError as exc:
        if _says_deleted(exc, ("thread_not_found",)):
            raise _alert_found_deleted(ticket) from exc
        refusal = _channel_refusal(exc)
        if not refusal:
            raise
        raise _alert_channel_refused(ticket, refusal) from exc


def slack_incident_thread_text(change: Mapping[str, Any]) -> str:
    """The thread reply telling about an incident's status change (an `IncidentChange`'s
    payload): what happened, by whom, via where."""
    action = str(change.get("action", ""))
    incident_id = slack_escape(str(change.get("incident_id", "")), 80)
    if action == "regressed":
        failed = slack_escape(changed_member(change), 200)
        ticket = slack_escape(str(change.get("ticket_id", "")), 80)
        text = (
            f":rotating_light: The outage is back: {failed} ({ticket}) failed again "
            f"(reported by {slack_escape(str(change.get('actor', '')), 80)}). "
            f"Incident {incident_id} is open again."
        )
        note = str(change.get("note") or "")
        return f"{text} {slack_escape(note, 2000)}" if note else text
    if action == "recovered":
        return (
            f":white_check_mark: Every member recovered at its source: incident {incident_id} "
            "is resolved."
        )
    if action in ("member_resolved", "member_detached"):
        return _member_over_text(change, incident_id)
    if action == "member_reopened":
        member = slack_escape(changed_member(change), 200)
        ticket = slack_escape(str(change.get("ticket_id", "")), 80)
        who = slack_escape(str(change.get("actor", "")), 80)
        text = (
            f":rotating_light: *{who}* reopened {member} ({ticket}) via "
            f"{via_words(str(change.get('via', '')))}: incident {incident_id} is open again"
        )
        note = str(change.get("note") or "")
        return f"{text}: {slack_escape(note, 1000)}" if note else f"{text}."
    emoji = {
        "acknowledge": ":eyes:",
        "start_progress": ":hammer_and_wrench:",
        "resolve": ":white_check_mark:",
        "reopen": ":rotating_light:",
    }.get(action, "")
    words = INCIDENT_CHANGE_WORDS.get(action, f"set the incident to {action.replace('_', ' ')}")
    who = slack_escape(str(change.get("actor", "")), 80)
    text = f"{emoji} *{who}* {words} via {via_words(str(change.get('via', '')))}".strip()
    note, fix = str(change.get("note") or ""), fix_to_tell(change)
    text = f"{text}: {slack_escape(note, 1000)}" if note else f"{text}."
    return f"{text} What fixed it: {slack_escape(fix, 2000)}" if fix else text


def _member_over_text(change: Mapping[str, Any], incident_id: str) -> str:
    """`member_resolved` / `member_detached`: no member is left open, so the incident resolved."""
    member = (
        f"{slack_escape(changed_member(change), 200)} "
        f"({slack_escape(str(change.get('ticket_id', '')), 80)})"
    )
    who = slack_escape(str(change.get("actor", "")), 80)
    via = via_words(str(change.get("via", "")))
    if change.get("action") == "member_detached":
        return (
            f":white_check_mark: *{who}* detached {member} via {via}: every member left is "
            f"resolved or recovered, so incident {incident_id} is resolved."
        )
    if change.get("actor_kind") == ActorKind.SOURCE:
        return (
            f":white_check_mark: {member}, the last open member, recovered at its source "
            f"(reported by {who}): incident {incident_id} is resolved."
        )
    text = (
        f":white_check_mark: *{who}* resolved {member}, the last open member, via {via}: "
        f"incident {incident_id} is resolved"
    )
    note, fix = str(change.get("note") or ""), fix_to_tell(change)
    text = f"{text}: {slack_escape(note, 1000)}" if note else f"{text}."
    return f"{text} What fixed it: {slack_escape(fix, 2000)}" if fix else text


def _slack_incident_reply(slack: SlackTransport, row: OutboundDelivery) -> None:
    """A thread reply under the incident's message for a change of its status (one per change:
    the delivery is keyed by its timeline entry). The outage coming back is broadcast to the
    channel too."""
    incident = incident_of(row)
    if not incident.slack_ts:
        wait_for_incident(incident, INCIDENT_POST, "incident's Slack message")
    if incident_message_deleted(incident):
        raise _not_sent_to_deleted_incident_message(incident)
    try:
        reply_once(
            slack,
            row,
            incident.slack_channel,
            incident.slack_ts,
            text=slack_incident_thread_text(row.payload),
            broadcast=bool(row.payload.get("broadcast")),
        )
    except TransportError as exc:
        if _says_deleted(exc, ("thread_not_found",)):
            raise _incident_message_found_deleted(incident) from exc
        if not _channel_refusal(exc):
            raise
        raise _incident_channel_refused(incident, _channel_refusal(exc)) from exc


def _slack_member_approval(slack: SlackTransport, row: OutboundDelivery) -> None:
    """A member without an alert of its own (it joined its incident in its grace delay): its
    remediation awaiting approval is asked for in the incident's thread, with the alert's
    Approve / Decline buttons (the same block and values, so a click decides it as one on the
    alert does); each later change of that remediation updates the request as `_slack_sync`
    updates an alert, its buttons gone once decided, expired or skipped."""
    ticket = fresh_ticket(row)
    remediation = Remediation.objects.filter(
        pk=row.payload["remediation"], ticket_id=ticket.pk
    ).first()
    if remediation is None:
        return
    if row.payload.get("ask"):
        if ticket.slack_ts:
            return  # it has an alert of its own now (detached): the alert offers the decision
        if remediation.status != RemediationStatus.AWAITING_APPROVAL:
            return  # decided before it was asked for: nothing to ask
        incident = incident_of(row)
        if not incident.slack_ts:
            wait_for_incident(incident, INCIDENT_POST, "incident's Slack message")
        if incident_message_deleted(incident):
            raise _not_sent_to_deleted_incident_message(incident)
        text, blocks = _member_approval_message(ticket, remediation)
        try:
            ts = reply_once(
                slack, row, incident.slack_channel, incident.slack_ts, text=text, blocks=blocks
            )
        except TransportError as exc:
            if _says_deleted(exc, ("thread_not_found",)):
                raise _incident_message_found_deleted(incident) from exc
            if not _channel_refusal(exc):
                raise
            raise _incident_channel_refused(incident, _channel_refusal(exc)) from exc
        asked = {"channel": incident.slack_channel, "ts": ts}
        OutboundDelivery.objects.filter(pk=row.pk).update(payload={**row.payload, **asked})
        return
    ask = OutboundDelivery.objects.filter(
        key=member_approval_key(ticket.pk, INCIDENT_APPROVAL, remediation.pk)
    ).first()
    if ask is None or ask.status in (OutboundStatus.DEAD, OutboundStatus.SKIPPED):
        return
    if ask.status == OutboundStatus.PENDING:
        raise Waiting("waiting for the approval request to be posted")
    if not ask.payload.get("ts"):
        return  # it was not asked for (decided first)
    asked = {"channel": ask.payload["channel"], "ts": ask.payload["ts"]}
    if _approval_request_deleted(ticket, asked):
        raise _not_sent_to_deleted_approval_request(asked)
    text, blocks = _member_approval_message(ticket, remediation)
    try:
        slack.update_message(asked["channel"], asked["ts"], text=text, blocks=blocks)
    except TransportError as exc:
        refusal = _channel_refusal(exc)
        if refusal:  # asked in the incident's thread: its channel refused it
            incident = Incident.objects.get(pk=ask.payload["incident_id"])
            raise _incident_channel_refused(incident, refusal) from exc
        if not _says_deleted(exc):
            raise
        _audit_once(ticket, APPROVAL_REQUEST_DELETED, asked)
        raise _not_sent_to_deleted_approval_request(asked) from exc


# The audit entry of a member whose approval request (its reply in the incident's thread)
# someone deleted in Slack, found as a deleted alert is (`ALERT_DELETED`): its details name the
# reply's channel and ts. The request's later updates are not sent; the remediation is still
# decided in admin, on the dashboard or through the API.
APPROVAL_REQUEST_DELETED = "slack approval request deleted"


def _approval_request_deleted(ticket: Ticket, asked: dict[str, str]) -> bool:
    return AuditLog.objects.filter(
        ticket_id=ticket.pk, action=APPROVAL_REQUEST_DELETED, details__contains=asked
    ).exists()


def _not_sent_to_deleted_approval_request(asked: dict[str, str]) -> NotSent:
    return NotSent(
        f"not sent: its approval request in the incident's Slack thread (channel "
        f"{asked['channel']}, ts {asked['ts']}) was deleted in Slack"
    )


def _member_approval_message(
    ticket: Ticket, remediation: Remediation
) -> tuple[str, list[dict[str, Any]]]:
    title = slack_escape(ticket.title, 200)
    text = f"Remediation of {ticket.pk} ({title}): {remediation.get_status_display()}"
    heading = f"<{ticket_url(ticket)}|{ticket.pk}> · {title}"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": heading}}
    ]
    return text, blocks + _remediation_state(ticket, remediation, retry=False)


def _incident_status(change: IncidentChange) -> tuple[str, dict[str, Any]] | None:
    """Every status change of an incident is told in its thread, whoever made it."""
    return INCIDENT_REPLY, {**change.as_payload(), "broadcast": change.action == "regressed"}


def _follow(change: Change) -> tuple[str, dict[str, Any]] | None:
    if change.action not in FOLLOWED or told_with_its_success(change):
        return None  # a remediation's resolve: its `remediation_succeeded` line tells it
    return SYNC, {**change.as_payload(), "thread": change.action in THREADED}


def _merges(action: str, payload: Mapping[str, Any]) -> bool:
    """An edit of the alert with no thread reply: `_slack_sync` draws it from the ticket as it
    is when sent (its payload only words the reply), so it may be merged into another pending
    (`fanout.MERGES`). One with a reply tells something of its own, and is never merged."""
    return action == SYNC and not payload.get("thread")


def _channel_of(row: OutboundDelivery) -> str:
    """The channel a delivery posts to, as its ticket names it (routed at creation)."""
    channel = Ticket.objects.filter(pk=row.ticket_id).values_list("slack_channel", flat=True)
    return channel.first() or settings.SLACK_DEFAULT_CHANNEL


# chat.postMessage (alerts, incident pages, thread replies): Slack's special limit of about one
# message a second per channel. An incident's page, and the news that its outage is back, go
# ahead of the single alerts waiting.
CHANNEL_POSTS = Pace(
    "SLACK_CHANNEL_POSTS_PER_SECOND",
    "SLACK_CHANNEL_BURST",
    scope=_channel_of,
    urgent=lambda row: (
        row.action == INCIDENT_POST
        or (row.action == INCIDENT_REPLY and bool(row.payload.get("broadcast")))
    ),
)
# An incident's notice to another channel counts against that channel's posts.
NOTICE_POSTS = Pace(
    "SLACK_CHANNEL_POSTS_PER_SECOND",
    "SLACK_CHANNEL_BURST",
    scope=lambda row: str(row.payload.get("channel", "")),
)
# chat.update, chat.delete, conversations.history: their method's tier (Tier 3, 50+ a minute
# per workspace), not the channel's posting limit, so edits never hold up a page.
EDITS = Pace("SLACK_EDITS_PER_SECOND", "SLACK_EDITS_BURST")


def _edit_pace(row: OutboundDelivery) -> Pace:
    return EDITS


def _sync_pace(row: OutboundDelivery) -> Pace:
    """An edit, plus a thread reply (a post) for the changes that are threaded."""
    return CHANNEL_POSTS if row.payload.get("thread") else EDITS


TARGET = Target(
    name="slack",
    label="Slack",
    connect=SlackTransport.from_settings,
    settings=("SLACK_BOT_TOKEN", "SLACK_BASE_URL", "OUTBOUND_TIMEOUT_SECONDS"),
    not_configured="Slack is not configured (set SLACK_BOT_TOKEN)",
    pace=CHANNEL_POSTS,
    actions={
        POST: Action(_slack_post, "Post the Slack alert"),
        SYNC: Action(
            _slack_sync,
            "Update the Slack alert",
            pace=_sync_pace,
            # Its thread replies; an edit alone shows the ticket as it is when it is sent.
            in_order={"thread": True},
        ),
        RECONCILE: Action(
            _slack_reconcile,
            "Remove duplicate Slack alerts",
            not_before=True,
            pace=_edit_pace,
        ),
        INCIDENT_POST: Action(_slack_incident_post, "Post the incident's Slack message"),
        INCIDENT_UPDATE: Action(
            _slack_incident_update,
            "Update the incident's Slack message",
            not_before=True,
            pace=_edit_pace,
        ),
        INCIDENT_LINK: Action(_slack_incident_link, "Link a member's alert to its incident"),
        INCIDENT_REPLY: Action(
            _slack_incident_reply,
            "Tell a change of the incident in its Slack thread",
            # Its deliveries ride on the incident's lead (`fanout.schedule_incident_status`).
            in_order={},
        ),
        INCIDENT_NOTICE: Action(
            _slack_incident_notice,
            "Tell another team's channel about the incident",
            pace=lambda row: NOTICE_POSTS,
        ),
        INCIDENT_APPROVAL: Action(
            _slack_member_approval,
            "Ask for a member's remediation approval in the incident's Slack thread",
            pace=lambda row: CHANNEL_POSTS if row.payload.get("ask") else EDITS,
        ),
    },
    initial=(POST,),
    follow=_follow,
    merges=_merges,
    incident_initial=(INCIDENT_POST,),
    incident_update=INCIDENT_UPDATE,
    incident_link=INCIDENT_LINK,
    incident_status=_incident_status,
    member_remediation=INCIDENT_APPROVAL,
)
