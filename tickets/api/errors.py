"""One JSON error shape for the whole API: {"error": "...", "detail": ...}."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler


def json_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    if isinstance(detail, dict) and set(detail) == {"detail"}:
        message = str(detail["detail"])
        detail = None
    else:
        message = "invalid request" if response.status_code == 400 else str(exc)
    body: dict[str, Any] = {"error": message}
    if detail is not None:
        body["detail"] = detail
    response.data = body
    return response
