"""Self-registration (SELF_REGISTRATION): who may ask for an account, and what asking does.

- Rate: each client address (`client_address`, so a forged X-Forwarded-For changes nothing)
  may post the form SELF_REGISTRATION_RATE times per period; more is refused (429) until the
  period passes. Without it, anyone could fill the user table with inactive accounts and try
  usernames at will.
- No username oracle: a request for a username that is taken is answered exactly as one for a
  new username (the same page, after the same password hashing), and creates nothing; with
  other problems in the form, it shows them as for a new username. The form's own "A user
  with that username already exists." told anyone which usernames exist, the first half of a
  password guess.
"""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import DatabaseError, transaction
from django.http import HttpRequest

from rca_project.client_address import client_address
from tickets.dashboard.forms import RegistrationForm
from tickets.roles import VIEWER

logger = logging.getLogger(__name__)

PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
RATE_LIMITED = "Too many account requests from your address. Try again later."


def _rate() -> tuple[int, int]:
    """SELF_REGISTRATION_RATE ("10/hour": validated by the settings) as (requests, seconds)."""
    count, period = str(settings.SELF_REGISTRATION_RATE).split("/", 1)
    match = re.match(r"[smhd]", period)
    return int(count), PERIOD_SECONDS[match[0] if match else "h"]


def count_request(request: HttpRequest) -> bool:
    """Count one posting of the form from the request's address; False once the address has
    used up SELF_REGISTRATION_RATE in the current period (a fixed window from its first)."""
    limit, window = _rate()
    key = f"self-registration:addr:{client_address(request)}"
    if cache.add(key, 1, timeout=window):
        return True
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window)
        count = 1
    return count <= limit


class _AsIfUsernameWereNew(RegistrationForm):
    """The registration form as it reads for a username nobody has: every other check (the
    passwords, the email address, the password's likeness to the username) as for a new one."""

    def clean_username(self) -> str:
        return str(self.cleaned_data.get("username", ""))

    def validate_unique(self) -> None:
        """Nothing to check: of the form's fields, only the username is unique on the user."""


def _username_taken(form: RegistrationForm) -> bool:
    """The form's username exists (its only problem with the username)."""
    errors = form.errors.as_data().get("username", [])
    return bool(errors) and all(error.code == "unique" for error in errors)


def request_account(form: RegistrationForm) -> str | RegistrationForm:
    """Create the inactive viewer account a bound form asks for and return the username the
    answer names, or the form to show again with its problems. A username that is taken gets
    the same answer as a new one, after as much work (the password hashed), and no account:
    with no other problem, the username; with others, the form showing them as for a new
    username (the passwords' mismatch, a password like the username), never that it is taken."""
    if form.is_valid():
        with transaction.atomic():
            user = form.save()
            viewer, _ = Group.objects.get_or_create(name=VIEWER)
            user.groups.add(viewer)
        logger.info("self-registered account %s awaits activation", user.get_username())
        return user.get_username()
    if not _username_taken(form):
        return form
    as_new = _AsIfUsernameWereNew(form.data)
    if not as_new.is_valid():
        return as_new
    make_password(as_new.cleaned_data.get("password2") or "")
    logger.info("self-registration asked for a username that exists; nothing created")
    return str(as_new.cleaned_data["username"])


def no_account_exists() -> bool:
    """Whether this is a fresh installation, whose sign-in pages (the dashboard's and admin's)
    say how the first account is made: no page creates one (self-registration's accounts wait
    for an administrator to activate them). False when the database cannot answer (not
    migrated yet, or down): the form is then served without the hint."""
    try:
        return not get_user_model().objects.exists()
    except DatabaseError:
        return False
