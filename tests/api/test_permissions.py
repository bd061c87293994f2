"""Who may call what: every endpoint against anonymous, no role, viewer, responder, admin and
superuser, authenticated with a real JWT."""

from __future__ import annotations

import uuid

import jwt
import pytest
from rest_framework_simplejwt.tokens import AccessToken

from integrations.models import DeliveryStatus, WebhookDelivery
from tests.api import clear_throttles, jwt_client, make_ticket, make_user
from tickets.models import Resolution, Status
from tickets.vocabulary import Outcome

pytestmark = pytest.mark.django_db

ANON, WRONG, NOROLE, VIEWER, RESPONDER, ADMIN, SUPER = (
    "anonymous",
    "wrong token",
    "norole",
    "viewer",
    "responder",
    "admin",
    "superuser",
)
CALLERS = (ANON, WRONG, NOROLE, VIEWER, RESPONDER, ADMIN, SUPER)


def expect(anonymous: int, norole: int, viewer: int, responder: int, admin: int) -> dict:
    # A wrong (forged or expired) token is refused like no token at all.
    return {
        ANON: anonymous,
        WRONG: anonymous,
        NOROLE: norole,
        VIEWER: viewer,
        RESPONDER: responder,
        ADMIN: admin,
        SUPER: admin,
    }


READ = expect(401, 403, 200, 200, 200)
ACT = expect(401, 403, 403, 200, 200)
PUBLIC = expect(200, 200, 200, 200, 200)
EMPTY_BODY = expect(400, 400, 400, 400, 400)
# Tickets are created by webhooks only: writing through the API is refused to everyone, so
# every role gets the 405 (no role would be let), not a 403.
NO_WRITE = expect(401, 403, 405, 405, 405)
NO_JOB = expect(401, 403, 404, 404, 404)

# (method, path, ticket status to start from, expected status per caller)
MATRIX = [
    ("get", "/api/v1/tickets/", None, READ),
    ("get", "/api/v1/tickets/{id}/", None, READ),
    ("get", "/api/v1/tickets/{id}/audit/", None, READ),
    ("get", "/api/v1/tickets/{id}/similar/", None, READ),
    ("get", "/api/v1/tickets/{id}/deliveries/", None, READ),
    ("get", "/api/v1/stats/", None, READ),
    ("get", "/api/v1/trace/{tracking_id}/", None, READ),
    ("post", "/api/v1/tickets/{id}/acknowledge/", Status.OPEN, ACT),
    ("post", "/api/v1/tickets/{id}/take/", Status.OPEN, ACT),
    ("post", "/api/v1/tickets/{id}/resolve/", Status.OPEN, ACT),
    ("post", "/api/v1/tickets/{id}/reopen/", Status.ACKNOWLEDGED, ACT),
    ("post", "/api/v1/resolutions/{resolution_id}/mark-wrong/", None, ACT),
    ("post", "/api/v1/tickets/{id}/rerun-rca/", None, expect(401, 403, 403, 202, 202)),
    # Responders may decide and retry; here nothing awaits approval or failed, hence 409.
    ("post", "/api/v1/tickets/{id}/remediation/approve/", None, expect(401, 403, 403, 409, 409)),
    ("post", "/api/v1/tickets/{id}/remediation/decline/", None, expect(401, 403, 403, 409, 409)),
    ("post", "/api/v1/tickets/{id}/remediation/retry/", None, expect(401, 403, 403, 409, 409)),
    ("post", "/api/v1/tickets/", None, NO_WRITE),
    ("put", "/api/v1/tickets/{id}/", None, NO_WRITE),
    ("patch", "/api/v1/tickets/{id}/", None, NO_WRITE),
    ("delete", "/api/v1/tickets/{id}/", None, NO_WRITE),
    ("get", "/api/v1/schema/", None, PUBLIC),
    ("get", "/api/v1/docs/", None, PUBLIC),
    # Open to all; an empty body is refused (test_auth covers the real exchanges).
    ("post", "/api/v1/token/", None, EMPTY_BODY),
    ("post", "/api/v1/token/refresh/", None, EMPTY_BODY),
    ("post", "/api/v1/token/revoke/", None, EMPTY_BODY),
    ("post", "/api/v1/token/verify/", None, EMPTY_BODY),
    # Log analyses: any role starts one (an empty body names nothing to analyse) and reads
    # them; {id} here is a ticket id, so a caller who passes the role check finds no job.
    ("get", "/api/v1/log-analyses/", None, READ),
    ("post", "/api/v1/log-analyses/", None, expect(401, 403, 400, 400, 400)),
    ("get", "/api/v1/log-analyses/{id}/", None, NO_JOB),
    ("get", "/api/v1/log-analyses/{id}/markdown/", None, NO_JOB),
    ("get", "/api/v1/log-analyses/{id}/events/", None, NO_JOB),
    ("post", "/api/v1/log-analyses/{id}/cancel/", None, NO_JOB),
    ("post", "/api/v1/log-analyses/{id}/attach/", None, expect(401, 403, 403, 404, 404)),
    # Incidents: {id} here is a ticket id, so a caller who passes the role check finds none.
    ("get", "/api/v1/incidents/", None, READ),
    ("get", "/api/v1/incidents/{id}/", None, NO_JOB),
    ("get", "/api/v1/incidents/{id}/members/", None, NO_JOB),
    ("get", "/api/v1/incidents/{id}/timeline/", None, NO_JOB),
    ("post", "/api/v1/incidents/{id}/acknowledge/", None, expect(401, 403, 403, 404, 404)),
    ("post", "/api/v1/incidents/{id}/take/", None, expect(401, 403, 403, 404, 404)),
    ("post", "/api/v1/incidents/{id}/reopen/", None, expect(401, 403, 403, 404, 404)),
    ("post", "/api/v1/incidents/{id}/resolve/", None, expect(401, 403, 403, 404, 404)),
    # An empty body names no member (detach) or no incident to merge into: 400.
    ("post", "/api/v1/incidents/{id}/detach/", None, expect(401, 403, 403, 400, 400)),
    ("post", "/api/v1/incidents/{id}/merge/", None, expect(401, 403, 403, 400, 400)),
    ("get", "/api/v1/stats/incidents/", None, READ),
]


