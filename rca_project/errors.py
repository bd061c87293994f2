"""What an unhandled exception answers: a dependency that is down is a 503, never a 500.

Django calls `server_error` (handler500) for any exception a view or middleware did not handle,
inside the `except` block, so the exception is at hand. PostgreSQL or Redis being unreachable
(the API's list and stats, the token exchange and sign-in, whose lockout counts live in Redis)
answers 503 with `Retry-After`; the API and the webhooks answer JSON, the pages HTML. A path
nothing serves (handler404), and a request Django refuses before any view sees it (handler400),
are answered the same way, and so is a form its CSRF check refuses (`CSRF_FAILURE_VIEW`).
"""

from __future__ import annotations

import sys

import redis
from django.conf import settings
from django.core.exceptions import (
    DisallowedHost,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.http import url_has_allowed_host_and_scheme

from tickets.dashboard.views import CONTENT_SECURITY_POLICY, page_not_found
from tickets.dashboard.views import server_error as error_page

JSON_PATHS = ("/api/", "/webhooks/")

_DEPENDENCIES: tuple[tuple[tuple[type[BaseException], ...], str], ...] = (
    ((OperationalError, InterfaceError), "database"),
    ((redis.exceptions.ConnectionError, redis.exceptions.TimeoutError), "cache"),
)


def unavailable_dependency(exc: BaseException | None) -> str | None:
    """ "database" or "cache" when `exc` (or what caused it) says that server cannot be reached."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        for kinds, name in _DEPENDENCIES:
            if isinstance(exc, kinds):
                return name
        exc = exc.__cause__ or exc.__context__
    return None


def wants_json(request: HttpRequest) -> bool:
    return request.path.startswith(JSON_PATHS)


def unavailable_response(request: HttpRequest, dependency: str) -> HttpResponse:
    message = f"{dependency} unavailable; retry later"
    response: HttpResponse
    if wants_json(request):
        response = JsonResponse({"error": message}, status=503)
    else:
        # No request context: its processors would read the session and the user.
        html = loader.render_to_string("503.html", {"message": message})
        response = HttpResponse(html, status=503)
    response["Retry-After"] = str(settings.RETRY_AFTER_SECONDS)
    return response


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: JSON for the API and the webhooks (a sender or a script reads it), otherwise
    the dashboard's page."""
    if wants_json(request):
        return JsonResponse({"error": f"no such endpoint: {request.path}"}, status=404)
    return page_not_found(request, exception)


# Refusals whose message names the problem and what to change, and holds nothing secret
# ("Invalid HTTP_HOST header: 'x'. You may need to add 'x' to ALLOWED_HOSTS.").
_NAMED_REFUSALS = (DisallowedHost, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: the problem named, in JSON for the API and the webhooks (a sender shows what
    it was answered), on a page for the dashboard and admin: a Host header missing from
    ALLOWED_HOSTS, the first thing a new deployment's webhooks and its operator's browser meet,
    was a page saying only "Bad Request"."""
    reason = str(exception) if isinstance(exception, _NAMED_REFUSALS) else "bad request"
    if wants_json(request):
        return JsonResponse({"error": reason}, status=400)
    # No request context: its processors would read the Host again, and the session.
    response = HttpResponse(loader.render_to_string("400.html", {"message": reason}), status=400)
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: 503 for an unreachable dependency, JSON for the API and webhooks, otherwise
    the dashboard's error page."""
    dependency = unavailable_dependency(sys.exc_info()[1])
    if dependency:
        response = unavailable_response(request, dependency)
        if not wants_json(request):
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response
    if wants_json(request):
        return JsonResponse({"error": "internal server error"}, status=500)
    return error_page(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a form posted with a token that is no longer the session's (the page
    was loaded before its user signed in again, or out, in another tab) says that nothing was
    done and to reload the page it came from; it was Django's bare "CSRF verification failed.
    Request aborted. More information is available with DEBUG=True", with no way back."""
    message = (
        "This page was out of date, so nothing was done: it was loaded before you signed in"
        " again or out (in another tab, say), or the browser did not send its cookie."
    )
    if wants_json(request):
        return JsonResponse({"error": f"CSRF check failed: {reason}"}, status=403)
    back = request.headers.get("Referer", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = "/"
    context = {"title": "Page out of date", "exception": message, "back": back}
    response = render(request, "403.html", context, status=403)
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    return response
