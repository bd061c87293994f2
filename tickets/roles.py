"""Roles are Django groups: viewer reads, responder acts on tickets, admin edits the rules.
Each role includes the ones before it; superusers are admins."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

VIEWER, RESPONDER, ADMIN = "viewer", "responder", "admin"
_RANK = {VIEWER: 1, RESPONDER: 2, ADMIN: 3}


def role_of(user: AbstractBaseUser | AnonymousUser | None) -> str | None:
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if getattr(user, "is_superuser", False):
        return ADMIN
    cached = getattr(user, "_rca_role", False)
    if cached is not False:
        return cached
    names = set(user.groups.values_list("name", flat=True))
    role = next((r for r in (ADMIN, RESPONDER, VIEWER) if r in names), None)
    user._rca_role = role  # type: ignore[union-attr]
    return role


def has_role(user: AbstractBaseUser | AnonymousUser | None, role: str) -> bool:
    current = role_of(user)
    return current is not None and _RANK[current] >= _RANK[role]
