"""Our middleware: API paths served without their slash (before Django's own middleware sees
them), Django's CommonMiddleware with the probes spared its Host check, Django's session,
CSRF, authentication and messages middleware passed by for the failure webhooks, and admin
requests holding a NUL character refused."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from django.contrib.auth import middleware as django_auth
from django.contrib.messages import middleware as django_messages
from django.contrib.sessions import middleware as django_sessions
from django.core.exceptions import BadRequest
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponsePermanentRedirect,
)
from django.middleware import common as django_common
from django.middleware import csrf as django_csrf
from django.urls import is_valid_path
from django.utils.deprecation import MiddlewareMixin

from tickets.vocabulary import Source


class ApiWithoutSlashMiddleware:
    """`/api/v1/tickets` is served as `/api/v1/tickets/`. CommonMiddleware would answer it with
    an HTML 301, which HTTP clients follow with a GET and no body: a script's POST would be
    lost or turned into a read. Only API paths: pages keep Django's redirect."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if (
            path.startswith("/api/")
            and not path.endswith("/")
            and not is_valid_path(path)
            and is_valid_path(f"{path}/")
        ):
            request.path_info = f"{path}/"
            request.path = f"{request.path}/"
        return self.get_response(request)


# The probes' paths (rca_project/urls.py), with or without the trailing slash.
PROBE_PATHS = frozenset({"/healthz", "/healthz/", "/readyz", "/readyz/", "/metrics", "/metrics/"})


class CommonMiddleware(django_common.CommonMiddleware):
    """Django's CommonMiddleware, except that the probes skip its request checks. Those read
    the Host header, which must be in ALLOWED_HOSTS (else DisallowedHost: a 400 and an error
    logged with its trace), but a probe names whatever address it was sent to: compose's health
    checks and `make run`'s readiness probe ask 127.0.0.1, a scraper or an orchestrator the
    container's own address, none of them the public name a production ALLOWED_HOSTS lists.
    The probes' answers do not depend on the host, and they need no slash added."""

    def process_request(self, request: HttpRequest) -> HttpResponsePermanentRedirect | None:
        if request.path_info in PROBE_PATHS:
            return None
        return super().process_request(request)


# The failure webhooks' paths (integrations/urls.py), with or without the trailing slash; not
# the replaced product's paths, whose errors are answered with the dashboard's pages.
FAILURE_WEBHOOK_PATHS = frozenset(
    path for source in Source for path in (f"/webhooks/{source}/", f"/webhooks/{source}")
)


class _PassedByForFailureWebhooks(MiddlewareMixin):
    """A failure webhook's view (`receive_failure_webhook`, CSRF-exempt) reads no session, user
    or message, and each of its answers, errors included, is JSON built without them, so these
    middleware would change nothing in it: their work (a session store, a lazy user, a message
    store with its cookie signer, the CSRF cookie read) is skipped. The other middleware (the
    security headers, the Host check, X-Frame-Options) still run."""

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if request.path_info in FAILURE_WEBHOOK_PATHS:
            return self.get_response(request)
        return super().__call__(request)


class SessionMiddleware(_PassedByForFailureWebhooks, django_sessions.SessionMiddleware):
    """Django's SessionMiddleware, passed by for the failure webhooks."""


class CsrfViewMiddleware(_PassedByForFailureWebhooks, django_csrf.CsrfViewMiddleware):
    """Django's CsrfViewMiddleware, passed by for the failure webhooks."""


class AuthenticationMiddleware(_PassedByForFailureWebhooks, django_auth.AuthenticationMiddleware):
    """Django's AuthenticationMiddleware, passed by for the failure webhooks."""


class MessageMiddleware(_PassedByForFailureWebhooks, django_messages.MessageMiddleware):
    """Django's MessageMiddleware, passed by for the failure webhooks."""


class NulRefusedInAdminMiddleware:
    """Django admin looks up the object id in its path and filters the changelist by its query
    parameters as given: one holding a NUL character, which PostgreSQL text cannot, was a 500.
    Such a request is a 404 (in the path) or a 400 (in the query) before admin sees it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.path_info.startswith("/admin/"):
            if "\x00" in request.path_info:
                raise Http404("no such page")
            if any("\x00" in "".join([key, *values]) for key, values in request.GET.lists()):
                raise BadRequest("a query parameter holds a NUL character")
        return self.get_response(request)
