"""Reading an HTTP answer by a deadline, however slowly its server sends it.

A timeout per read alone lets a server that sends a byte now and then hold a request for as long
as it likes; these bound the whole request by one deadline (a `time.monotonic()` value): its
body's reads (`body_before`, `read_within`), and, by shutting its connection down when the
deadline passes (`DeadlineCuts`, `DeadlineAdapter` for requests), its status line and headers,
which urllib3 reads before handing the answer over. The log fetches of log analysis (a URL,
a blob, through azure-storage-blob's transport) and the Airflow REST API client go through
them.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3 import PoolManager
from urllib3.connection import HTTPConnection
from urllib3.connectionpool import HTTPConnectionPool


def time_left(deadline: float) -> float:
    """Seconds until `deadline`; TimeoutError once it passed."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the deadline passed")
    return left


def body_before(response: Any, deadline: float, chunk_size: int) -> Iterator[bytes]:
    """The body of a urllib3 answer opened without preloading it, in pieces as they arrive (up
    to `chunk_size`, decoded: requests asks for gzip and reads raw). Each read waits at most the
    time left before `deadline`, and reading stops (TimeoutError) once it passed; urllib3's own
    errors (a read that timed out) pass through."""
    while True:
        left = time_left(deadline)
        sock = getattr(response.connection, "sock", None)
        if sock is not None:
            sock.settimeout(left)  # the next read waits at most the time left
        chunk = response.read1(chunk_size, decode_content=True)
        if not chunk:
            return
        yield chunk


def read_within(
    response: Any, deadline: float, limit: int, chunk_size: int = 1 << 20
) -> bytes | None:
    """The whole body read by `deadline` (see `body_before`); None once it grew past `limit`."""
    data = bytearray()
    for chunk in body_before(response, deadline, chunk_size):
        data += chunk
        if len(data) > limit:
            return None
    return bytes(data)


class DeadlineCuts:
    """Shuts down, when `deadline` passes, each connection a pool manager it was given (`cut`)
    opens from then on, so whatever read waits on one then ends in an error: a read timeout
    bounds each read, and a server sending its status line and headers a byte at a time within
    it would hold the request for as long as it likes. `cancel` once the requests are done."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self._timers: list[threading.Timer] = []
        self._lock = threading.Lock()

    def cut(self, manager: PoolManager) -> None:
        """Make the connections `manager`'s new pools open (of whatever kind: direct, through a
        proxy, TLS) shut down at the deadline."""
        manager.pool_classes_by_scheme = {
            scheme: self._pool(pool) for scheme, pool in manager.pool_classes_by_scheme.items()
        }

    def _pool(self, base: type[HTTPConnectionPool]) -> type[HTTPConnectionPool]:
        cuts = self

        class Connection(base.ConnectionCls):  # type: ignore[name-defined]
            opened_socket: socket.socket | None = None

            def connect(self) -> None:
                cuts.watch(self)
                super().connect()
                # http.client lets go of `sock` as soon as an answer that closes the connection
                # (HTTP/1.0, `Connection: close`) arrives, while its body is still read from it.
                self.opened_socket = self.sock

        return type(base.__name__, (base,), {"ConnectionCls": Connection})

    def watch(self, connection: HTTPConnection) -> None:
        """Shut `connection`'s socket down at the deadline (as soon as it has one then)."""

        def cut() -> None:
            left = self.deadline - time.monotonic()
            if left > 0:  # a timer may wake a little early: the deadline is the promise
                time.sleep(left)
            sock = connection.sock or getattr(connection, "opened_socket", None)
            if sock is not None:
                # The socket's own shutdown, also under TLS (SSLSocket's would drop its TLS
                # state under a read running on another thread): the read sees the end.
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)

        timer = threading.Timer(max(self.deadline - time.monotonic(), 0.0), cut)
        timer.daemon = True
        with self._lock:
            self._timers.append(timer)
        timer.start()

    def cancel(self) -> None:
        with self._lock:
            timers, self._timers = self._timers, []
        for timer in timers:
            timer.cancel()


class DeadlineAdapter(HTTPAdapter):
    """A requests adapter (no retries) whose connections, given a `deadline`, are shut down
    when it passes (`DeadlineCuts`): the connection, the headers and the body of a request
    through it (however it is read; `body_before` also ends each read by the deadline) take at
    most until then, and a request sent after it
    fails at once (`requests.ConnectTimeout`): a library retrying a request it saw cut would
    otherwise open a connection nothing shuts down. Closing it (or the session it is mounted
    on) cancels that."""

    def __init__(self, deadline: float | None = None) -> None:
        self.deadline = deadline
        self.cuts = DeadlineCuts(deadline) if deadline is not None else None
        super().__init__(max_retries=0)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise requests.ConnectTimeout("the deadline passed", request=request)
        return super().send(request, *args, **kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        if self.cuts is not None:
            self.cuts.cut(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> PoolManager:
        known = proxy in self.proxy_manager
        manager: PoolManager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if self.cuts is not None and not known:
            self.cuts.cut(manager)
        return manager

    def close(self) -> None:
        if self.cuts is not None:
            self.cuts.cancel()
        super().close()


def session_by(deadline: float) -> requests.Session:
    """A requests session whose http(s) requests are shut down at `deadline` (see
    `DeadlineAdapter`); use it as a context manager, which closes it."""
    session = requests.Session()
    adapter = DeadlineAdapter(deadline)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
