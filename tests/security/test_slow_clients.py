"""Slow clients (slowloris): connections that send a request line and headers a byte at a time
must not take the web server down. The server here is the very gunicorn command `make run`
starts (`rca_project.serve.web_command`, with `rca_project.gunicorn_conf`, which
docker-compose.yml uses as well), on a free port; and, for the production layout, that gunicorn
behind nginx running compose's own `deploy/nginx.conf` (only the addresses changed). The same
server's access log is checked against forged lines."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from rca_project import gunicorn_conf
from rca_project.serve import web_command

REPO = Path(__file__).resolve().parents[2]
PARTIAL_REQUEST = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(command: list[str], log: Path, **kwargs: object) -> subprocess.Popen:
    """A server in a process group of its own (nginx forks workers), its output in `log`."""
    with log.open("wb") as output:
        return subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **kwargs,  # type: ignore[call-overload]
        )


def _stop(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _wait_until_up(process: subprocess.Popen, port: int, log: Path, name: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            _healthz_seconds(port, timeout=1)
            for _ in range(20):  # every worker has served (and imported) its first request
                _healthz_seconds(port, timeout=10)
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{name} did not start: {log.read_text()[-2000:]}") from None
            time.sleep(0.2)


def _healthz_seconds(port: int, timeout: float = 5.0) -> float:
    started = time.monotonic()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=timeout) as answer:
        assert answer.status == 200
    return time.monotonic() - started


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[int, Path]]:
    """gunicorn as `make run` starts it: its port and the file its output goes to."""
    port = _free_port()
    var = tmp_path_factory.mktemp("slow-clients")
    (var / "prometheus").mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "rca_project.settings",
        "DATABASE_URL": settings.DATABASE_URL,
        "REDIS_URL": settings.REDIS_URL,
        "RCA_VAR_DIR": str(var),
        "PROMETHEUS_MULTIPROC_DIR": str(var / "prometheus"),
        "SECRET_KEY": "slow-client-test-" + "x" * 40,
        "WEBHOOK_TOKEN": "slow-client-test-token",
        "LOG_LEVEL": "WARNING",
    }
    command = web_command(os.path.dirname(sys.executable), "127.0.0.1", port)
    log = var / "gunicorn.log"
    process = _start(command, log, cwd=REPO, env=env)
    try:
        _wait_until_up(process, port, log, "gunicorn")
        yield port, log
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def server(served) -> int:
    return served[0]


class SlowClients:
    """`count` connections that each send a partial request, then one more byte every
    `interval` seconds, never finishing their headers, until stopped."""

    def __init__(self, port: int, count: int, interval: float = 0.2) -> None:
        self.sockets = [
            socket.create_connection(("127.0.0.1", port), timeout=2) for _ in range(count)
        ]
        self.interval = interval
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)

    def __enter__(self) -> SlowClients:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)
        for sock in self.sockets:
            sock.close()

    def _trickle(self) -> None:
        sent = 0
        while not self.stopped.is_set():
            byte = PARTIAL_REQUEST[sent : sent + 1] if sent < len(PARTIAL_REQUEST) else b"a"
            sent += 1
            for sock in self.sockets:
                with contextlib.suppress(OSError):  # the server closed it: one way to cope
                    sock.sendall(byte)
            self.stopped.wait(self.interval)


def _healthz_while_slow_clients_hold_on(port: int, count: int) -> list[float]:
    with SlowClients(port, count):
        time.sleep(1.0)  # every slow client has started its request and is trickling
        timings = []
        for _ in range(5):
            timings.append(_healthz_seconds(port))
            time.sleep(0.3)
    return timings


def test_two_slow_clients_do_not_delay_healthz(server):
    timings = _healthz_while_slow_clients_hold_on(server, 2)
    assert max(timings) < 1.0, timings


def test_one_workers_threads_less_one_slow_clients_do_not_delay_healthz(server):
    """15 with 16 threads a worker: whichever workers the kernel hands them to (it may hand them
    all to one), every worker keeps a thread free. The README states the limit."""
    count = gunicorn_conf.threads - 1
    timings = _healthz_while_slow_clients_hold_on(server, count)
    assert max(timings) < 1.0, (count, timings)


def test_a_path_cannot_forge_a_line_of_the_access_log(served):
    """gunicorn logs the path percent-decoded: `%0a` would start a line of its own."""
    port, log = served
    with contextlib.suppress(urllib.error.HTTPError):  # 404: no such page
        urllib.request.urlopen(f"http://127.0.0.1:{port}/x%0aFORGED%00admin%22%5c/", timeout=5)
    deadline = time.monotonic() + 10
    while b'"GET /x' not in log.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.1)  # until the access log line is written
    text = log.read_bytes()
    assert b"\x00" not in text
    lines = [line for line in text.decode().splitlines() if "FORGED" in line]
    assert not [line for line in lines if line.startswith("FORGED")], lines
    assert any('"GET /x\\x0aFORGED\\x00admin\\x22\\x5c/" 404 ' in line for line in lines), lines


def _render_proxy_config(directory: Path, proxy_port: int, web_port: int) -> Path:
    """compose's nginx.conf with local addresses in place of the compose service names."""
    config = (REPO / "deploy/nginx.conf").read_text()
    replacements = {
        "pid /tmp/nginx.pid;": f"pid {directory}/nginx.pid;",
        "server web:8000;": f"server 127.0.0.1:{web_port};",
        "server ws:8001;": f"server 127.0.0.1:{_free_port()};",
        "listen 8080;": f"listen 127.0.0.1:{proxy_port};",
    }
    for old, new in replacements.items():
        assert old in config, old
        config = config.replace(old, new)
    path = directory / "nginx.conf"
    path.write_text(config)
    return path


@pytest.fixture(scope="module")
def proxy(server, tmp_path_factory) -> Iterator[int]:
    nginx = shutil.which("nginx") or (os.path.exists("/usr/sbin/nginx") and "/usr/sbin/nginx")
    if not nginx:
        pytest.skip("nginx is not installed (Debian nginx-light; .ci/run installs it)")
    directory = tmp_path_factory.mktemp("proxy")
    port = _free_port()
    config = _render_proxy_config(directory, port, server)
    log = directory / "nginx.log"
    command = [
        nginx,
        "-p",
        str(directory),
        "-c",
        str(config),
        "-g",
        "daemon off; error_log stderr;",
    ]
    process = _start(command, log)
    try:
        _wait_until_up(process, port, log, "nginx")
        yield port
    finally:
        _stop(process)


def test_behind_the_compose_proxy_a_hundred_slow_clients_do_not_delay_healthz(proxy):
    """Three times what the bare gunicorn threads could hold: nginx reads each request whole
    before gunicorn sees it."""
    timings = _healthz_while_slow_clients_hold_on(proxy, 100)
    assert max(timings) < 1.0, timings


def test_the_proxy_passes_the_host_header(proxy):
    """Every location sets its own headers (nginx does not inherit them into a location that
    sets any): without Host, Django sees `web` and refuses every request with 400."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{proxy}/healthz", headers={"X-Forwarded-For": "203.0.113.9"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200
