from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"

    def ready(self) -> None:
        from tickets.broadcast import broadcast_ticket_change
        from tickets.lifecycle import ticket_changed

        ticket_changed.connect(broadcast_ticket_change, dispatch_uid="broadcast_ticket_change")
        from tickets.broadcast import broadcast_incident_change
        from tickets.incidents import incident_changed

        incident_changed.connect(
            broadcast_incident_change, dispatch_uid="broadcast_incident_change"
        )
