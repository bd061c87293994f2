"""One JSON error shape for the whole API: {"error": "...", "detail": ...}.

`error` is a sentence for people; `detail`, when present, says which field or token was wrong,
in plain values (DRF's `ErrorDetail` objects never reach the body as their repr). A 400's
`detail` maps each field or query parameter it names to one sentence: DRF's lists of messages
(a serializer's field errors) are joined, so a client reads `detail[field]` the same way on
every endpoint, whether a serializer, a filter or a view refused the value.
Exceptions DRF does not handle (a database or Redis that is down, a bug) reach Django's
handler500, `rca_project.errors.server_error`, which answers JSON on the API too.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from rest_framework import status
from rest_framework.exceptions import NotAuthenticated
from rest_framework.response import Response
from rest_framework.views import exception_handler

NOT_AUTHENTICATED = (
    "Authentication credentials were not provided: send the header"
    " `Authorization: Bearer <access token>` (POST a username and password to /api/v1/token/"
    " for one)."
)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value if value is None or isinstance(value, bool | int | float) else str(value)


def _sentences(errors: Any, prefix: str = "") -> dict[str, str]:
    """`{"note": ["a", "b"]}` as `{"note": "a; b"}`; a nested field's errors (a list item's,
    an object's) under its dotted path (`file.0`)."""
    if isinstance(errors, dict):
        named: dict[str, str] = {}
        for key, value in errors.items():
            named.update(_sentences(value, f"{prefix}.{key}" if prefix else str(key)))
        return named
    if isinstance(errors, list) and all(isinstance(item, str) for item in errors):
        return {prefix: "; ".join(errors)}
    if isinstance(errors, list):
        named = {}
        for index, item in enumerate(errors):
            if item:  # a list of objects (many=True) has an empty entry for each valid one
                named.update(_sentences(item, f"{prefix}.{index}" if prefix else str(index)))
        return named
    return {prefix: str(errors)}


def _reasons(data: Any) -> bool:
    """A refusal that names no field (`ValidationError("…")`): a list of sentences."""
    return isinstance(data, list) and bool(data) and all(isinstance(item, str) for item in data)


def json_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):  # Django's own answer is an HTML 400
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response(
            {"error": f"body larger than {limit} bytes"},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return Response({"error": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
    response = exception_handler(exc, context)
    if response is None:
        return None
    data = _plain(response.data)
    detail: Any
    if isinstance(data, dict) and "detail" in data:
        message = str(data.pop("detail"))
        detail = data or None  # e.g. simplejwt's {"code": ..., "messages": [...]}
    elif response.status_code == 400 and _reasons(data):
        message, detail = "; ".join(data), None  # no field to name: the reason is the error
    elif response.status_code == 400:
        message, detail = "invalid request", _sentences(data)
    else:
        message, detail = response.status_text or "error", data
    if isinstance(exc, NotAuthenticated):
        message = NOT_AUTHENTICATED  # DRF's own sentence says nothing of how
    body: dict[str, Any] = {"error": message}
    if detail is not None:
        body["detail"] = detail
    response.data = body
    return response
