from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"

    def ready(self) -> None:
        from tickets.broadcast import broadcast_ticket_change
        from tickets.lifecycle import ticket_changed, ticket_changing

        ticket_changed.connect(broadcast_ticket_change, dispatch_uid="broadcast_ticket_change")
        from tickets.broadcast import broadcast_incident_change
        from tickets.incidents import follow_member_change, incident_changed

        # A member changed on its own ticket: its incident follows, in the change's transaction.
        ticket_changing.connect(follow_member_change, dispatch_uid="follow_member_change")

        incident_changed.connect(
            broadcast_incident_change, dispatch_uid="broadcast_incident_change"
        )
        from tickets.broadcast import broadcast_ticket_folded
        from tickets.services import ticket_folded

        ticket_folded.connect(broadcast_ticket_folded, dispatch_uid="broadcast_ticket_folded")

        from django.db.models.signals import pre_save
        from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

        from tickets.api_token_storage import drop_signature

        pre_save.connect(drop_signature, sender=OutstandingToken, dispatch_uid="drop_signature")
