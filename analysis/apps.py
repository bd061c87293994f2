from django.apps import AppConfig


class AnalysisConfig(AppConfig):
    name = "analysis"

    def ready(self) -> None:
        from analysis.tasks import analyse_detached_member
        from tickets.incidents import incident_changed

        incident_changed.connect(analyse_detached_member, dispatch_uid="analyse_detached_member")
