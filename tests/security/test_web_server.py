"""Attacks on the web server as `make run` starts it (gunicorn with its argv from
rca_project.serve), over real sockets: tokens in query strings never reach a log line, chunked
bodies are read, a body shorter than its Content-Length is given up quickly with a 400, and
PostgreSQL or Redis being unreachable answers 503 with Retry-After (JSON on the API), not 500."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
import requests
from rest_framework_simplejwt.tokens import AccessToken

from tests.api import PASSWORD, make_user
from tests.conftest import local_payload, wait_for
from tests.security.server import WebServer, closed_port_url
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)

# Distinctive values, so a hit in the output can only come from a leak.
WEBHOOK_TOKEN = f"webhook-token-{uuid.uuid4().hex}"
JIRA_SECRET = f"jira-secret-{uuid.uuid4().hex}"
WRONG_TOKEN = f"wrong-token-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker) -> Iterator[WebServer]:
    with WebServer(
        WEBHOOK_TOKEN=WEBHOOK_TOKEN,
        JIRA_WEBHOOK_SECRET=JIRA_SECRET,
        WEBHOOK_MAX_BODY_BYTES="65536",
        WEBHOOK_BODY_TIMEOUT_SECONDS="1",
    ) as web:
        yield web


def _adf_body(run_id: str) -> bytes:
    body = local_payload("adf_failure.json")
    body.update(run_id=run_id, pipeline=f"pl_chunked_{run_id}")
    return json.dumps(body).encode()


def _chunked(body: bytes, size: int = 1000) -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def _json(answer: bytes) -> dict:
    return json.loads(answer.partition(b"\r\n\r\n")[2])


def test_a_chunked_body_is_read_and_ingested(server):
    body = _adf_body(f"chunked-{uuid.uuid4().hex[:8]}")
    answer, _ = server.raw(
        b"POST /webhooks/adf/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"X-Webhook-Token: " + WEBHOOK_TOKEN.encode() + b"\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + _chunked(body)
    )

    assert _status(answer) == 202, answer
    ticket_id = _json(answer)["ticket_id"]
    assert Ticket.objects.get(pk=ticket_id).run_id.endswith(json.loads(body)["run_id"])


def test_a_chunked_body_over_the_limit_is_refused(server):
    body = json.dumps({"pipeline": "pl_big", "padding": "x" * 70_000}).encode()
    answer, _ = server.raw(
        b"POST /webhooks/adf/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"X-Webhook-Token: " + WEBHOOK_TOKEN.encode() + b"\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + _chunked(body, 8192)
    )

    assert _status(answer) == 413, answer
    assert _json(answer) == {"error": "body larger than 65536 bytes"}


def test_a_body_shorter_than_its_content_length_answers_400_at_once(server):
    answer, seconds = server.raw(
        b"POST /webhooks/adf/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"X-Webhook-Token: " + WEBHOOK_TOKEN.encode() + b"\r\n"
        b"Content-Length: 5000\r\n\r\n" + b'{"pipeline": "pl_short"'
    )

    assert _status(answer) == 400, answer
    assert "body incomplete" in _json(answer)["error"]
    # WEBHOOK_BODY_TIMEOUT_SECONDS is 1 here; gunicorn would otherwise hold it for 30 s.
    assert seconds < 10, seconds
    assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200


def test_tokens_in_query_strings_never_reach_a_log_line(server):
    url = f"{server.url}/webhooks/adf/"
    answers = {
        "wrong token": requests.post(f"{url}?token={WRONG_TOKEN}", data=b"{}", timeout=10),
        "not JSON": requests.post(f"{url}?token={WEBHOOK_TOKEN}", data=b"{nope", timeout=10),
        "wrong method": requests.get(f"{url}?token={WEBHOOK_TOKEN}", timeout=10),
        "JIRA body not JSON": requests.post(
            f"{server.url}/webhooks/jira/?token={JIRA_SECRET}", data=b"{nope", timeout=10
        ),
        "accepted": requests.post(
            f"{url}?token={WEBHOOK_TOKEN}", data=_adf_body(uuid.uuid4().hex[:8]), timeout=10
        ),
    }
    statuses = {name: answer.status_code for name, answer in answers.items()}
    assert statuses == {
        "wrong token": 401,
        "not JSON": 400,
        "wrong method": 405,
        "JIRA body not JSON": 400,
        "accepted": 202,
    }
    # A request line gunicorn cannot parse is logged by gunicorn itself, URI included.
    bad_line, _ = server.raw(
        f"GET /webhooks/adf/?token={WEBHOOK_TOKEN} HTTP/1.1 x\r\n\r\n".encode()
    )
    assert _status(bad_line) == 400

    # The failures were logged (by django.request, gunicorn's error and access logs; the
    # worker writes them a moment after its answer, later under load) ...
    logged = (
        "Bad Request: /webhooks/adf/",
        "Bad Request: /webhooks/jira/",
        '"POST /webhooks/adf/" 202',
        "Invalid request from ip=127.0.0.1",
    )
    wait_for(lambda: all(line in server.output() for line in logged), timeout=10)
    output = server.output()
    # ... and no line carries a token or the JIRA secret.
    for secret in (WEBHOOK_TOKEN, JIRA_SECRET, WRONG_TOKEN):
        leaks = [line for line in output.splitlines() if secret in line]
        assert not leaks, leaks


# --- dependencies that are down ----------------------------------------------------------------


def _assert_unavailable(answer: requests.Response, dependency: str, *, json_body: bool) -> None:
    assert answer.status_code == 503, (answer.status_code, answer.text[:500])
    assert answer.headers.get("Retry-After", "").isdigit(), answer.headers
    if json_body:
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.json() == {"error": f"{dependency} unavailable; retry later"}
    else:
        assert "text/html" in answer.headers["Content-Type"]
        assert "unavailable" in answer.text


def test_postgresql_unreachable_answers_503_json_never_500():
    viewer = make_user("viewer")
    token = AccessToken.for_user(viewer)
    with WebServer(DATABASE_URL=closed_port_url("postgres"), WEBHOOK_TOKEN=WEBHOOK_TOKEN) as down:
        auth = {"Authorization": f"Bearer {token}"}
        ticket_list = requests.get(f"{down.url}/api/v1/tickets/", headers=auth, timeout=30)
        stats = requests.get(f"{down.url}/api/v1/stats/", headers=auth, timeout=30)
        login = requests.post(
            f"{down.url}/api/v1/token/",
            json={"username": viewer.username, "password": PASSWORD},
            timeout=30,
        )
        webhook = requests.post(
            f"{down.url}/webhooks/adf/",
            data=_adf_body("db-down"),
            headers={"X-Webhook-Token": WEBHOOK_TOKEN},
            timeout=30,
        )

    for answer in (ticket_list, stats, login, webhook):
        _assert_unavailable(answer, "database", json_body=True)


def test_redis_unreachable_answers_503_to_sign_in_never_500():
    make_user("viewer", username="redis-down-user", password=PASSWORD)
    with WebServer(REDIS_URL=closed_port_url("redis")) as down:
        token_login = requests.post(
            f"{down.url}/api/v1/token/",
            json={"username": "redis-down-user", "password": PASSWORD},
            timeout=30,
        )
        browser = requests.Session()
        page = browser.get(f"{down.url}/login/", timeout=30)
        csrf = browser.cookies.get("csrftoken", "")
        sign_in = browser.post(
            f"{down.url}/login/",
            data={
                "username": "redis-down-user",
                "password": PASSWORD,
                "csrfmiddlewaretoken": csrf,
            },
            headers={"Referer": f"{down.url}/login/"},
            timeout=30,
        )

    assert page.status_code == 200
    _assert_unavailable(token_login, "cache", json_body=True)
    _assert_unavailable(sign_in, "cache", json_body=False)
