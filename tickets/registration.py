"""Self-registration (SELF_REGISTRATION): who may ask for an account, and what asking does.

- Rate: each client address (`client_address`, so a forged X-Forwarded-For changes nothing)
  may post the form SELF_REGISTRATION_RATE times per period; more is refused (429) until the
  period passes. Without it, anyone could fill the user table with inactive accounts and try
  usernames at will.
- No username oracle: a request for a username that is taken is answered exactly as one for a
  new username (the same page, after the same password hashing), and creates nothing. The
  form's own "A user with that username already exists." told anyone which usernames exist,
  the first half of a password guess.
"""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import transaction
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


def _username_taken_only(form: RegistrationForm) -> bool:
    """The form's only problem is that its username exists (everything else was valid)."""
    errors = form.errors.as_data()
    return set(errors) == {"username"} and all(e.code == "unique" for e in errors["username"])


def request_account(form: RegistrationForm) -> str | None:
    """Create the inactive viewer account a bound form asks for and return the username the
    answer names; None when the form has problems to show. A username that is taken gets the
    same answer, after as much work (the password hashed), and no account."""
    if form.is_valid():
        with transaction.atomic():
            user = form.save()
            viewer, _ = Group.objects.get_or_create(name=VIEWER)
            user.groups.add(viewer)
        logger.info("self-registered account %s awaits activation", user.get_username())
        return user.get_username()
    if not _username_taken_only(form):
        return None
    make_password(form.cleaned_data.get("password2") or "")
    logger.info("self-registration asked for a username that exists; nothing created")
    username = str(form.data.get("username", "")).strip()
    return get_user_model().normalize_username(username)
