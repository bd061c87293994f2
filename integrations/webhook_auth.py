"""Webhook authentication: a shared token in a header, or in the query string for senders
(Azure action groups) that cannot set headers. Compared in constant time."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest

TOKEN_HEADER = "X-Webhook-Token"


def expected_token(source: str) -> str:
    """A per-source token, when configured, replaces the shared one for that source."""
    return settings.WEBHOOK_SOURCE_TOKENS.get(source) or settings.WEBHOOK_TOKEN


def presented_token(request: HttpRequest) -> str:
    return request.headers.get(TOKEN_HEADER) or request.GET.get("token", "")


def token_is_valid(request: HttpRequest, source: str) -> bool:
    presented = presented_token(request)
    expected = expected_token(source)
    if not presented or not expected:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())
