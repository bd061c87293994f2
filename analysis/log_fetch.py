"""Fetching a log over http(s) from a host that a webhook may have chosen (an Airflow ticket's
``log_url``) without letting it make the service read its own machine, its private network
or the cloud's metadata services (server-side request forgery).

The host is resolved once and every address it resolves to is checked; the connection then
goes to one of those addresses, with the Host header, the TLS server name (SNI) and the
certificate check still for the host's name. A DNS answer that changes between the check and
the connection (DNS rebinding) therefore changes nothing. No redirect is followed, and no proxy
or ``.netrc`` login from the environment is used (a proxy would resolve the name itself).

No Django here: the caller passes the hosts the operator trusts (``FetchPolicy``).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import ConnectTimeoutError

from rca_project.http_errors import DEFAULT_PORTS, connection_failure
from rca_project.timed_read import DeadlineAdapter, time_left

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Never served a log, and they hand out the machine's credentials: refused for every host, a
# listed one included. Azure's (and AWS's, GCP's) instance metadata service, AWS's over IPv6,
# and Azure's WireServer (a public address, so the private-network test alone lets it through).
METADATA_SERVICES = {
    ipaddress.ip_address("169.254.169.254"): "the cloud's instance metadata service (IMDS)",
    ipaddress.ip_address("fd00:ec2::254"): "the cloud's instance metadata service (IMDS)",
    ipaddress.ip_address("168.63.129.16"): "Azure's WireServer",
}
PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
SHARED_NETWORK = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")  # the IPv4 address in its last 32 bits


class FetchRefused(ValueError):
    """The URL is not fetched; the message says why (the address, or the failed lookup)."""


@dataclass(frozen=True)
class FetchPolicy:
    """The hosts an operator configured, fetched whatever their address (private, loopback):
    ``listed_hosts`` on any port, ``trusted_origins`` as (host, port) pairs. Any other host
    must resolve to public addresses only."""

    listed_hosts: frozenset[str] = frozenset()
    trusted_origins: frozenset[tuple[str, int]] = frozenset()

    @classmethod
    def of(cls, listed_hosts: Iterable[str], trusted_urls: Iterable[str]) -> FetchPolicy:
        """The listed hosts (any port), and the host and port of each URL given."""
        origins = set()
        for url in trusted_urls:
            origin = _origin(url)
            if origin is not None:
                origins.add(origin)
        return cls(frozenset(h.lower() for h in listed_hosts), frozenset(origins))

    def trusts(self, host: str, port: int) -> bool:
        host = host.lower()
        return host in self.listed_hosts or (host, port) in self.trusted_origins


def _origin(url: str) -> tuple[str, int] | None:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.hostname.lower(), port or DEFAULT_PORTS[parts.scheme]


def refusal(ip: IPAddress) -> str:
    """Why a host at this address is not fetched unless the operator trusts it ('' when the
    address is public). An IPv6 address that carries an IPv4 one (IPv4-mapped, 6to4, NAT64)
    is judged by that IPv4 address too."""
    for address in (*_embedded_ipv4(ip), ip):
        if address.is_loopback:
            return "an address of this machine (loopback)"
        if address.is_unspecified:
            return "the unspecified address"
        if address.is_link_local:
            return "a link-local address"
        if address.is_multicast:
            return "a multicast address"
        if any(address in network for network in PRIVATE_NETWORKS):
            return "a private-network address"
        if address in SHARED_NETWORK:
            return "a carrier-grade NAT address (100.64.0.0/10)"
        if not address.is_global or address.is_reserved:
            return "a reserved address, not a public one"
    return ""


def _embedded_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    found = [a for a in (ip.ipv4_mapped, ip.sixtofour) if a is not None]
    if ip in NAT64_PREFIX:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def _metadata_service(ip: IPAddress) -> str:
    for address in (ip, *_embedded_ipv4(ip)):
        if address in METADATA_SERVICES:
            return METADATA_SERVICES[address]
    return ""


def vetted_addresses(url: str, policy: FetchPolicy) -> list[str]:
    """The addresses the URL's host resolves to, in the resolver's order, once each of them
    passed the policy; FetchRefused when one does not, the host cannot be resolved or the URL
    cannot be read (an unclosed IPv6 bracket, a port out of range)."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # an unclosed IPv6 bracket
        raise FetchRefused(f"cannot fetch the log from {url}: ValueError") from exc
    host = parts.hostname or ""
    try:
        port = parts.port or DEFAULT_PORTS.get(parts.scheme, 80)
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError) as exc:  # ValueError: a port out of range
        why = connection_failure(exc, url) or type(exc).__name__
        raise FetchRefused(f"cannot fetch the log from {host}: {why}") from exc
    trusted = policy.trusts(host, port)
    addresses: list[str] = []
    for *_, sockaddr in found:
        address = str(sockaddr[0]).split("%", 1)[0]  # an IPv6 zone, as in fe80::1%eth0
        ip = ipaddress.ip_address(address)
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
        service = _metadata_service(ip)
        if service:
            raise FetchRefused(
                f"host {host} is {ip}, {service}: never fetched, not even for a host in "
                "LOG_ANALYSIS_URL_HOSTS"
            )
        why = "" if trusted else refusal(ip)
        if why:
            raise FetchRefused(
                f"host {host} is {ip}, {why}: only a host listed in "
                "LOG_ANALYSIS_URL_HOSTS, or the host and port of AIRFLOW_API_URL, is fetched "
                "at such an address"
            )
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise FetchRefused(f"cannot fetch the log from {host}: no address")
    return addresses


