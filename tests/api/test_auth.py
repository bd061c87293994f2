"""JWT: obtain, refresh, verify, expiry; brute force on the login gets 429; rate limits."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken

from tests.api import PASSWORD, clear_throttles, make_user
from tickets.tasks import forget_expired_api_tokens

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_hashes(settings):
    """PBKDF2 costs ~0.3 s a check: the brute-force test makes a dozen."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_throttles():
    clear_throttles()
    yield
    clear_throttles()


def _rate(scope: str) -> int:
    return int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope].split("/")[0])


def test_obtain_refresh_and_verify():
    make_user("viewer", username="ana", password=PASSWORD)
    client = APIClient()

    tokens = client.post("/api/v1/token/", {"username": "ana", "password": PASSWORD}).json()
    assert set(tokens) == {"access", "refresh"}

    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert client.get("/api/v1/tickets/").status_code == 200

    client.credentials()
    refreshed = client.post("/api/v1/token/refresh/", {"refresh": tokens["refresh"]})
    assert refreshed.status_code == 200
    new_access = refreshed.json()["access"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {new_access}")
    assert client.get("/api/v1/stats/").status_code == 200

    client.credentials()
    assert client.post("/api/v1/token/verify/", {"token": new_access}).status_code == 200
    bad = client.post("/api/v1/token/verify/", {"token": new_access[:-4] + "AAAA"})
    assert bad.status_code == 401
    assert bad.json()["error"]
    # A refresh token is not an access token, and an access token does not refresh.
    assert client.post("/api/v1/token/refresh/", {"refresh": new_access}).status_code == 401


def test_a_password_that_starts_or_ends_with_a_space_signs_in_as_typed():
    """The dashboard's sign-in takes the password as typed; the API's cut the spaces off its
    ends, so the same password was refused there (401)."""
    password = f" {PASSWORD} "
    make_user("viewer", username="ana", password=password)
    client = APIClient()

    answer = client.post("/api/v1/token/", {"username": "ana", "password": password})
    assert answer.status_code == 200, answer.content
    trimmed = client.post("/api/v1/token/", {"username": "ana", "password": PASSWORD})
    assert trimmed.status_code == 401


def test_wrong_password_is_a_json_401():
    make_user("viewer", username="ana", password=PASSWORD)
    response = APIClient().post("/api/v1/token/", {"username": "ana", "password": "nope"})
    assert response.status_code == 401
    assert response.json()["error"]


def test_an_expired_access_token_is_refused():
    user = make_user("viewer")
    token = AccessToken.for_user(user)
    token.set_exp(from_time=timezone.now() - timedelta(hours=1), lifetime=timedelta(minutes=5))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    response = client.get("/api/v1/tickets/")

    assert response.status_code == 401
    assert response.json()["error"]
    assert client.post("/api/v1/token/verify/", {"token": str(token)}).status_code == 401


def test_an_expired_or_missing_token_says_how_to_get_a_new_one():
    """A script whose access token ran out read "Given token not valid for any token type"
    (the expiry buried in `detail`), and one that sent none "Authentication credentials were
    not provided.": neither said what to do."""
    user = make_user("viewer")
    token = AccessToken.for_user(user)
    token.set_exp(from_time=timezone.now() - timedelta(hours=1), lifetime=timedelta(minutes=5))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    expired = client.get("/api/v1/tickets/").json()

    assert expired["error"] == (
        "The access token has expired: POST the refresh token to /api/v1/token/refresh/ for a"
        " new one, or a username and password to /api/v1/token/."
    )
    assert expired["detail"]["code"] == "token_not_valid"
    missing = APIClient().get("/api/v1/tickets/")
    assert missing.status_code == 401
    assert missing.json()["error"] == (
        "Authentication credentials were not provided: send the header"
        " `Authorization: Bearer <access token>` (POST a username and password to"
        " /api/v1/token/ for one)."
    )
    # A token that is not ours at all is no expired one.
    client.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    assert client.get("/api/v1/tickets/").json()["error"] == (
        "Given token not valid for any token type"
    )


def test_a_token_with_a_short_lifetime_expires():
    user = make_user("viewer")
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=timedelta(seconds=-1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/tickets/").status_code == 401


def test_the_token_of_a_deactivated_user_stops_working():
    user = make_user("viewer")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    assert client.get("/api/v1/tickets/").status_code == 200
    user.is_active = False
    user.save()
    assert client.get("/api/v1/tickets/").status_code == 401


def test_login_brute_force_is_throttled():
    make_user("viewer", username="ana", password=PASSWORD)
    client = APIClient()
    allowed = _rate("login")
    # Other usernames each time: the per-username lockout (test_login_throttle) is not this.
    for n in range(allowed):
        response = client.post("/api/v1/token/", {"username": f"user{n}", "password": "guess"})
        assert response.status_code == 401
    blocked = client.post("/api/v1/token/", {"username": "ana", "password": PASSWORD})
    assert blocked.status_code == 429
    assert "throttled" in blocked.json()["error"].lower()
    assert int(blocked["Retry-After"]) > 0


def test_anonymous_requests_are_rate_limited():
    """On what anonymous callers may reach at all (the rest answers 401 before throttling)."""
    client = APIClient()
    for _ in range(_rate("anon")):
        assert client.post("/api/v1/token/verify/", {"token": "x"}).status_code == 401
    assert client.post("/api/v1/token/verify/", {"token": "x"}).status_code == 429


def test_users_are_rate_limited_per_user(monkeypatch):
    from rest_framework.throttling import UserRateThrottle

    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "3/min"})
    first, second = make_user("viewer"), make_user("viewer")
    one, other = APIClient(), APIClient()
    one.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(first)}")
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(second)}")

    assert [one.get("/api/v1/tickets/").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert other.get("/api/v1/tickets/").status_code == 200


def _log_in(client: APIClient, username: str = "ana") -> dict[str, str]:
    return client.post("/api/v1/token/", {"username": username, "password": PASSWORD}).json()


def test_a_refresh_token_is_spent_by_its_refresh():
    make_user("viewer", username="ana", password=PASSWORD)
    client = APIClient()
    first = _log_in(client)["refresh"]

    refreshed = client.post("/api/v1/token/refresh/", {"refresh": first})
    assert refreshed.status_code == 200
    second = refreshed.json()["refresh"]
    assert second != first

    # Whoever else holds the first one (a stolen copy) is refused, the new holder is not.
    reused = client.post("/api/v1/token/refresh/", {"refresh": first})
    assert reused.status_code == 401
    assert "blacklisted" in reused.json()["error"]
    assert client.post("/api/v1/token/refresh/", {"refresh": second}).status_code == 200


def test_log_out_revokes_the_refresh_token():
    make_user("viewer", username="ana", password=PASSWORD)
    client = APIClient()
    refresh = _log_in(client)["refresh"]

    assert client.post("/api/v1/token/revoke/", {"refresh": refresh}).status_code == 200

    assert client.post("/api/v1/token/refresh/", {"refresh": refresh}).status_code == 401
    assert client.post("/api/v1/token/revoke/", {"refresh": "not a token"}).status_code == 401
    missing = client.post("/api/v1/token/revoke/", {})
    assert missing.status_code == 400
    assert "refresh" in str(missing.json())


def test_a_changed_password_ends_every_token_of_the_user():
    user = make_user("viewer", username="ana", password=PASSWORD)
    client = APIClient()
    tokens = _log_in(client)

    user.set_password("a new " + PASSWORD)
    user.save()

    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert client.get("/api/v1/tickets/").status_code == 401
    client.credentials()
    refused = client.post("/api/v1/token/refresh/", {"refresh": tokens["refresh"]})
    assert refused.status_code == 401
    assert "password" in refused.json()["error"]


def test_verify_calls_valid_only_a_token_the_api_takes():
    """token/verify/ answers as the API would: a revoked refresh token is a 401 as at refresh,
    and an access token from before a password change (refused everywhere) is not valid."""
    user = make_user("viewer", username="ana", password=PASSWORD)
    client = APIClient()
    tokens = _log_in(client)
    assert client.post("/api/v1/token/verify/", {"token": tokens["access"]}).status_code == 200
    client.post("/api/v1/token/revoke/", {"refresh": tokens["refresh"]})

    revoked = client.post("/api/v1/token/verify/", {"token": tokens["refresh"]})
    assert revoked.status_code == 401
    assert "blacklisted" in revoked.json()["error"]

    user.set_password("a new " + PASSWORD)
    user.save()
    assert client.post("/api/v1/token/verify/", {"token": tokens["access"]}).status_code == 401


def test_the_refresh_token_of_a_deleted_user_is_a_401():
    user = make_user("viewer", username="ana", password=PASSWORD)
    client = APIClient()
    refresh = _log_in(client)["refresh"]
    user.delete()

    refused = client.post("/api/v1/token/refresh/", {"refresh": refresh})

    assert refused.status_code == 401
    assert "no longer exists" in refused.json()["error"]


def test_expired_refresh_tokens_are_forgotten_and_live_ones_kept():
    make_user("viewer", username="ana", password=PASSWORD)
    make_user("viewer", username="bob", password=PASSWORD)
    client = APIClient()
    expired = _log_in(client, "ana")["refresh"]
    live = _log_in(client, "bob")["refresh"]
    client.post("/api/v1/token/revoke/", {"refresh": expired})
    OutstandingToken.objects.filter(user__username="ana").update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    assert forget_expired_api_tokens() == 2  # the token and its revocation

    assert list(OutstandingToken.objects.values_list("user__username", flat=True)) == ["bob"]
    assert not BlacklistedToken.objects.exists()
    assert client.post("/api/v1/token/refresh/", {"refresh": live}).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_two_refreshes_of_one_token_at_once_give_one_next_token():
    """The second of two refreshes racing on one refresh token (a stolen copy used at the same
    moment) is refused: its check ran before the first one's revocation committed. Here the
    first refresh's revocation is held uncommitted while the second runs, then committed."""
    make_user("viewer", username="ana", password=PASSWORD)
    refresh = _log_in(APIClient())["refresh"]
    outstanding = OutstandingToken.objects.get()
    recorded, release = threading.Event(), threading.Event()

    def first_refresh_revokes() -> None:
        try:
            with transaction.atomic():
                BlacklistedToken.objects.create(token=outstanding)
                recorded.set()
                release.wait(10)
        finally:
            connections.close_all()

    def second_refresh() -> Any:
        try:
            return APIClient().post("/api/v1/token/refresh/", {"refresh": refresh})
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=2) as pool:
        holder = pool.submit(first_refresh_revokes)
        assert recorded.wait(10)
        second = pool.submit(second_refresh)
        deadline = time.monotonic() + 10
        while not _someone_waits_for_a_lock() and time.monotonic() < deadline:
            time.sleep(0.02)
        release.set()
        holder.result(10)
        answer = second.result(10)

    assert answer.status_code == 401, answer.json()
    assert "blacklisted" in answer.json()["error"]
    assert BlacklistedToken.objects.count() == 1
    assert OutstandingToken.objects.count() == 1  # no next token was issued


