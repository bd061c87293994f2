"""The live-update websocket served by a real daphne process, as `make run` serves it.

A dashboard tab keeps its websocket open, mostly idle, for as long as the page is shown. Each
consumer waits for events in a blocking Redis pop; a socket read timeout shorter than that pop
made every idle consumer crash after about five seconds, and daphne logged a
`redis.exceptions.TimeoutError` traceback for each open tab.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.test import Client
from websockets.sync.client import connect
from websockets.typing import Origin

from rca_project.serve import websocket_command
from tests.conftest import database_url_for_tests, wait_for
from tests.dashboard import make_ticket, make_user
from tickets.broadcast import GROUP

pytestmark = pytest.mark.django_db(transaction=True)
REPO = Path(__file__).resolve().parents[2]
# Longer than the channel layer's blocking pop (5 s), which is when the old timeout fired.
IDLE_SECONDS = 7


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def daphne(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """daphne as `make run` starts it, on a free port, on this run's database and Redis
    namespace; yields its port and the file its output goes to."""
    port = free_port()
    log_path = tmp_path / "daphne.log"
    env = {
        # Unbuffered or not as the caller's shell has it, the output would hide whether the
        # server writes each access log line as it is made: `make run` and compose set nothing.
        **{name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"},
        "PYTHONPATH": str(REPO),
        "DJANGO_SETTINGS_MODULE": "rca_project.settings",
        "DATABASE_URL": database_url_for_tests(),
        "REDIS_URL": settings.REDIS_URL,
        "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
        "SECRET_KEY": settings.SECRET_KEY,
        "LOG_FORMAT": "plain",
    }
    with log_path.open("w") as log:
        process = subprocess.Popen(
            websocket_command(str(Path(sys.executable).parent), "127.0.0.1", port),
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert process.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "daphne did not listen within 60 s"
                time.sleep(0.2)
        yield port, log_path
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_an_idle_dashboard_websocket_stays_open_and_daphne_logs_no_traceback(daphne):
    port, log_path = daphne
    client = Client()
    client.force_login(make_user("idle-watcher", "viewer"))
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    ticket = make_ticket()

    with connect(
        f"ws://127.0.0.1:{port}/ws/tickets/",
        additional_headers={"Cookie": cookie},
        origin=Origin("http://127.0.0.1"),
        open_timeout=20,
    ) as websocket:
        time.sleep(IDLE_SECONDS)
        # The same consumer is still there and still hears the group.
        async_to_sync(get_channel_layer().group_send)(
            GROUP,
            {"type": "ticket.changed", "ticket_id": ticket.id, "action": "updated", "actor": "t"},
        )
        message = json.loads(websocket.recv(timeout=10))
        assert message["ticket"]["id"] == ticket.id
        assert message["action"] == "updated"

    time.sleep(0.5)  # let daphne log the disconnect, and anything that went wrong with it
    log = log_path.read_text()
    assert "WSCONNECT /ws/tickets/" in log
    assert "Traceback" not in log, log
    assert "TimeoutError" not in log, log


def test_compose_ws_health_check_passes_against_daphne(daphne):
    """docker-compose.yml's ws service checks daphne's own HTTP (`/healthz`), asked at
    127.0.0.1 whatever ALLOWED_HOSTS says."""
    port, _ = daphne
    ws = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["ws"]
    code = ws["healthcheck"]["test"][3].replace(":8001/", f":{port}/")
    assert subprocess.run([sys.executable, "-c", code], timeout=30).returncode == 0


TOKEN = "daphne-log-token-83c1d7-planted"


def test_daphnes_access_log_leaves_out_query_strings(daphne):
    """daphne serves the app's HTTP too and logs every request it serves: a webhook sent to its
    port with its token in the query string (Azure action groups, JIRA Automation) printed the
    token in the clear. Its log names the path only, as gunicorn's does, each line written as
    it is made (with stdout a file, as here, they sat in Python's buffer)."""
    port, log_path = daphne
    for path in (f"/webhooks/jira/?token={TOKEN}", f"/healthz?token={TOKEN}&x=%0aforged"):
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=b"{}")
        with contextlib.suppress(urllib.error.HTTPError):
            urllib.request.urlopen(request, timeout=30).close()

    wait_for(lambda: "POST /healthz" in log_path.read_text())
    log = log_path.read_text()
    assert '"POST /webhooks/jira/" 401' in log, log
    assert '"POST /healthz"' in log, log
    assert TOKEN not in log, log
    assert "forged" not in log, log
