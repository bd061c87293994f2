from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self) -> None:
        from integrations.fanout import live_gauges
        from integrations.remediation import hold_incident_members, register_hold_check
        from integrations.signals import (
            close_remediation_loop,
            follow_incident_change,
            follow_incident_status,
            follow_ticket_change,
            move_folded_deliveries,
            release_remediations_on_recovery,
        )
        from rca_project.observability import register_live_gauges
        from tickets.lifecycle import ticket_changed, ticket_changing

        ticket_changing.connect(follow_ticket_change, dispatch_uid="follow_ticket_change")
        from tickets.incidents import incident_changed, incident_status_changing

        incident_changed.connect(follow_incident_change, dispatch_uid="follow_incident_change")
        incident_status_changing.connect(
            follow_incident_status, dispatch_uid="follow_incident_status"
        )
        incident_changed.connect(
            release_remediations_on_recovery, dispatch_uid="release_remediations_on_recovery"
        )
        ticket_changed.connect(close_remediation_loop, dispatch_uid="close_remediation_loop")
        from tickets.services import ticket_folded

        ticket_folded.connect(move_folded_deliveries, dispatch_uid="move_folded_deliveries")
        register_hold_check("incident", hold_incident_members)
        register_live_gauges("integrations", live_gauges)
