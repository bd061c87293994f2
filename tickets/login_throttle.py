"""Brute-force protection for every way in by password: the dashboard and admin sign-in forms
and the API's token exchange.

Failed attempts are counted in the shared cache (Redis, so every web process sees the same
counts) per username and per client address, in a fixed window of LOGIN_LOCKOUT_SECONDS. Once
a username has LOGIN_MAX_FAILURES failures, or an address four times as many (one address
trying many usernames), further attempts are refused without checking the password until the
window passes. A successful sign-in clears the username's count.
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

ADDRESS_FACTOR = 4
LOCKED_OUT_MESSAGE = "Too many failed sign-in attempts. Try again in {minutes} minutes."


def _username_key(username: str) -> str:
    name = hashlib.sha256(username.strip().casefold().encode()).hexdigest()[:32]
    return f"login-failures:user:{name}"


def _keys(request: HttpRequest | None, username: str) -> dict[str, int]:
    """Cache key → the failure count that locks it."""
    limit = settings.LOGIN_MAX_FAILURES
    keys = {_username_key(username): limit}
    address = request.META.get("REMOTE_ADDR") if request is not None else None
    if address:
        keys[f"login-failures:addr:{address}"] = limit * ADDRESS_FACTOR
    return keys


def is_locked_out(request: HttpRequest | None, username: str) -> bool:
    keys = _keys(request, username)
    counts = cache.get_many(list(keys))
    return any(counts.get(key, 0) >= limit for key, limit in keys.items())


def record_failure(request: HttpRequest | None, username: str) -> None:
    window = settings.LOGIN_LOCKOUT_SECONDS
    for key in _keys(request, username):
        if not cache.add(key, 1, timeout=window):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=window)


def clear_failures(username: str) -> None:
    """After a success. The address's count stays: one right password among many guesses at
    other usernames must not reset a sprayer's count."""
    cache.delete(_username_key(username))


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
        clear_failures(username)
        return cleaned


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    """The dashboard's sign-in form."""


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    """Django admin's sign-in form (staff only, as before)."""
