import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rca_project.settings")

app = Celery("rca_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