def forged_token() -> str:
    """A well-formed access token for a real user, signed with the wrong key."""
    token = AccessToken.for_user(make_user(ADMIN))
    return jwt.encode(token.payload, "not-the-signing-key-" + "x" * 32, algorithm="HS256")


@pytest.fixture(autouse=True)
def _fresh_throttles():
    clear_throttles()


def _case_id(case: tuple) -> str:
    return f"{case[0].upper()} {case[1]}"


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("case", MATRIX, ids=_case_id)
def test_permission_matrix(case, caller):
    method, path, start_status, expected = case
    ticket = make_ticket(status=start_status or Status.OPEN)
    tracking_id = uuid.uuid4()
    WebhookDelivery.objects.create(
        tracking_id=tracking_id,
        source="adf",
        raw_body="{}",
        status=DeliveryStatus.PROCESSED,
        outcome=Outcome.CREATED,
        ticket=ticket,
    )
    user = None if caller in (ANON, WRONG) else make_user(None if caller == NOROLE else caller)
    client = jwt_client(user)
    if caller == WRONG:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged_token()}")

    fix = Resolution.objects.create(
        ticket=ticket, fix="Restarted it", resolved_by="bob", actor_kind="user", fingerprint="f"
    )
    url = path.format(id=ticket.pk, tracking_id=tracking_id, resolution_id=fix.pk)
    response = getattr(client, method)(url, {}, format="json")

    assert response.status_code == expected[caller], response.content[:300]
    if response.status_code >= 400:
        assert response["Content-Type"].startswith("application/json")
        assert "error" in response.json()


def test_every_api_route_is_in_the_matrix():
    from django.urls import get_resolver

    covered = {path for _, path, _, _ in MATRIX}
    routes = set()
    for pattern in get_resolver("tickets.api.urls").url_patterns:
        route = str(pattern.pattern).replace("(?P<pk>[^/]+)", "{id}")
        route = route.replace("<str:tracking_id>", "{tracking_id}").strip("^$")
        route = route.replace("<str:resolution_id>", "{resolution_id}")
        routes.add("/api/v1/" + route)
    assert routes == covered


def test_an_inactive_user_is_refused():
    user = make_user(VIEWER, is_active=False)
    assert jwt_client(user).get("/api/v1/tickets/").status_code == 401


def test_session_authentication_works_for_the_browser(client):
    user = make_user(VIEWER)
    client.force_login(user)
    assert client.get("/api/v1/tickets/").status_code == 200
