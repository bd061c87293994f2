"""Webhook authentication: a shared token in a header, or in the query string for senders
(Azure action groups) that cannot set headers. Compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import time

from django.conf import settings
from django.http import HttpRequest

from tickets.vocabulary import Source

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


def token_refusal(request: HttpRequest, source: str) -> str:
    """Why a failure webhook's request is refused, or '' when its token is right: what to send
    and which setting holds it (the source's own, else the shared one), never the token."""
    if token_is_valid(request, source):
        return ""
    settings_named = (
        f"WEBHOOK_TOKEN_{Source(source).name} if the service sets it, else WEBHOOK_TOKEN"
        " (or the one `make run` generated and printed)"
    )
    if not presented_token(request):
        return (
            f"no webhook token: send the {TOKEN_HEADER} header (or ?token= where a sender"
            f" cannot set headers) holding {settings_named}"
        )
    return f"wrong webhook token: the {TOKEN_HEADER} header (or ?token=) must hold {settings_named}"


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


# Slack's own limit on a signed request's age (slack_sdk's SignatureVerifier checks the same).
SLACK_MAX_AGE_SECONDS = 300


def slack_request_refusal(request: HttpRequest, body: bytes) -> str:
    """Why the request is not Slack's, or '' when it is: signed with the signing secret
    (HMAC of `v0:<timestamp>:<body>`) at most five minutes from now, either way. A request
    signed rightly whose timestamp is too far off says so, with how far: Slack sends every
    click at once, so that is a replay, or this server's clock is off (every click is then
    refused, and the operator is told which). Only the secret's holder can sign one, so the
    answer tells nobody else anything."""
    from slack_sdk.signature import SignatureVerifier

    if not settings.SLACK_SIGNING_SECRET:
        return "SLACK_SIGNING_SECRET is not configured"
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    signature = request.headers.get("X-Slack-Signature", "")
    # slack_sdk compares str digests (a TypeError on a non-ASCII one) and reads the timestamp
    # with int(), which refuses some characters str.isdigit() accepts ('²').
    # Ten digits until 2286; past 4,300 digits int() raises.
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return "missing or malformed Slack request timestamp (X-Slack-Request-Timestamp)"
    if not signature or not signature.isascii():
        return "missing Slack signature (X-Slack-Signature)"
    verifier = SignatureVerifier(settings.SLACK_SIGNING_SECRET)
    expected = verifier.generate_signature(
        timestamp=timestamp, body=body.decode("utf-8", "replace")
    )
    if expected is None or not hmac.compare_digest(expected.encode(), signature.encode()):
        return "wrong Slack signature (not signed with SLACK_SIGNING_SECRET)"
    skew = int(time.time() - int(timestamp))
    if abs(skew) > SLACK_MAX_AGE_SECONDS:
        when = f"{skew} s old" if skew > 0 else f"{-skew} s ahead of this server's clock"
        return (
            f"stale Slack request: signed rightly, but its timestamp is {when} (more than "
            f"{SLACK_MAX_AGE_SECONDS // 60} minutes either way): a replay, or this server's "
            "clock is off"
        )
    return ""


def slack_request_is_authentic(request: HttpRequest, body: bytes) -> bool:
    """Slack's signing secret: HMAC of `v0:<timestamp>:<body>`, timestamp at most 5 minutes off."""
    return not slack_request_refusal(request, body)
