"""DRF's rate throttles, keyed by the client address we trust (`client_address`).

DRF's own `get_ident` believes any `X-Forwarded-For` unless NUM_PROXIES is set, so a client
could pick a new address for every request and never be throttled; these use the same rule as
the sign-in lockout (TRUSTED_PROXIES)."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle, UserRateThrottle

from rca_project.client_address import client_address


class _ClientAddressIdent:
    def get_ident(self, request: Request) -> str:
        return client_address(request._request)


class ClientAnonRateThrottle(_ClientAddressIdent, AnonRateThrottle):
    """Anonymous callers, per client address."""


class ClientUserRateThrottle(_ClientAddressIdent, UserRateThrottle):
    """Signed-in callers per user (anonymous ones per client address)."""


class ClientScopedRateThrottle(_ClientAddressIdent, ScopedRateThrottle):
    """A view's `throttle_scope`, per user or client address."""
