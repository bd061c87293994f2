"""Live updates for the dashboard: `/ws/tickets/` pushes each created or changed ticket, each
ticket folded into another (its id and the other's), each changed incident (its card, with its
first members and the SLA clock of its open member due first; a member's change carries that
clock too) and the progress of log-analysis jobs."""

from __future__ import annotations

import time
from importlib import import_module
from typing import Any

from channels.auth import get_user
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from tickets.broadcast import GROUP
from tickets.models import Incident, Ticket
from tickets.presenters import (
    CARD_FIELDS,
    change_words,
    incident_card,
    incident_members,
    incident_sla_clocks,
    incident_teams,
    incidents_awaiting_approval,
    ticket_card,
)
from tickets.roles import VIEWER, has_role

UNAUTHORIZED = 4401
# How long an open socket goes on trusting the session it opened with before it reads it
# again (at its next event): a session signed out, a password changed, an account deactivated
# or a role taken away since then closes the socket.
RECHECK_SECONDS = 5.0


class TicketConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if not await database_sync_to_async(has_role)(user, VIEWER):
            await self.close(code=UNAUTHORIZED)
            return
        self._checked_at = time.monotonic()
        await self.channel_layer.group_add(GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(GROUP, self.channel_name)

    async def _may_still_read(self) -> bool:
        """Whether the session still signs in a viewer, read again from the session store at
        the first event RECHECK_SECONDS or more after the last check; if not, the socket is
        closed."""
        if time.monotonic() - self._checked_at < RECHECK_SECONDS:
            return True
        session_key = getattr(self.scope.get("session"), "session_key", None)
        store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
        user = await get_user({"session": store})  # checks the password hash and is_active
        if await database_sync_to_async(has_role)(user, VIEWER):
            self._checked_at = time.monotonic()
            return True
        await self.channel_layer.group_discard(GROUP, self.channel_name)
        await self.close(code=UNAUTHORIZED)
        return False

    async def live_batch(self, message: dict[str, Any]) -> None:
        """Events a process published together (tickets/broadcast.py), pushed one by one in
        their order; the tickets' cards are read in one query."""
        if not await self._may_still_read():
            return
        events = message["events"]
        ticket_ids = [e["ticket_id"] for e in events if e.get("type") == "ticket.changed"]
        cards = await self._cards(ticket_ids) if ticket_ids else {}
        clocks = await self._member_incident_clocks(cards)
        for event in events:
            kind = event.get("type")
            if kind == "ticket.changed":
                await self._send_ticket_change(event, cards.get(event["ticket_id"]), clocks)
            elif kind == "incident.changed":
                await self.incident_changed(event)
            elif kind == "ticket.folded":
                await self.send_json(
                    {"type": kind, "ticket_id": event["ticket_id"], "into": event["into"]}
                )
            elif kind == "log_analysis.progress":
                await self.log_analysis_progress(event)

    async def ticket_changed(self, event: dict[str, Any]) -> None:
        if not await self._may_still_read():
            return
        cards = await self._cards([event["ticket_id"]])
        clocks = await self._member_incident_clocks(cards)
        await self._send_ticket_change(event, cards.get(event["ticket_id"]), clocks)

    async def _send_ticket_change(
        self,
        event: dict[str, Any],
        card: dict[str, Any] | None,
        incident_clocks: dict[str, dict[str, Any] | None],
    ) -> None:
        if card is None:
            return
        actor = event.get("actor", "")
        message = {
            "type": "ticket.changed",
            "action": event["action"],
            "actor": actor,
            # What the ticket page's live banner says ("ana took it"), as its audit trail does.
            "words": str(change_words(event["action"], event.get("via", ""), actor)),
            "ticket": card,
        }
        if event.get("moved"):  # new, or between statuses: the board counts its columns by it
            message["moved"] = event["moved"]
        if card["incident"] and str(event["action"]).startswith("remediation"):
            # Its incident's card counts the members awaiting approval, listed or not.
            message["incident_awaiting_approval"] = await self._awaiting_approval(card["incident"])
        if card["incident"]:
            # Its incident's card shows the SLA clock of the open member due first, which any
            # change of a member may move (acknowledged, resolved, reopened, its deadline reset).
            message["incident_sla"] = incident_clocks.get(card["incident"])
        await self.send_json(message)

    async def log_analysis_progress(self, event: dict[str, Any]) -> None:
        """A log-analysis job moved (status, progress, step); the event carries it whole."""
        if not await self._may_still_read():
            return
        await self.send_json({"type": "log_analysis.progress", "job": event["job"]})

    async def incident_changed(self, event: dict[str, Any]) -> None:
        if not await self._may_still_read():
            return
        card = await self._incident_card(event["incident_id"])
        if card is None:
            return
        message = {
            "type": "incident.changed",
            "action": event["action"],
            "actor": event.get("actor", ""),
            "ticket_id": event.get("ticket_id", ""),
            "incident": card,
        }
        if event.get("left"):  # the joining ticket was counted on its own, in this status
            message["left"] = event["left"]
        await self.send_json(message)

    @database_sync_to_async
    def _incident_card(self, incident_id: str) -> dict[str, Any] | None:
        incident = Incident.objects.filter(pk=incident_id).first()
        if incident is None:
            return None
        teams = incident_teams({incident.pk: incident.finops_team})[incident.pk]
        members = incident_members([incident.pk])[incident.pk]
        awaiting = incidents_awaiting_approval([incident.pk])[incident.pk]
        sla = incident_sla_clocks([incident.pk])[incident.pk]
        return incident_card(incident, members, teams, awaiting, sla)

    async def _member_incident_clocks(
        self, cards: dict[str, dict[str, Any]]
    ) -> dict[str, dict[str, Any] | None]:
        """The SLA clocks of the incidents of the members among `cards`: one query for all."""
        incident_ids = sorted({card["incident"] for card in cards.values() if card["incident"]})
        if not incident_ids:
            return {}
        return await database_sync_to_async(incident_sla_clocks)(incident_ids)

    @database_sync_to_async
    def _awaiting_approval(self, incident_id: str) -> int:
        return incidents_awaiting_approval([incident_id])[incident_id]

    @database_sync_to_async
    def _cards(self, ticket_ids: list[str]) -> dict[str, dict[str, Any]]:
        tickets = Ticket.objects.only(*CARD_FIELDS).filter(pk__in=set(ticket_ids))
        return {ticket.pk: ticket_card(ticket) for ticket in tickets}
