from __future__ import annotations

import contextlib
import functools
import hmac
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    HttpResponseRedirect,
    JsonResponse,
    UnreadablePostError,
)
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from analysis.redaction import redact
from integrations import remediation, syncback
from integrations.events import ParseError
from integrations.ingest import (
    RejectedDelivery,
    decode_json,
    ingest_delivery,
    redacted_inbound_body,
)
from integrations.models import SYNC_BACK_SOURCES, DeliveryStatus, WebhookDelivery
from integrations.parsers.jira import parse_jira_event
from integrations.parsers.slack_actions import decode_form_payload, parse_slack_actions
from integrations.targets import playbook
from integrations.targets.base import TransportError
from integrations.targets.blob import BlobTransport
from integrations.webhook_auth import (
    jira_request_is_authentic,
    slack_request_is_authentic,
    slack_request_refusal,
    token_refusal,
)
from rca_project.celery import DATABASE_UNAVAILABLE
from rca_project.client_address import client_address
from rca_project.observability import INGEST_SECONDS, WEBHOOKS
from tickets.models import Ticket
from tickets.roles import VIEWER, has_role

logger = logging.getLogger(__name__)

# Kept on the inbox row for tracing; never the token.
_KEPT_HEADERS = ("Content-Type", "User-Agent", "X-Forwarded-For", "X-Request-Id")


class BodyTooLarge(Exception):
    """The body is over the configured limit (refused before it is read whole)."""


class BodyUnreadable(Exception):
    """The body could not be read: it stalled, ended early, its length is not known, or it
    came compressed."""

    def __init__(self, reason: str, status: int = 400):
        super().__init__(reason)
        self.reason = reason
        self.status = status


def read_bounded_body(request: HttpRequest, limit: int) -> bytes:
    """The body, refused when over `limit` bytes without reading it whole.

    A chunked body (no Content-Length) is read from the server's own stream, which ends where the
    chunks end (`wsgi.input_terminated`, gunicorn's promise), bounded by the same limit; a server
    that makes no such promise gets 411. Under gunicorn, a body that stops arriving (a
    Content-Length larger than what is sent) times out after WEBHOOK_BODY_TIMEOUT_SECONDS
    without a byte, instead of holding the worker until gunicorn kills it.

    A body with a Content-Encoding (gzip, ...) is a 415 naming it, not read: none of the
    senders (Azure Monitor action groups, Databricks notifications, Airflow callbacks)
    compresses, and decompressing would need its own bound against a zip bomb."""
    encoding = request.headers.get("Content-Encoding", "").strip()
    if encoding and encoding.lower() != "identity":
        raise BodyUnreadable(
            f"Content-Encoding {encoding[:40]!r} is not accepted: send the JSON uncompressed",
            status=415,
        )
    chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise BodyTooLarge
    if chunked and not request.META.get("wsgi.input_terminated"):
        raise BodyUnreadable("a chunked body needs a Content-Length on this server", status=411)
    sock = request.META.get("gunicorn.socket")
    previous = sock.gettimeout() if sock is not None else None
    try:
        if sock is not None:
            sock.settimeout(settings.WEBHOOK_BODY_TIMEOUT_SECONDS)
        body = request.META["wsgi.input"].read(limit + 1) if chunked else request.read(limit + 1)
    except (OSError, UnreadablePostError) as exc:  # socket timeout, connection reset
        raise BodyUnreadable(
            f"body incomplete: nothing received for {settings.WEBHOOK_BODY_TIMEOUT_SECONDS:g} s "
            f"(Content-Length says {declared} bytes)"
            if declared
            else "body could not be read"
        ) from exc
    finally:
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.settimeout(previous)
    if len(body) > limit:
        raise BodyTooLarge
    if declared and len(body) < declared:
        raise BodyUnreadable(f"body incomplete: {len(body)} of {declared} bytes")
    return body


def error_response(message: str, status: int, **extra: object) -> JsonResponse:
    response = JsonResponse({"error": message, **extra}, status=status)
    if status == 503:
        response["Retry-After"] = str(settings.RETRY_AFTER_SECONDS)
    return response


