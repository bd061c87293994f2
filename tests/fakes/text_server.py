"""A plain-text HTTP server on 127.0.0.1 (random port) for the log fetches: an Airflow log
endpoint, or a service of this machine that no webhook should make the service read."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class TextServer:
    """Answers GET `path` with `pages[path]` as text/plain (every path with `default`, when
    given; else a 404), and records the paths asked for."""

    def __init__(self, pages: dict[str, bytes], default: bytes | None = None) -> None:
        self.pages = pages
        self.default = default
        self.paths: list[str] = []

    def __enter__(self) -> Self:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.paths.append(self.path)
                data = server.pages.get(self.path, server.default)
                self.send_response(200 if data is not None else 404)
                data = b"not found" if data is None else data
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the tests read `paths` instead of the access log."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