def _someone_waits_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
        return bool(cursor.fetchone()[0])


def test_a_superuser_revokes_tokens_in_admin_and_sees_which_are_revoked():
    """simplejwt's admin lists tokens by user id and revokes one only by adding a row (its
    form offering revoked tokens too): here a list by name says which are revoked, an action
    revokes the ones selected, and the add form offers only what can still be revoked."""
    from django.contrib.auth.models import User
    from django.test import Client
    from django.urls import reverse

    make_user("viewer", username="ana", password=PASSWORD)
    make_user("viewer", username="bob", password=PASSWORD)
    api = APIClient()
    ana, bob = _log_in(api, "ana")["refresh"], _log_in(api, "bob")["refresh"]
    root = User.objects.create_superuser("root", password=PASSWORD)
    admin = Client()
    admin.force_login(root)
    changelist = reverse("admin:token_blacklist_outstandingtoken_changelist")
    ana_token = OutstandingToken.objects.get(user__username="ana")

    answer = admin.post(
        changelist, {"action": "revoke", "_selected_action": [str(ana_token.pk)]}, follow=True
    )

    assert "1 token(s) revoked." in answer.content.decode()
    assert api.post("/api/v1/token/refresh/", {"refresh": ana}).status_code == 401
    revoked = admin.get(changelist, {"revoked": "yes", "q": "ana"}).context["cl"].result_list
    assert [token.user.username for token in revoked] == ["ana"]
    assert not admin.get(changelist, {"revoked": "yes", "q": "bob"}).context["cl"].result_list
    add_form = admin.get(reverse("admin:token_blacklist_blacklistedtoken_add"))
    offered = add_form.context["adminform"].form.fields["token"].queryset
    assert ana_token not in offered
    assert offered.filter(user__username="bob").exists()
    assert api.post("/api/v1/token/refresh/", {"refresh": bob}).status_code == 200


