from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self) -> None:
        from integrations.fanout import live_gauges
        from integrations.signals import follow_incident_change, follow_ticket_change
        from rca_project.observability import register_live_gauges
        from tickets.lifecycle import ticket_changed

        ticket_changed.connect(follow_ticket_change, dispatch_uid="follow_ticket_change")
        from tickets.incidents import incident_changed

        incident_changed.connect(follow_incident_change, dispatch_uid="follow_incident_change")
        register_live_gauges("integrations", live_gauges)
