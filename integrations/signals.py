"""Ticket changes reach JIRA and Slack (the fan-out follows the ticket)."""

from __future__ import annotations

import logging
from typing import Any

from integrations import fanout
from tickets.lifecycle import Actor

logger = logging.getLogger(__name__)

# Changes the targets show; creation and analysis are covered by the initial fan-out.
FOLLOWED = {
    "acknowledge",
    "start_progress",
    "resolve",
    "reopen",
    "regressed",
    "recurred",
    "resolved_at_source",
    "sla_breached",
    "jira_linked",
    "analysed",
}


def follow_ticket_change(
    sender: Any, ticket_id: str, action: str, actor: Actor, note: str = "", **kwargs: Any
) -> None:
    if action not in FOLLOWED:
        return
    try:
        fanout.schedule_follow_up(ticket_id, action, actor, note)
    except Exception:
        logger.exception("could not schedule the follow-up of %s on %s", action, ticket_id)
