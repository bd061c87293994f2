from django.contrib import admin
from django.urls import include, path, re_path

from rca_project import health

urlpatterns = [
    path("admin/", admin.site.urls),
    # Probes answer with or without a trailing slash (checkers are configured both ways).
    re_path(r"^healthz/?$", health.healthz, name="healthz"),
    re_path(r"^readyz/?$", health.readyz, name="readyz"),
    re_path(r"^metrics/?$", health.metrics, name="metrics"),
    path("api/v1/", include("tickets.api.urls")),
    path("", include("integrations.urls")),
    path("", include("tickets.dashboard.urls")),
]

handler400 = "rca_project.errors.bad_request"
handler404 = "rca_project.errors.not_found"
handler500 = "rca_project.errors.server_error"
