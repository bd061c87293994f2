"""The compose proxy (nginx, `deploy/nginx.conf`) must not write a webhook's `?token=` (Azure
action groups and JIRA Automation can only send it there) to its log. nginx quotes the whole
request line, query string included, in every `[error]` line: an upstream that is down or slow
(a deploy, a restart) or a body over its limit would print the token to the container's
output. The failure must still be visible, without the query string."""

from __future__ import annotations

import os
import shutil
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.test_slow_clients import _free_port, _render_proxy_config, _start, _stop

TOKEN = "proxy-log-token-5f1c9e-planted"


@pytest.fixture
def proxy_without_web(tmp_path) -> Iterator[tuple[int, Path]]:
    """nginx with compose's config as it is (its own log settings), gunicorn not running."""
    nginx = shutil.which("nginx") or (os.path.exists("/usr/sbin/nginx") and "/usr/sbin/nginx")
    if not nginx:
        pytest.skip("nginx is not installed (Debian nginx-light; .ci/run installs it)")
    port = _free_port()
    config = _render_proxy_config(tmp_path, port, _free_port())
    (tmp_path / "logs").mkdir()
    log = tmp_path / "nginx.log"
    process = _start([nginx, "-p", str(tmp_path), "-c", str(config), "-g", "daemon off;"], log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield port, log
    finally:
        _stop(process)


def _post(port: int, path: str, body: bytes) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}?token={TOKEN}", data=body, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _logged(log: Path, *wanted: str) -> str:
    deadline = time.monotonic() + 5
    while not all(w in log.read_text() for w in wanted) and time.monotonic() < deadline:
        time.sleep(0.1)
    return log.read_text()


def test_a_webhook_token_in_the_query_string_never_reaches_the_proxys_log(proxy_without_web):
    port, log = proxy_without_web
    assert _post(port, "/webhooks/azure-monitor/", b"{}") == 502  # gunicorn down
    assert _post(port, "/webhooks/jira/", b"x" * (3 * 1024 * 1024)) == 413  # over nginx's limit

    text = _logged(log, "/webhooks/azure-monitor/", "/webhooks/jira/")

    assert TOKEN not in text, text
    assert '"POST /webhooks/azure-monitor/" 502' in text, text  # still seen, without the query
    assert '"POST /webhooks/jira/" 413' in text, text


@pytest.mark.parametrize("path", ["/api/v1/log-analyses/", "/log-analyses/"])
def test_a_log_upload_over_the_webhooks_limit_reaches_the_app(proxy_without_web, path):
    """Logs are uploaded up to LOG_ANALYSIS_MAX_BYTES (100 MiB) per job; the proxy's 2 MiB
    limit for every other body answered a 3 MiB driver log with nginx's own HTML 413. It goes
    on to gunicorn (down here: 502), and a webhook that size is still refused."""
    port, _log = proxy_without_web
    assert _post(port, path, b"x" * (3 * 1024 * 1024)) == 502
    assert _post(port, "/webhooks/adf/", b"x" * (3 * 1024 * 1024)) == 413
