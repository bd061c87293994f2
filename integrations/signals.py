"""Ticket changes reach the outbound targets (the fan-out follows the ticket; each target's
module says which changes it shows)."""

from __future__ import annotations

import logging
from typing import Any

from integrations import fanout
from tickets.lifecycle import Actor

logger = logging.getLogger(__name__)


def follow_incident_change(
    sender: Any, incident_id: str, action: str, actor: Actor, ticket_id: str = "", **kwargs: Any
) -> None:
    try:
        fanout.schedule_incident_change(incident_id, action)
        if action == "detached" and ticket_id:
            fanout.schedule_own_page(ticket_id)
    except Exception:
        logger.exception("could not schedule the page of %s on %s", action, incident_id)


def follow_ticket_change(
    sender: Any, ticket_id: str, action: str, actor: Actor, note: str = "", **kwargs: Any
) -> None:
    try:
        fanout.schedule_follow_up(ticket_id, action, actor, note)
    except Exception:
        logger.exception("could not schedule the follow-up of %s on %s", action, ticket_id)
