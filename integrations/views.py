from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations.ingest import RejectedDelivery, ingest_delivery
from integrations.webhook_auth import token_is_valid

logger = logging.getLogger(__name__)

# Kept on the inbox row for tracing; never the token.
_KEPT_HEADERS = ("Content-Type", "User-Agent", "X-Forwarded-For", "X-Request-Id")


class BodyTooLarge(Exception):
    pass


def read_bounded_body(request: HttpRequest, limit: int) -> bytes:
    """Refuse a body over `limit` bytes without reading it whole."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise BodyTooLarge
    body = request.read(limit + 1)
    if len(body) > limit:
        raise BodyTooLarge
    return body


def error_response(message: str, status: int, **extra: object) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


@csrf_exempt
@require_POST
def receive_failure_webhook(request: HttpRequest, source: str) -> JsonResponse:
    if not token_is_valid(request, source):
        return error_response("missing or wrong webhook token", 401)
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    try:
        body = read_bounded_body(request, limit)
    except BodyTooLarge:
        return error_response(f"body larger than {limit} bytes", 413)
    headers = {name: request.headers[name] for name in _KEPT_HEADERS if name in request.headers}
    try:
        result = ingest_delivery(
            source, body, headers=headers, remote_addr=request.META.get("REMOTE_ADDR", "")
        )
    except RejectedDelivery as exc:
        return JsonResponse(exc.as_dict(), status=exc.status)
    except DatabaseError:
        logger.exception("database unavailable while ingesting a %s webhook", source)
        return error_response("database unavailable; retry later", 503)
    return JsonResponse(result.as_dict(), status=202)
