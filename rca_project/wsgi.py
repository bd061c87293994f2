import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rca_project.settings")

application = get_wsgi_application()

# gunicorn's access and error logs are configured before our settings load.
from rca_project.log_redaction import install_on_server_loggers  # noqa: E402

install_on_server_loggers()
