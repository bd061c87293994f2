"""Roles are Django groups: viewer reads, responder acts on tickets, admin edits the rules.
Each role includes the ones before it; superusers are admins."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest
from rest_framework.request import Request

VIEWER, RESPONDER, ADMIN = "viewer", "responder", "admin"
_RANK = {VIEWER: 1, RESPONDER: 2, ADMIN: 3}

# The role is cached on the user instance for the rest of the request, the way Django's auth
# backends cache permissions (`_perm_cache`).
_ROLE_CACHE = "_rca_role"

if TYPE_CHECKING:
    # Requests of views behind `role_required` or a role permission: only a signed-in user
    # gets through those, so `request.user` is a `User`, never `AnonymousUser`.

    class AuthenticatedHttpRequest(HttpRequest):
        user: User

    class AuthenticatedRequest(Request):
        user: User

else:
    AuthenticatedHttpRequest = HttpRequest
    AuthenticatedRequest = Request


def role_of(user: User | AnonymousUser | None) -> str | None:
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if getattr(user, "is_superuser", False):
        return ADMIN
    if hasattr(user, _ROLE_CACHE):
        cached: str | None = getattr(user, _ROLE_CACHE)
        return cached
    names = set(user.groups.values_list("name", flat=True))
    role = next((r for r in (ADMIN, RESPONDER, VIEWER) if r in names), None)
    setattr(user, _ROLE_CACHE, role)
    return role


def has_role(user: User | AnonymousUser | None, role: str) -> bool:
    current = role_of(user)
    return current is not None and _RANK[current] >= _RANK[role]
