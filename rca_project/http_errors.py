"""What a failed HTTP request ran into, in words: shared by the log fetch of log analysis
(analysis/log_fetch.py), the Airflow REST API client (rca_project/airflow_api.py), the playbook
call (integrations/targets/playbook.py) and the ADF rerun (integrations/targets/adf_rerun.py),
so that a connection failure reads the same wherever it is reported; and whether the request
never reached its server (`never_connected`), so that a remediation's start that sent nothing
is sent again.
"""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Iterator
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import ConnectTimeoutError, ReadTimeoutError
from urllib3.util.ssl_match_hostname import CertificateError

DEFAULT_PORTS = {"http": 80, "https": 443}


def connection_failure(exc: BaseException, url: str) -> str:
    """What a failed request to ``url`` ran into, in words, for the usual connection errors
    (found anywhere in the chain of exceptions ``requests``, ``urllib3`` and ``azure-core`` wrap
    them in): the host's name not resolved, the connection refused, the TLS certificate not
    accepted, another TLS failure, no answer in time, the connection reset, no route to the
    host. '' for others."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or url, parts.port or DEFAULT_PORTS.get(parts.scheme, 80)
    except ValueError:
        host, port = url, 0
    causes = list(_causes(exc))

    def found(*kinds: type[BaseException]) -> BaseException | None:
        return next((c for c in causes if isinstance(c, kinds)), None)

    if (dns := found(socket.gaierror)) is not None:
        assert isinstance(dns, socket.gaierror)
        detail = f" ({dns.strerror})" if dns.strerror else ""
        return f"could not resolve host {host}{detail}"
    if (cert := found(ssl.SSLCertVerificationError)) is not None:
        assert isinstance(cert, ssl.SSLCertVerificationError)
        detail = cert.verify_message or cert.reason or "verification failed"
        return f"the TLS certificate of {host} was not accepted ({detail})"
    if (mismatch := found(CertificateError)) is not None:  # urllib3 checks the name itself
        return f"the TLS certificate of {host} was not accepted ({mismatch})"
    if (tls := found(ssl.SSLError)) is not None:
        assert isinstance(tls, ssl.SSLError)
        return f"the TLS handshake with {host} failed ({tls.reason or tls})"
    if found(ConnectionRefusedError):
        return f"{host} refused the connection on port {port}"
    if found(ConnectionResetError):
        return f"{host} closed the connection"
    # urllib3's NewConnectionError (any failed connect) is a ConnectTimeoutError: not a sign.
    if found(TimeoutError, ReadTimeoutError, requests.Timeout):
        return f"{host} did not answer in time"
    unreachable = (errno.ENETUNREACH, errno.EHOSTUNREACH)
    if any(isinstance(c, OSError) and c.errno in unreachable for c in causes):
        return f"no network route to {host}"
    return ""


def never_connected(exc: BaseException) -> bool:
    """Whether a failed request never reached its server (found anywhere in the chain of
    exceptions, as `connection_failure` looks): its host's name not resolved, no route to it,
    the connection refused or not made in time, or its TLS certificate not accepted. Nothing
    of the request was sent then, so it carried nothing out. A reset, a read timeout or another
    TLS failure may come after the request was sent: False."""
    causes = list(_causes(exc))
    # urllib3's NewConnectionError (any failed connect) is a ConnectTimeoutError.
    unconnected = (
        socket.gaierror,
        ConnectionRefusedError,
        ssl.SSLCertVerificationError,
        CertificateError,
        ConnectTimeoutError,
        requests.ConnectTimeout,
    )
    if any(isinstance(c, unconnected) for c in causes):
        return True
    unreachable = (errno.ENETUNREACH, errno.EHOSTUNREACH)
    return any(isinstance(c, OSError) and c.errno in unreachable for c in causes)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and those it wraps: its cause and context, urllib3's ``reason``,
    azure-core's ``inner_exception`` (an ``AzureError`` keeps the transport's error there, its
    arguments only the text), and the exceptions among its arguments (how ``requests`` wraps
    urllib3's), each once."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending and len(seen) < 50:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        reason = getattr(current, "reason", None)
        wrapped = getattr(current, "inner_exception", None)
        for inner in (current.__cause__, current.__context__, reason, wrapped, *current.args):
            if isinstance(inner, BaseException):
                pending.append(inner)
