from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self) -> None:
        from integrations.signals import follow_ticket_change
        from tickets.lifecycle import ticket_changed

        ticket_changed.connect(follow_ticket_change, dispatch_uid="follow_ticket_change")
