"""A plain-text HTTP server (on 127.0.0.1 and a random port unless told) for the log fetches:
an Airflow log endpoint, or a service of this machine that no webhook should make the service
read."""

from __future__ import annotations

import ssl
import threading
import time
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class TextServer:
    """Answers GET `path` with `pages[path]` as `content_type` (text/plain unless told; every
    path with `default`, when given; else a 404), or with a 302 to `redirects[path]`; records
    the paths asked for and each request's headers. Listens on `host` and `port` (0: a free
    one), over TLS with `tls` (a server context holding the certificate). With `drip`, a page's
    bytes are sent one every `drip` seconds (a slow server); with `drip_headers` too, so are
    those of the status line and headers, after a header `X-Padding` of that many bytes.
    `headers` are sent with every page (an Azure Blob answer's `Content-Range`)."""

    def __init__(
        self,
        pages: dict[str, bytes],
        default: bytes | None = None,
        *,
        redirects: dict[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
        content_type: str = "text/plain; charset=utf-8",
        drip: float = 0.0,
        drip_headers: int = 0,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.pages = pages
        self.default = default
        self.redirects = redirects or {}
        self.host, self.port, self.tls = host, port, tls
        self.content_type = content_type
        self.drip = drip
        self.drip_headers = drip_headers
        self.extra_headers = headers or {}
        self.paths: list[str] = []
        self.headers: list[Message] = []

    def __enter__(self) -> Self:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.paths.append(self.path)
                server.headers.append(self.headers)
                if self.path in server.redirects:
                    self.send_response(302)
                    self.send_header("Location", server.redirects[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = server.pages.get(self.path, server.default)
                if server.drip_headers:
                    extra = "".join(f"{k}: {v}\r\n" for k, v in server.extra_headers.items())
                    head = (
                        f"HTTP/1.1 200 OK\r\nContent-Type: {server.content_type}\r\n{extra}"
                        f"X-Padding: {'x' * server.drip_headers}\r\n"
                        f"Content-Length: {len(data or b'')}\r\n\r\n"
                    ).encode()
                    for index in range(len(head)):
                        self.wfile.write(head[index : index + 1])
                        self.wfile.flush()
                        time.sleep(server.drip)
                    self.wfile.write(data or b"")
                    return
                self.send_response(200 if data is not None else 404)
                data = b"not found" if data is None else data
                self.send_header("Content-Type", server.content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in server.extra_headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if not server.drip:
                    self.wfile.write(data)
                    return
                for index in range(len(data)):
                    self.wfile.write(data[index : index + 1])
                    self.wfile.flush()
                    time.sleep(server.drip)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the tests read `paths` instead of the access log."""

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        if self.tls is not None:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.port = self._server.server_address[1]
        self.url = f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
