from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self) -> None:
        from django.db.models.signals import post_save, pre_delete

        from integrations.fanout import live_gauges
        from integrations.models import RemediationPolicy
        from integrations.remediation import hold_incident_members, register_hold_check
        from integrations.signals import (
            close_remediation_loop,
            follow_incident_change,
            follow_incident_status,
            follow_ticket_change,
            move_folded_deliveries,
            point_regressions_to_formed_incident,
            release_remediations_on_recovery,
            stop_remediations_of_deleted_policy,
            stop_remediations_of_saved_policy,
        )
        from rca_project.observability import register_live_gauges
        from tickets.lifecycle import ticket_changed, ticket_changing

        ticket_changing.connect(follow_ticket_change, dispatch_uid="follow_ticket_change")
        from tickets.incidents import incident_changed, incident_forming, incident_status_changing

        incident_changed.connect(follow_incident_change, dispatch_uid="follow_incident_change")
        incident_forming.connect(
            point_regressions_to_formed_incident,
            dispatch_uid="point_regressions_to_formed_incident",
        )
        incident_status_changing.connect(
            follow_incident_status, dispatch_uid="follow_incident_status"
        )
        incident_changed.connect(
            release_remediations_on_recovery, dispatch_uid="release_remediations_on_recovery"
        )
        ticket_changed.connect(close_remediation_loop, dispatch_uid="close_remediation_loop")
        from tickets.services import ticket_folded

        ticket_folded.connect(move_folded_deliveries, dispatch_uid="move_folded_deliveries")
        post_save.connect(
            stop_remediations_of_saved_policy,
            sender=RemediationPolicy,
            dispatch_uid="stop_remediations_of_saved_policy",
        )
        pre_delete.connect(
            stop_remediations_of_deleted_policy,
            sender=RemediationPolicy,
            dispatch_uid="stop_remediations_of_deleted_policy",
        )
        register_hold_check("incident", hold_incident_members)
        register_live_gauges("integrations", live_gauges)
