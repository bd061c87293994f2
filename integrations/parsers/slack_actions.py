"""Slack interactivity: `block_actions` from the buttons on our alerts."""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from integrations.events import ParseError
from integrations.parsers.common import field, loads_json, require_object, text


@dataclass(frozen=True)
class SlackAction:
    action_id: str
    ticket_id: str  # the button's value (a remediation button: its block's)
    user_id: str
    username: str
    action_ts: str
    channel_id: str
    message_ts: str
    # What was typed in the "what fixed it" box: sent by the box itself on Enter, or, for a
    # button clicked with text in it, by Slack in the click's `state`.
    text: str = ""
    # An Approve / Decline / Retry button's value: the remediation it decides (or retries).
    remediation_id: str = ""
    # Where the clicker is answered: Slack's URL for replying to this click, and the thread
    # the clicked message is in ('' for a message at the channel's top level).
    response_url: str = ""
    thread_ts: str = ""

    @property
    def dedup_key(self) -> str:
        return f"slack:{self.user_id}:{self.action_id}:{self.action_ts}"


def decode_form_payload(raw_body: bytes) -> Any:
    """Slack posts `application/x-www-form-urlencoded` with the JSON in the `payload` field. A
    UTF-8 byte order mark before the body or before the JSON is dropped, as it is before a
    JSON webhook body (`ingest.decode_json`)."""
    try:
        form = parse_qs(
            raw_body.removeprefix(codecs.BOM_UTF8).decode("utf-8"), strict_parsing=False
        )
    except UnicodeDecodeError as exc:
        raise ParseError("body is not UTF-8") from exc
    if "payload" not in form:
        raise ParseError("missing form field 'payload'")
    try:
        return loads_json(form["payload"][0].removeprefix("\ufeff"))
    except ParseError as exc:
        raise ParseError(f"form field 'payload': {exc}") from exc


INPUT_BLOCK_PREFIX = "rca_fix:"
# The block of the Approve / Decline (or Retry) buttons names the ticket; each button's value
# is the remediation it decides (or retries).
REMEDIATION_BLOCK_PREFIX = "rca-remediation:"


def _ticket_of_input(action: dict[str, Any]) -> str:
    block_id = text(action, "block_id")
    return (
        block_id.removeprefix(INPUT_BLOCK_PREFIX) if block_id.startswith(INPUT_BLOCK_PREFIX) else ""
    )


def _typed_in_the_box(body: dict[str, Any], ticket_id: str) -> str:
    """The text of the ticket's "what fixed it" box as a button is clicked: Slack sends what
    the message's inputs hold in `state.values`, by block id, then action id."""
    values = field(body, "state.values")
    box = values.get(f"{INPUT_BLOCK_PREFIX}{ticket_id}") if isinstance(values, dict) else None
    if not isinstance(box, dict):
        return ""
    for element in box.values():
        if isinstance(element, dict) and element.get("type") == "plain_text_input":
            return text(element, "value")
    return ""


def parse_slack_actions(payload: Any) -> list[SlackAction]:
    body = require_object(payload, "payload")
    kind = text(body, "type", required=True)
    if kind != "block_actions":
        raise ParseError(f"unsupported interaction type '{kind[:40]}'")
    user = require_object(body.get("user"), "field 'user'")
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions:
        raise ParseError("field 'actions' must be a non-empty list")
    raw_container = body.get("container")
    container: dict[str, Any] = raw_container if isinstance(raw_container, dict) else {}
    parsed = []
    for action in actions:
        action = require_object(action, "each action")
        typed = text(action, "type") == "plain_text_input"
        block_id = text(action, "block_id")
        deciding = not typed and block_id.startswith(REMEDIATION_BLOCK_PREFIX)
        if typed:  # a text input names its ticket in its block id
            ticket_id = _ticket_of_input(action)
        elif deciding:
            ticket_id = block_id.removeprefix(REMEDIATION_BLOCK_PREFIX)
        else:  # a button's value is its ticket id
            ticket_id = text(action, "value")
        if typed:
            typed_text = text(action, "value")
        else:
            typed_text = "" if deciding else _typed_in_the_box(body, ticket_id)
        parsed.append(
            SlackAction(
                action_id=text(action, "action_id", required=True),
                ticket_id=ticket_id,
                text=typed_text[:8000],
                remediation_id=text(action, "value")[:40] if deciding else "",
                user_id=text(user, "id", required=True),
                username=text(user, "username") or text(user, "name"),
                action_ts=text(action, "action_ts"),
                channel_id=text(container, "channel_id"),
                message_ts=text(container, "message_ts"),
                response_url=text(body, "response_url"),
                thread_ts=text(container, "thread_ts"),
            )
        )
    return parsed
