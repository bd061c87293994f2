"""Liveness and readiness probes."""

from __future__ import annotations

import functools
import hmac
import ipaddress
import logging
from collections.abc import Callable

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from prometheus_client import CONTENT_TYPE_LATEST

from rca_project.client_address import client_address
from rca_project.observability import render_metrics, worker_heartbeat_recent


def get_only(view: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """Probes answer GET (and HEAD); anything else is a JSON 405, not the CSRF page a POST
    would otherwise meet."""

    @csrf_exempt
    @functools.wraps(view)
    def only_get(request: HttpRequest) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            response = JsonResponse({"error": f"method {request.method} not allowed"}, status=405)
            response["Allow"] = "GET, HEAD"
            return response
        return view(request)

    return only_get


@get_only
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


def _redis_ok() -> bool:
    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1
        )
        return bool(client.ping())
    except Exception:
        return False


class NotReadyIsNotAnError(logging.Filter):
    """Django logs every 5xx answer as an error; `/readyz` answering 503 (the database
    unreachable) is the probe doing its job (a health check asks every few seconds), so that
    one is not logged, with or without the trailing slash the probe may be configured with."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        return not (
            getattr(record, "status_code", None) == 503
            and getattr(request, "path", None) in ("/readyz", "/readyz/")
        )


@get_only
def readyz(request: HttpRequest) -> JsonResponse:
    """Whether this web process can accept webhooks: the status (and `ready`) follow the
    database alone, where the inbox keeps each accepted delivery until the relay hands it to
    a worker. Redis and the worker heartbeat (beat and a worker alive) are reported, not
    required: with either down the webhooks are still accepted and processed once it is
    back, so a load balancer keeps sending them here. `make run` waits for every check."""
    checks = {"database": _database_ok(), "redis": _redis_ok(), "worker": worker_heartbeat_recent()}
    ready = checks["database"]
    return JsonResponse({"ready": ready, "checks": checks}, status=200 if ready else 503)


@get_only
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics. Protected by METRICS_TOKEN (bearer) when it is set; without it only
    clients on loopback or private networks (a scraper beside the service, compose's network)
    are answered: the queue depths, webhook counts and failure rates are no one else's."""
    token = settings.METRICS_TOKEN
    if token:
        presented = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not hmac.compare_digest(presented.encode(), token.encode()):
            return HttpResponse("missing or wrong metrics token\n", status=401)
    elif not _on_a_private_network(client_address(request)):
        return HttpResponse(
            "metrics are served to loopback and private networks only; set METRICS_TOKEN to "
            "scrape from elsewhere\n",
            status=403,
        )
    return HttpResponse(render_metrics(), content_type=CONTENT_TYPE_LATEST)


def _on_a_private_network(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_private
