from django.urls import path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from rca_project.openapi import SCHEMA_SETTINGS
from tickets.api import log_analyses, views

router = SimpleRouter()
router.register("tickets", views.TicketViewSet, basename="api-ticket")
router.register("log-analyses", log_analyses.LogAnalysisViewSet, basename="api-log-analysis")
router.register("incidents", views.IncidentViewSet, basename="api-incident")

urlpatterns = [
    path("token/", views.LoginThrottledTokenView.as_view(), name="api-token-obtain"),
    path("token/refresh/", views.DocumentedTokenRefreshView.as_view(), name="api-token-refresh"),
    path("token/revoke/", views.RevokeTokenView.as_view(), name="api-token-revoke"),
    path("token/verify/", views.DocumentedTokenVerifyView.as_view(), name="api-token-verify"),
    path("stats/", views.StatsView.as_view(), name="api-stats"),
    path("stats/incidents/", views.IncidentStatsView.as_view(), name="api-incident-stats"),
    path("trace/<str:tracking_id>/", views.TraceView.as_view(), name="api-trace"),
    path(
        "resolutions/<str:resolution_id>/mark-wrong/",
        views.MarkFixWrongView.as_view(),
        name="api-resolution-mark-wrong",
    ),
    # Public documents: a stale or forged token sent along must not turn them into a 401.
    path(
        "schema/",
        SpectacularAPIView.as_view(custom_settings=SCHEMA_SETTINGS, authentication_classes=[]),
        name="api-schema",
    ),
    path(
        "docs/",
        views.OfflineSwaggerView.as_view(url_name="api-schema", authentication_classes=[]),
        name="api-docs",
    ),
    *router.urls,
]
