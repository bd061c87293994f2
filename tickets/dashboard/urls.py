"""Dashboard pages, included at the site root."""

from django.urls import path, register_converter

from tickets.dashboard import log_analysis, views


class RecordIdConverter:
    """A ticket or incident id in a path. No id holds a NUL character (PostgreSQL text cannot):
    a path with one matches no page, so it is a 404 before any view queries for it."""

    regex = r"[^/\x00]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(RecordIdConverter, "record_id")

urlpatterns = [
    path("", views.board, name="dashboard"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("register/", views.register, name="dashboard-register"),
    path("tickets/<record_id:ticket_id>/", views.ticket_detail, name="dashboard-ticket"),
    path(
        "tickets/<record_id:ticket_id>/action/", views.ticket_action, name="dashboard-ticket-action"
    ),
    path(
        "tickets/<record_id:ticket_id>/rerun-rca/",
        views.ticket_rerun_rca,
        name="dashboard-ticket-rerun-rca",
    ),
    path(
        "tickets/<record_id:ticket_id>/remediation/",
        views.ticket_remediation,
        name="dashboard-ticket-remediation",
    ),
    path("charts/", views.charts, name="dashboard-charts"),
    path("log-analyses/", log_analysis.log_analyses, name="dashboard-log-analyses"),
    path(
        "log-analyses/<str:job_id>/",
        log_analysis.log_analysis_detail,
        name="dashboard-log-analysis",
    ),
    path(
        "log-analyses/<str:job_id>/action/",
        log_analysis.log_analysis_action,
        name="dashboard-log-analysis-action",
    ),
    path(
        "tickets/<record_id:ticket_id>/analyse-log/",
        log_analysis.analyse_ticket_log,
        name="dashboard-ticket-analyse-log",
    ),
    path("incidents/<record_id:incident_id>/", views.incident_detail, name="dashboard-incident"),
    path(
        "incidents/<record_id:incident_id>/live/",
        views.incident_live,
        name="dashboard-incident-live",
    ),
    path(
        "incidents/<record_id:incident_id>/action/",
        views.incident_action,
        name="dashboard-incident-action",
    ),
]
