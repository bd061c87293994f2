"""Every kind of response carries the security headers; with TLS=true the service also sends
HSTS, marks its cookies Secure and sends plain HTTP to HTTPS (the probes excepted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from tests.api import jwt_client, make_user

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parent.parent
EVERYWHERE = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _responses(webhook_client):
    viewer = make_user("viewer")
    signed_in = Client()
    signed_in.force_login(viewer)
    return {
        "sign-in page": Client().get("/login/"),
        "board": signed_in.get("/"),
        "not found page": signed_in.get("/tickets/NO-SUCH-TICKET/"),
        "API list": jwt_client(viewer).get("/api/v1/tickets/"),
        "API error": jwt_client(None).get("/api/v1/tickets/"),
        "webhook refused": webhook_client("/webhooks/adf/", {}, token="wrong"),
        "webhook bad body": webhook_client("/webhooks/adf/", None, raw=b"{not json"),
        "admin sign-in": Client().get("/admin/login/"),
        "probe": Client().get("/healthz"),
    }


def test_every_kind_of_response_carries_the_headers(webhook_client):
    for name, response in _responses(webhook_client).items():
        for header, value in EVERYWHERE.items():
            assert response.headers.get(header) == value, (name, header, response.status_code)
        # Plain HTTP by default (TLS unset): no HSTS, which would pin browsers to HTTPS.
        assert "Strict-Transport-Security" not in response.headers, name


def test_dashboard_pages_carry_a_strict_content_security_policy(webhook_client):
    responses = _responses(webhook_client)
    for name in ("sign-in page", "board", "not found page"):
        policy = responses[name].headers.get("Content-Security-Policy", "")
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, name
        assert "unsafe-inline" not in policy, name


TLS_PROBE = """
import json, django
django.setup()
from django.test import Client
def answer(response):
    cookies = {name: bool(morsel["secure"]) for name, morsel in response.cookies.items()}
    return {"status": response.status_code, "location": response.headers.get("Location"),
            "hsts": response.headers.get("Strict-Transport-Security"), "secure": cookies}
print(json.dumps({
    "https": answer(Client().get("/login/", secure=True)),
    "proxied": answer(Client().get("/login/", headers={"X-Forwarded-Proto": "https"})),
    "http": answer(Client().get("/login/?next=/charts/")),
    "probe": answer(Client().get("/healthz")),
    "probe with slash": answer(Client().get("/readyz/")),
}))
"""


def test_tls_mode_sends_hsts_secure_cookies_and_redirects_plain_http():
    result = subprocess.run(
        [sys.executable, "-c", TLS_PROBE],
        cwd=REPO,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "rca_project.settings",
            "TLS": "true",
            "ALLOWED_HOSTS": "testserver",
            "LOG_LEVEL": "ERROR",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout.strip().splitlines()[-1])

    for name in ("https", "proxied"):
        assert answers[name]["status"] == 200, answers
        assert answers[name]["hsts"] == "max-age=31536000", answers
        assert answers[name]["secure"] == {"csrftoken": True}, answers
    assert answers["http"]["status"] == 301
    assert answers["http"]["location"] == "https://testserver/login/?next=/charts/"
    # Load balancers and Kubernetes probe over plain HTTP inside the cluster.
    assert answers["probe"]["status"] == 200
    assert answers["probe"]["hsts"] is None
    # (not redirected to https: a 200, or the 503 of a machine with no worker running)
    assert answers["probe with slash"]["status"] in (200, 503), answers