def test_staff_who_are_not_superusers_cannot_revoke_tokens_in_admin():
    from django.contrib.auth.models import User
    from django.test import Client
    from django.urls import reverse

    make_user("viewer", username="ana", password=PASSWORD)
    _log_in(APIClient(), "ana")
    staff = User.objects.create_user("desk", password=PASSWORD, is_staff=True)
    client = Client()
    client.force_login(staff)

    answer = client.post(
        reverse("admin:token_blacklist_outstandingtoken_changelist"),
        {"action": "revoke", "_selected_action": [str(OutstandingToken.objects.get().pk)]},
    )

    assert answer.status_code == 403
    assert not BlacklistedToken.objects.exists()


@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ("/api/v1/token/", {"remember_me": True}),
        ("/api/v1/token/refresh/", {"access": "the old one"}),
        ("/api/v1/token/revoke/", {"all": True}),
        ("/api/v1/token/verify/", {"token_type": "refresh"}),
    ],
)
def test_a_field_a_token_endpoint_does_not_take_is_refused_naming_it(path, extra):
    """Dropped like the ticket actions' used to be: `{"all": true}` revoked one token and said
    200, as if every session had ended."""
    make_user("viewer", username="ana", password=PASSWORD)
    client = APIClient()
    tokens = _log_in(client)
    body = {
        "/api/v1/token/": {"username": "ana", "password": PASSWORD},
        "/api/v1/token/refresh/": {"refresh": tokens["refresh"]},
        "/api/v1/token/revoke/": {"refresh": tokens["refresh"]},
        "/api/v1/token/verify/": {"token": tokens["access"]},
    }[path]

    response = client.post(path, {**body, **extra}, format="json")

    assert response.status_code == 400, response.content
    (name,) = extra
    assert response.json()["detail"][name].startswith("not a field of this body; it takes ")
    # Nothing was done: the refresh token is neither spent nor revoked.
    assert client.post("/api/v1/token/refresh/", {"refresh": tokens["refresh"]}).status_code == 200


