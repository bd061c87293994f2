"""deploy/nginx.conf run by the real nginx (upstreams pointed at a local stand-in for
gunicorn): what the proxy answers itself is JSON for the API's and the webhooks' clients and
nginx's own page elsewhere."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

NGINX = "/usr/sbin/nginx"
CONF = Path(__file__).resolve().parent.parent / "deploy" / "nginx.conf"

pytestmark = pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx is not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StandIn:
    """Accepts a request and closes it unanswered (`/.../closed`: nginx answers 502) or
    answers nothing at all (nginx answers 504 at proxy_read_timeout)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            head = conn.recv(65536)
            if b"/closed" in head.split(b"\r\n", 1)[0]:
                conn.close()
            else:
                self.held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[str]:
    stand_in = StandIn()
    port = free_port()
    conf = CONF.read_text()
    conf = conf.replace("server web:8000;", f"server 127.0.0.1:{stand_in.port};")
    conf = conf.replace("server ws:8001;", f"server 127.0.0.1:{free_port()};")
    conf = conf.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    conf = conf.replace("pid /tmp/nginx.pid;", f"pid {tmp_path}/nginx.pid;")
    conf = re.sub(r"proxy_read_timeout 60s;", "proxy_read_timeout 1s;", conf)
    temp = "".join(
        f"    {kind}_temp_path {tmp_path}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = conf.replace("http {\n", "http {\n" + temp, 1)
    (tmp_path / "nginx.conf").write_text(conf)
    process = subprocess.Popen(
        [NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"],
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)
        stand_in.close()
        shutil.rmtree(tmp_path, ignore_errors=True)


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/webhooks/azure-monitor/", b"x" * (3 * 1024 * 1024), 413),
        ("/api/v1/tickets/closed", b"{}", 502),
        ("/webhooks/adf/closed", b"{}", 502),
        ("/api/v1/tickets/", b"{}", 504),
    ],
)
def test_the_api_and_webhooks_get_the_proxys_own_errors_as_json(proxy, path, body, status):
    answer = requests.post(f"{proxy}{path}", data=body, timeout=20)
    assert answer.status_code == status
    assert answer.headers["Content-Type"] == "application/json"
    assert set(answer.json()) == {"error"}


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [("/tickets/", b"x" * (3 * 1024 * 1024), 413), ("/tickets/closed", b"", 502)],
)
def test_pages_get_nginxs_own_error_page(proxy, path, body, status):
    answer = requests.post(f"{proxy}{path}", data=body, timeout=20)
    assert answer.status_code == status
    assert answer.headers["Content-Type"] == "text/html"
    assert f"<title>{status}" in answer.text


@pytest.mark.parametrize("path", ["/metrics", "/metrics/"])
def test_the_proxy_never_passes_metrics_on(proxy, path):
    """From outside, the app may see Docker's gateway (a private address it serves metrics to
    without METRICS_TOKEN) as the client: only scrapers on the stack's network read them."""
    answer = requests.get(f"{proxy}{path}", timeout=20)
    assert answer.status_code == 404
    assert "web:8000/metrics" in answer.json()["error"]
