from django.contrib import admin
from django.urls import include, path

from rca_project import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", include("integrations.urls")),
]
