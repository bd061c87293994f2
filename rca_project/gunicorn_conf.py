"""How gunicorn serves the app, for `make run` (rca_project/serve.py) and for the web service in
docker-compose.yml alike: `gunicorn -c python:rca_project.gunicorn_conf rca_project.wsgi`.

Threaded workers (`gthread`), not sync ones. A sync worker handles one connection at a time from
the first byte to the last, so two clients that open a connection and send their headers a
byte at a time hold both workers until gunicorn's timeout kills them (30 s), and every other
request waits: no token is needed for that. A gthread worker's main loop accepts connections
and keeps idle (keep-alive) ones in a poller; a thread is only taken once a request starts to
arrive. A slow client still holds one thread while it trickles its headers, and a worker takes
every connection it accepts, so this raises the bar from two slow clients to `threads - 1` of
them (15 by default; the kernel may hand them all to one worker), `workers x threads` (32) if
spread evenly, rather than removing it: in production a buffering reverse proxy (nginx in
docker-compose.yml) reads every request whole before gunicorn sees it. Threads also let a
worker go on serving while one request waits on PostgreSQL, Redis or a slow body.

Each thread keeps its own database connection (CONN_MAX_AGE), so workers x threads is also the
most PostgreSQL connections the web tier opens.

The control socket (`gunicornc -s <path>`) is `gunicorn.ctl` in the instance's `RCA_VAR_DIR`,
not gunicorn's default (`$XDG_RUNTIME_DIR` or `~/.gunicorn/`), which every gunicorn of the user
on the machine shares: a second one would take it over and either one's exit remove it.
"""

from __future__ import annotations

import os
import re

from django.core.exceptions import ImproperlyConfigured
from gunicorn import glogging

from rca_project.local_services import VAR_DIR

wsgi_app = "rca_project.wsgi:application"
worker_class = "gthread"


def positive_count(name: str, default: int) -> int:
    """A process or thread count from the environment (gunicorn's here, the Celery workers' in
    rca_project/serve.py): anything but a positive integer stops the server with an error
    naming the variable, as settings.py does for the settings it reads."""
    raw = os.environ.get(name, "").strip() or str(default)
    if not raw.isdecimal() or int(raw) < 1:
        raise ImproperlyConfigured(f"{name} must be a positive integer, not {raw!r}")
    return int(raw)


workers = positive_count("WEB_CONCURRENCY", 2)
threads = positive_count("WEB_THREADS", 16)
# Idle keep-alive connections wait in the worker's poller, not in a thread; close them soon.
keepalive = 5
# The arbiter restarts a worker whose main loop stops answering for this long.
timeout = 30
graceful_timeout = 20
# Per instance (see above). A unix socket path has at most 107 bytes: past that gunicorn logs
# "Control server error" and serves without a control socket.
control_socket = str(VAR_DIR.resolve() / "gunicorn.ctl")
accesslog = "-"
# The path without the query string: Azure action groups put the webhook token there.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'

_UNPRINTABLE = re.compile(r'[\x00-\x1f\x7f-\x9f"\\]')


class AccessLogger(glogging.Logger):
    """gunicorn's logger with the path escaped (`\\x0a`): the path arrives percent-decoded, so a
    `%0a` in a URL would otherwise start a forged line of the log, and `%00` write a NUL."""

    def atoms(self, resp, req, environ, request_time) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["U"] = _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}", atoms["U"] or "")
        return atoms


logger_class = AccessLogger


def worker_exit(server, worker) -> None:
    """Send the live dashboard events this worker queued in its last moments
    (tickets/broadcast.py sends them from a thread, in batches)."""
    from tickets.broadcast import publisher

    publisher.flush()
