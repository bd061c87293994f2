"""ASGI entry point: HTTP today; the websocket routing for the live dashboard joins it here."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rca_project.settings")

application = get_asgi_application()
