"""Request rewriting that must happen before Django's own middleware sees the request."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
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
