"""Sign-in lockout as a weapon, and forged client addresses.

An attacker who sprays wrong passwords at many usernames from one address must not lock out the
real users who share that address (an office NAT, or everyone when the service sits behind a
proxy); a forged X-Forwarded-For must not buy a fresh address; a trusted proxy's must."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client, RequestFactory

from rca_project.client_address import client_address
from tests.dashboard import PASSWORD, make_user
from tickets.api.throttles import ClientScopedRateThrottle

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.2"


@pytest.fixture(autouse=True)
def small_limits(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.LOGIN_MAX_FAILURES = 3
    settings.LOGIN_LOCKOUT_SECONDS = 60
    settings.TRUSTED_PROXIES = []


def sign_in(username: str, password: str, *, address: str, forwarded: str = "") -> int:
    extra: dict[str, Any] = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    client = Client(REMOTE_ADDR=address, **extra)
    return client.post("/login/", {"username": username, "password": password}).status_code


def spray(address: str, *, forwarded: str = "", times: int = 40) -> None:
    for _ in range(times):
        sign_in(
            f"nobody-{uuid.uuid4().hex[:8]}", "Winter2026!", address=address, forwarded=forwarded
        )


def test_spraying_random_usernames_does_not_lock_out_real_users_at_that_address():
    make_user("ana", "viewer")
    spray("192.0.2.10")

    assert sign_in("ana", PASSWORD, address="192.0.2.10") == 302


def test_behind_a_trusted_proxy_a_sprayer_locks_out_nobody(settings):
    settings.TRUSTED_PROXIES = [PROXY]
    make_user("ana", "viewer")
    spray(PROXY, forwarded="198.51.100.7")

    assert sign_in("ana", PASSWORD, address=PROXY, forwarded="198.51.100.8") == 302
    assert sign_in("ana", PASSWORD, address=PROXY, forwarded="198.51.100.7") == 302


def test_the_username_under_attack_is_locked_from_every_address():
    make_user("ana", "viewer")
    for n in range(3):
        sign_in("ana", "guess", address=f"203.0.113.{n}")

    assert sign_in("ana", PASSWORD, address="203.0.113.99") == 429


def test_a_forged_forwarded_for_does_not_reset_the_api_login_throttle():
    """Without TRUSTED_PROXIES the header is the client's word: ignored."""
    rate = int(str(ClientScopedRateThrottle.THROTTLE_RATES["login"]).split("/")[0])
    statuses = [
        Client(REMOTE_ADDR="192.0.2.20", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
        .post(
            "/api/v1/token/",
            {"username": f"user{n}", "password": "guess"},
            content_type="application/json",
        )
        .status_code
        for n in range(rate + 2)
    ]
    assert statuses == [401] * rate + [429] * 2


def test_a_forged_forwarded_for_does_not_dodge_the_pair_lock(settings):
    make_user("ben", "viewer")
    sign_in("ben", "guess", address="192.0.2.30")
    spray("192.0.2.30", forwarded="1.2.3.4")
    for n in range(3):
        assert sign_in("ben", PASSWORD, address="192.0.2.30", forwarded=f"1.2.3.{n}") == 429


@pytest.mark.parametrize(
    "trusted, peer, forwarded, client",
    [
        ([], "192.0.2.1", "198.51.100.1", "192.0.2.1"),  # no proxy configured: the peer
        (["10.0.0.0/8"], "192.0.2.1", "198.51.100.1", "192.0.2.1"),  # peer is no proxy of ours
        (["10.0.0.2"], "10.0.0.2", "198.51.100.1", "198.51.100.1"),
        (["10.0.0.2"], "10.0.0.2", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # forged left part
        (["10.0.0.0/8"], "10.0.0.2", "6.6.6.6, 198.51.100.1, 10.0.0.9", "198.51.100.1"),
        (["10.0.0.2"], "10.0.0.2", "", "10.0.0.2"),
        (["10.0.0.2"], "10.0.0.2", "not-an-ip", "10.0.0.2"),
        (["fd00::/8"], "fd00::1", "2001:db8::5", "2001:db8::5"),
    ],
)
def test_client_address(settings, trusted, peer, forwarded, client):
    settings.TRUSTED_PROXIES = trusted
    request = RequestFactory().get("/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == client
