"""Dashboard pages, included at the site root."""

from django.urls import path

from tickets.dashboard import log_analysis, views

urlpatterns = [
    path("", views.board, name="dashboard"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("register/", views.register, name="dashboard-register"),
    path("tickets/<str:ticket_id>/", views.ticket_detail, name="dashboard-ticket"),
    path("tickets/<str:ticket_id>/action/", views.ticket_action, name="dashboard-ticket-action"),
    path(
        "tickets/<str:ticket_id>/rerun-rca/",
        views.ticket_rerun_rca,
        name="dashboard-ticket-rerun-rca",
    ),
    path(
        "tickets/<str:ticket_id>/remediation/",
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
        "tickets/<str:ticket_id>/analyse-log/",
        log_analysis.analyse_ticket_log,
        name="dashboard-ticket-analyse-log",
    ),
    path("incidents/<str:incident_id>/", views.incident_detail, name="dashboard-incident"),
    path(
        "incidents/<str:incident_id>/live/",
        views.incident_live,
        name="dashboard-incident-live",
    ),
    path(
        "incidents/<str:incident_id>/action/",
        views.incident_action,
        name="dashboard-incident-action",
    ),
]
