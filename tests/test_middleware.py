"""The failure webhooks pass by the session, CSRF, authentication and messages middleware, and
are answered as with them; every other path still runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import URLResolver, get_resolver, resolve

from integrations import urls as integrations_urls
from integrations.views import receive_failure_webhook
from rca_project.middleware import FAILURE_WEBHOOK_PATHS

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parent.parent
DJANGO_MIDDLEWARE = {
    "rca_project.middleware.SessionMiddleware": (
        "django.contrib.sessions.middleware.SessionMiddleware"
    ),
    "rca_project.middleware.CsrfViewMiddleware": "django.middleware.csrf.CsrfViewMiddleware",
    "rca_project.middleware.AuthenticationMiddleware": (
        "django.contrib.auth.middleware.AuthenticationMiddleware"
    ),
    "rca_project.middleware.MessageMiddleware": (
        "django.contrib.messages.middleware.MessageMiddleware"
    ),
}


def test_the_passed_by_paths_are_the_failure_webhooks() -> None:
    for path in FAILURE_WEBHOOK_PATHS:
        assert resolve(path).func is receive_failure_webhook, path
    integrations = get_resolver().url_patterns[-2]
    assert isinstance(integrations, URLResolver)
    assert integrations.urlconf_name is integrations_urls
    routed = {
        f"/{pattern.pattern}"
        for pattern in integrations.url_patterns
        if getattr(pattern, "callback", None) is receive_failure_webhook
        and str(pattern.pattern).startswith("webhooks/")
    }
    assert routed == FAILURE_WEBHOOK_PATHS


def _answer(path: str, body: bytes, token: str) -> tuple[int, dict[str, str], set[str], dict]:
    client = Client(enforce_csrf_checks=True)
    client.cookies["sessionid"] = "not-a-session"
    client.cookies["csrftoken"] = "x" * 32
    response = client.post(
        path, data=body, content_type="application/json", HTTP_X_WEBHOOK_TOKEN=token
    )
    answer = response.json()
    answer.pop("tracking_id", None)
    answer.pop("ticket_id", None)
    headers = {k: v for k, v in response.headers.items() if k != "Content-Length"}
    return response.status_code, headers, set(response.cookies), answer


@pytest.mark.parametrize(
    ("path", "body", "token"),
    [
        ("/webhooks/adf/", "adf_failure.json", "ok"),
        ("/webhooks/adf", "adf_failure.json", "ok"),
        ("/webhooks/adf/", "adf_failure.json", "wrong"),
        ("/webhooks/airflow/", b"{not json", "ok"),
        ("/webhooks/databricks/", b"{}", "ok"),
    ],
)
def test_a_failure_webhook_is_answered_as_with_every_middleware(path, body, token) -> None:
    def raw(run: str) -> bytes:
        if isinstance(body, bytes):
            return body
        payload = json.loads((REPO / "tests" / "payloads" / body).read_text())
        return json.dumps({**payload, "run_id": run, "pipeline": f"pl_{run}"}).encode()

    token = settings.WEBHOOK_TOKEN if token == "ok" else token
    with_all = [DJANGO_MIDDLEWARE.get(name, name) for name in settings.MIDDLEWARE]
    with override_settings(MIDDLEWARE=with_all):
        before = _answer(path, raw("before"), token)
    after = _answer(path, raw("after"), token)
    assert after == before
    assert not after[2]  # no cookie set


def test_other_paths_still_run_them() -> None:
    assert Client(enforce_csrf_checks=True).post("/login/", {"username": "x"}).status_code == 403
    page = Client().get("/login/")
    assert "csrftoken" in page.cookies
    # The replaced product's path is not passed by: its errors are the dashboard's pages.
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/azure-monitor",
        data=json.dumps({}),
        content_type="application/json",
        HTTP_X_WEBHOOK_TOKEN="wrong",
    )
    assert response.status_code == 401
    assert response.wsgi_request.user.is_anonymous
    assert not hasattr(_webhook_request(), "user")


def _webhook_request():
    response = Client().post(
        "/webhooks/adf/",
        data=b"{}",
        content_type="application/json",
        HTTP_X_WEBHOOK_TOKEN="wrong",
    )
    assert response.status_code == 401
    return response.wsgi_request
