"""A small threaded HTTP server for fakes of the services we call (Gemini, JIRA, Slack,
Databricks, Azure management): records every request and injects faults (fail, throttle, stall).

Subclasses implement `route(request) -> (status, json_body, headers)`.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

Reply = tuple[int, Any, dict[str, str]]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any  # decoded JSON, the raw text if it is not JSON, or None when empty

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)


@dataclass
class Fault:
    """One injected misbehaviour: answer `status` (unless 0) after waiting `stall` seconds."""

    status: int = 0
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    stall: float = 0.0
    times: int | None = 1  # None: every matching request until clear_faults()
    path_contains: str = ""
    # Only requests whose query names these values (`{"run_id": "8600"}`).
    query: dict[str, str] = field(default_factory=dict)


class FakeHttpService:
    """A threaded HTTP server on 127.0.0.1 (random port) that records requests and injects faults.

    Subclasses implement `route(request) -> (status, json_body, headers)`.
    """

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-http",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self._released.set()  # let stalled handlers finish at once
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        assert self._server is not None, "use the fake as a context manager"
        host, port = self._server.server_address[:2]
        assert isinstance(host, str)  # an AF_INET server: (host, port)
        return f"http://{host}:{port}"

    # -- fault knobs -------------------------------------------------------------------------
    def fail(
        self,
        status: int,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        times: int | None = 1,
        path_contains: str = "",
        stall: float = 0.0,
        query: dict[str, str] | None = None,
    ) -> None:
        """Answer the next `times` matching requests (None: all of them) with `status`/`body`,
        after holding each `stall` seconds (or until `release_stalled`). `query`: only requests
        whose query parameters have these values."""
        self._add_fault(
            Fault(status, body, dict(headers or {}), stall, times, path_contains, dict(query or {}))
        )

    def throttle(self, retry_after: int, *, times: int | None = 1, path_contains: str = "") -> None:
        """Answer 429 with a Retry-After header."""
        body = self.error_body(429, "Too many requests")
        headers = {"Retry-After": str(retry_after)}
        self._add_fault(Fault(429, body, headers, 0.0, times, path_contains))

    def stall(self, seconds: float, *, times: int | None = None, path_contains: str = "") -> None:
        """Hold matching requests for `seconds` before answering normally (the client times out)."""
        self._add_fault(Fault(0, None, {}, seconds, times, path_contains))

    def release_stalled(self) -> None:
        """Answer the requests `stall` holds now, and those it would hold from now on, at once."""
        self._released.set()

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def requests_to(self, path_part: str) -> list[RecordedRequest]:
        return [r for r in self.requests if path_part in r.path]

    # -- for subclasses ----------------------------------------------------------------------
    def route(self, request: RecordedRequest) -> Reply:
        """Answer one request; every fake (Gemini, JIRA, Slack...) implements its service."""
        raise NotImplementedError(f"{type(self).__name__} must answer {request.path}")

    def error_body(self, status: int, message: str) -> Any:
        return {"message": message}

    def body_pause(self, request: RecordedRequest) -> float:
        """Seconds to wait before each byte of the answer's body (0: send it at once); a fake
        that drips an answer slowly overrides it."""
        return 0.0

    def header_pause(self, request: RecordedRequest) -> float:
        """Seconds to wait before each byte of the answer's status line and headers (0: send
        them at once, as most servers do); a fake that drips its headers overrides it. A
        padding header makes them a few hundred bytes."""
        return 0.0

    # -- internals ---------------------------------------------------------------------------
    def _add_fault(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self, request: RecordedRequest) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.path_contains and fault.path_contains not in request.path:
                    continue
                if any(request.param(name) != value for name, value in fault.query.items()):
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                return fault
        return None

    def _answer(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
        fault = self._take_fault(request)
        if fault is not None:
            if fault.stall:
                self._released.wait(fault.stall)
            if fault.status:
                return fault.status, fault.body, fault.headers
        return self.route(request)


def _handler_for(service: FakeHttpService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body: Any = None
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw.decode("utf-8", "replace")
            request = RecordedRequest(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers=dict(self.headers.items()),
                body=body,
            )
            try:
                status, payload, headers = service._answer(request)
            except Exception as exc:  # a bug in a fake should show up as a 500, not a hang
                status, payload, headers = 500, {"message": f"fake crashed: {exc!r}"}, {}
            # bytes are sent as they are (an answer a fake encoded itself, e.g. gzip)
            data = payload if isinstance(payload, bytes) else b""
            if payload is not None and not isinstance(payload, bytes):
                data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                head_pause = service.header_pause(request)
                if not head_pause:
                    self.end_headers()
                else:
                    self.send_header("X-Padding", "x" * 200)
                    buffered: list[bytes] = getattr(self, "_headers_buffer", [])
                    head = b"".join(buffered) + b"\r\n"
                    buffered.clear()  # sent here, not by a later flush
                    for index in range(len(head)):
                        if service._released.wait(head_pause):
                            return  # stopping: drop the rest
                        self.wfile.write(head[index : index + 1])
                        self.wfile.flush()
                pause = service.body_pause(request)
                if not pause:
                    self.wfile.write(data)
                else:
                    for index in range(len(data)):
                        if service._released.wait(pause):
                            break  # stopping: drop the rest
                        self.wfile.write(data[index : index + 1])
                        self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout) while we stalled

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests read `requests` instead of the access log."""

    return Handler