class PinnedAdapter(DeadlineAdapter):
    """Connects to ``address`` whatever the URL's host resolves to now, while the request and
    TLS stay those of the host's name: the Host header, the server name sent (SNI) and the name
    the certificate must hold.

    With a ``deadline``, each connection it opens is shut down when the deadline passes (see
    ``timed_read.DeadlineAdapter``): a server sending even its headers a byte at a time cannot
    hold the request past it."""

    def __init__(self, address: str, deadline: float | None = None) -> None:
        self.address = address
        super().__init__(deadline)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        name = host_params["host"]
        host_params["host"] = self.address
        if host_params["scheme"] == "https":
            pool_kwargs["server_hostname"] = name
            pool_kwargs["assert_hostname"] = name
        return host_params, pool_kwargs

    def add_headers(self, request: requests.PreparedRequest, **kwargs: Any) -> None:
        # urllib3 would name the address it connects to; the server expects the URL's host
        # (and port), never a login the URL carries (requests sends that as Authorization).
        request.headers["Host"] = urlsplit(str(request.url)).netloc.rpartition("@")[2]


@contextmanager
def fetch(url: str, policy: FetchPolicy, deadline: float) -> Iterator[requests.Response]:
    """GET ``url`` (streamed, redirects not followed) at an address its host resolved to and
    that passed ``policy``: the first that accepts a connection, in the resolver's order, the
    connection and the headers waiting at most until ``deadline`` (the connection is shut down
    then: see PinnedAdapter; read the body with ``timed_read.body_before``). Raises
    FetchRefused, TimeoutError once the deadline passed, or the ``requests`` exception of the
    failed request."""
    addresses = vetted_addresses(url, policy)
    # A proxy or .netrc from the environment is not used; its CA bundle is, as requests does.
    verify: bool | str = (
        os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    )
    for index, address in enumerate(addresses):
        left = time_left(deadline)
        with requests.Session() as session:
            session.trust_env = False
            adapter = PinnedAdapter(address, deadline)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            try:
                answer = session.get(
                    url,
                    stream=True,
                    timeout=(left, left),
                    allow_redirects=False,
                    verify=verify,
                )
            except requests.ConnectionError as exc:
                if index + 1 < len(addresses) and _not_connected(exc):
                    continue
                raise
            with answer:
                yield answer
            return


def _not_connected(exc: requests.ConnectionError) -> bool:
    """No connection was made (refused, unreachable, timed out): the next address may do."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.ConnectTimeout) or isinstance(reason, ConnectTimeoutError)
