"""The web server exactly as `make run` starts it (gunicorn, its argv from rca_project.serve), on
a free port, against the test database and this run's Redis namespace, with its output kept.

    with WebServer(WEBHOOK_TOKEN="...") as server:
        requests.post(server.url + "/webhooks/adf/", ...)
        server.output()  # everything gunicorn and Django wrote (access log, errors, app logs)

Environment overrides point a dependency somewhere else (e.g. REDIS_URL at a closed port).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from django.conf import settings

from rca_project import serve
from tests.conftest import database_url_for_tests

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def closed_port_url(scheme: str) -> str:
    """A URL of a server that is not there (nothing listens on the port)."""
    return f"{scheme}://rca:rca@127.0.0.1:{free_port()}/" + ("rca" if "postgres" in scheme else "0")


def web_argv(port: int) -> list[str]:
    """`make run`'s gunicorn command line, bound to `port`."""
    argv = list(serve._children(str(Path(sys.executable).parent))["web"])
    argv[argv.index("--bind") + 1] = f"127.0.0.1:{port}"
    return argv


class WebServer:
    def __init__(self, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "rca_project.settings",
            "DATABASE_URL": database_url_for_tests(),
            "REDIS_URL": settings.REDIS_URL,
            "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
            "CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
            "SECRET_KEY": settings.SECRET_KEY,
            "WEBHOOK_TOKEN": settings.WEBHOOK_TOKEN,
            "LOG_LEVEL": "INFO",
            "LOG_FORMAT": "json",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        # Kept open for the server to write to; closed and removed on exit.
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115
            prefix="rca-web-", suffix=".log", delete=False
        )
        self._final_output: str | None = None
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> WebServer:
        self.process = subprocess.Popen(
            web_argv(self.port),
            cwd=REPO,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited:\n{self.output()[-3000:]}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.__exit__()
        raise AssertionError(f"gunicorn did not answer /healthz:\n{self.output()[-3000:]}")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self._final_output is None:
            self._final_output = self.output()
            self._log.close()
            Path(self._log.name).unlink(missing_ok=True)

    def output(self) -> str:
        """Everything the server wrote (gunicorn's logs and the application's)."""
        if self._final_output is not None:
            return self._final_output
        self._log.flush()
        return Path(self._log.name).read_text(errors="replace")

    def raw(self, request: bytes, *, read_timeout: float = 30) -> tuple[bytes, float]:
        """Send bytes on a fresh connection; (the whole answer, seconds until it ended)."""
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", self.port), timeout=read_timeout) as sock:
            sock.sendall(request)
            chunks = []
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                chunks.append(data)
                if b"\r\n\r\n" in b"".join(chunks) and _complete(b"".join(chunks)):
                    break
        return b"".join(chunks), time.monotonic() - started


def _complete(answer: bytes) -> bool:
    head, _, body = answer.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False
