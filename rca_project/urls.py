from django.contrib import admin
from django.urls import include, path

from rca_project import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics, name="metrics"),
    path("api/v1/", include("tickets.api.urls")),
    path("", include("integrations.urls")),
    path("", include("tickets.dashboard.urls")),
]

handler404 = "rca_project.errors.not_found"
handler500 = "rca_project.errors.server_error"
