"""Brute force against the sign-in forms (dashboard and admin) is locked out, counted in the
shared Redis cache, per username, per client address and per (address, username)."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.dashboard import PASSWORD, make_user

pytestmark = pytest.mark.django_db

LOCKED = "Too many failed sign-in attempts"


@pytest.fixture(autouse=True)
def small_limits(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.LOGIN_MAX_FAILURES = 3
    settings.LOGIN_LOCKOUT_SECONDS = 60


def sign_in(username: str, password: str, *, address: str = "10.0.0.1", path: str = "/login/"):
    client = Client(REMOTE_ADDR=address)
    return client.post(path, {"username": username, "password": password}), client


def test_the_username_is_locked_after_the_limit_even_for_the_right_password():
    make_user("ana", "viewer")
    for _ in range(3):
        answer, _ = sign_in("ana", "guess")
        assert answer.status_code == 200
        assert "correct username and password" in answer.content.decode()

    answer, client = sign_in("ana", PASSWORD, address="10.0.0.2")
    assert answer.status_code == 429
    assert LOCKED in answer.content.decode()
    assert client.get("/").status_code == 302  # not signed in


def test_other_users_can_still_sign_in():
    make_user("ana", "viewer")
    make_user("ben", "viewer")
    for _ in range(3):
        sign_in("ana", "guess", address="10.0.0.3")
    answer, _ = sign_in("ben", PASSWORD, address="10.0.0.4")
    assert (answer.status_code, answer.headers["Location"]) == (302, "/")


def test_a_successful_sign_in_clears_the_count():
    make_user("ana", "viewer")
    for _ in range(2):
        sign_in("ana", "guess")
    assert sign_in("ana", PASSWORD)[0].status_code == 302
    for _ in range(2):
        assert sign_in("ana", "guess")[0].status_code == 200
    assert sign_in("ana", PASSWORD)[0].status_code == 302


def test_usernames_differing_in_case_share_a_count():
    make_user("ana", "viewer")
    for name in ("ana", "ANA", " Ana"):
        sign_in(name, "guess")
    assert sign_in("ana", PASSWORD)[0].status_code == 429


def test_one_address_trying_many_usernames_gets_no_second_guess_at_them(settings):
    make_user("ana", "viewer")
    make_user("ben", "viewer")
    limit = settings.LOGIN_MAX_FAILURES * 4
    sign_in("ben", "guess", address="10.9.9.9")
    for n in range(limit - 1):
        sign_in(f"someone-{n}", "guess", address="10.9.9.9")
    # A username that already failed from the spraying address is refused there...
    assert sign_in("ben", PASSWORD, address="10.9.9.9")[0].status_code == 429
    assert sign_in("someone-0", "guess", address="10.9.9.9")[0].status_code == 429
    # ...but not elsewhere, and a user who never failed from it still gets in (see
    # tests/security/test_login_lockout.py).
    assert sign_in("ben", PASSWORD, address="10.9.9.10")[0].status_code == 302
    assert sign_in("ana", PASSWORD, address="10.9.9.9")[0].status_code == 302


def test_the_lock_lifts_when_the_window_passes(settings):
    settings.LOGIN_LOCKOUT_SECONDS = 1
    make_user("ana", "viewer")
    for _ in range(3):
        sign_in("ana", "guess")
    assert sign_in("ana", PASSWORD)[0].status_code == 429
    time.sleep(1.5)
    assert sign_in("ana", PASSWORD)[0].status_code == 302


def test_the_admin_sign_in_shares_the_count():
    User.objects.create_superuser("root", password=PASSWORD)
    assert sign_in("root", PASSWORD, path="/admin/login/")[1].get("/admin/").status_code == 200
    for _ in range(2):
        answer, _ = sign_in("root", "guess", path="/admin/login/")
        assert answer.status_code == 200
    sign_in("root", "guess")  # the third failure, on the dashboard's form

    answer, client = sign_in("root", PASSWORD, path="/admin/login/")
    assert LOCKED in answer.content.decode()
    assert client.get("/admin/").status_code == 302


def test_failures_are_kept_in_the_shared_cache(settings):
    """Every web process must see the same counts: they live in Redis, not in process memory."""
    import redis

    make_user("ana", "viewer")
    sign_in("ana", "guess")
    config = settings.CACHES["default"]
    assert config["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    keys = list(redis.Redis.from_url(config["LOCATION"]).scan_iter(f"{config['KEY_PREFIX']}:*"))
    assert any(b"login-failures:user:" in key for key in keys), keys


def api_token(username: str, password: str, address: str = "10.0.0.1"):
    return Client(REMOTE_ADDR=address).post(
        "/api/v1/token/",
        {"username": username, "password": password},
        content_type="application/json",
    )


def test_the_api_token_exchange_shares_the_count(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "1000/min", "user": "1000/min", "login": "1000/min"},
    }
    make_user("ana", "viewer")
    assert api_token("ana", PASSWORD).status_code == 200
    for _ in range(2):
        assert api_token("ana", "guess").status_code == 401
    sign_in("ana", "guess")  # the third failure, on the dashboard's form

    answer = api_token("ana", PASSWORD, address="10.0.0.7")
    assert answer.status_code == 429
    assert LOCKED in answer.json()["error"]
    assert "access" not in answer.json()
    assert answer["Retry-After"] == str(settings.LOGIN_LOCKOUT_SECONDS)
