"""Reading an HTTP answer by a deadline, however slowly its server sends it.

A timeout per read alone lets a server that sends a byte now and then hold a request for as long
as it likes; these bound the whole read by one deadline (a `time.monotonic()` value): the log
fetches of log analysis and the Airflow REST API client both read through them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any


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