def post_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Django's require_POST, answering in JSON like the rest of a webhook's errors."""

    @functools.wraps(view)
    def only_post(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "POST":
            response = error_response(f"method {request.method} not allowed: POST the body", 405)
            response["Allow"] = "POST"
            return response
        return view(request, *args, **kwargs)

    return only_post


def _kept_headers(request: HttpRequest) -> dict[str, str]:
    """The headers the inbox keeps, redacted as the body is: a sender may put anything there."""
    return {
        name: redact(request.headers[name]) for name in _KEPT_HEADERS if name in request.headers
    }


def _unreadable(exc: BodyUnreadable) -> JsonResponse:
    return error_response(exc.reason, exc.status)


@csrf_exempt
@post_only
def receive_failure_webhook(request: HttpRequest, source: str) -> JsonResponse:
    started = time.perf_counter()
    response, outcome = _ingest_failure(request, source)
    WEBHOOKS.labels(source, outcome).inc()
    INGEST_SECONDS.labels(source).observe(time.perf_counter() - started)
    return response


def _ingest_failure(request: HttpRequest, source: str) -> tuple[JsonResponse, str]:
    """The answer, and what the webhook metric counts it as: the outcome, or the status code."""
    if refusal := token_refusal(request, source):
        return error_response(refusal, 401), "401"
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    try:
        body = read_bounded_body(request, limit)
    except BodyTooLarge:
        return error_response(f"body larger than {limit} bytes", 413), "413"
    except BodyUnreadable as exc:
        return _unreadable(exc), str(exc.status)
    try:
        result = ingest_delivery(
            source, body, headers=_kept_headers(request), remote_addr=client_address(request)
        )
    except RejectedDelivery as exc:
        return JsonResponse(exc.as_dict(), status=exc.status), str(exc.status)
    except DATABASE_UNAVAILABLE:  # any other database error is a bug: a 500
        logger.exception("database unavailable while ingesting a %s webhook", source)
        return error_response("database unavailable; retry later", 503), "503"
    return JsonResponse(result.as_dict(), status=202), result.outcome


def _store_inbound(source: str, request: HttpRequest, body: bytes, **fields: object) -> None:
    WebhookDelivery.objects.create(
        source=source,
        raw_body=redacted_inbound_body(source, body),
        headers=_kept_headers(request),
        remote_addr=client_address(request),
        processed_at=timezone.now(),
        **fields,
    )


@dataclass(frozen=True)
class Applied:
    """What a sync-back webhook did: the answer's JSON, and the ticket and result its inbox
    row keeps."""

    answer: dict[str, object]
    ticket_id: str | None
    result: str


# The last time (time.monotonic()) each unset secret's refusal was logged: an unauthenticated
# sender could otherwise fill the log, one warning per request.
_SECRET_UNSET_WARNED_AT: dict[str, float] = {}
SECRET_UNSET_WARNING_SECONDS = 60.0


def _warn_secret_unset(source: str, secret_setting: str) -> None:
    """Log that `secret_setting` is not set, at most once a minute per setting in a process."""
    now = time.monotonic()
    last = _SECRET_UNSET_WARNED_AT.get(secret_setting)
    if last is not None and now - last < SECRET_UNSET_WARNING_SECONDS:
        return
    _SECRET_UNSET_WARNED_AT[secret_setting] = now
    logger.warning(
        "%s webhook refused: %s is not configured on this service", source, secret_setting
    )


def _warn_refused(source: str, reason: str) -> None:
    """Log why a sync-back webhook was refused, at most once a minute per source in a process
    (a sender refused again and again, or a server clock off, would otherwise fill the log)."""
    now = time.monotonic()
    last = _REFUSAL_WARNED_AT.get(source)
    if last is not None and now - last < SECRET_UNSET_WARNING_SECONDS:
        return
    _REFUSAL_WARNED_AT[source] = now
    logger.warning("%s webhook refused: %s", source, reason)


_REFUSAL_WARNED_AT: dict[str, float] = {}


def sync_back_webhook(
    source: str,
    is_authentic: Callable[[HttpRequest, bytes], bool],
    refusal: str | Callable[[HttpRequest, bytes], str],
    secret_setting: str,
) -> Callable[[Callable[[bytes], Applied]], Callable[..., HttpResponse]]:
    """A webhook that changes something at once (JIRA status, a Slack button, a playbook's
    report): the body read within bounds, authenticated, applied by `apply(body)`, and kept as
    a processed inbox row. Without the secret it is authenticated with (`secret_setting`),
    every request is refused with a 401 that names the setting, so that the operator can tell
    a service left unconfigured from a sender with the wrong secret (and logged as a warning
    at most once a minute, `_warn_secret_unset`). A request that is not authentic is a 401
    saying `refusal`; when that is a function, it says why this request is not, which is
    logged too (at most once a minute per source in a process, `_warn_refused`). `apply`
    refuses with ParseError (400), RejectedDelivery or a CallbackError (its status); an
    unreachable database is a 503 so the sender retries, and nothing is kept of a refused
    body."""
    if source not in SYNC_BACK_SOURCES:  # the inbox list's source filter offers those only
        raise ValueError(f"not a sync-back source: {source!r} (one of {SYNC_BACK_SOURCES})")

    def decorate(apply: Callable[[bytes], Applied]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @post_only
        @functools.wraps(apply)
        def receive(request: HttpRequest) -> JsonResponse:
            limit = settings.WEBHOOK_MAX_BODY_BYTES
            try:
                body = read_bounded_body(request, limit)
            except BodyTooLarge:
                return error_response(f"body larger than {limit} bytes", 413)
            except BodyUnreadable as exc:
                return _unreadable(exc)
            if not getattr(settings, secret_setting):
                _warn_secret_unset(source, secret_setting)
                return error_response(
                    f"{secret_setting} is not configured on this service: every {source} "
                    "webhook is refused until it is set",
                    401,
                )
            if not is_authentic(request, body):
                if isinstance(refusal, str):
                    return error_response(refusal, 401)
                reason = refusal(request, body)
                _warn_refused(source, reason)
                return error_response(reason, 401)
            try:
                applied = apply(body)
            except RejectedDelivery as exc:
                return JsonResponse(exc.as_dict(), status=exc.status)
            except ParseError as exc:
                return error_response(str(exc), 400)
            except remediation.CallbackError as exc:
                return error_response(str(exc), exc.status)
            except DATABASE_UNAVAILABLE:
                logger.exception("database unavailable while applying a %s webhook", source)
                return error_response("database unavailable; retry later", 503)
            _store_inbound(
                source,
                request,
                body,
                status=DeliveryStatus.PROCESSED,
                ticket_id=applied.ticket_id,
                reason=applied.result,
            )
            return JsonResponse(applied.answer)

        return receive

    return decorate


@sync_back_webhook(
    "jira",
    jira_request_is_authentic,
    "missing or wrong JIRA webhook signature or token",
    "JIRA_WEBHOOK_SECRET",
)
def receive_jira_webhook(body: bytes) -> Applied:
    _, payload = decode_json(body)
    ticket_id, result = syncback.apply_jira_event(parse_jira_event(payload))
    return Applied({"ticket_id": ticket_id, "result": result}, ticket_id, result)


@sync_back_webhook(
    "slack",
    slack_request_is_authentic,
    slack_request_refusal,
    "SLACK_SIGNING_SECRET",
)
def receive_slack_action(body: bytes) -> Applied:
    """Slack wants an answer within 3 seconds: apply the change here (a few queries) and leave
    the Slack message update and the JIRA transition to the workers."""
    actions = parse_slack_actions(decode_form_payload(body))
    results = [syncback.apply_slack_action(action) for action in actions]
    ticket_id = actions[0].ticket_id if actions else None
    known = ticket_id is not None and Ticket.objects.filter(pk=ticket_id).exists()
    return Applied({"result": results}, ticket_id if known else None, "; ".join(results))


def remediation_callback_is_authentic(request: HttpRequest, body: bytes) -> bool:
    """PLAYBOOK_SECRET as a token (header `X-Remediation-Token`), or an HMAC-SHA256 signature
    of `<X-RCA-Timestamp>.<body>` in `X-RCA-Signature` no older than five minutes."""
    secret = settings.PLAYBOOK_SECRET
    if not secret:
        return False
    token = request.headers.get("X-Remediation-Token", "")
    if token:
        return hmac.compare_digest(token.encode(), secret.encode())
    signature = request.headers.get("X-RCA-Signature", "")
    timestamp = request.headers.get("X-RCA-Timestamp", "")
    # ASCII digits, at most 12, as Slack's timestamp: int() refuses '²' and more than 4,300
    # digits, and past a float's range (309 digits) time.time() minus it raised, a 500.
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return False
    fresh = abs(time.time() - int(timestamp)) <= 300
    expected = playbook.sign(secret, timestamp, body)
    return fresh and hmac.compare_digest(signature.encode(), expected.encode())


@sync_back_webhook(
    "remediation",
    remediation_callback_is_authentic,
    "missing or wrong remediation token or signature",
    "PLAYBOOK_SECRET",
)
def receive_remediation_callback(body: bytes) -> Applied:
    """A playbook reports how its remediation went (the body of the product this replaces)."""
    _, payload = decode_json(body)
    if not isinstance(payload, dict):
        raise ParseError("the body must be a JSON object")
    found, result = remediation.apply_callback(payload)
    answer = {"ticket_id": found.ticket_id, "remediation_id": found.pk, "result": result}
    return Applied(answer, found.ticket_id, result)


@require_GET
def evidence_link(request: HttpRequest, ticket_id: str, name: str) -> HttpResponse:
    """A short-lived read-only link to one evidence blob, for staff with the viewer role. A
    connection string the link cannot be signed with (no account key, e.g. one holding a SAS)
    answers 503 saying so."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not has_role(request.user, VIEWER):
        return HttpResponseForbidden("You need the viewer role.")
    if "\x00" in ticket_id:  # no ticket id holds one (PostgreSQL text cannot): never query it
        raise Http404("no ticket with this id")
    ticket = get_object_or_404(Ticket.objects.only("pk", "blob_log_url"), pk=ticket_id)
    try:
        blob = BlobTransport.from_settings()
        if blob is None or not ticket.blob_log_url:
            raise Http404("no evidence stored for this ticket")
        link = blob.sas_url(f"{ticket.pk}/{name}", minutes=15)
    except TransportError as exc:
        message = f"no link to the evidence: {exc} (AZURE_STORAGE_CONNECTION_STRING)\n"
        return HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
    return HttpResponseRedirect(link)