@pytest.mark.parametrize("user_id", ["not-a-number", 1.5, ["1"], None])
def test_a_signed_token_whose_user_id_is_not_an_id_is_a_401(user_id):
    """A token signed with this deployment's key (an old release's, or another service's
    sharing the key) whose user id is not an id names no user: a 401 at every endpoint, not
    the 500 of the database refusing the value."""
    from rest_framework_simplejwt.tokens import RefreshToken

    user = make_user("viewer", username="ana", password=PASSWORD)
    refresh = RefreshToken.for_user(user)
    refresh["user_id"] = user_id
    access = refresh.access_token
    client = APIClient()

    for path, body in (
        ("/api/v1/token/refresh/", {"refresh": str(refresh)}),
        ("/api/v1/token/verify/", {"token": str(refresh)}),
        ("/api/v1/token/verify/", {"token": str(access)}),
    ):
        assert client.post(path, body, format="json").status_code == 401, path
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert client.get("/api/v1/tickets/").status_code == 401


def test_the_admin_token_page_never_shows_a_refresh_token():
    """OutstandingToken keeps each refresh token whole: shown on its admin page, whoever could
    open it (or see a screen share of it) could sign in as that token's user until it expires."""
    from django.contrib.auth.models import User
    from django.test import Client
    from django.urls import reverse

    make_user("responder", username="ana", password=PASSWORD)
    refresh = _log_in(APIClient(), "ana")["refresh"]
    root = User.objects.create_superuser("root", password=PASSWORD)
    admin = Client()
    admin.force_login(root)
    row = OutstandingToken.objects.get(user__username="ana")
    pages = [
        admin.get(reverse("admin:token_blacklist_outstandingtoken_change", args=[row.pk])),
        admin.get(reverse("admin:token_blacklist_outstandingtoken_changelist")),
        admin.get(reverse("admin:token_blacklist_blacklistedtoken_add")),
    ]

    for page in pages:
        assert page.status_code == 200
        body = page.content.decode()
        assert row.jti in body  # the token is named, by its id
        assert refresh not in body
        assert refresh.rsplit(".", 1)[-1] not in body  # nor its signature


