"""Brute-force protection for every way in by password: the dashboard and admin sign-in forms
and the API's token exchange.

Failed attempts are counted in the shared cache (Redis, so every web process sees the same
counts) in a fixed window of LOGIN_LOCKOUT_SECONDS, per username, per client address and per
(address, username) pair. The client address is `client_address`: the TCP peer, or what a
trusted proxy reports (TRUSTED_PROXIES), so a forged X-Forwarded-For changes nothing.

- The username under attack is locked: after LOGIN_MAX_FAILURES failures, from anywhere,
  attempts for it are refused without checking the password until the window passes.
- An address that failed four times as often (one address trying many usernames: password
  spraying) is refused only for the usernames that already failed from it. A sprayer then gets
  one guess per username per window instead of LOGIN_MAX_FAILURES, while everyone else behind
  that address (an office NAT, a proxy not declared in TRUSTED_PROXIES) who has not failed from
  it still signs in with the right password.

A successful sign-in clears the username's count and its pair count at that address; the
address's own count stays, so one right password among many guesses does not reset a sprayer.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.http import HttpRequest

from rca_project.client_address import client_address

ADDRESS_FACTOR = 4
LOCKED_OUT_MESSAGE = "Too many failed sign-in attempts. Try again in {minutes} minutes."


def _name_hash(username: str) -> str:
    return hashlib.sha256(username.strip().casefold().encode()).hexdigest()[:32]


def _username_key(username: str) -> str:
    return f"login-failures:user:{_name_hash(username)}"


def _address(request: HttpRequest | None) -> str:
    return client_address(request) if request is not None else ""


def _address_key(address: str) -> str:
    return f"login-failures:addr:{address}"


def _pair_key(address: str, username: str) -> str:
    return f"login-failures:pair:{address}:{_name_hash(username)}"


def is_locked_out(request: HttpRequest | None, username: str) -> bool:
    limit = settings.LOGIN_MAX_FAILURES
    address = _address(request)
    keys = [_username_key(username)]
    if address:
        keys += [_address_key(address), _pair_key(address, username)]
    counts = cache.get_many(keys)
    if counts.get(keys[0], 0) >= limit:
        return True
    if not address:
        return False
    sprayed = counts.get(keys[1], 0) >= limit * ADDRESS_FACTOR
    return sprayed and counts.get(keys[2], 0) >= 1


def record_failure(request: HttpRequest | None, username: str) -> None:
    window = settings.LOGIN_LOCKOUT_SECONDS
    address = _address(request)
    keys = [_username_key(username)]
    if address:
        keys += [_address_key(address), _pair_key(address, username)]
    for key in keys:
        if not cache.add(key, 1, timeout=window):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=window)


def clear_failures(request: HttpRequest | None, username: str) -> None:
    """After a success. The address's count stays: one right password among many guesses at
    other usernames must not reset a sprayer's count."""
    keys = [_username_key(username)]
    address = _address(request)
    if address:
        keys.append(_pair_key(address, username))
    cache.delete_many(keys)


def locked_out_message() -> str:
    return LOCKED_OUT_MESSAGE.format(minutes=max(1, settings.LOGIN_LOCKOUT_SECONDS // 60))


class ThrottledLoginMixin:
    """For a Django `AuthenticationForm`: refuse while locked out, count each failure."""

    request: HttpRequest | None
    cleaned_data: dict[str, Any]

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        if is_locked_out(self.request, username):
            raise forms.ValidationError(locked_out_message(), code="locked_out")
        try:
            cleaned: dict[str, Any] = super().clean()  # type: ignore[misc]
        except forms.ValidationError as error:
            if error.code == "invalid_login":
                record_failure(self.request, username)
            raise
        clear_failures(self.request, username)
        return cleaned


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    """The dashboard's sign-in form."""


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    """Django admin's sign-in form (staff only, as before)."""
