"""Input that used to answer 500 (or a misleading 503): numbers past Python's int limit, NaN and
Infinity, unpaired surrogates; and error bodies that leaked DRF internals or named the wrong role.
Each is a clear 4xx that stores nothing (JSON of the wrong shape aside, which the inbox keeps as
rejected); the README's rules for 400s."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest
from django.test import Client
from slack_sdk.signature import SignatureVerifier

from integrations.models import WebhookDelivery
from tests.api import jwt_client, make_ticket, make_user
from tests.conftest import local_payload
from tickets.models import AuditLog, Ticket

pytestmark = pytest.mark.django_db

JIRA_SECRET = "jira-secret-for-input-attacks"
SLACK_SECRET = "slack-secret-for-input-attacks"
PLAYBOOK_SECRET = "playbook-secret-for-input-attacks"
HUGE_NUMBER = "9" * 4301


def adf_raw(**replace: str) -> bytes:
    """An ADF failure body with some values replaced by raw JSON text (not JSON-encoded)."""
    body = local_payload("adf_failure.json")
    for name in replace:
        body[name] = f"@@{name}@@"
    text = json.dumps(body)
    for name, raw in replace.items():
        text = text.replace(f'"@@{name}@@"', raw)
    return text.encode()


@pytest.mark.parametrize(
    ("case", "raw", "reason"),
    [
        ("huge run id", adf_raw(run_id=HUGE_NUMBER), "a number has more than 4300 digits"),
        ("huge unused number", adf_raw(extra=f"[{HUGE_NUMBER}]"), "more than 4300 digits"),
        ("lone surrogate", adf_raw(error_message='"timeout \\ud800"'), "unpaired UTF-16"),
        ("lone low surrogate", adf_raw(pipeline='"pl_\\udc00"'), "unpaired UTF-16"),
        ("NaN", adf_raw(severity_score="NaN"), "NaN is not a JSON number"),
        ("overflowing float", adf_raw(cost="1e999"), "the number 1e999 is too large"),
    ],
)
def test_a_failure_webhook_refuses_json_it_cannot_use_with_400(webhook_client, case, raw, reason):
    response = webhook_client("/webhooks/adf/", None, raw=raw)

    assert response.status_code == 400, (case, response.content[:300])
    assert reason in response.json()["error"], response.json()
    assert not WebhookDelivery.objects.exists()
    assert not Ticket.objects.exists()


def test_a_surrogate_pair_is_text_and_is_accepted(webhook_client):
    raw = adf_raw(error_message='"deploy failed \\ud83d\\ude00 at step 3"')
    response = webhook_client("/webhooks/adf/", None, raw=raw)

    assert response.status_code == 202, response.content
    assert "\U0001f600" in Ticket.objects.get().error_message


def _jira_comment(ticket_id: str, body_raw: str) -> bytes:
    event = {
        "timestamp": int(time.time() * 1000),
        "webhookEvent": "comment_created",
        "issue": {"key": "OPS-7", "fields": {"labels": [f"rca-{ticket_id}"]}},
        "comment": {"id": "1001", "body": "@@body@@", "author": {"displayName": "Maria"}},
    }
    return json.dumps(event).replace('"@@body@@"', body_raw).encode()


def test_a_jira_comment_with_a_lone_surrogate_is_a_400_not_a_503(settings):
    """A 503 tells JIRA to retry, forever; the body will never be storable."""
    settings.JIRA_WEBHOOK_SECRET = JIRA_SECRET
    ticket = make_ticket()
    response = Client().post(
        f"/webhooks/jira/?token={JIRA_SECRET}",
        _jira_comment(ticket.pk, '"see \\ud800 here"'),
        content_type="application/json",
    )

    assert response.status_code == 400, response.content
    assert "unpaired UTF-16 surrogate" in response.json()["error"]
    assert not AuditLog.objects.filter(ticket=ticket, action="jira comment").exists()
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize(
    ("raw_value", "reason"),
    [('"\\udfff"', "unpaired UTF-16 surrogate"), (HUGE_NUMBER, "more than 4300 digits")],
)
def test_a_slack_action_with_unusable_json_is_a_400(settings, raw_value, reason):
    settings.SLACK_SIGNING_SECRET = SLACK_SECRET
    ticket = make_ticket()
    payload = json.dumps(
        {
            "type": "block_actions",
            "user": {"id": "U1", "username": "@@v@@"},
            "actions": [{"action_id": "rca_acknowledge", "value": ticket.pk, "action_ts": "1"}],
        }
    ).replace('"@@v@@"', raw_value)
    body = urlencode({"payload": payload})
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(SLACK_SECRET).generate_signature(timestamp=timestamp, body=body)
    response = Client().post(
        "/webhooks/slack/actions/",
        data=body,
        content_type="application/x-www-form-urlencoded",
        HTTP_X_SLACK_REQUEST_TIMESTAMP=timestamp,
        HTTP_X_SLACK_SIGNATURE=signature,
    )

    assert response.status_code == 400, response.content
    assert reason in response.json()["error"]
    assert not WebhookDelivery.objects.exists()
    assert Ticket.objects.get(pk=ticket.pk).status == "open"


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/webhooks/jira/", {"HTTP_X_HUB_SIGNATURE": "sha256=\u00e9" + "0" * 63}),
        ("/webhooks/slack/actions/", {"HTTP_X_SLACK_SIGNATURE": "v0=\u00e9"}),
        (
            "/webhooks/slack/actions/",
            {"HTTP_X_SLACK_REQUEST_TIMESTAMP": "\u00b2", "HTTP_X_SLACK_SIGNATURE": "v0=00"},
        ),
        (
            # Past Python's 4,300-digit limit of int(): checked before the signature, it was a 500.
            "/webhooks/slack/actions/",
            {"HTTP_X_SLACK_REQUEST_TIMESTAMP": "9" * 5000, "HTTP_X_SLACK_SIGNATURE": "v0=00"},
        ),
        (
            # Past a float's range, under int()'s limit: its age could not be taken, a 500.
            "/webhooks/remediation/",
            {"HTTP_X_RCA_TIMESTAMP": "9" * 400, "HTTP_X_RCA_SIGNATURE": "sha256=00"},
        ),
        (
            "/webhooks/remediation/",
            {"HTTP_X_RCA_TIMESTAMP": "9" * 5000, "HTTP_X_RCA_SIGNATURE": "sha256=00"},
        ),
        (
            "/webhooks/remediation/",
            {"HTTP_X_RCA_TIMESTAMP": "\u00b2", "HTTP_X_RCA_SIGNATURE": "sha256=\u00e9"},
        ),
    ],
)
def test_a_signature_header_that_is_not_ascii_is_a_401_not_a_500(settings, path, headers):
    """A server decodes header bytes as Latin-1: anyone can send one that is not ASCII, which
    hmac.compare_digest refuses for str and int() for a timestamp."""
    settings.JIRA_WEBHOOK_SECRET = JIRA_SECRET
    settings.SLACK_SIGNING_SECRET = SLACK_SECRET
    settings.PLAYBOOK_SECRET = PLAYBOOK_SECRET
    ticket = make_ticket()
    headers = {"HTTP_X_SLACK_REQUEST_TIMESTAMP": str(int(time.time())), **headers}
    body = urlencode({"payload": json.dumps({"type": "block_actions"})})
    if path == "/webhooks/jira/":
        body = _jira_comment(ticket.pk, '"hello"').decode()
    response = Client().post(
        path, data=body, content_type="application/x-www-form-urlencoded", **headers
    )

    assert response.status_code == 401, response.content
    assert not WebhookDelivery.objects.exists()


# --- error bodies ------------------------------------------------------------------------------


def test_an_invalid_token_is_explained_in_plain_words():
    anonymous = jwt_client(None)
    anonymous.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    listing = anonymous.get("/api/v1/tickets/")
    verify = jwt_client(None).post("/api/v1/token/verify/", {"token": "garbage"}, format="json")

    for response, message in (
        (listing, "Given token not valid for any token type"),
        (verify, "Token is invalid"),
    ):
        assert response.status_code == 401
        text = response.content.decode()
        assert "ErrorDetail" not in text and "string=" not in text, text
        body = response.json()
        assert body["error"] == message, body
        assert body["detail"]["code"] == "token_not_valid"


def test_a_forbidden_write_names_the_real_reason_not_the_viewer_role():
    """A method no role may use is a 405 naming the methods there are, for a viewer as for an
    admin; a 403 would say that a higher role might."""
    ticket = make_ticket()
    responder = jwt_client(make_user("responder"))
    viewer = jwt_client(make_user("viewer"))

    patch = responder.patch(f"/api/v1/tickets/{ticket.pk}/", {"status": "open"}, format="json")
    delete = viewer.delete(f"/api/v1/tickets/{ticket.pk}/")
    acknowledge = viewer.post(f"/api/v1/tickets/{ticket.pk}/acknowledge/", {}, format="json")

    assert patch.status_code == 405
    assert patch.json() == {"error": 'Method "PATCH" not allowed.'}
    assert delete.status_code == 405
    assert "DELETE" not in delete["Allow"] and "GET" in delete["Allow"]
    assert Ticket.objects.get(pk=ticket.pk).status == ticket.status
    assert acknowledge.status_code == 403
    assert acknowledge.json() == {"error": "You need the responder role to act on tickets."}


@pytest.mark.parametrize(
    "path",
    ["/webhooks/adf/", "/webhooks/jira/", "/webhooks/slack/actions/", "/webhooks/remediation/"],
)
def test_a_chunked_body_on_a_server_that_cannot_bound_it_is_a_411(webhook_client, path):
    """gunicorn marks where chunks end (tests/security/test_web_server.py reads them); a server
    that does not gets a clear 411 instead of a body read as empty, on every webhook."""
    raw = json.dumps(local_payload("adf_failure.json")).encode()
    response = webhook_client(path, None, raw=raw, HTTP_TRANSFER_ENCODING="chunked")

    assert response.status_code == 411, response.content
    assert response.json() == {"error": "a chunked body needs a Content-Length on this server"}
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/admin/tickets/ticket/A%00B/change/", 404),
        ("/admin/tickets/ticket/A%00B/history/", 404),
        ("/admin/tickets/incident/A%00B/change/", 404),
        ("/admin/tickets/ticket/?pipeline=%00", 400),
        ("/admin/tickets/auditlog/?ticket__id__exact=a%00", 400),
        ("/admin/tickets/auditlog/?ticket__id__exact=a&ticket__id__exact=b%00", 400),
    ],
)
def test_an_admin_url_with_a_nul_character_is_refused_not_a_500(path, status):
    """Admin looked the id or the filter up as given; PostgreSQL text cannot hold a NUL."""
    client = Client()
    client.force_login(make_user("superuser"))

    assert client.get(path).status_code == status
