"""Liveness and readiness probes."""

from __future__ import annotations

import functools
import hmac
import logging
import time
from collections.abc import Callable

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from prometheus_client import CONTENT_TYPE_LATEST

from rca_project.observability import render_metrics, worker_heartbeat_key


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


WORKER_HEARTBEAT_MAX_AGE = 120


def _worker_ok() -> bool:
    """Beat schedules a heartbeat task every 30 s; a worker running it proves both alive."""
    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1
        )
        beat = client.get(worker_heartbeat_key())
    except Exception:
        return False
    return beat is not None and time.time() - float(beat) < WORKER_HEARTBEAT_MAX_AGE


class NotReadyIsNotAnError(logging.Filter):
    """Django logs every 5xx answer as an error; `/readyz` answering 503 is the probe doing its
    job (while `make run` starts, a probe asks every few seconds), so that one is not logged,
    with or without the trailing slash the probe may be configured with."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        return not (
            getattr(record, "status_code", None) == 503
            and getattr(request, "path", None) in ("/readyz", "/readyz/")
        )


@get_only
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database_ok(), "redis": _redis_ok(), "worker": _worker_ok()}
    ready = all(checks.values())
    return JsonResponse({"ready": ready, "checks": checks}, status=200 if ready else 503)


@get_only
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics. Protected by METRICS_TOKEN (bearer) when it is set."""
    token = settings.METRICS_TOKEN
    if token:
        presented = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not hmac.compare_digest(presented.encode(), token.encode()):
            return HttpResponse("missing or wrong metrics token\n", status=401)
    return HttpResponse(render_metrics(), content_type=CONTENT_TYPE_LATEST)
