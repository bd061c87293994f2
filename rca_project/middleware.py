"""Our middleware: API paths served without their slash (before Django's own middleware sees
them), and Django's CommonMiddleware with the probes spared its Host check."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.middleware import common as django_common
from django.urls import is_valid_path


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
