"""Ticket changes are broadcast to the live dashboard (Channels group on the Redis layer)."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from tickets.lifecycle import Actor

logger = logging.getLogger(__name__)

GROUP = "tickets"


def broadcast_ticket_change(
    sender: Any, ticket_id: str, action: str, actor: Actor, **kwargs: Any
) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    event = {
        "type": "ticket.changed",
        "ticket_id": ticket_id,
        "action": action,
        "actor": actor.name,
        "via": str(actor.kind),
    }
    try:
        async_to_sync(layer.group_send)(GROUP, event)
    except Exception:
        logger.warning("could not broadcast %s of %s", action, ticket_id, exc_info=True)
