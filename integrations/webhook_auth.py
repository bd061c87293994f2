"""Webhook authentication: a shared token in a header, or in the query string for senders
(Azure action groups) that cannot set headers. Compared in constant time."""

from __future__ import annotations

import hashlib
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


def jira_request_is_authentic(request: HttpRequest, body: bytes) -> bool:
    """JIRA Cloud webhooks sign the body (`X-Hub-Signature: sha256=<hex HMAC>`) with the secret;
    JIRA Automation's "send web request" cannot sign, so it may pass the secret as `?token=`."""
    secret = settings.JIRA_WEBHOOK_SECRET
    if not secret:
        return False
    signature = request.headers.get("X-Hub-Signature", "")
    if signature:
        method, _, digest = signature.partition("=")
        if method.lower() != "sha256":
            return False
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(digest.lower().encode(), expected.encode())
    token = request.GET.get("token", "")
    return bool(token) and hmac.compare_digest(token.encode(), secret.encode())


def slack_request_is_authentic(request: HttpRequest, body: bytes) -> bool:
    """Slack's signing secret: HMAC of `v0:<timestamp>:<body>`, timestamp at most 5 minutes old."""
    from slack_sdk.signature import SignatureVerifier

    if not settings.SLACK_SIGNING_SECRET:
        return False
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    signature = request.headers.get("X-Slack-Signature", "")
    # slack_sdk compares str digests (a TypeError on a non-ASCII one) and reads the timestamp
    # with int(), which refuses some characters str.isdigit() accepts ('²').
    if (
        not (timestamp.isascii() and timestamp.isdigit())
        or not signature
        or not signature.isascii()
    ):
        return False
    verifier = SignatureVerifier(settings.SLACK_SIGNING_SECRET)
    return verifier.is_valid(
        body=body.decode("utf-8", "replace"), timestamp=timestamp, signature=signature
    )