def test_the_database_keeps_no_refresh_token_that_can_be_presented():
    """A read of the token table (a backup, a replica, a dump) is no sign-in: the rows keep
    each refresh token without its signature, and the blacklist still works by their jti."""
    make_user("viewer", username="ana", password=PASSWORD)
    client = APIClient()
    first = _log_in(client)["refresh"]
    second = client.post("/api/v1/token/refresh/", {"refresh": first}).json()["refresh"]

    stored = list(OutstandingToken.objects.filter(user__username="ana").order_by("created_at"))
    assert [row.token for row in stored] == [first.rsplit(".", 1)[0], second.rsplit(".", 1)[0]]
    for row in stored:
        refused = client.post("/api/v1/token/refresh/", {"refresh": row.token})
        assert refused.status_code == 401
        assert (
            client.post("/api/v1/token/refresh/", {"refresh": row.token + "."}).status_code == 401
        )
    assert client.post("/api/v1/token/refresh/", {"refresh": first}).status_code == 401
    assert client.post("/api/v1/token/revoke/", {"refresh": second}).status_code == 200
    assert client.post("/api/v1/token/refresh/", {"refresh": second}).status_code == 401


def test_refresh_tokens_stored_whole_by_an_earlier_release_lose_their_signature():
    """Migration 0054's step, on rows written before it (stored whole, as simplejwt does)."""
    from tickets.api_token_storage import drop_stored_signatures

    make_user("viewer", username="ana", password=PASSWORD)
    refresh = _log_in(APIClient())["refresh"]
    rows = OutstandingToken.objects.filter(user__username="ana")
    rows.update(token=refresh)  # an update runs no pre_save: the row an older release wrote

    assert drop_stored_signatures(OutstandingToken.objects.all()) == 1
    assert rows.get().token == refresh.rsplit(".", 1)[0]
    assert drop_stored_signatures(OutstandingToken.objects.all()) == 0
    assert rows.get().token == refresh.rsplit(".", 1)[0]
    assert APIClient().post("/api/v1/token/refresh/", {"refresh": refresh}).status_code == 200


def test_refresh_tokens_stored_whole_during_a_rolling_upgrade_lose_their_signature_hourly():
    """Migration 0054 runs before the new release's processes start, while the old one still
    signs people in (storing each refresh token whole, no pre_save there): the hourly
    forgetting of expired tokens strips the signature of those too, instead of leaving them
    readable in the table until they expire."""
    make_user("viewer", username="ana", password=PASSWORD)
    refresh = _log_in(APIClient())["refresh"]
    rows = OutstandingToken.objects.filter(user__username="ana")
    rows.update(token=refresh)  # an update runs no pre_save: the old release's row

    assert forget_expired_api_tokens() == 0  # none expired

    assert rows.get().token == refresh.rsplit(".", 1)[0]
    assert APIClient().post("/api/v1/token/refresh/", {"refresh": refresh}).status_code == 200
