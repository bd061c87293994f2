"""The address of the client behind a request, trusting forwarded headers only from proxies
we run.

`REMOTE_ADDR` is the peer of the TCP connection: the client itself, or a reverse proxy in front
of us. A proxy reports the address it saw by appending it to `X-Forwarded-For`, but a client
can send that header too, with any address in it. So the header is read only when the peer is
one of `TRUSTED_PROXIES` (IP addresses or networks), and only from the right: each entry that is
itself a trusted proxy is skipped, and the first one that is not is the client. Everything left
of it was written by the client and is ignored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """`10.0.0.5`, `10.0.0.0/8`, `fd00::/8` → networks; ValueError names a bad entry."""
    networks = []
    for value in values:
        value = value.strip()
        if not value:
            continue
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise ValueError(f"'{value}' is not an IP address or network") from None
    return tuple(networks)


@lru_cache(maxsize=8)
def _trusted(values: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(values)


def _is_trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request: HttpRequest) -> str:
    """The client's address: the peer, unless the peer is a trusted proxy (see the module)."""
    peer = request.META.get("REMOTE_ADDR", "") or ""
    networks = _trusted(tuple(settings.TRUSTED_PROXIES))
    if not networks or not _is_trusted(peer, networks):
        return peer
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "") or ""
    client = peer
    for hop in reversed([part.strip() for part in forwarded.split(",")]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            # Not an address: written by whoever is left of the last trusted hop, not by a
            # proxy of ours. The last trusted hop is the best we know.
            return client
        client = hop
        if not _is_trusted(hop, networks):
            return hop
    return client
